/*
 * Exp Store SQL API: run SQL statements on a store and get Arrow back.
 *
 * A session (es_sql_session) is bound to one open es_store. It runs one statement at a time
 * (es_sql_exec, es_sql_exec_next) or a whole script (es_sql_exec_script); a statement that
 * returns rows (SELECT, EXPLAIN, DESCRIBE, SHOW TABLES) gives an ArrowArrayStream whose schema has
 * the result's column names and Arrow types and whose batches are produced as the consumer pulls
 * them.
 *
 *     es_sql_session *q;
 *     es_sql_session_open(&q, store);
 *     es_sql_result r = ES_SQL_RESULT_INIT;
 *     if (es_sql_exec(q, "SELECT id, amount FROM orders WHERE id < 10", &r) == ES_OK) {
 *         ... r.stream.get_schema / get_next / release ...
 *     } else {
 *         fprintf(stderr, "%d:%d: %s\n", es_sql_errline(q), es_sql_errcol(q), es_sql_errmsg(q));
 *     }
 *     es_sql_result_reset(&r);
 *     es_sql_session_close(q);
 *
 * The dialect: CREATE TABLE [IF NOT EXISTS] t (columns) | t [PRIMARY KEY (c)] AS SELECT ...,
 * DROP TABLE [IF EXISTS], DESCRIBE t, SHOW TABLES, INSERT INTO t [(columns)] VALUES ... |
 * SELECT ..., SELECT [DISTINCT] ... FROM t [[AS] alias] [AS OF VERSION n] [WHERE] [GROUP BY
 * expressions, positions or aliases] [HAVING] [ORDER BY] [LIMIT [OFFSET]], EXPLAIN [ANALYZE]
 * SELECT, COPY t FROM 'file' [(HEADER, DELIMITER ',', FORMAT csv|arrow)], COPY t | (SELECT ...) TO
 * 'file' [(FORMAT csv|arrow|arrows|json, HEADER, DELIMITER)] (without FORMAT, by the file's
 * extension in any case; JSON is one object per line). Expressions: arithmetic, comparisons,
 * [NOT] LIKE / ILIKE [ESCAPE 'c'], IN, BETWEEN, IS [NOT] NULL, CASE, CAST (and expr::type), ||,
 * and the functions of src/sql/func.c and func_date.c (strings, math, nullif, strftime, date_trunc,
 * date_part and EXTRACT, now, current_date); count, sum and avg take DISTINCT. Types: BOOLEAN,
 * SMALLINT, INTEGER, BIGINT, REAL, DOUBLE, DECIMAL(p,s) (p <= 18), VARCHAR, BLOB, DATE, TIMESTAMP,
 * TIMESTAMP WITH TIME ZONE.
 *
 * Each statement commits on its own unless BEGIN [TRANSACTION] (or START TRANSACTION) opens a
 * transaction on the session's store handle (es_txn_begin): its statements see the store as of
 * BEGIN plus their own changes, and COMMIT (END) makes them visible as one version; ROLLBACK
 * drops them. A statement that fails inside a transaction aborts it, as in PostgreSQL: later
 * statements are refused (ES_INVALID) until ROLLBACK, and COMMIT rolls it back. PRIMARY KEY orders
 * a table's data (parts are sorted by it) and is unique (a statement that would repeat a key fails,
 * ES_EXISTS).
 *
 * Result columns have these Arrow types: "b" (BOOLEAN), "s" (SMALLINT), "i" (INTEGER), "l"
 * (BIGINT), "f" (REAL), "g" (DOUBLE), "d:p,s" (DECIMAL; values may exceed p digits when
 * arithmetic or SUM overflows the declared precision), "u" (VARCHAR), "z" (BLOB), "tdD" (DATE),
 * "tsu:" (TIMESTAMP), "tsu:UTC" (TIMESTAMP WITH TIME ZONE) and "n" (the type of a bare NULL).
 * A column is nullable unless it cannot hold a NULL: a NOT NULL column of the table, count(*),
 * a literal, arithmetic other than / and % on such columns. A SELECT without aggregates and
 * without ORDER BY reads the table's
 * scan batch by batch as the stream is pulled (bounded memory; LIMIT stops the scan early);
 * aggregation and ORDER BY compute the whole result at the first get_next and then hand it out.
 * Batches have at most 65536 rows.
 *
 * Errors: functions return an es_status; the session keeps the last error: a one-line message
 * (es_sql_errmsg, without position), its code (es_sql_errcode), and the 1-based line and column
 * of the offending token in the text that was passed in (es_sql_errline, es_sql_errcol), or 0
 * when the error has no position. A result stream's get_next failing records its error in the
 * session too, and the stream's get_last_error gives the same message prefixed with
 * "LINE:COL: " when it has a position.
 *
 * Thread safety: a session may be used by one thread at a time, and shares its store handle's
 * rule (one thread at a time per es_store). While a result's stream is open the session may not
 * run another statement (ES_INVALID): release the stream (or es_sql_result_reset) first.
 * es_sql_complete, es_sql_format_value, es_sql_type_name and es_sql_write_csv use no session
 * and may be called from any thread.
 */
