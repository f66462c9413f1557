/*
 * segtls-tlsverify - probe a server's TLS versions and compare them with
 * the policy (SPEC section 8).
 *
 * One real handshake per TLS version (lib/tls/probe.c): SMTP with STARTTLS,
 * or direct TLS for HTTPS. Each version gets one line; with a policy
 * (--service and a segtls key file, or --methods) the versions that
 * negotiate are compared with the ones the policy can use, and every
 * difference is one MISMATCH line.
 *
 * Exit: 0 agreement (or, without a policy, every probe reached a TLS
 * outcome), 1 disagreement or a probe that failed before TLS, 2 usage,
 * 3 the host cannot be reached at all.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <json-glib/json-glib.h>

#include "error.h"
#include "msg.h"
#include "sigpipe.h"
#include "probe.h"
#include "settings.h"
#include "store.h"
#include "tlsver.h"
#include "usable.h"
#include "warnings.h"

#define EXIT_AGREE      0
#define EXIT_DISAGREE   1
#define EXIT_USAGE      2
#define EXIT_UNREACHABLE 3

/* The policy being checked. */
typedef struct policy {
    gboolean    present;
    const char *title;          /* "Inbound SMTP", or "policy" for --methods */
    int         svc;            /* seg_service, -1 for --methods */
    unsigned    enabled;        /* methods */
    unsigned    usable;         /* what can negotiate */
    seg_tls_mode mode;          /* inbound/outbound TLS mode */
    gboolean    has_reneg;      /* renegotiation is a setting of the service */
    gboolean    reneg;          /* and its value */
} policy;

/* Everything one run found. */
typedef struct verdict {
    seg_probe_result *res[SEG_TLS_NVERS];
    unsigned    negotiated;
    seg_probe_result *reneg;    /* --renegotiation: the attempt, or NULL */
    gboolean    reneg_allowed;
    GPtrArray  *lines;          /* "OK: ..." / "MISMATCH: ..." / "FAIL: ..." */
    int         status;         /* exit status */
    const char *result;         /* "ok", "mismatch", "incomplete", "unreachable" */
} verdict;

/* Command line. */
static gboolean opt_smtp, opt_https, opt_json, opt_reneg;
static char *opt_service, *opt_config, *opt_methods, *opt_ca_file, *opt_name;
static double opt_timeout = SEG_PROBE_DEFAULT_TIMEOUT;

static const GOptionEntry entries[] = {
    {"smtp", 0, 0, G_OPTION_ARG_NONE, &opt_smtp,
     "SMTP with STARTTLS (default port 25; the default)", NULL},
    {"https", 0, 0, G_OPTION_ARG_NONE, &opt_https,
     "direct TLS (default port 443; the default for --service gui)", NULL},
    {"service", 0, 0, G_OPTION_ARG_STRING, &opt_service,
     "compare with the policy of this service: gui, inbound, outbound", "SVC"},
    {"config", 0, 0, G_OPTION_ARG_FILENAME, &opt_config,
     "segtls key file with the policy (default " SEG_DEFAULT_CONFIG ")", "FILE"},
    {"methods", 0, 0, G_OPTION_ARG_STRING, &opt_methods,
     "expect exactly these versions instead of a policy file, e.g. 1.1-1.2", "LIST"},
    {"renegotiation", 0, 0, G_OPTION_ARG_NONE, &opt_reneg,
     "also try a client-initiated renegotiation (TLS v1.2 or older)", NULL},
    {"json", 0, 0, G_OPTION_ARG_NONE, &opt_json, "print JSON", NULL},
    {"ca-file", 0, 0, G_OPTION_ARG_FILENAME, &opt_ca_file,
     "verify the peer certificate against these trust anchors", "FILE"},
    {"name", 0, 0, G_OPTION_ARG_STRING, &opt_name,
     "server name to send (SNI) and to match in the certificate", "NAME"},
    {"timeout", 0, 0, G_OPTION_ARG_DOUBLE, &opt_timeout,
     "seconds per network step (default 5)", "S"},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};

/* service_by_key - "inbound" to SEG_SVC_INBOUND, -1 when unknown */
static int service_by_key(const char *key)
{
    for (int s = 0; s < SEG_SVC_COUNT; s++)
        if (strcmp(seg_service_key((seg_service) s), key) == 0)
            return s;
    return -1;
}

