/*
 * store - unit tests of lib/policy/store.c, lib/policy/keyfile.c and lib/util/atomic.c:
 * the key-file format and its file:line errors, atomic writes, pending
 * changes, commit, reload and the rollback history (SPEC section 3).
 *
 * Fixtures are in t/data/store/ (found through $SEGTLS_TOP, else the
 * current directory). Every test works in its own temporary directory
 * and removes it.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "atomic.h"
#include "error.h"
#include "store.h"

typedef struct {
    char   *dir;                /* temporary directory */
    char   *config;             /* DIR/etc/segtls.conf */
    char   *state;              /* DIR/state */
} fixture;

/* fixture_path - a file under t/data/store */
static char *fixture_path(const char *name)
{
    const char *top = g_getenv("SEGTLS_TOP");

    return g_build_filename(top ? top : ".", "t", "data", "store", name, NULL);
}

/* rm_rf - remove a directory tree */
static void rm_rf(const char *path)
{
    GDir   *d = g_dir_open(path, 0, NULL);
    const char *name;

    if (d != NULL) {
        while ((name = g_dir_read_name(d)) != NULL) {
            g_autofree char *sub = g_build_filename(path, name, NULL);

            rm_rf(sub);
        }
        g_dir_close(d);
        (void) g_chmod(path, 0700);
        (void) g_rmdir(path);
    } else {
        (void) g_unlink(path);
    }
}

/* setup - make the temporary directory */
static void setup(fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;

    f->dir = g_dir_make_tmp("segtls-store-XXXXXX", &err);
    g_assert_no_error(err);
    f->config = g_build_filename(f->dir, "etc", "segtls.conf", NULL);
    f->state = g_build_filename(f->dir, "state", NULL);
}

/* teardown - remove it */
static void teardown(fixture *f, gconstpointer data)
{
    rm_rf(f->dir);
    g_free(f->dir);
    g_free(f->config);
    g_free(f->state);
}

/* set_ok - seg_settings_set that must succeed */
static void set_ok(seg_settings *s, const char *key, const char *value)
{
    g_autoptr(GError) err = NULL;

    (void) seg_settings_set(s, key, value, &err);
    g_assert_no_error(err);
}

/* changed - settings that differ from the defaults in every group */
static seg_settings *changed(const char *tag)
{
    seg_settings *s = seg_settings_new_default();

    set_ok(s, "gui.methods", "1.2-1.3");
    set_ok(s, "gui.renegotiation", "disabled");
    set_ok(s, "inbound.methods", "1.2");
    set_ok(s, "inbound.tls", "required");
    set_ok(s, "outbound.tls", "required-verify");
    set_ok(s, "outbound.ciphers", tag ? tag : "HIGH:!aNULL");
    set_ok(s, "other_client.tlsv1_0", "on");
    set_ok(s, "peer_cert.fqdn", "on");
    return s;
}

/* write_file - write a file (test helper, not atomic) */
static void write_file(const char *path, const char *text)
{
    g_autoptr(GError) err = NULL;

    g_assert_true(g_file_set_contents(path, text, -1, &err));
    g_assert_no_error(err);
}

/* parse_file - seg_settings_from_keyfile on a fixture */
static seg_settings *parse_file(const char *path, GError **error)
{
    g_autofree char *data = NULL;
    gsize   len;

    g_assert_true(g_file_get_contents(path, &data, &len, NULL));
    return seg_settings_from_keyfile(data, len, path, error);
}

/* parse_text - seg_settings_from_keyfile on a string named "t.conf" */
static seg_settings *parse_text(const char *text, GError **error)
{
    return seg_settings_from_keyfile(text, strlen(text), "t.conf", error);
}

/* expect_error - parsing the fixture fails with "PATH:msg" */
static void expect_fixture_error(const char *name, int code, const char *msg)
{
    g_autofree char *path = fixture_path(name);
    g_autofree char *want = g_strdup_printf("%s%s", path, msg);
    g_autoptr(GError) err = NULL;
    seg_settings *s = parse_file(path, &err);

    g_assert_null(s);
    g_assert_error(err, SEG_ERROR, code);
    g_assert_cmpstr(err->message, ==, want);
}

/* count_dir - entries in a directory */
static guint count_dir(const char *dir, guint *dotfiles)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;
    guint   n = 0;

    if (dotfiles)
        *dotfiles = 0;
    g_assert_nonnull(d);
    while ((name = g_dir_read_name(d)) != NULL) {
        n++;
        if (dotfiles && name[0] == '.')
            (*dotfiles)++;
    }
    return n;
}

