/*
 * test_objstore: the object store conformance suite. The same checks run against every
 * backend: the local directory backend (a temporary directory under /tmp, removed at the end),
 * mem://, both wrapped in the fault store, and any store URI given as the first command-line
 * argument or in ES_TEST_STORE_URI (for example s3://bucket/prefix against a real S3 server).
 *
 *   test_objstore                      built-in backends
 *   test_objstore s3://bucket/prefix   built-in backends, then the same suite on that store
 *   ES_TEST_STORE_URI=... ES_TEST_STORE_ONLY=1 test_objstore   only the given store
 *   ES_TEST_LIST_KEYS=N                keys in the pagination test (default 2500)
 *   ES_TEST_RACE_ROUNDS=N              rounds of the races on the given store (default 50)
 *   ES_TEST_SECTIONS=basic,list,...    only these sections (see want())
 *
 * Every run works under a fresh random key prefix and deletes what it wrote, so it can run
 * against a shared bucket. Sections: basic get/head/put modes, empty and large objects,
 * get_many, listing (prefix, start_after, pagination, byte order), delete many, counters, key
 * validation, fault loops (fail the Nth request of each kind transiently -> still succeeds
 * through retries; permanently -> clear error and only whole objects visible), crash after the
 * Nth put, races (threads; processes with fork), the read cache.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdatomic.h>

#include "check.h"
#include "objstore/objstore.h"
#include "os/os.h"
#include "util/util.h"

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

/* ------------------------------------------------------------------ basic */

static void suite_basic(es_objstore *s)
{
    es_error err = {0};
    es_blob *b = NULL;
    es_obj_info info;
    enum { N = 10000 };
    static uint8_t d1[N], d2[N];
    fill(d1, N, 1);
    fill(d2, N, 2);

    /* Missing objects. */
    CHECK_EQ_INT(es_objstore_get(s, K("missing"), 0, UINT64_MAX, &b, &err), ES_NOT_FOUND);
    CHECK(b == NULL);
    CHECK(strstr(err.msg, "missing") != NULL);
    CHECK_EQ_INT(es_objstore_head(s, K("missing"), &info, &err), ES_NOT_FOUND);
    CHECK_EQ_INT(es_objstore_get(s, K("dir/missing"), 0, 10, &b, &err), ES_NOT_FOUND);

    /* Put, whole and range reads. */
    char etag1[ES_ETAG_MAX] = "", etag2[ES_ETAG_MAX] = "";
    CHECK_OK(es_objstore_put(s, K("a/b.bin"), d1, N, ES_PUT_ALWAYS, NULL, etag1, &err));
    CHECK(etag1[0] != 0);
    CHECK_OK(es_objstore_get(s, K("a/b.bin"), 0, UINT64_MAX, &b, &err));
    CHECK(blob_eq(b, d1, N));
    es_blob_unref(b);
    CHECK_OK(es_objstore_get(s, K("a/b.bin"), 100, 50, &b, &err));
    CHECK(blob_eq(b, d1 + 100, 50));
    es_blob_unref(b);
    /* A range past the end is clipped; offset == size gives 0 bytes; offset > size fails. */
    CHECK_OK(es_objstore_get(s, K("a/b.bin"), N - 10, 100, &b, &err));
    CHECK(blob_eq(b, d1 + N - 10, 10));
    es_blob_unref(b);
    CHECK_OK(es_objstore_get(s, K("a/b.bin"), N, UINT64_MAX, &b, &err));
    CHECK(b && b->size == 0);
    es_blob_unref(b);
    CHECK_EQ_INT(es_objstore_get(s, K("a/b.bin"), N + 1, 5, &b, &err), ES_INVALID);
    CHECK(b == NULL);
    CHECK_OK(es_objstore_get(s, K("a/b.bin"), 7, 0, &b, &err));
    CHECK(b && b->size == 0);
    es_blob_unref(b);

    /* head */
    CHECK_OK(es_objstore_head(s, K("a/b.bin"), &info, &err));
    CHECK_EQ_INT(info.size, N);
    CHECK_EQ_STR(info.etag, etag1);
    CHECK(info.key == NULL);

    /* Overwrite: new content, new etag; a blob from before keeps the old bytes. */
    es_blob *old = NULL;
    CHECK_OK(es_objstore_get(s, K("a/b.bin"), 0, UINT64_MAX, &old, &err));
    CHECK_OK(es_objstore_put(s, K("a/b.bin"), d2, N - 1, ES_PUT_ALWAYS, NULL, etag2, &err));
    CHECK(strcmp(etag1, etag2) != 0);
    CHECK_EQ_INT(obj_is(s, K("a/b.bin"), d2, N - 1), 1);
    CHECK(blob_eq(old, d1, N));
    es_blob_unref(old);
    CHECK_OK(es_objstore_head(s, K("a/b.bin"), &info, &err));
    CHECK_EQ_INT(info.size, N - 1);
    CHECK_EQ_STR(info.etag, etag2);

    /* Empty object. */
    CHECK_OK(es_objstore_put(s, K("empty"), NULL, 0, ES_PUT_ALWAYS, NULL, NULL, &err));
    CHECK_EQ_INT(obj_is(s, K("empty"), "", 0), 1);
    CHECK_OK(es_objstore_head(s, K("empty"), &info, &err));
    CHECK_EQ_INT(info.size, 0);

    /* A large object (mmap on the local backend) and a range in its middle. */
    size_t big = (size_t)3 << 20;
    uint8_t *dbig = es_malloc(big);
    CHECK(dbig != NULL);
    if (dbig) {
        fill(dbig, big, 7);
        CHECK_OK(put_always(s, K("big"), dbig, big));
        CHECK_EQ_INT(obj_is(s, K("big"), dbig, big), 1);
        CHECK_OK(es_objstore_get(s, K("big"), 1000001, (uint64_t)2 << 20, &b, &err));
        CHECK(blob_eq(b, dbig + 1000001, (size_t)2 << 20));
        es_blob_unref(b);
        es_free(dbig);
    }

    /* Conditional puts. */
    if (!s->cas_supported) {
        printf("  (conditional puts not supported by %s: skipped)\n", s->uri);
        return;
    }
    char e3[ES_ETAG_MAX] = "";
    CHECK_OK(es_objstore_put(s, K("c/x"), d1, 100, ES_PUT_IF_ABSENT, NULL, e3, &err));
    CHECK(e3[0] != 0);
    CHECK_EQ_INT(es_objstore_put(s, K("c/x"), d2, 200, ES_PUT_IF_ABSENT, NULL, NULL, &err),
                 ES_EXISTS);
    CHECK(strstr(err.msg, "c/x") != NULL);
    CHECK_EQ_INT(obj_is(s, K("c/x"), d1, 100), 1);
    /* IF_MATCH: right etag wins, a stale etag loses. */
    char e4[ES_ETAG_MAX] = "";
    CHECK_OK(es_objstore_put(s, K("c/x"), d2, 200, ES_PUT_IF_MATCH, e3, e4, &err));
    CHECK(e4[0] != 0 && strcmp(e3, e4) != 0);
    CHECK_EQ_INT(obj_is(s, K("c/x"), d2, 200), 1);
    CHECK_EQ_INT(es_objstore_put(s, K("c/x"), d1, 300, ES_PUT_IF_MATCH, e3, NULL, &err), ES_EXISTS);
    CHECK_EQ_INT(obj_is(s, K("c/x"), d2, 200), 1);
    CHECK_OK(es_objstore_head(s, K("c/x"), &info, &err));
    CHECK_EQ_STR(info.etag, e4);
    /* IF_MATCH on a missing key fails (ES_EXISTS, or ES_NOT_FOUND from some servers). */
    es_status rc = es_objstore_put(s, K("c/none"), d1, 10, ES_PUT_IF_MATCH, e4, NULL, &err);
    CHECK(rc == ES_EXISTS || rc == ES_NOT_FOUND);
    CHECK_EQ_INT(obj_is(s, K("c/none"), d1, 10), 0);
    /* IF_MATCH without an etag is misuse. */
    CHECK_EQ_INT(es_objstore_put(s, K("c/x"), d1, 10, ES_PUT_IF_MATCH, NULL, NULL, &err),
                 ES_INVALID);
    /* IF_ABSENT after a delete succeeds again. */
    const char *dk[] = {K("c/x")};
    CHECK_OK(es_objstore_delete(s, dk, 1, &err));
    CHECK_OK(es_objstore_put(s, K("c/x"), d1, 50, ES_PUT_IF_ABSENT, NULL, NULL, &err));
    CHECK_EQ_INT(obj_is(s, K("c/x"), d1, 50), 1);
}

