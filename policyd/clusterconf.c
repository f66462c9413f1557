/*
 * clusterconf - the [cluster] group of segtls-policyd's configuration.
 *
 * The same file as [apply] (applyconf.c, --apply-config): with a
 * [cluster] group the daemon keeps its settings in etcd (cluster mode,
 * policyd/cluster.c). Keys:
 *   name       the cluster's name (required; a level name, layers.h)
 *   endpoints  etcd client URLs, a;b;c (required; http:// or https://)
 *   ca-file    trust anchors for https endpoints (default: the system's)
 *   cert-file  the client certificate etcd asks for, with key-file
 *   key-file
 *   machine    this machine's name (default: the host name)
 *   group      its group (default Main_Group)
 *   prefix     where the cluster's keys live (default /segtls)
 *   timeout    seconds an etcd request may take (default 5, at most 60)
 * Every value is checked here: a bad one is refused with FILE:LINE, as
 * for [apply]; the certificate files are loaded when the daemon starts.
 */
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "etcd.h"
#include "kfscan.h"
#include "layers.h"
#include "path.h"
#include "policyd.h"
#include "store_etcd.h"

#define CLUSTER_GROUP   "cluster"
#define PREFIX_MAX      256
#define TIMEOUT_MAX     60

static const char *const cluster_keys[] = {
    "name", "endpoints", "ca-file", "cert-file", "key-file", "machine", "group",
    "prefix", "timeout",
};

/* policyd_cluster_key - is name a key of [cluster]? */
gboolean policyd_cluster_key(const char *name)
{
    for (gsize i = 0; i < G_N_ELEMENTS(cluster_keys); i++)
        if (strcmp(name, cluster_keys[i]) == 0)
            return TRUE;
    return FALSE;
}

/* fail - "FILE:LINE: message" for key in [cluster] */
G_GNUC_PRINTF(5, 6)
static gboolean fail(GError **error, const char *path, const GArray *lines,
                     const char *key, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    seg_kf_fail(error, SEG_ERROR_INVALID, path,
                seg_kf_line_of(lines, CLUSTER_GROUP, key), "%s", msg);
    return FALSE;
}

/* string_of - one string value; NULL (no error) when the key is absent */
static char *string_of(GKeyFile *kf, const char *key, const char *path,
                       const GArray *lines, GError **error)
{
    g_autoptr(GError) err = NULL;
    char   *v;

    if (!g_key_file_has_key(kf, CLUSTER_GROUP, key, NULL))
        return NULL;
    if ((v = g_key_file_get_string(kf, CLUSTER_GROUP, key, &err)) == NULL) {
        fail(error, path, lines, key, "cluster.%s: %s", key, err->message);
        return NULL;
    }
    for (const guchar *p = (const guchar *) v; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            g_free(v);
            fail(error, path, lines, key, "cluster.%s: control character in the value",
                 key);
            return NULL;
        }
    }
    return v;
}

/* path_of - an absolute path value */
static gboolean path_of(GKeyFile *kf, const char *key, char **out, const char *path,
                        const GArray *lines, GError **error)
{
    g_autoptr(GError) err = NULL;
    GError *e = NULL;

    *out = string_of(kf, key, path, lines, &e);
    if (e != NULL) {
        g_propagate_error(error, e);
        return FALSE;
    }
    if (*out != NULL && !seg_path_check(*out, &err))
        return fail(error, path, lines, key, "cluster.%s: %s", key, err->message);
    return TRUE;
}

/* name_of - a level name (name, machine, group) */
static gboolean name_of(GKeyFile *kf, const char *key, const char *what, char **out,
                        const char *path, const GArray *lines, GError **error)
{
    g_autoptr(GError) err = NULL;
    GError *e = NULL;

    *out = string_of(kf, key, path, lines, &e);
    if (e != NULL) {
        g_propagate_error(error, e);
        return FALSE;
    }
    if (*out != NULL && !seg_level_name_check(what, *out, &err))
        return fail(error, path, lines, key, "cluster.%s: %s", key, err->message);
    return TRUE;
}

/* host_name - this machine's default name: the host name, checked */
static char *host_name(GError **error)
{
    char    buf[256] = "";

    if (gethostname(buf, sizeof(buf) - 1) < 0 || !seg_level_name_check("machine", buf,
                                                                       error)) {
        g_prefix_error(error, "cluster.machine is not set and the host name cannot "
                       "be used: ");
        return NULL;
    }
    return g_strdup(buf);
}

