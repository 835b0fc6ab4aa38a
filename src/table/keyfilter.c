/*
 * keyfilter: the sorted key hashes of small parts, per store in a process (keyfilter.h): the
 * handles of one process on one store URI share one table (parts are immutable, so a filter
 * built by one serves all), held while any of them is open. A table of KF_SLOTS filters keyed
 * by (part id, column id, domain), two-way: a filter goes in one of two slots, replacing the
 * one there used least recently (with one slot, two live parts that collide evicted each other
 * at every check, so that neither ever got its filter and every insert scanned both). Under a
 * mutex: the handles' threads, and a group commit's leader checks a member's keys with the member's
 * handle (group.c).
 *
 * Why: with several writers the key range of every flushed part spans every writer's keys, so
 * each single-row insert used to open a scan of every flushed part (its .idx pages, then the
 * key column of a batch) to find nothing. A filter answers in a hash and a binary search.
 */
#include <pthread.h>
#include <stdlib.h>

#include "table/bloom.h"
#include "table/expr.h"
#include "table/keyfilter.h"

#define KF_SLOTS 512

typedef struct kf_filter {
    char part_id[ES_ID_LEN + 1];
    int64_t col_id;
    es_domain dom;
    int uses;       /* checks that reached this part so far (until built) */
    uint64_t last;  /* the table's clock at its last use */
    int built;      /* the filter was built (or was not to be had) */
    int usable;     /* 0: not built, building failed or over the budget: the scan decides */
    uint64_t *h;    /* sorted hashes of every non-null value of the column in the part */
    int64_t n, cap; /* cap: the part's rows */
} kf_filter;

typedef struct es_keyfilters {
    pthread_mutex_t mu;
    kf_filter *slot[KF_SLOTS];
    int64_t held;   /* hashes held, against ES_KEYFILTER_BUDGET */
    uint64_t clock; /* uses so far (the filters' recency) */
    char *uri;      /* the store's (NULL: the handle's own table, for a store without a URI) */
    int refs;       /* handles attached (under shared_mu) */
    struct es_keyfilters *next;
} kf_cache; /* es_store.kf_cache */

static pthread_mutex_t shared_mu = PTHREAD_MUTEX_INITIALIZER;
static kf_cache *shared; /* the tables of the stores with handles open, by URI */

static void filter_free(kf_cache *c, kf_filter *f)
{
    if (!f)
        return;
    c->held -= f->n;
    es_free(f->h);
    es_free(f);
}

static void cache_free(kf_cache *c)
{
    for (int i = 0; i < KF_SLOTS; i++)
        filter_free(c, c->slot[i]);
    pthread_mutex_destroy(&c->mu);
    es_free(c->uri);
    es_free(c);
}

/* The table of s's store, attached with a reference (a new one when none is open); NULL when
 * out of memory. */
static kf_cache *attach(const es_store *s)
{
    const char *uri = s->os->uri;
    pthread_mutex_lock(&shared_mu);
    kf_cache *c = shared;
    while (uri && c && strcmp(c->uri, uri) != 0)
        c = c->next;
    if (!uri || !c) {
        c = es_calloc(1, sizeof(*c));
        if (c && uri && !(c->uri = es_strdup(uri))) {
            es_free(c);
            c = NULL;
        }
        if (c) {
            pthread_mutex_init(&c->mu, NULL);
            if (uri) {
                c->next = shared;
                shared = c;
            }
        }
    }
    if (c)
        c->refs++;
    pthread_mutex_unlock(&shared_mu);
    return c;
}

