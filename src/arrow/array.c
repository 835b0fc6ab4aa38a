/*
 * array: array builders, validated views and C Data/Stream Interface helpers (the Arrow
 * layer, above util; types and schemas are in type.c).
 *
 * Builders. A builder accumulates one array in 64-byte aligned, zero-filled growable buffers
 * (validity bits, values or bits, offsets, data). The validity bitmap is created lazily at the
 * first null, so an array without nulls has a NULL validity buffer. Appends are atomic: every
 * allocation an append needs happens before any state changes, so a failing append (ES_NOMEM)
 * leaves the builder as it was. es_builder_finish also allocates everything first (the output
 * skeleton and the final padded buffer sizes) and only then moves the buffers into the array,
 * so on failure the builder is intact and out->release is NULL.
 *
 * Struct builders (record batches; struct children of structs are not supported) have one child
 * builder per field. es_builder_append_struct appends one valid row; es_builder_append_null on a
 * struct appends null rows to the struct and to every child. Rows the children hold beyond the
 * struct's own row count are valid rows (so appending to the children and never calling
 * es_builder_append_struct builds a record batch without nulls); es_builder_append_null first
 * counts them in, so its null rows land after them.
 *
 * Output arrays: every non-validity buffer is allocated (at least 64 bytes) even when the array
 * is empty, and every buffer is padded with zeros to a multiple of 64 bytes. Varlen arrays always
 * have length + 1 offsets. The null type has no buffers and null_count == length.
 *
 * Views validate an untrusted ArrowArray against its schema (see es_array_view_init) and give
 * bounds-safe accessors taking the view's logical index i. The array offset (plus, for the
 * columns of a sliced struct, the struct's offset) is folded into the view's pointers where
 * bytes allow: fixed-width `values` and `offsets32`/`offsets64` point at the view's element 0
 * (offsets stay absolute positions in the varlen data buffer `values`). Bitmaps cannot be
 * shifted by bits, so `validity` and bool `values` are the raw bitmaps and element i is bit
 * view.offset + i.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/arrow.h"

/* -------------------------------------------------------- aligned buffers */

typedef struct abuf {
    uint8_t *raw;  /* what es_malloc returned */
    uint8_t *data; /* raw rounded up to 64 bytes */
    int64_t len;   /* bytes in use (for bit buffers: unused, the builder length counts bits) */
    int64_t cap;   /* usable bytes at data, a multiple of 64; all bytes past len are zero */
} abuf;

