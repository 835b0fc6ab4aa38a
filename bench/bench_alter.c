/*
 * bench_alter: table alterations (ALTER TABLE) on the reference table, Exp Store against SQLite
 * on the same machine in one run, and the cost of reading old parts through an alteration.
 *
 *   bench_alter [DIR]      ROWS=10000000 by default (e.g. ROWS=1000000 for a quick run)
 *
 * Table events, the shape of bench_dml's: id BIGINT primary key, ts TIMESTAMP, user_id INT,
 * category TEXT (20 values), amount DOUBLE, note TEXT. Each alteration is timed on a table of
 * ROWS rows and on one of ROWS/10 (the target: the same time, since no data is rewritten; SET
 * NOT NULL alone reads the column), in this order:
 *
 *   ADD COLUMN qty INTEGER DEFAULT 1 NOT NULL, RENAME COLUMN qty TO quantity, ALTER COLUMN
 *   user_id TYPE BIGINT, ALTER COLUMN note SET NOT NULL, ALTER COLUMN note DROP NOT NULL,
 *   DROP COLUMN note, RENAME TO events2 (and back)
 *
 * SQLite (a file database in DIR, journal_mode=WAL) times the ones it has: ADD COLUMN, RENAME
 * COLUMN, DROP COLUMN (which rewrites the table), RENAME TO.
 *
 * Reads through the alterations (Exp Store, ROWS rows, median of 3 full scans):
 *   GROUP BY category, sum(amount)     before and after ADD COLUMN (the query is unchanged)
 *   GROUP BY category, sum(quantity)   after ADD: every part lacks the column, filled with the
 *                                      default; against sum(user_id) before it (an INT read)
 *   GROUP BY category, sum(user_id)    after the widening (every part cast on read) against
 *                                      the same query before it
 * Times are wall seconds; the machine may be shared.
 */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "expstore/expstore.h"
#include "expstore/sql.h"

static const char *alters[] = {
    "ALTER TABLE %s ADD COLUMN qty INTEGER DEFAULT 1 NOT NULL",
    "ALTER TABLE %s RENAME COLUMN qty TO quantity",
    "ALTER TABLE %s ALTER COLUMN user_id TYPE BIGINT",
    "ALTER TABLE %s ALTER COLUMN note SET NOT NULL",
    "ALTER TABLE %s ALTER COLUMN note DROP NOT NULL",
    "ALTER TABLE %s DROP COLUMN note",
    "ALTER TABLE %s RENAME TO %s_renamed",
};
#define N_ALTERS (int)(sizeof(alters) / sizeof(alters[0]))
static const int sqlite_has[N_ALTERS] = {1, 1, 0, 0, 0, 1, 1};

static es_sql_session *ses;

static double es_time(const char *sql)
{
    return bench_sql_time(ses, sql);
}

static double median3(const char *sql)
{
    return bench_sql_median3(ses, sql);
}

/* Fill Exp Store table `name` with n rows (batches of 1M built with es_builder). */
static void es_fill(es_store *s, const char *name, int64_t n)
{
    static const char *names[] = {"id", "ts", "user_id", "category", "amount", "note"};
    static const char *fmts[] = {"l", "tsu:", "i", "u", "g", "u"};
    struct ArrowSchema sc;
    es_error err;
    if (es_schema_init_struct(&sc, 6, &err) != ES_OK)
        bench_die("schema", &err);
    for (int i = 0; i < 6; i++)
        es_schema_init(sc.children[i], fmts[i], names[i], i ? ARROW_FLAG_NULLABLE : 0, NULL);
    if (es_table_create(s, name, &sc, "id", 0) != ES_OK) {
        fprintf(stderr, "bench_alter: %s\n", es_store_errmsg(s));
        exit(1);
    }
    es_builder *b = NULL;
    if (es_builder_new(&b, &sc, &err) != ES_OK)
        bench_die("builder", &err);
    for (int64_t lo = 0; lo < n; lo += 1000000) {
        int64_t hi = lo + 1000000 < n ? lo + 1000000 : n;
        for (int64_t id = lo; id < hi; id++) {
            char cat[16], note[16];
            snprintf(cat, sizeof cat, "category_%02d", (int)(id % 20));
            int nl = snprintf(note, sizeof note, "n%" PRId64, (id * 7919) % 100000);
            es_builder_append_int(es_builder_child(b, 0), id);
            es_builder_append_int(es_builder_child(b, 1), (1704067200LL + id / 4) * 1000000LL);
            es_builder_append_int(es_builder_child(b, 2), (id * 48271) % 100000);
            es_builder_append_bytes(es_builder_child(b, 3), cat, (int64_t)strlen(cat));
            es_builder_append_double(es_builder_child(b, 4), (double)((id * 31) % 100000) / 100);
            es_builder_append_bytes(es_builder_child(b, 5), note, nl);
            es_builder_append_struct(b);
        }
        struct ArrowArray a;
        if (es_builder_finish(b, &a, &err) != ES_OK)
            bench_die("finish", &err);
        if (es_insert_batch(s, name, &sc, &a) != ES_OK) {
            fprintf(stderr, "bench_alter: %s\n", es_store_errmsg(s));
            exit(1);
        }
    }
    es_builder_free(b);
    es_schema_release(&sc);
}

static double sq_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    double t0 = bench_now_s();
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "bench_alter: sqlite: %s: %s\n", sql, msg);
        exit(1);
    }
    return bench_now_s() - t0;
}

