/*
 * index: secondary indexes (table layer; index.h says what it offers, docs/FORMAT.md section
 * 2b has the object's bytes).
 *
 * An index is per part, as Lance's scalar indexes are per fragment and ClickHouse's skipping
 * indexes per data part: a part is immutable, so is its index, and nothing ever has to be
 * remapped. The log says which parts an index covers; a scan uses the index on those and
 * falls back to the batch statistics of the .idx on the others, so coverage may be partial at
 * any moment (during a backfill) without changing results. A transaction carries the
 * add_index actions of its parts into its entry (txn.c, add_part_actions).
 *
 *   CREATE INDEX: commit create_index (coverage empty)
 *     -> for each window of ES_INDEX_BACKFILL_PARTS live parts: read the column of each part,
 *        write its object, commit their add_index actions (a commit that loses the race is
 *        rebased as usual; a part removed meanwhile just leaves its object unreferenced)
 *   insert/update/upsert: the insert pipeline writes each new part's object beside it and
 *     commits add_index with add_part (one entry)
 *   scan with `col = v` or `col IN (...)`: per covered part, the lookup table (one GET, cached
 *     per handle), then the pages whose range holds a value (one parallel round of ranged
 *     GETs), then only the batches holding a hit (or, for a few hits, only their rows' values:
 *     lookup.c); deletion vectors and the exact filter apply afterwards as to any batch, so a
 *     hit of a deleted row is never returned.
 *
 * Invariants:
 *  1. An index object is written (put-if-absent, under a fresh random id) before the entry that
 *     names it; it holds every non-null, non-NaN value of its column in its part, with the
 *     value's position. Positions of rows deleted later stay in it (vectors filter them).
 *  2. An add_index of a part that is no longer live, or of an index dropped (or dropped and
 *     re-created: the index id differs) is ignored, so a write never fails because an index
 *     changed under it: coverage only ever names live parts of the index it was built for;
 *     remove_part drops the part's coverage.
 *  3. A scan reads a batch whenever the index or the statistics say a row may match: the index
 *     narrows which batches are read, never which rows are returned.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "table/bloom.h"
#include "table/index.h"
#include "table/lookup.h"
#include "table/unique.h"

#define IX_MAGIC "ESIX"
#define IX_LOOKUP_MAGIC "ESIL"
#define IX_VERSION 1
#define IX_FOOTER 24
#define IX_PAGE_BYTES (256 * 1024)
#define IX_CACHE 64

/* ------------------------------------------------------------ definitions */

es_status es_index_def_new(es_index_def **out, const char *name)
{
    *out = es_calloc(1, sizeof(es_index_def));
    if (!*out)
        return ES_NOMEM;
    (*out)->refs = 1;
    (*out)->name = es_strdup(name);
    if (!(*out)->name) {
        es_free(*out);
        *out = NULL;
        return ES_NOMEM;
    }
    return ES_OK;
}

es_index_def *es_index_def_ref(es_index_def *d)
{
    if (d)
        __atomic_add_fetch(&d->refs, 1, __ATOMIC_RELAXED);
    return d;
}

