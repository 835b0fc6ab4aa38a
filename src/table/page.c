/*
 * page: paged parts (table layer; docs/FORMAT.md sections 1 and 2, .idx version 3) and the
 * decoding of one row of an .idx (a record batch, or a page of one) from the bytes of only the
 * wanted columns.
 *
 * A paged part's .data holds large record batches (up to es_open_options.batch_pages pages of
 * batch_rows rows). Each body buffer is, with ZSTD, the int64 uncompressed length then one
 * independent frame per page (RFC 8878: a ZSTD stream may hold several frames, so any Arrow
 * reader decodes the buffer whole), or -1 then the raw bytes; uncompressed parts hold plain
 * buffers. Bitmaps join byte-aligned (pages other than the last have a multiple of 8 rows) and
 * offsets are absolute within the batch. The .idx has one row per page: where the page's piece
 * of each buffer of each column lies, its CRC, null count and min/max. A point lookup or a
 * narrow range reads only its pages; a full scan's requests coalesce a column's consecutive
 * pieces, which are contiguous in the file, into requests of about a megabyte (scan.c).
 *
 * A page is decoded from the .idx alone (no Arrow metadata): each piece is checked (CRC over the
 * fetched pieces), decompressed to the size its rows give (validity, fixed width) or to at most
 * the frame's bound (data), offsets are rebased to 0 and checked (non-decreasing, inside the
 * data), and the page becomes an Arrow array of its rows.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "arrow/arrow.h"
#include "arrow/ipc.h"
#include "table/part.h"

const char *const es_page_idx_suffix[ES_PAGE_IDX_EXTRA] = {"voff", "vlen", "ooff", "olen", "raw"};
const char *const es_page_idx_formats[ES_PAGE_IDX_EXTRA] = {"l", "l", "l", "l", "C"};

int es_part_idx_ranges(const es_part_idx *x, int64_t k, int64_t off[3], int64_t len[3])
{
    int n = 0;
    if (!x->paged) {
        off[0] = x->col_off[k];
        len[0] = x->col_len[k];
        return len[0] > 0;
    }
    if (x->col_stats[k].null_count > 0 && x->col_vlen[k] > 0) {
        off[n] = x->col_voff[k];
        len[n++] = x->col_vlen[k];
    }
    if (x->col_olen[k] > 0) {
        off[n] = x->col_ooff[k];
        len[n++] = x->col_olen[k];
    }
    if (x->col_len[k] > 0) {
        off[n] = x->col_off[k];
        len[n++] = x->col_len[k];
    }
    return n;
}

int64_t es_part_idx_bytes(const es_part_idx *x, int64_t k)
{
    int64_t off[3], len[3], t = 0;
    int n = es_part_idx_ranges(x, k, off, len);
    for (int i = 0; i < n; i++)
        t += len[i];
    return t;
}

int64_t es_page_count(const struct ArrowArray *batches, int64_t n, es_compression compression,
                      int64_t batch_pages)
{
    if (batch_pages <= 1 || compression == ES_COMPRESS_LZ4)
        return 1;
    for (int64_t b = 0; b + 1 < n; b++)
        if (batches[b].length % 8 != 0 || batches[b].length == 0)
            return 1;
    return batch_pages;
}

es_status es_page_idx_alloc(es_part_idx *x)
{
    size_t bc =
        (size_t)(x->n_batches > 0 ? x->n_batches : 1) * (size_t)(x->n_cols > 0 ? x->n_cols : 1);
    x->paged = 1;
    x->col_voff = es_calloc(bc, sizeof(int64_t));
    x->col_vlen = es_calloc(bc, sizeof(int64_t));
    x->col_ooff = es_calloc(bc, sizeof(int64_t));
    x->col_olen = es_calloc(bc, sizeof(int64_t));
    x->col_raw = es_calloc(bc, 1);
    return x->col_voff && x->col_vlen && x->col_ooff && x->col_olen && x->col_raw ? ES_OK
                                                                                  : ES_NOMEM;
}

void es_page_idx_free(es_part_idx *x)
{
    es_free(x->col_voff);
    es_free(x->col_vlen);
    es_free(x->col_ooff);
    es_free(x->col_olen);
    es_free(x->col_raw);
}

es_status es_page_write(es_part_idx *x, es_ipc_writer *w, const struct ArrowArray *pages,
                        int64_t first, int64_t np, int64_t g, const char *key, es_error *err)
{
    es_status st = es_ipc_writer_write_pages(w, pages, np, err);
    if (st)
        return st;
    for (int64_t c = 0; c < x->n_cols; c++) {
        int64_t got = 0;
        const es_ipc_page *pg = es_ipc_writer_pages(w, c, &got);
        if (!pg || got != np)
            return es_error_set(err, ES_INTERNAL, 0, "%s: no page ranges", key);
        for (int64_t p = 0; p < np; p++) {
            int64_t k = (first + p) * x->n_cols + c;
            const es_ipc_page *q = &pg[p];
            /* The last non-empty buffer is the values (or data); a varlen column's offsets
             * come before it. The writer reports C Data buffers: 0 validity, 1 values or
             * offsets, 2 data. */
            int last = q->n_buffers == 3 ? 2 : 1;
            x->col_voff[k] = q->off[0];
            x->col_vlen[k] = q->len[0];
            x->col_off[k] = q->off[last];
            x->col_len[k] = q->len[last];
            x->col_ooff[k] = last == 2 ? q->off[1] : 0;
            x->col_olen[k] = last == 2 ? q->len[1] : 0;
            x->col_raw[k] = q->raw;
        }
    }
    for (int64_t p = 0; p < np; p++)
        x->offset[first + p] = g;
    return ES_OK;
}

