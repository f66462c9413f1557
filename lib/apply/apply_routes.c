/*
 * apply_routes - where Postfix sends a domain's mail, as this host's
 * Postfix would decide it: the transport maps (the domain, then
 * ".parent" for each parent, then "*"), else relayhost, else the
 * domain's own MX. Postfix chooses the TLS policy of a delivery by that
 * next hop (smtp_tls_policy_maps is indexed by it), so the renderer
 * writes each destination entry under it too, and segtls tlsverify
 * connects where Postfix would.
 *
 * Every map is asked with `postmap -c DIR -q KEY MAP` (argv, no shell),
 * which reads any table type Postfix can.
 */
#include <string.h>

#include "apply_int.h"
#include "destctl.h"
#include "error.h"

/* Transports that deliver over SMTP or LMTP. */
static const char *const smtp_transports[] = {"smtp", "relay", "lmtp", NULL};

/*
 * split_maps - a Postfix table list ("hash:/x, inline:{ a=b, c=d }") into
 * its tables: separators are blanks and commas outside { }
 */
static GPtrArray *split_maps(const char *list)
{
    GPtrArray *maps = g_ptr_array_new_with_free_func(g_free);
    GString *cur = g_string_new(NULL);
    int     depth = 0;

    for (const char *p = list; ; p++) {
        if (*p == 0 || (depth == 0 && strchr(" \t\n,", *p) != NULL)) {
            if (cur->len)
                g_ptr_array_add(maps, g_strdup(cur->str));
            g_string_truncate(cur, 0);
            if (*p == 0)
                break;
            continue;
        }
        if (*p == '{')
            depth++;
        else if (*p == '}' && depth > 0)
            depth--;
        g_string_append_c(cur, *p);
    }
    g_string_free(cur, TRUE);
    return maps;
}

/* map_query - postmap -q KEY MAP: the value, or NULL when not found */
static char *map_query(const char *dir, const char *map, const char *key,
                       double timeout, GError **error)
{
    const char *argv[] = {"postmap", "-c", dir, "-q", key, map, NULL};
    g_autofree char *out = NULL;
    int     status;

    if (!seg_apply_run(argv, timeout, FALSE, &out, &status, error))
        return NULL;
    if (status != 0)
        return NULL;
    return g_strdup(g_strstrip(out));
}

/* transport_lookup - the transport map value for domain, or NULL */
static char *transport_lookup(const char *dir, GPtrArray *maps, const char *domain,
                              double timeout, char **which, GError **error)
{
    g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func(g_free);

    g_ptr_array_add(keys, g_strdup(domain));
    for (const char *p = strchr(domain, '.'); p != NULL; p = strchr(p + 1, '.'))
        g_ptr_array_add(keys, g_strdup(p));
    g_ptr_array_add(keys, g_strdup("*"));
    for (guint k = 0; k < keys->len; k++) {
        for (guint m = 0; m < maps->len; m++) {
            char   *v = map_query(dir, g_ptr_array_index(maps, m),
                                  g_ptr_array_index(keys, k), timeout, error);

            if (v != NULL) {
                *which = g_strdup_printf("transport map %s, key %s",
                                         (char *) g_ptr_array_index(maps, m),
                                         (char *) g_ptr_array_index(keys, k));
                return v;
            }
        }
    }
    return NULL;
}

/* nexthop_with - the next hop of domain through these maps and relayhost */
static gboolean nexthop_with(const char *pf_dir, GPtrArray *maps, const char *relayhost,
                             const char *domain, double timeout, char **nexthop,
                             char **how, GError **error)
{
    g_autofree char *which = NULL;
    g_autofree char *value = NULL;
    GError *err = NULL;

    *nexthop = NULL;
    *how = NULL;
    value = transport_lookup(pf_dir, maps, domain, timeout, &which, &err);
    if (err != NULL) {
        g_propagate_error(error, err);
        return FALSE;
    }
    if (value != NULL) {
        char   *colon = strchr(value, ':');
        g_autofree char *transport = g_strndup(value, colon ? (gsize) (colon - value)
                                               : strlen(value));
        const char *hop = colon ? colon + 1 : "";

        if (*transport && !g_strv_contains(smtp_transports, transport)) {
            *how = g_strdup_printf("%s: %s (no SMTP delivery)", which, value);
            return TRUE;
        }
        if (*hop) {
            *nexthop = g_strdup(hop);
            *how = g_strdup_printf("%s: %s", which, value);
            return TRUE;
        }
    }
    if (relayhost != NULL && *relayhost) {
        *nexthop = g_strdup(relayhost);
        *how = g_strdup_printf("relayhost %s", relayhost);
        return TRUE;
    }
    *nexthop = g_strdup(domain);
    *how = g_strdup_printf("MX of %s", domain);
    return TRUE;
}

/* main_values - transport_maps (split), relayhost, smtpd_sender_restrictions */
static GHashTable *main_values(const char *pf_dir, double timeout, GPtrArray **maps,
                               GError **error)
{
    static const char *const args[] = {"transport_maps", "relayhost",
                                       "smtpd_sender_restrictions", NULL};
    GHashTable *v = apply_postconf_query(pf_dir, args, timeout, error);
    const char *tm;

    if (v == NULL)
        return NULL;
    tm = g_hash_table_lookup(v, "transport_maps");
    *maps = split_maps(tm ? tm : "");
    return v;
}

/* seg_apply_nexthop - where this host's Postfix sends mail for domain */
gboolean seg_apply_nexthop(const char *pf_dir, const char *domain, double timeout,
                           char **nexthop, char **how, GError **error)
{
    g_autoptr(GPtrArray) maps = NULL;
    g_autoptr(GHashTable) v = main_values(pf_dir, timeout, &maps, error);

    *nexthop = NULL;
    *how = NULL;
    return v != NULL && nexthop_with(pf_dir, maps, g_hash_table_lookup(v, "relayhost"),
                                     domain, timeout, nexthop, how, error);
}

/*
 * apply_routes - "DOMAIN<TAB>NEXTHOP" for each destination entry whose
 * mail goes to a next hop other than its domain, the main.cf relayhost
 * and smtpd_sender_restrictions, into the target
 */
gboolean apply_routes(apply_ctx *c, GError **error)
{
    const GPtrArray *dests = seg_destctl_dests(c->s->destctl);
    g_autoptr(GPtrArray) maps = NULL;
    g_autoptr(GHashTable) v = main_values(c->pf_dir, c->timeout, &maps, error);
    GPtrArray *routes;

    if (v == NULL)
        return FALSE;
    c->relayhost = g_strdup(g_hash_table_lookup(v, "relayhost"));
    c->sender_restrictions = g_strdup(g_hash_table_lookup(v, "smtpd_sender_restrictions"));
    routes = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < dests->len; i++) {
        const seg_dest_entry *e = g_ptr_array_index(dests, i);
        g_autofree char *hop = NULL;
        g_autofree char *how = NULL;

        if (e->domain[0] == '.')
            continue;           /* subdomains: looked up by their own names */
        if (!nexthop_with(c->pf_dir, maps, c->relayhost, e->domain, c->timeout, &hop,
                          &how, error)) {
            g_ptr_array_unref(routes);
            return FALSE;
        }
        if (hop != NULL && g_ascii_strcasecmp(hop, e->domain) != 0)
            g_ptr_array_add(routes, g_strdup_printf("%s\t%s", e->domain, hop));
    }
    g_ptr_array_add(routes, NULL);
    c->routes = (char **) g_ptr_array_free(routes, FALSE);
    return TRUE;
}
