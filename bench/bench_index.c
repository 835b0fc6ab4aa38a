/*
 * bench_index: secondary indexes and the enforced primary key on the reference table
 * (bench.h), Exp Store against DuckDB (CREATE INDEX: an ART) and SQLite (CREATE INDEX:
 * a B-tree) on the same machine in one run, with ratios and the targets of issue 16.
 *
 *   bench_index [DIR]     ROWS=10000000 by default (ROWS=1000000 for a quick run);
 *                         LOOKUPS=10000 lookups with an index; BATCH_ROWS: Exp Store's rows
 *                         per batch (default 8192, the reference table's); a lookup with few
 *                         hits reads only their rows' values (src/table/lookup.c), so the
 *                         batch size matters little to it;
 *                         with ES_TEST_S3_URI set (as
 *                         tests/s3/with-env sets it) also bytes and requests per lookup on S3,
 *                         on S3_ROWS rows (default 1000000), and those of the first lookup
 *                         (the column cache empty); ENGINES: the engines to run (a list naming
 *                         expstore, duckdb, sqlite; default all; "none" for the S3 part only):
 *     tests/s3/rgw-start /tmp/rgw && tests/s3/with-env /tmp/rgw rgw build/bench/bench_index
 *     ENGINES=none ROWS=100000 tests/s3/with-env /tmp/rgw rgw build/bench/bench_index
 *
 * Steps, each engine on its own copy (times are wall seconds, and under each the CPU seconds of
 * the engine's process, all threads: the machine may be shared). Stores are as each engine
 * makes them by default (Exp Store: ZSTD bodies); SQLite gets a 1 GB page cache:
 *
 *   load (PK)        the table into a new table with PRIMARY KEY (id), enforced unique by all
 *                    three (Exp Store: es_insert of Arrow batches built beforehand; SQLite:
 *                    prepared INSERTs in one transaction; DuckDB: INSERT ... SELECT from CSV)
 *   load (PK+index)  the same into a new table that has an index on user_id before the load
 *   count no index   SELECT count(*) FROM events WHERE user_id = k (median of 5 keys)
 *   lookup no index  SELECT * FROM events WHERE user_id = k (mean of 5 keys; the row "x10000"
 *                    projects that to 10,000 lookups)
 *   CREATE INDEX     CREATE INDEX events_user ON events (user_id)
 *   count index      the count with the index (mean of 100 keys)
 *   10000 lookups    SELECT * FROM events WHERE user_id = k for LOOKUPS random keys, all rows
 *                    read (Exp Store through es_sql_exec, SQLite through sqlite3_exec, DuckDB
 *                    through a prepared statement in node, bench_index_duckdb.mjs)
 *
 * Each engine also prints the number of rows its lookups returned, which must agree. Targets:
 * indexed lookups within 3x of SQLite's and faster than DuckDB's; the load with the key
 * enforced faster than DuckDB's load with its PRIMARY KEY.
 */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "expstore/expstore.h"
#include "expstore/sql.h"
#include "table/table.h" /* the handle's object store, for its request counters */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t rows_n, lookups_n;
#define SLOW_KEYS 5
#define COUNT_KEYS 100

enum { S_LOAD = 0, S_LOAD_IX, S_COUNT_NOIX, S_LOOK_NOIX, S_CREATE_IX, S_COUNT_IX, S_LOOKUPS, S_N };
static const char *step_names[S_N] = {"load (PK)",       "load (PK+index)", "count no index",
                                      "lookup no index", "CREATE INDEX",    "count index",
                                      "lookups"};
static double t_es[S_N], t_duck[S_N], t_sq[S_N]; /* wall seconds */
static double c_es[S_N], c_duck[S_N], c_sq[S_N]; /* CPU seconds of the engine's process */
static double w0, cpu0;

static void t_start(void)
{
    w0 = bench_now_s();
    cpu0 = bench_cpu();
}

/* Wall and CPU seconds since t_start, divided by n. */
static void t_stop(double *w, double *c, int n)
{
    *w = (bench_now_s() - w0) / n;
    *c = (bench_cpu() - cpu0) / n;
}

/* ENGINES: the engines to run (a list naming expstore, duckdb, sqlite; default all). */
static int engine_on(const char *name)
{
    const char *e = getenv("ENGINES");
    return !e || !*e || strstr(e, name) != NULL;
}
static int64_t found_es, found_duck = -1, found_sq;

/* The keys looked up, the same for every engine. */
static int32_t *keys;

/* ----------------------------------------------------------------- Exp Store */

static es_sql_session *ses;

