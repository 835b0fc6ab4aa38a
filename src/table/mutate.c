/*
 * mutate: deletes, updates and upserts (table layer), on deletion vectors.
 *
 * A mutation reads the table at the latest version, finds the rows it changes with the scan
 * (es_scanner with positions: the same pruning and fetching as a query, plus a primary-key
 * set for es_delete_keys and es_upsert), and commits one log entry:
 *
 *   - per part with rows to delete: set_dv naming the part's new cumulative vector (the old
 *     one plus this mutation's positions), written first as a new immutable .delta object
 *     (or inlined in the action when its blob is at most ES_DV_INLINE_MAX bytes); or
 *     remove_part when no live row of the part would remain;
 *   - for an update or upsert, add_part for the new rows (the insert pipeline: sorted by the
 *     primary key, written before the commit).
 *
 * State of one mutation:
 *
 *   read table (version v) --> scan: (part, position) of each row --> write new parts
 *        --> per part: load its vector (base), union with ours, write .delta (or inline)
 *        --> commit at v+1 ------------------------------------------> [committed]
 *               | lost the race to entry w (es_log_commit_rebase: applied, es_log_check)
 *               v
 *            rebase: for each of our parts whose live vector is no longer our base:
 *              its vector now shares a position with ours -> [ES_CONFLICT: same row]
 *              else union with it, write a new .delta, base := it, commit at w+1
 *            upsert: a part added since we read holds one of our keys -> [ES_CONFLICT]
 *
 * Invariants:
 *  1. A set_dv always names the part's whole vector (cumulative), computed from the vector
 *     live at the version the entry is committed on: no acknowledged delete is ever lost, and
 *     the positions of one mutation are disjoint from its base (the scan skips deleted rows),
 *     so no row is counted as deleted twice.
 *  2. Two mutations that delete the same row cannot both commit: the later one finds the row
 *     in the winner's vector on rebase (first committer wins).
 *  3. .delta objects are written with put-if-absent under fresh random ids, before the entry
 *     that names them; a rebase writes a new object rather than changing one. Objects of
 *     failed or superseded attempts are unreferenced garbage, as for parts.
 *  4. A part's vector never holds all of its rows: such a part is removed instead.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "table/txn.h"
#include "table/unique.h"

/* ---------------------------------------------------------------- state */

/* One part whose deleted rows this mutation changes. */
typedef struct dv_change {
    int64_t act; /* its action in mutation.acts */
    char part_id[ES_ID_LEN + 1];
    es_dvref *base; /* the live vector the change was computed on (NULL: none); referenced */
    es_dv added;    /* the positions this mutation deletes (disjoint from base) */
    int all;        /* every live row (es_delete without predicate); `added` left empty */
} dv_change;

typedef struct mutation {
    es_store *s;
    es_tabledef *t;    /* the table as the mutation read it; referenced */
    es_tabledef *seen; /* upsert: the table as last checked for concurrent keys; referenced */
    dv_change *ch;
    int64_t n_ch;
    es_action *acts;
    int64_t n_acts, cap_acts;
    es_dv *acc;    /* per part of t: positions found by the scan */
    int64_t n_acc; /* parts acc covers (the scan lists more parts of t as it loads manifests) */
    /* upsert: the keys it writes (sorted, unique), checked against concurrent inserts */
    const es_scalar *keys;
    int64_t n_keys;
    /* update, upsert: the values it writes in the columns of unique indexes (ix of the keyset;
     * its keys are left to `keys`), looked up again on rebase */
    const es_keyset *uks;
} mutation;

static es_status mut_init(mutation *m, es_store *s, const char *table, es_error *err)
{
    memset(m, 0, sizeof(*m));
    m->s = s;
    if (!table)
        return es_error_set(err, ES_INVALID, 0, "table name is NULL");
    /* The parts of the manifests not loaded yet are listed by the scan that finds the rows,
     * only for the manifests whose key range its predicate or keys can match. */
    es_status st = es_store_table_write(&m->t, s, table, err);
    if (st)
        return st;
    m->seen = es_tabledef_ref(m->t);
    m->acc = es_calloc((size_t)(m->t->n_parts > 0 ? m->t->n_parts : 1), sizeof(es_dv));
    if (!m->acc)
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    m->n_acc = m->t->n_parts;
    return ES_OK;
}

/* Make m->acc cover every part m->t lists now. */
static es_status acc_fit(mutation *m, es_error *err)
{
    if (m->n_acc >= m->t->n_parts)
        return ES_OK;
    es_dv *acc = es_realloc(m->acc, (size_t)m->t->n_parts * sizeof(es_dv));
    if (!acc)
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    memset(&acc[m->n_acc], 0, (size_t)(m->t->n_parts - m->n_acc) * sizeof(es_dv));
    m->acc = acc;
    m->n_acc = m->t->n_parts;
    return ES_OK;
}

static void mut_reset(mutation *m)
{
    for (int64_t i = 0; i < m->n_ch; i++) {
        es_dvref_unref(m->ch[i].base);
        es_dv_reset(&m->ch[i].added);
    }
    es_free(m->ch);
    for (int64_t i = 0; i < m->n_acts; i++)
        es_action_reset(&m->acts[i]);
    es_free(m->acts);
    for (int64_t p = 0; m->acc && p < m->n_acc; p++)
        es_dv_reset(&m->acc[p]);
    es_free(m->acc);
    es_tabledef_unref(m->seen);
    es_tabledef_unref(m->t);
    memset(m, 0, sizeof(*m));
}

