/*
 * fuzz_settings - libFuzzer target: setting values (lib/policy/settings.h).
 *
 * The input, cut at its first NUL, is given as the value of every
 * setting (seg_settings_set), to seg_cipher_string_check() and
 * seg_cipher_string_unknown() (each unknown word a non-empty piece of the
 * input without a separator, named once), and as a setting name. A refusal must leave the settings unchanged and say why
 * on one line; an accepted value must read back (seg_settings_get) as a
 * canonical text that is accepted again with the same result.
 */
#include <string.h>

#include "cipherstr.h"
#include "settings.h"

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

/* one_line - a non-empty one-line message */
static void one_line(const GError *err)
{
    if (err == NULL || err->message[0] == '\0' || strchr(err->message, '\n'))
        __builtin_trap();
}

/* set_one - set key to value and check the outcome */
static void set_one(seg_settings *s, const char *key, const char *value)
{
    g_autoptr(seg_settings) before = seg_settings_copy(s);
    g_autoptr(GError) err = NULL;
    g_autofree char *canon = NULL;

    if (!seg_settings_set(s, key, value, &err)) {
        one_line(err);
        if (!seg_settings_equal(s, before))
            __builtin_trap();
        return;
    }
    if (err != NULL)
        __builtin_trap();
    canon = seg_settings_get(s, key);
    if (canon == NULL)
        __builtin_trap();
    if (strcmp(canon, value) == 0)      /* already canonical: same parse */
        return;
    {
        g_autoptr(seg_settings) again = seg_settings_copy(before);
        g_autofree char *canon2 = NULL;

        if (!seg_settings_set(again, key, canon, NULL)
            || !seg_settings_equal(again, s))
            __builtin_trap();
        canon2 = seg_settings_get(again, key);
        if (strcmp(canon, canon2) != 0)
            __builtin_trap();
    }
}

/* check_unknown - the unknown words of a cipher string are pieces of it */
static void check_unknown(const char *value)
{
    g_autoptr(GPtrArray) w = seg_cipher_string_unknown(value);

    for (guint i = 0; w != NULL && i < w->len; i++) {
        const char *word = g_ptr_array_index(w, i);

        if (*word == 0 || strpbrk(word, ":, ;") || strstr(value, word) == NULL)
            __builtin_trap();
        for (guint j = 0; j < i; j++)
            if (strcmp(word, g_ptr_array_index(w, j)) == 0)
                __builtin_trap();
    }
    if (w != NULL && w->len == 0)
        __builtin_trap();
}

/* LLVMFuzzerTestOneInput - one value */
int LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    g_autofree char *value = g_strndup((const char *) data, size);
    g_autoptr(seg_settings) s = seg_settings_new_default();
    const char *const *k;

    for (k = seg_settings_keys(); *k; k++)
        set_one(s, *k, value);
    {
        g_autoptr(GError) err = NULL;

        if (!seg_cipher_string_check(value, &err))
            one_line(err);
        else if (err != NULL)
            __builtin_trap();
        check_unknown(value);
    }
    {
        g_autoptr(GError) err = NULL;

        if (seg_settings_has_key(value))
            set_one(s, value, "");
        else if (seg_settings_set(s, value, "on", &err))
            __builtin_trap();
        else
            one_line(err);
    }
    return 0;
}
