/*
 * sslconfig - the gateway's interactive SSL configuration dialog.
 *
 * A client of segtls-policyd (SPEC section 4): it lists the settings
 * (pending ones when there are any, else the committed ones), offers the
 * operations of the gateway's sslconfig and turns each finished edit into
 * one "set" request, all or nothing, into the pending configuration. It
 * never commits. APPLY, after the gateway's operations, applies the
 * committed settings to the servers now (the "apply" request, as
 * `segtls apply`). End of input inside an operation abandons that
 * operation without sending anything and exits 1; at the operation
 * prompt it leaves like an empty answer. Leaving with uncommitted
 * changes warns, as the gateway's CLI does at exit.
 *
 * In cluster mode (segtls-policyd with [cluster]) the dialog works at a
 * level, the cluster unless --level names a group or machine: the
 * listing is what that level sees, edits are set there, and the
 * operation prompt names it as the gateway's CLI does, "(Cluster
 * NAME)> ". CLUSTERSET moves settings between levels and CLUSTERSHOW
 * shows where they are set.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cipherstr.h"
#include "ctl.h"
#include "dialog.h"
#include "error.h"
#include "layers.h"
#include "msg.h"
#include "settings.h"
#include "sigpipe.h"
#include "tlsver.h"
#include "usable.h"
#include "quote.h"

typedef struct sslconfig {
    const char *socket;
    seg_settings *shown;                /* pending if any, else committed */
    gboolean    pending;                /* shown is pending */
    int         status;                 /* exit status so far */
    char       *cluster;                /* cluster mode: its name, else NULL */
    const char *level;                  /* cluster mode: the level worked at */
} sslconfig;

typedef enum { OP_DONE, OP_EOF } op_status;

/* What leaving with pending changes says (sslconfig(1)). */
#define UNCOMMITTED "You have uncommitted changes. Use \"segtls commit\" to " \
    "commit them or \"segtls clear\" to discard them."

typedef op_status (*op_handler) (sslconfig *, const void *);

/* One service edit: GUI, INBOUND, OUTBOUND. */
typedef struct service_edit {
    seg_service svc;
    const char *word;                   /* "inbound SMTP" as in the prompts */
    gboolean    renegotiation;          /* ask about renegotiation */
} service_edit;

static const service_edit edit_gui = {SEG_SVC_GUI, "GUI HTTPS", TRUE};
static const service_edit edit_inbound = {SEG_SVC_INBOUND, "inbound SMTP", TRUE};
static const service_edit edit_outbound = {SEG_SVC_OUTBOUND, "outbound SMTP", FALSE};

/* One on/off switch: OTHER_CLIENT_TLSV10, PEER_CERT_FQDN, PEER_CERT_X509. */
typedef struct toggle {
    const char *key;                    /* settings key */
    size_t      offset;                 /* its gboolean in seg_settings */
    const char *label;                  /* "Peer Certificate FQDN Validation" */
} toggle;

static const toggle toggle_tlsv10 = {
    "other_client.tlsv1_0", offsetof(seg_settings, other_client_tlsv1_0),
    "TLS v1.0 for other client services",
};
static const toggle toggle_fqdn = {
    "peer_cert.fqdn", offsetof(seg_settings, peer_cert_fqdn),
    "Peer Certificate FQDN Validation",
};
static const toggle toggle_x509 = {
    "peer_cert.x509", offsetof(seg_settings, peer_cert_x509),
    "Peer Certificate X509 Validation",
};

static op_status edit_service(sslconfig *, const void *);
static op_status verify_ciphers(sslconfig *, const void *);
static op_status edit_toggle(sslconfig *, const void *);
static op_status apply_now(sslconfig *, const void *);
static op_status cluster_set(sslconfig *, const void *);
static op_status cluster_show(sslconfig *, const void *);

