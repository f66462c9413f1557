/*
 * destctl - the Destination Controls table and the sender groups.
 *
 * Both tables are kept sorted (entries by domain, groups by name), so
 * that two equal configurations compare and serialise alike whatever
 * order they were edited in. Every value goes through its grammar here,
 * the one place that checks it: the key file, the control protocol, the
 * CLI and the table segtls-policy reads all call these functions.
 */
#include <stdlib.h>
#include <string.h>

#include <gio/gio.h>

#include "cipherstr.h"
#include "destctl.h"
#include "error.h"
#include "polreq.h"
#include "quote.h"
#include "settings.h"
#include "tlsver.h"

#define DOMAIN_MAX      253
#define LABEL_MAX       63
#define GROUP_NAME_MAX  64
#define EXCLUDE_MAX     1024

struct seg_destctl {
    GPtrArray  *dests;          /* seg_dest_entry *, by domain */
    GPtrArray  *groups;         /* seg_sender_group *, by name */
};

/* Cipher grades a destination may choose ("" = outbound.ciphers). */
static const char *const grades[] = {"", "high", "medium"};

/* dest_free - release one entry */
static void dest_free(gpointer p)
{
    seg_dest_entry *e = p;

    g_free(e->domain);
    g_free(e->ciphers);
    g_free(e->exclude);
    g_free(e);
}

/* group_free - release one group */
static void group_free(gpointer p)
{
    seg_sender_group *g = p;

    g_free(g->name);
    g_ptr_array_unref(g->members);
    g_free(g);
}

/* seg_destctl_new - both tables empty */
seg_destctl *seg_destctl_new(void)
{
    seg_destctl *dc = g_new0(seg_destctl, 1);

    dc->dests = g_ptr_array_new_with_free_func(dest_free);
    dc->groups = g_ptr_array_new_with_free_func(group_free);
    return dc;
}

/* dest_copy - deep copy of one entry */
static seg_dest_entry *dest_copy(const seg_dest_entry *e)
{
    seg_dest_entry *c = g_memdup2(e, sizeof(*e));

    c->domain = g_strdup(e->domain);
    c->ciphers = g_strdup(e->ciphers);
    c->exclude = g_strdup(e->exclude);
    return c;
}

/* group_copy - deep copy of one group */
static seg_sender_group *group_copy(const seg_sender_group *g)
{
    seg_sender_group *c = g_new0(seg_sender_group, 1);

    c->name = g_strdup(g->name);
    c->tls = g->tls;
    c->members = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < g->members->len; i++)
        g_ptr_array_add(c->members, g_strdup(g_ptr_array_index(g->members, i)));
    return c;
}

/* seg_destctl_copy - deep copy */
seg_destctl *seg_destctl_copy(const seg_destctl *dc)
{
    seg_destctl *c = seg_destctl_new();

    for (guint i = 0; i < dc->dests->len; i++)
        g_ptr_array_add(c->dests, dest_copy(g_ptr_array_index(dc->dests, i)));
    for (guint i = 0; i < dc->groups->len; i++)
        g_ptr_array_add(c->groups, group_copy(g_ptr_array_index(dc->groups, i)));
    return c;
}

/* seg_destctl_free - release both tables */
void seg_destctl_free(seg_destctl *dc)
{
    if (dc == NULL)
        return;
    g_ptr_array_unref(dc->dests);
    g_ptr_array_unref(dc->groups);
    g_free(dc);
}

/* strs_equal - two string arrays alike, in order */
static gboolean strs_equal(const GPtrArray *a, const GPtrArray *b)
{
    if (a->len != b->len)
        return FALSE;
    for (guint i = 0; i < a->len; i++)
        if (strcmp(g_ptr_array_index(a, i), g_ptr_array_index(b, i)) != 0)
            return FALSE;
    return TRUE;
}

/* seg_destctl_equal - the same entries and groups */
gboolean seg_destctl_equal(const seg_destctl *a, const seg_destctl *b)
{
    if (a->dests->len != b->dests->len || a->groups->len != b->groups->len)
        return FALSE;
    for (guint i = 0; i < a->dests->len; i++) {
        const seg_dest_entry *x = g_ptr_array_index(a->dests, i);
        const seg_dest_entry *y = g_ptr_array_index(b->dests, i);

        if (strcmp(x->domain, y->domain) != 0 || x->tls != y->tls
            || x->methods != y->methods || strcmp(x->ciphers, y->ciphers) != 0
            || strcmp(x->exclude, y->exclude) != 0)
            return FALSE;
    }
    for (guint i = 0; i < a->groups->len; i++) {
        const seg_sender_group *x = g_ptr_array_index(a->groups, i);
        const seg_sender_group *y = g_ptr_array_index(b->groups, i);

        if (strcmp(x->name, y->name) != 0 || x->tls != y->tls
            || !strs_equal(x->members, y->members))
            return FALSE;
    }
    return TRUE;
}

/* seg_destctl_dests - the entries, by domain */
const GPtrArray *seg_destctl_dests(const seg_destctl *dc)
{
    return dc->dests;
}

