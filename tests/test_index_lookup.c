/*
 * test_index_lookup: reading the rows an index or the primary key points at (src/table/lookup.c,
 * bloom.c), against a scan without the index and against SQLite:
 *
 *  - rows by position (es_lookup_rows) for every column type (bool, integers, doubles,
 *    decimals, timestamps, text with NULLs, long strings) with deleted rows, on plain, ZSTD and
 *    paged stores; damaged batch metadata is ES_CORRUPT naming the .data object;
 *  - primary-key point lookups ('=', IN, a short BETWEEN, a missing key, another predicate
 *    beside it) after deletes and updates: a plain store reads far fewer bytes than the batch,
 *    a compressed one decodes a batch's columns once;
 *  - per-batch Bloom filters on a column that repeats its values: lookups skip batches, give
 *    the rows a scan without the index gives, and a damaged filter is ES_CORRUPT;
 *  - fault loops: the Nth allocation, then the Nth GET of a fresh handle fails; each lookup
 *    fails cleanly or finds exactly its rows.
 */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "index_util.h"
#include "objstore/objstore.h"
#include "util/util.h"
#include "table/index.h"
#include "testutil.h"
#include "expstore/expstore.h"
#include "expstore/sql.h"

static int64_t count_rows_stats(es_store *s, const char *table, const es_scan_options *so)
{
    struct ArrowArrayStream st;
    if (es_scan(s, table, so, &st) != ES_OK)
        return -1;
    int64_t n = 0;
    struct ArrowArray a;
    int rc;
    while ((rc = st.get_next(&st, &a)) == 0 && a.release) {
        n += a.length;
        a.release(&a);
    }
    st.release(&st);
    return rc ? -1 : n;
}

static int64_t count_lines(const char *text)
{
    int64_t n = 0;
    for (const char *c = text; *c; c++)
        n += *c == '\n';
    return n;
}

/* Failures in a lookup: the Nth allocation, then the Nth GET of a fresh handle on uri (nothing
 * cached) fails; the scan so must fail cleanly or find its `truth` rows. The failed runs. */
static int64_t lookup_faults(const char *uri, const es_scan_options *so, int64_t truth)
{
    int64_t fails = 0;
    for (int64_t nth = 1; nth < 3000; nth++) {
        es_store *f = NULL;
        CHECK_OK(es_store_open(&f, uri, NULL));
        es_util_alloc_fail_at(nth, 0);
        int64_t got = count_rows_stats(f, "t", so);
        int64_t made = es_util_alloc_fail_at(0, 0);
        es_store_close(f);
        CHECK(got == truth || got == -1);
        fails += got == -1;
        if (made < nth)
            break;
    }
    for (int64_t nth = 1; nth < 200; nth++) {
        es_objstore *inner = NULL, *fw = NULL;
        CHECK_OK(es_objstore_open(&inner, uri, NULL));
        CHECK_OK(es_objstore_fault_wrap(&fw, inner, 0, NULL));
        es_store *f = NULL;
        CHECK_OK(es_store_open_objstore(&f, fw, 0, NULL, NULL));
        es_fault_config cfg;
        memset(&cfg, 0, sizeof(cfg));
        cfg.op = ES_OP_GET;
        cfg.fail_at = nth;
        CHECK_OK(es_objstore_fault_set(fw, &cfg));
        int64_t got = count_rows_stats(f, "t", so);
        int64_t injected = es_objstore_fault_injected(fw);
        CHECK(got == truth || got == -1);
        fails += got == -1;
        es_store_close(f);
        es_objstore_close(fw);
        es_objstore_close(inner);
        if (!injected)
            break;
    }
    return fails;
}

/* The first batch's metadata follows the schema message; finding every "record batch"
 * metadata is hard: flip the byte after each 0xFFFFFFFF continuation marker past the schema's
 * instead. */
