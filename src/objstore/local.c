/*
 * objstore_local: the local-directory object store backend (a path or file://path), standing in
 * for a bucket (like WiredTiger's dir_store). Objects are regular files under the root; a key
 * "a/b/c" is the file <root>/a/b/c (directories are created as needed). All file system calls
 * go through the os layer.
 *
 * Names that are not valid key segments (anything containing '~', for instance) are never
 * objects: the backend keeps its private files under such names and listings skip them:
 *   <dir>/.~es-tmp-<16 hex>   a put in progress (or left behind by a crash: garbage, harmless)
 *   <root>/.~es-lock          the lock file of conditional replacement (see IF_MATCH)
 *
 * Put protocol (atomic and durable; readers never see a partial object):
 *   0. IF_ABSENT on xfs and a journaled ext4 (one ordered journal, es_os_journal_orders_names:
 *      decided once at open for the root): write an unnamed file (O_TMPFILE) in the key's
 *      directory and linkat it under the key (EEXIST -> ES_EXISTS; no temporary name to create
 *      and unlink, nothing left by a crash), with ONE sync: sync_file_range writes the bytes
 *      before the link (the name never shows a partial or empty file, even after a crash),
 *      then one fsync of the file commits its allocation, size, link count and name together
 *      (no step 3).
 *   0b. IF_ABSENT on ext4 without a journal (es_os_is_ext4): a named temporary file written,
 *      its bytes sent to the device, linked under the key (EEXIST -> ES_EXISTS, no sync spent),
 *      unlinked, then ONE fsync of the file, which writes its directory too (es_os_create_linked).
 *      Another process can read the entry before that fsync returns: local_sync (the vtable's
 *      sync) fsyncs it for a writer about to build on it (log.c). An unnamed file would not do
 *      here: its inode stays on the device with a link count of 0 until its own fsync after the
 *      link, and fsck deletes it even if another writer's sync made its name durable.
 *   Elsewhere, and where O_TMPFILE is missing:
 *   1. write the bytes to a new temporary file in the key's directory and fsync it;
 *   2. ALWAYS:    rename(temp, key)                     (atomic replacement)
 *      IF_ABSENT: link(temp, key), then unlink(temp)    (link fails with EEXIST when the key
 *                 exists -> ES_EXISTS; atomic across processes and threads)
 *      IF_MATCH:  under an exclusive flock on <root>/.~es-lock: stat(key), compare its ETag
 *                 with the expected one (mismatch or missing -> ES_EXISTS), rename(temp, key);
 *   3. fsync the directory.
 * ALWAYS renames also hold the lock, so an IF_MATCH check-and-rename is atomic with respect to
 * every writer that uses this backend (processes included: flock on a fresh open file
 * description). IF_ABSENT needs no lock: link() is atomic by itself.
 *
 * ETag: "<size>-<mtime ns>-<inode>" in hex, taken from the file's stat. File systems stamp
 * mtimes from a coarse clock (a few ms) and reuse freed inodes at once, so two versions of a
 * key written in quick succession could share an ETag (ABA: a stale If-Match would then win).
 * Therefore a replacing put (ALWAYS or IF_MATCH, under the lock) gives the new file an mtime
 * strictly greater than the file it replaces (utimensat before the rename): the ETags of the
 * successive versions of a key are all distinct. Remaining hole, accepted: a key deleted and
 * recreated by IF_ABSENT within the same clock tick with the same size and a reused inode
 * repeats an old ETag (the library never deletes a key it later updates with IF_MATCH).
 *
 * Reads: files under 64 KiB (log entries, small indexes) are read with pread into heap memory.
 * Larger files are mapped whole, read-only, once: the store keeps up to MAP_CACHE mappings
 * (least recently used evicted) and a get returns a slice of one (es_blob_new_slice), so a
 * repeated query costs no mmap, munmap or page faults, and a range read copies nothing. A
 * mapping is reused only while the file's identity (device, inode, size, mtime: the ETag) is
 * unchanged; objects are never modified in place (every put writes a new inode), so an
 * identical identity means identical bytes. A blob keeps its mapping alive after eviction, and a
 * reader holding a blob of a replaced object keeps the old bytes (the old inode lives while
 * mapped). Measured (read, then CRC, page-cached): in a fresh process pread costs 68 us for 64
 * KiB and 240 us for 128 KiB (first touches of new heap pages), mapping 30 and 36 us.
 *
 * Limitation: a key cannot be both an object and a "directory" of other keys ("a" and "a/b"):
 * the second put fails with ES_IO.
 */
