/*
 * steps - the milter protocol segtls-milter speaks (steps.c): the stages
 * Postfix sends, those it sends without waiting for a reply, and the
 * macros of each stage; the stack size of libmilter's threads. Shared with the benchmark's null filter
 * (t/bench/nullmilter.c), which negotiates exactly this and does nothing.
 */
#ifndef SEGTLS_MILTER_STEPS_H
#define SEGTLS_MILTER_STEPS_H

#include <glib.h>
#include <libmilter/mfapi.h>

gboolean mt_steps_negotiate(SMFICTX *ctx, gboolean tcp, unsigned long f1,
                            unsigned long *pf0, unsigned long *pf1,
                            unsigned long *pf2, unsigned long *pf3);
void    mt_steps_threads(void);

#endif
