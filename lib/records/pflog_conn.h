/*
 * pflog_conn - one pf_conn per Postfix process (host, program and pid),
 * for smtpd (in) and smtp (out), with a direct-mapped cache in front of
 * the tables, released when it holds nothing; the processes delivering
 * a message are linked to it.
 */
#ifndef SEGTLS_PFLOG_CONN_H
#define SEGTLS_PFLOG_CONN_H

#include "pflog_int.h"

void    pf_conns_init(seg_pflog *p);
void    pf_conns_free(seg_pflog *p);

guint64 pf_conn_hash(pf_str tag, long pid);
pf_conn *pf_conn_get(seg_pflog *p, GHashTable *t, const pf_line *l);
pf_conn *pf_conn_find(seg_pflog *p, GHashTable *t, const pf_line *l);
void    pf_conn_release(seg_pflog *p, GHashTable *t, pf_conn *c);
void    pf_conn_link(pf_conn *c, struct pf_msg *m);
void    pf_conn_unlink(pf_conn *c);
GPtrArray *pf_conns_list(GHashTable *t);

#endif
