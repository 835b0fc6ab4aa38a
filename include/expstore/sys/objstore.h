/*
 * Object store interface for backend authors (like SQLite's VFS or libgit2's odb_backend).
 *
 * Contract: keys are relative paths of '/'-separated segments ([A-Za-z0-9._-] and '=' only, no
 * empty, "." or ".." segment, at most 1024 bytes). Objects are immutable once created by
 * the library's own convention; the store itself only guarantees that a put is atomic (readers
 * see the whole old state or the whole new object) and that ES_PUT_IF_ABSENT is atomic (of
 * concurrent creators exactly one wins, the others get ES_EXISTS).
 *
 * Status rules: ES_NOT_FOUND (no such key), ES_EXISTS (put-if-absent lost or If-Match failed),
 * ES_TRANSIENT (retryable: 5xx, 429, timeout, reset), ES_REMOTE / ES_IO (permanent),
 * ES_INVALID (bad key or argument). Messages name the key and never contain credentials.
 */
#ifndef EXPSTORE_SYS_OBJSTORE_H
#define EXPSTORE_SYS_OBJSTORE_H

#include "expstore/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct es_objstore es_objstore;

typedef enum es_put_mode {
    ES_PUT_ALWAYS = 0,    /**< unconditional overwrite */
    ES_PUT_IF_ABSENT = 1, /**< create only if the key does not exist (If-None-Match: *) */
    ES_PUT_IF_MATCH = 2,  /**< replace only if the current ETag equals the given one */
    ES_PUT_HINT = 3       /**< unconditional overwrite that a crash may lose or leave old (a
                               hint, whose readers check it): the local backend does not sync */
} es_put_mode;

#define ES_ETAG_MAX 96
typedef struct es_obj_info {
    char *key; /**< owned by the list that holds it (es_obj_list_reset), or NULL for head */
    uint64_t size;
    char etag[ES_ETAG_MAX]; /**< opaque, without quotes */
} es_obj_info;

/** One page of a listing. */
typedef struct es_obj_list {
    es_obj_info *items;
    int64_t n;
    int truncated; /**< more keys after the last one */
} es_obj_list;
ES_API void es_obj_list_reset(es_obj_list *l);

/** A byte-range request for get_many. len UINT64_MAX means "to the end". */
typedef struct es_range_req {
    const char *key;
    uint64_t offset;
    uint64_t len;
    es_blob *out;     /**< result, owned by the caller */
    es_status status; /**< per-request status */
} es_range_req;

/** Per-operation counters, kept by the dispatch layer for every backend. */
typedef enum es_op {
    ES_OP_GET = 0,
    ES_OP_HEAD,
    ES_OP_PUT,
    ES_OP_LIST,
    ES_OP_DELETE,
    ES_OP_COUNT
} es_op;
typedef struct es_objstore_stats {
    int64_t requests[ES_OP_COUNT];
    int64_t bytes_in[ES_OP_COUNT];  /**< bytes received (get) */
    int64_t bytes_out[ES_OP_COUNT]; /**< bytes sent (put) */
    int64_t errors[ES_OP_COUNT];
    /** Sequential round trips: how many times the store went from no request in flight to
     * one. Requests that overlap (a get_many served in parallel, threads) count once; with a
     * latency L per request, the time spent waiting is about round_trips * L. */
    int64_t round_trips;
    /** es_objstore_sync calls (not requests: no round trip; only the local backend on ext4
     * does any work for them). */
    int64_t syncs;
} es_objstore_stats;

