/*
 * Exp Store's Arrow layer, public part: types, schemas, array builders, validated array views,
 * canonical JSON, and Arrow IPC (file and stream formats) reading and writing.
 *
 * Arrays and schemas are the Arrow C Data Interface structs (arrow_abi.h). A top-level record
 * batch is a struct array ("+s") whose children are the columns, as in the C Data Interface.
 */
#ifndef EXPSTORE_ARROW_H
#define EXPSTORE_ARROW_H

#include <stdbool.h>
#include <stdio.h>

#include "expstore/arrow_abi.h"
#include "expstore/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- types */

typedef enum es_type_id {
    ES_TYPE_NA = 0,       /* "n" */
    ES_TYPE_BOOL,         /* "b" */
    ES_TYPE_INT8,         /* "c" */
    ES_TYPE_UINT8,        /* "C" */
    ES_TYPE_INT16,        /* "s" */
    ES_TYPE_UINT16,       /* "S" */
    ES_TYPE_INT32,        /* "i" */
    ES_TYPE_UINT32,       /* "I" */
    ES_TYPE_INT64,        /* "l" */
    ES_TYPE_UINT64,       /* "L" */
    ES_TYPE_FLOAT32,      /* "f" */
    ES_TYPE_FLOAT64,      /* "g" */
    ES_TYPE_UTF8,         /* "u" */
    ES_TYPE_LARGE_UTF8,   /* "U" */
    ES_TYPE_BINARY,       /* "z" */
    ES_TYPE_LARGE_BINARY, /* "Z" */
    ES_TYPE_FIXED_BINARY, /* "w:N" */
    ES_TYPE_DATE32,       /* "tdD" days */
    ES_TYPE_DATE64,       /* "tdm" milliseconds */
    ES_TYPE_TIME32,       /* "tts" / "ttm" */
    ES_TYPE_TIME64,       /* "ttu" / "ttn" */
    ES_TYPE_TIMESTAMP,    /* "tss:TZ" "tsm:" "tsu:" "tsn:" (TZ may be empty) */
    ES_TYPE_DURATION,     /* "tDs" "tDm" "tDu" "tDn" */
    ES_TYPE_DECIMAL128,   /* "d:P,S" or "d:P,S,128" */
    ES_TYPE_STRUCT,       /* "+s" (record batches only) */
    ES_TYPE_COUNT
} es_type_id;

typedef enum es_time_unit { ES_SECOND = 0, ES_MILLI, ES_MICRO, ES_NANO } es_time_unit;

/** A parsed ArrowSchema format string. */
typedef struct es_type {
    es_type_id id;
    es_time_unit unit;  /**< time32/64, timestamp, duration */
    int32_t byte_width; /**< fixed_size_binary: N; fixed-width types: their width; else 0 */
    int32_t precision;  /**< decimal128 */
    int32_t scale;      /**< decimal128 */
    char tz[64];        /**< timestamp time zone, "" when none */
} es_type;

/** Parse an ArrowSchema format string. Unknown or unsupported formats give ES_UNSUPPORTED
 * ("unsupported Arrow type '+m'"), malformed ones ES_INVALID. */
ES_API es_status es_type_parse(es_type *out, const char *format, es_error *err);
/** Write the format string for `t` into buf (NUL-terminated). */
ES_API es_status es_type_format(char *buf, size_t cap, const es_type *t, es_error *err);
/** A short human name: "int64", "timestamp[us, UTC]", "decimal128(10, 2)", ... */
ES_API void es_type_name(char *buf, size_t cap, const es_type *t);
/** True for types whose values are variable-length (utf8, binary and their large forms). */
ES_API bool es_type_is_varlen(es_type_id id);

/* --------------------------------------------------------------- schemas */

/** Initialise a released-capable leaf schema (heap-owned copies of format and name).
 * flags: ARROW_FLAG_NULLABLE or 0. */
ES_API es_status es_schema_init(struct ArrowSchema *out, const char *format, const char *name,
                                int64_t flags, es_error *err);
/** Initialise a struct schema ("+s") with n_children children, each zero-initialised (release
 * NULL) for the caller to fill with es_schema_init. */
ES_API es_status es_schema_init_struct(struct ArrowSchema *out, int64_t n_children, es_error *err);
/** Deep copy. */
ES_API es_status es_schema_copy(struct ArrowSchema *out, const struct ArrowSchema *src,
                                es_error *err);
/** Set (replace) the custom metadata of a schema we created, from n key/value pairs. */
ES_API es_status es_schema_set_metadata(struct ArrowSchema *schema, int64_t n, const char **keys,
                                        const char **values, es_error *err);