/* seg_destctl_groups - the groups, by name */
const GPtrArray *seg_destctl_groups(const seg_destctl *dc)
{
    return dc->groups;
}

/* fail - one-line error "WHAT \"VALUE\": RULE" */
G_GNUC_PRINTF(4, 5)
static gboolean fail(GError **error, const char *what, const char *value,
                     const char *fmt, ...)
{
    g_autofree char *q = seg_quote_value(value ? value : "");
    g_autofree char *rule = NULL;
    va_list ap;

    va_start(ap, fmt);
    rule = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID, "%s %s: %s", what, q, rule);
    return FALSE;
}

/* bad_char - the first character outside allowed, or NUL */
static guchar bad_char(const char *text, const char *allowed)
{
    for (const char *p = text; *p; p++)
        if (strchr(allowed, g_ascii_tolower(*p)) == NULL)
            return (guchar) *p;
    return 0;
}

/* labels_check - LDH labels separated by dots; a rule broken, or NULL */
static const char *labels_check(const char *name)
{
    g_auto(GStrv) labels = g_strsplit(name, ".", -1);

    for (char **l = labels; *l; l++) {
        gsize   n = strlen(*l);

        if (n == 0)
            return "empty label";
        if (n > LABEL_MAX)
            return "label longer than 63 characters";
        if ((*l)[0] == '-' || (*l)[n - 1] == '-')
            return "label starts or ends with '-'";
    }
    return NULL;
}

/* seg_dest_domain_check - "example.com" or ".example.com" */
gboolean seg_dest_domain_check(const char *domain, char **canonical,
                               GError **error)
{
    const char *name = domain && domain[0] == '.' ? domain + 1 : domain;
    const char *rule;
    guchar  c;

    if (domain == NULL || *domain == 0)
        return fail(error, "destination", "", "a domain is needed");
    if ((c = bad_char(domain, "abcdefghijklmnopqrstuvwxyz0123456789-.")) != 0) {
        g_autofree char *qc = seg_quote_char(c);

        return fail(error, "destination", domain,
                    "character '%s' is not allowed in a domain", qc);
    }
    if (strlen(domain) > DOMAIN_MAX)
        return fail(error, "destination", domain, "longer than 253 characters");
    if ((rule = labels_check(name)) != NULL)
        return fail(error, "destination", domain, "%s", rule);
    if (g_ascii_strcasecmp(domain, SEG_DEST_DEFAULT) == 0)
        return fail(error, "destination", domain,
                    "the default entry is outbound.tls, outbound.methods and "
                    "outbound.ciphers (destconfig default)");
    if (canonical != NULL)
        *canonical = g_ascii_strdown(domain, -1);
    return TRUE;
}

/* dest_index - position of domain in the sorted entries; *found */
static guint dest_index(const seg_destctl *dc, const char *domain, gboolean *found)
{
    guint   lo = 0, hi = dc->dests->len;

    while (lo < hi) {
        guint   mid = (lo + hi) / 2;
        int     cmp = strcmp(((seg_dest_entry *) g_ptr_array_index(dc->dests, mid))->domain,
                             domain);

        if (cmp == 0) {
            *found = TRUE;
            return mid;
        }
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = FALSE;
    return lo;
}

/* exclude_check - cipher names joined with ':' */
static gboolean exclude_check(const char *domain, const char *exclude, GError **error)
{
    guchar  c;

    if (*exclude == 0)
        return TRUE;
    if (strlen(exclude) > EXCLUDE_MAX)
        return fail(error, "exclude", exclude, "longer than 1024 characters");
    c = bad_char(exclude, "abcdefghijklmnopqrstuvwxyz0123456789-_+.:");
    if (c != 0) {
        g_autofree char *qc = seg_quote_char(c);

        return fail(error, "exclude", exclude,
                    "character '%s' is not allowed in a cipher name list "
                    "(destination %s)", qc, domain);
    }
    if (exclude[0] == ':' || exclude[strlen(exclude) - 1] == ':' || strstr(exclude, "::"))
        return fail(error, "exclude", exclude, "empty cipher name (destination %s)",
                    domain);
    return TRUE;
}

/* grade_check - "", "high" or "medium" */
static gboolean grade_check(const char *domain, const char *ciphers, GError **error)
{
    for (guint i = 0; i < G_N_ELEMENTS(grades); i++)
        if (strcmp(ciphers, grades[i]) == 0)
            return TRUE;
    return fail(error, "ciphers", ciphers,
                "must be high (outbound.ciphers) or medium (destination %s)",
                domain);
}

/* methods_inside - versions of one entry inside outbound_methods */
static gboolean methods_inside(const char *domain, unsigned methods,
                               unsigned outbound, GError **error)
{
    g_autofree char *v = NULL;
    g_autofree char *o = NULL;

    if (methods == 0 || (methods & ~outbound) == 0)
        return TRUE;
    v = seg_methods_value(methods);
    o = seg_methods_value(outbound);
    g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                "destination %s: versions %s are not inside outbound.methods %s",
                domain, v, o);
    return FALSE;
}