/* test_roundtrip_defaults - defaults survive text and back */
static void test_roundtrip_defaults(void)
{
    g_autoptr(seg_settings) def = seg_settings_new_default();
    g_autoptr(seg_settings) back = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autofree char *text = NULL;
    const char *const *k;
    gsize   len;

    text = seg_settings_to_keyfile(def, &len);
    g_assert_cmpuint(len, ==, strlen(text));
    g_assert_true(g_str_has_prefix(text, "# segtls committed SSL configuration; "
                                   "edit with sslconfig or segtls set.\n"));
    back = seg_settings_from_keyfile(text, len, "x.conf", &err);
    g_assert_no_error(err);
    g_assert_true(seg_settings_equal(def, back));

    /* every key, in its group, with its canonical value */
    g_assert_true(g_key_file_load_from_data(kf, text, len, G_KEY_FILE_NONE, NULL));
    for (k = seg_settings_keys(); *k; k++) {
        const char *dot = strchr(*k, '.');
        g_autofree char *group = g_strndup(*k, (gsize) (dot - *k));
        g_autofree char *got = g_key_file_get_string(kf, group, dot + 1, NULL);
        g_autofree char *want = seg_settings_get(def, *k);

        g_assert_cmpstr(got, ==, want);
    }
    g_assert_true(strstr(text, "\n[inbound]\nmethods=1.1-1.2\n") != NULL);
}

/* test_roundtrip_changed - changed settings survive text and back */
static void test_roundtrip_changed(void)
{
    g_autoptr(seg_settings) s = changed(NULL);
    g_autoptr(seg_settings) def = seg_settings_new_default();
    g_autoptr(seg_settings) back = NULL;
    g_autoptr(GError) err = NULL;
    g_autofree char *text = NULL;
    g_autofree char *again = NULL;
    gsize   len;

    text = seg_settings_to_keyfile(s, &len);
    back = seg_settings_from_keyfile(text, len, "x.conf", &err);
    g_assert_no_error(err);
    g_assert_true(seg_settings_equal(s, back));
    g_assert_false(seg_settings_equal(def, back));
    again = seg_settings_to_keyfile(back, NULL);
    g_assert_cmpstr(again, ==, text);
}

/* test_partial - missing keys keep their defaults; CRLF and blanks */
static void test_partial(void)
{
    g_autofree char *path = fixture_path("partial.conf");
    g_autoptr(seg_settings) s = NULL;
    g_autoptr(seg_settings) want = seg_settings_new_default();
    g_autoptr(seg_settings) crlf = NULL;
    g_autoptr(seg_settings) empty = NULL;
    g_autoptr(GError) err = NULL;

    s = parse_file(path, &err);
    g_assert_no_error(err);
    set_ok(want, "inbound.tls", "required");
    set_ok(want, "other_client.tlsv1_0", "on");
    g_assert_true(seg_settings_equal(s, want));

    crlf = parse_text("# dos\r\n[inbound]\r\n  tls =  required \t\r\n[other_client]\r\n"
                      "tlsv1_0=on\r\n", &err);
    g_assert_no_error(err);
    g_assert_true(seg_settings_equal(crlf, want));

    empty = parse_text("", &err);
    g_assert_no_error(err);
    g_clear_pointer(&want, seg_settings_free);
    want = seg_settings_new_default();
    g_assert_true(seg_settings_equal(empty, want));
}

/* test_gap - a rule broken by hand is refused at its line */
static void test_gap(void)
{
    expect_fixture_error("gap.conf", SEG_ERROR_INVALID,
                         ":9: inbound.methods: \"1.0,1.2\": TLS v1.0 and TLS v1.2 "
                         "cannot be enabled without TLS v1.1");
}

/* test_unknown - unknown groups and keys */
static void test_unknown(void)
{
    expect_fixture_error("unknown-key.conf", SEG_ERROR_UNKNOWN_KEY,
                         ":5: unknown setting outbound.verify");
    expect_fixture_error("unknown-group.conf", SEG_ERROR_UNKNOWN_KEY,
                         ":4: unknown group [smtp]");
}

