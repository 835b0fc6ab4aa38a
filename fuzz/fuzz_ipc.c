/*
 * fuzz_ipc: libFuzzer target for the Arrow IPC reader (src/arrow/ipc_*.c, src/arrow/flatbuf.c). The
 * input is opened as an IPC file (random access, every batch) and as a stream (every batch); each
 * decoded batch is validated with es_array_view_init and printed as canonical JSON to a null
 * sink, which touches every value. The column decoder of arrow/ipc.h is run on the first batch
 * of readable files too. Any crash, sanitizer report or leak is a bug; errors are fine.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "arrow/ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *sink(void)
{
    static FILE *f;
    if (!f)
        f = fopen("/dev/null", "w");
    return f;
}

static void check_batch(const struct ArrowSchema *schema, struct ArrowArray *a)
{
    es_array_view v;
    es_error err;
    if (es_array_view_init(&v, schema, a, &err) == ES_OK) {
        es_array_view_reset(&v);
        /* Columns of the null type (and batches without columns) have no buffers, so a tiny
         * input can claim billions of rows; printing them would only measure printf. */
        if (a->length <= 100000 && sink())
            es_json_write_rows(sink(), schema, a, &err);
    }
    es_array_release(a);
}

static void read_file(es_blob *blob)
{
    es_ipc_file *f = NULL;
    es_error err;
    if (es_ipc_file_open(&f, blob, &err) != ES_OK)
        return;
    const struct ArrowSchema *schema = es_ipc_file_schema(f);
    for (int64_t i = 0; i < es_ipc_file_num_batches(f); i++) {
        struct ArrowArray a;
        if (es_ipc_file_read(f, i, &a, &err) == ES_OK)
            check_batch(schema, &a);
    }
    if (es_ipc_file_num_batches(f) > 0 && schema->n_children > 0) {
        /* Decode the first and last columns of batch 0 from the metadata alone plus slices. */
        const es_ipc_block *b = es_ipc_file_block(f, 0);
        const uint8_t *meta = blob->data + b->offset;
        int64_t n = schema->n_children;
        int64_t offs[64], lens[64];
        if (n <= 64 && es_ipc_batch_column_ranges(offs, lens, schema, meta,
                                                  (size_t)b->metadata_length, &err) == ES_OK) {
            int64_t cols[2] = {n - 1, 0};
            int64_t nc = n > 1 ? 2 : 1;
            es_blob *cb[2] = {NULL, NULL};
            int ok = 1;
            for (int64_t k = 0; k < nc; k++) {
                int64_t start = b->offset + b->metadata_length + offs[cols[k]];
                if (start < 0 || lens[cols[k]] < 0 || (uint64_t)start > blob->size ||
                    (uint64_t)lens[cols[k]] > blob->size - (uint64_t)start ||
                    es_blob_new_slice(&cb[k], blob, (size_t)start, (size_t)lens[cols[k]]) != ES_OK)
                    ok = 0;
            }
            struct ArrowArray a;
            if (ok && es_ipc_decode_batch_columns(&a, schema, meta, (size_t)b->metadata_length,
                                                  cols, nc, cb, &err) == ES_OK)
                es_array_release(&a);
            es_blob_unref(cb[0]);
            es_blob_unref(cb[1]);
        }
    }
    es_ipc_file_close(f);
}

static void read_stream(es_blob *blob)
{
    struct ArrowArrayStream s;
    es_error err;
    if (es_ipc_reader_open(&s, blob, &err) != ES_OK)
        return;
    struct ArrowSchema schema;
    if (s.get_schema(&s, &schema) == 0) {
        for (;;) {
            struct ArrowArray a;
            if (s.get_next(&s, &a) != 0 || !a.release)
                break;
            check_batch(&schema, &a);
        }
        es_schema_release(&schema);
    }
    s.release(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    es_blob *blob = NULL;
    /* A private copy, so that reads past the input are caught by ASan exactly. */
    if (es_blob_new_copy(&blob, data, size) != ES_OK)
        return 0;
    read_file(blob);
    read_stream(blob);
    /* The stream reader again on the input with a file magic cut off (stream inside a file). */
    if (size > 8 && memcmp(data, "ARROW1", 6) == 0) {
        es_blob *inner = NULL;
        if (es_blob_new_slice(&inner, blob, 8, size - 8) == ES_OK) {
            read_stream(inner);
            es_blob_unref(inner);
        }
    }
    es_blob_unref(blob);
    return 0;
}
