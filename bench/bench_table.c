/*
 * bench_table: ingest and query figures for the reference table on the local backend, with
 * SQLite run on the same data in the same program for ratios.
 *
 *   bench_table [ROWS] [DIR]     (default 10,000,000 rows, a fresh directory under /tmp)
 *
 * Environment: ES_BENCH_BATCH_ROWS overrides es_open_options.batch_rows (default: the library
 * default); ES_BENCH_POINTS sets the number of point lookups (default 10,000).
 *
 * Reference table: id BIGINT PRIMARY KEY, ts TIMESTAMP(us), user_id INT, category TEXT (20
 * values), amount DOUBLE, note TEXT. Measured: ingest (rows/s, MB/s of raw column bytes), a
 * full-scan aggregate (SUM(amount) WHERE category = 'cat07'), 100 narrow key ranges (1,000 rows
 * each), 10 selective lookups on a non-key column (user_id), and 10,000 point lookups by key.
 * SQLite uses a file database in the same directory (journal_mode=WAL, synchronous=NORMAL, one
 * transaction per ingest chunk).
 */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "expstore/expstore.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of the process: the machine may be shared, so wall times alone mislead. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(es_store *s, const char *what)
{
    fprintf(stderr, "bench_table: %s: %s\n", what, s ? es_store_errmsg(s) : "?");
    exit(1);
}

static es_value vint(int64_t i)
{
    es_value v = {ES_VALUE_INT, i, 0, NULL, 0};
    return v;
}

/* Drain a stream; sum column `col` as double when col >= 0. */
static int64_t drain(struct ArrowArrayStream *st, int col, double *sum)
{
    struct ArrowSchema sc;
    int64_t n = 0;
    if (st->get_schema(st, &sc) != 0)
        return -1;
    for (;;) {
        struct ArrowArray a;
        if (st->get_next(st, &a) != 0) {
            fprintf(stderr, "scan: %s\n", st->get_last_error(st));
            exit(1);
        }
        if (!a.release)
            break;
        if (col >= 0 && sum) {
            es_array_view v;
            if (es_array_view_init(&v, &sc, &a, NULL) == ES_OK) {
                for (int64_t i = 0; i < v.length; i++)
                    if (!es_view_is_null(&v.children[col], i))
                        *sum += es_view_get_double(&v.children[col], i);
                es_array_view_reset(&v);
            }
        }
        n += a.length;
        a.release(&a);
    }
    sc.release(&sc);
    return n;
}