/* ---------------------------------------------------------------- get_many */

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

/* ------------------------------------------------------------------- list */

static int list_keys_default(void)
{
    const char *e = getenv("ES_TEST_LIST_KEYS");
    int n = e ? atoi(e) : 2500;
    return n > 0 ? n : 2500;
}

static void suite_list(es_objstore *s, int nkeys)
{
    es_error err = {0};
    es_obj_list l = {0};
    char body[64];

    /* Bulk load without fsync on the local backend (durability is not the subject here;
     * the basic section ran durably). */
    es_os_set_durable(0);
    for (int i = 0; i < nkeys; i++) {
        int n = snprintf(body, sizeof body, "key %d", i);
        if (put_always(s, K("l/k%05d", i), body, (size_t)n) != ES_OK) {
            CHECK(0);
            es_os_set_durable(1);
            return;
        }
    }
    es_os_set_durable(1);
    /* Pages of 1000: every key once, in order, the right sizes. */
    char last[1100] = "";
    int seen = 0, pages = 0, in_order = 1, sizes_ok = 1;
    for (;;) {
        CHECK_OK(es_objstore_list(s, K("l/"), seen ? last : NULL, 1000, &l, &err));
        pages++;
        for (int64_t i = 0; i < l.n; i++) {
            char want[1100];
            snprintf(want, sizeof want, "%sl/k%05d", P, seen);
            if (strcmp(l.items[i].key, want) != 0)
                in_order = 0;
            if (l.items[i].size != (uint64_t)snprintf(body, sizeof body, "key %d", seen))
                sizes_ok = 0;
            seen++;
        }
        int more = l.truncated;
        if (l.n > 0)
            snprintf(last, sizeof last, "%s", l.items[l.n - 1].key);
        CHECK(more ? l.n == 1000 : l.n == (nkeys - 1) % 1000 + 1);
        es_obj_list_reset(&l);
        if (!more || pages > nkeys / 1000 + 2)
            break;
    }
    CHECK_EQ_INT(seen, nkeys);
    CHECK_EQ_INT(pages, (nkeys + 999) / 1000);
    CHECK(in_order);
    CHECK(sizes_ok);

    /* Default page size (max_keys 0) is at most 1000. */
    CHECK_OK(es_objstore_list(s, K("l/"), NULL, 0, &l, &err));
    CHECK(l.n == (nkeys < 1000 ? nkeys : 1000));
    es_obj_list_reset(&l);
    /* Small pages. */
    CHECK_OK(es_objstore_list(s, K("l/"), NULL, 7, &l, &err));
    CHECK_EQ_INT(l.n, 7);
    CHECK(l.truncated);
    CHECK(l.n == 7 && strcmp(l.items[6].key, K("l/k00006")) == 0);
    es_obj_list_reset(&l);
    /* A prefix ending inside a segment. */
    if (nkeys >= 200) {
        CHECK_OK(es_objstore_list(s, K("l/k001"), NULL, 1000, &l, &err));
        CHECK_EQ_INT(l.n, 100);
        CHECK(!l.truncated);
        CHECK(l.n == 100 && strcmp(l.items[0].key, K("l/k00100")) == 0 &&
              strcmp(l.items[99].key, K("l/k00199")) == 0);
        es_obj_list_reset(&l);
    }
    /* start_after in the middle, and start_after not itself a key. */
    CHECK_OK(es_objstore_list(s, K("l/"), K("l/k00004"), 3, &l, &err));
    CHECK(l.n == 3 && strcmp(l.items[0].key, K("l/k00005")) == 0);
    es_obj_list_reset(&l);
    CHECK_OK(es_objstore_list(s, K("l/"), K("l/k00004x"), 2, &l, &err));
    CHECK(l.n == 2 && strcmp(l.items[0].key, K("l/k00005")) == 0);
    es_obj_list_reset(&l);
    /* start_after past everything, and a prefix with no keys. */
    CHECK_OK(es_objstore_list(s, K("l/"), K("l/z"), 10, &l, &err));
    CHECK(l.n == 0 && !l.truncated);
    es_obj_list_reset(&l);
    CHECK_OK(es_objstore_list(s, K("nothing/"), NULL, 10, &l, &err));
    CHECK(l.n == 0 && !l.truncated);
    es_obj_list_reset(&l);

    /* Byte order across "directories": '-' < '.' < '/' < '=' < 'a'. */
    const char *names[] = {"s/a=1", "s/a/b", "s/a-b", "s/a.c", "s/a/a/z", "s/ab"};
    const char *sorted[] = {"s/a-b", "s/a.c", "s/a/a/z", "s/a/b", "s/a=1", "s/ab"};
    for (int i = 0; i < 6; i++)
        CHECK_OK(put_always(s, K("%s", names[i]), "x", 1));
    CHECK_OK(es_objstore_list(s, K("s/"), NULL, 100, &l, &err));
    CHECK_EQ_INT(l.n, 6);
    for (int64_t i = 0; i < l.n && i < 6; i++)
        CHECK_EQ_STR(l.items[i].key, K("%s", sorted[i]));
    es_obj_list_reset(&l);
    CHECK_OK(es_objstore_list(s, K("s/a"), K("s/a.c"), 2, &l, &err));
    CHECK(l.n == 2 && l.truncated);
    if (l.n == 2) {
        CHECK_EQ_STR(l.items[0].key, K("s/a/a/z"));
        CHECK_EQ_STR(l.items[1].key, K("s/a/b"));
    }
    es_obj_list_reset(&l);

    /* Delete many at once, including a missing key. */
    const char **keys = es_calloc((size_t)nkeys + 1, sizeof *keys);
    char *kbuf = es_malloc(((size_t)nkeys + 1) * 1100);
    CHECK(keys && kbuf);
    if (keys && kbuf) {
        for (int i = 0; i <= nkeys; i++) {
            snprintf(kbuf + (size_t)i * 1100, 1100, "%sl/k%05d", P, i == nkeys ? 99999 : i);
            keys[i] = kbuf + (size_t)i * 1100;
        }
        CHECK_OK(es_objstore_delete(s, keys, nkeys + 1, &err));
        CHECK_OK(es_objstore_list(s, K("l/"), NULL, 1000, &l, &err));
        CHECK_EQ_INT(l.n, 0);
        es_obj_list_reset(&l);
        CHECK_EQ_INT(obj_is(s, K("l/k00000"), "", 0), 0);
    }
    es_free(keys);
    es_free(kbuf);
    /* Deleting nothing, and deleting a missing key, are fine. */
    CHECK_OK(es_objstore_delete(s, NULL, 0, &err));
    const char *missing[] = {K("never/was")};
    CHECK_OK(es_objstore_delete(s, missing, 1, &err));
}

