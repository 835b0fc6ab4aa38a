/*
 * test_roundtrips: sequential round trips of reads on a handle (es_objstore_stats.round_trips:
 * requests in flight at once count once), through the fault store with a latency per round
 * trip (ES_FAULT_LATENCY_MS) so that requests made in parallel do overlap:
 *
 *  - a fresh handle's point query by key: 4 (the hint read while the first page of _log/ is
 *    listed; the entries; the refresh probe while the part's .idx is read; the data), and 1
 *    warm (the probe, and the data planned on the cached .idx while it is in flight);
 *  - the same after checkpoints: 4 (the hint and the listing; the checkpoint and the entries
 *    after it, in one round; the probe with the .idx; the data);
 *  - a log longer than a LIST page: the same 4 (the tail listed in the checkpoint's round);
 *  - the probe is only a speculation: rows, columns and tables committed by another handle
 *    after this one's version are seen by its next read, as after a plain refresh.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "expstore/expstore.h"
#include "expstore/sql.h"
#include "objstore/objstore.h"
#include "table/table.h"

/* Long enough that a thread started late on a busy machine (the sanitizers, a parallel suite)
 * still overlaps the request in flight (40 ms was not, at a load of 17). */
#define LATENCY "100"

/* The first column of the first row of a query's result as an integer (INT64_MIN: NULL or an
 * error, printed). */
static int64_t first_int(es_sql_session *q, const char *sql)
{
    es_sql_result res = ES_SQL_RESULT_INIT;
    int64_t out = INT64_MIN;
    if (es_sql_exec(q, sql, &res) != ES_OK) {
        fprintf(stderr, "%s: %s\n", sql, es_sql_errmsg(q));
        return out;
    }
    struct ArrowSchema sc;
    struct ArrowArray a;
    if (res.has_rows && res.stream.get_schema(&res.stream, &sc) == 0) {
        while (res.stream.get_next(&res.stream, &a) == 0 && a.release) {
            es_array_view v;
            if (out == INT64_MIN && a.length > 0 && es_array_view_init(&v, &sc, &a, NULL) == 0) {
                if (!es_view_is_null(&v.children[0], 0))
                    out = es_view_get_int(&v.children[0], 0);
                es_array_view_reset(&v);
            }
            a.release(&a);
        }
        sc.release(&sc);
    }
    es_sql_result_reset(&res);
    return out;
}

static int run(es_sql_session *q, const char *sql)
{
    es_sql_result res = ES_SQL_RESULT_INIT;
    es_status st = es_sql_exec(q, sql, &res);
    if (st)
        fprintf(stderr, "%s: %s\n", sql, es_sql_errmsg(q));
    es_sql_result_reset(&res);
    return st;
}

/* v of the one row of t matching `where`, through COPY (SELECT v ...) TO a CSV file without
 * header (INT64_MIN: no row or an error, printed). */
static int64_t copy_int(es_sql_session *q, const char *where)
{
    char path[64], sql[256];
    snprintf(path, sizeof path, "/tmp/es_rt_copy_%d.csv", (int)getpid());
    snprintf(sql, sizeof sql, "COPY (SELECT v FROM t WHERE %s) TO '%s' (HEADER false)", where,
             path);
    int64_t out = INT64_MIN;
    long long v;
    FILE *f = run(q, sql) == ES_OK ? fopen(path, "r") : NULL;
    if (f && fscanf(f, "%lld", &v) == 1)
        out = v;
    if (f)
        fclose(f);
    remove(path);
    return out;
}

/* v of the row with id = key through es_scan (INT64_MIN when absent); its statistics in
 * *stats (nullable). */
static int64_t scan_point_stats(es_store *s, int64_t key, es_scan_stats *stats)
{
    es_scan_options so = ES_SCAN_OPTIONS_INIT;
    so.stats = stats;
    const char *cols[] = {"v"};
    so.columns = cols;
    so.n_columns = 1;
    so.predicate = es_expr_cmp("id", ES_EQ, (es_value){ES_VALUE_INT, key, 0, NULL, 0});
    struct ArrowArrayStream st;
    int64_t out = INT64_MIN;
    if (es_scan(s, "t", &so, &st) != ES_OK) {
        fprintf(stderr, "scan: %s\n", es_store_errmsg(s));
    } else {
        struct ArrowArray a;
        while (st.get_next(&st, &a) == 0 && a.release) {
            if (a.length == 1)
                memcpy(&out, (const uint8_t *)a.children[0]->buffers[1] + 8 * a.children[0]->offset,
                       8);
            a.release(&a);
        }
        st.release(&st);
    }
    es_expr_free((es_expr *)so.predicate);
    return out;
}

