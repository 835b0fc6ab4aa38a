/*
 * arrow (internal): helpers shared by the files of the Arrow layer (type.c, array.c, json.c and
 * the IPC files ipc_*.c, which share ipc_format.h too). The public part of the layer is
 * include/expstore/arrow.h.
 */
#ifndef ES_ARROW_H
#define ES_ARROW_H

#include "expstore/arrow.h"
#include "util/util.h"

/** Number of buffers an array of type `t` has in the C Data Interface (null: 0, bool and
 * fixed-width: 2, utf8/binary and their large forms: 3, struct: 1). */
int es_arrow_n_buffers(const es_type *t);

/**
 * Minimum byte size of buffer `i` of an array of type `t` with the given offset and length
 * (the logical span [0, offset + length) must be addressable). For the data buffer of varlen
 * types (i == 2) the size depends on the offsets: pass the offsets buffer (already checked to
 * hold offset + length + 1 entries) in `offsets`, else pass NULL and get the offsets' needs only.
 * Returns -1 when the size overflows int64.
 */
int64_t es_arrow_buffer_need(const es_type *t, int i, int64_t offset, int64_t length,
                             const void *offsets);

/** Number of set bits among bits [off, off + len) of a bitmap (a validity bitmap's non-null
 * slots). */
int64_t es_arrow_count_set_bits(const uint8_t *bits, int64_t off, int64_t len);

/** Whether `schema`'s release callback is ours (so its strings are heap copies we may replace). */
bool es_arrow_schema_is_ours(const struct ArrowSchema *schema);

#endif /* ES_ARROW_H */