/* seg_destctl_dest_set - add or replace one entry */
gboolean seg_destctl_dest_set(seg_destctl *dc, const char *domain,
                              const char *tls, const char *methods,
                              const char *ciphers, const char *exclude,
                              unsigned outbound_methods, int must,
                              GError **error)
{
    g_autofree char *dom = NULL;
    g_autofree char *t = g_strstrip(g_strdup(tls ? tls : ""));
    g_autofree char *m = g_strstrip(g_strdup(methods ? methods : ""));
    g_autoptr(GError) why = NULL;
    seg_dest_entry *e;
    seg_tls_mode mode;
    unsigned mask = 0;
    gboolean found;
    guint   at;

    if (!seg_dest_domain_check(domain, &dom, error))
        return FALSE;
    if (!seg_tls_mode_parse(t, TRUE, &mode))
        return fail(error, "tls", tls ? tls : "", "must be one of no, preferred, "
                    "required, preferred-verify, required-verify (destination %s)",
                    dom);
    if (*m && !seg_methods_parse_value(m, &mask, &why))
        return fail(error, "versions", m, "%s (destination %s)", why->message, dom);
    if (ciphers == NULL)
        ciphers = "";
    if (exclude == NULL)
        exclude = "";
    if (!grade_check(dom, ciphers, error) || !exclude_check(dom, exclude, error)
        || !methods_inside(dom, mask, outbound_methods, error))
        return FALSE;
    at = dest_index(dc, dom, &found);
    if (must == SEG_DEST_MUST_EXIST && !found)
        return fail(error, "destination", dom, "no such entry");
    if (must == SEG_DEST_MUST_BE_NEW && found)
        return fail(error, "destination", dom, "an entry exists already (use edit)");
    if (!found && dc->dests->len >= SEG_DEST_MAX)
        return fail(error, "destination", dom, "the table holds %d entries at most",
                    SEG_DEST_MAX);
    e = g_new0(seg_dest_entry, 1);
    e->domain = g_steal_pointer(&dom);
    e->tls = mode;
    e->methods = mask;
    e->ciphers = g_ascii_strdown(ciphers, -1);
    e->exclude = g_strdup(exclude);
    if (found) {
        dest_free(dc->dests->pdata[at]);
        dc->dests->pdata[at] = e;
    } else {
        g_ptr_array_insert(dc->dests, (gint) at, e);
    }
    return TRUE;
}

/* seg_destctl_dest_delete - remove one entry */
gboolean seg_destctl_dest_delete(seg_destctl *dc, const char *domain,
                                 GError **error)
{
    g_autofree char *dom = NULL;
    gboolean found;
    guint   at;

    if (!seg_dest_domain_check(domain, &dom, error))
        return FALSE;
    at = dest_index(dc, dom, &found);
    if (!found)
        return fail(error, "destination", dom, "no such entry");
    g_ptr_array_remove_index(dc->dests, at);
    return TRUE;
}

/* seg_destctl_dest_find - the entry of exactly this domain */
const seg_dest_entry *seg_destctl_dest_find(const seg_destctl *dc,
                                            const char *domain)
{
    g_autofree char *low = domain ? g_ascii_strdown(domain, -1) : NULL;
    gboolean found;
    guint   at;

    if (low == NULL)
        return NULL;
    at = dest_index(dc, low, &found);
    return found ? g_ptr_array_index(dc->dests, at) : NULL;
}

/* seg_destctl_dest_match - domain, then .parent for each parent */
const seg_dest_entry *seg_destctl_dest_match(const seg_destctl *dc,
                                             const char *domain)
{
    const seg_dest_entry *e;
    const char *p;

    if (domain == NULL || *domain == 0)
        return NULL;
    if ((e = seg_destctl_dest_find(dc, domain)) != NULL)
        return e;
    for (p = strchr(domain + 1, '.'); p != NULL; p = strchr(p + 1, '.'))
        if ((e = seg_destctl_dest_find(dc, p)) != NULL)
            return e;
    return NULL;
}

/* seg_destctl_check_methods - every entry inside outbound_methods */
gboolean seg_destctl_check_methods(const seg_destctl *dc,
                                   unsigned outbound_methods, GError **error)
{
    for (guint i = 0; i < dc->dests->len; i++) {
        const seg_dest_entry *e = g_ptr_array_index(dc->dests, i);

        if (!methods_inside(e->domain, e->methods, outbound_methods, error))
            return FALSE;
    }
    return TRUE;
}

