/*
 * bench_optimize: what 1,000 single-row inserts cost readers before and after OPTIMIZE, against
 * a table bulk-loaded with the same rows in one insert (the target: the same cost).
 *
 *   bench_optimize [DIR] [ROWS]     (default: a temporary directory, 1000 rows)
 *
 * For each table it prints the parts, then for `SELECT count(*)` and a full scan (`SELECT *`,
 * every row read) through the SQL API on a fresh handle: the object-store requests, the bytes
 * fetched and the wall time (best of 15), and the ratio of the compacted table to the bulk one.
 * Automatic compaction is off so that OPTIMIZE is the only compaction.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "expstore/expstore.h"
#include "expstore/sql.h"
#include "table/table.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static es_store *open_store(const char *uri)
{
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.compact_min_parts = 0;
    es_store *s = NULL;
    if (es_store_open(&s, uri, &o) != ES_OK) {
        fprintf(stderr, "bench_optimize: %s: %s\n", uri, s ? es_store_errmsg(s) : "no memory");
        exit(1);
    }
    return s;
}

static void exec(es_sql_session *q, const char *sql)
{
    es_sql_result r;
    if (es_sql_exec(q, sql, &r) != ES_OK) {
        fprintf(stderr, "bench_optimize: %s: %s\n", sql, es_sql_errmsg(q));
        exit(1);
    }
    es_sql_result_reset(&r);
}

typedef struct cost {
    int64_t requests, bytes, rows;
    double seconds;
} cost;

/* Run `sql` on a fresh handle (nothing cached), reading every row: best of 15. */
static cost measure(const char *uri, const char *sql)
{
    cost best = {0, 0, 0, 1e9};
    for (int rep = 0; rep < 15; rep++) {
        es_store *s = open_store(uri);
        es_sql_session *q = NULL;
        es_sql_session_open(&q, s);
        es_objstore_stats a, b;
        es_objstore_get_stats(s->os, &a);
        double t0 = now_s();
        es_sql_result r;
        if (es_sql_exec(q, sql, &r) != ES_OK) {
            fprintf(stderr, "bench_optimize: %s: %s\n", sql, es_sql_errmsg(q));
            exit(1);
        }
        int64_t rows = 0;
        for (;;) {
            struct ArrowArray arr;
            if (r.stream.get_next(&r.stream, &arr) != 0 || !arr.release)
                break;
            rows += arr.length;
            arr.release(&arr);
        }
        es_sql_result_reset(&r);
        double t = now_s() - t0;
        es_objstore_get_stats(s->os, &b);
        cost c = {0, 0, rows, t};
        for (int op = 0; op < ES_OP_COUNT; op++) {
            c.requests += b.requests[op] - a.requests[op];
            c.bytes += b.bytes_in[op] - a.bytes_in[op];
        }
        if (c.seconds < best.seconds)
            best = c;
        es_sql_session_close(q);
        es_store_close(s);
    }
    return best;
}

static int64_t parts_of(const char *uri)
{
    es_store *s = open_store(uri);
    es_table_info info;
    int64_t n = -1;
    if (es_table_describe(s, "t", -1, &info) == ES_OK) {
        n = info.n_parts;
        es_table_info_reset(&info);
    }
    es_store_close(s);
    return n;
}

static void row(const char *what, const char *uri, cost *count, cost *scan)
{
    *count = measure(uri, "SELECT count(*) FROM t");
    *scan = measure(uri, "SELECT * FROM t");
    printf("%-26s %6lld  %8lld %9lld %8.2f  %8lld %9lld %8.2f\n", what, (long long)parts_of(uri),
           (long long)count->requests, (long long)count->bytes, count->seconds * 1e3,
           (long long)scan->requests, (long long)scan->bytes, scan->seconds * 1e3);
}