static void damage_batch_meta(void *ctx, const char *key, uint8_t *copy, size_t size)
{
    (void)ctx, (void)key;
    int seen = 0;
    for (size_t j = 8; j + 8 < size; j++)
        if (copy[j] == 0xff && copy[j + 1] == 0xff && copy[j + 2] == 0xff && copy[j + 3] == 0xff &&
            seen++ > 0)
            copy[j + 9] ^= 0x01;
}

/* A Bloom filter object of 2048 rows is verified whole; a filter bit flipped, it is refused. */
static void damage_bloom(void *ctx, const char *key, uint8_t *copy, size_t size)
{
    (void)ctx;
    es_error e;
    CHECK(size > 12 && memcmp(copy + 8, "ESBL", 4) == 0);
    CHECK_OK(es_index_object_check(copy, size, ES_DOM_BYTES, 2048, key, &e));
    CHECK_EQ_INT(es_index_object_check(copy, size, ES_DOM_BYTES, 2047, key, &e), ES_CORRUPT);
    copy[size - 40] ^= 0x10; /* a filter bit */
    CHECK_EQ_INT(es_index_object_check(copy, size, ES_DOM_BYTES, 2048, key, &e), ES_CORRUPT);
}

/* Every column type a lookup reads by position (es_lookup_rows): bool, integers, doubles,
 * decimals, timestamps, text with NULLs, long strings, deleted rows; the rows equal
 * those of a scan without the index, and with compressed bodies (column mode) too. A damaged
 * batch metadata is ES_CORRUPT naming the .data object. */
