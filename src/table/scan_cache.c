/*
 * scan_cache: the handle's cache of decoded column chunks (colcache.c) in the scanner (table
 * layer, part of the scanner; scan_int.h).
 *
 * When a window is planned (scan.c: fetch_window, prefetch_start), each needed column of each
 * batch is looked up first (es_scan_col_range): a cached one becomes a range holding the entry
 * (referenced until the window is freed, so eviction cannot take it away between planning and
 * decoding) and is not fetched; a batch's metadata is fetched only when some column of it is
 * to be decoded. A window whose columns are all cached makes no request at all.
 *
 * Decoding (es_scan_decode, on the scan's threads; a column fetched in several pieces, in
 * range order, is decoded from their bytes joined) gives each cached column to the batch as a
 * reference-holding shallow copy (zero-copy: the output batch points into the cached buffers
 * and keeps them alive after an eviction), decodes the others from their bytes in one call,
 * and caches those that were decompressed or dictionary-decoded (es_ipc_column_detach; raw
 * columns stay read in place from the fetched bytes and are not cached). The key is the
 * scanner's unit (part, batch, part column) and the decoded form (dictionary kept or not).
 * Parts inlined in the log are not cached (their bytes are in memory already).
 */
#include <stdlib.h>

#include "arrow/ipc.h"
#include "table/scan_int.h"

/* The cache column which[k] of the current part goes through (NULL: none): the handle's column
 * cache, or when that is off, for the part's sort-key column only, the handle's key cache
 * (what a point query needs to find its rows, kept as the .idx are: ES_KEYCACHE_BYTES). */
static es_colcache *chunk_cache(const scan_state *st, int64_t k)
{
    if (st->t->parts[st->part_index]->inline_ipc)
        return NULL;
    if (es_colcache_budget(st->store->colcache) > 0)
        return st->store->colcache;
    if (st->which[k] == st->idx->sort_col && es_colcache_budget(st->store->keycache) > 0)
        return st->store->keycache;
    return NULL;
}

int es_scan_cache_form(const scan_state *st, int64_t k, int keep)
{
    return keep && st->idx->dict_fmt && st->idx->dict_fmt[st->which[k]];
}

void es_scan_col_ranges(range *rs, int64_t *nr, const es_part_idx *x, int64_t slot, int64_t k,
                        int64_t ck)
{
    int64_t off[3], len[3];
    int n = es_part_idx_ranges(x, ck, off, len);
    if (n == 0) /* an empty column: one empty range, decoded without bytes */
        rs[(*nr)++] = (range){x->col_off[ck], 0, slot, k, NULL, NULL};
    for (int i = 0; i < n; i++)
        rs[(*nr)++] = (range){off[i], len[i], slot, k, NULL, NULL};
}

int es_scan_chunk_cached(const scan_state *st, int64_t b, int64_t k)
{
    const es_part_idx *x = st->idx;
    es_colcache *c = chunk_cache(st, k);
    if (!c || es_part_idx_bytes(x, b * x->n_cols + st->which[k]) == 0)
        return 0;
    es_colkey key = {x->part_id, b, st->which[k],
                     es_scan_cache_form(st, k, es_scan_keep_dict(st, b))};
    return es_colcache_has(c, &key);
}

int es_scan_col_range(scan_state *st, range *rs, int64_t *nr, int64_t slot, int64_t b, int64_t k)
{
    const es_part_idx *x = st->idx;
    int64_t ck = b * x->n_cols + st->which[k];
    es_colcache *c = chunk_cache(st, k);
    if (es_part_idx_bytes(x, ck) > 0 && c) {
        es_colkey key = {x->part_id, b, st->which[k],
                         es_scan_cache_form(st, k, es_scan_keep_dict(st, b))};
        range *r = &rs[*nr];
        *r = (range){x->col_off[ck], 0, slot, k, NULL, NULL};
        if ((r->ent = es_colcache_get(c, &key, st->cache_token))) {
            (*nr)++;
            return 1;
        }
    }
    es_scan_col_ranges(rs, nr, x, slot, k, ck); /* one range, or a page's pieces */
    return 0;
}

/* Cache decoded column *col (column which[k] of batch b, form) when it holds decoded memory,
 * and put it (or its cached twin) in *out; else move it to *out as it is. */
static es_status keep_col(scan_state *st, int64_t b, int64_t k, int form, struct ArrowArray *col,
                          struct ArrowArray *out, es_error *err)
{
    int own = col->n_children == 0 ? es_ipc_column_detach(col) : 0;
    if (own < 0)
        return es_error_set(err, ES_NOMEM, 0, "scan: out of memory");
    if (!own) {
        *out = *col;
        col->release = NULL;
        return ES_OK;
    }
    es_type ty = st->pcols[st->which[k]].type;
    if (form) {
        memset(&ty, 0, sizeof(ty));
        ty.id = ES_TYPE_INT32;
        ty.byte_width = 4;
    }
    es_colkey key = {st->idx->part_id, b, st->which[k], form};
    es_array_ref *e = NULL;
    es_status s = es_colcache_put(&e, chunk_cache(st, k), &key, st->cache_token, &ty, col, err);
    if (s)
        return s;
    es_array_ref_export(out, e);
    es_array_ref_unref(e);
    return ES_OK;
}

