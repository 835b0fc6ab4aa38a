/*
 * objstore_mem: the in-memory object store backend ("mem://name"), a fake for tests (not a
 * mock: it honours the whole contract of include/expstore/sys/objstore.h).
 *
 * Data: per named bucket, guarded by a mutex, an array of (key, blob, etag) in the order keys
 * were first put, a hash of the keys (get, head, put and delete in constant time), and the
 * entries' order by key for listings, brought up to date by the first listing after puts (the
 * new keys sorted and merged in: no shifting of the array at each put, which was quadratic
 * with 100,000 objects). A deleted object keeps its entry with no blob, skipped by listings.
 * Gets hand out references to (slices of) the stored blob, so they are zero-copy and stay
 * valid after the object is replaced or deleted. ETags are "<crc32c>-<sequence>", unique per
 * put.
 *
 * Sharing: stores opened with the same non-empty name share one bucket within the process
 * (several "processes" in one test); a named bucket lives until es_objstore_mem_drop or the end
 * of the process, even when no handle is open, so close-and-reopen tests see their data.
 * "mem://" (empty name) is a private bucket freed when its handle closes.
 */
#include "objstore/objstore.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/util.h"

typedef struct mem_entry {
    char *key;
    es_blob *blob; /* NULL: deleted (the entry stays, found again if the key is put again) */
    char etag[ES_ETAG_MAX];
} mem_entry;

typedef struct mem_bucket {
    char *name; /* "" for private buckets */
    pthread_mutex_t mu;
    mem_entry *v; /* in the order keys were first put */
    int64_t n, cap;
    int64_t *slot; /* hash of keys: index into v, -1 empty (cap_slot, a power of two) */
    int64_t cap_slot;
    int64_t *order; /* indices into v sorted by key: v[0 .. n_sorted) (listing) */
    int64_t n_sorted;
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
    es_free(b->slot);
    es_free(b->order);
    es_free(b->name);
    pthread_mutex_destroy(&b->mu);
    es_free(b);
}

static uint64_t key_hash(const char *k)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *k; k++)
        h = (h ^ (uint8_t)*k) * 1099511628211ull;
    return h;
}

/* The hash slot of key k: where its entry is, or the empty slot where it would go. */
static int64_t slot_of(const mem_bucket *b, const char *k)
{
    int64_t i = (int64_t)(key_hash(k) & (uint64_t)(b->cap_slot - 1));
    while (b->slot[i] >= 0 && strcmp(b->v[b->slot[i]].key, k) != 0)
        i = (i + 1) & (b->cap_slot - 1);
    return i;
}

/* The entry of key k, deleted or not, or NULL. */
static mem_entry *find_any(const mem_bucket *b, const char *k)
{
    if (b->cap_slot == 0)
        return NULL;
    int64_t i = b->slot[slot_of(b, k)];
    return i >= 0 ? &b->v[i] : NULL;
}

static mem_entry *find(const mem_bucket *b, const char *k)
{
    mem_entry *e = find_any(b, k);
    return e && e->blob ? e : NULL;
}

/* Room for one more entry (and its slot, at most half full). ES_NOMEM. */
static es_status grow(mem_bucket *b)
{
    if (b->n == b->cap) {
        int64_t nc = b->cap ? b->cap * 2 : 64;
        mem_entry *nv = es_realloc(b->v, (size_t)nc * sizeof *nv);
        int64_t *no = es_realloc(b->order, (size_t)nc * sizeof *no);
        if (nv)
            b->v = nv;
        if (no)
            b->order = no;
        if (!nv || !no)
            return ES_NOMEM;
        b->cap = nc;
    }
    if (2 * (b->n + 1) > b->cap_slot) {
        int64_t nc = b->cap_slot ? b->cap_slot * 2 : 128;
        int64_t *ns = es_malloc((size_t)nc * sizeof *ns);
        if (!ns)
            return ES_NOMEM;
        for (int64_t i = 0; i < nc; i++)
            ns[i] = -1;
        es_free(b->slot);
        b->slot = ns;
        b->cap_slot = nc;
        for (int64_t i = 0; i < b->n; i++)
            b->slot[slot_of(b, b->v[i].key)] = i;
    }
    return ES_OK;
}

typedef struct keyed {
    const char *key;
    int64_t i;
} keyed;

static int cmp_keyed(const void *x, const void *y)
{
    return strcmp(((const keyed *)x)->key, ((const keyed *)y)->key);
}

