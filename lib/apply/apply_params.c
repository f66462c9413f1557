/*
 * apply_params - the Postfix parameters segtls sets, and putting them back.
 *
 * Under the apply lock, the current value of every parameter the
 * rendering sets is read (postconf -n for main.cf, postconf -P for the
 * master.cf overrides) and only those that change are written. When the
 * apply fails, each of them is compared with what segtls wrote: one that
 * still holds segtls's value gets its old value back (postconf -e / -P,
 * or -X / -PX when it was not set), one that someone changed since (an
 * administrator's `postconf -e` while the probes ran, another apply) is
 * left as it is now and named. Whole files are never written over what
 * others changed.
 *
 * The ledger, STATE_DIR/apply/postfix-params, remembers across applies
 * which master.cf overrides segtls set, the value it set and the value
 * from before it first did ("-" for none):
 *
 *     submission/inet/smtpd_tls_protocols<TAB>>=TLSv1.3<TAB>-
 *
 * An override that segtls no longer sets (its service left segtls's
 * governance, or inbound.certificate was emptied) gets that earlier value
 * back when it still holds segtls's value. postconf -P takes no blanks in
 * a value, so an earlier value with blanks is put back with commas, which
 * every parameter segtls sets reads alike.
 */
#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

#include "apply_int.h"
#include "atomic.h"
#include "error.h"

#define LEDGER_FILE     "postfix-params"
#define LEDGER_HEAD     "# master.cf overrides set by segtls-apply: " \
                        "service/type/parameter, value set, value before " \
                        "(\"-\": none)\n"

/* apply_param_free - release one parameter change */
void apply_param_free(apply_param *p)
{
    if (p == NULL)
        return;
    g_free(p->key);
    g_free(p->old);
    g_free(p->new);
    g_free(p);
}

/* param_new - one parameter change (values copied) */
static apply_param *param_new(gboolean master, const char *key, const char *old,
                              const char *new, gboolean undo)
{
    apply_param *p = g_new0(apply_param, 1);

    p->master = master;
    p->key = g_strdup(key);
    p->old = g_strdup(old);
    p->new = g_strdup(new);
    p->undo = undo;
    return p;
}

/* no_blanks - a master.cf value as postconf -P takes it: blanks to commas */
static char *no_blanks(const char *value)
{
    g_auto(GStrv) words = NULL;
    GString *out;

    if (value == NULL)
        return NULL;
    if (strpbrk(value, " \t") == NULL)
        return g_strdup(value);
    words = g_strsplit_set(value, " \t,", -1);
    out = g_string_new(NULL);
    for (char **w = words; *w; w++)
        if (**w)
            g_string_append_printf(out, "%s%s", out->len ? "," : "", *w);
    return g_string_free(out, FALSE);
}

