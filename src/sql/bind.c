/*
 * bind: the type rules and the expression binder of the SQL layer (see sql/sql.h for the files,
 * sql/exec.h for the interfaces). Binding resolves column names against the plan's table, gives
 * every node its result type (numbers widen to a common domain, decimals keep their scale,
 * string literals compared with dates or numbers become literals of that type), turns aggregate
 * calls into slots of the plan and subtrees equal to a GROUP BY expression into group references,
 * and reports errors at the offending node. Below it: value.c. Above it: plan.c (SELECT), insert.c.
 */
#include <stdlib.h>
#include <string.h>

#include "sql/exec.h"

/* ---------------------------------------------------------- type rules */

int sql_is_num(sql_type t)
{
    return t == SQL_BOOL || t == SQL_SMALLINT || t == SQL_INT || t == SQL_BIGINT ||
           t == SQL_DECIMAL || t == SQL_REAL || t == SQL_DOUBLE;
}

int sql_is_temporal(sql_type t)
{
    return t == SQL_DATE || t == SQL_TIMESTAMP || t == SQL_TIMESTAMPTZ;
}

int sql_is_str(sql_type t)
{
    return t == SQL_VARCHAR || t == SQL_BLOB;
}

int sql_scale(const sql_typeinfo *t)
{
    return t->t == SQL_DECIMAL ? t->scale : 0;
}

int sql_common_domain(const sql_typeinfo *a, const sql_typeinfo *b, int64_t *ma, int64_t *mb)
{
    *ma = *mb = 1;
    sql_typeinfo na = *a, nb = *b;
    if (na.t == SQL_NULL && nb.t == SQL_NULL)
        return SQL_DOM_INT;
    if (na.t == SQL_NULL)
        na = nb;
    if (nb.t == SQL_NULL)
        nb = na;
    if (sql_is_num(na.t) && sql_is_num(nb.t)) {
        if (sql_type_phys(na.t) == SQL_PHYS_DBL || sql_type_phys(nb.t) == SQL_PHYS_DBL)
            return SQL_DOM_DBL;
        int sa = sql_scale(&na), sb = sql_scale(&nb), s = sa > sb ? sa : sb;
        *ma = sql_pow10[s - sa];
        *mb = sql_pow10[s - sb];
        return SQL_DOM_INT;
    }
    if (sql_is_temporal(na.t) && sql_is_temporal(nb.t)) {
        if (na.t == SQL_DATE && nb.t != SQL_DATE)
            *ma = 86400000000LL;
        if (nb.t == SQL_DATE && na.t != SQL_DATE)
            *mb = 86400000000LL;
        return SQL_DOM_INT;
    }
    if (sql_is_str(na.t) && sql_is_str(nb.t))
        return SQL_DOM_STR;
    return -1;
}

/* ------------------------------------------------------------- binder */

static const char *binop_name(int op)
{
    static const char *n[] = {"+", "-",  "*", "/",  "%",   "=",  "<>",
                              "<", "<=", ">", ">=", "AND", "OR", "||"};
    return n[op];
}

