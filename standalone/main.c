/*
 * segtls-standalone - Inbound SMTP, Outbound SMTP and GUI HTTPS with the
 * segtls policy and records, in one event-driven process.
 *
 * main.c parses the options, loads the settings (a segtls key file with
 * --config, or the committed settings of segtls-policyd with --socket),
 * builds the three TLS contexts, opens the listeners and runs the GLib
 * main loop. SIGHUP reloads the settings (the old ones stay when the new
 * ones are broken) and reopens the logs; SIGTERM and SIGINT stop. With
 * --config the file is also watched (inotify on its directory, for the
 * file's name): a change, including an atomic rewrite such as
 * segtls-policyd's commit, reloads the settings SA_RELOAD_DELAY ms after
 * the last event, like SIGHUP. (GIO's GFileMonitor does the same with
 * its worker thread and type machinery: about 1 MB more resident.)
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <unistd.h>
#include <gio/gio.h>
#include <glib-unix.h>

#include "ctl.h"
#include "error.h"
#include "metrics.h"
#include "msg.h"
#include "sigpipe.h"
#include "record.h"
#include "standalone.h"
#include "store.h"
#include "tlsctx.h"
#include "quote.h"

#define SA_RELOAD_DELAY 200             /* ms of quiet after a change of --config */
#define SA_FD_RESERVE   64              /* descriptors besides the connections */

sa_state sa;

static int config_watch = -1;           /* inotify descriptor for --config FILE */
static guint config_watch_src;
static char *config_name;               /* its name in its directory */
static guint reload_timer;
static char *config_sum;                /* SHA-256 of the --config text last read */

/* load_settings - from --config, --socket, or the default file */
static seg_settings *load_settings(GError **error)
{
    g_autofree char *data = NULL;
    gsize   len;
    const char *path = sa.opt.config;

    if (sa.opt.socket) {
        g_autoptr(JsonObject) req = seg_ctl_request("show");
        g_autoptr(JsonObject) resp = seg_ctl_call(sa.opt.socket, req, error);
        JsonNode *node;

        if (resp == NULL || !seg_ctl_check(resp, error))
            return NULL;
        node = json_object_get_member(resp, "committed");
        if (node == NULL || !JSON_NODE_HOLDS_OBJECT(node)) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL,
                        "segtls-policyd sent no committed settings");
            return NULL;
        }
        return seg_settings_from_json(json_node_get_object(node), error);
    }
    if (path == NULL) {
        if (!g_file_test(SEG_DEFAULT_CONFIG, G_FILE_TEST_EXISTS))
            return seg_settings_new_default();
        path = SEG_DEFAULT_CONFIG;
    }
    if (!g_file_get_contents(path, &data, &len, error))
        return NULL;
    if (path == sa.opt.config) {
        g_free(config_sum);
        config_sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (guchar *) data, len);
    }
    return seg_settings_from_keyfile(data, len, path, error);
}

/* server_ctx - a listening service's context; --cert overrides its certificate */
static SSL_CTX *server_ctx(const seg_service_settings *svc, int seclevel, GError **error)
{
    return seg_tlsctx_server(svc->methods, svc->ciphers, svc->renegotiation,
                             sa.opt.cert ? sa.opt.cert : svc->certificate, seclevel, error);
}

/* build_contexts - the three SSL_CTXs for some settings */
static gboolean build_contexts(const seg_settings *s, SSL_CTX **in, SSL_CTX **gui,
                               SSL_CTX **out, GError **error)
{
    const seg_service_settings *ob = &s->svc[SEG_SVC_OUTBOUND];
    gboolean verify = ob->tls == SEG_TLSMODE_PREFERRED_VERIFY
        || ob->tls == SEG_TLSMODE_REQUIRED_VERIFY;
    g_autoptr(GError) err = NULL;

    *in = *gui = *out = NULL;
    if (sa.opt.smtp_listen && s->svc[SEG_SVC_INBOUND].tls != SEG_TLSMODE_NO
        && (*in = server_ctx(&s->svc[SEG_SVC_INBOUND], 0, &err)) == NULL) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_TLS, "Inbound SMTP: %s", err->message);
        return FALSE;
    }
    if (sa.opt.https_listen
        && (*gui = server_ctx(&s->svc[SEG_SVC_GUI], SEG_SECLEVEL_AUTO, &err)) == NULL) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_TLS, "GUI HTTPS: %s", err->message);
        goto fail;
    }
    /* Postfix's smtp runs at security level 0, and 1 for verify/secure. */
    if ((*out = seg_tlsctx_client(ob->methods, ob->ciphers, verify ? 1 : 0,
                                  verify ? s->outbound_ca_file : NULL,
                                  s->peer_cert_x509, &err)) == NULL) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_TLS, "Outbound SMTP: %s", err->message);
        goto fail;
    }
    return TRUE;
