/*
 * util: errors, the allocator hook, blobs, growable buffers, CRC-32C. Bottom layer.
 */
#include "util/util.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static const char *status_names[ES_STATUS_COUNT] = {
    "ES_OK",          "ES_NOMEM",    "ES_INVALID",     "ES_NOT_FOUND", "ES_EXISTS",
    "ES_CONFLICT",    "ES_IO",       "ES_REMOTE",      "ES_TRANSIENT", "ES_CORRUPT",
    "ES_UNSUPPORTED", "ES_INTERNAL", "ES_INTERRUPTED",
};

const char *es_status_name(es_status st)
{
    if ((int)st < 0 || st >= ES_STATUS_COUNT)
        return "ES_UNKNOWN";
    return status_names[st];
}

es_status es_error_set(es_error *err, es_status code, int sys_code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        err->sys_code = sys_code;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        /* Messages are one line. */
        for (char *p = err->msg; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
    }
    return code;
}

void es_error_prefix(es_error *err, const char *fmt, ...)
{
    char pre[256], old[sizeof err->msg];
    va_list ap;
    if (!err)
        return;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    size_t n = strlen(pre);
    if (n > sizeof err->msg - 3)
        n = sizeof err->msg - 3;
    memcpy(err->msg, pre, n);
    memcpy(err->msg + n, ": ", 2);
    size_t rest = sizeof err->msg - n - 3;
    size_t ol = strnlen(old, rest);
    memcpy(err->msg + n + 2, old, ol);
    err->msg[n + 2 + ol] = 0;
}

/* ------------------------------------------------------------ allocator */

static void *libc_malloc(size_t n, void *ctx)
{
    (void)ctx;
    return malloc(n);
}
static void *libc_realloc(void *p, size_t n, void *ctx)
{
    (void)ctx;
    return realloc(p, n);
}
static void libc_free(void *p, void *ctx)
{
    (void)ctx;
    free(p);
}
static es_allocator alloc = {libc_malloc, libc_realloc, libc_free, NULL};

/* Fault injection for tests (SQLite's "fail the Nth malloc"). */
static _Atomic int64_t alloc_count;
static _Atomic int64_t alloc_fail_at;
static int alloc_fail_persist;

int64_t es_util_alloc_fail_at(int64_t n, int persist)
{
    int64_t made = atomic_exchange(&alloc_count, 0);
    atomic_store(&alloc_fail_at, n);
    alloc_fail_persist = persist;
    return made;
}

static int alloc_should_fail(void)
{
    int64_t at = atomic_load(&alloc_fail_at);
    int64_t c = atomic_fetch_add(&alloc_count, 1) + 1;
    if (at <= 0)
        return 0;
    if (c == at || (alloc_fail_persist && c > at))
        return 1;
    return 0;
}

void es_set_allocator(const es_allocator *a)
{
    if (a)
        alloc = *a;
    else
        alloc = (es_allocator){libc_malloc, libc_realloc, libc_free, NULL};
}

void *es_malloc(size_t n)
{
    if (alloc_should_fail())
        return NULL;
    return alloc.malloc(n ? n : 1, alloc.ctx);
}

void *es_calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = es_malloc(n * size);
    if (p)
        memset(p, 0, (n * size) > 0 ? n * size : 1);
    return p;
}

void *es_realloc(void *p, size_t n)
{
    if (alloc_should_fail())
        return NULL;
    return alloc.realloc(p, n ? n : 1, alloc.ctx);
}

void es_free(void *p)
{
    if (p)
        alloc.free(p, alloc.ctx);
}

char *es_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = es_malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* ----------------------------------------------------------------- blobs */

static void blob_destroy_owned(es_blob *b)
{
    es_free((void *)b->data);
    es_free(b);
}

static void blob_destroy_inline(es_blob *b)
{
    es_free(b);
}

static void blob_destroy_slice(es_blob *b)
{
    es_blob_unref((es_blob *)b->ctx);
    es_free(b);
}

