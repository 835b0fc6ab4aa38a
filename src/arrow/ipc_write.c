/*
 * ipc_write: the Arrow IPC writer, file and stream formats (arrow layer; see ipc_format.h).
 * Arrays in memory to bytes in memory; no I/O. Metadata is FlatBuffers (flatbuf.c), schemas and
 * arrays are C Data Interface structs; the decoder is ipc_read.c, the readers ipc_file.c.
 *
 * Formats (apache/arrow docs/source/format/IPC.rst, format/Message.fbs, Schema.fbs, File.fbs):
 *
 *   message    := 0xFFFFFFFF, int32 metadata_size, Message flatbuffer padded to 8 bytes, body
 *                 (the legacy form without the 0xFFFFFFFF marker is read, never written)
 *   stream     := schema message, record batch messages..., 0xFFFFFFFF 0x00000000 (EOS)
 *   file       := "ARROW1\0\0", stream, Footer flatbuffer, int32 footer_size, "ARROW1"
 *   body       := buffers, each at an 8-aligned offset inside the body, in field order:
 *                 validity, [offsets], values/data. Null columns have no buffers.
 *   compressed := each non-empty buffer is int64 uncompressed_length (little-endian), then an
 *                 LZ4 frame or a ZSTD frame; uncompressed_length -1 means the raw bytes follow
 *                 (ipc_codec.c).
 *
 * Invariants of what we write: every message starts 8-aligned and its metadata is padded so
 * that its body is 8-aligned; each column's buffers are contiguous (see arrow/ipc.h); the
 * offsets of varlen columns start at 0 (slices are rebased; bitmaps at a bit offset are
 * shifted); a varlen column of length 0 still gets its one offset; validity is omitted (length
 * 0) when a column has no nulls; with compression a buffer that does not shrink enough is stored
 * raw with prefix -1; metadata version V5; the file repeats the schema in its footer, after an EOS.
 */
#include "arrow/ipc_format.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Whether buffer j of a column of type t holds fixed-width values (es_arrow_compress_cap). */
static int fixed_values(const es_type *t, int j)
{
    return j == 1 && !es_type_is_varlen(t->id) && t->id != ES_TYPE_BOOL && t->id != ES_TYPE_NA;
}

static int64_t pad8(int64_t v)
{
    return (v + 7) & ~(int64_t)7;
}

/* A Message table around a header. */
static es_fb_ref encode_message(es_fb_builder *b, int header_type, es_fb_ref header,
                                int64_t body_length)
{
    es_fb_table_start(b);
    es_fb_add_scalar(b, MSG_VERSION, 2, METADATA_V5);
    es_fb_add_scalar(b, MSG_HEADER_TYPE, 1, (uint64_t)header_type);
    es_fb_add_ref(b, MSG_HEADER, header);
    es_fb_add_scalar(b, MSG_BODY_LENGTH, 8, (uint64_t)body_length);
    return es_fb_table_end(b);
}

/* Append the framed message (marker, length, flatbuffer, padding) to out. */
static es_status append_message(es_buf *out, const uint8_t *fb, size_t fb_len, int32_t *meta_len)
{
    uint8_t hdr[8];
    size_t padded = (size_t)pad8((int64_t)fb_len);
    es_store_u32(hdr, CONTINUATION);
    es_store_u32(hdr + 4, (uint32_t)padded);
    es_status st = es_buf_append(out, hdr, 8);
    if (st == ES_OK)
        st = es_buf_append(out, fb, fb_len);
    if (st == ES_OK)
        st = es_buf_append_zeros(out, padded - fb_len);
    if (meta_len)
        *meta_len = (int32_t)(8 + padded);
    return st;
}

/* ===================================================================== writer */

struct es_ipc_writer {
    es_ipc_format format;
    es_compression compression;
    struct ArrowSchema schema;
    es_type *types;
    int64_t n_cols;
    es_buf out;
    es_ipc_block *blocks;
    int64_t *ranges; /* 2 * n_cols per block: offset, length */
    int64_t n_blocks, cap_blocks;
    es_arrow_codecs codecs;
    es_ipc_dict_block *dicts; /* dictionary batches written, in order */
    int64_t n_dicts;
    bool has_dicts;     /* some field is dictionary-encoded */
    es_ipc_page *pages; /* the last es_ipc_writer_write_pages: [c * n_pages + p] */
    int64_t n_pages;
    bool finished;
    bool failed; /* sticky: a failed append may have left partial bytes */
};

void es_ipc_writer_free(es_ipc_writer *w)
{
    if (!w)
        return;
    es_schema_release(&w->schema);
    es_free(w->types);
    es_buf_reset(&w->out);
    es_free(w->blocks);
    es_free(w->ranges);
    es_free(w->dicts);
    es_free(w->pages);
    es_arrow_codecs_reset(&w->codecs);
    es_free(w);
}

static es_status build_schema_fb(uint8_t **fb, size_t *len, const es_ipc_writer *w)
{
    es_fb_builder b;
    es_fb_builder_init(&b);
    es_fb_ref s = es_arrow_encode_schema(&b, &w->schema, w->types);
    es_fb_ref m = encode_message(&b, HDR_SCHEMA, s, 0);
    return es_fb_finish(&b, m, fb, len);
}