/* policyd_cluster_conf_load - [cluster] of a loaded configuration file */
policyd_cluster_conf *policyd_cluster_conf_load(GKeyFile *kf, const char *path,
                                                const GArray *lines, GError **error)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *timeout = NULL;
    g_autofree char *prefix = NULL;
    policyd_cluster_conf *c = g_new0(policyd_cluster_conf, 1);
    GError *e = NULL;

    if (!name_of(kf, "name", "cluster", &c->name, path, lines, error))
        goto bad;
    if (c->name == NULL) {
        seg_kf_fail(error, SEG_ERROR_INVALID, path,
                    seg_kf_line_of(lines, CLUSTER_GROUP, NULL),
                    "[cluster] needs name= (the cluster's name)");
        goto bad;
    }
    if (!g_key_file_has_key(kf, CLUSTER_GROUP, "endpoints", NULL)) {
        seg_kf_fail(error, SEG_ERROR_INVALID, path,
                    seg_kf_line_of(lines, CLUSTER_GROUP, NULL),
                    "[cluster] needs endpoints= (etcd's client URLs, a;b;c)");
        goto bad;
    }
    c->endpoints = g_key_file_get_string_list(kf, CLUSTER_GROUP, "endpoints", NULL, &err);
    if (c->endpoints == NULL || c->endpoints[0] == NULL) {
        fail(error, path, lines, "endpoints", "cluster.endpoints: %s",
             err ? err->message : "empty list");
        goto bad;
    }
    for (char **p = c->endpoints; *p != NULL; p++)
        if (!seg_etcd_check_endpoint(*p, &err)) {
            fail(error, path, lines, "endpoints", "cluster.endpoints: %s", err->message);
            goto bad;
        }
    if (!path_of(kf, "ca-file", &c->ca_file, path, lines, error)
        || !path_of(kf, "cert-file", &c->cert_file, path, lines, error)
        || !path_of(kf, "key-file", &c->key_file, path, lines, error)
        || !name_of(kf, "machine", "machine", &c->machine, path, lines, error)
        || !name_of(kf, "group", "group", &c->group, path, lines, error))
        goto bad;
    if ((c->cert_file == NULL) != (c->key_file == NULL)) {
        fail(error, path, lines, c->cert_file ? "cert-file" : "key-file",
             "cluster.cert-file and cluster.key-file go together");
        goto bad;
    }
    if (c->machine == NULL && (c->machine = host_name(error)) == NULL)
        goto bad;
    if (c->group == NULL)
        c->group = g_strdup(SEG_DEFAULT_GROUP);
    prefix = string_of(kf, "prefix", path, lines, &e);
    if (e != NULL) {
        g_propagate_error(error, e);
        goto bad;
    }
    if (prefix != NULL && (*prefix != '/' || strlen(prefix) > PREFIX_MAX
                           || strpbrk(prefix, " \t") != NULL)) {
        fail(error, path, lines, "prefix", "cluster.prefix: \"%s\": an absolute key "
             "prefix of at most %d characters without blanks", prefix, PREFIX_MAX);
        goto bad;
    }
    c->prefix = g_strdup(prefix ? prefix : SEG_CLUSTER_DEFAULT_PREFIX);
    timeout = string_of(kf, "timeout", path, lines, &e);
    if (e != NULL) {
        g_propagate_error(error, e);
        goto bad;
    }
    c->timeout = SEG_ETCD_DEFAULT_TIMEOUT;
    if (timeout != NULL) {
        guint64 t;

        if (!g_ascii_string_to_unsigned(timeout, 10, 1, TIMEOUT_MAX, &t, NULL)) {
            fail(error, path, lines, "timeout", "cluster.timeout: \"%s\" is not a "
                 "number of seconds from 1 to %d", timeout, TIMEOUT_MAX);
            goto bad;
        }
        c->timeout = (guint) t;
    }
    return c;
bad:
    policyd_cluster_conf_free(c);
    return NULL;
}

/* policyd_cluster_conf_equal - the same cluster configuration */
gboolean policyd_cluster_conf_equal(const policyd_cluster_conf *a,
                                    const policyd_cluster_conf *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return g_strcmp0(a->name, b->name) == 0
        && g_strv_equal((const char *const *) a->endpoints,
                        (const char *const *) b->endpoints)
        && g_strcmp0(a->ca_file, b->ca_file) == 0
        && g_strcmp0(a->cert_file, b->cert_file) == 0
        && g_strcmp0(a->key_file, b->key_file) == 0
        && g_strcmp0(a->machine, b->machine) == 0
        && g_strcmp0(a->group, b->group) == 0
        && g_strcmp0(a->prefix, b->prefix) == 0 && a->timeout == b->timeout;
}

/* policyd_cluster_conf_free - release */
void policyd_cluster_conf_free(policyd_cluster_conf *c)
{
    if (c == NULL)
        return;
    g_free(c->name);
    g_strfreev(c->endpoints);
    g_free(c->ca_file);
    g_free(c->cert_file);
    g_free(c->key_file);
    g_free(c->machine);
    g_free(c->group);
    g_free(c->prefix);
    g_free(c);
}
