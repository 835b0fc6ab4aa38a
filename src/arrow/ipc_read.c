/*
 * ipc_read: the Arrow IPC decoder (arrow layer; see ipc_format.h): record batch metadata and
 * body bytes to C Data Interface arrays, and the byte ranges of columns inside a body. No I/O:
 * the file and stream readers (ipc_file.c) and the part layer (arrow/ipc.h) hand it bytes.
 * The byte layout is documented in ipc_write.c.
 *
 * Tolerated on read: the legacy framing (no 0xFFFFFFFF marker); a stream that ends without EOS
 * exactly at a message boundary (ipc_file.c); and the apache-arrow JS quirk of the compression
 * prefix (ipc_codec.c).
 *
 * Reading treats input as untrusted. Validity rules enforced (each failure is ES_CORRUPT naming
 * the batch, buffer and field): flatbuffer objects lie inside the metadata (flatbuf.c); field
 * nodes and buffers are counted exactly; node lengths equal the batch length and null counts lie
 * in [0, length] and match the validity bitmap (except for Null columns, whose null count is the
 * length by definition whatever the node says); buffers lie inside the body; buffers are large
 * enough for the length; offsets are non-negative, monotonic and end inside the data buffer;
 * decompressed sizes match the prefix (ipc_codec.c). Arrays point into the input blob when the
 * buffer is aligned for its element type (zero-copy; the array holds a reference on the blob),
 * otherwise the buffer is copied; decompressed buffers are owned by the array.
 */
#include "arrow/ipc_format.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

const int64_t es_arrow_zero_offsets[1] = {0};

/* Alignment an element of buffer i of type t needs to be read in place. */
static size_t buffer_align(const es_type *t, int i)
{
    if (i == 0 || t->id == ES_TYPE_BOOL)
        return 1;
    if (es_type_is_varlen(t->id))
        return i == 1 ? (size_t)offset_width(t->id) : 1;
    if (t->id == ES_TYPE_FIXED_BINARY)
        return 1;
    return t->byte_width >= 8 ? 8 : (size_t)(t->byte_width > 0 ? t->byte_width : 1);
}

/* ===================================================================== messages */

/* Locate the Message flatbuffer inside framed metadata and parse its root. */
es_status es_arrow_parse_message(es_fb_table *msg, const uint8_t *meta, size_t meta_len,
                                 const char *what, es_error *err)
{
    size_t prefix;
    int64_t len;
    if (meta_len >= 8 && es_load_u32(meta) == CONTINUATION) {
        prefix = 8;
        len = (int32_t)es_load_u32(meta + 4);
    } else if (meta_len >= 4) {
        prefix = 4;
        len = (int32_t)es_load_u32(meta);
    } else {
        return es_error_set(err, ES_CORRUPT, 0, "%s: metadata too short", what);
    }
    if (len <= 0 || (uint64_t)len > meta_len - prefix)
        return es_error_set(err, ES_CORRUPT, 0, "%s: bad metadata length %" PRId64, what, len);
    if (es_fb_root(msg, meta + prefix, (size_t)len) != ES_FB_OK)
        return es_error_set(err, ES_CORRUPT, 0, "%s: bad message flatbuffer", what);
    int16_t version;
    if (es_fb_get_i16(msg, MSG_VERSION, 0, &version) == ES_FB_BAD)
        return es_error_set(err, ES_CORRUPT, 0, "%s: bad message version", what);
    if (version < METADATA_V4 || version > METADATA_V5)
        return es_error_set(err, ES_UNSUPPORTED, 0, "%s: unsupported metadata version V%d", what,
                            version + 1);
    return ES_OK;
}

static es_status parse_rb(es_arrow_batch_meta *rb, const es_fb_table *msg, const es_fb_table *hdr0,
                          const char *what, es_error *err);