/* A new zeroed action slot for table t. */
static es_status add_action(mutation *m, int64_t *index, es_error *err)
{
    if (m->n_acts == m->cap_acts) {
        int64_t cap = m->cap_acts ? m->cap_acts * 2 : 8;
        es_action *a = es_realloc(m->acts, (size_t)cap * sizeof(*a));
        if (!a)
            return es_error_set(err, ES_NOMEM, 0, "out of memory");
        m->acts = a;
        m->cap_acts = cap;
    }
    es_action *a = &m->acts[m->n_acts];
    memset(a, 0, sizeof(*a));
    memcpy(a->table_id, m->t->id, sizeof(a->table_id));
    a->table_name = es_strdup(m->t->name);
    if (!a->table_name)
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    *index = m->n_acts++;
    return ES_OK;
}

/* ------------------------------------------------------- vectors, actions */

/* Fill change c's action from the part's current vector `cur` (m: the part's metadata now). */
static es_status make_action(mutation *m, dv_change *c, const es_part_meta *pm, const es_dv *cur,
                             es_error *err)
{
    es_action *a = &m->acts[c->act];
    es_dvref_unref(a->dv);
    a->dv = NULL;
    memcpy(a->part_id, c->part_id, sizeof(a->part_id));
    es_dv merged = {0};
    es_status st = ES_OK;
    if (!c->all)
        st = es_dv_union(&merged, cur, &c->added, err);
    if (st)
        return st;
    if (c->all || merged.n >= pm->rows) {
        a->kind = ES_ACT_REMOVE_PART; /* no live row left */
    } else {
        a->kind = ES_ACT_SET_DV;
        st = es_store_dv_write(&a->dv, m->s, m->t->id, c->part_id, &merged, err);
    }
    es_dv_reset(&merged);
    return st;
}

/* Turn the positions the scan found (m->acc) into one change and action per part. */
static es_status build_changes(mutation *m, int64_t *deleted, es_error *err)
{
    int64_t n = 0, total = 0;
    for (int64_t p = 0; p < m->n_acc; p++)
        n += m->acc[p].n > 0;
    m->ch = es_calloc((size_t)(n > 0 ? n : 1), sizeof(dv_change));
    if (!m->ch)
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    for (int64_t p = 0; p < m->n_acc; p++) {
        if (m->acc[p].n == 0)
            continue;
        const es_part_meta *pm = m->t->parts[p];
        dv_change *c = &m->ch[m->n_ch++];
        memcpy(c->part_id, pm->id, sizeof(c->part_id));
        c->base = es_dvref_ref(pm->dv);
        c->added = m->acc[p];
        memset(&m->acc[p], 0, sizeof(m->acc[p]));
        total += c->added.n;
        es_dv cur = {0};
        es_status st = add_action(m, &c->act, err);
        if (!st)
            st = es_store_part_dv(&cur, m->s, m->t, pm, NULL, NULL, err);
        if (!st)
            st = make_action(m, c, pm, &cur, err);
        es_dv_reset(&cur);
        if (st)
            return st;
    }
    if (deleted)
        *deleted = total;
    return ES_OK;
}

/* build_changes, then the actions of the parts an update or upsert wrote (moved in). */
static es_status build_actions(mutation *m, es_action *parts, int64_t n_parts, es_error *err)
{
    es_status st = build_changes(m, NULL, err);
    for (int64_t i = 0; i < n_parts && !st; i++) {
        int64_t k;
        st = add_action(m, &k, err);
        if (!st) {
            es_free(m->acts[k].table_name);
            m->acts[k] = parts[i];
            memset(&parts[i], 0, sizeof(parts[i]));
        }
    }
    return st;
}

/* --------------------------------------------------------------- rebase */

/* Do any of the table's parts added since m->seen hold one of the upsert's keys? */
static es_status check_new_keys(mutation *m, const es_tabledef *now, es_error *err)
{
    es_tabledef *fresh = NULL;
    es_status st = es_tabledef_copy(&fresh, now);
    if (st)
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    int64_t k = 0;
    for (int64_t p = 0; p < fresh->n_parts; p++) {
        if (es_tabledef_find_part(m->seen, fresh->parts[p]->id))
            es_part_meta_unref(fresh->parts[p]);
        else
            fresh->parts[k++] = fresh->parts[p];
    }
    fresh->n_parts = k;
    if (k > 0) {
        static const char *none[1] = {NULL};
        es_scan_options so = ES_SCAN_OPTIONS_INIT;
        so.columns = none;
        so.n_columns = 0;
        es_scan_ext ext = {fresh, 0, m->keys, m->n_keys, NULL};
        es_scanner *sc = NULL;
        st = es_scanner_open(&sc, m->s, NULL, &so, &ext, err);
        struct ArrowArray a = {0};
        if (!st)
            st = es_scanner_next(sc, &a, err);
        if (!st && a.release)
            st = es_error_set(err, ES_CONFLICT, 0,
                              "table '%s': a concurrent commit inserted rows with keys this upsert "
                              "or update writes",
                              m->t->name);
        es_array_release(&a);
        es_scanner_close(sc);
    }
    es_tabledef_unref(fresh);
    if (!st) {
        es_tabledef_unref(m->seen);
        m->seen = es_tabledef_ref((es_tabledef *)now);
    }
    return st;
}

