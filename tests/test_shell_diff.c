/*
 * test_shell_diff: differential testing of the shell's SQL against SQLite. Random tables are
 * loaded into both (COPY from CSV and INSERT VALUES on our side, prepared inserts on SQLite's),
 * then a few hundred random SELECTs (filters, expressions, GROUP BY aggregates, HAVING, ORDER BY
 * with NULLs, LIMIT/OFFSET) run on both and the results are compared (floats with a relative
 * tolerance; unordered results as sorted multisets). The expressions include CASE, ILIKE
 * (SQLite's LIKE is case-insensitive for ASCII: the query SQLite runs says LIKE), the scalar
 * functions both have (round, substr, trim, replace, nullif, floor, ceil, sqrt, power, ln, exp,
 * log10), DISTINCT aggregates and GROUP BY an output alias.
 *
 * ES_SHELL_DIFF_SEED selects the seed (default fixed), ES_SHELL_DIFF_QUERIES the count.
 */
#include <math.h>
#include <stdint.h>
#include <sqlite3.h>

#include "check.h"
#include "testutil.h"
#include "shell/run.h"

static const char *words[] = {"apple", "banana", "cherry", "date", "elder", "fig", "grape", "kiwi"};

/* Columns: id BIGINT pk, a INTEGER (nullable), b BIGINT, c DOUBLE (nullable), s VARCHAR
 * (nullable), d SMALLINT. */
static const char *num_cols[] = {"id", "a", "b", "d"};

static void gen_row(sqlite3_stmt *ins, int64_t id, sbuf *values)
{
    int a_null = rn(8) == 0, c_null = rn(6) == 0, s_null = rn(10) == 0;
    int a = rn(200) - 100;
    long long b = (long long)rn(100000) - 50000;
    double c = (double)(rn(20000) - 10000) / 8.0; /* exact in binary */
    const char *s = words[rn(8)];
    int d = rn(50);
    sqlite3_reset(ins);
    sqlite3_bind_int64(ins, 1, id);
    if (a_null)
        sqlite3_bind_null(ins, 2);
    else
        sqlite3_bind_int(ins, 2, a);
    sqlite3_bind_int64(ins, 3, b);
    if (c_null)
        sqlite3_bind_null(ins, 4);
    else
        sqlite3_bind_double(ins, 4, c);
    if (s_null)
        sqlite3_bind_null(ins, 5);
    else
        sqlite3_bind_text(ins, 5, s, -1, SQLITE_STATIC);
    sqlite3_bind_int(ins, 6, d);
    sqlite3_step(ins);
    char cbuf[64], abuf[32];
    snprintf(abuf, sizeof abuf, "%d", a);
    snprintf(cbuf, sizeof cbuf, "%.17g", c);
    if (values) {
        sb_printf(values, "%s(%lld, %s, %lld, %s, %s%s%s, %d)", values->len ? ", " : "",
                  (long long)id, a_null ? "NULL" : abuf, b, c_null ? "NULL" : cbuf,
                  s_null ? "" : "'", s_null ? "NULL" : s, s_null ? "" : "'", d);
    }
}

static void gen_csv_row(FILE *f, sqlite3_stmt *ins, int64_t id)
{
    int a_null = rn(8) == 0, c_null = rn(6) == 0, s_null = rn(10) == 0;
    int a = rn(200) - 100;
    long long b = (long long)rn(100000) - 50000;
    double c = (double)(rn(20000) - 10000) / 8.0;
    const char *s = words[rn(8)];
    int d = rn(50);
    char abuf[32] = "", cbuf[64] = "";
    if (!a_null)
        snprintf(abuf, sizeof abuf, "%d", a);
    if (!c_null)
        snprintf(cbuf, sizeof cbuf, "%.17g", c);
    fprintf(f, "%lld,%s,%lld,%s,%s,%d\n", (long long)id, abuf, b, cbuf, s_null ? "" : s, d);
    sqlite3_reset(ins);
    sqlite3_bind_int64(ins, 1, id);
    if (a_null)
        sqlite3_bind_null(ins, 2);
    else
        sqlite3_bind_int(ins, 2, a);
    sqlite3_bind_int64(ins, 3, b);
    if (c_null)
        sqlite3_bind_null(ins, 4);
    else
        sqlite3_bind_double(ins, 4, c);
    if (s_null)
        sqlite3_bind_null(ins, 5);
    else
        sqlite3_bind_text(ins, 5, s, -1, SQLITE_STATIC);
    sqlite3_bind_int(ins, 6, d);
    sqlite3_step(ins);
}