/* The Schema messages of the last flat schemas written (a struct of plain fields: no metadata,
 * no dictionary, no nested type), keyed by each field's format, name and flags: the table layer
 * writes a one-row stream per inserted row (and per row of each entry it reads), and encoding
 * the same schema's FlatBuffer again each time cost more than writing the row. Process-lifetime
 * (plain malloc, as the log's cache of inline Schema messages), under a mutex. */
#define SCHEMA_FB_CACHE_N 8
typedef struct schema_fb {
    uint8_t *sig, *fb;
    size_t sig_len, fb_len;
} schema_fb;
static schema_fb schema_fbs[SCHEMA_FB_CACHE_N];
static int schema_fb_next;
static pthread_mutex_t schema_fb_mu = PTHREAD_MUTEX_INITIALIZER;

/* The key of a flat schema into sig (at most cap bytes); 0 when it is not flat or too long. */
static size_t schema_sig(uint8_t *sig, size_t cap, const struct ArrowSchema *sc)
{
    size_t n = 0;
    if (sc->metadata || sc->dictionary)
        return 0;
    for (int64_t c = 0; c < sc->n_children; c++) {
        const struct ArrowSchema *f = sc->children[c];
        if (f->metadata || f->dictionary || f->n_children || !f->format)
            return 0;
        const char *name = f->name ? f->name : "";
        size_t fl = strlen(f->format) + 1, nl = strlen(name) + 1;
        if (n + fl + nl + sizeof(f->flags) + 1 > cap)
            return 0;
        memcpy(sig + n, f->format, fl);
        n += fl;
        sig[n++] = f->name ? 1 : 0;
        memcpy(sig + n, name, nl);
        n += nl;
        memcpy(sig + n, &f->flags, sizeof(f->flags));
        n += sizeof(f->flags);
    }
    return n;
}

/* Append the Schema message of w (its schema) to w->out: from the cache when it holds it. */
static es_status append_schema(es_ipc_writer *w)
{
    uint8_t sig[512];
    size_t sig_len = schema_sig(sig, sizeof(sig), &w->schema);
    if (sig_len) {
        pthread_mutex_lock(&schema_fb_mu);
        for (int i = 0; i < SCHEMA_FB_CACHE_N; i++) {
            const schema_fb *k = &schema_fbs[i];
            if (k->sig && k->sig_len == sig_len && memcmp(k->sig, sig, sig_len) == 0) {
                es_status st = append_message(&w->out, k->fb, k->fb_len, NULL);
                pthread_mutex_unlock(&schema_fb_mu);
                return st;
            }
        }
        pthread_mutex_unlock(&schema_fb_mu);
    }
    uint8_t *fb;
    size_t fb_len;
    es_status st = build_schema_fb(&fb, &fb_len, w);
    if (st)
        return st;
    st = append_message(&w->out, fb, fb_len, NULL);
    uint8_t *ksig = sig_len ? malloc(sig_len) : NULL, *kfb = ksig ? malloc(fb_len) : NULL;
    if (kfb) {
        memcpy(ksig, sig, sig_len);
        memcpy(kfb, fb, fb_len);
        pthread_mutex_lock(&schema_fb_mu);
        schema_fb *k = &schema_fbs[schema_fb_next];
        schema_fb_next = (schema_fb_next + 1) % SCHEMA_FB_CACHE_N;
        free(k->sig);
        free(k->fb);
        *k = (schema_fb){ksig, kfb, sig_len, fb_len};
        pthread_mutex_unlock(&schema_fb_mu);
    } else {
        free(ksig);
    }
    es_free(fb);
    return st;
}

es_status es_ipc_writer_new(es_ipc_writer **out, const struct ArrowSchema *schema,
                            es_ipc_format format, const es_ipc_write_options *opts, es_error *err)
{
    *out = NULL;
    if (format != ES_IPC_FILE && format != ES_IPC_STREAM)
        return es_error_set(err, ES_INVALID, 0, "bad IPC format %d", (int)format);
    if (opts && (opts->version != ES_IPC_WRITE_OPTIONS_VERSION ||
                 (opts->compression != ES_COMPRESS_NONE && opts->compression != ES_COMPRESS_LZ4 &&
                  opts->compression != ES_COMPRESS_ZSTD)))
        return es_error_set(err, ES_INVALID, 0, "bad IPC write options");
    es_ipc_writer *w = es_calloc(1, sizeof *w);
    if (!w)
        return es_error_set(err, ES_NOMEM, 0, "out of memory creating IPC writer");
    w->format = format;
    w->compression = opts ? opts->compression : ES_COMPRESS_NONE;
    es_status st = es_arrow_batch_types(&w->types, schema, err);
    if (st == ES_OK)
        st = es_schema_copy(&w->schema, schema, err);
    if (st) {
        es_ipc_writer_free(w);
        return st;
    }
    w->n_cols = schema->n_children;
    for (int64_t c = 0; c < w->n_cols; c++)
        w->has_dicts = w->has_dicts || schema->children[c]->dictionary;
    if (format == ES_IPC_FILE)
        st = es_buf_append(&w->out, IPC_MAGIC, 8);
    if (st == ES_OK)
        st = append_schema(w);
    if (st) {
        es_ipc_writer_free(w);
        return es_error_set(err, st, 0, "out of memory writing schema");
    }
    *out = w;
    return ES_OK;
}

