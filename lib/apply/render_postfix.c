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
#include <stdlib.h>
#include <string.h>

#include "cipherstr.h"
#include "destctl.h"
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

/* seg_render_table_path - NAME beside the tls_config_file */
char *seg_render_table_path(const seg_render_target *t, const char *name)
{
    g_autofree char *dir = g_path_get_dirname(t->tls_config_file);

    return g_build_filename(dir, name, NULL);
}

/* group_count - sender groups with this TLS mode (-1: all) */
static guint group_count(const seg_settings *s, int tls)
{
    const GPtrArray *groups = seg_destctl_groups(s->destctl);
    guint   n = 0;

    for (guint i = 0; i < groups->len; i++)
        if (tls < 0 || ((seg_sender_group *) g_ptr_array_index(groups, i))->tls == tls)
            n++;
    return n;
}

/*
 * groups_enforce - the policy service decides for clients in no group
 * too: inbound.tls is required, and some group may not be (smtpd itself
 * then offers TLS to everyone, level may)
 */
static gboolean groups_enforce(const seg_settings *s)
{
    return group_count(s, -1) > 0
        && s->svc[SEG_SVC_INBOUND].tls == SEG_TLSMODE_REQUIRED;
}

/* policy_needed - does any client have to be refused by segtls-policy? */
static gboolean policy_needed(const seg_settings *s)
{
    return group_count(s, SEG_TLSMODE_REQUIRED) > 0 || groups_enforce(s);
}

/* dest_verifies - does a destination entry verify certificates? */
static gboolean dest_verifies(const seg_settings *s)
{
    const GPtrArray *dests = seg_destctl_dests(s->destctl);

    for (guint i = 0; i < dests->len; i++) {
        int     tls = ((seg_dest_entry *) g_ptr_array_index(dests, i))->tls;

        if (tls == SEG_TLSMODE_PREFERRED_VERIFY || tls == SEG_TLSMODE_REQUIRED_VERIFY)
            return TRUE;
    }
    return FALSE;
}

/* commas - a restriction list without blanks (postconf -P takes none) */
static char *commas(const char *list)
{
    g_auto(GStrv) words = g_strsplit_set(list, " \t\n,", -1);
    GString *out = g_string_new(NULL);

    for (char **w = words; *w; w++)
        if (**w)
            g_string_append_printf(out, "%s%s", out->len ? "," : "", *w);
    return g_string_free(out, FALSE);
}

/*
 * smtpd_groups - the sender-group overrides of one smtpd service: the
 * EHLO keyword map that withholds STARTTLS from the "no" groups, and the
 * policy service asked at MAIL FROM (smtpd_delay_reject=no, so that the
 * refusal answers MAIL FROM itself) with DUNNO, i.e. accept, when it
 * cannot be reached
 */
static void smtpd_groups(const seg_settings *s, const seg_render_target *t,
                         const char *sv, GPtrArray *p)
{
    if (group_count(s, SEG_TLSMODE_NO) > 0) {
        g_autofree char *map = seg_render_table_path(t, SEG_RENDER_EHLO_MAP);

        add(p, "%s/smtpd_discard_ehlo_keyword_address_maps=cidr:%s", sv, map);
    }
    if (policy_needed(s)) {
        g_autofree char *admin = commas(t->sender_restrictions ? t->sender_restrictions
                                        : "");

        add(p, "%s/smtpd_sender_restrictions=check_policy_service,%s%s%s", sv,
            t->policy_service ? t->policy_service : SEG_RENDER_DEFAULT_POLICY_SERVICE,
            *admin ? "," : "", admin);
        add(p, "%s/smtpd_delay_reject=no", sv);
        add(p, "%s/smtpd_policy_service_default_action=DUNNO", sv);
        add(p, "%s/smtpd_policy_service_timeout=10s", sv);
    }
}

/* Postfix policy-table levels of the destination modes. */
static const char *const dest_level[] = {
    [SEG_TLSMODE_NO] = "none",
    [SEG_TLSMODE_PREFERRED] = "may",
    [SEG_TLSMODE_REQUIRED] = "encrypt",
    [SEG_TLSMODE_PREFERRED_VERIFY] = "may",
    [SEG_TLSMODE_REQUIRED_VERIFY] = "secure",
};

