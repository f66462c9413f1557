/*
 * segtls-milter - inbound records from a libmilter filter, outbound ones
 * from the Postfix log, in one process (SPEC §6).
 *
 * This file is the process: options, the socket and its permissions,
 * privileges, daemon mode, the log follower thread and signals. SIGTERM
 * and SIGINT stop cleanly (libmilter's signal thread stops smfi_main,
 * then the follower saves its offset); SIGHUP reopens the record file.
 * With --no-milter there is no filter: the follower writes every record
 * from the log alone, and the main thread waits for the signals.
 *
 * libmilter's signal thread treats SIGHUP like SIGTERM. To reopen
 * instead, this program defines sigwait(3), which libmilter calls: the
 * wrapper consumes SIGHUP itself (reopen) and returns every other signal.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "destwatch.h"
#include "error.h"
#include "msg.h"
#include "metrics.h"
#include "pflog.h"
#include "sigpipe.h"
#include "privs.h"
#include "recmetrics.h"
#include "store.h"
#include "milter.h"
#include "steps.h"
#include "quote.h"

/*
 * Under Postfix's queue directory: smtpd finds it as unix:segtls-milter/
 * milter.sock (relative to the queue directory) chrooted, as Debian's
 * master.cf runs it, or not.
 */
#define DEFAULT_SOCKET      "unix:/var/spool/postfix/segtls-milter/milter.sock"
#define DEFAULT_MAILLOG     "/var/log/postfix.log"      /* conf/postfix-milter.cf's maillog_file */
#define DEFAULT_STATE_DIR   "/var/lib/segtls/milter"
#define ID_BLOCK_MAX        1000000
#define DEFAULT_SOCK_GROUP  "postfix"

static char *opt_socket;
static char *opt_maillog;
static char *opt_mail_log;
static char *opt_state_dir;
static char *opt_user;
static char *opt_group;
static gboolean opt_foreground;
static char *opt_log_file;
static gboolean opt_no_follow;
static gboolean opt_no_milter;
static char *opt_syslog;
static char *opt_syslog_ca;
static char *opt_syslog_facility;
static gint opt_syslog_queue;
static gboolean opt_no_mail_log;
static char *opt_metrics;
static char *opt_pf_config;
static char **opt_names;
static gint64 opt_id_block = -1;      /* -1: the default */
static char *opt_config;

