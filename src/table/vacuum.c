/*
 * vacuum: garbage collection and log retention (table layer; es_vacuum, SQL VACUUM, `expstore
 * vacuum`). Layout of what it writes: docs/FORMAT.md, section 7c. The references it needs
 * (the keys a retained version names) are also what fsck.c checks, so both use
 * es_gc_refs_* below.
 *
 * The protocol (MUTATIONS-BRIEF section 8; SlateDB RFC 0026 and Delta's retention check are
 * the models):
 *
 *   sync to L --> choose the retention floor R (a checkpoint) --> commit the horizon entry G
 *     (action vacuum {horizon_ms, retain_from R}, format 3) --> write _log/_retention = R
 *     --> references: the catalog at R plus every object named by entries R+1 .. end
 *         (parts, vectors, .six of index coverage) and by checkpoints R .. end (manifests,
 *         and the manifests of their lists)
 *     --> list the store: delete table objects not referenced whose id time < horizon_ms
 *         (manifests only when no checkpoint is due but missing at a recent version)
 *     --> delete checkpoints below R (entries too once R is older than the minimum age)
 *     --> delete the local store's temporary files older than horizon_ms
 *
 * Invariants:
 *  1. No object that a committed or future entry names is deleted. A writer that read a
 *     version before G fails at commit (es_log_check_horizon: the entry G is among those it
 *     catches up with), so an object it wrote can only be named by an entry committed before
 *     G, i.e. referenced by a version <= G, which vacuum reads. A writer that read G or later
 *     wrote its objects after G was committed, so after vacuum took horizon_ms = now -
 *     vacuum_min_age_ms: their ids carry a later time (given clocks closer than min_age), and
 *     they are kept.
 *  2. Nothing is deleted unless every retained version was read: any failure to read one
 *     stops vacuum before its first delete.
 *  3. `_log/_retention` names R before anything is deleted: time travel below R fails with a
 *     clear ES_NOT_FOUND (log.c) from then on, whatever vacuum deletes next (objects that only
 *     versions below R reference, entries and checkpoints below R); the hint, checkpoints
 *     and entries at or above R are untouched.
 *  4. Vacuum only deletes: a crash at any point leaves a store as consistent as before (the
 *     horizon entry is an ordinary commit, deletes are of unreferenced objects).
 *  5. No manifest (or list) a checkpoint will name is deleted. A checkpoint's new manifests are
 *     written just before it, and log.c puts a checkpoint at most ES_CHECKPOINT_LATE_MS after
 *     it started (just after the commit of its version v): so vacuum either reads checkpoint
 *     v, or finds it missing at a version committed after horizon - ES_CHECKPOINT_LATE_MS and
 *     deletes no manifest (es_gc_collect's pending), or its writer gave it up. A manifest the
 *     checkpoint keeps from the writer's base checkpoint B is named by B, which vacuum retains
 *     unless its floor R > B; if the vacuum entry came before v the writer applied it and
 *     loads the store again instead of writing (es_snapshot_mf_stale), and if it came after,
 *     checkpoint v was missing when vacuum read the log, as above.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "objstore/objstore.h"
#include "table/compact.h"
#include "table/gc.h"
#include "table/index.h"

/* Log entries below the retention floor are deleted only once the floor's entry is this old
 * (and older than vacuum_min_age_ms): writes shorter than this never commit into a deleted
 * entry's place. */
#define ES_VACUUM_LOG_MIN_AGE_MS (3600 * 1000)

/* ------------------------------------------------------------ references */

void es_gc_refs_reset(es_gc_refs *r)
{
    for (int64_t i = 0; i < r->cap; i++)
        es_free(r->slots[i]);
    es_free(r->slots);
    memset(r, 0, sizeof(*r));
}

/* The slot of key in r (cap > 0): where it is, or the empty slot where it would go. */
static int64_t refs_slot(const es_gc_refs *r, const char *key)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (const char *p = key; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    int64_t i = (int64_t)(h & (uint64_t)(r->cap - 1));
    while (r->slots[i] && strcmp(r->slots[i], key) != 0)
        i = (i + 1) & (r->cap - 1);
    return i;
}

