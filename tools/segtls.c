/*
 * segtls - command line client of segtls-policyd.
 *
 * Non-interactive counterpart of the sslconfig dialog: show, set,
 * commit, apply, clear, rollbackconfig, commitdetail and status, the
 * Destination Controls (destconfig) and sender groups (sendergroup), and
 * in cluster mode clustershow, clusterset and cluster join, each a row in
 * one table with its own options and --help. show and set take --level
 * cluster|group:NAME|machine:NAME in cluster mode. Every subcommand is one or
 * two control requests (lib/policy/ctl.h); the commands that only read
 * fall back to the read-only socket when the control socket is not open
 * to the user (seg_ctl_read_socket_path). Errors are one line on stderr starting with
 * "segtls: "; exit 0 ok, 1 error, 2 usage. status also shakes hands
 * with the servers (lib/tls/probe.h) and exits 1 when what they negotiate
 * differs from what the committed settings make usable (status.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>

#include "ctl.h"
#include "live.h"
#include "msg.h"
#include "layers.h"
#include "sigpipe.h"
#include "recfmt.h"
#include "status.h"
#include "quote.h"

static char *opt_socket;
static gboolean reading;        /* the command only reads */

typedef int (*cmd_fn) (int argc, char **argv);

/* fail - one line on stderr, then exit with status */
G_GNUC_PRINTF(2, 3) G_NORETURN
static void fail(int status, const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fputs("segtls: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(status);
}

/* socket_path - the socket this command talks to */
static const char *socket_path(void)
{
    return reading ? seg_ctl_read_socket_path(opt_socket)
        : seg_ctl_socket_path(opt_socket);
}

/*
 * call - send a request (taken), return the ok response or exit 1. When a
 * commit's apply failed, also say that the changes are still pending.
 */
static JsonObject *call(JsonObject *req)
{
    g_autoptr(GError) err = NULL;
    gboolean commit = g_strcmp0(json_object_get_string_member_with_default(req, "op", ""),
                                "commit") == 0;
    JsonObject *resp;

    resp = seg_ctl_call(socket_path(), req, &err);
    json_object_unref(req);
    if (resp == NULL)
        fail(1, "%s", err->message);
    if (!seg_ctl_check(resp, &err)) {
        json_object_unref(resp);
        if (commit && g_str_has_prefix(err->message, "apply failed: "))
            fail(1, "%s\nYour changes are still pending.", err->message);
        fail(1, "%s", err->message);
    }
    return resp;
}

/* print_lines - each string of an array member, one per line */
static void print_lines(JsonObject *resp, const char *member)
{
    JsonArray *arr;
    guint   i;

    if (!json_object_has_member(resp, member)
        || !JSON_NODE_HOLDS_ARRAY(json_object_get_member(resp, member)))
        return;
    arr = json_object_get_array_member(resp, member);
    for (i = 0; i < json_array_get_length(arr); i++)
        printf("%s\n", json_array_get_string_element(arr, i));
}

/* print_warnings - the warnings about what was touched, then the summary */
static void print_warnings(JsonObject *resp)
{
    const char *summary = json_object_get_string_member_with_default(
        resp, "warnings_summary", "");

    print_lines(resp, "warnings");
    if (*summary)
        printf("%s\n", summary);
}

/* ask - print a prompt, read one answer line; NULL at EOF */
static char *ask(const char *prompt)
{
    char   *line = NULL;
    size_t  size = 0;
    ssize_t n;

    fputs(prompt, stdout);
    fflush(stdout);
    n = getline(&line, &size, stdin);
    if (!isatty(STDIN_FILENO))
        putchar('\n');
    if (n < 0) {
        free(line);
        return NULL;
    }
    line[strcspn(line, "\r\n")] = 0;
    {
        char   *copy = g_strdup(g_strstrip(line));

        free(line);
        return copy;
    }
}

/* ask_yes_no - [Y]/[N] question; -1 at EOF */
static int ask_yes_no(const char *prompt, gboolean dflt)
{
    for (;;) {
        g_autofree char *a = ask(prompt);

        if (a == NULL)
            return -1;
        if (*a == 0)
            return dflt;
        if (g_ascii_strcasecmp(a, "y") == 0 || g_ascii_strcasecmp(a, "yes") == 0)
            return 1;
        if (g_ascii_strcasecmp(a, "n") == 0 || g_ascii_strcasecmp(a, "no") == 0)
            return 0;
        printf("Please answer Y or N.\n");
    }
}

/* options may follow the operands (destconfig new DOMAIN --tls MODE) */
static gboolean options_anywhere;

/* parse_sub - a subcommand's options; exit 2 on usage errors, or N args wrong */
static void parse_sub(const char *name, const char *params, const char *summary,
                      GOptionEntry *entries, int *argc, char ***argv,
                      int min_args, int max_args)
{
    g_autoptr(GOptionContext) ctx = NULL;
    g_autoptr(GError) err = NULL;
    g_autofree char *p = g_strdup_printf("%s%s%s", name, *params ? " " : "", params);

    ctx = g_option_context_new(p);
    g_option_context_set_summary(ctx, summary);
    g_option_context_set_strict_posix(ctx, !options_anywhere);
    if (entries != NULL)
        g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, argc, argv, &err))
        fail(2, "%s: %s (try segtls %s --help)", name, err->message, name);
    if (*argc - 1 < min_args || (max_args >= 0 && *argc - 1 > max_args))
        fail(2, "%s: wrong number of arguments (try segtls %s --help)", name, name);
}

/*
 * note_of - " (nginx cannot renegotiate; not applied)" after a key's value
 * when the server cannot do what it says (seg_renegotiation_note), else ""
 */
static char *note_of(JsonObject *values, const char *key)
{
    g_autoptr(seg_settings) s = seg_settings_from_json(values, NULL);
    int     svc = seg_settings_key_service(key);
    const char *note;

    if (s == NULL || svc < 0 || !g_str_has_suffix(key, ".renegotiation")
        || (note = seg_renegotiation_note(s, (seg_service) svc)) == NULL)
        return g_strdup("");
    return g_strdup_printf(" (%s)", note);
}

/* clean - text from elsewhere (etcd, other machines) fit for a terminal */
static char *clean(const char *text)
{
    char   *c = g_strdup(text ? text : "");

    c[seg_recfmt_clean(c, c, strlen(c), 0)] = 0;
    return c;
}

