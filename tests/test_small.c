/*
 * test_small: durable small writes (issue 13): rows inlined in the log (inline parts) read,
 * deleted, updated, checkpointed, time-travelled and flushed into parts; count(*), min and max
 * answered from the log's statistics (checked against a scan); group commit with 8 threads and
 * 8 processes inserting single rows into one table (every acknowledged row present once, the
 * versions without a hole); kill -9 of a writing shell at random moments (the crash and fault
 * loops through the fault store are test_small_crash.c): every acknowledged write survives
 * exactly once, nothing unacknowledged half-appears.
 * With ES_TEST_STORE_URI (the loopback Ceph RGW, tests/s3.cmake) the store-level parts run
 * there.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>

#include "delete_util.h"
#include "expstore/sql.h"
#include "small_util.h"

static int64_t objects(es_store *s, const char *suffix)
{
    char last[256];
    return count_objects(s->os, suffix, last, sizeof last);
}

/* ------------------------------------------------------------ inline rows */

static void test_inline(const char *uri)
{
    es_store *s = open_opts(uri, 0);
    if (!s)
        return;
    create_small(s, "inl");
    model m;
    memset(&m, 0, sizeof m);
    int64_t data0 = objects(s, ".data");
    /* Single-row inserts, out of key order, and a few of several rows. */
    for (int64_t k = 0; k < 40; k++) {
        int64_t id = (k * 37) % 101;
        CHECK_OK(insert_small(s, "inl", id, 1, 1));
        model_insert(&m, id);
    }
    CHECK_OK(insert_small(s, "inl", 200, 10, 3));
    for (int64_t i = 0; i < 10; i++)
        model_insert(&m, 200 + 3 * i);
    CHECK_EQ_INT(objects(s, ".data"), data0); /* all inline: no part object */
    CHECK(same_state(s, "inl", -1, &m));
    int64_t v_before = version_of(s);
    /* Deletes and updates of inlined rows (deletion vectors on inline parts). */
    int64_t del[3] = {37, 200, 203};
    int64_t n = 0;
    CHECK_OK(delete_keys(s, "inl", del, 3, &n));
    CHECK_EQ_INT(n, 3);
    for (int i = 0; i < 3; i++)
        m.present[del[i]] = 0;
    es_expr *e = es_expr_cmp("id", ES_LT, vint(20));
    int64_t upd = 0;
    small_update bump = {1, NULL, 0, ES_OK, 0}; /* v = v + 1 */
    CHECK_OK(es_update(s, "inl", e, small_update_fn, &bump, &upd));
    es_expr_free(e);
    int64_t want_upd = 0;
    for (int64_t id = 0; id < 20; id++)
        if (m.present[id]) {
            m.v[id]++;
            want_upd++;
        }
    CHECK_EQ_INT(upd, want_upd);
    CHECK(same_state(s, "inl", -1, &m));
    CHECK_EQ_INT(live_rows(s, "inl"), 50 - 3);
    /* Past the next checkpoint: it holds the inline parts (one add_inline) and their vectors. */
    for (int64_t k = 0; k < 10; k++) {
        CHECK_OK(insert_small(s, "inl", 300 + k, 1, 1));
        model_insert(&m, 300 + k);
    }
    /* A fresh handle reads the same (from the checkpoints and entries written so far). */
    es_store *r = open_opts(uri, 0);
    CHECK(r && same_state(r, "inl", -1, &m));
    /* count(*), min and max from the statistics agree with the rows. */
    es_sql_session *q = NULL;
    CHECK_OK(es_sql_session_open(&q, r));
    es_sql_result res = ES_SQL_RESULT_INIT;
    CHECK_OK(es_sql_exec(q, "FLUSH inl", &res));
    CHECK_EQ_INT(res.changes, 50 - 3 + 10);
    es_sql_result_reset(&res);
    es_sql_session_close(q);
    es_store_close(r);
    CHECK_EQ_INT(objects(s, ".data"), data0 + 1); /* one part, sorted, with its .idx */
    CHECK(same_state(s, "inl", -1, &m));
    CHECK_EQ_INT(n_parts(s, "inl"), 1);
    /* Time travel before the flush still reads the rows from the log. */
    model old;
    memset(&old, 0, sizeof old);
    for (int64_t k = 0; k < 40; k++)
        model_insert(&old, (k * 37) % 101);
    for (int64_t i = 0; i < 10; i++)
        model_insert(&old, 200 + 3 * i);
    CHECK(same_state(s, "inl", v_before, &old));
    /* Nothing left to flush: no new version. */
    int64_t v = version_of(s), rows = -1;
    CHECK_OK(es_table_flush(s, "inl", &rows));
    CHECK_EQ_INT(rows, 0);
    CHECK_EQ_INT(version_of(s), v);
    /* An automatic flush past flush_rows. */
    es_store *a = open_opts(uri, 5);
    for (int64_t k = 0; k < 6; k++) {
        CHECK_OK(insert_small(a, "inl", 1000 + k, 1, 1));
        model_insert(&m, 1000 + k);
    }
    CHECK_EQ_INT(objects(s, ".data"), data0 + 2);
    CHECK(same_state(a, "inl", -1, &m));
    es_store_close(a);
    es_store_close(s);
}

/* ------------------------------------------------------ statistics answers */

static int64_t sql_int(es_sql_session *q, const char *sql, int col, char *text, size_t cap)
{
    es_sql_result res = ES_SQL_RESULT_INIT;
    int64_t out = INT64_MIN;
    if (text)
        text[0] = 0;
    if (es_sql_exec(q, sql, &res) != ES_OK) {
        fprintf(stderr, "%s: %s\n", sql, es_sql_errmsg(q));
        return out;
    }
    struct ArrowSchema sc;
    struct ArrowArray arr;
    if (res.stream.get_schema(&res.stream, &sc) == 0) {
        while (res.stream.get_next(&res.stream, &arr) == 0 && arr.release) {
            es_array_view v;
            if (es_array_view_init(&v, &sc, &arr, NULL) == ES_OK) {
                for (int64_t i = 0; i < v.length; i++) {
                    if (text) {
                        size_t k = strlen(text);
                        int64_t len = 0;
                        const uint8_t *p = es_view_get_bytes(&v.children[col], i, &len);
                        snprintf(text + k, cap - k, "%.*s\n", (int)len, (const char *)p);
                    } else if (!es_view_is_null(&v.children[col], i)) {
                        out = es_view_get_int(&v.children[col], i);
                    }
                }
                es_array_view_reset(&v);
            }
            arr.release(&arr);
        }
        sc.release(&sc);
    }
    es_sql_result_reset(&res);
    return out;
}

