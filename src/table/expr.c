/*
 * expr: the public predicate constructors (es_expr_*), binding to a table's columns (es_pred),
 * pruning against statistics and exact evaluation over decoded rows. See expr.h for the
 * semantics (SQL three-valued logic via negation normal form).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "table/expr.h"

__extension__ typedef __int128 es_i128;
__extension__ typedef unsigned __int128 es_u128;

/* ------------------------------------------------------------ construction */

/* What a constructor returns on a bad argument or an allocation failure, instead of NULL (which
 * es_delete and es_update take as "every row"): combinators pass it on, es_expr_free ignores
 * it, es_pred_bind refuses it. */
static es_expr failed_expr;

int es_expr_failed(const es_expr *e)
{
    return !e || e == &failed_expr;
}

static es_status copy_value(es_value *dst, const es_value *src)
{
    *dst = *src;
    dst->bytes = NULL;
    if (src->kind == ES_VALUE_BYTES) {
        if (src->len < 0)
            return ES_INVALID;
        uint8_t *p = es_malloc(src->len > 0 ? (size_t)src->len : 1);
        if (!p)
            return ES_NOMEM;
        if (src->len > 0)
            memcpy(p, src->bytes, (size_t)src->len);
        dst->bytes = p;
    }
    return ES_OK;
}

static es_expr *new_leaf(es_expr_kind kind, const char *column, const es_value *vals, int64_t n)
{
    if (!column || n < 0)
        return &failed_expr;
    for (int64_t i = 0; i < n; i++)
        if ((int)vals[i].kind < ES_VALUE_NULL || vals[i].kind > ES_VALUE_BYTES ||
            (vals[i].kind == ES_VALUE_BYTES && vals[i].len > 0 && !vals[i].bytes))
            return &failed_expr;
    es_expr *e = es_calloc(1, sizeof(*e));
    if (!e)
        return &failed_expr;
    e->kind = kind;
    e->column = es_strdup(column);
    if (!e->column)
        goto fail;
    if (n > 0) {
        e->vals = es_calloc((size_t)n, sizeof(es_value));
        if (!e->vals)
            goto fail;
        for (int64_t i = 0; i < n; i++) {
            if (copy_value(&e->vals[i], &vals[i]) != ES_OK)
                goto fail;
            e->n_vals = i + 1;
        }
    }
    return e;
fail:
    es_expr_free(e);
    return &failed_expr;
}

es_expr *es_expr_cmp(const char *column, es_cmp_op op, es_value v)
{
    if ((int)op < ES_EQ || op > ES_GE)
        return &failed_expr;
    es_expr *e = new_leaf(ES_EXPR_CMP, column, &v, 1);
    if (e != &failed_expr)
        e->op = op;
    return e;
}

es_expr *es_expr_between(const char *column, es_value lo, es_value hi)
{
    es_value v[2] = {lo, hi};
    return new_leaf(ES_EXPR_BETWEEN, column, v, 2);
}

es_expr *es_expr_in(const char *column, const es_value *vals, int64_t n)
{
    if (n > 0 && !vals)
        return &failed_expr;
    return new_leaf(ES_EXPR_IN, column, vals, n);
}

es_expr *es_expr_is_null(const char *column, int negate)
{
    return new_leaf(negate ? ES_EXPR_IS_NOT_NULL : ES_EXPR_IS_NULL, column, NULL, 0);
}

static es_expr *new_node(es_expr_kind kind, es_expr *a, es_expr *b)
{
    if (es_expr_failed(a) || (kind != ES_EXPR_NOT && es_expr_failed(b))) {
        es_expr_free(a);
        es_expr_free(b);
        return &failed_expr;
    }
    es_expr *e = es_calloc(1, sizeof(*e));
    if (!e) {
        es_expr_free(a);
        es_expr_free(b);
        return &failed_expr;
    }
    e->kind = kind;
    e->a = a;
    e->b = b;
    return e;
}

es_expr *es_expr_and(es_expr *a, es_expr *b)
{
    return new_node(ES_EXPR_AND, a, b);
}

es_expr *es_expr_or(es_expr *a, es_expr *b)
{
    return new_node(ES_EXPR_OR, a, b);
}

es_expr *es_expr_not(es_expr *a)
{
    return new_node(ES_EXPR_NOT, a, NULL);
}

void es_expr_free(es_expr *e)
{
    /* Without recursion, as a caller's chain may be any depth: rotate the left child up until
     * the node at the top has none, free that node and go on with its right child. */
    while (e && e != &failed_expr) {
        if (e->a) {
            es_expr *l = e->a;
            e->a = l->b;
            l->b = e;
            e = l;
            continue;
        }
        es_expr *next = e->b;
        for (int64_t i = 0; i < e->n_vals; i++)
            es_free((void *)e->vals[i].bytes);
        es_free(e->vals);
        es_free(e->column);
        es_free(e);
        e = next;
    }
}

/* ------------------------------------------------------------- formatting */

typedef struct fmt_out {
    char *buf;
    size_t cap, len;
} fmt_out;