static int64_t scan_point(es_store *s, int64_t key)
{
    return scan_point_stats(s, key, NULL);
}

static int64_t round_trips(es_objstore *os)
{
    es_objstore_stats st;
    es_objstore_get_stats(os, &st);
    return st.round_trips;
}

static int64_t requests(es_objstore *os)
{
    return es_objstore_requests(os);
}

/* Where the stores live: mem://<name>, or <ES_TEST_S3_URI>/<name> (test_roundtrips_rgw: Ceph
 * RGW on loopback, a fresh prefix per run; the same exact figures hold there). */
static const char *s3_base;

static void store_uri(char *out, size_t cap, const char *name)
{
    if (s3_base)
        snprintf(out, cap, "%s/%s", s3_base, name);
    else
        snprintf(out, cap, "mem://%s", name);
}

/* A handle on `name` through the fault store with the latency; its SQL session in *q. */
static es_store *open_slow(const char *name, es_objstore **os, es_sql_session **q)
{
    char uri[600];
    snprintf(uri, sizeof uri, "fault+");
    store_uri(uri + 6, sizeof uri - 6, name);
    setenv("ES_FAULT_LATENCY_MS", LATENCY, 1);
    *os = NULL;
    es_status st = es_objstore_open(os, uri, NULL);
    unsetenv("ES_FAULT_LATENCY_MS");
    CHECK_OK(st);
    es_store *s = NULL;
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    CHECK_OK(es_store_open_objstore(&s, *os, 1, &o, NULL));
    CHECK_OK(es_sql_session_open(q, s));
    return s;
}

/* A new store `name` (a mem:// one dropped first) and a handle writing to it, without
 * latency. */
static es_store *open_writer(const char *name, es_sql_session **wq)
{
    char uri[600];
    store_uri(uri, sizeof uri, name);
    es_objstore_mem_drop(name);
    es_store *w = NULL;
    CHECK_OK(es_store_open(&w, uri, NULL));
    CHECK_OK(es_sql_session_open(wq, w));
    return w;
}

