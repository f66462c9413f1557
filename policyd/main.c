/*
 * segtls-policyd - the daemon that holds the segtls settings.
 *
 * It owns the store (committed settings, pending changes, rollback
 * history: files, or in cluster mode etcd, cluster.c) and answers the
 * control protocol (lib/policy/ctl.h) on a UNIX socket, and with
 * --read-socket on a second, read-only one.
 * This file is the process: options, the socket's privileges, daemon
 * mode, pidfile and signals (SIGHUP reloads the committed file and the
 * apply configuration, SIGTERM and SIGINT stop cleanly). --check-config
 * only loads a file and says what is wrong with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <glib-unix.h>

#include "ctl.h"
#include "error.h"
#include "metrics.h"
#include "msg.h"
#include "sigpipe.h"
#include "privs.h"
#include "policyd.h"
#include "record.h"
#include "web.h"
#include "quote.h"

static char *opt_config;
static char *opt_state_dir;
static char *opt_socket;
static char *opt_group;
static char *opt_read_socket;
static char *opt_read_group;
static char **opt_cert_dirs;
static char *opt_pidfile;
static char *opt_user;
static char *opt_apply_config;
static char *opt_log_file;
static char *opt_web_socket;
static char *opt_web_group;
static char *opt_web_admin_group;
static char *opt_web_read_group;
static char *opt_gui_log;
static char *opt_mail_log;
static char *opt_pam_service;
static int opt_web_idle = WEB_DEFAULT_IDLE;
static gboolean opt_foreground;
static gboolean opt_check;
static int opt_verbose;

/* opt_verbose_cb - each -v raises the debug level */
static gboolean opt_verbose_cb(const char *name, const char *value,
                               gpointer data, GError **error)
{
    opt_verbose++;
    return TRUE;
}

static char *opt_metrics;
static int opt_drift_interval = -1;     /* -1: not given */

