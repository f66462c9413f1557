/*
 * sigpipe - no program of segtls dies of a peer that went away.
 */
#ifndef SEGTLS_SIGPIPE_H
#define SEGTLS_SIGPIPE_H

/*
 * seg_ignore_sigpipe - ignore SIGPIPE for the whole process: a write to a
 * socket or pipe whose peer has gone fails with EPIPE instead of killing
 * the process. Every program that writes to sockets calls it first.
 */
void seg_ignore_sigpipe(void);

/*
 * seg_default_sigpipe - SIGPIPE back to its default; for a child between
 * fork and exec (async-signal-safe), so that the programs segtls runs
 * (postconf, postfix, nginx) get the disposition they expect.
 */
void seg_default_sigpipe(void);

#endif
