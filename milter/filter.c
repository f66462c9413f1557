/*
 * filter - the libmilter callbacks: inbound records as they happen.
 *
 * One smtpd connection is one libmilter context with a private conn
 * (taken from a pool of idle ones: nothing here allocates per callback
 * but the queue id's table entry, once per message):
 *
 *   connect   New SMTP ICID n interface IF (ADDR) address A reverse dns
 *             host PTR verified yes|no; remembers smtpd pid and client
 *             address:port for the log follower (correlate.c)
 *   envfrom   ICID n TLS success protocol P cipher C, once per
 *             connection ({tls_version} {cipher} at MAIL: the values of
 *             the HELO after STARTTLS; a client that sends no MAIL after
 *             STARTTLS gets the record from the log follower: whoever is
 *             first writes it); Start MID m ICID n, MID m ICID n From: <a>
 *   envrcpt   MID m ICID n RID r To: <a>
 *   eom       Message finished MID m done; the queue id (macro i) binds
 *             the MID and RIDs for the follower's delivery records,
 *             which come after end-of-message
 *   close     ICID n close (held until the log follower read the
 *             connection's end: correlate.c)
 *
 * steps.c says which stages and macros Postfix sends (and why).
 *
 * Every callback accepts: trouble here (no ID, a record not written,
 * odd macros) never rejects or delays mail. Macro values are untrusted:
 * the record writer's seg_record_field() turns control characters and
 * blanks into '?' and cuts long values.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmilter/mfapi.h>

#include "error.h"
#include "ifaddr.h"
#include "msg.h"
#include "milter.h"
#include "steps.h"

#define ID "%" G_GUINT64_FORMAT
#define VAL_MAX         256     /* a macro value in a record */
#define POOL_MAX        256     /* idle conns kept for reuse */

static gboolean data_reply;     /* a TCP socket: DATA gets a reply (steps.c) */

typedef struct conn {
    guint64     icid;           /* 0: no ICID, no records */
    gboolean    tls_done;
    gboolean    noreply;        /* SMFIP_NR_* negotiated (steps.c) */
    guint64     mid;            /* message in progress, 0: none */
    guint       nrcpt;          /* its recipients so far */
    GString    *rcpts;          /* their addresses (no <>), each with its NUL */
    struct conn *next;          /* in the pool */
} conn;

/* idle conns: a connection's state (and its recipient buffer, grown to
 * what messages need) is reused, not allocated per connection */
static struct {
    GMutex      lock;
    conn       *free;
    guint       len;
} pool;

/* macro - a macro value, NULL when missing or empty */
static const char *macro(SMFICTX *ctx, const char *name)
{
    const char *v = smfi_getsymval(ctx, (char *) name);

    return v && *v ? v : NULL;
}

/* peer_of - address and port of the client as text */
static void peer_of(SMFICTX *ctx, const struct sockaddr *sa, char *addr, size_t asize,
                    char *port, size_t psize)
{
    char buf[VAL_MAX];

    if (sa && sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *) sa;

        inet_ntop(AF_INET, &in->sin_addr, addr, asize);
        snprintf(port, psize, "%u", ntohs(in->sin_port));
    } else if (sa && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) sa;

        inet_ntop(AF_INET6, &in6->sin6_addr, addr, asize);
        snprintf(port, psize, "%u", ntohs(in6->sin6_port));
    } else {
        g_strlcpy(addr, seg_record_field(macro(ctx, "{client_addr}"), buf, sizeof(buf), TRUE), asize);
        g_strlcpy(port, seg_record_field(macro(ctx, "{client_port}"), buf, sizeof(buf), TRUE), psize);
    }
}

/* msg_reset - forget the message in progress */
static void msg_reset(conn *c)
{
    c->mid = 0;
    c->nrcpt = 0;
    g_string_truncate(c->rcpts, 0);
}

/* tls_check - "ICID n TLS success ..." once per connection */
static void tls_check(SMFICTX *ctx, conn *c)
{
    const char *v = macro(ctx, "{tls_version}");
    char b1[VAL_MAX], b2[VAL_MAX];

    if (v == NULL || c->tls_done || c->icid == 0)
        return;
    c->tls_done = TRUE;
    /* unless the log follower was first */
    mt_conn_tls_record(c->icid, 0, " TLS success protocol %s cipher %s",
                       seg_record_field(v, b1, sizeof(b1), TRUE),
                       seg_record_field(macro(ctx, "{cipher}"), b2, sizeof(b2), TRUE));
}

