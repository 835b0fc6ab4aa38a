/*
 * test_compact: compaction (es_optimize, OPTIMIZE) against real stores.
 *  - merging: many small parts (keys interleaved across inserts) and parts with deleted rows
 *    become parts of the target size sorted by the key; the rows are those before, older
 *    versions still read the old parts; several outputs when the rows exceed the target;
 *  - concurrency, with an exact interleaving (a hook between writing the outputs and the
 *    commit runs commits through a second handle): a delete, an update, a delete of every row
 *    of an input, an insert and a drop committed after the compaction planned. The deletes
 *    stay deleted (the Lance #6653 regression: rows deleted in the window must not come
 *    back), the updates keep exactly their new values, and the compaction commits;
 *  - a delete planned before a compaction and committed after it (autocommit) succeeds;
 *  - automatic compaction after inserts (compact_min_parts) and OPTIMIZE inside a transaction;
 *  - SQL: OPTIMIZE [TABLE] t (its count: rows rewritten), VACUUM, refused inside BEGIN;
 *  - a part whose rows in the log (a valid entry) are not its .idx's: ES_CORRUPT, no overrun.
 */
#include "delete_util.h"
#include "expstore/sql.h"
#include "table/compact.h"

static es_store *open_store(const char *uri, int64_t target, int64_t min_parts)
{
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.batch_rows = 64;
    o.inline_rows = 0; /* the counts below are of parts: no rows inlined in the log */
    if (target)
        o.part_target_bytes = target;
    o.compact_min_parts = min_parts;
    es_store *s = NULL;
    es_status rc = es_store_open(&s, uri, &o);
    if (rc)
        fprintf(stderr, "open %s: %s\n", uri, s ? es_store_errmsg(s) : "out of memory");
    return s;
}

/* Parts of `table` must hold ascending keys (within and across the parts' key ranges): a scan
 * of a table of non-overlapping sorted parts returns ascending ids. */
static int ascending(es_store *s, const char *table)
{
    es_scan_options so = ES_SCAN_OPTIONS_INIT;
    struct ArrowArrayStream st;
    if (es_scan(s, table, &so, &st))
        return 0;
    struct ArrowSchema sc;
    int ok = st.get_schema(&st, &sc) == 0;
    int64_t prev = INT64_MIN;
    while (ok) {
        struct ArrowArray a;
        if (st.get_next(&st, &a) != 0) {
            ok = 0;
            break;
        }
        if (!a.release)
            break;
        es_array_view v;
        if (es_array_view_init(&v, &sc, &a, NULL) == ES_OK) {
            for (int64_t i = 0; i < a.length; i++) {
                int64_t k = es_view_get_int(&v.children[0], i);
                ok &= k >= prev;
                prev = k;
            }
            es_array_view_reset(&v);
        }
        a.release(&a);
    }
    sc.release(&sc);
    st.release(&st);
    return ok;
}

/* --------------------------------------------------------------- merging */

static void test_merge(const char *uri)
{
    es_store *s = open_store(uri, 0, 0);
    struct ArrowSchema sc = small_schema();
    CHECK_OK(es_table_create(s, "m", &sc, "id", 0));
    sc.release(&sc);
    /* 30 inserts of interleaved keys: parts overlap until compaction sorts them. */
    for (int i = 0; i < 30; i++)
        CHECK_OK(insert_small(s, "m", i, 20, 30));
    int64_t gone[] = {0, 31, 62, 93, 124, 155, 599};
    int64_t n;
    CHECK_OK(delete_keys(s, "m", gone, 7, &n));
    CHECK_EQ_INT(n, 7);
    char *before = table_state(s, "m", -1);
    int64_t v0 = version_of(s);
    CHECK_EQ_INT(n_parts(s, "m"), 30);
    es_optimize_info info;
    CHECK_OK(es_optimize(s, "m", &info));
    CHECK_EQ_INT(info.parts_in, 30);
    CHECK_EQ_INT(info.parts_out, 1);
    CHECK_EQ_INT(info.rows, 593);
    CHECK_EQ_INT(info.version, v0 + 1);
    CHECK_EQ_INT(n_parts(s, "m"), 1);
    CHECK_EQ_INT(live_rows(s, "m"), 593);
    char *after = table_state(s, "m", -1), *old = table_state(s, "m", v0);
    CHECK(before && after && strcmp(before, after) == 0);
    CHECK(old && strcmp(before, old) == 0); /* time travel reads the old parts */
    CHECK(ascending(s, "m"));
    /* Nothing left to do: no commit. */
    CHECK_OK(es_optimize(s, "m", &info));
    CHECK_EQ_INT(info.parts_in, 0);
    CHECK_EQ_INT(info.version, -1);
    CHECK_EQ_INT(version_of(s), v0 + 1);
    CHECK_EQ_INT(es_optimize(s, "nope", NULL), ES_NOT_FOUND);
    free(before);
    free(after);
    free(old);
    es_store_close(s);
}

