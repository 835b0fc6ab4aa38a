/*
 * test_pages: paged parts (es_open_options.batch_pages; docs/FORMAT.md sections 1 and 2, .idx
 * version 3; src/table/page.c) in a store that also holds parts of the layout before (one page
 * per batch, .idx versions 1 and 2), checked against SQLite:
 *
 *  - a store written with batch_pages 1 (nullable text that becomes dictionary-encoded and text
 *    that stays plain, doubles, booleans, NULLs) is reopened paged and written again: both kinds
 *    of parts are there (checked in their .idx) and every query equals SQLite's (full scans,
 *    GROUP BY, point lookups, key ranges, filters on other columns);
 *  - deletes and updates on both kinds, OPTIMIZE (which rewrites everything paged), fsck clean;
 *  - the requests of a full scan of a paged part: each needed column read in few requests
 *    (its pages are contiguous), not one per page.
 */
#include "sql_diff.h"

#include "objstore/objstore.h"
#include "table/scan_int.h"

static void exec2(const char *sql)
{
    int a = es_run(sql, NULL), b = sq_run(sql, NULL);
    if (a)
        fprintf(stderr, "%s: %s\n", sql, es_sql_errmsg(ses));
    CHECK(a == 0 && b == 0);
}

static void same(const char *sql)
{
    char *x = es_rows(sql), *y = sq_rows(sql);
    diff_same(sql, x, y);
    free(x);
    free(y);
}

static const char *const cats[] = {"red", "green", "blue", "cyan", "magenta"};

static void insert_rows(int from, int n)
{
    sbuf q = {0};
    sb_printf(&q, "INSERT INTO t VALUES ");
    for (int i = 0; i < n; i++) {
        int id = from + i;
        char note[48];
        int nl = rn(20);
        for (int j = 0; j < nl; j++)
            note[j] = (char)('a' + rn(26));
        note[nl] = 0;
        sb_printf(&q, "%s(%d, %d, ", i ? ", " : "", id, rn(1000));
        if (id % 13 == 5)
            sb_printf(&q, "NULL, ");
        else
            sb_printf(&q, "'%s', ", cats[id % 5]);
        if (id % 7 == 3)
            sb_printf(&q, "NULL, NULL, NULL)");
        else
            sb_printf(&q, "%d.25, %s, '%s')", rn(100000) - 50000, rn(2) ? "true" : "false", note);
    }
    exec2(q.p);
    free(q.p);
}

/* Parts of each kind in table t: *classic and *paged. */
static void count_kinds(int64_t *classic, int64_t *paged)
{
    es_tabledef *t = NULL;
    *classic = *paged = 0;
    CHECK_OK(es_store_table(&t, store, "t", -1, NULL));
    for (int64_t p = 0; t && p < t->n_parts; p++) {
        es_part_idx *x = NULL;
        if (t->parts[p]->inline_ipc)
            continue;
        CHECK_OK(es_store_part_idx(&x, store, t, t->parts[p], NULL, NULL, NULL));
        if (x && x->paged)
            ++*paged;
        else if (x)
            ++*classic;
        es_part_idx_free(x);
    }
    es_tabledef_unref(t);
}

/* A column whose values ZSTD would shrink by less than 2/5 (random 17-bit integers) is stored
 * raw, the key column compressed. Without the column cache a scan reads the raw pages in place
 * from the fetched bytes (the results equal SQLite's); with it, both columns' chunks are cached,
 * so that a warm query fetches nothing. */
static void raw_in_place(void)
{
    exec2("CREATE TABLE r (id BIGINT PRIMARY KEY, v INTEGER)");
    sbuf q = {0};
    sb_printf(&q, "INSERT INTO r VALUES ");
    for (int i = 0; i < 2048; i++)
        sb_printf(&q, "%s(%d, %d)", i ? ", " : "", i, rn(1 << 17));
    exec2(q.p);
    free(q.p);
    es_tabledef *t = NULL;
    CHECK_OK(es_store_table(&t, store, "r", -1, NULL));
    CHECK(t && t->n_parts == 1 && !t->parts[0]->inline_ipc);
    es_part_idx *x = NULL;
    CHECK_OK(es_store_part_idx(&x, store, t, t->parts[0], NULL, NULL, NULL));
    CHECK(x && x->paged && x->n_cols == 2);
    for (int64_t b = 0; x && b < x->n_batches; b++) {
        CHECK_EQ_INT(x->col_raw[b * 2 + 1] >> 1 & 1, 1); /* v: values raw */
        CHECK_EQ_INT(x->col_raw[b * 2] >> 1 & 1, 0);     /* id: compressed */
    }
    es_part_idx_free(x);
    es_tabledef_unref(t);
    CHECK_OK(es_store_set_cache_limit(store, 0));
    same("SELECT count(*), sum(v), min(v), max(v), sum(v * id) FROM r WHERE v > 1000");
    same("SELECT id, v FROM r WHERE id % 97 = 3 ORDER BY id");
    CHECK_OK(es_store_set_cache_limit(store, 64 << 20));
    const char *cols[] = {"v"};
    es_scan_options so = ES_SCAN_OPTIONS_INIT;
    so.columns = cols;
    so.n_columns = 1;
    struct ArrowArrayStream st;
    struct ArrowArray a;
    int64_t rows = 0, bytes = 0, chunks = 0;
    CHECK_OK(es_scan(store, "r", &so, &st));
    while (st.get_next(&st, &a) == 0 && a.release) {
        rows += a.length;
        a.release(&a);
    }
    st.release(&st);
    es_store_cache_usage(store, &bytes, &chunks);
    CHECK_EQ_INT(rows, 2048);
    CHECK(chunks > 0);
    same("SELECT count(*), sum(v), min(v), max(v) FROM r");
}

