/*
 * test_sql: the public SQL API (include/expstore/sql.h) on a mem:// store.
 *
 *  - CREATE, INSERT and SELECT of every type: result schemas (column names and Arrow format
 *    strings), values read from the Arrow batches, NULLs, the kind and changes of each
 *    statement;
 *  - aggregates, GROUP BY, ORDER BY, LIMIT and OFFSET, EXPLAIN;
 *  - es_sql_exec_script with its callback (statement texts, stopping, errors), es_sql_exec
 *    refusing a second statement, es_sql_exec_next stepping through a script with a bad
 *    statement in it;
 *  - errors with their exact code, line and column: syntax errors, unknown columns and tables,
 *    an error raised while a result stream is read;
 *  - a streaming SELECT over a table of many batches gives more than one batch, LIMIT stops the
 *    scan early, and reading only the first batch then releasing the stream leaks nothing (run
 *    under ASan);
 *  - es_sql_complete, es_sql_format_value, es_sql_type_name, es_sql_write_csv, the progress
 *    callback of COPY FROM, a session closed under an open stream;
 *  - DELETE, UPDATE, TRUNCATE and upserts: the kind and count of each, errors (also one raised
 *    while the update runs) with their code and position, and that they commit nothing;
 *  - threads (es_store_set_threads): scans, filters and aggregations over a table of many
 *    batches with deleted rows give the same rows with 1, 2 and 5 threads, and an error raised
 *    in an aggregating thread is the same error; ORDER BY ... LIMIT (a running top k) gives the
 *    window of the whole sort.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "testutil.h"
#include "expstore/expstore.h"
#include "expstore/sql.h"
#include "expstore/sys/objstore.h"
#include "table/table.h" /* the store's object store, to remove .data objects behind its back */
#include "util/util.h"   /* es_util_alloc_fail_at */

/* A result read to its end: "name:format,..." and one line per row, values '|'-separated. */
typedef struct table_text {
    char schema[1024];
    char *rows;
    size_t len, cap;
    int64_t nrows;
    int nbatches;
    int failed; /* get_next failed */
    char err[600];
} table_text;

static void tt_append(table_text *t, const char *p, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->rows = realloc(t->rows, t->cap);
    }
    memcpy(t->rows + t->len, p, n);
    t->len += n;
    t->rows[t->len] = 0;
}

static void tt_free(table_text *t)
{
    free(t->rows);
    memset(t, 0, sizeof *t);
}

/* Read the whole stream of r (the caller still resets r). */
static void read_text(es_sql_result *r, table_text *t)
{
    memset(t, 0, sizeof *t);
    tt_append(t, "", 0);
    struct ArrowSchema schema;
    if (!r->has_rows || r->stream.get_schema(&r->stream, &schema) != 0) {
        t->failed = 1;
        return;
    }
    size_t k = 0;
    for (int64_t c = 0; c < schema.n_children; c++)
        k += (size_t)snprintf(t->schema + k, sizeof t->schema - k, "%s%s:%s", c ? "," : "",
                              schema.children[c]->name, schema.children[c]->format);
    for (;;) {
        struct ArrowArray a;
        if (r->stream.get_next(&r->stream, &a) != 0) {
            const char *m = r->stream.get_last_error(&r->stream);
            snprintf(t->err, sizeof t->err, "%s", m ? m : "?");
            t->failed = 1;
            break;
        }
        if (!a.release)
            break;
        t->nbatches++;
        es_array_view v;
        CHECK_OK(es_array_view_init(&v, &schema, &a, NULL));
        for (int64_t i = 0; i < v.length; i++) {
            for (int64_t c = 0; c < v.n_children; c++) {
                char buf[256];
                int64_t len;
                const char *p = es_sql_format_value(&v.children[c], i, buf, sizeof buf, &len);
                if (c)
                    tt_append(t, "|", 1);
                tt_append(t, p, (size_t)len);
            }
            tt_append(t, "\n", 1);
        }
        t->nrows += v.length;
        es_array_view_reset(&v);
        a.release(&a);
    }
    es_schema_release(&schema);
}

static void exec_ok(es_sql_session *q, const char *sql, int line)
{
    es_sql_result r = ES_SQL_RESULT_INIT;
    es_status st = es_sql_exec(q, sql, &r);
    if (st != ES_OK) {
        check_failed++;
        fprintf(stderr, "line %d: %s\n  failed: %s %d:%d: %s\n", line, sql, es_status_name(st),
                es_sql_errline(q), es_sql_errcol(q), es_sql_errmsg(q));
    } else {
        check_passed++;
    }
    es_sql_result_reset(&r);
}
#define EXEC_OK(q, sql) exec_ok(q, sql, __LINE__)

/* Run a query and compare its schema and rows. */
static void expect_rows(es_sql_session *q, const char *sql, const char *schema, const char *rows,
                        int line)
{
    es_sql_result r = ES_SQL_RESULT_INIT;
    es_status st = es_sql_exec(q, sql, &r);
    table_text t;
    read_text(&r, &t);
    if (st != ES_OK || t.failed || strcmp(t.schema, schema) != 0 || strcmp(t.rows, rows) != 0) {
        check_failed++;
        fprintf(stderr,
                "line %d: %s\n  status %s (%s) %s\n  schema %s\n  expected %s\n  rows:\n%s  "
                "expected:\n%s",
                line, sql, es_status_name(st), es_sql_errmsg(q), t.err, t.schema, schema, t.rows,
                rows);
    } else {
        check_passed++;
    }
    tt_free(&t);
    es_sql_result_reset(&r);
}
#define EXPECT_ROWS(q, sql, schema, rows) expect_rows(q, sql, schema, rows, __LINE__)

/* Run a statement that must fail with `code` at line:col and a message containing `msg`. */
static void expect_error(es_sql_session *q, const char *sql, es_status code, int eline, int ecol,
                         const char *msg, int line)
{
    es_sql_result r = ES_SQL_RESULT_INIT;
    es_status st = es_sql_exec(q, sql, &r);
    if (st != code || es_sql_errcode(q) != code || es_sql_errline(q) != eline ||
        es_sql_errcol(q) != ecol || !strstr(es_sql_errmsg(q), msg) || r.stream.release) {
        check_failed++;
        fprintf(stderr, "line %d: %s\n  got %s %d:%d: %s\n  expected %s %d:%d: %s\n", line, sql,
                es_status_name(st), es_sql_errline(q), es_sql_errcol(q), es_sql_errmsg(q),
                es_status_name(code), eline, ecol, msg);
    } else {
        check_passed++;
    }
    es_sql_result_reset(&r);
}
#define EXPECT_ERROR(q, sql, code, l, c, msg) expect_error(q, sql, code, l, c, msg, __LINE__)

/* ------------------------------------------------------------------ tests */

static void test_types(es_sql_session *q)
{
    es_sql_result r = ES_SQL_RESULT_INIT;
    CHECK_OK(es_sql_exec(q,
                         "CREATE TABLE ty (id BIGINT, b BOOLEAN, sm SMALLINT, i INTEGER, r REAL, "
                         "d DOUBLE, dec DECIMAL(10,2), v VARCHAR, bl BLOB, dt DATE, ts TIMESTAMP, "
                         "tz TIMESTAMP WITH TIME ZONE, PRIMARY KEY (id));",
                         &r));
    CHECK_EQ_STR(r.kind, "CREATE TABLE");
    CHECK_EQ_INT(r.changes, -1);
    CHECK(!r.has_rows && !r.stream.release);
    es_sql_result_reset(&r);
    CHECK_OK(es_sql_exec(q,
                         "INSERT INTO ty VALUES (1, true, -32768, 2147483647, 0.5, -1.25, -12.3, "
                         "'héllo', 'ab', '2024-02-29', '2024-03-01 12:34:56.5', "
                         "'2024-03-01T10:00:00+02:00'), "
                         "(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
                         &r));
    CHECK_EQ_STR(r.kind, "INSERT");
    CHECK_EQ_INT(r.changes, 2);
    es_sql_result_reset(&r);
    EXPECT_ROWS(q, "SELECT * FROM ty ORDER BY id",
                "id:l,b:b,sm:s,i:i,r:f,d:g,dec:d:10,2,v:u,bl:z,dt:tdD,ts:tsu:,tz:tsu:UTC",
                "1|true|-32768|2147483647|0.5|-1.25|-12.30|héllo|\\x61\\x62|2024-02-29|"
                "2024-03-01 12:34:56.500000|2024-03-01 08:00:00+00\n"
                "2|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL\n");
    /* The raw Arrow values, and NULLs as validity bits. */
    CHECK_OK(es_sql_exec(q, "SELECT i, dec, dt, ts, v, b FROM ty WHERE id = 1", &r));
    CHECK_EQ_STR(r.kind, "SELECT");
    CHECK(r.has_rows && r.changes == -1);
    struct ArrowSchema schema;
    struct ArrowArray a;
    CHECK(r.stream.get_schema(&r.stream, &schema) == 0);
    CHECK(r.stream.get_next(&r.stream, &a) == 0 && a.release);
    es_array_view v;
    CHECK_OK(es_array_view_init(&v, &schema, &a, NULL));
    CHECK_EQ_INT(v.length, 1);
    CHECK_EQ_INT(es_view_get_int(&v.children[0], 0), 2147483647);
    CHECK_EQ_INT(es_view_get_int(&v.children[1], 0), -1230); /* unscaled */
    CHECK_EQ_INT(es_view_get_int(&v.children[2], 0), 19782); /* days since 1970 */
    CHECK_EQ_INT(es_view_get_int(&v.children[3], 0), 1709296496500000LL);
    int64_t len;
    const uint8_t *p = es_view_get_bytes(&v.children[4], 0, &len);
    CHECK(len == 6 && memcmp(p, "héllo", 6) == 0);
    CHECK_EQ_INT(es_view_get_int(&v.children[5], 0), 1);
    for (int c = 0; c < 6; c++)
        CHECK(schema.children[c]->flags & ARROW_FLAG_NULLABLE);
    es_array_view_reset(&v);
    a.release(&a);
    CHECK(r.stream.get_next(&r.stream, &a) == 0 && !a.release); /* the end */
    es_schema_release(&schema);
    es_sql_result_reset(&r);
    CHECK(r.stream.release == NULL && r.kind[0] == 0 && r.changes == -1);

    EXPECT_ROWS(q, "SELECT id FROM ty WHERE b IS NULL AND v IS NULL", "id:l", "2\n");
    EXPECT_ROWS(q,
                "SELECT NULL AS n, 1 + 2 AS three, 'x' || 'y' AS s, 7.0 / 2, CAST(1 AS SMALLINT)",
                "n:n,three:l,s:u,(7.0 / 2):g,CAST(1 AS SMALLINT):s", "NULL|3|xy|3.5|1\n");
    /* Decimal arithmetic keeps its scale; a result past 18 digits is an overflow error
     * (docs/SQL.md; tested through the binary in test_shell_regress). */
    EXPECT_ROWS(q, "SELECT dec * dec, dec + 1 FROM ty WHERE id = 1",
                "(dec * dec):d:18,4,(dec + 1):d:18,2", "151.2900|-11.30\n");
    EXPECT_ROWS(q, "SELECT CAST(499999999999999999 AS DECIMAL(18,0)) + 499999999999999999 AS big",
                "big:d:18,0", "999999999999999998\n");
}