void es_index_def_unref(es_index_def *d)
{
    if (!d || __atomic_sub_fetch(&d->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    es_free(d->cov);
    es_free(d->name);
    es_free(d);
}

const es_index_cov *es_index_def_find(const es_index_def *d, const char *part)
{
    for (int64_t i = 0; i < d->n_cov; i++)
        if (strcmp(d->cov[i].part, part) == 0)
            return &d->cov[i];
    return NULL;
}

/* A copy of d with room for one more coverage entry. */
static es_status def_copy(es_index_def **out, const es_index_def *d)
{
    es_status st = es_index_def_new(out, d->name);
    if (st)
        return st;
    es_index_def *c = *out;
    memcpy(c->id, d->id, sizeof(c->id));
    c->col_id = d->col_id;
    c->unique = d->unique;
    c->cap_cov = d->n_cov + 1;
    c->cov = es_malloc((size_t)c->cap_cov * sizeof(es_index_cov));
    if (!c->cov) {
        es_index_def_unref(c);
        *out = NULL;
        return ES_NOMEM;
    }
    if (d->n_cov > 0)
        memcpy(c->cov, d->cov, (size_t)d->n_cov * sizeof(es_index_cov));
    c->n_cov = d->n_cov;
    return ES_OK;
}

es_index_def *es_index_find(const es_tabledef *t, const char *name)
{
    for (int64_t i = 0; t && i < t->n_indexes; i++)
        if (strcmp(t->indexes[i]->name, name) == 0)
            return t->indexes[i];
    return NULL;
}

es_tabledef *es_index_table(const es_snapshot *s, const char *name)
{
    for (int64_t i = 0; i < s->n_tables; i++)
        if (es_index_find(s->tables[i], name))
            return s->tables[i];
    return NULL;
}

static int64_t col_by_id(const es_tabledef *t, int64_t id)
{
    for (int64_t c = 0; c < t->n_cols; c++)
        if (t->cols[c].id == id)
            return c;
    return -1;
}

static int part_live(const es_tabledef *t, const char *part)
{
    for (int64_t p = 0; p < t->n_parts; p++)
        if (strcmp(t->parts[p]->id, part) == 0)
            return 1;
    return 0;
}

/* ----------------------------------------------------------- log actions */

es_status es_index_apply(es_tabledef *t, const es_action *a, const char *name, es_error *err)
{
    const es_index_def *d = a->index;
    int64_t i = 0;
    while (i < t->n_indexes && strcmp(t->indexes[i]->name, d->name) != 0)
        i++;
    if (a->kind == ES_ACT_CREATE_INDEX) {
        if (i < t->n_indexes || col_by_id(t, d->col_id) < 0)
            return es_error_set(err, ES_CORRUPT, 0,
                                "%s: index '%s' created twice or on an unknown column", name,
                                d->name);
        es_index_def *c = NULL;
        if (def_copy(&c, d))
            return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", name);
        int64_t k = 0;    /* coverage names live parts only (invariant 2) */
        int unloaded = 0; /* a checkpoint's manifests (manifest.c): their parts are not listed */
        for (int64_t m = 0; m < t->n_mf; m++)
            unloaded |= !t->mf[m].loaded;
        for (int64_t j = 0; j < c->n_cov; j++)
            if (unloaded || part_live(t, c->cov[j].part))
                c->cov[k++] = c->cov[j];
        c->n_cov = k;
        es_index_def **p = es_realloc(t->indexes, (size_t)(t->n_indexes + 1) * sizeof(*p));
        if (!p) {
            es_index_def_unref(c);
            return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", name);
        }
        t->indexes = p;
        t->indexes[t->n_indexes++] = c;
        return ES_OK;
    }
    if (i == t->n_indexes || strcmp(t->indexes[i]->id, d->id) != 0) {
        if (a->kind == ES_ACT_ADD_INDEX)
            return ES_OK; /* the index was dropped (or re-created) meanwhile: nothing to cover */
        return es_error_set(err, ES_CORRUPT, 0, "%s: unknown index '%s'", name, d->name);
    }
    if (a->kind == ES_ACT_DROP_INDEX) {
        es_index_def_unref(t->indexes[i]);
        memmove(&t->indexes[i], &t->indexes[i + 1],
                (size_t)(t->n_indexes - i - 1) * sizeof(es_index_def *));
        t->n_indexes--;
        return ES_OK;
    }
    /* add_index: ignored for a part that is gone (invariant 2) or already covered. */
    if (d->n_cov != 1 || !part_live(t, d->cov[0].part) ||
        es_index_def_find(t->indexes[i], d->cov[0].part))
        return ES_OK;
    es_index_def *c = NULL;
    if (def_copy(&c, t->indexes[i]))
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", name);
    c->cov[c->n_cov++] = d->cov[0];
    es_index_def_unref(t->indexes[i]);
    t->indexes[i] = c;
    return ES_OK;
}

es_status es_index_check(const es_snapshot *s, const es_action *actions, int64_t k, es_status code,
                         es_error *err)
{
    const es_action *a = &actions[k];
    const es_index_def *d = a->index;
    const es_tabledef *t = es_snapshot_find_id(s, a->table_id);
    const es_tabledef *other = es_index_table(s, d->name);
    for (int64_t j = 0; j < k; j++) /* created by an earlier action of the list */
        if (actions[j].kind == ES_ACT_CREATE_INDEX && strcmp(actions[j].index->name, d->name) == 0)
            return ES_OK;
    if (a->kind == ES_ACT_CREATE_INDEX) {
        if (other)
            return es_error_set(err, code, 0, "index '%s' was created concurrently", d->name);
        return ES_OK;
    }
    if (a->kind == ES_ACT_ADD_INDEX) /* never a conflict: ignored when the index is gone */
        return ES_OK;
    const es_index_def *now = t ? es_index_find(t, d->name) : NULL;
    if (!now || strcmp(now->id, d->id) != 0)
        return es_error_set(err, code, 0, "index '%s' was dropped concurrently", d->name);
    return ES_OK;
}

es_status es_index_part_removed(es_tabledef *t, const char *part)
{
    for (int64_t i = 0; i < t->n_indexes; i++) {
        if (!es_index_def_find(t->indexes[i], part))
            continue;
        es_index_def *c = NULL;
        if (def_copy(&c, t->indexes[i]))
            return ES_NOMEM;
        int64_t k = 0;
        for (int64_t j = 0; j < c->n_cov; j++)
            if (strcmp(c->cov[j].part, part) != 0)
                c->cov[k++] = c->cov[j];
        c->n_cov = k;
        es_index_def_unref(t->indexes[i]);
        t->indexes[i] = c;
    }
    return ES_OK;
}

int64_t es_index_checkpoint_actions(es_action *out, const es_tabledef *t)
{
    for (int64_t i = 0; out && i < t->n_indexes; i++) {
        memset(&out[i], 0, sizeof(out[i]));
        out[i].kind = ES_ACT_CREATE_INDEX;
        memcpy(out[i].table_id, t->id, sizeof(t->id));
        out[i].index = es_index_def_ref(t->indexes[i]);
    }
    return t->n_indexes;
}

/* --------------------------------------------------------------- entries */

/* One (value, position) pair while building: 8 value bytes (numbers) or a pointer to bytes
 * borrowed from the batches. */
typedef struct ix_entry {
    union {
        int64_t i;
        uint64_t u;
        double d;
        const uint8_t *p;
    } v;
    uint32_t len, pos;
} ix_entry;

static void entry_scalar(es_scalar *out, es_domain dom, const ix_entry *e)
{
    memset(out, 0, sizeof(*out));
    switch (dom) {
    case ES_DOM_INT:
        out->i = e->v.i;
        break;
    case ES_DOM_UINT:
        out->u = e->v.u;
        break;
    case ES_DOM_DOUBLE:
        out->d = e->v.d;
        break;
    default:
        out->p = e->v.p;
        out->len = e->len;
    }
}

static int cmp_int(const void *a, const void *b)
{
    const ix_entry *x = a, *y = b;
    if (x->v.i != y->v.i)
        return x->v.i < y->v.i ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int cmp_uint(const void *a, const void *b)
{
    const ix_entry *x = a, *y = b;
    if (x->v.u != y->v.u)
        return x->v.u < y->v.u ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int cmp_gen(es_domain dom, const ix_entry *x, const ix_entry *y)
{
    es_scalar a, b;
    entry_scalar(&a, dom, x);
    entry_scalar(&b, dom, y);
    int c = es_scalar_cmp(dom, &a, &b);
    if (c)
        return c;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int cmp_double(const void *a, const void *b)
{
    return cmp_gen(ES_DOM_DOUBLE, a, b);
}
static int cmp_bytes(const void *a, const void *b)
{
    return cmp_gen(ES_DOM_BYTES, a, b);
}
static int cmp_dec(const void *a, const void *b)
{
    return cmp_gen(ES_DOM_DEC, a, b);
}

static void sort_entries(ix_entry *e, int64_t n, es_domain dom)
{
    int (*cmp)(const void *, const void *) = dom == ES_DOM_INT      ? cmp_int
                                             : dom == ES_DOM_UINT   ? cmp_uint
                                             : dom == ES_DOM_DOUBLE ? cmp_double
                                             : dom == ES_DOM_DEC    ? cmp_dec
                                                                    : cmp_bytes;
    if (n > 1)
        qsort(e, (size_t)n, sizeof(*e), cmp);
}

/* Value encoding in pages and the lookup table: 8 bytes little-endian for the numeric
 * domains, else u32 length and the bytes. */
static es_status put_value(es_buf *b, es_domain dom, const es_scalar *v)
{
    uint8_t x[8];
    switch (dom) {
    case ES_DOM_INT:
        es_store_u64(x, (uint64_t)v->i);
        return es_buf_append(b, x, 8);
    case ES_DOM_UINT:
        es_store_u64(x, v->u);
        return es_buf_append(b, x, 8);
    case ES_DOM_DOUBLE:
        memcpy(x, &v->d, 8);
        return es_buf_append(b, x, 8);
    default:
        es_store_u32(x, (uint32_t)v->len);
        if (es_buf_append(b, x, 4))
            return ES_NOMEM;
        return es_buf_append(b, v->p, (size_t)v->len);
    }
}

/* Read a value at *o of p[0..n): 0 when it does not fit. */
static int get_value(es_scalar *v, es_domain dom, const uint8_t *p, size_t n, size_t *o)
{
    memset(v, 0, sizeof(*v));
    if (dom == ES_DOM_INT || dom == ES_DOM_UINT || dom == ES_DOM_DOUBLE) {
        if (n - *o < 8)
            return 0;
        uint64_t x = es_load_u64(p + *o);
        if (dom == ES_DOM_INT)
            v->i = (int64_t)x;
        else if (dom == ES_DOM_UINT)
            v->u = x;
        else
            memcpy(&v->d, &x, 8);
        *o += 8;
        return 1;
    }
    if (n - *o < 4)
        return 0;
    uint32_t len = es_load_u32(p + *o);
    *o += 4;
    if (n - *o < len || (dom == ES_DOM_DEC && len != 16))
        return 0;
    v->p = p + *o;
    v->len = len;
    *o += len;
    return 1;
}

/* Collect the entries of column view v (rows first..first+len of the part). */
static es_status add_entries(ix_entry **e, int64_t *n, int64_t *cap, es_domain dom,
                             const es_array_view *v, const int64_t *pos, int64_t first)
{
    for (int64_t i = 0; i < v->length; i++) {
        if (es_view_is_null(v, i))
            continue;
        es_scalar s;
        es_scalar_from_view(&s, dom, v, i);
        if (dom == ES_DOM_DOUBLE && isnan(s.d))
            continue;
        if (*n == *cap) {
            int64_t c = *cap ? *cap * 2 : 1024;
            ix_entry *p = es_realloc(*e, (size_t)c * sizeof(*p));
            if (!p)
                return ES_NOMEM;
            *e = p;
            *cap = c;
        }
        ix_entry *x = &(*e)[(*n)++];
        memset(x, 0, sizeof(*x));
        switch (dom) {
        case ES_DOM_INT:
            x->v.i = s.i;
            break;
        case ES_DOM_UINT:
            x->v.u = s.u;
            break;
        case ES_DOM_DOUBLE:
            x->v.d = s.d == 0 ? 0.0 : s.d; /* -0.0 equals 0.0 */
            break;
        default:
            x->v.p = s.p;
            x->len = (uint32_t)s.len;
        }
        x->pos = (uint32_t)(pos ? pos[i] : first + i);
    }
    return ES_OK;
}

/* ---------------------------------------------------------------- writing */

/* An index action of kind k on table t for index `name` (a fresh definition in a->index). */
static es_status index_action(es_action *a, es_action_kind k, const es_tabledef *t,
                              const char *name, es_error *err)
{
    memset(a, 0, sizeof(*a));
    a->kind = k;
    memcpy(a->table_id, t->id, sizeof(t->id));
    a->table_name = es_strdup(t->name);
    if (!a->table_name || es_index_def_new(&a->index, name)) {
        es_action_reset(a);
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    }
    return ES_OK;
}

static void six_key(char *buf, size_t cap, const char *table_id, const char *part, const char *obj)
{
    snprintf(buf, cap, "table_%s/table_%s_part_%s_%s.six", table_id, table_id, part, obj);
}

/* Encode and write the object of sorted entries e[0..n) of part m; fill the add_index. */
/* Bloom filters instead of sorted pages? When the values repeat within batches (bloom.h):
 * fills *bloom (hashes and positions of e, es_free them) then. */
static es_status choose_bloom(uint64_t **hashes, uint32_t **pos, es_domain dom, const ix_entry *e,
                              int64_t n, const int64_t *first_row, int64_t n_batches)
{
    *hashes = NULL;
    *pos = NULL;
    if (n == 0 || !first_row)
        return ES_OK;
    uint64_t *h = es_malloc((size_t)n * sizeof(uint64_t));
    if (!h)
        return ES_NOMEM;
    int64_t pairs = 0; /* distinct (value, batch) */
    for (int64_t i = 0, b = 0, prev_b = -1; i < n; i++) {
        es_scalar v;
        entry_scalar(&v, dom, &e[i]);
        h[i] = es_bloom_hash(dom, &v);
        es_scalar pv;
        if (i > 0)
            entry_scalar(&pv, dom, &e[i - 1]);
        int new_value = i == 0 || es_scalar_cmp(dom, &pv, &v) != 0;
        if (new_value)
            b = 0;
        while (b < n_batches && first_row[b + 1] <= (int64_t)e[i].pos)
            b++;
        pairs += new_value || b != prev_b;
        prev_b = b;
    }
    if (n < (int64_t)ES_BLOOM_MIN_REPEAT * pairs) {
        es_free(h);
        return ES_OK;
    }
    uint32_t *p = es_malloc((size_t)n * sizeof(uint32_t));
    if (!p) {
        es_free(h);
        return ES_NOMEM;
    }
    for (int64_t i = 0; i < n; i++)
        p[i] = e[i].pos;
    *hashes = h;
    *pos = p;
    return ES_OK;
}

static es_status write_object(es_action *out, es_store *s, const es_tabledef *t,
                              const es_index_def *d, const es_part_meta *m, es_domain dom,
                              const ix_entry *e, int64_t n, const int64_t *first_row,
                              int64_t n_batches, es_error *err)
{
    es_buf obj = {0}, look = {0};
    uint8_t hdr[40];
    es_status st = ES_OK;
    int64_t n_pages = 0;
    uint64_t *bh = NULL;
    uint32_t *bpos = NULL;
    memcpy(hdr, IX_MAGIC, 4);
    es_store_u32(hdr + 4, IX_VERSION);
    st = es_buf_append(&obj, hdr, 8);
    st = st ? st : choose_bloom(&bh, &bpos, dom, e, n, first_row, n_batches);
    if (!st && bh) /* per-batch filters: the lookup table is all there is */
        st = es_bloom_encode(&look, dom, bh, bpos, n, first_row, n_batches);
    /* Lookup header; n_pages patched below. */
    memcpy(hdr, IX_LOOKUP_MAGIC, 4);
    es_store_u32(hdr + 4, IX_VERSION);
    es_store_u32(hdr + 8, (uint32_t)dom);
    es_store_u32(hdr + 12, 0);
    es_store_u64(hdr + 16, (uint64_t)n);
    es_store_u64(hdr + 24, (uint64_t)m->rows);
    st = st || bh ? st : es_buf_append(&look, hdr, 32);
    for (int64_t i = 0; i < n && !st && !bh;) {
        size_t start = obj.len;
        int64_t j = i;
        while (j < n && j - i < ES_INDEX_PAGE_ROWS && obj.len - start < IX_PAGE_BYTES && !st) {
            es_scalar v;
            uint8_t p4[4];
            entry_scalar(&v, dom, &e[j]);
            st = put_value(&obj, dom, &v);
            es_store_u32(p4, e[j].pos);
            st = st ? st : es_buf_append(&obj, p4, 4);
            j++;
        }
        if (st)
            break;
        es_scalar lo, hi;
        entry_scalar(&lo, dom, &e[i]);
        entry_scalar(&hi, dom, &e[j - 1]);
        es_store_u64(hdr, (uint64_t)start);
        es_store_u32(hdr + 8, (uint32_t)(obj.len - start));
        es_store_u32(hdr + 12, es_crc32c(0, obj.data + start, obj.len - start));
        es_store_u32(hdr + 16, (uint32_t)(j - i));
        st = es_buf_append(&look, hdr, 20);
        st = st ? st : put_value(&look, dom, &lo);
        st = st ? st : put_value(&look, dom, &hi);
        n_pages++;
        i = j;
    }
    int64_t lookup_off = (int64_t)obj.len;
    uint32_t lcrc = 0;
    if (!st) {
        if (!bh)
            es_store_u32(look.data + 12, (uint32_t)n_pages);
        lcrc = es_crc32c(0, look.data, look.len);
        st = es_buf_append(&obj, look.data, look.len);
        es_store_u64(hdr, (uint64_t)lookup_off);
        es_store_u64(hdr + 8, (uint64_t)look.len);
        es_store_u32(hdr + 16, lcrc);
        memcpy(hdr + 20, IX_MAGIC, 4);
        st = st ? st : es_buf_append(&obj, hdr, IX_FOOTER);
    }
    if (st) {
        st = es_error_set(err, ES_NOMEM, 0, "index '%s': out of memory", d->name);
    } else if (!(st = index_action(out, ES_ACT_ADD_INDEX, t, d->name, err))) {
        es_index_def *a = out->index;
        memcpy(a->id, d->id, sizeof(a->id));
        a->col_id = d->col_id;
        a->cov = es_calloc(1, sizeof(es_index_cov));
        if (!a->cov) {
            st = es_error_set(err, ES_NOMEM, 0, "out of memory");
        } else {
            a->n_cov = a->cap_cov = 1;
            es_index_cov *c = &a->cov[0];
            memcpy(c->part, m->id, sizeof(c->part));
            es_part_new_object_id(c->obj);
            c->bytes = (int64_t)obj.len;
            c->entries = n;
            c->lookup_off = lookup_off;
            c->lookup_len = (int64_t)look.len;
            c->lookup_crc = lcrc;
            char key[256];
            six_key(key, sizeof(key), t->id, m->id, c->obj);
            st = es_objstore_put(s->os, key, obj.data, obj.len, ES_PUT_IF_ABSENT, NULL, NULL, err);
        }
        if (st)
            es_action_reset(out);
    }
    es_buf_reset(&obj);
    es_buf_reset(&look);
    es_free(bh);
    es_free(bpos);
    return st;
}

es_status es_index_build_chunks(es_action *out, es_store *s, const es_tabledef *t,
                                const es_index_def *d, const es_part_meta *m,
                                const struct ArrowSchema *schema, const struct ArrowArray *batches,
                                int64_t n, es_error *err)
{
    int64_t c = col_by_id(t, d->col_id), k = -1;
    for (int64_t i = 0; i < m->n_cols; i++)
        if (m->col_ids[i] == d->col_id)
            k = i;
    if (c < 0 || k < 0)
        return es_error_set(err, ES_INVALID, 0, "index '%s': part %s lacks its column", d->name,
                            m->id);
    es_domain dom = es_expr_domain(t->cols[c].type.id);
    ix_entry *e = NULL;
    int64_t ne = 0, cap = 0, first = 0;
    int64_t *first_row = es_calloc((size_t)n + 1, sizeof(int64_t));
    es_status st = first_row ? ES_OK : es_error_set(err, ES_NOMEM, 0, "out of memory");
    for (int64_t b = 0; b < n && !st; b++) {
        es_array_view v;
        st = es_array_view_init(&v, schema, &batches[b], err);
        if (st)
            break;
        if (add_entries(&e, &ne, &cap, dom, &v.children[k], NULL, first))
            st = es_error_set(err, ES_NOMEM, 0, "out of memory");
        first += v.length;
        first_row[b + 1] = first;
        es_array_view_reset(&v);
    }
    if (!st) {
        sort_entries(e, ne, dom);
        st = write_object(out, s, t, d, m, dom, e, ne, first_row, n, err);
    }
    es_free(first_row);
    es_free(e);
    return st;
}

/* Every batch of a scan and its view, kept (es_scan_column's callback keep_batch). */
typedef struct keep_all {
    struct ArrowArray *keep;
    es_array_view *views;
    int64_t n;
} keep_all;

static es_status keep_batch(void *ctx, struct ArrowArray *a, es_array_view *v, es_error *err)
{
    keep_all *k = ctx;
    struct ArrowArray *b = es_realloc(k->keep, (size_t)(k->n + 1) * sizeof(*b));
    if (b)
        k->keep = b;
    es_array_view *w = b ? es_realloc(k->views, (size_t)(k->n + 1) * sizeof(*w)) : NULL;
    if (!w)
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    k->views = w;
    k->keep[k->n] = *a;
    k->views[k->n++] = *v;
    a->release = NULL;
    memset(v, 0, sizeof(*v));
    return ES_OK;
}

static void keep_reset(keep_all *k)
{
    for (int64_t i = 0; i < k->n; i++) {
        es_array_view_reset(&k->views[i]);
        es_array_release(&k->keep[i]);
    }
    es_free(k->keep);
    es_free(k->views);
}

es_status es_index_build_for_part(es_action *out, es_store *s, const es_tabledef *t,
                                  const es_index_def *d, const es_part_meta *m, es_error *err)
{
    int64_t c = col_by_id(t, d->col_id);
    if (c < 0)
        return es_error_set(err, ES_INVALID, 0, "index '%s': unknown column", d->name);
    es_domain dom = es_expr_domain(t->cols[c].type.id);
    keep_all k = {NULL, NULL, 0}; /* the batches stay alive: entries point into them */
    es_scan_ext ext = {NULL, 1, NULL, 0, NULL};
    es_status st = es_scan_column(s, t, c, &m, 1, &ext, keep_batch, &k, err);
    ix_entry *e = NULL;
    int64_t ne = 0, cap = 0;
    for (int64_t b = 0; !st && b < k.n; b++) {
        const es_array_view *v = &k.views[b];
        int64_t *pos = es_malloc((size_t)(v->length > 0 ? v->length : 1) * sizeof(int64_t));
        for (int64_t i = 0; pos && i < v->length; i++)
            pos[i] = es_view_get_int(&v->children[2], i);
        if (!pos || add_entries(&e, &ne, &cap, dom, &v->children[0], pos, 0))
            st = es_error_set(err, ES_NOMEM, 0, "out of memory");
        es_free(pos);
    }
    es_part_idx *x = NULL; /* the part's batches, for per-batch filters */
    int64_t *first_row = NULL;
    if (!st)
        st = es_store_part_idx(&x, s, t, m, NULL, NULL, err);
    if (!st && !(first_row = es_calloc((size_t)x->n_batches + 1, sizeof(int64_t))))
        st = es_error_set(err, ES_NOMEM, 0, "out of memory");
    for (int64_t b = 0; !st && b < x->n_batches; b++)
        first_row[b + 1] = first_row[b] + x->rows[b];
    if (!st) {
        sort_entries(e, ne, dom);
        st = write_object(out, s, t, d, m, dom, e, ne, first_row, x->n_batches, err);
    }
    es_free(first_row);
    es_part_idx_free(x);
    keep_reset(&k);
    es_free(e);
    return st;
}

/* ----------------------------------------------------------------- lookup */

/* A decoded lookup table (immutable; cached per handle by object id). */
typedef struct ix_page {
    int64_t off, len, n;
    uint32_t crc;
    es_scalar lo, hi; /* pointers into the blob */
} ix_page;

typedef struct ix_lookup {
    char obj[ES_ID_LEN + 1];
    es_blob *blob;
    es_domain dom;
    int64_t n_pages;
    ix_page *pages;
    int is_bloom; /* per-batch Bloom filters (bloom.h) instead of pages */
    es_bloom bloom;
} ix_lookup;

typedef struct ix_cache {
    ix_lookup *slot[IX_CACHE];
    int next;
} ix_cache;

static void lookup_free(ix_lookup *l)
{
    if (!l)
        return;
    es_blob_unref(l->blob);
    es_free(l->pages);
    es_bloom_reset(&l->bloom);
    es_free(l);
}

void es_index_cache_free(es_store *s)
{
    es_lookup_cache_free(s);
    ix_cache *c = s->ix_cache;
    if (!c)
        return;
    for (int i = 0; i < IX_CACHE; i++)
        lookup_free(c->slot[i]);
    es_free(c);
    s->ix_cache = NULL;
}

static es_status bad(es_error *err, const char *key, const char *why)
{
    return es_error_set(err, ES_CORRUPT, 0, "%s: %s", key, why);
}

/* Decode and check a lookup table (its CRC was checked against the log). */
static es_status lookup_decode(ix_lookup *l, const es_index_cov *c, es_domain dom, const char *key,
                               es_error *err)
{
    const uint8_t *p = l->blob->data;
    size_t n = l->blob->size, o = 32;
    l->dom = dom;
    if (n >= 4 && memcmp(p, "ESBL", 4) == 0) { /* Bloom filters: no pages */
        l->is_bloom = 1;
        return es_bloom_decode(&l->bloom, p, n, dom, c->entries, -1, key, err);
    }
    if (n < 32 || memcmp(p, IX_LOOKUP_MAGIC, 4) != 0)
        return bad(err, key, "not an index lookup table (bad magic)");
    if (es_load_u32(p + 4) != IX_VERSION)
        return bad(err, key, "unsupported index version");
    if (es_load_u32(p + 8) != (uint32_t)dom)
        return bad(err, key, "index of another column type");
    int64_t n_pages = es_load_u32(p + 12);
    if ((int64_t)es_load_u64(p + 16) != c->entries || n_pages > c->entries)
        return bad(err, key, "entry count differs from the log");
    l->pages = es_calloc((size_t)(n_pages > 0 ? n_pages : 1), sizeof(ix_page));
    if (!l->pages)
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    l->dom = dom;
    int64_t total = 0, end = 8;
    for (int64_t i = 0; i < n_pages; i++) {
        ix_page *g = &l->pages[i];
        if (n - o < 20)
            return bad(err, key, "truncated lookup table");
        g->off = (int64_t)es_load_u64(p + o);
        g->len = es_load_u32(p + o + 8);
        g->crc = es_load_u32(p + o + 12);
        g->n = es_load_u32(p + o + 16);
        o += 20;
        if (!get_value(&g->lo, dom, p, n, &o) || !get_value(&g->hi, dom, p, n, &o))
            return bad(err, key, "truncated lookup table");
        if (g->off != end || g->n <= 0 || g->len <= 0 || g->off + g->len > c->lookup_off ||
            es_scalar_cmp(dom, &g->lo, &g->hi) > 0 ||
            (i > 0 && es_scalar_cmp(dom, &l->pages[i - 1].hi, &g->lo) > 0))
            return bad(err, key, "page ranges out of order");
        end = g->off + g->len;
        total += g->n;
    }
    if (o != n || total != c->entries)
        return bad(err, key, "lookup table does not match its pages");
    l->n_pages = n_pages;
    return ES_OK;
}

static es_status get_lookup(ix_lookup **out, es_store *s, const es_tabledef *t,
                            const es_index_cov *c, es_domain dom, int64_t *requests, int64_t *bytes,
                            es_error *err)
{
    ix_cache *cache = s->ix_cache;
    if (!cache) {
        cache = s->ix_cache = es_calloc(1, sizeof(ix_cache));
        if (!cache)
            return es_error_set(err, ES_NOMEM, 0, "out of memory");
    }
    for (int i = 0; i < IX_CACHE; i++)
        if (cache->slot[i] && strcmp(cache->slot[i]->obj, c->obj) == 0 &&
            cache->slot[i]->dom == dom) {
            *out = cache->slot[i];
            return ES_OK;
        }
    char key[256];
    six_key(key, sizeof(key), t->id, c->part, c->obj);
    ix_lookup *l = es_calloc(1, sizeof(ix_lookup));
    if (!l)
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    memcpy(l->obj, c->obj, sizeof(l->obj));
    es_status st = es_objstore_get(s->os, key, (uint64_t)c->lookup_off, (uint64_t)c->lookup_len,
                                   &l->blob, err);
    if (requests)
        (*requests)++;
    if (st == ES_NOT_FOUND)
        st = es_table_missing(err, key, t->name);
    if (!st && bytes)
        *bytes += (int64_t)l->blob->size;
    if (!st && (l->blob->size != (size_t)c->lookup_len ||
                es_crc32c(0, l->blob->data, l->blob->size) != c->lookup_crc))
        st = bad(err, key, "lookup table checksum mismatch or truncated object");
    if (!st)
        st = lookup_decode(l, c, dom, key, err);
    if (st) {
        lookup_free(l);
        return st;
    }
    lookup_free(cache->slot[cache->next]);
    cache->slot[cache->next] = l;
    cache->next = (cache->next + 1) % IX_CACHE;
    *out = l;
    return ES_OK;
}

static es_status push_pos(uint32_t **pos, int64_t *n, int64_t *cap, uint32_t at)
{
    if (*n == *cap) {
        int64_t c = *cap ? *cap * 2 : 256;
        uint32_t *q = es_realloc(*pos, (size_t)c * sizeof(*q));
        if (!q)
            return ES_NOMEM;
        *pos = q;
        *cap = c;
    }
    (*pos)[(*n)++] = at;
    return ES_OK;
}

/* Positions in the fetched page of rows whose value is one of vals, appended to *pos. */
static es_status page_hits(uint32_t **pos, int64_t *n, int64_t *cap, const ix_page *g,
                           const es_blob *b, es_domain dom, const es_scalar *vals, int64_t n_vals,
                           const char *key, int64_t rows, es_error *err)
{
    const uint8_t *p = b->data;
    size_t len = b->size, o = 0;
    if (len != (size_t)g->len || es_crc32c(0, p, len) != g->crc)
        return bad(err, key, "index page checksum mismatch");
    int64_t vi = 0;
    if (dom == ES_DOM_INT) { /* the common case, without es_scalar_cmp per entry */
        if (len != (size_t)g->n * 12)
            return bad(err, key, "truncated index page or trailing bytes");
        int64_t prev = INT64_MIN;
        for (int64_t i = 0; i < g->n; i++) {
            int64_t v = (int64_t)es_load_u64(p + 12 * i);
            uint32_t at = es_load_u32(p + 12 * i + 8);
            if ((int64_t)at >= rows || v < prev)
                return bad(err, key, "index page out of order or position out of range");
            prev = v;
            while (vi < n_vals && vals[vi].i < v)
                vi++;
            if (vi < n_vals && vals[vi].i == v) {
                if (push_pos(pos, n, cap, at))
                    return es_error_set(err, ES_NOMEM, 0, "out of memory");
            }
        }
        return ES_OK;
    }
    es_scalar prev;
    for (int64_t i = 0; i < g->n; i++) {
        es_scalar v;
        if (!get_value(&v, dom, p, len, &o) || len - o < 4)
            return bad(err, key, "truncated index page");
        uint32_t at = es_load_u32(p + o);
        o += 4;
        if ((int64_t)at >= rows || (i > 0 && es_scalar_cmp(dom, &prev, &v) > 0))
            return bad(err, key, "index page out of order or position out of range");
        prev = v;
        while (vi < n_vals && es_scalar_cmp(dom, &vals[vi], &v) < 0)
            vi++;
        if (vi < n_vals && es_scalar_cmp(dom, &vals[vi], &v) == 0) {
            if (push_pos(pos, n, cap, at))
                return es_error_set(err, ES_NOMEM, 0, "out of memory");
        }
    }
    if (o != len)
        return bad(err, key, "index page has trailing bytes");
    return ES_OK;
}

es_status es_index_object_check(const uint8_t *p, size_t n, es_domain dom, int64_t rows,
                                const char *name, es_error *err)
{
    if (n < 8 + IX_FOOTER || memcmp(p, IX_MAGIC, 4) != 0 || memcmp(p + n - 4, IX_MAGIC, 4) != 0)
        return bad(err, name, "not an index object (bad magic)");
    if (es_load_u32(p + 4) != IX_VERSION)
        return bad(err, name, "unsupported index version");
    es_index_cov c;
    memset(&c, 0, sizeof(c));
    uint64_t off = es_load_u64(p + n - 24), len = es_load_u64(p + n - 16);
    if (off < 8 || len < 32 || off > n - IX_FOOTER || len > n - IX_FOOTER - off)
        return bad(err, name, "lookup table out of range");
    c.lookup_off = (int64_t)off;
    c.lookup_len = (int64_t)len;
    c.lookup_crc = es_load_u32(p + n - 8);
    c.entries = (int64_t)es_load_u64(p + off + 16);
    c.bytes = (int64_t)n;
    if (es_crc32c(0, p + off, len) != c.lookup_crc)
        return bad(err, name, "lookup table checksum mismatch");
    ix_lookup l;
    memset(&l, 0, sizeof(l));
    uint32_t *pos = NULL;
    int64_t n_pos = 0, cap = 0;
    es_status st = es_blob_new_copy(&l.blob, p + off, len);
    if (st)
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    st = lookup_decode(&l, &c, dom, name, err);
    if (!st && rows < 0)
        st = bad(err, name, "negative row count");
    if (!st && l.is_bloom && (off != 8 || l.bloom.first_row[l.bloom.n_batches] != rows))
        st = bad(err, name, "Bloom filters of another part");
    for (int64_t g = 0; g < l.n_pages && !st; g++) {
        es_blob *b = NULL;
        if (es_blob_new_copy(&b, p + l.pages[g].off, (size_t)l.pages[g].len))
            st = es_error_set(err, ES_NOMEM, 0, "out of memory");
        else
            st = page_hits(&pos, &n_pos, &cap, &l.pages[g], b, dom, NULL, 0, name, rows, err);
        es_blob_unref(b);
    }
    es_free(pos);
    es_blob_unref(l.blob);
    es_free(l.pages);
    es_bloom_reset(&l.bloom);
    return st;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* es_index_filter_batches for Bloom filters: keep the batches whose filter may hold a value
 * (no positions: the batches are read whole). */
static es_status bloom_filter(const ix_lookup *l, const es_index_query *q, const char *key,
                              const int64_t *first_row, int64_t n_part_batches, int64_t *batches,
                              int64_t *n, int *covered, es_error *err)
{
    const es_bloom *bl = &l->bloom;
    if (bl->n_batches != n_part_batches)
        return bad(err, key, "Bloom filters for another number of batches");
    for (int64_t b = 0; b <= n_part_batches; b++)
        if (bl->first_row[b] != first_row[b])
            return bad(err, key, "Bloom filter batches differ from the part's");
    uint64_t *h = es_malloc((size_t)(q->n_vals > 0 ? q->n_vals : 1) * sizeof(uint64_t));
    if (!h)
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    for (int64_t v = 0; v < q->n_vals; v++)
        h[v] = es_bloom_hash(q->dom, &q->vals[v]);
    int64_t kept = 0;
    for (int64_t i = 0; i < *n; i++) {
        int64_t b = batches[i];
        int any = 0;
        for (int64_t v = 0; b >= 0 && b < n_part_batches && v < q->n_vals && !any; v++)
            any = es_bloom_may_contain(bl, b, h[v]);
        if (any)
            batches[kept++] = b;
    }
    *n = kept;
    *covered = 1;
    es_free(h);
    return ES_OK;
}

es_status es_index_filter_batches(const es_index_query *q, es_store *s, const es_tabledef *t,
                                  const es_part_meta *m, const int64_t *first_row,
                                  int64_t n_part_batches, int64_t *batches, int64_t *n,
                                  int *covered, uint32_t **hits, int64_t *n_hits, int64_t *requests,
                                  int64_t *bytes, es_error *err)
{
    *covered = 0;
    if (hits) {
        *hits = NULL;
        *n_hits = 0;
    }
    const es_index_cov *c = es_index_def_find(q->def, m->id);
    if (!c || *n == 0)
        return ES_OK;
    ix_lookup *l = NULL;
    es_status st = get_lookup(&l, s, t, c, q->dom, requests, bytes, err);
    if (st)
        return st;
    char key[256];
    six_key(key, sizeof(key), t->id, c->part, c->obj);
    if (l->is_bloom)
        return bloom_filter(l, q, key, first_row, n_part_batches, batches, n, covered, err);
    /* The pages whose range holds a value. */
    es_range_req *reqs = es_calloc((size_t)(l->n_pages > 0 ? l->n_pages : 1), sizeof(*reqs));
    int64_t *which = es_calloc((size_t)(l->n_pages > 0 ? l->n_pages : 1), sizeof(int64_t));
    uint32_t *pos = NULL;
    int64_t n_req = 0, n_pos = 0, cap_pos = 0;
    if (!reqs || !which) {
        st = es_error_set(err, ES_NOMEM, 0, "out of memory");
        goto done;
    }
    for (int64_t vi = 0, g0 = 0; vi < q->n_vals; vi++) {
        /* The first page whose upper bound is >= the value (binary search), then the pages
         * that may hold it (a value spans pages when it repeats). */
        int64_t lo = g0, hi = l->n_pages;
        while (lo < hi) {
            int64_t mid = lo + (hi - lo) / 2;
            if (es_scalar_cmp(q->dom, &l->pages[mid].hi, &q->vals[vi]) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (int64_t g = lo; g < l->n_pages; g++) {
            const ix_page *pg = &l->pages[g];
            if (es_scalar_cmp(q->dom, &q->vals[vi], &pg->lo) < 0)
                break;
            if (n_req == 0 || which[n_req - 1] < g) {
                reqs[n_req].key = key;
                reqs[n_req].offset = (uint64_t)pg->off;
                reqs[n_req].len = (uint64_t)pg->len;
                which[n_req++] = g;
            }
        }
        g0 = lo;
    }
    if (n_req > 0) {
        st = es_objstore_get_many(s->os, reqs, n_req, err);
        if (requests)
            *requests += n_req;
        for (int64_t r = 0; r < n_req && !st; r++) {
            st = reqs[r].status;
            if (st == ES_NOT_FOUND)
                st = es_table_missing(err, key, t->name);
            else if (st)
                st = es_error_set(err, st, 0, "%s: cannot read index page", key);
            if (!st && bytes)
                *bytes += (int64_t)reqs[r].out->size;
            if (!st)
                st = page_hits(&pos, &n_pos, &cap_pos, &l->pages[which[r]], reqs[r].out, q->dom,
                               q->vals, q->n_vals, key, m->rows, err);
        }
    }
    if (st)
        goto done;
    /* Keep the batches holding a hit. */
    if (n_pos > 1)
        qsort(pos, (size_t)n_pos, sizeof(*pos), cmp_u32);
    {
        int64_t k = 0; /* distinct (a row has one value) */
        for (int64_t i = 0; i < n_pos; i++)
            if (k == 0 || pos[k - 1] != pos[i])
                pos[k++] = pos[i];
        n_pos = k;
    }
    {
        int64_t kept = 0, h = 0;
        for (int64_t i = 0; i < *n; i++) {
            int64_t b = batches[i];
            if (b < 0 || b >= n_part_batches)
                continue;
            while (h < n_pos && (int64_t)pos[h] < first_row[b])
                h++;
            if (h < n_pos && (int64_t)pos[h] < first_row[b + 1])
                batches[kept++] = b;
        }
        *n = kept;
    }
    *covered = 1;
    if (hits) {
        *hits = pos;
        *n_hits = n_pos;
        pos = NULL;
    }
done:
    for (int64_t r = 0; reqs && r < n_req; r++)
        es_blob_unref(reqs[r].out);
    es_free(reqs);
    es_free(which);
    es_free(pos);
    return st;
}

/* ----------------------------------------------------------------- queries */

static int cmp_scalar_dom(es_domain dom, const void *a, const void *b)
{
    return es_scalar_cmp(dom, a, b);
}

static void sort_vals(es_scalar *v, int64_t n, es_domain dom)
{
    for (int64_t i = 1; i < n; i++) { /* insertion sort: a few literals */
        es_scalar x = v[i];
        int64_t j = i;
        while (j > 0 && cmp_scalar_dom(dom, &v[j - 1], &x) > 0) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

/* The equality conjunct of p on an indexed column: p itself or a kid of a top AND. */
static const es_pred *eq_conjunct(const es_tabledef *t, const es_pred *p, const es_index_def **d)
{
    if (!p)
        return NULL;
    if (p->kind == ES_PRED_AND) {
        for (int64_t i = 0; i < p->n_kids; i++) {
            const es_pred *k = eq_conjunct(t, p->kids[i], d);
            if (k)
                return k;
        }
        return NULL;
    }
    if (!((p->kind == ES_PRED_CMP && p->op == ES_EQ) || p->kind == ES_PRED_IN) || p->n_vals < 1 ||
        p->n_vals > 4096 || p->col < 0 || p->col >= t->n_cols)
        return NULL;
    for (int64_t i = 0; i < t->n_indexes; i++)
        if (t->indexes[i]->col_id == t->cols[p->col].id && t->indexes[i]->n_cov > 0) {
            *d = t->indexes[i];
            return p;
        }
    return NULL;
}

es_status es_index_query_new(es_index_query **out, const es_tabledef *t, const es_pred *p,
                             es_error *err)
{
    *out = NULL;
    const es_index_def *d = NULL;
    const es_pred *e = eq_conjunct(t, p, &d);
    if (!e)
        return ES_OK;
    es_index_query *q = es_calloc(1, sizeof(*q));
    if (q)
        q->vals = es_malloc((size_t)e->n_vals * sizeof(es_scalar));
    if (!q || !q->vals) {
        es_free(q);
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    }
    q->def = d;
    q->col = e->col;
    q->dom = e->dom;
    for (int64_t i = 0; i < e->n_vals; i++) {
        es_scalar v = e->vals[i];
        if (q->dom == ES_DOM_DOUBLE && isnan(v.d))
            continue; /* NaN: the index leaves it out; the statistics decide */
        if (q->dom == ES_DOM_DOUBLE && v.d == 0)
            v.d = 0.0;
        q->vals[q->n_vals++] = v;
    }
    if (q->n_vals < e->n_vals) { /* a NaN literal: do not use the index */
        es_index_query_free(q);
        return ES_OK;
    }
    sort_vals(q->vals, q->n_vals, q->dom);
    int64_t k = 0;
    for (int64_t i = 0; i < q->n_vals; i++)
        if (k == 0 || es_scalar_cmp(q->dom, &q->vals[k - 1], &q->vals[i]) != 0)
            q->vals[k++] = q->vals[i];
    q->n_vals = k;
    *out = q;
    return ES_OK;
}

es_status es_index_query_keys(es_index_query **out, const es_tabledef *t, int64_t col,
                              const es_scalar *vals, int64_t n, es_error *err)
{
    *out = NULL;
    const es_index_def *d = NULL;
    for (int64_t i = 0; i < t->n_indexes && !d; i++)
        if (t->indexes[i]->col_id == t->cols[col].id && t->indexes[i]->n_cov > 0)
            d = t->indexes[i];
    if (!d || n <= 0)
        return ES_OK;
    es_index_query *q = es_calloc(1, sizeof(*q));
    if (q)
        q->vals = es_malloc((size_t)n * sizeof(es_scalar));
    if (!q || !q->vals) {
        es_free(q);
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    }
    q->def = d;
    q->col = col;
    q->dom = es_expr_domain(t->cols[col].type.id);
    memcpy(q->vals, vals, (size_t)n * sizeof(es_scalar));
    q->n_vals = n;
    *out = q;
    return ES_OK;
}

void es_index_query_free(es_index_query *q)
{
    if (!q)
        return;
    es_free(q->vals);
    es_free(q);
}

/* ---------------------------------------------------------- public calls */

static int valid_name(const char *n)
{
    if (!n || !*n || strlen(n) > 128)
        return 0;
    for (const char *c = n; *c; c++)
        if ((unsigned char)*c < 0x20)
            return 0;
    return 1;
}

/* After CREATE UNIQUE INDEX committed and covered every part: the column must hold no value
 * twice (writes committed since the create_index check themselves, or conflict on rebase:
 * unique.c); else the index is dropped again and the create fails naming the value. */
static es_status verify_unique(es_store *s, const char *table, const char *name, es_error *err)
{
    es_tabledef *t = NULL;
    es_status st = es_store_table(&t, s, table, -1, err);
    if (st)
        return st;
    es_index_def *d = es_index_find(t, name);
    int64_t c = d ? col_by_id(t, d->col_id) : -1;
    if (c < 0 || c == t->pk) {
        es_tabledef_unref(t);
        return ES_OK; /* dropped meanwhile, or the key (unique already) */
    }
    keep_all k = {NULL, NULL, 0};
    int64_t *map = es_calloc((size_t)t->n_cols, sizeof(int64_t));
    es_keyset ks;
    memset(&ks, 0, sizeof(ks));
    if (!map)
        st = es_error_set(err, ES_NOMEM, 0, "out of memory");
    for (int64_t i = 0; !st && i < t->n_cols; i++)
        map[i] = i == c ? 0 : -1;
    if (!st)
        st = es_scan_column(s, t, c, NULL, 0, NULL, keep_batch, &k, err);
    if (!st)
        st = es_unique_collect(&ks, "create unique index on", "more than once in the table", t,
                               k.views, k.n, map, err);
    if (st == ES_EXISTS) {
        es_error e2;
        es_index_drop_impl(s, name, 1, &e2);
    }
    es_keyset_reset(&ks);
    keep_reset(&k);
    es_free(map);
    es_tabledef_unref(t);
    return st;
}

es_status es_index_create_impl(es_store *s, const char *table, const char *name, const char *column,
                               int unique, int if_not_exists, es_error *err)
{
    if (!table || !valid_name(name) || !column)
        return es_error_set(err, ES_INVALID, 0, "create index: bad table, index or column name");
    if (s->txn)
        return es_error_set(err, ES_UNSUPPORTED, 0,
                            "create index '%s': not inside a transaction (commit it first)", name);
    es_snapshot *snap = NULL;
    es_status st = es_store_catalog_write(&snap, s, err);
    if (st)
        return st;
    const es_tabledef *t = es_snapshot_find(snap, table);
    if (!t)
        return es_error_set(err, ES_NOT_FOUND, 0, "create index '%s': no table '%s'", name, table);
    const es_tabledef *other = es_index_table(snap, name);
    int64_t c = es_tabledef_col_index(t, column);
    char id[ES_ID_LEN + 1], tid[ES_ID_LEN + 1];
    if (other) {
        const es_index_def *d = es_index_find(other, name);
        if (if_not_exists && other == t && c >= 0 && d->col_id == t->cols[c].id &&
            !d->unique == !unique) { /* the same index: finish a backfill cut short */
            memcpy(id, d->id, sizeof(id));
            memcpy(tid, t->id, sizeof(tid));
            goto backfill;
        }
        if (if_not_exists)
            return ES_OK;
        return es_error_set(err, ES_EXISTS, 0, "create index '%s': an index '%s' exists (on '%s')",
                            name, name, other->name);
    }
    if (c < 0)
        return es_error_set(err, ES_NOT_FOUND, 0,
                            "create index '%s': table '%s' has no column '%s'", name, table,
                            column);
    if (es_expr_domain(t->cols[c].type.id) == ES_DOM_NONE)
        return es_error_set(err, ES_UNSUPPORTED, 0,
                            "create index '%s': column '%s' has a type that cannot be indexed",
                            name, column);
    es_action a;
    st = index_action(&a, ES_ACT_CREATE_INDEX, t, name, err);
    if (st)
        return st;
    es_part_new_id(a.index->id);
    a.index->col_id = t->cols[c].id;
    a.index->unique = unique;
    memcpy(id, a.index->id, sizeof(id));
    memcpy(tid, t->id, sizeof(tid));
    st = es_store_commit(s, &a, 1, NULL, NULL, NULL, err);
    es_action_reset(&a);
    /* Backfill: the parts live now (not covered yet: CREATE INDEX IF NOT EXISTS of an index
     * whose backfill was cut short by a crash, an interrupt or a store error goes on here), a
     * window at a time, each window one commit. */
backfill:
    for (;;) {
        if (st)
            return st;
        st = es_store_catalog_write(&snap, s, err);
        if (st)
            return st;
        es_tabledef *tt = es_snapshot_find_id(snap, tid);
        es_index_def *d = tt ? es_index_find(tt, name) : NULL;
        if (!d || strcmp(d->id, id) != 0)
            return es_error_set(err, ES_CONFLICT, 0,
                                "create index '%s': the table or index was dropped concurrently",
                                name);
        es_tabledef_ref(tt);
        es_index_def_ref(d);
        es_action acts[ES_INDEX_BACKFILL_PARTS];
        int64_t n = 0;
        for (int64_t p = 0; p < tt->n_parts && n < ES_INDEX_BACKFILL_PARTS && !st; p++) {
            if (es_index_def_find(d, tt->parts[p]->id))
                continue;
            if (es_store_interrupted(s))
                st = es_error_set(err, ES_INTERRUPTED, 0, "create index '%s': interrupted", name);
            else
                st = es_index_build_for_part(&acts[n], s, tt, d, tt->parts[p], err);
            n += !st;
        }
        if (!st && n > 0)
            st = es_store_commit(s, acts, n, NULL, NULL, NULL, err);
        for (int64_t i = 0; i < n; i++)
            es_action_reset(&acts[i]);
        es_index_def_unref(d);
        es_tabledef_unref(tt);
        if (!st && n == 0)
            return unique ? verify_unique(s, table, name, err) : ES_OK;
    }
}

es_status es_index_drop_impl(es_store *s, const char *name, int if_exists, es_error *err)
{
    if (!valid_name(name))
        return es_error_set(err, ES_INVALID, 0, "drop index: bad index name");
    if (s->txn)
        return es_error_set(err, ES_UNSUPPORTED, 0,
                            "drop index '%s': not inside a transaction (commit it first)", name);
    es_snapshot *snap = NULL;
    es_status st = es_store_catalog_write(&snap, s, err);
    if (st)
        return st;
    const es_tabledef *t = es_index_table(snap, name);
    if (!t)
        return if_exists ? ES_OK
                         : es_error_set(err, ES_NOT_FOUND, 0, "drop index: no index '%s'", name);
    es_action a;
    st = index_action(&a, ES_ACT_DROP_INDEX, t, name, err);
    if (st)
        return st;
    memcpy(a.index->id, es_index_find(t, name)->id, sizeof(a.index->id));
    st = es_store_commit(s, &a, 1, NULL, NULL, NULL, err);
    es_action_reset(&a);
    return st;
}

es_status es_index_list_impl(es_store *s, es_index_info **out, int64_t *n, es_error *err)
{
    *out = NULL;
    *n = 0;
    es_snapshot *snap = NULL;
    es_status st = es_store_catalog_write(&snap, s, err);
    if (!st) /* every part, to count the covered ones */
        st = es_manifest_load_all(snap, s->os, err);
    if (st) {
        es_snapshot_free(snap);
        return st;
    }
    int64_t total = 0;
    for (int64_t i = 0; i < snap->n_tables; i++)
        total += snap->tables[i]->n_indexes;
    es_index_info *l = es_calloc((size_t)(total > 0 ? total : 1), sizeof(*l));
    if (!l)
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    int64_t k = 0;
    for (int64_t i = 0; i < snap->n_tables; i++) {
        const es_tabledef *t = snap->tables[i];
        for (int64_t j = 0; j < t->n_indexes; j++, k++) {
            const es_index_def *d = t->indexes[j];
            int64_t c = col_by_id(t, d->col_id);
            l[k].name = es_strdup(d->name);
            l[k].table = es_strdup(t->name);
            l[k].column = es_strdup(c >= 0 ? t->cols[c].name : "?");
            l[k].unique = d->unique;
            /* Live parts with objects: rows inlined in the log are read from memory, never
             * indexed. */
            for (int64_t p = 0; p < t->n_parts; p++) {
                const es_part_meta *m = t->parts[p];
                if (m->inline_ipc) {
                    l[k].parts_inline++;
                    l[k].rows_inline += m->rows - (m->dv ? m->dv->deleted : 0);
                    continue;
                }
                l[k].parts_total++;
                l[k].parts_covered += es_index_def_find(d, t->parts[p]->id) != NULL;
            }
            if (!l[k].name || !l[k].table || !l[k].column) {
                es_index_list_free(l, k + 1);
                return es_error_set(err, ES_NOMEM, 0, "out of memory");
            }
        }
    }
    *out = l;
    *n = k;
    return ES_OK;
}

void es_index_object_key(char *buf, size_t cap, const char *table_id, const es_index_cov *c)
{
    six_key(buf, cap, table_id, c->part, c->obj);
}