es_status es_gc_refs_add(es_gc_refs *r, const char *key, es_error *err)
{
    if (2 * (r->n + 1) > r->cap) { /* at most half full */
        es_gc_refs g = {NULL, 0, r->cap ? 2 * r->cap : 1024};
        g.slots = es_calloc((size_t)g.cap, sizeof(char *));
        if (!g.slots)
            return es_error_set(err, ES_NOMEM, 0, "vacuum: out of memory");
        for (int64_t i = 0; i < r->cap; i++)
            if (r->slots[i])
                g.slots[refs_slot(&g, r->slots[i])] = r->slots[i];
        g.n = r->n;
        es_free(r->slots);
        *r = g;
    }
    int64_t i = refs_slot(r, key);
    if (r->slots[i])
        return ES_OK;
    if (!(r->slots[i] = es_strdup(key)))
        return es_error_set(err, ES_NOMEM, 0, "vacuum: out of memory");
    r->n++;
    return ES_OK;
}

int es_gc_refs_has(const es_gc_refs *r, const char *key)
{
    return r->n > 0 && r->slots[refs_slot(r, key)] != NULL;
}

static es_status refs_part(es_gc_refs *r, const char *table_id, const es_part_meta *m,
                           es_error *err)
{
    char key[256];
    if (m->inline_ipc) /* rows inlined in the log: no objects */
        return ES_OK;
    es_part_key(key, sizeof(key), table_id, m->id, "data");
    es_status st = es_gc_refs_add(r, key, err);
    es_part_key(key, sizeof(key), table_id, m->id, "idx");
    return st ? st : es_gc_refs_add(r, key, err);
}

static es_status refs_dv(es_gc_refs *r, const char *table_id, const char *part_id,
                         const es_dvref *d, es_error *err)
{
    if (!d || !d->id[0])
        return ES_OK;
    char key[256];
    es_part_dv_key(key, sizeof(key), table_id, part_id, d->id);
    return es_gc_refs_add(r, key, err);
}

/* The objects of an index's coverage (create_index of a checkpoint, add_index: cov[0]). */
static es_status refs_index(es_gc_refs *r, const char *table_id, const es_index_def *d,
                            es_error *err)
{
    es_status st = ES_OK;
    char key[256];
    for (int64_t c = 0; d && c < d->n_cov && !st; c++) {
        es_index_object_key(key, sizeof(key), table_id, &d->cov[c]);
        st = es_gc_refs_add(r, key, err);
    }
    return st;
}

es_status es_gc_refs_snapshot(es_gc_refs *r, const es_snapshot *s, es_error *err)
{
    es_status st = ES_OK;
    char key[256];
    for (int64_t t = 0; t < s->n_tables && !st; t++) {
        const es_tabledef *td = s->tables[t];
        for (int64_t p = 0; p < td->n_parts && !st; p++) {
            st = refs_part(r, td->id, td->parts[p], err);
            if (!st)
                st = refs_dv(r, td->id, td->parts[p]->id, td->parts[p]->dv, err);
        }
        for (int64_t m = 0; m < td->n_mf && !st; m++) { /* manifests and lists */
            es_manifest_key(key, sizeof(key), td->id, td->mf[m].ref->id);
            st = es_gc_refs_add(r, key, err);
        }
        for (int64_t i = 0; i < td->n_indexes && !st; i++)
            st = refs_index(r, td->id, td->indexes[i], err);
    }
    return st;
}

es_status es_gc_refs_entry(es_gc_refs *r, const es_entry *e, es_error *err)
{
    es_status st = ES_OK;
    char key[256];
    for (int64_t i = 0; i < e->n_actions && !st; i++) {
        const es_action *a = &e->actions[i];
        if (a->kind == ES_ACT_ADD_PART) {
            st = refs_part(r, a->table_id, a->part, err);
        } else if (a->kind == ES_ACT_SET_DV) {
            st = refs_dv(r, a->table_id, a->part_id, a->dv, err);
        } else if (a->kind == ES_ACT_CREATE_INDEX || a->kind == ES_ACT_ADD_INDEX) {
            st = refs_index(r, a->table_id, a->index, err);
        } else if (a->kind == ES_ACT_MANIFEST) {
            es_manifest_key(key, sizeof(key), a->table_id, a->mf->id);
            st = es_gc_refs_add(r, key, err);
        }
    }
    return st;
}

