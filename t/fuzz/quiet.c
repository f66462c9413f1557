/*
 * quiet - msg_info() and friends for fuzz targets linked with
 * -Wl,--wrap=msg_info etc.: each message is still formatted, so a bad
 * argument is seen by the sanitizers, but nothing is printed.
 */
#include <stdarg.h>

#include <glib.h>

void __wrap_msg_info(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void __wrap_msg_warn(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void __wrap_msg_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void __wrap_msg_debug(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/* quiet - format a message and drop it */
G_GNUC_PRINTF(1, 0)
static void quiet(const char *fmt, va_list ap)
{
    g_free(g_strdup_vprintf(fmt, ap));
}

#define QUIET_WRAPPER(name) \
    void name(const char *fmt, ...) \
    { \
        va_list ap; \
        va_start(ap, fmt); \
        quiet(fmt, ap); \
        va_end(ap); \
    }
QUIET_WRAPPER(__wrap_msg_info)
QUIET_WRAPPER(__wrap_msg_warn)
QUIET_WRAPPER(__wrap_msg_error)
QUIET_WRAPPER(__wrap_msg_debug)
