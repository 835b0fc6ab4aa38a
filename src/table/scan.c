/*
 * scan: pruned, projected scans returning an ArrowArrayStream.
 *
 * Plan: bind the predicate to the table's columns (expr.c); for each part of the snapshot,
 * skip it when its statistics in the log entry prove no row can match; else read its .idx
 * (cached per handle, verified), skip batches the same way, and for a window of surviving
 * batches fetch only the metadata and the byte ranges of the needed columns (projection and
 * predicate) with one es_objstore_get_many, coalescing ranges closer than SCAN_GAP. Each batch
 * is decoded from those bytes (checksums verified), filtered exactly, and returned with the
 * projected columns under their logical names. A selective predicate on a column other than
 * the sort key is evaluated in two phases (fetch_window): predicate columns first, the other
 * columns only for batches where some row matches.
 *
 * Deletion vectors (merge-on-read): a part with a live vector (es_part_meta.dv) has it fetched
 * with one GET of its .delta object (verified by the CRC-32C in the log) or decoded from the
 * log's inline copy, once per scan and only when some batch of the part survives pruning.
 * Batches whose rows are all deleted are skipped before fetching; a batch holding some deleted
 * rows is filtered (its first row's position within the part is the sum of the row counts of
 * the batches before it in the .idx); a batch without deleted rows keeps the zero-copy path.
 * Parts without a vector cost nothing extra.
 *
 * For mutations (mutate.c) the same scanner also takes a table definition to scan, a set of
 * primary keys (parts and batches whose key range holds none are skipped, rows are matched
 * exactly) and appends each row's part and position (es_scan_ext); es_scan_column is that
 * scanner over one column of some parts, batch by batch (keyfilter.c, index.c, unique.c).
 */
#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "table/evolve.h"
#include "table/index.h"
#include "table/lookup.h"
#include "table/txn.h"

#include "table/scan_int.h"

typedef void (*par_fn)(scan_state *st, int64_t i);
static void par_for(scan_state *st, int64_t n, par_fn fn);
static es_status par_alloc(scan_state *st, es_error *err);

static void par_release(scan_state *st)
{
    for (int64_t i = 0; st->par_ready && i < st->par_to - st->par_from; i++)
        es_array_release(&st->par_out[i]);
    st->par_ready = 0;
}

static void free_window(scan_state *st)
{
    par_release(st);
    for (int64_t i = 0; i < st->n_ranges; i++) {
        es_blob_unref(st->ranges[i].blob);
        es_array_ref_unref(st->ranges[i].ent);
    }
    es_free(st->ranges);
    st->ranges = NULL;
    st->n_ranges = 0;
    st->win_n = 0;
    es_free(st->win_match);
    st->win_match = NULL;
}

static void release_ranges(range *rs, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        es_blob_unref(rs[i].blob);
        es_array_ref_unref(rs[i].ent);
    }
    es_free(rs);
}

/* Wait for the prefetch of the next window; keep its ranges when it fetched [start, ...). */
static void prefetch_join(scan_state *st)
{
    if (!st->pf_running)
        return;
    pthread_join(st->pf_th, NULL);
    st->pf_running = 0;
}

static void prefetch_drop(scan_state *st)
{
    prefetch_join(st);
    release_ranges(st->pf_ranges, st->pf_n_ranges);
    st->pf_ranges = NULL;
    st->pf_n_ranges = st->pf_n = 0;
}

void es_scan_end_part(scan_state *st)
{
    prefetch_drop(st);
    free_window(st);
    es_part_idx_free(st->idx);
    st->idx = NULL;
    es_free(st->pcols);
    st->pcols = NULL;
    es_free(st->which);
    st->which = NULL;
    es_free(st->tab2dec);
    st->tab2dec = NULL;
    es_free(st->kind_pred);
    st->kind_pred = NULL;
    st->part_two_phase = 0;
    es_free(st->batches);
    st->batches = NULL;
    st->n_batches = st->batch_i = 0;
    es_free(st->first_row);
    st->first_row = NULL;
    es_free(st->dec_cols);
    st->dec_cols = NULL;
    es_free(st->dec_src);
    st->dec_src = NULL;
    st->n_dec = 0;
    st->evolve = 0;
    es_dv_reset(&st->dv);
    es_free(st->hits);
    st->hits = NULL;
    st->n_hits = 0;
    st->point = 0;
}

static int status_errno(es_status s)
{
    switch (s) {
    case ES_NOMEM:
        return ENOMEM;
    case ES_INVALID:
        return EINVAL;
    case ES_INTERRUPTED:
        return EINTR;
    default:
        return EIO;
    }
}

