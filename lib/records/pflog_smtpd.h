/*
 * pflog_smtpd - the handler of smtpd lines (inbound connections).
 */
#ifndef SEGTLS_PFLOG_SMTPD_H
#define SEGTLS_PFLOG_SMTPD_H

#include "pflog_int.h"

gboolean pf_smtpd(seg_pflog *p, const pf_line *l);
void    pf_smtpd_close(seg_pflog *p, pf_conn *c, time_t when);
void    pf_smtpd_flush(seg_pflog *p, pf_conn *c);

#endif
