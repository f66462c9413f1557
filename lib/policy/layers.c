/*
 * layers - the settings of a cluster at three levels (see layers.h).
 *
 * Values are kept as canonical text: a value enters only through
 * put_value(), which parses it with seg_settings_set() and keeps what
 * seg_settings_get() prints, so that equal settings are equal strings and
 * a view never fails. Keys are the static strings of seg_settings_keys().
 */
#include <string.h>

#include "error.h"
#include "layers.h"
#include "quote.h"

/* The level names of the JSON form, in seg_level_kind order. */
static const char *const level_words[] = {"cluster", "group", "machine"};

/* key_of - the static key string of a setting, NULL when there is none */
static const char *key_of(const char *key)
{
    for (const char *const *k = seg_settings_keys(); key != NULL && *k != NULL; k++)
        if (strcmp(*k, key) == 0)
            return *k;
    return NULL;
}

/* values_new - key -> value table */
static GHashTable *values_new(void)
{
    return g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
}

/* named_new - name -> (key -> value) table */
static GHashTable *named_new(void)
{
    return g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                 (GDestroyNotify) g_hash_table_unref);
}

/* seg_level_name_check - a group or machine name */
gboolean seg_level_name_check(const char *what, const char *name, GError **error)
{
    gsize   n = name ? strlen(name) : 0;
    g_autofree char *q = seg_quote_value(name ? name : "");

    if (n == 0 || n > SEG_LEVEL_NAME_MAX || !g_ascii_isalnum(name[0])
        || name[strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                       "0123456789._-")] != 0) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                    "%s %s: a %s name is 1 to %d letters, digits, '.', '_' or '-', "
                    "starting with a letter or digit", what, q, what, SEG_LEVEL_NAME_MAX);
        return FALSE;
    }
    return TRUE;
}

/* seg_level_parse - "cluster", "group:NAME", "machine:NAME" */
gboolean seg_level_parse(const char *text, seg_level *level, GError **error)
{
    const char *colon = text ? strchr(text, ':') : NULL;

    level->kind = SEG_LEVEL_CLUSTER;
    level->name = NULL;
    if (text != NULL && strcmp(text, "cluster") == 0)
        return TRUE;
    for (int k = SEG_LEVEL_GROUP; colon != NULL && k <= SEG_LEVEL_MACHINE; k++) {
        if ((gsize) (colon - text) != strlen(level_words[k])
            || strncmp(text, level_words[k], (gsize) (colon - text)) != 0)
            continue;
        if (!seg_level_name_check(level_words[k], colon + 1, error))
            return FALSE;
        level->kind = (seg_level_kind) k;
        level->name = g_strdup(colon + 1);
        return TRUE;
    }
    {
        g_autofree char *q = seg_quote_value(text ? text : "");

        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                    "level %s: expected cluster, group:NAME or machine:NAME", q);
    }
    return FALSE;
}

/* seg_level_text - "cluster", "group:G", "machine:M" */
char *seg_level_text(const seg_level *level)
{
    if (level->kind == SEG_LEVEL_CLUSTER)
        return g_strdup("cluster");
    return g_strdup_printf("%s:%s", level_words[level->kind], level->name);
}

/* seg_level_title - "Cluster NAME", "Group G", "Machine M" */
char *seg_level_title(const seg_level *level, const char *cluster)
{
    static const char *const titles[] = {"Cluster", "Group", "Machine"};

    return g_strdup_printf("%s %s", titles[level->kind],
                           level->kind == SEG_LEVEL_CLUSTER ? cluster : level->name);
}

/* seg_level_clear - release the name */
void seg_level_clear(seg_level *level)
{
    g_clear_pointer(&level->name, g_free);
    level->kind = SEG_LEVEL_CLUSTER;
}

/* seg_layers_new_delta - nothing at any level */
seg_layers *seg_layers_new_delta(void)
{
    seg_layers *l = g_new0(seg_layers, 1);

    l->cluster = values_new();
    l->groups = named_new();
    l->machines = named_new();
    l->members = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    return l;
}

