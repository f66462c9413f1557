/*
 * tlsmode - the names of the TLS modes (settings.h): "no", "preferred",
 * "required", "preferred-verify", "required-verify". Their own file, so
 * that the settings and the Destination Controls (destctl.c), which hold
 * each other, both read them without a circle between the two.
 */
#include <glib.h>

#include "settings.h"

/* TLS mode names, in seg_tls_mode order. */
static const char *const mode_names[] = {
    "no", "preferred", "required", "preferred-verify", "required-verify",
};
#define MODES_INBOUND   3       /* the first three */

/* seg_tls_mode_name - canonical mode name */
const char *seg_tls_mode_name(seg_tls_mode mode)
{
    g_return_val_if_fail(mode < G_N_ELEMENTS(mode_names), NULL);
    return mode_names[mode];
}

/* seg_tls_mode_parse - mode by name; inbound knows the first three */
gboolean seg_tls_mode_parse(const char *name, gboolean outbound,
                            seg_tls_mode *mode)
{
    guint n = outbound ? G_N_ELEMENTS(mode_names) : MODES_INBOUND;

    for (guint i = 0; name && i < n; i++) {
        if (g_ascii_strcasecmp(name, mode_names[i]) == 0) {
            *mode = (seg_tls_mode) i;
            return TRUE;
        }
    }
    return FALSE;
}