int main(int argc, char **argv)
{
    char tmp[] = "/tmp/bench_optimize_XXXXXX";
    const char *dir = argc > 1 ? argv[1] : mkdtemp(tmp);
    int64_t n = argc > 2 ? atoll(argv[2]) : 1000;
    if (!dir || n <= 0)
        return 2;
    char small[512], bulk[512], sql[256];
    snprintf(small, sizeof(small), "%s/single", dir);
    snprintf(bulk, sizeof(bulk), "%s/bulk", dir);
    /* The same rows: keys in a shuffled order, a number and a short string. */
    int64_t *keys = malloc((size_t)n * sizeof(int64_t));
    for (int64_t i = 0; i < n; i++)
        keys[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(bench_rnd() % (uint64_t)(i + 1)), t = keys[i];
        keys[i] = keys[j];
        keys[j] = t;
    }
    es_store *s = open_store(small);
    es_sql_session *q = NULL;
    es_sql_session_open(&q, s);
    exec(q, "CREATE TABLE t (id BIGINT PRIMARY KEY, v BIGINT, s VARCHAR)");
    double t0 = now_s();
    for (int64_t i = 0; i < n; i++) {
        snprintf(sql, sizeof(sql), "INSERT INTO t VALUES (%lld, %lld, 'row %lld')",
                 (long long)keys[i], (long long)(keys[i] * 7 % 1000), (long long)keys[i]);
        exec(q, sql);
    }
    double t_insert = now_s() - t0;
    es_sql_session_close(q);
    es_store_close(s);

    s = open_store(bulk);
    es_sql_session_open(&q, s);
    exec(q, "CREATE TABLE t (id BIGINT PRIMARY KEY, v BIGINT, s VARCHAR)");
    char *big = malloc((size_t)n * 64 + 64), *p = big;
    p += sprintf(p, "INSERT INTO t VALUES ");
    for (int64_t i = 0; i < n; i++)
        p += sprintf(p, "%s(%lld, %lld, 'row %lld')", i ? "," : "", (long long)keys[i],
                     (long long)(keys[i] * 7 % 1000), (long long)keys[i]);
    exec(q, big);
    free(big);
    es_sql_session_close(q);
    es_store_close(s);

    printf("bench_optimize: %lld rows, local store %s\n", (long long)n, dir);
    printf("%lld single-row inserts: %.2f s (%.2f ms each)\n\n", (long long)n, t_insert,
           t_insert * 1e3 / (double)n);
    printf("%-26s %6s  %8s %9s %8s  %8s %9s %8s\n", "", "", "count(*)", "", "", "full scan", "",
           "");
    printf("%-26s %6s  %8s %9s %8s  %8s %9s %8s\n", "table", "parts", "requests", "bytes", "ms",
           "requests", "bytes", "ms");
    cost c0, s0, c1, s1, c2, s2;
    row("single-row inserts", small, &c0, &s0);

    s = open_store(small);
    es_optimize_info info;
    t0 = now_s();
    if (es_optimize(s, "t", &info) != ES_OK) {
        fprintf(stderr, "bench_optimize: OPTIMIZE: %s\n", es_store_errmsg(s));
        return 1;
    }
    double t_opt = now_s() - t0;
    es_store_close(s);
    row("after OPTIMIZE", small, &c1, &s1);
    row("bulk-loaded", bulk, &c2, &s2);
    printf("\nOPTIMIZE: %lld parts -> %lld in %.2f s\n", (long long)info.parts_in,
           (long long)info.parts_out, t_opt);
    printf("after OPTIMIZE / bulk-loaded: count(*) requests %.2fx, bytes %.2fx, time %.2fx; "
           "full scan requests %.2fx, bytes %.2fx, time %.2fx\n",
           (double)c1.requests / (double)(c2.requests ? c2.requests : 1),
           (double)c1.bytes / (double)(c2.bytes ? c2.bytes : 1), c1.seconds / c2.seconds,
           (double)s1.requests / (double)(s2.requests ? s2.requests : 1),
           (double)s1.bytes / (double)(s2.bytes ? s2.bytes : 1), s1.seconds / s2.seconds);
    printf("before OPTIMIZE / bulk-loaded: full scan requests %.2fx, time %.2fx\n",
           (double)s0.requests / (double)(s2.requests ? s2.requests : 1), s0.seconds / s2.seconds);
    free(keys);
    if (argc <= 1) {
        snprintf(sql, sizeof(sql), "rm -rf '%s'", dir);
        if (system(sql) != 0)
            fprintf(stderr, "cannot remove %s\n", dir);
    }
    return 0;
}
