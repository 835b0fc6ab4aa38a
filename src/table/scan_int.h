/*
 * scan_int (internal): the scanner's state, shared by scan.c (planning, fetching, decoding,
 * threads) and scan_output.c (turning a decoded, filtered batch into the output batch: zero-copy
 * projection, in-place slice of a contiguous run, or a copy of the selected rows).
 */
#ifndef ES_SCAN_INT_H
#define ES_SCAN_INT_H

#include <pthread.h>

#include "table/colcache.h"
#include "table/evolve.h"
#include "table/index.h"
#include "table/txn.h"

#define SCAN_GAP (64 * 1024)         /* coalesce ranges separated by less than this */
#define SCAN_REQ_BYTES (1 << 20)     /* requests are at least this large (es_scan_request_caps) */
#define SCAN_WINDOW 128              /* batches (or pages) fetched per get_many */
#define SCAN_WINDOW_BYTES (64 << 20) /* and at most this many bytes */
#define SCAN_SEQ_BATCHES 4           /* batches decoded before threads start (key ranges: none) */

typedef struct range {
    int64_t off, len;
    int64_t slot; /* which window batch */
    int64_t kind; /* -1: metadata, else k (index in `which`) */
    es_blob *blob;
    es_array_ref *ent; /* the decoded column from the cache (referenced): nothing to fetch */
} range;

struct es_scanner {
    es_store *store;
    es_tabledef *t;
    es_pred *pred;
    /* es_scan_ext */
    int with_pos;
    const es_scalar *keys;
    int64_t n_keys;
    int64_t key_col; /* table column of the primary key when keys are given, else -1 */
    es_domain key_dom;
    int64_t n_out;
    int64_t *out_cols; /* table column index per output column */
    uint8_t *need;     /* table columns needed (output or predicate) */
    uint8_t *pneed;    /* table columns the predicate reads */
    int two_phase;     /* still worth fetching predicate columns first (see fetch_window) */
    struct ArrowSchema out_schema;
    es_scan_stats local_stats, *stats;
    int64_t round_trips0;  /* the store's round trips when the scan began */
    int selection;         /* es_scan_options.selection: batches end with a "_sel" mask */
    es_pred_stats *pstats; /* per table column */
    char msg[512];
    /* progress */
    int64_t part_i;
    es_part_idx *idx;
    es_part_col *pcols;
    int64_t *which; /* part column indexes to decode, ascending */
    int64_t n_which;
    int64_t *tab2dec;   /* table column -> index in decoded batch, or -1 */
    uint8_t *kind_pred; /* per index in `which`: the predicate reads that column */
    int part_two_phase; /* this part's windows fetch predicate columns first */
    int64_t *batches;   /* surviving batches of the current part */
    int64_t n_batches, batch_i;
    int64_t part_index; /* of the current part in t->parts */
    int64_t *first_row; /* per batch of the current part: position of its first row */
    /* Schema evolution (evolve.h): a decoded batch has n_dec children, the n_which fetched ones
     * then the needed columns the part lacks (read as their defaults); dec_cols: the table column
     * of each, whose type the batch has after es_evolve_batch (evolve set: a cast or a default
     * is needed), dec_src: the part column of each fetched one. */
    int64_t n_dec;
    const es_column **dec_cols;
    const es_part_col **dec_src;
    int evolve;
    int keep_dict; /* es_scan_options.keep_dictionary */
    es_dv dv;      /* the current part's deleted positions (empty when none) */
    /* fetched window */
    int64_t win_start, win_n;
    range *ranges;
    int64_t n_ranges;
    uint8_t *win_match; /* per window slot: 0 when phase 1 found no matching row (or NULL) */
    /* Threads (run_chunk): window slots [par_from, par_to) processed at once, their results
     * in par_*[slot - par_from]; chunks grow from `threads` slots to SCAN_WINDOW. */
    int threads, par_ready;
    int64_t seq_done; /* batches processed; threads start after SCAN_SEQ_BATCHES */
    int64_t par_from, par_to, par_chunk;
    struct ArrowArray *par_out;
    int64_t *par_rows;
    es_status *par_st;
    es_error *par_err;
    int done;
    es_index_query *ixq; /* a secondary index answering an equality conjunct, or NULL */
    /* Prefetch (fetch_window): the part's next window [pf_start, pf_start + pf_n) is fetched
     * on a thread of its own while this one is decoded (two windows in flight). */
    pthread_t pf_th;
    int pf_running;
    int64_t pf_start, pf_n, pf_n_ranges;
    range *pf_ranges;
    es_status pf_st;
    es_error pf_err;
    /* Prefetch across parts (scan_ahead.c): when the current part's last window is fetched,
     * the first windows of the next parts are fetched on threads. */
    struct scan_ahead *ahead;
    int ahead_none; /* no later part has anything to fetch ahead (all inline, say) */
    uint32_t *hits; /* the positions the index found in the current part */
    int64_t n_hits;
    int point; /* the current part's hits are read by es_lookup_rows, not in whole batches */
    uint64_t cache_token; /* this scan's token in the handle's column cache (scan_cache.c) */
};
typedef struct es_scanner scan_state;

