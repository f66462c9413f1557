/*
 * etcd - a client of etcd's v3 API through its JSON gateway (libsoup 3).
 *
 * etcd (3.4 as Debian ships it) serves its gRPC API as JSON at
 * /v3/kv/range, /v3/kv/put, /v3/kv/txn and /v3/watch on every client URL;
 * keys and values travel base64-encoded, 64-bit numbers as strings. This
 * is a thin, generic client of those four: no knowledge of what the keys
 * mean. HTTP is libsoup's (keep-alive, TLS through GIO, client
 * certificates), JSON json-glib's.
 *
 * Several endpoints (the members of an etcd cluster) may be given: a
 * request goes to the one that answered last, and when it cannot be
 * reached (connection refused or reset, TLS failure, a 5xx answer such as
 * "etcdserver: no leader") to the next, until each was tried once. The
 * error then names every endpoint and the last reason:
 *   "cannot reach etcd (https://127.0.0.1:2379, ...): Connection refused"
 * A request is synchronous and bounded by the timeout; a watch runs on
 * the thread-default main context and reports through callbacks. etcd is
 * reached directly, never through a proxy the environment names.
 *
 * Retrying a request on the next endpoint can run it twice when the first
 * endpoint failed after doing it: puts are idempotent, and callers of a
 * transaction tell their own write from another's by its content.
 */
#ifndef SEGTLS_ETCD_H
#define SEGTLS_ETCD_H

#include <glib.h>
#include <json-glib/json-glib.h>

#define SEG_ETCD_DEFAULT_TIMEOUT 5      /* seconds per request */

typedef struct seg_etcd seg_etcd;

typedef struct seg_etcd_opts {
    const char *const *endpoints;       /* "https://127.0.0.1:2379", one or more */
    const char *ca_file;                /* trust anchors; NULL: the system's */
    const char *cert_file;              /* client certificate (PEM), or NULL */
    const char *key_file;               /* its private key (PEM) */
    guint       timeout;                /* seconds per request; 0: the default */
} seg_etcd_opts;

/* One key of the store. */
typedef struct seg_etcd_kv {
    char       *key;
    GBytes     *value;
    gint64      mod_revision;
    gint64      create_revision;
} seg_etcd_kv;

/* seg_etcd_json - an object as compact JSON bytes (a request body, a stored document) */
GBytes *seg_etcd_json(JsonObject *obj);
/* seg_etcd_check_endpoint - an http:// or https:// URL with a host and no path */
gboolean seg_etcd_check_endpoint(const char *url, GError **error);

/*
 * seg_etcd_new - a client; fails only on bad options (an endpoint that is
 * no URL, a certificate or key file that does not load). Nothing is
 * contacted yet.
 */
seg_etcd *seg_etcd_new(const seg_etcd_opts *o, GError **error);
void    seg_etcd_free(seg_etcd *e);
/* seg_etcd_endpoint - the endpoint requests go to first */
const char *seg_etcd_endpoint(const seg_etcd *e);

void    seg_etcd_kv_free(seg_etcd_kv *kv);

/*
 * seg_etcd_get - the key, or with prefix every key that starts with it,
 * sorted by key: a GPtrArray of seg_etcd_kv (empty when there is none).
 * *revision (may be NULL) is the store's revision the answer is of.
 */
GPtrArray *seg_etcd_get(seg_etcd *e, const char *key, gboolean prefix,
                        gint64 *revision, GError **error);
/* seg_etcd_put - set one key; *revision the store's revision after it */
gboolean seg_etcd_put(seg_etcd *e, const char *key, const void *value, gsize len,
                      gint64 *revision, GError **error);
/* seg_etcd_delete - remove one key (absent is fine) */
gboolean seg_etcd_delete(seg_etcd *e, const char *key, GError **error);

/*
 * A transaction: when every key's mod revision is what it names (0: the
 * key does not exist), its puts and deletes all happen at once, else
 * none of them.
 */
typedef struct seg_etcd_txn seg_etcd_txn;
seg_etcd_txn *seg_etcd_txn_new(void);
void    seg_etcd_txn_free(seg_etcd_txn *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(seg_etcd_txn, seg_etcd_txn_free)
void    seg_etcd_txn_if_mod(seg_etcd_txn *t, const char *key, gint64 mod_revision);
void    seg_etcd_txn_put(seg_etcd_txn *t, const char *key, const void *value, gsize len);
void    seg_etcd_txn_delete(seg_etcd_txn *t, const char *key);
/* seg_etcd_txn_run - *succeeded: the comparisons held and it was done */
gboolean seg_etcd_txn_run(seg_etcd *e, seg_etcd_txn *t, gboolean *succeeded,
                          gint64 *revision, GError **error);

/*
 * A watch of every key under a prefix from a revision on. event is
 * called for each change in order (deleted: the key was removed; kv->value
 * empty then), created once etcd has set the watch up, ended once when
 * the stream stops (the endpoint went away, etcd cancelled it): the watch
 * is then over and the caller frees it and may start another, from the
 * revision after the last it saw. Callbacks come from the main context
 * of the thread that started the watch, never after seg_etcd_watch_free().
 */
typedef struct seg_etcd_watch seg_etcd_watch;
typedef void (*seg_etcd_event_fn) (const seg_etcd_kv *kv, gboolean deleted,
                                   gpointer data);
typedef void (*seg_etcd_created_fn) (gint64 revision, gpointer data);
typedef void (*seg_etcd_ended_fn) (const GError *error, gpointer data);

seg_etcd_watch *seg_etcd_watch_new(seg_etcd *e, const char *prefix, gint64 start_revision,
                                   seg_etcd_event_fn event, seg_etcd_created_fn created,
                                   seg_etcd_ended_fn ended, gpointer data);
void    seg_etcd_watch_free(seg_etcd_watch *w);

#endif
