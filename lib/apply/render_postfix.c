/*
 * render_postfix - settings to Postfix parameters (SPEC section 5).
 *
 * Each master.cf service segtls governs gets every TLS setting segtls
 * owns as its own -o overrides (postconf -P): the security level (unless
 * its entry sets its own, as submission's encrypt), the protocols and
 * mandatory protocols, the cipher grade "high" with tls_high_cipherlist,
 * the certificate, the verify CA file, tls_config_file with its section
 * (tls_config_name) and, for smtpd, tls_ssl_options. main.cf keeps its
 * own values for the services segtls does not govern; segtls adds there
 * only the logging its record emitters read. Postfix runs OpenSSL at
 * security level 0 itself, so no @SECLEVEL. postconf -P takes no blanks
 * in a value: lists are joined with commas.
 *
 * The TLS 1.3 suites cannot be set through Postfix parameters at all:
 * they go into an OpenSSL configuration file (tls_config_file) with one
 * application section per direction, which each service selects with
 * -o tls_config_name= (verified on Postfix 3.7.11: a service negotiates
 * exactly the suites of its section).
 */
#include <stdarg.h>
#include <string.h>

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
    {SEG_RENDER_APP_INBOUND, "segtls_inbound"},
    {SEG_RENDER_APP_OUTBOUND, "segtls_outbound"},
};

/* pf_protocols - ">=TLSv1.1,<=TLSv1.2" */
static char *pf_protocols(unsigned methods)
{
    return g_strdup_printf(">=%s,<=%s",
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

/* smtpd_service - the overrides of one service Inbound SMTP governs */
static void smtpd_service(const seg_settings *s, const seg_render_target *t,
                          const char *sv, GPtrArray *p)
{
    const seg_service_settings *in = &s->svc[SEG_SVC_INBOUND];
    g_autofree char *proto = pf_protocols(in->methods);

    if (t->own_level == NULL || !g_strv_contains(t->own_level, sv))
        add(p, "%s/smtpd_tls_security_level=%s", sv, smtpd_level[in->tls]);
    add(p, "%s/smtpd_tls_protocols=%s", sv, proto);
    add(p, "%s/smtpd_tls_mandatory_protocols=%s", sv, proto);
    add(p, "%s/smtpd_tls_ciphers=high", sv);
    add(p, "%s/smtpd_tls_mandatory_ciphers=high", sv);
    add(p, "%s/tls_high_cipherlist=%s", sv, in->ciphers);
    if (in->certificate && *in->certificate)
        add(p, "%s/smtpd_tls_chain_files=%s", sv, in->certificate);
    add(p, "%s/tls_config_file=%s", sv, t->tls_config_file);
    add(p, "%s/tls_config_name=%s", sv, SEG_RENDER_APP_INBOUND);
    add(p, "%s/tls_ssl_options=%s", sv,
        in->renegotiation ? "0x100" : "NO_RENEGOTIATION");
}

/* client_service - the overrides of one client service (prefix smtp or lmtp) */
static void client_service(const seg_settings *s, const seg_render_target *t,
                           const char *sv, const char *pfx, GPtrArray *p)
{
    const seg_service_settings *out = &s->svc[SEG_SVC_OUTBOUND];
    g_autofree char *proto = pf_protocols(out->methods);
    gboolean verify = out->tls == SEG_TLSMODE_PREFERRED_VERIFY
        || out->tls == SEG_TLSMODE_REQUIRED_VERIFY;

    if (t->own_level == NULL || !g_strv_contains(t->own_level, sv))
        add(p, "%s/%s_tls_security_level=%s", sv, pfx, smtp_level[out->tls]);
    add(p, "%s/%s_tls_protocols=%s", sv, pfx, proto);
    add(p, "%s/%s_tls_mandatory_protocols=%s", sv, pfx, proto);
    add(p, "%s/%s_tls_ciphers=high", sv, pfx);
    add(p, "%s/%s_tls_mandatory_ciphers=high", sv, pfx);
    add(p, "%s/tls_high_cipherlist=%s", sv, out->ciphers);
    if (verify && s->outbound_ca_file && *s->outbound_ca_file)
        add(p, "%s/%s_tls_CAfile=%s", sv, pfx, s->outbound_ca_file);
    add(p, "%s/tls_config_file=%s", sv, t->tls_config_file);
    add(p, "%s/tls_config_name=%s", sv, SEG_RENDER_APP_OUTBOUND);
}

/* main_logging - main.cf: the TLS logging the record emitters read */
static void main_logging(GPtrArray *m)
{
    add(m, "smtpd_tls_loglevel = 1");
    add(m, "smtpd_client_port_logging = yes");
    add(m, "smtp_tls_loglevel = 1");
}

/* outbound_notices - what Postfix cannot express of the verify modes */
static void outbound_notices(const seg_settings *s, GPtrArray *notices)
{
    seg_tls_mode tls = s->svc[SEG_SVC_OUTBOUND].tls;

    if (tls != SEG_TLSMODE_PREFERRED_VERIFY && tls != SEG_TLSMODE_REQUIRED_VERIFY)
        return;
    if (tls == SEG_TLSMODE_PREFERRED_VERIFY)
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

/* tls_config_text - the OpenSSL configuration file for tls_config_file */
static char *tls_config_text(void)
{
    GString *out = g_string_new(
        "# Postfix tls_config_file, written by segtls-apply: the fixed TLS 1.3\n"
        "# cipher suites. Each service segtls governs selects its section\n"
        "# with -o tls_config_name= in master.cf. Changes here are\n"
        "# overwritten.\n");

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
    main_logging(r->main_cf);
    for (const char *const *sv = t->smtpd_services; sv && *sv; sv++)
        smtpd_service(s, t, *sv, r->master_cf);
    for (const char *const *sv = t->smtp_services; sv && *sv; sv++)
        client_service(s, t, *sv, "smtp", r->master_cf);
    for (const char *const *sv = t->lmtp_services; sv && *sv; sv++)
        client_service(s, t, *sv, "lmtp", r->master_cf);
    outbound_notices(s, r->notices);
    g_free(r->postfix_tls);
    r->postfix_tls = tls_config_text();
    return TRUE;
}
