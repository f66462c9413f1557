/*
 * layers - unit tests of lib/policy/layers.c: level names, the most
 * specific value winning (machine over its group over the cluster),
 * changes at a level, moving values between levels, joining a cluster
 * without changing what a machine serves, the delta of pending changes,
 * and the JSON form read as hostile input (SPEC section 9.3).
 */
#include <string.h>

#include "error.h"
#include "layers.h"

/* level - a parsed level that must be valid */
static seg_level level(const char *text)
{
    g_autoptr(GError) err = NULL;
    seg_level l;

    g_assert_true(seg_level_parse(text, &l, &err));
    g_assert_no_error(err);
    return l;
}

/* value_of - one value a machine serves */
static char *value_of(const seg_layers *l, const char *machine, const char *key)
{
    g_autoptr(seg_settings) s = seg_layers_machine(l, machine);

    return seg_settings_get(s, key);
}

/* set_ok - seg_layers_set that must succeed */
static void set_ok(seg_layers *l, const char *at, const char *key, const char *value)
{
    g_autoptr(GError) err = NULL;
    seg_level lv = level(at);

    g_assert_true(seg_layers_set(l, &lv, key, value, &err));
    g_assert_no_error(err);
    seg_level_clear(&lv);
}

/* sample - cluster defaults; group G and machines m1 (G), m2 (G), m3 (H) */
static seg_layers *sample(void)
{
    g_autoptr(seg_settings) d = seg_settings_new_default();
    seg_layers *l = seg_layers_new(d);

    g_hash_table_insert(l->members, g_strdup("m1"), g_strdup("G"));
    g_hash_table_insert(l->members, g_strdup("m2"), g_strdup("G"));
    g_hash_table_insert(l->members, g_strdup("m3"), g_strdup("H"));
    set_ok(l, "group:G", "inbound.methods", "1.2");
    set_ok(l, "machine:m1", "inbound.methods", "1.2-1.3");
    set_ok(l, "machine:m4", "gui.methods", "1.3");
    return l;
}

/* test_level_names - what a level may be called */
static void test_level_names(void)
{
    static const char *const bad[] = {
        "machine:", "machine:-x", "rack:x", "group:a b", "Cluster", "group",
        "machine:a;b", "group:x\n", "",
    };
    g_autoptr(GError) err = NULL;
    g_autofree char *long_name = g_strnfill(64, 'a');
    g_autofree char *too_long = g_strconcat("machine:", long_name, NULL);
    seg_level l = level("machine:mx-1.example_2");
    g_autofree char *text = seg_level_text(&l);
    g_autofree char *title = seg_level_title(&l, "c");

    g_assert_cmpint(l.kind, ==, SEG_LEVEL_MACHINE);
    g_assert_cmpstr(text, ==, "machine:mx-1.example_2");
    g_assert_cmpstr(title, ==, "Machine mx-1.example_2");
    seg_level_clear(&l);
    l = level("cluster");
    g_assert_cmpint(l.kind, ==, SEG_LEVEL_CLUSTER);
    g_assert_null(l.name);
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_assert_false(seg_level_parse(bad[i], &l, &err));
        g_assert_nonnull(err);
        g_assert_null(strchr(err->message, '\n'));
        g_clear_error(&err);
    }
    g_assert_false(seg_level_parse("rack:x", &l, &err));
    g_assert_cmpstr(err->message, ==,
                    "level \"rack:x\": expected cluster, group:NAME or machine:NAME");
    g_clear_error(&err);
    g_assert_false(seg_level_parse("group:a b", &l, &err));
    g_assert_cmpstr(err->message, ==,
                    "group \"a b\": a group name is 1 to 63 letters, digits, '.', '_' "
                    "or '-', starting with a letter or digit");
    g_clear_error(&err);
    g_assert_false(seg_level_parse(too_long, &l, &err));
}