/* show_text - committed values, pending differences, warnings */
static void show_text(JsonObject *resp)
{
    JsonObject *committed = json_object_get_object_member(resp, "committed");
    JsonNode *pnode = json_object_get_member(resp, "pending");
    JsonNode *cnode = json_object_get_member(resp, "cluster");
    JsonObject *cluster = cnode && JSON_NODE_HOLDS_OBJECT(cnode)
        ? json_node_get_object(cnode) : NULL;
    JsonObject *pending = NULL;
    const char *const *key;
    gboolean any = FALSE;
    gint64  rev = 0, base = 0;

    if (cluster != NULL) {
        const char *level = json_object_get_string_member_with_default(cluster, "level",
                                                                       "machine");

        rev = json_object_get_int_member_with_default(cluster, "revision", 0);
        base = json_object_get_int_member_with_default(cluster, "pending_base", 0);
        if (strcmp(level, "machine") == 0)
            printf("Cluster %s, revision %" G_GINT64_FORMAT ", as machine %s sees it:\n",
                   json_object_get_string_member_with_default(cluster, "name", "?"), rev,
                   json_object_get_string_member_with_default(cluster, "machine", "?"));
        else
            printf("Cluster %s, revision %" G_GINT64_FORMAT ", at %s:\n",
                   json_object_get_string_member_with_default(cluster, "name", "?"), rev,
                   level);
    }

    for (key = seg_settings_keys(); *key != NULL; key++) {
        g_autofree char *note = note_of(committed, *key);

        printf("%s = %s%s\n", *key,
               json_object_get_string_member_with_default(committed, *key, ""), note);
    }
    if (pnode != NULL && JSON_NODE_HOLDS_OBJECT(pnode))
        pending = json_node_get_object(pnode);
    for (key = seg_settings_keys(); pending != NULL && *key != NULL; key++) {
        const char *c = json_object_get_string_member_with_default(committed, *key, "");
        const char *v = json_object_get_string_member_with_default(pending, *key, "");
        g_autofree char *note = NULL;

        if (strcmp(c, v) == 0)
            continue;
        if (!any && base != 0 && base != rev)
            printf("\nPending changes (made on revision %" G_GINT64_FORMAT "; the cluster "
                   "is now at revision %" G_GINT64_FORMAT "):\n", base, rev);
        else if (!any)
            printf("\nPending changes:\n");
        any = TRUE;
        note = note_of(pending, *key);
        printf("  %s = %s%s\n", *key, v, note);
    }
    if (pending != NULL && json_object_has_member(resp, "table_changes")) {
        JsonArray *t = json_object_get_array_member(resp, "table_changes");

        for (guint i = 0; i < json_array_get_length(t); i++) {
            if (!any && pending != NULL && cluster != NULL)
        printf("\nPending changes at other levels (segtls clustershow).\n");
    else if (!any)
                printf("\nPending changes:\n");
            any = TRUE;
            printf("  %s\n", json_array_get_string_element(t, i));
        }
    }
    if (!any && pending != NULL && cluster != NULL)
        printf("\nPending changes at other levels (segtls clustershow).\n");
    else if (!any)
        printf("\nNo pending changes.\n");
    if (json_array_get_length(json_object_get_array_member(resp, "warnings")) > 0)
        putchar('\n');
    print_lines(resp, "warnings");
}

/* print_json - an answer, pretty */
static void print_json(JsonObject *resp)
{
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
    g_autofree char *text = NULL;

    json_node_set_object(node, resp);
    json_generator_set_root(gen, node);
    json_generator_set_pretty(gen, TRUE);
    json_generator_set_indent(gen, 2);
    text = json_generator_to_data(gen, NULL);
    printf("%s\n", text);
}

/* check_level - --level must name a level; exit 2 otherwise */
static void check_level(const char *cmd, const char *level)
{
    g_autoptr(GError) err = NULL;
    seg_level l;

    if (level == NULL)
        return;
    if (!seg_level_parse(level, &l, &err))
        fail(2, "%s: --level: %s (try segtls %s --help)", cmd, err->message, cmd);
    seg_level_clear(&l);
}

#define LEVEL_ENTRY(var) \
    {"level", 'l', 0, G_OPTION_ARG_STRING, &var, \
     "In cluster mode, the level: cluster, group:NAME or machine:NAME", "LEVEL"}

/* cmd_show - segtls show [--json] [--level LEVEL] */
static int cmd_show(int argc, char **argv)
{
    gboolean json = FALSE;
    g_autofree char *level = NULL;
    GOptionEntry entries[] = {
        {"json", 0, 0, G_OPTION_ARG_NONE, &json, "The server's answer as JSON", NULL},
        LEVEL_ENTRY(level),
        G_OPTION_ENTRY_NULL
    };
    JsonObject *req = seg_ctl_request("show");
    JsonObject *resp;

    parse_sub("show", "", "Show the committed settings, pending changes and warnings "
              "(in cluster mode: as this machine sees them, or a level).",
              entries, &argc, &argv, 0, 0);
    check_level("show", level);
    if (level != NULL)
        json_object_set_string_member(req, "level", level);
    reading = TRUE;
    resp = call(req);
    if (json) {
        print_json(resp);
    } else {
        show_text(resp);
    }
    json_object_unref(resp);
    return 0;
}

/* cmd_set - segtls set [--level LEVEL] KEY VALUE [KEY VALUE...] */
static int cmd_set(int argc, char **argv)
{
    g_autofree char *level = NULL;
    GOptionEntry entries[] = {
        LEVEL_ENTRY(level),
        G_OPTION_ENTRY_NULL
    };
    JsonObject *req = seg_ctl_request("set");
    JsonObject *settings = json_object_new();
    JsonObject *resp;
    int     i;

    parse_sub("set", "KEY VALUE [KEY VALUE...]",
              "Change settings in the pending configuration (all or nothing); in "
              "cluster mode at the cluster level unless --level names another.",
              entries, &argc, &argv, 2, -1);
    if ((argc - 1) % 2 != 0)
        fail(2, "set: KEY without VALUE (try segtls set --help)");
    check_level("set", level);
    if (level != NULL)
        json_object_set_string_member(req, "level", level);
    for (i = 1; i + 1 < argc; i += 2)
        json_object_set_string_member(settings, argv[i], argv[i + 1]);
    json_object_set_object_member(req, "settings", settings);
    resp = call(req);
    print_warnings(resp);
    json_object_unref(resp);
    return 0;
}

/* has_pending - ask the daemon whether anything is pending */
static gboolean has_pending(void)
{
    JsonObject *resp = call(seg_ctl_request("status"));
    gboolean pending = json_object_get_boolean_member_with_default(resp, "pending",
                                                                   FALSE);

    json_object_unref(resp);
    return pending;
}

