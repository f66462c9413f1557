/*
 * pflog_names - the syslog names of a Postfix configuration.
 *
 * The parser follows only Postfix's own programs: those whose program
 * name is NAME/DAEMON or NAME/.../DAEMON for a syslog name of the
 * instance. The names are read with postconf (argv, no shell) from the
 * configuration directory:
 *
 *   postconf -c DIR -hx syslog_name                 main.cf
 *   postconf -c DIR -Phx SERVICE/TYPE/syslog_name   master.cf's -o overrides
 *                      (every service and type: the pattern "*" for both)
 *   postconf -c DIR -hx multi_instance_directories  the same for each
 *
 * Names with a space cannot be a program name in a log line and are
 * left out. seg_pflog_postfix_interfaces() reads, the same way, where the
 * instance's smtpd services listen and its smtp client sends from.
 */
#include <string.h>

#include "error.h"
#include "ifaddr.h"
#include "msg.h"
#include "pflog.h"

/* postconf - the output lines of postconf -c dir ARGS...; FALSE with error */
static gboolean postconf(const char *dir, const char *const *args, GPtrArray *out, GError **error)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autofree char *so = NULL, *se = NULL;
    g_auto(GStrv) lines = NULL;
    int status;

    g_ptr_array_add(argv, (gpointer) "postconf");
    g_ptr_array_add(argv, (gpointer) "-c");
    g_ptr_array_add(argv, (gpointer) dir);
    for (; *args; args++)
        g_ptr_array_add(argv, (gpointer) *args);
    g_ptr_array_add(argv, NULL);
    if (!g_spawn_sync(NULL, (char **) argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                      &so, &se, &status, error))
        return FALSE;
    if (!g_spawn_check_wait_status(status, NULL)) {
        g_strstrip(se);
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID, "postconf -c %s: %s", dir,
                    *se ? se : "failed");
        return FALSE;
    }
    lines = g_strsplit(so, "\n", -1);
    for (char **l = lines; *l; l++) {
        g_strstrip(*l);
        if (**l)
            g_ptr_array_add(out, g_strdup(*l));
    }
    return TRUE;
}

/* add_name - a name once, when it can be a program name */
static void add_name(GPtrArray *names, const char *n)
{
    if (*n == 0 || strpbrk(n, " \t[]") != NULL)
        return;
    for (guint i = 0; i < names->len; i++)
        if (strcmp(names->pdata[i], n) == 0)
            return;
    g_ptr_array_add(names, g_strdup(n));
}

/* instance_names - main.cf's and master.cf's names of one instance */
static gboolean instance_names(const char *dir, GPtrArray *names, GError **error)
{
    static const char *const main_args[] = {"-hx", "syslog_name", NULL};
    static const char *const master_args[] = {"-Phx", "*/*/syslog_name", NULL};
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);

    if (!postconf(dir, main_args, out, error) || !postconf(dir, master_args, out, error))
        return FALSE;
    for (guint i = 0; i < out->len; i++)
        add_name(names, out->pdata[i]);
    return TRUE;
}

/* seg_pflog_postfix_names - the syslog names of the Postfix instance at config_dir */
char **seg_pflog_postfix_names(const char *config_dir, GError **error)
{
    static const char *const multi_args[] = {"-hx", "multi_instance_directories", NULL};
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) dirs = g_ptr_array_new_with_free_func(g_free);

    if (!instance_names(config_dir, names, error) || !postconf(config_dir, multi_args, dirs, error))
        return NULL;
    for (guint i = 0; i < dirs->len; i++) {
        g_auto(GStrv) each = g_strsplit_set(dirs->pdata[i], " ,\t", -1);

        for (char **d = each; *d; d++)
            if (**d && !instance_names(*d, names, error))
                return NULL;
    }
    if (names->len == 0) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID, "%s: no usable syslog_name", config_dir);
        return NULL;
    }
    g_ptr_array_add(names, NULL);
    return (char **) g_ptr_array_free(g_steal_pointer(&names), FALSE);
}

/* seg_pflog_postfix_config_exists - does dir hold a Postfix main.cf? */
gboolean seg_pflog_postfix_config_exists(const char *dir)
{
    g_autofree char *main_cf = g_build_filename(dir, "main.cf", NULL);

    return g_file_test(main_cf, G_FILE_TEST_EXISTS);
}

/* seg_pflog_config_names - the names of config_dir, or of the default configuration */
char **seg_pflog_config_names(const char *config_dir, GError **error)
{
    const char *dir = config_dir ? config_dir : SEG_PFLOG_POSTFIX_CONFIG;
    g_autoptr(GError) err = NULL;
    char **names;

    if (config_dir == NULL && !seg_pflog_postfix_config_exists(dir))
        return g_strsplit("postfix", " ", -1);
    if ((names = seg_pflog_postfix_names(dir, &err)) != NULL)
        return names;
    if (config_dir) {
        g_propagate_error(error, g_steal_pointer(&err));
        return NULL;
    }
    msg_warn("%s; following programs postfix/...", err->message);
    return g_strsplit("postfix", " ", -1);
}

