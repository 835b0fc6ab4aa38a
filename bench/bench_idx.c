/*
 * bench_idx: decoding one part index (.idx), in memory. Writes one part of BATCHES record
 * batches (default 300) of ROWS rows each (default 1000; the row count does not change the
 * .idx) with the columns of the reference table: id int64 (the sort key), ts timestamp[us],
 * user_id int32, category and note utf8 (values of about 12 bytes), amount float64. Then
 * decodes its .idx many times and prints the median and minimum microseconds per decode, with
 * and without the content checksum (table.c skips it after matching the whole-object CRC).
 *
 *   bench_idx [BATCHES] [ROWS] [RUNS]     (defaults 300 1000 2000)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "objstore/objstore.h"
#include "table/part.h"

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static const char *const formats[] = {"l", "tsu:", "i", "u", "g", "u"};
#define NCOLS 6

static void build(struct ArrowArray *out, const struct ArrowSchema *s, int64_t first, int64_t rows)
{
    es_builder *b = NULL;
    es_error err;
    if (es_builder_new(&b, s, &err))
        bench_die("builder", &err);
    for (int64_t r = 0; r < rows; r++) {
        int64_t id = first + r;
        char cat[16], note[32];
        snprintf(cat, sizeof(cat), "category-%02d", (int)(bench_rnd() % 20));
        int nl = snprintf(note, sizeof(note), "note %07" PRIu64, bench_rnd() % 10000000);
        es_status st = es_builder_append_int(es_builder_child(b, 0), id);
        st = st ? st : es_builder_append_int(es_builder_child(b, 1), 1700000000000000 + id * 1000);
        st = st ? st
                : es_builder_append_int(es_builder_child(b, 2), (int64_t)(bench_rnd() % 100000));
        st = st ? st : es_builder_append_bytes(es_builder_child(b, 3), cat, (int64_t)strlen(cat));
        st = st ? st
                : es_builder_append_double(es_builder_child(b, 4),
                                           (double)(bench_rnd() % 100000) / 100);
        if (!st && bench_rnd() % 10 == 0)
            st = es_builder_append_null(es_builder_child(b, 5), 1);
        else if (!st)
            st = es_builder_append_bytes(es_builder_child(b, 5), note, nl);
        st = st ? st : es_builder_append_struct(b);
        if (st)
            bench_die("append", NULL);
    }
    if (es_builder_finish(b, out, &err))
        bench_die("finish", &err);
    es_builder_free(b);
}

/* Median and minimum microseconds of `runs` decodes of blob. */
static void time_decode(es_blob *blob, int check_content, int runs, double *med, double *min)
{
    int64_t *t = malloc((size_t)runs * sizeof(int64_t));
    if (!t)
        bench_die("out of memory", NULL);
    for (int i = 0; i < runs; i++) {
        es_part_idx *x = NULL;
        es_error err;
        int64_t t0 = es_now_ns();
        es_status st = es_part_idx_decode(&x, blob, "bench.idx", check_content, &err);
        t[i] = es_now_ns() - t0;
        if (st)
            bench_die("decode", &err);
        es_part_idx_free(x);
    }
    qsort(t, (size_t)runs, sizeof(int64_t), cmp_i64);
    *med = (double)t[runs / 2] / 1e3;
    *min = (double)t[0] / 1e3;
    free(t);
}

int main(int argc, char **argv)
{
    int64_t nb = argc > 1 ? atoll(argv[1]) : 300, rows = argc > 2 ? atoll(argv[2]) : 1000;
    int runs = argc > 3 ? atoi(argv[3]) : 2000;
    if (nb < 1 || rows < 1 || runs < 1)
        bench_die("usage: bench_idx [BATCHES] [ROWS] [RUNS]", NULL);
    es_error err;
    es_part_col cols[NCOLS];
    memset(cols, 0, sizeof(cols));
    for (int c = 0; c < NCOLS; c++) {
        cols[c].id = c + 1;
        snprintf(cols[c].format, sizeof(cols[c].format), "%s", formats[c]);
        cols[c].nullable = c == 5;
        if (es_type_parse(&cols[c].type, formats[c], &err))
            bench_die("type", &err);
    }
    struct ArrowSchema schema = {0};
    if (es_part_schema(&schema, cols, NCOLS, &err))
        bench_die("schema", &err);
    struct ArrowArray *batches = calloc((size_t)nb, sizeof(struct ArrowArray));
    if (!batches)
        bench_die("out of memory", NULL);
    for (int64_t b = 0; b < nb; b++)
        build(&batches[b], &schema, b * rows, rows);

    es_objstore *os = NULL;
    es_part_meta *m = NULL;
    if (es_objstore_mem_open(&os, "", &err))
        bench_die("objstore", &err);
    if (es_part_write(&m, os, "00000000000000aa", cols, NCOLS, 0, batches, nb, ES_COMPRESS_NONE, 1,
                      &err))
        bench_die("write", &err);
    char key[256];
    es_part_key(key, sizeof(key), "00000000000000aa", m->id, "idx");
    es_blob *blob = NULL;
    if (es_objstore_get(os, key, 0, UINT64_MAX, &blob, &err))
        bench_die("get", &err);

    double med, min, med0, min0;
    time_decode(blob, 1, runs, &med, &min);
    time_decode(blob, 0, runs, &med0, &min0);
    printf("idx: %" PRId64 " batches x %d columns, %zu bytes\n", nb, NCOLS, blob->size);
    printf("decode, checksum verified: median %.1f us, min %.1f us (%d runs)\n", med, min, runs);
    printf("decode, checksum skipped:  median %.1f us, min %.1f us (%d runs)\n", med0, min0, runs);

    es_blob_unref(blob);
    es_part_meta_unref(m);
    es_objstore_close(os);
    for (int64_t b = 0; b < nb; b++)
        es_array_release(&batches[b]);
    free(batches);
    es_schema_release(&schema);
    return 0;
}
