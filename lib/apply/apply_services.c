/*
 * apply_services - the master.cf services and the segtls service that
 * governs each (issue 22: all of a service's TLS settings, or none).
 *
 * postconf -M lists the services with their command, postconf -P their
 * -o overrides, postconf -hx the main.cf values they fall back to. By
 * default Inbound SMTP governs every inet service that runs smtpd and
 * Outbound SMTP every unix service that runs smtp or lmtp; the options
 * may name the services instead and exclude some. A named or excluded
 * service must exist, and a named one must run the program of its kind:
 * a typo would otherwise leave a service ungoverned without a word.
 *
 * Each inet smtpd service is probed where it listens: the address of
 * its name, else the first of inet_interfaces (127.0.0.1 for "all" and
 * "loopback-only"), on its port; the options may say otherwise
 * ("NAME/TYPE=HOST:PORT"). With smtpd_tls_wrappermode=yes it speaks TLS
 * at once, otherwise STARTTLS.
 */
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "apply_int.h"
#include "error.h"
#include "probe.h"

#define DEFAULT_PROBE_HOST "127.0.0.1"

/* What each program's services are: the governing service and the
   prefix of its TLS parameters. */
static const struct program {
    const char *command;
    const char *type;           /* master.cf type it is governed with */
    int         governed;
    const char *prefix;
} programs[] = {
    {"smtpd", "inet", SEG_SVC_INBOUND, "smtpd"},
    {"smtp", "unix", SEG_SVC_OUTBOUND, "smtp"},
    {"lmtp", "unix", SEG_SVC_OUTBOUND, "lmtp"},
};

/* program_of - the table row of a command, or NULL */
static const struct program *program_of(const char *command)
{
    for (guint i = 0; i < G_N_ELEMENTS(programs); i++)
        if (strcmp(programs[i].command, command) == 0)
            return &programs[i];
    return NULL;
}

/* seg_pf_service_free - release one service */
void seg_pf_service_free(seg_pf_service *sv)
{
    if (sv == NULL)
        return;
    g_free(sv->name);
    g_free(sv->command);
    g_free(sv->level);
    g_free(sv->target);
    g_free(sv);
}

/* seg_apply_listen_target - HOST:PORT of an inet service name */
char *seg_apply_listen_target(const char *service, const char *default_host)
{
    g_autofree char *name = g_strdup(service);
    const char *host = default_host;
    char   *slash = strrchr(name, '/');
    char   *port = name;
    char   *colon;
    struct servent *se;

    if (slash != NULL)
        *slash = 0;
    if ((colon = strrchr(name, ':')) != NULL) {
        *colon = 0;
        port = colon + 1;
        host = name;
        if (*host == '[' && host[strlen(host) - 1] == ']') {
            host++;
            name[strlen(name) - 1] = 0;
        }
        if (*host == 0 || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0
            || strcmp(host, "*") == 0)
            host = default_host;
    }
    if (*port == 0)
        return NULL;
    if (port[strspn(port, "0123456789")] != 0) {
        if ((se = getservbyname(port, "tcp")) == NULL)
            return NULL;
        return g_strdup_printf(strchr(host, ':') ? "[%s]:%d" : "%s:%d", host,
                               ntohs(se->s_port));
    }
    return g_strdup_printf(strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
}

/* default_host - where services without an address are probed */
static char *default_host(const char *inet_interfaces)
{
    g_auto(GStrv) words = g_strsplit_set(inet_interfaces, ", \t", -1);

    for (char **w = words; *w; w++) {
        char   *h = *w;

        if (*h == 0)
            continue;
        if (strcmp(h, "all") == 0 || strcmp(h, "loopback-only") == 0
            || strcmp(h, "localhost") == 0)
            return g_strdup(DEFAULT_PROBE_HOST);
        if (*h == '[' && h[strlen(h) - 1] == ']') {
            h[strlen(h) - 1] = 0;
            h++;
        }
        return g_strdup(h);
    }
    return g_strdup(DEFAULT_PROBE_HOST);
}

/* find_service - a service of the list by "name/type" */
static seg_pf_service *find_service(GPtrArray *all, const char *name)
{
    for (guint i = 0; i < all->len; i++) {
        seg_pf_service *sv = g_ptr_array_index(all, i);

        if (strcmp(sv->name, name) == 0)
            return sv;
    }
    return NULL;
}

/* check_named - every named service exists, and runs a program of kind */
static gboolean check_named(GPtrArray *all, const char *const *list, int kind,
                            const char *what, const char *dir, GError **error)
{
    for (; list && *list; list++) {
        seg_pf_service *sv = find_service(all, *list);
        const struct program *p;

        if (sv == NULL) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_APPLY,
                        "%s: %s/master.cf has no service %s", what, dir, *list);
            return FALSE;
        }
        p = program_of(sv->command);
        if (kind >= 0 && (p == NULL || p->governed != kind)) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_APPLY,
                        "%s: master.cf service %s runs %s, not %s", what,
                        *list, sv->command,
                        kind == SEG_SVC_INBOUND ? "smtpd" : "smtp or lmtp");
            return FALSE;
        }
    }
    return TRUE;
}

