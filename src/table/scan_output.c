/*
 * scan_output: the output batch of one decoded, filtered batch of a scan (see scan.c): the
 * decoded children reordered under a new parent (zero copy), a contiguous run sliced in place,
 * or the selected rows copied with typed loops (builder fallback for nested types); and the
 * "_sel" mask column of es_scan_options.selection appended to any of them. And es_scan_column:
 * one column of a table, or of some of its parts, handed to a callback batch by batch through
 * the scanner's API (key filters, index builds, unique checks, fsck's key check).
 */
#include <stdlib.h>
#include <string.h>

#include "arrow/arrow.h"
#include "table/scan_int.h"

/*
 * Take: copy rows idx[0..n) of decoded columns into new arrays with typed loops (a batch with
 * a few deleted or non-matching rows costs a copy of its columns, not a builder call per
 * value). Each child owns its buffers and can be moved out and released on its own.
 */
static int can_take(const es_type *t)
{
    switch (t->id) {
    case ES_TYPE_BOOL:
    case ES_TYPE_UTF8:
    case ES_TYPE_BINARY:
    case ES_TYPE_LARGE_UTF8:
    case ES_TYPE_LARGE_BINARY:
        return 1;
    case ES_TYPE_NA:
    case ES_TYPE_STRUCT:
        return 0;
    default:
        return t->byte_width > 0;
    }
}

static int view_bit(const uint8_t *bits, int64_t i)
{
    return bits[i >> 3] >> (i & 7) & 1;
}

/* One column: rows idx[0..n) of v (or, when v is NULL, the int64 values vals[0..n)). */
static es_status take_column(struct ArrowArray *out, const es_array_view *v, const int64_t *idx,
                             const int64_t *vals, int64_t n)
{
    es_owned_array *p = es_calloc(1, sizeof(*p));
    if (!p)
        return ES_NOMEM;
    memset(out, 0, sizeof(*out));
    out->length = n;
    out->n_buffers = 2;
    out->buffers = p->ptrs;
    out->private_data = p;
    out->release = es_owned_array_release;
    size_t nb = (size_t)(n + 7) / 8 + 1;
    if (!v) {
        int64_t *d = es_malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
        if (!d)
            return ES_NOMEM;
        for (int64_t j = 0; j < n; j++)
            d[j] = vals[j];
        p->buf[1] = d;
        p->ptrs[1] = d;
        return ES_OK;
    }
    /* Validity. */
    if (v->validity && v->null_count != 0) {
        uint8_t *bm = es_calloc(nb, 1);
        if (!bm)
            return ES_NOMEM;
        int64_t nulls = 0;
        for (int64_t j = 0; j < n; j++) {
            if (view_bit(v->validity, v->offset + idx[j]))
                bm[j >> 3] |= (uint8_t)(1u << (j & 7));
            else
                nulls++;
        }
        if (nulls) {
            p->buf[0] = bm;
            p->ptrs[0] = bm;
        } else {
            es_free(bm);
        }
        out->null_count = nulls;
    }
    if (v->type.id == ES_TYPE_BOOL) {
        uint8_t *bm = es_calloc(nb, 1);
        if (!bm)
            return ES_NOMEM;
        for (int64_t j = 0; j < n; j++)
            if (view_bit(v->values, v->offset + idx[j]))
                bm[j >> 3] |= (uint8_t)(1u << (j & 7));
        p->buf[1] = bm;
        p->ptrs[1] = bm;
        return ES_OK;
    }
    if (v->offsets32 || v->offsets64) {
        int64_t total = 0;
        for (int64_t j = 0; j < n; j++)
            total += v->offsets32 ? v->offsets32[idx[j] + 1] - v->offsets32[idx[j]]
                                  : v->offsets64[idx[j] + 1] - v->offsets64[idx[j]];
        size_t ow = v->offsets32 ? 4 : 8;
        uint8_t *offs = es_malloc((size_t)(n + 1) * ow), *data = es_malloc((size_t)total + 1);
        if (!offs || !data) {
            es_free(offs);
            es_free(data);
            return ES_NOMEM;
        }
        /* Runs of consecutive rows (deletes and filters leave long ones) are copied with one
         * memcpy of their bytes. */
        int64_t at = 0;
        for (int64_t j = 0, k; j < n; j = k + 1) {
            for (k = j; k + 1 < n && idx[k + 1] == idx[k] + 1;)
                k++;
            int64_t lo = v->offsets32 ? v->offsets32[idx[j]] : v->offsets64[idx[j]];
            int64_t hi = v->offsets32 ? v->offsets32[idx[k] + 1] : v->offsets64[idx[k] + 1];
            if (v->offsets32)
                for (int64_t m = j; m <= k; m++)
                    ((int32_t *)offs)[m] = (int32_t)(at + v->offsets32[idx[m]] - lo);
            else
                for (int64_t m = j; m <= k; m++)
                    ((int64_t *)offs)[m] = at + v->offsets64[idx[m]] - lo;
            memcpy(data + at, v->values + lo, (size_t)(hi - lo));
            at += hi - lo;
        }
        if (v->offsets32)
            ((int32_t *)offs)[n] = (int32_t)at;
        else
            ((int64_t *)offs)[n] = at;
        p->buf[1] = offs;
        p->buf[2] = data;
        p->ptrs[1] = offs;
        p->ptrs[2] = data;
        out->n_buffers = 3;
        return ES_OK;
    }
    size_t w = (size_t)v->type.byte_width;
    uint8_t *d = es_malloc(w * (size_t)(n > 0 ? n : 1));
    if (!d)
        return ES_NOMEM;
    for (int64_t j = 0, k; j < n; j = k + 1) {
        for (k = j; k + 1 < n && idx[k + 1] == idx[k] + 1;)
            k++;
        memcpy(d + w * (size_t)j, v->values + w * (size_t)idx[j], w * (size_t)(k - j + 1));
    }
    p->buf[1] = d;
    p->ptrs[1] = d;
    return ES_OK;
}

