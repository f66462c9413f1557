/*
 * apply - render, validate, keep, write, reload, probe, restore.
 *
 * The sequence is described in apply.h. This file holds the sequence,
 * the target, the OpenSSL checks and the reloads; apply_files.c the
 * managed files, apply_probe.c the probes. Any failure after the first
 * write puts the kept files back and reloads again.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "apply_int.h"
#include "atomic.h"
#include "error.h"
#include "store.h"
#include "warnings.h"

#define RELOAD_WAIT_US  (5 * G_USEC_PER_SEC)   /* idle old Postfix children exit */
#define RELOAD_POLL_US  (5 * 1000)

/* master_services - the set of "name/type" that master.cf defines */
static GHashTable *master_services(const char *dir, double timeout,
                                   GError **error)
{
    const char *argv[] = {"postconf", "-c", dir, "-M", NULL};
    g_autofree char *out = NULL;
    g_auto(GStrv) lines = NULL;
    GHashTable *set;

    if (!seg_apply_run_ok(argv, timeout, FALSE, &out, error))
        return NULL;
    set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    lines = g_strsplit(out, "\n", -1);
    for (char **l = lines; *l; l++) {
        const char *name = *l, *type;
        size_t  nlen, tlen;

        /* continuation lines of a folded entry start with white space */
        if (*name == 0 || g_ascii_isspace(*name) || g_str_has_prefix(name, "postconf:"))
            continue;
        nlen = strcspn(name, " \t");
        type = name + nlen + strspn(name + nlen, " \t");
        if ((tlen = strcspn(type, " \t")) > 0)
            g_hash_table_add(set, g_strdup_printf("%.*s/%.*s", (int) nlen, name,
                                                  (int) tlen, type));
    }
    return set;
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
    GPtrArray *smtp = g_ptr_array_new_with_free_func(g_free);
    GHashTable *services = NULL;

    t->smtpd_services = (const char *const *)
        g_strdupv((char **) (o->smtpd_services ? o->smtpd_services : smtpd_default));
    for (const char *const *sv = o->smtp_services ? o->smtp_services : smtp_default;
         *sv; sv++)
        g_ptr_array_add(smtp, g_strdup(*sv));
    t->tls_config_file = g_strdup(o->tls_config_file ? o->tls_config_file
                                  : SEG_APPLY_DEFAULT_TLS_CONFIG);
    t->gui_log = g_strdup(o->gui_log);
    if (!o->no_postfix
        && (services = master_services(dir, timeout, error)) == NULL)
        goto fail;
    if (services && o->smtp_services == NULL
        && g_hash_table_contains(services, "relay/unix"))
        g_ptr_array_add(smtp, g_strdup("relay/unix"));
    g_ptr_array_add(smtp, NULL);
    t->smtp_services = (const char *const *) g_ptr_array_free(smtp, FALSE);
    smtp = NULL;
    if (!seg_render_target_check(t, error))
        goto fail;
    if (services) {
        const char *const *lists[] = {t->smtpd_services, t->smtp_services};

        for (guint i = 0; i < G_N_ELEMENTS(lists); i++) {
            for (const char *const *sv = lists[i]; *sv; sv++) {
                if (!g_hash_table_contains(services, *sv)) {
                    g_set_error(error, SEG_ERROR, SEG_ERROR_APPLY,
                                "%s/master.cf has no service %s", dir, *sv);
                    goto fail;
                }
            }
        }
    }
    g_clear_pointer(&services, g_hash_table_unref);
    return t;
fail:
    if (smtp)
        g_ptr_array_free(smtp, TRUE);
    if (services)
        g_hash_table_unref(services);
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
    g_free((char *) t->gui_log);
    g_free(t);
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

/*
 * idle - is pid, a Postfix daemon, waiting for work (not serving anyone)?
 *
 * A Postfix daemon waits for work in its event loop (epoll_wait, or
 * flock on the accept lock); serving a client it sits in poll() or
 * read()/write() with a timeout. /proc/PID/syscall says which; when it
 * cannot be read the process counts as idle (waited for, to be safe).
 */
static gboolean idle(pid_t pid)
{
    static const long waits[] = {
#ifdef SYS_epoll_wait
        SYS_epoll_wait,
#endif
#ifdef SYS_epoll_pwait
        SYS_epoll_pwait,
#endif
#ifdef SYS_epoll_pwait2
        SYS_epoll_pwait2,
#endif
        SYS_flock,
    };
    g_autofree char *path = g_strdup_printf("/proc/%d/syscall", (int) pid);
    g_autofree char *text = NULL;
    char   *end;
    long    nr;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return TRUE;
    nr = strtol(text, &end, 10);
    if (end == text)                    /* "running": busy right now */
        return FALSE;
    for (guint i = 0; i < G_N_ELEMENTS(waits); i++)
        if (nr == waits[i])
            return TRUE;
    return FALSE;
}

/*
 * postfix_reload - reload; wait until the master has taken it
 *
 * postfix reload only signals the master. The master then reads the new
 * configuration and closes the status pipe of every service; an old
 * daemon sees that and exits as soon as it is idle, and one that has
 * accepted a connection since then exits before serving it (its "taken"
 * notice fails), so from then on every new connection is served with
 * the new configuration. An old daemon that is serving a client keeps
 * its session and leaves when that ends: it is not waited for (an SMTP
 * session may last minutes, and is never cut). So: wait until every old
 * child is gone or busy; the idle ones (qmgr and pickup at least) prove
 * that the master has read the new configuration. The probes then check
 * what new connections really get.
 */
static gboolean postfix_reload(apply_ctx *c, GError **error)
{
    const char *argv[] = {"postfix", "-c", c->pf_dir, "reload", NULL};
    g_autoptr(GArray) kids = children(c->master);
    gint64  deadline;
    gboolean waiting = TRUE;

    if (!seg_apply_run_ok(argv, c->timeout, TRUE, NULL, error))
        return FALSE;
    deadline = g_get_monotonic_time() + RELOAD_WAIT_US;
    while (waiting && g_get_monotonic_time() < deadline) {
        waiting = FALSE;
        for (guint i = 0; i < kids->len && !waiting; i++) {
            pid_t   pid = g_array_index(kids, pid_t, i);

            waiting = kill(pid, 0) == 0 && idle(pid);
        }
        if (waiting)
            g_usleep(RELOAD_POLL_US);
    }
    apply_say(c, "reloaded Postfix (%s)", c->pf_dir);
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
            apply_say(c, "reloaded nginx");
    }
    return ok;
}

