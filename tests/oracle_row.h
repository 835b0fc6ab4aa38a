/*
 * oracle_row: random rows for the tests that keep a table in step with SQLite (test_table.c's
 * predicate oracle, test_delete.c's differential test): one value per column, by Arrow format,
 * appended to an es_builder and bound to the SQLite INSERT.
 */
#ifndef ES_TEST_ORACLE_ROW_H
#define ES_TEST_ORACLE_ROW_H

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "expstore/arrow.h"
#include "expstore/expstore.h"

/* Column c's value (format fmt: "i" -50..1000, "g" quarters in -25..25, "u" "s00".."s40",
 * "S" 0..1000, "tsu:" 0..1000, "b" 0..1; one in six NULL) into cb and parameter c + 1. */
static inline void oracle_random_value(es_builder *cb, sqlite3_stmt *ins, int c, const char *fmt)
{
    if (rnd() % 6 == 0) {
        es_builder_append_null(cb, 1);
        sqlite3_bind_null(ins, c + 1);
    } else if (strcmp(fmt, "g") == 0) {
        double d = (double)rnd_in(-100, 100) / 4.0;
        es_builder_append_double(cb, d);
        sqlite3_bind_double(ins, c + 1, d);
    } else if (strcmp(fmt, "u") == 0) {
        char str[16];
        snprintf(str, sizeof(str), "s%02d", (int)rnd_in(0, 40));
        es_builder_append_bytes(cb, str, (int64_t)strlen(str));
        sqlite3_bind_text(ins, c + 1, str, -1, SQLITE_TRANSIENT);
    } else {
        int64_t x = strcmp(fmt, "i") == 0   ? rnd_in(-50, 1000)
                    : strcmp(fmt, "b") == 0 ? rnd_in(0, 1)
                                            : rnd_in(0, 1000);
        if (strcmp(fmt, "S") == 0)
            es_builder_append_uint(cb, (uint64_t)x);
        else
            es_builder_append_int(cb, x);
        sqlite3_bind_int64(ins, c + 1, x);
    }
}

/* The columns of an oracle table for random predicates: names and Arrow formats (column 0 is
 * the key: "l", or with str_key a string "k%010lld"), the key's largest value, and the depth
 * from which a predicate has no more AND, OR or NOT. */
typedef struct oracle_cols {
    const char **names, **fmts;
    int n, str_key;
    int64_t key_max;
    int max_depth;
} oracle_cols;

/* A random literal for column col as an es_value and as SQL text (strbuf: 32 bytes it points
 * into); one in ten NULL. */
static inline void oracle_random_lit(const oracle_cols *o, int col, es_value *v, char *sql,
                                     size_t cap, char *strbuf)
{
    const char *fmt = o->fmts[col];
    int k = (int)(rnd() % 10);
    if (k == 0) {
        *v = vnull();
        snprintf(sql, cap, "NULL");
    } else if (col == 0 && o->str_key) {
        snprintf(strbuf, 32, "k%010lld", (long long)rnd_in(0, o->key_max));
        *v = vstr(strbuf);
        snprintf(sql, cap, "'%s'", strbuf);
    } else if (strcmp(fmt, "g") == 0) {
        if (k < 4) {
            *v = vint(rnd_in(-30, 30));
            snprintf(sql, cap, "%lld", (long long)v->i);
        } else {
            *v = vdbl((double)rnd_in(-120, 120) / 4.0);
            snprintf(sql, cap, "%.2f", v->d);
        }
    } else if (strcmp(fmt, "u") == 0) {
        snprintf(strbuf, 32, "s%02d", (int)rnd_in(0, 40));
        if (k == 1)
            strbuf[2] = 0; /* a prefix */
        *v = vstr(strbuf);
        snprintf(sql, cap, "'%s'", strbuf);
    } else if (strcmp(fmt, "b") == 0) {
        *v = vint(rnd_in(0, 1));
        snprintf(sql, cap, "%lld", (long long)v->i);
    } else if (k < 3) {
        *v = vdbl((double)rnd_in(-60, col == 0 ? o->key_max : 1100) + 0.5);
        snprintf(sql, cap, "%.1f", v->d);
    } else {
        *v = vint(rnd_in(-60, col == 0 ? o->key_max : 1100));
        snprintf(sql, cap, "%lld", (long long)v->i);
    }
}

/* A random predicate (comparisons, BETWEEN, IN, IS NULL, and under max_depth AND, OR, NOT of
 * such) as an es_expr and as the SQL text of the same condition. */
static inline es_expr *oracle_random_pred(const oracle_cols *o, char *sql, size_t cap, int depth)
{
    int k = (int)(rnd() % (depth > o->max_depth ? 5 : 8));
    int col = (int)(rnd() % (uint64_t)o->n);
    const char *name = o->names[col];
    char l1[64], l2[64], sb1[32], sb2[32];
    es_value v1, v2;
    static const char *ops[] = {"=", "<>", "<", "<=", ">", ">="};
    switch (k) {
    case 0:
    case 1: {
        es_cmp_op op = (es_cmp_op)(rnd() % 6);
        oracle_random_lit(o, col, &v1, l1, sizeof(l1), sb1);
        snprintf(sql, cap, "(%s %s %s)", name, ops[op], l1);
        return es_expr_cmp(name, op, v1);
    }
    case 2:
        oracle_random_lit(o, col, &v1, l1, sizeof(l1), sb1);
        oracle_random_lit(o, col, &v2, l2, sizeof(l2), sb2);
        snprintf(sql, cap, "(%s BETWEEN %s AND %s)", name, l1, l2);
        return es_expr_between(name, v1, v2);
    case 3: {
        es_value vals[4];
        char sbs[4][32], ls[4][64];
        int n = (int)rnd_in(1, 4);
        for (int i = 0; i < n; i++)
            oracle_random_lit(o, col, &vals[i], ls[i], sizeof(ls[i]), sbs[i]);
        int neg = rnd() % 3 == 0;
        int off = snprintf(sql, cap, "(%s %sIN (", name, neg ? "NOT " : "");
        for (int i = 0; i < n; i++)
            off += snprintf(sql + off, cap - (size_t)off, "%s%s", i ? "," : "", ls[i]);
        snprintf(sql + off, cap - (size_t)off, "))");
        es_expr *e = es_expr_in(name, vals, n);
        return neg ? es_expr_not(e) : e;
    }
    case 4: {
        int neg = (int)(rnd() % 2);
        snprintf(sql, cap, "(%s IS %sNULL)", name, neg ? "NOT " : "");
        return es_expr_is_null(name, neg);
    }
    default: {
        char a[1024], b[1024];
        es_expr *x = oracle_random_pred(o, a, sizeof(a), depth + 1);
        if (k == 7) {
            snprintf(sql, cap, "(NOT %.1000s)", a);
            return es_expr_not(x);
        }
        es_expr *y = oracle_random_pred(o, b, sizeof(b), depth + 1);
        snprintf(sql, cap, "(%.1000s %s %.1000s)", a, k == 5 ? "AND" : "OR", b);
        return k == 5 ? es_expr_and(x, y) : es_expr_or(x, y);
    }
    }
}

#endif
