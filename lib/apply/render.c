/*
 * render - the rendering as a whole: every target, checked once more.
 *
 * seg_render_new() checks every settings value and the target again
 * (render_check.c),
 * runs the three renderers and finally checks each rendered value once
 * more for characters that could end a value or start a new directive in
 * main.cf, master.cf or nginx.conf. Nothing is returned unless all of it
 * passes.
 */
#include <string.h>

#include "error.h"
#include "quote.h"
#include "render.h"
#include "render_client.h"
#include "render_nginx.h"
#include "render_postfix.h"
#include "tlsver.h"

/* Characters never allowed in a rendered value. */
static const char render_bad[] = "\n\r;{}'\"#$\\`";

/* first_bad - first character of s that is a control character or in bad */
static const char *first_bad(const char *s, const char *bad)
{
    for (const char *p = s; *p; p++)
        if ((guchar) *p < 0x20 || (guchar) *p == 0x7f || strchr(bad, *p))
            return p;
    return NULL;
}

/* check_lines - the last line of defence over rendered values */
static gboolean check_lines(const char *what, GPtrArray *lines, GError **error)
{
    for (guint i = 0; i < lines->len; i++) {
        const char *line = g_ptr_array_index(lines, i);
        const char *bad = first_bad(line, render_bad);

        if (bad) {
            g_autofree char *q = seg_quote_value(line);
            g_autofree char *c = seg_quote_char((guchar) *bad);

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
    g_free(r->policy_map);
    g_free(r->ehlo_map);
    g_free(r->groups);
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
    {
        const struct {
            const char *title;
            const char *name;
            const char *text;
        } tables[] = {
            {"Postfix smtp_tls_policy_maps", SEG_RENDER_POLICY_MAP, r->policy_map},
            {"Postfix smtpd_discard_ehlo_keyword_address_maps", SEG_RENDER_EHLO_MAP,
             r->ehlo_map},
            {"segtls-policy sender groups", SEG_RENDER_GROUPS_FILE, r->groups},
        };

        for (guint i = 0; i < G_N_ELEMENTS(tables); i++) {
            g_autofree char *path = NULL;

            if (tables[i].text == NULL)
                continue;
            path = seg_render_table_path(t, tables[i].name);
            g_string_append_printf(out, "### %s %s\n", tables[i].title, path);
            g_string_append(out, tables[i].text);
        }
    }
    g_string_append_printf(out, "### nginx include %s\n", nginx_include);
    g_string_append(out, r->nginx);
    g_string_append_printf(out, "### OpenSSL client configuration %s\n",
                           client_conf);
    g_string_append(out, r->client);
    g_string_append(out, "### Notices\n");
    add_lines(out, r->notices);
    return g_string_free(out, FALSE);
}
