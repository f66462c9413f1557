/*
 * path - the path rule shared by the settings and the renderers (path.h).
 */
#include <string.h>

#include "error.h"
#include "path.h"
#include "quote.h"

/* Characters that end or split a value in a configuration file. */
static const char path_bad[] = ";{}'\"#$\\`, \t";

/* seg_path_check - absolute, bounded, UTF-8, no separator characters */
gboolean seg_path_check(const char *path, GError **error)
{
    if (path == NULL || *path != '/') {
        g_set_error_literal(error, SEG_ERROR, SEG_ERROR_INVALID, "path must be absolute");
        return FALSE;
    }
    if (strlen(path) > SEG_PATH_MAX) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID, "path is longer than %d bytes",
                    SEG_PATH_MAX);
        return FALSE;
    }
    for (const char *p = path; *p; p++) {
        guchar c = (guchar) *p;

        if (c < 0x20 || c == 0x7f || strchr(path_bad, c)) {
            g_autofree char *name = seg_quote_char(c);

            g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                        "character '%s' is not allowed in a path", name);
            return FALSE;
        }
    }
    if (!g_utf8_validate(path, -1, NULL)) {
        g_set_error_literal(error, SEG_ERROR, SEG_ERROR_INVALID, "path is not valid UTF-8");
        return FALSE;
    }
    return TRUE;
}
