/*
 * recparse - read the gateway's record lines back (SPEC §6).
 *
 * Every record is matched by its literal words and its numbers are read
 * as decimal IDs (1 to 20 digits); a message that does not follow its
 * shape to the end is SEG_REC_OTHER, never a guess. Times are converted
 * once per hour of the log (mktime with the zone's DST rule), the
 * minutes and seconds added.
 */
#include <string.h>
#include <time.h>

#include "recparse.h"

#define TIME_LEN    24                  /* "Fri Nov 27 23:20:06 2026" */

typedef struct cur {
    const char *s, *e;
} cur;

static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

/* lit - consume the literal text l (of length n) */
static gboolean lit(cur *c, const char *l, size_t n)
{
    if ((size_t) (c->e - c->s) < n || memcmp(c->s, l, n) != 0)
        return FALSE;
    c->s += n;
    return TRUE;
}

#define LIT(c, l) lit((c), (l), sizeof(l) - 1)

/* num - consume a decimal number (1-19 digits) */
static gboolean num(cur *c, guint64 *v)
{
    const char *s = c->s;
    guint64 n = 0;

    while (c->s < c->e && *c->s >= '0' && *c->s <= '9' && c->s - s < 19)
        n = n * 10 + (guint64) (*c->s++ - '0');
    *v = n;
    return c->s > s && (c->s == c->e || *c->s < '0' || *c->s > '9');
}

/* word - consume up to the next space (or the end), at least one byte */
static gboolean word(cur *c, seg_rec_span *w)
{
    const char *sp = memchr(c->s, ' ', c->e - c->s);

    w->p = c->s;
    c->s = sp ? sp : c->e;
    w->n = c->s - w->p;
    return w->n > 0;
}

/* rest - the rest of the message, at least one byte */
static gboolean rest(cur *c, seg_rec_span *w)
{
    w->p = c->s;
    w->n = c->e - c->s;
    c->s = c->e;
    return w->n > 0;
}

/* two - two digits at p */
static int two(const char *p)
{
    int hi = p[0] == ' ' ? 0 : p[0] - '0', lo = p[1] - '0';

    return hi < 0 || hi > 9 || lo < 0 || lo > 9 ? -1 : hi * 10 + lo;
}

/* hour_start - the first second of the local hour of a record time */
static gboolean hour_start(const char *t, gint64 *hour)
{
    struct tm tm = {.tm_isdst = -1};
    const char *m = NULL;
    int y = 0;

    for (int i = 0; i < 12 && m == NULL; i++)
        if (memcmp(months + 3 * i, t + 4, 3) == 0)
            m = months + 3 * i;
    for (int i = 20; i < 24; i++) {
        if (t[i] < '0' || t[i] > '9')
            return FALSE;
        y = y * 10 + t[i] - '0';
    }
    if (m == NULL || (tm.tm_mday = two(t + 8)) < 1 || tm.tm_mday > 31
        || (tm.tm_hour = two(t + 11)) < 0 || tm.tm_hour > 23 || y < 1970)
        return FALSE;
    tm.tm_mon = (int) (m - months) / 3;
    tm.tm_year = y - 1900;
    *hour = (gint64) mktime(&tm);
    return *hour != -1 || (tm.tm_year == 69 && tm.tm_hour == 23);
}

/* seg_recparse_time - the time of a record line and its message */
gboolean seg_recparse_time(seg_rec_clock *clock, const char *line, size_t len,
                           gint64 *when, const char **msg, size_t *msg_len)
{
    const char *lv, *colon;
    int mm, ss;

    if (len < TIME_LEN + 4 || line[3] != ' ' || line[7] != ' ' || line[10] != ' '
        || line[13] != ':' || line[16] != ':' || line[19] != ' ' || line[TIME_LEN] != ' ')
        return FALSE;
    if ((mm = two(line + 14)) < 0 || mm > 59 || line[14] == ' '
        || (ss = two(line + 17)) < 0 || ss > 60 || line[17] == ' ')
        return FALSE;
    if (memcmp(clock->key, line, 13) != 0 || memcmp(clock->key + 13, line + 20, 4) != 0) {
        if (!hour_start(line, &clock->hour)) {
            clock->key[0] = 0;
            return FALSE;
        }
        memcpy(clock->key, line, 13);
        memcpy(clock->key + 13, line + 20, 4);
    }
    *when = clock->hour + mm * 60 + ss;
    /* " Level: " */
    lv = line + TIME_LEN + 1;
    colon = memchr(lv, ':', MIN((size_t) 12, len - TIME_LEN - 1));
    if (colon == NULL || colon == lv || (size_t) (colon - line) + 2 > len || colon[1] != ' ')
        return FALSE;
    *msg = colon + 2;
    *msg_len = len - (size_t) (*msg - line);
    return TRUE;
}

/* conn_id - "ICID n" or "DCID n" */
static gboolean conn_id(cur *c, seg_rec *r)
{
    if (LIT(c, "ICID "))
        r->dcid = FALSE;
    else if (LIT(c, "DCID "))
        r->dcid = TRUE;
    else
        return FALSE;
    return num(c, &r->id) && r->id > 0;
}