/* is_address - a literal IP address */
static gboolean is_address(const char *name)
{
    unsigned char a[16];

    return inet_pton(AF_INET, name, a) == 1 || inet_pton(AF_INET6, name, a) == 1;
}

/* load_settings - the key file (a missing default file means defaults) */
static seg_settings *load_settings(GError **error)
{
    const char *path = opt_config ? opt_config : SEG_DEFAULT_CONFIG;
    g_autofree char *data = NULL;
    gsize len;

    if (!opt_config && !g_file_test(path, G_FILE_TEST_EXISTS))
        return seg_settings_new_default();
    if (!g_file_get_contents(path, &data, &len, error))
        return NULL;
    return seg_settings_from_keyfile(data, len, path, error);
}

/* versions_human - "TLS v1.2, TLS v1.3", or "none" */
static char *versions_human(unsigned mask)
{
    return mask ? seg_methods_human(mask) : g_strdup("none");
}

/* print_version_line - one aligned line per version */
static void print_version_line(const seg_probe_result *r)
{
    const seg_tlsver *v = seg_tlsver_by_bit(r->version);
    const char *word = r->status == SEG_PROBE_NO_STARTTLS ? "failed"
                       : seg_probe_status_name(r->status);
    g_autofree char *detail = NULL;

    if (r->negotiated)
        detail = g_strdup_printf("%s %s", r->protocol, r->cipher);
    else if (r->ssl_error_text)
        detail = seg_probe_error_tuple(r);
    else
        detail = g_strdup(r->failure ? r->failure : "");
    printf("%-8s  %-11s %s\n", v->human, word, detail);
}

/* cert_result - the highest negotiated result that checked a certificate */
static const seg_probe_result *cert_result(const verdict *vd)
{
    for (int i = SEG_TLS_NVERS - 1; i >= 0; i--)
        if (vd->res[i]->negotiated
            && (vd->res[i]->cert_checked || vd->res[i]->name_checked))
            return vd->res[i];
    return NULL;
}

/* compare_versions - policy versus what negotiated */
static void compare_versions(const policy *pol, verdict *vd)
{
    unsigned neg = vd->negotiated;
    int bad = 0;

    if (pol->svc == SEG_SVC_OUTBOUND) {
        /* a peer may offer more; delivery needs one version both can use */
        g_autofree char *both = versions_human(neg & pol->usable);
        g_autofree char *want = versions_human(pol->usable);

        if (neg & pol->usable)
            g_ptr_array_add(vd->lines, g_strdup_printf(
                "OK: %s can negotiate %s with this server", pol->title, both));
        else
            g_ptr_array_add(vd->lines, g_strdup_printf(
                "MISMATCH: no TLS version the %s policy can use (%s) negotiates "
                "with this server", pol->title, want));
        return;
    }
    for (int i = 0; i < SEG_TLS_NVERS; i++) {
        const seg_tlsver *v = &seg_tlsver_table[i];
        gboolean got = (neg & v->bit) != 0, want = (pol->usable & v->bit) != 0;

        if (got && !want && (pol->enabled & v->bit)) {
            g_ptr_array_add(vd->lines, g_strdup_printf(
                "MISMATCH: %s negotiates but the policy's cipher string leaves no "
                "usable cipher for it", v->human));
        } else if (got && !want) {
            g_ptr_array_add(vd->lines, g_strdup_printf(
                "MISMATCH: %s negotiates but the policy disables it", v->human));
        } else if (!got && want) {
            g_ptr_array_add(vd->lines, g_strdup_printf(
                "MISMATCH: %s does not negotiate but the policy enables it", v->human));
        } else {
            continue;
        }
        bad++;
    }
    if (!bad) {
        g_autofree char *h = versions_human(neg);

        g_ptr_array_add(vd->lines, g_strdup_printf(
            "OK: %s negotiates exactly %s, as the policy allows", pol->title, h));
    }
}