/* The operations of the main menu, in the gateway's order. */
static const struct operation {
    dialog_choice choice;
    op_handler  handler;
    const void *arg;
} operations[] = {
    {{"GUI", "Edit GUI HTTPS ssl settings."}, edit_service, &edit_gui},
    {{"INBOUND", "Edit Inbound SMTP ssl settings."}, edit_service, &edit_inbound},
    {{"OUTBOUND", "Edit Outbound SMTP ssl settings."}, edit_service, &edit_outbound},
    {{"VERIFY", "Verify and show ssl cipher list."}, verify_ciphers, NULL},
    {{"OTHER_CLIENT_TLSV10", "Edit TLS v1.0 for other client services."},
     edit_toggle, &toggle_tlsv10},
    {{"PEER_CERT_FQDN", "Validate peer certificate FQDN compliance for Alert "
      "Over TLS, Outbound SMTP, updater and LDAP."}, edit_toggle, &toggle_fqdn},
    {{"PEER_CERT_X509", "Validate peer certificate X509 compliance for Alert "
      "Over TLS, Outbound SMTP, updater and LDAP."}, edit_toggle, &toggle_x509},
    {{"APPLY", "Apply the committed settings to the servers now."}, apply_now, NULL},
    /* cluster mode only: the last two */
    {{"CLUSTERSET", "Set how ssl settings are configured in a cluster."},
     cluster_set, NULL},
    {{"CLUSTERSHOW", "Display how ssl settings are configured in a cluster."},
     cluster_show, NULL},
};
#define CLUSTER_OPERATIONS 2

/* The groups of settings CLUSTERSET moves, as its menu offers them. */
static const struct {
    const char *title;                  /* "Inbound SMTP" */
    const char *what;                   /* key prefix; NULL: all */
} movable[] = {
    {"All ssl settings", NULL},
    {"GUI HTTPS", "gui."},
    {"Inbound SMTP", "inbound."},
    {"Outbound SMTP", "outbound."},
    {"Other TLS client services", "other_client."},
    {"Peer certificate validation", "peer_cert."},
};

/* call - one request (taken), the ok answer or NULL with the error */
static JsonObject *call(sslconfig *sc, JsonObject *request, GError **error)
{
    JsonObject *response = seg_ctl_call(sc->socket, request, error);

    json_object_unref(request);
    if (response != NULL && !seg_ctl_check(response, error))
        g_clear_pointer(&response, json_object_unref);
    return response;
}

/* fetch - ask policyd for the settings to show (at the level worked at) */
static gboolean fetch(sslconfig *sc, GError **error)
{
    JsonObject *request = seg_ctl_request("show");
    g_autoptr(JsonObject) response = NULL;
    JsonNode *node;
    seg_settings *s;

    if (sc->cluster != NULL)
        json_object_set_string_member(request, "level", sc->level);
    if ((response = call(sc, request, error)) == NULL)
        return FALSE;
    node = json_object_get_member(response, "cluster");
    if (sc->cluster == NULL && node != NULL && JSON_NODE_HOLDS_OBJECT(node)) {
        /* cluster mode: again, at the level */
        sc->cluster = g_strdup(json_object_get_string_member_with_default(
            json_node_get_object(node), "name", "?"));
        if (sc->level == NULL)
            sc->level = "cluster";
        return fetch(sc, error);
    }
    if (sc->cluster == NULL && sc->level != NULL) {
        g_set_error_literal(error, SEG_ERROR, SEG_ERROR_INVALID,
                            "--level: segtls-policyd does not run in cluster mode");
        return FALSE;
    }
    node = json_object_get_member(response, "pending");
    sc->pending = node != NULL && JSON_NODE_HOLDS_OBJECT(node);
    if (!sc->pending)
        node = json_object_get_member(response, "committed");
    if (node == NULL || !JSON_NODE_HOLDS_OBJECT(node)) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL,
                    "segtls-policyd sent no settings");
        return FALSE;
    }
    if ((s = seg_settings_from_json(json_node_get_object(node), error)) == NULL)
        return FALSE;
    if (sc->shown)
        seg_settings_free(sc->shown);
    sc->shown = s;
    return TRUE;
}

/* print_ciphers - one cipher-string element per line */
static void print_ciphers(const char *title, const char *ciphers)
{
    g_auto(GStrv) parts = g_strsplit(ciphers, ":", -1);
    char  **p;

    dialog_printf("  %s ciphers:\n", title);
    for (p = parts; *p; p++)
        dialog_printf("    %s\n", *p);
}

