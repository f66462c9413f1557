/*
 * applyconf - the apply configuration of segtls-policyd (apply.conf).
 *
 * The file may also hold [cluster] (clusterconf.c): cluster mode.
 *
 * A GLib key file with one group, [apply], whose keys are exactly the
 * long options of segtls-apply (postfix-dir, smtpd-service, ...; a key
 * that may repeat is a string list "a;b") plus enabled=true|false. Every
 * value is checked before it becomes an argument: no control characters,
 * absolute paths without characters that would inject (render.h), master.cf
 * service names, [NAME/TYPE=]HOST:PORT probe targets, a timeout in seconds. An unknown
 * group or key, a key set twice or a bad value is refused with
 * "FILE:LINE: message" (lines found by kfscan.h, as for the settings file).
 * The arguments are built as "--key=value", so that no value can pass for
 * an option. The probe targets the commit's apply uses are worked out here
 * too, for `segtls status`.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "error.h"
#include "kfscan.h"
#include "policyd.h"
#include "probe.h"
#include "render.h"

#define APPLY_GROUP     "apply"
#define CLUSTER_GROUP   "cluster"
#define APPLY_MAX_TIMEOUT 3600.0

typedef enum {
    K_ENABLED,                  /* enabled=true|false, not an option */
    K_PATH,                     /* absolute path */
    K_NGINX_CONF,               /* absolute, or relative to nginx-prefix */
    K_SERVICES,                 /* list of master.cf "name/type" */
    K_TARGET,                   /* HOST:PORT */
    K_PROBES,                   /* list of [NAME/TYPE=]HOST:PORT */
    K_FLAG,                     /* boolean option without a value */
    K_TIMEOUT,                  /* seconds */
    K_POLICY,                   /* inet:HOST:PORT or unix:/PATH */
} key_kind;

static const struct apply_key {
    const char *name;
    key_kind    kind;
} apply_keys[] = {
    {"enabled", K_ENABLED},
    {"postfix-dir", K_PATH},
    {"smtpd-service", K_SERVICES},
    {"smtp-service", K_SERVICES},
    {"exclude-service", K_SERVICES},
    {"tls-config-file", K_PATH},
    {"nginx-prefix", K_PATH},
    {"nginx-conf", K_NGINX_CONF},
    {"nginx-include", K_PATH},
    {"client-conf", K_PATH},
    {"gui-log", K_PATH},
    {"probe-smtp", K_PROBES},
    {"probe-https", K_TARGET},
    {"no-postfix", K_FLAG},
    {"no-nginx", K_FLAG},
    {"timeout", K_TIMEOUT},
    {"policy-service", K_POLICY},
};

/* fail_at - "FILE:LINE: message" for key in [apply] (or "FILE: message") */
G_GNUC_PRINTF(5, 6)
static gboolean fail_at(GError **error, const char *path, const GArray *lines,
                        const char *key, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    seg_kf_fail(error, SEG_ERROR_INVALID, path, seg_kf_line_of(lines, APPLY_GROUP, key),
                "%s", msg);
    return FALSE;
}

/* find_key - the table entry of a key of [apply]; NULL when unknown */
static const struct apply_key *find_key(const char *name)
{
    for (gsize j = 0; j < G_N_ELEMENTS(apply_keys); j++)
        if (strcmp(name, apply_keys[j].name) == 0)
            return &apply_keys[j];
    return NULL;
}

/* check_line - only [apply] and [cluster], only their keys */
static gboolean check_line(const seg_kf_line *l, const char *filename,
                           gpointer unused, GError **error)
{
    g_autofree char *shown = NULL;
    gboolean cluster = strcmp(l->group, CLUSTER_GROUP) == 0;

    if (strcmp(l->group, APPLY_GROUP) != 0 && !cluster) {
        if (l->key != NULL)             /* refused at its [group] line already */
            return TRUE;
        shown = g_strescape(l->group, NULL);
        seg_kf_fail(error, SEG_ERROR_INVALID, filename, l->line,
                    "unknown group [%s] (only [apply] and [cluster])", shown);
        return FALSE;
    }
    if (l->key == NULL || (cluster ? policyd_cluster_key(l->key) : find_key(l->key) != NULL))
        return TRUE;
    shown = g_strescape(l->key, NULL);
    seg_kf_fail(error, SEG_ERROR_INVALID, filename, l->line,
                "unknown key \"%s\" in [%s]", shown, l->group);
    return FALSE;
}

