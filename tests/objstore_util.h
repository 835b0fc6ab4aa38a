/*
 * objstore_util.h: what the object store tests share (test_objstore: the conformance suite;
 * test_objstore_faults: fault loops, races, allocation failures; test_objstore_cache: the read
 * cache): keys under a fresh random prefix per run, object contents, ES_TEST_SECTIONS, and the
 * driver that runs a test's sections on the built-in backends (mem://, a local temporary
 * directory) and on the store given as the first argument or in ES_TEST_STORE_URI:
 *
 *   test_objstore*                      built-in backends
 *   test_objstore* s3://bucket/prefix   built-in backends, then the same sections on that store
 *   ES_TEST_STORE_URI=... ES_TEST_STORE_ONLY=1 test_objstore*   only the given store
 *   ES_TEST_LIST_KEYS=N                 keys in the pagination test (default 2500)
 *   ES_TEST_RACE_ROUNDS=N               rounds of the races on the given store (default 50)
 *   ES_TEST_SECTIONS=basic,list,...     only these sections (see want())
 *
 * Every run works under a fresh random key prefix and deletes what it wrote, so it can run
 * against a shared bucket.
 */
#ifndef ES_TEST_OBJSTORE_UTIL_H
#define ES_TEST_OBJSTORE_UTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "testutil.h"
#include "objstore/objstore.h"
#include "os/os.h"
#include "util/util.h"

#pragma GCC diagnostic ignored "-Wunused-function"

static char P[64]; /* the key prefix of the current run, "t<hex>/" */

/* A key under the current prefix; returns one of 8 rotating static buffers. */
static const char *K(const char *fmt, ...) ES_PRINTF(1, 2);
static const char *K(const char *fmt, ...)
{
    static char bufs[8][1200];
    static int next;
    char *b = bufs[next++ & 7];
    size_t n = (size_t)snprintf(b, sizeof bufs[0], "%s", P);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b + n, sizeof bufs[0] - n, fmt, ap);
    va_end(ap);
    return b;
}

static void new_prefix(void)
{
    snprintf(P, sizeof P, "t%016llx/", (unsigned long long)es_random_u64());
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
}

static int blob_eq(const es_blob *b, const void *p, size_t n)
{
    return b && b->size == n && (n == 0 || memcmp(b->data, p, n) == 0);
}

/* 1: the object holds exactly (p, n); 0: absent; -1: something else or an error. */
static int obj_is(es_objstore *s, const char *key, const void *p, size_t n)
{
    es_blob *b = NULL;
    es_error err = {0};
    es_status rc = es_objstore_get(s, key, 0, UINT64_MAX, &b, &err);
    if (rc == ES_NOT_FOUND)
        return 0;
    int r = (rc == ES_OK && blob_eq(b, p, n)) ? 1 : -1;
    es_blob_unref(b);
    return r;
}

static es_status put_always(es_objstore *s, const char *key, const void *p, size_t n)
{
    es_error err = {0};
    es_status rc = es_objstore_put(s, key, p, n, ES_PUT_ALWAYS, NULL, NULL, &err);
    if (rc != ES_OK)
        fprintf(stderr, "put %s: %s\n", key, err.msg);
    return rc;
}

/* Delete every key under the current prefix (paged). */
static void delete_prefix(es_objstore *s)
{
    for (int guard = 0; guard < 1000; guard++) {
        es_obj_list l = {0};
        es_error err = {0};
        if (es_objstore_list(s, P, NULL, 1000, &l, &err) != ES_OK || l.n == 0) {
            es_obj_list_reset(&l);
            return;
        }
        const char **keys = es_calloc((size_t)l.n, sizeof *keys);
        if (!keys) {
            es_obj_list_reset(&l);
            return;
        }
        for (int64_t i = 0; i < l.n; i++)
            keys[i] = l.items[i].key;
        es_objstore_delete(s, keys, l.n, &err);
        es_free(keys);
        es_obj_list_reset(&l);
    }
}

/* ES_TEST_SECTIONS (comma-separated: basic,get_many,list,counters,keys,fault,race,nomem,
 * cache) limits a run to some sections (want(), testutil.h); unset runs everything. */

/* get_many: a section of the conformance suite, also run through the read cache. */

