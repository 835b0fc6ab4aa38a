/*
 * colstat: per-column statistics of a part or a batch (null count, minimum, maximum), computed
 * from an array as a part is written (es_colstat_compute, with a typed loop for 4- and 8-byte
 * integers and doubles), encoded into the few bytes the log and the .idx record, and turned
 * back into the pruning statistics predicates use (es_colstat_to_pred,
 * es_part_idx_stat_to_pred). Table layer; part.c calls it for every batch and column it writes.
 *
 * Encoding (docs/FORMAT.md): integers, unsigned integers and doubles in 8 bytes (a double by its
 * bits), decimals in 16, strings and binaries as their first ES_STAT_MAX bytes; a value longer
 * than that gives a minimum (its prefix is still a lower bound) but no maximum.
 */
#include "table/part.h"

void es_colstat_scalar(es_scalar *out, es_domain dom, const uint8_t *v, int len)
{
    memset(out, 0, sizeof(*out));
    switch (dom) {
    case ES_DOM_INT:
        out->i = len == 8 ? (int64_t)es_load_u64(v) : 0;
        break;
    case ES_DOM_UINT:
        out->u = len == 8 ? es_load_u64(v) : 0;
        break;
    case ES_DOM_DOUBLE: {
        uint64_t bits = len == 8 ? es_load_u64(v) : 0;
        memcpy(&out->d, &bits, 8);
        break;
    }
    default:
        out->p = v;
        out->len = len;
        break;
    }
}

static int stat_len_ok(es_domain dom, int len)
{
    switch (dom) {
    case ES_DOM_INT:
    case ES_DOM_UINT:
    case ES_DOM_DOUBLE:
        return len == 8;
    case ES_DOM_DEC:
        return len == 16;
    case ES_DOM_BYTES:
        return len >= 0 && len <= ES_STAT_MAX;
    default:
        return 0;
    }
}

static void to_pred(es_pred_stats *out, es_domain dom, int64_t rows, int64_t null_count,
                    const uint8_t *min, int min_len, const uint8_t *max, int max_len)
{
    memset(out, 0, sizeof(*out));
    out->known = 1;
    out->rows = rows;
    out->null_count = null_count;
    if (min && stat_len_ok(dom, min_len)) {
        out->has_min = 1;
        es_colstat_scalar(&out->min, dom, min, min_len);
    }
    if (max && stat_len_ok(dom, max_len)) {
        out->has_max = 1;
        es_colstat_scalar(&out->max, dom, max, max_len);
    }
}

void es_colstat_to_pred(es_pred_stats *out, const es_colstat *cs, es_domain dom, int64_t rows)
{
    to_pred(out, dom, rows, cs->null_count, cs->has_min ? cs->min : NULL, cs->min_len,
            cs->has_max ? cs->max : NULL, cs->max_len);
}

int es_colstat_may_hold(const es_colstat *cs, es_domain dom, const es_scalar *v)
{
    if (dom == ES_DOM_INT) /* (the usual key: what the general case below does, inlined) */
        return !(cs->has_min && cs->min_len == 8 && v->i < (int64_t)es_load_u64(cs->min)) &&
               !(cs->has_max && cs->max_len == 8 && v->i > (int64_t)es_load_u64(cs->max));
    es_scalar b;
    if (cs->has_min && stat_len_ok(dom, cs->min_len)) {
        es_colstat_scalar(&b, dom, cs->min, cs->min_len);
        if (es_scalar_cmp(dom, v, &b) < 0)
            return 0;
    }
    if (cs->has_max && stat_len_ok(dom, cs->max_len)) {
        es_colstat_scalar(&b, dom, cs->max, cs->max_len);
        if (es_scalar_cmp(dom, v, &b) > 0)
            return 0;
    }
    return 1;
}

void es_part_idx_stat_to_pred(es_pred_stats *out, const es_part_idx *x, int64_t k, es_domain dom)
{
    const es_idx_stat *s = &x->col_stats[k];
    const uint8_t *bytes = x->stat_bytes.data;
    to_pred(out, dom, x->rows[k / x->n_cols], s->null_count, s->has_min ? bytes + s->min_off : NULL,
            s->min_len, s->has_max ? bytes + s->max_off : NULL, s->max_len);
}

