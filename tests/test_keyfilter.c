/*
 * test_keyfilter: the unique check's per-part key filters (src/table/keyfilter.c) never let a
 * duplicate through. For each key type, two handles insert interleaved keys and flush, so that
 * every flushed part's key range holds every key; then each handle (its filters built) must
 * refuse every existing key and every existing value of a unique index, accept new keys inside
 * the ranges, accept a deleted key again and refuse it once reinserted, before and after a
 * flush and a compaction.
 */
#include <stdint.h>

#include "check.h"
#include "expstore/expstore.h"
#include "expstore/sql.h"

#define KEYS 40

typedef struct key_type {
    const char *sql;
    const char *fmt; /* a literal of key i (an int) */
} key_type;

static const key_type types[] = {
    {"BIGINT", "%d"},   {"INTEGER", "%d"},          {"VARCHAR", "'key %05d'"},
    {"DOUBLE", "%d.5"}, {"DECIMAL(10,2)", "%d.25"}, {"SMALLINT", "%d"},
};

static es_status run(es_sql_session *q, const char *sql)
{
    es_sql_result res = ES_SQL_RESULT_INIT;
    es_status st = es_sql_exec(q, sql, &res);
    es_sql_result_reset(&res);
    return st;
}

#define RUN_OK(q, ...)                                                                             \
    do {                                                                                           \
        char sql_[512];                                                                            \
        snprintf(sql_, sizeof sql_, __VA_ARGS__);                                                  \
        es_status st_ = run(q, sql_);                                                              \
        if (st_)                                                                                   \
            fprintf(stderr, "%s: %s\n", sql_, es_sql_errmsg(q));                                   \
        CHECK_EQ_INT(st_, ES_OK);                                                                  \
    } while (0)

#define RUN_EXISTS(q, ...)                                                                         \
    do {                                                                                           \
        char sql_[512];                                                                            \
        snprintf(sql_, sizeof sql_, __VA_ARGS__);                                                  \
        es_status st_ = run(q, sql_);                                                              \
        if (st_ != ES_EXISTS)                                                                      \
            fprintf(stderr, "%s: %d, expected ES_EXISTS\n", sql_, (int)st_);                       \
        CHECK_EQ_INT(st_, ES_EXISTS);                                                              \
    } while (0)

static const char *lit(char *buf, size_t cap, const key_type *ty, int i)
{
    snprintf(buf, cap, ty->fmt, i);
    return buf;
}

/* Row i: key 10 * i, unique value u = 10 * i (so new keys and values fall inside every range). */
static void insert(es_sql_session *q, const key_type *ty, int i, int expect_dup)
{
    char k[64];
    lit(k, sizeof k, ty, 10 * i);
    if (expect_dup)
        RUN_EXISTS(q, "INSERT INTO t VALUES (%s, %d)", k, 10 * i);
    else
        RUN_OK(q, "INSERT INTO t VALUES (%s, %d)", k, 10 * i);
}

/* Every present key refused (with a new unique value), every present unique value refused (with
 * a new key), and from both handles. */
static void refuse_all(es_sql_session **q, const key_type *ty)
{
    char k[64];
    for (int h = 0; h < 2; h++)
        for (int i = 0; i < KEYS; i++) {
            RUN_EXISTS(q[h], "INSERT INTO t VALUES (%s, %d)", lit(k, sizeof k, ty, 10 * i),
                       10 * i + 7);
            RUN_EXISTS(q[h], "INSERT INTO t VALUES (%s, %d)", lit(k, sizeof k, ty, 10 * i + 3),
                       10 * i);
        }
}

static int64_t count(es_sql_session *q)
{
    es_sql_result res = ES_SQL_RESULT_INIT;
    int64_t n = -1;
    if (es_sql_exec(q, "SELECT count(*) FROM t", &res) != ES_OK)
        return n;
    struct ArrowSchema sc;
    struct ArrowArray a;
    if (res.stream.get_schema(&res.stream, &sc) == 0) {
        while (res.stream.get_next(&res.stream, &a) == 0 && a.release) {
            es_array_view v;
            if (a.length > 0 && es_array_view_init(&v, &sc, &a, NULL) == ES_OK) {
                n = es_view_get_int(&v.children[0], 0);
                es_array_view_reset(&v);
            }
            a.release(&a);
        }
        sc.release(&sc);
    }
    es_sql_result_reset(&res);
    return n;
}

static void test_type(const char *uri, const key_type *ty)
{
    es_store *s[2] = {NULL, NULL};
    es_sql_session *q[2] = {NULL, NULL};
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.flush_rows = o.flush_bytes = 0; /* flushes only where the test says */
    for (int h = 0; h < 2; h++) {
        CHECK_OK(es_store_open(&s[h], uri, &o));
        CHECK_OK(es_sql_session_open(&q[h], s[h]));
    }
    char k[64];
    RUN_OK(q[0], "DROP TABLE IF EXISTS t");
    RUN_OK(q[0], "CREATE TABLE t (k %s PRIMARY KEY, u BIGINT)", ty->sql);
    RUN_OK(q[0], "CREATE UNIQUE INDEX tu ON t (u)");
    /* Interleaved writers: each flushed part spans every key. */
    for (int i = 0; i < KEYS; i++)
        insert(q[i % 2], ty, i, 0);
    RUN_OK(q[0], "FLUSH t");
    refuse_all(q, ty);
    /* New keys inside the parts' ranges are accepted (the filters hold their hashes now). */
    for (int i = 0; i < KEYS; i += 8)
        RUN_OK(q[i % 16 ? 1 : 0], "INSERT INTO t VALUES (%s, %d)", lit(k, sizeof k, ty, 10 * i + 5),
               10 * i + 5);
    CHECK_EQ_INT(count(q[1]), KEYS + 5);
    RUN_OK(q[1], "FLUSH t");
    /* A deleted key may be inserted again, by either handle, and only once. */
    RUN_OK(q[0], "DELETE FROM t WHERE k = %s", lit(k, sizeof k, ty, 40));
    RUN_OK(q[1], "DELETE FROM t WHERE k = %s", lit(k, sizeof k, ty, 210));
    insert(q[1], ty, 4, 0);
    insert(q[0], ty, 21, 0);
    insert(q[0], ty, 4, 1);
    insert(q[1], ty, 21, 1);
    refuse_all(q, ty);
    RUN_OK(q[0], "FLUSH t");
    refuse_all(q, ty);
    /* Deleted again after the flush, then reinserted. */
    RUN_OK(q[1], "DELETE FROM t WHERE k = %s", lit(k, sizeof k, ty, 40));
    insert(q[0], ty, 4, 0);
    insert(q[1], ty, 4, 1);
    /* Compaction writes new parts of the same keys. */
    RUN_OK(q[1], "OPTIMIZE t");
    refuse_all(q, ty);
    RUN_OK(q[0], "INSERT INTO t VALUES (%s, %d)", lit(k, sizeof k, ty, 10 * 7 + 6), 76);
    RUN_EXISTS(q[1], "INSERT INTO t VALUES (%s, %d)", lit(k, sizeof k, ty, 10 * 7 + 6), 77);
    CHECK_EQ_INT(count(q[0]), KEYS + 6);
    for (int h = 0; h < 2; h++) {
        es_sql_session_close(q[h]);
        es_store_close(s[h]);
    }
}

int main(void)
{
    char dir[] = "/tmp/es_test_keyfilter_XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        fprintf(stderr, "key type %s\n", types[i].sql);
        test_type(dir, &types[i]);
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return CHECK_DONE();
}
