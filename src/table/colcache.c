/*
 * colcache: the handle's cache of decoded column chunks (table layer; see colcache.h, and
 * docs/ARCHITECTURE.md, "The column cache").
 *
 * Why: a ZSTD-compressed body (the default) or a dictionary-encoded column must be decoded
 * before a query can read it, and that decoding is most of the CPU of a warm full scan (about
 * two thirds of GROUP BY category at 10M rows is decompressing `amount`). DuckDB keeps its
 * blocks in a buffer pool; we keep the decoded chunks, keyed by immutable objects, so a warm
 * query neither fetches nor decompresses them. Raw (uncompressed, plain) chunks are never
 * cached: they are read in place from the fetched bytes, and caching them would only pin those
 * bytes.
 *
 * Structure: a hash table of entries (chained, a power-of-two bucket count that doubles with
 * the entries) and one LRU list (head: most recently used), both under one mutex; decoding
 * happens outside it. An entry belongs to the cache and holds one reference on its column (an
 * es_array_ref, whose count is atomic); each reader holds one more.
 *
 * Eviction: an insert evicts from the LRU tail while the cache is over its budget, but never
 * an entry carrying the inserting reader's token (es_colcache_token: one per scan or lookup,
 * stamped on every entry the reader touches). When only such entries are left the new entry
 * is not inserted ("refused"): a scan whose chunks exceed the budget keeps its first chunks
 * cached, and the next run of the same scan finds them (LRU would instead evict each chunk
 * before the next run reaches it, and cache nothing useful); its remaining chunks are decoded
 * each time. The budget therefore bounds the bytes the cache holds at every moment. Entries a
 * reader still holds after eviction are not counted: they belong to the batches using them.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "arrow/arrow.h"
#include "table/colcache.h"

typedef struct es_colent {
    char part[ES_ID_LEN + 1];
    int64_t unit, col;
    int form;
    uint64_t token;
    int64_t bytes;
    es_array_ref *arr;
    struct es_colent *chain, *prev, *next;
} es_colent;

struct es_colcache {
    pthread_mutex_t mu;
    es_colent **bucket;
    size_t n_buckets; /* a power of two */
    es_colent *head, *tail;
    es_colcache_stats n; /* bytes, entries, budget and the counters */
    uint64_t next_token;
};

#define COLCACHE_MIN_BUCKETS 1024

es_status es_colcache_new(es_colcache **out, int64_t budget, es_error *err)
{
    es_colcache *c = es_calloc(1, sizeof(*c));
    if (c)
        c->bucket = es_calloc(COLCACHE_MIN_BUCKETS, sizeof(*c->bucket));
    if (!c || !c->bucket) {
        if (c)
            es_free(c->bucket);
        es_free(c);
        *out = NULL;
        return es_error_set(err, ES_NOMEM, 0, "out of memory creating the column cache");
    }
    pthread_mutex_init(&c->mu, NULL);
    c->n_buckets = COLCACHE_MIN_BUCKETS;
    c->n.budget = budget > 0 ? budget : 0;
    *out = c;
    return ES_OK;
}

static void colent_free(es_colent *e)
{
    es_array_ref_unref(e->arr);
    es_free(e);
}

static size_t hash_key(const char *part, int64_t unit, int64_t col, int form)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < ES_ID_LEN && part[i]; i++)
        h = (h ^ (uint8_t)part[i]) * 0x100000001b3ull;
    h ^= (uint64_t)unit * 0x9e3779b97f4a7c15ull;
    h ^= ((uint64_t)col << 1 | (uint64_t)form) * 0xc2b2ae3d27d4eb4full;
    return (size_t)(h ^ (h >> 31));
}

static int same_key(const es_colent *e, const es_colkey *k)
{
    return e->unit == k->unit && e->col == k->col && e->form == k->form &&
           strncmp(e->part, k->part, ES_ID_LEN) == 0;
}

/* Under the mutex: the listed entry for k, or NULL. */
static es_colent *find(const es_colcache *c, const es_colkey *k)
{
    es_colent *e = c->bucket[hash_key(k->part, k->unit, k->col, k->form) & (c->n_buckets - 1)];
    while (e && !same_key(e, k))
        e = e->chain;
    return e;
}

static void lru_unlink(es_colcache *c, es_colent *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_push(es_colcache *c, es_colent *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head)
        c->head->prev = e;
    else
        c->tail = e;
    c->head = e;
}

/* Under the mutex: take e out of the table and the list; the caller drops the cache's
 * reference after unlocking. */
static void unlist(es_colcache *c, es_colent *e)
{
    es_colent **pp = &c->bucket[hash_key(e->part, e->unit, e->col, e->form) & (c->n_buckets - 1)];
    while (*pp != e)
        pp = &(*pp)->chain;
    *pp = e->chain;
    lru_unlink(c, e);
    c->n.bytes -= e->bytes;
    c->n.entries--;
}

/* Under the mutex: double the buckets when the entries outnumber them (no-op when out of
 * memory: chains just grow longer). */
static void grow(es_colcache *c)
{
    if ((size_t)c->n.entries < c->n_buckets)
        return;
    size_t n = c->n_buckets * 2;
    es_colent **nb = es_calloc(n, sizeof(*nb));
    if (!nb)
        return;
    for (size_t i = 0; i < c->n_buckets; i++)
        for (es_colent *e = c->bucket[i], *nx; e; e = nx) {
            nx = e->chain;
            size_t h = hash_key(e->part, e->unit, e->col, e->form) & (n - 1);
            e->chain = nb[h];
            nb[h] = e;
        }
    es_free(c->bucket);
    c->bucket = nb;
    c->n_buckets = n;
}