static GOptionEntry options[] = {
    {"config", 0, 0, G_OPTION_ARG_FILENAME, &opt_config,
     "segtls settings whose Destination Controls name the entry of each delivery "
     "(\"DCID n destination ENTRY TLS MODE\"; read again when it changes)", "FILE"},
    {"socket", 's', 0, G_OPTION_ARG_STRING, &opt_socket,
     "Milter socket: unix:PATH or inet:PORT@ADDR (default " DEFAULT_SOCKET ")", "SPEC"},
    {"maillog", 'l', 0, G_OPTION_ARG_FILENAME, &opt_maillog,
     "Postfix log to follow (default " DEFAULT_MAILLOG ")", "PATH"},
    {"no-follow", 0, 0, G_OPTION_ARG_NONE, &opt_no_follow,
     "Do not follow the Postfix log (milter records only)", NULL},
    {"no-milter", 0, 0, G_OPTION_ARG_NONE, &opt_no_milter,
     "No filter: every record from the Postfix log alone (nothing in the mail path)", NULL},
    {"postfix-config", 0, 0, G_OPTION_ARG_FILENAME, &opt_pf_config,
     "Follow the programs of the Postfix configuration in DIR (default " SEG_PFLOG_POSTFIX_CONFIG ")", "DIR"},
    {"syslog-name", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_names,
     "Follow programs NAME/... instead (repeat for more)", "NAME"},
    {"mail-log", 'o', 0, G_OPTION_ARG_FILENAME, &opt_mail_log,
     "Records file (default " SEG_RECORD_MAIL_LOGS ")", "PATH"},
    {"no-mail-log", 0, 0, G_OPTION_ARG_NONE, &opt_no_mail_log,
     "No records file: records only by --syslog", NULL},
    {"syslog", 0, 0, G_OPTION_ARG_STRING, &opt_syslog,
     "Also push each record to syslog: udp:HOST:PORT, tcp:HOST:PORT or tls:HOST:PORT", "DEST"},
    {"syslog-ca", 0, 0, G_OPTION_ARG_FILENAME, &opt_syslog_ca,
     "CA certificates the tls: server must chain to (default: the system's)", "FILE"},
    {"syslog-facility", 0, 0, G_OPTION_ARG_STRING, &opt_syslog_facility,
     "Syslog facility (default mail)", "NAME"},
    {"syslog-queue", 0, 0, G_OPTION_ARG_INT, &opt_syslog_queue,
     "Records queued while the server is away, beyond: dropped and counted (default 10000)", "N"},
    {"metrics", 0, 0, G_OPTION_ARG_STRING, &opt_metrics,
     "Serve Prometheus metrics (GET /metrics) on unix:/PATH or 127.0.0.1:PORT", "ADDR"},
    {"state-dir", 'd', 0, G_OPTION_ARG_FILENAME, &opt_state_dir,
     "IDs and the follower's offset, the milter's own (default " DEFAULT_STATE_DIR ")", "DIR"},
    {"id-block", 0, 0, G_OPTION_ARG_INT64, &opt_id_block,
     "IDs reserved per update of STATE_DIR/ids (default 1000)", "N"},
    {"user", 'u', 0, G_OPTION_ARG_STRING, &opt_user,
     "Run as this user once the socket and files are open", "NAME"},
    {"socket-group", 'g', 0, G_OPTION_ARG_STRING, &opt_group,
     "Group allowed to use a unix socket (default " DEFAULT_SOCK_GROUP ")", "NAME"},
    {"foreground", 'f', 0, G_OPTION_ARG_NONE, &opt_foreground,
     "Stay in the foreground and log to stderr", NULL},
    {"log-file", 0, 0, G_OPTION_ARG_FILENAME, &opt_log_file,
     "Detached, log to this file (default: syslog, else " MSG_FALLBACK_FILE ")", "PATH"},
    G_OPTION_ENTRY_NULL
};