static void test_aggregates(es_sql_session *q)
{
    EXEC_OK(q, "CREATE TABLE sales (id INTEGER NOT NULL, region TEXT, amount DECIMAL(10,2), "
               "qty SMALLINT)");
    es_sql_result r = ES_SQL_RESULT_INIT;
    CHECK_OK(es_sql_exec(q,
                         "INSERT INTO sales VALUES (1,'north',10.50,1),(2,'south',20.25,2),"
                         "(3,'north',5,3),(4,NULL,1.10,4),(5,'south',NULL,5),(6,'east',7.77,6);",
                         &r));
    CHECK_EQ_INT(r.changes, 6);
    es_sql_result_reset(&r);
    EXPECT_ROWS(q,
                "SELECT region, count(*) AS n, sum(amount) AS total, max(qty), avg(qty) FROM sales "
                "GROUP BY region ORDER BY region NULLS FIRST",
                "region:u,n:l,total:d:18,2,max(qty):s,avg(qty):g",
                "NULL|1|1.10|4|4.0\neast|1|7.77|6|6.0\nnorth|2|15.50|3|2.0\nsouth|2|20.25|5|3.5\n");
    EXPECT_ROWS(q, "SELECT count(*), min(region), sum(qty) FROM sales WHERE id > 100",
                "count(*):l,min(region):u,sum(qty):l", "0|NULL|NULL\n");
    EXPECT_ROWS(q, "SELECT id FROM sales ORDER BY qty DESC LIMIT 2 OFFSET 1", "id:i", "5\n4\n");
    EXPECT_ROWS(q, "SELECT id FROM sales LIMIT 2", "id:i", "1\n2\n");
    EXPECT_ROWS(q, "SELECT id FROM sales LIMIT 2 OFFSET 5", "id:i", "6\n");
    EXPECT_ROWS(q, "SELECT DISTINCT region FROM sales WHERE region IS NOT NULL ORDER BY 1",
                "region:u", "east\nnorth\nsouth\n");
    EXPECT_ROWS(q,
                "SELECT region, sum(qty) FROM sales GROUP BY region HAVING count(*) > 1 ORDER BY 2",
                "region:u,sum(qty):l", "north|4\nsouth|7\n");

    /* EXPLAIN ANALYZE: one text column; the query ran. */
    CHECK_OK(es_sql_exec(q, "EXPLAIN ANALYZE SELECT id FROM sales WHERE id BETWEEN 2 AND 4", &r));
    CHECK_EQ_STR(r.kind, "EXPLAIN");
    table_text t;
    read_text(&r, &t);
    CHECK_EQ_STR(t.schema, "plan:u");
    CHECK(strncmp(t.rows, "SCAN sales\n  columns: id\n  pushed predicate: ", 44) == 0);
    CHECK(strstr(t.rows, "  result rows: 3\n") != NULL);
    tt_free(&t);
    es_sql_result_reset(&r);
}

/* es_sql_exec_script's callback: records each statement and reads its rows. */
typedef struct script_log {
    char text[4096];
    int calls, stop_after;
} script_log;

static int on_statement(void *arg, const char *statement, es_sql_result *result)
{
    script_log *log = arg;
    size_t k = strlen(log->text);
    snprintf(log->text + k, sizeof log->text - k, "[%s] %s changes=%lld\n", result->kind, statement,
             (long long)result->changes);
    if (result->has_rows) {
        table_text t;
        read_text(result, &t);
        k = strlen(log->text);
        snprintf(log->text + k, sizeof log->text - k, "%s%s", t.rows, t.failed ? "FAILED\n" : "");
        tt_free(&t);
    }
    return ++log->calls == log->stop_after;
}

static void test_scripts(es_sql_session *q)
{
    script_log log;
    memset(&log, 0, sizeof log);
    CHECK_OK(es_sql_exec_script(q,
                                "-- a script\nCREATE TABLE sc (k INT);\n"
                                "INSERT INTO sc VALUES (1), (2);  /* two */\n"
                                "SELECT k * 10 FROM sc ORDER BY k;;\n"
                                "SELECT count(*) FROM sc",
                                on_statement, &log));
    CHECK_EQ_STR(log.text, "[CREATE TABLE] CREATE TABLE sc (k INT); changes=-1\n"
                           "[INSERT] INSERT INTO sc VALUES (1), (2); changes=2\n"
                           "[SELECT] SELECT k * 10 FROM sc ORDER BY k; changes=-1\n10\n20\n"
                           "[SELECT] SELECT count(*) FROM sc changes=-1\n2\n");
    /* Non-zero from the callback stops the script (with ES_OK). */
    memset(&log, 0, sizeof log);
    log.stop_after = 1;
    CHECK_OK(es_sql_exec_script(q, "INSERT INTO sc VALUES (3); INSERT INTO sc VALUES (4);",
                                on_statement, &log));
    CHECK_EQ_INT(log.calls, 1);
    EXPECT_ROWS(q, "SELECT count(*) FROM sc", "count(*):l", "3\n");
    /* The first error stops it; its position is in the whole script. */
    memset(&log, 0, sizeof log);
    CHECK_EQ_INT(es_sql_exec_script(q,
                                    "INSERT INTO sc VALUES (5);\nSELECT nope\nFROM sc;\n"
                                    "INSERT INTO sc VALUES (6);",
                                    on_statement, &log),
                 ES_INVALID);
    CHECK_EQ_INT(log.calls, 1);
    CHECK_EQ_INT(es_sql_errline(q), 2);
    CHECK_EQ_INT(es_sql_errcol(q), 8);
    CHECK_EQ_STR(es_sql_errmsg(q), "unknown column 'nope'");
    EXPECT_ROWS(q, "SELECT max(k) FROM sc", "max(k):i", "5\n");
    /* An error while the callback reads a stream stops the script too. */
    memset(&log, 0, sizeof log);
    CHECK_EQ_INT(es_sql_exec_script(q,
                                    "SELECT CAST('x' || k AS INTEGER) FROM sc; "
                                    "INSERT INTO sc VALUES (7);",
                                    on_statement, &log),
                 ES_INVALID);
    CHECK_EQ_INT(log.calls, 1);
    CHECK(strstr(log.text, "FAILED") != NULL);
    CHECK_EQ_INT(es_sql_errcol(q), 8);
    /* Without a callback. */
    CHECK_OK(es_sql_exec_script(q, "INSERT INTO sc VALUES (8); SELECT * FROM sc;", NULL, NULL));
    EXPECT_ROWS(q, "SELECT count(*) FROM sc", "count(*):l", "5\n");

    /* es_sql_exec runs exactly one statement: a second is refused before anything runs. */
    EXPECT_ERROR(q, "INSERT INTO sc VALUES (9); SELECT 2", ES_INVALID, 1, 28, "second statement");
    EXPECT_ROWS(q, "SELECT count(*) FROM sc", "count(*):l", "5\n");
    EXPECT_ROWS(q, "SELECT 1 AS one; ;\n-- trailing comment\n", "one:l", "1\n");
    EXPECT_ERROR(q, "  -- nothing\n", ES_INVALID, 0, 0, "no statement");

    /* es_sql_exec_next steps through a script and past a syntax error. */
    const char *script = "SELECT 1 AS a;\n\nSELEC 2;\nSELECT 3 AS c; -- end\n";
    size_t off = 0;
    es_sql_result r = ES_SQL_RESULT_INIT;
    CHECK_OK(es_sql_exec_next(q, script, strlen(script), &off, &r));
    CHECK_EQ_STR(r.kind, "SELECT");
    es_sql_result_reset(&r);
    CHECK_EQ_INT(es_sql_exec_next(q, script, strlen(script), &off, &r), ES_INVALID);
    CHECK_EQ_STR(r.kind, "");
    CHECK_EQ_INT(es_sql_errline(q), 3);
    CHECK_EQ_INT(es_sql_errcol(q), 1);
    CHECK_EQ_STR(es_sql_errmsg(q),
                 "syntax error at 'SELEC': expected a statement; did you mean SELECT?");
    CHECK_EQ_INT(off, 24); /* past the bad statement's ';' */
    CHECK_OK(es_sql_exec_next(q, script, strlen(script), &off, &r));
    table_text t;
    read_text(&r, &t);
    CHECK_EQ_STR(t.rows, "3\n");
    tt_free(&t);
    es_sql_result_reset(&r);
    CHECK_OK(es_sql_exec_next(q, script, strlen(script), &off, &r));
    CHECK_EQ_STR(r.kind, "");
    CHECK_EQ_INT(off, strlen(script));
    /* Only len bytes count; a stream's error has its line and column in the whole script. */
    const char *s2 = "SELECT 1;\nSELECT 2;\n\n  SELECT CAST('x' || k AS INTEGER) FROM sc; junk";
    size_t len2 = strlen(s2) - strlen(" junk");
    off = 0;
    for (int i = 0; i < 3; i++) {
        CHECK_OK(es_sql_exec_next(q, s2, len2, &off, &r));
        read_text(&r, &t);
        CHECK_EQ_INT(t.failed, i == 2);
        tt_free(&t);
        es_sql_result_reset(&r);
    }
    CHECK_EQ_INT(es_sql_errline(q), 4);
    CHECK_EQ_INT(es_sql_errcol(q), 10);
    CHECK_OK(es_sql_exec_next(q, s2, len2, &off, &r));
    CHECK_EQ_STR(r.kind, "");
    CHECK_EQ_INT(off, len2);
    off = len2 + 1;
    CHECK_EQ_INT(es_sql_exec_next(q, s2, len2, &off, &r), ES_INVALID);
}

