/*
 * objstore_cache: a read cache in front of an object store (meant for remote backends). It sits
 * in the objstore layer as a wrapper backend and calls its inner store through the
 * single-attempt dispatch functions (the outermost dispatch call retries; the inner store's
 * counters show exactly which requests went out).
 *
 * Why it is safe: objects are immutable once written (the table's parts are never rewritten,
 * and the commit log's keys are write-once), so a byte range read once stays valid forever.
 * Puts and deletes made through the cache drop the key's entries, and a fetch that overlapped
 * one is not cached (the invalidation epoch, see cache_fill), so even a key that is rewritten
 * (the _last_checkpoint hint, tests' counters) reads back its latest write; changes made by
 * other handles to a key are not seen, which the immutability contract makes impossible anyway.
 * list is never cached (it changes as objects are added).
 *
 * Memory tier: entries are byte ranges [off, off + size) of a key (a blob, shared with callers
 * by reference) plus a flag telling whether the range reaches the end of the object, and head
 * results. A request is a hit when one entry covers it; the answer is a slice of the entry's
 * blob. Entries live in a hash table by key and in one LRU list; the total of blob sizes plus a
 * small per-entry overhead is kept under mem_bytes by evicting the least recently used. (A
 * cached blob that is a slice of a larger inner blob keeps its parent alive: the budget counts
 * the slice only.)
 *
 * Disk tier (optional, disk_dir): each range fetched from the inner store is also written
 * (atomically: temporary file + rename) as one file named
 *     <fnv1a64(key) 16 hex>-<offset hex>-<length hex, or "e" for "to the end">
 * with a header {magic "ESC1", u32 key length, u64 offset, u32 flags (1: reaches the end),
 * u32 reserved, key bytes} followed by the bytes. Lookups are exact (same key, offset, length);
 * the key in the header is compared, so hash collisions are misses. Files that fail validation
 * are deleted. The directory is kept under disk_bytes by removing the oldest files (by mtime at
 * open, then in order of use). A cache opened on a warm directory starts warm.
 */
#include "objstore/objstore.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "os/os.h"
#include "util/util.h"

#define NBUCKETS 1024
#define ENTRY_OVERHEAD 128
#define DISK_MAGIC "ESC1"
#define DISK_HDR 24

typedef struct centry {
    char *key;
    uint64_t hash;
    int is_head;
    uint64_t off;
    es_blob *blob;    /* range entries */
    int eof;          /* the range reaches the end of the object */
    es_obj_info info; /* head entries (info.key unused) */
    size_t cost;
    struct centry *prev, *next; /* LRU: head is the most recent */
    struct centry *hnext;
} centry;

typedef struct dfile {
    char name[64];
    uint64_t size;
} dfile;

typedef struct cache_store {
    es_objstore base;
    es_objstore *inner;
    int owns_inner;
    pthread_mutex_t mu;
    size_t budget, used;
    centry *buckets[NBUCKETS];
    centry *lru_head, *lru_tail;
    int64_t nentries;
    int64_t hits, misses, disk_hits;
    uint64_t epoch; /* bumped by every invalidation (under mu); see cache_fill */
    /* disk tier */
    char *dir;
    uint64_t disk_budget, disk_used;
    dfile *files; /* oldest first */
    int64_t nfiles, capfiles;
} cache_store;

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (uint8_t)*s;
        h *= 1099511628211ull;
    }
    return h;
}

/* ------------------------------------------------------------ memory tier */

