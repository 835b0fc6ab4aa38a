/*
 * part_dict: dictionary encoding of the string columns of a part (docs/FORMAT.md, section 1,
 * "Dictionary-encoded columns"). The part writer (part.c, build_part) asks es_part_dict_choose
 * which utf8 columns of the part pay to encode, and es_part_dict_batch gives it each batch with
 * those columns replaced by their indices (the dictionary attached, shared by every batch of
 * the part, so the IPC writer writes one dictionary batch per column before the record
 * batches). The rule, per column per part:
 *
 *   - at most ES_DICT_MAX_VALUES distinct non-null values and at most ES_DICT_MAX_BYTES bytes
 *     of them (the dictionary is also copied into the .idx, read before any data);
 *   - and the encoded column (index width x rows + the dictionary's values and offsets) at most
 *     half the plain one (4 bytes of offset per row + the bytes of the values).
 *
 * The dictionary is sorted (memcmp, then length: the order of the statistics), so codes compare
 * like the values (isOrdered); the index type is int8, int16 or int32, the narrowest that holds
 * the codes.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "arrow/arrow.h"
#include "arrow/ipc.h"
#include "table/part.h"

typedef struct dval {
    const uint8_t *p;
    int32_t len;
    int32_t code; /* the rank in the sorted dictionary */
} dval;

/* The distinct values of one column: open addressing on a 64-bit hash. */
typedef struct dset {
    dval *vals;
    int64_t n, bytes;
    int32_t *slots; /* index into vals + 1; 0: empty */
    int64_t cap;    /* a power of two */
} dset;

/* Eight bytes at a time (the table only lives while a part is written: any good mix will do). */
static uint64_t hash_bytes(const uint8_t *p, int64_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n, w;
    for (; n >= 8; p += 8, n -= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    if (n > 0) {
        w = 0;
        memcpy(&w, p, (size_t)n);
        h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    }
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 32);
}

/* The slot of (p, n): where it is, or the empty slot where it would go. */
static int64_t dset_find(const dset *s, const uint8_t *p, int64_t n)
{
    int64_t i = (int64_t)(hash_bytes(p, n) & (uint64_t)(s->cap - 1));
    for (;;) {
        int32_t k = s->slots[i];
        if (!k)
            return i;
        const dval *v = &s->vals[k - 1];
        if (v->len == n && memcmp(v->p, p, (size_t)n) == 0)
            return i;
        i = (i + 1) & (s->cap - 1);
    }
}

