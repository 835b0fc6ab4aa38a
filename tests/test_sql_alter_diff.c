/*
 * test_sql_alter_diff: ALTER TABLE interleaved with INSERT, DELETE, UPDATE and queries,
 * differentially against SQLite, through the public SQL API on a mem:// store cut into small
 * batches and parts (so that every alteration has many old parts to read through).
 *
 * The table starts as t (id BIGINT PRIMARY KEY, a INT, s TEXT); a random sequence of
 * statements then runs on both: ADD COLUMN (INT or TEXT, nullable, with a DEFAULT, or NOT NULL
 * with a DEFAULT, often under the name of a column dropped before), DROP COLUMN, RENAME COLUMN,
 * RENAME TO and back, INSERT of all columns or of some (the others take their defaults), DELETE
 * and UPDATE with predicates on any column, and queries with a predicate on one column (pruned
 * by statistics of old parts, defaults of added columns and widened types). ALTER COLUMN TYPE
 * (INT to BIGINT or DOUBLE, which SQLite's dynamic typing needs no statement for: values keep
 * comparing equal) runs on ours only. After every statement the whole table is compared; every
 * version's table is kept and SELECT * ... AS OF VERSION n of random earlier versions (with the
 * columns of that version) is compared with it.
 *
 * ES_ALTER_DIFF_SEED selects the seed (default fixed), ES_ALTER_DIFF_STEPS the count.
 */
#include "sql_diff.h"

#define MAX_COLS 12

typedef struct col {
    char name[16];
    int kind;  /* 0 INT, 1 TEXT, 2 DOUBLE (widened), 3 BIGINT (widened) */
    int fixed; /* id: never altered */
} col;

static col cols[MAX_COLS];
static int ncols;
static int64_t next_id = 1;
static int name_seq;
static const char *table = "t";
static const char *words[] = {"apple", "banana", "cherry", "date", "elder", "fig"};

static void value(sbuf *b, const col *c, int nulls)
{
    if (nulls && rn(6) == 0)
        sb_printf(b, "NULL");
    else if (c->kind == 1)
        sb_printf(b, "'%s'", words[rn(6)]);
    else if (c->kind == 2 && rn(2))
        sb_printf(b, "%.17g", (double)(rn(400) - 200) / 8.0);
    else
        sb_printf(b, "%d", rn(200) - 100);
}

static void pred(sbuf *b)
{
    static const char *ops[] = {"=", "<>", "<", "<=", ">", ">="};
    const col *c = &cols[rn(ncols)];
    if (rn(5) == 0) {
        sb_printf(b, "%s IS %sNULL", c->name, rn(2) ? "NOT " : "");
        return;
    }
    sb_printf(b, "%s %s ", c->name, ops[rn(6)]);
    value(b, c, 0);
}

/* Run on both (theirs NULL: ours only); 0, or -1 when they disagree about success. */
static int run_both(const char *ours, const char *theirs)
{
    int e_rc = es_run(ours, NULL), q_rc = theirs ? sq_run(theirs, NULL) : 0;
    if (e_rc != q_rc) {
        fprintf(stderr, "%s\n  expstore: %s\n  sqlite: %s\n", ours,
                e_rc ? es_sql_errmsg(ses) : "ok", q_rc ? sqlite3_errmsg(db) : "ok");
        return -1;
    }
    return 0;
}

static int compare(const char *what, const char *ours, const char *theirs)
{
    char *a = es_rows(ours), *b = sq_rows(theirs), label[512];
    snprintf(label, sizeof label, "%s: %.400s", what, ours);
    int same = diff_same(label, a, b);
    free(a);
    free(b);
    return same;
}

