/*
 * test_history: es_history (the versions of a store, newest first, bounded by a limit) and
 * es_version_at_time (AS OF TIMESTAMP's resolution), on mem:// and a local temporary directory:
 * the operations and tables each entry reports, the table filter (a dropped table too), the
 * default limit and the GETs it costs on a log of 130 versions, commit times that never
 * decrease, every version's time resolving to the newest version committed by then, times
 * before the first version (an error naming it) and in the future (the latest), and the log
 * retention floor of a vacuum (history ends there, times before it are refused).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "expstore/expstore.h"
#include "expstore/sql.h"
#include "expstore/sys/objstore.h"
#include "objstore/objstore.h"
#include "table/table.h"

/* One row of a history. */
typedef struct hrow {
    int64_t version, commit_ms, entry_ms, rows_added;
    char op[64], tables[128];
} hrow;

static void sql(es_sql_session *q, const char *text)
{
    es_status st = es_sql_exec_script(q, text, NULL, NULL);
    if (st != ES_OK)
        fprintf(stderr, "%s: %s\n", text, es_sql_errmsg(q));
    CHECK_EQ_INT(st, ES_OK);
}

static void str_at(char *buf, size_t cap, const es_array_view *v, int64_t i)
{
    int64_t len = 0;
    const uint8_t *p = es_view_is_null(v, i) ? NULL : es_view_get_bytes(v, i, &len);
    snprintf(buf, cap, "%.*s", p ? (int)len : 4, p ? (const char *)p : "NULL");
}

/* The history of s (table nullable, limit as es_history_options) into rows (cap of them). */
static int64_t history(es_store *s, const char *table, int64_t limit, hrow *rows, int64_t cap)
{
    es_history_options o = ES_HISTORY_OPTIONS_INIT;
    o.table = table;
    o.limit = limit;
    struct ArrowArrayStream st;
    es_status code = es_history(s, &o, &st);
    CHECK_EQ_INT(code, ES_OK);
    if (code != ES_OK) {
        fprintf(stderr, "es_history: %s\n", es_store_errmsg(s));
        return -1;
    }
    struct ArrowSchema schema;
    struct ArrowArray batch;
    CHECK_EQ_INT(st.get_schema(&st, &schema), 0);
    CHECK_EQ_INT(schema.n_children, 9);
    CHECK_EQ_STR(schema.children[1]->format, "tsm:UTC");
    CHECK_EQ_INT(st.get_next(&st, &batch), 0);
    es_array_view v;
    CHECK_OK(es_array_view_init(&v, &schema, &batch, NULL));
    int64_t n = batch.length < cap ? batch.length : cap;
    for (int64_t i = 0; i < n; i++) {
        hrow *r = &rows[i];
        r->version = es_view_get_int(&v.children[0], i);
        r->commit_ms = es_view_get_int(&v.children[1], i);
        r->entry_ms = es_view_get_int(&v.children[2], i);
        str_at(r->op, sizeof r->op, &v.children[3], i);
        str_at(r->tables, sizeof r->tables, &v.children[4], i);
        r->rows_added =
            es_view_is_null(&v.children[5], i) ? -1 : es_view_get_int(&v.children[5], i);
    }
    n = batch.length;
    es_array_view_reset(&v);
    es_array_release(&batch);
    CHECK_EQ_INT(st.get_next(&st, &batch), 0); /* one batch, then the end */
    CHECK(batch.release == NULL);
    es_schema_release(&schema);
    st.release(&st);
    return n;
}

static int64_t gets(es_objstore *os)
{
    es_objstore_stats stats;
    es_objstore_get_stats(os, &stats);
    return stats.requests[ES_OP_GET];
}