es_status es_page_idx_finish(es_part_idx *x, const uint8_t *data, size_t data_len,
                             const es_ipc_block *blocks, int64_t n_blocks, const char *key,
                             es_error *err)
{
    for (int64_t b = 0; b < x->n_batches; b++) {
        int64_t g = x->offset[b];
        if (g < 0 || g >= n_blocks)
            return es_error_set(err, ES_INTERNAL, 0, "%s: page %lld of no batch", key,
                                (long long)b);
        const es_ipc_block *bl = &blocks[g];
        x->offset[b] = bl->offset;
        x->meta_len[b] = bl->metadata_length;
        x->body_len[b] = bl->body_length;
        if (bl->offset + bl->metadata_length + bl->body_length > (int64_t)data_len)
            return es_error_set(err, ES_INTERNAL, 0, "%s: batch %lld outside the file", key,
                                (long long)g);
        x->meta_crc[b] = es_crc32c(0, data + bl->offset, (size_t)bl->metadata_length);
        for (int64_t c = 0; c < x->n_cols; c++) {
            int64_t k = b * x->n_cols + c, off[3], len[3];
            int n = es_part_idx_ranges(x, k, off, len);
            uint32_t crc = 0;
            for (int i = 0; i < n; i++)
                crc = es_crc32c(crc, data + off[i], (size_t)len[i]);
            x->col_crc[k] = crc;
        }
    }
    return ES_OK;
}

uint32_t es_page_idx_crc(uint32_t crc, const es_part_idx *x)
{
    if (!x->paged)
        return crc;
    uint8_t buf[33];
    for (int64_t k = 0; k < x->n_batches * x->n_cols; k++) {
        es_store_u64(buf, (uint64_t)x->col_voff[k]);
        es_store_u64(buf + 8, (uint64_t)x->col_vlen[k]);
        es_store_u64(buf + 16, (uint64_t)x->col_ooff[k]);
        es_store_u64(buf + 24, (uint64_t)x->col_olen[k]);
        buf[32] = x->col_raw[k];
        crc = es_crc32c(crc, buf, sizeof buf);
    }
    return crc;
}

es_status es_page_idx_append(es_builder *const *ch, const es_part_idx *x, int64_t k)
{
    es_status st = es_builder_append_int(ch[0], x->col_voff[k]);
    st = st ? st : es_builder_append_int(ch[1], x->col_vlen[k]);
    st = st ? st : es_builder_append_int(ch[2], x->col_ooff[k]);
    st = st ? st : es_builder_append_int(ch[3], x->col_olen[k]);
    return st ? st : es_builder_append_uint(ch[4], x->col_raw[k]);
}

void es_page_idx_read(es_part_idx *x, int64_t c, const es_array_view *v)
{
    for (int64_t b = 0, k = c; b < x->n_batches; b++, k += x->n_cols) {
        x->col_voff[k] = (int64_t)es_load_u64(v[0].values + 8 * b);
        x->col_vlen[k] = (int64_t)es_load_u64(v[1].values + 8 * b);
        x->col_ooff[k] = (int64_t)es_load_u64(v[2].values + 8 * b);
        x->col_olen[k] = (int64_t)es_load_u64(v[3].values + 8 * b);
        x->col_raw[k] = v[4].values[b];
    }
}

