/*
 * apply - render, validate, keep, write, reload, probe, restore.
 *
 * The sequence is described in apply.h. This file holds the sequence and
 * the managed files: main.cf and master.cf (changed only through
 * postconf), the Postfix tls_config_file, the nginx include and the
 * client configuration (written whole and atomically). Their previous
 * contents are kept in memory and under STATE_DIR/apply/ until the
 * probes agree; any failure after the first write puts them back and
 * reloads again.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "apply.h"
#include "error.h"
#include "store.h"
#include "usable.h"

#define RELOAD_WAIT_US  (5 * G_USEC_PER_SEC)   /* old Postfix children exit */
#define MAX_FILES       5

typedef struct apply_file {
    const char *label;          /* name of the kept copy */
    char       *path;
    const char *text;           /* new contents; NULL: edited by postconf */
    gboolean    existed;
    char       *old;
    gsize       old_len;
    int         mode;
} apply_file;

typedef struct apply_ctx {
    const seg_settings *s;
    const seg_apply_opts *o;
    seg_apply_report *rep;
    seg_render_target *t;
    seg_render *r;
    char       *pf_dir;
    double      timeout;
    apply_file  files[MAX_FILES];
    guint       nfiles;
    gboolean    written;
    pid_t       master;         /* Postfix master, found before writing */
} apply_ctx;

/* seg_apply_report_new - an empty report */
seg_apply_report *seg_apply_report_new(void)
{
    seg_apply_report *rep = g_new0(seg_apply_report, 1);

    rep->warnings = g_ptr_array_new_with_free_func(g_free);
    rep->notices = g_ptr_array_new_with_free_func(g_free);
    rep->lines = g_ptr_array_new_with_free_func(g_free);
    return rep;
}

/* seg_apply_report_free - release a report */
void seg_apply_report_free(seg_apply_report *rep)
{
    if (rep == NULL)
        return;
    g_ptr_array_unref(rep->warnings);
    g_ptr_array_unref(rep->notices);
    g_ptr_array_unref(rep->lines);
    g_free(rep->diff);
    g_free(rep);
}

/* say - one line of what was done */
G_GNUC_PRINTF(2, 3)
static void say(apply_ctx *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_ptr_array_add(c->rep->lines, g_strdup_vprintf(fmt, ap));
    va_end(ap);
}

/* postconf_has_service - does master.cf define name/type? */
static gboolean postconf_has_service(const char *dir, const char *service,
                                     double timeout, gboolean *has,
                                     GError **error)
{
    const char *argv[] = {"postconf", "-c", dir, "-M", service, NULL};
    g_autofree char *out = NULL;
    g_auto(GStrv) lines = NULL;

    if (!seg_apply_run_ok(argv, timeout, FALSE, &out, error))
        return FALSE;
    *has = FALSE;
    lines = g_strsplit(out, "\n", -1);
    for (char **l = lines; *l; l++)
        if (**l && !g_str_has_prefix(*l, "postconf:"))
            *has = TRUE;
    return TRUE;
}

/* postfix_dir - the absolute config_directory */
static char *postfix_dir(const seg_apply_opts *o)
{
    return g_canonicalize_filename(o->postfix_dir ? o->postfix_dir
                                   : SEG_APPLY_DEFAULT_POSTFIX_DIR, NULL);
}

