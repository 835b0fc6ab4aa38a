/*
 * test_shell_sql: the SQL of daily work through the real `expstore` binary: CASE, ILIKE,
 * DISTINCT aggregates, GROUP BY an alias, the scalar and date functions, CREATE TABLE AS,
 * INSERT ... SELECT, DESCRIBE, SHOW TABLES, EXPLAIN (which reads no table data: it works with
 * every .data file removed) and EXPLAIN ANALYZE, COPY TO in every format with the format taken
 * from the extension or the FORMAT option, and the "did you mean" errors with their carets.
 */
#include <dirent.h>

#include "check.h"
#include "shell/run.h"

static char store[1024];

#define EXPECT(sql, out) shell_expect(store, sql, out, NULL, __LINE__)
#define EXPECT_ERR(sql, err) shell_expect(store, sql, NULL, err, __LINE__)

static void setup(void)
{
    EXPECT("CREATE TABLE p (id BIGINT PRIMARY KEY, name VARCHAR NOT NULL, city VARCHAR, "
           "score DOUBLE, born DATE, seen TIMESTAMP);"
           "INSERT INTO p VALUES (1, 'Ada', 'London', 91.5, '1815-12-10', '2024-03-07 09:30:00'),"
           "(2, 'alan', 'london', 78, '1912-06-23', '2024-03-08 14:00:00.25'),"
           "(3, 'Grace', 'NEW YORK', NULL, '1906-12-09', NULL),"
           "(4, 'Linus', 'Helsinki', 66.25, '1969-12-28', '2023-12-31 23:59:59');",
           "");
}

static void test_expressions(void)
{
    EXPECT("SELECT name, CASE WHEN score >= 80 THEN 'high' WHEN score IS NULL THEN '?' ELSE "
           "'low' END AS band FROM p ORDER BY id;",
           "name,band\nAda,high\nalan,low\nGrace,?\nLinus,low\n");
    EXPECT("SELECT CASE city WHEN 'London' THEN 1 WHEN 'london' THEN 2 END AS c FROM p ORDER BY "
           "id;",
           "c\n1\n2\n\n\n");
    EXPECT("SELECT id FROM p WHERE city ILIKE 'LONDON' ORDER BY id;", "id\n1\n2\n");
    EXPECT("SELECT id FROM p WHERE city NOT ILIKE '%o%' ORDER BY id;", "id\n4\n");
    EXPECT("SELECT lower(city) AS town, count(*) AS n, count(DISTINCT name) AS names FROM p "
           "GROUP BY town ORDER BY town;",
           "town,n,names\nhelsinki,1,1\nlondon,2,2\nnew york,1,1\n");
    EXPECT("SELECT substr(name, 1, 3) AS s3, upper(trim(' x ')) AS t, replace(city, 'on', '0n') "
           "AS r, concat(name, '@', city) AS c, nullif(city, 'London') AS nc FROM p WHERE id <= 2 "
           "ORDER BY id;",
           "s3,t,r,c,nc\nAda,X,L0nd0n,Ada@London,\nala,X,l0nd0n,alan@london,london\n");
    EXPECT("SELECT round(score), round(score, 1), floor(score), ceil(score), sqrt(score * 0 + 4), "
           "power(score * 0 + 2, 3), ln(1), exp(0), log10(100) FROM p WHERE id = 4;",
           "round(score),\"round(score, 1)\",floor(score),ceil(score),"
           "sqrt(((score * 0) + 4)),\"power(((score * 0) + 2), 3)\",ln(1),exp(0),log10(100)\n"
           "66.0,66.3,66.0,67.0,2.0,8.0,0.0,1.0,2.0\n");
    EXPECT("SELECT strftime(seen, '%d/%m/%Y %H:%M') AS f, date_trunc('month', seen) AS m, "
           "extract(year FROM born) AS y, date_part('isodow', born) AS dow FROM p WHERE id <= 2 "
           "ORDER BY id;",
           "f,m,y,dow\n07/03/2024 09:30,2024-03-01 00:00:00,1815,7\n"
           "08/03/2024 14:00,2024-03-01 00:00:00,1912,7\n");
    EXPECT("SELECT current_date = CAST(now() AS DATE) AS today;", "today\ntrue\n");
    /* PostgreSQL's casts, as DuckDB reads them: x::type is CAST(x AS type), and binds tighter
     * than any operator. */
    EXPECT("SELECT '2024-02-29'::DATE AS d, 1.7::INTEGER, -2::INT + 1 AS n, '3'::BIGINT * 2 AS m,"
           " 5::DECIMAL(4,1)::TEXT AS s FROM p WHERE id::DOUBLE / 2 = 0.5;",
           "d,CAST(1.7 AS INTEGER),n,m,s\n2024-02-29,2,-1,6,5.0\n");
    EXPECT("SELECT count(*) FROM p WHERE born > '1900-01-01'::DATE;", "count(*)\n3\n");
    EXPECT_ERR("SELECT 1::nosuch;", "1:11: unknown type 'nosuch'");
    EXPECT_ERR("SELECT id:: FROM p;", "unknown type 'FROM'");
}

