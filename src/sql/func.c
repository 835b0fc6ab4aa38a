/*
 * func: the scalar functions of the SQL layer (see sql/sql.h for the files, sql/exec.h for the
 * interfaces), by family: strings (substr/substring, trim, ltrim, rtrim, replace, concat),
 * numbers (round, floor, ceil, sqrt, power, ln, exp, log10), NULL handling (nullif); CASE and
 * ILIKE; and the "did you mean" suggestions for unknown columns and functions. The date and time
 * functions are in func_date.c. The older functions (abs, length, lower, upper, coalesce,
 * ifnull) are bound and evaluated in bind.c and eval.c.
 *
 * The binder (bind.c) calls sql_func_bind for a call it does not know, with the arguments
 * already bound; that sets e->index to the function's id and e->ty. The evaluator (eval.c)
 * hands a call with e->index > 0 to sql_func_eval, which evaluates the arguments over the batch
 * and runs one loop over the rows. Math follows SQLite (which the differential test compares
 * with): a result outside the function's domain (sqrt of a negative, ln of zero) is NULL, not
 * an error; round(x, d) rounds half away from zero, and a negative d rounds to tens, hundreds...
 * as DuckDB does. Strings are UTF-8: positions and lengths count characters (bytes for BLOB).
 * Below it: eval.c (comparisons, casts), bind.c. Above it: the binder and the evaluator.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sql/exec.h"

enum {
    FN_SUBSTR = 1,
    FN_ROUND,
    FN_TRIM,
    FN_LTRIM,
    FN_RTRIM,
    FN_REPLACE,
    FN_NULLIF,
    FN_FLOOR,
    FN_CEIL,
    FN_SQRT,
    FN_POWER,
    FN_LN,
    FN_EXP,
    FN_LOG10,
    FN_CONCAT
};

static const struct fn_def {
    const char *name;
    int id, min, max;
} fns[] = {{"substr", FN_SUBSTR, 2, 3},   {"substring", FN_SUBSTR, 2, 3}, {"round", FN_ROUND, 1, 2},
           {"trim", FN_TRIM, 1, 2},       {"ltrim", FN_LTRIM, 1, 2},      {"rtrim", FN_RTRIM, 1, 2},
           {"replace", FN_REPLACE, 3, 3}, {"nullif", FN_NULLIF, 2, 2},    {"floor", FN_FLOOR, 1, 1},
           {"ceil", FN_CEIL, 1, 1},       {"ceiling", FN_CEIL, 1, 1},     {"sqrt", FN_SQRT, 1, 1},
           {"power", FN_POWER, 2, 2},     {"pow", FN_POWER, 2, 2},        {"ln", FN_LN, 1, 1},
           {"exp", FN_EXP, 1, 1},         {"log10", FN_LOG10, 1, 1},      {"log", FN_LOG10, 1, 1},
           {"concat", FN_CONCAT, 1, 255}};

/* Every function name, for suggestions (aggregates and bind.c's functions included). */
static const char *all_names[] = {
    "abs",      "length",  "lower",    "upper",        "coalesce",
    "ifnull",   "count",   "sum",      "avg",          "min",
    "max",      "total",   "mean",     "substr",       "substring",
    "round",    "trim",    "ltrim",    "rtrim",        "replace",
    "nullif",   "floor",   "ceil",     "ceiling",      "sqrt",
    "power",    "pow",     "ln",       "exp",          "log10",
    "log",      "concat",  "strftime", "date_trunc",   "date_part",
    "datepart", "extract", "now",      "current_date", "current_timestamp",
    "today",    NULL};

/* ------------------------------------------------------------ names */

/* Edit distance with adjacent transpositions (optimal string alignment), case-insensitive;
 * strings longer than 63 bytes are not compared (a large distance). */
static int edit_distance(const char *a, const char *b)
{
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > 63 || lb > 63)
        return 1000;
    int d[64][64];
    for (int i = 0; i <= la; i++)
        d[i][0] = i;
    for (int j = 0; j <= lb; j++)
        d[0][j] = j;
    for (int i = 1; i <= la; i++) {
        for (int j = 1; j <= lb; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            int cost = ca != cb;
            int v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v)
                v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    }
    return d[la][lb];
}

/* The closest candidate to name, or NULL when none is close: within a third of the name's
 * length (at least 1, at most 3), or equal but for case. */
const char *sql_closest(const char *name, const char *const *cands, int n)
{
    int len = (int)strlen(name), limit = (len + 1) / 3;
    limit = limit < 1 ? 1 : limit > 3 ? 3 : limit;
    const char *best = NULL;
    int bestd = limit + 1;
    for (int i = 0; i < n; i++) {
        if (!cands[i] || strcmp(cands[i], name) == 0)
            continue;
        int d = edit_distance(name, cands[i]);
        if (d < bestd) {
            bestd = d;
            best = cands[i];
        }
    }
    return best;
}

