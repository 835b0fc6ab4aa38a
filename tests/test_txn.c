/*
 * test_txn: transactions (es_txn_begin / es_txn_commit / es_txn_abort) on mem://, a local
 * temporary directory and ES_TEST_STORE_URI when set (the loopback Ceph RGW, tests/s3.cmake).
 * test_txn_history has the randomized history checker and the bank, test_txn_faults the
 * fault and allocation-failure loops.
 *
 *  - basics: misuse, reads of the snapshot plus the transaction's own writes (inserts,
 *    deletes, updates, upserts, created and dropped tables), other handles see nothing before
 *    the commit and everything after, one log entry per transaction whatever the number of
 *    tables, abort, read-only and failed calls inside a transaction, checkpoints;
 *  - the conflict matrix of transactions, exactly (two handles, a chosen interleaving):
 *    which concurrent commits make a transaction fail with ES_CONFLICT naming the table, and
 *    which merge;
 *  - write skew, deterministic: SNAPSHOT commits both transactions, SERIALIZABLE exactly one;
 *    phantoms and table look-ups under SERIALIZABLE;
 *  - SQL: BEGIN, COMMIT and ROLLBACK through two sessions.
 */
#include "delete_util.h"
#include "expstore/sql.h"

/* ---------------------------------------------------------------- helpers */

static int contains(const char *state, const char *row)
{
    char needle[128];
    snprintf(needle, sizeof(needle), "\n%s\n", row);
    if (!state)
        return 0;
    if (strncmp(state, row, strlen(row)) == 0 && state[strlen(row)] == '\n')
        return 1;
    return strstr(state, needle) != NULL;
}

/* ------------------------------------------------------------------ basics */

static void test_misuse(const char *uri)
{
    es_store *s = open_store16(uri);
    if (!s)
        return;
    es_isolation iso = ES_ISOLATION_SERIALIZABLE;
    CHECK_EQ_INT(es_txn_active(s, &iso), 0);
    CHECK_EQ_INT(es_txn_active(NULL, NULL), 0);
    CHECK_EQ_INT(es_txn_commit(s, NULL), ES_INVALID);
    CHECK(strstr(es_store_errmsg(s), "no transaction") != NULL);
    CHECK_EQ_INT(es_txn_abort(s), ES_INVALID);
    CHECK_EQ_INT(es_txn_begin(NULL, NULL), ES_INVALID);
    es_txn_options bad = ES_TXN_OPTIONS_INIT;
    bad.version = 99;
    CHECK_EQ_INT(es_txn_begin(s, &bad), ES_INVALID);
    bad = opts_of((es_isolation)7);
    CHECK_EQ_INT(es_txn_begin(s, &bad), ES_INVALID);
    CHECK_EQ_INT(es_txn_active(s, NULL), 0);
    CHECK_OK(es_txn_begin(s, NULL));
    CHECK_EQ_INT(es_txn_active(s, &iso), 1);
    CHECK_EQ_INT(iso, ES_ISOLATION_SNAPSHOT);
    CHECK_EQ_INT(es_txn_begin(s, NULL), ES_INVALID);
    CHECK(strstr(es_store_errmsg(s), "already open") != NULL);
    CHECK_EQ_INT(es_txn_active(s, NULL), 1); /* still the first one */
    CHECK_OK(es_txn_abort(s));
    CHECK_EQ_INT(es_txn_active(s, NULL), 0);
    CHECK_OK(begin(s, ES_ISOLATION_SERIALIZABLE));
    CHECK_EQ_INT(es_txn_active(s, &iso), 1);
    CHECK_EQ_INT(iso, ES_ISOLATION_SERIALIZABLE);
    es_store_close(s); /* closing aborts it */

    /* Bad open options: a handle holding the error, as a bad URI gives (not NULL, which
     * es_store_errmsg would call "out of memory"). */
    es_open_options bo = ES_OPEN_OPTIONS_INIT;
    bo.version = 99;
    es_store *b = NULL;
    CHECK_EQ_INT(es_store_open(&b, uri, &bo), ES_INVALID);
    CHECK(b != NULL);
    CHECK(strstr(es_store_errmsg(b), "bad options") != NULL);
    CHECK_EQ_INT(es_store_errcode(b), ES_INVALID);
    es_store_close(b);
}

