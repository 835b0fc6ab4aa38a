/*
 * fuzz_sqlexec: SQL text through the whole engine (parse, bind, push down, execute, stream the
 * results) on a private mem:// store holding fixture tables of every supported type. Each
 * input runs against a fresh store, so statements that change data do not leak into the next
 * input. Seeded with fuzz/corpus/sqlexec and the keyword dictionary fuzz/sql.dict.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expstore/sql.h"
#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fixtures =
    "CREATE TABLE t (id BIGINT NOT NULL, b BOOLEAN, si SMALLINT, i INTEGER, r REAL, d DOUBLE,"
    " n DECIMAL(10,2), s VARCHAR, bl BLOB, dt DATE, ts TIMESTAMP, tz TIMESTAMPTZ,"
    " PRIMARY KEY (id));"
    "INSERT INTO t VALUES (1, true, 1, 10, 1.5, 2.5, 3.25, 'a', 'x', '2024-01-01',"
    " '2024-01-01 10:00:00', '2024-01-01 10:00:00+00'),"
    " (2, false, -1, -10, -1.5, -2.5, -3.25, '', '', '1970-01-01', '1970-01-01 00:00:00', NULL),"
    " (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),"
    " (4, true, 32767, 2147483647, 3.4e38, 1e308, 99999999.99, 'zzz', 'y', '9999-12-31',"
    " '2262-04-11 23:47:16', '1900-01-01 00:00:00+00');"
    "CREATE TABLE u (k INTEGER, v VARCHAR);"
    "INSERT INTO u VALUES (1, 'one'), (2, 'two'), (NULL, NULL);";

static int drain(void *arg, const char *statement, es_sql_result *r)
{
    (void)arg;
    (void)statement;
    if (!r->has_rows || !r->stream.release)
        return 0;
    struct ArrowSchema schema;
    memset(&schema, 0, sizeof schema);
    if (r->stream.get_schema(&r->stream, &schema) == 0 && schema.release)
        schema.release(&schema);
    for (int batches = 0; batches < 1000; batches++) {
        struct ArrowArray a;
        memset(&a, 0, sizeof a);
        if (r->stream.get_next(&r->stream, &a) != 0 || !a.release)
            break;
        a.release(&a);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 14)
        return 0;
    char *src = es_malloc(size + 1);
    if (!src)
        return 0;
    memcpy(src, data, size);
    src[size] = 0;
    es_store *store = NULL;
    es_sql_session *q = NULL;
    if (es_store_open(&store, "mem://", NULL) == ES_OK && es_sql_session_open(&q, store) == ES_OK &&
        es_sql_exec_script(q, fixtures, NULL, NULL) == ES_OK) {
        /* Every statement runs, also after errors (as a shell does); errors are expected, and
         * crashes, leaks, hangs and sanitizer reports are what the fuzzer finds. */
        size_t off = 0, len = size, before;
        for (int guard = 0; off < len && guard < 64; guard++) {
            es_sql_result r = ES_SQL_RESULT_INIT;
            before = off;
            (void)es_sql_exec_next(q, src, len, &off, &r);
            drain(NULL, NULL, &r);
            es_sql_result_reset(&r);
            if (off <= before)
                break;
        }
    } else if (q) {
        fprintf(stderr, "fuzz_sqlexec: fixtures failed: %s\n", es_sql_errmsg(q));
        abort();
    }
    es_sql_session_close(q);
    es_store_close(store);
    es_free(src);
    return 0;
}