es_status es_arrow_parse_batch(es_arrow_batch_meta *rb, const uint8_t *meta, size_t meta_len,
                               const char *what, es_error *err)
{
    es_fb_table msg, hdr;
    uint8_t ht;
    es_status st = es_arrow_parse_message(&msg, meta, meta_len, what, err);
    if (st)
        return st;
    if (es_fb_get_u8(&msg, MSG_HEADER_TYPE, 0, &ht) == ES_FB_BAD)
        return es_error_set(err, ES_CORRUPT, 0, "%s: bad message header type", what);
    if (ht == HDR_DICTIONARY)
        return es_error_set(err, ES_CORRUPT, 0,
                            "%s: a dictionary batch where a record batch belongs", what);
    if (ht != HDR_RECORD_BATCH)
        return es_error_set(err, ES_CORRUPT, 0, "%s: not a record batch message (type %d)", what,
                            ht);
    if (es_fb_get_table(&msg, MSG_HEADER, &hdr) != ES_FB_OK)
        return es_error_set(err, ES_CORRUPT, 0, "%s: missing record batch header", what);
    return parse_rb(rb, &msg, &hdr, what, err);
}

/* The RecordBatch table `hdr` of message `msg` (a record batch, or a dictionary batch's data). */
static es_status parse_rb(es_arrow_batch_meta *rb, const es_fb_table *msg, const es_fb_table *hdr0,
                          const char *what, es_error *err)
{
    es_fb_table hdr = *hdr0, cmp;
    if (es_fb_get_i64(msg, MSG_BODY_LENGTH, 0, &rb->body_length) == ES_FB_BAD ||
        rb->body_length < 0)
        return es_error_set(err, ES_CORRUPT, 0, "%s: bad body length", what);
    if (es_fb_get_i64(&hdr, RB_LENGTH, 0, &rb->length) == ES_FB_BAD || rb->length < 0 ||
        rb->length > INT64_MAX / 32)
        return es_error_set(err, ES_CORRUPT, 0, "%s: bad length", what);
    if (es_fb_get_vector(&hdr, RB_NODES, 16, &rb->nodes) == ES_FB_BAD)
        return es_error_set(err, ES_CORRUPT, 0, "%s: bad field nodes", what);
    if (es_fb_get_vector(&hdr, RB_BUFFERS, 16, &rb->buffers) == ES_FB_BAD)
        return es_error_set(err, ES_CORRUPT, 0, "%s: bad buffers", what);
    rb->codec = -1;
    int r = es_fb_get_table(&hdr, RB_COMPRESSION, &cmp);
    if (r == ES_FB_BAD)
        return es_error_set(err, ES_CORRUPT, 0, "%s: bad compression", what);
    if (r == ES_FB_OK) {
        uint8_t codec, method;
        if (es_fb_get_u8(&cmp, CMP_CODEC, 0, &codec) == ES_FB_BAD ||
            es_fb_get_u8(&cmp, CMP_METHOD, 0, &method) == ES_FB_BAD)
            return es_error_set(err, ES_CORRUPT, 0, "%s: bad compression", what);
        if (codec > 1 || method != 0)
            return es_error_set(err, ES_UNSUPPORTED, 0,
                                "%s: unsupported compression codec %d method %d", what, codec,
                                method);
        rb->codec = codec;
    }
    return ES_OK;
}

static void load_pair(const es_fb_vec *v, uint32_t i, int64_t *a, int64_t *b)
{
    const uint8_t *p = es_fb_vec_at(v, i);
    *a = (int64_t)es_load_u64(p);
    *b = (int64_t)es_load_u64(p + 8);
}

/* Check the shape of a record batch against the schema and give each column's first buffer. */
static es_status check_shape(int64_t *first_buf, const es_arrow_batch_meta *rb,
                             const es_type *types, int64_t n_cols, const char *what, es_error *err)
{
    int64_t nb = 0;
    for (int64_t c = 0; c < n_cols; c++) {
        first_buf[c] = nb;
        nb += es_arrow_n_buffers(&types[c]);
    }
    if ((int64_t)rb->nodes.n != n_cols)
        return es_error_set(err, ES_CORRUPT, 0, "%s: %u field nodes for %" PRId64 " fields", what,
                            rb->nodes.n, n_cols);
    if ((int64_t)rb->buffers.n != nb)
        return es_error_set(err, ES_CORRUPT, 0, "%s: %u buffers, expected %" PRId64, what,
                            rb->buffers.n, nb);
    return ES_OK;
}