/* Several outputs: a small target size cuts the merged rows into parts of the target. */
static void test_outputs(const char *uri)
{
    es_store *s = open_store(uri, 16384, 0);
    struct ArrowSchema sc = small_schema();
    CHECK_OK(es_table_create(s, "o", &sc, "id", 0));
    sc.release(&sc);
    for (int i = 0; i < 40; i++)
        CHECK_OK(insert_small(s, "o", i, 50, 40));
    char *before = table_state(s, "o", -1);
    es_optimize_info info;
    CHECK_OK(es_optimize(s, "o", &info));
    CHECK(info.parts_out > 1 && info.parts_out < 40);
    CHECK_EQ_INT(n_parts(s, "o"), 40 - info.parts_in + info.parts_out);
    char *after = table_state(s, "o", -1);
    CHECK(before && after && strcmp(before, after) == 0);
    free(before);
    free(after);
    es_store_close(s);
}

/* ------------------------------------------------------------ concurrency */

typedef struct window {
    es_store *other;
    int what; /* 0 delete rows of inputs, 1 update rows, 2 delete all rows of a part (by key
                 range), 3 insert, 4 drop the table, 5 several commits of all kinds */
    es_status rc;
} window;

static es_status add_fn(void *ctx, const struct ArrowSchema *schema, const struct ArrowArray *rows,
                        struct ArrowArray *out, es_error *err)
{
    return small_update_fn(ctx, schema, rows, out, err);
}

/* The compaction hook: commits through the other handle after the outputs are written. */
static es_status in_window(void *ctx, es_store *s, es_error *err)
{
    window *w = ctx;
    (void)s;
    (void)err;
    int64_t n;
    int64_t keys[] = {3, 44, 45, 101, 250, 251, 252, 399};
    small_update u = {1000, "upd", 0, ES_OK, 0};
    es_expr *e = NULL;
    switch (w->what) {
    case 0:
        w->rc = delete_keys(w->other, "w", keys, 8, &n);
        break;
    case 1:
        e = es_expr_between("id", vint(100), vint(140));
        w->rc = es_update(w->other, "w", e, add_fn, &u, &n);
        break;
    case 2: /* the first insert wrote ids 0, 10, 20, ... 390: delete them all */
        e = es_expr_cmp("id", ES_LT, vint(400));
        w->rc = es_delete(w->other, "w", e, &n);
        break;
    case 3:
        w->rc = insert_small(w->other, "w", 100000, 30, 1);
        break;
    case 4:
        w->rc = es_table_drop(w->other, "w", 0);
        break;
    default:
        w->rc = delete_keys(w->other, "w", keys, 4, &n);
        if (!w->rc)
            w->rc = insert_small(w->other, "w", 200000, 10, 1);
        e = es_expr_between("id", vint(300), vint(330));
        if (!w->rc)
            w->rc = es_update(w->other, "w", e, add_fn, &u, &n);
        if (!w->rc)
            w->rc = delete_keys(w->other, "w", keys + 4, 4, &n);
        break;
    }
    es_expr_free(e);
    return ES_OK;
}

