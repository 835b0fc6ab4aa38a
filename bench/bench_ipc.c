/*
 * bench_ipc: Arrow IPC file format throughput, in memory. Builds 10 million rows of a mixed table
 * (int64, int32, float64, utf8, timestamp[us], bool; ~10% nulls in the nullable columns) in
 * batches of 1M rows, then writes them to an IPC file and reads every batch back, uncompressed,
 * LZ4_FRAME and ZSTD. Prints GB/s for each direction (bytes of the uncompressed file per
 * second) next to a plain memcpy of the same number of bytes. Reading an uncompressed file is
 * zero-copy, so its cost is the metadata decoding plus offsets/null-count validation.
 *
 *   bench_ipc [rows]     (default 10000000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "arrow/ipc.h"

#define BATCH_ROWS 1000000

static double secs(int64_t t0)
{
    return (double)(es_now_ns() - t0) / 1e9;
}

static void build(struct ArrowArray *out, const struct ArrowSchema *s, int64_t rows)
{
    es_builder *b;
    es_error err;
    if (es_builder_new(&b, s, &err))
        bench_die("builder", &err);
    for (int64_t c = 0; c < 6; c++)
        es_builder_reserve(es_builder_child(b, c), rows);
    static const char *words[] = {"alpha", "beta", "gamma", "delta", "epsilon-epsilon",
                                  "zeta",  "eta",  "theta", "iota",  "kappa-lambda-mu"};
    for (int64_t r = 0; r < rows; r++) {
        uint64_t x = bench_rnd();
        es_builder_append_int(es_builder_child(b, 0), (int64_t)x);
        if (x % 10 == 0)
            es_builder_append_null(es_builder_child(b, 1), 1);
        else
            es_builder_append_int(es_builder_child(b, 1), (int32_t)(x >> 20) % 100000);
        es_builder_append_double(es_builder_child(b, 2), (double)(x >> 11) / 9007199254740992.0);
        const char *w = words[(x >> 40) % 10];
        es_builder_append_bytes(es_builder_child(b, 3), w, (int64_t)strlen(w));
        es_builder_append_int(es_builder_child(b, 4), 1700000000000000 + r * 1000);
        if ((x >> 50) % 10 == 0)
            es_builder_append_null(es_builder_child(b, 5), 1);
        else
            es_builder_append_int(es_builder_child(b, 5), (int64_t)((x >> 33) & 1));
        es_builder_append_struct(b);
    }
    if (es_builder_finish(b, out, &err))
        bench_die("finish", &err);
    es_builder_free(b);
}

int main(int argc, char **argv)
{
    int64_t rows = argc > 1 ? atoll(argv[1]) : 10000000;
    struct ArrowSchema s;
    es_error err;
    static const char *fmts[] = {"l", "i", "g", "u", "tsu:", "b"};
    static const char *names[] = {"id", "qty", "price", "word", "ts", "flag"};
    if (es_schema_init_struct(&s, 6, &err))
        bench_die("schema", &err);
    for (int i = 0; i < 6; i++)
        if (es_schema_init(s.children[i], fmts[i], names[i], ARROW_FLAG_NULLABLE, &err))
            bench_die("schema", &err);
    int64_t nb = (rows + BATCH_ROWS - 1) / BATCH_ROWS;
    struct ArrowArray *batches = calloc((size_t)nb, sizeof *batches);
    int64_t t0 = es_now_ns();
    for (int64_t i = 0; i < nb; i++)
        build(&batches[i], &s, i == nb - 1 ? rows - i * BATCH_ROWS : BATCH_ROWS);
    printf("built %lld rows in %lld batches in %.2f s\n", (long long)rows, (long long)nb, secs(t0));

    size_t raw_size = 0;
    static const char *cn[] = {"none", "lz4", "zstd"};
    for (int comp = 0; comp < 3; comp++) {
        es_ipc_write_options o = ES_IPC_WRITE_OPTIONS_INIT;
        o.compression = (es_compression)comp;
        es_ipc_writer *w;
        uint8_t *data;
        size_t size;
        t0 = es_now_ns();
        if (es_ipc_writer_new(&w, &s, ES_IPC_FILE, &o, &err))
            bench_die("writer", &err);
        for (int64_t i = 0; i < nb; i++)
            if (es_ipc_writer_write(w, &batches[i], &err))
                bench_die("write", &err);
        if (es_ipc_writer_finish(w, &data, &size, &err))
            bench_die("finish", &err);
        double tw = secs(t0);
        es_ipc_writer_free(w);
        if (comp == 0)
            raw_size = size;
        es_blob *blob;
        if (es_blob_new_owned(&blob, data, size))
            bench_die("blob", NULL);
        /* Read back every batch (and touch the validation the reader does). */
        int64_t got = 0;
        t0 = es_now_ns();
        es_ipc_file *f;
        if (es_ipc_file_open(&f, blob, &err))
            bench_die("open", &err);
        for (int64_t i = 0; i < es_ipc_file_num_batches(f); i++) {
            struct ArrowArray a;
            if (es_ipc_file_read(f, i, &a, &err))
                bench_die("read", &err);
            got += a.length;
            es_array_release(&a);
        }
        es_ipc_file_close(f);
        double tr = secs(t0);
        if (got != rows)
            bench_die("row count mismatch", NULL);
        /* memcpy of the same (uncompressed) bytes: into fresh memory (page faults included,
         * as for the writer's output buffer) and again into the now-mapped memory (warm). */
        uint8_t *srcb = malloc(raw_size);
        memset(srcb, 1, raw_size);
        t0 = es_now_ns();
        uint8_t *dst = malloc(raw_size);
        memcpy(dst, srcb, raw_size);
        double tm = secs(t0);
        t0 = es_now_ns();
        memcpy(dst, srcb + 1, raw_size - 1);
        double tm2 = secs(t0);
        volatile uint8_t sinkv = dst[raw_size / 2];
        (void)sinkv;
        free(dst);
        free(srcb);
        double gb = (double)raw_size / 1e9;
        printf("%-5s file %6.1f MB | write %5.2f GB/s (%.3f s) | read %6.2f GB/s (%.4f s) | "
               "memcpy %5.2f GB/s cold, %5.2f GB/s warm\n",
               cn[comp], (double)size / 1e6, gb / tw, tw, gb / tr, tr, gb / tm, gb / tm2);
        es_blob_unref(blob);
    }
    for (int64_t i = 0; i < nb; i++)
        es_array_release(&batches[i]);
    free(batches);
    es_schema_release(&s);
    return 0;
}
