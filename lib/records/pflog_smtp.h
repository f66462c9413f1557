/*
 * pflog_smtp - the handlers of smtp/lmtp, qmgr, pickup and the local
 * delivery agents (outbound connections and message ends).
 */
#ifndef SEGTLS_PFLOG_SMTP_H
#define SEGTLS_PFLOG_SMTP_H

#include "pflog_int.h"

gboolean pf_smtp(seg_pflog *p, const pf_line *l);
gboolean pf_qmgr(seg_pflog *p, const pf_line *l);
gboolean pf_pickup(seg_pflog *p, const pf_line *l);
gboolean pf_local(seg_pflog *p, const pf_line *l);
void    pf_delivery_end(seg_pflog *p, pf_conn *c, time_t when);
void    pf_msg_forget(seg_pflog *p, pf_msg *m, time_t when);

#endif
