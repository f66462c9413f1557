/*
 * fuzz_relabel - libFuzzer target: segtls-milter's log relabeller
 * (milter/relabel.c: mt_relabel_line, on top of the pflog parser and the
 * correlation tables of milter/correlate.c).
 *
 * The input is split into lines as in fuzz_pflog; each goes through one
 * mt_relabel, then a tick far in the future ends every delivery and
 * sweeps the tables. The correlation state is set up afresh for every
 * input (IDs in memory, records to a file in a private temporary
 * directory, emptied each time), so a crash reproduces from the input
 * alone. Linked with quiet.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "milter.h"

#define FAR_FUTURE  1893456000      /* 2030-01-01 */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

static char *top_dir;           /* private temporary directory */
static char *record_path;       /* TOP/mail_logs */

/* at_end - remove the temporary directory */
static void at_end(void)
{
    (void) unlink(record_path);
    (void) rmdir(top_dir);
}

/* LLVMFuzzerInitialize - make the private temporary directory */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm"
        : g_get_tmp_dir();
    g_autofree char *tmpl = g_build_filename(base, "segtls-fuzz-relabel.XXXXXX",
                                             NULL);

    top_dir = g_mkdtemp(g_steal_pointer(&tmpl));
    if (top_dir == NULL) {
        perror("fuzz_relabel: mkdtemp");
        exit(1);
    }
    record_path = g_build_filename(top_dir, "mail_logs", NULL);
    atexit(at_end);
    return 0;
}

/* LLVMFuzzerTestOneInput - one log file */
int LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    const char *p = (const char *) data;
    const char *end = p + size;
    g_autoptr(GError) err = NULL;
    mt_relabel *r;

    (void) unlink(record_path);
    if (!mt_init(NULL, record_path, 0, &err))
        g_error("fuzz_relabel: %s", err->message);
    /* an odd size: log only (segtls-milter --no-milter) */
    r = mt_relabel_new(size % 2 == 1, NULL);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t) (end - p));
        size_t  len = nl ? (size_t) (nl - p) + 1 : (size_t) (end - p);
        g_autofree char *line = g_memdup2(p, len);

        mt_relabel_line(r, line, len);
        p += len;
    }
    mt_relabel_tick(r, FAR_FUTURE);
    mt_relabel_free(r);
    mt_shutdown();
    return 0;
}