static void test_stats(const char *uri)
{
    es_store *s = open_opts(uri, 0);
    if (!s)
        return;
    create_small(s, "st");
    CHECK_OK(insert_small(s, "st", 10, 5, 7)); /* 10..38 */
    CHECK_OK(insert_small(s, "st", 3, 1, 1));
    CHECK_OK(es_table_flush(s, "st", NULL));
    CHECK_OK(insert_small(s, "st", 500, 1, 1)); /* inline */
    es_sql_session *q = NULL;
    CHECK_OK(es_sql_session_open(&q, s));
    char plan[4096];
    sql_int(q, "EXPLAIN SELECT count(*), min(id), max(id), max(s) FROM st", 0, plan, sizeof plan);
    CHECK(strstr(plan, "answered from the log's statistics: 7 rows, 0 requests") != NULL);
    es_objstore_reset_stats(s->os);
    CHECK_EQ_INT(sql_int(q, "SELECT count(*) FROM st", 0, NULL, 0), 7);
    CHECK_EQ_INT(sql_int(q, "SELECT min(id) FROM st", 0, NULL, 0), 3);
    CHECK_EQ_INT(sql_int(q, "SELECT max(id) + 1 FROM st", 0, NULL, 0), 501);
    CHECK_EQ_INT(sql_int(q, "SELECT min(v) FROM st", 0, NULL, 0), 3);
    es_objstore_stats os;
    es_objstore_get_stats(s->os, &os);
    /* Refreshes only: one GET of the next entry each (absent: no bytes), no data. */
    CHECK(os.requests[ES_OP_GET] <= 4);
    CHECK_EQ_INT(os.bytes_in[ES_OP_GET], 0);
    /* After a delete the minimum may be gone: a scan answers, and rightly. */
    int64_t k = 3, n = 0;
    CHECK_OK(delete_keys(s, "st", &k, 1, &n));
    k = 500;
    CHECK_OK(delete_keys(s, "st", &k, 1, &n));
    sql_int(q, "EXPLAIN SELECT min(id) FROM st", 0, plan, sizeof plan);
    CHECK(strstr(plan, "SCAN st") != NULL);
    CHECK_EQ_INT(sql_int(q, "SELECT min(id) FROM st", 0, NULL, 0), 10);
    CHECK_EQ_INT(sql_int(q, "SELECT max(id) FROM st", 0, NULL, 0), 38);
    CHECK_EQ_INT(sql_int(q, "SELECT count(*) FROM st", 0, NULL, 0), 5);
    sql_int(q, "EXPLAIN SELECT count(*) FROM st", 0, plan, sizeof plan);
    CHECK(strstr(plan, "answered from the log's statistics: 5 rows") != NULL);
    es_sql_session_close(q);
    es_store_close(s);
}

/* ---------------------------------------------------- concurrent inserters */

#define WRITERS 8

typedef struct writer {
    const char *uri, *table;
    int id, n;
    int async;         /* es_store_set_async, and es_store_sync at the end (a failure counts) */
    uint64_t acked[4]; /* bit k: insert k acknowledged */
    int64_t failed;
    int same_keys;  /* every writer inserts keys 0..n-1 (a key acknowledged once in all) */
    int64_t exists; /* of failed: ES_EXISTS (the key is another writer's) */
    pthread_barrier_t *bar;
} writer;

/* A writer (a thread, or a forked process): a handle of its own, then w->n single-row inserts
 * into w->table once the barrier (if any) releases every writer. */
static void *write_rows(void *arg)
{
    writer *w = arg;
    es_store *s = NULL;
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.flush_rows = 64; /* flushes race with the inserts of the others */
    if (es_store_open(&s, w->uri, w->async ? NULL : &o) != ES_OK) {
        w->failed = w->n;
        if (w->bar)
            pthread_barrier_wait(w->bar);
        es_store_close(s);
        return NULL;
    }
    if (w->async)
        es_store_set_async(s, 1);
    if (w->bar)
        pthread_barrier_wait(w->bar);
    for (int k = 0; k < w->n; k++) {
        es_status st = insert_small(s, w->table, w->same_keys ? k : (int64_t)w->id * 200 + k, 1, 1);
        if (st == ES_OK)
            w->acked[k / 64] |= 1ull << (k % 64);
        else
            w->failed++;
        w->exists += st == ES_EXISTS;
    }
    if (w->async)
        w->failed += es_store_sync(s, NULL) != ES_OK;
    es_store_close(s);
    return NULL;
}

/* Every acknowledged row present once, nothing else; every version from v0 to the end
 * readable (no hole), row counts never decreasing. */
static void check_writers(es_store *s, const writer *w, int64_t v0)
{
    model m;
    memset(&m, 0, sizeof m);
    int64_t acked = 0;
    for (int i = 0; i < WRITERS; i++)
        for (int k = 0; k < w[i].n; k++)
            if (w[i].acked[k / 64] >> (k % 64) & 1) {
                model_insert(&m, (int64_t)w[i].id * 200 + k);
                acked++;
            }
    CHECK(same_state(s, "conc", -1, &m));
    CHECK_EQ_INT(live_rows(s, "conc"), acked);
    int64_t v1 = version_of(s), prev = -1, holes = 0;
    for (int64_t v = v0; v <= v1; v++) {
        es_table_info info;
        if (es_table_describe(s, "conc", v, &info) != ES_OK) {
            holes++;
            continue;
        }
        CHECK(info.n_rows >= prev);
        prev = info.n_rows;
        es_table_info_reset(&info);
    }
    CHECK_EQ_INT(holes, 0);
    CHECK_EQ_INT(prev, acked);
    printf("%d writers: %lld rows acknowledged in %lld versions\n", WRITERS, (long long)acked,
           (long long)(v1 - v0));
}

/* Table `table` (re)created with primary key `key` (or none; *v0: the version then), then
 * WRITERS threads each running write_rows on its w[i] (n inserts; same_keys, async), released
 * together by a barrier, and joined. Returns the failures of all. */
static int64_t run_writers(int64_t *v0, es_store *s, const char *uri, const char *table,
                           const char *key, writer *w, int n, int same_keys, int async)
{
    create_small_key(s, table, key);
    *v0 = version_of(s);
    pthread_t th[WRITERS];
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, WRITERS);
    for (int i = 0; i < WRITERS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].uri = uri;
        w[i].table = table;
        w[i].async = async;
        w[i].id = i + 1;
        w[i].n = n;
        w[i].bar = &bar;
        w[i].same_keys = same_keys;
        pthread_create(&th[i], NULL, write_rows, &w[i]);
    }
    int64_t failed = 0;
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(th[i], NULL);
        failed += w[i].failed;
    }
    pthread_barrier_destroy(&bar);
    return failed;
}

static void test_threads(const char *uri, int n)
{
    es_store *s = open_opts(uri, 0);
    if (!s)
        return;
    int64_t v0 = 0;
    writer w[WRITERS];
    int64_t failed = run_writers(&v0, s, uri, "conc", "id", w, n, 0, 0);
    CHECK_EQ_INT(failed, 0); /* appends never conflict */
    check_writers(s, w, v0);
    es_store_close(s);
}

/* Group commit of inserts into a table with a primary key, all writers inserting the same
 * keys at the same moment: each key is acknowledged to exactly one of them (the others get
 * ES_EXISTS, whether the winner was a member before them in the same entry or an entry
 * before), and the table holds each key once. */
