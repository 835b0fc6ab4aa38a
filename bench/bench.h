/*
 * bench.h: helpers shared by the bench programs (header-only; each program is one file).
 */
#ifndef ES_BENCH_H
#define ES_BENCH_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "expstore/common.h"

/** Deterministic pseudo-random numbers (xorshift64), the same sequence in every run. */
static inline uint64_t bench_rnd(void)
{
    static uint64_t rng = 88172645463325252ull;
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/** Print "<program>: <what>: <error>" and exit 1. */
static inline void bench_die(const char *what, const es_error *err)
{
    fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what, err ? err->msg : "");
    exit(1);
}

#endif /* ES_BENCH_H */
