/*
 * test_shell_regress: regressions through the real `expstore` binary, one function per family
 * of bugs found by trying the shell as a new user and with hostile input: CSV input that is
 * valid but was refused, CSV round trips of NULL and the empty string, endless or unreadable
 * inputs.
 */
#include <stdlib.h>

#include "check.h"
#include "shell/run.h"

static char store[1024];

/* Run SQL; return the output (caller frees), checking the exit status. */
static shell_out run(const char *sql, int want_ok, int line)
{
    shell_out o = shell_c(store, "-csv", sql);
    if ((o.status == 0) != want_ok) {
        check_failed++;
        fprintf(stderr, "line %d: %s\n  status %d\n  out: %s\n  err: %s\n", line, sql, o.status,
                o.out, o.err);
    } else {
        check_passed++;
    }
    return o;
}

static void expect(const char *sql, const char *out, const char *err, int line)
{
    shell_out o = run(sql, err == NULL, line);
    if (out && strcmp(o.out, out) != 0) {
        check_failed++;
        fprintf(stderr, "line %d: %s\n  got:\n%s  expected:\n%s", line, sql, o.out, out);
    } else if (err && !strstr(o.err, err)) {
        check_failed++;
        fprintf(stderr, "line %d: %s\n  stderr:\n%s  expected to contain: %s\n", line, sql, o.err,
                err);
    } else {
        check_passed++;
    }
    shell_out_free(&o);
}
#define EXPECT(sql, out) expect(sql, out, NULL, __LINE__)
#define EXPECT_ERR(sql, err) expect(sql, NULL, err, __LINE__)

static const char *file(const char *name, const char *content)
{
    static char path[8][600];
    static int k;
    char *p = path[k++ % 8];
    snprintf(p, 600, "%s/%s", shell_tmp, name);
    FILE *f = fopen(p, "wb");
    fputs(content, f);
    fclose(f);
    return p;
}

static void test_csv_input(void)
{
    char sql[2048];
    EXPECT("CREATE TABLE c (i INT, s TEXT);", "");
    /* The last line without a newline, a one-line file, CRLF and a quoted last field. */
    snprintf(sql, sizeof sql,
             "COPY c FROM '%s'; COPY c FROM '%s'; COPY c FROM '%s'; SELECT * FROM c ORDER BY i;",
             file("n.csv", "1,a\n2,b"), file("n5.csv", "3,c"), file("q.csv", "4,\"d\"\r\n5,\"e\""));
    EXPECT(sql, "i,s\n1,a\n2,b\n3,c\n4,d\n5,e\n");
    /* Errors name the file and the 1-based line. */
    snprintf(sql, sizeof sql, "COPY c FROM '%s';", file("u.csv", "6,\"f\n"));
    EXPECT_ERR(sql, "u.csv:1: unterminated quoted field");
    snprintf(sql, sizeof sql, "COPY c FROM '%s';", file("x.csv", "7,\"g\"x\n"));
    EXPECT_ERR(sql, "x.csv:1: unexpected character after quoted field");
    snprintf(sql, sizeof sql, "COPY c FROM '%s';", file("t.csv", "7,g\nzz,h\n"));
    EXPECT_ERR(sql, "t.csv:2: column i: cannot parse 'zz' as INTEGER");
    /* A directory, an endless input with no line end: clear errors, nothing committed. */
    snprintf(sql, sizeof sql, "COPY c FROM '%s';", shell_tmp);
    EXPECT_ERR(sql, "is a directory");
    EXPECT_ERR("COPY c FROM '/dev/zero';", "/dev/zero:1: record longer than 16 MiB");
    EXPECT("SELECT count(*) FROM c;", "count(*)\n5\n");
}

