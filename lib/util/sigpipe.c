/*
 * sigpipe - SIGPIPE ignored in every segtls program that writes to sockets.
 *
 * OpenSSL writes through plain write(2) (the socket BIO cannot pass
 * MSG_NOSIGNAL), and so do libmilter and stdio. A peer that resets a
 * connection, say in the middle of a probe's handshake, would make the
 * next write raise SIGPIPE, whose default action ends the process: a
 * segtls-apply killed that way never puts the previous configuration
 * back. With the signal ignored the write fails with EPIPE and the
 * caller handles it like any other I/O error.
 */
#include <signal.h>
#include <string.h>

#include "sigpipe.h"

/* set_sigpipe - one disposition for SIGPIPE */
static void set_sigpipe(void (*handler) (int))
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    (void) sigaction(SIGPIPE, &sa, NULL);
}

/* seg_ignore_sigpipe - EPIPE instead of death */
void seg_ignore_sigpipe(void)
{
    set_sigpipe(SIG_IGN);
}

/* seg_default_sigpipe - the default action again (in a child before exec) */
void seg_default_sigpipe(void)
{
    set_sigpipe(SIG_DFL);
}