/* apply_postconf_query - postconf -c DIR ARGS..., "key = value" lines: key -> value */
GHashTable *apply_postconf_query(const char *dir, const char *const *args,
                                 double timeout, GError **error)
{
    const char *argv[16] = {"postconf", "-c", dir};
    g_autofree char *out = NULL;
    g_auto(GStrv) lines = NULL;
    GHashTable *values;
    guint   n = 3;

    for (; *args && n < G_N_ELEMENTS(argv) - 1; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    if (!seg_apply_run_ok(argv, timeout, FALSE, &out, error))
        return NULL;
    values = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    lines = g_strsplit(out, "\n", -1);
    for (char **l = lines; *l; l++) {
        char   *eq = strstr(*l, " =");

        if (eq == NULL || g_str_has_prefix(*l, "postconf:"))
            continue;
        g_hash_table_replace(values, g_strndup(*l, eq - *l),
                             g_strdup(eq[2] == ' ' ? eq + 3 : eq + 2));
    }
    return values;
}

/* apply_postconf_values - postconf -n (main.cf) or -P (master.cf) of dir */
GHashTable *apply_postconf_values(const char *dir, gboolean master,
                                  double timeout, GError **error)
{
    const char *args[] = {master ? "-P" : "-n", NULL};

    return apply_postconf_query(dir, args, timeout, error);
}

/* ledger_path - STATE_DIR/apply/postfix-params */
static char *ledger_path(apply_ctx *c)
{
    return g_build_filename(c->state_dir, LEDGER_FILE, NULL);
}

/* apply_ledger_load - the overrides earlier applies set (none without a file) */
gboolean apply_ledger_load(apply_ctx *c, GError **error)
{
    g_autofree char *path = ledger_path(c);
    g_autofree char *text = NULL;
    g_autoptr(GError) err = NULL;
    g_auto(GStrv) lines = NULL;

    c->ledger = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                      (GDestroyNotify) apply_param_free);
    if (!g_file_get_contents(path, &text, NULL, &err)) {
        /* none yet; or a dry run by someone who may not read it */
        if (g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT)
            || (c->o->dry_run && g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_ACCES)))
            return TRUE;
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "%s", err->message);
        return FALSE;
    }
    lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++) {
        g_auto(GStrv) f = g_strsplit(*l, "\t", 3);
        apply_param *p;

        if (**l == '#' || g_strv_length(f) != 3 || *f[0] == 0 || *f[1] == 0
            || (strcmp(f[2], "-") != 0 && *f[2] != '='))
            continue;
        p = param_new(TRUE, f[0], *f[2] == '=' ? f[2] + 1 : NULL, f[1], FALSE);
        g_hash_table_replace(c->ledger, p->key, p);
    }
    return TRUE;
}

/* ledger_set - segtls sets key to value; the value before kept once */
static void ledger_set(apply_ctx *c, const char *key, const char *value,
                       const char *before)
{
    apply_param *p = g_hash_table_lookup(c->ledger, key);

    if (p != NULL) {
        g_free(p->new);
        p->new = g_strdup(value);
        return;
    }
    p = param_new(TRUE, key, before, value, FALSE);
    g_hash_table_replace(c->ledger, p->key, p);
}