/* cmd_commit - segtls commit [-m COMMENT] [--no-rollback] */
static int cmd_commit(int argc, char **argv)
{
    g_autofree char *comment = NULL;
    char    when[SEG_RECFMT_TIME_LEN];
    gboolean no_rollback = FALSE;
    gboolean keep = TRUE;
    GOptionEntry entries[] = {
        {"message", 'm', 0, G_OPTION_ARG_STRING, &comment,
         "Comment describing the changes (no questions asked)", "COMMENT"},
        {"no-rollback", 0, 0, G_OPTION_ARG_NONE, &no_rollback,
         "Do not save the current configuration for rollback", NULL},
        G_OPTION_ENTRY_NULL
    };
    JsonObject *req;
    JsonObject *resp;

    parse_sub("commit", "", "Commit the pending changes.", entries,
              &argc, &argv, 0, 0);
    if (!has_pending()) {
        printf("There is no data to commit.\n");
        return 0;
    }
    if (comment == NULL) {
        comment = ask("Please enter some comments describing your changes:\n[]> ");
        if (comment == NULL)
            fail(1, "commit abandoned, nothing committed");
        if (!no_rollback) {
            int     yes = ask_yes_no("Do you want to save the current "
                                     "configuration for rollback? [Y]> ", TRUE);

            if (yes < 0)
                fail(1, "commit abandoned, nothing committed");
            keep = yes;
        }
    }
    if (no_rollback)
        keep = FALSE;
    req = seg_ctl_request("commit");
    json_object_set_string_member(req, "comment", comment);
    json_object_set_boolean_member(req, "keep_rollback", keep);
    resp = call(req);
    if (json_object_get_boolean_member_with_default(resp, "nothing", FALSE)) {
        printf("There is no data to commit.\n");
    } else {
        if (seg_recfmt_time(time(NULL), when, sizeof(when)) == 0)
            g_strlcpy(when, "unknown", sizeof(when));
        if (json_object_has_member(resp, "revision"))
            printf("Changes committed as revision %" G_GINT64_FORMAT ": %s\n",
                   json_object_get_int_member(resp, "revision"), when);
        else
            printf("Changes committed: %s\n", when);
        print_warnings(resp);
        /* the apply's output lines hold its notices */
        print_lines(resp, json_object_has_member(resp, "lines") ? "lines" : "notices");
    }
    json_object_unref(resp);
    return 0;
}

/* cmd_apply - segtls apply: the committed settings, applied and proven now */
static int cmd_apply(int argc, char **argv)
{
    JsonObject *resp;

    parse_sub("apply", "", "Apply the committed settings to Postfix and nginx "
              "now, with the options of the apply configuration, and prove "
              "them like a commit (after installing, or after editing the "
              "settings file by hand and SIGHUP). Pending changes are not "
              "applied.", NULL, &argc, &argv, 0, 0);
    resp = call(seg_ctl_request("apply"));
    print_lines(resp, "warnings");
    print_lines(resp, "lines");
    json_object_unref(resp);
    if (has_pending())
        printf("The pending changes were not applied; segtls commit applies them.\n");
    return 0;
}

/* cmd_clear - segtls clear [-y] */
static int cmd_clear(int argc, char **argv)
{
    gboolean yes = FALSE;
    GOptionEntry entries[] = {
        {"yes", 'y', 0, G_OPTION_ARG_NONE, &yes, "Do not ask for confirmation", NULL},
        G_OPTION_ENTRY_NULL
    };
    JsonObject *resp;

    parse_sub("clear", "", "Drop all changes since the last commit.", entries,
              &argc, &argv, 0, 0);
    if (!has_pending()) {
        printf("There are no changes to clear.\n");
        return 0;
    }
    if (!yes) {
        int     answer = ask_yes_no("Are you sure you want to clear all changes "
                                    "since the last commit? [Y]> ", TRUE);

        if (answer < 0)
            fail(1, "clear abandoned, nothing cleared");
        if (answer == 0)
            return 0;
    }
    resp = call(seg_ctl_request("clear"));
    if (json_object_get_boolean_member_with_default(resp, "nothing", FALSE))
        printf("There are no changes to clear.\n");
    else
        printf("Changes cleared.\n");
    json_object_unref(resp);
    return 0;
}

/*
 * rollback_print - the saved configurations, each with its id, what it
 * restores and how it differs from the committed one; their ids
 */
static GArray *rollback_print(void)
{
    JsonObject *resp = call(seg_ctl_request("rollback_list"));
    JsonArray *arr = json_object_get_array_member(resp, "rollbacks");
    GArray *ids = g_array_new(FALSE, FALSE, sizeof(guint64));
    guint   n = arr ? json_array_get_length(arr) : 0;

    if (n == 0)
        printf("There are no saved configurations to roll back to.\n");
    for (guint i = 0; i < n; i++) {
        JsonObject *e = json_array_get_object_element(arr, i);
        guint64 id = (guint64) json_object_get_int_member_with_default(e, "id", 0);
        JsonNode *dn = json_object_get_member(e, "differences");
        JsonArray *diff = dn && JSON_NODE_HOLDS_ARRAY(dn) ? json_node_get_array(dn) : NULL;

        g_array_append_val(ids, id);
        printf("%" G_GUINT64_FORMAT ". %s\n", id,
               json_object_get_string_member_with_default(e, "restores", ""));
        if (diff != NULL && json_array_get_length(diff) == 0)
            printf("    (the same as the committed configuration)\n");
        for (guint k = 0; diff != NULL && k < json_array_get_length(diff); k++)
            printf("    %s\n", json_array_get_string_element(diff, k));
    }
    json_object_unref(resp);
    return ids;
}

/* parse_id - a positive configuration id, 0 when not one */
static guint64 parse_id(const char *text)
{
    guint64 id;

    if (!g_ascii_string_to_unsigned(text, 10, 1, G_MAXINT64, &id, NULL))
        return 0;
    return id;
}

/* rollback_restore - make the saved configuration with this id pending */
static int rollback_restore(guint64 id)
{
    JsonObject *req = seg_ctl_request("rollback_restore");

    json_object_set_int_member(req, "id", (gint64) id);
    json_object_unref(call(req));
    printf("Configuration %" G_GUINT64_FORMAT " restored as pending changes. "
           "Use commit to apply it.\n", id);
    return 0;
}

/* cmd_rollbackconfig - segtls rollbackconfig [list | restore ID] */
static int cmd_rollbackconfig(int argc, char **argv)
{
    g_autoptr(GArray) ids = NULL;
    guint64 id;

    parse_sub("rollbackconfig", "[list | restore ID]",
              "List the saved configurations and restore one as pending changes. "
              "An ID names the same configuration until it is no longer kept, "
              "whatever is committed meanwhile.",
              NULL, &argc, &argv, 0, 2);
    if (argc == 2 && strcmp(argv[1], "list") == 0) {
        reading = TRUE;
        g_array_unref(rollback_print());
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "restore") == 0) {
        if ((id = parse_id(argv[2])) == 0) {
            g_autofree char *q = seg_quote_value(argv[2]);

            fail(2, "rollbackconfig: %s is not a configuration number", q);
        }
        return rollback_restore(id);
    }
    if (argc != 1)
        fail(2, "rollbackconfig: expected list or restore ID (try segtls rollbackconfig --help)");
    if ((ids = rollback_print())->len == 0)
        return 0;
    for (;;) {
        g_autofree char *a = ask("Enter the number of the configuration to restore.\n[]> ");
        GString *listed;

        if (a == NULL || *a == 0)
            return 0;
        id = parse_id(a);
        for (guint i = 0; id != 0 && i < ids->len; i++)
            if (g_array_index(ids, guint64, i) == id)
                return rollback_restore(id);
        listed = g_string_new(NULL);
        for (guint i = 0; i < ids->len; i++)
            g_string_append_printf(listed, "%s%" G_GUINT64_FORMAT, i ? ", " : "",
                                   g_array_index(ids, guint64, i));
        printf("Please enter one of the numbers listed: %s.\n", listed->str);
        g_string_free(listed, TRUE);
    }
}

