/*
 * Exp Store public API: a columnar table store on object storage.
 *
 * A store is a root in an object store (a local directory, s3://bucket/prefix or mem://).
 * Tables are folders of immutable parts (Arrow IPC .data files with an .idx index); a commit
 * log of put-if-absent objects under _log/ makes every insert, delete and update atomic and
 * gives readers consistent snapshots at any retained version. Deleted rows are recorded as
 * deletion vectors (immutable .delta objects or small vectors inline in the log) and left out
 * by every scan (merge on read).
 *
 * Thread safety: an es_store may be used by one thread at a time; separate handles (in one or
 * many processes or machines) may work on the same store concurrently. A transaction
 * (es_txn_begin) belongs to its handle.
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
    es_compression compression; /**< body compression of .data files (default ES_COMPRESS_ZSTD;
                                     ES_COMPRESS_NONE turns it off; docs/FORMAT.md, section 1) */
    /* Version 2: small writes (docs/FORMAT.md, add_inline; docs/ARCHITECTURE.md). */
    int64_t inline_rows;      /**< an insert of at most this many rows whose Arrow IPC stream is at
                                   most inline_bytes is stored in its log entry, not as a part
                                   (default 64; 0: never) */
    int64_t inline_bytes;     /**< (default 16 KiB) */
    int64_t flush_rows;       /**< after an insert leaves more than this many inlined rows in a
                                   table, or more than flush_bytes of them, they are flushed into a
                                   part (es_table_flush) in the same call (default 256; 0: never
                                   automatically) */
    int64_t flush_bytes;      /**< (default 64 KiB) */
    int64_t commit_window_us; /**< group commit: how long a commit waits for others of the same
                                   process to share its log entry (default 0: commit at once;
                                   commits that arrive while one is being written are grouped
                                   anyway); when several synchronous handles shared the last
                                   entry, the wait ends as soon as they have all committed again */
    /* Version 2: compaction and vacuum (docs/FORMAT.md, sections 7b and 7c). */
    int64_t compact_min_parts;    /**< after a commit, compact a table (es_optimize) when it has
                                       this many small parts (under half of part_target_bytes);
                                       0: never (default 64) */
    double compact_deleted_ratio; /**< ... or when this fraction of its rows is deleted (0 to 1;
                                       0: never, the default: a DELETE or UPDATE then commits
                                       exactly one version) */
    int64_t retain_versions;      /**< es_vacuum expires versions more than this many behind the
                                       latest (0: no limit by count; default 0) */
    int64_t retain_ms;            /**< ... and versions committed longer ago than this (0: no
                                       limit by age; default 7 days) */
    int64_t vacuum_min_age_ms;    /**< es_vacuum deletes no object, and no temporary file,
                                       younger than this (default 1 hour; covers clock skew
                                       between hosts) */
    /* Version 3: the layout of .data files for object storage (docs/FORMAT.md, sections 1-2). */
    int64_t batch_pages; /**< record batches of .data files hold up to this many pages of
                              batch_rows rows, each page's buffers independent ZSTD frames with
                              their ranges in the .idx (version 3), so that a full scan reads a
                              column in requests of megabytes and a point lookup one page
                              (0: the default, ES_BATCH_PAGES_DEFAULT, or the environment's
                              ES_BATCH_PAGES; 1: one page per batch, the layout before; LZ4
                              parts always use 1) */
} es_open_options;
#define ES_OPEN_OPTIONS_VERSION 3
#define ES_BATCH_PAGES_DEFAULT 128
#define ES_OPEN_OPTIONS_INIT                                                                       \
    {                                                                                              \
        ES_OPEN_OPTIONS_VERSION, 1, 8192, 134217728, ES_COMPRESS_ZSTD, 64, 16384, 256, 65536, 0,   \
            64, 0, 0, 604800000, 3600000, 0                                                        \
    }

/** Open a store. uri: a directory path, file://path, s3://bucket/prefix or mem://name.
 * opts: NULL for the defaults, or ES_OPEN_OPTIONS_INIT with fields changed. ES_NOT_FOUND when
 * opts->create is 0 and there is no store; ES_INVALID for a bad URI or options, or a location
 * that holds other objects. On failure *out is a handle holding the error (read
 * es_store_errmsg, then close it), or NULL when out of memory (es_store_errmsg(NULL) says
 * "out of memory"). */
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
/** The latest committed version the handle knows after refreshing from the log; inside a
 * transaction, the version of its snapshot (without reading the log). */
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

/** The threads this handle's scans use to decode and filter batches, and the SQL engine to
 * aggregate: n from 1 to 256, or 0 for the processors online (the default; the environment
 * variable ES_THREADS, read when the store opens, replaces it). Results are the same whatever
 * the count, except the last bits of floating-point sums (added in another order). Call it
 * between operations, not while a scan of the handle runs. ES_OK, or ES_INVALID (s NULL, n out
 * of range). */
ES_API es_status es_store_set_threads(es_store *s, int n);
/** The thread count of es_store_set_threads (0 when s is NULL). */
ES_API int es_store_threads(const es_store *s);

