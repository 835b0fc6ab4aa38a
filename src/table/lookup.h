/*
 * lookup (internal, table layer): the rows an index finds, read by ranged reads of just their
 * values instead of whole batches (docs/FORMAT.md section 2b, "Reading the rows of a few
 * hits"). The scan (scan.c) uses it for a part when an index left it a few hits.
 */
#ifndef ES_TABLE_LOOKUP_H
#define ES_TABLE_LOOKUP_H

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

/** Free the handle's cache of batch layouts (es_store_close, through es_index_cache_free). */
void es_lookup_cache_free(es_store *s);

#endif /* ES_TABLE_LOOKUP_H */