/* Under the mutex: evict from the tail, skipping nothing, while over `budget`; the evicted
 * entries are chained on *dead (through `chain`) for the caller to unreference unlocked.
 * token != 0: stop at an entry carrying it. */
static void evict(es_colcache *c, int64_t budget, uint64_t token, es_colent **dead)
{
    while (c->n.bytes > budget && c->tail && (token == 0 || c->tail->token != token)) {
        es_colent *e = c->tail;
        unlist(c, e);
        e->chain = *dead;
        *dead = e;
        c->n.evictions++;
    }
}

static void unref_chain(es_colent *dead)
{
    for (es_colent *nx; dead; dead = nx) {
        nx = dead->chain;
        colent_free(dead);
    }
}

void es_colcache_free(es_colcache *c)
{
    if (!c)
        return;
    es_colent *dead = NULL;
    pthread_mutex_lock(&c->mu);
    evict(c, -1, 0, &dead);
    pthread_mutex_unlock(&c->mu);
    unref_chain(dead);
    pthread_mutex_destroy(&c->mu);
    es_free(c->bucket);
    es_free(c);
}

void es_colcache_set_budget(es_colcache *c, int64_t budget)
{
    if (!c)
        return;
    es_colent *dead = NULL;
    pthread_mutex_lock(&c->mu);
    __atomic_store_n(&c->n.budget, budget > 0 ? budget : 0, __ATOMIC_RELAXED);
    evict(c, c->n.budget, 0, &dead);
    pthread_mutex_unlock(&c->mu);
    unref_chain(dead);
}

void es_colcache_stats_get(const es_colcache *c, es_colcache_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!c)
        return;
    es_colcache *m = (es_colcache *)c; /* the mutex only */
    pthread_mutex_lock(&m->mu);
    *out = c->n;
    pthread_mutex_unlock(&m->mu);
}

int64_t es_colcache_budget(const es_colcache *c)
{
    return c ? __atomic_load_n(&c->n.budget, __ATOMIC_RELAXED) : 0;
}

uint64_t es_colcache_token(es_colcache *c)
{
    if (!c)
        return 1;
    return __atomic_add_fetch(&c->next_token, 1, __ATOMIC_RELAXED);
}

es_array_ref *es_colcache_get(es_colcache *c, const es_colkey *k, uint64_t token)
{
    if (!c)
        return NULL;
    pthread_mutex_lock(&c->mu);
    es_colent *e = c->n.budget > 0 ? find(c, k) : NULL;
    es_array_ref *r = NULL;
    if (e) {
        r = es_array_ref_ref(e->arr);
        e->token = token;
        if (e != c->head) {
            lru_unlink(c, e);
            lru_push(c, e);
        }
        c->n.hits++;
    } else {
        c->n.misses++;
    }
    pthread_mutex_unlock(&c->mu);
    return r;
}

int es_colcache_has(es_colcache *c, const es_colkey *k)
{
    if (!c)
        return 0;
    pthread_mutex_lock(&c->mu);
    int r = c->n.budget > 0 && find(c, k) != NULL;
    pthread_mutex_unlock(&c->mu);
    return r;
}

/* The bytes of the buffers of a decoded column of type t (offset 0 as decoded). */
static int64_t column_bytes(const es_type *t, const struct ArrowArray *a)
{
    int64_t n = a->offset + a->length, b = 0;
    int nb = es_arrow_n_buffers(t);
    for (int i = 0; i < nb && i < a->n_buffers; i++) {
        if (!a->buffers[i])
            continue;
        int64_t need = es_arrow_buffer_need(t, i, 0, n, i == 2 ? a->buffers[1] : NULL);
        b += need > 0 ? need : 0;
    }
    return b + (int64_t)sizeof(es_colent) + 64; /* and the es_array_ref */
}

es_status es_colcache_put(es_array_ref **out, es_colcache *c, const es_colkey *k, uint64_t token,
                          const es_type *type, struct ArrowArray *moved, es_error *err)
{
    *out = NULL;
    int64_t bytes = column_bytes(type, moved);
    es_status st = es_array_ref_new(out, moved, err); /* the caller's reference */
    if (st)
        return st;
    if (es_colcache_budget(c) <= 0)
        return ES_OK;
    if (bytes > es_colcache_budget(c)) {
        pthread_mutex_lock(&c->mu);
        c->n.refused++;
        pthread_mutex_unlock(&c->mu);
        return ES_OK;
    }
    es_colent *e = es_calloc(1, sizeof(*e));
    if (!e)
        return ES_OK; /* not cached: nothing is lost */
    snprintf(e->part, sizeof(e->part), "%.*s", ES_ID_LEN, k->part);
    e->unit = k->unit;
    e->col = k->col;
    e->form = k->form;
    e->token = token;
    e->bytes = bytes;
    es_colent *dead = NULL, *old;
    pthread_mutex_lock(&c->mu);
    if ((old = find(c, k))) { /* decoded by another thread meanwhile: share that one */
        old->token = token;
        es_array_ref *mine = *out;
        *out = es_array_ref_ref(old->arr);
        e->arr = mine; /* freed below */
        e->chain = dead;
        dead = e;
    } else {
        evict(c, c->n.budget - e->bytes, token, &dead);
        if (c->n.bytes + e->bytes <= c->n.budget) {
            size_t h = hash_key(e->part, e->unit, e->col, e->form) & (c->n_buckets - 1);
            e->arr = es_array_ref_ref(*out); /* the cache's */
            e->chain = c->bucket[h];
            c->bucket[h] = e;
            lru_push(c, e);
            c->n.bytes += e->bytes;
            c->n.entries++;
            c->n.inserts++;
            grow(c);
        } else {
            c->n.refused++;
            e->chain = dead;
            dead = e;
        }
    }
    pthread_mutex_unlock(&c->mu);
    unref_chain(dead);
    return ES_OK;
}
