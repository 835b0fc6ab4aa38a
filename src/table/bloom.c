/*
 * bloom: per-batch split-block Bloom filters in a `.six` object (table layer; see bloom.h and
 * docs/FORMAT.md section 2b for the bytes).
 *
 * The filter is Parquet's split-block Bloom filter (parquet-format BloomFilter.md, as Impala
 * and Lance use it): blocks of 256 bits (eight 32-bit words); a value's 64-bit hash picks a
 * block with its high 32 bits ((h >> 32) * blocks >> 32) and sets one bit in each word with
 * its low 32 bits multiplied by eight odd salts (bit = (key * salt[i]) >> 27). A lookup tests
 * the same eight bits: one cache line, no false negatives. We size each batch's filter to
 * about 10 bits per distinct value (a false positive rate near 1%).
 */
#include <stdio.h>
#include <stdlib.h>

#include "table/bloom.h"

#define BL_MAGIC "ESBL"
#define BL_VERSION 1
#define BL_HEADER 32
#define BL_DIR 16            /* per batch: u64 first row, u32 blocks, u32 zero */
#define BL_MAX_BLOCKS 4096   /* 128 KiB per batch at most */
#define BL_BITS_PER_VALUE 10 /* about 1% false positives */

static const uint32_t salt[8] = {0x47b6137bU, 0x44974d91U, 0x8824ad5bU, 0xa2b7289dU,
                                 0x705495c7U, 0x2df1424bU, 0x9efc4947U, 0x5c6bfb31U};

uint64_t es_bloom_hash(es_domain dom, const es_scalar *v)
{
    uint8_t b[8];
    const uint8_t *p = b;
    size_t n = 8;
    switch (dom) {
    case ES_DOM_INT:
        es_store_u64(b, (uint64_t)v->i);
        break;
    case ES_DOM_UINT:
        es_store_u64(b, v->u);
        break;
    case ES_DOM_DOUBLE: {
        double d = v->d == 0 ? 0.0 : v->d; /* -0.0 equals 0.0 */
        memcpy(b, &d, 8);
        break;
    }
    default:
        p = v->p;
        n = (size_t)v->len;
    }
    return es_hash_mix(es_hash_fnv(p, n)); /* FNV-1a, spread over 64 bits */
}

static void insert(uint8_t *f, int64_t blocks, uint64_t h)
{
    uint8_t *blk = f + 32 * (int64_t)(((h >> 32) * (uint64_t)blocks) >> 32);
    uint32_t key = (uint32_t)h;
    for (int i = 0; i < 8; i++) {
        uint32_t w = es_load_u32(blk + 4 * i) | 1u << ((key * salt[i]) >> 27);
        es_store_u32(blk + 4 * i, w);
    }
}

int es_bloom_may_contain(const es_bloom *b, int64_t batch, uint64_t h)
{
    int64_t blocks = b->blocks[batch];
    if (blocks == 0)
        return 0; /* no non-null value in the batch */
    const uint8_t *blk = b->filter[batch] + 32 * (int64_t)(((h >> 32) * (uint64_t)blocks) >> 32);
    uint32_t key = (uint32_t)h;
    for (int i = 0; i < 8; i++)
        if (!(es_load_u32(blk + 4 * i) >> ((key * salt[i]) >> 27) & 1))
            return 0;
    return 1;
}

