/*
 * test_txn: transactions (es_txn_begin / es_txn_commit / es_txn_abort) on mem://, a local
 * temporary directory and ES_TEST_STORE_URI when set (the loopback Ceph RGW, tests/s3.cmake).
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
 *  - a randomized history checker: threads with a handle each run random transactions of
 *    reads and writes on a small table; every history is recorded and checked: reads see the
 *    snapshot plus own writes (no dirty or non-repeatable read), no two concurrent committed
 *    transactions wrote the same row (no lost update), every committed version read by time
 *    travel is what the committed transactions made it, and under SERIALIZABLE the
 *    dependency graph has no cycle (no write skew);
 *  - the bank: accounts split across two tables, processes (fork) with a handle each run
 *    transfers for a few seconds and retry conflicts; at the end and in every committed
 *    version (time travel) the total is unchanged and every acknowledged transfer is applied
 *    exactly once (per account: a count and a checksum of the transfers applied);
 *  - fault loops (mem:// under the fault wrapper) on a transaction over four tables: fail the
 *    Nth request once or from then on, lose the response of the Nth put, crash after the Nth
 *    put: afterwards all of the transaction is visible or none of it;
 *  - allocation failures in a transaction's calls and its commit.
 */
#include <pthread.h>
#include <sys/wait.h>

#include "delete_util.h"
#include "expstore/sql.h"

/* ---------------------------------------------------------------- helpers */

static es_txn_options opts_of(es_isolation iso)
{
    es_txn_options o = ES_TXN_OPTIONS_INIT;
    o.isolation = iso;
    return o;
}

static es_status begin(es_store *s, es_isolation iso)
{
    es_txn_options o = opts_of(iso);
    return es_txn_begin(s, &o);
}

/* Value of column v of the small table's row `id` (-1: no row, -2: several, -3: error). */
static int64_t read_v(es_store *s, const char *table, int64_t id)
{
    es_expr *e = es_expr_cmp("id", ES_EQ, vint(id));
    es_scan_options so = ES_SCAN_OPTIONS_INIT;
    const char *cols[1] = {"v"};
    so.columns = cols;
    so.n_columns = 1;
    so.predicate = e;
    struct ArrowArrayStream st;
    int64_t out = -1;
    if (es_scan(s, table, &so, &st) != ES_OK) {
        es_expr_free(e);
        return -3;
    }
    es_expr_free(e);
    struct ArrowSchema sc;
    if (st.get_schema(&st, &sc) != 0) {
        st.release(&st);
        return -3;
    }
    for (;;) {
        struct ArrowArray a;
        if (st.get_next(&st, &a) != 0) {
            out = -3;
            break;
        }
        if (!a.release)
            break;
        es_array_view v;
        if (es_array_view_init(&v, &sc, &a, NULL) == ES_OK) {
            for (int64_t i = 0; i < v.length; i++)
                out = out == -1 ? es_view_get_int(&v.children[0], i) : -2;
            es_array_view_reset(&v);
        }
        a.release(&a);
    }
    sc.release(&sc);
    st.release(&st);
    return out;
}

/* Update callback: v := value, s := "t". */
typedef struct set_v {
    int64_t value;
} set_v;

static es_status set_v_fn(void *ctx, const struct ArrowSchema *schema,
                          const struct ArrowArray *rows, struct ArrowArray *out, es_error *err)
{
    set_v *u = ctx;
    es_array_view v;
    es_status st = es_array_view_init(&v, schema, rows, err);
    if (st)
        return st;
    es_builder *b = NULL;
    st = es_builder_new(&b, schema, err);
    for (int64_t i = 0; i < v.length && !st; i++) {
        copy_value(es_builder_child(b, 0), &v.children[0], i);
        es_builder_append_int(es_builder_child(b, 1), u->value);
        es_builder_append_bytes(es_builder_child(b, 2), "t", 1);
        st = es_builder_append_struct(b);
    }
    if (!st)
        st = es_builder_finish(b, out, err);
    es_builder_free(b);
    es_array_view_reset(&v);
    return st;
}

/* Set v of row `id` (*n: rows updated). */
static es_status write_v(es_store *s, const char *table, int64_t id, int64_t value, int64_t *n)
{
    es_expr *e = es_expr_cmp("id", ES_EQ, vint(id));
    set_v u = {value};
    int64_t dummy;
    es_status rc = es_update(s, table, e, set_v_fn, &u, n ? n : &dummy);
    es_expr_free(e);
    return rc;
}

static int has_table(es_store *s, const char *name)
{
    char **names = NULL;
    int64_t n = 0, found = 0;
    if (es_table_list(s, &names, &n) != ES_OK)
        return -1;
    for (int64_t i = 0; i < n; i++)
        found |= strcmp(names[i], name) == 0;
    es_strings_free(names, n);
    return (int)found;
}

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

/* A fresh store handle on uri with small batches. */
static es_store *open_store(const char *uri)
{
    es_store *s = NULL;
    es_open_options opt = ES_OPEN_OPTIONS_INIT;
    opt.batch_rows = 16;
    if (es_store_open(&s, uri, &opt) != ES_OK) {
        fprintf(stderr, "open %s: %s\n", uri, es_store_errmsg(s));
        es_store_close(s);
        return NULL;
    }
    return s;
}

static void make_small(es_store *s, const char *table, int64_t from, int64_t n)
{
    struct ArrowSchema sc = small_schema();
    es_table_drop(s, table, 1);
    CHECK_OK(es_table_create(s, table, &sc, "id", 0));
    if (n > 0)
        CHECK_OK(insert_small(s, table, from, n, 1));
    sc.release(&sc);
}

/* ------------------------------------------------------------------ basics */

static void test_misuse(const char *uri)
{
    es_store *s = open_store(uri);
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
}