/* Byte range of column c inside the body: [first non-empty buffer, end of last one). */
static void column_range(const es_arrow_batch_meta *rb, const es_type *t, int64_t first,
                         int64_t *off, int64_t *len)
{
    int64_t lo = -1, hi = -1;
    for (int j = 0; j < es_arrow_n_buffers(t); j++) {
        int64_t o, l;
        load_pair(&rb->buffers, (uint32_t)(first + j), &o, &l);
        if (l <= 0 || o < 0 || o > INT64_MAX - l)
            continue;
        if (lo < 0 || o < lo)
            lo = o;
        if (o + l > hi)
            hi = o + l;
    }
    *off = lo < 0 ? 0 : lo;
    *len = lo < 0 ? 0 : hi - lo;
}

/* ===================================================================== arrays */

static es_status decode_rb(struct ArrowArray *out, const struct ArrowSchema *schema,
                           const es_type *types, int64_t *first, const es_arrow_batch_meta *rb0,
                           es_blob *blob, const uint8_t *body, int64_t body_len, const char *what,
                           es_error *err);

typedef struct col_priv {
    es_blob *blob;
    void *owned[3];
    const void *bufs[3];
    int64_t size[3];        /* bytes of each buffer */
    struct ArrowArray dict; /* a->dictionary of a dictionary-encoded column */
} col_priv;

static void release_column(struct ArrowArray *a)
{
    col_priv *p = a->private_data;
    if (p) {
        es_array_release(&p->dict);
        for (int i = 0; i < 3; i++)
            es_free(p->owned[i]);
        es_blob_unref(p->blob);
        es_free(p);
    }
    a->release = NULL;
}

es_status es_ipc_column_new(struct ArrowArray *out, int64_t length, int64_t null_count,
                            int n_buffers, void *owned[3])
{
    static const void *const none[3] = {NULL, NULL, NULL};
    static const int64_t zero[3] = {0, 0, 0};
    return es_ipc_column_new_in(out, length, null_count, n_buffers, owned, none, zero, NULL);
}

es_status es_ipc_column_new_in(struct ArrowArray *out, int64_t length, int64_t null_count,
                               int n_buffers, void *owned[3], const void *const in[3],
                               const int64_t in_size[3], es_blob *blob)
{
    memset(out, 0, sizeof(*out));
    col_priv *p = es_calloc(1, sizeof(*p));
    if (!p) {
        for (int i = 0; i < 3; i++)
            es_free(owned[i]);
        return ES_NOMEM;
    }
    for (int i = 0; i < 3; i++) {
        p->owned[i] = owned[i];
        p->bufs[i] = owned[i] ? owned[i] : in[i];
        if (!owned[i] && in[i] && blob) {
            p->size[i] = in_size[i];
            p->blob = blob;
        }
    }
    if (p->blob)
        es_blob_ref(p->blob);
    out->length = length;
    out->null_count = null_count;
    out->n_buffers = n_buffers;
    out->buffers = p->bufs;
    out->private_data = p;
    out->release = release_column;
    return ES_OK;
}

static es_status new_batch(struct ArrowArray *out, int64_t n, int64_t length, es_error *err)
{
    if (es_owned_batch_new(out, n, length))
        return es_error_set(err, ES_NOMEM, 0, "out of memory decoding a record batch");
    return ES_OK;
}

/* Where the bytes of one column come from. */
typedef struct body_src {
    es_blob *blob;
    const uint8_t *data; /* body byte `base` */
    int64_t len;
    int64_t base;
} body_src;

/* The name of buffer j of field `name` in messages, formatted only when one is made: decoding
 * a small batch (a row inlined in the log) costs less than that printf. */
static const char *buffer_name(char *buf, size_t cap, const char *what, int j, const char *name)
{
    snprintf(buf, cap, "%s: buffer %d of field '%s'", what, j, name);
    return buf;
}

