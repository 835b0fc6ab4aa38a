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
 * es_objstore_get_many. Compressed bodies cannot be read in part: ES_UNSUPPORTED, and the scan
 * reads whole batches instead.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "arrow/ipc.h"
#include "table/lookup.h"

#define LK_CACHE 4096 /* batch layouts cached per handle (direct-mapped) */
#define LK_GAP 4096   /* coalesce ranges closer than this */

/* Where every column's buffers of one batch lie in .data (absolute offsets). */
typedef struct lk_layout {
    char part[ES_ID_LEN + 1];
    int64_t batch, n_cols;
    es_ipc_buffers *cols;
} lk_layout;

typedef struct lk_cache {
    lk_layout *slot[LK_CACHE];
} lk_cache;

static void layout_free(lk_layout *l)
{
    if (l)
        es_free(l->cols);
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
                             const struct ArrowSchema *schema, const es_blob *meta, const char *key,
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
    else if (compressed)
        st = es_error_set(err, ES_UNSUPPORTED, 0, "%s: compressed batches are read whole", key);
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

/* The layouts of the batches of hits h[0..n) (cached, else read in one round). */
static es_status get_layouts(lk_hit *h, int64_t n, es_store *s, const es_tabledef *t,
                             const es_part_idx *x, const struct ArrowSchema *schema,
                             const char *key, int64_t *requests, int64_t *bytes, es_error *err)
{
    lk_cache *c = s->lk_cache;
    if (!c && !(c = s->lk_cache = es_calloc(1, sizeof(lk_cache))))
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    es_range_req *reqs = es_calloc((size_t)n, sizeof(*reqs));
    int64_t *req_b = es_calloc((size_t)n, sizeof(int64_t));
    int64_t nq = 0;
    es_status st = ES_OK;
    if (!reqs || !req_b)
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
        st = make_layout(&l, x, req_b[q], schema, reqs[q].out, key, err);
        if (!st) {
            size_t sl = slot_of(x->part_id, req_b[q]);
            layout_free(c->slot[sl]);
            c->slot[sl] = l;
        }
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
    return st;
}

static int bit(const uint8_t *p, int64_t i)
{
    return p[0] >> (i & 7) & 1;
}

es_status es_lookup_rows(struct ArrowArray *out, es_store *s, const es_tabledef *t,
                         const es_part_idx *x, const es_part_col *pcols, const int64_t *which,
                         int64_t n_which, const int64_t *first_row, const uint32_t *pos,
                         int64_t n_pos, int64_t *requests, int64_t *bytes, es_error *err)
{
    memset(out, 0, sizeof(*out));
    char key[256];
    es_part_key(key, sizeof(key), t->id, x->part_id, "data");
    struct ArrowSchema schema = {0};
    es_status st = es_part_schema(&schema, pcols, x->n_cols, err);
    if (!st)
        st = es_part_dict_decode_schema(&schema, x, err); /* encoded columns: read whole */
    if (st) {
        es_schema_release(&schema);
        return st;
    }
    for (int64_t k = 0; k < n_which; k++) {
        int w, ow;
        if (!plain_type(&pcols[which[k]].type, &w, &ow) || schema.children[which[k]]->dictionary) {
            es_schema_release(&schema);
            return es_error_set(err, ES_UNSUPPORTED, 0, "%s: a column is read whole", key);
        }
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
        goto fail;
    }
    p->kids = es_calloc((size_t)(n_which > 0 ? n_which : 1), sizeof(struct ArrowArray));
    p->kid_ptrs = es_calloc((size_t)(n_which > 0 ? n_which : 1), sizeof(struct ArrowArray *));
    out->private_data = p;
    out->release = es_owned_array_release;
    if (!p->kids || !p->kid_ptrs) {
        st = es_error_set(err, ES_NOMEM, 0, "out of memory");
        goto fail;
    }
    for (int64_t j = 0, b = 0; j < n_pos; j++) {
        while (b < x->n_batches && first_row[b + 1] <= (int64_t)pos[j])
            b++;
        if (b == x->n_batches || (j > 0 && pos[j] <= pos[j - 1])) {
            st = es_error_set(err, ES_INVALID, 0, "%s: bad row position %u", key, pos[j]);
            goto fail;
        }
        h[j].b = b;
        h[j].i = pos[j] - first_row[b];
    }
    st = get_layouts(h, n_pos, s, t, x, &schema, key, requests, bytes, err);
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
        goto fail;
    out->length = n_pos;
    out->n_buffers = 1;
    out->buffers = p->ptrs;
    out->n_children = n_which;
    out->children = p->kid_ptrs;
    es_free(rs.r);
    es_free(h);
    es_free(vbytes);
    es_free(aux);
    es_schema_release(&schema);
    return ES_OK;
fail:
    if (out->release)
        out->release(out);
    else
        es_free(p);
    es_free(rs.r);
    es_free(h);
    es_free(vbytes);
    es_free(aux);
    es_schema_release(&schema);
    return st;
}
