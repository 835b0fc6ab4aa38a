/*
 * test_shell: drives the real `expstore` binary with -c / -f / stdin and checks its output:
 * DDL, INSERT, SELECT (filters, aggregates, ordering, limits), output modes, COPY CSV/Arrow
 * round trips, time travel, EXPLAIN, error positions, atomicity of failed statements,
 * several processes inserting into one table at once, and (local stores) a log entry removed
 * or replaced by a directory: a warning at startup, INSERT refused without writing anything.
 *
 * The store is a temp directory, or $ES_TEST_STORE_URI (e.g. s3://bucket/prefix on the loopback
 * S3 server) with a unique suffix.
 */
#include <dirent.h>
#include <time.h>

#include "check.h"
#include "shell/run.h"
#include "testutil.h"

static char store[1024];

/* Run SQL, expect success and exactly `expect` on stdout. */
static void expect_out(const char *mode, const char *sql, const char *expect, int line)
{
    shell_out o = shell_c(store, mode, sql);
    if (o.status != 0 || strcmp(o.out, expect) != 0) {
        check_failed++;
        fprintf(stderr, "line %d: %s\n  status %d\n  got:\n%s\n  expected:\n%s\n  stderr: %s\n",
                line, sql, o.status, o.out, expect, o.err);
    } else {
        check_passed++;
    }
    shell_out_free(&o);
}
#define EXPECT(mode, sql, expect) expect_out(mode, sql, expect, __LINE__)

static void ok(const char *sql, int line)
{
    shell_out o = shell_c(store, NULL, sql);
    if (o.status != 0) {
        check_failed++;
        fprintf(stderr, "line %d: %s\n  failed with %d: %s\n", line, sql, o.status, o.err);
    } else {
        check_passed++;
    }
    shell_out_free(&o);
}
#define OK(sql) ok(sql, __LINE__)

static void test_basic(void)
{
    OK("CREATE TABLE people (id BIGINT, name VARCHAR, age INTEGER, score DOUBLE, "
       "PRIMARY KEY (id));");
    OK("INSERT INTO people VALUES (1, 'alice', 30, 1.5), (2, 'bob', NULL, 2.25), "
       "(3, 'carol', 41, NULL);"
       "INSERT INTO people (id, name) VALUES (4, 'dave');");
    EXPECT(NULL, "SELECT * FROM people WHERE id >= 2 ORDER BY id;",
           "+----+-------+------+-------+\n"
           "| id | name  | age  | score |\n"
           "+----+-------+------+-------+\n"
           "|  2 | bob   | NULL |  2.25 |\n"
           "|  3 | carol |   41 |  NULL |\n"
           "|  4 | dave  | NULL |  NULL |\n"
           "+----+-------+------+-------+\n");
    EXPECT("-csv", "SELECT id, name FROM people WHERE age > 20 ORDER BY age DESC;",
           "id,name\n3,carol\n1,alice\n");
    EXPECT(NULL, ".mode json\nSELECT id, name, score FROM people WHERE name = 'alice';",
           "[{\"id\":1,\"name\":\"alice\",\"score\":1.5}]\n");
    EXPECT(NULL, ".mode csv\nSELECT name FROM people ORDER BY age, id;",
           "name\nbob\ndave\nalice\ncarol\n");
    {
        /* .timer: one line per statement, wall and CPU seconds as sqlite3 prints them. */
        shell_out o = shell_c(store, "-csv", ".timer on\nSELECT count(*) FROM people;");
        CHECK_EQ_INT(o.status, 0);
        double real = -1, user = -1, sys = -1;
        const char *t = strstr(o.out, "Run Time: real ");
        CHECK(t && sscanf(t, "Run Time: real %lf user %lf sys %lf", &real, &user, &sys) == 3);
        CHECK(real >= 0 && real < 10 && user >= 0 && sys >= 0);
        CHECK(strstr(o.out, "count(*)\n4\nRun Time: real ") == o.out);
        shell_out_free(&o);
    }
    /* .threads: set and print the thread count; the same rows whatever it is. */
    EXPECT("-csv", ".threads 3\n.threads\nSELECT count(*), max(name) FROM people;",
           "3\ncount(*),max(name)\n4,dave\n");
    EXPECT("-csv", "SELECT name FROM people ORDER BY age DESC, id;",
           "name\ncarol\nalice\nbob\ndave\n");
    EXPECT("-csv", "SELECT name FROM people ORDER BY age NULLS LAST, id LIMIT 2 OFFSET 1;",
           "name\ncarol\nbob\n");
    EXPECT("-csv", "SELECT id * 10 + 1 AS x, age / 7, age % 7, score * 2 FROM people ORDER BY 1;",
           "x,(age / 7),(age % 7),(score * 2)\n11,4,2,3.0\n21,,,4.5\n31,5,6,\n41,,,\n");
    EXPECT("-csv",
           "SELECT count(*), count(age), sum(age), min(name), max(score), avg(age) FROM people;",
           "count(*),count(age),sum(age),min(name),max(score),avg(age)\n4,2,71,alice,2.25,35.5\n");
    EXPECT("-csv", "SELECT count(*) FROM people WHERE age IS NULL OR name LIKE 'c%';",
           "count(*)\n3\n");
    EXPECT("-csv",
           "SELECT id FROM people WHERE id BETWEEN 2 AND 3 AND name IN ('bob', 'carol', 'x') "
           "AND NOT (age IS NOT NULL AND age < 10) ORDER BY id DESC;",
           "id\n3\n2\n");
    EXPECT("-csv", "SELECT CAST(age AS VARCHAR) || '!' AS a FROM people WHERE id = 1;", "a\n30!\n");
    EXPECT("-csv",
           "SELECT coalesce(age, -1) AS a, coalesce(score, age, 0) AS s FROM people "
           "ORDER BY id;",
           "a,s\n30,1.5\n-1,2.25\n41,41.0\n-1,0.0\n");
    EXPECT("-csv", "SELECT 1 + 2 AS three, 'x' AS s, 7 / 2, 7.0 / 2, -5 % 3;",
           "three,s,(7 / 2),(7.0 / 2),(-5 % 3)\n3,x,3,3.5,-2\n");
}