/* compare_starttls - inbound.tls = no means STARTTLS must not be offered */
static gboolean compare_starttls(const policy *pol, verdict *vd, int no_starttls)
{
    if (pol->svc != SEG_SVC_INBOUND || !opt_smtp)
        return FALSE;
    if (pol->mode == SEG_TLSMODE_NO) {
        if (no_starttls == SEG_TLS_NVERS)
            g_ptr_array_add(vd->lines, g_strdup(
                "OK: STARTTLS is not offered, as inbound.tls = no requires"));
        else
            g_ptr_array_add(vd->lines, g_strdup(
                "MISMATCH: STARTTLS is offered but inbound.tls is no"));
        return TRUE;
    }
    if (no_starttls == SEG_TLS_NVERS) {
        g_ptr_array_add(vd->lines, g_strdup_printf(
            "MISMATCH: STARTTLS is not offered but inbound.tls is %s",
            seg_tls_mode_name(pol->mode)));
        return TRUE;
    }
    return FALSE;
}

/* compare_cert - certificate checks that were asked for */
static void compare_cert(verdict *vd, const char *name)
{
    const seg_probe_result *r = cert_result(vd);

    if (!r)
        return;
    if (r->cert_checked && !r->cert_ok)
        g_ptr_array_add(vd->lines, g_strdup_printf(
            "FAIL: peer certificate does not verify: %s", r->cert_verify_text));
    if (r->name_checked && !r->name_ok)
        g_ptr_array_add(vd->lines, g_strdup_printf(
            "FAIL: peer certificate does not match %s", name));
}

/* try_reneg - a renegotiation at the newest negotiated version up to 1.2 */
static void try_reneg(const seg_probe_opts *o, verdict *vd)
{
    for (int i = SEG_TLS_NVERS - 1; i >= 0; i--) {
        if (seg_tlsver_table[i].bit > SEG_TLS_V12
            || !(vd->negotiated & seg_tlsver_table[i].bit))
            continue;
        vd->reneg = seg_probe_renegotiate(o, seg_tlsver_table[i].bit,
                                          &vd->reneg_allowed);
        return;
    }
}

/* compare_reneg - client renegotiation versus the service setting */
static void compare_reneg(const policy *pol, verdict *vd)
{
    const char *key = pol->svc == SEG_SVC_GUI ? "gui.renegotiation"
                                              : "inbound.renegotiation";

    if (!vd->reneg || !pol->present || !pol->has_reneg)
        return;
    if (vd->reneg_allowed == pol->reneg)
        g_ptr_array_add(vd->lines, g_strdup_printf(
            "OK: client renegotiation is %s, as %s = %s",
            pol->reneg ? "allowed" : "refused", key, pol->reneg ? "enabled" : "disabled"));
    else if (vd->reneg_allowed)
        g_ptr_array_add(vd->lines, g_strdup_printf(
            "MISMATCH: client renegotiation is allowed but %s = disabled", key));
    else if (pol->svc == SEG_SVC_GUI)
        g_ptr_array_add(vd->lines, g_strdup_printf(
            "NOTE: %s = enabled, but nginx never allows client renegotiation", key));
    else
        g_ptr_array_add(vd->lines, g_strdup_printf(
            "MISMATCH: client renegotiation is refused but %s = enabled", key));
}

/* decide - the lines, the result word and the exit status */
static void decide(const policy *pol, verdict *vd, const char *name)
{
    int unreachable = 0, early = 0, no_starttls = 0;
    gboolean handled;

    for (int i = 0; i < SEG_TLS_NVERS; i++) {
        seg_probe_status st = vd->res[i]->status;

        unreachable += st == SEG_PROBE_UNREACHABLE;
        no_starttls += st == SEG_PROBE_NO_STARTTLS;
        early += st != SEG_PROBE_NEGOTIATED && st != SEG_PROBE_REFUSED;
    }
    if (unreachable == SEG_TLS_NVERS) {
        vd->status = EXIT_UNREACHABLE;
        vd->result = "unreachable";
        return;
    }
    handled = pol->present && compare_starttls(pol, vd, no_starttls);
    if (!handled && no_starttls == SEG_TLS_NVERS)
        g_ptr_array_add(vd->lines, g_strdup("FAIL: the server does not offer STARTTLS"));
    else if (!handled && early)
        g_ptr_array_add(vd->lines, g_strdup_printf(
            "FAIL: %d of %d probes failed before the TLS handshake", early,
            SEG_TLS_NVERS));
    else if (!handled && pol->present)
        compare_versions(pol, vd);
    compare_reneg(pol, vd);
    compare_cert(vd, name);
    vd->status = EXIT_AGREE;
    for (guint i = 0; i < vd->lines->len; i++)
        if (!g_str_has_prefix(vd->lines->pdata[i], "OK:")
            && !g_str_has_prefix(vd->lines->pdata[i], "NOTE:"))
            vd->status = EXIT_DISAGREE;
    vd->result = vd->status == EXIT_AGREE ? "ok" : early && !handled ? "incomplete"
                 : "mismatch";
}

