/*
 * bench.h: helpers shared by the bench programs (header-only; each program is one file): the
 * reference workload's rows (the table events of issues 11 and 17), its CSV, clocks and
 * medians, and running a node script (the DuckDB peers) that prints one line per timed step.
 */
#ifndef ES_BENCH_H
#define ES_BENCH_H

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>
#include <time.h>

#include "expstore/arrow.h"
#include "expstore/common.h"
#include "expstore/expstore.h"
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

/** CPU seconds of this process (all threads). */
static inline double bench_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/** The median of n values (sorts them). */
static inline double bench_median(double *v, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double x = v[j];
            v[j] = v[j - 1];
            v[j - 1] = x;
        }
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/** The bench's working directory into dir: argv[1] (created if absent) when given, else a new
 * /tmp/es_<name>_XXXXXX. Exits on failure. */
static inline void bench_dir(char *dir, size_t cap, int argc, char **argv, const char *name)
{
    if (argc > 1) {
        snprintf(dir, cap, "%s", argv[1]);
        mkdir(dir, 0755);
    } else {
        snprintf(dir, cap, "/tmp/es_%s_XXXXXX", name);
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            exit(1);
        }
    }
}

/** Open the local store DIR/expstore and a SQL session on it; exits on failure. */
static inline void bench_open_store(es_store **s, es_sql_session **q, const char *dir)
{
    char path[1100];
    snprintf(path, sizeof path, "%.900s/expstore", dir);
    *s = NULL;
    if (es_store_open(s, path, NULL) != ES_OK || es_sql_session_open(q, *s) != ES_OK) {
        fprintf(stderr, "%s: cannot open %s: %s\n", program_invocation_short_name, path,
                *s ? es_store_errmsg(*s) : "");
        exit(1);
    }
}

/* ------------------------------------------------- the reference table, events */

/* id BIGINT key, ts TIMESTAMP (4 rows per second from 2024-01-01), user_id INT (uniform in
 * [0, 100000)), category TEXT (20 values, category_00 .. category_19), amount DOUBLE (cents in
 * [0, 1000)), note TEXT (0 to 40 random letters). */
typedef struct bench_row {
    int64_t id, ts_us;
    int32_t user_id;
    int cat;
    double amount;
    char note[41];
    int note_len;
} bench_row;

static inline uint64_t bench_mix(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/** Row `id`'s values are a function of (id, salt) alone, so every engine gets the same rows in
 * whatever order it asks for them. */
static inline void bench_make_row(bench_row *r, int64_t id, int salt)
{
    uint64_t x = (uint64_t)id * 2 + (uint64_t)salt;
    r->id = id;
    r->ts_us = (1704067200LL + id / 4) * 1000000LL;
    r->user_id = (int32_t)(bench_mix(&x) % 100000);
    r->cat = (int)(bench_mix(&x) % 20);
    r->amount = (double)(bench_mix(&x) % 100000) / 100.0;
    r->note_len = (int)(bench_mix(&x) % 41);
    uint64_t bits = 0;
    for (int i = 0; i < r->note_len; i++) {
        if (i % 12 == 0)
            bits = bench_mix(&x);
        r->note[i] = (char)('a' + bits % 26);
        bits /= 26;
    }
    r->note[r->note_len] = 0;
}

static inline void bench_format_ts(char *buf, size_t cap, int64_t us)
{
    time_t t = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &tm);
}

/** One row as a CSV line (no header, no quoting needed). */
static inline void bench_csv_row(FILE *f, const bench_row *r)
{
    char ts[32];
    bench_format_ts(ts, sizeof ts, r->ts_us);
    fprintf(f, "%" PRId64 ",%s,%d,category_%02d,%.2f,%s\n", r->id, ts, r->user_id, r->cat,
            r->amount, r->note);
}

/** Write rows 0 .. n-1 (salt 0) as CSV to path; exits on failure. */
static inline void bench_write_events_csv(const char *path, int64_t n)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "%s: cannot write %s\n", program_invocation_short_name, path);
        exit(1);
    }
    for (int64_t i = 0; i < n; i++) {
        bench_row r;
        bench_make_row(&r, i, 0);
        bench_csv_row(f, &r);
    }
    fclose(f);
}

/* ------------------------------------------------------------ the node peers */

/** Run a peer's script with node, `node bench/<script> <dir>` (the script in
 * $ES_SOURCE_DIR/bench, else next to this header's source), and pass each line of its output,
 * without the newline, to cb (bench_parse_step reads the "step" and "cpu" lines). When node
 * cannot run or fails, says so on stdout ("duckdb: ...", the peers being DuckDB scripts).
 * Returns the exit status (-1 when node cannot run). */
