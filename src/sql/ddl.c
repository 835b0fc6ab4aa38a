/*
 * ddl: CREATE TABLE, CREATE TABLE ... AS SELECT, DROP TABLE, DESCRIBE and SHOW TABLES (see
 * sql/sql.h for the files, sql/exec.h for the interfaces). Column types map to Arrow formats
 * (value.c); a PRIMARY KEY column is NOT NULL. CREATE TABLE AS takes the columns' names, types
 * and nullability from the SELECT's result schema, creates the table, then inserts the rows in
 * one atomic insert (insert.c); when that insert fails the new table is dropped again, so the
 * statement leaves nothing behind (two commits, not one). DESCRIBE and SHOW TABLES return rows.
 */
#include <stdlib.h>
#include <string.h>

#include "sql/exec.h"

/* The DEFAULT constants of CREATE TABLE's columns as one row of the table's schema (NULL for a
 * column without); *out untouched when no column has one. */
static int create_defaults(sql_exec *x, sql_stmt *st, const struct ArrowSchema *schema,
                           struct ArrowArray *out)
{
    int any = 0, rc = 0;
    for (int i = 0; i < st->ncols; i++)
        any |= st->cols[i].def != NULL;
    if (!any)
        return 0;
    es_builder *b = NULL;
    es_error e;
    if (es_builder_new(&b, schema, &e) != ES_OK)
        return sql_fail(x, e.code, -1, "%s", e.msg);
    for (int i = 0; i < st->ncols && rc == 0; i++) {
        es_builder *cb = es_builder_child(b, i);
        if (st->cols[i].def)
            rc = sql_default_append(x, st->cols[i].def, &st->cols[i], cb,
                                    schema->children[i]->format);
        else if (es_builder_append_null(cb, 1) != ES_OK)
            rc = sql_oom(x);
    }
    if (rc == 0 && (es_builder_append_struct(b) != ES_OK || es_builder_finish(b, out, &e) != ES_OK))
        rc = sql_fail(x, ES_NOMEM, -1, "out of memory");
    es_builder_free(b);
    return rc;
}

int sql_exec_create(sql_exec *x, sql_stmt *st, int64_t *affected)
{
    if (st->select) {
        es_table_info info;
        memset(&info, 0, sizeof info);
        if (es_table_describe(x->s->store, st->table, -1, &info) == ES_OK) {
            es_table_info_reset(&info);
            if (st->if_exists) {
                *affected = 0;
                return 0;
            }
            return sql_fail(x, ES_EXISTS, st->pos, "table '%s' already exists", st->table);
        }
        sql_cursor *c;
        if (sql_cursor_open(x, st->select, 1, &c) < 0)
            return -1;
        int rc = sql_create_from(x, st, c);
        if (rc == 0)
            rc = sql_insert_cursor(x, st, c, affected);
        sql_cursor_close(c);
        if (rc < 0 && st->ncols >= 0) {
            /* Created, then the insert failed: drop it again, keeping the insert's error. */
            es_sql_session *q = x->s;
            es_status code = q->code;
            char msg[sizeof q->err];
            int l = q->errline, col = q->errcol;
            memcpy(msg, q->err, sizeof msg);
            if (st->ncols == 1)
                es_table_drop(q->store, st->table, 1);
            q->code = code;
            memcpy(q->err, msg, sizeof msg);
            q->errline = l;
            q->errcol = col;
        }
        return rc;
    }
    struct ArrowSchema schema;
    es_error e;
    if (es_schema_init_struct(&schema, st->ncols, &e) != ES_OK)
        return sql_fail(x, e.code, -1, "%s", e.msg);
    if (st->primary_key) {
        int found = 0;
        for (int i = 0; i < st->ncols; i++)
            if (strcmp(st->cols[i].name, st->primary_key) == 0) {
                found = 1;
                st->cols[i].not_null = 1;
            }
        if (!found) {
            es_schema_release(&schema);
            return sql_err(x, st->pos, "primary key column '%s' is not in table '%s'",
                           st->primary_key, st->table);
        }
    }
    for (int i = 0; i < st->ncols; i++) {
        char fmt[32];
        sql_type_to_arrow(fmt, sizeof fmt, &st->cols[i].ty);
        if (es_schema_init(schema.children[i], fmt, st->cols[i].name,
                           st->cols[i].not_null ? 0 : ARROW_FLAG_NULLABLE, &e) != ES_OK) {
            es_schema_release(&schema);
            return sql_fail(x, e.code, -1, "%s", e.msg);
        }
    }
    struct ArrowArray defs = {0};
    if (create_defaults(x, st, &schema, &defs) < 0) {
        es_schema_release(&schema);
        return -1;
    }
    es_status s =
        es_table_create_defaults(x->s->store, st->table, &schema, defs.release ? &defs : NULL,
                                 st->primary_key, st->if_exists);
    es_array_release(&defs);
    es_schema_release(&schema);
    if (s != ES_OK) {
        if (s == ES_EXISTS)
            return sql_fail(x, ES_EXISTS, st->pos, "table '%s' already exists", st->table);
        return sql_store_err(x, st->pos);
    }
    return 0;
}