/* seg_apply_target - services and paths of the options */
seg_render_target *seg_apply_target(const seg_apply_opts *o, GError **error)
{
    static const char *const smtpd_default[] = {SEG_RENDER_DEFAULT_SMTPD_SERVICE, NULL};
    static const char *const smtp_default[] = {SEG_RENDER_DEFAULT_SMTP_SERVICE, NULL};
    seg_render_target *t = g_new0(seg_render_target, 1);
    g_autofree char *dir = postfix_dir(o);
    double  timeout = o->timeout > 0 ? o->timeout : SEG_APPLY_DEFAULT_TIMEOUT;
    GPtrArray *smtp = g_ptr_array_new();

    t->smtpd_services = (const char *const *)
        g_strdupv((char **) (o->smtpd_services ? o->smtpd_services : smtpd_default));
    for (const char *const *sv = o->smtp_services ? o->smtp_services : smtp_default;
         *sv; sv++)
        g_ptr_array_add(smtp, g_strdup(*sv));
    t->tls_config_file = g_strdup(o->tls_config_file ? o->tls_config_file
                                  : SEG_APPLY_DEFAULT_TLS_CONFIG);
    if (!o->no_postfix && o->smtp_services == NULL) {
        gboolean has = FALSE;

        if (!postconf_has_service(dir, "relay/unix", timeout, &has, error))
            goto fail;
        if (has)
            g_ptr_array_add(smtp, g_strdup("relay/unix"));
    }
    g_ptr_array_add(smtp, NULL);
    t->smtp_services = (const char *const *) g_ptr_array_free(smtp, FALSE);
    smtp = NULL;
    if (!seg_render_target_check(t, error))
        goto fail;
    if (!o->no_postfix) {
        const char *const *lists[] = {t->smtpd_services, t->smtp_services};

        for (guint i = 0; i < G_N_ELEMENTS(lists); i++) {
            for (const char *const *sv = lists[i]; *sv; sv++) {
                gboolean has = FALSE;

                if (!postconf_has_service(dir, *sv, timeout, &has, error))
                    goto fail;
                if (!has) {
                    g_set_error(error, SEG_ERROR, SEG_ERROR_APPLY,
                                "%s/master.cf has no service %s", dir, *sv);
                    goto fail;
                }
            }
        }
    }
    return t;
fail:
    if (smtp)
        g_ptr_array_free(smtp, TRUE);
    seg_apply_target_free(t);
    return NULL;
}

/* seg_apply_target_free - release a target of seg_apply_target() */
void seg_apply_target_free(seg_render_target *t)
{
    if (t == NULL)
        return;
    g_strfreev((char **) t->smtpd_services);
    g_strfreev((char **) t->smtp_services);
    g_free((char *) t->tls_config_file);
    g_free(t);
}

/* add_file - a managed file; its current contents are read now */
static gboolean add_file(apply_ctx *c, const char *label, char *path,
                         const char *text, GError **error)
{
    apply_file *f = &c->files[c->nfiles++];
    g_autoptr(GError) err = NULL;
    GStatBuf st;

    f->label = label;
    f->path = path;
    f->text = text;
    f->mode = 0644;
    if (g_file_get_contents(path, &f->old, &f->old_len, &err)) {
        f->existed = TRUE;
        if (g_stat(path, &st) == 0)
            f->mode = st.st_mode & 07777;
        return TRUE;
    }
    if (g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT) && text != NULL)
        return TRUE;
    g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "%s", err->message);
    return FALSE;
}

/* check_openssl - every value OpenSSL is going to see */
static gboolean check_openssl(apply_ctx *c, GError **error)
{
    static const char *const pf_apps[] = {
        "openssl_conf", SEG_RENDER_APP_INBOUND, SEG_RENDER_APP_OUTBOUND, NULL,
    };
    static const char *const client_apps[] = {"openssl_conf", NULL};
    const seg_settings *s = c->s;
    const char *in_cert = s->svc[SEG_SVC_INBOUND].certificate;
    const char *gui_cert = s->svc[SEG_SVC_GUI].certificate;
    seg_tls_mode out = s->svc[SEG_SVC_OUTBOUND].tls;

    if (!seg_apply_check_openssl_conf(c->t->tls_config_file, c->r->postfix_tls,
                                      pf_apps, error)
        || !seg_apply_check_openssl_conf(c->o->client_conf ? c->o->client_conf
                                         : SEG_APPLY_DEFAULT_CLIENT_CONF,
                                         c->r->client, client_apps, error))
        return FALSE;
    if (!c->o->no_postfix && in_cert && *in_cert
        && !seg_apply_check_certificate("inbound.certificate", in_cert, error))
        return FALSE;
    if (!c->o->no_nginx && gui_cert && *gui_cert
        && !seg_apply_check_certificate("gui.certificate", gui_cert, error))
        return FALSE;
    if (!c->o->no_postfix && s->outbound_ca_file && *s->outbound_ca_file
        && (out == SEG_TLSMODE_PREFERRED_VERIFY
            || out == SEG_TLSMODE_REQUIRED_VERIFY)
        && !seg_apply_check_ca_file("outbound.ca_file", s->outbound_ca_file,
                                    error))
        return FALSE;
    return TRUE;
}

/* postconf_argv - postconf -c DIR FLAG ARGS... */
static const char **postconf_argv(const char *dir, const char *flag,
                                  GPtrArray *args)
{
    const char **argv = g_new0(const char *, args->len + 5);
    guint   n = 0;

    argv[n++] = "postconf";
    argv[n++] = "-c";
    argv[n++] = dir;
    argv[n++] = flag;
    for (guint i = 0; i < args->len; i++)
        argv[n++] = g_ptr_array_index(args, i);
    return argv;
}