/** Look up a metadata key in a C Data Interface metadata blob. Returns a pointer into the blob
 * and its length in *len, or NULL when absent. */
ES_API const char *es_metadata_get(const char *metadata, const char *key, int32_t *len);
/** Number of key/value pairs in a metadata blob (0 for NULL). */
ES_API int32_t es_metadata_count(const char *metadata);
/** The i-th pair of a metadata blob (pointers into the blob, with lengths). */
ES_API void es_metadata_at(const char *metadata, int32_t i, const char **key, int32_t *klen,
                           const char **val, int32_t *vlen);

/* -------------------------------------------------------------- builders */

/** Builds one array (any supported type, or a struct whose children are built by child
 * builders). Values are appended; es_builder_finish moves the result into an ArrowArray. */
typedef struct es_builder es_builder;

/** New builder for the type of `schema` (a leaf or a "+s" struct; struct builders create one
 * child builder per child field). */
ES_API es_status es_builder_new(es_builder **out, const struct ArrowSchema *schema, es_error *err);
ES_API void es_builder_free(es_builder *b);
/** Child builder i of a struct builder (borrowed; lives as long as the parent). */
ES_API es_builder *es_builder_child(es_builder *b, int64_t i);
ES_API int64_t es_builder_length(const es_builder *b);
ES_API es_status es_builder_reserve(es_builder *b, int64_t additional_rows);
ES_API es_status es_builder_append_null(es_builder *b, int64_t n);
/** For bool (0/1), every integer type, date/time/timestamp/duration (raw stored value) and
 * decimal128 (unscaled value). Values out of the type's range give ES_INVALID. */
ES_API es_status es_builder_append_int(es_builder *b, int64_t v);
ES_API es_status es_builder_append_uint(es_builder *b, uint64_t v);
/** For float32/float64. */
ES_API es_status es_builder_append_double(es_builder *b, double v);
/** For utf8/binary (and large) and fixed_size_binary (len must equal the width). */
ES_API es_status es_builder_append_bytes(es_builder *b, const void *data, int64_t len);
/** For decimal128: 16 little-endian bytes, two's complement. */
ES_API es_status es_builder_append_decimal128(es_builder *b, const uint8_t v[16]);
/** Append one valid struct row (children must already have one more value each). */
ES_API es_status es_builder_append_struct(es_builder *b);
/** Move the built array into *out (out->release set) and reset the builder to empty. For a
 * struct builder, the length is that of its children, which must all be equal. */
ES_API es_status es_builder_finish(es_builder *b, struct ArrowArray *out, es_error *err);

/* ----------------------------------------------------------------- views */

/** A validated, read-only view of an ArrowArray. Pointers are borrowed from the array.
 * The es_view_* accessors take the logical index i (0 <= i < length). Direct pointer use:
 * fixed-width `values` and `offsets32`/`offsets64` already point at element 0 of the view
 * (offsets[i]..offsets[i+1] are positions in the varlen data buffer `values`); the bitmaps
 * (`validity`, and `values` for bool) are not shifted: element i is bit offset + i. */
typedef struct es_array_view {
    es_type type;
    int64_t length;
    int64_t offset; /**< bit offset of element 0 in validity (and bool values) */
    int64_t null_count;
    const uint8_t *validity;  /**< NULL when no nulls */
    const uint8_t *values;    /**< buffer 1 (fixed width) or the data buffer (varlen) */
    const int32_t *offsets32; /**< utf8/binary only, else NULL */
    const int64_t *offsets64; /**< large_utf8/large_binary only, else NULL */
    int64_t n_children;
    struct es_array_view *children; /**< array of n_children views (struct) */
} es_array_view;

/** Validate `array` against `schema` fully (buffer counts, lengths, offsets monotonic and in
 * range, utf8 is not checked for encoding) and fill the view. ES_INVALID with a message on a
 * bad array. Free with es_array_view_reset. */
ES_API es_status es_array_view_init(es_array_view *v, const struct ArrowSchema *schema,
                                    const struct ArrowArray *array, es_error *err);
ES_API void es_array_view_reset(es_array_view *v);
ES_API bool es_view_is_null(const es_array_view *v, int64_t i);
ES_API int64_t es_view_get_int(const es_array_view *v, int64_t i);   /**< integer-like types */
ES_API uint64_t es_view_get_uint(const es_array_view *v, int64_t i); /**< unsigned types */
ES_API double es_view_get_double(const es_array_view *v, int64_t i); /**< any numeric type */
/** Bytes of a varlen or fixed-binary value (and decimal128: 16 bytes). */
ES_API const uint8_t *es_view_get_bytes(const es_array_view *v, int64_t i, int64_t *len);