/* One body buffer to write. */
typedef struct out_buf {
    const uint8_t *data;
    int64_t len;
    uint8_t *owned; /* freed after writing */
} out_buf;

/* The bitmap bits [off, off+len) starting at bit 0 (a slice when byte-aligned). */
static es_status slice_bits(out_buf *o, const uint8_t *bits, int64_t off, int64_t len)
{
    int64_t bytes = (len + 7) / 8;
    o->len = bytes;
    if ((off & 7) == 0) {
        o->data = bits + off / 8;
        return ES_OK;
    }
    uint8_t *d = es_calloc((size_t)(bytes ? bytes : 1), 1);
    if (!d)
        return ES_NOMEM;
    for (int64_t i = 0; i < len; i++)
        if ((bits[(off + i) >> 3] >> ((off + i) & 7)) & 1)
            d[i >> 3] |= (uint8_t)(1u << (i & 7));
    o->owned = d;
    o->data = d;
    return ES_OK;
}

/* The buffers of one column of a batch, sliced to [off, off+len). */
static es_status column_buffers(out_buf *ob, int *nb, int64_t *nulls, const es_type *t,
                                const struct ArrowArray *a, int64_t off, int64_t len,
                                const char *name, es_error *err)
{
    *nb = es_arrow_n_buffers(t);
    if (a->n_buffers != *nb || (*nb && !a->buffers))
        return es_error_set(err, ES_INVALID, 0, "field '%s': %" PRId64 " buffers, expected %d",
                            name, a->n_buffers, *nb);
    if (t->id == ES_TYPE_NA) {
        *nulls = len;
        return ES_OK;
    }
    const uint8_t *valid = a->buffers[0];
    *nulls = (a->null_count == 0 || !valid) ? 0 : len - es_arrow_count_set_bits(valid, off, len);
    if (*nulls > 0 && slice_bits(&ob[0], valid, off, len) != ES_OK)
        return es_error_set(err, ES_NOMEM, 0, "out of memory writing field '%s'", name);
    if (len == 0 && !es_type_is_varlen(t->id))
        return ES_OK;
    if (!a->buffers[1] || (es_type_is_varlen(t->id) && !a->buffers[2] && len > 0))
        return es_error_set(err, ES_INVALID, 0, "field '%s': missing data buffer", name);
    if (t->id == ES_TYPE_BOOL) {
        if (slice_bits(&ob[1], a->buffers[1], off, len) != ES_OK)
            return es_error_set(err, ES_NOMEM, 0, "out of memory writing field '%s'", name);
        return ES_OK;
    }
    if (!es_type_is_varlen(t->id)) {
        ob[1].data = (const uint8_t *)a->buffers[1] + off * t->byte_width;
        ob[1].len = len * t->byte_width;
        return ES_OK;
    }
    int w = offset_width(t->id);
    if (len == 0) {
        ob[1].data = (const uint8_t *)es_arrow_zero_offsets;
        ob[1].len = w;
        return ES_OK;
    }
    const uint8_t *offs = (const uint8_t *)a->buffers[1] + off * w;
    int64_t base = w == 8 ? ((const int64_t *)offs)[0] : ((const int32_t *)offs)[0];
    int64_t end = w == 8 ? ((const int64_t *)offs)[len] : ((const int32_t *)offs)[len];
    if (base < 0 || end < base)
        return es_error_set(err, ES_INVALID, 0, "field '%s': bad offsets", name);
    ob[1].len = (len + 1) * w;
    if (base == 0) {
        ob[1].data = offs;
    } else {
        uint8_t *d = es_malloc((size_t)ob[1].len);
        if (!d)
            return es_error_set(err, ES_NOMEM, 0, "out of memory writing field '%s'", name);
        for (int64_t i = 0; i <= len; i++) {
            if (w == 8) {
                int64_t v = ((const int64_t *)offs)[i] - base;
                memcpy(d + 8 * i, &v, 8);
            } else {
                int32_t v = (int32_t)(((const int32_t *)offs)[i] - base);
                memcpy(d + 4 * i, &v, 4);
            }
        }
        ob[1].owned = d;
        ob[1].data = d;
    }
    ob[2].data = (const uint8_t *)a->buffers[2] + base;
    ob[2].len = end - base;
    return ES_OK;
}

/* Write a message whose columns' final body buffers (compressed when the writer compresses)
 * are ob[3c + j] (j < nbs[c]), with field nodes `nodes` (length, null count per column) and
 * `len` rows: a record batch (dict_id < 0; its block and column ranges are recorded) or the
 * dictionary batch of id dict_id (its block in *dict_block). buf_abs (3n, may be NULL): each
 * buffer's absolute offset in the output. */