/* ------------------------------------------------------- query generator */

static void gen_lit(sbuf *q, const char *col)
{
    if (strcmp(col, "c") == 0) {
        if (rn(2))
            sb_printf(q, "%d", rn(2000) - 1000);
        else
            sb_printf(q, "%.3f", (double)(rn(200000) - 100000) / 100.0);
    } else if (strcmp(col, "b") == 0) {
        sb_printf(q, "%d", rn(100000) - 50000);
    } else if (strcmp(col, "id") == 0) {
        sb_printf(q, "%d", rn(3000));
    } else if (strcmp(col, "d") == 0) {
        sb_printf(q, "%d", rn(50));
    } else {
        sb_printf(q, "%d", rn(200) - 100);
    }
}

static const char *any_num_col(void)
{
    static const char *c[] = {"id", "a", "b", "c", "d"};
    return c[rn(5)];
}

static void gen_pred(sbuf *q, int depth)
{
    int k = rn(depth > 2 ? 7 : 11);
    const char *ops[] = {"=", "<>", "<", "<=", ">", ">="};
    const char *col = any_num_col();
    switch (k) {
    case 0:
    case 1:
    case 2:
        sb_printf(q, "%s %s ", col, ops[rn(6)]);
        gen_lit(q, col);
        break;
    case 3: {
        sb_printf(q, "%s %sBETWEEN ", col, rn(4) == 0 ? "NOT " : "");
        gen_lit(q, col);
        sb_printf(q, " AND ");
        gen_lit(q, col);
        break;
    }
    case 4:
        sb_printf(q, "%s IS %sNULL", rn(2) ? "a" : (rn(2) ? "c" : "s"), rn(2) ? "NOT " : "");
        break;
    case 5:
        if (rn(2)) {
            sb_printf(q, "s %sIN ('%s', '%s', '%s')", rn(4) == 0 ? "NOT " : "", words[rn(8)],
                      words[rn(8)], words[rn(8)]);
        } else {
            sb_printf(q, "%s %sIN (", col, rn(4) == 0 ? "NOT " : "");
            for (int i = 0, n = 1 + rn(4); i < n; i++) {
                if (i)
                    sb_printf(q, ", ");
                gen_lit(q, col);
            }
            sb_printf(q, ")");
        }
        break;
    case 6: {
        static const char *pats[] = {"a%", "%e", "%an%", "_i%", "cherry", "%", "d_t_"};
        sb_printf(q, "s %sLIKE '%s'", rn(4) == 0 ? "NOT " : "", pats[rn(7)]);
        break;
    }
    case 7:
        sb_printf(q, "(");
        gen_pred(q, depth + 1);
        sb_printf(q, rn(2) ? " AND " : " OR ");
        gen_pred(q, depth + 1);
        sb_printf(q, ")");
        break;
    case 9:
        if (rn(2)) {
            static const char *ipats[] = {"A%", "%E", "%AN%", "_I%", "Cherry", "%", "D_T_"};
            sb_printf(q, "s %sILIKE '%s'", rn(4) == 0 ? "NOT " : "", ipats[rn(7)]);
        } else {
            sb_printf(q, "CASE WHEN a > 0 THEN b ELSE d END %s ", ops[rn(6)]);
            gen_lit(q, "d");
        }
        break;
    case 8:
        sb_printf(q, "NOT (");
        gen_pred(q, depth + 1);
        sb_printf(q, ")");
        break;
    case 10:
        /* expression comparisons evaluated in the shell */
        sb_printf(q, "%s %s %s %s ", num_cols[rn(4)], rn(2) ? "+" : "*", num_cols[rn(4)],
                  ops[rn(6)]);
        gen_lit(q, "b");
        break;
    }
}