/* Index of the first key >= v at or after lo (keys sorted ascending). */
static int64_t key_lower_bound_from(const scan_state *st, const es_scalar *v, int64_t lo)
{
    int64_t hi = st->n_keys;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (es_scalar_cmp(st->key_dom, &st->keys[mid], v) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* May rows with these key statistics hold one of the scan's keys? Conservative. */
static int64_t key_lower_bound(const scan_state *st, const es_scalar *v)
{
    return key_lower_bound_from(st, v, 0);
}

static int keys_may_match(const scan_state *st, const es_pred_stats *ps)
{
    if (!st->keys || !ps->known)
        return 1;
    if (st->n_keys == 0 || ps->null_count >= ps->rows)
        return 0; /* keys are never null */
    int64_t i = ps->has_min ? key_lower_bound(st, &ps->min) : 0;
    return i < st->n_keys &&
           (!ps->has_max || es_scalar_cmp(st->key_dom, &st->keys[i], &ps->max) <= 0);
}

/* May part m (or a manifest's summary of its parts) hold rows the scan wants, by its
 * statistics? *key_k: the key column's index in m, or -1. Fills st->pstats. */
static int part_may_match(scan_state *st, const es_part_meta *m, int64_t *key_k)
{
    const es_tabledef *t = st->t;
    es_pred_stats kstats;
    memset(&kstats, 0, sizeof(kstats));
    *key_k = -1;
    es_part_stats_to_pred(st->pstats, t, m, st->pneed); /* evolve.h */
    for (int64_t k = 0; k < m->n_cols; k++) {
        int64_t c = 0;
        while (c < t->n_cols && t->cols[c].id != m->col_ids[k])
            c++;
        if (c < t->n_cols && c == st->key_col) {
            *key_k = k;
            es_colstat_to_pred(&kstats, &m->stats[k], st->key_dom, m->rows);
        }
    }
    return es_pred_may_match(st->pred, st->pstats) && keys_may_match(st, &kstats);
}

static int manifest_may_match(void *ctx, const es_mfref *f)
{
    int64_t key_k;
    return part_may_match(ctx, f->sum, &key_k);
}

/* Planning: list the parts of the table's manifests whose summary the scan can match (the
 * others are counted as skipped parts). */
static es_status load_manifests(scan_state *st, es_error *err)
{
    es_tabledef *t = st->t;
    es_status r = es_manifest_load(t, st->store->os, manifest_may_match, st, &st->stats->requests,
                                   &st->stats->bytes_fetched, err);
    st->stats->parts_total = es_tabledef_n_parts(t);
    st->stats->parts_skipped = st->stats->parts_total - t->n_parts;
    return r;
}

/* After the part's columns are mapped (which, tab2dec): give the needed table columns the part
 * lacks a place after the fetched ones, and note whether batches need es_evolve_batch. */
static es_status evolve_part(scan_state *st, es_error *err)
{
    const es_tabledef *t = st->t;
    st->n_dec = st->n_which;
    for (int64_t c = 0; c < t->n_cols; c++)
        if (st->need[c] && st->tab2dec[c] < 0)
            st->tab2dec[c] = st->n_dec++;
    st->dec_cols = es_calloc((size_t)(st->n_dec > 0 ? st->n_dec : 1), sizeof(es_column *));
    st->dec_src = es_calloc((size_t)(st->n_dec > 0 ? st->n_dec : 1), sizeof(es_part_col *));
    if (!st->dec_cols || !st->dec_src)
        return es_error_set(err, ES_NOMEM, 0, "scan: out of memory");
    st->evolve = st->n_dec > st->n_which;
    for (int64_t c = 0; c < t->n_cols; c++) {
        int64_t k = st->tab2dec[c];
        if (k < 0)
            continue;
        st->dec_cols[k] = &t->cols[c];
        if (k < st->n_which) {
            st->dec_src[k] = &st->pcols[st->which[k]];
            st->evolve |= strcmp(st->dec_src[k]->format, t->cols[c].format) != 0;
        }
    }
    return ES_OK;
}

/* After the index found st->hits in part m: read only those rows (es_lookup_rows) when they
 * are few next to the rows of the batches holding them (deleted ones left out first). */
static void point_part(scan_state *st, const es_part_meta *m)
{
    int64_t k = 0, rows = 0;
    for (int64_t i = 0; i < st->n_hits; i++)
        if (!es_dv_contains(&st->dv, st->hits[i]))
            st->hits[k++] = st->hits[i];
    st->n_hits = k;
    if (k == 0) { /* every hit deleted */
        st->stats->batches_skipped += st->n_batches;
        st->n_batches = 0;
    }
    for (int64_t i = 0; i < st->n_batches; i++)
        rows += st->idx->rows[st->batches[i]];
    st->point = !m->inline_ipc && !st->keys && !st->with_pos && st->n_hits > 0 &&
                st->n_hits <= ES_LOOKUP_MAX_HITS && st->n_hits * 16 <= rows;
}

/* A predicate that reads only the sorted key and leaves a few batches (a primary-key point
 * lookup): its rows found in the key column of those batches (es_lookup_key_hits), so that
 * point_part reads only them. Batches smaller than KEY_POINT_BYTES are read whole (one round
 * trip instead of two or three). */
#define KEY_POINT_BATCHES 4
#define KEY_POINT_BYTES (64 * 1024)
static es_status key_point(scan_state *st, const es_part_meta *m, es_error *err)
{
    const es_part_idx *x = st->idx;
    const es_tabledef *t = st->t;
    int64_t kc = -1;
    if (st->keys || st->with_pos || st->evolve || m->inline_ipc || x->sort_col < 0 ||
        st->n_batches > KEY_POINT_BATCHES || st->pred->kind == ES_PRED_TRUE)
        return ES_OK;
    for (int64_t c = 0; c < t->n_cols; c++) {
        if (!st->pneed[c])
            continue;
        if (t->cols[c].id != x->col_ids[x->sort_col])
            return ES_OK;
        kc = c;
    }
    int64_t body = 0;
    for (int64_t i = 0; i < st->n_batches; i++)
        for (int64_t k = 0; k < (x->paged ? st->n_which : 1); k++) /* a page: what it needs */
            body += x->paged ? es_part_idx_bytes(x, st->batches[i] * x->n_cols + st->which[k])
                             : x->body_len[st->batches[i]];
    if (kc < 0 || body < KEY_POINT_BYTES)
        return ES_OK;
    es_status s = es_lookup_key_hits(&st->hits, &st->n_hits, st->store, t, x, st->pcols, st->pred,
                                     kc, st->batches, st->n_batches, st->first_row,
                                     &st->stats->requests, &st->stats->bytes_fetched, err);
    return s == ES_UNSUPPORTED ? ES_OK : s; /* else whole batches */
}

/* Start the next part that survives pruning; 0 when there is none left. */
es_status es_scan_next_part(scan_state *st, int *got, es_error *err)
{
    es_tabledef *t = st->t;
    *got = 0;
    while (st->part_i < t->n_parts) {
        st->part_index = st->part_i;
        es_part_meta *m = t->parts[st->part_i++];
        int64_t key_k = -1; /* the key column's index in the part */
        if (es_part_live_rows(m) <= 0 || !part_may_match(st, m, &key_k)) {
            st->stats->parts_skipped++;
            continue;
        }
        es_pred_stats kstats;
        memset(&kstats, 0, sizeof(kstats));
        es_status s = es_store_part_idx(&st->idx, st->store, t, m, &st->stats->requests,
                                        &st->stats->bytes_fetched, err);
        if (s)
            return s;
        es_part_idx *x = st->idx;
        s = es_table_part_cols(&st->pcols, t, m, err);
        if (s)
            return s;
        st->which = es_calloc((size_t)(x->n_cols > 0 ? x->n_cols : 1), sizeof(int64_t));
        st->tab2dec = es_calloc((size_t)t->n_cols, sizeof(int64_t));
        st->batches = es_calloc((size_t)(x->n_batches > 0 ? x->n_batches : 1), sizeof(int64_t));
        st->kind_pred = es_calloc((size_t)(x->n_cols > 0 ? x->n_cols : 1), 1);
        /* (part column, table column) of the predicate's columns, for batch pruning. */
        int64_t *pmap = es_calloc((size_t)(2 * x->n_cols + 2), sizeof(int64_t));
        if (!st->which || !st->tab2dec || !st->batches || !st->kind_pred || !pmap) {
            es_free(pmap);
            return es_error_set(err, ES_NOMEM, 0, "scan: out of memory");
        }
        int64_t n_pmap = 0;
        st->n_which = 0;
        for (int64_t c = 0; c < t->n_cols; c++)
            st->tab2dec[c] = -1;
        for (int64_t k = 0; k < x->n_cols; k++) {
            int64_t c = 0;
            while (c < t->n_cols && t->cols[c].id != x->col_ids[k])
                c++;
            if (c < t->n_cols && st->need[c]) {
                st->tab2dec[c] = st->n_which;
                st->kind_pred[st->n_which] = st->pneed[c];
                st->which[st->n_which++] = k;
            }
            if (c < t->n_cols && st->pneed[c]) {
                pmap[2 * n_pmap] = k;
                pmap[2 * n_pmap + 1] = c;
                n_pmap++;
            }
        }
        s = evolve_part(st, err);
        if (s) {
            es_free(pmap);
            return s;
        }
        /* Two phases pay when the predicate reads a column other than the sort key (whose
         * batch statistics are already tight) and some needed column is not read by it. */
        int64_t n_pred_kinds = 0, other_than_key = 0;
        for (int64_t k = 0; k < st->n_which; k++)
            n_pred_kinds += st->kind_pred[k];
        for (int64_t j = 0; j < n_pmap; j++)
            other_than_key |= pmap[2 * j] != x->sort_col;
        st->part_two_phase = st->two_phase && other_than_key && n_pred_kinds > 0 &&
                             n_pred_kinds < st->n_which && !st->evolve;
        st->stats->batches_total += x->n_batches;
        st->first_row = es_calloc((size_t)(x->n_batches + 1), sizeof(int64_t));
        if (!st->first_row) {
            es_free(pmap);
            return es_error_set(err, ES_NOMEM, 0, "scan: out of memory");
        }
        for (int64_t b = 0; b < x->n_batches; b++) {
            st->first_row[b + 1] = st->first_row[b] + x->rows[b];
            for (int64_t j = 0; j < n_pmap; j++) {
                int64_t k = pmap[2 * j], c = pmap[2 * j + 1];
                es_part_idx_stat_to_pred(&st->pstats[c], x, b * x->n_cols + k,
                                         es_expr_domain(st->pcols[k].type.id));
                es_pred_stats_widen(&st->pstats[c], &st->pcols[k].type, &t->cols[c].type);
            }
            if (key_k >= 0)
                es_part_idx_stat_to_pred(&kstats, x, b * x->n_cols + key_k, st->key_dom);
            if (x->rows[b] == 0 || !es_pred_may_match(st->pred, st->pstats) ||
                !keys_may_match(st, &kstats))
                st->stats->batches_skipped++;
            else
                st->batches[st->n_batches++] = b;
        }
        es_free(pmap);
        if (st->first_row[x->n_batches] != m->rows) {
            char key[256];
            es_part_key(key, sizeof(key), t->id, m->id, "idx");
            return es_error_set(err, ES_CORRUPT, 0, "%s: %lld rows, the log says %lld", key,
                                (long long)st->first_row[x->n_batches], (long long)m->rows);
        }
        if (st->n_batches > 0 && st->ixq) {
            /* A secondary index covering the part: only batches holding one of its hits. */
            int64_t before = st->n_batches;
            int covered = 0;
            s = es_index_filter_batches(st->ixq, st->store, t, m, st->first_row, x->n_batches,
                                        st->batches, &st->n_batches, &covered, &st->hits,
                                        &st->n_hits, &st->stats->requests,
                                        &st->stats->bytes_fetched, err);
            if (s)
                return s;
            st->stats->index_parts += covered;
            if (covered) /* every batch left holds a match: fetch all its columns at once */
                st->part_two_phase = 0;
            st->stats->index_batches_skipped += before - st->n_batches;
            st->stats->batches_skipped += before - st->n_batches;
        }
        if (st->n_batches > 0 && m->dv) {
            /* Merge on read: the part's deleted rows; batches deleted entirely are skipped. */
            s = es_store_part_dv(&st->dv, st->store, t, m, &st->stats->requests,
                                 &st->stats->bytes_fetched, err);
            if (s)
                return s;
            int64_t kept = 0;
            for (int64_t i = 0; i < st->n_batches; i++) {
                int64_t b = st->batches[i];
                if (es_dv_count_range(&st->dv, (uint64_t)st->first_row[b],
                                      (uint64_t)st->first_row[b + 1]) == x->rows[b])
                    st->stats->batches_skipped++;
                else
                    st->batches[kept++] = b;
            }
            st->n_batches = kept;
        }
        if (st->n_batches > 0 && !st->hits) {
            s = key_point(st, m, err);
            if (s)
                return s;
        }
        if (st->n_batches > 0 && st->hits)
            point_part(st, m);
        if (st->n_batches == 0) {
            es_scan_end_part(st);
            continue;
        }
        *got = 1;
        return ES_OK;
    }
    return ES_OK;
}

static int cmp_range(const void *a, const void *b)
{
    const range *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* Fetch ranges rs[0..nr) of the current part's .data with one get_many, setting their blobs. */
static es_status fetch_ranges(scan_state *st, range *rs, int64_t nr, es_error *err)
{
    return es_scan_fetch_part(st, st->t->parts[st->part_index], rs, nr, &st->stats->requests,
                              &st->stats->bytes_fetched, err);
}

es_status es_scan_fetch_part(scan_state *st, const es_part_meta *pm, range *rs, int64_t nr,
                             int64_t *requests, int64_t *bytes, es_error *err)
{
    if (nr == 0)
        return ES_OK;
    if (pm->inline_ipc) {
        /* Rows inlined in the log: the ranges are slices of the stream, no request. */
        for (int64_t i = 0; i < nr; i++) {
            range *r = &rs[i];
            if (r->len == 0 || r->blob)
                continue;
            if (r->off < 0 || (uint64_t)(r->off + r->len) > pm->inline_ipc->size)
                return es_error_set(err, ES_CORRUPT, 0, "inline part %s: range past the end",
                                    pm->id);
            if (es_blob_new_slice(&r->blob, pm->inline_ipc, (size_t)r->off, (size_t)r->len))
                return es_error_set(err, ES_NOMEM, 0, "scan: out of memory");
        }
        return ES_OK;
    }
    /* Coalesce: sort by offset, merge neighbours closer than SCAN_GAP into one request. */
    range *sorted = es_malloc((size_t)(nr > 0 ? nr : 1) * sizeof(range));
    int64_t *pairs = NULL, *caps = NULL; /* (offset, length) in order; request sizes */
    es_range_req *reqs = es_calloc((size_t)(nr > 0 ? nr : 1), sizeof(es_range_req));
    int64_t *req_of = es_calloc((size_t)(nr > 0 ? nr : 1), sizeof(int64_t));
    es_status s = ES_OK;
    if (!sorted || !reqs || !req_of) {
        s = es_error_set(err, ES_NOMEM, 0, "scan: out of memory");
        goto done;
    }
    for (int64_t i = 0; i < nr; i++) {
        sorted[i] = rs[i];
        sorted[i].slot = i; /* remember the original index */
    }
    qsort(sorted, (size_t)nr, sizeof(range), cmp_range);
    char key[256];
    es_part_key(key, sizeof(key), st->t->id, pm->id, "data");
    pairs = es_malloc((size_t)nr * 2 * sizeof(int64_t));
    caps = es_malloc((size_t)nr * sizeof(int64_t));
    if (!pairs || !caps) {
        s = es_error_set(err, ES_NOMEM, 0, "scan: out of memory");
        goto done;
    }
    for (int64_t i = 0; i < nr; i++) {
        pairs[2 * i] = sorted[i].off;
        pairs[2 * i + 1] = sorted[i].blob ? 0 : sorted[i].len;
    }
    es_scan_request_caps(pairs, nr, caps);
    int64_t nq = 0, cur_end = -1, useful = 0, cap = 0;
    for (int64_t i = 0; i < nr; i++) {
        const range *r = &sorted[i];
        if (r->len == 0 || r->blob || r->ent) { /* fetched ahead (scan_ahead.c), or cached */
            req_of[r->slot] = -1;
            continue;
        }
        if (nq > 0 && es_scan_joins_request((int64_t)reqs[nq - 1].offset, cur_end, useful, r->off,
                                            r->len, cap)) {
            int64_t end = r->off + r->len;
            useful += end > cur_end ? end - (r->off > cur_end ? r->off : cur_end) : 0;
            if (end > cur_end)
                cur_end = end;
            reqs[nq - 1].len = (uint64_t)(cur_end - (int64_t)reqs[nq - 1].offset);
        } else {
            useful = r->len;
            cap = caps[i];
            reqs[nq].key = key;
            reqs[nq].offset = (uint64_t)r->off;
            reqs[nq].len = (uint64_t)r->len;
            cur_end = r->off + r->len;
            nq++;
        }
        req_of[r->slot] = nq - 1;
    }
    s = nq > 0 ? es_objstore_get_many(st->store->os, reqs, nq, err) : ES_OK;
    *requests += nq;
    for (int64_t q = 0; q < nq; q++)
        if (reqs[q].out)
            *bytes += (int64_t)reqs[q].out->size;
    if (s) {
        if (s == ES_NOT_FOUND)
            s = es_table_missing(err, key, st->t->name);
        goto done;
    }
    for (int64_t i = 0; i < nr; i++) {
        range *r = &rs[i];
        if (req_of[i] < 0)
            continue;
        es_range_req *q = &reqs[req_of[i]];
        uint64_t rel = (uint64_t)r->off - q->offset;
        if (!q->out || rel + (uint64_t)r->len > q->out->size) {
            s = es_error_set(err, ES_CORRUPT, 0, "%s: truncated (batch range past the end)", key);
            goto done;
        }
        s = es_blob_new_slice(&r->blob, q->out, (size_t)rel, (size_t)r->len);
        if (s) {
            s = es_error_set(err, ES_NOMEM, 0, "scan: out of memory");
            goto done;
        }
    }
done:
    for (int64_t q = 0; q < nr && reqs; q++)
        es_blob_unref(reqs[q].out);
    es_free(reqs);
    es_free(req_of);
    es_free(sorted);
    es_free(pairs);
    es_free(caps);
    return s;
}

/* Decode only the predicate columns of window slot `slot` (phase 1) and tell whether any row
 * satisfies the predicate. */
static es_status probe_batch(scan_state *st, int64_t slot, int *any, es_error *err)
{
    es_part_idx *x = st->idx;
    int64_t b = st->batches[st->win_start + slot];
    size_t nk = (size_t)(st->n_which > 0 ? st->n_which : 1);
    int64_t rows = x->rows[b], n1 = 0;
    int64_t *which1 = es_calloc(nk, sizeof(int64_t)), *pos = es_calloc(nk, sizeof(int64_t));
    int64_t *ks1 = es_calloc(nk, sizeof(int64_t));
    const es_array_view **pviews = es_calloc((size_t)st->t->n_cols, sizeof(es_array_view *));
    uint8_t *sel = es_malloc((size_t)(rows > 0 ? rows : 1));
    struct ArrowArray dec = {0};
    struct ArrowSchema dschema = {0};
    es_array_view whole;
    int have_view = 0;
    char key[256];
    es_status s = ES_OK;
    *any = 0;
    if (!which1 || !pos || !ks1 || !pviews || !sel) {
        s = es_error_set(err, ES_NOMEM, 0, "scan: out of memory");
        goto done;
    }
    for (int64_t k = 0; k < st->n_which; k++) {
        if (!st->kind_pred[k])
            continue;
        pos[k] = n1;
        ks1[n1] = k;
        which1[n1++] = st->which[k];
    }
    es_part_key(key, sizeof(key), st->t->id, x->part_id, "data");
    s = es_scan_decode(st, slot, b, ks1, n1, 0, &dec, key, err);
    if (s)
        goto done;
    s = es_schema_init_struct(&dschema, n1, err);
    for (int64_t j = 0; j < n1 && !s; j++)
        s = es_schema_init(dschema.children[j], st->pcols[which1[j]].format, "c",
                           ARROW_FLAG_NULLABLE, err);
    memset(&whole, 0, sizeof(whole));
    if (!s) {
        s = es_array_view_init(&whole, &dschema, &dec, err);
        have_view = s == ES_OK;
    }
    if (s) {
        es_error_prefix(err, "%s: batch %lld", key, (long long)b);
        s = s == ES_NOMEM ? ES_NOMEM : ES_CORRUPT;
        goto done;
    }
    for (int64_t c = 0; c < st->t->n_cols; c++) {
        int64_t k = st->tab2dec[c];
        if (k >= 0 && st->kind_pred[k])
            pviews[c] = &whole.children[pos[k]];
    }
    s = es_pred_eval(st->pred, pviews, dec.length, sel, err);
    /* Any row selected: eight flags at a time (most probed batches select none). */
    for (int64_t i = 0; i < dec.length && !s && !*any; i += 8) {
        uint64_t w = 0;
        memcpy(&w, sel + i, (size_t)(dec.length - i < 8 ? dec.length - i : 8));
        *any = w != 0;
    }
done:
    if (have_view)
        es_array_view_reset(&whole);
    es_schema_release(&dschema);
    es_array_release(&dec);
    es_free(which1);
    es_free(pos);
    es_free(ks1);
    es_free(pviews);
    es_free(sel);
    return s;
}

/* Phase 1 of window slot i on a thread (par_for). */
static void probe_slot(scan_state *st, int64_t i)
{
    int any = 0;
    st->par_st[i] = probe_batch(st, i, &any, &st->par_err[i]);
    st->win_match[i] = (uint8_t)any;
}

/* Add to rs[*nr...] the ranges of window slot `slot` (batch b): its needed columns (phase 0:
 * all; 1: the predicate's; 2: the others), each from the column cache or to fetch
 * (es_scan_col_range), and its metadata when some column is to be decoded and `has_meta` is
 * 0. */
static void batch_ranges(scan_state *st, range *rs, int64_t *nr, int64_t slot, int64_t b, int phase,
                         int has_meta)
{
    int need_meta = 0;
    for (int64_t k = 0; k < st->n_which; k++) {
        if ((phase == 1 && !st->kind_pred[k]) || (phase == 2 && st->kind_pred[k]))
            continue;
        need_meta |= !es_scan_col_range(st, rs, nr, slot, b, k);
    }
    if (need_meta && !has_meta && !st->idx->paged) /* (a page decodes without it) */
        rs[(*nr)++] = (range){st->idx->offset[b], st->idx->meta_len[b], slot, -1, NULL, NULL};
}

/*
 * Fetch the window of batches starting at st->batch_i. In two-phase mode (a predicate on a
 * column other than the sort key, and needed columns it does not read), the metadata and the
 * predicate's columns come first; the other columns are then fetched only for the batches
 * where some row matches. When most batches of a window match, the scan stops doing that (the
 * second round trip would cost more than it saves).
 */
/* How many batches the window starting at `from` holds (scan_int.h). */
int64_t es_scan_window_size(const scan_state *st, int64_t from)
{
    es_part_idx *x = st->idx;
    int64_t n = 0, bytes = 0;
    while (from + n < st->n_batches && n < SCAN_WINDOW) {
        int64_t b = st->batches[from + n];
        int64_t need = es_part_idx_meta_fetch(x, b);
        for (int64_t k = 0; k < st->n_which; k++)
            need += es_part_idx_bytes(x, b * x->n_cols + st->which[k]);
        if (n > 0 && bytes + need > SCAN_WINDOW_BYTES)
            break;
        bytes += need;
        n++;
    }
    return n;
}

static void *prefetch_run(void *arg)
{
    scan_state *st = arg;
    st->pf_st = fetch_ranges(st, st->pf_ranges, st->pf_n_ranges, &st->pf_err);
    return NULL;
}

/* Start fetching the window after the current one (one-phase windows of the same part). */
static void prefetch_start(scan_state *st)
{
    int64_t from = st->win_start + st->win_n;
    if (st->pf_running || st->pf_ranges || from >= st->n_batches)
        return;
    int64_t n = es_scan_window_size(st, from);
    range *rs = es_calloc((size_t)(n * (1 + 3 * st->n_which)), sizeof(range));
    if (!rs)
        return; /* fetched when needed instead */
    int64_t nr = 0;
    for (int64_t i = 0; i < n; i++)
        batch_ranges(st, rs, &nr, i, st->batches[from + i], 0, 0);
    st->pf_ranges = rs;
    st->pf_n_ranges = nr;
    st->pf_start = from;
    st->pf_n = n;
    st->pf_st = ES_OK;
    st->pf_running = pthread_create(&st->pf_th, NULL, prefetch_run, st) == 0;
    if (!st->pf_running)
        prefetch_drop(st);
}

static es_status fetch_window(scan_state *st, es_error *err)
{
    free_window(st);
    int phased = st->part_two_phase && st->two_phase;
    prefetch_join(st);
    if (st->pf_ranges && st->pf_start == st->batch_i && !phased) {
        /* The prefetched window: its ranges are this window's. */
        es_status s = st->pf_st;
        if (s && err)
            *err = st->pf_err;
        st->ranges = st->pf_ranges;
        st->n_ranges = st->pf_n_ranges;
        st->win_start = st->pf_start;
        st->win_n = st->pf_n;
        st->pf_ranges = NULL;
        st->pf_n_ranges = st->pf_n = 0;
        if (!s)
            prefetch_start(st);
        if (!s && st->win_start + st->win_n >= st->n_batches)
            es_scan_ahead_start(st);
        return s;
    }
    prefetch_drop(st);
    int64_t n = es_scan_window_size(st, st->batch_i);
    st->win_start = st->batch_i;
    st->win_n = n;
    int64_t cap = n * (1 + 3 * st->n_which);
    st->ranges = es_calloc((size_t)(cap > 0 ? cap : 1), sizeof(range));
    if (!st->ranges)
        return es_error_set(err, ES_NOMEM, 0, "scan: out of memory");
    for (int64_t i = 0; i < n; i++)
        batch_ranges(st, st->ranges, &st->n_ranges, i, st->batches[st->batch_i + i], phased, 0);
    es_scan_ahead_take(st); /* the part's first window may have been fetched ahead */
    es_status s = fetch_ranges(st, st->ranges, st->n_ranges, err);
    if (!s && !phased)
        prefetch_start(st);
    if (!s && st->win_start + st->win_n >= st->n_batches)
        es_scan_ahead_start(st); /* the part's last window: the next part's first one */
    if (s || !phased)
        return s;
    st->win_match = es_calloc((size_t)(n > 0 ? n : 1), 1);
    if (!st->win_match)
        return es_error_set(err, ES_NOMEM, 0, "scan: out of memory");
    int64_t matched = 0;
    if (st->threads > 1 && n > 1) {
        /* Phase 1 on the threads (the results of the last chunk were released above). */
        s = par_alloc(st, err);
        if (s)
            return s;
        for (int64_t i = 0; i < n; i++)
            st->par_st[i] = ES_OK;
        par_for(st, n, probe_slot);
        for (int64_t i = 0; i < n; i++)
            if (st->par_st[i]) {
                if (err)
                    *err = st->par_err[i];
                return st->par_st[i];
            }
    } else {
        for (int64_t i = 0; i < n; i++) {
            int any = 0;
            s = probe_batch(st, i, &any, err);
            if (s)
                return s;
            st->win_match[i] = (uint8_t)any;
        }
    }
    for (int64_t i = 0; i < n; i++)
        matched += st->win_match[i];
    int64_t from = st->n_ranges;
    for (int64_t i = 0; i < n; i++) {
        if (!st->win_match[i])
            continue;
        int has_meta = 0;
        for (int64_t r = 0; r < from; r++)
            has_meta |= st->ranges[r].slot == i && st->ranges[r].kind < 0;
        batch_ranges(st, st->ranges, &st->n_ranges, i, st->batches[st->batch_i + i], 2, has_meta);
    }
    if (matched * 2 > n)
        st->two_phase = 0;
    return fetch_ranges(st, st->ranges + from, st->n_ranges - from, err);
}

static int64_t has_duplicates(const scan_state *st)
{
    for (int64_t i = 0; i < st->n_out; i++)
        for (int64_t j = 0; j < i; j++)
            if (st->out_cols[i] == st->out_cols[j])
                return 1;
    return 0;
}

static es_status finish_batch(scan_state *st, int64_t b, int64_t first, struct ArrowArray *dec_in,
                              struct ArrowArray *out, int64_t *scanned, es_error *err);
/* A struct view over a decoded batch (its columns as the table defines them). */
static es_status batch_view(const scan_state *st, const struct ArrowArray *dec,
                            es_array_view *whole, es_error *err)
{
    struct ArrowSchema dschema = {0};
    es_status s = es_schema_init_struct(&dschema, st->n_dec, err);
    for (int64_t k = 0; k < st->n_dec && !s; k++)
        s = es_schema_init(dschema.children[k], st->dec_cols[k]->format, "c", ARROW_FLAG_NULLABLE,
                           err);
    memset(whole, 0, sizeof(*whole));
    if (!s)
        s = es_array_view_init(whole, &dschema, dec, err);
    es_schema_release(&dschema);
    return s;
}

/* Decode window slot `slot` (batch b of the part), filter it, and leave its output batch in
 * *out (release NULL when no row is returned); *scanned: its rows. Reads st, writes nothing
 * in it, so the batches of a window can be processed by several threads at once. */
static es_status process_batch(scan_state *st, int64_t slot, int64_t b, struct ArrowArray *out,
                               int64_t *scanned, es_error *err)
{
    out->release = NULL;
    *scanned = 0;
    char key[256];
    es_part_key(key, sizeof(key), st->t->id, st->idx->part_id, "data");
    struct ArrowArray dec = {0};
    es_status s =
        es_scan_decode(st, slot, b, NULL, st->n_which, es_scan_keep_dict(st, b), &dec, key, err);
    if (s)
        return s;
    return finish_batch(st, b, st->first_row[b], &dec, out, scanned, err);
}

/* keep_dictionary: only batches returned as decoded (zero-copy) keep their dictionaries:
 * without deleted rows, or with them under a selection mask (finish_batch reads no value of a
 * batch that only loses deleted rows then). */
int es_scan_keep_dict(const scan_state *st, int64_t b)
{
    return st->keep_dict && st->pred->kind == ES_PRED_TRUE && !st->keys && !st->with_pos &&
           !st->evolve && !has_duplicates(st) &&
           (st->selection ||
            es_dv_count_range(&st->dv, (uint64_t)st->first_row[b],
                              (uint64_t)(st->first_row[b] + st->idx->rows[b])) == 0);
}

/* Filter decoded batch *dec_in (batch b of the part; taken over) and leave its output in *out.
 * first: the position of its first row, or -1 for the rows of index hits (es_lookup_rows:
 * deleted ones already left out). */
static es_status finish_batch(scan_state *st, int64_t b, int64_t first, struct ArrowArray *dec_in,
                              struct ArrowArray *out, int64_t *scanned, es_error *err)
{
    struct ArrowArray dec = *dec_in;
    dec_in->release = NULL;
    char key[256];
    es_part_key(key, sizeof(key), st->t->id, st->idx->part_id, "data");
    es_status s = ES_OK;
    if (st->evolve)
        s = es_evolve_batch(&dec, st->dec_src, st->dec_cols, st->n_which, st->n_dec - st->n_which,
                            err);
    if (s == ES_CORRUPT)
        es_error_prefix(err, "%s", key);
    if (s) {
        es_array_release(&dec);
        return s;
    }
    int64_t rows = dec.length;
    *scanned = rows;
    int64_t n_del =
        first < 0 ? 0 : es_dv_count_range(&st->dv, (uint64_t)first, (uint64_t)(first + rows));
    int all = st->pred->kind == ES_PRED_TRUE && n_del == 0 && !st->keys && !st->with_pos;
    uint8_t *sel = NULL;
    es_array_view *views = NULL;
    const es_array_view **pviews = NULL;
    int64_t selected = rows;
    int sliced = 0, masked = 0;
    if (!all) {
        views = es_calloc((size_t)(st->n_dec > 0 ? st->n_dec : 1), sizeof(es_array_view));
        pviews = es_calloc((size_t)st->t->n_cols, sizeof(es_array_view *));
        sel = es_malloc((size_t)(rows > 0 ? rows : 1));
        if (!views || !pviews || !sel) {
            s = es_error_set(err, ES_NOMEM, 0, "scan: out of memory");
            goto batch_done;
        }
        /* A struct view over the decoded batch, unless the batch only loses deleted rows and
         * goes out whole with its mask (or sliced): nothing reads its values then. */
        es_array_view whole;
        memset(&whole, 0, sizeof(whole));
        if (st->pred->kind != ES_PRED_TRUE || st->keys || st->with_pos || !st->selection ||
            has_duplicates(st))
            s = batch_view(st, &dec, &whole, err);
        if (s) {
            es_error_prefix(err, "%s: batch %lld", key, (long long)b);
            s = s == ES_NOMEM ? ES_NOMEM : ES_CORRUPT;
            goto batch_done;
        }
        for (int64_t c = 0; c < st->t->n_cols && whole.children; c++)
            if (st->tab2dec[c] >= 0)
                pviews[c] = &whole.children[st->tab2dec[c]];
        if (st->pred->kind == ES_PRED_TRUE)
            memset(sel, 1, (size_t)rows);
        else
            s = es_pred_eval(st->pred, pviews, rows, sel, err);
        /* Deleted rows are never returned. */
        for (int64_t d = first < 0 ? st->dv.n : es_dv_lower_bound(&st->dv, (uint64_t)first);
             d < st->dv.n && st->dv.pos[d] < (uint64_t)(first + rows); d++)
            sel[st->dv.pos[d] - (uint64_t)first] = 0;
        if (st->keys) {
            /* Rows come in key order (a part is sorted by its key): a cursor j into the keys
             * moves forward with them (keys[j - 1] < the last row's key <= keys[j]), and only
             * a row that goes back searches from the start. */
            const es_array_view *kv = &whole.children[st->tab2dec[st->key_col]];
            int64_t j = 0;
            for (int64_t i = 0; i < rows; i++) {
                if (!sel[i])
                    continue;
                es_scalar v;
                memset(&v, 0, sizeof(v));
                if (es_view_is_null(kv, i)) {
                    sel[i] = 0;
                    continue;
                }
                es_scalar_from_view(&v, st->key_dom, kv, i);
                if (j > 0 && es_scalar_cmp(st->key_dom, &v, &st->keys[j - 1]) <= 0)
                    j = key_lower_bound(st, &v);
                else if (j < st->n_keys && es_scalar_cmp(st->key_dom, &st->keys[j], &v) < 0)
                    j = key_lower_bound_from(st, &v, j + 1);
                sel[i] = j < st->n_keys && es_scalar_cmp(st->key_dom, &st->keys[j], &v) == 0;
            }
        }
        selected = 0;
        for (int64_t i = 0; i < rows; i++)
            selected += sel[i];
        if (!s && st->with_pos) {
            if (selected > 0)
                s = es_scan_build_output(st, whole.children, sel, rows, first, out, err);
            selected = 0; /* the output is built */
        } else if (!s && selected > 0 && selected < rows) {
            if (!has_duplicates(st) && es_scan_slice_run(&dec, sel, rows, selected))
                sliced = 1;
            else if (st->selection && !has_duplicates(st))
                masked = 1; /* the whole batch, zero-copy, with sel as its mask */
            else
                s = es_scan_build_output(st, whole.children, sel, rows, first, out, err);
        }
        es_array_view_reset(&whole);
        if (s)
            goto batch_done;
    }
    if ((selected == rows && rows > 0) || sliced || masked) {
        if (has_duplicates(st)) {
            /* Copy path: a column appears twice in the projection. */
            es_array_view whole;
            s = batch_view(st, &dec, &whole, err);
            if (!s) {
                uint8_t *ones = es_malloc((size_t)rows);
                if (!ones) {
                    s = es_error_set(err, ES_NOMEM, 0, "scan: out of memory");
                } else {
                    memset(ones, 1, (size_t)rows);
                    s = es_scan_build_output(st, whole.children, ones, rows, first, out, err);
                    es_free(ones);
                }
                es_array_view_reset(&whole);
            }
        } else {
            s = es_scan_project_zero_copy(st, &dec, out, err);
        }
    }
    if (!s && st->selection && out->release) {
        s = es_scan_add_selection(out, masked ? sel : NULL, masked ? selected : out->length, err);
        if (masked)
            sel = NULL; /* taken */
    }
batch_done:
    es_free(sel);
    es_free(views);
    es_free(pviews);
    es_array_release(&dec);
    if (s)
        es_array_release(out);
    return s;
}

typedef struct par_job {
    scan_state *st;
    par_fn fn;
    int64_t n;
    int64_t next; /* the next index to take (atomic) */
} par_job;

static void *par_worker(void *arg)
{
    par_job *j = arg;
    for (;;) {
        int64_t i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
        if (i >= j->n)
            return NULL;
        j->fn(j->st, i);
    }
}

/* Run fn(st, i) for i in [0, n) on up to st->threads threads, this one included. */
static void par_for(scan_state *st, int64_t n, par_fn fn)
{
    par_job j = {st, fn, n, 0};
    pthread_t th[256];
    int started = 0;
    while (started < st->threads - 1 && started + 1 < n &&
           pthread_create(&th[started], NULL, par_worker, &j) == 0)
        started++;
    par_worker(&j);
    for (int k = 0; k < started; k++)
        pthread_join(th[k], NULL);
}

/* The per-slot results of par_for (SCAN_WINDOW of each). */
static es_status par_alloc(scan_state *st, es_error *err)
{
    if (st->par_out)
        return ES_OK;
    st->par_out = es_calloc(SCAN_WINDOW, sizeof(struct ArrowArray));
    st->par_rows = es_calloc(SCAN_WINDOW, sizeof(int64_t));
    st->par_st = es_calloc(SCAN_WINDOW, sizeof(es_status));
    st->par_err = es_calloc(SCAN_WINDOW, sizeof(es_error));
    if (!st->par_out || !st->par_rows || !st->par_st || !st->par_err)
        return es_error_set(err, ES_NOMEM, 0, "scan: out of memory");
    return ES_OK;
}

static void chunk_slot(scan_state *st, int64_t i)
{
    int64_t slot = st->par_from + i;
    if (st->win_match && !st->win_match[slot])
        return;
    if (es_store_interrupted(st->store))
        st->par_st[i] = es_error_set(&st->par_err[i], ES_INTERRUPTED, 0, "interrupted");
    else
        st->par_st[i] = process_batch(st, slot, st->batches[st->win_start + slot], &st->par_out[i],
                                      &st->par_rows[i], &st->par_err[i]);
}

/* Process window slots [slot, slot + chunk) with st->threads threads (this one included). */
static es_status run_chunk(scan_state *st, int64_t slot, es_error *err)
{
    par_release(st);
    es_status s = par_alloc(st, err);
    if (s)
        return s;
    int64_t n = st->win_n - slot < st->par_chunk ? st->win_n - slot : st->par_chunk;
    st->par_from = slot;
    st->par_to = slot + n;
    for (int64_t i = 0; i < n; i++) {
        st->par_out[i].release = NULL;
        st->par_rows[i] = 0;
        st->par_st[i] = ES_OK;
    }
    par_for(st, n, chunk_slot);
    st->par_ready = 1;
    st->par_chunk = st->par_chunk * 2 < SCAN_WINDOW ? st->par_chunk * 2 : SCAN_WINDOW;
    return ES_OK;
}

/* Produce the next non-empty output batch; out->release NULL at the end. */
static es_status scan_next(scan_state *st, struct ArrowArray *out, es_error *err)
{
    out->release = NULL;
    while (!st->done) {
        /* Between batches, and before the requests for a part's index or a window. */
        if (es_store_interrupted(st->store))
            return es_error_set(err, ES_INTERRUPTED, 0, "interrupted");
        if (!st->idx) {
            int got;
            es_status s = es_scan_next_part(st, &got, err);
            if (s)
                return s;
            if (!got) {
                st->done = 1;
                return ES_OK;
            }
        }
        if (st->batch_i >= st->n_batches) {
            es_scan_end_part(st);
            continue;
        }
        if (st->point) {
            /* Only the rows of the index's hits, in one output batch for the part. */
            struct ArrowArray dec;
            int64_t scanned = 0;
            es_status s = es_lookup_rows(&dec, st->store, st->t, st->idx, st->pcols, st->which,
                                         st->n_which, st->first_row, st->hits, st->n_hits,
                                         &st->stats->requests, &st->stats->bytes_fetched, err);
            st->batch_i = st->n_batches;
            if (s == ES_UNSUPPORTED) { /* read the batches whole */
                st->point = 0;
                st->batch_i = 0;
                continue;
            }
            if (!s) {
                st->stats->index_rows += st->n_hits;
                s = finish_batch(st, -1, -1, &dec, out, &scanned, err);
            }
            st->stats->rows_scanned += scanned;
            if (s)
                return s;
            if (out->release) {
                st->stats->rows_returned += out->length;
                return ES_OK;
            }
            continue;
        }
        if (st->batch_i >= st->win_start + st->win_n || !st->ranges) {
            es_status s = fetch_window(st, err);
            if (s)
                return s;
        }
        int64_t slot = st->batch_i - st->win_start;
        int64_t b = st->batches[st->batch_i++];
        if (st->win_match && !st->win_match[slot]) {
            st->stats->rows_scanned += st->idx->rows[b];
            continue;
        }
        int64_t scanned = 0;
        es_status s;
        if (st->threads > 1 && st->win_n - slot > 1 && st->seq_done >= SCAN_SEQ_BATCHES &&
            !(st->par_ready && slot >= st->par_from && slot < st->par_to)) {
            s = run_chunk(st, slot, err);
            if (s)
                return s;
        }
        if (st->par_ready && slot >= st->par_from && slot < st->par_to) {
            /* Processed already by the window's threads. */
            *out = st->par_out[slot - st->par_from];
            st->par_out[slot - st->par_from].release = NULL;
            scanned = st->par_rows[slot - st->par_from];
            s = st->par_st[slot - st->par_from];
            if (s && err)
                *err = st->par_err[slot - st->par_from];
        } else {
            s = process_batch(st, slot, b, out, &scanned, err);
        }
        st->stats->rows_scanned += scanned;
        st->seq_done++;
        if (s)
            return s;
        if (out->release) {
            st->stats->rows_returned += st->selection ? es_scan_selected(out) : out->length;
            return ES_OK;
        }
    }
    return ES_OK;
}

/* ------------------------------------------------------------ the stream */

static int stream_get_schema(struct ArrowArrayStream *s, struct ArrowSchema *out)
{
    scan_state *st = s->private_data;
    es_error err;
    if (es_schema_copy(out, &st->out_schema, &err)) {
        snprintf(st->msg, sizeof(st->msg), "%s", err.msg);
        return ENOMEM;
    }
    return 0;
}

/* The store's round trips since the scan began (es_scan_stats.round_trips). */
static void count_round_trips(scan_state *st)
{
    es_objstore_stats os;
    es_objstore_get_stats(st->store->os, &os);
    st->stats->round_trips = os.round_trips - st->round_trips0;
}

static int stream_get_next(struct ArrowArrayStream *s, struct ArrowArray *out)
{
    scan_state *st = s->private_data;
    es_error err;
    es_status r = scan_next(st, out, &err);
    count_round_trips(st);
    if (r) {
        snprintf(st->msg, sizeof(st->msg), "%s", err.msg);
        st->done = 1;
        return status_errno(r);
    }
    return 0;
}

static const char *stream_last_error(struct ArrowArrayStream *s)
{
    scan_state *st = s->private_data;
    return st->msg[0] ? st->msg : NULL;
}

static void free_state(scan_state *st)
{
    if (!st)
        return;
    es_scan_end_part(st);
    es_scan_ahead_drop(st);
    es_index_query_free(st->ixq);
    es_free(st->par_out);
    es_free(st->par_rows);
    es_free(st->par_st);
    es_free(st->par_err);
    es_pred_free(st->pred);
    es_free(st->out_cols);
    es_free(st->need);
    es_free(st->pneed);
    es_free(st->pstats);
    es_schema_release(&st->out_schema);
    es_tabledef_unref(st->t);
    es_free(st);
}

static void stream_release(struct ArrowArrayStream *s)
{
    free_state(s->private_data);
    s->release = NULL;
}

/* The caller's options into *o: those of version 1 read only the fields it has (the later ones
 * keep their defaults). */
es_status es_scan_read_options(es_scan_options *o, const es_scan_options *opts, es_error *err)
{
    es_scan_options defaults = ES_SCAN_OPTIONS_INIT;
    *o = defaults;
    if (!opts)
        return ES_OK;
    if (opts->version != 1 && opts->version != ES_SCAN_OPTIONS_VERSION)
        return es_error_set(err, ES_INVALID, 0, "scan: unknown options version %d", opts->version);
    if (opts->version == 1)
        memcpy(o, opts, offsetof(es_scan_options, selection));
    else
        *o = *opts;
    return ES_OK;
}

/* scanner_open's flags: plan while the read refresh is in flight (probe.c); fetch no data
 * (es_scan_plan: the first part, when started, is left to the caller). */
enum { OPEN_SPECULATE = 1, OPEN_NO_DATA = 2 };

static es_status scanner_open(es_scanner **out, es_store *s, const char *table,
                              const es_scan_options *opts_in, const es_scan_ext *ext, int flags,
                              es_error *err);

/* A plain scan of the newest version plans while the read refresh is in flight (probe.c). */
es_status es_scanner_open(es_scanner **out, es_store *s, const char *table,
                          const es_scan_options *opts_in, const es_scan_ext *ext, es_error *err)
{
    return scanner_open(out, s, table, opts_in, ext, ext == NULL ? OPEN_SPECULATE : 0, err);
}

es_status es_scanner_open_plan(es_scanner **out, es_store *s, const char *table,
                               const es_scan_options *opts, es_error *err)
{
    return scanner_open(out, s, table, opts, NULL, OPEN_SPECULATE | OPEN_NO_DATA, err);
}

static es_status scanner_open(es_scanner **out, es_store *s, const char *table,
                              const es_scan_options *opts_in, const es_scan_ext *ext, int flags,
                              es_error *err)
{
    int speculate = flags & OPEN_SPECULATE;
    *out = NULL;
    es_store_probe probe = {.running = 0};
    es_scan_options o;
    const es_scan_options *opts = &o;
    if (!table && !(ext && ext->table))
        return es_error_set(err, ES_INVALID, 0, "scan: table name is NULL");
    es_status rv = es_scan_read_options(&o, opts_in, err);
    if (rv)
        return rv;
    scan_state *st = es_calloc(1, sizeof(*st));
    es_pred_column *pc = NULL;
    es_status r = ES_OK;
    if (!st)
        return es_error_set(err, ES_NOMEM, 0, "scan: out of memory");
    st->stats = opts->stats ? opts->stats : &st->local_stats;
    memset(st->stats, 0, sizeof(*st->stats));
    st->keep_dict = opts->version >= 2 && opts->keep_dictionary;
    st->cache_token = es_colcache_token(s->colcache);
    st->store = s;
    st->key_col = -1;
    es_objstore_stats os0;
    es_objstore_get_stats(s->os, &os0);
    st->round_trips0 = os0.round_trips;
    if (ext && ext->table) {
        st->t = es_tabledef_ref(ext->table);
        table = st->t->name;
    } else if (speculate && opts->at_version < 0) {
        r = es_store_table_probe(&st->t, &probe, s, table, err);
        if (r)
            goto fail;
    } else {
        r = es_store_table(&st->t, s, table, opts->at_version, err);
        if (r)
            goto fail;
    }
    es_tabledef *t = st->t;
    if (ext) {
        st->with_pos = ext->with_pos;
        if (ext->keys) {
            int64_t kc = ext->keys_column ? es_tabledef_col_index(t, ext->keys_column) : t->pk;
            if (kc < 0) {
                r = es_error_set(err, ES_INVALID, 0, "table '%s' has no primary key", table);
                goto fail;
            }
            st->keys = ext->keys;
            st->n_keys = ext->n_keys;
            st->key_col = kc;
            st->key_dom = es_expr_domain(t->cols[kc].type.id);
        }
    }
    /* Projection. */
    st->n_out = opts->columns ? opts->n_columns : t->n_cols;
    if (st->n_out < 0 ||
        (opts->columns == NULL && opts->n_columns != 0 && opts->n_columns != t->n_cols)) {
        r = es_error_set(err, ES_INVALID, 0, "scan '%s': bad projection", table);
        goto fail;
    }
    st->out_cols = es_calloc((size_t)(st->n_out > 0 ? st->n_out : 1), sizeof(int64_t));
    st->need = es_calloc((size_t)t->n_cols, 1);
    st->pneed = es_calloc((size_t)t->n_cols, 1);
    st->pstats = es_calloc((size_t)t->n_cols, sizeof(es_pred_stats));
    pc = es_calloc((size_t)t->n_cols, sizeof(es_pred_column));
    if (!st->out_cols || !st->need || !st->pneed || !st->pstats || !pc) {
        r = es_error_set(err, ES_NOMEM, 0, "scan: out of memory");
        goto fail;
    }
    for (int64_t k = 0; k < st->n_out; k++) {
        if (opts->columns) {
            st->out_cols[k] = opts->columns[k] ? es_tabledef_col_index(t, opts->columns[k]) : -1;
            if (st->out_cols[k] < 0) {
                r = es_error_set(err, ES_INVALID, 0, "scan '%s': no column '%s'", table,
                                 opts->columns[k] ? opts->columns[k] : "(null)");
                goto fail;
            }
        } else {
            st->out_cols[k] = k;
        }
        st->need[st->out_cols[k]] = 1;
    }
    /* Predicate. */
    for (int64_t c = 0; c < t->n_cols; c++) {
        pc[c].name = t->cols[c].name;
        pc[c].type = t->cols[c].type;
    }
    r = es_pred_bind(&st->pred, opts->predicate, pc, t->n_cols, err);
    if (r)
        goto fail;
    es_pred_columns(st->pred, st->need);
    es_pred_columns(st->pred, st->pneed);
    r = es_index_query_new(&st->ixq, t, st->pred, err);
    if (!r && !st->ixq && st->keys && st->key_col != t->pk) /* values of a unique index */
        r = es_index_query_keys(&st->ixq, t, st->key_col, st->keys, st->n_keys, err);
    if (r)
        goto fail;
    if (st->ixq)
        snprintf(st->stats->index_name, sizeof(st->stats->index_name), "%s", st->ixq->def->name);
    /* In a transaction, what this scan may see joins the read set (SERIALIZABLE). */
    if (s->txn && opts->at_version < 0) {
        r = es_txn_note_scan(s->txn, t, st->pred, st->keys, st->keys ? st->n_keys : 0, st->key_col,
                             err);
        if (r)
            goto fail;
    }
    if (st->key_col >= 0)
        st->need[st->key_col] = 1;
    st->two_phase = st->pred->kind != ES_PRED_TRUE;
    st->threads = s->threads > 0 ? s->threads : 1;
    st->par_chunk = st->threads;
    /* Output schema with logical names (and the positions the mutations ask for, and the
     * selection mask). */
    st->selection = opts->selection != 0;
    r = es_schema_init_struct(&st->out_schema, st->n_out + (st->with_pos ? 2 : 0) + st->selection,
                              err);
    for (int64_t k = 0; k < st->n_out && !r; k++) {
        const es_column *col = &t->cols[st->out_cols[k]];
        r = es_schema_init(st->out_schema.children[k], col->format, col->name,
                           col->nullable ? ARROW_FLAG_NULLABLE : 0, err);
    }
    if (!r && st->with_pos) {
        r = es_schema_init(st->out_schema.children[st->n_out], "l", "_part", 0, err);
        if (!r)
            r = es_schema_init(st->out_schema.children[st->n_out + 1], "l", "_pos", 0, err);
    }
    if (!r && st->selection)
        r = es_schema_init(st->out_schema.children[st->out_schema.n_children - 1], "C", "_sel", 0,
                           err);
    if (r)
        goto fail;
    r = load_manifests(st, err);
    if (!r &&
        (probe.running || (s->spec.running && !ext && opts->at_version == s->snap->version))) {
        /* The first part's .idx (vector, index object) while the refresh probe is in flight,
         * and its first window too when those were cached (no request: a warm query's data
         * then comes in the probe's round trip); dropped with the plan if the probe finds a
         * newer version. After a request the probe has had its round trip: it is awaited. */
        int got = 0;
        int64_t req0 = st->stats->requests;
        r = es_scan_next_part(st, &got, err);
        if (!r && got && !st->point && st->stats->requests == req0 && !(flags & OPEN_NO_DATA))
            r = fetch_window(st, err);
    }
    if (r)
        goto fail;
    if (es_store_probe_join(&probe)) {
        free_state(st);
        es_free(pc);
        return scanner_open(out, s, table, opts_in, ext, flags & ~OPEN_SPECULATE, err);
    }
    count_round_trips(st);
    es_free(pc);
    *out = st;
    return ES_OK;
fail:
    es_free(pc);
    free_state(st);
    if (es_store_probe_join(&probe)) /* the failure may be the older snapshot's */
        return scanner_open(out, s, table, opts_in, ext, flags & ~OPEN_SPECULATE, err);
    return r;
}

es_status es_scanner_next(es_scanner *sc, struct ArrowArray *out, es_error *err)
{
    es_status s = scan_next(sc, out, err);
    count_round_trips(sc);
    if (s)
        sc->done = 1;
    return s;
}

const struct ArrowSchema *es_scanner_schema(const es_scanner *sc)
{
    return &sc->out_schema;
}

void es_scanner_close(es_scanner *sc)
{
    free_state(sc);
}

es_status es_scan_impl(es_store *s, const char *table, const es_scan_options *opts,
                       struct ArrowArrayStream *out, es_error *err)
{
    memset(out, 0, sizeof(*out));
    es_scanner *st = NULL;
    es_status r = es_scanner_open(&st, s, table, opts, NULL, err);
    if (r)
        return r;
    out->get_schema = stream_get_schema;
    out->get_next = stream_get_next;
    out->get_last_error = stream_last_error;
    out->release = stream_release;
    out->private_data = st;
    return ES_OK;
}