/* conn_get - the connection state of ctx, from the pool on first use */
static conn *conn_get(SMFICTX *ctx)
{
    conn *c = smfi_getpriv(ctx);

    if (c != NULL)
        return c;
    g_mutex_lock(&pool.lock);
    if ((c = pool.free) != NULL) {
        pool.free = c->next;
        pool.len--;
    }
    g_mutex_unlock(&pool.lock);
    if (c == NULL) {
        c = g_new0(conn, 1);
        c->rcpts = g_string_new(NULL);
    }
    c->icid = c->mid = 0;
    c->tls_done = c->noreply = FALSE;
    msg_reset(c);
    smfi_setpriv(ctx, c);
    return c;
}

/* conn_put - back to the pool (or freed when the pool is full) */
static void conn_put(SMFICTX *ctx, conn *c)
{
    smfi_setpriv(ctx, NULL);
    g_mutex_lock(&pool.lock);
    if (pool.len < POOL_MAX) {
        c->next = pool.free;
        pool.free = c;
        pool.len++;
        c = NULL;
    }
    g_mutex_unlock(&pool.lock);
    if (c) {
        g_string_free(c->rcpts, TRUE);
        g_free(c);
    }
}

/* go - on to the next stage: no reply when the MTA expects none */
static sfsistat go(const conn *c)
{
    return c && c->noreply ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* on_negotiate - the protocol of steps.c */
static sfsistat on_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
                             unsigned long f2, unsigned long f3, unsigned long *pf0,
                             unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
    conn *c = conn_get(ctx);

    c->noreply = mt_steps_negotiate(ctx, data_reply, f1, pf0, pf1, pf2, pf3);
    return SMFIS_CONTINUE;
}

/*
 * The interface of each local address, looked up once a minute at most:
 * Postfix hands the address ({daemon_addr}) but not the interface, and
 * getifaddrs() is a netlink dump too dear for every connection.
 */
#define IFNAME_TTL  (60 * G_USEC_PER_SEC)
typedef struct ifname_ent {
    char       *name;           /* NULL: no interface holds it */
    gint64      when;
} ifname_ent;
static GMutex ifname_lock;
static GHashTable *ifname_cache;

/* ifname_ent_free - a cache entry */
static void ifname_ent_free(gpointer v)
{
    g_free(((ifname_ent *) v)->name);
    g_free(v);
}

/* interface_of - the interface holding addr, into buf ("unknown" when none) */
static const char *interface_of(const char *addr, char *buf, size_t size)
{
    gint64  now = g_get_monotonic_time();
    ifname_ent *e;

    if (addr == NULL)
        return "unknown";
    g_mutex_lock(&ifname_lock);
    if (ifname_cache == NULL)
        ifname_cache = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, ifname_ent_free);
    if ((e = g_hash_table_lookup(ifname_cache, addr)) == NULL || now - e->when > IFNAME_TTL) {
        if (g_hash_table_size(ifname_cache) > 256)
            g_hash_table_remove_all(ifname_cache);
        e = g_new0(ifname_ent, 1);
        e->name = seg_ifname_of(addr);
        e->when = now;
        g_hash_table_replace(ifname_cache, g_strdup(addr), e);
    }
    g_strlcpy(buf, e->name ? e->name : "unknown", size);
    g_mutex_unlock(&ifname_lock);
    return buf;
}

/* on_connect - New SMTP ICID */
static sfsistat on_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *sa)
{
    conn *c = conn_get(ctx);
    char addr[INET6_ADDRSTRLEN + 8], port[16], b1[VAL_MAX], b2[VAL_MAX], b3[VAL_MAX];
    char ifbuf[64];
    const char *ifname, *ifaddr, *ptr, *res, *name;
    gboolean verified;

    if (c->icid)                        /* a second connect: close the first */
        mt_conn_close(c->icid);
    msg_reset(c);
    c->tls_done = FALSE;
    peer_of(ctx, (const struct sockaddr *) sa, addr, sizeof(addr), port, sizeof(port));
    ifaddr = macro(ctx, "{daemon_addr}");
    ifname = interface_of(ifaddr, ifbuf, sizeof(ifbuf));
    name = macro(ctx, "{client_name}");
    if ((ptr = macro(ctx, "{client_ptr}")) == NULL && hostname && hostname[0] != '[')
        ptr = hostname;
    if (name && strcmp(name, "unknown") == 0)
        name = NULL;
    if ((res = macro(ctx, "{client_resolve}")) != NULL)
        verified = strcmp(res, "OK") == 0;
    else
        verified = name != NULL;
    if (ptr == NULL && verified)
        ptr = name;
    c->icid = mt_conn_new(mt_smtpd_pid_of(macro(ctx, "v")), addr, port,
                          " interface %s (%s) address %s reverse dns host %s verified %s",
                          seg_record_field(ifname, b1, sizeof(b1), TRUE),
                          seg_record_field(ifaddr, b2, sizeof(b2), TRUE),
                          addr, seg_record_field(ptr, b3, sizeof(b3), TRUE),
                          verified ? "yes" : "no");
    return SMFIS_CONTINUE;
}