/* Bring b->order up to every entry: sort the entries put since, merge them in. */
static es_status sort_new(mem_bucket *b)
{
    int64_t m = b->n - b->n_sorted;
    if (m == 0)
        return ES_OK;
    keyed *add = es_malloc((size_t)m * sizeof *add);
    if (!add)
        return ES_NOMEM;
    for (int64_t i = 0; i < m; i++) {
        add[i].i = b->n_sorted + i;
        add[i].key = b->v[add[i].i].key;
    }
    qsort(add, (size_t)m, sizeof *add, cmp_keyed);
    /* Merge order[0 .. n_sorted) with add[0 .. m) from the back, into order. */
    int64_t i = b->n_sorted - 1, j = m - 1, k = b->n - 1;
    while (j >= 0) {
        if (i >= 0 && strcmp(b->v[b->order[i]].key, add[j].key) > 0)
            b->order[k--] = b->order[i--];
        else
            b->order[k--] = add[j--].i;
    }
    es_free(add);
    b->n_sorted = b->n;
    return ES_OK;
}

/* Position in b->order (sorted) of the first key >= k. */
static int64_t lower_bound(const mem_bucket *b, const char *k)
{
    int64_t lo = 0, hi = b->n_sorted;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (strcmp(b->v[b->order[mid]].key, k) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
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
    if (es_blob_new_copy(&blob, data, len) != ES_OK)
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", key);
    uint32_t crc = es_crc32c(0, data, len);
    es_status rc = ES_OK;
    pthread_mutex_lock(&b->mu);
    mem_entry *e = find_any(b, key);
    int exists = e && e->blob;
    if (mode == ES_PUT_IF_ABSENT && exists) {
        rc = es_error_set(err, ES_EXISTS, 0, "%s: already exists", key);
    } else if (mode == ES_PUT_IF_MATCH && (!exists || strcmp(e->etag, if_match) != 0)) {
        rc = es_error_set(err, ES_EXISTS, 0, "%s: etag mismatch (%s)", key,
                          exists ? "object changed" : "object missing");
    } else if (!e) {
        char *k = es_strdup(key);
        if (!k || grow(b) != ES_OK) {
            es_free(k);
            rc = es_error_set(err, ES_NOMEM, 0, "%s: out of memory", key);
        } else {
            e = &b->v[b->n];
            memset(e, 0, sizeof(*e));
            e->key = k;
            b->slot[slot_of(b, key)] = b->n++;
        }
    }
    if (rc == ES_OK) {
        es_blob_unref(e->blob);
        e->blob = blob;
        blob = NULL;
        snprintf(e->etag, sizeof e->etag, "%08x-%llu", crc, (unsigned long long)++b->seq);
        if (etag_out)
            memcpy(etag_out, e->etag, ES_ETAG_MAX);
    }
    pthread_mutex_unlock(&b->mu);
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
    if (sort_new(b) != ES_OK) {
        pthread_mutex_unlock(&b->mu);
        return es_error_set(err, ES_NOMEM, 0, "list %s: out of memory", prefix);
    }
    int64_t i = lower_bound(b, prefix);
    if (start_after && strcmp(start_after, prefix) >= 0) {
        i = lower_bound(b, start_after);
        if (i < b->n_sorted && strcmp(b->v[b->order[i]].key, start_after) == 0)
            i++;
    }
    /* Deleted entries stay in the order: skip them. */
    int64_t cnt = 0, j = i;
    for (; j < b->n_sorted && cnt < max_keys && strncmp(b->v[b->order[j]].key, prefix, pl) == 0;
         j++)
        cnt += b->v[b->order[j]].blob != NULL;
    while (j < b->n_sorted && !b->v[b->order[j]].blob &&
           strncmp(b->v[b->order[j]].key, prefix, pl) == 0)
        j++;
    out->truncated = j < b->n_sorted && strncmp(b->v[b->order[j]].key, prefix, pl) == 0;
    if (cnt > 0) {
        out->items = es_calloc((size_t)cnt, sizeof *out->items);
        if (!out->items)
            rc = ES_NOMEM;
    }
    for (int64_t k = i; k < j && rc == ES_OK && out->n < cnt; k++) {
        mem_entry *e = &b->v[b->order[k]];
        if (!e->blob)
            continue;
        es_obj_info *it = &out->items[out->n];
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
        mem_entry *e = find(b, keys[k]);
        if (e) { /* the entry stays (in the hash and the order) until the key is put again */
            es_blob_unref(e->blob);
            e->blob = NULL;
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
    ES_OBJSTORE_VTABLE_VERSION,
    mem_get,
    NULL,
    mem_head,
    mem_put,
    mem_list,
    mem_del,
    mem_close,
    NULL, /* no durability to give */
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
