/*
 * evolve: reading parts written under an older definition of their table (evolve.h). The
 * .data files of a part name their columns c<id> and keep the types they were written with;
 * the log knows those types per part (es_part_meta.cols). This file holds what turns such a
 * part into the table's current columns: the widenings allowed and how values and statistics
 * convert, columns filled with their initial default, and the adaptation of a decoded batch
 * (cast children, appended default children) that scan.c applies to parts that need it.
 */
#include <stdio.h>

#include "arrow/arrow.h"
#include "table/evolve.h"

/* ----------------------------------------------------------- widenings */

static int int_bits(es_type_id id, int *is_unsigned)
{
    *is_unsigned =
        id == ES_TYPE_UINT8 || id == ES_TYPE_UINT16 || id == ES_TYPE_UINT32 || id == ES_TYPE_UINT64;
    switch (id) {
    case ES_TYPE_INT8:
    case ES_TYPE_UINT8:
        return 8;
    case ES_TYPE_INT16:
    case ES_TYPE_UINT16:
        return 16;
    case ES_TYPE_INT32:
    case ES_TYPE_UINT32:
        return 32;
    case ES_TYPE_INT64:
    case ES_TYPE_UINT64:
        return 64;
    default:
        return 0;
    }
}

static int is_date(es_type_id id)
{
    return id == ES_TYPE_DATE32 || id == ES_TYPE_DATE64;
}

/* A date value in `from` units as a timestamp in `to`'s unit: v * mul / div. */
static void date_scale(const es_type *from, const es_type *to, int64_t *mul, int64_t *div)
{
    static const int64_t per_second[] = {1, 1000, 1000000, 1000000000};
    int64_t unit = per_second[to->unit];
    if (from->id == ES_TYPE_DATE32) {
        *mul = 86400 * unit;
        *div = 1;
    } else { /* milliseconds */
        *mul = unit >= 1000 ? unit / 1000 : 1;
        *div = unit >= 1000 ? 1 : 1000;
    }
}

int es_type_widens(const es_type *from, const es_type *to, char *why, size_t cap)
{
    int fu, tu;
    int fb = int_bits(from->id, &fu), tb = int_bits(to->id, &tu);
    if (fb && tb) {
        if (tb > fb && (fu || !tu))
            return 1;
        snprintf(why, cap, "%s",
                 tb <= fb ? "an integer column only widens to a larger integer"
                          : "a signed integer cannot become unsigned");
        return 0;
    }
    if (to->id == ES_TYPE_FLOAT64 && (from->id == ES_TYPE_FLOAT32 || (fb && fb <= 32)))
        return 1;
    if (to->id == ES_TYPE_FLOAT64 && fb) {
        snprintf(why, cap, "64-bit integers do not convert to double exactly");
        return 0;
    }
    if (from->id == ES_TYPE_DECIMAL128 && to->id == ES_TYPE_DECIMAL128) {
        if (to->scale == from->scale && to->precision > from->precision)
            return 1;
        snprintf(why, cap, "a decimal only widens to a larger precision at the same scale");
        return 0;
    }
    if (is_date(from->id) && to->id == ES_TYPE_TIMESTAMP) {
        if (!to->tz[0] && (from->id == ES_TYPE_DATE32 || to->unit != ES_SECOND))
            return 1;
        snprintf(why, cap, "a date only widens to a timestamp without time zone%s",
                 from->id == ES_TYPE_DATE64 ? " of milliseconds or finer" : "");
        return 0;
    }
    snprintf(why, cap,
             "not a widening (integers to wider integers or double, float to double, "
             "decimal to a larger precision at the same scale, date to timestamp)");
    return 0;
}

/* Value v (domain of `from`) in the domain of `to`. 0 when it does not fit (a date far out of
 * a timestamp's range). */