static void gen_where(sbuf *q)
{
    if (rn(5) == 0)
        return;
    sb_printf(q, " WHERE ");
    gen_pred(q, 0);
    if (rn(3) == 0) {
        sb_printf(q, " AND ");
        gen_pred(q, 0);
    }
}

static void gen_scalar(sbuf *q)
{
    static const char *trims[] = {"trim", "ltrim", "rtrim"};
    switch (rn(16)) {
    case 8:
        sb_printf(q, "CASE WHEN %s > %d THEN %s WHEN a IS NULL THEN -1 ELSE %s END",
                  num_cols[rn(4)], rn(100) - 50, num_cols[rn(4)], num_cols[rn(4)]);
        break;
    case 9:
        sb_printf(q, "CASE %s %% 3 WHEN 0 THEN 'zero' WHEN 1 THEN s ELSE 'two' END",
                  num_cols[rn(4)]);
        break;
    case 10:
        if (rn(2))
            sb_printf(q, "round(c, %d)", rn(3));
        else
            sb_printf(q, "round(%s)", rn(2) ? "c" : "a");
        break;
    case 11:
        if (rn(2))
            sb_printf(q, "substr(s, %d, %d)", rn(7) - 2, rn(5));
        else
            sb_printf(q, "substr(s, %d)", rn(7) - 3);
        break;
    case 12:
        if (rn(2))
            sb_printf(q, "%s(s, 'aex')", trims[rn(3)]);
        else
            sb_printf(q, "replace(s, '%s', 'AN')", rn(2) ? "an" : "e");
        break;
    case 13:
        sb_printf(q, "nullif(%s, %d)", rn(2) ? "a" : "d", rn(10));
        break;
    case 14:
        sb_printf(q, "%s(%s)", rn(2) ? "floor" : "ceil", rn(2) ? "c" : "a");
        break;
    case 15: {
        static const char *m[] = {"sqrt(c)",     "power(d, 2)", "ln(c)",
                                  "exp(d / 10)", "log10(b)",    "sqrt(a + 100)"};
        sb_printf(q, "%s", m[rn(6)]);
        break;
    }
    case 6:
        sb_printf(q, "coalesce(a, %s)", num_cols[rn(4)]);
        break;
    case 0:
        sb_printf(q, "%s + %s", num_cols[rn(4)], num_cols[rn(4)]);
        break;
    case 1:
        sb_printf(q, "%s * %d - %s", num_cols[rn(4)], rn(10) - 5, num_cols[rn(4)]);
        break;
    case 2:
        sb_printf(q, "%s / %d", num_cols[rn(4)], rn(9) - 4);
        break;
    case 3:
        sb_printf(q, "%s %% %d", num_cols[rn(4)], rn(9) + 1);
        break;
    case 4:
        sb_printf(q, "c * 2 + %s", num_cols[rn(4)]);
        break;
    case 5:
        sb_printf(q, "s");
        break;
    default:
        sb_printf(q, "%s", any_num_col());
    }
}