/* seg_layers_new - s at cluster level */
seg_layers *seg_layers_new(const seg_settings *s)
{
    seg_layers *l = seg_layers_new_delta();

    for (const char *const *k = seg_settings_keys(); *k != NULL; k++)
        g_hash_table_insert(l->cluster, (gpointer) *k, seg_settings_get(s, *k));
    return l;
}

/* values_copy - a key -> value table */
static GHashTable *values_copy(GHashTable *t)
{
    GHashTable *c = values_new();
    GHashTableIter it;
    gpointer k, v;

    g_hash_table_iter_init(&it, t);
    while (g_hash_table_iter_next(&it, &k, &v))
        g_hash_table_insert(c, k, g_strdup(v));
    return c;
}

/* named_copy - a name -> values table */
static void named_copy(GHashTable *to, GHashTable *from)
{
    GHashTableIter it;
    gpointer k, v;

    g_hash_table_iter_init(&it, from);
    while (g_hash_table_iter_next(&it, &k, &v))
        g_hash_table_insert(to, g_strdup(k), values_copy(v));
}

/* seg_layers_copy - deep copy */
seg_layers *seg_layers_copy(const seg_layers *l)
{
    seg_layers *c = seg_layers_new_delta();
    GHashTableIter it;
    gpointer k, v;

    g_hash_table_unref(c->cluster);
    c->cluster = values_copy(l->cluster);
    named_copy(c->groups, l->groups);
    named_copy(c->machines, l->machines);
    g_hash_table_iter_init(&it, l->members);
    while (g_hash_table_iter_next(&it, &k, &v))
        g_hash_table_insert(c->members, g_strdup(k), g_strdup(v));
    return c;
}

/* seg_layers_free - release */
void seg_layers_free(seg_layers *l)
{
    if (l == NULL)
        return;
    g_hash_table_unref(l->cluster);
    g_hash_table_unref(l->groups);
    g_hash_table_unref(l->machines);
    g_hash_table_unref(l->members);
    g_free(l);
}

/* values_equal - same keys, same values (NULL values included) */
static gboolean values_equal(GHashTable *a, GHashTable *b)
{
    GHashTableIter it;
    gpointer k, v, w;

    if (g_hash_table_size(a) != g_hash_table_size(b))
        return FALSE;
    g_hash_table_iter_init(&it, a);
    while (g_hash_table_iter_next(&it, &k, &v))
        if (!g_hash_table_lookup_extended(b, k, NULL, &w) || g_strcmp0(v, w) != 0)
            return FALSE;
    return TRUE;
}

/* named_equal - the same names with equal values */
static gboolean named_equal(GHashTable *a, GHashTable *b)
{
    GHashTableIter it;
    gpointer k, v;

    if (g_hash_table_size(a) != g_hash_table_size(b))
        return FALSE;
    g_hash_table_iter_init(&it, a);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        GHashTable *w = g_hash_table_lookup(b, k);

        if (w == NULL || !values_equal(v, w))
            return FALSE;
    }
    return TRUE;
}

/* seg_layers_equal - every level and the members */
gboolean seg_layers_equal(const seg_layers *a, const seg_layers *b)
{
    GHashTableIter it;
    gpointer k, v;

    if (!values_equal(a->cluster, b->cluster) || !named_equal(a->groups, b->groups)
        || !named_equal(a->machines, b->machines)
        || g_hash_table_size(a->members) != g_hash_table_size(b->members))
        return FALSE;
    g_hash_table_iter_init(&it, a->members);
    while (g_hash_table_iter_next(&it, &k, &v))
        if (g_strcmp0(v, g_hash_table_lookup(b->members, k)) != 0)
            return FALSE;
    return TRUE;
}

/*
 * put_value - check value for key with seg_settings_set() and store its
 * canonical text in t (value NULL: store NULL, a removal in a delta)
 */
