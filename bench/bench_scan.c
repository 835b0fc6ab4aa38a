/*
 * bench_scan: the reference workload of issue 17 (scans at DuckDB's speed, data at DuckDB's
 * size), Exp Store against DuckDB on the same data in one run, printing the table.
 *
 *   bench_scan [DIR]       ROWS=10000000 by default (ROWS=1000000 for a quick run), REPS=5
 *
 * Data: the table events of bench.h (id BIGINT key, ts TIMESTAMP, user_id INT, category TEXT of
 * 20 values, amount DOUBLE, note TEXT of 0-40 letters) written once as DIR/events.csv; each
 * engine loads that file (Exp Store: COPY events FROM, into a table with PRIMARY KEY (id), the
 * local backend in DIR/expstore; DuckDB 1.x through the npm package @duckdb/node-api,
 * bench/bench_scan_duckdb.mjs, INSERT ... SELECT FROM read_csv into a table without a primary
 * key, then CHECKPOINT). Then every query of `queries` runs REPS times in each engine, warm, in
 * one session (Exp Store: es_sql_exec in this process, pulling every result batch; DuckDB:
 * runAndReadAll in node); the engines run one after the other, never at the same time.
 * Exp Store's queries are warm as DuckDB's are: the handle's column cache
 * (es_store_set_cache_limit) holds the decoded columns after the first run, as DuckDB's buffer pool
 * holds its blocks; GROUP BY category and the filter are then printed once more with that cache off
 * (every batch fetched and decompressed again: the cold decoding cost).
 *
 * Printed per query: the median wall time of each engine, the ratio DuckDB / Exp Store (>= 1:
 * Exp Store is as fast or faster), the median CPU time of each engine's process (all threads;
 * on a shared machine wall time moves with the load, CPU time much less), and whether the
 * results are equal (values compared as text, numbers with a relative tolerance of 1e-9).
 * "size" is the bytes of the objects in the store (DIR/expstore, removed at the start of each
 * run, so only this run's table counts) against the DuckDB database file.
 *
 * On S3 (ES_TEST_S3_URI set, as tests/s3/with-env sets it; Ceph RGW on loopback):
 *
 *   tests/s3/rgw-start /tmp/rgw && ROWS=1000000 tests/s3/with-env /tmp/rgw rgw \
 *       build/bench/bench_scan DIR
 *
 * the same CSV is loaded into a store there and every query runs once warm (after a first
 * run) on one handle with the column cache off (so that it fetches its data); printed per query:
 * the handle's requests, bytes fetched, sequential round trips (es_objstore_stats, the read refresh
 * included) and milliseconds, the data requests (the scan's own, as EXPLAIN ANALYZE counts them:
 * the read refresh left out) and the bytes per data request, and the compressed column chunks the
 * query needs (per the .idx: every batch of the columns a full scan reads; for the filter only its
 * predicate column, a lower bound). The checks of issue 17: a full scan reads its columns in
 * requests of about 1 MB or more and fetches at most 1.5x the chunks it needs; a point query takes
 * at most 2 requests and 130 KB; a 1,000-key range one or two batches (at most 3 requests). A fresh
 * handle's point query (open, then the query) is printed too. ES_S3_ONLY=1 runs only this section.
 *
 * For work on the load: LOAD_ONLY=1 runs only the load row (and size), ENGINES=expstore (or
 * duckdb) runs one engine, REUSE_CSV=1 keeps an existing DIR/events.csv; Exp Store's peak RSS
 * (this process) is printed after its load.
 */
#include <ftw.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "bench.h"
#include "expstore/expstore.h"
#include "expstore/sql.h"
#include "objstore/objstore.h"
#include "table/table.h"

typedef struct query {
    const char *name;
    int reps; /* times REPS */
    char sql[256];
} query;