static void test_basics(const char *uri)
{
    es_store *s = open_store(uri), *o = open_store(uri);
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
    es_store *r = open_store(uri);
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
        es_store *s = open_store(uri), *o = open_store(uri);
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
        es_store *h1 = open_store(uri), *h2 = open_store(uri);
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
    es_store *h1 = open_store(uri), *h2 = open_store(uri);
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

/* --------------------------------------------------------- history checker */

#define H_KEYS 6
#define H_OPS 5

typedef struct h_op {
    int write; /* 1: wrote key := value; 0: read key, saw value */
    int64_t key, value;
} h_op;

typedef struct h_txn {
    int64_t uid;               /* the value its writes store */
    int64_t begin_v, commit_v; /* commit_v: -1 when it did not commit */
    es_status rc;
    int n_ops;
    h_op ops[H_OPS * H_KEYS]; /* a read of every key is H_KEYS reads */
} h_txn;

typedef struct h_worker {
    const char *uri;
    es_isolation iso;
    int id, n_txn;
    int64_t latency_us;
    uint64_t rng;
    volatile int *go;
    h_txn *txns;
    int64_t errors;
    char msg[256];
} h_worker;

static uint64_t w_rnd(uint64_t *r)
{
    *r ^= *r << 13;
    *r ^= *r >> 7;
    *r ^= *r << 17;
    return *r;
}

/* Every row of the small table h as key -> v (values of missing keys stay -1). */
static es_status read_all(es_store *s, int64_t at, int64_t *vals)
{
    strlist l;
    for (int k = 0; k < H_KEYS; k++)
        vals[k] = -1;
    es_status rc = table_rows(s, "h", at, &l, NULL, 0);
    for (int64_t i = 0; i < l.n && !rc; i++) {
        long long id, v;
        if (sscanf(l.s[i], "%lld|%lld|", &id, &v) == 2 && id >= 0 && id < H_KEYS)
            vals[id] = vals[id] == -1 ? v : -2;
    }
    sl_free(&l);
    return rc;
}

/* A handle on uri; on mem:// each request first sleeps latency_us (a fault wrapper), so that
 * the transactions of several threads overlap as they would on a real store. */
static es_store *open_slow(const char *uri, int64_t latency_us)
{
    if (latency_us <= 0 || strncmp(uri, "mem://", 6) != 0)
        return open_store(uri);
    es_objstore *inner = NULL, *fw = NULL;
    es_store *s = NULL;
    es_open_options opt = ES_OPEN_OPTIONS_INIT;
    opt.batch_rows = 16;
    if (es_objstore_open(&inner, uri, NULL) != ES_OK ||
        es_objstore_fault_wrap(&fw, inner, 1, NULL) != ES_OK) {
        es_objstore_close(inner);
        return NULL;
    }
    es_fault_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.op = -1;
    cfg.latency_ns = latency_us * 1000;
    es_objstore_fault_set(fw, &cfg);
    if (es_store_open_objstore(&s, fw, 1, &opt, NULL) != ES_OK) {
        es_store_close(s);
        return NULL;
    }
    return s;
}

static void *h_main(void *arg)
{
    h_worker *w = arg;
    es_store *s = open_slow(w->uri, w->latency_us);
    if (!s) {
        w->errors++;
        return NULL;
    }
    while (!__atomic_load_n(w->go, __ATOMIC_ACQUIRE))
        usleep(100);
    for (int i = 0; i < w->n_txn; i++) {
        h_txn *t = &w->txns[i];
        memset(t, 0, sizeof(*t));
        t->uid = 1000 + (int64_t)w->id * 100000 + i;
        t->commit_v = -1;
        es_status rc = begin(s, w->iso);
        if (!rc)
            rc = es_store_version(s, &t->begin_v);
        int n = 1 + (int)(w_rnd(&w->rng) % H_OPS);
        for (int k = 0; k < n && !rc; k++) {
            uint64_t r = w_rnd(&w->rng) % 100;
            int64_t key = (int64_t)(w_rnd(&w->rng) % H_KEYS);
            if (r < 45) {
                int64_t v = read_v(s, "h", key);
                if (v < 0)
                    rc = ES_INTERNAL;
                t->ops[t->n_ops++] = (h_op){0, key, v};
            } else if (r < 55) {
                int64_t vals[H_KEYS];
                rc = read_all(s, -1, vals);
                for (int64_t j = 0; j < H_KEYS && !rc; j++)
                    t->ops[t->n_ops++] = (h_op){0, j, vals[j]};
            } else {
                int64_t upd = 0;
                rc = write_v(s, "h", key, t->uid, &upd);
                if (!rc && upd != 1)
                    rc = ES_INTERNAL;
                t->ops[t->n_ops++] = (h_op){1, key, t->uid};
            }
        }
        if (rc) {
            snprintf(w->msg, sizeof(w->msg), "txn call: %s %s", es_status_name(rc),
                     es_store_errmsg(s));
            w->errors++;
            es_txn_abort(s);
        } else if (w_rnd(&w->rng) % 100 < 5) {
            rc = es_txn_abort(s);
            t->rc = ES_INVALID; /* aborted */
            continue;
        } else {
            int64_t v = -1;
            rc = es_txn_commit(s, &v);
            if (rc == ES_OK)
                t->commit_v = v;
            else if (rc != ES_CONFLICT) {
                w->errors++;
                snprintf(w->msg, sizeof(w->msg), "commit: %s %s", es_status_name(rc),
                         es_store_errmsg(s));
            } else if (!strstr(es_store_errmsg(s), "table 'h'")) {
                w->errors++;
                snprintf(w->msg, sizeof(w->msg), "conflict without the table: %s",
                         es_store_errmsg(s));
            }
        }
        t->rc = rc;
    }
    es_store_close(s);
    return NULL;
}

static int txn_writes(const h_txn *t)
{
    for (int i = 0; i < t->n_ops; i++)
        if (t->ops[i].write)
            return 1;
    return 0;
}

/* Depth-first search for a cycle in the dependency graph (adjacency lists). */
static int dfs_cycle(int64_t u, int64_t **adj, const int64_t *n_adj, uint8_t *color)
{
    color[u] = 1;
    for (int64_t i = 0; i < n_adj[u]; i++) {
        int64_t v = adj[u][i];
        if (color[v] == 1)
            return 1;
        if (color[v] == 0 && dfs_cycle(v, adj, n_adj, color))
            return 1;
    }
    color[u] = 2;
    return 0;
}

static void add_edge(int64_t **adj, int64_t *n_adj, int64_t *cap, int64_t a, int64_t b)
{
    if (a == b)
        return;
    if (n_adj[a] == cap[a]) {
        cap[a] = cap[a] ? cap[a] * 2 : 4;
        adj[a] = realloc(adj[a], (size_t)cap[a] * sizeof(int64_t));
    }
    adj[a][n_adj[a]++] = b;
}

static void test_history(const char *uri, es_isolation iso, int n_threads, int n_txn,
                         int64_t latency_us)
{
    es_store *s = open_store(uri);
    if (!s)
        return;
    make_small(s, "h", 0, H_KEYS); /* v = id */
    int64_t v0 = version_of(s);
    h_worker w[8];
    pthread_t th[8];
    volatile int go = 0;
    for (int i = 0; i < n_threads; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].uri = uri;
        w[i].iso = iso;
        w[i].id = i;
        w[i].n_txn = n_txn;
        w[i].latency_us = latency_us;
        w[i].rng = rnd() | 1;
        w[i].go = &go;
        w[i].txns = calloc((size_t)n_txn, sizeof(h_txn));
        pthread_create(&th[i], NULL, h_main, &w[i]);
    }
    double t0 = now_s();
    __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < n_threads; i++)
        pthread_join(th[i], NULL);
    double elapsed = now_s() - t0;
    int64_t errors = 0, n_all = 0;
    for (int i = 0; i < n_threads; i++) {
        errors += w[i].errors;
        if (w[i].msg[0])
            fprintf(stderr, "history worker %d: %s\n", i, w[i].msg);
    }
    CHECK_EQ_INT(errors, 0);
    /* All transactions in one array; the committed writers by version. */
    h_txn **all = calloc((size_t)(n_threads * n_txn), sizeof(h_txn *));
    for (int i = 0; i < n_threads; i++)
        for (int k = 0; k < n_txn; k++)
            all[n_all++] = &w[i].txns[k];
    int64_t v1 = version_of(s);
    int64_t n_v = v1 - v0 + 1;
    h_txn **by_version = calloc((size_t)n_v, sizeof(h_txn *));
    int64_t committed = 0, conflicts = 0, aborted = 0, bad_versions = 0, read_only = 0;
    for (int64_t i = 0; i < n_all; i++) {
        h_txn *t = all[i];
        conflicts += t->rc == ES_CONFLICT;
        aborted += t->rc == ES_INVALID;
        if (t->commit_v < 0)
            continue;
        committed++;
        if (!txn_writes(t)) {
            read_only++;
            bad_versions += t->commit_v != t->begin_v;
            continue;
        }
        if (t->commit_v <= v0 || t->commit_v > v1 || by_version[t->commit_v - v0])
            bad_versions++;
        else
            by_version[t->commit_v - v0] = t;
    }
    for (int64_t v = 1; v < n_v; v++)
        bad_versions += by_version[v] == NULL; /* every version is one of ours */
    CHECK_EQ_INT(bad_versions, 0);
    /* state[v][k]: the value of key k at version v, and who wrote it (-1: the setup). */
    int64_t(*state)[H_KEYS] = calloc((size_t)n_v, sizeof(*state));
    int64_t(*writer)[H_KEYS] = calloc((size_t)n_v, sizeof(*writer));
    for (int k = 0; k < H_KEYS; k++) {
        state[0][k] = k;
        writer[0][k] = -1;
    }
    for (int64_t v = 1; v < n_v; v++) {
        memcpy(state[v], state[v - 1], sizeof(state[v]));
        memcpy(writer[v], writer[v - 1], sizeof(writer[v]));
        const h_txn *t = by_version[v];
        for (int i = 0; t && i < t->n_ops; i++)
            if (t->ops[i].write) {
                state[v][t->ops[i].key] = t->uid;
                writer[v][t->ops[i].key] = v;
            }
    }
    /* 1. Every read of every transaction (committed or not) saw its snapshot or its own
     *    write: no dirty read (a value nobody committed by then), no non-repeatable read. */
    int64_t bad_reads = 0;
    for (int64_t i = 0; i < n_all; i++) {
        const h_txn *t = all[i];
        if (t->begin_v < v0 || t->begin_v > v1)
            continue; /* never began (an error was counted) */
        for (int k = 0; k < t->n_ops; k++) {
            const h_op *op = &t->ops[k];
            if (op->write)
                continue;
            int own = 0;
            for (int j = 0; j < k; j++)
                own |= t->ops[j].write && t->ops[j].key == op->key;
            int64_t expect = own ? t->uid : state[t->begin_v - v0][op->key];
            if (op->value != expect) {
                if (bad_reads++ < 5)
                    fprintf(stderr,
                            "history: txn %lld (snapshot %lld) read key %lld = %lld, "
                            "expected %lld\n",
                            (long long)t->uid, (long long)t->begin_v, (long long)op->key,
                            (long long)op->value, (long long)expect);
            }
        }
    }
    CHECK_EQ_INT(bad_reads, 0);
    /* 2. No lost update: two committed transactions that wrote one key never overlapped. */
    int64_t lost = 0;
    for (int64_t a = 1; a < n_v; a++)
        for (int64_t b = a + 1; b < n_v; b++) {
            const h_txn *x = by_version[a], *y = by_version[b];
            if (!x || !y || y->begin_v >= x->commit_v)
                continue;
            for (int i = 0; i < x->n_ops; i++)
                for (int j = 0; j < y->n_ops; j++)
                    lost += x->ops[i].write && y->ops[j].write && x->ops[i].key == y->ops[j].key;
        }
    CHECK_EQ_INT(lost, 0);
    /* 3. Every committed version, read by time travel, is what the history made it. */
    int64_t bad_states = 0;
    for (int64_t v = 0; v < n_v; v++) {
        int64_t vals[H_KEYS];
        if (read_all(s, v0 + v, vals) != ES_OK) {
            bad_states++;
            continue;
        }
        bad_states += memcmp(vals, state[v], sizeof(vals)) != 0;
    }
    CHECK_EQ_INT(bad_states, 0);
    /* 4. The dependency graph of the committed transactions (node v: the writer of version v;
     *    read-only ones after them): write-read, write-write and read-write edges. */
    int64_t n_nodes = n_v + read_only, ro = n_v;
    int64_t **adj = calloc((size_t)n_nodes, sizeof(int64_t *));
    int64_t *n_adj = calloc((size_t)n_nodes, sizeof(int64_t));
    int64_t *cap = calloc((size_t)n_nodes, sizeof(int64_t));
    for (int64_t v = 1; v < n_v; v++)
        for (int k = 0; k < H_KEYS; k++)
            if (writer[v][k] == v && writer[v - 1][k] >= 0)
                add_edge(adj, n_adj, cap, writer[v - 1][k], v); /* ww */
    for (int64_t i = 0; i < n_all; i++) {
        const h_txn *t = all[i];
        if (t->commit_v < 0)
            continue;
        int64_t node = txn_writes(t) ? t->commit_v - v0 : ro++;
        for (int k = 0; k < t->n_ops; k++) {
            const h_op *op = &t->ops[k];
            int own = 0;
            for (int j = 0; j < k; j++)
                own |= t->ops[j].write && t->ops[j].key == op->key;
            if (op->write || own)
                continue;
            int64_t from = writer[t->begin_v - v0][op->key]; /* the version it read */
            if (from >= 0)
                add_edge(adj, n_adj, cap, from, node); /* wr */
            for (int64_t nv = t->begin_v - v0 + 1; nv < n_v; nv++)
                if (writer[nv][op->key] == nv) {
                    add_edge(adj, n_adj, cap, node, nv); /* rw: it read the version before */
                    break;
                }
        }
    }
    uint8_t *color = calloc((size_t)n_nodes, 1);
    int cycle = 0;
    for (int64_t u = 0; u < n_nodes && !cycle; u++)
        if (!color[u])
            cycle = dfs_cycle(u, adj, n_adj, color);
    if (iso == ES_ISOLATION_SERIALIZABLE)
        CHECK_EQ_INT(cycle, 0);
    printf("history (%s, %d threads): %lld transactions, %lld committed (%lld read-only), "
           "%lld conflicts, %lld aborted, %lld versions checked, dependency cycle: %s, %.2f s\n",
           iso == ES_ISOLATION_SNAPSHOT ? "snapshot" : "serializable", n_threads, (long long)n_all,
           (long long)committed, (long long)read_only, (long long)conflicts, (long long)aborted,
           (long long)n_v, cycle ? "yes (allowed)" : "no", elapsed);
    for (int64_t u = 0; u < n_nodes; u++)
        free(adj[u]);
    free(adj);
    free(n_adj);
    free(cap);
    free(color);
    free(state);
    free(writer);
    free(by_version);
    free(all);
    for (int i = 0; i < n_threads; i++)
        free(w[i].txns);
    es_store_close(s);
}

