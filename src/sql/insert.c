/*
 * insert: INSERT INTO t [(columns)] VALUES (...), ... (see sql/sql.h for the files, sql/exec.h
 * for the interfaces). Each value is bound and evaluated as a constant, converted to its
 * column's type with the rules of CAST (string literals become dates and timestamps), checked
 * against NOT NULL, and built into one Arrow record batch that es_insert_batch commits
 * atomically: a failing row inserts nothing.
 */
#include <string.h>

#include "sql/exec.h"

/* Convert v to column type ty (for INSERT): same rules as CAST, plus a type check that names
 * the column. */
int sql_coerce(sql_exec *x, int pos, const char *col, const sql_typeinfo *ty, sql_vec *v)
{
    sql_typeinfo vt = v->ty;
    int ok = vt.t == SQL_NULL || vt.t == ty->t || (sql_is_num(vt.t) && sql_is_num(ty->t)) ||
             (vt.t == SQL_VARCHAR) || (sql_is_temporal(vt.t) && sql_is_temporal(ty->t)) ||
             (sql_is_str(ty->t) && sql_is_str(vt.t));
    if (!ok) {
        char a[64], b[64];
        sql_typeinfo_name(a, sizeof a, ty);
        sql_typeinfo_name(b, sizeof b, &vt);
        return sql_err(x, pos, "type error: column %s is %s, value is %s", col, a, b);
    }
    if (vt.t == ty->t && (vt.t != SQL_DECIMAL || vt.scale == ty->scale))
        return 0;
    sql_vec out;
    char sub[700];
    if (sql_cast_vec(x, pos, v, *ty, &out) < 0) {
        snprintf(sub, sizeof sub, "%.600s", x->s->err);
        /* The inner error without its position, or its text after the first ": ". */
        const char *m = x->s->errline ? NULL : strstr(sub, ": ");
        char a[64];
        sql_typeinfo_name(a, sizeof a, ty);
        return sql_err(x, pos, "column %s (%s): %s", col, a, m ? m + 2 : sub);
    }
    sql_vec_free(v);
    *v = out;
    return 0;
}

