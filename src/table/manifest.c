/*
 * manifest: metadata whose cost follows the work, not the table (table layer, beside log.c).
 *
 * A checkpoint of format 3 (docs/FORMAT.md section 4a) is a small root: per table its
 * create_table, one `manifest` action per manifest object (key, size, CRC-32C, number of parts,
 * rows, and the union of its parts' statistics: the key range among them) and at most a few
 * loose add_part actions. A manifest object `table_<t>/table_<t>_manifest_<m>.manifest` holds up
 * to ES_MANIFEST_PARTS parts of one table (their add_part actions, each followed by the part's
 * set_dv when it has a live vector), in the same JSON encoding as a commit entry, with kind
 * "manifest". It is immutable and written with put-if-absent before the checkpoint that names
 * it, so a reader that finds the checkpoint finds every manifest it names (invariant 4).
 *
 * Reading. Loading a snapshot from a root lists every table with its totals and its manifests
 * "not loaded": no manifest is read at open. A scan asks es_manifest_load for the manifests
 * whose summary its predicate (or key set) can match and fetches them at once (get_many); an
 * entry after the checkpoint that removes a part, sets its vector or indexes it on a part no
 * loaded manifest holds loads the manifests whose summary holds the key the action carries
 * (es_manifest_hint gives each such action the part's minimum of its primary key when it is
 * committed): the one holding the part; only an action without a key (an older writer) loads
 * every manifest of the table. Writers load what their keys or predicate can touch: a delete,
 * update or upsert through its scan, a unique check those whose key range holds a key
 * (unique.c), compaction those that may hold small parts or deleted rows, a transaction
 * (txn.c) what its calls touch; a delete of every row loads them all. Loading only lists parts the
 * table already holds (its totals already count them), so a table shared between snapshots is
 * loaded in place.
 *
 * Two levels: when a table has more than ES_MANIFEST_LIST_LOOSE manifests outside lists, a
 * checkpoint packs them into manifest lists (level 1: objects of `manifest` actions, up to
 * ES_MANIFEST_PARTS each), so the root stays a few dozen lines at any size. A list loads like
 * a manifest, except that loading it names its manifests in the table (not loaded).
 *
 * Writing (es_manifest_checkpoint, pack_table). A manifest of the previous root is named again
 * when it was not loaded (then no entry touched its parts) or when every part it holds is still
 * in the table, the same metadata object (set_dv and remove_part replace or drop it). The other
 * parts (new ones, those of changed manifests, the loose ones) stay loose while there are at
 * most ES_MANIFEST_LOOSE; beyond, they are packed, sorted by the primary key's minimum, with
 * the parts of up to MERGE_MAX under-full manifests, into new manifests of at most
 * ES_MANIFEST_PARTS parts. Lists the same way one level up. A checkpoint therefore writes the
 * root and only the manifests and lists whose parts changed, whatever the number of parts.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "table/evolve.h"
#include "table/expr.h"
#include "table/index.h"
#include "table/log.h"

/* Under-full manifests (fewer than half of ES_MANIFEST_PARTS parts) merged into a pack. */
#define MERGE_MAX 4
/* Manifests fetched by one get_many (S3 runs up to 64 requests at once by default). */
#define LOAD_RUN 64

es_status es_mfref_new(es_mfref **out)
{
    *out = es_calloc(1, sizeof(es_mfref));
    if (!*out)
        return ES_NOMEM;
    (*out)->refs = 1;
    return ES_OK;
}

es_mfref *es_mfref_ref(es_mfref *m)
{
    if (m)
        __atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
    return m;
}