es_status es_bloom_encode(es_buf *out, es_domain dom, const uint64_t *h, const uint32_t *pos,
                          int64_t n, const int64_t *first_row, int64_t n_batches)
{
    int64_t *ndv = es_calloc((size_t)(n_batches > 0 ? n_batches : 1), sizeof(int64_t));
    int64_t *at = es_calloc((size_t)(n_batches > 0 ? n_batches : 1), sizeof(int64_t));
    if (!ndv || !at) {
        es_free(ndv);
        es_free(at);
        return ES_NOMEM;
    }
    /* The batch of each entry; distinct (value, batch) pairs per batch size the filters. */
    int64_t prev_b = -1;
    for (int64_t i = 0, b = 0; i < n; i++) {
        if (i > 0 && pos[i] < pos[i - 1])
            b = 0; /* a new value: its positions start again */
        while (b < n_batches && first_row[b + 1] <= (int64_t)pos[i])
            b++;
        if (b < n_batches && (i == 0 || h[i] != h[i - 1] || b != prev_b))
            ndv[b]++;
        prev_b = b;
    }
    uint8_t hdr[BL_HEADER];
    memcpy(hdr, BL_MAGIC, 4);
    es_store_u32(hdr + 4, BL_VERSION);
    es_store_u32(hdr + 8, (uint32_t)dom);
    es_store_u32(hdr + 12, (uint32_t)n_batches);
    es_store_u64(hdr + 16, (uint64_t)n);
    es_store_u64(hdr + 24, (uint64_t)first_row[n_batches]);
    es_status st = es_buf_append(out, hdr, BL_HEADER);
    size_t filters = out->len + (size_t)BL_DIR * (size_t)n_batches;
    int64_t total = 0;
    for (int64_t b = 0; b < n_batches && !st; b++) {
        int64_t blocks = (ndv[b] * BL_BITS_PER_VALUE + 255) / 256;
        blocks = blocks > BL_MAX_BLOCKS ? BL_MAX_BLOCKS : blocks;
        uint8_t d[BL_DIR];
        es_store_u64(d, (uint64_t)first_row[b]);
        es_store_u32(d + 8, (uint32_t)blocks);
        es_store_u32(d + 12, 0);
        st = es_buf_append(out, d, BL_DIR);
        at[b] = total;
        ndv[b] = blocks;
        total += blocks;
    }
    if (!st)
        st = es_buf_append_zeros(out, (size_t)(32 * total));
    if (!st) {
        for (int64_t i = 0, b = 0; i < n; i++) {
            if (i > 0 && pos[i] < pos[i - 1])
                b = 0;
            while (b < n_batches && first_row[b + 1] <= (int64_t)pos[i])
                b++;
            if (b < n_batches)
                insert(out->data + filters + 32 * at[b], ndv[b], h[i]);
        }
    }
    es_free(ndv);
    es_free(at);
    return st;
}

void es_bloom_reset(es_bloom *b)
{
    es_free(b->first_row);
    es_free(b->filter);
    es_free(b->blocks);
    memset(b, 0, sizeof(*b));
}

static es_status bad(es_error *err, const char *key, const char *why)
{
    return es_error_set(err, ES_CORRUPT, 0, "%s: %s", key, why);
}

es_status es_bloom_decode(es_bloom *out, const uint8_t *p, size_t n, es_domain dom, int64_t entries,
                          int64_t rows, const char *key, es_error *err)
{
    memset(out, 0, sizeof(*out));
    if (n < BL_HEADER || memcmp(p, BL_MAGIC, 4) != 0)
        return bad(err, key, "not a Bloom filter table (bad magic)");
    if (es_load_u32(p + 4) != BL_VERSION)
        return bad(err, key, "unsupported Bloom filter version");
    if (es_load_u32(p + 8) != (uint32_t)dom)
        return bad(err, key, "index of another column type");
    int64_t nb = es_load_u32(p + 12), hrows = (int64_t)es_load_u64(p + 24);
    if ((int64_t)es_load_u64(p + 16) != entries || (rows >= 0 && hrows != rows) || hrows < 0)
        return bad(err, key, "entry or row count differs from the log");
    rows = hrows;
    if ((uint64_t)nb > (n - BL_HEADER) / BL_DIR)
        return bad(err, key, "truncated Bloom filter table");
    out->n_batches = nb;
    out->first_row = es_calloc((size_t)nb + 1, sizeof(int64_t));
    out->filter = es_calloc((size_t)(nb > 0 ? nb : 1), sizeof(uint8_t *));
    out->blocks = es_calloc((size_t)(nb > 0 ? nb : 1), sizeof(int64_t));
    if (!out->first_row || !out->filter || !out->blocks) {
        es_bloom_reset(out);
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    }
    size_t o = BL_HEADER + (size_t)BL_DIR * (size_t)nb;
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *d = p + BL_HEADER + BL_DIR * b;
        int64_t first = (int64_t)es_load_u64(d), blocks = es_load_u32(d + 8);
        if (first != (b == 0 ? 0 : out->first_row[b]) || first > rows ||
            (b > 0 && first < out->first_row[b - 1]) || es_load_u32(d + 12) != 0 ||
            blocks > BL_MAX_BLOCKS || (size_t)(32 * blocks) > n - o) {
            es_bloom_reset(out);
            return bad(err, key, "Bloom filter directory out of order or out of range");
        }
        out->first_row[b] = first;
        out->first_row[b + 1] = b + 1 < nb ? (int64_t)es_load_u64(d + BL_DIR) : rows;
        out->filter[b] = p + o;
        out->blocks[b] = blocks;
        o += (size_t)(32 * blocks);
    }
    if (o != n || (nb == 0 && rows != 0) ||
        (nb > 0 && out->first_row[nb] < out->first_row[nb - 1])) {
        es_bloom_reset(out);
        return bad(err, key, "Bloom filter table does not match its batches");
    }
    return ES_OK;
}