/* seg_destctl_check - every value through its grammar again */
gboolean seg_destctl_check(const seg_destctl *dc, unsigned outbound_methods,
                           GError **error)
{
    g_autoptr(seg_destctl) again = seg_destctl_new();

    for (guint i = 0; i < dc->dests->len; i++) {
        const seg_dest_entry *e = g_ptr_array_index(dc->dests, i);
        g_autofree char *v = e->methods ? seg_methods_value(e->methods) : g_strdup("");

        if ((unsigned) e->tls > SEG_TLSMODE_REQUIRED_VERIFY)
            return fail(error, "destination", e->domain, "no such TLS mode");
        if (!seg_destctl_dest_set(again, e->domain, seg_tls_mode_name(e->tls), v,
                                  e->ciphers, e->exclude, outbound_methods,
                                  SEG_DEST_MUST_BE_NEW, error))
            return FALSE;
    }
    for (guint i = 0; i < dc->groups->len; i++) {
        const seg_sender_group *g = g_ptr_array_index(dc->groups, i);
        g_autoptr(GPtrArray) m = g_ptr_array_new();     /* borrowed strings */

        if ((unsigned) g->tls > SEG_TLSMODE_REQUIRED)
            return fail(error, "sender group", g->name, "no such TLS mode");
        for (guint k = 0; k < g->members->len; k++)
            g_ptr_array_add(m, g_ptr_array_index(g->members, k));
        g_ptr_array_add(m, NULL);
        if (!seg_destctl_group_set(again, g->name, seg_tls_mode_name(g->tls),
                                   (const char *const *) m->pdata,
                                   SEG_DEST_MUST_BE_NEW, error))
            return FALSE;
    }
    return TRUE;
}

/* seg_destctl_dest_lookup - the entry of a logged domain, or "default" */
const char *seg_destctl_dest_lookup(void *settings, const char *domain, size_t len,
                                    const char **mode)
{
    const seg_settings *s = settings;
    const seg_dest_entry *e = NULL;
    char    low[DOMAIN_MAX + 1];

    if (len > 0 && len <= DOMAIN_MAX) {
        for (size_t i = 0; i < len; i++)
            low[i] = g_ascii_tolower(domain[i]);
        low[len] = 0;
        if (strlen(low) == len)
            e = seg_destctl_dest_match(s->destctl, low);
    }
    *mode = seg_tls_mode_name(e ? (seg_tls_mode) e->tls : s->svc[SEG_SVC_OUTBOUND].tls);
    return e ? e->domain : SEG_DEST_DEFAULT;
}

/* seg_dest_entry_text - the entry in one line */
char *seg_dest_entry_text(const seg_dest_entry *e)
{
    GString *out = g_string_new(NULL);

    g_string_append_printf(out, "%s %s", e->domain, seg_tls_mode_name(e->tls));
    if (e->methods) {
        g_autofree char *v = seg_methods_value(e->methods);

        g_string_append_printf(out, " versions %s", v);
    }
    if (*e->ciphers)
        g_string_append_printf(out, " ciphers %s", e->ciphers);
    if (*e->exclude)
        g_string_append_printf(out, " exclude %s", e->exclude);
    return g_string_free(out, FALSE);
}

/* group_text - "required 10.0.0.0/8,mx.test" */
static char *group_text(const seg_sender_group *g)
{
    GString *out = g_string_new(seg_tls_mode_name(g->tls));

    for (guint k = 0; k < g->members->len; k++)
        g_string_append_printf(out, "%s%s", k ? "," : " ",
                               (char *) g_ptr_array_index(g->members, k));
    return g_string_free(out, FALSE);
}

/* seg_destctl_differences - what differs, one line per entry or group */
GPtrArray *seg_destctl_differences(const seg_destctl *a, const seg_destctl *b)
{
    GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GHashTable) names = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GList) keys = NULL;

    for (guint i = 0; i < a->dests->len; i++)
        g_hash_table_add(names, ((seg_dest_entry *) g_ptr_array_index(a->dests, i))->domain);
    for (guint i = 0; i < b->dests->len; i++)
        g_hash_table_add(names, ((seg_dest_entry *) g_ptr_array_index(b->dests, i))->domain);
    keys = g_list_sort(g_hash_table_get_keys(names), (GCompareFunc) strcmp);
    for (GList *l = keys; l; l = l->next) {
        const seg_dest_entry *x = seg_destctl_dest_find(a, l->data);
        const seg_dest_entry *y = seg_destctl_dest_find(b, l->data);
        g_autofree char *tx = x ? seg_dest_entry_text(x) : NULL;
        g_autofree char *ty = y ? seg_dest_entry_text(y) : NULL;
        size_t  skip = strlen(l->data) + 1;

        if (g_strcmp0(tx, ty) != 0)
            g_ptr_array_add(lines, g_strdup_printf("destination %s = %s (committed: %s)",
                                                   (char *) l->data, tx ? tx + skip : "none",
                                                   ty ? ty + skip : "none"));
    }
    g_hash_table_remove_all(names);
    g_clear_pointer(&keys, g_list_free);
    for (guint i = 0; i < a->groups->len; i++)
        g_hash_table_add(names, ((seg_sender_group *) g_ptr_array_index(a->groups, i))->name);
    for (guint i = 0; i < b->groups->len; i++)
        g_hash_table_add(names, ((seg_sender_group *) g_ptr_array_index(b->groups, i))->name);
    keys = g_list_sort(g_hash_table_get_keys(names), (GCompareFunc) strcmp);
    for (GList *l = keys; l; l = l->next) {
        const seg_sender_group *x = seg_destctl_group_find(a, l->data);
        const seg_sender_group *y = seg_destctl_group_find(b, l->data);
        g_autofree char *tx = x ? group_text(x) : NULL;
        g_autofree char *ty = y ? group_text(y) : NULL;

        if (g_strcmp0(tx, ty) != 0)
            g_ptr_array_add(lines, g_strdup_printf("sender group %s = %s (committed: %s)",
                                                   (char *) l->data, tx ? tx : "none",
                                                   ty ? ty : "none"));
    }
    return lines;
}