static void queries(void)
{
    same("SELECT * FROM t ORDER BY id");
    same("SELECT cat, count(*), sum(k), count(note), min(note), max(note) FROM t GROUP BY cat "
         "ORDER BY cat");
    same("SELECT count(*), sum(amount), min(amount), max(amount) FROM t WHERE flag");
    same("SELECT id, note FROM t WHERE k = 77 ORDER BY id");
    same("SELECT count(*) FROM t WHERE note LIKE '%ab%'");
    for (int i = 0; i < 12; i++) {
        char q[160];
        int key = rn(9000);
        snprintf(q, sizeof q, "SELECT * FROM t WHERE id = %d", key);
        same(q);
        snprintf(q, sizeof q, "SELECT sum(k), count(cat) FROM t WHERE id BETWEEN %d AND %d", key,
                 key + 1000);
        same(q);
    }
}

int main(void)
{
    (void)diff_open; /* (sql_diff.h's driver: this test opens its store itself) */
    (void)diff_keep;
    (void)diff_pick;
    es_objstore_mem_drop("pages_mix");
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.batch_rows = 64;
    o.batch_pages = 1; /* the layout before */
    CHECK_OK(es_store_open(&store, "mem://pages_mix", &o));
    CHECK_OK(es_sql_session_open(&ses, store));
    CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK);
    exec2("CREATE TABLE t (id BIGINT PRIMARY KEY, k INTEGER, cat TEXT, amount DOUBLE, flag "
          "BOOLEAN, note TEXT)");
    for (int i = 0; i < 4; i++)
        insert_rows(i * 1000, 1000);
    es_sql_session_close(ses);
    es_store_close(store);

    o.batch_pages = 4; /* paged from now on: batches of 4 pages of 64 rows */
    CHECK_OK(es_store_open(&store, "mem://pages_mix", &o));
    CHECK_OK(es_sql_session_open(&ses, store));
    for (int i = 4; i < 9; i++)
        insert_rows(i * 1000, 1000);
    int64_t classic = 0, paged = 0;
    count_kinds(&classic, &paged);
    CHECK(classic >= 1 && paged >= 1);
    printf("parts: %lld with one page per batch, %lld paged\n", (long long)classic,
           (long long)paged);
    queries();

    /* Deletes and updates on both kinds of parts. */
    exec2("DELETE FROM t WHERE id % 11 = 4");
    exec2("UPDATE t SET note = 'upd', k = k + 1 WHERE id % 17 = 2");
    exec2("DELETE FROM t WHERE id BETWEEN 2500 AND 2700");
    queries();

    /* A full scan of paged parts reads each column's pages in few requests. */
    es_scan_stats stats;
    es_scan_options so = ES_SCAN_OPTIONS_INIT;
    const char *cols[] = {"amount"};
    so.columns = cols;
    so.n_columns = 1;
    so.stats = &stats;
    struct ArrowArrayStream st;
    CHECK_OK(es_scan(store, "t", &so, &st));
    struct ArrowArray a;
    while (st.get_next(&st, &a) == 0 && a.release)
        a.release(&a);
    st.release(&st);

    /* OPTIMIZE rewrites every part paged; fsck finds the store consistent. */
    CHECK(es_run("OPTIMIZE t", NULL) == 0);
    count_kinds(&classic, &paged);
    CHECK_EQ_INT(classic, 0);
    CHECK(paged >= 1);
    queries();
    es_fsck_info fi;
    CHECK_OK(es_fsck(store, NULL, NULL, &fi));
    CHECK_EQ_INT(fi.problems, 0);

    /* After OPTIMIZE (one part): the full scan of one column takes about one request per 2 MiB
     * of it plus the .idx and .delta, not one per page. */
    memset(&stats, 0, sizeof stats);
    CHECK_OK(es_scan(store, "t", &so, &st));
    while (st.get_next(&st, &a) == 0 && a.release)
        a.release(&a);
    st.release(&st);
    printf("full scan of one column after OPTIMIZE: %lld requests, %lld bytes, %lld batches\n",
           (long long)stats.requests, (long long)stats.bytes_fetched,
           (long long)stats.batches_total);
    CHECK(stats.batches_total > 64);
    CHECK(stats.requests <= 4);
    raw_in_place();
    return diff_close();
}
