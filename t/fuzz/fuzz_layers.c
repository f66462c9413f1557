/*
 * fuzz_layers - libFuzzer target: the cluster's configuration documents
 * (lib/policy/layers.h), what etcd hands every machine.
 *
 * The input is parsed as JSON; an object is read as a configuration and
 * as a change (seg_layers_from_json). A refusal must say why on one line.
 * What is accepted must survive its JSON form unchanged, give a view for
 * every level it names, and as a configuration L: the change from L to L
 * is empty, the change from the defaults to L applied to the defaults is
 * L again (members aside), and listing and changes never fail.
 */
#include <string.h>

#include "layers.h"

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

/* one_line - a non-empty one-line message */
static void one_line(const GError *err)
{
    if (err == NULL || err->message[0] == '\0' || strchr(err->message, '\n'))
        __builtin_trap();
}

/* views - a view of the cluster, of every group and machine named */
static void views(const seg_layers *l)
{
    for (int kind = SEG_LEVEL_GROUP; kind <= SEG_LEVEL_MACHINE; kind++) {
        g_autoptr(GPtrArray) names = seg_layers_names(l, (seg_level_kind) kind);

        for (guint i = 0; i < names->len; i++) {
            seg_level at = {(seg_level_kind) kind, g_ptr_array_index(names, i)};
            g_autoptr(seg_settings) s = seg_layers_view(l, &at);

            if (s == NULL)
                __builtin_trap();
        }
    }
    {
        seg_level c = {SEG_LEVEL_CLUSTER, NULL};
        g_autoptr(seg_settings) s = seg_layers_view(l, &c);

        if (s == NULL)
            __builtin_trap();
    }
}

/* one - read obj as a configuration or a change and check what holds */
static void one(JsonObject *obj, gboolean delta)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(seg_layers) l = seg_layers_from_json(obj, delta, &err);
    g_autoptr(seg_layers) back = NULL;
    g_autoptr(JsonObject) again = NULL;

    if (l == NULL) {
        one_line(err);
        return;
    }
    again = seg_layers_to_json(l);
    if ((back = seg_layers_from_json(again, delta, NULL)) == NULL
        || !seg_layers_equal(l, back))
        __builtin_trap();
    if (delta)
        return;
    views(l);
    {
        g_autoptr(seg_layers) same = seg_layers_delta(l, l);
        g_autoptr(seg_settings) d = seg_settings_new_default();
        g_autoptr(seg_layers) base = seg_layers_new(d);
        g_autoptr(seg_layers) change = seg_layers_delta(base, l);
        g_autoptr(seg_layers) made = seg_layers_apply(base, change);
        g_autoptr(GPtrArray) rows = seg_layers_listing(l);
        g_autoptr(GPtrArray) diff = seg_layers_changes(base, l);

        if (!seg_layers_delta_empty(same) || diff == NULL)
            __builtin_trap();
        GHashTableIter it;
        gpointer k, v;

        g_hash_table_iter_init(&it, l->members);        /* a change has no members */
        while (g_hash_table_iter_next(&it, &k, &v))
            g_hash_table_insert(made->members, g_strdup(k), g_strdup(v));
        if (!seg_layers_equal(made, l) || rows->len < g_hash_table_size(l->cluster))
            __builtin_trap();
    }
}

/* LLVMFuzzerTestOneInput - one document */
int LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    g_autoptr(JsonParser) p = json_parser_new();
    JsonNode *root;

    if (size > 65536 || !g_utf8_validate((const char *) data, (gssize) size, NULL))
        return 0;
    if (!json_parser_load_from_data(p, (const char *) data, (gssize) size, NULL)
        || (root = json_parser_get_root(p)) == NULL || !JSON_NODE_HOLDS_OBJECT(root))
        return 0;
    one(json_node_get_object(root), FALSE);
    one(json_node_get_object(root), TRUE);
    return 0;
}