/* cmd_commitdetail - segtls commitdetail [--json] */
static int cmd_commitdetail(int argc, char **argv)
{
    gboolean json = FALSE;
    GOptionEntry entries[] = {
        {"json", 0, 0, G_OPTION_ARG_NONE, &json, "The server's answer as JSON", NULL},
        G_OPTION_ENTRY_NULL
    };
    JsonObject *resp;
    JsonNode *node;
    JsonObject *c;
    JsonArray *changes;
    const char *comment;
    gint64  rb;

    parse_sub("commitdetail", "", "Show the last commit: who, when, its comment "
              "and what it changed.", entries, &argc, &argv, 0, 0);
    reading = TRUE;
    resp = call(seg_ctl_request("commit_detail"));
    node = json_object_get_member(resp, "commit");
    if (json) {
        print_json(resp);
    } else if (node == NULL || !JSON_NODE_HOLDS_OBJECT(node)) {
        printf("There is no commit to show.\n");
    } else {
        c = json_node_get_object(node);
        comment = json_object_get_string_member_with_default(c, "comment", "");
        rb = json_object_get_int_member_with_default(c, "rollback_id", 0);
        printf("Last commit: %s by %s\nComment: %s\n",
               json_object_get_string_member_with_default(c, "time", ""),
               json_object_get_string_member_with_default(c, "user", ""),
               *comment ? comment : "(none)");
        changes = json_object_get_array_member(c, "changes");
        if (changes == NULL || json_array_get_length(changes) == 0)
            printf("Changes: none\n");
        else
            printf("Changes:\n");
        for (guint i = 0; changes != NULL && i < json_array_get_length(changes); i++) {
            JsonObject *ch = json_array_get_object_element(changes, i);
            const char *b = json_object_get_string_member_with_default(ch, "before", "");
            const char *a = json_object_get_string_member_with_default(ch, "after", "");

            const char *level = json_object_get_string_member_with_default(ch, "level",
                                                                           NULL);

            printf("  %s%s%s: %s -> %s\n",
                   json_object_get_string_member_with_default(ch, "key", ""),
                   level ? " at " : "", level ? level : "",
                   *b ? b : "\"\"", *a ? a : "\"\"");
        }
        if (rb > 0)
            printf("The configuration before it is saved for rollback as %" G_GINT64_FORMAT
                   ".\n", rb);
        else
            printf("The configuration before it was not saved for rollback.\n");
    }
    json_object_unref(resp);
    return 0;
}

/* cmd_status - segtls status [--json] [--timeout SECONDS] */
static int cmd_status(int argc, char **argv)
{
    gboolean json = FALSE;
    double  timeout = 0;
    GOptionEntry entries[] = {
        {"json", 0, 0, G_OPTION_ARG_NONE, &json,
         "The server's answer and the live versions as JSON", NULL},
        {"timeout", 0, 0, G_OPTION_ARG_DOUBLE, &timeout,
         "Seconds per network step of each probe (default 5)", "SECONDS"},
        G_OPTION_ENTRY_NULL
    };
    JsonObject *resp;
    gboolean bad;

    parse_sub("status", "", "Show whether segtls-policyd runs, and where; per "
              "service the configured and usable TLS versions and what the "
              "server negotiates now; in cluster mode where this machine stands. "
              "Exit 1 on drift, an unreachable server, a settings file on disk "
              "that is invalid, or (cluster) etcd unreachable, not joined, or the "
              "cluster's revision not applied here.",
              entries, &argc, &argv, 0, 0);
    reading = TRUE;
    resp = call(seg_ctl_request("status"));
    bad = seg_live_probe(resp, timeout);
    bad |= json_object_get_string_member_with_default(resp, "config_error", NULL) != NULL;
    bad |= segtls_status_cluster_bad(resp);
    if (json) {
        print_json(resp);
    } else {
        printf("segtls-policyd is running (pid %" G_GINT64_FORMAT ").\n"
               "Socket: %s\nCommitted settings: %s\nState directory: %s\n"
               "Pending changes: %s\nConnected as: %s%s\n",
               json_object_get_int_member_with_default(resp, "pid", 0),
               socket_path(),
               json_object_get_string_member_with_default(resp, "config", ""),
               json_object_get_string_member_with_default(resp, "state_dir", ""),
               json_object_get_boolean_member_with_default(resp, "pending", FALSE)
               ? "yes" : "no",
               json_object_get_string_member_with_default(resp, "user", ""),
               json_object_get_boolean_member_with_default(resp, "read_only", FALSE)
               ? " (read-only)" : "");
        segtls_status_print(resp);
    }
    json_object_unref(resp);
    return bad ? 1 : 0;
}

/* row_text - "KEY LEVEL VALUE" of one row of a listing */
static char *row_text(JsonObject *r, const char *value)
{
    g_autofree char *v = clean(value);
    g_autofree char *level = clean(json_object_get_string_member_with_default(r, "level",
                                                                              "?"));

    return g_strdup_printf("  %-22s %-18s %s",
                           json_object_get_string_member_with_default(r, "key", "?"),
                           level, v);
}

/* same_place - two rows of the same key at the same level */
static gboolean same_place(JsonObject *a, JsonObject *b)
{
    return g_strcmp0(json_object_get_string_member_with_default(a, "key", ""),
                     json_object_get_string_member_with_default(b, "key", "")) == 0
        && g_strcmp0(json_object_get_string_member_with_default(a, "level", ""),
                     json_object_get_string_member_with_default(b, "level", "")) == 0;
}

/* find_row - the row of arr at the place of r, or NULL */
static JsonObject *find_row(JsonArray *arr, JsonObject *r)
{
    for (guint i = 0; arr != NULL && i < json_array_get_length(arr); i++)
        if (same_place(json_array_get_object_element(arr, i), r))
            return json_array_get_object_element(arr, i);
    return NULL;
}

/* array_member - an array member or NULL */
static JsonArray *array_member(JsonObject *o, const char *name)
{
    JsonNode *n = json_object_get_member(o, name);

    return n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
}

/* print_pending - the pending values that differ from the committed ones */
static void print_pending(JsonArray *committed, JsonArray *pending, gint64 base,
                          gint64 rev)
{
    if (base != rev)
        printf("\nPending changes of this machine (made on revision %" G_GINT64_FORMAT
               "; the cluster is now at revision %" G_GINT64_FORMAT "):\n", base, rev);
    else
        printf("\nPending changes of this machine:\n");
    for (guint i = 0; i < json_array_get_length(pending); i++) {
        JsonObject *r = json_array_get_object_element(pending, i);
        JsonObject *c = find_row(committed, r);
        const char *v = json_object_get_string_member_with_default(r, "value", "");
        g_autofree char *line = NULL;

        if (c != NULL && g_strcmp0(v, json_object_get_string_member_with_default(c, "value",
                                                                                  "")) == 0)
            continue;
        line = row_text(r, v);
        printf("%s\n", line);
    }
    for (guint i = 0; i < json_array_get_length(committed); i++) {
        JsonObject *c = json_array_get_object_element(committed, i);
        g_autofree char *line = NULL;

        if (find_row(pending, c) != NULL)
            continue;
        line = row_text(c, "(removed: inherited again)");
        printf("%s\n", line);
    }
}