/* test_duplicate - GKeyFile would keep the last; we refuse */
static void test_duplicate(void)
{
    g_autoptr(GError) err = NULL;

    expect_fixture_error("duplicate.conf", SEG_ERROR_INVALID,
                         ":4: inbound.tls is set twice (first on line 2)");
    g_assert_null(parse_text("[gui]\nmethods=1.2\n[inbound]\ntls=no\n[gui]\n"
                             "methods = 1.1-1.2\n", &err));
    g_assert_cmpstr(err->message, ==,
                    "t.conf:6: gui.methods is set twice (first on line 2)");
}

/* test_syntax - lines that are no group, key or comment */
static void test_syntax(void)
{
    static const struct {
        const char *text;
        const char *msg;
    } cases[] = {
        {"[gui]\nrenegotiation=enabled\n\n[inbound\n",
         "t.conf:4: not a [group], key=value or # comment line"},
        {"# x\n\nmethods=1.2\n[gui]\n",
         "t.conf:3: key methods comes before the first [group]"},
        {"[gui]\n=1.2\n", "t.conf:2: not a [group], key=value or # comment line"},
        {"[gui] x\n", "t.conf:1: not a [group], key=value or # comment line"},
        {"[gui]\n# caf\xc3\xa9\nmethods=1.\xff\n", "t.conf:3: line is not valid UTF-8 text"},
    };
    guint   i;

    expect_fixture_error("syntax.conf", SEG_ERROR_INVALID,
                         ":4: not a [group], key=value or # comment line");
    for (i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) err = NULL;

        g_assert_null(parse_text(cases[i].text, &err));
        g_assert_error(err, SEG_ERROR, SEG_ERROR_INVALID);
        g_assert_cmpstr(err->message, ==, cases[i].msg);
    }
    {
        /* a NUL byte inside the text */
        static const char nul[] = "[gui]\nrenegotiation=enabled\0x\n";
        g_autoptr(GError) err = NULL;

        g_assert_null(seg_settings_from_keyfile(nul, sizeof(nul) - 1, "t.conf", &err));
        g_assert_cmpstr(err->message, ==, "t.conf:2: line is not valid UTF-8 text");
    }
    {
        /* GKeyFile's own value error, still with the line */
        g_autoptr(GError) err = NULL;

        g_assert_null(parse_text("[gui]\n\nciphers=HIGH\\q\n", &err));
        g_assert_true(g_str_has_prefix(err->message, "t.conf:3: gui.ciphers: "));
        g_assert_null(strchr(err->message, '\n'));
    }
}