static es_status decode_column(struct ArrowArray *out, const es_type *t, const char *name,
                               const es_arrow_batch_meta *rb, int64_t col, int64_t first_buf,
                               const body_src *src, const char *what, es_error *err)
{
    int64_t length, nulls;
    col_priv *p = NULL;
    char where[320];
    es_status st;
    int nb = es_arrow_n_buffers(t);
    int64_t sizes[3] = {0, 0, 0};

    load_pair(&rb->nodes, (uint32_t)col, &length, &nulls);
    if (length != rb->length)
        return es_error_set(err, ES_CORRUPT, 0,
                            "%s: field '%s' has length %" PRId64 ", batch has %" PRId64, what, name,
                            length, rb->length);
    /* A Null column has no buffers and every slot is null by definition (Columnar.rst, "Null
     * Layout"), so its node's null_count carries no information: take it as the length whatever
     * it says. apache-arrow JS writes -1 (its "unknown" marker) for sliced Null columns. */
    if (t->id == ES_TYPE_NA)
        nulls = length;
    if (nulls < 0 || nulls > length)
        return es_error_set(err, ES_CORRUPT, 0, "%s: field '%s' has bad null count %" PRId64, what,
                            name, nulls);
    p = es_calloc(1, sizeof *p);
    if (!p)
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", what);
    for (int j = 0; j < nb; j++) {
        int64_t off, len;
        const uint8_t *data = NULL;
        load_pair(&rb->buffers, (uint32_t)(first_buf + j), &off, &len);
        if (off < 0 || len < 0) {
            st = es_error_set(err, ES_CORRUPT, 0, "%s has negative offset or length",
                              buffer_name(where, sizeof where, what, j, name));
            goto fail;
        }
        if (len > 0) {
            if (off < src->base || off - src->base > src->len ||
                len > src->len - (off - src->base)) {
                st = es_error_set(err, ES_CORRUPT, 0, "%s extends past body",
                                  buffer_name(where, sizeof where, what, j, name));
                goto fail;
            }
            data = src->data + (off - src->base);
            if (rb->codec >= 0) {
                uint8_t *owned;
                st = es_arrow_decompress(&owned, &data, &len, rb->codec, data, len,
                                         buffer_name(where, sizeof where, what, j, name), err);
                if (st)
                    goto fail;
                p->owned[j] = owned;
            }
            size_t align = buffer_align(t, j);
            if (len > 0 && ((uintptr_t)data & (align - 1)) != 0) {
                uint8_t *copy = es_malloc((size_t)len);
                if (!copy) {
                    st = es_error_set(err, ES_NOMEM, 0, "%s: out of memory",
                                      buffer_name(where, sizeof where, what, j, name));
                    goto fail;
                }
                memcpy(copy, data, (size_t)len);
                es_free(p->owned[j]);
                p->owned[j] = copy;
                data = copy;
            }
        }
        sizes[j] = len;
        p->size[j] = len;
        p->bufs[j] = len > 0 ? data : NULL;
    }
    /* Sizes against the length. */
    if (t->id != ES_TYPE_NA) {
        int64_t need = es_arrow_buffer_need(t, 0, 0, length, NULL);
        if (nulls > 0 && sizes[0] < need) {
            st = es_error_set(err, ES_CORRUPT, 0,
                              "%s: validity buffer of field '%s' too short (%" PRId64
                              " bytes for %" PRId64 " rows)",
                              what, name, sizes[0], length);
            goto fail;
        }
        if (nulls == 0) {
            p->bufs[0] = NULL;
        } else if (length - es_arrow_count_set_bits(p->bufs[0], 0, length) != nulls) {
            st = es_error_set(err, ES_CORRUPT, 0,
                              "%s: field '%s': null count %" PRId64
                              " does not match the validity bitmap",
                              what, name, nulls);
            goto fail;
        }
        need = es_arrow_buffer_need(t, 1, 0, length, NULL);
        if (need < 0 || sizes[1] < need) {
            st = es_error_set(err, ES_CORRUPT, 0,
                              "%s: buffer 1 of field '%s' too short (%" PRId64 " bytes for %" PRId64
                              " rows)",
                              what, name, sizes[1], length);
            goto fail;
        }
        if (es_type_is_varlen(t->id)) {
            if (length == 0) {
                p->bufs[1] = es_arrow_zero_offsets;
            } else {
                int64_t prev = 0, data_len = sizes[2];
                bool w8 = offset_width(t->id) == 8;
                for (int64_t i = 0; i <= length; i++) {
                    int64_t o =
                        w8 ? ((const int64_t *)p->bufs[1])[i] : ((const int32_t *)p->bufs[1])[i];
                    if (o < prev || o > data_len) {
                        st = es_error_set(err, ES_CORRUPT, 0,
                                          "%s: field '%s' has bad offset %" PRId64
                                          " at row %" PRId64,
                                          what, name, o, i);
                        goto fail;
                    }
                    prev = o;
                }
            }
            if (!p->bufs[2])
                p->bufs[2] = es_arrow_zero_offsets; /* any valid pointer; no bytes are read */
        } else if (!p->bufs[1]) {
            p->bufs[1] = es_arrow_zero_offsets; /* length 0 or width 0: nothing is read */
        }
    }
    memset(out, 0, sizeof *out);
    p->blob = src->blob ? es_blob_ref(src->blob) : NULL;
    out->length = length;
    out->null_count = nulls;
    out->n_buffers = nb;
    out->buffers = nb ? p->bufs : NULL;
    out->private_data = p;
    out->release = release_column;
    return ES_OK;
fail:
    for (int i = 0; i < 3; i++)
        es_free(p->owned[i]);
    es_free(p);
    return st;
}

