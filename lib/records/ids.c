/*
 * ids - ICID, DCID and MID counters that are never reused.
 *
 * Each kind hands out IDs from a reserved block [next, limit). When the
 * block is used up, reserve() takes the lock, reads the state file, moves
 * that kind's mark up by one block, writes the file atomically and only
 * then releases the new block. Other processes reserve their own blocks
 * from the same marks, so no two processes (and no restart) ever see the
 * same ID. In memory (no state dir) the block is unbounded.
 *
 * With a state directory a kind may also hold the block after the
 * current one ([ahead, ahead_limit), reserved by seg_ids_reserve_ahead()
 * in a thread that hands out no IDs): seg_ids_try_next() then moves on
 * to it without touching the file. Each kind has two locks: "lock" for
 * the counters (held for a few instructions) and "io" that serialises
 * the kind's reservations (held across flock(2) and fsync), so a
 * reservation never blocks the callers of seg_ids_try_next() and the
 * blocks of one kind come from the file in increasing order: the
 * current block is always below the one ahead.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "error.h"
#include "ids.h"

typedef struct id_kind {
    GMutex      lock;                   /* the counters below */
    GMutex      io;                     /* one reservation at a time */
    guint64     next;                   /* next ID to hand out */
    guint64     limit;                  /* end of the current block */
    guint64     ahead;                  /* the next block, 0: none */
    guint64     ahead_limit;
    guint64     reserved;               /* end of the last block reserved */
} id_kind;

struct seg_ids {
    char       *state_dir;              /* NULL: in memory */
    char       *path;                   /* STATE_DIR/ids */
    char       *lock_path;              /* STATE_DIR/ids.lock */
    guint64     block;
    id_kind     k[SEG_ID_NKINDS];
};

static const char *const kind_names[SEG_ID_NKINDS] = {"icid", "dcid", "mid"};

/* seg_ids_kind_name - "icid", "dcid", "mid" */
const char *seg_ids_kind_name(seg_id_kind kind)
{
    return (unsigned) kind < SEG_ID_NKINDS ? kind_names[kind] : "?";
}

/* parse_marks - read "kind N" lines; a missing kind starts at 1 */
static gboolean parse_marks(const char *path, guint64 marks[SEG_ID_NKINDS],
                            GError **error)
{
    g_autofree char *data = NULL;
    g_autoptr(GError) err = NULL;
    gsize len;
    int lineno = 0;

    for (int k = 0; k < SEG_ID_NKINDS; k++)
        marks[k] = 1;
    if (!g_file_get_contents(path, &data, &len, &err)) {
        if (g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            return TRUE;
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "%s", err->message);
        return FALSE;
    }
    if (strlen(data) != len) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID, "%s: contains a NUL byte", path);
        return FALSE;
    }
    for (char *line = data, *nl; *line; line = nl) {
        char *sp, *end;
        int k;

        lineno++;
        nl = strchr(line, '\n');
        nl = nl ? (*nl = 0, nl + 1) : line + strlen(line);
        if (*line == 0)
            continue;
        sp = strchr(line, ' ');
        if (sp)
            *sp = 0;
        for (k = 0; k < SEG_ID_NKINDS && strcmp(line, kind_names[k]) != 0; k++)
            ;
        if (sp == NULL || k == SEG_ID_NKINDS || !g_ascii_isdigit(sp[1])) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                        "%s:%d: expected \"icid|dcid|mid NUMBER\"", path, lineno);
            return FALSE;
        }
        errno = 0;
        marks[k] = g_ascii_strtoull(sp + 1, &end, 10);
        if (errno || *end || marks[k] == 0 || marks[k] > G_MAXUINT64 / 2) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                        "%s:%d: bad %s value \"%s\"", path, lineno, kind_names[k], sp + 1);
            return FALSE;
        }
    }
    return TRUE;
}

/* reserve - move the kind's mark up one block in the state file: [*first, *limit) */
static gboolean reserve(seg_ids *ids, seg_id_kind kind, guint64 *first, guint64 *limit,
                        GError **error)
{
    guint64 marks[SEG_ID_NKINDS];
    g_autoptr(GString) text = g_string_new(NULL);
    gboolean ok;
    int lock;

    if ((lock = seg_lock_acquire(ids->lock_path, error)) < 0)
        return FALSE;
    ok = parse_marks(ids->path, marks, error);
    if (ok) {
        /* Never go below what this process already reserved. */
        if (marks[kind] < ids->k[kind].reserved)
            marks[kind] = ids->k[kind].reserved;
        *first = marks[kind];
        marks[kind] += ids->block;
        for (int k = 0; k < SEG_ID_NKINDS; k++)
            g_string_append_printf(text, "%s %" G_GUINT64_FORMAT "\n", kind_names[k], marks[k]);
        ok = seg_atomic_write(ids->path, text->str, text->len, 0600, error);
    }
    if (ok)
        *limit = ids->k[kind].reserved = marks[kind];
    seg_lock_release(lock);
    return ok;
}