/* has_control - any control character (the key file turns \n into one) */
static gboolean has_control(const char *value)
{
    for (const guchar *p = (const guchar *) value; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return TRUE;
    return FALSE;
}

/* check_one - one value of a key; the message without the file name */
static gboolean check_one(const struct apply_key *k, const char *value,
                          gboolean have_prefix, GError **error)
{
    g_autofree char *host = NULL;
    const char *eq;
    int     port;

    if (has_control(value) || !g_utf8_validate(value, -1, NULL)) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                    "%s: control character or invalid UTF-8 in the value", k->name);
        return FALSE;
    }
    switch (k->kind) {
    case K_PATH:
        return seg_render_check_path(k->name, value, error);
    case K_POLICY:
        return seg_render_check_policy_service(value, error);
    case K_NGINX_CONF:
        if (*value != '/' && have_prefix) {
            g_autofree char *abs = g_strconcat("/", value, NULL);

            return seg_render_check_path(k->name, abs, error);
        }
        return seg_render_check_path(k->name, value, error);
    case K_SERVICES:
        if (!seg_render_check_service(value, error)) {
            g_prefix_error(error, "%s: ", k->name);
            return FALSE;
        }
        return TRUE;
    case K_PROBES:
        if ((eq = strchr(value, '=')) != NULL) {
            g_autofree char *name = g_strndup(value, eq - value);

            if (!seg_render_check_service(name, error)) {
                g_prefix_error(error, "%s: ", k->name);
                return FALSE;
            }
            value = eq + 1;
        }
        /* fall through */
    case K_TARGET:
        if (!seg_probe_parse_target(value, 25, &host, &port, error)) {
            g_prefix_error(error, "%s: ", k->name);
            return FALSE;
        }
        return TRUE;
    default:
        return TRUE;
    }
}

/* add_value - check a value and add "--key=value" */
static gboolean add_value(policyd_apply_conf *c, const struct apply_key *k,
                          const char *value, gboolean have_prefix,
                          const char *path, const GArray *lines, GError **error)
{
    g_autoptr(GError) err = NULL;

    if (!check_one(k, value, have_prefix, &err))
        return fail_at(error, path, lines, k->name, "%s", err->message);
    g_ptr_array_add(c->args, g_strdup_printf("--%s=%s", k->name, value));
    return TRUE;
}

/* list_of - the member of c that keeps a list key's values */
static char ***list_of(policyd_apply_conf *c, const char *name)
{
    if (strcmp(name, "smtpd-service") == 0)
        return &c->smtpd_services;
    if (strcmp(name, "smtp-service") == 0)
        return &c->smtp_services;
    if (strcmp(name, "exclude-service") == 0)
        return &c->exclude_services;
    return &c->probe_smtp_list;
}

/* add_key - one key of [apply] into the arguments */
static gboolean add_key(policyd_apply_conf *c, GKeyFile *kf,
                        const struct apply_key *k, const char *path,
                        const GArray *lines, GError **error)
{
    g_autoptr(GError) err = NULL;
    gboolean have_prefix = g_key_file_has_key(kf, APPLY_GROUP, "nginx-prefix", NULL);

    if (k->kind == K_SERVICES || k->kind == K_PROBES) {
        g_auto(GStrv) list = g_key_file_get_string_list(kf, APPLY_GROUP, k->name,
                                                        NULL, &err);

        if (list == NULL || list[0] == NULL)
            return fail_at(error, path, lines, k->name, "%s: %s", k->name,
                           err ? err->message : "empty list");
        for (int i = 0; list[i] != NULL; i++)
            if (!add_value(c, k, list[i], have_prefix, path, lines, error))
                return FALSE;
        *list_of(c, k->name) = g_steal_pointer(&list);
        return TRUE;
    }
    if (k->kind == K_ENABLED || k->kind == K_FLAG) {
        gboolean on = g_key_file_get_boolean(kf, APPLY_GROUP, k->name, &err);

        if (err != NULL)
            return fail_at(error, path, lines, k->name,
                           "%s: value must be true or false", k->name);
        if (k->kind == K_ENABLED)
            c->enabled = on;
        else if (on)
            g_ptr_array_add(c->args, g_strdup_printf("--%s", k->name));
        if (strcmp(k->name, "no-postfix") == 0)
            c->no_postfix = on;
        if (strcmp(k->name, "no-nginx") == 0)
            c->no_nginx = on;
        return TRUE;
    }
    {
        g_autofree char *value = g_key_file_get_string(kf, APPLY_GROUP, k->name, &err);

        if (value == NULL)
            return fail_at(error, path, lines, k->name, "%s: %s", k->name, err->message);
        if (k->kind == K_TIMEOUT) {
            char   *end;
            double  t = g_ascii_strtod(value, &end);

            if (*value == 0 || *end != 0 || !(t > 0) || t > APPLY_MAX_TIMEOUT)
                return fail_at(error, path, lines, k->name,
                               "timeout: \"%s\" is not a number of seconds from 0 to %.0f",
                               value, APPLY_MAX_TIMEOUT);
            g_ptr_array_add(c->args, g_strdup_printf("--timeout=%g", t));
            return TRUE;
        }
        if (!add_value(c, k, value, have_prefix, path, lines, error))
            return FALSE;
        if (strcmp(k->name, "probe-https") == 0)
            c->probe_https = g_strdup(value);
        else if (strcmp(k->name, "postfix-dir") == 0)
            c->postfix_dir = g_strdup(value);
        return TRUE;
    }
}

