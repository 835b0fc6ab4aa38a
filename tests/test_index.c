/*
 * test_index: unique primary keys and secondary indexes (src/table/unique.c, index.c).
 *
 *  - unique keys against SQLite: random INSERTs (of new keys, existing keys, keys repeated in
 *    one statement), UPDATEs that set the key, upserts and COPY; a statement fails exactly when
 *    SQLite raises its UNIQUE constraint error, the message names the key and the table, and
 *    the whole table stays equal to SQLite's (nothing of a failed statement is committed);
 *  - duplicates from concurrent writers: an update that moves a row onto a key a concurrent
 *    commit inserted fails on rebase; two transactions inserting one key cannot both commit;
 *    forked processes inserting overlapping keys (local store, and Ceph RGW through
 *    tests/s3.cmake): no key is ever committed twice and every acknowledged insert is there;
 *  - indexes against SQLite: a table with integer, text and timestamp columns, indexes created
 *    on existing parts (backfill) and kept by later inserts, deletes and updates in between;
 *    equality and IN queries equal SQLite's, the scan reports the index used, and dropping the
 *    indexes changes no result; .six objects are verified (a damaged page is ES_CORRUPT);
 *  - fault loops: the Nth object-store operation fails (once, for good, or after it happened)
 *    during CREATE INDEX and during an insert checked for duplicates: every outcome leaves the
 *    store readable with the rows of before or after, and later queries still equal SQLite's.
 *
 * Reading the rows an index or the key points at (by position, point lookups, Bloom filters) is
 * test_index_lookup.c; the two engines side by side are in index_util.h.
 */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "index_util.h"
#include "objstore/objstore.h"
#include "util/util.h"
#include "table/index.h"
#include "testutil.h"
#include "expstore/expstore.h"
#include "expstore/sql.h"

/* ------------------------------------------------------- unique keys */

/* A unique column with a DEFAULT that an INSERT leaves out gets the default in every row, and
 * that value is checked like any other (integer and text defaults, in one statement, across
 * statements, after the row holding it is deleted or updated away, in a transaction), against
 * SQLite. */
static void test_unique_default(void)
{
    es_objstore_mem_drop("ix_udef");
    side d;
    side_open(&d, "mem://ix_udef", 16);
    both_run(&d,
             "CREATE TABLE t (id BIGINT PRIMARY KEY, a INTEGER DEFAULT 7, code TEXT DEFAULT 'zz', "
             "n INTEGER)",
             "CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER DEFAULT 7 UNIQUE, "
             "code TEXT DEFAULT 'zz' UNIQUE, n INTEGER)");
    free(es_text(&d, "CREATE UNIQUE INDEX ta ON t (a)", NULL));
    free(es_text(&d, "CREATE UNIQUE INDEX tcode ON t (code)", NULL));
    int errors = 0;
    for (int i = 0; i < 120; i++) {
        char q[256];
        int r = rn(8), id = 1 + rn(400);
        if (r < 3)
            snprintf(q, sizeof q, "INSERT INTO t (id, n) VALUES (%d, %d)", id, rn(9));
        else if (r < 4)
            snprintf(q, sizeof q, "INSERT INTO t (id, n) VALUES (%d, 1), (%d, 2)", id, id + 400);
        else if (r < 5)
            snprintf(q, sizeof q, "INSERT INTO t (id, a, n) VALUES (%d, %d, 0)", id, 100 + id);
        else if (r < 6)
            snprintf(q, sizeof q, "INSERT INTO t (id, code) VALUES (%d, 'c%d')", id, id);
        else if (r < 7)
            snprintf(q, sizeof q, "DELETE FROM t WHERE a = 7 OR code = 'zz' OR id %% 5 = %d",
                     rn(5));
        else
            snprintf(q, sizeof q, "UPDATE t SET a = a + 1000, code = 'u%d' WHERE a = 7", i);
        errors += both_run(&d, q, NULL);
        if (i % 10 == 9)
            both_same(&d, "SELECT id, a, code, n FROM t ORDER BY id", NULL);
    }
    /* In a transaction: the second row with the default fails (ours is then aborted until
     * ROLLBACK); then one commits and a later one fails. */
    both_run(&d, "DELETE FROM t", NULL);
    both_run(&d, "BEGIN", NULL);
    both_run(&d, "INSERT INTO t (id, n) VALUES (1, 1)", NULL);
    CHECK(both_run(&d, "INSERT INTO t (id, n) VALUES (2, 2)", NULL) == 1);
    both_run(&d, "ROLLBACK", NULL);
    both_same(&d, "SELECT id, a, code, n FROM t ORDER BY id", NULL);
    both_run(&d, "BEGIN", NULL);
    both_run(&d, "INSERT INTO t (id, n) VALUES (1, 1)", NULL);
    both_run(&d, "COMMIT", NULL);
    both_same(&d, "SELECT id, a, code, n FROM t ORDER BY id", NULL);
    char *m = es_text(&d, "INSERT INTO t (id) VALUES (3)", NULL);
    CHECK(strstr(m, "duplicate value a = 7") != NULL || strstr(m, "duplicate value code") != NULL);
    free(m);
    /* A primary key with a default that inserts leave out. */
    both_run(&d, "CREATE TABLE p (id BIGINT PRIMARY KEY DEFAULT 7, v TEXT)", NULL);
    CHECK(both_run(&d, "INSERT INTO p (v) VALUES ('a')", NULL) == 0);
    CHECK(both_run(&d, "INSERT INTO p (v) VALUES ('b')", NULL) == 1);
    CHECK(both_run(&d, "INSERT INTO p (v) VALUES ('c'), ('d')", NULL) == 1);
    both_same(&d, "SELECT id, v FROM p ORDER BY v", NULL);
    CHECK(errors > 10);
    printf("unique columns with defaults against SQLite: 120 statements, %d duplicate errors\n",
           errors);
    side_close(&d);
}

