/*
 * hello: a first program on Exp Store's C API, which uses the public headers only.
 *
 * It opens a store (the directory in argv[1], else a new temporary directory that it removes
 * at the end), creates a table, inserts rows through an ArrowArrayStream built with the Arrow
 * builders of expstore/arrow.h, scans the table with a predicate that the scan pushes down,
 * and runs a SQL query through expstore/sql.h. Results are Arrow record batches, printed as
 * JSON rows.
 *
 * Build it against an installed library (README, "Use the library"):
 *     cc -o hello hello.c $(pkg-config --cflags --libs expstore)
 *     cmake -S examples -B build-examples -DCMAKE_PREFIX_PATH=/usr/local   (find_package)
 */
#define _XOPEN_SOURCE 700 /* mkdtemp, nftw */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expstore/expstore.h"
#include "expstore/sql.h"

/* Print every batch of `stream` as JSON, one row a line, then release the stream. */
static int print_stream(struct ArrowArrayStream *stream)
{
    struct ArrowSchema schema;
    es_error err = {0};
    int rc = stream->get_schema(stream, &schema);
    while (rc == 0) {
        struct ArrowArray batch;
        rc = stream->get_next(stream, &batch);
        if (rc != 0 || batch.release == NULL)
            break;
        if (es_json_write_rows(stdout, &schema, &batch, &err) != ES_OK) {
            fprintf(stderr, "hello: %s\n", err.msg);
            rc = -1;
        }
        batch.release(&batch);
    }
    if (rc > 0) {
        const char *msg = stream->get_last_error(stream);
        fprintf(stderr, "hello: reading a stream: %s\n", msg ? msg : strerror(rc));
    }
    if (schema.release)
        schema.release(&schema);
    stream->release(stream);
    return rc == 0 ? 0 : -1;
}

/* Insert three rows (id, name, amount) into `table` as one record batch in a stream. */
static es_status insert_rows(es_store *store, const char *table, const struct ArrowSchema *schema)
{
    static const char *names[] = {"hello", "world", NULL};
    static const double amounts[] = {12.5, 30.25, 50};
    es_error err = {0};
    es_builder *b = NULL;
    es_status st = es_builder_new(&b, schema, &err);
    for (int i = 0; i < 3 && st == ES_OK; i++) {
        st = es_builder_append_int(es_builder_child(b, 0), i + 1);
        if (st == ES_OK && names[i])
            st = es_builder_append_bytes(es_builder_child(b, 1), names[i],
                                         (int64_t)strlen(names[i]));
        else if (st == ES_OK)
            st = es_builder_append_null(es_builder_child(b, 1), 1);
        if (st == ES_OK)
            st = es_builder_append_double(es_builder_child(b, 2), amounts[i]);
        if (st == ES_OK)
            st = es_builder_append_struct(b);
    }
    struct ArrowArray batch = {0};
    struct ArrowArrayStream stream = {0};
    if (st == ES_OK)
        st = es_builder_finish(b, &batch, &err);
    es_builder_free(b);
    if (st == ES_OK) /* the stream takes the batch, and copies the schema */
        st = es_stream_from_batches(&stream, schema, &batch, 1, &err);
    if (st != ES_OK) {
        fprintf(stderr, "hello: building the rows: %s\n", err.msg);
        es_array_release(&batch);
        return st;
    }
    st = es_insert(store, table, &stream); /* consumes the stream: all rows or none */
    es_stream_release(&stream);
    return st;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

int main(int argc, char **argv)
{
    char tmp[] = "/tmp/expstore-hello-XXXXXX";
    const char *dir = argc > 1 ? argv[1] : mkdtemp(tmp);
    if (!dir) {
        perror("hello: mkdtemp");
        return 1;
    }
    printf("expstore %s (compiled with %s)\n", es_version(), ES_VERSION_STRING);

    es_store *store = NULL;
    es_sql_session *sql = NULL;
    struct ArrowSchema schema = {0};
    es_expr *pred = NULL;
    int failed = 1;
    es_status st = es_store_open(&store, dir, NULL);
    if (st != ES_OK) {
        fprintf(stderr, "hello: cannot open %s: %s\n", dir,
                store ? es_store_errmsg(store) : es_status_name(st));
        goto done;
    }

    /* A table of three columns, sorted by its primary key. */
    es_error err = {0};
    if (es_schema_init_struct(&schema, 3, &err) != ES_OK ||
        es_schema_init(schema.children[0], "l", "id", 0, &err) != ES_OK ||
        es_schema_init(schema.children[1], "u", "name", ARROW_FLAG_NULLABLE, &err) != ES_OK ||
        es_schema_init(schema.children[2], "g", "amount", ARROW_FLAG_NULLABLE, &err) != ES_OK) {
        fprintf(stderr, "hello: schema: %s\n", err.msg);
        goto done;
    }
    es_table_drop(store, "greetings", 1);
    if (es_table_create(store, "greetings", &schema, "id", 0) != ES_OK ||
        insert_rows(store, "greetings", &schema) != ES_OK)
        goto store_error;
    int64_t version = 0;
    es_store_version(store, &version);
    printf("inserted 3 rows into greetings (store version %lld)\n", (long long)version);

    /* Scan with a predicate: the scan skips parts and batches whose statistics exclude it. */
    es_value twenty = {.kind = ES_VALUE_DOUBLE, .d = 20};
    pred = es_expr_cmp("amount", ES_GT, twenty);
    es_scan_stats stats = {0};
    es_scan_options opts = ES_SCAN_OPTIONS_INIT;
    opts.predicate = pred;
    opts.stats = &stats;
    struct ArrowArrayStream rows;
    printf("scan where amount > 20:\n");
    if (!pred || es_scan(store, "greetings", &opts, &rows) != ES_OK)
        goto store_error;
    if (print_stream(&rows) != 0)
        goto done;
    printf("scan returned %lld of %lld rows\n", (long long)stats.rows_returned,
           (long long)stats.rows_scanned);

    /* The same data through SQL. */
    const char *query = "SELECT count(*) AS n, sum(amount) AS total FROM greetings WHERE id >= 2";
    es_sql_result result = ES_SQL_RESULT_INIT;
    if (es_sql_session_open(&sql, store) != ES_OK) {
        fprintf(stderr, "hello: cannot open a SQL session\n");
        goto done;
    }
    printf("sql: %s\n", query);
    if (es_sql_exec(sql, query, &result) != ES_OK) {
        fprintf(stderr, "hello: %d:%d: %s\n", es_sql_errline(sql), es_sql_errcol(sql),
                es_sql_errmsg(sql));
        goto done;
    }
    if (result.has_rows && print_stream(&result.stream) != 0)
        goto done;
    es_sql_result_reset(&result);
    failed = 0;
    goto done;

store_error:
    fprintf(stderr, "hello: %s\n", es_store_errmsg(store));
done:
    es_sql_session_close(sql);
    es_expr_free(pred);
    es_schema_release(&schema);
    es_store_close(store);
    if (dir == tmp)
        nftw(tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return failed;
}
