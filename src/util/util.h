/*
 * util: the bottom layer. Growable byte buffers, checksums, small helpers. Everything above
 * uses these; this file depends on nothing but libc and the public common.h.
 */
#ifndef ES_UTIL_H
#define ES_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "expstore/common.h"

/* Internal test hook: make the Nth allocation from now fail (0 disables). `persist`: every
 * allocation after it fails too. Returns the number of allocations made since the last call. */
int64_t es_util_alloc_fail_at(int64_t n, int persist);

/** A growable byte buffer. Zero-initialise ({0}) before use. */
typedef struct es_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} es_buf;
es_status es_buf_reserve(es_buf *b, size_t extra);
es_status es_buf_append(es_buf *b, const void *p, size_t n);
es_status es_buf_append_zeros(es_buf *b, size_t n);
es_status es_buf_printf(es_buf *b, const char *fmt, ...) ES_PRINTF(2, 3);
/** Pad with zero bytes to a multiple of `align`. */
es_status es_buf_pad(es_buf *b, size_t align);
void es_buf_reset(es_buf *b);
/** Hand the bytes to the caller (may be NULL when empty) and reset the buffer. */
uint8_t *es_buf_detach(es_buf *b, size_t *len);

/** CRC-32C (Castagnoli), as used by every checksum in the store format. Start with crc = 0. */
uint32_t es_crc32c(uint32_t crc, const void *data, size_t n);
/** The portable table-driven CRC-32C; es_crc32c uses the SSE4.2 instruction when the CPU has it
 * (ES_CRC_SOFTWARE=1 in the environment forces this one). Exposed for tests. */
uint32_t es_util_crc32c_sw(uint32_t crc, const void *data, size_t n);

/** Little-endian loads and stores (unaligned-safe). */
static inline uint16_t es_load_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t es_load_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static inline uint64_t es_load_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}
static inline void es_store_u32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}
static inline void es_store_u64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

/** Round up to a multiple of a power of two. */
static inline int64_t es_align_up(int64_t v, int64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

/** FNV-1a of n bytes (hash tables, and the hash of a `.six` Bloom filter with es_hash_mix). */
static inline uint64_t es_hash_fnv(const void *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ ((const uint8_t *)p)[i]) * 0x100000001b3ULL;
    return h;
}
/** The murmur3 finalizer (fmix64): spreads the bits of h over all 64. */
static inline uint64_t es_hash_mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

/** Encode code point cp (at most 0x10FFFF) as UTF-8 into u; returns the byte count (1-4). */
size_t es_utf8_encode(uint8_t u[4], uint32_t cp);

/** Monotonic clock in nanoseconds. */
int64_t es_now_ns(void);
/** With ES_TRACE set in the environment, print one line to stderr: the wall seconds since the
 * first trace, the process CPU seconds, the thread and its CPU seconds, and the event (for
 * measuring where a long operation spends its time, e.g. COPY's phases, and each object store
 * request: objstore.c); else nothing. */
__attribute__((format(printf, 1, 2))) void es_trace(const char *fmt, ...);
/** Whether ES_TRACE is set (read once). */
int es_trace_on(void);
/** 64 random bits: splitmix64 from a seed the OS gives once per process (getrandom, falling
 * back to time and pid), reseeded in the child after fork. Thread-safe. */
uint64_t es_random_u64(void);

#endif /* ES_UTIL_H */