static void test_unique_sql(const char *uri)
{
    side d;
    side_open(&d, uri, 8);
    const char *ddl = "CREATE TABLE u (id BIGINT PRIMARY KEY, v INT, s TEXT)";
    both_run(&d, ddl, "CREATE TABLE u (id INTEGER PRIMARY KEY, v INT, s TEXT)");
    int failed = 0, steps = 300;
    for (int step = 0; step < steps; step++) {
        sbuf q = {0};
        int kind = rn(10);
        if (kind < 5) { /* INSERT of 1-4 rows, keys in a small range: repeats happen */
            int n = 1 + rn(4);
            sb_printf(&q, "INSERT INTO u VALUES ");
            for (int i = 0; i < n; i++)
                sb_printf(&q, "%s(%d, %d, 's%d')", i ? ", " : "", rn(300), rn(100), rn(9));
        } else if (kind < 7) { /* UPDATE that moves one row's key */
            sb_printf(&q, "UPDATE u SET id = %d WHERE id = %d", rn(300), rn(300));
        } else if (kind == 7) { /* UPDATE of a non-key column: never a duplicate */
            sb_printf(&q, "UPDATE u SET v = v + 1 WHERE s = 's%d'", rn(9));
        } else if (kind == 8) { /* upserts replace instead of failing */
            sb_printf(&q, "INSERT OR REPLACE INTO u VALUES (%d, %d, 'r')", rn(300), rn(100));
        } else {
            sb_printf(&q, "DELETE FROM u WHERE v < %d", rn(5));
        }
        if (both_run(&d, q.p, NULL)) {
            failed++;
            char *msg = es_text(&d, q.p, NULL); /* again: the same error, naming key and table */
            CHECK(strstr(msg, "duplicate primary key id = ") != NULL);
            CHECK(strstr(msg, "'u'") != NULL);
            free(msg);
        }
        free(q.p);
        if (step % 25 == 0 || step == steps - 1)
            both_same(&d, "SELECT id, v, s FROM u ORDER BY id", NULL);
    }
    CHECK(failed > 20);
    /* COPY FROM a file repeating a key, and one holding a key of the table. */
    char path[256];
    snprintf(path, sizeof(path), "/tmp/es_test_index_%d.csv", (int)getpid());
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "id,v,s\n100000,1,a\n100001,2,b\n100000,3,c\n");
        fclose(f);
    }
    char sql[512];
    snprintf(sql, sizeof(sql), "COPY u FROM '%s' (HEADER)", path);
    char *m = es_text(&d, sql, NULL);
    CHECK(strstr(m, "duplicate primary key id = 100000") != NULL);
    free(m);
    remove(path);
    both_same(&d, "SELECT count(*) FROM u WHERE id >= 100000", NULL);
    printf("unique against SQLite: %d statements, %d duplicate errors\n", steps, failed);
    side_close(&d);
}

static void ts_lit(char *buf, size_t cap, int k);

/* UNIQUE indexes on columns other than the key (text, integer, timestamp), against SQLite:
 * inserts, COPY, updates, upserts, deletes and compaction, rows inlined in the log and in
 * parts; a statement fails exactly where SQLite raises its UNIQUE error (NULLs never collide),
 * and the table stays equal to SQLite's. Then concurrency: a transaction and an autocommit
 * insert of one value, and a write that read the table before CREATE UNIQUE INDEX. */