static int widen_scalar(es_scalar *v, const es_type *from, const es_type *to)
{
    es_domain fd = es_expr_domain(from->id), td = es_expr_domain(to->id);
    if (td == ES_DOM_DOUBLE && fd == ES_DOM_INT)
        v->d = (double)v->i;
    else if (td == ES_DOM_DOUBLE && fd == ES_DOM_UINT)
        v->d = (double)v->u;
    else if (td == ES_DOM_INT && fd == ES_DOM_UINT)
        v->i = (int64_t)v->u;
    else if (is_date(from->id) && to->id == ES_TYPE_TIMESTAMP) {
        int64_t mul, div;
        date_scale(from, to, &mul, &div);
        if (v->i > INT64_MAX / mul || v->i < INT64_MIN / mul)
            return 0;
        v->i = v->i * mul / div;
    }
    return 1;
}

void es_pred_stats_widen(es_pred_stats *ps, const es_type *from, const es_type *to)
{
    if (!ps->known)
        return;
    if ((ps->has_min && !widen_scalar(&ps->min, from, to)) ||
        (ps->has_max && !widen_scalar(&ps->max, from, to)))
        ps->known = 0; /* never prune on what cannot be converted */
}

/* ------------------------------------------------------------ defaults */

void es_default_to_pred(es_pred_stats *out, const es_column *c, int64_t rows)
{
    memset(out, 0, sizeof(*out));
    out->known = 1;
    out->rows = rows;
    if (!c->def) {
        out->null_count = rows;
        return;
    }
    es_domain dom = es_expr_domain(c->type.id);
    es_colstat_scalar(&out->min, dom, c->def, (int)c->def_len);
    out->max = out->min;
    out->has_min = out->has_max = 1;
}

void es_part_stats_to_pred(es_pred_stats *ps, const es_tabledef *t, const es_part_meta *m,
                           const uint8_t *need)
{
    for (int64_t c = 0; c < t->n_cols; c++) {
        ps[c].known = 0;
        if (!need || need[c])
            es_default_to_pred(&ps[c], &t->cols[c], m->rows); /* unless the part has c */
    }
    for (int64_t k = 0; k < m->n_cols; k++) {
        int64_t c = 0;
        while (c < t->n_cols && t->cols[c].id != m->col_ids[k])
            c++;
        if (c == t->n_cols || (need && !need[c]))
            continue;
        /* A part not yet resolved against its table (a manifest's summary, a part loaded from
         * a manifest) was written in the table's types. */
        const es_type *ty = m->cols && m->cols[k].format[0] ? &m->cols[k].type : &t->cols[c].type;
        es_colstat_to_pred(&ps[c], &m->stats[k], es_expr_domain(ty->id), m->rows);
        es_pred_stats_widen(&ps[c], ty, &t->cols[c].type);
    }
}

es_status es_column_append_default(es_builder *b, const es_column *c, int64_t n)
{
    if (!c->def)
        return es_builder_append_null(b, n);
    es_domain dom = es_expr_domain(c->type.id);
    es_scalar v;
    es_colstat_scalar(&v, dom, c->def, (int)c->def_len);
    es_status st = es_builder_reserve(b, n);
    for (int64_t i = 0; i < n && !st; i++) {
        switch (dom) {
        case ES_DOM_INT:
            st = es_builder_append_int(b, v.i);
            break;
        case ES_DOM_UINT:
            st = es_builder_append_uint(b, v.u);
            break;
        case ES_DOM_DOUBLE:
            st = es_builder_append_double(b, v.d);
            break;
        case ES_DOM_DEC:
            st = es_builder_append_decimal128(b, c->def);
            break;
        default:
            st = es_builder_append_bytes(b, c->def, c->def_len);
            break;
        }
    }
    return st;
}