/** Asynchronous commit (docs/ARCHITECTURE.md, "The cost of one commit"). While on (1), an
 * autocommit insert (es_insert_batch and SQL INSERT) returns ES_OK as soon as its rows are
 * queued for the process's committer thread: the write is accepted, NOT durable, and not yet
 * visible, not even to this handle. Into a table with a primary key or UNIQUE index, the call
 * first checks its keys against the table and against the inserts of the process still queued
 * (a duplicate: ES_EXISTS at once); a key committed by someone else after that is found at
 * the commit, and es_store_sync then fails with ES_EXISTS naming the key and the table. The
 * committer puts the queued inserts of every handle of the process on the same store into one
 * log entry (with the synchronous commits waiting then), so concurrent sessions share a PUT.
 * es_store_sync tells when they are durable. A crash or kill before that may lose queued
 * inserts (whole: an insert is in one entry or in none), never one that es_store_sync
 * reported. Every other write of the handle (a delete, DDL, a flush, a transaction's commit)
 * first waits for the handle's queued inserts, so the handle's writes
 * commit in the order it made them. Off (0, the default): every write is durable when it
 * returns. Turning it off waits for the queued inserts (their outcome stays for
 * es_store_sync); es_store_close waits too. ES_OK, or ES_INVALID (s NULL). */
ES_API es_status es_store_set_async(es_store *s, int on);
/** Wait until every insert this handle made asynchronously is in the log (durable).
 * *version (nullable): the latest version one of them was committed at, -1 when none was.
 * ES_OK when all were committed; else the failure of the first that failed since the last
 * es_store_sync (es_store_errmsg names it, e.g. the table dropped meanwhile), whose rows are
 * not in the store; the others' outcome is as their commits went. Thread-safety: as every
 * call on a handle. */
ES_API es_status es_store_sync(es_store *s, int64_t *version);
/** The memory a query of this handle's SQL sessions may hold for a sort (ORDER BY without a
 * small LIMIT) or an aggregation (the groups and their states): past it the statement fails
 * with ES_NOMEM and a message naming the limit, instead of exhausting the machine. Scans and
 * results that stream (SELECT without ORDER BY or aggregates, COPY ... TO) hold a bounded
 * amount whatever the limit. bytes: 0 for the default, 80% of the physical memory (the
 * environment variable ES_MEMORY_LIMIT, in bytes, read when the store opens, replaces it).
 * A quarter of it is the default budget of the handle's cache of decoded column chunks
 * (es_store_set_cache_limit).
 * ES_OK, or ES_INVALID (s NULL, bytes negative). */
ES_API es_status es_store_set_memory_limit(es_store *s, int64_t bytes);
/** The limit of es_store_set_memory_limit in bytes (0 when s is NULL). */
ES_API int64_t es_store_memory_limit(const es_store *s);
/** The budget of the handle's cache of decoded column chunks (docs/ARCHITECTURE.md, "The
 * column cache"). Scans and index lookups keep there the columns of the batches they had to
 * decompress or dictionary-decode (columns stored raw are read in place and never cached), so
 * a warm query neither fetches nor decodes them again (on S3: no data request at all). Parts
 * are immutable, so nothing cached is ever stale. A scan whose columns exceed the budget keeps
 * its first chunks cached rather than evicting everything for nothing. bytes: the budget; 0
 * turns the cache off (what it held is dropped; every query fetches and decodes, except the
 * pages of each part's primary-key column that point queries read, which a key cache of at
 * most 16 MiB keeps, as the .idx objects are kept); -1: the
 * default, a quarter of es_store_set_memory_limit's limit (so 20% of the physical memory
 * unless that is set), following it when it changes; the environment variable
 * ES_CACHE_LIMIT (bytes), read when the store opens, replaces the default. Batches a scan
 * returned keep the chunks they point into alive until they are released, evicted or not, so
 * they are not counted in the budget. ES_OK, or ES_INVALID (s NULL, bytes below -1). */
ES_API es_status es_store_set_cache_limit(es_store *s, int64_t bytes);
/** The cache's budget in bytes (0: off, or s NULL). */
ES_API int64_t es_store_cache_limit(const es_store *s);
/** What the cache holds now: *bytes of decoded buffers in *chunks column chunks (each
 * nullable; 0 when s is NULL). */
ES_API void es_store_cache_usage(const es_store *s, int64_t *bytes, int64_t *chunks);

/* --------------------------------------------------------------- tables */

/** Create a table. `schema` is a struct schema whose children are the columns (names, Arrow
 * types, ARROW_FLAG_NULLABLE). primary_key: a column name or NULL; it orders the data (parts are
 * sorted by it) and is unique (es_insert, es_update: ES_EXISTS on a duplicate).
 * ES_EXISTS when it exists and if_not_exists is 0. */
ES_API es_status es_table_create(es_store *s, const char *name, const struct ArrowSchema *schema,
                                 const char *primary_key, int if_not_exists);
/** es_table_create with column defaults. `defaults` (nullable) is a struct array of `schema`'s
 * type whose row 0 holds each column's default, NULL there for none: the value an insert or
 * upsert that leaves the column out gives it (as es_alter's default_value does for an added
 * column; es_table_describe reports them). Return codes of es_table_create, and ES_INVALID for
 * a default that is not of the column's type or is longer than 1 KiB. */
ES_API es_status es_table_create_defaults(es_store *s, const char *name,
                                          const struct ArrowSchema *schema,
                                          const struct ArrowArray *defaults,
                                          const char *primary_key, int if_not_exists);
ES_API es_status es_table_drop(es_store *s, const char *name, int if_exists);
/** Names of the tables at the latest version: *names is an array of *n strings, free with
 * es_strings_free. */
ES_API es_status es_table_list(es_store *s, char ***names, int64_t *n);

/* ------------------------------------------------------ secondary indexes */

