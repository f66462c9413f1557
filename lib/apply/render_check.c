/*
 * render_check - the checks every renderer runs again before it renders.
 *
 * A value reaches main.cf, master.cf and nginx.conf only after it has
 * passed the same rule as when it was set (seg_methods_check,
 * seg_cipher_string_check, seg_path_check), so that a hand-edited
 * settings file or a caller of the library cannot inject a directive.
 */
#include <string.h>

#include "cipherstr.h"
#include "destctl.h"
#include "error.h"
#include "path.h"
#include "quote.h"
#include "render_check.h"
#include "tlsver.h"

/* Types of master.cf services. */
static const char *const service_types[] = {
    "inet", "unix", "unix-dgram", "fifo", "pass",
};

/* seg_render_check_path - seg_path_check(), the message naming what and path */
gboolean seg_render_check_path(const char *what, const char *path, GError **error)
{
    g_autoptr(GError) err = NULL;

    if (seg_path_check(path, &err))
        return TRUE;
    g_autofree char *q = seg_quote_value(path ? path : "");

    g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID, "%s: %s: %s", what, q, err->message);
    return FALSE;
}

/* seg_render_check_service - "name/type" of a master.cf service */
gboolean seg_render_check_service(const char *service, GError **error)
{
    g_autofree char *q = seg_quote_value(service ? service : "");
    const char *slash = service ? strchr(service, '/') : NULL;

    if (slash == NULL || slash == service) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                    "master.cf service %s: expected name/type, "
                    "e.g. smtp/inet", q);
        return FALSE;
    }
    for (const char *p = service; p < slash; p++) {
        if (!g_ascii_isalnum(*p) && !strchr("._:-[]", *p)) {
            g_autofree char *c = seg_quote_char((guchar) *p);

            g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                        "master.cf service %s: character '%s' is not "
                        "allowed in a service name", q, c);
            return FALSE;
        }
    }
    for (guint i = 0; i < G_N_ELEMENTS(service_types); i++)
        if (strcmp(slash + 1, service_types[i]) == 0)
            return TRUE;
    g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                "master.cf service %s: unknown service type", q);
    return FALSE;
}

/* check_ciphers - one service's cipher string, with the key in the message */
static gboolean check_ciphers(seg_service svc, const char *ciphers,
                              GError **error)
{
    g_autoptr(GError) err = NULL;

    if (ciphers != NULL && seg_cipher_string_check(ciphers, &err))
        return TRUE;
    g_autofree char *q = seg_quote_value(ciphers ? ciphers : "");

    g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID, "%s.ciphers: %s: %s",
                seg_service_key(svc), q,
                err ? err->message : "no cipher string");
    return FALSE;
}

/* seg_render_settings_check - every settings value, checked again */
gboolean seg_render_settings_check(const seg_settings *s, GError **error)
{
    static const seg_tls_mode max_mode[SEG_SVC_COUNT] = {
        [SEG_SVC_GUI] = SEG_TLSMODE_PREFERRED,
        [SEG_SVC_INBOUND] = SEG_TLSMODE_REQUIRED,
        [SEG_SVC_OUTBOUND] = SEG_TLSMODE_REQUIRED_VERIFY,
    };

    for (int svc = 0; svc < SEG_SVC_COUNT; svc++) {
        const seg_service_settings *ss = &s->svc[svc];
        const char *key = seg_service_key(svc);
        g_autoptr(GError) err = NULL;

        if (!seg_methods_check(ss->methods, &err)
            || (ss->methods & ~SEG_TLS_ALL) != 0) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                        "%s.methods: 0x%x: %s", key, ss->methods,
                        err ? err->message : "unknown TLS version");
            return FALSE;
        }
        if (!check_ciphers(svc, ss->ciphers, error))
            return FALSE;
        if ((unsigned) ss->tls > (unsigned) max_mode[svc]) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                        "%s.tls: %d: no such TLS mode", key, (int) ss->tls);
            return FALSE;
        }
        if (ss->certificate != NULL && *ss->certificate) {
            g_autofree char *what = g_strdup_printf("%s.certificate", key);

            if (!seg_render_check_path(what, ss->certificate, error))
                return FALSE;
        }
    }
    if (s->outbound_ca_file != NULL && *s->outbound_ca_file
        && !seg_render_check_path("outbound.ca_file", s->outbound_ca_file,
                                  error))
        return FALSE;
    return seg_destctl_check(s->destctl, s->svc[SEG_SVC_OUTBOUND].methods, error);
}

/* seg_render_check_policy_service - "inet:HOST:PORT" or "unix:/PATH" */
gboolean seg_render_check_policy_service(const char *endpoint, GError **error)
{
    g_autofree char *q = seg_quote_value(endpoint ? endpoint : "");
    const char *rest;

    if (endpoint != NULL && g_str_has_prefix(endpoint, "unix:"))
        return seg_render_check_path("policy_service", endpoint + 5, error);
    if (endpoint != NULL && g_str_has_prefix(endpoint, "inet:")) {
        rest = endpoint + 5;
        if (*rest && strlen(rest) < 128 && strrchr(rest, ':') != NULL
            && rest[strspn(rest, "abcdefghijklmnopqrstuvwxyz"
                           "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]")] == 0
            && g_ascii_isdigit(strrchr(rest, ':')[1]))
            return TRUE;
    }
    g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID, "policy_service: %s: must be "
                "inet:HOST:PORT or unix:/PATH", q);
    return FALSE;
}

/* seg_render_target_check - service names and the tls_config_file path */
gboolean seg_render_target_check(const seg_render_target *t, GError **error)
{
    const char *const *lists[] = {
        t->smtpd_services, t->smtp_services, t->lmtp_services, t->own_level,
    };

    for (guint i = 0; i < G_N_ELEMENTS(lists); i++)
        for (const char *const *sv = lists[i]; sv && *sv; sv++)
            if (!seg_render_check_service(*sv, error))
                return FALSE;
    if (t->gui_log != NULL && *t->gui_log != 0
        && !seg_render_check_path("gui_log", t->gui_log, error))
        return FALSE;
    if (t->policy_service != NULL
        && !seg_render_check_policy_service(t->policy_service, error))
        return FALSE;
    return seg_render_check_path("tls_config_file", t->tls_config_file, error);
}