static void test_errors(es_sql_session *q)
{
    /* A syntax error on line 2 of a statement. */
    EXPECT_ERROR(q, "SELECT id\nFROM ty WHERE id = = 3", ES_INVALID, 2, 20, "syntax error at '='");
    EXPECT_ERROR(q, "SELECT nosuch FROM ty", ES_INVALID, 1, 8, "unknown column 'nosuch'");
    EXPECT_ERROR(q, "SELECT id,\n\tlength(nosuch) FROM ty", ES_INVALID, 2, 9,
                 "unknown column 'nosuch'");
    EXPECT_ERROR(q, "SELECT * FROM nope", ES_NOT_FOUND, 1, 15, "no such table: nope");
    EXPECT_ERROR(q, "CREATE TABLE ty (x INT)", ES_EXISTS, 1, 1, "table 'ty' already exists");
    EXPECT_ERROR(q, "SELECT 'abc", ES_INVALID, 1, 8, "unterminated string literal");
    EXPECT_ERROR(q, "SELECT v + 1 FROM ty", ES_INVALID, 1, 10, "type error");
    EXPECT_ERROR(q, "INSERT INTO ty (id, i) VALUES (9, 'old')", ES_INVALID, 1, 35,
                 "column i (INTEGER): cannot cast 'old' to INTEGER");
    /* An unknown table: the caret at its name, in every statement that names one. */
    EXPECT_ERROR(q, "DROP TABLE nope", ES_NOT_FOUND, 1, 12, "no such table: nope");
    EXPECT_ERROR(q, "INSERT INTO\n  nope VALUES (1)", ES_NOT_FOUND, 2, 3, "no such table: nope");
    EXPECT_ERROR(q, "UPDATE nope SET a = 1", ES_NOT_FOUND, 1, 8, "no such table: nope");
    EXPECT_ERROR(q, "COPY nope TO '/tmp/x.csv'", ES_NOT_FOUND, 1, 6, "no such table: nope");
    EXPECT_ERROR(q, "COPY nope FROM '/tmp/x.csv'", ES_NOT_FOUND, 1, 6, "no such table: nope");
    EXPECT_ERROR(q, "ALTER TABLE nope ADD COLUMN c INT", ES_NOT_FOUND, 1, 13,
                 "no such table: nope");
    EXPECT_ERROR(q, "CREATE INDEX nx ON nope (a)", ES_NOT_FOUND, 1, 20, "no such table: nope");
    EXPECT_ERROR(q, "OPTIMIZE TABLE tyy", ES_NOT_FOUND, 1, 16,
                 "no such table: tyy; did you mean 'ty'?");
    EXPECT_ERROR(q, "DESCRIBE nope", ES_NOT_FOUND, 1, 10, "no such table: nope");
    EXPECT_ERROR(q, "DESCRIBE HISTORY nope", ES_NOT_FOUND, 1, 18, "no such table: nope");
    EXPECT_ERROR(q, "DESCRIBE nope AS OF VERSION 0", ES_NOT_FOUND, 1, 10,
                 "no table 'nope' at version 0");
    EXPECT_ERROR(q, "COPY ty FROM '/nonexistent/x.csv'", ES_IO, 0, 0, "/nonexistent/x.csv");
    /* The message of the last error stays until the next statement, which clears it. */
    EXEC_OK(q, "SELECT 1");
    CHECK_EQ_STR(es_sql_errmsg(q), "");
    CHECK_EQ_INT(es_sql_errcode(q), ES_OK);
    CHECK_EQ_INT(es_sql_errline(q), 0);

    /* An error while the stream is read: get_next fails, the session has the error. */
    es_sql_result r = ES_SQL_RESULT_INIT;
    CHECK_OK(es_sql_exec(q, "SELECT id,\n  CAST(v AS INTEGER) FROM ty", &r));
    struct ArrowArray a;
    CHECK_EQ_INT(r.stream.get_next(&r.stream, &a), EINVAL);
    CHECK(a.release == NULL);
    CHECK_EQ_STR(r.stream.get_last_error(&r.stream), "2:3: cannot cast 'héllo' to INTEGER");
    CHECK_EQ_INT(es_sql_errcode(q), ES_INVALID);
    CHECK_EQ_INT(es_sql_errline(q), 2);
    CHECK_EQ_INT(es_sql_errcol(q), 3);
    CHECK_EQ_INT(r.stream.get_next(&r.stream, &a), EINVAL); /* again, the same error */
    CHECK_EQ_STR(r.stream.get_last_error(&r.stream), "2:3: cannot cast 'héllo' to INTEGER");
    /* While a stream is open the session refuses statements. */
    es_sql_result r2 = ES_SQL_RESULT_INIT;
    CHECK_EQ_INT(es_sql_exec(q, "SELECT 1", &r2), ES_INVALID);
    CHECK(strstr(es_sql_errmsg(q), "still open") != NULL);
    es_sql_result_reset(&r);
    EXEC_OK(q, "SELECT 1");
    /* Misuse. */
    CHECK_EQ_INT(es_sql_exec(q, NULL, &r), ES_INVALID);
    CHECK_EQ_INT(es_sql_exec(NULL, "SELECT 1", &r), ES_INVALID);
    es_sql_session *none = q;
    CHECK_EQ_INT(es_sql_session_open(&none, NULL), ES_INVALID);
    CHECK(none == NULL);
}

/* A table of many batches read as a stream. */
static void test_streaming(void)
{
    es_store *s = NULL;
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.batch_rows = 1000;
    CHECK_OK(es_store_open(&s, "mem://stream", &o));
    es_sql_session *q = NULL;
    CHECK_OK(es_sql_session_open(&q, s));
    EXEC_OK(q, "CREATE TABLE big (id BIGINT NOT NULL, v VARCHAR, PRIMARY KEY (id))");
    /* 100k rows in one insert, through the public Arrow builders. */
    enum { N = 100000 };
    struct ArrowSchema schema;
    CHECK_OK(es_schema_init_struct(&schema, 2, NULL));
    CHECK_OK(es_schema_init(schema.children[0], "l", "id", 0, NULL));
    CHECK_OK(es_schema_init(schema.children[1], "u", "v", ARROW_FLAG_NULLABLE, NULL));
    es_builder *b = NULL;
    CHECK_OK(es_builder_new(&b, &schema, NULL));
    for (int64_t i = 0; i < N; i++) {
        char v[32];
        int n = snprintf(v, sizeof v, "v%lld", (long long)i);
        es_builder_append_int(es_builder_child(b, 0), i);
        es_builder_append_bytes(es_builder_child(b, 1), v, n);
        es_builder_append_struct(b);
    }
    struct ArrowArray batch;
    CHECK_OK(es_builder_finish(b, &batch, NULL));
    es_builder_free(b);
    CHECK_OK(es_insert_batch(s, "big", &schema, &batch));
    es_schema_release(&schema);

    /* The whole table: more than one batch, every row once, in key order. */
    es_sql_result r = ES_SQL_RESULT_INIT;
    CHECK_OK(es_sql_exec(q, "SELECT id, v FROM big WHERE id % 10 <> 3", &r));
    int nbatches = 0;
    int64_t rows = 0, next = 0, bad = 0;
    CHECK(r.stream.get_schema(&r.stream, &schema) == 0);
    for (;;) {
        struct ArrowArray a;
        if (r.stream.get_next(&r.stream, &a) != 0 || !a.release)
            break;
        nbatches++;
        es_array_view v;
        CHECK_OK(es_array_view_init(&v, &schema, &a, NULL));
        for (int64_t i = 0; i < v.length; i++, rows++) {
            bad += es_view_get_int(&v.children[0], i) != next;
            next += next % 10 == 2 ? 2 : 1;
        }
        es_array_view_reset(&v);
        a.release(&a);
    }
    es_schema_release(&schema);
    es_sql_result_reset(&r);
    CHECK(nbatches > 1);
    CHECK_EQ_INT(rows, N / 10 * 9);
    CHECK_EQ_INT(bad, 0);

    /* Read only the first batch of a SELECT *, then let the stream go (no leak under ASan). */
    CHECK_OK(es_sql_exec(q, "SELECT * FROM big", &r));
    struct ArrowArray a;
    CHECK(r.stream.get_next(&r.stream, &a) == 0 && a.release);
    CHECK(a.length > 0 && a.length < N);
    a.release(&a);
    r.stream.release(&r.stream);
    CHECK(r.stream.release == NULL);
    es_sql_result_reset(&r);

    /* LIMIT stops the scan: far fewer rows scanned than the table holds. */
    CHECK_OK(es_sql_exec(q, "EXPLAIN ANALYZE SELECT id FROM big LIMIT 5 OFFSET 10", &r));
    table_text t;
    read_text(&r, &t);
    const char *scanned = strstr(t.rows, "  rows: ");
    CHECK(scanned && atoll(scanned + 8) < N / 2);
    CHECK(strstr(t.rows, "  result rows: 5\n") != NULL);
    tt_free(&t);
    es_sql_result_reset(&r);
    EXPECT_ROWS(q, "SELECT id FROM big LIMIT 3 OFFSET 65535", "id:l", "65535\n65536\n65537\n");
    EXPECT_ROWS(q, "SELECT count(*), sum(id), max(v) FROM big", "count(*):l,sum(id):l,max(v):u",
                "100000|4999950000|v99999\n");

    /* A session closed under an open stream: the stream fails, then releases cleanly. */
    CHECK_OK(es_sql_exec(q, "SELECT id FROM big", &r));
    es_sql_session_close(q);
    CHECK_EQ_INT(r.stream.get_next(&r.stream, &a), EINVAL);
    CHECK(strstr(r.stream.get_last_error(&r.stream), "closed") != NULL);
    es_sql_result_reset(&r);
    es_store_close(s);
}

/* The result of sql as text ("error <status>: <message>" when it fails). */
static char *result_text(es_sql_session *q, const char *sql)
{
    es_sql_result r = ES_SQL_RESULT_INIT;
    es_status st = es_sql_exec(q, sql, &r);
    table_text t;
    read_text(&r, &t);
    char *out = malloc(t.len + 1024);
    if (st != ES_OK || t.failed)
        snprintf(out, t.len + 1024, "error %s: %s%s", es_status_name(es_sql_errcode(q)),
                 es_sql_errmsg(q), t.err);
    else
        memcpy(out, t.rows, t.len + 1);
    tt_free(&t);
    es_sql_result_reset(&r);
    return out;
}