static void test_group(void)
{
    OK("CREATE TABLE sales (id INTEGER NOT NULL, region TEXT, amount DECIMAL(10,2), "
       "qty SMALLINT);");
    OK("INSERT INTO sales VALUES (1,'north',10.50,1),(2,'south',20.25,2),(3,'north',5,3),"
       "(4,NULL,1.10,4),(5,'south',NULL,5),(6,'east',7.77,6);");
    EXPECT("-csv",
           "SELECT region, count(*) AS n, sum(amount) AS total, max(qty) FROM sales "
           "GROUP BY region ORDER BY region;",
           "region,n,total,max(qty)\n,1,1.10,4\neast,1,7.77,6\nnorth,2,15.50,3\nsouth,2,20.25,5\n");
    EXPECT("-csv",
           "SELECT region, sum(qty) FROM sales GROUP BY region HAVING count(*) > 1 "
           "ORDER BY sum(qty) DESC;",
           "region,sum(qty)\nsouth,7\nnorth,4\n");
    EXPECT("-csv", "SELECT qty % 2 AS odd, count(*) FROM sales GROUP BY 1 ORDER BY 1;",
           "odd,count(*)\n0,3\n1,3\n");
    EXPECT("-csv", "SELECT amount FROM sales WHERE amount > 7.77 ORDER BY amount;",
           "amount\n10.50\n20.25\n");
    EXPECT("-csv", "SELECT count(*) FROM sales WHERE id > 100;", "count(*)\n0\n");
    EXPECT("-csv",
           "SELECT region, count(*) AS n FROM sales GROUP BY region HAVING n >= 2 "
           "ORDER BY n, region;",
           "region,n\nnorth,2\nsouth,2\n");
    EXPECT("-csv", "SELECT DISTINCT region FROM sales ORDER BY region DESC;",
           "region\nsouth\nnorth\neast\n\n");
    EXPECT("-csv", "SELECT region, count(*) FROM sales WHERE id > 100 GROUP BY region;",
           "region,count(*)\n");
}