/* print_live - "; live GUI HTTPS 1.2, Inbound SMTP 1.2-1.3" */
static void print_live(JsonObject *m)
{
    JsonNode *n = json_object_get_member(m, "live");
    JsonObject *live = n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
    gboolean first = TRUE;

    for (int svc = 0; live != NULL && svc < SEG_SVC_COUNT; svc++) {
        const char *v = json_object_get_string_member_with_default(
            live, seg_service_key((seg_service) svc), NULL);
        g_autofree char *c = NULL;

        if (v == NULL)
            continue;
        c = clean(*v ? v : "none");
        printf("%s%s %s", first ? "; live " : ", ", seg_service_title((seg_service) svc), c);
        first = FALSE;
    }
}

/* print_machine - one machine's line of clustershow */
static void print_machine(JsonObject *m, gint64 rev)
{
    g_autofree char *name = clean(json_object_get_string_member_with_default(m, "machine",
                                                                             "?"));
    g_autofree char *group = clean(json_object_get_string_member_with_default(m, "group",
                                                                              "?"));
    g_autofree char *result = clean(json_object_get_string_member_with_default(m, "result",
                                                                               "?"));
    g_autofree char *reason = clean(json_object_get_string_member_with_default(m, "reason",
                                                                               ""));
    g_autofree char *when = clean(json_object_get_string_member_with_default(m, "time", ""));
    gint64  r = json_object_get_int_member_with_default(m, "revision", 0);
    gint64  applied = json_object_get_int_member_with_default(m, "applied_revision", 0);

    printf("  %s (group %s): ", name, group);
    if (!json_object_has_member(m, "revision")) {
        printf("%s\n", result);
        return;
    }
    printf("revision %" G_GINT64_FORMAT " %s", r, result);
    if (*reason)
        printf(": %s", reason);
    if (applied != r)
        printf("; serves revision %" G_GINT64_FORMAT, applied);
    if (*when)
        printf(" (%s)", when);
    print_live(m);
    if (r != rev)
        printf("; behind: the cluster is at revision %" G_GINT64_FORMAT, rev);
    printf("\n");
}

/* cmd_clustershow - segtls clustershow [--json] */
static int cmd_clustershow(int argc, char **argv)
{
    gboolean json = FALSE;
    GOptionEntry entries[] = {
        {"json", 0, 0, G_OPTION_ARG_NONE, &json, "The server's answer as JSON", NULL},
        G_OPTION_ENTRY_NULL
    };
    JsonObject *resp;
    JsonArray *rows, *pending, *machines;
    JsonNode *cn;
    const char *err;
    gint64  rev;

    parse_sub("clustershow", "", "Cluster mode: per setting where its values are set "
              "(cluster, group or machine level), this machine's pending changes, and "
              "per machine the revision it applied and any failure.",
              entries, &argc, &argv, 0, 0);
    reading = TRUE;
    resp = call(seg_ctl_request("clustershow"));
    if (json) {
        print_json(resp);
        json_object_unref(resp);
        return 0;
    }
    rev = json_object_get_int_member_with_default(resp, "revision", 0);
    printf("Cluster %s, revision %" G_GINT64_FORMAT,
           json_object_get_string_member_with_default(resp, "cluster", "?"), rev);
    cn = json_object_get_member(resp, "commit");
    if (cn != NULL && JSON_NODE_HOLDS_OBJECT(cn)) {
        JsonObject *c = json_node_get_object(cn);
        g_autofree char *when = clean(json_object_get_string_member_with_default(c, "time",
                                                                                 ""));
        g_autofree char *who = clean(json_object_get_string_member_with_default(c, "user",
                                                                                ""));
        g_autofree char *where = clean(json_object_get_string_member_with_default(c,
                                                                    "machine", ""));
        g_autofree char *why = clean(json_object_get_string_member_with_default(c,
                                                                    "comment", ""));

        printf(", committed %s by %s on %s", when, who, where);
        if (*why)
            printf(": %s", why);
    }
    printf("\n");
    if ((err = json_object_get_string_member_with_default(resp, "etcd_error", NULL)) != NULL) {
        g_autofree char *e = clean(err);

        printf("etcd cannot be reached (%s): what follows is the last that was read.\n", e);
    }
    if ((err = json_object_get_string_member_with_default(resp, "config_error", NULL)) != NULL) {
        g_autofree char *e = clean(err);

        printf("The committed configuration in etcd is invalid: %s\n", e);
    }
    rows = array_member(resp, "settings");
    printf("\nSettings (key, level, value):\n");
    for (guint i = 0; rows != NULL && i < json_array_get_length(rows); i++) {
        JsonObject *r = json_array_get_object_element(rows, i);
        g_autofree char *line = row_text(r, json_object_get_string_member_with_default(r,
                                                                        "value", ""));

        printf("%s\n", line);
    }
    if ((pending = array_member(resp, "pending")) != NULL)
        print_pending(rows, pending,
                      json_object_get_int_member_with_default(resp, "pending_base", 0), rev);
    machines = array_member(resp, "machines");
    printf("\nMachines:\n");
    for (guint i = 0; machines != NULL && i < json_array_get_length(machines); i++)
        print_machine(json_array_get_object_element(machines, i), rev);
    json_object_unref(resp);
    return 0;
}

/*
 * what_keys - the settings WHAT names: one setting, a service's ("gui",
 * "inbound", "outbound", "other_client", "peer_cert") or "all"
 */
static JsonArray *what_keys(const char *what)
{
    JsonArray *keys = json_array_new();
    g_autofree char *prefix = g_strconcat(what, ".", NULL);

    for (const char *const *k = seg_settings_keys(); *k != NULL; k++)
        if (strcmp(what, "all") == 0 || strcmp(*k, what) == 0
            || g_str_has_prefix(*k, prefix))
            json_array_add_string_element(keys, *k);
    if (json_array_get_length(keys) == 0) {
        g_autofree char *q = clean(what);

        json_array_unref(keys);
        fail(2, "clusterset: \"%s\": not a setting, a service (gui, inbound, outbound, "
             "other_client, peer_cert) or all (try segtls clusterset --help)", q);
    }
    return keys;
}

