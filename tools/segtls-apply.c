/*
 * segtls-apply - apply the committed TLS settings to Postfix and nginx.
 *
 * Under its lock, finds the master.cf services segtls governs, renders
 * the settings (lib/apply/render.h), checks every value with OpenSSL,
 * notes the current parameters and files, writes them (postconf for
 * main.cf and master.cf), reloads, probes every governed smtpd service,
 * nginx and TLS version, and puts back what it changed when anything
 * disagrees (lib/apply/apply.h). --render prints what would be written,
 * --dry-run the diff; --remove takes segtls out of the servers again
 * (before the package is purged). Exit 0 ok, 1 error, 2 usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "error.h"
#include "msg.h"
#include "sigpipe.h"
#include "render.h"
#include "store.h"

static char *opt_config;
static char *opt_postfix_dir;
static char **opt_smtpd;
static char **opt_smtp;
static char **opt_exclude;
static char *opt_tls_config;
static char *opt_policy_service;
static char *opt_nginx_prefix;
static char *opt_nginx_conf;
static char *opt_nginx_include;
static char *opt_client_conf;
static char *opt_gui_log;
static char **opt_probe_smtp;
static char *opt_probe_https;
static char *opt_state_dir;
static gboolean opt_no_postfix;
static gboolean opt_no_nginx;
static gboolean opt_dry_run;
static gboolean opt_render;
static gboolean opt_remove;
static double opt_timeout;

static const GOptionEntry options[] = {
    {"config", 0, 0, G_OPTION_ARG_FILENAME, &opt_config,
     "Settings file (default " SEG_DEFAULT_CONFIG ")", "FILE"},
    {"render", 0, 0, G_OPTION_ARG_NONE, &opt_render,
     "Print every rendered file and parameter; change nothing", NULL},
    {"dry-run", 'n', 0, G_OPTION_ARG_NONE, &opt_dry_run,
     "Print a unified diff of what would change; change nothing", NULL},
    {"remove", 0, 0, G_OPTION_ARG_NONE, &opt_remove,
     "Take segtls out: the master.cf overrides it set back to what they were, "
     "the files it wrote removed, Postfix and nginx reloaded", NULL},
    {"postfix-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_postfix_dir,
     "Postfix config_directory (default " SEG_APPLY_DEFAULT_POSTFIX_DIR ")", "DIR"},
    {"smtpd-service", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_smtpd,
     "master.cf smtpd service Inbound SMTP governs, e.g. submission/inet "
     "(repeatable; default every inet service running smtpd)", "NAME/TYPE"},
    {"smtp-service", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_smtp,
     "master.cf client service Outbound SMTP governs (repeatable; default "
     "every unix service running smtp or lmtp)", "NAME/TYPE"},
    {"exclude-service", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_exclude,
     "master.cf service segtls leaves alone (repeatable)", "NAME/TYPE"},
    {"tls-config-file", 0, 0, G_OPTION_ARG_FILENAME, &opt_tls_config,
     "Postfix tls_config_file to write (default "
     SEG_APPLY_DEFAULT_TLS_CONFIG ")", "PATH"},
    {"policy-service", 0, 0, G_OPTION_ARG_STRING, &opt_policy_service,
     "Where smtpd asks segtls-policy about sender groups (default "
     SEG_RENDER_DEFAULT_POLICY_SERVICE ")", "inet:HOST:PORT|unix:PATH"},
    {"nginx-prefix", 0, 0, G_OPTION_ARG_FILENAME, &opt_nginx_prefix,
     "nginx -p PATH", "PATH"},
    {"nginx-conf", 0, 0, G_OPTION_ARG_FILENAME, &opt_nginx_conf,
     "nginx -c PATH", "PATH"},
    {"nginx-include", 0, 0, G_OPTION_ARG_FILENAME, &opt_nginx_include,
     "nginx include to write (default " SEG_APPLY_DEFAULT_NGINX_INCLUDE ")",
     "PATH"},
    {"client-conf", 0, 0, G_OPTION_ARG_FILENAME, &opt_client_conf,
     "OpenSSL client configuration to write (default "
     SEG_APPLY_DEFAULT_CLIENT_CONF ")", "PATH"},
    {"gui-log", 0, 0, G_OPTION_ARG_FILENAME, &opt_gui_log,
     "Add \"segtls_gui_log PATH;\" to the nginx include (needs "
     "ngx_http_segtls_module loaded)", "PATH"},
    {"probe-smtp", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_probe_smtp,
     "Where to probe an smtpd service (repeatable; without NAME/TYPE= the "
     "first one; default: where master.cf says it listens)",
     "[NAME/TYPE=]HOST:PORT"},
    {"probe-https", 0, 0, G_OPTION_ARG_STRING, &opt_probe_https,
     "Where to probe GUI HTTPS (default " SEG_APPLY_DEFAULT_PROBE_HTTPS ")",
     "HOST:PORT"},
    {"no-postfix", 0, 0, G_OPTION_ARG_NONE, &opt_no_postfix,
     "Leave Postfix alone", NULL},
    {"no-nginx", 0, 0, G_OPTION_ARG_NONE, &opt_no_nginx,
     "Leave nginx alone", NULL},
    {"state-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_state_dir,
     "Where the previous files are kept (default " SEG_DEFAULT_STATE_DIR ")",
     "DIR"},
    {"timeout", 0, 0, G_OPTION_ARG_DOUBLE, &opt_timeout,
     "Seconds each command may take (default 30)", "SECONDS"},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};

/* load_settings - the settings file, or defaults when the default is absent */
static seg_settings *load_settings(GError **error)
{
    const char *path = opt_config ? opt_config : SEG_DEFAULT_CONFIG;
    g_autofree char *data = NULL;
    gsize   len;

    if (opt_config == NULL && !g_file_test(path, G_FILE_TEST_EXISTS))
        return seg_settings_new_default();
    if (!g_file_get_contents(path, &data, &len, error))
        return NULL;
    return seg_settings_from_keyfile(data, len, path, error);
}

