/*
 * tlsctx - OpenSSL contexts built from one service's TLS settings.
 *
 * segtls's own TLS endpoints (the standalone servers and client, the
 * verify probe) get their SSL_CTX here, so that the versions, the cipher
 * string, the fixed TLS 1.3 suites, the security level and the
 * renegotiation switch mean the same thing everywhere:
 *
 *  versions     SSL_CTX_set_min/max_proto_version from the methods mask
 *  ciphers      SSL_CTX_set_cipher_list (TLS <= 1.2 only)
 *  TLS 1.3      SSL_CTX_set_ciphersuites(SEG_TLS13_SUITES), always
 *  seclevel     0, 1, ... or SEG_SECLEVEL_AUTO: 0 when TLS 1.0 or 1.1 is
 *               enabled (OpenSSL 3 needs it for them), else OpenSSL's default
 *  renegotiation  SSL_OP_ALLOW_CLIENT_RENEGOTIATION when enabled,
 *               SSL_OP_NO_RENEGOTIATION when disabled
 *
 * Handshake errors are reported as the gateway's tuple:
 * (167772418, 'error:0A000102:SSL routines::unsupported protocol').
 */
#ifndef SEGTLS_TLSCTX_H
#define SEGTLS_TLSCTX_H

#include <glib.h>
#include <openssl/ssl.h>

#define SEG_SECLEVEL_AUTO   (-1)

/*
 * seg_tlsctx_apply - versions, ciphers, suites, seclevel, renegotiation.
 * Errors: "no TLS version enabled", "OpenSSL accepts no cipher in \"X\"".
 */
gboolean seg_tlsctx_apply(SSL_CTX *ctx, unsigned methods, const char *ciphers,
                          gboolean renegotiation, int seclevel, GError **error);

/*
 * seg_tlsctx_server - a server context for a listening service (GUI
 * HTTPS, Inbound SMTP) with seg_tlsctx_apply()'s settings. cert_file
 * holds the private key and the chain in one PEM file (key first, as
 * Postfix's *_tls_chain_files). A missing certificate is an error.
 * No session cache and no session tickets, TLS 1.3 or 1.2 (stateless; see
 * segtls-standalone(8), RESOURCES). The chain sent is exactly the one in
 * the file (SSL_MODE_NO_AUTO_CHAIN: the context has no trust store).
 */
SSL_CTX *seg_tlsctx_server(unsigned methods, const char *ciphers, gboolean renegotiation,
                           const char *cert_file, int seclevel, GError **error);

/*
 * seg_tlsctx_client - a client context. When ca_file is not NULL/empty
 * it is loaded as the trust anchors and chain verification is possible
 * (the caller decides with SSL_set_verify / seg_tls_verify_peer);
 * x509_strict adds X509_V_FLAG_X509_STRICT.
 */
SSL_CTX *seg_tlsctx_client(unsigned methods, const char *ciphers,
                           int seclevel, const char *ca_file,
                           gboolean x509_strict, GError **error);

/*
 * seg_tls_error_tuple - "(CODE, 'error:...:reason')": the OpenSSL packed
 * code in decimal and its string without file:line. Newly allocated.
 */
char *seg_tls_error_tuple(unsigned long code);

/*
 * seg_tls_failure - the tuple for a failed SSL call: the error
 * seg_tlserr_read() takes (the last on the queue: the SSL library's
 * reason; the queue is then cleared); when the queue is empty (system
 * call error, peer closed) "(0, 'strerror or reason')". ssl and ret are
 * for future use (SSL_get_error); either may be 0/NULL.
 */
char *seg_tls_failure(SSL *ssl, int ret, int saved_errno);

/*
 * seg_tls_check_peer - after a successful client handshake: the chain
 * verdict (SSL_get_verify_result) and, when host is not NULL, the name
 * match (X509_check_host / X509_check_ip_asc). NULL when acceptable,
 * else a newly allocated one-line reason.
 */
char *seg_tls_check_peer(SSL *ssl, gboolean chain, const char *host);

#endif