/* --------------------------------------------------------------- counters */

static void suite_counters(es_objstore *s)
{
    es_error err = {0};
    es_objstore_stats st;
    es_blob *b = NULL;
    es_obj_info info;
    es_obj_list l = {0};
    uint8_t d[100];
    fill(d, sizeof d, 5);
    es_objstore_reset_stats(s);
    es_objstore_get_stats(s, &st);
    for (int i = 0; i < ES_OP_COUNT; i++)
        CHECK(st.requests[i] == 0 && st.bytes_in[i] == 0 && st.bytes_out[i] == 0 &&
              st.errors[i] == 0);
    CHECK_OK(put_always(s, K("cnt/a"), d, 100));
    CHECK_OK(es_objstore_get(s, K("cnt/a"), 0, UINT64_MAX, &b, &err));
    es_blob_unref(b);
    CHECK_OK(es_objstore_get(s, K("cnt/a"), 10, 10, &b, &err));
    es_blob_unref(b);
    CHECK_EQ_INT(es_objstore_get(s, K("cnt/none"), 0, 10, &b, &err), ES_NOT_FOUND);
    CHECK_EQ_INT(es_objstore_get(s, K("cnt/a"), 500, 10, &b, &err), ES_INVALID);
    CHECK_OK(es_objstore_head(s, K("cnt/a"), &info, &err));
    CHECK_OK(es_objstore_list(s, K("cnt/"), NULL, 10, &l, &err));
    es_obj_list_reset(&l);
    const char *k[] = {K("cnt/a")};
    CHECK_OK(es_objstore_delete(s, k, 1, &err));
    es_objstore_get_stats(s, &st);
    CHECK_EQ_INT(st.requests[ES_OP_PUT], 1);
    CHECK_EQ_INT(st.bytes_out[ES_OP_PUT], 100);
    CHECK_EQ_INT(st.requests[ES_OP_GET], 4);
    CHECK_EQ_INT(st.bytes_in[ES_OP_GET], 110);
    CHECK_EQ_INT(st.errors[ES_OP_GET], 1); /* the bad range; NOT_FOUND is an answer */
    CHECK_EQ_INT(st.requests[ES_OP_HEAD], 1);
    CHECK_EQ_INT(st.requests[ES_OP_LIST], 1);
    CHECK_EQ_INT(st.requests[ES_OP_DELETE], 1);
    CHECK_EQ_INT(st.errors[ES_OP_PUT] + st.errors[ES_OP_HEAD] + st.errors[ES_OP_LIST], 0);
    es_objstore_reset_stats(s);
    es_objstore_get_stats(s, &st);
    CHECK_EQ_INT(st.requests[ES_OP_GET] + st.requests[ES_OP_PUT], 0);
}

/* ---------------------------------------------------------- key validation */

static void suite_keys(es_objstore *s)
{
    es_error err = {0};
    es_blob *b = NULL;
    es_obj_info info;
    es_obj_list l = {0};
    static char longkey[1100];
    memset(longkey, 'a', 1025);
    longkey[1025] = 0;
    const char *bad[] = {"",      "/abs",  "a//b",     "a/",   "../x",  "a/../b", "a/./b",
                         ".",     "..",    "a\\b",     "a\nb", "a\x01", "a\x7f",  "a b",
                         "a/b/.", "a~tmp", "\xc3\xa9", NULL,   longkey};
    int nbad = (int)(sizeof bad / sizeof bad[0]);
    es_objstore_reset_stats(s);
    for (int i = 0; i < nbad; i++) {
        const char *k = bad[i];
        memset(&err, 0, sizeof err);
        CHECK_EQ_INT(es_objstore_check_key(k, &err), ES_INVALID);
        CHECK(err.msg[0] != 0 && strchr(err.msg, '\n') == NULL);
        CHECK_EQ_INT(es_objstore_get(s, k, 0, 1, &b, &err), ES_INVALID);
        CHECK_EQ_INT(es_objstore_head(s, k, &info, &err), ES_INVALID);
        CHECK_EQ_INT(es_objstore_put(s, k, "x", 1, ES_PUT_ALWAYS, NULL, NULL, &err), ES_INVALID);
        CHECK_EQ_INT(es_objstore_put(s, k, "x", 1, ES_PUT_IF_ABSENT, NULL, NULL, &err), ES_INVALID);
        CHECK_EQ_INT(es_objstore_delete(s, &k, 1, &err), ES_INVALID);
        es_range_req r = {k, 0, 1, NULL, ES_OK};
        CHECK_EQ_INT(es_objstore_get_many(s, &r, 1, &err), ES_INVALID);
    }
    CHECK_EQ_INT(es_objstore_list(s, "../", NULL, 10, &l, &err), ES_INVALID);
    CHECK_EQ_INT(es_objstore_list(s, "/x", NULL, 10, &l, &err), ES_INVALID);
    CHECK_EQ_INT(es_objstore_list(s, "a//", NULL, 10, &l, &err), ES_INVALID);
    /* Nothing reached the backend. */
    es_objstore_stats st;
    es_objstore_get_stats(s, &st);
    int64_t reqs = 0;
    for (int i = 0; i < ES_OP_COUNT; i++)
        reqs += st.requests[i];
    CHECK_EQ_INT(reqs, 0);
    /* The message names the key. */
    es_objstore_put(s, "x/../../etc/passwd", "x", 1, ES_PUT_ALWAYS, NULL, NULL, &err);
    CHECK(strstr(err.msg, "x/../../etc/passwd") != NULL);

    /* Valid edge cases: every allowed character, and exactly 1024 bytes. */
    CHECK_OK(es_objstore_check_key("A-z_0.9=x/y", &err));
    CHECK_OK(put_always(s, K("A-z_0.9=x/.hidden/y..z"), "v", 1));
    CHECK_EQ_INT(obj_is(s, K("A-z_0.9=x/.hidden/y..z"), "v", 1), 1);
    static char k1024[1100];
    size_t pl = strlen(P), n = 0;
    memcpy(k1024, P, pl);
    n = pl;
    while (n < 1024) {
        size_t seg = 1024 - n > 201 ? 200 : 1024 - n;
        memset(k1024 + n, 'k', seg);
        n += seg;
        if (n < 1024)
            k1024[n++] = '/';
    }
    if (k1024[1023] == '/')
        k1024[1023] = 'k';
    k1024[1024] = 0;
    CHECK_EQ_INT(strlen(k1024), 1024);
    CHECK_OK(es_objstore_check_key(k1024, &err));
    /* A remote store may put its own prefix before our keys, and S3 limits whole keys to 1024
     * bytes: round-trip the longest key on local and mem, a shorter one everywhere. */
    if (strncmp(s->uri, "s3://", 5) != 0 && !strstr(s->uri, "+s3://")) {
        CHECK_OK(put_always(s, k1024, "long", 4));
        CHECK_EQ_INT(obj_is(s, k1024, "long", 4), 1);
    }
    k1024[900] = 0;
    CHECK_OK(put_always(s, k1024, "long", 4));
    CHECK_EQ_INT(obj_is(s, k1024, "long", 4), 1);
    k1024[900] = 'k';
    k1024[1024] = 'k';
    k1024[1025] = 0;
    CHECK_EQ_INT(es_objstore_check_key(k1024, &err), ES_INVALID);
}

/* ------------------------------------------------------------ fault loops */