static void test_threads(void)
{
    es_store *s = NULL;
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.batch_rows = 500;
    CHECK_OK(es_store_open(&s, "mem://threads", &o));
    CHECK_EQ_INT(es_store_set_threads(s, -1), ES_INVALID);
    CHECK_EQ_INT(es_store_set_threads(NULL, 2), ES_INVALID);
    CHECK_OK(es_store_set_threads(s, 0));
    CHECK(es_store_threads(s) >= 1);
    es_sql_session *q = NULL;
    CHECK_OK(es_sql_session_open(&q, s));
    EXEC_OK(q, "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, g INTEGER, s VARCHAR, d DOUBLE)");
    /* 60k rows (120 batches), doubles integral so that sums are exact in any order. */
    char sql[256];
    snprintf(sql, sizeof sql,
             "INSERT INTO t SELECT id, id * 7919 %% 97, 'k' || (id * 31 %% 1013), "
             "CASE WHEN id %% 11 = 0 THEN NULL ELSE id %% 1000 END FROM t2");
    EXEC_OK(q, "CREATE TABLE t2 (id BIGINT NOT NULL PRIMARY KEY)");
    for (int k = 0; k < 6; k++) {
        sbuf b = {0};
        sb_printf(&b, "INSERT INTO t2 VALUES (%d)", k * 10000);
        for (int i = 1; i < 10000; i++)
            sb_printf(&b, ", (%d)", k * 10000 + i);
        EXEC_OK(q, b.p);
        free(b.p);
    }
    EXEC_OK(q, sql);
    EXEC_OK(q, "DELETE FROM t WHERE g = 3 OR id % 13 = 1");
    static const char *queries[] = {
        "SELECT g, count(*), count(d), sum(d), avg(d), min(d), max(d), min(s), max(s), max(id) "
        "FROM t GROUP BY g ORDER BY g",
        "SELECT count(*), sum(id), min(s) FROM t WHERE s LIKE '%7%'",
        "SELECT s, count(*) FROM t GROUP BY s ORDER BY 2 DESC, 1 LIMIT 7",
        "SELECT count(*), sum(d) FROM t",
        "SELECT * FROM t WHERE g = 5 AND d > 100",
        "SELECT id, s FROM t WHERE id BETWEEN 30000 AND 30010",
        "SELECT g, count(DISTINCT s) FROM t GROUP BY g HAVING count(*) > 400 ORDER BY g",
        "SELECT g, sum(CAST(s AS INTEGER)) FROM t GROUP BY g",
    };
    enum { NQ = sizeof queries / sizeof queries[0] };
    char *want[NQ];
    CHECK_OK(es_store_set_threads(s, 1));
    for (int i = 0; i < NQ; i++)
        want[i] = result_text(q, queries[i]);
    for (int i = 0; i < NQ - 1; i++)
        CHECK(strncmp(want[i], "error ", 6) != 0 && strlen(want[i]) > 10);
    CHECK(strlen(want[0]) > 1000);
    CHECK(strncmp(want[NQ - 1], "error ", 6) == 0);
    for (int n = 2; n <= 5; n += 3) {
        CHECK_OK(es_store_set_threads(s, n));
        CHECK_EQ_INT(es_store_threads(s), n);
        for (int i = 0; i < NQ; i++) {
            char *got = result_text(q, queries[i]);
            if (strcmp(got, want[i]) != 0) {
                check_failed++;
                fprintf(stderr, "%d threads: %s\n  got %.300s\n  want %.300s\n", n, queries[i], got,
                        want[i]);
            } else {
                check_passed++;
            }
            free(got);
        }
    }
    for (int i = 0; i < NQ; i++)
        free(want[i]);
    /* ORDER BY ... LIMIT keeps a running top k (ties and NULLs included): the rows of the
     * whole sort's window. */
    static const char *orders[] = {"d DESC NULLS FIRST, s", "d, g DESC", "s DESC, d"};
    for (int i = 0; i < 3; i++) {
        char all[200], lim[256];
        snprintf(all, sizeof all, "SELECT id, g, d FROM t ORDER BY %s", orders[i]);
        snprintf(lim, sizeof lim, "%s LIMIT 25 OFFSET 1000", all);
        char *whole = result_text(q, all), *top = result_text(q, lim), *p = whole;
        for (int line = 0; line < 1000 && p; line++)
            p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL;
        char *end = p;
        for (int line = 0; line < 25 && end; line++)
            end = strchr(end, '\n') ? strchr(end, '\n') + 1 : NULL;
        CHECK(p && end && strlen(top) == (size_t)(end - p) && strncmp(top, p, strlen(top)) == 0);
        free(whole);
        free(top);
    }
    es_sql_session_close(q);
    es_store_close(s);
}

typedef struct progress_log {
    int calls, ends;
    int64_t last_rows, total;
} progress_log;

static void on_progress(void *arg, int64_t done, int64_t total, int64_t rows, int end)
{
    progress_log *p = arg;
    p->calls++;
    p->ends += end != 0;
    p->last_rows = rows;
    p->total = total;
    (void)done;
}

static void test_helpers(es_sql_session *q)
{
    CHECK_EQ_INT(es_sql_complete("SELECT 1"), 0);
    CHECK_EQ_INT(es_sql_complete("SELECT 1;"), 1);
    CHECK_EQ_INT(es_sql_complete("SELECT 1; -- done\n"), 1);
    CHECK_EQ_INT(es_sql_complete("SELECT ';'"), 0);
    CHECK_EQ_INT(es_sql_complete("SELECT 1 /* ; */"), 0);
    CHECK_EQ_INT(es_sql_complete("SELECT 1; /* c */"), 1);
    CHECK_EQ_INT(es_sql_complete(NULL), 0);

    char buf[64];
    CHECK_OK(es_sql_type_name(buf, sizeof buf, "d:10,2"));
    CHECK_EQ_STR(buf, "DECIMAL(10,2)");
    CHECK_OK(es_sql_type_name(buf, sizeof buf, "tsu:UTC"));
    CHECK_EQ_STR(buf, "TIMESTAMP WITH TIME ZONE");
    CHECK_OK(es_sql_type_name(buf, sizeof buf, "i"));
    CHECK_EQ_STR(buf, "INTEGER");
    CHECK_EQ_INT(es_sql_type_name(buf, sizeof buf, "+m"), ES_UNSUPPORTED);
    CHECK_EQ_STR(buf, "");

    /* es_sql_format_value on values no SQL result holds: a 128-bit decimal, seconds. */
    struct ArrowSchema schema;
    CHECK_OK(es_schema_init_struct(&schema, 3, NULL));
    CHECK_OK(es_schema_init(schema.children[0], "d:38,3", "d", ARROW_FLAG_NULLABLE, NULL));
    CHECK_OK(es_schema_init(schema.children[1], "tss:", "t", ARROW_FLAG_NULLABLE, NULL));
    CHECK_OK(es_schema_init(schema.children[2], "w:2", "w", ARROW_FLAG_NULLABLE, NULL));
    es_builder *b = NULL;
    CHECK_OK(es_builder_new(&b, &schema, NULL));
    uint8_t big[16] = {0}, neg[16];
    big[8] = 1; /* 2^64 */
    memset(neg, 0xff, 16);
    neg[0] = 0xfe; /* -2 */
    CHECK_OK(es_builder_append_decimal128(es_builder_child(b, 0), big));
    CHECK_OK(es_builder_append_decimal128(es_builder_child(b, 0), neg));
    CHECK_OK(es_builder_append_int(es_builder_child(b, 1), 86400 + 61));
    CHECK_OK(es_builder_append_null(es_builder_child(b, 1), 1));
    CHECK_OK(es_builder_append_bytes(es_builder_child(b, 2), "\x01\xff", 2));
    CHECK_OK(es_builder_append_bytes(es_builder_child(b, 2), ",\"", 2));
    CHECK_OK(es_builder_append_struct(b));
    CHECK_OK(es_builder_append_struct(b));
    struct ArrowArray a;
    CHECK_OK(es_builder_finish(b, &a, NULL));
    es_builder_free(b);
    es_array_view v;
    CHECK_OK(es_array_view_init(&v, &schema, &a, NULL));
    int64_t len;
    CHECK_EQ_STR(es_sql_format_value(&v.children[0], 0, buf, sizeof buf, &len),
                 "18446744073709551.616");
    CHECK_EQ_STR(es_sql_format_value(&v.children[0], 1, buf, sizeof buf, &len), "-0.002");
    CHECK_EQ_STR(es_sql_format_value(&v.children[1], 0, buf, sizeof buf, &len),
                 "1970-01-02 00:01:01");
    CHECK_EQ_STR(es_sql_format_value(&v.children[1], 1, buf, sizeof buf, &len), "NULL");
    CHECK_EQ_STR(es_sql_format_value(&v.children[2], 0, buf, sizeof buf, &len), "\\x01\\xFF");
    CHECK_EQ_INT(len, 8);
    CHECK_EQ_STR(es_sql_format_value(&v.children[2], 0, buf, 7, &len), "\\x01"); /* cut */
    CHECK_EQ_STR(es_sql_format_value(&v.children[2], 5, buf, sizeof buf, &len), "");
    es_array_view_reset(&v);

    /* CSV as COPY TO writes it. */
    char *out = NULL;
    size_t outlen = 0;
    FILE *f = open_memstream(&out, &outlen);
    CHECK_OK(es_sql_write_csv(f, &schema, &a, ';', 1));
    CHECK_OK(es_sql_write_csv(f, &schema, NULL, ';', 1));
    fclose(f);
    CHECK_EQ_STR(out, "d;t;w\n18446744073709551.616;1970-01-02 00:01:01;\\x01\\xFF\n"
                      "-0.002;;\\x2C\\x22\nd;t;w\n");
    free(out);
    a.release(&a);
    es_schema_release(&schema);

    /* COPY FROM a CSV file reports its progress; COPY TO counts its rows. */
    char path[64], path2[64];
    snprintf(path, sizeof path, "/tmp/test_sql_%d.csv", (int)getpid());
    snprintf(path2, sizeof path2, "/tmp/test_sql_%d.out.csv", (int)getpid());
    f = fopen(path, "w");
    CHECK(f != NULL);
    for (int i = 0; i < 1000; i++)
        fprintf(f, "%d,\"x,%d\"\n", i, i);
    fclose(f);
    progress_log pl;
    memset(&pl, 0, sizeof pl);
    es_sql_session_set_progress(q, on_progress, &pl);
    EXEC_OK(q, "CREATE TABLE c (k INT, s VARCHAR)");
    char sql[256];
    snprintf(sql, sizeof sql, "COPY c FROM '%s'", path);
    es_sql_result r = ES_SQL_RESULT_INIT;
    CHECK_OK(es_sql_exec(q, sql, &r));
    CHECK_EQ_STR(r.kind, "COPY");
    CHECK_EQ_INT(r.changes, 1000);
    CHECK(pl.calls >= 1 && pl.ends == 1 && pl.last_rows == 1000 && pl.total > 0);
    es_sql_session_set_progress(q, NULL, NULL);
    snprintf(sql, sizeof sql, "COPY (SELECT k, s FROM c WHERE k < 3 ORDER BY k) TO '%s'", path2);
    CHECK_OK(es_sql_exec(q, sql, &r));
    CHECK_EQ_INT(r.changes, 3);
    f = fopen(path2, "r");
    char text[256] = "";
    CHECK(f && fread(text, 1, sizeof text - 1, f) > 0);
    if (f)
        fclose(f);
    CHECK_EQ_STR(text, "k,s\n0,\"x,0\"\n1,\"x,1\"\n2,\"x,2\"\n");
    unlink(path);
    unlink(path2);
}