static void test_same_keys(const char *uri, int n)
{
    es_store *s = open_opts(uri, 0);
    if (!s)
        return;
    int64_t v0 = 0;
    writer w[WRITERS];
    int64_t failed = run_writers(&v0, s, uri, "conc", "id", w, n, 1, 0), exists = 0;
    for (int i = 0; i < WRITERS; i++)
        exists += w[i].exists;
    CHECK_EQ_INT(exists, failed); /* nothing but duplicates fails */
    CHECK_EQ_INT(failed, (int64_t)(WRITERS - 1) * n);
    model m;
    memset(&m, 0, sizeof m);
    for (int k = 0; k < n; k++) {
        int owners = 0;
        for (int i = 0; i < WRITERS; i++)
            owners += (int)(w[i].acked[k / 64] >> (k % 64) & 1);
        CHECK_EQ_INT(owners, 1);
        model_insert(&m, k);
    }
    CHECK(same_state(s, "conc", -1, &m));
    printf("same keys: %d writers x %d keys, %lld acknowledged in %lld versions\n", WRITERS, n,
           (long long)(WRITERS * n - failed), (long long)(version_of(s) - v0));
    es_store_close(s);
}

/* Asynchronous commit, 8 threads (a handle each, es_store_set_async): every insert returns
 * at once, es_store_sync then reports all of them durable, and the committer put several
 * sessions' inserts in one entry. */
static void test_async(const char *uri, int n)
{
    es_store *s = open_opts(uri, 0);
    if (!s)
        return;
    for (int keyed = 0; keyed < 2; keyed++) { /* without a key, then with one */
        int64_t v0 = 0;
        writer w[WRITERS];
        CHECK_EQ_INT(run_writers(&v0, s, uri, "asy", keyed ? "id" : NULL, w, n, 0, 1), 0);
        model m;
        memset(&m, 0, sizeof m);
        for (int i = 0; i < WRITERS; i++)
            for (int k = 0; k < n; k++)
                model_insert(&m, (int64_t)w[i].id * 200 + k);
        CHECK(same_state(s, "asy", -1, &m));
        int64_t versions = version_of(s) - v0;
        CHECK(versions < WRITERS * n); /* entries shared by several inserts */
        printf("async%s: %d writers x %d inserts in %lld versions\n", keyed ? " (key)" : "",
               WRITERS, n, (long long)versions);
        CHECK_OK(es_table_drop(s, "asy", 0));
    }
    es_store_close(s);
}

/* An asynchronous insert whose commit fails: accepted at once, reported by es_store_sync (and
 * by nothing else), absent from the store; the handle then writes again. */
static void test_async_failure(void)
{
    es_objstore *inner = NULL, *fw = NULL;
    es_fault_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.op = ES_OP_PUT;
    cfg.fail_at = 1;
    cfg.persist = 1;
    es_store *s = fault_store("small_afail", "af", NULL, &inner, &fw, NULL, &cfg);
    CHECK_OK(es_store_set_async(s, 1));
    CHECK_OK(insert_small(s, "af", 1, 3, 1)); /* accepted, not durable */
    int64_t v = 0;
    CHECK_EQ_INT(es_store_sync(s, &v), ES_IO);
    CHECK_EQ_INT(v, -1);
    CHECK(strstr(es_store_errmsg(s), "_log/") != NULL);
    CHECK_OK(es_store_sync(s, &v)); /* reported once */
    CHECK_OK(es_objstore_fault_set(fw, NULL));
    CHECK_EQ_INT(live_rows(s, "af"), 0);
    CHECK_OK(insert_small(s, "af", 10, 3, 1));
    CHECK_OK(es_store_sync(s, &v));
    CHECK(v > 0);
    CHECK_EQ_INT(live_rows(s, "af"), 3);
    /* SQL: SYNC waits for the session's asynchronous inserts and fails with the first failure,
     * once. */
    es_sql_session *q = NULL;
    CHECK_OK(es_sql_session_open(&q, s));
    es_sql_result res = ES_SQL_RESULT_INIT;
    CHECK_OK(es_objstore_fault_set(fw, &cfg));
    CHECK_OK(es_sql_exec(q, "INSERT INTO af VALUES (20, 20, 'r20')", &res));
    es_sql_result_reset(&res);
    CHECK_EQ_INT(es_sql_exec(q, "SYNC", &res), ES_IO);
    CHECK(strstr(es_sql_errmsg(q), "_log/") != NULL);
    es_sql_result_reset(&res);
    CHECK_OK(es_sql_exec(q, "SYNC", &res));
    es_sql_result_reset(&res);
    CHECK_OK(es_objstore_fault_set(fw, NULL));
    CHECK_OK(es_sql_exec(q, "INSERT INTO af VALUES (21, 21, 'r21')", &res));
    es_sql_result_reset(&res);
    CHECK_OK(es_sql_exec(q, "sync;", &res));
    CHECK(strcmp(res.kind, "SYNC") == 0);
    es_sql_result_reset(&res);
    CHECK_EQ_INT(sql_int(q, "SELECT count(*) FROM af", 0, NULL, 0), 4);
    es_sql_session_close(q);
    es_store_close(s);
    es_objstore_close(fw);
    es_objstore_close(inner);
    es_objstore_mem_drop("small_afail");
}

/* Crash after the Nth put with asynchronous inserts of 3 rows each and an es_store_sync every
 * 4 inserts: reopened, the store holds every insert es_store_sync reported, and each of the
 * others whole or not at all. */
static void test_async_crash(void)
{
    enum { OPS = 24 };
    int64_t crashes = 0, kept_unsynced = 0;
    for (int64_t at = 1;; at++) {
        es_objstore *inner = NULL, *fw = NULL;
        es_open_options o = ES_OPEN_OPTIONS_INIT;
        es_fault_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.crash_after_put = at;
        cfg.op = -1;
        es_store *s = fault_store("small_acrash", "ac", NULL, &inner, &fw, &o, &cfg);
        CHECK_OK(es_store_set_async(s, 1));
        int synced = 0, crashed = 0; /* inserts 0..synced-1 reported durable */
        for (int k = 0; k < OPS && !crashed; k++) {
            es_status st = insert_small(s, "ac", 10 * k, 3, 1);
            if (st == ES_OK && k % 4 == 3 && es_store_sync(s, NULL) == ES_OK)
                synced = k + 1;
            crashed = es_objstore_fault_crashed(fw);
        }
        (void)es_store_sync(s, NULL);
        crashed = es_objstore_fault_crashed(fw);
        es_store_close(s);
        es_objstore_close(fw);
        if (!crashed) {
            es_objstore_close(inner);
            break;
        }
        crashes++;
        es_store *r = NULL;
        CHECK_OK(es_store_open_objstore(&r, inner, 0, &o, NULL));
        char *state = r ? table_state(r, "ac", -1) : NULL; /* "id|v|r<id>" lines */
        int count[OPS];
        memset(count, 0, sizeof count);
        int bad = state == NULL;
        for (char *line = state; line && *line;) {
            long long id = strtoll(line, NULL, 10);
            if (id < 0 || id / 10 >= OPS || id % 10 > 2)
                bad++;
            else
                count[id / 10]++;
            char *nl = strchr(line, '\n');
            line = nl ? nl + 1 : NULL;
        }
        for (int k = 0; k < OPS; k++) {
            bad += count[k] != 0 && count[k] != 3; /* never half an insert */
            bad += k < synced && count[k] != 3;    /* never a lost insert that was waited for */
            kept_unsynced += k >= synced && count[k] == 3;
        }
        CHECK_EQ_INT(bad, 0);
        free(state);
        es_store_close(r);
        es_objstore_close(inner);
    }
    CHECK(crashes >= 3);
    printf("async crash points: %lld, %lld unwaited inserts survived\n", (long long)crashes,
           (long long)kept_unsynced);
    es_objstore_mem_drop("small_acrash");
}

