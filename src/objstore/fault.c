/*
 * objstore_fault: fault injection at the object store vtable, in the manner of SQLite's
 * test_vfs.c. A fault store wraps any es_objstore and forwards each operation to it through
 * the single-attempt dispatch functions (the inner store's counters stay exact and the
 * outermost dispatch call does the retrying). It can
 *   - fail the Nth operation (counting every operation, or only one es_op kind), once or from
 *     then on, or every Kth one, with any status (ES_TRANSIENT to exercise retries, ES_REMOTE or
 * ES_IO for permanent failures), before the operation or after it (a lost response);
 *   - add latency to every operation (a get_many batch sleeps once: one round trip);
 *   - "crash after the Nth put": that put reaches the inner store, then every later operation
 *     fails with ES_IO "simulated crash" and nothing more is written;
 *   - count operations per kind.
 * get_many: each range counts as one GET; with failures configured it is a loop over get.
 * Thread-safe: counters and configuration are guarded by a mutex.
 */
#include "objstore/objstore.h"

#include <pthread.h>
#include <stdio.h>

#include "os/os.h"
#include "util/util.h"

typedef struct fault_store {
    es_objstore base;
    es_objstore *inner;
    int owns_inner;
    pthread_mutex_t mu;
    es_fault_config cfg;
    int64_t seen[ES_OP_COUNT];
    int64_t counted; /* operations matching cfg.op */
    int64_t puts;
    int64_t injected;
    int crashed;
} fault_store;

/* What to do with one operation. */
typedef enum action { ACT_PASS = 0, ACT_FAIL_BEFORE, ACT_FAIL_AFTER, ACT_CRASHED } action;

static action decide(fault_store *f, es_op op, int64_t *latency, int *crash_now)
{
    action a = ACT_PASS;
    *crash_now = 0;
    pthread_mutex_lock(&f->mu);
    *latency = f->cfg.latency_ns;
    f->seen[op]++;
    if (f->crashed) {
        a = ACT_CRASHED;
    } else {
        if (f->cfg.op < 0 || f->cfg.op == (int)op) {
            int64_t c = ++f->counted;
            if ((f->cfg.fail_at > 0 &&
                 (c == f->cfg.fail_at || (f->cfg.persist && c > f->cfg.fail_at))) ||
                (f->cfg.fail_every >= 2 && c % f->cfg.fail_every == 0)) {
                a = f->cfg.after ? ACT_FAIL_AFTER : ACT_FAIL_BEFORE;
                f->injected++;
            }
        }
        if (op == ES_OP_PUT && a != ACT_FAIL_BEFORE) {
            int64_t p = ++f->puts;
            if (f->cfg.crash_after_put > 0 && p == f->cfg.crash_after_put)
                *crash_now = 1;
        }
    }
    pthread_mutex_unlock(&f->mu);
    return a;
}

static void mark_crashed(fault_store *f)
{
    pthread_mutex_lock(&f->mu);
    f->crashed = 1;
    pthread_mutex_unlock(&f->mu);
}

static es_status injected(fault_store *f, es_op op, const char *what, es_error *err)
{
    static const char *names[ES_OP_COUNT] = {"get", "head", "put", "list", "delete"};
    es_status st = f->cfg.status ? f->cfg.status : ES_IO;
    return es_error_set(err, st, st == ES_TRANSIENT ? 503 : 0, "%s: injected %s failure of %s",
                        what, st == ES_TRANSIENT ? "transient" : "permanent", names[op]);
}

static es_status crashed_status(const char *what, es_error *err)
{
    return es_error_set(err, ES_IO, 0, "%s: simulated crash", what);
}