static es_status encode_default(uint8_t **def, int64_t *len, es_domain dom, const es_scalar *v,
                                es_error *err)
{
    int64_t n = dom == ES_DOM_DEC ? 16 : dom == ES_DOM_BYTES ? v->len : 8;
    if (n > ES_DEFAULT_MAX)
        return es_error_set(err, ES_INVALID, 0, "a default is at most %d bytes", ES_DEFAULT_MAX);
    *def = es_malloc((size_t)(n > 0 ? n : 1));
    if (!*def)
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    *len = n;
    if (dom == ES_DOM_INT) {
        es_store_u64(*def, (uint64_t)v->i);
    } else if (dom == ES_DOM_UINT) {
        es_store_u64(*def, v->u);
    } else if (dom == ES_DOM_DOUBLE) {
        uint64_t bits;
        memcpy(&bits, &v->d, 8);
        es_store_u64(*def, bits);
    } else if (n > 0) {
        memcpy(*def, v->p, (size_t)n);
    }
    return ES_OK;
}

es_status es_default_encode(uint8_t **def, int64_t *len, const es_array_view *v, const es_type *t,
                            es_error *err)
{
    *def = NULL;
    *len = 0;
    if (v->length < 1 || es_view_is_null(v, 0))
        return ES_OK;
    es_domain dom = es_expr_domain(t->id);
    es_scalar sc;
    memset(&sc, 0, sizeof(sc));
    es_scalar_from_view(&sc, dom, v, 0);
    return encode_default(def, len, dom, &sc, err);
}

es_status es_default_widen(es_column *c, const es_type *to, es_error *err)
{
    if (!c->def)
        return ES_OK;
    es_domain dom = es_expr_domain(c->type.id);
    es_scalar v;
    es_colstat_scalar(&v, dom, c->def, (int)c->def_len);
    uint8_t *def = NULL;
    int64_t len = 0;
    if (!widen_scalar(&v, &c->type, to))
        return es_error_set(err, ES_INVALID, 0,
                            "column '%s': its default does not fit the new type", c->name);
    es_status st = encode_default(&def, &len, es_expr_domain(to->id), &v, err);
    if (st)
        return st;
    es_free(c->def);
    c->def = def;
    c->def_len = len;
    return ES_OK;
}

int es_default_fits(const es_column *c)
{
    if (!c->def)
        return 1;
    int64_t n = c->def_len;
    int is_unsigned, bits = int_bits(c->type.id, &is_unsigned);
    switch (es_expr_domain(c->type.id)) {
    case ES_DOM_INT: {
        if (n != 8)
            return 0;
        int64_t v = (int64_t)es_load_u64(c->def);
        if (c->type.id == ES_TYPE_BOOL)
            return v == 0 || v == 1;
        if (c->type.id == ES_TYPE_DATE32 || c->type.id == ES_TYPE_TIME32)
            bits = 32;
        return bits == 0 || bits == 64 ||
               (v >= -(INT64_C(1) << (bits - 1)) && v < INT64_C(1) << (bits - 1));
    }
    case ES_DOM_UINT:
        return n == 8 && (bits == 64 || es_load_u64(c->def) < UINT64_C(1) << bits);
    case ES_DOM_DOUBLE:
        return n == 8;
    case ES_DOM_DEC:
        return n == 16;
    case ES_DOM_BYTES:
        return c->type.id == ES_TYPE_FIXED_BINARY ? n == c->type.byte_width
                                                  : n >= 0 && n <= ES_DEFAULT_MAX;
    default:
        return 0; /* a column of the null type has no default */
    }
}

/* ------------------------------------------------------------ batches */

typedef struct evolved {
    struct ArrowArray *kids;
    struct ArrowArray **ptrs;
    int64_t n;
    const void *validity[1];
} evolved;

static void release_evolved(struct ArrowArray *a)
{
    evolved *p = a->private_data;
    for (int64_t k = 0; p && k < p->n; k++)
        if (p->kids[k].release)
            p->kids[k].release(&p->kids[k]);
    if (p) {
        es_free(p->kids);
        es_free(p->ptrs);
        es_free(p);
    }
    a->release = NULL;
}

/* Width in bytes of a fixed-width type built directly, or 0 (bool, varlen: the builder). */
static int direct_width(const es_type *t)
{
    if (t->id == ES_TYPE_BOOL || es_type_is_varlen(t->id) || t->id == ES_TYPE_FIXED_BINARY)
        return 0;
    int w = t->byte_width;
    return w == 1 || w == 2 || w == 4 || w == 8 || w == 16 ? w : 0;
}

