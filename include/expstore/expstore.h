/*
 * Exp Store public API: a columnar table store on object storage.
 *
 * A store is a root in an object store (a local directory, s3://bucket/prefix or mem://).
 * Tables are folders of immutable parts (Arrow IPC .data files with an .idx index); a commit
 * log of put-if-absent objects under _log/ makes every insert atomic and gives readers
 * consistent snapshots at any retained version.
 *
 * Thread safety: an es_store may be used by one thread at a time; separate handles (in one or
 * many processes or machines) may work on the same store concurrently.
 */
#ifndef EXPSTORE_EXPSTORE_H
#define EXPSTORE_EXPSTORE_H

#include "expstore/arrow.h"
#include "expstore/arrow_abi.h"
#include "expstore/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- version */

/* The version of these headers, in semantic versioning. While the major version is 0, a minor
 * release may change the API and the ABI (the shared library's soname is then
 * libexpstore.so.0.MINOR); a patch release changes neither. These lines are the one place the
 * version is written: CMakeLists.txt reads them for project(VERSION), the soname, expstore.pc
 * and the CMake package version. */
#define ES_VERSION_MAJOR 0
#define ES_VERSION_MINOR 1
#define ES_VERSION_PATCH 0
#define ES_VERSION_STRING "0.1.0"
/** MAJOR * 1000000 + MINOR * 1000 + PATCH (0.1.0 is 1000), for #if tests. */
#define ES_VERSION_NUMBER (ES_VERSION_MAJOR * 1000000 + ES_VERSION_MINOR * 1000 + ES_VERSION_PATCH)

/** The version of the library the program runs with, "MAJOR.MINOR.PATCH" (a static string).
 * It may differ from ES_VERSION_STRING, the version of the headers the program was compiled
 * with, when the program links the shared library. Thread-safe. */
ES_API const char *es_version(void);
/** The run-time library's version as a number (see ES_VERSION_NUMBER). Thread-safe. */
ES_API int es_version_number(void);

/* ----------------------------------------------------------------- stores */

typedef struct es_store es_store;

typedef struct es_open_options {
    int version;                /**< ES_OPEN_OPTIONS_VERSION */
    int create;                 /**< create the store when absent (default 1) */
    int64_t batch_rows;         /**< rows per record batch in .data files (default 8192) */
    int64_t part_target_bytes;  /**< target uncompressed size of a part (default 128 MiB) */
    es_compression compression; /**< body compression of .data files (default none) */
} es_open_options;
#define ES_OPEN_OPTIONS_VERSION 1
#define ES_OPEN_OPTIONS_INIT                                                                       \
    {                                                                                              \
        ES_OPEN_OPTIONS_VERSION, 1, 8192, 134217728, ES_COMPRESS_NONE                              \
    }

/** Open a store. uri: a directory path, file://path, s3://bucket/prefix or mem://name.
 * On failure *out may still be set to a handle holding the error (read es_store_errmsg, then
 * close it), or NULL when out of memory. */
ES_API es_status es_store_open(es_store **out, const char *uri, const es_open_options *opts);
ES_API void es_store_close(es_store *s);
/** The last error of this handle, one line; "" when none. Valid until the next call. After a
 * successful es_store_open it may hold a warning (code ES_OK), e.g. that the object store does
 * not honour conditional puts, so only one writer at a time is safe. While the store's commit
 * log is damaged (an entry missing below a later one, or unreadable: docs/FORMAT.md, section 6)
 * every successful call leaves a warning naming the object and the version reads continue at,
 * and every write fails with ES_CORRUPT and that message. */
ES_API const char *es_store_errmsg(const es_store *s);
ES_API es_status es_store_errcode(const es_store *s);
/** The latest committed version the handle knows after refreshing from the log. */
ES_API es_status es_store_version(es_store *s, int64_t *version);

/** Ask the operation running on s to stop, from another thread or from a signal handler (it
 * only sets an atomic flag, so it is async-signal-safe; NULL is ignored). While the flag is
 * set, scans (a stream's get_next: between batches and before each request for a part's index
 * or a window of its data) fail with errno EINTR and get_last_error "interrupted", and
 * es_insert and es_insert_batch (between the batches they read from their stream and before
 * each part they write or the commit) fail with ES_INTERRUPTED; an interrupted insert commits
 * nothing (parts it had written stay unreferenced). Table creation, listing and description do
 * not look at the flag. It stays set, so later scans and inserts fail the same way, until
 * es_store_clear_interrupt. The SQL API (expstore/sql.h) clears it when a statement starts. */
ES_API void es_store_interrupt(es_store *s);
/** Clear the flag set by es_store_interrupt (also async-signal-safe; NULL is ignored). */
ES_API void es_store_clear_interrupt(es_store *s);

/* --------------------------------------------------------------- tables */

/** Create a table. `schema` is a struct schema whose children are the columns (names, Arrow
 * types, ARROW_FLAG_NULLABLE). primary_key: a column name or NULL; it orders the data (parts are
 * sorted by it) and is not enforced unique yet (an insert of an existing key adds a row).
 * ES_EXISTS when it exists and if_not_exists is 0. */
ES_API es_status es_table_create(es_store *s, const char *name, const struct ArrowSchema *schema,
                                 const char *primary_key, int if_not_exists);
