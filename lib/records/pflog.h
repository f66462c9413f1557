/*
 * pflog - turn Postfix log lines into gateway records.
 *
 * The parser takes one Postfix log line at a time, in any of the shapes
 * Postfix logs take here:
 *
 *   Nov 27 23:16:05 mta postfix/smtpd[9779]: ...              (RFC 3164,
 *                                      also what postlogd writes to maillog_file)
 *   2026-11-27T23:16:05.123456+00:00 mta postfix/smtpd[9779]: ... (RFC 3339)
 *
 * and follows each smtpd and smtp process (one connection at a time per
 * pid) and each queue id, emitting the SPEC §6 records through a callback
 * with the time of the log line that caused them:
 *
 *   smtpd  connect from H[A]:P                -> New SMTP ICID
 *          ... TLS connection established from -> ICID n TLS success ...
 *          SSL_accept error + TLS library problem -> ICID n TLS failed: (code, 'str')
 *          QID: client=                        -> Start MID m ICID n
 *          disconnect from                     -> ICID n close
 *   pickup QID: uid= from=                     -> Start MID m ICID 0
 *   qmgr   QID: from=<a>, ...                  -> MID m ICID n From: <a>
 *          QID: removed                        -> Message finished MID m done
 *   smtp   ... TLS connection established to   -> New SMTP DCID, DCID n TLS success
 *          SSL_connect error + library problem, then
 *            status=deferred (Cannot start TLS: handshake failure) -> TLS deferring
 *            QID: Cannot start TLS: handshake failure              -> TLS failed
 *          status=deferred (TLS is required, but was not offered)  -> STARTTLS
 *                                                 command not supported.
 *          QID: to=<r>, ... status=sent        -> MID m ICID n RID r To: <r>,
 *            then Delivery start / Message done DCID n MID m to RID [..],
 *            DCID n close when that delivery is over
 *
 * Lines that are not understood are counted as skipped, never fatal; the
 * parser reads only the len bytes it is given (no NUL needed) and
 * allocates only per connection, message and recipient, not per line.
 */
#ifndef SEGTLS_PFLOG_H
#define SEGTLS_PFLOG_H

#include <time.h>
#include <glib.h>

#include "ids.h"
#include "record.h"

typedef struct seg_pflog seg_pflog;

/* emit one record: text is len bytes, not NUL-terminated */
typedef void (*seg_pflog_emit_fn)(void *ctx, time_t when, seg_record_level level,
                                  const char *text, size_t len);

typedef struct seg_pflog_stats {
    guint64     lines;          /* lines given */
    guint64     used;           /* lines that changed state or made records */
    guint64     skipped;        /* lines not used (includes malformed) */
    guint64     malformed;      /* no "TIME HOST PROG[PID]: " header */
    guint64     records;        /* records emitted */
} seg_pflog_stats;

/* seg_pflog_new - parser taking IDs from ids (borrowed, must outlive it) */
seg_pflog *seg_pflog_new(seg_ids *ids, seg_pflog_emit_fn emit, void *ctx);
/* seg_pflog_set_year - year of RFC 3164 times (default: this year, or last
 * year when the first time would be over a day in the future) */
void    seg_pflog_set_year(seg_pflog *p, int year);
/*
 * seg_pflog_set_interface - what "New SMTP ICID ... interface NAME (ADDR)"
 * and "New SMTP DCID ... interface ADDR" say; Postfix does not log its
 * local address. Defaults: NAME = the smtpd syslog name without
 * "/smtpd" ("postfix", "postfix/submission"), ADDR = "unknown".
 */
void    seg_pflog_set_interface(seg_pflog *p, const char *name, const char *addr);
/* seg_pflog_line - parse one line (trailing newline allowed); TRUE if used */
gboolean seg_pflog_line(seg_pflog *p, const char *line, size_t len);
/* seg_pflog_expire - end deliveries idle since before now - idle (live mode) */
void    seg_pflog_expire(seg_pflog *p, time_t now, int idle);
/* seg_pflog_flush - end of input: finish every pending delivery */
void    seg_pflog_flush(seg_pflog *p);
void    seg_pflog_get_stats(const seg_pflog *p, seg_pflog_stats *st);
void    seg_pflog_free(seg_pflog *p);

/* seg_pflog_tls_error - "error:0A000102:...:file:line:" -> code and string */
gboolean seg_pflog_tls_error(const char *text, size_t len, unsigned long *code,
                             size_t *str_len);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(seg_pflog, seg_pflog_free)

#endif