/* Run sql; the rows it returned (all batches read). */
static int64_t es_rows(const char *sql)
{
    es_sql_result r = ES_SQL_RESULT_INIT;
    es_status st = es_sql_exec(ses, sql, &r);
    int64_t n = 0;
    while (st == ES_OK && r.has_rows) {
        struct ArrowArray a;
        if (r.stream.get_next(&r.stream, &a) != 0 || !a.release)
            break;
        n += a.length;
        a.release(&a);
    }
    es_sql_result_reset(&r);
    if (st != ES_OK) {
        fprintf(stderr, "bench_index: expstore: %.200s: %s\n", sql, es_sql_errmsg(ses));
        exit(1);
    }
    return n;
}

static double es_load(es_store *s, const char *table, double *cpu)
{
    struct ArrowSchema sc;
    bench_events_schema(&sc);
    es_builder *b = NULL;
    es_builder_new(&b, &sc, NULL);
    int64_t nb;
    struct ArrowArray *batches = bench_events_batches(b, rows_n, &nb);
    es_builder_free(b);
    struct ArrowArrayStream st;
    es_stream_from_batches(&st, &sc, batches, nb, NULL);
    double t;
    t_start();
    if (es_insert(s, table, &st) != ES_OK) {
        fprintf(stderr, "bench_index: expstore load: %s\n", es_store_errmsg(s));
        exit(1);
    }
    t_stop(&t, cpu, 1);
    free(batches);
    es_schema_release(&sc);
    return t;
}

static const char *DDL = "(id BIGINT NOT NULL PRIMARY KEY, ts TIMESTAMP, user_id INTEGER, "
                         "category TEXT, amount DOUBLE, note TEXT)";

static void run_expstore(const char *dir)
{
    char path[1024], sql[256];
    snprintf(path, sizeof path, "%.900s/expstore", dir);
    es_store *s = NULL;
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    const char *br = getenv("BATCH_ROWS");
    if (br)
        o.batch_rows = strtoll(br, NULL, 10);
    if (es_store_open(&s, path, &o) != ES_OK || es_sql_session_open(&ses, s) != ES_OK) {
        fprintf(stderr, "bench_index: cannot open %s\n", path);
        exit(1);
    }
    snprintf(sql, sizeof sql, "CREATE TABLE events %s", DDL);
    es_rows(sql);
    t_es[S_LOAD] = es_load(s, "events", &c_es[S_LOAD]);
    snprintf(sql, sizeof sql, "CREATE TABLE events2 %s", DDL);
    es_rows(sql);
    es_rows("CREATE INDEX events2_user ON events2 (user_id)");
    t_es[S_LOAD_IX] = es_load(s, "events2", &c_es[S_LOAD_IX]);
    es_rows("DROP TABLE events2");
    printf("expstore: loaded\n");
    fflush(stdout);
    double t[SLOW_KEYS];
    for (int i = 0; i < SLOW_KEYS; i++) {
        snprintf(sql, sizeof sql, "SELECT count(*) FROM events WHERE user_id = %d", keys[i]);
        double t0 = now_s();
        es_rows(sql);
        t[i] = now_s() - t0;
    }
    t_es[S_COUNT_NOIX] = t[SLOW_KEYS / 2];
    t_start();
    for (int i = 0; i < SLOW_KEYS; i++) {
        snprintf(sql, sizeof sql, "SELECT * FROM events WHERE user_id = %d", keys[i]);
        es_rows(sql);
    }
    t_stop(&t_es[S_LOOK_NOIX], &c_es[S_LOOK_NOIX], SLOW_KEYS);
    t_start();
    es_rows("CREATE INDEX events_user ON events (user_id)");
    t_stop(&t_es[S_CREATE_IX], &c_es[S_CREATE_IX], 1);
    t_start();
    for (int i = 0; i < COUNT_KEYS; i++) {
        snprintf(sql, sizeof sql, "SELECT count(*) FROM events WHERE user_id = %d", keys[i]);
        es_rows(sql);
    }
    t_stop(&t_es[S_COUNT_IX], &c_es[S_COUNT_IX], COUNT_KEYS);
    found_es = 0;
    t_start();
    for (int64_t i = 0; i < lookups_n; i++) {
        snprintf(sql, sizeof sql, "SELECT * FROM events WHERE user_id = %d", keys[i]);
        found_es += es_rows(sql);
    }
    t_stop(&t_es[S_LOOKUPS], &c_es[S_LOOKUPS], 1);
    es_sql_session_close(ses);
    es_store_close(s);
}

