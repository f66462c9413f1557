/*
 * render_check - what every renderer shares: the target description, the
 * rendering being built, and the checks each value passes again before it
 * is rendered (versions, cipher strings, paths, master.cf service names).
 */
#ifndef SEGTLS_RENDER_CHECK_H
#define SEGTLS_RENDER_CHECK_H

#include <glib.h>
#include "settings.h"

/* OpenSSL application names in the Postfix tls_config_file. */
#define SEG_RENDER_APP_INBOUND  "segtls_inbound"
#define SEG_RENDER_APP_OUTBOUND "segtls_outbound"

#define SEG_RENDER_DEFAULT_SMTPD_SERVICE "smtp/inet"
#define SEG_RENDER_DEFAULT_SMTP_SERVICE  "smtp/unix"

/*
 * The master.cf services segtls governs and the paths it writes. Inbound
 * SMTP governs the smtpd services, Outbound SMTP the client services
 * (smtp_* parameters for those running smtp, lmtp_* for those running
 * lmtp); each gets every TLS setting segtls owns as its own -o overrides.
 */
typedef struct seg_render_target {
    const char *const *smtpd_services;  /* master.cf "name/type", NULL ends */
    const char *const *smtp_services;   /* "smtp/unix", "relay/unix", ... */
    const char *tls_config_file;        /* absolute path */
    const char *gui_log;                /* nginx "segtls_gui_log PATH;" (needs
                                           ngx_http_segtls_module); NULL or
                                           "" = none */
    const char *const *lmtp_services;   /* "lmtp/unix"; NULL = none */
    const char *const *own_level;       /* services whose master.cf entry sets
                                           its own *_tls_security_level (the
                                           administrator's, e.g. submission's
                                           encrypt): left alone; NULL = none */
    /*
     * Destination Controls and sender groups. The three tables are
     * written beside tls_config_file: postfix-tls-policy (texthash:
     * smtp_tls_policy_maps), postfix-ehlo-discard.cidr
     * (smtpd_discard_ehlo_keyword_address_maps) and sender-groups (what
     * segtls-policy reads).
     */
    const char *policy_service;         /* check_policy_service endpoint,
                                           "inet:127.0.0.1:10045" or
                                           "unix:/PATH"; NULL = the default */
    const char *sender_restrictions;    /* main.cf's smtpd_sender_restrictions
                                           (kept after the policy check);
                                           NULL = none */
    const char *const *routes;          /* "DOMAIN<TAB>NEXTHOP" for entries
                                           whose mail goes to another next
                                           hop (transport map, relayhost):
                                           Postfix looks the TLS policy up by
                                           next hop; NULL = none */
    const char *relayhost;              /* main.cf relayhost, NULL = none */
} seg_render_target;

#define SEG_RENDER_DEFAULT_POLICY_SERVICE "inet:127.0.0.1:10045"
#define SEG_RENDER_POLICY_MAP   "postfix-tls-policy"
#define SEG_RENDER_EHLO_MAP     "postfix-ehlo-discard.cidr"
#define SEG_RENDER_GROUPS_FILE  "sender-groups"

typedef struct seg_render {
    GPtrArray  *main_cf;        /* char *: "name = value" (logging only) */
    GPtrArray  *master_cf;      /* char *: "service/type/parameter=value" */
    char       *postfix_tls;    /* text of the tls_config_file */
    char       *nginx;          /* text of the nginx include */
    char       *client;         /* text of the OPENSSL_CONF file */
    GPtrArray  *notices;        /* char *: "notice: Service: ..." */
    char       *policy_map;     /* smtp_tls_policy_maps text, NULL: none */
    char       *ehlo_map;       /* the cidr table, NULL: none */
    char       *groups;         /* the sender-group table, NULL: none */
} seg_render;

/* seg_render_table_path - NAME beside the tls_config_file (newly allocated) */
char *seg_render_table_path(const seg_render_target *t, const char *name);

/* seg_render_check_policy_service - "inet:HOST:PORT" or "unix:/PATH" */
gboolean seg_render_check_policy_service(const char *endpoint, GError **error);

/* seg_render_settings_check - every settings value, checked again */
gboolean seg_render_settings_check(const seg_settings *s, GError **error);

/* seg_render_target_check - service names, tls_config_file and gui_log paths */
gboolean seg_render_target_check(const seg_render_target *t, GError **error);

/*
 * seg_render_check_path - an absolute path without blanks, commas,
 * control characters or any of ; { } ' " # $ \ `. "what" names it in
 * the message: "inbound.certificate: character ';' is not allowed in a
 * path".
 */
gboolean seg_render_check_path(const char *what, const char *path,
                               GError **error);

/* seg_render_check_service - "name/type" of a master.cf service */
gboolean seg_render_check_service(const char *service, GError **error);

#endif
