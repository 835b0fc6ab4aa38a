/*
 * test_sql_dml_diff: DELETE, UPDATE, TRUNCATE and upserts differentially against SQLite, through
 * the public SQL API (include/expstore/sql.h) on a mem:// store cut into small batches and
 * parts (so that deletion vectors span many of them).
 *
 * A random sequence of statements (INSERT of new keys, DELETE and UPDATE with random
 * predicates, some pushed down to the storage layer and some not, SET of the primary key,
 * INSERT OR REPLACE, REPLACE INTO, INSERT OR IGNORE, ON CONFLICT DO NOTHING and DO UPDATE with
 * excluded.c and a WHERE, TRUNCATE as SQLite's DELETE; inserts and upserts that leave columns
 * out, which take their DEFAULT) runs on both over integers, doubles,
 * text, dates, decimals (SQLite holds them as integer cents) and NULLs. After every statement
 * the count of changed rows and the whole table are compared; every version's table is kept,
 * and SELECT ... AS OF VERSION n of random earlier versions is compared with it.
 *
 * ES_DML_DIFF_SEED selects the seed (default fixed), ES_DML_DIFF_STEPS the count.
 */
#include <stdarg.h>

#include "sql_diff.h"

/* One statement in both dialects: ours (e) and SQLite's (q). */
typedef struct pair {
    sbuf e, q;
} pair;