static void test_basics(const char *uri)
{
    es_store *s = open_store16(uri), *o = open_store16(uri);
    if (!s || !o)
        return;
    make_small(s, "ta", 0, 20);
    make_small(s, "tb", 100, 20);
    es_table_drop(s, "tc", 1);
    make_small(s, "td", 200, 5);
    char *a0 = table_state(s, "ta", -1), *b0 = table_state(s, "tb", -1);
    int64_t v0 = version_of(s);

    /* One transaction over four tables: insert, delete, update, upsert, create, drop. */
    CHECK_OK(es_txn_begin(s, NULL));
    CHECK_EQ_INT(version_of(s), v0);
    CHECK_OK(insert_small(s, "ta", 1000, 3, 1));
    int64_t n = -1, ins = -1, upd = -1;
    int64_t del[] = {1, 2, 1000};
    CHECK_OK(delete_keys(s, "ta", del, 3, &n));
    CHECK_EQ_INT(n, 3); /* its own row 1000 too */
    CHECK_OK(write_v(s, "tb", 105, 7777, &n));
    CHECK_EQ_INT(n, 1);
    int64_t uk[] = {106, 500}, uv[] = {61, 62};
    CHECK_OK(upsert_small(s, "tb", uk, uv, 2, ES_UPSERT_REPLACE, &ins, &upd));
    CHECK_EQ_INT(ins, 1);
    CHECK_EQ_INT(upd, 1);
    struct ArrowSchema sc = small_schema();
    CHECK_OK(es_table_create(s, "tc", &sc, "id", 0));
    CHECK_OK(insert_small(s, "tc", 0, 4, 1));
    CHECK_OK(write_v(s, "tc", 2, 22, &n));
    CHECK_OK(es_table_drop(s, "td", 0));
    CHECK_EQ_INT(es_table_create(s, "ta", &sc, "id", 0), ES_EXISTS); /* fails, changes nothing */
    /* The transaction sees its own writes... */
    CHECK_EQ_INT(read_v(s, "ta", 1001), 1);
    CHECK_EQ_INT(read_v(s, "ta", 1000), -1);
    CHECK_EQ_INT(read_v(s, "ta", 1), -1);
    CHECK_EQ_INT(read_v(s, "tb", 105), 7777);
    CHECK_EQ_INT(read_v(s, "tb", 106), 61);
    CHECK_EQ_INT(read_v(s, "tb", 500), 62);
    CHECK_EQ_INT(read_v(s, "tc", 2), 22);
    CHECK_EQ_INT(read_v(s, "tc", 3), 3);
    CHECK_EQ_INT(live_rows(s, "ta"), 20 + 3 - 3);
    CHECK_EQ_INT(has_table(s, "tc"), 1);
    CHECK_EQ_INT(has_table(s, "td"), 0);
    CHECK_EQ_INT(read_v(s, "td", 200), -3); /* dropped: no such table */
    CHECK_EQ_INT(es_store_errcode(s), ES_NOT_FOUND);
    CHECK_EQ_INT(version_of(s), v0);
    /* ...and other handles see nothing of it. */
    char *a = table_state(o, "ta", -1), *b = table_state(o, "tb", -1);
    CHECK(a && a0 && strcmp(a, a0) == 0);
    CHECK(b && b0 && strcmp(b, b0) == 0);
    free(a);
    free(b);
    CHECK_EQ_INT(has_table(o, "tc"), 0);
    CHECK_EQ_INT(has_table(o, "td"), 1);
    CHECK_EQ_INT(version_of(o), v0);
    int64_t v1 = -1;
    CHECK_OK(es_txn_commit(s, &v1));
    CHECK_EQ_INT(v1, v0 + 1); /* one entry for all four tables */
    CHECK_EQ_INT(es_txn_active(s, NULL), 0);
    /* After the commit, everything at once, for both handles and by time travel. */
    CHECK_EQ_INT(version_of(o), v1);
    CHECK_EQ_INT(read_v(o, "ta", 1001), 1);
    CHECK_EQ_INT(read_v(o, "ta", 1000), -1);
    CHECK_EQ_INT(read_v(o, "ta", 2), -1);
    CHECK_EQ_INT(read_v(o, "tb", 105), 7777);
    CHECK_EQ_INT(read_v(o, "tb", 500), 62);
    CHECK_EQ_INT(read_v(o, "tc", 2), 22);
    CHECK_EQ_INT(has_table(o, "td"), 0);
    CHECK_EQ_INT(live_rows(o, "ta"), 20);
    CHECK_EQ_INT(live_rows(o, "tb"), 21);
    CHECK_EQ_INT(live_rows(o, "tc"), 4);
    a = table_state(o, "ta", v0);
    CHECK(a && a0 && strcmp(a, a0) == 0);
    free(a);
    a = table_state(s, "ta", -1);
    b = table_state(o, "ta", v1);
    CHECK(a && b && strcmp(a, b) == 0);
    free(a);
    free(b);

    /* The snapshot is stable: another handle's commits stay invisible until the end. */
    CHECK_OK(es_txn_begin(s, NULL));
    char *before = table_state(s, "ta", -1);
    CHECK_OK(insert_small(o, "ta", 5000, 2, 1));
    CHECK_OK(delete_keys(o, "ta", (int64_t[]){3}, 1, &n));
    CHECK_OK(write_v(o, "ta", 4, 44, &n));
    char *during = table_state(s, "ta", -1);
    CHECK(before && during && strcmp(before, during) == 0);
    CHECK_EQ_INT(read_v(s, "ta", 4), 4);
    CHECK_EQ_INT(version_of(s), v1);
    CHECK_EQ_INT(read_v(s, "ta", 5000), -1);
    /* A read-only transaction commits nothing. */
    int64_t vr = -1;
    CHECK_OK(es_txn_commit(s, &vr));
    CHECK_EQ_INT(vr, v1);
    CHECK_EQ_INT(version_of(s), v1 + 3);
    CHECK_EQ_INT(read_v(s, "ta", 4), 44);
    free(before);
    free(during);

    /* Abort: nothing visible, the version unchanged. */
    int64_t v2 = version_of(s);
    CHECK_OK(es_txn_begin(s, NULL));
    CHECK_OK(insert_small(s, "ta", 9000, 5, 1));
    CHECK_OK(es_table_drop(s, "tb", 0));
    CHECK_OK(es_txn_abort(s));
    CHECK_EQ_INT(version_of(s), v2);
    CHECK_EQ_INT(read_v(s, "ta", 9000), -1);
    CHECK_EQ_INT(has_table(s, "tb"), 1);

    /* A failed call leaves the transaction as it was; the transaction goes on. */
    CHECK_OK(es_txn_begin(s, NULL));
    CHECK_OK(insert_small(s, "ta", 7000, 1, 1));
    {
        struct ArrowSchema bad;
        es_schema_init_struct(&bad, 1, NULL);
        es_schema_init(bad.children[0], "u", "id", 0, NULL); /* id is int64, not utf8 */
        es_builder *bb = NULL;
        es_builder_new(&bb, &bad, NULL);
        es_builder_append_bytes(es_builder_child(bb, 0), "x", 1);
        es_builder_append_struct(bb);
        struct ArrowArray arr;
        es_builder_finish(bb, &arr, NULL);
        CHECK_EQ_INT(es_insert_batch(s, "ta", &bad, &arr), ES_INVALID);
        es_builder_free(bb);
        bad.release(&bad);
    }
    small_update fail = {0, "x", 0, ES_IO, 0};
    es_expr *all = es_expr_cmp("id", ES_GE, vint(0));
    CHECK_EQ_INT(es_update(s, "ta", all, small_update_fn, &fail, &n), ES_IO);
    es_expr_free(all);
    CHECK_EQ_INT(es_delete(s, "nope", NULL, &n), ES_NOT_FOUND);
    CHECK_EQ_INT(es_txn_active(s, NULL), 1);
    CHECK_EQ_INT(read_v(s, "ta", 7000), 0);
    CHECK_OK(es_txn_commit(s, &v1));
    CHECK_EQ_INT(v1, v2 + 1);
    CHECK_EQ_INT(read_v(o, "ta", 7000), 0);
    CHECK_EQ_INT(read_v(o, "ta", 5), 5);

    /* Inserted, then deleted by the same transaction: in no version at all. Dropped and
     * re-created in one transaction: the new table replaces the old at once. */
    CHECK_OK(es_txn_begin(s, NULL));
    CHECK_OK(insert_small(s, "ta", 8000, 4, 1));
    es_expr *hi = es_expr_cmp("id", ES_GE, vint(8000));
    CHECK_OK(es_delete(s, "ta", hi, &n));
    es_expr_free(hi);
    CHECK_OK(es_table_drop(s, "tb", 0));
    CHECK_OK(es_table_create(s, "tb", &sc, "id", 0));
    CHECK_OK(insert_small(s, "tb", 1, 2, 1));
    CHECK_OK(es_txn_commit(s, &v1));
    CHECK_EQ_INT(read_v(o, "ta", 8000), -1);
    CHECK_EQ_INT(live_rows(o, "tb"), 2);
    CHECK_EQ_INT(read_v(o, "tb", 105), -1);

    /* Many small transactions cross checkpoints; a new handle opens from one. */
    for (int i = 0; i < 12; i++) {
        CHECK_OK(es_txn_begin(s, NULL));
        CHECK_OK(insert_small(s, "ta", 10000 + i, 1, 1));
        CHECK_OK(insert_small(s, "tc", 10000 + i, 1, 1));
        CHECK_OK(es_txn_commit(s, NULL));
    }
    es_store *r = open_store16(uri);
    CHECK(r && live_rows(r, "tc") == 16);
    es_store_close(r);
    sc.release(&sc);
    free(a0);
    free(b0);
    es_store_close(o);
    es_store_close(s);
}

