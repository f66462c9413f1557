/*
 * apply - render, validate, keep, write, reload, probe, restore.
 *
 * The sequence is described in apply.h. This file holds the sequence,
 * the OpenSSL checks, whether each server runs, and the reloads;
 * apply_services.c reads master.cf, apply_params.c changes the Postfix
 * parameters, apply_files.c the managed files, apply_probe.c proves.
 * Everything from reading the current configuration to the last probe
 * happens under STATE_DIR/apply/lock. Any failure after the first write
 * puts back what segtls changed (and nobody changed since) and reloads
 * again. A server that does not run gets its configuration, is neither
 * reloaded nor probed, and one line says so.
 */
#include <errno.h>
#include <fcntl.h>
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

#define APPLY_LOCK_WAIT_MS (300 * 1000)        /* a second apply waits this long */
#define RELOAD_WAIT_US  (5 * G_USEC_PER_SEC)   /* idle old Postfix children exit */
#define RELOAD_POLL_US  (5 * 1000)

/* postfix_dir - the absolute config_directory */
static char *postfix_dir(const seg_apply_opts *o)
{
    return g_canonicalize_filename(o->postfix_dir ? o->postfix_dir
                                   : SEG_APPLY_DEFAULT_POSTFIX_DIR, NULL);
}

/* seg_apply_target - the governed services and the paths of the options */
seg_render_target *seg_apply_target(const seg_apply_opts *o, GError **error)
{
    g_autoptr(GPtrArray) services = NULL;
    seg_render_target *t;

    if (!o->no_postfix && (services = seg_apply_services(o, error)) == NULL)
        return NULL;
    t = apply_target_new(o, services);
    t->policy_service = o->policy_service;
    if (!seg_render_target_check(t, error)) {
        seg_apply_target_free(t);
        return NULL;
    }
    return t;
}

/* seg_apply_target_free - release a target of seg_apply_target() */
void seg_apply_target_free(seg_render_target *t)
{
    if (t == NULL)
        return;
    g_strfreev((char **) t->smtpd_services);
    g_strfreev((char **) t->smtp_services);
    g_strfreev((char **) t->lmtp_services);
    g_strfreev((char **) t->own_level);
    g_free((char *) t->tls_config_file);
    g_free((char *) t->gui_log);
    g_free(t);
}

