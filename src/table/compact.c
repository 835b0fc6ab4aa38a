/*
 * compact: compaction of a table's parts (table layer; es_optimize, SQL OPTIMIZE, and the
 * automatic compaction after commits). Sits beside mutate.c: it reads rows with the scanner and
 * writes parts with the insert pipeline, then commits one entry.
 *
 * A compaction plans at the version v its handle is at: the inputs are the table's small parts
 * (less than half of part_target_bytes) and its parts with deleted rows. It reads their live
 * rows through the scanner (with each row's part and position, the vectors of version v left
 * out), writes them as new parts of the target size sorted by the primary key (the insert
 * pipeline, which also says where each written row came from), and commits one entry:
 * remove_part of each input, add_part of each output (no row changes).
 *
 *   plan at v (inputs, their vectors B_i) --> scan live rows --> write outputs
 *        --> map: (input i, position p) -> (output k, position q), or "deleted at v"
 *        --> remap against the latest catalog the handle knows --> commit -----> [committed]
 *               ^                                  | lost the race to entry w, whose
 *               |                                  | catalog changed an input (its vector, or
 *               +---- remap against w's catalog <--+ removed it)
 *
 * Remap (the rebase of a compaction, Delta #7407 / Lance #4604 done the simple way): for each
 * input i, the catalog now holds vector W_i. If W_i = B_i nothing changed. Else every position
 * p of W_i \ B_i (rows deleted or updated after planning) is carried onto the output: position
 * map(i, p) of output k joins that output's vector, written as a new .delta (or inline) and
 * named by a set_dv after the output's add_part in the same entry. An input removed since
 * planning (all its rows deleted, or moved by another compaction) has all its rows deleted
 * from the outputs and no remove_part. An output whose rows are all deleted is left out.
 *
 * Invariants:
 *  1. The commit window starts at the planning version v: the remap compares each input's
 *     vector in the catalog the entry commits on with the vector the scan read at v, whatever
 *     the handle's snapshot did in between (Lance #6653: committing against the latest read
 *     version without that comparison resurrected rows deleted in the window).
 *  2. A compaction changes no row: every row live at the version it commits on, and only
 *     those, is live after it (outputs minus carried deletes, plus the untouched parts).
 *  3. It never makes a concurrent delete or update fail: it adapts to them (above); a delete
 *     that planned before the compaction committed, and commits after, fails on the removed
 *     part (ES_CONFLICT, as for any removed part; the entry's remove_part says "compacted"),
 *     and autocommit es_delete, es_update and es_delete_keys run again on the new parts
 *     (mutate.c); upserts and transactions report the conflict.
 *  4. Its objects are written before the entry that names them, under fresh time-ordered ids;
 *     a vacuum horizon committed since v aborts it (es_log_check_horizon).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "table/compact.h"

typedef struct compaction {
    es_store *s;
    es_tabledef *t;  /* the table at planning; referenced */
    es_tabledef *in; /* t with only the input parts (what the scan reads); referenced */
    es_dv *base;     /* per input: its vector at planning (then as last remapped) */
    es_dvref **bref; /* per input: the log's reference of base (NULL: none); referenced */
    int64_t **map;   /* per input: position -> global row of the outputs, -1: not copied */
    uint8_t *gone;   /* per input: removed since planning */
    es_action *outs; /* add_part per output, then n_extra others (add_index of outputs) */
    int64_t n_outs, n_extra;
    int64_t *start;  /* per output: its first global row */
    es_dv *out_dv;   /* per output: positions deleted since planning */
    es_dvref **oref; /* per output: the vector written for out_dv (NULL: none yet) */
    int64_t *oref_n; /* per output: out_dv.n when oref was written */
    es_action *acts; /* the entry's actions (references borrowed from the above) */
    int64_t n_acts;
    int changed;  /* set by the rebase hook: an input changed, remap and try again */
    int64_t rows; /* rows written */
} compaction;

static es_status nomem(es_error *err)
{
    return es_error_set(err, ES_NOMEM, 0, "out of memory");
}

