/*
 * exec: running a parsed statement (see sql/sql.h for the files, sql/exec.h for the
 * interfaces): dispatch by statement kind to select.c, ddl.c, insert.c and copy.c, and the
 * error record every stage reports into (one line, prefixed with the 1-based line and column
 * of the offending token when there is one).
 */
#include <stdarg.h>
#include <string.h>

#include "sql/exec.h"

int sql_err(sql_exec *x, int pos, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    x->s->errpos = x->src ? pos : -1;
    if (pos >= 0 && x->src) {
        int line, col;
        sql_line_col(x->src, pos, &line, &col);
        snprintf(x->s->err, sizeof x->s->err, "%d:%d: %s", line, col, msg);
    } else {
        snprintf(x->s->err, sizeof x->s->err, "%s", msg);
    }
    return -1;
}

int sql_oom(sql_exec *x)
{
    return sql_err(x, -1, "out of memory");
}

int sql_execute(sql_session *s, const char *src, sql_stmt *st, sql_result *res)
{
    sql_exec x = {s, src};
    memset(res, 0, sizeof *res);
    res->nrows = -1;
    s->err[0] = 0;
    s->errpos = -1;
    switch (st->kind) {
    case S_SELECT:
        return sql_exec_select(&x, st->select, res, 0);
    case S_EXPLAIN:
        return sql_exec_select(&x, st->select, res, 1);
    case S_CREATE:
        return sql_exec_create(&x, st);
    case S_DROP:
        return sql_exec_drop(&x, st);
    case S_INSERT:
        return sql_exec_insert(&x, st, &res->nrows);
    case S_COPY_FROM:
        return sql_exec_copy_from(&x, st, &res->nrows);
    case S_COPY_TO:
        return sql_exec_copy_to(&x, st, &res->nrows);
    }
    return sql_err(&x, -1, "unknown statement");
}