/* Returns 1 when the query's result order is fully determined. */
static int gen_query(sbuf *q)
{
    int kind = rn(10);
    if (kind < 4) {
        /* plain projection */
        sb_printf(q, "SELECT id");
        for (int i = 0, n = 1 + rn(3); i < n; i++) {
            sb_printf(q, ", ");
            gen_scalar(q);
        }
        sb_printf(q, " FROM t");
        gen_where(q);
        int ordered = 0;
        if (rn(3)) {
            static const char *keys[] = {"id", "a", "c", "s", "d", "b"};
            sb_printf(q, " ORDER BY ");
            int nk = 1 + rn(2);
            for (int i = 0; i < nk; i++)
                sb_printf(q, "%s%s%s", i ? ", " : "", keys[rn(6)], rn(2) ? " DESC" : "");
            sb_printf(q, ", id%s", rn(2) ? " DESC" : "");
            ordered = 1;
            if (rn(2)) {
                sb_printf(q, " LIMIT %d", rn(50));
                if (rn(2))
                    sb_printf(q, " OFFSET %d", rn(50));
            }
        }
        return ordered;
    }
    if (kind < 8) {
        /* group by */
        /* a: a narrow integer key with NULLs (direct map); b % 1000: many groups (a top k
         * for ORDER BY ... LIMIT); the CASE: narrow in the first rows, then wide (the direct
         * map gives way to the hash table in the middle of the scan). */
        static const char *gk[] = {
            "s",         "d", "a % 5",    "s, d % 3",
            "b / 10000", "a", "b % 1000", "CASE WHEN id < 300 THEN a ELSE b * 100 END"};
        const char *g = gk[rn(8)];
        sb_printf(q, "SELECT %s, count(*)", g);
        static const char *aggs[] = {"count(a)",
                                     "sum(a)",
                                     "sum(b)",
                                     "min(c)",
                                     "max(c)",
                                     "avg(c)",
                                     "avg(b)",
                                     "min(s)",
                                     "max(s)",
                                     "sum(c)",
                                     "min(id)",
                                     "max(a)",
                                     "sum(a + d)",
                                     "count(DISTINCT a)",
                                     "sum(DISTINCT d)",
                                     "avg(DISTINCT a)",
                                     "count(DISTINCT s)",
                                     "sum(DISTINCT c)",
                                     "max(round(c, 1))",
                                     "count(DISTINCT d % 7)"};
        for (int i = 0, n = rn(4); i < n; i++)
            sb_printf(q, ", %s", aggs[rn(20)]);
        sb_printf(q, " FROM t");
        gen_where(q);
        sb_printf(q, " GROUP BY %s", g);
        if (rn(3) == 0)
            sb_printf(q, " HAVING count(*) > %d", rn(40));
        if (rn(2)) {
            sb_printf(q, " ORDER BY %s", g);
            if (rn(2))
                sb_printf(q, " LIMIT %d", 1 + rn(10));
            return 1;
        }
        return 0;
    }
    if (kind == 8 && rn(3) == 0) {
        /* GROUP BY an output alias */
        static const char *ak[] = {"a % 5", "upper(s)", "d / 10",
                                   "CASE WHEN c > 0 THEN 1 ELSE 0 END"};
        sb_printf(q, "SELECT %s AS k, count(*), count(DISTINCT b %% 10) FROM t", ak[rn(4)]);
        gen_where(q);
        sb_printf(q, " GROUP BY k");
        return 0;
    }
    if (kind == 8) {
        static const char *dk[] = {"s", "d % 4", "s, a % 3", "a / 10, s"};
        sb_printf(q, "SELECT DISTINCT %s FROM t", dk[rn(4)]);
        gen_where(q);
        return 0;
    }
    /* global aggregates */
    sb_printf(q, "SELECT count(*), sum(b), min(a), max(c), avg(d), count(s) FROM t");
    gen_where(q);
    return 1;
}

/* -------------------------------------------------------- comparison */

static void sqlite_rows(sqlite3 *db, const char *query, char ***rows, int *n)
{
    sqlite3_stmt *st;
    *rows = NULL;
    *n = 0;
    /* SQLite's LIKE is ASCII case-insensitive: our ILIKE */
    char *sql = strdup(query);
    for (char *p = sql; (p = strstr(p, "ILIKE")) != NULL;)
        memmove(p, p + 1, strlen(p + 1) + 1);
    int prc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    free(sql);
    if (prc != SQLITE_OK) {
        fprintf(stderr, "sqlite: %s: %s\n", query, sqlite3_errmsg(db));
        return;
    }
    int cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        sbuf r = {0};
        sb_printf(&r, "%s", "");
        for (int c = 0; c < sqlite3_column_count(st); c++) {
            if (c)
                sb_printf(&r, ",");
            switch (sqlite3_column_type(st, c)) {
            case SQLITE_NULL:
                break;
            case SQLITE_INTEGER:
                sb_printf(&r, "%lld", (long long)sqlite3_column_int64(st, c));
                break;
            case SQLITE_FLOAT:
                sb_printf(&r, "%.17g", sqlite3_column_double(st, c));
                break;
            default: {
                /* the shell's CSV quotes an empty string (NULL is an empty field) */
                const char *txt = (const char *)sqlite3_column_text(st, c);
                sb_printf(&r, "%s", txt && *txt ? txt : "\"\"");
            }
            }
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            *rows = realloc(*rows, sizeof(char *) * (size_t)cap);
        }
        (*rows)[(*n)++] = r.p;
    }
    sqlite3_finalize(st);
}

