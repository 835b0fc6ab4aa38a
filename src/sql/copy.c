/*
 * copy: COPY t FROM 'file' (CSV through csv.c, or an Arrow IPC file or stream) and
 * COPY (SELECT ...) / COPY t TO 'file' (see sql/sql.h for the files, sql/exec.h for the
 * interfaces). A COPY FROM is one atomic es_insert of the whole file.
 *
 * The format is the FORMAT option's (csv, arrow, arrows, json), else the file name's extension,
 * compared case-insensitively: .csv .tsv .txt CSV; .arrow .ipc .feather an Arrow IPC file;
 * .arrows the Arrow IPC stream format; .json .jsonl .ndjson newline-delimited JSON (one object
 * per row, the keys the column names, as DuckDB's COPY TO writes .json); any other extension is
 * CSV. A format we do not write (parquet, ...) is an error naming it, never CSV in disguise.
 * JSON is written, not read. COPY TO streams from the SELECT's cursor, whose Arrow schema keeps
 * the columns' nullability (a NOT NULL column of the table stays non-nullable in an Arrow file).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "os/os.h"
#include "sql/exec.h"

enum { FMT_CSV = 0, FMT_ARROW, FMT_ARROWS, FMT_JSON };

/* The statement's format, or -1 (an error naming it). */
static int copy_format(sql_exec *x, const sql_stmt *st, int to)
{
    static const struct {
        const char *name;
        int fmt;
    } names[] = {{"csv", FMT_CSV},
                 {"tsv", FMT_CSV},
                 {"txt", FMT_CSV},
                 {"arrow", FMT_ARROW},
                 {"ipc", FMT_ARROW},
                 {"feather", FMT_ARROW},
                 {"arrows", FMT_ARROWS},
                 {"json", FMT_JSON},
                 {"jsonl", FMT_JSON},
                 {"ndjson", FMT_JSON},
                 {"parquet", -1},
                 {"avro", -1},
                 {"orc", -1},
                 {"xlsx", -1},
                 {"xls", -1}};
    const char *name = st->format;
    if (!name) {
        const char *dot = strrchr(st->file, '.'), *slash = strrchr(st->file, '/');
        if (!dot || (slash && slash > dot))
            return FMT_CSV;
        name = dot + 1;
    }
    int fmt = -2;
    for (size_t i = 0; i < sizeof names / sizeof *names && fmt == -2; i++)
        if (strcasecmp(names[i].name, name) == 0)
            fmt = names[i].fmt;
    if (fmt == -2 && !st->format)
        fmt = FMT_CSV; /* an extension of no known format */
    if (fmt < 0)
        return sql_err(x, st->format ? st->format_pos : -1,
                       "COPY %s '%s': format %s is not supported (csv, arrow, arrows, json)",
                       to ? "TO" : "FROM", st->file, name);
    if (fmt == FMT_JSON && !to)
        return sql_err(x, st->format ? st->format_pos : -1,
                       "COPY FROM '%s': reading JSON is not supported (csv, arrow)", st->file);
    return fmt;
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
    if (sql_describe(x, st->table, -1, st->table_pos, &cols, &ncols, &info) < 0)
        return -1;
    struct ArrowArrayStream stream;
    memset(&stream, 0, sizeof stream);
    struct ArrowSchema sub; /* COPY t (c1, c2): the file's columns, in the list's order */
    memset(&sub, 0, sizeof sub);
    int *map = NULL;
    int rc = -1;
    int64_t before = -1, csv_rows = 0;
    es_table_info bi;
    int fmt = copy_format(x, st, 0);
    if (fmt < 0)
        goto out;
    if (st->nnames && fmt != FMT_CSV) {
        sql_err(x, st->pos,
                "COPY %s: a column list is for CSV files (an Arrow file names its "
                "columns)",
                st->table);
        goto out;
    }
    if (st->nnames) {
        /* As INSERT with a column list: the columns left out get their defaults or NULL (the
         * library fills them, and refuses a NOT NULL column without default). */
        es_error se;
        if (es_schema_init_struct(&sub, st->nnames, &se) != ES_OK) {
            sql_fail(x, se.code, -1, "%s", se.msg);
            goto out;
        }
        map = es_calloc((size_t)(ncols ? ncols : 1), sizeof(int));
        if (!map) {
            sql_oom(x);
            goto out;
        }
        if (sql_column_list(x, st, cols, ncols, map) < 0)
            goto out;
        for (int c = 0; c < ncols; c++)
            if (map[c] >= 0 &&
                es_schema_copy(sub.children[map[c]], info.schema.children[c], &se) != ES_OK) {
                sql_fail(x, se.code, -1, "%s", se.msg);
                goto out;
            }
    }
    if (fmt == FMT_ARROW || fmt == FMT_ARROWS) {
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
            sql_csv_stream_open(&stream, st->file, st->nnames ? &sub : &info.schema, st->header,
                                st->delim ? st->delim : ',', es_store_threads(x->s->store),
                                x->s->progress, x->s->progress_arg, &csv_rows, msg, sizeof msg);
        if (s != ES_OK) {
            sql_fail(x, s, -1, "%s", msg);
            goto out;
        }
    }
    if (es_insert(x->s->store, st->table, &stream) != ES_OK) {
        /* The library's "insert into 't': " and "stream: " say what COPY t already says: the
         * file's own message ("f.csv:3: column amount: cannot parse 'x' as DOUBLE") stays. */
        const char *m = es_store_errmsg(x->s->store);
        size_t tl = strlen(st->table);
        if (strncmp(m, "insert into '", 13) == 0 && strncmp(m + 13, st->table, tl) == 0 &&
            strncmp(m + 13 + tl, "': ", 3) == 0)
            m += 13 + tl + 3;
        if (strncmp(m, "stream: ", 8) == 0)
            m += 8;
        sql_fail(x, es_store_errcode(x->s->store), -1, "COPY %s: %s", st->table, m);
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
    es_free(map);
    es_stream_release(&stream);
    es_schema_release(&sub);
    for (int c = 0; c < ncols; c++)
        es_free(cols[c].name);
    es_free(cols);
    es_table_info_reset(&info);
    return rc;
}

/* Write the cursor's batches to an Arrow IPC file or stream (built in memory, then written). */
static int write_arrow(sql_exec *x, sql_cursor *c, const char *path, es_ipc_format kind,
                       int64_t *rows)
{
    const struct ArrowSchema *schema = sql_cursor_schema(c);
    es_error e;
    es_ipc_writer *w = NULL;
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = -1, nbatches = 0;
    if (es_ipc_writer_new(&w, schema, kind, NULL, &e) != ES_OK) {
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
        es_status s = sql_csv_write_batch(f, schema, arr.release ? &arr : NULL, delim,
                                          first && st->header != 0, 1);
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

/* A JSON string of s[0..n). */
static void json_string(FILE *f, const char *s, int64_t n)
{
    fputc('"', f);
    for (int64_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch == '\n')
            fputs("\\n", f);
        else if (ch == '\r')
            fputs("\\r", f);
        else if (ch == '\t')
            fputs("\\t", f);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

/* Write the cursor's batches as newline-delimited JSON: {"column": value, ...} per row. Numbers
 * are JSON numbers (NaN and infinities null), booleans true/false, dates, timestamps, strings
 * and binary strings (as the shell prints them), NULL null. */
static int write_json(sql_exec *x, sql_cursor *c, const char *path, int64_t *rows)
{
    const struct ArrowSchema *schema = sql_cursor_schema(c);
    FILE *f = NULL;
    int rc = 0;
    for (;;) {
        struct ArrowArray arr;
        if (sql_cursor_next(c, &arr) < 0) {
            rc = -1;
            break;
        }
        if (!f && !(f = fopen(path, "w"))) {
            es_array_release(&arr);
            return sql_fail(x, ES_IO, -1, "%s: %s", path, strerror(errno));
        }
        if (!arr.release)
            break;
        es_array_view v;
        es_error e;
        if (es_array_view_init(&v, schema, &arr, &e) != ES_OK) {
            es_array_release(&arr);
            rc = sql_fail(x, ES_INTERNAL, -1, "%s: %s", path, e.msg);
            break;
        }
        char buf[256];
        for (int64_t r = 0; r < arr.length; r++) {
            fputc('{', f);
            for (int64_t k = 0; k < v.n_children; k++) {
                const es_array_view *col = &v.children[k];
                const char *name = schema->children[k]->name;
                if (k)
                    fputc(',', f);
                json_string(f, name, (int64_t)strlen(name));
                fputc(':', f);
                int64_t len;
                const char *s = es_sql_format_value(col, r, buf, sizeof buf, &len);
                switch (col->type.id) {
                case ES_TYPE_NA:
                    fputs("null", f);
                    break;
                case ES_TYPE_BOOL:
                case ES_TYPE_INT8:
                case ES_TYPE_INT16:
                case ES_TYPE_INT32:
                case ES_TYPE_INT64:
                case ES_TYPE_UINT8:
                case ES_TYPE_UINT16:
                case ES_TYPE_UINT32:
                case ES_TYPE_UINT64:
                case ES_TYPE_DECIMAL128:
                    if (es_view_is_null(col, r))
                        fputs("null", f);
                    else
                        fwrite(s, 1, (size_t)len, f);
                    break;
                case ES_TYPE_FLOAT32:
                case ES_TYPE_FLOAT64:
                    if (es_view_is_null(col, r) || !isfinite(es_view_get_double(col, r)))
                        fputs("null", f);
                    else
                        fprintf(f, "%.17g", es_view_get_double(col, r));
                    break;
                default:
                    if (es_view_is_null(col, r))
                        fputs("null", f);
                    else
                        json_string(f, s, len);
                }
            }
            fputs("}\n", f);
        }
        *rows += arr.length;
        es_array_view_reset(&v);
        es_array_release(&arr);
        if (ferror(f)) {
            rc = sql_fail(x, ES_IO, -1, "%s: write failed", path);
            break;
        }
    }
    if (f && fclose(f) != 0 && rc == 0)
        rc = sql_fail(x, ES_IO, -1, "%s: write failed", path);
    return rc;
}

int sql_exec_copy_to(sql_exec *x, sql_stmt *st, int64_t *affected)
{
    int fmt = copy_format(x, st, 1);
    if (fmt < 0)
        return -1;
    sql_cursor *c;
    int open = sql_cursor_open(x, st->select, fmt != FMT_JSON, &c);
    /* The scan is open (its first requests sent while the read refresh is in flight): the
     * refresh's answer before anything is written (run again when it found a newer version). */
    if (sql_spec_end(x) && open == 0) {
        sql_cursor_close(c);
        return -1;
    }
    if (open < 0)
        return -1;
    int64_t rows = 0;
    int rc = fmt == FMT_ARROW    ? write_arrow(x, c, st->file, ES_IPC_FILE, &rows)
             : fmt == FMT_ARROWS ? write_arrow(x, c, st->file, ES_IPC_STREAM, &rows)
             : fmt == FMT_JSON   ? write_json(x, c, st->file, &rows)
                                 : write_csv(x, c, st, &rows);
    sql_cursor_close(c);
    *affected = rows;
    return rc;
}
