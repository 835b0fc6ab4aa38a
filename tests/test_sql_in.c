/*
 * test_sql_in: x IN (constants) and NOT IN differentially against SQLite, through the public SQL
 * API on a mem:// store cut into small batches and parts (sql_diff.h). The constants of an IN
 * list are looked up in a hash set built once per statement (eval.c, sql_inset_fill); this
 * checks it against SQLite over integers, decimals, doubles and text with NULLs in the column
 * and in the list, lists of 1 to 5,000 values with duplicates, constants of other numeric
 * types than the column's (1.5 against an INTEGER, 7 against a DOUBLE, a decimal with more
 * digits than the column's scale), predicates the scan can push down (x IN ...) and ones it
 * cannot (x + 0 IN ..., s || '' IN ...), and IN in the select list (three-valued: NULL when no
 * value is equal and the column or a value is NULL). Dates, which SQLite has not, are checked
 * against the same IN written as a chain of OR.
 *
 * ES_IN_DIFF_SEED selects the seed (default fixed), ES_IN_DIFF_STEPS the count.
 */
#include "sql_diff.h"

static const char *words[] = {"apple", "banana", "cherry", "date", "elder", "fig", "grape", "kiwi"};

/* Table t: id BIGINT, i INTEGER, m DECIMAL(9,2) (SQLite: REAL), f DOUBLE, s TEXT, d DATE. */
static void load(int rows)
{
    CHECK(es_run("CREATE TABLE t (id BIGINT NOT NULL, i INTEGER, m DECIMAL(9,2), f DOUBLE, "
                 "s TEXT, d DATE, PRIMARY KEY (id))",
                 NULL) == 0);
    CHECK(sq_run("CREATE TABLE t (id INTEGER, i INTEGER, m REAL, f REAL, s TEXT, d TEXT)", NULL) ==
          0);
    sbuf b = {0};
    sb_printf(&b, "INSERT INTO t VALUES ");
    for (int r = 0; r < rows; r++) {
        int cents = (int)rnd_in(-2000, 2000);
        char i[32], m[32], f[32], s[32], d[32];
        snprintf(i, sizeof i, "%d", (int)rnd_in(-300, 300));
        snprintf(m, sizeof m, "%s%d.%02d", cents < 0 ? "-" : "", abs(cents) / 100,
                 abs(cents) % 100);
        snprintf(f, sizeof f, "%g", (double)rnd_in(-400, 400) / 4);
        snprintf(s, sizeof s, "'%s%d'", words[rn(8)], rn(20));
        snprintf(d, sizeof d, "'2024-%02d-%02d'", 1 + rn(3), 1 + rn(28));
        sb_printf(&b, "%s(%d, %s, %s, %s, %s, %s)", r ? ", " : "", r, rn(9) ? i : "NULL",
                  rn(9) ? m : "NULL", rn(9) ? f : "NULL", rn(9) ? s : "NULL", rn(9) ? d : "NULL");
    }
    CHECK(es_run(b.p, NULL) == 0);
    CHECK(sq_run(b.p, NULL) == 0);
    free(b.p);
}

/* A list of n constants for column c (NULL sometimes, other numeric types sometimes). */
static void list(sbuf *b, char c, int n)
{
    for (int k = 0; k < n; k++) {
        sb_printf(b, "%s", k ? ", " : "");
        if (rn(40) == 0) {
            sb_printf(b, "NULL");
        } else if (c == 's') {
            sb_printf(b, "'%s%d'", words[rn(8)], rn(20));
        } else if (c == 'i') {
            if (rn(10) == 0)
                sb_printf(b, "%d.5", (int)rnd_in(-300, 300)); /* never equal */
            else
                sb_printf(b, "%d", (int)rnd_in(-300, 300));
        } else if (c == 'm') {
            int cents = (int)rnd_in(-2000, 2000);
            sb_printf(b, "%s%d.%02d", cents < 0 ? "-" : "", abs(cents) / 100, abs(cents) % 100);
        } else {
            if (rn(3) == 0)
                sb_printf(b, "%d", (int)rnd_in(-100, 100));
            else
                sb_printf(b, "%g", (double)rnd_in(-400, 400) / 4);
        }
    }
}