/* The workload of the fault loops: ten steps over keys f/a and f/b. Returns ES_OK, or the
 * status of the first failing step (in *step). */
enum { VA = 1000, VA2 = 1500, VB = 700 };
static uint8_t va[VA], va2[VA2], vb[VB];

static es_status workload(es_objstore *s, int cas, int *step, es_error *err)
{
    es_blob *b = NULL;
    es_obj_info info;
    es_obj_list l = {0};
    es_status rc;
    int ok;
#define STEP(n, call)                                                                              \
    do {                                                                                           \
        *step = (n);                                                                               \
        if ((rc = (call)) != ES_OK)                                                                \
            return rc;                                                                             \
    } while (0)
    STEP(1, es_objstore_put(s, K("f/a"), va, VA, ES_PUT_ALWAYS, NULL, NULL, err));
    STEP(2, es_objstore_get(s, K("f/a"), 0, UINT64_MAX, &b, err));
    ok = blob_eq(b, va, VA);
    es_blob_unref(b);
    if (!ok)
        return es_error_set(err, ES_CORRUPT, 0, "f/a: wrong content");
    STEP(3, es_objstore_get(s, K("f/a"), 100, 200, &b, err));
    ok = blob_eq(b, va + 100, 200);
    es_blob_unref(b);
    if (!ok)
        return es_error_set(err, ES_CORRUPT, 0, "f/a: wrong range");
    STEP(4, es_objstore_head(s, K("f/a"), &info, err));
    if (info.size != VA)
        return es_error_set(err, ES_CORRUPT, 0, "f/a: wrong size");
    STEP(5, es_objstore_put(s, K("f/b"), vb, VB, cas ? ES_PUT_IF_ABSENT : ES_PUT_ALWAYS, NULL, NULL,
                            err));
    STEP(6, es_objstore_list(s, K("f/"), NULL, 100, &l, err));
    ok = l.n == 2;
    es_obj_list_reset(&l);
    if (!ok)
        return es_error_set(err, ES_CORRUPT, 0, "f/: wrong listing");
    STEP(7, es_objstore_put(s, K("f/a"), va2, VA2, cas ? ES_PUT_IF_MATCH : ES_PUT_ALWAYS,
                            cas ? info.etag : NULL, NULL, err));
    STEP(8, es_objstore_get(s, K("f/a"), 0, UINT64_MAX, &b, err));
    ok = blob_eq(b, va2, VA2);
    es_blob_unref(b);
    if (!ok)
        return es_error_set(err, ES_CORRUPT, 0, "f/a: wrong content after IF_MATCH");
    const char *dk[] = {K("f/b")};
    STEP(9, es_objstore_delete(s, dk, 1, err));
    STEP(10, es_objstore_list(s, K("f/"), NULL, 100, &l, err));
    ok = l.n == 1;
    es_obj_list_reset(&l);
    if (!ok)
        return es_error_set(err, ES_CORRUPT, 0, "f/: wrong listing after delete");
#undef STEP
    return ES_OK;
}

static void clean_workload(es_objstore *inner)
{
    es_error err = {0};
    const char *k[] = {K("f/a"), K("f/b")};
    es_objstore_delete(inner, k, 2, &err);
}

/* Only whole objects of known versions are visible through the inner store. */
static int state_whole(es_objstore *inner)
{
    int a = obj_is(inner, K("f/a"), va, VA);
    if (a != 1 && obj_is(inner, K("f/a"), va2, VA2) != 1 && a != 0)
        return 0;
    if (obj_is(inner, K("f/b"), vb, VB) < 0)
        return 0;
    es_obj_list l = {0};
    es_error err = {0};
    int ok = es_objstore_list(inner, K("f/"), NULL, 100, &l, &err) == ES_OK && l.n <= 2;
    for (int64_t i = 0; ok && i < l.n; i++)
        ok = strcmp(l.items[i].key, K("f/a")) == 0 || strcmp(l.items[i].key, K("f/b")) == 0;
    es_obj_list_reset(&l);
    return ok;
}

static void fault_loops(es_objstore *inner)
{
    es_objstore *f = NULL;
    es_error err = {0};
    fill(va, VA, 21);
    fill(va2, VA2, 22);
    fill(vb, VB, 23);
    CHECK_OK(es_objstore_fault_wrap(&f, inner, 0, &err));
    if (!f)
        return;
    int cas = inner->cas_supported;
    int step = 0;

    /* No faults: the workload passes and is counted. */
    clean_workload(inner);
    CHECK_OK(workload(f, cas, &step, &err));
    CHECK_EQ_INT(es_objstore_fault_count(f, ES_OP_PUT), 3);
    CHECK_EQ_INT(es_objstore_fault_count(f, -1), 10);

    /* Transient failures, before or after the operation: retries make every step succeed. */
    int loops = 0;
    for (int after = 0; after <= 1; after++) {
        for (int op = -1; op < ES_OP_COUNT; op++) {
            for (int n = 1; n < 40; n++) {
                clean_workload(inner);
                es_fault_config cfg = {n, op, 0, ES_TRANSIENT, after, 0, 0, 0};
                es_objstore_fault_set(f, &cfg);
                es_status rc = workload(f, cas, &step, &err);
                int64_t inj = es_objstore_fault_injected(f);
                if (rc != ES_OK)
                    fprintf(stderr, "transient op %d n %d after %d: step %d: %s\n", op, n, after,
                            step, err.msg);
                CHECK_OK(rc);
                CHECK_EQ_INT(obj_is(inner, K("f/a"), va2, VA2), 1);
                CHECK_EQ_INT(obj_is(inner, K("f/b"), vb, VB), 0);
                loops++;
                if (inj == 0)
                    break;
            }
        }
    }
    CHECK(loops > 30);

    /* Permanent failures: a clear error, and only whole objects are visible. */
    es_status perm[2] = {ES_REMOTE, ES_IO};
    for (int after = 0; after <= 1; after++) {
        for (int op = -1; op < ES_OP_COUNT; op++) {
            for (int n = 1; n < 40; n++) {
                clean_workload(inner);
                es_fault_config cfg = {n, op, n % 2, perm[n % 2], after, 0, 0, 0};
                es_objstore_fault_set(f, &cfg);
                memset(&err, 0, sizeof err);
                es_status rc = workload(f, cas, &step, &err);
                int64_t inj = es_objstore_fault_injected(f);
                if (inj == 0) {
                    CHECK_OK(rc);
                    break;
                }
                CHECK_EQ_INT(rc, perm[n % 2]);
                CHECK(strstr(err.msg, "injected") != NULL);
                CHECK_EQ_INT(es_objstore_fault_injected(f), 1);
                CHECK(state_whole(inner));
            }
        }
    }

    /* A transient failure that never ends: the dispatch layer gives up after max_attempts. */
    es_retry_policy rp;
    es_objstore_get_retry(&rp);
    clean_workload(inner);
    CHECK_OK(put_always(inner, K("f/a"), va, VA));
    es_fault_config forever = {1, ES_OP_GET, 1, ES_TRANSIENT, 0, 0, 0, 0};
    es_objstore_fault_set(f, &forever);
    es_blob *b = NULL;
    CHECK_EQ_INT(es_objstore_get(f, K("f/a"), 0, 10, &b, &err), ES_TRANSIENT);
    CHECK_EQ_INT(es_objstore_fault_count(f, ES_OP_GET), rp.max_attempts);
    CHECK(strstr(err.msg, "f/a") != NULL);

    /* Latency is added per operation. */
    es_fault_config slow = {0, -1, 0, 0, 0, 2000000, 0, 0};
    es_objstore_fault_set(f, &slow);
    int64_t t0 = es_now_ns();
    CHECK_OK(es_objstore_get(f, K("f/a"), 0, 10, &b, &err));
    es_blob_unref(b);
    CHECK(es_now_ns() - t0 >= 2000000);

    /* A put-if-absent whose response is lost, then retried: the dispatch layer reads the
     * object back, finds its own bytes and reports success; someone else's object loses. */
    if (cas) {
        clean_workload(inner);
        es_fault_config lost = {1, ES_OP_PUT, 0, ES_TRANSIENT, 1, 0, 0, 0};
        es_objstore_fault_set(f, &lost);
        CHECK_OK(es_objstore_put(f, K("f/b"), vb, VB, ES_PUT_IF_ABSENT, NULL, NULL, &err));
        CHECK_EQ_INT(es_objstore_fault_count(f, ES_OP_PUT), 2);
        es_objstore_fault_set(f, &lost);
        CHECK_EQ_INT(es_objstore_put(f, K("f/b"), va, VA, ES_PUT_IF_ABSENT, NULL, NULL, &err),
                     ES_EXISTS);
        CHECK_EQ_INT(obj_is(inner, K("f/b"), vb, VB), 1);
    }

    /* Crash after the Nth put: that put lands, nothing after it does. */
    enum { NPUT = 6 };
    for (int n = 1; n <= NPUT + 1; n++) {
        static char ckb[NPUT][100];
        const char *ck[NPUT];
        for (int i = 0; i < NPUT; i++) {
            snprintf(ckb[i], sizeof ckb[i], "%scrash/k%d", P, i);
            ck[i] = ckb[i];
        }
        es_objstore_delete(inner, ck, NPUT, &err);
        es_fault_config crash = {0, -1, 0, 0, 0, 0, n, 0};
        es_objstore_fault_set(f, &crash);
        int failed_at = -1;
        es_status rc = ES_OK;
        for (int i = 0; i < NPUT; i++) {
            uint8_t d[300];
            fill(d, sizeof d, (uint32_t)(100 + i));
            memset(&err, 0, sizeof err);
            rc =
                es_objstore_put(f, K("crash/k%d", i), d, sizeof d, ES_PUT_ALWAYS, NULL, NULL, &err);
            if (rc != ES_OK) {
                failed_at = i;
                break;
            }
        }
        if (n < NPUT) {
            CHECK_EQ_INT(failed_at, n);
            if (n < NPUT) {
                CHECK_EQ_INT(rc, ES_IO);
                CHECK(strstr(err.msg, "simulated crash") != NULL);
            }
        } else {
            CHECK_EQ_INT(failed_at, -1);
        }
        if (n < NPUT) {
            CHECK(es_objstore_fault_crashed(f));
            CHECK_EQ_INT(es_objstore_get(f, K("crash/k0"), 0, 1, &b, &err), ES_IO);
        }
        /* "Reopen": the inner store holds exactly the first n objects, whole. */
        for (int i = 0; i < NPUT; i++) {
            uint8_t d[300];
            fill(d, sizeof d, (uint32_t)(100 + i));
            CHECK_EQ_INT(obj_is(inner, ck[i], d, sizeof d), i < n ? 1 : 0);
        }
        es_objstore_delete(inner, ck, NPUT, &err);
    }
    es_objstore_fault_set(f, NULL);
    clean_workload(inner);
    es_objstore_close(f);
    if (!es_objstore_fault_inner(inner))
        CHECK_EQ_INT(es_objstore_fault_set(inner, NULL), ES_INVALID);
}