static void test_types(void)
{
    OK("CREATE TABLE ev (d DATE, ts TIMESTAMP, tz TIMESTAMP WITH TIME ZONE, b BOOLEAN, "
       "r REAL, bl BLOB, big BIGINT);");
    OK("INSERT INTO ev VALUES ('2024-02-29', '2024-03-01 12:34:56.5', "
       "'2024-03-01T10:00:00+02:00', true, 0.5, 'ab', 9223372036854775807),"
       "(DATE '1969-12-31', TIMESTAMP '1970-01-01 00:00:00', NULL, false, -1, NULL, "
       "-9223372036854775808);");
    EXPECT("-csv", "SELECT d, ts, tz, b, r, big FROM ev ORDER BY d;",
           "d,ts,tz,b,r,big\n1969-12-31,1970-01-01 00:00:00,,false,-1.0,-9223372036854775808\n"
           "2024-02-29,2024-03-01 12:34:56.500000,2024-03-01 08:00:00+00,true,0.5,"
           "9223372036854775807\n");
    EXPECT("-csv", "SELECT count(*) FROM ev WHERE d >= '2000-01-01' AND ts < '2025-01-01';",
           "count(*)\n1\n");
    EXPECT("-csv", "SELECT CAST(d AS TIMESTAMP) FROM ev WHERE b;",
           "CAST(d AS TIMESTAMP)\n2024-02-29 00:00:00\n");
}

static void test_errors(void)
{
    shell_out o = shell_c(store, NULL, "SELECT *\nFROM people\nWHERE id = = 3;");
    CHECK(o.status != 0);
    CONTAINS(o.err, "3:12: syntax error");
    CONTAINS(o.err, "  WHERE id = = 3;\n             ^\n");
    shell_out_free(&o);

    o = shell_c(store, NULL, "SELECT nosuch FROM people;");
    CHECK(o.status != 0);
    CONTAINS(o.err, "1:8: unknown column 'nosuch'");
    shell_out_free(&o);

    o = shell_c(store, NULL, "SELECT * FROM people WHERE name > 3;");
    CHECK(o.status != 0);
    CONTAINS(o.err, "type error");
    CONTAINS(o.err, "name (VARCHAR)");
    CONTAINS(o.err, "BIGINT");
    shell_out_free(&o);

    /* A failing multi-row insert changes nothing. */
    o = shell_c(store, NULL, "INSERT INTO people VALUES (10, 'x', 1, 1.0), (11, 'y', 'old', 2);");
    CHECK(o.status != 0);
    CONTAINS(o.err, "column age");
    CONTAINS(o.err, "INTEGER");
    shell_out_free(&o);
    EXPECT("-csv", "SELECT count(*) FROM people;", "count(*)\n4\n");

    o = shell_c(store, NULL, "INSERT INTO sales (region) VALUES ('west');");
    CHECK(o.status != 0);
    CONTAINS(o.err, "NOT NULL");
    shell_out_free(&o);

    /* -c stops at the first failing statement */
    o = shell_c(store, "-csv", "SELECT 1 AS a; SELECT nope; SELECT 2 AS b;");
    CHECK(o.status != 0);
    CHECK_EQ_STR(o.out, "a\n1\n");
    shell_out_free(&o);

    /* piped stdin continues after errors and exits non-zero */
    const char *args[] = {store, "-csv", NULL};
    o = shell_runv("SELECT 1 AS a;\nSELEC 2;\nSELECT 3 AS c;\n", args);
    CHECK(o.status != 0);
    CHECK_EQ_STR(o.out, "a\n1\nc\n3\n");
    CONTAINS(o.err, "2:1: syntax error");
    shell_out_free(&o);

    o = shell_c(store, NULL, "CREATE TABLE people (x INT);");
    CHECK(o.status != 0);
    CONTAINS(o.err, "already exists");
    shell_out_free(&o);
    OK("CREATE TABLE IF NOT EXISTS people (x INT);");
}

