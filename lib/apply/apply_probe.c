/*
 * apply_probe - prove an applied configuration with real handshakes.
 *
 * Each managed server is probed once per TLS version (lib/tls/probe.h); the
 * versions that negotiate must be exactly the usable versions of the
 * service (usable.h), or, for Inbound SMTP with TLS off, STARTTLS must
 * not be offered at all. Renegotiation is tried at the newest usable
 * version up to TLS 1.2: Inbound SMTP must allow it exactly when
 * inbound.renegotiation is enabled; nginx never does.
 *
 * A reload takes a moment to reach every process, so the servers are
 * probed in rounds until two rounds in a row agree with the policy, or
 * until SEG_APPLY_PROBE_WAIT seconds have passed.
 */
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netdb.h>

#include "apply.h"
#include "error.h"
#include "probe.h"
#include "tlsver.h"
#include "warnings.h"

#define ROUND_PAUSE_US  (100 * 1000)

typedef struct probe_target {
    const char     *title;      /* "Inbound SMTP" */
    char           *where;      /* "127.0.0.1:20025" */
    seg_probe_opts  opts;
    char           *host;
    unsigned        expect;     /* versions that must negotiate */
    gboolean        starttls;   /* STARTTLS must be offered (SMTP) */
    gboolean        reneg;      /* renegotiation must be allowed */
} probe_target;

/* smtp_target - HOST:PORT of --probe-smtp, else of the first smtpd service */
static gboolean smtp_where(const seg_apply_opts *o, const seg_render_target *t,
                           char **host, int *port, GError **error)
{
    g_autofree char *name = NULL;
    struct servent *se;
    char   *colon;

    if (o->probe_smtp)
        return seg_probe_parse_target(o->probe_smtp, 25, host, port, error);
    name = g_strdup(t->smtpd_services[0]);
    *strrchr(name, '/') = 0;
    if ((colon = strrchr(name, ':')) != NULL) {
        if (!seg_probe_parse_target(name, 25, host, port, error))
            return FALSE;
        if (**host == 0 || strcmp(*host, "0.0.0.0") == 0) {
            g_free(*host);
            *host = g_strdup("127.0.0.1");
        }
        return TRUE;
    }
    *host = g_strdup("127.0.0.1");
    if (name[strspn(name, "0123456789")] == 0) {
        *port = atoi(name);
        return TRUE;
    }
    if ((se = getservbyname(name, "tcp")) != NULL) {
        *port = ntohs(se->s_port);
        return TRUE;
    }
    g_clear_pointer(host, g_free);
    g_set_error(error, SEG_ERROR, SEG_ERROR_APPLY,
                "cannot tell where service %s listens; use --probe-smtp",
                t->smtpd_services[0]);
    return FALSE;
}

/* versions_text - "TLS v1.0 refused, TLS v1.1 negotiated (CIPHER), ..." */
static void versions_text(GString *out, seg_probe_result *res[SEG_TLS_NVERS])
{
    for (int i = 0; i < SEG_TLS_NVERS; i++) {
        const seg_probe_result *r = res[i];

        g_string_append_printf(out, "%s%s %s", i ? ", " : "",
                               seg_tlsver_table[i].human,
                               seg_probe_status_name(r->status));
        if (r->negotiated)
            g_string_append_printf(out, " (%s)", r->cipher);
    }
}