/* Copy the selected rows (sel[i] != 0) of the decoded columns into a new output batch, with
 * their part and positions when the scan wants them; `first` is the position of the batch's
 * first row. */
es_status es_scan_build_output(scan_state *st, const es_array_view *views, const uint8_t *sel,
                               int64_t rows, int64_t first, struct ArrowArray *out, es_error *err);

/* Zero-copy output: the decoded batch's children, reordered, under a new parent; takes dec. */
es_status es_scan_project_zero_copy(scan_state *st, struct ArrowArray *dec, struct ArrowArray *out,
                                    es_error *err);

/* Narrow dec in place to the selected rows when they are one contiguous run; 0 otherwise. */
int es_scan_slice_run(struct ArrowArray *dec, const uint8_t *sel, int64_t rows, int64_t selected);

/* Append the "_sel" column (es_scan_options.selection) to out: the mask sel of out->length
 * bytes keeping `selected` rows, taken (es_free'd with the batch, also on error), or all ones
 * when sel is NULL. */
es_status es_scan_add_selection(struct ArrowArray *out, uint8_t *sel, int64_t selected,
                                es_error *err);

/* The rows a batch made by es_scan_add_selection selects. */
int64_t es_scan_selected(const struct ArrowArray *out);

/* Shared with scan_plan.c (scan.c): leave the current part; move to the next part that may
 * match (*got 0 at the end); the batches of the window starting at surviving batch `from`
 * (SCAN_WINDOW batches and SCAN_WINDOW_BYTES at most); may a range at off, len join the
 * request that starts at q_off and ends at cur_end with `useful` bytes needed; the caller's
 * options read by version. */
void es_scan_end_part(scan_state *st);
es_status es_scan_next_part(scan_state *st, int *got, es_error *err);
int64_t es_scan_window_size(const scan_state *st, int64_t from);
int es_scan_joins_request(int64_t q_off, int64_t cur_end, int64_t useful, int64_t off, int64_t len,
                          int64_t cap);
/* The request sizes for the n (offset, length) pairs r (in offset order; length 0: left out):
 * cap[i] for a request starting at pair i. Ranges that join form runs; a run of T bytes is cut
 * into max(1, T / SCAN_REQ_BYTES) requests of equal size, so that a request is at least
 * SCAN_REQ_BYTES unless its whole run is smaller (a full scan of a paged part: a column's pages
 * are one run). */
void es_scan_request_caps(const int64_t *r, int64_t n, int64_t *cap);
es_status es_scan_read_options(es_scan_options *o, const es_scan_options *opts, es_error *err);

/* Fetch ranges rs[0..nr) of part pm's .data (coalesced, one get_many; ranges whose blob is set
 * already are left out), counting requests and bytes; scan.c. */
es_status es_scan_fetch_part(scan_state *st, const es_part_meta *pm, range *rs, int64_t nr,
                             int64_t *requests, int64_t *bytes, es_error *err);

/* Append to rs (at *nr) the ranges of batch-column ck for window slot `slot`, kind k: one, or
 * up to three pieces of a page (es_part_idx_ranges); scan_cache.c. */
void es_scan_col_ranges(range *rs, int64_t *nr, const es_part_idx *x, int64_t slot, int64_t k,
                        int64_t ck);

/* scan_ahead.c: start fetching the next part's first window (the current part's last window is
 * fetched); give the current window the ranges fetched ahead for it; drop what is left. */
void es_scan_ahead_start(scan_state *st);
void es_scan_ahead_take(scan_state *st);
void es_scan_ahead_drop(scan_state *st);

/* scan_cache.c: the handle's cache of decoded column chunks in the scanner. The decoded form
 * of column which[k] of batch b (1: its dictionary kept; keep: es_scan_keep_dict) ... */
int es_scan_cache_form(const scan_state *st, int64_t k, int keep);
/* Whether batch b's dictionaries stay (es_scan_options.keep_dictionary; see process_batch). */
int es_scan_keep_dict(const scan_state *st, int64_t b);
/* Append to rs[*nr...] the range for column which[k] of batch b (window slot `slot`): the
 * cached decoded column when
 * there is one (r->ent, nothing to fetch), else its bytes at (off, len) to fetch. Returns 1 when
 * it came from the cache. */
/* Whether column which[k] of batch b of the current part is in the cache its scan would take
 * it from (es_scan_plan). */
int es_scan_chunk_cached(const scan_state *st, int64_t b, int64_t k);
int es_scan_col_range(scan_state *st, range *rs, int64_t *nr, int64_t slot, int64_t b, int64_t k);
/* Decode columns which[ks[0..n)] of window slot `slot` (batch b) into *dec (a struct array of
 * n children in that order): each from the cache, or decoded from its fetched bytes and then
 * cached when it was decompressed or dictionary-decoded. key: the .data object's name. */
es_status es_scan_decode(scan_state *st, int64_t slot, int64_t b, const int64_t *ks, int64_t n,
                         int keep, struct ArrowArray *dec, const char *key, es_error *err);

#endif
