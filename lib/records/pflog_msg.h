/*
 * pflog_msg - one pf_msg per queue id: MID, ICID and recipients.
 */
#ifndef SEGTLS_PFLOG_MSG_H
#define SEGTLS_PFLOG_MSG_H

#include "pflog_int.h"

pf_msg *pf_msg_get(seg_pflog *p, pf_str qid);
guint   pf_msg_rcpt(pf_msg *m, pf_str rcpt, gboolean *added);
pf_msg *pf_msg_new(seg_pflog *p, time_t when, pf_str qid, guint64 icid,
                   const pf_idtext *icidt);
void    pf_msg_remove(seg_pflog *p, pf_msg *m);
GPtrArray *pf_msgs_idle(seg_pflog *p, time_t new_before, time_t before);
void    pf_msgs_init(seg_pflog *p);
void    pf_msgs_free(seg_pflog *p);

#endif