es_status es_ipc_decode_batch(struct ArrowArray *out, const struct ArrowSchema *schema,
                              const uint8_t *meta, size_t meta_len, es_blob *blob,
                              const uint8_t *body, int64_t body_len, const char *what,
                              es_error *err)
{
    es_arrow_batch_meta rb;
    es_type *types = NULL;
    int64_t *first = NULL;
    memset(out, 0, sizeof *out);
    es_status st = es_arrow_batch_types(&types, schema, err);
    if (st)
        return st;
    int64_t n = schema->n_children;
    first = es_malloc((size_t)(n ? n : 1) * sizeof *first);
    if (!first) {
        st = es_error_set(err, ES_NOMEM, 0, "%s: out of memory", what);
        goto done;
    }
    st = es_arrow_parse_batch(&rb, meta, meta_len, what, err);
    if (st == ES_OK)
        st = decode_rb(out, schema, types, first, &rb, blob, body, body_len, what, err);
done:
    es_free(types);
    es_free(first);
    return st;
}

/* Decode the record batch `rb` (parsed) of `schema` (child types `types`) from its body. */
static es_status decode_rb(struct ArrowArray *out, const struct ArrowSchema *schema,
                           const es_type *types, int64_t *first, const es_arrow_batch_meta *rb0,
                           es_blob *blob, const uint8_t *body, int64_t body_len, const char *what,
                           es_error *err)
{
    es_arrow_batch_meta rb = *rb0;
    int64_t n = schema->n_children;
    es_status st = check_shape(first, &rb, types, n, what, err);
    if (st)
        return st;
    if (rb.body_length > body_len) {
        st = es_error_set(err, ES_CORRUPT, 0,
                          "%s: body length %" PRId64 " exceeds the %" PRId64 " bytes available",
                          what, rb.body_length, body_len);
        return st;
    }
    st = new_batch(out, n, rb.length, err);
    if (st)
        return st;
    body_src src = {blob, body, rb.body_length, 0};
    for (int64_t c = 0; c < n && st == ES_OK; c++)
        st = decode_column(out->children[c], &types[c], child_name(schema, c), &rb, c, first[c],
                           &src, what, err);
    if (st)
        es_owned_array_release(out);
    return st;
}

/* The preamble of es_ipc_batch_column_ranges and es_ipc_batch_buffers: the column types of
 * schema, the record batch message parsed and its shape checked against them, with the index
 * of each column's first buffer (*types and *first: es_free, also on failure). */
static es_status parse_batch_shape(es_arrow_batch_meta *rb, es_type **types, int64_t **first,
                                   const struct ArrowSchema *schema, const uint8_t *meta,
                                   size_t meta_len, es_error *err)
{
    *first = NULL;
    es_status st = es_arrow_batch_types(types, schema, err);
    if (st)
        return st;
    int64_t n = schema->n_children;
    *first = es_malloc((size_t)(n ? n : 1) * sizeof **first);
    if (!*first)
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    st = es_arrow_parse_batch(rb, meta, meta_len, "record batch", err);
    if (st == ES_OK)
        st = check_shape(*first, rb, *types, n, "record batch", err);
    return st;
}

es_status es_ipc_batch_column_ranges(int64_t *offsets, int64_t *lengths,
                                     const struct ArrowSchema *schema, const uint8_t *meta,
                                     size_t meta_len, es_error *err)
{
    es_arrow_batch_meta rb;
    es_type *types = NULL;
    int64_t *first = NULL;
    es_status st = parse_batch_shape(&rb, &types, &first, schema, meta, meta_len, err);
    for (int64_t c = 0; st == ES_OK && c < schema->n_children; c++)
        column_range(&rb, &types[c], first[c], &offsets[c], &lengths[c]);
    es_free(first);
    es_free(types);
    return st;
}

