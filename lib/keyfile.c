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
 * keeps the last of two equal keys. So a scan of the text, which follows
 * GKeyFile's line rules (leading blanks ignored, '#' comments, [group],
 * key=value with blanks around '=' ignored, CR before LF dropped), comes
 * first: it finds each key's line, refuses syntax errors, unknown groups
 * and keys and duplicates, and every message is "FILE:LINE: text".
 */
#include <stdarg.h>
#include <string.h>

#include "error.h"
#include "store.h"

#define KF_HEADER \
    " segtls committed SSL configuration; edit with sslconfig or segtls set.\n" \
    " Hand edits are checked when the file is loaded: a value that breaks\n" \
    " a rule is refused with file:line and the last good configuration\n" \
    " stays in force."

typedef struct kf_entry {
    char   *group;
    char   *key;                /* NULL for a group header */
    guint   line;
} kf_entry;

/* entry_clear - GArray clear function */
static void entry_clear(gpointer p)
{
    kf_entry *e = p;

    g_free(e->group);
    g_free(e->key);
}

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
}

/* seg_settings_to_keyfile - serialise (all keys, canonical values) */
char *seg_settings_to_keyfile(const seg_settings *s, gsize *len)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();

    seg_settings_keyfile_fill(kf, s);
    (void) g_key_file_set_comment(kf, NULL, NULL, KF_HEADER, NULL);
    return g_key_file_to_data(kf, len, NULL);
}

/* kf_fail - set a "FILE:LINE: message" error */
G_GNUC_PRINTF(5, 6)
static void kf_fail(GError **error, int code, const char *filename, guint line,
                    const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (line > 0)
        g_set_error(error, SEG_ERROR, code, "%s:%u: %s", filename, line, msg);
    else
        g_set_error(error, SEG_ERROR, code, "%s: %s", filename, msg);
}

/* is_group_line - "[name]" with only blanks after; GKeyFile's rule */
static gboolean is_group_line(const char *p, const char *end, const char **close)
{
    if (p >= end || *p != '[')
        return FALSE;
    *close = memchr(p, ']', (gsize) (end - p));
    if (*close == NULL)
        return FALSE;
    for (p = *close + 1; p < end; p++)
        if (*p != ' ' && *p != '\t')
            return FALSE;
    return TRUE;
}

/* scan_line - classify one line (without its newline) */
static gboolean scan_line(const char *p, const char *end, guint line,
                          const char *filename, const char *extra_group,
                          char **group, GHashTable *seen, GArray *entries,
                          GError **error)
{
    const char *close;
    const char *eq;
    const char *kend;
    kf_entry e = {NULL, NULL, line};

    if (!g_utf8_validate(p, end - p, NULL)) {
        kf_fail(error, SEG_ERROR_INVALID, filename, line,
                "line is not valid UTF-8 text");
        return FALSE;
    }
    while (p < end && g_ascii_isspace(*p))
        p++;
    if (p == end || *p == '#')
        return TRUE;
    if (is_group_line(p, end, &close)) {
        g_free(*group);
        *group = g_strndup(p + 1, (gsize) (close - p - 1));
        if (g_strcmp0(*group, extra_group) != 0 && !settings_group(*group)) {
            g_autofree char *shown = g_strescape(*group, NULL);

            kf_fail(error, SEG_ERROR_UNKNOWN_KEY, filename, line,
                    "unknown group [%s]", shown);
            return FALSE;
        }
        e.group = g_strdup(*group);
        g_array_append_val(entries, e);
        return TRUE;
    }
    eq = memchr(p, '=', (gsize) (end - p));
    if (eq == NULL || eq == p) {
        kf_fail(error, SEG_ERROR_INVALID, filename, line,
                "not a [group], key=value or # comment line");
        return FALSE;
    }
    for (kend = eq; kend > p && g_ascii_isspace(kend[-1]); kend--)
        /* void */ ;
    e.key = g_strndup(p, (gsize) (kend - p));
    if (*group == NULL) {
        g_autofree char *shown = g_strescape(e.key, NULL);

        kf_fail(error, SEG_ERROR_INVALID, filename, line,
                "key %s comes before the first [group]", shown);
        g_free(e.key);
        return FALSE;
    }
    e.group = g_strdup(*group);
    {
        g_autofree char *full = g_strdup_printf("%s.%s", e.group, e.key);
        g_autofree char *shown = g_strescape(full, NULL);
        guint   first;

        if (g_strcmp0(e.group, extra_group) != 0 && !seg_settings_has_key(full)) {
            kf_fail(error, SEG_ERROR_UNKNOWN_KEY, filename, line,
                    "unknown setting %s", shown);
            entry_clear(&e);
            return FALSE;
        }
        if ((first = GPOINTER_TO_UINT(g_hash_table_lookup(seen, full))) != 0) {
            kf_fail(error, SEG_ERROR_INVALID, filename, line,
                    "%s is set twice (first on line %u)", shown, first);
            entry_clear(&e);
            return FALSE;
        }
        g_hash_table_insert(seen, g_steal_pointer(&full), GUINT_TO_POINTER(line));
    }
    g_array_append_val(entries, e);
    return TRUE;
}

