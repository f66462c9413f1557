/*
 * ops - the operations of the control protocol (see lib/ctl.h).
 *
 * One table maps each "op" to its handler. A handler gets the request
 * object, already known to be an object with a string "op", and returns
 * the response object; failures become {"ok":false,"error":"..."} in one
 * place. Handlers validate every member they read: wrong types are
 * refused, never guessed.
 */
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "error.h"
#include "msg.h"
#include "policyd.h"
#include "usable.h"

typedef JsonObject *(*op_handler) (policyd *pd, JsonObject *req,
                                   const char *user, GError **error);

/* policyd_error_response - {"ok":false,"error":MESSAGE} */
JsonObject *policyd_error_response(const char *message)
{
    JsonObject *resp = json_object_new();

    json_object_set_boolean_member(resp, "ok", FALSE);
    json_object_set_string_member(resp, "error", message);
    return resp;
}

/* ok_response - {"ok":true} to be completed by the caller */
static JsonObject *ok_response(void)
{
    JsonObject *resp = json_object_new();

    json_object_set_boolean_member(resp, "ok", TRUE);
    return resp;
}

/*
 * policyd_apply - apply the committed settings to the servers. Hook for
 * the apply step (SPEC section 5), not written yet: commit only stores.
 */
gboolean policyd_apply(policyd *pd, GPtrArray *notices, GError **error)
{
    return TRUE;
}

/* current - pending settings when there are any, else committed */
static const seg_settings *current(policyd *pd)
{
    const seg_settings *p = seg_store_pending(pd->store);

    return p ? p : seg_store_committed(pd->store);
}

/* strings_array - JSON array of the strings of a GPtrArray */
static JsonArray *strings_array(GPtrArray *lines)
{
    JsonArray *arr = json_array_new();
    guint   i;

    for (i = 0; lines != NULL && i < lines->len; i++)
        json_array_add_string_element(arr, g_ptr_array_index(lines, i));
    return arr;
}

/* warnings_array - the usable-cipher warnings of some settings */
static JsonArray *warnings_array(const seg_settings *s)
{
    g_autoptr(GPtrArray) warnings = seg_settings_warnings(s);

    return strings_array(warnings);
}

/* member_of_type - member NAME when present and of TYPE, else error */
static JsonNode *member_of_type(JsonObject *req, const char *name, GType type,
                                gboolean required, GError **error)
{
    JsonNode *node = json_object_get_member(req, name);

    if (node == NULL) {
        if (required)
            g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL,
                        "missing member \"%s\"", name);
        return NULL;
    }
    if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != type) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL,
                    "member \"%s\" must be %s", name,
                    type == G_TYPE_STRING ? "a string" :
                    type == G_TYPE_BOOLEAN ? "a boolean" : "an integer");
        return NULL;
    }
    return node;
}

/* op_show - committed, pending and warnings */
static JsonObject *op_show(policyd *pd, JsonObject *req, const char *user,
                           GError **error)
{
    JsonObject *resp = ok_response();
    const seg_settings *pending = seg_store_pending(pd->store);

    json_object_set_object_member(resp, "committed",
                           seg_settings_to_json(seg_store_committed(pd->store)));
    if (pending)
        json_object_set_object_member(resp, "pending",
                                      seg_settings_to_json(pending));
    else
        json_object_set_null_member(resp, "pending");
    json_object_set_array_member(resp, "warnings", warnings_array(current(pd)));
    return resp;
}

/* op_set - all or nothing: every pair into a copy, then store it */
static JsonObject *op_set(policyd *pd, JsonObject *req, const char *user,
                          GError **error)
{
    JsonNode *node = json_object_get_member(req, "settings");
    g_autoptr(seg_settings) next = NULL;
    JsonObjectIter iter;
    const char *key;
    JsonNode *value;

    if (node == NULL || !JSON_NODE_HOLDS_OBJECT(node)) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL,
                    "member \"settings\" must be an object");
        return NULL;
    }
    next = seg_settings_copy(current(pd));
    json_object_iter_init(&iter, json_node_get_object(node));
    while (json_object_iter_next(&iter, &key, &value)) {
        if (!JSON_NODE_HOLDS_VALUE(value)
            || json_node_get_value_type(value) != G_TYPE_STRING) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL,
                        "%s: value must be a string", key);
            return NULL;
        }
        if (!seg_settings_set(next, key, json_node_get_string(value), error))
            return NULL;
    }
    if (seg_settings_equal(next, seg_store_committed(pd->store))) {
        if (!seg_store_clear_pending(pd->store, NULL, error))
            return NULL;
    } else if (!seg_store_set_pending(pd->store, next, error)) {
        return NULL;
    }
    msg_debug("set by %s", user);
    {
        JsonObject *resp = ok_response();

        json_object_set_array_member(resp, "warnings", warnings_array(next));
        return resp;
    }
}