/* Entries written before the short add_inline (format 3, the whole stream in "ipc") still
 * read: one is made from the stream of an insert and committed by hand after it. The short
 * form is what a one-row insert writes now (format 4). */
static void test_old_inline(void)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    es_objstore_mem_drop("small_old");
    es_store *s = open_opts("mem://small_old", 0);
    if (!s)
        return;
    create_small_key(s, "old", NULL);
    CHECK_OK(insert_small(s, "old", 7, 1, 1));
    int64_t v = version_of(s);
    es_blob *raw = NULL;
    char key[64];
    es_log_key(key, sizeof key, v, 0);
    CHECK_OK(es_objstore_get(s->os, key, 0, UINT64_MAX, &raw, NULL));
    CHECK(raw && strstr((const char *)raw->data, "{\"format\":4,") == (const char *)raw->data);
    CHECK(raw && memmem(raw->data, raw->size, "\"fields\":[[", 10) != NULL);
    es_blob_unref(raw);
    es_entry e;
    CHECK_OK(es_log_read_entry(&e, s->os, v, 0, NULL));
    const es_blob *ipc = e.actions[0].part->inline_ipc; /* the whole stream, rebuilt */
    size_t cap = 512 + ipc->size * 2;
    char *j = malloc(cap);
    int len = snprintf(j, cap,
                       "{\"format\":3,\"kind\":\"commit\",\"version\":%lld,\"txn\":"
                       "\"00112233445566ff\",\"time_ms\":1,\"actions\":[\n{\"op\":\"add_inline\","
                       "\"table_id\":\"%s\",\"part\":\"0000000100000002\",\"rows\":1,\"ipc\":\"",
                       (long long)v + 1, e.actions[0].table_id);
    for (size_t i = 0; i < ipc->size; i += 3) {
        uint32_t w = (uint32_t)ipc->data[i] << 16;
        w |= i + 1 < ipc->size ? (uint32_t)ipc->data[i + 1] << 8 : 0;
        w |= i + 2 < ipc->size ? ipc->data[i + 2] : 0;
        j[len++] = b64[w >> 18];
        j[len++] = b64[w >> 12 & 63];
        j[len++] = i + 1 < ipc->size ? b64[w >> 6 & 63] : '=';
        j[len++] = i + 2 < ipc->size ? b64[w & 63] : '=';
    }
    len += snprintf(j + len, cap - (size_t)len, "\"}]");
    uint32_t crc = es_crc32c(0, j, (size_t)len);
    len += snprintf(j + len, cap - (size_t)len, ",\"crc\":\"%08x\"}\n", crc);
    es_entry_reset(&e);
    es_log_key(key, sizeof key, v + 1, 0);
    CHECK_OK(es_objstore_put(s->os, key, j, (size_t)len, ES_PUT_IF_ABSENT, NULL, NULL, NULL));
    free(j);
    /* A new handle reads both forms; the old handle refreshes through it and writes on. */
    es_store *r = open_opts("mem://small_old", 0);
    CHECK_EQ_INT(live_rows(r, "old"), 2);
    CHECK_OK(insert_small(s, "old", 8, 1, 1));
    CHECK_EQ_INT(live_rows(r, "old"), 3);
    int64_t flushed = 0;
    CHECK_OK(es_table_flush(r, "old", &flushed));
    CHECK_EQ_INT(flushed, 3);
    CHECK_EQ_INT(live_rows(s, "old"), 3);
    es_store_close(r);
    es_store_close(s);
    es_objstore_mem_drop("small_old");
}

/* ------------------------------------------------------------ torn entries */

/* What es_fsck reported: problems and whether a note names `what`. */
typedef struct fsck_seen {
    int problems, noted;
    const char *what;
} fsck_seen;

static void fsck_line(void *ctx, int problem, const char *line)
{
    fsck_seen *f = ctx;
    f->problems += problem;
    f->noted |= !problem && strstr(line, f->what) && strstr(line, "torn");
}

static void plant_torn(es_store *s, int64_t v, char *key, size_t cap)
{
    es_log_key(key, cap, v, 0);
    CHECK_OK(es_objstore_put(s->os, key, "", 0, ES_PUT_IF_ABSENT, NULL, NULL, NULL));
}

/* A zero-length log entry is what a crash could leave of a put that was never acknowledged
 * (FORMAT.md §3): readers, writers and fsck treat it as absent, and the next commit replaces it
 * (two handles that race for it: one wins, the other commits after it). Followed by a later
 * entry it is a hole. */
static void test_torn(const char *uri)
{
    es_store *s = open_opts(uri, 0), *w = open_opts(uri, 0);
    if (!s || !w)
        return;
    create_small(s, "torn");
    CHECK_OK(insert_small(s, "torn", 0, 3, 1));
    int64_t v = version_of(s);
    CHECK_EQ_INT(live_rows(w, "torn"), 3); /* w at v as well */
    char key[64];
    plant_torn(s, v + 1, key, sizeof key);
    es_store *r = open_opts(uri, 0); /* opening: LIST, then the entries */
    CHECK(r && version_of(r) == v);
    CHECK_EQ_INT(live_rows(r, "torn"), 3);
    fsck_seen f = {0, 0, key};
    es_fsck_info info;
    CHECK_OK(es_fsck(r, fsck_line, &f, &info));
    CHECK(f.problems == 0 && f.noted);
    /* Both writers are at v: s replaces the torn entry, w loses the race and commits after. */
    CHECK_OK(insert_small(s, "torn", 10, 1, 1));
    CHECK_EQ_INT(version_of(s), v + 1);
    CHECK_OK(insert_small(w, "torn", 20, 1, 1));
    CHECK_EQ_INT(version_of(w), v + 2);
    CHECK_EQ_INT(live_rows(r, "torn"), 5);
    es_blob *b = NULL;
    CHECK_OK(es_objstore_get(s->os, key, 0, UINT64_MAX, &b, NULL));
    CHECK(b && b->size > 0);
    es_blob_unref(b);
    f.noted = 0;
    CHECK_OK(es_fsck(r, fsck_line, &f, &info));
    CHECK(f.problems == 0 && !f.noted);
    /* A torn entry with a later one after it: a hole, named by readers and fsck. */
    v = version_of(w);
    plant_torn(w, v + 1, key, sizeof key);
    char later[64];
    es_log_key(later, sizeof later, v + 2, 0);
    es_blob *raw = NULL;
    es_log_key(key, sizeof key, v, 0);
    CHECK_OK(es_objstore_get(w->os, key, 0, UINT64_MAX, &raw, NULL));
    CHECK_OK(
        es_objstore_put(w->os, later, raw->data, raw->size, ES_PUT_IF_ABSENT, NULL, NULL, NULL));
    es_blob_unref(raw);
    es_store *h = NULL;
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    es_status st = es_store_open(&h, uri, &o);
    CHECK(st == ES_OK && h && version_of(h) == v); /* reads stop before the hole */
    CHECK(h && h->snap->damage.code == ES_CORRUPT && strstr(h->snap->damage.msg, "missing"));
    f.problems = 0;
    CHECK(es_fsck(r, fsck_line, &f, &info) == ES_CORRUPT && f.problems > 0);
    es_store_close(h);
    es_store_close(r);
    es_store_close(w);
    es_store_close(s);
}