/* Bytes and requests per lookup on S3, with and without the index (es_scan_stats of the scan,
 * and every request of the handle including its catalog refresh). */
static void run_s3(const char *uri)
{
    const char *env = getenv("S3_ROWS");
    int64_t saved = rows_n;
    rows_n = env ? strtoll(env, NULL, 10) : 1000000;
    es_store *s = NULL;
    if (es_store_open(&s, uri, NULL) != ES_OK || es_sql_session_open(&ses, s) != ES_OK) {
        fprintf(stderr, "bench_index: cannot open %s: %s\n", uri, s ? es_store_errmsg(s) : "");
        exit(1);
    }
    char sql[256];
    snprintf(sql, sizeof sql, "CREATE TABLE events %s", DDL);
    es_rows(sql);
    double cl, tl = es_load(s, "events", &cl);
    printf("\nS3 (%s): %" PRId64 " rows loaded in %.1f s (CPU %.1f s)\n", uri, rows_n, tl, cl);
    for (int with = 0; with < 2; with++) {
        if (with)
            es_rows("CREATE INDEX events_user ON events (user_id)");
        int n = with ? 100 : SLOW_KEYS;
        int64_t req = 0, bytes = 0, rows = 0, all_req = 0, req1 = 0, bytes1 = 0;
        double t0 = now_s(), t1 = 0;
        for (int i = 0; i < n; i++) {
            es_expr *e =
                es_expr_cmp("user_id", ES_EQ, (es_value){.kind = ES_VALUE_INT, .i = keys[i]});
            es_scan_stats stats;
            es_scan_options o = ES_SCAN_OPTIONS_INIT;
            o.predicate = e;
            o.stats = &stats;
            struct ArrowArrayStream st;
            es_objstore_stats before, after;
            es_objstore_get_stats(s->os, &before);
            if (es_scan(s, "events", &o, &st) != ES_OK) {
                fprintf(stderr, "bench_index: s3 scan: %s\n", es_store_errmsg(s));
                exit(1);
            }
            struct ArrowArray a;
            while (st.get_next(&st, &a) == 0 && a.release) {
                rows += a.length;
                a.release(&a);
            }
            st.release(&st);
            es_objstore_get_stats(s->os, &after);
            for (int op = 0; op < ES_OP_COUNT; op++)
                all_req += after.requests[op] - before.requests[op];
            req += stats.requests;
            bytes += stats.bytes_fetched;
            if (i == 0) { /* the first: nothing cached but the catalog */
                req1 = stats.requests;
                bytes1 = stats.bytes_fetched;
                t1 = now_s() - t0;
            }
            es_expr_free(e);
        }
        double t = (now_s() - t0) / n;
        printf("  lookup %s index: %.1f requests (%.1f with the catalog refresh), %.0f bytes, "
               "%.1f rows, %.2f ms per lookup (%d lookups)\n",
               with ? "with an" : "without", (double)req / n, (double)all_req / n,
               (double)bytes / n, (double)rows / n, t * 1e3, n);
        printf("    the first of them (column cache empty): %" PRId64 " requests, %" PRId64
               " bytes, %.2f ms\n",
               req1, bytes1, t1 * 1e3);
    }
    es_sql_session_close(ses);
    es_store_close(s);
    rows_n = saved;
}

/* ----------------------------------------------------------------- SQLite */

static sqlite3 *db;

static int count_cb(void *arg, int n, char **vals, char **names)
{
    (void)n;
    (void)vals;
    (void)names;
    (*(int64_t *)arg)++;
    return 0;
}

static int64_t sq_rows(const char *sql)
{
    char *msg = NULL;
    int64_t n = 0;
    if (sqlite3_exec(db, sql, count_cb, &n, &msg) != SQLITE_OK) {
        fprintf(stderr, "bench_index: sqlite: %s: %s\n", sql, msg);
        exit(1);
    }
    return n;
}