/* sigwait - libmilter's signal wait; SIGHUP reopens instead of stopping */
int sigwait(const sigset_t *restrict set, int *restrict sig)
{
    int s;

    for (;;) {
        if ((s = sigwaitinfo(set, NULL)) < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        if (s != SIGHUP) {
            *sig = s;
            return 0;
        }
        if (mt_reopen())
            msg_info("reopened the record file");
    }
}

/* wait_for_stop - --no-milter: SIGHUP reopens, SIGTERM or SIGINT returns */
static void wait_for_stop(void)
{
    sigset_t set;
    int     sig;

    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    (void) sigwait(&set, &sig);
}

/* unix_path - the file of a unix:/local: socket spec, or NULL */
static const char *unix_path(const char *spec)
{
    if (g_str_has_prefix(spec, "unix:"))
        return spec + 5;
    if (g_str_has_prefix(spec, "local:"))
        return spec + 6;
    return NULL;
}

/* check_spec - a socket spec libmilter understands */
static gboolean check_spec(const char *spec)
{
    const char *p = unix_path(spec);

    if (p)
        return *p == '/' && strlen(p) < 100;
    return (g_str_has_prefix(spec, "inet:") || g_str_has_prefix(spec, "inet6:"))
        && strchr(spec, ' ') == NULL && strlen(spec) < 200;
}

/*
 * socket_dir_check - the directory of a unix socket exists and is a
 * directory; fatal with what to do when not (it is made by the admin or
 * the unit: the milter never makes directories in Postfix's queue)
 */
static void socket_dir_check(const char *spec, const struct passwd *pw)
{
    const char *path = unix_path(spec);
    const char *gname = opt_group ? opt_group : DEFAULT_SOCK_GROUP;
    g_autofree char *dir = NULL;
    struct stat st;

    if (path == NULL)
        return;
    dir = g_path_get_dirname(path);
    if (stat(dir, &st) < 0) {
        const char *why = g_strerror(errno);

        msg_fatal("milter socket %s: directory %s: %s (make it: install -d -o %s -g %s -m 0750 %s)",
                  spec, dir, why, pw ? pw->pw_name : g_get_user_name(), gname, dir);
    }
    if (!S_ISDIR(st.st_mode))
        msg_fatal("milter socket %s: %s is not a directory", spec, dir);
}

/* socket_perms - owner and mode of a unix socket (smtpd must connect) */
static void socket_perms(const char *spec, const struct passwd *pw)
{
    const char *path = unix_path(spec);
    const char *gname = opt_group ? opt_group : DEFAULT_SOCK_GROUP;
    struct group *gr = getgrnam(gname);

    if (path == NULL)
        return;
    if (gr == NULL && opt_group) {
        g_autofree char *q = seg_quote_value(gname);

        msg_fatal("unknown group %s", q);
    }
    if (chown(path, pw ? pw->pw_uid : (uid_t) -1, gr ? gr->gr_gid : (gid_t) -1) < 0
        || chmod(path, gr ? 0660 : 0666) < 0)
        msg_fatal("%s: %s", path, g_strerror(errno));
}

/*
 * make_state_dir - the milter's state directory; made when missing
 * (parents 0755, itself 0750) and then given to pw. One that exists is
 * left as it is, and refused when it holds segtls-policyd's state.
 */
static void make_state_dir(const char *dir, const struct passwd *pw)
{
    g_autofree char *parent = g_path_get_dirname(dir);
    const char *theirs;
    int fd, err;

    if ((theirs = seg_store_file_in(dir)) != NULL)
        msg_fatal("state directory %s holds segtls-policyd's %s: give the milter its own "
                  "--state-dir (default " DEFAULT_STATE_DIR ")", dir, theirs);
    if (g_mkdir_with_parents(parent, 0755) < 0)
        msg_fatal("%s: %s", parent, g_strerror(errno));
    if (pw && (err = seg_user_access(pw, parent, X_OK)) != 0)
        msg_fatal("%s: %s for user %s (it holds the state directory)", parent, g_strerror(err),
                  pw->pw_name);
    if (mkdir(dir, 0750) < 0) {
        if (errno != EEXIST)
            msg_fatal("%s: %s", dir, g_strerror(errno));
        return;
    }
    if (pw == NULL)
        return;
    if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0
        || fchown(fd, pw->pw_uid, pw->pw_gid) < 0)
        msg_fatal("cannot give %s to %s: %s", dir, pw->pw_name, g_strerror(errno));
    close(fd);
}

/* make_records - a records file that does not exist yet is made for pw */
static void make_records(const char *path, const struct passwd *pw)
{
    int fd;

    if (pw == NULL || path == NULL)
        return;                         /* no user to give it, or no file (--no-mail-log) */
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (fd < 0)
        return;                         /* there already, or seg_record_open says why */
    if (fchown(fd, pw->pw_uid, pw->pw_gid) < 0)
        msg_fatal("cannot give %s to %s: %s", path, pw->pw_name, g_strerror(errno));
    close(fd);
}

/*
 * check_access - before anything is written: pw can write the state
 * directory and what is opened in place there, and the records file
 */
static void check_access(const struct passwd *pw, const char *state_dir, const char *records)
{
    static const struct {
        const char *name;
        int         mode;
    } files[] = {
        {SEG_IDS_LOCK, R_OK | W_OK}, {SEG_IDS_FILE, R_OK}, {MT_FOLLOWER_FILE, R_OK},
        {MT_MSGS_FILE, R_OK},
    };
    int err;

    if ((err = seg_user_access(pw, state_dir, W_OK | X_OK)) != 0)
        msg_fatal("state directory %s: %s for user %s", state_dir, g_strerror(err), pw->pw_name);
    for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
        g_autofree char *p = g_build_filename(state_dir, files[i].name, NULL);

        if (access(p, F_OK) == 0 && (err = seg_user_access(pw, p, files[i].mode)) != 0)
            msg_fatal("%s: %s for user %s", p, g_strerror(err), pw->pw_name);
    }
    if (records != NULL && access(records, F_OK) == 0
        && (err = seg_user_access(pw, records, W_OK)) != 0)
        msg_fatal("records file %s: %s for user %s (it could not be reopened)", records,
                  g_strerror(err), pw->pw_name);
}