/* --------------------------------------------------------------------- bank */

#define BANK_ACCOUNTS 20 /* ids 0..9 in acc_a, 10..19 in acc_b */
#define BANK_START 1000

typedef struct bank_rec {
    int64_t xid, from, to, amount, version; /* xid -1: a worker's summary (from: commits, to:
                                               conflicts, amount: errors) */
} bank_rec;

typedef struct account {
    int64_t bal, cnt, xsum;
} account;

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

static struct ArrowSchema bank_schema(void)
{
    struct ArrowSchema sc;
    es_schema_init_struct(&sc, 4, NULL);
    es_schema_init(sc.children[0], "l", "id", 0, NULL);
    es_schema_init(sc.children[1], "l", "bal", 0, NULL);
    es_schema_init(sc.children[2], "l", "cnt", 0, NULL);
    es_schema_init(sc.children[3], "l", "xsum", 0, NULL);
    return sc;
}

static const char *bank_table(int64_t id)
{
    return id < BANK_ACCOUNTS / 2 ? "acc_a" : "acc_b";
}

/* Every account of a table at version `at` into acc[id]; returns the rows seen (-1: error). */
static int64_t bank_read_table(es_store *s, const char *table, int64_t at, const es_expr *pred,
                               account *acc)
{
    es_scan_options so = ES_SCAN_OPTIONS_INIT;
    so.at_version = at;
    so.predicate = pred;
    struct ArrowArrayStream st;
    if (es_scan(s, table, &so, &st) != ES_OK)
        return -1;
    struct ArrowSchema sc;
    int64_t rows = 0;
    if (st.get_schema(&st, &sc) != 0) {
        st.release(&st);
        return -1;
    }
    for (;;) {
        struct ArrowArray a;
        if (st.get_next(&st, &a) != 0) {
            rows = -1;
            break;
        }
        if (!a.release)
            break;
        es_array_view v;
        if (es_array_view_init(&v, &sc, &a, NULL) == ES_OK) {
            for (int64_t i = 0; i < v.length; i++) {
                int64_t id = es_view_get_int(&v.children[0], i);
                if (id < 0 || id >= BANK_ACCOUNTS) {
                    rows = -1;
                    continue;
                }
                acc[id].bal = es_view_get_int(&v.children[1], i);
                acc[id].cnt = es_view_get_int(&v.children[2], i);
                acc[id].xsum = es_view_get_int(&v.children[3], i);
                rows += rows >= 0;
            }
            es_array_view_reset(&v);
        }
        a.release(&a);
    }
    sc.release(&sc);
    st.release(&st);
    return rows;
}