static void encode_scalar(uint8_t *dst, uint8_t *len, es_domain dom, const es_scalar *s)
{
    switch (dom) {
    case ES_DOM_INT:
        es_store_u64(dst, (uint64_t)s->i);
        *len = 8;
        break;
    case ES_DOM_UINT:
        es_store_u64(dst, s->u);
        *len = 8;
        break;
    case ES_DOM_DOUBLE: {
        uint64_t bits;
        memcpy(&bits, &s->d, 8);
        es_store_u64(dst, bits);
        *len = 8;
        break;
    }
    default: {
        int64_t n = s->len < ES_STAT_MAX ? s->len : ES_STAT_MAX;
        if (n > 0)
            memcpy(dst, s->p, (size_t)n);
        *len = (uint8_t)n;
        break;
    }
    }
}

/* es_colstat_compute's loop for 4- and 8-byte integers and doubles, without a scalar per
 * value (the same minimum and maximum: the first of equal values, NaN above every number).
 * 0 when v is not of such a type. */
static int colstat_fixed(es_colstat *out, const es_array_view *v, es_domain dom)
{
    es_type_id id = v->type.id;
    int w = v->type.byte_width;
    int ints = dom == ES_DOM_INT && (w == 4 || w == 8) &&
               (id == ES_TYPE_INT32 || id == ES_TYPE_INT64 || id == ES_TYPE_DATE32 ||
                id == ES_TYPE_DATE64 || id == ES_TYPE_TIMESTAMP || id == ES_TYPE_TIME32 ||
                id == ES_TYPE_TIME64 || id == ES_TYPE_DURATION);
    if (!ints && !(dom == ES_DOM_DOUBLE && id == ES_TYPE_FLOAT64 && w == 8))
        return 0;
    es_scalar mn, mx;
    memset(&mn, 0, sizeof(mn));
    memset(&mx, 0, sizeof(mx));
    int have = 0, nan = 0, num = 0;
    double first_nan = 0;
    for (int64_t i = 0; i < v->length; i++) {
        if (v->validity && es_view_is_null(v, i)) {
            out->null_count++;
            continue;
        }
        if (ints) {
            int64_t x;
            if (w == 4) {
                int32_t y;
                memcpy(&y, v->values + 4 * i, 4);
                x = y;
            } else {
                memcpy(&x, v->values + 8 * i, 8);
            }
            if (!have || x < mn.i)
                mn.i = x;
            if (!have || x > mx.i)
                mx.i = x;
            have = 1;
            continue;
        }
        double d;
        memcpy(&d, v->values + 8 * i, 8);
        have = 1;
        if (d != d) {
            if (!nan)
                first_nan = d; /* (its bits, as the scalar loop keeps them) */
            nan = 1;
            continue;
        }
        if (!num || d < mn.d)
            mn.d = d;
        if (!num || d > mx.d)
            mx.d = d;
        num = 1;
    }
    if (!ints && nan) { /* NaN is the maximum; the minimum too when there is no number */
        mx.d = first_nan;
        if (!num)
            mn.d = first_nan;
    }
    if (have) {
        out->has_min = out->has_max = 1;
        encode_scalar(out->min, &out->min_len, dom, &mn);
        encode_scalar(out->max, &out->max_len, dom, &mx);
    }
    return 1;
}

void es_colstat_compute(es_colstat *out, const es_array_view *v, es_domain dom)
{
    memset(out, 0, sizeof(*out));
    if (colstat_fixed(out, v, dom))
        return;
    es_scalar mn, mx, x;
    memset(&mn, 0, sizeof(mn));
    memset(&mx, 0, sizeof(mx));
    memset(&x, 0, sizeof(x));
    int have = 0, max_ok = 1;
    for (int64_t i = 0; i < v->length; i++) {
        if (es_view_is_null(v, i)) {
            out->null_count++;
            continue;
        }
        if (dom == ES_DOM_NONE)
            continue;
        es_scalar_from_view(&x, dom, v, i);
        if (dom == ES_DOM_BYTES && x.len > ES_STAT_MAX) {
            /* A truncated prefix is still a lower bound, but not an upper one. */
            max_ok = 0;
        }
        if (!have) {
            mn = mx = x;
            have = 1;
            continue;
        }
        if (es_scalar_cmp(dom, &x, &mn) < 0)
            mn = x;
        if (es_scalar_cmp(dom, &x, &mx) > 0)
            mx = x;
    }
    if (have) {
        out->has_min = 1;
        encode_scalar(out->min, &out->min_len, dom, &mn);
        if (max_ok && !(dom == ES_DOM_BYTES && mx.len > ES_STAT_MAX)) {
            out->has_max = 1;
            encode_scalar(out->max, &out->max_len, dom, &mx);
        }
    }
}
