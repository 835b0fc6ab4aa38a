/*
 * flatbuf: minimal FlatBuffers builder and bounds-checked reader (see flatbuf.h for the binary
 * format and the invariants). Arrow layer, used by the IPC files (ipc_*.c).
 */
#include "arrow/flatbuf.h"

#include <string.h>

/* ---------------------------------------------------------------- builder */

void es_fb_builder_init(es_fb_builder *b)
{
    memset(b, 0, sizeof *b);
}

void es_fb_builder_reset(es_fb_builder *b)
{
    es_free(b->buf);
    memset(b, 0, sizeof *b);
}

/* Make room for `n` more bytes at the front; returns false (sticky) on failure. */
static bool grow_front(es_fb_builder *b, size_t n)
{
    if (b->failed)
        return false;
    if (b->buf && b->cap - b->size >= n)
        return true;
    size_t ncap = b->cap ? b->cap * 2 : 256;
    while (ncap - b->size < n) {
        if (ncap > SIZE_MAX / 2 || ncap > (size_t)1 << 31) {
            b->failed = true;
            return false;
        }
        ncap *= 2;
    }
    uint8_t *nb = es_malloc(ncap);
    if (!nb) {
        b->failed = true;
        return false;
    }
    if (b->size)
        memcpy(nb + ncap - b->size, b->buf + b->cap - b->size, b->size);
    es_free(b->buf);
    b->buf = nb;
    b->cap = ncap;
    return true;
}

/* Prepend an object of n bytes whose start must be `align`-aligned (relative to the end),
 * after zero padding. Returns a pointer to the object's first byte or NULL. */
static uint8_t *prepend(es_fb_builder *b, size_t n, size_t align)
{
    size_t pad = (align - (b->size + n) % align) % align;
    if (!grow_front(b, n + pad))
        return NULL;
    b->size += pad;
    memset(b->buf + b->cap - b->size, 0, pad);
    b->size += n;
    return b->buf + b->cap - b->size;
}

/* Pointer to the byte at end-relative position ref. */
static uint8_t *at_ref(es_fb_builder *b, es_fb_ref ref)
{
    return b->buf + b->cap - ref;
}

es_fb_ref es_fb_create_string(es_fb_builder *b, const char *s, size_t len)
{
    if (len > UINT32_MAX - 8)
        b->failed = true;
    uint8_t *p = prepend(b, 4 + len + 1, 4);
    if (!p)
        return 0;
    es_store_u32(p, (uint32_t)len);
    if (len)
        memcpy(p + 4, s, len);
    p[4 + len] = 0;
    return (es_fb_ref)b->size;
}

es_fb_ref es_fb_create_vector(es_fb_builder *b, const void *elems, size_t n, size_t elsz,
                              size_t align)
{
    if (elsz && n > (UINT32_MAX - 8) / elsz) {
        b->failed = true;
        return 0;
    }
    /* Elements aligned to `align`: prepend them first, then the count right before. */
    size_t bytes = n * elsz;
    uint8_t *p = prepend(b, bytes, align < 4 ? 4 : align);
    if (!p)
        return 0;
    if (bytes)
        memcpy(p, elems, bytes);
    p = prepend(b, 4, 4);
    if (!p)
        return 0;
    es_store_u32(p, (uint32_t)n);
    return (es_fb_ref)b->size;
}

es_fb_ref es_fb_create_ref_vector(es_fb_builder *b, const es_fb_ref *refs, size_t n)
{
    if (n > (UINT32_MAX - 8) / 4) {
        b->failed = true;
        return 0;
    }
    uint8_t *p = prepend(b, 4 + 4 * n, 4);
    if (!p)
        return 0;
    es_fb_ref start = (es_fb_ref)b->size;
    es_store_u32(p, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        es_fb_ref elem = start - 4 - (es_fb_ref)(4 * i);
        es_store_u32(p + 4 + 4 * i, elem - refs[i]);
    }
    return start;
}

void es_fb_table_start(es_fb_builder *b)
{
    b->in_table = true;
    b->n_fields = 0;
}

static void add_field(es_fb_builder *b, int slot, int size, bool is_ref, uint64_t v)
{
    if (b->n_fields >= ES_FB_MAX_FIELDS || slot < 0 || slot > 60) {
        b->failed = true; /* programming error; reported as failure at finish */
        return;
    }
    b->fields[b->n_fields].slot = (uint16_t)slot;
    b->fields[b->n_fields].size = (uint8_t)size;
    b->fields[b->n_fields].is_ref = is_ref;
    b->fields[b->n_fields].value = v;
    b->n_fields++;
}

void es_fb_add_scalar(es_fb_builder *b, int slot, int size, uint64_t bits)
{
    add_field(b, slot, size, false, bits);
}

void es_fb_add_ref(es_fb_builder *b, int slot, es_fb_ref ref)
{
    add_field(b, slot, 4, true, ref);
}