/* ------------------------------------------------------------------ races */

enum { RACE_THREADS = 8 };
typedef struct race_arg {
    es_objstore *s;
    int id, rounds;
    pthread_barrier_t *bar;
    char *won; /* [rounds][RACE_THREADS] */
} race_arg;

static void *race_thread(void *p)
{
    race_arg *a = p;
    for (int r = 0; r < a->rounds; r++) {
        char body[64];
        int n = snprintf(body, sizeof body, "thread %d round %d", a->id, r);
        es_error err = {0};
        pthread_barrier_wait(a->bar);
        char key[128];
        snprintf(key, sizeof key, "%srace/t%03d", P, r);
        es_status rc =
            es_objstore_put(a->s, key, body, (size_t)n, ES_PUT_IF_ABSENT, NULL, NULL, &err);
        a->won[r * RACE_THREADS + a->id] = rc == ES_OK ? 'W' : rc == ES_EXISTS ? 'L' : 'E';
    }
    return NULL;
}

static void race_threads(es_objstore *s, int rounds)
{
    pthread_t th[RACE_THREADS];
    race_arg args[RACE_THREADS];
    pthread_barrier_t bar;
    char *won = es_calloc((size_t)rounds * RACE_THREADS, 1);
    if (!won) {
        CHECK(0);
        return;
    }
    pthread_barrier_init(&bar, NULL, RACE_THREADS);
    for (int i = 0; i < RACE_THREADS; i++) {
        args[i] = (race_arg){s, i, rounds, &bar, won};
        pthread_create(&th[i], NULL, race_thread, &args[i]);
    }
    for (int i = 0; i < RACE_THREADS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&bar);
    int one_winner = 1, content_ok = 1, errors = 0;
    for (int r = 0; r < rounds; r++) {
        int winners = 0, who = -1;
        for (int i = 0; i < RACE_THREADS; i++) {
            char c = won[r * RACE_THREADS + i];
            winners += c == 'W';
            errors += c == 'E';
            if (c == 'W')
                who = i;
        }
        if (winners != 1) {
            one_winner = 0;
            continue;
        }
        char body[64];
        int n = snprintf(body, sizeof body, "thread %d round %d", who, r);
        if (obj_is(s, K("race/t%03d", r), body, (size_t)n) != 1)
            content_ok = 0;
    }
    CHECK(one_winner);
    CHECK(content_ok);
    CHECK_EQ_INT(errors, 0);
    es_free(won);
}

/* Read-modify-write with IF_MATCH from several threads: no increment is lost (every
 * successful IF_MATCH saw the latest version, so ETags never repeat and the check is atomic). */
enum { CAS_THREADS = 4, CAS_INCS = 25 };
typedef struct cas_arg {
    es_objstore *s;
    const char *key;
    int id, conflicts, errors;
} cas_arg;

static void *cas_thread(void *p)
{
    cas_arg *a = p;
    for (int done = 0; done < CAS_INCS;) {
        es_error err = {0};
        es_obj_info info;
        es_blob *b = NULL;
        if (es_objstore_head(a->s, a->key, &info, &err) != ES_OK ||
            es_objstore_get(a->s, a->key, 0, UINT64_MAX, &b, &err) != ES_OK) {
            a->errors++;
            es_blob_unref(b);
            if (a->errors > 100)
                return NULL;
            continue;
        }
        char num[32] = "";
        size_t n = b->size < sizeof num - 1 ? b->size : sizeof num - 1;
        memcpy(num, b->data, n);
        es_blob_unref(b);
        /* The content names its writer (see invariant I3 in objstore.c: after a lost response
         * the dispatch layer recognises its own write by its bytes). */
        int len = snprintf(num, sizeof num, "%08d t%d n%d", atoi(num) + 1, a->id, done);
        es_status rc =
            es_objstore_put(a->s, a->key, num, (size_t)len, ES_PUT_IF_MATCH, info.etag, NULL, &err);
        if (rc == ES_OK)
            done++;
        else if (rc == ES_EXISTS)
            a->conflicts++;
        else if (++a->errors > 100)
            return NULL;
    }
    return NULL;
}