/* add_mask - a JSON array of settings values ("1.2") */
static void add_mask(JsonBuilder *b, const char *member, unsigned mask)
{
    json_builder_set_member_name(b, member);
    json_builder_begin_array(b);
    for (int i = 0; i < SEG_TLS_NVERS; i++)
        if (mask & seg_tlsver_table[i].bit)
            json_builder_add_string_value(b, seg_tlsver_table[i].value);
    json_builder_end_array(b);
}

/* add_string - a member with a string or null */
static void add_string(JsonBuilder *b, const char *member, const char *value)
{
    json_builder_set_member_name(b, member);
    if (value)
        json_builder_add_string_value(b, value);
    else
        json_builder_add_null_value(b);
}

/* add_result - one version's object */
static void add_result(JsonBuilder *b, const seg_probe_result *r)
{
    const seg_tlsver *v = seg_tlsver_by_bit(r->version);

    json_builder_begin_object(b);
    add_string(b, "version", v->value);
    add_string(b, "name", v->human);
    add_string(b, "status", seg_probe_status_name(r->status));
    json_builder_set_member_name(b, "negotiated");
    json_builder_add_boolean_value(b, r->negotiated);
    add_string(b, "protocol", r->protocol);
    add_string(b, "cipher", r->cipher);
    json_builder_set_member_name(b, "error_code");
    if (r->ssl_error_text)
        json_builder_add_int_value(b, (gint64) r->ssl_error);
    else
        json_builder_add_null_value(b);
    add_string(b, "error", r->ssl_error_text);
    add_string(b, "failure", r->failure);
    if (r->cert_checked || r->name_checked || r->peer_subject) {
        json_builder_set_member_name(b, "certificate");
        json_builder_begin_object(b);
        add_string(b, "subject", r->peer_subject);
        if (r->cert_checked) {
            json_builder_set_member_name(b, "verified");
            json_builder_add_boolean_value(b, r->cert_ok);
            add_string(b, "verify_result", r->cert_verify_text);
        }
        if (r->name_checked) {
            json_builder_set_member_name(b, "name_match");
            json_builder_add_boolean_value(b, r->name_ok);
        }
        json_builder_end_object(b);
    }
    json_builder_end_object(b);
}

/* print_json - the whole verdict as one JSON object */
static void print_json(const char *host, int port, const policy *pol, const verdict *vd)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = NULL;
    g_autofree char *text = NULL;

    json_builder_begin_object(b);
    add_string(b, "host", host);
    json_builder_set_member_name(b, "port");
    json_builder_add_int_value(b, port);
    add_string(b, "kind", opt_smtp ? "smtp" : "https");
    json_builder_set_member_name(b, "versions");
    json_builder_begin_array(b);
    for (int i = 0; i < SEG_TLS_NVERS; i++)
        add_result(b, vd->res[i]);
    json_builder_end_array(b);
    add_mask(b, "negotiated", vd->negotiated);
    json_builder_set_member_name(b, "renegotiation");
    if (vd->reneg) {
        json_builder_begin_object(b);
        add_string(b, "version", seg_tlsver_by_bit(vd->reneg->version)->value);
        json_builder_set_member_name(b, "allowed");
        json_builder_add_boolean_value(b, vd->reneg_allowed);
        json_builder_set_member_name(b, "error_code");
        if (vd->reneg->ssl_error_text)
            json_builder_add_int_value(b, (gint64) vd->reneg->ssl_error);
        else
            json_builder_add_null_value(b);
        add_string(b, "error", vd->reneg->ssl_error_text);
        add_string(b, "failure", vd->reneg_allowed ? NULL : vd->reneg->failure);
        json_builder_end_object(b);
    } else {
        json_builder_add_null_value(b);
    }
    json_builder_set_member_name(b, "policy");
    if (pol->present) {
        json_builder_begin_object(b);
        add_string(b, "service", pol->svc >= 0 ? seg_service_key((seg_service) pol->svc)
                                               : NULL);
        add_mask(b, "enabled", pol->enabled);
        add_mask(b, "usable", pol->usable);
        json_builder_end_object(b);
    } else {
        json_builder_add_null_value(b);
    }
    json_builder_set_member_name(b, "messages");
    json_builder_begin_array(b);
    for (guint i = 0; i < vd->lines->len; i++)
        json_builder_add_string_value(b, vd->lines->pdata[i]);
    json_builder_end_array(b);
    add_string(b, "result", vd->result);
    json_builder_set_member_name(b, "exit");
    json_builder_add_int_value(b, vd->status);
    json_builder_end_object(b);

    root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    json_generator_set_pretty(gen, TRUE);
    text = json_generator_to_data(gen, NULL);
    printf("%s\n", text);
}

