/*
 * fuzz_idx: the .idx decoder (es_part_idx_decode) on arbitrary bytes. It must return ES_OK or an
 * error, never crash, leak or read out of bounds; a decoded index must be self-consistent.
 */
#include <stdint.h>
#include <stdlib.h>

#include "table/part.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    es_blob *b = NULL;
    if (es_blob_new_copy(&b, data, size) != ES_OK)
        return 0;
    es_part_idx *x = NULL;
    es_error err;
    if (es_part_idx_decode(&x, b, "fuzz.idx", 1, &err) == ES_OK) {
        /* Re-encode and decode again: the result must be accepted. */
        uint8_t *out = NULL;
        size_t len = 0;
        if (es_part_idx_encode(&out, &len, x, &err) == ES_OK) {
            es_blob *b2 = NULL;
            es_part_idx *y = NULL;
            if (es_blob_new_owned(&b2, out, len) == ES_OK) {
                if (es_part_idx_decode(&y, b2, "fuzz2.idx", 1, &err) != ES_OK)
                    abort();
                if (y->n_batches != x->n_batches || y->n_cols != x->n_cols)
                    abort();
                es_part_idx_free(y);
                es_blob_unref(b2);
            } else {
                es_free(out);
            }
        }
        es_part_idx_free(x);
    }
    es_blob_unref(b);
    return 0;
}
