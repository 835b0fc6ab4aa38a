/*
 * dict: dictionary-encoded arrays (arrow layer). In the C Data Interface a dictionary-encoded
 * field has the index type as its format (an integer: "c", "s", "i", "l" or unsigned) and its
 * `dictionary` child schema holds the value type; an array of it holds the indices and its
 * `dictionary` member the values. This file:
 *
 *  - shares one dictionary between many arrays (es_array_ref: a reference-counted array, and
 *    exported shallow copies that keep it alive; the counts are atomic, so batches holding the
 *    same dictionary may be released on different threads);
 *  - checks indices against a dictionary (es_dict_check_indices);
 *  - materialises a dictionary-encoded array into a plain array of the value type
 *    (es_dict_materialize) and does it for every dictionary-encoded column of record batches
 *    (es_dict_decode_batches: how imports of dictionary-encoded input reach the table's types);
 *  - grows a dictionary by a delta (es_dict_concat: an IPC dictionary batch with isDelta set
 *    appends its values to the field's dictionary, as Arrow JS writes when a dictionary grows
 *    between the batches of a stream or file).
 *
 * Value types: every flat type except bool (fixed width, utf8/binary and their large forms).
 */
#include <inttypes.h>
#include <string.h>

#include "arrow/arrow.h"

/* ---------------------------------------------------------- shared arrays */

struct es_array_ref {
    long refs;
    struct ArrowArray arr;
};

es_status es_array_ref_new(es_array_ref **out, struct ArrowArray *moved, es_error *err)
{
    *out = es_calloc(1, sizeof **out);
    if (!*out) {
        es_array_release(moved);
        return es_error_set(err, ES_NOMEM, 0, "out of memory sharing a dictionary");
    }
    (*out)->refs = 1;
    (*out)->arr = *moved;
    moved->release = NULL;
    return ES_OK;
}

es_array_ref *es_array_ref_ref(es_array_ref *r)
{
    if (r)
        __atomic_add_fetch(&r->refs, 1, __ATOMIC_ACQ_REL);
    return r;
}

void es_array_ref_unref(es_array_ref *r)
{
    if (r && __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        es_array_release(&r->arr);
        es_free(r);
    }
}

const struct ArrowArray *es_array_ref_array(const es_array_ref *r)
{
    return &r->arr;
}

static void release_shared(struct ArrowArray *a)
{
    es_array_ref_unref(a->private_data);
    a->release = NULL;
}

void es_array_ref_export(struct ArrowArray *out, es_array_ref *r)
{
    __atomic_add_fetch(&r->refs, 1, __ATOMIC_ACQ_REL);
    *out = r->arr;
    out->private_data = r;
    out->release = release_shared;
}

/* ---------------------------------------------------------------- indices */

static int64_t load_index(const uint8_t *p, es_type_id id, int64_t i)
{
    switch (id) {
    case ES_TYPE_INT8:
        return ((const int8_t *)p)[i];
    case ES_TYPE_UINT8:
        return p[i];
    case ES_TYPE_INT16: {
        int16_t v;
        memcpy(&v, p + 2 * i, 2);
        return v;
    }
    case ES_TYPE_UINT16: {
        uint16_t v;
        memcpy(&v, p + 2 * i, 2);
        return v;
    }
    case ES_TYPE_INT32: {
        int32_t v;
        memcpy(&v, p + 4 * i, 4);
        return v;
    }
    case ES_TYPE_UINT32: {
        uint32_t v;
        memcpy(&v, p + 4 * i, 4);
        return v;
    }
    default: {
        int64_t v; /* int64; uint64 above INT64_MAX reads negative: out of range */
        memcpy(&v, p + 8 * i, 8);
        return v;
    }
    }
}

static inline bool index_valid(const struct ArrowArray *a, int64_t i)
{
    const uint8_t *bits = a->null_count == 0 ? NULL : a->buffers[0];
    int64_t k = a->offset + i;
    return !bits || ((bits[k >> 3] >> (k & 7)) & 1);
}