/* check_openssl - every value OpenSSL is going to see */
static gboolean check_openssl(apply_ctx *c, GError **error)
{
    static const char *const pf_apps[] = {
        SEG_RENDER_APP_INBOUND, SEG_RENDER_APP_OUTBOUND, NULL,
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

/* nginx_run - nginx [-p PREFIX] [-c CONF] ARGS; output when asked */
static gboolean nginx_run(apply_ctx *c, const char *a1, const char *a2,
                          char **output, GError **error)
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
    return seg_apply_run_ok(argv, c->timeout, FALSE, output, error);
}

/* word_after - the value of "NAME VALUE;" or "--NAME=VALUE" in text, or NULL */
static char *word_after(const char *text, const char *name, gboolean directive)
{
    g_auto(GStrv) lines = g_strsplit(text ? text : "", "\n", -1);
    gsize   nlen = strlen(name);

    for (char **l = lines; *l; l++) {
        const char *p = *l + strspn(*l, " \t");

        if (directive) {
            if (strncmp(p, name, nlen) == 0 && (p[nlen] == ' ' || p[nlen] == '\t')) {
                p += nlen + strspn(p + nlen, " \t");
                return g_strndup(p, strcspn(p, "; \t"));
            }
            continue;
        }
        for (const char *q = strstr(p, name); q; q = strstr(q + 1, name))
            if (q == p || q[-1] == ' ')
                return g_strndup(q + nlen, strcspn(q + nlen, " "));
    }
    return NULL;
}

/*
 * nginx_pid_path - where the nginx master writes its pid: the "pid"
 * directive (nginx -T shows every included file), else nginx's built-in
 * --pid-path; relative to the prefix (-p, else the built-in --prefix)
 */
static char *nginx_pid_path(apply_ctx *c)
{
    g_autofree char *dump = NULL;
    g_autofree char *version = NULL;
    g_autofree char *path = NULL;
    g_autofree char *prefix = NULL;

    (void) nginx_run(c, "-T", NULL, &dump, NULL);
    (void) nginx_run(c, "-V", NULL, &version, NULL);
    if ((path = word_after(dump, "pid", TRUE)) == NULL
        && (path = word_after(version, "--pid-path=", FALSE)) == NULL)
        path = g_strdup("/run/nginx.pid");
    if (g_path_is_absolute(path))
        return g_steal_pointer(&path);
    prefix = g_strdup(c->o->nginx_prefix);
    if (prefix == NULL && (prefix = word_after(version, "--prefix=", FALSE)) == NULL)
        prefix = g_strdup("/");
    return g_build_filename(prefix, path, NULL);
}

/* live_pid - the pid in a pid file when that process runs; why not in *why */
static pid_t live_pid(const char *path, const char *what, char **why)
{
    g_autofree char *text = NULL;
    pid_t   pid = 0;

    if (g_file_get_contents(path, &text, NULL, NULL))
        pid = atoi(g_strstrip(text));
    if (pid > 0 && kill(pid, 0) == 0)
        return pid;
    *why = pid > 0 ? g_strdup_printf("pid %d in %s is gone", (int) pid, path)
        : g_strdup_printf("no %spid in %s", what, path);
    return 0;
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

/* postfix_master_pid - pid of the running master, or 0 and *why */
static pid_t postfix_master_pid(apply_ctx *c, char **why)
{
    const char *argv[] = {"postconf", "-c", c->pf_dir, "-hx", "queue_directory",
                          "process_id_directory", NULL};
    g_autofree char *out = NULL;
    g_autofree char *path = NULL;
    g_auto(GStrv) dirs = NULL;

    if (!seg_apply_run_ok(argv, c->timeout, FALSE, &out, NULL)
        || g_strv_length(dirs = g_strsplit(out, "\n", -1)) != 2) {
        *why = g_strdup_printf("postconf -c %s cannot say where its pid is", c->pf_dir);
        return 0;
    }
    path = g_build_filename(dirs[0], dirs[1], "master.pid", NULL);
    return live_pid(path, "master ", why);
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

/*
 * find_running - which servers run, now that their files are written;
 * one line for each that does not
 */
static void find_running(apply_ctx *c)
{
    if (!c->o->no_postfix) {
        g_autofree char *why = NULL;

        c->postfix_runs = (c->master = postfix_master_pid(c, &why)) != 0;
        if (!c->postfix_runs)
            apply_say(c, "Postfix is not running (%s): its parameters were "
                      "written, nothing was proven; start Postfix, then "
                      "apply again (segtls apply)", why);
    }
    if (!c->o->no_nginx) {
        g_autofree char *path = nginx_pid_path(c);
        g_autofree char *why = NULL;

        c->nginx_runs = live_pid(path, "", &why) != 0;
        if (!c->nginx_runs)
            apply_say(c, "nginx is not running (%s): %s was written and "
                      "nginx -t accepts it, nothing was proven; start nginx, "
                      "then apply again (segtls apply)", why,
                      c->o->nginx_include ? c->o->nginx_include
                      : SEG_APPLY_DEFAULT_NGINX_INCLUDE);
    }
}

/* reload_all - the servers that run */
static gboolean reload_all(apply_ctx *c, GError **error)
{
    if (c->postfix_runs && !postfix_reload(c, error))
        return FALSE;
    if (c->nginx_runs) {
        if (!nginx_run(c, "-s", "reload", NULL, error))
            return FALSE;
        apply_say(c, "reloaded nginx");
    }
    return TRUE;
}

/*
 * restore - put back what segtls changed and nobody changed since, then
 * reload (always: a part that could not be put back stops nothing)
 */
static void restore(apply_ctx *c, GString *msg)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GString) notes = g_string_new(NULL);

    if (!c->o->no_postfix) {
        apply_params_restore(c, notes);
        apply_cool_main_cf(c);
    }
    apply_restore_files(c, notes);
    if (!reload_all(c, &err))
        g_string_append_printf(msg, "; the previous configuration was put "
                               "back, but the reload failed: %s", err->message);
    else
        g_string_append(msg, "; the previous configuration was restored");
    g_string_append(msg, notes->str);
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

/*
 * add_tables - the Destination Controls and sender-group tables, whole
 * files written atomically like the others: Postfix (and segtls-policy)
 * never see one half-written
 */
static gboolean add_tables(apply_ctx *c, GError **error)
{
    const struct {
        const char *label;
        const char *name;
        const char *text;
    } tables[] = {
        {SEG_RENDER_POLICY_MAP, SEG_RENDER_POLICY_MAP, c->r->policy_map},
        {SEG_RENDER_EHLO_MAP, SEG_RENDER_EHLO_MAP, c->r->ehlo_map},
        {SEG_RENDER_GROUPS_FILE, SEG_RENDER_GROUPS_FILE, c->r->groups},
    };

    for (guint i = 0; i < G_N_ELEMENTS(tables); i++)
        if (tables[i].text != NULL
            && !apply_add_file(c, tables[i].label,
                               seg_render_table_path(c->t, tables[i].name),
                               tables[i].text, error))
            return FALSE;
    return TRUE;
}

/* prepare - services, target, rendering, checks, managed files, the plan */
static gboolean prepare(apply_ctx *c, GError **error)
{
    g_autoptr(GPtrArray) warnings = seg_settings_warnings(c->s);
    const seg_apply_opts *o = c->o;

    copy_managed(c, warnings, c->rep->warnings);
    if (!o->no_postfix
        && ((c->services = seg_apply_services(o, error)) == NULL
            || !apply_ledger_load(c, error)))
        return FALSE;
    apply_services_own_level(c);
    if (!o->no_postfix && !apply_routes(c, error))
        return FALSE;
    c->t = apply_target_new(o, c->services);
    c->t->policy_service = o->policy_service;
    c->t->relayhost = c->relayhost;
    c->t->sender_restrictions = c->sender_restrictions;
    c->t->routes = (const char *const *) c->routes;
    if (!seg_render_target_check(c->t, error)
        || (c->r = seg_render_new(c->s, c->t, error)) == NULL)
        return FALSE;
    copy_managed(c, c->r->notices, c->rep->notices);
    if (!check_openssl(c, error) || !apply_probe_check(c, error))
        return FALSE;
    if (!o->no_postfix
        && (!apply_add_file(c, "main.cf", g_build_filename(c->pf_dir, "main.cf", NULL),
                            NULL, error)
            || !apply_add_file(c, "master.cf", g_build_filename(c->pf_dir, "master.cf", NULL),
                               NULL, error)
            || !apply_add_file(c, "postfix-tls.cnf", g_strdup(c->t->tls_config_file),
                               c->r->postfix_tls, error)
            || !add_tables(c, error)
            || !apply_params_plan(c, error)))
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

/* make_state_dir - STATE_DIR/apply, created 0700 */
static gboolean make_state_dir(apply_ctx *c, GError **error)
{
    if (g_mkdir_with_parents(c->state_dir, 0700) != 0) {
        int saved = errno;

        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "cannot create %s: %s",
                    c->state_dir, g_strerror(saved));
        return FALSE;
    }
    return TRUE;
}

/* write_and_prove - write, nginx -t, reload, probe; restore on failure */
static gboolean write_and_prove(apply_ctx *c, GError **error)
{
    GError *err = NULL;

    if (!apply_write_all(c, &err)
        || (!c->o->no_nginx && !nginx_run(c, "-t", NULL, NULL, &err)))
        return fail(c, err, error);
    find_running(c);
    if (!reload_all(c, &err) || !apply_probe(c, &err))
        return fail(c, err, error);
    if (!c->o->no_postfix && !apply_ledger_save(c, &err)) {
        apply_say(c, "cannot record the master.cf overrides segtls set: %s",
                  err->message);
        g_clear_error(&err);
    }
    return TRUE;
}

/* run - the sequence, under STATE_DIR/apply/lock */
static gboolean run(apply_ctx *c, GError **error)
{
    g_autofree char *lock_path = g_build_filename(c->state_dir, "lock", NULL);
    gboolean ok;
    int     lock;

    if (!make_state_dir(c, error)
        || (lock = seg_lock_acquire_wait(lock_path, APPLY_LOCK_WAIT_MS, error)) < 0)
        return FALSE;
    ok = prepare(c, error) && apply_keep(c, error) && write_and_prove(c, error);
    seg_lock_release(lock);
    return ok;
}

/* wrote_it - does path hold a file segtls-apply wrote (its first lines say so) */
static gboolean wrote_it(const char *path)
{
    char    buf[256];
    ssize_t n;
    int     fd;

    if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        return FALSE;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return FALSE;
    buf[n] = '\0';
    return strstr(buf, "written by segtls-apply") != NULL;
}

/*
 * remove_file - remove a file segtls wrote; its text in *kept when asked
 * (to put it back). A file segtls did not write is left and named.
 */
static gboolean remove_file(apply_ctx *c, const char *path, char **kept, GError **error)
{
    if (!g_file_test(path, G_FILE_TEST_EXISTS))
        return TRUE;
    if (!wrote_it(path)) {
        apply_say(c, "left %s: segtls-apply did not write it", path);
        return TRUE;
    }
    if (kept && !g_file_get_contents(path, kept, NULL, error))
        return FALSE;
    if (unlink(path) < 0) {
        int     saved = errno;

        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "cannot remove %s: %s", path,
                    g_strerror(saved));
        return FALSE;
    }
    apply_say(c, "removed %s", path);
    return TRUE;
}

/* remove_postfix - the overrides back, reload, tls_config_file removed */
static gboolean remove_postfix(apply_ctx *c, GError **error)
{
    g_autofree char *why = NULL;

    if ((c->services = seg_apply_services(c->o, error)) == NULL
        || !apply_ledger_load(c, error) || !apply_params_unplan(c, error)
        || !apply_params_write(c, c->pf_dir, error) || !apply_ledger_save(c, error))
        return FALSE;
    apply_say(c, "put back %u master.cf overrides (%s)", c->params->len, c->pf_dir);
    if ((c->master = postfix_master_pid(c, &why)) != 0) {
        if (!postfix_reload(c, error))
            return FALSE;
    }
    else
        apply_say(c, "Postfix is not running (%s): nothing reloaded", why);
    return remove_file(c, c->o->tls_config_file ? c->o->tls_config_file
                       : SEG_APPLY_DEFAULT_TLS_CONFIG, NULL, error);
}

/* remove_nginx - the include removed when nginx -t passes without it; reload */
static gboolean remove_nginx(apply_ctx *c, GError **error)
{
    const char *inc = c->o->nginx_include ? c->o->nginx_include
        : SEG_APPLY_DEFAULT_NGINX_INCLUDE;
    g_autofree char *kept = NULL;
    g_autofree char *pid_path = NULL;
    g_autoptr(GError) err = NULL;
    g_autofree char *why = NULL;

    if (!remove_file(c, inc, &kept, error))
        return FALSE;
    if (kept == NULL)
        return TRUE;
    if (!nginx_run(c, "-t", NULL, NULL, &err)) {
        if (!seg_atomic_write(inc, kept, strlen(kept), 0644, error))
            return FALSE;
        g_set_error(error, SEG_ERROR, SEG_ERROR_APPLY, "nginx still needs %s (put back: "
                    "remove the server block that includes it first): %s", inc, err->message);
        return FALSE;
    }
    pid_path = nginx_pid_path(c);
    if (live_pid(pid_path, "", &why) == 0)
        return TRUE;
    if (!nginx_run(c, "-s", "reload", NULL, error))
        return FALSE;
    apply_say(c, "reloaded nginx");
    return TRUE;
}

/* seg_apply_remove - see apply.h */
gboolean seg_apply_remove(const seg_apply_opts *o, seg_apply_report *rep, GError **error)
{
    apply_ctx c = {.o = o, .rep = rep};
    g_autofree char *lock_path = NULL;
    gboolean ok;
    int     lock;

    c.timeout = o->timeout > 0 ? o->timeout : SEG_APPLY_DEFAULT_TIMEOUT;
    c.pf_dir = postfix_dir(o);
    c.state_dir = g_build_filename(o->state_dir ? o->state_dir
                                   : SEG_DEFAULT_STATE_DIR, "apply", NULL);
    lock_path = g_build_filename(c.state_dir, "lock", NULL);
    ok = make_state_dir(&c, error)
        && (lock = seg_lock_acquire_wait(lock_path, APPLY_LOCK_WAIT_MS, error)) >= 0;
    if (ok) {
        ok = (o->no_postfix || remove_postfix(&c, error))
            && (o->no_nginx || remove_nginx(&c, error))
            && remove_file(&c, o->client_conf ? o->client_conf
                           : SEG_APPLY_DEFAULT_CLIENT_CONF, NULL, error);
        seg_lock_release(lock);
    }
    if (c.services)
        g_ptr_array_unref(c.services);
    if (c.ledger)
        g_hash_table_unref(c.ledger);
    if (c.params)
        g_ptr_array_unref(c.params);
    g_free(c.pf_dir);
    g_free(c.state_dir);
    return ok;
}

/* seg_apply - lock, render, check, keep, write, reload, probe, restore */
gboolean seg_apply(const seg_settings *s, const seg_apply_opts *o,
                   seg_apply_report *rep, GError **error)
{
    apply_ctx c = {.s = s, .o = o, .rep = rep};
    gboolean ok;

    c.timeout = o->timeout > 0 ? o->timeout : SEG_APPLY_DEFAULT_TIMEOUT;
    c.pf_dir = postfix_dir(o);
    c.state_dir = g_build_filename(o->state_dir ? o->state_dir
                                   : SEG_DEFAULT_STATE_DIR, "apply", NULL);
    if (o->dry_run)
        ok = prepare(&c, error) && apply_dry_run(&c, error);
    else
        ok = run(&c, error);
    for (guint i = 0; i < c.nfiles; i++) {
        g_free(c.files[i].path);
        g_free(c.files[i].old);
    }
    if (c.services)
        g_ptr_array_unref(c.services);
    if (c.ledger)
        g_hash_table_unref(c.ledger);
    if (c.params)
        g_ptr_array_unref(c.params);
    seg_render_free(c.r);
    seg_apply_target_free(c.t);
    g_free(c.relayhost);
    g_free(c.sender_restrictions);
    g_strfreev(c.routes);
    g_free(c.pf_dir);
    g_free(c.state_dir);
    return ok;
}
