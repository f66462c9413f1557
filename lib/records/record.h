/*
 * record - the gateway-style log files (mail_logs, gui_logs).
 *
 * Every line is "<time> <Level>: <message>", the time being
 * strftime("%a %b %e %H:%M:%S %Y") in local time ("Fri Nov 27 23:16:05
 * 2026"). Every text is cleaned by seg_recfmt_clean() as it is
 * written, whoever made it: control characters (C0, DEL, C1), Unicode
 * line separators and bidi controls, and bytes that are not UTF-8
 * become '?'. A file that is new or empty when it is opened starts with
 *
 *   Info: Begin Logfile
 *   Info: Version: <SEGTLS_VERSION> SN: <host id>
 *   Info: Time offset from UTC: <n> seconds
 *
 * The host id is the first 12 hex digits of /etc/machine-id in upper
 * case, or the host name. Each line is one write(2) on an O_APPEND
 * descriptor, so concurrent writers never tear lines. Write errors
 * (ENOSPC, EIO, ...) are returned, never fatal: the record is counted as
 * dropped, one error is logged per burst of failures, and once writing
 * works again the file gets "Warning: N records lost by PROG[PID]:
 * ERROR". The file is never truncated: a record a full disk cut short
 * ends with " [cut]" (seg_recfmt_append). Lines and the header are
 * formatted by recfmt.h, which the nginx module shares.
 * Opened without a path, there is no file: the records only go to the
 * syslog push (seg_record_set_push) and the tap.
 */
#ifndef SEGTLS_RECORD_H
#define SEGTLS_RECORD_H

#include <time.h>
#include <glib.h>

#include "recfmt.h"
#include "syslogpush.h"

typedef enum {
    SEG_RECORD_INFO,            /* "Info" */
    SEG_RECORD_WARNING,         /* "Warning" */
    SEG_RECORD_CRITICAL,        /* "Critical" */
    SEG_RECORD_DEBUG,           /* "Debug" */
    SEG_RECORD_NLEVELS,
} seg_record_level;

#define SEG_RECORD_MAIL_LOGS    "/var/log/segtls/mail_logs"
#define SEG_RECORD_GUI_LOGS     "/var/log/segtls/gui_logs"
#define SEG_RECORD_SYSLOG_IDENT "mail_logs"
#define SEG_RECORD_TIME_LEN     SEG_RECFMT_TIME_LEN /* room for a formatted time */
#define SEG_RECORD_LINE_MAX     SEG_RECFMT_LINE_MAX /* longer messages are cut */

typedef struct seg_record seg_record;
typedef time_t (*seg_record_clock_fn)(void *ctx);

/* seg_record_open - open (create 0640) for appending; header if empty; NULL path: no file */
seg_record *seg_record_open(const char *path, GError **error);
/* seg_record_open_clock - the same, with a time source (NULL: time()) */
seg_record *seg_record_open_clock(const char *path, seg_record_clock_fn clock,
                                  void *ctx, GError **error);
/* seg_record_set_clock - time source of seg_record_write (default time()) */
void seg_record_set_clock(seg_record *r, seg_record_clock_fn clock, void *ctx);
/* seg_record_set_syslog - also send each record to syslog (mail, "mail_logs") */
void seg_record_set_syslog(seg_record *r, gboolean on);

/* seg_record_set_push - also queue each record for a syslog push with this tag (NULL: none) */
void seg_record_set_push(seg_record *r, seg_syslogpush *push, const char *tag);

/* seg_record_tap_fn - told of each record, after it was written (ok) or not */
typedef void (*seg_record_tap_fn)(void *ctx, seg_record_level level, const char *text,
                                  size_t len, gboolean ok);
/* seg_record_set_tap - one function told of each record (metrics); destroy(ctx), if
 * given, when the tap is replaced or the record writer closed */
void seg_record_set_tap(seg_record *r, seg_record_tap_fn fn, void *ctx, GDestroyNotify destroy);

/* seg_record_write - one record stamped with the clock's time */
gboolean seg_record_write(seg_record *r, seg_record_level level,
                          const char *fmt, ...) G_GNUC_PRINTF(3, 4);
/* seg_record_write_at - one record stamped with a given time */
gboolean seg_record_write_at(seg_record *r, time_t when, seg_record_level level,
                             const char *fmt, ...) G_GNUC_PRINTF(4, 5);
gboolean seg_record_vwrite_at(seg_record *r, time_t when, seg_record_level level,
                              const char *fmt, va_list ap) G_GNUC_PRINTF(4, 0);
/* seg_record_write_text - a preformatted message of len bytes */
gboolean seg_record_write_text(seg_record *r, time_t when, seg_record_level level,
                               const char *text, size_t len);

/*
 * seg_record_field - v fit for one field of a record, in buf (cut to
 * size): seg_recfmt_clean(), with word also spaces; "unknown" when v is
 * NULL or empty. The one cleaner of record fields (the milter's macros).
 */
const char *seg_record_field(const char *v, char *buf, size_t size, gboolean word);

/*
 * seg_record_hold - on: keep each record (formatted, in order) until
 * seg_record_flush, which writes them with one write(2) (or when 16 kB
 * are held); off: write what is held, then each record at once. A
 * writer that serialises its threads' records under its own lock holds
 * them and flushes before it lets the lock go.
 */
void seg_record_hold(seg_record *r, gboolean on);
/* seg_record_flush - write the held records; FALSE when any was lost */
gboolean seg_record_flush(seg_record *r);

/* seg_record_reopen - reopen by path (after logrotate); header if empty */
gboolean seg_record_reopen(seg_record *r, GError **error);
/* seg_record_written - records written to the file (or, without a file, pushed) */
guint64 seg_record_written(const seg_record *r);
/* seg_record_dropped - records that could not be written */
guint64 seg_record_dropped(const seg_record *r);
const char *seg_record_path(const seg_record *r);
void seg_record_close(seg_record *r);

/* seg_record_format_time - "Fri Nov 27 23:16:05 2026" (local time); length */
size_t seg_record_format_time(time_t when, char *buf, size_t size);
/* seg_record_format_line - "<time> <Level>: <text>\n" into buf; length */
size_t seg_record_format_line(time_t when, seg_record_level level,
                              const char *text, size_t len, char *buf, size_t size);
/* seg_record_level_name - "Info", "Warning", ... */
const char *seg_record_level_name(seg_record_level level);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(seg_record, seg_record_close)

#endif
