/*
 * recfmt - the gateway's record line format, GLib-free.
 *
 * Shared by the GLib record writer and by code that cannot link GLib
 * (the nginx module). A line is "<time> <Level>: <message>\n", the time
 * being "Www Mmm dd hh:mm:ss yyyy" in local time, English names and an ASCII
 * space before a one-digit day whatever the locale (the one formatter of the
 * gateway's timestamps: records, commit lines, rollback entries). A new log file
 * starts with three Info lines: "Begin Logfile", "Version: <v> SN: <host
 * id>" and "Time offset from UTC: <n> seconds". Every function formats
 * into a caller buffer and returns the length written (without the NUL),
 * or 0 when the buffer is too small; nothing allocates.
 */
#ifndef SEGTLS_RECFMT_H
#define SEGTLS_RECFMT_H

#include <stddef.h>
#include <time.h>

#define SEG_RECFMT_TIME_LEN     32      /* room for a formatted time */
#define SEG_RECFMT_HOST_LEN     256     /* room for a host id */
#define SEG_RECFMT_LINE_MAX     4096    /* longer messages are cut */
#define SEG_RECFMT_HEADER_MAX   (3 * (SEG_RECFMT_TIME_LEN + SEG_RECFMT_HOST_LEN + 64))

/* seg_recfmt_time - "Fri Nov 27 23:16:05 2026" (local time); length */
size_t seg_recfmt_time(time_t when, char *buf, size_t size);
/* seg_recfmt_tm - the same from broken-down time; 0 when tm is out of range */
size_t seg_recfmt_tm(const struct tm *tm, char *buf, size_t size);
/* seg_recfmt_syslog_time - "Dec  5 19:04:38" (RFC 3164, local time); length */
size_t seg_recfmt_syslog_time(time_t when, char *buf, size_t size);
/*
 * seg_recfmt_syslog_msg - the gateway's syslog push message, "<PRI>Mmm dd
 * hh:mm:ss TAG: Level: text" (RFC 3164 shape, no host name, no newline:
 * what the public SIEM integrations for the gateway parse); a long text
 * is cut; length, 0 when tag or level do not fit
 */
size_t seg_recfmt_syslog_msg(time_t when, int pri, const char *tag, const char *level,
                             const char *text, size_t len, char *buf, size_t size);
/* seg_recfmt_line - "<time> <level>: <text>\n"; a long text is cut; length */
size_t seg_recfmt_line(time_t when, const char *level, const char *text,
                       size_t len, char *buf, size_t size);
/* seg_recfmt_utc_offset - local time offset from UTC in seconds at when */
long seg_recfmt_utc_offset(time_t when);
/* seg_recfmt_host_id - /etc/machine-id (12 hex, upper case) or host name */
size_t seg_recfmt_host_id(char *buf, size_t size);
/* seg_recfmt_header - the three header lines of a new file; length */
size_t seg_recfmt_header(time_t when, const char *version, const char *host,
                         char *buf, size_t size);

#endif
