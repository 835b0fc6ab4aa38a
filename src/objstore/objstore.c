/*
 * objstore: the dispatch layer of the object store (like SQLite's VFS dispatch). It sits above
 * util and os and below every layer that stores objects. For every backend it
 *
 *   1. parses store URIs: a plain path or file://path -> local directory backend,
 *      mem://name -> in-memory backend, s3://bucket/prefix -> S3 backend, and the wrapper
 *      prefixes "fault+<uri>" (fault injection, no faults configured; a latency of
 *      ES_FAULT_LATENCY_MS milliseconds per round trip when set) and "cache+<uri>" (read
 *      cache; memory budget ES_CACHE_MEM_MB, default 64, and disk tier in ES_CACHE_DIR when
 *      set, from the environment);
 *   2. validates keys (es_objstore_check_key) before any backend touches a file or the network;
 *   3. counts requests, bytes and errors per operation kind, atomically (every attempt is one
 *      request; ES_NOT_FOUND and ES_EXISTS are answers, not errors), and sequential round
 *      trips (a request that starts while none is in flight);
 *   4. retries ES_TRANSIENT failures with capped exponential backoff and jitter
 *      (es_objstore_set_retry);
 *   5. provides get_many for backends without one (a loop over get).
 *
 * Invariants:
 *   I1. A key that fails es_objstore_check_key never reaches a backend.
 *   I2. Only ES_TRANSIENT is retried; every other status is returned as is.
 *   I3. Conditional puts after an ambiguous failure. A transient failure of a put may have
 *       happened after the backend applied it (a lost response). If a retry of an IF_ABSENT
 *       or IF_MATCH put then gets ES_EXISTS, the object may be our own earlier write: the
 *       dispatch layer reads the object back and compares it byte for byte with what it tried
 *       to write. Equal -> our write won -> ES_OK; different (or unreadable) -> ES_EXISTS.
 *       Consequence for callers: two writers racing put-if-absent with identical bytes cannot
 *       be told apart, so writers that must know whether they won (the commit log) put
 *       content that identifies the writer (a writer id or nonce in the object).
 *   I4. Counters are only ever updated with atomic adds; es_objstore_get_stats reads them
 *       with atomic loads (a snapshot per field, not across fields).
 */
#include "objstore/objstore.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "os/os.h"
#include "util/util.h"

#define KEY_MAX 1024

/* ------------------------------------------------------------------ keys */

static int key_char_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-' || c == '=';
}