/* print_listing - the "sslconfig settings:" block */
static void print_listing(const seg_settings *s)
{
    g_autofree char *other = seg_methods_token(seg_settings_other_client_methods(s));
    int     svc;

    dialog_printf("sslconfig settings:\n");
    for (svc = 0; svc < SEG_SVC_COUNT; svc++) {
        const seg_service_settings *ss = &s->svc[svc];
        const char *title = seg_service_title((seg_service) svc);
        g_autofree char *token = seg_methods_token(ss->methods);

        dialog_printf("  %s method:  %s\n", title, token);
        print_ciphers(title, ss->ciphers);
        if (svc != SEG_SVC_OUTBOUND) {
            const char *note = seg_renegotiation_note(s, (seg_service) svc);

            dialog_printf("  %s TLS renegotiation: %s%s%s%s\n", title,
                          ss->renegotiation ? "Enabled" : "Disabled",
                          note ? " (" : "", note ? note : "", note ? ")" : "");
        }
    }
    dialog_printf("  Other TLS client services method: %s\n", other);
    dialog_printf("  Peer Certificate FQDN Validation: %s\n",
                  s->peer_cert_fqdn ? "Enabled" : "Disabled");
    dialog_printf("  Peer Certificate X509 Validation: %s\n",
                  s->peer_cert_x509 ? "Enabled" : "Disabled");
    dialog_printf("\n");
}

/*
 * send_set - one all-or-nothing set request of these keys of s; print
 * the warnings policyd returns about the services they touch (none for
 * the switches, which touch no service's warnings)
 */
static void send_set(sslconfig *sc, const seg_settings *s, const char *const *keys)
{
    gboolean blank = FALSE;
    g_autoptr(JsonObject) request = seg_ctl_request("set");
    g_autoptr(JsonObject) response = NULL;
    g_autoptr(GError) error = NULL;
    JsonObject *settings = json_object_new();
    JsonArray *warnings;
    JsonNode *node;
    guint   i;

    for (; *keys; keys++) {
        g_autofree char *value = seg_settings_get(s, *keys);

        json_object_set_string_member(settings, *keys, value);
    }
    json_object_set_object_member(request, "settings", settings);
    if (sc->cluster != NULL)
        json_object_set_string_member(request, "level", sc->level);
    if ((response = seg_ctl_call(sc->socket, request, &error)) == NULL
        || !seg_ctl_check(response, &error)) {
        fflush(stdout);
        msg_info("%s", error->message);
        sc->status = 1;
        return;
    }
    node = json_object_get_member(response, "warnings");
    if (node == NULL || !JSON_NODE_HOLDS_ARRAY(node))
        return;
    warnings = json_node_get_array(node);
    for (i = 0; i < json_array_get_length(warnings); i++) {
        JsonNode *elem = json_array_get_element(warnings, i);
        const char *w;

        if (!JSON_NODE_HOLDS_VALUE(elem)
            || json_node_get_value_type(elem) != G_TYPE_STRING)
            continue;
        w = json_node_get_string(elem);
        if (!blank)
            dialog_printf("\n");
        blank = TRUE;
        dialog_printf("%s\n", w);
    }
}

/* ask_methods - the method menu; FALSE at end of input */
static gboolean ask_methods(const service_edit *ed, unsigned *methods)
{
    g_autofree char *dflt = seg_methods_menu_default(*methods);
    int     menu;

    dialog_printf("\nEnter the %s ssl method you want to use.\n", ed->word);
    for (menu = 1; menu <= SEG_TLS_NVERS; menu++)
        dialog_printf("%d. %s\n", menu, seg_tlsver_by_menu(menu)->human);
    for (;;) {
        g_autofree char *answer = dialog_ask(dflt);
        g_autoptr(GError) error = NULL;
        unsigned mask;

        if (answer == NULL)
            return FALSE;
        if (*answer == 0)
            return TRUE;
        if (seg_methods_parse_menu(answer, &mask, &error)) {
            *methods = mask;
            return TRUE;
        }
        dialog_printf("\n%s\n", error->message);
    }
}

/* ask_ciphers - the cipher string; FALSE at end of input */
static gboolean ask_ciphers(const service_edit *ed, char **ciphers)
{
    dialog_printf("\nEnter the %s ssl cipher you want to use.\n", ed->word);
    for (;;) {
        g_autofree char *answer = dialog_ask(*ciphers);
        g_autoptr(GError) error = NULL;

        if (answer == NULL)
            return FALSE;
        if (*answer == 0)
            return TRUE;
        if (seg_cipher_string_check(answer, &error)) {
            g_free(*ciphers);
            *ciphers = g_steal_pointer(&answer);
            return TRUE;
        }
        dialog_printf("\n%s\n", error->message);
    }
}