static void comp_reset(compaction *c)
{
    for (int64_t i = 0; c->in && i < c->in->n_parts; i++) {
        es_dv_reset(&c->base[i]);
        if (c->bref)
            es_dvref_unref(c->bref[i]);
        if (c->map)
            es_free(c->map[i]);
    }
    es_free(c->base);
    es_free(c->bref);
    es_free(c->map);
    es_free(c->gone);
    for (int64_t k = 0; k < c->n_outs; k++) {
        es_action_reset(&c->outs[k]);
        if (c->out_dv)
            es_dv_reset(&c->out_dv[k]);
        if (c->oref)
            es_dvref_unref(c->oref[k]);
    }
    for (int64_t k = c->n_outs; k < c->n_outs + c->n_extra; k++)
        es_action_reset(&c->outs[k]);
    es_free(c->outs);
    es_free(c->start);
    es_free(c->out_dv);
    es_free(c->oref);
    es_free(c->oref_n);
    es_free(c->acts);
    es_tabledef_unref(c->in);
    es_tabledef_unref(c->t);
    memset(c, 0, sizeof(*c));
}

static int is_small(const es_store *s, const es_part_meta *m)
{
    return m->data_bytes < s->opts.part_target_bytes / 2;
}

/* ----------------------------------------------------------------- plan */

/* The inputs: small parts and parts with deleted rows, in the table's order, up to about
 * twice the target size of live bytes (what one round holds in memory). 0 inputs when there is
 * nothing worth doing (fewer than two small parts and no deleted row). */
/* May manifest f hold inputs: parts with deleted rows, or small parts (its parts are under the
 * target size on average)? The others are not loaded. */
static int may_hold_inputs(void *ctx, const es_mfref *f)
{
    const es_store *s = ctx;
    return f->live_rows < f->sum->rows ||
           f->sum->data_bytes < f->n_parts * s->opts.part_target_bytes;
}

static es_status plan(compaction *c, es_error *err)
{
    const es_tabledef *t = c->t;
    int64_t small = 0, dirty = 0;
    es_status lst = es_manifest_load(c->t, c->s->os, may_hold_inputs, c->s, NULL, NULL, err);
    if (lst)
        return lst;
    for (int64_t p = 0; p < t->n_parts; p++) {
        small += is_small(c->s, t->parts[p]);
        dirty += t->parts[p]->dv != NULL;
    }
    es_status st = es_tabledef_copy(&c->in, t);
    if (st)
        return nomem(err);
    for (int64_t p = 0; p < c->in->n_parts; p++)
        es_part_meta_unref(c->in->parts[p]);
    c->in->n_parts = 0;
    es_tabledef_drop_manifests(c->in); /* the inputs only */
    if (small < 2 && dirty == 0)
        return ES_OK;
    int64_t budget = 2 * c->s->opts.part_target_bytes, used = 0;
    for (int64_t p = 0; p < t->n_parts; p++) {
        const es_part_meta *m = t->parts[p];
        if (!(m->dv || (small >= 2 && is_small(c->s, m))))
            continue;
        int64_t live = m->rows > 0 ? m->data_bytes / m->rows * es_part_live_rows(m) : 0;
        if (c->in->n_parts > 0 && used + live > budget)
            break;
        used += live;
        c->in->parts[c->in->n_parts++] = es_part_meta_ref((es_part_meta *)m);
    }
    if (c->in->n_parts == 1 && !c->in->parts[0]->dv) { /* one small part alone: nothing to do */
        es_part_meta_unref(c->in->parts[0]);
        c->in->n_parts = 0;
    }
    int64_t n = c->in->n_parts > 0 ? c->in->n_parts : 1;
    c->base = es_calloc((size_t)n, sizeof(es_dv));
    c->bref = es_calloc((size_t)n, sizeof(es_dvref *));
    c->map = es_calloc((size_t)n, sizeof(int64_t *));
    c->gone = es_calloc((size_t)n, 1);
    if (!c->base || !c->bref || !c->map || !c->gone)
        return nomem(err);
    for (int64_t i = 0; i < c->in->n_parts; i++) {
        const es_part_meta *m = c->in->parts[i];
        c->bref[i] = es_dvref_ref(m->dv);
        /* The part's rows size its map: its .idx must agree with the log first (cached for
         * the scan that follows). */
        es_part_idx *x = NULL;
        if ((st = es_store_part_idx(&x, c->s, c->t, m, NULL, NULL, err)) != ES_OK)
            return st;
        es_part_idx_free(x);
        c->map[i] = es_malloc((size_t)(m->rows > 0 ? m->rows : 1) * sizeof(int64_t));
        if (!c->map[i])
            return nomem(err);
        for (int64_t r = 0; r < m->rows; r++)
            c->map[i][r] = -1;
        st = es_store_part_dv(&c->base[i], c->s, c->t, m, NULL, NULL, err);
        if (st)
            return st;
    }
    return ES_OK;
}

