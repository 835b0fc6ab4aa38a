/*
 * session: the public SQL API (include/expstore/sql.h), the top of the SQL layer (see sql/sql.h
 * for the files). A session parses one statement at a time (parse.c) into an arena, runs it
 * (exec.c) and hands out its rows as an ArrowArrayStream over a cursor (select.c) that then owns
 * the statement's arena and a copy of its text. The session keeps the last error: a status,
 * one line of message, and the line and column in the caller's text.
 */
#include <limits.h>
#include <string.h>

#include "expstore/sql.h"
#include "sql/exec.h"
#include "table/table.h" /* es_store_speculate_begin */

es_status es_sql_session_open(es_sql_session **out, es_store *store)
{
    if (!out)
        return ES_INVALID;
    *out = NULL;
    if (!store)
        return ES_INVALID;
    es_sql_session *q = es_calloc(1, sizeof *q);
    if (!q)
        return ES_NOMEM;
    q->store = store;
    *out = q;
    return ES_OK;
}

void es_sql_session_close(es_sql_session *q)
{
    if (!q)
        return;
    if (q->open)
        sql_cursor_orphan(q->open);
    es_free(q);
}

void es_sql_session_set_progress(es_sql_session *q, es_sql_progress_callback cb, void *arg)
{
    if (!q)
        return;
    q->progress = cb;
    q->progress_arg = cb ? arg : NULL;
}

void es_sql_result_reset(es_sql_result *r)
{
    if (!r)
        return;
    es_stream_release(&r->stream);
    es_sql_result init = ES_SQL_RESULT_INIT;
    *r = init;
}

const char *es_sql_errmsg(const es_sql_session *q)
{
    return q ? q->err : "";
}

es_status es_sql_errcode(const es_sql_session *q)
{
    return q ? q->code : ES_INVALID;
}

int es_sql_errline(const es_sql_session *q)
{
    return q ? q->errline : 0;
}

int es_sql_errcol(const es_sql_session *q)
{
    return q ? q->errcol : 0;
}

int es_sql_complete(const char *sql)
{
    if (!sql)
        return 0;
    size_t n = strlen(sql);
    return n <= INT_MAX && sql_is_complete(sql, (int)n);
}

void es_sql_interrupt(es_sql_session *q)
{
    if (!q)
        return;
    __atomic_store_n(&q->interrupt, 1, __ATOMIC_RELAXED);
    es_store_interrupt(q->store);
}

/* A statement starts: forget an earlier es_sql_interrupt (of the session and of its store). */
static void clear_interrupt(es_sql_session *q)
{
    __atomic_store_n(&q->interrupt, 0, __ATOMIC_RELAXED);
    es_store_clear_interrupt(q->store);
}

/* ------------------------------------------------------------ statements */

/* An error at byte pos of the caller's text (-1: none), as seen from x. Returns code. */
static es_status fail(sql_exec *x, es_status code, int pos, const char *msg)
{
    sql_fail(x, code, pos, "%s", msg);
    return code;
}

/* Start a call: out is reset, the error cleared; refused while a stream is open. */
static es_status begin(es_sql_session *q, const char *script, es_sql_result *out)
{
    if (!q || !out)
        return ES_INVALID;
    es_sql_result init = ES_SQL_RESULT_INIT;
    *out = init;
    q->code = ES_OK;
    q->err[0] = 0;
    q->errline = q->errcol = 0;
    sql_exec x = {q, NULL, 0, 1, 1, 0, 0, 0};
    if (!script)
        return fail(&x, ES_INVALID, -1, "no SQL text (NULL)");
    if (q->open)
        return fail(&x, ES_INVALID, -1,
                    "the session's result stream is still open: release it first");
    return ES_OK;
}

/* The context of a statement of `script` (len bytes) parsed from byte `off`: its line and
 * column are counted on from where the previous call stopped when it walks the same script
 * forward, so that stepping through a script costs O(its length). */