/* print_text - version lines, certificate line, verdict lines */
static void print_text(const verdict *vd, const char *name)
{
    const seg_probe_result *c = cert_result(vd);

    for (int i = 0; i < SEG_TLS_NVERS; i++)
        print_version_line(vd->res[i]);
    if (c) {
        printf("certificate %s", c->peer_subject ? c->peer_subject : "(none)");
        if (c->cert_checked)
            printf("; chain: %s", c->cert_verify_text);
        if (c->name_checked)
            printf("; name %s: %s", name, c->name_ok ? "matches" : "does not match");
        printf("\n");
    }
    if (vd->reneg) {
        const seg_tlsver *v = seg_tlsver_by_bit(vd->reneg->version);
        g_autofree char *tuple = NULL;
        g_autofree char *why = NULL;

        if (vd->reneg_allowed)
            why = g_strdup("allowed");
        else if (vd->reneg->ssl_error_text)
            why = g_strdup_printf("refused %s", (tuple = seg_probe_error_tuple(vd->reneg)));
        else
            why = g_strdup_printf("refused (%s)", vd->reneg->failure ? vd->reneg->failure
                                  : "initial handshake failed");
        printf("renegotiation at %s: %s\n", v->human, why);
    }
    for (guint i = 0; i < vd->lines->len; i++)
        printf("%s\n", (char *) vd->lines->pdata[i]);
}

/* usage - print the message and the hint, return the usage status */
static int G_GNUC_PRINTF(1, 2) usage(const char *fmt, ...)
{
    va_list ap;
    g_autofree char *m = NULL;

    va_start(ap, fmt);
    m = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    msg_error("%s (try --help)", m);
    return EXIT_USAGE;
}

/* make_policy - from --methods, or --service and the key file */
static int make_policy(policy *pol, seg_probe_opts *o, const char *host)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(seg_settings) s = NULL;

    if (opt_methods) {
        if (!seg_methods_parse_value(opt_methods, &pol->enabled, &err))
            return usage("--methods: %s", err->message);
        pol->present = TRUE;
        pol->usable = pol->enabled;
        pol->title = pol->svc >= 0 ? seg_service_title((seg_service) pol->svc) : "policy";
        pol->mode = SEG_TLSMODE_PREFERRED;
        return EXIT_AGREE;
    }
    if (pol->svc < 0)
        return EXIT_AGREE;
    if (!(s = load_settings(&err))) {
        msg_error("%s", err->message);
        return EXIT_USAGE;
    }
    pol->present = TRUE;
    pol->title = seg_service_title((seg_service) pol->svc);
    pol->enabled = s->svc[pol->svc].methods;
    pol->usable = seg_service_usable(s, (seg_service) pol->svc);
    pol->mode = s->svc[pol->svc].tls;
    pol->has_reneg = pol->svc != SEG_SVC_OUTBOUND;
    pol->reneg = s->svc[pol->svc].renegotiation;
    if (pol->svc == SEG_SVC_OUTBOUND) {
        /* the peer checks outbound delivery would make */
        gboolean vmode = pol->mode == SEG_TLSMODE_PREFERRED_VERIFY
                         || pol->mode == SEG_TLSMODE_REQUIRED_VERIFY;

        o->verify = o->verify || s->peer_cert_x509 || vmode;
        if (o->verify && !o->ca_file && s->outbound_ca_file && *s->outbound_ca_file)
            o->ca_file = g_strdup(s->outbound_ca_file);
        if (s->peer_cert_fqdn && !o->verify_name)
            o->verify_name = host;
    }
    return EXIT_AGREE;
}

