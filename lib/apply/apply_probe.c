/*
 * apply_probe - prove an applied configuration with real handshakes.
 *
 * Every smtpd service Inbound SMTP governs (STARTTLS, or direct TLS in
 * wrapper mode) and nginx are probed once per TLS version
 * (lib/tls/probe.h); the versions that negotiate must be exactly the
 * usable versions of the service (usable.h), or, for an smtpd service
 * at security level none, STARTTLS must not be offered at all.
 * Renegotiation is tried at the newest usable version up to TLS 1.2:
 * smtpd must allow it exactly when inbound.renegotiation is enabled;
 * nginx never does. A server that does not run is not probed.
 *
 * A reload takes a moment to reach every process, so the servers are
 * probed in rounds until two rounds in a row agree with the policy, or
 * until SEG_APPLY_PROBE_WAIT seconds have passed.
 */
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netdb.h>

#include "apply_int.h"
#include "error.h"
#include "probe.h"
#include "tlsver.h"
#include "warnings.h"

#define ROUND_PAUSE_US  (100 * 1000)

typedef struct probe_target {
    char           *what;       /* "Inbound SMTP submission/inet (127.0.0.1:587)" */
    seg_probe_opts  opts;
    char           *host;
    unsigned        expect;     /* versions that must negotiate */
    gboolean        starttls;   /* TLS must be offered */
    gboolean        reneg;      /* renegotiation must be allowed */
} probe_target;

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

    g_string_append_printf(seen, "%s: ", pt->what);
    versions_text(seen, res);
    for (int i = 0; i < SEG_TLS_NVERS; i++) {
        const seg_probe_result *r = res[i];
        unsigned bit = seg_tlsver_table[i].bit;

        if (r->status == SEG_PROBE_NO_STARTTLS)
            offered = FALSE;
        if (r->status == SEG_PROBE_UNREACHABLE
            || r->status == SEG_PROBE_SMTP_FAILED) {
            g_string_append_printf(why, "; %s: %s", pt->what, r->failure);
            break;
        }
        if (!pt->starttls)
            continue;
        if ((got & bit) && !(pt->expect & bit))
            g_string_append_printf(why, "; %s: %s negotiated, but the "
                                   "policy does not allow it", pt->what,
                                   seg_tlsver_table[i].human);
        else if (!(got & bit) && (pt->expect & bit))
            g_string_append_printf(why, "; %s: %s did not negotiate (%s), "
                                   "but the policy allows it", pt->what,
                                   seg_tlsver_table[i].human,
                                   r->failure ? r->failure : "?");
    }
    if (!pt->starttls && offered)
        g_string_append_printf(why, "; %s: STARTTLS is offered, but its "
                               "security level is none", pt->what);
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
            g_string_append_printf(why, "; %s: renegotiation was %s, but "
                                   "the policy says %s", pt->what,
                                   allowed ? "allowed" : "refused",
                                   pt->reneg ? "allow it" : "refuse it");
        seg_probe_result_free(r);
    }
    g_string_append_c(seen, '\n');
}

/* probed - is this a service the probes shake hands with? */
static gboolean probed(const seg_pf_service *sv)
{
    return sv->governed == SEG_SVC_INBOUND && g_str_has_suffix(sv->name, "/inet");
}

/* no_address - the error of a probed service with no address */
static gboolean no_address(const seg_pf_service *sv, GError **error)
{
    g_set_error(error, SEG_ERROR, SEG_ERROR_APPLY,
                "cannot tell where service %s listens; name it with "
                "probe-smtp %s=HOST:PORT", sv->name, sv->name);
    return FALSE;
}

/* apply_probe_check - every service to probe has an address (before writing) */
gboolean apply_probe_check(apply_ctx *c, GError **error)
{
    for (guint i = 0; c->services && i < c->services->len; i++) {
        const seg_pf_service *sv = g_ptr_array_index(c->services, i);

        if (probed(sv) && sv->target == NULL)
            return no_address(sv, error);
    }
    return TRUE;
}