/**
 * Create index `name` (unique among the store's indexes) on `column` of `table`: per part of
 * the table, an immutable object of the column's (value, row position) pairs sorted by value
 * and paged behind a lookup table (docs/FORMAT.md, section 2b). The index is committed first,
 * then the existing parts are indexed in commits of up to 16 parts each; later inserts,
 * updates and upserts index their own new parts. Scans with `column = v` or `column IN (...)`
 * then read, for each part the index covers, only the batches holding a match (parts not yet
 * covered are pruned by their statistics as before; results are the same either way).
 * unique: later writes of a value the column holds fail, and the existing values are checked
 * after the backfill (ES_EXISTS naming the value, and the index dropped, when one repeats).
 * Returns ES_OK, ES_NOT_FOUND (no such table or column), ES_EXISTS (the name is taken; with
 * if_not_exists ES_OK, after finishing the backfill and check of a call cut short when the
 * index is the same: table, column, unique), ES_UNSUPPORTED (inside a transaction, or a type
 * that cannot be indexed), ES_CONFLICT (the table was dropped meanwhile), or a store error
 * (the parts indexed so far stay covered).
 */
ES_API es_status es_index_create(es_store *s, const char *table, const char *name,
                                 const char *column, int unique, int if_not_exists);
/** Drop index `name` (its objects stay for time travel). ES_NOT_FOUND unless if_exists. */
ES_API es_status es_index_drop(es_store *s, const char *name, int if_exists);

/** An index as es_index_list describes it. */
typedef struct es_index_info {
    char *name, *table, *column;
    int unique;
    int64_t parts_covered, parts_total; /**< parts of the table that have an index object, and
                                              that have objects (rows inlined in the log
                                              are never indexed) */
    int64_t parts_inline, rows_inline;  /**< the table's parts inlined in the log (not in
                                              parts_total; a scan reads them from memory, and
                                              EXPLAIN counts them as parts) and their live rows */
} es_index_info;
/** The store's indexes at the latest version (*out: es_index_list_free). */
ES_API es_status es_index_list(es_store *s, es_index_info **out, int64_t *n);
ES_API void es_index_list_free(es_index_info *list, int64_t n);
ES_API void es_strings_free(char **strings, int64_t n);

/** Write the rows of `table` that are inlined in the commit log (small inserts: see
 * es_open_options.inline_rows) into a part (.data and .idx, sorted by the primary key), in one
 * commit that removes the inline parts: rows and versions read the same before and after. It
 * never conflicts with concurrent inserts; ES_CONFLICT when a concurrent delete or update
 * changed inlined rows (nothing flushed; try again). table NULL: every table. *rows (nullable):
 * the rows flushed. Inserts also flush by themselves past flush_rows / flush_bytes. */
ES_API es_status es_table_flush(es_store *s, const char *table, int64_t *rows);

typedef struct es_table_info {
    struct ArrowSchema schema; /**< struct schema with logical column names; a column with a
                                    default has the field metadata key "expstore:default", the
                                    value as an SQL literal (strings, dates and times quoted) */
    char *primary_key;         /**< or NULL */
    int64_t n_parts;
    int64_t n_rows;  /**< live rows (deleted rows are not counted) */
    int64_t n_bytes; /**< bytes of the parts' .data objects */
    int64_t version; /**< the version the description was read at; -1 inside a transaction
                          (when asked for the latest): its view, which es_scan with at_version
                          -1 reads */
} es_table_info;
ES_API es_status es_table_describe(es_store *s, const char *name, int64_t version,
                                   es_table_info *out);
ES_API void es_table_info_reset(es_table_info *info);

/** What es_table_alter changes. */
typedef enum es_alter_kind {
    ES_ALTER_ADD_COLUMN = 0, /**< add `field`, with `default_value` or NULL */
    ES_ALTER_DROP_COLUMN,    /**< drop `column` */
    ES_ALTER_RENAME_COLUMN,  /**< rename `column` to `new_name` */
    ES_ALTER_RENAME_TABLE,   /**< rename the table to `new_name` */
    ES_ALTER_SET_TYPE,       /**< widen `column` to Arrow type `type` */
    ES_ALTER_SET_NOT_NULL,   /**< `column` refuses NULL (checked against the live rows) */
    ES_ALTER_DROP_NOT_NULL   /**< `column` accepts NULL */
} es_alter_kind;

/** One alteration of a table (es_table_alter). Members a kind does not use are ignored. */
typedef struct es_alter {
    int version; /**< ES_ALTER_VERSION */
    es_alter_kind kind;
    const char *column;   /**< DROP, RENAME_COLUMN, SET_TYPE, SET/DROP_NOT_NULL */
    const char *new_name; /**< RENAME_COLUMN, RENAME_TABLE */
    const char *type;     /**< SET_TYPE: the new Arrow format string (a widening, below) */
    /** ADD_COLUMN: the column (name, Arrow type; ARROW_FLAG_NULLABLE, else NOT NULL, which needs
     * a default), and its default: NULL, or an array of field's type whose first value (NULL:
     * none) is the column's value in every row that exists before it was added and in rows
     * later inserted without it. */
    const struct ArrowSchema *field;
    const struct ArrowArray *default_value;
} es_alter;
#define ES_ALTER_VERSION 1
#define ES_ALTER_INIT                                                                              \
    {                                                                                              \
        ES_ALTER_VERSION, ES_ALTER_ADD_COLUMN, NULL, NULL, NULL, NULL, NULL                        \
    }

