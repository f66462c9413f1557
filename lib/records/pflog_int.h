/*
 * pflog_int - internals shared by the pflog*.c files: the parser state
 * and the scanning helpers (8 bytes at a time). The parts of the parser
 * have their own headers: pflog_rec.h (record builder), pflog_field.h
 * (field parsers), pflog_msg.h (messages by queue id), pflog_conn.h
 * (processes by pid), pflog_smtpd.h and pflog_smtp.h (the handlers).
 */
#ifndef SEGTLS_PFLOG_INT_H
#define SEGTLS_PFLOG_INT_H

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include "pflog.h"

#define PF_ADDR_MAX     64      /* IPv6 text + zone fits */
#define PF_NAME_MAX     256     /* DNS name */
#define PF_QID_MAX      32      /* long queue ids are ~15-20 characters */
#define PF_ERR_MAX      512     /* OpenSSL error string */

/* a piece of the line: pointer + length, never NUL-terminated */
typedef struct pf_str {
    const char *p;
    size_t      n;
} pf_str;

/* an ID in decimal, formatted once when the ID is assigned */
typedef struct pf_idtext {
    guint8      n;
    char        t[23];
} pf_idtext;

typedef struct pf_line {
    time_t      when;
    pf_str      tag;            /* "mta postfix/submission/smtpd": host and program */
    pf_str      syslog_name;    /* "postfix/submission" */
    pf_str      daemon;         /* "smtpd" */
    long        pid;
    pf_str      text;           /* after "]: " */
} pf_line;

/* TLS handshake failure waiting for its details or its outcome */
enum { PF_TLS_NONE, PF_TLS_ERROR, PF_TLS_TUPLE };

#define PF_TAG_MAX      96      /* "HOST PROGRAM" of a process we follow */

/* what a process is known by: its host and program, and its pid */
typedef struct pf_conn_key {
    guint64     hash;           /* pf_conn_hash() of the three */
    long        pid;
    const char *tag;            /* "HOST PROGRAM", not NUL-terminated */
    size_t      tag_n;
} pf_conn_key;

struct pf_msg;

/*
 * One Postfix process (smtpd or smtp) while it is heard of: released at
 * its exit (master's "process ... pid N exit status", its own "fatal:"),
 * after 5 minutes without a line when it holds nothing, and after an
 * hour without one in any case (pflog.c), so a follower that runs for
 * months keeps only what is open.
 */
typedef struct pf_conn {
    /* what most lines touch first */
    pf_conn_key k;              /* the key in seg_pflog.in/out; k.tag is tag below */
    guint64     id;             /* open ICID/DCID, 0: none */
    pf_idtext   idt;            /* id in decimal */
    time_t      last;           /* time of the last line of this process */
    int         tls;            /* PF_TLS_* */
    /* smtp: the delivery in progress */
    gboolean    tls_reported;   /* deferring/STARTTLS record written */
    time_t      start;          /* time of the first delivered RID */
    GArray     *rids;           /* guint RIDs delivered (status=sent) */
    struct pf_msg *msg;         /* the message being delivered, NULL: none */
    struct pf_conn *dnext;      /* the other processes delivering msg */
    struct pf_conn *dprev;
    struct pf_conn *next_free;  /* in seg_pflog.conn_pool */
    char        qid[PF_QID_MAX];
    unsigned long err_code;
    size_t      host_n;         /* the host part of tag */
    char        tag[PF_TAG_MAX];
    /* smtpd: "hostname NAME does not resolve to address ADDR" */
    char        ptr_name[PF_NAME_MAX];
    char        ptr_addr[PF_ADDR_MAX];
    char        err[PF_ERR_MAX];
    /* smtp: the peer of the connection (DCID), the destination entry
       reported, and a certificate verify failure */
    char        peer[PF_ADDR_MAX + 8];  /* "ADDR PORT" */
    char        dest[PF_NAME_MAX];
    unsigned long verr_code;    /* 0: none */
    char        verr[128];
} pf_conn;

typedef struct pf_msg {
    char        qid[PF_QID_MAX];
    pf_str      key;            /* qid, the key in seg_pflog.msgs */
    guint32     hash;           /* qid_hash of key */
    guint64     mid;
    guint64     icid;           /* 0: local submission or unknown */
    pf_idtext   midt;           /* mid and icid in decimal */
    pf_idtext   icidt;
    gboolean    from_done;      /* qmgr has it: it is queued */
    time_t      last;           /* time of the last line about it */
    pf_conn    *dconns;         /* the smtp processes delivering it now */
    guint       nrcpt;          /* RIDs given: 0 .. nrcpt - 1 */
    size_t      rcpt_len;       /* bytes used in rcpt */
    size_t      rcpt_size;
    char       *rcpt;           /* by RID: a guint32 length, then the address */
    struct pf_msg *next_free;   /* in seg_pflog.msg_pool */
} pf_msg;

