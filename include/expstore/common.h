/*
 * Exp Store: status codes, the error record, the allocator hook and the
 * reference-counted immutable byte buffer (es_blob) that every layer uses.
 *
 * Conventions (see docs/ARCHITECTURE.md):
 *  - every function returns es_status; ES_OK is 0;
 *  - functions that can fail take a nullable `es_error *err` last and fill it
 *    with a one-line message naming the object concerned;
 *  - `T **out` parameters are set to NULL on entry and owned by the caller on
 *    success.
 */
#ifndef EXPSTORE_COMMON_H
#define EXPSTORE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(ES_BUILDING_LIBRARY) && defined(__GNUC__)
#define ES_API __attribute__((visibility("default")))
#else
#define ES_API
#endif

#if defined(__GNUC__)
#define ES_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define ES_PRINTF(f, a)
#endif

/** Status codes. sys_code in es_error carries errno or an HTTP status. */
typedef enum es_status {
    ES_OK = 0,
    ES_NOMEM,       /**< an allocation failed */
    ES_INVALID,     /**< misuse of the API or bad argument (bad SQL, bad key, ...) */
    ES_NOT_FOUND,   /**< object, table or column does not exist */
    ES_EXISTS,      /**< already exists / precondition (put-if-absent, If-Match) failed */
    ES_CONFLICT,    /**< a concurrent commit conflicts; retryable by the caller */
    ES_IO,          /**< local I/O error (errno in sys_code) */
    ES_REMOTE,      /**< remote service failed permanently (HTTP status in sys_code) */
    ES_TRANSIENT,   /**< remote failure that may succeed if retried (5xx, 429, timeout) */
    ES_CORRUPT,     /**< bytes read from storage are malformed */
    ES_UNSUPPORTED, /**< valid but not supported (an Arrow type we do not handle, ...) */
    ES_INTERNAL,    /**< an internal invariant failed */
    ES_INTERRUPTED, /**< stopped by es_store_interrupt or es_sql_interrupt; nothing committed */
    ES_STATUS_COUNT
} es_status;

/** A caller-owned error record. All fields are valid after a failing call. */
typedef struct es_error {
    es_status code;
    int sys_code;
    char msg[512];
} es_error;

/** Static name of a status ("ES_CORRUPT"). Never NULL. */
ES_API const char *es_status_name(es_status st);

/** Record an error: sets code, sys_code and a printf-formatted one-line message. err may be
 * NULL. Returns code, so `return es_error_set(err, ES_INVALID, 0, "...")` works. */
ES_API es_status es_error_set(es_error *err, es_status code, int sys_code, const char *fmt, ...)
    ES_PRINTF(4, 5);

/** Prefix the current message with "prefix: " (to add context while propagating). */
ES_API void es_error_prefix(es_error *err, const char *fmt, ...) ES_PRINTF(2, 3);

/** Allocator hook. All library memory goes through these. Set before any other call. */
typedef struct es_allocator {
    void *(*malloc)(size_t size, void *ctx);
    void *(*realloc)(void *ptr, size_t size, void *ctx);
    void (*free)(void *ptr, void *ctx);
    void *ctx;
} es_allocator;
/** Install an allocator (NULL restores libc malloc). Not thread-safe. */
ES_API void es_set_allocator(const es_allocator *a);
ES_API void *es_malloc(size_t n);
ES_API void *es_calloc(size_t n, size_t size);
ES_API void *es_realloc(void *p, size_t n);
ES_API void es_free(void *p);
ES_API char *es_strdup(const char *s);

/**
 * An immutable, reference-counted byte buffer. Object stores hand out blobs (heap, mmap'd or
 * network memory); Arrow arrays read zero-copy from a blob keep a reference to it. The
 * refcount is atomic: a blob may be released from any thread.
 */
typedef struct es_blob es_blob;
struct es_blob {
    const uint8_t *data;
    size_t size;
    /* Private to the creator: */
    void (*destroy)(es_blob *b); /**< frees data/ctx and the blob itself */
    void *ctx;
    long refs; /**< accessed atomically */
};
/** New blob that copies `size` bytes. */
ES_API es_status es_blob_new_copy(es_blob **out, const void *data, size_t size);
/** New blob that takes ownership of `data` (allocated with es_malloc; freed with es_free). */
ES_API es_status es_blob_new_owned(es_blob **out, void *data, size_t size);
/** New blob that shares the bytes [off, off+len) of `parent` (takes a reference on it). */
ES_API es_status es_blob_new_slice(es_blob **out, es_blob *parent, size_t off, size_t len);
ES_API es_blob *es_blob_ref(es_blob *b);
/** Drop a reference; accepts NULL. */
ES_API void es_blob_unref(es_blob *b);

#ifdef __cplusplus
}
#endif

#endif /* EXPSTORE_COMMON_H */