static const char *closest_column(const char *name, const sql_colinfo *cols, int ncols)
{
    const char *cands[1024];
    int n = 0;
    for (int i = 0; i < ncols && n < 1024; i++)
        cands[n++] = cols[i].name;
    return sql_closest(name, cands, n);
}

int sql_unknown_column(sql_exec *x, int pos, const char *name, const sql_colinfo *cols, int ncols)
{
    const char *best = closest_column(name, cols, ncols);
    if (best)
        return sql_err(x, pos, "unknown column '%s'; did you mean '%s'?", name, best);
    return sql_err(x, pos, "unknown column '%s'", name);
}

int sql_no_column(sql_exec *x, int pos, const char *table, const char *name,
                  const sql_colinfo *cols, int ncols)
{
    const char *best = closest_column(name, cols, ncols);
    if (best)
        return sql_err(x, pos, "table %s has no column %s; did you mean '%s'?", table, name, best);
    return sql_err(x, pos, "table %s has no column %s", table, name);
}

int sql_no_table(sql_exec *x, int pos, const char *table)
{
    char **names = NULL;
    int64_t n = 0;
    const char *best = NULL;
    if (es_table_list(x->s->store, &names, &n) == ES_OK)
        best = sql_closest(table, (const char *const *)names, n < 1024 ? (int)n : 1024);
    int rc =
        best ? sql_fail(x, ES_NOT_FOUND, pos, "no such table: %s; did you mean '%s'?", table, best)
             : sql_fail(x, ES_NOT_FOUND, pos, "no such table: %s", table);
    es_strings_free(names, n);
    return rc;
}

int sql_unknown_function(sql_exec *x, const sql_expr *e)
{
    for (int i = 0; all_names[i]; i++)
        if (strcmp(all_names[i], e->name) == 0)
            return sql_err(x, e->pos, "function %s() does not take %d argument%s of these types",
                           e->name, e->nlist, e->nlist == 1 ? "" : "s");
    const char *best =
        sql_closest(e->name, all_names, (int)(sizeof all_names / sizeof *all_names) - 1);
    if (best)
        return sql_err(x, e->pos, "unknown function '%s'; did you mean '%s'?", e->name, best);
    return sql_err(x, e->pos, "unknown function '%s'", e->name);
}

/* ------------------------------------------------------------ binding */

static int type_error(sql_exec *x, const sql_expr *e, const char *need, const sql_expr *arg)
{
    char a[128], t[64];
    sql_fmt_expr(a, sizeof a, arg);
    sql_typeinfo_name(t, sizeof t, &arg->ty);
    return sql_err(x, e->pos, "type error: %s() needs %s, got %s (%s)", e->name, need, a, t);
}

static int is_int_type(sql_type t)
{
    return t == SQL_NULL || t == SQL_BOOL || t == SQL_SMALLINT || t == SQL_INT || t == SQL_BIGINT;
}

static int num_or_null(sql_type t)
{
    return t == SQL_NULL || sql_is_num(t);
}

/* The common type of a CASE's branches: numbers widen (integers to BIGINT, decimals to the
 * largest scale, anything with a float to DOUBLE), strings stay strings, DATE with TIMESTAMP is
 * a TIMESTAMP; string literals meeting dates or timestamps become them. -1 when they mix. */
static int common_type(sql_exec *x, const sql_expr *e, sql_expr **args, int n, sql_typeinfo *out)
{
    sql_typeinfo t = {SQL_NULL, 0, 0};
    for (int i = 0; i < n; i++)
        if (args[i] && sql_is_temporal(args[i]->ty.t) && args[i]->kind != E_STR &&
            (t.t == SQL_NULL || t.t == SQL_DATE))
            t = args[i]->ty;
    for (int i = 0; i < n && sql_is_temporal(t.t); i++)
        if (args[i] && args[i]->kind == E_STR && sql_fold_temporal(x, args[i], t.t) < 0)
            return -1;
    t.t = SQL_NULL;
    for (int i = 0; i < n; i++) {
        if (!args[i])
            continue;
        sql_typeinfo a = args[i]->ty;
        if (a.t == SQL_NULL)
            continue;
        if (t.t == SQL_NULL) {
            t = a;
            continue;
        }
        int64_t ma, mb;
        if (sql_common_domain(&t, &a, &ma, &mb) < 0) {
            char s[128], tn[64], an[64];
            sql_fmt_expr(s, sizeof s, args[i]);
            sql_typeinfo_name(tn, sizeof tn, &t);
            sql_typeinfo_name(an, sizeof an, &a);
            return sql_err(x, e->pos, "type error: CASE mixes %s with %s (%s)", tn, s, an);
        }
        if (sql_is_num(t.t)) {
            if (sql_type_phys(t.t) == SQL_PHYS_DBL || sql_type_phys(a.t) == SQL_PHYS_DBL) {
                t.t = SQL_DOUBLE;
                t.precision = t.scale = 0;
            } else if (t.t == SQL_DECIMAL || a.t == SQL_DECIMAL) {
                int s = sql_scale(&t) > sql_scale(&a) ? sql_scale(&t) : sql_scale(&a);
                t.t = SQL_DECIMAL;
                t.precision = 18;
                t.scale = s;
            } else if (t.t != a.t) {
                t.t = SQL_BIGINT;
            }
        } else if (sql_is_temporal(t.t) && t.t != a.t) {
            t.t = t.t == SQL_DATE ? a.t : t.t;
        } else if (sql_is_str(t.t) && t.t != a.t) {
            t.t = SQL_VARCHAR;
        }
    }
    *out = t;
    return 0;
}