/* test_atomic - contents, mode, no temporary file left */
static void test_atomic(fixture *f, gconstpointer data)
{
    g_autofree char *path = g_build_filename(f->dir, "file", NULL);
    g_autofree char *got = NULL;
    g_autoptr(GError) err = NULL;
    struct stat st;
    guint   dots;
    mode_t  old = umask(077);

    write_file(path, "old\n");
    g_assert_true(seg_atomic_write(path, "new\n", 4, 0644, &err));
    umask(old);
    g_assert_no_error(err);
    g_assert_true(g_file_get_contents(path, &got, NULL, NULL));
    g_assert_cmpstr(got, ==, "new\n");
    g_assert_cmpint(g_stat(path, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 07777, ==, 0644);
    g_assert_true(seg_atomic_write(path, "", 0, 0600, &err));
    g_assert_cmpint(g_stat(path, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 07777, ==, 0600);
    g_assert_cmpint(st.st_size, ==, 0);
    g_assert_cmpuint(count_dir(f->dir, &dots), ==, 1);
    g_assert_cmpuint(dots, ==, 0);
}

/* test_atomic_fail - rename over a directory fails; the temp is removed */
static void test_atomic_fail(fixture *f, gconstpointer data)
{
    g_autofree char *path = g_build_filename(f->dir, "adir", NULL);
    g_autofree char *want = g_strdup_printf("cannot write %s: rename failed: %s",
                                            path, g_strerror(EISDIR));
    g_autoptr(GError) err = NULL;
    guint   dots;

    g_assert_cmpint(g_mkdir(path, 0755), ==, 0);
    g_assert_false(seg_atomic_write(path, "x", 1, 0644, &err));
    g_assert_error(err, SEG_ERROR, SEG_ERROR_IO);
    g_assert_cmpstr(err->message, ==, want);
    g_assert_cmpuint(count_dir(f->dir, &dots), ==, 1);
    g_assert_cmpuint(dots, ==, 0);
}

/* ro_child - as nobody, try to replace path; the exit status tells */
static int ro_child(const char *path)
{
    g_autofree char *want = g_strdup_printf(
        "cannot write %s: cannot create a temporary file: %s",
        path, g_strerror(EACCES));
    g_autoptr(GError) err = NULL;

    /* root ignores modes: become nobody first */
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
        return 2;
    if (seg_atomic_write(path, "new\n", 4, 0644, &err))
        return 3;
    if (strcmp(err->message, want) != 0) {
        g_printerr("got:  %s\nwant: %s\n", err->message, want);
        return 4;
    }
    return 0;
}

/* test_atomic_readonly - a read-only directory: one-line error, old file kept */
static void test_atomic_readonly(fixture *f, gconstpointer data)
{
    char    ro[4096];
    char    path[4096];
    g_autofree char *got = NULL;
    pid_t   pid;
    int     status;

    g_snprintf(ro, sizeof(ro), "%s/ro", f->dir);
    g_snprintf(path, sizeof(path), "%s/file", ro);
    g_assert_cmpint(g_chmod(f->dir, 0755), ==, 0);
    g_assert_cmpint(g_mkdir(ro, 0755), ==, 0);
    write_file(path, "old\n");
    g_assert_cmpint(g_chmod(path, 0644), ==, 0);
    g_assert_cmpint(g_chmod(ro, 0555), ==, 0);
    pid = fork();
    g_assert_cmpint(pid, >=, 0);
    if (pid == 0)
        _exit(ro_child(path));
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 0);
    g_assert_true(g_file_get_contents(path, &got, NULL, NULL));
    g_assert_cmpstr(got, ==, "old\n");
    g_assert_cmpuint(count_dir(ro, NULL), ==, 1);
}

/* open_ok - seg_store_open that must succeed */
static seg_store *open_ok(fixture *f)
{
    g_autoptr(GError) err = NULL;
    seg_store *st = seg_store_open(f->config, f->state, &err);

    g_assert_no_error(err);
    g_assert_nonnull(st);
    return st;
}

/* test_open_missing - defaults, nothing written, state dir 0750 */
static void test_open_missing(fixture *f, gconstpointer data)
{
    seg_store *st = open_ok(f);
    g_autoptr(seg_settings) def = seg_settings_new_default();
    struct stat sb;

    g_assert_true(seg_settings_equal(seg_store_committed(st), def));
    g_assert_null(seg_store_pending(st));
    g_assert_cmpstr(seg_store_config_path(st), ==, f->config);
    g_assert_false(g_file_test(f->config, G_FILE_TEST_EXISTS));
    g_assert_cmpint(g_stat(f->state, &sb), ==, 0);
    g_assert_cmpint(sb.st_mode & 07777, ==, 0750);
    seg_store_free(st);
}

/* test_open_invalid - an invalid committed file stops open */
static void test_open_invalid(fixture *f, gconstpointer data)
{
    g_autofree char *etc = g_path_get_dirname(f->config);
    g_autofree char *want = g_strdup_printf("%s:2: unknown setting gui.method", f->config);
    g_autoptr(GError) err = NULL;

    g_assert_cmpint(g_mkdir(etc, 0755), ==, 0);
    write_file(f->config, "[gui]\nmethod=1.2\n");
    g_assert_null(seg_store_open(f->config, f->state, &err));
    g_assert_cmpstr(err->message, ==, want);
}

/* test_pending - set, clear, commit, the "nothing" flag */
static void test_pending(fixture *f, gconstpointer data)
{
    seg_store *st = open_ok(f);
    g_autoptr(seg_settings) s = changed(NULL);
    g_autoptr(seg_settings) def = seg_settings_new_default();
    g_autoptr(GError) err = NULL;
    g_autofree char *pending = g_build_filename(f->state, "pending.conf", NULL);
    gboolean nothing = FALSE;
    gboolean had = FALSE;
    struct stat sb;

    /* nothing pending: commit says so and writes nothing */
    g_assert_true(seg_store_commit(st, "admin", "", TRUE, &nothing, &err));
    g_assert_true(nothing);
    g_assert_false(g_file_test(f->config, G_FILE_TEST_EXISTS));

    /* set, then clear */
    g_assert_true(seg_store_set_pending(st, s, &err));
    g_assert_true(seg_settings_equal(seg_store_pending(st), s));
    g_assert_cmpint(g_stat(pending, &sb), ==, 0);
    g_assert_cmpint(sb.st_mode & 07777, ==, 0640);
    g_assert_true(seg_store_clear_pending(st, &had, &err));
    g_assert_true(had);
    g_assert_null(seg_store_pending(st));
    g_assert_false(g_file_test(pending, G_FILE_TEST_EXISTS));
    g_assert_true(seg_store_clear_pending(st, &had, &err));
    g_assert_false(had);

    /* pending equal to committed is no change */
    g_assert_true(seg_store_set_pending(st, s, &err));
    g_assert_true(seg_store_set_pending(st, def, &err));
    g_assert_null(seg_store_pending(st));
    g_assert_false(g_file_test(pending, G_FILE_TEST_EXISTS));

    /* pending survives a restart, then commit */
    g_assert_true(seg_store_set_pending(st, s, &err));
    seg_store_free(st);
    st = open_ok(f);
    g_assert_true(seg_settings_equal(seg_store_pending(st), s));
    g_assert_false(seg_store_commit(st, "admin", "two\nlines", FALSE, &nothing, &err));
    g_assert_error(err, SEG_ERROR, SEG_ERROR_INVALID);
    g_assert_cmpstr(err->message, ==, "comment contains a control character");
    g_assert_true(seg_settings_equal(seg_store_pending(st), s));
    g_assert_false(g_file_test(f->config, G_FILE_TEST_EXISTS));
    g_clear_error(&err);
    g_assert_true(seg_store_commit(st, "admin", "tls required", FALSE, &nothing, &err));
    g_assert_no_error(err);
    g_assert_false(nothing);
    g_assert_null(seg_store_pending(st));
    g_assert_true(seg_settings_equal(seg_store_committed(st), s));
    g_assert_false(g_file_test(pending, G_FILE_TEST_EXISTS));
    g_assert_cmpint(g_stat(f->config, &sb), ==, 0);
    g_assert_cmpint(sb.st_mode & 07777, ==, 0644);
    seg_store_free(st);

    /* the committed file is what a new open sees; no rollback was kept */
    st = open_ok(f);
    g_assert_true(seg_settings_equal(seg_store_committed(st), s));
    g_assert_null(seg_store_pending(st));
    {
        g_autoptr(GPtrArray) list = seg_store_rollback_list(st);

        g_assert_cmpuint(list->len, ==, 0);
    }
    seg_store_free(st);
}

/* test_commit_fail - a failed commit keeps pending, committed, history */
static void test_commit_fail(fixture *f, gconstpointer data)
{
    seg_store *st = open_ok(f);
    g_autoptr(seg_settings) s = changed(NULL);
    g_autoptr(seg_settings) def = seg_settings_new_default();
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) list = NULL;
    g_autofree char *want = g_strdup_printf("cannot write %s: rename failed: %s",
                                            f->config, g_strerror(EISDIR));
    gboolean nothing = TRUE;

    g_assert_cmpint(g_mkdir_with_parents(f->config, 0755), ==, 0);
    g_assert_true(seg_store_set_pending(st, s, &err));
    g_assert_false(seg_store_commit(st, "admin", "x", TRUE, &nothing, &err));
    g_assert_false(nothing);
    g_assert_error(err, SEG_ERROR, SEG_ERROR_IO);
    g_assert_cmpstr(err->message, ==, want);
    g_assert_true(seg_settings_equal(seg_store_committed(st), def));
    g_assert_true(seg_settings_equal(seg_store_pending(st), s));
    list = seg_store_rollback_list(st);
    g_assert_cmpuint(list->len, ==, 0);
    seg_store_free(st);
}