#include "objstore/objstore.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "os/os.h"
#include "util/util.h"

#define TMP_STEM ".~es-tmp-"
#define LOCK_NAME ".~es-lock"
#define MMAP_MIN ((size_t)64 << 10)
#define MAP_CACHE 64

/* A cached whole-file mapping. */
typedef struct map_slot {
    char *key; /* NULL: free slot */
    es_os_stat_info id;
    es_blob *whole;
    uint64_t used; /* LRU clock */
} map_slot;

/* How a put-if-absent makes its object durable, decided once at open for the root. */
enum {
    PUT_TWO_SYNCS = 0,    /* a named temporary file fsynced, linked, the directory fsynced */
    PUT_TMPFILE_ONE_SYNC, /* es_os_journal_orders_names: es_os_create_new */
    PUT_LINKED_ONE_SYNC   /* ext4 without a journal: es_os_create_linked, and local_sync */
};

typedef struct local_store {
    es_objstore base;
    char *root; /* without a trailing '/'; "" for the file system root */
    char *lock_path;
    int put_path; /* how a put-if-absent is made durable: PUT_* (the root's file system) */
    pthread_mutex_t map_mu;
    map_slot maps[MAP_CACHE];
    uint64_t map_clock;
} local_store;

static void make_etag(char *out, const es_os_stat_info *st)
{
    snprintf(out, ES_ETAG_MAX, "%llx-%llx-%llx", (unsigned long long)st->size,
             (unsigned long long)st->mtime_ns, (unsigned long long)st->ino);
}

static int same_file(const es_os_stat_info *a, const es_os_stat_info *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime_ns == b->mtime_ns;
}

/* [offset, offset+len) of the open file `fd` (identity `st`) as a slice of its cached
 * whole-file mapping, mapping it on a miss. */
static es_status mapped_range(local_store *l, const char *key, int fd, const es_os_stat_info *st,
                              uint64_t offset, size_t len, const char *path, es_blob **out,
                              es_error *err)
{
    es_status rc = ES_OK;
    pthread_mutex_lock(&l->map_mu);
    map_slot *hit = NULL, *victim = &l->maps[0];
    for (int i = 0; i < MAP_CACHE && !hit; i++) {
        map_slot *m = &l->maps[i];
        if (m->key && strcmp(m->key, key) == 0 && same_file(&m->id, st))
            hit = m;
        else if (!m->key || (victim->key && m->used < victim->used))
            victim = m;
    }
    if (!hit) {
        es_blob *whole = NULL;
        char *k = es_strdup(key);
        rc = k ? es_os_read_blob(&whole, fd, 0, (size_t)st->size, 1, path, err)
               : es_error_set(err, ES_NOMEM, 0, "%s: out of memory", key);
        if (rc == ES_OK) {
            es_free(victim->key);
            es_blob_unref(victim->whole);
            victim->key = k;
            victim->id = *st;
            victim->whole = whole;
            hit = victim;
        } else {
            es_free(k);
        }
    }
    if (hit) {
        hit->used = ++l->map_clock;
        rc = es_blob_new_slice(out, hit->whole, (size_t)offset, len);
        if (rc)
            rc = es_error_set(err, ES_NOMEM, 0, "%s: out of memory", key);
    }
    pthread_mutex_unlock(&l->map_mu);
    return rc;
}

/* Open `key` for reading ranges: *fd and its identity. */
static es_status open_key(int *fd, es_os_stat_info *st, const char *path, es_error *err)
{
    es_status rc = es_os_open_read(fd, path, err);
    if (rc == ES_OK)
        rc = es_os_fstat(st, *fd, path, err);
    if (rc == ES_OK && !st->is_reg)
        rc = es_error_set(err, ES_NOT_FOUND, st->is_dir ? EISDIR : 0, "%s: not a regular file",
                          path);
    return rc;
}