enum { Q_LOAD = 0, Q_FIRST };
#define N_Q 9
static query queries[N_Q] = {
    {"load", 1, ""},
    {"group category", 1,
     "SELECT category, count(*), sum(amount), avg(amount) FROM events GROUP BY category "
     "ORDER BY category"},
    {"group user_id", 1,
     "SELECT user_id, count(*) FROM events GROUP BY user_id ORDER BY count(*) DESC, user_id "
     "LIMIT 5"},
    {"like", 1, "SELECT count(*) FROM events WHERE note LIKE '%xyz%'"},
    {"filter", 1, "SELECT count(*), sum(amount) FROM events WHERE user_id = 4242"},
    {"min max", 1, "SELECT min(ts), max(ts), min(amount), max(amount) FROM events"},
    {"range 10k", 5, ""},
    {"range 1k", 5, ""},
    {"point", 5, ""},
};
static const char *q_names[N_Q];
static double wall_es[N_Q], wall_duck[N_Q], cpu_es[N_Q], cpu_duck[N_Q];
static char *res_es[N_Q], *res_duck[N_Q];
static int64_t size_es, size_duck = -1;
static int reps = 5;
/* The handle's column cache after the queries, and GROUP BY category and the filter run again
 * with it off (the cold decoding cost). */
static const int off_q[2] = {1, 4};
static double wall_off[2], cpu_off[2];
static int64_t cache_bytes, cache_chunks, cache_budget;

static int n_q = N_Q; /* Q_FIRST with LOAD_ONLY */

/* ENGINES: the engines to run (a list naming expstore, duckdb; default both). */
static int engine_on(const char *name)
{
    const char *e = getenv("ENGINES");
    return !e || !*e || strstr(e, name) != NULL;
}

/* ------------------------------------------------------------------ DuckDB */

static void duck_line(const char *line, void *arg)
{
    (void)arg;
    char name[64];
    int n = 0;
    if (bench_parse_step(line, "step", q_names, N_Q, wall_duck) ||
        bench_parse_step(line, "cpu", q_names, N_Q, cpu_duck))
        return;
    if (sscanf(line, "result %63s %n", name, &n) == 1 && n > 0) {
        for (int i = 0; i < N_Q; i++) {
            char want[64];
            snprintf(want, sizeof want, "%s", q_names[i]);
            for (char *c = want; *c; c++)
                if (*c == ' ')
                    *c = '_';
            if (strcmp(want, name) == 0)
                res_duck[i] = strdup(line + n);
        }
        return;
    }
    if (sscanf(line, "size %" SCNd64, &size_duck) == 1)
        return;
    printf("duckdb: %s\n", line);
}

/* ---------------------------------------------------------------- Exp Store */

static es_sql_session *ses;

/* Run sql; append the result's rows as text to *text (rows joined by ';', values by '|') when
 * text is not NULL. */
static void es_run(const char *sql, char **text)
{
    es_sql_result r = ES_SQL_RESULT_INIT;
    if (es_sql_exec(ses, sql, &r) != ES_OK) {
        fprintf(stderr, "bench_scan: expstore: %s: %s\n", sql, es_sql_errmsg(ses));
        exit(1);
    }
    size_t cap = 1024, len = 0;
    char *out = NULL;
    if (text) {
        out = malloc(cap);
        out[0] = 0;
    }
    if (r.has_rows) {
        struct ArrowSchema sc;
        if (r.stream.get_schema(&r.stream, &sc) != 0)
            exit(1);
        for (;;) {
            struct ArrowArray a;
            if (r.stream.get_next(&r.stream, &a) != 0) {
                fprintf(stderr, "bench_scan: expstore: %s: %s\n", sql,
                        r.stream.get_last_error(&r.stream));
                exit(1);
            }
            if (!a.release)
                break;
            es_array_view v;
            if (text && es_array_view_init(&v, &sc, &a, NULL) == ES_OK) {
                for (int64_t i = 0; i < a.length; i++) {
                    for (int64_t c = 0; c < v.n_children; c++) {
                        char buf[128];
                        int64_t n = 0;
                        const char *s = "";
                        if (!es_view_is_null(&v.children[c], i))
                            s = es_sql_format_value(&v.children[c], i, buf, sizeof buf, &n);
                        while (len + (size_t)n + 3 > cap)
                            out = realloc(out, cap *= 2);
                        if (c || len)
                            out[len++] = c ? '|' : ';';
                        memcpy(out + len, s, (size_t)n);
                        len += (size_t)n;
                        out[len] = 0;
                    }
                }
                es_array_view_reset(&v);
            }
            a.release(&a);
        }
        es_schema_release(&sc);
    }
    es_sql_result_reset(&r);
    if (text) {
        free(*text);
        *text = out;
    }
}

