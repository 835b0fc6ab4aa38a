/*
 * scan_plan: es_scan_plan, the scanner's pruning without reading .data (EXPLAIN): the parts and
 * batches a scan would read, and the requests and bytes its windows would fetch, planned with
 * the same coalescing rule as scan.c's fetches.
 */
#include <stdlib.h>
#include <string.h>

#include "table/scan_int.h"

/* ------------------------------------------------------------ planning */

static int cmp_off(const void *a, const void *b)
{
    const int64_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* Count the requests and bytes fetch_ranges would make for the ranges of window batches
 * [at, at + n) of the current part: `which` 0 all ranges, 1 the metadata and the predicate's
 * columns (phase 1 of a two-phase fetch), 2 the other columns (phase 2). r, caps: scratch room. */
static void plan_ranges(scan_state *st, int64_t at, int64_t n, int which, int64_t *r, int64_t *caps,
                        es_scan_plan_info *out)
{
    es_part_idx *x = st->idx;
    int64_t nr = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t b = st->batches[at + i], first = nr;
        int fetch = 0;
        if (which != 2) {
            r[2 * nr] = x->offset[b];
            r[2 * nr++ + 1] = es_part_idx_meta_fetch(x, b);
        }
        for (int64_t k = 0; k < st->n_which; k++) {
            if ((which == 1 && !st->kind_pred[k]) || (which == 2 && st->kind_pred[k]))
                continue;
            if (es_scan_chunk_cached(st, b, k)) { /* as es_scan_col_range takes it */
                out->cache_chunks++;
                out->cache_bytes += es_part_idx_bytes(x, b * x->n_cols + st->which[k]);
                continue;
            }
            fetch = 1;
            int64_t off[3], len[3];
            int np = es_part_idx_ranges(x, b * x->n_cols + st->which[k], off, len);
            for (int j = 0; j < np; j++) {
                r[2 * nr] = off[j];
                r[2 * nr++ + 1] = len[j];
            }
        }
        if (!fetch) /* every column cached: nor the metadata (batch_ranges) */
            nr = first;
    }
    qsort(r, (size_t)nr, 2 * sizeof(int64_t), cmp_off);
    es_scan_request_caps(r, nr, caps);
    int64_t nq = 0, q_off = 0, cur_end = -1, useful = 0, cap = 0;
    for (int64_t i = 0; i < nr; i++) {
        if (r[2 * i + 1] == 0)
            continue;
        if (nq > 0 && es_scan_joins_request(q_off, cur_end, useful, r[2 * i], r[2 * i + 1], cap)) {
            int64_t end = r[2 * i] + r[2 * i + 1];
            useful += end > cur_end ? end - (r[2 * i] > cur_end ? r[2 * i] : cur_end) : 0;
            if (end > cur_end)
                cur_end = end;
        } else {
            if (nq > 0)
                out->data_bytes += cur_end - q_off;
            useful = r[2 * i + 1];
            cap = caps[i];
            q_off = r[2 * i];
            cur_end = q_off + r[2 * i + 1];
            nq++;
        }
    }
    if (nq > 0)
        out->data_bytes += cur_end - q_off;
    out->data_requests += nq;
}

/* What fetch_window would request for the current part's surviving batches, assuming every
 * batch has a matching row (the most a scan fetches): windows of SCAN_WINDOW batches and
 * SCAN_WINDOW_BYTES; a two-phase window fetches the predicate's columns, then the others, and
 * the scan then stops doing that (most batches matched). */
static es_status plan_part(scan_state *st, es_scan_plan_info *out, es_error *err)
{
    es_part_idx *x = st->idx;
    int64_t nr_cap = SCAN_WINDOW * (1 + 3 * st->n_which); /* r: pairs, then their caps */
    int64_t *r = es_calloc((size_t)nr_cap, 3 * sizeof(int64_t));
    if (!r)
        return es_error_set(err, ES_NOMEM, 0, "scan: out of memory");
    if (st->point) { /* the hits by position: at most a metadata read and a range each */
        es_free(r);
        out->rows_to_scan += st->n_hits;
        out->index_rows += st->n_hits;
        for (int64_t i = 0; i < st->n_batches; i++) {
            out->data_requests += !x->paged;
            out->data_bytes += es_part_idx_meta_fetch(x, st->batches[i]);
        }
        out->data_requests += st->n_hits * st->n_which;
        out->data_bytes += st->n_hits * st->n_which * 16;
        return ES_OK;
    }
    for (int64_t i = 0; i < st->n_batches; i++)
        out->rows_to_scan += x->rows[st->batches[i]];
    if (st->t->parts[st->part_index]->inline_ipc) { /* rows in the log: nothing to fetch */
        es_free(r);
        return ES_OK;
    }
    for (int64_t at = 0; at < st->n_batches;) {
        int64_t n = es_scan_window_size(st, at);
        if (st->part_two_phase && st->two_phase) {
            plan_ranges(st, at, n, 1, r, r + 2 * nr_cap, out);
            plan_ranges(st, at, n, 2, r, r + 2 * nr_cap, out);
            st->two_phase = 0;
        } else {
            plan_ranges(st, at, n, 0, r, r + 2 * nr_cap, out);
        }
        at += n;
    }
    es_free(r);
    return ES_OK;
}

