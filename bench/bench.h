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