static GOptionEntry options[] = {
    {"metrics", 0, 0, G_OPTION_ARG_STRING, &opt_metrics,
     "Serve Prometheus metrics (GET /metrics) on unix:/PATH or 127.0.0.1:PORT", "ADDR"},
    {"drift-interval", 0, 0, G_OPTION_ARG_INT, &opt_drift_interval,
     "With --metrics, probe the servers for policy drift every SECONDS (default 300; "
     "0: never)", "SECONDS"},
    {"config", 'c', 0, G_OPTION_ARG_FILENAME, &opt_config,
     "Committed settings file (default " SEG_DEFAULT_CONFIG ")", "PATH"},
    {"state-dir", 's', 0, G_OPTION_ARG_FILENAME, &opt_state_dir,
     "Pending changes and rollback history (default " SEG_DEFAULT_STATE_DIR ")",
     "DIR"},
    {"apply-config", 'a', 0, G_OPTION_ARG_FILENAME, &opt_apply_config,
     "How commit applies the settings, and [cluster] for cluster mode (default "
     "$SEGTLS_APPLY_CONFIG, else " SEGTLS_SYSCONFDIR "/segtls/apply.conf; missing: "
     "commit only stores)", "PATH"},
    {"socket", 'S', 0, G_OPTION_ARG_FILENAME, &opt_socket,
     "Control socket (default " SEG_DEFAULT_SOCKET ")", "PATH"},
    {"group", 'g', 0, G_OPTION_ARG_STRING, &opt_group,
     "Group of the control socket (default: the caller's)", "NAME"},
    {"read-socket", 'R', 0, G_OPTION_ARG_FILENAME, &opt_read_socket,
     "Also serve this read-only socket (show, status, rollback list, commit detail)",
     "PATH"},
    {"read-group", 0, 0, G_OPTION_ARG_STRING, &opt_read_group,
     "Group of the read-only socket (default: the caller's)", "NAME"},
    {"cert-dir", 'C', 0, G_OPTION_ARG_FILENAME_ARRAY, &opt_cert_dirs,
     "A directory certificate paths may be under (repeatable; default /etc/ssl, "
     "/etc/segtls, /etc/letsencrypt)", "DIR"},
    {"user", 'u', 0, G_OPTION_ARG_STRING, &opt_user,
     "Run as this user once the socket exists", "NAME"},
    {"pidfile", 'p', 0, G_OPTION_ARG_FILENAME, &opt_pidfile,
     "Write the process id to this file", "PATH"},
    {"web-socket", 0, 0, G_OPTION_ARG_FILENAME, &opt_web_socket,
     "Serve the web UI and REST API on this UNIX socket, for the GUI HTTPS "
     "server in front (e.g. " WEB_DEFAULT_SOCKET "; default: no web UI)", "PATH"},
    {"web-group", 0, 0, G_OPTION_ARG_STRING, &opt_web_group,
     "Group of the web socket: the GUI HTTPS server's (default: the caller's)", "NAME"},
    {"web-admin-group", 0, 0, G_OPTION_ARG_STRING, &opt_web_admin_group,
     "Accounts in this group change and commit in the web UI (default "
     WEB_DEFAULT_ADMIN_GROUP ")", "NAME"},
    {"web-read-group", 0, 0, G_OPTION_ARG_STRING, &opt_web_read_group,
     "Only accounts in this group (or the admin group) may look (default: any account)",
     "NAME"},
    {"web-idle-timeout", 0, 0, G_OPTION_ARG_INT, &opt_web_idle,
     "Seconds of inactivity that end a web session (default 1800)", "SECONDS"},
    {"gui-log", 0, 0, G_OPTION_ARG_FILENAME, &opt_gui_log,
     "gui_logs file of the web UI's records (default " SEG_RECORD_GUI_LOGS ")", "PATH"},
    {"mail-log", 0, 0, G_OPTION_ARG_FILENAME, &opt_mail_log,
     "mail_logs file the web UI's TLS Connections report reads (default "
     SEG_RECORD_MAIL_LOGS ")", "PATH"},
    {"pam-service", 0, 0, G_OPTION_ARG_STRING, &opt_pam_service,
     "PAM service of web logins (default " WEB_DEFAULT_PAM ")", "NAME"},
    {"foreground", 'f', 0, G_OPTION_ARG_NONE, &opt_foreground,
     "Stay in the foreground and log to stderr", NULL},
    {"log-file", 'l', 0, G_OPTION_ARG_FILENAME, &opt_log_file,
     "Detached, log to this file (default: syslog, else " MSG_FALLBACK_FILE ")", "PATH"},
    {"check-config", 0, 0, G_OPTION_ARG_NONE, &opt_check,
     "Load the --config file, report what is wrong, exit 0 or 1", NULL},
    {"verbose", 'v', G_OPTION_FLAG_NO_ARG, G_OPTION_ARG_CALLBACK,
     (gpointer) opt_verbose_cb, "More logging (repeatable)", NULL},
    G_OPTION_ENTRY_NULL
};

/* check_config - load one committed file and report */
static int check_config(const char *path)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *data = NULL;
    gsize   len;
    seg_settings *s;

    if (!g_file_get_contents(path, &data, &len, &err)) {
        msg_error("%s", err->message);
        return 1;
    }
    if ((s = seg_settings_from_keyfile(data, len, path, &err)) == NULL) {
        msg_error("%s", err->message);
        return 1;
    }
    seg_settings_free(s);
    return 0;
}

/* absolute - an absolute path, as the daemon changes to / */
static char *absolute(const char *path)
{
    return g_canonicalize_filename(path, NULL);
}

/*
 * cert_dirs - the certificate directories: absolute, canonical, without
 * a trailing "/"; fatal (exit 2) otherwise
 */
static char **cert_dirs(char **given)
{
    static const char *const defaults[] = {POLICYD_CERT_DIRS, NULL};
    GPtrArray *dirs = g_ptr_array_new();

    if (given == NULL || *given == NULL)
        given = (char **) defaults;
    for (char **d = given; *d != NULL; d++) {
        g_autofree char *canon = g_canonicalize_filename(*d, "/");

        if (**d != '/' || strcmp(canon, *d) != 0)
            msg_fatalx(2, "--cert-dir %s: must be an absolute path without \".\", "
                       "\"..\" or a trailing \"/\"", *d);
        g_ptr_array_add(dirs, g_strdup(*d));
    }
    g_ptr_array_add(dirs, NULL);
    return (char **) g_ptr_array_free(dirs, FALSE);
}