/* test_pending_invalid - a broken pending.conf is dropped at open */
static void test_pending_invalid(fixture *f, gconstpointer data)
{
    g_autofree char *pending = g_build_filename(f->state, "pending.conf", NULL);
    seg_store *st;

    g_assert_cmpint(g_mkdir(f->state, 0750), ==, 0);
    write_file(pending, "[inbound]\ntls=preferred-verify\n");
    st = open_ok(f);
    g_assert_null(seg_store_pending(st));
    g_assert_false(g_file_test(pending, G_FILE_TEST_EXISTS));
    seg_store_free(st);

    /* a commit killed before it removed pending.conf left it equal */
    {
        g_autoptr(seg_settings) def = seg_settings_new_default();
        g_autofree char *text = seg_settings_to_keyfile(def, NULL);

        write_file(pending, text);
        st = open_ok(f);
        g_assert_null(seg_store_pending(st));
        g_assert_false(g_file_test(pending, G_FILE_TEST_EXISTS));
        seg_store_free(st);
    }
}

/* test_reload - a broken hand edit is refused; the last good stays */
static void test_reload(fixture *f, gconstpointer data)
{
    seg_store *st = open_ok(f);
    g_autoptr(seg_settings) s = changed(NULL);
    g_autoptr(GError) err = NULL;
    g_autofree char *want = g_strdup_printf(
        "%s:4: inbound.methods: \"1.0,1.2\": TLS v1.0 and TLS v1.2 cannot be "
        "enabled without TLS v1.1", f->config);

    g_assert_true(seg_store_set_pending(st, s, &err));
    g_assert_true(seg_store_commit(st, "admin", "", FALSE, NULL, &err));
    write_file(f->config, "# edited\n[inbound]\n\nmethods=1.0,1.2\n");
    g_assert_false(seg_store_reload(st, &err));
    g_assert_cmpstr(err->message, ==, want);
    g_assert_true(seg_settings_equal(seg_store_committed(st), s));
    g_clear_error(&err);

    write_file(f->config, "[inbound]\ntls=no\n");
    g_assert_true(seg_store_reload(st, &err));
    g_assert_no_error(err);
    g_assert_false(seg_settings_equal(seg_store_committed(st), s));
    {
        g_autofree char *tls = seg_settings_get(seg_store_committed(st), "inbound.tls");

        g_assert_cmpstr(tls, ==, "no");
    }
    seg_store_free(st);
}

