/*
 * bloom (internal, table layer): per-batch split-block Bloom filters, the form a `.six` index
 * object takes for a part where the indexed column repeats its values within batches (low
 * cardinality: a sorted index would hold one entry per row for little pruning). The object's
 * bytes are in docs/FORMAT.md section 2b; index.c chooses the form per part and calls these.
 */
#ifndef ES_TABLE_BLOOM_H
#define ES_TABLE_BLOOM_H

#include "table/table.h"

/** A part gets Bloom filters instead of sorted pages when its non-null values repeat at least
 * this many times per batch on average (entries / distinct (value, batch) pairs). */
#define ES_BLOOM_MIN_REPEAT 16

/** The hash of value v of domain dom (the value bytes of the .six encoding, -0.0 as 0.0). */
uint64_t es_bloom_hash(es_domain dom, const es_scalar *v);

/**
 * Append the Bloom lookup table of a part to out: n entries (hashes h[i] of the values, sorted
 * by value then position, with positions pos[i]), the part's n_batches batches starting at
 * first_row[0..n_batches] (rows: first_row[n_batches]); domain dom, entries n.
 */
es_status es_bloom_encode(es_buf *out, es_domain dom, const uint64_t *h, const uint32_t *pos,
                          int64_t n, const int64_t *first_row, int64_t n_batches);

/** A decoded Bloom lookup table (pointers into the bytes it was decoded from). */
typedef struct es_bloom {
    int64_t n_batches;
    int64_t *first_row; /* n_batches + 1 */
    const uint8_t **filter;
    int64_t *blocks; /* per batch: 32-byte blocks of its filter */
} es_bloom;

/** Decode and check the Bloom lookup table p[0..n) (magic ESBL; the checks of FORMAT.md 2b)
 * for domain dom, `entries` values and `rows` rows (-1: as it says; the caller compares
 * first_row with the part's batches): ES_CORRUPT naming `key` otherwise. */
es_status es_bloom_decode(es_bloom *out, const uint8_t *p, size_t n, es_domain dom, int64_t entries,
                          int64_t rows, const char *key, es_error *err);
void es_bloom_reset(es_bloom *b);
/** May batch b hold a value of hash h? (0: certainly not.) */
int es_bloom_may_contain(const es_bloom *b, int64_t batch, uint64_t h);

#endif /* ES_TABLE_BLOOM_H */