/* Ensure cap >= need. The new space is zero-filled. */
static es_status abuf_reserve(abuf *b, int64_t need)
{
    if (need <= b->cap)
        return ES_OK;
    if (need > (INT64_MAX >> 2))
        return ES_NOMEM;
    int64_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    if ((uint64_t)cap + 63 > SIZE_MAX)
        return ES_NOMEM;
    uint8_t *raw = es_malloc((size_t)cap + 63);
    if (!raw)
        return ES_NOMEM;
    uint8_t *data = (uint8_t *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
    if (b->cap)
        memcpy(data, b->data, (size_t)b->cap);
    memset(data + b->cap, 0, (size_t)(cap - b->cap));
    es_free(b->raw);
    b->raw = raw;
    b->data = data;
    b->cap = cap;
    return ES_OK;
}

static void abuf_free(abuf *b)
{
    es_free(b->raw);
    memset(b, 0, sizeof *b);
}

static inline void set_bit(uint8_t *bits, int64_t i)
{
    bits[i >> 3] |= (uint8_t)(1u << (i & 7));
}

static inline int get_bit(const uint8_t *bits, int64_t i)
{
    return (bits[i >> 3] >> (i & 7)) & 1;
}

int64_t es_arrow_count_set_bits(const uint8_t *bits, int64_t off, int64_t len)
{
    int64_t n = 0, i = off, end = off + len;
    while (i < end && (i & 7))
        n += get_bit(bits, i++);
    while (i + 64 <= end) {
        uint64_t w;
        memcpy(&w, bits + (i >> 3), 8);
        n += __builtin_popcountll(w);
        i += 64;
    }
    while (i + 8 <= end) {
        n += __builtin_popcount(bits[i >> 3]);
        i += 8;
    }
    while (i < end)
        n += get_bit(bits, i++);
    return n;
}

/* --------------------------------------------------------------- builders */

struct es_builder {
    es_type type;
    int64_t length; /* rows (for structs: the struct's own rows) */
    int64_t null_count;
    int has_validity;
    abuf validity;
    abuf values;  /* fixed-width values, bool bits, or varlen data (len = bytes used) */
    abuf offsets; /* varlen offsets (length + 1 entries once allocated) */
    int64_t n_children;
    es_builder **children;
};

static int offset_width(const es_type *t)
{
    return (t->id == ES_TYPE_LARGE_UTF8 || t->id == ES_TYPE_LARGE_BINARY) ? 8 : 4;
}

void es_builder_free(es_builder *b)
{
    if (!b)
        return;
    for (int64_t i = 0; i < b->n_children; i++)
        es_builder_free(b->children[i]);
    es_free(b->children);
    abuf_free(&b->validity);
    abuf_free(&b->values);
    abuf_free(&b->offsets);
    es_free(b);
}

static es_status builder_new(es_builder **out, const struct ArrowSchema *schema, int top,
                             es_error *err)
{
    *out = NULL;
    const char *name = schema && schema->name ? schema->name : "";
    if (!schema || !schema->release)
        return es_error_set(err, ES_INVALID, 0, "builder: schema is NULL or released");
    es_type t;
    es_status st = es_type_parse(&t, schema->format, err);
    if (st) {
        es_error_prefix(err, "field '%s'", name);
        return st;
    }
    if (schema->dictionary)
        return es_error_set(err, ES_UNSUPPORTED, 0,
                            "field '%s': dictionary-encoded '%s' is not supported", name,
                            schema->format);
    if (t.id == ES_TYPE_STRUCT && !top)
        return es_error_set(err, ES_UNSUPPORTED, 0,
                            "field '%s': nested struct '+s' is not supported (only record batches)",
                            name);
    if (t.id != ES_TYPE_STRUCT && schema->n_children != 0)
        return es_error_set(err, ES_INVALID, 0, "field '%s': leaf type '%s' has children", name,
                            schema->format);
    if (schema->n_children < 0 || (schema->n_children > 0 && !schema->children))
        return es_error_set(err, ES_INVALID, 0, "field '%s': bad children", name);
    es_builder *b = es_calloc(1, sizeof *b);
    if (!b)
        return es_error_set(err, ES_NOMEM, 0, "out of memory creating builder for '%s'", name);
    b->type = t;
    if (schema->n_children > 0) {
        b->children = es_calloc((size_t)schema->n_children, sizeof *b->children);
        if (!b->children) {
            es_free(b);
            return es_error_set(err, ES_NOMEM, 0, "out of memory creating builder for '%s'", name);
        }
        for (int64_t i = 0; i < schema->n_children; i++) {
            if (!schema->children[i]) {
                es_builder_free(b);
                return es_error_set(err, ES_INVALID, 0, "field '%s': child %" PRId64 " is NULL",
                                    name, i);
            }
            st = builder_new(&b->children[i], schema->children[i], 0, err);
            if (st) {
                es_builder_free(b);
                return st;
            }
            b->n_children = i + 1;
        }
    }
    *out = b;
    return ES_OK;
}

es_status es_builder_new(es_builder **out, const struct ArrowSchema *schema, es_error *err)
{
    return builder_new(out, schema, 1, err);
}

es_builder *es_builder_child(es_builder *b, int64_t i)
{
    if (!b || i < 0 || i >= b->n_children)
        return NULL;
    return b->children[i];
}

int64_t es_builder_length(const es_builder *b)
{
    if (!b)
        return 0;
    if (b->type.id == ES_TYPE_STRUCT && b->n_children > 0 && b->children[0]->length > b->length)
        return b->children[0]->length;
    return b->length;
}

/* Ensure room for `n` more rows (and `bytes` more varlen data bytes). Materialises the validity
 * bitmap when `nulls` is set. Changes no observable state. */
static es_status reserve_rows(es_builder *b, int64_t n, int64_t bytes, int nulls)
{
    if (n < 0 || bytes < 0 || b->length > INT64_MAX / 2 - n)
        return ES_INVALID;
    int64_t rows = b->length + n;
    es_status st;
    if (b->type.id == ES_TYPE_NA)
        return ES_OK;
    if (nulls && !b->has_validity) {
        st = abuf_reserve(&b->validity, (rows + 7) / 8);
        if (st)
            return st;
        /* All rows so far are valid. */
        memset(b->validity.data, 0xff, (size_t)(b->length / 8));
        for (int64_t i = b->length & ~(int64_t)7; i < b->length; i++)
            set_bit(b->validity.data, i);
        b->has_validity = 1;
    } else if (b->has_validity) {
        st = abuf_reserve(&b->validity, (rows + 7) / 8);
        if (st)
            return st;
    }
    if (b->type.id == ES_TYPE_STRUCT) {
        for (int64_t i = 0; i < b->n_children; i++) {
            st = reserve_rows(b->children[i], n, 0, nulls);
            if (st)
                return st;
        }
        return ES_OK;
    }
    if (b->type.id == ES_TYPE_BOOL)
        return abuf_reserve(&b->values, (rows + 7) / 8);
    if (es_type_is_varlen(b->type.id)) {
        int w = offset_width(&b->type);
        if (bytes > INT64_MAX / 2 - b->values.len)
            return ES_INVALID;
        if (w == 4 && b->values.len + bytes > INT32_MAX)
            return ES_INVALID;
        st = abuf_reserve(&b->offsets, (rows + 1) * w);
        if (st)
            return st;
        return abuf_reserve(&b->values, b->values.len + bytes);
    }
    return abuf_reserve(&b->values, rows * b->type.byte_width);
}

es_status es_builder_reserve(es_builder *b, int64_t additional_rows)
{
    if (!b || additional_rows < 0)
        return ES_INVALID;
    return reserve_rows(b, additional_rows, 0, 0);
}

/* Append n nulls; room was reserved by reserve_rows(b, n, 0, 1). Cannot fail. */
static void append_nulls_reserved(es_builder *b, int64_t n)
{
    if (b->type.id == ES_TYPE_STRUCT) {
        /* A null struct row appends a null to every child. */
        for (int64_t i = 0; i < b->n_children; i++)
            append_nulls_reserved(b->children[i], n);
    } else if (es_type_is_varlen(b->type.id)) {
        int64_t end = b->values.len;
        for (int64_t i = 1; i <= n; i++) {
            if (offset_width(&b->type) == 4)
                ((int32_t *)b->offsets.data)[b->length + i] = (int32_t)end;
            else
                ((int64_t *)b->offsets.data)[b->length + i] = end;
        }
    }
    /* Validity bits stay 0 (zero-filled); values stay zero. */
    b->length += n;
    b->null_count += n;
}

/* Rows the children of a struct hold beyond the struct's own rows become valid struct rows, so
 * that null rows appended next line up with the children's rows. */
static es_status struct_catch_up(es_builder *b)
{
    if (b->type.id != ES_TYPE_STRUCT || b->n_children == 0)
        return ES_OK;
    int64_t len = b->children[0]->length;
    for (int64_t i = 1; i < b->n_children; i++)
        if (b->children[i]->length < len)
            len = b->children[i]->length;
    if (len <= b->length)
        return ES_OK;
    if (b->has_validity) {
        es_status st = abuf_reserve(&b->validity, (len + 7) / 8);
        if (st)
            return st;
        for (int64_t i = b->length; i < len; i++)
            set_bit(b->validity.data, i);
    }
    b->length = len;
    return ES_OK;
}

es_status es_builder_append_null(es_builder *b, int64_t n)
{
    if (!b || n < 0)
        return ES_INVALID;
    if (n == 0)
        return ES_OK;
    es_status st = struct_catch_up(b);
    if (st)
        return st;
    st = reserve_rows(b, n, 0, 1);
    if (st)
        return st;
    append_nulls_reserved(b, n);
    return ES_OK;
}

/* Append one valid fixed-width value of b->type.byte_width bytes. */
static es_status append_fixed(es_builder *b, const void *v)
{
    es_status st = reserve_rows(b, 1, 0, 0);
    if (st)
        return st;
    memcpy(b->values.data + b->length * b->type.byte_width, v, (size_t)b->type.byte_width);
    if (b->has_validity)
        set_bit(b->validity.data, b->length);
    b->length++;
    return ES_OK;
}

static es_status append_bool(es_builder *b, int v)
{
    es_status st = reserve_rows(b, 1, 0, 0);
    if (st)
        return st;
    if (v)
        set_bit(b->values.data, b->length);
    if (b->has_validity)
        set_bit(b->validity.data, b->length);
    b->length++;
    return ES_OK;
}

static es_status append_decimal_i64(es_builder *b, int64_t v)
{
    if (b->type.precision <= 18) {
        int64_t lim = 1;
        for (int i = 0; i < b->type.precision; i++)
            lim *= 10;
        if (v >= lim || v <= -lim)
            return ES_INVALID;
    }
    uint8_t d[16];
    uint64_t lo = (uint64_t)v, hi = v < 0 ? UINT64_MAX : 0;
    memcpy(d, &lo, 8);
    memcpy(d + 8, &hi, 8);
    return append_fixed(b, d);
}

es_status es_builder_append_int(es_builder *b, int64_t v)
{
    if (!b)
        return ES_INVALID;
    switch (b->type.id) {
    case ES_TYPE_BOOL:
        if (v != 0 && v != 1)
            return ES_INVALID;
        return append_bool(b, (int)v);
    case ES_TYPE_INT8: {
        if (v < INT8_MIN || v > INT8_MAX)
            return ES_INVALID;
        int8_t x = (int8_t)v;
        return append_fixed(b, &x);
    }
    case ES_TYPE_INT16: {
        if (v < INT16_MIN || v > INT16_MAX)
            return ES_INVALID;
        int16_t x = (int16_t)v;
        return append_fixed(b, &x);
    }
    case ES_TYPE_INT32:
    case ES_TYPE_DATE32:
    case ES_TYPE_TIME32: {
        if (v < INT32_MIN || v > INT32_MAX)
            return ES_INVALID;
        int32_t x = (int32_t)v;
        return append_fixed(b, &x);
    }
    case ES_TYPE_INT64:
    case ES_TYPE_DATE64:
    case ES_TYPE_TIME64:
    case ES_TYPE_TIMESTAMP:
    case ES_TYPE_DURATION:
        return append_fixed(b, &v);
    case ES_TYPE_UINT8:
    case ES_TYPE_UINT16:
    case ES_TYPE_UINT32:
    case ES_TYPE_UINT64:
        if (v < 0)
            return ES_INVALID;
        return es_builder_append_uint(b, (uint64_t)v);
    case ES_TYPE_FLOAT32:
    case ES_TYPE_FLOAT64:
        return es_builder_append_double(b, (double)v);
    case ES_TYPE_DECIMAL128:
        return append_decimal_i64(b, v);
    default:
        return ES_INVALID;
    }
}

es_status es_builder_append_uint(es_builder *b, uint64_t v)
{
    if (!b)
        return ES_INVALID;
    switch (b->type.id) {
    case ES_TYPE_UINT8: {
        if (v > UINT8_MAX)
            return ES_INVALID;
        uint8_t x = (uint8_t)v;
        return append_fixed(b, &x);
    }
    case ES_TYPE_UINT16: {
        if (v > UINT16_MAX)
            return ES_INVALID;
        uint16_t x = (uint16_t)v;
        return append_fixed(b, &x);
    }
    case ES_TYPE_UINT32: {
        if (v > UINT32_MAX)
            return ES_INVALID;
        uint32_t x = (uint32_t)v;
        return append_fixed(b, &x);
    }
    case ES_TYPE_UINT64:
        return append_fixed(b, &v);
    case ES_TYPE_DECIMAL128:
        if (v > INT64_MAX) {
            if (b->type.precision < 19 || (b->type.precision == 19 && v >= 10000000000000000000ull))
                return ES_INVALID;
            uint8_t d[16] = {0};
            memcpy(d, &v, 8);
            return append_fixed(b, d);
        }
        return append_decimal_i64(b, (int64_t)v);
    case ES_TYPE_FLOAT32:
    case ES_TYPE_FLOAT64:
        return es_builder_append_double(b, (double)v);
    default:
        if (v > INT64_MAX)
            return ES_INVALID;
        return es_builder_append_int(b, (int64_t)v);
    }
}

es_status es_builder_append_double(es_builder *b, double v)
{
    if (!b)
        return ES_INVALID;
    if (b->type.id == ES_TYPE_FLOAT64)
        return append_fixed(b, &v);
    if (b->type.id == ES_TYPE_FLOAT32) {
        float f = (float)v;
        return append_fixed(b, &f);
    }
    return ES_INVALID;
}

es_status es_builder_append_bytes(es_builder *b, const void *data, int64_t len)
{
    if (!b || len < 0 || (len > 0 && !data))
        return ES_INVALID;
    if (b->type.id == ES_TYPE_FIXED_BINARY) {
        if (len != b->type.byte_width)
            return ES_INVALID;
        return append_fixed(b, data);
    }
    if (!es_type_is_varlen(b->type.id))
        return ES_INVALID;
    es_status st = reserve_rows(b, 1, len, 0);
    if (st)
        return st;
    if (len)
        memcpy(b->values.data + b->values.len, data, (size_t)len);
    b->values.len += len;
    if (offset_width(&b->type) == 4)
        ((int32_t *)b->offsets.data)[b->length + 1] = (int32_t)b->values.len;
    else
        ((int64_t *)b->offsets.data)[b->length + 1] = b->values.len;
    if (b->has_validity)
        set_bit(b->validity.data, b->length);
    b->length++;
    return ES_OK;
}

es_status es_builder_append_decimal128(es_builder *b, const uint8_t v[16])
{
    if (!b || !v || b->type.id != ES_TYPE_DECIMAL128)
        return ES_INVALID;
    return append_fixed(b, v);
}

es_status es_builder_append_struct(es_builder *b)
{
    if (!b || b->type.id != ES_TYPE_STRUCT)
        return ES_INVALID;
    for (int64_t i = 0; i < b->n_children; i++)
        if (b->children[i]->length < b->length + 1)
            return ES_INVALID;
    es_status st = b->has_validity ? abuf_reserve(&b->validity, (b->length + 8) / 8) : ES_OK;
    if (st)
        return st;
    if (b->has_validity)
        set_bit(b->validity.data, b->length);
    b->length++;
    return ES_OK;
}

/* ------------------------------------------------------- finishing arrays */

typedef struct array_priv {
    void *raw[3];
    const void *buffers[3];
} array_priv;

static void release_array(struct ArrowArray *a)
{
    if (!a || !a->release)
        return;
    array_priv *p = a->private_data;
    for (int64_t i = 0; i < a->n_children; i++) {
        struct ArrowArray *c = a->children ? a->children[i] : NULL;
        if (c) {
            if (c->release)
                c->release(c);
            es_free(c);
        }
    }
    es_free(a->children);
    if (p) {
        for (int i = 0; i < 3; i++)
            es_free(p->raw[i]);
        es_free(p);
    }
    a->release = NULL;
}

void es_owned_array_release(struct ArrowArray *a)
{
    es_owned_array *p = a->private_data;
    for (int64_t k = 0; p && k < p->n_kids; k++)
        if (p->kids[k].release)
            p->kids[k].release(&p->kids[k]);
    for (int i = 0; p && i < 3; i++)
        es_free(p->buf[i]);
    if (p) {
        es_free(p->kids);
        es_free(p->kid_ptrs);
        if (p->orig.release)
            p->orig.release(&p->orig);
    }
    es_free(p);
    a->release = NULL;
}

es_status es_owned_batch_new(struct ArrowArray *out, int64_t n, int64_t length)
{
    memset(out, 0, sizeof(*out));
    es_owned_array *p = es_calloc(1, sizeof(*p));
    if (!p)
        return ES_NOMEM;
    out->private_data = p;
    out->release = es_owned_array_release;
    p->kids = es_calloc((size_t)(n > 0 ? n : 1), sizeof(*p->kids));
    p->kid_ptrs = es_calloc((size_t)(n > 0 ? n : 1), sizeof(*p->kid_ptrs));
    if (!p->kids || !p->kid_ptrs) {
        es_owned_array_release(out);
        memset(out, 0, sizeof(*out));
        return ES_NOMEM;
    }
    for (int64_t i = 0; i < n; i++)
        p->kid_ptrs[i] = &p->kids[i];
    p->n_kids = n;
    out->length = length;
    out->n_buffers = 1;
    out->buffers = p->ptrs;
    out->n_children = n;
    out->children = p->kid_ptrs;
    return ES_OK;
}

/* Final row count of a builder, checking struct children agree. */
static es_status final_length(es_builder *b, int64_t *len, es_error *err)
{
    if (b->type.id != ES_TYPE_STRUCT || b->n_children == 0) {
        *len = b->length;
        return ES_OK;
    }
    int64_t n = b->children[0]->length;
    for (int64_t i = 1; i < b->n_children; i++)
        if (b->children[i]->length != n)
            return es_error_set(err, ES_INVALID, 0,
                                "struct builder: child %" PRId64 " has %" PRId64
                                " rows, child 0 has %" PRId64,
                                i, b->children[i]->length, n);
    if (b->length > n)
        return es_error_set(err, ES_INVALID, 0,
                            "struct builder: %" PRId64 " struct rows but children have %" PRId64,
                            b->length, n);
    *len = n;
    return ES_OK;
}

/* Phase 1: allocate the skeleton of `a` (private data, children) and grow the builder's buffers
 * to their final padded sizes. On failure the caller releases `a` (release is set early). */
static es_status finish_prepare(es_builder *b, struct ArrowArray *a)
{
    int64_t len = 0;
    es_status st = final_length(b, &len, NULL);
    if (st)
        return st;
    memset(a, 0, sizeof *a);
    array_priv *p = es_calloc(1, sizeof *p);
    if (!p)
        return ES_NOMEM;
    a->private_data = p;
    a->release = release_array;
    if (b->n_children > 0) {
        a->children = es_calloc((size_t)b->n_children, sizeof *a->children);
        if (!a->children)
            return ES_NOMEM;
        a->n_children = b->n_children;
        for (int64_t i = 0; i < b->n_children; i++) {
            a->children[i] = es_calloc(1, sizeof **a->children);
            if (!a->children[i])
                return ES_NOMEM;
            st = finish_prepare(b->children[i], a->children[i]);
            if (st)
                return st;
        }
    }
    if (b->type.id == ES_TYPE_NA)
        return ES_OK;
    if (b->has_validity && b->null_count > 0) {
        st = abuf_reserve(&b->validity, es_align_up((len + 7) / 8, 64));
        if (st)
            return st;
    }
    if (b->type.id == ES_TYPE_STRUCT)
        return ES_OK;
    int64_t need;
    if (b->type.id == ES_TYPE_BOOL)
        need = (len + 7) / 8;
    else if (es_type_is_varlen(b->type.id)) {
        st = abuf_reserve(&b->offsets, es_align_up((len + 1) * offset_width(&b->type), 64));
        if (st)
            return st;
        need = b->values.len;
    } else
        need = len * b->type.byte_width;
    return abuf_reserve(&b->values, es_align_up(need > 0 ? need : 1, 64));
}

static void reset_builder(es_builder *b)
{
    abuf_free(&b->validity);
    abuf_free(&b->values);
    abuf_free(&b->offsets);
    b->length = 0;
    b->null_count = 0;
    b->has_validity = 0;
}

/* Phase 2: move the buffers into `a` (prepared by finish_prepare). Cannot fail. */
static void finish_move(es_builder *b, struct ArrowArray *a)
{
    array_priv *p = a->private_data;
    int64_t len = 0;
    (void)final_length(b, &len, NULL);
    for (int64_t i = 0; i < b->n_children; i++)
        finish_move(b->children[i], a->children[i]);
    a->length = len;
    a->offset = 0;
    a->buffers = p->buffers;
    if (b->type.id == ES_TYPE_NA) {
        a->null_count = len;
        a->n_buffers = 0;
        reset_builder(b);
        return;
    }
    if (b->has_validity && b->null_count > 0) {
        /* Struct rows the children hold beyond the struct's own rows are valid. */
        for (int64_t i = b->length; i < len; i++)
            set_bit(b->validity.data, i);
        p->raw[0] = b->validity.raw;
        p->buffers[0] = b->validity.data;
        b->validity.raw = NULL;
    }
    a->null_count = b->null_count;
    if (b->type.id == ES_TYPE_STRUCT) {
        a->n_buffers = 1;
    } else if (es_type_is_varlen(b->type.id)) {
        a->n_buffers = 3;
        p->raw[1] = b->offsets.raw;
        p->buffers[1] = b->offsets.data;
        p->raw[2] = b->values.raw;
        p->buffers[2] = b->values.data;
        b->offsets.raw = NULL;
        b->values.raw = NULL;
    } else {
        a->n_buffers = 2;
        p->raw[1] = b->values.raw;
        p->buffers[1] = b->values.data;
        b->values.raw = NULL;
    }
    reset_builder(b);
}

es_status es_builder_finish(es_builder *b, struct ArrowArray *out, es_error *err)
{
    memset(out, 0, sizeof *out);
    if (!b)
        return es_error_set(err, ES_INVALID, 0, "builder is NULL");
    int64_t len = 0;
    es_status st = final_length(b, &len, err);
    if (st)
        return st;
    st = finish_prepare(b, out);
    if (st) {
        release_array(out);
        memset(out, 0, sizeof *out);
        return es_error_set(err, st, 0, "out of memory finishing a %" PRId64 "-row array", len);
    }
    finish_move(b, out);
    return ES_OK;
}

/* ------------------------------------------------------------------ views */

static const uint8_t empty_bytes[8];

static es_status view_leaf(es_array_view *v, const struct ArrowSchema *schema,
                           const struct ArrowArray *a, int64_t off, int64_t len, int whole,
                           es_error *err);

/* Validate validity and null_count of `a` viewed over [off, off+len). */
static es_status view_validity(es_array_view *v, const struct ArrowArray *a, int64_t off,
                               int64_t len, int whole, const char *name, es_error *err)
{
    const uint8_t *bits = a->buffers[0];
    if (a->null_count < -1 || a->null_count > a->length)
        return es_error_set(err, ES_INVALID, 0, "field '%s': bad null_count %" PRId64, name,
                            a->null_count);
    if (!bits) {
        if (a->null_count > 0)
            return es_error_set(err, ES_INVALID, 0,
                                "field '%s': null_count %" PRId64 " but no validity buffer", name,
                                a->null_count);
        v->null_count = 0;
        v->validity = NULL;
        return ES_OK;
    }
    int64_t nulls = len - es_arrow_count_set_bits(bits, off, len);
    if (whole && a->null_count >= 0 && a->null_count != nulls)
        return es_error_set(err, ES_INVALID, 0,
                            "field '%s': null_count %" PRId64
                            " but the validity bitmap has %" PRId64 " nulls",
                            name, a->null_count, nulls);
    v->null_count = nulls;
    v->validity = nulls ? bits : NULL;
    return ES_OK;
}

static es_status view_leaf(es_array_view *v, const struct ArrowSchema *schema,
                           const struct ArrowArray *a, int64_t off, int64_t len, int whole,
                           es_error *err)
{
    const char *name = schema->name ? schema->name : "";
    es_status st = es_type_parse(&v->type, schema->format, err);
    if (st) {
        es_error_prefix(err, "field '%s'", name);
        return st;
    }
    if (v->type.id == ES_TYPE_STRUCT)
        return es_error_set(err, ES_UNSUPPORTED, 0,
                            "field '%s': nested struct '+s' is not supported", name);
    if (schema->dictionary || a->dictionary)
        return es_error_set(err, ES_UNSUPPORTED, 0,
                            "field '%s': dictionary-encoded '%s' is not supported", name,
                            schema->format);
    if (a->n_children != 0 || schema->n_children != 0)
        return es_error_set(err, ES_INVALID, 0, "field '%s': leaf array has children", name);
    int nb = es_arrow_n_buffers(&v->type);
    if (a->n_buffers != nb)
        return es_error_set(err, ES_INVALID, 0,
                            "field '%s': %" PRId64 " buffers, type %s expects %d", name,
                            a->n_buffers, schema->format, nb);
    if (nb > 0 && !a->buffers)
        return es_error_set(err, ES_INVALID, 0, "field '%s': buffers array is NULL", name);
    v->length = len;
    v->offset = off;
    if (v->type.id == ES_TYPE_NA) {
        v->null_count = len;
        return ES_OK;
    }
    st = view_validity(v, a, off, len, whole, name, err);
    if (st)
        return st;
    if (es_type_is_varlen(v->type.id)) {
        const void *ob = a->buffers[1];
        if (len == 0) {
            /* Nothing is read through these: point them at zeros. */
            v->values = a->buffers[2] ? a->buffers[2] : empty_bytes;
            if (v->type.id == ES_TYPE_UTF8 || v->type.id == ES_TYPE_BINARY)
                v->offsets32 = (const void *)empty_bytes;
            else
                v->offsets64 = (const void *)empty_bytes;
            if (!ob)
                v->offset = 0; /* empty_bytes holds one zero offset */
            return ES_OK;
        }
        if (!ob)
            return es_error_set(err, ES_INVALID, 0, "field '%s': offsets buffer is NULL", name);
        int64_t first, last, prev;
        if (v->type.id == ES_TYPE_UTF8 || v->type.id == ES_TYPE_BINARY) {
            const int32_t *o = ob;
            prev = first = o[off];
            for (int64_t i = off + 1; i <= off + len; i++) {
                if (o[i] < prev)
                    return es_error_set(err, ES_INVALID, 0,
                                        "field '%s': offsets decrease at index %" PRId64
                                        " (%" PRId32 " < %" PRId64 ")",
                                        name, i, o[i], prev);
                prev = o[i];
            }
            v->offsets32 = o + off;
        } else {
            const int64_t *o = ob;
            prev = first = o[off];
            for (int64_t i = off + 1; i <= off + len; i++) {
                if (o[i] < prev)
                    return es_error_set(err, ES_INVALID, 0,
                                        "field '%s': offsets decrease at index %" PRId64
                                        " (%" PRId64 " < %" PRId64 ")",
                                        name, i, o[i], prev);
                prev = o[i];
            }
            v->offsets64 = o + off;
        }
        last = prev;
        if (first < 0)
            return es_error_set(err, ES_INVALID, 0, "field '%s': negative offset %" PRId64, name,
                                first);
        if (!a->buffers[2]) {
            if (last != first)
                return es_error_set(err, ES_INVALID, 0,
                                    "field '%s': data buffer is NULL but offsets span %" PRId64
                                    " bytes",
                                    name, last - first);
            /* Every value is empty, so es_view_get_bytes never adds an offset to this. */
            v->values = empty_bytes;
        } else {
            v->values = a->buffers[2];
        }
        return ES_OK;
    }
    /* bool and fixed width */
    if (!a->buffers[1]) {
        if (len != 0)
            return es_error_set(err, ES_INVALID, 0, "field '%s': values buffer is NULL", name);
        v->values = empty_bytes;
        v->offset = 0;
        return ES_OK;
    }
    v->values = a->buffers[1];
    if (v->type.id != ES_TYPE_BOOL && len > 0)
        v->values += off * v->type.byte_width; /* bitmaps keep the bit offset instead */
    return ES_OK;
}

static es_status check_array_header(const struct ArrowArray *a, const char *name, es_error *err)
{
    if (!a || !a->release)
        return es_error_set(err, ES_INVALID, 0, "field '%s': array is NULL or released", name);
    if (a->length < 0 || a->offset < 0 || a->offset > INT64_MAX / 2 - a->length)
        return es_error_set(err, ES_INVALID, 0,
                            "field '%s': bad offset %" PRId64 " or length %" PRId64, name,
                            a->offset, a->length);
    if (a->n_buffers < 0 || a->n_children < 0)
        return es_error_set(err, ES_INVALID, 0, "field '%s': negative buffer or child count", name);
    return ES_OK;
}

es_status es_array_view_init(es_array_view *v, const struct ArrowSchema *schema,
                             const struct ArrowArray *array, es_error *err)
{
    memset(v, 0, sizeof *v);
    if (!schema || !schema->release || !schema->format)
        return es_error_set(err, ES_INVALID, 0, "array view: schema is NULL or released");
    const char *name = schema->name ? schema->name : "";
    es_status st = check_array_header(array, name, err);
    if (st)
        return st;
    es_type t;
    st = es_type_parse(&t, schema->format, err);
    if (st) {
        es_error_prefix(err, "field '%s'", name);
        return st;
    }
    if (t.id != ES_TYPE_STRUCT)
        return view_leaf(v, schema, array, array->offset, array->length, 1, err);

    v->type = t;
    v->length = array->length;
    v->offset = array->offset;
    if (schema->dictionary || array->dictionary)
        return es_error_set(err, ES_UNSUPPORTED, 0, "struct '%s': dictionary is not supported",
                            name);
    if (array->n_buffers != 1 || !array->buffers)
        return es_error_set(err, ES_INVALID, 0,
                            "struct '%s': %" PRId64 " buffers, struct expects 1", name,
                            array->n_buffers);
    if (schema->n_children < 0 || (schema->n_children > 0 && !schema->children))
        return es_error_set(err, ES_INVALID, 0, "struct '%s': bad schema children", name);
    if (array->n_children != schema->n_children || (array->n_children > 0 && !array->children))
        return es_error_set(err, ES_INVALID, 0,
                            "struct '%s': array has %" PRId64 " children, schema has %" PRId64,
                            name, array->n_children, schema->n_children);
    st = view_validity(v, array, array->offset, array->length, 1, name, err);
    if (st)
        return st;
    if (array->n_children > 0) {
        v->children = es_calloc((size_t)array->n_children, sizeof *v->children);
        if (!v->children)
            return es_error_set(err, ES_NOMEM, 0, "out of memory viewing struct '%s'", name);
    }
    v->n_children = array->n_children;
    for (int64_t i = 0; i < array->n_children; i++) {
        const struct ArrowSchema *cs = schema->children[i];
        const struct ArrowArray *ca = array->children[i];
        if (!cs || !cs->format) {
            es_array_view_reset(v);
            return es_error_set(err, ES_INVALID, 0, "struct '%s': child schema %" PRId64 " is NULL",
                                name, i);
        }
        const char *cname = cs->name ? cs->name : "";
        st = check_array_header(ca, cname, err);
        if (!st && ca->length < array->offset + array->length)
            st = es_error_set(err, ES_INVALID, 0,
                              "field '%s': child length %" PRId64
                              " shorter than struct offset + length %" PRId64,
                              cname, ca->length, array->offset + array->length);
        if (!st)
            st = view_leaf(&v->children[i], cs, ca, ca->offset + array->offset, array->length,
                           array->offset == 0 && array->length == ca->length, err);
        if (st) {
            es_array_view_reset(v);
            return st;
        }
    }
    return ES_OK;
}

void es_array_view_reset(es_array_view *v)
{
    if (!v)
        return;
    es_free(v->children);
    memset(v, 0, sizeof *v);
}

bool es_view_is_null(const es_array_view *v, int64_t i)
{
    if (v->type.id == ES_TYPE_NA)
        return true;
    if (!v->validity)
        return false;
    return !get_bit(v->validity, v->offset + i);
}

static int64_t load_signed(const es_array_view *v, int64_t i)
{
    const uint8_t *p = v->values + i * v->type.byte_width;
    switch (v->type.byte_width) {
    case 1:
        return (int8_t)p[0];
    case 2: {
        int16_t x;
        memcpy(&x, p, 2);
        return x;
    }
    case 4: {
        int32_t x;
        memcpy(&x, p, 4);
        return x;
    }
    default: {
        int64_t x;
        memcpy(&x, p, 8);
        return x;
    }
    }
}

static uint64_t load_unsigned(const es_array_view *v, int64_t i)
{
    const uint8_t *p = v->values + i * v->type.byte_width;
    switch (v->type.byte_width) {
    case 1:
        return p[0];
    case 2: {
        uint16_t x;
        memcpy(&x, p, 2);
        return x;
    }
    case 4: {
        uint32_t x;
        memcpy(&x, p, 4);
        return x;
    }
    default: {
        uint64_t x;
        memcpy(&x, p, 8);
        return x;
    }
    }
}

int64_t es_view_get_int(const es_array_view *v, int64_t i)
{
    switch (v->type.id) {
    case ES_TYPE_BOOL:
        return get_bit(v->values, v->offset + i);
    case ES_TYPE_INT8:
    case ES_TYPE_INT16:
    case ES_TYPE_INT32:
    case ES_TYPE_INT64:
    case ES_TYPE_DATE32:
    case ES_TYPE_DATE64:
    case ES_TYPE_TIME32:
    case ES_TYPE_TIME64:
    case ES_TYPE_TIMESTAMP:
    case ES_TYPE_DURATION:
        return load_signed(v, i);
    case ES_TYPE_UINT8:
    case ES_TYPE_UINT16:
    case ES_TYPE_UINT32:
    case ES_TYPE_UINT64:
        return (int64_t)load_unsigned(v, i);
    case ES_TYPE_DECIMAL128: {
        int64_t x;
        memcpy(&x, v->values + i * 16, 8);
        return x;
    }
    case ES_TYPE_FLOAT32:
    case ES_TYPE_FLOAT64: {
        double d = es_view_get_double(v, i);
        if (d != d)
            return 0;
        if (d >= 9223372036854775807.0)
            return INT64_MAX;
        if (d <= -9223372036854775808.0)
            return INT64_MIN;
        return (int64_t)d;
    }
    default:
        return 0;
    }
}

uint64_t es_view_get_uint(const es_array_view *v, int64_t i)
{
    switch (v->type.id) {
    case ES_TYPE_UINT8:
    case ES_TYPE_UINT16:
    case ES_TYPE_UINT32:
    case ES_TYPE_UINT64:
        return load_unsigned(v, i);
    default:
        return (uint64_t)es_view_get_int(v, i);
    }
}

double es_view_get_double(const es_array_view *v, int64_t i)
{
    switch (v->type.id) {
    case ES_TYPE_FLOAT32: {
        float f;
        memcpy(&f, v->values + i * 4, 4);
        return f;
    }
    case ES_TYPE_FLOAT64: {
        double d;
        memcpy(&d, v->values + i * 8, 8);
        return d;
    }
    case ES_TYPE_UINT8:
    case ES_TYPE_UINT16:
    case ES_TYPE_UINT32:
    case ES_TYPE_UINT64:
        return (double)load_unsigned(v, i);
    case ES_TYPE_DECIMAL128: {
        const uint8_t *p = v->values + i * 16;
        uint64_t lo, hi;
        memcpy(&lo, p, 8);
        memcpy(&hi, p + 8, 8);
        int neg = (int64_t)hi < 0;
        if (neg) {
            /* Two's complement negation of the 128-bit value. */
            lo = ~lo + 1;
            hi = ~hi + (lo == 0);
        }
        double d = (double)hi * 18446744073709551616.0 + (double)lo;
        d /= pow(10.0, v->type.scale);
        return neg ? -d : d;
    }
    default:
        return (double)es_view_get_int(v, i);
    }
}

const uint8_t *es_view_get_bytes(const es_array_view *v, int64_t i, int64_t *len)
{
    switch (v->type.id) {
    case ES_TYPE_UTF8:
    case ES_TYPE_BINARY: {
        int64_t s = v->offsets32[i], e = v->offsets32[i + 1];
        *len = e - s;
        return *len ? v->values + s : empty_bytes;
    }
    case ES_TYPE_LARGE_UTF8:
    case ES_TYPE_LARGE_BINARY: {
        int64_t s = v->offsets64[i], e = v->offsets64[i + 1];
        *len = e - s;
        return *len ? v->values + s : empty_bytes;
    }
    case ES_TYPE_NA:
    case ES_TYPE_BOOL:
    case ES_TYPE_STRUCT:
        *len = 0;
        return empty_bytes;
    default:
        *len = v->type.byte_width;
        return v->values + i * v->type.byte_width;
    }
}

/* ------------------------------------------------------ releasing helpers */

void es_array_release(struct ArrowArray *a)
{
    if (a && a->release)
        a->release(a);
}

void es_stream_release(struct ArrowArrayStream *s)
{
    if (s && s->release)
        s->release(s);
}

/* ---------------------------------------------------- stream over batches */

typedef struct batch_stream {
    struct ArrowSchema schema;
    struct ArrowArray *batches;
    int64_t n, next;
    char error[512];
} batch_stream;

static int batch_stream_get_schema(struct ArrowArrayStream *s, struct ArrowSchema *out)
{
    batch_stream *bs = s->private_data;
    es_error err;
    if (es_schema_copy(out, &bs->schema, &err) != ES_OK) {
        snprintf(bs->error, sizeof bs->error, "%s", err.msg);
        return ENOMEM;
    }
    return 0;
}

static int batch_stream_get_next(struct ArrowArrayStream *s, struct ArrowArray *out)
{
    batch_stream *bs = s->private_data;
    if (bs->next >= bs->n) {
        memset(out, 0, sizeof *out);
        return 0;
    }
    *out = bs->batches[bs->next];
    bs->batches[bs->next].release = NULL;
    bs->next++;
    return 0;
}

static const char *batch_stream_get_last_error(struct ArrowArrayStream *s)
{
    batch_stream *bs = s->private_data;
    return bs->error[0] ? bs->error : NULL;
}

static void batch_stream_release(struct ArrowArrayStream *s)
{
    if (!s || !s->release)
        return;
    batch_stream *bs = s->private_data;
    for (int64_t i = bs->next; i < bs->n; i++)
        es_array_release(&bs->batches[i]);
    es_free(bs->batches);
    es_schema_release(&bs->schema);
    es_free(bs);
    s->release = NULL;
}

es_status es_stream_from_batches(struct ArrowArrayStream *out, const struct ArrowSchema *schema,
                                 struct ArrowArray *batches, int64_t n, es_error *err)
{
    memset(out, 0, sizeof *out);
    if (n < 0 || (n > 0 && !batches))
        return es_error_set(err, ES_INVALID, 0, "stream: bad batch list (%" PRId64 ")", n);
    batch_stream *bs = es_calloc(1, sizeof *bs);
    if (!bs)
        return es_error_set(err, ES_NOMEM, 0, "out of memory creating a batch stream");
    bs->batches = es_calloc((size_t)(n ? n : 1), sizeof *bs->batches);
    if (!bs->batches) {
        es_free(bs);
        return es_error_set(err, ES_NOMEM, 0, "out of memory creating a batch stream");
    }
    es_status st = es_schema_copy(&bs->schema, schema, err);
    if (st) {
        es_free(bs->batches);
        es_free(bs);
        return st;
    }
    /* Only now, with nothing left to fail, take ownership of the batches. */
    for (int64_t i = 0; i < n; i++) {
        bs->batches[i] = batches[i];
        batches[i].release = NULL;
    }
    bs->n = n;
    out->get_schema = batch_stream_get_schema;
    out->get_next = batch_stream_get_next;
    out->get_last_error = batch_stream_get_last_error;
    out->release = batch_stream_release;
    out->private_data = bs;
    return ES_OK;
}