static gboolean put_value(GHashTable *t, const char *key, const char *value,
                          GError **error)
{
    g_autoptr(seg_settings) s = seg_settings_new_default();
    const char *k = key_of(key);

    if (k == NULL)                      /* "KEY: no such setting" */
        return seg_settings_set(s, key, "", error);
    if (value == NULL) {
        g_hash_table_insert(t, (gpointer) k, NULL);
        return TRUE;
    }
    if (!seg_settings_set(s, k, value, error))
        return FALSE;
    g_hash_table_insert(t, (gpointer) k, seg_settings_get(s, k));
    return TRUE;
}

/* level_table - the values a level holds; create: make it when missing */
static GHashTable *level_table(const seg_layers *l, const seg_level *at,
                               gboolean create)
{
    GHashTable *named;
    GHashTable *t;

    if (at->kind == SEG_LEVEL_CLUSTER)
        return l->cluster;
    named = at->kind == SEG_LEVEL_GROUP ? l->groups : l->machines;
    if ((t = g_hash_table_lookup(named, at->name)) == NULL && create) {
        t = values_new();
        g_hash_table_insert(named, g_strdup(at->name), t);
    }
    return t;
}

/* drop_empty - a group or machine that holds nothing is no longer listed */
static void drop_empty(seg_layers *l, const seg_level *at)
{
    GHashTable *t = level_table(l, at, FALSE);

    if (at->kind != SEG_LEVEL_CLUSTER && t != NULL && g_hash_table_size(t) == 0)
        g_hash_table_remove(at->kind == SEG_LEVEL_GROUP ? l->groups : l->machines,
                            at->name);
}

/* json_string_or_null - a member that must be a string (or null when allowed) */
static gboolean json_string_or_null(JsonNode *node, gboolean null_ok,
                                    const char **out)
{
    if (null_ok && JSON_NODE_HOLDS_NULL(node)) {
        *out = NULL;
        return TRUE;
    }
    if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
        return FALSE;
    *out = json_node_get_string(node);
    return TRUE;
}

/* values_from_json - KEY:VALUE members into t; where names the place */
static gboolean values_from_json(GHashTable *t, JsonNode *node, gboolean delta,
                                 const char *where, GError **error)
{
    JsonObjectIter iter;
    const char *key;
    JsonNode *value;

    if (!JSON_NODE_HOLDS_OBJECT(node)) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID, "%s: must be an object", where);
        return FALSE;
    }
    json_object_iter_init(&iter, json_node_get_object(node));
    while (json_object_iter_next(&iter, &key, &value)) {
        const char *text;

        if (!json_string_or_null(value, delta, &text)) {
            g_autofree char *q = seg_quote_value(key);

            g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                        "%s: %s: value must be a string%s", where, q,
                        delta ? " or null" : "");
            return FALSE;
        }
        if (!put_value(t, key, text, error)) {
            g_prefix_error(error, "%s: ", where);
            return FALSE;
        }
    }
    return TRUE;
}

/* named_from_json - NAME:{KEY:VALUE} members; kind names the level */
static gboolean named_from_json(GHashTable *named, JsonNode *node, seg_level_kind kind,
                                gboolean delta, GError **error)
{
    const char *what = level_words[kind];
    const char *plural = kind == SEG_LEVEL_GROUP ? "groups" : "machines";
    JsonObjectIter iter;
    const char *name;
    JsonNode *values;

    if (!JSON_NODE_HOLDS_OBJECT(node)) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID, "%s: must be an object", plural);
        return FALSE;
    }
    json_object_iter_init(&iter, json_node_get_object(node));
    while (json_object_iter_next(&iter, &name, &values)) {
        g_autofree char *where = g_strdup_printf("%s.%s", plural, name);
        GHashTable *t;

        if (!seg_level_name_check(what, name, error)) {
            g_prefix_error(error, "%s: ", plural);
            return FALSE;
        }
        t = values_new();
        g_hash_table_insert(named, g_strdup(name), t);
        if (!values_from_json(t, values, delta, where, error))
            return FALSE;
        if (g_hash_table_size(t) == 0)  /* holds nothing: not listed */
            g_hash_table_remove(named, name);
    }
    return TRUE;
}

