/*
 * bench_dml: deletes, updates and upserts through SQL on the reference table, Exp Store
 * against DuckDB and SQLite on the same machine in one run, with ratios.
 *
 *   bench_dml [DIR]        ROWS=10000000 by default (e.g. ROWS=1000000 for a quick run);
 *                          DUCKDB_UPSERT=0 leaves out DuckDB's upsert, which is slow
 *
 * Table events: id BIGINT primary key, ts TIMESTAMP (4 rows per second from 2024-01-01),
 * user_id INT (uniform in [0, 100000)), category TEXT (20 values), amount DOUBLE (cents),
 * note TEXT (0 to 40 random letters). Steps, in this order, each engine on its own copy:
 *
 *   scan before    SELECT category, count(*), sum(amount) FROM events GROUP BY category
 *                  (median of 3)
 *   DELETE 1%      DELETE FROM events WHERE user_id < 1000              (a non-key predicate)
 *   scan after     the same GROUP BY after the delete (median of 3; the ratio after/before)
 *   UPDATE 1%      UPDATE events SET amount = amount * 2, note = 'updated'
 *                  WHERE user_id >= 99000                               (scattered rows)
 *   upsert 100k    100,000 rows by key, half of them existing keys spread over the table and
 *                  half new: Exp Store es_upsert (ES_UPSERT_REPLACE) of Arrow batches built
 *                  beforehand; the peers INSERT OR REPLACE INTO events SELECT * FROM a staging
 *                  table loaded beforehand
 *   upsert (SQL)   Exp Store only, for reference: the same rows as one INSERT ... VALUES ...
 *                  ON CONFLICT (id) DO UPDATE SET (every column = excluded.column) statement,
 *                  parsing included
 *
 * Exp Store: the local backend in DIR, statements through es_sql_exec in this process.
 * SQLite: a file database in DIR (journal_mode=WAL, synchronous=NORMAL), id INTEGER PRIMARY
 * KEY, statements through sqlite3_exec in this process. DuckDB: a file database in DIR with
 * PRIMARY KEY (id) (ON CONFLICT needs it), through the npm package @duckdb/node-api
 * (bench/bench_dml_duckdb.mjs, run with node; its timings are taken inside node around each
 * statement); also DELETE 1% on a copy without the primary key, which DuckDB deletes from much
 * faster. Times are wall seconds of one statement; the machine may be shared. After the
 * steps each engine prints count(*) and sum(amount), which must agree.
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

static int64_t rows_n;
#define UPSERT_ROWS 100000

static const char *Q_GROUP =
    "SELECT category, count(*), sum(amount) FROM events GROUP BY category ORDER BY category";
static const char *Q_DELETE = "DELETE FROM events WHERE user_id < 1000";
static const char *Q_UPDATE =
    "UPDATE events SET amount = amount * 2, note = 'updated' WHERE user_id >= 99000";
static const char *Q_CHECK = "SELECT count(*), sum(amount) FROM events";

/* ---------------------------------------------------------------- results */

enum {
    S_SCAN_BEFORE = 0,
    S_DELETE,
    S_SCAN_AFTER,
    S_UPDATE,
    S_UPSERT,
    S_UPSERT_SQL,
    S_DELETE_NOPK,
    S_N
};
static const char *step_names[S_N] = {"scan before",      "DELETE 1%",   "scan after",
                                      "UPDATE 1%",        "upsert 100k", "upsert 100k (SQL)",
                                      "DELETE 1% (no PK)"};
static double t_es[S_N], t_duck[S_N], t_sq[S_N];
static double c_es[S_N], c_duck[S_N], c_sq[S_N]; /* CPU seconds */
static double cpu_last;                          /* of the last es_time, sq_time or median3 */
static char check_es[128], check_duck[128], check_sq[128];

/* ----------------------------------------------------------------- Exp Store */

static es_sql_session *ses;

static double es_time(const char *sql)
{
    es_sql_result r = ES_SQL_RESULT_INIT;
    double t0 = bench_now_s(), c0 = bench_cpu();
    es_status st = es_sql_exec(ses, sql, &r);
    if (st == ES_OK && r.has_rows) {
        for (;;) {
            struct ArrowArray a;
            if (r.stream.get_next(&r.stream, &a) != 0 || !a.release)
                break;
            a.release(&a);
        }
    }
    double t = bench_now_s() - t0;
    cpu_last = bench_cpu() - c0;
    es_sql_result_reset(&r);
    if (st != ES_OK) {
        fprintf(stderr, "bench_dml: expstore: %s: %s\n", sql, es_sql_errmsg(ses));
        exit(1);
    }
    return t;
}

