/*
 * fuzz_six: the index object checker (src/table/index.c, es_index_object_check) on arbitrary
 * bytes, for every value domain: it must return ES_OK or ES_CORRUPT, never crash, leak or read
 * out of bounds. The corpus holds objects written by CREATE INDEX on integer, text, double and
 * timestamp columns.
 */
#include <stdint.h>
#include <stdlib.h>

#include "table/index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int dom = ES_DOM_INT; dom <= ES_DOM_DEC; dom++) {
        es_error err;
        es_status st = es_index_object_check(data, size, (es_domain)dom, 1 << 20, "fuzz.six", &err);
        if (st != ES_OK && st != ES_CORRUPT && st != ES_NOMEM)
            abort();
    }
    return 0;
}
