/*
 * pflog_smtpd - the handler of smtpd lines (inbound connections).
 */
#ifndef SEGTLS_PFLOG_SMTPD_H
#define SEGTLS_PFLOG_SMTPD_H

#include "pflog_int.h"

gboolean pf_smtpd(seg_pflog *p, const pf_line *l);

#endif