/* edit_service - GUI, INBOUND, OUTBOUND: ask everything, then one set */
static op_status edit_service(sslconfig *sc, const void *arg)
{
    const service_edit *ed = arg;
    const char *svc = seg_service_key(ed->svc);
    g_autoptr(seg_settings) edited = seg_settings_copy(sc->shown);
    seg_service_settings *ss = &edited->svc[ed->svc];
    g_autofree char *k_methods = g_strdup_printf("%s.methods", svc);
    g_autofree char *k_ciphers = g_strdup_printf("%s.ciphers", svc);
    g_autofree char *k_reneg = g_strdup_printf("%s.renegotiation", svc);
    g_autofree char *question = NULL;
    const char *keys[4] = {k_methods, k_ciphers, NULL, NULL};
    int     yes;

    if (!ask_methods(ed, &ss->methods) || !ask_ciphers(ed, &ss->ciphers))
        return OP_EOF;
    if (ed->renegotiation) {
        question = g_strdup_printf("Do you want to enable TLS Renegotiation "
                                   "for %s?", ed->word);
        dialog_printf("\n");
        if ((yes = dialog_yes_no(question, ss->renegotiation)) < 0)
            return OP_EOF;
        ss->renegotiation = yes;
        keys[2] = k_reneg;
    }
    send_set(sc, edited, keys);
    return OP_DONE;
}

/* verify_ciphers - VERIFY: show what a cipher string selects */
static op_status verify_ciphers(sslconfig *sc, const void *arg)
{
    g_autofree char *answer = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(GString) out = g_string_new(NULL);

    dialog_printf("\nEnter the ssl cipher you want to verify.\n");
    if ((answer = dialog_ask(NULL)) == NULL)
        return OP_EOF;
    if (*answer == 0)
        return OP_DONE;
    if (!seg_cipher_string_check(answer, &error)
        || !seg_cipher_describe(answer, out, &error)) {
        dialog_printf("\n%s\n", error->message);
        return OP_DONE;
    }
    if (out->len > 0 && out->str[out->len - 1] != '\n')
        g_string_append_c(out, '\n');
    dialog_printf("\n%s", out->str);
    return OP_DONE;
}

/* toggle_field - the switch of a toggle in some settings */
static gboolean *toggle_field(seg_settings *s, const toggle *tg)
{
    return (gboolean *) ((char *) s + tg->offset);
}

/* edit_toggle - ENABLE or DISABLE one switch */
static op_status edit_toggle(sslconfig *sc, const void *arg)
{
    const toggle *tg = arg;
    gboolean on = *toggle_field(sc->shown, tg);
    g_autofree char *description = g_strdup_printf("%s %s.",
                                                   on ? "Disable" : "Enable", tg->label);
    const dialog_choice choice = {on ? "DISABLE" : "ENABLE", description};
    const char *keys[2] = {tg->key, NULL};
    g_autoptr(seg_settings) edited = NULL;

    dialog_printf("\n%s is currently %s.\n", tg->label, on ? "enabled" : "disabled");
    switch (dialog_choose(&choice, 1)) {
    case DIALOG_CHOICE_EOF:
        return OP_EOF;
    case DIALOG_CHOICE_NONE:
        return OP_DONE;
    }
    edited = seg_settings_copy(sc->shown);
    *toggle_field(edited, tg) = !on;
    send_set(sc, edited, keys);
    return OP_DONE;
}

/* print_member - each string of an array member, one per line */
static void print_member(JsonObject *response, const char *member)
{
    JsonNode *node = json_object_get_member(response, member);
    JsonArray *arr;

    if (node == NULL || !JSON_NODE_HOLDS_ARRAY(node))
        return;
    arr = json_node_get_array(node);
    for (guint i = 0; i < json_array_get_length(arr); i++) {
        JsonNode *elem = json_array_get_element(arr, i);

        if (JSON_NODE_HOLDS_VALUE(elem)
            && json_node_get_value_type(elem) == G_TYPE_STRING)
            dialog_printf("%s\n", json_node_get_string(elem));
    }
}

