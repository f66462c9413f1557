/*
 * live - the live TLS versions of each service and Postfix service, and
 * their drift (see live.c).
 */
#ifndef SEGTLS_LIVE_H
#define SEGTLS_LIVE_H

#include <json-glib/json-glib.h>

/*
 * seg_live_probe - probe GUI HTTPS at its target and every Postfix
 * service of the status answer, adding to each object "target", "live"
 * (versions, "" = none), "unreachable" (+ "failure") and "drift", and
 * "postfix_services" (each with "service", "command", "governed_by") to
 * the answer; "drift" to the answer. Returns TRUE when anything drifts or
 * cannot be reached.
 */
gboolean seg_live_probe(JsonObject *resp, double timeout);

/* seg_live_service - the object of segtls service key ("inbound") in the answer, or NULL */
JsonObject *seg_live_service(JsonObject *resp, const char *key);

#endif
