/*
 * destwatch - a settings file's Destination Controls, read again when the
 * file changes (destwatch.h).
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "destctl.h"
#include "destwatch.h"
#include "error.h"
#include "keyfile.h"
#include "msg.h"
#include "settings.h"

struct seg_destwatch {
    char       *path;
    seg_settings *settings;     /* the last good one */
    struct stat st;             /* of the file when last read */
};

/* load - read the file; FALSE with error (the settings kept) */
static gboolean load(seg_destwatch *w, GError **error)
{
    g_autofree char *text = NULL;
    seg_settings *s;
    gsize   len;

    if (!g_file_get_contents(w->path, &text, &len, error))
        return FALSE;
    if ((s = seg_settings_from_keyfile(text, len, w->path, error)) == NULL)
        return FALSE;
    seg_settings_free(w->settings);
    w->settings = s;
    return TRUE;
}

/* seg_destwatch_new - watch a settings file */
seg_destwatch *seg_destwatch_new(const char *path, GError **error)
{
    seg_destwatch *w = g_new0(seg_destwatch, 1);
    GError *err = NULL;

    w->path = g_strdup(path);
    w->settings = seg_settings_new_default();
    if (stat(path, &w->st) < 0 && errno == ENOENT)
        return w;
    if (!load(w, &err)) {
        g_propagate_error(error, err);
        seg_destwatch_free(w);
        return NULL;
    }
    return w;
}

/* seg_destwatch_free - release */
void seg_destwatch_free(seg_destwatch *w)
{
    if (w == NULL)
        return;
    seg_settings_free(w->settings);
    g_free(w->path);
    g_free(w);
}

/* seg_destwatch_lookup - the entry of a logged domain, from the file now */
const char *seg_destwatch_lookup(void *watch, const char *domain, size_t len,
                                 const char **mode)
{
    seg_destwatch *w = watch;
    g_autoptr(GError) err = NULL;
    struct stat st;

    if (stat(w->path, &st) == 0
        && (st.st_ino != w->st.st_ino || st.st_size != w->st.st_size
            || st.st_mtim.tv_sec != w->st.st_mtim.tv_sec
            || st.st_mtim.tv_nsec != w->st.st_mtim.tv_nsec)) {
        w->st = st;
        if (!load(w, &err))
            msg_warn("%s; the Destination Controls read before stay in force", err->message);
    }
    return seg_destctl_dest_lookup(w->settings, domain, len, mode);
}