/**
 * Alter a table: one change, committed as one new version. Only metadata changes: no data is
 * read or rewritten (except by SET NOT NULL, which scans the column for NULLs), so an
 * alteration costs the same on a table of any size. Parts written before it read through the
 * column ids of the commit log: a column added reads as its default there; a dropped column's
 * data is never read again and its id is never reused (a column added later under the same
 * name is a new, empty column); a widened column is converted on read. Scans, time travel at
 * an older version and es_table_describe at that version see the columns of that version.
 *
 * Widenings (SET_TYPE): 8/16/32-bit integers to wider integers (unsigned to a wider signed or
 * unsigned one) or to float64, int64 to nothing, uint64 to nothing, float32 to float64,
 * decimal128 to a larger precision at the same scale, date32/date64 to a timestamp without
 * time zone. The primary key cannot be dropped, widened or change its NOT NULL; it may be
 * renamed.
 *
 * Returns ES_OK (*version, nullable: the version committed; unchanged and no version written
 * when nothing changes: SET NOT NULL of a NOT NULL column, DROP NOT NULL of a nullable one),
 * ES_NOT_FOUND (no such table or column), ES_EXISTS (the new name is taken), ES_INVALID (a bad
 * argument, a change of the primary key, the last column dropped, a narrowing or other type
 * change, NOT NULL without default, NULLs found by SET NOT NULL), ES_UNSUPPORTED inside a
 * transaction (es_txn_begin: commit or abort first), ES_CONFLICT when the table was written or
 * altered concurrently and the change cannot be rebased (docs/FORMAT.md, section 7: adding a
 * column, renaming and DROP NOT NULL rebase over concurrent writes; DROP COLUMN, SET_TYPE and
 * SET NOT NULL do not, and concurrent writes to the table then fail instead when they commit
 * second; two alterations of one table conflict).
 */
ES_API es_status es_table_alter(es_store *s, const char *table, const es_alter *alter,
                                int64_t *version);

/** Insert all batches of `stream` (consumed and released) atomically: after success all rows
 * are visible in one new version, after failure none. Columns are matched by name; missing
 * nullable columns are null. Each given column's Arrow type must equal the table's, and a NULL
 * in a non-nullable column is refused (ES_INVALID). ES_NOT_FOUND: no such table; ES_CONFLICT:
 * the table was dropped or re-created concurrently (nothing inserted); ES_EXISTS: a primary
 * key would repeat, among the rows given or with a live row (also one a concurrent writer
 * committed first), the message naming the key and the table (nothing inserted). */
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

/** Predicates. A constructor given a bad argument (column NULL, an unknown operator or value
 * kind, bytes NULL with a length, vals NULL with n > 0) or out of memory returns a *failed*
 * expression, never NULL (NULL is "every row" to es_delete and es_update): combinators pass it
 * on, es_scan, es_delete, es_update and es_scan_plan refuse it with ES_INVALID, es_expr_free
 * accepts it. */
typedef struct es_expr es_expr;
ES_API es_expr *es_expr_cmp(const char *column, es_cmp_op op, es_value v);
ES_API es_expr *es_expr_between(const char *column, es_value lo, es_value hi);
ES_API es_expr *es_expr_in(const char *column, const es_value *vals, int64_t n);
ES_API es_expr *es_expr_is_null(const char *column, int negate);
/** Combinators take ownership of their operands (a failed or NULL operand makes the result
 * failed, and the others are freed). A chain of one combinator may
 * be any length (a OR b OR ... built left-deep or otherwise, freed without recursion); a scan
 * refuses (ES_INVALID) a predicate that alternates AND and OR more than 1000 levels deep. */
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
    /** Sequential round trips to the object store from the start of the scan (refreshing the
     * catalog, manifests, .idx and data): see es_objstore_stats.round_trips. Other work on the
     * same store at the same time is counted too. */
    int64_t round_trips;
    /** A secondary index the scan used (es_index_create): its name ("" when none), the parts
     * it was used on and the batches it skipped that the statistics would have read. */
    char index_name[64];
    int64_t index_parts, index_batches_skipped;
    /** Rows read by position: the index's hits in parts where they were few, whose values were
     * fetched by ranged reads of just those rows instead of whole batches. */
    int64_t index_rows;
    /** Column chunks (a column of a batch, or of a page) the scan took from the handle's
     * column cache (es_store_set_cache_limit) instead of fetching and decoding them, and their
     * size in .data: bytes not fetched. */
    int64_t cache_chunks, cache_bytes;
} es_scan_stats;

typedef struct es_scan_options {
    int version;          /**< ES_SCAN_OPTIONS_VERSION */
    const char **columns; /**< projection by logical name; NULL = all columns */
    int64_t n_columns;
    const es_expr *predicate; /**< NULL = all rows; borrowed for the call only */
    int64_t at_version;       /**< -1 = latest; else time travel to that version */
    es_scan_stats *stats;     /**< nullable; must outlive the stream */
    /* Version 2: batches with a selection mask. */
    /** 0 (default): a batch holds only the rows to return. 1: every batch gets one more
     * column, last, named "_sel", non-null uint8 (Arrow "C"): 1 for a row to return, 0 for a
     * row to skip (deleted, or failing the predicate). A batch whose returned rows are
     * scattered then comes whole and zero-copy, as stored, instead of as a copy of those rows;
     * a consumer that aggregates or filters anyway skips the 0 rows itself (SQL does). */
    int selection;
    int keep_dictionary; /**< 1: a utf8 column stored dictionary-encoded in a part
                              (docs/FORMAT.md, section 1) may come out as a dictionary array in
                              the batches returned without filtering (no predicate, and no
                              deleted row in the batch unless `selection` marks them in the
                              mask): ArrowArray.dictionary set (the part's utf8
                              dictionary, sorted, shared by the part's batches), buffers the
                              validity and int32 indices. The stream's schema still says utf8;
                              other batches and parts come out as utf8, so a consumer handles
                              both. 0 (default): always utf8. */
} es_scan_options;
#define ES_SCAN_OPTIONS_VERSION 2
#define ES_SCAN_OPTIONS_INIT                                                                       \
    {                                                                                              \
        ES_SCAN_OPTIONS_VERSION, NULL, 0, NULL, -1, NULL, 0, 0                                     \
    }

