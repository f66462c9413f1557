/*
 * keyfile - settings to and from the GLib key-file text.
 *
 * One group per service; the key is the part of the setting name after
 * the dot ("inbound.methods" is methods= in [inbound]). Writing gives
 * every setting in listing order with its canonical value. Reading starts
 * from the defaults and sends every value through seg_settings_set(), so
 * a hand-edited file obeys the same rules as an edit.
 *
 * GKeyFile parses and unescapes, but knows no line numbers and silently
 * keeps the last of two equal keys. So a scan of the text (kfscan.h)
 * comes first: it finds each key's line, refuses syntax errors, unknown
 * groups and keys and duplicates, and every message is "FILE:LINE: text".
 */
#include <stdarg.h>
#include <string.h>

#include "destctl.h"
#include "error.h"
#include "kfscan.h"
#include "keyfile.h"
#include "tlsver.h"

#define KF_HEADER \
    " segtls committed SSL configuration; edit with sslconfig or segtls set.\n" \
    " Hand edits are checked when the file is loaded: a value that breaks\n" \
    " a rule is refused with file:line and the last good configuration\n" \
    " stays in force."

/* split_key - "inbound.methods" into group and key */
static void split_key(const char *name, char **group, const char **key)
{
    const char *dot = strchr(name, '.');

    g_assert(dot != NULL);
    *group = g_strndup(name, (gsize) (dot - name));
    *key = dot + 1;
}

/* settings_group - does some setting live in this group? */
static gboolean settings_group(const char *group)
{
    const char *const *k;
    gsize   len = strlen(group);

    for (k = seg_settings_keys(); *k; k++)
        if (strncmp(*k, group, len) == 0 && (*k)[len] == '.')
            return TRUE;
    return FALSE;
}

/*
 * The destination entries and sender groups: one group each,
 * "[destination example.com]" with tls=, methods=, ciphers=, exclude=
 * (the last three only when set) and "[sendergroup NAME]" with tls= and
 * members= (comma separated).
 */
#define DEST_PREFIX     "destination "
#define SGROUP_PREFIX   "sendergroup "

static const char *const dest_keys[] = {"tls", "methods", "ciphers", "exclude", NULL};
static const char *const sgroup_keys[] = {"tls", "members", NULL};

/* table_keys - the keys of a destination or sender group, NULL for others */
static const char *const *table_keys(const char *group)
{
    if (g_str_has_prefix(group, DEST_PREFIX))
        return dest_keys;
    if (g_str_has_prefix(group, SGROUP_PREFIX))
        return sgroup_keys;
    return NULL;
}

/* destctl_fill - the entries and groups into kf */
static void destctl_fill(GKeyFile *kf, const seg_destctl *dc)
{
    const GPtrArray *dests = seg_destctl_dests(dc);
    const GPtrArray *groups = seg_destctl_groups(dc);

    for (guint i = 0; i < dests->len; i++) {
        const seg_dest_entry *e = g_ptr_array_index(dests, i);
        g_autofree char *group = g_strconcat(DEST_PREFIX, e->domain, NULL);

        g_key_file_set_string(kf, group, "tls", seg_tls_mode_name(e->tls));
        if (e->methods) {
            g_autofree char *v = seg_methods_value(e->methods);

            g_key_file_set_string(kf, group, "methods", v);
        }
        if (*e->ciphers)
            g_key_file_set_string(kf, group, "ciphers", e->ciphers);
        if (*e->exclude)
            g_key_file_set_string(kf, group, "exclude", e->exclude);
    }
    for (guint i = 0; i < groups->len; i++) {
        const seg_sender_group *g = g_ptr_array_index(groups, i);
        g_autofree char *group = g_strconcat(SGROUP_PREFIX, g->name, NULL);
        g_autoptr(GString) members = g_string_new(NULL);

        for (guint k = 0; k < g->members->len; k++)
            g_string_append_printf(members, "%s%s", k ? "," : "",
                                   (char *) g_ptr_array_index(g->members, k));
        g_key_file_set_string(kf, group, "tls", seg_tls_mode_name(g->tls));
        g_key_file_set_string(kf, group, "members", members->str);
    }
}

/* table_value - one key of a table group, "" when absent */
static char *table_value(GKeyFile *kf, const char *group, const char *key)
{
    char   *v = g_key_file_get_string(kf, group, key, NULL);

    return v ? v : g_strdup("");
}

/* destctl_load - a destination or sender group of the file into s */
static gboolean destctl_load(seg_settings *s, GKeyFile *kf, const seg_kf_line *l,
                             const char *filename, GError **error)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *tls = table_value(kf, l->group, "tls");
    gboolean ok;

    if (g_str_has_prefix(l->group, DEST_PREFIX)) {
        g_autofree char *methods = table_value(kf, l->group, "methods");
        g_autofree char *ciphers = table_value(kf, l->group, "ciphers");
        g_autofree char *exclude = table_value(kf, l->group, "exclude");

        ok = seg_destctl_dest_set(s->destctl, l->group + strlen(DEST_PREFIX), tls,
                                  methods, ciphers, exclude,
                                  s->svc[SEG_SVC_OUTBOUND].methods,
                                  SEG_DEST_MUST_BE_NEW, &err);
    } else {
        g_autofree char *members = table_value(kf, l->group, "members");
        g_auto(GStrv) list = g_strsplit(members, ",", -1);

        ok = seg_destctl_group_set(s->destctl, l->group + strlen(SGROUP_PREFIX), tls,
                                   (const char *const *) list, SEG_DEST_MUST_BE_NEW,
                                   &err);
    }
    if (!ok)
        seg_kf_fail(error, err->code, filename, l->line, "%s", err->message);
    return ok;
}

