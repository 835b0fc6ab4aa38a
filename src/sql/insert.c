/*
 * insert: INSERT INTO t [(columns)] VALUES (...), ... (see sql/sql.h for the files, sql/exec.h
 * for the interfaces). Each value is bound and evaluated as a constant, converted to its
 * column's type with the rules of CAST (string literals become dates and timestamps), checked
 * against NOT NULL, and built into one Arrow record batch that es_insert_batch commits
 * atomically: a failing row inserts nothing. INSERT INTO t [(columns)] SELECT ... streams the
 * SELECT's cursor into es_insert (one atomic insert of all its batches), converting each batch
 * to the table's types with the same rules.
 */
#include <errno.h>
#include <string.h>

#include "sql/exec.h"
#include "table/evolve.h"
#include "table/table.h"

/* Convert v to column type ty (for INSERT): the conversions of CAST (sql_cast_vec, value.c),
 * plus a type check that names the column; strings must be well-formed UTF-8. */
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
    if (vt.t == SQL_VARCHAR && ty->t == SQL_VARCHAR) {
        for (int64_t r = 0; r < v->n; r++) {
            int64_t len, at;
            const char *p = sql_vec_str(v, r, &len);
            if (!v->nulls[r] && (at = sql_utf8_check(p, len)) >= 0)
                return sql_err(x, pos, "column %s (VARCHAR): invalid UTF-8 at byte %lld", col,
                               (long long)at + 1);
        }
        return 0;
    }
    if (vt.t == ty->t &&
        (vt.t != SQL_DECIMAL || (vt.scale == ty->scale && vt.precision <= ty->precision)))
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

int sql_const_value(sql_exec *x, sql_expr *e, const char *col, const sql_typeinfo *ty, sql_vec *out)
{
    /* A literal (the usual value) binds without reading the plan's columns: the zero plan, not
     * a cleared copy of one (some KB) per value. */
    static sql_plan literal_plan;
    sql_plan dummy, *p = &literal_plan;
    if (e->kind != E_INT && e->kind != E_DBL && e->kind != E_STR && e->kind != E_NULL &&
        e->kind != E_BOOL) {
        memset(&dummy, 0, sizeof dummy);
        p = &dummy;
    }
    sql_batch one = {.n = 1};
    if (sql_bind_expr(x, p, e, 0) < 0)
        return -1;
    if (sql_is_temporal(ty->t) && e->kind == E_STR && sql_fold_temporal(x, e, ty->t) < 0) {
        char tn[64];
        sql_typeinfo_name(tn, sizeof tn, ty);
        return sql_err(x, e->pos, "column %s (%s): invalid value '%.60s'", col, tn, e->sval);
    }
    if (e->kind == E_DBL && e->sval && sql_is_num(ty->t) && ty->t != SQL_BOOL) {
        /* A numeric literal converts from its exact text (1.7 -> 2, no double between). */
        sql_typeinfo vt = {SQL_VARCHAR, 0, 0};
        sql_vec_init(out, vt);
        if (sql_vec_push_str(out, e->sval, e->slen) < 0) {
            sql_vec_free(out);
            return sql_oom(x);
        }
    } else if (sql_eval(x, e, &one, out) < 0) {
        return -1;
    }
    if (sql_coerce(x, e->pos, col, ty, out) < 0) {
        sql_vec_free(out);
        return -1;
    }
    return 0;
}

int sql_column_list(sql_exec *x, const sql_stmt *st, const sql_colinfo *cols, int ncols, int *map)
{
    for (int c = 0; c < ncols; c++)
        map[c] = st->nnames ? -1 : c;
    for (int i = 0; i < st->nnames; i++) {
        int found = -1;
        for (int c = 0; c < ncols; c++)
            if (strcmp(cols[c].name, st->names[i]) == 0)
                found = c;
        if (found < 0)
            return sql_no_column(x, st->pos, st->table, st->names[i], cols, ncols);
        if (map[found] >= 0)
            return sql_err(x, st->pos, "column %s listed twice", st->names[i]);
        map[found] = i;
    }
    return 0;
}

/* 1 when every column has a value (map[c] >= 0). */
static int given_all(const int *map, int ncols)
{
    for (int c = 0; c < ncols; c++)
        if (map[c] < 0)
            return 0;
    return 1;
}

/* The table of an upsert that leaves columns out, whose defaults fill them as a plain INSERT's
 * are filled by the library (*t: es_tabledef_unref). */
static int upsert_table(sql_exec *x, sql_stmt *st, int ncols, es_tabledef **t)
{
    es_error e;
    if (es_store_table(t, x->s->store, st->table, -1, &e) != ES_OK)
        return sql_fail(x, e.code, st->pos, "%s", e.msg);
    if ((*t)->n_cols != ncols) /* altered since it was described */
        return sql_fail(x, ES_CONFLICT, st->pos, "table %s changed: try again", st->table);
    return 0;
}

