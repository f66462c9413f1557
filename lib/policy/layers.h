/*
 * layers - the settings of a cluster at three levels (SPEC section 9.3).
 *
 * As on the gateway, a cluster holds every setting at cluster level, and
 * any group or machine may hold its own value of a setting: the most
 * specific wins, machine over its group over the cluster. This is the one
 * home of that rule: the store (file or etcd), policyd and the tools
 * only ask here what a machine sees and where each value comes from.
 *
 * A seg_layers holds, per level, setting keys and their canonical text
 * values (as seg_settings_get() gives them): "cluster" (every key in a
 * configuration), "groups" and "machines" (name -> overrides), and
 * "members" (machine -> its group). A level is named "cluster",
 * "group:NAME" or "machine:NAME"; a NAME is 1 to 63 characters of
 * A-Z a-z 0-9 . _ - starting with a letter or digit.
 *
 * The same structure describes a change of a configuration (a "delta":
 * pending changes made on a committed one): there the cluster level holds
 * only the keys it changes, and an override mapped to NULL is one the
 * change removes (the machine or group inherits again).
 *
 * JSON form (what the etcd store keeps; parsed as hostile input: every
 * name and value is checked, unknown members are refused):
 *   {"cluster":{KEY:VALUE...},"groups":{G:{KEY:VALUE}},
 *    "machines":{M:{KEY:VALUE}},"members":{M:G}}
 * in a delta a VALUE may be null (remove that override).
 */
#ifndef SEGTLS_LAYERS_H
#define SEGTLS_LAYERS_H

#include <glib.h>
#include <json-glib/json-glib.h>

#include "settings.h"

#define SEG_LEVEL_NAME_MAX      63
#define SEG_DEFAULT_GROUP       "Main_Group"

typedef enum {
    SEG_LEVEL_CLUSTER,
    SEG_LEVEL_GROUP,
    SEG_LEVEL_MACHINE,
} seg_level_kind;

typedef struct seg_level {
    seg_level_kind kind;
    char       *name;           /* group or machine; NULL for the cluster */
} seg_level;

/* seg_level_parse - "cluster", "group:NAME" or "machine:NAME" into *level */
gboolean seg_level_parse(const char *text, seg_level *level, GError **error);
/* seg_level_text - the level as it is written: "machine:mx1" (newly allocated) */
char   *seg_level_text(const seg_level *level);
/* seg_level_title - as the dialog says it: "Cluster NAME", "Group G", "Machine M" */
char   *seg_level_title(const seg_level *level, const char *cluster);
void    seg_level_clear(seg_level *level);
/* seg_level_name_check - a group or machine name; error names what and why */
gboolean seg_level_name_check(const char *what, const char *name, GError **error);

typedef struct seg_layers {
    GHashTable *cluster;        /* key -> value */
    GHashTable *groups;         /* group -> (key -> value) */
    GHashTable *machines;       /* machine -> (key -> value) */
    GHashTable *members;        /* machine -> group */
} seg_layers;

/* seg_layers_new - a configuration: the cluster level holds s (every key) */
seg_layers *seg_layers_new(const seg_settings *s);
/* seg_layers_new_delta - an empty change */
seg_layers *seg_layers_new_delta(void);
seg_layers *seg_layers_copy(const seg_layers *l);
void    seg_layers_free(seg_layers *l);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(seg_layers, seg_layers_free)

/* seg_layers_equal - the same values at the same levels, the same members */
gboolean seg_layers_equal(const seg_layers *a, const seg_layers *b);

/*
 * seg_layers_from_json - a configuration (delta FALSE: missing cluster
 * keys take their defaults, null values are refused) or a change (delta
 * TRUE). Refused with one line naming the place: "machines.mx1:
 * inbound.methods: \"1.0,1.2\": ...", "groups: \"a b\": a group name
 * may hold only ...", "unknown member \"x\"".
 */
seg_layers *seg_layers_from_json(JsonObject *obj, gboolean delta, GError **error);
JsonObject *seg_layers_to_json(const seg_layers *l);

/* seg_layers_group_of - the group of a member machine, NULL when it is none */
const char *seg_layers_group_of(const seg_layers *l, const char *machine);

/*
 * seg_layers_view - the settings seen at a level: the cluster's; a
 * group's (cluster, then the group); a machine's (cluster, then its group
 * when it is a member, then the machine). Never NULL: the values were
 * checked when they entered.
 */
seg_settings *seg_layers_view(const seg_layers *l, const seg_level *at);
/* seg_layers_machine - the settings a machine serves */
seg_settings *seg_layers_machine(const seg_layers *l, const char *machine);

/* seg_layers_value_at - the value a level itself holds for key, or NULL */
const char *seg_layers_value_at(const seg_layers *l, const seg_level *at,
                                const char *key);
/*
 * seg_layers_source - the level a machine's value of key comes from:
 * SEG_LEVEL_MACHINE, SEG_LEVEL_GROUP (its group) or SEG_LEVEL_CLUSTER
 */
seg_level_kind seg_layers_source(const seg_layers *l, const char *machine,
                                 const char *key);

/* seg_layers_set - check value and put it at a level */
gboolean seg_layers_set(seg_layers *l, const seg_level *at, const char *key,
                        const char *value, GError **error);
/*
 * seg_layers_set_view - next as the settings seen at a level: every key
 * whose value differs from what the level sees now is put at that level
 */
void    seg_layers_set_view(seg_layers *l, const seg_level *at,
                            const seg_settings *next);
/*
 * seg_layers_move - key's value at from goes to to: set there, and no
 * longer held at from (the cluster keeps its value: it holds every key).
 * to NULL: the value at from is removed and from inherits again. Refused:
 * a key from does not hold, from and to the same, removing a cluster
 * value.
 */
gboolean seg_layers_move(seg_layers *l, const char *key, const seg_level *from,
                         const seg_level *to, GError **error);

/*
 * seg_layers_join - machine becomes a member of group and serves what it
 * served before: every key where serving differs from what the machine
 * would see in the group becomes a machine value (and a machine value
 * equal to what it would inherit is dropped)
 */
void    seg_layers_join(seg_layers *l, const char *machine, const char *group,
                        const seg_settings *serving);

/* seg_layers_delta - the change from base to next (members not included) */
seg_layers *seg_layers_delta(const seg_layers *base, const seg_layers *next);
/* seg_layers_apply - base with delta applied (newly allocated) */
seg_layers *seg_layers_apply(const seg_layers *base, const seg_layers *delta);
/* seg_layers_delta_empty - does a change change nothing? */
gboolean seg_layers_delta_empty(const seg_layers *delta);

/* One row of a listing or of a change: a value at a level. */
typedef struct seg_layers_row {
    char       *level;          /* "cluster", "group:G", "machine:M" */
    const char *key;            /* from seg_settings_keys() */
    char       *value;          /* listing: the value; change: after (NULL: removed) */
    char       *before;         /* change: the value before (NULL: not held) */
} seg_layers_row;

/*
 * seg_layers_listing - every value at every level, by key in listing
 * order, then cluster, groups, machines (names sorted)
 */
GPtrArray *seg_layers_listing(const seg_layers *l);
/* seg_layers_changes - every value that differs from a to b, same order */
GPtrArray *seg_layers_changes(const seg_layers *a, const seg_layers *b);

/* seg_layers_names - the sorted names of groups (holding values or members) or machines */
GPtrArray *seg_layers_names(const seg_layers *l, seg_level_kind kind);

#endif
