/*
 * render_postfix - settings to Postfix parameters (SPEC section 5).
 *
 * main.cf gets what both directions share or keep apart by name
 * (smtpd_* for Inbound SMTP, smtp_* for Outbound SMTP). The cipher lists
 * differ between the directions but Postfix has one tls_high_cipherlist,
 * so each smtpd and smtp service of master.cf gets its own with
 * -o tls_high_cipherlist=... while *_tls_ciphers = high selects it.
 * Postfix runs OpenSSL at security level 0 itself, so no @SECLEVEL.
 *
 * The TLS 1.3 suites cannot be set through main.cf at all: they go into
 * an OpenSSL configuration file (tls_config_file) with one application
 * section per direction, which each service selects with
 * -o tls_config_name= (verified on Postfix 3.7.11: a service negotiates
 * exactly the suites of its section). An "openssl_conf" fallback section
 * with the same suites covers every other Postfix TLS program.
 */
#include <stdarg.h>

#include "cipherstr.h"
#include "error.h"
#include "render_postfix.h"
#include "tlsver.h"

/* Postfix security levels of the TLS modes. */
static const char *const smtpd_level[] = {
    [SEG_TLSMODE_NO] = "none",
    [SEG_TLSMODE_PREFERRED] = "may",
    [SEG_TLSMODE_REQUIRED] = "encrypt",
};
static const char *const smtp_level[] = {
    [SEG_TLSMODE_NO] = "none",
    [SEG_TLSMODE_PREFERRED] = "may",
    [SEG_TLSMODE_REQUIRED] = "encrypt",
    [SEG_TLSMODE_PREFERRED_VERIFY] = "may",
    [SEG_TLSMODE_REQUIRED_VERIFY] = "verify",
};

/* Sections of the tls_config_file: application name, section prefix. */
static const struct {
    const char *app;
    const char *section;
} tls_apps[] = {
    {"openssl_conf", "segtls_default"},
    {SEG_RENDER_APP_INBOUND, "segtls_inbound"},
    {SEG_RENDER_APP_OUTBOUND, "segtls_outbound"},
};

/* pf_protocols - ">=TLSv1.1, <=TLSv1.2" */
static char *pf_protocols(unsigned methods)
{
    return g_strdup_printf(">=%s, <=%s",
                           seg_tlsver_by_bit(seg_methods_lowest(methods))->postfix,
                           seg_tlsver_by_bit(seg_methods_highest(methods))->postfix);
}

/* add - one formatted line to a list */
G_GNUC_PRINTF(2, 3)
static void add(GPtrArray *list, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_ptr_array_add(list, g_strdup_vprintf(fmt, ap));
    va_end(ap);
}

/* main_inbound - smtpd_* parameters */
static void main_inbound(const seg_settings *s, GPtrArray *m)
{
    const seg_service_settings *in = &s->svc[SEG_SVC_INBOUND];
    g_autofree char *proto = pf_protocols(in->methods);

    add(m, "smtpd_tls_security_level = %s", smtpd_level[in->tls]);
    add(m, "smtpd_tls_protocols = %s", proto);
    add(m, "smtpd_tls_mandatory_protocols = %s", proto);
    add(m, "smtpd_tls_ciphers = high");
    add(m, "smtpd_tls_mandatory_ciphers = high");
    if (in->certificate && *in->certificate)
        add(m, "smtpd_tls_chain_files = %s", in->certificate);
    add(m, "smtpd_tls_loglevel = 1");
    add(m, "smtpd_client_port_logging = yes");
}

