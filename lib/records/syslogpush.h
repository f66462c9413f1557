/*
 * syslogpush - send records to a remote syslog server, never blocking.
 *
 * The gateway's log subscriptions push each record by syslog with the
 * log's name as the tag. A destination is "udp:HOST:PORT" (RFC 5426),
 * "tcp:HOST:PORT" or "tls:HOST:PORT" (octet-counted frames, RFC 6587
 * and RFC 5425; TLS verifies the server's certificate and name against
 * the CA file, or the system's CAs); an IPv6 HOST is written [ADDR].
 * The message is the gateway's: "<PRI>Mmm dd hh:mm:ss TAG: Level: text"
 * (recfmt.h), facility mail unless set.
 *
 * seg_syslogpush_send only queues (a mutex held for a list operation):
 * a sender thread connects, sends, and on any error closes, waits
 * (backoff from 0.25 s doubling to 8 s) and reconnects, the unsent
 * records staying queued in order. Before each send on TCP/TLS it looks
 * whether the server closed the connection (a restart), so that records
 * are not written into a dead socket. A full queue drops the new record
 * and counts it; one warning per burst of drops. The thread starts at
 * the first record (after a daemon's fork).
 */
#ifndef SEGTLS_SYSLOGPUSH_H
#define SEGTLS_SYSLOGPUSH_H

#include <time.h>
#include <glib.h>

#define SEG_SYSLOGPUSH_QUEUE    10000   /* default queue bound (records) */

typedef struct seg_syslogpush seg_syslogpush;

typedef struct seg_syslogpush_stats {
    guint64     sent;           /* handed to the server's connection */
    guint64     dropped;        /* the queue was full */
    guint64     queued;         /* waiting now */
    guint64     connects;       /* connections made */
} seg_syslogpush_stats;

/* seg_syslogpush_new - check dest and the CA file; nothing connects yet */
seg_syslogpush *seg_syslogpush_new(const char *dest, const char *ca_file, guint queue_max,
                                   GError **error);
/* seg_syslogpush_set_facility - by name: mail (default), local0 .. local7, daemon, user; FALSE: unknown */
gboolean seg_syslogpush_set_facility(seg_syslogpush *p, const char *name, GError **error);
/* seg_syslogpush_send - queue one record; FALSE when the queue is full (counted) */
gboolean seg_syslogpush_send(seg_syslogpush *p, const char *tag, time_t when,
                             const char *level, int prio, const char *text, size_t len);
void    seg_syslogpush_get_stats(seg_syslogpush *p, seg_syslogpush_stats *st);
const char *seg_syslogpush_dest(const seg_syslogpush *p);
/* seg_syslogpush_free - send what is queued for up to linger_ms, then stop */
void    seg_syslogpush_free(seg_syslogpush *p, guint linger_ms);

#endif