/* The common shape of every forwarded operation. `call` is evaluated once when allowed. */
#define FORWARD(op, what, call)                                                                    \
    do {                                                                                           \
        int64_t lat_;                                                                              \
        int crash_now_;                                                                            \
        action a_ = decide(f, op, &lat_, &crash_now_);                                             \
        es_os_sleep_ns(lat_);                                                                      \
        if (a_ == ACT_CRASHED)                                                                     \
            return crashed_status(what, err);                                                      \
        if (a_ == ACT_FAIL_BEFORE)                                                                 \
            return injected(f, op, what, err);                                                     \
        es_status rc_ = (call);                                                                    \
        if (crash_now_)                                                                            \
            mark_crashed(f);                                                                       \
        if (a_ == ACT_FAIL_AFTER) {                                                                \
            after_cleanup;                                                                         \
            return injected(f, op, what, err);                                                     \
        }                                                                                          \
        return rc_;                                                                                \
    } while (0)

static es_status fault_get(es_objstore *s, const char *key, uint64_t offset, uint64_t len,
                           es_blob **out, es_error *err)
{
    fault_store *f = (fault_store *)s;
#define after_cleanup                                                                              \
    do {                                                                                           \
        es_blob_unref(*out);                                                                       \
        *out = NULL;                                                                               \
    } while (0)
    FORWARD(ES_OP_GET, key, es_objstore_get_once(f->inner, key, offset, len, out, err));
#undef after_cleanup
}

/* A batch is one round trip: with nothing to inject but latency, sleep once and pass the batch
 * to the inner store (in parallel where it can); otherwise one get per range, so that
 * failures are injected per GET as ever. */
static es_status fault_get_many(es_objstore *s, es_range_req *reqs, int64_t n, es_error *err)
{
    fault_store *f = (fault_store *)s;
    pthread_mutex_lock(&f->mu);
    int plain =
        f->cfg.fail_at == 0 && f->cfg.fail_every == 0 && f->cfg.crash_after_put == 0 && !f->crashed;
    int64_t latency = f->cfg.latency_ns;
    if (plain)
        f->seen[ES_OP_GET] += n;
    pthread_mutex_unlock(&f->mu);
    if (plain) {
        es_os_sleep_ns(latency);
        return es_objstore_get_many_once(f->inner, reqs, n, err);
    }
    es_status first = ES_OK;
    for (int64_t i = 0; i < n; i++) {
        es_error e1 = {0};
        reqs[i].status = fault_get(s, reqs[i].key, reqs[i].offset, reqs[i].len, &reqs[i].out, &e1);
        if (reqs[i].status != ES_OK && first == ES_OK) {
            first = reqs[i].status;
            if (err)
                *err = e1;
        }
    }
    return first;
}

static es_status fault_head(es_objstore *s, const char *key, es_obj_info *out, es_error *err)
{
    fault_store *f = (fault_store *)s;
#define after_cleanup memset(out, 0, sizeof *out)
    FORWARD(ES_OP_HEAD, key, es_objstore_head_once(f->inner, key, out, err));
#undef after_cleanup
}

/* A put on the inner store; the inner store may have learnt cas_supported (S3 probes it at its
 * first put-if-absent), which the wrapper repeats. */
static es_status put_inner(fault_store *f, const char *key, const void *data, size_t len,
                           es_put_mode mode, const char *if_match, char *etag_out, es_error *err)
{
    es_status rc = es_objstore_put_once(f->inner, key, data, len, mode, if_match, etag_out, err);
    f->base.cas_supported = f->inner->cas_supported;
    return rc;
}

static es_status fault_put(es_objstore *s, const char *key, const void *data, size_t len,
                           es_put_mode mode, const char *if_match, char *etag_out, es_error *err)
{
    fault_store *f = (fault_store *)s;
#define after_cleanup                                                                              \
    do {                                                                                           \
        if (etag_out)                                                                              \
            etag_out[0] = 0;                                                                       \
    } while (0)
    FORWARD(ES_OP_PUT, key, put_inner(f, key, data, len, mode, if_match, etag_out, err));
#undef after_cleanup
}

static es_status fault_list(es_objstore *s, const char *prefix, const char *start_after,
                            int64_t max_keys, es_obj_list *out, es_error *err)
{
    fault_store *f = (fault_store *)s;
    char what[300];
    snprintf(what, sizeof what, "list %.280s", prefix);
#define after_cleanup es_obj_list_reset(out)
    FORWARD(ES_OP_LIST, what,
            es_objstore_list_once(f->inner, prefix, start_after, max_keys, out, err));
#undef after_cleanup
}

