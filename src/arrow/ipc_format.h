/*
 * ipc_format (internal to the Arrow IPC files of the arrow layer): the constants of the Arrow
 * IPC format (framing, the FlatBuffers field slots of Message.fbs, Schema.fbs and File.fbs, the
 * Type union) and the functions the IPC files share. The part layer sees only arrow/ipc.h; the
 * public part is include/expstore/arrow.h. The byte layout of what we write is documented at
 * the top of ipc_write.c, the validity rules of reading at the top of ipc_read.c.
 *
 *   ipc_codec.c   LZ4_FRAME and ZSTD body buffers (liblz4/libzstd loaded on first use)
 *   ipc_schema.c  Schema flatbuffers to and from "+s" ArrowSchemas
 *   ipc_read.c    the decoder: record batch metadata and bodies to arrays, column ranges
 *   ipc_write.c   the writer (file and stream formats)
 *   ipc_file.c    the file reader and the stream reader (an ArrowArrayStream over a blob)
 */
#ifndef ES_ARROW_IPC_FORMAT_H
#define ES_ARROW_IPC_FORMAT_H

#include "arrow/arrow.h"
#include "arrow/flatbuf.h"
#include "arrow/ipc.h"

/* Flatbuffer field slots (field ids in the .fbs files). */
enum { MSG_VERSION = 0, MSG_HEADER_TYPE = 1, MSG_HEADER = 2, MSG_BODY_LENGTH = 3 };
enum { HDR_SCHEMA = 1, HDR_DICTIONARY = 2, HDR_RECORD_BATCH = 3 };
enum { SCH_ENDIANNESS = 0, SCH_FIELDS = 1, SCH_METADATA = 2 };
enum {
    FLD_NAME = 0,
    FLD_NULLABLE = 1,
    FLD_TYPE_TYPE = 2,
    FLD_TYPE = 3,
    FLD_DICTIONARY = 4,
    FLD_CHILDREN = 5,
    FLD_METADATA = 6
};
enum { KV_KEY = 0, KV_VALUE = 1 };
enum { RB_LENGTH = 0, RB_NODES = 1, RB_BUFFERS = 2, RB_COMPRESSION = 3 };
enum { CMP_CODEC = 0, CMP_METHOD = 1 };
enum { FTR_VERSION = 0, FTR_SCHEMA = 1, FTR_DICTIONARIES = 2, FTR_BATCHES = 3 };

#define METADATA_V4 3
#define METADATA_V5 4
#define CONTINUATION 0xFFFFFFFFu
/* The 8 bytes that open an IPC file ("ARROW1" and two bytes of padding); it ends with the
 * first 6. */
#define IPC_MAGIC "ARROW1\0\0"

/* Width in bytes of one offset of a varlen type. */
static inline int offset_width(es_type_id id)
{
    return (id == ES_TYPE_LARGE_UTF8 || id == ES_TYPE_LARGE_BINARY) ? 8 : 4;
}

/* The name of top-level field c of a record batch schema, for messages ("" when unnamed). */
static inline const char *child_name(const struct ArrowSchema *schema, int64_t c)
{
    const struct ArrowSchema *ch = schema->children[c];
    return ch && ch->name ? ch->name : "";
}

/* One zero offset: the offsets buffer of an empty varlen column (read as int32 or int64), and
 * a valid pointer for buffers of which no byte is read. */
extern const int64_t es_arrow_zero_offsets[1];

/* ------------------------------------------------------------ ipc_codec.c */

/* Compression contexts, created on first use and kept by the writer ({0}: none yet). */
typedef struct es_arrow_codecs {
    struct LZ4F_cctx_s *lz4;
    struct ZSTD_CCtx_s *zstd;
} es_arrow_codecs;

/* Free the contexts (the struct can be used again). */
void es_arrow_codecs_reset(es_arrow_codecs *c);

/* The most bytes the frame of an n-byte buffer may take for the buffer to be stored compressed:
 * the frame must save 1/8 of it, and 2/5 when the buffer holds the values of a fixed-width column
 * (`fixed`: integers, floats, dictionary indices). Decompressing such values costs more CPU than
 * reading the bytes saved (ZSTD decodes the reference table's user_id, which it shrinks by a third,
 * at about 800 MB/s on the bench machine), and a raw values buffer is scanned in place. */
static inline int64_t es_arrow_compress_cap(int64_t n, int fixed)
{
    return fixed ? n - 2 * n / 5 : n - n / 8;
}

/* Compress one body buffer with codec c (ES_COMPRESS_LZ4 or ES_COMPRESS_ZSTD) into a new heap
 * buffer *out of *out_len bytes: the int64 uncompressed length, then the frame; -1 and the raw
 * bytes when the frame would not be at most es_arrow_compress_cap(n, fixed). ES_UNSUPPORTED when
 * the codec's library cannot be loaded, ES_NOMEM. */
es_status es_arrow_compress(uint8_t **out, int64_t *out_len, es_arrow_codecs *cx, es_compression c,
                            const uint8_t *src, int64_t n, int fixed, es_error *err);