/* apply_now - APPLY: the committed settings applied and proven now */
static op_status apply_now(sslconfig *sc, const void *arg)
{
    g_autoptr(JsonObject) request = seg_ctl_request("apply");
    g_autoptr(JsonObject) response = NULL;
    g_autoptr(GError) error = NULL;

    dialog_printf("\nApplying the committed settings to the servers.\n");
    fflush(stdout);
    if ((response = seg_ctl_call(sc->socket, request, &error)) == NULL
        || !seg_ctl_check(response, &error)) {
        fflush(stdout);
        msg_info("%s", error->message);
        sc->status = 1;
        return OP_DONE;
    }
    print_member(response, "warnings");
    print_member(response, "lines");
    return OP_DONE;
}

/* array_member - an array member, or NULL */
static JsonArray *array_member(JsonObject *o, const char *name)
{
    JsonNode *n = json_object_get_member(o, name);

    return n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
}

/* level_title - "Cluster mail", "Group G", "Machine m1" of a level */
static char *level_title(const sslconfig *sc, const char *text)
{
    seg_level l;
    char   *t;

    if (!seg_level_parse(text, &l, NULL))
        return g_strdup(text);
    t = seg_level_title(&l, sc->cluster);
    seg_level_clear(&l);
    return t;
}

/* add_unique - append a copy of s unless it is there */
static void add_unique(GPtrArray *a, const char *s)
{
    for (guint i = 0; i < a->len; i++)
        if (strcmp(g_ptr_array_index(a, i), s) == 0)
            return;
    g_ptr_array_add(a, g_strdup(s));
}