/* [offset, offset + len) of the open file fd (identity st). */
static es_status read_range(local_store *l, const char *key, int fd, const es_os_stat_info *st,
                            const char *path, uint64_t offset, uint64_t len, es_blob **out,
                            es_error *err)
{
    es_status rc = ES_OK;
    if (offset > st->size)
        return es_error_set(err, ES_INVALID, 0, "%s: range offset %llu past the end (size %llu)",
                            key, (unsigned long long)offset, (unsigned long long)st->size);
    uint64_t avail = st->size - offset;
    if (len > avail)
        len = avail;
    if (st->size > SIZE_MAX)
        rc = es_error_set(err, ES_NOMEM, 0, "%s: range too large", key);
    else if (st->size >= MMAP_MIN)
        rc = mapped_range(l, key, fd, st, offset, (size_t)len, path, out, err);
    else
        rc = es_os_read_blob(out, fd, offset, (size_t)len, 0, path, err);
    return rc;
}

/* Ranges of the same key in a row (a point lookup reads many small ranges of one .data
 * object) open the file once. */
static es_status local_get_many(es_objstore *s, es_range_req *reqs, int64_t n, es_error *err)
{
    local_store *l = (local_store *)s;
    es_status first = ES_OK;
    for (int64_t i = 0; i < n;) {
        int64_t j = i + 1;
        while (j < n && strcmp(reqs[j].key, reqs[i].key) == 0)
            j++;
        char *path = es_os_path_join(l->root, reqs[i].key);
        int fd = -1;
        es_os_stat_info st;
        es_error e1 = {0};
        es_status rc = path ? open_key(&fd, &st, path, &e1)
                            : es_error_set(&e1, ES_NOMEM, 0, "%s: out of memory", reqs[i].key);
        es_blob *whole = NULL; /* a mapped file: found in the cache once for all */
        if (!rc && j - i > 1 && st.size >= MMAP_MIN && st.size <= SIZE_MAX)
            rc = mapped_range(l, reqs[i].key, fd, &st, 0, (size_t)st.size, path, &whole, &e1);
        for (int64_t k = i; k < j; k++) {
            if (!rc && whole && reqs[k].offset > st.size)
                reqs[k].status = es_error_set(
                    &e1, ES_INVALID, 0, "%s: range offset %llu past the end (size %llu)",
                    reqs[k].key, (unsigned long long)reqs[k].offset, (unsigned long long)st.size);
            else if (!rc && whole)
                reqs[k].status =
                    es_blob_new_slice(&reqs[k].out, whole, (size_t)reqs[k].offset,
                                      (size_t)(reqs[k].len < st.size - reqs[k].offset
                                                   ? reqs[k].len
                                                   : st.size - reqs[k].offset))
                        ? es_error_set(&e1, ES_NOMEM, 0, "%s: out of memory", reqs[k].key)
                        : ES_OK;
            else
                reqs[k].status = rc ? rc
                                    : read_range(l, reqs[k].key, fd, &st, path, reqs[k].offset,
                                                 reqs[k].len, &reqs[k].out, &e1);
            if (reqs[k].status && first == ES_OK) {
                first = reqs[k].status;
                if (err)
                    *err = e1;
            }
        }
        es_blob_unref(whole);
        if (fd >= 0)
            es_os_close(fd);
        es_free(path);
        i = j;
    }
    return first;
}

static es_status local_get(es_objstore *s, const char *key, uint64_t offset, uint64_t len,
                           es_blob **out, es_error *err)
{
    local_store *l = (local_store *)s;
    char *path = es_os_path_join(l->root, key);
    if (!path)
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", key);
    int fd = -1;
    es_os_stat_info st;
    es_status rc = open_key(&fd, &st, path, err);
    if (rc == ES_OK)
        rc = read_range(l, key, fd, &st, path, offset, len, out, err);
    es_os_close(fd);
    es_free(path);
    return rc;
}

static es_status local_head(es_objstore *s, const char *key, es_obj_info *out, es_error *err)
{
    local_store *l = (local_store *)s;
    char *path = es_os_path_join(l->root, key);
    if (!path)
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", key);
    es_os_stat_info st;
    es_status rc = es_os_stat(&st, path, err);
    if (rc == ES_OK && !st.is_reg)
        rc =
            es_error_set(err, ES_NOT_FOUND, st.is_dir ? EISDIR : 0, "%s: not a regular file", path);
    if (rc == ES_OK) {
        out->key = NULL;
        out->size = st.size;
        make_etag(out->etag, &st);
    }
    es_free(path);
    return rc;
}

