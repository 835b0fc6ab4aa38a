/*
 * test_objstore_cache: the read cache (cache+ URIs) over every backend like the conformance
 * suite (objstore_util.h): hits, misses, invalidation, concurrent fills, and the disk tier.
 */
#include <pthread.h>
#include <unistd.h>

#include "objstore_util.h"

/* ------------------------------------------------------------------ cache */

static void cache_fill_race(es_objstore *inner);

static void suite_cache(es_objstore *inner)
{
    es_error err = {0};
    es_objstore *c = NULL;
    es_cache_options opts = {1 << 20, NULL, 0};
    CHECK_OK(es_objstore_cache_wrap(&c, inner, 0, &opts, &err));
    if (!c)
        return;
    uint8_t d[20000];
    fill(d, sizeof d, 31);
    CHECK_OK(put_always(c, K("cache/a"), d, sizeof d));
    es_objstore_stats st;
    es_blob *b = NULL;
    es_objstore_reset_stats(inner);
    CHECK_OK(es_objstore_get(c, K("cache/a"), 1000, 500, &b, &err));
    CHECK(blob_eq(b, d + 1000, 500));
    es_blob_unref(b);
    es_objstore_get_stats(inner, &st);
    CHECK_EQ_INT(st.requests[ES_OP_GET], 1);
    /* The same range again, and a range inside it: no request to the inner store. */
    CHECK_OK(es_objstore_get(c, K("cache/a"), 1000, 500, &b, &err));
    CHECK(blob_eq(b, d + 1000, 500));
    es_blob_unref(b);
    CHECK_OK(es_objstore_get(c, K("cache/a"), 1100, 100, &b, &err));
    CHECK(blob_eq(b, d + 1100, 100));
    es_blob_unref(b);
    es_objstore_get_stats(inner, &st);
    CHECK_EQ_INT(st.requests[ES_OP_GET], 1);
    /* A whole-object read, then any range and head are served from memory. */
    CHECK_OK(es_objstore_get(c, K("cache/a"), 0, UINT64_MAX, &b, &err));
    CHECK(blob_eq(b, d, sizeof d));
    es_blob_unref(b);
    CHECK_OK(es_objstore_get(c, K("cache/a"), 19990, UINT64_MAX, &b, &err));
    CHECK(blob_eq(b, d + 19990, 10));
    es_blob_unref(b);
    es_obj_info info;
    CHECK_OK(es_objstore_head(c, K("cache/a"), &info, &err));
    CHECK_EQ_INT(info.size, sizeof d);
    CHECK_OK(es_objstore_head(c, K("cache/a"), &info, &err));
    es_objstore_get_stats(inner, &st);
    CHECK_EQ_INT(st.requests[ES_OP_GET], 2);
    CHECK(st.requests[ES_OP_HEAD] <= 1);
    es_cache_stats cs;
    CHECK_OK(es_objstore_cache_get_stats(c, &cs));
    CHECK(cs.hits >= 3);
    CHECK(cs.mem_bytes <= (int64_t)(1 << 20));
    /* Misses are not cached; a put through the cache drops stale entries. */
    CHECK_EQ_INT(es_objstore_get(c, K("cache/none"), 0, 10, &b, &err), ES_NOT_FOUND);
    CHECK_OK(put_always(c, K("cache/none"), d, 10));
    CHECK_EQ_INT(obj_is(c, K("cache/none"), d, 10), 1);
    CHECK_OK(put_always(c, K("cache/a"), d + 1, 100));
    CHECK_EQ_INT(obj_is(c, K("cache/a"), d + 1, 100), 1);
    /* The LRU bound: reading 3 MiB of ranges through a 1 MiB cache stays within budget and
     * evicts the oldest. */
    size_t big = (size_t)3 << 20;
    uint8_t *db = es_malloc(big);
    if (db) {
        fill(db, big, 32);
        CHECK_OK(put_always(inner, K("cache/big"), db, big));
        for (size_t off = 0; off < big; off += 256 << 10) {
            CHECK_OK(es_objstore_get(c, K("cache/big"), off, 256 << 10, &b, &err));
            CHECK(blob_eq(b, db + off, 256 << 10));
            es_blob_unref(b);
        }
        CHECK_OK(es_objstore_cache_get_stats(c, &cs));
        CHECK(cs.mem_bytes <= (int64_t)(1 << 20));
        es_objstore_reset_stats(inner);
        CHECK_OK(es_objstore_get(c, K("cache/big"), 0, 256 << 10, &b, &err));
        CHECK(blob_eq(b, db, 256 << 10));
        es_blob_unref(b);
        es_objstore_get_stats(inner, &st);
        CHECK_EQ_INT(st.requests[ES_OP_GET], 1); /* evicted: fetched again */
        es_free(db);
    }
    /* The suite's get_many through the cache. */
    suite_get_many(c);
    es_objstore_close(c);
    cache_fill_race(inner);
}

/* A store that forwards to `inner` and, when armed, holds a get's answer (already read) until
 * released: a slow response that overlaps a write. */
typedef struct gate_store {
    es_objstore base;
    es_objstore *inner;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int armed, waiting, released;
} gate_store;

