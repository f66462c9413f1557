/*
 * filter - the libmilter callbacks: inbound records as they happen.
 *
 * One smtpd connection is one libmilter context with a private conn:
 *
 *   connect   New SMTP ICID n interface IF (ADDR) address A reverse dns
 *             host PTR verified yes|no; remembers smtpd pid and client
 *             address:port for the log follower (correlate.c)
 *   helo      ICID n TLS success protocol P cipher C  (the HELO after
 *             STARTTLS carries {tls_version} {cipher}; also looked for at
 *             MAIL; a client that sends neither after STARTTLS gets the
 *             record from the log follower: whoever is first writes it)
 *   envfrom   Start MID m ICID n, MID m ICID n From: <a>
 *   envrcpt   MID m ICID n RID r To: <a>; the queue id (macro i) binds
 *             the MID for the follower's delivery records
 *   eom       Message finished MID m done
 *   close     ICID n close (held until the log follower read the
 *             connection's end: correlate.c)
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

#define ID "%" G_GUINT64_FORMAT
#define VAL_MAX         256     /* a macro value in a record */
/* the stages whose callbacks answer SMFIS_NOREPLY */
#define NOREPLY_NEEDED  (SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT)

static gboolean data_reply;     /* reply at DATA (a TCP socket, see on_negotiate) */

typedef struct conn {
    guint64     icid;           /* 0: no ICID, no records */
    gboolean    tls_done;
    guint64     mid;            /* message in progress, 0: none */
    char       *qid;            /* its queue id once known */
    GPtrArray  *rcpts;          /* its recipients (no <>) */
    gboolean    noreply;        /* SMFIP_NR_* negotiated (NOREPLY_NEEDED) */
} conn;

/* macros each stage asks Postfix for (milter_*_macros in main.cf too) */
static const struct {
    int         stage;
    const char *list;
} symlists[] = {
    {SMFIM_CONNECT, "j _ v {daemon_name} {daemon_addr} {if_name} {if_addr} {client_addr} "
     "{client_port} {client_name} {client_ptr} {client_resolve}"},
    {SMFIM_HELO, "{tls_version} {cipher} {cipher_bits}"},
    {SMFIM_ENVFROM, "i {tls_version} {cipher}"},
    {SMFIM_ENVRCPT, "i"},
    {SMFIM_EOM, "i"},
};

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
    g_clear_pointer(&c->qid, g_free);
    g_ptr_array_set_size(c->rcpts, 0);
}

