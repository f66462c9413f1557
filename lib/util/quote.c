/*
 * quote - values and characters for one-line messages (see quote.h).
 */
#include <string.h>

#include "quote.h"

/* seg_quote_value - "value" escaped for a one-line message, truncated */
char *seg_quote_value(const char *value)
{
    size_t len = strlen(value);
    g_autofree char *head = g_strndup(value, MIN(len, SEG_QUOTE_MAX));
    g_autofree char *esc = g_strescape(head, NULL);

    return g_strdup_printf("\"%s%s\"", esc, len > SEG_QUOTE_MAX ? "..." : "");
}

/* seg_quote_char - a character as the messages print it: \n, \t, \x01, ; */
char *seg_quote_char(guchar c)
{
    static const struct {
        guchar c;
        const char *name;
    } named[] = {
        {'\n', "\\n"}, {'\t', "\\t"}, {'\r', "\\r"}, {'\v', "\\v"},
        {'\f', "\\f"}, {'\b', "\\b"}, {'\\', "\\\\"}, {'\'', "\\'"},
    };

    for (guint i = 0; i < G_N_ELEMENTS(named); i++)
        if (named[i].c == c)
            return g_strdup(named[i].name);
    if (c < 0x20 || c >= 0x7f)
        return g_strdup_printf("\\x%02x", c);
    return g_strdup_printf("%c", c);
}