int sql_exec_drop(sql_exec *x, sql_stmt *st)
{
    es_status s = es_table_drop(x->s->store, st->table, st->if_exists);
    if (s == ES_NOT_FOUND)
        return sql_no_table(x, st->table_pos, st->table);
    if (s != ES_OK)
        return sql_store_err(x, st->pos);
    return 0;
}

int sql_exec_flush(sql_exec *x, sql_stmt *st, int64_t *changes)
{
    es_status s = es_table_flush(x->s->store, st->table, changes);
    if (s == ES_NOT_FOUND && st->table)
        return sql_no_table(x, st->table_pos, st->table);
    if (s != ES_OK)
        return sql_store_err(x, st->pos);
    return 0;
}

int sql_exec_sync(sql_exec *x, sql_stmt *st)
{
    if (es_store_sync(x->s->store, NULL) != ES_OK)
        return sql_store_err(x, st->pos);
    return 0;
}

/* "no such index: t_a_id; did you mean 't_a_idx'?" (ES_NOT_FOUND). -1. */
static int no_index(sql_exec *x, sql_stmt *st)
{
    es_index_info *list = NULL;
    int64_t n = 0;
    const char *best = NULL;
    const char *names[1024];
    if (es_index_list(x->s->store, &list, &n) == ES_OK) {
        int k = 0;
        for (; k < n && k < 1024; k++)
            names[k] = list[k].name;
        best = sql_closest(st->index, names, k);
    }
    int rc = best ? sql_fail(x, ES_NOT_FOUND, st->pos, "no such index: %s; did you mean '%s'?",
                             st->index, best)
                  : sql_fail(x, ES_NOT_FOUND, st->pos, "no such index: %s", st->index);
    es_index_list_free(list, n);
    return rc;
}

/* The name PostgreSQL gives an index created without one: table_column_idx, or with the first
 * number from 1 on that no index of the store has (idx1, idx2, ...). 0 or -1. */
static int index_name(sql_exec *x, sql_stmt *st, char *buf, size_t cap)
{
    es_index_info *list = NULL;
    int64_t n = 0;
    if (es_index_list(x->s->store, &list, &n) != ES_OK)
        return sql_store_err(x, st->pos);
    int rc = 0;
    for (int k = 0;; k++) {
        int len = k ? snprintf(buf, cap, "%s_%s_idx%d", st->table, st->index_col, k)
                    : snprintf(buf, cap, "%s_%s_idx", st->table, st->index_col);
        if (len < 0 || (size_t)len >= cap) {
            rc = sql_err(x, st->pos,
                         "CREATE INDEX ON %s (%s): the index needs a name (the one "
                         "made of the table's and column's is too long)",
                         st->table, st->index_col);
            break;
        }
        int64_t i = 0;
        while (i < n && strcmp(list[i].name, buf) != 0)
            i++;
        if (i == n)
            break;
    }
    es_index_list_free(list, n);
    return rc;
}

int sql_exec_index(sql_exec *x, sql_stmt *st)
{
    es_status s;
    if (st->kind == S_DROP_INDEX) {
        s = es_index_drop(x->s->store, st->index, st->if_exists);
        if (s == ES_NOT_FOUND) /* with the closest index name, as for tables */
            return no_index(x, st);
    } else {
        /* The table and the column first, for errors that suggest the names meant. */
        sql_colinfo *cols = NULL;
        int ncols = 0, c = 0;
        if (sql_describe(x, st->table, -1, st->table_pos, &cols, &ncols, NULL) < 0)
            return -1;
        while (c < ncols && strcmp(cols[c].name, st->index_col) != 0)
            c++;
        int rc = c < ncols ? 0 : sql_no_column(x, st->pos, st->table, st->index_col, cols, ncols);
        for (int i = 0; i < ncols; i++)
            es_free(cols[i].name);
        es_free(cols);
        char name[129]; /* the longest index name the store takes, 128 bytes */
        if (rc == 0 && !st->index && index_name(x, st, name, sizeof name) < 0)
            rc = -1;
        if (rc < 0)
            return -1;
        s = es_index_create(x->s->store, st->table, st->index ? st->index : name, st->index_col,
                            st->unique, st->if_exists);
    }
    if (s != ES_OK)
        return sql_store_err(x, st->pos);
    return 0;
}

