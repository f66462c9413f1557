/*
 * settings - the SSL Configuration model (SPEC section 2).
 *
 * seg_settings holds every setting of every service. All access by name
 * ("inbound.methods") goes through one table in settings.c: each row has
 * the key, the service, the kind of value, the default and the parser
 * that enforces the rules. Values are stored parsed; seg_settings_get()
 * gives the canonical text form that the key file and the control
 * protocol carry.
 *
 * Beyond the gateway's settings there are three file settings that the
 * analysis and the renderers need: gui.certificate and
 * inbound.certificate (a PEM file with the private key first, then the
 * chain, as Postfix's *_tls_chain_files; empty = none configured) and
 * outbound.ca_file (trust anchors for the verify modes; empty = none).
 */
#ifndef SEGTLS_SETTINGS_H
#define SEGTLS_SETTINGS_H

#include <glib.h>

typedef enum {
    SEG_SVC_GUI,
    SEG_SVC_INBOUND,
    SEG_SVC_OUTBOUND,
    SEG_SVC_COUNT
} seg_service;

typedef enum {
    SEG_TLSMODE_NO,
    SEG_TLSMODE_PREFERRED,
    SEG_TLSMODE_REQUIRED,
    SEG_TLSMODE_PREFERRED_VERIFY,       /* outbound only */
    SEG_TLSMODE_REQUIRED_VERIFY,        /* outbound only */
} seg_tls_mode;

typedef struct seg_service_settings {
    unsigned        methods;            /* SEG_TLS_V1x mask, contiguous */
    char           *ciphers;            /* OpenSSL cipher string */
    gboolean        renegotiation;      /* gui, inbound */
    seg_tls_mode    tls;                /* inbound, outbound */
    char           *certificate;        /* gui, inbound: PEM key+chain or "" */
} seg_service_settings;

typedef struct seg_settings {
    seg_service_settings svc[SEG_SVC_COUNT];
    gboolean        other_client_tlsv1_0;
    gboolean        peer_cert_fqdn;
    gboolean        peer_cert_x509;
    char           *outbound_ca_file;   /* "" = none */
    struct seg_destctl *destctl;        /* Destination Controls and sender
                                           groups (destctl.h); never NULL */
} seg_settings;

/* Service names: "gui" / "GUI HTTPS", "inbound" / "Inbound SMTP", ... */
const char *seg_service_key(seg_service svc);       /* "inbound" */
const char *seg_service_title(seg_service svc);     /* "Inbound SMTP" */

#define SEG_DEFAULT_GUI_CIPHERS \
    "HIGH:MEDIUM:@STRENGTH:!aNULL:!eNULL:!LOW:!DES:!MD5:!EXP:!PSK:!DSS:!RC2:" \
    "!RC4:!SEED:!ECDSA:!ADH:!IDEA:!3DES:!SSLv2:!SSLv3:!TLSv1:-aNULL:-EXPORT:" \
    "-IDEA:!DHE-RSA-AES128-CCM:!DHE-RSA-AES256-CCM:!DHE-RSA-AES256-SHA"
#define SEG_DEFAULT_INBOUND_CIPHERS SEG_DEFAULT_GUI_CIPHERS
#define SEG_DEFAULT_OUTBOUND_CIPHERS \
    "ECDH+aRSA:ECDH+ECDSA:DHE+DSS+AES:AES128:AES256:!3DES:!IDEA:!SRP:" \
    "!AESGCM+DH+aRSA:!AESGCM+RSA:!aNULL:!eNULL:!kRSA:@STRENGTH:-aNULL:" \
    "-EXPORT:-IDEA:!DHE-RSA-AES128-CCM:!DHE-RSA-AES256-CCM:" \
    "!ECDHE-ECDSA-CAMELLIA128-SHA256:!ECDHE-RSA-CAMELLIA128-SHA256:" \
    "!ECDHE-ECDSA-CAMELLIA256-SHA384:!ECDHE-RSA-CAMELLIA256-SHA384:" \
    "!ECDHE-ECDSA-AES128-CCM:!ECDHE-ECDSA-AES256-CCM:!DHE-RSA-AES256-SHA"

seg_settings *seg_settings_new_default(void);
seg_settings *seg_settings_copy(const seg_settings *s);
void seg_settings_free(seg_settings *s);
gboolean seg_settings_equal(const seg_settings *a, const seg_settings *b);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(seg_settings, seg_settings_free)

/* All setting keys in listing order, NULL terminated. */
const char *const *seg_settings_keys(void);

/* Does the key exist? */
gboolean seg_settings_has_key(const char *key);

/*
 * seg_settings_set - parse and store one value. On error nothing changes
 * and the message names the key, the value and the rule, e.g.
 *   inbound.methods: "1.0,1.2": TLS v1.0 and TLS v1.2 cannot be enabled without TLS v1.1
 *   gui.ciphers: "HIGH\n...": character '\n' is not allowed in a cipher string
 */
gboolean seg_settings_set(seg_settings *s, const char *key, const char *value,
                          GError **error);

/* seg_settings_get - canonical text of one value, newly allocated. */
char *seg_settings_get(const seg_settings *s, const char *key);

/* tls mode names: "no", "preferred", "required", "preferred-verify", ... */
const char *seg_tls_mode_name(seg_tls_mode mode);
gboolean seg_tls_mode_parse(const char *name, gboolean outbound, seg_tls_mode *mode);

/* seg_settings_key_service - service of "inbound.methods", -1 for others */
int seg_settings_key_service(const char *key);

/* seg_settings_changed_services - bit 1 << svc for each service that differs */
unsigned seg_settings_changed_services(const seg_settings *a, const seg_settings *b);

/* seg_settings_key_is_file - gui.certificate, inbound.certificate, outbound.ca_file */
gboolean seg_settings_key_is_file(const char *key);

/*
 * seg_renegotiation_note - what really holds where the server cannot do
 * what the setting says, else NULL: GUI HTTPS with renegotiation enabled
 * gives "nginx cannot renegotiate; not applied" (nginx never allows
 * client-initiated renegotiation). Every place that shows the setting
 * shows the note: "Enabled (nginx cannot renegotiate; not applied)".
 */
const char *seg_renegotiation_note(const seg_settings *s, seg_service svc);

/*
 * Other TLS client services: their versions are 1.1-1.2, plus 1.0 when
 * other_client.tlsv1_0 is on.
 */
unsigned seg_settings_other_client_methods(const seg_settings *s);

#endif