/* ------------------------------------------------------------ alterations */

typedef struct alt_insert {
    es_store *s;
    es_status st;
} alt_insert;

static void *alt_insert_run(void *arg)
{
    alt_insert *a = arg;
    a->st = insert_small(a->s, "alt", 1, 1, 1);
    return NULL;
}

typedef struct table_insert {
    es_store *s;
    const char *table;
    int64_t id;
    es_status st;
} table_insert;

static void *table_insert_run(void *arg)
{
    table_insert *t = arg;
    t->st = insert_small(t->s, t->table, t->id, 1, 1);
    return NULL;
}

/* Group commit's alteration check against the group's own entries (group.c, check_alters and
 * gc_known: the group's entries are passed over unread only when they alter nothing): handle b,
 * whose snapshot predates an ALTER TABLE ... DROP COLUMN that handle a of the same process
 * committed, commits a row written for the dropped column in one batch with a's next insert,
 * whose snapshot is the newest. b must fail with ES_CONFLICT and its row must not commit; a's
 * row commits. (Should the two not share the batch, b's commit meets the ALTER itself and must
 * fail the same way.) */
static void test_group_alter(const char *uri)
{
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.commit_window_us = 200000; /* b leads and waits in its window; a joins its batch */
    es_store *a = NULL, *b = NULL;
    CHECK_OK(es_store_open(&a, uri, &o));
    CHECK_OK(es_store_open(&b, uri, &o));
    if (!a || !b) {
        es_store_close(a);
        es_store_close(b);
        return;
    }
    create_small_key(a, "galt", NULL);
    create_small_key(a, "galt2", NULL);
    CHECK_OK(insert_small(b, "galt", 0, 1, 1)); /* b has committed: its next insert is blind */
    es_alter al = ES_ALTER_INIT;
    al.kind = ES_ALTER_DROP_COLUMN;
    al.column = "s";
    CHECK_OK(es_table_alter(a, "galt", &al, NULL));
    table_insert bi = {b, "galt", 1, ES_OK};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, table_insert_run, &bi) == 0);
    usleep(50000);                               /* b leads, in its window */
    CHECK_OK(insert_small(a, "galt2", 1, 1, 1)); /* joins b's batch */
    pthread_join(th, NULL);
    CHECK_EQ_INT(bi.st, ES_CONFLICT);
    CHECK(strstr(es_store_errmsg(b), "altered concurrently") != NULL);
    es_store *r = open_opts(uri, 0);
    CHECK_EQ_INT(live_rows(r, "galt"), 1);
    CHECK_EQ_INT(live_rows(r, "galt2"), 1);
    es_store_close(r);
    es_store_close(a);
    es_store_close(b);
}

/* The shell (ES_BUILD_DIR/expstore) into shell[1024] and a fresh directory into dir (a
 * mkdtemp template); 0 when both are there, else the test is skipped (named by what). */
static int shell_and_dir(char *shell, char *dir, const char *what)
{
    const char *bdir = getenv("ES_BUILD_DIR");
    snprintf(shell, 1024, "%s/expstore", bdir ? bdir : ".");
    if (access(shell, X_OK) != 0 || !mkdtemp(dir)) {
        printf("%s: no shell at %s, skipped\n", what, shell);
        return -1;
    }
    return 0;
}

/* Run `sql` on the store in another process (the shell); 0 when it succeeded. */
static int shell_run(const char *shell, const char *dir, const char *sql)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        execl(shell, shell, dir, "-c", sql, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
                   WEXITSTATUS(status) == 0
               ? 0
               : -1;
}

/* Asynchronous inserts into a table with a key: a key that an insert of the process still
 * queued holds fails the call (ES_EXISTS); a key another process (the shell) commits while the
 * insert waits in its commit window is found at the commit and fails es_store_sync with
 * ES_EXISTS naming the key and the table; the rows of neither are in the store twice. */
static void test_async_keys(const char *shell, const char *dir)
{
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.commit_window_us = 1500000; /* inserts stay queued meanwhile */
    es_store *a = NULL, *b = NULL;
    CHECK_OK(es_store_open(&a, dir, &o));
    CHECK_OK(es_store_open(&b, dir, &o));
    if (!a || !b)
        return;
    create_small(a, "ak");
    CHECK_OK(insert_small(a, "ak", 0, 1, 1));
    es_store_set_async(a, 1);
    es_store_set_async(b, 1);
    CHECK_OK(insert_small(a, "ak", 1, 1, 1));                /* queued */
    CHECK_EQ_INT(insert_small(b, "ak", 1, 1, 1), ES_EXISTS); /* held by a queued insert */
    CHECK(strstr(es_store_errmsg(b), "ak") != NULL);
    CHECK_EQ_INT(insert_small(b, "ak", 0, 1, 1), ES_EXISTS); /* committed before */
    CHECK_OK(insert_small(b, "ak", 2, 1, 1));
    CHECK_OK(insert_small(a, "ak", 3, 1, 1)); /* queued, in its commit window */
    int other = shell_run(shell, dir, "INSERT INTO ak VALUES (3, 3, 'r3')"); /* commits first */
    CHECK_OK(es_store_sync(b, NULL));
    es_status st = es_store_sync(a, NULL);
    if (other == 0) { /* as planned: the shell's insert came first */
        CHECK_EQ_INT(st, ES_EXISTS);
        const char *msg = es_store_errmsg(a);
        CHECK(strstr(msg, "ak") != NULL && strstr(msg, "3") != NULL);
    } else {
        printf("async keys: the queued insert committed first, not checked\n");
    }
    CHECK_OK(es_store_sync(a, NULL));    /* reported once */
    CHECK_EQ_INT(live_rows(a, "ak"), 4); /* 0, 1, 2, 3: each once */
    es_store_close(a);
    es_store_close(b);
}

/* Group commit runs the alteration check against entries of other processes: an insert
 * (asynchronous, then synchronous) waits in its commit window while another process drops a
 * column its row was written for; the insert must fail with ES_CONFLICT, not commit a row for
 * the columns before. */
