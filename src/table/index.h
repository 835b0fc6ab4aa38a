/*
 * index (internal, table layer): secondary indexes. An index of column c of a table is a set of
 * immutable objects, one per part it covers (`.six`, docs/FORMAT.md section 2b): the part's
 * (value, position) pairs sorted by value, in pages, behind a lookup table of page ranges. The
 * log records each index (create_index, drop_index) and which parts it covers (add_index);
 * writes index their own new parts (es_index_build_chunks, called by the insert pipeline), and
 * es_index_build_for_part indexes any part after the fact (backfill, compaction, alteration).
 * Scans with an equality or IN predicate on an indexed column read, per covered part, the pages
 * holding the values and fetch only the batches with a hit. Sits above log, part and scan.
 */
#ifndef ES_TABLE_INDEX_H
#define ES_TABLE_INDEX_H

#include "table/table.h"

/** Entries per page of an index object: a lookup reads and verifies one page (12 KiB for an
 * integer column), and the lookup table holds one entry per page. */
#define ES_INDEX_PAGE_ROWS 1024
/** Parts indexed per commit when CREATE INDEX backfills an existing table. */
#define ES_INDEX_BACKFILL_PARTS 16

/** The index of table t named `name` (borrowed from t), or NULL. */
es_index_def *es_index_find(const es_tabledef *t, const char *name);
/** The table holding the index named `name` in snapshot s (borrowed), or NULL. */
es_tabledef *es_index_table(const es_snapshot *s, const char *name);

/**
 * Index part m of table t by index d from the part's rows in memory: `batches` (n struct
 * arrays of `schema`, the part's physical schema with fields c<id>, in the order written) are
 * borrowed. Writes the index object (put-if-absent) and fills *out with an add_index action.
 */
es_status es_index_build_chunks(es_action *out, es_store *s, const es_tabledef *t,
                                const es_index_def *d, const es_part_meta *m,
                                const struct ArrowSchema *schema, const struct ArrowArray *batches,
                                int64_t n, es_error *err);
/**
 * Index part m of table t (live in t) by index d, reading the part's indexed column with one
 * scan (deleted rows are left out: they can never be hits). For compaction and alterations:
 * call it on each output part and commit the add_index actions with (or after) the add_part.
 * *out receives an add_index action (es_action_reset it).
 */
es_status es_index_build_for_part(es_action *out, es_store *s, const es_tabledef *t,
                                  const es_index_def *d, const es_part_meta *m, es_error *err);

/** An equality lookup a scan can answer with an index (es_index_query_new): the values of
 * `col = v` or `col IN (...)` in a conjunct of the predicate, sorted and distinct. */
typedef struct es_index_query {
    const es_index_def *def; /* borrowed from the scanned table */
    int64_t col;             /* table column */
    es_domain dom;
    es_scalar *vals; /* pointers into the predicate */
    int64_t n_vals;
} es_index_query;

/** The query for predicate p (bound to t's columns) when some index of t covers a column p
 * requires to equal one of a few values; *out NULL otherwise. */
es_status es_index_query_new(es_index_query **out, const es_tabledef *t, const es_pred *p,
                             es_error *err);
/** The query for the rows whose column col equals one of vals[0..n) (sorted, distinct, no NaN;
 * borrowed) when an index of t covers col; *out NULL otherwise. */
es_status es_index_query_keys(es_index_query **out, const es_tabledef *t, int64_t col,
                              const es_scalar *vals, int64_t n, es_error *err);
void es_index_query_free(es_index_query *q);

/**
 * For part m (covered by q's index: else nothing changes), keep in batches[0..*n) only the
 * batches holding a row the index finds (first_row: per batch of the part, the position of its
 * first row; n_part_batches + 1 entries). Costs one GET of the lookup table (cached by the
 * handle) and one parallel round of ranged GETs of the pages that may hold the values.
 * *covered is set to 1 when the index was used; requests/bytes count what was fetched.
 * hits (may be NULL): when covered, the positions the index found (ascending, distinct, deleted
 * rows included; es_free them) and their number in *n_hits.
 */
es_status es_index_filter_batches(const es_index_query *q, es_store *s, const es_tabledef *t,
                                  const es_part_meta *m, const int64_t *first_row,
                                  int64_t n_part_batches, int64_t *batches, int64_t *n,
                                  int *covered, uint32_t **hits, int64_t *n_hits, int64_t *requests,
                                  int64_t *bytes, es_error *err);

/** Verify a whole .six object on its own (header, footer, the lookup table and every page) for
 * a column of domain dom in a part of `rows` rows: ES_OK, or ES_CORRUPT naming `name` (the
 * checks of docs/FORMAT.md section 2b). For consistency checks and the fuzzer. */
es_status es_index_object_check(const uint8_t *p, size_t n, es_domain dom, int64_t rows,
                                const char *name, es_error *err);

/** Free the handle's caches of lookup tables and batch layouts (es_store_close). */
void es_index_cache_free(es_store *s);
/** The key of the object of coverage entry c of an index of table table_id
 * (table_<t>/table_<t>_part_<part>_<obj>.six; vacuum and fsck). */
void es_index_object_key(char *buf, size_t cap, const char *table_id, const es_index_cov *c);

/* The public calls (expstore.h). */
es_status es_index_create_impl(es_store *s, const char *table, const char *name, const char *column,
                               int unique, int if_not_exists, es_error *err);
es_status es_index_drop_impl(es_store *s, const char *name, int if_exists, es_error *err);
es_status es_index_list_impl(es_store *s, es_index_info **out, int64_t *n, es_error *err);

#endif /* ES_TABLE_INDEX_H */
