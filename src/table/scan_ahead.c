/*
 * scan_ahead: prefetch across parts (table layer, part of the scanner; scan_int.h). Within a
 * part the scanner fetches the next window while the current one is decoded (scan.c,
 * prefetch_start); here, when the current part's last window has been fetched, the first
 * windows of the next parts are fetched too, one thread (one get_many) per part, all at once,
 * so that moving from part k to part k + 1 does not wait a round trip, and a table of many
 * small parts is fetched a few parts per round trip instead of one.
 *
 * Which parts and ranges: the next parts with live rows and an object (not inlined in the
 * log), at most AHEAD_PARTS, and of each its first batches, within one window's limits over
 * all of them (SCAN_WINDOW batches, SCAN_WINDOW_BYTES): each batch's metadata and the chunks
 * of the columns the scan needs. Only scans that read every batch of every part do this (no
 * predicate, no keys, no index): for them those are exactly the ranges the parts' first
 * windows ask for, except batches a deletion vector removes entirely. The parts' .idx are
 * read (or found in the handle's cache, which is not shared with the threads) on the
 * scanner's thread before the prefetch starts; after a part whose .idx had to be fetched no
 * further part is added (a cold scan does not wait for several .idx in a row).
 *
 * Handing over (es_scan_ahead_take, before a window is fetched): when the scanner reaches a
 * prefetched part, each range of its window with the same offset and length as a range
 * fetched for it takes that blob; the rest is fetched as usual (es_scan_fetch_part leaves out
 * ranges with a blob). A failed prefetch is forgotten: its ranges are fetched again, and a
 * real error is reported then. Parts the scanner passed without fetching (every batch
 * deleted) are dropped. Requests and bytes fetched ahead count in the scan's statistics when
 * handed over or dropped.
 */
#include <pthread.h>
#include <stdlib.h>

#include "table/scan_int.h"

#define AHEAD_PARTS 4

typedef struct ahead_job {
    scan_state *st;
    pthread_t th;
    int running, used;
    int64_t part, nr, requests, bytes;
    range *rs;
    es_status status;
    es_error err;
} ahead_job;

struct scan_ahead {
    int n;
    ahead_job job[AHEAD_PARTS];
};

static void *ahead_run(void *arg)
{
    ahead_job *j = arg;
    j->status = es_scan_fetch_part(j->st, j->st->t->parts[j->part], j->rs, j->nr, &j->requests,
                                   &j->bytes, &j->err);
    return NULL;
}

static void job_drop(scan_state *st, ahead_job *j)
{
    if (j->running)
        pthread_join(j->th, NULL);
    j->running = 0;
    for (int64_t i = 0; i < j->nr; i++)
        es_blob_unref(j->rs[i].blob);
    es_free(j->rs);
    j->rs = NULL;
    j->nr = 0;
    j->used = 1;
    st->stats->requests += j->requests;
    st->stats->bytes_fetched += j->bytes;
    j->requests = j->bytes = 0;
}

void es_scan_ahead_drop(scan_state *st)
{
    if (!st->ahead)
        return;
    for (int i = 0; i < st->ahead->n; i++)
        job_drop(st, &st->ahead->job[i]);
    es_free(st->ahead);
    st->ahead = NULL;
}

/* The ranges of the first batches of part m (index x) that the scan would fetch, within
 * *batches and *bytes left (decreased); NULL with *nr 0 when none fit or out of memory. */