/* The bounds of the signed indices of a without nulls, in one branch-free pass: 1 when all
 * lie in [0, dict_len), 0 when some may not (or a has nulls): the row by row check decides. */
#define INDEX_RANGE(T)                                                                             \
    do {                                                                                           \
        T mn = 0, mx = 0;                                                                          \
        for (int64_t i = 0; i < n; i++) {                                                          \
            T v;                                                                                   \
            memcpy(&v, p + sizeof(T) * (size_t)(off + i), sizeof v);                               \
            mn = v < mn ? v : mn;                                                                  \
            mx = v > mx ? v : mx;                                                                  \
        }                                                                                          \
        return mn >= 0 && (int64_t)mx < dict_len;                                                  \
    } while (0)
static int indices_in_range(const struct ArrowArray *a, es_type_id id, int64_t dict_len)
{
    const uint8_t *p = a->buffers[1];
    int64_t n = a->length, off = a->offset;
    if (n == 0 || (a->null_count != 0 && a->buffers[0]))
        return 0;
    switch (id) {
    case ES_TYPE_INT8:
        INDEX_RANGE(int8_t);
    case ES_TYPE_INT16:
        INDEX_RANGE(int16_t);
    case ES_TYPE_INT32:
        INDEX_RANGE(int32_t);
    default:
        return 0;
    }
}

es_status es_dict_check_indices(const struct ArrowArray *a, const es_type *index, int64_t dict_len,
                                const char *name, es_error *err)
{
    if (index->id < ES_TYPE_INT8 || index->id > ES_TYPE_UINT64)
        return es_error_set(err, ES_INVALID, 0,
                            "field '%s': dictionary index type is not an integer", name);
    if (a->n_buffers != 2 || !a->buffers || (a->length > 0 && !a->buffers[1]))
        return es_error_set(err, ES_INVALID, 0, "field '%s': bad dictionary indices", name);
    const uint8_t *p = a->buffers[1];
    if (indices_in_range(a, index->id, dict_len))
        return ES_OK;
    for (int64_t i = 0; i < a->length; i++) {
        if (!index_valid(a, i))
            continue;
        int64_t k = load_index(p, index->id, a->offset + i);
        if (k < 0 || k >= dict_len)
            return es_error_set(err, ES_INVALID, 0,
                                "field '%s': dictionary index %" PRId64 " at row %" PRId64
                                " outside the dictionary of %" PRId64 " values",
                                name, k, i, dict_len);
    }
    return ES_OK;
}

/* ------------------------------------------------------------ materialise */

typedef struct mat_priv {
    void *bufs[3];
} mat_priv;

static void release_mat(struct ArrowArray *a)
{
    mat_priv *p = a->private_data;
    if (p) {
        for (int i = 0; i < 3; i++)
            es_free(p->bufs[i]);
        es_free(p);
    }
    a->release = NULL;
}

/* The indices of a as int64 in ix[0..length), -1 for a NULL: one loop per index type. */
static void load_indices(int64_t *ix, const struct ArrowArray *a, es_type_id id)
{
    const uint8_t *p = a->buffers[1];
    int64_t n = a->length, off = a->offset;
    if (id == ES_TYPE_INT8) {
        for (int64_t i = 0; i < n; i++)
            ix[i] = ((const int8_t *)p)[off + i];
    } else if (id == ES_TYPE_INT16) {
        for (int64_t i = 0; i < n; i++) {
            int16_t v;
            memcpy(&v, p + 2 * (off + i), 2);
            ix[i] = v;
        }
    } else if (id == ES_TYPE_INT32) {
        for (int64_t i = 0; i < n; i++) {
            int32_t v;
            memcpy(&v, p + 4 * (off + i), 4);
            ix[i] = v;
        }
    } else {
        for (int64_t i = 0; i < n; i++)
            ix[i] = load_index(p, id, off + i);
    }
    for (int64_t i = 0; a->null_count != 0 && a->buffers[0] && i < n; i++)
        if (!index_valid(a, i))
            ix[i] = -1;
}