/* policyd_apply_conf_load - parse and check an apply configuration file */
policyd_apply_conf *policyd_apply_conf_load(const char *path, GError **error)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autofree char *text = NULL;
    g_autoptr(GArray) lines = NULL;
    policyd_apply_conf *c;
    gsize   len;

    if (!g_file_get_contents(path, &text, &len, error))
        return NULL;
    if ((lines = seg_kf_scan(text, len, path, check_line, NULL, error)) == NULL
        || !seg_kf_load(kf, text, len, path, error))
        return NULL;
    c = g_new0(policyd_apply_conf, 1);
    c->path = g_strdup(path);
    /* a file with only [cluster] does not apply: there is nothing to apply to */
    c->enabled = g_key_file_has_group(kf, APPLY_GROUP)
        || !g_key_file_has_group(kf, CLUSTER_GROUP);
    c->args = g_ptr_array_new_with_free_func(g_free);
    if (g_key_file_has_group(kf, CLUSTER_GROUP)
        && (c->cluster = policyd_cluster_conf_load(kf, path, lines, error)) == NULL) {
        policyd_apply_conf_free(c);
        return NULL;
    }
    for (gsize j = 0; j < G_N_ELEMENTS(apply_keys); j++) {
        if (!g_key_file_has_key(kf, APPLY_GROUP, apply_keys[j].name, NULL))
            continue;
        if (!add_key(c, kf, &apply_keys[j], path, lines, error)) {
            policyd_apply_conf_free(c);
            return NULL;
        }
    }
    /* where the first smtpd service is probed, as far as apply.conf says */
    if (!c->no_postfix) {
        const char *first = c->probe_smtp_list ? c->probe_smtp_list[0] : NULL;

        if (first != NULL && strchr(first, '=') == NULL)
            c->probe_smtp = g_strdup(first);
        else
            c->probe_smtp = seg_apply_listen_target(c->smtpd_services
                                                    ? c->smtpd_services[0]
                                                    : SEG_RENDER_DEFAULT_SMTPD_SERVICE,
                                                    "127.0.0.1");
    }
    if (c->no_nginx)
        g_clear_pointer(&c->probe_https, g_free);
    else if (c->probe_https == NULL)
        c->probe_https = g_strdup(SEG_APPLY_DEFAULT_PROBE_HTTPS);
    return c;
}

/* policyd_apply_conf_free - release an apply configuration */
void policyd_apply_conf_free(policyd_apply_conf *c)
{
    if (c == NULL)
        return;
    g_free(c->path);
    g_ptr_array_unref(c->args);
    g_free(c->probe_smtp);
    g_free(c->probe_https);
    g_free(c->postfix_dir);
    g_strfreev(c->smtpd_services);
    g_strfreev(c->smtp_services);
    g_strfreev(c->exclude_services);
    g_strfreev(c->probe_smtp_list);
    policyd_cluster_conf_free(c->cluster);
    g_free(c);
}
