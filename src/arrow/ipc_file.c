/*
 * ipc_file: the Arrow IPC readers over bytes in memory (arrow layer; see ipc_format.h): the file
 * reader (es_ipc_file_*: footer, schema, blocks, random access to record batches) and the
 * stream reader (es_ipc_reader_open: an ArrowArrayStream over a file or a stream, reporting
 * through get_last_error). Both keep a reference on the input blob, so the arrays they return
 * may point into it. Record batches are decoded by ipc_read.c. A stream may end without EOS
 * exactly at a message boundary.
 */
#include "arrow/ipc_format.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* ===================================================================== file reader */

struct es_ipc_file {
    es_blob *blob;
    struct ArrowSchema schema;
    int64_t n_blocks;
    es_ipc_block *blocks;
    es_arrow_dicts dicts; /* read at open from the footer's dictionary blocks */
};

void es_ipc_file_close(es_ipc_file *f)
{
    if (!f)
        return;
    es_schema_release(&f->schema);
    es_blob_unref(f->blob);
    es_free(f->blocks);
    es_arrow_dicts_reset(&f->dicts);
    es_free(f);
}

/* Read the dictionary batches named by the footer (in order; a later one for the same field
 * must be a delta, which the format allows in files, and appends to the dictionary; every
 * record batch then sees the whole dictionary, which holds the values its indices name). */
static es_status read_file_dicts(es_ipc_file *f, es_blob *blob, const es_fb_vec *dicts,
                                 int64_t fstart, es_error *err)
{
    for (uint32_t i = 0; i < dicts->n; i++) {
        const uint8_t *p = es_fb_vec_at(dicts, i);
        int64_t off = (int64_t)es_load_u64(p), body = (int64_t)es_load_u64(p + 16);
        int64_t ml = (int32_t)es_load_u32(p + 8);
        if (off < 8 || ml < 8 || body < 0 || off > fstart || ml > fstart - off ||
            body > fstart - off - ml)
            return es_error_set(err, ES_CORRUPT, 0,
                                "IPC file: block of dictionary batch %u out of range", i);
        char what[64];
        snprintf(what, sizeof what, "IPC file: dictionary batch %u", i);
        es_status st = es_arrow_dicts_read(&f->dicts, &f->schema, blob->data + off, (size_t)ml,
                                           blob, blob->data + off + ml, body, what, err);
        if (st)
            return st;
    }
    return ES_OK;
}

