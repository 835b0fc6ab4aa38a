/*
 * test_colcache: the handle's cache of decoded column chunks (src/table/colcache.c, used by
 * scan_cache.c and lookup.c).
 *
 * The cache alone: LRU eviction within the budget, a reader's own chunks never evicted by its
 * own inserts (a scan larger than the cache keeps its head, and the next run finds it), an
 * exported chunk alive after eviction and after the cache is freed, and 8 threads getting,
 * putting and reading chunks under a budget of a few chunks (run under ASan by scripts/test).
 *
 * Through SQL on a ZSTD store (two parts of 16 batches; dictionary, nullable and plain
 * columns; scans on 4 threads), differentially against SQLite: every query with the cache off,
 * cold, warm, with a budget smaller than one chunk and with half the warm size, before and
 * after a DELETE and with a secondary index (lookups share the cache). Also: a warm scan makes
 * no request; the bytes held never exceed the budget; a batch a scan returned stays readable
 * (zero-copy into the cache) after everything is evicted and after the store is closed.
 */
#include <pthread.h>

#include "sql_diff.h"
#include "table/colcache.h"
#include "table/table.h"

/* ---------------------------------------------------------- the cache alone */

typedef struct test_col {
    int64_t *v;
    const void *bufs[2];
} test_col;

static void test_col_release(struct ArrowArray *a)
{
    test_col *p = a->private_data;
    free(p->v);
    free(p);
    a->release = NULL;
}

/* An int64 column of n values seed, seed + 1, ... */
static struct ArrowArray int_col(int64_t n, int64_t seed)
{
    struct ArrowArray a;
    memset(&a, 0, sizeof a);
    test_col *p = calloc(1, sizeof *p);
    p->v = malloc((size_t)n * 8);
    for (int64_t i = 0; i < n; i++)
        p->v[i] = seed + i;
    p->bufs[1] = p->v;
    a.length = n;
    a.n_buffers = 2;
    a.buffers = p->bufs;
    a.private_data = p;
    a.release = test_col_release;
    return a;
}

static const es_type int64_type = {ES_TYPE_INT64, 0, 8, 0, 0, ""};
static const char *part_a = "00000000000000aa";

static int col_ok(const struct ArrowArray *a, int64_t n, int64_t seed)
{
    const int64_t *v = a->buffers[1];
    for (int64_t i = 0; i < n; i++)
        if (v[i] != seed + i)
            return 0;
    return 1;
}

static es_array_ref *put(es_colcache *c, int64_t unit, uint64_t token)
{
    struct ArrowArray a = int_col(1000, unit * 1000);
    es_colkey k = {part_a, unit, 0, 0};
    es_array_ref *e = NULL;
    CHECK_OK(es_colcache_put(&e, c, &k, token, &int64_type, &a, NULL));
    CHECK(a.release == NULL);
    return e;
}

static int has(es_colcache *c, int64_t unit)
{
    es_colkey k = {part_a, unit, 0, 0};
    return es_colcache_has(c, &k);
}