/* test_most_specific - machine over group over cluster */
static void test_most_specific(void)
{
    g_autoptr(seg_layers) l = sample();
    g_autofree char *m1 = value_of(l, "m1", "inbound.methods");
    g_autofree char *m2 = value_of(l, "m2", "inbound.methods");
    g_autofree char *m3 = value_of(l, "m3", "inbound.methods");
    g_autofree char *m4 = value_of(l, "m4", "gui.methods");
    g_autofree char *m4in = value_of(l, "m4", "inbound.methods");
    seg_level g = level("group:G");
    g_autoptr(seg_settings) gv = seg_layers_view(l, &g);
    g_autofree char *gval = seg_settings_get(gv, "inbound.methods");

    g_assert_cmpstr(m1, ==, "1.2-1.3");         /* its own */
    g_assert_cmpstr(m2, ==, "1.2");             /* its group's */
    g_assert_cmpstr(m3, ==, "1.1-1.2");         /* the cluster's */
    g_assert_cmpstr(m4, ==, "1.3");             /* not a member: its own */
    g_assert_cmpstr(m4in, ==, "1.1-1.2");       /* else the cluster's */
    g_assert_cmpstr(gval, ==, "1.2");
    g_assert_cmpint(seg_layers_source(l, "m1", "inbound.methods"), ==, SEG_LEVEL_MACHINE);
    g_assert_cmpint(seg_layers_source(l, "m2", "inbound.methods"), ==, SEG_LEVEL_GROUP);
    g_assert_cmpint(seg_layers_source(l, "m3", "inbound.methods"), ==, SEG_LEVEL_CLUSTER);
    g_assert_cmpint(seg_layers_source(l, "m1", "gui.methods"), ==, SEG_LEVEL_CLUSTER);
    seg_level_clear(&g);
}

/* test_set - values are checked and kept canonical */
static void test_set(void)
{
    g_autoptr(seg_layers) l = sample();
    g_autoptr(GError) err = NULL;
    seg_level m2 = level("machine:m2");
    g_autoptr(seg_settings) next = NULL;

    g_assert_false(seg_layers_set(l, &m2, "inbound.methods", "1.0,1.2", &err));
    g_assert_cmpstr(err->message, ==, "inbound.methods: \"1.0,1.2\": TLS v1.0 and "
                    "TLS v1.2 cannot be enabled without TLS v1.1");
    g_clear_error(&err);
    g_assert_null(g_hash_table_lookup(l->machines, "m2"));
    g_assert_false(seg_layers_set(l, &m2, "frob", "1", &err));
    g_assert_cmpstr(err->message, ==, "frob: no such setting");
    g_clear_error(&err);
    g_assert_true(seg_layers_set(l, &m2, "peer_cert.fqdn", "yes", &err));
    g_assert_cmpstr(seg_layers_value_at(l, &m2, "peer_cert.fqdn"), ==, "on");
    /* a view set at a level puts there only what differs from what it sees */
    next = seg_layers_view(l, &m2);
    g_assert_true(seg_settings_set(next, "outbound.tls", "required", NULL));
    seg_layers_set_view(l, &m2, next);
    g_assert_cmpuint(g_hash_table_size(g_hash_table_lookup(l->machines, "m2")), ==, 2);
    g_assert_cmpstr(seg_layers_value_at(l, &m2, "outbound.tls"), ==, "required");
    g_assert_null(seg_layers_value_at(l, &m2, "inbound.methods"));
    seg_level_clear(&m2);
}

