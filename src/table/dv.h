/*
 * dv (internal, table layer): deletion vectors, the deleted row positions of one part.
 *
 * In memory a vector is a sorted array of unique row positions (uint64, ordinals within the
 * part). On the wire it is the deletion-vector blob that Delta Lake and Iceberg v3 share, so a
 * Delta or Iceberg reader decodes our bytes unchanged:
 *
 *   offset  size  field
 *   0       4     length L = 4 + bitmap size, u32 big-endian (Iceberg's blob length / Delta's
 *                 dataSize)
 *   4       4     magic D1 D3 39 64 (u32 little-endian 1681511377)
 *   8       L-4   the positions as a portable 64-bit Roaring bitmap (little-endian):
 *                   u64 number of buckets; per bucket, in ascending order of key:
 *                   u32 key (high 32 bits of the positions) and a 32-bit Roaring bitmap of
 *                   the low 32 bits (cookie 12346 with array and bitset containers when we
 *                   write; 12347 with run containers is also read)
 *   4+L     4     CRC-32 (IEEE 802.3, as zlib) of the L bytes from the magic, u32 big-endian
 *
 * A `.delta` object is the Delta Lake deletion-vector file holding one such blob: a version
 * byte 1, then the blob at offset 1. docs/FORMAT.md has the layout and a worked example.
 *
 * The decoder trusts nothing: it checks the length, magic and CRC before parsing, then every
 * bound, cookie, container count and cardinality, that keys ascend strictly, that array values
 * ascend strictly, that runs neither overlap nor wrap, and that bitsets hold the cardinality
 * their header declares; any failure is ES_CORRUPT naming the object.
 */
#ifndef ES_TABLE_DV_H
#define ES_TABLE_DV_H

#include "util/util.h"

typedef struct es_dv {
    uint64_t *pos; /* sorted, unique */
    int64_t n, cap;
} es_dv;

void es_dv_reset(es_dv *dv);
/* Add positions (any order, duplicates allowed); keeps the vector sorted and unique. */
es_status es_dv_add(es_dv *dv, const uint64_t *pos, int64_t n, es_error *err);
/* *out = a | b. out may be a or b. */
es_status es_dv_union(es_dv *out, const es_dv *a, const es_dv *b, es_error *err);
/* 1 when pos is in the vector. */
int es_dv_contains(const es_dv *dv, uint64_t pos);
/* Index of the first position >= pos. */
int64_t es_dv_lower_bound(const es_dv *dv, uint64_t pos);
/* Number of positions in [lo, hi). */
int64_t es_dv_count_range(const es_dv *dv, uint64_t lo, uint64_t hi);
/* 1 and *pos set to the first position in both a and b, else 0. */
int es_dv_first_common(const es_dv *a, const es_dv *b, uint64_t *pos);

/* The portable 64-bit Roaring bitmap alone (no length, magic or CRC). */
es_status es_dv_roaring_encode(es_buf *out, const es_dv *dv, es_error *err);
/* Decoders: every position must be below `limit` (the part's row count), which also bounds the
 * memory a crafted vector can make the decoder allocate. */
es_status es_dv_roaring_decode(es_dv *out, const uint8_t *p, size_t n, uint64_t limit,
                               const char *name, es_error *err);

/* The Delta/Iceberg blob: length, magic, bitmap, CRC-32 (appended to out). */
es_status es_dv_blob_encode(es_buf *out, const es_dv *dv, es_error *err);
/* Decode a blob of exactly n bytes; `name` names the object in errors. */
es_status es_dv_blob_decode(es_dv *out, const uint8_t *p, size_t n, uint64_t limit,
                            const char *name, es_error *err);

/* A `.delta` object: version byte 1, then one blob. */
es_status es_dv_file_encode(es_buf *out, const es_dv *dv, es_error *err);
es_status es_dv_file_decode(es_dv *out, const uint8_t *p, size_t n, uint64_t limit,
                            const char *name, es_error *err);

/* CRC-32 (IEEE 802.3, reflected, as zlib's crc32): start with crc = 0. */
uint32_t es_dv_crc32(uint32_t crc, const void *data, size_t n);

#endif /* ES_TABLE_DV_H */