static void detach(kf_cache *c)
{
    pthread_mutex_lock(&shared_mu);
    int last = --c->refs == 0;
    for (kf_cache **p = &shared; last && *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    pthread_mutex_unlock(&shared_mu);
    if (last)
        cache_free(c);
}

void es_keyfilter_free(es_store *s)
{
    if (s->kf_cache)
        detach(s->kf_cache);
    s->kf_cache = NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* es_scan_column's callback for build: the hashes of one batch's non-null values. */
static es_status hash_batch(void *ctx, struct ArrowArray *a, es_array_view *v, es_error *err)
{
    kf_filter *f = ctx;
    (void)a;
    for (int64_t i = 0; i < v->length; i++) {
        if (es_view_is_null(&v->children[0], i))
            continue;
        if (f->n == f->cap) /* more rows than the part says: leave it to the scan */
            return es_error_set(err, ES_CORRUPT, 0, "part %s: more rows than listed", f->part_id);
        es_scalar k;
        es_scalar_from_view(&k, f->dom, &v->children[0], i);
        f->h[f->n++] = es_bloom_hash(f->dom, &k);
    }
    return ES_OK;
}

/* Fill f with the hashes of column col of part m (every row: the part's deletion vector is left
 * out), by a scan of that part alone. */
static es_status build(kf_filter *f, es_store *s, const es_tabledef *t, int64_t col,
                       const es_part_meta *m, es_error *err)
{
    es_part_meta *all = NULL;
    es_part_idx *x = NULL; /* the part's rows size the filter: its .idx must agree with them */
    es_status st = es_store_part_idx(&x, s, t, m, NULL, NULL, err);
    es_part_idx_free(x);
    if (st)
        return st;
    f->cap = m->rows;
    f->h = es_malloc((size_t)(m->rows > 0 ? m->rows : 1) * sizeof(uint64_t));
    if (!f->h || es_part_meta_copy(&all, m))
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    es_dvref_unref(all->dv);
    all->dv = NULL;
    const es_part_meta *one = all;
    st = es_scan_column(s, t, col, &one, 1, NULL, hash_batch, f, err);
    es_part_meta_unref(all);
    if (!st && f->n > 1)
        qsort(f->h, (size_t)f->n, sizeof(uint64_t), cmp_u64);
    return st;
}

static int is_of(const kf_filter *f, const char *part, int64_t col_id, es_domain dom)
{
    return f && f->col_id == col_id && f->dom == dom && strcmp(f->part_id, part) == 0;
}

/* The slot of (part, col_id, dom): the one of its two that holds it, else the one to fill (an
 * empty one, else the one used least recently). */
static kf_filter **slot_of(kf_cache *c, const char *part, int64_t col_id, es_domain dom)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ (uint64_t)col_id;
    for (const char *p = part; *p; p++)
        h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
    kf_filter **a = &c->slot[h % KF_SLOTS], **b = &c->slot[(h >> 32) % KF_SLOTS];
    if (is_of(*a, part, col_id, dom))
        return a;
    if (is_of(*b, part, col_id, dom))
        return b;
    if (!*a || !*b)
        return !*a ? a : b;
    return (*a)->last <= (*b)->last ? a : b;
}

/* Under the mutex: the filter of (m, col), built on its ES_KEYFILTER_AFTER-th use (one
 * statement that touches a part once or twice never pays for reading its whole key column);
 * NULL: none yet, or none to be had. */
static const kf_filter *get(kf_cache *c, es_store *s, const es_tabledef *t, int64_t col,
                            const es_part_meta *m, es_domain dom)
{
    int64_t col_id = t->cols[col].id;
    kf_filter **slot = slot_of(c, m->id, col_id, dom);
    kf_filter *f = *slot;
    if (!is_of(f, m->id, col_id, dom)) {
        filter_free(c, f);
        *slot = NULL;
        if (!(f = es_calloc(1, sizeof(*f))))
            return NULL;
        memcpy(f->part_id, m->id, sizeof(f->part_id));
        f->col_id = col_id;
        f->dom = dom;
        *slot = f;
    }
    f->last = ++c->clock;
    if (f->built || ++f->uses < ES_KEYFILTER_AFTER)
        return f->usable ? f : NULL;
    f->built = 1;
    if (c->held + m->rows > ES_KEYFILTER_BUDGET)
        return NULL; /* (left unusable) */
    es_error err;
    memset(&err, 0, sizeof(err));
    f->usable = build(f, s, t, col, m, &err) == ES_OK;
    if (!f->usable) { /* remembered: not built again for every insert */
        es_free(f->h);
        f->h = NULL;
        f->n = 0;
    }
    c->held += f->n;
    return f->usable ? f : NULL;
}

static int holds(const kf_filter *f, uint64_t h)
{
    es_dv sorted = {f->h, f->n, f->n}; /* (the binary search of a vector's positions) */
    return es_dv_contains(&sorted, h);
}

int es_keyfilter_excludes(es_store *s, const es_tabledef *t, int64_t col, const es_part_meta *m,
                          const es_keyset *ks, int64_t lo, int64_t hi)
{
    if (m->rows > ES_KEYFILTER_MAX_ROWS || hi - lo > ES_KEYFILTER_MAX_ROWS)
        return 0;
    kf_cache *c = __atomic_load_n(&s->kf_cache, __ATOMIC_ACQUIRE);
    if (!c) { /* attached once; an asynchronous commit's key check may race the handle's thread */
        kf_cache *nc = attach(s), *none = NULL;
        if (!nc)
            return 0;
        if (__atomic_compare_exchange_n(&s->kf_cache, &none, nc, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
            c = nc;
        } else {
            detach(nc);
            c = none;
        }
    }
    es_domain dom = es_expr_domain(t->cols[col].type.id);
    pthread_mutex_lock(&c->mu);
    const kf_filter *f = get(c, s, t, col, m, dom);
    int out = f != NULL;
    for (int64_t i = lo; out && i < hi; i++) {
        es_scalar k;
        es_keyset_get(ks, i, &k);
        out = !holds(f, es_bloom_hash(dom, &k));
    }
    pthread_mutex_unlock(&c->mu);
    return out;
}