static void test_csv_round_trip(void)
{
    char sql[4096];
    char a[600], b[600];
    snprintf(a, sizeof a, "%s/rt1.csv", shell_tmp);
    snprintf(b, sizeof b, "%s/rt2.csv", shell_tmp);
    /* NULL and the empty string survive a round trip, with one column and with several; the
     * header COPY TO writes is recognised by COPY FROM. */
    snprintf(sql, sizeof sql,
             "CREATE TABLE one (s TEXT); INSERT INTO one VALUES (NULL), (''), ('x'), (NULL);"
             "COPY one TO '%s'; CREATE TABLE one2 (s TEXT); COPY one2 FROM '%s';"
             "SELECT 1;",
             a, a);
    shell_out o = run(sql, 1, __LINE__);
    shell_out_free(&o);
    EXPECT("SELECT count(*), count(s) FROM one2;", "count(*),count(s)\n4,2\n");
    EXPECT("SELECT count(*) FROM one2 WHERE s = '';", "count(*)\n1\n");
    snprintf(sql, sizeof sql,
             "CREATE TABLE many (s TEXT, i INT, d DOUBLE, t TIMESTAMP, dt DATE, n DECIMAL(9,2));"
             "INSERT INTO many VALUES (NULL, NULL, NULL, NULL, NULL, NULL),"
             "('', 0, 0.5, '2024-01-02 03:04:05', '2024-01-02', 1.25), ('a,\"b', -1, -2.5, NULL,"
             " NULL, -3.50);"
             "COPY many TO '%s'; CREATE TABLE many2 (s TEXT, i INT, d DOUBLE, t TIMESTAMP, dt DATE,"
             " n DECIMAL(9,2)); COPY many2 FROM '%s'; COPY (SELECT * FROM many2) TO '%s';",
             a, a, b);
    EXPECT(sql, "");
    char *x = shell_slurp(a), *y = shell_slurp(b);
    CHECK(strcmp(x, y) == 0);
    free(x);
    free(y);
    EXPECT("SELECT count(*), count(s), count(i), count(t) FROM many2;",
           "count(*),count(s),count(i),count(t)\n3,2,2,1\n");
}

/* A directory that holds other files is not turned into a store; empty and missing ones are. */
static void test_store_location(void)
{
    char dir[600], sql[700];
    snprintf(dir, sizeof dir, "%s/notastore", shell_tmp);
    mkdir(dir, 0755);
    snprintf(sql, sizeof sql, "%s/notes.txt", dir);
    FILE *f = fopen(sql, "w");
    fputs("mine\n", f);
    fclose(f);
    shell_out o = shell_c(dir, NULL, "SELECT 1;");
    CHECK(o.status != 0);
    CHECK(strstr(o.err, "not empty and not an Exp Store store (it has notes.txt") != NULL);
    shell_out_free(&o);
    snprintf(sql, sizeof sql, "%s/_log", dir);
    CHECK(access(sql, F_OK) != 0); /* nothing was added */
    snprintf(dir, sizeof dir, "%s/empty", shell_tmp);
    mkdir(dir, 0755);
    o = shell_c(dir, "-csv", "CREATE TABLE t (a INT); SELECT count(*) FROM t;");
    CHECK(o.status == 0 && strcmp(o.out, "count(*)\n0\n") == 0);
    shell_out_free(&o);
}

/* Casts and inserts of values out of a type's range: an error naming the value and the type
 * (the error path used to free the vector it then read: SIGSEGV). */
static void test_cast_range(void)
{
    EXPECT_ERR("SELECT CAST(70000 AS SMALLINT);", "70000");
    EXPECT_ERR("SELECT CAST(70000 AS SMALLINT);", "SMALLINT");
    EXPECT_ERR("SELECT CAST(2147483648 AS INTEGER);", "2147483648");
    EXPECT_ERR("SELECT CAST(-2147483649 AS INTEGER);", "INTEGER");
    EXPECT("CREATE TABLE cr (a INTEGER, s SMALLINT);", "");
    EXPECT_ERR("INSERT INTO cr VALUES (2147483648, 1);", "2147483648");
    EXPECT_ERR("INSERT INTO cr (s) VALUES (-32769);", "SMALLINT");
    EXPECT("SELECT CAST(32767 AS SMALLINT), CAST(-2147483648 AS INTEGER);",
           "CAST(32767 AS SMALLINT),CAST(-2147483648 AS INTEGER)\n32767,-2147483648\n");
    EXPECT("SELECT count(*) FROM cr;", "count(*)\n0\n");
}

