/*
 * copy: COPY t FROM 'file' (CSV through csv.c, or an Arrow IPC file or stream) and
 * COPY (SELECT ...) / COPY t TO 'file' (CSV or an Arrow IPC file) (see sql/sql.h for the files,
 * sql/exec.h for the interfaces). A COPY FROM is one atomic es_insert of the whole file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sql/exec.h"

static int is_arrow_file(const sql_stmt *st)
{
    if (st->format)
        return strcmp(st->format, "csv") != 0;
    const char *dot = strrchr(st->file, '.');
    return dot && (strcmp(dot, ".arrow") == 0 || strcmp(dot, ".arrows") == 0 ||
                   strcmp(dot, ".ipc") == 0 || strcmp(dot, ".feather") == 0);
}

static int read_file(sql_exec *x, const char *path, uint8_t **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return sql_err(x, -1, "%s: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return sql_err(x, -1, "%s: cannot seek", path);
    }
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *data = es_malloc((size_t)(n > 0 ? n : 1));
    if (!*data) {
        fclose(f);
        return sql_oom(x);
    }
    if (n > 0 && fread(*data, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        es_free(*data);
        return sql_err(x, -1, "%s: read failed", path);
    }
    fclose(f);
    *size = (size_t)n;
    return 0;
}

int sql_exec_copy_from(sql_exec *x, sql_stmt *st, int64_t *affected)
{
    es_table_info info;
    memset(&info, 0, sizeof info);
    sql_colinfo *cols = NULL;
    int ncols = 0;
    if (sql_describe(x, st->table, -1, st->pos, &cols, &ncols, &info) < 0)
        return -1;
    for (int c = 0; c < ncols; c++)
        es_free(cols[c].name);
    es_free(cols);
    struct ArrowArrayStream stream;
    memset(&stream, 0, sizeof stream);
    int rc = -1;
    int64_t before = -1;
    es_table_info bi;
    if (is_arrow_file(st)) {
        uint8_t *data = NULL;
        size_t size = 0;
        es_blob *blob = NULL;
        es_error e;
        if (read_file(x, st->file, &data, &size) < 0)
            goto out;
        if (es_blob_new_owned(&blob, data, size) != ES_OK) {
            es_free(data);
            sql_oom(x);
            goto out;
        }
        es_status s = es_ipc_reader_open(&stream, blob, &e);
        es_blob_unref(blob);
        if (s != ES_OK) {
            sql_err(x, -1, "%s: %s", st->file, e.msg);
            goto out;
        }
        memset(&bi, 0, sizeof bi);
        if (es_table_describe(x->s->store, st->table, -1, &bi) == ES_OK)
            before = bi.n_rows;
        es_table_info_reset(&bi);
    } else {
        char msg[512];
        if (sql_csv_stream_open(&stream, st->file, &info.schema, st->header,
                                st->delim ? st->delim : ',', x->s->progress, msg, sizeof msg) < 0) {
            sql_err(x, -1, "%s", msg);
            goto out;
        }
    }
    if (es_insert(x->s->store, st->table, &stream) != ES_OK) {
        sql_err(x, -1, "COPY %s: %s", st->table, es_store_errmsg(x->s->store));
        goto out;
    }
    if (before >= 0) {
        memset(&bi, 0, sizeof bi);
        if (es_table_describe(x->s->store, st->table, -1, &bi) == ES_OK)
            *affected = bi.n_rows - before;
        es_table_info_reset(&bi);
    } else {
        *affected = sql_csv_last_rows();
    }
    rc = 0;
out:
    es_stream_release(&stream);
    es_table_info_reset(&info);
    return rc;
}

static int write_arrow(sql_exec *x, const char *path, const sql_result *r)
{
    struct ArrowSchema schema;
    es_error e;
    es_builder *b = NULL;
    es_ipc_writer *w = NULL;
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = -1;
    if (es_schema_init_struct(&schema, r->ncols, &e) != ES_OK)
        return sql_err(x, -1, "%s", e.msg);
    for (int c = 0; c < r->ncols; c++) {
        char fmt[32];
        sql_typeinfo ty = r->cols[c].ty;
        if (ty.t == SQL_NULL)
            ty.t = SQL_BIGINT;
        sql_type_to_arrow(fmt, sizeof fmt, &ty);
        if (es_schema_init(schema.children[c], fmt, r->names[c], ARROW_FLAG_NULLABLE, &e) !=
            ES_OK) {
            sql_err(x, -1, "%s", e.msg);
            goto out;
        }
    }
    if (es_builder_new(&b, &schema, &e) != ES_OK ||
        es_ipc_writer_new(&w, &schema, ES_IPC_FILE, NULL, &e) != ES_OK) {
        sql_err(x, -1, "%s: %s", path, e.msg);
        goto out;
    }
    for (int64_t start = 0; start < r->nrows || start == 0; start += SQL_BATCH_ROWS) {
        int64_t end = start + SQL_BATCH_ROWS < r->nrows ? start + SQL_BATCH_ROWS : r->nrows;
        for (int c = 0; c < r->ncols; c++) {
            es_builder *cb = es_builder_child(b, c);
            es_type at;
            es_type_parse(&at, schema.children[c]->format, NULL);
            for (int64_t i = start; i < end; i++)
                if (sql_build_value(cb, &at, &r->cols[c], i) != ES_OK) {
                    sql_oom(x);
                    goto out;
                }
        }
        for (int64_t i = start; i < end; i++)
            es_builder_append_struct(b);
        struct ArrowArray arr;
        if (es_builder_finish(b, &arr, &e) != ES_OK) {
            sql_err(x, -1, "%s: %s", path, e.msg);
            goto out;
        }
        es_status s = es_ipc_writer_write(w, &arr, &e);
        es_array_release(&arr);
        if (s != ES_OK) {
            sql_err(x, -1, "%s: %s", path, e.msg);
            goto out;
        }
        if (end >= r->nrows)
            break;
    }
    if (es_ipc_writer_finish(w, &data, &size, &e) != ES_OK) {
        sql_err(x, -1, "%s: %s", path, e.msg);
        goto out;
    }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size) {
        if (f)
            fclose(f);
        sql_err(x, -1, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (fclose(f) != 0) {
        sql_err(x, -1, "%s: %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    es_free(data);
    es_ipc_writer_free(w);
    es_builder_free(b);
    es_schema_release(&schema);
    return rc;
}

int sql_exec_copy_to(sql_exec *x, sql_stmt *st, int64_t *affected)
{
    sql_result r;
    memset(&r, 0, sizeof r);
    if (sql_exec_select(x, st->select, &r, 0) < 0)
        return -1;
    int rc;
    if (is_arrow_file(st)) {
        rc = write_arrow(x, st->file, &r);
    } else {
        FILE *f = fopen(st->file, "w");
        if (!f) {
            sql_result_free(&r);
            return sql_err(x, -1, "%s: %s", st->file, strerror(errno));
        }
        rc = sql_csv_export(f, &r, st->delim ? st->delim : ',', st->header != 0);
        if (fclose(f) != 0 || rc < 0)
            rc = sql_err(x, -1, "%s: write failed", st->file);
    }
    *affected = r.nrows;
    sql_result_free(&r);
    return rc;
}