static void test_policy(void)
{
    es_colcache *c = NULL;
    es_colcache_stats cs;
    es_array_ref *e = put(NULL, 0, 1); /* no cache: a column of its own */
    CHECK(e && col_ok(es_array_ref_array(e), 1000, 0));
    es_array_ref_unref(e);
    CHECK_OK(es_colcache_new(&c, 1 << 20, NULL));
    es_array_ref_unref(put(c, 0, 1));
    es_colcache_stats_get(c, &cs);
    int64_t one = cs.bytes; /* what one chunk of 1,000 int64 counts */
    CHECK(cs.entries == 1 && one >= 8000 && one < 9000);
    es_colcache_free(c);

    CHECK_OK(es_colcache_new(&c, 3 * one, NULL));
    uint64_t t1 = es_colcache_token(c), t2 = es_colcache_token(c);
    CHECK(t1 != t2 && t1 != 0);
    for (int u = 0; u < 3; u++)
        es_array_ref_unref(put(c, u, t1));
    es_colcache_stats_get(c, &cs);
    CHECK_EQ_INT(cs.entries, 3);
    CHECK_EQ_INT(cs.bytes, 3 * one);
    /* Another reader evicts the least recently used: unit 0, then (1 touched) unit 2. */
    es_array_ref_unref(put(c, 3, t2));
    CHECK(!has(c, 0) && has(c, 1) && has(c, 2) && has(c, 3));
    es_colkey k1 = {part_a, 1, 0, 0};
    uint64_t t3 = es_colcache_token(c);
    e = es_colcache_get(c, &k1, t3);
    CHECK(e && col_ok(es_array_ref_array(e), 1000, 1000));
    es_array_ref_unref(e);
    uint64_t t4 = es_colcache_token(c);
    es_array_ref_unref(put(c, 4, t4));
    CHECK(!has(c, 2) && has(c, 1) && has(c, 3) && has(c, 4));
    /* A reader larger than the cache: it evicts the others, then keeps its first chunks and
     * refuses the rest (they are returned uncached, still usable). */
    uint64_t t5 = es_colcache_token(c);
    for (int u = 10; u < 16; u++) {
        e = put(c, u, t5);
        CHECK(e && col_ok(es_array_ref_array(e), 1000, u * 1000));
        es_array_ref_unref(e);
    }
    CHECK(has(c, 10) && has(c, 11) && has(c, 12) && !has(c, 13) && !has(c, 15));
    CHECK(!has(c, 1) && !has(c, 3) && !has(c, 4));
    es_colcache_stats_get(c, &cs);
    CHECK_EQ_INT(cs.refused, 3);
    CHECK(cs.bytes <= cs.budget);
    /* Its next run finds the head again (no thrashing): 3 hits, 3 refused again. */
    uint64_t t6 = es_colcache_token(c);
    int hits = 0;
    for (int u = 10; u < 16; u++) {
        es_colkey k = {part_a, u, 0, 0};
        e = es_colcache_get(c, &k, t6);
        hits += e != NULL;
        if (!e)
            e = put(c, u, t6);
        es_array_ref_unref(e);
    }
    CHECK_EQ_INT(hits, 3);
    CHECK(has(c, 10) && has(c, 11) && has(c, 12));
    /* A second put of a cached key returns the cached entry. */
    es_array_ref *first = es_colcache_get(c, &(es_colkey){part_a, 10, 0, 0}, t6);
    e = put(c, 10, t6);
    CHECK(e == first);
    es_array_ref_unref(e);
    es_array_ref_unref(first);
    /* An exported chunk outlives its eviction and the cache. */
    struct ArrowArray x1, x2;
    e = es_colcache_get(c, &(es_colkey){part_a, 11, 0, 0}, t6);
    es_array_ref_export(&x1, e);
    es_array_ref_export(&x2, e);
    es_array_ref_unref(e);
    es_colcache_set_budget(c, 0);
    es_colcache_stats_get(c, &cs);
    CHECK(cs.entries == 0 && cs.bytes == 0);
    CHECK(!has(c, 11) && col_ok(&x1, 1000, 11000));
    es_array_ref *e20 = put(c, 20, t6); /* budget 0: nothing is inserted */
    CHECK(e20 && col_ok(es_array_ref_array(e20), 1000, 20000));
    es_colcache_stats_get(c, &cs);
    CHECK_EQ_INT(cs.entries, 0);
    es_colcache_set_budget(c, 3 * one);
    es_array_ref_unref(put(c, 21, t6));
    es_colcache_free(c);
    CHECK(col_ok(&x2, 1000, 11000));
    x1.release(&x1);
    CHECK(col_ok(&x2, 1000, 11000));
    x2.release(&x2);
    es_array_ref_unref(e20);
}

typedef struct stress_arg {
    es_colcache *c;
    int id;
    int bad;
} stress_arg;

static void *stress_run(void *p)
{
    stress_arg *a = p;
    uint64_t r = 0x9E3779B97F4A7C15ull * (uint64_t)(a->id + 1);
    for (int i = 0; i < 3000; i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        int64_t u = (int64_t)(r >> 33) % 64;
        uint64_t token = es_colcache_token(a->c);
        es_colkey k = {part_a, u, 0, 0};
        es_array_ref *e = es_colcache_get(a->c, &k, token);
        if (!e) {
            struct ArrowArray col = int_col(256, u * 1000);
            if (es_colcache_put(&e, a->c, &k, token, &int64_type, &col, NULL) != ES_OK)
                a->bad++;
        }
        struct ArrowArray x;
        es_array_ref_export(&x, e);
        es_array_ref_unref(e);
        if (!col_ok(&x, 256, u * 1000))
            a->bad++;
        if (i % 500 == 0) /* resize while others work */
            es_colcache_set_budget(a->c, (a->id % 2 ? 4 : 12) * 2200);
        x.release(&x);
        es_colcache_stats st;
        es_colcache_stats_get(a->c, &st);
        if (st.bytes > st.budget)
            a->bad++;
    }
    return NULL;
}