static int dval_cmp(const void *a, const void *b)
{
    const dval *x = a, *y = b;
    int32_t m = x->len < y->len ? x->len : y->len;
    int c = m ? memcmp(x->p, y->p, (size_t)m) : 0;
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static void dset_free(dset *s)
{
    es_free(s->vals);
    es_free(s->slots);
    memset(s, 0, sizeof *s);
}

void es_part_dict_reset(es_part_dict *d)
{
    if (!d->cols)
        return;
    for (int64_t c = 0; c < d->n_cols; c++)
        es_array_ref_unref(d->cols[c].dict);
    if (d->codes)
        for (int64_t i = 0; i < d->n_cols * d->n_batches; i++)
            es_free(d->codes[i]);
    es_free(d->codes);
    es_free(d->cols);
    memset(d, 0, sizeof *d);
}

/* Build the sorted dictionary of column c from its distinct values, and the codes of every
 * batch. */
static es_status encode_column(es_part_dict *d, int64_t c, dset *s, const es_array_view *views,
                               int64_t n, int64_t rows, es_error *err)
{
    /* Sort, and give each distinct value its rank. */
    dval *sorted = es_malloc((size_t)(s->n ? s->n : 1) * sizeof *sorted);
    int32_t *rank = es_malloc((size_t)(s->n ? s->n : 1) * sizeof *rank);
    es_builder *b = NULL;
    struct ArrowSchema vs = {0};
    es_status st = ES_OK;
    if (!sorted || !rank) {
        st = es_error_set(err, ES_NOMEM, 0, "out of memory encoding a dictionary");
        goto done;
    }
    for (int64_t i = 0; i < s->n; i++) {
        sorted[i] = s->vals[i];
        sorted[i].code = (int32_t)i; /* its index in vals, for now */
    }
    qsort(sorted, (size_t)s->n, sizeof *sorted, dval_cmp);
    for (int64_t r = 0; r < s->n; r++)
        rank[sorted[r].code] = (int32_t)r;
    for (int64_t i = 0; i < s->n; i++)
        s->vals[i].code = rank[i];
    /* The dictionary: utf8 values in sorted order. */
    st = es_schema_init(&vs, "u", "", ARROW_FLAG_NULLABLE, err);
    if (!st)
        st = es_builder_new(&b, &vs, err);
    for (int64_t r = 0; r < s->n && !st; r++)
        st = es_builder_append_bytes(b, sorted[r].p, sorted[r].len);
    struct ArrowArray arr = {0};
    if (!st)
        st = es_builder_finish(b, &arr, err);
    if (!st)
        st = es_array_ref_new(&d->cols[c].dict, &arr, err);
    if (st) {
        if (st == ES_NOMEM)
            st = es_error_set(err, ES_NOMEM, 0, "out of memory encoding a dictionary");
        goto done;
    }
    int w = s->n <= 127 ? 1 : s->n <= 32767 ? 2 : 4;
    d->cols[c].index_format = w == 1 ? "c" : w == 2 ? "s" : "i";
    /* The codes of every batch (nulls get code 0 under their validity bit). */
    for (int64_t bi = 0; bi < n && !st; bi++) {
        const es_array_view *v = &views[bi * d->n_cols + c];
        uint8_t *codes = es_malloc((size_t)(v->length > 0 ? v->length : 1) * (size_t)w);
        if (!codes) {
            st = es_error_set(err, ES_NOMEM, 0, "out of memory encoding a dictionary");
            break;
        }
        d->codes[bi * d->n_cols + c] = codes;
        for (int64_t i = 0; i < v->length; i++) {
            int32_t code = 0;
            if (!es_view_is_null(v, i)) {
                int64_t len;
                const uint8_t *p = es_view_get_bytes(v, i, &len);
                code = s->vals[s->slots[dset_find(s, p, len)] - 1].code;
            }
            if (w == 1)
                codes[i] = (uint8_t)(int8_t)code;
            else if (w == 2) {
                int16_t x = (int16_t)code;
                memcpy(codes + 2 * i, &x, 2);
            } else
                memcpy(codes + 4 * i, &code, 4);
        }
    }
    (void)rows;
done:
    es_builder_free(b);
    es_schema_release(&vs);
    es_free(sorted);
    es_free(rank);
    return st;
}

/* Collect the distinct values of column c over the part; 0 when it does not pay. */
static int collect(dset *s, const es_array_view *views, int64_t n_cols, int64_t c, int64_t n,
                   int64_t *rows_out)
{
    int64_t rows = 0, plain = 0;
    s->cap = 1024;
    s->slots = es_calloc((size_t)s->cap, sizeof *s->slots);
    s->vals = es_malloc((size_t)ES_DICT_MAX_VALUES * sizeof *s->vals);
    if (!s->slots || !s->vals)
        return 0;
    for (int64_t b = 0; b < n; b++) {
        const es_array_view *v = &views[b * n_cols + c];
        rows += v->length;
        for (int64_t i = 0; i < v->length; i++) {
            if (es_view_is_null(v, i))
                continue;
            int64_t len;
            const uint8_t *p = es_view_get_bytes(v, i, &len);
            plain += len;
            int64_t at = dset_find(s, p, len);
            if (s->slots[at])
                continue;
            if (s->n == ES_DICT_MAX_VALUES || s->bytes + len > ES_DICT_MAX_BYTES)
                return 0;
            s->vals[s->n] = (dval){p, (int32_t)len, 0};
            s->bytes += len;
            s->slots[at] = (int32_t)++s->n;
            if (s->n * 2 > s->cap) {
                /* Grow the table and re-insert. */
                int64_t nc = s->cap * 2;
                int32_t *ns = es_calloc((size_t)nc, sizeof *ns);
                if (!ns)
                    return 0;
                es_free(s->slots);
                s->slots = ns;
                s->cap = nc;
                for (int64_t k = 0; k < s->n; k++)
                    s->slots[dset_find(s, s->vals[k].p, s->vals[k].len)] = (int32_t)(k + 1);
            }
        }
    }
    int w = s->n <= 127 ? 1 : s->n <= 32767 ? 2 : 4;
    *rows_out = rows;
    return rows > 0 && w * rows + s->bytes + 4 * (s->n + 1) <= (4 * rows + plain) / 2;
}

es_status es_part_dict_choose(es_part_dict *d, const es_part_col *cols, int64_t n_cols,
                              const struct ArrowSchema *schema, struct ArrowArray *batches,
                              int64_t n, es_error *err)
{
    memset(d, 0, sizeof *d);
    int any = 0;
    for (int64_t c = 0; c < n_cols; c++)
        any = any || cols[c].type.id == ES_TYPE_UTF8;
    if (!any || n <= 0)
        return ES_OK;
    es_array_view *views = es_calloc((size_t)n, sizeof *views);
    d->cols = es_calloc((size_t)n_cols, sizeof *d->cols);
    d->codes = es_calloc((size_t)(n_cols * n), sizeof *d->codes);
    d->n_cols = n_cols;
    d->n_batches = n;
    es_status st = ES_OK;
    if (!views || !d->cols || !d->codes) {
        st = es_error_set(err, ES_NOMEM, 0, "out of memory encoding dictionaries");
        goto done;
    }
    /* views[b].children[c] are the columns; flatten them for indexing by b * n_cols + c. */
    es_array_view *flat = es_calloc((size_t)(n * n_cols), sizeof *flat);
    if (!flat) {
        st = es_error_set(err, ES_NOMEM, 0, "out of memory encoding dictionaries");
        goto done;
    }
    for (int64_t b = 0; b < n && !st; b++) {
        st = es_array_view_init(&views[b], schema, &batches[b], err);
        for (int64_t c = 0; c < n_cols && !st; c++)
            flat[b * n_cols + c] = views[b].children[c];
    }
    for (int64_t c = 0; c < n_cols && !st; c++) {
        if (cols[c].type.id != ES_TYPE_UTF8)
            continue;
        dset s = {0};
        int64_t rows = 0;
        if (collect(&s, flat, n_cols, c, n, &rows))
            st = encode_column(d, c, &s, flat, n, rows, err);
        dset_free(&s);
    }
    es_free(flat);
done:
    for (int64_t b = 0; views && b < n; b++)
        es_array_view_reset(&views[b]);
    es_free(views);
    if (st)
        es_part_dict_reset(d);
    return st;
}

es_status es_part_dict_schema(struct ArrowSchema *schema, const es_part_dict *d, es_error *err)
{
    for (int64_t c = 0; d->cols && c < d->n_cols; c++) {
        if (!d->cols[c].dict)
            continue;
        struct ArrowSchema *f = schema->children[c];
        struct ArrowSchema *v = es_calloc(1, sizeof *v);
        char *fm = es_strdup(d->cols[c].index_format);
        es_status st = v && fm ? es_schema_init(v, "u", "", ARROW_FLAG_NULLABLE, err)
                               : es_error_set(err, ES_NOMEM, 0, "out of memory");
        if (st) {
            es_free(v);
            es_free(fm);
            return st;
        }
        es_free((void *)f->format);
        f->format = fm;
        f->dictionary = v;
        f->flags |= ARROW_FLAG_DICTIONARY_ORDERED;
    }
    return ES_OK;
}

/* ------------------------------------------------------ encoded batches */

typedef struct enc_priv {
    struct ArrowArray *kids; /* every column: index columns, or borrowed shallow copies */
    struct ArrowArray **ptrs;
    struct ArrowArray *dicts;
    uint8_t **valid;   /* index columns with nulls: their validity from bit 0 */
    const void **bufs; /* 2 per index column */
    const void *struct_buf[1];
    int64_t n;
} enc_priv;

static void release_enc(struct ArrowArray *a)
{
    enc_priv *p = a->private_data;
    if (p) {
        for (int64_t c = 0; p->dicts && p->valid && c < p->n; c++) {
            es_array_release(&p->dicts[c]);
            es_free(p->valid[c]);
        }
        es_free(p->kids);
        es_free(p->ptrs);
        es_free(p->dicts);
        es_free(p->valid);
        es_free(p->bufs);
        es_free(p);
    }
    a->release = NULL;
}

static void release_none(struct ArrowArray *a)
{
    a->release = NULL;
}

es_status es_part_dict_batch(struct ArrowArray *out, const es_part_dict *d, int64_t b,
                             const struct ArrowArray *batch, es_error *err)
{
    int64_t n = d->n_cols, len = batch->length;
    memset(out, 0, sizeof *out);
    enc_priv *p = es_calloc(1, sizeof *p);
    if (p) {
        p->kids = es_calloc((size_t)n, sizeof *p->kids);
        p->ptrs = es_calloc((size_t)n, sizeof *p->ptrs);
        p->dicts = es_calloc((size_t)n, sizeof *p->dicts);
        p->valid = es_calloc((size_t)n, sizeof *p->valid);
        p->bufs = es_calloc((size_t)(2 * n), sizeof *p->bufs);
        p->n = n;
    }
    es_status st = ES_OK;
    if (!p || !p->kids || !p->ptrs || !p->dicts || !p->valid || !p->bufs)
        st = es_error_set(err, ES_NOMEM, 0, "out of memory encoding dictionaries");
    /* Every column starts at the batch's first row, so the struct has offset 0. */
    for (int64_t c = 0; c < n && !st; c++) {
        const struct ArrowArray *src = batch->children[c];
        struct ArrowArray *k = &p->kids[c];
        int64_t off = src->offset + batch->offset;
        p->ptrs[c] = k;
        if (!d->cols[c].dict) {
            *k = *src;
            k->offset = off;
            k->length = len;
            k->null_count = src->null_count == 0 ? 0 : -1;
            k->release = release_none;
            continue;
        }
        const uint8_t *bits = src->null_count == 0 ? NULL : src->buffers[0];
        if (bits) {
            p->valid[c] = es_calloc((size_t)(len + 7) / 8 + 1, 1);
            if (!p->valid[c]) {
                st = es_error_set(err, ES_NOMEM, 0, "out of memory encoding dictionaries");
                break;
            }
            for (int64_t i = 0; i < len; i++)
                if ((bits[(off + i) >> 3] >> ((off + i) & 7)) & 1)
                    p->valid[c][i >> 3] |= (uint8_t)(1u << (i & 7));
        }
        p->bufs[2 * c] = p->valid[c];
        p->bufs[2 * c + 1] = d->codes[b * n + c];
        k->length = len;
        k->null_count = bits ? -1 : 0;
        k->n_buffers = 2;
        k->buffers = &p->bufs[2 * c];
        k->release = release_none;
        es_array_ref_export(&p->dicts[c], d->cols[c].dict);
        k->dictionary = &p->dicts[c];
    }
    if (st) {
        if (p) {
            out->private_data = p;
            release_enc(out);
        }
        return st;
    }
    out->length = len;
    out->n_buffers = 1;
    out->buffers = p->struct_buf;
    out->n_children = n;
    out->children = p->ptrs;
    out->private_data = p;
    out->release = release_enc;
    return ES_OK;
}

/* ------------------------------------------------- the .idx side (version 2) */

void es_part_idx_dict_free(es_part_idx *x)
{
    /* Each array may be missing: idx_dict_alloc ran out of memory part way. */
    for (int64_t c = 0; x->dict_fmt && c < x->n_cols; c++) {
        if (x->dict_msg)
            es_free(x->dict_msg[c]);
        if (x->dicts)
            es_array_ref_unref(x->dicts[c]);
    }
    es_free(x->dict_fmt);
    es_free(x->dict_msg);
    es_free(x->dict_msg_len);
    es_free(x->dicts);
    x->dict_fmt = NULL;
    x->dict_msg = NULL;
    x->dict_msg_len = NULL;
    x->dicts = NULL;
}

static es_status idx_dict_alloc(es_part_idx *x)
{
    size_t nc = (size_t)(x->n_cols > 0 ? x->n_cols : 1);
    x->dict_fmt = es_calloc(nc, 1);
    x->dict_msg = es_calloc(nc, sizeof *x->dict_msg);
    x->dict_msg_len = es_calloc(nc, sizeof *x->dict_msg_len);
    x->dicts = es_calloc(nc, sizeof *x->dicts);
    if (x->dict_fmt && x->dict_msg && x->dict_msg_len && x->dicts)
        return ES_OK;
    es_part_idx_dict_free(x);
    return ES_NOMEM;
}

es_status es_part_idx_dict_set(es_part_idx *x, const es_part_dict *d, const uint8_t *data,
                               const es_ipc_dict_block *blocks, int64_t n_blocks)
{
    if (!d->cols || n_blocks == 0)
        return ES_OK;
    if (idx_dict_alloc(x))
        return ES_NOMEM;
    for (int64_t i = 0; i < n_blocks; i++) {
        const es_ipc_dict_block *db = &blocks[i];
        int64_t c = db->field, len = db->block.metadata_length + db->block.body_length;
        if (c < 0 || c >= x->n_cols || !d->cols[c].dict)
            return ES_INTERNAL;
        x->dict_fmt[c] = d->cols[c].index_format[0];
        x->dict_msg[c] = es_malloc((size_t)len);
        if (!x->dict_msg[c])
            return ES_NOMEM;
        memcpy(x->dict_msg[c], data + db->block.offset, (size_t)len);
        x->dict_msg_len[c] = len;
        x->dicts[c] = es_array_ref_ref(d->cols[c].dict);
    }
    return ES_OK;
}

uint32_t es_part_idx_dict_crc(uint32_t crc, const es_part_idx *x)
{
    for (int64_t c = 0; x->dict_fmt && c < x->n_cols; c++) {
        if (!x->dict_fmt[c])
            continue;
        uint8_t h[17];
        es_store_u64(h, (uint64_t)c);
        h[8] = (uint8_t)x->dict_fmt[c];
        es_store_u64(h + 9, (uint64_t)x->dict_msg_len[c]);
        crc = es_crc32c(crc, h, sizeof h);
        crc = es_crc32c(crc, x->dict_msg[c], (size_t)x->dict_msg_len[c]);
    }
    return crc;
}

int64_t es_part_idx_dict_count(const es_part_idx *x)
{
    int64_t n = 0;
    for (int64_t c = 0; x->dict_fmt && c < x->n_cols; c++)
        n += x->dict_fmt[c] != 0;
    return n;
}

es_status es_part_idx_dict_metadata(char **keys, char **vals, const es_part_idx *x)
{
    static const char hex[] = "0123456789abcdef";
    int64_t k = 0;
    for (int64_t c = 0; x->dict_fmt && c < x->n_cols; c++) {
        if (!x->dict_fmt[c])
            continue;
        keys[k] = es_malloc(48);
        vals[k] = es_malloc(2 * (size_t)x->dict_msg_len[c] + 3);
        if (!keys[k] || !vals[k])
            return ES_NOMEM;
        snprintf(keys[k], 48, "expstore:dict.c%" PRId64, x->col_ids[c]);
        char *v = vals[k];
        *v++ = x->dict_fmt[c];
        *v++ = ':';
        for (int64_t i = 0; i < x->dict_msg_len[c]; i++) {
            *v++ = hex[x->dict_msg[c][i] >> 4];
            *v++ = hex[x->dict_msg[c][i] & 15];
        }
        *v = 0;
        k++;
    }
    return ES_OK;
}

static int unhex(char ch)
{
    return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Decode the dictionary message of column c (the .idx copy) into x->dicts[c]. */
static es_status decode_dict(es_part_idx *x, int64_t c, const char *name, es_error *err)
{
    struct ArrowSchema s = {0};
    int64_t *ids = es_malloc((size_t)x->n_cols * sizeof *ids);
    es_status st = ids ? es_schema_init_struct(&s, x->n_cols, err)
                       : es_error_set(err, ES_NOMEM, 0, "%s: out of memory", name);
    for (int64_t i = 0; !st && i < x->n_cols; i++) {
        char fmt[2] = {x->dict_fmt[i], 0};
        ids[i] = x->dict_fmt[i] ? i : -1;
        st = es_schema_init(s.children[i], x->dict_fmt[i] ? fmt : "n", "c", ARROW_FLAG_NULLABLE,
                            err);
        if (!st && x->dict_fmt[i]) {
            s.children[i]->dictionary = es_calloc(1, sizeof(struct ArrowSchema));
            st = s.children[i]->dictionary
                     ? es_schema_init(s.children[i]->dictionary, "u", "", ARROW_FLAG_NULLABLE, err)
                     : es_error_set(err, ES_NOMEM, 0, "%s: out of memory", name);
        }
    }
    struct ArrowArray v = {0};
    int64_t field = -1, n = x->dict_msg_len[c];
    int delta = 0;
    es_error sub;
    /* The values point into a blob of their own (they may outlive the .idx). */
    es_blob *blob = NULL;
    uint8_t *copy = st ? NULL : es_malloc((size_t)n);
    if (!st && (!copy || es_blob_new_owned(&blob, copy, (size_t)n) != ES_OK)) {
        es_free(copy);
        st = es_error_set(err, ES_NOMEM, 0, "%s: out of memory", name);
    }
    if (!st) {
        memcpy(copy, x->dict_msg[c], (size_t)n);
        int64_t ml =
            n >= 8 && es_load_u32(copy) == 0xFFFFFFFFu ? 8 + (int64_t)es_load_u32(copy + 4) : -1;
        if (ml < 8 || ml > n)
            st = es_error_set(&sub, ES_CORRUPT, 0, "bad framing");
        else
            st = es_ipc_decode_dictionary(&v, &field, &delta, &s, ids, copy, (size_t)ml, blob,
                                          copy + ml, n - ml, "dictionary", &sub);
        if (st)
            st = es_error_set(err, st == ES_NOMEM ? ES_NOMEM : ES_CORRUPT, 0,
                              "%s: dictionary of c%" PRId64 ": %s", name, x->col_ids[c], sub.msg);
    }
    if (!st && (field != c || delta)) {
        es_array_release(&v);
        st = es_error_set(err, ES_CORRUPT, 0, "%s: dictionary of c%" PRId64 " is not its own", name,
                          x->col_ids[c]);
    }
    if (!st)
        st = es_array_ref_new(&x->dicts[c], &v, err);
    es_blob_unref(blob);
    es_schema_release(&s);
    es_free(ids);
    return st;
}

es_status es_part_idx_dict_decode(es_part_idx *x, const char *md, const char *name, es_error *err)
{
    for (int64_t c = 0; c < x->n_cols; c++) {
        char key[48];
        int32_t len = 0;
        snprintf(key, sizeof key, "expstore:dict.c%" PRId64, x->col_ids[c]);
        const char *v = es_metadata_get(md, key, &len);
        if (!v)
            continue;
        if (!x->dict_fmt && idx_dict_alloc(x))
            return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", name);
        if (len < 4 || len % 2 != 0 || v[1] != ':' || (v[0] != 'c' && v[0] != 's' && v[0] != 'i'))
            return es_error_set(err, ES_CORRUPT, 0, "%s: malformed dictionary of c%" PRId64, name,
                                x->col_ids[c]);
        int64_t n = (len - 2) / 2;
        /* The message is read in place: keep it 8-aligned (es_malloc is). */
        uint8_t *m = es_malloc((size_t)n);
        if (!m)
            return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", name);
        for (int64_t i = 0; i < n; i++) {
            int hi = unhex(v[2 + 2 * i]), lo = unhex(v[3 + 2 * i]);
            if (hi < 0 || lo < 0) {
                es_free(m);
                return es_error_set(err, ES_CORRUPT, 0, "%s: malformed dictionary of c%" PRId64,
                                    name, x->col_ids[c]);
            }
            m[i] = (uint8_t)(hi << 4 | lo);
        }
        x->dict_fmt[c] = v[0];
        x->dict_msg[c] = m;
        x->dict_msg_len[c] = n;
    }
    return ES_OK;
}

es_status es_part_idx_dict_load(es_part_idx *x, const char *name, es_error *err)
{
    for (int64_t c = 0; x->dict_fmt && c < x->n_cols; c++) {
        if (!x->dict_fmt[c])
            continue;
        es_status st = decode_dict(x, c, name, err);
        if (st)
            return st;
    }
    return ES_OK;
}

es_status es_part_dict_decode_schema(struct ArrowSchema *schema, const es_part_idx *x,
                                     es_error *err)
{
    for (int64_t c = 0; x->dict_fmt && c < x->n_cols; c++) {
        if (!x->dict_fmt[c])
            continue;
        struct ArrowSchema *f = schema->children[c];
        char fmt[2] = {x->dict_fmt[c], 0};
        char *fm = es_strdup(fmt);
        struct ArrowSchema *v = es_calloc(1, sizeof *v);
        es_status st = fm && v ? es_schema_init(v, "u", "", ARROW_FLAG_NULLABLE, err)
                               : es_error_set(err, ES_NOMEM, 0, "out of memory");
        if (st) {
            es_free(fm);
            es_free(v);
            return st;
        }
        es_free((void *)f->format);
        f->format = fm;
        f->dictionary = v;
    }
    return ES_OK;
}

typedef struct wide_priv {
    void *bufs[2];
    struct ArrowArray dict;
} wide_priv;

static void release_wide(struct ArrowArray *a)
{
    wide_priv *p = a->private_data;
    if (p) {
        es_free(p->bufs[0]);
        es_free(p->bufs[1]);
        es_array_release(&p->dict);
        es_free(p);
    }
    a->release = NULL;
}

/* Replace the index column `col` (int8/int16 codes `fmt`, dictionary attached) by one with int32
 * indices (what es_scan_options.keep_dictionary promises), the same dictionary attached. */
static es_status widen_indices(struct ArrowArray *col, char fmt, es_array_ref *dict, es_error *err)
{
    if (fmt == 'i')
        return ES_OK;
    int64_t n = col->length, off = col->offset;
    wide_priv *p = es_calloc(1, sizeof *p);
    const uint8_t *bits = col->null_count != 0 ? col->buffers[0] : NULL;
    if (p) {
        p->bufs[1] = es_malloc((size_t)(n > 0 ? n : 1) * 4);
        p->bufs[0] = bits ? es_calloc((size_t)(n + 7) / 8 + 1, 1) : NULL;
    }
    if (!p || !p->bufs[1] || (bits && !p->bufs[0])) {
        if (p) {
            es_free(p->bufs[0]);
            es_free(p->bufs[1]);
        }
        es_free(p);
        return es_error_set(err, ES_NOMEM, 0, "out of memory widening dictionary indices");
    }
    int32_t *codes = p->bufs[1];
    const uint8_t *src = col->buffers[1];
    if (fmt == 'c') /* one loop per width: they vectorise */
        for (int64_t i = 0; i < n; i++)
            codes[i] = ((const int8_t *)src)[off + i];
    else
        for (int64_t i = 0; i < n; i++) {
            int16_t v;
            memcpy(&v, src + 2 * (off + i), 2);
            codes[i] = v;
        }
    for (int64_t i = 0; bits && i < n; i++)
        if ((bits[(off + i) >> 3] >> ((off + i) & 7)) & 1)
            ((uint8_t *)p->bufs[0])[i >> 3] |= (uint8_t)(1u << (i & 7));
    struct ArrowArray w = {0};
    w.length = n;
    w.null_count = bits ? col->null_count : 0;
    w.n_buffers = 2;
    w.buffers = (const void **)p->bufs;
    es_array_ref_export(&p->dict, dict);
    w.dictionary = &p->dict;
    w.private_data = p;
    w.release = release_wide;
    col->release(col);
    *col = w;
    return ES_OK;
}

es_status es_part_dict_decode_columns(struct ArrowArray *out, const struct ArrowSchema *schema,
                                      const es_part_idx *x, const int64_t *which, int64_t n_want,
                                      int keep, const char *what, es_error *err)
{
    for (int64_t k = 0; x->dict_fmt && k < n_want; k++) {
        int64_t c = which[k];
        if (!x->dict_fmt[c])
            continue;
        struct ArrowArray *col = out->children[k];
        es_status st = es_ipc_attach_dictionary(col, schema->children[c], x->dicts[c], what, err);
        if (!st && keep)
            st = widen_indices(col, x->dict_fmt[c], x->dicts[c], err);
        if (st)
            return st;
        if (keep)
            continue; /* every dictionary-encoded column, not only the first */
        struct ArrowArray m;
        st = es_dict_materialize(&m, schema->children[c], col, err);
        if (st) {
            es_error_prefix(err, "%s", what);
            return st == ES_NOMEM ? st : ES_CORRUPT;
        }
        col->release(col);
        *col = m;
    }
    return ES_OK;
}
