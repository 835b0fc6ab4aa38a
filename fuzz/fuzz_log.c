/*
 * fuzz_log: the commit log entry decoder (es_entry_decode) and es_snapshot_apply on arbitrary
 * bytes. Also checks that whatever decodes re-encodes to bytes that decode again.
 */
#include <stdint.h>
#include <stdlib.h>

#include "table/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    es_entry e;
    es_error err;
    if (es_entry_decode(&e, data, size, "_log/fuzz.json", &err) != ES_OK)
        return 0;
    es_snapshot *s = NULL;
    if (es_snapshot_new(&s) == ES_OK) {
        (void)es_snapshot_apply(s, &e, "_log/fuzz.json", &err);
        es_snapshot_free(s);
    }
    es_buf b = {0};
    if (es_entry_encode(&b, &e, &err) == ES_OK) {
        es_entry e2;
        if (es_entry_decode(&e2, b.data, b.len, "_log/fuzz2.json", &err) != ES_OK)
            abort();
        if (e2.n_actions != e.n_actions || e2.version != e.version)
            abort();
        es_entry_reset(&e2);
    }
    es_buf_reset(&b);
    es_entry_reset(&e);
    return 0;
}