/* dest_attrs - the policy-table value of one entry */
static char *dest_attrs(const seg_dest_entry *e)
{
    GString *out = g_string_new(dest_level[e->tls]);

    if (e->tls == SEG_TLSMODE_NO)
        return g_string_free(out, FALSE);
    if (e->tls == SEG_TLSMODE_REQUIRED_VERIFY)
        g_string_append_printf(out, " match=%s", e->domain[0] == '.'
                               ? "nexthop:dot-nexthop" : e->domain);
    if (e->methods)
        g_string_append_printf(out, " protocols=>=%s:<=%s",
                               seg_tlsver_by_bit(seg_methods_lowest(e->methods))->postfix,
                               seg_tlsver_by_bit(seg_methods_highest(e->methods))->postfix);
    if (*e->ciphers)
        g_string_append_printf(out, " ciphers=%s", e->ciphers);
    if (*e->exclude)
        g_string_append_printf(out, " exclude=%s", e->exclude);
    return g_string_free(out, FALSE);
}

/* route_of - the next hop an entry's mail goes to, or NULL */
static const char *route_of(const seg_render_target *t, const char *domain)
{
    gsize   n = strlen(domain);

    for (const char *const *r = t->routes; r && *r; r++)
        if (strncmp(*r, domain, n) == 0 && (*r)[n] == '\t')
            return *r + n + 1;
    return NULL;
}

/*
 * policy_map_text - smtp_tls_policy_maps: each entry under its domain,
 * and again under the next hop its mail really goes to (Postfix looks
 * the policy up by next hop: "[127.0.0.1]:2525" for a transport map
 * entry smtp:[127.0.0.1]:2525). Two entries whose mail goes to one next
 * hop with different policies cannot both hold: an error.
 */
static char *policy_map_text(const seg_settings *s, const seg_render_target *t,
                             GPtrArray *notices, GError **error)
{
    const GPtrArray *dests = seg_destctl_dests(s->destctl);
    g_autoptr(GHashTable) hops = g_hash_table_new_full(g_str_hash, g_str_equal,
                                                       g_free, g_free);
    GString *out = g_string_new(
        "# Postfix smtp_tls_policy_maps (texthash), written by segtls-apply from\n"
        "# the Destination Controls (segtls destconfig). Changes here are\n"
        "# overwritten.\n");
    g_autoptr(GString) routed = g_string_new(NULL);

    for (guint i = 0; i < dests->len; i++) {
        const seg_dest_entry *e = g_ptr_array_index(dests, i);
        g_autofree char *attrs = dest_attrs(e);
        const char *hop = route_of(t, e->domain);
        const char *other;

        g_string_append_printf(out, "%s %s\n", e->domain, attrs);
        if (e->tls == SEG_TLSMODE_PREFERRED_VERIFY)
            add(notices, "notice: Outbound SMTP: destination %s: preferred-verify "
                "is Postfix level \"may\": certificates are logged, mail is "
                "delivered when verification fails", e->domain);
        if (hop == NULL)
            continue;
        if ((other = g_hash_table_lookup(hops, hop)) != NULL && strcmp(other, attrs) != 0) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                        "destination %s: its mail goes to next hop %s like that of "
                        "another entry with another TLS policy; Postfix chooses the "
                        "TLS policy by next hop", e->domain, hop);
            g_string_free(out, TRUE);
            return NULL;
        }
        if (other == NULL) {
            g_hash_table_insert(hops, g_strdup(hop), g_strdup(attrs));
            g_string_append_printf(routed, "%s %s\n", hop, attrs);
        }
    }
    if (routed->len)
        g_string_append_printf(out, "# next hops of the entries above\n%s", routed->str);
    g_string_append(out, "# end\n");
    return g_string_free(out, FALSE);
}

