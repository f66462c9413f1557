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
 * left out.
 */
#include <string.h>

#include "error.h"
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

/* seg_pflog_config_names - the names of config_dir, or of the default configuration */
char **seg_pflog_config_names(const char *config_dir, GError **error)
{
    const char *dir = config_dir ? config_dir : SEG_PFLOG_POSTFIX_CONFIG;
    g_autofree char *main_cf = g_build_filename(dir, "main.cf", NULL);
    g_autoptr(GError) err = NULL;
    char **names;

    if (config_dir == NULL && !g_file_test(main_cf, G_FILE_TEST_EXISTS))
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
