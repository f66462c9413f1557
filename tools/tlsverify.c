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

#include "apply.h"
#include "destctl.h"
#include "error.h"
#include "msg.h"
#include "sigpipe.h"
#include "probe.h"
#include "settings.h"
#include "store.h"
#include "tlsver.h"
#include "usable.h"
#include "warnings.h"
#include "quote.h"

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
static gboolean opt_destination;
static char *opt_postfix_dir;
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
    {"destination", 0, 0, G_OPTION_ARG_NONE, &opt_destination,
     "the argument is a destination DOMAIN: route it as this host's Postfix would "
     "(transport map, relayhost, MX) and check what its Destination Controls entry "
     "requires", NULL},
    {"postfix-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_postfix_dir,
     "--destination: the Postfix config_directory (default /etc/postfix)", "DIR"},
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

/* mx_cmp - MX records by preference */
static gint mx_cmp(gconstpointer a, gconstpointer b)
{
    guint16 pa, pb;
    const char *h;

    g_variant_get((GVariant *) a, "(q&s)", &pa, &h);
    g_variant_get((GVariant *) b, "(q&s)", &pb, &h);
    return (gint) pa - (gint) pb;
}

/* hop_target - "[host]:port", "[host]", "host:port" or "host": host, port, MX? */
static gboolean hop_target(const char *hop, char **host, int *port, gboolean *mx)
{
    const char *end;

    *port = 25;
    *mx = hop[0] != '[';
    if (hop[0] == '[') {
        if ((end = strchr(hop, ']')) == NULL)
            return FALSE;
        *host = g_strndup(hop + 1, end - hop - 1);
        if (end[1] == ':')
            *port = atoi(end + 2);
        return *port > 0 && *port < 65536;
    }
    end = strrchr(hop, ':');
    *host = end ? g_strndup(hop, end - hop) : g_strdup(hop);
    if (end)
        *port = atoi(end + 1);
    return *port > 0 && *port < 65536;
}

/* mx_hosts - the MX hosts of name by preference, or name itself */
static GPtrArray *mx_hosts(const char *name)
{
    GPtrArray *hosts = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GResolver) r = g_resolver_get_default();
    GList *recs = g_resolver_lookup_records(r, name, G_RESOLVER_RECORD_MX, NULL, NULL);

    recs = g_list_sort(recs, mx_cmp);
    for (GList *l = recs; l; l = l->next) {
        const char *h;
        guint16 pref;

        g_variant_get(l->data, "(q&s)", &pref, &h);
        g_ptr_array_add(hosts, g_strdup(h));
    }
    g_list_free_full(recs, (GDestroyNotify) g_variant_unref);
    if (hosts->len == 0)
        g_ptr_array_add(hosts, g_strdup(name));
    return hosts;
}

/*
 * destination - segtls tlsverify --destination DOMAIN: the gateway's
 * tlsverify. Step by step: the Destination Controls entry that applies
 * and what it requires; where this host's Postfix sends the mail; the
 * connection, EHLO and STARTTLS; the handshake with the entry's versions;
 * the certificate when the entry verifies; then whether a delivery would
 * go as the entry says. Exit 0 when it would, 1 when not, 3 unreachable.
 */