/* ------------------------------------------------------ read and write */

static void release_borrowed(struct ArrowArray *a)
{
    a->release = NULL;
}

/* Scan the inputs' live rows and write them as new parts; fill c->map. */
static es_status rewrite(compaction *c, es_error *err)
{
    es_scan_options so = ES_SCAN_OPTIONS_INIT;
    es_scan_ext ext = {c->in, 1, NULL, 0, NULL};
    es_scanner *sc = NULL;
    struct ArrowArray *batches = NULL, *views = NULL;
    int64_t n = 0, cap = 0, total = 0, *src = NULL, *order = NULL;
    es_status st = es_scanner_open(&sc, c->s, NULL, &so, &ext, err);
    if (st)
        return st;
    const struct ArrowSchema *schema = es_scanner_schema(sc);
    int64_t pc = schema->n_children - 2;
    for (;;) {
        struct ArrowArray a = {0};
        st = es_scanner_next(sc, &a, err);
        if (st || !a.release)
            break;
        if (n == cap) {
            int64_t nc = cap ? cap * 2 : 16;
            struct ArrowArray *p = es_realloc(batches, (size_t)nc * sizeof(*p));
            if (!p) {
                es_array_release(&a);
                st = nomem(err);
                break;
            }
            batches = p;
            cap = nc;
        }
        batches[n++] = a;
        int64_t *ps = es_realloc(src, (size_t)(total + a.length) * 2 * sizeof(int64_t));
        if (!ps) {
            st = nomem(err);
            break;
        }
        src = ps;
        es_array_view v;
        st = es_array_view_init(&v, schema, &a, err);
        if (st)
            break;
        for (int64_t r = 0; r < a.length; r++) {
            src[2 * (total + r)] = es_view_get_int(&v.children[pc], r);
            src[2 * (total + r) + 1] = es_view_get_int(&v.children[pc + 1], r);
        }
        es_array_view_reset(&v);
        total += a.length;
    }
    if (!st && n > 0) {
        /* The rows without the trailing _part and _pos columns, borrowed. */
        struct ArrowSchema cols = *schema;
        cols.n_children = pc;
        views = es_calloc((size_t)n, sizeof(*views));
        if (!views)
            st = nomem(err);
        for (int64_t b = 0; b < n && !st; b++) {
            views[b] = batches[b];
            views[b].n_children = pc;
            views[b].release = release_borrowed;
            views[b].private_data = NULL;
        }
        if (!st)
            st = es_table_write_parts_order(&c->outs, &c->n_outs, &order, c->s, c->t, &cols, views,
                                            n, err);
    }
    if (!st) { /* the outputs' add_part first, in order (the rows' order), then the rest */
        int64_t k = 0, n_all = c->n_outs;
        es_action *rest = es_calloc((size_t)(n_all > 0 ? n_all : 1), sizeof(es_action));
        if (!rest)
            st = nomem(err);
        for (int64_t j = 0; j < n_all && !st; j++) {
            if (c->outs[j].kind == ES_ACT_ADD_PART)
                c->outs[k++] = c->outs[j];
            else
                rest[c->n_extra++] = c->outs[j];
        }
        if (!st && c->n_extra > 0)
            memcpy(&c->outs[k], rest, (size_t)c->n_extra * sizeof(es_action));
        if (!st)
            c->n_outs = k;
        es_free(rest);
    }
    if (!st && c->n_outs > 0) {
        c->start = es_calloc((size_t)c->n_outs, sizeof(int64_t));
        c->out_dv = es_calloc((size_t)c->n_outs, sizeof(es_dv));
        c->oref = es_calloc((size_t)c->n_outs, sizeof(es_dvref *));
        c->oref_n = es_calloc((size_t)c->n_outs, sizeof(int64_t));
        if (!c->start || !c->out_dv || !c->oref || !c->oref_n)
            st = nomem(err);
        for (int64_t k = 1; k < c->n_outs && !st; k++)
            c->start[k] = c->start[k - 1] + c->outs[k - 1].part->rows;
        for (int64_t g = 0; g < total && !st; g++) {
            int64_t r = order[g], i = src[2 * r], p = src[2 * r + 1];
            if (i < 0 || i >= c->in->n_parts || p < 0 || p >= c->in->parts[i]->rows)
                st = es_error_set(err, ES_INTERNAL, 0, "compaction: row position out of range");
            else
                c->map[i][p] = g;
        }
        c->rows = total;
    }
    es_free(order);
    es_free(src);
    es_free(views);
    for (int64_t b = 0; b < n; b++)
        es_array_release(&batches[b]);
    es_free(batches);
    es_scanner_close(sc);
    return st;
}

