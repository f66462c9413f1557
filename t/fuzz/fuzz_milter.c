/*
 * fuzz_milter - libFuzzer target: segtls-milter's parsers of untrusted
 * macro values (milter/macros.c).
 *
 * The input is split at NUL bytes into values, as libmilter hands them
 * over (C strings); each is copied into a buffer of exactly its length
 * plus the NUL and goes through every parser: seg_record_field, the
 * record writer's cleaner the milter uses (one word or not, into a small
 * and a record-sized buffer), mt_envelope, mt_smtpd_pid_of and
 * mt_qid_ok. The results are checked against what filter.c relies on:
 * valid UTF-8 without control characters within the buffer, pid in range.
 */
#include <string.h>

#include "milter.h"
#include "record.h"

#define PID_LIMIT       (1L << 22)

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

/* printable - s is valid UTF-8 without control characters (or spaces unless spaces) */
static void printable(const char *s, gboolean spaces)
{
    if (!g_utf8_validate(s, -1, NULL))
        __builtin_trap();
    for (; *s; s = g_utf8_next_char(s)) {
        gunichar c = g_utf8_get_char(s);

        if (c < (spaces ? 0x20u : 0x21u) || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029
            || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069))
            __builtin_trap();
    }
}

/* clean_check - seg_record_field into a buffer of size bytes */
static void clean_check(const char *v, size_t size, gboolean spaces)
{
    char   *buf = g_malloc(size);
    const char *out = seg_record_field(v, buf, size, !spaces);

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
    char    env[MT_ADDR_MAX];
    size_t  en = mt_envelope(v, env, sizeof(env));
    long    pid = mt_smtpd_pid_of(v);

    clean_check(v, 1, FALSE);
    clean_check(v, 16, FALSE);
    clean_check(v, 256, TRUE);
    printable(env, TRUE);
    if (en != strlen(env) || en >= MT_ADDR_MAX)
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
    char    none[8];

    if (mt_envelope(NULL, none, sizeof(none)) != 0 || *none || mt_smtpd_pid_of(NULL) != 0
        || mt_qid_ok(NULL))
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