/* Compress n_pages pieces src[p] of n[p] bytes as ONE body buffer with ZSTD: the int64 total
 * uncompressed length, then one frame per piece in turn (RFC 8878: a ZSTD stream may hold several
 * frames, so every Arrow reader decodes the buffer as a whole); or -1 and the raw pieces in turn
 * when the frames together would not be at most es_arrow_compress_cap(total, fixed). rel[p],
 * plen[p]: where piece p's frame (or raw bytes) lies in *out. ES_INVALID (codec other than ZSTD),
 * ES_UNSUPPORTED, ES_NOMEM. */
es_status es_arrow_compress_pages(uint8_t **out, int64_t *out_len, int64_t *rel, int64_t *plen,
                                  es_arrow_codecs *cx, es_compression c, const uint8_t *const *src,
                                  const int64_t *n, int64_t n_pages, int fixed, es_error *err);

/* Decompress one body buffer [src, src + n) of codec 0 (LZ4_FRAME) or 1 (ZSTD). On success
 * either *owned is a new heap buffer holding the decompressed bytes, or *owned is NULL and
 * *data points into src (prefix -1: raw). `where` names the buffer in messages. ES_CORRUPT,
 * ES_UNSUPPORTED (library missing), ES_NOMEM. */
es_status es_arrow_decompress(uint8_t **owned, const uint8_t **data, int64_t *len, int codec,
                              const uint8_t *src, int64_t n, const char *where, es_error *err);

/* ----------------------------------------------------------- ipc_schema.c */

/* Parse the type of every child of a record batch schema ("+s", no nested fields; for a
 * dictionary-encoded field, the index type, its dictionary holding a flat value type).
 * *types is es_malloc'd, one per child. ES_INVALID, ES_UNSUPPORTED, ES_NOMEM. */
es_status es_arrow_batch_types(es_type **types, const struct ArrowSchema *schema, es_error *err);

/* Build the Schema table of a record batch schema whose child types are `types`. Failures are
 * sticky in the builder (b->failed). */
es_fb_ref es_arrow_encode_schema(es_fb_builder *b, const struct ArrowSchema *schema,
                                 const es_type *types);

/* Decode a Schema table into a fresh "+s" ArrowSchema. ES_CORRUPT, ES_UNSUPPORTED (naming the
 * field), ES_NOMEM; on failure *out is zeroed. */
es_status es_arrow_decode_schema(struct ArrowSchema *out, const es_fb_table *sch, es_error *err);

/* The DictionaryEncoding id of each of the n_fields fields of a Schema table (-1: none). */
es_status es_arrow_schema_dict_ids(int64_t *ids, const es_fb_table *sch, int64_t n_fields,
                                   es_error *err);

/* ------------------------------------------------------------- ipc_read.c */

/* Locate the Message flatbuffer inside framed metadata (with or without the continuation
 * marker), parse its root and check the metadata version. `what` names the message. */
es_status es_arrow_parse_message(es_fb_table *msg, const uint8_t *meta, size_t meta_len,
                                 const char *what, es_error *err);

/* What a record batch message says. */
typedef struct es_arrow_batch_meta {
    int64_t length;
    es_fb_vec nodes;   /* FieldNode { long length; long null_count; } */
    es_fb_vec buffers; /* Buffer { long offset; long length; } */
    int codec;         /* -1 none, 0 LZ4_FRAME, 1 ZSTD */
    int64_t body_length;
} es_arrow_batch_meta;

/* Parse the metadata of a record batch message. ES_CORRUPT, ES_UNSUPPORTED (dictionary
 * batches, other codecs). */
es_status es_arrow_parse_batch(es_arrow_batch_meta *rb, const uint8_t *meta, size_t meta_len,
                               const char *what, es_error *err);

/* The dictionaries of a reader: for each field of its schema the DictionaryEncoding id (-1:
 * not dictionary-encoded) and the values read last for it (NULL: none yet). */
typedef struct es_arrow_dicts {
    int64_t n;
    int64_t *ids;
    es_array_ref **cur;
    bool any;
} es_arrow_dicts;

/* Set up from the Schema table `sch` and its decoded `schema`. ES_CORRUPT, ES_UNSUPPORTED (two
 * fields sharing a dictionary), ES_NOMEM. */
es_status es_arrow_dicts_init(es_arrow_dicts *d, const es_fb_table *sch,
                              const struct ArrowSchema *schema, es_error *err);
void es_arrow_dicts_reset(es_arrow_dicts *d);
/* Read one DictionaryBatch message (framed metadata and body as for es_ipc_decode_batch): it
 * replaces the field's dictionary. Delta batches give ES_UNSUPPORTED. */
es_status es_arrow_dicts_read(es_arrow_dicts *d, const struct ArrowSchema *schema,
                              const uint8_t *meta, size_t meta_len, es_blob *blob,
                              const uint8_t *body, int64_t body_len, const char *what,
                              es_error *err);
/* Give every dictionary-encoded column of a decoded batch its current dictionary (indices
 * checked against it: ES_CORRUPT). */
es_status es_arrow_dicts_attach(es_arrow_dicts *d, struct ArrowArray *batch,
                                const struct ArrowSchema *schema, const char *what, es_error *err);

#endif /* ES_ARROW_IPC_FORMAT_H */