static void test_statements(void)
{
    EXPECT("CREATE TABLE londoners AS SELECT id, name, seen FROM p WHERE city ILIKE 'london';"
           "SELECT * FROM londoners ORDER BY id;",
           "id,name,seen\n1,Ada,2024-03-07 09:30:00\n2,alan,2024-03-08 14:00:00.250000\n");
    EXPECT("DESCRIBE londoners;", "column_name,column_type,null,key,default\nid,BIGINT,NO,,\n"
                                  "name,VARCHAR,NO,,\nseen,TIMESTAMP,YES,,\n");
    EXPECT("DESCRIBE p;", "column_name,column_type,null,key,default\nid,BIGINT,NO,PRI,\n"
                          "name,VARCHAR,NO,,\ncity,VARCHAR,YES,,\nscore,DOUBLE,YES,,\n"
                          "born,DATE,YES,,\nseen,TIMESTAMP,YES,,\n");
    /* Defaults: DESCRIBE shows each as an SQL literal. */
    EXPECT("CREATE TABLE dflt (id INT PRIMARY KEY, n INT NOT NULL DEFAULT -3, s TEXT DEFAULT "
           "'it''s', d DATE DEFAULT '2024-02-29', ts TIMESTAMP DEFAULT '2024-03-01 10:00:00', "
           "m DECIMAL(6,2) DEFAULT 1.5, b BOOLEAN DEFAULT false, x DOUBLE);"
           "DESCRIBE dflt;",
           "column_name,column_type,null,key,default\nid,INTEGER,NO,PRI,\n"
           "n,INTEGER,NO,,-3\ns,VARCHAR,YES,,'it''s'\nd,DATE,YES,,'2024-02-29'\n"
           "ts,TIMESTAMP,YES,,'2024-03-01 10:00:00'\nm,\"DECIMAL(6,2)\",YES,,1.50\n"
           "b,BOOLEAN,YES,,false\nx,DOUBLE,YES,,\n");
    EXPECT("INSERT INTO dflt (id) VALUES (1); SELECT * FROM dflt; DROP TABLE dflt;",
           "id,n,s,d,ts,m,b,x\n1,-3,it's,2024-02-29,2024-03-01 10:00:00,1.50,false,\n");
    EXPECT("SHOW TABLES;", "name\nlondoners\np\n");
    EXPECT("INSERT INTO londoners SELECT id, name, seen FROM p WHERE id > 2;"
           "SELECT count(*) FROM londoners;",
           "count(*)\n4\n");
    /* One atomic insert: a row that breaks NOT NULL leaves the table as it was. */
    EXPECT_ERR("INSERT INTO londoners (id, name) SELECT id + 10, nullif(city, 'London') FROM p;",
               "NOT NULL constraint failed: londoners.name");
    EXPECT("SELECT count(*) FROM londoners;", "count(*)\n4\n");
    EXPECT_ERR("CREATE TABLE dup AS SELECT id, id FROM p;", "two columns are named id");
    /* CREATE INDEX without a name: PostgreSQL's table_column_idx, numbered when taken; the
     * index works and DROP INDEX takes the name. */
    EXPECT("CREATE INDEX ON p (city); CREATE UNIQUE INDEX ON p (name); CREATE INDEX ON p (city);"
           "CREATE INDEX p_score_idx2 ON p (score); CREATE INDEX ON p (score);"
           "CREATE INDEX ON p (score); .indexes p",
           "p_city_idx on p (city), covering 0 of 1 parts (1 inline in the log, 4 rows, not "
           "indexed until FLUSH)\n"
           "unique p_name_idx on p (name), covering 0 of 1 parts (1 inline in the log, 4 rows, "
           "not indexed until FLUSH)\n"
           "p_city_idx1 on p (city), covering 0 of 1 parts (1 inline in the log, 4 rows, not "
           "indexed until FLUSH)\n"
           "p_score_idx2 on p (score), covering 0 of 1 parts (1 inline in the log, 4 rows, not "
           "indexed until FLUSH)\n"
           "p_score_idx on p (score), covering 0 of 1 parts (1 inline in the log, 4 rows, not "
           "indexed until FLUSH)\n"
           "p_score_idx1 on p (score), covering 0 of 1 parts (1 inline in the log, 4 rows, not "
           "indexed until FLUSH)\n");
    EXPECT_ERR("INSERT INTO p (id, name) VALUES (9, 'Ada');",
               "duplicate value name = 'Ada' of unique index p_name_idx");
    EXPECT("SELECT id FROM p WHERE city = 'London';", "id\n1\n");
    EXPECT_ERR("DROP INDEX p_city_id;", "no such index: p_city_id; did you mean 'p_city_idx'?");
    EXPECT("DROP INDEX p_city_idx; DROP INDEX p_city_idx1; DROP INDEX p_name_idx;"
           "DROP INDEX p_score_idx; DROP INDEX p_score_idx1; DROP INDEX p_score_idx2; .indexes p",
           "");
    EXPECT_ERR("CREATE INDEX IF NOT EXISTS ON p (city);", "expected an index name");
}