static void lru_unlink(cache_store *c, centry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->lru_head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->lru_tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_push(cache_store *c, centry *e)
{
    e->prev = NULL;
    e->next = c->lru_head;
    if (c->lru_head)
        c->lru_head->prev = e;
    c->lru_head = e;
    if (!c->lru_tail)
        c->lru_tail = e;
}

static void entry_free(centry *e)
{
    es_blob_unref(e->blob);
    es_free(e->key);
    es_free(e);
}

/* Unlink from both lists and free (caller holds mu). */
static void entry_remove(cache_store *c, centry *e)
{
    centry **pp = &c->buckets[e->hash % NBUCKETS];
    while (*pp && *pp != e)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = e->hnext;
    lru_unlink(c, e);
    c->used -= e->cost;
    c->nentries--;
    entry_free(e);
}

static void evict_to(cache_store *c, size_t target)
{
    while (c->used > target && c->lru_tail)
        entry_remove(c, c->lru_tail);
}

static void drop_key(cache_store *c, const char *key, uint64_t h)
{
    centry *e = c->buckets[h % NBUCKETS];
    while (e) {
        centry *n = e->hnext;
        if (e->hash == h && strcmp(e->key, key) == 0)
            entry_remove(c, e);
        e = n;
    }
}

/* Insert a copy of the entry description (caller holds mu). Failures are silent: a cache that
 * cannot remember is still correct. */
static void insert(cache_store *c, const char *key, uint64_t h, int is_head, uint64_t off,
                   es_blob *blob, int eof, const es_obj_info *info)
{
    size_t cost = ENTRY_OVERHEAD + strlen(key) + (blob ? blob->size : 0);
    if (cost > c->budget)
        return;
    centry *e = es_calloc(1, sizeof *e);
    if (!e)
        return;
    e->key = es_strdup(key);
    if (!e->key) {
        es_free(e);
        return;
    }
    e->hash = h;
    e->is_head = is_head;
    e->off = off;
    e->blob = es_blob_ref(blob);
    e->eof = eof;
    if (info)
        e->info = *info;
    e->info.key = NULL;
    e->cost = cost;
    evict_to(c, c->budget - cost);
    e->hnext = c->buckets[h % NBUCKETS];
    c->buckets[h % NBUCKETS] = e;
    lru_push(c, e);
    c->used += cost;
    c->nentries++;
}

/* A cached range covering [off, off+len) (len UINT64_MAX: to the end), as a new blob. */
static es_status lookup_range(cache_store *c, const char *key, uint64_t h, uint64_t off,
                              uint64_t len, es_blob **out)
{
    for (centry *e = c->buckets[h % NBUCKETS]; e; e = e->hnext) {
        if (e->is_head || e->hash != h || strcmp(e->key, key) != 0)
            continue;
        uint64_t end = e->off + e->blob->size;
        if (off < e->off || off > end)
            continue;
        uint64_t want_end;
        if (len == UINT64_MAX || len > UINT64_MAX - off) {
            if (!e->eof)
                continue;
            want_end = end;
        } else {
            want_end = off + len;
            if (want_end > end) {
                if (!e->eof)
                    continue;
                want_end = end;
            }
        }
        if (es_blob_new_slice(out, e->blob, (size_t)(off - e->off), (size_t)(want_end - off)) !=
            ES_OK)
            return ES_NOMEM;
        lru_unlink(c, e);
        lru_push(c, e);
        return ES_OK;
    }
    return ES_NOT_FOUND;
}

/* -------------------------------------------------------------- disk tier */

static void disk_name(char *name, size_t cap, uint64_t h, uint64_t off, uint64_t len)
{
    if (len == UINT64_MAX)
        snprintf(name, cap, "%016llx-%llx-e", (unsigned long long)h, (unsigned long long)off);
    else
        snprintf(name, cap, "%016llx-%llx-%llx", (unsigned long long)h, (unsigned long long)off,
                 (unsigned long long)len);
}

static char *disk_path(const cache_store *c, const char *name)
{
    size_t n = strlen(c->dir) + strlen(name) + 2;
    char *p = es_malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", c->dir, name);
    return p;
}

static int64_t find_file(const cache_store *c, const char *name)
{
    for (int64_t i = c->nfiles - 1; i >= 0; i--)
        if (strcmp(c->files[i].name, name) == 0)
            return i;
    return -1;
}

static void forget_file(cache_store *c, int64_t i, int unlink_it)
{
    if (unlink_it) {
        char *p = disk_path(c, c->files[i].name);
        if (p)
            es_os_unlink(p, NULL);
        es_free(p);
    }
    c->disk_used -= c->files[i].size;
    memmove(&c->files[i], &c->files[i + 1], (size_t)(c->nfiles - i - 1) * sizeof *c->files);
    c->nfiles--;
}

/* Caller holds mu. */
static void remember_file(cache_store *c, const char *name, uint64_t size)
{
    int64_t i = find_file(c, name);
    if (i >= 0)
        forget_file(c, i, 0);
    while (c->nfiles > 0 && c->disk_used + size > c->disk_budget)
        forget_file(c, 0, 1);
    if (c->nfiles == c->capfiles) {
        int64_t nc = c->capfiles ? c->capfiles * 2 : 64;
        dfile *nv = es_realloc(c->files, (size_t)nc * sizeof *nv);
        if (!nv)
            return;
        c->files = nv;
        c->capfiles = nc;
    }
    snprintf(c->files[c->nfiles].name, sizeof c->files[0].name, "%s", name);
    c->files[c->nfiles].size = size;
    c->nfiles++;
    c->disk_used += size;
}

/* Read a cached range from disk: ES_OK with *out, or ES_NOT_FOUND. */
static es_status disk_read(cache_store *c, const char *key, uint64_t h, uint64_t off, uint64_t len,
                           es_blob **out, int *eof)
{
    char name[64];
    disk_name(name, sizeof name, h, off, len);
    char *path = disk_path(c, name);
    if (!path)
        return ES_NOT_FOUND;
    int fd = -1;
    es_os_stat_info st;
    es_blob *all = NULL;
    es_status rc = es_os_open_read(&fd, path, NULL);
    size_t kl = strlen(key);
    if (rc == ES_OK)
        rc = es_os_fstat(&st, fd, path, NULL);
    if (rc == ES_OK && st.size < DISK_HDR + kl)
        rc = ES_CORRUPT;
    if (rc == ES_OK)
        rc = es_os_read_blob(&all, fd, 0, (size_t)st.size, (size_t)1 << 20, path, NULL);
    es_os_close(fd);
    if (rc == ES_OK) {
        const uint8_t *p = all->data;
        uint32_t flags = es_load_u32(p + 16);
        if (memcmp(p, DISK_MAGIC, 4) != 0 || es_load_u32(p + 4) != kl ||
            es_load_u64(p + 8) != off || memcmp(p + DISK_HDR, key, kl) != 0 || (flags & ~1u))
            rc = ES_CORRUPT;
        else if (es_blob_new_slice(out, all, DISK_HDR + kl, all->size - DISK_HDR - kl) != ES_OK)
            rc = ES_NOMEM;
        *eof = (int)(flags & 1u);
    }
    es_blob_unref(all);
    if (rc == ES_CORRUPT) /* a torn or foreign file: drop it */
        es_os_unlink(path, NULL);
    es_free(path);
    pthread_mutex_lock(&c->mu);
    int64_t i = find_file(c, name);
    if (rc == ES_OK) {
        /* Move to the young end. */
        if (i >= 0) {
            dfile f = c->files[i];
            memmove(&c->files[i], &c->files[i + 1], (size_t)(c->nfiles - i - 1) * sizeof f);
            c->files[c->nfiles - 1] = f;
        }
    } else if (i >= 0) {
        forget_file(c, i, 0);
    }
    pthread_mutex_unlock(&c->mu);
    return rc == ES_OK ? ES_OK : ES_NOT_FOUND;
}

static void disk_write(cache_store *c, const char *key, uint64_t h, uint64_t off, uint64_t len,
                       const es_blob *b, int eof)
{
    size_t kl = strlen(key);
    uint64_t total = DISK_HDR + kl + b->size;
    if (total > c->disk_budget)
        return;
    uint8_t *buf = es_malloc((size_t)total);
    if (!buf)
        return;
    memcpy(buf, DISK_MAGIC, 4);
    es_store_u32(buf + 4, (uint32_t)kl);
    es_store_u64(buf + 8, off);
    es_store_u32(buf + 16, eof ? 1u : 0u);
    es_store_u32(buf + 20, 0);
    memcpy(buf + DISK_HDR, key, kl);
    if (b->size)
        memcpy(buf + DISK_HDR + kl, b->data, b->size);
    char name[64], *tmp = NULL;
    disk_name(name, sizeof name, h, off, len);
    char *path = disk_path(c, name);
    if (path && es_os_write_temp(&tmp, c->dir, ".tmp-", buf, (size_t)total, NULL) == ES_OK) {
        if (es_os_rename(tmp, path, NULL) == ES_OK) {
            pthread_mutex_lock(&c->mu);
            remember_file(c, name, total);
            pthread_mutex_unlock(&c->mu);
        } else {
            es_os_unlink(tmp, NULL);
        }
    }
    es_free(tmp);
    es_free(path);
    es_free(buf);
}

typedef struct ftime {
    dfile f;
    int64_t mtime;
} ftime;

static int cmp_ftime(const void *a, const void *b)
{
    const ftime *x = a, *y = b;
    return x->mtime < y->mtime ? -1 : x->mtime > y->mtime;
}

static es_status disk_load(cache_store *c, es_error *err)
{
    es_status rc = es_os_mkdirs(c->dir, err);
    if (rc != ES_OK)
        return rc;
    es_os_dirent *d = NULL;
    int64_t n = 0;
    rc = es_os_list_dir(&d, &n, c->dir, err);
    if (rc != ES_OK)
        return rc;
    ftime *v = es_calloc((size_t)n + 1, sizeof *v);
    int64_t m = 0;
    for (int64_t i = 0; v && i < n; i++) {
        char *p = disk_path(c, d[i].name);
        es_os_stat_info st;
        if (p && d[i].is_reg && es_os_stat(&st, p, NULL) == ES_OK) {
            if (strncmp(d[i].name, ".tmp-", 5) == 0) {
                es_os_unlink(p, NULL); /* left by a crash */
            } else if (strlen(d[i].name) < sizeof v[0].f.name) {
                snprintf(v[m].f.name, sizeof v[m].f.name, "%s", d[i].name);
                v[m].f.size = st.size;
                v[m].mtime = st.mtime_ns;
                m++;
            }
        }
        es_free(p);
    }
    es_os_dirents_free(d, n);
    if (!v)
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", c->dir);
    qsort(v, (size_t)m, sizeof *v, cmp_ftime);
    for (int64_t i = 0; i < m; i++)
        remember_file(c, v[i].f.name, v[i].f.size);
    es_free(v);
    return ES_OK;
}

static void disk_drop_key(cache_store *c, uint64_t h)
{
    char pre[20];
    snprintf(pre, sizeof pre, "%016llx-", (unsigned long long)h);
    for (int64_t i = c->nfiles - 1; i >= 0; i--)
        if (strncmp(c->files[i].name, pre, 17) == 0)
            forget_file(c, i, 1);
}

/* ------------------------------------------------------------------ vtable */

static es_status cache_lookup(cache_store *c, const char *key, uint64_t h, uint64_t offset,
                              uint64_t len, es_blob **out)
{
    pthread_mutex_lock(&c->mu);
    es_status rc = lookup_range(c, key, h, offset, len, out);
    if (rc == ES_OK)
        c->hits++;
    uint64_t epoch = c->epoch;
    pthread_mutex_unlock(&c->mu);
    if (rc != ES_NOT_FOUND || !c->dir)
        return rc;
    es_blob *b = NULL;
    int eof = 0;
    if (disk_read(c, key, h, offset, len, &b, &eof) != ES_OK)
        return ES_NOT_FOUND;
    pthread_mutex_lock(&c->mu);
    c->hits++;
    c->disk_hits++;
    if (c->epoch == epoch) /* as in cache_fill */
        insert(c, key, h, 0, offset, b, eof, NULL);
    pthread_mutex_unlock(&c->mu);
    *out = b;
    return ES_OK;
}

/* The invalidation epoch, read before fetching from the inner store. */
static uint64_t cache_epoch(cache_store *c)
{
    return __atomic_load_n(&c->epoch, __ATOMIC_ACQUIRE);
}

/* Remember a range fetched from the inner store, unless a put or delete went through the cache
 * since `epoch` was read before the fetch: the bytes may then predate that write, and caching
 * them would serve them after it (a fetch that started after the write sees the new epoch). */
static void cache_fill(cache_store *c, const char *key, uint64_t h, uint64_t offset, uint64_t len,
                       es_blob *b, uint64_t epoch)
{
    int eof = len == UINT64_MAX || b->size < len;
    pthread_mutex_lock(&c->mu);
    c->misses++;
    int fresh = c->epoch == epoch;
    if (fresh)
        insert(c, key, h, 0, offset, b, eof, NULL);
    pthread_mutex_unlock(&c->mu);
    if (fresh && c->dir)
        disk_write(c, key, h, offset, len, b, eof);
}

static es_status cache_get(es_objstore *s, const char *key, uint64_t offset, uint64_t len,
                           es_blob **out, es_error *err)
{
    cache_store *c = (cache_store *)s;
    uint64_t h = fnv1a(key);
    es_status rc = cache_lookup(c, key, h, offset, len, out);
    if (rc != ES_NOT_FOUND)
        return rc == ES_OK ? ES_OK : es_error_set(err, rc, 0, "%s: out of memory", key);
    uint64_t epoch = cache_epoch(c);
    rc = es_objstore_get_once(c->inner, key, offset, len, out, err);
    if (rc == ES_OK)
        cache_fill(c, key, h, offset, len, *out, epoch);
    return rc;
}

static es_status cache_get_many(es_objstore *s, es_range_req *reqs, int64_t n, es_error *err)
{
    cache_store *c = (cache_store *)s;
    es_range_req *miss = es_calloc((size_t)n + 1, sizeof *miss);
    int64_t *idx = es_calloc((size_t)n + 1, sizeof *idx);
    if (!miss || !idx) {
        es_free(miss);
        es_free(idx);
        for (int64_t i = 0; i < n; i++)
            reqs[i].status = ES_NOMEM;
        return es_error_set(err, ES_NOMEM, 0, "get_many: out of memory");
    }
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        reqs[i].out = NULL;
        es_status rc = cache_lookup(c, reqs[i].key, fnv1a(reqs[i].key), reqs[i].offset, reqs[i].len,
                                    &reqs[i].out);
        reqs[i].status = rc;
        if (rc == ES_NOT_FOUND) {
            miss[m] = reqs[i];
            idx[m++] = i;
        }
    }
    es_status first = ES_OK;
    uint64_t epoch = cache_epoch(c);
    if (m > 0)
        first = es_objstore_get_many_once(c->inner, miss, m, err);
    for (int64_t j = 0; j < m; j++) {
        es_range_req *r = &reqs[idx[j]];
        r->status = miss[j].status;
        r->out = miss[j].out;
        if (r->status == ES_OK)
            cache_fill(c, r->key, fnv1a(r->key), r->offset, r->len, r->out, epoch);
    }
    for (int64_t i = 0; i < n && first == ES_OK; i++)
        if (reqs[i].status != ES_OK)
            first = es_error_set(err, reqs[i].status, 0, "%s: get failed", reqs[i].key);
    es_free(miss);
    es_free(idx);
    return first;
}

