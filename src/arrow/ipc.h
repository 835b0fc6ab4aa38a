/*
 * arrow/ipc.h (internal): the parts of the Arrow IPC layer that the part layer (.data/.idx files)
 * builds on. The public part (writer, file, stream reader) is in include/expstore/arrow.h.
 *
 * Column ranges. Our writer lays out the body of every record batch column by column, in field
 * order, each column's buffers contiguous (validity, then offsets, then values/data, each padded
 * to 8 bytes; with compression each buffer is its 8-byte length prefix plus the frame). The byte
 * range of column c in batch b is [first byte of its first non-empty buffer, last byte of its
 * last non-empty buffer] (the padding after the last buffer is not included); a column with only
 * empty buffers (the null type, or no nulls and no rows) has an empty range. A scan may fetch only
 * the ranges of the columns it needs plus the batch's metadata ([block.offset, block.offset +
 * block.metadata_length)) and rebuild the batch with es_ipc_decode_batch_columns.
 */
#ifndef ES_ARROW_IPC_H
#define ES_ARROW_IPC_H

#include "arrow/arrow.h"

/**
 * Byte range, absolute in the writer's output, of the buffers of top-level column `col` of
 * written batch `batch` (0-based, in write order). For the file format, offsets are from the
 * start of the file (including the 8-byte "ARROW1\0\0" prefix); for the stream format, from the
 * start of the stream. *length may be 0 (empty column); *offset is then the file position where
 * the column would have started.
 * Returns ES_OK, or ES_INVALID when batch or col is out of range. Valid until the writer is freed.
 */
es_status es_ipc_writer_column_ranges(const es_ipc_writer *w, int64_t batch, int64_t col,
                                      int64_t *offset, int64_t *length);

/**
 * The same ranges computed from a record batch message read back: `meta` holds the bytes
 * [block.offset, block.offset + block.metadata_length) (continuation marker, length, flatbuffer,
 * padding; the legacy form without the marker is accepted too), n_cols the number of top-level
 * columns of `schema`. Fills offsets[c] (relative to the start of the body, i.e. add
 * block.offset + block.metadata_length for a file position) and lengths[c] for every column.
 * ES_CORRUPT on malformed metadata, ES_UNSUPPORTED on unsupported types.
 */
es_status es_ipc_batch_column_ranges(int64_t *offsets, int64_t *lengths,
                                     const struct ArrowSchema *schema, const uint8_t *meta,
                                     size_t meta_len, es_error *err);

/** Where the buffers of one top-level column lie in a record batch body (es_ipc_batch_buffers). */
typedef struct es_ipc_buffers {
    int64_t null_count;
    int n;                  /* buffers of the column's type (validity first) */
    int64_t off[3], len[3]; /* relative to the start of the body */
} es_ipc_buffers;

/**
 * The buffers of every top-level column of a record batch, from its metadata (as for
 * es_ipc_batch_column_ranges): out[c] for c < schema->n_children, *length the batch's rows,
 * *compressed 1 when the body buffers are compressed (then a buffer's bytes cannot be read in
 * part). Checks what es_ipc_batch_column_ranges checks, and that node lengths equal the batch's
 * and null counts lie in [0, length]. For reading a few values of a batch by ranged reads.
 */
es_status es_ipc_batch_buffers(es_ipc_buffers *out, int64_t *length, int *compressed,
                               const struct ArrowSchema *schema, const uint8_t *meta,
                               size_t meta_len, es_error *err);

/**
 * Decode a record batch from its metadata and the body bytes of some columns only.
 *
 *  - schema: the full record batch schema ("+s", as from es_ipc_file_schema);
 *  - meta/meta_len: the message metadata as for es_ipc_batch_column_ranges;
 *  - cols[k] (k < n_cols): the top-level column indices wanted, in the order wanted (a column
 *    may not repeat);
 *  - col_bytes[k]: a blob holding exactly the column's range (at least *length bytes from
 *    es_ipc_writer_column_ranges / es_ipc_batch_column_ranges; extra bytes are ignored). It may
 *    be NULL when that range is empty.
 *
 * On success *out is a struct array of the batch's length with n_cols children in the order of
 * `cols`; each child references its blob (zero-copy where aligned) and keeps it alive. The
 * caller builds the matching projected schema itself. Compressed bodies are decompressed.
 * Returns ES_OK; ES_INVALID for a bad column index or repeated column; ES_CORRUPT (message
 * naming the batch buffer and field) for malformed metadata or a blob too short; ES_UNSUPPORTED;
 * ES_NOMEM. On failure out->release is NULL.
 */
es_status es_ipc_decode_batch_columns(struct ArrowArray *out, const struct ArrowSchema *schema,
                                      const uint8_t *meta, size_t meta_len, const int64_t *cols,
                                      int64_t n_cols, es_blob *const *col_bytes, es_error *err);

/**
 * Decode a whole record batch from its metadata and body (body[0] is the first body byte, the
 * blob keeps it alive: body must point inside blob->data). Used by the file and stream readers;
 * `what` names the batch in error messages ("record batch 3").
 */
es_status es_ipc_decode_batch(struct ArrowArray *out, const struct ArrowSchema *schema,
                              const uint8_t *meta, size_t meta_len, es_blob *blob,
                              const uint8_t *body, int64_t body_len, const char *what,
                              es_error *err);

/** A dictionary batch a writer wrote (dictionary-encoded fields: the writer writes the
 * dictionary of each before the first record batch; in the stream format again when a batch
 * brings another one). */
