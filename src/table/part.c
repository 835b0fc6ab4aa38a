/*
 * part: writing parts (.data and .idx), the .idx codec, and decoding one record batch of a
 * .data file from its metadata plus only the bytes of the wanted columns. The per-column
 * statistics it records (null count, min, max) are computed in colstat.c.
 *
 * .data is a plain Arrow IPC file written by the arrow layer; its fields are named c<id>.
 * .idx is an Arrow IPC file too, with one row per record batch of .data:
 *
 *   rows int64, offset int64, meta_len int64, body_len int64, meta_crc uint32,
 *   then for each column of the part, in order (k = column id):
 *   c<k>.off int64, c<k>.len int64, c<k>.crc uint32, c<k>.nulls int64,
 *   c<k>.min binary (null: unknown), c<k>.max binary (null: unknown)
 *
 * and schema metadata expstore:magic = "ESIDX", expstore:version = "1", expstore:part = <id>,
 * expstore:sort_key = "c<id>" or "", expstore:checksum = 8 hex digits, the CRC-32C of the
 * canonical content (see content_crc below and docs/FORMAT.md). Decoding rejects anything
 * inconsistent with ES_CORRUPT naming the object: wrong magic, version, shape, checksum,
 * ranges outside the .data file or overlapping the metadata.
 *
 * Column byte ranges come from the arrow layer (arrow/ipc.h): the buffers of one field are
 * consecutive in the body. A batch is decoded from its metadata and the bytes of the wanted
 * columns only (es_ipc_decode_batch_columns), after checking both against the index.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "arrow/arrow.h"
#include "arrow/ipc.h"
#include "table/part.h"

/* -------------------------------------------------------------- part meta */

es_status es_part_meta_new(es_part_meta **out, int64_t n_cols)
{
    *out = NULL;
    es_part_meta *m = es_calloc(1, sizeof(*m));
    if (!m)
        return ES_NOMEM;
    m->refs = 1;
    m->n_cols = n_cols;
    m->col_ids = es_calloc((size_t)(n_cols > 0 ? n_cols : 1), sizeof(int64_t));
    m->stats = es_calloc((size_t)(n_cols > 0 ? n_cols : 1), sizeof(es_colstat));
    m->cols = es_calloc((size_t)(n_cols > 0 ? n_cols : 1), sizeof(es_part_col));
    if (!m->col_ids || !m->stats || !m->cols) {
        es_part_meta_unref(m);
        return ES_NOMEM;
    }
    *out = m;
    return ES_OK;
}

es_part_meta *es_part_meta_ref(es_part_meta *m)
{
    if (m)
        __atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
    return m;
}

void es_part_meta_unref(es_part_meta *m)
{
    if (!m || __atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    es_free(m->col_ids);
    es_free(m->stats);
    es_free(m->cols);
    es_dvref_unref(m->dv);
    es_blob_unref(m->inline_ipc);
    es_part_idx_free(m->inline_idx);
    es_free(m);
}

es_status es_part_meta_copy(es_part_meta **out, const es_part_meta *m)
{
    es_status st = es_part_meta_new(out, m->n_cols);
    if (st)
        return st;
    es_part_meta *c = *out;
    memcpy(c->id, m->id, sizeof(c->id));
    c->rows = m->rows;
    c->n_batches = m->n_batches;
    c->data_bytes = m->data_bytes;
    c->idx_bytes = m->idx_bytes;
    c->idx_crc = m->idx_crc;
    if (m->n_cols > 0) {
        memcpy(c->col_ids, m->col_ids, (size_t)m->n_cols * sizeof(int64_t));
        memcpy(c->stats, m->stats, (size_t)m->n_cols * sizeof(es_colstat));
        memcpy(c->cols, m->cols, (size_t)m->n_cols * sizeof(es_part_col));
    }
    c->dv = es_dvref_ref(m->dv);
    c->inline_ipc = m->inline_ipc ? es_blob_ref(m->inline_ipc) : NULL;
    c->inline_idx = es_part_idx_ref(m->inline_idx);
    return ES_OK;
}

es_status es_dvref_new(es_dvref **out)
{
    *out = es_calloc(1, sizeof(es_dvref));
    if (!*out)
        return ES_NOMEM;
    (*out)->refs = 1;
    return ES_OK;
}

es_dvref *es_dvref_ref(es_dvref *r)
{
    if (r)
        __atomic_add_fetch(&r->refs, 1, __ATOMIC_RELAXED);
    return r;
}

void es_dvref_unref(es_dvref *r)
{
    if (!r || __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    es_free(r->blob);
    es_free(r);
}

int es_dvref_same(const es_dvref *a, const es_dvref *b)
{
    if (a == b)
        return 1;
    if (!a || !b || strcmp(a->id, b->id) != 0 || a->crc != b->crc || a->bytes != b->bytes ||
        a->deleted != b->deleted || a->blob_len != b->blob_len)
        return 0;
    return a->blob_len == 0 || memcmp(a->blob, b->blob, a->blob_len) == 0;
}

void es_part_dv_key(char *buf, size_t cap, const char *table_id, const char *part_id,
                    const char *dv_id)
{
    snprintf(buf, cap, "table_%s/table_%s_part_%s_%s.delta", table_id, table_id, part_id, dv_id);
}

/* The n strings one after the other into buf, cut as snprintf cuts (a scan names every part
 * it reads: a printf per part cost more than reading an inline one). */
static void join(char *buf, size_t cap, const char *const *s, int n)
{
    size_t at = 0;
    for (int i = 0; i < n && at + 1 < cap; i++) {
        size_t len = strlen(s[i]);
        if (len > cap - 1 - at)
            len = cap - 1 - at;
        memcpy(buf + at, s[i], len);
        at += len;
    }
    if (cap)
        buf[at] = 0;
}

void es_part_key(char *buf, size_t cap, const char *table_id, const char *part_id, const char *ext)
{
    const char *s[] = {"table_", table_id, "/table_", table_id, "_part_", part_id, ".", ext};
    join(buf, cap, s, 8);
}

void es_part_new_id(char out[ES_ID_LEN + 1])
{
    snprintf(out, ES_ID_LEN + 1, "%016" PRIx64, es_random_u64());
}

int64_t es_part_id_clock_offset_s;

void es_part_new_object_id(char out[ES_ID_LEN + 1])
{
    /* wall clock: ages are compared across hosts */
    uint64_t secs = (uint64_t)(time(NULL) + es_part_id_clock_offset_s);
    snprintf(out, ES_ID_LEN + 1, "%08" PRIx32 "%08" PRIx32, (uint32_t)secs,
             (uint32_t)es_random_u64());
}

int64_t es_part_id_time_ms(const char *id)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        char c = id[i];
        int h = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (h < 0)
            return -1;
        v = v << 4 | (uint64_t)h;
    }
    return (int64_t)v * 1000;
}

/* --------------------------------------------------------------- idx free */

es_part_idx *es_part_idx_ref(es_part_idx *x)
{
    if (x)
        __atomic_add_fetch(&x->refs, 1, __ATOMIC_RELAXED);
    return x;
}