static es_status emit_message(es_ipc_writer *w, const out_buf *ob, const int64_t *nodes,
                              const int *nbs, int64_t n, int64_t len, int64_t dict_id,
                              es_ipc_block *dict_block, int64_t *buf_abs, es_error *err)
{
    int64_t *bufs = es_malloc((size_t)(6 * n + 1) * sizeof *bufs);
    int64_t *ranges = es_malloc((size_t)(2 * n + 1) * sizeof *ranges);
    uint8_t *fb = NULL;
    size_t fb_len = 0;
    int64_t n_bufs = 0, body = 0;
    es_status st = ES_OK;
    if (!bufs || !ranges) {
        st = es_error_set(err, ES_NOMEM, 0, "IPC write: out of memory");
        goto done;
    }
    for (int64_t c = 0; c < n; c++) {
        ranges[2 * c] = body;
        ranges[2 * c + 1] = 0;
        for (int j = 0; j < nbs[c]; j++) {
            const out_buf *o = &ob[3 * c + j];
            bufs[2 * n_bufs] = o->len > 0 ? body : 0;
            bufs[2 * n_bufs + 1] = o->len;
            n_bufs++;
            if (buf_abs)
                buf_abs[3 * c + j] = o->len > 0 ? body : -1;
            if (o->len > 0) {
                if (ranges[2 * c + 1] == 0)
                    ranges[2 * c] = body;
                ranges[2 * c + 1] = body + o->len - ranges[2 * c];
                body += pad8(o->len);
            }
        }
    }
    /* Metadata. */
    es_fb_builder b;
    es_fb_builder_init(&b);
    es_fb_ref nv = es_fb_create_vector(&b, nodes, (size_t)n, 16, 8);
    es_fb_ref bv = es_fb_create_vector(&b, bufs, (size_t)n_bufs, 16, 8);
    es_fb_ref cmp = 0;
    if (w->compression != ES_COMPRESS_NONE) {
        es_fb_table_start(&b);
        es_fb_add_scalar(&b, CMP_CODEC, 1, w->compression == ES_COMPRESS_LZ4 ? 0 : 1);
        es_fb_add_scalar(&b, CMP_METHOD, 1, 0);
        cmp = es_fb_table_end(&b);
    }
    es_fb_table_start(&b);
    es_fb_add_scalar(&b, RB_LENGTH, 8, (uint64_t)len);
    es_fb_add_ref(&b, RB_NODES, nv);
    es_fb_add_ref(&b, RB_BUFFERS, bv);
    if (cmp)
        es_fb_add_ref(&b, RB_COMPRESSION, cmp);
    es_fb_ref rbt = es_fb_table_end(&b);
    if (dict_id >= 0) {
        es_fb_table_start(&b);
        es_fb_add_scalar(&b, 0, 8, (uint64_t)dict_id);
        es_fb_add_ref(&b, 1, rbt);
        rbt = es_fb_table_end(&b);
    }
    es_fb_ref msg = encode_message(&b, dict_id >= 0 ? HDR_DICTIONARY : HDR_RECORD_BATCH, rbt, body);
    if (es_fb_finish(&b, msg, &fb, &fb_len) != ES_OK) {
        st = es_error_set(err, ES_NOMEM, 0, "IPC write: out of memory encoding metadata");
        goto done;
    }
    /* Room for the block and ranges. */
    if (dict_id < 0 && w->n_blocks == w->cap_blocks) {
        int64_t nc = w->cap_blocks ? 2 * w->cap_blocks : 16;
        es_ipc_block *nbk = es_realloc(w->blocks, (size_t)nc * sizeof *nbk);
        if (nbk)
            w->blocks = nbk;
        int64_t *nr =
            nbk ? es_realloc(w->ranges, (size_t)(nc * 2 * (n ? n : 1)) * sizeof *nr) : NULL;
        if (nr)
            w->ranges = nr;
        if (!nbk || !nr) {
            st = es_error_set(err, ES_NOMEM, 0, "IPC write: out of memory");
            goto done;
        }
        w->cap_blocks = nc;
    }
    if (es_buf_reserve(&w->out, 16 + fb_len + (size_t)body) != ES_OK) {
        st = es_error_set(err, ES_NOMEM, 0, "IPC write: out of memory");
        goto done;
    }
    es_ipc_block *blk = dict_id >= 0 ? dict_block : &w->blocks[w->n_blocks];
    blk->offset = (int64_t)w->out.len;
    blk->body_length = body;
    blk->rows = len;
    st = append_message(&w->out, fb, fb_len, &blk->metadata_length);
    int64_t body_start = (int64_t)w->out.len;
    for (int64_t i = 0; buf_abs && i < 3 * n; i++)
        if (buf_abs[i] >= 0)
            buf_abs[i] += body_start;
    for (int64_t i = 0; st == ES_OK && i < 3 * n; i++) {
        if (ob[i].len <= 0)
            continue;
        st = es_buf_append(&w->out, ob[i].data, (size_t)ob[i].len);
        if (st == ES_OK)
            st = es_buf_pad(&w->out, 8);
    }
    if (st) {
        w->failed = true;
        st = es_error_set(err, st, 0, "IPC write: out of memory");
        goto done;
    }
    if (dict_id < 0) {
        int64_t *r = &w->ranges[w->n_blocks * 2 * n];
        for (int64_t c = 0; c < n; c++) {
            r[2 * c] = body_start + ranges[2 * c];
            r[2 * c + 1] = ranges[2 * c + 1];
        }
        w->n_blocks++;
    }
done:
    es_free(bufs);
    es_free(ranges);
    es_free(fb);
    return st;
}

