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

/** The private data of an array that owns what it holds (a record batch decoded from IPC, a
 * batch with its dictionary columns decoded, a scan's copy of selected rows, index lookups'
 * rows read by position): up to three buffers (es_malloc'ed; `ptrs` is what a->buffers points
 * to); for a struct array, `kids` (what a->children points to is kid_ptrs, usually &kids[i]),
 * of which the first n_kids are released with it; and `orig`, an array released after them
 * (a batch whose children some kids replace). es_owned_array_release is its release callback. */
typedef struct es_owned_array {
    void *buf[3];
    const void *ptrs[3];
    struct ArrowArray *kids, **kid_ptrs;
    int64_t n_kids;
    struct ArrowArray orig;
} es_owned_array;
void es_owned_array_release(struct ArrowArray *a);
/** *out: a struct array of `length` rows without validity and n children, kids[i] zeroed for
 * the caller to fill (a->children[i] = &kids[i]), all released with it. ES_NOMEM (out zeroed). */
es_status es_owned_batch_new(struct ArrowArray *out, int64_t n, int64_t length);

/* ------------------------------------------------- dict.c: dictionary-encoded arrays */

/** A reference-counted array (atomic counts): one dictionary shared by many arrays. */
typedef struct es_array_ref es_array_ref;
/** Take ownership of *moved (released on failure too). ES_NOMEM. */
es_status es_array_ref_new(es_array_ref **out, struct ArrowArray *moved, es_error *err);
es_array_ref *es_array_ref_ref(es_array_ref *r);
void es_array_ref_unref(es_array_ref *r);
const struct ArrowArray *es_array_ref_array(const es_array_ref *r);
/** A shallow copy of the shared array in *out that holds a reference (its release drops it). */
void es_array_ref_export(struct ArrowArray *out, es_array_ref *r);
/** ES_INVALID naming the field and row unless every non-null index of `a` (integer type
 * `index`) lies in [0, dict_len). */
es_status es_dict_check_indices(const struct ArrowArray *a, const es_type *index, int64_t dict_len,
                                const char *name, es_error *err);
/** Materialise the dictionary-encoded array `a` of field `field` (format: index type, dictionary:
 * the values' schema; a->dictionary set) into a plain array of the value type (offset 0; nulls
 * where the index or the dictionary value is null). ES_INVALID (index out of range, bad
 * dictionary), ES_UNSUPPORTED (bool or nested values), ES_NOMEM. */
es_status es_dict_materialize(struct ArrowArray *out, const struct ArrowSchema *field,
                              const struct ArrowArray *a, es_error *err);
/** *out gets the values of dictionary `a` followed by those of `b` (both of the value schema
 * `values`; a delta dictionary batch appends `b` to `a`), as a new array of offset 0.
 * ES_INVALID (bad arrays, over 2 GiB of utf8), ES_UNSUPPORTED (bool or nested), ES_NOMEM. */
es_status es_dict_concat(struct ArrowArray *out, const struct ArrowSchema *values,
                         const struct ArrowArray *a, const struct ArrowArray *b, const char *name,
                         es_error *err);
/** When some column of the record batch schema `schema` is dictionary-encoded: *out gets the
 * schema with each such column given its value type, and every batch is replaced in place by
 * one whose such columns are materialised (es_dict_materialize; the others are shared). When no
 * column is, *out is left released (out->release NULL) and the batches untouched. */
es_status es_dict_decode_batches(struct ArrowSchema *out, const struct ArrowSchema *schema,
                                 struct ArrowArray *batches, int64_t n, es_error *err);

#endif /* ES_ARROW_H */