/* one_address - the single address of an inet_interfaces value, or NULL */
static char *one_address(const char *value)
{
    g_auto(GStrv) words = g_strsplit_set(value, " ,\t", -1);
    char   *one = NULL;

    for (char **w = words; *w; w++) {
        if (**w == 0)
            continue;
        if (one != NULL) {              /* two or more: Postfix listens on each */
            g_free(one);
            return NULL;
        }
        if (strcmp(*w, "loopback-only") == 0 || strcmp(*w, "localhost") == 0)
            one = g_strdup("127.0.0.1");
        else if (strcmp(*w, "all") == 0)
            return NULL;
        else
            one = g_strdup(*w);
    }
    return one;
}

/* service_host - "127.0.0.1" of "127.0.0.1:25", "::1" of "[::1]:25"; NULL for "smtp" */
static char *service_host(const char *name)
{
    const char *colon = strrchr(name, ':');

    if (colon == NULL || colon == name)
        return NULL;
    if (name[0] == '[' && colon[-1] == ']')
        return g_strndup(name + 1, (gsize) (colon - name - 2));
    return g_strndup(name, (gsize) (colon - name));
}

/* is_loopback - 127/8 or ::1 */
static gboolean is_loopback(const char *addr)
{
    return g_str_has_prefix(addr, "127.") || strcmp(addr, "::1") == 0;
}

/* seg_pflog_postfix_interfaces - listen and source addresses of an instance */
gboolean seg_pflog_postfix_interfaces(seg_pflog *p, const char *config_dir, GError **error)
{
    static const char *const master_args[] = {"-Mx", NULL};
    g_autoptr(GPtrArray) mainv = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) services = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_autofree char *all = NULL;
    GHashTableIter it;
    gpointer k, v;

    /* postconf -h prints empty values as empty lines, which postconf() drops */
    {
        static const char *const one[][3] = {{"-hx", "syslog_name", NULL},
                                             {"-hx", "inet_interfaces", NULL},
                                             {"-hx", "smtp_bind_address", NULL}};

        for (guint i = 0; i < G_N_ELEMENTS(one); i++) {
            g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);

            if (!postconf(config_dir, one[i], out, error))
                return FALSE;
            g_ptr_array_add(mainv, g_strdup(out->len ? out->pdata[0] : ""));
        }
    }
    if (!postconf(config_dir, master_args, services, error))
        return FALSE;
    all = one_address(mainv->pdata[1]);
    for (guint i = 0; i < services->len; i++) {
        /* NAME TYPE PRIVATE UNPRIV CHROOT WAKEUP MAXPROC COMMAND ARGS... */
        g_auto(GStrv) f = g_strsplit_set(services->pdata[i], " \t", -1);
        g_autoptr(GPtrArray) w = g_ptr_array_new();
        const char *syslog_name = mainv->pdata[0];
        g_autofree char *addr = NULL;
        char   *had;

        for (char **x = f; *x; x++)
            if (**x)
                g_ptr_array_add(w, *x);
        if (w->len < 8 || strcmp(w->pdata[1], "inet") != 0 || strcmp(w->pdata[7], "smtpd") != 0)
            continue;
        for (guint j = 8; j + 1 < w->len; j++)
            if (strcmp(w->pdata[j], "-o") == 0
                && g_str_has_prefix(w->pdata[j + 1], "syslog_name="))
                syslog_name = (char *) w->pdata[j + 1] + strlen("syslog_name=");
        addr = service_host(w->pdata[0]);
        if (addr == NULL && all != NULL)
            addr = g_strdup(all);
        if (addr == NULL)
            addr = g_strdup("unknown");
        had = g_hash_table_lookup(seen, syslog_name);
        if (had != NULL && strcmp(had, addr) != 0)
            g_hash_table_replace(seen, g_strdup(syslog_name), g_strdup("unknown"));
        else
            g_hash_table_replace(seen, g_strdup(syslog_name), g_steal_pointer(&addr));
    }
    g_hash_table_iter_init(&it, seen);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        g_autofree char *ifname = strcmp(v, "unknown") ? seg_ifname_of(v) : NULL;

        seg_pflog_set_service_interface(p, k, ifname, v);
    }
    if (*(char *) mainv->pdata[2])
        seg_pflog_set_client_address(p, mainv->pdata[2]);
    else if (all != NULL && !is_loopback(all))
        seg_pflog_set_client_address(p, all);
    return TRUE;
}
