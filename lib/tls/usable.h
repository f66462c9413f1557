/*
 * usable - what can really negotiate, found by real handshakes.
 *
 * `openssl ciphers` and SSL_get1_supported_ciphers() get the key-type and
 * security-level cases wrong, so for every enabled version segtls runs an
 * in-memory handshake: a client SSL and a server SSL joined by a BIO
 * pair, pinned to that one version. The side under test uses the cipher
 * string (and for TLS 1.3 the fixed suites); the other side allows
 * everything at security level 0.
 *
 *  SEG_ROLE_SERVER (GUI HTTPS, Inbound SMTP): the server uses the
 *  configured certificate, or a built-in RSA-2048 one when none is set.
 *  SEG_ROLE_CLIENT (Outbound SMTP, other clients): usable when the client
 *  can negotiate with a server holding an RSA or an ECDSA certificate.
 *
 * seclevel is the OpenSSL security level the target forces: 0 for
 * Postfix smtpd/smtp at may/encrypt and for nginx/clients given
 * ":@SECLEVEL=0", 1 for Postfix smtp at verify/secure.
 */
#ifndef SEGTLS_USABLE_H
#define SEGTLS_USABLE_H

#include <glib.h>

typedef enum { SEG_ROLE_SERVER, SEG_ROLE_CLIENT } seg_tls_role;

/*
 * seg_usable_versions - subset of methods that negotiates. The
 * certificate file is read with seg_file_read_bounded() (safefile.h): a
 * FIFO or a device is refused at once, never waited on.
 */
gboolean seg_usable_versions(const char *ciphers, unsigned methods,
                             seg_tls_role role, const char *certificate,
                             int seclevel, unsigned *usable, GError **error);

/*
 * seg_usable_versions_pem - the same with the certificate file's contents
 * already read (pem, len; NULL: none configured); name is the file's
 * name in messages ("cannot load certificate NAME: no private key found").
 */
gboolean seg_usable_versions_pem(const char *ciphers, unsigned methods,
                                 seg_tls_role role, const char *pem, gsize len,
                                 const char *name, int seclevel,
                                 unsigned *usable, GError **error);

/*
 * seg_cipher_describe - the VERIFY listing: one `openssl ciphers -v`
 * line (SSL_CIPHER_description) per cipher, TLS 1.3 fixed suites first.
 */
gboolean seg_cipher_describe(const char *ciphers, GString *out, GError **error);

#endif
