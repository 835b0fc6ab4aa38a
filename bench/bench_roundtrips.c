/*
 * bench_roundtrips: sequential round trips, requests and bytes per query with an injected
 * latency per round trip (the fault store's ES_FAULT_LATENCY_MS), on the local store and, when
 * ES_TEST_S3_URI is set (tests/s3/with-env), on S3 (Ceph RGW on loopback): a point query by key
 * from a fresh handle (as a new process would: open, then the query) and warm (the same handle
 * again), a full scan of two columns fresh and warm, and the point query from a fresh handle
 * again after 1,000 more commits (a log longer than one LIST page). Warm rows run with the column
 * cache off (es_store_set_cache_limit 0), so that they fetch their data ("warm, cached": with it,
 * after a first run). Figures, not assertions; round trips are es_objstore_stats.round_trips
 * (requests in flight at once count once).
 *
 *   build/bench/bench_roundtrips [rows] [latency_ms]        (default 1000000 rows, 10 ms)
 *   tests/s3/rgw-start /tmp/rgw && tests/s3/with-env /tmp/rgw rgw build/bench/bench_roundtrips
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "objstore/objstore.h"
#include "table/table.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Rows [from, to) of (id, user_id, amount) into table in one insert. */
static void insert_rows(es_store *s, const char *table, struct ArrowSchema *sc, int64_t from,
                        int64_t to)
{
    es_builder *b = NULL;
    es_builder_new(&b, sc, NULL);
    for (int64_t i = from; i < to; i++) {
        es_builder_append_int(es_builder_child(b, 0), i);
        es_builder_append_int(es_builder_child(b, 1), (int64_t)(bench_rnd() % 100000));
        es_builder_append_double(es_builder_child(b, 2), (double)(bench_rnd() % 100000) / 100);
        es_builder_append_struct(b);
    }
    struct ArrowArray arr;
    es_builder_finish(b, &arr, NULL);
    if (es_insert_batch(s, table, sc, &arr) != ES_OK) {
        es_error e;
        es_error_set(&e, ES_IO, 0, "%s", es_store_errmsg(s));
        bench_die("insert", &e);
    }
    es_builder_free(b);
}

static void load(const char *uri, int64_t rows)
{
    es_store *s = NULL;
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    if (es_store_open(&s, uri, &o) != ES_OK)
        bench_die(uri, NULL);
    struct ArrowSchema sc;
    es_schema_init_struct(&sc, 3, NULL);
    es_schema_init(sc.children[0], "l", "id", 0, NULL);
    es_schema_init(sc.children[1], "i", "user_id", 0, NULL);
    es_schema_init(sc.children[2], "g", "amount", 0, NULL);
    if (es_table_create(s, "events", &sc, "id", 0) != ES_OK) {
        es_error e;
        es_error_set(&e, ES_IO, 0, "%s", es_store_errmsg(s));
        bench_die("create", &e);
    }
    if (es_table_create(s, "parts8", &sc, "id", 0) != ES_OK)
        bench_die("create parts8", NULL);
    for (int k = 0; k < 8; k++) /* the same rows in 8 parts */
        insert_rows(s, "parts8", &sc, k * (rows / 8), (k + 1) * (rows / 8));
    insert_rows(s, "events", &sc, 0, rows);
    sc.release(&sc);
    es_store_close(s);
}

/* 1,000 commits that add no part (a table created and dropped): the log is then longer than
 * one LIST page, with a checkpoint every 10 versions. */
static void lengthen(const char *uri)
{
    es_store *s = NULL;
    if (es_store_open(&s, uri, NULL) != ES_OK)
        bench_die(uri, NULL);
    struct ArrowSchema sc;
    es_schema_init_struct(&sc, 1, NULL);
    es_schema_init(sc.children[0], "l", "k", 0, NULL);
    for (int i = 0; i < 1000; i++)
        if ((i % 2 ? es_table_drop(s, "x", 0) : es_table_create(s, "x", &sc, NULL, 0)) != ES_OK)
            bench_die("lengthen", NULL);
    sc.release(&sc);
    es_store_close(s);
}

typedef struct fig {
    int64_t round_trips, requests, bytes, rows;
    double ms;
} fig;

static const char *table_name = "events";

static fig run_query(es_store *s, es_objstore *os, int point, int64_t key, double t0,
                     es_objstore_stats *base)
{
    es_scan_options so = ES_SCAN_OPTIONS_INIT;
    const char *cols[] = {"user_id", "amount"};
    es_expr *e = point ? es_expr_cmp("id", ES_EQ, (es_value){ES_VALUE_INT, key, 0, NULL, 0}) : NULL;
    so.predicate = e;
    if (!point) {
        so.columns = cols;
        so.n_columns = 2;
    }
    fig f = {0, 0, 0, 0, 0};
    struct ArrowArrayStream st;
    if (es_scan(s, table_name, &so, &st) != ES_OK)
        bench_die("scan", NULL);
    for (;;) {
        struct ArrowArray a;
        if (st.get_next(&st, &a) != 0 || !a.release)
            break;
        f.rows += a.length;
        a.release(&a);
    }
    st.release(&st);
    es_expr_free(e);
    f.ms = now_ms() - t0;
    es_objstore_stats now;
    es_objstore_get_stats(os, &now);
    f.round_trips = now.round_trips - base->round_trips;
    for (int k = 0; k < ES_OP_COUNT; k++) {
        f.requests += now.requests[k] - base->requests[k];
        f.bytes += now.bytes_in[k] - base->bytes_in[k];
    }
    return f;
}