static int remove_data_files(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char path[1400];
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t l = strlen(e->d_name);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            n += remove_data_files(path);
        else if (l > 5 && strcmp(e->d_name + l - 5, ".data") == 0 && unlink(path) == 0)
            n++;
    }
    closedir(d);
    return n;
}

static void test_explain(void)
{
    shell_out o = shell_c(store, "-csv", "EXPLAIN SELECT name FROM p WHERE seen >= '2024-01-01';");
    CHECK(o.status == 0);
    CHECK(strstr(o.out, "pushed predicate: (seen >= TIMESTAMP '2024-01-01 00:00:00')") != NULL);
    CHECK(strstr(o.out, "planned: 4 rows to scan") != NULL);
    CHECK(strstr(o.out, "result rows") == NULL); /* not run */
    shell_out_free(&o);
    o = shell_c(store, "-csv",
                "EXPLAIN ANALYZE SELECT city, count(*) FROM p WHERE score * 1 > 70 GROUP BY city "
                "ORDER BY 2 DESC;");
    CHECK(o.status == 0);
    CHECK(strstr(o.out, "HASH AGGREGATE 1 key(s), 1 aggregate(s)") != NULL);
    CHECK(strstr(o.out, "actual: 2 groups") != NULL);
    CHECK(strstr(o.out, "actual: 4 rows in, 2 out") != NULL);
    CHECK(strstr(o.out, "result rows: 2") != NULL);
    CHECK(strstr(o.out, "total time: ") != NULL);
    shell_out_free(&o);
    /* A copy of the store without its .data files: EXPLAIN still plans, a run fails. FLUSH
     * first writes the rows inlined in the log into parts. */
    o = shell_c(store, "-csv", "FLUSH;");
    CHECK(o.status == 0);
    shell_out_free(&o);

    char copy[1100], cmd[2300];
    snprintf(copy, sizeof copy, "%s/nodata", shell_tmp);
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s'", store, copy);
    CHECK(system(cmd) == 0);
    CHECK(remove_data_files(copy) >= 2);
    o = shell_c(copy, "-csv", "EXPLAIN SELECT name FROM p WHERE id = 3;");
    CHECK(o.status == 0 && strstr(o.out, "planned: ") != NULL);
    shell_out_free(&o);
    o = shell_c(copy, "-csv", "EXPLAIN ANALYZE SELECT name FROM p WHERE id = 3;");
    CHECK(o.status != 0);
    shell_out_free(&o);
}

static void test_copy_formats(void)
{
    char sql[4096], a[700], b[700], c[700], d[700];
    snprintf(a, sizeof a, "%s/out.json", shell_tmp);
    snprintf(b, sizeof b, "%s/OUT.ARROW", shell_tmp);
    snprintf(c, sizeof c, "%s/out.arrows", shell_tmp);
    snprintf(d, sizeof d, "%s/out.dat", shell_tmp);
    snprintf(sql, sizeof sql,
             "COPY (SELECT id, name, score, born FROM p WHERE id IN (1, 3) ORDER BY id) TO '%s';"
             "COPY p TO '%s'; COPY p TO '%s'; COPY (SELECT id, name FROM p WHERE id = 2) TO '%s' "
             "(FORMAT json);",
             a, b, c, d);
    EXPECT(sql, "");
    char *json = shell_slurp(a), *dat = shell_slurp(d), *arrow = shell_slurp(b);
    CHECK_EQ_STR(json, "{\"id\":1,\"name\":\"Ada\",\"score\":91.5,\"born\":\"1815-12-10\"}\n"
                       "{\"id\":3,\"name\":\"Grace\",\"score\":null,\"born\":\"1906-12-09\"}\n");
    CHECK_EQ_STR(dat, "{\"id\":2,\"name\":\"alan\"}\n");
    CHECK(strncmp(arrow, "ARROW1", 6) == 0); /* an Arrow IPC file, whatever the case */
    free(json);
    free(dat);
    free(arrow);
    /* The table's NOT NULL columns stay non-nullable in the Arrow schema. */
    const char *dargs[] = {"arrow-dump", b, NULL};
    shell_out o = shell_runv(NULL, dargs);
    CHECK(o.status == 0);
    CHECK(strstr(o.out, "{\"name\":\"id\",\"type\":\"int64\",\"nullable\":false") != NULL);
    CHECK(strstr(o.out, "{\"name\":\"name\",\"type\":\"utf8\",\"nullable\":false") != NULL);
    CHECK(strstr(o.out, "{\"name\":\"city\",\"type\":\"utf8\",\"nullable\":true") != NULL);
    shell_out_free(&o);
    /* Both Arrow files read back. */
    snprintf(sql, sizeof sql,
             "CREATE TABLE back AS SELECT * FROM p WHERE id < 0; COPY back FROM '%s'; "
             "COPY back FROM '%s'; SELECT count(*), count(DISTINCT id) FROM back;",
             b, c);
    EXPECT(sql, "count(*),count(DISTINCT id)\n8,4\n");
    /* Formats that are not written are errors naming them, never CSV in disguise. */
    snprintf(sql, sizeof sql, "COPY p TO '%s/x.parquet';", shell_tmp);
    EXPECT_ERR(sql, "format parquet is not supported");
    snprintf(sql, sizeof sql, "COPY p TO '%s/x.out' (FORMAT xml);", shell_tmp);
    EXPECT_ERR(sql, "format xml is not supported");
    snprintf(sql, sizeof sql, "COPY back FROM '%s';", a);
    EXPECT_ERR(sql, "reading JSON is not supported");
}