/* members_from_json - MACHINE:GROUP members */
static gboolean members_from_json(GHashTable *members, JsonNode *node, GError **error)
{
    JsonObjectIter iter;
    const char *name;
    JsonNode *group;

    if (!JSON_NODE_HOLDS_OBJECT(node)) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID, "members: must be an object");
        return FALSE;
    }
    json_object_iter_init(&iter, json_node_get_object(node));
    while (json_object_iter_next(&iter, &name, &group)) {
        const char *g;

        if (!seg_level_name_check("machine", name, error)) {
            g_prefix_error(error, "members: ");
            return FALSE;
        }
        if (!json_string_or_null(group, FALSE, &g)
            || !seg_level_name_check("group", g, error)) {
            g_clear_error(error);
            g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                        "members.%s: must be a group name", name);
            return FALSE;
        }
        g_hash_table_insert(members, g_strdup(name), g_strdup(g));
    }
    return TRUE;
}

/* seg_layers_from_json - a configuration or a change, checked */
seg_layers *seg_layers_from_json(JsonObject *obj, gboolean delta, GError **error)
{
    g_autoptr(seg_layers) l = seg_layers_new_delta();
    JsonObjectIter iter;
    const char *member;
    JsonNode *node;

    json_object_iter_init(&iter, obj);
    while (json_object_iter_next(&iter, &member, &node)) {
        gboolean ok;

        if (strcmp(member, "cluster") == 0)
            ok = values_from_json(l->cluster, node, FALSE, "cluster", error);
        else if (strcmp(member, "groups") == 0)
            ok = named_from_json(l->groups, node, SEG_LEVEL_GROUP, delta, error);
        else if (strcmp(member, "machines") == 0)
            ok = named_from_json(l->machines, node, SEG_LEVEL_MACHINE, delta, error);
        else if (strcmp(member, "members") == 0 && !delta)
            ok = members_from_json(l->members, node, error);
        else {
            g_autofree char *q = seg_quote_value(member);

            g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID, "unknown member %s", q);
            ok = FALSE;
        }
        if (!ok)
            return NULL;
    }
    if (!delta) {
        g_autoptr(seg_settings) d = seg_settings_new_default();

        for (const char *const *k = seg_settings_keys(); *k != NULL; k++)
            if (!g_hash_table_contains(l->cluster, *k))
                g_hash_table_insert(l->cluster, (gpointer) *k, seg_settings_get(d, *k));
    }
    return g_steal_pointer(&l);
}

/* values_to_json - in listing order; NULL values as null */
static JsonObject *values_to_json(GHashTable *t)
{
    JsonObject *o = json_object_new();
    gpointer v;

    for (const char *const *k = seg_settings_keys(); *k != NULL; k++) {
        if (!g_hash_table_lookup_extended(t, *k, NULL, &v))
            continue;
        if (v == NULL)
            json_object_set_null_member(o, *k);
        else
            json_object_set_string_member(o, *k, v);
    }
    return o;
}

