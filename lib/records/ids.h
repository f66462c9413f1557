/*
 * ids - the gateway's connection and message identifiers.
 *
 * ICID (inbound connection), DCID (delivery connection) and MID (message)
 * are positive, strictly increasing per kind and never reused, also
 * across restarts, crashes and processes sharing one state directory.
 *
 * With a state directory the counters live in STATE_DIR/ids, one line
 * "icid N" / "dcid N" / "mid N" each, N being the first ID no process
 * has reserved yet. A process reserves a block of IDs (default 1000) by
 * raising that mark under an flock(2) on STATE_DIR/ids.lock and writing
 * the file atomically (fsync, rename, fsync of the directory) before it
 * hands out any ID of the block: a crash skips at most the rest of a
 * block and never reuses an ID. Without a state directory the counters
 * are in memory and start at 1 (offline parsing, deterministic output).
 *
 * With a state directory the counters may be shared by threads: a
 * thread that must not wait for the file (a milter callback) takes IDs
 * with seg_ids_try_next() and leaves seg_ids_reserve_ahead() to another
 * thread once seg_ids_low() says half the block is used; the process then
 * holds up to two blocks per kind (a restart skips at most their rest).
 * In memory a seg_ids belongs to one thread.
 */
#ifndef SEGTLS_IDS_H
#define SEGTLS_IDS_H

#include <glib.h>

typedef enum {
    SEG_ID_ICID,
    SEG_ID_DCID,
    SEG_ID_MID,
    SEG_ID_NKINDS,
} seg_id_kind;

#define SEG_IDS_FILE        "ids"
#define SEG_IDS_LOCK        "ids.lock"
#define SEG_IDS_BLOCK       1000

typedef struct seg_ids seg_ids;

/* seg_ids_open - counters persisted under state_dir, or in memory (NULL) */
seg_ids *seg_ids_open(const char *state_dir, GError **error);
/* seg_ids_set_block - IDs reserved per state-file update (>= 1) */
void    seg_ids_set_block(seg_ids *ids, guint64 block);
/* seg_ids_next - the next ID of a kind; 0 with error when none can be reserved */
guint64 seg_ids_next(seg_ids *ids, seg_id_kind kind, GError **error);
/* seg_ids_try_next - the next ID if one is reserved already, else 0 (never waits) */
guint64 seg_ids_try_next(seg_ids *ids, seg_id_kind kind);
/* seg_ids_low - TRUE when half the kind's block is used and none is reserved ahead */
gboolean seg_ids_low(seg_ids *ids, seg_id_kind kind);
/* seg_ids_reserve_ahead - when the kind is low, reserve its next block (waits for the file) */
gboolean seg_ids_reserve_ahead(seg_ids *ids, seg_id_kind kind, GError **error);
/* seg_ids_kind_name - "icid", "dcid", "mid" */
const char *seg_ids_kind_name(seg_id_kind kind);
/* seg_ids_close - forget the rest of the reserved blocks */
void    seg_ids_close(seg_ids *ids);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(seg_ids, seg_ids_close)

#endif