static void test_copy(void)
{
    char csv[512], out[512], arrow[512], sql[4096];
    snprintf(csv, sizeof csv, "%s/in.csv", shell_tmp);
    snprintf(out, sizeof out, "%s/out.csv", shell_tmp);
    snprintf(arrow, sizeof arrow, "%s/out.arrow", shell_tmp);
    FILE *f = fopen(csv, "w");
    fprintf(f, "id;name;v\n");
    for (int i = 0; i < 200000; i++)
        fprintf(f, "%d;\"n%d;x\"\"q\";%s\n", i, i % 100, i % 10 == 0 ? "" : "1.5");
    fclose(f);
    OK("CREATE TABLE big (id BIGINT NOT NULL, name TEXT, v DOUBLE, PRIMARY KEY (id));");
    snprintf(sql, sizeof sql, "COPY big FROM '%s' (HEADER, DELIMITER ';');", csv);
    OK(sql);
    EXPECT("-csv", "SELECT count(*), count(v), sum(v), min(name), max(id) FROM big;",
           "count(*),count(v),sum(v),min(name),max(id)\n200000,180000,270000.0,\"n0;x\"\"q\","
           "199999\n");
    snprintf(sql, sizeof sql,
             "COPY (SELECT id, name, v FROM big WHERE id < 1000 ORDER BY id) TO '%s';"
             "COPY (SELECT id, name, v FROM big WHERE id >= 1000) TO '%s';"
             "CREATE TABLE big2 (id BIGINT NOT NULL, name TEXT, v DOUBLE);"
             "COPY big2 FROM '%s' (HEADER);"
             "COPY big2 FROM '%s';",
             out, arrow, out, arrow);
    OK(sql);
    EXPECT("-csv", "SELECT count(*), sum(id), count(v) FROM big2;",
           "count(*),sum(id),count(v)\n200000,19999900000,180000\n");
    /* A bad row anywhere in a COPY leaves the table unchanged. */
    f = fopen(csv, "a");
    fprintf(f, "oops;x;1\n");
    fclose(f);
    snprintf(sql, sizeof sql, "COPY big FROM '%s' (HEADER, DELIMITER ';');", csv);
    shell_out o = shell_c(store, NULL, sql);
    CHECK(o.status != 0);
    CONTAINS(o.err, "200002: column id: cannot parse 'oops' as BIGINT");
    shell_out_free(&o);
    EXPECT("-csv", "SELECT count(*) FROM big;", "count(*)\n200000\n");

    /* EXPLAIN ANALYZE: the key range goes down to the scan and its stats are reported. */
    o = shell_c(store, "-csv", "EXPLAIN ANALYZE SELECT name FROM big WHERE id BETWEEN 10 AND 20;");
    CHECK(o.status == 0);
    CONTAINS(o.out, "pushed predicate: ");
    CONTAINS(o.out, "id");
    CONTAINS(o.out, "parts: ");
    CONTAINS(o.out, "bytes fetched: ");
    CONTAINS(o.out, "result rows: 11");
    shell_out_free(&o);
}

/* DESCRIBE HISTORY, AS OF TIMESTAMP and DESCRIBE ... AS OF on table tv, whose version v
 * holds 2 rows and v + 1 (committed a few ms later) 3. */