/** Scan a table: *out yields record batches (logical column names) of the rows that satisfy
 * the predicate; deleted rows (es_delete, es_update, ...) are never returned. The stream is
 * independent of the store handle's later calls but must be released before es_store_close.
 * Batches are zero-copy where possible (batches without deleted rows, or every batch with
 * opts->selection): a column may be a slice (non-zero offset) of stored data, with null_count
 * -1 (not computed), as the C Data Interface allows. Options of version 1 (without
 * `selection`) are accepted. */
ES_API es_status es_scan(es_store *s, const char *table, const es_scan_options *opts,
                         struct ArrowArrayStream *out);

/* ---------------------------------------------------------------- history */

/** What es_history lists (es_history_options). */
typedef struct es_history_options {
    int version;         /**< ES_HISTORY_OPTIONS_VERSION */
    const char *table;   /**< NULL: every version; else only the versions that touched this
                              table (a live table, or one dropped within the versions read) */
    int64_t max_version; /**< the newest version listed; -1: the latest */
    int64_t min_version; /**< the oldest version read; 0 or -1: the oldest retained */
    int64_t limit;       /**< at most this many rows; 0: 100; -1: no limit (reads the whole
                              retained log) */
} es_history_options;
#define ES_HISTORY_OPTIONS_VERSION 1
#define ES_HISTORY_OPTIONS_INIT                                                                    \
    {                                                                                              \
        ES_HISTORY_OPTIONS_VERSION, NULL, -1, -1, 0                                                \
    }

/**
 * The history of the store, newest first, like `git log` (SQL: DESCRIBE HISTORY).
 *
 * @param s     the store.
 * @param opts  nullable: ES_HISTORY_OPTIONS_INIT (the last 100 versions of the store).
 * @param out   receives a stream of one batch with the columns `version` (int64), `timestamp`
 *              (the commit time: timestamp[ms, UTC], the largest `time_ms` of the entries read
 *              up to that version, so it never decreases; docs/FORMAT.md section 6 item 6),
 *              `entry_time` (the `time_ms` the entry's writer recorded), `operation` (utf8:
 *              init, create, drop, alter, insert, delete, update, optimize, vacuum, create
 *              index, drop index, index; several joined by "+" for a transaction), `tables`
 *              (utf8, nullable: the names of the tables the entry touched, comma-separated),
 *              `rows_added` (int64, nullable: rows of the parts it added; NULL when it added
 *              none), `parts_added`, `parts_removed` (int64), `txn` (utf8: the entry's id).
 *              The caller owns it (release it before es_store_close). On failure
 *              out->release is NULL.
 *
 * Entries are read backwards from max_version in runs of 64 fetched in parallel (get_many),
 * until `limit` rows are found or min_version is reached: a history of the last 100 versions
 * costs two rounds of GETs whatever the log's length. Versions below the log retention floor
 * (es_vacuum, docs/FORMAT.md section 7c) are gone: the history ends at the oldest retained
 * version, without error. Inside a transaction the latest is the transaction's snapshot.
 *
 * @return ES_OK; ES_INVALID (out NULL, a bad options version, or max_version below
 *         min_version); ES_NOT_FOUND (max_version past the latest version, or opts->table
 *         named in none of the entries read nor in the latest version); ES_CORRUPT (an entry
 *         above the floor missing or damaged, named); ES_NOMEM, or the store's ES_IO /
 *         ES_REMOTE.
 */
ES_API es_status es_history(es_store *s, const es_history_options *opts,
                            struct ArrowArrayStream *out);

/**
 * The version current at wall-clock time `time_ms` (Unix milliseconds): the newest version
 * whose commit time is <= time_ms (SQL: AS OF TIMESTAMP). A time after the latest commit is
 * the latest version. Reads the retention floor and O(log16 n) rounds of up to 15 parallel
 * GETs of entries (n: the retained versions).
 *
 * @return ES_OK with *version set; ES_INVALID (version NULL); ES_NOT_FOUND when time_ms is
 *         before the commit of the oldest retained version (the message names that version
 *         and its time); ES_CORRUPT (a retained entry missing or damaged); the store's errors.
 */
ES_API es_status es_version_at_time(es_store *s, int64_t time_ms, int64_t *version);

/* ------------------------------------------------------ deletes and updates */