static void test_lookup_rows(void)
{
    /* comp 0: plain, 1: ZSTD, both one page per batch (the lookup by position reads the
     * metadata); 2: ZSTD in paged parts (docs/FORMAT.md, .idx version 3: pages decoded from
     * the .idx, no metadata read). */
    for (int comp = 0; comp < 3; comp++) {
        side d;
        side_open_comp(&d, "ixrows", 64, comp);
        free(es_text(&d,
                     "CREATE TABLE t (id BIGINT PRIMARY KEY, k INTEGER, b BOOLEAN, sm SMALLINT, "
                     "r REAL, d DOUBLE, m DECIMAL(12,2), ts TIMESTAMP, s TEXT)",
                     NULL));
        for (int part = 0; part < 3; part++) {
            sbuf q = {0};
            sb_printf(&q, "INSERT INTO t VALUES ");
            for (int i = 0; i < 400; i++) {
                int id = part * 400 + i, nul = rn(7) == 0;
                char str[300];
                int len = rn(20) == 0 ? 200 + rn(90) : rn(12);
                for (int c = 0; c < len; c++)
                    str[c] = (char)('a' + (id + c) % 26);
                str[len] = 0;
                if (nul)
                    sb_printf(&q, "%s(%d, %d, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
                              i ? ", " : "", id, rn(300));
                else
                    sb_printf(&q,
                              "%s(%d, %d, %s, %d, %d.5, %d.25, %d.01, '2024-01-%02d 10:00:%02d', "
                              "'%s')",
                              i ? ", " : "", id, rn(300), rn(2) ? "true" : "false", rn(1000) - 500,
                              rn(100), rn(100000), rn(100000), 1 + rn(28), rn(60), str);
            }
            char *r = es_text(&d, q.p, NULL);
            CHECK(strncmp(r, "error", 5) != 0);
            free(r);
            free(q.p);
        }
        free(es_text(&d, "DELETE FROM t WHERE id % 11 = 3", NULL));
        char *with[40];
        free(es_text(&d, "CREATE INDEX tk ON t (k)", NULL));
        int64_t by_pos = 0;
        for (int i = 0; i < 40; i++) {
            char q[128];
            snprintf(q, sizeof q, "SELECT * FROM t WHERE k = %d", i * 7);
            with[i] = es_text(&d, q, NULL);
            es_expr *e = es_expr_cmp("k", ES_EQ, vint(i * 7));
            es_scan_stats stats;
            es_scan_options so = ES_SCAN_OPTIONS_INIT;
            so.predicate = e;
            so.stats = &stats;
            CHECK_EQ_INT(count_rows_stats(d.store, "t", &so), count_lines(with[i]));
            by_pos += stats.index_rows;
            es_expr_free(e);
        }
        /* Compressed bodies: the hit batches' columns, decoded once into the column cache. */
        CHECK(by_pos > 0);
        free(es_text(&d, "DROP INDEX tk", NULL));
        for (int i = 0; i < 40; i++) {
            char q[128];
            snprintf(q, sizeof q, "SELECT * FROM t WHERE k = %d", i * 7);
            char *without = es_text(&d, q, NULL);
            CHECK_EQ_STR(with[i], without);
            free(without);
            free(with[i]);
        }
        {
            /* Failures in a lookup by position: the Nth allocation, then the Nth request of
             * a fresh handle (nothing cached) fail; the scan fails cleanly or is right. */
            free(es_text(&d, "CREATE INDEX tk ON t (k)", NULL));
            es_expr *fe = es_expr_cmp("k", ES_EQ, vint(14));
            es_scan_options fso = ES_SCAN_OPTIONS_INIT;
            fso.predicate = fe;
            int64_t truth = count_rows_stats(d.store, "t", &fso);
            CHECK(lookup_faults("mem://ixrows", &fso, truth) > 10);
            es_expr_free(fe);
            free(es_text(&d, "DROP INDEX tk", NULL));
        }
        if (comp < 2) {
            /* Damage the metadata of every batch of every .data object: a fresh handle's
             * lookup reports it (a paged part's reader reads no metadata; fsck checks it). */
            free(es_text(&d, "CREATE INDEX tk ON t (k)", NULL));
            CHECK(damage_objects(d.store, ".data", damage_batch_meta, NULL) > 0);
            es_store *f = NULL;
            CHECK_OK(es_store_open(&f, "mem://ixrows", NULL));
            es_expr *e = es_expr_cmp("k", ES_EQ, vint(7));
            es_scan_options so = ES_SCAN_OPTIONS_INIT;
            so.predicate = e;
            struct ArrowArrayStream st;
            CHECK_OK(es_scan(f, "t", &so, &st));
            struct ArrowArray a;
            int rc = 0;
            while ((rc = st.get_next(&st, &a)) == 0 && a.release)
                a.release(&a);
            CHECK(rc != 0);
            const char *msg = st.get_last_error(&st);
            CHECK(msg && strstr(msg, ".data: batch") != NULL && strstr(msg, "metadata") != NULL);
            st.release(&st);
            es_expr_free(e);
            es_store_close(f);
        }
        side_close(&d);
    }
}

/* Primary-key point lookups (es_lookup_key_hits) on plain and ZSTD stores against SQLite: '=',
 * IN, a short BETWEEN, a missing key, with a predicate on another column too, after deletes
 * and updates; the rows come by position (index_rows), a plain store's lookup reads far fewer
 * bytes than its batch, and on a compressed store a batch's columns are decoded once: the next
 * lookups in it make no request. */
