/*
 * test_interrupt: the cancellation hook and the refused transaction statements, on mem://
 * stores, through the public API only.
 *
 *  - es_store_interrupt: a scan stream fails its next get_next with EINTR ("interrupted"), an
 *    insert fails with ES_INTERRUPTED and commits nothing; the flag stays until
 *    es_store_clear_interrupt;
 *  - es_sql_interrupt: a SELECT's result stream read half-way fails with EINTR and the session
 *    says ES_INTERRUPTED "interrupted"; COPY FROM a CSV file of several batches, interrupted
 *    from its progress callback, commits nothing; es_sql_exec_script stops before the next
 *    statement; the next statement clears the request;
 *  - BEGIN, START TRANSACTION, COMMIT, END, ROLLBACK: ES_UNSUPPORTED with a message that says
 *    each statement commits on its own, and the statement's kind.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "expstore/expstore.h"
#include "expstore/sql.h"

static es_store *open_store(const char *name)
{
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.batch_rows = 100; /* many batches per part */
    es_store *s = NULL;
    es_status st = es_store_open(&s, name, &o);
    CHECK_OK(st);
    return s;
}

static void exec_ok(es_sql_session *q, const char *sql)
{
    es_sql_result r = ES_SQL_RESULT_INIT;
    es_status st = es_sql_exec(q, sql, &r);
    if (st != ES_OK)
        fprintf(stderr, "%s: %s\n", sql, es_sql_errmsg(q));
    CHECK_OK(st);
    es_sql_result_reset(&r);
}

/* count(*) of a table, by SQL. */
static int64_t count_rows(es_sql_session *q, const char *table)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s;", table);
    es_sql_result r = ES_SQL_RESULT_INIT;
    int64_t n = -1;
    if (es_sql_exec(q, sql, &r) == ES_OK) {
        struct ArrowArray a;
        if (r.stream.get_next(&r.stream, &a) == 0 && a.release) {
            n = ((const int64_t *)a.children[0]->buffers[1])[a.children[0]->offset];
            a.release(&a);
        }
    }
    es_sql_result_reset(&r);
    return n;
}

static void test_store(void)
{
    es_store *s = open_store("mem://");
    es_sql_session *q = NULL;
    CHECK_OK(es_sql_session_open(&q, s));
    exec_ok(q, "CREATE TABLE t (k BIGINT, v TEXT, PRIMARY KEY (k));");
    char sql[16384];
    size_t n = (size_t)snprintf(sql, sizeof sql, "INSERT INTO t VALUES (0, 'x')");
    for (int i = 1; i < 500; i++)
        n += (size_t)snprintf(sql + n, sizeof sql - n, ", (%d, 'x')", i);
    snprintf(sql + n, sizeof sql - n, ";");
    exec_ok(q, sql);
    int64_t v0 = -1;
    CHECK_OK(es_store_version(s, &v0));

    /* A scan: the first batch, then an interrupt. */
    struct ArrowArrayStream scan;
    CHECK_OK(es_scan(s, "t", NULL, &scan));
    struct ArrowArray a;
    CHECK(scan.get_next(&scan, &a) == 0 && a.release != NULL);
    if (a.release)
        a.release(&a);
    es_store_interrupt(s);
    CHECK_EQ_INT(scan.get_next(&scan, &a), EINTR);
    CHECK_EQ_STR(scan.get_last_error(&scan), "interrupted");
    scan.release(&scan);

    /* The flag stays: an insert fails and commits nothing. */
    CHECK_OK(es_scan(s, "t", NULL, &scan));
    CHECK_EQ_INT(scan.get_next(&scan, &a), EINTR);
    scan.release(&scan);
    struct ArrowSchema schema;
    es_builder *b = NULL;
    es_error err;
    CHECK_OK(es_schema_init_struct(&schema, 2, &err));
    CHECK_OK(es_schema_init(schema.children[0], "l", "k", ARROW_FLAG_NULLABLE, &err));
    CHECK_OK(es_schema_init(schema.children[1], "u", "v", ARROW_FLAG_NULLABLE, &err));
    CHECK_OK(es_builder_new(&b, &schema, &err));
    CHECK_OK(es_builder_append_int(es_builder_child(b, 0), 1000));
    CHECK_OK(es_builder_append_bytes(es_builder_child(b, 1), "y", 1));
    CHECK_OK(es_builder_append_struct(b));
    struct ArrowArray batch;
    CHECK_OK(es_builder_finish(b, &batch, &err));
    CHECK_EQ_INT(es_insert_batch(s, "t", &schema, &batch), ES_INTERRUPTED);
    CHECK(strstr(es_store_errmsg(s), "interrupted") != NULL);
    CHECK_EQ_STR(es_status_name(ES_INTERRUPTED), "ES_INTERRUPTED");
    int64_t v1 = -1;
    CHECK_OK(es_store_version(s, &v1));
    CHECK_EQ_INT(v1, v0);

    /* Cleared: both work again. */
    es_store_clear_interrupt(s);
    CHECK_OK(es_builder_append_int(es_builder_child(b, 0), 1000));
    CHECK_OK(es_builder_append_bytes(es_builder_child(b, 1), "y", 1));
    CHECK_OK(es_builder_append_struct(b));
    CHECK_OK(es_builder_finish(b, &batch, &err));
    CHECK_OK(es_insert_batch(s, "t", &schema, &batch));
    CHECK_EQ_INT(count_rows(q, "t"), 501);
    es_builder_free(b);
    es_schema_release(&schema);
    es_store_interrupt(NULL); /* ignored */
    es_store_clear_interrupt(NULL);
    es_sql_session_close(q);
    es_store_close(s);
}

