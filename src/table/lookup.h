/*
 * lookup (internal, table layer): the rows an index finds, read by ranged reads of just their
 * values instead of whole batches (docs/FORMAT.md section 2b, "Reading the rows of a few
 * hits"). The scan (scan.c) uses it for a part when an index left it a few hits.
 */
#ifndef ES_TABLE_LOOKUP_H
#define ES_TABLE_LOOKUP_H

#include "table/expr.h"
#include "table/table.h"

/** Use es_lookup_rows for at most this many hits of a part. */
#define ES_LOOKUP_MAX_HITS 1024

/**
 * The rows at positions pos[0..n_pos) (ascending, distinct, below the part's rows) of the part
 * indexed by x, columns which[0..n_which) (part column indexes; pcols: the part's columns):
 * *out a struct array of n_pos rows with n_which children of the part's types, in that order,
 * as es_part_decode_batch gives (each child can be moved out and released on its own).
 * first_row: per batch of the part the position of its first row (n_batches + 1 entries).
 * Reads the metadata of each batch holding a hit (one parallel round; layouts are cached per
 * handle), then the validity bytes, fixed-width values and string offsets of the hit rows (one
 * round), then the string bytes (one round), coalescing nearby ranges. requests and bytes count
 * what was fetched. ES_UNSUPPORTED (no I/O made, or its results dropped) when the part's batches
 * cannot be read in part (compressed bodies, a column type without a plain layout): read whole
 * batches then. ES_CORRUPT naming the .data object for metadata that disagrees with the .idx or
 * a value range outside its buffer.
 */
es_status es_lookup_rows(struct ArrowArray *out, es_store *s, const es_tabledef *t,
                         const es_part_idx *x, const es_part_col *pcols, const int64_t *which,
                         int64_t n_which, const int64_t *first_row, const uint32_t *pos,
                         int64_t n_pos, int64_t *requests, int64_t *bytes, es_error *err);

/**
 * A point lookup on the sorted key (a predicate that reads only table column key_tcol, the
 * part's sort key x->sort_col, of the table's type): *hits the positions (ascending; es_malloc'd,
 * set also when there are none) in batches[0..n_batches) (ascending) of the rows pred selects,
 * found in the key column of those batches (read, decoded and cached like the columns of
 * compressed batches: es_lookup_rows). The scan then reads only those rows. ES_UNSUPPORTED when
 * the batches' layouts do not fit the cache (read whole batches then).
 */
es_status es_lookup_key_hits(uint32_t **hits, int64_t *n_hits, es_store *s, const es_tabledef *t,
                             const es_part_idx *x, const es_part_col *pcols, const es_pred *pred,
                             int64_t key_tcol, const int64_t *batches, int64_t n_batches,
                             const int64_t *first_row, int64_t *requests, int64_t *bytes,
                             es_error *err);

/** Free the handle's caches of batch layouts and decoded columns (es_store_close, through
 * es_index_cache_free). */
void es_lookup_cache_free(es_store *s);

#endif /* ES_TABLE_LOOKUP_H */