/* govern - which segtls service governs each service */
static gboolean govern(const seg_apply_opts *o, GPtrArray *all, const char *dir,
                       GError **error)
{
    if (!check_named(all, o->smtpd_services, SEG_SVC_INBOUND, "smtpd-service",
                     dir, error)
        || !check_named(all, o->smtp_services, SEG_SVC_OUTBOUND, "smtp-service",
                        dir, error)
        || !check_named(all, o->exclude_services, -1, "exclude-service", dir,
                        error))
        return FALSE;
    for (guint i = 0; i < all->len; i++) {
        seg_pf_service *sv = g_ptr_array_index(all, i);
        const struct program *p = program_of(sv->command);
        const char *const *named;
        const char *type = strrchr(sv->name, '/') + 1;

        sv->governed = -1;
        if (p == NULL || (o->exclude_services
                          && g_strv_contains(o->exclude_services, sv->name)))
            continue;
        named = p->governed == SEG_SVC_INBOUND ? o->smtpd_services : o->smtp_services;
        if (named ? g_strv_contains(named, sv->name) : strcmp(type, p->type) == 0)
            sv->governed = p->governed;
    }
    return TRUE;
}

/* probe_targets - where each governed inet smtpd service is probed */
static gboolean probe_targets(const seg_apply_opts *o, GPtrArray *all,
                              const char *host, GError **error)
{
    seg_pf_service *first = NULL;

    for (guint i = 0; i < all->len; i++) {
        seg_pf_service *sv = g_ptr_array_index(all, i);

        if (strcmp(sv->command, "smtpd") != 0 || !g_str_has_suffix(sv->name, "/inet"))
            continue;
        sv->target = seg_apply_listen_target(sv->name, host);
        if (first == NULL && sv->governed == SEG_SVC_INBOUND)
            first = sv;
    }
    for (const char *const *ps = o->probe_smtp; ps && *ps; ps++) {
        const char *eq = strchr(*ps, '=');
        g_autofree char *name = eq ? g_strndup(*ps, eq - *ps) : NULL;
        seg_pf_service *sv = name ? find_service(all, name) : first;
        g_autofree char *h = NULL;
        int     port;

        if (sv == NULL || sv->governed != SEG_SVC_INBOUND) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_APPLY,
                        "probe-smtp %s: %s", *ps, name
                        ? "not an smtpd service segtls governs"
                        : "no smtpd service is governed");
            return FALSE;
        }
        if (!seg_probe_parse_target(eq ? eq + 1 : *ps, 25, &h, &port, error)) {
            g_prefix_error(error, "probe-smtp %s: ", *ps);
            return FALSE;
        }
        g_free(sv->target);
        sv->target = g_strdup_printf(strchr(h, ':') ? "[%s]:%d" : "%s:%d", h, port);
    }
    return TRUE;
}

/* fields - the blank-separated fields of a line */
static char **fields(const char *line)
{
    char  **f = g_strsplit_set(line, " \t", -1);
    char  **w = f;

    for (char **r = f; *r; r++) {
        if (**r)
            *w++ = *r;
        else
            g_free(*r);
    }
    *w = NULL;
    return f;
}

/* seg_apply_services - every master.cf service, governed or not */
GPtrArray *seg_apply_services(const seg_apply_opts *o, GError **error)
{
    static const char *const main_args[] = {
        "-x", "inet_interfaces", "smtpd_tls_wrappermode", "smtpd_tls_security_level",
        "smtp_tls_security_level", "lmtp_tls_security_level", NULL,
    };
    const char *dir_opt = o->postfix_dir ? o->postfix_dir : SEG_APPLY_DEFAULT_POSTFIX_DIR;
    g_autofree char *dir = g_canonicalize_filename(dir_opt, NULL);
    double  timeout = o->timeout > 0 ? o->timeout : SEG_APPLY_DEFAULT_TIMEOUT;
    const char *argv[] = {"postconf", "-c", dir, "-M", NULL};
    g_autofree char *out = NULL;
    g_autofree char *host = NULL;
    g_autoptr(GHashTable) over = NULL;
    g_auto(GStrv) lines = NULL;
    g_autoptr(GHashTable) mainv = NULL;
    GPtrArray *all;

    if (!seg_apply_run_ok(argv, timeout, FALSE, &out, error)
        || (mainv = apply_postconf_query(dir, main_args, timeout, error)) == NULL
        || (over = apply_postconf_values(dir, TRUE, timeout, error)) == NULL)
        return NULL;
    all = g_ptr_array_new_with_free_func((GDestroyNotify) seg_pf_service_free);
    lines = g_strsplit(out, "\n", -1);
    for (char **l = lines; *l; l++) {
        g_auto(GStrv) f = NULL;
        seg_pf_service *sv;
        const struct program *p;

        /* continuation lines of a folded entry start with white space */
        if (**l == 0 || g_ascii_isspace(**l) || g_str_has_prefix(*l, "postconf:"))
            continue;
        f = fields(*l);
        if (g_strv_length(f) < 8)
            continue;
        sv = g_new0(seg_pf_service, 1);
        sv->name = g_strdup_printf("%s/%s", f[0], f[1]);
        sv->command = g_strdup(f[7]);
        sv->governed = -1;
        if ((p = program_of(sv->command)) != NULL) {
            g_autofree char *lkey = g_strdup_printf("%s/%s_tls_security_level",
                                                    sv->name, p->prefix);
            g_autofree char *wkey = g_strdup_printf("%s/smtpd_tls_wrappermode",
                                                    sv->name);
            const char *own = g_hash_table_lookup(over, lkey);
            const char *wrap = g_hash_table_lookup(over, wkey);
            g_autofree char *mkey = g_strdup_printf("%s_tls_security_level",
                                                    p->prefix);
            const char *mlevel = g_hash_table_lookup(mainv, mkey);
            const char *mwrap = g_hash_table_lookup(mainv, "smtpd_tls_wrappermode");

            sv->own_level = own != NULL;
            sv->level = g_strdup(own ? own : mlevel ? mlevel : "");
            if (p->governed == SEG_SVC_INBOUND)
                sv->wrapper = g_ascii_strcasecmp(wrap ? wrap : mwrap ? mwrap : "no",
                                                 "yes") == 0;
        }
        g_ptr_array_add(all, sv);
    }
    host = default_host(g_hash_table_lookup(mainv, "inet_interfaces") ?: "");
    if (!govern(o, all, dir, error) || !probe_targets(o, all, host, error)) {
        g_ptr_array_unref(all);
        return NULL;
    }
    return all;
}

