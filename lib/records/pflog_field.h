/*
 * pflog_field - the pieces of a Postfix log line: peers, queue ids,
 * addresses (quoted local parts), delivery status fields, "TLS
 * connection established" and "TLS library problem" lines.
 */
#ifndef SEGTLS_PFLOG_FIELD_H
#define SEGTLS_PFLOG_FIELD_H

#include "pflog_int.h"

gboolean pf_find(pf_str s, const char *lit, size_t n, size_t *at);
gboolean pf_peer(pf_str *s, pf_str *name, pf_str *addr, pf_str *port);
gboolean pf_qid(pf_str *s, pf_str *qid);
gboolean pf_addr(pf_str *s, pf_str *addr);
gboolean pf_status(pf_str s, pf_str *status, pf_str *why);
gboolean pf_tls_established(pf_str s, const char *dir, size_t dirlen, pf_str *addr,
                            pf_str *port, pf_str *proto, pf_str *cipher);
void    pf_copy(char *dst, size_t size, pf_str s);
void    pf_tls_error_begin(pf_conn *c, pf_str reason);
gboolean pf_tls_library(pf_conn *c, pf_str s);

#endif
