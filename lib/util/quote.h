/*
 * quote - values and characters as one-line messages show them.
 *
 * Every refusal names the value it refused ("gui.ciphers: \"HIGH;rm\":
 * character ';' is not allowed in a cipher string"); these two helpers
 * make sure that what is shown fits on one line whatever the value holds.
 */
#ifndef SEGTLS_QUOTE_H
#define SEGTLS_QUOTE_H

#include <glib.h>

#define SEG_QUOTE_MAX   80              /* value bytes shown in a message */

/*
 * seg_quote_value - a value for a one-line message: double-quoted,
 * g_strescape()d (a newline shows as \n), cut after 80 bytes with "...".
 * Newly allocated.
 */
char *seg_quote_value(const char *value);

/*
 * seg_quote_char - one character as a message shows it between single
 * quotes: itself when printable, \n \t \r \v \f \b \\ \' by name, else
 * \xNN. Newly allocated.
 */
char *seg_quote_char(guchar c);

#endif