es_status es_dict_materialize(struct ArrowArray *out, const struct ArrowSchema *field,
                              const struct ArrowArray *a, es_error *err)
{
    memset(out, 0, sizeof *out);
    const char *name = field->name ? field->name : "";
    es_type it, vt;
    es_status st = es_type_parse(&it, field->format, err);
    if (!st && (!field->dictionary || !a->dictionary))
        st = es_error_set(err, ES_INVALID, 0, "field '%s': no dictionary", name);
    if (!st)
        st = es_type_parse(&vt, field->dictionary->format, err);
    if (!st && (vt.id == ES_TYPE_BOOL || vt.id == ES_TYPE_STRUCT || vt.id == ES_TYPE_NA))
        st = es_error_set(err, ES_UNSUPPORTED, 0, "field '%s': dictionary of '%s' is not supported",
                          name, field->dictionary->format);
    if (st)
        return st;
    es_array_view dv;
    st = es_array_view_init(&dv, field->dictionary, a->dictionary, err);
    if (st) {
        es_error_prefix(err, "field '%s': dictionary", name);
        return st;
    }
    st = es_dict_check_indices(a, &it, dv.length, name, err);
    if (st) {
        es_array_view_reset(&dv);
        return st;
    }
    int64_t n = a->length, nulls = 0, bytes = 0;
    int64_t *ix = es_malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
    if (!ix) {
        es_array_view_reset(&dv);
        return es_error_set(err, ES_NOMEM, 0, "field '%s': out of memory decoding a dictionary",
                            name);
    }
    load_indices(ix, a, it.id);
    bool varlen = es_type_is_varlen(vt.id),
         w8 = vt.id == ES_TYPE_LARGE_UTF8 || vt.id == ES_TYPE_LARGE_BINARY,
         dnulls = dv.null_count != 0; /* the dictionary holds a NULL */
    for (int64_t i = 0; i < n; i++) {
        int64_t k = ix[i];
        if (k < 0 || (dnulls && es_view_is_null(&dv, k))) {
            ix[i] = -1;
            nulls++;
            continue;
        }
        if (varlen) {
            bytes += w8 ? dv.offsets64[k + 1] - dv.offsets64[k]
                        : (int64_t)dv.offsets32[k + 1] - dv.offsets32[k];
        }
    }
    if (varlen && !w8 && bytes > INT32_MAX) {
        es_free(ix);
        es_array_view_reset(&dv);
        return es_error_set(err, ES_INVALID, 0, "field '%s': decoded values exceed 2 GiB", name);
    }
    mat_priv *p = es_calloc(1, sizeof *p);
    int ow = w8 ? 8 : 4;
    size_t vb = varlen ? (size_t)(n + 1) * (size_t)ow : (size_t)n * (size_t)vt.byte_width;
    if (p) {
        p->bufs[0] = nulls ? es_calloc((size_t)(n + 7) / 8 + 1, 1) : NULL;
        p->bufs[1] = es_malloc(vb + 8);
        p->bufs[2] = varlen ? es_malloc((size_t)bytes + 8) : NULL;
    }
    if (!p || (nulls && !p->bufs[0]) || !p->bufs[1] || (varlen && !p->bufs[2])) {
        if (p)
            for (int i = 0; i < 3; i++)
                es_free(p->bufs[i]);
        es_free(p);
        es_free(ix);
        es_array_view_reset(&dv);
        return es_error_set(err, ES_NOMEM, 0, "field '%s': out of memory decoding a dictionary",
                            name);
    }
    uint8_t *valid = p->bufs[0], *vals = p->bufs[1], *data = p->bufs[2];
    int64_t pos = 0;
    if (varlen) {
        if (w8)
            memcpy(vals, &pos, 8);
        else
            memset(vals, 0, 4);
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t k = ix[i];
        bool ok = k >= 0;
        if (ok && valid)
            valid[i >> 3] |= (uint8_t)(1u << (i & 7));
        if (varlen) {
            if (ok) {
                int64_t s = w8 ? dv.offsets64[k] : dv.offsets32[k];
                int64_t e = w8 ? dv.offsets64[k + 1] : dv.offsets32[k + 1];
                memcpy(data + pos, dv.values + s, (size_t)(e - s));
                pos += e - s;
            }
            if (w8) {
                memcpy(vals + 8 * (i + 1), &pos, 8);
            } else {
                int32_t p32 = (int32_t)pos;
                memcpy(vals + 4 * (i + 1), &p32, 4);
            }
        } else if (ok) {
            memcpy(vals + i * vt.byte_width, dv.values + k * vt.byte_width, (size_t)vt.byte_width);
        } else {
            memset(vals + i * vt.byte_width, 0, (size_t)vt.byte_width);
        }
    }
    es_free(ix);
    es_array_view_reset(&dv);
    out->length = n;
    out->null_count = nulls;
    out->n_buffers = varlen ? 3 : 2;
    out->buffers = (const void **)p->bufs;
    out->private_data = p;
    out->release = release_mat;
    return ES_OK;
}