/* ---------------------------------------------------------- conflict matrix */

/* Transaction T on handle s: its write (what_mine), then a concurrent autocommit on o
 * (what_other), then T commits. */
typedef struct matrix_case {
    const char *name;
    int mine;          /* 0 update row 10, 1 insert, 2 delete rows 0..99 (removes the part), 3 drop
                          table, 4 upsert key 300, 5 create table "cx", 6 update row 10 in "c" and
                          insert into "c2" (two tables) */
    int other;         /* 0 update row 10, 1 update row 20, 2 insert rows 300.., 3 drop table,
                          4 drop and re-create, 5 create table "cx", 6 delete row 20 */
    int conflict;      /* under SNAPSHOT */
    int ser_conflict;  /* under SERIALIZABLE: also when the other changed rows mine read */
    const char *words; /* expected in the message */
} matrix_case;

static es_status do_mine(es_store *s, int what)
{
    int64_t n;
    struct ArrowSchema sc = small_schema();
    es_status rc = ES_OK;
    switch (what) {
    case 0:
        rc = write_v(s, "c", 10, 1010, &n);
        break;
    case 1:
        rc = insert_small(s, "c", 400, 5, 1);
        break;
    case 2: {
        es_expr *e = es_expr_between("id", vint(0), vint(99));
        rc = es_delete(s, "c", e, &n);
        es_expr_free(e);
        break;
    }
    case 3:
        rc = es_table_drop(s, "c", 0);
        break;
    case 4: {
        int64_t k[] = {300}, v[] = {3};
        int64_t i, u;
        rc = upsert_small(s, "c", k, v, 1, ES_UPSERT_REPLACE, &i, &u);
        break;
    }
    case 5:
        rc = es_table_create(s, "cx", &sc, "id", 0);
        break;
    default:
        rc = insert_small(s, "c2", 50, 5, 1);
        if (!rc)
            rc = write_v(s, "c", 10, 1010, &n);
        break;
    }
    sc.release(&sc);
    return rc;
}