/* Run a long script on stdin (past the limit of one command-line argument). */
static void expect_stdin(const char *sql, const char *out, const char *err, int line)
{
    const char *args[] = {store, "-csv", NULL};
    shell_out o = shell_runv(sql, args);
    int ok = (o.status == 0) == (err == NULL) && (!out || strcmp(o.out, out) == 0) &&
             (!err || strstr(o.err, err));
    if (ok) {
        check_passed++;
    } else {
        check_failed++;
        fprintf(stderr, "line %d: %.200s...\n  status %d\n  out: %.300s\n  err: %.300s\n", line,
                sql, o.status, o.out, o.err);
    }
    shell_out_free(&o);
}

/* Text of n terms: prefix, then term(i) joined by sep, then suffix. */
static char *terms(const char *prefix, const char *fmt, const char *sep, int n, const char *suffix)
{
    size_t cap = strlen(prefix) + strlen(suffix) + (size_t)n * (strlen(fmt) + strlen(sep) + 12) + 1;
    char *q = malloc(cap);
    size_t k = (size_t)snprintf(q, cap, "%s", prefix);
    for (int i = 0; i < n; i++) {
        if (i)
            k += (size_t)snprintf(q + k, cap - k, "%s", sep);
        k += (size_t)snprintf(q + k, cap - k, fmt, i);
    }
    snprintf(q + k, cap - k, "%s", suffix);
    return q;
}

/* No input exhausts the stack: long AND/OR chains run (pushed down or not), deep nesting is
 * refused with a clear error (it used to be SIGSEGV from ~210 OR terms: pushdown recursed once
 * per term with a 40 KB array on the stack). */
static void test_deep_expressions(void)
{
    EXPECT("CREATE TABLE dx (id BIGINT, v INT); INSERT INTO dx VALUES (1, 1), (2, 2), (3, 3), "
           "(500, 4), (NULL, 5);",
           "");
    char *q = terms("SELECT count(*) FROM dx WHERE ", "id = %d", " OR ", 300, ";");
    EXPECT(q, "count(*)\n3\n");
    free(q);
    q = terms("SELECT count(*) FROM dx WHERE ", "id = %d", " OR ", 100000, ";");
    expect_stdin(q, "count(*)\n4\n", NULL, __LINE__);
    free(q);
    q = terms("SELECT count(*) FROM dx WHERE ", "id + 0 <> %d", " AND ", 100000, ";");
    expect_stdin(q, "count(*)\n0\n", NULL, __LINE__);
    free(q);
    q = terms("SELECT count(*) FROM dx WHERE v = 5 OR id IN (", "%d", ", ", 100000, ");");
    expect_stdin(q, "count(*)\n5\n", NULL, __LINE__);
    free(q);
    q = terms("SELECT count(*) FROM dx WHERE NOT (", "id = %d", " OR ", 100000, ");");
    expect_stdin(q, "count(*)\n0\n", NULL, __LINE__);
    free(q);
    /* 1 + 1 + ... is a tree as deep as it is long: refused past the limit, fine below it. */
    q = terms("SELECT ", "1", " + ", 1000, " AS n;");
    EXPECT(q, "n\n1000\n");
    free(q);
    q = terms("SELECT ", "1", " + ", 100000, ";");
    expect_stdin(q, NULL, "expression nested too deeply (limit 1000)", __LINE__);
    free(q);
    static const char *const nests[][2] = {
        {"(", ")"},        {"abs(", ")"}, {"- ", ""}, {"NOT ", ""}, {"CAST(", " AS BIGINT)"},
        {"coalesce(", ")"}};
    for (size_t k = 0; k < sizeof nests / sizeof nests[0]; k++) {
        char *open = terms("SELECT ", nests[k][0], "", 100000, "1");
        char *all = terms(open, nests[k][1], "", 100000, ";");
        expect_stdin(all, NULL, "expression nested too deeply (limit 1000)", __LINE__);
        free(open);
        free(all);
    }
}

