/*
 * status - the service part of `segtls status`: per service the
 * configured and usable TLS versions (from segtls-policyd's status
 * answer) and what the server negotiates now, probed with one real
 * handshake per version at the targets of the apply configuration.
 */
#ifndef SEGTLS_STATUS_H
#define SEGTLS_STATUS_H

#include <json-glib/json-glib.h>

/*
 * segtls_status_live - probe each service of the status answer that has
 * a target and add to its object: "target", "live" (versions, "" = none),
 * "unreachable" (+ "failure"), "drift"; and "drift" to the answer.
 * Returns TRUE when any service drifts or cannot be reached.
 */
gboolean segtls_status_live(JsonObject *resp, double timeout);

/*
 * segtls_status_print - "Settings file: invalid on disk: ..." when it is,
 * "Apply on commit: ...", one line per service, then the renegotiation
 * of GUI HTTPS and Inbound SMTP as it really holds
 */
void segtls_status_print(JsonObject *resp);

#endif