/* A printable, bounded rendering of a (possibly hostile) key for messages. */
static void render_key(char *dst, size_t cap, const char *key)
{
    size_t j = 0;
    for (size_t i = 0; key[i] && j + 4 < cap; i++) {
        unsigned char c = (unsigned char)key[i];
        dst[j++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
        if (i == 80) {
            memcpy(dst + j, "...", 3);
            j += 3;
            break;
        }
    }
    dst[j] = 0;
}

static es_status bad_key(es_error *err, const char *key, const char *why)
{
    char r[100];
    render_key(r, sizeof r, key);
    return es_error_set(err, ES_INVALID, 0, "invalid object key \"%s\": %s", r, why);
}

/* Check characters and segments of s[0..n); `partial_last`: the last segment may be a prefix
 * of a segment (used for list prefixes). */
static es_status check_segments(const char *key, size_t n, int partial_last, es_error *err)
{
    size_t seg_start = 0;
    if (n > 0 && key[0] == '/')
        return bad_key(err, key, "absolute path");
    for (size_t i = 0; i <= n; i++) {
        unsigned char c = i < n ? (unsigned char)key[i] : '/';
        if (c == '/') {
            size_t sl = i - seg_start;
            int last = i == n;
            if (sl == 0 && !(last && partial_last))
                return bad_key(err, key, "empty path segment");
            if (!(last && partial_last)) {
                if (sl == 1 && key[seg_start] == '.')
                    return bad_key(err, key, "\".\" segment");
                if (sl == 2 && key[seg_start] == '.' && key[seg_start + 1] == '.')
                    return bad_key(err, key, "\"..\" segment");
            }
            seg_start = i + 1;
            continue;
        }
        if (c < 0x20 || c == 0x7f)
            return bad_key(err, key, "control character");
        if (c == '\\')
            return bad_key(err, key, "backslash");
        if (!key_char_ok(c))
            return bad_key(err, key, "character outside [A-Za-z0-9._=-]");
    }
    return ES_OK;
}

es_status es_objstore_check_key(const char *key, es_error *err)
{
    if (!key)
        return es_error_set(err, ES_INVALID, 0, "invalid object key: NULL");
    size_t n = strnlen(key, KEY_MAX + 1);
    if (n == 0)
        return es_error_set(err, ES_INVALID, 0, "invalid object key: empty");
    if (n > KEY_MAX)
        return bad_key(err, key, "longer than 1024 bytes");
    return check_segments(key, n, 0, err);
}

es_status es_objstore_check_prefix(const char *prefix, es_error *err)
{
    if (!prefix)
        return ES_OK;
    size_t n = strnlen(prefix, KEY_MAX + 1);
    if (n > KEY_MAX)
        return bad_key(err, prefix, "prefix longer than 1024 bytes");
    return check_segments(prefix, n, 1, err);
}

/* --------------------------------------------------------------- retries */

static _Atomic int retry_attempts = 5;
static _Atomic int64_t retry_base_ns = 20 * 1000 * 1000;
static _Atomic int64_t retry_max_ns = 1000 * 1000 * 1000;

void es_objstore_set_retry(const es_retry_policy *p)
{
    if (!p) {
        atomic_store(&retry_attempts, 5);
        atomic_store(&retry_base_ns, (int64_t)20 * 1000 * 1000);
        atomic_store(&retry_max_ns, (int64_t)1000 * 1000 * 1000);
        return;
    }
    atomic_store(&retry_attempts, p->max_attempts < 1 ? 1 : p->max_attempts);
    atomic_store(&retry_base_ns, p->base_delay_ns < 0 ? 0 : p->base_delay_ns);
    atomic_store(&retry_max_ns, p->max_delay_ns < 0 ? 0 : p->max_delay_ns);
}

void es_objstore_get_retry(es_retry_policy *out)
{
    out->max_attempts = atomic_load(&retry_attempts);
    out->base_delay_ns = atomic_load(&retry_base_ns);
    out->max_delay_ns = atomic_load(&retry_max_ns);
}

/* Sleep before attempt `attempt + 1` (attempt >= 1 failed attempts so far). */
static void backoff(int attempt)
{
    int64_t base = atomic_load(&retry_base_ns), cap = atomic_load(&retry_max_ns);
    int64_t d = base;
    for (int i = 1; i < attempt && d < cap; i++)
        d = d > cap / 2 ? cap : d * 2;
    if (d > cap)
        d = cap;
    if (d <= 0)
        return;
    /* Jitter: uniform in [d/2, d]. */
    int64_t half = d / 2;
    int64_t j = half + (int64_t)(es_random_u64() % (uint64_t)(d - half + 1));
    es_os_sleep_ns(j);
}

/* -------------------------------------------------------------- counters */

static void count(es_objstore *s, es_op op, es_status rc, int64_t in, int64_t out)
{
    __atomic_add_fetch(&s->stats.requests[op], 1, __ATOMIC_RELAXED);
    if (in)
        __atomic_add_fetch(&s->stats.bytes_in[op], in, __ATOMIC_RELAXED);
    if (out)
        __atomic_add_fetch(&s->stats.bytes_out[op], out, __ATOMIC_RELAXED);
    if (rc != ES_OK && rc != ES_NOT_FOUND && rc != ES_EXISTS)
        __atomic_add_fetch(&s->stats.errors[op], 1, __ATOMIC_RELAXED);
}

/* With ES_TRACE set: one line per request (operation, key, range, outcome, bytes, and the
 * round trip it belongs to), for following a query's chain of requests. */
static void trace_req(es_objstore *s, const char *op, const char *key, uint64_t off, uint64_t len,
                      es_status rc, int64_t bytes)
{
    if (!es_trace_on())
        return;
    char r[100];
    render_key(r, sizeof r, key ? key : "");
    if (len == UINT64_MAX)
        es_trace("%s %s %s [%llu-] %s %lld bytes, round trip %lld", s->uri, op, r,
                 (unsigned long long)off, es_status_name(rc), (long long)bytes,
                 (long long)__atomic_load_n(&s->stats.round_trips, __ATOMIC_RELAXED));
    else
        es_trace("%s %s %s [%llu+%llu] %s %lld bytes, round trip %lld", s->uri, op, r,
                 (unsigned long long)off, (unsigned long long)len, es_status_name(rc),
                 (long long)bytes,
                 (long long)__atomic_load_n(&s->stats.round_trips, __ATOMIC_RELAXED));
}

/* Round trips (es_objstore_stats.round_trips): a request starting while none is in flight
 * starts one. */
static void begin(es_objstore *s)
{
    if (__atomic_fetch_add(&s->inflight, 1, __ATOMIC_ACQ_REL) == 0)
        __atomic_add_fetch(&s->stats.round_trips, 1, __ATOMIC_RELAXED);
}

static void end(es_objstore *s)
{
    __atomic_sub_fetch(&s->inflight, 1, __ATOMIC_ACQ_REL);
}

void es_objstore_get_stats(es_objstore *s, es_objstore_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!s)
        return;
    for (int i = 0; i < ES_OP_COUNT; i++) {
        out->requests[i] = __atomic_load_n(&s->stats.requests[i], __ATOMIC_RELAXED);
        out->bytes_in[i] = __atomic_load_n(&s->stats.bytes_in[i], __ATOMIC_RELAXED);
        out->bytes_out[i] = __atomic_load_n(&s->stats.bytes_out[i], __ATOMIC_RELAXED);
        out->errors[i] = __atomic_load_n(&s->stats.errors[i], __ATOMIC_RELAXED);
    }
    out->round_trips = __atomic_load_n(&s->stats.round_trips, __ATOMIC_RELAXED);
    out->syncs = __atomic_load_n(&s->stats.syncs, __ATOMIC_RELAXED);
}

