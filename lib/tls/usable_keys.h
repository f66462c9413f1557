/*
 * usable_keys - the built-in keys of the usable-version analysis (PEM).
 */
#ifndef SEGTLS_USABLE_KEYS_H
#define SEGTLS_USABLE_KEYS_H

extern const char seg_usable_rsa_key_pem[];
extern const char seg_usable_ecdsa_key_pem[];

#endif
