/*
 * lookup: the rows of index hits, read by ranged reads of just their values (table layer; see
 * lookup.h, and docs/FORMAT.md section 2b for what is verified).
 *
 * A point lookup through an index finds a few positions in a part. Reading the batches that
 * hold them costs every byte of every needed column of those batches (8,192 rows each by
 * default) and a CRC over all of it; the values of the hit rows are a few bytes each, at
 * offsets the batch's metadata gives (Arrow's columnar layout: fixed-width value i at
 * i * width, a string's bytes between offsets i and i + 1, validity bit i):
 *
 *   round 1: the metadata of each batch holding a hit (cached per handle as a layout: the
 *            buffers of every column, absolute in .data, checked against the .idx once)
 *   round 2: per hit and column, the validity byte, the value (fixed width, or the bit of a
 *            bool) or the two string offsets
 *   round 3: per hit of a string column, its bytes
 *
 * Ranges closer than LK_GAP are coalesced into one request, and each round is one parallel
 * es_objstore_get_many.
 *
 * Column mode. A compressed body (ZSTD by default: each buffer is compressed whole) or a
 * dictionary-encoded column cannot be read by rows. Then the hit batches' needed columns are
 * read (only those columns: one parallel round after the metadata), verified and decoded by
 * es_part_decode_batch, and kept decoded in the handle's column cache (colcache.c, shared
 * with the scans: keyed by part, batch, column) - what SQLite's page cache and DuckDB's buffer
 * manager do for their pages. Repeated lookups decompress each touched column of a batch once,
 * and the hit rows are copied out of the cached columns.
 *
 * Primary-key point lookups (es_lookup_key_hits): a predicate on the sorted key alone finds its
 * rows in the key column of the few batches its statistics admit (through the same cache), and
 * the other columns are read by hit rows as above.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "arrow/ipc.h"
#include "table/colcache.h"
#include "table/lookup.h"

#define LK_CACHE 65536 /* batch layouts cached per handle (direct-mapped) */
#define LK_GAP 4096    /* coalesce ranges closer than this */

/* Where every column's buffers of one batch lie in .data (absolute offsets), and its metadata
 * (for decoding columns in column mode). */
typedef struct lk_layout {
    char part[ES_ID_LEN + 1];
    int64_t batch, n_cols;
    int compressed;
    es_blob *meta;
    es_ipc_buffers *cols;
} lk_layout;

/* One decoded column of one batch, referenced from the column cache, and a view of it. */
typedef struct lk_col {
    es_array_ref *e;
    es_array_view view;
} lk_col;

typedef struct lk_cache {
    lk_layout *slot[LK_CACHE];
    uint64_t token; /* the running lookup's (es_colcache_token) */
} lk_cache;

static void lk_col_reset(lk_col *c)
{
    if (c->e)
        es_array_view_reset(&c->view);
    es_array_ref_unref(c->e);
    c->e = NULL;
}

static void layout_free(lk_layout *l)
{
    if (l) {
        es_free(l->cols);
        es_blob_unref(l->meta);
    }
    es_free(l);
}

void es_lookup_cache_free(es_store *s)
{
    lk_cache *c = s->lk_cache;
    for (int i = 0; c && i < LK_CACHE; i++)
        layout_free(c->slot[i]);
    es_free(c);
    s->lk_cache = NULL;
}

static size_t slot_of(const char *part, int64_t b)
{
    uint32_t h = es_crc32c(0, part, strlen(part));
    return (size_t)((h ^ (uint32_t)b * 2654435761u) % LK_CACHE);
}

static es_status corrupt(es_error *err, const char *key, int64_t b, const char *why)
{
    return es_error_set(err, ES_CORRUPT, 0, "%s: batch %lld: %s", key, (long long)b, why);
}

/* Can column type ty be read value by value? *w: its width (0 for strings, -1 for bool). */
static int plain_type(const es_type *ty, int *w, int *ow)
{
    *w = 0;
    *ow = 0;
    switch (ty->id) {
    case ES_TYPE_BOOL:
        *w = -1;
        return 1;
    case ES_TYPE_UTF8:
    case ES_TYPE_BINARY:
        *w = 0;
        *ow = 4;
        return 1;
    case ES_TYPE_LARGE_UTF8:
    case ES_TYPE_LARGE_BINARY:
        *w = 0;
        *ow = 8;
        return 1;
    case ES_TYPE_NA:
    case ES_TYPE_STRUCT:
        return 0;
    default:
        *w = ty->byte_width;
        return ty->byte_width > 0;
    }
}

