/*
 * unique: enforced unique primary keys and UNIQUE indexes (table layer, above scan; see
 * unique.h). A unique index on another column runs the same protocol with its values
 * (es_keyset.ix, es_unique_collect): its column is not the sort key, so the scan by values
 * finds them through the index (index pages, then only the batches holding a hit); a write
 * whose rebase meets a unique index created after it read the table conflicts
 * (es_unique_index_added), since its values were never collected.
 *
 * Lakehouse formats leave keys unenforced (Iceberg's identifier fields, Lance's
 * unenforced_primary_key); Exp Store refuses a duplicate as SQLite and DuckDB do. The check
 * costs what the written keys touch, never a scan of the table, because parts are sorted by
 * the key and the log carries each part's key range:
 *
 *   write parts (es_table_write_parts): the rows are sorted by key; two equal keys among them
 *        -> [ES_EXISTS, nothing written]; the distinct keys are kept in an es_keyset
 *     -> es_unique_check on the table as read (version v): keys outside every live part's key
 *        range are dropped without I/O; the rest go to the scanner as a key set, which skips
 *        batches by their key range in the .idx and fetches only the key column of the others
 *        (coalesced parallel ranged GETs); a live row with one of them -> [ES_EXISTS]
 *     -> commit at v+1; lost the race to entry w: es_unique_check again, over the parts added
 *        since the last check only -> [ES_EXISTS: a concurrent commit inserted the key]
 *        else retry at w+1 ---------------------------------------------> [committed]
 *
 * Invariants:
 *  1. When a write commits at version c, no live row at c-1 holds one of its keys (except the
 *     rows it replaces): the last check covered every part live at c-1, since parts are only
 *     added by entries, and each entry it lost to was checked part by part.
 *  2. Hence two writers of one key cannot both commit: the later one meets the earlier one's
 *     part on rebase. In a transaction the keys are noted (es_txn_note_keys) and its commit
 *     looks them up in what others added since it began (txn.c, check_keys).
 *  3. NULL keys (and NaN) are never equal to anything and are not checked, as in SQL.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "table/evolve.h"
#include "table/keyfilter.h"
#include "table/txn.h"
#include "table/unique.h"

void es_keyset_reset(es_keyset *k)
{
    for (int64_t i = 0; i < k->n_ix; i++)
        es_keyset_reset(&k->ix[i]);
    es_free(k->ix);
    es_free(k->ix_col);
    es_free(k->v);
    es_free(k->len);
    es_buf_reset(&k->arena);
    memset(k, 0, sizeof(*k));
}

static int bytes_domain(es_domain d)
{
    return d == ES_DOM_BYTES || d == ES_DOM_DEC;
}

es_status es_keyset_push(es_keyset *k, const es_scalar *v)
{
    if (k->n == k->cap) {
        int64_t cap = k->cap ? k->cap * 2 : 64;
        uint64_t *nv = es_realloc(k->v, (size_t)cap * sizeof(*nv));
        if (!nv)
            return ES_NOMEM;
        k->v = nv;
        if (bytes_domain(k->dom)) {
            uint32_t *nl = es_realloc(k->len, (size_t)cap * sizeof(*nl));
            if (!nl)
                return ES_NOMEM;
            k->len = nl;
        }
        k->cap = cap;
    }
    uint64_t x = 0;
    switch (k->dom) {
    case ES_DOM_INT:
        memcpy(&x, &v->i, 8);
        break;
    case ES_DOM_UINT:
        x = v->u;
        break;
    case ES_DOM_DOUBLE:
        memcpy(&x, &v->d, 8);
        break;
    default:
        x = k->arena.len;
        if (v->len > UINT32_MAX || es_buf_append(&k->arena, v->p, (size_t)v->len))
            return ES_NOMEM;
        k->len[k->n] = (uint32_t)v->len;
    }
    k->v[k->n++] = x;
    return ES_OK;
}

void es_keyset_get(const es_keyset *k, int64_t i, es_scalar *out)
{
    memset(out, 0, sizeof(*out));
    switch (k->dom) {
    case ES_DOM_INT:
        memcpy(&out->i, &k->v[i], 8);
        break;
    case ES_DOM_UINT:
        out->u = k->v[i];
        break;
    case ES_DOM_DOUBLE:
        memcpy(&out->d, &k->v[i], 8);
        break;
    default:
        out->p = k->arena.data + k->v[i];
        out->len = k->len[i];
    }
}

es_status es_keyset_scalars(es_scalar **out, const es_keyset *k, es_error *err)
{
    *out = es_malloc((size_t)(k->n > 0 ? k->n : 1) * sizeof(es_scalar));
    if (!*out)
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    for (int64_t i = 0; i < k->n; i++)
        es_keyset_get(k, i, &(*out)[i]);
    return ES_OK;
}

void es_key_format(char *buf, size_t cap, es_domain dom, const es_scalar *v)
{
    switch (dom) {
    case ES_DOM_INT:
        snprintf(buf, cap, "%" PRId64, v->i);
        return;
    case ES_DOM_UINT:
        snprintf(buf, cap, "%" PRIu64, v->u);
        return;
    case ES_DOM_DOUBLE:
        snprintf(buf, cap, "%.17g", v->d);
        return;
    default:
        break;
    }
    size_t o = 0;
    if (dom == ES_DOM_DEC) { /* the unscaled value's bytes, most significant first */
        o += (size_t)snprintf(buf, cap, "0x");
        for (int64_t i = v->len - 1; i >= 0 && o + 3 < cap; i--)
            o += (size_t)snprintf(buf + o, cap - o, "%02x", v->p[i]);
        return;
    }
    if (cap < 8)
        return;
    buf[o++] = '\'';
    for (int64_t i = 0; i < v->len && o + 6 < cap; i++) {
        uint8_t c = v->p[i];
        buf[o++] = (char)(c >= 0x20 && c != 0x7f ? c : '?');
        if (i == 47 && v->len > 48) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
    }
    buf[o++] = '\'';
    buf[o] = 0;
}

