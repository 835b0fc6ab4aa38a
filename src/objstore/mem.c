/*
 * objstore_mem: the in-memory object store backend ("mem://name"), a fake for tests (not a
 * mock: it honours the whole contract of include/expstore/sys/objstore.h).
 *
 * Data: a sorted array of (key, blob, etag) per named bucket, guarded by a mutex. Gets hand out
 * references to (slices of) the stored blob, so they are zero-copy and stay valid after the
 * object is replaced or deleted. ETags are "<crc32c>-<sequence>", unique per put.
 *
 * Sharing: stores opened with the same non-empty name share one bucket within the process
 * (several "processes" in one test); a named bucket lives until es_objstore_mem_drop or the end
 * of the process, even when no handle is open, so close-and-reopen tests see their data.
 * "mem://" (empty name) is a private bucket freed when its handle closes.
 */
#include "objstore/objstore.h"

#include <pthread.h>
#include <stdio.h>

#include "util/util.h"

typedef struct mem_entry {
    char *key;
    es_blob *blob;
    char etag[ES_ETAG_MAX];
} mem_entry;

typedef struct mem_bucket {
    char *name; /* "" for private buckets */
    pthread_mutex_t mu;
    mem_entry *v;
    int64_t n, cap;
    uint64_t seq;
    int64_t handles; /* guarded by registry_mu */
    int dropped;     /* guarded by registry_mu: no longer in the registry */
    struct mem_bucket *next;
} mem_bucket;

typedef struct mem_store {
    es_objstore base;
    mem_bucket *b;
} mem_store;

static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static mem_bucket *registry;

static void bucket_free(mem_bucket *b)
{
    for (int64_t i = 0; i < b->n; i++) {
        es_free(b->v[i].key);
        es_blob_unref(b->v[i].blob);
    }
    es_free(b->v);
    es_free(b->name);
    pthread_mutex_destroy(&b->mu);
    es_free(b);
}

