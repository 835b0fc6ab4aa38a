/*
 * bench_events.h: the reference table `events` of the DML and index benchmarks (bench_dml.c,
 * bench_index.c): id BIGINT primary key, ts TIMESTAMP (4 rows per second from 2024-01-01),
 * user_id INT (uniform in [0, 100000)), category TEXT (20 values), amount DOUBLE (cents), note
 * TEXT (0 to 40 random letters). Row `id` is a function of (id, salt) alone, so every engine
 * gets the same rows in whatever order it asks for them. Header-only.
 */
#ifndef ES_BENCH_EVENTS_H
#define ES_BENCH_EVENTS_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "expstore/arrow.h"

typedef struct row {
    int64_t id, ts_us;
    int32_t user_id;
    int cat;
    double amount;
    char note[41];
    int note_len;
} row;

/* Row `id`'s values are a function of (id, salt) alone, so every engine gets the same rows in
 * whatever order it asks for them (salt 1: the upsert's new values). */
static inline uint64_t mix(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline void make_row(row *r, int64_t id, int salt)
{
    uint64_t x = (uint64_t)id * 2 + (uint64_t)salt;
    r->id = id;
    r->ts_us = (1704067200LL + id / 4) * 1000000LL;
    r->user_id = (int32_t)(mix(&x) % 100000);
    r->cat = (int)(mix(&x) % 20);
    r->amount = (double)(mix(&x) % 100000) / 100.0;
    r->note_len = (int)(mix(&x) % 41);
    uint64_t bits = 0;
    for (int i = 0; i < r->note_len; i++) {
        if (i % 12 == 0)
            bits = mix(&x);
        r->note[i] = (char)('a' + bits % 26);
        bits /= 26;
    }
    r->note[r->note_len] = 0;
}

static inline void format_ts(char *buf, size_t cap, int64_t us)
{
    time_t t = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &tm);
}

static inline void csv_row(FILE *f, const row *r)
{
    char ts[32];
    format_ts(ts, sizeof ts, r->ts_us);
    fprintf(f, "%" PRId64 ",%s,%d,category_%02d,%.2f,%s\n", r->id, ts, r->user_id, r->cat,
            r->amount, r->note);
}

/* The schema of events, in Arrow. */
static inline void events_schema(struct ArrowSchema *s)
{
    static const char *names[] = {"id", "ts", "user_id", "category", "amount", "note"};
    static const char *fmts[] = {"l", "tsu:", "i", "u", "g", "u"};
    es_schema_init_struct(s, 6, NULL);
    for (int i = 0; i < 6; i++)
        es_schema_init(s->children[i], fmts[i], names[i], i == 0 ? 0 : ARROW_FLAG_NULLABLE, NULL);
}

static inline void append_row(es_builder *b, const row *r)
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

#endif /* ES_BENCH_EVENTS_H */