static es_status local_put(es_objstore *s, const char *key, const void *data, size_t len,
                           es_put_mode mode, const char *if_match, char *etag_out, es_error *err)
{
    local_store *l = (local_store *)s;
    char *path = es_os_path_join(l->root, key);
    char *dir = path ? es_strdup(path) : NULL;
    char *tmp = NULL;
    int lock_fd = -1;
    es_status rc = ES_OK;
    if (!path || !dir) {
        rc = es_error_set(err, ES_NOMEM, 0, "%s: out of memory", key);
        goto done;
    }
    *strrchr(dir, '/') = 0;
    int made = 0; /* the key's directory (the root too): created when a put finds it missing */
    es_os_stat_info st;
again:
    if (mode == ES_PUT_IF_ABSENT && l->put_path == PUT_LINKED_ONE_SYNC) {
        /* A named temporary file linked under the key before its one fsync (which writes the
         * directory too): a lost race costs no sync, and one already lost (writers racing for
         * the next log entry) not even the file. */
        es_error serr;
        if (es_os_stat(&st, path, &serr) == ES_OK) {
            rc = es_error_set(err, ES_EXISTS, EEXIST, "%s: already exists", key);
            goto done;
        }
        rc = es_os_create_linked(dir[0] ? dir : "/", TMP_STEM, path, data, len,
                                 etag_out ? &st : NULL, err);
        if (rc == ES_EXISTS)
            es_error_set(err, ES_EXISTS, EEXIST, "%s: already exists", key);
        if (rc == ES_OK)
            goto durable;
        goto missing;
    }
    if (mode == ES_PUT_IF_ABSENT && l->put_path == PUT_TMPFILE_ONE_SYNC) {
        /* An unnamed file linked under the key: no temporary name to create and remove. */
        rc = es_os_create_new(dir[0] ? dir : "/", path, data, len, etag_out ? &st : NULL, err);
        if (rc == ES_EXISTS)
            es_error_set(err, ES_EXISTS, EEXIST, "%s: already exists", key);
        if (rc == ES_OK)
            goto durable; /* the file's fsync made its name durable too */
        if (rc == ES_NOT_FOUND)
            goto missing;
        if (rc != ES_UNSUPPORTED)
            goto done;
    }
    int hint = mode == ES_PUT_HINT; /* no syncs: a crash may lose it or leave the old one */
    rc = es_os_write_temp_sync(&tmp, dir[0] ? dir : "/", TMP_STEM, data, len, !hint, err);
    if (rc != ES_OK)
        goto missing;
    rc = es_os_stat(&st, tmp, err);
    if (rc != ES_OK)
        goto done;
    if (mode == ES_PUT_IF_ABSENT) {
        rc = es_os_link(tmp, path, err);
        if (rc == ES_EXISTS)
            es_error_set(err, ES_EXISTS, EEXIST, "%s: already exists", key);
        es_os_unlink(tmp, NULL);
    } else {
        rc = es_os_lock(&lock_fd, l->lock_path, err);
        es_os_stat_info cur;
        es_error e2;
        int have_cur = rc == ES_OK && es_os_stat(&cur, path, &e2) == ES_OK && cur.is_reg;
        if (rc == ES_OK && mode == ES_PUT_IF_MATCH) {
            char etag[ES_ETAG_MAX];
            if (!have_cur) {
                rc = es_error_set(err, ES_EXISTS, 0, "%s: etag mismatch (object missing)", key);
            } else {
                make_etag(etag, &cur);
                if (strcmp(etag, if_match) != 0)
                    rc = es_error_set(err, ES_EXISTS, 0, "%s: etag mismatch (object changed)", key);
            }
        }
        /* Versions of a key get strictly increasing mtimes (see the ETag note above). */
        if (rc == ES_OK && have_cur && st.mtime_ns <= cur.mtime_ns) {
            rc = es_os_set_mtime(tmp, cur.mtime_ns + 1, err);
            st.mtime_ns = cur.mtime_ns + 1;
        }
        if (rc == ES_OK)
            rc = es_os_rename(tmp, path, err);
        es_os_unlock(lock_fd);
        if (rc != ES_OK)
            es_os_unlink(tmp, NULL);
    }
    if (rc == ES_OK && !hint)
        rc = es_os_fsync_dir(dir[0] ? dir : "/", err);
durable:
    if (rc == ES_OK && etag_out)
        make_etag(etag_out, &st);
    goto done;
missing: /* the key's directory does not exist (or a parent is an object): create it, once */
    if (rc == ES_NOT_FOUND && !made) {
        made = 1;
        rc = es_os_mkdirs(dir, err);
        if (rc == ES_OK)
            goto again;
        if (rc == ES_EXISTS || rc == ES_NOT_FOUND)
            rc = es_error_set(err, ES_IO, 0, "%s: a parent of the key is an object", key);
    }
done:
    es_free(tmp);
    es_free(dir);
    es_free(path);
    return rc;
}