/* scan - find every group and key with its line; refuse bad lines */
static gboolean scan(const char *data, gsize len, const char *filename,
                     const char *extra_group, GArray *entries, GError **error)
{
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal,
                                                       g_free, NULL);
    g_autofree char *group = NULL;
    const char *p = data;
    const char *end = data + len;
    guint   line = 0;

    while (p < end) {
        const char *nl = memchr(p, '\n', (gsize) (end - p));
        const char *eol = nl ? nl : end;
        const char *stop = (eol > p && eol[-1] == '\r') ? eol - 1 : eol;

        if (!scan_line(p, stop, ++line, filename, extra_group, &group, seen,
                       entries, error))
            return FALSE;
        p = nl ? nl + 1 : end;
    }
    return TRUE;
}

/* locate - best guess at the line a GKeyFile message is about */
static guint locate(const char *data, gsize len, const char *msg)
{
    const char *open = strstr(msg, "\u201c");
    const char *close;
    g_autofree char *needle = NULL;
    const char *p;
    guint   line = 1;

    if (open == NULL || (close = strstr(open, "\u201d")) == NULL)
        return 0;
    open += strlen("\u201c");
    if (close == open)
        return 0;
    needle = g_strndup(open, (gsize) (close - open));
    for (p = data; p < data + len; p++) {
        if (*p == '\n')
            line++;
        else if ((gsize) (data + len - p) >= strlen(needle)
                 && memcmp(p, needle, strlen(needle)) == 0)
            return line;
    }
    return 0;
}

/* seg_settings_from_keyfile_full - parse; extra_group is left to the caller */
seg_settings *seg_settings_from_keyfile_full(const char *data, gsize len,
                                             const char *filename,
                                             const char *extra_group,
                                             GKeyFile **kf_out, GError **error)
{
    g_autoptr(GArray) entries = g_array_new(FALSE, FALSE, sizeof(kf_entry));
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(seg_settings) s = NULL;
    g_autoptr(GError) err = NULL;
    guint   i;

    g_array_set_clear_func(entries, entry_clear);
    if (!scan(data, len, filename, extra_group, entries, error))
        return NULL;
    if (!g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE, &err)) {
        kf_fail(error, SEG_ERROR_INVALID, filename, locate(data, len, err->message),
                "%s", err->message);
        return NULL;
    }
    s = seg_settings_new_default();
    for (i = 0; i < entries->len; i++) {
        kf_entry *e = &g_array_index(entries, kf_entry, i);
        g_autofree char *full = NULL;
        g_autofree char *value = NULL;

        if (e->key == NULL || g_strcmp0(e->group, extra_group) == 0)
            continue;
        full = g_strdup_printf("%s.%s", e->group, e->key);
        value = g_key_file_get_string(kf, e->group, e->key, &err);
        if (err != NULL) {
            kf_fail(error, SEG_ERROR_INVALID, filename, e->line, "%s: %s",
                    full, err->message);
            return NULL;
        }
        if (!seg_settings_set(s, full, value, &err)) {
            kf_fail(error, err->code, filename, e->line, "%s", err->message);
            return NULL;
        }
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