es_status es_page_idx_check(const es_part_idx *x, const char *name, es_error *err)
{
    for (int64_t b = 0; b < x->n_batches; b++) {
        int64_t body = x->offset[b] + x->meta_len[b], end = body + x->body_len[b];
        for (int64_t c = 0; c < x->n_cols; c++) {
            int64_t k = b * x->n_cols + c;
            const int64_t r[3][2] = {{x->col_voff[k], x->col_vlen[k]},
                                     {x->col_ooff[k], x->col_olen[k]},
                                     {x->col_off[k], x->col_len[k]}};
            for (int i = 0; i < 3; i++)
                if (r[i][1] < 0 || r[i][1] > (1LL << 40) ||
                    (r[i][1] > 0 && (r[i][0] < body || r[i][0] > end - r[i][1])))
                    return es_error_set(err, ES_CORRUPT, 0, "%s: page %lld: bad column range", name,
                                        (long long)b);
            if (x->col_raw[k] > 7)
                return es_error_set(err, ES_CORRUPT, 0, "%s: page %lld: bad raw flags", name,
                                    (long long)b);
        }
    }
    return ES_OK;
}

/* ------------------------------------------------------------------ page decode */

/* One piece of a page: its frame decompressed, or its raw bytes, exactly `expect` bytes when
 * expect >= 0. Raw bytes are read in place (*in = src, *out = NULL) when `in` is given and src
 * is aligned to `align`, else copied. */
static es_status piece(uint8_t **out, const void **in, int64_t *n, const uint8_t *src, int64_t len,
                       int raw, int64_t expect, size_t align, const char *what, es_error *err)
{
    *out = NULL;
    if (raw) {
        if (expect >= 0 && len != expect)
            return es_error_set(err, ES_CORRUPT, 0, "%s: page piece of %lld bytes, expected %lld",
                                what, (long long)len, (long long)expect);
        if (in && len > 0 && (uintptr_t)src % align == 0) {
            *in = src;
            *n = len;
            return ES_OK;
        }
        *out = es_malloc((size_t)(len > 0 ? len : 1));
        if (!*out)
            return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", what);
        if (len)
            memcpy(*out, src, (size_t)len);
        *n = len;
        return ES_OK;
    }
    return es_arrow_decompress_frame(out, n, 1, src, len, expect, what, err);
}

/* Column k (batch-column index) of page b, from `bytes` (its fetched pieces in turn), as an
 * array of the page's rows of type t into *a. */