/* A segment that can be part of a key (private files such as temporaries are not). */
static int key_segment_ok(const char *name)
{
    if (!name[0] || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return 0;
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == '='))
            return 0;
    }
    return 1;
}

typedef struct key_vec {
    char **v;
    int64_t n, cap;
} key_vec;

static int starts_with(const char *s, const char *p, size_t pl)
{
    return strncmp(s, p, pl) == 0;
}

/* Collect keys under <root>/<rel> (rel is "" or ends with '/') matching prefix and strictly
 * after start_after. */
static es_status walk(local_store *l, const char *rel, const char *prefix, const char *start_after,
                      key_vec *kv, es_error *err)
{
    size_t rl = strlen(rel), pl = strlen(prefix);
    char *dir = NULL;
    if (rl == 0) {
        dir = es_strdup(l->root[0] ? l->root : "/");
    } else {
        dir = es_os_path_join(l->root, rel);
        if (dir)
            dir[strlen(dir) - 1] = 0; /* drop the trailing '/' */
    }
    if (!dir)
        return es_error_set(err, ES_NOMEM, 0, "list %s: out of memory", prefix);
    es_os_dirent *d = NULL;
    int64_t n = 0;
    es_status rc = es_os_list_dir(&d, &n, dir, err);
    es_free(dir);
    if (rc == ES_NOT_FOUND)
        return ES_OK; /* nothing under this prefix (or it vanished while walking) */
    if (rc != ES_OK)
        return rc;
    for (int64_t i = 0; i < n && rc == ES_OK; i++) {
        if (!key_segment_ok(d[i].name) || (!d[i].is_dir && !d[i].is_reg))
            continue;
        size_t nl = strlen(d[i].name);
        char *key = es_malloc(rl + nl + 2);
        if (!key) {
            rc = es_error_set(err, ES_NOMEM, 0, "list %s: out of memory", prefix);
            break;
        }
        memcpy(key, rel, rl);
        memcpy(key + rl, d[i].name, nl + 1);
        if (d[i].is_dir) {
            key[rl + nl] = '/';
            key[rl + nl + 1] = 0;
            size_t kl = rl + nl + 1;
            /* Descend only when the subtree can hold keys with the prefix, and keys after
             * start_after. */
            int compatible = starts_with(key, prefix, kl < pl ? kl : pl);
            int all_before =
                start_after && strcmp(key, start_after) < 0 && !starts_with(start_after, key, kl);
            if (compatible && !all_before)
                rc = walk(l, key, prefix, start_after, kv, err);
            es_free(key);
            continue;
        }
        if (!starts_with(key, prefix, pl) || (start_after && strcmp(key, start_after) <= 0)) {
            es_free(key);
            continue;
        }
        if (kv->n == kv->cap) {
            int64_t nc = kv->cap ? kv->cap * 2 : 64;
            char **nv = es_realloc(kv->v, (size_t)nc * sizeof *nv);
            if (!nv) {
                es_free(key);
                rc = es_error_set(err, ES_NOMEM, 0, "list %s: out of memory", prefix);
                break;
            }
            kv->v = nv;
            kv->cap = nc;
        }
        kv->v[kv->n++] = key;
    }
    es_os_dirents_free(d, n);
    return rc;
}

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static es_status local_list(es_objstore *s, const char *prefix, const char *start_after,
                            int64_t max_keys, es_obj_list *out, es_error *err)
{
    local_store *l = (local_store *)s;
    key_vec kv = {0};
    /* Start the walk at the deepest directory named by the prefix. */
    size_t pl = strlen(prefix);
    char *rel = es_malloc(pl + 1);
    if (!rel)
        return es_error_set(err, ES_NOMEM, 0, "list %s: out of memory", prefix);
    memcpy(rel, prefix, pl + 1);
    char *slash = strrchr(rel, '/');
    if (slash)
        slash[1] = 0;
    else
        rel[0] = 0;
    es_status rc = walk(l, rel, prefix, start_after, &kv, err);
    es_free(rel);
    if (rc == ES_OK && kv.n > 0) {
        qsort(kv.v, (size_t)kv.n, sizeof *kv.v, cmp_keys);
        int64_t take = kv.n < max_keys ? kv.n : max_keys;
        out->items = es_calloc((size_t)take, sizeof *out->items);
        if (!out->items)
            rc = es_error_set(err, ES_NOMEM, 0, "list %s: out of memory", prefix);
        for (int64_t i = 0; i < take && rc == ES_OK; i++) {
            char *path = es_os_path_join(l->root, kv.v[i]);
            if (!path) {
                rc = es_error_set(err, ES_NOMEM, 0, "list %s: out of memory", prefix);
                break;
            }
            es_os_stat_info st;
            es_error e2;
            es_status src = es_os_stat(&st, path, &e2);
            es_free(path);
            if (src == ES_NOT_FOUND)
                continue; /* deleted while listing */
            if (src != ES_OK) {
                rc = src;
                if (err)
                    *err = e2;
                break;
            }
            es_obj_info *it = &out->items[out->n++];
            it->key = kv.v[i];
            kv.v[i] = NULL;
            it->size = st.size;
            make_etag(it->etag, &st);
        }
        out->truncated = kv.n > take;
    }
    for (int64_t i = 0; i < kv.n; i++)
        es_free(kv.v[i]);
    es_free(kv.v);
    return rc;
}