/* Append one message holding columns cols[0..n) (types `types`, named by `names` children,
 * rows [off, off + len) of each): a record batch (dict_id < 0; its block and column ranges are
 * recorded) or the dictionary batch of id dict_id (its block in *dict_block). */
static es_status write_message(es_ipc_writer *w, const es_type *types,
                               const struct ArrowSchema *names, struct ArrowArray *const *cols,
                               int64_t n, int64_t off, int64_t len, int64_t dict_id,
                               es_ipc_block *dict_block, es_error *err)
{
    out_buf *ob = es_calloc((size_t)(3 * n + 1), sizeof *ob);
    int64_t *nodes = es_malloc((size_t)(2 * n + 1) * sizeof *nodes);
    int *nbs = es_malloc((size_t)(n + 1) * sizeof *nbs);
    es_status st = ES_OK;
    if (!ob || !nodes || !nbs) {
        st = es_error_set(err, ES_NOMEM, 0, "IPC write: out of memory");
        goto done;
    }
    for (int64_t c = 0; c < n; c++) {
        const struct ArrowArray *a = cols[c];
        const char *name = child_name(names, c);
        if (!a || !a->release || a->offset < 0 || a->length < off + len) {
            st = es_error_set(err, ES_INVALID, 0, "IPC write: field '%s': bad child array", name);
            goto done;
        }
        int64_t nulls = 0;
        st = column_buffers(&ob[3 * c], &nbs[c], &nulls, &types[c], a, a->offset + off, len, name,
                            err);
        if (st)
            goto done;
        nodes[2 * c] = len;
        nodes[2 * c + 1] = nulls;
        for (int j = 0; j < nbs[c]; j++) {
            out_buf *o = &ob[3 * c + j];
            if (w->compression != ES_COMPRESS_NONE && o->len > 0) {
                uint8_t *cd;
                int64_t cl = 0;
                st = es_arrow_compress(&cd, &cl, &w->codecs, w->compression, o->data, o->len,
                                       fixed_values(&types[c], j), err);
                if (st)
                    goto done;
                es_free(o->owned);
                o->owned = cd;
                o->data = cd;
                o->len = cl;
            }
        }
    }
    st = emit_message(w, ob, nodes, nbs, n, len, dict_id, dict_block, NULL, err);
done:
    if (ob)
        for (int64_t i = 0; i < 3 * n; i++)
            es_free(ob[i].owned);
    es_free(ob);
    es_free(nodes);
    es_free(nbs);
    return st;
}

/* The dictionary batches a record batch needs first: for each dictionary-encoded field whose
 * dictionary differs from the one written last (the first batch: all of them). The file format
 * allows one dictionary per field (no replacement), the stream format a new one any time. */
static es_status write_dictionaries(es_ipc_writer *w, const struct ArrowArray *batch, es_error *err)
{
    for (int64_t c = 0; c < w->n_cols; c++) {
        const struct ArrowSchema *f = w->schema.children[c];
        if (!f->dictionary)
            continue;
        struct ArrowArray *d = batch->children[c]->dictionary;
        const char *name = child_name(&w->schema, c);
        if (!d || !d->release)
            return es_error_set(err, ES_INVALID, 0, "IPC write: field '%s': no dictionary", name);
        es_type it;
        es_status st = es_type_parse(&it, f->format, err);
        if (!st)
            st = es_dict_check_indices(batch->children[c], &it, d->length, name, err);
        if (st)
            return st;
        es_ipc_dict_block *last = NULL;
        for (int64_t i = 0; i < w->n_dicts; i++)
            if (w->dicts[i].field == c)
                last = &w->dicts[i];
        if (last && last->values == d->buffers && last->block.rows == d->length)
            continue; /* the same dictionary as before */
        if (last && w->format == ES_IPC_FILE)
            return es_error_set(err, ES_INVALID, 0,
                                "IPC write: field '%s': a second dictionary (the file format "
                                "allows one per field)",
                                name);
        es_ipc_dict_block *nd = es_realloc(w->dicts, (size_t)(w->n_dicts + 1) * sizeof *nd);
        if (!nd)
            return es_error_set(err, ES_NOMEM, 0, "IPC write: out of memory");
        w->dicts = nd;
        es_ipc_dict_block *db = &nd[w->n_dicts];
        memset(db, 0, sizeof *db);
        db->field = c;
        db->values = d->buffers;
        /* One column named like the field, of the value type. */
        struct ArrowSchema one = {0};
        es_type vt;
        st = es_schema_init_struct(&one, 1, err);
        if (!st)
            st = es_schema_init(one.children[0], f->dictionary->format, name, ARROW_FLAG_NULLABLE,
                                err);
        if (!st)
            st = es_type_parse(&vt, f->dictionary->format, err);
        if (!st)
            st = write_message(w, &vt, &one, &d, 1, 0, d->length, c, &db->block, err);
        es_schema_release(&one);
        if (st)
            return st;
        db->block.rows = d->length;
        w->n_dicts++;
    }
    return ES_OK;
}