/* es_log_rebase_fn: the entries committed since we read have been applied to snap. */
static es_status rebase(void *ctx, const es_snapshot *snap, const es_entry *theirs, es_action *acts,
                        int64_t n, es_error *err)
{
    mutation *m = ctx;
    (void)theirs;
    (void)acts;
    (void)n;
    const es_tabledef *t = es_snapshot_find_id(snap, m->t->id);
    if (!t) /* es_log_check has seen to it; be safe */
        return es_error_set(err, ES_CONFLICT, 0, "table '%s' was dropped concurrently", m->t->name);
    for (int64_t i = 0; i < m->n_ch; i++) {
        dv_change *c = &m->ch[i];
        const es_part_meta *pm = es_tabledef_find_part(t, c->part_id);
        if (!pm)
            return es_error_set(err, ES_CONFLICT, 0, "table '%s': part %s was removed concurrently",
                                t->name, c->part_id);
        if (es_dvref_same(pm->dv, c->base))
            continue;
        if (c->all)
            return es_error_set(err, ES_CONFLICT, 0,
                                "table '%s': rows of part %s were deleted or updated by a "
                                "concurrent commit",
                                t->name, c->part_id);
        es_dv cur = {0};
        es_status st = es_store_part_dv(&cur, m->s, t, pm, NULL, NULL, err);
        if (st)
            return st;
        uint64_t row; /* a common position is the same row deleted twice */
        if (es_dv_first_common(&cur, &c->added, &row)) {
            es_dv_reset(&cur);
            return es_error_set(err, ES_CONFLICT, 0,
                                "table '%s': row %lld of part %s was deleted or updated by a "
                                "concurrent commit",
                                t->name, (long long)row, c->part_id);
        }
        st = make_action(m, c, pm, &cur, err);
        es_dv_reset(&cur);
        if (st)
            return st;
        es_dvref_unref(c->base);
        c->base = es_dvref_ref(pm->dv);
    }
    if (m->uks) {
        /* Unique values: in the parts added since, and a unique index created meanwhile. */
        if (es_unique_index_added(t, m->uks))
            return es_error_set(err, ES_CONFLICT, 0,
                                "table '%s': a unique index was created concurrently", t->name);
        es_keyset values = *m->uks;
        values.n = 0;
        es_status st = es_unique_check(m->s, t, m->seen, &values, NULL, "update of", 1, err);
        if (st)
            return st;
    }
    if (m->keys)
        return check_new_keys(m, t, err);
    es_tabledef_unref(m->seen);
    m->seen = es_tabledef_ref((es_tabledef *)t);
    return ES_OK;
}

static es_status mut_commit(mutation *m, es_error *err)
{
    if (m->n_acts == 0)
        return ES_OK;
    /* In a transaction the actions join its view, and its commit rebases them (txn.c): an
     * upsert's keys go with them. Autocommit: the handle's snapshot is still the one m->t was
     * read from. */
    if (m->s->txn && m->keys) {
        es_status st = es_txn_note_keys(m->s->txn, m->t, m->keys, m->n_keys, err);
        if (st)
            return st;
    }
    if (m->s->txn && m->uks) {
        es_keyset values = *m->uks;
        values.n = 0;
        es_status st = es_unique_note_txn(m->s->txn, m->t, &values, err);
        if (st)
            return st;
    }
    return es_store_commit(m->s, m->acts, m->n_acts, rebase, m, NULL, err);
}

/* ---------------------------------------------------------------- finding */

typedef es_status (*batch_fn)(void *ctx, mutation *m, const struct ArrowSchema *schema,
                              const struct ArrowArray *batch, es_error *err);

/* Scan m->t for the rows matching `predicate` (and `keys`), projecting `columns` (NULL: all;
 * n_columns 0 with a non-NULL array: none), adding each row's position to m->acc and handing
 * each batch (with "_part" and "_pos" last) to fn when it is not NULL. */
static es_status find_rows(mutation *m, const es_expr *predicate, const char **columns,
                           int64_t n_columns, const es_scalar *keys, int64_t n_keys, batch_fn fn,
                           void *ctx, es_error *err)
{
    es_scan_options so = ES_SCAN_OPTIONS_INIT;
    so.columns = columns;
    so.n_columns = n_columns;
    so.predicate = predicate;
    es_scan_ext ext = {m->t, 1, keys, n_keys, NULL};
    es_scanner *sc = NULL;
    es_status st = es_scanner_open(&sc, m->s, NULL, &so, &ext, err);
    if (st)
        return st;
    const struct ArrowSchema *schema = es_scanner_schema(sc);
    int64_t pc = schema->n_children - 2;
    uint64_t *pos = NULL;
    int64_t cap = 0;
    for (;;) {
        struct ArrowArray a = {0};
        st = es_scanner_next(sc, &a, err);
        if (st || !a.release)
            break;
        es_array_view v;
        st = es_array_view_init(&v, schema, &a, err);
        if (st) {
            es_array_release(&a);
            break;
        }
        if (a.length > cap) {
            uint64_t *p = es_realloc(pos, (size_t)a.length * sizeof(uint64_t));
            if (!p)
                st = es_error_set(err, ES_NOMEM, 0, "out of memory");
            else
                pos = p, cap = a.length;
        }
        int64_t part = a.length > 0 ? es_view_get_int(&v.children[pc], 0) : 0;
        for (int64_t i = 0; i < a.length && !st; i++) {
            pos[i] = (uint64_t)es_view_get_int(&v.children[pc + 1], i);
            if (es_view_get_int(&v.children[pc], i) != part || part < 0 || part >= m->t->n_parts)
                st = es_error_set(err, ES_INTERNAL, 0, "scan: rows of several parts in a batch");
        }
        if (!st)
            st = acc_fit(m, err);
        if (!st)
            st = es_dv_add(&m->acc[part], pos, a.length, err);
        if (!st && fn)
            st = fn(ctx, m, schema, &a, err);
        es_array_view_reset(&v);
        es_array_release(&a);
        if (st)
            break;
    }
    es_free(pos);
    es_scanner_close(sc);
    return st ? st : acc_fit(m, err);
}