int sql_create_from(sql_exec *x, sql_stmt *st, sql_cursor *c)
{
    const struct ArrowSchema *cs = sql_cursor_schema(c);
    struct ArrowSchema schema;
    es_error e;
    st->ncols = 0; /* 1 once created (for the caller's cleanup) */
    if (es_schema_init_struct(&schema, cs->n_children, &e) != ES_OK)
        return sql_fail(x, e.code, -1, "%s", e.msg);
    int found = st->primary_key == NULL;
    for (int64_t i = 0; i < cs->n_children; i++) {
        const struct ArrowSchema *f = cs->children[i];
        for (int64_t j = 0; j < i; j++)
            if (strcmp(cs->children[j]->name, f->name) == 0) {
                es_schema_release(&schema);
                return sql_err(x, st->pos,
                               "CREATE TABLE %s AS: two columns are named %s (give one an alias)",
                               st->table, f->name);
            }
        int pk = st->primary_key && strcmp(st->primary_key, f->name) == 0;
        found |= pk;
        if (es_schema_init(schema.children[i], f->format, f->name,
                           pk ? 0 : (f->flags & ARROW_FLAG_NULLABLE), &e) != ES_OK) {
            es_schema_release(&schema);
            return sql_fail(x, e.code, -1, "%s", e.msg);
        }
    }
    if (!found) {
        es_schema_release(&schema);
        return sql_err(x, st->pos, "primary key column %s is not in the SELECT", st->primary_key);
    }
    es_status s = es_table_create(x->s->store, st->table, &schema, st->primary_key, 0);
    es_schema_release(&schema);
    if (s == ES_EXISTS)
        return sql_fail(x, ES_EXISTS, st->pos, "table '%s' already exists", st->table);
    if (s != ES_OK)
        return sql_store_err(x, st->pos);
    st->ncols = 1;
    return 0;
}

/* An empty result of VARCHAR columns with these names. 0 or -1. */
static int text_columns(sql_exec *x, sql_result *res, const char *const *names, int n)
{
    memset(res, 0, sizeof *res);
    res->ncols = n;
    res->names = es_calloc((size_t)n, sizeof(char *));
    res->cols = es_calloc((size_t)n, sizeof(sql_vec));
    if (!res->names || !res->cols)
        return sql_oom(x);
    sql_typeinfo vt = {SQL_VARCHAR, 0, 0};
    for (int i = 0; i < n; i++) {
        sql_vec_init(&res->cols[i], vt);
        if (!(res->names[i] = es_strdup(names[i])) || sql_vec_reserve(&res->cols[i], 1) < 0)
            return sql_oom(x);
    }
    return 0;
}

static int push_text(sql_vec *v, const char *s)
{
    return s ? sql_vec_push_str(v, s, (int64_t)strlen(s)) : sql_vec_push_null(v);
}

/* A column's default (the "expstore:default" metadata of es_table_describe), or NULL. */
static int push_default(sql_vec *v, const char *metadata)
{
    int32_t len;
    const char *d = es_metadata_get(metadata, "expstore:default", &len);
    return d ? sql_vec_push_str(v, d, len) : sql_vec_push_null(v);
}

