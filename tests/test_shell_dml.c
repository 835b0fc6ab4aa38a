/*
 * test_shell_dml: DELETE, UPDATE, TRUNCATE and upserts through the real `expstore` binary: each
 * statement's syntax and effect (the table read back, in csv mode, where the shell prints no
 * counts), and their errors (message on stderr, non-zero exit, nothing changed); the counts
 * ("3 rows") that -c, -f and piped scripts print in table mode, as the prompt does. Counts are
 * checked through the C API in test_sql.
 */
#include "check.h"
#include "shell/run.h"

static char store[1024];

#define EXPECT(sql, out) shell_expect(store, sql, out, NULL, __LINE__)
#define EXPECT_ERR(sql, err) shell_expect(store, sql, NULL, err, __LINE__)

#define ALL "SELECT * FROM t ORDER BY id;"

static void test_delete(void)
{
    EXPECT("CREATE TABLE t (id BIGINT PRIMARY KEY, a INT, s TEXT, m DECIMAL(6,2));"
           "INSERT INTO t VALUES (1, 10, 'x', 1.50), (2, 20, 'yy', NULL), (3, NULL, 'zzz', 3.25),"
           " (4, 40, NULL, -4.00), (5, 50, 'v', 5.00);",
           "");
    /* Pushed down whole, partly, and not at all; DELETE prints nothing. */
    EXPECT("DELETE FROM t WHERE a = 20;" ALL,
           "id,a,s,m\n1,10,x,1.50\n3,,zzz,3.25\n4,40,,-4.00\n5,50,v,5.00\n");
    EXPECT("DELETE FROM t WHERE a > 30 AND length(s) = 1;" ALL,
           "id,a,s,m\n1,10,x,1.50\n3,,zzz,3.25\n4,40,,-4.00\n");
    EXPECT("DELETE FROM t WHERE m > 3;" ALL, "id,a,s,m\n1,10,x,1.50\n4,40,,-4.00\n");
    EXPECT("DELETE FROM t WHERE t.id = 99 OR 1 = 0;" ALL, "id,a,s,m\n1,10,x,1.50\n4,40,,-4.00\n");
    EXPECT("DELETE FROM t WHERE NULL;" ALL, "id,a,s,m\n1,10,x,1.50\n4,40,,-4.00\n");
    EXPECT("DELETE FROM t;" ALL, "id,a,s,m\n");
    EXPECT_ERR("DELETE FROM nope;", "no such table: nope");
    EXPECT_ERR("DELETE FROM t WHERE zz = 1;", "unknown column 'zz'");
    EXPECT_ERR("DELETE FROM t WHERE other.a = 1;", "no such table: other");
    EXPECT_ERR("DELETE FROM t WHERE s;", "is not a boolean");
    EXPECT_ERR("DELETE FROM t WHERE count(*) > 1;", "not allowed");
    EXPECT_ERR("DELETE t WHERE a = 1;", "syntax error: expected FROM, got 't'");
    /* Without a primary key: only WHERE clauses the storage layer evaluates. */
    EXPECT("CREATE TABLE n (a INT, s TEXT); INSERT INTO n VALUES (1, 'a'), (2, 'bb'), (3, NULL);"
           "DELETE FROM n WHERE a = 1 OR s IS NULL; SELECT * FROM n;",
           "a,s\n2,bb\n");
    EXPECT_ERR("DELETE FROM n WHERE length(s) = 2;", "needs the table's primary key");
    EXPECT("DELETE FROM n WHERE 1 = 1; SELECT count(*) FROM n;", "count(*)\n0\n");
}

static void test_update(void)
{
    EXPECT("DROP TABLE t; CREATE TABLE t (id BIGINT PRIMARY KEY, a INT NOT NULL, s TEXT,"
           " d DATE, m DECIMAL(6,2));"
           "INSERT INTO t VALUES (1, 10, 'x', '2024-01-01', 1.50), (2, 20, 'yy', NULL, NULL),"
           " (3, 30, NULL, '2024-03-01', 3.25);",
           "");
    EXPECT("UPDATE t SET a = a + 1, s = s || '!' WHERE id >= 2;" ALL,
           "id,a,s,d,m\n1,10,x,2024-01-01,1.50\n2,21,yy!,,\n3,31,,2024-03-01,3.25\n");
    /* Conversions as for INSERT: a string to a date, an integer to a decimal, a double to an
     * integer; the old values on the right of SET; a WHERE that is not pushed down. */
    EXPECT("UPDATE t SET d = '2025-05-05', m = 7, a = 2.0 * a, s = upper(t.s)"
           " WHERE length(s) = 1 OR s IS NULL;" ALL,
           "id,a,s,d,m\n1,20,X,2025-05-05,7.00\n2,21,yy!,,\n3,62,,2025-05-05,7.00\n");
    /* The primary key moves; no row matches: nothing happens. */
    EXPECT("UPDATE t SET id = id * 10 WHERE a > 20; UPDATE t SET a = 0 WHERE id = 999;" ALL,
           "id,a,s,d,m\n1,20,X,2025-05-05,7.00\n20,21,yy!,,\n30,62,,2025-05-05,7.00\n");
    EXPECT("UPDATE t SET s = NULL;"
           "SELECT count(s) FROM t;",
           "count(s)\n0\n");
    EXPECT_ERR("UPDATE t SET a = NULL WHERE id = 1;", "NOT NULL constraint failed: t.a");
    EXPECT_ERR("UPDATE t SET m = 123456.00;",
               "cannot cast 123456.00 to DECIMAL(6,2): out of range");
    EXPECT_ERR("UPDATE t SET a = 'abc';", "cannot");
    EXPECT_ERR("UPDATE t SET d = 5;", "type error: column d is DATE");
    EXPECT_ERR("UPDATE t SET d = '2024-13-45';", "invalid value");
    EXPECT_ERR("UPDATE t SET zz = 1;", "table t has no column zz");
    EXPECT_ERR("UPDATE t SET a = 1, a = 2;", "column a is set twice");
    EXPECT_ERR("UPDATE t SET a = excluded.a;", "no such table: excluded");
    EXPECT_ERR("UPDATE t SET a = 1 WHERE;", "syntax error");
    EXPECT_ERR("UPDATE t a = 1;", "expected SET");
    EXPECT_ERR("UPDATE nope SET a = 1;", "no such table: nope");
    /* Nothing changed by the failures. */
    EXPECT("SELECT id, a FROM t ORDER BY id;", "id,a\n1,20\n20,21\n30,62\n");
}