/*
 * Every call below is one atomic commit: new .data/.idx parts and .delta objects are written
 * first, then one log entry makes all of the change visible at once (or, after a failure,
 * none of it). Rows are found by a scan of the latest version (with the usual pruning);
 * deleting a row records its position in its part's deletion vector, and an update or upsert
 * also inserts the new rows as a new part, sorted by the primary key.
 *
 * Concurrency (snapshot isolation with row-level conflicts; docs/FORMAT.md has the matrix):
 * writers that delete or update different rows, even of the same part, all commit (their
 * vectors are merged); when two writers delete or update the same row, the first to commit
 * wins and the other gets ES_CONFLICT naming the table, with nothing committed (retry it).
 * Concurrent inserts never conflict with deletes or updates (rows inserted after the call
 * read the table are not touched by it); a table dropped or re-created meanwhile is
 * ES_CONFLICT. An upsert also conflicts with a concurrent commit that inserted one of its keys.
 *
 * Counts (deleted, updated, inserted) are nullable out parameters, set on success.
 * Common errors: ES_INVALID (NULL store or table, bad predicate column or literal, misuse
 * described per call), ES_NOT_FOUND (no such table), ES_CONFLICT, ES_CORRUPT (a stored object
 * failed verification), ES_IO / ES_REMOTE / ES_TRANSIENT (the object store), ES_NOMEM. After
 * any error nothing of the call is visible.
 */

/** Delete the rows of `table` that satisfy `predicate` (NULL: every row; borrowed for the
 * call). *deleted receives the number of rows deleted (0 is a success that commits nothing). */
ES_API es_status es_delete(es_store *s, const char *table, const es_expr *predicate,
                           int64_t *deleted);

/** Delete the rows whose primary key is one of the values in `keys`: a stream of batches with
 * exactly one column, of the primary key's type (any name). The stream is consumed and
 * released. NULL keys match nothing; repeated keys count once. *deleted receives the number of
 * rows deleted. ES_INVALID: the table has no primary key, or the stream is not one column of
 * that type. */
ES_API es_status es_delete_keys(es_store *s, const char *table, struct ArrowArrayStream *keys,
                                int64_t *deleted);

/**
 * The new values of an update: called by es_update once per batch of matching rows (batches
 * come in no particular order). `schema` is the table's struct schema (logical column names,
 * every column, in table order); `rows` holds the current values of the matching rows. Both
 * are borrowed for the call. The callback sets *out to a struct array of the same schema and
 * length holding the new values of those rows, row for row; ownership moves to the library.
 * Return ES_OK, or any other status to abort: es_update then returns that status and commits
 * nothing (the callback may describe the failure in err with es_error_set; it is the store's
 * es_store_errmsg afterwards). The callback must not call into the same store handle.
 */
typedef es_status (*es_update_fn)(void *ctx, const struct ArrowSchema *schema,
                                  const struct ArrowArray *rows, struct ArrowArray *out,
                                  es_error *err);

/** Update the rows of `table` that satisfy `predicate` (NULL: every row): fn supplies their
 * new values (see es_update_fn; ctx is passed through). The old rows are deleted and the new
 * ones inserted in one commit (the primary key may change, and stays unique: new keys that
 * repeat among the new rows or match a live row not being updated are ES_EXISTS, one a
 * concurrent commit inserted meanwhile ES_CONFLICT; nothing is updated then). *updated
 * receives the number of rows updated. ES_INVALID: fn is NULL, or a batch it returned has
 * another length or does not match the schema, or holds a NULL in a non-nullable column. */
ES_API es_status es_update(es_store *s, const char *table, const es_expr *predicate,
                           es_update_fn fn, void *ctx, int64_t *updated);
/** es_update where fn reads only `columns` (n_columns logical names; NULL: all) of the rows
 * it gets: the other columns are not fetched, and arrive in `rows` as NULLs (fn gives their
 * new values, e.g. the SET columns of an UPDATE that never reads their old values). Unknown
 * names: ES_NOT_FOUND. Otherwise as es_update. */
ES_API es_status es_update_cols(es_store *s, const char *table, const es_expr *predicate,
                                const char **columns, int64_t n_columns, es_update_fn fn, void *ctx,
                                int64_t *updated);

/** What es_upsert does with a row whose primary key already exists. */
typedef enum es_upsert_mode {
    ES_UPSERT_REPLACE = 0,   /**< replace the existing row(s) with the new row */
    ES_UPSERT_DO_NOTHING = 1 /**< keep the existing row, drop the new one */
} es_upsert_mode;

/** Insert the rows of `rows` (a stream of batches as for es_insert: columns matched by name,
 * consumed and released) into a table with a primary key; a row whose key already exists
 * replaces the existing row(s) with that key or is dropped, as `mode` says. Among input rows
 * with the same key, the last one counts under ES_UPSERT_REPLACE and the first under
 * ES_UPSERT_DO_NOTHING. Rows with a NULL key (or a NaN float key) match nothing and are
 * inserted. *inserted receives the number of rows inserted under new keys, *updated the
 * number that replaced existing rows. ES_INVALID: the table has no primary key, the input
 * lacks the key column, a column's type differs from the table's, a NULL in a non-nullable
 * column, or an unknown mode. */
ES_API es_status es_upsert(es_store *s, const char *table, struct ArrowArrayStream *rows,
                           es_upsert_mode mode, int64_t *inserted, int64_t *updated);