es_status es_ipc_batch_buffers(es_ipc_buffers *out, int64_t *length, int *compressed,
                               const struct ArrowSchema *schema, const uint8_t *meta,
                               size_t meta_len, es_error *err)
{
    es_arrow_batch_meta rb;
    es_type *types = NULL;
    int64_t *first = NULL;
    es_status st = parse_batch_shape(&rb, &types, &first, schema, meta, meta_len, err);
    for (int64_t c = 0; st == ES_OK && c < schema->n_children; c++) {
        es_ipc_buffers *b = &out[c];
        int64_t len;
        load_pair(&rb.nodes, (uint32_t)c, &len, &b->null_count);
        if (len != rb.length || b->null_count < 0 || b->null_count > len)
            st = es_error_set(err, ES_CORRUPT, 0, "record batch: field '%s' has a bad node",
                              child_name(schema, c));
        b->n = es_arrow_n_buffers(&types[c]);
        for (int j = 0; j < b->n && !st; j++) {
            load_pair(&rb.buffers, (uint32_t)(first[c] + j), &b->off[j], &b->len[j]);
            if (b->off[j] < 0 || b->len[j] < 0 || b->off[j] > INT64_MAX - b->len[j])
                st = es_error_set(err, ES_CORRUPT, 0,
                                  "record batch: buffer %d of field '%s' has a bad range", j,
                                  child_name(schema, c));
        }
    }
    *length = st ? 0 : rb.length;
    *compressed = !st && rb.codec >= 0;
    es_free(first);
    es_free(types);
    return st;
}

es_status es_ipc_decode_batch_columns(struct ArrowArray *out, const struct ArrowSchema *schema,
                                      const uint8_t *meta, size_t meta_len, const int64_t *cols,
                                      int64_t n_cols, es_blob *const *col_bytes, es_error *err)
{
    es_arrow_batch_meta rb;
    es_type *types = NULL;
    int64_t *first = NULL;
    const char *what = "record batch";
    memset(out, 0, sizeof *out);
    es_status st = es_arrow_batch_types(&types, schema, err);
    if (st)
        return st;
    int64_t n = schema->n_children;
    if (n_cols < 0 || n_cols > n || (n_cols > 0 && (!cols || !col_bytes))) {
        es_free(types);
        return es_error_set(err, ES_INVALID, 0, "bad column selection (%" PRId64 " columns)",
                            n_cols);
    }
    for (int64_t k = 0; k < n_cols; k++) {
        bool bad = cols[k] < 0 || cols[k] >= n;
        for (int64_t j = 0; !bad && j < k; j++)
            bad = cols[j] == cols[k];
        if (bad) {
            es_free(types);
            return es_error_set(err, ES_INVALID, 0, "bad or repeated column index %" PRId64,
                                cols[k]);
        }
    }
    first = es_malloc((size_t)(n ? n : 1) * sizeof *first);
    if (!first) {
        st = es_error_set(err, ES_NOMEM, 0, "%s: out of memory", what);
        goto done;
    }
    st = es_arrow_parse_batch(&rb, meta, meta_len, what, err);
    if (st == ES_OK)
        st = check_shape(first, &rb, types, n, what, err);
    if (st == ES_OK)
        st = new_batch(out, n_cols, rb.length, err);
    if (st)
        goto done;
    for (int64_t k = 0; k < n_cols && st == ES_OK; k++) {
        int64_t c = cols[k], off, len;
        column_range(&rb, &types[c], first[c], &off, &len);
        es_blob *b = col_bytes[k];
        if (len > 0 && (!b || (uint64_t)len > b->size)) {
            st = es_error_set(err, ES_CORRUPT, 0,
                              "%s: bytes of field '%s' too short (%zu of %" PRId64 ")", what,
                              child_name(schema, c), b ? b->size : (size_t)0, len);
            break;
        }
        body_src src = {b, b ? b->data : NULL, len, off};
        st = decode_column(out->children[k], &types[c], child_name(schema, c), &rb, c, first[c],
                           &src, what, err);
    }
    if (st)
        es_owned_array_release(out);
done:
    es_free(types);
    es_free(first);
    return st;
}