es_fb_ref es_fb_table_end(es_fb_builder *b)
{
    uint16_t off[ES_FB_MAX_FIELDS] = {0};
    int max_slot = -1;
    size_t pos = 4; /* after the soffset */
    b->in_table = false;
    if (b->failed)
        return 0;
    /* Lay fields out largest first, each aligned to its size. */
    for (int sz = 8; sz >= 1; sz /= 2) {
        for (int i = 0; i < b->n_fields; i++) {
            if (b->fields[i].size != sz)
                continue;
            pos = (pos + (size_t)sz - 1) & ~((size_t)sz - 1);
            off[i] = (uint16_t)pos;
            pos += (size_t)sz;
        }
    }
    for (int i = 0; i < b->n_fields; i++)
        if (b->fields[i].slot > max_slot)
            max_slot = b->fields[i].slot;
    size_t tbl_len = (pos + 3) & ~(size_t)3;
    uint8_t *t = prepend(b, tbl_len, 8);
    if (!t)
        return 0;
    memset(t, 0, tbl_len);
    es_fb_ref tref = (es_fb_ref)b->size;
    for (int i = 0; i < b->n_fields; i++) {
        uint8_t *f = t + off[i];
        uint64_t v = b->fields[i].value;
        if (b->fields[i].is_ref) {
            es_fb_ref fpos = tref - off[i];
            es_store_u32(f, fpos - (es_fb_ref)v);
        } else {
            /* Little-endian store of the low `size` bytes. */
            for (int k = 0; k < b->fields[i].size; k++)
                f[k] = (uint8_t)(v >> (8 * k));
        }
    }
    /* The vtable, just before the table. */
    size_t vt_len = 4 + 2 * (size_t)(max_slot + 1);
    uint8_t *vt = prepend(b, vt_len, 2);
    if (!vt)
        return 0;
    memset(vt, 0, vt_len);
    vt[0] = (uint8_t)vt_len;
    vt[1] = (uint8_t)(vt_len >> 8);
    vt[2] = (uint8_t)tbl_len;
    vt[3] = (uint8_t)(tbl_len >> 8);
    for (int i = 0; i < b->n_fields; i++) {
        vt[4 + 2 * b->fields[i].slot] = (uint8_t)off[i];
        vt[5 + 2 * b->fields[i].slot] = (uint8_t)(off[i] >> 8);
    }
    es_fb_ref vref = (es_fb_ref)b->size;
    /* soffset = table_pos - vtable_pos (absolute) = vref - tref (end-relative). */
    es_store_u32(at_ref(b, tref), (uint32_t)(int32_t)(vref - tref));
    return tref;
}

es_status es_fb_finish(es_fb_builder *b, es_fb_ref root, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    uint8_t *p = prepend(b, 4, 8);
    if (!p || b->failed) {
        es_fb_builder_reset(b);
        return ES_NOMEM;
    }
    es_store_u32(p, (uint32_t)b->size - root);
    uint8_t *res = es_malloc(b->size);
    if (!res) {
        es_fb_builder_reset(b);
        return ES_NOMEM;
    }
    memcpy(res, p, b->size);
    *out = res;
    *len = b->size;
    es_fb_builder_reset(b);
    return ES_OK;
}

/* ----------------------------------------------------------------- reader */

static int table_at(es_fb_table *t, const uint8_t *buf, size_t len, uint64_t pos)
{
    if (pos > len || len - pos < 4)
        return ES_FB_BAD;
    int32_t so = (int32_t)es_load_u32(buf + pos);
    int64_t vt = (int64_t)pos - (int64_t)so;
    if (vt < 0 || (uint64_t)vt > len || len - (uint64_t)vt < 4)
        return ES_FB_BAD;
    uint16_t vt_len = es_load_u16(buf + vt);
    uint16_t tbl_len = es_load_u16(buf + vt + 2);
    if (vt_len < 4 || (vt_len & 1) || len - (uint64_t)vt < vt_len)
        return ES_FB_BAD;
    if (tbl_len < 4 || len - pos < tbl_len)
        return ES_FB_BAD;
    t->buf = buf;
    t->len = len;
    t->pos = (size_t)pos;
    t->vt = (size_t)vt;
    t->vt_len = vt_len;
    t->tbl_len = tbl_len;
    return ES_FB_OK;
}

int es_fb_root(es_fb_table *t, const uint8_t *buf, size_t len)
{
    memset(t, 0, sizeof *t);
    if (!buf || len < 8)
        return ES_FB_BAD;
    return table_at(t, buf, len, es_load_u32(buf));
}

/* Offset of field `slot` inside the table, 0 when absent, -1 when it does not fit. */
static int64_t field_off(const es_fb_table *t, int slot, size_t size)
{
    size_t e = 4 + 2 * (size_t)slot;
    if (e + 2 > t->vt_len)
        return 0;
    uint16_t off = es_load_u16(t->buf + t->vt + e);
    if (off == 0)
        return 0;
    if (off < 4 || (size_t)off + size > t->tbl_len)
        return -1;
    return off;
}