/* seg_settings_keyfile_fill - add every setting to kf */
void seg_settings_keyfile_fill(GKeyFile *kf, const seg_settings *s)
{
    const char *const *k;

    for (k = seg_settings_keys(); *k; k++) {
        g_autofree char *group = NULL;
        g_autofree char *value = seg_settings_get(s, *k);
        const char *key;

        split_key(*k, &group, &key);
        g_key_file_set_string(kf, group, key, value);
    }
    destctl_fill(kf, s->destctl);
}

/* seg_settings_to_keyfile - serialise (all keys, canonical values) */
char *seg_settings_to_keyfile(const seg_settings *s, gsize *len)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();

    seg_settings_keyfile_fill(kf, s);
    (void) g_key_file_set_comment(kf, NULL, NULL, KF_HEADER, NULL);
    return g_key_file_to_data(kf, len, NULL);
}

/* check_line - a known group or setting, or anything in extra_group */
static gboolean check_line(const seg_kf_line *l, const char *filename,
                           gpointer extra_group, GError **error)
{
    g_autofree char *full = NULL;
    g_autofree char *shown = NULL;

    if (g_strcmp0(l->group, extra_group) == 0)
        return TRUE;
    if (table_keys(l->group) != NULL) {
        if (l->key == NULL || g_strv_contains(table_keys(l->group), l->key))
            return TRUE;
        shown = g_strescape(l->key, NULL);
        seg_kf_fail(error, SEG_ERROR_UNKNOWN_KEY, filename, l->line,
                    "unknown key %s in [%s]", shown,
                    g_str_has_prefix(l->group, DEST_PREFIX) ? "destination"
                    : "sendergroup");
        return FALSE;
    }
    if (l->key == NULL) {
        if (settings_group(l->group))
            return TRUE;
        shown = g_strescape(l->group, NULL);
        seg_kf_fail(error, SEG_ERROR_UNKNOWN_KEY, filename, l->line,
                    "unknown group [%s]", shown);
        return FALSE;
    }
    full = g_strdup_printf("%s.%s", l->group, l->key);
    if (seg_settings_has_key(full))
        return TRUE;
    shown = g_strescape(full, NULL);
    seg_kf_fail(error, SEG_ERROR_UNKNOWN_KEY, filename, l->line,
                "unknown setting %s", shown);
    return FALSE;
}

/* seg_settings_from_keyfile_full - parse; extra_group is left to the caller */
seg_settings *seg_settings_from_keyfile_full(const char *data, gsize len,
                                             const char *filename,
                                             const char *extra_group,
                                             GKeyFile **kf_out, GError **error)
{
    g_autoptr(GArray) entries = NULL;
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(seg_settings) s = NULL;
    g_autoptr(GError) err = NULL;
    guint   i;

    entries = seg_kf_scan(data, len, filename, check_line, (gpointer) extra_group, error);
    if (entries == NULL)
        return NULL;
    if (!seg_kf_load(kf, data, len, filename, error))
        return NULL;
    s = seg_settings_new_default();
    for (i = 0; i < entries->len; i++) {
        const seg_kf_line *e = &g_array_index(entries, seg_kf_line, i);
        g_autofree char *full = NULL;
        g_autofree char *value = NULL;

        if (g_strcmp0(e->group, extra_group) == 0 || table_keys(e->group) != NULL)
            continue;
        if (e->key == NULL)
            continue;
        full = g_strdup_printf("%s.%s", e->group, e->key);
        value = g_key_file_get_string(kf, e->group, e->key, &err);
        if (err != NULL) {
            seg_kf_fail(error, SEG_ERROR_INVALID, filename, e->line, "%s: %s",
                        full, err->message);
            return NULL;
        }
        if (!seg_settings_set(s, full, value, &err)) {
            seg_kf_fail(error, err->code, filename, e->line, "%s", err->message);
            return NULL;
        }
    }
    /* The tables last: their versions must lie inside outbound.methods. */
    for (i = 0; i < entries->len; i++) {
        const seg_kf_line *e = &g_array_index(entries, seg_kf_line, i);

        if (e->key == NULL && table_keys(e->group) != NULL
            && !destctl_load(s, kf, e, filename, error))
            return NULL;
    }
    if (kf_out != NULL)
        *kf_out = g_steal_pointer(&kf);
    return g_steal_pointer(&s);
}

/* seg_settings_from_keyfile - parse key-file text */
seg_settings *seg_settings_from_keyfile(const char *data, gsize len,
                                        const char *filename, GError **error)
{
    return seg_settings_from_keyfile_full(data, len, filename, NULL, NULL, error);
}