/* ===================================================================== dictionaries */

es_status es_arrow_dicts_init(es_arrow_dicts *d, const es_fb_table *sch,
                              const struct ArrowSchema *schema, es_error *err)
{
    memset(d, 0, sizeof *d);
    int64_t n = schema->n_children;
    d->n = n;
    d->ids = es_malloc((size_t)(n ? n : 1) * sizeof *d->ids);
    d->cur = es_calloc((size_t)(n ? n : 1), sizeof *d->cur);
    if (!d->ids || !d->cur) {
        es_arrow_dicts_reset(d);
        return es_error_set(err, ES_NOMEM, 0, "out of memory reading dictionaries");
    }
    es_status st = es_arrow_schema_dict_ids(d->ids, sch, n, err);
    for (int64_t i = 0; !st && i < n; i++) {
        if ((d->ids[i] >= 0) != (schema->children[i]->dictionary != NULL))
            st = es_error_set(err, ES_CORRUPT, 0, "field '%s': bad dictionary",
                              child_name(schema, i));
        for (int64_t j = 0; !st && j < i; j++)
            if (d->ids[i] >= 0 && d->ids[j] == d->ids[i])
                st =
                    es_error_set(err, ES_UNSUPPORTED, 0,
                                 "fields '%s' and '%s' share dictionary %" PRId64 ": not supported",
                                 child_name(schema, j), child_name(schema, i), d->ids[i]);
        d->any = d->any || d->ids[i] >= 0;
    }
    if (st)
        es_arrow_dicts_reset(d);
    return st;
}

void es_arrow_dicts_reset(es_arrow_dicts *d)
{
    for (int64_t i = 0; d->cur && i < d->n; i++)
        es_array_ref_unref(d->cur[i]);
    es_free(d->cur);
    es_free(d->ids);
    memset(d, 0, sizeof *d);
}

es_status es_ipc_decode_dictionary(struct ArrowArray *values, int64_t *field, int *is_delta,
                                   const struct ArrowSchema *schema, const int64_t *dict_ids,
                                   const uint8_t *meta, size_t meta_len, es_blob *blob,
                                   const uint8_t *body, int64_t body_len, const char *what,
                                   es_error *err)
{
    es_fb_table msg, hdr, data;
    uint8_t ht, delta = 0;
    int64_t id = -1, first = 0;
    memset(values, 0, sizeof *values);
    *field = -1;
    es_status st = es_arrow_parse_message(&msg, meta, meta_len, what, err);
    if (st)
        return st;
    if (es_fb_get_u8(&msg, MSG_HEADER_TYPE, 0, &ht) == ES_FB_BAD || ht != HDR_DICTIONARY ||
        es_fb_get_table(&msg, MSG_HEADER, &hdr) != ES_FB_OK ||
        es_fb_get_i64(&hdr, 0, 0, &id) == ES_FB_BAD ||
        es_fb_get_u8(&hdr, 2, 0, &delta) == ES_FB_BAD ||
        es_fb_get_table(&hdr, 1, &data) != ES_FB_OK)
        return es_error_set(err, ES_CORRUPT, 0, "%s: bad dictionary batch", what);
    for (int64_t i = 0; i < schema->n_children && *field < 0; i++)
        if (dict_ids[i] == id)
            *field = i;
    if (*field < 0)
        return es_error_set(err, ES_CORRUPT, 0, "%s: dictionary id %" PRId64 " of no field", what,
                            id);
    *is_delta = delta != 0;
    es_arrow_batch_meta rb;
    st = parse_rb(&rb, &msg, &data, what, err);
    if (st)
        return st;
    /* The values: a one-column record batch of the dictionary's value type. */
    struct ArrowSchema one = {0};
    struct ArrowArray b = {0};
    es_type vt;
    const struct ArrowSchema *vs = schema->children[*field]->dictionary;
    st = es_schema_init_struct(&one, 1, err);
    if (!st)
        st = es_schema_init(one.children[0], vs->format, child_name(schema, *field),
                            ARROW_FLAG_NULLABLE, err);
    if (!st)
        st = es_type_parse(&vt, vs->format, err);
    if (!st)
        st = decode_rb(&b, &one, &vt, &first, &rb, blob, body, body_len, what, err);
    es_schema_release(&one);
    if (st)
        return st;
    *values = *b.children[0];
    b.children[0]->release = NULL;
    es_owned_array_release(&b);
    return ES_OK;
}