static es_status do_other(es_store *o, int what)
{
    int64_t n;
    struct ArrowSchema sc = small_schema();
    es_status rc = ES_OK;
    switch (what) {
    case 0:
        rc = write_v(o, "c", 10, 555, &n);
        break;
    case 1:
        rc = write_v(o, "c", 20, 555, &n);
        break;
    case 2:
        rc = insert_small(o, "c", 300, 5, 1);
        break;
    case 3:
        rc = es_table_drop(o, "c", 0);
        break;
    case 4:
        rc = es_table_drop(o, "c", 0);
        if (!rc)
            rc = es_table_create(o, "c", &sc, "id", 0);
        if (!rc)
            rc = insert_small(o, "c", 0, 100, 1);
        break;
    case 5:
        rc = es_table_create(o, "cx", &sc, "id", 0);
        break;
    default:
        rc = delete_keys(o, "c", (int64_t[]){20}, 1, &n);
        break;
    }
    sc.release(&sc);
    return rc;
}

static void test_conflict_matrix(const char *uri, es_isolation iso)
{
    static const matrix_case cases[] = {
        {"update same row / update same row", 0, 0, 1, 1, "row 10 of part"},
        {"update row / update other row of the part", 0, 1, 0, 1, NULL},
        {"update row / delete other row of the part", 0, 6, 0, 1, NULL},
        {"update row / insert elsewhere", 0, 2, 0, 0, NULL},
        {"update row / drop table", 0, 3, 1, 1, "dropped"},
        {"update row / re-create table", 0, 4, 1, 1, "dropped"},
        {"insert / insert", 1, 2, 0, 0, NULL},
        {"insert / update", 1, 0, 0, 0, NULL},
        {"insert / drop table", 1, 3, 1, 1, "dropped"},
        {"insert / re-create table", 1, 4, 1, 1, "dropped"},
        {"delete part / update other row", 2, 1, 1, 1, "part"},
        {"delete part / insert elsewhere", 2, 2, 0, 0, NULL},
        {"drop / insert", 3, 2, 1, 1, "inserted rows"},
        {"drop / update", 3, 1, 1, 1, "deleted or updated"},
        {"drop / drop", 3, 3, 1, 1, "dropped"},
        {"upsert key / insert of that key", 4, 2, 1, 1, "keys this transaction upserts"},
        {"upsert key / update other row", 4, 1, 0, 0, NULL},
        {"create / create same name", 5, 5, 1, 1, "created"},
        {"create / insert elsewhere", 5, 2, 0, 0, NULL},
        {"two tables / same row in one", 6, 0, 1, 1, "row 10 of part"},
        {"two tables / other row", 6, 1, 0, 1, NULL},
    };
    int64_t n_cases = (int64_t)(sizeof(cases) / sizeof(cases[0]));
    int64_t bad = 0;
    for (int64_t i = 0; i < n_cases; i++) {
        const matrix_case *mc = &cases[i];
        es_store *s = open_store16(uri), *o = open_store16(uri);
        if (!s || !o)
            return;
        make_small(s, "c", 0, 100); /* one part */
        make_small(s, "c2", 0, 10);
        es_table_drop(s, "cx", 1);
        int64_t n, pre[] = {50};
        CHECK_OK(delete_keys(s, "c", pre, 1, &n)); /* a vector to merge with */
        char *c2_before = table_state(s, "c2", -1);
        CHECK_OK(begin(s, iso));
        CHECK_OK(do_mine(s, mc->mine));
        CHECK_OK(do_other(o, mc->other));
        int64_t v = -1;
        es_status rc = es_txn_commit(s, &v);
        const char *msg = es_store_errmsg(s);
        /* Serializable: the transaction's writes read too (the rows they change), so a
         * concurrent change of a part they read conflicts as well. */
        int ser = iso == ES_ISOLATION_SERIALIZABLE;
        int expect = ser ? mc->ser_conflict : mc->conflict;
        /* The message names the first conflict found: under SERIALIZABLE a read-write one
         * may come before the write-write one. */
        const char *words = mc->conflict ? mc->words : "serializable";
        int ok = expect ? rc == ES_CONFLICT && strstr(msg, "table '") &&
                              (!words || strstr(msg, words) || (ser && strstr(msg, "serializable")))
                        : rc == ES_OK;
        if (!ok) {
            bad++;
            fprintf(stderr, "matrix %s (%s): %s: %s\n", mc->name,
                    iso == ES_ISOLATION_SNAPSHOT ? "snapshot" : "serializable", es_status_name(rc),
                    msg);
        }
        /* Whatever happened, both handles agree, and a failed transaction left nothing. */
        if (mc->other != 3) {
            char *x = table_state(s, "c", -1), *y = table_state(o, "c", -1);
            CHECK(x && y && strcmp(x, y) == 0);
            if (rc == ES_OK && (mc->mine == 0 || mc->mine == 6))
                CHECK(contains(x, "10|1010|t"));
            if (rc == ES_OK && mc->other == 1)
                CHECK(contains(x, "20|555|t"));
            if (rc == ES_OK && mc->other == 6)
                CHECK(x && !strstr(x, "\n20|"));
            if (rc == ES_OK)
                CHECK(x && !strstr(x, "\n50|"));
            free(x);
            free(y);
        }
        char *c2 = table_state(o, "c2", -1);
        if (rc != ES_OK || mc->mine != 6)
            CHECK(c2 && c2_before && strcmp(c2, c2_before) == 0);
        else
            CHECK(c2 && contains(c2, "50|50|r50"));
        free(c2);
        free(c2_before);
        es_store_close(o);
        es_store_close(s);
    }
    CHECK_EQ_INT(bad, 0);
    printf("conflict matrix (%s): %lld cases\n",
           iso == ES_ISOLATION_SNAPSHOT ? "snapshot" : "serializable", (long long)n_cases);
}

