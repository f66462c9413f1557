/*
 * fuzz_pflog - libFuzzer target: the Postfix log parser (lib/records/pflog.h).
 *
 * The input is split into lines and fed through one parser instance, as
 * segtls-logparse does with a log file, then the parser is flushed.
 * Every record must be valid UTF-8 without control characters. Each
 * line is copied into a buffer of exactly its length, so that a read past
 * the len bytes the parser was given is caught by ASan.
 */
#include <string.h>

#include "pflog.h"

/* emit - read every byte of a record, check it is one clean line */
static void emit(void *ctx, time_t when, seg_record_level level,
                 const char *text, size_t len)
{
    guint64 *records = ctx;

    if (level >= SEG_RECORD_NLEVELS || !g_utf8_validate(text, (gssize) len, NULL))
        __builtin_trap();
    for (const char *s = text; s < text + len; s = g_utf8_next_char(s)) {
        gunichar c = g_utf8_get_char(s);

        /* no control character, line separator or bidi control (seg_recfmt_clean) */
        if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029
            || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069))
            __builtin_trap();
    }
    (*records)++;
}

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

/* LLVMFuzzerTestOneInput - one log file */
int LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    const char *p = (const char *) data;
    const char *end = p + size;
    g_autoptr(seg_ids) ids = seg_ids_open(NULL, NULL);
    guint64 records = 0;
    seg_pflog *pf;
    seg_pflog_stats st;

    pf = seg_pflog_new(ids, emit, &records);
    seg_pflog_set_year(pf, 2026);
    while (p < end) {
        const char *nl = memchr(p, '\n', end - p);
        size_t  len = nl ? (size_t) (nl - p) + 1 : (size_t) (end - p);
        g_autofree char *line = g_memdup2(p, len);

        seg_pflog_line(pf, line, len);
        p += len;
    }
    seg_pflog_flush(pf);
    seg_pflog_get_stats(pf, &st);
    if (st.records != records || st.used + st.skipped != st.lines)
        __builtin_trap();
    seg_pflog_free(pf);
    return 0;
}