/* by_key - order of ledger lines */
static gint by_key(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* sorted_keys - the keys of the ledger, sorted (not copied) */
static GPtrArray *sorted_keys(GHashTable *h)
{
    GPtrArray *keys = g_ptr_array_new();
    GHashTableIter it;
    gpointer key;

    g_hash_table_iter_init(&it, h);
    while (g_hash_table_iter_next(&it, &key, NULL))
        g_ptr_array_add(keys, key);
    g_ptr_array_sort(keys, by_key);
    return keys;
}

/* apply_ledger_save - the ledger after a successful apply */
gboolean apply_ledger_save(apply_ctx *c, GError **error)
{
    g_autofree char *path = ledger_path(c);
    g_autoptr(GString) out = g_string_new(LEDGER_HEAD);
    g_autoptr(GPtrArray) keys = sorted_keys(c->ledger);

    for (guint i = 0; i < keys->len; i++) {
        apply_param *p = g_hash_table_lookup(c->ledger, g_ptr_array_index(keys, i));

        g_string_append_printf(out, "%s\t%s\t%s%s\n", p->key, p->new,
                               p->old ? "=" : "-", p->old ? p->old : "");
    }
    return seg_atomic_write(path, out->str, out->len, 0600, error);
}

/* service_of - "name/type" of a master.cf key "name/type/param" */
static char *service_of(const char *key)
{
    const char *slash = strrchr(key, '/');

    return g_strndup(key, slash ? (gsize) (slash - key) : strlen(key));
}

/* has_service - does master.cf (as read) still have the service of key? */
static gboolean has_service(apply_ctx *c, const char *key)
{
    g_autofree char *name = service_of(key);

    for (guint i = 0; c->services && i < c->services->len; i++)
        if (strcmp(((seg_pf_service *) g_ptr_array_index(c->services, i))->name,
                   name) == 0)
            return TRUE;
    return FALSE;
}

/* plan_rendered - the rendered main.cf and master.cf values that change */
static void plan_rendered(apply_ctx *c, GHashTable *cur_main,
                          GHashTable *cur_master, GHashTable *rendered)
{
    for (guint i = 0; i < c->r->main_cf->len; i++) {
        const char *line = g_ptr_array_index(c->r->main_cf, i);
        const char *eq = strstr(line, " = ");
        g_autofree char *key = g_strndup(line, eq - line);
        const char *old = g_hash_table_lookup(cur_main, key);

        if (g_strcmp0(old, eq + 3) != 0)
            g_ptr_array_add(c->params, param_new(FALSE, key, old, eq + 3, FALSE));
    }
    for (guint i = 0; i < c->r->master_cf->len; i++) {
        const char *line = g_ptr_array_index(c->r->master_cf, i);
        const char *eq = strchr(line, '=');
        g_autofree char *key = g_strndup(line, eq - line);
        g_autofree char *old = no_blanks(g_hash_table_lookup(cur_master, key));

        g_hash_table_add(rendered, g_strdup(key));
        if (g_strcmp0(old, eq + 1) != 0)
            g_ptr_array_add(c->params, param_new(TRUE, key, old, eq + 1, FALSE));
        ledger_set(c, key, eq + 1, old);
    }
}

/*
 * plan_undo - overrides segtls set before and sets no more: the value
 * from before segtls, where segtls's value still holds
 */
static void plan_undo(apply_ctx *c, GHashTable *cur_master, GHashTable *rendered)
{
    g_autoptr(GPtrArray) keys = sorted_keys(c->ledger);

    for (guint i = 0; i < keys->len; i++) {
        const char *key = g_ptr_array_index(keys, i);
        apply_param *mine = g_hash_table_lookup(c->ledger, key);
        const char *cur = g_hash_table_lookup(cur_master, key);

        if (g_hash_table_contains(rendered, key))
            continue;
        if (has_service(c, key) && g_strcmp0(cur, mine->new) == 0
            && g_strcmp0(cur, mine->old) != 0)
            g_ptr_array_add(c->params, param_new(TRUE, key, cur, mine->old, TRUE));
        /* done with it: put back now, or changed (or gone) since */
        g_hash_table_remove(c->ledger, key);
    }
}

/* apply_params_plan - the parameter changes of this apply (under the lock) */
gboolean apply_params_plan(apply_ctx *c, GError **error)
{
    g_autoptr(GHashTable) cur_main = NULL;
    g_autoptr(GHashTable) cur_master = NULL;
    g_autoptr(GHashTable) rendered = g_hash_table_new_full(g_str_hash, g_str_equal,
                                                           g_free, NULL);

    c->params = g_ptr_array_new_with_free_func((GDestroyNotify) apply_param_free);
    if ((cur_main = apply_postconf_values(c->pf_dir, FALSE, c->timeout, error)) == NULL
        || (cur_master = apply_postconf_values(c->pf_dir, TRUE, c->timeout,
                                               error)) == NULL)
        return FALSE;
    plan_rendered(c, cur_main, cur_master, rendered);
    plan_undo(c, cur_master, rendered);
    return TRUE;
}

/*
 * apply_params_unplan - for segtls-apply --remove: every master.cf
 * override of the ledger back to its value from before segtls, where
 * segtls's value still holds; the ledger is emptied (under the lock)
 */
gboolean apply_params_unplan(apply_ctx *c, GError **error)
{
    g_autoptr(GHashTable) cur_master = NULL;
    g_autoptr(GHashTable) none = g_hash_table_new(g_str_hash, g_str_equal);

    c->params = g_ptr_array_new_with_free_func((GDestroyNotify) apply_param_free);
    if ((cur_master = apply_postconf_values(c->pf_dir, TRUE, c->timeout, error)) == NULL)
        return FALSE;
    plan_undo(c, cur_master, none);
    return TRUE;
}

/* The postconf flag that sets or removes a change: main.cf, master.cf. */
static const char *const postconf_flags[2][2] = {
    {"-e", "-X"},
    {"-P", "-PX"},
};

/* postconf_args - postconf -c DIR FLAG ARGS...; nothing to do without ARGS */
static gboolean postconf_args(apply_ctx *c, const char *dir, const char *flag,
                              GPtrArray *args, GError **error)
{
    g_autofree const char **argv = NULL;
    guint   n = 0;

    if (args->len == 0)
        return TRUE;
    argv = g_new0(const char *, args->len + 5);
    argv[n++] = "postconf";
    argv[n++] = "-c";
    argv[n++] = dir;
    argv[n++] = flag;
    for (guint i = 0; i < args->len; i++)
        argv[n++] = g_ptr_array_index(args, i);
    return seg_apply_run_ok(argv, c->timeout, FALSE, NULL, error);
}

/*
 * postconf_changes - the changes into the instance at dir, at most four
 * postconf commands: each change's new value, or with back its old one.
 * Forward, each change a command made is marked done and the first
 * failure is the error; back, a failing command is noted in failed and
 * the others still run.
 */
static gboolean postconf_changes(apply_ctx *c, const char *dir, GPtrArray *changes,
                                 gboolean back, GString *failed, GError **error)
{
    gboolean ok = TRUE;

    for (guint m = 0; m < 2; m++) {
        for (guint x = 0; x < 2; x++) {
            g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func(g_free);
            g_autoptr(GPtrArray) these = g_ptr_array_new();
            g_autoptr(GError) err = NULL;

            for (guint i = 0; i < changes->len; i++) {
                apply_param *p = g_ptr_array_index(changes, i);
                const char *value = back ? p->old : p->new;

                if ((guint) p->master != m || (guint) (value == NULL) != x)
                    continue;
                g_ptr_array_add(args, value ? g_strdup_printf("%s=%s", p->key, value)
                                : g_strdup(p->key));
                g_ptr_array_add(these, p);
            }
            if (postconf_args(c, dir, postconf_flags[m][x], args, &err)) {
                for (guint i = 0; !back && i < these->len; i++)
                    ((apply_param *) g_ptr_array_index(these, i))->done = TRUE;
                continue;
            }
            ok = FALSE;
            if (!back) {
                g_propagate_error(error, g_steal_pointer(&err));
                return FALSE;
            }
            g_string_append_printf(failed, "; cannot put back %s: %s",
                                   ((apply_param *) g_ptr_array_index(these, 0))->key,
                                   err->message);
        }
    }
    return ok;
}

/* apply_params_write - every planned change into the instance at dir */
gboolean apply_params_write(apply_ctx *c, const char *dir, GError **error)
{
    return postconf_changes(c, dir, c->params, FALSE, NULL, error);
}

/*
 * apply_params_restore - the old value back wherever segtls's value still
 * holds; what others changed since is named in msg and left alone
 */
void apply_params_restore(apply_ctx *c, GString *msg)
{
    g_autoptr(GHashTable) cur_main = NULL;
    g_autoptr(GHashTable) cur_master = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) back = g_ptr_array_new();
    g_autoptr(GString) left = g_string_new(NULL);

    if (c->params == NULL || c->params->len == 0)
        return;
    if ((cur_main = apply_postconf_values(c->pf_dir, FALSE, c->timeout, &err)) == NULL
        || (cur_master = apply_postconf_values(c->pf_dir, TRUE, c->timeout,
                                               &err)) == NULL) {
        g_string_append_printf(msg, "; cannot read the Postfix parameters to "
                               "put them back: %s", err->message);
        return;
    }
    for (guint i = 0; i < c->params->len; i++) {
        apply_param *p = g_ptr_array_index(c->params, i);
        const char *cur = g_hash_table_lookup(p->master ? cur_master : cur_main,
                                              p->key);

        if (!p->done)                   /* never written */
            continue;
        if (g_strcmp0(cur, p->new) != 0)
            g_string_append_printf(left, "%s%s", left->len ? ", " : "", p->key);
        else
            g_ptr_array_add(back, p);
    }
    (void) postconf_changes(c, c->pf_dir, back, TRUE, msg, NULL);
    if (left->len)
        g_string_append_printf(msg, "; left as they are now, changed since "
                               "segtls wrote them: %s", left->str);
}