/* on_envfrom - TLS success (once), Start MID, From */
static sfsistat on_envfrom(SMFICTX *ctx, char **argv)
{
    conn *c = smfi_getpriv(ctx);
    char from[MT_ADDR_MAX];

    if (c == NULL || c->icid == 0)
        return go(c);
    tls_check(ctx, c);
    msg_reset(c);
    mt_envelope(argv ? argv[0] : NULL, from, sizeof(from));
    c->mid = mt_msg_start(c->icid, from);
    return go(c);
}

/* on_envrcpt - To */
static sfsistat on_envrcpt(SMFICTX *ctx, char **argv)
{
    conn *c = smfi_getpriv(ctx);
    char to[MT_ADDR_MAX];
    size_t n;

    if (c == NULL || c->mid == 0)
        return go(c);
    n = mt_envelope(argv ? argv[0] : NULL, to, sizeof(to));
    mt_record("MID " ID " ICID " ID " RID %u To: <%s>", c->mid, c->icid, c->nrcpt, to);
    g_string_append_len(c->rcpts, to, (gssize) n + 1);
    c->nrcpt++;
    return go(c);
}

/* on_data - DATA on a TCP socket: the reply carries the ACK (steps.c) */
static sfsistat on_data(SMFICTX *ctx)
{
    (void) ctx;
    return SMFIS_CONTINUE;
}

/* on_eom - Message finished; the queue id (macro i) binds the MID for the follower */
static sfsistat on_eom(SMFICTX *ctx)
{
    conn *c = smfi_getpriv(ctx);
    const char *qid = macro(ctx, "i");

    if (c == NULL || c->mid == 0)
        return SMFIS_ACCEPT;
    mt_msg_done(mt_qid_ok(qid) ? qid : NULL, c->mid, c->icid, c->rcpts->str, c->rcpts->len,
                c->nrcpt);
    msg_reset(c);
    return SMFIS_ACCEPT;
}

/* on_abort - the message is gone (RSET, STARTTLS, lost connection) */
static sfsistat on_abort(SMFICTX *ctx)
{
    conn *c = smfi_getpriv(ctx);

    if (c)
        msg_reset(c);
    return SMFIS_CONTINUE;
}

/* on_close - ICID n close */
static sfsistat on_close(SMFICTX *ctx)
{
    conn *c = smfi_getpriv(ctx);

    if (c == NULL)
        return SMFIS_CONTINUE;
    if (c->icid)
        mt_conn_close(c->icid);         /* writes "ICID n close", maybe later */
    conn_put(ctx, c);
    return SMFIS_CONTINUE;
}

static struct smfiDesc desc = {
    .xxfi_name = "segtls-milter",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = 0,
    .xxfi_connect = on_connect,
    .xxfi_envfrom = on_envfrom,
    .xxfi_envrcpt = on_envrcpt,
    .xxfi_data = on_data,
    .xxfi_eom = on_eom,
    .xxfi_abort = on_abort,
    .xxfi_close = on_close,
    .xxfi_negotiate = on_negotiate,
};

/* mt_filter_register - register the callbacks and open the socket */
gboolean mt_filter_register(const char *sockspec, GError **error)
{
    data_reply = g_str_has_prefix(sockspec, "inet");  /* inet: and inet6: */
    if (smfi_register(desc) == MI_FAILURE) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID, "smfi_register failed");
        return FALSE;
    }
    if (smfi_setconn((char *) sockspec) == MI_FAILURE || smfi_opensocket(true) == MI_FAILURE) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "cannot listen on milter socket %s", sockspec);
        return FALSE;
    }
    return TRUE;
}
