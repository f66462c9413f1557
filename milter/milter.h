/*
 * milter - internals shared by the files of segtls-milter.
 *
 * correlate.c  the state shared by the milter threads and the log
 *              follower: IDs, the record file, and the tables that map
 *              an smtpd connection (pid, client address:port) to the
 *              ICID and a queue id to the MID the milter assigned
 * filter.c     the libmilter callbacks (inbound records)
 * follower.c   tails the Postfix log and feeds the pflog parser
 * macros.c     parsers of untrusted macro values (no libmilter)
 * steps.c      the protocol negotiated with Postfix (steps.h)
 * relabel.c    turns the parser's records into live ones (milter IDs)
 */
#ifndef SEGTLS_MILTER_H
#define SEGTLS_MILTER_H

#include <time.h>
#include <glib.h>

#include "ids.h"
#include "pflog.h"
#include "record.h"

/* the milter's files in its state directory, besides ids.h's */
#define MT_MSGS_FILE        "msgs"      /* queue id table (correlate.c) */
#define MT_FOLLOWER_FILE    "follower"  /* the log follower's place (follower.c) */

/* correlate.c */
gboolean mt_init(const char *state_dir, const char *record_path, guint64 id_block,
                 GError **error);
gboolean mt_ids_reserve(GError **error);
gboolean mt_ids_refill_start(GError **error);
void    mt_set_push(seg_syslogpush *push);
void    mt_metrics(void);
void    mt_shutdown(void);
gboolean mt_reopen(void);
guint64 mt_new_id_record(seg_id_kind kind, time_t when, const char *prefix,
                         const char *fmt, ...) G_GNUC_PRINTF(4, 5);
void    mt_record(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void    mt_record_text(time_t when, const char *text, size_t len);
void    mt_records_defer(gboolean on);
guint64 mt_dropped(void);
void    mt_follow_log(gboolean on);
void    mt_log_read_to(gint64 t);
guint64 mt_conn_new(long pid, const char *addr, const char *port, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);
void    mt_conn_close(guint64 icid);
void    mt_conn_log_close(guint64 icid, time_t when);
guint64 mt_conn_icid(long pid, const char *addr, const char *port);
gboolean mt_conn_tls_record(guint64 icid, time_t when, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
guint64 mt_msg_start(guint64 icid, const char *from);
void    mt_msg_done(const char *qid, guint64 mid, guint64 icid, const char *rcpts, size_t len,
                    guint nrcpt);
gboolean mt_msg_lookup(const char *qid, guint64 *mid, guint64 *icid);
int     mt_msg_rid(const char *qid, const char *rcpt);
void    mt_msg_forget(const char *qid);
void    mt_expire(time_t now);
void    mt_save(void);

/* filter.c */
gboolean mt_filter_register(const char *sockspec, GError **error);

/* macros.c */
#define MT_ADDR_MAX     512     /* an envelope address in a record, with its NUL */
#define MT_QID_MAX      32      /* a queue id's length (mt_qid_ok) */
size_t  mt_envelope(const char *arg, char *buf, size_t size);
long    mt_smtpd_pid_of(const char *v);
gboolean mt_qid_ok(const char *qid);

/* follower.c */
typedef struct mt_follower mt_follower;
mt_follower *mt_follower_start(const char *maillog, const char *state_dir, gboolean log_only,
                                const char *const *names, const char *pf_config,
                                GError **error);
void    mt_follower_stop(mt_follower *f);

/* relabel.c */
typedef struct mt_relabel mt_relabel;
mt_relabel *mt_relabel_new(gboolean log_only, const char *const *names);
void    mt_relabel_set_postfix(mt_relabel *r, const char *config_dir);
/* mt_relabel_destinations - every parser made after this names the destination
 * entry of each delivery (pflog.h seg_pflog_set_destinations) */
void    mt_relabel_destinations(seg_pflog_dest_fn fn, void *ctx);
void    mt_relabel_line(mt_relabel *r, const char *line, size_t len);
void    mt_relabel_tick(mt_relabel *r, time_t now);
void    mt_relabel_free(mt_relabel *r);

#endif