/* parse_network - "ADDR" or "ADDR/LEN" into a mask; NULL and a rule */
static GInetAddressMask *parse_network(const char *text, const char **rule)
{
    g_autofree char *addr = g_strdup(text);
    g_autoptr(GInetAddress) a = NULL;
    char   *slash = strchr(addr, '/');
    guint64 len;
    char   *end;
    guint   max;
    GInetAddressMask *m;

    if (slash != NULL)
        *slash++ = 0;
    if ((a = g_inet_address_new_from_string(addr)) == NULL) {
        *rule = "not an IPv4 or IPv6 address";
        return NULL;
    }
    max = g_inet_address_get_family(a) == G_SOCKET_FAMILY_IPV4 ? 32 : 128;
    if (slash == NULL) {
        len = max;
    } else {
        if (*slash == 0 || !g_ascii_isdigit(*slash) || strlen(slash) > 3
            || (len = g_ascii_strtoull(slash, &end, 10), *end != 0)) {
            *rule = "the prefix length must be a number";
            return NULL;
        }
        if (len > max) {
            *rule = max == 32 ? "prefix length out of range (0-32)"
                : "prefix length out of range (0-128)";
            return NULL;
        }
    }
    if ((m = g_inet_address_mask_new(a, (guint) len, NULL)) == NULL)
        *rule = "host bits set beyond the prefix length";
    return m;
}

/* looks_like_address - digits, dots, colons and a slash: meant as an address */
static gboolean looks_like_address(const char *text)
{
    return strchr(text, ':') != NULL || strchr(text, '/') != NULL
        || text[strspn(text, "0123456789.")] == 0;
}

/* seg_sgroup_member_check - address, network, host name or .domain */
gboolean seg_sgroup_member_check(const char *member, char **canonical,
                                 GError **error)
{
    const char *rule = NULL;
    const char *name;
    guchar  c;

    if (member == NULL || *member == 0)
        return fail(error, "member", "", "empty");
    if (looks_like_address(member)) {
        g_autoptr(GInetAddressMask) m = parse_network(member, &rule);

        if (m == NULL)
            return fail(error, "member", member, "%s", rule);
        if (canonical != NULL) {
            g_autofree char *a = g_inet_address_to_string(
                                     g_inet_address_mask_get_address(m));

            *canonical = g_strdup_printf("%s/%u", a, g_inet_address_mask_get_length(m));
        }
        return TRUE;
    }
    if ((c = bad_char(member, "abcdefghijklmnopqrstuvwxyz0123456789-.")) != 0) {
        g_autofree char *qc = seg_quote_char(c);

        return fail(error, "member", member, "character '%s' is not allowed in a "
                    "host name", qc);
    }
    name = member[0] == '.' ? member + 1 : member;
    if (strlen(member) > DOMAIN_MAX)
        return fail(error, "member", member, "longer than 253 characters");
    if ((rule = labels_check(name)) != NULL)
        return fail(error, "member", member, "%s", rule);
    if (canonical != NULL)
        *canonical = g_ascii_strdown(member, -1);
    return TRUE;
}

/* group_name_check - [A-Za-z0-9_-]{1,64} */
static gboolean group_name_check(const char *name, GError **error)
{
    guchar  c;

    if (name == NULL || *name == 0)
        return fail(error, "sender group", "", "a name is needed");
    if (strlen(name) > GROUP_NAME_MAX)
        return fail(error, "sender group", name, "longer than 64 characters");
    c = bad_char(name, "abcdefghijklmnopqrstuvwxyz0123456789_-");
    if (c != 0) {
        g_autofree char *qc = seg_quote_char(c);

        return fail(error, "sender group", name, "character '%s' is not allowed "
                    "in a name (letters, digits, '_' and '-')", qc);
    }
    return TRUE;
}

/* group_index - position of name among the sorted groups; *found */
static guint group_index(const seg_destctl *dc, const char *name, gboolean *found)
{
    for (guint i = 0; i < dc->groups->len; i++) {
        int     cmp = strcmp(((seg_sender_group *) g_ptr_array_index(dc->groups, i))->name,
                             name);

        if (cmp >= 0) {
            *found = cmp == 0;
            return i;
        }
    }
    *found = FALSE;
    return dc->groups->len;
}

