/*
 * fuzz_milter - libFuzzer target: segtls-milter's parsers of untrusted
 * macro values (milter/macros.c).
 *
 * The input is split at NUL bytes into values, as libmilter hands them
 * over (C strings); each is copied into a buffer of exactly its length
 * plus the NUL and goes through every parser: mt_clean (with and without
 * spaces, into a small and a record-sized buffer), mt_envelope,
 * mt_smtpd_pid_of and mt_qid_ok. The results are checked against what
 * filter.c relies on: printable output within the buffer, pid in range.
 */
#include <string.h>

#include "milter.h"

#define PID_LIMIT       (1L << 22)

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

/* printable - every byte of s is printable ASCII (space if spaces) */
static void printable(const char *s, gboolean spaces)
{
    for (; *s; s++)
        if ((unsigned char) *s < (spaces ? 0x20 : 0x21) || (unsigned char) *s > 0x7e)
            __builtin_trap();
}

/* clean_check - mt_clean into a buffer of size bytes */
static void clean_check(const char *v, size_t size, gboolean spaces)
{
    char   *buf = g_malloc(size);
    const char *out = mt_clean(v, buf, size, spaces);

    if (*v == 0 ? strcmp(out, "unknown") != 0 : out != buf)
        __builtin_trap();
    if (strlen(out) >= size && out == buf)
        __builtin_trap();
    printable(out, spaces);
    g_free(buf);
}

/* one_value - every parser on one C string */
static void one_value(const char *v)
{
    g_autofree char *env = mt_envelope(v);
    long    pid = mt_smtpd_pid_of(v);

    clean_check(v, 1, FALSE);
    clean_check(v, 16, FALSE);
    clean_check(v, 256, TRUE);
    printable(env, TRUE);
    if (strlen(env) >= 512)
        __builtin_trap();
    if (pid < 0 || pid >= PID_LIMIT || (pid && strstr(v, "smtpd-pid=") == NULL))
        __builtin_trap();
    if (mt_qid_ok(v) && (strlen(v) < 5 || strlen(v) > 32))
        __builtin_trap();
}

/* LLVMFuzzerTestOneInput - NUL-separated macro values */
int LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    const char *p = (const char *) data;
    const char *end = p + size;
    g_autofree char *none = mt_envelope(NULL);

    if (*none || mt_smtpd_pid_of(NULL) != 0 || mt_qid_ok(NULL))
        __builtin_trap();
    for (;;) {
        const char *nul = memchr(p, 0, (size_t) (end - p));
        size_t  len = nul ? (size_t) (nul - p) : (size_t) (end - p);
        g_autofree char *v = g_strndup(p, len);

        one_value(v);
        if (nul == NULL)
            break;
        p = nul + 1;
    }
    return 0;
}