/* seg_ids_open - counters persisted under state_dir, or in memory (NULL) */
seg_ids *seg_ids_open(const char *state_dir, GError **error)
{
    g_autoptr(seg_ids) ids = g_new0(seg_ids, 1);
    guint64 marks[SEG_ID_NKINDS];

    ids->block = SEG_IDS_BLOCK;
    for (int k = 0; k < SEG_ID_NKINDS; k++) {
        g_mutex_init(&ids->k[k].lock);
        g_mutex_init(&ids->k[k].io);
        ids->k[k].next = 1;
        ids->k[k].limit = state_dir ? 1 : G_MAXUINT64;
    }
    if (state_dir == NULL)
        return g_steal_pointer(&ids);
    if (!g_file_test(state_dir, G_FILE_TEST_IS_DIR)) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO,
                    "state directory %s: not a directory", state_dir);
        return NULL;
    }
    ids->state_dir = g_strdup(state_dir);
    ids->path = g_build_filename(state_dir, SEG_IDS_FILE, NULL);
    ids->lock_path = g_build_filename(state_dir, SEG_IDS_LOCK, NULL);
    /* Validate now so that a broken file is reported at start-up. */
    if (!parse_marks(ids->path, marks, error))
        return NULL;
    return g_steal_pointer(&ids);
}

/* seg_ids_set_block - IDs reserved per state-file update (>= 1) */
void seg_ids_set_block(seg_ids *ids, guint64 block)
{
    ids->block = block ? block : 1;
}

/* low - the kind has used half its block and has none ahead (kind locked) */
static gboolean low(const seg_ids *ids, const id_kind *k)
{
    return k->ahead == 0 && k->limit - MIN(k->next, k->limit) <= ids->block / 2;
}

/* seg_ids_try_next - the next ID when one is reserved, else 0 (no I/O) */
guint64 seg_ids_try_next(seg_ids *ids, seg_id_kind kind)
{
    id_kind *k;
    guint64 id = 0;

    g_return_val_if_fail((unsigned) kind < SEG_ID_NKINDS, 0);
    k = &ids->k[kind];
    if (ids->state_dir == NULL)         /* in memory: one thread, no lock */
        return k->next < k->limit ? k->next++ : 0;
    g_mutex_lock(&k->lock);
    if (k->next >= k->limit && k->ahead) {
        k->next = k->ahead;
        k->limit = k->ahead_limit;
        k->ahead = k->ahead_limit = 0;
    }
    if (k->next < k->limit)
        id = k->next++;
    g_mutex_unlock(&k->lock);
    return id;
}

/* seg_ids_low - TRUE when a kind should reserve its next block ahead */
gboolean seg_ids_low(seg_ids *ids, seg_id_kind kind)
{
    id_kind *k;
    gboolean is_low;

    g_return_val_if_fail((unsigned) kind < SEG_ID_NKINDS, FALSE);
    if (ids->state_dir == NULL)
        return FALSE;
    k = &ids->k[kind];
    g_mutex_lock(&k->lock);
    is_low = low(ids, k);
    g_mutex_unlock(&k->lock);
    return is_low;
}

/* seg_ids_reserve_ahead - reserve the kind's next block when it is low */
gboolean seg_ids_reserve_ahead(seg_ids *ids, seg_id_kind kind, GError **error)
{
    id_kind *k;
    guint64 first = 0, limit = 0;
    gboolean needed, ok = TRUE;

    g_return_val_if_fail((unsigned) kind < SEG_ID_NKINDS, FALSE);
    if (ids->state_dir == NULL)
        return TRUE;
    k = &ids->k[kind];
    g_mutex_lock(&k->io);
    g_mutex_lock(&k->lock);
    needed = low(ids, k);
    g_mutex_unlock(&k->lock);
    if (needed && (ok = reserve(ids, kind, &first, &limit, error))) {
        g_mutex_lock(&k->lock);
        if (k->next >= k->limit) {      /* used up meanwhile: current at once */
            k->next = first;
            k->limit = limit;
        } else {
            k->ahead = first;
            k->ahead_limit = limit;
        }
        g_mutex_unlock(&k->lock);
    }
    g_mutex_unlock(&k->io);
    return ok;
}

/* seg_ids_next - the next ID of a kind; 0 with error when none can be reserved */
guint64 seg_ids_next(seg_ids *ids, seg_id_kind kind, GError **error)
{
    guint64 id;

    g_return_val_if_fail((unsigned) kind < SEG_ID_NKINDS, 0);
    while ((id = seg_ids_try_next(ids, kind)) == 0) {
        if (ids->state_dir == NULL) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID, "%s counter exhausted",
                        kind_names[kind]);
            return 0;
        }
        if (!seg_ids_reserve_ahead(ids, kind, error))
            return 0;
    }
    return id;
}

/* seg_ids_close - forget the rest of the reserved blocks */
void seg_ids_close(seg_ids *ids)
{
    if (ids == NULL)
        return;
    for (int k = 0; k < SEG_ID_NKINDS; k++) {
        g_mutex_clear(&ids->k[k].lock);
        g_mutex_clear(&ids->k[k].io);
    }
    g_free(ids->state_dir);
    g_free(ids->path);
    g_free(ids->lock_path);
    g_free(ids);
}