/* Build the layout of batch b from its metadata, checked against the .idx. */
static es_status make_layout(lk_layout **out, const es_part_idx *x, int64_t b,
                             const struct ArrowSchema *schema, es_blob *meta, const char *key,
                             es_error *err)
{
    *out = NULL;
    if ((int64_t)meta->size != x->meta_len[b] ||
        es_crc32c(0, meta->data, meta->size) != x->meta_crc[b])
        return corrupt(err, key, b, "metadata checksum mismatch");
    lk_layout *l = es_calloc(1, sizeof(*l));
    if (l)
        l->cols = es_calloc((size_t)(x->n_cols > 0 ? x->n_cols : 1), sizeof(es_ipc_buffers));
    if (!l || !l->cols) {
        layout_free(l);
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    }
    memcpy(l->part, x->part_id, sizeof(l->part));
    l->batch = b;
    l->n_cols = x->n_cols;
    l->meta = es_blob_ref(meta);
    int64_t length = 0;
    int compressed = 0;
    es_error sub;
    es_status st =
        es_ipc_batch_buffers(l->cols, &length, &compressed, schema, meta->data, meta->size, &sub);
    if (st == ES_NOMEM)
        st = es_error_set(err, ES_NOMEM, 0, "out of memory");
    else if (st == ES_UNSUPPORTED)
        st = es_error_set(err, ES_UNSUPPORTED, 0, "%s: %s", key, sub.msg);
    else if (st)
        st = corrupt(err, key, b, sub.msg);
    else if (length != x->rows[b])
        st = corrupt(err, key, b, "row count differs from the index");
    int64_t body = x->offset[b] + x->meta_len[b];
    for (int64_t c = 0; c < x->n_cols && !st; c++) {
        es_ipc_buffers *cb = &l->cols[c];
        int64_t lo = -1, hi = -1;
        for (int j = 0; j < cb->n; j++) {
            if (cb->len[j] > 0 && cb->off[j] + cb->len[j] > x->body_len[b])
                st = corrupt(err, key, b, "buffer past the body");
            if (cb->len[j] > 0 && (lo < 0 || cb->off[j] < lo))
                lo = cb->off[j];
            if (cb->len[j] > 0 && cb->off[j] + cb->len[j] > hi)
                hi = cb->off[j] + cb->len[j];
            cb->off[j] += body;
        }
        int64_t ck = b * x->n_cols + c;
        if (!st && (lo < 0 ? x->col_len[ck] != 0
                           : lo + body != x->col_off[ck] || hi - lo != x->col_len[ck]))
            st = corrupt(err, key, b, "column ranges disagree with the index");
    }
    if (st) {
        layout_free(l);
        return st;
    }
    l->compressed = compressed;
    *out = l;
    return ES_OK;
}

/* One range to read and where its bytes go. */
typedef struct lk_range {
    int64_t off, len;
    uint8_t *dst;
} lk_range;

typedef struct lk_ranges {
    lk_range *r;
    int64_t n, cap;
} lk_ranges;

static es_status push_range(lk_ranges *rs, int64_t off, int64_t len, uint8_t *dst)
{
    if (len <= 0)
        return ES_OK;
    if (rs->n == rs->cap) {
        int64_t cap = rs->cap ? rs->cap * 2 : 256;
        lk_range *p = es_realloc(rs->r, (size_t)cap * sizeof(*p));
        if (!p)
            return ES_NOMEM;
        rs->r = p;
        rs->cap = cap;
    }
    rs->r[rs->n++] = (lk_range){off, len, dst};
    return ES_OK;
}