/* ------------------------------------------------------------------ delta */

es_status es_dict_concat(struct ArrowArray *out, const struct ArrowSchema *values,
                         const struct ArrowArray *a, const struct ArrowArray *b, const char *name,
                         es_error *err)
{
    memset(out, 0, sizeof *out);
    es_type vt;
    es_status st = es_type_parse(&vt, values->format, err);
    if (!st && (vt.id == ES_TYPE_BOOL || vt.id == ES_TYPE_STRUCT || vt.id == ES_TYPE_NA))
        st = es_error_set(err, ES_UNSUPPORTED, 0, "field '%s': dictionary of '%s' is not supported",
                          name, values->format);
    if (st)
        return st;
    es_array_view v[2];
    st = es_array_view_init(&v[0], values, a, err);
    if (!st) {
        st = es_array_view_init(&v[1], values, b, err);
        if (st)
            es_array_view_reset(&v[0]);
    }
    if (st) {
        es_error_prefix(err, "field '%s': dictionary", name);
        return st;
    }
    bool varlen = es_type_is_varlen(vt.id),
         w8 = vt.id == ES_TYPE_LARGE_UTF8 || vt.id == ES_TYPE_LARGE_BINARY;
    int64_t n = v[0].length + v[1].length, nulls = v[0].null_count + v[1].null_count, bytes = 0;
    for (int h = 0; h < 2 && varlen; h++)
        bytes += w8 ? v[h].offsets64[v[h].length] - v[h].offsets64[0]
                    : (int64_t)v[h].offsets32[v[h].length] - v[h].offsets32[0];
    mat_priv *p = NULL;
    if (varlen && !w8 && bytes > INT32_MAX)
        st = es_error_set(err, ES_INVALID, 0, "field '%s': dictionary exceeds 2 GiB", name);
    else if (!(p = es_calloc(1, sizeof *p)))
        st = es_error_set(err, ES_NOMEM, 0, "field '%s': out of memory growing a dictionary", name);
    size_t ow = w8 ? 8 : 4;
    if (p) {
        p->bufs[0] = nulls ? es_calloc((size_t)(n + 7) / 8 + 1, 1) : NULL;
        p->bufs[1] =
            es_malloc((varlen ? (size_t)(n + 1) * ow : (size_t)n * (size_t)vt.byte_width) + 8);
        p->bufs[2] = varlen ? es_malloc((size_t)bytes + 8) : NULL;
        if ((nulls && !p->bufs[0]) || !p->bufs[1] || (varlen && !p->bufs[2]))
            st = es_error_set(err, ES_NOMEM, 0, "field '%s': out of memory growing a dictionary",
                              name);
    }
    uint8_t *valid = p && !st ? p->bufs[0] : NULL, *vals = p && !st ? p->bufs[1] : NULL,
            *data = p && !st ? p->bufs[2] : NULL;
    int64_t pos = 0, i = 0;
    if (vals && varlen)
        memset(vals, 0, ow);
    for (int h = 0; h < 2 && vals; h++)
        for (int64_t k = 0; k < v[h].length; k++, i++) {
            if (valid && !es_view_is_null(&v[h], k))
                valid[i >> 3] |= (uint8_t)(1u << (i & 7));
            if (!varlen) {
                memcpy(vals + i * vt.byte_width, v[h].values + k * vt.byte_width,
                       (size_t)vt.byte_width);
                continue;
            }
            int64_t len = 0;
            const uint8_t *src = es_view_get_bytes(&v[h], k, &len);
            if (len > 0)
                memcpy(data + pos, src, (size_t)len);
            pos += len;
            if (w8) {
                memcpy(vals + 8 * (i + 1), &pos, 8);
            } else {
                int32_t p32 = (int32_t)pos;
                memcpy(vals + 4 * (i + 1), &p32, 4);
            }
        }
    es_array_view_reset(&v[0]);
    es_array_view_reset(&v[1]);
    if (st) {
        for (int j = 0; p && j < 3; j++)
            es_free(p->bufs[j]);
        es_free(p);
        return st;
    }
    out->length = n;
    out->null_count = nulls;
    out->n_buffers = varlen ? 3 : 2;
    out->buffers = (const void **)p->bufs;
    out->private_data = p;
    out->release = release_mat;
    return ES_OK;
}