static es_status local_del(es_objstore *s, const char *const *keys, int64_t n, es_error *err)
{
    local_store *l = (local_store *)s;
    es_status rc = ES_OK;
    char *last_dir = NULL;
    for (int64_t i = 0; i < n && rc == ES_OK; i++) {
        char *path = es_os_path_join(l->root, keys[i]);
        if (!path) {
            rc = es_error_set(err, ES_NOMEM, 0, "%s: out of memory", keys[i]);
            break;
        }
        es_error e2;
        es_status u = es_os_unlink(path, &e2);
        if (u != ES_OK && u != ES_NOT_FOUND) {
            rc = u;
            if (err)
                *err = e2;
        }
        if (u == ES_OK) {
            *strrchr(path, '/') = 0;
            if (!last_dir || strcmp(last_dir, path) != 0) {
                if (last_dir)
                    rc = es_os_fsync_dir(last_dir[0] ? last_dir : "/", err);
                es_free(last_dir);
                last_dir = path;
                path = NULL;
            }
        }
        es_free(path);
    }
    if (last_dir && rc == ES_OK)
        rc = es_os_fsync_dir(last_dir[0] ? last_dir : "/", err);
    es_free(last_dir);
    return rc;
}

/* Only a put through es_os_create_linked can be read before it is durable (its name is linked
 * before its fsync): fsync the object then. Elsewhere a readable object is durable. */
static es_status local_sync(es_objstore *s, const char *key, es_error *err)
{
    local_store *l = (local_store *)s;
    if (l->put_path != PUT_LINKED_ONE_SYNC)
        return ES_OK;
    char *path = es_os_path_join(l->root, key);
    if (!path)
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", key);
    es_status rc = es_os_fsync_file(path, err);
    es_free(path);
    return rc;
}

static void local_close(es_objstore *s)
{
    local_store *l = (local_store *)s;
    for (int i = 0; i < MAP_CACHE; i++) {
        es_free(l->maps[i].key);
        es_blob_unref(l->maps[i].whole);
    }
    pthread_mutex_destroy(&l->map_mu);
    es_free(l->root);
    es_free(l->lock_path);
    es_free(s->uri);
    es_free(l);
}