/* bind_qid - tell the follower which MID the queue id has */
static void bind_qid(SMFICTX *ctx, conn *c)
{
    const char *qid = macro(ctx, "i");

    if (c->mid == 0 || !mt_qid_ok(qid))
        return;                         /* not a queue id */
    g_free(c->qid);
    c->qid = g_strdup(qid);
    mt_msg_bind(c->qid, c->mid, c->icid, c->rcpts);
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

/* conn_get - the connection state of ctx, made on first use */
static conn *conn_get(SMFICTX *ctx)
{
    conn *c = smfi_getpriv(ctx);

    if (c == NULL) {
        c = g_new0(conn, 1);
        c->rcpts = g_ptr_array_new_with_free_func(g_free);
        smfi_setpriv(ctx, c);
    }
    return c;
}

/* go - on to the next stage: no reply when the MTA expects none */
static sfsistat go(const conn *c)
{
    return c && c->noreply ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/*
 * on_negotiate - ask only for what makes records; no actions, few replies
 *
 * The stages without a callback are not sent at all (SMFIP_NO*). HELO,
 * MAIL and RCPT only ever continue, so they are sent without waiting for
 * a reply (SMFIP_NR_*, milter protocol 6): Postfix keeps them in its
 * output buffer and sends them in one write at DATA, when smtpd hands the
 * milter socket to cleanup (which sends end-of-message). That is early
 * enough: the queue id they bind is first needed by the log follower for
 * the delivery, after end-of-message. Connect does wait for its reply:
 * the follower must know the connection (smtpd pid, client address:port)
 * before smtpd logs its TLS handshake and its first queue id; libmilter
 * reads the CONNECT that follows the OPTNEG reply in the same thread
 * wakeup, so a reply-less connect would save no wakeup here.
 *
 * On a TCP socket DATA gets a reply too (data_reply): Postfix does not
 * turn off Nagle on its milter socket, and our kernel delays its ACK of
 * a write that gets no reply; cleanup's end-of-message, a small write
 * behind that unacknowledged one, then waited for the delayed ACK (about
 * 40 ms per message; under load a third of the CPU sat idle). The DATA
 * reply carries the ACK and costs no extra wakeup: HELO to DATA still
 * arrive in one write. A unix socket has no Nagle and no ACKs: there
 * smtpd does not wait at DATA.
 *
 * libmilter offers the NR flags even to an MTA without them and then
 * sends the CONTINUE itself.
 */
static sfsistat on_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
                             unsigned long f2, unsigned long f3, unsigned long *pf0,
                             unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
    const unsigned long skip = SMFIP_NOBODY | SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NOUNKNOWN
        | (data_reply ? 0 : SMFIP_NODATA);
    const unsigned long noreply = SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT
        | (data_reply ? 0 : SMFIP_NR_DATA) | SMFIP_NR_UNKN | SMFIP_NR_HDR | SMFIP_NR_EOH
        | SMFIP_NR_BODY;
    conn *c = conn_get(ctx);

    c->noreply = (f1 & NOREPLY_NEEDED) == NOREPLY_NEEDED;
    *pf0 = 0;
    *pf1 = f1 & (skip | (c->noreply ? noreply : 0));
    *pf2 = *pf3 = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(symlists); i++)
        smfi_setsymlist(ctx, symlists[i].stage, (char *) symlists[i].list);
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
    if ((ifaddr = macro(ctx, "{if_addr}")) == NULL)
        ifaddr = macro(ctx, "{daemon_addr}");
    if ((ifname = macro(ctx, "{if_name}")) == NULL)     /* Sendmail's; not Postfix's */
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
    c->icid = mt_new_id_record(SEG_ID_ICID, 0, "New SMTP ICID ",
                               " interface %s (%s) address %s reverse dns host %s verified %s",
                               seg_record_field(ifname, b1, sizeof(b1), TRUE),
                               seg_record_field(ifaddr, b2, sizeof(b2), TRUE), addr,
                               seg_record_field(ptr, b3, sizeof(b3), TRUE), verified ? "yes" : "no");
    if (c->icid)
        mt_conn_open(c->icid, mt_smtpd_pid_of(macro(ctx, "v")), addr, port);
    return SMFIS_CONTINUE;
}

/* on_helo - TLS success after STARTTLS */
static sfsistat on_helo(SMFICTX *ctx, char *helo)
{
    conn *c = smfi_getpriv(ctx);

    if (c)
        tls_check(ctx, c);
    return go(c);
}

/* on_envfrom - Start MID, From */
static sfsistat on_envfrom(SMFICTX *ctx, char **argv)
{
    conn *c = smfi_getpriv(ctx);
    g_autofree char *from = NULL;

    if (c == NULL || c->icid == 0)
        return go(c);
    tls_check(ctx, c);
    msg_reset(c);
    if ((c->mid = mt_new_id_record(SEG_ID_MID, 0, "Start MID ", " ICID " ID, c->icid)) == 0)
        return go(c);
    from = mt_envelope(argv ? argv[0] : NULL);
    mt_record("MID " ID " ICID " ID " From: <%s>", c->mid, c->icid, from);
    bind_qid(ctx, c);
    return go(c);
}

/* on_envrcpt - To */
static sfsistat on_envrcpt(SMFICTX *ctx, char **argv)
{
    conn *c = smfi_getpriv(ctx);
    char *to;

    if (c == NULL || c->mid == 0)
        return go(c);
    to = mt_envelope(argv ? argv[0] : NULL);
    mt_record("MID " ID " ICID " ID " RID %u To: <%s>", c->mid, c->icid, c->rcpts->len, to);
    g_ptr_array_add(c->rcpts, to);
    bind_qid(ctx, c);
    return go(c);
}

/* on_data - DATA on a TCP socket: the reply carries the ACK (see on_negotiate) */
static sfsistat on_data(SMFICTX *ctx)
{
    (void) ctx;
    return SMFIS_CONTINUE;
}

/* on_eom - Message finished */
static sfsistat on_eom(SMFICTX *ctx)
{
    conn *c = smfi_getpriv(ctx);

    if (c == NULL || c->mid == 0)
        return SMFIS_ACCEPT;
    bind_qid(ctx, c);
    mt_record("Message finished MID " ID " done", c->mid);
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
    msg_reset(c);
    g_ptr_array_unref(c->rcpts);
    g_free(c);
    smfi_setpriv(ctx, NULL);
    return SMFIS_CONTINUE;
}

static struct smfiDesc desc = {
    .xxfi_name = "segtls-milter",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = 0,
    .xxfi_connect = on_connect,
    .xxfi_helo = on_helo,
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