es_status es_ipc_file_open(es_ipc_file **out, es_blob *blob, es_error *err)
{
    *out = NULL;
    if (!blob)
        return es_error_set(err, ES_INVALID, 0, "IPC file: no blob");
    const uint8_t *d = blob->data;
    size_t size = blob->size;
    if (size < 18 || memcmp(d, IPC_MAGIC, 6) != 0 || memcmp(d + size - 6, IPC_MAGIC, 6) != 0)
        return es_error_set(err, ES_CORRUPT, 0, "IPC file: missing ARROW1 IPC_MAGIC");
    int64_t flen = (int32_t)es_load_u32(d + size - 10);
    if (flen <= 0 || (uint64_t)flen > size - 18)
        return es_error_set(err, ES_CORRUPT, 0, "IPC file: bad footer length %" PRId64, flen);
    int64_t fstart = (int64_t)size - 10 - flen;
    es_fb_table ftr, sch;
    es_fb_vec batches, dicts;
    if (es_fb_root(&ftr, d + fstart, (size_t)flen) != ES_FB_OK)
        return es_error_set(err, ES_CORRUPT, 0, "IPC file: bad footer flatbuffer");
    if (es_fb_get_table(&ftr, FTR_SCHEMA, &sch) != ES_FB_OK)
        return es_error_set(err, ES_CORRUPT, 0, "IPC file: footer has no schema");
    if (es_fb_get_vector(&ftr, FTR_DICTIONARIES, 24, &dicts) == ES_FB_BAD ||
        es_fb_get_vector(&ftr, FTR_BATCHES, 24, &batches) == ES_FB_BAD)
        return es_error_set(err, ES_CORRUPT, 0, "IPC file: bad footer blocks");
    es_ipc_file *f = es_calloc(1, sizeof *f);
    if (!f)
        return es_error_set(err, ES_NOMEM, 0, "IPC file: out of memory");
    es_status st = es_arrow_decode_schema(&f->schema, &sch, err);
    if (st) {
        es_error_prefix(err, "IPC file");
        es_free(f);
        return st;
    }
    st = es_arrow_dicts_init(&f->dicts, &sch, &f->schema, err);
    if (!st)
        st = read_file_dicts(f, blob, &dicts, fstart, err);
    if (st) {
        if (st != ES_NOMEM && strncmp(err->msg, "IPC file", 8) != 0)
            es_error_prefix(err, "IPC file");
        es_ipc_file_close(f);
        return st;
    }
    f->blocks = es_calloc(batches.n ? batches.n : 1, sizeof *f->blocks);
    if (!f->blocks) {
        es_ipc_file_close(f);
        return es_error_set(err, ES_NOMEM, 0, "IPC file: out of memory");
    }
    f->n_blocks = batches.n;
    for (uint32_t i = 0; i < batches.n; i++) {
        const uint8_t *p = es_fb_vec_at(&batches, i);
        es_ipc_block *b = &f->blocks[i];
        b->offset = (int64_t)es_load_u64(p);
        b->metadata_length = (int32_t)es_load_u32(p + 8);
        b->body_length = (int64_t)es_load_u64(p + 16);
        if (b->offset < 8 || b->metadata_length < 8 || b->body_length < 0 || b->offset > fstart ||
            b->metadata_length > fstart - b->offset ||
            b->body_length > fstart - b->offset - b->metadata_length) {
            es_ipc_file_close(f);
            return es_error_set(err, ES_CORRUPT, 0,
                                "IPC file: block of record batch %u out of range", i);
        }
        es_arrow_batch_meta rb;
        char what[64];
        snprintf(what, sizeof what, "record batch %u", i);
        st = es_arrow_parse_batch(&rb, d + b->offset, (size_t)b->metadata_length, what, err);
        if (st) {
            es_ipc_file_close(f);
            return st;
        }
        b->rows = rb.length;
    }
    f->blob = es_blob_ref(blob);
    *out = f;
    return ES_OK;
}

const struct ArrowSchema *es_ipc_file_schema(const es_ipc_file *f)
{
    return &f->schema;
}

int64_t es_ipc_file_num_batches(const es_ipc_file *f)
{
    return f->n_blocks;
}

const es_ipc_block *es_ipc_file_block(const es_ipc_file *f, int64_t i)
{
    if (!f || i < 0 || i >= f->n_blocks)
        return NULL;
    return &f->blocks[i];
}

es_status es_ipc_file_read(es_ipc_file *f, int64_t i, struct ArrowArray *out, es_error *err)
{
    memset(out, 0, sizeof *out);
    if (!f || i < 0 || i >= f->n_blocks)
        return es_error_set(err, ES_INVALID, 0, "IPC file: no record batch %" PRId64, i);
    const es_ipc_block *b = &f->blocks[i];
    const uint8_t *meta = f->blob->data + b->offset;
    char what[64];
    snprintf(what, sizeof what, "record batch %" PRId64, i);
    es_status st = es_ipc_decode_batch(out, &f->schema, meta, (size_t)b->metadata_length, f->blob,
                                       meta + b->metadata_length, b->body_length, what, err);
    if (!st && f->dicts.any) {
        st = es_arrow_dicts_attach(&f->dicts, out, &f->schema, what, err);
        if (st)
            out->release(out);
    }
    return st;
}

/* ===================================================================== stream reader */

typedef struct ipc_stream {
    es_blob *blob;
    es_ipc_file *file; /* file format: batches come from its blocks */
    struct ArrowSchema schema;
    int64_t next;         /* next batch index (file) or batches read so far (stream) */
    size_t pos;           /* stream format: offset of the next message */
    es_arrow_dicts dicts; /* stream format: the dictionaries read so far */
    bool done;
    es_error err;
} ipc_stream;