/* postconf_edit - postconf -e and -P into the instance at dir */
static gboolean postconf_edit(apply_ctx *c, const char *dir, GError **error)
{
    g_autofree const char **e = postconf_argv(dir, "-e", c->r->main_cf);
    g_autofree const char **p = postconf_argv(dir, "-P", c->r->master_cf);

    return seg_apply_run_ok(e, c->timeout, FALSE, NULL, error)
        && seg_apply_run_ok(p, c->timeout, FALSE, NULL, error);
}

/* write_text - a whole file, atomically, creating its directory */
static gboolean write_text(const char *path, const char *text, int mode,
                           GError **error)
{
    g_autofree char *dir = g_path_get_dirname(path);

    if (g_mkdir_with_parents(dir, 0755) != 0) {
        int saved = errno;

        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "cannot create %s: %s",
                    dir, g_strerror(saved));
        return FALSE;
    }
    return seg_atomic_write(path, text, strlen(text), mode, error);
}

/* diff_file - append `diff -u old new` to out */
static gboolean diff_file(apply_ctx *c, const char *label, const char *old,
                          const char *new_path, GString *out, GError **error)
{
    g_autofree char *new_label = g_strdup_printf("%s (segtls-apply)", label);
    const char *argv[] = {"diff", "-u", "--label", label, "--label", new_label,
                          old, new_path, NULL};
    g_autofree char *text = NULL;
    int     status;

    if (!seg_apply_run(argv, c->timeout, FALSE, &text, &status, error))
        return FALSE;
    if (status > 1) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_APPLY, "diff failed: %s", text);
        return FALSE;
    }
    if (*text)
        g_string_append_printf(out, "%s\n", text);
    return TRUE;
}

/* dry_run - diff of every file, computed on copies in a temp directory */
static gboolean dry_run(apply_ctx *c, GError **error)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *tmp = g_dir_make_tmp("segtls-apply-XXXXXX", &err);
    g_autoptr(GString) out = g_string_new(NULL);
    GPtrArray *made = g_ptr_array_new_with_free_func(g_free);
    gboolean ok = FALSE;

    if (tmp == NULL) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "%s", err->message);
        g_ptr_array_unref(made);
        return FALSE;
    }
    for (guint i = 0; i < c->nfiles; i++) {
        apply_file *f = &c->files[i];
        char   *copy = g_build_filename(tmp, f->label, NULL);

        g_ptr_array_add(made, copy);
        if (!write_text(copy, f->text ? f->text : f->old, 0600, error))
            goto out;
    }
    if (!c->o->no_postfix && !postconf_edit(c, tmp, error))
        goto out;
    for (guint i = 0; i < c->nfiles; i++) {
        apply_file *f = &c->files[i];

        if (!diff_file(c, f->path, f->existed ? f->path : "/dev/null",
                       g_ptr_array_index(made, i), out, error))
            goto out;
    }
    c->rep->diff = g_strdup(out->str);
    ok = TRUE;
out:
    for (guint i = 0; i < made->len; i++)
        g_unlink(g_ptr_array_index(made, i));
    g_rmdir(tmp);
    g_ptr_array_unref(made);
    return ok;
}

/* keep - copies of the current files under STATE_DIR/apply/ */
static gboolean keep(apply_ctx *c, GError **error)
{
    g_autofree char *dir = g_build_filename(c->o->state_dir ? c->o->state_dir
                                            : SEG_DEFAULT_STATE_DIR, "apply",
                                            NULL);
    g_autoptr(GString) manifest = g_string_new("# path existed\n");

    if (g_mkdir_with_parents(dir, 0700) != 0) {
        int saved = errno;

        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "cannot create %s: %s",
                    dir, g_strerror(saved));
        return FALSE;
    }
    for (guint i = 0; i < c->nfiles; i++) {
        apply_file *f = &c->files[i];
        g_autofree char *copy = g_build_filename(dir, f->label, NULL);

        g_string_append_printf(manifest, "%s %s\n", f->path,
                               f->existed ? "yes" : "no");
        if (f->existed) {
            if (!seg_atomic_write(copy, f->old, f->old_len, 0600, error))
                return FALSE;
        } else {
            g_unlink(copy);
        }
    }
    g_autofree char *mpath = g_build_filename(dir, "manifest", NULL);

    return seg_atomic_write(mpath, manifest->str, manifest->len, 0600, error);
}