/* ----------------------------------------------------------------- delete */

/* An autocommit delete or update whose parts a compaction replaced after it read (no row
 * changed: ES_LOG_SYS_COMPACTED) runs again on the new parts (compact.c, invariant 3). */
static int moved(const es_store *s, es_status st, const es_error *err, int attempt)
{
    return st == ES_CONFLICT && !s->txn && err && err->sys_code == ES_LOG_SYS_COMPACTED &&
           attempt < 16;
}

static es_status delete_once(es_store *s, const char *table, const es_expr *predicate,
                             int64_t *deleted, es_error *err);

es_status es_delete_impl(es_store *s, const char *table, const es_expr *predicate, int64_t *deleted,
                         es_error *err)
{
    es_status st;
    for (int attempt = 0;; attempt++) {
        st = delete_once(s, table, predicate, deleted, err);
        if (!moved(s, st, err, attempt))
            return st;
    }
}

static es_status delete_once(es_store *s, const char *table, const es_expr *predicate,
                             int64_t *deleted, es_error *err)
{
    mutation m;
    int64_t total = 0;
    es_status st = mut_init(&m, s, table, err);
    if (!st && !predicate) /* every part: list the parts of every manifest */
        st = es_manifest_load(m.t, s->os, NULL, NULL, NULL, NULL, err);
    if (!st && !predicate)
        st = acc_fit(&m, err);
    if (!st && !predicate) {
        /* Every row: remove every part, without reading any. */
        m.ch = es_calloc((size_t)(m.t->n_parts > 0 ? m.t->n_parts : 1), sizeof(dv_change));
        if (!m.ch)
            st = es_error_set(err, ES_NOMEM, 0, "out of memory");
        for (int64_t p = 0; !st && p < m.t->n_parts; p++) {
            const es_part_meta *pm = m.t->parts[p];
            dv_change *c = &m.ch[m.n_ch++];
            memcpy(c->part_id, pm->id, sizeof(c->part_id));
            c->base = es_dvref_ref(pm->dv);
            c->all = 1;
            total += es_part_live_rows(pm);
            st = add_action(&m, &c->act, err);
            if (!st) {
                m.acts[c->act].kind = ES_ACT_REMOVE_PART;
                memcpy(m.acts[c->act].part_id, pm->id, sizeof(pm->id));
            }
        }
    } else if (!st) {
        static const char *none[1] = {NULL};
        st = find_rows(&m, predicate, none, 0, NULL, 0, NULL, NULL, err);
        if (!st)
            st = build_changes(&m, &total, err);
    }
    if (!st)
        st = mut_commit(&m, err);
    if (!st && deleted)
        *deleted = total;
    mut_reset(&m);
    return st;
}

/* -------------------------------------------------------------- key sets */

typedef struct key_row {
    es_scalar k;
    es_domain dom;
    int64_t batch, row;
} key_row;

static int cmp_key_rows(const void *pa, const void *pb)
{
    const key_row *a = pa, *b = pb;
    int c = es_scalar_cmp(a->dom, &a->k, &b->k);
    if (c)
        return c;
    if (a->batch != b->batch)
        return a->batch < b->batch ? -1 : 1;
    return a->row < b->row ? -1 : a->row > b->row;
}

/* The non-null (and non-NaN) keys of column `col` of the views, sorted by key then input
 * order, into *out (es_free). Rows with a NULL or NaN key are counted in *n_free. */
static es_status key_rows(key_row **out, int64_t *n_out, int64_t *n_free, const es_array_view *bv,
                          int64_t n, int64_t col, es_domain dom, es_error *err)
{
    int64_t total = 0, k = 0;
    *out = NULL;
    *n_out = *n_free = 0;
    for (int64_t b = 0; b < n; b++)
        total += bv[b].length;
    key_row *r = es_malloc((size_t)(total > 0 ? total : 1) * sizeof(key_row));
    if (!r)
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    for (int64_t b = 0; b < n; b++) {
        const es_array_view *v = &bv[b].children[col];
        for (int64_t i = 0; i < v->length; i++) {
            if (es_view_is_null(v, i)) {
                (*n_free)++;
                continue;
            }
            memset(&r[k], 0, sizeof(r[k]));
            es_scalar_from_view(&r[k].k, dom, v, i);
            if (dom == ES_DOM_DOUBLE && isnan(r[k].k.d)) {
                (*n_free)++;
                continue;
            }
            r[k].dom = dom;
            r[k].batch = b;
            r[k].row = i;
            k++;
        }
    }
    qsort(r, (size_t)k, sizeof(key_row), cmp_key_rows);
    *out = r;
    *n_out = k;
    return ES_OK;
}

/* The distinct keys of sorted key rows (pointers into the same input). *group_end[j]: one past
 * the last row of key j. */
