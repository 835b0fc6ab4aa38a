/*
 * fuzz_dv: the deletion-vector decoders (src/table/dv.c) on arbitrary bytes: the `.delta` file,
 * the bare blob and the bare portable Roaring bitmap. They must return ES_OK or ES_CORRUPT,
 * never crash, leak or read out of bounds; a decoded vector must be strictly ascending, below
 * the limit, and survive a re-encode and decode unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "table/dv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const es_dv *dv, uint64_t limit)
{
    for (int64_t i = 0; i < dv->n; i++)
        if (dv->pos[i] >= limit || (i > 0 && dv->pos[i] <= dv->pos[i - 1]))
            abort();
    es_buf b = {0};
    es_error err;
    es_dv back;
    if (es_dv_file_encode(&b, dv, &err) == ES_OK) {
        if (es_dv_file_decode(&back, b.data, b.len, limit, "again", &err) != ES_OK ||
            back.n != dv->n || (dv->n && memcmp(back.pos, dv->pos, 8 * (size_t)dv->n) != 0))
            abort();
        es_dv_reset(&back);
    }
    es_buf_reset(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint64_t limit = 1u << 22;
    es_dv dv;
    es_error err;
    if (es_dv_file_decode(&dv, data, size, limit, "fuzz.delta", &err) == ES_OK)
        check(&dv, limit);
    es_dv_reset(&dv);
    if (es_dv_blob_decode(&dv, data, size, limit, "fuzz.blob", &err) == ES_OK)
        check(&dv, limit);
    es_dv_reset(&dv);
    if (es_dv_roaring_decode(&dv, data, size, limit, "fuzz.roaring", &err) == ES_OK)
        check(&dv, limit);
    es_dv_reset(&dv);
    return 0;
}
