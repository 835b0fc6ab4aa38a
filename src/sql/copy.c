/*
 * copy: COPY t FROM 'file' (CSV through csv.c, or an Arrow IPC file or stream) and
 * COPY (SELECT ...) / COPY t TO 'file' (CSV or an Arrow IPC file) (see sql/sql.h for the files,
 * sql/exec.h for the interfaces). A COPY FROM is one atomic es_insert of the whole file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "os/os.h"
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
        return sql_fail(x, ES_IO, -1, "%s: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return sql_fail(x, ES_IO, -1, "%s: cannot seek", path);
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
        return sql_fail(x, ES_IO, -1, "%s: read failed", path);
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
    int64_t before = -1, csv_rows = 0;
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
            sql_fail(x, e.code, -1, "%s: %s", st->file, e.msg);
            goto out;
        }
        memset(&bi, 0, sizeof bi);
        if (es_table_describe(x->s->store, st->table, -1, &bi) == ES_OK)
            before = bi.n_rows;
        es_table_info_reset(&bi);
    } else {
        char msg[512];
        es_status s =
            sql_csv_stream_open(&stream, st->file, &info.schema, st->header,
                                st->delim ? st->delim : ',', x->s->progress, x->s->progress_arg,
                                &csv_rows, msg, sizeof msg);
        if (s != ES_OK) {
            sql_fail(x, s, -1, "%s", msg);
            goto out;
        }
    }
    if (es_insert(x->s->store, st->table, &stream) != ES_OK) {
        sql_fail(x, es_store_errcode(x->s->store), -1, "COPY %s: %s", st->table,
                 es_store_errmsg(x->s->store));
        goto out;
    }
    if (before >= 0) {
        memset(&bi, 0, sizeof bi);
        if (es_table_describe(x->s->store, st->table, -1, &bi) == ES_OK)
            *affected = bi.n_rows - before;
        es_table_info_reset(&bi);
    } else {
        *affected = csv_rows;
    }
    rc = 0;
out:
    es_stream_release(&stream);
    es_table_info_reset(&info);
    return rc;
}

/* Write the cursor's batches to an Arrow IPC file (built in memory, then written). */
static int write_arrow(sql_exec *x, sql_cursor *c, const char *path, int64_t *rows)
{
    const struct ArrowSchema *schema = sql_cursor_schema(c);
    es_error e;
    es_ipc_writer *w = NULL;
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = -1, nbatches = 0;
    if (es_ipc_writer_new(&w, schema, ES_IPC_FILE, NULL, &e) != ES_OK) {
        sql_fail(x, e.code, -1, "%s: %s", path, e.msg);
        goto out;
    }
    for (;;) {
        struct ArrowArray arr;
        if (sql_cursor_next(c, &arr) < 0)
            goto out;
        if (!arr.release) {
            if (nbatches > 0)
                break;
            /* An empty result is one batch of no rows. */
            es_builder *b = NULL;
            if (es_builder_new(&b, schema, &e) != ES_OK ||
                es_builder_finish(b, &arr, &e) != ES_OK) {
                es_builder_free(b);
                sql_fail(x, e.code, -1, "%s: %s", path, e.msg);
                goto out;
            }
            es_builder_free(b);
        }
        *rows += arr.length;
        nbatches++;
        es_status s = es_ipc_writer_write(w, &arr, &e);
        es_array_release(&arr);
        if (s != ES_OK) {
            sql_fail(x, e.code, -1, "%s: %s", path, e.msg);
            goto out;
        }
    }
    if (es_ipc_writer_finish(w, &data, &size, &e) != ES_OK) {
        sql_fail(x, e.code, -1, "%s: %s", path, e.msg);
        goto out;
    }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size) {
        if (f)
            fclose(f);
        sql_fail(x, ES_IO, -1, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (fclose(f) != 0) {
        sql_fail(x, ES_IO, -1, "%s: %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    es_free(data);
    es_ipc_writer_free(w);
    return rc;
}

/* Write the cursor's batches to a CSV file. The file is created once the first batch is
 * computed, so a statement that fails to start leaves no file, and a regular file is removed
 * when a later batch fails (an error or an interrupt half-way leaves no partial file). */
static int write_csv(sql_exec *x, sql_cursor *c, const sql_stmt *st, int64_t *rows)
{
    const struct ArrowSchema *schema = sql_cursor_schema(c);
    char delim = st->delim ? st->delim : ',';
    FILE *f = NULL;
    int rc = 0, first = 1;
    for (;;) {
        struct ArrowArray arr;
        if (sql_cursor_next(c, &arr) < 0) {
            rc = -1;
            break;
        }
        if (first) {
            f = fopen(st->file, "w");
            if (!f) {
                es_array_release(&arr);
                return sql_fail(x, ES_IO, -1, "%s: %s", st->file, strerror(errno));
            }
        }
        es_status s =
            es_sql_write_csv(f, schema, arr.release ? &arr : NULL, delim, first && st->header != 0);
        first = 0;
        *rows += arr.release ? arr.length : 0;
        int end = !arr.release;
        es_array_release(&arr);
        if (s != ES_OK) {
            rc = sql_fail(x, ES_IO, -1, "%s: write failed", st->file);
            break;
        }
        if (end)
            break;
    }
    /* Only a regular file is removed (not a FIFO, /dev/stdout, ...). */
    es_os_stat_info si;
    int regular = f && es_os_fstat(&si, fileno(f), st->file, NULL) == ES_OK && si.is_reg;
    if (f && fclose(f) != 0 && rc == 0)
        rc = sql_fail(x, ES_IO, -1, "%s: write failed", st->file);
    if (regular && rc < 0)
        es_os_unlink(st->file, NULL);
    return rc;
}

int sql_exec_copy_to(sql_exec *x, sql_stmt *st, int64_t *affected)
{
    sql_cursor *c;
    if (sql_cursor_open(x, st->select, 1, &c) < 0)
        return -1;
    int64_t rows = 0;
    int rc = is_arrow_file(st) ? write_arrow(x, c, st->file, &rows) : write_csv(x, c, st, &rows);
    sql_cursor_close(c);
    *affected = rows;
    return rc;
}
