/*
 * flatbuf: a minimal FlatBuffers builder and a bounds-checked table reader, enough for the
 * Arrow IPC metadata (Schema.fbs, Message.fbs, File.fbs). Part of the arrow layer; depends on
 * util only. No flatbuffers library is used.
 *
 * Binary format (google/flatbuffers docs/source/internals.md), all little-endian:
 *  - the buffer starts with a uoffset (u32) to the root table;
 *  - a table starts with an soffset (i32); its vtable is at table_pos - soffset;
 *  - a vtable is u16 vtable_bytes, u16 table_inline_bytes, then one u16 per field: the field's
 *    offset from the table start, 0 when the field is absent (the reader uses the default);
 *  - reference fields (table, vector, string) hold a u32 added to the field's own position;
 *  - a vector is u32 count then the elements (structs inline, tables/strings as u32 offsets
 *    relative to each element's position); a string is u32 length, bytes, NUL.
 *
 * Builder: back to front, as the reference implementation does. Objects are prepended to a
 * buffer; a reference (es_fb_ref) is the object's distance from the end of the buffer, which
 * never changes. Every object is aligned relative to the end, and es_fb_finish pads the front
 * so the total size is a multiple of 8, which makes end-relative alignment absolute. Children
 * (strings, vectors, sub-tables) are built before the table that references them. Errors are
 * sticky: after an allocation failure every call is a no-op and es_fb_finish returns ES_NOMEM.
 *
 * Reader: nothing is trusted. es_fb_root and every accessor check that the table, its vtable,
 * the field and any object it references lie inside the buffer; accessors return
 * ES_FB_ABSENT (0), ES_FB_OK (1) or ES_FB_BAD (-1) and never read out of bounds. The reader does
 * not require alignment (all loads are unaligned-safe).
 */
#ifndef ES_FLATBUF_H
#define ES_FLATBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

/* ---------------------------------------------------------------- builder */

typedef uint32_t es_fb_ref;

#define ES_FB_MAX_FIELDS 16

typedef struct es_fb_builder {
    uint8_t *buf; /* es_malloc'd; data occupies [cap - size, cap) */
    size_t cap;
    size_t size;
    bool failed; /* sticky allocation failure */
    int n_fields;
    bool in_table;
    struct {
        uint16_t slot;
        uint8_t size;   /* inline bytes: 1, 2, 4 or 8 */
        bool is_ref;    /* value is an es_fb_ref */
        uint64_t value; /* scalar bits or the ref */
    } fields[ES_FB_MAX_FIELDS];
} es_fb_builder;

/** Zero-initialise a builder ({0}) or call this. */
void es_fb_builder_init(es_fb_builder *b);
void es_fb_builder_reset(es_fb_builder *b);
es_fb_ref es_fb_create_string(es_fb_builder *b, const char *s, size_t len);
/** A vector of n inline elements (scalars or structs) of elsz bytes each, elements aligned to
 * `align` (1, 2, 4 or 8). */
es_fb_ref es_fb_create_vector(es_fb_builder *b, const void *elems, size_t n, size_t elsz,
                              size_t align);
/** A vector of references (tables or strings). */
es_fb_ref es_fb_create_ref_vector(es_fb_builder *b, const es_fb_ref *refs, size_t n);
void es_fb_table_start(es_fb_builder *b);
/** Add a scalar field of `size` bytes (1, 2, 4, 8); bits are the little-endian value. */
void es_fb_add_scalar(es_fb_builder *b, int slot, int size, uint64_t bits);
void es_fb_add_ref(es_fb_builder *b, int slot, es_fb_ref ref);
es_fb_ref es_fb_table_end(es_fb_builder *b);
/** Write the root offset and move the finished buffer (size a multiple of 8) to *out
 * (es_malloc'd). The builder is reset. ES_NOMEM after any allocation failure. */
es_status es_fb_finish(es_fb_builder *b, es_fb_ref root, uint8_t **out, size_t *len);

/* ----------------------------------------------------------------- reader */

enum { ES_FB_BAD = -1, ES_FB_ABSENT = 0, ES_FB_OK = 1 };

/** A table located and checked inside a buffer. */
typedef struct es_fb_table {
    const uint8_t *buf;
    size_t len;
    size_t pos;       /* table start */
    size_t vt;        /* vtable start */
    uint16_t vt_len;  /* vtable bytes */
    uint16_t tbl_len; /* table inline bytes */
} es_fb_table;

/** A vector located and checked inside a buffer: n elements at buf + pos. */
typedef struct es_fb_vec {
    const uint8_t *buf;
    size_t len;
    size_t pos; /* first element */
    uint32_t n;
    size_t elsz;
} es_fb_vec;

/** Locate the root table. ES_FB_OK or ES_FB_BAD. */
int es_fb_root(es_fb_table *t, const uint8_t *buf, size_t len);
/** Scalars: absent fields give `def`. */
int es_fb_get_i64(const es_fb_table *t, int slot, int64_t def, int64_t *out);
int es_fb_get_i32(const es_fb_table *t, int slot, int32_t def, int32_t *out);
int es_fb_get_i16(const es_fb_table *t, int slot, int16_t def, int16_t *out);
int es_fb_get_u8(const es_fb_table *t, int slot, uint8_t def, uint8_t *out);
/** Sub-table, vector, string: ES_FB_ABSENT when the field is absent. */
int es_fb_get_table(const es_fb_table *t, int slot, es_fb_table *out);
int es_fb_get_vector(const es_fb_table *t, int slot, size_t elsz, es_fb_vec *out);
/** A string: pointer into the buffer (NUL-terminated, checked) and its length. */
int es_fb_get_string(const es_fb_table *t, int slot, const char **s, uint32_t *len);
/** Element i of a vector of tables / strings. */
int es_fb_vec_table(const es_fb_vec *v, uint32_t i, es_fb_table *out);
int es_fb_vec_string(const es_fb_vec *v, uint32_t i, const char **s, uint32_t *len);
/** Pointer to inline element i of a vector of scalars/structs (bounds were checked). */
static inline const uint8_t *es_fb_vec_at(const es_fb_vec *v, uint32_t i)
{
    return v->buf + v->pos + (size_t)i * v->elsz;
}

#endif /* ES_FLATBUF_H */
