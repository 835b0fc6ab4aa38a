/*
 * expr (internal): predicates. The public es_expr tree (es_expr_* in expstore.h) is bound to a
 * table's columns here: negations are pushed down to the leaves (negation normal form),
 * BETWEEN becomes two comparisons, literals are converted to the column's value domain, and
 * comparisons that can never be TRUE collapse to constants. A bound predicate (es_pred) is
 * then evaluated two ways: conservatively against min/max statistics (may any row match?) and
 * exactly against decoded rows. Sits above part (statistics) and below scan.
 *
 * SQL three-valued logic: a row is returned when the predicate is TRUE. In negation normal
 * form AND and OR are monotone, so "TRUE" can be computed with UNKNOWN treated as FALSE at
 * each leaf: a comparison with a NULL value or literal is never TRUE.
 */
#ifndef ES_EXPR_H
#define ES_EXPR_H

#include "expstore/expstore.h"
#include "util/util.h"

struct es_expr {
    es_expr_kind kind;
    es_cmp_op op;
    char *column;
    es_value *vals; /* cmp: 1, between: 2, in: n_vals; bytes owned */
    int64_t n_vals;
    es_expr *a, *b;
};

/** Value domains: how the values of a column compare. */
typedef enum es_domain {
    ES_DOM_INT = 0, /* bool, signed integers, dates, times, timestamps, durations */
    ES_DOM_UINT,    /* unsigned integers */
    ES_DOM_DOUBLE,  /* float32, float64 */
    ES_DOM_BYTES,   /* utf8, binary (and large), fixed-size binary: memcmp order */
    ES_DOM_DEC,     /* decimal128: 16 bytes little-endian two's complement */
    ES_DOM_NONE     /* not comparable (null type) */
} es_domain;

/** A scalar of some domain. p points into storage owned by someone else (see users). */
typedef struct es_scalar {
    int64_t i;
    uint64_t u;
    double d;
    const uint8_t *p; /* bytes, decimal (16 bytes) */
    int64_t len;
} es_scalar;

es_domain es_expr_domain(es_type_id id);
/** 1 when e is NULL or what an es_expr_* constructor returns when it fails (a bad argument or
 * out of memory: never NULL, so that no failed predicate reads as "every row"). */
int es_expr_failed(const es_expr *e);
/** Compare two scalars of one domain: <0, 0, >0. */
int es_scalar_cmp(es_domain dom, const es_scalar *a, const es_scalar *b);

typedef enum es_pred_kind {
    ES_PRED_TRUE = 0,
    ES_PRED_FALSE,
    ES_PRED_CMP,     /* col op vals[0] */
    ES_PRED_IN,      /* col in vals */
    ES_PRED_NOTIN,   /* col not null and not in vals */
    ES_PRED_ISNULL,  /* col is null */
    ES_PRED_NOTNULL, /* col is not null */
    ES_PRED_AND,
    ES_PRED_OR
} es_pred_kind;

typedef struct es_pred es_pred;
struct es_pred {
    es_pred_kind kind;
    es_cmp_op op;
    int64_t col; /* index in the columns array given to es_pred_bind */
    es_domain dom;
    es_scalar *vals; /* bytes owned by the predicate */
    int64_t n_vals;
    es_pred **kids; /* AND, OR: n_kids >= 2 operands, owned */
    int64_t n_kids;
};

/** A column as the binder sees it. */
typedef struct es_pred_column {
    const char *name;
    es_type type;
} es_pred_column;

/** The deepest nesting es_pred_bind accepts, counted in changes between AND and OR (a chain of
 * one junction is one level however long, NOT is free): ES_INVALID beyond it, so that the
 * recursive passes over a bound predicate stay within a small stack. */
#define ES_EXPR_MAX_DEPTH 1000

/** Bind `e` against columns[0..n): unknown column or impossible literal -> ES_INVALID. Chains
 * of AND or OR become one n-ary node. */
es_status es_pred_bind(es_pred **out, const es_expr *e, const es_pred_column *cols, int64_t n,
                       es_error *err);
void es_pred_free(es_pred *p);
/** A deep copy (literals copied); NULL when out of memory or p is NULL. */
es_pred *es_pred_copy(const es_pred *p);
/** a AND b, taking both (NULL when either is NULL, which frees the other). */
es_pred *es_pred_and(es_pred *a, es_pred *b);
/** lo <= column col <= hi in domain dom (values copied); NULL when out of memory. */
es_pred *es_pred_range(int64_t col, es_domain dom, const es_scalar *lo, const es_scalar *hi);
/** Mark in used[] (n entries) the columns the predicate reads. */
void es_pred_columns(const es_pred *p, uint8_t *used);

/** Statistics of one column over a set of rows, for pruning. has_min/has_max 0: unknown. */
typedef struct es_pred_stats {
    int known; /* 0: nothing known (never prune on this column) */
    int64_t rows;
    int64_t null_count;
    int has_min, has_max;
    es_scalar min, max;
} es_pred_stats;
/** May any row satisfy `p`, given per-column stats (stats[col])? Conservative: 1 when unsure. */
int es_pred_may_match(const es_pred *p, const es_pred_stats *stats);

/** Read row i of a view as a scalar of domain dom (pointers borrowed from the view). */
void es_scalar_from_view(es_scalar *out, es_domain dom, const es_array_view *v, int64_t i);

/** Evaluate `p` exactly over `rows` rows: views[col] is the decoded column col (only the
 * columns marked by es_pred_columns need be valid). sel[i] is set to 1 when row i is TRUE. */
es_status es_pred_eval(const es_pred *p, const es_array_view *const *views, int64_t rows,
                       uint8_t *sel, es_error *err);

#endif /* ES_EXPR_H */
