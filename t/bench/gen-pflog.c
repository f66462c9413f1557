/*
 * gen-pflog - generate a realistic Postfix 3.7 log for the benchmarks.
 *
 * Modelled on the real captures in t/data/pflog: inbound sessions over
 * TLS 1.3, TLS 1.2 and plaintext, inbound handshake failures, probes
 * that drop after CONNECT, relay rejects, local submissions, outbound
 * deliveries over TLS, outbound handshake failures (deferred, then sent
 * in plaintext on the retry), peers that do not offer STARTTLS under
 * "encrypt", and sessions that end after "client=" (the message never
 * reaches qmgr), from several Postfix instances on two hosts, whose
 * processes come and go (pid churn). Sessions overlap and their lines
 * interleave by time, as in a busy log. The output is deterministic for
 * a given --seed, --lines and --start; --sessions stops after that many
 * sessions instead of lines.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <glib.h>


typedef struct pending {
    double  when;               /* seconds since the start */
    uint64_t seq;               /* tie-break: insertion order */
    char   *text;               /* the line after the time stamp */
} pending;

#define POOL_MAX        256

typedef struct pool {           /* processes that serve one session at a time */
    int     n;
    int     pid[POOL_MAX];
    double  busy_until[POOL_MAX];
} pool;

typedef struct instance {
    const char *host;           /* syslog host */
    const char *name;           /* syslog_name */
    int     qmgr_pid, cleanup_pid, pickup_pid, anvil_pid;
    pool    smtpd, smtp;
} instance;

static instance insts[] = {
    {"mx1", "postfix", 0, 0, 0, 0, {0}, {0}},
    {"mx1", "postfix-out", 0, 0, 0, 0, {0}, {0}},
    {"mx2", "postfix", 0, 0, 0, 0, {0}, {0}},
};
#define NINST   (sizeof(insts) / sizeof(insts[0]))

static uint64_t rng;            /* xorshift64* state */
static pending *heap;
static size_t heap_len, heap_cap;
static uint64_t seq;

/* rnd - the next pseudo-random number */
static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1DULL;
}

/* rndn - a number in [0, n) */
static unsigned rndn(unsigned n)
{
    return (unsigned) ((rnd() >> 33) % n);
}

/* rndf - a number in [0, 1) */
static double rndf(void)
{
    return (double) (rnd() >> 11) / 9007199254740992.0;
}