/* main_outbound - smtp_* parameters and the verify notices */
static void main_outbound(const seg_settings *s, GPtrArray *m,
                          GPtrArray *notices)
{
    const seg_service_settings *out = &s->svc[SEG_SVC_OUTBOUND];
    g_autofree char *proto = pf_protocols(out->methods);
    gboolean verify = out->tls == SEG_TLSMODE_PREFERRED_VERIFY
        || out->tls == SEG_TLSMODE_REQUIRED_VERIFY;

    add(m, "smtp_tls_security_level = %s", smtp_level[out->tls]);
    add(m, "smtp_tls_protocols = %s", proto);
    add(m, "smtp_tls_mandatory_protocols = %s", proto);
    add(m, "smtp_tls_ciphers = high");
    add(m, "smtp_tls_mandatory_ciphers = high");
    if (verify && s->outbound_ca_file && *s->outbound_ca_file)
        add(m, "smtp_tls_CAfile = %s", s->outbound_ca_file);
    add(m, "smtp_tls_loglevel = 1");
    if (!verify)
        return;
    if (out->tls == SEG_TLSMODE_PREFERRED_VERIFY)
        add(notices, "notice: Outbound SMTP: preferred-verify is Postfix "
            "level \"may\": certificates are verified and logged, but mail "
            "is delivered when verification fails");
    else if (!s->peer_cert_fqdn)
        add(notices, "notice: Outbound SMTP: Postfix cannot validate the "
            "certificate chain without the host name; required-verify "
            "checks both (peer_cert.fqdn is off)");
    if (!s->outbound_ca_file || !*s->outbound_ca_file)
        add(notices, "notice: Outbound SMTP: outbound.ca_file is empty; "
            "Postfix verifies against its own smtp_tls_CAfile and "
            "smtp_tls_CApath settings");
}

/* master_overrides - the per-service -o parameters */
static void master_overrides(const seg_settings *s, const seg_render_target *t,
                             GPtrArray *p)
{
    const char *in_ciphers = s->svc[SEG_SVC_INBOUND].ciphers;
    const char *out_ciphers = s->svc[SEG_SVC_OUTBOUND].ciphers;
    const char *reneg = s->svc[SEG_SVC_INBOUND].renegotiation
        ? "0x100" : "NO_RENEGOTIATION";

    for (const char *const *sv = t->smtpd_services; sv && *sv; sv++) {
        add(p, "%s/tls_high_cipherlist=%s", *sv, in_ciphers);
        add(p, "%s/tls_config_name=%s", *sv, SEG_RENDER_APP_INBOUND);
        add(p, "%s/tls_ssl_options=%s", *sv, reneg);
    }
    for (const char *const *sv = t->smtp_services; sv && *sv; sv++) {
        add(p, "%s/tls_high_cipherlist=%s", *sv, out_ciphers);
        add(p, "%s/tls_config_name=%s", *sv, SEG_RENDER_APP_OUTBOUND);
    }
}

/* tls_config_text - the OpenSSL configuration file for tls_config_file */
static char *tls_config_text(void)
{
    GString *out = g_string_new(
        "# Postfix tls_config_file, written by segtls-apply: the fixed TLS 1.3\n"
        "# cipher suites. Each service selects its section with\n"
        "# -o tls_config_name= in master.cf; other Postfix programs use\n"
        "# openssl_conf. Changes here are overwritten.\n");

    for (guint i = 0; i < G_N_ELEMENTS(tls_apps); i++)
        g_string_append_printf(out, "%s = %s_conf\n", tls_apps[i].app,
                               tls_apps[i].section);
    for (guint i = 0; i < G_N_ELEMENTS(tls_apps); i++) {
        const char *sec = tls_apps[i].section;

        g_string_append_printf(out,
                               "\n[%s_conf]\nssl_conf = %s_ssl\n"
                               "\n[%s_ssl]\nsystem_default = %s_tls\n"
                               "\n[%s_tls]\nCiphersuites = %s\n",
                               sec, sec, sec, sec, sec, SEG_TLS13_SUITES);
    }
    return g_string_free(out, FALSE);
}

/* seg_render_postfix - main.cf, master.cf and the tls_config_file */
gboolean seg_render_postfix(const seg_settings *s, const seg_render_target *t,
                            seg_render *r, GError **error)
{
    if (!seg_render_settings_check(s, error)
        || !seg_render_target_check(t, error))
        return FALSE;
    main_inbound(s, r->main_cf);
    main_outbound(s, r->main_cf, r->notices);
    add(r->main_cf, "tls_config_file = %s", t->tls_config_file);
    master_overrides(s, t, r->master_cf);
    g_free(r->postfix_tls);
    r->postfix_tls = tls_config_text();
    return TRUE;
}