/* add_name - a service name to one of the target's lists */
static void add_name(GPtrArray *list, const char *name)
{
    g_ptr_array_add(list, g_strdup(name));
}

/* as_strv - a GPtrArray of strings as a NULL-terminated vector (taken) */
static const char *const *as_strv(GPtrArray *list)
{
    g_ptr_array_add(list, NULL);
    return (const char *const *) g_ptr_array_free(list, FALSE);
}

/*
 * apply_target_new - the render target: the governed services of
 * master.cf, or without it the services as named (smtp/inet and
 * smtp/unix by default), minus the excluded ones
 */
seg_render_target *apply_target_new(const seg_apply_opts *o, GPtrArray *services)
{
    static const char *const smtpd_default[] = {SEG_RENDER_DEFAULT_SMTPD_SERVICE, NULL};
    static const char *const smtp_default[] = {SEG_RENDER_DEFAULT_SMTP_SERVICE, NULL};
    seg_render_target *t = g_new0(seg_render_target, 1);
    GPtrArray *smtpd = g_ptr_array_new();
    GPtrArray *smtp = g_ptr_array_new();
    GPtrArray *lmtp = g_ptr_array_new();
    GPtrArray *own = g_ptr_array_new();

    for (guint i = 0; services && i < services->len; i++) {
        seg_pf_service *sv = g_ptr_array_index(services, i);

        if (sv->governed < 0)
            continue;
        if (sv->own_level)
            add_name(own, sv->name);
        if (sv->governed == SEG_SVC_INBOUND)
            add_name(smtpd, sv->name);
        else
            add_name(strcmp(sv->command, "lmtp") == 0 ? lmtp : smtp, sv->name);
    }
    if (services == NULL) {
        const char *const *lists[] = {
            o->smtpd_services ? o->smtpd_services : smtpd_default,
            o->smtp_services ? o->smtp_services : smtp_default,
        };

        for (guint l = 0; l < G_N_ELEMENTS(lists); l++)
            for (const char *const *sv = lists[l]; *sv; sv++)
                if (o->exclude_services == NULL
                    || !g_strv_contains(o->exclude_services, *sv))
                    add_name(l == 0 ? smtpd : smtp, *sv);
    }
    t->smtpd_services = as_strv(smtpd);
    t->smtp_services = as_strv(smtp);
    t->lmtp_services = as_strv(lmtp);
    t->own_level = as_strv(own);
    t->tls_config_file = g_strdup(o->tls_config_file ? o->tls_config_file
                                  : SEG_APPLY_DEFAULT_TLS_CONFIG);
    t->gui_log = g_strdup(o->gui_log);
    return t;
}

/*
 * apply_services_own_level - an override of a service's security level
 * is the administrator's unless the ledger says segtls wrote exactly it
 */
void apply_services_own_level(apply_ctx *c)
{
    for (guint i = 0; c->services && i < c->services->len; i++) {
        seg_pf_service *sv = g_ptr_array_index(c->services, i);
        const struct program *p = program_of(sv->command);
        g_autofree char *key = NULL;
        apply_param *mine;

        if (p == NULL || !sv->own_level)
            continue;
        key = g_strdup_printf("%s/%s_tls_security_level", sv->name, p->prefix);
        mine = c->ledger ? g_hash_table_lookup(c->ledger, key) : NULL;
        if (mine != NULL && mine->new != NULL && strcmp(mine->new, sv->level) == 0)
            sv->own_level = FALSE;
    }
}