/* test_move - between levels, and removed */
static void test_move(void)
{
    g_autoptr(seg_layers) l = sample();
    g_autoptr(GError) err = NULL;
    seg_level c = level("cluster"), g = level("group:G"), m1 = level("machine:m1"),
        m3 = level("machine:m3");
    g_autofree char *v = NULL;

    /* cluster -> machine: the machine holds its own copy */
    g_assert_true(seg_layers_move(l, "outbound.methods", &c, &m3, &err));
    g_assert_cmpstr(seg_layers_value_at(l, &m3, "outbound.methods"), ==, "1.1-1.2");
    g_assert_cmpstr(seg_layers_value_at(l, &c, "outbound.methods"), ==, "1.1-1.2");
    /* machine -> cluster: the value goes up, everyone without their own gets it */
    g_assert_true(seg_layers_move(l, "inbound.methods", &m1, &c, &err));
    g_assert_cmpstr(seg_layers_value_at(l, &c, "inbound.methods"), ==, "1.2-1.3");
    g_assert_null(seg_layers_value_at(l, &m1, "inbound.methods"));
    v = value_of(l, "m1", "inbound.methods");
    g_assert_cmpstr(v, ==, "1.2");              /* now its group's */
    g_clear_pointer(&v, g_free);
    v = value_of(l, "m3", "inbound.methods");
    g_assert_cmpstr(v, ==, "1.2-1.3");
    g_clear_pointer(&v, g_free);
    /* removed from the group: its machines inherit again */
    g_assert_true(seg_layers_move(l, "inbound.methods", &g, NULL, &err));
    g_assert_null(g_hash_table_lookup(l->groups, "G"));
    v = value_of(l, "m2", "inbound.methods");
    g_assert_cmpstr(v, ==, "1.2-1.3");
    /* refused */
    g_assert_false(seg_layers_move(l, "inbound.methods", &g, &c, &err));
    g_assert_cmpstr(err->message, ==, "inbound.methods: not set at group:G");
    g_clear_error(&err);
    g_assert_false(seg_layers_move(l, "inbound.methods", &c, NULL, &err));
    g_assert_cmpstr(err->message, ==, "inbound.methods: the cluster holds every "
                    "setting; its value cannot be deleted");
    g_clear_error(&err);
    g_assert_false(seg_layers_move(l, "outbound.methods", &m3, &m3, &err));
    g_assert_cmpstr(err->message, ==, "outbound.methods: already set at machine:m3");
    g_clear_error(&err);
    g_assert_false(seg_layers_move(l, "frob", &c, &m3, &err));
    g_assert_cmpstr(err->message, ==, "frob: no such setting");
    g_clear_error(&err);
    seg_level_clear(&g);
    seg_level_clear(&m1);
    seg_level_clear(&m3);
}

/* test_join - a machine joins and serves what it served */
static void test_join(void)
{
    g_autoptr(seg_layers) l = sample();
    g_autoptr(seg_settings) serving = seg_settings_new_default();
    g_autoptr(seg_settings) after = NULL;
    GHashTable *own;

    /* group G gives inbound.methods 1.2; the machine serves 1.1-1.2 and 1.3 GUI */
    g_assert_true(seg_settings_set(serving, "gui.methods", "1.3", NULL));
    seg_layers_join(l, "m5", "G", serving);
    after = seg_layers_machine(l, "m5");
    g_assert_true(seg_settings_equal(after, serving));
    own = g_hash_table_lookup(l->machines, "m5");
    g_assert_nonnull(own);
    g_assert_cmpuint(g_hash_table_size(own), ==, 2);
    g_assert_cmpstr(g_hash_table_lookup(own, "gui.methods"), ==, "1.3");
    g_assert_cmpstr(g_hash_table_lookup(own, "inbound.methods"), ==, "1.1-1.2");
    g_assert_cmpstr(seg_layers_group_of(l, "m5"), ==, "G");
    /* a machine that serves what its group gives holds nothing of its own */
    g_clear_pointer(&after, seg_settings_free);
    after = seg_layers_machine(l, "m2");
    seg_layers_join(l, "m6", "G", after);
    g_assert_null(g_hash_table_lookup(l->machines, "m6"));
}

