/*
 * fuzz_ctl - libFuzzer target: control-socket requests (policyd/ops.c).
 *
 * Each line of the input is one request, checked and parsed as
 * segtls-policyd's control.c does (no NUL, UTF-8, json-glib, an object)
 * and run through policyd_dispatch() against a store that is new for
 * every input: a committed file, a state directory and the path of an
 * apply configuration that is never made (so commit only stores), under a private
 * temporary directory (on /dev/shm when there is one, where fsync is
 * cheap). So a sequence of set, commit, rollback_restore, ... requests
 * is reproducible from the input alone.
 *
 * Every response must be an object with a boolean "ok"; a failure must
 * carry a one-line "error". Linked with --wrap: seg_apply() never runs
 * (a commit must not touch the real Postfix or nginx), and msg_info()
 * and friends format their message but print nothing (quiet.c). The
 * analysis behind show, set, commit and status (lib/tls/usable.c: real
 * in-memory handshakes, some 20 ms each under ASan) gives one fixed line
 * unless FUZZ_CTL_USABLE=1 is in the environment: the requests are what
 * is fuzzed here, and they run ten times faster without the handshakes.
 * policyd_dispatch() runs the analysis in this thread.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apply.h"
#include "ctl.h"
#include "msg.h"
#include "policyd.h"
#include "usable.h"
#include "warnings.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

gboolean __wrap_seg_apply(const seg_settings *s, const seg_apply_opts *o,
                          seg_apply_report *rep, GError **error);
void __wrap_seg_settings_analyse(const seg_settings *s, seg_cert_reader reader,
                                 gpointer data, seg_analysis *a);
void __real_seg_settings_analyse(const seg_settings *s, seg_cert_reader reader,
                                 gpointer data, seg_analysis *a);

static char *top_dir;           /* private temporary directory */
static char *config_path;       /* TOP/segtls.conf */
static char *state_dir;         /* TOP/state */
static char *apply_config;      /* TOP/apply.conf, never made: commit only stores */
static const char *const cert_dirs[] = {POLICYD_CERT_DIRS, NULL};

/* __wrap_seg_apply - the apply step of a commit does nothing here */
gboolean __wrap_seg_apply(const seg_settings *s, const seg_apply_opts *o,
                          seg_apply_report *rep, GError **error)
{
    return TRUE;
}

/* __wrap_seg_settings_analyse - one fixed line, or the real analysis */
void __wrap_seg_settings_analyse(const seg_settings *s, seg_cert_reader reader,
                                 gpointer data, seg_analysis *a)
{
    static int real = -1;

    if (real < 0)
        real = g_strcmp0(g_getenv("FUZZ_CTL_USABLE"), "1") == 0;
    if (real) {
        __real_seg_settings_analyse(s, reader, data, a);
        return;
    }
    for (int svc = 0; svc < SEG_SVC_COUNT; svc++) {
        a->warnings[svc] = g_ptr_array_new_with_free_func(g_free);
        a->usable[svc] = s->svc[svc].methods;
    }
    g_ptr_array_add(a->warnings[0], g_strdup("Warning: fuzz_ctl: usable.c not run"));
}

/* rm_entry - nftw callback: remove one entry, depth first */
static int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw)
{
    (void) remove(path);
    return 0;
}

/* clean - remove the committed file and the state directory */
static void clean(void)
{
    (void) unlink(config_path);
    (void) nftw(state_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* at_end - remove the temporary directory */
static void at_end(void)
{
    if (top_dir != NULL)
        (void) nftw(top_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* LLVMFuzzerInitialize - make the private temporary directory */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *base = g_file_test("/dev/shm", G_FILE_TEST_IS_DIR)
        && access("/dev/shm", W_OK) == 0 ? "/dev/shm" : g_get_tmp_dir();
    g_autofree char *tmpl = g_build_filename(base, "segtls-fuzz-ctl.XXXXXX", NULL);

    top_dir = g_mkdtemp(g_steal_pointer(&tmpl));
    if (top_dir == NULL) {
        perror("fuzz_ctl: mkdtemp");
        exit(1);
    }
    config_path = g_build_filename(top_dir, "segtls.conf", NULL);
    state_dir = g_build_filename(top_dir, "state", NULL);
    apply_config = g_build_filename(top_dir, "apply.conf", NULL);
    atexit(at_end);
    return 0;
}

/* request - what control.c's handle_line does before dispatch */
static JsonObject *request(policyd *pd, const char *line, gsize len)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    JsonNode *root;

    if (memchr(line, 0, len) != NULL || !g_utf8_validate(line, len, NULL))
        return NULL;
    if (!json_parser_load_from_data(parser, line, len, NULL))
        return NULL;
    root = json_parser_get_root(parser);
    if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root))
        return NULL;
    return policyd_dispatch(pd, json_node_get_object(root), "fuzz");
}

/* check_response - {"ok":true,...} or {"ok":false,"error":"one line"} */
static void check_response(JsonObject *resp)
{
    g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
    g_autofree char *text = NULL;
    JsonNode *ok;

    if (resp == NULL)
        __builtin_trap();
    json_node_take_object(node, resp);
    ok = json_object_get_member(resp, "ok");
    if (ok == NULL || json_node_get_value_type(ok) != G_TYPE_BOOLEAN)
        __builtin_trap();
    if (!json_node_get_boolean(ok)) {
        const char *msg = json_object_get_string_member_with_default(resp,
                                                             "error", NULL);

        if (msg == NULL || *msg == '\0' || strchr(msg, '\n') != NULL)
            __builtin_trap();
    }
    text = json_to_string(node, FALSE);
    if (strchr(text, '\n') != NULL)
        __builtin_trap();
}

/* LLVMFuzzerTestOneInput - one session of requests, one per line */
int LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    const char *p = (const char *) data;
    const char *end = p + size;
    g_autoptr(GError) err = NULL;
    policyd pd;

    memset(&pd, 0, sizeof(pd));
    clean();
    pd.config_path = config_path;
    pd.state_dir = state_dir;
    pd.apply_config = apply_config;
    pd.cert_dirs = (char **) cert_dirs;
    pd.store = seg_store_open(config_path, state_dir, &err);
    if (pd.store == NULL) {
        fprintf(stderr, "fuzz_ctl: %s\n", err->message);
        abort();
    }
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t) (end - p));
        size_t  len = nl ? (size_t) (nl - p) : (size_t) (end - p);
        JsonObject *resp;

        if (len <= SEG_CTL_MAX_REQUEST
            && (resp = request(&pd, p, len)) != NULL)
            check_response(resp);
        p += len + (nl != NULL);
    }
    seg_store_free(pd.store);
    return 0;
}
