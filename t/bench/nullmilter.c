/*
 * bench-nullmilter - libmilter filters that do nothing: the floor that
 * make bench measures segtls-milter against (t/bench/milter.sh).
 *
 *   bench-nullmilter [--minimal] -s SPEC
 *
 * Default (null): the protocol segtls-milter negotiates, from the same
 * code (milter/steps.c: the same stages, the same stages without a
 * reply, the same macro lists), with callbacks that only answer. What
 * segtls-milter costs beyond it is what its own callbacks and its log
 * follower cost.
 *
 * --minimal: what any libmilter filter costs: only xxfi_connect and
 * xxfi_eom. Every other stage is declined (SMFIP_NO*, so Postfix does
 * not send it) and every stage's macro list names no macro Postfix
 * defines, so Postfix sends none (with no list of the filter's own it
 * would send main.cf's milter_*_macros).
 *
 * Its threads get segtls-milter's stack size (mt_steps_threads), so
 * that only the callbacks differ.
 *
 * SPEC is unix:PATH (made mode 0666: smtpd connects as postfix) or
 * inet:PORT@ADDR. Runs until SIGTERM or SIGINT.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "steps.h"

#define NO_MACRO    "{bench-none}"

static int minimal;
static int tcp;
static char noreply_mark;       /* private data: the stages get no reply */

/* go - the answer of a stage Postfix may send without waiting for it */
static sfsistat go(SMFICTX *ctx)
{
    return smfi_getpriv(ctx) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* null_negotiate - segtls-milter's protocol (milter/steps.c) */
static sfsistat null_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
                               unsigned long f2, unsigned long f3, unsigned long *pf0,
                               unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
    if (mt_steps_negotiate(ctx, tcp, f1, pf0, pf1, pf2, pf3))
        smfi_setpriv(ctx, &noreply_mark);
    return SMFIS_CONTINUE;
}

/* min_negotiate - connect and end of message only, no macros */
static sfsistat min_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
                              unsigned long f2, unsigned long f3, unsigned long *pf0,
                              unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
    *pf0 = 0;
    *pf1 = f1 & (SMFIP_NOHELO | SMFIP_NOMAIL | SMFIP_NORCPT | SMFIP_NODATA | SMFIP_NOHDRS
                 | SMFIP_NOEOH | SMFIP_NOBODY | SMFIP_NOUNKNOWN);
    *pf2 = *pf3 = 0;
    for (int m = SMFIM_CONNECT; m <= SMFIM_EOH; m++)
        smfi_setsymlist(ctx, m, NO_MACRO);
    return SMFIS_CONTINUE;
}

/* on_connect - answer */
static sfsistat on_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
    return SMFIS_CONTINUE;
}

/* on_helo - answer (if a reply is expected) */
static sfsistat on_helo(SMFICTX *ctx, char *helo)
{
    return go(ctx);
}

/* on_envfrom - answer (if a reply is expected) */
static sfsistat on_envfrom(SMFICTX *ctx, char **argv)
{
    return go(ctx);
}

/* on_envrcpt - answer (if a reply is expected) */
static sfsistat on_envrcpt(SMFICTX *ctx, char **argv)
{
    return go(ctx);
}

/* on_data - answer (if a reply is expected) */
static sfsistat on_data(SMFICTX *ctx)
{
    return go(ctx);
}

/* on_eom - accept */
static sfsistat on_eom(SMFICTX *ctx)
{
    return SMFIS_ACCEPT;
}

/* on_abort - nothing to forget */
static sfsistat on_abort(SMFICTX *ctx)
{
    return SMFIS_CONTINUE;
}

/* on_close - no private data left behind (libmilter warns otherwise) */
static sfsistat on_close(SMFICTX *ctx)
{
    smfi_setpriv(ctx, NULL);
    return SMFIS_CONTINUE;
}

/* usage - the synopsis, exit 2 */
static int usage(void)
{
    fprintf(stderr, "usage: bench-nullmilter [--minimal] -s unix:PATH|inet:PORT@ADDR\n");
    return 2;
}

/* main - the filter of the options, until SIGTERM */
int main(int argc, char **argv)
{
    struct smfiDesc null_desc = {
        .xxfi_name = "bench-null",
        .xxfi_version = SMFI_VERSION,
        .xxfi_connect = on_connect,
        .xxfi_helo = on_helo,
        .xxfi_envfrom = on_envfrom,
        .xxfi_envrcpt = on_envrcpt,
        .xxfi_data = on_data,
        .xxfi_eom = on_eom,
        .xxfi_abort = on_abort,
        .xxfi_close = on_close,
        .xxfi_negotiate = null_negotiate,
    };
    struct smfiDesc min_desc = {
        .xxfi_name = "bench-minimal",
        .xxfi_version = SMFI_VERSION,
        .xxfi_connect = on_connect,
        .xxfi_eom = on_eom,
        .xxfi_negotiate = min_negotiate,
    };
    const char *spec = NULL;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--minimal") == 0)
            minimal = 1;
        else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
            spec = argv[++i];
        else
            return usage();
    }
    if (spec == NULL)
        return usage();
    tcp = strncmp(spec, "inet", 4) == 0;
    if (strncmp(spec, "unix:", 5) == 0)
        unlink(spec + 5);
    umask(0);
    mt_steps_threads();
    if (smfi_register(minimal ? min_desc : null_desc) == MI_FAILURE
        || smfi_setconn((char *) spec) == MI_FAILURE || smfi_opensocket(1) == MI_FAILURE) {
        fprintf(stderr, "bench-nullmilter: cannot listen on %s\n", spec);
        return 1;
    }
    fprintf(stderr, "bench-nullmilter: %s filter on %s\n", minimal ? "minimal" : "null", spec);
    return smfi_main() == MI_SUCCESS ? 0 : 1;
}