/** What a scan would read, found without reading any .data object. */
typedef struct es_scan_plan_info {
    int64_t parts_total, parts_skipped;     /**< by the log's statistics */
    int64_t batches_total, batches_skipped; /**< of the parts not skipped, by their .idx */
    int64_t rows_to_scan;                   /**< rows in the batches to fetch */
    /** Ranged GETs of .data objects and their bytes, as es_scan would issue them (coalesced
     * ranges) if every batch held a matching row: a scan whose predicate reads a column other
     * than the sort key skips the other columns of batches where no row matches. */
    int64_t data_requests, data_bytes;
    int64_t idx_requests, idx_bytes; /**< .idx objects read to plan (0 when cached) */
    /** A secondary index used to plan ("" when none), the parts it covered and the batches it
     * skipped (included in batches_skipped); its lookup tables and pages are read to plan. */
    char index_name[64];
    int64_t index_parts, index_batches_skipped;
    /** Of rows_to_scan, the hits of the index read by position (their values only, with
     * ranged reads; data_requests and data_bytes then count the most this takes: a metadata
     * read per batch holding a hit and a range per hit and column). */
    int64_t index_rows;
    /** Column chunks of the batches to scan that the handle's column cache (or key cache)
     * holds, and their bytes of .data: not counted in data_requests and data_bytes. */
    int64_t cache_chunks, cache_bytes;
} es_scan_plan_info;
/** Plan a scan with the options es_scan takes (opts->stats is ignored): prune parts by the
 * statistics of the commit log and batches by the parts' .idx objects (read, and cached by the
 * handle), and report what es_scan would fetch. Reads no .data object. Returns ES_OK,
 * ES_NOT_FOUND (no such table or version), ES_INVALID (a bad projection or predicate), or an
 * error of the store (ES_IO, ES_CORRUPT, ...); *out is zeroed first. */
ES_API es_status es_scan_plan(es_store *s, const char *table, const es_scan_options *opts,
                              es_scan_plan_info *out);

/* ------------------------------------------------------------ transactions */

/*
 * A transaction groups calls on one store handle into one atomic commit. Between
 * es_txn_begin and es_txn_commit, every call on the handle runs inside it: es_insert,
 * es_insert_batch, es_delete, es_delete_keys, es_update, es_upsert, es_table_create and
 * es_table_drop write their parts and deletion vectors as usual but commit nothing; es_scan,
 * es_table_describe, es_table_list and the reads inside deletes, updates and upserts see the
 * store as it was at es_txn_begin plus the transaction's own writes (its inserted rows, its
 * deletes and updates applied, the tables it created, not those it dropped). es_txn_commit
 * then commits every change, whatever the number of tables, as one log entry: after it,
 * readers see all of the transaction or, after an abort, a conflict, an error or a crash,
 * none of it. Without an open transaction every call commits on its own (autocommit).
 *
 * Isolation (docs/FORMAT.md, section 7a, has the conflict matrix):
 *  - ES_ISOLATION_SNAPSHOT (the default): reads see the snapshot taken at es_txn_begin plus
 *    the transaction's own writes, whatever others commit meanwhile. At commit the changes are
 *    rebased over every version committed since begin: deletes and updates of different rows
 *    (even of one part) merge; the same row deleted or updated by both, a table dropped or
 *    re-created under the transaction's writes, a table it drops that others wrote to, a
 *    table name it creates that others created, or a key it upserts that others inserted,
 *    fail with ES_CONFLICT naming the table and the kind of conflict. Appends never conflict.
 *    Write skew (two transactions reading what the other writes) is possible.
 *  - ES_ISOLATION_SERIALIZABLE: as SNAPSHOT, and the commit also fails with ES_CONFLICT when a
 *    version committed since begin added rows that the transaction's reads could have seen
 *    (a part whose statistics may match a predicate it read with), deleted or changed rows of
 *    a part it read, or created or dropped a table it read or looked up. Committed
 *    serializable transactions are then equivalent to running one at a time in commit order.
 *    The read set is kept per part and predicate, so a concurrent change of another row of a
 *    part that was read is a conflict too (coarser than rows, never finer than correct).
 *    Reads are the scans (with their predicates and projections: the columns do not matter),
 *    the row searches of deletes, updates and upserts, the look-up of a table by name (a
 *    concurrent create or drop of that name conflicts) and table lists. The counts of
 *    es_table_describe (rows, parts, bytes) are statistics: a description is a look-up of the
 *    name and its schema, not a read of the rows, so a SQL statement that binds its columns
 *    with it reads only what its scans read.
 *
 * A call that fails inside a transaction leaves it as it was before the call (the
 * transaction stays open). Time travel (at_version >= 0, es_table_describe with a version)
 * reads committed versions as always. es_store_version inside a transaction gives the version
 * of its snapshot. Streams returned by es_scan inside a transaction read the state of the
 * transaction at the es_scan call. A handle holds at most one open transaction; closing the
 * handle aborts it. Other handles never see it before it commits.
 */

/** Isolation levels of es_txn_begin. */
typedef enum es_isolation {
    ES_ISOLATION_SNAPSHOT = 0,    /**< snapshot isolation, first committer wins per row */
    ES_ISOLATION_SERIALIZABLE = 1 /**< also validates the read set at commit */
} es_isolation;

typedef struct es_txn_options {
    int version;            /**< ES_TXN_OPTIONS_VERSION */
    es_isolation isolation; /**< default ES_ISOLATION_SNAPSHOT */
} es_txn_options;
#define ES_TXN_OPTIONS_VERSION 1
#define ES_TXN_OPTIONS_INIT                                                                        \
    {                                                                                              \
        ES_TXN_OPTIONS_VERSION, ES_ISOLATION_SNAPSHOT                                              \
    }

/** Begin a transaction on the handle (opts NULL: ES_TXN_OPTIONS_INIT). Takes the snapshot:
 * refreshes the handle from the log (one GET when nothing is new). ES_INVALID: a transaction
 * is already open on the handle, or bad options; ES_IO / ES_REMOTE / ES_TRANSIENT, ES_CORRUPT
 * (reading the log), ES_NOMEM: no transaction is open then. */
