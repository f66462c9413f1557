/*
 * fuzz_menu - libFuzzer target: TLS method input (lib/tls/tlsver.h).
 *
 * The input, cut at its first NUL, is given to both the gateway menu
 * parser (seg_methods_parse_menu: "1-3", "2,3") and the settings value
 * parser (seg_methods_parse_value: "1.1-1.2", "tlsv1_2tlsv1_3"). An
 * accepted mask must pass seg_methods_check() and survive a round trip
 * through its canonical spellings; a refusal must say why, on one line.
 */
#include <string.h>

#include "tlsver.h"

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

typedef gboolean (*parse_fn)(const char *input, unsigned *mask, GError **error);

/* reparse - a canonical spelling of mask parses back to mask */
static void reparse(parse_fn parse, char *text, unsigned mask)
{
    g_autoptr(GError) err = NULL;
    unsigned again = 0;

    if (!parse(text, &again, &err) || again != mask)
        __builtin_trap();
    g_free(text);
}

/* check - the result of one parse */
static void check(gboolean ok, unsigned mask, const GError *err)
{
    if (!ok) {
        if (err == NULL || err->message[0] == '\0' || strchr(err->message, '\n'))
            __builtin_trap();
        return;
    }
    if (err != NULL || mask == 0 || (mask & ~SEG_TLS_ALL) != 0
        || !seg_methods_check(mask, NULL))
        __builtin_trap();
    reparse(seg_methods_parse_value, seg_methods_value(mask), mask);
    reparse(seg_methods_parse_value, seg_methods_token(mask), mask);
    reparse(seg_methods_parse_menu, seg_methods_menu_default(mask), mask);
    g_free(seg_methods_human(mask));
}

/* LLVMFuzzerTestOneInput - one line of user input */
int LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    g_autofree char *input = g_strndup((const char *) data, size);

    {
        g_autoptr(GError) err = NULL;
        unsigned mask = 0;
        gboolean ok = seg_methods_parse_menu(input, &mask, &err);

        check(ok, mask, err);
    }
    {
        g_autoptr(GError) err = NULL;
        unsigned mask = 0;
        gboolean ok = seg_methods_parse_value(input, &mask, &err);

        check(ok, mask, err);
    }
    return 0;
}