static void test_history_sql(long long v)
{
    char sql[256], ts[64] = "";
    snprintf(sql, sizeof sql, "DESCRIBE HISTORY tv LIMIT 2;");
    shell_out o = shell_c(store, "-csv", sql);
    CHECK(o.status == 0);
    CONTAINS(o.out, "version,timestamp,entry_time,operation,tables,rows_added,parts_added,"
                    "parts_removed,txn\n");
    char want[64];
    snprintf(want, sizeof want, "\n%lld,", v + 1);
    CONTAINS(o.out, want);
    CONTAINS(o.out, ",insert,tv,1,1,0,");
    snprintf(want, sizeof want, "\n%lld,", v);
    const char *row = strstr(o.out, want); /* version v: its commit time, as printed */
    CHECK(row != NULL);
    if (row)
        sscanf(row + strlen(want), "%63[^,]", ts);
    shell_out_free(&o);
    o = shell_c(store, "-csv", "DESCRIBE HISTORY;");
    CHECK(o.status == 0);
    CONTAINS(o.out, ",create,tv,,0,0,");
    CONTAINS(o.out, "\n0,");
    CONTAINS(o.out, ",init,,,0,0,");
    shell_out_free(&o);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM tv AS OF TIMESTAMP '%s';", ts);
    EXPECT("-csv", sql, "count(*)\n2\n");
    EXPECT("-csv", "SELECT count(*) FROM tv AS OF TIMESTAMP '2999-01-01 00:00:00';",
           "count(*)\n3\n");
    o = shell_c(store, NULL, "SELECT count(*) FROM tv AS OF TIMESTAMP '2001-01-01 00:00:00';");
    CHECK(o.status != 0);
    CONTAINS(o.err, "no version at that time: the oldest available version is 0, committed at ");
    shell_out_free(&o);
    o = shell_c(store, NULL, "SELECT * FROM tv AS OF TIMESTAMP 'yesterday';");
    CHECK(o.status != 0);
    CONTAINS(o.err, "AS OF TIMESTAMP: cannot parse 'yesterday' as a TIMESTAMP");
    shell_out_free(&o);
    /* DESCRIBE at a version before an ALTER. */
    OK("ALTER TABLE tv ADD COLUMN note VARCHAR;");
    snprintf(sql, sizeof sql, "DESCRIBE tv AS OF VERSION %lld;", v);
    EXPECT("-csv", sql, "column_name,column_type,null,key,default\nk,INTEGER,YES,,\n");
    snprintf(sql, sizeof sql, "DESCRIBE TABLE tv AS OF TIMESTAMP '%s';", ts);
    EXPECT("-csv", sql, "column_name,column_type,null,key,default\nk,INTEGER,YES,,\n");
    EXPECT("-csv", "DESCRIBE tv;",
           "column_name,column_type,null,key,default\nk,INTEGER,YES,,\nnote,VARCHAR,YES,,\n");
    o = shell_c(store, "-csv", "DESCRIBE HISTORY tv LIMIT 1;");
    CONTAINS(o.out, ",alter,tv,,0,0,");
    shell_out_free(&o);
    o = shell_c(store, NULL, "DESCRIBE HISTORY tv LIMIT 0;");
    CHECK(o.status != 0);
    CONTAINS(o.err, "LIMIT must be >= 1");
    shell_out_free(&o);
}

static void test_versions(void)
{
    OK("CREATE TABLE tv (k INT);");
    OK("INSERT INTO tv VALUES (1), (2);");
    shell_out o = shell_c(store, NULL, ".version");
    long long v = atoll(o.out);
    CHECK(o.status == 0 && v > 0);
    shell_out_free(&o);
    usleep(5000); /* so that version v + 1 is committed a few ms after v */
    OK("INSERT INTO tv VALUES (3);");
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM tv AS OF VERSION %lld;", v);
    EXPECT("-csv", sql, "count(*)\n2\n");
    EXPECT("-csv", "SELECT count(*) FROM tv;", "count(*)\n3\n");
    test_history_sql(v);
    OK("DROP TABLE tv;");
    o = shell_c(store, NULL, "SELECT * FROM tv;");
    CHECK(o.status != 0);
    CONTAINS(o.err, "no such table: tv");
    shell_out_free(&o);
    OK("DROP TABLE IF EXISTS tv;");
    o = shell_c(store, NULL, ".tables");
    CONTAINS(o.out, "people\n");
    CHECK(strstr(o.out, "tv\n") == NULL);
    shell_out_free(&o);
    o = shell_c(store, NULL, ".schema sales");
    CONTAINS(o.out, "CREATE TABLE sales (id INTEGER NOT NULL, region VARCHAR, "
                    "amount DECIMAL(10,2), qty SMALLINT);");
    shell_out_free(&o);
}