fail:
    g_clear_pointer(in, SSL_CTX_free);
    g_clear_pointer(gui, SSL_CTX_free);
    return FALSE;
}

/* sa_settings_load - (re)load settings; keep the old ones on error */
gboolean sa_settings_load(GError **error)
{
    g_autoptr(seg_settings) s = load_settings(error);
    SSL_CTX *in, *gui, *out;

    if (s == NULL || !build_contexts(s, &in, &gui, &out, error))
        return FALSE;
    if (sa.inbound_ctx)
        SSL_CTX_free(sa.inbound_ctx);
    if (sa.gui_ctx)
        SSL_CTX_free(sa.gui_ctx);
    if (sa.outbound_ctx)
        SSL_CTX_free(sa.outbound_ctx);
    sa.inbound_ctx = in;
    sa.gui_ctx = gui;
    sa.outbound_ctx = out;
    if (sa.settings)
        seg_settings_free(sa.settings);
    sa.settings = g_steal_pointer(&s);
    if (sa.opt.https_listen)
        sa_https_settings_changed();
    return TRUE;
}

/* reload - load the settings again; the old ones stay on error */
static void reload(void)
{
    g_autoptr(GError) err = NULL;

    if (!sa_settings_load(&err))
        msg_warn("reload: %s; the previous settings stay in force", err->message);
    else
        msg_info("settings reloaded");
}

/* on_hup - reload settings, reopen logs */
static gboolean on_hup(gpointer data)
{
    sa_log_reopen();
    reload();
    return G_SOURCE_CONTINUE;
}

/* on_reload_timer - the settings file has been quiet for a while */
static gboolean on_reload_timer(gpointer data)
{
    g_autofree char *text = NULL;
    g_autofree char *sum = NULL;
    gsize   len;

    reload_timer = 0;
    /* Unchanged text (a SIGHUP already read it, or only the time
     * stamp moved): nothing to do. A missing file is reported. */
    if (g_file_get_contents(sa.opt.config, &text, &len, NULL)) {
        sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (guchar *) text, len);
        if (g_strcmp0(sum, config_sum) == 0)
            return G_SOURCE_REMOVE;
    }
    msg_info("%s changed", sa.opt.config);
    reload();
    return G_SOURCE_REMOVE;
}

/* on_config_event - events in the directory of --config: reload once it settles */
static gboolean on_config_event(gint fd, GIOCondition cond, gpointer data)
{
    union {
        struct inotify_event ev;
        char    buf[4096];
    } u;
    gboolean ours = FALSE;
    ssize_t n;

    while ((n = read(fd, u.buf, sizeof(u.buf))) > 0) {
        for (char *p = u.buf; p < u.buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *) p;

            if ((ev->len && strcmp(ev->name, config_name) == 0) || (ev->mask & IN_Q_OVERFLOW))
                ours = TRUE;
            p += sizeof(*ev) + ev->len;
        }
    }
    if (ours) {
        if (reload_timer)
            g_source_remove(reload_timer);
        reload_timer = g_timeout_add(SA_RELOAD_DELAY, on_reload_timer, NULL);
    }
    return G_SOURCE_CONTINUE;
}

/*
 * watch_config - reload when --config FILE changes: its directory is
 * watched, so that a file renamed over it (an atomic rewrite) is seen
 * like a write to it
 */
static void watch_config(const char *path)
{
    g_autofree char *dir = g_path_get_dirname(path);
    const guint32 mask = IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | IN_CREATE | IN_DELETE
        | IN_MOVED_FROM | IN_MOVED_TO;

    config_name = g_path_get_basename(path);
    if ((config_watch = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0
        || inotify_add_watch(config_watch, dir, mask) < 0) {
        msg_warn("%s: cannot watch for changes (%s); reload with SIGHUP", path,
                 g_strerror(errno));
        if (config_watch >= 0)
            close(config_watch);
        config_watch = -1;
        return;
    }
    config_watch_src = g_unix_fd_add(config_watch, G_IO_IN, on_config_event, NULL);
}

/* on_term - stop */
static gboolean on_term(gpointer data)
{
    g_main_loop_quit(sa.loop);
    return G_SOURCE_CONTINUE;
}

/* on_tick - deadlines and retries */
static gboolean on_tick(gpointer data)
{
    sa_conn_tick();
    sa_client_tick();
    return G_SOURCE_CONTINUE;
}

/* raise_nofile - descriptors for every connection the limits allow */
static void raise_nofile(const sa_options *o)
{
    struct rlimit rl;
    rlim_t  want = (rlim_t) o->max_conns * ((o->smtp_listen != NULL) + (o->https_listen != NULL))
        + SA_FD_RESERVE;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? want : MIN(want, rl.rlim_max);
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < want)
        msg_warn("--max-conns %d needs %lu descriptors, the limit is %lu: "
                 "connections beyond it wait", o->max_conns, (unsigned long) want,
                 (unsigned long) rl.rlim_cur);
}