ES_API es_status es_table_drop(es_store *s, const char *name, int if_exists);
/** Names of the tables at the latest version: *names is an array of *n strings, free with
 * es_strings_free. */
ES_API es_status es_table_list(es_store *s, char ***names, int64_t *n);
ES_API void es_strings_free(char **strings, int64_t n);

typedef struct es_table_info {
    struct ArrowSchema schema; /**< struct schema with logical column names */
    char *primary_key;         /**< or NULL */
    int64_t n_parts;
    int64_t n_rows;
    int64_t n_bytes;
    int64_t version; /**< the version the description was read at */
} es_table_info;
ES_API es_status es_table_describe(es_store *s, const char *name, int64_t version,
                                   es_table_info *out);
ES_API void es_table_info_reset(es_table_info *info);

/** Insert all batches of `stream` (consumed and released) atomically: after success all rows
 * are visible in one new version, after failure none. Columns are matched by name; missing
 * nullable columns are null. Each given column's Arrow type must equal the table's, and a NULL
 * in a non-nullable column is refused (ES_INVALID). ES_NOT_FOUND: no such table; ES_CONFLICT:
 * the table was dropped or re-created concurrently (nothing inserted). */
ES_API es_status es_insert(es_store *s, const char *table, struct ArrowArrayStream *stream);
/** Insert one record batch (moved in and released). */
ES_API es_status es_insert_batch(es_store *s, const char *table, const struct ArrowSchema *schema,
                                 struct ArrowArray *batch);

/* ----------------------------------------------------------- predicates */

typedef enum es_expr_kind {
    ES_EXPR_CMP = 0, /**< column op literal */
    ES_EXPR_BETWEEN, /**< lo <= column <= hi */
    ES_EXPR_IN,      /**< column IN (literals) */
    ES_EXPR_IS_NULL,
    ES_EXPR_IS_NOT_NULL,
    ES_EXPR_AND,
    ES_EXPR_OR,
    ES_EXPR_NOT
} es_expr_kind;

typedef enum es_cmp_op { ES_EQ = 0, ES_NE, ES_LT, ES_LE, ES_GT, ES_GE } es_cmp_op;

/** A literal. kind selects the member; it is converted to the column's type when compared
 * (integers to floats, ...); an impossible conversion is ES_INVALID. */
typedef enum es_value_kind {
    ES_VALUE_NULL = 0,
    ES_VALUE_INT,
    ES_VALUE_DOUBLE,
    ES_VALUE_BYTES /**< strings and binary */
} es_value_kind;
typedef struct es_value {
    es_value_kind kind;
    int64_t i;
    double d;
    const uint8_t *bytes; /**< owned by the expression after es_expr_* constructors copy */
    int64_t len;
} es_value;

typedef struct es_expr es_expr;
ES_API es_expr *es_expr_cmp(const char *column, es_cmp_op op, es_value v);
ES_API es_expr *es_expr_between(const char *column, es_value lo, es_value hi);
ES_API es_expr *es_expr_in(const char *column, const es_value *vals, int64_t n);
ES_API es_expr *es_expr_is_null(const char *column, int negate);
/** Combinators take ownership of their operands (which may be NULL after an allocation
 * failure: the result is then NULL too and the others are freed). */
ES_API es_expr *es_expr_and(es_expr *a, es_expr *b);
ES_API es_expr *es_expr_or(es_expr *a, es_expr *b);
ES_API es_expr *es_expr_not(es_expr *a);
ES_API void es_expr_free(es_expr *e);
/** Render as SQL-like text into buf (for EXPLAIN). */
ES_API void es_expr_format(char *buf, size_t cap, const es_expr *e);

/* ----------------------------------------------------------------- scans */

/** What a scan did, filled as it runs (complete after the stream ends). */
typedef struct es_scan_stats {
    int64_t parts_total, parts_skipped;
    int64_t batches_total, batches_skipped;
    int64_t rows_scanned, rows_returned;
    int64_t requests, bytes_fetched;
} es_scan_stats;

typedef struct es_scan_options {
    int version;          /**< ES_SCAN_OPTIONS_VERSION */
    const char **columns; /**< projection by logical name; NULL = all columns */
    int64_t n_columns;
    const es_expr *predicate; /**< NULL = all rows; borrowed for the call only */
    int64_t at_version;       /**< -1 = latest; else time travel to that version */
    es_scan_stats *stats;     /**< nullable; must outlive the stream */
} es_scan_options;
#define ES_SCAN_OPTIONS_VERSION 1
#define ES_SCAN_OPTIONS_INIT                                                                       \
    {                                                                                              \
        ES_SCAN_OPTIONS_VERSION, NULL, 0, NULL, -1, NULL                                           \
    }

/** Scan a table: *out yields record batches (logical column names) of the rows that satisfy
 * the predicate. The stream is independent of the store handle's later calls but must be
 * released before es_store_close. Batches are zero-copy where possible: a column may be a
 * slice (non-zero offset) of stored data, with null_count -1 (not computed), as the C Data
 * Interface allows. */
ES_API es_status es_scan(es_store *s, const char *table, const es_scan_options *opts,
                         struct ArrowArrayStream *out);

#ifdef __cplusplus
}
#endif

#endif /* EXPSTORE_EXPSTORE_H */
