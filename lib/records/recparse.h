/*
 * recparse - read the gateway's record lines back (SPEC §6).
 *
 * A record line is "<Www Mmm dd hh:mm:ss yyyy> <Level>: <message>".
 * seg_recparse_time turns the time into seconds (local time, as the
 * writer formats it) and finds the message; seg_recparse_msg says which
 * record the message is and picks its fields. Fields point into the
 * message (not copied, not NUL-terminated). Everything else (headers,
 * records of no interest, malformed lines) is SEG_REC_OTHER. Used by the
 * TLS report and by the metrics of the record writer.
 */
#ifndef SEGTLS_RECPARSE_H
#define SEGTLS_RECPARSE_H

#include <glib.h>

typedef enum {
    SEG_REC_OTHER,
    SEG_REC_NEW_CONN,           /* New SMTP ICID|DCID n ...: a, b, c below */
    SEG_REC_TLS_SUCCESS,        /* ICID|DCID n TLS success protocol a cipher b */
    SEG_REC_TLS_FAILED,         /* ICID|DCID n TLS failed: a (the error tuple) */
    SEG_REC_TLS_DEFERRING,      /* DCID n TLS deferring: a */
    SEG_REC_TLS_REQUIRED,       /* ICID n TLS was required but remote host did not initiate it */
    SEG_REC_NO_STARTTLS,        /* DCID n STARTTLS command not supported. */
    SEG_REC_CLOSE,              /* ICID|DCID n close */
    SEG_REC_START_MID,          /* Start MID mid ICID id */
    SEG_REC_RCPT,               /* MID mid ICID id RID rid To: <a> */
    SEG_REC_DELIVERY,           /* Delivery start DCID id MID mid to RID [a] */
    SEG_REC_FINISHED,           /* Message finished MID mid ... */
    SEG_REC_GUI_SUCCESS,        /* GUI HTTPS TLS success protocol a cipher b address c ... */
    SEG_REC_GUI_FAILED,         /* SSL error with client c:... - a */
} seg_rec_kind;

typedef struct seg_rec_span {
    const char *p;
    size_t      n;
} seg_rec_span;

typedef struct seg_rec {
    seg_rec_kind kind;
    gboolean    dcid;           /* the connection is a DCID (else an ICID) */
    guint64     id;             /* ICID or DCID */
    guint64     mid;
    guint64     rid;
    /*
     * NEW_CONN ICID: a = reverse dns host, b = verified, c = address;
     * NEW_CONN DCID: c = address, b = port
     */
    seg_rec_span a, b, c;
} seg_rec;

/* seg_rec_clock - the last hour converted (mktime is slow) */
typedef struct seg_rec_clock {
    char        key[32];        /* "Www Mmm dd hh" + " yyyy" */
    gint64      hour;           /* its first second */
} seg_rec_clock;

/* seg_recparse_time - the time of a record line and its message; FALSE: not a record line */
gboolean seg_recparse_time(seg_rec_clock *clock, const char *line, size_t len,
                           gint64 *when, const char **msg, size_t *msg_len);
/* seg_recparse_msg - which record a message is, and its fields; FALSE: SEG_REC_OTHER */
gboolean seg_recparse_msg(const char *msg, size_t len, seg_rec *r);
/* seg_recparse_rids - the next RID of a "0, 1, 2" list at *at; FALSE at its end */
gboolean seg_recparse_rids(const seg_rec_span *list, size_t *at, guint64 *rid);

#endif
