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
 *
 * Every record text goes through seg_recfmt_clean() on its way into a
 * line (seg_recfmt_line), whoever wrote it: text from the network (a
 * next hop's reply, a client's HELO or address, a log line) cannot end
 * a line early or put terminal escapes into a log. seg_recfmt_append()
 * is the one write(2) of a line on an O_APPEND log shared by several
 * writers; see there for a short write (full disk).
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
 * what the public SIEM integrations for the gateway parse), text cleaned
 * as seg_recfmt_clean does; a long text is cut; length, 0 when tag or
 * level do not fit
 */
size_t seg_recfmt_syslog_msg(time_t when, int pri, const char *tag, const char *level,
                             const char *text, size_t len, char *buf, size_t size);
/* SEG_RECFMT_WORD: seg_recfmt_clean also turns spaces into '?' (a one-word field) */
#define SEG_RECFMT_WORD         1
/*
 * seg_recfmt_clean - text fit for a record: every control character
 * (C0, DEL, and C1 U+0080..U+009F), the Unicode line and paragraph
 * separators and bidirectional controls (U+2028, U+2029, U+202A..U+202E,
 * U+2066..U+2069), and every byte that is not part of valid UTF-8
 * become one '?' each; with SEG_RECFMT_WORD, spaces too. Writes at most
 * len bytes to dst, which may be src (in place); the length written.
 */
size_t seg_recfmt_clean(char *dst, const char *src, size_t len, int flags);
/* seg_recfmt_line - "<time> <level>: <text>\n", text cleaned; a long text is cut; length */
size_t seg_recfmt_line(time_t when, const char *level, const char *text,
                       size_t len, char *buf, size_t size);
/*
 * seg_recfmt_append - write one line with one write(2) on fd (O_APPEND).
 * Lines of concurrent writers never interleave. A short write (full
 * disk) leaves the start of the line in the file; it is never truncated
 * (another writer may have appended after it). Instead its last bytes,
 * which are ours, are overwritten in place with SEG_RECFMT_CUT (or just
 * "\n" when fewer were written), through a second descriptor without
 * O_APPEND: that takes no new space, and the next line of any writer
 * starts on a line of its own. Returns 1 when the whole line was
 * written; 0 when it was not (errno set; ENOSPC for a short write),
 * nothing of it or a line marked cut being left; -1 when a short write
 * left part of it that could not be marked (a torn line may remain).
 */
int seg_recfmt_append(int fd, const char *line, size_t len);
/*
 * seg_recfmt_append_lines - the same for several lines in one write(2)
 * (each ends with a newline): a short write leaves the whole lines it
 * wrote as they are and marks only the one it cut; *whole (when not
 * NULL) is the length of the whole lines written (len when it returns 1).
 */
int seg_recfmt_append_lines(int fd, const char *buf, size_t len, size_t *whole);
#define SEG_RECFMT_CUT          " [cut]\n"     /* ends a line a full disk cut */

/* seg_recfmt_utc_offset - local time offset from UTC in seconds at when */
long seg_recfmt_utc_offset(time_t when);
/* seg_recfmt_host_id - /etc/machine-id (12 hex, upper case) or host name */
size_t seg_recfmt_host_id(char *buf, size_t size);
/* seg_recfmt_header - the three header lines of a new file; length */
size_t seg_recfmt_header(time_t when, const char *version, const char *host,
                         char *buf, size_t size);

#endif
