/*
 * fuzz_guirec - libFuzzer target: the gui_logs lines of the web UI
 * (lib/guirec.c), whose fields are what clients send (path, user agent,
 * user name, comment).
 *
 * The input is split at NUL bytes into the fields of one record; its
 * first byte picks the shape and the status. Whatever comes in, the
 * record must be one line of printable ASCII that fits the buffer, and
 * the fields before the last must hold no space (they are split on
 * spaces by log tooling).
 */
#include <string.h>
#include <glib.h>

#include "guirec.h"

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

/* LLVMFuzzerTestOneInput - one record from the bytes */
int LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) f = NULL;
    const char *field[8] = {NULL};
    char    buf[SEG_GUIREC_MAX];
    seg_guirec r = {0};
    size_t  n, i;

    if (size < 1)
        return 0;
    r.kind = (seg_guirec_kind) (data[0] % (SEG_GUIREC_NKINDS + 1));
    r.status = data[0] * 7;
    text = g_strndup((const char *) data + 1, size - 1);    /* up to the first NUL */
    f = g_strsplit(text, "\x01", 8);
    for (i = 0; i < 8 && f[i] != NULL; i++)
        field[i] = f[i];
    r.ip = field[0];
    r.user = field[1];
    r.session = field[2];
    r.role = field[3];
    r.method = field[4];
    r.path = field[5];
    r.agent = field[6];
    r.text = field[7];
    n = seg_guirec_format(&r, buf, sizeof(buf));
    if (r.kind == SEG_GUIREC_NKINDS) {
        if (n != 0)
            __builtin_trap();
        return 0;
    }
    if (n >= sizeof(buf) || n != strlen(buf))
        __builtin_trap();
    for (i = 0; i < n; i++)
        if ((unsigned char) buf[i] < 0x20 || (unsigned char) buf[i] > 0x7e)
            __builtin_trap();
    if (r.kind == SEG_GUIREC_REQUEST) {
        /* req:IP user:U id:S STATUS METHOD PATH HTTP/1.1 AGENT: 8 fields before the agent */
        g_auto(GStrv) w = g_strsplit(buf, " ", 9);

        if (g_strv_length(w) >= 8 && strcmp(w[6], "HTTP/1.1") != 0)
            __builtin_trap();
    }
    return 0;
}