static void test_file(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/script.sql", shell_tmp);
    FILE *f = fopen(path, "w");
    fprintf(f, "-- a script\n.mode csv\nSELECT name\n  FROM people\n  WHERE id = 2;\n"
               "/* block */ SELECT 'a;b' AS s;\n");
    fclose(f);
    const char *args[] = {store, "-f", path, NULL};
    shell_out o = shell_runv(NULL, args);
    CHECK(o.status == 0);
    CHECK_EQ_STR(o.out, "name\nbob\ns\na;b\n");
    shell_out_free(&o);
}

/* Several expstore processes insert into one table at once (4 writers, 3 INSERTs each, all
 * started together): every statement succeeds, every row is there once, one version each. */
static void test_concurrent(void)
{
    enum { WRITERS = 4, INSERTS = 3 };
    OK("CREATE TABLE conc (w INTEGER NOT NULL, k INTEGER NOT NULL);");
    shell_out o = shell_c(store, NULL, ".version");
    long long v0 = atoll(o.out);
    shell_out_free(&o);
    fflush(stdout);
    fflush(stderr);
    pid_t pids[WRITERS];
    for (int w = 0; w < WRITERS; w++) {
        pids[w] = fork();
        if (pids[w] != 0)
            continue;
        int fails = 0;
        for (int k = 0; k < INSERTS; k++) {
            char sql[128];
            snprintf(sql, sizeof sql, "INSERT INTO conc VALUES (%d, %d), (%d, %d);", w, k, w,
                     k + 100);
            pid_t p = fork();
            if (p == 0) {
                int fd = open("/dev/null", O_RDWR);
                dup2(fd, 0);
                dup2(fd, 1); /* stderr stays: a failure shows its message */
                execl(shell_bin, shell_bin, store, "-c", sql, (char *)NULL);
                _exit(127);
            }
            int st = 0;
            fails += !(p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0);
        }
        _exit(fails);
    }
    for (int w = 0; w < WRITERS; w++) {
        int st = 0;
        CHECK(pids[w] > 0 && waitpid(pids[w], &st, 0) == pids[w] && WIFEXITED(st) &&
              WEXITSTATUS(st) == 0);
    }
    EXPECT("-csv", "SELECT w, count(*), sum(k) FROM conc GROUP BY w ORDER BY w;",
           "w,count(*),sum(k)\n0,6,306\n1,6,306\n2,6,306\n3,6,306\n");
    o = shell_c(store, NULL, ".version");
    CHECK(o.status == 0);
    CHECK_EQ_INT(atoll(o.out), v0 + WRITERS * INSERTS);
    shell_out_free(&o);
}

/* Every file under dir (recursively), for "nothing was written". */
static long count_files(const char *dir)
{
    DIR *d = opendir(dir);
    long n = 0;
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char sub[1024];
        snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
            n += count_files(sub);
        else
            n++;
    }
    closedir(d);
    return n;
}

/* Issue 10: a log entry removed from a local store (or replaced by a directory). The shell
 * warns at startup naming it and reads the last consistent version; INSERT fails naming it
 * and writes nothing; time travel past it names it. */
