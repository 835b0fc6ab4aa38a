/*
 * objstore (internal): constructors of the built-in backends. The dispatch layer
 * (objstore.c) parses store URIs and calls these; the vtable and the dispatch functions are
 * public in include/expstore/sys/objstore.h.
 */
#ifndef ES_OBJSTORE_H
#define ES_OBJSTORE_H

#include "expstore/sys/objstore.h"

/** Local directory backend rooted at `path` (created when absent). */
es_status es_objstore_local_open(es_objstore **out, const char *path, es_error *err);
/** Remove the temporary files of puts (.~es-tmp-*) that a killed process left in a local store,
 * those last modified before cutoff_ms (Unix ms; a put in progress keeps its file younger).
 * *removed counts them. Other stores: nothing to do (ES_OK, 0). */
es_status es_objstore_local_sweep(es_objstore *s, int64_t cutoff_ms, int64_t *removed,
                                  es_error *err);
/** In-memory backend; stores opened with the same non-empty name in one process share data. */
es_status es_objstore_mem_open(es_objstore **out, const char *name, es_error *err);
/** S3 backend for "s3://bucket/prefix" (configuration from the standard AWS settings). */
es_status es_objstore_s3_open(es_objstore **out, const char *uri, es_error *err);

/* ------------------------------------------------------------------ dispatch (objstore.c) */

/**
 * Retry policy of the dispatch layer (process-wide). A call that fails with ES_TRANSIENT is
 * retried up to max_attempts in total, sleeping a random time in [d/2, d] before attempt k+1,
 * where d = min(max_delay_ns, base_delay_ns * 2^(k-1)) ("capped exponential backoff with
 * jitter"). Defaults: 5 attempts, 20 ms base, 1 s cap.
 */
typedef struct es_retry_policy {
    int max_attempts;      /**< total attempts, at least 1 */
    int64_t base_delay_ns; /**< backoff before the second attempt */
    int64_t max_delay_ns;  /**< cap on one backoff */
} es_retry_policy;
/** Requests of every kind counted so far (es_objstore_get_stats), for benchmarks and tests. */
int64_t es_objstore_requests(es_objstore *s);
/** Install a policy (NULL restores the defaults). Thread-safe; applies to later calls. */
void es_objstore_set_retry(const es_retry_policy *p);
void es_objstore_get_retry(es_retry_policy *out);

/**
 * Single-attempt variants of the dispatch functions, for wrapper backends (fault, cache) that
 * call an inner store: they validate keys and update the inner store's counters like the
 * public functions, but never retry (the outermost dispatch call does).
 */
es_status es_objstore_get_once(es_objstore *s, const char *key, uint64_t offset, uint64_t len,
                               es_blob **out, es_error *err);
es_status es_objstore_head_once(es_objstore *s, const char *key, es_obj_info *out, es_error *err);
es_status es_objstore_put_once(es_objstore *s, const char *key, const void *data, size_t len,
                               es_put_mode mode, const char *if_match, char *etag_out,
                               es_error *err);
es_status es_objstore_list_once(es_objstore *s, const char *prefix, const char *start_after,
                                int64_t max_keys, es_obj_list *out, es_error *err);
es_status es_objstore_delete_once(es_objstore *s, const char *const *keys, int64_t n,
                                  es_error *err);
/** get_many without retries: the backend's get_many, or a loop over get_once. */
es_status es_objstore_get_many_once(es_objstore *s, es_range_req *reqs, int64_t n, es_error *err);

/** Validate a list prefix: "" or a key prefix whose complete segments are valid. */
es_status es_objstore_check_prefix(const char *prefix, es_error *err);

/** Fill the common header of a backend object (uri copied). ES_NOMEM on failure. */
es_status es_objstore_init_base(es_objstore *s, const es_objstore_vtable *vt, const char *uri);

/* ------------------------------------------------------------------- mem (objstore_mem.c) */

/**
 * Forget the data of the named in-memory store (named stores keep their objects for the life
 * of the process, like a bucket, even when no handle is open). Handles still open keep
 * working on the dropped data until closed. Returns 1 if the name existed.
 */
int es_objstore_mem_drop(const char *name);

/* ---------------------------------------------------------------- fault (objstore_fault.c) */

/**
 * Fault injection (SQLite's test_vfs.c): a wrapper store that forwards every operation to an
 * inner store, counts operations and fails, delays or "crashes" on command.
 */
typedef struct es_fault_config {
    int64_t fail_at;         /**< fail the Nth counted operation (1-based); 0: never */
    int op;                  /**< count only operations of this es_op kind; -1: every operation */
    int persist;             /**< fail every counted operation from the Nth on (else once) */
    es_status status;        /**< injected status: ES_TRANSIENT, ES_REMOTE, ES_IO, ... (0: ES_IO) */
    int after;               /**< perform the operation on the inner store first, then report the
                                  failure (a lost response: the caller cannot tell what happened) */
    int64_t latency_ns;      /**< sleep before every operation */
    int64_t crash_after_put; /**< the Nth put happens, then every operation fails with ES_IO
                                  "simulated crash" and nothing more reaches the inner store */
    int64_t fail_every;      /**< also fail every Kth counted operation (K >= 2); 0: never */
} es_fault_config;
/** Wrap `inner`. take_ownership: closing the wrapper closes inner. No faults configured. */
es_status es_objstore_fault_wrap(es_objstore **out, es_objstore *inner, int take_ownership,
                                 es_error *err);
/** Replace the configuration (NULL: no faults) and reset the operation counters and the
 * crashed state. ES_INVALID when s is not a fault store. */
es_status es_objstore_fault_set(es_objstore *s, const es_fault_config *cfg);
/** Operations seen since the last fault_set: of kind op (es_op), or of every kind (op -1). */
int64_t es_objstore_fault_count(es_objstore *s, int op);
/** Number of failures injected since the last fault_set. */
int64_t es_objstore_fault_injected(es_objstore *s);
/** 1 once a simulated crash happened. */
int es_objstore_fault_crashed(es_objstore *s);
/** The wrapped store (borrowed), or NULL when s is not a fault store. */
es_objstore *es_objstore_fault_inner(es_objstore *s);

/* ---------------------------------------------------------------- cache (objstore_cache.c) */

typedef struct es_cache_options {
    size_t mem_bytes;     /**< memory budget (LRU); 0: 64 MiB */
    const char *disk_dir; /**< nullable: also keep ranges as files in this local directory */
    size_t disk_bytes;    /**< disk budget when disk_dir is set; 0: 1 GiB */
} es_cache_options;
/**
 * A read cache in front of `inner` (usually remote). It caches byte ranges of objects and head
 * results in memory, optionally on disk. Safe only because objects are immutable once
 * written (the commit log's keys are write-once too); puts and deletes through the cache drop
 * the key's entries, but changes made by other handles are not seen. list is never cached.
 */
es_status es_objstore_cache_wrap(es_objstore **out, es_objstore *inner, int take_ownership,
                                 const es_cache_options *opts, es_error *err);
typedef struct es_cache_stats {
    int64_t hits, misses, disk_hits;
    int64_t mem_bytes, entries;
} es_cache_stats;
/** ES_INVALID when s is not a cache store. */
es_status es_objstore_cache_get_stats(es_objstore *s, es_cache_stats *out);

#endif /* ES_OBJSTORE_H */