static es_status cache_head(es_objstore *s, const char *key, es_obj_info *out, es_error *err)
{
    cache_store *c = (cache_store *)s;
    uint64_t h = fnv1a(key);
    pthread_mutex_lock(&c->mu);
    for (centry *e = c->buckets[h % NBUCKETS]; e; e = e->hnext) {
        if (e->is_head && e->hash == h && strcmp(e->key, key) == 0) {
            *out = e->info;
            lru_unlink(c, e);
            lru_push(c, e);
            c->hits++;
            pthread_mutex_unlock(&c->mu);
            return ES_OK;
        }
    }
    uint64_t epoch = c->epoch;
    pthread_mutex_unlock(&c->mu);
    es_status rc = es_objstore_head_once(c->inner, key, out, err);
    if (rc == ES_OK) {
        pthread_mutex_lock(&c->mu);
        c->misses++;
        if (c->epoch == epoch) /* as in cache_fill */
            insert(c, key, h, 1, 0, NULL, 0, out);
        pthread_mutex_unlock(&c->mu);
    }
    return rc;
}

static void invalidate(cache_store *c, const char *key)
{
    uint64_t h = fnv1a(key);
    pthread_mutex_lock(&c->mu);
    __atomic_add_fetch(&c->epoch, 1, __ATOMIC_RELEASE);
    drop_key(c, key, h);
    if (c->dir)
        disk_drop_key(c, h);
    pthread_mutex_unlock(&c->mu);
}