static range *part_ranges(const scan_state *st, const es_part_idx *x, int64_t *batches,
                          int64_t *bytes, int64_t *nr)
{
    const es_tabledef *t = st->t;
    int64_t n_need = 0, n = 0;
    *nr = 0;
    int64_t *cols = es_calloc((size_t)(x->n_cols > 0 ? x->n_cols : 1), sizeof(int64_t));
    for (int64_t k = 0; cols && k < x->n_cols; k++)
        for (int64_t c = 0; c < t->n_cols; c++)
            if (t->cols[c].id == x->col_ids[k] && st->need[c])
                cols[n_need++] = k;
    while (cols && n < x->n_batches && n < *batches) {
        int64_t need = es_part_idx_meta_fetch(x, n);
        for (int64_t i = 0; i < n_need; i++)
            need += es_part_idx_bytes(x, n * x->n_cols + cols[i]);
        if (need > *bytes)
            break;
        *bytes -= need;
        n++;
    }
    *batches -= n;
    range *rs = cols && n > 0 ? es_calloc((size_t)(n * (1 + 3 * n_need)), sizeof(range)) : NULL;
    for (int64_t b = 0; rs && b < n; b++) {
        if (x->rows[b] == 0)
            continue;
        int64_t at = *nr;
        rs[(*nr)++] = (range){x->offset[b], es_part_idx_meta_fetch(x, b), b, -1, NULL, NULL};
        int fetch = 0;
        for (int64_t i = 0; i < n_need; i++) {
            int64_t ck = b * x->n_cols + cols[i];
            /* A column in the handle's column cache (either form) is not fetched ahead. */
            es_colkey k0 = {x->part_id, b, cols[i], 0}, k1 = {x->part_id, b, cols[i], 1};
            if (es_part_idx_bytes(x, ck) > 0 && (es_colcache_has(st->store->colcache, &k0) ||
                                                 es_colcache_has(st->store->colcache, &k1)))
                continue;
            es_scan_col_ranges(rs, nr, x, b, i, ck); /* one, or a page's pieces */
            fetch = 1;
        }
        if (!fetch)
            *nr = at; /* every column cached: nor the metadata */
    }
    es_free(cols);
    return rs;
}

void es_scan_ahead_start(scan_state *st)
{
    const es_tabledef *t = st->t;
    if (st->ahead || st->ahead_none || st->pred->kind != ES_PRED_TRUE || st->keys || st->ixq ||
        getenv("ES_SCAN_NO_AHEAD")) /* (for bench_roundtrips' comparison) */
        return;
    struct scan_ahead *a = es_calloc(1, sizeof(*a));
    if (!a)
        return;
    int64_t batches = SCAN_WINDOW, bytes = SCAN_WINDOW_BYTES, p = st->part_i;
    for (; p < t->n_parts && a->n < AHEAD_PARTS && batches > 0; p++) {
        const es_part_meta *m = t->parts[p];
        if (es_part_live_rows(m) <= 0 || m->inline_ipc)
            continue;
        es_part_idx *x = NULL;
        es_error err;
        int64_t req0 = st->stats->requests;
        if (es_store_part_idx(&x, st->store, t, m, &st->stats->requests, &st->stats->bytes_fetched,
                              &err) != ES_OK)
            break; /* reported when the scanner reaches the part */
        ahead_job *j = &a->job[a->n];
        j->rs = part_ranges(st, x, &batches, &bytes, &j->nr);
        es_part_idx_free(x);
        if (!j->rs)
            break;
        j->st = st;
        j->part = p;
        a->n++;
        if (st->stats->requests != req0)
            break; /* a cold .idx: the scanner would wait for each */
    }
    st->ahead = a;
    for (int i = 0; i < a->n; i++)
        a->job[i].running = pthread_create(&a->job[i].th, NULL, ahead_run, &a->job[i]) == 0;
    if (a->n == 0) {
        /* Every part after the current one passed over: the later calls of this scan (one per
         * part: a flush reads hundreds of inline parts) would pass over them again. */
        st->ahead_none = p == t->n_parts;
        es_scan_ahead_drop(st);
    }
}

void es_scan_ahead_take(scan_state *st)
{
    struct scan_ahead *a = st->ahead;
    if (!a)
        return;
    int left = 0;
    for (int i = 0; i < a->n; i++) {
        ahead_job *j = &a->job[i];
        if (j->used || j->part > st->part_index) {
            left += !j->used;
            continue;
        }
        if (j->running)
            pthread_join(j->th, NULL);
        j->running = 0;
        for (int64_t r = 0, k = 0;
             j->part == st->part_index && j->status == ES_OK && r < st->n_ranges; r++) {
            /* Both lists are in offset order within a batch; match by (offset, length). */
            range *w = &st->ranges[r];
            if (w->blob || w->ent || w->len == 0)
                continue;
            int64_t f = k;
            while (f < j->nr && (j->rs[f].off != w->off || j->rs[f].len != w->len))
                f++;
            if (f == j->nr)
                continue;
            w->blob = j->rs[f].blob;
            j->rs[f].blob = NULL;
            k = f + 1;
        }
        job_drop(st, j);
    }
    if (!left)
        es_scan_ahead_drop(st);
}