static int field_equal(const char *a, size_t la, const char *b, size_t lb)
{
    if (la == lb && memcmp(a, b, la) == 0)
        return 1;
    char ta[64], tb[64];
    if (la == 0 || lb == 0 || la >= sizeof ta || lb >= sizeof tb)
        return 0;
    memcpy(ta, a, la);
    ta[la] = 0;
    memcpy(tb, b, lb);
    tb[lb] = 0;
    char *ea, *eb;
    double x = strtod(ta, &ea), y = strtod(tb, &eb);
    if (*ea || *eb)
        return 0;
    return fabs(x - y) <= 1e-9 * fmax(1.0, fmax(fabs(x), fabs(y)));
}

static int row_equal(const char *a, const char *b)
{
    for (;;) {
        const char *ca = strchr(a, ','), *cb = strchr(b, ',');
        size_t la = ca ? (size_t)(ca - a) : strlen(a), lb = cb ? (size_t)(cb - b) : strlen(b);
        if (!field_equal(a, la, b, lb))
            return 0;
        if (!ca || !cb)
            return !ca && !cb;
        a = ca + 1;
        b = cb + 1;
    }
}

static int cmp_rows(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

int main(void)
{
    if (shell_setup() < 0)
        CHECK_SKIP("expstore binary not found (set ES_BUILD_DIR)");
    const char *seed_env = getenv("ES_SHELL_DIFF_SEED");
    const char *nq_env = getenv("ES_SHELL_DIFF_QUERIES");
    rng = seed_env ? strtoull(seed_env, NULL, 10) : 0x5eed1234ULL;
    if (!rng)
        rng = 1;
    int nqueries = nq_env ? atoi(nq_env) : 400;
    printf("seed %llu, %d queries\n", (unsigned long long)rng, nqueries);

    char store[512], csv[512], script[512];
    const char *uri = getenv("ES_TEST_STORE_URI");
    if (uri && *uri)
        snprintf(store, sizeof store, "%s/diff-%d", uri, (int)getpid());
    else
        snprintf(store, sizeof store, "%s/store", shell_tmp);
    sqlite3 *db;
    sqlite3_open(":memory:", &db);
    sqlite3_exec(db,
                 "CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b INTEGER, c REAL, s TEXT, "
                 "d INTEGER)",
                 NULL, NULL, NULL);
    sqlite3_stmt *ins;
    sqlite3_prepare_v2(db, "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)", -1, &ins, NULL);

    /* Load: three CSV files through COPY, then a multi-row INSERT. */
    sbuf load = {0};
    sb_printf(&load, "CREATE TABLE t (id BIGINT, a INTEGER, b BIGINT NOT NULL, c DOUBLE, "
                     "s VARCHAR, d SMALLINT, PRIMARY KEY (id));\n");
    int64_t id = 0;
    for (int part = 0; part < 3; part++) {
        snprintf(csv, sizeof csv, "%s/load%d.csv", shell_tmp, part);
        FILE *f = fopen(csv, "w");
        for (int i = 0; i < 800; i++)
            gen_csv_row(f, ins, id++);
        fclose(f);
        sb_printf(&load, "COPY t FROM '%s';\n", csv);
    }
    sbuf values = {0};
    for (int i = 0; i < 300; i++)
        gen_row(ins, id++, &values);
    sb_printf(&load, "INSERT INTO t VALUES %s;\n", values.p);
    free(values.p);
    const char *largs[] = {store, "-c", load.p, NULL};
    shell_out o = shell_runv(NULL, largs);
    CHECK(o.status == 0);
    if (o.status != 0)
        fprintf(stderr, "load failed: %s\n", o.err);
    shell_out_free(&o);
    free(load.p);

    /* Queries: one script, results separated by a marker query. */
    char **queries = calloc((size_t)nqueries, sizeof(char *));
    int *ordered = calloc((size_t)nqueries, sizeof(int));
    sbuf scr = {0};
    sb_printf(&scr, ".mode csv\n");
    for (int i = 0; i < nqueries; i++) {
        sbuf q = {0};
        ordered[i] = gen_query(&q);
        queries[i] = q.p;
        sb_printf(&scr, "%s;\nSELECT 'end-of-result' AS sep;\n", q.p);
    }
    snprintf(script, sizeof script, "%s/queries.sql", shell_tmp);
    FILE *f = fopen(script, "w");
    fputs(scr.p, f);
    fclose(f);
    free(scr.p);
    const char *qargs[] = {store, NULL};
    f = fopen(script, "r");
    char *text = shell_slurp(script);
    fclose(f);
    o = shell_runv(text, qargs);
    free(text);
    if (o.status != 0)
        fprintf(stderr, "some queries failed:\n%s\n", o.err);
    CHECK(o.status == 0);

    char *cur = o.out;
    int mismatches = 0;
    long long total_rows = 0, nonempty = 0;
    for (int i = 0; i < nqueries; i++) {
        char *end = strstr(cur, "sep\nend-of-result\n");
        if (!end) {
            check_failed++;
            fprintf(stderr, "output ends before query %d: %s\n", i, queries[i]);
            break;
        }
        *end = 0;
        /* our rows: skip the header line */
        char **ours = NULL;
        int nours = 0, cap = 0;
        char *line = strchr(cur, '\n');
        line = line ? line + 1 : end;
        while (line < end) {
            char *nl = strchr(line, '\n');
            *nl = 0;
            if (nours == cap) {
                cap = cap ? cap * 2 : 64;
                ours = realloc(ours, sizeof(char *) * (size_t)cap);
            }
            ours[nours++] = line;
            line = nl + 1;
        }
        cur = end + strlen("sep\nend-of-result\n");
        char **theirs;
        int ntheirs;
        sqlite_rows(db, queries[i], &theirs, &ntheirs);
        if (!ordered[i] && nours > 1)
            qsort(ours, (size_t)nours, sizeof(char *), cmp_rows);
        if (!ordered[i] && ntheirs > 1)
            qsort(theirs, (size_t)ntheirs, sizeof(char *), cmp_rows);
        int same = nours == ntheirs;
        for (int r = 0; same && r < nours; r++)
            if (!row_equal(ours[r], theirs[r]))
                same = 0;
        total_rows += nours;
        nonempty += nours > 0;
        if (same) {
            check_passed++;
        } else {
            check_failed++;
            if (mismatches++ < 10) {
                fprintf(stderr, "MISMATCH query %d: %s\n  expstore %d rows, sqlite %d rows\n", i,
                        queries[i], nours, ntheirs);
                for (int r = 0; r < 5 && (r < nours || r < ntheirs); r++)
                    fprintf(stderr, "  ours: %-40s sqlite: %s\n", r < nours ? ours[r] : "-",
                            r < ntheirs ? theirs[r] : "-");
            }
        }
        for (int r = 0; r < ntheirs; r++)
            free(theirs[r]);
        free(theirs);
        free(ours);
    }
    printf("compared %lld rows; %lld of %d queries returned rows\n", total_rows, nonempty,
           nqueries);
    CHECK(nonempty > nqueries / 2);
    shell_out_free(&o);
    for (int i = 0; i < nqueries; i++)
        free(queries[i]);
    free(queries);
    free(ordered);
    sqlite3_finalize(ins);
    sqlite3_close(db);
    shell_cleanup();
    return CHECK_DONE();
}