static int errno_of(es_status st)
{
    switch (st) {
    case ES_OK:
        return 0;
    case ES_NOMEM:
        return ENOMEM;
    case ES_INVALID:
        return EINVAL;
    case ES_UNSUPPORTED:
        return ENOTSUP;
    default:
        return EIO;
    }
}

/* The next message of a stream: framed metadata [*meta, +*meta_len), body and its length.
 * *eos is set at the end-of-stream marker or at the very end of the input. */
static es_status next_message(ipc_stream *s, es_fb_table *msg, const uint8_t **meta,
                              size_t *meta_len, const uint8_t **body, int64_t *body_len, bool *eos,
                              es_error *err)
{
    const uint8_t *d = s->blob->data;
    size_t size = s->blob->size, pos = s->pos;
    *eos = false;
    if (pos == size) {
        *eos = true;
        return ES_OK;
    }
    if (size - pos < 4)
        return es_error_set(err, ES_CORRUPT, 0, "IPC stream: truncated message at offset %zu", pos);
    size_t prefix = 4;
    int64_t len = (int32_t)es_load_u32(d + pos);
    if (es_load_u32(d + pos) == CONTINUATION) {
        if (size - pos < 8)
            return es_error_set(err, ES_CORRUPT, 0, "IPC stream: truncated message at offset %zu",
                                pos);
        prefix = 8;
        len = (int32_t)es_load_u32(d + pos + 4);
    }
    if (len == 0) {
        *eos = true;
        return ES_OK;
    }
    if (len < 0 || (uint64_t)len > size - pos - prefix)
        return es_error_set(err, ES_CORRUPT, 0,
                            "IPC stream: message at offset %zu extends past the end", pos);
    *meta = d + pos;
    *meta_len = prefix + (size_t)len;
    char what[64];
    snprintf(what, sizeof what, "IPC stream: message at offset %zu", pos);
    es_status st = es_arrow_parse_message(msg, *meta, *meta_len, what, err);
    if (st)
        return st;
    if (es_fb_get_i64(msg, MSG_BODY_LENGTH, 0, body_len) == ES_FB_BAD || *body_len < 0 ||
        (uint64_t)*body_len > size - pos - *meta_len)
        return es_error_set(err, ES_CORRUPT, 0, "%s: body extends past the end", what);
    *body = *meta + *meta_len;
    s->pos = pos + *meta_len + (size_t)*body_len;
    return ES_OK;
}

static int stream_get_schema(struct ArrowArrayStream *st, struct ArrowSchema *out)
{
    ipc_stream *s = st->private_data;
    es_status r = es_schema_copy(out, &s->schema, &s->err);
    return errno_of(r);
}

static int stream_get_next(struct ArrowArrayStream *st, struct ArrowArray *out)
{
    ipc_stream *s = st->private_data;
    memset(out, 0, sizeof *out);
    if (s->err.code != ES_OK)
        return errno_of(s->err.code);
    if (s->done)
        return 0;
    es_status r;
    if (s->file) {
        if (s->next >= es_ipc_file_num_batches(s->file)) {
            s->done = true;
            return 0;
        }
        r = es_ipc_file_read(s->file, s->next, out, &s->err);
    } else {
        es_fb_table msg;
        const uint8_t *meta = NULL, *body = NULL;
        size_t meta_len = 0;
        int64_t body_len = 0;
        bool eos;
        uint8_t ht = 0;
        size_t at;
        /* Dictionary batches (before the record batches that use them) update s->dicts. */
        do {
            at = s->pos;
            r = next_message(s, &msg, &meta, &meta_len, &body, &body_len, &eos, &s->err);
            if (r == ES_OK && !eos && es_fb_get_u8(&msg, MSG_HEADER_TYPE, 0, &ht) == ES_FB_OK &&
                ht == HDR_DICTIONARY) {
                char what[80];
                snprintf(what, sizeof what, "IPC stream: dictionary batch at offset %zu", at);
                r = es_arrow_dicts_read(&s->dicts, &s->schema, meta, meta_len, s->blob, body,
                                        body_len, what, &s->err);
            }
        } while (r == ES_OK && !eos && ht == HDR_DICTIONARY);
        if (r == ES_OK && eos) {
            s->done = true;
            return 0;
        }
        if (r == ES_OK) {
            char what[64];
            snprintf(what, sizeof what, "record batch %" PRId64 " (offset %zu)", s->next, at);
            r = es_ipc_decode_batch(out, &s->schema, meta, meta_len, s->blob, body, body_len, what,
                                    &s->err);
            if (r == ES_OK && s->dicts.any) {
                r = es_arrow_dicts_attach(&s->dicts, out, &s->schema, what, &s->err);
                if (r)
                    out->release(out);
            }
        }
    }
    if (r != ES_OK) {
        s->err.code = r;
        return errno_of(r);
    }
    s->next++;
    return 0;
}