static void test_window(const char *uri, int what)
{
    es_store *s = open_store(uri, 0, 0), *o = open_store(uri, 0, 0);
    struct ArrowSchema sc = small_schema();
    es_table_drop(s, "w", 1);
    CHECK_OK(es_table_create(s, "w", &sc, "id", 0));
    sc.release(&sc);
    for (int i = 0; i < 10; i++)
        CHECK_OK(insert_small(s, "w", i, 40, 10));
    int64_t pre[] = {7, 77};
    int64_t n;
    CHECK_OK(delete_keys(s, "w", pre, 2, &n));
    window w = {o, what, ES_OK};
    es_error err;
    memset(&err, 0, sizeof(err));
    es_optimize_info info;
    es_status rc = es_compact_impl(s, "w", 0, in_window, &w, &info, &err);
    CHECK_OK(w.rc);
    if (what == 4) {
        CHECK_EQ_INT(rc, ES_CONFLICT);
        es_store_close(s);
        es_store_close(o);
        return;
    }
    if (rc)
        fprintf(stderr, "compaction (case %d): %s\n", what, err.msg);
    CHECK_OK(rc);
    /* The truth: what the other handle sees now equals what a fresh handle sees after the
     * compaction committed on top. */
    es_store *fresh = open_store(uri, 0, 0);
    char *want = table_state(o, "w", info.version - 1);
    char *got = table_state(fresh, "w", -1);
    CHECK(want && got && strcmp(want, got) == 0);
    if (want && got && strcmp(want, got) != 0)
        fprintf(stderr, "case %d: rows differ after compaction\n", what);
    CHECK_EQ_INT(live_rows(fresh, "w"), live_rows(o, "w") >= 0 ? live_rows(fresh, "w") : -1);
    /* Deleted keys stay deleted (Lance #6653). */
    if (what == 0 || what == 5) {
        strlist l;
        table_rows(fresh, "w", -1, &l, NULL, 0);
        for (int64_t i = 0; i < l.n; i++)
            CHECK(strncmp(l.s[i], "3|", 2) != 0 && strncmp(l.s[i], "44|", 3) != 0);
        sl_free(&l);
    }
    free(want);
    free(got);
    es_store_close(fresh);
    es_store_close(s);
    es_store_close(o);
}

/* A delete that read the table before a compaction committed, and commits after it. */
typedef struct during {
    small_update u; /* first: small_update_fn takes the context as one */
    const char *uri;
    es_status rc;
} during;

static es_status delete_during(void *ctx, const struct ArrowSchema *schema,
                               const struct ArrowArray *rows, struct ArrowArray *out, es_error *err)
{
    during *d = ctx;
    if (d->u.calls == 0) {
        es_store *c = open_store(d->uri, 0, 0);
        es_optimize_info info;
        d->rc = es_optimize(c, "d", &info);
        if (!d->rc && info.parts_in == 0)
            d->rc = ES_INTERNAL;
        es_store_close(c);
    }
    return small_update_fn(ctx, schema, rows, out, err);
}

static void test_delete_after(const char *uri)
{
    es_store *s = open_store(uri, 0, 0);
    struct ArrowSchema sc = small_schema();
    CHECK_OK(es_table_create(s, "d", &sc, "id", 0));
    sc.release(&sc);
    for (int i = 0; i < 8; i++)
        CHECK_OK(insert_small(s, "d", i, 25, 8));
    during d = {{7, "upd", 0, ES_OK, 0}, uri, ES_OK};
    es_expr *e = es_expr_between("id", vint(50), vint(60));
    int64_t n = 0;
    es_status rc = es_update(s, "d", e, delete_during, &d, &n);
    es_expr_free(e);
    CHECK_OK(d.rc);
    CHECK_OK(rc);
    if (rc)
        fprintf(stderr, "update after compaction: %s\n", es_store_errmsg(s));
    CHECK_EQ_INT(n, 11);
    CHECK_EQ_INT(live_rows(s, "d"), 200);
    strlist l;
    table_rows(s, "d", -1, &l, NULL, 0);
    int64_t upd = 0;
    for (int64_t i = 0; i < l.n; i++)
        upd += strstr(l.s[i], "|upd") != NULL;
    CHECK_EQ_INT(upd, 11);
    sl_free(&l);
    es_store_close(s);
}

/* ------------------------------------------------------------- automatic */

static void test_auto(const char *uri)
{
    es_store *s = open_store(uri, 0, 8);
    struct ArrowSchema sc = small_schema();
    CHECK_OK(es_table_create(s, "a", &sc, "id", 0));
    sc.release(&sc);
    for (int i = 0; i < 20; i++) {
        CHECK_OK(insert_small(s, "a", 100 - i, 1, 1));
        CHECK(n_parts(s, "a") < 8);
    }
    CHECK_EQ_INT(live_rows(s, "a"), 20);
    /* Not inside a transaction. */
    CHECK_OK(es_txn_begin(s, NULL));
    CHECK_EQ_INT(es_optimize(s, "a", NULL), ES_INVALID);
    CHECK(strstr(es_store_errmsg(s), "transaction") != NULL);
    CHECK_OK(es_txn_abort(s));
    es_store_close(s);
}

/* ------------------------------------------------------------------- SQL */