es_status es_gc_refs_checkpoint(es_gc_refs *r, es_objstore *os, int64_t version, es_error *err)
{
    es_entry e;
    es_status st = es_log_read_entry(&e, os, version, 1, err);
    if (st)
        return st;
    /* Its manifest lines (its parts, vectors and index coverage are those of the entries up
     * to it, which fsck checks), and the manifests a list names, once per list (an unchanged list
     * is named again by every later checkpoint): fetched only when its key is new to the set. */
    for (int64_t i = 0; i < e.n_actions && !st; i++) {
        es_action *a = &e.actions[i];
        char key[256];
        if (a->kind != ES_ACT_MANIFEST)
            continue;
        es_manifest_key(key, sizeof(key), a->table_id, a->mf->id);
        st = es_gc_refs_add(r, key, err);
        if (st || a->mf->level == 0)
            continue;
        strcat(key, "#expanded"); /* not an object key: marks the list as done */
        if (es_gc_refs_has(r, key))
            continue;
        st = es_gc_refs_add(r, key, err);
        if (!st)
            st = es_manifest_fetch(&a->mf, 1, os, err);
        for (int64_t c = 0; !st && c < a->mf->n_children; c++) {
            es_manifest_key(key, sizeof(key), a->table_id, a->mf->children[c]->id);
            st = es_gc_refs_add(r, key, err);
        }
    }
    es_entry_reset(&e);
    return st;
}

int es_gc_parse_key(const char *key, int64_t *time_ms)
{
    /* table_<16>/table_<16>_part_<16>.data|.idx, ..._part_<16>_<16>.delta|.six, or
     * table_<16>/table_<16>_manifest_<16>.manifest */
    const size_t L = ES_ID_LEN;
    size_t n = strlen(key);
    *time_ms = -1;
    if (n < 6 + L + 1 + 6 + L || strncmp(key, "table_", 6) != 0 || key[6 + L] != '/' ||
        strncmp(key + 7 + L, "table_", 6) != 0 || strncmp(key + 6, key + 13 + L, L) != 0)
        return 0;
    const char *kind = key + 13 + 2 * L, *id = NULL;
    if (strncmp(kind, "_manifest_", 10) == 0 && strlen(kind + 10) == L + 9 &&
        strcmp(kind + 10 + L, ".manifest") == 0) {
        id = kind + 10;
    } else if (strncmp(kind, "_part_", 6) == 0 && strlen(kind + 6) > L) {
        const char *part = kind + 6, *rest = part + L;
        if (strcmp(rest, ".data") == 0 || strcmp(rest, ".idx") == 0)
            id = part;
        else if (rest[0] == '_' && strlen(rest) == 1 + L + 6 && strcmp(rest + 1 + L, ".delta") == 0)
            id = rest + 1;
        else if (rest[0] == '_' && strlen(rest) == 1 + L + 4 && strcmp(rest + 1 + L, ".six") == 0)
            id = rest + 1;
    }
    if (!id)
        return 0;
    /* Ids carry whole seconds: the object may be up to 999 ms younger than that. */
    int64_t t = es_part_id_time_ms(id);
    *time_ms = t < 0 ? -1 : t + 999;
    return 1;
}

int es_gc_parse_log_key(const char *key, int64_t *version, int *checkpoint)
{
    if (strncmp(key, "_log/", 5) != 0 || strlen(key) < 5 + 20 + 5)
        return 0;
    int64_t v = 0;
    for (int i = 0; i < 20; i++) {
        char c = key[5 + i];
        if (c < '0' || c > '9' || v > (INT64_MAX - 9) / 10)
            return 0;
        v = v * 10 + (c - '0');
    }
    const char *ext = key + 25;
    if (strcmp(ext, ".json") == 0)
        *checkpoint = 0;
    else if (strcmp(ext, ".checkpoint") == 0)
        *checkpoint = 1;
    else
        return 0;
    *version = v;
    return 1;
}

es_status es_gc_collect(es_gc_refs *r, int *pending, es_objstore *os, int64_t from, int64_t to,
                        int64_t recent_ms, es_error *err)
{
    es_snapshot *s = NULL;
    es_status st = es_log_load(&s, NULL, os, from, err);
    if (!st) /* every part, not only those of the manifests loaded so far */
        st = es_manifest_load_all(s, os, err);
    if (!st)
        st = es_gc_refs_snapshot(r, s, err);
    es_snapshot_free(s);
    if (!st && from % ES_CHECKPOINT_INTERVAL == 0) {
        /* The checkpoint at `from` itself: the load may have read another one (or replayed)
         * when it could not read it, but readers will use it. */
        es_error sub;
        st = es_gc_refs_checkpoint(r, os, from, &sub);
        if (st == ES_NOT_FOUND)
            st = ES_OK;
        else if (st && err)
            *err = sub;
    }
    for (int64_t v = from + 1; v <= to && !st; v++) {
        es_entry e;
        st = es_log_read_entry(&e, os, v, 0, err);
        if (st == ES_NOT_FOUND) {
            char key[64];
            es_log_key(key, sizeof(key), v, 0);
            st = es_error_set(err, ES_CORRUPT, 0, "%s: missing below version %lld", key,
                              (long long)to);
        }
        if (st)
            break;
        st = es_gc_refs_entry(r, &e, err);
        int64_t committed = e.time_ms;
        es_entry_reset(&e);
        if (st || v % ES_CHECKPOINT_INTERVAL != 0)
            continue;
        /* The manifests a retained checkpoint names (a checkpoint lists the same parts as the
         * entries up to it, but packed into manifests of its own). */
        es_error sub;
        st = es_gc_refs_checkpoint(r, os, v, &sub);
        if (st == ES_NOT_FOUND) {
            st = ES_OK;
            if (pending && committed >= recent_ms)
                *pending = 1;
        } else if (st && err) {
            *err = sub;
        }
    }
    return st;
}