/* Check a batch (or a page) against the writer's schema. */
static es_status check_batch(const es_ipc_writer *w, const struct ArrowArray *batch, es_error *err)
{
    if (!batch || !batch->release)
        return es_error_set(err, ES_INVALID, 0, "IPC write: released batch");
    if (batch->n_children != w->n_cols || (w->n_cols && !batch->children))
        return es_error_set(err, ES_INVALID, 0,
                            "IPC write: batch has %" PRId64 " columns, schema %" PRId64,
                            batch->n_children, w->n_cols);
    if (batch->length < 0 || batch->offset < 0 || batch->null_count > 0)
        return es_error_set(err, ES_INVALID, 0, "IPC write: bad record batch length or nulls");
    for (int64_t c = 0; c < w->n_cols; c++)
        if (!batch->children[c] || !batch->children[c]->release)
            return es_error_set(err, ES_INVALID, 0, "IPC write: field '%s': bad child array",
                                child_name(&w->schema, c));
    return ES_OK;
}

es_status es_ipc_writer_write(es_ipc_writer *w, const struct ArrowArray *batch, es_error *err)
{
    if (!w || !batch || !batch->release)
        return es_error_set(err, ES_INVALID, 0, "IPC write: bad writer or released batch");
    if (w->finished || w->failed)
        return es_error_set(err, ES_INVALID, 0, "IPC write: writer is finished or failed");
    if (check_batch(w, batch, err))
        return ES_INVALID;
    es_status st = w->has_dicts ? write_dictionaries(w, batch, err) : ES_OK;
    if (!st)
        st = write_message(w, w->types, &w->schema, batch->children, w->n_cols, batch->offset,
                           batch->length, -1, NULL, err);
    return st;
}

/* The pieces of buffer j of column c over the pages (page buffers pob[3p + j] from
 * column_buffers, nulls[p], rows[p]) into one body buffer *o, and where each page's piece lies
 * in it (pg[p].off[j] relative to the buffer, len, raw bit). Validity: pages without nulls get
 * all-ones bytes (when another page has nulls); offsets: rebased to the batch (absolute within
 * it), the last page's piece holding the final offset too. */
static es_status page_buffer(es_ipc_writer *w, out_buf *o, es_ipc_page *pg, const es_type *t, int j,
                             const out_buf *pob, const int64_t *nulls, const int64_t *rows,
                             int64_t np, int64_t total_nulls, es_error *err)
{
    const uint8_t **src = es_calloc((size_t)np, sizeof *src);
    int64_t *n = es_calloc((size_t)np, sizeof *n), *rel = es_calloc((size_t)np, sizeof *rel),
            *plen = es_calloc((size_t)np, sizeof *plen);
    uint8_t **tmp = es_calloc((size_t)np, sizeof *tmp);
    uint8_t *ones = NULL;
    int64_t max_rows = 0;
    for (int64_t p = 0; p < np; p++)
        max_rows = rows[p] > max_rows ? rows[p] : max_rows;
    es_status st = ES_OK;
    int varoff = j == 1 && es_type_is_varlen(t->id), ow = varoff ? offset_width(t->id) : 0;
    int64_t base = 0, total = 0;
    if (!src || !n || !rel || !plen || !tmp) {
        st = es_error_set(err, ES_NOMEM, 0, "IPC write: out of memory");
        goto done;
    }
    for (int64_t p = 0; p < np; p++) {
        const out_buf *b = &pob[3 * p + j];
        if (j == 0 && total_nulls == 0) {
            n[p] = 0;
        } else if (j == 0 && nulls[p] == 0) {
            if (!ones && !(ones = es_malloc((size_t)(max_rows + 7) / 8 + 1))) {
                st = es_error_set(err, ES_NOMEM, 0, "IPC write: out of memory");
                goto done;
            }
            n[p] = (rows[p] + 7) / 8;
            memset(ones, 0xff, (size_t)n[p]);
            src[p] = ones;
        } else if (varoff) {
            int64_t k = p + 1 < np ? rows[p] : rows[p] + 1; /* the last page ends the buffer */
            tmp[p] = es_malloc((size_t)(k * ow + 1));
            if (!tmp[p]) {
                st = es_error_set(err, ES_NOMEM, 0, "IPC write: out of memory");
                goto done;
            }
            for (int64_t i = 0; i < k; i++) {
                if (ow == 8) {
                    int64_t v;
                    memcpy(&v, b->data + 8 * i, 8);
                    v += base;
                    memcpy(tmp[p] + 8 * i, &v, 8);
                } else {
                    int32_t v;
                    memcpy(&v, b->data + 4 * i, 4);
                    if ((int64_t)v + base > INT32_MAX) {
                        st = es_error_set(err, ES_INVALID, 0,
                                          "IPC write: values of a batch exceed 2 GiB");
                        goto done;
                    }
                    v = (int32_t)(v + base);
                    memcpy(tmp[p] + 4 * i, &v, 4);
                }
            }
            base += pob[3 * p + 2].len;
            src[p] = tmp[p];
            n[p] = k * ow;
        } else {
            src[p] = b->data;
            n[p] = b->len;
        }
        total += n[p];
    }
    if (total > 0 && w->compression == ES_COMPRESS_ZSTD) {
        uint8_t *cd = NULL;
        int64_t cl = 0;
        st = es_arrow_compress_pages(&cd, &cl, rel, plen, &w->codecs, w->compression, src, n, np,
                                     fixed_values(t, j), err);
        if (st)
            goto done;
        int raw = (int64_t)es_load_u64(cd) == -1;
        o->owned = cd;
        o->data = cd;
        o->len = cl;
        for (int64_t p = 0; p < np; p++) {
            pg[p].off[j] = rel[p];
            pg[p].len[j] = plen[p];
            pg[p].raw |= (uint8_t)(raw << j);
        }
    } else {
        uint8_t *d = es_malloc((size_t)(total + 1));
        if (!d) {
            st = es_error_set(err, ES_NOMEM, 0, "IPC write: out of memory");
            goto done;
        }
        int64_t at = 0;
        for (int64_t p = 0; p < np; p++) {
            if (n[p])
                memcpy(d + at, src[p], (size_t)n[p]);
            pg[p].off[j] = at;
            pg[p].len[j] = n[p];
            pg[p].raw |= (uint8_t)(1u << j);
            at += n[p];
        }
        o->owned = d;
        o->data = d;
        o->len = total;
    }
done:
    for (int64_t p = 0; tmp && p < np; p++)
        es_free(tmp[p]);
    es_free(tmp);
    es_free(ones);
    es_free(src);
    es_free(n);
    es_free(rel);
    es_free(plen);
    return st;
}