/* cmd_clusterset - segtls clusterset WHAT FROM TO | --delete WHAT LEVEL */
static int cmd_clusterset(int argc, char **argv)
{
    gboolean del = FALSE;
    GOptionEntry entries[] = {
        {"delete", 'd', 0, G_OPTION_ARG_NONE, &del,
         "Delete the values set at LEVEL (a group or machine): it inherits them again",
         NULL},
        G_OPTION_ENTRY_NULL
    };
    JsonObject *req = seg_ctl_request("clusterset");

    parse_sub("clusterset", "WHAT FROM TO | --delete WHAT LEVEL",
              "Cluster mode: move the values of WHAT (a setting, a service: gui, inbound, "
              "outbound, other_client, peer_cert, or all) from one level to another "
              "(cluster, group:NAME, machine:NAME), as pending changes. A value moved "
              "down is copied there; one moved up leaves the level it came from.",
              entries, &argc, &argv, 2, 3);
    if (argc != (del ? 3 : 4))
        fail(2, "clusterset: wrong number of arguments (try segtls clusterset --help)");
    check_level("clusterset", argv[2]);
    if (!del)
        check_level("clusterset", argv[3]);
    json_object_set_array_member(req, "keys", what_keys(argv[1]));
    json_object_set_string_member(req, "from", argv[2]);
    if (del)
        json_object_set_null_member(req, "to");
    else
        json_object_set_string_member(req, "to", argv[3]);
    json_object_unref(call(req));
    if (del)
        printf("The %s values set at %s are deleted; it inherits them again "
               "(pending: commit to apply).\n", argv[1], argv[2]);
    else
        printf("The %s values of %s are now set at %s (pending: commit to apply).\n",
               argv[1], argv[2], argv[3]);
    return 0;
}

/* cmd_cluster - segtls cluster join */
static int cmd_cluster(int argc, char **argv)
{
    JsonObject *resp;
    JsonArray *own;

    parse_sub("cluster", "join", "Cluster mode: this machine joins the cluster and the "
              "group of segtls-policyd's [cluster] configuration, and keeps serving what "
              "it serves: the first machine's settings become the cluster's; a later "
              "machine keeps its differences as values of its own (machine level).",
              NULL, &argc, &argv, 1, 1);
    if (strcmp(argv[1], "join") != 0) {
        g_autofree char *q = seg_quote_value(argv[1]);

        fail(2, "cluster: unknown subcommand %s (try segtls cluster --help)", q);
    }
    resp = call(seg_ctl_request("cluster_join"));
    if (json_object_get_boolean_member_with_default(resp, "already", FALSE))
        printf("Machine %s is already in group %s of cluster %s (revision %" G_GINT64_FORMAT
               ").\n", json_object_get_string_member_with_default(resp, "machine", "?"),
               json_object_get_string_member_with_default(resp, "group", "?"),
               json_object_get_string_member_with_default(resp, "cluster", "?"),
               json_object_get_int_member_with_default(resp, "revision", 0));
    else
        printf("Machine %s joined group %s of cluster %s as revision %" G_GINT64_FORMAT
               "; it serves what it served before.\n",
               json_object_get_string_member_with_default(resp, "machine", "?"),
               json_object_get_string_member_with_default(resp, "group", "?"),
               json_object_get_string_member_with_default(resp, "cluster", "?"),
               json_object_get_int_member_with_default(resp, "revision", 0));
    own = array_member(resp, "own");
    if (own != NULL && json_array_get_length(own) > 0) {
        printf("Set at machine level, where it differs from the cluster:");
        for (guint i = 0; i < json_array_get_length(own); i++)
            printf("%s %s", i ? "," : "", json_array_get_string_element(own, i));
        printf("\n");
    }
    json_object_unref(resp);
    return 0;
}

/* cmd_raw - hidden test helper: send TEXT as one line, print the answer */
static int cmd_raw(int argc, char **argv)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *reply = NULL;
    int     stall = 0;
    GOptionEntry entries[] = {
        {"stall", 0, 0, G_OPTION_ARG_INT, &stall,
         "Send TEXT without newline and hold the connection SECONDS", "SECONDS"},
        G_OPTION_ENTRY_NULL
    };

    parse_sub("raw", "TEXT", "Send one raw request line (for tests).",
              entries, &argc, &argv, 1, 1);
    if (stall > 0) {
        g_autoptr(GSocketClient) client = g_socket_client_new();
        g_autoptr(GSocketAddress) addr =
            g_unix_socket_address_new(seg_ctl_socket_path(opt_socket));
        g_autoptr(GSocketConnection) conn =
            g_socket_client_connect(client, G_SOCKET_CONNECTABLE(addr), NULL, &err);

        if (conn == NULL)
            fail(1, "%s", err->message);
        if (!g_output_stream_write_all(g_io_stream_get_output_stream(G_IO_STREAM(conn)),
                                       argv[1], strlen(argv[1]), NULL, NULL, &err))
            fail(1, "%s", err->message);
        sleep((unsigned) stall);
        return 0;
    }
    if ((reply = seg_ctl_call_line(seg_ctl_socket_path(opt_socket), argv[1], &err)) == NULL)
        fail(1, "%s", err->message);
    printf("%s\n", reply);
    return 0;
}

/* show_now - the show answer (pending tables when there are any) */
static JsonObject *show_now(void)
{
    return call(seg_ctl_request("show"));
}

/* current_value - one setting as in force for the next commit */
static const char *current_value(JsonObject *show, const char *key)
{
    JsonNode *p = json_object_get_member(show, "pending");
    JsonObject *o = p && JSON_NODE_HOLDS_OBJECT(p) ? json_node_get_object(p)
        : json_object_get_object_member(show, "committed");

    return json_object_get_string_member_with_default(o, key, "");
}

/* find_named - the object of an array whose member key is value, or NULL */
static JsonObject *find_named(JsonArray *arr, const char *key, const char *value)
{
    for (guint i = 0; arr != NULL && i < json_array_get_length(arr); i++) {
        JsonObject *o = json_array_get_object_element(arr, i);

        if (g_ascii_strcasecmp(json_object_get_string_member_with_default(o, key, ""),
                               value) == 0)
            return o;
    }
    return NULL;
}

/* given_or_kept - an option's value, else the entry's own (edit), else "" */
static const char *given_or_kept(const char *opt, JsonObject *cur, const char *key)
{
    if (opt != NULL)
        return opt;
    return cur ? json_object_get_string_member_with_default(cur, key, "") : "";
}

/* dest_list - the Destination Controls table, default first */
static void dest_list(JsonObject *show)
{
    JsonArray *arr = json_object_get_array_member(show, "destinations");

    printf("Destination Controls:\n");
    printf("  %-30s %-16s %s\n", "default", current_value(show, "outbound.tls"),
           "(outbound.tls; versions and ciphers of Outbound SMTP)");
    for (guint i = 0; i < json_array_get_length(arr); i++) {
        JsonObject *o = json_array_get_object_element(arr, i);
        const char *v = json_object_get_string_member_with_default(o, "methods", "");
        const char *c = json_object_get_string_member_with_default(o, "ciphers", "");
        const char *x = json_object_get_string_member_with_default(o, "exclude", "");

        printf("  %-30s %-16s", json_object_get_string_member(o, "domain"),
               json_object_get_string_member(o, "tls"));
        if (*v)
            printf(" versions %s", v);
        if (*c)
            printf(" ciphers %s", c);
        if (*x)
            printf(" exclude %s", x);
        printf("\n");
    }
    if (!JSON_NODE_HOLDS_NULL(json_object_get_member(show, "pending")))
        printf("(with pending changes; commit to apply them)\n");
}