/* write_all - postconf for Postfix, whole files for the rest, nginx -t */
static gboolean write_all(apply_ctx *c, GError **error)
{
    c->written = TRUE;
    if (!c->o->no_postfix && !postconf_edit(c, c->pf_dir, error))
        return FALSE;
    for (guint i = 0; i < c->nfiles; i++) {
        apply_file *f = &c->files[i];

        if (f->text && !write_text(f->path, f->text, 0644, error))
            return FALSE;
    }
    say(c, "wrote %u files", c->nfiles);
    return TRUE;
}

/* nginx_run - nginx [-p PREFIX] [-c CONF] ARGS */
static void nginx_run(apply_ctx *c, const char *a1, const char *a2,
                      gboolean *ok, GError **error)
{
    const char *argv[8];
    int     n = 0;

    argv[n++] = "nginx";
    if (c->o->nginx_prefix) {
        argv[n++] = "-p";
        argv[n++] = c->o->nginx_prefix;
    }
    if (c->o->nginx_conf) {
        argv[n++] = "-c";
        argv[n++] = c->o->nginx_conf;
    }
    argv[n++] = a1;
    if (a2)
        argv[n++] = a2;
    argv[n] = NULL;
    *ok = seg_apply_run_ok(argv, c->timeout, FALSE, NULL, error);
}

/* children - pids whose parent is ppid */
static GArray *children(pid_t ppid)
{
    GArray *kids = g_array_new(FALSE, FALSE, sizeof(pid_t));
    GDir   *d = g_dir_open("/proc", 0, NULL);
    const char *name;

    while (d && (name = g_dir_read_name(d)) != NULL) {
        g_autofree char *path = NULL;
        g_autofree char *stat = NULL;
        char   *rp;
        pid_t   pid = atoi(name), parent;

        if (pid <= 0)
            continue;
        path = g_strdup_printf("/proc/%s/stat", name);
        if (!g_file_get_contents(path, &stat, NULL, NULL)
            || (rp = strrchr(stat, ')')) == NULL)
            continue;
        if (sscanf(rp + 1, " %*c %d", &parent) == 1 && parent == ppid)
            g_array_append_val(kids, pid);
    }
    if (d)
        g_dir_close(d);
    return kids;
}

/* postfix_master_pid - pid of the running master, or 0 */
static pid_t postfix_master_pid(apply_ctx *c)
{
    const char *argv[] = {"postconf", "-c", c->pf_dir, "-h", "queue_directory", NULL};
    g_autofree char *qdir = NULL;
    g_autofree char *path = NULL;
    g_autofree char *text = NULL;
    pid_t   pid;

    if (!seg_apply_run_ok(argv, c->timeout, FALSE, &qdir, NULL))
        return 0;
    path = g_build_filename(qdir, "pid", "master.pid", NULL);
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return 0;
    pid = atoi(g_strstrip(text));
    return pid > 0 && kill(pid, 0) == 0 ? pid : 0;
}

/* postfix_reload - reload and wait until the old children are gone */
static gboolean postfix_reload(apply_ctx *c, GError **error)
{
    const char *argv[] = {"postfix", "-c", c->pf_dir, "reload", NULL};
    g_autoptr(GArray) kids = children(c->master);
    gint64  deadline;

    if (!seg_apply_run_ok(argv, c->timeout, TRUE, NULL, error))
        return FALSE;
    deadline = g_get_monotonic_time() + RELOAD_WAIT_US;
    for (guint i = 0; i < kids->len; i++)
        while (kill(g_array_index(kids, pid_t, i), 0) == 0
               && g_get_monotonic_time() < deadline)
            g_usleep(20 * 1000);
    say(c, "reloaded Postfix (%s)", c->pf_dir);
    return TRUE;
}

/* reload_all - Postfix and nginx, as configured */
static gboolean reload_all(apply_ctx *c, GError **error)
{
    gboolean ok = TRUE;

    if (!c->o->no_postfix && !postfix_reload(c, error))
        return FALSE;
    if (!c->o->no_nginx) {
        nginx_run(c, "-s", "reload", &ok, error);
        if (ok)
            say(c, "reloaded nginx");
    }
    return ok;
}