/* str_cmp - GPtrArray sort function for strings */
static gint str_cmp(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* sorted_keys - the names of a table, sorted (the strings are the table's) */
static GPtrArray *sorted_keys(GHashTable *t)
{
    GPtrArray *names = g_ptr_array_new();
    GHashTableIter it;
    gpointer k;

    g_hash_table_iter_init(&it, t);
    while (g_hash_table_iter_next(&it, &k, NULL))
        g_ptr_array_add(names, k);
    g_ptr_array_sort(names, str_cmp);
    return names;
}

/* named_to_json - names sorted */
static JsonObject *named_to_json(GHashTable *named)
{
    JsonObject *o = json_object_new();
    g_autoptr(GPtrArray) names = sorted_keys(named);

    for (guint i = 0; i < names->len; i++)
        json_object_set_object_member(o, g_ptr_array_index(names, i),
                                      values_to_json(g_hash_table_lookup(named,
                                          g_ptr_array_index(names, i))));
    return o;
}

/* seg_layers_to_json - the JSON form */
JsonObject *seg_layers_to_json(const seg_layers *l)
{
    JsonObject *o = json_object_new();
    JsonObject *m = json_object_new();
    g_autoptr(GPtrArray) names = sorted_keys(l->members);

    json_object_set_object_member(o, "cluster", values_to_json(l->cluster));
    json_object_set_object_member(o, "groups", named_to_json(l->groups));
    json_object_set_object_member(o, "machines", named_to_json(l->machines));
    for (guint i = 0; i < names->len; i++)
        json_object_set_string_member(m, g_ptr_array_index(names, i),
                                      g_hash_table_lookup(l->members,
                                                          g_ptr_array_index(names, i)));
    if (names->len > 0)                 /* a delta has none */
        json_object_set_object_member(o, "members", m);
    else
        json_object_unref(m);
    return o;
}

/* seg_layers_group_of - a member's group */
const char *seg_layers_group_of(const seg_layers *l, const char *machine)
{
    return machine ? g_hash_table_lookup(l->members, machine) : NULL;
}

/* overlay - the values of t over s (checked when they entered) */
static void overlay(seg_settings *s, GHashTable *t)
{
    GHashTableIter it;
    gpointer k, v;

    if (t == NULL)
        return;
    g_hash_table_iter_init(&it, t);
    while (g_hash_table_iter_next(&it, &k, &v))
        if (v != NULL && !seg_settings_set(s, k, v, NULL))
            g_warn_if_reached();
}

/* seg_layers_view - cluster, then group, then machine */
seg_settings *seg_layers_view(const seg_layers *l, const seg_level *at)
{
    seg_settings *s = seg_settings_new_default();
    const char *group = NULL;

    overlay(s, l->cluster);
    if (at->kind == SEG_LEVEL_GROUP)
        group = at->name;
    else if (at->kind == SEG_LEVEL_MACHINE)
        group = seg_layers_group_of(l, at->name);
    if (group != NULL)
        overlay(s, g_hash_table_lookup(l->groups, group));
    if (at->kind == SEG_LEVEL_MACHINE)
        overlay(s, g_hash_table_lookup(l->machines, at->name));
    return s;
}

/* seg_layers_machine - what a machine serves */
seg_settings *seg_layers_machine(const seg_layers *l, const char *machine)
{
    seg_level at = {SEG_LEVEL_MACHINE, (char *) machine};

    return seg_layers_view(l, &at);
}

/* seg_layers_value_at - what a level itself holds */
const char *seg_layers_value_at(const seg_layers *l, const seg_level *at,
                                const char *key)
{
    GHashTable *t = level_table(l, at, FALSE);

    return t ? g_hash_table_lookup(t, key) : NULL;
}

/* seg_layers_source - where a machine's value of key comes from */
seg_level_kind seg_layers_source(const seg_layers *l, const char *machine,
                                 const char *key)
{
    GHashTable *t = g_hash_table_lookup(l->machines, machine);
    const char *group = seg_layers_group_of(l, machine);

    if (t != NULL && g_hash_table_lookup(t, key) != NULL)
        return SEG_LEVEL_MACHINE;
    if (group != NULL && (t = g_hash_table_lookup(l->groups, group)) != NULL
        && g_hash_table_lookup(t, key) != NULL)
        return SEG_LEVEL_GROUP;
    return SEG_LEVEL_CLUSTER;
}

/* seg_layers_set - one checked value at a level */
gboolean seg_layers_set(seg_layers *l, const seg_level *at, const char *key,
                        const char *value, GError **error)
{
    g_autoptr(GHashTable) scratch = values_new();
    const char *k;

    if (!put_value(scratch, key, value ? value : "", error))
        return FALSE;
    k = key_of(key);
    g_hash_table_insert(level_table(l, at, TRUE), (gpointer) k,
                        g_strdup(g_hash_table_lookup(scratch, k)));
    return TRUE;
}

/* seg_layers_set_view - next as what the level sees */
void seg_layers_set_view(seg_layers *l, const seg_level *at, const seg_settings *next)
{
    g_autoptr(seg_settings) now = seg_layers_view(l, at);

    for (const char *const *k = seg_settings_keys(); *k != NULL; k++) {
        g_autofree char *a = seg_settings_get(now, *k);
        g_autofree char *b = seg_settings_get(next, *k);

        if (strcmp(a, b) != 0)
            g_hash_table_insert(level_table(l, at, TRUE), (gpointer) *k,
                                g_steal_pointer(&b));
    }
}

/* same_level - the same level */
static gboolean same_level(const seg_level *a, const seg_level *b)
{
    return a->kind == b->kind && g_strcmp0(a->name, b->name) == 0;
}

/* seg_layers_move - a value from one level to another, or removed */
gboolean seg_layers_move(seg_layers *l, const char *key, const seg_level *from,
                         const seg_level *to, GError **error)
{
    g_autofree char *ftext = seg_level_text(from);
    const char *k = key_of(key);
    const char *value;
    char   *copy;

    if (k == NULL) {
        g_autoptr(GHashTable) scratch = values_new();

        return put_value(scratch, key, "", error);      /* "KEY: no such setting" */
    }
    if ((value = seg_layers_value_at(l, from, k)) == NULL) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                    "%s: not set at %s", k, ftext);
        return FALSE;
    }
    if (to == NULL && from->kind == SEG_LEVEL_CLUSTER) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                    "%s: the cluster holds every setting; its value cannot be "
                    "deleted", k);
        return FALSE;
    }
    if (to != NULL && same_level(from, to)) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                    "%s: already set at %s", k, ftext);
        return FALSE;
    }
    copy = g_strdup(value);
    if (to != NULL)
        g_hash_table_insert(level_table(l, to, TRUE), (gpointer) k, copy);
    else
        g_free(copy);
    if (from->kind != SEG_LEVEL_CLUSTER) {
        g_hash_table_remove(level_table(l, from, FALSE), k);
        drop_empty(l, from);
    }
    return TRUE;
}