ES_API es_status es_txn_begin(es_store *s, const es_txn_options *opts);

/** Commit the open transaction; the transaction is over after the call, whatever it returns.
 * *version (nullable) receives the version committed, or the snapshot's version when the
 * transaction changed nothing (nothing is written then). ES_CONFLICT (retryable: run the
 * transaction again from es_txn_begin): a concurrent commit conflicts, the message names the
 * table and the kind of conflict; nothing is visible. ES_INVALID: no transaction is open.
 * ES_CORRUPT: the log is damaged or an object failed verification; ES_IO / ES_REMOTE /
 * ES_TRANSIENT / ES_NOMEM: nothing is visible, except when the message says that the outcome
 * is unknown (the object store failed while the entry was being created and could not be
 * read back: reopen and look). */
ES_API es_status es_txn_commit(es_store *s, int64_t *version);

/** Abort the open transaction: nothing of it becomes visible (objects it already wrote are
 * left unreferenced). ES_INVALID: no transaction is open. */
ES_API es_status es_txn_abort(es_store *s);

/** 1 when a transaction is open on the handle (and *isolation, when not NULL, receives its
 * level), else 0 (also for NULL). Reads no storage and leaves the last error as it is. */
ES_API int es_txn_active(const es_store *s, es_isolation *isolation);

/* ---------------------------------------------------------- maintenance */

/** What es_optimize did. */
typedef struct es_optimize_info {
    int64_t parts_in;  /**< parts rewritten (removed from the table) */
    int64_t parts_out; /**< parts written (added) */
    int64_t rows;      /**< rows copied */
    int64_t version;   /**< the version of its last commit; -1 when there was nothing to do */
} es_optimize_info;

/** Compact `table` (SQL: OPTIMIZE): merge its small parts (under half of part_target_bytes)
 * and its parts with deleted rows into parts of the target size sorted by the primary key,
 * leaving deleted rows out, in one commit per round of up to twice the target size of data,
 * until nothing is left to do. No row changes: concurrent inserts, deletes and updates all
 * commit (a delete or update of an input committed meanwhile is carried onto the new parts),
 * and readers of older versions keep reading the old parts. info (nullable) receives what was
 * done. ES_NOT_FOUND: no such table; ES_INVALID: inside a transaction; ES_CONFLICT: the table
 * was dropped, or a vacuum committed a horizon meanwhile (nothing committed by that round).
 * Also runs automatically after commits that cross the thresholds of es_open_options. */
ES_API es_status es_optimize(es_store *s, const char *table, es_optimize_info *info);

/** What es_vacuum did. */
typedef struct es_vacuum_info {
    int64_t version;         /**< the version of its horizon entry */
    int64_t retain_from;     /**< the oldest version kept for time travel */
    int64_t objects_deleted; /**< table objects (.data, .idx, .delta) deleted */
    int64_t bytes_deleted;   /**< their bytes */
    int64_t log_deleted;     /**< log entries and checkpoints of expired versions deleted */
    int64_t temp_deleted;    /**< temporary files of killed processes deleted (local store) */
} es_vacuum_info;

/** Delete what no retained version needs (SQL: VACUUM; `expstore vacuum STORE`). Versions older
 * than the retention of es_open_options (retain_versions, retain_ms) are expired: time travel
 * to them fails with ES_NOT_FOUND saying so. The protocol (docs/FORMAT.md, section 7c): commit
 * a horizon entry first, so that every writer that read before it fails at commit
 * (ES_CONFLICT) instead of naming objects vacuum deleted; then delete table objects that no
 * retained version references and that are older than vacuum_min_age_ms (objects of failed
 * or killed writers, parts replaced by compaction, dropped tables), the checkpoints below the
 * oldest retained checkpoint (and the entries below it once that checkpoint is older than
 * vacuum_min_age_ms: a write must not last longer), and the local store's temporary files
 * older than vacuum_min_age_ms. ES_INVALID inside a transaction; ES_CORRUPT when a retained version
 * cannot be read (nothing is deleted then). info is nullable. */
ES_API es_status es_vacuum(es_store *s, es_vacuum_info *info);

/** Called by es_fsck for each line of its report: problem 1 for an inconsistency, 0 for a note
 * (an unreferenced object). line is valid during the call. */
typedef void (*es_fsck_fn)(void *ctx, int problem, const char *line);
/** What es_fsck found. */
typedef struct es_fsck_info {
    int64_t versions;           /**< retained versions verified */
    int64_t objects;            /**< referenced objects verified */
    int64_t problems;           /**< inconsistencies */
    int64_t unreferenced;       /**< objects no retained version references */
    int64_t unreferenced_bytes; /**< their bytes */
} es_fsck_info;

/** Verify the store (`expstore fsck STORE`): every retained version of the log (entries
 * consecutive, checksums, the hash chain of "prev" checksums, actions that fit the catalog),
 * every object a retained version references (present, with the size and CRC-32C the log
 * records, .idx and .delta decoded, deletion vectors within their parts), unique primary keys
 * among the live rows of the newest version (one line naming the first duplicate), and list
 * objects that no retained version references. fn (nullable) receives each line. ES_OK when
 * consistent, ES_CORRUPT when a problem was found (the handle's message names the first),
 * another code when the check itself could not run. info is nullable. */
ES_API es_status es_fsck(es_store *s, es_fsck_fn fn, void *ctx, es_fsck_info *info);

#ifdef __cplusplus
}
#endif

#endif /* EXPSTORE_EXPSTORE_H */