static sql_exec context(es_sql_session *q, const char *script, size_t len, int off)
{
    int i = 0, l = 1, c = 1;
    if (q->walk_text == script && q->walk_len == len && off >= q->walk_off) {
        i = q->walk_off;
        l = q->walk_line;
        c = q->walk_col;
    }
    for (; i < off; i++) {
        if (script[i] == '\n') {
            l++;
            c = 1;
        } else {
            c++;
        }
    }
    q->walk_text = script;
    q->walk_len = len;
    q->walk_off = off;
    q->walk_line = l;
    q->walk_col = c;
    sql_exec x = {q, script + off, off, l, c, 0, 0, 0};
    return x;
}

/* Parse the statement of script (n bytes) at or after *pos into arena. 1 with *st, 0 when only
 * whitespace and comments are left, -1 on a syntax error (recorded through x). */
static int parse(sql_exec *x, const char *script, int n, int *pos, sql_arena *arena, sql_stmt **st)
{
    sql_parse_error perr;
    int rc = sql_parse_one(arena, script, n, pos, st, &perr);
    if (rc < 0) {
        fail(x, strcmp(perr.msg, "out of memory") == 0 ? ES_NOMEM : ES_INVALID, perr.pos, perr.msg);
        return -1;
    }
    return rc == 1 ? 0 : 1;
}

/* Run a parsed statement into out; a result stream takes the arena. */
static es_status run_once(sql_exec *x, sql_stmt *st, sql_arena *arena, es_sql_result *out)
{
    es_sql_session *q = x->s;
    sql_cursor *c;
    int64_t changes;
    out->kind = sql_stmt_kind_name(st->kind);
    if (sql_check_interrupt(x) < 0)
        return ES_INTERRUPTED;
    if (sql_run(x, st, &c, &changes) < 0)
        return q->code != ES_OK ? q->code : ES_INTERNAL;
    out->changes = changes;
    if (c) {
        if (sql_cursor_keep(c, arena, st->pos, st->end) < 0) {
            sql_cursor_close(c);
            return q->code;
        }
        sql_cursor_stream(c, &out->stream);
        out->has_rows = 1;
        q->open = c;
    }
    return ES_OK;
}

/* run_once; a SELECT (or EXPLAIN ANALYZE; EXPLAIN reads no data) of a table binds and opens
 * its scan while the store's read refresh is in flight (es_store_speculate_begin: the
 * refresh's round trip shared with the scan's first requests). COPY (SELECT ...) TO too, which
 * waits for the refresh (sql_spec_end) after opening its scan and before creating its file. When
 * that refresh finds a newer version, what ran is dropped and the statement is parsed again
 * (binding annotates the tree) and run after a plain refresh. */
int sql_spec_end(sql_exec *x)
{
    if (!x->spec)
        return 0;
    x->spec = 0;
    x->respec = es_store_speculate_end(x->s->store);
    return x->respec;
}

static es_status run(sql_exec *x, sql_stmt *st, sql_arena *arena, es_sql_result *out)
{
    es_sql_session *q = x->s;
    int spec =
        (st->kind == S_SELECT || (st->kind == S_EXPLAIN && st->analyze) || st->kind == S_COPY_TO) &&
        st->select && st->select->table && st->select->as_of < 0 && !st->select->as_of_time &&
        es_store_speculate_begin(q->store);
    int pos = st->pos, end = st->end;
    x->spec = spec;
    x->respec = 0;
    es_status rc = run_once(x, st, arena, out);
    sql_spec_end(x); /* (COPY ... TO ended it before writing) */
    if (!x->respec)
        return rc;
    es_sql_result_reset(out);
    q->code = ES_OK;
    q->err[0] = 0;
    q->errline = q->errcol = 0;
    sql_arena again = {0};
    sql_stmt *st2 = NULL;
    sql_parse_error perr;
    if (sql_parse_one(&again, x->src - x->base, end, &pos, &st2, &perr) != 0)
        rc = fail(x, ES_INTERNAL, -1, "a statement parsed once does not parse again");
    else
        rc = run_once(x, st2, &again, out);
    sql_arena_reset(&again);
    return rc;
}

/* es_sql_exec_next, reporting where the statement's text starts and ends (both 0 when there
 * was none). */