/* ----------------------------------------------------- releasing helpers */

/** Release helpers that accept structs whose release is NULL. */
ES_API void es_schema_release(struct ArrowSchema *s);
ES_API void es_array_release(struct ArrowArray *a);
ES_API void es_stream_release(struct ArrowArrayStream *s);

/** A stream over a list of batches (moved in) with one schema (copied). */
ES_API es_status es_stream_from_batches(struct ArrowArrayStream *out,
                                        const struct ArrowSchema *schema,
                                        struct ArrowArray *batches, int64_t n, es_error *err);

/* ------------------------------------------------------------------ JSON */

/** Canonical JSON of a schema: {"fields":[{"name":..,"type":"int64",..."nullable":true,
 * "metadata":{..}}],"metadata":{..}}. Written to f. */
ES_API es_status es_json_write_schema(FILE *f, const struct ArrowSchema *schema, es_error *err);
/** Canonical JSON of the rows of a record batch: one JSON object per row, one row per line. */
ES_API es_status es_json_write_rows(FILE *f, const struct ArrowSchema *schema,
                                    const struct ArrowArray *batch, es_error *err);

/* ------------------------------------------------------------------- IPC */

typedef enum es_compression {
    ES_COMPRESS_NONE = 0,
    ES_COMPRESS_LZ4 = 1, /* LZ4_FRAME */
    ES_COMPRESS_ZSTD = 2
} es_compression;

typedef struct es_ipc_write_options {
    int version;                /**< ES_IPC_WRITE_OPTIONS_VERSION */
    es_compression compression; /**< body compression */
} es_ipc_write_options;
#define ES_IPC_WRITE_OPTIONS_VERSION 1
#define ES_IPC_WRITE_OPTIONS_INIT                                                                  \
    {                                                                                              \
        ES_IPC_WRITE_OPTIONS_VERSION, ES_COMPRESS_NONE                                             \
    }

typedef enum es_ipc_format { ES_IPC_FILE = 0, ES_IPC_STREAM = 1 } es_ipc_format;

/** Byte layout of one written record batch, relative to the start of the output. */
typedef struct es_ipc_block {
    int64_t offset;          /**< start of the message (continuation marker) */
    int32_t metadata_length; /**< marker + length + flatbuffer + padding, as in File.fbs Block */
    int64_t body_length;
    int64_t rows;
} es_ipc_block;

/** Writes record batches to a growing in-memory buffer in the file or stream format. */
typedef struct es_ipc_writer es_ipc_writer;
ES_API es_status es_ipc_writer_new(es_ipc_writer **out, const struct ArrowSchema *schema,
                                   es_ipc_format format, const es_ipc_write_options *opts,
                                   es_error *err);
/** Append one record batch (a struct array matching the schema; offsets/slices allowed). */
ES_API es_status es_ipc_writer_write(es_ipc_writer *w, const struct ArrowArray *batch,
                                     es_error *err);
/** Write the footer (file) or end-of-stream marker and hand the bytes to the caller
 * (*data allocated with es_malloc; free with es_free). The writer can then only be freed. */
ES_API es_status es_ipc_writer_finish(es_ipc_writer *w, uint8_t **data, size_t *size,
                                      es_error *err);
/** Blocks written so far (borrowed, valid until the writer is freed). */
ES_API const es_ipc_block *es_ipc_writer_blocks(const es_ipc_writer *w, int64_t *n);
ES_API void es_ipc_writer_free(es_ipc_writer *w);

/** An IPC file opened from bytes in memory (random access to record batches). */
typedef struct es_ipc_file es_ipc_file;
/** Open: validates magic, footer and schema. Takes a reference on `blob`; arrays read from
 * the file point into it (zero-copy where aligned) and keep it alive. */
ES_API es_status es_ipc_file_open(es_ipc_file **out, es_blob *blob, es_error *err);
ES_API void es_ipc_file_close(es_ipc_file *f);
ES_API const struct ArrowSchema *es_ipc_file_schema(const es_ipc_file *f);
ES_API int64_t es_ipc_file_num_batches(const es_ipc_file *f);
ES_API const es_ipc_block *es_ipc_file_block(const es_ipc_file *f, int64_t i);
/** Decode record batch i into *out (a struct array). */
ES_API es_status es_ipc_file_read(es_ipc_file *f, int64_t i, struct ArrowArray *out, es_error *err);

/** Read an IPC stream or file (detected by magic) held in `blob` as an ArrowArrayStream. */
ES_API es_status es_ipc_reader_open(struct ArrowArrayStream *out, es_blob *blob, es_error *err);

#ifdef __cplusplus
}
#endif

#endif /* EXPSTORE_ARROW_H */