/* op_commit - pending becomes committed, then applied */
static JsonObject *op_commit(policyd *pd, JsonObject *req, const char *user,
                             GError **error)
{
    g_autoptr(GPtrArray) notices = g_ptr_array_new_with_free_func(g_free);
    GError *err = NULL;
    JsonNode *node;
    const char *comment = "";
    gboolean keep = TRUE;
    gboolean nothing = FALSE;
    JsonObject *resp;

    if ((node = member_of_type(req, "comment", G_TYPE_STRING, FALSE, &err)) != NULL)
        comment = json_node_get_string(node);
    if (err == NULL
        && (node = member_of_type(req, "keep_rollback", G_TYPE_BOOLEAN,
                                  FALSE, &err)) != NULL)
        keep = json_node_get_boolean(node);
    if (err != NULL) {
        g_propagate_error(error, err);
        return NULL;
    }
    if (!seg_store_commit(pd->store, user, comment, keep, &nothing, error))
        return NULL;
    if (!nothing) {
        msg_info("configuration committed by %s", user);
        if (!policyd_apply(pd, notices, error))
            return NULL;
    }
    resp = ok_response();
    json_object_set_boolean_member(resp, "nothing", nothing);
    json_object_set_array_member(resp, "warnings",
                         warnings_array(seg_store_committed(pd->store)));
    json_object_set_array_member(resp, "notices", strings_array(notices));
    return resp;
}

/* op_clear - drop pending changes */
static JsonObject *op_clear(policyd *pd, JsonObject *req, const char *user,
                            GError **error)
{
    gboolean had_any = FALSE;
    JsonObject *resp;

    if (!seg_store_clear_pending(pd->store, &had_any, error))
        return NULL;
    resp = ok_response();
    json_object_set_boolean_member(resp, "nothing", !had_any);
    return resp;
}

/* op_rollback_list - saved configurations, newest first */
static JsonObject *op_rollback_list(policyd *pd, JsonObject *req,
                                    const char *user, GError **error)
{
    g_autoptr(GPtrArray) list = seg_store_rollback_list(pd->store);
    JsonArray *arr = json_array_new();
    JsonObject *resp;
    guint   i;

    for (i = 0; list != NULL && i < list->len; i++) {
        const seg_rollback_entry *e = g_ptr_array_index(list, i);
        JsonObject *o = json_object_new();

        json_object_set_int_member(o, "id", e->id);
        json_object_set_string_member(o, "time", e->time ? e->time : "");
        json_object_set_string_member(o, "user", e->user ? e->user : "");
        json_object_set_string_member(o, "comment", e->comment ? e->comment : "");
        json_array_add_object_element(arr, o);
    }
    resp = ok_response();
    json_object_set_array_member(resp, "rollbacks", arr);
    return resp;
}

/* op_rollback_restore - a saved configuration becomes pending */
static JsonObject *op_rollback_restore(policyd *pd, JsonObject *req,
                                       const char *user, GError **error)
{
    JsonNode *node = member_of_type(req, "id", G_TYPE_INT64, TRUE, error);
    gint64  id;

    if (node == NULL)
        return NULL;
    id = json_node_get_int(node);
    if (id < 1 || id > G_MAXUINT) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_NOT_FOUND,
                    "no saved configuration %" G_GINT64_FORMAT, id);
        return NULL;
    }
    if (!seg_store_rollback_restore(pd->store, (guint) id, error))
        return NULL;
    msg_info("saved configuration %u restored as pending by %s",
             (guint) id, user);
    return ok_response();
}

/* op_status - who and where the daemon is */
static JsonObject *op_status(policyd *pd, JsonObject *req, const char *user,
                             GError **error)
{
    JsonObject *resp = ok_response();

    json_object_set_int_member(resp, "pid", getpid());
    json_object_set_string_member(resp, "config", pd->config_path);
    json_object_set_string_member(resp, "state_dir", pd->state_dir);
    json_object_set_boolean_member(resp, "pending",
                                   seg_store_pending(pd->store) != NULL);
    json_object_set_string_member(resp, "user", user);
    return resp;
}

static const struct op {
    const char *name;
    op_handler  handler;
} ops[] = {
    {"show", op_show},
    {"set", op_set},
    {"commit", op_commit},
    {"clear", op_clear},
    {"rollback_list", op_rollback_list},
    {"rollback_restore", op_rollback_restore},
    {"status", op_status},
};

/* policyd_dispatch - run one request, always return a response */
JsonObject *policyd_dispatch(policyd *pd, JsonObject *request,
                             const char *user)
{
    g_autoptr(GError) err = NULL;
    JsonNode *node;
    const char *name;
    JsonObject *resp;
    gsize   i;

    node = member_of_type(request, "op", G_TYPE_STRING, TRUE, &err);
    if (node == NULL)
        return policyd_error_response(err->message);
    name = json_node_get_string(node);
    for (i = 0; i < G_N_ELEMENTS(ops); i++) {
        if (strcmp(ops[i].name, name) != 0)
            continue;
        resp = ops[i].handler(pd, request, user, &err);
        if (resp == NULL) {
            msg_debug("%s by %s: %s", name, user, err->message);
            return policyd_error_response(err->message);
        }
        return resp;
    }
    {
        g_autofree char *msg = g_strdup_printf("unknown op \"%s\"", name);

        return policyd_error_response(msg);
    }
}