static void both(pair *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void both(pair *p, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    sb_printf(&p->e, "%s", buf);
    sb_printf(&p->q, "%s", buf);
}

/* Table t: id BIGINT primary key, a INT DEFAULT 5, b BIGINT NOT NULL DEFAULT -3, f DOUBLE,
 * s TEXT DEFAULT 'd''f', d DATE DEFAULT '2024-02-29', m DECIMAL(9,2) (SQLite: INTEGER cents). */
static const char *words[] = {"apple", "banana", "cherry", "date", "elder", "fig", "grape", "kiwi"};
static int64_t next_id = 1, max_id = 0;

static void lit_m(pair *p, int cents)
{
    sb_printf(&p->e, "%s%d.%02d", cents < 0 ? "-" : "", abs(cents) / 100, abs(cents) % 100);
    sb_printf(&p->q, "%d", cents);
}

static void lit_d(pair *p)
{
    both(p, "'2024-%02d-%02d'", 1 + rn(3), 1 + rn(28));
}

/* The columns an INSERT names when it leaves some out (the others take their DEFAULT, or
 * NULL), and a random row of values for them. */
#define SOME_COLS " (id, f, m)"
static void row_some(pair *p, int64_t id)
{
    both(p, "(%" PRId64 ", ", id);
    if (rn(6) == 0)
        both(p, "NULL, ");
    else
        both(p, "%.17g, ", (double)(rn(2000) - 1000) / 8.0);
    lit_m(p, rn(100000) - 50000);
    both(p, ")");
}

/* A random row of values for (id, a, b, f, s, d, m). */
static void row_values(pair *p, int64_t id)
{
    both(p, "(%" PRId64 ", ", id);
    if (rn(8) == 0)
        both(p, "NULL, ");
    else
        both(p, "%d, ", rn(200) - 100);
    both(p, "%d, ", rn(2000) - 1000);
    if (rn(6) == 0)
        both(p, "NULL, ");
    else
        both(p, "%.17g, ", (double)(rn(2000) - 1000) / 8.0);
    if (rn(10) == 0)
        both(p, "NULL, ");
    else
        both(p, "'%s', ", words[rn(8)]);
    if (rn(5) == 0)
        both(p, "NULL");
    else
        lit_d(p);
    both(p, ", ");
    if (rn(5) == 0)
        both(p, "NULL");
    else
        lit_m(p, rn(100000) - 50000);
    both(p, ")");
}

/* A random predicate: leaves that push down (column op constant, BETWEEN, IN, IS NULL) and
 * leaves that do not (arithmetic, functions, LIKE, decimals), under AND, OR and NOT. */
static void pred(pair *p, int depth, const char *q)
{
    int k = depth < 2 ? rn(16) : rn(12);
    static const char *ops[] = {"=", "<>", "<", "<=", ">", ">="};
    switch (k) {
    case 0:
        both(p, "%sa %s %d", q, ops[rn(6)], rn(200) - 100);
        break;
    case 1:
        both(p, "%sb BETWEEN %d AND %d", q, rn(1000) - 1000, rn(1000));
        break;
    case 2:
        both(p, "%sf %s %.17g", q, ops[rn(6)], (double)(rn(2000) - 1000) / 8.0);
        break;
    case 3:
        both(p, "%ss %s '%s'", q, ops[rn(6)], words[rn(8)]);
        break;
    case 4:
        both(p, "%sd %s ", q, ops[rn(6)]);
        lit_d(p);
        break;
    case 5:
        both(p, "%s%s IS %sNULL", q, (const char *[]){"a", "f", "s", "d", "m"}[rn(5)],
             rn(2) ? "NOT " : "");
        break;
    case 6:
        both(p, "%sa %sIN (%d, %d, %d%s)", q, rn(3) ? "" : "NOT ", rn(200) - 100, rn(200) - 100,
             rn(200) - 100, rn(4) ? "" : ", NULL");
        break;
    case 7: /* not pushed: arithmetic */
        both(p, "%sa + %sb > %d", q, q, rn(1000) - 500);
        break;
    case 8: /* not pushed: a function, LIKE */
        if (rn(2))
            both(p, "length(%ss) > %d", q, 3 + rn(3));
        else
            both(p, "%ss LIKE '%%%c%%'", q, "aeinr"[rn(5)]);
        break;
    case 9: /* not pushed: decimals */
        both(p, "%sm %s ", q, ops[rn(6)]);
        lit_m(p, rn(100000) - 50000);
        break;
    case 10:
        both(p, "%sid %s %" PRId64, q, ops[rn(6)], (int64_t)rn((int)max_id + 2));
        break;
    case 11:
        both(p, "%sf * 2 < %sa", q, q);
        break;
    case 12:
    case 13:
        both(p, "(");
        pred(p, depth + 1, q);
        both(p, k == 12 ? " AND " : " OR ");
        pred(p, depth + 1, q);
        both(p, ")");
        break;
    default:
        both(p, "NOT (");
        pred(p, depth + 1, q);
        both(p, ")");
    }
}

/* SET items of an UPDATE (upsert: ex = 1 mixes in excluded values, q qualifies the table). */
static void set_list(pair *p, int ex)
{
    const char *q = ex ? "t." : "";
    int n = 1 + rn(3), used = 0;
    for (int i = 0; i < n; i++) {
        int c = rn(6);
        if (used & (1 << c))
            continue;
        both(p, "%s", used ? ", " : "");
        used |= 1 << c;
        switch (c) {
        case 0:
            if (ex && rn(2))
                both(p, "a = excluded.a");
            else if (rn(4) == 0)
                both(p, "a = NULL");
            else
                both(p, "a = %sa + %d", q, rn(10) - 5);
            break;
        case 1:
            both(p, "b = %sb %s %s", q, rn(2) ? "+" : "-", ex ? "excluded.b" : "7");
            break;
        case 2:
            if (ex)
                both(p, "f = coalesce(excluded.f, t.f)");
            else
                both(p, "f = f * 2");
            break;
        case 3:
            if (rn(3) == 0)
                both(p, "s = '%s'", words[rn(8)]);
            else
                both(p, "s = %s || '!'", ex ? "excluded.s" : "s");
            break;
        case 4:
            both(p, "d = ");
            if (rn(3) == 0)
                both(p, "NULL");
            else
                lit_d(p);
            break;
        default:
            if (ex) {
                both(p, "m = excluded.m");
            } else {
                sb_printf(&p->e, "m = m + 1.25");
                sb_printf(&p->q, "m = m + 125");
            }
        }
    }
}

/* ------------------------------------------------------- the whole table */

/* The whole table as text (sql_diff.h), ours at a version (-1: the latest) and SQLite's. */
static char *es_table(int64_t version)
{
    char sql[128];
    if (version >= 0)
        snprintf(sql, sizeof sql, "SELECT * FROM t AS OF VERSION %" PRId64 " ORDER BY id", version);
    else
        snprintf(sql, sizeof sql, "SELECT * FROM t ORDER BY id");
    return es_rows(sql);
}

static char *sq_table(void)
{
    return sq_rows("SELECT id, a, b, f, s, d, m FROM t ORDER BY id");
}

/* ---------------------------------------------------------------- the run */

static void gen_statement(pair *p, const char **what)
{
    int k = rn(100);
    int64_t live_hint = max_id < (1 << 30) ? max_id : (1 << 30);
    if (k < 18) {
        *what = "INSERT";
        int n = 1 + rn(6), some = rn(4) == 0;
        both(p, "INSERT INTO t%s VALUES ", some ? SOME_COLS : "");
        for (int i = 0; i < n; i++) {
            both(p, "%s", i ? ", " : "");
            if (some)
                row_some(p, next_id++);
            else
                row_values(p, next_id++);
        }
    } else if (k < 32) {
        *what = "DELETE";
        both(p, "DELETE FROM t");
        if (rn(40)) {
            both(p, " WHERE ");
            pred(p, 0, "");
        }
    } else if (k < 52) {
        *what = "UPDATE";
        both(p, "UPDATE t SET ");
        set_list(p, 0);
        if (rn(10)) {
            both(p, " WHERE ");
            pred(p, 0, "");
        }
    } else if (k < 54 && max_id < (INT64_C(1) << 40)) {
        *what = "UPDATE key";
        /* Move rows to fresh keys: id + max_id + 1 is above every key. */
        int64_t shift = max_id + 1;
        both(p, "UPDATE t SET id = id + %" PRId64 " WHERE ", shift);
        pred(p, 0, "");
        max_id += shift;
        next_id = max_id + 1;
    } else if (k < 90) {
        /* Upserts: existing and new keys. */
        int mode = rn(5), n = 1 + rn(6);
        static const char *names[] = {"INSERT OR REPLACE", "REPLACE", "INSERT OR IGNORE",
                                      "ON CONFLICT DO NOTHING", "ON CONFLICT DO UPDATE"};
        *what = names[mode];
        int some = rn(3) == 0; /* the columns left out take their DEFAULT */
        both(p, "%s INTO t%s VALUES ",
             mode == 0   ? "INSERT OR REPLACE"
             : mode == 1 ? "REPLACE"
             : mode == 2 ? "INSERT OR IGNORE"
                         : "INSERT",
             some ? SOME_COLS : "");
        int64_t used[8];
        for (int i = 0; i < n; i++) {
            int64_t id;
            int again;
            do {
                id = rn(3) == 0 || max_id == 0 ? next_id++ : 1 + rn((int)live_hint);
                again = 0;
                for (int j = 0; mode == 4 && j < i; j++)
                    again |= used[j] == id; /* DO UPDATE: a key once */
            } while (again);
            used[i] = id;
            both(p, "%s", i ? ", " : "");
            if (some)
                row_some(p, id);
            else
                row_values(p, id);
        }
        if (mode == 3)
            both(p, " ON CONFLICT%s DO NOTHING", rn(2) ? " (id)" : "");
        if (mode == 4) {
            both(p, " ON CONFLICT (id) DO UPDATE SET ");
            if (rn(6) == 0)
                both(p, "a = excluded.a, b = excluded.b, f = excluded.f, s = excluded.s, d = "
                        "excluded.d, m = excluded.m"); /* the whole row: REPLACE */
            else
                set_list(p, 1);
            if (rn(2)) {
                both(p, " WHERE ");
                pred(p, 0, rn(2) ? "t." : "excluded.");
            }
        }
    } else if (k < 91) {
        *what = "TRUNCATE";
        sb_printf(&p->e, "TRUNCATE TABLE t");
        sb_printf(&p->q, "DELETE FROM t");
    } else {
        *what = "INSERT many";
        int n = 20 + rn(60);
        both(p, "INSERT INTO t VALUES ");
        for (int i = 0; i < n; i++) {
            both(p, "%s", i ? ", " : "");
            row_values(p, next_id++);
        }
    }
    if (next_id - 1 > max_id)
        max_id = next_id - 1;
}

static void run(int steps)
{
    int64_t failures = 0, time_travels = 0;
    int64_t ec = 0, qc = 0;
    CHECK(
        es_run("CREATE TABLE t (id BIGINT PRIMARY KEY, a INT DEFAULT 5, b BIGINT NOT NULL DEFAULT "
               "-3, f DOUBLE, s TEXT DEFAULT 'd''f', d DATE DEFAULT '2024-02-29', m DECIMAL(9,2))",
               &ec) == 0);
    CHECK(sq_run("CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER DEFAULT 5, b INTEGER NOT NULL "
                 "DEFAULT -3, f REAL, s TEXT DEFAULT 'd''f', d TEXT DEFAULT '2024-02-29', "
                 "m INTEGER)",
                 &qc) == 0);
    CHECK(diff_keep(sq_table()) == 0);
    for (int step = 0; step < steps && failures < 3; step++) {
        pair p = {{0}, {0}};
        const char *what = "";
        gen_statement(&p, &what);
        int e_rc = es_run(p.e.p, &ec), q_rc = sq_run(p.q.p, &qc);
        if (e_rc != q_rc || (e_rc == 0 && ec != qc)) {
            check_failed++;
            failures++;
            fprintf(stderr,
                    "step %d (%s): %s\n  rc %d/%d, changes %" PRId64 " vs sqlite %" PRId64
                    "\n  expstore: %s\n  sqlite: %s\n",
                    step, what, p.e.p, e_rc, q_rc, ec, qc, e_rc ? es_sql_errmsg(ses) : "ok",
                    q_rc ? sqlite3_errmsg(db) : "ok");
        } else {
            check_passed++;
        }
        char *a = es_table(-1), *b = sq_table();
        failures += !diff_same(p.e.p, a, b);
        free(a);
        failures += diff_keep(b) != 0;
        /* Time travel to a random earlier version. */
        int64_t tv = diff_pick();
        if (tv >= 0) {
            char *then = es_table(tv), what_v[64];
            snprintf(what_v, sizeof what_v, "AS OF VERSION %" PRId64, tv);
            time_travels++;
            failures += !diff_same(what_v, then, snap[tv]);
            free(then);
        }
        free(p.e.p);
        free(p.q.p);
    }
    CHECK(time_travels > 0);
    printf("%d statements, %" PRId64 " versions, %" PRId64 " time travels\n", steps, diff_version,
           time_travels);
}

int main(void)
{
    int steps;
    if (diff_open("dml_diff", "ES_DML_DIFF_SEED", 0x9E3779B97F4A7C15ull, "ES_DML_DIFF_STEPS", 600,
                  &steps) == 0)
        run(steps);
    return diff_close();
}