static es_status fault_del(es_objstore *s, const char *const *keys, int64_t n, es_error *err)
{
    fault_store *f = (fault_store *)s;
#define after_cleanup (void)0
    FORWARD(ES_OP_DELETE, keys[0], es_objstore_delete_once(f->inner, keys, n, err));
#undef after_cleanup
}

/* No fault is injected into a sync (it is not a request); after a simulated crash it fails. */
static es_status fault_sync(es_objstore *s, const char *key, es_error *err)
{
    fault_store *f = (fault_store *)s;
    pthread_mutex_lock(&f->mu);
    int crashed = f->crashed;
    pthread_mutex_unlock(&f->mu);
    return crashed ? crashed_status(key, err) : es_objstore_sync(f->inner, key, err);
}

static void fault_close(es_objstore *s)
{
    fault_store *f = (fault_store *)s;
    if (f->owns_inner)
        es_objstore_close(f->inner);
    pthread_mutex_destroy(&f->mu);
    es_free(s->uri);
    es_free(f);
}

static const es_objstore_vtable fault_vtable = {
    ES_OBJSTORE_VTABLE_VERSION,
    fault_get,
    fault_get_many,
    fault_head,
    fault_put,
    fault_list,
    fault_del,
    fault_close,
    fault_sync,
};

es_status es_objstore_fault_wrap(es_objstore **out, es_objstore *inner, int take_ownership,
                                 es_error *err)
{
    *out = NULL;
    if (!inner)
        return es_error_set(err, ES_INVALID, 0, "fault store: inner store is NULL");
    char uri[600];
    snprintf(uri, sizeof uri, "fault+%.580s", inner->uri ? inner->uri : "");
    fault_store *f = es_calloc(1, sizeof *f);
    if (!f || es_objstore_init_base(&f->base, &fault_vtable, uri) != ES_OK) {
        es_free(f);
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", uri);
    }
    f->base.cas_supported = inner->cas_supported;
    f->inner = inner;
    f->owns_inner = take_ownership;
    f->cfg.op = -1;
    pthread_mutex_init(&f->mu, NULL);
    *out = &f->base;
    return ES_OK;
}

static fault_store *as_fault(es_objstore *s)
{
    return (s && s->vt == &fault_vtable) ? (fault_store *)s : NULL;
}

es_status es_objstore_fault_set(es_objstore *s, const es_fault_config *cfg)
{
    fault_store *f = as_fault(s);
    if (!f)
        return ES_INVALID;
    pthread_mutex_lock(&f->mu);
    if (cfg) {
        f->cfg = *cfg;
    } else {
        memset(&f->cfg, 0, sizeof f->cfg);
        f->cfg.op = -1;
    }
    memset(f->seen, 0, sizeof f->seen);
    f->counted = f->puts = f->injected = 0;
    f->crashed = 0;
    pthread_mutex_unlock(&f->mu);
    return ES_OK;
}

int64_t es_objstore_fault_count(es_objstore *s, int op)
{
    fault_store *f = as_fault(s);
    if (!f)
        return 0;
    int64_t n = 0;
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < ES_OP_COUNT; i++)
        if (op < 0 || op == i)
            n += f->seen[i];
    pthread_mutex_unlock(&f->mu);
    return n;
}

int64_t es_objstore_fault_injected(es_objstore *s)
{
    fault_store *f = as_fault(s);
    if (!f)
        return 0;
    pthread_mutex_lock(&f->mu);
    int64_t n = f->injected;
    pthread_mutex_unlock(&f->mu);
    return n;
}

int es_objstore_fault_crashed(es_objstore *s)
{
    fault_store *f = as_fault(s);
    if (!f)
        return 0;
    pthread_mutex_lock(&f->mu);
    int c = f->crashed;
    pthread_mutex_unlock(&f->mu);
    return c;
}

es_objstore *es_objstore_fault_inner(es_objstore *s)
{
    fault_store *f = as_fault(s);
    return f ? f->inner : NULL;
}