/* ----------------------------------------------------------------- vacuum */

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

es_status es_gc_list(es_obj_list *all, es_objstore *os, const char *prefix, es_error *err)
{
    memset(all, 0, sizeof(*all));
    char *after = NULL;
    es_status st = ES_OK;
    for (;;) {
        es_obj_list l;
        memset(&l, 0, sizeof(l));
        st = es_objstore_list(os, prefix, after, 1000, &l, err);
        if (st)
            break;
        es_obj_info *items =
            es_realloc(all->items, (size_t)(all->n + l.n + 1) * sizeof(es_obj_info));
        if (!items) {
            es_obj_list_reset(&l);
            st = es_error_set(err, ES_NOMEM, 0, "vacuum: out of memory");
            break;
        }
        all->items = items;
        for (int64_t i = 0; i < l.n; i++) {
            all->items[all->n++] = l.items[i];
            l.items[i].key = NULL; /* moved */
        }
        int more = l.truncated && l.n > 0;
        es_obj_list_reset(&l);
        if (!more)
            break;
        after = all->items[all->n - 1].key;
    }
    if (st)
        es_obj_list_reset(all);
    return st;
}

/* The retention floor: the newest checkpoint c (listed in ckpt[0..n), ascending) below which
 * every version is expired, or `oldest` when there is none. */