static int64_t tree_bytes;
static int add_size(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    if (flag == FTW_F)
        tree_bytes += sb->st_size;
    return 0;
}

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 ? 0 : -1;
}

/* Run query q n times: the medians of its wall and CPU times; its result as text (nullable). */
static void time_query(int q, int n, double *wall, double *cpu, char **text)
{
    double *w = calloc((size_t)n, sizeof *w), *c = calloc((size_t)n, sizeof *c);
    for (int i = 0; i < n; i++) {
        double w0 = bench_now_s(), c0 = bench_cpu();
        es_run(queries[q].sql, text);
        w[i] = bench_now_s() - w0;
        c[i] = bench_cpu() - c0;
    }
    *wall = bench_median(w, n);
    *cpu = bench_median(c, n);
    free(w);
    free(c);
}

static void run_expstore(const char *dir)
{
    char path[1100];
    snprintf(path, sizeof path, "%.900s/expstore", dir);
    /* Start from an empty store, so "size" counts only this run's table (a dropped table's
     * objects stay until a vacuum). */
    struct stat st;
    if (lstat(path, &st) == 0 && nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0) {
        fprintf(stderr, "bench_scan: cannot remove %s\n", path);
        exit(1);
    }
    es_store *s = NULL;
    bench_open_store(&s, &ses, dir);
    es_run("CREATE TABLE events (id BIGINT NOT NULL PRIMARY KEY, ts TIMESTAMP, user_id INTEGER, "
           "category TEXT, amount DOUBLE, note TEXT)",
           NULL);
    char sql[1200];
    snprintf(sql, sizeof sql, "COPY events FROM '%.900s/events.csv'", dir);
    double w0 = bench_now_s(), c0 = bench_cpu();
    es_run(sql, NULL);
    wall_es[Q_LOAD] = bench_now_s() - w0;
    cpu_es[Q_LOAD] = bench_cpu() - c0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("expstore: load peak RSS %.0f MB\n", (double)ru.ru_maxrss / 1024);
    tree_bytes = 0;
    nftw(path, add_size, 16, FTW_PHYS);
    size_es = tree_bytes;
    for (int q = Q_FIRST; q < n_q; q++)
        time_query(q, queries[q].reps * reps, &wall_es[q], &cpu_es[q], &res_es[q]);
    es_store_cache_usage(s, &cache_bytes, &cache_chunks);
    cache_budget = es_store_cache_limit(s);
    es_store_set_cache_limit(s, 0);
    for (int k = 0; n_q > Q_FIRST && k < 2; k++)
        time_query(off_q[k], reps, &wall_off[k], &cpu_off[k], NULL);
    es_store_set_cache_limit(s, -1);
    es_sql_session_close(ses);
    es_store_close(s);
}

/* ---------------------------------------------------------------------- S3 */

/* Bytes of the compressed chunks of the named columns in every batch of the table's parts
 * (with each batch's metadata), from the .idx objects. */
static int64_t needed_bytes(es_store *s, const char *const *cols, int n)
{
    es_tabledef *t = NULL;
    es_error err;
    int64_t total = 0, req = 0, bytes = 0;
    if (es_store_table(&t, s, "events", -1, &err) != ES_OK)
        bench_die("events", &err);
    for (int64_t p = 0; p < t->n_parts; p++) {
        es_part_idx *x = NULL;
        if (t->parts[p]->inline_ipc)
            continue;
        if (es_store_part_idx(&x, s, t, t->parts[p], &req, &bytes, &err) != ES_OK)
            bench_die("idx", &err);
        for (int64_t k = 0; k < x->n_cols; k++) {
            const char *name = NULL;
            for (int64_t c = 0; c < t->n_cols; c++)
                if (t->cols[c].id == x->col_ids[k])
                    name = t->cols[c].name;
            int want = 0;
            for (int i = 0; i < n && name; i++)
                want |= strcmp(cols[i], name) == 0;
            for (int64_t b = 0; want && b < x->n_batches; b++)
                total += es_part_idx_bytes(x, b * x->n_cols + k); /* (a page: its pieces) */
        }
        for (int64_t b = 0; n > 0 && b < x->n_batches; b++)
            total += es_part_idx_meta_fetch(x, b); /* (pages: none) */
        es_part_idx_free(x);
    }
    es_tabledef_unref(t);
    return total;
}