/* -------------------------------------------------------------- write skew */

/* Two doctors on call (v = 1); each transaction reads both and, seeing two on call, takes its
 * own off. */
static void test_write_skew(const char *uri)
{
    for (int level = 0; level < 2; level++) {
        es_isolation iso = level ? ES_ISOLATION_SERIALIZABLE : ES_ISOLATION_SNAPSHOT;
        es_store *h1 = open_store16(uri), *h2 = open_store16(uri);
        if (!h1 || !h2)
            return;
        make_small(h1, "oncall", 0, 0);
        CHECK_OK(insert_small(h1, "oncall", 1, 2, 1)); /* ids 1, 2 with v = 1, 2 */
        CHECK_OK(write_v(h1, "oncall", 2, 1, NULL));
        CHECK_OK(write_v(h1, "oncall", 1, 1, NULL));
        CHECK_OK(begin(h1, iso));
        CHECK_OK(begin(h2, iso));
        CHECK_EQ_INT(read_v(h1, "oncall", 1) + read_v(h1, "oncall", 2), 2);
        CHECK_EQ_INT(read_v(h2, "oncall", 1) + read_v(h2, "oncall", 2), 2);
        CHECK_OK(write_v(h1, "oncall", 1, 0, NULL));
        CHECK_OK(write_v(h2, "oncall", 2, 0, NULL));
        es_status r1 = es_txn_commit(h1, NULL);
        es_status r2 = es_txn_commit(h2, NULL);
        int64_t on = read_v(h1, "oncall", 1) + read_v(h1, "oncall", 2);
        if (level == 0) {
            CHECK_OK(r1);
            CHECK_OK(r2);
            CHECK_EQ_INT(on, 0); /* the anomaly snapshot isolation allows */
        } else {
            CHECK_OK(r1);
            CHECK_EQ_INT(r2, ES_CONFLICT);
            CHECK(strstr(es_store_errmsg(h2), "table 'oncall'") &&
                  strstr(es_store_errmsg(h2), "serializable"));
            CHECK_EQ_INT(on, 1);
            printf("write skew refused: %s\n", es_store_errmsg(h2));
        }
        es_store_close(h1);
        es_store_close(h2);
    }
}

/* Serializable phantoms: a transaction that counted the rows of a range conflicts with a
 * concurrent insert into the range, not with one outside it (part statistics); a look-up of a
 * missing table conflicts with its concurrent creation; a list of tables with any create. */