/* member_owner - the group other than skip that holds member, or NULL */
static const seg_sender_group *member_owner(const seg_destctl *dc, const char *member,
                                            const char *skip)
{
    for (guint i = 0; i < dc->groups->len; i++) {
        const seg_sender_group *g = g_ptr_array_index(dc->groups, i);

        if (strcmp(g->name, skip) == 0)
            continue;
        for (guint k = 0; k < g->members->len; k++)
            if (strcmp(g_ptr_array_index(g->members, k), member) == 0)
                return g;
    }
    return NULL;
}

/* by_string - g_ptr_array_sort of strings */
static gint by_string(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* seg_destctl_group_set - add or replace one group */
gboolean seg_destctl_group_set(seg_destctl *dc, const char *name,
                               const char *tls, const char *const *members,
                               int must, GError **error)
{
    g_autofree char *t = g_strstrip(g_strdup(tls ? tls : ""));
    g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func(g_free);
    seg_sender_group *g;
    seg_tls_mode mode;
    gboolean found;
    guint   at;

    if (!group_name_check(name, error))
        return FALSE;
    if (!seg_tls_mode_parse(t, FALSE, &mode))
        return fail(error, "tls", tls ? tls : "", "must be one of no, preferred, "
                    "required (sender group %s)", name);
    for (const char *const *m = members; m && *m; m++) {
        g_autofree char *trimmed = g_strstrip(g_strdup(*m));
        char   *canon = NULL;
        const seg_sender_group *other;

        if (*trimmed == 0)
            continue;
        if (!seg_sgroup_member_check(trimmed, &canon, error))
            return FALSE;
        g_ptr_array_add(list, canon);
        if (mode == SEG_TLSMODE_NO && strchr(canon, '/') == NULL)
            return fail(error, "member", canon, "sender group %s has TLS no: Postfix "
                        "withholds STARTTLS by client address only, so it may hold "
                        "addresses and networks, not host names", name);
        if ((other = member_owner(dc, canon, name)) != NULL)
            return fail(error, "member", canon, "already in sender group %s", other->name);
        if (list->len > SEG_SGROUP_MAX_MEMBERS)
            return fail(error, "sender group", name, "more than %d members",
                        SEG_SGROUP_MAX_MEMBERS);
    }
    if (list->len == 0)
        return fail(error, "sender group", name, "needs at least one member");
    g_ptr_array_sort(list, by_string);
    for (guint i = 1; i < list->len; i++)
        if (strcmp(g_ptr_array_index(list, i), g_ptr_array_index(list, i - 1)) == 0)
            return fail(error, "member", g_ptr_array_index(list, i), "given twice "
                        "(sender group %s)", name);
    at = group_index(dc, name, &found);
    if (must == SEG_DEST_MUST_EXIST && !found)
        return fail(error, "sender group", name, "no such group");
    if (must == SEG_DEST_MUST_BE_NEW && found)
        return fail(error, "sender group", name, "a group exists already (use edit)");
    if (!found && dc->groups->len >= SEG_DEST_MAX)
        return fail(error, "sender group", name, "at most %d groups", SEG_DEST_MAX);
    g = g_new0(seg_sender_group, 1);
    g->name = g_strdup(name);
    g->tls = mode;
    g->members = g_steal_pointer(&list);
    if (found) {
        group_free(dc->groups->pdata[at]);
        dc->groups->pdata[at] = g;
    } else {
        g_ptr_array_insert(dc->groups, (gint) at, g);
    }
    return TRUE;
}

/* seg_destctl_group_delete - remove one group */
gboolean seg_destctl_group_delete(seg_destctl *dc, const char *name,
                                  GError **error)
{
    gboolean found;
    guint   at;

    if (!group_name_check(name, error))
        return FALSE;
    at = group_index(dc, name, &found);
    if (!found)
        return fail(error, "sender group", name, "no such group");
    g_ptr_array_remove_index(dc->groups, at);
    return TRUE;
}

/* seg_destctl_group_find - the group of this name */
const seg_sender_group *seg_destctl_group_find(const seg_destctl *dc,
                                               const char *name)
{
    gboolean found;
    guint   at = name ? group_index(dc, name, &found) : 0;

    return name && found ? g_ptr_array_index(dc->groups, at) : NULL;
}

/* name_matches - "host" equals name; ".domain" any name under it */
static int name_matches(const char *member, const char *name)
{
    gsize   m = strlen(member), n = strlen(name);

    if (member[0] != '.')
        return g_ascii_strcasecmp(member, name) == 0 ? 2 : 0;
    return n > m && g_ascii_strcasecmp(name + n - m, member) == 0 ? 1 : 0;
}

/* seg_destctl_group_match - the group of a client */
const seg_sender_group *seg_destctl_group_match(const seg_destctl *dc,
                                                const char *address,
                                                const char *name)
{
    g_autoptr(GInetAddress) a = address ? g_inet_address_new_from_string(address) : NULL;
    const seg_sender_group *best = NULL;
    const seg_sender_group *by_name = NULL;
    int     best_len = -1, name_rank = 0;

    for (guint i = 0; i < dc->groups->len; i++) {
        const seg_sender_group *g = g_ptr_array_index(dc->groups, i);

        for (guint k = 0; k < g->members->len; k++) {
            const char *mem = g_ptr_array_index(g->members, k);

            if (strchr(mem, '/') != NULL) {
                const char *rule;
                g_autoptr(GInetAddressMask) m = a ? parse_network(mem, &rule) : NULL;

                if (m != NULL && g_inet_address_mask_matches(m, a)
                    && (int) g_inet_address_mask_get_length(m) > best_len) {
                    best_len = (int) g_inet_address_mask_get_length(m);
                    best = g;
                }
            } else if (name != NULL && *name && strcmp(name, "unknown") != 0) {
                int     r = name_matches(mem, name);

                if (r > name_rank) {
                    name_rank = r;
                    by_name = g;
                }
            }
        }
    }
    return best ? best : by_name;
}

/* seg_destctl_groups_format - the table segtls-policy reads */
char *seg_destctl_groups_format(const seg_destctl *dc, int default_tls)
{
    GString *out = g_string_new("# segtls sender groups, written by segtls-apply "
                                "for segtls-policy: NAME<TAB>TLS<TAB>MEMBERS\n");

    g_string_append_printf(out, "*\t%s\t*\n", seg_tls_mode_name(default_tls));

    for (guint i = 0; i < dc->groups->len; i++) {
        const seg_sender_group *g = g_ptr_array_index(dc->groups, i);

        g_string_append_printf(out, "%s\t%s\t", g->name, seg_tls_mode_name(g->tls));
        for (guint k = 0; k < g->members->len; k++)
            g_string_append_printf(out, "%s%s", k ? "," : "",
                                   (char *) g_ptr_array_index(g->members, k));
        g_string_append_c(out, '\n');
    }
    g_string_append(out, "# end\n");
    return g_string_free(out, FALSE);
}

/* seg_destctl_groups_parse - the table back, every value checked */
seg_destctl *seg_destctl_groups_parse(const char *text, gsize len,
                                      int *default_tls, GError **error)
{
    seg_tls_mode dflt = SEG_TLSMODE_PREFERRED;
    g_autoptr(seg_destctl) dc = seg_destctl_new();
    g_autofree char *copy = NULL;
    g_auto(GStrv) lines = NULL;
    gboolean ended = FALSE;

    if (memchr(text, 0, len) != NULL) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID, "NUL byte in the table");
        return NULL;
    }
    copy = g_strndup(text, len);
    lines = g_strsplit(copy, "\n", -1);
    for (guint n = 0; lines[n]; n++) {
        g_auto(GStrv) f = NULL;
        g_auto(GStrv) members = NULL;
        g_autoptr(GError) err = NULL;

        if (strcmp(lines[n], "# end") == 0)
            ended = TRUE;
        if (lines[n][0] == '#' || lines[n][0] == 0)
            continue;
        f = g_strsplit(lines[n], "\t", 4);
        if (g_strv_length(f) != 3) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                        "%u: not NAME<TAB>TLS<TAB>MEMBERS", n + 1);
            return NULL;
        }
        if (strcmp(f[0], "*") == 0) {
            if (strcmp(f[2], "*") != 0 || !seg_tls_mode_parse(f[1], FALSE, &dflt)) {
                g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                            "%u: not *<TAB>no|preferred|required<TAB>*", n + 1);
                return NULL;
            }
            continue;
        }
        members = g_strsplit(f[2], ",", -1);
        if (!seg_destctl_group_set(dc, f[0], f[1], (const char *const *) members,
                                   SEG_DEST_MUST_BE_NEW, &err)) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID, "%u: %s", n + 1,
                        err->message);
            return NULL;
        }
    }
    if (!ended) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                    "the table ends before its \"# end\" line");
        return NULL;
    }
    if (default_tls != NULL)
        *default_tls = dflt;
    return g_steal_pointer(&dc);
}

