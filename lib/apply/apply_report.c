/*
 * apply_report - what an apply says: the lines of what was done, the
 * usable-cipher warnings and the renderers' notices (seg_apply_report).
 */
#include <stdarg.h>

#include "apply_int.h"

/* seg_apply_report_new - an empty report */
seg_apply_report *seg_apply_report_new(void)
{
    seg_apply_report *rep = g_new0(seg_apply_report, 1);

    rep->warnings = g_ptr_array_new_with_free_func(g_free);
    rep->notices = g_ptr_array_new_with_free_func(g_free);
    rep->lines = g_ptr_array_new_with_free_func(g_free);
    return rep;
}

/* seg_apply_report_free - release a report */
void seg_apply_report_free(seg_apply_report *rep)
{
    if (rep == NULL)
        return;
    g_ptr_array_unref(rep->warnings);
    g_ptr_array_unref(rep->notices);
    g_ptr_array_unref(rep->lines);
    g_free(rep->diff);
    g_free(rep);
}

/* apply_say - one line of what was done */
G_GNUC_PRINTF(2, 3)
void apply_say(apply_ctx *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_ptr_array_add(c->rep->lines, g_strdup_vprintf(fmt, ap));
    va_end(ap);
}