static es_status exec_next(es_sql_session *q, const char *script, size_t len, size_t *offset,
                           es_sql_result *out, int *start, int *end)
{
    *start = *end = 0;
    es_status rc = begin(q, script, out);
    if (rc != ES_OK)
        return rc;
    sql_exec none = {q, NULL, 0, 1, 1, 0, 0, 0};
    if (len > INT_MAX)
        return fail(&none, ES_INVALID, -1, "SQL text longer than 2 GiB");
    if (!offset || *offset > len)
        return fail(&none, ES_INVALID, -1, "offset out of range");
    int pos = (int)*offset;
    sql_exec x = context(q, script, len, pos);
    sql_arena arena = {0};
    sql_stmt *st = NULL;
    int got = parse(&x, script, (int)len, &pos, &arena, &st);
    *offset = (size_t)pos;
    if (got > 0) {
        *start = st->pos;
        *end = st->end;
        rc = run(&x, st, &arena, out);
    } else {
        rc = got < 0 ? q->code : ES_OK;
    }
    sql_arena_reset(&arena);
    return rc;
}

es_status es_sql_exec_next(es_sql_session *q, const char *script, size_t len, size_t *offset,
                           es_sql_result *out)
{
    int start, end;
    if (q && !q->open)
        clear_interrupt(q);
    return exec_next(q, script, len, offset, out, &start, &end);
}

es_status es_sql_exec(es_sql_session *q, const char *sql, es_sql_result *out)
{
    if (q && !q->open)
        clear_interrupt(q);
    es_status rc = begin(q, sql, out);
    if (rc != ES_OK)
        return rc;
    sql_exec x = {q, sql, 0, 1, 1, 0, 0, 0};
    size_t len = strlen(sql);
    if (len > INT_MAX)
        return fail(&x, ES_INVALID, -1, "SQL text longer than 2 GiB");
    int n = (int)len, pos = 0;
    sql_arena arena = {0};
    sql_stmt *st = NULL;
    int got = parse(&x, sql, n, &pos, &arena, &st);
    if (got <= 0) {
        sql_arena_reset(&arena);
        return got < 0 ? q->code : fail(&x, ES_INVALID, -1, "no statement");
    }
    /* Only ';' may follow. */
    for (;;) {
        sql_token t;
        sql_parse_error perr;
        int next = sql_lex(sql, n, pos, &t, &perr);
        if (next >= 0 && t.kind == SQL_T_EOF)
            break;
        if (next >= 0 && t.kind == SQL_T_OP && strcmp(t.op, ";") == 0) {
            pos = next;
            continue;
        }
        out->kind = sql_stmt_kind_name(st->kind);
        sql_arena_reset(&arena);
        return fail(&x, ES_INVALID, next >= 0 ? t.pos : perr.pos,
                    "a second statement: es_sql_exec runs one (es_sql_exec_script runs several)");
    }
    rc = run(&x, st, &arena, out);
    sql_arena_reset(&arena);
    return rc;
}

es_status es_sql_exec_script(es_sql_session *q, const char *sql, es_sql_callback cb, void *arg)
{
    size_t offset = 0, len = sql ? strlen(sql) : 0;
    if (q && !q->open)
        clear_interrupt(q);
    for (;;) {
        es_sql_result r = ES_SQL_RESULT_INIT;
        int start, end;
        es_status rc = exec_next(q, sql, len, &offset, &r, &start, &end);
        if (rc != ES_OK || r.kind[0] == 0) {
            es_sql_result_reset(&r);
            return rc;
        }
        int stop = 0;
        if (cb) {
            char *text = es_malloc((size_t)(end - start + 1));
            if (!text) {
                es_sql_result_reset(&r);
                sql_exec none = {q, NULL, 0, 1, 1, 0, 0, 0};
                return fail(&none, ES_NOMEM, -1, "out of memory");
            }
            memcpy(text, sql + start, (size_t)(end - start));
            text[end - start] = 0;
            stop = cb(arg, text, &r);
            es_free(text);
        }
        es_sql_result_reset(&r);
        /* A result stream that failed in the callback stops the script with its error. */
        if (q->code != ES_OK)
            return q->code;
        if (stop)
            return ES_OK;
    }
}