typedef struct s3_fig {
    int64_t requests, bytes, round_trips;
    double ms;
    int64_t scan_requests; /* the scans' own (EXPLAIN ANALYZE): the read refresh left out */
} s3_fig;

/* The query run through EXPLAIN ANALYZE: every request and byte the store saw, and the
 * requests its scans made (the "requests:" lines). */
static s3_fig s3_query(es_store *s, const char *sql)
{
    es_objstore_stats a, b;
    char ex[400];
    char *text = NULL;
    snprintf(ex, sizeof ex, "EXPLAIN ANALYZE %s", sql);
    es_objstore_get_stats(s->os, &a);
    double t0 = bench_now_s();
    es_run(ex, &text);
    s3_fig f = {0, 0, 0, (bench_now_s() - t0) * 1e3, 0};
    es_objstore_get_stats(s->os, &b);
    for (int op = 0; op < ES_OP_COUNT; op++) {
        f.requests += b.requests[op] - a.requests[op];
        f.bytes += b.bytes_in[op] - a.bytes_in[op];
    }
    f.round_trips = b.round_trips - a.round_trips;
    for (const char *p = text; p && (p = strstr(p, "  requests: ")); p += 12)
        f.scan_requests += strtoll(p + 12, NULL, 10);
    free(text);
    return f;
}

static void run_s3(const char *uri, const char *dir)
{
    es_store *s = NULL;
    if (es_store_open(&s, uri, NULL) != ES_OK || es_sql_session_open(&ses, s) != ES_OK) {
        fprintf(stderr, "bench_scan: cannot open %s: %s\n", uri, s ? es_store_errmsg(s) : "");
        exit(1);
    }
    /* Requests and bytes are what this section measures: the column cache off, so that a
     * warm query still fetches its data (the .idx stay cached, as in a session). */
    es_store_set_cache_limit(s, 0);
    es_run("CREATE TABLE events (id BIGINT NOT NULL PRIMARY KEY, ts TIMESTAMP, user_id INTEGER, "
           "category TEXT, amount DOUBLE, note TEXT)",
           NULL);
    char sql[1200];
    snprintf(sql, sizeof sql, "COPY events FROM '%.900s/events.csv'", dir);
    double t0 = bench_now_s();
    es_run(sql, NULL);
    printf("\nS3 (%s): loaded in %.1f s; per query, warm (the read refresh included), the column "
           "cache off:\n\n",
           uri, bench_now_s() - t0);
    static const char *const need_cols[N_Q][3] = {
        {NULL}, {"category", "amount"}, {"user_id"}, {"note"}, {"user_id"}, {NULL}, {NULL}, {NULL},
        {NULL},
    };
    printf(
        "| query | requests | data requests | MB fetched | MB needed | fetched/needed | KB per "
        "data request | round trips | ms | check |\n|---|---|---|---|---|---|---|---|---|---|\n");
    for (int q = Q_FIRST; q < N_Q; q++) {
        es_run(queries[q].sql, NULL); /* warm: the .idx cached, as in a session */
        s3_fig f = s3_query(s, queries[q].sql);
        int nc = 0;
        while (nc < 3 && need_cols[q][nc])
            nc++;
        int64_t need = nc ? needed_bytes(s, need_cols[q], nc) : 0;
        /* Per data request: the scan's requests (the read refresh's GET of the log left out:
         * it fetches nothing when no version is new). */
        double per_req = f.scan_requests ? (double)f.bytes / (double)f.scan_requests / 1024 : 0;
        const char *check = "";
        if (q >= 1 && q <= 3) /* full scans: about 1 MB per request, within 1.5x */
            check = per_req >= 900 && (double)f.bytes <= 1.5 * (double)need ? "ok" : "NO";
        else if (q == 7)
            check = f.requests <= 3 ? "ok" : "NO";
        else if (q == 8)
            check = f.requests <= 2 && f.bytes <= 130 * 1024 ? "ok" : "NO";
        printf("| %s | %" PRId64 " | %" PRId64 " | %.2f | ", queries[q].name, f.requests,
               f.scan_requests, (double)f.bytes / 1e6);
        if (need)
            printf("%.2f%s | %.2f | ", (double)need / 1e6, q == 4 ? " (predicate)" : "",
                   (double)f.bytes / (double)need);
        else
            printf("- | - | ");
        printf("%.0f | %" PRId64 " | %.1f | %s |\n", per_req, f.round_trips, f.ms, check);
    }
    /* With the column cache (the default): the second run of a full scan fetches no data. */
    es_store_set_cache_limit(s, -1);
    for (int k = 0; k < 2; k++) {
        es_run(queries[off_q[k]].sql, NULL);
        s3_fig f = s3_query(s, queries[off_q[k]].sql);
        printf("\nwith the column cache, %s again: %" PRId64 " requests, %.3f MB, %" PRId64
               " round trips, %.1f ms",
               queries[off_q[k]].name, f.requests, (double)f.bytes / 1e6, f.round_trips, f.ms);
    }
    printf("\n");
    es_sql_session_close(ses);
    es_store_close(s);
    /* A fresh handle, as a new process: open, then the point query. */
    es_objstore *os = NULL;
    es_error err;
    if (es_objstore_open(&os, uri, &err) != ES_OK)
        bench_die(uri, &err);
    t0 = bench_now_s();
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    if (es_store_open_objstore(&s, os, 1, &o, &err) != ES_OK ||
        es_sql_session_open(&ses, s) != ES_OK)
        bench_die("open", &err);
    s3_fig f = s3_query(s, queries[8].sql);
    es_objstore_stats all;
    es_objstore_get_stats(os, &all);
    int64_t req = 0;
    for (int op = 0; op < ES_OP_COUNT; op++)
        req += all.requests[op];
    printf("\nfresh handle, open + point query: %" PRId64 " requests, %" PRId64
           " round trips (the query alone: %" PRId64 " requests, %" PRId64
           " round trips), %.1f ms\n",
           req, all.round_trips, f.requests, f.round_trips, (bench_now_s() - t0) * 1e3);
    es_sql_session_close(ses);
    es_store_close(s);
}