/* Update callback: the row becomes `acc` (same id). */
static es_status bank_set_fn(void *ctx, const struct ArrowSchema *schema,
                             const struct ArrowArray *rows, struct ArrowArray *out, es_error *err)
{
    const account *acc = ctx;
    es_array_view v;
    es_status st = es_array_view_init(&v, schema, rows, err);
    if (st)
        return st;
    es_builder *b = NULL;
    st = es_builder_new(&b, schema, err);
    for (int64_t i = 0; i < v.length && !st; i++) {
        es_builder_append_int(es_builder_child(b, 0), es_view_get_int(&v.children[0], i));
        es_builder_append_int(es_builder_child(b, 1), acc->bal);
        es_builder_append_int(es_builder_child(b, 2), acc->cnt);
        es_builder_append_int(es_builder_child(b, 3), acc->xsum);
        st = es_builder_append_struct(b);
    }
    if (!st)
        st = es_builder_finish(b, out, err);
    es_builder_free(b);
    es_array_view_reset(&v);
    return st;
}

/* One transfer in a transaction: read both balances, write both. */
static es_status bank_transfer(es_store *s, es_isolation iso, int64_t xid, int64_t from, int64_t to,
                               int64_t *amount, int64_t *version)
{
    account acc[BANK_ACCOUNTS];
    memset(acc, 0, sizeof(acc));
    es_status rc = begin(s, iso);
    if (rc)
        return rc;
    int64_t ids[2] = {from, to};
    for (int i = 0; i < 2 && !rc; i++) {
        es_expr *e = es_expr_cmp("id", ES_EQ, vint(ids[i]));
        if (bank_read_table(s, bank_table(ids[i]), -1, e, acc) != 1)
            rc = ES_INTERNAL;
        es_expr_free(e);
    }
    if (!rc) {
        int64_t amt = *amount < acc[from].bal ? *amount : acc[from].bal;
        uint64_t h = mix64((uint64_t)xid);
        account nf = {acc[from].bal - amt, acc[from].cnt + 1,
                      (int64_t)((uint64_t)acc[from].xsum + h)};
        account nt = {acc[to].bal + amt, acc[to].cnt + 1, (int64_t)((uint64_t)acc[to].xsum + h)};
        *amount = amt;
        for (int i = 0; i < 2 && !rc; i++) {
            es_expr *e = es_expr_cmp("id", ES_EQ, vint(ids[i]));
            int64_t n = 0;
            rc = es_update(s, bank_table(ids[i]), e, bank_set_fn, i ? &nt : &nf, &n);
            if (!rc && n != 1)
                rc = ES_INTERNAL;
            es_expr_free(e);
        }
    }
    if (rc) {
        es_txn_abort(s);
        return rc;
    }
    return es_txn_commit(s, version);
}