/* text_cmp - GPtrArray sort: "group:..." before "machine:...", names in order */
static gint text_cmp(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* in_group - does key belong to the settings movable[m] names? */
static gboolean in_group(gsize m, const char *key)
{
    return movable[m].what == NULL || g_str_has_prefix(key, movable[m].what);
}

/*
 * cluster_set - CLUSTERSET: which settings, from which level (one that
 * holds some of them), to which (or deleted there): one clusterset
 * request into the pending changes
 */
static op_status cluster_set(sslconfig *sc, const void *arg)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonObject) shown = NULL;
    g_autoptr(JsonObject) done = NULL;
    g_autoptr(GPtrArray) from = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) to = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) titles = g_ptr_array_new_with_free_func(g_free);
    const char *items[G_N_ELEMENTS(movable)];
    JsonArray *rows, *machines, *keys;
    JsonObject *request;
    int     m, f, t;
    gboolean del;

    if ((shown = call(sc, seg_ctl_request("clustershow"), &error)) == NULL) {
        fflush(stdout);
        msg_info("%s", error->message);
        sc->status = 1;
        return OP_DONE;
    }
    rows = array_member(shown, "pending") ? array_member(shown, "pending")
        : array_member(shown, "settings");
    machines = array_member(shown, "machines");
    for (gsize i = 0; i < G_N_ELEMENTS(movable); i++)
        items[i] = movable[i].title;
    dialog_printf("\nWhich settings do you want to move?\n");
    if ((m = dialog_number(items, G_N_ELEMENTS(movable), 1)) < 0)
        return OP_EOF;
    /* from: the levels that hold some of them, the cluster first */
    add_unique(from, "cluster");
    for (guint i = 0; rows != NULL && i < json_array_get_length(rows); i++) {
        JsonObject *r = json_array_get_object_element(rows, i);

        if (in_group((gsize) m, json_object_get_string_member_with_default(r, "key", "")))
            add_unique(from, json_object_get_string_member_with_default(r, "level",
                                                                        "cluster"));
    }
    g_ptr_array_remove_index(from, 0);
    g_ptr_array_sort(from, text_cmp);
    g_ptr_array_insert(from, 0, g_strdup("cluster"));
    for (guint i = 0; i < from->len; i++)
        g_ptr_array_add(titles, level_title(sc, g_ptr_array_index(from, i)));
    dialog_printf("\nMove them from:\n");
    if ((f = dialog_number((const char *const *) titles->pdata, (int) titles->len, 1)) < 0)
        return OP_EOF;
    /* to: the cluster, every group and machine the cluster knows, or deleted */
    add_unique(to, "cluster");
    for (guint i = 0; machines != NULL && i < json_array_get_length(machines); i++) {
        JsonObject *o = json_array_get_object_element(machines, i);
        g_autofree char *g = g_strconcat("group:", json_object_get_string_member_with_default(
                                             o, "group", SEG_DEFAULT_GROUP), NULL);

        add_unique(to, g);
    }
    for (guint i = 0; rows != NULL && i < json_array_get_length(rows); i++)
        add_unique(to, json_object_get_string_member_with_default(
                       json_array_get_object_element(rows, i), "level", "cluster"));
    for (guint i = 0; machines != NULL && i < json_array_get_length(machines); i++) {
        g_autofree char *mm = g_strconcat("machine:",
            json_object_get_string_member_with_default(json_array_get_object_element(
                machines, i), "machine", "?"), NULL);

        add_unique(to, mm);
    }
    g_ptr_array_remove_index(to, 0);
    g_ptr_array_sort(to, text_cmp);
    for (guint i = 0; i < to->len; i++)
        if (strcmp(g_ptr_array_index(to, i), g_ptr_array_index(from, f)) == 0)
            g_ptr_array_remove_index(to, i--);
    if (f > 0)
        g_ptr_array_insert(to, 0, g_strdup("cluster"));
    g_ptr_array_set_size(titles, 0);
    for (guint i = 0; i < to->len; i++)
        g_ptr_array_add(titles, level_title(sc, g_ptr_array_index(to, i)));
    if (f > 0) {
        g_autofree char *ft = level_title(sc, g_ptr_array_index(from, f));

        g_ptr_array_add(titles, g_strdup_printf("Delete them from %s (it inherits them "
                                                "again)", ft));
    }
    dialog_printf("\nMove them to:\n");
    if ((t = dialog_number((const char *const *) titles->pdata, (int) titles->len, 0)) < 0)
        return OP_EOF;
    del = (guint) t == to->len;
    request = seg_ctl_request("clusterset");
    keys = json_array_new();
    for (const char *const *k = seg_settings_keys(); *k != NULL; k++)
        if (in_group((gsize) m, *k))
            json_array_add_string_element(keys, *k);
    json_object_set_array_member(request, "keys", keys);
    json_object_set_string_member(request, "from", g_ptr_array_index(from, f));
    if (del)
        json_object_set_null_member(request, "to");
    else
        json_object_set_string_member(request, "to", g_ptr_array_index(to, t));
    if ((done = call(sc, request, &error)) == NULL) {
        fflush(stdout);
        msg_info("%s", error->message);
        sc->status = 1;
        return OP_DONE;
    }
    {
        g_autofree char *ft = level_title(sc, g_ptr_array_index(from, f));
        g_autofree char *tt = del ? NULL : level_title(sc, g_ptr_array_index(to, t));

        if (del)
            dialog_printf("\n%s settings of %s deleted; it inherits them again.\n",
                          movable[m].title, ft);
        else
            dialog_printf("\n%s settings of %s now set at %s.\n", movable[m].title, ft, tt);
    }
    return OP_DONE;
}

/* cluster_show - CLUSTERSHOW: where the ssl settings are set */
static op_status cluster_show(sslconfig *sc, const void *arg)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonObject) shown = NULL;
    g_autoptr(GPtrArray) levels = g_ptr_array_new_with_free_func(g_free);
    JsonArray *rows;

    if ((shown = call(sc, seg_ctl_request("clustershow"), &error)) == NULL) {
        fflush(stdout);
        msg_info("%s", error->message);
        sc->status = 1;
        return OP_DONE;
    }
    rows = array_member(shown, "pending") ? array_member(shown, "pending")
        : array_member(shown, "settings");
    dialog_printf("\nssl settings of cluster %s (revision %" G_GINT64_FORMAT "%s):\n",
                  sc->cluster, json_object_get_int_member_with_default(shown, "revision", 0),
                  array_member(shown, "pending") ? ", with your pending changes" : "");
    dialog_printf("  Cluster %s: every setting\n", sc->cluster);
    for (guint i = 0; rows != NULL && i < json_array_get_length(rows); i++)
        add_unique(levels, json_object_get_string_member_with_default(
                       json_array_get_object_element(rows, i), "level", "cluster"));
    for (guint l = 1; l < levels->len; l++) {
        g_autofree char *title = level_title(sc, g_ptr_array_index(levels, l));

        dialog_printf("  %s:\n", title);
        for (guint i = 0; i < json_array_get_length(rows); i++) {
            JsonObject *r = json_array_get_object_element(rows, i);

            if (strcmp(json_object_get_string_member_with_default(r, "level", ""),
                       g_ptr_array_index(levels, l)) == 0)
                dialog_printf("    %s = %s\n",
                              json_object_get_string_member_with_default(r, "key", "?"),
                              json_object_get_string_member_with_default(r, "value", ""));
        }
    }
    return OP_DONE;
}

