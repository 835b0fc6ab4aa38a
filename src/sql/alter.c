/*
 * alter: ALTER TABLE (see sql/sql.h for the files, sql/exec.h for the interfaces), one
 * es_table_alter per statement: ADD [COLUMN] c type [DEFAULT constant] [NOT NULL] (the
 * constant is evaluated and converted as an INSERT value of the column's type is, then passed
 * as a one-row Arrow array), DROP [COLUMN], RENAME [COLUMN] a TO b, RENAME TO u,
 * ALTER [COLUMN] c [SET DATA] TYPE type (a widening), ALTER [COLUMN] c SET / DROP NOT NULL.
 * The table and the column the statement names are looked up first, for errors that suggest
 * the names meant (as a query's are); the library checks everything else and names the table
 * and column in its errors, whose Arrow type names a failed widening gets in SQL's words.
 */
#include <string.h>

#include "sql/exec.h"

int sql_default_append(sql_exec *x, sql_expr *e, const sql_coldef *c, es_builder *b,
                       const char *format)
{
    sql_vec v;
    es_type at;
    es_error err;
    if (es_type_parse(&at, format, &err) != ES_OK)
        return sql_fail(x, err.code, -1, "%s", err.msg);
    if (sql_const_value(x, e, c->name, &c->ty, &v) < 0)
        return -1;
    int rc = 0;
    if (sql_build_value(b, &at, &v, 0) != ES_OK)
        rc = sql_err(x, e->pos, "the default does not fit column %s", c->name);
    sql_vec_free(&v);
    return rc;
}

/* The DEFAULT constant of ADD COLUMN as a one-row array of the column's Arrow type. */
static int default_array(sql_exec *x, sql_stmt *st, const struct ArrowSchema *field,
                         struct ArrowArray *out)
{
    es_error e;
    es_builder *b = NULL;
    int rc = 0;
    if (es_builder_new(&b, field, &e) != ES_OK)
        rc = sql_fail(x, e.code, -1, "%s", e.msg);
    else if ((rc = sql_default_append(x, st->where, &st->cols[0], b, field->format)) == 0 &&
             es_builder_finish(b, out, &e) != ES_OK)
        rc = sql_fail(x, e.code, -1, "%s", e.msg);
    es_builder_free(b);
    return rc;
}

/* A widening the library refused ("table 't': column 'c' (int32) cannot become int16: why")
 * in SQL's type names. -1. */
static int widen_error(sql_exec *x, sql_stmt *st, const sql_colinfo *col, const char *msg)
{
    const char *why = strstr(msg, ") cannot become ");
    why = why ? strstr(why + 16, ": ") : NULL;
    char from[64], to[64], fmt[32];
    sql_type_to_arrow(fmt, sizeof fmt, &col->ty);
    if (!why || es_sql_type_name(from, sizeof from, fmt) != ES_OK)
        return sql_store_err(x, st->pos);
    sql_type_to_arrow(fmt, sizeof fmt, &st->cols[0].ty);
    if (es_sql_type_name(to, sizeof to, fmt) != ES_OK)
        return sql_store_err(x, st->pos);
    return sql_fail(x, ES_INVALID, st->pos, "table '%s': column '%s' (%s) cannot become %s: %s",
                    st->table, col->name, from, to, why + 2);
}

int sql_exec_alter(sql_exec *x, sql_stmt *st)
{
    es_alter op = ES_ALTER_INIT;
    struct ArrowSchema field = {0};
    struct ArrowArray def = {0};
    char fmt[32];
    es_error e;
    int rc = 0, c = -1;
    sql_colinfo *cols = NULL;
    int ncols = 0;
    if (sql_describe(x, st->table, -1, st->table_pos, &cols, &ncols, NULL) < 0)
        return -1;
    if (st->column && st->alter != ES_ALTER_ADD_COLUMN) {
        c = 0;
        while (c < ncols && strcmp(cols[c].name, st->column) != 0)
            c++;
        if (c == ncols)
            rc = sql_no_column(x, st->pos, st->table, st->column, cols, ncols);
    }
    op.kind = (es_alter_kind)st->alter;
    op.column = st->column;
    op.new_name = st->new_name;
    if (rc < 0) {
        /* the column is not there */
    } else if (st->alter == ES_ALTER_SET_TYPE) {
        sql_type_to_arrow(fmt, sizeof fmt, &st->cols[0].ty);
        op.type = fmt;
    } else if (st->alter == ES_ALTER_ADD_COLUMN) {
        sql_type_to_arrow(fmt, sizeof fmt, &st->cols[0].ty);
        if (es_schema_init(&field, fmt, st->cols[0].name,
                           st->cols[0].not_null ? 0 : ARROW_FLAG_NULLABLE, &e) != ES_OK) {
            rc = sql_fail(x, e.code, -1, "%s", e.msg);
        } else {
            op.field = &field;
            if (st->where && (rc = default_array(x, st, &field, &def)) == 0)
                op.default_value = &def;
        }
    }
    if (rc == 0 && es_table_alter(x->s->store, st->table, &op, NULL) != ES_OK) {
        if (es_store_errcode(x->s->store) == ES_NOT_FOUND &&
            strncmp(es_store_errmsg(x->s->store), "no table", 8) == 0)
            rc = sql_no_table(x, st->table_pos, st->table);
        else if (st->alter == ES_ALTER_SET_TYPE && es_store_errcode(x->s->store) == ES_INVALID)
            rc = widen_error(x, st, &cols[c], es_store_errmsg(x->s->store));
        else
            rc = sql_store_err(x, st->pos);
    }
    for (int i = 0; i < ncols; i++)
        es_free(cols[i].name);
    es_free(cols);
    es_array_release(&def);
    es_schema_release(&field);
    return rc;
}
