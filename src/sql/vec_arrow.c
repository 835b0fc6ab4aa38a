/*
 * vec_arrow: SQL vectors over scan batches as they are stored (see sql/sql.h for the files,
 * sql/exec.h for the interfaces). Two forms avoid the copy sql_vec_load makes:
 *  - borrowed values: a BIGINT, DOUBLE or TIMESTAMP column of a batch returned whole points its
 *    vector's i or f at the batch's Arrow buffer (the batch lives in sql_batch.src until the
 *    batch is freed); only the one-byte-per-row NULL flags are made;
 *  - dictionary codes: a utf8 column a part stores dictionary-encoded, which the scan hands out
 *    as int32 indices with the part's dictionary attached (es_scan_options.keep_dictionary),
 *    becomes a vector of codes (i) into a sql_dict: the dictionary's strings, loaded once per
 *    dictionary per thread (the loader keeps the last dictionary of each column and reuses it
 *    while the next batch's dictionary holds the same strings), then a NULL row for the NULL
 *    rows' code. Codes are read only here: an expression of the column alone and constants
 *    that cannot fail per value (comparisons, IN, LIKE, BETWEEN, IS NULL, NOT, AND, OR) is
 *    evaluated once per dictionary entry and looked up by code; any other use turns the codes
 *    into strings (the same lookup with the column itself); GROUP BY the column maps each code
 *    of a dictionary to its group once (sql_groups.gmap) and only the groups keep strings.
 * Below it: value.c. Above it: select.c (loading batches), eval.c (sql_eval), agg.c.
 */
#include <stdint.h>
#include <string.h>

#include "sql/exec.h"

struct sql_dict {
    int refs; /* atomic */
    int64_t nd;
    sql_vec v; /* nd + 1 rows: the dictionary's values, then a NULL */
};

static sql_dict *dict_ref(sql_dict *d)
{
    __atomic_add_fetch(&d->refs, 1, __ATOMIC_RELAXED);
    return d;
}