static void test_point(void)
{
    printf("== point query round trips, fresh and warm\n");
    es_sql_session *wq = NULL;
    es_store *w = open_writer("rt_point", &wq);
    CHECK_OK(run(wq, "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, v BIGINT)"));
    /* 50,000 rows (id, 3 id): several batches in one part. */
    struct ArrowSchema sc;
    es_schema_init_struct(&sc, 2, NULL);
    es_schema_init(sc.children[0], "l", "id", 0, NULL);
    es_schema_init(sc.children[1], "l", "v", ARROW_FLAG_NULLABLE, NULL);
    es_builder *b = NULL;
    CHECK_OK(es_builder_new(&b, &sc, NULL));
    for (int64_t i = 0; b && i < 50000; i++) {
        es_builder_append_int(es_builder_child(b, 0), i);
        es_builder_append_int(es_builder_child(b, 1), 3 * i);
        es_builder_append_struct(b);
    }
    struct ArrowArray arr;
    CHECK_OK(es_builder_finish(b, &arr, NULL));
    CHECK_OK(es_insert_batch(w, "t", &sc, &arr));
    es_builder_free(b);
    sc.release(&sc);

    es_objstore *os = NULL;
    es_sql_session *q = NULL;
    int64_t r0 = 0;
    {
        /* A fresh handle: opening and the first query. */
        es_store *s = open_slow("rt_point", &os, &q);
        CHECK_EQ_INT(scan_point(s, 31337), 31337 * 3);
        CHECK_EQ_INT(round_trips(os), 4);
        /* hint, LIST; entries 0-2 (store, create, insert); probe, .idx; data */
        CHECK_EQ_INT(requests(os), 8);
        r0 = round_trips(os);
        int64_t q0 = requests(os);
        CHECK_EQ_INT(scan_point(s, 4242), 4242 * 3);
        /* The probe, and the pages of id and v in the same round (.idx cached). */
        CHECK_EQ_INT(round_trips(os) - r0, 1);
        CHECK_EQ_INT(requests(os) - q0, 2);
        /* Through SQL, the column cache off: the statement binds and reads while its refresh
         * is in flight (es_store_speculate_begin): the refresh and the pages in one round. */
        es_store_set_cache_limit(s, 0);
        r0 = round_trips(os);
        q0 = requests(os);
        CHECK_EQ_INT(first_int(q, "SELECT v FROM t WHERE id = 4243"), 4243 * 3);
        CHECK_EQ_INT(round_trips(os) - r0, 1);
        CHECK_EQ_INT(requests(os) - q0, 2);
        /* COPY (SELECT ...) TO as well: its scan opens while the refresh is in flight, and the
         * file is written once the refresh found nothing newer. */
        r0 = round_trips(os);
        q0 = requests(os);
        CHECK_EQ_INT(copy_int(q, "id = 4245"), 4245 * 3);
        CHECK_EQ_INT(round_trips(os) - r0, 1);
        CHECK_EQ_INT(requests(os) - q0, 2);
        /* The key page stays in the key cache (the column cache off): the next point query
         * in that page takes it from there and fetches only v's page. */
        es_scan_stats ks;
        CHECK_EQ_INT(scan_point_stats(s, 4244, &ks), 4244 * 3);
        CHECK_EQ_INT(ks.cache_chunks, 1);
        CHECK(ks.cache_bytes > 0);
        CHECK_EQ_INT(ks.requests, 1);
        es_store_set_cache_limit(s, -1);

        /* Another handle commits rows: the next query sees them (the probe found an entry). */
        CHECK_OK(run(wq, "INSERT INTO t VALUES (60000, 7)"));
        CHECK_EQ_INT(copy_int(q, "id = 60000"), 7); /* COPY runs again after the refresh */
        CHECK_EQ_INT(first_int(q, "SELECT v FROM t WHERE id = 60000"), 7);
        CHECK_EQ_INT(first_int(q, "SELECT count(*) FROM t WHERE v >= 0"), 50001);
        /* A column added meanwhile: the older snapshot lacks it, the query still finds it. */
        CHECK_OK(run(wq, "ALTER TABLE t ADD COLUMN z BIGINT DEFAULT 5"));
        CHECK_EQ_INT(first_int(q, "SELECT z FROM t WHERE id = 60000"), 5);
        /* A table created meanwhile. */
        CHECK_OK(run(wq, "CREATE TABLE u (k BIGINT)"));
        CHECK_OK(run(wq, "INSERT INTO u VALUES (11), (12)"));
        CHECK_EQ_INT(first_int(q, "SELECT sum(k) FROM u WHERE k > 0"), 23);
        /* Rows deleted meanwhile are gone. */
        CHECK_OK(run(wq, "DELETE FROM t WHERE id = 4242"));
        CHECK_EQ_INT(first_int(q, "SELECT count(*) FROM t WHERE id = 4242"), 0);
        es_sql_session_close(q);
        es_store_close(s);
    }

    {
        /* A store that answers faster than a thread starts (memory without latency): once a
         * probe has measured that, statements refresh first instead of probing (a probe slowed
         * by a busy machine lets the next statement probe and measure again). Through the
         * latency of open_slow, every statement probes. */
        char uri[600];
        store_uri(uri, sizeof uri, "rt_point");
        es_objstore *fos = NULL;
        CHECK_OK(es_objstore_open(&fos, uri, NULL));
        es_store *f = NULL;
        es_open_options o = ES_OPEN_OPTIONS_INIT;
        CHECK_OK(es_store_open_objstore(&f, fos, 1, &o, NULL));
        CHECK_OK(es_sql_session_open(&q, f));
        int probes = 0, i = 0;
        for (; i < 50; i++) {
            CHECK_EQ_INT(first_int(q, "SELECT v FROM t WHERE id = 4243"), 4243 * 3);
            int on = es_store_speculate_begin(f);
            es_store_speculate_end(f);
            if (!on)
                break;
            probes++;
        }
        CHECK(s3_base != NULL || i < 50); /* on RGW a GET may take longer than a thread */
        es_sql_session_close(q);
        es_store_close(f);
        f = open_slow("rt_point", &os, &q);
        for (i = 0; i < 3; i++) {
            CHECK_EQ_INT(first_int(q, "SELECT v FROM t WHERE id = 4243"), 4243 * 3);
            CHECK(es_store_speculate_begin(f));
            es_store_speculate_end(f);
        }
        printf("a store without latency stopped probing after %d probes\n", probes);
        es_sql_session_close(q);
        es_store_close(f);
    }

    /* Checkpoints (every 10 versions): the hint names one; the listing is read with it. */
    for (int i = 0; i < 12; i++) {
        char sql[96];
        snprintf(sql, sizeof sql, "INSERT INTO t (id, v) VALUES (%d, %d)", 70000 + i, i);
        CHECK_OK(run(wq, sql));
    }
    es_store *s = open_slow("rt_point", &os, &q);
    CHECK_EQ_INT(scan_point(s, 31337), 31337 * 3);
    int64_t fresh = round_trips(os);
    /* hint, LIST; checkpoint 10 and entries 11-19; probe, .idx; data */
    CHECK_EQ_INT(requests(os), 15);
    printf("fresh point query after checkpoints: %" PRId64 " round trips\n", fresh);
    /* hint + LIST; the checkpoint with the entries after it; probe + .idx; data */
    CHECK_EQ_INT(fresh, 4);
    r0 = round_trips(os);
    CHECK_EQ_INT(scan_point(s, 4241), 4241 * 3);
    CHECK_EQ_INT(round_trips(os) - r0, 1);
    r0 = round_trips(os);
    CHECK_EQ_INT(scan_point(s, 70011), 11); /* rows inlined in the log: the probe only */
    CHECK_EQ_INT(round_trips(os) - r0, 1);
    es_sql_session_close(q);
    es_store_close(s);
    /* A fresh process's SQL point query. */
    s = open_slow("rt_point", &os, &q);
    CHECK_EQ_INT(first_int(q, "SELECT v FROM t WHERE id = 70010"), 10);
    /* hint + LIST; checkpoint and entries; the refresh (rows inlined in the log: no part) */
    CHECK_EQ_INT(round_trips(os), 3);
    es_sql_session_close(q);
    es_store_close(s);
    /* ... and of a row in the part: hint + LIST; checkpoint and entries; the refresh and the
     * .idx; the pages. */
    s = open_slow("rt_point", &os, &q);
    CHECK_EQ_INT(first_int(q, "SELECT v FROM t WHERE id = 31337"), 31337 * 3);
    CHECK_EQ_INT(round_trips(os), 4);
    CHECK_EQ_INT(requests(os), 15);
    es_sql_session_close(q);
    es_store_close(s);
    es_sql_session_close(wq);
    es_store_close(w);
    es_objstore_mem_drop("rt_point");
}