/* lookup_user - the passwd entry to run as; fatal when unknown */
static struct passwd *lookup_user(const char *name)
{
    struct passwd *pw = getpwnam(name);

    if (pw == NULL) {
        g_autofree char *q = seg_quote_value(name);

        msg_fatal("unknown user %s", q);
    }
    return pw;
}

/* on_hup - re-read the committed file; keep the last good on error */
static gboolean on_hup(gpointer data)
{
    g_autoptr(GError) err = NULL;
    policyd *pd = data;

    if (seg_store_reload(pd->store, &err)) {
        msg_info("reloaded %s", pd->config_path);
        policyd_ops_changed();
    }
    else
        msg_error("%s; keeping the last good configuration", err->message);
    g_clear_error(&err);
    if (!policyd_apply_load(pd, &err))
        msg_error("%s; keeping the last good apply configuration", err->message);
    policyd_web_reopen();
    return G_SOURCE_CONTINUE;
}

/* on_term - stop the main loop */
static gboolean on_term(gpointer data)
{
    policyd *pd = data;

    msg_info("stopping");
    g_main_loop_quit(pd->loop);
    return G_SOURCE_CONTINUE;
}

/* write_pid - the process id into the already open pidfile */
static void write_pid(int fd, const char *path)
{
    char    buf[32];
    int     n = snprintf(buf, sizeof(buf), "%ld\n", (long) getpid());

    if (ftruncate(fd, 0) < 0 || write(fd, buf, (size_t) n) != n)
        msg_warn("write %s: %s", path, g_strerror(errno));
    close(fd);
}

/*
 * detach - fork into the background before GLib starts any thread. The
 * parent exits 0 only once the child says it is ready (socket, store and
 * pidfile done) and 1 when the child dies first; the child keeps stderr
 * until then so that start-up errors reach the caller. Returns the pipe
 * end that detach_done() writes.
 */
static int detach(void)
{
    int     ready[2];
    char    c;
    ssize_t n;
    pid_t   pid;

    if (pipe2(ready, O_CLOEXEC) < 0)
        msg_fatal("pipe: %s", g_strerror(errno));
    if ((pid = fork()) < 0)
        msg_fatal("fork: %s", g_strerror(errno));
    if (pid > 0) {
        close(ready[1]);
        do
            n = read(ready[0], &c, 1);
        while (n < 0 && errno == EINTR);
        _exit(n == 1 ? 0 : 1);
    }
    close(ready[0]);
    if (setsid() < 0)
        msg_fatal("setsid: %s", g_strerror(errno));
    return ready[1];
}

/* detach_done - cwd /, stdio to /dev/null, syslog, release the parent */
static void detach_done(int readyfd)
{
    int     null;

    if (chdir("/") < 0)
        msg_fatal("chdir /: %s", g_strerror(errno));
    if ((null = open("/dev/null", O_RDWR)) < 0)
        msg_fatal("open /dev/null: %s", g_strerror(errno));
    msg_detach_now();
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    if (null > STDERR_FILENO)
        close(null);
    if (write(readyfd, "", 1) != 1)
        msg_warn("cannot tell the parent that the daemon is ready");
    close(readyfd);
}

/* parse_options - options into the statics; exit 2 on usage errors */
static void parse_options(int *argc, char ***argv)
{
    g_autoptr(GOptionContext) ctx = g_option_context_new("- segtls policy daemon");
    g_autoptr(GError) err = NULL;

    g_option_context_add_main_entries(ctx, options, NULL);
    g_option_context_set_description(ctx,
        "Holds the segtls TLS settings and answers segtls and sslconfig\n"
        "on the control socket. SIGHUP re-reads the committed file.\n");
    if (!g_option_context_parse(ctx, argc, argv, &err))
        msg_fatalx(2, "%s (try --help)", err->message);
    if (*argc > 1) {
        g_autofree char *q = seg_quote_value((*argv)[1]);

        msg_fatalx(2, "unexpected argument %s (try --help)", q);
    }
    if (opt_web_idle < 10 || opt_web_idle > 86400)
        msg_fatalx(2, "--web-idle-timeout: %d: must be 10 to 86400 seconds", opt_web_idle);
    if (opt_drift_interval != -1 && (opt_drift_interval < 0 || opt_drift_interval > 86400))
        msg_fatalx(2, "--drift-interval: %d: must be 0 (never) to 86400 seconds",
                   opt_drift_interval);
    if (opt_drift_interval != -1 && opt_metrics == NULL)
        msg_fatalx(2, "--drift-interval needs --metrics");
}

