/*
 * table (internal): the store handle, tables (create, drop, describe), the insert pipeline
 * (column matching, primary-key sort, chunking into batches and parts) and scans. The public
 * entry points in api.c are thin wrappers that record the last error per handle. Sits above
 * log and part.
 */
#ifndef ES_TABLE_H
#define ES_TABLE_H

#include "expstore/expstore.h"
#include "table/log.h"

#define ES_IDX_CACHE 64

struct es_store {
    es_objstore *os;
    int own_os;
    es_open_options opts;
    es_snapshot *snap; /* latest known version */
    es_error err;      /* last error of the handle */
    char warning[512]; /* set at open: a damaged log, skipped checkpoints, no conditional puts */
    /* Decoded .idx objects (immutable, so caching them is safe), round-robin replacement. */
    struct {
        char part_id[ES_ID_LEN + 1];
        es_part_idx *idx;
    } idx_cache[ES_IDX_CACHE];
    int idx_next;
    int interrupt; /* es_store_interrupt: set and read with __atomic builtins, from any thread */
};

/** 1 when es_store_interrupt asked the running scan or insert to stop. */
static inline int es_store_interrupted(const es_store *s)
{
    return __atomic_load_n(&s->interrupt, __ATOMIC_RELAXED);
}

/** Open a store on an object store already opened (tests use the fault wrapper this way).
 * take_ownership: es_store_close closes os. */
es_status es_store_open_objstore(es_store **out, es_objstore *os, int take_ownership,
                                 const es_open_options *opts, es_error *err);

/** The table at `version` (referenced: es_tabledef_unref). -1: the latest, after refreshing;
 * the handle's own snapshot when it is at that version (no reads); else loaded from the log.
 * ES_NOT_FOUND when the table (or the version) does not exist. */
es_status es_store_table(es_tabledef **out, es_store *s, const char *name, int64_t version,
                         es_error *err);

es_status es_table_create_impl(es_store *s, const char *name, const struct ArrowSchema *schema,
                               const char *primary_key, int if_not_exists, es_error *err);
es_status es_table_drop_impl(es_store *s, const char *name, int if_exists, es_error *err);
/** Insert batches (each a struct array of `schema`; moved in, always released). */
es_status es_table_insert_impl(es_store *s, const char *table, const struct ArrowSchema *schema,
                               struct ArrowArray *batches, int64_t n, es_error *err);

/** Fetch (or find in the handle's cache) the verified .idx of a part (referenced). */
es_status es_store_part_idx(es_part_idx **out, es_store *s, const es_tabledef *t,
                            const es_part_meta *m, int64_t *requests, int64_t *bytes,
                            es_error *err);

es_status es_scan_impl(es_store *s, const char *table, const es_scan_options *opts,
                       struct ArrowArrayStream *out, es_error *err);

/** The Arrow columns of a part of table t (by the part's column ids). *out has m->n_cols
 * entries (es_free it). ES_CORRUPT when a column id is unknown. */
es_status es_table_part_cols(es_part_col **out, const es_tabledef *t, const es_part_meta *m,
                             es_error *err);

#endif /* ES_TABLE_H */