static void test_phantoms(const char *uri)
{
    es_store *h1 = open_store16(uri), *h2 = open_store16(uri);
    if (!h1 || !h2)
        return;
    struct ArrowSchema sc = small_schema();
    make_small(h1, "ph", 0, 100);
    make_small(h1, "log", 0, 0);
    es_table_drop(h1, "ph_new", 1);
    for (int inside = 0; inside < 2; inside++) {
        CHECK_OK(begin(h1, ES_ISOLATION_SERIALIZABLE));
        es_expr *e = es_expr_between("id", vint(200), vint(300));
        es_scan_options so = ES_SCAN_OPTIONS_INIT;
        so.predicate = e;
        struct ArrowArrayStream st;
        CHECK_OK(es_scan(h1, "ph", &so, &st));
        es_expr_free(e);
        struct ArrowArray a;
        int64_t rows = 0;
        while (st.get_next(&st, &a) == 0 && a.release) {
            rows += a.length;
            a.release(&a);
        }
        st.release(&st);
        CHECK_EQ_INT(rows, 0);
        CHECK_OK(insert_small(h2, "ph", inside ? 250 : 1000 + inside, 1, 1));
        CHECK_OK(insert_small(h1, "log", inside, 1, 1));
        es_status rc = es_txn_commit(h1, NULL);
        if (inside) {
            CHECK_EQ_INT(rc, ES_CONFLICT);
            CHECK(strstr(es_store_errmsg(h1), "table 'ph'") &&
                  strstr(es_store_errmsg(h1), "could have seen"));
        } else {
            CHECK_OK(rc);
        }
    }
    /* A missing table looked up, then created by another. */
    CHECK_OK(begin(h1, ES_ISOLATION_SERIALIZABLE));
    CHECK_EQ_INT(read_v(h1, "ph_new", 1), -3);
    CHECK_OK(es_table_create(h2, "ph_new", &sc, "id", 0));
    CHECK_OK(insert_small(h1, "log", 10, 1, 1));
    CHECK_EQ_INT(es_txn_commit(h1, NULL), ES_CONFLICT);
    CHECK(strstr(es_store_errmsg(h1), "'ph_new'") != NULL);
    /* Under SNAPSHOT the same commits. */
    CHECK_OK(es_table_drop(h2, "ph_new", 0));
    CHECK_OK(begin(h1, ES_ISOLATION_SNAPSHOT));
    CHECK_EQ_INT(read_v(h1, "ph_new", 1), -3);
    CHECK_OK(es_table_create(h2, "ph_new", &sc, "id", 0));
    CHECK_OK(insert_small(h1, "log", 11, 1, 1));
    CHECK_OK(es_txn_commit(h1, NULL));
    /* A list of tables, then any create. */
    CHECK_OK(begin(h1, ES_ISOLATION_SERIALIZABLE));
    CHECK_EQ_INT(has_table(h1, "zz"), 0);
    CHECK_OK(es_table_drop(h2, "ph_new", 0));
    CHECK_OK(insert_small(h1, "log", 12, 1, 1));
    CHECK_EQ_INT(es_txn_commit(h1, NULL), ES_CONFLICT);
    /* A description is a look-up of the name and schema (its counts are statistics): an
     * insert does not conflict with it, a drop does. */
    CHECK_OK(begin(h1, ES_ISOLATION_SERIALIZABLE));
    CHECK_EQ_INT(live_rows(h1, "ph"), 102);
    CHECK_OK(insert_small(h2, "ph", 5000, 1, 1));
    CHECK_OK(insert_small(h1, "log", 13, 1, 1));
    CHECK_OK(es_txn_commit(h1, NULL));
    CHECK_OK(es_table_create(h2, "ph_new", &sc, "id", 0));
    CHECK_OK(begin(h1, ES_ISOLATION_SERIALIZABLE));
    CHECK_EQ_INT(live_rows(h1, "ph_new"), 0);
    CHECK_OK(es_table_drop(h2, "ph_new", 0));
    CHECK_OK(insert_small(h1, "log", 14, 1, 1));
    CHECK_EQ_INT(es_txn_commit(h1, NULL), ES_CONFLICT);
    /* Blind appends of a serializable transaction never conflict. */
    CHECK_OK(begin(h1, ES_ISOLATION_SERIALIZABLE));
    CHECK_OK(insert_small(h1, "ph", 6000, 1, 1));
    CHECK_OK(insert_small(h2, "ph", 6001, 1, 1));
    CHECK_OK(write_v(h2, "ph", 5, 55, NULL));
    CHECK_OK(es_txn_commit(h1, NULL));
    CHECK_EQ_INT(live_rows(h2, "ph"), 105);
    sc.release(&sc);
    es_store_close(h1);
    es_store_close(h2);
}

/* ---------------------------------------------------------------------- SQL */

/* Run one statement; *kind (nullable) receives its kind, the first value of its first row goes
 * to *value when it returns rows. */
static es_status sql1(es_sql_session *q, const char *sql, const char **kind, int64_t *value)
{
    es_sql_result r = ES_SQL_RESULT_INIT;
    es_status rc = es_sql_exec(q, sql, &r);
    if (kind)
        *kind = r.kind;
    if (rc == ES_OK && r.has_rows && value) {
        struct ArrowSchema sc;
        struct ArrowArray a;
        *value = -1;
        if (r.stream.get_schema(&r.stream, &sc) == 0) {
            while (r.stream.get_next(&r.stream, &a) == 0 && a.release) {
                es_array_view v;
                if (*value == -1 && a.length > 0 && es_array_view_init(&v, &sc, &a, NULL) == 0) {
                    *value = es_view_get_int(&v.children[0], 0);
                    es_array_view_reset(&v);
                }
                a.release(&a);
            }
            sc.release(&sc);
        }
    }
    es_sql_result_reset(&r);
    return rc;
}

