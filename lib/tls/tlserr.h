/*
 * tlserr - the one reader of OpenSSL's error queue, GLib-free.
 *
 * Every record and message that reports an OpenSSL failure takes it
 * from here: the standalone servers and client, the probes, the apply
 * checks and the nginx module (which compiles this file, as it does
 * recfmt.c). The Postfix log parser reads the same errors from the
 * lines Postfix writes (pflog_field.c) and takes the same one.
 *
 * Which error: OpenSSL 3 puts on the queue, for a failed handshake, the
 * SSL library's reason last, after the lower-level errors that led to
 * it (a bad record MAC in TLS 1.2: "error:1C800066:Provider
 * routines::cipher operation failed", then "error:0A000119:SSL
 * routines::decryption failed or bad record mac"). The gateway's
 * records show the SSL library's reason (SPEC section 6), so the last
 * error is the one. Call seg_tlserr_clear() before each TLS operation
 * whose failure will be read, so that nothing older is taken for it.
 *
 * The tuple of a record is "(CODE, 'STRING')": the packed code in
 * decimal and ERR_error_string_n()'s text, which for OpenSSL 3 has no
 * function name and no file:line ("error:0A000102:SSL
 * routines::unsupported protocol").
 */
#ifndef SEGTLS_TLSERR_H
#define SEGTLS_TLSERR_H

#include <stddef.h>

#define SEG_TLSERR_TEXT_MAX     256     /* room for an error string */
#define SEG_TLSERR_TUPLE_MAX    (SEG_TLSERR_TEXT_MAX + 32)
#define SEG_TLSERR_KEEP         1       /* seg_tlserr_read: leave the queue as it is */

/* seg_tlserr_clear - empty this thread's error queue (before a TLS operation) */
void seg_tlserr_clear(void);
/*
 * seg_tlserr_read - the error of the failed operation: the last on this
 * thread's queue, its string in text (size bytes; may be NULL); 0 and
 * "" when the queue is empty. The queue is cleared unless flags has
 * SEG_TLSERR_KEEP (the nginx module leaves it to nginx).
 */
unsigned long seg_tlserr_read(char *text, size_t size, int flags);
/* seg_tlserr_tuple - "(CODE, 'STRING')" of code (its string when text is NULL); length */
size_t  seg_tlserr_tuple(unsigned long code, const char *text, char *buf, size_t size);

#endif