es_status es_ipc_writer_write_pages(es_ipc_writer *w, const struct ArrowArray *pages, int64_t np,
                                    es_error *err)
{
    if (!w || !pages || np <= 0)
        return es_error_set(err, ES_INVALID, 0, "IPC write: bad writer or no pages");
    if (w->finished || w->failed)
        return es_error_set(err, ES_INVALID, 0, "IPC write: writer is finished or failed");
    if (w->compression == ES_COMPRESS_LZ4)
        return es_error_set(err, ES_INVALID, 0, "IPC write: pages need ZSTD or no compression");
    int64_t rows = 0, n = w->n_cols;
    es_status st = ES_OK;
    for (int64_t p = 0; p < np && !st; p++) {
        st = check_batch(w, &pages[p], err);
        if (!st && p + 1 < np && pages[p].length % 8 != 0)
            st = es_error_set(err, ES_INVALID, 0,
                              "IPC write: a page other than the last has "
                              "a row count that is not a multiple of 8");
        rows += pages[p].length;
        if (!st && w->has_dicts)
            st = write_dictionaries(w, &pages[p], err);
    }
    if (st)
        return st;
    es_free(w->pages);
    w->n_pages = 0;
    w->pages = es_calloc((size_t)(n * np + 1), sizeof *w->pages);
    out_buf *ob = es_calloc((size_t)(3 * n + 1), sizeof *ob);
    out_buf *pob = es_calloc((size_t)(3 * np), sizeof *pob);
    int64_t *nodes = es_malloc((size_t)(2 * n + 1) * sizeof *nodes);
    int64_t *buf_abs = es_malloc((size_t)(3 * n + 1) * sizeof *buf_abs);
    int64_t *nulls = es_calloc((size_t)np, sizeof *nulls), *prow = es_calloc((size_t)np, 8);
    int *nbs = es_calloc((size_t)(n + 1), sizeof *nbs);
    if (!w->pages || !ob || !pob || !nodes || !buf_abs || !nulls || !prow || !nbs) {
        st = es_error_set(err, ES_NOMEM, 0, "IPC write: out of memory");
        goto done;
    }
    for (int64_t c = 0; c < n && !st; c++) {
        const char *name = child_name(&w->schema, c);
        int64_t total_nulls = 0;
        memset(pob, 0, (size_t)(3 * np) * sizeof *pob);
        for (int64_t p = 0; p < np && !st; p++) {
            const struct ArrowArray *a = pages[p].children[c];
            prow[p] = pages[p].length;
            if (a->offset < 0 || a->length < pages[p].offset + pages[p].length)
                st = es_error_set(err, ES_INVALID, 0, "IPC write: field '%s': bad child array",
                                  name);
            else
                st = column_buffers(&pob[3 * p], &nbs[c], &nulls[p], &w->types[c], a,
                                    a->offset + pages[p].offset, pages[p].length, name, err);
            total_nulls += nulls[p];
        }
        nodes[2 * c] = rows;
        nodes[2 * c + 1] = total_nulls;
        for (int j = 0; j < nbs[c] && !st; j++)
            st = page_buffer(w, &ob[3 * c + j], &w->pages[c * np], &w->types[c], j, pob, nulls,
                             prow, np, total_nulls, err);
        for (int64_t i = 0; i < 3 * np; i++)
            es_free(pob[i].owned);
    }
    if (!st)
        st = emit_message(w, ob, nodes, nbs, n, rows, -1, NULL, buf_abs, err);
    for (int64_t c = 0; c < n && !st; c++)
        for (int64_t p = 0; p < np; p++)
            for (int j = 0; j < 3; j++) {
                es_ipc_page *pg = &w->pages[c * np + p];
                pg->n_buffers = nbs[c];
                if (j < nbs[c] && buf_abs[3 * c + j] >= 0)
                    pg->off[j] += buf_abs[3 * c + j];
                else
                    pg->off[j] = pg->len[j] = 0;
            }
    if (!st)
        w->n_pages = np;
done:
    for (int64_t i = 0; ob && i < 3 * n; i++)
        es_free(ob[i].owned);
    es_free(ob);
    es_free(pob);
    es_free(nodes);
    es_free(buf_abs);
    es_free(nulls);
    es_free(prow);
    es_free(nbs);
    return st;
}