static es_status choose_floor(int64_t *floor, es_store *s, const int64_t *ckpt, int64_t n,
                              int64_t latest, int64_t oldest, int64_t now, es_error *err)
{
    const es_open_options *o = &s->opts;
    *floor = oldest;
    int64_t lo = 0, hi = n - 1, best = -1;
    while (lo <= hi) { /* valid(c) holds for every checkpoint below a valid one */
        int64_t mid = (lo + hi) / 2, c = ckpt[mid];
        int valid = c <= latest && o->retain_versions > 0 && latest - (c - 1) > o->retain_versions;
        if (!valid && c <= latest && o->retain_ms > 0) {
            es_entry e;
            es_status st = es_log_read_entry(&e, s->os, c, 1, err);
            if (st)
                return st;
            valid = e.time_ms < now - o->retain_ms;
            es_entry_reset(&e);
        }
        if (valid) {
            best = c;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    if (best > oldest)
        *floor = best;
    return ES_OK;
}

static es_status delete_keys(es_objstore *os, char **keys, int64_t n, es_error *err)
{
    for (int64_t i = 0; i < n; i += 1000) {
        int64_t k = n - i < 1000 ? n - i : 1000;
        es_status st = es_objstore_delete(os, (const char *const *)keys + i, k, err);
        if (st)
            return st;
    }
    return ES_OK;
}

es_status es_vacuum_impl(es_store *s, es_vacuum_info *info, es_error *err)
{
    es_vacuum_info own;
    if (!info)
        info = &own;
    memset(info, 0, sizeof(*info));
    if (s->txn)
        return es_error_set(err, ES_INVALID, 0, "VACUUM: not inside a transaction");
    es_snapshot *cat = NULL;
    es_status st = es_store_catalog_write(&cat, s, err);
    if (st)
        return st;
    int64_t now = wall_ms(), latest = cat->version;
    int64_t horizon = now - s->opts.vacuum_min_age_ms;
    es_obj_list logs, objs;
    memset(&objs, 0, sizeof(objs));
    es_gc_refs refs;
    memset(&refs, 0, sizeof(refs));
    char **del = NULL;
    int64_t n_del = 0, *ckpt = NULL, n_ckpt = 0, oldest = INT64_MAX, floor = 0;
    st = es_gc_list(&logs, s->os, "_log/", err);
    if (st)
        return st;
    ckpt = es_malloc((size_t)(logs.n + 1) * sizeof(int64_t));
    del = es_malloc((size_t)(logs.n + 1) * sizeof(char *));
    if (!ckpt || !del) {
        st = es_error_set(err, ES_NOMEM, 0, "vacuum: out of memory");
        goto done;
    }
    for (int64_t i = 0; i < logs.n; i++) {
        int64_t v;
        int cp;
        if (!es_gc_parse_log_key(logs.items[i].key, &v, &cp) || v > latest)
            continue;
        if (cp)
            ckpt[n_ckpt++] = v;
        else if (v < oldest)
            oldest = v;
    }
    if (oldest == INT64_MAX)
        oldest = 0;
    int64_t named_floor = 0; /* entries below the floor a vacuum named stay for an hour */
    es_error nerr;
    if (es_log_retention(&named_floor, s->os, &nerr) == ES_OK && named_floor > oldest &&
        named_floor <= latest)
        oldest = named_floor;
    st = choose_floor(&floor, s, ckpt, n_ckpt, latest, oldest, now, err);
    if (st)
        goto done;
    /* The horizon: from here on, a writer that read before it cannot commit objects. */
    es_action a;
    memset(&a, 0, sizeof(a));
    a.kind = ES_ACT_VACUUM;
    a.horizon_ms = horizon;
    a.retain_from = floor;
    st = es_store_commit(s, &a, 1, NULL, NULL, &info->version, err);
    if (st)
        goto done;
    info->retain_from = floor;
    /* Name the floor before deleting anything: objects only versions below it reference go
     * next, and time travel below it must then say "past the log retention". */
    if (floor > oldest) {
        int64_t named = 0;
        es_error rerr;
        if (es_log_retention(&named, s->os, &rerr) != ES_OK)
            named = 0;
        if (floor > named) {
            es_buf b = {0};
            st = es_log_hint_encode(&b, floor);
            if (!st)
                st = es_objstore_put(s->os, ES_LOG_RETENTION_KEY, b.data, b.len, ES_PUT_ALWAYS,
                                     NULL, NULL, err);
            es_buf_reset(&b);
            if (st)
                goto done;
        }
    }
    /* List the objects, then read the log to its end: an entry committed after the listing
     * names only objects written after the horizon (invariant 1) or listed ones. */
    st = es_gc_list(&objs, s->os, "table_", err);
    if (!st)
        st = es_store_catalog_write(&cat, s, err);
    int pending = 0;
    if (!st)
        st = es_gc_collect(&refs, &pending, s->os, floor, cat->version,
                           horizon - ES_CHECKPOINT_LATE_MS, err);
    if (st)
        goto done;
    char **dk = es_malloc((size_t)(objs.n + 1) * sizeof(char *));
    if (!dk) {
        st = es_error_set(err, ES_NOMEM, 0, "vacuum: out of memory");
        goto done;
    }
    int64_t n_dk = 0;
    for (int64_t i = 0; i < objs.n; i++) {
        int64_t t;
        const char *key = objs.items[i].key;
        if (!es_gc_parse_key(key, &t) || t < 0 || t >= horizon || es_gc_refs_has(&refs, key) ||
            (pending && strstr(key, "_manifest_")))
            continue;
        dk[n_dk++] = objs.items[i].key;
        info->bytes_deleted += (int64_t)objs.items[i].size;
    }
    st = delete_keys(s->os, dk, n_dk, err);
    es_free(dk);
    if (st)
        goto done;
    info->objects_deleted = n_dk;
    /* Log retention: name the floor first, then delete below it. */
    if (floor > oldest) {
        /* Checkpoints below the floor go now; entries only once the floor is older than the
         * minimum age, and than ES_VACUUM_LOG_MIN_AGE_MS whatever the minimum age (0 too): a
         * writer still at a version below it (a write longer than that) would otherwise
         * re-create a deleted entry with put-if-absent, a commit no reader sees. */
        es_entry fe;
        int entries = 0;
        if (es_log_read_entry(&fe, s->os, floor, 1, err) == ES_OK) {
            entries = fe.time_ms < horizon && fe.time_ms < now - ES_VACUUM_LOG_MIN_AGE_MS;
            es_entry_reset(&fe);
        }
        for (int64_t i = 0; i < logs.n; i++) {
            int64_t v;
            int cp;
            if (es_gc_parse_log_key(logs.items[i].key, &v, &cp) && v < floor && (cp || entries))
                del[n_del++] = logs.items[i].key;
        }
        st = delete_keys(s->os, del, n_del, err);
        if (st)
            goto done;
        info->log_deleted = n_del;
    }
    st = es_objstore_local_sweep(s->os, horizon, &info->temp_deleted, err);
done:
    es_free(ckpt);
    es_free(del);
    es_gc_refs_reset(&refs);
    es_obj_list_reset(&logs);
    es_obj_list_reset(&objs);
    return st;
}