#define PF_CONN_CACHE   1024    /* direct-mapped key -> pf_conn cache slots */
#define PF_DAEMON_SLOTS 32      /* daemon name -> handler hash table */
#define PF_NAMES_MAX    64      /* accepted syslog names */
#define PF_NAME_LEN     64      /* longest accepted syslog name */

/* where an smtpd service listens: "interface NAME (ADDR)" of its ICIDs */
typedef struct pf_iface {
    char       *name;           /* "lo", "eth0", "unknown" */
    char       *addr;           /* "127.0.0.1", "unknown" */
    size_t      name_len, addr_len;
} pf_iface;

struct seg_pflog {
    seg_ids    *ids;
    seg_pflog_emit_fn emit;
    void       *ctx;
    seg_pflog_dest_fn dest;     /* Destination Controls, NULL: none */
    void       *dest_ctx;
    seg_pflog_release_fn release;   /* a message forgotten unfinished */
    void       *release_ctx;
    char       *ifname;         /* set: every ICID says it (an override) */
    char       *local_addr;
    size_t      ifname_len, local_addr_len;
    GHashTable *ifaces;         /* smtpd syslog name -> pf_iface */
    char       *client_addr;    /* the smtp client's source address, or NULL */
    size_t      client_addr_len;
    int         year;
    int         last_mon;       /* for the December -> January step */
    time_t      year_now;       /* year guessed from this time: the first
                                 * line may not be over a day ahead of it */
    char       *names[PF_NAMES_MAX];    /* accepted syslog names */
    size_t      names_n[PF_NAMES_MAX];
    guint       nnames;
    GHashTable *in;             /* smtpd processes: pf_conn_key -> pf_conn */
    GHashTable *out;            /* smtp processes */
    pf_conn    *conn_pool;      /* released processes, for reuse */
    size_t      conn_pool_n;
    pf_msg    **msgs;           /* by queue id: open addressing, linear probing */
    guint32    *msgs_hash;      /* the hash of each message in msgs */
    size_t      msgs_mask;      /* slots - 1 (a power of two) */
    size_t      msgs_used;
    pf_msg     *msg_pool;       /* removed messages, for reuse */
    size_t      msg_pool_n;
    time_t      now;            /* the latest time of a line */
    time_t      next_sweep;     /* when to look for state quiet too long */
    time_t      next_msg_sweep; /* ... and for messages quiet too long */
    pf_conn    *in_cache[PF_CONN_CACHE];    /* in and out by key hash */
    pf_conn    *out_cache[PF_CONN_CACHE];
    guint64     dkey[PF_DAEMON_SLOTS];      /* daemon name keys, 0: empty slot */
    guint8      dfn[PF_DAEMON_SLOTS];       /* their index in pflog.c's daemons[] */
    seg_pflog_stats st;
    gboolean    id_warned;
    guint64     last_id[SEG_ID_NKINDS];     /* the last ID of each kind ... */
    pf_idtext   last_idt[SEG_ID_NKINDS];    /* ... and its text */
    int         tc_key[4];      /* year, mon, day, hour of tc_base */
    time_t      tc_base;
    guint64     ts_last[2];     /* the last RFC 3164 time field ... */
    time_t      ts_when;        /* ... and its time; ts_when 0: none */
    size_t      len;            /* bytes of the record being built */
    char        buf[SEG_RECORD_LINE_MAX];
};

#define PF_ONES         0x0101010101010101ULL
#define PF_HIGHS        0x8080808080808080ULL

/* pf_load8 - the 8 bytes at s as an integer, the first one in the low byte */
static inline guint64 pf_load8(const char *s)
{
    guint64 v;

    memcpy(&v, s, 8);
    return GUINT64_FROM_LE(v);
}

/*
 * pf_eq8 - the bytes of w equal to c get their high bit set; exact up to
 * the lowest one set (a borrow may mark bytes above it too)
 */
static inline guint64 pf_eq8(guint64 w, guchar c)
{
    guint64 x = w ^ (PF_ONES * c);

    return (x - PF_ONES) & ~x & PF_HIGHS;
}

/* pf_nondigit8 - the bytes of w that are not '0'..'9' get their high bit set */
static inline guint64 pf_nondigit8(guint64 w)
{
    guint64 v = w & ~PF_HIGHS;

    return (w | (v + PF_ONES * 0x46) | ~(v + PF_ONES * 0x50)) & PF_HIGHS;
}

/* pf_nonalnum8 - the bytes of w that are not ASCII letters or digits get their high bit set */
static inline guint64 pf_nonalnum8(guint64 w)
{
    guint64 v = w & ~PF_HIGHS, u = v | (PF_ONES * 0x20);
    guint64 digit = (v + PF_ONES * 0x50) & ~(v + PF_ONES * 0x46);      /* '0'..'9' */
    guint64 letter = (u + PF_ONES * 0x1F) & ~(u + PF_ONES * 0x05);     /* 'a'..'z' */

    return (~(digit | letter) | w) & PF_HIGHS;
}

