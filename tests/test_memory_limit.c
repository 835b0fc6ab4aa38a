/*
 * test_memory_limit: a sort or an aggregation larger than the store's memory limit
 * (es_store_set_memory_limit) fails with ES_NOMEM and a one-line message naming the limit, on
 * one thread and on several; what stays bounded (a streamed SELECT, ORDER BY ... LIMIT k, a
 * small GROUP BY) runs under the same small limit and gives the same answers as without it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "expstore/expstore.h"
#include "expstore/sql.h"

#define N 200000

/* Run sql; the rows it returns (-1 when it failed), the status in *st. */
static int64_t rows_of(es_sql_session *q, const char *sql, es_status *st)
{
    es_sql_result r = ES_SQL_RESULT_INIT;
    int64_t n = -1;
    *st = es_sql_exec(q, sql, &r);
    if (*st == ES_OK && r.stream.release) {
        n = 0;
        for (;;) {
            struct ArrowArray a;
            if (r.stream.get_next(&r.stream, &a) != 0) {
                *st = es_sql_errcode(q);
                n = -1;
                break;
            }
            if (!a.release)
                break;
            n += a.length;
            a.release(&a);
        }
    }
    es_sql_result_reset(&r);
    return n;
}

int main(void)
{
    char path[128], sql[256];
    snprintf(path, sizeof path, "/tmp/test_memory_limit_%d.csv", (int)getpid());
    FILE *f = fopen(path, "w");
    for (int i = 0; i < N; i++)
        fprintf(f, "%d,%d,%d.5,name %d\n", i, i % 7, (i * 7919) % N, i);
    fclose(f);
    es_store *s = NULL;
    es_sql_session *q = NULL;
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    CHECK_OK(es_store_open(&s, "mem://memory_limit", &o));
    CHECK_OK(es_sql_session_open(&q, s));
    es_status st;
    CHECK(es_store_memory_limit(s) > 0); /* the default: a fraction of the machine's memory */
    CHECK_EQ_INT(es_store_set_memory_limit(s, -1), ES_INVALID);
    CHECK_EQ_INT(es_store_set_memory_limit(NULL, 1), ES_INVALID);
    CHECK_EQ_INT(rows_of(q, "CREATE TABLE t (id BIGINT PRIMARY KEY, g INT, x DOUBLE, s TEXT)", &st),
                 -1);
    CHECK_OK(st);
    snprintf(sql, sizeof sql, "COPY t FROM '%s'", path);
    rows_of(q, sql, &st);
    CHECK_OK(st);

    for (int threads = 1; threads <= 3; threads += 2) {
        CHECK_OK(es_store_set_threads(s, threads));
        CHECK_OK(es_store_set_memory_limit(s, 1 << 20)); /* 1 MiB */
        CHECK_EQ_INT(es_store_memory_limit(s), 1 << 20);
        /* Too big: every id is a group; every row sorted. */
        CHECK_EQ_INT(rows_of(q, "SELECT id, count(*) FROM t GROUP BY id", &st), -1);
        CHECK_EQ_INT(st, ES_NOMEM);
        CHECK(strstr(es_sql_errmsg(q), "the aggregation needs more than the memory limit of "
                                       "1.0 MiB") != NULL);
        CHECK(strchr(es_sql_errmsg(q), '\n') == NULL);
        CHECK_EQ_INT(rows_of(q, "SELECT id, s FROM t ORDER BY x", &st), -1);
        CHECK_EQ_INT(st, ES_NOMEM);
        CHECK(strstr(es_sql_errmsg(q), "the sort needs more than the memory limit") != NULL);
        /* Bounded: streamed rows, top-k, a few groups. */
        CHECK_EQ_INT(rows_of(q, "SELECT * FROM t", &st), N);
        CHECK_OK(st);
        CHECK_EQ_INT(rows_of(q, "SELECT id FROM t ORDER BY x DESC LIMIT 10", &st), 10);
        CHECK_OK(st);
        CHECK_EQ_INT(rows_of(q, "SELECT g, count(*), sum(x) FROM t GROUP BY g", &st), 7);
        CHECK_OK(st);
        /* The default again: the same queries run. */
        CHECK_OK(es_store_set_memory_limit(s, 0));
        CHECK(es_store_memory_limit(s) > (1 << 20));
        CHECK_EQ_INT(rows_of(q, "SELECT id, count(*) FROM t GROUP BY id", &st), N);
        CHECK_OK(st);
        CHECK_EQ_INT(rows_of(q, "SELECT id, s FROM t ORDER BY x", &st), N);
        CHECK_OK(st);
    }
    es_sql_session_close(q);
    es_store_close(s);
    unlink(path);
    return CHECK_DONE();
}