/* restore - the kept files back, reload; errors are added to msg */
static void restore(apply_ctx *c, GString *msg)
{
    g_autoptr(GError) err = NULL;

    if (!apply_restore_files(c, msg))
        return;
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

/* managed - is a "Warning: Title: ..." line about a server being applied? */
static gboolean managed(apply_ctx *c, const char *line)
{
    const char *colon = strchr(line, ':');
    const char *title = colon ? colon + 2 : line;

    if (c->o->no_nginx && g_str_has_prefix(title, seg_service_title(SEG_SVC_GUI)))
        return FALSE;
    if (c->o->no_postfix
        && (g_str_has_prefix(title, seg_service_title(SEG_SVC_INBOUND))
            || g_str_has_prefix(title, seg_service_title(SEG_SVC_OUTBOUND))))
        return FALSE;
    return TRUE;
}

/* copy_managed - the lines of from that concern a managed server */
static void copy_managed(apply_ctx *c, GPtrArray *from, GPtrArray *to)
{
    for (guint i = 0; i < from->len; i++)
        if (managed(c, g_ptr_array_index(from, i)))
            g_ptr_array_add(to, g_strdup(g_ptr_array_index(from, i)));
}

/* prepare - target, rendering, checks, managed files */
static gboolean prepare(apply_ctx *c, GError **error)
{
    g_autoptr(GPtrArray) warnings = seg_settings_warnings(c->s);
    const seg_apply_opts *o = c->o;

    copy_managed(c, warnings, c->rep->warnings);
    if ((c->t = seg_apply_target(o, error)) == NULL
        || (c->r = seg_render_new(c->s, c->t, error)) == NULL)
        return FALSE;
    copy_managed(c, c->r->notices, c->rep->notices);
    if (!check_openssl(c, error))
        return FALSE;
    if (!o->no_postfix
        && (!apply_add_file(c, "main.cf", g_build_filename(c->pf_dir, "main.cf", NULL),
                      NULL, error)
            || !apply_add_file(c, "master.cf", g_build_filename(c->pf_dir, "master.cf", NULL),
                         NULL, error)
            || !apply_add_file(c, "postfix-tls.cnf", g_strdup(c->t->tls_config_file),
                         c->r->postfix_tls, error)))
        return FALSE;
    if (!o->no_nginx
        && !apply_add_file(c, "nginx-gui.conf",
                     g_strdup(o->nginx_include ? o->nginx_include
                              : SEG_APPLY_DEFAULT_NGINX_INCLUDE),
                     c->r->nginx, error))
        return FALSE;
    return apply_add_file(c, "openssl-client.cnf",
                    g_strdup(o->client_conf ? o->client_conf
                             : SEG_APPLY_DEFAULT_CLIENT_CONF),
                    c->r->client, error);
}

/* run - the sequence after prepare(), under STATE_DIR/apply/lock */
static gboolean run(apply_ctx *c, GError **error)
{
    g_autofree char *dir = NULL;
    g_autofree char *lock_path = NULL;
    GError *err = NULL;
    gboolean ok = TRUE;
    int     lock;

    if (c->o->dry_run)
        return apply_dry_run(c, error);
    /* asked before writing: postconf waits while main.cf is brand new */
    if (!c->o->no_postfix && (c->master = postfix_master_pid(c)) == 0) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_APPLY,
                    "Postfix (%s) is not running; nothing was changed",
                    c->pf_dir);
        return FALSE;
    }
    if ((dir = apply_state_dir(c, error)) == NULL)
        return FALSE;
    lock_path = g_build_filename(dir, "lock", NULL);
    if ((lock = seg_lock_acquire(lock_path, error)) < 0)
        return FALSE;
    if (!apply_keep(c, dir, error))
        ok = FALSE;
    else if (!apply_write_all(c, &err))
        ok = fail(c, err, error);
    else if (!c->o->no_nginx && (nginx_run(c, "-t", NULL, &ok, &err), !ok))
        ok = fail(c, err, error);
    else if (!reload_all(c, &err)
             || !seg_apply_probe(c->s, c->o, c->t, c->rep->lines, &err))
        ok = fail(c, err, error);
    seg_lock_release(lock);
    return ok;
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
