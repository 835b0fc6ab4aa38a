/*
 * scan_ahead: prefetch across parts (table layer, part of the scanner; scan_int.h). Within a
 * part the scanner fetches the next window while the current one is decoded (scan.c,
 * prefetch_start); here, when the current part's last window has been fetched, the first
 * window of the next part is fetched too, on a thread of its own, so that moving from part k
 * to part k + 1 does not wait a round trip.
 *
 * Which part and which ranges: the next part with live rows and an object (not inlined in
 * the log), and its first batches up to the window's limits (SCAN_WINDOW, SCAN_WINDOW_BYTES),
 * each batch's metadata and the chunks of the columns the scan needs. Only scans that read
 * every batch of every part do this (no predicate, no keys, no index): for them those are
 * exactly the ranges the part's first window asks for, except batches a deletion vector
 * removes entirely. The next part's .idx is read (or found in the handle's cache) on the
 * scanner's thread before the prefetch starts: the cache is not shared with the thread.
 *
 * Handing over (es_scan_ahead_take, before a window is fetched): when the scanner reaches
 * that part, each range of its window with the same offset and length as a range fetched
 * ahead takes that blob; the rest is fetched as usual (es_scan_fetch_part leaves out ranges
 * with a blob). A failed prefetch is forgotten: its ranges are fetched again, and a real
 * error is reported then. The requests and bytes fetched ahead count in the scan's
 * statistics when handed over or dropped.
 */
#include <pthread.h>
#include <stdlib.h>

#include "table/scan_int.h"

static void *ahead_run(void *arg)
{
    scan_state *st = arg;
    st->ah_st = es_scan_fetch_part(st, st->t->parts[st->ah_part], st->ah_ranges, st->ah_n,
                                   &st->ah_requests, &st->ah_bytes, &st->ah_err);
    return NULL;
}

void es_scan_ahead_drop(scan_state *st)
{
    if (st->ah_running)
        pthread_join(st->ah_th, NULL);
    st->ah_running = 0;
    for (int64_t i = 0; i < st->ah_n; i++)
        es_blob_unref(st->ah_ranges[i].blob);
    es_free(st->ah_ranges);
    st->ah_ranges = NULL;
    st->ah_n = 0;
    st->stats->requests += st->ah_requests;
    st->stats->bytes_fetched += st->ah_bytes;
    st->ah_requests = st->ah_bytes = 0;
}

void es_scan_ahead_start(scan_state *st)
{
    const es_tabledef *t = st->t;
    if (st->ah_ranges || st->pred->kind != ES_PRED_TRUE || st->keys || st->ixq ||
        getenv("ES_SCAN_NO_AHEAD")) /* (for bench_roundtrips' comparison) */
        return;
    int64_t j = st->part_i; /* the next part es_scan_next_part looks at */
    while (j < t->n_parts && (es_part_live_rows(t->parts[j]) <= 0 || t->parts[j]->inline_ipc))
        j++;
    if (j >= t->n_parts)
        return;
    const es_part_meta *m = t->parts[j];
    es_part_idx *x = NULL;
    es_error err;
    if (es_store_part_idx(&x, st->store, t, m, &st->stats->requests, &st->stats->bytes_fetched,
                          &err) != ES_OK)
        return; /* reported when the scanner reaches the part */
    /* The part's columns the scan needs. */
    int64_t n_need = 0, bytes = 0, n = 0;
    int64_t *cols = es_calloc((size_t)(x->n_cols > 0 ? x->n_cols : 1), sizeof(int64_t));
    for (int64_t k = 0; cols && k < x->n_cols; k++)
        for (int64_t c = 0; c < t->n_cols; c++)
            if (t->cols[c].id == x->col_ids[k] && st->need[c])
                cols[n_need++] = k;
    while (cols && n < x->n_batches && n < SCAN_WINDOW) {
        int64_t need = x->meta_len[n];
        for (int64_t i = 0; i < n_need; i++)
            need += x->col_len[n * x->n_cols + cols[i]];
        if (n > 0 && bytes + need > SCAN_WINDOW_BYTES)
            break;
        bytes += need;
        n++;
    }
    range *rs = cols ? es_calloc((size_t)(n * (1 + n_need) + 1), sizeof(range)) : NULL;
    int64_t nr = 0;
    for (int64_t b = 0; rs && b < n; b++) {
        if (x->rows[b] == 0)
            continue;
        rs[nr++] = (range){x->offset[b], x->meta_len[b], b, -1, NULL};
        for (int64_t i = 0; i < n_need; i++) {
            int64_t ck = b * x->n_cols + cols[i];
            rs[nr++] = (range){x->col_off[ck], x->col_len[ck], b, i, NULL};
        }
    }
    es_free(cols);
    es_part_idx_free(x);
    if (!rs)
        return; /* out of memory: fetched when needed instead */
    st->ah_ranges = rs;
    st->ah_n = nr;
    st->ah_part = j;
    st->ah_st = ES_OK;
    st->ah_running = pthread_create(&st->ah_th, NULL, ahead_run, st) == 0;
    if (!st->ah_running)
        es_scan_ahead_drop(st);
}

void es_scan_ahead_take(scan_state *st)
{
    if (!st->ah_ranges)
        return;
    if (st->ah_part > st->part_index)
        return; /* for a part further on (this one was inlined or had no live rows) */
    if (st->ah_running)
        pthread_join(st->ah_th, NULL);
    st->ah_running = 0;
    if (st->ah_part == st->part_index && st->ah_st == ES_OK) {
        /* Both lists are in offset order within a batch; match by (offset, length). */
        int64_t j = 0;
        for (int64_t i = 0; i < st->n_ranges; i++) {
            range *r = &st->ranges[i];
            if (r->blob || r->len == 0)
                continue;
            int64_t k = j;
            while (k < st->ah_n &&
                   (st->ah_ranges[k].off != r->off || st->ah_ranges[k].len != r->len))
                k++;
            if (k == st->ah_n)
                continue;
            r->blob = st->ah_ranges[k].blob;
            st->ah_ranges[k].blob = NULL;
            j = k + 1;
        }
    }
    es_scan_ahead_drop(st);
}
