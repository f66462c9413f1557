/*
 * ctl - the control protocol between segtls-policyd and its clients.
 *
 * A UNIX stream socket (default /run/segtls/policyd.sock, mode 0660,
 * group configurable) and optionally a read-only one (segtls-policyd
 * --read-socket, e.g. /run/segtls/policyd-read.sock, its own group). The
 * client sends one JSON object on one line and reads one JSON object on
 * one line back; then either side may close or the client may send
 * another request. Requests are at most SEG_CTL_MAX_REQUEST bytes. The
 * daemon identifies the caller with SO_PEERCRED, records that user on
 * commit and checks certificate paths with that user's rights. An HTTP
 * front runs the same requests (policyd_run) and may send these objects
 * as they are.
 *
 *  {"op":"show"}
 *     -> {"ok":true,"committed":{KEY:VALUE...},"pending":{...}|null,
 *         "warnings":["Warning: ..."],"other_warnings":[],
 *         "warnings_summary":""}     (warnings of pending, else committed)
 *  {"op":"set","settings":{KEY:VALUE,...}}
 *     -> all or nothing into pending (created from committed when none):
 *        {"ok":true,"warnings":[...],"other_warnings":[...],
 *         "warnings_summary":"Not shown: 1 warning about GUI HTTPS, which
 *         this change did not touch."}
 *        "warnings" holds the warnings about the services whose keys the
 *        request names, "other_warnings" the rest, summed up in one line
 *        ("" when none). A file key (gui.certificate, inbound.certificate,
 *        outbound.ca_file) whose value changes must be canonical, under a
 *        certificate directory of the daemon, and readable with the
 *        caller's own rights, or the request is refused:
 *        "gui.certificate: \"/root/x\": not under a certificate directory
 *        (/etc/ssl, /etc/segtls, /etc/letsencrypt)",
 *        "gui.certificate: \"/etc/ssl/private/x.pem\": Permission denied",
 *        "...: not a regular file". A file that is not there yet is
 *        accepted; the warnings say so.
 *  {"op":"commit","comment":"...","keep_rollback":true}
 *     -> {"ok":true,"nothing":false,"warnings":[...],"other_warnings":[...],
 *         "warnings_summary":"...","notices":[...]}
 *        as for set, "warnings" are about the services the commit changed;
 *        "nothing":true when there were no pending changes; when the
 *        daemon applies commits the answer comes once segtls-apply is
 *        done, adds "lines" (its output), and a failure is
 *        {"ok":false,"error":"apply failed: ..."} with nothing committed.
 *        While an apply runs, set/clear/rollback_restore/commit get
 *        {"ok":false,"error":"an apply is in progress"}.
 *  {"op":"clear"}            -> {"ok":true,"nothing":false}
 *  {"op":"rollback_list"}
 *     -> {"ok":true,"rollbacks":[{"id":7,"time":..,"user":..,"comment":..,
 *         "restores":"before: enable tls13 inbound, committed TIME by USER",
 *         "settings":{KEY:VALUE...}|null,
 *         "differences":["inbound.methods = 1.1-1.2 (committed: 1.1-1.3)"]}]}
 *        newest first. "id" is the entry's sequence number: it names the
 *        same saved configuration until the entry is pruned (the last 10
 *        are kept), whatever is committed meanwhile. time, user and
 *        comment are those of the commit the entry was saved by; it holds
 *        the configuration in force before that commit.
 *  {"op":"rollback_restore","id":7} -> {"ok":true,"id":7}
 *        the entry with that id becomes pending (its file paths checked as
 *        for set); an id not kept: {"ok":false,"error":"no saved
 *        configuration 7"}
 *  {"op":"commit_detail"}
 *     -> {"ok":true,"commit":null | {"time":..,"user":..,"comment":..,
 *         "rollback_id":7 (0: none saved),
 *         "changes":[{"key":"inbound.methods","before":"1.1-1.2",
 *                     "after":"1.1-1.3"}]}}     (the last commit)
 *  {"op":"status"}           -> {"ok":true,"pid":N,"config":PATH,"state_dir":DIR,
 *                                "pending":BOOL,"user":CALLER,"read_only":BOOL,
 *                                "certificate_dirs":[DIR...],
 *                                "config_error":"FILE:LINE: ..."|null,
 *                                "services":[{"service":"gui","title":..,
 *                                  "configured":"1.1-1.2","usable":"1.2",
 *                                  "tls":..(inbound, outbound),
 *                                  "renegotiation":"enabled"|"disabled",
 *                                  "renegotiation_applied":BOOL,
 *                                  "renegotiation_note":"nginx cannot
 *                                   renegotiate; not applied" (when not
 *                                   applied) (gui, inbound)}...],
 *                                "apply_config":PATH,"apply":BOOL,
 *                                "apply_file":BOOL,"applying":BOOL,
 *                                "probe_smtp":"H:P","probe_https":"H:P"}
 *        "config_error": the committed file on disk is invalid now (a hand
 *        edit; the last good configuration stays in force until a valid
 *        file is loaded). The probe targets only with an apply file.
 *  {"op":"dest_set","domain":D,"tls":MODE,"methods":V,"ciphers":C,
 *   "exclude":X,"must":"new"|"edit"}
 *  {"op":"dest_delete","domain":D}
 *  {"op":"group_set","name":N,"tls":MODE,"members":[M...],"must":...}
 *  {"op":"group_delete","name":N}
 *     -> as for set: one Destination Controls entry or sender group
 *        (destctl.h) into pending, every value checked by its grammar;
 *        "show" lists the tables in force for the next commit as
 *        "destinations" [{"domain","tls","methods","ciphers","exclude"}]
 *        and "sendergroups" [{"name","tls","members"}]
 *
 *  In cluster mode (segtls-policyd with [cluster]; store_etcd.h):
 *  show and set take "level":"cluster"|"group:NAME"|"machine:NAME"
 *     (show: what that level sees, default this machine; set: where the
 *     values go, default the cluster) and show answers "cluster":{"name",
 *     "machine","level","revision","pending_base"}; "pending" is the
 *     view with this machine's pending changes (they may change another
 *     level only). A level without cluster mode: {"ok":false,"error":
 *     "not in a cluster: level cluster needs cluster mode ([cluster] in
 *     segtls-policyd's configuration)"}.
 *  commit -> once this machine has handled the new revision:
 *        {"ok":true,...,"revision":R,"applied_revision":R,"lines":[...]};
 *        another commit first: {"ok":false,"error":"commit conflict:
 *        another commit came first: ..."} (the changes stay pending);
 *        applied elsewhere but failed here: {"ok":false,"error":
 *        "committed as revision R, but applying it on this machine
 *        failed: ..."}. Changes are not refused while an apply runs.
 *  {"op":"clustershow"}
 *     -> {"ok":true,"cluster":..,"machine":..,"group":..,"joined":BOOL,
 *         "revision":R,"commit":{"time","user","comment","machine"},
 *         "settings":[{"key","level","value"}...],
 *         "pending":[...]|null,"pending_base":B,
 *         "machines":[{"machine","group","revision","result":"applied"|
 *           "rolled back"|"stored"|"never reported","reason",
 *           "applied_revision","time","live":{"gui":"1.2",...}}...],
 *         "etcd_error":".." (when etcd cannot be read now)}
 *  {"op":"clusterset","keys":[KEY...],"from":LEVEL,"to":LEVEL|null}
 *     -> {"ok":true}: the values move (null: removed from "from"), pending
 *  {"op":"cluster_join"}
 *     -> {"ok":true,"already":BOOL,"cluster","machine","group",
 *         "revision":R,"own":[KEY...] (the machine-level values)}
 *  status adds "cluster":{"name","machine","group","joined","reachable",
 *     "etcd_error","unreachable_since","endpoint","revision",
 *     "applied_revision","attempted_revision","apply_failed","reason",
 *     "config_error"}
 *  on the read-only socket clustershow answers; clusterset and
 *     cluster_join are refused as set is.
 *
 *  any failure               -> {"ok":false,"error":"one line"}
 *  on the read-only socket, set, commit, clear and rollback_restore
 *                            -> {"ok":false,"error":"permission denied: set
 *                                changes the settings and this connection
 *                                may only read"}
 */
#ifndef SEGTLS_CTL_H
#define SEGTLS_CTL_H

#include <glib.h>
#include <json-glib/json-glib.h>

#define SEG_DEFAULT_SOCKET      "/run/segtls/policyd.sock"
#define SEG_DEFAULT_READ_SOCKET "/run/segtls/policyd-read.sock"
#define SEG_CTL_MAX_REQUEST     (64 * 1024)

/* seg_ctl_socket_path - --socket value, else $SEGTLS_SOCKET, else default */
const char *seg_ctl_socket_path(const char *option);

/*
 * seg_ctl_read_socket_path - the same for a client that only reads: the
 * default control socket when this process may connect to it, else the
 * default read-only socket when it may connect to that one
 */
const char *seg_ctl_read_socket_path(const char *option);

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