static es_status unique_keys(es_scalar **keys, int64_t **group_end, int64_t *n_keys,
                             const key_row *r, int64_t n, es_error *err)
{
    *keys = es_malloc((size_t)(n > 0 ? n : 1) * sizeof(es_scalar));
    if (group_end)
        *group_end = es_malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
    *n_keys = 0;
    if (!*keys || (group_end && !*group_end))
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    for (int64_t i = 0; i < n; i++) {
        if (*n_keys == 0 || es_scalar_cmp(r[i].dom, &(*keys)[*n_keys - 1], &r[i].k) != 0)
            (*keys)[(*n_keys)++] = r[i].k;
        if (group_end)
            (*group_end)[*n_keys - 1] = i + 1;
    }
    return ES_OK;
}

static es_status check_key_type(const es_tabledef *t, const struct ArrowSchema *c, const char *what,
                                es_error *err)
{
    if (!c || !c->format || strcmp(c->format, t->cols[t->pk].format) != 0)
        return es_error_set(err, ES_INVALID, 0, "%s '%s': the key column is %s, not %s", what,
                            t->name, c && c->format ? c->format : "?", t->cols[t->pk].format);
    return ES_OK;
}

es_status es_delete_keys_impl(es_store *s, const char *table, const struct ArrowSchema *schema,
                              struct ArrowArray *batches, int64_t n, int64_t *deleted,
                              es_error *err)
{
    mutation m;
    es_array_view *bv = es_calloc((size_t)(n > 0 ? n : 1), sizeof(es_array_view));
    int64_t n_views = 0, n_rows = 0, n_free = 0, n_keys = 0, total = 0;
    key_row *rows = NULL;
    es_scalar *keys = NULL;
    es_status st = mut_init(&m, s, table, err);
    if (!st && !bv)
        st = es_error_set(err, ES_NOMEM, 0, "out of memory");
    if (!st && m.t->pk < 0)
        st = es_error_set(err, ES_INVALID, 0, "delete from '%s': the table has no primary key",
                          m.t->name);
    if (!st && (!schema || !schema->format || strcmp(schema->format, "+s") != 0 ||
                schema->n_children != 1))
        st = es_error_set(err, ES_INVALID, 0,
                          "delete from '%s': keys must be a struct of exactly one column",
                          m.t->name);
    if (!st)
        st = check_key_type(m.t, schema->children[0], "delete from", err);
    for (int64_t b = 0; b < n && !st; b++) {
        st = es_array_view_init(&bv[b], schema, &batches[b], err);
        if (!st)
            n_views = b + 1;
    }
    if (!st)
        st = key_rows(&rows, &n_rows, &n_free, bv, n_views, 0,
                      es_expr_domain(m.t->cols[m.t->pk].type.id), err);
    if (!st)
        st = unique_keys(&keys, NULL, &n_keys, rows, n_rows, err);
    for (int attempt = 0; !st && n_keys > 0; attempt++) {
        static const char *none[1] = {NULL};
        st = find_rows(&m, NULL, none, 0, keys, n_keys, NULL, NULL, err);
        if (!st)
            st = build_changes(&m, &total, err);
        if (!st)
            st = mut_commit(&m, err);
        if (!moved(s, st, err, attempt))
            break;
        mut_reset(&m); /* a compaction replaced the parts: find the keys again */
        st = mut_init(&m, s, table, err);
    }
    if (!st && deleted)
        *deleted = total;
    es_free(keys);
    es_free(rows);
    for (int64_t b = 0; b < n_views; b++)
        es_array_view_reset(&bv[b]);
    es_free(bv);
    for (int64_t b = 0; b < n; b++)
        es_array_release(&batches[b]);
    mut_reset(&m);
    return st;
}

/* ----------------------------------------------------------------- update */

typedef struct update_ctx {
    es_update_fn fn;
    void *fn_ctx;
    struct ArrowSchema schema; /* the table's, logical names */
    int64_t *src;              /* per table column: its index in the scan's batches, or -1 */
    struct ArrowSchema unread; /* the columns not read (NULLs for fn), when some are not */
    struct ArrowArray **kids;  /* the n_cols children handed to fn */
    struct ArrowArray *out;    /* new rows, one batch per callback */
    int64_t n_out, cap_out;
    int64_t rows;
    int key_changed; /* some new row's primary key differs from its old row's */
} update_ctx;

/* Does row i of a's key column differ from row i of b's (both views of the table's key)? */
static int key_differs(es_domain dom, const es_array_view *a, const es_array_view *b, int64_t i)
{
    int na = es_view_is_null(a, i), nb = es_view_is_null(b, i);
    if (na || nb)
        return na != nb;
    es_scalar x, y;
    es_scalar_from_view(&x, dom, a, i);
    es_scalar_from_view(&y, dom, b, i);
    return es_scalar_cmp(dom, &x, &y) != 0;
}

static void release_borrowed(struct ArrowArray *a)
{
    a->release = NULL;
}