static const char *stream_get_last_error(struct ArrowArrayStream *st)
{
    ipc_stream *s = st->private_data;
    return s->err.code != ES_OK ? s->err.msg : NULL;
}

static void stream_release(struct ArrowArrayStream *st)
{
    ipc_stream *s = st->private_data;
    if (s) {
        es_ipc_file_close(s->file);
        es_schema_release(&s->schema);
        es_arrow_dicts_reset(&s->dicts);
        es_blob_unref(s->blob);
        es_free(s);
    }
    st->release = NULL;
}

es_status es_ipc_reader_open(struct ArrowArrayStream *out, es_blob *blob, es_error *err)
{
    memset(out, 0, sizeof *out);
    if (!blob)
        return es_error_set(err, ES_INVALID, 0, "IPC reader: no blob");
    ipc_stream *s = es_calloc(1, sizeof *s);
    if (!s)
        return es_error_set(err, ES_NOMEM, 0, "IPC reader: out of memory");
    s->blob = es_blob_ref(blob);
    es_status st;
    if (blob->size >= 6 && memcmp(blob->data, IPC_MAGIC, 6) == 0) {
        st = es_ipc_file_open(&s->file, blob, err);
        if (st == ES_OK)
            st = es_schema_copy(&s->schema, es_ipc_file_schema(s->file), err);
    } else {
        es_fb_table msg, sch;
        const uint8_t *meta = NULL, *body = NULL;
        size_t meta_len = 0;
        int64_t body_len = 0;
        bool eos;
        uint8_t ht = 0;
        st = next_message(s, &msg, &meta, &meta_len, &body, &body_len, &eos, err);
        if (st == ES_OK && eos)
            st = es_error_set(err, ES_CORRUPT, 0, "IPC stream: no schema message");
        if (st == ES_OK &&
            (es_fb_get_u8(&msg, MSG_HEADER_TYPE, 0, &ht) != ES_FB_OK || ht != HDR_SCHEMA ||
             es_fb_get_table(&msg, MSG_HEADER, &sch) != ES_FB_OK))
            st = es_error_set(err, ES_CORRUPT, 0, "IPC stream: first message is not a schema");
        if (st == ES_OK) {
            st = es_arrow_decode_schema(&s->schema, &sch, err);
            if (!st)
                st = es_arrow_dicts_init(&s->dicts, &sch, &s->schema, err);
            if (st)
                es_error_prefix(err, "IPC stream");
        }
    }
    if (st) {
        es_ipc_file_close(s->file);
        es_arrow_dicts_reset(&s->dicts);
        es_schema_release(&s->schema);
        es_blob_unref(s->blob);
        es_free(s);
        return st;
    }
    out->get_schema = stream_get_schema;
    out->get_next = stream_get_next;
    out->get_last_error = stream_get_last_error;
    out->release = stream_release;
    out->private_data = s;
    return ES_OK;
}