#ifndef EXPSTORE_SQL_H
#define EXPSTORE_SQL_H

#include <stdio.h>

#include "expstore/arrow.h"
#include "expstore/expstore.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct es_sql_session es_sql_session;

/** Open a session on `store` (borrowed: it must outlive the session). Returns ES_OK,
 * ES_NOMEM, or ES_INVALID (out or store is NULL); on failure *out is NULL. */
ES_API es_status es_sql_session_open(es_sql_session **out, es_store *store);
/** Close a session (NULL is accepted). A result stream should be released first; one that is
 * still open fails its later get_next calls (EINVAL) and may only be released. */
ES_API void es_sql_session_close(es_sql_session *q);

/** Progress of a long statement: COPY FROM a CSV file reports after each batch of rows it has
 * parsed, with the bytes of the file consumed so far (`done`) out of `total`, and the rows read.
 * `end` is 0 while reading, 1 when the whole file was read, -1 when the statement stopped before
 * the end (an error). Called from the thread running the statement or from a worker thread it
 * started, never concurrently, and only while that statement runs. */
typedef void (*es_sql_progress_callback)(void *arg, int64_t done, int64_t total, int64_t rows,
                                         int end);
/** Set (cb NULL: clear) the session's progress callback. */
ES_API void es_sql_session_set_progress(es_sql_session *q, es_sql_progress_callback cb, void *arg);

/** Interrupt the session's running statement, or its result stream being read: from another
 * thread or from a signal handler (such as a shell's SIGINT handler; it only sets atomic flags,
 * of the session and of its store, so it is async-signal-safe; NULL is ignored). The statement
 * stops at its next check and fails with ES_INTERRUPTED and the message "interrupted"; nothing
 * is committed. Checks are made before each statement runs (so es_sql_exec_script stops before
 * the next one), between the batches of a result stream and of the scan under it, before each
 * object-store request of the scan, between the batches an INSERT or COPY FROM reads (from its
 * CSV reader or Arrow file) and before each part it writes and before its commit (see
 * es_store_interrupt). A result stream that was interrupted fails its get_next with EINTR.
 * es_sql_exec, es_sql_exec_next and es_sql_exec_script clear the request when they start, so
 * an interrupt that arrives while no statement runs is forgotten. */
ES_API void es_sql_interrupt(es_sql_session *q);

/** What one statement produced. */
typedef struct es_sql_result {
    /** Rows, for statements that return them (has_rows = 1): the schema names the columns and
     * gives their Arrow types; batches are built on demand. The caller releases it (or calls
     * es_sql_result_reset). Otherwise stream.release is NULL. */
    struct ArrowArrayStream stream;
    int has_rows;
    /** Rows inserted (INSERT, CREATE TABLE AS), copied (COPY FROM, COPY TO), deleted (DELETE,
     * TRUNCATE) or updated (UPDATE: the rows that satisfied WHERE); for upserts, rows inserted or
     * replaced (INSERT OR REPLACE, REPLACE INTO: every row given), inserted (INSERT OR IGNORE, ON
     * CONFLICT DO NOTHING) or inserted and updated (ON CONFLICT DO UPDATE); -1 when the statement
     * has no such count (CREATE, DROP, SELECT, EXPLAIN, DESCRIBE, SHOW TABLES). */
    int64_t changes;
    /** The statement's kind: "SELECT", "EXPLAIN", "CREATE TABLE", "DROP TABLE", "INSERT" (also
     * upserts), "COPY", "DELETE", "UPDATE", "TRUNCATE", "ALTER TABLE", "DESCRIBE" or "SHOW
     * TABLES", or "BEGIN",
     * "COMMIT", "ROLLBACK" (transactions: es_txn_begin, es_txn_commit, es_txn_abort on the
     * session's store handle; a COMMIT that fails, e.g. ES_CONFLICT, rolls the transaction
     * back); "" when no statement was parsed (a
     * syntax error, or only comments). A static string. Set also when the statement fails. */
    const char *kind;
} es_sql_result;
#define ES_SQL_RESULT_INIT                                                                         \
    {                                                                                              \
        {0}, 0, -1, ""                                                                             \
    }
/** Release the result's stream if it is open and reset the struct to ES_SQL_RESULT_INIT. NULL
 * is accepted. */
ES_API void es_sql_result_reset(es_sql_result *r);

/** Run exactly one statement (a trailing ';' and comments are allowed; a second statement is
 * ES_INVALID, with the position of its first token). `out` is overwritten (release a previous
 * result first). On success *out describes what the statement produced; on failure
 * out->stream.release is NULL, out->kind names the statement, and the session's error says what
 * and where. Returns ES_OK, ES_INVALID (syntax, binding, type and constraint errors; text that
 * holds no statement; a stream of the session still open; a NULL argument), ES_NOT_FOUND (no
 * such table), ES_EXISTS (CREATE of an existing table), ES_NOMEM, ES_IO (a file of COPY),
 * ES_UNSUPPORTED (a statement a transaction cannot hold, such as CREATE INDEX or ALTER TABLE;
 * a feature not implemented), ES_INTERRUPTED (es_sql_interrupt), or an error of the store
 * (ES_CONFLICT, ES_REMOTE, ES_CORRUPT, ...). */