/* ---------------------------------------------------------------- remap */

/* The output holding global row g. */
static int64_t output_of(const compaction *c, int64_t g)
{
    int64_t lo = 0, hi = c->n_outs - 1;
    while (lo < hi) {
        int64_t mid = (lo + hi + 1) / 2;
        if (c->start[mid] <= g)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* Carry the deletion of input i's positions pos[0..n) onto the outputs. */
static es_status carry(compaction *c, int64_t i, const uint64_t *pos, int64_t n, es_error *err)
{
    for (int64_t j = 0; j < n; j++) {
        int64_t g = c->map[i][pos[j]];
        if (g < 0)
            continue; /* deleted at planning already */
        int64_t k = output_of(c, g);
        uint64_t q = (uint64_t)(g - c->start[k]);
        es_status st = es_dv_add(&c->out_dv[k], &q, 1, err);
        if (st)
            return st;
    }
    return ES_OK;
}

/* Compare the inputs with catalog `snap` and carry what changed onto the outputs. *changed: 1
 * when something did. ES_CONFLICT when the table is gone. */
static es_status remap(compaction *c, const es_snapshot *snap, int *changed, es_error *err)
{
    *changed = 0;
    const es_tabledef *t = es_snapshot_find_id(snap, c->t->id);
    if (!t)
        return es_error_set(err, ES_CONFLICT, 0, "table '%s' was dropped concurrently", c->t->name);
    for (int64_t i = 0; i < c->in->n_parts; i++) {
        const es_part_meta *in = c->in->parts[i];
        if (c->gone[i])
            continue;
        const es_part_meta *pm = es_tabledef_find_part(t, in->id);
        es_status st = ES_OK;
        if (!pm) { /* every row of it is gone (deleted, or moved by another compaction) */
            c->gone[i] = 1;
            *changed = 1;
            for (int64_t p = 0; p < in->rows && !st; p++) {
                uint64_t u = (uint64_t)p;
                st = carry(c, i, &u, 1, err);
            }
            if (st)
                return st;
            continue;
        }
        if (es_dvref_same(pm->dv, c->bref[i]))
            continue;
        es_dv cur = {0};
        st = es_store_part_dv(&cur, c->s, t, pm, NULL, NULL, err);
        for (int64_t j = 0, b = 0; j < cur.n && !st; j++) {
            while (b < c->base[i].n && c->base[i].pos[b] < cur.pos[j])
                b++;
            if (b < c->base[i].n && c->base[i].pos[b] == cur.pos[j])
                continue;
            st = carry(c, i, &cur.pos[j], 1, err);
        }
        if (st) {
            es_dv_reset(&cur);
            return st;
        }
        es_dv_reset(&c->base[i]);
        c->base[i] = cur;
        es_dvref_unref(c->bref[i]);
        c->bref[i] = es_dvref_ref(pm->dv);
        *changed = 1;
    }
    return ES_OK;
}

/* es_log_rebase_fn: an entry we lost to changed an input: stop, remap and try again. */
static es_status rebase(void *ctx, const es_snapshot *snap, const es_entry *theirs, es_action *acts,
                        int64_t n, es_error *err)
{
    compaction *c = ctx;
    (void)theirs;
    (void)acts;
    (void)n;
    const es_tabledef *t = es_snapshot_find_id(snap, c->t->id);
    for (int64_t i = 0; t && i < c->in->n_parts; i++) {
        const es_part_meta *pm = es_tabledef_find_part(t, c->in->parts[i]->id);
        if (!c->gone[i] && (!pm || !es_dvref_same(pm->dv, c->bref[i]))) {
            c->changed = 1;
            return es_error_set(err, ES_CONFLICT, 0,
                                "table '%s': an input of the compaction changed", c->t->name);
        }
    }
    return ES_OK;
}

/* The entry: remove_part per remaining input, add_part per output with a live row, and its
 * set_dv when rows of it were deleted since planning (the vector written when it changed). */
static es_status build(compaction *c, es_error *err)
{
    es_free(c->acts);
    c->n_acts = 0;
    c->acts =
        es_calloc((size_t)(c->in->n_parts + 2 * c->n_outs + c->n_extra + 1), sizeof(es_action));
    if (!c->acts)
        return nomem(err);
    for (int64_t i = 0; i < c->in->n_parts; i++) {
        if (c->gone[i])
            continue;
        es_action *a = &c->acts[c->n_acts++];
        a->kind = ES_ACT_REMOVE_PART;
        a->compacted = 1;
        memcpy(a->table_id, c->t->id, sizeof(a->table_id));
        a->table_name = c->t->name;
        memcpy(a->part_id, c->in->parts[i]->id, sizeof(a->part_id));
    }
    for (int64_t k = 0; k < c->n_outs; k++) {
        const es_part_meta *m = c->outs[k].part;
        if (c->out_dv[k].n >= m->rows)
            continue;
        c->acts[c->n_acts++] = c->outs[k];
        c->acts[c->n_acts - 1].table_name = c->t->name;
        if (c->out_dv[k].n == 0)
            continue;
        if (!c->oref[k] || c->oref_n[k] != c->out_dv[k].n) {
            es_dvref_unref(c->oref[k]);
            c->oref[k] = NULL;
            es_status st =
                es_store_dv_write(&c->oref[k], c->s, c->t->id, m->id, &c->out_dv[k], err);
            if (st)
                return st;
            c->oref_n[k] = c->out_dv[k].n;
        }
        es_action *a = &c->acts[c->n_acts++];
        a->kind = ES_ACT_SET_DV;
        memcpy(a->table_id, c->t->id, sizeof(a->table_id));
        a->table_name = c->t->name;
        memcpy(a->part_id, m->id, sizeof(a->part_id));
        a->dv = c->oref[k];
    }
    for (int64_t k = c->n_outs; k < c->n_outs + c->n_extra; k++) { /* the outputs' indexes */
        c->acts[c->n_acts++] = c->outs[k];
        c->acts[c->n_acts - 1].table_name = c->t->name;
    }
    return ES_OK;
}

/* Commit, remapping after each race lost to an entry that changed an input. */
static es_status commit(compaction *c, int64_t *version, es_error *err)
{
    es_status st = ES_OK;
    for (int attempt = 0; attempt < ES_COMMIT_MAX_ATTEMPTS; attempt++) {
        int changed = 0;
        st = remap(c, c->s->snap, &changed, err);
        if (!st)
            st = build(c, err);
        if (st || c->n_acts == 0)
            return st;
        c->changed = 0;
        st = es_store_commit(c->s, c->acts, c->n_acts, rebase, c, version, err);
        if (st != ES_CONFLICT)
            return st;
        if (!c->changed) { /* an input removed (es_log_check), or a horizon, or the table */
            st = remap(c, c->s->snap, &changed, err);
            if (!st && !changed)
                st = ES_CONFLICT;
            if (st)
                return st == ES_CONFLICT && err && !err->msg[0]
                           ? es_error_set(err, ES_CONFLICT, 0, "compaction of '%s': conflict",
                                          c->t->name)
                           : st;
            /* remapped: loop (remap again finds nothing new) */
        }
    }
    return es_error_set(err, ES_CONFLICT, 0, "compaction of '%s': gave up after %d attempts",
                        c->t->name, ES_COMMIT_MAX_ATTEMPTS);
}

/* ---------------------------------------------------------------- entry */

/* One round: plan, rewrite, commit. *done: 1 when there was nothing to do. */
static es_status round_once(es_store *s, const char *table, es_compact_hook hook, void *hook_ctx,
                            es_optimize_info *info, int *done, es_error *err)
{
    compaction c;
    memset(&c, 0, sizeof(c));
    c.s = s;
    *done = 1;
    es_status st = es_store_table_write(&c.t, s, table, err);
    if (!st)
        st = plan(&c, err);
    if (!st && c.in->n_parts > 0) {
        *done = 0;
        st = rewrite(&c, err);
        if (!st && hook)
            st = hook(hook_ctx, s, err);
        int64_t v = -1;
        if (!st)
            st = commit(&c, &v, err);
        if (!st && info) {
            info->parts_in += c.in->n_parts;
            for (int64_t k = 0; k < c.n_acts; k++)
                info->parts_out += c.acts[k].kind == ES_ACT_ADD_PART;
            info->rows += c.rows;
            if (v >= 0)
                info->version = v;
        }
    }
    comp_reset(&c);
    return st;
}

es_status es_compact_impl(es_store *s, const char *table, int all, es_compact_hook hook,
                          void *hook_ctx, es_optimize_info *info, es_error *err)
{
    if (!table)
        return es_error_set(err, ES_INVALID, 0, "table name is NULL");
    if (s->txn)
        return es_error_set(err, ES_INVALID, 0,
                            "OPTIMIZE of '%s': not inside a transaction (it commits on its own)",
                            table);
    s->compacting++;
    es_status st = ES_OK;
    es_optimize_info total;
    memset(&total, 0, sizeof(total));
    total.version = -1;
    for (int r = 0; r < 1000 && !st; r++) {
        /* Another round only while rounds make progress (fewer parts, or deleted rows gone):
         * outputs cut by estimated row sizes may still count as small. */
        es_optimize_info one;
        memset(&one, 0, sizeof(one));
        one.version = -1;
        int done = 1;
        st = round_once(s, table, hook, hook_ctx, &one, &done, err);
        total.parts_in += one.parts_in;
        total.parts_out += one.parts_out;
        total.rows += one.rows;
        if (one.version >= 0)
            total.version = one.version;
        if (done || !all || one.parts_out >= one.parts_in)
            break;
    }
    if (info)
        *info = total;
    s->compacting--;
    return st;
}

/* ------------------------------------------------------------ automatic */

/* Does table t cross a threshold of automatic compaction (es_open_options)? */
static int wants_compaction(const es_store *s, const es_tabledef *t)
{
    int64_t small = 0, rows = 0, deleted = 0;
    for (int64_t p = 0; p < t->n_parts; p++) {
        /* Inline parts (rows in the log) are the flush's (flush_rows, flush_bytes), not this. */
        small += is_small(s, t->parts[p]) && !t->parts[p]->inline_ipc;
        rows += t->parts[p]->rows;
        deleted += t->parts[p]->rows - es_part_live_rows(t->parts[p]);
    }
    if (s->opts.compact_min_parts > 0 && small >= s->opts.compact_min_parts)
        return 1;
    return s->opts.compact_deleted_ratio > 0 && rows > 0 &&
           (double)deleted >= s->opts.compact_deleted_ratio * (double)rows;
}

void es_compact_auto(es_store *s, const es_action *acts, int64_t n)
{
    if (s->txn || s->compacting)
        return;
    for (int64_t i = 0; i < n; i++) {
        if (acts[i].kind != ES_ACT_ADD_PART && acts[i].kind != ES_ACT_SET_DV &&
            acts[i].kind != ES_ACT_REMOVE_PART)
            continue;
        int seen = 0;
        for (int64_t j = 0; j < i && !seen; j++)
            seen = strcmp(acts[j].table_id, acts[i].table_id) == 0;
        const es_tabledef *t = es_snapshot_find_id(s->snap, acts[i].table_id);
        if (seen || !t || !wants_compaction(s, t))
            continue;
        char *name = es_strdup(t->name);
        es_error ignored;
        memset(&ignored, 0, sizeof(ignored));
        if (name) /* best effort: the commit that triggered it has succeeded */
            (void)es_compact_impl(s, name, 1, NULL, NULL, NULL, &ignored);
        es_free(name);
    }
}