/* One random statement: ours in e, SQLite's in q (NULL: nothing to run there). */
static void gen(sbuf *e, sbuf *q, int *alters)
{
    int k = rn(100);
    sbuf b = {0};
    if (k < 8 && ncols < MAX_COLS) {
        col *c = &cols[ncols];
        /* Often the name of a column dropped before: it must come back empty. */
        snprintf(c->name, sizeof c->name, "c%d", rn(3) ? name_seq++ : rn(name_seq + 1));
        for (int i = 0; i < ncols; i++)
            if (strcmp(cols[i].name, c->name) == 0)
                snprintf(c->name, sizeof c->name, "c%d", name_seq++);
        c->kind = rn(3) == 0;
        c->fixed = 0;
        sb_printf(&b, "ALTER TABLE %s ADD COLUMN %s %s", table, c->name,
                  c->kind ? "TEXT" : "INTEGER");
        int d = rn(3); /* 0 nullable, 1 DEFAULT, 2 NOT NULL DEFAULT */
        if (d) {
            sb_printf(&b, " DEFAULT ");
            value(&b, c, 0);
        }
        if (d == 2)
            sb_printf(&b, " NOT NULL");
        ncols++;
        (*alters)++;
    } else if (k < 12 && ncols > 2) {
        int i = 1 + rn(ncols - 1);
        sb_printf(&b, "ALTER TABLE %s DROP COLUMN %s", table, cols[i].name);
        memmove(&cols[i], &cols[i + 1], (size_t)(ncols - i - 1) * sizeof(col));
        ncols--;
        (*alters)++;
    } else if (k < 15) {
        int i = 1 + rn(ncols - 1);
        char nn[16];
        snprintf(nn, sizeof nn, "r%d", name_seq++);
        sb_printf(&b, "ALTER TABLE %s RENAME COLUMN %s TO %s", table, cols[i].name, nn);
        memcpy(cols[i].name, nn, sizeof nn);
        (*alters)++;
    } else if (k < 17) {
        const char *to = strcmp(table, "t") == 0 ? "u" : "t";
        sb_printf(&b, "ALTER TABLE %s RENAME TO %s", table, to);
        table = to;
        (*alters)++;
    } else if (k < 20) {
        /* Widen an integer column: ours only (SQLite's values stay as they are). */
        int i = 1 + rn(ncols - 1);
        if (cols[i].kind == 0) {
            int dbl = rn(2);
            sb_printf(e, "ALTER TABLE %s ALTER COLUMN %s TYPE %s", table, cols[i].name,
                      dbl ? "DOUBLE" : "BIGINT");
            cols[i].kind = dbl ? 2 : 3;
            (*alters)++;
            return;
        }
        sb_printf(&b, "SELECT 1");
    } else if (k < 50) {
        int n = 1 + rn(rn(4) ? 5 : 40), some = rn(3) == 0;
        uint8_t use[MAX_COLS];
        sb_printf(&b, "INSERT INTO %s (", table);
        for (int i = 0, first = 1; i < ncols; i++) {
            use[i] = (uint8_t)(i == 0 || !some || rn(2));
            if (use[i]) {
                sb_printf(&b, "%s%s", first ? "" : ", ", cols[i].name);
                first = 0;
            }
        }
        sb_printf(&b, ") VALUES ");
        for (int r = 0; r < n; r++) {
            sb_printf(&b, "%s(%" PRId64, r ? ", " : "", next_id++);
            for (int i = 1; i < ncols; i++) {
                if (!use[i])
                    continue;
                sb_printf(&b, ", ");
                value(&b, &cols[i], 1);
            }
            sb_printf(&b, ")");
        }
    } else if (k < 62) {
        sb_printf(&b, "DELETE FROM %s WHERE ", table);
        pred(&b);
    } else if (k < 80) {
        int i = 1 + rn(ncols - 1);
        sb_printf(&b, "UPDATE %s SET %s = ", table, cols[i].name);
        value(&b, &cols[i], 1);
        sb_printf(&b, " WHERE ");
        pred(&b);
    } else {
        sb_printf(&b, "SELECT * FROM %s WHERE ", table);
        pred(&b);
        sb_printf(&b, " ORDER BY id");
    }
    sb_printf(e, "%s", b.p);
    sb_printf(q, "%s", b.p);
    free(b.p);
}

static void run(int steps)
{
    int64_t time_travels = 0;
    int alters = 0, failures = 0;
    cols[0] = (col){"id", 0, 1};
    cols[1] = (col){"a", 0, 0};
    cols[2] = (col){"s", 1, 0};
    ncols = 3;
    CHECK(run_both("CREATE TABLE t (id BIGINT PRIMARY KEY, a INTEGER, s TEXT)",
                   "CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, s TEXT)") == 0);
    CHECK(diff_keep(sq_rows("SELECT * FROM t ORDER BY id")) == 0);
    for (int step = 0; step < steps && failures < 3; step++) {
        sbuf e = {0}, q = {0};
        gen(&e, &q, &alters);
        char sel[64];
        snprintf(sel, sizeof sel, "SELECT * FROM %s ORDER BY id", table);
        if (strncmp(e.p, "SELECT", 6) == 0) {
            failures += !compare("query", e.p, q.p);
        } else if (run_both(e.p, q.p)) {
            check_failed++;
            failures++;
        }
        failures += !compare("table", sel, sel);
        failures += diff_keep(sq_rows(sel)) != 0;
        int64_t tv = diff_pick();
        if (tv >= 0) {
            /* The table had either name then: ask for both, one answers. */
            char tt[128];
            char *a = NULL;
            for (int n = 0; n < 2 && (!a || strncmp(a, "error", 5) == 0); n++) {
                free(a);
                snprintf(tt, sizeof tt, "SELECT * FROM %s AS OF VERSION %" PRId64 " ORDER BY id",
                         n ? "u" : "t", tv);
                a = es_rows(tt);
            }
            time_travels++;
            failures += !diff_same(tt, a, snap[tv]);
            free(a);
        }
        free(e.p);
        free(q.p);
    }
    CHECK(alters > 10);
    CHECK(time_travels > 0);
    printf("%d statements, %d alterations, %" PRId64 " versions, %" PRId64 " time travels\n", steps,
           alters, diff_version, time_travels);
}

int main(void)
{
    int steps;
    if (diff_open("alter_diff", "ES_ALTER_DIFF_SEED", 0x243F6A8885A308D3ull, "ES_ALTER_DIFF_STEPS",
                  500, &steps) == 0)
        run(steps);
    return diff_close();
}
