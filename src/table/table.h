/*
 * table (internal): the store handle, tables (create, drop, describe), the insert pipeline
 * (column matching, primary-key sort, chunking into batches and parts) and scans. The public
 * entry points in api.c are thin wrappers that record the last error per handle. Sits above
 * log and part.
 */
#ifndef ES_TABLE_H
#define ES_TABLE_H

#include <pthread.h>

#include "expstore/expstore.h"
#include "table/dv.h"
#include "table/log.h"

#define ES_IDX_CACHE 64
#define ES_DV_CACHE_MAX (1 << 20)
#define ES_KEYCACHE_BYTES (16 << 20)

/** An open transaction (txn.h). */
typedef struct es_txn es_txn;

/** A read refresh in flight (probe.c): the GET of the entry after the handle's version. */
typedef struct es_store_probe {
    pthread_t th;
    int running;
    es_objstore *os;
    char key[64];
    es_status st;
    int64_t *took_ns; /* the store's probe_ns: how long the GET took */
} es_store_probe;

struct es_store {
    es_objstore *os;
    int own_os;
    es_open_options opts;
    es_snapshot *snap; /* latest known version (while a transaction is open: its snapshot's) */
    es_txn *txn;       /* the open transaction, or NULL (autocommit) */
    es_error err;      /* last error of the handle */
    char warning[512]; /* set at open: a damaged log, skipped checkpoints, no conditional puts */
    /* Decoded .idx objects (immutable, so caching them is safe), round-robin replacement. */
    struct {
        char part_id[ES_ID_LEN + 1];
        es_part_idx *idx;
    } idx_cache[ES_IDX_CACHE];
    int idx_next;
    /* Verified .delta objects (immutable; a new vector is a new object) of at most
     * ES_DV_CACHE_MAX bytes each, round-robin replacement: a scan of a part with deleted rows
     * fetches its vector once per handle, not once per scan. */
    struct {
        char part_id[ES_ID_LEN + 1], dv_id[ES_ID_LEN + 1];
        es_blob *b;
    } dv_cache[ES_IDX_CACHE];
    int dv_next;
    void *ix_cache; /* decoded lookup tables of index objects (index.c) */
    void *lk_cache; /* batch layouts for reading index hits in part (lookup.c) */
    struct es_keyfilters
        *kf_cache;                /* key hashes of small parts for the unique check (keyfilter.c) */
    struct es_colcache *colcache; /* decoded column chunks of scans and lookups (colcache.c) */
    struct es_colcache *keycache; /* while colcache is off: sort-key chunks (scan_cache.c) */
    int64_t cache_limit; /* es_store_set_cache_limit: its budget in bytes, -1: the default */
    int interrupt;  /* es_store_interrupt: set and read with __atomic builtins, from any thread */
    int no_inline;  /* set while flushing: es_table_write_parts writes parts, never inline rows */
    int compacting; /* compact.c: a compaction runs (no automatic one inside it) */
    int threads;    /* es_store_set_threads: threads of a scan (and of SQL aggregation) */
    /* Asynchronous commit (es_store_set_async, group.c); the counters under the group's mutex. */
    int async;             /* inserts without a key return once queued */
    int async_used;        /* something was queued once (by the handle's thread) */
    int64_t async_pending; /* queued, not yet committed or failed */
    int64_t async_version; /* the latest version an asynchronous insert was committed at */
    es_status async_st;    /* the first failure since the last es_store_sync, and its error */
    es_error async_err;
    es_snapshot *async_snap; /* the catalog after the latest of them, for the handle to take */
    int64_t memory_limit;    /* es_store_set_memory_limit: bytes a sort or aggregation may hold */
    uint64_t gc_batch;   /* group.c: the batch this handle last committed in (under its mutex) */
    es_store_probe spec; /* es_store_speculate_begin: the read refresh of a statement in flight */
    int64_t probe_ns;    /* how long the last probe's GET took (atomic; 0: none yet) */
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
/** es_store_table(out, s, name, -1) with the refresh's GET started on a thread instead of
 * awaited: *out is the table in the handle's snapshot, and es_store_probe_join must be called
 * before the scan's result is used. In a transaction, when no thread starts, or when the
 * snapshot lacks the table, this refreshes first (p not running). */
es_status es_store_table_probe(es_tabledef **out, es_store_probe *p, es_store *s, const char *name,
                               es_error *err);
/** Wait for the probe: 0 when nothing was committed after the handle's version (the table
 * given is the newest), 1 when something may have been (refresh, es_store_table, and plan
 * again). No-op returning 0 when p is not running. */
int es_store_probe_join(es_store_probe *p);
/**
 * A statement's read refresh in flight while it plans and starts reading (probe.c; the SQL
 * layer runs a SELECT this way): sends the GET of the entry after the handle's version on a
 * thread and returns 1, after which es_store_table(-1) serves the handle's snapshot without
 * refreshing and scans of that version read while the GET is in flight. Returns 0 (nothing
 * started: refresh as usual) in a transaction, in asynchronous mode, on a damaged or stale
 * snapshot, or when no thread starts.
 */
int es_store_speculate_begin(es_store *s);
/** End what es_store_speculate_begin started: 0 when nothing was committed after the handle's
 * version (what the statement read is the newest), 1 when something may have been: the
 * statement's results must be dropped and it must run again (the refresh is then made as
 * usual). 0 when nothing was started. */
int es_store_speculate_end(es_store *s);
/* The table at the end of the log, before a write: a LIST of the log's tail (sync), which also
 * finds a hole cut into the log (ES_CORRUPT before anything is written). In a transaction: the
 * table in the transaction's view (no I/O). */
es_status es_store_table_write(es_tabledef **out, es_store *s, const char *name, es_error *err);
/* ES_CORRUPT for an object the log references that the store does not have (or that is a
 * directory in a local store), naming it, its table and what to do. */
es_status es_table_missing(es_error *err, const char *key, const char *table);
/** The catalog a write starts from (borrowed until the next write): the handle's snapshot
 * brought to the end of the log as es_store_table_write does, or the transaction's view. */
es_status es_store_catalog_write(es_snapshot **out, es_store *s, es_error *err);
/** Commit the actions of one call (whose objects are written). Autocommit: check them against
 * the handle's snapshot (the one the call read; ES_CONFLICT) and commit them with the rebase
 * hook (nullable); *version (nullable) receives the version. In a transaction: apply them to
 * its view, to be committed with it (*version: the snapshot's version). */
es_status es_store_commit(es_store *s, es_action *acts, int64_t n, es_log_rebase_fn rebase,
                          void *ctx, int64_t *version, es_error *err);
/** Commit the actions of an autocommit call (group.c): in one entry shared with the calls of
 * other handles of the process that commit to the same store at the same moment; ES_CONFLICT
 * (or what `rebase` returns) for this call's actions alone. rebase (nullable: blind appends,
 * creates, drops): an insert's unique-key check, run against the members before it in the
 * entry and against every entry the group's commit loses a race to; it may only check, never
 * rewrite the actions. On success the handle's snapshot is at *version or later. */
es_status es_store_group_commit(es_store *s, es_action *acts, int64_t n, es_log_rebase_fn rebase,
                                void *ctx, int64_t *version, es_error *err);
/** Asynchronous commit (group.c): queue the actions of an autocommit insert for the process's
 * committer thread and return at once; it takes the actions over (acts[0..n) zeroed). ES_OK
 * means accepted, not durable: es_store_wait_async reports the outcome. rebase (nullable): an
 * insert's key check, with ctx (heap-allocated, freed with ctx_free in every case); it runs
 * first against the inserts of the process queued and not yet committed (a duplicate fails
 * the call: ES_EXISTS), then as for a synchronous member at the commit. */
es_status es_store_group_commit_async(es_store *s, es_action *acts, int64_t n,
                                      es_log_rebase_fn rebase, void *ctx, void (*ctx_free)(void *),
                                      es_error *err);
/** Wait until every asynchronous insert of s is committed or failed. *version (nullable): the
 * latest version one of them was committed at (-1: none). Returns the first failure since the
 * last call (its message in err) and forgets it unless keep; ES_OK when all were committed. */
es_status es_store_wait_async(es_store *s, int64_t *version, es_error *err, int keep);
/** Take the catalog the committer left after the handle's latest asynchronous insert, when it
 * is newer than the handle's (no read of the entries the handle caused). */
void es_store_adopt_async(es_store *s);
/** Automatic flushes (flush.c): claim (1: 1 when no other handle of the process is flushing
 * the same store, which it then is) or release (0) the process's flush of a store. */
int es_store_flush_claim(es_store *s, int claim);
/** Write deletion vector v of part `part_id` of table `table_id` for a set_dv action: inline
 * when its blob is at most ES_DV_INLINE_MAX bytes, else a new .delta object under a fresh id
 * (put-if-absent). *out is referenced. */
es_status es_store_dv_write(es_dvref **out, es_store *s, const char *table_id, const char *part_id,
                            const es_dv *v, es_error *err);

es_status es_table_create_impl(es_store *s, const char *name, const struct ArrowSchema *schema,
                               const struct ArrowArray *defaults, const char *primary_key,
                               int if_not_exists, es_error *err);
es_status es_table_drop_impl(es_store *s, const char *name, int if_exists, es_error *err);
/** 1 when name is a valid table or column name (1 to 255 bytes, no control characters). */
int es_table_valid_name(const char *name);
/** Column `id` from field c of a table's schema (name, type, nullability; no default): ES_INVALID
 * or ES_UNSUPPORTED naming table and column. *col owns its name (es_column_reset). */
es_status es_table_column_new(es_column *col, const char *table, const struct ArrowSchema *c,
                              int64_t id, es_error *err);
/** Set the defaults of new table t's columns (alter.c; es_table_create_defaults): row 0 of
 * `defaults`, a struct array of `schema` (t's columns in order); a NULL there: none. */
es_status es_table_defaults_set(es_tabledef *t, const struct ArrowSchema *schema,
                                const struct ArrowArray *defaults, es_error *err);
/** Alter a table (alter.c; es_table_alter). *version (nullable): the version committed. */
es_status es_table_alter_impl(es_store *s, const char *table, const es_alter *op, int64_t *version,
                              es_error *err);
/** Insert batches (each a struct array of `schema`; moved in, always released). */
es_status es_table_insert_impl(es_store *s, const char *table, const struct ArrowSchema *schema,
                               struct ArrowArray *batches, int64_t n, es_error *err);

/** Insert the batches of `stream` (es_insert; load.c): a load in key order (or into a table
 * without a key) is written part by part while the stream is still being read, in bounded
 * memory; other input is read whole, then written as es_table_insert_impl does. The stream is
 * always released. */
es_status es_table_insert_stream(es_store *s, const char *table, struct ArrowArrayStream *stream,
                                 es_error *err);
/** The rough uncompressed bytes of a row of batch bv (a view of an insert's schema; map: table
 * column -> child or -1), and the rows of a part of such rows (es_open_options
 * part_target_bytes, a multiple of batch_rows): how the insert pipeline cuts parts. */
int64_t es_table_row_bytes(const es_tabledef *t, const es_array_view *bv, const int64_t *map);
int64_t es_table_part_rows(const es_store *s, int64_t row_bytes);
/** Reset actions acts[0..n) and free the array. */
void es_table_actions_free(es_action *acts, int64_t n);

/** Answers from the log's statistics (stats.c): *live_rows, the live rows of t, and when the
 * minimum and maximum of every column in cols[0..n) are exact in the statistics (no part with
 * deleted rows, none with unknown or truncated bounds), a struct batch of two rows (*schema:
 * the columns under their names, nullable): each column's minimum then maximum (both NULL
 * when it holds no value). Otherwise out->release is NULL (scan instead). No I/O. */
es_status es_table_stats_batch(struct ArrowSchema *schema, struct ArrowArray *out,
                               int64_t *live_rows, const es_tabledef *t, const char *const *cols,
                               int64_t n, es_error *err);

/* Rows inlined in the log (flush.c). */
/** Live rows and IPC bytes of the inline parts of t. */
void es_table_inline_size(const es_tabledef *t, int64_t *rows, int64_t *bytes);
/** Write the inline rows of `table` into a part (es_table_flush); *flushed (nullable): rows. */
es_status es_table_flush_impl(es_store *s, const char *table, int64_t *flushed, es_error *err);
/** After an autocommit insert into `table`: flush when its inline rows exceed the thresholds
 * (best effort: a failure leaves them inline). */
void es_table_flush_auto(es_store *s, const char *table);

/** Fetch (or find in the handle's cache) the verified .idx of a part (referenced). */
es_status es_store_part_idx(es_part_idx **out, es_store *s, const es_tabledef *t,
                            const es_part_meta *m, int64_t *requests, int64_t *bytes,
                            es_error *err);

/** The live deletion vector of part m of table t into *out (reset first; empty when the part
 * has none): decoded from the log's inline blob, or fetched with one GET of the part's .delta
 * object and verified against the log (size, CRC-32C), then decoded strictly (positions below
 * m->rows, as many as the log says). ES_CORRUPT naming the object on any mismatch or when the
 * object is missing. requests/bytes (nullable) count what was fetched. */
es_status es_store_part_dv(es_dv *out, es_store *s, const es_tabledef *t, const es_part_meta *m,
                           int64_t *requests, int64_t *bytes, es_error *err);

es_status es_scan_impl(es_store *s, const char *table, const es_scan_options *opts,
                       struct ArrowArrayStream *out, es_error *err);
/** Plan a scan without reading .data objects (es_scan_plan). */
es_status es_scan_plan_impl(es_store *s, const char *table, const es_scan_options *opts,
                            es_scan_plan_info *out, es_error *err);

/** What the mutations (mutate.c) ask of a scan beyond es_scan_options. */
typedef struct es_scan_ext {
    es_tabledef *table;    /* scan this table definition (borrowed; the name and at_version are
                              then ignored), e.g. the one a writer read */
    int with_pos;          /* append two non-null int64 columns: "_part" (index of the row's part in
                              table->parts) and "_pos" (its position within the part); batches are
                              then always copies */
    const es_scalar *keys; /* nullable: only rows whose primary key equals one of these (sorted
                              ascending by es_scalar_cmp, unique, no NaN); parts and batches
                              whose key range holds none of them are skipped */
    int64_t n_keys;
    const char *keys_column; /* nullable: the column `keys` apply to instead of the primary key
                                (a unique index's: the scan then finds them by the index) */
} es_scan_ext;

/** The scan as an iterator (es_scan_impl wraps it in an ArrowArrayStream). ext is nullable. */
typedef struct es_scanner es_scanner;
es_status es_scanner_open(es_scanner **out, es_store *s, const char *table,
                          const es_scan_options *opts, const es_scan_ext *ext, es_error *err);
/** The next non-empty batch; out->release NULL at the end. */
es_status es_scanner_next(es_scanner *sc, struct ArrowArray *out, es_error *err);
/** es_scanner_open for es_scan_plan: no data is fetched, and the first part may have been
 * started already (st->idx set) when the scan planned while its read refresh was in flight. */
es_status es_scanner_open_plan(es_scanner **out, es_store *s, const char *table,
                               const es_scan_options *opts, es_error *err);
/** The batches' schema (borrowed, valid until es_scanner_close). */
const struct ArrowSchema *es_scanner_schema(const es_scanner *sc);
void es_scanner_close(es_scanner *sc);
/** What es_scan_column hands each batch to: the batch and its view (of the scan's schema). fn
 * may keep both by moving them out (batch->release set NULL, *v zeroed); else they are released
 * after it returns. An error stops the scan and is returned. */
typedef es_status (*es_scan_column_fn)(void *ctx, struct ArrowArray *batch, es_array_view *v,
                                       es_error *err);
/** Scan column col of t alone (then v->children[0]; with ext->with_pos, "_part" and "_pos" are
 * children 1 and 2), over parts[0..n_parts) only (a copy of t holding them, at most one or
 * as many as t has; "_part" indexes them) or, with parts NULL, over t's; ext (nullable; its table
 * is ignored) gives the positions and keys. Each non-empty batch, viewed, goes to fn. */
es_status es_scan_column(es_store *s, const es_tabledef *t, int64_t col,
                         const es_part_meta *const *parts, int64_t n_parts, const es_scan_ext *ext,
                         es_scan_column_fn fn, void *ctx, es_error *err);

/** The insert pipeline without the commit: match columns, check, sort by the primary key, cut
 * into parts, write them, and return one add_part action per part in *acts (es_action_reset
 * each, es_free the array). batches (structs of `schema`) are moved in and always released. */
es_status es_table_write_parts(es_action **acts, int64_t *n_acts, es_store *s, const es_tabledef *t,
                               const struct ArrowSchema *schema, struct ArrowArray *batches,
                               int64_t n, es_error *err);
/** es_table_write_parts that also returns, when order is not NULL, where each written row came
 * from: (*order)[g] is the index, in the rows of `batches` taken one after the other, of row g
 * of the parts taken in the order of *acts (es_free it; NULL when no row was written). */
es_status es_table_write_parts_order(es_action **acts, int64_t *n_acts, int64_t **order,
                                     es_store *s, const es_tabledef *t,
                                     const struct ArrowSchema *schema, struct ArrowArray *batches,
                                     int64_t n, es_error *err);
/** Append value i of view v (NULL: a null) to builder b. */
es_status es_table_append_value(es_builder *b, const es_array_view *v, int64_t i);

/* Mutations (mutate.c): see es_delete, es_delete_keys, es_update and es_upsert in expstore.h. */
es_status es_delete_impl(es_store *s, const char *table, const es_expr *predicate, int64_t *deleted,
                         es_error *err);
es_status es_delete_keys_impl(es_store *s, const char *table, const struct ArrowSchema *schema,
                              struct ArrowArray *batches, int64_t n, int64_t *deleted,
                              es_error *err);
es_status es_update_impl(es_store *s, const char *table, const es_expr *predicate,
                         const char **columns, int64_t n_columns, es_update_fn fn, void *ctx,
                         int64_t *updated, es_error *err);
es_status es_upsert_impl(es_store *s, const char *table, const struct ArrowSchema *schema,
                         struct ArrowArray *batches, int64_t n, es_upsert_mode mode,
                         int64_t *inserted, int64_t *updated, es_error *err);

/** The Arrow columns of a part of table t (by the part's column ids). *out has m->n_cols
 * entries (es_free it). ES_CORRUPT when a column id is unknown. */
es_status es_table_part_cols(es_part_col **out, const es_tabledef *t, const es_part_meta *m,
                             es_error *err);

#endif /* ES_TABLE_H */