void es_mfref_unref(es_mfref *m)
{
    if (!m || __atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    for (int64_t i = 0; m->parts && i < m->n_parts; i++)
        es_part_meta_unref(m->parts[i]);
    es_free(m->parts);
    for (int64_t i = 0; m->children && i < m->n_children; i++)
        es_mfref_unref(m->children[i]);
    es_free(m->children);
    es_part_meta_unref(m->sum);
    es_free(m);
}

void es_manifest_key(char *buf, size_t cap, const char *table_id, const char *mf_id)
{
    snprintf(buf, cap, "table_%s/table_%s_manifest_%s.manifest", table_id, table_id, mf_id);
}

int64_t es_tabledef_n_parts(const es_tabledef *t)
{
    int64_t n = t->n_parts;
    for (int64_t i = 0; i < t->n_mf; i++)
        if (!t->mf[i].loaded)
            n += t->mf[i].ref->n_parts;
    return n;
}

es_status es_manifest_apply(es_tabledef *t, const es_action *a, const char *name, es_error *err)
{
    const es_mfref *f = a->mf;
    for (int64_t c = 0; c < f->sum->n_cols; c++)
        if (f->sum->col_ids[c] < 0 || f->sum->col_ids[c] >= t->next_col_id)
            return es_error_set(err, ES_CORRUPT, 0, "%s: manifest %s has unknown column", name,
                                f->id);
    es_tabledef_mf *mf = es_realloc(t->mf, (size_t)(t->n_mf + 1) * sizeof(*mf));
    if (!mf)
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", name);
    t->mf = mf;
    t->mf[t->n_mf].ref = es_mfref_ref(a->mf);
    t->mf[t->n_mf].loaded = 0;
    t->n_mf++;
    t->rows += f->live_rows;
    t->bytes += f->sum->data_bytes;
    return ES_OK;
}

/* ---------------------------------------------------------------- reading */

/* Decode manifest list object e (decoded and checked) into f->children: manifests of level 0
 * of its table whose totals add up to the list's line. */
static es_status list_decode(es_mfref *f, es_entry *e, const char *key, es_error *err)
{
    es_mfref **ch = es_calloc((size_t)f->n_children, sizeof(*ch));
    int64_t n = 0, parts = 0, rows = 0, live = 0, inl = 0;
    if (!ch)
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", key);
    const char *why = NULL;
    for (int64_t k = 0; k < e->n_actions && !why; k++) {
        const es_action *a = &e->actions[k];
        if (a->kind != ES_ACT_MANIFEST || a->mf->level != 0 || n == f->n_children ||
            strcmp(a->table_id, f->table_id) != 0) {
            why = "an unexpected action";
            break;
        }
        ch[n++] = es_mfref_ref(a->mf);
        inl += a->mf->inline_rows;
        parts += a->mf->n_parts;
        rows += a->mf->sum->rows;
        live += a->mf->live_rows;
    }
    if (!why && (n != f->n_children || parts != f->n_parts || rows != f->sum->rows ||
                 live != f->live_rows || inl != f->inline_rows))
        why = "manifests, parts or rows differ from the checkpoint's";
    if (why) {
        for (int64_t k = 0; k < n; k++)
            es_mfref_unref(ch[k]);
        es_free(ch);
        return es_error_set(err, ES_CORRUPT, 0, "%s: %s", key, why);
    }
    f->children = ch;
    return ES_OK;
}

/* Decode manifest object b into f->parts (a list: f->children), checking it against the line
 * that names it. */
static es_status mf_decode(es_mfref *f, const es_blob *b, const char *key, es_error *err)
{
    if ((int64_t)b->size != f->bytes || es_crc32c(0, b->data, b->size) != f->crc)
        return es_error_set(err, ES_CORRUPT, 0,
                            "%s: size or checksum differs from the checkpoint's (%lld bytes)", key,
                            (long long)b->size);
    es_entry e;
    es_status st = es_entry_decode(&e, b->data, b->size, key, err);
    if (st)
        return st;
    if (e.checkpoint != ES_ENTRY_MANIFEST) {
        es_entry_reset(&e);
        return es_error_set(err, ES_CORRUPT, 0, "%s: not a manifest", key);
    }
    if (f->level) {
        st = list_decode(f, &e, key, err);
        es_entry_reset(&e);
        return st;
    }
    es_part_meta **parts = es_calloc((size_t)f->n_parts, sizeof(*parts));
    int64_t n = 0, rows = 0, live = 0, inl = 0;
    if (!parts) {
        es_entry_reset(&e);
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", key);
    }
    const char *why = NULL;
    for (int64_t k = 0; k < e.n_actions && !why; k++) {
        const es_action *a = &e.actions[k];
        if (strcmp(a->table_id, f->table_id) != 0)
            why = "a part of another table";
        else if (a->kind == ES_ACT_ADD_PART && n < f->n_parts)
            parts[n++] = es_part_meta_ref(a->part);
        else if (a->kind == ES_ACT_SET_DV && n > 0 && !parts[n - 1]->dv &&
                 strcmp(parts[n - 1]->id, a->part_id) == 0 && a->dv->deleted <= parts[n - 1]->rows)
            parts[n - 1]->dv = es_dvref_ref(a->dv); /* decoded here: not shared yet */
        else
            why = "an unexpected action";
    }
    for (int64_t k = 0; k < n; k++) {
        rows += parts[k]->rows;
        live += es_part_live_rows(parts[k]);
        inl += parts[k]->inline_ipc ? es_part_live_rows(parts[k]) : 0;
    }
    if (!why &&
        (n != f->n_parts || rows != f->sum->rows || live != f->live_rows || inl != f->inline_rows))
        why = "parts or rows differ from the checkpoint's";
    es_entry_reset(&e);
    if (why) {
        for (int64_t k = 0; k < n; k++)
            es_part_meta_unref(parts[k]);
        es_free(parts);
        return es_error_set(err, ES_CORRUPT, 0, "%s: %s", key, why);
    }
    f->parts = parts;
    return ES_OK;
}

/* List the parts of manifest i (decoded) in t; a list: name its manifests in t instead. */
static es_status mf_attach(es_tabledef *t, int64_t i)
{
    es_mfref *f = t->mf[i].ref;
    if (f->level) {
        es_tabledef_mf *mf = es_realloc(t->mf, (size_t)(t->n_mf + f->n_children) * sizeof(*mf));
        if (!mf)
            return ES_NOMEM;
        t->mf = mf;
        for (int64_t k = 0; k < f->n_children; k++) {
            t->mf[t->n_mf].ref = es_mfref_ref(f->children[k]);
            t->mf[t->n_mf++].loaded = 0;
        }
        t->mf[i].loaded = 1;
        return ES_OK;
    }
    if (t->n_parts + f->n_parts > t->cap_parts) {
        int64_t cap = t->cap_parts ? t->cap_parts : 8;
        while (cap < t->n_parts + f->n_parts)
            cap *= 2;
        es_part_meta **p = es_realloc(t->parts, (size_t)cap * sizeof(*p));
        if (!p)
            return ES_NOMEM;
        t->parts = p;
        t->cap_parts = cap;
    }
    for (int64_t k = 0; k < f->n_parts; k++)
        t->parts[t->n_parts++] = es_part_meta_ref(f->parts[k]);
    t->mf[i].loaded = 1;
    return ES_OK;
}

/* Fetch (get_many) and decode the manifests f[0..n) not decoded yet. */
static es_status mf_fetch(es_mfref **f, int64_t n, es_objstore *os, int64_t *requests,
                          int64_t *bytes, es_error *err)
{
    es_status st = ES_OK;
    for (int64_t at = 0; at < n && !st; at += LOAD_RUN) {
        int64_t m = n - at < LOAD_RUN ? n - at : LOAD_RUN;
        char keys[LOAD_RUN][256];
        es_range_req reqs[LOAD_RUN];
        memset(reqs, 0, sizeof(reqs));
        int64_t k2 = 0;
        es_mfref *which[LOAD_RUN];
        for (int64_t k = 0; k < m; k++) {
            if (f[at + k]->parts || f[at + k]->children)
                continue;
            which[k2] = f[at + k];
            es_manifest_key(keys[k2], sizeof(keys[k2]), f[at + k]->table_id, f[at + k]->id);
            reqs[k2].key = keys[k2];
            reqs[k2].len = UINT64_MAX;
            k2++;
        }
        es_error sub;
        if (k2 > 0)
            (void)es_objstore_get_many(os, reqs, k2, &sub); /* every request has its status */
        for (int64_t k = 0; k < k2; k++) {
            if (requests)
                (*requests)++;
            if (!st && reqs[k].status == ES_NOT_FOUND)
                st = es_error_set(err, ES_CORRUPT, 0,
                                  "%s: missing, but the checkpoint names it: the store is damaged",
                                  keys[k]);
            else if (!st && reqs[k].status != ES_OK)
                st = es_objstore_get(os, keys[k], 0, UINT64_MAX, &reqs[k].out, err);
            if (!st) {
                if (bytes)
                    *bytes += (int64_t)reqs[k].out->size;
                st = mf_decode(which[k], reqs[k].out, keys[k], err);
            }
            es_blob_unref(reqs[k].out);
        }
    }
    return st;
}

/* One round of es_manifest_load: the manifests not loaded that keep wants, fetched at once.
 * *n: how many were loaded. */
static es_status load_round(int64_t *n, es_tabledef *t, es_objstore *os, es_manifest_keep_fn keep,
                            void *ctx, int64_t *requests, int64_t *bytes, es_error *err)
{
    *n = 0;
    for (int64_t i = 0; i < t->n_mf; i++)
        *n += !t->mf[i].loaded;
    if (*n == 0)
        return ES_OK;
    es_mfref **want = es_calloc((size_t)*n, sizeof(*want));
    int64_t *at = es_calloc((size_t)*n, sizeof(*at));
    es_status st = want && at ? ES_OK : es_error_set(err, ES_NOMEM, 0, "out of memory");
    int64_t m = 0;
    for (int64_t i = 0; i < t->n_mf && !st; i++) {
        if (t->mf[i].loaded || (keep && !keep(ctx, t->mf[i].ref)))
            continue;
        want[m] = t->mf[i].ref;
        at[m++] = i;
    }
    if (!st && !os && m > 0)
        st = es_error_set(err, ES_INTERNAL, 0, "table '%s': manifests without a store", t->name);
    if (!st)
        st = mf_fetch(want, m, os, requests, bytes, err);
    for (int64_t k = 0; k < m && !st; k++)
        if (mf_attach(t, at[k]))
            st = es_error_set(err, ES_NOMEM, 0, "out of memory");
    es_free(want);
    es_free(at);
    *n = m;
    return st;
}

es_status es_manifest_load(es_tabledef *t, es_objstore *os, es_manifest_keep_fn keep, void *ctx,
                           int64_t *requests, int64_t *bytes, es_error *err)
{
    /* Lists first (their manifests then join the next round), then manifests. */
    for (;;) {
        int64_t n = 0;
        es_status st = load_round(&n, t, os, keep, ctx, requests, bytes, err);
        if (st || n == 0)
            return st;
    }
}

es_status es_manifest_load_all(es_snapshot *s, es_objstore *os, es_error *err)
{
    es_status st = ES_OK;
    for (int64_t i = 0; i < s->n_tables && !st; i++)
        st = es_manifest_load(s->tables[i], os, NULL, NULL, NULL, NULL, err);
    return st;
}

/* es_manifest_find_part: does manifest f's key range hold the value of a (key_col, key)? */
typedef struct key_hint {
    const es_tabledef *t;
    es_pred *pred;       /* column = value */
    es_pred_stats *ps;   /* scratch, t->n_cols entries */
    const uint8_t *need; /* the column only */
} key_hint;

static int holds_key(void *ctx, const es_mfref *f)
{
    key_hint *k = ctx;
    es_part_stats_to_pred(k->ps, k->t, f->sum, k->need); /* evolve.h: in the table's types */
    return es_pred_may_match(k->pred, k->ps);
}

/* Load the manifests of t whose key range holds the value action a carries: the one holding
 * its part (and any other whose range overlaps). Nothing when a carries none. */
static es_status load_by_key(es_tabledef *t, es_objstore *os, const es_action *a, es_error *err)
{
    int64_t c = 0;
    while (c < t->n_cols && t->cols[c].id != a->key_col)
        c++;
    if (!a->has_key || c == t->n_cols)
        return ES_OK;
    key_hint k = {t, NULL, NULL, NULL};
    es_domain dom = es_expr_domain(t->cols[c].type.id);
    es_scalar v;
    es_colstat_scalar(&v, dom, a->key, a->key_len);
    uint8_t *need = es_calloc((size_t)t->n_cols, 1);
    k.ps = es_calloc((size_t)t->n_cols, sizeof(*k.ps));
    k.pred = dom == ES_DOM_NONE ? NULL : es_pred_range(c, dom, &v, &v);
    es_status st = ES_OK;
    if (need && k.ps && k.pred) {
        need[c] = 1;
        k.need = need;
        st = es_manifest_load(t, os, holds_key, &k, NULL, NULL, err);
    }
    es_pred_free(k.pred);
    es_free(k.ps);
    es_free(need);
    return st;
}

es_status es_manifest_find_part(int64_t *out, es_tabledef *t, es_objstore *os, const es_action *a,
                                es_error *err)
{
    /* The manifests whose key range holds the value the action carries (normally one), and
     * when that does not find the part (an entry without the value, or a value outside every
     * range), every manifest not loaded yet, at once (get_many: a few round trips). */
    *out = -1;
    int64_t from = t->n_parts;
    es_status st = load_by_key(t, os, a, err);
    for (int pass = 0; pass < 2 && !st && *out < 0; pass++) {
        if (pass == 1)
            st = es_manifest_load(t, os, NULL, NULL, NULL, NULL, err);
        for (int64_t p = from; !st && p < t->n_parts; p++)
            if (strcmp(t->parts[p]->id, a->part_id) == 0) {
                *out = p;
                break;
            }
        from = pass == 0 ? from : t->n_parts;
    }
    return st;
}

/* es_manifest_hint: the value of part m by which its manifest is found (FORMAT.md 4a). */
static void hint_part(es_action *a, const es_tabledef *t, const es_part_meta *m)
{
    for (int64_t k = -1; k < t->n_cols && !a->has_key; k++) {
        int64_t c = k < 0 ? t->pk : k; /* the primary key first */
        if (c < 0)
            continue;
        for (int64_t j = 0; j < m->n_cols; j++) {
            const es_colstat *cs = &m->stats[j];
            if (m->col_ids[j] != t->cols[c].id || !cs->has_min ||
                (m->cols && m->cols[j].format[0] &&
                 strcmp(m->cols[j].format, t->cols[c].format) != 0))
                continue; /* no minimum, or written in another type than the table's */
            a->has_key = 1;
            a->key_col = t->cols[c].id;
            a->key_len = cs->min_len;
            memcpy(a->key, cs->min, cs->min_len);
            break;
        }
    }
}

static int cmp_part_id(const void *x, const void *y)
{
    return strcmp((*(es_part_meta *const *)x)->id, (*(es_part_meta *const *)y)->id);
}

void es_manifest_hint(const es_snapshot *s, es_action *actions, int64_t n)
{
    const es_tabledef *by = NULL; /* the table `sorted` lists (many actions: look-ups by id) */
    es_part_meta **sorted = NULL;
    for (int64_t k = 0; k < n; k++) {
        es_action *a = &actions[k];
        int cov = a->kind == ES_ACT_ADD_INDEX && a->index && a->index->n_cov == 1;
        if (a->kind != ES_ACT_SET_DV && a->kind != ES_ACT_REMOVE_PART && !cov)
            continue;
        a->has_key = 0;
        if (cov) /* an index object of a part (index.c): found the same way */
            memcpy(a->part_id, a->index->cov[0].part, sizeof(a->part_id));
        const es_tabledef *t = es_snapshot_find_id(s, a->table_id);
        if (!t || t->n_mf == 0 || t->n_parts == 0)
            continue;
        if (n > 8 && by != t) {
            es_free(sorted);
            by = NULL;
            if ((sorted = es_malloc((size_t)t->n_parts * sizeof(*sorted)))) {
                memcpy(sorted, t->parts, (size_t)t->n_parts * sizeof(*sorted));
                qsort(sorted, (size_t)t->n_parts, sizeof(*sorted), cmp_part_id);
                by = t;
            }
        }
        if (by == t) {
            es_part_meta key, *kp = &key, **hit;
            memcpy(key.id, a->part_id, sizeof(key.id));
            hit = bsearch(&kp, sorted, (size_t)t->n_parts, sizeof(*sorted), cmp_part_id);
            if (hit)
                hint_part(a, t, *hit);
            continue;
        }
        for (int64_t p = 0; p < t->n_parts; p++) /* out of memory, or few actions */
            if (strcmp(t->parts[p]->id, a->part_id) == 0) {
                hint_part(a, t, t->parts[p]);
                break;
            }
    }
    es_free(sorted);
}

/* es_manifest_load_like: is f loaded in the other table? */
static int loaded_in(void *ctx, const es_mfref *f)
{
    const es_tabledef *like = ctx;
    for (int64_t i = 0; i < like->n_mf; i++)
        if (like->mf[i].ref == f)
            return like->mf[i].loaded;
    return 0;
}

es_status es_manifest_load_like(es_tabledef *t, const es_tabledef *like, es_objstore *os,
                                es_error *err)
{
    return es_manifest_load(t, os, loaded_in, (void *)like, NULL, NULL, err);
}

es_status es_manifest_fetch(es_mfref **f, int64_t n, es_objstore *os, es_error *err)
{
    return mf_fetch(f, n, os, NULL, NULL, err);
}

/* ---------------------------------------------------------------- writing */

/* A growing list of actions (the new checkpoint's). */
typedef struct act_list {
    es_action *a;
    int64_t n, cap;
} act_list;

static es_action *act_push(act_list *l)
{
    if (l->n == l->cap) {
        int64_t cap = l->cap ? l->cap * 2 : 16;
        es_action *p = es_realloc(l->a, (size_t)cap * sizeof(*p));
        if (!p)
            return NULL;
        l->a = p;
        l->cap = cap;
    }
    memset(&l->a[l->n], 0, sizeof(es_action));
    return &l->a[l->n++];
}

/* add_part of m, then set_dv of its live vector (the same object or blob: nothing rewritten). */
static es_status push_part(act_list *l, const char *table_id, es_part_meta *m)
{
    es_action *a = act_push(l);
    if (!a)
        return ES_NOMEM;
    a->kind = ES_ACT_ADD_PART;
    memcpy(a->table_id, table_id, ES_ID_LEN + 1);
    a->part = es_part_meta_ref(m);
    a->typed = 1; /* alter.c: read after later alterations, it names its columns' types */
    if (!m->dv)
        return ES_OK;
    if (!(a = act_push(l)))
        return ES_NOMEM;
    a->kind = ES_ACT_SET_DV;
    memcpy(a->table_id, table_id, ES_ID_LEN + 1);
    memcpy(a->part_id, m->id, ES_ID_LEN + 1);
    a->dv = es_dvref_ref(m->dv);
    return ES_OK;
}

static es_status push_manifest(act_list *l, es_mfref *f)
{
    es_action *a = act_push(l);
    if (!a)
        return ES_NOMEM;
    a->kind = ES_ACT_MANIFEST;
    memcpy(a->table_id, f->table_id, ES_ID_LEN + 1);
    a->mf = es_mfref_ref(f);
    return ES_OK;
}

/* The summary of parts p[0..n): totals, and per column every part has, the null count and the
 * union of the ranges (unknown when a part's bound is unknown). */
static es_status mf_summary(es_part_meta **out, const es_tabledef *t, es_part_meta **p, int64_t n)
{
    int64_t nc = 0;
    es_status st = es_part_meta_new(out, p[0]->n_cols);
    if (st)
        return st;
    es_part_meta *s = *out;
    for (int64_t c = 0; c < p[0]->n_cols; c++) {
        int64_t id = p[0]->col_ids[c], col = 0;
        while (col < t->n_cols && t->cols[col].id != id)
            col++;
        es_domain dom = col < t->n_cols ? es_expr_domain(t->cols[col].type.id) : ES_DOM_NONE;
        /* Bounds in the table's type (the summary names it): every part must have written the
         * column in that type (alter.c), else they are unknown. */
        for (int64_t k = 0; k < n && dom != ES_DOM_NONE; k++)
            for (int64_t j = 0; j < p[k]->n_cols; j++)
                if (p[k]->col_ids[j] == id && p[k]->cols && p[k]->cols[j].format[0] &&
                    strcmp(p[k]->cols[j].format, t->cols[col].format) != 0)
                    dom = ES_DOM_NONE;
        es_colstat u;
        memset(&u, 0, sizeof(u));
        int in_all = 1, min_unknown = 0, max_unknown = 0;
        for (int64_t k = 0; k < n && in_all; k++) {
            int64_t j = 0;
            while (j < p[k]->n_cols && p[k]->col_ids[j] != id)
                j++;
            if (j == p[k]->n_cols) {
                in_all = 0;
                break;
            }
            const es_colstat *cs = &p[k]->stats[j];
            u.null_count += cs->null_count;
            if (cs->null_count >= p[k]->rows)
                continue; /* no value: no bound */
            es_scalar a, b;
            if (!cs->has_min || dom == ES_DOM_NONE) {
                min_unknown = 1;
            } else if (!u.has_min) {
                u.has_min = 1;
                memcpy(u.min, cs->min, cs->min_len);
                u.min_len = cs->min_len;
            } else {
                es_colstat_scalar(&a, dom, u.min, u.min_len);
                es_colstat_scalar(&b, dom, cs->min, cs->min_len);
                if (es_scalar_cmp(dom, &b, &a) < 0) {
                    memcpy(u.min, cs->min, cs->min_len);
                    u.min_len = cs->min_len;
                }
            }
            if (!cs->has_max || dom == ES_DOM_NONE) {
                max_unknown = 1;
            } else if (!u.has_max) {
                u.has_max = 1;
                memcpy(u.max, cs->max, cs->max_len);
                u.max_len = cs->max_len;
            } else {
                es_colstat_scalar(&a, dom, u.max, u.max_len);
                es_colstat_scalar(&b, dom, cs->max, cs->max_len);
                if (es_scalar_cmp(dom, &b, &a) > 0) {
                    memcpy(u.max, cs->max, cs->max_len);
                    u.max_len = cs->max_len;
                }
            }
        }
        u.has_min &= !min_unknown;
        u.has_max &= !max_unknown;
        if (!in_all)
            continue;
        s->col_ids[nc] = id;
        if (col < t->n_cols) { /* the type the bounds are in */
            s->cols[nc].id = id;
            s->cols[nc].type = t->cols[col].type;
            memcpy(s->cols[nc].format, t->cols[col].format, sizeof(s->cols[nc].format));
            s->cols[nc].nullable = 1;
        } else if (p[0]->cols) { /* dropped: its bounds are unknown (dom NONE) */
            s->cols[nc] = p[0]->cols[c];
        }
        s->stats[nc++] = u;
    }
    s->n_cols = nc;
    for (int64_t k = 0; k < n; k++) {
        s->rows += p[k]->rows;
        s->data_bytes += p[k]->data_bytes;
    }
    return ES_OK;
}

/* Write a manifest (level 0: the parts p; 1: a list of the manifests c) of table t for
 * checkpoint `version`, put-if-absent under a fresh id. *out: the new manifest, its parts or
 * manifests listed (loaded). */
static es_status mf_write(es_mfref **out, const es_tabledef *t, es_part_meta **p, es_mfref **c,
                          int64_t n, int64_t version, es_objstore *os, es_error *err)
{
    es_mfref *f = NULL;
    act_list acts = {0};
    es_buf b = {0};
    char key[256];
    es_part_meta **sums = c ? es_calloc((size_t)n, sizeof(*sums)) : NULL;
    es_status st = es_mfref_new(&f);
    if (!st && c && !sums)
        st = ES_NOMEM;
    for (int64_t k = 0; c && !st && k < n; k++)
        sums[k] = c[k]->sum;
    if (!st)
        st = mf_summary(&f->sum, t, c ? sums : p, n);
    es_free(sums);
    if (!st && c)
        f->children = es_calloc((size_t)n, sizeof(*f->children));
    else if (!st)
        f->parts = es_calloc((size_t)n, sizeof(*f->parts));
    if (!st && !f->parts && !f->children)
        st = ES_NOMEM;
    if (!st)
        memcpy(f->table_id, t->id, sizeof(f->table_id));
    for (int64_t k = 0; k < n && !st; k++) {
        if (c) {
            f->level = 1;
            f->children[k] = es_mfref_ref(c[k]);
            f->n_children = k + 1;
            f->n_parts += c[k]->n_parts;
            f->live_rows += c[k]->live_rows;
            f->inline_rows += c[k]->inline_rows;
            f->inline_bytes += c[k]->inline_bytes;
            st = push_manifest(&acts, c[k]);
        } else {
            f->parts[k] = es_part_meta_ref(p[k]);
            f->n_parts = k + 1;
            f->live_rows += es_part_live_rows(p[k]);
            if (p[k]->inline_ipc) {
                f->inline_rows += es_part_live_rows(p[k]);
                f->inline_bytes += (int64_t)p[k]->inline_ipc->size;
            }
            st = push_part(&acts, t->id, p[k]);
        }
    }
    if (st) {
        es_mfref_unref(f);
        for (int64_t k = 0; k < acts.n; k++)
            es_action_reset(&acts.a[k]);
        es_free(acts.a);
        return es_error_set(err, ES_NOMEM, 0, "checkpoint: out of memory");
    }
    es_part_new_object_id(f->id);
    memcpy(f->sum->id, f->id, sizeof(f->id));
    es_entry e;
    memset(&e, 0, sizeof(e));
    e.version = version;
    e.checkpoint = ES_ENTRY_MANIFEST;
    es_part_new_id(e.txn);
    e.actions = acts.a;
    e.n_actions = acts.n;
    st = es_entry_encode(&b, &e, err);
    es_entry_reset(&e);
    if (!st) {
        f->bytes = (int64_t)b.len;
        f->crc = es_crc32c(0, b.data, b.len);
        es_manifest_key(key, sizeof(key), t->id, f->id);
        st = es_objstore_put(os, key, b.data, b.len, ES_PUT_IF_ABSENT, NULL, NULL, err);
    }
    es_buf_reset(&b);
    if (st) {
        es_mfref_unref(f);
        return st;
    }
    *out = f;
    return ES_OK;
}

static int cmp_ptr(const void *x, const void *y)
{
    uintptr_t a = (uintptr_t) * (void *const *)x, b = (uintptr_t) * (void *const *)y;
    return a < b ? -1 : a > b;
}

/* Is x in the sorted array p[0..n)? */
static int has_ptr(void *const *p, int64_t n, const void *x)
{
    return n > 0 && bsearch(&x, p, (size_t)n, sizeof(*p), cmp_ptr) != NULL;
}

/* Sort order of a pack: by the primary key's minimum (items without one last). */
typedef struct pk_sort {
    void *item;
    int has;
    es_domain dom;
    es_scalar min;
} pk_sort;

static int cmp_pk(const void *x, const void *y)
{
    const pk_sort *a = x, *b = y;
    if (a->has != b->has)
        return a->has ? -1 : 1;
    return a->has ? es_scalar_cmp(a->dom, &a->min, &b->min) : 0;
}

/* Sort items (parts, or manifests when lists) by the key minimum of their statistics. */
static es_status sort_by_key(const es_tabledef *t, void **items, int lists, int64_t n)
{
    if (t->pk < 0 || n < 2)
        return ES_OK;
    pk_sort *v = es_calloc((size_t)n, sizeof(*v));
    if (!v)
        return ES_NOMEM;
    es_domain dom = es_expr_domain(t->cols[t->pk].type.id);
    for (int64_t k = 0; k < n; k++) {
        const es_part_meta *m = lists ? ((es_mfref *)items[k])->sum : items[k];
        v[k].item = items[k];
        v[k].dom = dom;
        for (int64_t c = 0; c < m->n_cols; c++)
            if (m->col_ids[c] == t->cols[t->pk].id && m->stats[c].has_min) {
                v[k].has = 1;
                es_colstat_scalar(&v[k].min, dom, m->stats[c].min, m->stats[c].min_len);
            }
    }
    qsort(v, (size_t)n, sizeof(*v), cmp_pk);
    for (int64_t k = 0; k < n; k++)
        items[k] = v[k].item;
    es_free(v);
    return ES_OK;
}

/* Manifests t keeps (indices into t->mf), in ascending size. */
typedef struct kept {
    int64_t i, size;
} kept;

static int cmp_kept(const void *x, const void *y)
{
    const kept *a = x, *b = y;
    return a->size < b->size ? -1 : a->size > b->size;
}

/* What a checkpoint makes of one table (pack_table): the manifests and lists it names, the
 * parts it keeps loose, and the table's new list of manifests (t->mf). */
typedef struct pack {
    es_mfref **top; /* root lines: manifests (not in a list) and lists */
    int64_t n_top;
    es_part_meta **loose;
    int64_t n_loose;
    es_tabledef_mf *mf; /* the table's manifests after the checkpoint */
    int64_t n_mf;
} pack;

static es_status pack_name(pack *k, es_mfref *f, int loaded, int top)
{
    if (top)
        k->top[k->n_top++] = f;
    k->mf[k->n_mf].ref = es_mfref_ref(f);
    k->mf[k->n_mf++].loaded = loaded;
    return ES_OK;
}

/* The range of the primary key of part m as numbers (*lo, *hi), when t's key is numeric and m
 * has both bounds in the table's type; else 0. */
static int pk_numbers(double *lo, double *hi, const es_tabledef *t, const es_part_meta *m)
{
    if (t->pk < 0)
        return 0;
    es_domain dom = es_expr_domain(t->cols[t->pk].type.id);
    if (dom != ES_DOM_INT && dom != ES_DOM_UINT && dom != ES_DOM_DOUBLE)
        return 0;
    for (int64_t c = 0; c < m->n_cols; c++) {
        const es_colstat *cs = &m->stats[c];
        if (m->col_ids[c] != t->cols[t->pk].id || !cs->has_min || !cs->has_max ||
            (m->cols && m->cols[c].format[0] &&
             strcmp(m->cols[c].format, t->cols[t->pk].format) != 0))
            continue;
        es_scalar a, b;
        es_colstat_scalar(&a, dom, cs->min, cs->min_len);
        es_colstat_scalar(&b, dom, cs->max, cs->max_len);
        *lo = dom == ES_DOM_INT ? (double)a.i : dom == ES_DOM_UINT ? (double)a.u : a.d;
        *hi = dom == ES_DOM_INT ? (double)b.i : dom == ES_DOM_UINT ? (double)b.u : b.d;
        return *lo == *lo && *hi == *hi; /* not NaN */
    }
    return 0;
}

/* The end of the run of parts p[lo..n) (sorted by key) to pack together: up to n, or the first
 * gap between the keys of two parts wider than RUN_GAP times the mean gap of p[0..n), when
 * at least RUN_MIN parts lie on each side. The survivors of a manifest a delete changed and
 * the new parts of inserts at the end of the key space then go to separate manifests instead
 * of one whose key range spans both (which every point query between them would load). */
#define RUN_GAP 16
#define RUN_MIN 16
static int64_t run_end(const es_tabledef *t, es_part_meta **p, int64_t lo, int64_t n)
{
    double first = 0, last = 0, a = 0, b = 0, prev = 0;
    if (n - lo < 2 * RUN_MIN || !pk_numbers(&first, &a, t, p[0]) ||
        !pk_numbers(&b, &last, t, p[n - 1]) || last <= first)
        return n;
    double limit = RUN_GAP * (last - first) / (double)n;
    if (!pk_numbers(&a, &prev, t, p[lo]))
        return n;
    for (int64_t i = lo + 1; i < n - RUN_MIN + 1; i++) {
        if (!pk_numbers(&a, &b, t, p[i]))
            return n;
        if (i - lo >= RUN_MIN && a - prev > limit)
            return i;
        prev = b > prev ? b : prev;
    }
    return n;
}

/* Pack parts p[0..n) (more than ES_MANIFEST_LOOSE) into new manifests of t, named in k (at the
 * top, loaded); or keep them loose. Sorted by key, cut into runs at wide gaps (run_end), each
 * run into even manifests of at most ES_MANIFEST_PARTS parts. */
static es_status pack_parts(pack *k, es_tabledef *t, es_part_meta **p, int64_t n, int64_t version,
                            es_objstore *os, es_error *err)
{
    if (n <= ES_MANIFEST_LOOSE) {
        for (int64_t i = 0; i < n; i++)
            k->loose[k->n_loose++] = p[i];
        return ES_OK;
    }
    if (sort_by_key(t, (void **)p, 0, n))
        return es_error_set(err, ES_NOMEM, 0, "checkpoint: out of memory");
    es_status st = ES_OK;
    for (int64_t from = 0; from < n && !st;) {
        int64_t to = run_end(t, p, from, n), m = to - from;
        int64_t chunks = (m + ES_MANIFEST_PARTS - 1) / ES_MANIFEST_PARTS;
        for (int64_t c = 0, lo = 0; c < chunks && !st; c++) {
            int64_t hi = m * (c + 1) / chunks;
            es_mfref *f = NULL;
            st = mf_write(&f, t, p + from + lo, NULL, hi - lo, version, os, err);
            if (!st) {
                pack_name(k, f, 1, 1);
                es_mfref_unref(f);
            }
            lo = hi;
        }
        from = to;
    }
    return st;
}

/* The checkpoint's view of table t (see the file comment), two levels:
 *  1. parts: a manifest is kept when not loaded (no entry touched its parts) or when every
 *     part it lists is still the same object in t; the parts of no kept manifest, with those
 *     of up to MERGE_MAX small kept manifests outside lists, are packed into new manifests
 *     (or stay loose while at most ES_MANIFEST_LOOSE);
 *  2. manifests: a list is kept when not loaded or when every manifest it names is kept; when
 *     more than ES_MANIFEST_LIST_LOOSE manifests are outside kept lists, they are packed, with
 *     the manifests of up to MERGE_MAX small kept lists, into new lists.
 * Merged manifests and lists are loaded first (their parts or manifests join t), so t keeps
 * the same parts and totals; only their grouping changes. */
static es_status pack_table(pack *k, es_tabledef *t, int64_t version, es_objstore *os,
                            es_error *err)
{
    es_status st = ES_OK;
    int64_t n_mf0 = t->n_mf, n_kl = 0, n_ks = 0, n_pool = 0, n_in = 0, n_up = 0;
    es_part_meta **sorted = es_calloc((size_t)(t->n_parts + 1), sizeof(*sorted));
    kept *kl = es_calloc((size_t)(n_mf0 + 1), sizeof(*kl)); /* kept manifests (level 0) */
    kept *ks = es_calloc((size_t)(n_mf0 + 1), sizeof(*ks)); /* kept lists */
    char *state = es_calloc((size_t)(n_mf0 + 1), 1); /* 1 kept, 2 under a kept list, 4 merged */
    es_mfref **keptrefs = es_calloc((size_t)(n_mf0 + 1), sizeof(*keptrefs));
    es_part_meta **in = NULL, **pool = NULL;
    es_mfref **up = NULL;
    if (!sorted || !kl || !ks || !state || !keptrefs)
        goto nomem;
    if (t->n_parts > 0)
        memcpy(sorted, t->parts, (size_t)t->n_parts * sizeof(*sorted));
    qsort(sorted, (size_t)t->n_parts, sizeof(*sorted), cmp_ptr);
    int64_t n_keptrefs = 0;
    for (int64_t i = 0; i < n_mf0; i++) {
        const es_mfref *f = t->mf[i].ref;
        int same = 1;
        for (int64_t p = 0; f->level == 0 && t->mf[i].loaded && p < f->n_parts && same; p++)
            same = has_ptr((void *const *)sorted, t->n_parts, f->parts[p]);
        if (f->level == 0 && same) {
            state[i] = 1;
            keptrefs[n_keptrefs++] = t->mf[i].ref;
        }
    }
    qsort(keptrefs, (size_t)n_keptrefs, sizeof(*keptrefs), cmp_ptr);
    for (int64_t i = 0; i < n_mf0; i++) { /* lists */
        const es_mfref *f = t->mf[i].ref;
        int same = 1;
        for (int64_t c = 0; f->level == 1 && t->mf[i].loaded && c < f->n_children && same; c++)
            same = has_ptr((void *const *)keptrefs, n_keptrefs, f->children[c]);
        if (f->level == 1 && same) {
            state[i] = 1;
            ks[n_ks].i = i;
            ks[n_ks++].size = f->n_children;
        }
    }
    for (int64_t j = 0; j < n_ks; j++) { /* the manifests under kept loaded lists */
        const es_mfref *f = t->mf[ks[j].i].ref;
        for (int64_t c = 0; t->mf[ks[j].i].loaded && c < f->n_children; c++)
            for (int64_t i = 0; i < n_mf0; i++)
                if (t->mf[i].ref == f->children[c])
                    state[i] |= 2;
    }
    for (int64_t i = 0; i < n_mf0; i++)
        if (state[i] == 1 && t->mf[i].ref->level == 0) {
            kl[n_kl].i = i;
            kl[n_kl++].size = t->mf[i].ref->n_parts;
        }
    qsort(kl, (size_t)n_kl, sizeof(*kl), cmp_kept);
    qsort(ks, (size_t)n_ks, sizeof(*ks), cmp_kept);
    /* 1. Parts. Covered: those of kept loaded manifests. */
    int64_t covered = 0;
    for (int64_t i = 0; i < n_mf0; i++)
        if ((state[i] & 1) && t->mf[i].ref->level == 0 && t->mf[i].loaded)
            covered += t->mf[i].ref->n_parts;
    if (t->n_parts - covered > ES_MANIFEST_LOOSE)
        for (int64_t j = 0; j < n_kl && j < MERGE_MAX && kl[j].size < ES_MANIFEST_PARTS / 2; j++) {
            int64_t i = kl[j].i;
            state[i] |= 4;
            if (!t->mf[i].loaded) {
                st = mf_fetch(&t->mf[i].ref, 1, os, NULL, NULL, err);
                if (st)
                    goto done;
                if (mf_attach(t, i))
                    goto nomem;
            }
        }
    for (int64_t i = 0; i < n_mf0; i++)
        if (state[i] == 1 && t->mf[i].ref->level == 0 && t->mf[i].loaded)
            n_in += t->mf[i].ref->n_parts;
    for (int64_t i = 0; i < n_mf0; i++)
        if (state[i] == 3 && t->mf[i].loaded)
            n_in += t->mf[i].ref->n_parts;
    in = es_calloc((size_t)(n_in + 1), sizeof(*in));
    pool = es_calloc((size_t)(t->n_parts + 1), sizeof(*pool));
    k->loose = es_calloc((size_t)(ES_MANIFEST_LOOSE + 1), sizeof(*k->loose));
    /* Names: kept manifests and lists, new ones, the manifests of merged lists. */
    int64_t cap =
        2 * n_mf0 + 2 * (t->n_parts / ES_MANIFEST_PARTS + 2) + MERGE_MAX * ES_MANIFEST_PARTS + 8;
    k->top = es_calloc((size_t)cap, sizeof(*k->top));
    k->mf = es_calloc((size_t)cap, sizeof(*k->mf));
    up = es_calloc((size_t)(n_mf0 + t->n_parts / ES_MANIFEST_PARTS + 8), sizeof(*up));
    if (!in || !pool || !k->loose || !k->top || !k->mf || !up)
        goto nomem;
    n_in = 0;
    for (int64_t i = 0; i < n_mf0; i++)
        if ((state[i] & 5) == 1 && t->mf[i].ref->level == 0 && t->mf[i].loaded)
            for (int64_t p = 0; p < t->mf[i].ref->n_parts; p++)
                in[n_in++] = t->mf[i].ref->parts[p];
    qsort(in, (size_t)n_in, sizeof(*in), cmp_ptr);
    for (int64_t p = 0; p < t->n_parts; p++) /* in the table's order: addresses vary */
        if (!has_ptr((void *const *)in, n_in, t->parts[p]))
            pool[n_pool++] = t->parts[p];
    /* The kept manifests: under kept lists (named by them), or at the top (up). */
    for (int64_t i = 0; i < n_mf0; i++) {
        if ((state[i] & 5) != 1 || t->mf[i].ref->level != 0)
            continue;
        pack_name(k, t->mf[i].ref, t->mf[i].loaded, 0);
        if (!(state[i] & 2))
            up[n_up++] = t->mf[i].ref;
    }
    int64_t first_new = k->n_top;
    st = pack_parts(k, t, pool, n_pool, version, os, err);
    if (st)
        goto done;
    for (int64_t j = first_new; j < k->n_top; j++)
        up[n_up++] = k->top[j];
    k->n_top = first_new;
    /* 2. Manifests outside kept lists: into new lists when there are too many. */
    int64_t n_lists_merged = 0;
    if (n_up > ES_MANIFEST_LIST_LOOSE) {
        int64_t n_cap = n_up;
        for (int64_t j = 0; j < n_ks && j < MERGE_MAX && ks[j].size < ES_MANIFEST_PARTS / 2; j++) {
            int64_t i = ks[j].i;
            state[i] |= 4;
            n_lists_merged++;
            if (!t->mf[i].loaded) {
                st = mf_fetch(&t->mf[i].ref, 1, os, NULL, NULL, err);
                if (st)
                    goto done;
            }
            n_cap += t->mf[i].ref->n_children;
        }
        es_mfref **more = es_realloc(up, (size_t)(n_cap + 1) * sizeof(*up));
        if (!more)
            goto nomem;
        up = more;
        for (int64_t j = 0; j < n_lists_merged; j++) {
            const es_tabledef_mf *m = &t->mf[ks[j].i];
            for (int64_t c = 0; c < m->ref->n_children; c++) {
                es_mfref *f = m->ref->children[c];
                up[n_up++] = f;
                int64_t i = 0; /* named by the table already (under a loaded list)? */
                while (i < n_mf0 && t->mf[i].ref != f)
                    i++;
                if (i == n_mf0) /* under a list not loaded: untouched, not loaded */
                    pack_name(k, f, 0, 0);
            }
        }
        if (sort_by_key(t, (void **)up, 1, n_up))
            goto nomem;
        int64_t chunks = (n_up + ES_MANIFEST_PARTS - 1) / ES_MANIFEST_PARTS;
        for (int64_t c = 0, lo = 0; c < chunks && !st; c++) {
            int64_t hi = n_up * (c + 1) / chunks;
            es_mfref *f = NULL;
            st = mf_write(&f, t, NULL, up + lo, hi - lo, version, os, err);
            if (!st) {
                pack_name(k, f, 1, 1);
                es_mfref_unref(f);
            }
            lo = hi;
        }
        if (st)
            goto done;
    } else {
        for (int64_t j = 0; j < n_up; j++)
            k->top[k->n_top++] = up[j];
    }
    for (int64_t j = n_lists_merged; j < n_ks; j++)
        pack_name(k, t->mf[ks[j].i].ref, t->mf[ks[j].i].loaded, 1);
    /* t names the checkpoint's manifests from now on (same parts, same totals). */
    for (int64_t i = 0; i < t->n_mf; i++)
        es_mfref_unref(t->mf[i].ref);
    es_free(t->mf);
    t->mf = k->mf;
    t->n_mf = k->n_mf;
    k->mf = NULL;
    k->n_mf = 0;
    goto done;
nomem:
    st = es_error_set(err, ES_NOMEM, 0, "checkpoint: out of memory");
done:
    es_free(sorted);
    es_free(kl);
    es_free(ks);
    es_free(state);
    es_free(keptrefs);
    es_free(in);
    es_free(pool);
    es_free(up);
    return st;
}

/* The checkpoint actions of table t into l: its lists and manifests, then its loose parts. */
static es_status table_actions(act_list *l, es_tabledef *t, int64_t version, es_objstore *os,
                               es_error *err)
{
    if (t->n_mf == 0 && t->n_parts <= ES_MANIFEST_LOOSE) {
        for (int64_t p = 0; p < t->n_parts; p++)
            if (push_part(l, t->id, t->parts[p]))
                return es_error_set(err, ES_NOMEM, 0, "checkpoint: out of memory");
        return ES_OK;
    }
    pack k;
    memset(&k, 0, sizeof(k));
    es_status st = pack_table(&k, t, version, os, err);
    for (int64_t i = 0; i < k.n_top && !st; i++)
        if (push_manifest(l, k.top[i]))
            st = es_error_set(err, ES_NOMEM, 0, "checkpoint: out of memory");
    for (int64_t i = 0; i < k.n_loose && !st; i++)
        if (push_part(l, t->id, k.loose[i]))
            st = es_error_set(err, ES_NOMEM, 0, "checkpoint: out of memory");
    for (int64_t i = 0; i < k.n_mf; i++)
        es_mfref_unref(k.mf[i].ref);
    es_free(k.mf);
    es_free(k.top);
    es_free(k.loose);
    return st;
}

es_status es_manifest_checkpoint(es_entry *e, const es_snapshot *s, es_objstore *os, es_error *err)
{
    int64_t parts = 0, mfs = 0;
    for (int64_t i = 0; i < s->n_tables; i++) {
        parts += s->tables[i]->n_parts;
        mfs += s->tables[i]->n_mf;
    }
    if (mfs == 0 && parts <= ES_MANIFEST_LOOSE)
        return ES_OK; /* the flat checkpoint as it is: every reader reads it */
    act_list l = {0};
    es_status st = ES_OK;
    /* The actions in order, but each table's add_part and set_dv replaced by what pack_table
     * writes after its create_table (any other action is kept as it is). */
    for (int64_t k = 0; k < e->n_actions && !st; k++) {
        es_action *a = &e->actions[k];
        if (a->kind == ES_ACT_ADD_PART || a->kind == ES_ACT_SET_DV) {
            es_action_reset(a);
            continue;
        }
        es_action *c = act_push(&l);
        if (!c) {
            st = es_error_set(err, ES_NOMEM, 0, "checkpoint: out of memory");
            break;
        }
        *c = *a;
        memset(a, 0, sizeof(*a));
        if (c->kind != ES_ACT_CREATE_TABLE)
            continue;
        es_tabledef *t = es_snapshot_find_id(s, c->table_id);
        st = t ? table_actions(&l, t, s->version, os, err)
               : es_error_set(err, ES_INTERNAL, 0, "checkpoint: table %s lost", c->table_id);
    }
    for (int64_t k = 0; k < e->n_actions; k++)
        es_action_reset(&e->actions[k]);
    es_free(e->actions);
    e->actions = l.a;
    e->n_actions = l.n;
    return st;
}

/* ------------------------------------------------------------------ fsck */

static const char *key_of(char *key, size_t cap, const char *table_id, const char *part_id,
                          const char *ext)
{
    es_part_key(key, cap, table_id, part_id, ext);
    return key;
}

es_status es_log_objects(es_objstore *os, int64_t version, es_log_object_fn fn, void *ctx,
                         es_error *err)
{
    es_snapshot *s = NULL;
    es_status st = es_log_load(&s, NULL, os, version, err);
    if (!st)
        st = es_manifest_load_all(s, os, err);
    char key[256];
    for (int64_t i = 0; s && i < s->n_tables && !st; i++) {
        const es_tabledef *t = s->tables[i];
        for (int64_t m = 0; m < t->n_mf && !st; m++) {
            es_manifest_key(key, sizeof(key), t->id, t->mf[m].ref->id);
            st = fn(ctx, key, t->mf[m].ref->bytes);
        }
        for (int64_t p = 0; p < t->n_parts && !st; p++) {
            const es_part_meta *pm = t->parts[p];
            if (!pm->inline_ipc) /* an inline part's rows are in the log: no .data or .idx */
                st = fn(ctx, key_of(key, sizeof(key), t->id, pm->id, "data"), pm->data_bytes);
            if (!st && !pm->inline_ipc) {
                es_part_key(key, sizeof(key), t->id, pm->id, "idx");
                st = fn(ctx, key, pm->idx_bytes);
            }
            if (!st && pm->dv && !pm->dv->blob) {
                es_part_dv_key(key, sizeof(key), t->id, pm->id, pm->dv->id);
                st = fn(ctx, key, pm->dv->bytes);
            }
        }
        for (int64_t x = 0; x < t->n_indexes && !st; x++)
            for (int64_t c = 0; c < t->indexes[x]->n_cov && !st; c++) {
                es_index_object_key(key, sizeof(key), t->id, &t->indexes[x]->cov[c]);
                st = fn(ctx, key, t->indexes[x]->cov[c].bytes);
            }
    }
    es_snapshot_free(s);
    return st;
}