static void test_key_lookups(void)
{
    /* comp 0: plain, 1: ZSTD, one page per batch; 2: ZSTD, paged parts (pages of the hits read
     * into the column cache from the .idx's pieces). */
    for (int comp = 0; comp < 3; comp++) {
        side d;
        side_open_comp(&d, "ixkey", 4096, comp);
        both_run(&d, "CREATE TABLE t (id BIGINT PRIMARY KEY, k INTEGER, s TEXT, n TEXT)",
                 "CREATE TABLE t (id INTEGER PRIMARY KEY, k INTEGER, s TEXT, n TEXT)");
        for (int part = 0; part < 2; part++) {
            sbuf q = {0};
            sb_printf(&q, "INSERT INTO t VALUES ");
            for (int i = 0; i < 6000; i++) {
                char str[48];
                int len = 8 + rn(30);
                for (int c = 0; c < len; c++)
                    str[c] = (char)('a' + rn(26));
                str[len] = 0;
                int id = part * 12000 + i * 2;
                char n[32];
                snprintf(n, sizeof n, rn(5) ? "'x%d'" : "NULL", id);
                sb_printf(&q, "%s(%d, %d, '%s', %s)", i ? ", " : "", id, rn(100), str, n);
            }
            both_run(&d, q.p, NULL);
            free(q.p);
        }
        int64_t by_pos = 0, cold_bytes = 0, warm_requests = 0;
        es_store *f = NULL; /* a fresh handle: nothing cached */
        CHECK_OK(es_store_open(&f, "mem://ixkey", NULL));
        for (int i = 0; i < 20; i++) { /* a key, then its neighbour in the same batch */
            int key = 2 * (1 + rn(11990)), hit = 0;
            for (int j = 0; j < 2; j++) {
                es_expr *e = es_expr_cmp("id", ES_EQ, vint(key + 2 * j));
                es_scan_stats stats;
                es_scan_options so = ES_SCAN_OPTIONS_INIT;
                so.predicate = e;
                so.stats = &stats;
                CHECK_EQ_INT(count_rows_stats(f, "t", &so), 1);
                if (i == 0 && j == 0)
                    cold_bytes = stats.bytes_fetched;
                if (j == 0)
                    hit = stats.index_rows > 0; /* else a small batch, read whole */
                else if (hit)
                    warm_requests += stats.requests;
                es_expr_free(e);
            }
        }
        es_store_close(f);
        /* The Nth allocation, then the Nth GET of a fresh handle fails: the lookup fails
         * cleanly or finds its row. */
        es_expr *fe = es_expr_cmp("id", ES_EQ, vint(4000));
        es_scan_options fso = ES_SCAN_OPTIONS_INIT;
        fso.predicate = fe;
        CHECK(lookup_faults("mem://ixkey", &fso, 1) > 10);
        es_expr_free(fe);
        both_run(&d, "DELETE FROM t WHERE id % 7 = 0", NULL);
        both_run(&d, "UPDATE t SET k = k + 1000 WHERE id % 11 = 0", NULL);
        for (int i = 0; i < 60; i++) {
            int key = 2 * rn(12000) + (i % 10 == 9); /* odd: missing */
            char q[256], sq[256];
            if (i % 6 == 1)
                snprintf(q, sizeof q, "SELECT * FROM t WHERE id IN (%d, %d, %d) ORDER BY id", key,
                         key + 2, key + 4);
            else if (i % 6 == 2)
                snprintf(q, sizeof q, "SELECT * FROM t WHERE id BETWEEN %d AND %d ORDER BY id", key,
                         key + 9);
            else if (i % 6 == 3)
                snprintf(q, sizeof q, "SELECT id, s FROM t WHERE id = %d AND k < 50", key);
            else
                snprintf(q, sizeof q, "SELECT * FROM t WHERE id = %d", key);
            snprintf(sq, sizeof sq, "%s", q);
            both_same(&d, q, sq);
            es_expr *e = es_expr_cmp("id", ES_EQ, vint(key));
            es_scan_stats stats;
            es_scan_options so = ES_SCAN_OPTIONS_INIT;
            so.predicate = e;
            so.stats = &stats;
            int64_t n = count_rows_stats(d.store, "t", &so);
            CHECK(n == 0 || n == 1);
            by_pos += stats.index_rows;
            es_expr_free(e);
        }
        CHECK(by_pos > 10);
        if (!comp)
            CHECK(cold_bytes > 0 && cold_bytes < 4096 * 15); /* the batch: ~4096 * 45 */
        else
            CHECK_EQ_INT(warm_requests, 0);
        printf("key lookups (%s): %lld rows by position, first lookup %lld bytes, %lld requests "
               "warm\n",
               comp == 2 ? "zstd, paged"
               : comp    ? "zstd"
                         : "plain",
               (long long)by_pos, (long long)cold_bytes, (long long)warm_requests);
        side_close(&d);
    }
}