/* pf_digits8 - the value of 8 ASCII digits (or NULs in front of them) */
static inline guint64 pf_digits8(guint64 w)
{
    w = ((w & 0x0F0F0F0F0F0F0F0FULL) * 2561) >> 8;
    w = ((w & 0x00FF00FF00FF00FFULL) * 6553601) >> 16;
    return ((w & 0x0000FFFF0000FFFFULL) * 42949672960001ULL) >> 32;
}

/* pf_span - bytes of s before the first a, b or c (not NUL; n when none), 8 at a time */
static inline size_t pf_span(const char *s, size_t n, guchar a, guchar b, guchar c)
{
    size_t i = 0;
    guint64 w, m;

    for (; i + 8 <= n; i += 8) {
        w = pf_load8(s + i);
        if ((m = pf_eq8(w, a) | pf_eq8(w, b) | pf_eq8(w, c)) != 0)
            return i + (__builtin_ctzll(m) >> 3);
    }
    if (i < n && n >= 8) {              /* the rest: the last 8 bytes, shifted */
        w = pf_load8(s + n - 8) >> (8 * (i + 8 - n));
        if ((m = pf_eq8(w, a) | pf_eq8(w, b) | pf_eq8(w, c)) != 0)
            return i + (__builtin_ctzll(m) >> 3);
        return n;
    }
    for (; i < n; i++)
        if (s[i] == (char) a || s[i] == (char) b || s[i] == (char) c)
            return i;
    return n;
}

#ifdef __SSE2__
/* pf_masks48 - bit i of *ma, *mb, *mc set when byte i of the 48 at s is a, b, c */
static inline void pf_masks48(const char *s, char a, char b, char c, guint64 *ma, guint64 *mb,
                              guint64 *mc)
{
    const __m128i va = _mm_set1_epi8(a), vb = _mm_set1_epi8(b), vc = _mm_set1_epi8(c);

    *ma = *mb = *mc = 0;
    for (int i = 0; i < 3; i++) {
        __m128i v = _mm_loadu_si128((const __m128i *) (const void *) (s + 16 * i));

        *ma |= (guint64) (guint32) _mm_movemask_epi8(_mm_cmpeq_epi8(v, va)) << (16 * i);
        *mb |= (guint64) (guint32) _mm_movemask_epi8(_mm_cmpeq_epi8(v, vb)) << (16 * i);
        *mc |= (guint64) (guint32) _mm_movemask_epi8(_mm_cmpeq_epi8(v, vc)) << (16 * i);
    }
}
#endif

/* pf_load4 - the 4 bytes at s as an integer, the first one in the low byte */
static inline guint32 pf_load4(const char *s)
{
    guint32 v;

    memcpy(&v, s, 4);
    return GUINT32_FROM_LE(v);
}

/*
 * pf_same - are the n bytes at a and b the same? No call and few branches:
 * up to 16 bytes are compared as two overlapping words
 */
static inline gboolean pf_same(const char *a, const char *b, size_t n)
{
    size_t i;

    if (n >= 8) {
        for (i = 0; i + 16 < n; i += 8)
            if (pf_load8(a + i) != pf_load8(b + i))
                return FALSE;
        return ((pf_load8(a + i) ^ pf_load8(b + i))
                | (pf_load8(a + n - 8) ^ pf_load8(b + n - 8))) == 0;
    }
    if (n >= 4)
        return ((pf_load4(a) ^ pf_load4(b)) | (pf_load4(a + n - 4) ^ pf_load4(b + n - 4))) == 0;
    return n == 0 || (a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1]);
}

/* pf_has - does s start with the literal? (advances past it when it does) */
static inline gboolean pf_has(pf_str *s, const char *lit, size_t n)
{
    if (s->n < n || (n > 0 && s->p[0] != lit[0]) || !pf_same(s->p, lit, n))
        return FALSE;
    s->p += n;
    s->n -= n;
    return TRUE;
}
#define PF_HAS(s, lit) pf_has((s), (lit), sizeof(lit) - 1)

/* pf_has_nul8 - does a byte of v equal 0? */
static inline gboolean pf_has_nul8(guint64 v)
{
    return ((v - PF_ONES) & ~v & PF_HIGHS) != 0;
}

/*
 * pf_nul_len - bytes before the first NUL of s (n when none). Up to 16
 * bytes are tested as two overlapping words; only a piece with a NUL
 * (never in a real log) is looked at byte by byte.
 */
static inline size_t pf_nul_len(const char *s, size_t n)
{
    size_t i;

    if (n >= 8) {
        for (i = 0; i + 16 < n; i += 8)
            if (pf_has_nul8(pf_load8(s + i)))
                goto slow;
        if (!pf_has_nul8(pf_load8(s + i)) && !pf_has_nul8(pf_load8(s + n - 8)))
            return n;
    } else if (n >= 4) {
        if (!pf_has_nul8(pf_load4(s) | (guint64) pf_load4(s + n - 4) << 32))
            return n;
    } else if (n == 0 || (s[0] != 0 && s[n / 2] != 0 && s[n - 1] != 0)) {
        return n;
    }
    i = 0;
slow:
    while (i < n && s[i] != 0)
        i++;
    return i;
}

#endif