/* test_rollback - ten kept, newest first, metadata, restore */
static void test_rollback(fixture *f, gconstpointer data)
{
    seg_store *st = open_ok(f);
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) list = NULL;
    g_autoptr(GRegex) re = g_regex_new("^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} "
                                       "[ 123][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}$",
                                       0, 0, NULL);
    g_autofree char *rbdir = g_build_filename(f->state, "rollback", NULL);
    static const char *const ciphers[] = {
        "HIGH", "AES128", "AES256", "AESGCM", "ECDHE", "CHACHA20",
        "HIGH:!aNULL", "AES128:!aNULL", "AES256:!aNULL", "AESGCM:!aNULL",
        "ECDHE:!aNULL", "CHACHA20:!aNULL",
    };
    guint   i;

    /* 12 commits: entry n holds the configuration before commit n */
    for (i = 0; i < G_N_ELEMENTS(ciphers); i++) {
        g_autoptr(seg_settings) s = changed(ciphers[i]);
        g_autofree char *comment = g_strdup_printf("change %u", i + 1);

        g_assert_true(seg_store_set_pending(st, s, &err));
        g_assert_true(seg_store_commit(st, i % 2 ? "bob" : "admin", comment,
                                       TRUE, NULL, &err));
        g_assert_no_error(err);
    }
    g_assert_cmpuint(count_dir(rbdir, NULL), ==, SEG_ROLLBACK_KEEP);
    list = seg_store_rollback_list(st);
    g_assert_cmpuint(list->len, ==, SEG_ROLLBACK_KEEP);
    for (i = 0; i < list->len; i++) {
        seg_rollback_entry *e = g_ptr_array_index(list, i);
        g_autofree char *comment = g_strdup_printf("change %u", 12 - i);

        g_assert_cmpuint(e->id, ==, 12 - i);       /* the sequence number */
        g_assert_cmpstr(e->comment, ==, comment);
        g_assert_cmpstr(e->user, ==, (12 - i - 1) % 2 ? "bob" : "admin");
        g_assert_true(g_regex_match(re, e->time, 0, NULL));
    }

    /* id 10 saved the configuration before commit 10: ciphers[8] */
    g_assert_true(seg_store_rollback_restore(st, 10, &err));
    g_assert_no_error(err);
    {
        g_autoptr(seg_settings) want = changed(ciphers[8]);
        g_autoptr(seg_settings) now = changed(ciphers[11]);

        g_assert_true(seg_settings_equal(seg_store_pending(st), want));
        g_assert_true(seg_settings_equal(seg_store_committed(st), now));
    }
    /* ids 1 and 2 were pruned; 13 was never given */
    for (guint64 gone = 0; gone <= 13; gone += gone == 2 ? 11 : 1) {
        g_autofree char *msg = g_strdup_printf("no saved configuration %"
                                               G_GUINT64_FORMAT, gone);

        g_assert_false(seg_store_rollback_restore(st, gone, &err));
        g_assert_error(err, SEG_ERROR, SEG_ERROR_NOT_FOUND);
        g_assert_cmpstr(err->message, ==, msg);
        g_clear_error(&err);
    }
    seg_store_free(st);
}