static int destination(const char *domain)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(seg_settings) s = NULL;
    g_autofree char *dom = NULL;
    g_autofree char *hop = NULL;
    g_autofree char *how = NULL;
    g_autofree char *host = NULL;
    g_autofree char *pfdir = NULL;
    g_autofree char *want = NULL;
    g_autoptr(GPtrArray) hosts = NULL;
    const seg_dest_entry *e;
    seg_probe_result *res[SEG_TLS_NVERS] = {0};
    seg_probe_opts o = {0};
    const seg_probe_result *got = NULL;
    seg_tls_mode mode;
    unsigned methods;
    gboolean mx, verify, required, reached = FALSE, starttls = TRUE;
    int     port, rc;

    if (domain[0] == '.' || !seg_dest_domain_check(domain, &dom, &err))
        return usage("%s", err ? err->message : "a destination is a domain, not .domain");
    if (!(s = load_settings(&err))) {
        msg_error("%s", err->message);
        return EXIT_USAGE;
    }
    e = seg_destctl_dest_match(s->destctl, dom);
    mode = e ? (seg_tls_mode) e->tls : s->svc[SEG_SVC_OUTBOUND].tls;
    methods = e && e->methods ? e->methods : s->svc[SEG_SVC_OUTBOUND].methods;
    want = versions_human(methods);
    verify = mode == SEG_TLSMODE_PREFERRED_VERIFY || mode == SEG_TLSMODE_REQUIRED_VERIFY;
    required = mode == SEG_TLSMODE_REQUIRED || mode == SEG_TLSMODE_REQUIRED_VERIFY;
    printf("Destination %s\n", dom);
    printf("  entry: %s: TLS %s, %s\n", e ? e->domain : "default (outbound.tls)",
           seg_tls_mode_name(mode), want);
    pfdir = g_strdup(opt_postfix_dir ? opt_postfix_dir : SEG_APPLY_DEFAULT_POSTFIX_DIR);
    if (!seg_apply_nexthop(pfdir, dom, opt_timeout * 4, &hop, &how, &err)) {
        msg_error("cannot ask Postfix (%s) where %s goes: %s", pfdir, dom, err->message);
        return EXIT_USAGE;
    }
    printf("  route: %s\n", how);
    if (hop == NULL) {
        printf("FAIL: %s is not delivered by SMTP here\n", dom);
        return EXIT_DISAGREE;
    }
    if (!hop_target(hop, &host, &port, &mx)) {
        printf("FAIL: next hop %s cannot be read\n", hop);
        return EXIT_DISAGREE;
    }
    hosts = mx ? mx_hosts(host) : g_ptr_array_new_with_free_func(g_free);
    if (!mx)
        g_ptr_array_add(hosts, g_strdup(host));
    o.kind = SEG_PROBE_SMTP;
    o.port = port;
    o.timeout = opt_timeout;
    o.verify = verify;
    o.ca_file = verify && *s->outbound_ca_file ? s->outbound_ca_file : NULL;
    o.verify_name = verify ? dom : NULL;
    o.sni = dom;
    for (guint h = 0; h < hosts->len && !reached; h++) {
        o.host = g_ptr_array_index(hosts, h);
        printf("  connect: %s port %d", o.host, port);
        seg_probe_all(&o, res);
        for (int i = 0; i < SEG_TLS_NVERS; i++) {
            if (res[i]->status == SEG_PROBE_UNREACHABLE)
                continue;
            reached = TRUE;
            if (res[i]->status == SEG_PROBE_NO_STARTTLS)
                starttls = FALSE;
        }
        printf(": %s\n", reached ? "connected" : res[0]->failure);
        if (!reached)
            for (int i = 0; i < SEG_TLS_NVERS; i++)
                g_clear_pointer(&res[i], seg_probe_result_free);
    }
    if (!reached) {
        printf("FAIL: no host of %s can be reached\n", dom);
        return EXIT_UNREACHABLE;
    }
    printf("  STARTTLS: %s\n", starttls ? "offered" : "not offered");
    for (int i = SEG_TLS_NVERS - 1; i >= 0; i--) {
        const seg_probe_result *r = res[i];

        if (!(r->version & methods))
            continue;
        if (r->status == SEG_PROBE_NEGOTIATED) {
            printf("  %s: negotiated, cipher %s\n", seg_tlsver_by_bit(r->version)->human,
                   r->cipher);
            if (got == NULL)
                got = r;
        } else if (starttls) {
            g_autofree char *t = seg_probe_error_tuple(r);

            printf("  %s: %s %s\n", seg_tlsver_by_bit(r->version)->human,
                   seg_probe_status_name(r->status), t ? t : r->failure);
        }
    }
    if (got != NULL && verify) {
        printf("  certificate: %s%s%s; name %s: %s\n",
               got->cert_ok ? "chain verified" : "chain not verified",
               got->cert_ok ? "" : ": ", got->cert_ok ? "" : got->cert_verify_text,
               dom, got->name_ok ? "matches" : "does not match");
    }
    if (mode == SEG_TLSMODE_NO) {
        printf("OK: the entry says no TLS: delivered in plaintext\n");
        rc = EXIT_AGREE;
    } else if (got == NULL) {
        printf("%s: %s\n", required ? "FAIL" : "OK",
               required ? (starttls ? "TLS required but no version of the entry "
                           "negotiates: delivery would be deferred"
                           : "TLS required but not available (no STARTTLS): delivery "
                           "would be deferred")
               : "no TLS with the entry's versions: delivered in plaintext (preferred)");
        rc = required ? EXIT_DISAGREE : EXIT_AGREE;
    } else if (mode == SEG_TLSMODE_REQUIRED_VERIFY && !(got->cert_ok && got->name_ok)) {
        printf("FAIL: the certificate does not verify: delivery would be deferred\n");
        rc = EXIT_DISAGREE;
    } else {
        printf("OK: delivered with %s%s\n", got->protocol,
               verify && got->cert_ok && got->name_ok ? ", certificate verified"
               : verify ? ", certificate not verified (preferred-verify delivers)" : "");
        rc = EXIT_AGREE;
    }
    for (int i = 0; i < SEG_TLS_NVERS; i++)
        seg_probe_result_free(res[i]);
    return rc;
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
    if (opt_destination) {
        if (opt_smtp || opt_https || opt_service || opt_methods || opt_ca_file || opt_name
            || opt_json || opt_reneg)
            return usage("--destination takes only --config, --postfix-dir and --timeout");
        return destination(argv[1]);
    }
    if (opt_smtp && opt_https)
        return usage("--smtp and --https exclude each other");
    if (opt_service && (pol.svc = service_by_key(opt_service)) < 0) {
        g_autofree char *q = seg_quote_value(opt_service);

        return usage("--service: %s is not gui, inbound or outbound", q);
    }
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