void sql_fmt_expr(char *buf, size_t cap, const sql_expr *e)
{
    char a[256], b[256], c[256];
    switch (e->kind) {
    case E_COL:
        snprintf(buf, cap, "%s", e->name);
        break;
    case E_INT:
        /* a literal of any type of the int class (folded casts, dates) */
        switch (e->ty.t) {
        case SQL_DECIMAL:
            sql_format_decimal(buf, cap, e->ival, e->ty.scale);
            break;
        case SQL_BOOL:
            snprintf(buf, cap, "%s", e->ival ? "true" : "false");
            break;
        case SQL_DATE:
            sql_format_date(a, sizeof a, e->ival);
            snprintf(buf, cap, "DATE '%s'", a);
            break;
        case SQL_TIMESTAMP:
        case SQL_TIMESTAMPTZ:
            sql_format_timestamp(a, sizeof a, e->ival, e->ty.t == SQL_TIMESTAMPTZ);
            snprintf(buf, cap, "TIMESTAMP '%s'", a);
            break;
        default:
            snprintf(buf, cap, "%lld", (long long)e->ival);
        }
        break;
    case E_DBL:
        if (e->sval)
            snprintf(buf, cap, "%.*s", (int)(e->slen > 200 ? 200 : e->slen), e->sval);
        else
            sql_format_double(buf, cap, e->dval);
        break;
    case E_STR:
        snprintf(buf, cap, "'%.*s'", (int)(e->slen > 200 ? 200 : e->slen), e->sval);
        break;
    case E_NULL:
        snprintf(buf, cap, "NULL");
        break;
    case E_BOOL:
        snprintf(buf, cap, "%s", e->ival ? "true" : "false");
        break;
    case E_BIN:
        if (e->op == OP_AND || e->op == OP_OR) {
            size_t k = (size_t)snprintf(buf, cap, "(");
            for (int i = 0; i < e->nlist && k < cap; i++) {
                sql_fmt_expr(a, sizeof a, e->list[i]);
                k += (size_t)snprintf(buf + k, cap - k, "%s%s",
                                      i ? (e->op == OP_AND ? " AND " : " OR ") : "", a);
            }
            if (k < cap)
                snprintf(buf + k, cap - k, ")");
            break;
        }
        sql_fmt_expr(a, sizeof a, e->a);
        sql_fmt_expr(b, sizeof b, e->b);
        snprintf(buf, cap, "(%s %s %s)", a, binop_name(e->op), b);
        break;
    case E_NOT:
        sql_fmt_expr(a, sizeof a, e->a);
        snprintf(buf, cap, "(NOT %s)", a);
        break;
    case E_NEG:
        sql_fmt_expr(a, sizeof a, e->a);
        snprintf(buf, cap, "(-%s)", a);
        break;
    case E_ISNULL:
        sql_fmt_expr(a, sizeof a, e->a);
        snprintf(buf, cap, "(%s IS %sNULL)", a, e->neg ? "NOT " : "");
        break;
    case E_BETWEEN:
        sql_fmt_expr(a, sizeof a, e->a);
        sql_fmt_expr(b, sizeof b, e->b);
        sql_fmt_expr(c, sizeof c, e->c);
        snprintf(buf, cap, "(%s %sBETWEEN %s AND %s)", a, e->neg ? "NOT " : "", b, c);
        break;
    case E_IN:
        sql_fmt_expr(a, sizeof a, e->a);
        snprintf(buf, cap, "(%s %sIN (%d values))", a, e->neg ? "NOT " : "", e->nlist);
        break;
    case E_LIKE:
        sql_fmt_expr(a, sizeof a, e->a);
        sql_fmt_expr(b, sizeof b, e->b);
        if (e->c)
            snprintf(c, sizeof c, " ESCAPE '%.*s'", (int)e->c->slen, e->c->sval);
        snprintf(buf, cap, "(%s %s%sLIKE %s%s)", a, e->neg ? "NOT " : "", e->op ? "I" : "", b,
                 e->c ? c : "");
        break;
    case E_CASE:
        sql_fmt_case(buf, cap, e);
        break;
    case E_INTERVAL:
        sql_format_interval(a, sizeof a, e->months, e->ival);
        snprintf(buf, cap, "INTERVAL '%s'", a);
        break;
    case E_CAST:
        sql_fmt_expr(a, sizeof a, e->a);
        sql_typeinfo_name(b, sizeof b, &e->cast);
        snprintf(buf, cap, "CAST(%s AS %s)", a, b);
        break;
    case E_FUNC:
        if (e->nlist == 0 && !e->star &&
            (strcmp(e->name, "current_date") == 0 || strcmp(e->name, "current_timestamp") == 0)) {
            snprintf(buf, cap, "%s", e->name); /* SQL's niladic functions, as written */
        } else if (e->star) {
            snprintf(buf, cap, "%s(*)", e->name);
        } else {
            size_t k = (size_t)snprintf(buf, cap, "%s(%s", e->name, e->distinct ? "DISTINCT " : "");
            for (int i = 0; i < e->nlist && k < cap; i++) {
                sql_fmt_expr(a, sizeof a, e->list[i]);
                k += (size_t)snprintf(buf + k, cap - k, "%s%s", i ? ", " : "", a);
            }
            if (k < cap)
                snprintf(buf + k, cap - k, ")");
        }
        break;
    default:
        snprintf(buf, cap, "#%d", e->index);
    }
}