int sql_bind_case(sql_exec *x, sql_plan *p, sql_expr *e, int agg_ok)
{
    for (int i = 0; i < e->nlist; i++) {
        if (sql_bind_expr(x, p, e->list[i], agg_ok) < 0)
            return -1;
        if (i % 2 == 0 && sql_check_bool(x, e->list[i], e->list[i]) < 0)
            return -1;
    }
    if (e->b && sql_bind_expr(x, p, e->b, agg_ok) < 0)
        return -1;
    /* The operand of a simple CASE was bound through the WHEN comparisons. */
    sql_expr *branches[257];
    int n = 0;
    for (int i = 1; i < e->nlist; i += 2)
        branches[n++] = e->list[i];
    branches[n++] = e->b;
    return common_type(x, e, branches, n, &e->ty);
}

void sql_fmt_case(char *buf, size_t cap, const sql_expr *e)
{
    char a[256];
    size_t k = (size_t)snprintf(buf, cap, "CASE");
    if (e->a && k < cap) {
        sql_fmt_expr(a, sizeof a, e->a);
        k += (size_t)snprintf(buf + k, cap - k, " %s", a);
    }
    for (int i = 0; i + 1 < e->nlist && k < cap; i += 2) {
        const sql_expr *w = e->a && e->list[i]->kind == E_BIN ? e->list[i]->b : e->list[i];
        sql_fmt_expr(a, sizeof a, w);
        k += (size_t)snprintf(buf + k, cap - k, " WHEN %s", a);
        if (k >= cap)
            break;
        sql_fmt_expr(a, sizeof a, e->list[i + 1]);
        k += (size_t)snprintf(buf + k, cap - k, " THEN %s", a);
    }
    if (e->b && k < cap) {
        sql_fmt_expr(a, sizeof a, e->b);
        k += (size_t)snprintf(buf + k, cap - k, " ELSE %s", a);
    }
    if (k < cap)
        snprintf(buf + k, cap - k, " END");
}

int sql_func_bind(sql_exec *x, sql_expr *e)
{
    const struct fn_def *f = NULL;
    for (size_t i = 0; i < sizeof fns / sizeof *fns && !f; i++)
        if (strcmp(fns[i].name, e->name) == 0)
            f = &fns[i];
    if (!f)
        return sql_func_date_bind(x, e);
    if (e->star || e->distinct || e->nlist < f->min || e->nlist > f->max)
        return sql_unknown_function(x, e);
    sql_typeinfo bigint = {SQL_BIGINT, 0, 0}, dbl = {SQL_DOUBLE, 0, 0},
                 varchar = {SQL_VARCHAR, 0, 0};
    sql_expr **a = e->list;
    e->index = f->id;
    switch (f->id) {
    case FN_SUBSTR:
        for (int i = 1; i < e->nlist; i++)
            if (!is_int_type(a[i]->ty.t))
                return type_error(x, e, "an integer position and length", a[i]);
        e->ty = a[0]->ty.t == SQL_BLOB ? a[0]->ty : varchar;
        return 0;
    case FN_TRIM:
    case FN_LTRIM:
    case FN_RTRIM:
    case FN_REPLACE:
        for (int i = 0; i < e->nlist; i++)
            if (a[i]->ty.t != SQL_NULL && a[i]->ty.t != SQL_VARCHAR)
                return type_error(x, e, "strings", a[i]);
        e->ty = varchar;
        return 0;
    case FN_CONCAT:
        e->ty = varchar;
        return 0;
    case FN_NULLIF:
        if (sql_bind_compare(x, e, a[0], a[1]) < 0)
            return -1;
        e->ty = a[0]->ty;
        return 0;
    case FN_ROUND:
    case FN_FLOOR:
    case FN_CEIL:
        if (!num_or_null(a[0]->ty.t))
            return type_error(x, e, "a number", a[0]);
        if (e->nlist == 2 && !is_int_type(a[1]->ty.t))
            return type_error(x, e, "an integer number of digits", a[1]);
        if (a[0]->ty.t == SQL_NULL || sql_type_phys(a[0]->ty.t) == SQL_PHYS_DBL) {
            e->ty = dbl;
        } else if (a[0]->ty.t == SQL_DECIMAL) {
            e->ty = a[0]->ty;
            if (f->id != FN_ROUND)
                e->ty.scale = 0;
            else if (e->nlist == 1 || (a[1]->kind == E_INT && a[1]->ival <= 0))
                e->ty.scale = 0;
            else if (a[1]->kind == E_INT && a[1]->ival < e->ty.scale)
                e->ty.scale = (int)a[1]->ival;
        } else {
            e->ty = bigint;
        }
        return 0;
    default: /* sqrt, power, ln, exp, log10 */
        for (int i = 0; i < e->nlist; i++)
            if (!num_or_null(a[i]->ty.t))
                return type_error(x, e, "a number", a[i]);
        e->ty = dbl;
        return 0;
    }
}