static void suite_get_many(es_objstore *s)
{
    es_error err = {0};
    uint8_t d[5000];
    fill(d, sizeof d, 11);
    CHECK_OK(put_always(s, K("gm/a"), d, sizeof d));
    CHECK_OK(put_always(s, K("gm/b"), d, 1000));
    es_range_req r[5] = {
        {K("gm/a"), 0, UINT64_MAX, NULL, ES_INTERNAL},
        {K("gm/a"), 4000, 500, NULL, ES_INTERNAL},
        {K("gm/b"), 900, 500, NULL, ES_INTERNAL},
    };
    CHECK_OK(es_objstore_get_many(s, r, 3, &err));
    CHECK(r[0].status == ES_OK && blob_eq(r[0].out, d, sizeof d));
    CHECK(r[1].status == ES_OK && blob_eq(r[1].out, d + 4000, 500));
    CHECK(r[2].status == ES_OK && blob_eq(r[2].out, d + 900, 100));
    for (int i = 0; i < 3; i++)
        es_blob_unref(r[i].out);
    es_range_req q[3] = {
        {K("gm/a"), 10, 10, NULL, ES_INTERNAL},
        {K("gm/missing"), 0, 10, NULL, ES_INTERNAL},
        {K("gm/b"), 0, 10, NULL, ES_INTERNAL},
    };
    CHECK_EQ_INT(es_objstore_get_many(s, q, 3, &err), ES_NOT_FOUND);
    CHECK(q[0].status == ES_OK && blob_eq(q[0].out, d + 10, 10));
    CHECK(q[1].status == ES_NOT_FOUND && q[1].out == NULL);
    CHECK(q[2].status == ES_OK && blob_eq(q[2].out, d, 10));
    for (int i = 0; i < 3; i++)
        es_blob_unref(q[i].out);
    CHECK_OK(es_objstore_get_many(s, NULL, 0, &err));
    /* A bad key fails alone. */
    es_range_req v[2] = {
        {"../bad", 0, 10, NULL, ES_OK},
        {K("gm/b"), 0, 10, NULL, ES_INTERNAL},
    };
    CHECK_EQ_INT(es_objstore_get_many(s, v, 2, &err), ES_INVALID);
    CHECK(strstr(err.msg, "../bad") != NULL);
    CHECK(v[0].status == ES_INVALID && v[0].out == NULL);
    CHECK(v[1].status == ES_OK && blob_eq(v[1].out, d, 10));
    es_blob_unref(v[1].out);
}

/* A test's sections on one store: run(uri, name, race_rounds). */
typedef void (*objstore_run_fn)(const char *uri, const char *name, int race_rounds);

/* Open uri for a run; NULL (a failed check) when it cannot. */
static es_objstore *open_uri(const char *uri)
{
    es_objstore *s = NULL;
    es_error err = {0};
    if (es_objstore_open(&s, uri, &err) != ES_OK) {
        fprintf(stderr, "%s: cannot open: %s\n", uri, err.msg);
        CHECK(0);
        return NULL;
    }
    return s;
}

/* The main of an object store test: run on mem:// and on a local directory (then local(), when
 * not NULL, with the directory's root, which is removed afterwards), unless ES_TEST_STORE_ONLY
 * is set with a store; then on the store given as argv[1] or in ES_TEST_STORE_URI. */
static int objstore_main(int argc, char **argv, objstore_run_fn run,
                         void (*local)(const char *root))
{
    /* Small delays so retry loops stay fast. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    es_retry_policy rp = {5, 100 * 1000, 2 * 1000 * 1000};
    es_objstore_set_retry(&rp);
    const char *uri = argc > 1 ? argv[1] : getenv("ES_TEST_STORE_URI");
    if (uri && !*uri)
        uri = NULL;
    const char *only = getenv("ES_TEST_STORE_ONLY");
    if (!(uri && only && *only && strcmp(only, "0") != 0)) {
        char root[] = "/tmp/es-objstore-XXXXXX";
        es_error err = {0};
        if (es_os_make_temp_dir(root, &err) != ES_OK) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        char store[64];
        snprintf(store, sizeof store, "%s/store", root);
        run("mem://conformance", "mem", 200);
        es_objstore_mem_drop("conformance");
        run(store, "local", 200);
        if (local)
            local(root);
        CHECK_OK(es_os_remove_tree(root, &err));
    }
    if (uri) {
        const char *r = getenv("ES_TEST_RACE_ROUNDS");
        /* A real server under load may need real backoff: the fault loops only inject
         * single failures, so a gentler policy costs nothing there. */
        es_retry_policy remote = {6, 20 * 1000 * 1000, 500 * 1000 * 1000};
        es_objstore_set_retry(&remote);
        run(uri, uri, r ? atoi(r) : 50);
    }
    return CHECK_DONE();
}

#endif /* ES_TEST_OBJSTORE_UTIL_H */