/* seg_destctl_dests_to_json - the entries as JSON objects */
JsonArray *seg_destctl_dests_to_json(const seg_destctl *dc)
{
    JsonArray *arr = json_array_new();

    for (guint i = 0; i < dc->dests->len; i++) {
        const seg_dest_entry *e = g_ptr_array_index(dc->dests, i);
        JsonObject *o = json_object_new();
        g_autofree char *v = e->methods ? seg_methods_value(e->methods) : g_strdup("");

        json_object_set_string_member(o, "domain", e->domain);
        json_object_set_string_member(o, "tls", seg_tls_mode_name(e->tls));
        json_object_set_string_member(o, "methods", v);
        json_object_set_string_member(o, "ciphers", e->ciphers);
        json_object_set_string_member(o, "exclude", e->exclude);
        json_array_add_object_element(arr, o);
    }
    return arr;
}

/* seg_destctl_groups_to_json - the groups as JSON objects */
JsonArray *seg_destctl_groups_to_json(const seg_destctl *dc)
{
    JsonArray *arr = json_array_new();

    for (guint i = 0; i < dc->groups->len; i++) {
        const seg_sender_group *g = g_ptr_array_index(dc->groups, i);
        JsonObject *o = json_object_new();
        JsonArray *m = json_array_new();

        for (guint k = 0; k < g->members->len; k++)
            json_array_add_string_element(m, g_ptr_array_index(g->members, k));
        json_object_set_string_member(o, "name", g->name);
        json_object_set_string_member(o, "tls", seg_tls_mode_name(g->tls));
        json_object_set_array_member(o, "members", m);
        json_array_add_object_element(arr, o);
    }
    return arr;
}

