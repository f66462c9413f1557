/*
 * guirec - the gui_logs lines of the web UI (see guirec.h).
 *
 * Each shape is a row of literal text and field codes; one loop writes
 * any of them, escaping every field on the way into the buffer.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "guirec.h"

/* One piece of a shape: literal text, or a field of seg_guirec. */
typedef struct part {
    const char *lit;            /* literal text, or NULL for a field */
    size_t      off;            /* offset of the field's const char * */
    int         kind;           /* P_TEXT field, P_LAST (may hold spaces), P_STATUS */
} part;

enum { P_LIT, P_TEXT, P_LAST, P_STATUS, P_END };

#define L(s)    {(s), 0, P_LIT}
#define F(m)    {NULL, offsetof(seg_guirec, m), P_TEXT}
#define LAST(m) {NULL, offsetof(seg_guirec, m), P_LAST}
#define STATUS  {NULL, 0, P_STATUS}
#define END     {NULL, 0, P_END}

static const part shapes[SEG_GUIREC_NKINDS][16] = {
    [SEG_GUIREC_REQUEST] = {L("req:"), F(ip), L(" user:"), F(user),
        L(" id:"), F(session), L(" "), STATUS, L(" "), F(method),
        L(" "), F(path), L(" HTTP/1.1 "), LAST(agent), END},
    [SEG_GUIREC_ACTION] = {L("SourceIP:"), F(ip), L(" Destination:"),
        F(path), L(" Username:"), F(user), L(" Privilege:"), F(role),
        L(" session:"), F(session), L(" Action: "), LAST(text), END},
    [SEG_GUIREC_IDLE] = {L("Action: User "), F(user),
        L(" logged out from session "), F(session),
        L(" beacuse of inactivity timeout"), END},
    [SEG_GUIREC_LOGOUT] = {L("Action: User "), F(user),
        L(" logged out from session "), F(session), END},
    [SEG_GUIREC_EXPIRED] = {L("Session "), F(session), L(" user:"),
        F(user), L(" expired"), END},
    [SEG_GUIREC_UNKNOWN] = {L("Session "), F(session), L(" from "), F(ip),
        L(" not found Destination:"), F(path), END},
};

typedef struct out {
    char       *buf;
    size_t      size;
    size_t      len;
    int         full;           /* something did not fit: nothing more goes in */
} out;

/* put - append n bytes when they fit whole (a record is cut, never a \xHH) */
static void put(out *o, const char *s, size_t n)
{
    if (o->full || o->len + n >= o->size) {
        o->full = 1;
        return;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

/* put_field - a field value, escaped; "-" when empty */
static void put_field(out *o, const char *v, int last)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p;

    if (v == NULL || *v == 0) {
        put(o, "-", 1);
        return;
    }
    for (p = (const unsigned char *) v; *p; p++) {
        if (*p == ' ' && !last) {
            put(o, "%20", 3);
        } else if (*p < 0x20 || *p > 0x7e || *p == '\\') {
            char    e[4] = {'\\', 'x', hex[*p >> 4], hex[*p & 15]};

            put(o, e, 4);
        } else {
            put(o, (const char *) p, 1);
        }
    }
}

/* seg_guirec_format - the message of one record into buf; its length */
size_t seg_guirec_format(const seg_guirec *r, char *buf, size_t size)
{
    out     o = {buf, size, 0, 0};
    char    num[16];
    const part *p;

    if (buf == NULL || size < 2 || (unsigned) r->kind >= SEG_GUIREC_NKINDS)
        return 0;
    for (p = shapes[r->kind]; p->kind != P_END; p++) {
        if (p->kind == P_LIT) {
            put(&o, p->lit, strlen(p->lit));
        } else if (p->kind == P_STATUS) {
            snprintf(num, sizeof(num), "%03d",
                     r->status > 0 && r->status < 1000 ? r->status : 0);
            put(&o, num, strlen(num));
        } else {
            put_field(&o, *(const char *const *) ((const char *) r + p->off),
                      p->kind == P_LAST);
        }
    }
    buf[o.len] = 0;
    return o.len;
}