/* restore - the kept files back, reload; errors are added to msg */
static void restore(apply_ctx *c, GString *msg)
{
    g_autoptr(GError) err = NULL;

    for (guint i = 0; i < c->nfiles; i++) {
        apply_file *f = &c->files[i];
        g_autoptr(GError) ferr = NULL;

        if (f->existed
            ? !seg_atomic_write(f->path, f->old, f->old_len, f->mode, &ferr)
            : (g_unlink(f->path) != 0 && errno != ENOENT)) {
            g_string_append_printf(msg, "; cannot restore %s: %s", f->path,
                                   ferr ? ferr->message : g_strerror(errno));
            return;
        }
    }
    if (!reload_all(c, &err)) {
        g_string_append_printf(msg, "; the previous files were restored, but "
                               "the reload failed: %s", err->message);
        return;
    }
    g_string_append(msg, "; the previous configuration was restored");
}

/* fail - turn an error into one that also says what was restored */
static gboolean fail(apply_ctx *c, GError *cause, GError **error)
{
    g_autoptr(GString) msg = g_string_new(cause->message);

    if (c->written)
        restore(c, msg);
    g_set_error(error, SEG_ERROR, SEG_ERROR_APPLY, "%s", msg->str);
    g_error_free(cause);
    return FALSE;
}

/* prepare - target, rendering, checks, managed files */
static gboolean prepare(apply_ctx *c, GError **error)
{
    g_autoptr(GPtrArray) warnings = seg_settings_warnings(c->s);
    const seg_apply_opts *o = c->o;

    for (guint i = 0; i < warnings->len; i++)
        g_ptr_array_add(c->rep->warnings, g_strdup(g_ptr_array_index(warnings, i)));
    if ((c->t = seg_apply_target(o, error)) == NULL
        || (c->r = seg_render_new(c->s, c->t, error)) == NULL)
        return FALSE;
    for (guint i = 0; i < c->r->notices->len; i++)
        g_ptr_array_add(c->rep->notices, g_strdup(g_ptr_array_index(c->r->notices, i)));
    if (!check_openssl(c, error))
        return FALSE;
    if (!o->no_postfix
        && (!add_file(c, "main.cf", g_build_filename(c->pf_dir, "main.cf", NULL),
                      NULL, error)
            || !add_file(c, "master.cf", g_build_filename(c->pf_dir, "master.cf", NULL),
                         NULL, error)
            || !add_file(c, "postfix-tls.cnf", g_strdup(c->t->tls_config_file),
                         c->r->postfix_tls, error)))
        return FALSE;
    if (!o->no_nginx
        && !add_file(c, "nginx-gui.conf",
                     g_strdup(o->nginx_include ? o->nginx_include
                              : SEG_APPLY_DEFAULT_NGINX_INCLUDE),
                     c->r->nginx, error))
        return FALSE;
    return add_file(c, "openssl-client.cnf",
                    g_strdup(o->client_conf ? o->client_conf
                             : SEG_APPLY_DEFAULT_CLIENT_CONF),
                    c->r->client, error);
}

/* run - the sequence after prepare() */
static gboolean run(apply_ctx *c, GError **error)
{
    GError *err = NULL;
    gboolean ok = TRUE;

    if (c->o->dry_run)
        return dry_run(c, error);
    /* asked before writing: postconf waits while main.cf is brand new */
    if (!c->o->no_postfix && (c->master = postfix_master_pid(c)) == 0) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_APPLY,
                    "Postfix (%s) is not running; nothing was changed",
                    c->pf_dir);
        return FALSE;
    }
    if (!keep(c, error))
        return FALSE;
    if (!write_all(c, &err))
        return fail(c, err, error);
    if (!c->o->no_nginx) {
        nginx_run(c, "-t", NULL, &ok, &err);
        if (!ok)
            return fail(c, err, error);
    }
    if (!reload_all(c, &err)
        || !seg_apply_probe(c->s, c->o, c->t, c->rep->lines, &err))
        return fail(c, err, error);
    return TRUE;
}

/* seg_apply - render, check, keep, write, reload, probe, restore */
gboolean seg_apply(const seg_settings *s, const seg_apply_opts *o,
                   seg_apply_report *rep, GError **error)
{
    apply_ctx c = {.s = s, .o = o, .rep = rep};
    gboolean ok;

    c.timeout = o->timeout > 0 ? o->timeout : SEG_APPLY_DEFAULT_TIMEOUT;
    c.pf_dir = postfix_dir(o);
    ok = prepare(&c, error) && run(&c, error);
    for (guint i = 0; i < c.nfiles; i++) {
        g_free(c.files[i].path);
        g_free(c.files[i].old);
    }
    seg_render_free(c.r);
    seg_apply_target_free(c.t);
    g_free(c.pf_dir);
    return ok;
}