static es_status decode_column(struct ArrowArray *a, const es_part_idx *x, int64_t b, int64_t k,
                               const es_type *t, es_blob *bytes, int in_place, const char *what,
                               es_error *err)
{
    int64_t rows = x->rows[b], nulls = x->col_stats[k].null_count;
    int64_t off[3], len[3];
    int i = 0;
    es_part_idx_ranges(x, k, off, len);
    const uint8_t *p = bytes ? bytes->data : NULL;
    uint8_t raw = x->col_raw[k];
    void *buf[3] = {NULL, NULL, NULL};
    const void *in[3] = {NULL, NULL, NULL}; /* raw pieces read in place, in `bytes` */
    int64_t in_size[3] = {0, 0, 0};
    es_status st = ES_OK;
    if (t->id == ES_TYPE_NA)
        return es_ipc_column_new(a, rows, rows, 0, buf)
                   ? es_error_set(err, ES_NOMEM, 0, "%s: out of memory", what)
                   : ES_OK;
    if (nulls > 0 && x->col_vlen[k] > 0) {
        st = piece((uint8_t **)&buf[0], in_place ? &in[0] : NULL, &in_size[0], p, len[i], raw & 1,
                   (rows + 7) / 8, 1, what, err);
        p += len[i++];
    } else if (nulls > 0) {
        st = es_error_set(err, ES_CORRUPT, 0, "%s: page with nulls has no validity", what);
    }
    if (st)
        goto fail;
    if (!es_type_is_varlen(t->id)) {
        int64_t want = t->id == ES_TYPE_BOOL ? (rows + 7) / 8 : rows * t->byte_width;
        size_t align = t->byte_width > 8 ? 8 : t->byte_width > 0 ? (size_t)t->byte_width : 1;
        if (x->col_len[k] > 0)
            st = piece((uint8_t **)&buf[1], in_place ? &in[1] : NULL, &in_size[1], p, len[i],
                       raw >> 1 & 1, want, align, what, err);
        else if (want > 0)
            st = es_error_set(err, ES_CORRUPT, 0, "%s: page without values", what);
        else if (!(buf[1] = es_calloc(1, 8)))
            st = es_error_set(err, ES_NOMEM, 0, "%s: out of memory", what);
        if (st)
            goto fail;
        goto make;
    }
    /* Varlen: offsets (rows of them, rows + 1 for the last page of a batch), then data. */
    int ow = t->id == ES_TYPE_LARGE_UTF8 || t->id == ES_TYPE_LARGE_BINARY ? 8 : 4;
    uint8_t *offs = NULL;
    int64_t olen = 0, dlen = 0;
    if (x->col_olen[k] <= 0) {
        st = es_error_set(err, ES_CORRUPT, 0, "%s: page without offsets", what);
        goto fail;
    }
    st = piece(&offs, NULL, &olen, p, len[i], raw >> 1 & 1, -1, 1, what, err);
    p += len[i++];
    if (!st && x->col_len[k] > 0)
        st = piece((uint8_t **)&buf[2], in_place ? &in[2] : NULL, &dlen, p, len[i], raw >> 2 & 1,
                   -1, 1, what, err);
    else if (!st && !(buf[2] = es_calloc(1, 8)))
        st = es_error_set(err, ES_NOMEM, 0, "%s: out of memory", what);
    in_size[2] = dlen;
    if (!st && olen != rows * ow && olen != (rows + 1) * ow)
        st = es_error_set(err, ES_CORRUPT, 0, "%s: page offsets of %lld bytes for %lld rows", what,
                          (long long)olen, (long long)rows);
    /* Rebased to 0; the end is the start plus the data's size (checked against a final offset
     * when the page has one). */
    uint8_t *no = st ? NULL : es_malloc((size_t)((rows + 1) * ow));
    if (!st && !no)
        st = es_error_set(err, ES_NOMEM, 0, "%s: out of memory", what);
    int64_t base = 0, prev = 0;
    for (int64_t r = 0; r <= rows && !st; r++) {
        int64_t v;
        if (r < rows || olen == (rows + 1) * ow) {
            if (ow == 8) {
                memcpy(&v, offs + 8 * r, 8);
            } else {
                int32_t v32;
                memcpy(&v32, offs + 4 * r, 4);
                v = v32;
            }
            if (r == 0)
                base = v;
            v -= base;
        } else {
            v = dlen;
        }
        if (v < prev || v > dlen || (r == rows && v != dlen))
            st = es_error_set(err, ES_CORRUPT, 0, "%s: page offsets out of order or range", what);
        prev = v;
        if (ow == 8) {
            memcpy(no + 8 * r, &v, 8);
        } else {
            int32_t v32 = (int32_t)v;
            memcpy(no + 4 * r, &v32, 4);
        }
    }
    es_free(offs);
    buf[1] = no;
    if (st)
        goto fail;
make:
    if (es_ipc_column_new_in(a, rows, nulls, es_arrow_n_buffers(t), buf, in, in_size, bytes))
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", what);
    return ES_OK;
fail:
    for (int j = 0; j < 3; j++)
        es_free(buf[j]);
    return st;
}

/* Page b: columns which[0..n_want) from their fetched pieces (CRC checked first). */
static es_status decode_page(struct ArrowArray *out, const es_part_idx *x, int64_t b,
                             const struct ArrowSchema *schema, const int64_t *which, int64_t n_want,
                             es_blob *const *col_bytes, int in_place, const char *name,
                             es_error *err)
{
    char what[300];
    for (int64_t k = 0; k < n_want; k++) {
        int64_t ck = b * x->n_cols + which[k];
        size_t have = col_bytes[k] ? col_bytes[k]->size : 0;
        if ((int64_t)have != es_part_idx_bytes(x, ck) ||
            (have && es_crc32c(0, col_bytes[k]->data, have) != x->col_crc[ck]))
            return es_error_set(err, ES_CORRUPT, 0, "%s: page %lld column c%lld checksum mismatch",
                                name, (long long)b, (long long)x->col_ids[which[k]]);
    }
    if (es_owned_batch_new(out, n_want, x->rows[b]))
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", name);
    es_owned_array *o = out->private_data;
    es_status st = ES_OK;
    for (int64_t k = 0; k < n_want && !st; k++) {
        es_type t;
        snprintf(what, sizeof what, "%s: page %lld column c%lld", name, (long long)b,
                 (long long)x->col_ids[which[k]]);
        st = es_type_parse(&t, schema->children[which[k]]->format, err);
        if (!st)
            st = decode_column(&o->kids[k], x, b, b * x->n_cols + which[k], &t, col_bytes[k],
                               in_place, what, err);
    }
    if (st) {
        out->release(out);
        out->release = NULL;
    }
    return st;
}