static void test_unique_index_sql(const char *uri)
{
    side d;
    side_open(&d, uri, 8);
    both_run(&d, "CREATE TABLE w (id BIGINT PRIMARY KEY, e TEXT, n INT, ts TIMESTAMP, x INT)",
             "CREATE TABLE w (id INTEGER PRIMARY KEY, e TEXT, n INT, ts TEXT, x INT)");
    both_run(&d,
             "INSERT INTO w VALUES (1, 'e1', 1, '2024-01-01 00:00:01', 0), "
             "(2, 'e1', 2, NULL, 0)",
             NULL);
    /* Existing duplicates: the create fails on both and leaves no index. */
    CHECK(both_run(&d, "CREATE UNIQUE INDEX we ON w (e)", NULL));
    both_run(&d, "DELETE FROM w WHERE id = 2", NULL);
    both_run(&d, "CREATE UNIQUE INDEX we ON w (e)", NULL);
    both_run(&d, "CREATE UNIQUE INDEX wn ON w (n)", NULL);
    both_run(&d, "CREATE UNIQUE INDEX wts ON w (ts)", NULL);
    int failed = 0, steps = 300;
    for (int step = 0; step < steps; step++) {
        sbuf q = {0}, sq = {0};
        int kind = rn(12);
        char ts[64];
        ts_lit(ts, sizeof ts, rn(200));
        if (kind < 5) {
            int n = 1 + rn(3);
            sb_printf(&q, "INSERT INTO w VALUES ");
            for (int i = 0; i < n; i++) {
                int id = 10 + step * 4 + i;
                if (rn(4) == 0)
                    sb_printf(&q, "%s(%d, NULL, NULL, NULL, %d)", i ? ", " : "", id, rn(5));
                else
                    sb_printf(&q, "%s(%d, 'e%d', %d, %s, %d)", i ? ", " : "", id, rn(400), rn(400),
                              rn(3) ? "NULL" : ts, rn(5));
            }
        } else if (kind < 7) {
            sb_printf(&q, "UPDATE w SET e = 'e%d' WHERE id = %d", rn(400), 10 + rn(step * 4 + 4));
        } else if (kind == 7) { /* one row: SQLite checks row by row, we by statement */
            sb_printf(&q, "UPDATE w SET n = %d WHERE id = %d", rn(400), 10 + rn(step * 4 + 4));
        } else if (kind == 8) {
            sb_printf(&q, "UPDATE w SET x = x + 1 WHERE n %% 7 = %d", rn(7));
        } else if (kind == 9) { /* replaces by the key (SQLite's REPLACE would delete any row
                                   holding the value: its ON CONFLICT (id) is ours) */
            int id = 10 + rn(step * 4 + 4), e = rn(400), n = rn(400);
            sb_printf(&sq,
                      "INSERT INTO w VALUES (%d, 'e%d', %d, NULL, 1) ON CONFLICT (id) DO "
                      "UPDATE SET e = excluded.e, n = excluded.n, ts = NULL, x = 1",
                      id, e, n);
            sb_printf(&q, "INSERT OR REPLACE INTO w VALUES (%d, 'e%d', %d, NULL, 1)", id, e, n);
        } else if (kind == 10) {
            sb_printf(&q, "DELETE FROM w WHERE x = %d AND n %% 3 = 0", rn(5));
        } else {
            free(es_text(&d, "OPTIMIZE w", NULL));
            sb_printf(&q, "SELECT 1");
        }
        if (both_run(&d, q.p, sq.p)) {
            failed++;
            char *msg = es_text(&d, q.p, NULL);
            CHECK(strstr(msg, "duplicate value ") != NULL && strstr(msg, "of unique index w") &&
                  strstr(msg, "'w'") != NULL);
            free(msg);
        }
        free(q.p);
        free(sq.p);
        if (step % 25 == 0 || step == steps - 1)
            both_same(&d, "SELECT id, e, n, ts, x FROM w ORDER BY id", NULL);
    }
    CHECK(failed > 20);
    /* COPY repeating a value. */
    char path[256], sql[512];
    snprintf(path, sizeof(path), "/tmp/es_test_index_u%d.csv", (int)getpid());
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "id,e,n,ts,x\n900000,copy1,-1,,0\n900001,copy1,-2,,0\n");
        fclose(f);
    }
    snprintf(sql, sizeof(sql), "COPY w FROM '%s' (HEADER)", path);
    char *m = es_text(&d, sql, NULL);
    CHECK(strstr(m, "duplicate value e = 'copy1' of unique index we") != NULL);
    free(m);
    remove(path);
    both_same(&d, "SELECT count(*) FROM w WHERE id >= 900000", NULL);
    /* A transaction and an autocommit insert of one value: not both. */
    es_store *other = NULL;
    CHECK_OK(es_store_open(&other, uri, NULL));
    CHECK_OK(es_txn_begin(d.store, NULL));
    free(es_text(&d, "INSERT INTO w VALUES (990000, 'txn', -10, NULL, 0)", NULL));
    es_sql_session *os = NULL;
    CHECK_OK(es_sql_session_open(&os, other));
    es_sql_result r = ES_SQL_RESULT_INIT;
    CHECK_OK(es_sql_exec(os, "INSERT INTO w VALUES (990001, 'txn', -11, NULL, 0)", &r));
    es_sql_result_reset(&r);
    CHECK(es_txn_commit(d.store, NULL) != ES_OK);
    es_txn_abort(d.store);
    char *c = es_text(&d, "SELECT count(*) FROM w WHERE e = 'txn'", NULL);
    CHECK_EQ_STR(c, "1\n");
    free(c);
    /* A write that read the table before CREATE UNIQUE INDEX commits after it: a conflict. */
    es_status cs = ES_OK;
    CHECK_OK(es_sql_exec(os, "CREATE TABLE w2 (id BIGINT PRIMARY KEY, x INT)", &r));
    es_sql_result_reset(&r);
    /* The transaction read w2 (empty) and inserts x = 77; meanwhile a unique index on x is
     * created and another handle inserts x = 77 under it. */
    CHECK_OK(es_txn_begin(d.store, NULL));
    free(es_text(&d, "INSERT INTO w2 VALUES (1, 77)", NULL));
    CHECK_OK(es_index_create(other, "w2", "w2x", "x", 1, 0));
    CHECK_OK(es_sql_exec(os, "INSERT INTO w2 VALUES (2, 77)", &r));
    es_sql_result_reset(&r);
    cs = es_txn_commit(d.store, NULL);
    CHECK_EQ_INT(cs, ES_CONFLICT);
    if (cs != ES_OK)
        es_txn_abort(d.store);
    c = es_text(&d, "SELECT count(*) FROM w2 WHERE x = 77", NULL);
    CHECK_EQ_STR(c, "1\n"); /* never two 77s under a unique index */
    free(c);
    es_sql_session_close(os);
    es_store_close(other);
    printf("unique indexes against SQLite: %d statements, %d duplicate errors\n", steps, failed);
    side_close(&d);
}

/* An update moving row 10 onto key 1000 while another handle inserts key 1000: the update
 * read the table before that insert, so only the rebase can see it. */
typedef struct mover {
    es_store *other;
    es_status other_rc;
    int calls;
} mover;

static struct ArrowSchema kv_schema_named(const char *vcol)
{
    struct ArrowSchema sc;
    es_schema_init_struct(&sc, 2, NULL);
    es_schema_init(sc.children[0], "l", "id", 0, NULL);
    es_schema_init(sc.children[1], "l", vcol, ARROW_FLAG_NULLABLE, NULL);
    return sc;
}

static struct ArrowSchema kv_schema(void)
{
    return kv_schema_named("v");
}

/* A batch of keys from..from+n-1 with value v in column vcol. */
static void kv_batch(struct ArrowSchema *sc, struct ArrowArray *arr, const char *vcol, int64_t from,
                     int64_t n, int64_t v)
{
    *sc = kv_schema_named(vcol);
    es_builder *b = NULL;
    es_builder_new(&b, sc, NULL);
    for (int64_t i = 0; i < n; i++) {
        es_builder_append_int(es_builder_child(b, 0), from + i);
        es_builder_append_int(es_builder_child(b, 1), v);
        es_builder_append_struct(b);
    }
    es_builder_finish(b, arr, NULL);
    es_builder_free(b);
}

/* Insert keys from..from+n-1 with value v in column vcol. */
static es_status insert_kv_col(es_store *s, const char *table, const char *vcol, int64_t from,
                               int64_t n, int64_t v)
{
    struct ArrowSchema sc;
    struct ArrowArray arr;
    kv_batch(&sc, &arr, vcol, from, n, v);
    es_status st = es_insert_batch(s, table, &sc, &arr);
    sc.release(&sc);
    return st;
}

static es_status insert_kv(es_store *s, const char *table, int64_t from, int64_t n, int64_t v)
{
    return insert_kv_col(s, table, "v", from, n, v);
}

