/*
 * bench.h: helpers shared by the bench programs (header-only; each program is one file).
 */
#ifndef ES_BENCH_H
#define ES_BENCH_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <time.h>

#include "expstore/common.h"
#include "expstore/sql.h"

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

/** Monotonic wall-clock seconds. */
static inline double bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/** Seconds to run one SQL statement on ses and read its whole result; exits on an error. */
static inline double bench_sql_time(es_sql_session *ses, const char *sql)
{
    es_sql_result r = ES_SQL_RESULT_INIT;
    double t0 = bench_now_s();
    es_status st = es_sql_exec(ses, sql, &r);
    if (st == ES_OK && r.has_rows) {
        for (;;) {
            struct ArrowArray a;
            if (r.stream.get_next(&r.stream, &a) != 0 || !a.release)
                break;
            a.release(&a);
        }
    }
    double t = bench_now_s() - t0;
    es_sql_result_reset(&r);
    if (st != ES_OK) {
        fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, sql, es_sql_errmsg(ses));
        exit(1);
    }
    return t;
}

/** The median of three runs of bench_sql_time. */
static inline double bench_sql_median3(es_sql_session *ses, const char *sql)
{
    double a = bench_sql_time(ses, sql), b = bench_sql_time(ses, sql), c = bench_sql_time(ses, sql);
    if (a > b) {
        double t = a;
        a = b;
        b = t;
    }
    return c < a ? a : c > b ? b : c;
}

#endif /* ES_BENCH_H */