es_status es_arrow_dicts_read(es_arrow_dicts *d, const struct ArrowSchema *schema,
                              const uint8_t *meta, size_t meta_len, es_blob *blob,
                              const uint8_t *body, int64_t body_len, const char *what,
                              es_error *err)
{
    struct ArrowArray v;
    int64_t f;
    int delta;
    es_status st = es_ipc_decode_dictionary(&v, &f, &delta, schema, d->ids, meta, meta_len, blob,
                                            body, body_len, what, err);
    if (st)
        return st;
    if (delta) {
        /* A delta appends its values to the field's dictionary (Arrow JS writes them when a
         * dictionary grows between batches). Batches already decoded keep the dictionary they
         * were given: the grown one is a new shared array. */
        struct ArrowArray grown;
        if (!d->cur[f]) {
            es_array_release(&v);
            return es_error_set(err, ES_CORRUPT, 0,
                                "%s: delta dictionary batch of field '%s' before its dictionary",
                                what, child_name(schema, f));
        }
        st = es_dict_concat(&grown, schema->children[f]->dictionary, es_array_ref_array(d->cur[f]),
                            &v, child_name(schema, f), err);
        es_array_release(&v);
        if (st) {
            es_error_prefix(err, "%s", what);
            return st == ES_NOMEM || st == ES_UNSUPPORTED ? st : ES_CORRUPT;
        }
        v = grown;
    }
    es_array_ref *r;
    st = es_array_ref_new(&r, &v, err);
    if (st)
        return st;
    es_array_ref_unref(d->cur[f]);
    d->cur[f] = r;
    return ES_OK;
}

int es_ipc_column_detach(struct ArrowArray *col)
{
    if (col->release != release_column)
        return 1;
    col_priv *p = col->private_data;
    int owned = 0;
    for (int j = 0; j < 3; j++)
        owned |= p->owned[j] != NULL;
    if (!owned)
        return 0;
    if (!p->blob)
        return 1;
    void *copy[3] = {NULL, NULL, NULL};
    for (int j = 0; j < 3; j++) {
        if (p->owned[j] || !p->bufs[j] || p->bufs[j] == es_arrow_zero_offsets || p->size[j] <= 0)
            continue;
        if (!(copy[j] = es_malloc((size_t)p->size[j]))) {
            for (int i = 0; i < j; i++)
                es_free(copy[i]);
            return -1;
        }
        memcpy(copy[j], p->bufs[j], (size_t)p->size[j]);
    }
    for (int j = 0; j < 3; j++)
        if (copy[j])
            p->bufs[j] = p->owned[j] = copy[j];
    es_blob_unref(p->blob);
    p->blob = NULL;
    return 1;
}

es_status es_ipc_attach_dictionary(struct ArrowArray *col, const struct ArrowSchema *field,
                                   es_array_ref *dict, const char *what, es_error *err)
{
    const char *name = field->name ? field->name : "";
    es_type it;
    if (!dict)
        return es_error_set(err, ES_CORRUPT, 0, "%s: field '%s': no dictionary before the batch",
                            what, name);
    if (col->release != release_column)
        return es_error_set(err, ES_INTERNAL, 0, "%s: field '%s': not a decoded column", what,
                            name);
    es_status st = es_type_parse(&it, field->format, err);
    if (!st)
        st = es_dict_check_indices(col, &it, es_array_ref_array(dict)->length, name, err);
    if (st) {
        es_error_prefix(err, "%s", what);
        return st == ES_NOMEM ? st : ES_CORRUPT;
    }
    col_priv *p = col->private_data;
    es_array_ref_export(&p->dict, dict);
    col->dictionary = &p->dict;
    return ES_OK;
}

es_status es_arrow_dicts_attach(es_arrow_dicts *d, struct ArrowArray *batch,
                                const struct ArrowSchema *schema, const char *what, es_error *err)
{
    for (int64_t c = 0; d->any && c < d->n; c++) {
        if (d->ids[c] < 0)
            continue;
        es_status st =
            es_ipc_attach_dictionary(batch->children[c], schema->children[c], d->cur[c], what, err);
        if (st)
            return st;
    }
    return ES_OK;
}