/* Literals of one kind and type (bound or not: an unbound E_INT is a BIGINT, E_DBL a DOUBLE). */
static int same_lit_type(const sql_expr *a, const sql_expr *b)
{
    sql_type ta = a->ty.t, tb = b->ty.t;
    sql_type dflt = a->kind == E_INT ? SQL_BIGINT : a->kind == E_DBL ? SQL_DOUBLE : SQL_BOOL;
    ta = ta == SQL_NULL ? dflt : ta;
    tb = tb == SQL_NULL ? dflt : tb;
    return ta == tb && sql_scale(&a->ty) == sql_scale(&b->ty);
}

int sql_expr_equal(const sql_expr *a, const sql_expr *b)
{
    if (!a || !b)
        return a == b;
    if (a->kind != b->kind || a->op != b->op || a->neg != b->neg || a->star != b->star ||
        a->nlist != b->nlist || a->distinct != b->distinct)
        return 0;
    switch (a->kind) {
    case E_COL:
        return strcmp(a->name, b->name) == 0;
    case E_INT:
    case E_BOOL:
        return a->ival == b->ival && same_lit_type(a, b);
    case E_DBL:
        return (a->dval == b->dval || (a->dval != a->dval && b->dval != b->dval)) &&
               same_lit_type(a, b);
    case E_STR:
        return a->slen == b->slen && memcmp(a->sval, b->sval, (size_t)a->slen) == 0;
    case E_INTERVAL:
        return a->ival == b->ival && a->months == b->months;
    case E_FUNC:
        if (strcmp(a->name, b->name) != 0)
            return 0;
        break;
    case E_CAST:
        if (memcmp(&a->cast, &b->cast, sizeof a->cast) != 0)
            return 0;
        break;
    default:
        break;
    }
    for (int i = 0; i < a->nlist; i++)
        if (!sql_expr_equal(a->list[i], b->list[i]))
            return 0;
    return sql_expr_equal(a->a, b->a) && sql_expr_equal(a->b, b->b) && sql_expr_equal(a->c, b->c);
}

static int agg_kind(const char *name)
{
    if (strcmp(name, "count") == 0)
        return SQL_AGG_COUNT;
    if (strcmp(name, "sum") == 0 || strcmp(name, "total") == 0)
        return SQL_AGG_SUM;
    if (strcmp(name, "avg") == 0 || strcmp(name, "mean") == 0)
        return SQL_AGG_AVG;
    if (strcmp(name, "min") == 0)
        return SQL_AGG_MIN;
    if (strcmp(name, "max") == 0)
        return SQL_AGG_MAX;
    return -1;
}

int sql_has_agg(const sql_expr *e)
{
    if (!e)
        return 0;
    if (e->kind == E_FUNC && agg_kind(e->name) >= 0)
        return 1;
    for (int i = 0; i < e->nlist; i++)
        if (sql_has_agg(e->list[i]))
            return 1;
    return sql_has_agg(e->a) || sql_has_agg(e->b) || sql_has_agg(e->c);
}

static void type_str(char *buf, size_t cap, const sql_expr *e)
{
    char t[64], x[128];
    sql_typeinfo_name(t, sizeof t, &e->ty);
    sql_fmt_expr(x, sizeof x, e);
    snprintf(buf, cap, "%s (%s)", x, t);
}

int sql_fold_temporal(sql_exec *x, sql_expr *lit, sql_type t)
{
    sql_typeinfo ti = {t, 0, 0};
    sql_value v;
    if (sql_conv_text(&ti, lit->sval, lit->slen, &v) != 0)
        return sql_err(x, lit->pos, "invalid %s literal '%.60s'", sql_type_name(t), lit->sval);
    lit->kind = E_INT;
    lit->ival = v.i;
    lit->ty = ti;
    return 0;
}

