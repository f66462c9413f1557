/*
 * ctl - the control protocol between segtls-policyd and its clients.
 *
 * A UNIX stream socket (default /run/segtls/policyd.sock, mode 0660,
 * group configurable). The client sends one JSON object on one line and
 * reads one JSON object on one line back; then either side may close or
 * the client may send another request. Requests are at most
 * SEG_CTL_MAX_REQUEST bytes. The daemon identifies the caller with
 * SO_PEERCRED and records that user on commit.
 *
 *  {"op":"show"}
 *     -> {"ok":true,"committed":{KEY:VALUE...},"pending":{...}|null,
 *         "warnings":["Warning: ..."]}     (warnings of pending, else committed)
 *  {"op":"set","settings":{KEY:VALUE,...}}
 *     -> all or nothing into pending (created from committed when none):
 *        {"ok":true,"warnings":[...]}
 *  {"op":"commit","comment":"...","keep_rollback":true}
 *     -> {"ok":true,"nothing":false,"warnings":[...],"notices":[...]}
 *        "nothing":true when there were no pending changes; when the
 *        daemon applies commits the answer comes once segtls-apply is
 *        done, adds "lines" (its output), and a failure is
 *        {"ok":false,"error":"apply failed: ..."} with nothing committed.
 *        While an apply runs, set/clear/rollback_restore/commit get
 *        {"ok":false,"error":"an apply is in progress"}.
 *  {"op":"clear"}            -> {"ok":true,"nothing":false}
 *  {"op":"rollback_list"}    -> {"ok":true,"rollbacks":[{"id":1,"time":..,"user":..,"comment":..}]}
 *  {"op":"rollback_restore","id":N} -> {"ok":true}
 *  {"op":"status"}           -> {"ok":true,"pid":N,"config":PATH,"state_dir":DIR,
 *                                "pending":BOOL,"user":CALLER,
 *                                "services":[{"service":"gui","title":..,
 *                                  "configured":"1.1-1.2","usable":"1.2",
 *                                  "tls":..(inbound, outbound)}...],
 *                                "apply_config":PATH,"apply":BOOL,
 *                                "apply_file":BOOL,"applying":BOOL,
 *                                "probe_smtp":"H:P","probe_https":"H:P"}
 *                                (the probe targets only with an apply file)
 *  any failure               -> {"ok":false,"error":"one line"}
 */
#ifndef SEGTLS_CTL_H
#define SEGTLS_CTL_H

#include <glib.h>
#include <json-glib/json-glib.h>

#define SEG_DEFAULT_SOCKET      "/run/segtls/policyd.sock"
#define SEG_CTL_MAX_REQUEST     (64 * 1024)

/* seg_ctl_socket_path - --socket value, else $SEGTLS_SOCKET, else default */
const char *seg_ctl_socket_path(const char *option);

/*
 * seg_ctl_call - connect, send one request, read one response. Returns
 * the response object (ok or not), or NULL with an error such as
 * "cannot reach segtls-policyd at /run/segtls/policyd.sock: No such file
 * or directory".
 */
JsonObject *seg_ctl_call(const char *socket_path, JsonObject *request,
                         GError **error);

/*
 * seg_ctl_call_line - the same with raw text: send LINE (a newline is
 * added), return the response line without its newline.
 */
char *seg_ctl_call_line(const char *socket_path, const char *line,
                        GError **error);

/* seg_ctl_check - TRUE when response has "ok":true, else error = its "error" */
gboolean seg_ctl_check(JsonObject *response, GError **error);

/* Helpers to build requests. */
JsonObject *seg_ctl_request(const char *op);

/* seg_settings_to_json / seg_settings_from_json - KEY:VALUE objects */
#include "settings.h"
JsonObject *seg_settings_to_json(const seg_settings *s);
seg_settings *seg_settings_from_json(JsonObject *obj, GError **error);

#endif