static es_status update_batch(void *ctx, mutation *m, const struct ArrowSchema *schema,
                              const struct ArrowArray *batch, es_error *err)
{
    update_ctx *u = ctx;
    (void)schema;
    if (u->n_out == u->cap_out) {
        int64_t cap = u->cap_out ? u->cap_out * 2 : 16;
        struct ArrowArray *p = es_realloc(u->out, (size_t)cap * sizeof(*p));
        if (!p)
            return es_error_set(err, ES_NOMEM, 0, "out of memory");
        u->out = p;
        u->cap_out = cap;
    }
    /* The rows without the trailing _part and _pos columns, borrowed; columns not read are
     * all-NULL arrays. */
    struct ArrowArray in = *batch, nulls = {0};
    in.n_children = m->t->n_cols;
    in.release = release_borrowed;
    in.private_data = NULL;
    if (u->src) {
        es_builder *nb = NULL;
        es_status st = es_builder_new(&nb, &u->unread, err);
        for (int64_t k = 0; k < u->unread.n_children && !st; k++)
            st = es_builder_append_null(es_builder_child(nb, k), batch->length);
        for (int64_t r = 0; r < batch->length && !st; r++)
            st = es_builder_append_struct(nb);
        if (!st)
            st = es_builder_finish(nb, &nulls, err);
        es_builder_free(nb);
        if (st)
            return st;
        for (int64_t c = 0, k = 0; c < m->t->n_cols; c++)
            u->kids[c] = u->src[c] >= 0 ? batch->children[u->src[c]] : nulls.children[k++];
        in.children = u->kids;
    }
    struct ArrowArray *out = &u->out[u->n_out];
    memset(out, 0, sizeof(*out));
    es_error cerr;
    memset(&cerr, 0, sizeof(cerr));
    es_status st = u->fn(u->fn_ctx, &u->schema, &in, out, &cerr);
    es_array_release(&nulls);
    if (st) {
        es_array_release(out);
        if (err) {
            *err = cerr;
            if (!err->msg[0])
                es_error_set(err, st, 0, "update of '%s': the new-values callback failed (%s)",
                             m->t->name, es_status_name(st));
        }
        return st;
    }
    if (!out->release || out->length != batch->length || out->n_children != m->t->n_cols) {
        es_array_release(out);
        return es_error_set(err, ES_INVALID, 0,
                            "update of '%s': the callback returned %lld rows of %lld columns for "
                            "%lld rows of %lld columns",
                            m->t->name, (long long)(out->release ? out->length : -1),
                            (long long)(out->release ? out->n_children : -1),
                            (long long)batch->length, (long long)m->t->n_cols);
    }
    u->n_out++;
    u->rows += batch->length;
    if (m->t->pk >= 0 && !u->key_changed) {
        es_array_view vi, vo;
        st = es_array_view_init(&vi, schema, batch, err);
        if (!st) {
            st = es_array_view_init(&vo, &u->schema, out, err);
            es_domain dom = es_expr_domain(m->t->cols[m->t->pk].type.id);
            for (int64_t i = 0; !st && i < batch->length && !u->key_changed; i++)
                u->key_changed =
                    key_differs(dom, &vi.children[m->t->pk], &vo.children[m->t->pk], i);
            if (!st)
                es_array_view_reset(&vo);
            es_array_view_reset(&vi);
        }
    }
    return st;
}

/* The columns an update reads: u->src per table column, and u->unread's schema for the others
 * (none: u->src stays NULL). */
static es_status update_columns(update_ctx *u, const es_tabledef *t, const char **columns,
                                int64_t n_columns, es_error *err)
{
    if (!columns)
        return ES_OK;
    u->src = es_calloc((size_t)(t->n_cols > 0 ? t->n_cols : 1), sizeof(int64_t));
    u->kids = es_calloc((size_t)(t->n_cols > 0 ? t->n_cols : 1), sizeof(struct ArrowArray *));
    if (!u->src || !u->kids)
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    int64_t n_unread = 0;
    for (int64_t c = 0; c < t->n_cols; c++) {
        u->src[c] = -1;
        for (int64_t k = 0; k < n_columns && u->src[c] < 0; k++)
            if (columns[k] && strcmp(columns[k], t->cols[c].name) == 0)
                u->src[c] = k;
        n_unread += u->src[c] < 0;
    }
    for (int64_t k = 0; k < n_columns; k++) {
        int64_t c = 0;
        while (c < t->n_cols && !(columns[k] && strcmp(columns[k], t->cols[c].name) == 0))
            c++;
        if (c == t->n_cols || u->src[c] != k)
            return es_error_set(err, c == t->n_cols ? ES_NOT_FOUND : ES_INVALID, 0,
                                "update of '%s': %s column '%s'", t->name,
                                c == t->n_cols ? "no" : "twice the", columns[k] ? columns[k] : "");
    }
    es_status st = es_schema_init_struct(&u->unread, n_unread, err);
    for (int64_t c = 0, k = 0; c < t->n_cols && !st; c++)
        if (u->src[c] < 0)
            st = es_schema_init(u->unread.children[k++], t->cols[c].format, t->cols[c].name,
                                ARROW_FLAG_NULLABLE, err);
    return st;
}

static es_status update_once(es_store *s, const char *table, const es_expr *predicate,
                             const char **columns, int64_t n_columns, es_update_fn fn, void *ctx,
                             int64_t *updated, es_error *err);

es_status es_update_impl(es_store *s, const char *table, const es_expr *predicate,
                         const char **columns, int64_t n_columns, es_update_fn fn, void *ctx,
                         int64_t *updated, es_error *err)
{
    es_status st;
    for (int attempt = 0;; attempt++) {
        st = update_once(s, table, predicate, columns, n_columns, fn, ctx, updated, err);
        if (!moved(s, st, err, attempt))
            return st;
    }
}