/* ------------------------------------------------------------------ decode */

es_status es_part_decode_batch(struct ArrowArray *out, const es_part_idx *x, int64_t b,
                               const es_part_col *cols, const int64_t *which, int64_t n_want,
                               es_blob *meta, es_blob *const *col_bytes, int flags,
                               const char *name, es_error *err)
{
    int keep_dict = flags & ES_PART_KEEP_DICT;
    out->release = NULL;
    struct ArrowSchema schema = {0};
    int64_t *roff = NULL, *rlen = NULL;
    es_error sub;
    es_status st;

    if (x->paged) { /* a page: from the .idx and the pieces alone */
        st = es_part_schema(&schema, cols, x->n_cols, err);
        if (!st)
            st = es_part_dict_decode_schema(&schema, x, err);
        if (!st)
            st = decode_page(out, x, b, &schema, which, n_want, col_bytes, flags & ES_PART_IN_PLACE,
                             name, err);
        goto dict;
    }
    if ((int64_t)meta->size != x->meta_len[b] ||
        es_crc32c(0, meta->data, meta->size) != x->meta_crc[b])
        return es_error_set(err, ES_CORRUPT, 0, "%s: batch %lld metadata checksum mismatch", name,
                            (long long)b);
    for (int64_t k = 0; k < n_want; k++) {
        int64_t ck = b * x->n_cols + which[k];
        size_t have = col_bytes[k] ? col_bytes[k]->size : 0;
        if ((int64_t)have != x->col_len[ck] ||
            (have && es_crc32c(0, col_bytes[k]->data, have) != x->col_crc[ck]))
            return es_error_set(err, ES_CORRUPT, 0, "%s: batch %lld column c%lld checksum mismatch",
                                name, (long long)b, (long long)x->col_ids[which[k]]);
    }
    size_t nc = (size_t)(x->n_cols > 0 ? x->n_cols : 1);
    roff = es_calloc(nc, sizeof(int64_t));
    rlen = es_calloc(nc, sizeof(int64_t));
    if (!roff || !rlen) {
        st = es_error_set(err, ES_NOMEM, 0, "%s: out of memory", name);
        goto done;
    }
    st = es_part_schema(&schema, cols, x->n_cols, err);
    if (!st)
        st = es_part_dict_decode_schema(&schema, x, err);
    if (st)
        goto done;
    /* The metadata must agree with the index about where the wanted columns are. */
    st = es_ipc_batch_column_ranges(roff, rlen, &schema, meta->data, meta->size, &sub);
    if (st) {
        st = es_error_set(err, st == ES_NOMEM ? ES_NOMEM : ES_CORRUPT, 0, "%s: batch %lld: %s",
                          name, (long long)b, sub.msg);
        goto done;
    }
    for (int64_t k = 0; k < n_want; k++) {
        int64_t c = which[k], ck = b * x->n_cols + c;
        if (roff[c] + x->offset[b] + x->meta_len[b] != x->col_off[ck] ||
            rlen[c] != x->col_len[ck]) {
            st = es_error_set(err, ES_CORRUPT, 0, "%s: batch %lld column ranges disagree", name,
                              (long long)b);
            goto done;
        }
    }
    st = es_ipc_decode_batch_columns(out, &schema, meta->data, meta->size, which, n_want, col_bytes,
                                     &sub);
    if (st)
        st = es_error_set(err, st == ES_NOMEM ? ES_NOMEM : ES_CORRUPT, 0, "%s: batch %lld: %s",
                          name, (long long)b, sub.msg);
    else if (out->length != x->rows[b]) {
        out->release(out);
        out->release = NULL;
        st = es_error_set(err, ES_CORRUPT, 0, "%s: batch %lld has %lld rows, index says %lld", name,
                          (long long)b, (long long)out->length, (long long)x->rows[b]);
    }
dict:
    if (!st && x->dict_fmt) {
        char what[300];
        snprintf(what, sizeof what, "%s: %s %lld", name, x->paged ? "page" : "batch", (long long)b);
        st = es_part_dict_decode_columns(out, &schema, x, which, n_want, keep_dict, what, err);
        if (st) {
            out->release(out);
            out->release = NULL;
        }
    }
done:
    es_schema_release(&schema);
    es_free(roff);
    es_free(rlen);
    return st;
}