int64_t es_objstore_requests(es_objstore *s)
{
    es_objstore_stats st;
    es_objstore_get_stats(s, &st);
    int64_t n = 0;
    for (int i = 0; i < ES_OP_COUNT; i++)
        n += st.requests[i];
    return n;
}

void es_objstore_reset_stats(es_objstore *s)
{
    if (!s)
        return;
    for (int i = 0; i < ES_OP_COUNT; i++) {
        __atomic_store_n(&s->stats.requests[i], 0, __ATOMIC_RELAXED);
        __atomic_store_n(&s->stats.bytes_in[i], 0, __ATOMIC_RELAXED);
        __atomic_store_n(&s->stats.bytes_out[i], 0, __ATOMIC_RELAXED);
        __atomic_store_n(&s->stats.errors[i], 0, __ATOMIC_RELAXED);
    }
    __atomic_store_n(&s->stats.round_trips, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&s->stats.syncs, 0, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------- open/close */

es_status es_objstore_init_base(es_objstore *s, const es_objstore_vtable *vt, const char *uri)
{
    memset(s, 0, sizeof *s);
    s->vt = vt;
    s->uri = es_strdup(uri ? uri : "");
    if (!s->uri)
        return ES_NOMEM;
    return ES_OK;
}

static int starts_with(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

es_status es_objstore_open(es_objstore **out, const char *uri, es_error *err)
{
    if (!out)
        return es_error_set(err, ES_INVALID, 0, "es_objstore_open: out is NULL");
    *out = NULL;
    if (!uri || !*uri)
        return es_error_set(err, ES_INVALID, 0, "es_objstore_open: empty store URI");
    if (starts_with(uri, "fault+") || starts_with(uri, "cache+")) {
        es_objstore *inner = NULL;
        es_status rc = es_objstore_open(&inner, uri + 6, err);
        if (rc != ES_OK)
            return rc;
        if (uri[0] == 'f') {
            rc = es_objstore_fault_wrap(out, inner, 1, err);
            const char *ms = getenv("ES_FAULT_LATENCY_MS");
            if (rc == ES_OK && ms && *ms) {
                es_fault_config fc = {0};
                fc.op = -1;
                fc.latency_ns = (int64_t)(strtod(ms, NULL) * 1e6);
                es_objstore_fault_set(*out, &fc);
            }
        } else {
            es_cache_options co = {0, NULL, 0};
            const char *mb = getenv("ES_CACHE_MEM_MB");
            co.mem_bytes = mb ? (size_t)strtoull(mb, NULL, 10) << 20 : 0;
            co.disk_dir = getenv("ES_CACHE_DIR");
            rc = es_objstore_cache_wrap(out, inner, 1, &co, err);
        }
        if (rc != ES_OK)
            es_objstore_close(inner);
        return rc;
    }
    if (starts_with(uri, "mem://"))
        return es_objstore_mem_open(out, uri + 6, err);
    if (starts_with(uri, "s3://"))
        return es_objstore_s3_open(out, uri, err);
    if (starts_with(uri, "file://")) {
        const char *p = uri + 7;
        if (!*p)
            return es_error_set(err, ES_INVALID, 0, "%s: empty path", uri);
        return es_objstore_local_open(out, p, err);
    }
    const char *colon = strstr(uri, "://");
    if (colon) {
        const char *slash = strchr(uri, '/');
        if (slash && slash > colon)
            return es_error_set(err, ES_INVALID, 0,
                                "%s: unknown store scheme (use a path, file://, s3:// or mem://)",
                                uri);
    }
    return es_objstore_local_open(out, uri, err);
}

void es_objstore_close(es_objstore *s)
{
    if (s && s->vt && s->vt->close)
        s->vt->close(s);
}

void es_obj_list_reset(es_obj_list *l)
{
    if (!l)
        return;
    for (int64_t i = 0; i < l->n; i++)
        es_free(l->items[i].key);
    es_free(l->items);
    l->items = NULL;
    l->n = 0;
    l->truncated = 0;
}

/* ------------------------------------------------------- single attempts */

static es_status check_store(es_objstore *s, es_error *err)
{
    if (!s || !s->vt)
        return es_error_set(err, ES_INVALID, 0, "object store handle is NULL");
    if (s->vt->version != ES_OBJSTORE_VTABLE_VERSION)
        return es_error_set(err, ES_UNSUPPORTED, 0, "%s: object store vtable version %d (want %d)",
                            s->uri ? s->uri : "?", s->vt->version, ES_OBJSTORE_VTABLE_VERSION);
    return ES_OK;
}

es_status es_objstore_get_once(es_objstore *s, const char *key, uint64_t offset, uint64_t len,
                               es_blob **out, es_error *err)
{
    es_status rc;
    if (out)
        *out = NULL;
    if ((rc = check_store(s, err)) != ES_OK)
        return rc;
    if (!out)
        return es_error_set(err, ES_INVALID, 0, "%s: get: out is NULL", s->uri);
    if ((rc = es_objstore_check_key(key, err)) != ES_OK)
        return rc;
    begin(s);
    rc = s->vt->get(s, key, offset, len, out, err);
    end(s);
    if (rc == ES_OK && !*out)
        rc = es_error_set(err, ES_INTERNAL, 0, "%s: get: backend returned no data", key);
    if (rc != ES_OK && *out) {
        es_blob_unref(*out);
        *out = NULL;
    }
    count(s, ES_OP_GET, rc, rc == ES_OK ? (int64_t)(*out)->size : 0, 0);
    trace_req(s, "GET", key, offset, len, rc, rc == ES_OK ? (int64_t)(*out)->size : 0);
    return rc;
}

es_status es_objstore_sync(es_objstore *s, const char *key, es_error *err)
{
    es_status rc;
    if ((rc = check_store(s, err)) != ES_OK || (rc = es_objstore_check_key(key, err)) != ES_OK)
        return rc;
    __atomic_add_fetch(&s->stats.syncs, 1, __ATOMIC_RELAXED);
    return s->vt->sync ? s->vt->sync(s, key, err) : ES_OK;
}

es_status es_objstore_head_once(es_objstore *s, const char *key, es_obj_info *out, es_error *err)
{
    es_status rc;
    if ((rc = check_store(s, err)) != ES_OK)
        return rc;
    if (!out)
        return es_error_set(err, ES_INVALID, 0, "%s: head: out is NULL", s->uri);
    memset(out, 0, sizeof *out);
    if ((rc = es_objstore_check_key(key, err)) != ES_OK)
        return rc;
    begin(s);
    rc = s->vt->head(s, key, out, err);
    end(s);
    count(s, ES_OP_HEAD, rc, 0, 0);
    trace_req(s, "HEAD", key, 0, UINT64_MAX, rc, 0);
    return rc;
}

static es_status check_put_args(es_objstore *s, const char *key, const void *data, size_t len,
                                es_put_mode mode, const char *if_match, es_error *err)
{
    es_status rc;
    if ((rc = check_store(s, err)) != ES_OK)
        return rc;
    if ((rc = es_objstore_check_key(key, err)) != ES_OK)
        return rc;
    if (!data && len)
        return es_error_set(err, ES_INVALID, 0, "%s: put: data is NULL", key);
    if (mode != ES_PUT_ALWAYS && mode != ES_PUT_IF_ABSENT && mode != ES_PUT_IF_MATCH &&
        mode != ES_PUT_HINT)
        return es_error_set(err, ES_INVALID, 0, "%s: put: bad mode %d", key, (int)mode);
    if (mode == ES_PUT_IF_MATCH && (!if_match || !*if_match))
        return es_error_set(err, ES_INVALID, 0, "%s: put: IF_MATCH without an etag", key);
    return ES_OK;
}

es_status es_objstore_put_once(es_objstore *s, const char *key, const void *data, size_t len,
                               es_put_mode mode, const char *if_match, char *etag_out,
                               es_error *err)
{
    es_status rc = check_put_args(s, key, data, len, mode, if_match, err);
    if (rc != ES_OK)
        return rc;
    if (etag_out)
        etag_out[0] = 0;
    begin(s);
    rc = s->vt->put(s, key, data ? data : "", len, mode, if_match, etag_out, err);
    end(s);
    count(s, ES_OP_PUT, rc, 0, rc == ES_OK ? (int64_t)len : 0);
    trace_req(s, mode == ES_PUT_ALWAYS || mode == ES_PUT_HINT ? "PUT" : "PUT-IF", key, 0, len, rc,
              0);
    return rc;
}

static int64_t clamp_max_keys(int64_t max_keys)
{
    return (max_keys <= 0 || max_keys > 1000) ? 1000 : max_keys;
}

es_status es_objstore_list_once(es_objstore *s, const char *prefix, const char *start_after,
                                int64_t max_keys, es_obj_list *out, es_error *err)
{
    es_status rc;
    if ((rc = check_store(s, err)) != ES_OK)
        return rc;
    if (!out)
        return es_error_set(err, ES_INVALID, 0, "%s: list: out is NULL", s->uri);
    memset(out, 0, sizeof *out);
    if ((rc = es_objstore_check_prefix(prefix, err)) != ES_OK)
        return rc;
    begin(s);
    rc = s->vt->list(s, prefix ? prefix : "", start_after, clamp_max_keys(max_keys), out, err);
    end(s);
    if (rc != ES_OK)
        es_obj_list_reset(out);
    count(s, ES_OP_LIST, rc, 0, 0);
    trace_req(s, "LIST", prefix ? prefix : "", 0, UINT64_MAX, rc, 0);
    return rc;
}

es_status es_objstore_delete_once(es_objstore *s, const char *const *keys, int64_t n, es_error *err)
{
    es_status rc;
    if ((rc = check_store(s, err)) != ES_OK)
        return rc;
    if (n < 0 || (n > 0 && !keys))
        return es_error_set(err, ES_INVALID, 0, "%s: delete: bad key array", s->uri);
    for (int64_t i = 0; i < n; i++)
        if ((rc = es_objstore_check_key(keys[i], err)) != ES_OK)
            return rc;
    if (n == 0)
        return ES_OK;
    begin(s);
    rc = s->vt->del(s, keys, n, err);
    end(s);
    count(s, ES_OP_DELETE, rc, 0, 0);
    trace_req(s, "DELETE", keys[0], 0, UINT64_MAX, rc, 0);
    return rc;
}

es_status es_objstore_get_many_once(es_objstore *s, es_range_req *reqs, int64_t n, es_error *err)
{
    es_status rc;
    if ((rc = check_store(s, err)) != ES_OK)
        return rc;
    if (n < 0 || (n > 0 && !reqs))
        return es_error_set(err, ES_INVALID, 0, "%s: get_many: bad request array", s->uri);
    /* Requests with a bad key fail alone (I1); the others are still served. */
    es_status first = ES_OK;
    for (int64_t i = 0; i < n; i++) {
        reqs[i].out = NULL;
        /* Ranges of one object usually share the key's pointer: checked once. */
        reqs[i].status = i > 0 && reqs[i].key == reqs[i - 1].key
                             ? reqs[i - 1].status
                             : es_objstore_check_key(reqs[i].key, first == ES_OK ? err : NULL);
        if (reqs[i].status != ES_OK && first == ES_OK)
            first = reqs[i].status;
    }
    if (!s->vt->get_many || first != ES_OK) {
        for (int64_t i = 0; i < n; i++) {
            if (reqs[i].status != ES_OK)
                continue;
            es_error e1 = {0};
            reqs[i].status = es_objstore_get_once(s, reqs[i].key, reqs[i].offset, reqs[i].len,
                                                  &reqs[i].out, &e1);
            if (reqs[i].status != ES_OK && first == ES_OK) {
                first = reqs[i].status;
                if (err)
                    *err = e1;
            }
        }
        return first;
    }
    begin(s);
    rc = s->vt->get_many(s, reqs, n, err);
    end(s);
    for (int64_t i = 0; i < n; i++) {
        if (reqs[i].status == ES_OK && !reqs[i].out)
            reqs[i].status = es_error_set(first == ES_OK ? err : NULL, ES_INTERNAL, 0,
                                          "%s: get_many: backend returned no data", reqs[i].key);
        if (reqs[i].status != ES_OK && reqs[i].out) {
            es_blob_unref(reqs[i].out);
            reqs[i].out = NULL;
        }
        count(s, ES_OP_GET, reqs[i].status,
              reqs[i].status == ES_OK ? (int64_t)reqs[i].out->size : 0, 0);
        trace_req(s, "GET", reqs[i].key, reqs[i].offset, reqs[i].len, reqs[i].status,
                  reqs[i].status == ES_OK ? (int64_t)reqs[i].out->size : 0);
        if (reqs[i].status != ES_OK && first == ES_OK)
            first = reqs[i].status;
    }
    if (first == ES_OK && rc != ES_OK) /* a backend failure not attributed to a request */
        first = rc;
    return first;
}

/* --------------------------------------------------- public, with retries */

#define RETRY(call)                                                                                \
    do {                                                                                           \
        int max_ = atomic_load(&retry_attempts);                                                   \
        for (int attempt_ = 1;; attempt_++) {                                                      \
            rc = (call);                                                                           \
            if (rc != ES_TRANSIENT || attempt_ >= max_)                                            \
                break;                                                                             \
            backoff(attempt_);                                                                     \
        }                                                                                          \
    } while (0)

es_status es_objstore_get(es_objstore *s, const char *key, uint64_t offset, uint64_t len,
                          es_blob **out, es_error *err)
{
    es_status rc;
    RETRY(es_objstore_get_once(s, key, offset, len, out, err));
    return rc;
}

es_status es_objstore_head(es_objstore *s, const char *key, es_obj_info *out, es_error *err)
{
    es_status rc;
    RETRY(es_objstore_head_once(s, key, out, err));
    return rc;
}

es_status es_objstore_list(es_objstore *s, const char *prefix, const char *start_after,
                           int64_t max_keys, es_obj_list *out, es_error *err)
{
    es_status rc;
    RETRY(es_objstore_list_once(s, prefix, start_after, max_keys, out, err));
    return rc;
}

es_status es_objstore_delete(es_objstore *s, const char *const *keys, int64_t n, es_error *err)
{
    es_status rc;
    RETRY(es_objstore_delete_once(s, keys, n, err));
    return rc;
}

es_status es_objstore_get_many(es_objstore *s, es_range_req *reqs, int64_t n, es_error *err)
{
    es_status rc = es_objstore_get_many_once(s, reqs, n, err);
    if (rc == ES_OK || !s || !s->vt || n < 0 || (n > 0 && !reqs))
        return rc;
    /* Retry the requests that failed transiently, one by one. */
    es_status first = ES_OK;
    for (int64_t i = 0; i < n; i++) {
        if (reqs[i].status == ES_TRANSIENT) {
            es_error e1 = {0};
            reqs[i].status =
                es_objstore_get(s, reqs[i].key, reqs[i].offset, reqs[i].len, &reqs[i].out, &e1);
            if (reqs[i].status != ES_OK && first == ES_OK && err)
                *err = e1;
        }
        if (reqs[i].status != ES_OK && first == ES_OK)
            first = reqs[i].status;
    }
    return first;
}

/* Invariant I3: after an ambiguous failure, is the stored object what we tried to write? */
static int own_write_landed(es_objstore *s, const char *key, const void *data, size_t len,
                            char *etag_out)
{
    es_blob *b = NULL;
    es_error e2 = {0};
    if (es_objstore_get(s, key, 0, UINT64_MAX, &b, &e2) != ES_OK)
        return 0;
    int same = b->size == len && (len == 0 || memcmp(b->data, data, len) == 0);
    es_blob_unref(b);
    if (same && etag_out) {
        es_obj_info info;
        if (es_objstore_head(s, key, &info, &e2) == ES_OK)
            memcpy(etag_out, info.etag, ES_ETAG_MAX);
    }
    return same;
}

es_status es_objstore_put(es_objstore *s, const char *key, const void *data, size_t len,
                          es_put_mode mode, const char *if_match, char *etag_out, es_error *err)
{
    es_status rc = check_put_args(s, key, data, len, mode, if_match, err);
    if (rc != ES_OK)
        return rc;
    int max = atomic_load(&retry_attempts);
    int ambiguous = 0;
    for (int attempt = 1;; attempt++) {
        rc = es_objstore_put_once(s, key, data, len, mode, if_match, etag_out, err);
        if (rc != ES_TRANSIENT || attempt >= max)
            break;
        ambiguous = 1;
        backoff(attempt);
    }
    if (rc == ES_EXISTS && ambiguous && mode != ES_PUT_ALWAYS &&
        own_write_landed(s, key, data ? data : "", len, etag_out)) {
        if (err)
            memset(err, 0, sizeof *err);
        return ES_OK;
    }
    return rc;
}