/* *out: a fixed-width column built directly (no builder call per value): n values of width w,
 * with a validity bitmap when nulls (zeroed: all NULL). */
static es_status owned_new(struct ArrowArray *out, int64_t n, int w, int nulls, uint8_t **values,
                           uint8_t **validity, es_error *err)
{
    es_owned_array *p = es_calloc(1, sizeof(*p));
    if (p) {
        p->buf[1] = es_malloc((size_t)(n > 0 ? n : 1) * (size_t)w);
        p->buf[0] = nulls ? es_calloc((size_t)(n / 8 + 1), 1) : NULL;
    }
    if (!p || !p->buf[1] || (nulls && !p->buf[0])) {
        if (p) {
            es_free(p->buf[0]);
            es_free(p->buf[1]);
        }
        es_free(p);
        return es_error_set(err, ES_NOMEM, 0, "scan: out of memory");
    }
    p->ptrs[0] = p->buf[0];
    p->ptrs[1] = p->buf[1];
    memset(out, 0, sizeof(*out));
    out->length = n;
    out->n_buffers = 2;
    out->buffers = p->ptrs;
    out->private_data = p;
    out->release = es_owned_array_release;
    *values = p->buf[1];
    *validity = p->buf[0];
    return ES_OK;
}

/* Store x (domain dom) as a value of width w at p. */
static void store_value(uint8_t *p, int w, es_domain dom, const es_scalar *x, const es_type *t)
{
    if (dom == ES_DOM_DEC) {
        memcpy(p, x->p, 16);
    } else if (dom == ES_DOM_DOUBLE && t->id == ES_TYPE_FLOAT32) {
        float f = (float)x->d;
        memcpy(p, &f, 4);
    } else if (dom == ES_DOM_DOUBLE) {
        memcpy(p, &x->d, 8);
    } else {
        uint64_t u = dom == ES_DOM_UINT ? x->u : (uint64_t)x->i; /* little-endian: low bytes */
        memcpy(p, &u, (size_t)w);
    }
}

/* Integers and floats widened with one typed loop per pair of types (the values of NULL slots
 * are converted too: any bits are a valid integer or float). 0: not such a pair. */
static int convert_numbers(uint8_t *dst, const es_type *to, const es_array_view *v,
                           const es_type *from)
{
    int64_t n = v->length;
#define CONV(ST, DT)                                                                               \
    do {                                                                                           \
        const ST *src_ = (const ST *)v->values;                                                    \
        DT *dst_ = (DT *)dst;                                                                      \
        for (int64_t i_ = 0; i_ < n; i_++)                                                         \
            dst_[i_] = (DT)src_[i_];                                                               \
        return 1;                                                                                  \
    } while (0)
#define TO(ST)                                                                                     \
    switch (to->id) {                                                                              \
    case ES_TYPE_INT16:                                                                            \
        CONV(ST, int16_t);                                                                         \
    case ES_TYPE_INT32:                                                                            \
        CONV(ST, int32_t);                                                                         \
    case ES_TYPE_INT64:                                                                            \
        CONV(ST, int64_t);                                                                         \
    case ES_TYPE_UINT16:                                                                           \
        CONV(ST, uint16_t);                                                                        \
    case ES_TYPE_UINT32:                                                                           \
        CONV(ST, uint32_t);                                                                        \
    case ES_TYPE_UINT64:                                                                           \
        CONV(ST, uint64_t);                                                                        \
    case ES_TYPE_FLOAT64:                                                                          \
        CONV(ST, double);                                                                          \
    default:                                                                                       \
        return 0;                                                                                  \
    }
    switch (from->id) {
    case ES_TYPE_INT8:
        TO(int8_t);
    case ES_TYPE_INT16:
        TO(int16_t);
    case ES_TYPE_INT32:
        TO(int32_t);
    case ES_TYPE_UINT8:
        TO(uint8_t);
    case ES_TYPE_UINT16:
        TO(uint16_t);
    case ES_TYPE_UINT32:
        TO(uint32_t);
    case ES_TYPE_FLOAT32:
        TO(float);
    default:
        return 0;
    }
#undef TO
#undef CONV
}