/*
 * test_rollback_stable - an id names the same configuration after more
 * commits (issue 13 item 17: a commit between list and restore)
 */
static void test_rollback_stable(fixture *f, gconstpointer data)
{
    seg_store *st = open_ok(f);
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) list = NULL;
    g_autoptr(seg_settings) a = changed("AES128");
    g_autoptr(seg_settings) b = changed("AES256");
    g_autoptr(seg_settings) c = changed("CHACHA20");
    guint64 shown;

    g_assert_true(seg_store_set_pending(st, a, &err));
    g_assert_true(seg_store_commit(st, "admin", "to a", TRUE, NULL, &err));
    g_assert_true(seg_store_set_pending(st, b, &err));
    g_assert_true(seg_store_commit(st, "admin", "to b", TRUE, NULL, &err));
    list = seg_store_rollback_list(st);
    shown = ((seg_rollback_entry *) g_ptr_array_index(list, 0))->id;
    g_assert_true(seg_settings_equal(((seg_rollback_entry *)
                                      g_ptr_array_index(list, 0))->settings, a));
    /* another commit between the list and the restore */
    g_assert_true(seg_store_set_pending(st, c, &err));
    g_assert_true(seg_store_commit(st, "bob", "to c", TRUE, NULL, &err));
    g_assert_true(seg_store_rollback_restore(st, shown, &err));
    g_assert_no_error(err);
    g_assert_true(seg_settings_equal(seg_store_pending(st), a));
    seg_store_free(st);
}

/* test_last_commit - who, when, why and what the last commit changed */
static void test_last_commit(fixture *f, gconstpointer data)
{
    seg_store *st = open_ok(f);
    g_autoptr(GError) err = NULL;
    g_autoptr(seg_settings) a = seg_settings_new_default();
    g_autoptr(seg_commit_detail) d = NULL;

    g_assert_null(seg_store_last_commit(st));
    set_ok(a, "inbound.methods", "1.2-1.3");
    set_ok(a, "inbound.ciphers", "AES128");
    g_assert_true(seg_store_set_pending(st, a, &err));
    g_assert_true(seg_store_commit(st, "admin", "tls13 in", TRUE, NULL, &err));
    g_assert_no_error(err);
    d = seg_store_last_commit(st);
    g_assert_nonnull(d);
    g_assert_cmpstr(d->user, ==, "admin");
    g_assert_cmpstr(d->comment, ==, "tls13 in");
    g_assert_cmpuint(d->rollback_id, ==, 1);
    g_assert_cmpuint(d->keys->len, ==, 2);
    g_assert_cmpstr(g_ptr_array_index(d->keys, 0), ==, "inbound.methods");
    g_assert_cmpstr(g_ptr_array_index(d->before, 0), ==, "1.1-1.2");
    g_assert_cmpstr(g_ptr_array_index(d->after, 0), ==, "1.2-1.3");
    g_assert_cmpstr(g_ptr_array_index(d->keys, 1), ==, "inbound.ciphers");
    g_assert_cmpstr(g_ptr_array_index(d->before, 1), ==, SEG_DEFAULT_INBOUND_CIPHERS);
    g_assert_cmpstr(g_ptr_array_index(d->after, 1), ==, "AES128");
    seg_store_free(st);
}

/* test_crash - kill -9 during commits leaves a loadable committed file */
static void test_crash(fixture *f, gconstpointer data)
{
    g_autoptr(seg_settings) a = changed("HIGH");
    g_autoptr(seg_settings) b = changed("AES256");
    guint   round;

    for (round = 0; round < 20; round++) {
        pid_t   pid = fork();
        int     status;

        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
            seg_store *st = seg_store_open(f->config, f->state, NULL);
            guint   i;

            if (st == NULL)
                _exit(1);
            for (i = 0;; i++) {         /* until the parent kills it */
                (void) seg_store_set_pending(st, i % 2 ? a : b, NULL);
                (void) seg_store_commit(st, "crash", "", i % 3 == 0, NULL, NULL);
            }
        }
        g_usleep(g_random_int_range(5000, 50000));
        g_assert_cmpint(kill(pid, SIGKILL), ==, 0);
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        {
            g_autoptr(GError) err = NULL;
            seg_store *st = seg_store_open(f->config, f->state, &err);
            g_autoptr(GPtrArray) list = NULL;

            g_assert_no_error(err);
            g_assert_true(seg_settings_equal(seg_store_committed(st), a)
                          || seg_settings_equal(seg_store_committed(st), b)
                          || !g_file_test(f->config, G_FILE_TEST_EXISTS));
            list = seg_store_rollback_list(st);
            g_assert_cmpuint(list->len, <=, SEG_ROLLBACK_KEEP);
            seg_store_free(st);
        }
    }
}