/* The SQL of daily work: CASE, ILIKE, DISTINCT aggregates, GROUP BY an alias, the scalar
 * functions, and the suggestions for unknown names. */
static void test_functions(es_sql_session *q)
{
    EXEC_OK(q, "CREATE TABLE fx (id BIGINT PRIMARY KEY, g INT, name VARCHAR, x DOUBLE, "
               "amt DECIMAL(10,2), d DATE, ts TIMESTAMP NOT NULL)");
    EXEC_OK(q, "INSERT INTO fx VALUES (1, 1, 'Alice', 2.5, 12.345, '2024-03-07', "
               "'2024-03-07 01:02:03.5'), (2, 1, 'bob', -1.25, -0.5, NULL, '2023-12-31 23:59:59'), "
               "(3, 2, NULL, NULL, NULL, '2020-02-29', '2020-02-29 12:00:00'), "
               "(4, 2, 'ÉLAN', 9, 1, '2021-01-01', '2021-01-01 00:00:00')");
    /* CASE: searched and simple; THEN only evaluated where its WHEN holds (no cast error). */
    EXPECT_ROWS(q,
                "SELECT id, CASE WHEN x > 0 THEN 'pos' WHEN x < 0 THEN 'neg' ELSE 'none' END AS "
                "sign, CASE g WHEN 1 THEN 10 WHEN 2 THEN 20.5 END AS k FROM fx ORDER BY id",
                "id:l,sign:u,k:d:18,1", "1|pos|10.0\n2|neg|10.0\n3|none|20.5\n4|pos|20.5\n");
    EXPECT_ROWS(q,
                "SELECT CASE WHEN name = 'bob' THEN CAST(name AS INT) ELSE 0 END FROM fx WHERE "
                "id = 1",
                "CASE WHEN (name = 'bob') THEN CAST(name AS INTEGER) ELSE 0 END:l", "0\n");
    EXPECT_ROWS(q, "SELECT sum(CASE WHEN g = 1 THEN 1 ELSE 0 END) FROM fx",
                "sum(CASE WHEN (g = 1) THEN 1 ELSE 0 END):l", "2\n");
    /* AND and OR in the select list (their operands are a list: the result's nullability). */
    EXPECT_ROWS(q,
                "SELECT id, true AND 1 = 1, x > 0 AND g = 2 AS n, x IS NULL OR g = 1 AS o FROM fx "
                "ORDER BY id",
                "id:l,(true AND (1 = 1)):b,n:b,o:b",
                "1|true|false|true\n2|true|false|true\n3|true|NULL|true\n4|true|true|false\n");
    /* ILIKE (ASCII and Latin-1 letters fold), NOT ILIKE. */
    EXPECT_ROWS(q, "SELECT id FROM fx WHERE name ILIKE 'a%' OR name ILIKE 'élan' ORDER BY id",
                "id:l", "1\n4\n");
    EXPECT_ROWS(q, "SELECT id FROM fx WHERE name NOT ILIKE '%O%' ORDER BY id", "id:l", "1\n4\n");
    /* DISTINCT aggregates; GROUP BY an output alias. */
    EXEC_OK(q, "CREATE TABLE dd (g INT, v INT)");
    EXEC_OK(q, "INSERT INTO dd VALUES (1, 1), (1, 1), (1, 2), (2, NULL), (2, 5), (2, 5)");
    EXPECT_ROWS(q,
                "SELECT g, count(DISTINCT v), sum(DISTINCT v), avg(DISTINCT v), count(v) FROM dd "
                "GROUP BY g ORDER BY g",
                "g:i,count(DISTINCT v):l,sum(DISTINCT v):l,avg(DISTINCT v):g,count(v):l",
                "1|2|3|1.5|3\n2|1|5|5.0|2\n");
    EXPECT_ROWS(q, "SELECT v % 2 AS parity, count(*) AS n FROM dd GROUP BY parity ORDER BY 1",
                "parity:l,n:l", "NULL|1\n0|1\n1|4\n");
    /* Strings. */
    EXPECT_ROWS(q,
                "SELECT substr(name, 2, 2), substring(name FROM 2), substr(name, -2), "
                "trim('  a b  '), ltrim('xxaxx', 'x'), rtrim('xxaxx', 'x'), replace(name, 'b', "
                "'BB'), concat(name, '-', id, NULL), nullif(g, 2) FROM fx WHERE id <= 2 ORDER BY "
                "id",
                "substr(name, 2, 2):u,substring(name, 2):u,substr(name, -2):u,trim('  a b  '):u,"
                "ltrim('xxaxx', 'x'):u,rtrim('xxaxx', 'x'):u,replace(name, 'b', 'BB'):u,"
                "concat(name, '-', id, NULL):u,nullif(g, 2):i",
                "li|lice|ce|a b|axx|xxa|Alice|Alice-1|1\nob|ob|ob|a b|axx|xxa|BBoBB|bob-2|1\n");
    EXPECT_ROWS(q, "SELECT substr('héllo', 2, 3) AS s, length(substr('héllo', 2)) AS n", "s:u,n:l",
                "éll|4\n");
    /* Numbers: round half away from zero (decimals exact), floor, ceil, math (NULL outside the
     * domain, as SQLite). */
    EXPECT_ROWS(q,
                "SELECT round(amt, 1), round(amt), floor(amt), ceil(amt), round(x), round(x, 1), "
                "round(1234, -2) FROM fx WHERE id <= 2 ORDER BY id",
                "round(amt, 1):d:10,1,round(amt):d:10,0,floor(amt):d:10,0,ceil(amt):d:10,0,"
                "round(x):g,round(x, 1):g,round(1234, -2):l",
                "12.4|12|12|13|3.0|2.5|1200\n-0.5|-1|-1|0|-1.0|-1.3|1200\n");
    EXPECT_ROWS(q,
                "SELECT sqrt(16), sqrt(-1), power(2, 10), ln(0), exp(0), log10(1000), "
                "floor(-2.5), ceil(-2.5)",
                "sqrt(16):g,sqrt(-1):g,power(2, 10):g,ln(0):g,exp(0):g,log10(1000):g,"
                "floor(-2.5):d:18,0,ceil(-2.5):d:18,0", /* -2.5 is an exact DECIMAL literal */
                "4.0|NULL|1024.0|NULL|1.0|3.0|-3|-2\n");
    /* Dates and times, DuckDB's way. */
    EXPECT_ROWS(q,
                "SELECT strftime(ts, '%Y/%m/%d %H:%M:%S.%f %a %j'), date_trunc('month', d), "
                "date_trunc('hour', ts), extract(year FROM d), date_part('dow', ts), "
                "extract(epoch FROM ts), date_part('week', d) FROM fx WHERE id <= 2 ORDER BY id",
                "strftime(ts, '%Y/%m/%d %H:%M:%S.%f %a %j'):u,date_trunc('month', d):tsu:,"
                "date_trunc('hour', ts):tsu:,date_part('year', d):l,date_part('dow', ts):l,"
                "date_part('epoch', ts):g,date_part('week', d):l",
                "2024/03/07 01:02:03.500000 Thu 067|2024-03-01 00:00:00|2024-03-07 01:00:00|2024|"
                "4|1709773323.5|10\n2023/12/31 23:59:59.000000 Sun 365|NULL|2023-12-31 23:00:00|"
                "NULL|0|1704067199.0|NULL\n");
    EXPECT_ROWS(q,
                "SELECT now() = current_timestamp, current_date = CAST(now() AS DATE), "
                "now() > TIMESTAMP '2024-01-01'",
                "(now() = current_timestamp):b,(current_date = CAST(now() AS DATE)):b,"
                "(now() > CAST('2024-01-01' AS TIMESTAMP)):b",
                "true|true|true\n");
    /* Unknown names: the closest one is suggested. */
    EXPECT_ERROR(q, "SELECT nmae FROM fx", ES_INVALID, 1, 8,
                 "unknown column 'nmae'; did you mean 'name'?");
    EXPECT_ERROR(q, "SELECT uper(name) FROM fx", ES_INVALID, 1, 8,
                 "unknown function 'uper'; did you mean 'upper'?");
    EXPECT_ERROR(q, "SELECT frobnicate(1)", ES_INVALID, 1, 8, "unknown function 'frobnicate'");
    EXPECT_ERROR(q, "SELECT sqrt(name) FROM fx", ES_INVALID, 1, 8,
                 "sqrt() needs a number, got name (VARCHAR)");
    EXPECT_ERROR(q, "SELECT date_trunc('fortnight', ts) FROM fx", ES_INVALID, 1, 19,
                 "unknown part 'fortnight'");
    EXPECT_ERROR(q, "SELECT strftime(ts, '%Q') FROM fx", ES_INVALID, 1, 21,
                 "unknown format specifier %Q");
    EXPECT_ERROR(q, "SELECT CASE WHEN 1 THEN 'a' ELSE 2 END", ES_INVALID, 1, 8,
                 "CASE mixes VARCHAR with 2");
}

