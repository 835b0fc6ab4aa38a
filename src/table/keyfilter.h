/*
 * keyfilter (internal, table layer, above scan): per store URI in a process (shared by its
 * handles), the 64-bit hashes of every value of a key column in a small part, sorted, built once
 * per part (parts are immutable) and kept while a handle of the store is open, so
 * that the unique check (unique.c) drops a part whose key range holds a written key but whose
 * rows do not, without opening a scan. A hash that matches (a real row, a deleted one or a
 * collision) leaves the part to the scan: the filter never says "absent" for a value the part
 * holds.
 */
#ifndef ES_TABLE_KEYFILTER_H
#define ES_TABLE_KEYFILTER_H

#include "table/unique.h"

/** Parts of more rows than this get no filter (their .idx pages find keys well enough). */
#define ES_KEYFILTER_MAX_ROWS 16384
/** A part's filter is built on this check of it by the process's handles, not before. */
#define ES_KEYFILTER_AFTER 4
/** At most this many hashes per store URI and process (8 bytes each); beyond it no new filter is
 * built. */
#define ES_KEYFILTER_BUDGET (1 << 21)

/**
 * 1 when part m of t surely holds none of the keys [lo, hi) of ks in table column col,
 * every row counted, deleted or not: its filter, built on the ES_KEYFILTER_AFTER-th check of
 * the part (a scan of that column of the part alone), holds none of their hashes. 0 otherwise, or
 * when the part has no filter (too many rows, over the budget, or building it failed: the caller's
 * scan then reports).
 */
int es_keyfilter_excludes(es_store *s, const es_tabledef *t, int64_t col, const es_part_meta *m,
                          const es_keyset *ks, int64_t lo, int64_t hi);

/** Release the handle's filters (es_store_close): freed with the store's last handle. */
void es_keyfilter_free(es_store *s);

#endif /* ES_TABLE_KEYFILTER_H */