/* seg_layers_join - a member of group that serves what it served */
void seg_layers_join(seg_layers *l, const char *machine, const char *group,
                     const seg_settings *serving)
{
    seg_level at = {SEG_LEVEL_MACHINE, (char *) machine};
    GHashTable *t;

    g_hash_table_insert(l->members, g_strdup(machine), g_strdup(group));
    g_hash_table_remove(l->machines, machine);
    seg_layers_set_view(l, &at, serving);
    if ((t = g_hash_table_lookup(l->machines, machine)) != NULL
        && g_hash_table_size(t) == 0)
        g_hash_table_remove(l->machines, machine);
}

/* delta_values - into d: what changes from a to b; removals as NULL */
static void delta_values(GHashTable *d, GHashTable *a, GHashTable *b)
{
    GHashTableIter it;
    gpointer k, v;

    if (b != NULL) {
        g_hash_table_iter_init(&it, b);
        while (g_hash_table_iter_next(&it, &k, &v))
            if (a == NULL || g_strcmp0(g_hash_table_lookup(a, k), v) != 0)
                g_hash_table_insert(d, k, g_strdup(v));
    }
    if (a != NULL) {
        g_hash_table_iter_init(&it, a);
        while (g_hash_table_iter_next(&it, &k, &v))
            if (b == NULL || !g_hash_table_contains(b, k))
                g_hash_table_insert(d, k, NULL);
    }
}