/* test_delta - pending changes made on a committed configuration */
static void test_delta(void)
{
    g_autoptr(seg_layers) base = sample();
    g_autoptr(seg_layers) next = seg_layers_copy(base);
    g_autoptr(seg_layers) d = NULL;
    g_autoptr(seg_layers) back = NULL;
    g_autoptr(seg_layers) moved = NULL;
    g_autoptr(seg_layers) d2 = NULL;
    g_autoptr(GError) err = NULL;
    seg_level m1 = level("machine:m1");

    d = seg_layers_delta(base, next);
    g_assert_true(seg_layers_delta_empty(d));
    g_clear_pointer(&d, seg_layers_free);
    set_ok(next, "cluster", "outbound.tls", "required");
    g_assert_true(seg_layers_move(next, "inbound.methods", &m1, NULL, &err));
    set_ok(next, "machine:m3", "peer_cert.x509", "on");
    d = seg_layers_delta(base, next);
    g_assert_false(seg_layers_delta_empty(d));
    g_assert_cmpuint(g_hash_table_size(d->cluster), ==, 1);
    g_assert_true(g_hash_table_contains(g_hash_table_lookup(d->machines, "m1"),
                                        "inbound.methods"));
    g_assert_null(g_hash_table_lookup(g_hash_table_lookup(d->machines, "m1"),
                                      "inbound.methods"));      /* a removal */
    back = seg_layers_apply(base, d);
    g_assert_true(seg_layers_equal(back, next));
    /* the same change made on a configuration that moved on meanwhile */
    moved = seg_layers_copy(base);
    set_ok(moved, "cluster", "gui.methods", "1.2");
    g_clear_pointer(&back, seg_layers_free);
    back = seg_layers_apply(moved, d);
    {
        g_autofree char *g = value_of(back, "m1", "gui.methods");
        g_autofree char *o = value_of(back, "m1", "outbound.tls");
        g_autofree char *i = value_of(back, "m1", "inbound.methods");

        g_assert_cmpstr(g, ==, "1.2");          /* the other commit's */
        g_assert_cmpstr(o, ==, "required");     /* and ours */
        g_assert_cmpstr(i, ==, "1.2");          /* m1 inherits from G again */
    }
    /* JSON of a delta keeps removals as null */
    {
        g_autoptr(JsonObject) o = seg_layers_to_json(d);

        d2 = seg_layers_from_json(o, TRUE, &err);
        g_assert_no_error(err);
        g_assert_true(seg_layers_equal(d, d2));
    }
    seg_level_clear(&m1);
}

/* parse - JSON text to layers; NULL with the error */
static seg_layers *parse(const char *text, gboolean delta, GError **error)
{
    g_autoptr(JsonParser) p = json_parser_new();

    g_assert_true(json_parser_load_from_data(p, text, -1, NULL));
    return seg_layers_from_json(json_node_get_object(json_parser_get_root(p)), delta,
                                error);
}