int main(int argc, char **argv)
{
    int64_t rows = argc > 1 ? atoll(argv[1]) : 10000000;
    char dir[256];
    if (argc > 2) {
        snprintf(dir, sizeof(dir), "%s", argv[2]);
    } else {
        snprintf(dir, sizeof(dir), "/tmp/es_bench_XXXXXX");
        if (!mkdtemp(dir))
            return 1;
    }
    char store_dir[300], db_path[300];
    snprintf(store_dir, sizeof(store_dir), "%s/store", dir);
    snprintf(db_path, sizeof(db_path), "%s/sqlite.db", dir);
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("bench_table: %lld rows, local store %s\n", (long long)rows, store_dir);

    es_store *s = NULL;
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    const char *env_batch = getenv("ES_BENCH_BATCH_ROWS");
    if (env_batch && atoll(env_batch) > 0)
        o.batch_rows = atoll(env_batch);
    const char *env_points = getenv("ES_BENCH_POINTS");
    int n_points = env_points && atoi(env_points) > 0 ? atoi(env_points) : 10000;
    printf("batch_rows %lld, %d point lookups\n", (long long)o.batch_rows, n_points);
    if (es_store_open(&s, store_dir, &o) != ES_OK)
        die(s, "open");
    static const char *names[] = {"id", "ts", "user_id", "category", "amount", "note"};
    static const char *fmts[] = {"l", "tsu:", "i", "u", "g", "u"};
    struct ArrowSchema sc;
    es_schema_init_struct(&sc, 6, NULL);
    for (int i = 0; i < 6; i++)
        es_schema_init(sc.children[i], fmts[i], names[i], i ? ARROW_FLAG_NULLABLE : 0, NULL);
    if (es_table_create(s, "ref", &sc, "id", 1) != ES_OK)
        die(s, "create");

    sqlite3 *db = NULL;
    if (sqlite3_open(db_path, &db) != SQLITE_OK)
        return 1;
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL, NULL);
    sqlite3_exec(db,
                 "CREATE TABLE ref(id INTEGER PRIMARY KEY, ts INTEGER, user_id INTEGER, "
                 "category TEXT, amount REAL, note TEXT)",
                 NULL, NULL, NULL);
    sqlite3_stmt *ins = NULL;
    sqlite3_prepare_v2(db, "INSERT INTO ref VALUES(?,?,?,?,?,?)", -1, &ins, NULL);

    /* Ingest in chunks of 1M rows (one es_insert_batch and one SQLite transaction each). */
    int64_t chunk = 1000000;
    double t_es = 0, t_sq = 0, raw_bytes = 0, c_es = 0;
    es_builder *b = NULL;
    es_builder_new(&b, &sc, NULL);
    for (int64_t base = 0; base < rows; base += chunk) {
        int64_t n = rows - base < chunk ? rows - base : chunk;
        sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
        double t0 = now_s();
        for (int64_t r = 0; r < n; r++) {
            int64_t id = base + r;
            int64_t ts = 1700000000000000 + id * 1000;
            int32_t user = (int32_t)(bench_rnd() % 100000);
            char cat[8], note[40];
            snprintf(cat, sizeof(cat), "cat%02d", (int)(bench_rnd() % 20));
            int nl = snprintf(note, sizeof(note), "note %llu",
                              (unsigned long long)(bench_rnd() % 1000000007));
            double amount = (double)(bench_rnd() % 100000) / 100.0;
            es_builder_append_int(es_builder_child(b, 0), id);
            es_builder_append_int(es_builder_child(b, 1), ts);
            es_builder_append_int(es_builder_child(b, 2), user);
            es_builder_append_bytes(es_builder_child(b, 3), cat, 5);
            es_builder_append_double(es_builder_child(b, 4), amount);
            es_builder_append_bytes(es_builder_child(b, 5), note, nl);
            es_builder_append_struct(b);
            raw_bytes += 8 + 8 + 4 + 5 + 8 + nl;
            sqlite3_reset(ins);
            sqlite3_bind_int64(ins, 1, id);
            sqlite3_bind_int64(ins, 2, ts);
            sqlite3_bind_int(ins, 3, user);
            sqlite3_bind_text(ins, 4, cat, 5, SQLITE_TRANSIENT);
            sqlite3_bind_double(ins, 5, amount);
            sqlite3_bind_text(ins, 6, note, nl, SQLITE_TRANSIENT);
            sqlite3_step(ins);
        }
        double t1 = now_s();
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
        double t2 = now_s();
        struct ArrowArray arr;
        es_builder_finish(b, &arr, NULL);
        double t3 = now_s(), c3 = cpu_s();
        if (es_insert_batch(s, "ref", &sc, &arr) != ES_OK)
            die(s, "insert");
        double t4 = now_s();
        c_es += cpu_s() - c3;
        /* SQLite's time includes its statement steps (interleaved with building the batch,
         * which is not counted for Exp Store): approximate by half of the loop. */
        t_sq += (t1 - t0) * 0.5 + (t2 - t1);
        t_es += t4 - t3;
    }
    sqlite3_finalize(ins);
    es_builder_free(b);
    printf("ingest      expstore %8.2f s  %10.0f rows/s  %7.1f MB/s (cpu %.2f s: %.0f rows/s) | "
           "sqlite %8.2f s  %10.0f rows/s | ratio %.2fx\n",
           t_es, rows / t_es, raw_bytes / t_es / 1e6, c_es, rows / c_es, t_sq, rows / t_sq,
           t_sq / t_es);

    /* Full-scan aggregate: SUM(amount) WHERE category = 'cat07'. */
    {
        es_scan_options so = ES_SCAN_OPTIONS_INIT;
        es_scan_stats stats;
        const char *cols[] = {"amount"};
        es_value v = {ES_VALUE_BYTES, 0, 0, (const uint8_t *)"cat07", 5};
        es_expr *e = es_expr_cmp("category", ES_EQ, v);
        so.columns = cols;
        so.n_columns = 1;
        so.predicate = e;
        so.stats = &stats;
        double sum = 0, t0 = now_s(), c0 = cpu_s();
        struct ArrowArrayStream st;
        if (es_scan(s, "ref", &so, &st) != ES_OK)
            die(s, "scan");
        int64_t n = drain(&st, 0, &sum);
        st.release(&st);
        double t1 = now_s(), c1 = cpu_s();
        sqlite3_stmt *q = NULL;
        sqlite3_prepare_v2(db, "SELECT COUNT(*), SUM(amount) FROM ref WHERE category='cat07'", -1,
                           &q, NULL);
        sqlite3_step(q);
        int64_t sn = sqlite3_column_int64(q, 0);
        double ssum = sqlite3_column_double(q, 1);
        sqlite3_finalize(q);
        double t2 = now_s(), c2 = cpu_s();
        printf("full scan   expstore %8.3f s cpu %.3f s (%lld rows, sum %.2f, %lld requests, %.1f "
               "MB) | sqlite %8.3f s cpu %.3f s (%lld rows, sum %.2f) | ratio %.2fx\n",
               t1 - t0, c1 - c0, (long long)n, sum, (long long)stats.requests,
               stats.bytes_fetched / 1e6, t2 - t1, c2 - c1, (long long)sn, ssum,
               (t2 - t1) / (t1 - t0));
        es_expr_free(e);
    }
    /* 100 narrow key ranges of 1,000 rows. */
    {
        double t_a = 0, t_b = 0, c_a = 0;
        int64_t got = 0, sgot = 0, req = 0, bytes = 0;
        sqlite3_stmt *q = NULL;
        sqlite3_prepare_v2(db, "SELECT SUM(amount), COUNT(*) FROM ref WHERE id BETWEEN ? AND ?", -1,
                           &q, NULL);
        for (int k = 0; k < 100; k++) {
            int64_t lo = (int64_t)(bench_rnd() % (uint64_t)(rows - 1000));
            es_scan_options so = ES_SCAN_OPTIONS_INIT;
            es_scan_stats stats;
            const char *cols[] = {"id", "amount"};
            es_expr *e = es_expr_between("id", vint(lo), vint(lo + 999));
            so.columns = cols;
            so.n_columns = 2;
            so.predicate = e;
            so.stats = &stats;
            double sum = 0, t0 = now_s(), c0 = cpu_s();
            struct ArrowArrayStream st;
            if (es_scan(s, "ref", &so, &st) != ES_OK)
                die(s, "scan");
            got += drain(&st, 1, &sum);
            st.release(&st);
            double t1 = now_s();
            c_a += cpu_s() - c0;
            sqlite3_reset(q);
            sqlite3_bind_int64(q, 1, lo);
            sqlite3_bind_int64(q, 2, lo + 999);
            sqlite3_step(q);
            sgot += sqlite3_column_int64(q, 1);
            double t2 = now_s();
            t_a += t1 - t0;
            t_b += t2 - t1;
            req += stats.requests;
            bytes += stats.bytes_fetched;
            es_expr_free(e);
        }
        sqlite3_finalize(q);
        printf("key range   expstore %8.3f ms/query cpu %.3f ms (%lld rows, %.1f requests, %.0f KB "
               "each) | sqlite %8.3f ms/query (%lld rows) | ratio %.2fx\n",
               t_a * 10, c_a * 10, (long long)got, req / 100.0, bytes / 100.0 / 1024, t_b * 10,
               (long long)sgot, t_b / t_a);
    }
    /* 10 selective lookups on a column that is not the key (all columns, ~rows/100,000 rows
     * each): every batch is a candidate, so only fetching the predicate column first helps. */
    {
        double t_a = 0, t_b = 0, c_a = 0;
        int64_t got = 0, sgot = 0, req = 0, bytes = 0;
        sqlite3_stmt *q = NULL;
        sqlite3_prepare_v2(db, "SELECT * FROM ref WHERE user_id = ?", -1, &q, NULL);
        for (int k = 0; k < 10; k++) {
            int64_t user = (int64_t)(bench_rnd() % 100000);
            es_scan_options so = ES_SCAN_OPTIONS_INIT;
            es_scan_stats stats;
            es_expr *e = es_expr_cmp("user_id", ES_EQ, vint(user));
            so.predicate = e;
            so.stats = &stats;
            double t0 = now_s(), c0 = cpu_s();
            struct ArrowArrayStream st;
            if (es_scan(s, "ref", &so, &st) != ES_OK)
                die(s, "scan");
            got += drain(&st, -1, NULL);
            st.release(&st);
            double t1 = now_s();
            c_a += cpu_s() - c0;
            sqlite3_reset(q);
            sqlite3_bind_int64(q, 1, user);
            while (sqlite3_step(q) == SQLITE_ROW)
                sgot++;
            double t2 = now_s();
            t_a += t1 - t0;
            t_b += t2 - t1;
            req += stats.requests;
            bytes += stats.bytes_fetched;
            es_expr_free(e);
        }
        sqlite3_finalize(q);
        printf("non-key eq  expstore %8.3f ms/query cpu %.3f ms (%lld rows, %.0f requests, %.1f MB "
               "each) | sqlite %8.3f ms/query (%lld rows) | ratio %.2fx\n",
               t_a * 100, c_a * 100, (long long)got, req / 10.0, bytes / 10.0 / 1e6, t_b * 100,
               (long long)sgot, t_b / t_a);
    }
    /* n_points (10,000) point lookups, all columns. */
    {
        double t_a = 0, t_b = 0, c_a = 0;
        int64_t got = 0, sgot = 0;
        sqlite3_stmt *q = NULL;
        sqlite3_prepare_v2(db, "SELECT * FROM ref WHERE id = ?", -1, &q, NULL);
        for (int k = 0; k < n_points; k++) {
            int64_t key = (int64_t)(bench_rnd() % (uint64_t)rows);
            es_scan_options so = ES_SCAN_OPTIONS_INIT;
            es_expr *e = es_expr_cmp("id", ES_EQ, vint(key));
            so.predicate = e;
            double t0 = now_s(), c0 = cpu_s();
            struct ArrowArrayStream st;
            if (es_scan(s, "ref", &so, &st) != ES_OK)
                die(s, "scan");
            got += drain(&st, -1, NULL);
            st.release(&st);
            double t1 = now_s();
            c_a += cpu_s() - c0;
            sqlite3_reset(q);
            sqlite3_bind_int64(q, 1, key);
            if (sqlite3_step(q) == SQLITE_ROW)
                sgot++;
            double t2 = now_s();
            t_a += t1 - t0;
            t_b += t2 - t1;
            es_expr_free(e);
        }
        sqlite3_finalize(q);
        printf("point       expstore %8.3f ms/lookup cpu %.3f ms (%lld found) | sqlite %8.4f "
               "ms/lookup (%lld found) | ratio %.3fx\n",
               t_a * 1000 / n_points, c_a * 1000 / n_points, (long long)got, t_b * 1000 / n_points,
               (long long)sgot, t_b / t_a);
    }
    sqlite3_close(db);
    sc.release(&sc);
    es_store_close(s);
    if (argc <= 2) {
        char cmd[400];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", dir);
    }
    return 0;
}