/* A builder for one column of type `format`. */
static es_status leaf_builder(es_builder **b, const char *format, es_error *err)
{
    struct ArrowSchema sch = {0};
    es_status st = es_schema_init(&sch, format, "c", ARROW_FLAG_NULLABLE, err);
    if (!st)
        st = es_builder_new(b, &sch, err);
    es_schema_release(&sch);
    return st;
}

/* *out = src (of the part's type `from`) cast to column c's type. */
static es_status cast_child(struct ArrowArray *out, struct ArrowArray *src, const es_part_col *from,
                            const es_column *c, es_error *err)
{
    struct ArrowSchema sch = {0};
    es_array_view v;
    es_builder *b = NULL;
    int have_view = 0;
    es_status st = es_schema_init(&sch, from->format, "c", ARROW_FLAG_NULLABLE, err);
    if (!st)
        st = es_array_view_init(&v, &sch, src, err);
    have_view = st == ES_OK;
    es_domain fd = es_expr_domain(from->type.id), td = es_expr_domain(c->type.id);
    int w = direct_width(&c->type);
    if (!st && w && fd != ES_DOM_BYTES) {
        /* Fixed width to fixed width: converted straight into the new array's buffers. */
        uint8_t *vals, *valid;
        st = owned_new(out, v.length, w, v.null_count != 0, &vals, &valid, err);
        if (!st && convert_numbers(vals, &c->type, &v, &from->type)) {
            for (int64_t i = 0; valid && i < v.length; i++)
                if (!es_view_is_null(&v, i))
                    valid[i >> 3] |= (uint8_t)(1u << (i & 7));
            out->null_count = v.null_count;
            es_array_view_reset(&v);
            es_schema_release(&sch);
            return ES_OK;
        }
        for (int64_t i = 0; !st && i < v.length; i++) {
            es_scalar x;
            memset(&x, 0, sizeof(x));
            if (valid && es_view_is_null(&v, i)) {
                out->null_count++;
                memset(vals + i * w, 0, (size_t)w);
                continue;
            }
            if (valid)
                valid[i >> 3] |= (uint8_t)(1u << (i & 7));
            es_scalar_from_view(&x, fd, &v, i);
            if (!widen_scalar(&x, &from->type, &c->type)) {
                out->release(out);
                st = es_error_set(err, ES_INVALID, 0, "column '%s': value %lld out of range of %s",
                                  c->name, (long long)x.i, c->format);
                break;
            }
            store_value(vals + i * w, w, td, &x, &c->type);
        }
        es_array_view_reset(&v);
        es_schema_release(&sch);
        return st;
    }
    if (!st)
        st = leaf_builder(&b, c->format, err);
    if (!st)
        st = es_builder_reserve(b, v.length);
    for (int64_t i = 0; have_view && i < v.length && !st; i++) {
        if (es_view_is_null(&v, i)) {
            st = es_builder_append_null(b, 1);
            continue;
        }
        es_scalar x;
        memset(&x, 0, sizeof(x));
        es_scalar_from_view(&x, fd, &v, i);
        if (!widen_scalar(&x, &from->type, &c->type)) {
            st = es_error_set(err, ES_INVALID, 0, "column '%s': value %lld out of range of %s",
                              c->name, (long long)x.i, c->format);
            break;
        }
        switch (td) {
        case ES_DOM_INT:
            st = es_builder_append_int(b, x.i);
            break;
        case ES_DOM_UINT:
            st = es_builder_append_uint(b, x.u);
            break;
        case ES_DOM_DOUBLE:
            st = es_builder_append_double(b, x.d);
            break;
        case ES_DOM_DEC:
            st = es_builder_append_decimal128(b, x.p);
            break;
        default:
            st = es_builder_append_bytes(b, x.p, x.len);
            break;
        }
    }
    if (!st)
        st = es_builder_finish(b, out, err);
    else if (err && err->code == ES_OK)
        es_error_set(err, st, 0, "column '%s': cannot cast to %s", c->name, c->format);
    es_builder_free(b);
    if (have_view)
        es_array_view_reset(&v);
    es_schema_release(&sch);
    return st;
}