/* check_https_listen - the status pages stay on loopback unless asked or proxied */
static void check_https_listen(sa_options *o)
{
    g_autofree char *host = NULL;
    g_autoptr(GError) err = NULL;
    guint   port;

    if (o->https_listen == NULL)
        return;
    if (*o->https_listen && strspn(o->https_listen, "0123456789") == strlen(o->https_listen)) {
        char   *given = o->https_listen;

        o->https_listen = g_strdup_printf("127.0.0.1:%s", given);
        g_free(given);
    }
    if (!sa_parse_hostport(o->https_listen, &host, &port, &err))
        msg_fatalx(2, "--https-listen: %s", err->message);
    /* The status pages show the last records, mail addresses included,
     * to anyone who connects; behind --gui-proxy there are none, every
     * request goes to the web UI and its login. */
    if (sa_is_loopback(o->https_listen) || o->gui_proxy != NULL)
        return;
    if (!o->public_status)
        msg_fatalx(2, "--https-listen %s: the status pages show records with mail "
                   "addresses and have no login: listen on loopback, or give "
                   "--public-status", o->https_listen);
    msg_warn("--https-listen %s: the status pages, records and mail addresses, "
             "are open to every client that can connect (--public-status)",
             o->https_listen);
}

/* check_int - a positive option */
static void check_int(const char *name, int value, int min)
{
    if (value < min)
        msg_fatalx(2, "--%s: must be at least %d", name, min);
}

