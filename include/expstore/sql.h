/*
 * Exp Store SQL API: run SQL statements on a store and get Arrow back.
 *
 * A session (es_sql_session) is bound to one open es_store. It runs one statement at a time
 * (es_sql_exec) or a whole script (es_sql_exec_script); a statement that returns rows (SELECT,
 * EXPLAIN, DESCRIBE, ...) gives an ArrowArrayStream whose schema has the result's column names
 * and Arrow types and whose batches are produced as the consumer pulls them. A session is also
 * where transaction state lives.
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
 * Thread safety: a session may be used by one thread at a time, and shares its store handle's
 * rule (one thread at a time per es_store). While a result's stream is open the session may not
 * run another statement (ES_INVALID): release the stream (or es_sql_result_reset) first.
 */
#ifndef EXPSTORE_SQL_H
#define EXPSTORE_SQL_H

#include "expstore/expstore.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct es_sql_session es_sql_session;

/** Open a session on `store` (borrowed: it must outlive the session). ES_NOMEM or ES_INVALID
 * (a NULL argument); on failure *out is NULL. */
ES_API es_status es_sql_session_open(es_sql_session **out, es_store *store);
/** Close a session (NULL is accepted). An open result stream must be released first. */
ES_API void es_sql_session_close(es_sql_session *q);

/** What one statement produced. */
typedef struct es_sql_result {
    /** Rows, for statements that return them (has_rows = 1): the schema names the columns and
     * gives their Arrow types; batches are built on demand. The caller releases it (or calls
     * es_sql_result_reset). Otherwise stream.release is NULL. */
    struct ArrowArrayStream stream;
    int has_rows;
    /** Rows inserted, copied, deleted or updated by a statement that changes data; -1 when
     * the statement has no such count (DDL, SELECT). */
    int64_t changes;
    /** The statement's kind in upper case ("SELECT", "INSERT", "CREATE TABLE", ...); a static
     * string. */
    const char *kind;
} es_sql_result;
#define ES_SQL_RESULT_INIT                                                                         \
    {                                                                                              \
        {0}, 0, -1, ""                                                                             \
    }
/** Release the result's stream if it is open and reset the struct to ES_SQL_RESULT_INIT. */
ES_API void es_sql_result_reset(es_sql_result *r);

/** Run exactly one statement (a trailing ';' and comments are allowed; a second statement is
 * ES_INVALID). On success *out describes what it produced; on failure out->stream.release is
 * NULL and the session's error (es_sql_errmsg, es_sql_errline/errcol) says what and where.
 * Returns ES_OK, ES_INVALID (syntax, binding, type and constraint errors), ES_NOT_FOUND (no
 * such table), ES_EXISTS, ES_CONFLICT, or an error of the store (ES_IO, ES_REMOTE,
 * ES_CORRUPT, ...). */
ES_API es_status es_sql_exec(es_sql_session *q, const char *sql, es_sql_result *out);

/** Called once per statement of a script with its result (whose stream the callback may
 * consume; it is released after the callback returns). Return 0 to go on, non-zero to stop
 * (es_sql_exec_script then returns ES_OK). */
typedef int (*es_sql_callback)(void *arg, const char *statement, es_sql_result *result);
/** Run every statement of `sql` in order, stopping at the first error (whose line and column
 * are relative to the whole script). cb may be NULL: row results are then discarded. */
ES_API es_status es_sql_exec_script(es_sql_session *q, const char *sql, es_sql_callback cb,
                                    void *arg);

/** The session's last error, one line ("" when none); valid until the next call. */
ES_API const char *es_sql_errmsg(const es_sql_session *q);
ES_API es_status es_sql_errcode(const es_sql_session *q);
/** 1-based line and column of the last error in the statement text (or script) passed in, or
 * 0 when the error has no position (an I/O error, say). */
ES_API int es_sql_errline(const es_sql_session *q);
ES_API int es_sql_errcol(const es_sql_session *q);

#ifdef __cplusplus
}
#endif

#endif /* EXPSTORE_SQL_H */