static inline int bench_run_node(const char *script, const char *dir,
                                 void (*cb)(const char *line, void *arg), void *arg)
{
    char path[1024];
    const char *src = getenv("ES_SOURCE_DIR");
    if (src) {
        snprintf(path, sizeof path, "%.900s/bench/%s", src, script);
    } else {
        snprintf(path, sizeof path, "%s", __FILE__);
        char *slash = strrchr(path, '/');
        snprintf(slash ? slash + 1 : path, sizeof path - (size_t)(slash ? slash + 1 - path : 0),
                 "%s", script);
    }
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "node '%s' '%s' 2>&1", path, dir);
    FILE *p = popen(cmd, "r");
    if (!p) {
        printf("duckdb: cannot run node\n");
        return -1;
    }
    char line[4096];
    while (fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = 0;
        cb(line, arg);
    }
    int rc = pclose(p);
    if (rc != 0)
        printf("duckdb: node exited with status %d (is @duckdb/node-api installed? npm ci)\n", rc);
    return rc;
}

/** If line is "<word> <name> <seconds>" with <name> one of names (spaces written as '_'), store
 * the seconds in t[i] and return 1; else return 0 (the peers print "step" lines for wall
 * times and "cpu" lines for CPU times). */
static inline int bench_parse_step(const char *line, const char *word, const char *const *names,
                                   int n, double *t)
{
    char w[16], name[64];
    double v;
    if (sscanf(line, "%15s %63s %lf", w, name, &v) != 3 || strcmp(w, word) != 0)
        return 0;
    for (int i = 0; i < n; i++) {
        char want[64];
        snprintf(want, sizeof want, "%s", names[i]);
        for (char *c = want; *c; c++)
            if (*c == ' ')
                *c = '_';
        if (strcmp(want, name) == 0) {
            t[i] = v;
            return 1;
        }
    }
    return 0;
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

/* The schema of events, in Arrow. */
static inline void bench_events_schema(struct ArrowSchema *s)
{
    static const char *names[] = {"id", "ts", "user_id", "category", "amount", "note"};
    static const char *fmts[] = {"l", "tsu:", "i", "u", "g", "u"};
    es_schema_init_struct(s, 6, NULL);
    for (int i = 0; i < 6; i++)
        es_schema_init(s->children[i], fmts[i], names[i], i == 0 ? 0 : ARROW_FLAG_NULLABLE, NULL);
}

static inline void bench_append_row(es_builder *b, const bench_row *r)
{
    char cat[16];
    snprintf(cat, sizeof cat, "category_%02d", r->cat);
    es_builder_append_int(es_builder_child(b, 0), r->id);
    es_builder_append_int(es_builder_child(b, 1), r->ts_us);
    es_builder_append_int(es_builder_child(b, 2), r->user_id);
    es_builder_append_bytes(es_builder_child(b, 3), cat, (int64_t)strlen(cat));
    es_builder_append_double(es_builder_child(b, 4), r->amount);
    es_builder_append_bytes(es_builder_child(b, 5), r->note, r->note_len);
    es_builder_append_struct(b);
}

/* Rows 0..rows-1 of events (bench_make_row, salt 0) in batches of 65536 rows built with b (a
 * builder of bench_events_schema): *nb batches, free the array (the batches are moved out). */
static inline struct ArrowArray *bench_events_batches(es_builder *b, int64_t rows, int64_t *nb)
{
    *nb = (rows + 65535) / 65536;
    struct ArrowArray *batches = calloc((size_t)(*nb > 0 ? *nb : 1), sizeof *batches);
    for (int64_t k = 0; batches && k < *nb; k++) {
        for (int64_t i = k * 65536; i < rows && i < (k + 1) * 65536; i++) {
            bench_row r;
            bench_make_row(&r, i, 0);
            bench_append_row(b, &r);
        }
        es_builder_finish(b, &batches[k], NULL);
    }
    return batches;
}

/* A cell of seconds in a results table ("-" when not measured). */
static inline void bench_print_seconds(double t)
{
    if (t < 0)
        printf(" %11s", "-");
    else
        printf(" %11.4f", t);
}

/* A cell with the ratio peer / mine of two times ("-" when either is not measured). */
static inline void bench_print_ratio(double peer, double mine)
{
    if (peer <= 0 || mine <= 0)
        printf(" %9s", "-");
    else
        printf(" %8.2fx", peer / mine);
}

#endif /* ES_BENCH_H */