static void race_cas_counter(es_objstore *s)
{
    char key[128];
    snprintf(key, sizeof key, "%scas/counter", P);
    CHECK_OK(put_always(s, key, "00000000", 8));
    pthread_t th[CAS_THREADS];
    cas_arg args[CAS_THREADS];
    for (int i = 0; i < CAS_THREADS; i++) {
        args[i] = (cas_arg){s, key, i, 0, 0};
        pthread_create(&th[i], NULL, cas_thread, &args[i]);
    }
    int conflicts = 0, errors = 0;
    for (int i = 0; i < CAS_THREADS; i++) {
        pthread_join(th[i], NULL);
        conflicts += args[i].conflicts;
        errors += args[i].errors;
    }
    char want[16];
    es_blob *fb = NULL;
    es_error ferr = {0};
    int final = -1;
    if (es_objstore_get(s, key, 0, 8, &fb, &ferr) == ES_OK && fb->size == 8) {
        memcpy(want, fb->data, 8);
        want[8] = 0;
        final = atoi(want);
    }
    es_blob_unref(fb);
    CHECK_EQ_INT(final, CAS_THREADS * CAS_INCS);
    CHECK_EQ_INT(errors, 0);
    printf("  IF_MATCH counter: %d increments, %d conflicts retried\n", CAS_THREADS * CAS_INCS,
           conflicts);

    /* Same-size rewrites in quick succession still get distinct ETags. */
    char tags[40][ES_ETAG_MAX];
    int distinct = 1;
    for (int i = 0; i < 40; i++) {
        es_error err = {0};
        snprintf(want, sizeof want, "v%07d", i);
        CHECK_OK(es_objstore_put(s, key, want, 8, ES_PUT_ALWAYS, NULL, tags[i], &err));
        for (int j = 0; j < i; j++)
            if (strcmp(tags[i], tags[j]) == 0)
                distinct = 0;
    }
    CHECK(distinct);
}

/* Readers never see a partial object: readers loop over whole-object gets while a writer
 * replaces the object with versions of different sizes. */
typedef struct reader_arg {
    es_objstore *s;
    const char *key;
    const uint8_t *va, *vb;
    size_t na, nb;
    _Atomic int *stop;
    _Atomic int *running; /* readers that have finished at least one read */
    int reads, torn, errors;
} reader_arg;

static void *reader_thread(void *p)
{
    reader_arg *a = p;
    while (!*a->stop) {
        es_blob *b = NULL;
        es_error err = {0};
        if (es_objstore_get(a->s, a->key, 0, UINT64_MAX, &b, &err) != ES_OK) {
            a->errors++;
            continue;
        }
        if (!blob_eq(b, a->va, a->na) && !blob_eq(b, a->vb, a->nb))
            a->torn++;
        if (a->reads++ == 0)
            atomic_fetch_add(a->running, 1);
        es_blob_unref(b);
    }
    return NULL;
}

static void race_readers(es_objstore *s, int rounds)
{
    enum { NA = 300000, NB = 70000, READERS = 2 };
    uint8_t *bufa = es_malloc(NA), *bufb = es_malloc(NB);
    if (!bufa || !bufb) {
        es_free(bufa);
        es_free(bufb);
        CHECK(0);
        return;
    }
    fill(bufa, NA, 61);
    fill(bufb, NB, 62);
    char key[128];
    snprintf(key, sizeof key, "%satomic/obj", P);
    CHECK_OK(put_always(s, key, bufa, NA));
    _Atomic int stop = 0, running = 0;
    pthread_t th[READERS];
    reader_arg args[READERS];
    for (int i = 0; i < READERS; i++) {
        args[i] = (reader_arg){s, key, bufa, bufb, NA, NB, &stop, &running, 0, 0, 0};
        pthread_create(&th[i], NULL, reader_thread, &args[i]);
    }
    /* Start writing only once every reader is reading, so that reads and writes overlap even
     * on a loaded machine where the threads would otherwise be scheduled late. */
    for (int spins = 0; atomic_load(&running) < READERS && spins < 20000; spins++)
        usleep(500);
    for (int r = 0; r < rounds; r++)
        CHECK_OK(put_always(s, key, r % 2 ? bufa : bufb, r % 2 ? NA : NB));
    stop = 1;
    int reads = 0, torn = 0, errors = 0;
    for (int i = 0; i < READERS; i++) {
        pthread_join(th[i], NULL);
        reads += args[i].reads;
        torn += args[i].torn;
        errors += args[i].errors;
    }
    CHECK_EQ_INT(torn, 0);
    CHECK_EQ_INT(errors, 0);
    CHECK(reads > 0);
    es_free(bufa);
    es_free(bufb);
}

/* Two processes race put-if-absent on the same keys, round after round. Each child opens the
 * store by URI and reports W (won), L (lost) or E (error) per round through a pipe. */
static void race_processes(const char *uri, int rounds)
{
    int gate[2], res[2][2];
    if (pipe(gate) != 0 || pipe(res[0]) != 0 || pipe(res[1]) != 0) {
        CHECK(0);
        return;
    }
    fflush(NULL);
    pid_t pid[2];
    for (int c = 0; c < 2; c++) {
        pid[c] = fork();
        if (pid[c] < 0) {
            CHECK(0);
            return;
        }
        if (pid[c] == 0) {
            close(gate[1]);
            close(res[c][0]);
            es_objstore *s = NULL;
            es_error err = {0};
            char *out = malloc((size_t)rounds);
            int ok = out && es_objstore_open(&s, uri, &err) == ES_OK;
            char x;
            while (read(gate[0], &x, 1) < 0 && errno == EINTR) {
            }
            for (int r = 0; r < rounds && ok; r++) {
                char body[96];
                int n =
                    snprintf(body, sizeof body, "process %d round %d pid %d", c, r, (int)getpid());
                es_status rc = es_objstore_put(s, K("race/p%03d", r), body, (size_t)n,
                                               ES_PUT_IF_ABSENT, NULL, NULL, &err);
                out[r] = rc == ES_OK ? 'W' : rc == ES_EXISTS ? 'L' : 'E';
            }
            if (ok && write(res[c][1], out, (size_t)rounds) != (ssize_t)rounds)
                ok = 0;
            es_objstore_close(s);
            free(out);
            _exit(ok ? 0 : 1);
        }
        close(res[c][1]);
    }
    close(gate[0]);
    close(gate[1]); /* start both at once */
    char *got[2];
    for (int c = 0; c < 2; c++) {
        got[c] = calloc((size_t)rounds, 1);
        size_t have = 0;
        while (got[c] && have < (size_t)rounds) {
            ssize_t r = read(res[c][0], got[c] + have, (size_t)rounds - have);
            if (r <= 0 && !(r < 0 && errno == EINTR))
                break;
            if (r > 0)
                have += (size_t)r;
        }
        close(res[c][0]);
        int status = 0;
        waitpid(pid[c], &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        CHECK_EQ_INT(have, rounds);
    }
    int one_winner = 1, content_ok = 1, w0 = 0;
    for (int r = 0; r < rounds && got[0] && got[1]; r++) {
        int winners = (got[0][r] == 'W') + (got[1][r] == 'W');
        int losers = (got[0][r] == 'L') + (got[1][r] == 'L');
        if (winners != 1 || losers != 1) {
            one_winner = 0;
            continue;
        }
        int who = got[0][r] == 'W' ? 0 : 1;
        w0 += who == 0;
        /* The winner's content, whatever its pid was: compare the prefix. */
        es_blob *b = NULL;
        es_error err = {0};
        char want[64];
        int n = snprintf(want, sizeof want, "process %d round %d pid ", who, r);
        es_objstore *s = NULL;
        if (es_objstore_open(&s, uri, &err) == ES_OK &&
            es_objstore_get(s, K("race/p%03d", r), 0, UINT64_MAX, &b, &err) == ES_OK) {
            if (b->size < (size_t)n || memcmp(b->data, want, (size_t)n) != 0)
                content_ok = 0;
        } else {
            content_ok = 0;
        }
        es_blob_unref(b);
        es_objstore_close(s);
    }
    CHECK(one_winner);
    CHECK(content_ok);
    printf("  process race: %d rounds, process 0 won %d\n", rounds, w0);
    free(got[0]);
    free(got[1]);
}

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
    ES_OBJSTORE_VTABLE_VERSION, gate_get, NULL, gate_head, gate_put, NULL, NULL, gate_close};

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