/* earlier - heap order */
static int earlier(const pending *a, const pending *b)
{
    return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

/* push - schedule one line */
static void push(double when, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void push(double when, const char *fmt, ...)
{
    va_list ap;
    size_t i;

    if (heap_len == heap_cap) {
        heap_cap = heap_cap ? heap_cap * 2 : 4096;
        heap = g_renew(pending, heap, heap_cap);
    }
    i = heap_len++;
    heap[i].when = when;
    heap[i].seq = seq++;
    va_start(ap, fmt);
    heap[i].text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    while (i > 0 && earlier(&heap[i], &heap[(i - 1) / 2])) {
        pending t = heap[i];

        heap[i] = heap[(i - 1) / 2];
        heap[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

/* pop - the earliest line */
static pending pop(void)
{
    pending top = heap[0];
    size_t i = 0;

    heap[0] = heap[--heap_len];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;

        if (l < heap_len && earlier(&heap[l], &heap[m]))
            m = l;
        if (r < heap_len && earlier(&heap[r], &heap[m]))
            m = r;
        if (m == i)
            break;
        pending t = heap[i];

        heap[i] = heap[m];
        heap[m] = t;
        i = m;
    }
    return top;
}

/* qid - a Postfix short queue id */
static void qid(char *buf)
{
    static const char hex[] = "0123456789ABCDEF";

    for (int i = 0; i < 11; i++)
        buf[i] = hex[rndn(16)];
    buf[11] = 0;
}

/* client - a remote SMTP client: name[addr]:port */
static void client(char *buf, size_t len)
{
    static const char *const nets[] = {"192.0.2", "198.51.100", "203.0.113"};
    static const char *const doms[] = {"example.com", "example.net", "example.org", "mail.test"};
    unsigned o = 1 + rndn(254);

    if (rndn(5) == 0)
        snprintf(buf, len, "unknown[%s.%u]:%u", nets[rndn(3)], o, 1024 + rndn(64000));
    else
        snprintf(buf, len, "mail%u.%s[%s.%u]:%u", rndn(500), doms[rndn(4)], nets[rndn(3)],
                 o, 1024 + rndn(64000));
}

/* relay - a next hop: name[addr]:25 */
static void relay(char *buf, size_t len)
{
    static const char *const doms[] = {"example.com", "example.net", "example.org", "mail.test"};

    snprintf(buf, len, "mx%u.%s[198.51.100.%u]:25", rndn(4), doms[rndn(4)], 1 + rndn(254));
}

/* addr - a mail address */
static void addr(char *buf, size_t len)
{
    static const char *const users[] = {"alice", "bob", "carol", "dave", "erin", "frank", "noreply", "billing"};
    static const char *const doms[] = {"example.com", "example.net", "example.org", "mail.test"};

    snprintf(buf, len, "%s%u@%s", users[rndn(8)], rndn(100), doms[rndn(4)]);
}

/* pids - give an instance its process ids */
static void pids(instance *in)
{
    in->qmgr_pid = 1000 + rndn(30000);
    in->cleanup_pid = 1000 + rndn(30000);
    in->pickup_pid = 1000 + rndn(30000);
    in->anvil_pid = 1000 + rndn(30000);
}

/* grab - a process of the pool that is idle at time t (a new one if none) */
static int grab(pool *p, double t)
{
    int i;

    for (i = 0; i < p->n; i++)
        if (p->busy_until[i] < t)
            break;
    if (i == p->n) {
        if (p->n == POOL_MAX)
            i = (int) rndn(POOL_MAX);   /* overloaded: should not happen */
        else
            p->n++;
        p->pid[i] = 1000 + (int) rndn(30000);
    } else if (rndn(100) == 0) {
        p->pid[i] = 1000 + (int) rndn(30000);   /* max_use reached: a new process */
    }
    p->busy_until[i] = t + 3600;
    return i;
}

#define TLS13_IN  "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256"
#define TLS12_IN  "TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)"
#define ERR_PROTO "warning: TLS library problem: error:0A000102:SSL routines::unsupported protocol:../ssl/statem/statem_srvr.c:1664:"
#define ERR_ALERT "warning: TLS library problem: error:0A00042E:SSL routines::tlsv1 alert protocol version:../ssl/record/rec_layer_s3.c:1602:SSL alert number 70:"

/* deliver - outbound deliveries of one queued message */
static void deliver(instance *in, double t, const char *q, int nrcpt, int kind, int size)
{
    const char *h = in->host, *n = in->name;
    int slot = grab(&in->smtp, t), pid = in->smtp.pid[slot];
    char rl[128], to[96];
    double d0 = 0.01 + rndf() * 0.2;

    relay(rl, sizeof(rl));
    t += 0.01 + rndf() * 0.1;
    switch (kind) {
    case 0:                     /* TLS 1.3 or 1.2, sent */
    case 1:
        push(t, "%s %s/smtp[%d]: %s TLS connection established to %s: %s", h, n, pid,
             rndn(4) == 0 ? "Verified" : "Untrusted", rl,
             kind == 0 ? TLS13_IN : "TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)");
        for (int r = 0; r < nrcpt; r++) {
            addr(to, sizeof(to));
            push(t + 0.02, "%s %s/smtp[%d]: %s: to=<%s>, relay=%s, delay=%.2g, delays=0.03/0.01/0.02/%.2g, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as %X)",
                 h, n, pid, q, to, rl, d0 + 0.05, d0, (unsigned) rnd());
        }
        break;
    case 2:                     /* plaintext, sent */
        for (int r = 0; r < nrcpt; r++) {
            addr(to, sizeof(to));
            push(t + 0.02, "%s %s/smtp[%d]: %s: to=<%s>, relay=%s, delay=%.2g, delays=0.02/0/0.01/%.2g, dsn=2.0.0, status=sent (250 ok)",
                 h, n, pid, q, to, rl, d0 + 0.03, d0);
        }
        break;
    case 3:                     /* handshake failure: deferred, then sent in plaintext */
        addr(to, sizeof(to));
        push(t, "%s %s/smtp[%d]: SSL_connect error to %s: -1", h, n, pid, rl);
        push(t, "%s %s/smtp[%d]: " ERR_ALERT, h, n, pid);
        push(t, "%s %s/smtp[%d]: %s: to=<%s>, relay=%s, delay=0.01, delays=0.01/0/0/0, dsn=4.7.5, status=deferred (Cannot start TLS: handshake failure)",
             h, n, pid, q, to, rl);
        in->smtp.busy_until[slot] = t + 0.01;
        t += 300 + rndf() * 60;
        slot = grab(&in->smtp, t);
        pid = in->smtp.pid[slot];
        push(t, "%s %s/qmgr[%d]: %s: from=<%s>, size=%d, nrcpt=1 (queue active)", h, n, in->qmgr_pid, q, "bounce-test@example.org", size);
        push(t + 0.01, "%s %s/smtp[%d]: SSL_connect error to %s: -1", h, n, pid, rl);
        push(t + 0.01, "%s %s/smtp[%d]: " ERR_ALERT, h, n, pid);
        push(t + 0.01, "%s %s/smtp[%d]: %s: Cannot start TLS: handshake failure", h, n, pid, q);
        push(t + 0.02, "%s %s/smtp[%d]: %s: to=<%s>, relay=%s, delay=301, delays=301/0/0/0, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as %X)",
             h, n, pid, q, to, rl, (unsigned) rnd());
        break;
    default:                    /* TLS required, not offered: deferred for good */
        addr(to, sizeof(to));
        push(t, "%s %s/smtp[%d]: %s: to=<%s>, relay=%s, delay=0.02, delays=0/0.02/0/0, dsn=4.7.4, status=deferred (TLS is required, but was not offered by host %.*s)",
             h, n, pid, q, to, rl, (int) (strrchr(rl, ':') - rl), rl);
        in->smtp.busy_until[slot] = t + 0.01;
        return;                 /* no "removed" */
    }
    in->smtp.busy_until[slot] = t + 0.03;
    push(t + 0.05, "%s %s/qmgr[%d]: %s: removed", h, n, in->qmgr_pid, q);
}

/* session - one inbound SMTP session (or local submission) from time t */
static void session(double t)
{
    instance *in = &insts[rndn(NINST)];
    const char *h = in->host, *n = in->name;
    int slot, pid;
    unsigned kind = rndn(100);
    char cl[128], q[12], from[96], to[96];
    int nrcpt = 1 + (rndn(4) == 0 ? (int) rndn(3) : 0);
    int size = 800 + (int) rndn(60000), tls, out;

    qid(q);
    client(cl, sizeof(cl));
    addr(from, sizeof(from));
    if (kind < 3) {             /* local submission */
        push(t, "%s %s/pickup[%d]: %s: uid=0 from=<root@%s.test.local>", h, n, in->pickup_pid, q, h);
        push(t, "%s %s/cleanup[%d]: %s: message-id=<%X.%s@%s.test.local>", h, n, in->cleanup_pid, q, (unsigned) rnd(), q, h);
        push(t + 0.01, "%s %s/qmgr[%d]: %s: from=<root@%s.test.local>, size=%d, nrcpt=1 (queue active)", h, n, in->qmgr_pid, q, h, size);
        deliver(in, t + 0.01, q, 1, 0, size);
        return;
    }
    slot = grab(&in->smtpd, t);
    pid = in->smtpd.pid[slot];
    if (kind < 5) {             /* encrypt listener, client never starts TLS */
        push(t, "%s %s/submission/smtpd[%d]: connect from %s", h, n, pid, cl);
        t += 0.2;
        push(t, "%s %s/submission/smtpd[%d]: disconnect from %s ehlo=1 mail=0/1 quit=1 commands=2/3", h, n, pid, cl);
        goto end;
    }
    push(t, "%s %s/smtpd[%d]: connect from %s", h, n, pid, cl);
    t += 0.005 + rndf() * 0.05;
    if (kind < 10) {            /* port probe */
        push(t, "%s %s/smtpd[%d]: lost connection after CONNECT from %s", h, n, pid, cl);
        push(t, "%s %s/smtpd[%d]: disconnect from %s commands=0/0", h, n, pid, cl);
        goto end;
    }
    if (kind < 18) {            /* inbound handshake failure */
        push(t, "%s %s/smtpd[%d]: SSL_accept error from %s: -1", h, n, pid, cl);
        push(t, "%s %s/smtpd[%d]: " ERR_PROTO, h, n, pid);
        push(t, "%s %s/smtpd[%d]: lost connection after STARTTLS from %s", h, n, pid, cl);
        push(t, "%s %s/smtpd[%d]: disconnect from %s ehlo=1 starttls=0/1 commands=1/2", h, n, pid, cl);
        goto end;
    }
    tls = kind < 60 ? 13 : kind < 78 ? 12 : 0;
    if (tls)
        push(t, "%s %s/smtpd[%d]: Anonymous TLS connection established from %s: %s", h, n, pid, cl,
             tls == 13 ? TLS13_IN : TLS12_IN);
    t += 0.01 + rndf() * 0.05;
    if (kind < 23) {            /* relay denied */
        addr(to, sizeof(to));
        push(t, "%s %s/smtpd[%d]: NOQUEUE: reject: RCPT from %s: 554 5.7.1 <%s>: Relay access denied; from=<%s> to=<%s> proto=ESMTP helo=<%.*s>",
             h, n, pid, cl, to, from, to, (int) strcspn(cl, "["), cl);
        push(t + 0.01, "%s %s/smtpd[%d]: disconnect from %s ehlo=%d%s mail=1 rcpt=0/1 quit=1 commands=%d/%d", h, n, pid, cl,
             tls ? 2 : 1, tls ? " starttls=1" : "", tls ? 4 : 3, tls ? 5 : 4);
        t += 0.01;
        goto end;
    }
    push(t, "%s %s/smtpd[%d]: %s: client=%s", h, n, pid, q, cl);
    if (kind < 26) {            /* the client goes away during DATA */
        push(t + 0.02, "%s %s/smtpd[%d]: lost connection after DATA (0 bytes) from %s", h, n, pid, cl);
        push(t + 0.02, "%s %s/smtpd[%d]: disconnect from %s ehlo=%d%s mail=1 rcpt=1 data=0/1 commands=%d/%d",
             h, n, pid, cl, tls ? 2 : 1, tls ? " starttls=1" : "", tls ? 4 : 3, tls ? 5 : 4);
        t += 0.02;
        goto end;
    }
    push(t + 0.01, "%s %s/cleanup[%d]: %s: message-id=<%X.%X@%.*s>", h, n, in->cleanup_pid, q,
         (unsigned) rnd(), (unsigned) rnd(), (int) strcspn(cl, "["), cl);
    push(t + 0.02, "%s %s/qmgr[%d]: %s: from=<%s>, size=%d, nrcpt=%d (queue active)", h, n, in->qmgr_pid, q, from, size, nrcpt);
    push(t + 0.03, "%s %s/smtpd[%d]: disconnect from %s ehlo=%d%s mail=1 rcpt=%d data=1 quit=1 commands=%d",
         h, n, pid, cl, tls ? 2 : 1, tls ? " starttls=1" : "", nrcpt, (tls ? 5 : 3) + nrcpt);
    out = kind < 70 ? 0 : kind < 85 ? 1 : kind < 93 ? 2 : kind < 97 ? 3 : 4;
    deliver(in, t + 0.02, q, nrcpt, out, size);
    if (rndn(500) == 0)
        push(t + 1, "%s %s/anvil[%d]: statistics: max connection rate 3/60s for (smtp:%.*s) at Nov 27 12:00:00",
             h, n, in->anvil_pid, (int) strcspn(strchr(cl, '[') + 1, "]"), strchr(cl, '[') + 1);
    t += 0.03;
end:
    in->smtpd.busy_until[slot] = t + 0.001;
}

int main(int argc, char **argv)
{
    gint64 lines = 1000000, seed = 1, sessions = 0, start = 1795737600;
    gdouble rate = 40.0;
    GOptionEntry entries[] = {
        {"lines", 'n', 0, G_OPTION_ARG_INT64, &lines, "Lines to write (1000000)", "N"},
        {"sessions", 'S', 0, G_OPTION_ARG_INT64, &sessions,
         "Sessions to write instead (all their lines)", "N"},
        {"seed", 's', 0, G_OPTION_ARG_INT64, &seed, "Random seed (1)", "N"},
        {"rate", 'r', 0, G_OPTION_ARG_DOUBLE, &rate, "Sessions per second of log time (40)", "R"},
        {"start", 0, 0, G_OPTION_ARG_INT64, &start,
         "Time of the first line, seconds since the epoch (2026-11-27 00:00 UTC)", "T"},
        {NULL}
    };
    g_autoptr(GOptionContext) oc = g_option_context_new("- write a realistic Postfix log to stdout");
    g_autoptr(GError) err = NULL;
    static char obuf[1 << 16];
    double next = 0;
    time_t base;
    time_t last = -1;
    char stamp[32] = "";
    gint64 done = 0, started = 0;

    g_option_context_add_main_entries(oc, entries, NULL);
    if (!g_option_context_parse(oc, &argc, &argv, &err)) {
        fprintf(stderr, "gen-pflog: %s\n", err->message);
        return 2;
    }
    if (argc > 1 || lines < 0 || sessions < 0 || rate <= 0 || start < 0) {
        fprintf(stderr, "gen-pflog: usage: gen-pflog [--lines N | --sessions N] [--seed N] [--rate R] [--start T]\n");
        return 2;
    }
    base = (time_t) start;
    rng = (uint64_t) seed * 0x9E3779B97F4A7C15ULL + 0x1234567ULL;
    for (size_t i = 0; i < NINST; i++)
        pids(&insts[i]);
    setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
    while (sessions ? heap_len > 0 || started < sessions : done < lines) {
        /* every session that starts before the next line exists */
        while ((heap_len == 0 || next <= heap[0].when) && (!sessions || started < sessions)) {
            session(next);
            started++;
            next += -log(1.0 - rndf()) / rate;
            if (rndn(20000) == 0)       /* now and then a process is replaced */
                pids(&insts[rndn(NINST)]);
        }
        pending p = pop();
        time_t now = base + (time_t) p.when;

        if (now != last) {
            struct tm tm;

            gmtime_r(&now, &tm);
            strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
            last = now;
        }
        if (printf("%s %s\n", stamp, p.text) < 0) {
            g_free(p.text);
            break;
        }
        g_free(p.text);
        done++;
    }
    while (heap_len > 0)
        g_free(pop().text);
    g_free(heap);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror("gen-pflog: write");
        return 1;
    }
    return 0;
}