/* print_all - each string of an array on its own line */
static void print_all(FILE *fp, GPtrArray *lines)
{
    for (guint i = 0; i < lines->len; i++)
        fprintf(fp, "%s\n", (char *) g_ptr_array_index(lines, i));
}

/* render - the --render output */
static int render(const seg_settings *s, seg_apply_opts *o)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(seg_render) r = NULL;
    g_autofree char *text = NULL;
    seg_render_target *t;
    seg_apply_opts to = *o;

    /* without a Postfix directory the services are taken as given */
    to.no_postfix = o->no_postfix || o->postfix_dir == NULL;
    if ((t = seg_apply_target(&to, &err)) == NULL
        || (r = seg_render_new(s, t, &err)) == NULL) {
        seg_apply_target_free(t);
        msg_error("%s", err->message);
        return 1;
    }
    text = seg_render_format(r, t, o->nginx_include ? o->nginx_include
                             : SEG_APPLY_DEFAULT_NGINX_INCLUDE,
                             o->client_conf ? o->client_conf
                             : SEG_APPLY_DEFAULT_CLIENT_CONF);
    fputs(text, stdout);
    seg_apply_target_free(t);
    return 0;
}

/* main - parse options, load settings, render or apply */
int     main(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);
    g_autoptr(GError) err = NULL;
    g_autoptr(seg_settings) s = NULL;
    g_autoptr(seg_apply_report) rep = NULL;
    seg_apply_opts o = {0};
    int     status;

    msg_init(argv[0]);
    seg_ignore_sigpipe();
    g_option_context_set_summary(ctx,
        "Apply the segtls TLS settings to Postfix, nginx and the OpenSSL\n"
        "client configuration, prove them with real handshakes, and restore\n"
        "the previous configuration when the servers disagree.");
    g_option_context_add_main_entries(ctx, options, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        msg_error("%s", err->message);
        return 2;
    }
    if (argc > 1) {
        msg_error("unexpected argument: %s", argv[1]);
        return 2;
    }
    if (opt_remove && (opt_render || opt_dry_run)) {
        msg_error("--remove: not with %s", opt_render ? "--render" : "--dry-run");
        return 2;
    }
    if (!opt_remove && (s = load_settings(&err)) == NULL) {
        msg_error("%s", err->message);
        return 1;
    }
    o.postfix_dir = opt_postfix_dir;
    o.smtpd_services = (const char *const *) opt_smtpd;
    o.smtp_services = (const char *const *) opt_smtp;
    o.exclude_services = (const char *const *) opt_exclude;
    o.tls_config_file = opt_tls_config;
    o.policy_service = opt_policy_service;
    o.nginx_prefix = opt_nginx_prefix;
    o.nginx_conf = opt_nginx_conf;
    o.nginx_include = opt_nginx_include;
    o.client_conf = opt_client_conf;
    o.gui_log = opt_gui_log;
    o.probe_smtp = (const char *const *) opt_probe_smtp;
    o.probe_https = opt_probe_https;
    o.state_dir = opt_state_dir;
    o.no_postfix = opt_no_postfix;
    o.no_nginx = opt_no_nginx;
    o.dry_run = opt_dry_run;
    o.timeout = opt_timeout;
    if (opt_render) {
        status = render(s, &o);
    } else if (opt_remove) {
        rep = seg_apply_report_new();
        status = seg_apply_remove(&o, rep, &err) ? 0 : 1;
        print_all(stdout, rep->lines);
        fflush(stdout);
        if (status != 0)
            msg_error("%s", err->message);
        else
            printf("removed\n");
    } else {
        rep = seg_apply_report_new();
        status = seg_apply(s, &o, rep, &err) ? 0 : 1;
        print_all(stderr, rep->warnings);
        print_all(stdout, rep->notices);
        print_all(stdout, rep->lines);
        if (rep->diff)
            fputs(rep->diff, stdout);
        fflush(stdout);
        if (status != 0)
            msg_error("%s", err->message);
        else if (!opt_dry_run)
            printf("applied\n");
    }
    g_free(opt_config);
    g_free(opt_postfix_dir);
    g_strfreev(opt_smtpd);
    g_strfreev(opt_smtp);
    g_strfreev(opt_exclude);
    g_free(opt_tls_config);
    g_free(opt_policy_service);
    g_free(opt_nginx_prefix);
    g_free(opt_nginx_conf);
    g_free(opt_nginx_include);
    g_free(opt_client_conf);
    g_free(opt_gui_log);
    g_strfreev(opt_probe_smtp);
    g_free(opt_probe_https);
    g_free(opt_state_dir);
    return status;
}