static es_status cache_put(es_objstore *s, const char *key, const void *data, size_t len,
                           es_put_mode mode, const char *if_match, char *etag_out, es_error *err)
{
    cache_store *c = (cache_store *)s;
    invalidate(c, key);
    es_status rc = es_objstore_put_once(c->inner, key, data, len, mode, if_match, etag_out, err);
    invalidate(c, key); /* a concurrent reader may have cached the old bytes meanwhile */
    c->base.cas_supported = c->inner->cas_supported; /* S3 learns it at its first put-if-absent */
    return rc;
}

static es_status cache_list(es_objstore *s, const char *prefix, const char *start_after,
                            int64_t max_keys, es_obj_list *out, es_error *err)
{
    cache_store *c = (cache_store *)s;
    return es_objstore_list_once(c->inner, prefix, start_after, max_keys, out, err);
}

static es_status cache_del(es_objstore *s, const char *const *keys, int64_t n, es_error *err)
{
    cache_store *c = (cache_store *)s;
    for (int64_t i = 0; i < n; i++)
        invalidate(c, keys[i]);
    return es_objstore_delete_once(c->inner, keys, n, err);
}

static es_status cache_sync(es_objstore *s, const char *key, es_error *err)
{
    return es_objstore_sync(((cache_store *)s)->inner, key, err);
}

