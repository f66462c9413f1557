/*
 * render - checks shared by the renderers, and the rendering as a whole.
 *
 * seg_render_new() checks every settings value and the target again,
 * runs the three renderers and finally checks each rendered value once
 * more for characters that could end a value or start a new directive in
 * main.cf, master.cf or nginx.conf. Nothing is returned unless all of it
 * passes.
 */
#include <string.h>

#include "error.h"
#include "render.h"
#include "tlsver.h"

#define RENDER_PATH_MAX 1024

/* Characters never allowed in a rendered value. */
static const char render_bad[] = "\n\r;{}'\"#$\\`";
/* ... and in paths and service names, where blanks and commas split lists. */
static const char path_bad[] = "\n\r;{}'\"#$\\`, \t";

/* Types of master.cf services. */
static const char *const service_types[] = {
    "inet", "unix", "unix-dgram", "fifo", "pass",
};

/* char_text - one character as an error message shows it */
static char *char_text(guchar c)
{
    if (c < 0x20 || c >= 0x7f) {
        char ch[2] = {(char) c, 0};

        if (c == '\n' || c == '\r' || c == '\t')
            return g_strescape(ch, NULL);
        return g_strdup_printf("\\x%02x", c);
    }
    return g_strdup_printf("%c", c);
}

/* first_bad - first character of s that is a control character or in bad */
static const char *first_bad(const char *s, const char *bad)
{
    for (const char *p = s; *p; p++)
        if ((guchar) *p < 0x20 || (guchar) *p == 0x7f || strchr(bad, *p))
            return p;
    return NULL;
}

/* seg_render_check_path - an absolute path that is safe in every file */
gboolean seg_render_check_path(const char *what, const char *path,
                               GError **error)
{
    const char *bad;

    if (path == NULL || *path != '/') {
        g_autofree char *q = seg_quote_value(path ? path : "");

        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                    "%s: %s: path must be absolute", what, q);
        return FALSE;
    }
    if (strlen(path) > RENDER_PATH_MAX) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                    "%s: path is longer than %d bytes", what, RENDER_PATH_MAX);
        return FALSE;
    }
    if ((bad = first_bad(path, path_bad)) != NULL) {
        g_autofree char *q = seg_quote_value(path);
        g_autofree char *c = char_text((guchar) *bad);

        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                    "%s: %s: character '%s' is not allowed in a path",
                    what, q, c);
        return FALSE;
    }
    if (!g_utf8_validate(path, -1, NULL)) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                    "%s: path is not valid UTF-8", what);
        return FALSE;
    }
    return TRUE;
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
            g_autofree char *c = char_text((guchar) *p);

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
    return TRUE;
}

/* seg_render_target_check - service names and the tls_config_file path */
gboolean seg_render_target_check(const seg_render_target *t, GError **error)
{
    const char *const *lists[] = {t->smtpd_services, t->smtp_services};

    for (guint i = 0; i < G_N_ELEMENTS(lists); i++)
        for (const char *const *sv = lists[i]; sv && *sv; sv++)
            if (!seg_render_check_service(*sv, error))
                return FALSE;
    if (t->gui_log != NULL && *t->gui_log != 0
        && !seg_render_check_path("gui_log", t->gui_log, error))
        return FALSE;
    return seg_render_check_path("tls_config_file", t->tls_config_file, error);
}

/* check_lines - the last line of defence over rendered values */
static gboolean check_lines(const char *what, GPtrArray *lines, GError **error)
{
    for (guint i = 0; i < lines->len; i++) {
        const char *line = g_ptr_array_index(lines, i);
        const char *bad = first_bad(line, render_bad);

        if (bad) {
            g_autofree char *q = seg_quote_value(line);
            g_autofree char *c = char_text((guchar) *bad);

            g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                        "%s: %s: character '%s' is not allowed", what, q, c);
            return FALSE;
        }
    }
    return TRUE;
}

/* seg_render_new - render every target */
seg_render *seg_render_new(const seg_settings *s, const seg_render_target *t,
                           GError **error)
{
    g_autoptr(seg_render) r = g_new0(seg_render, 1);

    r->main_cf = g_ptr_array_new_with_free_func(g_free);
    r->master_cf = g_ptr_array_new_with_free_func(g_free);
    r->notices = g_ptr_array_new_with_free_func(g_free);
    if (!seg_render_postfix(s, t, r, error)
        || (r->nginx = seg_render_nginx(s, r->notices, error)) == NULL
        || !seg_render_nginx_target(t, &r->nginx, error)
        || (r->client = seg_render_client(s, r->notices, error)) == NULL
        || !check_lines("main.cf", r->main_cf, error)
        || !check_lines("master.cf", r->master_cf, error))
        return NULL;
    return g_steal_pointer(&r);
}

/* seg_render_free - release a rendering */
void seg_render_free(seg_render *r)
{
    if (r == NULL)
        return;
    if (r->main_cf)
        g_ptr_array_unref(r->main_cf);
    if (r->master_cf)
        g_ptr_array_unref(r->master_cf);
    if (r->notices)
        g_ptr_array_unref(r->notices);
    g_free(r->postfix_tls);
    g_free(r->nginx);
    g_free(r->client);
    g_free(r);
}

/* add_lines - every string of an array, one per line */
static void add_lines(GString *out, GPtrArray *lines)
{
    for (guint i = 0; i < lines->len; i++)
        g_string_append_printf(out, "%s\n", (char *) g_ptr_array_index(lines, i));
}

/* seg_render_format - the whole rendering, one "### " section per target */
char *seg_render_format(const seg_render *r, const seg_render_target *t,
                        const char *nginx_include, const char *client_conf)
{
    GString *out = g_string_new(NULL);

    g_string_append(out, "### Postfix main.cf (postconf -e)\n");
    add_lines(out, r->main_cf);
    g_string_append(out, "### Postfix master.cf (postconf -P)\n");
    add_lines(out, r->master_cf);
    g_string_append_printf(out, "### Postfix tls_config_file %s\n",
                           t->tls_config_file);
    g_string_append(out, r->postfix_tls);
    g_string_append_printf(out, "### nginx include %s\n", nginx_include);
    g_string_append(out, r->nginx);
    g_string_append_printf(out, "### OpenSSL client configuration %s\n",
                           client_conf);
    g_string_append(out, r->client);
    g_string_append(out, "### Notices\n");
    add_lines(out, r->notices);
    return g_string_free(out, FALSE);
}