es_status es_blob_new_copy(es_blob **out, const void *data, size_t size)
{
    *out = NULL;
    /* One allocation: header then bytes, 64-byte aligned so Arrow reads stay zero-copy. */
    size_t hdr = (sizeof(es_blob) + 63) & ~(size_t)63;
    uint8_t *mem = es_malloc(hdr + size + 64);
    if (!mem)
        return ES_NOMEM;
    es_blob *b = (es_blob *)mem;
    uint8_t *p = mem + hdr;
    uintptr_t mis = (uintptr_t)p & 63;
    if (mis)
        p += 64 - mis;
    if (size)
        memcpy(p, data, size);
    b->data = p;
    b->size = size;
    b->destroy = blob_destroy_inline;
    b->ctx = NULL;
    b->refs = 1;
    *out = b;
    return ES_OK;
}

es_status es_blob_new_owned(es_blob **out, void *data, size_t size)
{
    *out = NULL;
    es_blob *b = es_malloc(sizeof *b);
    if (!b)
        return ES_NOMEM;
    b->data = data;
    b->size = size;
    b->destroy = blob_destroy_owned;
    b->ctx = NULL;
    b->refs = 1;
    *out = b;
    return ES_OK;
}

es_status es_blob_new_slice(es_blob **out, es_blob *parent, size_t off, size_t len)
{
    *out = NULL;
    if (off > parent->size || len > parent->size - off)
        return ES_INVALID;
    es_blob *b = es_malloc(sizeof *b);
    if (!b)
        return ES_NOMEM;
    b->data = parent->data + off;
    b->size = len;
    b->destroy = blob_destroy_slice;
    b->ctx = es_blob_ref(parent);
    b->refs = 1;
    *out = b;
    return ES_OK;
}

es_blob *es_blob_ref(es_blob *b)
{
    if (b)
        __atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
    return b;
}

void es_blob_unref(es_blob *b)
{
    if (b && __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) == 0)
        b->destroy(b);
}

/* --------------------------------------------------------------- buffers */

es_status es_buf_reserve(es_buf *b, size_t extra)
{
    if (b->len + extra <= b->cap)
        return ES_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra) {
        if (cap > SIZE_MAX / 2)
            return ES_NOMEM;
        cap *= 2;
    }
    uint8_t *p = es_realloc(b->data, cap);
    if (!p)
        return ES_NOMEM;
    b->data = p;
    b->cap = cap;
    return ES_OK;
}

es_status es_buf_append(es_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return ES_OK;
    if (es_buf_reserve(b, n))
        return ES_NOMEM;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return ES_OK;
}

es_status es_buf_append_zeros(es_buf *b, size_t n)
{
    if (n == 0)
        return ES_OK;
    if (es_buf_reserve(b, n))
        return ES_NOMEM;
    memset(b->data + b->len, 0, n);
    b->len += n;
    return ES_OK;
}

