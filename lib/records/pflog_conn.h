/*
 * pflog_conn - one pf_conn per Postfix process id, for smtpd (in) and
 * smtp (out), with a direct-mapped cache in front of the tables.
 */
#ifndef SEGTLS_PFLOG_CONN_H
#define SEGTLS_PFLOG_CONN_H

#include "pflog_int.h"

void    pf_conns_init(seg_pflog *p);
void    pf_conns_free(seg_pflog *p);

pf_conn *pf_conn_get(seg_pflog *p, GHashTable *t, long pid);
pf_conn *pf_conn_find(seg_pflog *p, GHashTable *t, long pid);

#endif
