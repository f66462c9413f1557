/*
 * render_client - settings to the OpenSSL configuration of Other TLS
 * Client Services.
 *
 * Client programs load it through OPENSSL_CONF: the system_default
 * section applies to every SSL_CTX they create. TLS 1.0 and 1.1 need
 * security level 0 under OpenSSL 3. OpenSSL has no setting for host name
 * checks (those are per connection), so the peer_cert switches are also
 * written as "# segtls.peer_cert_*" lines for segtls's own clients; X.509
 * validation on is VerifyMode = Peer.
 */
#include "cipherstr.h"
#include "error.h"
#include "render_client.h"
#include "tlsver.h"

/* seg_render_client - the OPENSSL_CONF file text */
char *seg_render_client(const seg_settings *s, GPtrArray *notices,
                        GError **error)
{
    unsigned methods = seg_settings_other_client_methods(s);
    GString *out;

    if (!seg_render_settings_check(s, error))
        return NULL;
    if (!seg_methods_check(methods, error))
        return NULL;
    out = g_string_new(
        "# OpenSSL configuration of Other TLS Client Services (load with\n"
        "# OPENSSL_CONF=this file), written by segtls-apply; changes here\n"
        "# are overwritten.\n"
        "openssl_conf = segtls_client\n"
        "\n[segtls_client]\nssl_conf = segtls_client_ssl\n"
        "\n[segtls_client_ssl]\nsystem_default = segtls_client_tls\n"
        "\n[segtls_client_tls]\n");
    g_string_append_printf(out, "MinProtocol = %s\nMaxProtocol = %s\n",
                           seg_tlsver_by_bit(seg_methods_lowest(methods))->openssl,
                           seg_tlsver_by_bit(seg_methods_highest(methods))->openssl);
    g_string_append_printf(out, "CipherString = DEFAULT%s\n",
                           (methods & (SEG_TLS_V10 | SEG_TLS_V11))
                           ? ":@SECLEVEL=0" : "");
    g_string_append(out, "Ciphersuites = " SEG_TLS13_SUITES "\n");
    if (s->peer_cert_x509)
        g_string_append(out, "VerifyMode = Peer\n");
    g_string_append_printf(out, "# segtls.peer_cert_fqdn = %s\n"
                           "# segtls.peer_cert_x509 = %s\n",
                           s->peer_cert_fqdn ? "on" : "off",
                           s->peer_cert_x509 ? "on" : "off");
    (void) notices;
    return g_string_free(out, FALSE);
}