int sql_exec_insert(sql_exec *x, sql_stmt *st, int64_t *affected)
{
    if (st->select && st->kind == S_UPSERT) /* rather than a plain insert's duplicate key */
        return sql_fail(x, ES_UNSUPPORTED, st->pos,
                        "INSERT OR REPLACE, INSERT OR IGNORE and REPLACE INTO take VALUES, not a "
                        "SELECT");
    if (st->select) {
        sql_cursor *c;
        if (sql_cursor_open(x, st->select, 0, &c) < 0)
            return -1;
        int rc = sql_insert_cursor(x, st, c, affected);
        sql_cursor_close(c);
        return rc;
    }
    sql_colinfo *cols = NULL;
    int ncols = 0, rc = -1;
    es_table_info info;
    memset(&info, 0, sizeof info);
    if (sql_describe(x, st->table, -1, st->table_pos, &cols, &ncols, &info) < 0)
        return -1;
    int *map = es_calloc((size_t)(ncols ? ncols : 1), sizeof(int)); /* column -> value index */
    sql_vec *vals = es_calloc((size_t)(ncols ? ncols : 1), sizeof(sql_vec));
    es_builder *bld = NULL;
    struct ArrowArray arr;
    struct ArrowSchema sub = {0}; /* the columns given, when some are left out */
    int given = 0;
    es_tabledef *def_t = NULL; /* an upsert's table: the defaults of the columns left out */
    memset(&arr, 0, sizeof arr);
    if (!map || !vals) {
        sql_oom(x);
        goto out;
    }
    int nv = st->nnames ? st->nnames : ncols;
    if (sql_column_list(x, st, cols, ncols, map) < 0)
        goto out;
    if (st->kind == S_UPSERT && given_all(map, ncols) == 0 &&
        upsert_table(x, st, ncols, &def_t) < 0)
        goto out;
    for (int c = 0; c < ncols; c++) {
        if (cols[c].ty.t == SQL_NULL) {
            sql_err(x, st->pos, "column %s has an unsupported type", cols[c].name);
            goto out;
        }
        if (map[c] < 0 && !cols[c].nullable && st->kind == S_UPSERT && !def_t->cols[c].def) {
            sql_err(x, st->pos, "NOT NULL constraint failed: %s.%s (no value given)", st->table,
                    cols[c].name);
            goto out;
        }
        given += map[c] >= 0;
    }
    /* A plain INSERT that leaves columns out sends only the others: the library fills each
     * with its default (ALTER TABLE ... ADD COLUMN ... DEFAULT) or NULL, and refuses a NOT NULL
     * column without default. */
    if (given < ncols && st->kind != S_UPSERT) {
        es_error se;
        if (es_schema_init_struct(&sub, given, &se) != ES_OK) {
            sql_fail(x, se.code, -1, "%s", se.msg);
            goto out;
        }
        for (int c = 0, k = 0; c < ncols; c++)
            if (map[c] >= 0 &&
                es_schema_copy(sub.children[k++], info.schema.children[c], &se) != ES_OK) {
                sql_fail(x, se.code, -1, "%s", se.msg);
                goto out;
            }
    }
    const struct ArrowSchema *bschema = sub.release ? &sub : &info.schema;
    /* Evaluate each VALUES row (constants: a one-row batch) and collect per column. */
    for (int c = 0; c < ncols; c++) {
        sql_vec_init(&vals[c], cols[c].ty);
        if (sql_vec_reserve(&vals[c], st->nrows) < 0) {
            sql_oom(x);
            goto out;
        }
    }
    for (int r = 0; r < st->nrows; r++) {
        if (st->rowlen[r] != nv) {
            /* In SQLite's and DuckDB's words. */
            if (st->nnames)
                sql_err(x, st->rows[r][0]->pos, "%d value%s for %d column%s", st->rowlen[r],
                        st->rowlen[r] == 1 ? "" : "s", nv, nv == 1 ? "" : "s");
            else
                sql_err(x, st->rows[r][0]->pos, "table %s has %d column%s but %d value%s given",
                        st->table, nv, nv == 1 ? "" : "s", st->rowlen[r],
                        st->rowlen[r] == 1 ? " was" : "s were");
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
            sql_vec v;
            if (sql_const_value(x, e, cols[c].name, &cols[c].ty, &v) < 0)
                goto out;
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
    if (es_builder_new(&bld, bschema, &e) != ES_OK) {
        sql_fail(x, e.code, -1, "%s", e.msg);
        goto out;
    }
    for (int c = 0, k = 0; c < ncols; c++) {
        if (sub.release && map[c] < 0)
            continue;
        es_builder *cb = es_builder_child(bld, k++);
        es_type at;
        es_type_parse(&at, info.schema.children[c]->format, NULL);
        if (es_builder_reserve(cb, st->nrows) != ES_OK) {
            sql_oom(x);
            goto out;
        }
        if (map[c] < 0 && def_t) { /* an upsert leaving the column out: its default */
            if (es_column_append_default(cb, &def_t->cols[c], st->nrows) != ES_OK) {
                sql_oom(x);
                goto out;
            }
            continue;
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
    if (es_insert_batch(x->s->store, st->table, bschema, &arr) != ES_OK) {
        sql_store_err(x, st->pos);
        goto out;
    }
    *affected = st->nrows;
    rc = 0;
out:
    es_tabledef_unref(def_t);
    es_array_release(&arr);
    es_schema_release(&sub);
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

/* ------------------------------------------------------------ INSERT ... SELECT */

/* The rows of a cursor converted to the table's schema, as the stream es_insert consumes. */
typedef struct ins_stream {
    sql_exec *x;
    sql_cursor *c;
    const sql_stmt *st;
    const es_table_info *info;
    const sql_colinfo *cols;
    int ncols;
    const int *map;          /* table column -> cursor column, or -1 */
    const sql_typeinfo *src; /* cursor columns' types */
    int64_t rows;
    int failed; /* the session holds the error */
} ins_stream;

static int ins_get_schema(struct ArrowArrayStream *s, struct ArrowSchema *out)
{
    ins_stream *is = s->private_data;
    if (es_schema_copy(out, &is->info->schema, NULL) == ES_OK)
        return 0;
    is->failed = 1; /* the session says why */
    sql_oom(is->x);
    return ENOMEM;
}

/* Convert one batch of the cursor. 0 or -1 (the error is in the session). */
static int ins_convert(ins_stream *is, const struct ArrowArray *arr, struct ArrowArray *out)
{
    sql_exec *x = is->x;
    es_array_view v;
    es_error e;
    es_builder *bld = NULL;
    sql_vec val;
    int rc = -1;
    memset(&v, 0, sizeof v);
    sql_vec_init(&val, is->src[0]);
    if (es_array_view_init(&v, sql_cursor_schema(is->c), arr, &e) != ES_OK) {
        sql_fail(x, e.code == ES_NOMEM ? ES_NOMEM : ES_INTERNAL, -1, "INSERT ... SELECT: %s",
                 e.msg);
        goto out;
    }
    if (es_builder_new(&bld, &is->info->schema, &e) != ES_OK) {
        sql_fail(x, e.code, -1, "%s", e.msg);
        goto out;
    }
    int64_t n = arr->length;
    for (int c = 0; c < is->ncols; c++) {
        const sql_colinfo *col = &is->cols[c];
        es_builder *cb = es_builder_child(bld, c);
        es_type at;
        es_type_parse(&at, is->info->schema.children[c]->format, NULL);
        if (es_builder_reserve(cb, n) != ES_OK) {
            sql_oom(x);
            goto out;
        }
        int k = is->map[c];
        if (k < 0) {
            if (n > 0 && es_builder_append_null(cb, n) != ES_OK) {
                sql_oom(x);
                goto out;
            }
            continue;
        }
        if (is->src[k].t == SQL_NULL) { /* a NULL column of the SELECT */
            if (n > 0 && !col->nullable) {
                sql_err(x, is->st->pos, "NOT NULL constraint failed: %s.%s", is->st->table,
                        col->name);
                goto out;
            }
            if (n > 0 && es_builder_append_null(cb, n) != ES_OK) {
                sql_oom(x);
                goto out;
            }
            continue;
        }
        if (sql_vec_load(&val, &v.children[k], is->src[k]) < 0) {
            sql_oom(x);
            goto out;
        }
        if (sql_coerce(x, is->st->pos, col->name, &col->ty, &val) < 0)
            goto out;
        for (int64_t r = 0; r < n; r++) {
            if (val.nulls[r] && !col->nullable) {
                sql_err(x, is->st->pos,
                        "NOT NULL constraint failed: %s.%s (row %lld of the SELECT)", is->st->table,
                        col->name, (long long)(is->rows + r + 1));
                goto out;
            }
            es_status bs = sql_build_value(cb, &at, &val, r);
            if (bs == ES_NOMEM) {
                sql_oom(x);
                goto out;
            }
            if (bs != ES_OK) {
                char b[64];
                int64_t l;
                const char *s = sql_vec_format(&val, r, b, sizeof b, &l);
                sql_err(x, is->st->pos, "value %.*s does not fit column %s", (int)l, s, col->name);
                goto out;
            }
        }
        sql_vec_free(&val);
    }
    for (int64_t r = 0; r < n; r++)
        if (es_builder_append_struct(bld) != ES_OK) {
            sql_oom(x);
            goto out;
        }
    if (es_builder_finish(bld, out, &e) != ES_OK) {
        sql_fail(x, e.code, -1, "%s", e.msg);
        goto out;
    }
    is->rows += n;
    rc = 0;
out:
    sql_vec_free(&val);
    es_builder_free(bld);
    es_array_view_reset(&v);
    return rc;
}

static int ins_get_next(struct ArrowArrayStream *s, struct ArrowArray *out)
{
    ins_stream *is = s->private_data;
    memset(out, 0, sizeof *out);
    if (is->failed)
        return EIO;
    struct ArrowArray arr;
    if (sql_cursor_next(is->c, &arr) < 0) {
        is->failed = 1;
        return EIO;
    }
    if (!arr.release)
        return 0; /* the end */
    int rc = ins_convert(is, &arr, out);
    es_array_release(&arr);
    if (rc < 0) {
        is->failed = 1;
        return EIO;
    }
    return 0;
}

static const char *ins_last_error(struct ArrowArrayStream *s)
{
    ins_stream *is = s->private_data;
    return is->failed ? is->x->s->err : NULL;
}

static void ins_release(struct ArrowArrayStream *s)
{
    s->release = NULL;
}

int sql_insert_cursor(sql_exec *x, sql_stmt *st, sql_cursor *c, int64_t *affected)
{
    sql_colinfo *cols = NULL;
    int ncols = 0, rc = -1;
    es_table_info info, sinfo;
    memset(&info, 0, sizeof info);
    memset(&sinfo, 0, sizeof sinfo);
    if (sql_describe(x, st->table, -1, st->table_pos, &cols, &ncols, &info) < 0)
        return -1;
    const struct ArrowSchema *cs = sql_cursor_schema(c);
    int nsrc = (int)cs->n_children;
    int *map = es_calloc((size_t)(ncols ? ncols : 1), sizeof(int));
    int *smap = es_calloc((size_t)(ncols ? ncols : 1), sizeof(int));
    sql_colinfo *scols = es_calloc((size_t)(ncols ? ncols : 1), sizeof(sql_colinfo));
    sql_typeinfo *src = es_calloc((size_t)(nsrc ? nsrc : 1), sizeof(sql_typeinfo));
    if (!map || !smap || !scols || !src) {
        sql_oom(x);
        goto out;
    }
    int want = st->nnames ? st->nnames : ncols;
    if (nsrc != want) {
        sql_err(x, st->select ? st->pos : -1, "the SELECT gives %d column%s for %d", nsrc,
                nsrc == 1 ? "" : "s", want);
        goto out;
    }
    for (int k = 0; k < nsrc; k++)
        if (sql_type_from_arrow(&src[k], cs->children[k]->format) < 0 &&
            cs->children[k]->format[0] != 'n') {
            sql_err(x, st->pos, "the SELECT's column %s has an unsupported type",
                    cs->children[k]->name);
            goto out;
        }
    if (sql_column_list(x, st, cols, ncols, map) < 0)
        goto out;
    for (int col = 0; col < ncols; col++) {
        if (cols[col].ty.t == SQL_NULL) {
            sql_err(x, st->pos, "column %s has an unsupported type", cols[col].name);
            goto out;
        }
    }
    /* As for VALUES: columns left out are not sent, the library fills each with its default or
     * NULL (and refuses a NOT NULL column without default). sinfo, scols, smap: the columns
     * sent (scols borrows the names of cols). */
    int given = 0;
    es_error se;
    for (int col = 0; col < ncols; col++)
        given += map[col] >= 0;
    if (es_schema_init_struct(&sinfo.schema, given, &se) != ES_OK) {
        sql_fail(x, se.code, -1, "%s", se.msg);
        goto out;
    }
    for (int col = 0, k = 0; col < ncols; col++) {
        if (map[col] < 0)
            continue;
        if (es_schema_copy(sinfo.schema.children[k], info.schema.children[col], &se) != ES_OK) {
            sql_fail(x, se.code, -1, "%s", se.msg);
            goto out;
        }
        scols[k] = cols[col];
        smap[k++] = map[col];
    }
    ins_stream is = {x, c, st, &sinfo, scols, given, smap, src, 0, 0};
    struct ArrowArrayStream stream = {ins_get_schema, ins_get_next, ins_last_error, ins_release,
                                      &is};
    if (es_insert(x->s->store, st->table, &stream) != ES_OK) {
        if (!is.failed) /* else the session has the error of the SELECT or the conversion */
            sql_store_err(x, st->pos);
        goto out;
    }
    *affected = is.rows;
    rc = 0;
out:
    es_schema_release(&sinfo.schema);
    es_free(scols);
    es_free(smap);
    es_free(map);
    es_free(src);
    for (int col = 0; col < ncols; col++)
        es_free(cols[col].name);
    es_free(cols);
    es_table_info_reset(&info);
    return rc;
}