typedef struct es_objstore_vtable {
    int version; /**< ES_OBJSTORE_VTABLE_VERSION */
    /** Get [offset, offset+len) of key (len UINT64_MAX: to the end). A range past the end is
     * clipped; offset > size is ES_INVALID. */
    es_status (*get)(es_objstore *s, const char *key, uint64_t offset, uint64_t len, es_blob **out,
                     es_error *err);
    /** Many gets at once, in parallel where the backend can (NULL: the dispatch layer loops
     * over get). Returns the first failure; every request carries its own status. */
    es_status (*get_many)(es_objstore *s, es_range_req *reqs, int64_t n, es_error *err);
    es_status (*head)(es_objstore *s, const char *key, es_obj_info *out, es_error *err);
    /** Put a whole object. etag_out (nullable, ES_ETAG_MAX bytes) receives the new ETag. */
    es_status (*put)(es_objstore *s, const char *key, const void *data, size_t len,
                     es_put_mode mode, const char *if_match, char *etag_out, es_error *err);
    /** One page of keys starting with prefix, strictly after start_after (nullable), in
     * byte order, at most max_keys (0: backend default, at most 1000). */
    es_status (*list)(es_objstore *s, const char *prefix, const char *start_after, int64_t max_keys,
                      es_obj_list *out, es_error *err);
    /** Delete keys; a missing key is not an error. */
    es_status (*del)(es_objstore *s, const char *const *keys, int64_t n, es_error *err);
    void (*close)(es_objstore *s);
    /** Make an existing object durable, for a writer about to build on it (NULL: an object
     * is durable as soon as others can read it, as on S3). The local backend on ext4 links a
     * new log entry before its one fsync, so another process can read it before it is
     * durable (es_os_create_linked); the log makes the entry it commits after durable first. */
    es_status (*sync)(es_objstore *s, const char *key, es_error *err);
} es_objstore_vtable;
#define ES_OBJSTORE_VTABLE_VERSION 2

/** The common header of every backend object: backends embed it first. */
struct es_objstore {
    const es_objstore_vtable *vt;
    char *uri;               /**< for messages; owned */
    int cas_supported;       /**< put-if-absent honoured: 1 yes, 0 no (concurrent writers are
                                  unsafe), -1 not known yet: S3 probes the server at the store's
                                  first ES_PUT_IF_ABSENT put, so read it after one */
    es_objstore_stats stats; /**< updated atomically by the dispatch layer */
    int64_t inflight;        /**< requests in flight (dispatch layer, atomic) */
};

/* Dispatch: validate keys, count requests and bytes, then call the backend. */
ES_API es_status es_objstore_open(es_objstore **out, const char *uri, es_error *err);
ES_API void es_objstore_close(es_objstore *s);
ES_API es_status es_objstore_get(es_objstore *s, const char *key, uint64_t offset, uint64_t len,
                                 es_blob **out, es_error *err);
ES_API es_status es_objstore_get_many(es_objstore *s, es_range_req *reqs, int64_t n, es_error *err);
ES_API es_status es_objstore_head(es_objstore *s, const char *key, es_obj_info *out, es_error *err);
ES_API es_status es_objstore_put(es_objstore *s, const char *key, const void *data, size_t len,
                                 es_put_mode mode, const char *if_match, char *etag_out,
                                 es_error *err);
ES_API es_status es_objstore_list(es_objstore *s, const char *prefix, const char *start_after,
                                  int64_t max_keys, es_obj_list *out, es_error *err);
ES_API es_status es_objstore_delete(es_objstore *s, const char *const *keys, int64_t n,
                                    es_error *err);
/** The backend's sync of key (see es_objstore_vtable.sync); ES_OK when it has none. Counted in
 * es_objstore_stats.syncs. */
ES_API es_status es_objstore_sync(es_objstore *s, const char *key, es_error *err);
/** Snapshot of the counters. */
ES_API void es_objstore_get_stats(es_objstore *s, es_objstore_stats *out);
ES_API void es_objstore_reset_stats(es_objstore *s);
/** ES_OK when the key is well-formed, ES_INVALID with a message otherwise. */
ES_API es_status es_objstore_check_key(const char *key, es_error *err);

#ifdef __cplusplus
}
#endif

#endif /* EXPSTORE_SYS_OBJSTORE_H */
