/*
 * kfscan - key-file text scanned line by line (see kfscan.h).
 *
 * The line rules are GKeyFile's: a line ends at LF (a CR before it is
 * dropped), leading blanks are ignored, '#' starts a comment line,
 * "[name]" with only blanks after it opens a group, and "key=value" has
 * the blanks around the key ignored. The committed settings file
 * (keyfile.c) and policyd's apply configuration (applyconf.c) both scan
 * with it, so their messages name lines the same way.
 */
#include <stdarg.h>
#include <string.h>

#include "error.h"
#include "kfscan.h"

typedef struct kf_scan {
    const char *filename;
    seg_kf_check_fn check;
    gpointer check_data;
    char   *group;              /* the current group */
    GHashTable *seen;           /* "group\nkey" -> first line */
    GArray *lines;
} kf_scan;

/* line_clear - GArray clear function */
static void line_clear(gpointer p)
{
    seg_kf_line *l = p;

    g_free(l->group);
    g_free(l->key);
}

/* seg_kf_fail - set a "FILE:LINE: message" error */
void seg_kf_fail(GError **error, int code, const char *filename, guint line,
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

/* twice - refuse a key already seen in this group */
static gboolean twice(kf_scan *s, const seg_kf_line *l, GError **error)
{
    char   *id = g_strdup_printf("%s\n%s", l->group, l->key);
    guint   first = GPOINTER_TO_UINT(g_hash_table_lookup(s->seen, id));

    if (first != 0) {
        g_autofree char *full = g_strdup_printf("%s.%s", l->group, l->key);
        g_autofree char *shown = g_strescape(full, NULL);

        g_free(id);
        seg_kf_fail(error, SEG_ERROR_INVALID, s->filename, l->line,
                    "%s is set twice (first on line %u)", shown, first);
        return TRUE;
    }
    g_hash_table_insert(s->seen, id, GUINT_TO_POINTER(l->line));
    return FALSE;
}

/* scan_line - classify one line (without its newline) */
static gboolean scan_line(kf_scan *s, const char *p, const char *end, guint line,
                          GError **error)
{
    const char *close, *eq, *kend;
    seg_kf_line l = {NULL, NULL, line};

    if (!g_utf8_validate(p, end - p, NULL)) {
        seg_kf_fail(error, SEG_ERROR_INVALID, s->filename, line,
                    "line is not valid UTF-8 text");
        return FALSE;
    }
    while (p < end && g_ascii_isspace(*p))
        p++;
    if (p == end || *p == '#')
        return TRUE;
    if (is_group_line(p, end, &close)) {
        g_free(s->group);
        s->group = g_strndup(p + 1, (gsize) (close - p - 1));
        l.group = g_strdup(s->group);
    } else {
        eq = memchr(p, '=', (gsize) (end - p));
        if (eq == NULL || eq == p) {
            seg_kf_fail(error, SEG_ERROR_INVALID, s->filename, line,
                        "not a [group], key=value or # comment line");
            return FALSE;
        }
        for (kend = eq; kend > p && g_ascii_isspace(kend[-1]); kend--)
            /* void */ ;
        l.key = g_strndup(p, (gsize) (kend - p));
        if (s->group == NULL) {
            g_autofree char *shown = g_strescape(l.key, NULL);

            seg_kf_fail(error, SEG_ERROR_INVALID, s->filename, line,
                        "key %s comes before the first [group]", shown);
            g_free(l.key);
            return FALSE;
        }
        l.group = g_strdup(s->group);
    }
    if ((s->check != NULL && !s->check(&l, s->filename, s->check_data, error))
        || (l.key != NULL && twice(s, &l, error))) {
        line_clear(&l);
        return FALSE;
    }
    g_array_append_val(s->lines, l);
    return TRUE;
}

/* seg_kf_scan - find every group and key with its line; refuse bad lines */
GArray *seg_kf_scan(const char *data, gsize len, const char *filename,
                    seg_kf_check_fn check, gpointer check_data, GError **error)
{
    kf_scan s = {filename, check, check_data, NULL, NULL, NULL};
    const char *p = data;
    const char *end = data + len;
    guint   line = 0;

    s.seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    s.lines = g_array_new(FALSE, FALSE, sizeof(seg_kf_line));
    g_array_set_clear_func(s.lines, line_clear);
    while (p < end) {
        const char *nl = memchr(p, '\n', (gsize) (end - p));
        const char *eol = nl ? nl : end;
        const char *stop = (eol > p && eol[-1] == '\r') ? eol - 1 : eol;

        if (!scan_line(&s, p, stop, ++line, error)) {
            g_clear_pointer(&s.lines, g_array_unref);
            break;
        }
        p = nl ? nl + 1 : end;
    }
    g_free(s.group);
    g_hash_table_unref(s.seen);
    return s.lines;
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

/* seg_kf_load - load text into kf; a GKeyFile error with its line */
gboolean seg_kf_load(GKeyFile *kf, const char *data, gsize len, const char *filename,
                     GError **error)
{
    g_autoptr(GError) err = NULL;

    if (g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE, &err))
        return TRUE;
    seg_kf_fail(error, SEG_ERROR_INVALID, filename, locate(data, len, err->message),
                "%s", err->message);
    return FALSE;
}

/* seg_kf_line_of - where "[group]" or key in group is; 0 when nowhere */
guint seg_kf_line_of(const GArray *lines, const char *group, const char *key)
{
    for (guint i = 0; lines != NULL && i < lines->len; i++) {
        const seg_kf_line *l = &g_array_index(lines, seg_kf_line, i);

        if (strcmp(l->group, group) == 0 && g_strcmp0(l->key, key) == 0)
            return l->line;
    }
    return 0;
}