/* DESCRIBE HISTORY [t] [LIMIT n]: es_history's batch as rows. */
static int describe_history(sql_exec *x, sql_stmt *st, sql_cursor **out)
{
    es_history_options o = ES_HISTORY_OPTIONS_INIT;
    o.table = st->table;
    o.limit = st->history_limit < 0 ? 0 : st->history_limit;
    struct ArrowArrayStream stream;
    if (es_history(x->s->store, &o, &stream) != ES_OK)
        return sql_store_err(x, st->table ? st->table_pos : st->pos);
    struct ArrowSchema schema;
    struct ArrowArray batch;
    memset(&schema, 0, sizeof schema);
    memset(&batch, 0, sizeof batch);
    sql_result res;
    memset(&res, 0, sizeof res);
    uint8_t notnull[16];
    int rc = stream.get_schema(&stream, &schema) || stream.get_next(&stream, &batch) ||
                     !batch.release || schema.n_children > 16
                 ? sql_fail(x, ES_INTERNAL, st->pos, "DESCRIBE HISTORY: bad stream")
                 : 0;
    es_array_view view;
    memset(&view, 0, sizeof view);
    es_error err;
    if (rc == 0 && es_array_view_init(&view, &schema, &batch, &err) != ES_OK)
        rc = sql_fail(x, ES_INTERNAL, st->pos, "DESCRIBE HISTORY: %s", err.msg);
    if (rc == 0) {
        res.ncols = (int)schema.n_children;
        res.nrows = batch.length;
        res.names = es_calloc((size_t)res.ncols, sizeof(char *));
        res.cols = es_calloc((size_t)res.ncols, sizeof(sql_vec));
        if (!res.names || !res.cols)
            rc = sql_oom(x);
    }
    for (int i = 0; rc == 0 && i < res.ncols; i++) {
        const struct ArrowSchema *c = schema.children[i];
        sql_typeinfo ti;
        notnull[i] = !(c->flags & ARROW_FLAG_NULLABLE);
        if (sql_type_from_arrow(&ti, c->format) < 0 || !(res.names[i] = es_strdup(c->name)))
            rc = sql_oom(x);
        else if (sql_vec_load(&res.cols[i], &view.children[i], ti) < 0)
            rc = sql_oom(x);
    }
    es_array_view_reset(&view);
    es_array_release(&batch);
    es_schema_release(&schema);
    es_stream_release(&stream);
    if (rc < 0) {
        sql_result_free(&res);
        return -1;
    }
    return sql_cursor_open_rows(x, &res, notnull, out);
}

int sql_exec_describe(sql_exec *x, sql_stmt *st, sql_cursor **out)
{
    static const char *const names[] = {"column_name", "column_type", "null", "key", "default"};
    static const uint8_t notnull[] = {1, 1, 1, 0, 0};
    if (st->history)
        return describe_history(x, st, out);
    int64_t at = -1;
    if (st->select && sql_as_of(x, st->select, &at) < 0)
        return -1;
    es_table_info info;
    memset(&info, 0, sizeof info);
    es_status s = es_table_describe(x->s->store, st->table, at, &info);
    if (s == ES_NOT_FOUND && at < 0)
        return sql_no_table(x, st->table_pos, st->table);
    if (s != ES_OK) /* (no table at that version: at its name, as SELECT's error) */
        return sql_store_err(x, st->table_pos);
    sql_result res;
    int rc = text_columns(x, &res, names, 5);
    for (int64_t i = 0; rc == 0 && i < info.schema.n_children; i++) {
        const struct ArrowSchema *c = info.schema.children[i];
        char type[64];
        if (es_sql_type_name(type, sizeof type, c->format) != ES_OK)
            snprintf(type, sizeof type, "(Arrow %s)", c->format);
        int pk = info.primary_key && strcmp(info.primary_key, c->name) == 0;
        if (push_text(&res.cols[0], c->name) < 0 || push_text(&res.cols[1], type) < 0 ||
            push_text(&res.cols[2], c->flags & ARROW_FLAG_NULLABLE ? "YES" : "NO") < 0 ||
            push_text(&res.cols[3], pk ? "PRI" : NULL) < 0 ||
            push_default(&res.cols[4], c->metadata) < 0)
            rc = sql_oom(x);
        res.nrows++;
    }
    es_table_info_reset(&info);
    if (rc < 0) {
        sql_result_free(&res);
        return -1;
    }
    return sql_cursor_open_rows(x, &res, notnull, out);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int sql_exec_show_tables(sql_exec *x, sql_stmt *st, sql_cursor **out)
{
    static const char *const names[] = {"name"};
    static const uint8_t notnull[] = {1};
    char **tables = NULL;
    int64_t n = 0;
    if (es_table_list(x->s->store, &tables, &n) != ES_OK)
        return sql_store_err(x, st->pos);
    qsort(tables, (size_t)n, sizeof *tables, cmp_str);
    sql_result res;
    int rc = text_columns(x, &res, names, 1);
    for (int64_t i = 0; rc == 0 && i < n; i++) {
        if (push_text(&res.cols[0], tables[i]) < 0)
            rc = sql_oom(x);
        res.nrows++;
    }
    es_strings_free(tables, n);
    if (rc < 0) {
        sql_result_free(&res);
        return -1;
    }
    return sql_cursor_open_rows(x, &res, notnull, out);
}
