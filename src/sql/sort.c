/*
 * sort: ORDER BY, OFFSET and LIMIT on a materialised result (see sql/sql.h for the files,
 * sql/exec.h for the interfaces). Sorts row indices with qsort_r on the key columns (NULLs
 * first ascending and last descending unless NULLS FIRST/LAST says otherwise; NaN above every
 * number; ties keep the input order), then gathers the window [OFFSET, OFFSET + LIMIT) of the
 * visible columns. With a LIMIT, select.c calls sql_sort_keep as rows accumulate, so ORDER BY
 * ... LIMIT k holds about k rows plus a batch, not the whole input (ties are broken by input
 * position, so the rows kept from a prefix are exactly its first ones in the final order).
 * Above it: select.c.
 */
#include <stdlib.h>
#include <string.h>

#include "sql/exec.h"

typedef struct sort_ctx {
    const sql_result *r;
    const sql_order_item *order;
    const int *cols;
    int nkeys;
} sort_ctx;

static int sort_cmp(const void *pa, const void *pb, void *arg)
{
    const sort_ctx *c = arg;
    int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
    for (int k = 0; k < c->nkeys; k++) {
        const sql_vec *v = &c->r->cols[c->cols[k]];
        int desc = c->order[k].desc;
        int nulls_first = c->order[k].nulls ? c->order[k].nulls == 1 : !desc;
        int na = v->nulls[a], nb = v->nulls[b], d = 0;
        if (na || nb) {
            if (na && nb)
                continue;
            return na ? (nulls_first ? -1 : 1) : (nulls_first ? 1 : -1);
        }
        int ph = sql_vec_phys(v);
        if (ph == SQL_PHYS_INT) {
            d = v->i[a] < v->i[b] ? -1 : v->i[a] > v->i[b];
        } else if (ph == SQL_PHYS_DBL) {
            /* NaN after every number (+Infinity included), as one value; -0.0 = 0.0 */
            double x = v->f[a], y = v->f[b];
            int xn = x != x, yn = y != y;
            d = xn | yn ? xn - yn : x < y ? -1 : x > y;
        } else {
            int64_t la, lb;
            const char *sa = sql_vec_str(v, a, &la), *sb = sql_vec_str(v, b, &lb);
            d = memcmp(sa, sb, (size_t)(la < lb ? la : lb));
            if (d == 0)
                d = la < lb ? -1 : la > lb;
            d = d < 0 ? -1 : d > 0;
        }
        if (d)
            return desc ? -d : d;
    }
    return a < b ? -1 : a > b;
}

/* Replace res by its rows idx[0..cnt) (all columns, or the visible ones when drop). */
static int gather(sql_exec *x, const sql_plan *p, sql_result *res, const int64_t *idx, int64_t cnt,
                  int drop)
{
    for (int c = 0; c < p->nout; c++) {
        if (drop && c >= p->nvisible) {
            sql_vec_free(&res->cols[c]);
            es_free(res->names[c]);
            continue;
        }
        sql_vec nv;
        sql_vec_init(&nv, res->cols[c].ty);
        if (sql_vec_append(&nv, &res->cols[c], idx, cnt) < 0) {
            sql_vec_free(&nv);
            return sql_oom(x);
        }
        sql_vec_free(&res->cols[c]);
        res->cols[c] = nv;
    }
    if (drop)
        res->ncols = p->nvisible;
    res->nrows = cnt;
    return 0;
}

static int reserve_all(sql_exec *x, sql_result *res)
{
    for (int c = 0; c < res->ncols; c++)
        if (sql_vec_reserve(&res->cols[c], 1) < 0)
            return sql_oom(x);
    return 0;
}

/* Sift idx[i] down the max-heap idx[0..n) (the root is the row that sorts last). */
static void heap_down(int64_t *idx, int64_t n, int64_t i, sort_ctx *sc)
{
    for (;;) {
        int64_t l = 2 * i + 1, m = i;
        if (l < n && sort_cmp(&idx[l], &idx[m], sc) > 0)
            m = l;
        if (l + 1 < n && sort_cmp(&idx[l + 1], &idx[m], sc) > 0)
            m = l + 1;
        if (m == i)
            return;
        int64_t t = idx[i];
        idx[i] = idx[m];
        idx[m] = t;
        i = m;
    }
}

/* The first k rows of 0..n in sort order into idx[0..k) (k < n), sorted: a max-heap of the k
 * best so far, so a row that does not beat the k-th costs one comparison (ORDER BY ... LIMIT k
 * over many groups). sort_cmp is a total order (ties broken by position), so the k rows are
 * exactly the full sort's first k. */
static void top_k(int64_t *idx, int64_t n, int64_t k, sort_ctx *sc)
{
    for (int64_t i = 0; i < k; i++)
        idx[i] = i;
    for (int64_t i = k / 2; i-- > 0;)
        heap_down(idx, k, i, sc);
    for (int64_t r = k; r < n; r++) {
        if (sort_cmp(&r, &idx[0], sc) < 0) {
            idx[0] = r;
            heap_down(idx, k, 0, sc);
        }
    }
    qsort_r(idx, (size_t)k, sizeof(int64_t), sort_cmp, sc);
}

int sql_sort_limit(sql_exec *x, const sql_plan *p, sql_result *res)
{
    int64_t n = res->nrows;
    int64_t *idx = es_malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    if (!idx)
        return sql_oom(x);
    for (int64_t r = 0; r < n; r++)
        idx[r] = r;
    int64_t keep = p->limit >= 0 && p->limit < n && p->offset < n ? p->offset + p->limit : n;
    if (p->sel->norder > 0) {
        sort_ctx sc = {res, p->sel->order, p->order_col, p->sel->norder};
        if (keep > 0 && keep < n / 4) {
            top_k(idx, n, keep, &sc);
            n = keep; /* rows past it are cut by the LIMIT below */
        } else {
            qsort_r(idx, (size_t)n, sizeof(int64_t), sort_cmp, &sc);
        }
    }
    int64_t start = p->offset < n ? p->offset : n;
    int64_t cnt = n - start;
    if (p->limit >= 0 && p->limit < cnt)
        cnt = p->limit;
    int rc = 0;
    if (p->sel->norder > 0 || start > 0 || cnt < n || p->nvisible < p->nout)
        rc = gather(x, p, res, idx + start, cnt, 1);
    es_free(idx);
    return rc < 0 ? rc : reserve_all(x, res);
}

int sql_sort_keep(sql_exec *x, const sql_plan *p, sql_result *res, int64_t keep, int64_t *sorted)
{
    int64_t n = res->nrows, m = 0;
    int64_t *idx = es_malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    if (!idx)
        return sql_oom(x);
    sort_ctx sc = {res, p->sel->order, p->order_col, p->sel->norder};
    int64_t pre = *sorted > 0 && *sorted <= n ? *sorted : 0;
    for (int64_t r = 0; r < n; r++)
        /* A row after the sorted prefix that does not come before its last row is out. */
        if (r < pre || pre == 0 || sort_cmp(&r, &(int64_t){pre - 1}, &sc) < 0)
            idx[m++] = r;
    qsort_r(idx, (size_t)m, sizeof(int64_t), sort_cmp, &sc);
    int64_t cnt = keep < m ? keep : m;
    int rc = gather(x, p, res, idx, cnt, 0);
    es_free(idx);
    *sorted = rc == 0 ? cnt : 0;
    return rc < 0 ? rc : reserve_all(x, res);
}