int main(int argc, char **argv)
{
    sa_options *o = &sa.opt;
    GOptionEntry entries[] = {
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &o->config,
         "Settings key file (default " SEG_DEFAULT_CONFIG ")", "FILE"},
        {"socket", 0, 0, G_OPTION_ARG_FILENAME, &o->socket,
         "Take the committed settings from segtls-policyd", "PATH"},
        {"cert", 0, 0, G_OPTION_ARG_FILENAME, &o->cert,
         "PEM file: private key, then certificate chain", "PEM"},
        {"smtp-listen", 0, 0, G_OPTION_ARG_STRING, &o->smtp_listen,
         "Inbound SMTP address", "IP:PORT"},
        {"https-listen", 0, 0, G_OPTION_ARG_STRING, &o->https_listen,
         "GUI HTTPS address; PORT alone is 127.0.0.1:PORT", "IP:PORT"},
        {"public-status", 0, 0, G_OPTION_ARG_NONE, &o->public_status,
         "Allow a non-loopback --https-listen: the status pages show records and have no login", NULL},
        {"gui-proxy", 0, 0, G_OPTION_ARG_FILENAME, &o->gui_proxy,
         "Hand GUI HTTPS requests to segtls-policyd's web UI on this UNIX socket "
         "(its --web-socket)", "PATH"},
        {"relay", 0, 0, G_OPTION_ARG_STRING, &o->relay,
         "Deliver spooled mail to this next hop", "HOST:PORT"},
        {"spool", 0, 0, G_OPTION_ARG_FILENAME, &o->spool,
         "Spool directory (default " SA_DEFAULT_SPOOL ")", "DIR"},
        {"mail-log", 0, 0, G_OPTION_ARG_FILENAME, &o->mail_log,
         "mail_logs file (default " SEG_RECORD_MAIL_LOGS ")", "PATH"},
        {"gui-log", 0, 0, G_OPTION_ARG_FILENAME, &o->gui_log,
         "gui_logs file (default " SEG_RECORD_GUI_LOGS ")", "PATH"},
        {"no-log-files", 0, 0, G_OPTION_ARG_NONE, &o->no_log_files,
         "No mail_logs and gui_logs files: records only by --syslog", NULL},
        {"syslog", 0, 0, G_OPTION_ARG_STRING, &o->syslog,
         "Also push each record to syslog (tags mail_logs, gui_logs): udp:HOST:PORT, "
         "tcp:HOST:PORT or tls:HOST:PORT", "DEST"},
        {"syslog-ca", 0, 0, G_OPTION_ARG_FILENAME, &o->syslog_ca,
         "CA certificates the tls: server must chain to (default: the system's)", "FILE"},
        {"syslog-facility", 0, 0, G_OPTION_ARG_STRING, &o->syslog_facility,
         "Syslog facility (default mail)", "NAME"},
        {"syslog-queue", 0, 0, G_OPTION_ARG_INT, &o->syslog_queue,
         "Records queued while the server is away; beyond, dropped and counted (10000)", "N"},
        {"metrics", 0, 0, G_OPTION_ARG_STRING, &o->metrics,
         "Serve Prometheus metrics (GET /metrics) on unix:/PATH or 127.0.0.1:PORT", "ADDR"},
        {"state-dir", 0, 0, G_OPTION_ARG_FILENAME, &o->state_dir,
         "Directory of the persistent ICID/DCID/MID counters (default "
         SEG_DEFAULT_STATE_DIR ")", "DIR"},
        {"hostname", 0, 0, G_OPTION_ARG_STRING, &o->hostname,
         "Name in the banner and EHLO", "NAME"},
        {"timeout", 0, 0, G_OPTION_ARG_INT, &o->timeout,
         "Seconds to wait for a command or a reply (300)", "S"},
        {"max-size", 0, 0, G_OPTION_ARG_INT, &o->max_size,
         "Message size limit in bytes (10485760)", "N"},
        {"max-rcpt", 0, 0, G_OPTION_ARG_INT, &o->max_rcpt,
         "Recipients per message (100)", "N"},
        {"max-conns", 0, 0, G_OPTION_ARG_INT, &o->max_conns,
         "Concurrent connections per listener, SMTP and HTTPS (100)", "N"},
        {"retry-min", 0, 0, G_OPTION_ARG_INT, &o->retry_min,
         "First retry of a deferred message after S seconds (300)", "S"},
        {"retry-max", 0, 0, G_OPTION_ARG_INT, &o->retry_max,
         "Longest retry interval (4000)", "S"},
        G_OPTION_ENTRY_NULL
    };
    g_autoptr(GOptionContext) oc = g_option_context_new("- segtls Inbound/Outbound SMTP and GUI HTTPS");
    g_autoptr(GError) err = NULL;

    msg_init("segtls-standalone");
    o->timeout = 300;
    o->max_size = 10 * 1024 * 1024;
    o->max_rcpt = 100;
    o->max_conns = 100;
    o->retry_min = 300;
    o->retry_max = 4000;
    g_option_context_add_main_entries(oc, entries, NULL);
    g_option_context_set_description(oc,
        "Settings come from --config FILE or --socket PATH (segtls-policyd);\n"
        "SIGHUP reloads them and reopens the logs, and a change of the --config\n"
        "file reloads them too. See segtls-standalone(8).");
    if (!g_option_context_parse(oc, &argc, &argv, &err))
        msg_fatalx(2, "%s (try --help)", err->message);
    if (argc > 1) {
        g_autofree char *q = seg_quote_value(argv[1]);

        msg_fatalx(2, "unexpected argument %s (try --help)", q);
    }
    if (o->config && o->socket)
        msg_fatalx(2, "--config and --socket exclude each other");
    if (!o->smtp_listen && !o->https_listen && !o->relay)
        msg_fatalx(2, "nothing to do: give --smtp-listen, --https-listen or --relay");
    check_https_listen(o);
    check_int("timeout", o->timeout, 1);
    check_int("max-size", o->max_size, 1);
    check_int("max-rcpt", o->max_rcpt, 1);
    check_int("max-conns", o->max_conns, 1);
    check_int("retry-min", o->retry_min, 1);
    check_int("retry-max", o->retry_max, o->retry_min);
    if (o->no_log_files && (!o->syslog || o->mail_log || o->gui_log))
        msg_fatalx(2, "--no-log-files: needs --syslog, not with --mail-log or --gui-log");
    if (!o->syslog && (o->syslog_ca || o->syslog_facility || o->syslog_queue))
        msg_fatalx(2, "--syslog-ca, --syslog-facility and --syslog-queue need --syslog");
    if (o->metrics && !seg_metrics_check_spec(o->metrics, &err))
        msg_fatalx(2, "--metrics: %s", err->message);
    if (o->syslog_queue < 0 || o->syslog_queue > 10000000)
        msg_fatalx(2, "--syslog-queue: 1 to 10000000 records");
    if (o->socket) {
        char   *given = o->socket;

        o->socket = g_strdup(seg_ctl_socket_path(given));
        g_free(given);
    }
    /* Absolute defaults: never files in whatever the cwd happens to be. */
    if (!o->spool)
        o->spool = g_strdup(SA_DEFAULT_SPOOL);
    if (!o->mail_log)
        o->mail_log = g_strdup(SEG_RECORD_MAIL_LOGS);
    if (!o->gui_log)
        o->gui_log = g_strdup(SEG_RECORD_GUI_LOGS);
    if (!o->state_dir)
        o->state_dir = g_strdup(SEG_DEFAULT_STATE_DIR);
    if (!o->hostname)
        o->hostname = g_strdup(g_get_host_name());
    if (*o->hostname == 0 || strlen(o->hostname) > 255
        || strspn(o->hostname, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                  "0123456789.-") != strlen(o->hostname)) {
        g_autofree char *q = seg_quote_value(o->hostname);

        msg_fatalx(2, "--hostname: %s is not a host name", q);
    }

    if (g_mkdir_with_parents(o->state_dir, 0750) < 0)
        msg_fatal("mkdir %s: %s", o->state_dir, g_strerror(errno));
    for (char **f = (char *[]) {o->mail_log, o->gui_log, NULL}; *f && !o->no_log_files; f++) {
        g_autofree char *dir = g_path_get_dirname(*f);

        if (g_mkdir_with_parents(dir, 0750) < 0)
            msg_fatal("mkdir %s: %s", dir, g_strerror(errno));
    }
    seg_ignore_sigpipe();
    raise_nofile(o);
    if (!sa_settings_load(&err))
        msg_fatal("%s", err->message);
    if (!sa_log_open(&err) || !sa_spool_init(o->spool, &err))
        msg_fatal("%s", err->message);
    if (o->relay && !sa_client_init(o->relay, &err))
        msg_fatalx(2, "--relay: %s", err->message);
    if (o->gui_proxy && !sa_gui_proxy_init(&err))
        msg_fatal("--gui-proxy: %s", err->message);
    if (o->smtp_listen
        && !sa_listen(o->smtp_listen, &sa_smtp_listen_ops, (guint) o->max_conns, &err))
        msg_fatal("--smtp-listen: %s", err->message);
    if (o->https_listen
        && !sa_listen(o->https_listen, &sa_https_listen_ops, (guint) o->max_conns, &err))
        msg_fatal("--https-listen: %s", err->message);

    if (o->metrics && !seg_metrics_listen(o->metrics, &err))
        msg_fatal("%s", err->message);
    sa.loop = g_main_loop_new(NULL, FALSE);
    g_unix_signal_add(SIGHUP, on_hup, NULL);
    if (o->config)
        watch_config(o->config);
    g_unix_signal_add(SIGTERM, on_term, NULL);
    g_unix_signal_add(SIGINT, on_term, NULL);
    g_timeout_add(200, on_tick, NULL);
    msg_info("ready: smtp %s https %s relay %s", o->smtp_listen ? o->smtp_listen : "-",
             o->https_listen ? o->https_listen : "-", o->relay ? o->relay : "-");
    sa_client_kick();
    g_main_loop_run(sa.loop);

    if (reload_timer)
        g_source_remove(reload_timer);
    if (config_watch_src)
        g_source_remove(config_watch_src);
    if (config_watch >= 0)
        close(config_watch);
    g_clear_pointer(&config_name, g_free);
    g_clear_pointer(&config_sum, g_free);
    sa_client_shutdown();
    sa_conn_shutdown_all();
    sa_log_close();
    sa_ifname_free();
    g_main_loop_unref(sa.loop);
    g_clear_pointer(&sa.inbound_ctx, SSL_CTX_free);
    g_clear_pointer(&sa.gui_ctx, SSL_CTX_free);
    g_clear_pointer(&sa.outbound_ctx, SSL_CTX_free);
    g_clear_pointer(&sa.settings, seg_settings_free);
    g_free(o->config);
    g_free(o->socket);
    g_free(o->cert);
    g_free(o->smtp_listen);
    g_free(o->https_listen);
    g_free(o->gui_proxy);
    g_free(o->relay);
    g_free(o->spool);
    g_free(o->mail_log);
    g_free(o->gui_log);
    g_free(o->syslog);
    g_free(o->syslog_ca);
    g_free(o->syslog_facility);
    g_free(o->metrics);
    g_free(o->state_dir);
    g_free(o->hostname);
    return 0;
}