/* 1 when text p[0..n) (blanks around it allowed) is exactly a number of integer or decimal type
 * t: digits with at most t's scale of significant fractional digits, no exponent. */
static int exact_decimal_text(const char *p, int64_t n, const sql_typeinfo *t)
{
    int64_t i = 0, digits = 0, frac = 0, zeros = 0;
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    if (i < n && (p[i] == '+' || p[i] == '-'))
        i++;
    for (; i < n && p[i] >= '0' && p[i] <= '9'; i++)
        digits++;
    if (i < n && p[i] == '.')
        for (i++; i < n && p[i] >= '0' && p[i] <= '9'; i++, frac++, digits++)
            zeros = p[i] == '0' ? zeros + 1 : 0;
    return i == n && digits > 0 && frac - zeros <= sql_scale(t);
}

/* A string literal compared with a number becomes a literal of the number's type, as in
 * PostgreSQL and DuckDB: WHERE id = '42' is WHERE id = 42, pushed down and pruned the same. The
 * text must be exactly a value of that type: '2.5' is no INTEGER (CAST would round it to 3, and
 * the comparison would be false where it seems true), '100000' no SMALLINT. */
static int fold_num_literal(sql_exec *x, sql_expr *lit, const sql_typeinfo *ty)
{
    sql_typeinfo to = *ty;
    if (sql_type_phys(to.t) == SQL_PHYS_DBL)
        to = (sql_typeinfo){SQL_DOUBLE, 0, 0};
    sql_value v;
    int exact = sql_type_phys(to.t) != SQL_PHYS_INT || to.t == SQL_BOOL ||
                exact_decimal_text(lit->sval, lit->slen, &to);
    if (!exact || sql_conv_text(&to, lit->sval, lit->slen, &v) != 0) {
        char tn[64];
        sql_typeinfo_name(tn, sizeof tn, ty);
        return sql_err(x, lit->pos, "type error: cannot convert string '%.*s' to %s",
                       (int)(lit->slen > 60 ? 60 : lit->slen), lit->sval, tn);
    }
    if (to.t == SQL_DOUBLE) {
        lit->kind = E_DBL;
        lit->dval = v.f;
        lit->sval = NULL;
        lit->slen = 0;
    } else {
        lit->kind = E_INT;
        lit->ival = v.i;
    }
    lit->ty = to;
    return 0;
}

/* String literals compared with a date, timestamp or number become literals of that type. */
static int fold_str_operand(sql_exec *x, sql_expr *lit, const sql_expr *other)
{
    if (lit->kind != E_STR)
        return 0;
    if (sql_is_temporal(other->ty.t))
        return sql_fold_temporal(x, lit, other->ty.t);
    if (sql_is_num(other->ty.t))
        return fold_num_literal(x, lit, &other->ty);
    return 0;
}

static int bind_cmp_operands(sql_exec *x, sql_expr *e, sql_expr *a, sql_expr *b, const char *what)
{
    if (fold_str_operand(x, b, a) < 0 || fold_str_operand(x, a, b) < 0)
        return -1;
    int64_t ma, mb;
    if (sql_common_domain(&a->ty, &b->ty, &ma, &mb) < 0) {
        char sa[256], sb[256];
        type_str(sa, sizeof sa, a);
        type_str(sb, sizeof sb, b);
        return sql_err(x, e->pos, "type error: cannot %s %s with %s", what, sa, sb);
    }
    return 0;
}

/* CAST of a literal to a type other than a string becomes a literal of that type (errors are
 * reported now, at the CAST), so that the predicate pushdown sees CAST('nan' AS DOUBLE) or
 * DATE '2024-01-01' as the constants they are. */
