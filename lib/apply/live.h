/*
 * live - the live TLS versions of each service and their drift.
 */
#ifndef SEGTLS_LIVE_H
#define SEGTLS_LIVE_H

#include <json-glib/json-glib.h>

/*
 * seg_live_probe - probe each service of segtls-policyd's status answer
 * that has a target and add to its object: "target", "live" (versions,
 * "" = none), "unreachable" (+ "failure"), "drift"; and "drift" to the
 * answer. Returns TRUE when any service drifts or cannot be reached.
 */
gboolean seg_live_probe(JsonObject *resp, double timeout);

#endif