/* by_prefix - longer networks first (a cidr table takes the first match) */
static gint by_prefix(gconstpointer a, gconstpointer b)
{
    const char *x = strchr(*(const char *const *) a, '/');
    const char *y = strchr(*(const char *const *) b, '/');
    gint    lx = x ? atoi(x + 1) : 0, ly = y ? atoi(y + 1) : 0;

    return ly != lx ? ly - lx : strcmp(*(const char *const *) a, *(const char *const *) b);
}

/*
 * ehlo_map_text - the cidr table of smtpd_discard_ehlo_keyword_address_maps:
 * "starttls" for the networks of the "no" groups, "silent-discard"
 * (nothing withheld) for the other groups' networks, longest first
 */
static char *ehlo_map_text(const seg_settings *s)
{
    const GPtrArray *groups = seg_destctl_groups(s->destctl);
    g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
    GString *out = g_string_new(
        "# Postfix smtpd_discard_ehlo_keyword_address_maps (cidr), written by\n"
        "# segtls-apply from the sender groups: STARTTLS is withheld from the\n"
        "# groups with TLS no. Changes here are overwritten.\n");

    for (guint i = 0; i < groups->len; i++) {
        const seg_sender_group *g = g_ptr_array_index(groups, i);

        for (guint k = 0; k < g->members->len; k++) {
            const char *m = g_ptr_array_index(g->members, k);

            if (strchr(m, '/') != NULL)
                g_ptr_array_add(lines, g_strdup_printf("%s %s", m, g->tls == SEG_TLSMODE_NO
                                                       ? "starttls" : "silent-discard"));
        }
    }
    g_ptr_array_sort(lines, by_prefix);
    for (guint i = 0; i < lines->len; i++)
        g_string_append_printf(out, "%s\n", (char *) g_ptr_array_index(lines, i));
    g_string_append(out, "# end\n");
    return g_string_free(out, FALSE);
}

/* smtpd_service - the overrides of one service Inbound SMTP governs */
static void smtpd_service(const seg_settings *s, const seg_render_target *t,
                          const char *sv, GPtrArray *p)
{
    const seg_service_settings *in = &s->svc[SEG_SVC_INBOUND];
    g_autofree char *proto = pf_protocols(in->methods);

    if (t->own_level == NULL || !g_strv_contains(t->own_level, sv))
        add(p, "%s/smtpd_tls_security_level=%s", sv,
            smtpd_level[groups_enforce(s) ? SEG_TLSMODE_PREFERRED : in->tls]);
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
    smtpd_groups(s, t, sv, p);
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
    if ((verify || dest_verifies(s)) && s->outbound_ca_file && *s->outbound_ca_file)
        add(p, "%s/%s_tls_CAfile=%s", sv, pfx, s->outbound_ca_file);
    if (seg_destctl_dests(s->destctl)->len > 0) {
        g_autofree char *map = seg_render_table_path(t, SEG_RENDER_POLICY_MAP);

        add(p, "%s/%s_tls_policy_maps=texthash:%s", sv, pfx, map);
    }
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
    if (seg_destctl_dests(s->destctl)->len > 0
        && (r->policy_map = policy_map_text(s, t, r->notices, error)) == NULL)
        return FALSE;
    if (group_count(s, SEG_TLSMODE_NO) > 0)
        r->ehlo_map = ehlo_map_text(s);
    if (policy_needed(s))
        r->groups = seg_destctl_groups_format(s->destctl, s->svc[SEG_SVC_INBOUND].tls);
    if (groups_enforce(s))
        add(r->notices, "notice: Inbound SMTP: inbound.tls is required with sender "
            "groups: smtpd offers TLS to every client (level may) and segtls-policy "
            "refuses MAIL FROM without TLS from clients in no group");
    if (t->relayhost != NULL && *t->relayhost && seg_destctl_dests(s->destctl)->len > 0)
        add(r->notices, "notice: Outbound SMTP: relayhost %s: mail without a "
            "transport map entry goes there, and Postfix chooses its TLS policy by "
            "that next hop", t->relayhost);
    g_free(r->postfix_tls);
    r->postfix_tls = tls_config_text();
    return TRUE;
}