/* ------------------------------------------------------------ kernels */

/* Value r of a numeric vector as a double. */
static double num_at(const sql_vec *v, int64_t r)
{
    if (sql_vec_phys(v) == SQL_PHYS_DBL)
        return v->f[r];
    return (double)v->i[r] / (double)sql_pow10[sql_scale(&v->ty)];
}

static int is_null(const sql_vec *v, int64_t r)
{
    return v->ty.t == SQL_NULL || v->nulls[r];
}

/* Bytes of the first `chars` UTF-8 characters of s[0..n) (all of it when shorter). */
static int64_t utf8_prefix(const char *s, int64_t n, int64_t chars)
{
    int64_t i = 0;
    while (i < n && chars > 0) {
        i++;
        while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
        chars--;
    }
    return i;
}

static int64_t utf8_len(const char *s, int64_t n)
{
    int64_t c = 0;
    for (int64_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

/* SQLite's substr(): 1-based start (0 is before the first character, negative counts from the
 * end), and a negative length takes the characters before start. */
static void substr_range(int64_t nchars, int64_t p1, int has_len, int64_t p2, int64_t *from,
                         int64_t *count)
{
    int neg = 0;
    if (!has_len)
        p2 = INT64_MAX / 4;
    else if (p2 < 0)
        p2 = p2 == INT64_MIN ? INT64_MAX / 4 : -p2, neg = 1;
    if (p2 > INT64_MAX / 4)
        p2 = INT64_MAX / 4;
    if (p1 < -(INT64_MAX / 4))
        p1 = -(INT64_MAX / 4);
    if (p1 > INT64_MAX / 4)
        p1 = INT64_MAX / 4;
    if (p1 < 0) {
        p1 += nchars;
        if (p1 < 0) {
            p2 += p1;
            if (p2 < 0)
                p2 = 0;
            p1 = 0;
        }
    } else if (p1 > 0) {
        p1--;
    } else if (p2 > 0) {
        p2--;
    }
    if (neg) {
        p1 -= p2;
        if (p1 < 0) {
            p2 += p1;
            p1 = 0;
        }
    }
    *from = p1;
    *count = p2;
}

/* Whether s[0..n) starts (end 0) or ends (end 1) with one of the UTF-8 characters of set;
 * the matching character's length. */
static int64_t trim_match(const char *s, int64_t n, const char *set, int64_t sn, int end)
{
    for (int64_t i = 0; i < sn;) {
        int64_t l = 1;
        while (i + l < sn && ((unsigned char)set[i + l] & 0xC0) == 0x80)
            l++;
        if (l <= n && memcmp(end ? s + n - l : s, set + i, (size_t)l) == 0)
            return l;
        i += l;
    }
    return 0;
}

static int push_or_oom(sql_exec *x, sql_vec *out, const char *p, int64_t len)
{
    return sql_vec_push_str(out, p, len) < 0 ? sql_oom(x) : 0;
}

static int string_fn(sql_exec *x, const sql_expr *e, sql_vec *args, int64_t n, sql_vec *out)
{
    int id = e->index;
    sql_vec_init(out, e->ty);
    if (sql_vec_reserve(out, n > 0 ? n : 1) < 0)
        return sql_oom(x);
    for (int64_t r = 0; r < n; r++) {
        int null = 0;
        for (int i = 0; i < e->nlist && id != FN_CONCAT; i++)
            null |= is_null(&args[i], r);
        if (null) {
            if (sql_vec_push_null(out) < 0)
                return sql_oom(x);
            continue;
        }
        int64_t len, l1 = 0, l2 = 0;
        const char *s = id == FN_CONCAT ? "" : sql_vec_str(&args[0], r, &len);
        const char *s1 = e->nlist > 1 && id != FN_SUBSTR && id != FN_CONCAT
                             ? sql_vec_str(&args[1], r, &l1)
                             : NULL;
        switch (id) {
        case FN_SUBSTR: {
            int blob = e->ty.t == SQL_BLOB;
            int64_t from, count;
            substr_range(blob ? len : utf8_len(s, len), args[1].i[r], e->nlist == 3,
                         e->nlist == 3 ? args[2].i[r] : 0, &from, &count);
            int64_t b0 = blob ? (from < len ? from : len) : utf8_prefix(s, len, from);
            int64_t b1 = blob ? (count < len - b0 ? b0 + count : len)
                              : b0 + utf8_prefix(s + b0, len - b0, count);
            if (push_or_oom(x, out, s + b0, b1 - b0) < 0)
                return -1;
            break;
        }
        case FN_TRIM:
        case FN_LTRIM:
        case FN_RTRIM: {
            const char *set = s1 ? s1 : " ";
            int64_t sn = s1 ? l1 : 1, b0 = 0, b1 = len, m;
            if (id != FN_RTRIM)
                while (b0 < b1 && (m = trim_match(s + b0, b1 - b0, set, sn, 0)) > 0)
                    b0 += m;
            if (id != FN_LTRIM)
                while (b1 > b0 && (m = trim_match(s + b0, b1 - b0, set, sn, 1)) > 0)
                    b1 -= m;
            if (push_or_oom(x, out, s + b0, b1 - b0) < 0)
                return -1;
            break;
        }
        case FN_REPLACE: {
            const char *to = sql_vec_str(&args[2], r, &l2);
            for (int64_t i = 0; i < len;) {
                int hit = l1 > 0 && i + l1 <= len && memcmp(s + i, s1, (size_t)l1) == 0;
                const char *piece = hit ? to : s + i;
                int64_t pl = hit ? l2 : 1;
                if (sql_vec_reserve_data(out, pl) < 0)
                    return sql_oom(x);
                memcpy(out->data + out->dlen, piece, (size_t)pl);
                out->dlen += pl;
                i += hit ? l1 : 1;
            }
            if (sql_vec_reserve(out, out->n + 1) < 0)
                return sql_oom(x);
            out->nulls[out->n] = 0;
            out->off[++out->n] = out->dlen;
            break;
        }
        default: /* concat: NULLs count as empty strings */
            for (int i = 0; i < e->nlist; i++) {
                if (is_null(&args[i], r))
                    continue;
                const char *p = sql_vec_str(&args[i], r, &l1);
                if (sql_vec_reserve_data(out, l1) < 0)
                    return sql_oom(x);
                if (l1)
                    memcpy(out->data + out->dlen, p, (size_t)l1);
                out->dlen += l1;
            }
            if (sql_vec_reserve(out, out->n + 1) < 0)
                return sql_oom(x);
            out->nulls[out->n] = 0;
            out->off[++out->n] = out->dlen;
        }
    }
    return 0;
}

/* round(v, d) of an integer or unscaled decimal v at scale s, rounded half away from zero to d
 * decimal digits and returned at scale `to`. */
static int64_t round_scaled(int64_t v, int s, int64_t d, int to, int mode)
{
    if (d > 40) /* beyond the 18 digits of a scaled int64 either way: the same result */
        d = 40;
    if (d < -40)
        d = -40;
    int64_t drop = (int64_t)s - d; /* digits to drop */
    if (drop <= 0)
        return to >= s ? v * sql_pow10[to - s] : v / sql_pow10[s - to];
    if (drop > 18)
        return 0;
    int64_t m = sql_pow10[drop], q = v / m, rem = v % m;
    if (mode == 0) { /* round */
        if (rem >= (m + 1) / 2)
            q++;
        else if (rem <= -((m + 1) / 2))
            q--;
    } else if (mode < 0) { /* floor */
        if (rem < 0)
            q--;
    } else if (rem > 0) { /* ceil */
        q++;
    }
    /* q is at scale d (d may be negative); bring it to scale `to` */
    int64_t shift = (int64_t)to - d;
    if (shift >= 0)
        return shift > 18 ? 0 : q * sql_pow10[shift];
    return -shift > 18 ? 0 : q / sql_pow10[-shift];
}

static int number_fn(sql_exec *x, const sql_expr *e, sql_vec *args, int64_t n, sql_vec *out)
{
    int id = e->index;
    if (sql_vec_alloc(out, e->ty, n) < 0)
        return sql_oom(x);
    int dbl_out = sql_vec_phys(out) == SQL_PHYS_DBL;
    for (int64_t r = 0; r < n; r++) {
        int null = 0;
        for (int i = 0; i < e->nlist; i++)
            null |= is_null(&args[i], r);
        out->nulls[r] = (uint8_t)null;
        if (dbl_out)
            out->f[r] = 0;
        else
            out->i[r] = 0;
        if (null)
            continue;
        if (!dbl_out) { /* round, floor, ceil of integers and decimals */
            int64_t d = id == FN_ROUND && e->nlist == 2 ? args[1].i[r] : 0;
            if (id != FN_ROUND && e->ty.t == SQL_DECIMAL)
                d = 0;
            int mode = id == FN_ROUND ? 0 : id == FN_FLOOR ? -1 : 1;
            out->i[r] =
                round_scaled(args[0].i[r], sql_scale(&args[0].ty), d, sql_scale(&e->ty), mode);
            continue;
        }
        double v = num_at(&args[0], r), res;
        switch (id) {
        case FN_ROUND: {
            int64_t d = e->nlist == 2 ? args[1].i[r] : 0;
            if (d > 30)
                d = 30;
            if (d < -30)
                d = -30;
            double m = pow(10.0, (double)(d < 0 ? -d : d));
            double t = d >= 0 ? round(v * m) / m : round(v / m) * m;
            res = isfinite(t) ? t : v;
            break;
        }
        case FN_FLOOR:
            res = floor(v);
            break;
        case FN_CEIL:
            res = ceil(v);
            break;
        case FN_SQRT:
            res = v < 0 ? NAN : sqrt(v);
            break;
        case FN_POWER:
            res = pow(v, num_at(&args[1], r));
            break;
        case FN_LN:
            res = v <= 0 ? NAN : log(v);
            break;
        case FN_LOG10:
            res = v <= 0 ? NAN : log10(v);
            break;
        default:
            res = exp(v);
        }
        if (isnan(res))
            out->nulls[r] = 1;
        else
            out->f[r] = res;
    }
    return 0;
}

static int nullif_fn(sql_exec *x, const sql_expr *e, sql_vec *args, int64_t n, sql_vec *out)
{
    sql_vec eq, own;
    if (sql_compare(x, OP_EQ, &args[0], &args[1], &eq) < 0)
        return -1;
    sql_vec_init(&own, e->ty);
    if (sql_vec_append(&own, &args[0], NULL, 0) < 0 || sql_vec_reserve(&own, n > 0 ? n : 1) < 0) {
        sql_vec_free(&eq);
        sql_vec_free(&own);
        return sql_oom(x);
    }
    own.n = n;
    for (int64_t r = 0; r < n; r++)
        if (args[0].ty.t == SQL_NULL || (!eq.nulls[r] && eq.i[r]))
            own.nulls[r] = 1;
    sql_vec_free(&eq);
    *out = own;
    return 0;
}

int sql_func_eval(sql_exec *x, const sql_expr *e, const sql_batch *b, sql_vec *out)
{
    int64_t n = b->n;
    sql_vec *args = es_calloc((size_t)(e->nlist > 0 ? e->nlist : 1), sizeof(sql_vec));
    if (!args)
        return sql_oom(x);
    int rc = 0, k = 0;
    sql_typeinfo varchar = {SQL_VARCHAR, 0, 0};
    for (; k < e->nlist && rc == 0; k++) {
        if (sql_eval(x, e->list[k], b, &args[k]) < 0) {
            rc = -1;
            break;
        }
        /* string functions read their string arguments as text */
        int as_text = (e->index == FN_CONCAT || (e->index == FN_SUBSTR && k == 0)) &&
                      e->ty.t == SQL_VARCHAR && args[k].ty.t != SQL_VARCHAR &&
                      args[k].ty.t != SQL_NULL;
        if (as_text) {
            sql_vec t;
            if (sql_cast_vec(x, e->list[k]->pos, &args[k], varchar, &t) < 0) {
                rc = -1;
                break;
            }
            sql_vec_free(&args[k]);
            args[k] = t;
        }
    }
    if (rc == 0) {
        switch (e->index) {
        case FN_SUBSTR:
        case FN_TRIM:
        case FN_LTRIM:
        case FN_RTRIM:
        case FN_REPLACE:
        case FN_CONCAT:
            rc = string_fn(x, e, args, n, out);
            break;
        case FN_NULLIF:
            rc = nullif_fn(x, e, args, n, out);
            break;
        case FN_ROUND:
        case FN_FLOOR:
        case FN_CEIL:
        case FN_SQRT:
        case FN_POWER:
        case FN_LN:
        case FN_EXP:
        case FN_LOG10:
            rc = number_fn(x, e, args, n, out);
            break;
        default:
            rc = sql_func_date_eval(x, e, args, e->nlist, n, out);
        }
        if (rc < 0)
            sql_vec_free(out);
    }
    for (int i = 0; i < k && i < e->nlist; i++)
        sql_vec_free(&args[i]);
    es_free(args);
    return rc;
}

/* ------------------------------------------------------------ CASE */

/* The rows sel[0..k) of the loaded columns of b, as a new batch. 0 or -1. */
static int gather(const sql_batch *b, const int64_t *sel, int64_t k, sql_batch *out)
{
    memset(out, 0, sizeof *out);
    out->n = k;
    out->ncols = b->ncols;
    out->cols = es_calloc((size_t)(b->ncols > 0 ? b->ncols : 1), sizeof(sql_vec));
    if (!out->cols)
        return -1;
    for (int c = 0; c < b->ncols; c++) {
        const sql_vec *v = &b->cols[c];
        sql_vec_init(&out->cols[c], v->ty);
        if (!v->nulls)
            continue; /* not loaded (not referenced) */
        if (sql_vec_append(&out->cols[c], v, sel, k) < 0 ||
            sql_vec_reserve(&out->cols[c], k > 0 ? k : 1) < 0)
            return -1;
    }
    return 0;
}

/* Evaluate branch `br` over the rows `rows[0..k)` of b (rows of the original batch: `orig`
 * maps them) into parts[*nparts], recording for each row where its value is. */
static int eval_branch(sql_exec *x, const sql_expr *e, const sql_expr *br, const sql_batch *b,
                       const int64_t *sel, const int64_t *orig, int64_t k, sql_vec *parts,
                       int *nparts, int *part_of, int64_t *row_of)
{
    sql_batch sub;
    if (gather(b, sel, k, &sub) < 0) {
        sql_batch_free(&sub);
        return sql_oom(x);
    }
    sql_vec v;
    int rc = sql_eval(x, br, &sub, &v);
    if (rc == 0) {
        sql_vec *dst = &parts[*nparts];
        if (v.ty.t == e->ty.t && sql_scale(&v.ty) == sql_scale(&e->ty) && !v.borrowed) {
            *dst = v;
        } else if (v.ty.t == e->ty.t && sql_scale(&v.ty) == sql_scale(&e->ty)) {
            sql_vec_init(dst, e->ty);
            if (sql_vec_append(dst, &v, NULL, 0) < 0 || sql_vec_reserve(dst, 1) < 0)
                rc = sql_oom(x);
            sql_vec_free(&v);
        } else {
            rc = sql_cast_vec(x, br->pos, &v, e->ty, dst);
            sql_vec_free(&v);
        }
        if (rc == 0) {
            for (int64_t j = 0; j < k; j++) {
                part_of[orig[sel[j]]] = *nparts;
                row_of[orig[sel[j]]] = j;
            }
            (*nparts)++;
        }
    }
    sql_batch_free(&sub);
    return rc;
}

int sql_eval_case(sql_exec *x, const sql_expr *e, const sql_batch *b, sql_vec *out)
{
    int64_t n = b->n;
    int nw = e->nlist / 2, nparts = 0, rc = 0;
    sql_vec *parts = es_calloc((size_t)nw + 1, sizeof(sql_vec));
    int *part_of = es_malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    int64_t *row_of = es_malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
    int64_t *orig = es_malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
    int64_t *hit = es_malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
    int64_t *miss = es_malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
    sql_batch rest, tmp;
    memset(&rest, 0, sizeof rest);
    if (!parts || !part_of || !row_of || !orig || !hit || !miss) {
        rc = sql_oom(x);
        goto done;
    }
    for (int64_t r = 0; r < n; r++)
        part_of[r] = -1, orig[r] = r;
    /* rest: the rows no WHEN has taken yet (cur points at b until the first split) */
    const sql_batch *cur = b;
    int64_t left = n;
    for (int w = 0; w < nw && left > 0 && rc == 0; w++) {
        sql_vec m;
        if (sql_eval_bool(x, e->list[2 * w], cur, &m) < 0) {
            rc = -1;
            break;
        }
        int64_t nh = 0, nm = 0;
        for (int64_t j = 0; j < left; j++) {
            if (!m.nulls[j] && m.i[j])
                hit[nh++] = j;
            else
                miss[nm++] = j;
        }
        sql_vec_free(&m);
        if (nh > 0)
            rc = eval_branch(x, e, e->list[2 * w + 1], cur, hit, orig, nh, parts, &nparts, part_of,
                             row_of);
        if (rc == 0 && nh > 0 && nm > 0) {
            if (gather(cur, miss, nm, &tmp) < 0) {
                sql_batch_free(&tmp);
                rc = sql_oom(x);
                break;
            }
            for (int64_t j = 0; j < nm; j++)
                orig[j] = orig[miss[j]];
            sql_batch_free(&rest);
            rest = tmp;
            cur = &rest;
        }
        left = nm;
    }
    if (rc == 0 && e->b && left > 0) {
        for (int64_t j = 0; j < left; j++)
            hit[j] = j;
        rc = eval_branch(x, e, e->b, cur, hit, orig, left, parts, &nparts, part_of, row_of);
    }
    if (rc == 0) {
        sql_vec_init(out, e->ty);
        if (sql_vec_reserve(out, n > 0 ? n : 1) < 0)
            rc = sql_oom(x);
        for (int64_t r = 0; r < n && rc == 0; r++) {
            if (part_of[r] < 0 || e->ty.t == SQL_NULL) {
                if (sql_vec_push_null(out) < 0)
                    rc = sql_oom(x);
            } else if (sql_vec_append(out, &parts[part_of[r]], &row_of[r], 1) < 0) {
                rc = sql_oom(x);
            }
        }
        if (rc < 0)
            sql_vec_free(out);
    }
done:
    for (int i = 0; parts && i < nparts; i++)
        sql_vec_free(&parts[i]);
    sql_batch_free(&rest);
    es_free(parts);
    es_free(part_of);
    es_free(row_of);
    es_free(orig);
    es_free(hit);
    es_free(miss);
    return rc;
}

/* ------------------------------------------------------------ ILIKE */

/* The code point of the UTF-8 character at s[*i] (advancing *i), folded to lower case for ASCII
 * and Latin-1 letters; other bytes as they are. */
static uint32_t fold_char(const char *s, int64_t n, int64_t *i)
{
    unsigned char c = (unsigned char)s[*i];
    if (c < 0x80) {
        (*i)++;
        return (uint32_t)tolower(c);
    }
    if ((c & 0xE0) == 0xC0 && *i + 1 < n && ((unsigned char)s[*i + 1] & 0xC0) == 0x80) {
        uint32_t cp = (uint32_t)(c & 0x1F) << 6 | ((unsigned char)s[*i + 1] & 0x3F);
        *i += 2;
        if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7)
            cp += 0x20;
        return cp;
    }
    (*i)++;
    return 0x110000u + c; /* a byte of a longer sequence: compared as itself */
}

int sql_like_escape_dangles(const char *p, int64_t pn, const char *esc, int elen)
{
    int64_t i = 0;
    while (i < pn)
        i += i + elen <= pn && memcmp(p + i, esc, (size_t)elen) == 0 ? elen + 1 : 1;
    return i > pn; /* the last escape had nothing after it */
}

int sql_like_one_char(const char *s, int64_t n)
{
    unsigned char c = n > 0 ? (unsigned char)s[0] : 0;
    int64_t want = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
    for (int64_t i = 1; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            return 0;
    return n == want;
}

int sql_ilike_match(const char *s, int64_t sn, const char *p, int64_t pn, const char *esc, int elen)
{
    /* The LIKE matcher of eval.c on folded characters: '%' any run, '_' one character, the
     * character after esc (-1: none) literal. */
    int64_t si = 0, pi = 0, star_p = -1, star_s = 0;
    while (si < sn) {
        /* An escaped character, or an escape ending the pattern (itself, not a wildcard). */
        int lit = elen && pi + elen <= pn && memcmp(p + pi, esc, (size_t)elen) == 0;
        int64_t pnext = pi + (lit && pi + elen < pn ? elen : 0), snext = si;
        uint32_t pc = pi < pn ? fold_char(p, pn, &pnext) : 0;
        uint32_t sc = fold_char(s, sn, &snext);
        if (pi < pn && (lit ? pc == sc : pc != '%' && (pc == '_' || pc == sc))) {
            si = snext;
            pi = pnext;
        } else if (pi < pn && !lit && pc == '%') {
            star_p = pi;
            pi = pnext;
            star_s = si;
        } else if (star_p >= 0) {
            pi = star_p + 1;
            int64_t t = star_s;
            fold_char(s, sn, &t);
            si = star_s = t;
        } else {
            return 0;
        }
    }
    while (pi < pn && p[pi] == '%' && !(elen == 1 && esc[0] == '%'))
        pi++;
    return pi == pn;
}
