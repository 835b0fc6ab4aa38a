/*
 * bench.h: helpers shared by the bench programs (header-only; each program is one file).
 */
#ifndef ES_BENCH_H
#define ES_BENCH_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/**
 * Run a DuckDB side script with node: `node <script> <dir>`, the script being found in
 * $ES_SOURCE_DIR/bench, else beside src_file (pass __FILE__). Lines "step <name> <seconds>"
 * (name: one of names[0..n) with '_' for spaces) set t[i]; every other line goes to other(),
 * or is printed after "duckdb: " when it returns 0.
 */
static inline void bench_node(const char *src_file, const char *script, const char *dir,
                              const char *const *names, int n, double *t,
                              int (*other)(const char *line))
{
    char path[1024], cmd[4096], line[1024];
    const char *src = getenv("ES_SOURCE_DIR");
    if (src) {
        snprintf(path, sizeof path, "%.900s/bench/%s", src, script);
    } else {
        snprintf(path, sizeof path, "%s", src_file);
        char *slash = strrchr(path, '/');
        snprintf(slash ? slash + 1 : path, sizeof path - (size_t)(slash ? slash + 1 - path : 0),
                 "%s", script);
    }
    snprintf(cmd, sizeof cmd, "node '%s' '%s' 2>&1", path, dir);
    FILE *p = popen(cmd, "r");
    if (!p) {
        printf("duckdb: cannot run node\n");
        return;
    }
    while (fgets(line, sizeof line, p)) {
        char name[64];
        double secs;
        if (sscanf(line, "step %63s %lf", name, &secs) == 2) {
            for (int i = 0; i < n; i++) {
                char want[64];
                snprintf(want, sizeof want, "%s", names[i]);
                for (char *c = want; *c; c++)
                    if (*c == ' ')
                        *c = '_';
                if (strcmp(want, name) == 0)
                    t[i] = secs;
            }
        } else if (!other || !other(line)) {
            printf("duckdb: %s", line);
        }
    }
    int rc = pclose(p);
    if (rc != 0)
        printf("duckdb: node exited with status %d (is @duckdb/node-api installed? npm ci)\n", rc);
}

#endif /* ES_BENCH_H */