static es_status update_once(es_store *s, const char *table, const es_expr *predicate,
                             const char **columns, int64_t n_columns, es_update_fn fn, void *ctx,
                             int64_t *updated, es_error *err)
{
    mutation m;
    update_ctx u;
    memset(&u, 0, sizeof(u));
    u.fn = fn;
    u.fn_ctx = ctx;
    es_action *parts = NULL;
    int64_t n_parts = 0;
    es_keyset ks;
    es_scalar *keys = NULL;
    memset(&ks, 0, sizeof(ks));
    es_status st = mut_init(&m, s, table, err);
    if (!st && !fn)
        st = es_error_set(err, ES_INVALID, 0, "update of '%s': no new-values callback", table);
    if (!st) {
        es_tabledef *t = m.t;
        st = es_schema_init_struct(&u.schema, t->n_cols, err);
        for (int64_t c = 0; c < t->n_cols && !st; c++)
            st = es_schema_init(u.schema.children[c], t->cols[c].format, t->cols[c].name,
                                t->cols[c].nullable ? ARROW_FLAG_NULLABLE : 0, err);
    }
    if (!st)
        st = update_columns(&u, m.t, columns, n_columns, err);
    if (!st)
        st = find_rows(&m, predicate, columns, n_columns, NULL, 0, update_batch, &u, err);
    if (!st && u.n_out > 0) {
        /* The new rows first (the batches move into the insert pipeline), then the vectors. */
        int64_t n_out = u.n_out;
        u.n_out = 0;
        int uix = es_unique_has_index(m.t);
        st = es_table_write_parts_keys(&parts, &n_parts, s, m.t, &u.schema, u.out, n_out,
                                       u.key_changed || uix ? &ks : NULL, "update of", err);
        if (!u.key_changed)
            ks.n = 0; /* the keys stay: only the values of unique indexes are checked */
        m.uks = &ks;
        /* New keys: unique among the live rows but the ones replaced; again on rebase. */
        if (!st && es_keyset_any(&ks))
            st = es_unique_check(s, m.t, NULL, &ks, m.acc, "update of", 0, err);
        if (!st && ks.n > 0) {
            st = es_keyset_scalars(&keys, &ks, err);
            m.keys = keys;
            m.n_keys = ks.n;
        }
        if (!st)
            st = build_actions(&m, parts, n_parts, err);
        if (!st)
            st = mut_commit(&m, err);
    }
    if (!st && updated)
        *updated = u.rows;
    for (int64_t i = 0; i < n_parts; i++)
        es_action_reset(&parts[i]);
    es_free(parts);
    for (int64_t i = 0; i < u.n_out; i++)
        es_array_release(&u.out[i]);
    es_free(u.out);
    es_schema_release(&u.schema);
    es_schema_release(&u.unread);
    es_free(u.src);
    es_free(u.kids);
    mut_reset(&m);
    es_free(keys);
    es_keyset_reset(&ks);
    return st;
}

/* ----------------------------------------------------------------- upsert */

typedef struct upsert_ctx {
    const es_scalar *keys;
    int64_t n_keys;
    es_domain dom;
    uint8_t *found; /* per key */
} upsert_ctx;