static void test_operations(es_store *s, es_sql_session *q)
{
    sql(q, "CREATE TABLE a (id BIGINT PRIMARY KEY, v VARCHAR)");                        /* 1 */
    sql(q, "CREATE TABLE b (id BIGINT PRIMARY KEY)");                                   /* 2 */
    sql(q, "INSERT INTO a VALUES (1, 'x'), (2, 'y'), (3, 'z')");                        /* 3 */
    sql(q, "INSERT INTO b VALUES (7)");                                                 /* 4 */
    sql(q, "DELETE FROM a WHERE id = 1");                                               /* 5 */
    sql(q, "UPDATE a SET v = 'w' WHERE id = 2");                                        /* 6 */
    sql(q, "ALTER TABLE a ADD COLUMN n INTEGER");                                       /* 7 */
    sql(q, "DROP TABLE b");                                                             /* 8 */
    sql(q, "BEGIN; CREATE TABLE c (id BIGINT); INSERT INTO c VALUES (1), (2); COMMIT"); /* 9 */
    hrow r[16];
    int64_t n = history(s, NULL, 0, r, 16);
    CHECK_EQ_INT(n, 10);
    static const char *const ops[] = {"create+insert", "drop",   "alter",  "update", "delete",
                                      "insert",        "insert", "create", "create", "init"};
    static const char *const tabs[] = {"c", "b", "a", "a", "a", "b", "a", "b", "a", "NULL"};
    for (int64_t i = 0; i < n && i < 10; i++) {
        CHECK_EQ_INT(r[i].version, 9 - i);
        CHECK_EQ_STR(r[i].op, ops[i]);
        CHECK_EQ_STR(r[i].tables, tabs[i]);
        if (i + 1 < n)
            CHECK(r[i].commit_ms >= r[i + 1].commit_ms);
        CHECK(r[i].commit_ms >= r[i].entry_ms);
    }
    CHECK_EQ_INT(r[0].rows_added, 2);
    CHECK_EQ_INT(r[5].rows_added, 1);
    CHECK_EQ_INT(r[2].rows_added, -1);
    /* One table: the entries that touched it, newest first; a dropped one too. */
    n = history(s, "a", 0, r, 16);
    CHECK_EQ_INT(n, 5);
    CHECK_EQ_INT(r[0].version, 7);
    CHECK_EQ_INT(r[4].version, 1);
    n = history(s, "b", 0, r, 16);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_INT(r[0].version, 8);
    CHECK_EQ_STR(r[0].op, "drop");
    CHECK_EQ_INT(r[2].version, 2);
    n = history(s, "a", 2, r, 16);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(r[1].version, 6);
    es_history_options o = ES_HISTORY_OPTIONS_INIT;
    struct ArrowArrayStream st;
    o.table = "nosuch";
    CHECK_EQ_INT(es_history(s, &o, &st), ES_NOT_FOUND);
    CHECK(st.release == NULL);
    o.table = NULL;
    o.max_version = 99;
    CHECK_EQ_INT(es_history(s, &o, &st), ES_NOT_FOUND);
    o.max_version = 4;
    o.min_version = 3;
    CHECK_OK(es_history(s, &o, &st));
    struct ArrowArray batch;
    CHECK_EQ_INT(st.get_next(&st, &batch), 0);
    CHECK_EQ_INT(batch.length, 2);
    es_array_release(&batch);
    st.release(&st);
    o.version = 99;
    CHECK_EQ_INT(es_history(s, &o, &st), ES_INVALID);
    /* A renamed table: under its new name, and under its old one (found at older entries). */
    sql(q, "CREATE TABLE d (id BIGINT)");       /* 10 */
    sql(q, "INSERT INTO d VALUES (1)");         /* 11 */
    sql(q, "INSERT INTO a VALUES (9, 'q', 0)"); /* 12 */
    sql(q, "ALTER TABLE d RENAME TO e");        /* 13 */
    sql(q, "INSERT INTO e VALUES (2)");         /* 14 */
    for (int k = 0; k < 2; k++) {
        n = history(s, k ? "d" : "e", 0, r, 16);
        CHECK_EQ_INT(n, 4);
        CHECK_EQ_INT(r[0].version, 14);
        CHECK_EQ_STR(r[1].op, "alter");
        CHECK_EQ_STR(r[1].tables, "e");
        CHECK_EQ_INT(r[2].version, 11);
        CHECK_EQ_INT(r[3].version, 10);
    }
}