/* A log longer than one LIST page (1,000 keys): the open lists the tail after the hinted
 * checkpoint while it reads the checkpoint and the entries a checkpoint interval can leave
 * after it, so it takes the rounds of a short log. */
static void test_long_log(void)
{
    printf("== a log longer than a LIST page\n");
    es_sql_session *wq = NULL;
    es_store *w = open_writer("rt_long", &wq);
    CHECK_OK(run(wq, "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, v BIGINT)"));
    char sql[16 * 200];
    size_t len = (size_t)sprintf(sql, "INSERT INTO t VALUES ");
    for (int i = 0; i < 200; i++) /* past inline_rows: a part */
        len += (size_t)sprintf(sql + len, "%s(%d, %d)", i ? ", " : "", i, 3 * i);
    CHECK_OK(run(wq, sql));
    /* 1,000 small commits that add no part (so that checkpoints come every 10 versions and
     * the table stays under ES_MANIFEST_LOOSE parts: no manifest to read), then 5 inserts
     * inlined in the log: entries and checkpoints are more keys than a page. */
    for (int i = 0; i < 1000; i++)
        CHECK_OK(run(wq, i % 2 ? "DROP TABLE x" : "CREATE TABLE x (k BIGINT)"));
    const int n = 5;
    for (int i = 0; i < n; i++) {
        snprintf(sql, sizeof sql, "INSERT INTO t VALUES (%d, %d)", 1000 + i, i);
        CHECK_OK(run(wq, sql));
    }
    es_objstore *os = NULL;
    es_sql_session *q = NULL;
    char uri[600];
    store_uri(uri, sizeof uri, "rt_long");
    CHECK_OK(es_objstore_open(&os, uri, NULL));
    es_obj_list page = {0};
    CHECK_OK(es_objstore_list(os, "_log/", NULL, 0, &page, NULL));
    CHECK(page.truncated); /* more than a page */
    es_obj_list_reset(&page);
    es_objstore_close(os);

    /* es_scan of a key in the part: hint + LIST; checkpoint, entries after it and the LIST of
     * the tail; probe + .idx; the pages. */
    es_store *s = open_slow("rt_long", &os, &q);
    CHECK_EQ_INT(scan_point(s, 77), 77 * 3);
    printf("fresh point query, %d commits: %" PRId64 " round trips\n", 1000 + n + 3,
           round_trips(os));
    CHECK_EQ_INT(round_trips(os), 4);
    es_sql_session_close(q);
    es_store_close(s);
    /* SQL, the last row committed (inlined in the log): hint + LIST; checkpoint, entries and
     * LIST; the refresh. Every commit is seen. */
    s = open_slow("rt_long", &os, &q);
    CHECK_EQ_INT(first_int(q, "SELECT v FROM t WHERE id = 1004"), n - 1);
    CHECK_EQ_INT(round_trips(os), 3);
    CHECK_EQ_INT(first_int(q, "SELECT count(*) FROM t WHERE v >= 0"), 200 + n);
    es_sql_session_close(q);
    es_store_close(s);
    es_sql_session_close(wq);
    es_store_close(w);
    es_objstore_mem_drop("rt_long");
}