/* The output batch of rows idx[0..n_sel) with take_column; ES_UNSUPPORTED when a column's type
 * needs the builder. */
static es_status take_output(scan_state *st, const es_array_view *views, const int64_t *idx,
                             int64_t n_sel, int64_t first, struct ArrowArray *out)
{
    int64_t n_kids = st->n_out + (st->with_pos ? 2 : 0);
    for (int64_t k = 0; k < st->n_out; k++)
        if (!can_take(&views[st->tab2dec[st->out_cols[k]]].type))
            return ES_UNSUPPORTED;
    if (es_owned_batch_new(out, n_kids, n_sel))
        return ES_NOMEM;
    es_owned_array *p = out->private_data;
    int64_t *pos = NULL;
    es_status s = ES_OK;
    if (st->with_pos) {
        pos = es_malloc((size_t)(n_sel > 0 ? n_sel : 1) * sizeof(int64_t));
        if (!pos)
            s = ES_NOMEM;
    }
    for (int64_t k = 0; k < n_kids && !s; k++) {
        if (k < st->n_out) {
            s = take_column(&p->kids[k], &views[st->tab2dec[st->out_cols[k]]], idx, NULL, n_sel);
        } else {
            for (int64_t j = 0; j < n_sel; j++)
                pos[j] = k == st->n_out ? st->part_index : first + idx[j];
            s = take_column(&p->kids[k], NULL, NULL, pos, n_sel);
        }
    }
    es_free(pos);
    if (s)
        es_owned_array_release(out);
    return s;
}

/* Copy the selected rows of the decoded columns into a new output batch (with their part and
 * positions when the scan wants them; `first` is the position of the batch's first row). */