ES_API es_status es_sql_exec(es_sql_session *q, const char *sql, es_sql_result *out);

/** Run the next statement of `script` (its `len` bytes; a NUL terminator is not needed), the
 * one that starts at or after byte *offset, and set *offset past it (past its ';'), like
 * sqlite3_prepare's tail: stepping through a script of n bytes costs O(n) in all. Positions in
 * errors are relative to the whole script; the script must not change while a caller steps
 * through it. When only whitespace, comments and ';' remain, it returns ES_OK with out->kind ""
 * and *offset at the end. After a syntax error *offset is past the next ';' outside quotes (or
 * at the end), so a caller may go on with the statement after the bad one. Returns the codes of
 * es_sql_exec, and ES_INVALID when *offset > len or len > INT_MAX. */
ES_API es_status es_sql_exec_next(es_sql_session *q, const char *script, size_t len, size_t *offset,
                                  es_sql_result *out);

/** Called once per statement of a script with its text (NUL-terminated, from its first token to
 * its ';'; valid during the call) and its result, whose stream the callback may consume; the
 * stream is released after the callback returns. Return 0 to go on, non-zero to stop
 * (es_sql_exec_script then returns ES_OK). */
typedef int (*es_sql_callback)(void *arg, const char *statement, es_sql_result *result);
/** Run every statement of `sql` in order, stopping at the first error (whose line and column
 * are relative to the whole script), including an error of a result stream read by the
 * callback. cb may be NULL: row results are then discarded without being computed. Returns
 * ES_OK or the first error's code (see es_sql_exec). */
ES_API es_status es_sql_exec_script(es_sql_session *q, const char *sql, es_sql_callback cb,
                                    void *arg);

/** The session's last error, one line without its position ("" when none); valid until the
 * next call on the session. ES_OK and "" after a statement that succeeded. */
ES_API const char *es_sql_errmsg(const es_sql_session *q);
ES_API es_status es_sql_errcode(const es_sql_session *q);
/** 1-based line and column (in bytes) of the last error in the statement text (or script)
 * passed in, or 0 when the error has no position (an I/O error, say). */
ES_API int es_sql_errline(const es_sql_session *q);
ES_API int es_sql_errcol(const es_sql_session *q);

/** 1 when `sql` ends with a complete statement: its last token outside quotes and comments is
 * a ';' (like sqlite3_complete; for an interactive prompt deciding whether to read another
 * line). 0 otherwise, and for NULL or text longer than INT_MAX bytes. */
ES_API int es_sql_complete(const char *sql);

/** Format value i of a column (a validated view, e.g. a child of a result batch's view) as the
 * shell prints it: NULL as "NULL"; booleans true/false; integers in decimal; floats with up to
 * 15 significant digits and ".0" when integral (NaN, Inf, -Inf); decimals with their scale
 * ("-12.30"); dates "YYYY-MM-DD"; timestamps "YYYY-MM-DD HH:MM:SS[.ffffff]" in UTC, with
 * "+00" when the type has a time zone; strings as they are; binary as "\xHH" per byte.
 * Returns the text and sets *len: a pointer into the array's data for strings (not
 * NUL-terminated, any length), else into buf (NUL-terminated; text longer than cap - 1 bytes is
 * cut, binary at a whole "\xHH"). Returns "" with *len 0 when an argument is invalid (i out of
 * range, buf NULL or cap 0). */
ES_API const char *es_sql_format_value(const es_array_view *col, int64_t i, char *buf, size_t cap,
                                       int64_t *len);

/** The SQL type of an Arrow format string, as CREATE TABLE spells it ("BIGINT",
 * "DECIMAL(10,2)", "TIMESTAMP WITH TIME ZONE", ...), written NUL-terminated into buf. Returns
 * ES_OK, ES_UNSUPPORTED (a type SQL cannot read; buf gets "") or ES_INVALID (a NULL argument,
 * cap 0). */
ES_API es_status es_sql_type_name(char *buf, size_t cap, const char *arrow_format);

/** Write the rows of a record batch (a struct array matching `schema`, as a result stream
 * gives) to f as CSV, in the dialect of COPY ... TO: fields separated by `delim`, records by
 * "\n", values formatted as by es_sql_format_value, NULL as an empty field, strings and binary
 * quoted with '"' when empty or when they hold the delimiter, a quote, a newline, or leading or
 * trailing spaces. header: first write a line of the column names. batch may be NULL to write
 * only the header. Returns ES_OK, ES_INVALID (a NULL f or schema, a batch that does not
 * validate against the schema) or ES_IO (a write error of f). */
ES_API es_status es_sql_write_csv(FILE *f, const struct ArrowSchema *schema,
                                  const struct ArrowArray *batch, char delim, int header);

#ifdef __cplusplus
}
#endif

#endif /* EXPSTORE_SQL_H */