static es_status gate_get(es_objstore *s, const char *key, uint64_t off, uint64_t len,
                          es_blob **out, es_error *err)
{
    gate_store *g = (gate_store *)s;
    es_status rc = es_objstore_get_once(g->inner, key, off, len, out, err);
    pthread_mutex_lock(&g->mu);
    if (g->armed) {
        g->armed = 0;
        g->waiting = 1;
        pthread_cond_broadcast(&g->cv);
        while (!g->released)
            pthread_cond_wait(&g->cv, &g->mu);
    }
    pthread_mutex_unlock(&g->mu);
    return rc;
}
static es_status gate_head(es_objstore *s, const char *key, es_obj_info *out, es_error *err)
{
    return es_objstore_head_once(((gate_store *)s)->inner, key, out, err);
}
static es_status gate_put(es_objstore *s, const char *key, const void *data, size_t len,
                          es_put_mode mode, const char *if_match, char *etag_out, es_error *err)
{
    return es_objstore_put_once(((gate_store *)s)->inner, key, data, len, mode, if_match, etag_out,
                                err);
}
static void gate_close(es_objstore *s)
{
    es_free(s->uri);
}
static const es_objstore_vtable gate_vt = {
    ES_OBJSTORE_VTABLE_VERSION, gate_get, NULL, gate_head, gate_put, NULL, NULL, gate_close, NULL};

typedef struct {
    es_objstore *c;
    const char *key;
    es_blob *got;
} gate_reader;

static void *gate_read(void *arg)
{
    gate_reader *r = arg;
    es_error err;
    if (es_objstore_get(r->c, r->key, 0, UINT64_MAX, &r->got, &err) != ES_OK)
        r->got = NULL;
    return NULL;
}

/* A get through the cache that read the old bytes, and answers only after a put through the
 * same cache completed, must not leave the old bytes cached. */
static void cache_fill_race(es_objstore *inner)
{
    gate_store g;
    memset(&g, 0, sizeof g);
    CHECK_OK(es_objstore_init_base(&g.base, &gate_vt, "gate://"));
    g.inner = inner;
    pthread_mutex_init(&g.mu, NULL);
    pthread_cond_init(&g.cv, NULL);
    es_objstore *c = NULL;
    es_error err;
    es_cache_options opts = {1 << 20, NULL, 0};
    CHECK_OK(es_objstore_cache_wrap(&c, &g.base, 0, &opts, &err));
    const char *key = K("cache/race");
    CHECK_OK(put_always(c, key, "old", 3));
    g.armed = 1;
    gate_reader r = {c, key, NULL};
    pthread_t th;
    pthread_create(&th, NULL, gate_read, &r);
    pthread_mutex_lock(&g.mu);
    while (!g.waiting)
        pthread_cond_wait(&g.cv, &g.mu);
    pthread_mutex_unlock(&g.mu);
    CHECK_OK(put_always(c, key, "new", 3)); /* while the reader holds "old" */
    pthread_mutex_lock(&g.mu);
    g.released = 1;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    pthread_join(th, NULL);
    CHECK(r.got && blob_eq(r.got, "old", 3));
    es_blob_unref(r.got);
    CHECK_EQ_INT(obj_is(c, key, "new", 3), 1);
    es_objstore_close(c);
    es_objstore_close(&g.base);
    pthread_cond_destroy(&g.cv);
    pthread_mutex_destroy(&g.mu);
}

static void suite_cache_disk(es_objstore *inner, const char *dir)
{
    es_error err = {0};
    es_objstore *c = NULL;
    es_cache_options opts = {4096, dir, 1 << 20};
    CHECK_OK(es_objstore_cache_wrap(&c, inner, 0, &opts, &err));
    if (!c)
        return;
    uint8_t d[50000];
    fill(d, sizeof d, 41);
    CHECK_OK(put_always(inner, K("dc/a"), d, sizeof d));
    es_blob *b = NULL;
    es_objstore_stats st;
    es_objstore_reset_stats(inner);
    CHECK_OK(es_objstore_get(c, K("dc/a"), 0, 40000, &b, &err));
    CHECK(blob_eq(b, d, 40000));
    es_blob_unref(b);
    /* Too big for the 4 KiB memory tier, so the second read comes from disk. */
    CHECK_OK(es_objstore_get(c, K("dc/a"), 0, 40000, &b, &err));
    CHECK(blob_eq(b, d, 40000));
    es_blob_unref(b);
    es_objstore_get_stats(inner, &st);
    CHECK_EQ_INT(st.requests[ES_OP_GET], 1);
    es_cache_stats cs;
    CHECK_OK(es_objstore_cache_get_stats(c, &cs));
    CHECK(cs.disk_hits >= 1);
    es_objstore_close(c);
    /* A new cache over the same directory starts warm. */
    CHECK_OK(es_objstore_cache_wrap(&c, inner, 0, &opts, &err));
    if (!c)
        return;
    CHECK_OK(es_objstore_get(c, K("dc/a"), 0, 40000, &b, &err));
    CHECK(blob_eq(b, d, 40000));
    es_blob_unref(b);
    es_objstore_get_stats(inner, &st);
    CHECK_EQ_INT(st.requests[ES_OP_GET], 1);
    es_objstore_close(c);
}

/* ---------------------------------------------------------------- drivers */

static void run_uri(const char *uri, const char *name, int race_rounds)
{
    (void)race_rounds;
    es_objstore *s = open_uri(uri);
    if (!s)
        return;
    es_os_set_durable(0);
    if (want("cache")) {
        printf("== %s: read cache\n", name);
        new_prefix();
        suite_cache(s);
        delete_prefix(s);
    }
    es_objstore_close(s);
    es_os_set_durable(1);
}

/* The cache's disk tier, in a directory under root. */
static void disk_tier(const char *root)
{
    char cdir[64];
    snprintf(cdir, sizeof cdir, "%s/cache", root);
    es_objstore *m = NULL;
    es_error err = {0};
    if (es_objstore_open(&m, "mem://", &err) == ES_OK) {
        printf("== cache with a disk tier\n");
        new_prefix();
        suite_cache_disk(m, cdir);
        es_objstore_close(m);
    }
}

int main(int argc, char **argv)
{
    return objstore_main(argc, argv, run_uri, disk_tier);
}