static int cmp_lk_range(const void *a, const void *b)
{
    const lk_range *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* Read every range of rs from `key` in one parallel round, coalescing close ones. */
static es_status read_ranges(es_store *s, const es_tabledef *t, const char *key, lk_ranges *rs,
                             int64_t *requests, int64_t *bytes, es_error *err)
{
    if (rs->n == 0)
        return ES_OK;
    qsort(rs->r, (size_t)rs->n, sizeof(lk_range), cmp_lk_range);
    es_range_req *reqs = es_calloc((size_t)rs->n, sizeof(*reqs));
    if (!reqs)
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    int64_t nq = 0, end = -1;
    for (int64_t i = 0; i < rs->n; i++) {
        const lk_range *r = &rs->r[i];
        if (nq > 0 && r->off <= end + LK_GAP) {
            if (r->off + r->len > end)
                end = r->off + r->len;
            reqs[nq - 1].len = (uint64_t)(end - (int64_t)reqs[nq - 1].offset);
        } else {
            reqs[nq].key = key;
            reqs[nq].offset = (uint64_t)r->off;
            reqs[nq].len = (uint64_t)r->len;
            end = r->off + r->len;
            nq++;
        }
    }
    es_status st = es_objstore_get_many(s->os, reqs, nq, err);
    if (requests)
        *requests += nq;
    for (int64_t q = 0; q < nq && bytes; q++)
        if (reqs[q].out)
            *bytes += (int64_t)reqs[q].out->size;
    if (st == ES_NOT_FOUND)
        st = es_table_missing(err, key, t->name);
    for (int64_t i = 0, q = 0; i < rs->n && !st; i++) {
        const lk_range *r = &rs->r[i];
        while ((int64_t)(reqs[q].offset + reqs[q].len) < r->off + r->len)
            q++;
        uint64_t rel = (uint64_t)r->off - reqs[q].offset;
        if (!reqs[q].out || rel + (uint64_t)r->len > reqs[q].out->size)
            st = es_error_set(err, ES_CORRUPT, 0, "%s: truncated (value range past the end)", key);
        else
            memcpy(r->dst, reqs[q].out->data + rel, (size_t)r->len);
    }
    for (int64_t q = 0; q < nq; q++)
        es_blob_unref(reqs[q].out);
    es_free(reqs);
    rs->n = 0;
    return st;
}

/* Per hit row: its batch, its row in the batch and the batch's layout. */
typedef struct lk_hit {
    int64_t b, i;
    const lk_layout *l;
} lk_hit;

/* Decode columns cols[0..n) (ascending) of batch b from the metadata and their bytes (blobs[m]:
 * exactly the column's range, NULL when empty; checksums verified) into the column cache:
 * out[m] the entry of cols[m] with its view (columns read in place are not cached, only
 * referenced). dschema: the part's columns as decoded. */
static es_status decode_cols(lk_col *out, es_store *s, const es_part_idx *x, int64_t b,
                             const es_part_col *pcols, const struct ArrowSchema *dschema,
                             const int64_t *cols, int64_t n, es_blob *meta, es_blob *const *blobs,
                             const char *key, es_error *err)
{
    struct ArrowArray dec = {0};
    const lk_cache *lc = s->lk_cache;
    es_status st = es_part_decode_batch(&dec, x, b, pcols, cols, n, meta, blobs, 0, key, err);
    for (int64_t m = 0; m < n && !st; m++) {
        es_colkey k = {x->part_id, b, cols[m], 0};
        int own = es_ipc_column_detach(dec.children[m]);
        if (own < 0) {
            st = es_error_set(err, ES_NOMEM, 0, "out of memory");
            break;
        }
        st = es_colcache_put(&out[m].e, own ? s->colcache : NULL, &k, lc->token,
                             &pcols[cols[m]].type, dec.children[m], err);
        es_error sub;
        if (!st && (st = es_array_view_init(&out[m].view, dschema->children[cols[m]],
                                            es_array_ref_array(out[m].e), &sub))) {
            es_array_ref_unref(out[m].e);
            out[m].e = NULL;
            st = st == ES_NOMEM ? es_error_set(err, ES_NOMEM, 0, "out of memory")
                                : corrupt(err, key, b, sub.msg);
        }
    }
    es_array_release(&dec);
    return st;
}

/* The cached column (x's batch b, column col) with its view in *out (out->e NULL when not
 * cached). */
static es_status cached_col(lk_col *out, es_store *s, const es_part_idx *x, int64_t b, int64_t col,
                            const struct ArrowSchema *dschema, const char *key, es_error *err)
{
    es_colkey k = {x->part_id, b, col, 0};
    out->e = es_colcache_get(s->colcache, &k, ((const lk_cache *)s->lk_cache)->token);
    es_error sub;
    es_status st = out->e ? es_array_view_init(&out->view, dschema->children[col],
                                               es_array_ref_array(out->e), &sub)
                          : ES_OK;
    if (st) {
        es_array_ref_unref(out->e);
        out->e = NULL;
        return st == ES_NOMEM ? es_error_set(err, ES_NOMEM, 0, "out of memory")
                              : corrupt(err, key, b, sub.msg);
    }
    return ES_OK;
}

/* The layouts of the batches of hits h[0..n) (cached, else read in one round). also >= 0: a
 * column to read and decode into the column cache too (the sort key of a point lookup), in the
 * same request as the metadata when it starts the body: also_out[k] (n cells) its entry for
 * the batch of hit k when it was read so. */
static es_status get_layouts(lk_hit *h, int64_t n, es_store *s, const es_tabledef *t,
                             const es_part_idx *x, const struct ArrowSchema *schema, int64_t also,
                             lk_col *also_out, const es_part_col *pcols,
                             const struct ArrowSchema *dschema, const char *key, int64_t *requests,
                             int64_t *bytes, es_error *err)
{
    lk_cache *c = s->lk_cache;
    if (x->paged) { /* pages (page.c) decode from the .idx alone: column mode, no metadata */
        static const lk_layout paged = {.compressed = 1};
        for (int64_t k = 0; k < n; k++)
            h[k].l = &paged;
        return ES_OK;
    }
    es_range_req *reqs = es_calloc((size_t)n, sizeof(*reqs));
    int64_t *req_b = es_calloc((size_t)n, sizeof(int64_t));
    int64_t *req_k = es_calloc((size_t)n, sizeof(int64_t));
    int64_t nq = 0;
    es_status st = ES_OK;
    if (!reqs || !req_b || !req_k)
        st = es_error_set(err, ES_NOMEM, 0, "out of memory");
    for (int64_t k = 0; k < n && !st; k++) { /* hits ascend: a batch's hits are adjacent */
        if (k > 0 && h[k].b == h[k - 1].b)
            continue;
        const lk_layout *l = c->slot[slot_of(x->part_id, h[k].b)];
        if (l && l->batch == h[k].b && strcmp(l->part, x->part_id) == 0)
            continue;
        reqs[nq].key = key;
        reqs[nq].offset = (uint64_t)x->offset[h[k].b];
        reqs[nq].len = (uint64_t)x->meta_len[h[k].b];
        int64_t ck = h[k].b * x->n_cols + also, body = x->offset[h[k].b] + x->meta_len[h[k].b];
        es_colkey ak = {x->part_id, h[k].b, also, 0};
        if (also >= 0 && x->col_len[ck] > 0 && x->col_off[ck] >= body &&
            x->col_off[ck] <= body + 64 && !es_colcache_has(s->colcache, &ak))
            reqs[nq].len = (uint64_t)(x->col_off[ck] + x->col_len[ck] - x->offset[h[k].b]);
        req_k[nq] = k;
        req_b[nq++] = h[k].b;
    }
    if (!st && nq > 0) {
        st = es_objstore_get_many(s->os, reqs, nq, err);
        if (requests)
            *requests += nq;
        if (st == ES_NOT_FOUND)
            st = es_table_missing(err, key, t->name);
    }
    for (int64_t q = 0; q < nq && !st; q++) {
        if (bytes)
            *bytes += (int64_t)reqs[q].out->size;
        lk_layout *l = NULL;
        int64_t b = req_b[q], ck = b * x->n_cols + also, ml = x->meta_len[b];
        es_blob *meta = NULL, *col = NULL;
        if (reqs[q].out->size < (size_t)ml) {
            st = es_error_set(err, ES_CORRUPT, 0, "%s: truncated (batch %lld)", key, (long long)b);
            break;
        }
        if (es_blob_new_slice(&meta, reqs[q].out, 0, (size_t)ml))
            st = es_error_set(err, ES_NOMEM, 0, "out of memory");
        if (!st)
            st = make_layout(&l, x, b, schema, meta, key, err);
        if (!st) {
            size_t sl = slot_of(x->part_id, b);
            layout_free(c->slot[sl]);
            c->slot[sl] = l;
        }
        if (!st && reqs[q].len > (uint64_t)ml) { /* the column read with it */
            size_t rel = (size_t)(x->col_off[ck] - x->offset[b]);
            if (reqs[q].out->size < rel + (size_t)x->col_len[ck])
                st = es_error_set(err, ES_CORRUPT, 0, "%s: truncated (batch %lld)", key,
                                  (long long)b);
            else if (es_blob_new_slice(&col, reqs[q].out, rel, (size_t)x->col_len[ck]))
                st = es_error_set(err, ES_NOMEM, 0, "out of memory");
            else
                st = decode_cols(&also_out[req_k[q]], s, x, b, pcols, dschema, &also, 1, l->meta,
                                 &col, key, err);
        }
        es_blob_unref(meta);
        es_blob_unref(col);
    }
    for (int64_t k = 0; k < n && !st; k++) {
        const lk_layout *l = c->slot[slot_of(x->part_id, h[k].b)];
        if (!l || l->batch != h[k].b || strcmp(l->part, x->part_id) != 0) /* evicted: rare */
            st = es_error_set(err, ES_UNSUPPORTED, 0, "%s: too many batches to read in part", key);
        h[k].l = l;
    }
    for (int64_t q = 0; reqs && q < nq; q++)
        es_blob_unref(reqs[q].out);
    es_free(reqs);
    es_free(req_b);
    es_free(req_k);
    return st;
}

static int bit(const uint8_t *p, int64_t i)
{
    return p[0] >> (i & 7) & 1;
}

/* The decoded columns which[] of the batches of hits h[0..n_pos) (layouts set): ent[bi * n_which
 * + k] for the bi-th distinct batch (ent: that many cells; a cell set already is kept), from
 * the column cache or else read (the metadata is the layout's; the needed columns' ranges of
 * every batch in one round), verified and decoded (and cached). The caller releases them
 * (lk_col_reset). dschema: the part's columns as decoded (dictionaries as utf8). */
static es_status get_columns(lk_col *ent, es_store *s, const es_tabledef *t, const es_part_idx *x,
                             const es_part_col *pcols, const int64_t *which, int64_t n_which,
                             const struct ArrowSchema *dschema, const lk_hit *h, int64_t n_pos,
                             const char *key, int64_t *requests, int64_t *bytes, es_error *err)
{
    int64_t nb = 0;
    for (int64_t j = 0; j < n_pos; j++)
        nb += j == 0 || h[j].b != h[j - 1].b;
    size_t cells = (size_t)(nb > 0 ? nb : 1) * (size_t)(n_which > 0 ? n_which : 1);
    es_blob **blobs = es_calloc(cells, sizeof(*blobs));
    int64_t *miss = es_calloc((size_t)(n_which > 0 ? n_which : 1), sizeof(int64_t));
    es_blob **mblobs = es_calloc((size_t)(n_which > 0 ? n_which : 1), sizeof(es_blob *));
    lk_col *got = es_calloc((size_t)(n_which > 0 ? n_which : 1), sizeof(lk_col));
    lk_ranges rs = {0};
    es_status st = ES_OK;
    if (!blobs || !miss || !mblobs || !got) {
        st = es_error_set(err, ES_NOMEM, 0, "out of memory");
        goto done;
    }
    /* The cached columns; a buffer and a range for every missing one. */
    for (int64_t j = 0, bi = -1; j < n_pos && !st; j++) {
        if (j > 0 && h[j].b == h[j - 1].b)
            continue;
        bi++;
        for (int64_t k = 0; k < n_which && !st; k++) {
            size_t cell = (size_t)bi * (size_t)n_which + (size_t)k;
            if (!ent[cell].e)
                st = cached_col(&ent[cell], s, x, h[j].b, which[k], dschema, key, err);
            if (st || ent[cell].e)
                continue;
            int64_t ck = h[j].b * x->n_cols + which[k], len = es_part_idx_bytes(x, ck);
            if (len == 0)
                continue; /* an empty range: decoded without bytes */
            uint8_t *buf = es_malloc((size_t)len);
            int64_t off[3], plen[3], at = 0;
            int np = es_part_idx_ranges(x, ck, off, plen); /* one, or a page's pieces */
            if (!buf || es_blob_new_owned(&blobs[cell], buf, (size_t)len)) {
                es_free(buf);
                st = es_error_set(err, ES_NOMEM, 0, "out of memory");
            }
            for (int i = 0; i < np && !st; at += plen[i++])
                if (push_range(&rs, off[i], plen[i], buf + at))
                    st = es_error_set(err, ES_NOMEM, 0, "out of memory");
        }
    }
    if (!st)
        st = read_ranges(s, t, key, &rs, requests, bytes, err);
    /* Decode each batch's missing columns at once; each column goes into the cache. */
    for (int64_t j = 0, bi = -1; j < n_pos && !st; j++) {
        if (j > 0 && h[j].b == h[j - 1].b)
            continue;
        bi++;
        int64_t nm = 0;
        for (int64_t k = 0; k < n_which; k++) {
            size_t cell = (size_t)bi * (size_t)n_which + (size_t)k;
            if (!ent[cell].e) {
                miss[nm] = which[k];
                mblobs[nm++] = blobs[cell];
            }
        }
        if (nm == 0)
            continue;
        memset(got, 0, (size_t)nm * sizeof(*got));
        st = decode_cols(got, s, x, h[j].b, pcols, dschema, miss, nm, h[j].l->meta, mblobs, key,
                         err);
        for (int64_t m = 0, k = 0; m < nm; m++, k++) {
            while (ent[(size_t)bi * (size_t)n_which + (size_t)k].e)
                k++;
            ent[(size_t)bi * (size_t)n_which + (size_t)k] = got[m]; /* moved (NULL on error) */
        }
    }
done:
    for (size_t i = 0; blobs && i < cells; i++)
        es_blob_unref(blobs[i]);
    es_free(rs.r);
    es_free(blobs);
    es_free(miss);
    es_free(mblobs);
    es_free(got);
    return st;
}

/* Column mode: the hits h[0..n_pos) (layouts set) copied out of the decoded columns which[] of
 * their batches (get_columns). */
static es_status lookup_columns(struct ArrowArray *out, es_store *s, const es_tabledef *t,
                                const es_part_idx *x, const es_part_col *pcols,
                                const int64_t *which, int64_t n_which,
                                const struct ArrowSchema *dschema, const lk_hit *h, int64_t n_pos,
                                const char *key, int64_t *requests, int64_t *bytes, es_error *err)
{
    size_t cells = (size_t)(n_pos > 0 ? n_pos : 1) * (size_t)(n_which > 0 ? n_which : 1);
    lk_col *ent = es_calloc(cells, sizeof(*ent));
    struct ArrowSchema os = {0};
    es_builder *bld = NULL;
    es_status st = ent ? ES_OK : es_error_set(err, ES_NOMEM, 0, "out of memory");
    if (!st)
        st = get_columns(ent, s, t, x, pcols, which, n_which, dschema, h, n_pos, key, requests,
                         bytes, err);
    /* Copy the hit rows out. */
    if (!st)
        st = es_schema_init_struct(&os, n_which, err);
    for (int64_t k = 0; k < n_which && !st; k++)
        st = es_schema_copy(os.children[k], dschema->children[which[k]], err);
    if (!st)
        st = es_builder_new(&bld, &os, err);
    for (int64_t k = 0; k < n_which && !st; k++) {
        es_builder *cb = es_builder_child(bld, k);
        for (int64_t j = 0, bi = -1; j < n_pos && !st; j++) {
            bi += j == 0 || h[j].b != h[j - 1].b;
            const lk_col *e = &ent[(size_t)bi * (size_t)n_which + (size_t)k];
            if (h[j].i >= e->view.length)
                st = corrupt(err, key, h[j].b, "row past the batch");
            else if (es_part_append_value(cb, &e->view, h[j].i))
                st = es_error_set(err, ES_NOMEM, 0, "out of memory");
        }
    }
    if (!st)
        st = es_builder_finish(bld, out, err);
    es_builder_free(bld);
    es_schema_release(&os);
    for (size_t i = 0; ent && i < cells; i++)
        lk_col_reset(&ent[i]);
    es_free(ent);
    return st;
}

/* Start a lookup in part x: the handle's caches (this lookup's token), the .data key, and the
 * part's schema as stored (encoded columns with their index type) and as decoded. */
static es_status lookup_begin(es_store *s, const es_tabledef *t, const es_part_idx *x,
                              const es_part_col *pcols, char *key, size_t cap,
                              struct ArrowSchema *schema, struct ArrowSchema *dschema,
                              es_error *err)
{
    es_part_key(key, cap, t->id, x->part_id, "data");
    if (!s->lk_cache && !(s->lk_cache = es_calloc(1, sizeof(lk_cache))))
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    ((lk_cache *)s->lk_cache)->token = es_colcache_token(s->colcache);
    es_status st = es_part_schema(schema, pcols, x->n_cols, err);
    if (!st)
        st = es_part_schema(dschema, pcols, x->n_cols, err);
    if (!st)
        st = es_part_dict_decode_schema(schema, x, err);
    return st;
}

es_status es_lookup_rows(struct ArrowArray *out, es_store *s, const es_tabledef *t,
                         const es_part_idx *x, const es_part_col *pcols, const int64_t *which,
                         int64_t n_which, const int64_t *first_row, const uint32_t *pos,
                         int64_t n_pos, int64_t *requests, int64_t *bytes, es_error *err)
{
    memset(out, 0, sizeof(*out));
    char key[256];
    struct ArrowSchema schema = {0}, dschema = {0};
    es_status st = lookup_begin(s, t, x, pcols, key, sizeof(key), &schema, &dschema, err);
    if (st) {
        es_schema_release(&schema);
        es_schema_release(&dschema);
        return st;
    }
    int colmode = 0; /* a column that cannot be read by rows: column mode (see the top) */
    for (int64_t k = 0; k < n_which; k++) {
        int w, ow;
        if (!plain_type(&pcols[which[k]].type, &w, &ow) || schema.children[which[k]]->dictionary)
            colmode = 1;
    }
    size_t n = (size_t)(n_pos > 0 ? n_pos : 1);
    lk_hit *h = es_calloc(n, sizeof(*h));
    /* Per hit and column: the validity byte, and the bool byte or the two string offsets. */
    uint8_t *vbytes = es_calloc(n * (size_t)(n_which > 0 ? n_which : 1), 1);
    uint8_t *aux = es_calloc(n * (size_t)(n_which > 0 ? n_which : 1), 16);
    es_owned_array *p = es_calloc(1, sizeof(*p));
    lk_ranges rs = {0};
    if (!h || !vbytes || !aux || !p) {
        st = es_error_set(err, ES_NOMEM, 0, "out of memory");
        goto done;
    }
    p->kids = es_calloc((size_t)(n_which > 0 ? n_which : 1), sizeof(struct ArrowArray));
    p->kid_ptrs = es_calloc((size_t)(n_which > 0 ? n_which : 1), sizeof(struct ArrowArray *));
    out->private_data = p;
    out->release = es_owned_array_release;
    if (!p->kids || !p->kid_ptrs) {
        st = es_error_set(err, ES_NOMEM, 0, "out of memory");
        goto done;
    }
    for (int64_t j = 0, b = 0; j < n_pos; j++) {
        while (b < x->n_batches && first_row[b + 1] <= (int64_t)pos[j])
            b++;
        if (b == x->n_batches || (j > 0 && pos[j] <= pos[j - 1])) {
            st = es_error_set(err, ES_INVALID, 0, "%s: bad row position %u", key, pos[j]);
            goto done;
        }
        h[j].b = b;
        h[j].i = pos[j] - first_row[b];
    }
    st = get_layouts(h, n_pos, s, t, x, &schema, -1, NULL, pcols, &dschema, key, requests, bytes,
                     err);
    for (int64_t j = 0; j < n_pos && !st; j++)
        colmode |= h[j].l->compressed;
    if (!st && colmode) {
        out->release(out); /* frees p */
        p = NULL;
        st = lookup_columns(out, s, t, x, pcols, which, n_which, &dschema, h, n_pos, key, requests,
                            bytes, err);
        goto done;
    }
    /* Round 2: validity bytes, fixed-width values, bool bytes and string offsets. */
    for (int64_t k = 0; k < n_which && !st; k++) {
        int64_t c = which[k];
        int w, ow;
        plain_type(&pcols[c].type, &w, &ow);
        es_owned_array *col = es_calloc(1, sizeof(*col));
        if (!col) {
            st = es_error_set(err, ES_NOMEM, 0, "out of memory");
            break;
        }
        struct ArrowArray *a = &p->kids[k];
        p->kid_ptrs[k] = a;
        p->n_kids = k + 1;
        a->length = n_pos;
        a->n_buffers = ow ? 3 : 2;
        a->buffers = col->ptrs;
        a->private_data = col;
        a->release = es_owned_array_release;
        if (w > 0)
            col->buf[1] = es_malloc(n * (size_t)w);
        else if (ow)
            col->buf[1] = es_calloc(n + 1, (size_t)ow);
        if ((w > 0 || ow) && !col->buf[1]) {
            st = es_error_set(err, ES_NOMEM, 0, "out of memory");
            break;
        }
        for (int64_t j = 0; j < n_pos && !st; j++) {
            const es_ipc_buffers *cb = &h[j].l->cols[c];
            int64_t i = h[j].i, rows = x->rows[h[j].b];
            uint8_t *vb = &vbytes[(size_t)k * n + (size_t)j], *ax = &aux[((size_t)k * n + j) * 16];
            if (cb->null_count > 0) {
                if (cb->len[0] < (rows + 7) / 8)
                    st = corrupt(err, key, h[j].b, "validity buffer too short");
                else
                    st = push_range(&rs, cb->off[0] + i / 8, 1, vb);
            } else {
                *vb = 0xff;
            }
            if (st)
                break;
            if (w < 0) {
                if (cb->len[1] < (rows + 7) / 8)
                    st = corrupt(err, key, h[j].b, "values buffer too short");
                else
                    st = push_range(&rs, cb->off[1] + i / 8, 1, ax);
            } else if (w > 0) {
                if (cb->len[1] < rows * w)
                    st = corrupt(err, key, h[j].b, "values buffer too short");
                else
                    st = push_range(&rs, cb->off[1] + i * w, w, (uint8_t *)col->buf[1] + j * w);
            } else {
                if (cb->len[1] < (rows + 1) * ow)
                    st = corrupt(err, key, h[j].b, "offsets buffer too short");
                else
                    st = push_range(&rs, cb->off[1] + i * ow, 2 * ow, ax);
            }
            if (st == ES_NOMEM)
                st = es_error_set(err, ES_NOMEM, 0, "out of memory");
        }
    }
    if (!st)
        st = read_ranges(s, t, key, &rs, requests, bytes, err);
    /* Round 3: the bytes of strings; then validity and bool bitmaps. */
    for (int64_t k = 0; k < n_which && !st; k++) {
        int64_t c = which[k];
        int w, ow;
        plain_type(&pcols[c].type, &w, &ow);
        struct ArrowArray *a = &p->kids[k];
        es_owned_array *col = a->private_data;
        size_t nb = n / 8 + 1;
        int64_t nulls = 0;
        uint8_t *valid = es_calloc(nb, 1);
        if (!valid) {
            st = es_error_set(err, ES_NOMEM, 0, "out of memory");
            break;
        }
        col->buf[0] = valid;
        for (int64_t j = 0; j < n_pos; j++) {
            if (bit(&vbytes[(size_t)k * n + (size_t)j], h[j].i))
                valid[j >> 3] |= (uint8_t)(1u << (j & 7));
            else
                nulls++;
        }
        a->null_count = nulls;
        if (w < 0) {
            uint8_t *bits = es_calloc(nb, 1);
            if (!(col->buf[1] = bits)) {
                st = es_error_set(err, ES_NOMEM, 0, "out of memory");
                break;
            }
            for (int64_t j = 0; j < n_pos; j++)
                if (bit(&aux[((size_t)k * n + j) * 16], h[j].i))
                    bits[j >> 3] |= (uint8_t)(1u << (j & 7));
        } else if (ow) {
            int64_t total = 0;
            for (int64_t j = 0; j < n_pos && !st; j++) {
                const uint8_t *ax = &aux[((size_t)k * n + j) * 16];
                int64_t o0 = ow == 4 ? (int32_t)es_load_u32(ax) : (int64_t)es_load_u64(ax);
                int64_t o1 = ow == 4 ? (int32_t)es_load_u32(ax + 4) : (int64_t)es_load_u64(ax + 8);
                const es_ipc_buffers *cb = &h[j].l->cols[c];
                if (o0 < 0 || o1 < o0 || o1 > cb->len[2])
                    st = corrupt(err, key, h[j].b, "string offsets out of range");
                else if (ow == 4 && total + (o1 - o0) > INT32_MAX)
                    st = es_error_set(err, ES_UNSUPPORTED, 0, "%s: strings too long", key);
                else if (ow == 4)
                    ((int32_t *)col->buf[1])[j] = (int32_t)total;
                else
                    ((int64_t *)col->buf[1])[j] = total;
                total += o1 - o0;
            }
            if (st)
                break;
            if (ow == 4)
                ((int32_t *)col->buf[1])[n_pos] = (int32_t)total;
            else
                ((int64_t *)col->buf[1])[n_pos] = total;
            uint8_t *data = es_malloc((size_t)total + 1);
            if (!(col->buf[2] = data)) {
                st = es_error_set(err, ES_NOMEM, 0, "out of memory");
                break;
            }
            for (int64_t j = 0, at = 0; j < n_pos && !st; j++) {
                const uint8_t *ax = &aux[((size_t)k * n + j) * 16];
                int64_t o0 = ow == 4 ? (int32_t)es_load_u32(ax) : (int64_t)es_load_u64(ax);
                int64_t o1 = ow == 4 ? (int32_t)es_load_u32(ax + 4) : (int64_t)es_load_u64(ax + 8);
                if (push_range(&rs, h[j].l->cols[c].off[2] + o0, o1 - o0, data + at))
                    st = es_error_set(err, ES_NOMEM, 0, "out of memory");
                at += o1 - o0;
            }
        }
        for (int i = 0; i < 3; i++)
            col->ptrs[i] = col->buf[i];
        if (nulls == 0)
            col->ptrs[0] = NULL;
    }
    if (!st)
        st = read_ranges(s, t, key, &rs, requests, bytes, err);
    if (st)
        goto done;
    out->length = n_pos;
    out->n_buffers = 1;
    out->buffers = p->ptrs;
    out->n_children = n_which;
    out->children = p->kid_ptrs;
done:
    if (st && out->release)
        out->release(out);
    else if (st)
        es_free(p);
    es_free(rs.r);
    es_free(h);
    es_free(vbytes);
    es_free(aux);
    es_schema_release(&schema);
    es_schema_release(&dschema);
    return st;
}

es_status es_lookup_key_hits(uint32_t **hits, int64_t *n_hits, es_store *s, const es_tabledef *t,
                             const es_part_idx *x, const es_part_col *pcols, const es_pred *pred,
                             int64_t key_tcol, const int64_t *batches, int64_t n_batches,
                             const int64_t *first_row, int64_t *requests, int64_t *bytes,
                             es_error *err)
{
    *hits = NULL;
    *n_hits = 0;
    char key[256];
    struct ArrowSchema schema = {0}, dschema = {0};
    es_status st = lookup_begin(s, t, x, pcols, key, sizeof(key), &schema, &dschema, err);
    int64_t n = n_batches > 0 ? n_batches : 1, rows = 0, kc = x->sort_col;
    lk_hit *h = es_calloc((size_t)n, sizeof(*h));
    lk_col *ent = es_calloc((size_t)n, sizeof(*ent));
    const es_array_view **views =
        es_calloc((size_t)(t->n_cols > 0 ? t->n_cols : 1), sizeof(*views));
    for (int64_t i = 0; i < n_batches; i++)
        rows += x->rows[batches[i]];
    uint8_t *sel = es_malloc((size_t)(rows > 0 ? rows : 1));
    uint32_t *pos = es_malloc((size_t)(rows > 0 ? rows : 1) * sizeof(uint32_t));
    if (!st && !(h && ent && views && sel && pos))
        st = es_error_set(err, ES_NOMEM, 0, "out of memory");
    for (int64_t i = 0; i < n_batches && h; i++)
        h[i].b = batches[i]; /* ascending */
    if (!st)
        st = get_layouts(h, n_batches, s, t, x, &schema, kc, ent, pcols, &dschema, key, requests,
                         bytes, err);
    if (!st)
        st = get_columns(ent, s, t, x, pcols, &kc, 1, &dschema, h, n_batches, key, requests, bytes,
                         err);
    int64_t k = 0;
    for (int64_t i = 0; i < n_batches && !st; i++) {
        views[key_tcol] = &ent[i].view;
        int64_t r = ent[i].view.length;
        if (r != x->rows[batches[i]] || first_row[batches[i]] + r > UINT32_MAX)
            st = corrupt(err, key, batches[i], "row count differs from the index");
        else
            st = es_pred_eval(pred, views, r, sel, err);
        for (int64_t j = 0; j < r && !st; j++)
            if (sel[j])
                pos[k++] = (uint32_t)(first_row[batches[i]] + j);
    }
    if (!st) {
        *hits = pos;
        *n_hits = k;
        pos = NULL;
    }
    es_free(pos);
    es_free(sel);
    es_free(views);
    for (int64_t i = 0; ent && i < n_batches; i++)
        lk_col_reset(&ent[i]);
    es_free(ent);
    es_free(h);
    es_schema_release(&schema);
    es_schema_release(&dschema);
    return st;
}