es_status es_scan_build_output(scan_state *st, const es_array_view *views, const uint8_t *sel,
                               int64_t rows, int64_t first, struct ArrowArray *out, es_error *err)
{
    es_builder *bld = NULL;
    /* The selected row numbers, found once (narrow queries select few rows of a batch). */
    int64_t n_sel = 0;
    int64_t *idx = es_malloc((size_t)(rows > 0 ? rows : 1) * sizeof(int64_t));
    if (!idx)
        return es_error_set(err, ES_NOMEM, 0, "scan: out of memory");
    for (int64_t i = 0; i < rows; i++) {
        idx[n_sel] = i;
        n_sel += sel[i] != 0;
    }
    es_status s = take_output(st, views, idx, n_sel, first, out);
    if (s != ES_UNSUPPORTED) {
        es_free(idx);
        if (s)
            return es_error_set(err, s, 0, "scan: out of memory");
        return ES_OK;
    }
    s = es_builder_new(&bld, &st->out_schema, err);
    if (s) {
        es_free(idx);
        return s;
    }
    for (int64_t k = 0; k < st->n_out && !s; k++) {
        const es_array_view *v = &views[st->tab2dec[st->out_cols[k]]];
        es_builder *cb = es_builder_child(bld, k);
        es_domain dom = es_expr_domain(v->type.id);
        for (int64_t j = 0; j < n_sel && !s; j++) {
            int64_t i = idx[j];
            if (es_view_is_null(v, i)) {
                s = es_builder_append_null(cb, 1);
                continue;
            }
            int64_t len;
            const uint8_t *p;
            switch (dom) {
            case ES_DOM_INT:
                s = es_builder_append_int(cb, es_view_get_int(v, i));
                break;
            case ES_DOM_UINT:
                s = es_builder_append_uint(cb, es_view_get_uint(v, i));
                break;
            case ES_DOM_DOUBLE:
                s = es_builder_append_double(cb, es_view_get_double(v, i));
                break;
            case ES_DOM_DEC:
                p = es_view_get_bytes(v, i, &len);
                s = es_builder_append_decimal128(cb, p);
                break;
            case ES_DOM_BYTES:
                p = es_view_get_bytes(v, i, &len);
                s = es_builder_append_bytes(cb, p, len);
                break;
            default:
                s = es_builder_append_null(cb, 1);
                break;
            }
        }
    }
    if (st->with_pos) {
        es_builder *pb = es_builder_child(bld, st->n_out),
                   *qb = es_builder_child(bld, st->n_out + 1);
        for (int64_t j = 0; j < n_sel && !s; j++) {
            s = es_builder_append_int(pb, st->part_index);
            s = s ? s : es_builder_append_int(qb, first + idx[j]);
        }
    }
    for (int64_t j = 0; j < n_sel && !s; j++)
        s = es_builder_append_struct(bld);
    es_free(idx);
    if (s)
        es_error_set(err, s, 0, "scan: cannot build output batch");
    else
        s = es_builder_finish(bld, out, err);
    es_builder_free(bld);
    return s;
}

/* Zero-copy output: the decoded batch's children, reordered, under a new parent. */
typedef struct proj_private {
    struct ArrowArray decoded;
    struct ArrowArray **children;
} proj_private;

static void release_proj(struct ArrowArray *a)
{
    proj_private *p = a->private_data;
    /* Children moved out by the consumer have release == NULL; the decoded parent releases
     * the rest. */
    if (p->decoded.release)
        p->decoded.release(&p->decoded);
    es_free(p->children);
    es_free(p);
    a->release = NULL;
}

es_status es_scan_project_zero_copy(scan_state *st, struct ArrowArray *dec, struct ArrowArray *out,
                                    es_error *err)
{
    proj_private *p = es_calloc(1, sizeof(*p));
    if (!p || !(p->children = es_calloc((size_t)(st->n_out > 0 ? st->n_out : 1),
                                        sizeof(struct ArrowArray *)))) {
        es_free(p);
        return es_error_set(err, ES_NOMEM, 0, "scan: out of memory");
    }
    for (int64_t k = 0; k < st->n_out; k++)
        p->children[k] = dec->children[st->tab2dec[st->out_cols[k]]];
    p->decoded = *dec;
    dec->release = NULL;
    memset(out, 0, sizeof(*out));
    out->length = p->decoded.length;
    out->null_count = 0;
    out->n_buffers = 1;
    static const void *no_validity[1] = {NULL};
    out->buffers = no_validity;
    out->n_children = st->n_out;
    out->children = p->children;
    out->private_data = p;
    out->release = release_proj;
    return ES_OK;
}

/* When the `selected` rows of `sel` are one contiguous run (a key range or point lookup on
 * the sort key always is), narrow the decoded batch to it in place, without copying: every
 * column's offset and length change, and its null count becomes unknown (-1) unless it had
 * none. Returns 0 (batch untouched) for a scattered selection. */
int es_scan_slice_run(struct ArrowArray *dec, const uint8_t *sel, int64_t rows, int64_t selected)
{
    int64_t first = 0;
    while (first < rows && !sel[first])
        first++;
    if (first + selected > rows || memchr(sel + first, 0, (size_t)selected))
        return 0;
    for (int64_t c = 0; c < dec->n_children; c++) {
        struct ArrowArray *ch = dec->children[c];
        ch->offset += first;
        ch->length = selected;
        if (ch->null_count != 0)
            ch->null_count = -1;
    }
    dec->length = selected;
    return 1;
}