static int fold_cast(sql_exec *x, sql_expr *e)
{
    sql_expr_kind k = e->a->kind;
    if ((k != E_INT && k != E_DBL && k != E_STR && k != E_BOOL) || sql_is_str(e->cast.t))
        return 0;
    sql_batch one = {.n = 1};
    sql_vec v;
    if (sql_eval(x, e, &one, &v) < 0)
        return -1;
    if (sql_vec_phys(&v) == SQL_PHYS_DBL) {
        e->kind = E_DBL;
        e->dval = v.f[0];
        e->sval = NULL;
        e->slen = 0;
    } else {
        e->kind = E_INT;
        e->ival = v.i[0];
    }
    sql_vec_free(&v);
    e->a = NULL;
    e->ty = e->cast;
    return 0;
}

/* Date arithmetic on constants (DATE '2024-01-01' + 30) becomes a constant, as a folded cast,
 * so that a predicate comparing a column with it is pushed down; an overflow is an error now. */
static int fold_date_arith(sql_exec *x, sql_expr *e)
{
    if ((e->a->kind != E_INT && e->a->kind != E_INTERVAL) ||
        (e->b->kind != E_INT && e->b->kind != E_INTERVAL))
        return 0;
    sql_batch one = {.n = 1};
    sql_vec v;
    if (sql_eval(x, e, &one, &v) < 0)
        return -1;
    e->kind = E_INT;
    e->ival = v.i[0];
    e->a = e->b = NULL;
    sql_vec_free(&v);
    return 0;
}

int sql_check_bool(sql_exec *x, sql_expr *e, sql_expr *a)
{
    if (a->ty.t == SQL_NULL || a->ty.t == SQL_BOOL || sql_is_num(a->ty.t))
        return 0;
    char sa[256];
    type_str(sa, sizeof sa, a);
    return sql_err(x, e->pos, "type error: %s is not a boolean", sa);
}