es_status es_scan_plan_impl(es_store *s, const char *table, const es_scan_options *opts,
                            es_scan_plan_info *out, es_error *err)
{
    memset(out, 0, sizeof(*out));
    es_scan_options o;
    es_status rv = es_scan_read_options(&o, opts, err);
    if (rv)
        return rv;
    o.stats = NULL;
    o.selection = 0;
    scan_state *st = NULL;
    es_status r = es_scanner_open_plan(&st, s, table, &o, err);
    if (r)
        return r;
    for (;;) {
        int got = st->idx != NULL; /* started by the scanner's opening */
        if (!got)
            r = es_scan_next_part(st, &got, err);
        if (r || !got)
            break;
        r = plan_part(st, out, err);
        es_scan_end_part(st);
        if (r)
            break;
    }
    out->parts_total = st->stats->parts_total;
    out->parts_skipped = st->stats->parts_skipped;
    out->batches_total = st->stats->batches_total;
    out->batches_skipped = st->stats->batches_skipped;
    out->idx_requests = st->stats->requests;
    out->idx_bytes = st->stats->bytes_fetched;
    memcpy(out->index_name, st->stats->index_name, sizeof(out->index_name));
    out->index_parts = st->stats->index_parts;
    out->index_batches_skipped = st->stats->index_batches_skipped;
    es_scanner_close(st);
    return r;
}

/* Request sizing (fetch_ranges and plan_ranges): whether a range at off of len bytes joins the
 * request [q_off, cur_end) holding `useful` bytes of ranges. It joins while the request is
 * under `cap` (es_scan_request_caps; bigger requests are split so that get_many fetches them in
 * parallel) when the gap before it is small (SCAN_GAP) or when the bytes fetched stay within 1.5
 * times the bytes needed (so a column's chunks of consecutive batches coalesce when the columns
 * in between are small). */
int es_scan_joins_request(int64_t q_off, int64_t cur_end, int64_t useful, int64_t off, int64_t len,
                          int64_t cap)
{
    if (cur_end - q_off >= cap)
        return 0;
    int64_t gap = off - cur_end;
    if (gap <= SCAN_GAP)
        return 1;
    int64_t fetched = (off + len > cur_end ? off + len : cur_end) - q_off;
    return 2 * fetched <= 3 * (useful + len);
}

void es_scan_request_caps(const int64_t *r, int64_t n, int64_t *cap)
{
    int64_t start = -1, q_off = 0, cur_end = -1, useful = 0;
    for (int64_t i = 0; i <= n; i++) {
        if (i < n && r[2 * i + 1] == 0)
            continue;
        if (i < n && start >= 0 &&
            es_scan_joins_request(q_off, cur_end, useful, r[2 * i], r[2 * i + 1], INT64_MAX)) {
            int64_t end = r[2 * i] + r[2 * i + 1];
            useful += end > cur_end ? end - (r[2 * i] > cur_end ? r[2 * i] : cur_end) : 0;
            cur_end = end > cur_end ? end : cur_end;
            continue;
        }
        if (start >= 0) { /* the run [start, i): requests of equal size, at least the target */
            int64_t total = cur_end - q_off, k = total / SCAN_REQ_BYTES;
            k = k < 1 ? 1 : k;
            for (int64_t j = start; j < i; j++)
                cap[j] = (total + k - 1) / k;
        }
        if (i == n)
            break;
        start = i;
        q_off = r[2 * i];
        cur_end = q_off + r[2 * i + 1];
        useful = r[2 * i + 1];
    }
}