static void test_damaged_log(void)
{
    char dir[512], entry[700];
    snprintf(dir, sizeof dir, "%s/damaged", shell_tmp);
    snprintf(entry, sizeof entry, "%s/_log/00000000000000000004.json", dir);
    shell_out o = shell_c(dir, NULL,
                          "CREATE TABLE d (k INTEGER);"
                          "INSERT INTO d VALUES (1); INSERT INTO d VALUES (2);"
                          "INSERT INTO d VALUES (3); INSERT INTO d VALUES (4);"
                          "INSERT INTO d VALUES (5);");
    CHECK_EQ_INT(o.status, 0);
    shell_out_free(&o);
    o = shell_c(dir, NULL, ".version");
    CHECK_EQ_STR(o.out, "6\n");
    CHECK_EQ_STR(o.err, "");
    shell_out_free(&o);
    CHECK(unlink(entry) == 0);
    const char *warning = "warning: _log/00000000000000000004.json: missing, but later version 6 "
                          "exists: the log is damaged; reads continue at version 3\n";
    o = shell_c(dir, NULL, ".version");
    CHECK_EQ_INT(o.status, 0);
    CHECK_EQ_STR(o.out, "3\n");
    CHECK_EQ_STR(o.err, warning);
    shell_out_free(&o);
    o = shell_c(dir, "-csv", "SELECT count(*) FROM d;");
    CHECK_EQ_INT(o.status, 0);
    CHECK_EQ_STR(o.out, "count(*)\n2\n");
    shell_out_free(&o);
    long files = count_files(dir);
    o = shell_c(dir, NULL, "INSERT INTO d VALUES (100);");
    CHECK(o.status != 0);
    CONTAINS(o.err, warning);
    CONTAINS(o.err,
             "Error: 1:1: _log/00000000000000000004.json: missing, but later version 6 exists: "
             "the log is damaged; reads continue at version 3\n");
    shell_out_free(&o);
    CHECK_EQ_INT(count_files(dir), files);
    CHECK(access(entry, F_OK) != 0);
    o = shell_c(dir, NULL, "CREATE TABLE e (k INTEGER);");
    CHECK(o.status != 0);
    CONTAINS(o.err, "Error: 1:1: _log/00000000000000000004.json: missing");
    shell_out_free(&o);
    o = shell_c(dir, NULL, "SELECT count(*) FROM d AS OF VERSION 5;");
    CHECK(o.status != 0);
    CONTAINS(o.err, "_log/00000000000000000004.json: missing, but later version 6 exists: the log "
                    "is damaged; version 5 cannot be read");
    shell_out_free(&o);
    o = shell_c(dir, "-csv", "SELECT count(*) FROM d AS OF VERSION 2;");
    CHECK_EQ_STR(o.out, "count(*)\n1\n");
    shell_out_free(&o);
    CHECK_EQ_INT(count_files(dir), files);
    /* A directory in its place: reads took it for absent, INSERT said "already exists". */
    CHECK(mkdir(entry, 0755) == 0);
    o = shell_c(dir, NULL, "INSERT INTO d VALUES (100);");
    CHECK(o.status != 0);
    CONTAINS(o.err,
             "Error: 1:1: _log/00000000000000000004.json: missing, but later version 6 exists");
    CHECK(strstr(o.err, "already exists") == NULL);
    shell_out_free(&o);
    CHECK_EQ_INT(count_files(dir), files);
    /* At the end of the log, where the next INSERT commits. */
    CHECK(rmdir(entry) == 0);
    snprintf(dir, sizeof dir, "%s/damaged_tail", shell_tmp);
    snprintf(entry, sizeof entry, "%s/_log/00000000000000000003.json", dir);
    o = shell_c(dir, NULL, "CREATE TABLE d (k INTEGER); INSERT INTO d VALUES (1);");
    CHECK_EQ_INT(o.status, 0);
    shell_out_free(&o);
    CHECK(mkdir(entry, 0755) == 0);
    o = shell_c(dir, NULL, "INSERT INTO d VALUES (2);");
    CHECK(o.status != 0);
    CONTAINS(o.err,
             "Error: 1:1: _log/00000000000000000003.json: a conditional create says it exists, "
             "but reading it finds no object (");
    CONTAINS(o.err, "is a directory): the log is damaged\n");
    shell_out_free(&o);
    o = shell_c(dir, "-csv", "SELECT count(*) FROM d;");
    CHECK_EQ_STR(o.out, "count(*)\n1\n");
    shell_out_free(&o);
}

int main(void)
{
    if (shell_setup() < 0)
        CHECK_SKIP("expstore binary not found (set ES_BUILD_DIR)");
    const char *uri = getenv("ES_TEST_STORE_URI");
    if (uri && *uri)
        snprintf(store, sizeof store, "%s/shell-%d", uri, (int)getpid());
    else
        snprintf(store, sizeof store, "%s/store", shell_tmp);
    TIMED(test_basic());
    TIMED(test_group());
    TIMED(test_types());
    TIMED(test_errors());
    TIMED(test_copy());
    TIMED(test_versions());
    TIMED(test_file());
    TIMED(test_concurrent());
    if (!(uri && *uri))
        TIMED(test_damaged_log()); /* removes files of a local store */
    shell_cleanup();
    return CHECK_DONE();
}