/* ------------------------------------------------------------------- main */

/* Equal results: the same values in the same order; numbers within a relative 1e-9. */
static int same_result(const char *a, const char *b)
{
    if (!a || !b)
        return 0;
    while (*a || *b) {
        size_t la = strcspn(a, "|;"), lb = strcspn(b, "|;");
        char *ea, *eb;
        double x = strtod(a, &ea), y = strtod(b, &eb);
        int num = la > 0 && lb > 0 && ea == a + la && eb == b + lb;
        if (num ? fabs(x - y) > 1e-9 * fmax(fabs(x), fabs(y)) : la != lb || memcmp(a, b, la) != 0)
            return 0;
        if (a[la] != b[lb])
            return 0;
        a += la + (a[la] != 0);
        b += lb + (b[lb] != 0);
    }
    return 1;
}

static void print_ms(double t)
{
    if (t < 0)
        printf(" %10s", "-");
    else if (t < 0.01)
        printf(" %10.3f", t * 1000);
    else
        printf(" %10.1f", t * 1000);
}

int main(int argc, char **argv)
{
    const char *env = getenv("ROWS");
    int64_t rows_n = env ? strtoll(env, NULL, 10) : 10000000;
    if (getenv("REPS"))
        reps = atoi(getenv("REPS"));
    if (rows_n < 100000 || reps < 1) {
        fprintf(stderr, "bench_scan: ROWS must be at least 100000, REPS at least 1\n");
        return 1;
    }
    char dir[1024];
    bench_dir(dir, sizeof dir, argc, argv, "bench_scan");
    int64_t mid = rows_n / 2;
    snprintf(queries[6].sql, sizeof queries[6].sql,
             "SELECT sum(amount) FROM events WHERE id BETWEEN %" PRId64 " AND %" PRId64, mid,
             mid + 9999);
    snprintf(queries[7].sql, sizeof queries[7].sql,
             "SELECT sum(amount) FROM events WHERE id BETWEEN %" PRId64 " AND %" PRId64,
             mid + 20000, mid + 20999);
    snprintf(queries[8].sql, sizeof queries[8].sql,
             "SELECT sum(amount) FROM events WHERE id = %" PRId64, mid + 31337);
    for (int q = 0; q < N_Q; q++) {
        q_names[q] = queries[q].name;
        wall_duck[q] = cpu_duck[q] = -1;
    }

    char path[1100];
    if (getenv("LOAD_ONLY"))
        n_q = Q_FIRST;
    snprintf(path, sizeof path, "%s/events.csv", dir);
    struct stat cst;
    if (!getenv("REUSE_CSV") || stat(path, &cst) != 0)
        bench_write_events_csv(path, rows_n);
    snprintf(path, sizeof path, "%s/queries.tsv", dir);
    FILE *f = fopen(path, "w");
    for (int q = Q_FIRST; q < n_q; q++)
        fprintf(f, "%s\t%d\t%s\n", queries[q].name, queries[q].reps * reps, queries[q].sql);
    fclose(f);
    printf("bench_scan: %" PRId64 " rows in %s, median of %d runs (x5 for the key rows)\n", rows_n,
           dir, reps);
    fflush(stdout);

    const char *s3 = getenv("ES_TEST_S3_URI");
    if (s3 && *s3 && getenv("ES_S3_ONLY")) { /* only the S3 section */
        run_s3(s3, dir);
        return 0;
    }
    if (engine_on("duckdb"))
        bench_run_node("bench_scan_duckdb.mjs", dir, duck_line, NULL);
    if (engine_on("expstore"))
        run_expstore(dir);

    printf("\n%-16s %10s %10s %8s %10s %10s  %s\n", "query", "expstore", "duckdb", "ratio",
           "es cpu", "duck cpu", "results");
    printf("%-16s %10s %10s %8s %10s %10s\n", "", "ms", "ms", "duck/es", "ms", "ms");
    for (int q = 0; q < n_q; q++) {
        printf("%-16s", queries[q].name);
        print_ms(wall_es[q]);
        print_ms(wall_duck[q]);
        if (wall_duck[q] > 0 && wall_es[q] > 0)
            printf(" %7.2fx", wall_duck[q] / wall_es[q]);
        else
            printf(" %8s", "-");
        print_ms(cpu_es[q]);
        print_ms(cpu_duck[q]);
        printf("  %s\n", q == Q_LOAD                           ? ""
                         : same_result(res_es[q], res_duck[q]) ? "equal"
                                                               : "DIFFER");
    }
    printf("%-16s %8.1f MB %8.1f MB %7.2fx\n", "size", (double)size_es / 1e6,
           (double)size_duck / 1e6, size_duck > 0 ? (double)size_duck / (double)size_es : 0.0);
    if (n_q > Q_FIRST)
        printf("\ncolumn cache after the queries: %.1f MB in %" PRId64 " chunks (budget %.0f MB); "
               "with it off (es_store_set_cache_limit 0: every batch fetched and decoded again):\n",
               (double)cache_bytes / 1e6, cache_chunks, (double)cache_budget / 1e6);
    for (int k = 0; n_q > Q_FIRST && k < 2; k++) {
        int q = off_q[k];
        printf("%-16s", queries[q].name);
        print_ms(wall_off[k]);
        print_ms(wall_duck[q]);
        if (wall_duck[q] > 0 && wall_off[k] > 0)
            printf(" %7.2fx", wall_duck[q] / wall_off[k]);
        else
            printf(" %8s", "-");
        print_ms(cpu_off[k]);
        print_ms(cpu_duck[q]);
        printf("  cache off (cached: %.1f ms wall, %.1f ms cpu)\n", wall_es[q] * 1000,
               cpu_es[q] * 1000);
    }
    for (int q = Q_FIRST; q < n_q; q++)
        if (!same_result(res_es[q], res_duck[q]))
            printf("%s: expstore %.200s | duckdb %.200s\n", queries[q].name,
                   res_es[q] ? res_es[q] : "-", res_duck[q] ? res_duck[q] : "-");
    if (s3 && *s3)
        run_s3(s3, dir);
    for (int q = 0; q < N_Q; q++) {
        free(res_es[q]);
        free(res_duck[q]);
    }
    return 0;
}