/* Prefetch across parts (scan_ahead.c): full scans of a table of several parts, some with
 * deleted rows, one with every row deleted, rows inlined in the log between them, give every
 * live row once, fully and stopped early, with the latency making the prefetches overlap. */
static void test_parts(void)
{
    printf("== full scans across parts\n");
    es_sql_session *wq = NULL;
    es_store *w = open_writer("rt_parts", &wq);
    CHECK_OK(run(wq, "CREATE TABLE p (id BIGINT, g BIGINT, s TEXT)"));
    int64_t count = 0, sum = 0;
    char *sql = malloc(3002 * 40 + 64);
    for (int part = 0; part < 6 && sql; part++) {
        /* 3,000 rows per part, then 2 rows inlined in the log. */
        for (int half = 0; half < 2; half++) {
            int from = half ? 3000 : 0, to = half ? 3002 : 3000;
            size_t len = (size_t)sprintf(sql, "INSERT INTO p VALUES ");
            for (int i = from; i < to; i++)
                len += (size_t)sprintf(sql + len, "%s(%d, %d, 'x%d')", i > from ? ", " : "",
                                       part * 10000 + i, i % 7, i);
            CHECK_OK(run(wq, sql));
        }
    }
    free(sql);
    CHECK_OK(run(wq, "DELETE FROM p WHERE id >= 20000 AND id < 30000")); /* part 2 whole */
    CHECK_OK(run(wq, "DELETE FROM p WHERE g = 3"));                      /* some rows of each */
    for (int part = 0; part < 6; part++)
        for (int i = 0; i < 3002; i++) {
            if (part != 2 && i % 7 != 3) {
                count++;
                sum += i % 7;
            }
        }
    es_objstore *os = NULL;
    es_sql_session *q = NULL;
    es_store *s = open_slow("rt_parts", &os, &q);
    for (int rep = 0; rep < 3; rep++) { /* fresh, then warm (.idx, .delta cached) */
        /* (no WHERE: the scans that prefetch across parts) */
        int64_t q0 = requests(os), r0 = round_trips(os);
        CHECK_EQ_INT(first_int(q, "SELECT count(s) FROM p"), count);
        CHECK_EQ_INT(first_int(q, "SELECT sum(g) FROM p"), sum);
        if (rep > 0) { /* each statement's read refresh alone: data, .idx and .delta cached */
            CHECK_EQ_INT(requests(os) - q0, 2);
            CHECK_EQ_INT(round_trips(os) - r0, 2);
        }
    }
    /* Every row through es_scan, and a scan released after its first batch. */
    es_scan_options so = ES_SCAN_OPTIONS_INIT;
    const char *cols[] = {"g"};
    so.columns = cols;
    so.n_columns = 1;
    for (int stop = 0; stop < 2; stop++) {
        struct ArrowArrayStream st;
        int64_t n = 0, total = 0;
        CHECK_OK(es_scan(s, "p", &so, &st));
        struct ArrowArray a;
        while (st.get_next(&st, &a) == 0 && a.release) {
            const int64_t *g = (const int64_t *)a.children[0]->buffers[1] + a.children[0]->offset;
            for (int64_t i = 0; i < a.length; i++)
                total += g[i];
            n += a.length;
            a.release(&a);
            if (stop)
                break;
        }
        st.release(&st);
        if (!stop) {
            CHECK_EQ_INT(n, count);
            CHECK_EQ_INT(total, sum);
        } else {
            CHECK(n > 0 && n < count);
        }
    }
    es_sql_session_close(q);
    es_store_close(s);
    es_sql_session_close(wq);
    es_store_close(w);
    es_objstore_mem_drop("rt_parts");
}

int main(void)
{
    const char *env = getenv("ES_TEST_S3_URI");
    s3_base = env && *env ? env : NULL;
    test_point();
    test_long_log();
    test_parts();
    return CHECK_DONE();
}