/* ---------------------------------------------------------------- check */

typedef struct key_span {
    int64_t lo, hi; /* keys [lo, hi) of the keyset */
} key_span;

static int cmp_span(const void *a, const void *b)
{
    const key_span *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Index of the first key >= v (after = 0) or > v (after = 1). */
static int64_t key_bound(const es_keyset *ks, const es_scalar *v, int after)
{
    int64_t lo = 0, hi = ks->n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        es_scalar k;
        es_keyset_get(ks, mid, &k);
        int c = es_scalar_cmp(ks->dom, &k, v);
        if (c < 0 || (after && c == 0))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The keys of ks that part m (or a manifest's summary) may hold by its key column's statistics,
 * as the span sp of ks; 0 when none. */
static int key_span_of(key_span *sp, const es_keyset *ks, es_domain dom, int64_t key_id,
                       const es_part_meta *m)
{
    sp->lo = 0;
    sp->hi = ks->n;
    int64_t k = 0;
    while (k < m->n_cols && m->col_ids[k] != key_id)
        k++;
    if (k == m->n_cols)
        return sp->lo < sp->hi; /* nothing known of the column */
    if (m->stats[k].null_count >= m->rows)
        return 0;     /* only NULL keys */
    if (ks->n == 1) { /* a single-row insert, against every part: two comparisons */
        es_scalar v;
        es_keyset_get(ks, 0, &v);
        return es_colstat_may_hold(&m->stats[k], dom, &v);
    }
    es_pred_stats ps;
    es_colstat_to_pred(&ps, &m->stats[k], dom, m->rows);
    if (ps.has_min)
        sp->lo = key_bound(ks, &ps.min, 0);
    if (ps.has_max)
        sp->hi = key_bound(ks, &ps.max, 1);
    return sp->lo < sp->hi;
}

typedef struct keys_ctx {
    const es_keyset *ks;
    es_domain dom;
    int64_t key_id;
} keys_ctx;

/* A manifest is loaded when its key range may hold one of the keys. */
static int manifest_has_key(void *ctx, const es_mfref *f)
{
    const keys_ctx *k = ctx;
    key_span sp;
    return f->live_rows > 0 && key_span_of(&sp, k->ks, k->dom, k->key_id, f->sum);
}

static int cmp_id(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The parts of `seen` (nullable, an older state of t) for part_in: *prefix, how many first
 * parts t and seen share (an insert appends: usually all of seen), and the ids of the other
 * parts of seen, sorted (*n of them; -1: no memory). One pass and a small sort per check,
 * instead of a search of every part per part (quadratic with thousands of inline parts). */
static const char **seen_ids_of(const es_tabledef *seen, const es_tabledef *t, int64_t *prefix,
                                int64_t *n)
{
    int64_t k = 0, ns = seen ? seen->n_parts : 0;
    while (k < ns && k < t->n_parts &&
           (seen->parts[k] == t->parts[k] || strcmp(seen->parts[k]->id, t->parts[k]->id) == 0))
        k++;
    *prefix = k;
    *n = ns - k;
    if (*n == 0)
        return NULL;
    const char **v = es_malloc((size_t)*n * sizeof(*v));
    if (!v) {
        *n = -1;
        return NULL;
    }
    for (int64_t p = k; p < ns; p++)
        v[p - k] = seen->parts[p]->id;
    qsort(v, (size_t)*n, sizeof(*v), cmp_id);
    return v;
}

static int part_in(const char **ids, int64_t n, const char *id)
{
    return n > 0 && bsearch(&id, ids, (size_t)n, sizeof(*ids), cmp_id) != NULL;
}

/* The name of the unique index on column c of t (for messages), or NULL for the key. */
static const char *index_name(const es_tabledef *t, int64_t c)
{
    for (int64_t i = 0; c != t->pk && i < t->n_indexes; i++)
        if (t->indexes[i]->unique && t->indexes[i]->col_id == t->cols[c].id)
            return t->indexes[i]->name;
    return NULL;
}

static es_status duplicate(es_error *err, const char *what, const es_tabledef *t, int64_t c,
                           const char *value, const char *why)
{
    const char *ix = index_name(t, c);
    if (ix)
        return es_error_set(err, ES_EXISTS, 0,
                            "%s '%s': duplicate value %s = %s of unique index %s (%s)", what,
                            t->name, t->cols[c].name, value, ix, why);
    return es_error_set(err, ES_EXISTS, 0, "%s '%s': duplicate primary key %s = %s (%s)", what,
                        t->name, t->cols[c].name, value, why);
}

int es_unique_has_index(const es_tabledef *t)
{
    for (int64_t i = 0; i < t->n_indexes; i++)
        if (t->indexes[i]->unique && (t->pk < 0 || t->indexes[i]->col_id != t->cols[t->pk].id))
            return 1;
    return 0;
}

int es_unique_index_added(const es_tabledef *t, const es_keyset *ks)
{
    for (int64_t i = 0; i < t->n_indexes; i++) {
        const es_index_def *d = t->indexes[i];
        if (!d->unique || (t->pk >= 0 && d->col_id == t->cols[t->pk].id))
            continue;
        int64_t j = 0;
        while (j < ks->n_ix && ks->ix_col[j] != d->col_id)
            j++;
        if (j == ks->n_ix)
            return 1;
    }
    return 0;
}

es_status es_unique_note_txn(es_txn *txn, const es_tabledef *t, const es_keyset *ks, es_error *err)
{
    es_status st = ES_OK;
    for (int64_t i = -1; i < ks->n_ix && !st; i++) {
        const es_keyset *k = i < 0 ? ks : &ks->ix[i];
        int64_t c = i < 0 ? t->pk : -1;
        for (int64_t j = 0; i >= 0 && j < t->n_cols; j++)
            if (t->cols[j].id == ks->ix_col[i])
                c = j;
        if (k->n == 0 || c < 0)
            continue;
        es_scalar *v = NULL;
        st = es_keyset_scalars(&v, k, err);
        if (!st)
            st = es_txn_note_values(txn, t, c, v, k->n, err);
        es_free(v);
    }
    return st;
}

int es_keyset_any(const es_keyset *ks)
{
    for (int64_t i = 0; i < ks->n_ix; i++)
        if (ks->ix[i].n > 0)
            return 1;
    return ks->n > 0;
}

/* Sorting the values of one domain (qsort has no context argument). */
#define CMP_DOM(name, dom)                                                                         \
    static int name(const void *a, const void *b)                                                  \
    {                                                                                              \
        return es_scalar_cmp(dom, a, b);                                                           \
    }
CMP_DOM(cmp_int, ES_DOM_INT)
CMP_DOM(cmp_uint, ES_DOM_UINT)
CMP_DOM(cmp_double, ES_DOM_DOUBLE)
CMP_DOM(cmp_bytes, ES_DOM_BYTES)
CMP_DOM(cmp_dec, ES_DOM_DEC)

/* A column the rows written leave out gets its default in every row: n_rows values of it (none
 * when it has no default, or NULL or NaN), so more than one row is a duplicate. */
es_status es_unique_collect_default(es_keyset *x, const char *what, const char *why,
                                    const es_tabledef *t, int64_t c, int64_t n_rows, es_error *err)
{
    if (!t->cols[c].def || n_rows == 0)
        return ES_OK;
    struct ArrowSchema sc = {0};
    struct ArrowArray a = {0};
    es_array_view v;
    memset(&v, 0, sizeof(v));
    es_builder *b = NULL;
    es_status st = es_schema_init(&sc, t->cols[c].format, "v", ARROW_FLAG_NULLABLE, err);
    if (!st)
        st = es_builder_new(&b, &sc, err);
    if (!st && es_column_append_default(b, &t->cols[c], 1))
        st = es_error_set(err, ES_NOMEM, 0, "out of memory");
    if (!st)
        st = es_builder_finish(b, &a, err);
    if (!st)
        st = es_array_view_init(&v, &sc, &a, err);
    if (!st && !es_view_is_null(&v, 0)) {
        es_scalar d;
        es_scalar_from_view(&d, x->dom, &v, 0);
        if (x->dom != ES_DOM_DOUBLE || d.d == d.d) { /* NaN: never equal */
            if (n_rows > 1) {
                char val[128];
                es_key_format(val, sizeof(val), x->dom, &d);
                st = duplicate(err, what, t, c, val, why);
            } else if (es_keyset_push(x, &d)) {
                st = es_error_set(err, ES_NOMEM, 0, "out of memory");
            }
        }
    }
    es_array_view_reset(&v);
    es_array_release(&a);
    es_builder_free(b);
    es_schema_release(&sc);
    return st;
}

es_status es_unique_collect(es_keyset *ks, const char *what, const char *why, const es_tabledef *t,
                            const es_array_view *bv, int64_t n, const int64_t *map, es_error *err)
{
    for (int64_t i = 0; i < t->n_indexes; i++) {
        const es_index_def *d = t->indexes[i];
        int64_t c = 0;
        while (c < t->n_cols && t->cols[c].id != d->col_id)
            c++;
        if (!d->unique || c == t->n_cols || c == t->pk)
            continue;
        es_keyset *nix = es_realloc(ks->ix, (size_t)(ks->n_ix + 1) * sizeof(*nix));
        if (nix)
            ks->ix = nix;
        int64_t *ncol = nix ? es_realloc(ks->ix_col, (size_t)(ks->n_ix + 1) * sizeof(*ncol)) : NULL;
        if (!ncol)
            return es_error_set(err, ES_NOMEM, 0, "out of memory");
        ks->ix_col = ncol;
        es_keyset *x = &ks->ix[ks->n_ix];
        memset(x, 0, sizeof(*x));
        ks->ix_col[ks->n_ix++] = t->cols[c].id;
        x->dom = es_expr_domain(t->cols[c].type.id);
        if (map[c] < 0) { /* not written: NULL or its default for every row */
            int64_t rows = 0;
            for (int64_t b = 0; b < n; b++)
                rows += bv[b].length;
            es_status st = es_unique_collect_default(x, what, why, t, c, rows, err);
            if (st)
                return st;
            continue;
        }
        int64_t total = 0, k = 0;
        for (int64_t b = 0; b < n; b++)
            total += bv[b].children[map[c]].length;
        es_scalar *v = es_malloc((size_t)(total > 0 ? total : 1) * sizeof(es_scalar));
        if (!v)
            return es_error_set(err, ES_NOMEM, 0, "out of memory");
        for (int64_t b = 0; b < n; b++) {
            const es_array_view *cv = &bv[b].children[map[c]];
            for (int64_t r = 0; r < cv->length; r++) {
                if (es_view_is_null(cv, r))
                    continue;
                es_scalar_from_view(&v[k], x->dom, cv, r);
                if (x->dom == ES_DOM_DOUBLE && v[k].d != v[k].d)
                    continue; /* NaN: never equal */
                if (x->dom == ES_DOM_DOUBLE && v[k].d == 0)
                    v[k].d = 0.0;
                k++;
            }
        }
        int (*cmp)(const void *, const void *) = x->dom == ES_DOM_INT      ? cmp_int
                                                 : x->dom == ES_DOM_UINT   ? cmp_uint
                                                 : x->dom == ES_DOM_DOUBLE ? cmp_double
                                                 : x->dom == ES_DOM_DEC    ? cmp_dec
                                                                           : cmp_bytes;
        if (k > 1)
            qsort(v, (size_t)k, sizeof(es_scalar), cmp);
        es_status st = ES_OK;
        for (int64_t j = 0; j < k && !st; j++) {
            if (j > 0 && es_scalar_cmp(x->dom, &v[j - 1], &v[j]) == 0) {
                char val[128];
                es_key_format(val, sizeof(val), x->dom, &v[j]);
                st = duplicate(err, what, t, c, val, why);
            } else if (es_keyset_push(x, &v[j])) {
                st = es_error_set(err, ES_NOMEM, 0, "out of memory");
            }
        }
        es_free(v);
        if (st)
            return st;
    }
    return ES_OK;
}

/* What check_batch needs besides the batch: the column, where each scanned part sits in t
 * (map), the rows being replaced (nullable: replaced[i] for part i of t, i < n_replaced), and
 * the words of the message. */
typedef struct check_ctx {
    const es_tabledef *t;
    int64_t col, n_replaced;
    const int64_t *map;
    const es_dv *replaced;
    const char *what;
    int concurrent;
} check_ctx;

/* Report the first row of a scanned batch that is a duplicate (not one of `replaced`). */
static es_status check_batch(void *ctx, struct ArrowArray *a, es_array_view *v, es_error *err)
{
    const check_ctx *c = ctx;
    (void)a;
    es_domain dom = es_expr_domain(c->t->cols[c->col].type.id);
    es_status st = ES_OK;
    for (int64_t i = 0; i < v->length && !st; i++) {
        if (c->replaced) {
            int64_t part = es_view_get_int(&v->children[1], i);
            int64_t pos = es_view_get_int(&v->children[2], i);
            if (c->map[part] < c->n_replaced &&
                es_dv_contains(&c->replaced[c->map[part]], (uint64_t)pos))
                continue;
        }
        es_scalar k;
        char key[128];
        es_scalar_from_view(&k, dom, &v->children[0], i);
        es_key_format(key, sizeof(key), dom, &k);
        st = duplicate(err, c->what, c->t, c->col, key,
                       c->concurrent ? "a concurrent commit inserted it" : "a row with it exists");
    }
    return st;
}

/* es_unique_check for the keys ks of table column col. */
static es_status check_column(es_store *s, const es_tabledef *t, int64_t col,
                              const es_tabledef *seen, const es_keyset *ks, const es_dv *replaced,
                              const char *what, int concurrent, es_error *err)
{
    if (col < 0 || !ks || ks->n == 0)
        return ES_OK;
    es_domain dom = es_expr_domain(t->cols[col].type.id);
    int64_t key_id = t->cols[col].id;
    key_span *spans = NULL;
    int64_t *map = NULL;
    const es_part_meta **picked = NULL; /* the parts to search: t->parts[map[i]] */
    es_scalar *keys = NULL;
    int64_t n_spans = 0, n_keys = 0, n_seen = 0, shared = 0;
    const char **seen_ids = NULL;
    es_status st = ES_OK;
    keys_ctx kc = {ks, dom, key_id};
    int64_t n_replaced = t->n_parts; /* parts listed below are after those replaced covers */
    /* Parts in manifests not loaded yet: those whose key range may hold a key. */
    if (t->n_mf > 0 &&
        (st = es_manifest_load((es_tabledef *)t, s->os, manifest_has_key, &kc, NULL, NULL, err)))
        goto done;
    spans = es_malloc((size_t)(t->n_parts > 0 ? t->n_parts : 1) * sizeof(key_span));
    map = es_malloc((size_t)(t->n_parts > 0 ? t->n_parts : 1) * sizeof(int64_t));
    picked = es_malloc((size_t)(t->n_parts > 0 ? t->n_parts : 1) * sizeof(*picked));
    seen_ids = seen_ids_of(seen, t, &shared, &n_seen);
    if (!spans || !map || !picked || n_seen < 0) {
        st = es_error_set(err, ES_NOMEM, 0, "out of memory");
        goto done;
    }
    /* The parts to search: live, not seen before, with a key range that holds some key. */
    for (int64_t p = 0; p < t->n_parts; p++) {
        const es_part_meta *m = t->parts[p];
        key_span sp;
        if (p < shared || es_part_live_rows(m) <= 0 || part_in(seen_ids, n_seen, m->id) ||
            !key_span_of(&sp, ks, dom, key_id, m) ||
            es_keyfilter_excludes(s, t, col, m, ks, sp.lo, sp.hi))
            continue;
        picked[n_spans] = m;
        map[n_spans] = p;
        spans[n_spans++] = sp;
    }
    if (n_spans == 0)
        goto done; /* (the usual case: no copy of the table made) */
    /* The keys inside some span, in order. */
    qsort(spans, (size_t)n_spans, sizeof(key_span), cmp_span);
    keys = es_malloc((size_t)ks->n * sizeof(es_scalar));
    if (!keys) {
        st = es_error_set(err, ES_NOMEM, 0, "out of memory");
        goto done;
    }
    for (int64_t i = 0, next = 0; i < n_spans; i++) {
        int64_t lo = spans[i].lo > next ? spans[i].lo : next;
        for (int64_t k = lo; k < spans[i].hi; k++)
            es_keyset_get(ks, k, &keys[n_keys++]);
        if (spans[i].hi > next)
            next = spans[i].hi;
    }
    es_scan_ext ext = {NULL, replaced != NULL, keys, n_keys, NULL};
    if (col != t->pk) /* a unique index's column: the scan finds the values by the index */
        ext.keys_column = t->cols[col].name;
    check_ctx cc = {t, col, n_replaced, map, replaced, what, concurrent};
    st = es_scan_column(s, t, col, picked, n_spans, &ext, check_batch, &cc, err);
done:
    es_free(seen_ids);
    es_free(keys);
    es_free(spans);
    es_free(map);
    es_free(picked);
    return st;
}

es_status es_unique_check(es_store *s, const es_tabledef *t, const es_tabledef *seen,
                          const es_keyset *ks, const es_dv *replaced, const char *what,
                          int concurrent, es_error *err)
{
    if (!ks)
        return ES_OK;
    es_status st = check_column(s, t, t->pk, seen, ks, replaced, what, concurrent, err);
    for (int64_t i = 0; i < ks->n_ix && !st; i++) {
        /* The column by id in t (a rebase's table may have columns added since). */
        int64_t c = -1;
        for (int64_t k = 0; k < t->n_cols; k++)
            if (t->cols[k].id == ks->ix_col[i])
                c = k;
        st = check_column(s, t, c, seen, &ks->ix[i], replaced, what, concurrent, err);
    }
    return st;
}
