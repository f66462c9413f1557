/*
 * status - the service part of `segtls status`: per service the
 * configured and usable TLS versions (from segtls-policyd's status
 * answer) and what the server negotiates now (seg_live_probe).
 */
#ifndef SEGTLS_STATUS_H
#define SEGTLS_STATUS_H

#include <json-glib/json-glib.h>

/*
 * segtls_status_print - in cluster mode where this machine stands (etcd
 * unreachable, a revision that failed here); "Settings file: invalid on
 * disk: ..." when it is, "Apply on commit: ...", one line per service,
 * the renegotiation of GUI HTTPS and Inbound SMTP as it really holds,
 * then the Postfix services and the segtls service that governs each
 */
void segtls_status_print(JsonObject *resp);

/*
 * segtls_status_cluster_bad - in cluster mode: etcd unreachable, not
 * joined, the last revision failed here or is not applied yet
 */
gboolean segtls_status_cluster_bad(JsonObject *resp);

#endif
