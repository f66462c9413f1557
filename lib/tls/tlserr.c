/*
 * tlserr - read the OpenSSL error of a failed operation and format the
 * gateway's error tuple. Plain C and OpenSSL (no GLib): the nginx module
 * compiles this file too. See tlserr.h for which error and why.
 */
#include <stdio.h>
#include <openssl/err.h>

#include "tlserr.h"

/* seg_tlserr_clear - empty this thread's error queue (before a TLS operation) */
void seg_tlserr_clear(void)
{
    ERR_clear_error();
}

/* seg_tlserr_read - the last error on the queue and its string; cleared unless KEEP */
unsigned long seg_tlserr_read(char *text, size_t size, int flags)
{
    unsigned long code = ERR_peek_last_error();

    if (text && size) {
        text[0] = 0;
        if (code)
            ERR_error_string_n(code, text, size);
    }
    if (!(flags & SEG_TLSERR_KEEP))
        ERR_clear_error();
    return code;
}

/* seg_tlserr_tuple - "(CODE, 'STRING')" of code (its string when text is NULL); length */
size_t seg_tlserr_tuple(unsigned long code, const char *text, char *buf, size_t size)
{
    char own[SEG_TLSERR_TEXT_MAX];
    int n;

    if (text == NULL) {
        ERR_error_string_n(code, own, sizeof(own));
        text = own;
    }
    n = snprintf(buf, size, "(%lu, '%s')", code, text);
    if (n < 0 || (size_t) n >= size) {
        if (size)
            buf[0] = 0;
        return 0;
    }
    return (size_t) n;
}