/* The list of column m with one value of three decimals: the others compare at its scale. */
static void list_scale3(sbuf *b, int n)
{
    list(b, 'm', n);
    sb_printf(b, ", %d.%03d", (int)rnd_in(0, 20), (int)rnd_in(0, 999));
}

static void compare(const char *sql)
{
    char *ours = es_rows(sql), *theirs = sq_rows(sql);
    diff_same(sql, ours, theirs);
    free(ours);
    free(theirs);
}

static void query(int n)
{
    static const char cols[] = "imfs";
    char c = cols[rn(4)];
    sbuf l = {0}, q = {0};
    sb_printf(&l, "%s", "");
    if (c == 'm' && rn(4) == 0)
        list_scale3(&l, n);
    else
        list(&l, c, n);
    const char *x = c == 's'   ? (rn(2) ? "s" : "s || ''")
                    : c == 'i' ? (rn(2) ? "i" : "i + 0")
                    : c == 'm' ? "m"
                               : "f";
    switch (rn(3)) {
    case 0:
        sb_printf(&q, "SELECT id FROM t WHERE %s IN (%s) ORDER BY id", x, l.p);
        break;
    case 1:
        sb_printf(&q, "SELECT id FROM t WHERE %s NOT IN (%s) ORDER BY id", x, l.p);
        break;
    default: /* three-valued: 1, 0 or NULL per row */
        sb_printf(&q,
                  "SELECT id, CASE WHEN %s IN (%s) THEN 1 WHEN NOT (%s IN (%s)) THEN 0 END "
                  "FROM t ORDER BY id",
                  x, l.p, x, l.p);
        break;
    }
    compare(q.p);
    free(l.p);
    free(q.p);
}

/* Dates: IN against the same values as a chain of OR (SQLite has no dates). */
static void dates(int n)
{
    sbuf in = {0}, chain = {0};
    sb_printf(&in, "SELECT id FROM t WHERE d IN (");
    sb_printf(&chain, "SELECT id FROM t WHERE ");
    for (int k = 0; k < n; k++) {
        char v[32];
        snprintf(v, sizeof v, "'2024-%02d-%02d'", 1 + rn(3), 1 + rn(28));
        sb_printf(&in, "%s%s", k ? ", " : "", v);
        sb_printf(&chain, "%sd = %s", k ? " OR " : "", v);
    }
    sb_printf(&in, ") ORDER BY id");
    sb_printf(&chain, " ORDER BY id");
    char *a = es_rows(in.p), *b = es_rows(chain.p);
    CHECK(strncmp(a, "error", 5) != 0);
    diff_same(in.p, a, b);
    free(a);
    free(b);
    free(in.p);
    free(chain.p);
}

int main(void)
{
    int steps;
    if (diff_open("in_diff", "ES_IN_DIFF_SEED", 20261130, "ES_IN_DIFF_STEPS", 120, &steps) < 0)
        return diff_close();
    load(600);
    for (int s = 0; s < steps; s++)
        query(s % 10 == 9 ? 1 + rn(2000) : 1 + rn(12));
    query(5000);
    for (int s = 0; s < 10; s++)
        dates(1 + rn(6));
    /* A type the set cannot hold (a column in the list) is compared value by value. */
    compare("SELECT id FROM t WHERE i IN (3, id, 7) ORDER BY id");
    compare("SELECT id FROM t WHERE i NOT IN (NULL, 3) ORDER BY id");
    compare("SELECT count(*) FROM t WHERE s IN ('apple1', 'apple1', 'kiwi3')");
    return diff_close();
}