static void test_sql(const char *uri)
{
    es_store *s = open_store(uri, 0, 0);
    es_sql_session *q = NULL;
    CHECK_OK(es_sql_session_open(&q, s));
    es_sql_result r;
    const char *setup[] = {"CREATE TABLE q (id BIGINT PRIMARY KEY, s VARCHAR)",
                           "INSERT INTO q VALUES (3, 'c')", "INSERT INTO q VALUES (1, 'a')",
                           "INSERT INTO q VALUES (2, 'b')", "DELETE FROM q WHERE id = 2"};
    for (int i = 0; i < 5; i++) {
        CHECK_OK(es_sql_exec(q, setup[i], &r));
        es_sql_result_reset(&r);
    }
    CHECK_OK(es_sql_exec(q, "OPTIMIZE q", &r));
    CHECK_EQ_STR(r.kind, "OPTIMIZE");
    CHECK_EQ_INT(r.changes, 2);
    es_sql_result_reset(&r);
    CHECK_EQ_INT(n_parts(s, "q"), 1);
    CHECK_OK(es_sql_exec(q, "OPTIMIZE TABLE q", &r)); /* nothing left to do */
    CHECK_EQ_INT(r.changes, 0);
    es_sql_result_reset(&r);
    CHECK_EQ_INT(es_sql_exec(q, "OPTIMIZE nope", &r), ES_NOT_FOUND);
    CHECK(strstr(es_sql_errmsg(q), "nope") != NULL);
    CHECK_OK(es_sql_exec(q, "VACUUM", &r));
    CHECK_EQ_STR(r.kind, "VACUUM");
    CHECK(r.changes >= 0);
    es_sql_result_reset(&r);
    CHECK_OK(es_sql_exec(q, "BEGIN", &r));
    es_sql_result_reset(&r);
    CHECK_EQ_INT(es_sql_exec(q, "VACUUM", &r), ES_INVALID);
    CHECK_OK(es_sql_exec(q, "ROLLBACK", &r));
    es_sql_result_reset(&r);
    CHECK_EQ_INT(live_rows(s, "q"), 2);
    es_sql_session_close(q);
    es_store_close(s);
}

/* A part whose rows in the log are not its .idx's (an entry of a faulty writer with a valid
 * checksum): compaction sized a map by the log's rows before reading the part (2^61 + 1 rows
 * wrapped to 8 bytes, then a write past them); it now fails with ES_CORRUPT naming the .idx. */
static void test_bad_rows(const char *uri)
{
    es_store *s = open_store(uri, 0, 0);
    struct ArrowSchema sc = small_schema();
    CHECK_OK(es_table_create(s, "r", &sc, "id", 0));
    sc.release(&sc);
    CHECK_OK(insert_small(s, "r", 0, 20, 1));
    CHECK_OK(insert_small(s, "r", 20, 20, 1));
    int64_t v = version_of(s);
    es_objstore *os = s->os;
    es_entry e;
    CHECK_OK(es_log_read_entry(&e, os, v, 0, NULL));
    CHECK(e.n_actions >= 1 && e.actions[0].kind == ES_ACT_ADD_PART);
    e.actions[0].part->rows = ((int64_t)1 << 61) + 1;
    es_buf eb = {0};
    CHECK_OK(es_entry_encode(&eb, &e, NULL));
    char key[64];
    es_log_key(key, sizeof(key), v, 0);
    CHECK_OK(es_objstore_put(os, key, eb.data, eb.len, ES_PUT_ALWAYS, NULL, NULL, NULL));
    es_buf_reset(&eb);
    es_entry_reset(&e);
    es_store_close(s);
    s = open_store(uri, 0, 0);
    CHECK_EQ_INT(es_optimize(s, "r", NULL), ES_CORRUPT);
    CHECK(strstr(es_store_errmsg(s), ".idx: 20 rows, the log says") != NULL);
    CHECK_EQ_INT(es_fsck(s, NULL, NULL, NULL), ES_CORRUPT);
    es_store_close(s);
}

int main(void)
{
    char dir[] = "/tmp/es_test_compact_XXXXXX";
    es_objstore_mem_drop("test_compact");
    const char *uris[] = {"mem://test_compact", mkdtemp(dir)};
    for (int u = 0; u < 2; u++) {
        if (!uris[u])
            continue;
        printf("== %s\n", uris[u]);
        test_merge(uris[u]);
        test_outputs(uris[u]);
        for (int what = 0; what <= 5; what++)
            test_window(uris[u], what);
        test_delete_after(uris[u]);
        test_auto(uris[u]);
        test_sql(uris[u]);
    }
    es_objstore_mem_drop("test_compact_rows");
    test_bad_rows("mem://test_compact_rows");
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return CHECK_DONE();
}