typedef struct es_ipc_dict_block {
    int64_t field;      /**< the top-level field (also its DictionaryEncoding id) */
    es_ipc_block block; /**< the message: offset, metadata_length, body_length; rows = values */
    const void *values; /**< (the writer's: which dictionary this was) */
} es_ipc_dict_block;
/** The dictionary batches written so far, in order (borrowed, valid until the writer is
 * freed). */
const es_ipc_dict_block *es_ipc_writer_dictionaries(const es_ipc_writer *w, int64_t *n);

/**
 * Decode a DictionaryBatch message (framed metadata `meta`, body as for es_ipc_decode_batch) of
 * a reader whose record batch schema is `schema` (dictionary-encoded children) with the
 * DictionaryEncoding ids `dict_ids` (one per child, -1 for none): *values gets the dictionary's
 * values (of the child's dictionary value type), *field the child it belongs to, *is_delta
 * whether it extends the previous one. ES_CORRUPT naming `what`, ES_NOMEM.
 */
es_status es_ipc_decode_dictionary(struct ArrowArray *values, int64_t *field, int *is_delta,
                                   const struct ArrowSchema *schema, const int64_t *dict_ids,
                                   const uint8_t *meta, size_t meta_len, es_blob *blob,
                                   const uint8_t *body, int64_t body_len, const char *what,
                                   es_error *err);

/**
 * Whether column `col` of a batch decoded by es_ipc_decode_batch_columns (or replaced since by
 * one built from it, e.g. a materialised dictionary column) holds decoded memory of its own:
 * 0 when every buffer is read in place from the body it was decoded from (nothing to keep: the
 * bytes fetched are the column); 1 when some buffer was decompressed or copied, after copying
 * the buffers still read in place so that the column no longer references the body (a cache
 * of decoded columns must not pin the bytes of whole requests); -1 out of memory (col
 * untouched). Columns of another origin: 1.
 */
int es_ipc_column_detach(struct ArrowArray *col);

/**
 * Give column `col` (an index array decoded by this layer: es_ipc_decode_batch_columns) of
 * dictionary-encoded field `field` the dictionary `dict` (shared: a reference is taken and
 * dropped when the column is released), after checking every index against it (ES_CORRUPT
 * naming `what` and the row).
 */
es_status es_ipc_attach_dictionary(struct ArrowArray *col, const struct ArrowSchema *field,
                                   es_array_ref *dict, const char *what, es_error *err);

/** Where one page of one column lies in a batch written by es_ipc_writer_write_pages: per C Data
 * buffer j of the column (validity, then values or offsets, then data), the page's frame (or its
 * raw bytes when bit j of raw is set: the buffer is stored raw) at off[j], len[j] bytes, absolute
 * in the output; len 0 when the buffer is empty. */
typedef struct es_ipc_page {
    int64_t off[3], len[3];
    uint8_t raw;
    int n_buffers; /* of the column's type */
} es_ipc_page;

/**
 * Append ONE record batch made of pages[0..n) in turn (each a struct array matching the schema;
 * every page but the last has a multiple of 8 rows, so bitmaps join byte-aligned). With ZSTD each
 * body buffer is the int64 total uncompressed length then one frame per page (RFC 8878 allows
 * concatenated frames: any Arrow reader decodes the buffer whole), or -1 then the raw bytes when
 * the frames save less than 1/8; without compression the buffers are plain. Offsets of varlen
 * columns are absolute within the batch. A column with a null somewhere has a validity bitmap for
 * every page. ES_INVALID (LZ4: pages are ZSTD or uncompressed), ES_NOMEM.
 */
es_status es_ipc_writer_write_pages(es_ipc_writer *w, const struct ArrowArray *pages, int64_t n,
                                    es_error *err);
/** The pages of column `col` of the last batch es_ipc_writer_write_pages wrote (*n_pages of them;
 * borrowed, valid until the next write). */
const es_ipc_page *es_ipc_writer_pages(const es_ipc_writer *w, int64_t col, int64_t *n_pages);

/** A column of `length` rows from buffers the caller allocated with es_malloc (owned[i], NULL
 * for none; taken, freed on failure too), as the decoders of this layer make them (so that
 * es_ipc_attach_dictionary accepts it). ES_NOMEM. */
es_status es_ipc_column_new(struct ArrowArray *out, int64_t length, int64_t null_count,
                            int n_buffers, void *owned[3]);

/** The same, where a buffer i with owned[i] NULL and in[i] not NULL is in[i] (in[i_size] bytes)
 * inside `blob`, read in place: the column holds a reference to blob (not cached by the scan's
 * column cache: es_ipc_column_detach copies such buffers). ES_NOMEM. */
es_status es_ipc_column_new_in(struct ArrowArray *out, int64_t length, int64_t null_count,
                               int n_buffers, void *owned[3], const void *const in[3],
                               const int64_t in_size[3], es_blob *blob);

/* Decompress ONE frame [src, src + n) of codec 0 (LZ4_FRAME) or 1 (ZSTD) into a new heap buffer
 * *out: exactly `expect` bytes when expect >= 0 (else ES_CORRUPT), or any size up to 65536 times
 * n. `where` names the page in messages. ES_CORRUPT, ES_UNSUPPORTED, ES_NOMEM. */
es_status es_arrow_decompress_frame(uint8_t **out, int64_t *out_len, int codec, const uint8_t *src,
                                    int64_t n, int64_t expect, const char *where, es_error *err);

#endif /* ES_ARROW_IPC_H */