/* block_signals - only libmilter's signal thread takes HUP, TERM, INT */
static void block_signals(void)
{
    sigset_t set;

    seg_ignore_sigpipe();
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* absolute - a path made absolute against the working directory */
static char *absolute(const char *path)
{
    return g_canonicalize_filename(path, NULL);
}

/*
 * syslog_names - the syslog names of Postfix's programs in the log:
 * --syslog-name, else those of --postfix-config (an error when they
 * cannot be read), else those of the default configuration
 * (seg_pflog_config_names); NULL with error on bad input
 */
static char **syslog_names(GError **error)
{
    char **names;

    if (opt_names) {
        if (!seg_pflog_set_syslog_names(NULL, (const char *const *) opt_names, error))
            return NULL;
        return g_strdupv(opt_names);
    }
    if ((names = seg_pflog_config_names(opt_pf_config, error)) == NULL)
        g_prefix_error(error, "--postfix-config %s: ", opt_pf_config);
    return names;
}

/*
 * postfix_config - the configuration whose interfaces the records name:
 * --postfix-config, else the default one when it exists and no
 * --syslog-name was given; NULL for none
 */
static const char *postfix_config(void)
{
    if (opt_pf_config != NULL)
        return opt_pf_config;
    if (opt_names == NULL && seg_pflog_postfix_config_exists(SEG_PFLOG_POSTFIX_CONFIG))
        return SEG_PFLOG_POSTFIX_CONFIG;
    return NULL;
}

/* main - options, socket, files, privileges, then milter and follower */
int main(int argc, char **argv)
{
    g_autoptr(GOptionContext) oc = g_option_context_new("- Postfix milter writing segtls records");
    g_autoptr(GError) err = NULL;
    const char *sock;
    g_autofree char *records = NULL, *state_dir = NULL, *maillog = NULL;
    g_auto(GStrv) names = NULL;
    struct passwd *pw = NULL;
    mt_follower *fol = NULL;
    seg_syslogpush *push = NULL;
    int rc;

    msg_init(argv[0]);
    g_option_context_add_main_entries(oc, options, NULL);
    g_option_context_set_description(oc, "See segtls-milter(8) for the Postfix settings it needs.");
    if (!g_option_context_parse(oc, &argc, &argv, &err)) {
        msg_error("%s", err->message);
        return 2;
    }
    if (argc > 1) {
        g_autofree char *q = seg_quote_value(argv[1]);

        msg_error("unexpected argument %s", q);
        return 2;
    }
    if (opt_no_milter && (opt_no_follow || opt_socket)) {
        msg_error("--no-milter follows the log only: not with %s",
                  opt_no_follow ? "--no-follow" : "--socket");
        return 2;
    }
    sock = opt_socket ? opt_socket : DEFAULT_SOCKET;
    /* absolute: a daemon works in / */
    if (opt_no_mail_log && (opt_mail_log || !opt_syslog)) {
        msg_error("--no-mail-log: %s", opt_mail_log ? "not with --mail-log" : "needs --syslog");
        return 2;
    }
    if (opt_syslog_queue < 0 || opt_syslog_queue > 10000000) {
        msg_error("--syslog-queue %d: 1 to 10000000 records", opt_syslog_queue);
        return 2;
    }
    if (opt_syslog && ((push = seg_syslogpush_new(opt_syslog, opt_syslog_ca, (guint) opt_syslog_queue,
                                                  &err)) == NULL
                       || (opt_syslog_facility
                           && !seg_syslogpush_set_facility(push, opt_syslog_facility, &err)))) {
        msg_error("%s", err->message);
        return 2;
    }
    if (opt_metrics && !seg_metrics_check_spec(opt_metrics, &err)) {
        msg_error("--metrics: %s", err->message);
        return 2;
    }
    if (!opt_syslog && (opt_syslog_ca || opt_syslog_facility || opt_syslog_queue)) {
        msg_error("--syslog-ca, --syslog-facility and --syslog-queue need --syslog");
        return 2;
    }
    records = opt_no_mail_log ? NULL : absolute(opt_mail_log ? opt_mail_log : SEG_RECORD_MAIL_LOGS);
    state_dir = absolute(opt_state_dir ? opt_state_dir : DEFAULT_STATE_DIR);
    maillog = absolute(opt_maillog ? opt_maillog : DEFAULT_MAILLOG);
    if (!check_spec(sock)) {
        g_autofree char *q = seg_quote_value(sock);

        msg_error("bad --socket %s: want unix:/PATH or inet:PORT@ADDR", q);
        return 2;
    }
    if (opt_names && opt_pf_config) {
        msg_error("--syslog-name and --postfix-config: give one of them");
        return 2;
    }
    if (!opt_no_follow && (names = syslog_names(&err)) == NULL) {
        msg_error("%s", err->message);
        return 2;
    }
    if (opt_user && (pw = getpwnam(opt_user)) == NULL) {
        g_autofree char *q = seg_quote_value(opt_user);

        msg_error("unknown user %s", q);
        return 2;
    }
    if (opt_id_block != -1 && (opt_id_block < 1 || opt_id_block > ID_BLOCK_MAX)) {
        msg_error("bad --id-block %" G_GINT64_FORMAT ": want 1 to %d", opt_id_block, ID_BLOCK_MAX);
        return 2;
    }
    if (!opt_no_milter)
        socket_dir_check(sock, pw);
    make_state_dir(state_dir, pw);
    if (pw)
        check_access(pw, state_dir, records);
    make_records(records, pw);
    if (!mt_init(state_dir, records, opt_id_block > 0 ? (guint64) opt_id_block : 0, &err))
        msg_fatal("%s", err->message);
    if (push)
        mt_set_push(push);
    if (opt_metrics) {
        mt_metrics();                   /* counting costs each record a parse: only when shown */
        if (push)
            seg_recmetrics_push(push);
    }
    if (!opt_no_milter) {
        if (!mt_filter_register(sock, &err))
            msg_fatal("%s", err->message);
        socket_perms(sock, pw);
    }
    /* the log file may be root's (policyd made it): opened before the drop */
    if (!opt_foreground)
        (void) msg_detach_open(LOG_MAIL, opt_log_file);
    if (pw)
        seg_drop_privileges(pw);
    if (!mt_ids_reserve(&err))
        msg_fatal("%s", err->message);
    if (!opt_foreground) {
        msg_detach_now();
        if (daemon(0, 0) < 0)
            msg_fatal("daemon: %s", g_strerror(errno));
    }
    block_signals();
    mt_steps_threads();
    if (!mt_ids_refill_start(&err))
        msg_fatal("%s", err->message);
    if (opt_metrics && !seg_metrics_listen(opt_metrics, &err))
        msg_fatal("%s", err->message);
    if (opt_config != NULL) {
        seg_destwatch *watch = seg_destwatch_new(opt_config, &err);

        if (watch == NULL)
            msg_fatal("--config: %s", err->message);
        mt_relabel_destinations(seg_destwatch_lookup, watch);
    }
    if (!opt_no_follow
        && (fol = mt_follower_start(maillog, state_dir, opt_no_milter,
                                    (const char *const *) names, postfix_config(), &err)) == NULL)
        msg_fatal("log follower: %s", err->message);
    if (opt_no_milter) {
        msg_info("following %s, records to %s%s%s", maillog, records ? records : "syslog",
                 push && records ? " and " : "", push && records ? seg_syslogpush_dest(push) : "");
        wait_for_stop();
        rc = MI_SUCCESS;
    } else {
        msg_info("listening on %s, records to %s%s%s", sock, records ? records : "syslog",
                 push && records ? " and " : "", push && records ? seg_syslogpush_dest(push) : "");
        rc = smfi_main();
    }
    mt_follower_stop(fol);
    if (mt_dropped())
        msg_warn("%" G_GUINT64_FORMAT " records could not be written", mt_dropped());
    mt_shutdown();
    if (push) {
        seg_syslogpush_stats st;

        seg_syslogpush_get_stats(push, &st);
        seg_syslogpush_free(push, 2000);
        if (st.dropped)
            msg_warn("syslog push: %" G_GUINT64_FORMAT " records dropped", st.dropped);
    }
    msg_info("stopped");
    return rc == MI_SUCCESS ? 0 : 1;
}