/*
 * cmd_destconfig - the gateway's destconfig: list, new, edit, delete,
 * default; every change goes to the pending configuration
 */
static int cmd_destconfig(int argc, char **argv)
{
    g_autofree char *tls = NULL;
    g_autofree char *versions = NULL;
    g_autofree char *ciphers = NULL;
    g_autofree char *exclude = NULL;
    gboolean json = FALSE;
    GOptionEntry entries[] = {
        {"tls", 0, 0, G_OPTION_ARG_STRING, &tls, "TLS: no, preferred, required, "
         "preferred-verify, required-verify", "MODE"},
        {"versions", 0, 0, G_OPTION_ARG_STRING, &versions, "TLS versions, inside "
         "outbound.methods (\"1.3\", \"1.2-1.3\"; \"\" = outbound.methods)", "RANGE"},
        {"ciphers", 0, 0, G_OPTION_ARG_STRING, &ciphers, "high (outbound.ciphers) or "
         "medium; default: a cipher string for outbound.ciphers", "CHOICE"},
        {"exclude", 0, 0, G_OPTION_ARG_STRING, &exclude, "cipher names to exclude, "
         "joined with ':'", "LIST"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &json, "list: the table as JSON", NULL},
        G_OPTION_ENTRY_NULL
    };
    const char *verb;
    JsonObject *show, *req, *resp, *cur = NULL;

    options_anywhere = TRUE;
    parse_sub("destconfig", "list | new DOMAIN | edit DOMAIN | delete DOMAIN | default",
              "Destination Controls: per-domain outbound TLS (pending until commit).\n"
              "DOMAIN is example.com, or .example.com for its subdomains.",
              entries, &argc, &argv, 0, 2);
    verb = argc > 1 ? argv[1] : "list";
    if (strcmp(verb, "list") == 0) {
        if (argc != 2 && argc != 1)
            fail(2, "destconfig list: no arguments (try segtls destconfig --help)");
        reading = TRUE;
        show = show_now();
        if (json) {
            JsonObject *o = json_object_new();

            json_object_set_string_member(o, "default", current_value(show, "outbound.tls"));
            json_object_set_array_member(o, "destinations",
                                         json_array_ref(json_object_get_array_member(show,
                                                                                     "destinations")));
            print_json(o);
            json_object_unref(o);
        } else {
            dest_list(show);
        }
        json_object_unref(show);
        return 0;
    }
    if (strcmp(verb, "default") == 0) {
        JsonObject *settings = json_object_new();

        if (argc != 2 || exclude != NULL)
            fail(2, "destconfig default: --tls, --versions and --ciphers (a cipher "
                 "string) only (try segtls destconfig --help)");
        if (tls == NULL && versions == NULL && ciphers == NULL)
            fail(2, "destconfig default: nothing to change: give --tls, --versions "
                 "or --ciphers");
        if (tls != NULL)
            json_object_set_string_member(settings, "outbound.tls", tls);
        if (versions != NULL)
            json_object_set_string_member(settings, "outbound.methods", versions);
        if (ciphers != NULL)
            json_object_set_string_member(settings, "outbound.ciphers", ciphers);
        req = seg_ctl_request("set");
        json_object_set_object_member(req, "settings", settings);
        resp = call(req);
        print_warnings(resp);
        json_object_unref(resp);
        return 0;
    }
    if (argc != 3)
        fail(2, "destconfig %s: one DOMAIN needed (try segtls destconfig --help)", verb);
    if (strcmp(verb, "delete") == 0) {
        req = seg_ctl_request("dest_delete");
        json_object_set_string_member(req, "domain", argv[2]);
        json_object_unref(call(req));
        return 0;
    }
    if (strcmp(verb, "new") != 0 && strcmp(verb, "edit") != 0) {
        g_autofree char *q = seg_quote_value(verb);

        fail(2, "destconfig: unknown operation %s (list, new, edit, delete, default)", q);
    }
    show = NULL;
    if (strcmp(verb, "edit") == 0) {
        show = show_now();
        cur = find_named(json_object_get_array_member(show, "destinations"), "domain",
                         argv[2]);
    } else if (tls == NULL) {
        fail(2, "destconfig new: --tls MODE is needed");
    }
    req = seg_ctl_request("dest_set");
    json_object_set_string_member(req, "domain", argv[2]);
    json_object_set_string_member(req, "must", verb);
    json_object_set_string_member(req, "tls", given_or_kept(tls, cur, "tls"));
    json_object_set_string_member(req, "methods", given_or_kept(versions, cur, "methods"));
    json_object_set_string_member(req, "ciphers", given_or_kept(ciphers, cur, "ciphers"));
    json_object_set_string_member(req, "exclude", given_or_kept(exclude, cur, "exclude"));
    if (show != NULL)
        json_object_unref(show);
    resp = call(req);
    print_warnings(resp);
    json_object_unref(resp);
    return 0;
}

/* group_list - the sender groups */
static void group_list(JsonObject *show)
{
    JsonArray *arr = json_object_get_array_member(show, "sendergroups");

    printf("Sender groups (clients in none: inbound.tls %s):\n",
           current_value(show, "inbound.tls"));
    for (guint i = 0; i < json_array_get_length(arr); i++) {
        JsonObject *o = json_array_get_object_element(arr, i);
        JsonArray *m = json_object_get_array_member(o, "members");

        printf("  %-20s TLS %-10s", json_object_get_string_member(o, "name"),
               json_object_get_string_member(o, "tls"));
        for (guint k = 0; k < json_array_get_length(m); k++)
            printf("%s%s", k ? ", " : " ", json_array_get_string_element(m, k));
        printf("\n");
    }
    if (!JSON_NODE_HOLDS_NULL(json_object_get_member(show, "pending")))
        printf("(with pending changes; commit to apply them)\n");
}

/*
 * cmd_sendergroup - sender groups of the inbound listener: list, new,
 * edit, delete (pending until commit)
 */