/* Integer arithmetic never wraps: an error naming the operation, the type and the operands;
 * sum() and avg() of integers accumulate in 128 bits (sum keeps its type and fails only when
 * the final sum does not fit). */
static void test_overflow(void)
{
    EXPECT_ERR("SELECT 9223372036854775807 + 1;",
               "out of range: overflow in addition of BIGINT (9223372036854775807 + 1)");
    EXPECT_ERR("SELECT -9223372036854775807 - 2;", "overflow in subtraction of BIGINT");
    EXPECT_ERR("SELECT 4611686018427387904 * 2;", "overflow in multiplication of BIGINT");
    EXPECT_ERR("SELECT -(-9223372036854775807 - 1);", "overflow in negation of BIGINT");
    EXPECT_ERR("SELECT abs(-9223372036854775807 - 1);", "overflow in abs() of BIGINT");
    EXPECT_ERR("SELECT (-9223372036854775807 - 1) / -1;",
               "overflow in division of BIGINT (-9223372036854775808 / -1)");
    EXPECT_ERR("SELECT 1e308 * 10;", "overflow in multiplication of DOUBLE");
    EXPECT_ERR("SELECT CAST('999999999999999.999' AS DECIMAL(18,3)) + 1;",
               "overflow in addition of DECIMAL(18,3)");
    EXPECT_ERR("SELECT CAST(1 AS DECIMAL(18,2)) * 100000000000000000;",
               "overflow in multiplication of DECIMAL(18,2)");
    EXPECT_ERR("SELECT CAST(1 AS DECIMAL(18,10)) + 100000000000;",
               "overflow in decimal scaling of 100000000000 to DECIMAL(18,10)");
    /* The edges still work. */
    EXPECT("SELECT -9223372036854775808 + 0 AS a, (-9223372036854775807 - 1) % -1 AS b, 7 / -1 AS "
           "c, 9223372036854775807 > 2.5 AS d;",
           "a,b,c,d\n-9223372036854775808,0,-7,true\n");
    EXPECT("CREATE TABLE ov (a BIGINT, i INT, d DECIMAL(18,2)); INSERT INTO ov VALUES "
           "(9223372036854775807, 2147483647, 1), (9223372036854775807, 2147483647, 2), "
           "(-9223372036854775807, 2147483647, 3);",
           "");
    /* The sum of three is within BIGINT though the running sum of the first two is not. */
    EXPECT("SELECT sum(a), avg(a), sum(i), avg(i) FROM ov;",
           "sum(a),avg(a),sum(i),avg(i)\n9223372036854775807,3.07445734561826e+18,6442450941,"
           "2147483647.0\n");
    EXPECT("SELECT avg(a) FROM ov WHERE a > 0;", "avg(a)\n9.22337203685478e+18\n");
    EXPECT_ERR("SELECT sum(a) FROM ov WHERE a > 0;",
               "out of range: overflow in sum() of BIGINT (the sum is 18446744073709551614)");
    EXPECT_ERR("SELECT sum(a + 0) FROM ov WHERE a > 0 GROUP BY i;", "overflow in sum() of BIGINT");
    EXPECT("SELECT sum(d), avg(d) FROM ov;", "sum(d),avg(d)\n6.00,2.0\n");
    /* Rows that are NULL do not overflow. */
    EXPECT("SELECT count(a + 9223372036854775807) FROM ov WHERE a < 0 OR a IS NULL;",
           "count((a + 9223372036854775807))\n1\n");
}

int main(void)
{
    if (shell_setup() < 0)
        CHECK_SKIP("expstore binary not found (set ES_BUILD_DIR)");
    snprintf(store, sizeof store, "%s/store", shell_tmp);
    test_csv_input();
    test_csv_round_trip();
    test_store_location();
    test_cast_range();
    test_deep_expressions();
    test_overflow();
    shell_cleanup();
    return CHECK_DONE();
}