/* A log of 130 versions and more: the default limit, what it costs, every time resolved. */
static void test_long_log(es_store *s, es_sql_session *q, es_objstore *os)
{
    for (int i = 0; i < 120; i++) {
        char text[96];
        snprintf(text, sizeof text, "INSERT INTO a VALUES (%d, 'r', 0)", 100 + i);
        sql(q, text);
        if (i % 10 == 0)
            usleep(2000); /* a few distinct milliseconds between commits */
    }
    int64_t latest = -1;
    CHECK_OK(es_store_version(s, &latest));
    CHECK(latest >= 129); /* and the automatic flushes of the inlined rows */
    static hrow r[200];
    int64_t before = gets(os);
    int64_t n = history(s, NULL, 0, r, 200);
    int64_t cost = gets(os) - before;
    CHECK_EQ_INT(n, 100); /* the default limit */
    CHECK_EQ_INT(r[0].version, latest);
    CHECK_EQ_INT(r[99].version, latest - 99);
    /* The 100 entries (in runs of 64 and 36), the retention floor and the refresh. */
    printf("history of the last 100 of 130 versions: %lld GETs\n", (long long)cost);
    CHECK(cost <= 100 + 2);
    n = history(s, NULL, -1, r, 200);
    CHECK_EQ_INT(n, latest + 1);
    int flushes = 0;
    for (int64_t i = 0; i + 1 < n; i++) {
        CHECK(r[i].commit_ms >= r[i + 1].commit_ms);
        if (strcmp(r[i].op, "flush") == 0 && r[i].rows_added > 0)
            flushes++;
    }
    CHECK(flushes > 0);
    /* Each version's commit time resolves to the newest version committed by then. */
    int64_t worst = 0;
    for (int64_t i = 0; i < n; i += 7) {
        int64_t want = r[i].version;
        for (int64_t k = i - 1; k >= 0 && r[k].commit_ms <= r[i].commit_ms; k--)
            want = r[k].version;
        int64_t got = -1;
        before = gets(os);
        CHECK_OK(es_version_at_time(s, r[i].commit_ms, &got));
        int64_t c = gets(os) - before;
        worst = c > worst ? c : worst;
        CHECK_EQ_INT(got, want);
    }
    printf("AS OF TIMESTAMP over 130 versions: at most %lld GETs\n", (long long)worst);
    CHECK(worst <= 2 + 3 + 15 * 2);
    int64_t got = -1;
    CHECK_OK(es_version_at_time(s, r[0].commit_ms + 86400000, &got));
    CHECK_EQ_INT(got, latest);
    CHECK_EQ_INT(es_version_at_time(s, r[n - 1].commit_ms - 1, &got), ES_NOT_FOUND);
    CHECK(strstr(es_store_errmsg(s), "oldest available version is 0") != NULL);
    CHECK_EQ_INT(es_version_at_time(s, 0, NULL), ES_INVALID);
}

/* A vacuum's retention floor: history ends there without error; times before it fail. */
static void test_retention(es_store *s)
{
    es_vacuum_info vi;
    CHECK_OK(es_vacuum(s, &vi));
    CHECK(vi.retain_from > 0);
    static hrow r[200];
    int64_t n = history(s, NULL, -1, r, 200);
    CHECK(n > 0);
    CHECK_EQ_INT(r[n - 1].version, vi.retain_from);
    int64_t got = -1;
    CHECK_EQ_INT(es_version_at_time(s, r[n - 1].commit_ms - 1, &got), ES_NOT_FOUND);
    char want[96];
    snprintf(want, sizeof want, "oldest retained version is %lld", (long long)vi.retain_from);
    CHECK(strstr(es_store_errmsg(s), want) != NULL);
    CHECK_OK(es_version_at_time(s, r[n - 1].commit_ms, &got));
    CHECK(got >= vi.retain_from);
}

static void run(const char *uri)
{
    es_objstore *os = NULL;
    CHECK_OK(es_objstore_open(&os, uri, NULL));
    es_store *s = NULL;
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.retain_versions = 20;
    o.vacuum_min_age_ms = 0;
    o.create = 1;
    CHECK_OK(es_store_open_objstore(&s, os, 1, &o, NULL));
    es_sql_session *q = NULL;
    CHECK_OK(es_sql_session_open(&q, s));
    test_operations(s, q);
    test_long_log(s, q, os);
    test_retention(s);
    es_sql_session_close(q);
    es_store_close(s);
}

int main(void)
{
    printf("== mem://\n");
    es_objstore_mem_drop("test_history");
    run("mem://test_history");
    char dir[] = "/tmp/es_test_history_XXXXXX";
    if (mkdtemp(dir)) {
        printf("== %s\n", dir);
        run(dir);
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", dir);
    }
    return CHECK_DONE();
}