static double median3(double (*f)(const char *), const char *sql)
{
    double w[3], c[3];
    for (int i = 0; i < 3; i++) {
        w[i] = f(sql);
        c[i] = cpu_last;
    }
    cpu_last = bench_median(c, 3);
    return bench_median(w, 3);
}

static void es_check(void)
{
    es_sql_result r = ES_SQL_RESULT_INIT;
    struct ArrowSchema sc;
    struct ArrowArray a;
    es_array_view v;
    if (es_sql_exec(ses, Q_CHECK, &r) != ES_OK || r.stream.get_schema(&r.stream, &sc) != 0 ||
        r.stream.get_next(&r.stream, &a) != 0 || !a.release ||
        es_array_view_init(&v, &sc, &a, NULL) != ES_OK) {
        fprintf(stderr, "bench_dml: expstore check: %s\n", es_sql_errmsg(ses));
        exit(1);
    }
    snprintf(check_es, sizeof check_es, "%" PRId64 " rows, sum %.2f",
             es_view_get_int(&v.children[0], 0), es_view_get_double(&v.children[1], 0));
    es_array_view_reset(&v);
    a.release(&a);
    es_schema_release(&sc);
    es_sql_result_reset(&r);
}

static void run_expstore(const char *dir, const bench_row *ups)
{
    es_store *s = NULL;
    bench_open_store(&s, &ses, dir);
    es_time("CREATE TABLE events (id BIGINT NOT NULL PRIMARY KEY, ts TIMESTAMP, user_id INTEGER, "
            "category TEXT, amount DOUBLE, note TEXT)");
    /* Load: the same rows as the CSV (the generator is re-seeded by the caller). */
    struct ArrowSchema sc;
    bench_events_schema(&sc);
    es_builder *b = NULL;
    es_builder_new(&b, &sc, NULL);
    int64_t nb;
    double t0 = bench_now_s();
    struct ArrowArray *batches = bench_events_batches(b, rows_n, &nb);
    struct ArrowArrayStream st;
    es_stream_from_batches(&st, &sc, batches, nb, NULL);
    if (es_insert(s, "events", &st) != ES_OK) {
        fprintf(stderr, "bench_dml: expstore load: %s\n", es_store_errmsg(s));
        exit(1);
    }
    free(batches);
    printf("expstore: loaded %" PRId64 " rows in %.1f s\n", rows_n, bench_now_s() - t0);
    fflush(stdout);
    /* The upsert's rows, built before the clock starts. */
    struct ArrowArray ub;
    for (int64_t i = 0; i < UPSERT_ROWS; i++)
        bench_append_row(b, &ups[i]);
    es_builder_finish(b, &ub, NULL);
    es_builder_free(b);

    t_es[S_SCAN_BEFORE] = median3(es_time, Q_GROUP);
    c_es[S_SCAN_BEFORE] = cpu_last;
    t_es[S_DELETE] = es_time(Q_DELETE);
    c_es[S_DELETE] = cpu_last;
    t_es[S_SCAN_AFTER] = median3(es_time, Q_GROUP);
    c_es[S_SCAN_AFTER] = cpu_last;
    t_es[S_UPDATE] = es_time(Q_UPDATE);
    c_es[S_UPDATE] = cpu_last;
    es_stream_from_batches(&st, &sc, &ub, 1, NULL);
    int64_t ins = 0, upd = 0;
    t0 = bench_now_s();
    double c0 = bench_cpu();
    if (es_upsert(s, "events", &st, ES_UPSERT_REPLACE, &ins, &upd) != ES_OK) {
        fprintf(stderr, "bench_dml: expstore upsert: %s\n", es_store_errmsg(s));
        exit(1);
    }
    t_es[S_UPSERT] = bench_now_s() - t0;
    c_es[S_UPSERT] = bench_cpu() - c0;
    /* The same rows again through SQL (they all exist now: every row is an update). */
    size_t cap = (size_t)UPSERT_ROWS * 120 + 1024, len = 0;
    char *sql = malloc(cap);
    len += (size_t)snprintf(sql + len, cap - len, "INSERT INTO events VALUES ");
    for (int64_t i = 0; i < UPSERT_ROWS; i++) {
        char ts[32];
        bench_format_ts(ts, sizeof ts, ups[i].ts_us);
        len += (size_t)snprintf(
            sql + len, cap - len, "%s(%" PRId64 ", '%s', %d, 'category_%02d', %.2f, '%s')",
            i ? ", " : "", ups[i].id, ts, ups[i].user_id, ups[i].cat, ups[i].amount, ups[i].note);
    }
    snprintf(sql + len, cap - len,
             " ON CONFLICT (id) DO UPDATE SET ts = excluded.ts, user_id = excluded.user_id, "
             "category = excluded.category, amount = excluded.amount, note = excluded.note");
    t_es[S_UPSERT_SQL] = es_time(sql);
    c_es[S_UPSERT_SQL] = cpu_last;
    free(sql);
    t_es[S_DELETE_NOPK] = -1;
    es_check();
    es_schema_release(&sc);
    es_sql_session_close(ses);
    es_store_close(s);
}