static es_status move_fn(void *ctx, const struct ArrowSchema *schema, const struct ArrowArray *rows,
                         struct ArrowArray *out, es_error *err)
{
    mover *m = ctx;
    (void)err;
    if (m->calls++ == 0)
        m->other_rc = insert_kv(m->other, "mv", 1000, 1, 7);
    es_builder *b = NULL;
    es_array_view v;
    es_array_view_init(&v, schema, rows, NULL);
    es_builder_new(&b, schema, NULL);
    for (int64_t i = 0; i < v.length; i++) {
        es_builder_append_int(es_builder_child(b, 0), 1000);
        es_builder_append_int(es_builder_child(b, 1), es_view_get_int(&v.children[1], i));
        es_builder_append_struct(b);
    }
    es_status st = es_builder_finish(b, out, NULL);
    es_builder_free(b);
    es_array_view_reset(&v);
    return st;
}

/* An update setting v = 5000 (unique index on v) while another handle inserts v = 5000. */
static es_status set_v_fn(void *ctx, const struct ArrowSchema *schema,
                          const struct ArrowArray *rows, struct ArrowArray *out, es_error *err)
{
    mover *m = ctx;
    (void)err;
    if (m->calls++ == 0)
        m->other_rc = insert_kv(m->other, "mu", 2000, 1, 5000);
    es_builder *b = NULL;
    es_array_view v;
    es_array_view_init(&v, schema, rows, NULL);
    es_builder_new(&b, schema, NULL);
    for (int64_t i = 0; i < v.length; i++) {
        es_builder_append_int(es_builder_child(b, 0), es_view_get_int(&v.children[0], i));
        es_builder_append_int(es_builder_child(b, 1), 5000);
        es_builder_append_struct(b);
    }
    es_status st = es_builder_finish(b, out, NULL);
    es_builder_free(b);
    es_array_view_reset(&v);
    return st;
}

static int64_t count_rows(es_store *s, const char *table, const es_expr *pred)
{
    es_scan_options o = ES_SCAN_OPTIONS_INIT;
    o.predicate = pred;
    struct ArrowArrayStream st;
    if (es_scan(s, table, &o, &st) != ES_OK)
        return -1;
    int64_t n = 0;
    struct ArrowArray a;
    while (st.get_next(&st, &a) == 0 && a.release) {
        n += a.length;
        a.release(&a);
    }
    st.release(&st);
    return n;
}

static void test_unique_concurrent(const char *uri)
{
    es_store *s = NULL, *o = NULL;
    CHECK_OK(es_store_open(&s, uri, NULL));
    CHECK_OK(es_store_open(&o, uri, NULL));
    if (!s || !o)
        return;
    struct ArrowSchema sc = kv_schema();
    es_table_drop(s, "mv", 1);
    CHECK_OK(es_table_create(s, "mv", &sc, "id", 0));
    sc.release(&sc);
    CHECK_OK(insert_kv(s, "mv", 0, 100, 1));
    /* The update loses the race to the insert of key 1000: ES_CONFLICT on rebase. */
    mover m = {o, ES_OK, 0};
    es_expr *e = es_expr_cmp("id", ES_EQ, vint(10));
    int64_t n = 0;
    CHECK_EQ_INT(es_update(s, "mv", e, move_fn, &m, &n), ES_CONFLICT);
    CHECK(strstr(es_store_errmsg(s), "'mv'") != NULL);
    CHECK_OK(m.other_rc);
    es_expr_free(e);
    e = es_expr_cmp("id", ES_EQ, vint(1000));
    CHECK_EQ_INT(count_rows(s, "mv", e), 1);
    es_expr_free(e);
    CHECK_EQ_INT(count_rows(s, "mv", NULL), 101);
    /* Two transactions insert key 5000: the second commit fails. */
    CHECK_OK(es_txn_begin(s, NULL));
    CHECK_OK(es_txn_begin(o, NULL));
    CHECK_OK(insert_kv(s, "mv", 5000, 1, 1));
    CHECK_OK(insert_kv(o, "mv", 4999, 2, 2)); /* keys 4999 and 5000 */
    int64_t v = -1;
    CHECK_OK(es_txn_commit(o, &v));
    CHECK_EQ_INT(es_txn_commit(s, &v), ES_CONFLICT);
    CHECK(strstr(es_store_errmsg(s), "'mv'") != NULL);
    e = es_expr_between("id", vint(4999), vint(5000));
    CHECK_EQ_INT(count_rows(s, "mv", e), 2);
    es_expr_free(e);
    /* A unique index on v: the update loses the race to an insert of its new value and
     * fails on rebase; the value is there once. */
    sc = kv_schema();
    es_table_drop(s, "mu", 1);
    CHECK_OK(es_table_create(s, "mu", &sc, "id", 0));
    sc.release(&sc);
    for (int i = 0; i < 20; i++)
        CHECK_OK(insert_kv(s, "mu", i, 1, i));
    CHECK_OK(es_index_create(s, "mu", "mu_v", "v", 1, 0));
    mover mu = {o, ES_OK, 0};
    e = es_expr_cmp("id", ES_EQ, vint(10));
    es_status us = es_update(s, "mu", e, set_v_fn, &mu, &n);
    CHECK(us == ES_EXISTS || us == ES_CONFLICT);
    CHECK(strstr(es_store_errmsg(s), "v = 5000") != NULL || us == ES_CONFLICT);
    CHECK_OK(mu.other_rc);
    es_expr_free(e);
    e = es_expr_cmp("v", ES_EQ, vint(5000));
    CHECK_EQ_INT(count_rows(s, "mu", e), 1);
    es_expr_free(e);
    /* In one transaction, a key inserted twice fails the second insert. */
    CHECK_OK(es_txn_begin(s, NULL));
    CHECK_OK(insert_kv(s, "mv", 6000, 1, 1));
    CHECK_EQ_INT(insert_kv(s, "mv", 6000, 1, 2), ES_EXISTS);
    es_txn_abort(s);
    es_store_close(o);
    es_store_close(s);
}

#define WRITERS 4
#define ROUNDS 12
#define KEYS 6

/* Forked writers insert batches of KEYS keys drawn from a small range (overlapping between
 * writers and with their own earlier batches); v records the writer and round. Afterwards
 * every key is present at most once and every acknowledged batch is there whole. */
