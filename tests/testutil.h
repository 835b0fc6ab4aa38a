/*
 * testutil.h: small helpers several tests share: a seedable xorshift generator (rng is the
 * state; set it to seed), literals for es_expr, a growable printf buffer, a monotonic clock
 * with TIMED (a call and how long it took), and want() (the sections a run is limited to).
 * Header-only (static inline), public API only.
 */
#ifndef ES_TEST_TESTUTIL_H
#define ES_TEST_TESTUTIL_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "expstore/expstore.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static inline uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
/* Uniform in [lo, hi]. */
static inline int64_t rnd_in(int64_t lo, int64_t hi)
{
    return lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1));
}
/* Uniform in [0, n). */
static inline int rn(int n)
{
    return (int)(rnd() % (uint64_t)n);
}

/* Shuffle a[0..n) in place (Fisher-Yates). */
static inline void shuffle(int64_t *a, int64_t n)
{
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = rnd_in(0, i), t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

static inline es_value vint(int64_t i)
{
    es_value v = {ES_VALUE_INT, i, 0, NULL, 0};
    return v;
}
static inline es_value vdbl(double d)
{
    es_value v = {ES_VALUE_DOUBLE, 0, d, NULL, 0};
    return v;
}
static inline es_value vstr(const char *s)
{
    es_value v = {ES_VALUE_BYTES, 0, 0, (const uint8_t *)s, (int64_t)strlen(s)};
    return v;
}
static inline es_value vnull(void)
{
    es_value v = {ES_VALUE_NULL, 0, 0, NULL, 0};
    return v;
}

static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run a call, then print it and its wall-clock time (for finding slow sections, not asserted). */
#define TIMED(call)                                                                                \
    do {                                                                                           \
        double t0_ = now_s();                                                                      \
        call;                                                                                      \
        printf("  %-50s %.2f s\n", #call, now_s() - t0_);                                          \
    } while (0)

/* The sections a run is limited to: test_sections (when a test's main sets it, e.g. from its
 * arguments) or else ES_TEST_SECTIONS, comma-separated names; unset or empty runs every one. */
static const char *test_sections;
static inline int want(const char *section)
{
    const char *w = test_sections ? test_sections : getenv("ES_TEST_SECTIONS");
    if (!w || !*w)
        return 1;
    size_t n = strlen(section);
    for (const char *p = w; (p = strstr(p, section)) != NULL; p += n)
        if ((p == w || p[-1] == ',') && (p[n] == 0 || p[n] == ','))
            return 1;
    return 0;
}

typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

static inline void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        b->cap = (b->cap + (size_t)n + 1) * 2;
        b->p = realloc(b->p, b->cap);
    }
}

#endif /* ES_TEST_TESTUTIL_H */
