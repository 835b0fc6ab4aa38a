/*
 * dv: deletion vectors (table layer): the sorted position set, the portable 64-bit Roaring
 * codec, and the Delta/Iceberg blob and `.delta` file around it. See dv.h for the byte layout
 * and the decoder's checks. No I/O.
 */
#include "table/dv.h"

#include <stdlib.h>
#include <string.h>

#define DV_MAGIC 1681511377u /* D1 D3 39 64 as little-endian bytes */
#define COOKIE_NO_RUN 12346u
#define COOKIE_RUN 12347u
#define ARRAY_MAX 4096 /* containers of more values are bitsets */

void es_dv_reset(es_dv *dv)
{
    es_free(dv->pos);
    memset(dv, 0, sizeof *dv);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static es_status reserve(es_dv *dv, int64_t n, es_error *err)
{
    if (n <= dv->cap)
        return ES_OK;
    int64_t cap = dv->cap ? dv->cap : 16;
    while (cap < n)
        cap *= 2;
    uint64_t *p = es_realloc(dv->pos, sizeof(uint64_t) * (size_t)cap);
    if (!p)
        return es_error_set(err, ES_NOMEM, 0, "deletion vector: out of memory");
    dv->pos = p;
    dv->cap = cap;
    return ES_OK;
}

es_status es_dv_add(es_dv *dv, const uint64_t *pos, int64_t n, es_error *err)
{
    if (n <= 0)
        return ES_OK;
    es_status st = reserve(dv, dv->n + n, err);
    if (st != ES_OK)
        return st;
    int sorted = dv->n == 0 || pos[0] > dv->pos[dv->n - 1];
    for (int64_t i = 1; i < n && sorted; i++)
        sorted = pos[i] > pos[i - 1];
    memcpy(dv->pos + dv->n, pos, sizeof(uint64_t) * (size_t)n);
    dv->n += n;
    if (sorted)
        return ES_OK;
    qsort(dv->pos, (size_t)dv->n, sizeof(uint64_t), cmp_u64);
    int64_t w = 0;
    for (int64_t i = 0; i < dv->n; i++)
        if (w == 0 || dv->pos[i] != dv->pos[w - 1])
            dv->pos[w++] = dv->pos[i];
    dv->n = w;
    return ES_OK;
}

es_status es_dv_union(es_dv *out, const es_dv *a, const es_dv *b, es_error *err)
{
    es_dv r = {0};
    es_status st = reserve(&r, a->n + b->n, err);
    if (st != ES_OK)
        return st;
    int64_t i = 0, j = 0;
    while (i < a->n || j < b->n) {
        uint64_t v;
        if (j >= b->n || (i < a->n && a->pos[i] < b->pos[j]))
            v = a->pos[i++];
        else if (i >= a->n || b->pos[j] < a->pos[i])
            v = b->pos[j++];
        else
            v = a->pos[i++], j++;
        r.pos[r.n++] = v;
    }
    if (out == a || out == b)
        es_free(out->pos);
    else
        es_dv_reset(out);
    *out = r;
    return ES_OK;
}

int64_t es_dv_lower_bound(const es_dv *dv, uint64_t pos)
{
    int64_t lo = 0, hi = dv->n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (dv->pos[mid] < pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int es_dv_contains(const es_dv *dv, uint64_t pos)
{
    int64_t i = es_dv_lower_bound(dv, pos);
    return i < dv->n && dv->pos[i] == pos;
}

int64_t es_dv_count_range(const es_dv *dv, uint64_t lo, uint64_t hi)
{
    return hi <= lo ? 0 : es_dv_lower_bound(dv, hi) - es_dv_lower_bound(dv, lo);
}

int es_dv_first_common(const es_dv *a, const es_dv *b, uint64_t *pos)
{
    int64_t x = 0, y = 0; /* both sorted: one pass */
    while (x < a->n && y < b->n && a->pos[x] != b->pos[y]) {
        if (a->pos[x] < b->pos[y])
            x++;
        else
            y++;
    }
    if (x == a->n || y == b->n)
        return 0;
    *pos = a->pos[x];
    return 1;
}

/* ------------------------------------------------------------- CRC-32 */

static uint32_t crc_table[256];
static int crc_ready;

uint32_t es_dv_crc32(uint32_t crc, const void *data, size_t n)
{
    if (!__atomic_load_n(&crc_ready, __ATOMIC_ACQUIRE)) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            crc_table[i] = c; /* the same values in every thread: a benign race */
        }
        __atomic_store_n(&crc_ready, 1, __ATOMIC_RELEASE);
    }
    const uint8_t *p = data;
    crc = ~crc;
    for (size_t i = 0; i < n; i++)
        crc = crc_table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

/* ------------------------------------------------------------ encoding */

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void put32be(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}
static uint32_t get16(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint32_t get32be(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Append the 32-bit Roaring bitmap of positions pos[0..n) (all sharing the high 32 bits). */
static es_status encode32(es_buf *out, const uint64_t *pos, int64_t n, es_error *err)
{
    int64_t nc = 0;
    for (int64_t i = 0; i < n; i++)
        if (i == 0 || (pos[i] >> 16) != (pos[i - 1] >> 16))
            nc++;
    size_t head = out->len;
    size_t hdr = 8 + 8 * (size_t)nc; /* cookie, count, (key, card-1) and offset per container */
    if (es_buf_append_zeros(out, hdr) != ES_OK)
        return es_error_set(err, ES_NOMEM, 0, "deletion vector: out of memory");
    put32(out->data + head, COOKIE_NO_RUN);
    put32(out->data + head + 4, (uint32_t)nc);
    int64_t c = 0;
    for (int64_t i = 0; i < n; c++) {
        int64_t j = i;
        while (j < n && (pos[j] >> 16) == (pos[i] >> 16))
            j++;
        int64_t card = j - i;
        uint8_t *d = out->data + head + 8 + 4 * (size_t)c;
        put16(d, (uint32_t)((pos[i] >> 16) & 0xFFFF));
        put16(d + 2, (uint32_t)(card - 1));
        put32(out->data + head + 8 + 4 * (size_t)nc + 4 * (size_t)c, (uint32_t)(out->len - head));
        size_t at = out->len;
        size_t size = card <= ARRAY_MAX ? 2 * (size_t)card : 8192;
        if (es_buf_append_zeros(out, size) != ES_OK)
            return es_error_set(err, ES_NOMEM, 0, "deletion vector: out of memory");
        uint8_t *b = out->data + at;
        for (int64_t k = i; k < j; k++) {
            uint32_t low = (uint32_t)(pos[k] & 0xFFFF);
            if (card <= ARRAY_MAX)
                put16(b + 2 * (k - i), low);
            else
                b[low >> 3] |= (uint8_t)(1u << (low & 7));
        }
        i = j;
    }
    return ES_OK;
}

es_status es_dv_roaring_encode(es_buf *out, const es_dv *dv, es_error *err)
{
    int64_t nb = 0;
    for (int64_t i = 0; i < dv->n; i++)
        if (i == 0 || (dv->pos[i] >> 32) != (dv->pos[i - 1] >> 32))
            nb++;
    uint8_t b8[8];
    for (int k = 0; k < 8; k++)
        b8[k] = (uint8_t)((uint64_t)nb >> (8 * k));
    if (es_buf_append(out, b8, 8) != ES_OK)
        return es_error_set(err, ES_NOMEM, 0, "deletion vector: out of memory");
    for (int64_t i = 0; i < dv->n;) {
        int64_t j = i;
        while (j < dv->n && (dv->pos[j] >> 32) == (dv->pos[i] >> 32))
            j++;
        uint8_t k4[4];
        put32(k4, (uint32_t)(dv->pos[i] >> 32));
        if (es_buf_append(out, k4, 4) != ES_OK)
            return es_error_set(err, ES_NOMEM, 0, "deletion vector: out of memory");
        es_status st = encode32(out, dv->pos + i, j - i, err);
        if (st != ES_OK)
            return st;
        i = j;
    }
    return ES_OK;
}

es_status es_dv_blob_encode(es_buf *out, const es_dv *dv, es_error *err)
{
    size_t start = out->len;
    uint8_t h[8];
    put32(h + 4, DV_MAGIC);
    if (es_buf_append(out, h, 8) != ES_OK)
        return es_error_set(err, ES_NOMEM, 0, "deletion vector: out of memory");
    es_status st = es_dv_roaring_encode(out, dv, err);
    if (st != ES_OK)
        return st;
    size_t len = out->len - start - 4; /* magic + bitmap */
    if (len > UINT32_MAX)
        return es_error_set(err, ES_INVALID, 0, "deletion vector: %zu bytes is too large", len);
    put32be(out->data + start, (uint32_t)len);
    uint8_t c[4];
    put32be(c, es_dv_crc32(0, out->data + start + 4, len));
    if (es_buf_append(out, c, 4) != ES_OK)
        return es_error_set(err, ES_NOMEM, 0, "deletion vector: out of memory");
    return ES_OK;
}

es_status es_dv_file_encode(es_buf *out, const es_dv *dv, es_error *err)
{
    uint8_t v = 1;
    if (es_buf_append(out, &v, 1) != ES_OK)
        return es_error_set(err, ES_NOMEM, 0, "deletion vector: out of memory");
    return es_dv_blob_encode(out, dv, err);
}

/* ------------------------------------------------------------ decoding */

typedef struct rd {
    const uint8_t *p;
    size_t n, at;
    const char *name;
    es_error *err;
} rd;

static es_status bad(rd *r, const char *what)
{
    return es_error_set(r->err, ES_CORRUPT, 0, "%s: deletion vector: %s at byte %zu", r->name, what,
                        r->at);
}

static int need(rd *r, size_t k)
{
    return r->n - r->at >= k;
}

static es_status push(es_dv *out, uint64_t v, uint64_t limit, rd *r)
{
    if (v >= limit)
        return es_error_set(r->err, ES_CORRUPT, 0,
                            "%s: deletion vector: position %llu is beyond the part's %llu rows",
                            r->name, (unsigned long long)v, (unsigned long long)limit);
    if (out->n > 0 && v <= out->pos[out->n - 1])
        return bad(r, "positions not strictly ascending");
    if (out->n == out->cap && reserve(out, out->n + 1, r->err) != ES_OK)
        return ES_NOMEM;
    out->pos[out->n++] = v;
    return ES_OK;
}

/* One 32-bit Roaring bitmap of positions with high bits `high`. */
static es_status decode32(es_dv *out, rd *r, uint64_t high, uint64_t limit)
{
    if (!need(r, 4))
        return bad(r, "truncated bitmap header");
    uint32_t cookie = get32(r->p + r->at);
    size_t base = r->at;
    uint32_t size;
    const uint8_t *runbits = NULL;
    int offsets;
    if ((cookie & 0xFFFF) == COOKIE_RUN) {
        size = (cookie >> 16) + 1;
        r->at += 4;
        size_t rb = (size + 7) / 8;
        if (!need(r, rb))
            return bad(r, "truncated run bitset");
        runbits = r->p + r->at;
        r->at += rb;
        offsets = size >= 4;
    } else if (cookie == COOKIE_NO_RUN) {
        if (!need(r, 8))
            return bad(r, "truncated bitmap header");
        size = get32(r->p + r->at + 4);
        r->at += 8;
        offsets = 1;
    } else {
        return bad(r, "unknown Roaring cookie");
    }
    if (size > 65536)
        return bad(r, "more than 65536 containers");
    size_t hdr = 4 * (size_t)size + (offsets ? 4 * (size_t)size : 0);
    if (!need(r, hdr))
        return bad(r, "truncated container headers");
    const uint8_t *desc = r->p + r->at;
    r->at += hdr;
    for (uint32_t c = 0; c < size; c++) {
        uint32_t key = get16(desc + 4 * c), card = get16(desc + 4 * c + 2) + 1;
        if (c > 0 && key <= get16(desc + 4 * (c - 1)))
            return bad(r, "container keys not strictly ascending");
        if (offsets && get32(desc + 4 * size + 4 * c) != r->at - base)
            return bad(r, "container offset does not match its position");
        uint64_t hk = high << 32 | (uint64_t)key << 16;
        es_status st;
        if (runbits && (runbits[c / 8] >> (c % 8)) & 1) {
            if (!need(r, 2))
                return bad(r, "truncated run container");
            uint32_t nruns = get16(r->p + r->at);
            r->at += 2;
            if (!need(r, 4 * (size_t)nruns))
                return bad(r, "truncated run container");
            uint32_t total = 0;
            for (uint32_t k = 0; k < nruns; k++) {
                uint32_t start = get16(r->p + r->at), len = get16(r->p + r->at + 2) + 1;
                if (start + len > 65536)
                    return bad(r, "run past the end of its container");
                for (uint32_t v = start; v < start + len; v++)
                    if ((st = push(out, hk | v, limit, r)) != ES_OK)
                        return st;
                total += len;
                r->at += 4;
            }
            if (total != card)
                return bad(r, "run container cardinality does not match its header");
        } else if (card <= ARRAY_MAX) {
            if (!need(r, 2 * (size_t)card))
                return bad(r, "truncated array container");
            for (uint32_t k = 0; k < card; k++)
                if ((st = push(out, hk | get16(r->p + r->at + 2 * k), limit, r)) != ES_OK)
                    return st;
            r->at += 2 * (size_t)card;
        } else {
            if (!need(r, 8192))
                return bad(r, "truncated bitset container");
            uint32_t total = 0;
            const uint8_t *b = r->p + r->at;
            for (uint32_t v = 0; v < 65536; v++)
                if ((b[v >> 3] >> (v & 7)) & 1) {
                    if ((st = push(out, hk | v, limit, r)) != ES_OK)
                        return st;
                    total++;
                }
            if (total != card)
                return bad(r, "bitset container cardinality does not match its header");
            r->at += 8192;
        }
    }
    return ES_OK;
}

es_status es_dv_roaring_decode(es_dv *out, const uint8_t *p, size_t n, uint64_t limit,
                               const char *name, es_error *err)
{
    memset(out, 0, sizeof *out);
    rd r = {p, n, 0, name, err};
    es_status st = ES_OK;
    if (!need(&r, 8)) {
        st = bad(&r, "truncated bucket count");
        goto fail;
    }
    uint64_t nb = 0;
    for (int k = 0; k < 8; k++)
        nb |= (uint64_t)p[k] << (8 * k);
    r.at = 8;
    if (nb > (n - 8) / 12) { /* a bucket takes 12 bytes at least */
        st = bad(&r, "bucket count larger than the bytes allow");
        goto fail;
    }
    int64_t prev = -1;
    for (uint64_t b = 0; b < nb; b++) {
        if (!need(&r, 4)) {
            st = bad(&r, "truncated bucket key");
            goto fail;
        }
        uint32_t key = get32(p + r.at);
        if ((int64_t)key <= prev) {
            st = bad(&r, "bucket keys not strictly ascending");
            goto fail;
        }
        if (key & 0x80000000u) {
            st = bad(&r, "bucket key with its high bit set");
            goto fail;
        }
        prev = key;
        r.at += 4;
        if ((st = decode32(out, &r, key, limit)) != ES_OK)
            goto fail;
    }
    if (r.at != n) {
        st = bad(&r, "trailing bytes after the bitmap");
        goto fail;
    }
    return ES_OK;
fail:
    es_dv_reset(out);
    return st;
}

es_status es_dv_blob_decode(es_dv *out, const uint8_t *p, size_t n, uint64_t limit,
                            const char *name, es_error *err)
{
    memset(out, 0, sizeof *out);
    if (n < 12)
        return es_error_set(err, ES_CORRUPT, 0, "%s: deletion vector: %zu bytes is too short", name,
                            n);
    uint32_t len = get32be(p);
    if ((size_t)len != n - 8)
        return es_error_set(err, ES_CORRUPT, 0,
                            "%s: deletion vector: length field %u does not match %zu bytes", name,
                            len, n);
    if (get32(p + 4) != DV_MAGIC)
        return es_error_set(err, ES_CORRUPT, 0, "%s: deletion vector: bad magic", name);
    uint32_t want = get32be(p + n - 4), got = es_dv_crc32(0, p + 4, len);
    if (want != got)
        return es_error_set(err, ES_CORRUPT, 0,
                            "%s: deletion vector: CRC-32 mismatch (stored %08x, computed %08x)",
                            name, want, got);
    return es_dv_roaring_decode(out, p + 8, len - 4, limit, name, err);
}

es_status es_dv_file_decode(es_dv *out, const uint8_t *p, size_t n, uint64_t limit,
                            const char *name, es_error *err)
{
    memset(out, 0, sizeof *out);
    if (n < 1 || p[0] != 1)
        return es_error_set(err, ES_CORRUPT, 0,
                            "%s: not a deletion-vector file (version byte %d, expected 1)", name,
                            n ? p[0] : -1);
    return es_dv_blob_decode(out, p + 1, n - 1, limit, name, err);
}