/* delta_named - per name, what changes */
static void delta_named(GHashTable *d, GHashTable *a, GHashTable *b)
{
    g_autoptr(GHashTable) names = g_hash_table_new(g_str_hash, g_str_equal);
    GHashTableIter it;
    gpointer k;

    g_hash_table_iter_init(&it, a);
    while (g_hash_table_iter_next(&it, &k, NULL))
        g_hash_table_add(names, k);
    g_hash_table_iter_init(&it, b);
    while (g_hash_table_iter_next(&it, &k, NULL))
        g_hash_table_add(names, k);
    g_hash_table_iter_init(&it, names);
    while (g_hash_table_iter_next(&it, &k, NULL)) {
        GHashTable *t = values_new();

        delta_values(t, g_hash_table_lookup(a, k), g_hash_table_lookup(b, k));
        if (g_hash_table_size(t) == 0)
            g_hash_table_unref(t);
        else
            g_hash_table_insert(d, g_strdup(k), t);
    }
}

/* seg_layers_delta - the change from base to next */
seg_layers *seg_layers_delta(const seg_layers *base, const seg_layers *next)
{
    seg_layers *d = seg_layers_new_delta();
    GHashTableIter it;
    gpointer k, v;

    g_hash_table_iter_init(&it, next->cluster);
    while (g_hash_table_iter_next(&it, &k, &v))
        if (g_strcmp0(g_hash_table_lookup(base->cluster, k), v) != 0)
            g_hash_table_insert(d->cluster, k, g_strdup(v));
    delta_named(d->groups, base->groups, next->groups);
    delta_named(d->machines, base->machines, next->machines);
    return d;
}

/* apply_values - d's values over t; NULL removes */
static void apply_values(GHashTable *t, GHashTable *d)
{
    GHashTableIter it;
    gpointer k, v;

    g_hash_table_iter_init(&it, d);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        if (v == NULL)
            g_hash_table_remove(t, k);
        else
            g_hash_table_insert(t, k, g_strdup(v));
    }
}

/* apply_named - per name; a name left without values goes */
static void apply_named(GHashTable *named, GHashTable *d)
{
    GHashTableIter it;
    gpointer k, v;

    g_hash_table_iter_init(&it, d);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        GHashTable *t = g_hash_table_lookup(named, k);

        if (t == NULL) {
            t = values_new();
            g_hash_table_insert(named, g_strdup(k), t);
        }
        apply_values(t, v);
        if (g_hash_table_size(t) == 0)
            g_hash_table_remove(named, k);
    }
}

/* seg_layers_apply - base with the change applied */
seg_layers *seg_layers_apply(const seg_layers *base, const seg_layers *delta)
{
    seg_layers *l = seg_layers_copy(base);
    GHashTableIter it;
    gpointer k, v;

    g_hash_table_iter_init(&it, delta->cluster);
    while (g_hash_table_iter_next(&it, &k, &v))
        if (v != NULL)
            g_hash_table_insert(l->cluster, k, g_strdup(v));
    apply_named(l->groups, delta->groups);
    apply_named(l->machines, delta->machines);
    return l;
}

/* seg_layers_delta_empty - nothing changes */
gboolean seg_layers_delta_empty(const seg_layers *delta)
{
    return g_hash_table_size(delta->cluster) == 0
        && g_hash_table_size(delta->groups) == 0
        && g_hash_table_size(delta->machines) == 0;
}

/* row_free - GPtrArray free function */
static void row_free(gpointer p)
{
    seg_layers_row *r = p;

    g_free(r->level);
    g_free(r->value);
    g_free(r->before);
    g_free(r);
}

/* add_row - one row */
static void add_row(GPtrArray *rows, const char *level, const char *key,
                    const char *value, const char *before)
{
    seg_layers_row *r = g_new0(seg_layers_row, 1);

    r->level = g_strdup(level);
    r->key = key;
    r->value = g_strdup(value);
    r->before = g_strdup(before);
    g_ptr_array_add(rows, r);
}