static double sq_load(const char *table, double *cpu)
{
    char sql[128];
    snprintf(sql, sizeof sql, "INSERT INTO %s VALUES (?, ?, ?, ?, ?, ?)", table);
    sqlite3_stmt *ins;
    t_start();
    sq_rows("BEGIN");
    sqlite3_prepare_v2(db, sql, -1, &ins, NULL);
    for (int64_t i = 0; i < rows_n; i++) {
        bench_row r;
        char ts[32], cat[16];
        bench_make_row(&r, i, 0);
        bench_format_ts(ts, sizeof ts, r.ts_us);
        snprintf(cat, sizeof cat, "category_%02d", r.cat);
        sqlite3_reset(ins);
        sqlite3_bind_int64(ins, 1, r.id);
        sqlite3_bind_text(ins, 2, ts, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(ins, 3, r.user_id);
        sqlite3_bind_text(ins, 4, cat, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(ins, 5, r.amount);
        sqlite3_bind_text(ins, 6, r.note, r.note_len, SQLITE_TRANSIENT);
        sqlite3_step(ins);
    }
    sqlite3_finalize(ins);
    sq_rows("COMMIT");
    double t;
    t_stop(&t, cpu, 1);
    return t;
}

static void run_sqlite(const char *dir)
{
    char path[1024], sql[256];
    snprintf(path, sizeof path, "%.900s/sqlite.db", dir);
    unlink(path);
    if (sqlite3_open(path, &db) != SQLITE_OK) {
        fprintf(stderr, "bench_index: sqlite open %s\n", path);
        exit(1);
    }
    /* A 1 GB page cache (the default is 2 MB): the indexed load at 10M rows would otherwise
     * take over an hour of random B-tree page reads and writes. */
    sq_rows("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-1000000;");
    static const char *cols = "(id INTEGER PRIMARY KEY, ts TEXT, user_id INTEGER, "
                              "category TEXT, amount REAL, note TEXT)";
    snprintf(sql, sizeof sql, "CREATE TABLE events %s", cols);
    sq_rows(sql);
    t_sq[S_LOAD] = sq_load("events", &c_sq[S_LOAD]);
    snprintf(sql, sizeof sql, "CREATE TABLE events2 %s", cols);
    sq_rows(sql);
    sq_rows("CREATE INDEX events2_user ON events2 (user_id)");
    t_sq[S_LOAD_IX] = sq_load("events2", &c_sq[S_LOAD_IX]);
    sq_rows("DROP TABLE events2");
    printf("sqlite: loaded\n");
    fflush(stdout);
    double t[SLOW_KEYS];
    for (int i = 0; i < SLOW_KEYS; i++) {
        snprintf(sql, sizeof sql, "SELECT count(*) FROM events WHERE user_id = %d", keys[i]);
        double t0 = now_s();
        sq_rows(sql);
        t[i] = now_s() - t0;
    }
    t_sq[S_COUNT_NOIX] = t[SLOW_KEYS / 2];
    t_start();
    for (int i = 0; i < SLOW_KEYS; i++) {
        snprintf(sql, sizeof sql, "SELECT * FROM events WHERE user_id = %d", keys[i]);
        sq_rows(sql);
    }
    t_stop(&t_sq[S_LOOK_NOIX], &c_sq[S_LOOK_NOIX], SLOW_KEYS);
    t_start();
    sq_rows("CREATE INDEX events_user ON events (user_id)");
    t_stop(&t_sq[S_CREATE_IX], &c_sq[S_CREATE_IX], 1);
    t_start();
    for (int i = 0; i < COUNT_KEYS; i++) {
        snprintf(sql, sizeof sql, "SELECT count(*) FROM events WHERE user_id = %d", keys[i]);
        sq_rows(sql);
    }
    t_stop(&t_sq[S_COUNT_IX], &c_sq[S_COUNT_IX], COUNT_KEYS);
    found_sq = 0;
    t_start();
    for (int64_t i = 0; i < lookups_n; i++) {
        snprintf(sql, sizeof sql, "SELECT * FROM events WHERE user_id = %d", keys[i]);
        found_sq += sq_rows(sql);
    }
    t_stop(&t_sq[S_LOOKUPS], &c_sq[S_LOOKUPS], 1);
    sqlite3_close(db);
}

/* ----------------------------------------------------------------- DuckDB */

static void duck_line(const char *line, void *arg)
{
    (void)arg;
    long long found;
    if (bench_parse_step(line, "step", step_names, S_N, t_duck) ||
        bench_parse_step(line, "cpu", step_names, S_N, c_duck))
        return;
    if (sscanf(line, "found %lld", &found) == 1)
        found_duck = found;
    else
        printf("duckdb: %s\n", line);
}

static void run_duckdb(const char *dir)
{
    for (int i = 0; i < S_N; i++)
        t_duck[i] = c_duck[i] = -1;
    bench_run_node("bench_index_duckdb.mjs", dir, duck_line, NULL);
}

/* ------------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    const char *env = getenv("ROWS");
    rows_n = env ? strtoll(env, NULL, 10) : 10000000;
    env = getenv("LOOKUPS");
    lookups_n = env ? strtoll(env, NULL, 10) : 10000;
    if (rows_n < 100000 || lookups_n < COUNT_KEYS) {
        fprintf(stderr, "bench_index: ROWS must be at least 100000, LOOKUPS at least %d\n",
                COUNT_KEYS);
        return 1;
    }
    char dir[1024];
    if (argc > 1) {
        snprintf(dir, sizeof dir, "%s", argv[1]);
        mkdir(dir, 0755);
    } else {
        snprintf(dir, sizeof dir, "/tmp/es_bench_index_XXXXXX");
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            return 1;
        }
    }
    keys = malloc(sizeof(int32_t) * (size_t)lookups_n);
    char path[1100];
    snprintf(path, sizeof path, "%s/keys.txt", dir);
    FILE *f = fopen(path, "w");
    for (int64_t i = 0; i < lookups_n; i++) {
        keys[i] = (int32_t)(bench_rnd() % 100000);
        fprintf(f, "%d\n", keys[i]);
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/events.csv", dir);
    f = fopen(path, "w");
    for (int64_t i = 0; i < rows_n; i++) {
        bench_row r;
        bench_make_row(&r, i, 0);
        bench_csv_row(f, &r);
    }
    fclose(f);
    printf("bench_index: %" PRId64 " rows, %" PRId64 " lookups, in %s\n", rows_n, lookups_n, dir);
    fflush(stdout);
    for (int i = 0; i < S_N; i++)
        t_duck[i] = c_duck[i] = t_es[i] = c_es[i] = t_sq[i] = c_sq[i] = -1;
    if (engine_on("duckdb"))
        run_duckdb(dir);
    if (engine_on("expstore"))
        run_expstore(dir);
    if (engine_on("sqlite"))
        run_sqlite(dir);

    printf("\n%-20s %11s %11s %11s %9s %9s\n", "step (seconds)", "expstore", "duckdb", "sqlite",
           "duck/es", "sqlite/es");
    for (int i = 0; i < S_N; i++) {
        if (i == S_LOOKUPS)
            printf("%-13s %6" PRId64, "lookups", lookups_n);
        else
            printf("%-20s", step_names[i]);
        bench_print_seconds(t_es[i]);
        bench_print_seconds(t_duck[i]);
        bench_print_seconds(t_sq[i]);
        bench_print_ratio(t_duck[i], t_es[i]);
        bench_print_ratio(t_sq[i], t_es[i]);
        printf("\n%-20s", "  CPU");
        bench_print_seconds(c_es[i]);
        bench_print_seconds(c_duck[i]);
        bench_print_seconds(c_sq[i]);
        bench_print_ratio(c_duck[i], c_es[i]);
        bench_print_ratio(c_sq[i], c_es[i]);
        printf("\n");
    }
    printf("%-20s", "x10000 no index");
    bench_print_seconds(t_es[S_LOOK_NOIX] * 10000);
    bench_print_seconds(t_duck[S_LOOK_NOIX] < 0 ? -1 : t_duck[S_LOOK_NOIX] * 10000);
    bench_print_seconds(t_sq[S_LOOK_NOIX] * 10000);
    printf("   (projected from %d lookups)\n", SLOW_KEYS);
    printf("rows found by the lookups: expstore %" PRId64 ", duckdb %" PRId64 ", sqlite %" PRId64
           "%s\n",
           found_es, found_duck, found_sq,
           found_es == found_sq && (found_duck < 0 || found_duck == found_es) ? " (agree)"
                                                                              : " (DIFFER)");
    double l = t_es[S_LOOKUPS], ls = t_sq[S_LOOKUPS], ld = t_duck[S_LOOKUPS];
    printf("\ntargets:\n");
    printf("  indexed lookups within 3x of SQLite's: %s (%.2fx)\n", l <= 3 * ls ? "met" : "NOT met",
           l / ls);
    if (ld > 0)
        printf("  indexed lookups faster than DuckDB's: %s (%.2fx)\n", l < ld ? "met" : "NOT met",
               ld / l);
    else
        printf("  indexed lookups faster than DuckDB's: not measured (node or DuckDB missing)\n");
    if (t_duck[S_LOAD] > 0)
        printf("  load with the key enforced faster than DuckDB's with its PRIMARY KEY: %s "
               "(%.2fx)\n",
               t_es[S_LOAD] < t_duck[S_LOAD] ? "met" : "NOT met", t_duck[S_LOAD] / t_es[S_LOAD]);
    else
        printf("  load faster than DuckDB's: not measured (node or DuckDB missing)\n");
    const char *s3 = getenv("ES_TEST_S3_URI");
    if (s3 && *s3)
        run_s3(s3);
    free(keys);
    return 0;
}