int main(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = NULL;
    g_autoptr(GError) err = NULL;
    g_autofree char *host = NULL;
    char *ca_from_policy = NULL;
    seg_probe_opts o = {0};
    policy pol = {.svc = -1};
    verdict vd = {0};
    int port, rc;

    msg_init(argv[0]);
    seg_ignore_sigpipe();
    ctx = g_option_context_new("HOST[:PORT] - probe each TLS version and compare with the policy");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(ctx,
        "Each TLS version is tried on its own (SMTP: banner, EHLO, STARTTLS; HTTPS:\n"
        "direct TLS); the client offers every cipher, so the server decides.\n"
        "Exit status: 0 agreement, 1 disagreement (or a probe failed before TLS),\n"
        "2 usage, 3 the host cannot be reached.\n");
    if (!g_option_context_parse(ctx, &argc, &argv, &err))
        return usage("%s", err->message);
    if (argc != 2)
        return usage("exactly one HOST[:PORT] is needed");
    if (opt_smtp && opt_https)
        return usage("--smtp and --https exclude each other");
    if (opt_service && (pol.svc = service_by_key(opt_service)) < 0)
        return usage("--service: \"%s\" is not gui, inbound or outbound", opt_service);
    if (opt_config && !opt_service)
        return usage("--config needs --service");
    if (opt_config && opt_methods)
        return usage("--config and --methods exclude each other");
    if (opt_timeout <= 0 || opt_timeout > 600)
        return usage("--timeout: %g is not between 0 and 600 seconds", opt_timeout);
    if (opt_ca_file && access(opt_ca_file, R_OK) != 0)
        return usage("--ca-file: cannot read %s", opt_ca_file);
    if (!opt_smtp && !opt_https)
        opt_https = pol.svc == SEG_SVC_GUI, opt_smtp = !opt_https;
    if (!seg_probe_parse_target(argv[1], opt_smtp ? 25 : 443, &host, &port, &err))
        return usage("%s", err->message);

    o.host = host;
    o.port = port;
    o.kind = opt_smtp ? SEG_PROBE_SMTP : SEG_PROBE_TLS;
    o.timeout = opt_timeout;
    o.sni = opt_name ? opt_name : is_address(host) ? NULL : host;
    o.ca_file = opt_ca_file;
    o.verify = opt_ca_file != NULL;
    o.verify_name = opt_name;
    if ((rc = make_policy(&pol, &o, host)) != EXIT_AGREE)
        return rc;
    if (o.ca_file != opt_ca_file)
        ca_from_policy = (char *) o.ca_file;

    vd.lines = g_ptr_array_new_with_free_func(g_free);
    vd.negotiated = seg_probe_all(&o, vd.res);
    if (opt_reneg)
        try_reneg(&o, &vd);
    decide(&pol, &vd, o.verify_name);
    if (opt_json)
        print_json(host, port, &pol, &vd);
    else
        print_text(&vd, o.verify_name);
    fflush(stdout);
    if (vd.status == EXIT_UNREACHABLE)
        msg_error("cannot reach %s%s%s:%d: %s", strchr(host, ':') ? "[" : "", host,
                  strchr(host, ':') ? "]" : "", port, vd.res[0]->failure);

    rc = vd.status;
    for (int i = 0; i < SEG_TLS_NVERS; i++)
        seg_probe_result_free(vd.res[i]);
    seg_probe_result_free(vd.reneg);
    g_ptr_array_unref(vd.lines);
    g_free(ca_from_policy);
    g_free(opt_service);
    g_free(opt_config);
    g_free(opt_methods);
    g_free(opt_ca_file);
    g_free(opt_name);
    return rc;
}