const es_ipc_page *es_ipc_writer_pages(const es_ipc_writer *w, int64_t col, int64_t *n_pages)
{
    *n_pages = w ? w->n_pages : 0;
    return w && w->n_pages && col >= 0 && col < w->n_cols ? &w->pages[col * w->n_pages] : NULL;
}

const es_ipc_dict_block *es_ipc_writer_dictionaries(const es_ipc_writer *w, int64_t *n)
{
    *n = w ? w->n_dicts : 0;
    return w ? w->dicts : NULL;
}

es_status es_ipc_writer_finish(es_ipc_writer *w, uint8_t **data, size_t *size, es_error *err)
{
    *data = NULL;
    *size = 0;
    if (!w || w->finished || w->failed)
        return es_error_set(err, ES_INVALID, 0, "IPC finish: writer is finished or failed");
    uint8_t eos[8];
    es_store_u32(eos, CONTINUATION);
    es_store_u32(eos + 4, 0);
    es_status st = es_buf_append(&w->out, eos, 8);
    if (st == ES_OK && w->format == ES_IPC_FILE) {
        es_fb_builder b;
        es_fb_builder_init(&b);
        uint8_t *blocks = es_malloc((size_t)(w->n_blocks ? w->n_blocks : 1) * 24);
        if (!blocks) {
            st = ES_NOMEM;
        } else {
            for (int64_t i = 0; i < w->n_blocks; i++) {
                uint8_t *p = blocks + 24 * i;
                es_store_u64(p, (uint64_t)w->blocks[i].offset);
                es_store_u32(p + 8, (uint32_t)w->blocks[i].metadata_length);
                es_store_u32(p + 12, 0);
                es_store_u64(p + 16, (uint64_t)w->blocks[i].body_length);
            }
            es_fb_ref bv = es_fb_create_vector(&b, blocks, (size_t)w->n_blocks, 24, 8);
            es_free(blocks);
            blocks = es_malloc((size_t)(w->n_dicts ? w->n_dicts : 1) * 24);
            if (!blocks)
                b.failed = true;
            for (int64_t i = 0; blocks && i < w->n_dicts; i++) {
                uint8_t *p = blocks + 24 * i;
                es_store_u64(p, (uint64_t)w->dicts[i].block.offset);
                es_store_u32(p + 8, (uint32_t)w->dicts[i].block.metadata_length);
                es_store_u32(p + 12, 0);
                es_store_u64(p + 16, (uint64_t)w->dicts[i].block.body_length);
            }
            es_fb_ref dv = es_fb_create_vector(&b, blocks, blocks ? (size_t)w->n_dicts : 0, 24, 8);
            es_free(blocks);
            es_fb_ref s = es_arrow_encode_schema(&b, &w->schema, w->types);
            es_fb_table_start(&b);
            es_fb_add_scalar(&b, FTR_VERSION, 2, METADATA_V5);
            es_fb_add_ref(&b, FTR_SCHEMA, s);
            es_fb_add_ref(&b, FTR_DICTIONARIES, dv);
            es_fb_add_ref(&b, FTR_BATCHES, bv);
            es_fb_ref f = es_fb_table_end(&b);
            uint8_t *fb;
            size_t fb_len;
            st = es_fb_finish(&b, f, &fb, &fb_len);
            if (st == ES_OK) {
                uint8_t tail[4];
                es_store_u32(tail, (uint32_t)fb_len);
                st = es_buf_append(&w->out, fb, fb_len);
                if (st == ES_OK)
                    st = es_buf_append(&w->out, tail, 4);
                if (st == ES_OK)
                    st = es_buf_append(&w->out, IPC_MAGIC, 6);
                es_free(fb);
            }
        }
        es_fb_builder_reset(&b);
    }
    if (st) {
        w->failed = true;
        return es_error_set(err, st, 0, "IPC finish: out of memory");
    }
    w->finished = true;
    *data = es_buf_detach(&w->out, size);
    return ES_OK;
}

const es_ipc_block *es_ipc_writer_blocks(const es_ipc_writer *w, int64_t *n)
{
    *n = w ? w->n_blocks : 0;
    return w ? w->blocks : NULL;
}

es_status es_ipc_writer_column_ranges(const es_ipc_writer *w, int64_t batch, int64_t col,
                                      int64_t *offset, int64_t *length)
{
    if (!w || batch < 0 || batch >= w->n_blocks || col < 0 || col >= w->n_cols)
        return ES_INVALID;
    const int64_t *r = &w->ranges[batch * 2 * w->n_cols + 2 * col];
    *offset = r[0];
    *length = r[1];
    return ES_OK;
}