static void print(const char *where, const char *what, fig f)
{
    printf("| %-6s | %-28s | %11lld | %8lld | %10.1f | %8.1f | %8lld |\n", where, what,
           (long long)f.round_trips, (long long)f.requests, f.bytes / 1024.0, f.ms,
           (long long)f.rows);
}

/* The rows of the table above; with `fresh_only`, the point query from a fresh handle alone,
 * printed under that name. */
static void bench(const char *where, const char *uri, double latency_ms, const char *fresh_only)
{
    char furi[600], ms[32];
    snprintf(furi, sizeof(furi), "fault+%s", uri);
    snprintf(ms, sizeof(ms), "%g", latency_ms);
    setenv("ES_FAULT_LATENCY_MS", ms, 1);
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    for (int point = 1; point >= (fresh_only ? 1 : 0); point--) {
        es_objstore *os = NULL;
        es_error err;
        double t0 = now_ms();
        if (es_objstore_open(&os, furi, &err))
            bench_die(furi, &err);
        es_objstore_stats base;
        es_objstore_get_stats(os, &base);
        es_store *s = NULL;
        if (es_store_open_objstore(&s, os, 0, &o, &err))
            bench_die("open", &err);
        /* The column cache off: a warm query fetches its data again (what it measures). */
        es_store_set_cache_limit(s, 0);
        fig f = run_query(s, os, point, 4242, t0, &base);
        print(where,
              fresh_only ? fresh_only
              : point    ? "point query, fresh handle"
                         : "full scan, fresh handle",
              f);
        if (fresh_only) {
            es_store_close(s);
            es_objstore_close(os);
            unsetenv("ES_FAULT_LATENCY_MS");
            return;
        }
        t0 = now_ms();
        es_objstore_get_stats(os, &base);
        f = run_query(s, os, point, 4243, t0, &base);
        print(where, point ? "point query, warm" : "full scan, warm", f);
        /* With the column cache (the default), after a first run. */
        es_store_set_cache_limit(s, -1);
        (void)run_query(s, os, point, 4244, now_ms(), &base);
        t0 = now_ms();
        es_objstore_get_stats(os, &base);
        f = run_query(s, os, point, 4244, t0, &base);
        print(where, point ? "point query, warm, cached" : "full scan, warm, cached", f);
        es_store_close(s);
        es_objstore_close(os);
    }
    /* A full scan of the same rows in 8 parts, warm, with and without the prefetch of the
     * next part's first window (scan_ahead.c; ES_SCAN_NO_AHEAD turns it off). */
    table_name = "parts8";
    for (int ahead = 1; ahead >= 0; ahead--) {
        es_objstore *os = NULL;
        es_error err;
        if (es_objstore_open(&os, furi, &err))
            bench_die(furi, &err);
        es_store *s = NULL;
        if (es_store_open_objstore(&s, os, 0, &o, &err))
            bench_die("open", &err);
        es_store_set_cache_limit(s, 0);
        es_objstore_stats base;
        es_objstore_get_stats(os, &base);
        (void)run_query(s, os, 0, 0, now_ms(), &base); /* .idx cached */
        if (!ahead)
            setenv("ES_SCAN_NO_AHEAD", "1", 1);
        es_objstore_get_stats(os, &base);
        fig f = run_query(s, os, 0, 0, now_ms(), &base);
        unsetenv("ES_SCAN_NO_AHEAD");
        print(where, ahead ? "8 parts, warm" : "8 parts, warm, no prefetch", f);
        es_store_close(s);
        es_objstore_close(os);
    }
    table_name = "events";
    unsetenv("ES_FAULT_LATENCY_MS");
}

int main(int argc, char **argv)
{
    int64_t rows = argc > 1 ? atoll(argv[1]) : 1000000;
    double latency = argc > 2 ? atof(argv[2]) : 10;
    char dir[] = "/tmp/bench_roundtrips_XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char local[600];
    snprintf(local, sizeof(local), "%s/store", dir);
    load(local, rows);
    const char *s3 = getenv("ES_TEST_S3_URI");
    if (s3 && *s3)
        load(s3, rows);
    printf("bench_roundtrips: %lld rows (id key, user_id, amount), %g ms injected per round "
           "trip\n\n",
           (long long)rows, latency);
    printf("| store  | query                        | round trips | requests | KB fetched |       "
           "ms |     rows |\n|---|---|---|---|---|---|---|\n");
    bench("local", local, latency, NULL);
    if (s3 && *s3)
        bench("s3", s3, latency, NULL);
    const char *longer = "point, fresh, 1,000 more v.";
    lengthen(local);
    bench("local", local, latency, longer);
    if (s3 && *s3) {
        lengthen(s3);
        bench("s3", s3, latency, longer);
    }
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return 0;
}