/* target_smtpd - one governed smtpd service; FALSE when it has no address */
static gboolean target_smtpd(apply_ctx *c, const seg_pf_service *sv,
                             probe_target *pt, GError **error)
{
    const seg_settings *s = c->s;
    seg_tls_mode mode = s->svc[SEG_SVC_INBOUND].tls;
    int     port = 0;

    if (sv->target == NULL
        || !seg_probe_parse_target(sv->target, 25, &pt->host, &port, NULL))
        return no_address(sv, error);
    pt->what = g_strdup_printf("%s %s (%s%s)", seg_service_title(SEG_SVC_INBOUND),
                               sv->name, sv->target,
                               sv->wrapper ? ", TLS wrapper" : "");
    pt->opts.host = pt->host;
    pt->opts.port = port;
    pt->opts.kind = sv->wrapper ? SEG_PROBE_SMTPS : SEG_PROBE_SMTP;
    /* its own level (submission's encrypt) or the one segtls wrote */
    pt->starttls = sv->wrapper
        || (sv->own_level ? *sv->level && strcmp(sv->level, "none") != 0
            : mode != SEG_TLSMODE_NO);
    pt->expect = pt->starttls ? seg_service_usable(s, SEG_SVC_INBOUND) : 0;
    pt->reneg = s->svc[SEG_SVC_INBOUND].renegotiation;
    return TRUE;
}

/* target_gui - nginx */
static gboolean target_gui(apply_ctx *c, probe_target *pt, GError **error)
{
    int     port = 0;

    if (!seg_probe_parse_target(c->o->probe_https ? c->o->probe_https
                                : SEG_APPLY_DEFAULT_PROBE_HTTPS, 443,
                                &pt->host, &port, error))
        return FALSE;
    pt->what = g_strdup_printf("%s %s:%d", seg_service_title(SEG_SVC_GUI),
                               pt->host, port);
    pt->opts.host = pt->host;
    pt->opts.port = port;
    pt->opts.kind = SEG_PROBE_TLS;
    pt->starttls = TRUE;
    pt->expect = seg_service_usable(c->s, SEG_SVC_GUI);
    pt->reneg = FALSE;
    return TRUE;
}

/* free_targets - release the probe targets */
static void free_targets(GArray *pts)
{
    for (guint i = 0; i < pts->len; i++) {
        probe_target *pt = &g_array_index(pts, probe_target, i);

        g_free(pt->host);
        g_free(pt->what);
    }
    g_array_unref(pts);
}

/* targets - every governed smtpd service on inet, and nginx, that run */
static GArray *targets(apply_ctx *c, GError **error)
{
    GArray *pts = g_array_new(FALSE, TRUE, sizeof(probe_target));
    probe_target pt;

    for (guint i = 0; c->postfix_runs && c->services && i < c->services->len; i++) {
        const seg_pf_service *sv = g_ptr_array_index(c->services, i);

        if (!probed(sv))
            continue;
        memset(&pt, 0, sizeof(pt));
        if (!target_smtpd(c, sv, &pt, error)) {
            free_targets(pts);
            return NULL;
        }
        g_array_append_val(pts, pt);
    }
    if (c->nginx_runs) {
        memset(&pt, 0, sizeof(pt));
        if (!target_gui(c, &pt, error)) {
            free_targets(pts);
            return NULL;
        }
        g_array_append_val(pts, pt);
    }
    return pts;
}

/* apply_probe - probe until the servers agree with the policy */
gboolean apply_probe(apply_ctx *c, GError **error)
{
    GArray *pts = targets(c, error);
    gint64  deadline = g_get_monotonic_time()
        + (gint64) (SEG_APPLY_PROBE_WAIT * G_USEC_PER_SEC);
    g_autoptr(GString) seen = g_string_new(NULL);
    g_autoptr(GString) why = g_string_new(NULL);
    int     agreed = 0;

    if (pts == NULL)
        return FALSE;
    for (;;) {
        g_string_truncate(seen, 0);
        g_string_truncate(why, 0);
        for (guint i = 0; i < pts->len; i++)
            probe_round(&g_array_index(pts, probe_target, i), seen, why);
        agreed = why->len ? 0 : agreed + 1;
        if (agreed >= 2 || g_get_monotonic_time() >= deadline)
            break;
        g_usleep(ROUND_PAUSE_US);
    }
    free_targets(pts);
    if (seen->len)
        g_string_truncate(seen, seen->len - 1);
    if (seen->len) {
        g_auto(GStrv) v = g_strsplit(seen->str, "\n", -1);

        for (char **p = v; *p; p++)
            apply_say(c, "%s", *p);
    }
    if (agreed == 0) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_APPLY, "%s", why->str + 2);
        return FALSE;
    }
    return TRUE;
}
