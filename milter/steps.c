/*
 * steps - the milter protocol segtls-milter negotiates with Postfix,
 * and libmilter's threads as it runs them.
 *
 * Which stages Postfix sends (SMFIP_NO*), which of them it sends without
 * waiting for a reply (SMFIP_NR_*), and the macros it sends with each
 * (smfi_setsymlist). filter.c has the callbacks of these stages; the
 * benchmark's null filter (t/bench/nullmilter.c) negotiates the same
 * through this file and does nothing, so that make bench can tell the
 * cost of the protocol from the cost of segtls's callbacks.
 *
 * Ask only for what makes records; no actions, few replies, few macros.
 *
 * Stages. Postfix sends CONNECT, MAIL, RCPT and end-of-message (and
 * DATA on a TCP socket, below); HELO, headers, end of headers, body and
 * unknown commands are declined (SMFIP_NO*): nothing there makes a
 * record (the TLS protocol and cipher of the HELO after STARTTLS are
 * still Postfix's values at MAIL). MAIL and RCPT only ever continue, so
 * they are sent without waiting for a reply (SMFIP_NR_*, milter protocol
 * 6): Postfix keeps them in its output buffer and sends them in one write
 * at DATA, when smtpd hands the milter socket to cleanup (which sends
 * end-of-message). That is early enough: the queue id is bound at
 * end-of-message, and first needed by the log follower for the delivery,
 * after it. Connect does wait for its reply: the follower must know the
 * connection (smtpd pid, client address:port) before smtpd logs its TLS
 * handshake and its first queue id; libmilter reads the CONNECT that
 * follows the OPTNEG reply in the same thread wakeup, so a reply-less
 * connect would save no wakeup here.
 *
 * On a TCP socket DATA gets a reply too (tcp): Postfix does not turn off
 * Nagle on its milter socket, and our kernel delays its ACK of a write
 * that gets no reply; cleanup's end-of-message, a small write behind
 * that unacknowledged one, then waited for the delayed ACK (about 40 ms
 * per message; under load a third of the CPU sat idle). The DATA reply
 * carries the ACK and costs no extra wakeup: MAIL to DATA still arrive
 * in one write. A unix socket has no Nagle and no ACKs: there smtpd does
 * not wait at DATA.
 *
 * Macros, by the record that reads them (filter.c):
 *
 *   New SMTP ICID   v (smtpd's pid: milter_macro_v must carry
 *                   smtpd-pid=$process_id; the follower finds the
 *                   connection's log lines by it), {daemon_addr}
 *                   (the interface holding it), {client_addr} and
 *                   {client_port} (only when the connect has no IP
 *                   address), {client_name}, {client_ptr} and
 *                   {client_resolve} (reverse dns host, verified)
 *   TLS success     {tls_version} {cipher}, at MAIL
 *   (the follower)  i, at end-of-message: the queue id of the delivery
 *                   records
 *
 * Postfix sends each stage's macros even for a declined stage, and the
 * list of main.cf's milter_*_macros for a stage the filter asked no list
 * for; a stage that needs none asks for a name Postfix never defines
 * (NO_MACROS), so that Postfix evaluates and sends nothing there. With
 * these lists main.cf's milter_*_macros do not matter to segtls-milter
 * (other milters of the same smtpd have their own lists).
 *
 * libmilter offers the NR flags even to an MTA without them and then
 * sends the CONTINUE itself.
 */
#include <pthread.h>

#include "steps.h"

#define THREAD_STACK    (512 * 1024)    /* see mt_steps_threads() */

/* the stages whose callbacks answer SMFIS_NOREPLY */
#define NOREPLY_NEEDED  (SMFIP_NR_MAIL | SMFIP_NR_RCPT)
/* a macro Postfix never defines: a stage with this list gets no macros */
#define NO_MACROS       "{segtls_no_macros}"

/* the macros of each stage (see above for the record that reads each) */
static const struct {
    int         stage;
    const char *list;
} symlists[] = {
    {SMFIM_CONNECT, "v {daemon_addr} {client_addr} {client_port} {client_name} "
     "{client_ptr} {client_resolve}"},
    {SMFIM_HELO, NO_MACROS},
    {SMFIM_ENVFROM, "{tls_version} {cipher}"},
    {SMFIM_ENVRCPT, NO_MACROS},
    {SMFIM_DATA, NO_MACROS},
    {SMFIM_EOM, "i"},
    {SMFIM_EOH, NO_MACROS},
};

/*
 * mt_steps_negotiate - the xxfi_negotiate answer for Postfix's offer f1
 * on a TCP (tcp) or unix socket; TRUE when the stages are sent without
 * waiting for a reply (the callbacks must then answer SMFIS_NOREPLY)
 */
gboolean mt_steps_negotiate(SMFICTX *ctx, gboolean tcp, unsigned long f1,
                            unsigned long *pf0, unsigned long *pf1,
                            unsigned long *pf2, unsigned long *pf3)
{
    const unsigned long skip = SMFIP_NOHELO | SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NOBODY
        | SMFIP_NOUNKNOWN | (tcp ? 0 : SMFIP_NODATA);
    gboolean nr = (f1 & NOREPLY_NEEDED) == NOREPLY_NEEDED;

    *pf0 = 0;
    *pf1 = f1 & (skip | (nr ? NOREPLY_NEEDED : 0));
    *pf2 = *pf3 = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(symlists); i++)
        smfi_setsymlist(ctx, symlists[i].stage, (char *) symlists[i].list);
    return nr;
}

/*
 * mt_steps_threads - threads with 512 kB stacks instead of RLIMIT_STACK's 8 MB
 *
 * libmilter starts its threads with default attributes, and starts
 * many: Debian's is built with its worker pool, which grows and shrinks
 * with the load (about one new thread per smtpd connection under load).
 * glibc keeps the stacks of ended threads for reuse, but only up to
 * 40 MB of them: with 8 MB stacks a busy milter maps, guards, faults in
 * and unmaps a fresh stack for most new threads. The deepest frames
 * in segtls-milter (a 64 kB read buffer in the follower, a few
 * record-line buffers in a callback) fit 512 kB many times over.
 */
void mt_steps_threads(void)
{
    pthread_attr_t attr;

    if (pthread_getattr_default_np(&attr) != 0)
        return;
    if (pthread_attr_setstacksize(&attr, THREAD_STACK) == 0)
        (void) pthread_setattr_default_np(&attr);
    pthread_attr_destroy(&attr);
}