/* *out: a new blob of a's bytes then b's (replacing *out, which may be a). */
static es_status join_blob(es_blob **out, es_blob *a, es_blob *b, es_error *err)
{
    uint8_t *d = es_malloc(a->size + b->size + 1);
    es_blob *j = NULL;
    if (!d || es_blob_new_owned(&j, d, a->size + b->size)) {
        es_free(d);
        return es_error_set(err, ES_NOMEM, 0, "scan: out of memory");
    }
    memcpy(d, a->data, a->size);
    memcpy(d + a->size, b->data, b->size);
    es_blob_unref(*out);
    *out = j;
    return ES_OK;
}

es_status es_scan_decode(scan_state *st, int64_t slot, int64_t b, const int64_t *ks, int64_t n,
                         int keep, struct ArrowArray *dec, const char *key, es_error *err)
{
    const es_part_idx *x = st->idx;
    size_t nn = (size_t)(n > 0 ? n : 1);
    es_array_ref **ents = es_calloc(nn, sizeof(*ents));
    uint8_t *got = es_calloc(nn, 1); /* ents[i] referenced here (else the window's) */
    es_blob **blobs = es_calloc(nn, sizeof(*blobs)), **joined = es_calloc(nn, sizeof(*joined));
    int64_t *pos = es_calloc((size_t)(st->n_which > 0 ? st->n_which : 1), sizeof(int64_t));
    int64_t *mwhich = es_calloc(nn, sizeof(int64_t)), *mi = es_calloc(nn, sizeof(int64_t));
    es_blob **mblobs = es_calloc(nn, sizeof(*mblobs));
    struct ArrowArray part = {0};
    es_blob *meta = NULL;
    es_status s = ES_OK;
    memset(dec, 0, sizeof(*dec));
    if (!ents || !got || !blobs || !joined || !pos || !mwhich || !mi || !mblobs) {
        s = es_error_set(err, ES_NOMEM, 0, "scan: out of memory");
        goto done;
    }
    for (int64_t k = 0; k < st->n_which; k++)
        pos[k] = -1;
    for (int64_t i = 0; i < n; i++)
        pos[ks ? ks[i] : i] = i;
    for (int64_t r = 0; r < st->n_ranges && !s; r++) {
        const range *rg = &st->ranges[r];
        int64_t i = rg->kind < 0 ? -1 : pos[rg->kind];
        if (rg->slot != slot)
            continue;
        if (rg->kind < 0)
            meta = rg->blob;
        else if (i >= 0 && rg->ent) {
            ents[i] = rg->ent; /* (decoding threads share the counters) */
            __atomic_add_fetch(&st->stats->cache_chunks, 1, __ATOMIC_RELAXED);
            __atomic_add_fetch(&st->stats->cache_bytes,
                               es_part_idx_bytes(x, b * x->n_cols + st->which[rg->kind]),
                               __ATOMIC_RELAXED);
        } else if (i >= 0 && rg->blob && blobs[i]) /* a column in several pieces: joined */
            s = join_blob(&joined[i], blobs[i], rg->blob, err), blobs[i] = joined[i];
        else if (i >= 0 && rg->blob)
            blobs[i] = rg->blob;
    }
    if (s)
        goto done;
    int64_t nm = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t k = ks ? ks[i] : i;
        es_colcache *c = chunk_cache(st, k);
        if (!ents[i] && c && st->part_two_phase) { /* decoded by phase 1 (probe_batch)? */
            es_colkey ck = {x->part_id, b, st->which[k], es_scan_cache_form(st, k, keep)};
            got[i] = (ents[i] = es_colcache_get(c, &ck, st->cache_token)) != 0;
        }
        if (!ents[i]) {
            mwhich[nm] = st->which[k];
            mblobs[nm] = blobs[i];
            mi[nm++] = i;
        }
    }
    if (nm > 0 && !meta && !x->paged) {
        s = es_error_set(err, ES_CORRUPT, 0, "%s: empty batch metadata", key);
        goto done;
    }
    /* Raw pages are read in place (pointing into the fetched bytes) only when no column of the
     * batch goes into a cache: a cached chunk must not pin the request's whole blob. */
    int in_place = 1;
    for (int64_t m = 0; m < nm; m++)
        if (chunk_cache(st, ks ? ks[mi[m]] : mi[m]))
            in_place = 0;
    if (nm > 0)
        s = es_part_decode_batch(&part, x, b, st->pcols, mwhich, nm, meta, mblobs,
                                 (keep ? ES_PART_KEEP_DICT : 0) | (in_place ? ES_PART_IN_PLACE : 0),
                                 key, err);
    if (!s && es_owned_batch_new(dec, n, x->rows[b]))
        s = es_error_set(err, ES_NOMEM, 0, "scan: out of memory");
    if (s)
        goto done;
    es_owned_array *p = dec->private_data;
    for (int64_t i = 0; i < n; i++)
        if (ents[i])
            es_array_ref_export(&p->kids[i], ents[i]);
    for (int64_t m = 0; m < nm && !s; m++) {
        int64_t i = mi[m], k = ks ? ks[i] : i;
        if (chunk_cache(st, k))
            s = keep_col(st, b, k, es_scan_cache_form(st, k, keep), part.children[m], &p->kids[i],
                         err);
        else {
            p->kids[i] = *part.children[m];
            part.children[m]->release = NULL;
        }
    }
    if (s)
        es_array_release(dec);
done:
    es_array_release(&part);
    for (int64_t i = 0; got && i < n; i++)
        if (got[i])
            es_array_ref_unref(ents[i]);
    es_free(ents);
    es_free(got);
    es_free(blobs);
    for (int64_t i = 0; joined && i < n; i++)
        es_blob_unref(joined[i]);
    es_free(joined);
    es_free(pos);
    es_free(mwhich);
    es_free(mi);
    es_free(mblobs);
    return s;
}