static void cache_close(es_objstore *s)
{
    cache_store *c = (cache_store *)s;
    while (c->lru_head)
        entry_remove(c, c->lru_head);
    if (c->owns_inner)
        es_objstore_close(c->inner);
    pthread_mutex_destroy(&c->mu);
    es_free(c->files);
    es_free(c->dir);
    es_free(s->uri);
    es_free(c);
}

static const es_objstore_vtable cache_vtable = {
    ES_OBJSTORE_VTABLE_VERSION,
    cache_get,
    cache_get_many,
    cache_head,
    cache_put,
    cache_list,
    cache_del,
    cache_close,
    cache_sync,
};

es_status es_objstore_cache_wrap(es_objstore **out, es_objstore *inner, int take_ownership,
                                 const es_cache_options *opts, es_error *err)
{
    *out = NULL;
    if (!inner)
        return es_error_set(err, ES_INVALID, 0, "cache store: inner store is NULL");
    char uri[600];
    snprintf(uri, sizeof uri, "cache+%.580s", inner->uri ? inner->uri : "");
    cache_store *c = es_calloc(1, sizeof *c);
    if (!c || es_objstore_init_base(&c->base, &cache_vtable, uri) != ES_OK) {
        es_free(c);
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", uri);
    }
    pthread_mutex_init(&c->mu, NULL);
    c->base.cas_supported = inner->cas_supported;
    c->budget = opts && opts->mem_bytes ? opts->mem_bytes : (size_t)64 << 20;
    c->disk_budget = opts && opts->disk_bytes ? opts->disk_bytes : (uint64_t)1 << 30;
    if (opts && opts->disk_dir && opts->disk_dir[0]) {
        c->dir = es_strdup(opts->disk_dir);
        es_status rc =
            c->dir ? disk_load(c, err) : es_error_set(err, ES_NOMEM, 0, "%s: out of memory", uri);
        if (rc != ES_OK) {
            cache_close(&c->base);
            return rc;
        }
    }
    c->inner = inner;
    c->owns_inner = take_ownership;
    *out = &c->base;
    return ES_OK;
}

es_status es_objstore_cache_get_stats(es_objstore *s, es_cache_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!s || s->vt != &cache_vtable)
        return ES_INVALID;
    cache_store *c = (cache_store *)s;
    pthread_mutex_lock(&c->mu);
    out->hits = c->hits;
    out->misses = c->misses;
    out->disk_hits = c->disk_hits;
    out->mem_bytes = (int64_t)c->used;
    out->entries = c->nentries;
    pthread_mutex_unlock(&c->mu);
    return ES_OK;
}