/* A worker process: transfers until the deadline, records to fd. */
static void bank_worker(const char *uri, es_isolation iso, int w, double deadline, int fd)
{
    es_store *s = open_store(uri);
    uint64_t r = 0x9E3779B97F4A7C15ull * (uint64_t)(w + 1) + rng;
    bank_rec sum = {-1, 0, 0, 0, 0};
    for (int64_t seq = 1; s && now_s() < deadline; seq++) {
        int64_t xid = ((int64_t)(w + 1) << 32) | seq;
        int64_t from = (int64_t)(w_rnd(&r) % BANK_ACCOUNTS), to;
        do
            to = (int64_t)(w_rnd(&r) % BANK_ACCOUNTS);
        while (to == from);
        int64_t want_amount = 1 + (int64_t)(w_rnd(&r) % 100);
        for (;;) {
            int64_t amount = want_amount, version = -1;
            es_status rc = bank_transfer(s, iso, xid, from, to, &amount, &version);
            if (rc == ES_OK) {
                bank_rec rec = {xid, from, to, amount, version};
                if (write(fd, &rec, sizeof(rec)) != (ssize_t)sizeof(rec))
                    sum.amount++;
                sum.from++;
                break;
            }
            if (rc == ES_CONFLICT) {
                sum.to++;
                if (now_s() < deadline)
                    continue; /* retried by the client */
                break;
            }
            fprintf(stderr, "bank worker %d: %s: %s\n", w, es_status_name(rc), es_store_errmsg(s));
            sum.amount++;
            break;
        }
    }
    if (!s)
        sum.amount++;
    if (write(fd, &sum, sizeof(sum)) != (ssize_t)sizeof(sum))
        fprintf(stderr, "bank worker %d: cannot write its summary\n", w);
    es_store_close(s);
}