static int cmd_sendergroup(int argc, char **argv)
{
    g_autofree char *tls = NULL;
    gboolean json = FALSE;
    GOptionEntry entries[] = {
        {"tls", 0, 0, G_OPTION_ARG_STRING, &tls, "TLS: no, preferred, required", "MODE"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &json, "list: the groups as JSON", NULL},
        G_OPTION_ENTRY_NULL
    };
    const char *verb;
    JsonObject *show, *req, *resp, *cur = NULL;
    JsonArray *members;

    options_anywhere = TRUE;
    parse_sub("sendergroup", "list | new NAME MEMBER... | edit NAME [MEMBER...] | "
              "delete NAME", "Sender groups: inbound TLS per client network or host "
              "(pending until commit).\nMEMBER is an address, a network "
              "(10.1.0.0/16), a host name or .domain.",
              entries, &argc, &argv, 0, -1);
    verb = argc > 1 ? argv[1] : "list";
    if (strcmp(verb, "list") == 0) {
        reading = TRUE;
        show = show_now();
        if (json) {
            JsonObject *o = json_object_new();

            json_object_set_array_member(o, "sendergroups",
                                         json_array_ref(json_object_get_array_member(show,
                                                                                     "sendergroups")));
            print_json(o);
            json_object_unref(o);
        } else {
            group_list(show);
        }
        json_object_unref(show);
        return 0;
    }
    if (argc < 3)
        fail(2, "sendergroup %s: a NAME is needed (try segtls sendergroup --help)", verb);
    if (strcmp(verb, "delete") == 0) {
        if (argc != 3)
            fail(2, "sendergroup delete: just the NAME");
        req = seg_ctl_request("group_delete");
        json_object_set_string_member(req, "name", argv[2]);
        json_object_unref(call(req));
        return 0;
    }
    if (strcmp(verb, "new") != 0 && strcmp(verb, "edit") != 0) {
        g_autofree char *q = seg_quote_value(verb);

        fail(2, "sendergroup: unknown operation %s (list, new, edit, delete)", q);
    }
    show = NULL;
    if (strcmp(verb, "edit") == 0) {
        show = show_now();
        cur = find_named(json_object_get_array_member(show, "sendergroups"), "name",
                         argv[2]);
    } else if (tls == NULL || argc < 4) {
        fail(2, "sendergroup new: --tls MODE and at least one MEMBER are needed");
    }
    req = seg_ctl_request("group_set");
    json_object_set_string_member(req, "name", argv[2]);
    json_object_set_string_member(req, "must", verb);
    json_object_set_string_member(req, "tls", tls ? tls : cur
                                  ? json_object_get_string_member(cur, "tls") : "");
    if (argc > 3 || cur == NULL) {
        members = json_array_new();
        for (int i = 3; i < argc; i++)
            json_array_add_string_element(members, argv[i]);
    } else {
        members = json_array_ref(json_object_get_array_member(cur, "members"));
    }
    json_object_set_array_member(req, "members", members);
    if (show != NULL)
        json_object_unref(show);
    resp = call(req);
    print_warnings(resp);
    json_object_unref(resp);
    return 0;
}

/* helper_path - a sibling program next to this one, else by name in PATH */
static char *helper_path(const char *name)
{
    g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);
    g_autofree char *dir = self ? g_path_get_dirname(self) : NULL;
    char   *path = dir ? g_build_filename(dir, name, NULL) : NULL;

    if (path != NULL && g_file_test(path, G_FILE_TEST_IS_EXECUTABLE))
        return path;
    g_free(path);
    return g_strdup(name);
}

/* exec_helper - run a sibling program with the same arguments (no shell) */
G_NORETURN
static void exec_helper(const char *name, int argc, char **argv)
{
    g_autofree char *path = helper_path(name);
    char  **args = g_new0(char *, argc + 1);
    int     i;

    args[0] = path;
    for (i = 1; i < argc; i++)
        args[i] = argv[i];
    execvp(path, args);
    fail(1, "cannot run %s: %s", path, g_strerror(errno));
}

/* cmd_tlsverify - segtls-tlsverify */
static int cmd_tlsverify(int argc, char **argv)
{
    exec_helper("segtls-tlsverify", argc, argv);
}

/* cmd_report - segtls-report, the TLS Connections report */
static int cmd_report(int argc, char **argv)
{
    exec_helper("segtls-report", argc, argv);
}

static const struct command {
    const char *name;
    cmd_fn      fn;
    const char *usage;          /* NULL: hidden */
    const char *summary;
} commands[] = {
    {"show", cmd_show, "show [--json] [--level LEVEL]", "settings, pending changes, warnings"},
    {"set", cmd_set, "set [--level LEVEL] KEY VALUE...", "change pending settings"},
    {"commit", cmd_commit, "commit [-m COMMENT] [--no-rollback]", "commit pending changes"},
    {"apply", cmd_apply, "apply", "apply the committed settings now"},
    {"clear", cmd_clear, "clear [-y]", "drop pending changes"},
    {"rollbackconfig", cmd_rollbackconfig, "rollbackconfig [list | restore ID]",
     "restore a saved configuration"},
    {"commitdetail", cmd_commitdetail, "commitdetail [--json]",
     "who committed last, when, why, what changed"},
    {"status", cmd_status, "status [--json]",
     "daemon, services, live versions and drift"},
    {"destconfig", cmd_destconfig, "destconfig [list|new|edit|delete|default]",
     "Destination Controls: per-domain outbound TLS"},
    {"sendergroup", cmd_sendergroup, "sendergroup [list|new|edit|delete]",
     "sender groups: inbound TLS per client network"},
    {"clustershow", cmd_clustershow, "clustershow [--json]",
     "cluster: where each value is set, each machine's revision"},
    {"clusterset", cmd_clusterset, "clusterset WHAT FROM TO",
     "cluster: move values between levels (--delete)"},
    {"cluster", cmd_cluster, "cluster join", "cluster: this machine joins, serving the same"},
    {"tlsverify", cmd_tlsverify, "tlsverify HOST[:PORT] | --destination DOMAIN",
     "probe each TLS version of a server (segtls-tlsverify)"},
    {"report", cmd_report, "report [OPTIONS] [FILE...]",
     "TLS Connections report from mail_logs (segtls-report)"},
    {"raw", cmd_raw, NULL, NULL},
};

/* main - global options, then the subcommand from the table */
int main(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = g_option_context_new("COMMAND [ARGS...]");
    g_autoptr(GError) err = NULL;
    g_autoptr(GString) desc = g_string_new("Commands:\n");
    GOptionEntry entries[] = {
        {"socket", 0, 0, G_OPTION_ARG_FILENAME, &opt_socket,
         "Control socket (default $SEGTLS_SOCKET, else " SEG_DEFAULT_SOCKET ")", "PATH"},
        G_OPTION_ENTRY_NULL
    };
    g_autofree char *q = NULL;
    gsize   i;
    int     status;

    msg_init("segtls");
    seg_ignore_sigpipe();
    g_set_prgname("segtls");
    for (i = 0; i < G_N_ELEMENTS(commands); i++)
        if (commands[i].usage != NULL)
            g_string_append_printf(desc, "  %-37s %s\n", commands[i].usage,
                                   commands[i].summary);
    g_string_append(desc, "\nEach command has --help.\n");
    g_option_context_set_summary(ctx, "Show and change the segtls TLS settings "
                                 "held by segtls-policyd.");
    g_option_context_set_description(ctx, desc->str);
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_strict_posix(ctx, TRUE);
    if (!g_option_context_parse(ctx, &argc, &argv, &err))
        fail(2, "%s (try segtls --help)", err->message);
    if (argc < 2)
        fail(2, "no command given (try segtls --help)");
    for (i = 0; i < G_N_ELEMENTS(commands); i++) {
        if (strcmp(commands[i].name, argv[1]) == 0) {
            status = commands[i].fn(argc - 1, argv + 1);
            g_free(opt_socket);
            return status;
        }
    }
    q = seg_quote_value(argv[1]);
    fail(2, "unknown command %s (try segtls --help)", q);
}