/* str_member - a string member of o, "" when absent; FALSE when not a string */
static gboolean str_member(JsonObject *o, const char *name, const char **value,
                           GError **error)
{
    JsonNode *n = json_object_get_member(o, name);

    *value = "";
    if (n == NULL)
        return TRUE;
    if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL,
                    "member \"%s\" must be a string", name);
        return FALSE;
    }
    *value = json_node_get_string(n);
    return TRUE;
}

/* seg_destctl_dests_from_json - entries from JSON objects */
gboolean seg_destctl_dests_from_json(seg_destctl *dc, JsonArray *arr,
                                     unsigned outbound_methods, GError **error)
{
    for (guint i = 0; i < json_array_get_length(arr); i++) {
        JsonNode *n = json_array_get_element(arr, i);
        const char *domain, *tls, *methods, *ciphers, *exclude;
        JsonObject *o;

        if (!JSON_NODE_HOLDS_OBJECT(n)) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL,
                        "a destination must be an object");
            return FALSE;
        }
        o = json_node_get_object(n);
        if (!str_member(o, "domain", &domain, error) || !str_member(o, "tls", &tls, error)
            || !str_member(o, "methods", &methods, error)
            || !str_member(o, "ciphers", &ciphers, error)
            || !str_member(o, "exclude", &exclude, error)
            || !seg_destctl_dest_set(dc, domain, tls, methods, ciphers, exclude,
                                     outbound_methods, SEG_DEST_MUST_BE_NEW, error))
            return FALSE;
    }
    return TRUE;
}

/* seg_destctl_groups_from_json - groups from JSON objects */
gboolean seg_destctl_groups_from_json(seg_destctl *dc, JsonArray *arr,
                                      GError **error)
{
    for (guint i = 0; i < json_array_get_length(arr); i++) {
        JsonNode *n = json_array_get_element(arr, i);
        g_autoptr(GPtrArray) members = g_ptr_array_new();
        const char *name, *tls;
        JsonNode *mn;
        JsonObject *o;

        if (!JSON_NODE_HOLDS_OBJECT(n)) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL,
                        "a sender group must be an object");
            return FALSE;
        }
        o = json_node_get_object(n);
        if (!str_member(o, "name", &name, error) || !str_member(o, "tls", &tls, error))
            return FALSE;
        mn = json_object_get_member(o, "members");
        if (mn == NULL || !JSON_NODE_HOLDS_ARRAY(mn)) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL,
                        "member \"members\" must be an array of strings");
            return FALSE;
        }
        for (guint k = 0; k < json_array_get_length(json_node_get_array(mn)); k++) {
            JsonNode *s = json_array_get_element(json_node_get_array(mn), k);

            if (!JSON_NODE_HOLDS_VALUE(s) || json_node_get_value_type(s) != G_TYPE_STRING) {
                g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL,
                            "member \"members\" must be an array of strings");
                return FALSE;
            }
            g_ptr_array_add(members, (gpointer) json_node_get_string(s));
        }
        g_ptr_array_add(members, NULL);
        if (!seg_destctl_group_set(dc, name, tls, (const char *const *) members->pdata,
                                   SEG_DEST_MUST_BE_NEW, error))
            return FALSE;
    }
    return TRUE;
}

/* Protocol states at which a plaintext session is refused. */
static const char *const refused_states[] = {"MAIL", "RCPT", "DATA", "END-OF-MESSAGE",
                                             "BDAT", NULL};

/* seg_destctl_policy_action - the answer to one policy request */
const char *seg_destctl_policy_action(const seg_destctl *dc, int default_tls,
                                      const struct seg_polreq *req,
                                      const seg_sender_group **group)
{
    const char *request = seg_polreq_get(req, "request");
    const char *state = seg_polreq_get(req, "protocol_state");
    const char *proto = seg_polreq_get(req, "encryption_protocol");
    const seg_sender_group *g;
    int     tls;

    g = seg_destctl_group_match(dc, seg_polreq_get(req, "client_address"),
                                seg_polreq_get(req, "client_name"));
    if (group != NULL)
        *group = g;
    tls = g ? g->tls : default_tls;
    if (g_strcmp0(request, "smtpd_access_policy") != 0 || state == NULL
        || !g_strv_contains(refused_states, state) || (proto != NULL && *proto))
        return "DUNNO";
    return tls == SEG_TLSMODE_REQUIRED ? SEG_POLICY_REFUSE : "DUNNO";
}