/* Date arithmetic as PostgreSQL and DuckDB: DATE +- days, DATE - DATE, +- INTERVAL (months
 * clamp the day to the month's end). Runs on fx of test_functions. */
static void test_date_arith(es_sql_session *q)
{
    EXPECT_ROWS(
        q,
        "SELECT id, d + 1 AS a, d - 1 AS b, 30 + d AS c, d - DATE '2020-02-01' AS n FROM fx "
        "ORDER BY id",
        "id:l,a:tdD,b:tdD,c:tdD,n:l",
        "1|2024-03-08|2024-03-06|2024-04-06|1496\n2|NULL|NULL|NULL|NULL\n"
        "3|2020-03-01|2020-02-28|2020-03-30|28\n4|2021-01-02|2020-12-31|2021-01-31|335\n");
    EXPECT_ROWS(q,
                "SELECT id, d + INTERVAL 1 MONTH AS m, ts - INTERVAL '1 year 1 day' AS y, "
                "INTERVAL '90' MINUTE + ts AS h FROM fx ORDER BY id",
                "id:l,m:tsu:,y:tsu:,h:tsu:",
                "1|2024-04-07 00:00:00|2023-03-06 01:02:03.500000|2024-03-07 02:32:03.500000\n"
                "2|NULL|2022-12-30 23:59:59|2024-01-01 01:29:59\n"
                "3|2020-03-29 00:00:00|2019-02-27 12:00:00|2020-02-29 13:30:00\n"
                "4|2021-02-01 00:00:00|2019-12-31 00:00:00|2021-01-01 01:30:00\n");
    /* Two intervals are one GROUP BY key only when equal. */
    EXPECT_ROWS(q,
                "SELECT d + INTERVAL '1 day' AS a, d + INTERVAL '2 days' AS b FROM fx WHERE id = 1 "
                "GROUP BY d + INTERVAL '1 day', d + INTERVAL '2 days'",
                "a:tsu:,b:tsu:", "2024-03-08 00:00:00|2024-03-09 00:00:00\n");
    EXPECT_ROWS(q, "SELECT id FROM fx WHERE d + 7 > DATE '2024-03-10' OR d - 1 = '2020-02-28'",
                "id:l", "1\n3\n");
    /* Month ends clamp; several units; fractions of seconds; negative amounts. */
    EXPECT_ROWS(q,
                "SELECT DATE '2024-01-31' + INTERVAL '1 month' AS a, TIMESTAMP '2024-03-31 "
                "10:00:00' - INTERVAL '1 mon' AS b, DATE '2024-02-29' + INTERVAL '1 year' AS c, "
                "DATE '2024-01-01' + INTERVAL '1 day 2 hours 30 minutes 1.5 seconds' AS e, "
                "DATE '2024-01-01' + INTERVAL '-2 weeks' AS f",
                "a:tsu:,b:tsu:,c:tsu:,e:tsu:,f:tsu:",
                "2024-02-29 00:00:00|2024-02-29 10:00:00|2025-02-28 00:00:00|"
                "2024-01-02 02:30:01.500000|2023-12-18 00:00:00\n");
    /* Constants fold: the comparison is pushed down, and an overflow is found at once. */
    char *plan = result_text(q, "EXPLAIN SELECT id FROM fx WHERE d >= DATE '2024-03-01' + 6");
    CHECK(plan && strstr(plan, "pushed predicate: (d >= DATE '2024-03-07')"));
    free(plan);
    EXPECT_ERROR(q, "SELECT DATE '2024-03-07' + 2147483647", ES_INVALID, 1, 26,
                 "out of range: overflow in addition of DATE (2024-03-07 + 2147483647)");
    EXPECT_ERROR(q, "SELECT INTERVAL '1 day'", ES_INVALID, 1, 8,
                 "an INTERVAL can only be added to or subtracted from a DATE or TIMESTAMP");
    EXPECT_ERROR(q, "SELECT INTERVAL '1 day' - d FROM fx", ES_INVALID, 1, 25,
                 "an INTERVAL can only be added to or subtracted from a DATE or TIMESTAMP");
    EXPECT_ERROR(q, "SELECT 1 + INTERVAL '1 day'", ES_INVALID, 1, 10, "not 1 (BIGINT)");
    EXPECT_ERROR(q, "SELECT d + INTERVAL '1 fortnight' FROM fx", ES_INVALID, 1, 21,
                 "invalid INTERVAL '1 fortnight'");
    EXPECT_ERROR(q, "SELECT d + INTERVAL 1 fortnight FROM fx", ES_INVALID, 1, 23,
                 "unknown INTERVAL unit 'fortnight'");
    EXPECT_ERROR(q, "SELECT d + 1.5 FROM fx", ES_INVALID, 1, 10, "cannot apply");
    /* A DATE past TIMESTAMP's range (about 292,000 years) plus an INTERVAL: an overflow, not a
     * wrapped product of days and microseconds. */
    EXPECT_ERROR(q, "SELECT (DATE '2024-01-01' + 2000000000) + INTERVAL '1 day'", ES_INVALID, 1, 41,
                 "overflow in addition of TIMESTAMP");
    EXPECT_ERROR(q, "SELECT (DATE '2024-01-01' - 2000000000) - INTERVAL '1 month'", ES_INVALID, 1,
                 41, "overflow in subtraction of TIMESTAMP");
}

/* t.* with the table's name or its alias; COPY t (c1, c2) FROM a CSV file (the other columns
 * get their defaults or NULL, as INSERT with a column list). */
static void test_star_copy(es_sql_session *q)
{
    EXEC_OK(q, "CREATE TABLE qs (id INT, name VARCHAR, k INT DEFAULT 7, z DOUBLE)");
    char path[64], sql[256];
    snprintf(path, sizeof path, "/tmp/test_sql_qs_%d.csv", (int)getpid());
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("name,id\nx,1\ny,2\n", f);
        fclose(f);
    }
    snprintf(sql, sizeof sql, "COPY qs (name, id) FROM '%s' (HEADER)", path);
    EXEC_OK(q, sql);
    EXPECT_ROWS(q, "SELECT o.*, o.id * 10 AS t FROM qs o ORDER BY id", "id:i,name:u,k:i,z:g,t:l",
                "1|x|7|NULL|10\n2|y|7|NULL|20\n");
    EXPECT_ROWS(q, "SELECT qs.*, id FROM qs WHERE id = 2", "id:i,name:u,k:i,z:g,id:i",
                "2|y|7|NULL|2\n");
    EXPECT_ERROR(q, "SELECT id, x.* FROM qs o", ES_INVALID, 1, 12,
                 "no such table: x (the query reads qs)");
    snprintf(sql, sizeof sql, "COPY qs (name, idd) FROM '%s' (HEADER)", path);
    EXPECT_ERROR(q, sql, ES_INVALID, 1, 1, "table qs has no column idd; did you mean 'id'?");
    snprintf(sql, sizeof sql, "COPY qs (id, id) FROM '%s' (HEADER)", path);
    EXPECT_ERROR(q, sql, ES_INVALID, 1, 1, "column id listed twice");
    snprintf(sql, sizeof sql, "COPY qs (id) FROM '%s' (HEADER)", path);
    EXPECT_ERROR(q, sql, ES_INVALID, 0, 0, "expected 1 fields, found 2");
    EXPECT_ROWS(q, "SELECT count(*) FROM qs", "count(*):l", "2\n");
    unlink(path);
}

/* LIKE and ILIKE ... ESCAPE (results as SQLite gives them; its LIKE folds case as our ILIKE). */
static void test_like_escape(es_sql_session *q)
{
    EXEC_OK(q, "CREATE TABLE lk (id INT, s VARCHAR)");
    EXEC_OK(q, "INSERT INTO lk VALUES (1, '50%'), (2, '50 pct'), (3, 'a_b'), (4, 'axb'), "
               "(5, 'C:\\dir'), (6, 'A_B'), (7, NULL)");
    EXPECT_ROWS(q, "SELECT id FROM lk WHERE s LIKE '%!%' ESCAPE '!'", "id:i", "1\n");
    EXPECT_ROWS(q, "SELECT id FROM lk WHERE s LIKE 'a!_b' ESCAPE '!'", "id:i", "3\n");
    EXPECT_ROWS(q, "SELECT id FROM lk WHERE s LIKE 'a_b' ORDER BY id", "id:i", "3\n4\n");
    EXPECT_ROWS(q, "SELECT id FROM lk WHERE s LIKE 'a_b' ESCAPE '' ORDER BY id", "id:i", "3\n4\n");
    EXPECT_ROWS(q, "SELECT id FROM lk WHERE s ILIKE 'a#_%' ESCAPE '#' ORDER BY id", "id:i",
                "3\n6\n");
    EXPECT_ROWS(q, "SELECT id FROM lk WHERE s NOT LIKE '%\\%' ESCAPE '\\' ORDER BY id", "id:i",
                "2\n3\n4\n5\n6\n");
    EXPECT_ROWS(q,
                "SELECT id, s LIKE '50%%' ESCAPE '%' AS m FROM lk WHERE id IN (1, 2, 7) "
                "ORDER BY id",
                "id:i,m:b", "1|true\n2|false\n7|NULL\n");
    EXPECT_ERROR(q, "SELECT s LIKE 'a!' ESCAPE '!' FROM lk", ES_INVALID, 1, 15,
                 "LIKE pattern must not end with the escape character");
    EXPECT_ERROR(q, "SELECT s LIKE 'a' ESCAPE 'ab' FROM lk", ES_INVALID, 1, 26,
                 "ESCAPE needs one character (or none), got 'ab'");
    /* An escape character of several bytes in UTF-8 (it was refused as not one character). */
    EXPECT_ROWS(q, "SELECT id FROM lk WHERE s LIKE 'a\xc3\xa9_b' ESCAPE '\xc3\xa9'", "id:i", "3\n");
    EXPECT_ROWS(q, "SELECT id FROM lk WHERE s ILIKE 'A\xc3\xa9_%' ESCAPE '\xc3\xa9' ORDER BY id",
                "id:i", "3\n6\n");
    EXPECT_ROWS(q, "SELECT id FROM lk WHERE s LIKE '%\xc3\xa9%' ESCAPE '\xc3\xa9'", "id:i", "1\n");
    EXPECT_ERROR(q, "SELECT s LIKE 'a\xc3\xa9' ESCAPE '\xc3\xa9' FROM lk", ES_INVALID, 1, 15,
                 "LIKE pattern must not end with the escape character");
    EXPECT_ERROR(q,
                 "SELECT s LIKE 'a' ESCAPE '\xc3\xa9"
                 "a' FROM lk",
                 ES_INVALID, 1, 26, "ESCAPE needs one character (or none)");
    /* A pattern that is not a constant may end in the escape character: that is itself, a
     * literal, even when the escape is '%' or '_' (it was a wildcard). */
    EXEC_OK(q, "CREATE TABLE lp (id INT, s VARCHAR, p VARCHAR)");
    EXEC_OK(q, "INSERT INTO lp VALUES (1, 'abX', 'ab%'), (2, 'ab%', 'ab%'), (3, 'abX', 'ab_'), "
               "(4, 'ab_', 'ab_'), (5, 'aB_', 'ab_')");
    EXPECT_ROWS(q,
                "SELECT id, s LIKE p ESCAPE '%' AS a, s LIKE p ESCAPE '_' AS b, "
                "s ILIKE p ESCAPE '%' AS c, s ILIKE p ESCAPE '_' AS d FROM lp ORDER BY id",
                "id:i,a:b,b:b,c:b,d:b",
                "1|false|true|false|true\n2|true|true|true|true\n3|true|false|true|false\n"
                "4|true|true|true|true\n5|false|false|true|true\n");
    /* '_' is one character, of several bytes in UTF-8 too (it was one byte: 'é' LIKE '_' was
     * false), and '%' backtracks by characters. */
    EXEC_OK(q, "CREATE TABLE lu (id INT, s VARCHAR)");
    EXEC_OK(q, "INSERT INTO lu VALUES (1, '\xc3\xa9'), (2, 'a\xc3\xa9"
               "b'), (3, 'ab'), "
               "(4, '\xe2\x82\xac\xc3\xa9'), (5, 'abc')");
    EXPECT_ROWS(q, "SELECT id FROM lu WHERE s LIKE '_' ORDER BY id", "id:i", "1\n");
    EXPECT_ROWS(q, "SELECT id FROM lu WHERE s LIKE 'a_b' ORDER BY id", "id:i", "2\n");
    EXPECT_ROWS(q, "SELECT id FROM lu WHERE s LIKE '__' ORDER BY id", "id:i", "3\n4\n");
    EXPECT_ROWS(q, "SELECT id FROM lu WHERE s LIKE '%_\xc3\xa9' ORDER BY id", "id:i", "4\n");
    EXPECT_ROWS(q, "SELECT id FROM lu WHERE s LIKE '%_' ORDER BY id", "id:i", "1\n2\n3\n4\n5\n");
}