/* run - the listing and the operation prompt, until the user leaves */
static void run(sslconfig *sc)
{
    dialog_choice choices[G_N_ELEMENTS(operations)];
    g_autofree char *prompt = NULL;
    gboolean first = TRUE;
    gsize   count = G_N_ELEMENTS(operations);
    gsize   i;
    int     n;

    for (i = 0; i < G_N_ELEMENTS(operations); i++)
        choices[i] = operations[i].choice;
    for (;;) {
        g_autoptr(GError) error = NULL;

        if (!fetch(sc, &error)) {
            fflush(stdout);
            msg_info("%s", error->message);
            sc->status = 1;
            return;
        }
        if (!first)
            dialog_printf("\n");
        first = FALSE;
        if (sc->cluster == NULL) {
            count = G_N_ELEMENTS(operations) - CLUSTER_OPERATIONS;
        } else if (prompt == NULL) {
            g_autofree char *title = level_title(sc, sc->level);

            prompt = g_strdup_printf("(%s)> ", title);
        }
        print_listing(sc->shown);
        n = dialog_choose_at(choices, count, prompt);
        if (n == DIALOG_CHOICE_NONE || n == DIALOG_CHOICE_EOF) {
            if (sc->pending)
                dialog_printf("\n" UNCOMMITTED "\n");
            else if (n == DIALOG_CHOICE_EOF)
                dialog_printf("\n");
            return;
        }
        if (operations[n].handler(sc, operations[n].arg) == OP_EOF) {
            dialog_printf("\n");
            fflush(stdout);
            msg_info("end of input, %s abandoned",
                     operations[n].handler == verify_ciphers ? "verify" : "edit");
            sc->status = 1;
            return;
        }
    }
}

/* main - options, then the dialog */
int     main(int argc, char **argv)
{
    g_autofree char *opt_socket = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(GOptionContext) ctx = NULL;
    sslconfig sc = {0};
    g_autofree char *opt_level = NULL;
    const GOptionEntry entries[] = {
        {"socket", 's', 0, G_OPTION_ARG_FILENAME, &opt_socket,
         "control socket of segtls-policyd (default $SEGTLS_SOCKET, else "
         SEG_DEFAULT_SOCKET ")", "PATH"},
        {"level", 'l', 0, G_OPTION_ARG_STRING, &opt_level,
         "cluster mode: work at this level, cluster (the default), group:NAME or "
         "machine:NAME", "LEVEL"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };

    msg_init(argv[0]);
    seg_ignore_sigpipe();
    ctx = g_option_context_new("- edit the SSL configuration like the gateway's "
                               "sslconfig");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(ctx,
        "Answers are read from standard input, one per line; an empty answer\n"
        "keeps the value in brackets. Edits go to the pending configuration of\n"
        "segtls-policyd; use \"segtls commit\" to apply them. See sslconfig(1).\n");
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        msg_info("%s", error->message);
        return 2;
    }
    if (argc > 1) {
        g_autofree char *q = seg_quote_value(argv[1]);

        msg_info("unexpected argument %s (try --help)", q);
        return 2;
    }
    if (opt_level != NULL) {
        seg_level l;

        if (!seg_level_parse(opt_level, &l, &error)) {
            msg_info("--level: %s", error->message);
            return 2;
        }
        seg_level_clear(&l);
    }
    sc.socket = seg_ctl_socket_path(opt_socket);
    sc.level = opt_level;
    run(&sc);
    if (sc.shown)
        seg_settings_free(sc.shown);
    g_free(sc.cluster);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        msg_info("cannot write the dialog: standard output failed");
        return 1;
    }
    return sc.status;
}
