/*
 * render_nginx - settings to the nginx include of the GUI HTTPS server.
 *
 * nginx hands ssl_ciphers to OpenSSL as it is and OpenSSL 3 then runs at
 * security level 1, which rules out TLS 1.0 and 1.1: ":@SECLEVEL=0" is
 * appended when either is enabled. TLS 1.3 suites need ssl_conf_command.
 * The certificate file holds the private key first and then the chain,
 * so ssl_certificate and ssl_certificate_key name the same file (nginx
 * reads the first certificate and the first key of a PEM file). nginx
 * never allows client-initiated renegotiation, which a notice says.
 * When the target names a GUI log, "segtls_gui_log PATH;" is added: the
 * directive of ngx_http_segtls_module, which must then be loaded.
 */
#include "cipherstr.h"
#include "error.h"
#include "render_nginx.h"
#include "tlsver.h"

/* seg_render_nginx - the include file text */
char *seg_render_nginx(const seg_settings *s, GPtrArray *notices,
                       GError **error)
{
    const seg_service_settings *gui = &s->svc[SEG_SVC_GUI];
    GString *out;

    if (!seg_render_settings_check(s, error))
        return NULL;
    out = g_string_new("# GUI HTTPS TLS settings, written by segtls-apply; "
                       "changes here are overwritten.\n"
                       "ssl_protocols");
    for (guint i = 0; i < SEG_TLS_NVERS; i++)
        if (gui->methods & seg_tlsver_table[i].bit)
            g_string_append_printf(out, " %s", seg_tlsver_table[i].nginx);
    g_string_append_printf(out, ";\nssl_ciphers '%s%s';\n", gui->ciphers,
                           (gui->methods & (SEG_TLS_V10 | SEG_TLS_V11))
                           ? ":@SECLEVEL=0" : "");
    g_string_append(out, "ssl_conf_command Ciphersuites " SEG_TLS13_SUITES ";\n");
    if (gui->certificate && *gui->certificate)
        g_string_append_printf(out, "ssl_certificate %s;\n"
                               "ssl_certificate_key %s;\n",
                               gui->certificate, gui->certificate);
    if (gui->renegotiation)
        g_ptr_array_add(notices, g_strdup(
            "notice: GUI HTTPS: nginx never allows client-initiated "
            "renegotiation; TLS renegotiation stays disabled"));
    return g_string_free(out, FALSE);
}

/* seg_render_nginx_target - "segtls_gui_log PATH;" when the target has one */
gboolean seg_render_nginx_target(const seg_render_target *t, char **nginx,
                                 GError **error)
{
    char   *text;

    if (t->gui_log == NULL || *t->gui_log == 0)
        return TRUE;
    if (!seg_render_check_path("gui_log", t->gui_log, error))
        return FALSE;
    text = g_strdup_printf("%ssegtls_gui_log %s;\n", *nginx, t->gui_log);
    g_free(*nginx);
    *nginx = text;
    return TRUE;
}