/* ----------------------------------------------------------------- SQLite */

static sqlite3 *db;

static double sq_time(const char *sql)
{
    char *msg = NULL;
    double t0 = bench_now_s(), c0 = bench_cpu();
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "bench_dml: sqlite: %s: %s\n", sql, msg);
        exit(1);
    }
    cpu_last = bench_cpu() - c0;
    return bench_now_s() - t0;
}

static int sq_check_cb(void *arg, int n, char **vals, char **names)
{
    (void)arg;
    (void)names;
    if (n == 2)
        snprintf(check_sq, sizeof check_sq, "%s rows, sum %.2f", vals[0],
                 vals[1] ? atof(vals[1]) : 0.0);
    return 0;
}

static void sq_insert(sqlite3_stmt *ins, const bench_row *r)
{
    char ts[32], cat[16];
    bench_format_ts(ts, sizeof ts, r->ts_us);
    snprintf(cat, sizeof cat, "category_%02d", r->cat);
    sqlite3_reset(ins);
    sqlite3_bind_int64(ins, 1, r->id);
    sqlite3_bind_text(ins, 2, ts, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(ins, 3, r->user_id);
    sqlite3_bind_text(ins, 4, cat, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(ins, 5, r->amount);
    sqlite3_bind_text(ins, 6, r->note, r->note_len, SQLITE_TRANSIENT);
    sqlite3_step(ins);
}

static void run_sqlite(const char *dir, const bench_row *ups)
{
    char path[1024];
    snprintf(path, sizeof path, "%.900s/sqlite.db", dir);
    if (sqlite3_open(path, &db) != SQLITE_OK) {
        fprintf(stderr, "bench_dml: sqlite open %s\n", path);
        exit(1);
    }
    sq_time("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
    sq_time("CREATE TABLE events (id INTEGER PRIMARY KEY, ts TEXT, user_id INTEGER, "
            "category TEXT, amount REAL, note TEXT)");
    sq_time("CREATE TEMP TABLE staging (id INTEGER PRIMARY KEY, ts TEXT, user_id INTEGER, "
            "category TEXT, amount REAL, note TEXT)");
    sqlite3_stmt *ins;
    double t0 = bench_now_s();
    sq_time("BEGIN");
    sqlite3_prepare_v2(db, "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", -1, &ins, NULL);
    for (int64_t i = 0; i < rows_n; i++) {
        bench_row r;
        bench_make_row(&r, i, 0);
        sq_insert(ins, &r);
    }
    sqlite3_finalize(ins);
    sqlite3_prepare_v2(db, "INSERT INTO staging VALUES (?, ?, ?, ?, ?, ?)", -1, &ins, NULL);
    for (int64_t i = 0; i < UPSERT_ROWS; i++)
        sq_insert(ins, &ups[i]);
    sqlite3_finalize(ins);
    sq_time("COMMIT");
    printf("sqlite: loaded %" PRId64 " rows in %.1f s\n", rows_n, bench_now_s() - t0);
    fflush(stdout);
    t_sq[S_SCAN_BEFORE] = median3(sq_time, Q_GROUP);
    c_sq[S_SCAN_BEFORE] = cpu_last;
    t_sq[S_DELETE] = sq_time(Q_DELETE);
    c_sq[S_DELETE] = cpu_last;
    t_sq[S_SCAN_AFTER] = median3(sq_time, Q_GROUP);
    c_sq[S_SCAN_AFTER] = cpu_last;
    t_sq[S_UPDATE] = sq_time(Q_UPDATE);
    c_sq[S_UPDATE] = cpu_last;
    t_sq[S_UPSERT] = sq_time("INSERT OR REPLACE INTO events SELECT * FROM staging");
    c_sq[S_UPSERT] = cpu_last;
    t_sq[S_UPSERT_SQL] = t_sq[S_DELETE_NOPK] = -1;
    sqlite3_exec(db, Q_CHECK, sq_check_cb, NULL, NULL);
    sqlite3_close(db);
}

/* ----------------------------------------------------------------- DuckDB */

static void duck_line(const char *line, void *arg)
{
    (void)arg;
    if (bench_parse_step(line, "step", step_names, S_N, t_duck) ||
        bench_parse_step(line, "cpu", step_names, S_N, c_duck))
        return;
    if (strncmp(line, "check ", 6) == 0)
        snprintf(check_duck, sizeof check_duck, "%.100s", line + 6);
    else
        printf("duckdb: %s\n", line);
}

static void run_duckdb(const char *dir)
{
    for (int i = 0; i < S_N; i++)
        t_duck[i] = c_duck[i] = -1;
    snprintf(check_duck, sizeof check_duck, "n/a");
    bench_run_node("bench_dml_duckdb.mjs", dir, duck_line, NULL);
}

/* ------------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    const char *env = getenv("ROWS");
    rows_n = env ? strtoll(env, NULL, 10) : 10000000;
    if (rows_n < 200000) {
        fprintf(stderr, "bench_dml: ROWS must be at least 200000\n");
        return 1;
    }
    char dir[1024];
    bench_dir(dir, sizeof dir, argc, argv, "bench_dml");
    /* The upsert's rows: half existing keys spread over the table, half new keys. */
    bench_row *ups = malloc(sizeof(bench_row) * UPSERT_ROWS);
    uint8_t *taken = calloc((size_t)rows_n, 1);
    for (int64_t i = 0; i < UPSERT_ROWS; i++) {
        int64_t id;
        if (i % 2 == 0) {
            do
                id = (int64_t)(bench_rnd() % (uint64_t)rows_n);
            while (taken[id]);
            taken[id] = 1;
        } else {
            id = rows_n + i / 2;
        }
        bench_make_row(&ups[i], id, 1);
    }
    free(taken);
    /* The CSV files DuckDB loads: the table, and the upsert's rows. */
    char path[1100];
    snprintf(path, sizeof path, "%s/events.csv", dir);
    bench_write_events_csv(path, rows_n);
    snprintf(path, sizeof path, "%s/upsert.csv", dir);
    FILE *f = fopen(path, "w");
    for (int64_t i = 0; i < UPSERT_ROWS; i++)
        bench_csv_row(f, &ups[i]);
    fclose(f);
    printf("bench_dml: %" PRId64 " rows in %s\n", rows_n, dir);
    fflush(stdout);
    run_duckdb(dir);
    run_expstore(dir, ups);
    run_sqlite(dir, ups);
    free(ups);

    printf("\n%-20s %11s %11s %11s %9s %9s\n", "step", "expstore s", "duckdb s", "sqlite s",
           "duck/es", "sqlite/es");
    for (int i = 0; i < S_N; i++) {
        printf("%-20s", step_names[i]);
        bench_print_seconds(t_es[i]);
        bench_print_seconds(t_duck[i]);
        bench_print_seconds(t_sq[i]);
        bench_print_ratio(t_duck[i], t_es[i]);
        bench_print_ratio(t_sq[i], t_es[i]);
        printf("\n");
    }
    printf("\nCPU seconds (each engine's process, all its threads; the machine may be shared):\n");
    printf("%-20s %11s %11s %11s %9s %9s\n", "step", "expstore s", "duckdb s", "sqlite s",
           "duck/es", "sqlite/es");
    for (int i = 0; i < S_N; i++) {
        printf("%-20s", step_names[i]);
        bench_print_seconds(t_es[i] < 0 ? -1 : c_es[i]);
        bench_print_seconds(t_duck[i] < 0 ? -1 : c_duck[i]);
        bench_print_seconds(t_sq[i] < 0 ? -1 : c_sq[i]);
        bench_print_ratio(t_duck[i] < 0 ? -1 : c_duck[i], c_es[i]);
        bench_print_ratio(t_sq[i] < 0 ? -1 : c_sq[i], c_es[i]);
        printf("\n");
    }
    printf("scan after / before: expstore %.3f, duckdb %.3f, sqlite %.3f\n",
           t_es[S_SCAN_AFTER] / t_es[S_SCAN_BEFORE],
           t_duck[S_SCAN_BEFORE] > 0 ? t_duck[S_SCAN_AFTER] / t_duck[S_SCAN_BEFORE] : -1.0,
           t_sq[S_SCAN_AFTER] / t_sq[S_SCAN_BEFORE]);
    printf("check: expstore %s | duckdb %s | sqlite %s\n", check_es, check_duck, check_sq);
    return 0;
}