/* The progress callback of COPY FROM: interrupt after the first batch. */
static void interrupt_on_progress(void *arg, int64_t done, int64_t total, int64_t rows, int end)
{
    (void)done;
    (void)total;
    (void)end;
    if (rows > 0)
        es_sql_interrupt(arg);
}

static int interrupt_after_first(void *arg, const char *statement, es_sql_result *result)
{
    (void)statement;
    (void)result;
    es_sql_interrupt(arg);
    return 0;
}

static void test_sql(void)
{
    es_store *s = open_store("mem://");
    es_sql_session *q = NULL;
    CHECK_OK(es_sql_session_open(&q, s));
    exec_ok(q, "CREATE TABLE t (k BIGINT, v TEXT);");
    char sql[16384];
    size_t n = (size_t)snprintf(sql, sizeof sql, "INSERT INTO t VALUES (0, 'x')");
    for (int i = 1; i < 500; i++)
        n += (size_t)snprintf(sql + n, sizeof sql - n, ", (%d, 'x')", i);
    snprintf(sql + n, sizeof sql - n, ";");
    exec_ok(q, sql);

    /* A streaming SELECT read half-way. */
    es_sql_result r = ES_SQL_RESULT_INIT;
    CHECK_OK(es_sql_exec(q, "SELECT k, v FROM t WHERE k >= 0;", &r));
    struct ArrowArray a;
    CHECK(r.stream.get_next(&r.stream, &a) == 0 && a.release != NULL);
    if (a.release)
        a.release(&a);
    es_sql_interrupt(q);
    CHECK_EQ_INT(r.stream.get_next(&r.stream, &a), EINTR);
    CHECK_EQ_INT(es_sql_errcode(q), ES_INTERRUPTED);
    CHECK_EQ_STR(es_sql_errmsg(q), "interrupted");
    CHECK(strstr(r.stream.get_last_error(&r.stream), "interrupted") != NULL);
    es_sql_result_reset(&r);
    /* The next statement clears the request. */
    CHECK_EQ_INT(count_rows(q, "t"), 500);
    es_sql_interrupt(q); /* while nothing runs: forgotten by the next statement */
    CHECK_EQ_INT(count_rows(q, "t"), 500);

    /* COPY FROM a CSV file of several batches (64k rows each), interrupted after the first. */
    char path[] = "/tmp/es_interrupt_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    FILE *f = fdopen(fd, "w");
    for (int i = 0; i < 200000; i++)
        fprintf(f, "%d,v%d\n", i, i);
    fclose(f);
    int64_t v0 = -1, v1 = -1;
    CHECK_OK(es_store_version(s, &v0));
    es_sql_session_set_progress(q, interrupt_on_progress, q);
    snprintf(sql, sizeof sql, "COPY t FROM '%s';", path);
    CHECK_EQ_INT(es_sql_exec(q, sql, &r), ES_INTERRUPTED);
    CHECK_EQ_STR(r.kind, "COPY");
    CHECK(strstr(es_sql_errmsg(q), "interrupted") != NULL);
    es_sql_result_reset(&r);
    es_sql_session_set_progress(q, NULL, NULL);
    CHECK_OK(es_store_version(s, &v1));
    CHECK_EQ_INT(v1, v0);
    CHECK_EQ_INT(count_rows(q, "t"), 500);
    /* Without the interrupt the same COPY loads the file. */
    CHECK_OK(es_sql_exec(q, sql, &r));
    CHECK_EQ_INT(r.changes, 200000);
    es_sql_result_reset(&r);
    unlink(path);

    /* A script stops before the statement after the interrupt. */
    CHECK_EQ_INT(es_sql_exec_script(q, "CREATE TABLE a (x INT); CREATE TABLE b (x INT);",
                                    interrupt_after_first, q),
                 ES_INTERRUPTED);
    CHECK_OK(es_sql_exec(q, "SELECT * FROM a;", &r));
    es_sql_result_reset(&r);
    CHECK_EQ_INT(es_sql_exec(q, "SELECT * FROM b;", &r), ES_NOT_FOUND);
    es_sql_result_reset(&r);
    es_sql_interrupt(NULL); /* ignored */
    es_sql_session_close(q);
    es_store_close(s);
}