int sql_bind_expr(sql_exec *x, sql_plan *p, sql_expr *e, int agg_ok)
{
    sql_typeinfo bigint = {SQL_BIGINT, 0, 0}, dbl = {SQL_DOUBLE, 0, 0}, boolean = {SQL_BOOL, 0, 0},
                 varchar = {SQL_VARCHAR, 0, 0};
    /* In an aggregate query, a subtree equal to a GROUP BY expression is a group key. */
    if (p->aggregate && agg_ok >= 0 && e->kind != E_INT && e->kind != E_DBL && e->kind != E_STR &&
        e->kind != E_NULL && e->kind != E_BOOL) {
        for (int g = 0; g < p->ngroup; g++) {
            if (sql_expr_equal(e, p->group[g])) {
                sql_typeinfo ty = p->group[g]->ty;
                e->kind = E_GROUPREF;
                e->index = g;
                e->ty = ty;
                e->a = e->b = e->c = NULL;
                e->nlist = 0;
                return 0;
            }
        }
    }
    switch (e->kind) {
    case E_COL:
        /* t.c: t is the query's table or its alias (a statement's other qualifiers are
         * resolved before binding: dml.c). */
        if (e->qual && !(p->sel && p->sel->table &&
                         (strcmp(e->qual, p->sel->table) == 0 ||
                          (p->sel->alias && strcmp(e->qual, p->sel->alias) == 0))))
            return sql_err(x, e->pos, "no such table: %s (the query reads %s)", e->qual,
                           p->sel && p->sel->table ? p->sel->table : "no table");
        for (int i = 0; i < p->ncols; i++) {
            if (strcmp(p->cols[i].name, e->name) == 0) {
                if (p->aggregate && agg_ok >= 0)
                    return sql_err(x, e->pos,
                                   "column %s must appear in GROUP BY or be used in an aggregate",
                                   e->name);
                e->index = i;
                e->ty = p->cols[i].ty;
                p->cols[i].used = 1;
                return 0;
            }
        }
        return sql_unknown_column(x, e->pos, e->name, p->cols, p->ncols);
    case E_INT:
        if (e->ty.t == SQL_NULL)
            e->ty = bigint;
        return 0;
    case E_DBL:
        if (e->ty.t == SQL_NULL) /* else an exact DECIMAL literal (parse.c) or a folded cast */
            e->ty = dbl;
        return 0;
    case E_STR:
        e->ty = varchar;
        return 0;
    case E_NULL:
        e->ty.t = SQL_NULL;
        return 0;
    case E_BOOL:
        e->ty = boolean;
        return 0;
    case E_GROUPREF:
    case E_AGGREF:
        return 0;
    case E_INTERVAL: /* not under + or - (E_BIN above) */
        return sql_err(x, e->pos,
                       "type error: an INTERVAL can only be added to or subtracted "
                       "from a DATE or TIMESTAMP");
    case E_CASE:
        return sql_bind_case(x, p, e, agg_ok);
    case E_BIN: {
        if (e->op == OP_AND || e->op == OP_OR) {
            for (int i = 0; i < e->nlist; i++)
                if (sql_bind_expr(x, p, e->list[i], agg_ok) < 0 ||
                    sql_check_bool(x, e, e->list[i]) < 0)
                    return -1;
            e->ty = boolean;
            return 0;
        }
        /* An INTERVAL operand is bound by sql_date_arith_bind, and only there. */
        if ((e->a->kind != E_INTERVAL && sql_bind_expr(x, p, e->a, agg_ok) < 0) ||
            (e->b->kind != E_INTERVAL && sql_bind_expr(x, p, e->b, agg_ok) < 0))
            return -1;
        int dr = sql_date_arith_bind(x, e); /* DATE + days, DATE - DATE, +- INTERVAL */
        if (dr != 0)
            return dr < 0 ? -1 : fold_date_arith(x, e);
        sql_typeinfo ta = e->a->ty, tb = e->b->ty;
        if (e->op >= OP_EQ && e->op <= OP_GE) {
            if (bind_cmp_operands(x, e, e->a, e->b, "compare") < 0)
                return -1;
            e->ty = boolean;
            return 0;
        }
        if (e->op == OP_CONCAT) {
            e->ty = varchar;
            return 0;
        }
        if (ta.t == SQL_NULL)
            ta = tb.t == SQL_NULL ? bigint : tb;
        if (tb.t == SQL_NULL)
            tb = ta;
        if (!sql_is_num(ta.t) || !sql_is_num(tb.t)) {
            char sa[256], sb[256];
            type_str(sa, sizeof sa, e->a);
            type_str(sb, sizeof sb, e->b);
            return sql_err(x, e->pos, "type error: cannot apply %s to %s and %s", binop_name(e->op),
                           sa, sb);
        }
        if (sql_type_phys(ta.t) == SQL_PHYS_DBL || sql_type_phys(tb.t) == SQL_PHYS_DBL) {
            e->ty = dbl;
        } else if (ta.t == SQL_DECIMAL || tb.t == SQL_DECIMAL) {
            int sa = sql_scale(&ta), sb = sql_scale(&tb);
            if (e->op == OP_ADD || e->op == OP_SUB) {
                e->ty.t = SQL_DECIMAL;
                e->ty.precision = 18;
                e->ty.scale = sa > sb ? sa : sb;
            } else if (e->op == OP_MUL && sa + sb <= 18) {
                e->ty.t = SQL_DECIMAL;
                e->ty.precision = 18;
                e->ty.scale = sa + sb;
            } else {
                e->ty = dbl;
            }
        } else {
            e->ty = bigint;
        }
        return 0;
    }
    case E_NOT:
        if (sql_bind_expr(x, p, e->a, agg_ok) < 0 || sql_check_bool(x, e, e->a) < 0)
            return -1;
        e->ty = boolean;
        return 0;
    case E_NEG:
        if (sql_bind_expr(x, p, e->a, agg_ok) < 0)
            return -1;
        if (!sql_is_num(e->a->ty.t) && e->a->ty.t != SQL_NULL) {
            char sa[256];
            type_str(sa, sizeof sa, e->a);
            return sql_err(x, e->pos, "type error: cannot negate %s", sa);
        }
        e->ty = e->a->ty.t == SQL_BOOL || e->a->ty.t == SQL_NULL ? bigint : e->a->ty;
        if (e->ty.t == SQL_SMALLINT || e->ty.t == SQL_INT)
            e->ty = bigint;
        if (e->ty.t == SQL_REAL)
            e->ty = dbl;
        return 0;
    case E_ISNULL:
        if (sql_bind_expr(x, p, e->a, agg_ok) < 0)
            return -1;
        e->ty = boolean;
        return 0;
    case E_BETWEEN:
        if (sql_bind_expr(x, p, e->a, agg_ok) < 0 || sql_bind_expr(x, p, e->b, agg_ok) < 0 ||
            sql_bind_expr(x, p, e->c, agg_ok) < 0)
            return -1;
        if (bind_cmp_operands(x, e, e->a, e->b, "compare") < 0 ||
            bind_cmp_operands(x, e, e->a, e->c, "compare") < 0)
            return -1;
        e->ty = boolean;
        return 0;
    case E_IN:
        if (sql_bind_expr(x, p, e->a, agg_ok) < 0)
            return -1;
        for (int i = 0; i < e->nlist; i++)
            if (sql_bind_expr(x, p, e->list[i], agg_ok) < 0 ||
                bind_cmp_operands(x, e, e->a, e->list[i], "compare") < 0)
                return -1;
        sql_inset_fill(e);
        e->ty = boolean;
        return 0;
    case E_LIKE:
        if (sql_bind_expr(x, p, e->a, agg_ok) < 0 || sql_bind_expr(x, p, e->b, agg_ok) < 0)
            return -1;
        if ((!sql_is_str(e->a->ty.t) && e->a->ty.t != SQL_NULL) ||
            (!sql_is_str(e->b->ty.t) && e->b->ty.t != SQL_NULL)) {
            char sa[256], sb[256];
            type_str(sa, sizeof sa, e->a);
            type_str(sb, sizeof sb, e->b);
            return sql_err(x, e->pos, "type error: LIKE needs strings, got %s and %s", sa, sb);
        }
        if (e->c && e->c->slen > 0 && !sql_like_one_char(e->c->sval, e->c->slen))
            return sql_err(x, e->c->pos, "ESCAPE needs one character (or none), got '%.40s'",
                           e->c->sval);
        if (e->c && e->c->slen > 0 && e->b->kind == E_STR &&
            sql_like_escape_dangles(e->b->sval, e->b->slen, e->c->sval, (int)e->c->slen))
            return sql_err(x, e->b->pos, "LIKE pattern must not end with the escape character");
        e->ty = boolean;
        return 0;
    case E_CAST:
        if (sql_bind_expr(x, p, e->a, agg_ok) < 0)
            return -1;
        e->ty = e->cast;
        return fold_cast(x, e);
    case E_FUNC: {
        int ak = agg_kind(e->name);
        if (ak >= 0) {
            if (agg_ok <= 0)
                return sql_err(x, e->pos, "aggregate %s() is not allowed here", e->name);
            if (e->star && ak != SQL_AGG_COUNT)
                return sql_err(x, e->pos, "%s(*) is not valid", e->name);
            if (!e->star && e->nlist != 1)
                return sql_err(x, e->pos, "%s() takes one argument", e->name);
            sql_agg ai;
            memset(&ai, 0, sizeof ai);
            ai.kind = e->star ? SQL_AGG_COUNT_STAR : ak;
            ai.distinct =
                e->distinct && (ak == SQL_AGG_COUNT || ak == SQL_AGG_SUM || ak == SQL_AGG_AVG);
            if (!e->star) {
                ai.arg = e->list[0];
                if (sql_bind_expr(x, p, ai.arg, -1) < 0) /* -1: raw input columns, no nesting */
                    return -1;
                sql_type at = ai.arg->ty.t;
                if ((ak == SQL_AGG_SUM || ak == SQL_AGG_AVG) && !sql_is_num(at) && at != SQL_NULL) {
                    char sa[256];
                    type_str(sa, sizeof sa, ai.arg);
                    return sql_err(x, e->pos, "type error: %s() needs a number, got %s", e->name,
                                   sa);
                }
            }
            switch (ai.kind) {
            case SQL_AGG_COUNT_STAR:
            case SQL_AGG_COUNT:
                ai.ty = bigint;
                break;
            case SQL_AGG_AVG:
                ai.ty = dbl;
                break;
            case SQL_AGG_SUM:
                ai.ty = ai.arg->ty;
                if (sql_type_phys(ai.ty.t) == SQL_PHYS_DBL)
                    ai.ty = dbl;
                else if (ai.ty.t == SQL_DECIMAL)
                    ai.ty.precision = 18;
                else
                    ai.ty = bigint;
                break;
            default:
                ai.ty = ai.arg->ty;
                if (ai.ty.t == SQL_NULL)
                    ai.ty = bigint;
            }
            int slot = -1;
            for (int i = 0; i < p->naggs; i++)
                if (p->aggs[i].kind == ai.kind && p->aggs[i].distinct == ai.distinct &&
                    (ai.kind == SQL_AGG_COUNT_STAR || sql_expr_equal(p->aggs[i].arg, ai.arg)))
                    slot = i;
            if (slot < 0) {
                if (p->naggs == 256)
                    return sql_err(x, e->pos, "too many aggregates (limit 256)");
                slot = p->naggs++;
                p->aggs[slot] = ai;
            }
            e->kind = E_AGGREF;
            e->index = p->ngroup + slot;
            e->ty = ai.ty;
            return 0;
        }
        for (int i = 0; i < e->nlist; i++)
            if (sql_bind_expr(x, p, e->list[i], agg_ok) < 0)
                return -1;
        if (strcmp(e->name, "abs") == 0 && e->nlist == 1 && sql_is_num(e->list[0]->ty.t)) {
            e->ty = e->list[0]->ty;
            if (e->ty.t == SQL_BOOL || e->ty.t == SQL_SMALLINT || e->ty.t == SQL_INT)
                e->ty = bigint;
            return 0;
        }
        if ((strcmp(e->name, "lower") == 0 || strcmp(e->name, "upper") == 0) && e->nlist == 1) {
            e->ty = varchar;
            return 0;
        }
        if ((strcmp(e->name, "coalesce") == 0 || strcmp(e->name, "ifnull") == 0) && e->nlist >= 1) {
            sql_typeinfo t = {SQL_NULL, 0, 0};
            for (int i = 0; i < e->nlist; i++) {
                sql_typeinfo ai = e->list[i]->ty;
                int64_t ma, mb;
                if (ai.t == SQL_NULL)
                    continue;
                if (t.t == SQL_NULL) {
                    t = ai;
                    continue;
                }
                if (sql_common_domain(&t, &ai, &ma, &mb) < 0) {
                    char sa[256];
                    type_str(sa, sizeof sa, e->list[i]);
                    return sql_err(x, e->pos, "type error: %s() mixes %s with %s", e->name,
                                   sql_type_name(t.t), sa);
                }
                if (sql_is_num(t.t) && (sql_type_phys(ai.t) == SQL_PHYS_DBL ||
                                        (ai.t == SQL_DECIMAL && ai.scale != sql_scale(&t))))
                    t = dbl;
                else if (sql_is_num(t.t) && t.t != ai.t && t.t != SQL_DOUBLE)
                    t = t.t == SQL_DECIMAL ? t : bigint;
            }
            e->ty = t;
            return 0;
        }
        if ((strcmp(e->name, "length") == 0) && e->nlist == 1) {
            e->ty = bigint;
            return 0;
        }
        int fr = sql_func_bind(x, e); /* func.c: 1 when the name is not one of its own */
        return fr <= 0 ? fr : sql_unknown_function(x, e);
    }
    }
    return sql_err(x, e->pos, "internal: unbound expression");
}

int sql_bind_compare(sql_exec *x, sql_expr *e, sql_expr *a, sql_expr *b)
{
    return bind_cmp_operands(x, e, a, b, "compare");
}