static const char *const concurrent_ciphers[] = {
    "AES128", "AES128:!aNULL", "AES256", "AES256:!aNULL",
};

/* writer - one of two processes that commit at the same time */
static int writer(fixture *f, guint who)
{
    g_autoptr(GError) err = NULL;
    seg_store *st = seg_store_open(f->config, f->state, &err);
    guint   i;
    int     status = 0;

    for (i = 0; st != NULL && i < 8 && err == NULL; i++) {
        g_autoptr(seg_settings) s = changed(concurrent_ciphers[who * 2 + i % 2]);

        if (seg_store_set_pending(st, s, &err))
            (void) seg_store_commit(st, who ? "bob" : "admin", "", TRUE, NULL, &err);
    }
    if (err != NULL) {
        g_printerr("%s\n", err->message);
        status = 1;
    }
    seg_store_free(st);
    return status;
}

/* test_concurrent - the lock keeps two committing processes apart */
static void test_concurrent(fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) list = NULL;
    g_autofree char *rbdir = NULL;   /* allocated after the fork */
    seg_store *st;
    gboolean found = FALSE;
    pid_t   pid[2];
    guint   i;
    guint   dots;

    for (i = 0; i < 2; i++) {
        pid[i] = fork();
        g_assert_cmpint(pid[i], >=, 0);
        if (pid[i] == 0)
            _exit(writer(f, i));
    }
    for (i = 0; i < 2; i++) {
        int     status;

        g_assert_cmpint(waitpid(pid[i], &status, 0), ==, pid[i]);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);
    }
    rbdir = g_build_filename(f->state, "rollback", NULL);
    st = seg_store_open(f->config, f->state, &err);
    g_assert_no_error(err);
    for (i = 0; i < G_N_ELEMENTS(concurrent_ciphers); i++) {
        g_autoptr(seg_settings) s = changed(concurrent_ciphers[i]);

        found |= seg_settings_equal(seg_store_committed(st), s);
    }
    g_assert_true(found);
    list = seg_store_rollback_list(st);
    g_assert_cmpuint(list->len, >, 0);
    g_assert_cmpuint(list->len, <=, SEG_ROLLBACK_KEEP);
    g_assert_cmpuint(count_dir(rbdir, &dots), ==, list->len);
    g_assert_cmpuint(dots, ==, 0);
    for (i = 0; i < list->len; i++) {
        seg_rollback_entry *e = g_ptr_array_index(list, i);

        g_assert_true(seg_store_rollback_restore(st, e->id, &err));
        g_assert_no_error(err);
    }
    seg_store_free(st);
}

/* main - register the tests */
int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/store/keyfile/roundtrip-defaults", test_roundtrip_defaults);
    g_test_add_func("/store/keyfile/roundtrip-changed", test_roundtrip_changed);
    g_test_add_func("/store/keyfile/partial", test_partial);
    g_test_add_func("/store/keyfile/gap", test_gap);
    g_test_add_func("/store/keyfile/unknown", test_unknown);
    g_test_add_func("/store/keyfile/duplicate", test_duplicate);
    g_test_add_func("/store/keyfile/syntax", test_syntax);
#define ADD(name, fn) g_test_add(name, fixture, NULL, setup, fn, teardown)
    ADD("/store/atomic/write", test_atomic);
    ADD("/store/atomic/fail", test_atomic_fail);
    ADD("/store/atomic/readonly", test_atomic_readonly);
    ADD("/store/open/missing", test_open_missing);
    ADD("/store/open/invalid", test_open_invalid);
    ADD("/store/pending", test_pending);
    ADD("/store/pending-invalid", test_pending_invalid);
    ADD("/store/commit-fail", test_commit_fail);
    ADD("/store/reload", test_reload);
    ADD("/store/rollback", test_rollback);
    ADD("/store/rollback-stable", test_rollback_stable);
    ADD("/store/last-commit", test_last_commit);
    ADD("/store/concurrent", test_concurrent);
    ADD("/store/crash", test_crash);
    return g_test_run();
}