/* ------------------------------------------------------ allocation failures */

/* Fail the Nth allocation (SQLite's malloc loops): every call reports ES_NOMEM or works, and
 * objects are whole or absent afterwards. */
static void suite_nomem(es_objstore *s)
{
    uint8_t d[300];
    fill(d, sizeof d, 51);
    char key[128];
    snprintf(key, sizeof key, "%snomem/a", P);
    const char *dk[] = {key};
    int n, bad = 0, reported = 0;
    for (n = 1; n < 1000; n++) {
        es_error err = {0};
        es_objstore_delete(s, dk, 1, &err);
        es_util_alloc_fail_at(n, 0);
        es_status r1 = es_objstore_put(s, key, d, sizeof d, ES_PUT_ALWAYS, NULL, NULL, &err);
        es_blob *b = NULL;
        es_status r2 = es_objstore_get(s, key, 10, 100, &b, &err);
        es_obj_info info;
        es_status r3 = es_objstore_head(s, key, &info, &err);
        es_obj_list l = {0};
        es_status r4 = es_objstore_list(s, P, NULL, 10, &l, &err);
        es_range_req rq = {key, 0, 5, NULL, ES_OK};
        es_status r5 = es_objstore_get_many(s, &rq, 1, &err);
        int64_t made = es_util_alloc_fail_at(0, 0);
        if (!(r1 == ES_OK || r1 == ES_NOMEM) || !(r4 == ES_OK || r4 == ES_NOMEM))
            bad++;
        if (!(r2 == ES_OK || r2 == ES_NOMEM || r2 == ES_NOT_FOUND) ||
            (r2 == ES_OK && !blob_eq(b, d + 10, 100)))
            bad++;
        if (!(r3 == ES_OK || r3 == ES_NOMEM || r3 == ES_NOT_FOUND) ||
            !(r5 == ES_OK || r5 == ES_NOMEM || r5 == ES_NOT_FOUND))
            bad++;
        es_blob_unref(b);
        es_blob_unref(rq.out);
        es_obj_list_reset(&l);
        int whole = obj_is(s, key, d, sizeof d);
        if (whole < 0 || (r1 == ES_OK && whole != 1))
            bad++;
        if (bad > reported) {
            fprintf(stderr, "nomem %s n=%d: put %d get %d head %d list %d get_many %d whole %d\n",
                    s->uri, n, r1, r2, r3, r4, r5, whole);
            reported = bad;
        }
        if (made < n)
            break;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(n > 5);
    es_objstore_delete(s, dk, 1, NULL);
}

/* ------------------------------------------------------- backend specific */

static void suite_local_specific(const char *root)
{
    es_error err = {0};
    es_objstore *s = NULL, *s2 = NULL;
    char uri[600];
    CHECK_OK(es_objstore_open(&s, root, &err));
    snprintf(uri, sizeof uri, "file://%s", root);
    CHECK_OK(es_objstore_open(&s2, uri, &err));
    if (!s || !s2) {
        es_objstore_close(s);
        es_objstore_close(s2);
        return;
    }
    new_prefix();
    /* Two handles on one directory see each other's objects. */
    CHECK_OK(put_always(s, K("x/y"), "hello", 5));
    CHECK_EQ_INT(obj_is(s2, K("x/y"), "hello", 5), 1);
    /* Temporary files and names that are not keys never show in listings. */
    char dir[600], *tmp = NULL;
    snprintf(dir, sizeof dir, "%s/%sx", root, P);
    CHECK_OK(es_os_write_temp(&tmp, dir, ".~es-tmp-", "junk", 4, &err));
    es_free(tmp);
    CHECK_OK(es_os_write_temp(&tmp, dir, "bad name ", "junk", 4, &err));
    es_free(tmp);
    es_obj_list l = {0};
    CHECK_OK(es_objstore_list(s, P, NULL, 100, &l, &err));
    CHECK_EQ_INT(l.n, 1);
    if (l.n == 1)
        CHECK_EQ_STR(l.items[0].key, K("x/y"));
    es_obj_list_reset(&l);
    /* A key under an object is refused cleanly. */
    CHECK(es_objstore_put(s, K("x/y/z"), "a", 1, ES_PUT_ALWAYS, NULL, NULL, &err) != ES_OK);
    CHECK(err.msg[0] != 0);
    /* Bad URIs. */
    es_objstore *bad = NULL;
    CHECK_EQ_INT(es_objstore_open(&bad, "bogus://x", &err), ES_INVALID);
    CHECK_EQ_INT(es_objstore_open(&bad, "", &err), ES_INVALID);
    CHECK_EQ_INT(es_objstore_open(&bad, "file://", &err), ES_INVALID);
    snprintf(uri, sizeof uri, "%s/%sx/y", root, P); /* a file, not a directory */
    CHECK(es_objstore_open(&bad, uri, &err) != ES_OK);
    CHECK(bad == NULL);
    es_objstore_close(s);
    es_objstore_close(s2);
}

static void suite_mem_specific(void)
{
    es_error err = {0};
    es_objstore *a = NULL, *b = NULL, *c = NULL, *p = NULL;
    CHECK_OK(es_objstore_open(&a, "mem://shared-test", &err));
    CHECK_OK(es_objstore_open(&b, "mem://shared-test", &err));
    CHECK_OK(es_objstore_open(&c, "mem://other-test", &err));
    CHECK_OK(es_objstore_open(&p, "mem://", &err));
    if (!a || !b || !c || !p)
        goto out;
    CHECK_OK(put_always(a, "k", "v1", 2));
    CHECK_EQ_INT(obj_is(b, "k", "v1", 2), 1);
    CHECK_EQ_INT(obj_is(c, "k", "v1", 2), 0);
    CHECK_EQ_INT(obj_is(p, "k", "v1", 2), 0);
    /* Named data outlives its handles until dropped. */
    es_objstore_close(a);
    es_objstore_close(b);
    a = b = NULL;
    CHECK_OK(es_objstore_open(&a, "mem://shared-test", &err));
    CHECK_EQ_INT(obj_is(a, "k", "v1", 2), 1);
    CHECK_EQ_INT(es_objstore_mem_drop("shared-test"), 1);
    CHECK_EQ_INT(obj_is(a, "k", "v1", 2), 1); /* the open handle keeps the dropped data */
    CHECK_OK(es_objstore_open(&b, "mem://shared-test", &err));
    CHECK_EQ_INT(obj_is(b, "k", "v1", 2), 0);
    CHECK_EQ_INT(es_objstore_mem_drop("no-such-store"), 0);
out:
    es_objstore_close(a);
    es_objstore_close(b);
    es_objstore_close(c);
    es_objstore_close(p);
    es_objstore_mem_drop("shared-test");
    es_objstore_mem_drop("other-test");
}

/* ---------------------------------------------------------------- drivers */

/* ES_TEST_SECTIONS (comma-separated: basic,get_many,list,counters,keys,fault,race,nomem,
 * cache) limits a run to some sections; unset runs everything. */
static int want(const char *section)
{
    const char *w = getenv("ES_TEST_SECTIONS");
    if (!w || !*w)
        return 1;
    size_t n = strlen(section);
    for (const char *p = w; (p = strstr(p, section)) != NULL; p += n)
        if ((p == w || p[-1] == ',') && (p[n] == 0 || p[n] == ','))
            return 1;
    return 0;
}

static void conformance(es_objstore *s, const char *name, int nkeys, int exact_counts)
{
    printf("== %s (%s)\n", name, s->uri);
    new_prefix();
    if (want("basic"))
        suite_basic(s);
    if (want("get_many"))
        suite_get_many(s);
    if (want("list"))
        suite_list(s, nkeys);
    if (want("counters") && exact_counts)
        suite_counters(s);
    if (want("keys"))
        suite_keys(s);
    delete_prefix(s);
}

static void run_uri(const char *uri, const char *name, int race_rounds)
{
    es_objstore *s = NULL;
    es_error err = {0};
    if (es_objstore_open(&s, uri, &err) != ES_OK) {
        fprintf(stderr, "%s: cannot open: %s\n", uri, err.msg);
        CHECK(0);
        return;
    }
    int nkeys = list_keys_default();
    conformance(s, name, nkeys, 1);
    /* The rest checks atomicity and protocol, not durability: no fsync on the local backend
     * (keeps the suite fast on a busy disk) except for the cross-process race below. */
    es_os_set_durable(0);
    /* The same suite through a fault store with no faults configured (fewer keys to list:
     * pagination itself was covered above). */
    es_objstore *f = NULL;
    CHECK_OK(es_objstore_fault_wrap(&f, s, 0, &err));
    if (f) {
        char fname[100];
        snprintf(fname, sizeof fname, "fault+%s", name);
        conformance(f, fname, nkeys > 1100 ? 1100 : nkeys, 1);
        /* And again with every 3rd operation failing transiently, the failure reported
         * before or after the operation took effect: retries (and the disambiguation of
         * conditional puts) make every check pass; only exact request counts change. */
        for (int after = 0; after <= 1 && want("flaky"); after++) {
            es_fault_config flaky = {0, -1, 0, ES_TRANSIENT, after, 0, 0, 3};
            es_objstore_fault_set(f, &flaky);
            snprintf(fname, sizeof fname, "flaky%s+%s", after ? "-after" : "", name);
            conformance(f, fname, nkeys > 300 ? 300 : nkeys, 0);
            if (want("list"))
                CHECK(es_objstore_fault_injected(f) > 100);
        }
        es_objstore_close(f);
    }
    if (want("fault")) {
        printf("== %s: fault loops\n", name);
        new_prefix();
        fault_loops(s);
        delete_prefix(s);
    }
    if (want("race") && race_rounds > 0 && s->cas_supported) {
        printf("== %s: thread race\n", name);
        new_prefix();
        /* Threads: 8 writers per round; on a file system a quarter of the rounds suffice. */
        race_threads(s, strstr(uri, "mem://") ? race_rounds : (race_rounds + 3) / 4);
        race_cas_counter(s);
        race_readers(s, race_rounds);
        delete_prefix(s);
        if (!strstr(uri, "mem://")) {
            es_os_set_durable(1);
            printf("== %s: process race\n", name);
            new_prefix();
            race_processes(uri, race_rounds);
            delete_prefix(s);
        }
    }
    if (want("nomem")) {
        printf("== %s: allocation failures\n", name);
        new_prefix();
        suite_nomem(s);
        delete_prefix(s);
    }
    if (want("cache")) {
        printf("== %s: read cache\n", name);
        new_prefix();
        suite_cache(s);
        delete_prefix(s);
    }
    es_objstore_close(s);
    es_os_set_durable(1);
}

/* Round trips (es_objstore_stats.round_trips) and the fault store's latency from
 * ES_FAULT_LATENCY_MS: sequential requests count one each, a get_many batch once, and the
 * batch waits one latency, not one per range. */
static void suite_round_trips(void)
{
    printf("== round trips and ES_FAULT_LATENCY_MS\n");
    setenv("ES_FAULT_LATENCY_MS", "30", 1);
    es_objstore *s = NULL;
    es_error err = {0};
    CHECK_OK(es_objstore_open(&s, "fault+mem://", &err));
    unsetenv("ES_FAULT_LATENCY_MS");
    if (!s)
        return;
    char keys[4][16];
    for (int i = 0; i < 4; i++) {
        snprintf(keys[i], sizeof keys[i], "rt/%d", i);
        CHECK_OK(es_objstore_put(s, keys[i], "abc", 3, ES_PUT_ALWAYS, NULL, NULL, &err));
    }
    es_objstore_stats st;
    es_objstore_get_stats(s, &st);
    CHECK_EQ_INT(st.round_trips, 4);
    es_objstore_reset_stats(s);
    es_range_req r[4];
    memset(r, 0, sizeof r);
    for (int i = 0; i < 4; i++) {
        r[i].key = keys[i];
        r[i].len = UINT64_MAX;
    }
    int64_t t0 = es_now_ns();
    CHECK_OK(es_objstore_get_many(s, r, 4, &err));
    int64_t dt = es_now_ns() - t0;
    CHECK(dt >= 30 * 1000000LL); /* the latency was applied (lower bound only: no timing test) */
    for (int i = 0; i < 4; i++)
        es_blob_unref(r[i].out);
    es_objstore_get_stats(s, &st);
    CHECK_EQ_INT(st.round_trips, 1);
    CHECK_EQ_INT(st.requests[ES_OP_GET], 4);
    for (int i = 0; i < 3; i++) {
        es_blob *b = NULL;
        CHECK_OK(es_objstore_get(s, keys[i], 0, UINT64_MAX, &b, &err));
        es_blob_unref(b);
    }
    es_objstore_get_stats(s, &st);
    CHECK_EQ_INT(st.round_trips, 4);
    es_objstore_close(s);
}

int main(int argc, char **argv)
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
        char local[64], cdir[64];
        snprintf(local, sizeof local, "%s/store", root);
        snprintf(cdir, sizeof cdir, "%s/cache", root);
        run_uri("mem://conformance", "mem", 200);
        es_objstore_mem_drop("conformance");
        run_uri(local, "local", 200);
        suite_local_specific(local);
        suite_mem_specific();
        es_objstore *m = NULL;
        if (es_objstore_open(&m, "mem://", &err) == ES_OK) {
            printf("== cache with a disk tier\n");
            new_prefix();
            suite_cache_disk(m, cdir);
            es_objstore_close(m);
        }
        /* The fault store is reachable by URI too. */
        es_objstore *fu = NULL;
        CHECK_OK(es_objstore_open(&fu, "fault+mem://", &err));
        CHECK(fu && es_objstore_fault_inner(fu) != NULL);
        es_objstore_close(fu);
        suite_round_trips();
        CHECK_OK(es_os_remove_tree(root, &err));
    }
    if (uri) {
        const char *r = getenv("ES_TEST_RACE_ROUNDS");
        /* A real server under load may need real backoff: the fault loops only inject
         * single failures, so a gentler policy costs nothing there. */
        es_retry_policy remote = {6, 20 * 1000 * 1000, 500 * 1000 * 1000};
        es_objstore_set_retry(&remote);
        run_uri(uri, uri, r ? atoi(r) : 50);
    }
    return CHECK_DONE();
}