/* main - parse options, listen, load the store, serve until SIGTERM */
int main(int argc, char **argv)
{
    g_autoptr(GError) err = NULL;
    struct passwd *pw = NULL;
    policyd pd = {0};
    int     pidfd = -1;
    int     readyfd = -1;
    g_autofree char *web_socket_path = NULL;
    g_autofree char *web_gui_log = NULL;
    g_autofree char *web_mail_log = NULL;

    msg_init(argv[0]);
    seg_ignore_sigpipe();
    parse_options(&argc, &argv);
    msg_set_verbose(opt_verbose);
    pd.config_path = absolute(opt_config ? opt_config : SEG_DEFAULT_CONFIG);
    if (opt_check) {
        int     status = check_config(pd.config_path);

        g_free(pd.config_path);
        g_free(opt_config);
        return status;
    }
    pd.state_dir = absolute(opt_state_dir ? opt_state_dir : SEG_DEFAULT_STATE_DIR);
    pd.socket_path = absolute(opt_socket ? opt_socket : SEG_DEFAULT_SOCKET);
    pd.read_socket_path = opt_read_socket ? absolute(opt_read_socket) : NULL;
    if (pd.read_socket_path != NULL && strcmp(pd.read_socket_path, pd.socket_path) == 0)
        msg_fatalx(2, "--read-socket and --socket must differ");
    if (opt_read_group != NULL && opt_read_socket == NULL)
        msg_fatalx(2, "--read-group needs --read-socket");
    pd.cert_dirs = cert_dirs(opt_cert_dirs);
    pd.pidfile = opt_pidfile ? absolute(opt_pidfile) : NULL;
    if (opt_apply_config == NULL && g_getenv("SEGTLS_APPLY_CONFIG") != NULL)
        opt_apply_config = g_strdup(g_getenv("SEGTLS_APPLY_CONFIG"));
    pd.apply_config = absolute(opt_apply_config ? opt_apply_config
                               : SEGTLS_SYSCONFDIR "/segtls/apply.conf");
    if (opt_user != NULL)
        pw = lookup_user(opt_user);

    if (opt_metrics && !seg_metrics_check_spec(opt_metrics, &err))
        msg_fatal("--metrics: %s", err->message);
    if (!policyd_probe_socket(pd.socket_path, &err))
        msg_fatal("%s", err->message);
    if (!policyd_apply_load(&pd, &err))
        msg_fatal("%s", err->message);
    if (!opt_foreground)
        readyfd = detach();
    if (!policyd_listen(&pd, opt_group, opt_read_group, pw ? pw->pw_uid : (uid_t) -1,
                        &err))
        msg_fatal("%s: %s", pd.socket_path, err->message);
    if (opt_web_socket != NULL) {
        policyd_web_opts wo = {
            .socket = absolute(opt_web_socket),
            .group = opt_web_group,
            .admin_group = opt_web_admin_group ? opt_web_admin_group
                : (char *) WEB_DEFAULT_ADMIN_GROUP,
            .read_group = opt_web_read_group,
            .gui_log = opt_gui_log ? absolute(opt_gui_log) : g_strdup(SEG_RECORD_GUI_LOGS),
            .mail_log = opt_mail_log ? absolute(opt_mail_log) : g_strdup(SEG_RECORD_MAIL_LOGS),
            .pam_service = opt_pam_service ? opt_pam_service : (char *) WEB_DEFAULT_PAM,
            .idle_timeout = opt_web_idle,
        };

        web_socket_path = wo.socket;
        web_gui_log = wo.gui_log;
        web_mail_log = wo.mail_log;
        if (!policyd_web_start(&pd, &wo, pw ? pw->pw_uid : (uid_t) -1, &err)) {
            policyd_unlisten(&pd);
            msg_fatal("web UI: %s", err->message);
        }
        if (pw != NULL && pw->pw_uid != 0)
            msg_warn("web UI: as user %s, PAM can check passwords only when that "
                     "user may read /etc/shadow (group shadow)", pw->pw_name);
    }
    if (pd.pidfile != NULL
        && (pidfd = open(pd.pidfile, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
                         0644)) < 0) {
        policyd_unlisten(&pd);
        msg_fatal("open %s: %s", pd.pidfile, g_strerror(errno));
    }
    /* the log file may be root's: opened before the drop, used once detached */
    if (readyfd >= 0)
        (void) msg_detach_open(LOG_MAIL, opt_log_file);
    if (pw != NULL)
        seg_drop_privileges(pw);
    if (policyd_apply_cluster() != NULL)
        pd.store = policyd_cluster_open(&pd, policyd_apply_cluster(), &err);
    else
        pd.store = seg_store_open(pd.config_path, pd.state_dir, &err);
    if (pd.store == NULL) {
        policyd_unlisten(&pd);
        if (pd.pidfile != NULL)
            unlink(pd.pidfile);
        msg_fatal("%s", err->message);
    }
    if (pidfd >= 0)
        write_pid(pidfd, pd.pidfile);
    if (readyfd >= 0)
        detach_done(readyfd);

    if (opt_metrics) {
        seg_metrics_describe("segtls_apply_total", "counter",
                             "Commits applied with segtls-apply, by result");
        seg_metrics_set("segtls_apply_total", "result=\"success\"", 0);
        seg_metrics_set("segtls_apply_total", "result=\"failure\"", 0);
        if (!seg_metrics_listen(opt_metrics, &err))
            msg_fatal("%s", err->message);
    }
    pd.loop = g_main_loop_new(NULL, FALSE);
    if (opt_metrics && opt_drift_interval != 0)
        policyd_drift_start(&pd, opt_drift_interval > 0 ? (guint) opt_drift_interval
                            : POLICYD_DRIFT_INTERVAL);
    g_unix_signal_add(SIGHUP, on_hup, &pd);
    g_unix_signal_add(SIGTERM, on_term, &pd);
    g_unix_signal_add(SIGINT, on_term, &pd);
    policyd_cluster_start(&pd);
    g_socket_service_start(pd.service);
    if (pd.read_service != NULL)
        g_socket_service_start(pd.read_service);
    msg_info("listening on %s%s%s (config %s, state %s)", pd.socket_path,
             pd.read_socket_path ? ", read-only on " : "",
             pd.read_socket_path ? pd.read_socket_path : "",
             pd.config_path, pd.state_dir);
    g_main_loop_run(pd.loop);

    policyd_drift_stop();
    policyd_cluster_stop();
    policyd_apply_shutdown();
    policyd_web_stop();
    policyd_unlisten(&pd);
    if (pd.pidfile != NULL && unlink(pd.pidfile) < 0 && errno != ENOENT)
        msg_warn("remove %s: %s", pd.pidfile, g_strerror(errno));
    seg_store_free(pd.store);
    policyd_cluster_free_etcd();
    policyd_ops_cleanup();
    g_main_loop_unref(pd.loop);
    g_free(pd.config_path);
    g_free(pd.state_dir);
    g_free(pd.socket_path);
    g_free(pd.read_socket_path);
    g_strfreev(pd.cert_dirs);
    g_free(pd.pidfile);
    g_free(pd.apply_config);
    g_free(opt_config);
    g_free(opt_state_dir);
    g_free(opt_socket);
    g_free(opt_group);
    g_free(opt_read_socket);
    g_free(opt_read_group);
    g_strfreev(opt_cert_dirs);
    g_free(opt_pidfile);
    g_free(opt_user);
    g_free(opt_apply_config);
    g_free(opt_web_socket);
    g_free(opt_web_group);
    g_free(opt_web_admin_group);
    g_free(opt_web_read_group);
    g_free(opt_gui_log);
    g_free(opt_mail_log);
    g_free(opt_pam_service);
    return 0;
}