/* Mark the keys of the existing rows found (column 0 of the batch is the key). */
static es_status upsert_batch(void *ctx, mutation *m, const struct ArrowSchema *schema,
                              const struct ArrowArray *batch, es_error *err)
{
    upsert_ctx *u = ctx;
    (void)m;
    es_array_view v;
    es_status st = es_array_view_init(&v, schema, batch, err);
    if (st)
        return st;
    for (int64_t i = 0; i < v.length; i++) {
        es_scalar k;
        memset(&k, 0, sizeof(k));
        es_scalar_from_view(&k, u->dom, &v.children[0], i);
        int64_t lo = 0, hi = u->n_keys;
        while (lo < hi) {
            int64_t mid = lo + (hi - lo) / 2;
            if (es_scalar_cmp(u->dom, &u->keys[mid], &k) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < u->n_keys && es_scalar_cmp(u->dom, &u->keys[lo], &k) == 0)
            u->found[lo] = 1;
    }
    es_array_view_reset(&v);
    return ES_OK;
}

typedef struct pick {
    int64_t batch, row;
} pick;

static int cmp_picks(const void *pa, const void *pb)
{
    const pick *a = pa, *b = pb;
    if (a->batch != b->batch)
        return a->batch < b->batch ? -1 : 1;
    return a->row < b->row ? -1 : a->row > b->row;
}

es_status es_upsert_impl(es_store *s, const char *table, const struct ArrowSchema *schema,
                         struct ArrowArray *batches, int64_t n, es_upsert_mode mode,
                         int64_t *inserted, int64_t *updated, es_error *err)
{
    mutation m;
    es_keyset uks;
    memset(&uks, 0, sizeof(uks));
    es_array_view *bv = es_calloc((size_t)(n > 0 ? n : 1), sizeof(es_array_view));
    int64_t n_views = 0, n_rows = 0, n_free = 0, n_keys = 0, n_picks = 0, kc = -1;
    int64_t n_ins = 0, n_upd = 0, n_parts = 0;
    key_row *rows = NULL;
    es_scalar *keys = NULL;
    int64_t *group_end = NULL;
    pick *picks = NULL;
    es_builder *bld = NULL;
    es_action *parts = NULL;
    upsert_ctx u;
    memset(&u, 0, sizeof(u));
    es_status st = mut_init(&m, s, table, err);
    if (!st && !bv)
        st = es_error_set(err, ES_NOMEM, 0, "out of memory");
    if (!st && mode != ES_UPSERT_REPLACE && mode != ES_UPSERT_DO_NOTHING)
        st = es_error_set(err, ES_INVALID, 0, "upsert into '%s': unknown mode %d", m.t->name,
                          (int)mode);
    if (!st && m.t->pk < 0)
        st = es_error_set(err, ES_INVALID, 0, "upsert into '%s': the table has no primary key",
                          m.t->name);
    if (!st && (!schema || !schema->format || strcmp(schema->format, "+s") != 0))
        st = es_error_set(err, ES_INVALID, 0, "upsert into '%s': schema must be a struct",
                          m.t->name);
    for (int64_t k = 0; !st && k < schema->n_children; k++)
        if (schema->children[k]->name &&
            strcmp(schema->children[k]->name, m.t->cols[m.t->pk].name) == 0)
            kc = k;
    if (!st && kc < 0)
        st = es_error_set(err, ES_INVALID, 0, "upsert into '%s': no key column '%s'", m.t->name,
                          m.t->cols[m.t->pk].name);
    if (!st)
        st = check_key_type(m.t, schema->children[kc], "upsert into", err);
    for (int64_t b = 0; b < n && !st; b++) {
        st = es_array_view_init(&bv[b], schema, &batches[b], err);
        if (!st)
            n_views = b + 1;
    }
    if (!st)
        u.dom = es_expr_domain(m.t->cols[m.t->pk].type.id);
    if (!st)
        st = key_rows(&rows, &n_rows, &n_free, bv, n_views, kc, u.dom, err);
    if (!st)
        st = unique_keys(&keys, &group_end, &n_keys, rows, n_rows, err);
    if (!st) {
        u.keys = keys;
        u.n_keys = n_keys;
        u.found = es_calloc((size_t)(n_keys > 0 ? n_keys : 1), 1);
        picks = es_malloc((size_t)(n_keys + n_free > 0 ? n_keys + n_free : 1) * sizeof(pick));
        if (!u.found || !picks)
            st = es_error_set(err, ES_NOMEM, 0, "out of memory");
    }
    if (!st && n_keys > 0) {
        const char *cols[1] = {m.t->cols[m.t->pk].name};
        st = find_rows(&m, NULL, cols, 1, keys, n_keys, upsert_batch, &u, err);
    }
    if (!st) {
        /* One row per key: the last under REPLACE, the first under DO NOTHING (and none when
         * the key exists); every row with a NULL or NaN key. */
        for (int64_t j = 0; j < n_keys; j++) {
            int64_t g0 = j ? group_end[j - 1] : 0, g1 = group_end[j];
            if (u.found[j])
                n_upd += mode == ES_UPSERT_REPLACE;
            else
                n_ins++;
            if (mode == ES_UPSERT_REPLACE)
                picks[n_picks++] = (pick){rows[g1 - 1].batch, rows[g1 - 1].row};
            else if (!u.found[j])
                picks[n_picks++] = (pick){rows[g0].batch, rows[g0].row};
        }
        for (int64_t b = 0; b < n_views; b++) {
            const es_array_view *v = &bv[b].children[kc];
            for (int64_t i = 0; i < v->length; i++) {
                int is_free = es_view_is_null(v, i);
                if (!is_free && u.dom == ES_DOM_DOUBLE)
                    is_free = isnan(es_view_get_double(v, i));
                if (is_free) {
                    picks[n_picks++] = (pick){b, i};
                    n_ins++;
                }
            }
        }
        qsort(picks, (size_t)n_picks, sizeof(pick), cmp_picks);
        if (mode == ES_UPSERT_DO_NOTHING) /* existing rows stay */
            for (int64_t p = 0; p < m.n_acc; p++)
                es_dv_reset(&m.acc[p]);
    }
    if (!st && n_picks > 0) {
        /* The rows to insert, in input order, as one batch of the input's schema. */
        struct ArrowArray batch = {0};
        st = es_builder_new(&bld, schema, err);
        for (int64_t c = 0; c < schema->n_children && !st; c++) {
            es_builder *cb = es_builder_child(bld, c);
            st = es_builder_reserve(cb, n_picks);
            for (int64_t j = 0; j < n_picks && !st; j++)
                st = es_table_append_value(cb, &bv[picks[j].batch].children[c], picks[j].row);
        }
        for (int64_t j = 0; j < n_picks && !st; j++)
            st = es_builder_append_struct(bld);
        if (st)
            st = es_error_set(err, st, 0, "upsert into '%s': cannot build the rows", m.t->name);
        if (!st)
            st = es_builder_finish(bld, &batch, err);
        if (!st)
            st = es_table_write_parts_keys(&parts, &n_parts, s, m.t, schema, &batch, 1, &uks,
                                           "upsert into", err);
        uks.n = 0; /* the keys are the upsert's own business; unique indexes' values: */
        m.uks = &uks;
        if (!st && es_keyset_any(&uks))
            st = es_unique_check(s, m.t, NULL, &uks, m.acc, "upsert into", 0, err);
    }
    if (!st)
        st = build_actions(&m, parts, n_parts, err);
    if (!st) {
        m.keys = keys;
        m.n_keys = n_keys;
        st = mut_commit(&m, err);
    }
    if (!st) {
        if (inserted)
            *inserted = n_ins;
        if (updated)
            *updated = n_upd;
    }
    for (int64_t i = 0; i < n_parts; i++)
        es_action_reset(&parts[i]);
    es_free(parts);
    es_builder_free(bld);
    es_free(picks);
    es_free(u.found);
    es_free(group_end);
    es_free(keys);
    es_free(rows);
    for (int64_t b = 0; b < n_views; b++)
        es_array_view_reset(&bv[b]);
    es_free(bv);
    for (int64_t b = 0; b < n; b++)
        es_array_release(&batches[b]);
    mut_reset(&m);
    es_keyset_reset(&uks);
    return st;
}