static void test_sql(const char *uri)
{
    es_store *h1 = open_store16(uri), *h2 = open_store16(uri);
    es_sql_session *q1 = NULL, *q2 = NULL;
    if (!h1 || !h2 || es_sql_session_open(&q1, h1) || es_sql_session_open(&q2, h2))
        return;
    const char *kind = NULL;
    int64_t n = -1;
    sql1(q1, "DROP TABLE IF EXISTS st", NULL, NULL);
    sql1(q1, "DROP TABLE IF EXISTS st2", NULL, NULL);
    CHECK_OK(sql1(q1, "CREATE TABLE st (id BIGINT PRIMARY KEY, v INT)", NULL, NULL));
    CHECK_OK(sql1(q1, "INSERT INTO st VALUES (1, 10)", NULL, NULL));
    /* Own writes visible, others' not, until COMMIT; one version for all the statements. */
    int64_t v0 = version_of(h1);
    CHECK_OK(sql1(q1, "BEGIN", &kind, NULL));
    CHECK_EQ_STR(kind, "BEGIN");
    CHECK_EQ_INT(es_txn_active(h1, NULL), 1);
    CHECK_OK(sql1(q1, "INSERT INTO st VALUES (2, 20), (3, 30)", NULL, NULL));
    CHECK_OK(sql1(q1, "CREATE TABLE st2 AS SELECT * FROM st", NULL, NULL));
    CHECK_OK(sql1(q1, "SELECT count(*) FROM st2", NULL, &n));
    CHECK_EQ_INT(n, 3);
    CHECK_OK(sql1(q2, "SELECT count(*) FROM st", NULL, &n));
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(sql1(q2, "SELECT count(*) FROM st2", NULL, &n), ES_NOT_FOUND);
    /* A failing statement changes nothing and aborts the transaction (as in PostgreSQL): every
     * statement but ROLLBACK is refused, and COMMIT rolls it back. */
    CHECK_EQ_INT(sql1(q1, "INSERT INTO nope VALUES (1)", NULL, NULL), ES_NOT_FOUND);
    CHECK_EQ_INT(sql1(q1, "SELECT count(*) FROM st", NULL, NULL), ES_INVALID);
    CHECK(strstr(es_sql_errmsg(q1), "aborted by an earlier error") != NULL);
    CHECK_EQ_INT(es_txn_active(h1, NULL), 1);
    CHECK_EQ_INT(sql1(q1, "COMMIT", NULL, NULL), ES_INVALID);
    CHECK(strstr(es_sql_errmsg(q1), "rolled back") != NULL);
    CHECK_EQ_INT(es_txn_active(h1, NULL), 0);
    CHECK_EQ_INT(version_of(h2), v0);
    CHECK_EQ_INT(sql1(q2, "SELECT count(*) FROM st2", NULL, &n), ES_NOT_FOUND);
    /* Again without the error; BEGIN inside a transaction is refused without aborting it. */
    CHECK_OK(sql1(q1, "BEGIN", NULL, NULL));
    CHECK_OK(sql1(q1, "INSERT INTO st VALUES (2, 20), (3, 30)", NULL, NULL));
    CHECK_OK(sql1(q1, "CREATE TABLE st2 AS SELECT * FROM st", NULL, NULL));
    CHECK_EQ_INT(sql1(q1, "BEGIN", NULL, NULL), ES_INVALID);
    CHECK(strstr(es_sql_errmsg(q1), "already open") != NULL);
    CHECK_EQ_INT(es_txn_active(h1, NULL), 1);
    CHECK_OK(sql1(q1, "COMMIT", &kind, NULL));
    CHECK_EQ_STR(kind, "COMMIT");
    CHECK_EQ_INT(version_of(h2), v0 + 1);
    CHECK_OK(sql1(q2, "SELECT count(*) FROM st2", NULL, &n));
    CHECK_EQ_INT(n, 3);
    /* ROLLBACK, and the other spellings. */
    CHECK_OK(sql1(q1, "START TRANSACTION ISOLATION LEVEL REPEATABLE READ", &kind, NULL));
    CHECK_EQ_STR(kind, "BEGIN");
    CHECK_OK(sql1(q1, "INSERT INTO st VALUES (4, 40)", NULL, NULL));
    CHECK_OK(sql1(q1, "ROLLBACK WORK", &kind, NULL));
    CHECK_EQ_STR(kind, "ROLLBACK");
    CHECK_OK(sql1(q1, "SELECT count(*) FROM st", NULL, &n));
    CHECK_EQ_INT(n, 3);
    CHECK_OK(sql1(q1, "BEGIN TRANSACTION", NULL, NULL));
    CHECK_OK(sql1(q1, "INSERT INTO st VALUES (5, 50)", NULL, NULL));
    CHECK_OK(sql1(q1, "ABORT", &kind, NULL));
    CHECK_EQ_STR(kind, "ROLLBACK");
    CHECK_EQ_INT(sql1(q1, "ABORT", NULL, NULL), ES_INVALID);
    CHECK_EQ_INT(sql1(q1, "COMMIT", NULL, NULL), ES_INVALID);
    CHECK(strstr(es_sql_errmsg(q1), "no transaction") != NULL);
    CHECK_EQ_INT(sql1(q1, "ROLLBACK", NULL, NULL), ES_INVALID);
    CHECK_EQ_INT(sql1(q1, "BEGIN ISOLATION LEVEL CHAOS", NULL, NULL), ES_INVALID);
    CHECK(strstr(es_sql_errmsg(q1), "isolation level") != NULL);
    CHECK_OK(sql1(q1, "BEGIN WORK", NULL, NULL));
    CHECK_OK(sql1(q1, "INSERT INTO st VALUES (6, 60)", NULL, NULL));
    CHECK_OK(sql1(q1, "END TRANSACTION", &kind, NULL));
    CHECK_EQ_STR(kind, "COMMIT");
    CHECK_OK(sql1(q2, "SELECT count(*) FROM st", NULL, &n));
    CHECK_EQ_INT(n, 4);
    /* A COMMIT that fails rolls the transaction back and says why. */
    CHECK_OK(sql1(q1, "BEGIN ISOLATION LEVEL SERIALIZABLE", NULL, NULL));
    es_isolation iso = ES_ISOLATION_SNAPSHOT;
    CHECK_EQ_INT(es_txn_active(h1, &iso), 1);
    CHECK_EQ_INT(iso, ES_ISOLATION_SERIALIZABLE);
    CHECK_OK(sql1(q1, "INSERT INTO st2 VALUES (7, 70)", NULL, NULL));
    CHECK_OK(sql1(q2, "DROP TABLE st2", NULL, NULL));
    CHECK_EQ_INT(sql1(q1, "COMMIT", NULL, NULL), ES_CONFLICT);
    CHECK(strstr(es_sql_errmsg(q1), "rolled back") && strstr(es_sql_errmsg(q1), "'st2'"));
    CHECK_EQ_INT(es_txn_active(h1, NULL), 0);
    /* DML inside transactions: UPDATE, DELETE and upserts see and change the transaction's
     * view; two UPDATEs of one row: the second COMMIT fails, of other rows: both commit. */
    CHECK_OK(sql1(q1, "BEGIN", NULL, NULL));
    CHECK_OK(sql1(q1, "UPDATE st SET v = v + 1 WHERE id = 1", NULL, NULL));
    CHECK_OK(sql1(q1, "DELETE FROM st WHERE id = 2", NULL, NULL));
    CHECK_OK(sql1(q1, "INSERT INTO st VALUES (8, 80) ON CONFLICT DO NOTHING", NULL, NULL));
    CHECK_OK(sql1(q1, "SELECT sum(v) FROM st", NULL, &n));
    CHECK_EQ_INT(n, 11 + 30 + 60 + 80);
    CHECK_OK(sql1(q2, "SELECT sum(v) FROM st", NULL, &n));
    CHECK_EQ_INT(n, 10 + 20 + 30 + 60);
    CHECK_OK(sql1(q2, "BEGIN", NULL, NULL));
    CHECK_OK(sql1(q2, "UPDATE st SET v = v + 100 WHERE id = 3", NULL, NULL));
    CHECK_OK(sql1(q2, "COMMIT", NULL, NULL));
    CHECK_OK(sql1(q1, "COMMIT", NULL, NULL));
    CHECK_OK(sql1(q2, "SELECT sum(v) FROM st", NULL, &n));
    CHECK_EQ_INT(n, 11 + 130 + 60 + 80);
    CHECK_OK(sql1(q1, "BEGIN", NULL, NULL));
    CHECK_OK(sql1(q1, "UPDATE st SET v = 0 WHERE id = 1", NULL, NULL));
    CHECK_OK(sql1(q2, "UPDATE st SET v = 5 WHERE id = 1", NULL, NULL));
    CHECK_EQ_INT(sql1(q1, "COMMIT", NULL, NULL), ES_CONFLICT);
    CHECK(strstr(es_sql_errmsg(q1), "table 'st'") && strstr(es_sql_errmsg(q1), "row"));
    CHECK_OK(sql1(q1, "SELECT v FROM st WHERE id = 1", NULL, &n));
    CHECK_EQ_INT(n, 5);
    es_sql_session_close(q1);
    es_sql_session_close(q2);
    es_store_close(h1);
    es_store_close(h2);
}

/* -------------------------------------------------------------------- main */

static void run_all(const char *uri)
{
    if (want("basics")) {
        TIMED(test_misuse(uri));
        TIMED(test_basics(uri));
    }
    if (want("matrix")) {
        TIMED(test_conflict_matrix(uri, ES_ISOLATION_SNAPSHOT));
        TIMED(test_conflict_matrix(uri, ES_ISOLATION_SERIALIZABLE));
    }
    if (want("skew")) {
        TIMED(test_write_skew(uri));
        TIMED(test_phantoms(uri));
    }
    if (want("sql"))
        TIMED(test_sql(uri));
}

int main(void)
{
    seed_from_env();
    const char *env = getenv("ES_TEST_STORE_URI");
    if (env && *env) {
        printf("== %s\n", env);
        run_all(env);
        return CHECK_DONE();
    }
    printf("== mem://\n");
    es_objstore_mem_drop("test_txn");
    run_all("mem://test_txn");
    char dir[] = "/tmp/es_test_txn_XXXXXX";
    if (mkdtemp(dir)) {
        printf("== %s\n", dir);
        run_all(dir);
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", dir);
    }
    return CHECK_DONE();
}