/*
 * each_level - for each key in listing order, each level of a or b in
 * order (cluster, groups, machines, names sorted): fn with both values
 */
typedef void (*level_fn) (GPtrArray *rows, const char *level, const char *key,
                          const char *a, const char *b);

static void each_level(const seg_layers *a, const seg_layers *b, GPtrArray *rows,
                       level_fn fn)
{
    g_autoptr(GHashTable) gnames = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GHashTable) mnames = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GPtrArray) groups = NULL;
    g_autoptr(GPtrArray) machines = NULL;
    const seg_layers *both[2] = {a, b};
    GHashTableIter it;
    gpointer name;

    for (int i = 0; i < 2; i++) {
        g_hash_table_iter_init(&it, both[i]->groups);
        while (g_hash_table_iter_next(&it, &name, NULL))
            g_hash_table_add(gnames, name);
        g_hash_table_iter_init(&it, both[i]->machines);
        while (g_hash_table_iter_next(&it, &name, NULL))
            g_hash_table_add(mnames, name);
    }
    groups = sorted_keys(gnames);
    machines = sorted_keys(mnames);
    for (const char *const *k = seg_settings_keys(); *k != NULL; k++) {
        fn(rows, "cluster", *k, g_hash_table_lookup(a->cluster, *k),
           g_hash_table_lookup(b->cluster, *k));
        for (int kind = SEG_LEVEL_GROUP; kind <= SEG_LEVEL_MACHINE; kind++) {
            GPtrArray *names = kind == SEG_LEVEL_GROUP ? groups : machines;

            for (guint i = 0; i < names->len; i++) {
                seg_level at = {(seg_level_kind) kind, g_ptr_array_index(names, i)};
                g_autofree char *level = seg_level_text(&at);

                fn(rows, level, *k, seg_layers_value_at(a, &at, *k),
                   seg_layers_value_at(b, &at, *k));
            }
        }
    }
}

/* listing_row - a value held at a level */
static void listing_row(GPtrArray *rows, const char *level, const char *key,
                        const char *a, const char *b)
{
    if (a != NULL)
        add_row(rows, level, key, a, NULL);
}

/* change_row - a value that differs */
static void change_row(GPtrArray *rows, const char *level, const char *key,
                       const char *a, const char *b)
{
    if (g_strcmp0(a, b) != 0)
        add_row(rows, level, key, b, a);
}

/* seg_layers_listing - every value at every level */
GPtrArray *seg_layers_listing(const seg_layers *l)
{
    GPtrArray *rows = g_ptr_array_new_with_free_func(row_free);

    each_level(l, l, rows, listing_row);
    return rows;
}

/* seg_layers_changes - what differs from a to b */
GPtrArray *seg_layers_changes(const seg_layers *a, const seg_layers *b)
{
    GPtrArray *rows = g_ptr_array_new_with_free_func(row_free);

    each_level(a, b, rows, change_row);
    return rows;
}

/* seg_layers_names - groups (with values or members) or machines, sorted */
GPtrArray *seg_layers_names(const seg_layers *l, seg_level_kind kind)
{
    g_autoptr(GHashTable) names = g_hash_table_new(g_str_hash, g_str_equal);
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) sorted = NULL;
    GHashTableIter it;
    gpointer k, v;

    g_hash_table_iter_init(&it, kind == SEG_LEVEL_GROUP ? l->groups : l->machines);
    while (g_hash_table_iter_next(&it, &k, NULL))
        g_hash_table_add(names, k);
    g_hash_table_iter_init(&it, l->members);
    while (g_hash_table_iter_next(&it, &k, &v))
        g_hash_table_add(names, kind == SEG_LEVEL_GROUP ? v : k);
    sorted = sorted_keys(names);
    for (guint i = 0; i < sorted->len; i++)
        g_ptr_array_add(out, g_strdup(g_ptr_array_index(sorted, i)));
    return out;
}
