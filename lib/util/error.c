/*
 * error - the GError domain of segtls.
 */
#include "error.h"

/* seg_error_quark - the domain */
GQuark seg_error_quark(void)
{
    return g_quark_from_static_string("segtls-error-quark");
}