/* new_conn - "New SMTP ICID|DCID n ..." after "New SMTP " */
static gboolean new_conn(cur *c, seg_rec *r)
{
    seg_rec_span skip;

    if (!conn_id(c, r) || !LIT(c, " interface ") || !word(c, &skip))
        return FALSE;
    if (!r->dcid) {
        /* "(local ip) address A reverse dns host H verified V" */
        if (!LIT(c, " ") || !word(c, &skip) || !LIT(c, " address ") || !word(c, &r->c)
            || !LIT(c, " reverse dns host ") || !word(c, &r->a) || !LIT(c, " verified ")
            || !word(c, &r->b))
            return FALSE;
    } else if (!LIT(c, " address ") || !word(c, &r->c) || !LIT(c, " port ") || !word(c, &r->b)) {
        return FALSE;
    }
    r->kind = SEG_REC_NEW_CONN;
    return c->s == c->e;
}

/* conn_event - what follows "ICID n " or "DCID n " */
static gboolean conn_event(cur *c, seg_rec *r)
{
    if (LIT(c, "close")) {
        r->kind = SEG_REC_CLOSE;
        return c->s == c->e;
    }
    if (LIT(c, "TLS success protocol ")) {
        r->kind = SEG_REC_TLS_SUCCESS;
        return word(c, &r->a) && LIT(c, " cipher ") && word(c, &r->b) && c->s == c->e;
    }
    if (LIT(c, "TLS failed: ")) {
        r->kind = SEG_REC_TLS_FAILED;
        return rest(c, &r->a);
    }
    if (r->dcid && LIT(c, "TLS deferring: ")) {
        r->kind = SEG_REC_TLS_DEFERRING;
        return rest(c, &r->a);
    }
    if (!r->dcid && LIT(c, "TLS was required but remote host did not initiate it")) {
        r->kind = SEG_REC_TLS_REQUIRED;
        return c->s == c->e;
    }
    if (r->dcid && LIT(c, "STARTTLS command not supported.")) {
        r->kind = SEG_REC_NO_STARTTLS;
        return c->s == c->e;
    }
    return FALSE;
}

/* mid_event - what follows "MID m " */
static gboolean mid_event(cur *c, seg_rec *r)
{
    if (!LIT(c, "ICID ") || !num(c, &r->id) || !LIT(c, " RID ") || !num(c, &r->rid)
        || !LIT(c, " To: <") || c->e - c->s < 2 || c->e[-1] != '>')
        return FALSE;
    r->a.p = c->s;
    r->a.n = (size_t) (c->e - c->s) - 1;
    r->kind = SEG_REC_RCPT;
    return TRUE;
}

/* gui_event - "GUI HTTPS TLS success ..." or "SSL error with client ..." */
static gboolean gui_event(cur *c, seg_rec *r)
{
    if (LIT(c, "GUI HTTPS TLS success protocol ")) {
        r->kind = SEG_REC_GUI_SUCCESS;
        return word(c, &r->a) && LIT(c, " cipher ") && word(c, &r->b) && LIT(c, " address ")
            && word(c, &r->c);
    }
    if (LIT(c, "SSL error with client ")) {
        r->kind = SEG_REC_GUI_FAILED;
        if (!word(c, &r->c) || !LIT(c, " - "))
            return FALSE;
        return rest(c, &r->a);
    }
    return FALSE;
}

/* seg_recparse_msg - which record a message is, and its fields */
gboolean seg_recparse_msg(const char *msg, size_t len, seg_rec *r)
{
    cur     c = {msg, msg + len};
    gboolean ok = FALSE;

    memset(r, 0, sizeof(*r));
    if (len < 8)
        return FALSE;
    switch (msg[0]) {
    case 'N':
        ok = LIT(&c, "New SMTP ") && new_conn(&c, r);
        break;
    case 'I':
    case 'D':
        if (msg[1] == 'C')
            ok = conn_id(&c, r) && LIT(&c, " ") && conn_event(&c, r);
        else
            ok = LIT(&c, "Delivery start ") && conn_id(&c, r) && r->dcid && LIT(&c, " MID ")
                && num(&c, &r->mid) && LIT(&c, " to RID [") && c.e > c.s && c.e[-1] == ']'
                && (r->kind = SEG_REC_DELIVERY, r->a.p = c.s, r->a.n = (size_t) (c.e - c.s) - 1, TRUE);
        break;
    case 'S':
        if (LIT(&c, "Start MID "))
            ok = num(&c, &r->mid) && LIT(&c, " ICID ") && num(&c, &r->id) && c.s == c.e
                && (r->kind = SEG_REC_START_MID, TRUE);
        else
            ok = gui_event(&c, r);
        break;
    case 'M':
        if (LIT(&c, "MID "))
            ok = num(&c, &r->mid) && LIT(&c, " ") && mid_event(&c, r);
        else if (LIT(&c, "Message finished MID "))
            ok = num(&c, &r->mid) && (r->kind = SEG_REC_FINISHED, TRUE);
        break;
    case 'G':
        ok = gui_event(&c, r);
        break;
    default:
        break;
    }
    if (!ok)
        r->kind = SEG_REC_OTHER;
    return ok;
}

/* seg_recparse_rids - the next RID of a "0, 1, 2" list at *at */
gboolean seg_recparse_rids(const seg_rec_span *list, size_t *at, guint64 *rid)
{
    cur     c = {list->p + *at, list->p + list->n};

    if (c.s >= c.e)
        return FALSE;
    if (*at > 0 && !LIT(&c, ", "))
        return FALSE;
    if (!num(&c, rid))
        return FALSE;
    *at = (size_t) (c.s - list->p);
    return TRUE;
}