static void test_alter_race(void)
{
    char shell[1024], dir[] = "/tmp/es_test_small_XXXXXX";
    if (shell_and_dir(shell, dir, "alteration race"))
        return;
    for (int sync_mode = 0; sync_mode < 2; sync_mode++) {
        es_open_options o = ES_OPEN_OPTIONS_INIT;
        o.commit_window_us = 1500000; /* the other process commits meanwhile */
        es_store *s = NULL;
        CHECK_OK(es_store_open(&s, dir, &o));
        if (!s)
            break;
        create_small_key(s, "alt", NULL); /* no key: inserts may go asynchronously */
        CHECK_OK(insert_small(s, "alt", 0, 1, 1));
        int64_t v0 = version_of(s);
        alt_insert a = {s, ES_OK};
        pthread_t th;
        if (sync_mode) {
            CHECK(pthread_create(&th, NULL, alt_insert_run, &a) == 0);
        } else {
            es_store_set_async(s, 1);
            CHECK_OK(insert_small(s, "alt", 1, 1, 1)); /* queued */
        }
        usleep(100000); /* the insert is in its window */
        CHECK(shell_run(shell, dir, "ALTER TABLE alt DROP COLUMN s") == 0);
        if (sync_mode)
            pthread_join(th, NULL);
        else
            a.st = es_store_sync(s, NULL);
        es_store *r = open_opts(dir, 0);
        es_entry e;
        int alter_first = r && es_log_read_entry(&e, r->os, v0 + 1, 0, NULL) == ES_OK;
        if (alter_first) {
            alter_first = e.n_actions == 1 && e.actions[0].kind == ES_ACT_ALTER_TABLE;
            es_entry_reset(&e);
        }
        if (alter_first) { /* as planned: the insert must fail, and no row 1 is there */
            CHECK_EQ_INT(a.st, ES_CONFLICT);
            CHECK(strstr(es_store_errmsg(s), "altered concurrently") != NULL);
            CHECK_EQ_INT(live_rows(r, "alt"), 1);
        } else {
            printf("alteration race (%s): the insert committed first, not checked\n",
                   sync_mode ? "sync" : "async");
        }
        es_store_close(r);
        es_store_close(s);
    }
    test_async_keys(shell, dir);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

static void test_processes(const char *uri, int n)
{
    es_store *s = open_opts(uri, 0);
    if (!s)
        return;
    create_small(s, "conc");
    int64_t v0 = version_of(s);
    writer w[WRITERS];
    int res[2], go[2];
    CHECK(pipe(res) == 0 && pipe(go) == 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].uri = uri;
        w[i].table = "conc";
        w[i].id = i + 1;
        w[i].n = n;
        pid[i] = fork();
        if (pid[i] == 0) {
            close(res[0]);
            close(go[1]);
            char byte;
            if (read(go[0], &byte, 1) == 0)
                write_rows(&w[i]);
            _exit(write(res[1], &w[i], sizeof w[i]) == (ssize_t)sizeof w[i] ? 0 : 1);
        }
    }
    close(res[1]);
    close(go[0]);
    close(go[1]); /* start them all */
    writer r;
    while (read(res[0], &r, sizeof r) == (ssize_t)sizeof r)
        if (r.id >= 1 && r.id <= WRITERS)
            w[r.id - 1] = r;
    close(res[0]);
    int64_t failed = 0;
    for (int i = 0; i < WRITERS; i++) {
        int status = 0;
        waitpid(pid[i], &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        failed += w[i].failed;
    }
    CHECK_EQ_INT(failed, 0);
    check_writers(s, w, v0);
    es_store_close(s);
}

/* ---------------------------------------- blind puts and a racing process */

/* In a child process: open uri and run `sql`-like steps on table "blind": insert ids
 * from..from+n-1 one per commit, then drop the table when drop is set. 0 on success. */
static int child_writes(const char *uri, int64_t from, int64_t n, int drop)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        es_store *o = NULL;
        int bad = es_store_open(&o, uri, NULL) != ES_OK;
        for (int64_t k = 0; k < n && !bad; k++)
            bad = insert_small(o, "blind", from + k, 1, 1) != ES_OK;
        if (!bad && drop)
            bad = es_table_drop(o, "blind", 0) != ES_OK;
        es_store_close(o);
        _exit(bad);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A handle whose own commit is the last it knows of puts the next version blindly: no GET of
 * the log's tail, no read of the hint. When another process committed meanwhile, the put
 * loses; the writer reads the tail to its end (one GET per entry, one that finds none),
 * checks its insert against it and puts after it. Every row present once, versions
 * consecutive. A key the other process committed meanwhile fails the blind insert with
 * ES_EXISTS, a table it dropped with "no table". */
/* Entries this process created (their put returned) need no sync before a commit after them,
 * whichever handle follows them; the other process's in test_blind_put do. */
static void test_own_entries(const char *uri)
{
    es_store *a = open_opts(uri, 0);
    if (!a)
        return;
    create_small(a, "own");
    CHECK_OK(insert_small(a, "own", 1, 1, 1));
    es_store *b = open_opts(uri, 0); /* reads a's entries from the store */
    if (!b) {
        es_store_close(a);
        return;
    }
    es_objstore_stats st;
    es_objstore_reset_stats(b->os);
    CHECK_OK(insert_small(b, "own", 2, 1, 1));
    es_objstore_get_stats(b->os, &st);
    CHECK_EQ_INT(st.syncs, 0);
    es_objstore_reset_stats(a->os); /* a's next put loses to b's entry, then follows it */
    CHECK_OK(insert_small(a, "own", 3, 1, 1));
    es_objstore_get_stats(a->os, &st);
    CHECK_EQ_INT(st.syncs, 0);
    CHECK_EQ_INT(st.requests[ES_OP_PUT] - st.errors[ES_OP_PUT], 2);
    CHECK_EQ_INT(live_rows(a, "own"), 3);
    es_store_close(b);
    es_store_close(a);
}

static void test_blind_put(const char *uri)
{
    es_store *a = open_opts(uri, 0);
    if (!a)
        return;
    create_small(a, "blind");
    CHECK_OK(insert_small(a, "blind", 1, 1, 1));
    int64_t v0 = version_of(a);
    /* Alone: a commit is one PUT and nothing else. */
    es_objstore_stats os;
    es_objstore_reset_stats(a->os);
    CHECK_OK(insert_small(a, "blind", 2, 1, 1));
    es_objstore_get_stats(a->os, &os);
    CHECK_EQ_INT(os.requests[ES_OP_GET], 0);
    CHECK_EQ_INT(os.requests[ES_OP_HEAD] + os.requests[ES_OP_LIST], 0);
    CHECK_EQ_INT(os.requests[ES_OP_PUT], 1);
    CHECK_EQ_INT(os.syncs, 0); /* it follows its own entry, durable when its put returned */
    /* Another process commits twice; a's next put loses to the first of them. */
    CHECK_EQ_INT(child_writes(uri, 3, 2, 0), 0);
    es_objstore_reset_stats(a->os);
    CHECK_OK(insert_small(a, "blind", 5, 1, 1));
    es_objstore_get_stats(a->os, &os);
    /* The lost put, then the one after the tail; the winner, the entry after it, none. On
     * RGW too (its 412 is one request, never retried): more PUTs here came from a checkpoint
     * (every 10 versions: the checkpoint and the hint, 2 PUTs) falling on the counted commit
     * when the store was shared with the tests before, or from a request that failed
     * transiently and was retried (counted in errors). */
    CHECK_EQ_INT(os.requests[ES_OP_PUT] - os.errors[ES_OP_PUT], 2);
    CHECK_EQ_INT(os.requests[ES_OP_GET] - os.errors[ES_OP_GET], 3);
    /* Before its put after the other's entries, a makes the last of them durable (a local
     * store on ext4 lets it read them before their writer's fsync returned): one sync. */
    CHECK_EQ_INT(os.syncs, 1);
    CHECK_EQ_INT(version_of(a), v0 + 4);
    CHECK_EQ_INT(live_rows(a, "blind"), 5);
    for (int64_t v = v0; v <= v0 + 4; v++) {
        es_table_info info;
        CHECK_OK(es_table_describe(a, "blind", v, &info));
        CHECK_EQ_INT(info.n_rows, v - v0 + 1);
        es_table_info_reset(&info);
    }
    /* The other process inserts key 6 first: a's blind insert of 6 fails, nothing written. */
    CHECK_EQ_INT(child_writes(uri, 6, 1, 0), 0);
    CHECK_EQ_INT(insert_small(a, "blind", 6, 1, 1), ES_EXISTS);
    CHECK_EQ_INT(live_rows(a, "blind"), 6);
    CHECK_EQ_INT(version_of(a), v0 + 5);
    /* It drops the table: a's blind insert says so as a refreshed writer would. */
    CHECK_OK(insert_small(a, "blind", 7, 1, 1));
    CHECK_EQ_INT(child_writes(uri, 8, 0, 1), 0);
    CHECK_EQ_INT(insert_small(a, "blind", 9, 1, 1), ES_NOT_FOUND);
    CHECK(strstr(es_store_errmsg(a), "no table 'blind'") != NULL);
    CHECK_EQ_INT(version_of(a), v0 + 7);
    es_store_close(a);
}

/* ---------------------------------------- a flush of inline parts in manifests */

/* A handle opened from a checkpoint that packed the inline parts into manifests (more than
 * ES_MANIFEST_LOOSE of them: not loaded at open), and with a few inline parts after it, flushes:
 * every inline row is written once and
 * every inline part removed, so each key is there once (the flush used to list only the loose
 * parts while its scan of them loaded the manifests: their rows were written again, kept
 * inline too). Deterministic form of the duplicates test_flush_races found. */
static void test_flush_manifests(void)
{
    es_objstore_mem_drop("small_flush_mf");
    es_store *a = open_opts("mem://small_flush_mf", 0);
    if (!a)
        return;
    create_small(a, "fm");
    model m;
    memset(&m, 0, sizeof m);
    /* The create is version 1: inserts up to version 100, where the checkpoint is written. */
    for (int64_t k = 0; k < 99; k++) {
        CHECK_OK(insert_small(a, "fm", k, 1, 1));
        model_insert(&m, k);
    }
    CHECK_EQ_INT(version_of(a), 100);
    /* Inline parts after the checkpoint: listed in the table of a handle opened now. */
    for (int64_t k = 99; k < 102; k++) {
        CHECK_OK(insert_small(a, "fm", k, 1, 1));
        model_insert(&m, k);
    }
    es_store *b = open_opts("mem://small_flush_mf", 0);
    if (b) {
        int64_t flushed = 0;
        CHECK_OK(es_table_flush(b, "fm", &flushed));
        CHECK_EQ_INT(flushed, 102);
        CHECK_EQ_INT(live_rows(b, "fm"), 102);
        CHECK(same_state(b, "fm", -1, &m));
        CHECK(same_state(a, "fm", -1, &m));
        CHECK_EQ_INT(n_parts(a, "fm"), 1);
        es_store_close(b);
    }
    es_store_close(a);
    es_objstore_mem_drop("small_flush_mf");
}

/* The automatic flush of a handle opened from a checkpoint that packed inline parts into
 * manifests: the manifests' lines count their inline rows (docs/FORMAT.md 4a), so the handle
 * flushes when the table's inline rows pass flush_rows, not only its own (it used to count the
 * loose ones only, and flushed late or never). */
static void test_flush_auto_manifests(void)
{
    es_objstore_mem_drop("small_flush_auto");
    es_store *a = open_opts("mem://small_flush_auto", 0); /* no automatic flush */
    if (!a)
        return;
    create_small(a, "fa");
    model m;
    memset(&m, 0, sizeof m);
    for (int64_t k = 0; k < 99; k++) { /* to version 100: a checkpoint packs them */
        CHECK_OK(insert_small(a, "fa", k, 1, 1));
        model_insert(&m, k);
    }
    CHECK_EQ_INT(version_of(a), 100);
    es_store *b = open_opts("mem://small_flush_auto", 150);
    if (b) {
        /* 99 inline rows before: the 52nd insert of b passes 150 and flushes all 151. */
        for (int64_t k = 99; k < 159; k++) {
            CHECK_OK(insert_small(b, "fa", k, 1, 1));
            model_insert(&m, k);
            CHECK_EQ_INT(n_parts(b, "fa"), k < 150 ? k + 1 : 1 + (k - 150));
        }
        CHECK(same_state(b, "fa", -1, &m));
        CHECK(same_state(a, "fa", -1, &m));
        es_store_close(b);
    }
    es_store_close(a);
    es_objstore_mem_drop("small_flush_auto");
}

/* -------------------------------------------- flushes racing with deletes */

typedef struct racer {
    const char *uri;
    int stop, ready;
    int64_t flushes, flush_conflicts, delete_retries;
    model m;
} racer;

static void *flush_loop(void *arg)
{
    racer *r = arg;
    es_store *s = open_opts(r->uri, 0);
    __atomic_store_n(&r->ready, 1, __ATOMIC_RELEASE); /* the inserts start now: they race */
    while (s && !__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
        es_status st = es_table_flush(s, "race", NULL);
        if (st == ES_OK)
            r->flushes++;
        else if (st == ES_CONFLICT)
            r->flush_conflicts++;
        else {
            fprintf(stderr, "flush races: flush: %s: %s\n", es_status_name(st), es_store_errmsg(s));
            CHECK(!"flush failed");
        }
    }
    es_store_close(s);
    return NULL;
}

/* One thread inserts single rows and deletes earlier ones (rows inlined in the log) while
 * another flushes: a delete that loses to a flush retries and finds the row in the new part; a
 * flush that loses to a delete of its rows fails alone. No delete is lost, no row revived. */
static void test_flush_races(const char *uri)
{
    racer r;
    memset(&r, 0, sizeof r);
    r.uri = uri;
    es_store *s = open_opts(uri, 0);
    if (!s)
        return;
    create_small(s, "race");
    pthread_t th;
    pthread_create(&th, NULL, flush_loop, &r);
    while (!__atomic_load_n(&r.ready, __ATOMIC_ACQUIRE))
        sched_yield();
    for (int64_t k = 0; k < 120; k++) {
        CHECK_OK(insert_small(s, "race", k, 1, 1));
        model_insert(&r.m, k);
        if (k % 3 == 2) {
            int64_t id = k - 2, n = 0;
            es_status st;
            while ((st = delete_keys(s, "race", &id, 1, &n)) == ES_CONFLICT)
                r.delete_retries++;
            if (st)
                fprintf(stderr, "flush races: delete of %lld: %s: %s\n", (long long)id,
                        es_status_name(st), es_store_errmsg(s));
            CHECK_OK(st);
            CHECK_EQ_INT(n, 1);
            r.m.present[id] = 0;
        }
    }
    __atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
    pthread_join(th, NULL);
    CHECK(same_state(s, "race", -1, &r.m));
    CHECK_OK(es_table_flush(s, "race", NULL));
    CHECK(same_state(s, "race", -1, &r.m));
    printf("flush races: %lld flushes, %lld lost to a delete, %lld deletes retried\n",
           (long long)r.flushes, (long long)r.flush_conflicts, (long long)r.delete_retries);
    es_store_close(s);
}

/* kill -9 of a shell piping single-row INSERTs (with FLUSH now and then) at random moments:
 * every insert the shell acknowledged (it printed the SELECT that follows it) is there once,
 * at most the one in flight besides. */
static void test_kill_shell(void)
{
    char shell[1024], dir[] = "/tmp/es_test_small_XXXXXX";
    if (shell_and_dir(shell, dir, "kill -9"))
        return;
    int next = 0, kills = 0, acked = 0;
    seed_from_env();
    es_store *c = open_opts(dir, 256);
    if (c) {
        struct ArrowSchema sc;
        es_schema_init_struct(&sc, 2, NULL);
        es_schema_init(sc.children[0], "l", "id", 0, NULL);
        es_schema_init(sc.children[1], "u", "v", ARROW_FLAG_NULLABLE, NULL);
        CHECK_OK(es_table_create(c, "k", &sc, "id", 0));
        sc.release(&sc);
        es_store_close(c);
    }
    for (int round = 0; round < 6; round++) {
        int in[2], out[2];
        CHECK(pipe(in) == 0 && pipe(out) == 0);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            dup2(in[0], 0);
            dup2(out[1], 1);
            close(in[1]);
            close(out[0]);
            execl(shell, shell, "-list", dir, (char *)NULL);
            _exit(127);
        }
        close(in[0]);
        close(out[1]);
        FILE *to = fdopen(in[1], "w");
        int first = next, sent = 80 + rn(120);
        for (int i = 0; i < sent; i++) {
            fprintf(to, "INSERT INTO k VALUES (%d, 'v%d');\nSELECT 'ack', %d;\n", first + i,
                    first + i, first + i);
            if (i % 37 == 36)
                fprintf(to, "FLUSH k;\n");
        }
        fclose(to); /* the shell reads it all, then stops at the end of its input */
        /* Kill it at a random moment: just after a random acknowledgement. */
        FILE *from = fdopen(out[0], "r");
        char line[128];
        int max_ack = first - 1, target = 1 + rn(sent - 1), seen = 0;
        while (seen < target && fgets(line, sizeof line, from)) {
            int a;
            if (sscanf(line, "ack|%d", &a) == 1 && a > max_ack) {
                max_ack = a;
                seen++;
            }
        }
        usleep((useconds_t)rn(3000));
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        kills += WIFSIGNALED(status);
        /* The acknowledgements printed before the kill. */
        while (fgets(line, sizeof line, from)) {
            int a;
            if (sscanf(line, "ack|%d", &a) == 1 && a > max_ack)
                max_ack = a;
        }
        fclose(from);
        acked += max_ack - first + 1;
        /* Reopen: ids first..max_ack present once each; max_ack + 1 maybe; nothing beyond. */
        es_store *s = NULL;
        CHECK_OK(es_store_open(&s, dir, NULL));
        es_sql_session *q = NULL;
        CHECK_OK(es_sql_session_open(&q, s));
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM k WHERE id >= %d AND id <= %d", first,
                 max_ack);
        CHECK_EQ_INT(sql_int(q, sql, 0, NULL, 0), max_ack - first + 1);
        snprintf(sql, sizeof sql, "SELECT count(*) - count(DISTINCT id) FROM k");
        CHECK_EQ_INT(sql_int(q, sql, 0, NULL, 0), 0);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM k WHERE id > %d", max_ack + 1);
        CHECK_EQ_INT(sql_int(q, sql, 0, NULL, 0), 0);
        /* The next round starts after whatever is there. */
        int64_t mx = sql_int(q, "SELECT max(id) FROM k", 0, NULL, 0);
        next = (int)(mx > max_ack ? mx : max_ack) + 1;
        CHECK(next <= first + sent);
        es_sql_session_close(q);
        es_store_close(s);
    }
    CHECK(kills >= 1);
    printf("kill -9: %d shells killed, %d inserts acknowledged\n", kills, acked);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