/* ------------------------------------------------------ record batches */

/* Replace batch *b (a struct array of `schema`) by one whose dictionary-encoded columns are
 * materialised. */
static es_status decode_batch(struct ArrowArray *b, const struct ArrowSchema *schema, es_error *err)
{
    int64_t n = schema->n_children;
    if (b->n_children != n || (n && !b->children))
        return es_error_set(err, ES_INVALID, 0,
                            "record batch has %" PRId64 " columns, schema %" PRId64, b->n_children,
                            n);
    struct ArrowArray nb;
    if (es_owned_batch_new(&nb, n, b->length))
        return es_error_set(err, ES_NOMEM, 0, "out of memory decoding dictionaries");
    es_owned_array *p = nb.private_data;
    es_status st = ES_OK;
    for (int64_t c = 0; c < n && !st; c++) {
        if (!b->children[c] || !b->children[c]->release)
            st = es_error_set(err, ES_INVALID, 0, "record batch column %" PRId64 " is released", c);
        else if (schema->children[c]->dictionary)
            st = es_dict_materialize(&p->kids[c], schema->children[c], b->children[c], err);
        p->kid_ptrs[c] = p->kids[c].release ? &p->kids[c] : b->children[c];
    }
    if (st) {
        es_owned_array_release(&nb);
        return st;
    }
    p->orig = *b; /* released after the decoded columns, with the columns it keeps */
    nb.offset = b->offset;
    nb.null_count = b->null_count;
    p->ptrs[0] = b->n_buffers > 0 && b->buffers ? b->buffers[0] : NULL;
    *b = nb;
    return ES_OK;
}

es_status es_dict_decode_batches(struct ArrowSchema *out, const struct ArrowSchema *schema,
                                 struct ArrowArray *batches, int64_t n, es_error *err)
{
    memset(out, 0, sizeof *out);
    bool any = false;
    for (int64_t c = 0; schema && c < schema->n_children; c++)
        any = any || (schema->children[c] && schema->children[c]->dictionary);
    if (!any)
        return ES_OK;
    es_status st = es_schema_copy(out, schema, err);
    for (int64_t c = 0; !st && c < out->n_children; c++) {
        struct ArrowSchema *f = out->children[c], *d = f->dictionary;
        if (!d)
            continue;
        /* The field takes the value type (and keeps its name, nullability and metadata). */
        char *fm = es_strdup(d->format);
        if (!fm) {
            st = es_error_set(err, ES_NOMEM, 0, "out of memory decoding dictionaries");
            break;
        }
        es_free((void *)f->format);
        f->format = fm;
        f->flags &= ~(int64_t)ARROW_FLAG_DICTIONARY_ORDERED;
        es_schema_release(d);
        es_free(d);
        f->dictionary = NULL;
    }
    for (int64_t i = 0; !st && i < n; i++)
        st = decode_batch(&batches[i], schema, err);
    if (st)
        es_schema_release(out);
    return st;
}