/* Index of the first entry with key >= k (lower bound). */
static int64_t lower_bound(const mem_bucket *b, const char *k)
{
    int64_t lo = 0, hi = b->n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (strcmp(b->v[mid].key, k) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static mem_entry *find(const mem_bucket *b, const char *k)
{
    int64_t i = lower_bound(b, k);
    return (i < b->n && strcmp(b->v[i].key, k) == 0) ? &b->v[i] : NULL;
}

static es_status mem_get(es_objstore *s, const char *key, uint64_t offset, uint64_t len,
                         es_blob **out, es_error *err)
{
    mem_bucket *b = ((mem_store *)s)->b;
    es_blob *blob = NULL;
    pthread_mutex_lock(&b->mu);
    mem_entry *e = find(b, key);
    if (e)
        blob = es_blob_ref(e->blob);
    pthread_mutex_unlock(&b->mu);
    if (!blob)
        return es_error_set(err, ES_NOT_FOUND, 0, "%s: no such object", key);
    es_status rc = ES_OK;
    if (offset > blob->size) {
        rc = es_error_set(err, ES_INVALID, 0, "%s: range offset %llu past the end (size %zu)", key,
                          (unsigned long long)offset, blob->size);
    } else if (offset == 0 && len >= blob->size) {
        *out = es_blob_ref(blob);
    } else {
        uint64_t avail = blob->size - offset;
        if (len > avail)
            len = avail;
        rc = es_blob_new_slice(out, blob, (size_t)offset, (size_t)len);
        if (rc != ES_OK)
            es_error_set(err, rc, 0, "%s: out of memory", key);
    }
    es_blob_unref(blob);
    return rc;
}

static es_status mem_head(es_objstore *s, const char *key, es_obj_info *out, es_error *err)
{
    mem_bucket *b = ((mem_store *)s)->b;
    es_status rc = ES_OK;
    pthread_mutex_lock(&b->mu);
    mem_entry *e = find(b, key);
    if (e) {
        out->key = NULL;
        out->size = e->blob->size;
        memcpy(out->etag, e->etag, ES_ETAG_MAX);
    } else {
        rc = ES_NOT_FOUND;
    }
    pthread_mutex_unlock(&b->mu);
    if (rc != ES_OK)
        es_error_set(err, rc, 0, "%s: no such object", key);
    return rc;
}

static es_status mem_put(es_objstore *s, const char *key, const void *data, size_t len,
                         es_put_mode mode, const char *if_match, char *etag_out, es_error *err)
{
    mem_bucket *b = ((mem_store *)s)->b;
    es_blob *blob = NULL;
    char *k = es_strdup(key);
    if (!k || es_blob_new_copy(&blob, data, len) != ES_OK) {
        es_free(k);
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", key);
    }
    uint32_t crc = es_crc32c(0, data, len);
    es_status rc = ES_OK;
    pthread_mutex_lock(&b->mu);
    int64_t i = lower_bound(b, key);
    int exists = i < b->n && strcmp(b->v[i].key, key) == 0;
    if (mode == ES_PUT_IF_ABSENT && exists) {
        rc = es_error_set(err, ES_EXISTS, 0, "%s: already exists", key);
    } else if (mode == ES_PUT_IF_MATCH && (!exists || strcmp(b->v[i].etag, if_match) != 0)) {
        rc = es_error_set(err, ES_EXISTS, 0, "%s: etag mismatch (%s)", key,
                          exists ? "object changed" : "object missing");
    } else if (!exists && b->n == b->cap) {
        int64_t nc = b->cap ? b->cap * 2 : 64;
        mem_entry *nv = es_realloc(b->v, (size_t)nc * sizeof *nv);
        if (!nv) {
            rc = es_error_set(err, ES_NOMEM, 0, "%s: out of memory", key);
        } else {
            b->v = nv;
            b->cap = nc;
        }
    }
    if (rc == ES_OK) {
        mem_entry *e;
        if (exists) {
            e = &b->v[i];
            es_blob_unref(e->blob);
            es_free(k);
        } else {
            memmove(&b->v[i + 1], &b->v[i], (size_t)(b->n - i) * sizeof *b->v);
            b->n++;
            e = &b->v[i];
            e->key = k;
        }
        k = NULL;
        e->blob = blob;
        blob = NULL;
        snprintf(e->etag, sizeof e->etag, "%08x-%llu", crc, (unsigned long long)++b->seq);
        if (etag_out)
            memcpy(etag_out, e->etag, ES_ETAG_MAX);
    }
    pthread_mutex_unlock(&b->mu);
    es_free(k);
    es_blob_unref(blob);
    return rc;
}

static es_status mem_list(es_objstore *s, const char *prefix, const char *start_after,
                          int64_t max_keys, es_obj_list *out, es_error *err)
{
    mem_bucket *b = ((mem_store *)s)->b;
    size_t pl = strlen(prefix);
    es_status rc = ES_OK;
    pthread_mutex_lock(&b->mu);
    int64_t i = lower_bound(b, prefix);
    if (start_after && strcmp(start_after, prefix) >= 0) {
        i = lower_bound(b, start_after);
        if (i < b->n && strcmp(b->v[i].key, start_after) == 0)
            i++;
    }
    int64_t j = i;
    while (j < b->n && j - i < max_keys && strncmp(b->v[j].key, prefix, pl) == 0)
        j++;
    int64_t cnt = j - i;
    out->truncated = j < b->n && strncmp(b->v[j].key, prefix, pl) == 0;
    if (cnt > 0) {
        out->items = es_calloc((size_t)cnt, sizeof *out->items);
        if (!out->items)
            rc = ES_NOMEM;
    }
    for (int64_t k = 0; k < cnt && rc == ES_OK; k++) {
        mem_entry *e = &b->v[i + k];
        es_obj_info *it = &out->items[k];
        it->key = es_strdup(e->key);
        if (!it->key) {
            rc = ES_NOMEM;
            break;
        }
        it->size = e->blob->size;
        memcpy(it->etag, e->etag, ES_ETAG_MAX);
        out->n++;
    }
    pthread_mutex_unlock(&b->mu);
    if (rc != ES_OK)
        es_error_set(err, rc, 0, "list %s: out of memory", prefix);
    return rc;
}

static es_status mem_del(es_objstore *s, const char *const *keys, int64_t n, es_error *err)
{
    (void)err;
    mem_bucket *b = ((mem_store *)s)->b;
    pthread_mutex_lock(&b->mu);
    for (int64_t k = 0; k < n; k++) {
        int64_t i = lower_bound(b, keys[k]);
        if (i < b->n && strcmp(b->v[i].key, keys[k]) == 0) {
            es_free(b->v[i].key);
            es_blob_unref(b->v[i].blob);
            memmove(&b->v[i], &b->v[i + 1], (size_t)(b->n - i - 1) * sizeof *b->v);
            b->n--;
        }
    }
    pthread_mutex_unlock(&b->mu);
    return ES_OK;
}

static void mem_close(es_objstore *s)
{
    mem_store *m = (mem_store *)s;
    mem_bucket *b = m->b;
    pthread_mutex_lock(&registry_mu);
    int free_it = --b->handles == 0 && (b->dropped || !b->name[0]);
    pthread_mutex_unlock(&registry_mu);
    if (free_it)
        bucket_free(b);
    es_free(s->uri);
    es_free(m);
}

static const es_objstore_vtable mem_vtable = {
    ES_OBJSTORE_VTABLE_VERSION, mem_get, NULL, mem_head, mem_put, mem_list, mem_del, mem_close,
};

static mem_bucket *bucket_new(const char *name)
{
    mem_bucket *b = es_calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->name = es_strdup(name);
    if (!b->name) {
        es_free(b);
        return NULL;
    }
    pthread_mutex_init(&b->mu, NULL);
    return b;
}

es_status es_objstore_mem_open(es_objstore **out, const char *name, es_error *err)
{
    *out = NULL;
    if (!name)
        name = "";
    char uri[300];
    snprintf(uri, sizeof uri, "mem://%.280s", name);
    mem_store *m = es_calloc(1, sizeof *m);
    if (!m || es_objstore_init_base(&m->base, &mem_vtable, uri) != ES_OK) {
        es_free(m);
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", uri);
    }
    m->base.cas_supported = 1;
    pthread_mutex_lock(&registry_mu);
    mem_bucket *b = NULL;
    if (name[0])
        for (b = registry; b && strcmp(b->name, name) != 0; b = b->next) {
        }
    if (!b) {
        b = bucket_new(name);
        if (b && name[0]) {
            b->next = registry;
            registry = b;
        }
    }
    if (b)
        b->handles++;
    pthread_mutex_unlock(&registry_mu);
    if (!b) {
        es_free(m->base.uri);
        es_free(m);
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", uri);
    }
    m->b = b;
    *out = &m->base;
    return ES_OK;
}

int es_objstore_mem_drop(const char *name)
{
    mem_bucket *found = NULL;
    int free_it = 0;
    pthread_mutex_lock(&registry_mu);
    for (mem_bucket **pp = &registry; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->name, name) == 0) {
            found = *pp;
            *pp = found->next;
            found->dropped = 1;
            free_it = found->handles == 0;
            break;
        }
    }
    pthread_mutex_unlock(&registry_mu);
    if (free_it)
        bucket_free(found);
    return found != NULL;
}