/* test_json - the JSON form: round trip, defaults, hostile input */
static void test_json(void)
{
    static const struct {
        const char *text;
        const char *error;
    } refused[] = {
        {"{\"cluster\":{\"frob\":\"1\"}}", "cluster: frob: no such setting"},
        {"{\"cluster\":{\"inbound.methods\":\"1.0,1.2\"}}",
         "cluster: inbound.methods: \"1.0,1.2\": TLS v1.0 and TLS v1.2 cannot be "
         "enabled without TLS v1.1"},
        {"{\"machines\":{\"m1\":{\"gui.ciphers\":\"HIGH\\n\"}}}",
         "machines.m1: gui.ciphers: \"HIGH\\n\": character '\\n' is not allowed in "
         "a cipher string"},
        {"{\"machines\":{\"m 1\":{}}}",
         "machines: machine \"m 1\": a machine name is 1 to 63 letters, digits, "
         "'.', '_' or '-', starting with a letter or digit"},
        {"{\"groups\":{\"G\":{\"gui.methods\":null}}}",
         "groups.G: \"gui.methods\": value must be a string"},
        {"{\"groups\":{\"G\":{\"gui.methods\":12}}}",
         "groups.G: \"gui.methods\": value must be a string"},
        {"{\"groups\":[]}", "groups: must be an object"},
        {"{\"members\":{\"m1\":\"a/b\"}}", "members.m1: must be a group name"},
        {"{\"rack\":{}}", "unknown member \"rack\""},
    };
    g_autoptr(seg_layers) l = sample();
    g_autoptr(JsonObject) o = seg_layers_to_json(l);
    g_autoptr(seg_layers) back = NULL;
    g_autoptr(seg_layers) defaults = NULL;
    g_autoptr(seg_settings) d = seg_settings_new_default();
    g_autoptr(GError) err = NULL;

    back = seg_layers_from_json(o, FALSE, &err);
    g_assert_no_error(err);
    g_assert_true(seg_layers_equal(l, back));
    /* missing cluster keys are the defaults; values are made canonical */
    defaults = parse("{\"cluster\":{\"peer_cert.fqdn\":\"yes\"}}", FALSE, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(g_hash_table_lookup(defaults->cluster, "peer_cert.fqdn"), ==, "on");
    g_assert_cmpuint(g_hash_table_size(defaults->cluster), ==,
                     g_strv_length((char **) seg_settings_keys()));
    for (gsize i = 0; i < G_N_ELEMENTS(refused); i++) {
        g_assert_null(parse(refused[i].text, FALSE, &err));
        g_assert_nonnull(err);
        g_assert_cmpstr(err->message, ==, refused[i].error);
        g_clear_error(&err);
    }
    /* a delta has no members */
    g_assert_null(parse("{\"members\":{}}", TRUE, &err));
    g_assert_cmpstr(err->message, ==, "unknown member \"members\"");
}

/* test_listing - every value at its level, in order; and the changes */
static void test_listing(void)
{
    g_autoptr(seg_layers) l = sample();
    g_autoptr(seg_layers) next = seg_layers_copy(l);
    g_autoptr(GPtrArray) rows = seg_layers_listing(l);
    g_autoptr(GPtrArray) changes = NULL;
    g_autoptr(GPtrArray) groups = seg_layers_names(l, SEG_LEVEL_GROUP);
    g_autoptr(GPtrArray) machines = seg_layers_names(l, SEG_LEVEL_MACHINE);
    GString *text = g_string_new(NULL);
    g_autofree char *got = NULL;
    seg_layers_row *r;

    for (guint i = 0; i < rows->len; i++) {
        r = g_ptr_array_index(rows, i);
        if (g_str_has_suffix(r->key, ".methods"))
            g_string_append_printf(text, "%s %s %s\n", r->key, r->level, r->value);
    }
    got = g_string_free(text, FALSE);
    g_assert_cmpstr(got, ==,
                    "gui.methods cluster 1.1-1.2\n"
                    "gui.methods machine:m4 1.3\n"
                    "inbound.methods cluster 1.1-1.2\n"
                    "inbound.methods group:G 1.2\n"
                    "inbound.methods machine:m1 1.2-1.3\n"
                    "outbound.methods cluster 1.1-1.2\n");
    set_ok(next, "group:G", "inbound.methods", "1.3");
    set_ok(next, "machine:m2", "gui.methods", "1.2-1.3");
    changes = seg_layers_changes(l, next);
    g_assert_cmpuint(changes->len, ==, 2);
    r = g_ptr_array_index(changes, 0);
    g_assert_cmpstr(r->key, ==, "gui.methods");
    g_assert_cmpstr(r->level, ==, "machine:m2");
    g_assert_null(r->before);
    g_assert_cmpstr(r->value, ==, "1.2-1.3");
    r = g_ptr_array_index(changes, 1);
    g_assert_cmpstr(r->level, ==, "group:G");
    g_assert_cmpstr(r->before, ==, "1.2");
    g_assert_cmpstr(r->value, ==, "1.3");
    g_assert_cmpuint(groups->len, ==, 2);
    g_assert_cmpstr(g_ptr_array_index(groups, 0), ==, "G");
    g_assert_cmpstr(g_ptr_array_index(groups, 1), ==, "H");
    g_assert_cmpuint(machines->len, ==, 4);
    g_assert_cmpstr(g_ptr_array_index(machines, 3), ==, "m4");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/layers/level-names", test_level_names);
    g_test_add_func("/layers/most-specific", test_most_specific);
    g_test_add_func("/layers/set", test_set);
    g_test_add_func("/layers/move", test_move);
    g_test_add_func("/layers/join", test_join);
    g_test_add_func("/layers/delta", test_delta);
    g_test_add_func("/layers/json", test_json);
    g_test_add_func("/layers/listing", test_listing);
    return g_test_run();
}