static es_status default_child(struct ArrowArray *out, const es_column *c, int64_t rows,
                               es_error *err)
{
    int w = direct_width(&c->type);
    if (w) {
        /* A constant: the default repeated, or all NULL. */
        uint8_t *vals, *valid;
        es_status st = owned_new(out, rows, w, c->def == NULL, &vals, &valid, err);
        if (st)
            return st;
        if (!c->def) {
            memset(vals, 0, (size_t)(rows > 0 ? rows : 1) * (size_t)w);
            out->null_count = rows;
            return ES_OK;
        }
        es_domain dom = es_expr_domain(c->type.id);
        es_scalar x;
        es_colstat_scalar(&x, dom, c->def, (int)c->def_len);
        if (rows > 0)
            store_value(vals, w, dom, &x, &c->type);
        for (int64_t i = 1; i < rows; i++)
            memcpy(vals + i * w, vals, (size_t)w);
        return ES_OK;
    }
    es_builder *b = NULL;
    es_status st = leaf_builder(&b, c->format, err);
    if (!st && (st = es_column_append_default(b, c, rows)) != ES_OK)
        es_error_set(err, st, 0, "column '%s': cannot build its default", c->name);
    if (!st)
        st = es_builder_finish(b, out, err);
    es_builder_free(b);
    return st;
}

es_status es_evolve_batch(struct ArrowArray *dec, const es_part_col *const *src,
                          const es_column *const *dst, int64_t n_src, int64_t n_add, es_error *err)
{
    int64_t n = n_src + n_add;
    char why[160];
    evolved *p = es_calloc(1, sizeof(*p));
    es_status st = ES_OK;
    if (p) {
        p->kids = es_calloc((size_t)(n > 0 ? n : 1), sizeof(struct ArrowArray));
        p->ptrs = es_calloc((size_t)(n > 0 ? n : 1), sizeof(struct ArrowArray *));
    }
    if (!p || !p->kids || !p->ptrs)
        st = es_error_set(err, ES_NOMEM, 0, "scan: out of memory");
    for (int64_t k = 0; k < n && !st; k++) {
        p->n = k + 1;
        p->ptrs[k] = &p->kids[k];
        if (k >= n_src) {
            st = default_child(&p->kids[k], dst[k], dec->length, err);
        } else if (strcmp(src[k]->format, dst[k]->format) == 0) {
            p->kids[k] = *dec->children[k]; /* moved */
            dec->children[k]->release = NULL;
        } else if (!es_type_widens(&src[k]->type, &dst[k]->type, why, sizeof(why))) {
            /* The log's types are checked when applied (log.c); this is for a part whose type
             * a checkpoint names, which nothing else relates to the table's. */
            st = es_error_set(err, ES_CORRUPT, 0,
                              "column '%s': the part holds %s, which does not widen to %s: %s",
                              dst[k]->name, src[k]->format, dst[k]->format, why);
        } else {
            st = cast_child(&p->kids[k], dec->children[k], src[k], dst[k], err);
        }
    }
    struct ArrowArray out = {0};
    if (!st) {
        out.length = dec->length;
        out.null_count = 0;
        out.n_buffers = 1;
        out.buffers = p->validity;
        out.n_children = n;
        out.children = p->ptrs;
        out.private_data = p;
        out.release = release_evolved;
    } else if (p) {
        struct ArrowArray tmp = {0};
        tmp.private_data = p;
        release_evolved(&tmp);
    }
    dec->release(dec);
    *dec = out;
    return st;
}