static int get_scalar(const es_fb_table *t, int slot, size_t size, uint64_t *bits)
{
    int64_t off = field_off(t, slot, size);
    if (off < 0)
        return ES_FB_BAD;
    if (off == 0)
        return ES_FB_ABSENT;
    const uint8_t *p = t->buf + t->pos + off;
    uint64_t v = 0;
    for (size_t k = 0; k < size; k++)
        v |= (uint64_t)p[k] << (8 * k);
    *bits = v;
    return ES_FB_OK;
}

int es_fb_get_i64(const es_fb_table *t, int slot, int64_t def, int64_t *out)
{
    uint64_t v;
    int r = get_scalar(t, slot, 8, &v);
    *out = r == ES_FB_OK ? (int64_t)v : def;
    return r;
}

int es_fb_get_i32(const es_fb_table *t, int slot, int32_t def, int32_t *out)
{
    uint64_t v;
    int r = get_scalar(t, slot, 4, &v);
    *out = r == ES_FB_OK ? (int32_t)(uint32_t)v : def;
    return r;
}

int es_fb_get_i16(const es_fb_table *t, int slot, int16_t def, int16_t *out)
{
    uint64_t v;
    int r = get_scalar(t, slot, 2, &v);
    *out = r == ES_FB_OK ? (int16_t)(uint16_t)v : def;
    return r;
}

int es_fb_get_u8(const es_fb_table *t, int slot, uint8_t def, uint8_t *out)
{
    uint64_t v;
    int r = get_scalar(t, slot, 1, &v);
    *out = r == ES_FB_OK ? (uint8_t)v : def;
    return r;
}

/* Follow the uoffset stored at absolute position p. */
static int deref(const uint8_t *buf, size_t len, size_t p, uint64_t *target)
{
    if (p > len || len - p < 4)
        return ES_FB_BAD;
    uint64_t tg = (uint64_t)p + es_load_u32(buf + p);
    if (tg > len || len - tg < 4)
        return ES_FB_BAD;
    *target = tg;
    return ES_FB_OK;
}

static int get_ref(const es_fb_table *t, int slot, uint64_t *target)
{
    int64_t off = field_off(t, slot, 4);
    if (off < 0)
        return ES_FB_BAD;
    if (off == 0)
        return ES_FB_ABSENT;
    return deref(t->buf, t->len, t->pos + (size_t)off, target);
}

int es_fb_get_table(const es_fb_table *t, int slot, es_fb_table *out)
{
    uint64_t tg;
    int r = get_ref(t, slot, &tg);
    if (r != ES_FB_OK)
        return r;
    return table_at(out, t->buf, t->len, tg);
}

static int vec_at(es_fb_vec *v, const uint8_t *buf, size_t len, uint64_t tg, size_t elsz)
{
    uint32_t n = es_load_u32(buf + tg);
    uint64_t bytes = (uint64_t)n * elsz;
    if (len - tg - 4 < bytes)
        return ES_FB_BAD;
    v->buf = buf;
    v->len = len;
    v->pos = (size_t)tg + 4;
    v->n = n;
    v->elsz = elsz;
    return ES_FB_OK;
}

int es_fb_get_vector(const es_fb_table *t, int slot, size_t elsz, es_fb_vec *out)
{
    uint64_t tg;
    memset(out, 0, sizeof *out);
    int r = get_ref(t, slot, &tg);
    if (r != ES_FB_OK)
        return r;
    return vec_at(out, t->buf, t->len, tg, elsz);
}

static int string_at(const uint8_t *buf, size_t len, uint64_t tg, const char **s, uint32_t *slen)
{
    uint32_t n = es_load_u32(buf + tg);
    /* Bytes plus the terminating NUL must fit. */
    if (len - tg - 4 < (uint64_t)n + 1 || buf[tg + 4 + n] != 0)
        return ES_FB_BAD;
    *s = (const char *)buf + tg + 4;
    *slen = n;
    return ES_FB_OK;
}

int es_fb_get_string(const es_fb_table *t, int slot, const char **s, uint32_t *len)
{
    uint64_t tg;
    *s = NULL;
    *len = 0;
    int r = get_ref(t, slot, &tg);
    if (r != ES_FB_OK)
        return r;
    return string_at(t->buf, t->len, tg, s, len);
}

int es_fb_vec_table(const es_fb_vec *v, uint32_t i, es_fb_table *out)
{
    uint64_t tg;
    if (i >= v->n || v->elsz != 4)
        return ES_FB_BAD;
    if (deref(v->buf, v->len, v->pos + 4 * (size_t)i, &tg) != ES_FB_OK)
        return ES_FB_BAD;
    return table_at(out, v->buf, v->len, tg);
}

int es_fb_vec_string(const es_fb_vec *v, uint32_t i, const char **s, uint32_t *len)
{
    uint64_t tg;
    if (i >= v->n || v->elsz != 4)
        return ES_FB_BAD;
    if (deref(v->buf, v->len, v->pos + 4 * (size_t)i, &tg) != ES_FB_OK)
        return ES_FB_BAD;
    return string_at(v->buf, v->len, tg, s, len);
}
