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
 *          server certificate verification failed for ...: num=N:TEXT, then
 *            status=deferred (Server certificate not verified) -> DCID n TLS
 *                                  deferring: (N, 'certificate verify failed: TEXT')
 *          QID: to=<r>, ... status=sent        -> MID m ICID n RID r To: <r>,
 *            then Delivery start / Message done DCID n MID m to RID [..],
 *            DCID n close when that delivery is over
 *
 * Only lines of Postfix's own programs count: those whose program name
 * is NAME/DAEMON or NAME/.../DAEMON for one of the syslog names it is
 * given (default "postfix"; seg_pflog_postfix_names() reads them from a
 * Postfix configuration). A process is known by its host, program and
 * pid together: a line of another program with the same pid is another
 * process. (Any local user can write syslog with any program name;
 * Postfix's own maillog_file, written by postlogd, only Postfix.)
 *
 * State is kept only while it is open: a process's until its exit
 * (master's "process ... pid N exit status|killed by signal", its own
 * "fatal:" or "panic:"), five minutes without a line when its connection
 * is over, or an hour without a line in any case (an ICID or DCID still
 * open is closed then); a message until qmgr removes it, or
 * until it has had no line for SEG_PFLOG_MSG_IDLE seconds (queued) or
 * SEG_PFLOG_NEW_IDLE seconds (its session ended before qmgr took it);
 * times are the log's. One message may leave over several connections
 * at once (recipients on different transports); each keeps its records.
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

/* a message was forgotten without "Message finished" (mid: the parser's MID) */
typedef void (*seg_pflog_release_fn)(void *ctx, guint64 mid);

#define SEG_PFLOG_CONN_IDLE     3600            /* a process without a line: gone */
#define SEG_PFLOG_NEW_IDLE      3600            /* a message qmgr never took */
#define SEG_PFLOG_MSG_IDLE      (6 * 3600)      /* a queued message without a line */

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
 * seg_pflog_set_interface - an override: what every "New SMTP ICID ...
 * interface NAME (ADDR)" and "New SMTP DCID ... interface ADDR" say
 * (Postfix does not log its local address; see
 * seg_pflog_postfix_interfaces for reading it from the configuration).
 */
void    seg_pflog_set_interface(seg_pflog *p, const char *name, const char *addr);
/*
 * seg_pflog_set_service_interface - the ICIDs of smtpd processes logging
 * under syslog_name ("postfix/submission") say "interface IFNAME (ADDR)";
 * NULL for either is "unknown". Without an entry (and without an
 * override by seg_pflog_set_interface) an ICID says "unknown (unknown)".
 */
void    seg_pflog_set_service_interface(seg_pflog *p, const char *syslog_name,
                                        const char *ifname, const char *addr);
/* seg_pflog_set_client_address - "New SMTP DCID n interface ADDR": smtp's source address */
void    seg_pflog_set_client_address(seg_pflog *p, const char *addr);
/* seg_pflog_postfix_config_exists - does dir hold a Postfix main.cf? */
gboolean seg_pflog_postfix_config_exists(const char *dir);
/*
 * seg_pflog_postfix_interfaces - where the Postfix instance at config_dir
 * listens and sends from, read with postconf: for each master.cf inet
 * service running smtpd, the address of its name ("127.0.0.1:25"), else
 * inet_interfaces when that is one address ("loopback-only" is
 * 127.0.0.1), and the interface holding it, under the service's syslog
 * name (two services of one name on different addresses: unknown); and
 * smtp's source address: smtp_bind_address, else inet_interfaces when it
 * is one address that is not a loopback one (as Postfix chooses it).
 */
gboolean seg_pflog_postfix_interfaces(seg_pflog *p, const char *config_dir, GError **error);
/*
 * seg_pflog_set_syslog_names - follow only programs NAME/... for these
 * names (NULL or empty: "postfix"). FALSE with error for a name that is
 * empty, longer than 64 bytes, or has a space, '[', ']' or a control
 * character, or for more than 64 names (nothing is changed then). With
 * p NULL the names are only checked.
 */
gboolean seg_pflog_set_syslog_names(seg_pflog *p, const char *const *names, GError **error);
/*
 * seg_pflog_postfix_names - the syslog names of the Postfix instance whose
 * configuration is in config_dir, read with postconf: main.cf's
 * syslog_name, every master.cf "-o syslog_name=...", and the same for each
 * of its multi_instance_directories. NULL with error when postconf fails.
 */
char  **seg_pflog_postfix_names(const char *config_dir, GError **error);
#define SEG_PFLOG_POSTFIX_CONFIG "/etc/postfix"
/*
 * seg_pflog_config_names - seg_pflog_postfix_names of config_dir; with
 * config_dir NULL, of SEG_PFLOG_POSTFIX_CONFIG when it has a main.cf
 * (a warning and just "postfix" when postconf fails), else just
 * "postfix". NULL with error only when config_dir was given.
 */
char  **seg_pflog_config_names(const char *config_dir, GError **error);
/*
 * The Destination Controls (segtls destconfig) as the parser needs them:
 * fn gets a recipient domain (len bytes, from the log: not trusted) and
 * returns the name of the entry that applies ("bank.test", ".example.com",
 * or "default") and its mode in *mode ("required-verify"), both the
 * caller's own text. With it set, each delivery connection says once per
 * entry "DCID n destination ENTRY TLS MODE" at its first recipient, and a
 * required destination that offered no STARTTLS adds "DCID n TLS required
 * but not available" after "STARTTLS command not supported.".
 */
typedef const char *(*seg_pflog_dest_fn)(void *ctx, const char *domain, size_t len,
                                         const char **mode);
void    seg_pflog_set_destinations(seg_pflog *p, seg_pflog_dest_fn fn, void *ctx);
/* seg_pflog_set_release - call fn when a message is forgotten unfinished */
void    seg_pflog_set_release(seg_pflog *p, seg_pflog_release_fn fn, void *ctx);
/* seg_pflog_line - parse one line (trailing newline allowed); TRUE if used */
gboolean seg_pflog_line(seg_pflog *p, const char *line, size_t len);
/* seg_pflog_expire - end deliveries idle since before now - idle (live mode) */
void    seg_pflog_expire(seg_pflog *p, time_t now, int idle);
/* seg_pflog_flush - end of input: finish every pending delivery */
void    seg_pflog_flush(seg_pflog *p);
void    seg_pflog_get_stats(const seg_pflog *p, seg_pflog_stats *st);
/* seg_pflog_held - processes and messages held now (for tests and benchmarks) */
void    seg_pflog_held(const seg_pflog *p, guint *conns, guint *msgs);
void    seg_pflog_free(seg_pflog *p);

/* seg_pflog_tls_error - "error:0A000102:...:file:line:" -> code and string */
gboolean seg_pflog_tls_error(const char *text, size_t len, unsigned long *code,
                             size_t *str_len);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(seg_pflog, seg_pflog_free)

#endif