static const es_objstore_vtable local_vtable = {
    ES_OBJSTORE_VTABLE_VERSION,
    local_get,
    local_get_many,
    local_head,
    local_put,
    local_list,
    local_del,
    local_close,
    local_sync,
};

/* Remove temporary files (TMP_STEM) under dir whose mtime is before cutoff_ns, recursively. */
static es_status sweep_dir(const char *dir, int64_t cutoff_ns, int depth, int64_t *removed,
                           es_error *err)
{
    es_os_dirent *d = NULL;
    int64_t n = 0;
    es_status rc = es_os_list_dir(&d, &n, dir, err);
    if (rc == ES_NOT_FOUND)
        return ES_OK;
    if (rc != ES_OK)
        return rc;
    for (int64_t i = 0; i < n && rc == ES_OK; i++) {
        int tmp = strncmp(d[i].name, TMP_STEM, strlen(TMP_STEM)) == 0;
        if (!(d[i].is_dir && depth < 16 && key_segment_ok(d[i].name)) && !(d[i].is_reg && tmp))
            continue;
        char *path = es_os_path_join(dir, d[i].name);
        if (!path) {
            rc = es_error_set(err, ES_NOMEM, 0, "%s: out of memory", dir);
            break;
        }
        if (d[i].is_dir) {
            rc = sweep_dir(path, cutoff_ns, depth + 1, removed, err);
        } else {
            es_os_stat_info si;
            es_error serr;
            if (es_os_stat(&si, path, &serr) == ES_OK && si.mtime_ns < cutoff_ns &&
                es_os_unlink(path, &serr) == ES_OK)
                ++*removed;
        }
        es_free(path);
    }
    es_os_dirents_free(d, n);
    return rc;
}

es_status es_objstore_local_sweep(es_objstore *s, int64_t cutoff_ms, int64_t *removed,
                                  es_error *err)
{
    *removed = 0;
    if (!s || s->vt != &local_vtable)
        return ES_OK;
    local_store *l = (local_store *)s;
    return sweep_dir(l->root[0] ? l->root : "/", cutoff_ms * 1000000, 0, removed, err);
}

es_status es_objstore_local_open(es_objstore **out, const char *path, es_error *err)
{
    *out = NULL;
    if (!path || !*path)
        return es_error_set(err, ES_INVALID, 0, "local store: empty path");
    /* The directory is created by the first put (a store opened without `create` on a path
     * that does not exist leaves nothing behind). */
    es_os_stat_info si;
    es_status rc = es_os_stat(&si, path, NULL);
    if (rc == ES_OK && !si.is_dir)
        return es_error_set(err, ES_INVALID, 0, "%s: not a directory", path);
    if (rc != ES_OK && rc != ES_NOT_FOUND)
        return es_os_stat(&si, path, err); /* the error, named */
    local_store *l = es_calloc(1, sizeof *l);
    if (!l || es_objstore_init_base(&l->base, &local_vtable, path) != ES_OK) {
        es_free(l);
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", path);
    }
    pthread_mutex_init(&l->map_mu, NULL);
    l->base.cas_supported = 1;
    l->root = es_strdup(path);
    if (l->root) {
        size_t n = strlen(l->root);
        while (n > 0 && l->root[n - 1] == '/')
            l->root[--n] = 0;
        l->lock_path = es_os_path_join(l->root, LOCK_NAME);
    }
    if (!l->root || !l->lock_path) {
        local_close(&l->base);
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", path);
    }
    /* The file system: the root's, or (not created yet) its nearest existing ancestor's. */
    char *fs = es_strdup(l->root[0] ? l->root : "/");
    for (char *slash; fs && strcmp(fs, ".") && strcmp(fs, "/") && es_os_stat(&si, fs, NULL);) {
        if ((slash = strrchr(fs, '/')) != NULL)
            slash[slash == fs] = 0; /* "/a" -> "/", "a/b" -> "a" */
        else
            strcpy(fs, ".");
    }
    if (!fs) {
        local_close(&l->base);
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", path);
    }
    l->put_path = es_os_journal_orders_names(fs) ? PUT_TMPFILE_ONE_SYNC
                  : es_os_is_ext4(fs)            ? PUT_LINKED_ONE_SYNC
                                                 : PUT_TWO_SYNCS;
    es_free(fs);
    *out = &l->base;
    return ES_OK;
}