void es_part_idx_free(es_part_idx *x)
{
    if (!x || __atomic_sub_fetch(&x->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    es_free(x->col_ids);
    es_free(x->rows);
    es_free(x->offset);
    es_free(x->meta_len);
    es_free(x->body_len);
    es_free(x->meta_crc);
    es_free(x->col_off);
    es_free(x->col_len);
    es_free(x->col_crc);
    es_free(x->col_stats);
    es_buf_reset(&x->stat_bytes);
    es_part_idx_dict_free(x);
    es_page_idx_free(x);
    es_free(x);
}

static es_status idx_alloc(es_part_idx **out, int64_t nb, int64_t nc)
{
    *out = NULL;
    es_part_idx *x = es_calloc(1, sizeof(*x));
    if (!x)
        return ES_NOMEM;
    x->refs = 1;
    x->n_batches = nb;
    x->n_cols = nc;
    x->sort_col = -1;
    size_t b = (size_t)(nb > 0 ? nb : 1), c = (size_t)(nc > 0 ? nc : 1), bc = b * c;
    x->col_ids = es_calloc(c, sizeof(int64_t));
    x->rows = es_calloc(b, sizeof(int64_t));
    x->offset = es_calloc(b, sizeof(int64_t));
    x->meta_len = es_calloc(b, sizeof(int64_t));
    x->body_len = es_calloc(b, sizeof(int64_t));
    x->meta_crc = es_calloc(b, sizeof(uint32_t));
    x->col_off = es_calloc(bc, sizeof(int64_t));
    x->col_len = es_calloc(bc, sizeof(int64_t));
    x->col_crc = es_calloc(bc, sizeof(uint32_t));
    x->col_stats = es_calloc(bc, sizeof(es_idx_stat));
    if (!x->col_ids || !x->rows || !x->offset || !x->meta_len || !x->body_len || !x->meta_crc ||
        !x->col_off || !x->col_len || !x->col_crc || !x->col_stats ||
        es_buf_reserve(&x->stat_bytes, 1) != ES_OK) {
        es_part_idx_free(x);
        return ES_NOMEM;
    }
    *out = x;
    return ES_OK;
}

/* ---------------------------------------------------------- content crc */

static uint8_t *put_u64(uint8_t *p, uint64_t v)
{
    es_store_u64(p, v);
    return p + 8;
}

static uint8_t *put_u32(uint8_t *p, uint32_t v)
{
    es_store_u32(p, v);
    return p + 4;
}

/* Copy a short value with fixed-size moves that may overlap (a memcpy of a variable length
 * becomes a slow `rep movs` or a call, and most values are a few bytes). */
static void copy_short(uint8_t *p, const uint8_t *v, size_t len)
{
    if (len >= 16) {
        for (size_t i = 0; i + 16 < len; i += 16)
            memcpy(p + i, v + i, 16);
        memcpy(p + len - 16, v + len - 16, 16);
    } else if (len >= 8) {
        memcpy(p, v, 8);
        memcpy(p + len - 8, v + len - 8, 8);
    } else if (len >= 4) {
        memcpy(p, v, 4);
        memcpy(p + len - 4, v + len - 4, 4);
    } else if (len) {
        p[0] = v[0];
        p[len / 2] = v[len / 2];
        p[len - 1] = v[len - 1];
    }
}

static uint8_t *put_stat(uint8_t *p, uint8_t has, const uint8_t *v, uint8_t len)
{
    *p++ = has;
    if (has) {
        p = put_u32(p, len);
        copy_short(p, v, len);
        p += len;
    }
    return p;
}

/* The canonical content checksum of an .idx (FORMAT.md, ".idx checksum"): the CRC-32C of the
 * byte string laid out below, built in a stack buffer and checksummed a few KiB at a time. */
static uint32_t content_crc(const es_part_idx *x)
{
    enum { CHUNK = 4096, ENTRY = 28 + 2 * (5 + ES_STAT_MAX) }; /* ENTRY: one batch-column */
    uint8_t buf[CHUNK + 64 + ENTRY];
    uint32_t crc = es_crc32c(0, x->part_id, strlen(x->part_id));
    uint8_t *p = buf;
    p = put_u64(p, (uint64_t)x->n_batches);
    p = put_u64(p, (uint64_t)x->n_cols);
    for (int64_t c = 0; c < x->n_cols; c++) {
        p = put_u64(p, (uint64_t)x->col_ids[c]);
        if (p - buf >= CHUNK) {
            crc = es_crc32c(crc, buf, (size_t)(p - buf));
            p = buf;
        }
    }
    p = put_u64(p, (uint64_t)x->sort_col);
    const uint8_t *bytes = x->stat_bytes.data;
    for (int64_t i = 0; i < x->n_batches; i++) {
        p = put_u64(p, (uint64_t)x->rows[i]);
        p = put_u64(p, (uint64_t)x->offset[i]);
        p = put_u64(p, (uint64_t)x->meta_len[i]);
        p = put_u64(p, (uint64_t)x->body_len[i]);
        p = put_u32(p, x->meta_crc[i]);
        for (int64_t c = 0; c < x->n_cols; c++) {
            if (p - buf >= CHUNK) {
                crc = es_crc32c(crc, buf, (size_t)(p - buf));
                p = buf;
            }
            int64_t k = i * x->n_cols + c;
            const es_idx_stat *s = &x->col_stats[k];
            p = put_u64(p, (uint64_t)x->col_off[k]);
            p = put_u64(p, (uint64_t)x->col_len[k]);
            p = put_u32(p, x->col_crc[k]);
            p = put_u64(p, (uint64_t)s->null_count);
            p = put_stat(p, s->has_min, bytes + s->min_off, s->min_len);
            p = put_stat(p, s->has_max, bytes + s->max_off, s->max_len);
        }
        if (p - buf >= CHUNK) {
            crc = es_crc32c(crc, buf, (size_t)(p - buf));
            p = buf;
        }
    }
    crc = es_crc32c(crc, buf, (size_t)(p - buf));
    crc = es_part_idx_dict_crc(crc, x); /* version 2: the dictionaries */
    return es_page_idx_crc(crc, x);     /* version 3: the pages' pieces */
}

/* Set the statistics of batch-column k from an es_colstat (the writer's path). */
static es_status idx_set_stat(es_part_idx *x, int64_t k, const es_colstat *cs)
{
    es_idx_stat *s = &x->col_stats[k];
    s->null_count = cs->null_count;
    s->has_min = cs->has_min;
    s->has_max = cs->has_max;
    s->min_len = cs->has_min ? cs->min_len : 0;
    s->max_len = cs->has_max ? cs->max_len : 0;
    s->min_off = (uint32_t)x->stat_bytes.len;
    s->max_off = (uint32_t)(x->stat_bytes.len + s->min_len);
    if (x->stat_bytes.len + 2 * ES_STAT_MAX > UINT32_MAX)
        return ES_NOMEM;
    es_status st = s->min_len ? es_buf_append(&x->stat_bytes, cs->min, s->min_len) : ES_OK;
    return st || !s->max_len ? st : es_buf_append(&x->stat_bytes, cs->max, s->max_len);
}

/* ----------------------------------------------------------- idx encode */

#define IDX_FIXED 5
#define IDX_PER_COL 6

static const char *const idx_fixed_names[IDX_FIXED] = {"rows", "offset", "meta_len", "body_len",
                                                       "meta_crc"};
static const char *const idx_fixed_formats[IDX_FIXED] = {"l", "l", "l", "l", "I"};
static const char *const idx_col_suffix[IDX_PER_COL] = {"off", "len", "crc", "nulls", "min", "max"};
static const char *const idx_col_formats[IDX_PER_COL] = {"l", "l", "I", "l", "z", "z"};

/* Fields per column: version 3 (paged) adds ES_PAGE_IDX_EXTRA (page.c) to version 1's. */
static int idx_per_col(const es_part_idx *x)
{
    return IDX_PER_COL + (x->paged ? ES_PAGE_IDX_EXTRA : 0);
}

static es_status idx_schema(struct ArrowSchema *out, const es_part_idx *x, es_error *err)
{
    int pc = idx_per_col(x);
    int64_t n = IDX_FIXED + pc * x->n_cols;
    es_status st = es_schema_init_struct(out, n, err);
    if (st)
        return st;
    for (int64_t i = 0; i < IDX_FIXED && !st; i++)
        st = es_schema_init(out->children[i], idx_fixed_formats[i], idx_fixed_names[i], 0, err);
    for (int64_t c = 0; c < x->n_cols && !st; c++) {
        for (int j = 0; j < pc && !st; j++) {
            char name[64];
            int e = j - IDX_PER_COL; /* >= 0: a version 3 field */
            snprintf(name, sizeof(name), "c%" PRId64 ".%s", x->col_ids[c],
                     e < 0 ? idx_col_suffix[j] : es_page_idx_suffix[e]);
            st = es_schema_init(out->children[IDX_FIXED + c * pc + j],
                                e < 0 ? idx_col_formats[j] : es_page_idx_formats[e], name,
                                j == 4 || j == 5 ? ARROW_FLAG_NULLABLE : 0, err);
        }
    }
    char crc[16], sort[32];
    snprintf(crc, sizeof(crc), "%08" PRIx32, content_crc(x));
    if (x->sort_col >= 0)
        snprintf(sort, sizeof(sort), "c%" PRId64, x->col_ids[x->sort_col]);
    else
        sort[0] = 0;
    /* Version 2 only when some column is dictionary-encoded (then one entry per such column). */
    int64_t nd = es_part_idx_dict_count(x);
    const char **keys = es_calloc((size_t)(5 + nd), sizeof(char *));
    const char **vals = es_calloc((size_t)(5 + nd), sizeof(char *));
    if (!st && (!keys || !vals ||
                es_part_idx_dict_metadata((char **)keys + 5, (char **)vals + 5, x) != ES_OK))
        st = es_error_set(err, ES_NOMEM, 0, "out of memory");
    if (!st) {
        const char *fixed_k[] = {"expstore:magic", "expstore:version", "expstore:part",
                                 "expstore:sort_key", "expstore:checksum"};
        const char *fixed_v[] = {"ESIDX", x->paged ? "3" : nd ? "2" : "1", x->part_id, sort, crc};
        memcpy(keys, fixed_k, sizeof fixed_k);
        memcpy(vals, fixed_v, sizeof fixed_v);
        st = es_schema_set_metadata(out, 5 + nd, keys, vals, err);
    }
    for (int64_t i = 5; keys && vals && i < 5 + nd; i++) {
        es_free((void *)keys[i]);
        es_free((void *)vals[i]);
    }
    es_free(keys);
    es_free(vals);
    if (st)
        es_schema_release(out);
    return st;
}

static es_status append_stat(es_builder *b, uint8_t has, const uint8_t *v, uint8_t len)
{
    return has ? es_builder_append_bytes(b, v, len) : es_builder_append_null(b, 1);
}

es_status es_part_idx_encode(uint8_t **out, size_t *len, const es_part_idx *x, es_error *err)
{
    *out = NULL;
    *len = 0;
    struct ArrowSchema schema = {0};
    struct ArrowArray arr = {0};
    es_builder *bld = NULL;
    es_ipc_writer *w = NULL;
    es_status st = idx_schema(&schema, x, err);
    if (st)
        return st;
    st = es_builder_new(&bld, &schema, err);
    if (st)
        goto done;
    for (int64_t b = 0; b < x->n_batches && !st; b++) {
        st = es_builder_append_int(es_builder_child(bld, 0), x->rows[b]);
        st = st ? st : es_builder_append_int(es_builder_child(bld, 1), x->offset[b]);
        st = st ? st : es_builder_append_int(es_builder_child(bld, 2), x->meta_len[b]);
        st = st ? st : es_builder_append_int(es_builder_child(bld, 3), x->body_len[b]);
        st = st ? st : es_builder_append_uint(es_builder_child(bld, 4), x->meta_crc[b]);
        for (int64_t c = 0; c < x->n_cols && !st; c++) {
            int64_t k = b * x->n_cols + c, base = IDX_FIXED + c * idx_per_col(x);
            const es_idx_stat *s = &x->col_stats[k];
            const uint8_t *bytes = x->stat_bytes.data;
            st = es_builder_append_int(es_builder_child(bld, base + 0), x->col_off[k]);
            st = st ? st : es_builder_append_int(es_builder_child(bld, base + 1), x->col_len[k]);
            st = st ? st : es_builder_append_uint(es_builder_child(bld, base + 2), x->col_crc[k]);
            st = st ? st : es_builder_append_int(es_builder_child(bld, base + 3), s->null_count);
            st = st ? st
                    : append_stat(es_builder_child(bld, base + 4), s->has_min, bytes + s->min_off,
                                  s->min_len);
            st = st ? st
                    : append_stat(es_builder_child(bld, base + 5), s->has_max, bytes + s->max_off,
                                  s->max_len);
            es_builder *pch[ES_PAGE_IDX_EXTRA];
            for (int e = 0; x->paged && e < ES_PAGE_IDX_EXTRA; e++)
                pch[e] = es_builder_child(bld, base + IDX_PER_COL + e);
            st = st || !x->paged ? st : es_page_idx_append(pch, x, k);
        }
        st = st ? st : es_builder_append_struct(bld);
    }
    if (st) {
        es_error_set(err, st, 0, "table_part_%s.idx: cannot build index", x->part_id);
        goto done;
    }
    st = es_builder_finish(bld, &arr, err);
    if (st)
        goto done;
    st = es_ipc_writer_new(&w, &schema, ES_IPC_FILE, NULL, err);
    if (!st)
        st = es_ipc_writer_write(w, &arr, err);
    if (!st)
        st = es_ipc_writer_finish(w, out, len, err);
done:
    es_ipc_writer_free(w);
    es_array_release(&arr);
    es_builder_free(bld);
    es_schema_release(&schema);
    return st;
}

/* ----------------------------------------------------------- idx decode */

static es_status corrupt(es_error *err, const char *name, const char *what)
{
    return es_error_set(err, ES_CORRUPT, 0, "%s: %s", name, what);
}

static int parse_hex32(const char *s, int32_t len, uint32_t *out)
{
    if (len != 8)
        return 0;
    uint32_t v = 0;
    for (int i = 0; i < 8; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return 0;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return 1;
}

static int parse_col_name(const char *name, const char *suffix, int64_t *id)
{
    if (name[0] != 'c')
        return 0;
    char *end = NULL;
    long long v = strtoll(name + 1, &end, 10);
    if (end == name + 1 || *end != '.' || v < 0)
        return 0;
    if (suffix && strcmp(end + 1, suffix) != 0)
        return 0;
    *id = v;
    return 1;
}

/* The min (m = 0) or max (m = 1) values of column c in every batch, from their view: the
 * values are copied in one piece into the index's stat bytes (reserved by the caller) and each
 * statistic points into them. The view has checked that the offsets do not decrease. ES_CORRUPT
 * when a value is longer than ES_STAT_MAX. */
static es_status read_stats(es_part_idx *x, int64_t c, int m, const es_array_view *v)
{
    int64_t nb = x->n_batches, nc = x->n_cols;
    if (nb <= 0)
        return ES_OK;
    const int32_t *o = v->offsets32;
    size_t start = x->stat_bytes.len, n = (size_t)(o[nb] - o[0]);
    if (n)
        memcpy(x->stat_bytes.data + start, v->values + o[0], n);
    x->stat_bytes.len += n;
    for (int64_t b = 0; b < nb; b++) {
        if (v->null_count && es_view_is_null(v, b))
            continue;
        int64_t len = o[b + 1] - o[b];
        if (len > ES_STAT_MAX)
            return ES_CORRUPT;
        es_idx_stat *s = &x->col_stats[b * nc + c];
        uint32_t off = (uint32_t)(start + (size_t)(o[b] - o[0]));
        if (m) {
            s->has_max = 1;
            s->max_len = (uint8_t)len;
            s->max_off = off;
        } else {
            s->has_min = 1;
            s->min_len = (uint8_t)len;
            s->min_off = off;
        }
    }
    return ES_OK;
}

es_status es_part_idx_decode(es_part_idx **out, es_blob *blob, const char *name, int check_content,
                             es_error *err)
{
    *out = NULL;
    es_ipc_file *f = NULL;
    struct ArrowArray arr = {0};
    es_array_view view;
    memset(&view, 0, sizeof(view));
    int have_view = 0;
    es_part_idx *x = NULL;
    es_error sub;
    es_status st = es_ipc_file_open(&f, blob, &sub);
    if (st) {
        st = st == ES_NOMEM ? es_error_set(err, ES_NOMEM, 0, "%s: out of memory", name)
                            : es_error_set(err, ES_CORRUPT, 0, "%s: %s", name, sub.msg);
        goto done;
    }
    const struct ArrowSchema *schema = es_ipc_file_schema(f);
    const char *md = schema->metadata;
    int32_t l1 = 0, l2 = 0, l3 = 0, l4 = 0, l5 = 0;
    const char *magic = es_metadata_get(md, "expstore:magic", &l1);
    const char *ver = es_metadata_get(md, "expstore:version", &l2);
    const char *part = es_metadata_get(md, "expstore:part", &l3);
    const char *sort = es_metadata_get(md, "expstore:sort_key", &l4);
    const char *crcs = es_metadata_get(md, "expstore:checksum", &l5);
    uint32_t want_crc = 0;
    if (!magic || l1 != 5 || memcmp(magic, "ESIDX", 5) != 0) {
        st = corrupt(err, name, "not an index (bad magic)");
        goto done;
    }
    if (!ver || l2 != 1 || (ver[0] != '1' && ver[0] != '2' && ver[0] != '3')) {
        st = es_error_set(err, ES_UNSUPPORTED, 0, "%s: unsupported index version", name);
        goto done;
    }
    if (!part || l3 != ES_ID_LEN || !sort || !crcs || !parse_hex32(crcs, l5, &want_crc)) {
        st = corrupt(err, name, "malformed index metadata");
        goto done;
    }
    int pc = IDX_PER_COL + (ver[0] == '3' ? ES_PAGE_IDX_EXTRA : 0); /* fields per column */
    if (schema->n_children < IDX_FIXED || (schema->n_children - IDX_FIXED) % pc != 0 ||
        es_ipc_file_num_batches(f) != 1) {
        st = corrupt(err, name, "malformed index shape");
        goto done;
    }
    int64_t nc = (schema->n_children - IDX_FIXED) / pc;
    for (int64_t i = 0; i < IDX_FIXED; i++) {
        if (strcmp(schema->children[i]->name ? schema->children[i]->name : "",
                   idx_fixed_names[i]) != 0 ||
            strcmp(schema->children[i]->format, idx_fixed_formats[i]) != 0) {
            st = corrupt(err, name, "malformed index fields");
            goto done;
        }
    }
    st = es_ipc_file_read(f, 0, &arr, &sub);
    if (st) {
        st = st == ES_NOMEM ? es_error_set(err, ES_NOMEM, 0, "%s: out of memory", name)
                            : es_error_set(err, ES_CORRUPT, 0, "%s: %s", name, sub.msg);
        goto done;
    }
    st = es_array_view_init(&view, schema, &arr, &sub);
    if (st) {
        st = es_error_set(err, ES_CORRUPT, 0, "%s: %s", name, sub.msg);
        goto done;
    }
    have_view = 1;
    int64_t nb = view.length;
    st = idx_alloc(&x, nb, nc);
    if (!st && ver[0] == '3')
        st = es_page_idx_alloc(x);
    if (st) {
        st = es_error_set(err, ES_NOMEM, 0, "%s: out of memory", name);
        goto done;
    }
    memcpy(x->part_id, part, ES_ID_LEN);
    x->part_id[ES_ID_LEN] = 0;
    for (int64_t c = 0; c < nc; c++) {
        for (int j = 0; j < pc; j++) {
            const struct ArrowSchema *ch = schema->children[IDX_FIXED + c * pc + j];
            int64_t id;
            int e = j - IDX_PER_COL; /* >= 0: a version 3 field */
            if (!ch->name ||
                !parse_col_name(ch->name, e < 0 ? idx_col_suffix[j] : es_page_idx_suffix[e], &id) ||
                strcmp(ch->format, e < 0 ? idx_col_formats[j] : es_page_idx_formats[e]) != 0 ||
                (j > 0 && id != x->col_ids[c])) {
                st = corrupt(err, name, "malformed index column fields");
                goto done;
            }
            x->col_ids[c] = id;
        }
    }
    if (l4 > 0) {
        int64_t sid = -1;
        char tmp[32];
        if (l4 >= (int32_t)sizeof(tmp)) {
            st = corrupt(err, name, "malformed sort key");
            goto done;
        }
        memcpy(tmp, sort, (size_t)l4);
        tmp[l4] = 0;
        char *end = NULL;
        if (tmp[0] == 'c')
            sid = strtoll(tmp + 1, &end, 10);
        for (int64_t c = 0; c < nc && end && *end == 0; c++)
            if (x->col_ids[c] == sid)
                x->sort_col = c;
        if (x->sort_col < 0) {
            st = corrupt(err, name, "sort key names no column");
            goto done;
        }
    }
    /* Required fields have no nulls (the view counted them); values are read directly. */
    const es_array_view *ch = view.children;
    size_t stat_total = 0;
    for (int64_t i = 0; i < IDX_FIXED + pc * nc; i++) {
        int j = i < IDX_FIXED ? -1 : (int)((i - IDX_FIXED) % pc);
        if ((j < 4 || j >= 6) && ch[i].null_count != 0) {
            st = corrupt(err, name, "null in a required index field");
            goto done;
        }
        if ((j == 4 || j == 5) && nb > 0)
            stat_total += (size_t)(ch[i].offsets32[nb] - ch[i].offsets32[0]);
    }
    if (stat_total > UINT32_MAX) {
        st = corrupt(err, name, "statistics too large");
        goto done;
    }
    if (es_buf_reserve(&x->stat_bytes, stat_total + 1) != ES_OK) {
        st = es_error_set(err, ES_NOMEM, 0, "%s: out of memory", name);
        goto done;
    }
    for (int64_t b = 0; b < nb; b++) {
        x->rows[b] = (int64_t)es_load_u64(ch[0].values + 8 * b);
        x->offset[b] = (int64_t)es_load_u64(ch[1].values + 8 * b);
        x->meta_len[b] = (int64_t)es_load_u64(ch[2].values + 8 * b);
        x->body_len[b] = (int64_t)es_load_u64(ch[3].values + 8 * b);
        x->meta_crc[b] = es_load_u32(ch[4].values + 4 * b);
    }
    for (int64_t c = 0; c < nc; c++) {
        const es_array_view *cv = &ch[IDX_FIXED + c * pc];
        if (x->paged)
            es_page_idx_read(x, c, cv + IDX_PER_COL);
        for (int64_t b = 0, k = c; b < nb; b++, k += nc) {
            x->col_off[k] = (int64_t)es_load_u64(cv[0].values + 8 * b);
            x->col_len[k] = (int64_t)es_load_u64(cv[1].values + 8 * b);
            x->col_crc[k] = es_load_u32(cv[2].values + 4 * b);
            x->col_stats[k].null_count = (int64_t)es_load_u64(cv[3].values + 8 * b);
        }
        if (read_stats(x, c, 0, &cv[4]) || read_stats(x, c, 1, &cv[5])) {
            st = corrupt(err, name, "statistic value too long");
            goto done;
        }
    }
    /* Version 2: the dictionaries of encoded columns (none in version 1; optional in 3). */
    st = ver[0] != '1' ? es_part_idx_dict_decode(x, md, name, err) : ES_OK;
    if (!st && ver[0] == '2' && es_part_idx_dict_count(x) == 0)
        st = corrupt(err, name, "version 2 index without dictionaries");
    if (st)
        goto done;
    if (check_content && content_crc(x) != want_crc) {
        st = corrupt(err, name, "index checksum mismatch");
        goto done;
    }
    /* Structural validation: ranges are sane and inside each batch's body. */
    for (int64_t b = 0; b < nb; b++) {
        if (x->rows[b] < 0 || x->offset[b] < 8 || x->meta_len[b] < 8 || x->body_len[b] < 0 ||
            x->meta_len[b] > (1 << 30) ||
            x->offset[b] > INT64_MAX - x->meta_len[b] - x->body_len[b]) {
            st = corrupt(err, name, "bad batch range");
            goto done;
        }
        int64_t body = x->offset[b] + x->meta_len[b];   /* cannot overflow: checked above */
        for (int64_t c = 0; c < nc && !x->paged; c++) { /* (pages: es_page_idx_check) */
            int64_t k = b * nc + c;
            if (x->col_len[k] < 0 || x->col_off[k] < body ||
                x->col_off[k] > body + x->body_len[b] - x->col_len[k] ||
                x->col_stats[k].null_count < 0 || x->col_stats[k].null_count > x->rows[b]) {
                st = corrupt(err, name, "bad column range");
                goto done;
            }
        }
    }
    for (int64_t k = 0; x->paged && k < nb * nc; k++)
        if (x->col_stats[k].null_count < 0 || x->col_stats[k].null_count > x->rows[k / nc]) {
            st = corrupt(err, name, "bad column range");
            goto done;
        }
    st = x->paged ? es_page_idx_check(x, name, err) : ES_OK;
    if (!st)
        st = es_part_idx_dict_load(x, name, err);
    if (st)
        goto done;
    *out = x;
    x = NULL;
done:
    es_part_idx_free(x);
    if (have_view)
        es_array_view_reset(&view);
    es_array_release(&arr);
    es_ipc_file_close(f);
    return st;
}

/* ----------------------------------------------------------------- schema */

/* "c<id>" (as snprintf's "c%" PRId64, without its cost: every inline part built or decoded
 * names its fields). */
static void field_name(char name[32], int64_t id)
{
    char t[24];
    int i = (int)sizeof(t);
    uint64_t u = id < 0 ? 0 - (uint64_t)id : (uint64_t)id;
    do {
        t[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (id < 0)
        t[--i] = '-';
    name[0] = 'c';
    memcpy(name + 1, t + i, sizeof(t) - (size_t)i);
    name[1 + sizeof(t) - (size_t)i] = 0;
}

es_status es_part_schema(struct ArrowSchema *out, const es_part_col *cols, int64_t n_cols,
                         es_error *err)
{
    es_status st = es_schema_init_struct(out, n_cols, err);
    if (st)
        return st;
    for (int64_t i = 0; i < n_cols && !st; i++) {
        char name[32];
        field_name(name, cols[i].id);
        st = es_schema_init(out->children[i], cols[i].format, name,
                            cols[i].nullable ? ARROW_FLAG_NULLABLE : 0, err);
    }
    if (st)
        es_schema_release(out);
    return st;
}

/* ------------------------------------------------------------------ write */

/* "c<id>", the name of a .data field. */
static int parse_field_name(const char *name, int64_t *id)
{
    if (name[0] != 'c' || name[1] < '0' || name[1] > '9')
        return 0;
    char *end = NULL;
    long long v = strtoll(name + 1, &end, 10);
    if (*end || v < 0)
        return 0;
    *id = v;
    return 1;
}

/* Build one part in memory: the Arrow IPC bytes of `format` (file for .data objects, stream for
 * rows inlined in the log), its index and what the log records (stats over the whole part). */
static es_status build_part(uint8_t **out_data, size_t *out_len, es_part_idx **out_idx,
                            es_part_meta **out_meta, const char *key, const char *part_id,
                            const es_part_col *cols, int64_t n_cols, int64_t sort_col,
                            struct ArrowArray *batches, int64_t n, es_compression compression,
                            int64_t pages, es_ipc_format format, es_error *err)
{
    struct ArrowSchema schema = {0}, wschema = {0};
    struct ArrowArray *group = NULL; /* pages > 1: the pages of the record batch being built */
    int64_t n_group = 0, n_written = 0;
    es_ipc_writer *w = NULL;
    es_part_idx *x = NULL;
    es_part_meta *m = NULL;
    es_part_dict dict = {0};
    uint8_t *data = NULL;
    size_t data_len = 0;
    *out_data = NULL;
    *out_len = 0;
    *out_idx = NULL;
    *out_meta = NULL;

    es_status st = es_part_schema(&schema, cols, n_cols, err);
    if (st)
        goto done;
    st = idx_alloc(&x, n, n_cols);
    if (!st)
        st = es_part_meta_new(&m, n_cols);
    if (st) {
        st = es_error_set(err, ES_NOMEM, 0, "%s: out of memory", key);
        goto done;
    }
    if (pages > 1 && (es_page_idx_alloc(x) ||
                      !(group = es_calloc((size_t)(pages < n ? pages : n) + 1, sizeof *group)))) {
        st = es_error_set(err, ES_NOMEM, 0, "%s: out of memory", key);
        goto done;
    }
    memcpy(x->part_id, part_id, ES_ID_LEN + 1);
    memcpy(m->id, part_id, ES_ID_LEN + 1);
    x->sort_col = sort_col;
    for (int64_t c = 0; c < n_cols; c++) {
        x->col_ids[c] = m->col_ids[c] = cols[c].id;
        m->cols[c] = cols[c];
    }

    /* .data files: string columns dictionary-encoded where it pays (part_dict.c). */
    if (format == ES_IPC_FILE)
        st = es_part_dict_choose(&dict, cols, n_cols, &schema, batches, n, err);
    if (!st && dict.cols)
        st = es_schema_copy(&wschema, &schema, err);
    if (!st && dict.cols)
        st = es_part_dict_schema(&wschema, &dict, err);
    es_ipc_write_options wo = ES_IPC_WRITE_OPTIONS_INIT;
    wo.compression = compression;
    if (!st)
        st = es_ipc_writer_new(&w, dict.cols ? &wschema : &schema, format, &wo, err);
    if (st)
        goto done;
    for (int64_t b = 0; b < n; b++) {
        es_array_view v;
        st = es_array_view_init(&v, &schema, &batches[b], err);
        if (st)
            goto done;
        x->rows[b] = v.length;
        for (int64_t c = 0; c < n_cols && !st; c++) {
            es_colstat cs;
            es_colstat_compute(&cs, &v.children[c], es_expr_domain(cols[c].type.id));
            if (idx_set_stat(x, b * n_cols + c, &cs))
                st = es_error_set(err, ES_NOMEM, 0, "%s: out of memory", key);
        }
        es_array_view_reset(&v);
        if (st)
            goto done;
        m->rows += x->rows[b];
        if (group) { /* a page: written with the others of its record batch (page.c) */
            if (dict.cols)
                st = es_part_dict_batch(&group[n_group], &dict, b, &batches[b], err);
            else
                group[n_group] = batches[b]; /* borrowed (a shallow copy, never released) */
            if (st)
                goto done;
            if (++n_group == pages || b + 1 == n) {
                st = es_page_write(x, w, group, b - n_group + 1, n_group, n_written++, key, err);
                for (int64_t i = 0; i < n_group; i++) {
                    if (dict.cols)
                        es_array_release(&group[i]);
                    group[i].release = NULL;
                }
                n_group = 0;
            }
        } else if (dict.cols) {
            struct ArrowArray enc;
            st = es_part_dict_batch(&enc, &dict, b, &batches[b], err);
            if (!st) {
                st = es_ipc_writer_write(w, &enc, err);
                enc.release(&enc);
            }
        } else {
            st = es_ipc_writer_write(w, &batches[b], err);
        }
        if (st)
            goto done;
    }
    /* Part statistics: batches without non-null values do not count; a batch whose min or max
     * is unknown makes the part's unknown too. */
    for (int64_t c = 0; c < n_cols; c++) {
        es_colstat *pm = &m->stats[c];
        es_domain dom = es_expr_domain(cols[c].type.id);
        pm->has_min = pm->has_max = 0;
        int min_unknown = 0, max_unknown = 0;
        for (int64_t b = 0; b < n; b++) {
            const es_idx_stat *cs = &x->col_stats[b * n_cols + c];
            const uint8_t *cmin = x->stat_bytes.data + cs->min_off;
            const uint8_t *cmax = x->stat_bytes.data + cs->max_off;
            int64_t nonnull = x->rows[b] - cs->null_count;
            if (nonnull <= 0)
                continue;
            if (!cs->has_min)
                min_unknown = 1;
            if (!cs->has_max)
                max_unknown = 1;
            es_scalar a, s;
            if (cs->has_min) {
                es_colstat_scalar(&s, dom, cmin, cs->min_len);
                if (pm->has_min)
                    es_colstat_scalar(&a, dom, pm->min, pm->min_len);
                if (!pm->has_min || es_scalar_cmp(dom, &s, &a) < 0) {
                    memcpy(pm->min, cmin, cs->min_len);
                    pm->min_len = cs->min_len;
                    pm->has_min = 1;
                }
            }
            if (cs->has_max) {
                es_colstat_scalar(&s, dom, cmax, cs->max_len);
                if (pm->has_max)
                    es_colstat_scalar(&a, dom, pm->max, pm->max_len);
                if (!pm->has_max || es_scalar_cmp(dom, &s, &a) > 0) {
                    memcpy(pm->max, cmax, cs->max_len);
                    pm->max_len = cs->max_len;
                    pm->has_max = 1;
                }
            }
        }
        if (min_unknown)
            pm->has_min = 0;
        if (max_unknown)
            pm->has_max = 0;
        pm->null_count = 0;
        for (int64_t b = 0; b < n; b++)
            pm->null_count += x->col_stats[b * n_cols + c].null_count;
    }
    st = es_ipc_writer_finish(w, &data, &data_len, err);
    if (st)
        goto done;
    int64_t nblocks = 0;
    const es_ipc_block *blocks = es_ipc_writer_blocks(w, &nblocks);
    if (group)
        st = es_page_idx_finish(x, data, data_len, blocks, nblocks, key, err);
    if (!group && nblocks != n) {
        st = es_error_set(err, ES_INTERNAL, 0, "%s: writer reported %lld blocks for %lld batches",
                          key, (long long)nblocks, (long long)n);
        goto done;
    }
    int64_t ndict = 0;
    const es_ipc_dict_block *dblocks = es_ipc_writer_dictionaries(w, &ndict);
    if (es_part_idx_dict_set(x, &dict, data, dblocks, ndict) != ES_OK) {
        st = es_error_set(err, ES_NOMEM, 0, "%s: out of memory", key);
        goto done;
    }
    for (int64_t b = 0; b < n && !group && !st; b++) {
        const es_ipc_block *bl = &blocks[b];
        x->offset[b] = bl->offset;
        x->meta_len[b] = bl->metadata_length;
        x->body_len[b] = bl->body_length;
        if (bl->offset + bl->metadata_length + bl->body_length > (int64_t)data_len) {
            st = es_error_set(err, ES_INTERNAL, 0, "%s: batch %lld outside the file", key,
                              (long long)b);
            goto done;
        }
        for (int64_t c = 0; c < n_cols && !st; c++)
            st = es_ipc_writer_column_ranges(w, b, c, &x->col_off[b * n_cols + c],
                                             &x->col_len[b * n_cols + c]);
        if (st) {
            st = es_error_set(err, ES_INTERNAL, 0, "%s: no column ranges for batch %lld", key,
                              (long long)b);
            goto done;
        }
        x->meta_crc[b] = es_crc32c(0, data + bl->offset, (size_t)bl->metadata_length);
        for (int64_t c = 0; c < n_cols; c++) {
            int64_t k = b * n_cols + c;
            x->col_crc[k] = es_crc32c(0, data + x->col_off[k], (size_t)x->col_len[k]);
        }
    }
    m->n_batches = n;
    m->data_bytes = (int64_t)data_len;
    *out_data = data;
    *out_len = data_len;
    *out_idx = x;
    *out_meta = m;
    data = NULL;
    x = NULL;
    m = NULL;
done:
    for (int64_t i = 0; i < n_group; i++)
        if (dict.cols)
            es_array_release(&group[i]);
    es_free(group);
    es_free(data);
    es_part_meta_unref(m);
    es_part_idx_free(x);
    es_ipc_writer_free(w);
    es_part_dict_reset(&dict);
    es_schema_release(&wschema);
    es_schema_release(&schema);
    return st;
}

es_status es_part_write(es_part_meta **meta, es_objstore *os, const char *table_id,
                        const es_part_col *cols, int64_t n_cols, int64_t sort_col,
                        struct ArrowArray *batches, int64_t n, es_compression compression,
                        int64_t batch_pages, es_error *err)
{
    *meta = NULL;
    es_part_idx *x = NULL;
    es_part_meta *m = NULL;
    uint8_t *data = NULL, *idx = NULL;
    size_t data_len = 0, idx_len = 0;
    char part_id[ES_ID_LEN + 1], key[256];
    es_part_new_object_id(part_id);
    es_part_key(key, sizeof(key), table_id, part_id, "data");
    es_status st = build_part(
        &data, &data_len, &x, &m, key, part_id, cols, n_cols, sort_col, batches, n, compression,
        es_page_count(batches, n, compression, batch_pages), ES_IPC_FILE, err);
    if (st)
        goto done;
    st = es_part_idx_encode(&idx, &idx_len, x, err);
    if (st)
        goto done;
    m->idx_bytes = (int64_t)idx_len;
    m->idx_crc = es_crc32c(0, idx, idx_len);
    /* .data first: a reader that sees the .idx (through the log) can rely on the .data. */
    st = es_objstore_put(os, key, data, data_len, ES_PUT_IF_ABSENT, NULL, NULL, err);
    if (st)
        goto done;
    es_part_key(key, sizeof(key), table_id, part_id, "idx");
    st = es_objstore_put(os, key, idx, idx_len, ES_PUT_IF_ABSENT, NULL, NULL, err);
    if (st)
        goto done;
    *meta = m;
    m = NULL;
done:
    es_free(data);
    es_free(idx);
    es_part_meta_unref(m);
    es_part_idx_free(x);
    return st;
}

es_status es_part_build_inline(es_part_meta **meta, const char *part_id, const es_part_col *cols,
                               int64_t n_cols, struct ArrowArray *batches, int64_t n, es_error *err)
{
    *meta = NULL;
    es_part_idx *x = NULL;
    es_part_meta *m = NULL;
    uint8_t *data = NULL;
    size_t data_len = 0;
    char id[ES_ID_LEN + 1];
    if (part_id)
        memcpy(id, part_id, sizeof(id));
    else
        es_part_new_id(id);
    char key[64];
    snprintf(key, sizeof(key), "inline part %s", id);
    /* No sort column in the index: a part decoded from the log would not know it. */
    es_status st = build_part(&data, &data_len, &x, &m, key, id, cols, n_cols, -1, batches, n,
                              ES_COMPRESS_NONE, 1, ES_IPC_STREAM, err);
    if (st)
        return st;
    st = es_blob_new_owned(&m->inline_ipc, data, data_len);
    if (st) {
        es_free(data);
        es_part_idx_free(x);
        es_part_meta_unref(m);
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", key);
    }
    m->inline_idx = x;
    *meta = m;
    return ES_OK;
}

/* Append value i of view v (NULL: a null) to builder b, by the value's domain. */
static es_status append_value(es_builder *b, const es_array_view *v, int64_t i)
{
    if (!v || es_view_is_null(v, i))
        return es_builder_append_null(b, 1);
    int64_t len;
    switch (es_expr_domain(v->type.id)) {
    case ES_DOM_INT:
        return es_builder_append_int(b, es_view_get_int(v, i));
    case ES_DOM_UINT:
        return es_builder_append_uint(b, es_view_get_uint(v, i));
    case ES_DOM_DOUBLE:
        return es_builder_append_double(b, es_view_get_double(v, i));
    case ES_DOM_DEC:
        return es_builder_append_decimal128(b, es_view_get_bytes(v, i, &len));
    case ES_DOM_BYTES: {
        const uint8_t *p = es_view_get_bytes(v, i, &len);
        return es_builder_append_bytes(b, p, len);
    }
    default:
        return es_builder_append_null(b, 1);
    }
}

es_status es_part_append_value(es_builder *b, const es_array_view *v, int64_t i)
{
    return append_value(b, v, i);
}

/* The batches of an inline stream (fields c<id>) with their schema and validated views. */
typedef struct inline_rows {
    struct ArrowSchema schema;
    es_part_col *cols;
    int64_t n_cols;
    struct ArrowArray *batches;
    es_array_view *views;
    int64_t n, rows;
} inline_rows;

static void inline_rows_reset(inline_rows *r)
{
    for (int64_t b = 0; b < r->n; b++) {
        es_array_view_reset(&r->views[b]);
        es_array_release(&r->batches[b]);
    }
    es_free(r->views);
    es_free(r->batches);
    es_free(r->cols);
    es_schema_release(&r->schema);
    memset(r, 0, sizeof(*r));
}

static es_status read_inline_rows(inline_rows *r, es_blob *ipc, const char *name, es_error *err)
{
    struct ArrowArrayStream rd = {0};
    memset(r, 0, sizeof(*r));
    int64_t cap = 0;
    es_error sub;
    es_status st = es_ipc_reader_open(&rd, ipc, &sub);
    if (st)
        return es_error_set(err, st == ES_NOMEM ? ES_NOMEM : ES_CORRUPT, 0, "%s: inline rows: %s",
                            name, sub.msg);
    if (rd.get_schema(&rd, &r->schema) != 0 || !r->schema.format ||
        strcmp(r->schema.format, "+s") != 0 || r->schema.n_children < 1) {
        st = es_error_set(err, ES_CORRUPT, 0, "%s: inline rows: bad schema", name);
        goto done;
    }
    r->n_cols = r->schema.n_children;
    r->cols = es_calloc((size_t)r->n_cols, sizeof(es_part_col));
    if (!r->cols) {
        st = es_error_set(err, ES_NOMEM, 0, "%s: out of memory", name);
        goto done;
    }
    for (int64_t c = 0; c < r->n_cols; c++) {
        const struct ArrowSchema *f = r->schema.children[c];
        es_part_col *pc = &r->cols[c];
        if (!f->name || !parse_field_name(f->name, &pc->id) ||
            strlen(f->format) >= sizeof(pc->format) ||
            es_type_parse(&pc->type, f->format, NULL) != ES_OK || f->n_children) {
            st = es_error_set(err, ES_CORRUPT, 0, "%s: inline rows: bad column %lld", name,
                              (long long)c);
            goto done;
        }
        strcpy(pc->format, f->format);
        pc->nullable = (f->flags & ARROW_FLAG_NULLABLE) != 0;
        for (int64_t k = 0; k < c; k++)
            if (r->cols[k].id == pc->id) {
                st = es_error_set(err, ES_CORRUPT, 0, "%s: inline rows: column c%lld twice", name,
                                  (long long)pc->id);
                goto done;
            }
    }
    for (;;) {
        if (r->n == cap) {
            int64_t nc = cap ? cap * 2 : 4;
            struct ArrowArray *nb = es_realloc(r->batches, (size_t)nc * sizeof(*nb));
            es_array_view *nv = nb ? es_realloc(r->views, (size_t)nc * sizeof(*nv)) : NULL;
            if (nb)
                r->batches = nb;
            if (!nv) {
                st = es_error_set(err, ES_NOMEM, 0, "%s: out of memory", name);
                goto done;
            }
            r->views = nv;
            cap = nc;
        }
        r->batches[r->n].release = NULL;
        if (rd.get_next(&rd, &r->batches[r->n]) != 0) {
            const char *m = rd.get_last_error(&rd);
            st = es_error_set(err, ES_CORRUPT, 0, "%s: inline rows: %s", name, m ? m : "bad batch");
            goto done;
        }
        if (!r->batches[r->n].release)
            break;
        st = es_array_view_init(&r->views[r->n], &r->schema, &r->batches[r->n], &sub);
        if (st) {
            es_array_release(&r->batches[r->n]);
            st = es_error_set(err, st == ES_NOMEM ? ES_NOMEM : ES_CORRUPT, 0, "%s: inline rows: %s",
                              name, sub.msg);
            goto done;
        }
        r->rows += r->batches[r->n].length;
        r->n++;
    }
done:
    if (rd.release)
        rd.release(&rd);
    if (st)
        inline_rows_reset(r);
    return st;
}

/* Rows [from, from + n) of r as one batch. */
static es_status copy_rows(struct ArrowArray *out, const inline_rows *r, int64_t from, int64_t n,
                           es_error *err)
{
    es_builder *b = NULL;
    es_status st = es_builder_new(&b, &r->schema, err);
    int64_t at = 0;
    for (int64_t k = 0; k < r->n && !st; k++) {
        const es_array_view *v = &r->views[k];
        for (int64_t i = 0; i < v->length && !st; i++, at++) {
            if (at < from || at >= from + n)
                continue;
            for (int64_t c = 0; c < r->n_cols && !st; c++)
                st = append_value(es_builder_child(b, c), &v->children[c], i);
            if (!st)
                st = es_builder_append_struct(b);
        }
    }
    if (!st)
        st = es_builder_finish(b, out, err);
    else
        st = es_error_set(err, st, 0, "inline rows: out of memory");
    es_builder_free(b);
    return st;
}

es_status es_part_decode_inline(es_part_meta **meta, const char *const *part_ids,
                                const int64_t *rows, int64_t n_parts, es_blob *ipc,
                                const char *name, es_error *err)
{
    inline_rows r;
    es_error sub;
    int64_t total = 0;
    for (int64_t p = 0; p < n_parts; p++)
        meta[p] = NULL;
    es_status st = read_inline_rows(&r, ipc, name, err);
    if (st)
        return st;
    for (int64_t p = 0; p < n_parts; p++)
        total += rows[p];
    if (total != r.rows) {
        st = es_error_set(err, ES_CORRUPT, 0, "%s: inline rows: %lld rows, the entry says %lld",
                          name, (long long)r.rows, (long long)total);
        goto done;
    }
    if (n_parts == 1) {
        st = es_part_build_inline(&meta[0], part_ids[0], r.cols, r.n_cols, r.batches, r.n, &sub);
    } else {
        /* Several parts' rows in one batch (a checkpoint): each part's rows in turn. */
        int64_t at = 0;
        for (int64_t p = 0; p < n_parts && !st; p++) {
            struct ArrowArray one;
            st = copy_rows(&one, &r, at, rows[p], &sub);
            if (!st) {
                st = es_part_build_inline(&meta[p], part_ids[p], r.cols, r.n_cols, &one, 1, &sub);
                es_array_release(&one);
            }
            at += rows[p];
        }
    }
    if (st)
        st = es_error_set(err, st == ES_NOMEM ? ES_NOMEM : ES_CORRUPT, 0, "%s: inline rows: %s",
                          name, sub.msg);
done:
    if (st)
        for (int64_t p = 0; p < n_parts; p++) {
            es_part_meta_unref(meta[p]);
            meta[p] = NULL;
        }
    inline_rows_reset(&r);
    return st;
}

int es_part_inline_same_schema(const es_part_meta *a, const es_part_meta *b)
{
    const es_part_idx *x = a->inline_idx, *y = b->inline_idx;
    if (!x || !y || x->n_batches < 1 || y->n_batches < 1)
        return 0;
    return x->offset[0] == y->offset[0] &&
           memcmp(a->inline_ipc->data, b->inline_ipc->data, (size_t)x->offset[0]) == 0;
}

/* Append every row of view v (a batch) to the struct builder b. */
static es_status append_rows(es_builder *b, const es_array_view *v)
{
    es_status st = ES_OK;
    for (int64_t i = 0; i < v->length && !st; i++) {
        for (int64_t c = 0; c < v->n_children && !st; c++)
            st = append_value(es_builder_child(b, c), &v->children[c], i);
        if (!st)
            st = es_builder_append_struct(b);
    }
    return st;
}

/* Append the rows of inline part m, whose stream has exactly `schema` (es_part_inline_same_schema
 * said so), to b: its record batches decoded where its index says they are (its stream and
 * index were built in this process, es_part_build_inline), without a stream reader's parse of
 * the schema again. */
static es_status append_inline(es_builder *b, const es_part_meta *m,
                               const struct ArrowSchema *schema, es_error *err)
{
    const es_part_idx *x = m->inline_idx;
    const uint8_t *d = m->inline_ipc->data;
    es_status st = ES_OK;
    for (int64_t k = 0; k < x->n_batches && !st; k++) {
        struct ArrowArray a;
        es_array_view v;
        st = es_ipc_decode_batch(&a, schema, d + x->offset[k], (size_t)x->meta_len[k],
                                 m->inline_ipc, d + x->offset[k] + x->meta_len[k], x->body_len[k],
                                 "inline part", err);
        if (st)
            break;
        st = es_array_view_init(&v, schema, &a, err);
        if (!st) {
            st = append_rows(b, &v);
            es_array_view_reset(&v);
        }
        es_array_release(&a);
    }
    return st;
}

es_status es_part_inline_merge(es_blob **out, es_part_meta *const *parts, int64_t n, es_error *err)
{
    inline_rows all;
    es_builder *b = NULL;
    es_ipc_writer *w = NULL;
    struct ArrowArray batch = {0};
    uint8_t *data = NULL;
    size_t len = 0;
    *out = NULL;
    es_status st = read_inline_rows(&all, parts[0]->inline_ipc, "inline part", err);
    if (st)
        return st;
    st = es_builder_new(&b, &all.schema, err);
    for (int64_t k = 0; k < all.n && !st; k++)
        st = append_rows(b, &all.views[k]);
    for (int64_t p = 1; p < n && !st; p++)
        st = append_inline(b, parts[p], &all.schema, err);
    if (!st)
        st = es_builder_finish(b, &batch, err);
    es_ipc_write_options wo = ES_IPC_WRITE_OPTIONS_INIT;
    if (!st)
        st = es_ipc_writer_new(&w, &all.schema, ES_IPC_STREAM, &wo, err);
    if (!st)
        st = es_ipc_writer_write(w, &batch, err);
    if (!st)
        st = es_ipc_writer_finish(w, &data, &len, err);
    if (!st && es_blob_new_owned(out, data, len)) {
        es_free(data);
        st = ES_NOMEM;
    }
    if (st == ES_NOMEM)
        es_error_set(err, ES_NOMEM, 0, "checkpoint: out of memory");
    es_array_release(&batch);
    es_ipc_writer_free(w);
    es_builder_free(b);
    inline_rows_reset(&all);
    return st;
}