static void test_threads(void)
{
    es_colcache *c = NULL;
    CHECK_OK(es_colcache_new(&c, 8 * 2200, NULL));
    pthread_t th[8];
    stress_arg args[8];
    for (int i = 0; i < 8; i++) {
        args[i] = (stress_arg){c, i, 0};
        pthread_create(&th[i], NULL, stress_run, &args[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ_INT(args[i].bad, 0);
    }
    es_colcache_stats cs;
    es_colcache_stats_get(c, &cs);
    CHECK(cs.hits > 0 && cs.evictions > 0 && cs.bytes <= cs.budget);
    es_colcache_free(c);
}

/* ------------------------------------------------------------ through SQL */

static const char *queries[] = {
    "SELECT category, count(*), sum(amount), avg(amount) FROM t GROUP BY category ORDER BY 1 "
    "NULLS FIRST",
    "SELECT user_id, count(*) FROM t GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 5",
    "SELECT count(*) FROM t WHERE note LIKE '%ab%'",
    "SELECT count(*), sum(amount) FROM t WHERE user_id = 42",
    "SELECT min(amount), max(amount), count(note), min(note) FROM t WHERE user_id < 100",
    "SELECT id, category, note FROM t WHERE category = 'cat7' AND amount > 400 ORDER BY id",
    "SELECT sum(amount), count(*) FROM t WHERE id BETWEEN 5000 AND 5999",
    "SELECT category, note, amount FROM t WHERE id = 12345",
    "SELECT id, user_id, category, amount, note FROM t WHERE id % 101 = 7 ORDER BY id",
};
#define N_QUERIES (sizeof queries / sizeof *queries)

static void check_queries(const char *when)
{
    for (size_t i = 0; i < N_QUERIES; i++) {
        char *a = es_rows(queries[i]), *b = sq_rows(queries[i]);
        char what[600];
        snprintf(what, sizeof what, "%s: %s", when, queries[i]);
        diff_same(what, a, b);
        free(a);
        free(b);
        int64_t bytes = 0;
        es_store_cache_usage(store, &bytes, NULL);
        CHECK(bytes <= es_store_cache_limit(store));
    }
}

static void run_both(const char *sql)
{
    if (es_run(sql, NULL) != 0) {
        fprintf(stderr, "%s: %s\n", sql, es_sql_errmsg(ses));
        CHECK(0);
    }
    CHECK(sq_run(sql, NULL) == 0);
}

static void insert_rows(int64_t from, int64_t n)
{
    sbuf s = {0};
    sb_printf(&s, "INSERT INTO t VALUES ");
    for (int64_t id = from; id < from + n; id++) {
        char note[32];
        int len = rn(12);
        for (int i = 0; i < len; i++)
            note[i] = (char)('a' + rn(6));
        note[len] = 0;
        sb_printf(&s, "%s(%lld, %d, 'cat%d', %.2f, ", id > from ? ", " : "", (long long)id, rn(500),
                  rn(20), (double)rn(2000) / 4);
        if (rn(7) == 0)
            sb_printf(&s, "NULL)");
        else
            sb_printf(&s, "'%s')", note);
    }
    run_both(s.p);
    free(s.p);
}

static es_scan_stats last_stats; /* of the last scan_amount */

/* A scan of amount and category: requests and bytes fetched, and the sum of amount. */
static double scan_amount(int64_t *requests, int64_t *bytes)
{
    const char *cols[] = {"amount", "category"};
    es_scan_stats stats;
    es_scan_options o = ES_SCAN_OPTIONS_INIT;
    o.columns = cols;
    o.n_columns = 2;
    o.stats = &stats;
    struct ArrowArrayStream s;
    double sum = 0;
    CHECK_OK(es_scan(store, "t", &o, &s));
    for (;;) {
        struct ArrowArray a;
        if (s.get_next(&s, &a) != 0 || !a.release)
            break;
        const double *v = a.children[0]->buffers[1];
        for (int64_t i = 0; i < a.length; i++)
            sum += v[a.children[0]->offset + i];
        a.release(&a);
    }
    s.release(&s);
    *requests = stats.requests;
    *bytes = stats.bytes_fetched;
    last_stats = stats;
    return sum;
}

/* The first batch of a scan of amount, held (the caller releases it). */
static struct ArrowArray first_batch(void)
{
    const char *cols[] = {"amount"};
    es_scan_options o = ES_SCAN_OPTIONS_INIT;
    o.columns = cols;
    o.n_columns = 1;
    struct ArrowArrayStream s;
    struct ArrowArray a;
    memset(&a, 0, sizeof a);
    CHECK_OK(es_scan(store, "t", &o, &s));
    CHECK(s.get_next(&s, &a) == 0 && a.release);
    s.release(&s);
    return a;
}

/* A batch returned by a scan points into the cache; evicting everything (and closing the
 * store) leaves it readable until it is released. */
static void test_hold_batch(void)
{
    const char *cols[] = {"amount", "note"};
    es_scan_options o = ES_SCAN_OPTIONS_INIT;
    o.columns = cols;
    o.n_columns = 2;
    struct ArrowArrayStream s;
    struct ArrowArray a, b;
    CHECK_OK(es_scan(store, "t", &o, &s));
    CHECK(s.get_next(&s, &a) == 0 && a.release);
    CHECK(s.get_next(&s, &b) == 0 && b.release);
    int64_t n = a.length;
    double *copy = malloc((size_t)n * 8);
    memcpy(copy, (const double *)a.children[0]->buffers[1] + a.children[0]->offset, (size_t)n * 8);
    es_colcache_stats cs;
    es_colcache_stats_get(store->colcache, &cs);
    CHECK(cs.entries > 0);
    CHECK_OK(es_store_set_cache_limit(store, 0)); /* evicts everything */
    es_colcache_stats_get(store->colcache, &cs);
    CHECK_EQ_INT(cs.entries, 0);
    CHECK(memcmp(copy, (const double *)a.children[0]->buffers[1] + a.children[0]->offset,
                 (size_t)n * 8) == 0);
    int64_t rows = a.length + b.length;
    for (;;) { /* the rest of the scan (its window's chunks were pinned) */
        struct ArrowArray c;
        if (s.get_next(&s, &c) != 0 || !c.release)
            break;
        rows += c.length;
        c.release(&c);
    }
    char *want = sq_rows("SELECT count(*) FROM t");
    CHECK_EQ_INT(rows, atoll(want));
    free(want);
    s.release(&s);
    a.release(&a);
    CHECK_OK(es_store_set_cache_limit(store, -1));
    /* Held across the store's close. */
    CHECK_OK(es_scan(store, "t", &o, &s));
    CHECK(s.get_next(&s, &a) == 0 && a.release);
    s.release(&s);
    memcpy(copy, (const double *)a.children[0]->buffers[1] + a.children[0]->offset, (size_t)n * 8);
    es_sql_session_close(ses);
    es_store_close(store);
    ses = NULL;
    store = NULL;
    CHECK(memcmp(copy, (const double *)a.children[0]->buffers[1] + a.children[0]->offset,
                 (size_t)n * 8) == 0);
    a.release(&a);
    b.release(&b);
    free(copy);
}

static void test_sql(void)
{
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.batch_rows = 500;
    CHECK_OK(es_store_open(&store, "mem://test_colcache", &o));
    CHECK_OK(es_sql_session_open(&ses, store));
    CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK);
    CHECK_OK(es_store_set_threads(store, 4));
    CHECK(es_store_cache_limit(store) == es_store_memory_limit(store) / 4);
    run_both("CREATE TABLE t (id BIGINT PRIMARY KEY, user_id INT, category VARCHAR, amount DOUBLE, "
             "note VARCHAR)");
    insert_rows(0, 8000);
    insert_rows(8000, 8000);

    for (int round = 0; round < 2; round++) {
        const char *when[] = {"", " after a delete and an index"};
        char w[200];
        CHECK_OK(es_store_set_cache_limit(store, 0));
        snprintf(w, sizeof w, "cache off%s", when[round]);
        check_queries(w);
        int64_t bytes = -1, chunks = -1;
        es_store_cache_usage(store, &bytes, &chunks);
        CHECK(bytes == 0 && chunks == 0);

        CHECK_OK(es_store_set_cache_limit(store, -1));
        snprintf(w, sizeof w, "cold%s", when[round]);
        check_queries(w);
        es_store_cache_usage(store, &bytes, &chunks);
        CHECK(chunks > 0);
        snprintf(w, sizeof w, "warm%s", when[round]);
        check_queries(w);
        int64_t warm = 0;
        es_store_cache_usage(store, &warm, &chunks);
        CHECK(warm >= bytes);

        /* A warm scan fetches no data (after the delete: only the parts' deletion vectors). */
        int64_t req = -1, fetched = -1, req2 = -1, fetched2 = -1;
        double s1 = scan_amount(&req, &fetched);
        double s2 = scan_amount(&req2, &fetched2);
        CHECK(s1 == s2);
        if (round == 0) { /* zero-copy: two batches alive at once share the cached chunk */
            struct ArrowArray a1 = first_batch(), a2 = first_batch();
            CHECK(a1.release && a2.release &&
                  a1.children[0]->buffers[1] == a2.children[0]->buffers[1]);
            a1.release(&a1);
            a2.release(&a2);
        }
        /* (after the delete too: the handle keeps the parts' deletion vectors) */
        CHECK_EQ_INT(req2, 0);
        CHECK_EQ_INT(fetched2, 0);
        /* Every chunk from the cache: two columns of each batch, at least their compressed
         * size not fetched. */
        CHECK(last_stats.cache_chunks > 0 && last_stats.cache_chunks % 2 == 0);
        CHECK(last_stats.cache_bytes > 0);
        /* EXPLAIN ANALYZE says so: the second run of a query takes its chunks from the cache
         * and fetches no data. */
        for (int k = 0; k < 2; k++) {
            char *plan = es_rows("EXPLAIN ANALYZE SELECT sum(amount) FROM t");
            const char *cc = strstr(plan, "column cache: ");
            long long n = cc ? strtoll(cc + 14, NULL, 10) : -1;
            if (k == 1) {
                CHECK(n > 0 && strstr(plan, "requests: 0, bytes fetched: 0"));
                if (n <= 0)
                    fprintf(stderr, "EXPLAIN ANALYZE: %s\n", plan);
            }
            free(plan);
        }
        /* Plain EXPLAIN plans the same: the cached chunks counted as such, no data request. */
        {
            char *an = es_rows("EXPLAIN ANALYZE SELECT sum(amount) FROM t");
            char *plan = es_rows("EXPLAIN SELECT sum(amount) FROM t");
            const char *cc = an ? strstr(an, "column cache: ") : NULL;
            const char *pc = plan ? strstr(plan, "planned from the column cache: ") : NULL;
            long long n = cc ? strtoll(cc + 14, NULL, 10) : -1;
            long long m = pc ? strtoll(pc + 31, NULL, 10) : -2;
            CHECK(n > 0 && m == n);
            CHECK(plan && strstr(plan, " 0 requests, 0 bytes of .data"));
            if (n <= 0 || m != n || !strstr(plan, " 0 requests, 0 bytes of .data"))
                fprintf(stderr, "EXPLAIN: %s\nEXPLAIN ANALYZE: %s\n", plan, an);
            free(plan);
            free(an);
        }

        CHECK_OK(es_store_set_cache_limit(store, 100)); /* smaller than any chunk */
        snprintf(w, sizeof w, "tiny budget%s", when[round]);
        check_queries(w);
        es_store_cache_usage(store, &bytes, &chunks);
        CHECK(bytes == 0 && chunks == 0);

        CHECK_OK(es_store_set_cache_limit(store, warm / 2));
        snprintf(w, sizeof w, "half budget%s", when[round]);
        check_queries(w);
        es_colcache_stats cs0, cs1;
        es_colcache_stats_get(store->colcache, &cs0);
        CHECK(cs0.bytes <= warm / 2 && cs0.entries > 0);
        check_queries(w); /* the second run finds what the first kept */
        es_colcache_stats_get(store->colcache, &cs1);
        CHECK(cs1.hits > cs0.hits && cs1.bytes <= warm / 2);
        printf("%s: %lld chunks, %lld bytes held of %lld (warm: %lld); hits %lld, misses %lld, "
               "refused %lld, evicted %lld\n",
               w, (long long)cs1.entries, (long long)cs1.bytes, (long long)cs1.budget,
               (long long)warm, (long long)cs1.hits, (long long)cs1.misses, (long long)cs1.refused,
               (long long)cs1.evictions);
        CHECK_OK(es_store_set_cache_limit(store, -1));
        if (round == 0) {
            run_both("DELETE FROM t WHERE id % 17 = 3 OR user_id = 7");
            CHECK(es_run("CREATE INDEX t_user ON t (user_id)", NULL) == 0);
        }
    }
    test_hold_batch();
}

int main(void)
{
    test_policy();
    test_threads();
    test_sql();
    (void)diff_open; /* the store is opened with larger batches here */
    (void)diff_keep;
    (void)diff_pick;
    return diff_close();
}