static void test_bank(const char *uri, es_isolation iso, int n_workers, double seconds)
{
    es_store *s = open_store(uri);
    if (!s)
        return;
    struct ArrowSchema sc = bank_schema();
    for (int t = 0; t < 2; t++) {
        const char *name = t ? "acc_b" : "acc_a";
        es_table_drop(s, name, 1);
        CHECK_OK(es_table_create(s, name, &sc, "id", 0));
        es_builder *b = NULL;
        es_builder_new(&b, &sc, NULL);
        for (int64_t id = t * BANK_ACCOUNTS / 2; id < (t + 1) * BANK_ACCOUNTS / 2; id++) {
            es_builder_append_int(es_builder_child(b, 0), id);
            es_builder_append_int(es_builder_child(b, 1), BANK_START);
            es_builder_append_int(es_builder_child(b, 2), 0);
            es_builder_append_int(es_builder_child(b, 3), 0);
            es_builder_append_struct(b);
        }
        struct ArrowArray arr;
        es_builder_finish(b, &arr, NULL);
        CHECK_OK(es_insert_batch(s, name, &sc, &arr));
        es_builder_free(b);
    }
    sc.release(&sc);
    int64_t v0 = version_of(s);
    /* Fork the workers before any thread exists in this process. */
    pid_t pids[8];
    int fds[8];
    double t0 = now_s(), deadline = t0 + seconds;
    fflush(stdout);
    fflush(stderr);
    for (int w = 0; w < n_workers; w++) {
        int p[2];
        if (pipe(p) != 0) {
            CHECK(0);
            return;
        }
        pids[w] = fork();
        if (pids[w] == 0) {
            close(p[0]);
            es_store_close(s);
            bank_worker(uri, iso, w, deadline, p[1]);
            close(p[1]);
            _exit(0);
        }
        close(p[1]);
        fds[w] = p[0];
    }
    bank_rec *recs = NULL;
    int64_t n_recs = 0, cap = 0, commits = 0, conflicts = 0, errors = 0;
    for (int w = 0; w < n_workers; w++) {
        bank_rec rec;
        ssize_t k;
        while ((k = read(fds[w], &rec, sizeof(rec))) == (ssize_t)sizeof(rec)) {
            if (rec.xid == -1) {
                commits += rec.from;
                conflicts += rec.to;
                errors += rec.amount;
                continue;
            }
            if (n_recs == cap) {
                cap = cap ? cap * 2 : 256;
                recs = realloc(recs, (size_t)cap * sizeof(*recs));
            }
            recs[n_recs++] = rec;
        }
        close(fds[w]);
        int status = 0;
        waitpid(pids[w], &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    double elapsed = now_s() - t0;
    CHECK_EQ_INT(errors, 0);
    CHECK_EQ_INT(commits, n_recs);
    /* Every acknowledged transfer is one version of its own, and every version is one. */
    int64_t v1 = version_of(s), n_v = v1 - v0;
    bank_rec **by_version = calloc((size_t)(n_v + 1), sizeof(bank_rec *));
    int64_t bad = 0;
    for (int64_t i = 0; i < n_recs; i++) {
        int64_t k = recs[i].version - v0;
        if (k < 1 || k > n_v || by_version[k])
            bad++;
        else
            by_version[k] = &recs[i];
    }
    for (int64_t k = 1; k <= n_v; k++)
        bad += by_version[k] == NULL;
    CHECK_EQ_INT(bad, 0);
    /* In every committed version: the total, and per account the balance, the number and the
     * checksum of the transfers applied, exactly as the acknowledged transfers say. */
    account expect[BANK_ACCOUNTS];
    for (int i = 0; i < BANK_ACCOUNTS; i++)
        expect[i] = (account){BANK_START, 0, 0};
    int64_t bad_versions = 0, bad_totals = 0;
    for (int64_t k = 0; k <= n_v && !bad; k++) {
        const bank_rec *r = k ? by_version[k] : NULL;
        if (r) {
            uint64_t h = mix64((uint64_t)r->xid);
            expect[r->from].bal -= r->amount;
            expect[r->from].cnt++;
            expect[r->from].xsum = (int64_t)((uint64_t)expect[r->from].xsum + h);
            expect[r->to].bal += r->amount;
            expect[r->to].cnt++;
            expect[r->to].xsum = (int64_t)((uint64_t)expect[r->to].xsum + h);
        }
        account got[BANK_ACCOUNTS];
        memset(got, 0, sizeof(got));
        int64_t ra = bank_read_table(s, "acc_a", v0 + k, NULL, got);
        int64_t rb = bank_read_table(s, "acc_b", v0 + k, NULL, got);
        int64_t total = 0;
        for (int i = 0; i < BANK_ACCOUNTS; i++)
            total += got[i].bal;
        bad_totals += total != (int64_t)BANK_ACCOUNTS * BANK_START;
        if (ra != BANK_ACCOUNTS / 2 || rb != BANK_ACCOUNTS / 2 ||
            memcmp(got, expect, sizeof(got)) != 0) {
            if (bad_versions++ < 3)
                fprintf(stderr, "bank: version %lld differs from the acknowledged transfers\n",
                        (long long)(v0 + k));
        }
    }
    CHECK_EQ_INT(bad_totals, 0);
    CHECK_EQ_INT(bad_versions, 0);
    printf("bank (%s, %d processes, %.1f s): %lld transfers committed (%.0f/s), %lld conflicts "
           "retried (abort rate %.1f%%), %lld versions checked by time travel\n",
           iso == ES_ISOLATION_SNAPSHOT ? "snapshot" : "serializable", n_workers, elapsed,
           (long long)commits, (double)commits / elapsed, (long long)conflicts,
           commits + conflicts ? 100.0 * (double)conflicts / (double)(commits + conflicts) : 0.0,
           (long long)(n_v + 1));
    free(by_version);
    free(recs);
    es_store_close(s);
}

/* -------------------------------------------------------------- fault loops */

/* Tables fa (ids 0..99), fb (ids 0..999, every third deleted: a .delta object), fd (10 rows);
 * no fc. */
static void fault_setup(es_store *s)
{
    struct ArrowSchema sc = small_schema();
    CHECK_OK(es_table_create(s, "fa", &sc, "id", 0));
    CHECK_OK(insert_small(s, "fa", 0, 100, 1));
    CHECK_OK(es_table_create(s, "fb", &sc, "id", 0));
    CHECK_OK(insert_small(s, "fb", 0, 1000, 1));
    CHECK_OK(es_table_create(s, "fd", &sc, "id", 0));
    CHECK_OK(insert_small(s, "fd", 0, 10, 1));
    int64_t keys[400], n = 0, d;
    for (int64_t i = 0; i < 1000; i += 3)
        keys[n++] = i;
    CHECK_OK(delete_keys(s, "fb", keys, n, &d));
    sc.release(&sc);
}

static es_expr *fault_pred;

/* The inputs of the transaction, built before allocations are made to fail. */
typedef struct fault_inputs {
    struct ArrowSchema sc;
    struct ArrowArray ins_fa, ins_fc;
    struct ArrowArrayStream del;
} fault_inputs;

static void small_batch(struct ArrowArray *out, const struct ArrowSchema *sc, int64_t from,
                        int64_t n)
{
    es_builder *b = NULL;
    es_builder_new(&b, sc, NULL);
    for (int64_t id = from; id < from + n; id++) {
        char str[32];
        snprintf(str, sizeof(str), "r%lld", (long long)id);
        es_builder_append_int(es_builder_child(b, 0), id);
        es_builder_append_int(es_builder_child(b, 1), id % 1000);
        es_builder_append_bytes(es_builder_child(b, 2), str, (int64_t)strlen(str));
        es_builder_append_struct(b);
    }
    es_builder_finish(b, out, NULL);
    es_builder_free(b);
}

static void fault_inputs_init(fault_inputs *in)
{
    int64_t del[10];
    for (int i = 0; i < 10; i++)
        del[i] = i * 7;
    in->sc = small_schema();
    small_batch(&in->ins_fa, &in->sc, 1000, 20);
    small_batch(&in->ins_fc, &in->sc, 0, 10);
    key_stream(&in->del, "key", del, 10);
    if (!fault_pred)
        fault_pred = es_expr_between("id", vint(100), vint(400));
}

static void fault_inputs_reset(fault_inputs *in)
{
    if (in->ins_fa.release)
        in->ins_fa.release(&in->ins_fa);
    if (in->ins_fc.release)
        in->ins_fc.release(&in->ins_fc);
    if (in->del.release)
        in->del.release(&in->del);
    if (in->sc.release)
        in->sc.release(&in->sc);
}

/* The transaction: insert into fa, delete rows of fa, update rows of fb (a new .delta),
 * create fc and fill it, drop fd. Any failing call aborts it. The inputs are consumed. */
static es_status fault_txn_in(es_store *s, fault_inputs *in)
{
    int64_t n;
    small_update u = {1000, "x", 0, ES_OK, 0};
    es_status rc = es_txn_begin(s, NULL);
    if (!rc)
        rc = es_insert_batch(s, "fa", &in->sc, &in->ins_fa);
    if (!rc)
        rc = es_delete_keys(s, "fa", &in->del, &n);
    if (!rc)
        rc = es_update(s, "fb", fault_pred, small_update_fn, &u, &n);
    if (!rc)
        rc = es_table_create(s, "fc", &in->sc, "id", 0);
    if (!rc)
        rc = es_insert_batch(s, "fc", &in->sc, &in->ins_fc);
    if (!rc)
        rc = es_table_drop(s, "fd", 0);
    if (rc) {
        if (es_txn_active(s, NULL))
            es_txn_abort(s);
        return rc;
    }
    return es_txn_commit(s, NULL);
}

static es_status fault_txn(es_store *s)
{
    fault_inputs in;
    memset(&in, 0, sizeof(in));
    fault_inputs_init(&in);
    es_status rc = fault_txn_in(s, &in);
    fault_inputs_reset(&in);
    return rc;
}

/* The whole store as one string. */
static char *fault_state(es_store *s)
{
    char *parts[4];
    const char *names[4] = {"fa", "fb", "fc", "fd"};
    size_t len = 1;
    for (int i = 0; i < 4; i++) {
        parts[i] = has_table(s, names[i]) == 1 ? table_state(s, names[i], -1) : strdup("absent\n");
        if (!parts[i])
            parts[i] = strdup("error\n");
        len += strlen(parts[i]) + 8;
    }
    char *out = malloc(len), *p = out;
    for (int i = 0; i < 4; i++) {
        p += sprintf(p, "%s:\n%s", names[i], parts[i]);
        free(parts[i]);
    }
    return out;
}

static void test_faults(void)
{
    static const char *modes[] = {"fail once", "fail from then on", "lose the put's response",
                                  "crash after put"};
    es_open_options opt = ES_OPEN_OPTIONS_INIT;
    opt.batch_rows = 32;
    char *before = NULL, *after = NULL;
    {
        es_objstore_mem_drop("txn_fault_ref");
        es_store *s = NULL;
        CHECK_OK(es_store_open(&s, "mem://txn_fault_ref", &opt));
        fault_setup(s);
        before = fault_state(s);
        CHECK_OK(fault_txn(s));
        after = fault_state(s);
        es_store_close(s);
    }
    CHECK(before && after && strcmp(before, after) != 0);
    int64_t runs = 0;
    for (int mode = 0; mode < 4; mode++) {
        int64_t seen_before = 0, seen_after = 0;
        for (int64_t nth = 1; nth < 500; nth++) {
            es_objstore_mem_drop("txn_fault");
            es_objstore *inner = NULL, *fw = NULL;
            CHECK_OK(es_objstore_open(&inner, "mem://txn_fault", NULL));
            CHECK_OK(es_objstore_fault_wrap(&fw, inner, 0, NULL));
            es_store *s = NULL, *c = NULL;
            CHECK_OK(es_store_open_objstore(&s, inner, 0, &opt, NULL));
            fault_setup(s);
            es_store_close(s);
            CHECK_OK(es_store_open_objstore(&c, fw, 0, &opt, NULL));
            es_fault_config cfg;
            memset(&cfg, 0, sizeof(cfg));
            cfg.op = -1;
            if (mode == 0) {
                cfg.fail_at = nth;
            } else if (mode == 1) {
                cfg.fail_at = nth;
                cfg.persist = 1;
            } else if (mode == 2) {
                cfg.op = ES_OP_PUT;
                cfg.fail_at = nth;
                cfg.after = 1;
            } else {
                cfg.crash_after_put = nth;
            }
            CHECK_OK(es_objstore_fault_set(fw, &cfg));
            es_status rc = fault_txn(c);
            int faulted = es_objstore_fault_injected(fw) > 0 || es_objstore_fault_crashed(fw);
            es_store_close(c);
            es_store *r = NULL;
            CHECK_OK(es_store_open_objstore(&r, inner, 0, &opt, NULL));
            char *now = r ? fault_state(r) : NULL;
            int is_before = now && strcmp(now, before) == 0;
            int is_after = now && strcmp(now, after) == 0;
            CHECK(is_before || is_after);
            if (rc == ES_OK)
                CHECK(is_after);
            if (!(is_before || is_after) || (rc == ES_OK && !is_after))
                fprintf(stderr, "fault %s at %lld: %s, state %s\n", modes[mode], (long long)nth,
                        es_status_name(rc),
                        is_before  ? "before"
                        : is_after ? "after"
                                   : "neither");
            seen_before += is_before;
            seen_after += is_after;
            if (r && nth % 16 == 1) /* and the store still takes transactions */
                CHECK_OK(insert_small(r, "fa", 900000 + nth, 1, 1));
            free(now);
            es_store_close(r);
            es_objstore_close(fw);
            es_objstore_close(inner);
            runs++;
            if (!faulted)
                break;
        }
        CHECK(seen_before > 0);
        CHECK(seen_after > 0);
    }
    es_objstore_mem_drop("txn_fault");
    es_objstore_mem_drop("txn_fault_ref");
    printf("faults: %lld runs of a four-table transaction x 4 fault modes: all or nothing\n",
           (long long)runs);
    free(before);
    free(after);
    es_expr_free(fault_pred);
    fault_pred = NULL;
}

/* Fail the Nth allocation of the transaction (its calls and its commit), for every N: each
 * run ends with all of it or none of it (ASan: nothing leaks). */
static void test_alloc_failures(void)
{
    es_open_options opt = ES_OPEN_OPTIONS_INIT;
    opt.batch_rows = 32;
    char *before = NULL, *after = NULL;
    es_objstore_mem_drop("txn_alloc_ref");
    es_store *ref = NULL;
    CHECK_OK(es_store_open(&ref, "mem://txn_alloc_ref", &opt));
    fault_setup(ref);
    before = fault_state(ref);
    CHECK_OK(fault_txn(ref));
    after = fault_state(ref);
    es_store_close(ref);
    int64_t calls = 0, failed = 0;
    for (int64_t nth = 1; nth < 200000; nth += nth < 300 ? 1 : 1 + nth / 16) {
        es_objstore_mem_drop("txn_alloc");
        es_store *s = NULL;
        CHECK_OK(es_store_open(&s, "mem://txn_alloc", &opt));
        if (!s)
            break;
        fault_setup(s);
        fault_inputs in;
        memset(&in, 0, sizeof(in));
        fault_inputs_init(&in);
        es_util_alloc_fail_at(nth, 0);
        es_status rc = fault_txn_in(s, &in);
        int64_t made = es_util_alloc_fail_at(0, 0);
        fault_inputs_reset(&in);
        es_store_close(s);
        es_store *r = NULL;
        CHECK_OK(es_store_open(&r, "mem://txn_alloc", &opt));
        char *now = r ? fault_state(r) : NULL;
        int ok = now && (strcmp(now, before) == 0 || strcmp(now, after) == 0);
        if (rc == ES_OK)
            ok = ok && strcmp(now, after) == 0;
        if (!ok) {
            check_failed++;
            fprintf(stderr, "alloc failure %lld: %s\n", (long long)nth, es_status_name(rc));
        } else {
            check_passed++;
        }
        failed += rc != ES_OK;
        calls++;
        free(now);
        es_store_close(r);
        if (made < nth)
            break; /* the run made fewer allocations: every one was tried */
    }
    es_objstore_mem_drop("txn_alloc");
    es_objstore_mem_drop("txn_alloc_ref");
    printf("allocation failures: %lld runs (%lld failed cleanly), each all or nothing\n",
           (long long)calls, (long long)failed);
    free(before);
    free(after);
    es_expr_free(fault_pred);
    fault_pred = NULL;
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
    es_store *h1 = open_store(uri), *h2 = open_store(uri);
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

static int want(const char *section)
{
    const char *only = getenv("ES_TEST_SECTIONS");
    return !only || !*only || strstr(only, section) != NULL;
}

static void run_all(const char *uri, int local)
{
    (void)local;
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
    if (want("history")) {
        TIMED(test_history(uri, ES_ISOLATION_SNAPSHOT, 4, local ? 25 : 60, 200));
        TIMED(test_history(uri, ES_ISOLATION_SERIALIZABLE, 4, local ? 25 : 60, 200));
    }
}

int main(void)
{
    seed_from_env();
    const char *env = getenv("ES_TEST_STORE_URI");
    if (env && *env) {
        printf("== %s\n", env);
        if (want("bank"))
            TIMED(test_bank(env, ES_ISOLATION_SNAPSHOT, 6, 3.0));
        run_all(env, 1);
        return CHECK_DONE();
    }
    printf("== mem://\n");
    es_objstore_mem_drop("test_txn");
    run_all("mem://test_txn", 0);
    if (want("faults"))
        TIMED(test_faults());
    if (want("alloc"))
        TIMED(test_alloc_failures());
    char dir[] = "/tmp/es_test_txn_XXXXXX";
    if (mkdtemp(dir)) {
        printf("== %s\n", dir);
        if (want("bank")) { /* first: the workers fork before any thread exists */
            TIMED(test_bank(dir, ES_ISOLATION_SNAPSHOT, 6, 3.0));
        }
        run_all(dir, 1);
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", dir);
    }
    return CHECK_DONE();
}