int sql_exec_insert(sql_exec *x, sql_stmt *st, int64_t *affected)
{
    sql_colinfo *cols = NULL;
    int ncols = 0, rc = -1;
    es_table_info info;
    memset(&info, 0, sizeof info);
    if (sql_describe(x, st->table, -1, st->pos, &cols, &ncols, &info) < 0)
        return -1;
    int *map = es_calloc((size_t)(ncols ? ncols : 1), sizeof(int)); /* column -> value index */
    sql_vec *vals = es_calloc((size_t)(ncols ? ncols : 1), sizeof(sql_vec));
    es_builder *bld = NULL;
    struct ArrowArray arr;
    memset(&arr, 0, sizeof arr);
    if (!map || !vals) {
        sql_oom(x);
        goto out;
    }
    int nv = st->nnames ? st->nnames : ncols;
    for (int c = 0; c < ncols; c++)
        map[c] = st->nnames ? -1 : c;
    for (int i = 0; i < st->nnames; i++) {
        int found = -1;
        for (int c = 0; c < ncols; c++)
            if (strcmp(cols[c].name, st->names[i]) == 0)
                found = c;
        if (found < 0) {
            sql_err(x, st->pos, "table %s has no column %s", st->table, st->names[i]);
            goto out;
        }
        if (map[found] >= 0) {
            sql_err(x, st->pos, "column %s listed twice", st->names[i]);
            goto out;
        }
        map[found] = i;
    }
    for (int c = 0; c < ncols; c++) {
        if (cols[c].ty.t == SQL_NULL) {
            sql_err(x, st->pos, "column %s has an unsupported type", cols[c].name);
            goto out;
        }
        if (map[c] < 0 && !cols[c].nullable) {
            sql_err(x, st->pos, "NOT NULL constraint failed: %s.%s (no value given)", st->table,
                    cols[c].name);
            goto out;
        }
    }
    /* Evaluate each VALUES row (constants: a one-row batch) and collect per column. */
    sql_plan dummy;
    memset(&dummy, 0, sizeof dummy);
    sql_batch one = {1, 0, NULL};
    for (int c = 0; c < ncols; c++) {
        sql_vec_init(&vals[c], cols[c].ty);
        if (sql_vec_reserve(&vals[c], st->nrows) < 0) {
            sql_oom(x);
            goto out;
        }
    }
    for (int r = 0; r < st->nrows; r++) {
        if (st->rowlen[r] != nv) {
            sql_err(x, st->rows[r][0]->pos, "%d values for %d columns", st->rowlen[r], nv);
            goto out;
        }
        for (int c = 0; c < ncols; c++) {
            if (map[c] < 0) {
                if (sql_vec_push_null(&vals[c]) < 0) {
                    sql_oom(x);
                    goto out;
                }
                continue;
            }
            sql_expr *e = st->rows[r][map[c]];
            if (sql_bind_expr(x, &dummy, e, 0) < 0)
                goto out;
            if (sql_is_temporal(cols[c].ty.t) && e->kind == E_STR &&
                sql_fold_temporal(x, e, cols[c].ty.t) < 0) {
                char tn[64];
                sql_typeinfo_name(tn, sizeof tn, &cols[c].ty);
                sql_err(x, e->pos, "column %s (%s): invalid value '%.60s'", cols[c].name, tn,
                        e->sval);
                goto out;
            }
            sql_vec v;
            if (sql_eval(x, e, &one, &v) < 0)
                goto out;
            if (sql_coerce(x, e->pos, cols[c].name, &cols[c].ty, &v) < 0) {
                sql_vec_free(&v);
                goto out;
            }
            if (v.nulls[0] && !cols[c].nullable) {
                sql_vec_free(&v);
                sql_err(x, e->pos, "NOT NULL constraint failed: %s.%s", st->table, cols[c].name);
                goto out;
            }
            v.ty = vals[c].ty;
            int arc = sql_vec_append(&vals[c], &v, NULL, 0);
            sql_vec_free(&v);
            if (arc < 0) {
                sql_oom(x);
                goto out;
            }
        }
    }
    /* Build the record batch with the table's schema and insert it atomically. */
    es_error e;
    if (es_builder_new(&bld, &info.schema, &e) != ES_OK) {
        sql_fail(x, e.code, -1, "%s", e.msg);
        goto out;
    }
    for (int c = 0; c < ncols; c++) {
        es_builder *cb = es_builder_child(bld, c);
        es_type at;
        es_type_parse(&at, info.schema.children[c]->format, NULL);
        if (es_builder_reserve(cb, st->nrows) != ES_OK) {
            sql_oom(x);
            goto out;
        }
        for (int64_t r = 0; r < st->nrows; r++) {
            if (sql_build_value(cb, &at, &vals[c], r) != ES_OK) {
                char b[64];
                int64_t l;
                const char *s = sql_vec_format(&vals[c], r, b, sizeof b, &l);
                sql_err(x, st->pos, "value %.*s does not fit column %s", (int)l, s, cols[c].name);
                goto out;
            }
        }
    }
    for (int64_t r = 0; r < st->nrows; r++)
        if (es_builder_append_struct(bld) != ES_OK) {
            sql_oom(x);
            goto out;
        }
    if (es_builder_finish(bld, &arr, &e) != ES_OK) {
        sql_fail(x, e.code, -1, "%s", e.msg);
        goto out;
    }
    if (st->kind == S_UPSERT) { /* ON CONFLICT, OR REPLACE, OR IGNORE: dml.c */
        rc = sql_exec_upsert(x, st, &info, cols, ncols, &arr, affected);
        goto out;
    }
    if (es_insert_batch(x->s->store, st->table, &info.schema, &arr) != ES_OK) {
        sql_store_err(x, st->pos);
        goto out;
    }
    *affected = st->nrows;
    rc = 0;
out:
    es_array_release(&arr);
    es_builder_free(bld);
    for (int c = 0; vals && c < ncols; c++)
        sql_vec_free(&vals[c]);
    es_free(vals);
    es_free(map);
    for (int c = 0; c < ncols; c++)
        es_free(cols[c].name);
    es_free(cols);
    es_table_info_reset(&info);
    return rc;
}