static void test_unique_processes(const char *uri)
{
    es_store *s = NULL;
    CHECK_OK(es_store_open(&s, uri, NULL));
    if (!s)
        return;
    struct ArrowSchema sc = kv_schema();
    es_table_drop(s, "race", 1);
    CHECK_OK(es_table_create(s, "race", &sc, "id", 0));
    sc.release(&sc);
    int res[2];
    if (pipe(res) != 0)
        return;
    fflush(stdout);
    fflush(stderr);
    pid_t pids[WRITERS];
    for (int w = 0; w < WRITERS; w++) {
        pids[w] = fork();
        if (pids[w] == 0) {
            close(res[0]);
            rng = 0x1234567ull * (uint64_t)(w + 1);
            es_store *c = NULL;
            uint32_t acked = 0;
            if (es_store_open(&c, uri, NULL) == ES_OK)
                for (int r = 0; r < ROUNDS; r++) {
                    es_status st = insert_kv(c, "race", rn(60) * KEYS, KEYS, w * 100 + r);
                    if (st == ES_OK)
                        acked |= 1u << r;
                    else if (st != ES_EXISTS && st != ES_CONFLICT)
                        fprintf(stderr, "writer %d: %s\n", w, es_store_errmsg(c));
                }
            es_store_close(c);
            uint32_t msg[2] = {(uint32_t)w, acked};
            _exit(write(res[1], msg, sizeof(msg)) == (ssize_t)sizeof(msg) ? 0 : 1);
        }
    }
    close(res[1]);
    uint32_t acked[WRITERS] = {0}, msg[2];
    while (read(res[0], msg, sizeof(msg)) == (ssize_t)sizeof(msg))
        if (msg[0] < WRITERS)
            acked[msg[0]] = msg[1];
    close(res[0]);
    for (int w = 0; w < WRITERS; w++) {
        int status = 0;
        if (pids[w] > 0)
            waitpid(pids[w], &status, 0);
        CHECK(pids[w] > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    /* Every row: its key once; (writer, round) an acknowledged batch holding it. */
    es_scan_options o = ES_SCAN_OPTIONS_INIT;
    struct ArrowArrayStream st;
    int64_t seen[60 * KEYS], rows = 0, bad = 0, per_batch[WRITERS * 100] = {0};
    memset(seen, 0, sizeof(seen));
    CHECK_OK(es_scan(s, "race", &o, &st));
    struct ArrowArray a;
    while (st.get_next(&st, &a) == 0 && a.release) {
        struct ArrowSchema ss;
        st.get_schema(&st, &ss);
        es_array_view v;
        es_array_view_init(&v, &ss, &a, NULL);
        for (int64_t i = 0; i < v.length; i++, rows++) {
            int64_t k = es_view_get_int(&v.children[0], i), wr = es_view_get_int(&v.children[1], i);
            bad += k < 0 || k >= 60 * KEYS || seen[k]++ > 0;
            int w = (int)(wr / 100), r = (int)(wr % 100);
            bad += w < 0 || w >= WRITERS || r >= ROUNDS || !(acked[w] >> r & 1);
            if (w >= 0 && w < WRITERS && r < ROUNDS)
                per_batch[wr]++;
        }
        es_array_view_reset(&v);
        ss.release(&ss);
        a.release(&a);
    }
    st.release(&st);
    CHECK_EQ_INT(bad, 0);
    int64_t acks = 0;
    for (int w = 0; w < WRITERS; w++)
        for (int r = 0; r < ROUNDS; r++)
            if (acked[w] >> r & 1) {
                acks++;
                CHECK_EQ_INT(per_batch[w * 100 + r], KEYS); /* acknowledged: all there */
            }
    CHECK_EQ_INT(rows, acks * KEYS);
    printf("processes: %d writers x %d inserts of overlapping keys, %lld acknowledged, %lld "
           "rows, no key twice\n",
           WRITERS, ROUNDS, (long long)acks, (long long)rows);
    es_store_close(s);
}

/* ------------------------------------------------------------ indexes */

static const char *words[] = {"ant", "bee", "cat", "dog", "eel", "fox", "gnu", "hen", "ibis"};

static void ts_lit(char *buf, size_t cap, int k)
{
    snprintf(buf, cap, "'2024-03-%02d %02d:%02d:00'", 1 + k % 28, k % 24, (k * 7) % 60);
}

static int64_t next_id = 1;

static void insert_rows(side *d, int n)
{
    sbuf q = {0};
    sb_printf(&q, "INSERT INTO t VALUES ");
    for (int i = 0; i < n; i++) {
        char ts[64];
        ts_lit(ts, sizeof ts, rn(40));
        if (rn(10) == 0)
            sb_printf(&q, "%s(%" PRId64 ", NULL, NULL, NULL)", i ? ", " : "", next_id++);
        else
            sb_printf(&q, "%s(%" PRId64 ", %d, '%s', %s)", i ? ", " : "", next_id++, rn(50),
                      words[rn(9)], ts);
    }
    both_run(d, q.p, NULL);
    free(q.p);
}

/* A query by one indexed column, on both; also through es_scan to see the index used (and the
 * rows it read by position, es_lookup_rows). */
static int64_t index_used, index_rows;

static void query(side *d, int col)
{
    char where[256], ts[64];
    int in = rn(4) == 0;
    if (col == 0) {
        if (in)
            snprintf(where, sizeof where, "k IN (%d, %d, %d)", rn(55), rn(55), rn(55));
        else
            snprintf(where, sizeof where, "k = %d", rn(55));
    } else if (col == 1) {
        if (in)
            snprintf(where, sizeof where, "s IN ('%s', '%s')", words[rn(9)], words[rn(9)]);
        else
            snprintf(where, sizeof where, "s = '%s'", rn(10) ? words[rn(9)] : "zebra");
    } else {
        ts_lit(ts, sizeof ts, rn(45));
        snprintf(where, sizeof where, "ts = %s", ts);
    }
    char a[512], b[512];
    const char *extra = rn(3) == 0 ? " AND id % 2 = 0" : "";
    snprintf(a, sizeof a, "SELECT count(*), sum(id), min(id), max(id) FROM t WHERE %s%s", where,
             extra);
    both_same(d, a, NULL);
    snprintf(b, sizeof b, "SELECT id, s, ts FROM t WHERE %s ORDER BY id", where);
    both_same(d, b, NULL);
    /* The scan reports the index on equality of k (covered parts). */
    if (col == 0 && !in) {
        int v = atoi(where + 4);
        es_expr *e = es_expr_cmp("k", ES_EQ, vint(v));
        es_scan_stats stats;
        es_scan_options o = ES_SCAN_OPTIONS_INIT;
        o.predicate = e;
        o.stats = &stats;
        struct ArrowArrayStream st;
        if (es_scan(d->store, "t", &o, &st) == ES_OK) {
            struct ArrowArray arr;
            while (st.get_next(&st, &arr) == 0 && arr.release)
                arr.release(&arr);
            st.release(&st);
            index_used += stats.index_parts > 0 && strcmp(stats.index_name, "tk") == 0;
            index_rows += stats.index_rows;
        }
        es_expr_free(e);
    }
}

static void test_index_diff(const char *uri, int steps)
{
    side d;
    side_open(&d, uri, 16);
    next_id = 1;
    index_used = 0;
    int optimized = 0;
    both_run(&d, "CREATE TABLE t (id BIGINT PRIMARY KEY, k BIGINT, s TEXT, ts TIMESTAMP)",
             "CREATE TABLE t (id INTEGER PRIMARY KEY, k INTEGER, s TEXT, ts TEXT)");
    for (int i = 0; i < 8; i++)
        insert_rows(&d, 40 + rn(40));
    /* Backfill of existing parts. */
    free(es_text(&d, "CREATE INDEX tk ON t (k)", NULL));
    free(es_text(&d, "CREATE INDEX ts_s ON t (s)", NULL));
    free(es_text(&d, "CREATE INDEX tts ON t (ts)", NULL));
    char *l = es_text(&d, "SELECT 1", NULL);
    free(l);
    es_index_info *ix = NULL;
    int64_t n_ix = 0;
    CHECK_OK(es_index_list(d.store, &ix, &n_ix));
    CHECK_EQ_INT(n_ix, 3);
    for (int64_t i = 0; i < n_ix; i++)
        CHECK_EQ_INT(ix[i].parts_covered, ix[i].parts_total);
    es_index_list_free(ix, n_ix);
    /* Errors: a taken name, an unknown column, UNIQUE on a column other than the key. */
    char *m = es_text(&d, "CREATE INDEX tk ON t (s)", NULL);
    CHECK(strstr(m, "exists") != NULL);
    free(m);
    m = es_text(&d, "CREATE INDEX nope ON t (zz)", NULL);
    CHECK(strstr(m, "table t has no column zz") != NULL);
    free(m);
    m = es_text(&d, "CREATE UNIQUE INDEX uk ON t (k)", NULL); /* k repeats */
    CHECK(strstr(m, "duplicate value k = ") != NULL);
    free(m);
    for (int step = 0; step < steps; step++) {
        int r = rn(10);
        char q[256];
        if (r < 2) {
            insert_rows(&d, 1 + rn(30));
        } else if (r < 3) { /* in a transaction: its parts are covered too */
            both_run(&d, "BEGIN", NULL);
            insert_rows(&d, 1 + rn(10));
            snprintf(q, sizeof q, "UPDATE t SET s = '%s' WHERE k = %d", words[rn(9)], rn(50));
            both_run(&d, q, NULL);
            both_run(&d, "COMMIT", NULL);
        } else if (r < 5) {
            snprintf(q, sizeof q, "DELETE FROM t WHERE k = %d OR id %% 17 = %d", rn(50), rn(17));
            both_run(&d, q, NULL);
        } else if (r < 7) {
            snprintf(q, sizeof q, "UPDATE t SET k = %d, s = '%s' WHERE id %% 13 = %d", rn(55),
                     words[rn(9)], rn(13));
            both_run(&d, q, NULL);
        } else if (r == 7 && rn(3) == 0) { /* compaction: its output is indexed too */
            char *o = es_text(&d, "OPTIMIZE t", NULL);
            CHECK(strncmp(o, "error", 5) != 0);
            free(o);
            optimized++;
        } else {
            query(&d, rn(3));
        }
    }
    CHECK(index_used > 0);
    CHECK(optimized > 0);
    /* Bodies are compressed by default here, so hits read whole batches (index_rows stays 0);
     * reading rows by position is test_index_lookup's. */
    CHECK_OK(es_index_list(d.store, &ix, &n_ix));
    CHECK_EQ_INT(n_ix, 3);
    for (int64_t i = 0; i < n_ix; i++) /* every part indexed, transactions' included */
        CHECK_EQ_INT(ix[i].parts_covered, ix[i].parts_total);
    es_index_list_free(ix, n_ix);
    /* The same answers without the indexes. */
    uint64_t saved = rng;
    sbuf with = {0}, without = {0};
    sb_printf(&with, "%s", "");
    sb_printf(&without, "%s", "");
    for (int pass = 0; pass < 2; pass++) {
        rng = saved;
        for (int i = 0; i < 40; i++) {
            char q[256];
            snprintf(q, sizeof q, "SELECT count(*), sum(id) FROM t WHERE k = %d OR s = '%s'",
                     rn(50), words[rn(9)]);
            char *a = es_text(&d, q, NULL);
            snprintf(q, sizeof q, "SELECT id FROM t WHERE k IN (%d, %d) ORDER BY id", rn(50),
                     rn(50));
            char *b = es_text(&d, q, NULL);
            sb_printf(pass ? &without : &with, "%s%s", a, b);
            free(a);
            free(b);
        }
        if (pass == 0) {
            free(es_text(&d, "DROP INDEX tk", NULL));
            free(es_text(&d, "DROP INDEX ts_s", NULL));
            free(es_text(&d, "DROP INDEX tts", NULL));
            m = es_text(&d, "DROP INDEX tk", NULL);
            CHECK(strstr(m, "no such index: tk") != NULL);
            free(m);
        }
    }
    CHECK_EQ_STR(with.p, without.p);
    free(with.p);
    free(without.p);
    printf("indexes against SQLite: %d steps (%d OPTIMIZE), index used by %lld scans, %lld rows "
           "read by position\n",
           steps, optimized, (long long)index_used, (long long)index_rows);
    side_close(&d);
}

/* An index object of 50 integer rows verifies (not as strings); a byte of its first page
 * flipped, it is refused. */
static void damage_page(void *ctx, const char *key, uint8_t *copy, size_t size)
{
    (void)ctx;
    es_error e;
    CHECK_OK(es_index_object_check(copy, size, ES_DOM_INT, 50, key, &e));
    CHECK_EQ_INT(es_index_object_check(copy, size, ES_DOM_BYTES, 50, key, &e), ES_CORRUPT);
    copy[12] ^= 0x40; /* inside the first page */
    CHECK_EQ_INT(es_index_object_check(copy, size, ES_DOM_INT, 50, key, &e), ES_CORRUPT);
    CHECK(strstr(e.msg, "page checksum mismatch") != NULL);
}

/* A damaged index object is ES_CORRUPT naming it, never a wrong answer. */
static void test_index_corrupt(void)
{
    es_objstore_mem_drop("ixbad");
    side d;
    side_open(&d, "mem://ixbad", 16);
    next_id = 1;
    both_run(&d, "CREATE TABLE t (id BIGINT PRIMARY KEY, k BIGINT, s TEXT, ts TIMESTAMP)", NULL);
    insert_rows(&d, 50);
    free(es_text(&d, "CREATE INDEX tk ON t (k)", NULL));
    CHECK(damage_objects(d.store, ".six", damage_page, NULL) > 0);
    /* A fresh handle (no cached lookup tables). */
    es_store *o = NULL;
    CHECK_OK(es_store_open(&o, "mem://ixbad", NULL));
    es_value all[50]; /* every page is read */
    for (int i = 0; i < 50; i++)
        all[i] = vint(i);
    es_expr *e = es_expr_in("k", all, 50);
    es_scan_options so = ES_SCAN_OPTIONS_INIT;
    so.predicate = e;
    struct ArrowArrayStream st;
    es_status rc = es_scan(o, "t", &so, &st);
    if (rc == ES_OK) {
        struct ArrowArray a;
        while (st.get_next(&st, &a) == 0 && a.release)
            a.release(&a);
        const char *msg = st.get_last_error(&st);
        CHECK(msg && strstr(msg, ".six: index page checksum mismatch") != NULL);
        st.release(&st);
    }
    es_expr_free(e);
    es_store_close(o);
    side_close(&d);
}

/* --------------------------------------------------------------- faults */

/* The Nth operation fails during CREATE INDEX or a checked insert; afterwards the store opens,
 * queries equal SQLite's, and the insert is there whole or not at all. */
static void test_faults(void)
{
    int64_t runs = 0, failures = 0;
    for (int mode = 0; mode < 3; mode++) {
        for (int64_t nth = 1; nth < 60; nth++) {
            es_objstore_mem_drop("ixfault");
            es_objstore *inner = NULL, *fw = NULL;
            CHECK_OK(es_objstore_open(&inner, "mem://ixfault", NULL));
            CHECK_OK(es_objstore_fault_wrap(&fw, inner, 0, NULL));
            side d;
            rng = 42;
            side_open(&d, "mem://ixfault", 16);
            next_id = 1;
            both_run(&d, "CREATE TABLE t (id BIGINT PRIMARY KEY, k BIGINT, s TEXT, ts TIMESTAMP)",
                     "CREATE TABLE t (id INTEGER PRIMARY KEY, k INTEGER, s TEXT, ts TEXT)");
            for (int i = 0; i < 4; i++)
                insert_rows(&d, 30);
            es_store *f = NULL;
            es_open_options oo = ES_OPEN_OPTIONS_INIT;
            oo.batch_rows = 16;
            CHECK_OK(es_store_open_objstore(&f, fw, 0, &oo, NULL));
            es_fault_config cfg;
            memset(&cfg, 0, sizeof(cfg));
            cfg.op = -1;
            cfg.fail_at = nth;
            cfg.persist = mode == 1;
            if (mode == 2) {
                cfg.op = ES_OP_PUT;
                cfg.after = 1;
            }
            CHECK_OK(es_objstore_fault_set(fw, &cfg));
            es_status a = es_index_create(f, "t", "tk", "k", 0, 0);
            /* Keys 1..5 exist: refused whatever happens; 1000.. new. */
            es_status b = insert_kv_col(f, "t", "k", 1, 5, 0);
            es_status c = insert_kv_col(f, "t", "k", 1000, 5, 0);
            int64_t injected = es_objstore_fault_injected(fw);
            es_objstore_fault_set(fw, NULL);
            CHECK(b != ES_OK);
            runs++;
            failures += a != ES_OK || c != ES_OK;
            es_store_close(f);
            /* The truth through a clean handle. */
            es_store_close(d.store);
            d.store = NULL;
            es_sql_session_close(d.ses);
            CHECK_OK(es_store_open(&d.store, "mem://ixfault", NULL));
            CHECK_OK(es_sql_session_open(&d.ses, d.store));
            char *n = es_text(&d, "SELECT count(*) FROM t WHERE id >= 1000", NULL);
            CHECK(strcmp(n, "0\n") == 0 || strcmp(n, "5\n") == 0);
            if (strcmp(n, "5\n") == 0)
                sqlite3_exec(d.db,
                             "INSERT INTO t VALUES (1000,0,NULL,NULL),(1001,0,NULL,NULL),"
                             "(1002,0,NULL,NULL),(1003,0,NULL,NULL),(1004,0,NULL,NULL)",
                             NULL, NULL, NULL);
            free(n);
            for (int q = 0; q < 6; q++)
                query(&d, q % 3);
            side_close(&d);
            es_objstore_close(fw);
            es_objstore_close(inner);
            if (!injected)
                break; /* nothing left to fail */
        }
    }
    CHECK(failures > 10);
    printf("faults: %lld runs, %lld with a failed call, each all or nothing\n", (long long)runs,
           (long long)failures);
}

/* A CREATE INDEX that dies after its create_index commit (a crash after the Nth put) leaves
 * the index covering only some parts; CREATE INDEX IF NOT EXISTS of the same index finishes
 * the backfill, and of a UNIQUE index runs the check of the column the crash skipped (here it
 * finds duplicates: the index goes). */
static void test_create_resume(void)
{
    for (int unique = 0; unique < 2; unique++) {
        int cut = 0;
        for (int64_t nth = 1; nth < 10 && !cut; nth++) {
            es_objstore_mem_drop("ixresume");
            es_store *s = NULL, *f = NULL;
            es_open_options o = ES_OPEN_OPTIONS_INIT;
            CHECK_OK(es_store_open(&s, "mem://ixresume", &o));
            struct ArrowSchema sc = kv_schema();
            CHECK_OK(es_table_create(s, "r", &sc, "id", 0));
            sc.release(&sc);
            for (int i = 0; i < 3; i++) /* three parts; v = 5 in all rows: duplicates */
                CHECK_OK(insert_kv(s, "r", i * 100, 100, 5));
            es_objstore *inner = NULL, *fw = NULL;
            CHECK_OK(es_objstore_open(&inner, "mem://ixresume", NULL));
            CHECK_OK(es_objstore_fault_wrap(&fw, inner, 1, NULL));
            CHECK_OK(es_store_open_objstore(&f, fw, 1, &o, NULL));
            es_fault_config cfg;
            memset(&cfg, 0, sizeof(cfg));
            cfg.op = -1;
            cfg.crash_after_put = nth;
            CHECK_OK(es_objstore_fault_set(fw, &cfg));
            es_status a = es_index_create(f, "r", "rv", "v", unique, 0);
            es_store_close(f);
            es_index_info *l = NULL;
            int64_t n = 0;
            CHECK_OK(es_index_list(s, &l, &n));
            cut = a != ES_OK && n == 1 && l[0].parts_covered < l[0].parts_total;
            es_index_list_free(l, n);
            if (cut) {
                CHECK_EQ_INT(es_index_create(s, "r", "rv", "v", unique, 1),
                             unique ? ES_EXISTS : ES_OK);
                CHECK_OK(es_index_list(s, &l, &n));
                CHECK_EQ_INT(n, 1 - unique);
                if (n == 1)
                    CHECK(l[0].parts_covered == 3 && l[0].parts_total == 3);
                es_index_list_free(l, n);
            }
            es_store_close(s);
        }
        CHECK(cut);
    }
}

/* The Nth allocation fails (once) in CREATE INDEX, an insert into the indexed table with its
 * unique check, and a scan through the index: each fails cleanly or succeeds, and afterwards
 * the rows and the answers are those of before or after. */
static void test_alloc_failures(void)
{
    int64_t runs = 0, failures = 0;
    for (int64_t n = 1; n < 4000; n += n < 300 ? 1 : 13) {
        es_objstore_mem_drop("ixalloc");
        es_store *s = NULL;
        es_open_options o = ES_OPEN_OPTIONS_INIT;
        o.batch_rows = 8;
        CHECK_OK(es_store_open(&s, "mem://ixalloc", &o));
        if (!s)
            return;
        struct ArrowSchema sc = kv_schema();
        CHECK_OK(es_table_create(s, "a", &sc, "id", 0));
        sc.release(&sc);
        CHECK_OK(insert_kv(s, "a", 0, 40, 3));
        struct ArrowSchema s1, s2;
        struct ArrowArray a1, a2;
        kv_batch(&s1, &a1, "v", 30, 20, 4); /* keys 30..39 exist: never inserted */
        kv_batch(&s2, &a2, "v", 100, 20, 4);
        es_expr *e = es_expr_cmp("v", ES_EQ, vint(4));
        es_util_alloc_fail_at(n, 0);
        es_status c = es_index_create(s, "a", "av", "v", 0, 0);
        es_status i = es_insert_batch(s, "a", &s1, &a1);
        es_status j = es_insert_batch(s, "a", &s2, &a2);
        int64_t cnt = count_rows(s, "a", e);
        int64_t made = es_util_alloc_fail_at(0, 0);
        s1.release(&s1);
        s2.release(&s2);
        CHECK(i != ES_OK);
        failures += (c != ES_OK) + (j != ES_OK) + (cnt < 0);
        runs++;
        /* The truth: 40 rows, or 60 when the second insert went through; the query agrees. */
        int64_t all = count_rows(s, "a", NULL), hits = count_rows(s, "a", e);
        CHECK(all == 40 || all == 60);
        CHECK_EQ_INT(hits, all - 40);
        if (j == ES_OK)
            CHECK_EQ_INT(all, 60);
        es_expr_free(e);
        es_store_close(s);
        if (c == ES_OK && j == ES_OK && cnt >= 0 && made < n)
            break; /* nothing failed any more */
    }
    CHECK(failures > 10);
    printf("alloc failures: %lld runs, %lld calls failed cleanly\n", (long long)runs,
           (long long)failures);
}

int main(void)
{
    const char *env = getenv("ES_TEST_STORE_URI");
    if (env && *env) {
        test_unique_concurrent(env);
        test_unique_processes(env);
        return CHECK_DONE();
    }
    es_objstore_mem_drop("ix_unique");
    test_unique_sql("mem://ix_unique");
    es_objstore_mem_drop("ix_uindex");
    test_unique_index_sql("mem://ix_uindex");
    test_unique_default();
    es_objstore_mem_drop("ix_diff");
    test_index_diff("mem://ix_diff", 200);
    test_index_corrupt();
    es_objstore_mem_drop("ix_conc");
    test_unique_concurrent("mem://ix_conc");
    test_faults();
    test_create_resume();
    test_alloc_failures();
    char dir[] = "/tmp/es_test_index_XXXXXX";
    if (mkdtemp(dir)) {
        char uri[64];
        snprintf(uri, sizeof(uri), "%s/diff", dir);
        test_index_diff(uri, 40); /* each commit syncs: fewer */
        snprintf(uri, sizeof(uri), "%s/race", dir);
        test_unique_processes(uri);
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", dir);
    }
    return CHECK_DONE();
}
