/*
 * status - the service part of `segtls status`: per service the
 * configured and usable TLS versions (from segtls-policyd's status
 * answer), what GUI HTTPS negotiates now, and each Postfix service with
 * the segtls service that governs it and what it negotiates now, probed
 * with one real handshake per version.
 */
#ifndef SEGTLS_STATUS_H
#define SEGTLS_STATUS_H

#include <json-glib/json-glib.h>

/*
 * segtls_status_live - probe GUI HTTPS (when the answer has its target)
 * and add to its object: "target", "live" (versions, "" = none),
 * "unreachable" (+ "failure"), "drift"; list the Postfix services (when
 * the answer has a postfix_dir) as "postfix_services", each with
 * "service", "command", "governed_by" ("inbound", "outbound" or null),
 * "wrapper" and, for an inet smtpd service, the same live members; and
 * "drift" to the answer. Returns TRUE when any governed service drifts,
 * a server cannot be reached or master.cf cannot be read.
 */
gboolean segtls_status_live(JsonObject *resp, double timeout);

/*
 * segtls_status_print - "Apply on commit: ...", one line per service, and
 * "Postfix services (DIR):" with one line per Postfix service
 */
void segtls_status_print(JsonObject *resp);

#endif