static void test_upsert(void)
{
    EXPECT("CREATE TABLE u (id INT PRIMARY KEY, n INT, s TEXT);"
           "INSERT INTO u VALUES (1, 1, 'a'), (2, 2, 'b');",
           "");
    EXPECT("INSERT OR REPLACE INTO u VALUES (1, 10, 'A'), (3, 3, 'c');"
           "SELECT * FROM u ORDER BY id;",
           "id,n,s\n1,10,A\n2,2,b\n3,3,c\n");
    EXPECT("REPLACE INTO u (id, n) VALUES (2, 20), (2, 21);"
           "SELECT * FROM u ORDER BY id;",
           "id,n,s\n1,10,A\n2,21,\n3,3,c\n");
    EXPECT("INSERT OR IGNORE INTO u VALUES (1, 0, 'no'), (4, 4, 'd'), (4, 5, 'e');"
           "INSERT INTO u VALUES (3, 0, 'no') ON CONFLICT DO NOTHING;"
           "INSERT INTO u VALUES (5, 5, 'f') ON CONFLICT (id) DO NOTHING;"
           "SELECT * FROM u ORDER BY id;",
           "id,n,s\n1,10,A\n2,21,\n3,3,c\n4,4,d\n5,5,f\n");
    EXPECT("INSERT INTO u VALUES (1, 5, 'x'), (6, 6, 'g') ON CONFLICT (id) DO UPDATE"
           " SET n = u.n + excluded.n, s = excluded.s || s;"
           "SELECT * FROM u ORDER BY id;",
           "id,n,s\n1,15,xA\n2,21,\n3,3,c\n4,4,d\n5,5,f\n6,6,g\n");
    EXPECT("INSERT INTO u VALUES (1, 100, 'big'), (2, 1, 'small') ON CONFLICT (id) DO UPDATE"
           " SET n = excluded.n, s = excluded.s WHERE excluded.n > n;"
           "SELECT * FROM u WHERE id <= 2 ORDER BY id;",
           "id,n,s\n1,100,big\n2,21,\n");
    EXPECT_ERR("INSERT INTO u VALUES (1, 1, 'a'), (1, 2, 'b') ON CONFLICT (id) DO UPDATE"
               " SET n = excluded.n;",
               "key 1 is proposed twice");
    EXPECT_ERR("INSERT INTO u VALUES (1, 1, 'a') ON CONFLICT (n) DO NOTHING;",
               "only the primary key (id) is unique");
    EXPECT_ERR("INSERT INTO u VALUES (1, 1, 'a') ON CONFLICT (zz) DO NOTHING;",
               "table u has no column zz");
    EXPECT_ERR("INSERT INTO u VALUES (1, 1, 'a') ON CONFLICT DO UPDATE SET n = 1;",
               "needs the conflict target");
    EXPECT_ERR("INSERT INTO u VALUES (1, 1, 'a') ON CONFLICT (id) DO UPDATE SET id = 7;",
               "cannot change the primary key");
    EXPECT_ERR("INSERT INTO u VALUES (1, 1, 'a') ON CONFLICT (id) DO UPDATE SET n = excluded.q;",
               "no such column: excluded.q");
    EXPECT_ERR("INSERT OR REPLACE INTO u VALUES (1, 1, 'a') ON CONFLICT DO NOTHING;",
               "cannot be combined");
    EXPECT_ERR("INSERT OR FAIL INTO u VALUES (1, 1, 'a');", "expected REPLACE or IGNORE");
    EXPECT_ERR("INSERT INTO u VALUES (1, 1, 'a') ON CONFLICT (id) DO SOMETHING;",
               "expected NOTHING or UPDATE");
    EXPECT_ERR("CREATE TABLE nk (a INT); INSERT OR REPLACE INTO nk VALUES (1);",
               "table nk has no primary key");
    EXPECT("SELECT * FROM u ORDER BY id;",
           "id,n,s\n1,100,big\n2,21,\n3,3,c\n4,4,d\n5,5,f\n6,6,g\n");
}