/* The selection mask (es_scan_options.selection): out's children and one more, "_sel", under
 * a new parent that keeps the original batch (its children stay movable one by one). */
typedef struct sel_private {
    struct ArrowArray inner, mask;
    struct ArrowArray **children;
    const void *mask_bufs[2];
    int64_t selected; /* rows the mask keeps */
} sel_private;

static void release_mask(struct ArrowArray *a)
{
    es_free(a->private_data);
    a->release = NULL;
}

static void release_sel(struct ArrowArray *a)
{
    sel_private *p = a->private_data;
    if (p->mask.release)
        p->mask.release(&p->mask);
    if (p->inner.release)
        p->inner.release(&p->inner);
    es_free(p->children);
    es_free(p);
    a->release = NULL;
}

es_status es_scan_add_selection(struct ArrowArray *out, uint8_t *sel, int64_t selected,
                                es_error *err)
{
    int64_t n = out->length;
    sel_private *p = es_calloc(1, sizeof(*p));
    if (p)
        p->children = es_calloc((size_t)out->n_children + 1, sizeof(struct ArrowArray *));
    if (p && p->children && !sel && (sel = es_malloc((size_t)(n > 0 ? n : 1))))
        memset(sel, 1, (size_t)n);
    if (!p || !p->children || !sel) {
        if (p)
            es_free(p->children);
        es_free(p);
        es_free(sel);
        es_array_release(out);
        return es_error_set(err, ES_NOMEM, 0, "scan: out of memory");
    }
    p->inner = *out;
    p->selected = selected;
    for (int64_t k = 0; k < out->n_children; k++)
        p->children[k] = out->children[k];
    p->mask_bufs[1] = sel;
    p->mask.length = n;
    p->mask.n_buffers = 2;
    p->mask.buffers = p->mask_bufs;
    p->mask.private_data = sel;
    p->mask.release = release_mask;
    p->children[out->n_children] = &p->mask;
    memset(out, 0, sizeof(*out));
    out->length = n;
    out->n_buffers = 1;
    static const void *no_validity[1] = {NULL};
    out->buffers = no_validity;
    out->n_children = p->inner.n_children + 1;
    out->children = p->children;
    out->private_data = p;
    out->release = release_sel;
    return ES_OK;
}

int64_t es_scan_selected(const struct ArrowArray *out)
{
    return ((const sel_private *)out->private_data)->selected;
}

/* ------------------------------------------------- one column, batch by batch */

es_status es_scan_column(es_store *s, const es_tabledef *t, int64_t col,
                         const es_part_meta *const *parts, int64_t n_parts,
                         const es_scan_ext *ext_in, es_scan_column_fn fn, void *ctx, es_error *err)
{
    es_scan_ext ext = ext_in ? *ext_in : (es_scan_ext){NULL, 0, NULL, 0, NULL};
    ext.table = (es_tabledef *)t;
    es_tabledef *sub = NULL;
    if (parts && es_tabledef_copy(&sub, t))
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    if (sub) { /* (a copy has room for one part, and for as many as t has) */
        for (int64_t p = 0; p < sub->n_parts; p++)
            es_part_meta_unref(sub->parts[p]);
        for (sub->n_parts = 0; sub->n_parts < n_parts; sub->n_parts++)
            sub->parts[sub->n_parts] = es_part_meta_ref((es_part_meta *)parts[sub->n_parts]);
        es_tabledef_drop_manifests(sub);
        ext.table = sub;
    }
    const char *cols[1] = {t->cols[col].name};
    es_scan_options so = ES_SCAN_OPTIONS_INIT;
    so.columns = cols;
    so.n_columns = 1;
    es_scanner *sc = NULL;
    es_status st = es_scanner_open(&sc, s, NULL, &so, &ext, err);
    while (!st) {
        struct ArrowArray a = {0};
        st = es_scanner_next(sc, &a, err);
        if (st || !a.release)
            break;
        es_array_view v;
        st = es_array_view_init(&v, es_scanner_schema(sc), &a, err);
        if (!st) {
            st = fn(ctx, &a, &v, err);
            es_array_view_reset(&v);
        }
        es_array_release(&a);
    }
    es_scanner_close(sc);
    es_tabledef_unref(sub);
    return st;
}
