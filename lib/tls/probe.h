/*
 * probe - real TLS handshakes against a running server, one version at a
 * time (SPEC sections 5 and 8).
 *
 * SEG_PROBE_SMTP reads the banner, sends EHLO, checks that STARTTLS is
 * offered, sends STARTTLS and then shakes hands; SEG_PROBE_TLS shakes
 * hands at once (HTTPS); SEG_PROBE_SMTPS shakes hands at once and then
 * reads the banner over TLS (SMTP in TLS wrapper mode, port 465). The client is pinned to one version (minimum =
 * maximum) and offers every cipher ("ALL:@SECLEVEL=0" and every TLS 1.3
 * suite) so that only the server decides, unless the options give a
 * cipher string. After the handshake the probe says QUIT (SMTP) and
 * closes the TLS session politely.
 */
#ifndef SEGTLS_PROBE_H
#define SEGTLS_PROBE_H

#include <glib.h>
#include "tlsver.h"

typedef enum { SEG_PROBE_SMTP, SEG_PROBE_TLS, SEG_PROBE_SMTPS } seg_probe_kind;

/* What became of one attempt. */
typedef enum {
    SEG_PROBE_NEGOTIATED,       /* handshake completed */
    SEG_PROBE_REFUSED,          /* handshake failed: ssl_error/ssl_error_text */
    SEG_PROBE_SMTP_FAILED,      /* failure before TLS: failure */
    SEG_PROBE_NO_STARTTLS,      /* EHLO reply does not offer STARTTLS */
    SEG_PROBE_UNREACHABLE,      /* no TCP connection: failure */
    SEG_PROBE_ERROR,            /* local problem (bad options): failure */
} seg_probe_status;

#define SEG_PROBE_DEFAULT_TIMEOUT 5.0   /* seconds, per network step */

typedef struct seg_probe_opts {
    const char     *host;       /* name or address */
    int             port;
    seg_probe_kind  kind;
    double          timeout;    /* seconds; <= 0 means the default */
    const char     *sni;        /* server name to send; NULL = none */
    const char     *helo;       /* EHLO name; NULL = "segtls-probe.invalid" */
    const char     *ciphers;    /* TLS <= 1.2 list; NULL = "ALL:@SECLEVEL=0" */
    gboolean        verify;     /* check the peer's chain (ca_file or system) */
    const char     *ca_file;    /* trust anchors; implies verify */
    const char     *verify_name; /* name to match (X509_check_host); NULL = no */
} seg_probe_opts;

typedef struct seg_probe_result {
    unsigned        version;    /* SEG_TLS_V1x that was tried */
    seg_probe_status status;
    gboolean        negotiated;
    char           *protocol;   /* "TLSv1.2" (SSL_get_version) */
    char           *cipher;     /* "ECDHE-RSA-AES256-GCM-SHA384" */
    unsigned long   ssl_error;  /* packed OpenSSL code of the failure, or 0 */
    char           *ssl_error_text; /* "error:0A00042E:SSL routines::..." */
    char           *failure;    /* one line: why, for every status but NEGOTIATED */
    /* peer certificate, when the options asked (negotiated only) */
    gboolean        cert_checked;
    gboolean        cert_ok;    /* chain verified */
    long            cert_verify; /* X509_V_OK or the error */
    char           *cert_verify_text; /* X509_verify_cert_error_string */
    gboolean        name_checked;
    gboolean        name_ok;    /* X509_check_host matched verify_name */
    char           *peer_subject; /* one-line subject, or NULL */
} seg_probe_result;

const char *seg_probe_status_name(seg_probe_status st); /* "negotiated" ... */

/* seg_probe_version - one attempt pinned to version (SEG_TLS_V1x) */
seg_probe_result *seg_probe_version(const seg_probe_opts *o, unsigned version);

/*
 * seg_probe_all - one attempt per version, oldest first, into res[]
 * (free each with seg_probe_result_free). Returns the negotiated mask.
 */
unsigned seg_probe_all(const seg_probe_opts *o,
                       seg_probe_result *res[SEG_TLS_NVERS]);

/*
 * seg_probe_renegotiate - shake hands at version (TLS 1.2 or older), then
 * ask for a renegotiation. Returns the initial handshake's result;
 * *allowed says whether the server completed the renegotiation. When it
 * refused, the result's ssl_error/ssl_error_text/failure say how (e.g.
 * "error:0A000153:SSL routines::no renegotiation").
 */
seg_probe_result *seg_probe_renegotiate(const seg_probe_opts *o, unsigned version,
                                        gboolean *allowed);

void seg_probe_result_free(seg_probe_result *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(seg_probe_result, seg_probe_result_free)

/* seg_probe_error_tuple - "(167773230, 'error:0A00042E:...')", newly allocated */
char *seg_probe_error_tuple(const seg_probe_result *r);

/*
 * seg_probe_parse_target - "host", "host:port", "[v6]:port" into a new
 * host string and port (default_port when none). FALSE on garbage.
 */
gboolean seg_probe_parse_target(const char *target, int default_port,
                                char **host, int *port, GError **error);

#endif
