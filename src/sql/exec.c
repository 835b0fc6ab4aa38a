/*
 * exec: running a parsed statement (see sql/sql.h for the files, sql/exec.h for the
 * interfaces): dispatch by statement kind to select.c, ddl.c, insert.c, copy.c and dml.c, and the
 * error record every stage reports into: a status, one line of message, and the 1-based line
 * and column of the offending token in the text the caller passed in, when there is one.
 * Above it: session.c, the public API.
 */
#include <pthread.h>
#include <stdarg.h>
#include <string.h>

#include "sql/exec.h"

/* Aggregation threads (select.c) may fail at the same time: one writes the record at a time. */
static pthread_mutex_t fail_mu = PTHREAD_MUTEX_INITIALIZER;

static int vfail(sql_exec *x, es_status code, int pos, const char *fmt, va_list ap)
{
    es_sql_session *s = x->s;
    if (!s)
        return -1;
    char msg[768];
    vsnprintf(msg, sizeof msg, fmt, ap);
    pthread_mutex_lock(&fail_mu);
    snprintf(s->err, sizeof s->err, "%s", msg);
    s->code = code;
    s->errline = s->errcol = 0;
    if (pos >= 0 && x->src) {
        /* The line and column of pos, counted from the start of src (offset base). */
        int l = x->line0, c = x->col0;
        for (int i = 0; i < pos - x->base && x->src[i]; i++) {
            if (x->src[i] == '\n') {
                l++;
                c = 1;
            } else {
                c++;
            }
        }
        s->errline = l;
        s->errcol = c;
    }
    pthread_mutex_unlock(&fail_mu);
    return -1;
}

int sql_fail(sql_exec *x, es_status code, int pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(x, code, pos, fmt, ap);
    va_end(ap);
    return -1;
}

int sql_err(sql_exec *x, int pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(x, ES_INVALID, pos, fmt, ap);
    va_end(ap);
    return -1;
}

int sql_oom(sql_exec *x)
{
    return sql_fail(x, ES_NOMEM, -1, "out of memory");
}

int sql_store_err(sql_exec *x, int pos)
{
    es_status code = es_store_errcode(x->s->store);
    return sql_fail(x, code != ES_OK ? code : ES_INTERNAL, pos, "%s", es_store_errmsg(x->s->store));
}

int sql_check_interrupt(sql_exec *x)
{
    if (!x->s || !__atomic_load_n(&x->s->interrupt, __ATOMIC_RELAXED))
        return 0;
    return sql_fail(x, ES_INTERRUPTED, -1, "interrupted");
}

const char *sql_stmt_kind_name(sql_stmt_kind k)
{
    switch (k) {
    case S_SELECT:
        return "SELECT";
    case S_EXPLAIN:
        return "EXPLAIN";
    case S_DESCRIBE:
        return "DESCRIBE";
    case S_SHOW_TABLES:
        return "SHOW TABLES";
    case S_CREATE:
        return "CREATE TABLE";
    case S_DROP:
        return "DROP TABLE";
    case S_CREATE_INDEX:
        return "CREATE INDEX";
    case S_DROP_INDEX:
        return "DROP INDEX";
    case S_INSERT:
    case S_UPSERT:
        return "INSERT";
    case S_DELETE:
        return "DELETE";
    case S_UPDATE:
        return "UPDATE";
    case S_TRUNCATE:
        return "TRUNCATE";
    case S_FLUSH:
        return "FLUSH";
    case S_SYNC:
        return "SYNC";
    case S_OPTIMIZE:
        return "OPTIMIZE";
    case S_VACUUM:
        return "VACUUM";
    case S_ALTER:
        return "ALTER TABLE";
    case S_COPY_FROM:
    case S_COPY_TO:
        return "COPY";
    case S_BEGIN:
        return "BEGIN";
    case S_COMMIT:
        return "COMMIT";
    case S_ROLLBACK:
        return "ROLLBACK";
    }
    return "";
}

static int run_stmt(sql_exec *x, sql_stmt *st, sql_cursor **cursor, int64_t *changes)
{
    switch (st->kind) {
    case S_SELECT:
        return sql_cursor_open(x, st->select, 0, cursor);
    case S_EXPLAIN:
        if (sql_cursor_open(x, st->select, 0, cursor) < 0)
            return -1;
        if (sql_cursor_explain(*cursor, st->analyze) < 0) {
            sql_cursor_close(*cursor);
            *cursor = NULL;
            return -1;
        }
        return 0;
    case S_CREATE:
        return sql_exec_create(x, st, changes);
    case S_DESCRIBE:
        return sql_exec_describe(x, st, cursor);
    case S_SHOW_TABLES:
        return sql_exec_show_tables(x, st, cursor);
    case S_DROP:
        return sql_exec_drop(x, st);
    case S_CREATE_INDEX:
    case S_DROP_INDEX:
        return sql_exec_index(x, st);
    case S_INSERT:
        return sql_exec_insert(x, st, changes);
    case S_COPY_FROM:
        return sql_exec_copy_from(x, st, changes);
    case S_COPY_TO:
        return sql_exec_copy_to(x, st, changes);
    case S_BEGIN:
    case S_COMMIT:
    case S_ROLLBACK:
        return sql_exec_txn(x, st);
    case S_UPSERT: /* insert.c builds the rows, dml.c upserts them */
        return sql_exec_insert(x, st, changes);
    case S_DELETE:
        return sql_exec_delete(x, st, changes);
    case S_UPDATE:
        return sql_exec_update(x, st, changes);
    case S_TRUNCATE:
        return sql_exec_truncate(x, st, changes);
    case S_FLUSH:
        return sql_exec_flush(x, st, changes);
    case S_SYNC:
        return sql_exec_sync(x, st);
    case S_OPTIMIZE:
        return sql_exec_optimize(x, st, changes);
    case S_VACUUM:
        return sql_exec_vacuum(x, st, changes);
    case S_ALTER:
        return sql_exec_alter(x, st);
    }
    return sql_fail(x, ES_INTERNAL, -1, "unknown statement");
}

/* As in PostgreSQL, a statement that fails inside a transaction aborts it: every statement but
 * ROLLBACK is refused until the transaction ends, and COMMIT rolls it back. */
int sql_run(sql_exec *x, sql_stmt *st, sql_cursor **cursor, int64_t *changes)
{
    *cursor = NULL;
    *changes = -1;
    es_store *s = x->s->store;
    int in_txn = es_txn_active(s, NULL);
    int ctl = st->kind == S_BEGIN || st->kind == S_COMMIT || st->kind == S_ROLLBACK;
    if (!in_txn)
        x->s->txn_failed = 0;
    if (in_txn && x->s->txn_failed && st->kind != S_ROLLBACK) {
        if (st->kind != S_COMMIT)
            return sql_fail(x, ES_INVALID, st->pos,
                            "the transaction was aborted by an earlier error: statements are "
                            "refused until ROLLBACK");
        es_txn_abort(s);
        x->s->txn_failed = 0;
        return sql_fail(x, ES_INVALID, st->pos,
                        "COMMIT: the transaction was aborted by an earlier error and has been "
                        "rolled back; nothing was committed");
    }
    int rc = run_stmt(x, st, cursor, changes);
    if (rc < 0 && in_txn && !ctl && es_txn_active(s, NULL))
        x->s->txn_failed = 1;
    if (!es_txn_active(s, NULL))
        x->s->txn_failed = 0;
    return rc;
}