static void test_transactions(void)
{
    es_store *s = open_store("mem://");
    es_sql_session *q = NULL;
    CHECK_OK(es_sql_session_open(&q, s));
    static const struct {
        const char *sql, *kind;
    } cases[] = {
        {"BEGIN;", "BEGIN"},       {"begin transaction;", "BEGIN"},
        {"BEGIN WORK", "BEGIN"},   {"START TRANSACTION;", "BEGIN"},
        {"COMMIT;", "COMMIT"},     {"COMMIT TRANSACTION;", "COMMIT"},
        {"END;", "COMMIT"},        {"END TRANSACTION;", "COMMIT"},
        {"ROLLBACK;", "ROLLBACK"}, {"  rollback work;", "ROLLBACK"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        es_sql_result r = ES_SQL_RESULT_INIT;
        int begins = strcmp(cases[i].kind, "BEGIN") == 0;
        if (!begins) /* COMMIT and ROLLBACK need an open transaction */
            CHECK_OK(es_txn_begin(s, NULL));
        CHECK_OK(es_sql_exec(q, cases[i].sql, &r));
        CHECK_EQ_STR(r.kind, cases[i].kind);
        CHECK_EQ_INT(es_txn_active(s, NULL), begins);
        if (begins)
            CHECK_OK(es_txn_abort(s));
        es_sql_result_reset(&r);
        /* Out of place: an error at the statement, of its kind. */
        if (begins)
            CHECK_OK(es_txn_begin(s, NULL));
        CHECK_EQ_INT(es_sql_exec(q, cases[i].sql, &r), ES_INVALID);
        CHECK_EQ_STR(r.kind, cases[i].kind);
        CHECK(strstr(es_sql_errmsg(q), begins ? "already open" : "no transaction is open"));
        CHECK_EQ_INT(es_sql_errline(q), 1);
        CHECK_EQ_INT(es_sql_errcol(q), (int)strspn(cases[i].sql, " ") + 1);
        if (begins)
            CHECK_OK(es_txn_abort(s));
        es_sql_result_reset(&r);
    }
    /* START needs TRANSACTION; other words after BEGIN are syntax errors. */
    es_sql_result r = ES_SQL_RESULT_INIT;
    CHECK_EQ_INT(es_sql_exec(q, "START;", &r), ES_INVALID);
    es_sql_result_reset(&r);
    CHECK_EQ_INT(es_sql_exec(q, "BEGIN IMMEDIATELY;", &r), ES_INVALID);
    es_sql_result_reset(&r);
    /* In a script, a transaction left open stays open after it. */
    CHECK_OK(es_sql_exec_script(q, "CREATE TABLE t (x INT); BEGIN; INSERT INTO t VALUES (1);", NULL,
                                NULL));
    CHECK_EQ_INT(es_txn_active(s, NULL), 1);
    CHECK_EQ_INT(es_sql_exec_script(q, "COMMIT; COMMIT;", NULL, NULL), ES_INVALID);
    CHECK_EQ_INT(es_sql_errcol(q), 9);
    es_sql_session_close(q);
    es_store_close(s);
}

int main(void)
{
    test_store();
    test_sql();
    test_transactions();
    return CHECK_DONE();
}
