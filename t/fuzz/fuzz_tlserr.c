/*
 * fuzz_tlserr - libFuzzer target: the OpenSSL error-tuple parser
 * seg_pflog_tls_error() ("error:0A000102:...:file:line:" -> code, text).
 */
#include <string.h>

#include "pflog.h"

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

/* LLVMFuzzerTestOneInput - one error text, not NUL-terminated */
int LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    unsigned long code = 0;
    size_t  n = 0;

    if (seg_pflog_tls_error((const char *) data, size, &code, &n)) {
        /* the kept text lies within the input and starts "error:" */
        if (n > size || n < 6 || memcmp(data, "error:", 6) != 0)
            __builtin_trap();
        if (code > 0xffffffffUL)
            __builtin_trap();
    }
    return 0;
}