/* Sections (arguments, or ES_TEST_SECTIONS; all without either): mem (the mem:// store: inlined
 * rows, statistics, threads, asynchronous commit, crash and fault loops), dir (a local
 * directory: the same races through real files, and forked processes), shell (the expstore
 * binary killed and racing). CTest runs them as two tests (tests/small.cmake). */
int main(int argc, char **argv)
{
    if (argc > 1)
        test_sections = argv[1];
    const char *env = getenv("ES_TEST_STORE_URI");
    if (env && *env) {
        TIMED(test_inline(env));
        TIMED(test_stats(env));
        TIMED(test_threads(env, 12));
        TIMED(test_processes(env, 8));
        char blind[1100]; /* a store of its own, as below */
        snprintf(blind, sizeof blind, "%s/blind", env);
        TIMED(test_blind_put(blind));
        snprintf(blind, sizeof blind, "%s/own", env);
        TIMED(test_own_entries(blind));
        return CHECK_DONE();
    }
    if (want("mem")) {
        es_objstore_mem_drop("test_small");
        TIMED(test_inline("mem://test_small"));
        TIMED(test_stats("mem://test_small"));
        TIMED(test_threads("mem://test_small", 40));
        TIMED(test_same_keys("mem://test_small", 40));
        TIMED(test_async("mem://test_small", 40));
        TIMED(test_async_crash());
        TIMED(test_async_failure());
        TIMED(test_old_inline());
        es_objstore_mem_drop("small_torn");
        TIMED(test_torn("mem://small_torn"));
        es_objstore_mem_drop("small_torn");
        TIMED(test_flush_manifests());
        TIMED(test_flush_auto_manifests());
        TIMED(test_flush_races("mem://test_small"));
        TIMED(test_group_alter("mem://test_small"));
        TIMED(test_own_entries("mem://small_own"));
    }
    char dir[] = "/tmp/es_test_small_XXXXXX";
    if (want("dir") && mkdtemp(dir)) {
        TIMED(test_inline(dir));
        char torn[300];
        snprintf(torn, sizeof torn, "%s/torn", dir);
        TIMED(test_torn(torn));
        TIMED(test_flush_races(dir));
        TIMED(test_threads(dir, 30));
        TIMED(test_same_keys(dir, 30));
        TIMED(test_async(dir, 30));
        TIMED(test_processes(dir, 30));
        /* A store of its own: the version numbers there (and so where checkpoints fall, which
         * add PUTs) do not depend on how many commits the races above made. */
        char blind[300];
        snprintf(blind, sizeof blind, "%s/blind", dir);
        TIMED(test_blind_put(blind));
        snprintf(blind, sizeof blind, "%s/own", dir); /* of its own too */
        TIMED(test_own_entries(blind));
        char cmd[256];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        CHECK(system(cmd) == 0);
    }
    if (want("shell")) {
        TIMED(test_kill_shell());
        TIMED(test_alter_race());
    }
    return CHECK_DONE();
}