static void test_errors(void)
{
    shell_out o = shell_c(store, NULL, "SELECT nmae FROM p;");
    CHECK(o.status != 0);
    CHECK(strstr(o.err, "1:8: unknown column 'nmae'; did you mean 'name'?") != NULL);
    shell_out_free(&o);
    EXPECT_ERR("SELECT lenght(name) FROM p;", "unknown function 'lenght'; did you mean 'length'?");
    EXPECT_ERR("SELECT date_trunc('weeks', xx) FROM p;", "unknown column 'xx'");
    EXPECT_ERR("SELECT CASE WHEN name THEN 1 END FROM p;", "is not a boolean");
    EXPECT_ERR("SELECT CASE id END FROM p;", "expected WHEN");
    EXPECT_ERR("DESCRIBE nope;", "no such table: nope");
    EXPECT_ERR("VACUUM p;", "VACUUM takes no table: it collects the whole store");
    EXPECT_ERR(".indexes nope", "no such table: nope");
    /* A table alias, with or without AS, qualifies columns as the table's name does; any other
     * qualifier is an error (it was ignored: SELECT foo.id FROM p read p.id). */
    EXPECT("SELECT x.name, p.city FROM p AS x WHERE x.id < 3 ORDER BY x.id;",
           "name,city\nAda,London\nalan,london\n");
    EXPECT("SELECT count(*) FROM p y WHERE y.score > 70;", "count(*)\n2\n");
    EXPECT_ERR("SELECT foo.id FROM p;", "1:8: no such table: foo (the query reads p)");
    EXPECT_ERR("SELECT id FROM p x WHERE y.id = 1;", "1:26: no such table: y (the query reads p)");
    EXPECT_ERR("SELECT * FROM p x wher id = 1;", "did you mean WHERE?");
    EXPECT_ERR("SELECT * FROM p, p;", "joins are not supported: a query reads one table");
    EXPECT_ERR("SELECT * FROM p x JOIN p y ON x.id = y.id;", "joins are not supported");
    EXPECT_ERR("SELECT id FROM p INTERSECT SELECT id FROM p;", "'INTERSECT' is not supported");
    EXPECT_ERR("SELECT id FROM p x EXCEPT SELECT id FROM p;", "'EXCEPT' is not supported");
    EXPECT_ERR("SELECT * FROM p JOIN p ON 1;", "joins are not supported");
    EXPECT_ERR("SELECT x FROM (SELECT 1 AS x);", "subqueries are not supported");
    EXPECT_ERR("WITH x AS (SELECT 1) SELECT * FROM x;", "WITH (common table expressions)");
    EXPECT_ERR("INSERT OR REPLACE INTO p SELECT * FROM p;", "take VALUES, not a SELECT");
    EXPECT("OPTIMIZE; OPTIMIZE TABLE p; SELECT count(*) FROM p;", "count(*)\n4\n");
}

int main(void)
{
    if (shell_setup() < 0)
        CHECK_SKIP("expstore binary not found (set ES_BUILD_DIR)");
    snprintf(store, sizeof store, "%s/store", shell_tmp);
    setup();
    test_expressions();
    test_statements();
    test_explain();
    test_copy_formats();
    test_errors();
    shell_cleanup();
    return CHECK_DONE();
}
