/*
 * fuzz_keyfile - libFuzzer target: the settings key file (lib/policy/store.h).
 *
 * The input is the text of segtls.conf. It is parsed as the committed
 * file is (seg_settings_from_keyfile) and as a rollback file is (extra
 * group [rollback]). When it is accepted, the settings must survive a
 * round trip: written back with seg_settings_to_keyfile(), the text must
 * parse again to equal settings. Every error must be one line.
 */
#include <string.h>

#include "store.h"

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

/* check_error - a refusal always says why, on one line */
static void check_error(const seg_settings *s, const GError *err)
{
    if ((s == NULL) != (err != NULL))
        __builtin_trap();
    if (err != NULL && (err->message[0] == '\0' || strchr(err->message, '\n')))
        __builtin_trap();
}

/* round_trip - serialise and parse again: same settings */
static void round_trip(const seg_settings *s)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(seg_settings) again = NULL;
    g_autofree char *text = NULL;
    gsize   len = 0;

    text = seg_settings_to_keyfile(s, &len);
    again = seg_settings_from_keyfile(text, len, "round-trip.conf", &err);
    if (again == NULL || !seg_settings_equal(s, again))
        __builtin_trap();
}

/* LLVMFuzzerTestOneInput - one key file */
int LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    const char *text = (const char *) data;

    {
        g_autoptr(GError) err = NULL;
        g_autoptr(seg_settings) s =
            seg_settings_from_keyfile(text, size, "fuzz.conf", &err);

        check_error(s, err);
        if (s != NULL)
            round_trip(s);
    }
    {
        g_autoptr(GError) err = NULL;
        g_autoptr(GKeyFile) kf = NULL;
        g_autoptr(seg_settings) s =
            seg_settings_from_keyfile_full(text, size, "fuzz.conf", "rollback",
                                           &kf, &err);

        check_error(s, err);
        if ((s != NULL) != (kf != NULL))
            __builtin_trap();
    }
    return 0;
}