es_status es_buf_printf(es_buf *b, const char *fmt, ...)
{
    /* Format once into the spare room (most calls fit in it), again only when it was short. */
    if (es_buf_reserve(b, 128))
        return ES_NOMEM;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf((char *)b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return ES_INTERNAL;
    if ((size_t)n >= b->cap - b->len) {
        if (es_buf_reserve(b, (size_t)n + 1))
            return ES_NOMEM;
        va_start(ap, fmt);
        vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
    return ES_OK;
}

es_status es_buf_pad(es_buf *b, size_t align)
{
    size_t rem = b->len % align;
    return rem ? es_buf_append_zeros(b, align - rem) : ES_OK;
}

void es_buf_reset(es_buf *b)
{
    es_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

uint8_t *es_buf_detach(es_buf *b, size_t *len)
{
    uint8_t *p = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

/* ---------------------------------------------------------------- crc32c */

static uint32_t crc_table[8][256];
static int crc_ready;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_table[0][i] = c;
    }
    for (int t = 1; t < 8; t++)
        for (int i = 0; i < 256; i++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
    __atomic_store_n(&crc_ready, 1, __ATOMIC_RELEASE);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#if defined(__has_include)
#if __has_include(<sys/platform/x86.h>)
#include <sys/platform/x86.h>
#endif
#endif

/*
 * The SSE4.2 CRC32 instruction computes exactly CRC-32C, 8 bytes per instruction. It has a
 * latency of 3 cycles and a throughput of 1, so long buffers run as three interleaved streams
 * over consecutive blocks, combined afterwards: 23 GB/s on 64 KiB buffers here, where one stream
 * gives 9.8.
 *
 * Combining (as zlib's crc32_combine): the CRC register is linear over GF(2), so the register
 * after A||B from start s equals shift(s, |B|) ^ (register after B from 0), where shifting by n
 * bytes is multiplication by x^(8n) modulo the polynomial (reflected bit order: bit 31 is x^0).
 */
#define CRC32C_POLY 0x82F63B78u

/* a * b modulo the CRC-32C polynomial, reflected. */
static uint32_t crc_multmodp(uint32_t a, uint32_t b)
{
    uint32_t m = (uint32_t)1 << 31, p = 0;
    for (;;) {
        if (a & m) {
            p ^= b;
            if ((a & (m - 1)) == 0)
                break;
        }
        m >>= 1;
        b = b & 1 ? (b >> 1) ^ CRC32C_POLY : b >> 1;
    }
    return p;
}

/* x^(8n) modulo the polynomial, by repeated squaring. */
static uint32_t crc_x8n(uint64_t n)
{
    uint32_t r = (uint32_t)1 << 31, sq = (uint32_t)1 << 30; /* x^0, x^1 */
    for (uint64_t bits = n * 8; bits; bits >>= 1) {
        if (bits & 1)
            r = crc_multmodp(sq, r);
        sq = crc_multmodp(sq, sq);
    }
    return r;
}

#define CRC_LONG 4096 /* bytes per stream in a block of three */
#define CRC_SHORT 256

__attribute__((target("sse4.2"))) static uint64_t
crc32c_hw_3way(uint64_t c, const uint8_t **pp, size_t *np, size_t blk, uint32_t shift)
{
    const uint8_t *p = *pp;
    size_t n = *np;
    while (n >= 3 * blk) {
        uint64_t c1 = 0, c2 = 0;
        for (size_t i = 0; i < blk; i += 8) {
            c = __builtin_ia32_crc32di(c, es_load_u64(p + i));
            c1 = __builtin_ia32_crc32di(c1, es_load_u64(p + blk + i));
            c2 = __builtin_ia32_crc32di(c2, es_load_u64(p + 2 * blk + i));
        }
        c = crc_multmodp(shift, (uint32_t)c) ^ (uint32_t)c1;
        c = crc_multmodp(shift, (uint32_t)c) ^ (uint32_t)c2;
        p += 3 * blk;
        n -= 3 * blk;
    }
    *pp = p;
    *np = n;
    return c;
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p,
                                                            size_t n)
{
    static uint32_t shift_long, shift_short; /* benign race: every thread computes the same */
    uint64_t c = ~crc;
    if (n >= 3 * CRC_SHORT) {
        if (!__atomic_load_n(&shift_short, __ATOMIC_RELAXED)) {
            __atomic_store_n(&shift_long, crc_x8n(CRC_LONG), __ATOMIC_RELAXED);
            __atomic_store_n(&shift_short, crc_x8n(CRC_SHORT), __ATOMIC_RELAXED);
        }
        c = crc32c_hw_3way(c, &p, &n, CRC_LONG, __atomic_load_n(&shift_long, __ATOMIC_RELAXED));
        c = crc32c_hw_3way(c, &p, &n, CRC_SHORT, __atomic_load_n(&shift_short, __ATOMIC_RELAXED));
    }
    while (n >= 8) {
        c = __builtin_ia32_crc32di(c, es_load_u64(p));
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--)
        c32 = __builtin_ia32_crc32qi(c32, *p++);
    return ~c32;
}

static int crc_hw_available(void)
{
    static int have = -1; /* benign race: every thread computes the same answer */
    if (have < 0) {
        /* CPUID traps to the hypervisor in a virtual machine (~10 us a leaf), so ask glibc,
         * which ran it once at start-up (glibc >= 2.33), rather than __builtin_cpu_supports
         * (whose constructor runs many leaves in every program) or CPUID itself. */
#ifdef CPU_FEATURE_ACTIVE
        have = CPU_FEATURE_ACTIVE(SSE4_2) && !getenv("ES_CRC_SOFTWARE");
#else
        unsigned a, b, c = 0, d;
        have = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSE4_2) && !getenv("ES_CRC_SOFTWARE");
#endif
    }
    return have;
}
#endif

uint32_t es_crc32c(uint32_t crc, const void *data, size_t n)
{
    const uint8_t *p = data;
#if defined(__x86_64__) && defined(__GNUC__)
    if (crc_hw_available())
        return crc32c_hw(crc, p, n);
#endif
    return es_util_crc32c_sw(crc, p, n);
}

uint32_t es_util_crc32c_sw(uint32_t crc, const void *data, size_t n)
{
    const uint8_t *p = data;
    if (!__atomic_load_n(&crc_ready, __ATOMIC_ACQUIRE))
        crc_init(); /* idempotent: concurrent initialisers write identical tables */
    crc = ~crc;
    while (n >= 8) {
        uint64_t v = es_load_u64(p) ^ crc;
        crc = crc_table[7][v & 0xff] ^ crc_table[6][(v >> 8) & 0xff] ^
              crc_table[5][(v >> 16) & 0xff] ^ crc_table[4][(v >> 24) & 0xff] ^
              crc_table[3][(v >> 32) & 0xff] ^ crc_table[2][(v >> 40) & 0xff] ^
              crc_table[1][(v >> 48) & 0xff] ^ crc_table[0][v >> 56];
        p += 8;
        n -= 8;
    }
    while (n--)
        crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
    return ~crc;
}

/* ------------------------------------------------------------------ misc */

size_t es_utf8_encode(uint8_t u[4], uint32_t cp)
{
    if (cp < 0x80) {
        u[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        u[0] = (uint8_t)(0xC0 | (cp >> 6));
        u[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        u[0] = (uint8_t)(0xE0 | (cp >> 12));
        u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    u[0] = (uint8_t)(0xF0 | (cp >> 18));
    u[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    u[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    u[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

int64_t es_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int trace_flag = -1;
static int64_t trace_t0;

int es_trace_on(void)
{
    if (trace_flag < 0) {
        trace_t0 = es_now_ns();
        trace_flag = getenv("ES_TRACE") != NULL;
    }
    return trace_flag;
}

void es_trace(const char *fmt, ...)
{
    if (!es_trace_on())
        return;
    struct timespec cpu, tcpu;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &tcpu);
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "trace %8.3f wall %8.3f cpu [%04lx %7.3f] %s\n",
            (double)(es_now_ns() - trace_t0) / 1e9, (double)cpu.tv_sec + (double)cpu.tv_nsec / 1e9,
            (unsigned long)pthread_self() & 0xffff,
            (double)tcpu.tv_sec + (double)tcpu.tv_nsec / 1e9, msg);
}

/* es_random_u64: a splitmix64 sequence from a seed of 64 bits from the OS, taken once per
 * process and again in a child after fork (so parent and child never share a sequence): no
 * system call per id. Distinct counters give distinct outputs (the mix is a bijection). */
static _Atomic uint64_t rand_state;
static pthread_once_t rand_once = PTHREAD_ONCE_INIT;

static void rand_seed(void)
{
    uint64_t v;
    if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        v = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40);
    }
    atomic_store(&rand_state, v);
}

static void rand_init(void)
{
    rand_seed();
    pthread_atfork(NULL, NULL, rand_seed);
}

uint64_t es_random_u64(void)
{
    pthread_once(&rand_once, rand_init);
    uint64_t z = atomic_fetch_add(&rand_state, 0x9E3779B97F4A7C15ull) + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