static void test_truncate(void)
{
    EXPECT("TRUNCATE TABLE u; SELECT count(*) FROM u;", "count(*)\n0\n");
    EXPECT("INSERT INTO u VALUES (1, 1, 'a'); TRUNCATE u; SELECT count(*) FROM u;",
           "count(*)\n0\n");
    EXPECT_ERR("TRUNCATE nope;", "no such table: nope");
    /* Time travel sees the rows before the truncation. */
    EXPECT("CREATE TABLE tt (a INT); INSERT INTO tt VALUES (1), (2); TRUNCATE tt;"
           "SELECT count(*) FROM tt;",
           "count(*)\n0\n");
    shell_out o = shell_c(store, "-csv", ".version");
    long long v = atoll(o.out);
    shell_out_free(&o);
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM tt AS OF VERSION %lld;", v - 1);
    EXPECT(sql, "count(*)\n2\n");
}

/* The rows each statement changed, printed after it in table mode whatever the input (-c, -f,
 * a pipe), as at the prompt; never in csv or json mode, whose output is data. */
static void test_changes(void)
{
    const char *script = "CREATE TABLE k (id INT PRIMARY KEY, s TEXT);\n"
                         "INSERT INTO k VALUES (1, 'a'), (2, 'b'), (3, 'c');\n"
                         "UPDATE k SET s = 'z' WHERE id >= 2;\n"
                         "DELETE FROM k WHERE id = 1;\n"
                         "INSERT OR REPLACE INTO k VALUES (2, 'y'), (4, 'd');\n"
                         "UPDATE k SET s = 'q' WHERE id > 100;\n"
                         "CREATE TABLE k2 AS SELECT * FROM k;\n"
                         "TRUNCATE k2;\n"
                         "DROP TABLE k2;\n"
                         "COPY k TO 'K_CSV';\n"
                         "COPY k FROM 'K_CSV';\n";
    char csv[700], text[2000];
    snprintf(csv, sizeof csv, "%s/k.csv", shell_tmp);
    char *dst = text;
    for (const char *p = script; *p;) { /* K_CSV: the path of the file */
        if (strncmp(p, "K_CSV", 5) == 0) {
            dst += sprintf(dst, "%s", csv);
            p += 5;
        } else {
            *dst++ = *p++;
        }
    }
    *dst = 0;
    const char *path = shell_file("changes.sql", text);
    const char *f[] = {store, "-f", path, NULL};
    shell_out o = shell_runv(NULL, f);
    CHECK_EQ_INT(o.status, 1); /* the second COPY repeats the keys */
    CHECK_EQ_STR(o.out, "3 rows\n2 rows\n1 row\n2 rows\n0 rows\n3 rows\n3 rows\n");
    CHECK(strstr(o.err, "duplicate primary key") != NULL);
    shell_out_free(&o);
    /* -c and a pipe print the same; csv and json modes print only results. */
    o = shell_c(store, NULL, "DELETE FROM k WHERE id = 4; INSERT INTO k VALUES (5, 'e');");
    CHECK_EQ_STR(o.out, "1 row\n1 row\n");
    shell_out_free(&o);
    const char *pipe[] = {store, NULL};
    o = shell_runv("UPDATE k SET s = 'p';\n", pipe);
    CHECK_EQ_STR(o.out, "3 rows\n");
    shell_out_free(&o);
    EXPECT("UPDATE k SET s = 'r'; SELECT count(*) FROM k;", "count(*)\n3\n");
    /* COPY ... TO prints no count in a script: its file may be the shell's own stdout. */
    o = shell_c(store, NULL, "COPY k TO '/dev/stdout';");
    CHECK_EQ_STR(o.out, "id,s\n2,r\n3,r\n5,r\n");
    shell_out_free(&o);
    snprintf(text, sizeof text,
             "-- the rows\n copy (SELECT id FROM k) TO '%s' (FORMAT json);"
             "COPY \"k\" TO '%s'; INSERT INTO k VALUES (6, 'f');",
             csv, csv);
    o = shell_c(store, NULL, text);
    CHECK_EQ_STR(o.out, "1 row\n");
    shell_out_free(&o);
    o = shell_c(store, "-json", "DELETE FROM k WHERE id >= 5; SELECT count(*) AS n FROM k;");
    CHECK_EQ_STR(o.out, "[{\"n\":2}]\n");
    shell_out_free(&o);
}

int main(void)
{
    if (shell_setup() < 0)
        CHECK_SKIP("expstore binary not found (set ES_BUILD_DIR)");
    snprintf(store, sizeof store, "%s/store", shell_tmp);
    test_delete();
    test_update();
    test_upsert();
    test_truncate();
    test_changes();
    shell_cleanup();
    return CHECK_DONE();
}