/* probe_round - probe one target; disagreements go to why */
static void probe_round(probe_target *pt, GString *seen, GString *why)
{
    seg_probe_result *res[SEG_TLS_NVERS] = {NULL};
    unsigned got = seg_probe_all(&pt->opts, res);
    gboolean offered = TRUE;

    g_string_append_printf(seen, "%s %s: ", pt->title, pt->where);
    versions_text(seen, res);
    for (int i = 0; i < SEG_TLS_NVERS; i++) {
        const seg_probe_result *r = res[i];
        unsigned bit = seg_tlsver_table[i].bit;

        if (r->status == SEG_PROBE_NO_STARTTLS)
            offered = FALSE;
        if (r->status == SEG_PROBE_UNREACHABLE
            || r->status == SEG_PROBE_SMTP_FAILED) {
            g_string_append_printf(why, "; %s %s: %s", pt->title, pt->where,
                                   r->failure);
            break;
        }
        if (!pt->starttls)
            continue;
        if ((got & bit) && !(pt->expect & bit))
            g_string_append_printf(why, "; %s %s: %s negotiated, but the "
                                   "policy does not allow it", pt->title,
                                   pt->where, seg_tlsver_table[i].human);
        else if (!(got & bit) && (pt->expect & bit))
            g_string_append_printf(why, "; %s %s: %s did not negotiate (%s), "
                                   "but the policy allows it", pt->title,
                                   pt->where, seg_tlsver_table[i].human,
                                   r->failure ? r->failure : "?");
    }
    if (!pt->starttls && offered)
        g_string_append_printf(why, "; %s %s: STARTTLS is offered, but "
                               "inbound.tls is no", pt->title, pt->where);
    for (int i = 0; i < SEG_TLS_NVERS; i++)
        seg_probe_result_free(res[i]);

    /* renegotiation, at the newest usable version up to TLS 1.2 */
    unsigned old = got & pt->expect & (SEG_TLS_V10 | SEG_TLS_V11 | SEG_TLS_V12);

    if (pt->starttls && old) {
        gboolean allowed = FALSE;
        seg_probe_result *r = seg_probe_renegotiate(&pt->opts,
                                                    seg_methods_highest(old),
                                                    &allowed);

        g_string_append_printf(seen, "; renegotiation %s",
                               allowed ? "allowed" : "refused");
        if (r->negotiated && allowed != pt->reneg)
            g_string_append_printf(why, "; %s %s: renegotiation was %s, but "
                                   "the policy says %s", pt->title, pt->where,
                                   allowed ? "allowed" : "refused",
                                   pt->reneg ? "allow it" : "refuse it");
        seg_probe_result_free(r);
    }
    g_string_append_c(seen, '\n');
}

/* seg_apply_probe - probe until the servers agree with the policy */
gboolean seg_apply_probe(const seg_settings *s, const seg_apply_opts *o,
                         const seg_render_target *t, GPtrArray *lines,
                         GError **error)
{
    probe_target pts[2];
    guint   n = 0;
    gint64  deadline = g_get_monotonic_time()
        + (gint64) (SEG_APPLY_PROBE_WAIT * G_USEC_PER_SEC);
    g_autoptr(GString) seen = g_string_new(NULL);
    g_autoptr(GString) why = g_string_new(NULL);
    int     agreed = 0;
    gboolean ok = FALSE;

    memset(pts, 0, sizeof(pts));
    if (!o->no_postfix) {
        probe_target *pt = &pts[n];
        int     port = 0;

        if (!smtp_where(o, t, &pt->host, &port, error))
            goto out;
        n++;
        pt->title = seg_service_title(SEG_SVC_INBOUND);
        pt->where = g_strdup_printf("%s:%d", pt->host, port);
        pt->opts.host = pt->host;
        pt->opts.port = port;
        pt->opts.kind = SEG_PROBE_SMTP;
        pt->starttls = s->svc[SEG_SVC_INBOUND].tls != SEG_TLSMODE_NO;
        pt->expect = pt->starttls ? seg_service_usable(s, SEG_SVC_INBOUND) : 0;
        pt->reneg = s->svc[SEG_SVC_INBOUND].renegotiation;
    }
    if (!o->no_nginx) {
        probe_target *pt = &pts[n];
        int     port = 0;

        if (!seg_probe_parse_target(o->probe_https ? o->probe_https
                                    : SEG_APPLY_DEFAULT_PROBE_HTTPS, 443,
                                    &pt->host, &port, error))
            goto out;
        n++;
        pt->title = seg_service_title(SEG_SVC_GUI);
        pt->where = g_strdup_printf("%s:%d", pt->host, port);
        pt->opts.host = pt->host;
        pt->opts.port = port;
        pt->opts.kind = SEG_PROBE_TLS;
        pt->starttls = TRUE;
        pt->expect = seg_service_usable(s, SEG_SVC_GUI);
        pt->reneg = FALSE;
    }
    for (;;) {
        g_string_truncate(seen, 0);
        g_string_truncate(why, 0);
        for (guint i = 0; i < n; i++)
            probe_round(&pts[i], seen, why);
        agreed = why->len ? 0 : agreed + 1;
        if (agreed >= 2 || g_get_monotonic_time() >= deadline)
            break;
        g_usleep(ROUND_PAUSE_US);
    }
    if (seen->len)
        g_string_truncate(seen, seen->len - 1);
    if (seen->len) {
        g_auto(GStrv) v = g_strsplit(seen->str, "\n", -1);

        for (char **p = v; *p; p++)
            g_ptr_array_add(lines, g_strdup(*p));
    }
    if (agreed == 0) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_APPLY, "%s", why->str + 2);
        goto out;
    }
    ok = TRUE;
out:
    for (guint i = 0; i < G_N_ELEMENTS(pts); i++) {
        g_free(pts[i].host);
        g_free(pts[i].where);
    }
    return ok;
}