void sql_dict_unref(sql_dict *d)
{
    if (!d || __atomic_sub_fetch(&d->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    sql_vec_free(&d->v);
    es_free(d);
}

/* NULL flags of a column view into nulls[0..n). */
static void load_nulls(uint8_t *nulls, const es_array_view *av, int64_t n)
{
    if (av->null_count > 0 && av->validity) {
        for (int64_t r = 0; r < n; r++) {
            int64_t b = av->offset + r;
            nulls[r] = !((av->validity[b >> 3] >> (b & 7)) & 1);
        }
    } else if (av->null_count > 0) {
        for (int64_t r = 0; r < n; r++)
            nulls[r] = es_view_is_null(av, r);
    } else {
        memset(nulls, 0, (size_t)n);
    }
}

int sql_vec_borrow(sql_vec *v, const es_array_view *av, sql_typeinfo ti)
{
    int ph = sql_type_phys(ti.t);
    es_type_id id = av->type.id;
    int same = (ph == SQL_PHYS_INT &&
                (id == ES_TYPE_INT64 || (id == ES_TYPE_TIMESTAMP && av->type.unit == ES_MICRO))) ||
               (ph == SQL_PHYS_DBL && id == ES_TYPE_FLOAT64);
    if (!same || !av->values || ((uintptr_t)av->values & 7) != 0)
        return 0;
    int64_t n = av->length;
    sql_vec_init(v, ti);
    v->nulls = es_malloc((size_t)(n > 0 ? n : 1));
    if (!v->nulls)
        return -1;
    load_nulls(v->nulls, av, n);
    void *vals = (void *)(uintptr_t)av->values; /* read-only: vals_borrowed */
    if (ph == SQL_PHYS_INT)
        v->i = vals;
    else
        v->f = vals;
    v->n = v->cap = n;
    v->vals_borrowed = 1;
    return 1;
}

/* Whether d holds the values of dictionary view dv. */
static int same_strings(const sql_dict *d, const es_array_view *dv)
{
    if (d->nd != dv->length)
        return 0;
    for (int64_t j = 0; j < d->nd; j++) {
        int null = es_view_is_null(dv, j);
        if (null != (d->v.nulls[j] != 0))
            return 0;
        if (null)
            continue;
        int64_t len, have;
        const uint8_t *p = es_view_get_bytes(dv, j, &len);
        const char *q = sql_vec_str(&d->v, j, &have);
        if (len != have || (len && memcmp(p, q, (size_t)len) != 0))
            return 0;
    }
    return 1;
}

es_status sql_dict_load(sql_vec *v, sql_typeinfo ti, const struct ArrowSchema *field,
                        const struct ArrowArray *col, int64_t off, int64_t len, const uint8_t *mask,
                        int64_t k, sql_dict **cache, es_error *err)
{
    const char *name = field->name ? field->name : "";
    sql_vec_init(v, ti);
    if (col->n_buffers != 2 || !col->buffers || (len > 0 && !col->buffers[1]) || col->offset < 0 ||
        col->length < off + len)
        return es_error_set(err, ES_CORRUPT, 0, "column %s: bad dictionary indices", name);
    es_array_view dv;
    memset(&dv, 0, sizeof dv);
    es_status st = es_array_view_init(&dv, field, col->dictionary, err);
    if (st) {
        es_error_prefix(err, "column %s: dictionary", name);
        return st == ES_NOMEM ? ES_NOMEM : ES_CORRUPT;
    }
    sql_dict *d = cache ? *cache : NULL;
    if (!d || !same_strings(d, &dv)) {
        d = es_calloc(1, sizeof *d);
        if (!d) {
            es_array_view_reset(&dv);
            return es_error_set(err, ES_NOMEM, 0, "out of memory");
        }
        d->refs = 1;
        d->nd = dv.length;
        if (sql_vec_load(&d->v, &dv, ti) < 0 || sql_vec_push_null(&d->v) < 0) {
            sql_dict_unref(d);
            es_array_view_reset(&dv);
            return es_error_set(err, ES_NOMEM, 0, "out of memory");
        }
        if (cache) {
            sql_dict_unref(*cache);
            *cache = d; /* the cache's reference */
            dict_ref(d);
        }
    } else {
        dict_ref(d);
    }
    es_array_view_reset(&dv);
    v->dict = d; /* the vector's reference */
    if (sql_vec_reserve(v, k > 0 ? k : 1) < 0)
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    const uint8_t *codes = (const uint8_t *)col->buffers[1];
    const uint8_t *bits = col->null_count != 0 ? col->buffers[0] : NULL;
    int64_t base = col->offset + off, nd = d->nd, j = 0;
    if (!mask && !bits && len > 0) {
        /* Every row, none NULL: one loop that vectorises, its range checked at the end. */
        int32_t mn = 0, mx = 0;
        for (int64_t r = 0; r < len; r++) {
            int32_t c;
            memcpy(&c, codes + 4 * (base + r), 4);
            mn = c < mn ? c : mn;
            mx = c > mx ? c : mx;
            v->i[r] = c;
        }
        memset(v->nulls, 0, (size_t)len);
        v->n = len;
        if (mn >= 0 && mx < nd)
            return ES_OK;
    }
    for (int64_t r = 0; r < len; r++) {
        if (mask && !mask[r])
            continue;
        int64_t b = base + r;
        int null = bits && !((bits[b >> 3] >> (b & 7)) & 1);
        int32_t c;
        memcpy(&c, codes + 4 * b, 4);
        if (!null && (c < 0 || c >= nd))
            return es_error_set(err, ES_CORRUPT, 0,
                                "column %s: dictionary index %d outside the dictionary of %lld "
                                "values",
                                name, (int)c, (long long)nd);
        v->nulls[j] = (uint8_t)null;
        v->i[j++] = null ? nd : c;
    }
    v->n = j;
    return ES_OK;
}

/* Turn dictionary-coded v into a vector of its strings. 0 or -1. */
static int undict(sql_vec *v)
{
    sql_vec s;
    sql_vec_init(&s, v->ty);
    if (sql_vec_append(&s, &v->dict->v, v->i, v->n) < 0 || sql_vec_reserve(&s, 1) < 0) {
        sql_vec_free(&s);
        return -1;
    }
    sql_vec_free(v);
    *v = s;
    return 0;
}

int sql_dict_append(sql_vec *dst, const sql_vec *src, const int64_t *sel, int64_t nsel)
{
    int64_t n = sel ? nsel : src->n;
    if (src->dict && (dst->dict == src->dict || (!dst->dict && dst->n == 0))) {
        if (!dst->dict) { /* an empty vector takes the dictionary */
            sql_vec_free(dst);
            dst->dict = dict_ref(src->dict);
        }
        if (sql_vec_reserve(dst, dst->n + n) < 0)
            return -1;
        for (int64_t k = 0; k < n; k++) {
            int64_t r = sel ? sel[k] : k;
            dst->nulls[dst->n + k] = src->nulls[r];
            dst->i[dst->n + k] = src->i[r];
        }
        dst->n += n;
        return 0;
    }
    /* Another dictionary, or strings: as strings. */
    if (dst->dict && undict(dst) < 0)
        return -1;
    if (!src->dict)
        return sql_vec_append(dst, src, sel, nsel);
    int64_t *codes = es_malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
    if (!codes)
        return -1;
    for (int64_t k = 0; k < n; k++)
        codes[k] = src->i[sel ? sel[k] : k];
    int rc = sql_vec_append(dst, &src->dict->v, codes, n);
    es_free(codes);
    return rc;
}

/* Whether e reads no column but dictionary-coded column *col of b (set on the first one met)
 * and cannot fail per value. */
static int per_entry(const sql_expr *e, const sql_batch *b, int *col)
{
    switch (e->kind) {
    case E_COL:
        if (e->index < 0 || e->index >= b->ncols || !b->cols[e->index].dict ||
            (*col >= 0 && *col != e->index))
            return 0;
        *col = e->index;
        return 1;
    case E_INT:
    case E_DBL:
    case E_STR:
    case E_NULL:
    case E_BOOL:
        return 1;
    case E_BIN:
        if (e->op == OP_AND || e->op == OP_OR) {
            for (int k = 0; k < e->nlist; k++)
                if (!per_entry(e->list[k], b, col))
                    return 0;
            return 1;
        }
        return e->op >= OP_EQ && e->op <= OP_GE && per_entry(e->a, b, col) &&
               per_entry(e->b, b, col);
    case E_NOT:
    case E_ISNULL:
        return per_entry(e->a, b, col);
    case E_LIKE:
        return per_entry(e->a, b, col) && per_entry(e->b, b, col);
    case E_BETWEEN:
        return per_entry(e->a, b, col) && per_entry(e->b, b, col) && per_entry(e->c, b, col);
    case E_IN:
        for (int k = 0; k < e->nlist; k++)
            if (!per_entry(e->list[k], b, col))
                return 0;
        return per_entry(e->a, b, col);
    default:
        return 0;
    }
}

int sql_dict_eval(sql_exec *x, const sql_expr *e, const sql_batch *b, sql_vec *out)
{
    int col = -1;
    if (!per_entry(e, b, &col) || col < 0)
        return 0;
    const sql_vec *cv = &b->cols[col];
    sql_dict *d = cv->dict;
    /* A bare column is turned into strings; an expression pays off with fewer entries than
     * rows. */
    if (e->kind != E_COL && d->nd + 1 > cv->n)
        return 0;
    sql_batch db;
    memset(&db, 0, sizeof db);
    db.n = d->nd + 1;
    db.ncols = b->ncols;
    db.cols = es_calloc((size_t)b->ncols, sizeof(sql_vec));
    if (!db.cols)
        return sql_oom(x);
    db.cols[col] = d->v;
    db.cols[col].borrowed = 1;
    sql_vec r;
    memset(&r, 0, sizeof r);
    int rc = sql_eval(x, e, &db, &r);
    es_free(db.cols);
    if (rc < 0)
        return -1;
    sql_vec_init(out, r.ty);
    if (sql_vec_append(out, &r, cv->i, cv->n) < 0 || sql_vec_reserve(out, 1) < 0) {
        sql_vec_free(&r);
        sql_vec_free(out);
        return sql_oom(x);
    }
    sql_vec_free(&r);
    return 1;
}

int sql_dict_assign(sql_groups *g, const sql_plan *p, const sql_vec *v, int64_t n, int64_t *gids)
{
    sql_dict *d = v->dict;
    if (g->gdict != d) {
        int64_t *m = es_realloc(g->gmap, sizeof(int64_t) * (size_t)(d->nd + 1));
        if (!m)
            return -1;
        g->gmap = m;
        for (int64_t c = 0; c <= d->nd; c++)
            m[c] = -1;
        sql_dict_unref(g->gdict);
        g->gdict = dict_ref(d);
    }
    int64_t *map = g->gmap, *miss = NULL, nmiss = 0, none = 0;
    for (int64_t r = 0; r < n; r++) { /* usually every code has its group already */
        gids[r] = map[v->i[r]];
        none |= gids[r] < 0;
    }
    for (int64_t r = 0; none && r < n; r++) {
        int64_t c = v->i[r];
        if (map[c] != -1)
            continue;
        if (!miss && !(miss = es_malloc(sizeof(int64_t) * (size_t)(d->nd + 1))))
            return -1;
        map[c] = -2; /* met in this batch */
        miss[nmiss++] = c;
    }
    if (nmiss > 0) {
        /* The entries met for the first time: their groups, found or made by their strings. */
        sql_vec keys;
        sql_vec_init(&keys, d->v.ty);
        int64_t *ng = es_malloc(sizeof(int64_t) * (size_t)nmiss);
        int rc = ng && sql_vec_append(&keys, &d->v, miss, nmiss) == 0 &&
                         sql_groups_assign(g, p, &keys, nmiss, ng) == 0
                     ? 0
                     : -1;
        for (int64_t k = 0; k < nmiss; k++)
            map[miss[k]] = rc == 0 ? ng[k] : -1;
        sql_vec_free(&keys);
        es_free(ng);
        es_free(miss);
        if (rc < 0)
            return -1;
        for (int64_t r = 0; r < n; r++)
            gids[r] = map[v->i[r]];
    }
    return 0;
}