static void fmt_put(fmt_out *o, const char *fmt, ...) ES_PRINTF(2, 3);
static void fmt_put(fmt_out *o, const char *fmt, ...)
{
    if (o->cap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    size_t room = o->len < o->cap ? o->cap - o->len : 0;
    int n = vsnprintf(o->buf + (o->cap - room), room, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
    if (o->len >= o->cap)
        o->len = o->cap - 1;
}

static void fmt_value(fmt_out *o, const es_value *v)
{
    switch (v->kind) {
    case ES_VALUE_NULL:
        fmt_put(o, "NULL");
        break;
    case ES_VALUE_INT:
        fmt_put(o, "%lld", (long long)v->i);
        break;
    case ES_VALUE_DOUBLE:
        fmt_put(o, "%.17g", v->d);
        break;
    case ES_VALUE_BYTES:
        fmt_put(o, "'");
        for (int64_t i = 0; i < v->len; i++) {
            uint8_t c = v->bytes[i];
            if (c == '\'')
                fmt_put(o, "''");
            else if (c >= 0x20 && c < 0x7f)
                fmt_put(o, "%c", c);
            else
                fmt_put(o, "\\x%02x", c);
        }
        fmt_put(o, "'");
        break;
    }
}

static const char *op_text(es_cmp_op op)
{
    static const char *t[] = {"=", "<>", "<", "<=", ">", ">="};
    return (int)op >= 0 && op <= ES_GE ? t[op] : "?";
}

static void fmt_expr(fmt_out *o, const es_expr *e, int depth);

/* An AND or OR and the operands of the same combinator below it, as one flat list in order
 * ("(a OR b OR c)" however the chain was built), walked with a stack of our own. */
static void fmt_chain(fmt_out *o, const es_expr *e, int depth)
{
    es_expr_kind kind = e->kind;
    const es_expr **stack = NULL, *cur = e;
    size_t top = 0, cap = 0;
    int first = 1;
    fmt_put(o, "(");
    while ((cur || top) && o->len + 1 < o->cap) {
        if (cur && cur->kind == kind) {
            if (top == cap) {
                size_t nc = cap ? cap * 2 : 16;
                const es_expr **ns = es_realloc(stack, sizeof(*ns) * nc);
                if (!ns) {
                    fmt_put(o, "...");
                    break;
                }
                stack = ns;
                cap = nc;
            }
            stack[top++] = cur;
            cur = cur->a;
        } else if (cur) {
            if (!first)
                fmt_put(o, kind == ES_EXPR_AND ? " AND " : " OR ");
            fmt_expr(o, cur, depth + 1);
            first = 0;
            cur = NULL;
        } else {
            cur = stack[--top]->b;
        }
    }
    es_free(stack);
    fmt_put(o, ")");
}

static void fmt_expr(fmt_out *o, const es_expr *e, int depth)
{
    if (!e) {
        fmt_put(o, "TRUE");
        return;
    }
    if (o->len + 1 >= o->cap)
        return; /* full: the rest would be cut anyway */
    if (depth >= ES_EXPR_MAX_DEPTH) {
        fmt_put(o, "...");
        return;
    }
    switch (e->kind) {
    case ES_EXPR_CMP:
        fmt_put(o, "%s %s ", e->column, op_text(e->op));
        fmt_value(o, &e->vals[0]);
        break;
    case ES_EXPR_BETWEEN:
        fmt_put(o, "%s BETWEEN ", e->column);
        fmt_value(o, &e->vals[0]);
        fmt_put(o, " AND ");
        fmt_value(o, &e->vals[1]);
        break;
    case ES_EXPR_IN:
        fmt_put(o, "%s IN (", e->column);
        for (int64_t i = 0; i < e->n_vals; i++) {
            if (i)
                fmt_put(o, ", ");
            fmt_value(o, &e->vals[i]);
        }
        fmt_put(o, ")");
        break;
    case ES_EXPR_IS_NULL:
        fmt_put(o, "%s IS NULL", e->column);
        break;
    case ES_EXPR_IS_NOT_NULL:
        fmt_put(o, "%s IS NOT NULL", e->column);
        break;
    case ES_EXPR_AND:
    case ES_EXPR_OR:
        fmt_chain(o, e, depth);
        break;
    case ES_EXPR_NOT:
        fmt_put(o, "NOT (");
        fmt_expr(o, e->a, depth + 1);
        fmt_put(o, ")");
        break;
    }
}

void es_expr_format(char *buf, size_t cap, const es_expr *e)
{
    if (!buf || cap == 0)
        return;
    buf[0] = 0;
    fmt_out o = {buf, cap, 0};
    if (e == &failed_expr)
        fmt_put(&o, "(failed predicate)");
    else
        fmt_expr(&o, e, 0);
}

/* ----------------------------------------------------------------- domains */

es_domain es_expr_domain(es_type_id id)
{
    switch (id) {
    case ES_TYPE_BOOL:
    case ES_TYPE_INT8:
    case ES_TYPE_INT16:
    case ES_TYPE_INT32:
    case ES_TYPE_INT64:
    case ES_TYPE_DATE32:
    case ES_TYPE_DATE64:
    case ES_TYPE_TIME32:
    case ES_TYPE_TIME64:
    case ES_TYPE_TIMESTAMP:
    case ES_TYPE_DURATION:
        return ES_DOM_INT;
    case ES_TYPE_UINT8:
    case ES_TYPE_UINT16:
    case ES_TYPE_UINT32:
    case ES_TYPE_UINT64:
        return ES_DOM_UINT;
    case ES_TYPE_FLOAT32:
    case ES_TYPE_FLOAT64:
        return ES_DOM_DOUBLE;
    case ES_TYPE_UTF8:
    case ES_TYPE_LARGE_UTF8:
    case ES_TYPE_BINARY:
    case ES_TYPE_LARGE_BINARY:
    case ES_TYPE_FIXED_BINARY:
        return ES_DOM_BYTES;
    case ES_TYPE_DECIMAL128:
        return ES_DOM_DEC;
    default:
        return ES_DOM_NONE;
    }
}

static es_i128 load_i128(const uint8_t *p)
{
    uint64_t lo = es_load_u64(p), hi = es_load_u64(p + 8);
    return (es_i128)(((es_u128)hi << 64) | lo);
}

int es_scalar_cmp(es_domain dom, const es_scalar *a, const es_scalar *b)
{
    switch (dom) {
    case ES_DOM_INT:
        return a->i < b->i ? -1 : a->i > b->i;
    case ES_DOM_UINT:
        return a->u < b->u ? -1 : a->u > b->u;
    case ES_DOM_DOUBLE: {
        /* A total order: NaN equals NaN and is above every number, +Infinity included; -0.0
         * equals 0.0 (PostgreSQL's and DuckDB's rule, and the SQL layer's). */
        int na = a->d != a->d, nb = b->d != b->d;
        if (na | nb)
            return na - nb;
        return a->d < b->d ? -1 : a->d > b->d;
    }
    case ES_DOM_BYTES: {
        int64_t n = a->len < b->len ? a->len : b->len;
        int c = n > 0 ? memcmp(a->p, b->p, (size_t)n) : 0;
        if (c)
            return c < 0 ? -1 : 1;
        return a->len < b->len ? -1 : a->len > b->len;
    }
    case ES_DOM_DEC: {
        es_i128 x = load_i128(a->p), y = load_i128(b->p);
        return x < y ? -1 : x > y;
    }
    default:
        return 0;
    }
}

/* ------------------------------------------------------------------ binding */

static es_pred *pred_new(es_pred_kind kind)
{
    es_pred *p = es_calloc(1, sizeof(*p));
    if (p)
        p->kind = kind;
    return p;
}

void es_pred_free(es_pred *p)
{
    if (!p)
        return;
    for (int64_t i = 0; i < p->n_kids; i++)
        es_pred_free(p->kids[i]);
    es_free(p->kids);
    for (int64_t i = 0; i < p->n_vals; i++)
        es_free((void *)p->vals[i].p);
    es_free(p->vals);
    es_free(p);
}

static es_cmp_op negate_op(es_cmp_op op)
{
    switch (op) {
    case ES_EQ:
        return ES_NE;
    case ES_NE:
        return ES_EQ;
    case ES_LT:
        return ES_GE;
    case ES_LE:
        return ES_GT;
    case ES_GT:
        return ES_LE;
    default:
        return ES_LT;
    }
}

/* How a literal relates to the values of a column's domain after conversion. */
typedef enum lit_rel {
    LIT_EXACT = 0, /* equal to a domain value (in lit) */
    LIT_BETWEEN,   /* strictly between lo and hi, either may be absent (below/above all) */
    LIT_NULL       /* the NULL literal: never TRUE */
} lit_rel;

typedef struct lit_conv {
    lit_rel rel;
    es_scalar lit;      /* LIT_EXACT */
    int has_lo, has_hi; /* LIT_BETWEEN: largest domain value below, smallest above */
    es_scalar lo, hi;
    uint8_t dec[3][16]; /* storage for decimal scalars */
} lit_conv;

static void store_i128(uint8_t *p, es_i128 v)
{
    es_u128 u = (es_u128)v;
    es_store_u64(p, (uint64_t)u);
    es_store_u64(p + 8, (uint64_t)(u >> 64));
}

/* Integer domains for a double literal d. */
static void conv_double_to_int(lit_conv *c, double d, int is_unsigned)
{
    double lo_lim = is_unsigned ? 0.0 : -9223372036854775808.0;
    double hi_lim = is_unsigned ? 18446744073709551616.0 : 9223372036854775808.0;
    double f = floor(d), cl = ceil(d);
    if (f == d && d >= lo_lim && d < hi_lim) {
        c->rel = LIT_EXACT;
        if (is_unsigned)
            c->lit.u = (uint64_t)d;
        else
            c->lit.i = (int64_t)d;
        return;
    }
    c->rel = LIT_BETWEEN;
    /* lower neighbour: floor(d) clamped, exists when floor(d) >= lo_lim */
    if (f >= lo_lim) {
        c->has_lo = 1;
        if (f >= hi_lim) {
            if (is_unsigned)
                c->lo.u = UINT64_MAX;
            else
                c->lo.i = INT64_MAX;
        } else if (is_unsigned) {
            c->lo.u = (uint64_t)f;
        } else {
            c->lo.i = (int64_t)f;
        }
    }
    if (cl < hi_lim) {
        c->has_hi = 1;
        if (cl < lo_lim) {
            if (is_unsigned)
                c->hi.u = 0;
            else
                c->hi.i = INT64_MIN;
        } else if (is_unsigned) {
            c->hi.u = (uint64_t)cl;
        } else {
            c->hi.i = (int64_t)cl;
        }
    }
}

static es_status convert_literal(lit_conv *c, const es_value *v, const es_type *t, es_domain dom,
                                 const char *col, es_error *err)
{
    memset(c, 0, sizeof(*c));
    if (v->kind == ES_VALUE_NULL) {
        c->rel = LIT_NULL;
        return ES_OK;
    }
    if (v->kind == ES_VALUE_DOUBLE && isnan(v->d) && dom != ES_DOM_DOUBLE) {
        /* NaN is above every number: above every value of an integer or decimal column. */
        if (dom == ES_DOM_INT || dom == ES_DOM_UINT || dom == ES_DOM_DEC) {
            c->rel = LIT_BETWEEN;
            c->has_lo = 1;
            c->lo.i = INT64_MAX;
            c->lo.u = UINT64_MAX;
            store_i128(c->dec[1], (es_i128)(~(es_u128)0 >> 1));
            c->lo.p = c->dec[1];
            c->lo.len = 16;
            return ES_OK;
        }
    }
    switch (dom) {
    case ES_DOM_INT:
        if (v->kind == ES_VALUE_INT) {
            c->rel = LIT_EXACT;
            c->lit.i = v->i;
            return ES_OK;
        }
        if (v->kind == ES_VALUE_DOUBLE) {
            conv_double_to_int(c, v->d, 0);
            return ES_OK;
        }
        break;
    case ES_DOM_UINT:
        if (v->kind == ES_VALUE_INT) {
            if (v->i >= 0) {
                c->rel = LIT_EXACT;
                c->lit.u = (uint64_t)v->i;
            } else {
                c->rel = LIT_BETWEEN;
                c->has_hi = 1;
                c->hi.u = 0;
            }
            return ES_OK;
        }
        if (v->kind == ES_VALUE_DOUBLE) {
            conv_double_to_int(c, v->d, 1);
            return ES_OK;
        }
        break;
    case ES_DOM_DOUBLE:
        if (v->kind == ES_VALUE_INT || v->kind == ES_VALUE_DOUBLE) {
            c->rel = LIT_EXACT;
            c->lit.d = v->kind == ES_VALUE_INT ? (double)v->i : v->d;
            return ES_OK;
        }
        break;
    case ES_DOM_BYTES:
        if (v->kind == ES_VALUE_BYTES) {
            if (t->id == ES_TYPE_FIXED_BINARY && v->len != t->byte_width) {
                /* A fixed-size value of another width: compare as bytes all the same. */
            }
            c->rel = LIT_EXACT;
            c->lit.p = v->bytes;
            c->lit.len = v->len;
            return ES_OK;
        }
        break;
    case ES_DOM_DEC: {
        es_i128 scale = 1;
        for (int k = 0; k < t->scale && k < 38; k++)
            scale *= 10;
        if (v->kind == ES_VALUE_INT) {
            es_i128 x = (es_i128)v->i * scale;
            c->rel = LIT_EXACT;
            store_i128(c->dec[0], x);
            c->lit.p = c->dec[0];
            c->lit.len = 16;
            return ES_OK;
        }
        if (v->kind == ES_VALUE_DOUBLE && isinf(v->d)) {
            /* Above or below every decimal. */
            c->rel = LIT_BETWEEN;
            es_i128 big = (es_i128)(~(es_u128)0 >> 1);
            store_i128(c->dec[1], big);
            store_i128(c->dec[2], -big - 1);
            c->has_lo = v->d > 0;
            c->has_hi = v->d < 0;
            c->lo.p = c->dec[1];
            c->hi.p = c->dec[2];
            c->lo.len = c->hi.len = 16;
            return ES_OK;
        }
        if (v->kind == ES_VALUE_DOUBLE) {
            double x = v->d * (double)scale;
            if (fabs(x) >= 1.7e38)
                return es_error_set(err, ES_INVALID, 0, "%s: literal %g out of decimal range", col,
                                    v->d);
            double f = floor(x);
            if (f == x) {
                c->rel = LIT_EXACT;
                store_i128(c->dec[0], (es_i128)x);
                c->lit.p = c->dec[0];
                c->lit.len = 16;
            } else {
                c->rel = LIT_BETWEEN;
                c->has_lo = c->has_hi = 1;
                store_i128(c->dec[1], (es_i128)f);
                store_i128(c->dec[2], (es_i128)f + 1);
                c->lo.p = c->dec[1];
                c->hi.p = c->dec[2];
                c->lo.len = c->hi.len = 16;
            }
            return ES_OK;
        }
        break;
    }
    default:
        break;
    }
    char tn[64];
    es_type_name(tn, sizeof(tn), t);
    return es_error_set(err, ES_INVALID, 0, "%s: literal of the wrong kind for a %s column", col,
                        tn);
}

static es_status scalar_dup(es_scalar *dst, const es_scalar *src, es_domain dom)
{
    *dst = *src;
    dst->p = NULL;
    if (dom == ES_DOM_BYTES || dom == ES_DOM_DEC) {
        uint8_t *p = es_malloc(src->len > 0 ? (size_t)src->len : 1);
        if (!p)
            return ES_NOMEM;
        if (src->len > 0)
            memcpy(p, src->p, (size_t)src->len);
        dst->p = p;
    }
    return ES_OK;
}

static es_pred *leaf_cmp(int64_t col, es_domain dom, es_cmp_op op, const es_scalar *v,
                         es_status *st)
{
    es_pred *p = pred_new(ES_PRED_CMP);
    if (!p || !(p->vals = es_calloc(1, sizeof(es_scalar))) || scalar_dup(p->vals, v, dom)) {
        es_pred_free(p);
        *st = ES_NOMEM;
        return NULL;
    }
    p->n_vals = 1;
    p->col = col;
    p->dom = dom;
    p->op = op;
    return p;
}

static es_pred *leaf_simple(es_pred_kind kind, int64_t col, es_status *st)
{
    es_pred *p = pred_new(kind);
    if (!p)
        *st = ES_NOMEM;
    else
        p->col = col;
    return p;
}

/* A comparison `col op lit` after negation was applied to op. */
static es_pred *bind_cmp(int64_t col, es_domain dom, es_cmp_op op, const lit_conv *c, es_status *st)
{
    if (c->rel == LIT_NULL)
        return leaf_simple(ES_PRED_FALSE, col, st);
    if (c->rel == LIT_EXACT)
        return leaf_cmp(col, dom, op, &c->lit, st);
    switch (op) {
    case ES_EQ:
        return leaf_simple(ES_PRED_FALSE, col, st);
    case ES_NE:
        return leaf_simple(ES_PRED_NOTNULL, col, st);
    case ES_LT:
    case ES_LE:
        return c->has_lo ? leaf_cmp(col, dom, ES_LE, &c->lo, st)
                         : leaf_simple(ES_PRED_FALSE, col, st);
    default:
        return c->has_hi ? leaf_cmp(col, dom, ES_GE, &c->hi, st)
                         : leaf_simple(ES_PRED_FALSE, col, st);
    }
}

/* The operands of an n-ary AND or OR being bound. */
typedef struct kid_list {
    es_pred **v;
    int64_t n, cap;
} kid_list;

static void kids_free(kid_list *l)
{
    for (int64_t i = 0; i < l->n; i++)
        es_pred_free(l->v[i]);
    es_free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

/* Append p (taken over; NULL: a failure already recorded in *st). 0 or -1. */
static int kids_add(kid_list *l, es_pred *p, es_status *st)
{
    if (!p)
        return -1;
    if (l->n == l->cap) {
        int64_t cap = l->cap ? l->cap * 2 : 4;
        es_pred **nv = es_realloc(l->v, sizeof(*nv) * (size_t)cap);
        if (!nv) {
            es_pred_free(p);
            *st = ES_NOMEM;
            return -1;
        }
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = p;
    return 0;
}

/* AND or OR of the operands in l (taken over), with constant folding: it keeps pruning and
 * evaluation simple. */
static es_pred *combine(es_pred_kind kind, kid_list *l, es_status *st)
{
    es_pred_kind unit = kind == ES_PRED_AND ? ES_PRED_TRUE : ES_PRED_FALSE;
    es_pred_kind zero = kind == ES_PRED_AND ? ES_PRED_FALSE : ES_PRED_TRUE;
    for (int64_t i = 0; i < l->n; i++) {
        if (l->v[i]->kind == zero) {
            es_pred *z = l->v[i];
            l->v[i] = NULL;
            kids_free(l);
            return z;
        }
    }
    int64_t k = 0;
    for (int64_t i = 0; i < l->n; i++) {
        if (l->v[i]->kind == unit)
            es_pred_free(l->v[i]);
        else
            l->v[k++] = l->v[i];
    }
    l->n = k;
    if (k == 0) {
        kids_free(l);
        es_pred *p = pred_new(unit);
        if (!p)
            *st = ES_NOMEM;
        return p;
    }
    if (k == 1) {
        es_pred *p = l->v[0];
        l->n = 0;
        kids_free(l);
        return p;
    }
    es_pred *p = pred_new(kind);
    if (!p) {
        kids_free(l);
        *st = ES_NOMEM;
        return NULL;
    }
    p->kids = l->v;
    p->n_kids = k;
    l->v = NULL;
    l->n = l->cap = 0;
    return p;
}

/* Two operands (BETWEEN's comparisons). */
static es_pred *combine2(es_pred_kind kind, es_pred *a, es_pred *b, es_status *st)
{
    kid_list l = {NULL, 0, 0};
    if (!a || !b) {
        es_pred_free(a);
        es_pred_free(b);
        return NULL;
    }
    if (kids_add(&l, a, st) < 0) {
        es_pred_free(b);
        return NULL;
    }
    if (kids_add(&l, b, st) < 0) {
        kids_free(&l);
        return NULL;
    }
    return combine(kind, &l, st);
}

static es_pred *bind_rec(const es_expr *e, int neg, const es_pred_column *cols, int64_t n,
                         int depth, es_status *st, es_error *err);

static int scalar_order(const void *a, const void *b, void *dom)
{
    return es_scalar_cmp(*(const es_domain *)dom, a, b);
}

static es_pred *bind_in(const es_expr *e, int neg, int64_t col, const es_type *t, es_domain dom,
                        es_status *st, es_error *err)
{
    int has_null = 0;
    es_pred *p = pred_new(neg ? ES_PRED_NOTIN : ES_PRED_IN);
    if (!p || (e->n_vals > 0 && !(p->vals = es_calloc((size_t)e->n_vals, sizeof(es_scalar))))) {
        es_pred_free(p);
        *st = ES_NOMEM;
        return NULL;
    }
    p->col = col;
    p->dom = dom;
    for (int64_t i = 0; i < e->n_vals; i++) {
        lit_conv c;
        es_status s = convert_literal(&c, &e->vals[i], t, dom, e->column, err);
        if (s) {
            *st = s;
            es_pred_free(p);
            return NULL;
        }
        if (c.rel == LIT_NULL) {
            has_null = 1;
            continue;
        }
        if (c.rel != LIT_EXACT)
            continue; /* can never be equal */
        if (scalar_dup(&p->vals[p->n_vals], &c.lit, dom)) {
            *st = ES_NOMEM;
            es_pred_free(p);
            return NULL;
        }
        p->n_vals++;
    }
    if (neg && has_null) {
        /* x NOT IN (..., NULL) is never TRUE. */
        es_pred_free(p);
        return leaf_simple(ES_PRED_FALSE, col, st);
    }
    if (!neg && p->n_vals == 0) {
        es_pred_free(p);
        return leaf_simple(ES_PRED_FALSE, col, st);
    }
    if (neg && p->n_vals == 0) {
        es_pred_free(p);
        return leaf_simple(ES_PRED_NOTNULL, col, st);
    }
    /* Sorted, so that evaluation looks a value up by binary search (long generated lists). */
    qsort_r(p->vals, (size_t)p->n_vals, sizeof(es_scalar), scalar_order, &p->dom);
    return p;
}

/* Is e (under negation neg) an AND (1), an OR (0), or neither (-1)? */
static int junction(const es_expr *e, int neg)
{
    if (e->kind != ES_EXPR_AND && e->kind != ES_EXPR_OR)
        return -1;
    return (e->kind == ES_EXPR_AND) != neg;
}

/* An AND or OR and every operand below it that is the same junction after negations are pushed
 * down, as one n-ary predicate: a chain of any length and shape is walked with a stack of our
 * own, and only a change of junction recurses (depth counts those). */
static es_pred *bind_junction(const es_expr *e, int neg, const es_pred_column *cols, int64_t n,
                              int depth, es_status *st, es_error *err)
{
    int is_and = junction(e, neg);
    typedef struct item {
        const es_expr *e;
        int neg;
    } item;
    item *stack = NULL;
    int64_t top = 0, cap = 0;
    kid_list kids = {NULL, 0, 0};
    const es_expr *cur = e;
    int cneg = neg;
    for (;;) {
        if (cur) {
            while (cur->kind == ES_EXPR_NOT)
                cur = cur->a, cneg = !cneg;
            if (junction(cur, cneg) == is_and) {
                /* Visit a now and b later: operands keep their order. */
                if (top == cap) {
                    int64_t nc = cap ? cap * 2 : 16;
                    item *ns = es_realloc(stack, sizeof(*ns) * (size_t)nc);
                    if (!ns) {
                        *st = ES_NOMEM;
                        goto fail;
                    }
                    stack = ns;
                    cap = nc;
                }
                stack[top++] = (item){cur->b, cneg};
                cur = cur->a;
                continue;
            }
            if (kids_add(&kids, bind_rec(cur, cneg, cols, n, depth + 1, st, err), st) < 0)
                goto fail;
        }
        if (top == 0)
            break;
        top--;
        cur = stack[top].e;
        cneg = stack[top].neg;
    }
    es_free(stack);
    return combine(is_and ? ES_PRED_AND : ES_PRED_OR, &kids, st);
fail:
    es_free(stack);
    kids_free(&kids);
    return NULL;
}

static es_pred *bind_rec(const es_expr *e, int neg, const es_pred_column *cols, int64_t n,
                         int depth, es_status *st, es_error *err)
{
    while (e->kind == ES_EXPR_NOT)
        e = e->a, neg = !neg;
    if (e->kind == ES_EXPR_AND || e->kind == ES_EXPR_OR) {
        if (depth >= ES_EXPR_MAX_DEPTH) {
            *st = es_error_set(err, ES_INVALID, 0, "predicate nested too deeply (limit %d)",
                               ES_EXPR_MAX_DEPTH);
            return NULL;
        }
        return bind_junction(e, neg, cols, n, depth, st, err);
    }
    int64_t col = -1;
    for (int64_t i = 0; i < n; i++) {
        if (strcmp(cols[i].name, e->column) == 0) {
            col = i;
            break;
        }
    }
    if (col < 0) {
        *st = es_error_set(err, ES_INVALID, 0, "no column '%s'", e->column);
        return NULL;
    }
    const es_type *t = &cols[col].type;
    es_domain dom = es_expr_domain(t->id);
    if (e->kind == ES_EXPR_IS_NULL || e->kind == ES_EXPR_IS_NOT_NULL) {
        int isnull = (e->kind == ES_EXPR_IS_NULL) != neg;
        return leaf_simple(isnull ? ES_PRED_ISNULL : ES_PRED_NOTNULL, col, st);
    }
    if (dom == ES_DOM_NONE) {
        *st = es_error_set(err, ES_INVALID, 0, "%s: column cannot be compared", e->column);
        return NULL;
    }
    if (e->kind == ES_EXPR_IN)
        return bind_in(e, neg, col, t, dom, st, err);
    if (e->kind == ES_EXPR_CMP) {
        if (e->n_vals != 1) {
            *st = es_error_set(err, ES_INVALID, 0, "%s: malformed comparison", e->column);
            return NULL;
        }
        lit_conv c;
        es_status s = convert_literal(&c, &e->vals[0], t, dom, e->column, err);
        if (s) {
            *st = s;
            return NULL;
        }
        return bind_cmp(col, dom, neg ? negate_op(e->op) : e->op, &c, st);
    }
    if (e->kind == ES_EXPR_BETWEEN) {
        lit_conv lo, hi;
        es_status s = convert_literal(&lo, &e->vals[0], t, dom, e->column, err);
        if (!s)
            s = convert_literal(&hi, &e->vals[1], t, dom, e->column, err);
        if (s) {
            *st = s;
            return NULL;
        }
        /* lo <= x AND x <= hi; negated: x < lo OR x > hi. */
        es_pred *a = bind_cmp(col, dom, neg ? ES_LT : ES_GE, &lo, st);
        if (!a)
            return NULL;
        es_pred *b = bind_cmp(col, dom, neg ? ES_GT : ES_LE, &hi, st);
        return combine2(neg ? ES_PRED_OR : ES_PRED_AND, a, b, st);
    }
    *st = es_error_set(err, ES_INVALID, 0, "malformed expression");
    return NULL;
}

es_status es_pred_bind(es_pred **out, const es_expr *e, const es_pred_column *cols, int64_t n,
                       es_error *err)
{
    *out = NULL;
    if (e == &failed_expr)
        return es_error_set(err, ES_INVALID, 0,
                            "predicate: an es_expr_* call failed (a bad argument, or out of "
                            "memory)");
    if (!e) {
        *out = pred_new(ES_PRED_TRUE);
        return *out ? ES_OK : es_error_set(err, ES_NOMEM, 0, "predicate: out of memory");
    }
    es_status st = ES_OK;
    es_pred *p = bind_rec(e, 0, cols, n, 0, &st, err);
    if (!p) {
        if (st == ES_OK || st == ES_NOMEM)
            st = es_error_set(err, ES_NOMEM, 0, "predicate: out of memory");
        return st;
    }
    *out = p;
    return ES_OK;
}

es_pred *es_pred_copy(const es_pred *p)
{
    if (!p)
        return NULL;
    es_pred *c = pred_new(p->kind);
    if (!c)
        return NULL;
    c->op = p->op;
    c->col = p->col;
    c->dom = p->dom;
    if (p->n_vals > 0) {
        c->vals = es_calloc((size_t)p->n_vals, sizeof(es_scalar));
        if (!c->vals) {
            es_pred_free(c);
            return NULL;
        }
        for (int64_t i = 0; i < p->n_vals; i++) {
            if (scalar_dup(&c->vals[i], &p->vals[i], p->dom)) {
                es_pred_free(c);
                return NULL;
            }
            c->n_vals = i + 1;
        }
    }
    if (p->n_kids > 0) {
        if (!(c->kids = es_calloc((size_t)p->n_kids, sizeof(es_pred *)))) {
            es_pred_free(c);
            return NULL;
        }
        for (int64_t i = 0; i < p->n_kids; i++) {
            if (!(c->kids[i] = es_pred_copy(p->kids[i]))) {
                es_pred_free(c);
                return NULL;
            }
            c->n_kids = i + 1;
        }
    }
    return c;
}

es_pred *es_pred_and(es_pred *a, es_pred *b)
{
    es_status st = ES_OK;
    return combine2(ES_PRED_AND, a, b, &st);
}

es_pred *es_pred_range(int64_t col, es_domain dom, const es_scalar *lo, const es_scalar *hi)
{
    es_status st = ES_OK;
    es_pred *a = leaf_cmp(col, dom, ES_GE, lo, &st);
    es_pred *b = a ? leaf_cmp(col, dom, ES_LE, hi, &st) : NULL;
    return combine2(ES_PRED_AND, a, b, &st);
}

void es_pred_columns(const es_pred *p, uint8_t *used)
{
    if (!p)
        return;
    switch (p->kind) {
    case ES_PRED_TRUE:
    case ES_PRED_FALSE:
        return;
    case ES_PRED_AND:
    case ES_PRED_OR:
        for (int64_t i = 0; i < p->n_kids; i++)
            es_pred_columns(p->kids[i], used);
        return;
    default:
        used[p->col] = 1;
    }
}

/* ------------------------------------------------------------------ pruning */

/* Is x in the (sorted) list of an IN predicate? */
static int in_list(const es_pred *p, const es_scalar *x)
{
    int64_t lo = 0, hi = p->n_vals;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int c = es_scalar_cmp(p->dom, &p->vals[mid], x);
        if (c == 0)
            return 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

static int cmp_may_match(const es_pred *p, const es_pred_stats *s)
{
    if (!s->known)
        return 1;
    if (s->null_count >= s->rows)
        return 0; /* all null: no comparison is TRUE */
    const es_scalar *v = &p->vals[0];
    int lo = s->has_min ? es_scalar_cmp(p->dom, &s->min, v) : -1; /* min vs v */
    int hi = s->has_max ? es_scalar_cmp(p->dom, &s->max, v) : 1;  /* max vs v */
    switch (p->op) {
    case ES_EQ:
        return lo <= 0 && hi >= 0;
    case ES_NE:
        /* all values equal v only when min == max == v */
        return !(s->has_min && s->has_max && lo == 0 && hi == 0);
    case ES_LT:
        return lo < 0;
    case ES_LE:
        return lo <= 0;
    case ES_GT:
        return hi > 0;
    default:
        return hi >= 0;
    }
}

int es_pred_may_match(const es_pred *p, const es_pred_stats *stats)
{
    switch (p->kind) {
    case ES_PRED_TRUE:
        return 1;
    case ES_PRED_FALSE:
        return 0;
    case ES_PRED_AND:
        for (int64_t i = 0; i < p->n_kids; i++)
            if (!es_pred_may_match(p->kids[i], stats))
                return 0;
        return 1;
    case ES_PRED_OR:
        for (int64_t i = 0; i < p->n_kids; i++)
            if (es_pred_may_match(p->kids[i], stats))
                return 1;
        return 0;
    case ES_PRED_ISNULL: {
        const es_pred_stats *s = &stats[p->col];
        return !s->known || s->null_count > 0;
    }
    case ES_PRED_NOTNULL: {
        const es_pred_stats *s = &stats[p->col];
        return !s->known || s->null_count < s->rows;
    }
    case ES_PRED_CMP:
        return cmp_may_match(p, &stats[p->col]);
    case ES_PRED_IN: {
        const es_pred_stats *s = &stats[p->col];
        if (!s->known)
            return 1;
        if (s->null_count >= s->rows)
            return 0;
        /* The values are sorted: the first one not below min must not be above max. */
        int64_t lo = 0, hi = p->n_vals;
        while (s->has_min && lo < hi) {
            int64_t mid = lo + (hi - lo) / 2;
            if (es_scalar_cmp(p->dom, &p->vals[mid], &s->min) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo < p->n_vals && (!s->has_max || es_scalar_cmp(p->dom, &p->vals[lo], &s->max) <= 0);
    }
    case ES_PRED_NOTIN: {
        const es_pred_stats *s = &stats[p->col];
        if (!s->known)
            return 1;
        if (s->null_count >= s->rows)
            return 0;
        if (s->has_min && s->has_max && es_scalar_cmp(p->dom, &s->min, &s->max) == 0)
            return !in_list(p, &s->min);
        return 1;
    }
    }
    return 1;
}

/* --------------------------------------------------------------- evaluation */

void es_scalar_from_view(es_scalar *out, es_domain dom, const es_array_view *v, int64_t i)
{
    switch (dom) {
    case ES_DOM_INT:
        out->i = es_view_get_int(v, i);
        break;
    case ES_DOM_UINT:
        out->u = es_view_get_uint(v, i);
        break;
    case ES_DOM_DOUBLE:
        out->d = es_view_get_double(v, i);
        break;
    case ES_DOM_BYTES:
    case ES_DOM_DEC:
        out->p = es_view_get_bytes(v, i, &out->len);
        break;
    default:
        break;
    }
}

static int cmp_result(es_cmp_op op, int c)
{
    switch (op) {
    case ES_EQ:
        return c == 0;
    case ES_NE:
        return c != 0;
    case ES_LT:
        return c < 0;
    case ES_LE:
        return c <= 0;
    case ES_GT:
        return c > 0;
    default:
        return c >= 0;
    }
}

/* sel[i] = vals[i] OP lit for every row, branch-free so that it vectorises. Values are read
 * with memcpy: arrays from callers need not be aligned. Integers only: doubles are below. */
#define CMP_KERNEL(T, LIT)                                                                         \
    do {                                                                                           \
        const uint8_t *base = v->values;                                                           \
        const T lit = (T)(LIT);                                                                    \
        switch (p->op) {                                                                           \
        case ES_EQ:                                                                                \
            CMP_LOOP(T, a == lit);                                                                 \
            break;                                                                                 \
        case ES_NE:                                                                                \
            CMP_LOOP(T, (a < lit) | (a > lit));                                                    \
            break;                                                                                 \
        case ES_LT:                                                                                \
            CMP_LOOP(T, a < lit);                                                                  \
            break;                                                                                 \
        case ES_LE:                                                                                \
            CMP_LOOP(T, a <= lit);                                                                 \
            break;                                                                                 \
        case ES_GT:                                                                                \
            CMP_LOOP(T, a > lit);                                                                  \
            break;                                                                                 \
        default:                                                                                   \
            CMP_LOOP(T, a >= lit);                                                                 \
            break;                                                                                 \
        }                                                                                          \
    } while (0)
#define CMP_LOOP(T, EXPR)                                                                          \
    for (int64_t i = 0; i < rows; i++) {                                                           \
        T a;                                                                                       \
        memcpy(&a, base + (size_t)i * sizeof(T), sizeof(T));                                       \
        sel[i] = (uint8_t)(EXPR);                                                                  \
    }

/* The same over float64 values, in the total order of es_scalar_cmp (NaN = NaN, NaN above
 * every number). */
static void cmp_double(const es_pred *p, const es_array_view *v, int64_t rows, uint8_t *sel)
{
    const uint8_t *base = v->values;
    const double lit = p->vals[0].d;
    const int ln = lit != lit;
    switch (p->op) {
    case ES_EQ:
        CMP_LOOP(double, (a == lit) | ((a != a) & ln));
        break;
    case ES_NE:
        CMP_LOOP(double, !((a == lit) | ((a != a) & ln)));
        break;
    case ES_LT:
        CMP_LOOP(double, (a < lit) | ((a == a) & ln));
        break;
    case ES_LE:
        CMP_LOOP(double, (a <= lit) | ln);
        break;
    case ES_GT:
        CMP_LOOP(double, (a > lit) | ((a != a) & !ln));
        break;
    default:
        CMP_LOOP(double, (a >= lit) | (a != a));
        break;
    }
}

/* Column-vs-literal comparison over a fixed-width integer or float column: typed loops, then
 * nulls cleared from the validity bitmap. Returns 0 (nothing done) for other columns. */
static int cmp_fixed(const es_pred *p, const es_array_view *v, int64_t rows, uint8_t *sel)
{
    int w = v->type.byte_width;
    if (!v->values || v->type.id == ES_TYPE_BOOL || v->type.id == ES_TYPE_DECIMAL128 ||
        v->type.id == ES_TYPE_FIXED_BINARY)
        return 0;
    if (p->dom == ES_DOM_INT && w == 8)
        CMP_KERNEL(int64_t, p->vals[0].i);
    else if (p->dom == ES_DOM_INT && w == 4 && p->vals[0].i == (int32_t)p->vals[0].i)
        CMP_KERNEL(int32_t, p->vals[0].i);
    else if (p->dom == ES_DOM_DOUBLE && v->type.id == ES_TYPE_FLOAT64)
        cmp_double(p, v, rows, sel);
    else
        return 0;
    if (v->validity && v->null_count != 0)
        for (int64_t i = 0; i < rows; i++)
            sel[i] &= (uint8_t)((v->validity[(v->offset + i) >> 3] >> ((v->offset + i) & 7)) & 1);
    return 1;
}

static es_status eval_rec(const es_pred *p, const es_array_view *const *views, int64_t rows,
                          uint8_t *sel, es_error *err)
{
    switch (p->kind) {
    case ES_PRED_TRUE:
        memset(sel, 1, (size_t)rows);
        return ES_OK;
    case ES_PRED_FALSE:
        memset(sel, 0, (size_t)rows);
        return ES_OK;
    case ES_PRED_AND:
    case ES_PRED_OR: {
        uint8_t *tmp = es_malloc(rows > 0 ? (size_t)rows : 1);
        if (!tmp)
            return es_error_set(err, ES_NOMEM, 0, "predicate: out of memory");
        es_status st = eval_rec(p->kids[0], views, rows, sel, err);
        /* Operand by operand; stop when every row is decided (all 0 for AND, all 1 for OR). */
        for (int64_t k = 1; !st && k < p->n_kids; k++) {
            uint8_t any = 0, all = 1;
            for (int64_t i = 0; i < rows; i++)
                any |= sel[i], all &= sel[i];
            if (p->kind == ES_PRED_AND ? !any : all)
                break;
            st = eval_rec(p->kids[k], views, rows, tmp, err);
            if (st)
                break;
            if (p->kind == ES_PRED_AND)
                for (int64_t i = 0; i < rows; i++)
                    sel[i] &= tmp[i];
            else
                for (int64_t i = 0; i < rows; i++)
                    sel[i] |= tmp[i];
        }
        es_free(tmp);
        return st;
    }
    default:
        break;
    }
    const es_array_view *v = views[p->col];
    if (!v)
        return es_error_set(err, ES_INTERNAL, 0, "predicate column %lld not decoded",
                            (long long)p->col);
    if (p->kind == ES_PRED_ISNULL || p->kind == ES_PRED_NOTNULL) {
        uint8_t want = p->kind == ES_PRED_ISNULL;
        for (int64_t i = 0; i < rows; i++)
            sel[i] = es_view_is_null(v, i) == want;
        return ES_OK;
    }
    if (p->kind == ES_PRED_CMP && cmp_fixed(p, v, rows, sel))
        return ES_OK;
    es_scalar x;
    memset(&x, 0, sizeof(x));
    if (p->dom == ES_DOM_BYTES && v->offsets32 && v->values) {
        /* utf8 and binary: each value's bytes straight from the offsets; = and <> compare the
         * lengths, then the last bytes (values often share a prefix), then the bytes. */
        const int32_t *o = v->offsets32;
        const es_scalar *lit = &p->vals[0];
        int eqne = p->kind == ES_PRED_CMP && (p->op == ES_EQ || p->op == ES_NE);
        for (int64_t i = 0; i < rows; i++) {
            int64_t b = v->offset + i;
            if (v->validity && !((v->validity[b >> 3] >> (b & 7)) & 1)) {
                sel[i] = 0;
                continue;
            }
            x.p = v->values + o[i];
            x.len = o[i + 1] - o[i];
            if (eqne)
                sel[i] = (uint8_t)((x.len == lit->len &&
                                    (x.len == 0 || (x.p[x.len - 1] == lit->p[x.len - 1] &&
                                                    memcmp(x.p, lit->p, (size_t)x.len) == 0))) ==
                                   (p->op == ES_EQ));
            else if (p->kind == ES_PRED_CMP)
                sel[i] = (uint8_t)cmp_result(p->op, es_scalar_cmp(p->dom, &x, lit));
            else
                sel[i] = (uint8_t)(in_list(p, &x) == (p->kind == ES_PRED_IN));
        }
        return ES_OK;
    }
    for (int64_t i = 0; i < rows; i++) {
        if (es_view_is_null(v, i)) {
            sel[i] = 0;
            continue;
        }
        es_scalar_from_view(&x, p->dom, v, i);
        if (p->kind == ES_PRED_CMP)
            sel[i] = (uint8_t)cmp_result(p->op, es_scalar_cmp(p->dom, &x, &p->vals[0]));
        else if (p->kind == ES_PRED_IN)
            sel[i] = (uint8_t)in_list(p, &x);
        else
            sel[i] = (uint8_t)!in_list(p, &x);
    }
    return ES_OK;
}

es_status es_pred_eval(const es_pred *p, const es_array_view *const *views, int64_t rows,
                       uint8_t *sel, es_error *err)
{
    return eval_rec(p, views, rows, sel, err);
}