/* A column that repeats its values within batches gets per-batch Bloom filters instead of
 * sorted pages (bloom.c): every batch holds 'a' and 'z' (so min/max prune nothing) and one
 * middle value; lookups skip the batches without the value, give the rows a scan without the
 * index gives, and a damaged filter is ES_CORRUPT. */
static void test_bloom(void)
{
    es_objstore_mem_drop("ixbloom");
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.batch_rows = 64;
    o.inline_rows = 0;
    side d;
    memset(&d, 0, sizeof(d));
    CHECK_OK(es_store_open(&d.store, "mem://ixbloom", &o));
    CHECK_OK(es_sql_session_open(&d.ses, d.store));
    free(es_text(&d, "CREATE TABLE b (id BIGINT PRIMARY KEY, cat TEXT, v INT)", NULL));
    sbuf q = {0};
    sb_printf(&q, "INSERT INTO b VALUES ");
    for (int i = 0; i < 2048; i++) {
        char cat[8];
        snprintf(cat, sizeof cat, i % 32 == 0 ? "a" : i % 32 == 1 ? "z" : "m%d", (i / 64) % 8);
        sb_printf(&q, "%s(%d, '%s', %d)", i ? ", " : "", i, cat, i % 3);
    }
    free(es_text(&d, q.p, NULL));
    free(q.p);
    free(es_text(&d, "CREATE INDEX bcat ON b (cat)", NULL));
    const char *qs[] = {"cat = 'm3'", "cat IN ('m1', 'm6')", "cat = 'nope'", "cat = 'a'"};
    int64_t want[] = {4 * 60, 8 * 60, 0, 64};
    char *with[4];
    int64_t skipped = 0;
    for (int i = 0; i < 4; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT id, cat, v FROM b WHERE %s ORDER BY id", qs[i]);
        with[i] = es_text(&d, sql, NULL);
        CHECK_EQ_INT(count_lines(with[i]), want[i]);
        es_value vals[2] = {vstr(i == 1   ? "m1"
                                 : i == 0 ? "m3"
                                 : i == 2 ? "nope"
                                          : "a"),
                            vstr("m6")};
        es_expr *e = i == 1 ? es_expr_in("cat", vals, 2) : es_expr_cmp("cat", ES_EQ, vals[0]);
        es_scan_stats stats;
        es_scan_options so = ES_SCAN_OPTIONS_INIT;
        so.predicate = e;
        so.stats = &stats;
        CHECK_EQ_INT(count_rows_stats(d.store, "b", &so), want[i]);
        CHECK(stats.index_parts > 0);
        skipped += stats.index_batches_skipped;
        es_expr_free(e);
    }
    CHECK(skipped >= 28 + 24 + 30); /* m3: 28 of 32 batches, m1/m6: 24, nope: about all */
    /* The objects are Bloom filters, verified whole; damaged, they are refused. */
    CHECK(damage_objects(d.store, ".six", damage_bloom, NULL) > 0);
    es_store *f = NULL;
    CHECK_OK(es_store_open(&f, "mem://ixbloom", NULL));
    es_expr *e = es_expr_cmp("cat", ES_EQ, vstr("m3"));
    es_scan_options so = ES_SCAN_OPTIONS_INIT;
    so.predicate = e;
    CHECK_EQ_INT(count_rows_stats(f, "b", &so), -1);
    es_expr_free(e);
    es_store_close(f);
    free(es_text(&d, "DROP INDEX bcat", NULL));
    for (int i = 0; i < 4; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT id, cat, v FROM b WHERE %s ORDER BY id", qs[i]);
        char *without = es_text(&d, sql, NULL);
        CHECK_EQ_STR(with[i], without);
        free(without);
        free(with[i]);
    }
    es_sql_session_close(d.ses);
    es_store_close(d.store);
}

int main(void)
{
    test_lookup_rows();
    test_key_lookups();
    test_bloom();
    return CHECK_DONE();
}
