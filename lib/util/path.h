/*
 * path - the one rule for a path that segtls writes into main.cf,
 * master.cf, nginx.conf or an OpenSSL configuration.
 *
 * Absolute, at most SEG_PATH_MAX bytes, valid UTF-8, and none of the
 * characters that end or split a value in one of those files: control
 * characters, blanks and commas (lists in main.cf and master.cf), and
 * ; { } ' " # $ \ ` (nginx and shell-like syntax). The settings check it
 * when a value is set and the renderers again before anything is written,
 * so a value that commits always renders.
 */
#ifndef SEGTLS_PATH_H
#define SEGTLS_PATH_H

#include <glib.h>

#define SEG_PATH_MAX    1024

/*
 * seg_path_check - is path safe in every file? On error the message has
 * no prefix: "path must be absolute", "path is longer than 1024 bytes",
 * "character ',' is not allowed in a path", "path is not valid UTF-8".
 */
gboolean seg_path_check(const char *path, GError **error);

#endif