/* CREATE TABLE AS, INSERT ... SELECT, DESCRIBE, SHOW TABLES; nullability in result schemas. */
static void test_statements(es_sql_session *q)
{
    es_sql_result r = ES_SQL_RESULT_INIT;
    CHECK_OK(es_sql_exec(q,
                         "CREATE TABLE fx2 PRIMARY KEY (id) AS SELECT id, upper(name) AS n, ts, "
                         "amt * 2 AS a2 FROM fx WHERE id < 3",
                         &r));
    CHECK_EQ_STR(r.kind, "CREATE TABLE");
    CHECK_EQ_INT(r.changes, 2);
    es_sql_result_reset(&r);
    EXPECT_ROWS(q, "DESCRIBE fx2", "column_name:u,column_type:u,null:u,key:u,default:u",
                "id|BIGINT|NO|PRI|NULL\nn|VARCHAR|YES|NULL|NULL\nts|TIMESTAMP|NO|NULL|NULL\n"
                "a2|DECIMAL(18,2)|YES|NULL|NULL\n");
    EXPECT_ROWS(q, "SELECT * FROM fx2", "id:l,n:u,ts:tsu:,a2:d:18,2",
                "1|ALICE|2024-03-07 01:02:03.500000|24.70\n2|BOB|2023-12-31 23:59:59|-1.00\n");
    EXPECT_ERROR(q, "CREATE TABLE fx2 AS SELECT 1 AS one", ES_EXISTS, 1, 1,
                 "table 'fx2' already exists");
    EXEC_OK(q, "CREATE TABLE IF NOT EXISTS fx2 AS SELECT 1 AS one");
    EXPECT_ERROR(q, "CREATE TABLE fx3 AS SELECT id, id FROM fx", ES_INVALID, 1, 1,
                 "two columns are named id");
    /* A failing insert drops the new table again. */
    EXPECT_ERROR(q, "CREATE TABLE fx3 PRIMARY KEY (name) AS SELECT name FROM fx", ES_INVALID, 1, 1,
                 "NOT NULL constraint failed: fx3.name");
    EXPECT_ERROR(q, "SELECT * FROM fx3", ES_NOT_FOUND, 1, 15, "no such table: fx3");
    /* INSERT ... SELECT: atomic (a bad row inserts nothing), by position or by column list. */
    CHECK_OK(es_sql_exec(q, "INSERT INTO fx2 SELECT id + 10, name, ts, amt FROM fx", &r));
    CHECK_EQ_STR(r.kind, "INSERT");
    CHECK_EQ_INT(r.changes, 4);
    es_sql_result_reset(&r);
    EXPECT_ERROR(q, "INSERT INTO fx2 (id, ts) SELECT id + 20, d FROM fx", ES_INVALID, 1, 1,
                 "NOT NULL constraint failed: fx2.ts");
    EXPECT_ERROR(q, "INSERT INTO fx2 (id, tss) SELECT id, ts FROM fx", ES_INVALID, 1, 1,
                 "table fx2 has no column tss; did you mean 'ts'?");
    EXPECT_ERROR(q, "INSERT INTO fx2 SELECT id FROM fx", ES_INVALID, 1, 1,
                 "the SELECT gives 1 column for 4");
    EXEC_OK(q, "INSERT INTO fx2 (id, ts) SELECT id + 30, ts FROM fx WHERE id = 1");
    EXPECT_ROWS(q, "SELECT count(*), count(n), min(id), max(id) FROM fx2",
                "count(*):l,count(n):l,min(id):l,max(id):l", "7|5|1|31\n");
    /* The table reads its own snapshot: inserting a table into itself doubles it once. */
    EXEC_OK(q, "CREATE TABLE selfy AS SELECT id FROM fx");
    EXEC_OK(q, "INSERT INTO selfy SELECT id FROM selfy");
    EXPECT_ROWS(q, "SELECT count(*) FROM selfy", "count(*):l", "8\n");
    CHECK_OK(es_sql_exec(q, "SHOW TABLES", &r));
    table_text t;
    read_text(&r, &t);
    CHECK_EQ_STR(r.kind, "SHOW TABLES");
    CHECK(strstr(t.rows, "fx\nfx2\n") != NULL && strstr(t.rows, "selfy\n") != NULL);
    tt_free(&t);
    es_sql_result_reset(&r);
    /* Nullability of result columns: NOT NULL columns, count(*) and literals are not nullable. */
    CHECK_OK(
        es_sql_exec(q, "SELECT id, n, ts, 1 AS one, id + 1 AS id1, id / 2 AS half FROM fx2", &r));
    struct ArrowSchema sc;
    CHECK(r.stream.get_schema(&r.stream, &sc) == 0);
    if (sc.release) {
        CHECK_EQ_INT(sc.n_children, 6);
        CHECK((sc.children[0]->flags & ARROW_FLAG_NULLABLE) == 0);
        CHECK((sc.children[1]->flags & ARROW_FLAG_NULLABLE) != 0);
        CHECK((sc.children[2]->flags & ARROW_FLAG_NULLABLE) == 0);
        CHECK((sc.children[3]->flags & ARROW_FLAG_NULLABLE) == 0);
        CHECK((sc.children[4]->flags & ARROW_FLAG_NULLABLE) == 0);
        CHECK((sc.children[5]->flags & ARROW_FLAG_NULLABLE) != 0); /* division: NULL on 0 */
        sc.release(&sc);
    }
    es_sql_result_reset(&r);
}

/* The number after `label` in text, or -1. */
static long long number_after(const char *text, const char *label)
{
    const char *p = strstr(text, label);
    return p ? atoll(p + strlen(label)) : -1;
}

/* EXPLAIN plans from the log and the .idx objects and reads no .data object: it still works
 * once every .data object is gone (a real run then fails), and what it plans is what a run
 * fetches. */