static void sq_fill(sqlite3 *db, const char *name, int64_t n)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "CREATE TABLE %s (id INTEGER PRIMARY KEY, ts TEXT, user_id INTEGER, category TEXT, "
             "amount REAL, note TEXT);"
             "WITH RECURSIVE s(id) AS (SELECT 0 UNION ALL SELECT id + 1 FROM s WHERE id < %" PRId64
             ") INSERT INTO %s SELECT id, datetime(1704067200 + id / 4, 'unixepoch'), "
             "(id * 48271) %% 100000, printf('category_%%02d', id %% 20), "
             "((id * 31) %% 100000) / 100.0, 'n' || ((id * 7919) %% 100000) FROM s",
             name, n - 1, name);
    sq_exec(db, "BEGIN");
    sq_exec(db, sql);
    sq_exec(db, "COMMIT");
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "bench_alter_data";
    const char *rows_env = getenv("ROWS");
    int64_t rows = rows_env ? strtoll(rows_env, NULL, 10) : 10000000;
    char path[4096], sql[256];
    snprintf(path, sizeof path, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    if (system(path) != 0)
        return 1;
    snprintf(path, sizeof path, "%s/store", dir);
    es_store *s = NULL;
    if (es_store_open(&s, path, NULL) != ES_OK || es_sql_session_open(&ses, s) != ES_OK) {
        fprintf(stderr, "bench_alter: cannot open %s\n", path);
        return 1;
    }
    snprintf(path, sizeof path, "%s/sqlite.db", dir);
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        return 1;
    sq_exec(db, "PRAGMA journal_mode=WAL");
    int64_t sizes[2] = {rows, rows / 10};
    const char *tables[2] = {"events", "small"};
    double t_es[2][N_ALTERS], t_sq[2][N_ALTERS];
    double q_before = 0, q_after = 0, q_int = 0, q_default = 0, q_wide_before = 0, q_wide = 0;
    printf("bench_alter: %" PRId64 " and %" PRId64 " rows\n", sizes[0], sizes[1]);
    for (int k = 0; k < 2; k++) {
        double t0 = bench_now_s();
        es_fill(s, tables[k], sizes[k]);
        double t1 = bench_now_s();
        sq_fill(db, tables[k], sizes[k]);
        printf("  load %-6s  expstore %.2f s, sqlite %.2f s\n", tables[k], t1 - t0,
               bench_now_s() - t1);
        for (int i = 0; i < N_ALTERS; i++) {
            snprintf(sql, sizeof sql, alters[i], tables[k], tables[k]);
            if (k == 0 && i == 0) {
                snprintf(path, sizeof path,
                         "SELECT category, count(*), sum(amount) FROM %s GROUP BY category",
                         tables[k]);
                q_before = median3(path);
                snprintf(path, sizeof path,
                         "SELECT category, sum(user_id) FROM %s GROUP BY category", tables[k]);
                q_int = median3(path);
            }
            if (k == 0 && i == 2) {
                snprintf(path, sizeof path,
                         "SELECT category, sum(user_id) FROM %s GROUP BY category", tables[k]);
                q_wide_before = median3(path);
            }
            t_es[k][i] = es_time(sql);
            t_sq[k][i] = sqlite_has[i] ? sq_exec(db, sql) : -1;
            if (k == 0 && i == 0) {
                snprintf(path, sizeof path,
                         "SELECT category, count(*), sum(amount) FROM %s GROUP BY category",
                         tables[k]);
                q_after = median3(path);
            }
            if (k == 0 && i == 1) {
                snprintf(path, sizeof path,
                         "SELECT category, sum(quantity) FROM %s GROUP BY category", tables[k]);
                q_default = median3(path);
            }
            if (k == 0 && i == 2) {
                snprintf(path, sizeof path,
                         "SELECT category, sum(user_id) FROM %s GROUP BY category", tables[k]);
                q_wide = median3(path);
            }
        }
    }
    printf("\n%-44s %14s %14s %14s %14s\n", "alteration", "expstore", "expstore/10", "sqlite",
           "sqlite/10");
    for (int i = 0; i < N_ALTERS; i++) {
        char name[64];
        const char *a = alters[i] + strlen("ALTER TABLE %s ");
        snprintf(name, sizeof name, "%.*s", strncmp(a, "RENAME TO", 9) ? 44 : 9, a);
        printf("%-44s %12.4f s %12.4f s", name, t_es[0][i], t_es[1][i]);
        if (t_sq[0][i] >= 0)
            printf(" %12.4f s %12.4f s\n", t_sq[0][i], t_sq[1][i]);
        else
            printf(" %14s %14s\n", "-", "-");
    }
    printf("\nfull scans of %" PRId64 " rows (median of 3)\n", rows);
    printf("  GROUP BY category, sum(amount): before ADD %.3f s, after %.3f s (ratio %.2f)\n",
           q_before, q_after, q_after / q_before);
    printf("  GROUP BY category, sum(quantity) (default, in no part) %.3f s vs sum(user_id) "
           "before %.3f s (ratio %.2f)\n",
           q_default, q_int, q_default / q_int);
    printf("  GROUP BY category, sum(user_id): INT before %.3f s, widened to BIGINT (cast on "
           "read) %.3f s (ratio %.2f)\n",
           q_wide_before, q_wide, q_wide / q_wide_before);
    sqlite3_close(db);
    es_sql_session_close(ses);
    es_store_close(s);
    return 0;
}