static void test_explain(void)
{
    es_store *s = NULL;
    CHECK_OK(es_store_open(&s, "mem://explain", NULL));
    es_sql_session *q = NULL;
    CHECK_OK(es_sql_session_open(&q, s));
    if (!q)
        return;
    EXEC_OK(q, "CREATE TABLE ev (id BIGINT PRIMARY KEY, ts TIMESTAMP, v VARCHAR)");
    char sql[8192];
    for (int part = 0; part < 3; part++) {
        int k = snprintf(sql, sizeof sql, "INSERT INTO ev VALUES ");
        for (int i = 0; i < 100; i++)
            k += snprintf(sql + k, sizeof sql - (size_t)k, "%s(%d, '2024-01-%02d 10:00:00', 'v%d')",
                          i ? ", " : "", part * 100 + i, part + 1, i);
        EXEC_OK(q, sql);
    }
    const char *query = "SELECT v FROM ev WHERE id BETWEEN 110 AND 120 AND ts >= "
                        "'2024-01-02'";
    snprintf(sql, sizeof sql, "EXPLAIN %s", query);
    es_sql_result r = ES_SQL_RESULT_INIT;
    CHECK_OK(es_sql_exec(q, sql, &r));
    table_text plan;
    read_text(&r, &plan);
    es_sql_result_reset(&r);
    /* Timestamps print as timestamps; two of three parts are skipped by their statistics. */
    CHECK(strstr(plan.rows, "TIMESTAMP '2024-01-02 00:00:00'") != NULL);
    CHECK(strstr(plan.rows, "  parts: 3 total, 2 skipped by statistics\n") != NULL);
    CHECK(strstr(plan.rows, "result rows") == NULL);
    long long planned_req = number_after(plan.rows, "rows to scan, ");
    long long planned_bytes = number_after(plan.rows, " requests, ");
    CHECK(planned_req >= 1 && planned_bytes > 0);
    /* A run fetches what was planned (the .idx is cached by now). */
    snprintf(sql, sizeof sql, "EXPLAIN ANALYZE %s", query);
    CHECK_OK(es_sql_exec(q, sql, &r));
    table_text run;
    read_text(&r, &run);
    es_sql_result_reset(&r);
    CHECK(strstr(run.rows, "  result rows: 11\n") != NULL);
    CHECK_EQ_INT(number_after(run.rows, "  requests: "), planned_req);
    CHECK_EQ_INT(number_after(run.rows, "bytes fetched: "), planned_bytes);
    CHECK(strstr(run.rows, "  total time: ") != NULL && strstr(run.rows, "FILTER ") != NULL);
    tt_free(&run);
    /* Remove every .data object: EXPLAIN (on a fresh handle, which reads the .idx objects
     * again) still plans the same; running the query fails. */
    es_sql_session_close(q);
    es_objstore *os = s->os;
    es_obj_list l = {0};
    CHECK_OK(es_objstore_list(os, "", NULL, 0, &l, NULL));
    int removed = 0;
    for (int64_t i = 0; i < l.n; i++) {
        size_t kl = strlen(l.items[i].key);
        if (kl > 5 && strcmp(l.items[i].key + kl - 5, ".data") == 0) {
            const char *key = l.items[i].key;
            CHECK_OK(es_objstore_delete(os, &key, 1, NULL));
            removed++;
        }
    }
    es_obj_list_reset(&l);
    CHECK_EQ_INT(removed, 3);
    es_store_close(s);
    s = NULL;
    CHECK_OK(es_store_open(&s, "mem://explain", NULL));
    CHECK_OK(es_sql_session_open(&q, s));
    snprintf(sql, sizeof sql, "EXPLAIN %s", query);
    CHECK_OK(es_sql_exec(q, sql, &r));
    table_text again;
    read_text(&r, &again);
    es_sql_result_reset(&r);
    CHECK(!again.failed);
    CHECK_EQ_INT(number_after(again.rows, "rows to scan, "), planned_req);
    CHECK(number_after(again.rows, "(.idx: ") == 1); /* one .idx read: the surviving part's */
    tt_free(&again);
    tt_free(&plan);
    snprintf(sql, sizeof sql, "EXPLAIN ANALYZE %s", query);
    CHECK(es_sql_exec(q, sql, &r) != ES_OK || (read_text(&r, &run), run.failed));
    if (r.stream.release)
        tt_free(&run);
    es_sql_result_reset(&r);
    es_sql_session_close(q);
    es_store_close(s);
}

/* Run sql and read all its rows; the statement's or the stream's status. */
static es_status run_all(es_sql_session *q, const char *sql)
{
    es_sql_result r = ES_SQL_RESULT_INIT;
    es_status st = es_sql_exec(q, sql, &r);
    while (st == ES_OK && r.stream.release) {
        struct ArrowArray a;
        if (r.stream.get_next(&r.stream, &a) != 0) {
            st = es_sql_errcode(q);
            break;
        }
        if (!a.release)
            break;
        a.release(&a);
    }
    es_sql_result_reset(&r);
    return st;
}

/* Out of memory anywhere in the new statements and functions: each fails cleanly with ES_NOMEM
 * (no crash, no leak under ASan) until it succeeds. */
static void test_alloc_failures(es_sql_session *q)
{
    static const char *stmts[] = {
        "SELECT g, count(DISTINCT v), sum(DISTINCT v), CASE WHEN g = 1 THEN upper(concat('a', "
        "g)) ELSE substr('hello', g, 2) END AS c FROM dd GROUP BY g ORDER BY c",
        "SELECT strftime(ts, '%Y-%m %H'), date_trunc('month', ts), round(amt, 1), nullif(g, 1), "
        "trim(name, 'A'), replace(name, 'b', 'xy') FROM fx WHERE name ILIKE '%b%' OR id > 2",
        "EXPLAIN SELECT * FROM fx WHERE id > 1",
        "EXPLAIN ANALYZE SELECT count(*) FROM fx WHERE ts > '2021-01-01'",
        "CREATE TABLE oom PRIMARY KEY (id) AS SELECT id, name FROM fx",
        "INSERT INTO fx2 (id, ts) SELECT id + 100, ts FROM fx",
        "DESCRIBE fx",
    };
    for (size_t k = 0; k < sizeof stmts / sizeof *stmts; k++) {
        int64_t n;
        int bad = 0;
        for (n = 1; n < 20000; n++) {
            es_util_alloc_fail_at(n, 0);
            es_status st = run_all(q, stmts[k]);
            es_util_alloc_fail_at(0, 0);
            if (st == ES_OK)
                break;
            if (st != ES_NOMEM && bad++ < 3)
                fprintf(stderr, "alloc failure %lld of '%s': %s: %s\n", (long long)n, stmts[k],
                        es_status_name(st), es_sql_errmsg(q));
            run_all(q, "DROP TABLE IF EXISTS oom");
        }
        CHECK(n > 1 && n < 20000);
        CHECK_EQ_INT(bad, 0);
        run_all(q, "DROP TABLE IF EXISTS oom");
    }
}

/* DELETE, UPDATE, TRUNCATE and upserts: kind and count of each, errors with codes and
 * positions, and a failing UPDATE (an error raised in the update callback) commits nothing. */
static void expect_changes(es_sql_session *q, const char *sql, const char *kind, int64_t changes,
                           int line)
{
    es_sql_result r = ES_SQL_RESULT_INIT;
    es_status st = es_sql_exec(q, sql, &r);
    if (st != ES_OK || strcmp(r.kind, kind) != 0 || r.changes != changes || r.has_rows) {
        check_failed++;
        fprintf(stderr, "line %d: %s\n  got %s [%s] changes %lld: %s\n  expected [%s] %lld\n", line,
                sql, es_status_name(st), r.kind, (long long)r.changes, es_sql_errmsg(q), kind,
                (long long)changes);
    } else {
        check_passed++;
    }
    es_sql_result_reset(&r);
}
#define EXPECT_CHANGES(q, sql, kind, n) expect_changes(q, sql, kind, n, __LINE__)

static void test_dml(es_sql_session *q, es_store *s)
{
    EXEC_OK(q, "CREATE TABLE dm (id BIGINT PRIMARY KEY, a INT NOT NULL, s TEXT)");
    EXPECT_CHANGES(q, "INSERT INTO dm VALUES (1, 1, 'a'), (2, 2, 'b'), (3, 3, 'c'), (4, 4, 'd')",
                   "INSERT", 4);
    EXPECT_CHANGES(q, "UPDATE dm SET a = a * 10 WHERE id <= 2", "UPDATE", 2);
    EXPECT_CHANGES(q, "UPDATE dm SET a = a + 1 WHERE a % 10 = 0 AND s <> 'a'", "UPDATE", 1);
    EXPECT_CHANGES(q, "UPDATE dm SET a = 0 WHERE id > 100", "UPDATE", 0);
    EXPECT_CHANGES(q, "DELETE FROM dm WHERE id = 4", "DELETE", 1);
    EXPECT_CHANGES(q, "DELETE FROM dm WHERE length(s) > 5", "DELETE", 0);
    EXPECT_ROWS(q, "SELECT * FROM dm ORDER BY id", "id:l,a:i,s:u", "1|10|a\n2|21|b\n3|3|c\n");
    EXPECT_CHANGES(q, "INSERT OR REPLACE INTO dm VALUES (1, 5, 'e'), (9, 9, 'i')", "INSERT", 2);
    EXPECT_CHANGES(q, "REPLACE INTO dm VALUES (9, 9, 'i'), (9, 8, 'h')", "INSERT", 2);
    EXPECT_CHANGES(q, "INSERT OR IGNORE INTO dm VALUES (1, 0, 'x'), (5, 5, 'e'), (5, 6, 'f')",
                   "INSERT", 1);
    EXPECT_CHANGES(q, "INSERT INTO dm VALUES (2, 0, 'x') ON CONFLICT DO NOTHING", "INSERT", 0);
    EXPECT_CHANGES(q,
                   "INSERT INTO dm VALUES (2, 1, 'x'), (3, 1, 'y'), (6, 6, 'z') ON CONFLICT (id) "
                   "DO UPDATE SET a = dm.a + excluded.a WHERE dm.a > 5",
                   "INSERT", 2);
    EXPECT_ROWS(q, "SELECT * FROM dm ORDER BY id", "id:l,a:i,s:u",
                "1|5|e\n2|22|b\n3|3|c\n5|5|e\n6|6|z\n9|8|h\n");
    int64_t v0 = -1, v1 = -1;
    es_store_version(s, &v0);
    EXPECT_ERROR(q, "UPDATE dm SET a = NULL WHERE id = 2", ES_INVALID, 1, 19,
                 "NOT NULL constraint failed: dm.a");
    EXPECT_ERROR(q, "UPDATE dm\nSET nope = 1", ES_INVALID, 2, 5, "table dm has no column nope");
    EXPECT_ERROR(q, "DELETE FROM missing", ES_NOT_FOUND, 1, 13, "no such table: missing");
    EXPECT_ERROR(q, "INSERT INTO dm VALUES (1, 1, 'a') ON CONFLICT (a) DO NOTHING", ES_INVALID, 1,
                 48, "only the primary key");
    es_store_version(s, &v1);
    CHECK_EQ_INT(v1, v0); /* nothing committed */
    EXPECT_CHANGES(q, "TRUNCATE TABLE dm", "TRUNCATE", 6);
    EXPECT_CHANGES(q, "DELETE FROM dm", "DELETE", 0);
    char sql[100];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM dm AS OF VERSION %lld", (long long)v0);
    EXPECT_ROWS(q, sql, "count(*):l", "6\n");
}

int main(void)
{
    es_store *s = NULL;
    CHECK_OK(es_store_open(&s, "mem://x", NULL));
    es_sql_session *q = NULL;
    CHECK_OK(es_sql_session_open(&q, s));
    if (!q)
        return CHECK_DONE();
    test_types(q);
    test_aggregates(q);
    test_scripts(q);
    test_errors(q);
    test_helpers(q);
    test_functions(q);
    test_date_arith(q);
    test_star_copy(q);
    test_like_escape(q);
    test_statements(q);
    test_alloc_failures(q);
    test_dml(q, s);
    es_sql_session_close(q);
    es_store_close(s);
    test_streaming();
    test_explain();
    test_threads();
    return CHECK_DONE();
}
