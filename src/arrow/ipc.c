/*
 * arrow_ipc: Arrow IPC encoding and decoding (arrow layer). Bytes in memory to arrays and back;
 * no I/O. Metadata is FlatBuffers (flatbuf.c), schemas and arrays are C Data Interface structs.
 *
 * Formats (apache/arrow docs/source/format/IPC.rst, format/Message.fbs, Schema.fbs, File.fbs):
 *
 *   message    := 0xFFFFFFFF, int32 metadata_size, Message flatbuffer padded to 8 bytes, body
 *                 (the legacy form without the 0xFFFFFFFF marker is read, never written)
 *   stream     := schema message, record batch messages..., 0xFFFFFFFF 0x00000000 (EOS)
 *   file       := "ARROW1\0\0", stream, Footer flatbuffer, int32 footer_size, "ARROW1"
 *   body       := buffers, each at an 8-aligned offset inside the body, in field order:
 *                 validity, [offsets], values/data. Null columns have no buffers.
 *   compressed := each non-empty buffer is int64 uncompressed_length (little-endian), then an
 *                 LZ4 frame or a ZSTD frame; uncompressed_length -1 means the raw bytes follow.
 *
 * Invariants of what we write: every message starts 8-aligned and its metadata is padded so
 * that its body is 8-aligned; each column's buffers are contiguous (see arrow_ipc.h); the
 * offsets of varlen columns start at 0 (slices are rebased; bitmaps at a bit offset are
 * shifted); a varlen column of length 0 still gets its one offset; validity is omitted (length
 * 0) when a column has no nulls; with compression a buffer that does not shrink is stored raw
 * with prefix -1; metadata version V5; the file repeats the schema in its footer, after an EOS.
 *
 * Tolerated on read: the legacy framing; a stream that ends without EOS exactly at a message
 * boundary; and the apache-arrow JS quirk (up to at least 21.x) of writing the compressed
 * length instead of the uncompressed one in the compression prefix (see decompress_buffer).
 *
 * Reading treats input as untrusted. Validity rules enforced (each failure is ES_CORRUPT naming
 * the batch, buffer and field): flatbuffer objects lie inside the metadata (flatbuf.c); field
 * nodes and buffers are counted exactly; node lengths equal the batch length and null counts lie
 * in [0, length] and match the validity bitmap (except for Null columns, whose null count is the
 * length by definition whatever the node says); buffers lie inside the body; buffers are large
 * enough for the length; offsets are non-negative, monotonic and end inside the data buffer;
 * decompressed sizes match the prefix (at most 65536 times the compressed size, 4 GiB). Types we
 * do not handle (nested, dictionary, unions, intervals, decimal256, views, float16) give
 * ES_UNSUPPORTED naming the field. Arrays point into the input blob when the buffer is aligned
 * for its element type (zero-copy; the array holds a reference on the blob), otherwise the
 * buffer is copied; decompressed buffers are owned by the array.
 *
 * liblz4 and libzstd are loaded with es_os_load_library the first time a compressed buffer is
 * written or read (tables lz4/zstd below), not linked: most programs never meet a compressed
 * file and should not pay for the libraries at start-up. If one cannot be loaded, that buffer
 * gives ES_UNSUPPORTED "cannot load liblz4.so.1: ...".
 */
#include "arrow/ipc.h"
#include "arrow/flatbuf.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* For the *_advanced constructors that take our allocator (exported by the shared libraries). */
#define LZ4F_STATIC_LINKING_ONLY
#define ZSTD_STATIC_LINKING_ONLY
#include <lz4frame.h>
#include <zstd.h>

#include "os/os.h"

/* The codec functions this file calls, loaded on first use (see the file comment). */
#define LZ4_FUNCS(X)                                                                               \
    X(LZ4F_createCompressionContext_advanced)                                                      \
    X(LZ4F_freeCompressionContext)                                                                 \
    X(LZ4F_compressFrameBound)                                                                     \
    X(LZ4F_compressFrame_usingCDict)                                                               \
    X(LZ4F_isError)                                                                                \
    X(LZ4F_createDecompressionContext_advanced)                                                    \
    X(LZ4F_decompress)                                                                             \
    X(LZ4F_freeDecompressionContext)
#define ZSTD_FUNCS(X)                                                                              \
    X(ZSTD_createCCtx_advanced)                                                                    \
    X(ZSTD_freeCCtx)                                                                               \
    X(ZSTD_compressBound)                                                                          \
    X(ZSTD_compressCCtx)                                                                           \
    X(ZSTD_isError)                                                                                \
    X(ZSTD_createDCtx_advanced)                                                                    \
    X(ZSTD_decompressStream)                                                                       \
    X(ZSTD_freeDCtx)
#define CODEC_FIELD(f) __typeof__(f) *f;
#define CODEC_SLOT(t, f) {#f, &t.f},
#define LZ4_SLOT(f) CODEC_SLOT(lz4, f)
#define ZSTD_SLOT(f) CODEC_SLOT(zstd, f)
static struct {
    LZ4_FUNCS(CODEC_FIELD)
} lz4;
static struct {
    ZSTD_FUNCS(CODEC_FIELD)
} zstd;
static pthread_once_t lz4_once = PTHREAD_ONCE_INIT, zstd_once = PTHREAD_ONCE_INIT;
static es_error lz4_err, zstd_err; /* code ES_OK once loaded */

static void lz4_init(void)
{
    const es_os_sym syms[] = {LZ4_FUNCS(LZ4_SLOT)};
    es_os_load_library("liblz4.so.1", syms, sizeof syms / sizeof syms[0], &lz4_err);
}

static void zstd_init(void)
{
    const es_os_sym syms[] = {ZSTD_FUNCS(ZSTD_SLOT)};
    es_os_load_library("libzstd.so.1", syms, sizeof syms / sizeof syms[0], &zstd_err);
}

/* Load the library of codec 0 (LZ4) or 1 (ZSTD); NULL when loaded, else the error. */
static const es_error *codec_load(int codec)
{
    pthread_once(codec == 0 ? &lz4_once : &zstd_once, codec == 0 ? lz4_init : zstd_init);
    const es_error *e = codec == 0 ? &lz4_err : &zstd_err;
    return e->code ? e : NULL;
}

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

/* Type union (Schema.fbs). */
enum {
    T_NULL = 1,
    T_INT = 2,
    T_FLOAT = 3,
    T_BINARY = 4,
    T_UTF8 = 5,
    T_BOOL = 6,
    T_DECIMAL = 7,
    T_DATE = 8,
    T_TIME = 9,
    T_TIMESTAMP = 10,
    T_INTERVAL = 11,
    T_LIST = 12,
    T_STRUCT = 13,
    T_UNION = 14,
    T_FIXED_BINARY = 15,
    T_FIXED_LIST = 16,
    T_MAP = 17,
    T_DURATION = 18,
    T_LARGE_BINARY = 19,
    T_LARGE_UTF8 = 20,
    T_LARGE_LIST = 21,
    T_RUN_END = 22,
    T_BINARY_VIEW = 23,
    T_UTF8_VIEW = 24,
    T_LIST_VIEW = 25,
    T_LARGE_LIST_VIEW = 26
};

#define METADATA_V4 3
#define METADATA_V5 4
#define CONTINUATION 0xFFFFFFFFu
#define MAX_DECOMPRESSED ((int64_t)1 << 32)

static const uint8_t magic[8] = {'A', 'R', 'R', 'O', 'W', '1', 0, 0};
static const int64_t zero_offsets[1] = {0};

static int64_t pad8(int64_t v)
{
    return (v + 7) & ~(int64_t)7;
}

static int offset_width(es_type_id id)
{
    return (id == ES_TYPE_LARGE_UTF8 || id == ES_TYPE_LARGE_BINARY) ? 8 : 4;
}

/* Alignment an element of buffer i of type t needs to be read in place. */
static size_t buffer_align(const es_type *t, int i)
{
    if (i == 0 || t->id == ES_TYPE_BOOL)
        return 1;
    if (es_type_is_varlen(t->id))
        return i == 1 ? (size_t)offset_width(t->id) : 1;
    if (t->id == ES_TYPE_FIXED_BINARY)
        return 1;
    return t->byte_width >= 8 ? 8 : (size_t)(t->byte_width > 0 ? t->byte_width : 1);
}

static const char *union_type_name(int tt)
{
    static const char *const names[] = {
        "NONE",          "Null",      "Int",           "FloatingPoint",
        "Binary",        "Utf8",      "Bool",          "Decimal",
        "Date",          "Time",      "Timestamp",     "Interval",
        "List",          "Struct",    "Union",         "FixedSizeBinary",
        "FixedSizeList", "Map",       "Duration",      "LargeBinary",
        "LargeUtf8",     "LargeList", "RunEndEncoded", "BinaryView",
        "Utf8View",      "ListView",  "LargeListView",
    };
    if (tt >= 0 && tt < (int)(sizeof names / sizeof names[0]))
        return names[tt];
    return "unknown";
}

/* Parse every child type of a record batch schema. *types is es_malloc'd. */
static es_status schema_types(es_type **types, const struct ArrowSchema *schema, es_error *err)
{
    *types = NULL;
    if (!schema || !schema->release || !schema->format || strcmp(schema->format, "+s") != 0)
        return es_error_set(err, ES_INVALID, 0, "record batch schema must be a struct (\"+s\")");
    if (schema->n_children < 0 || (schema->n_children > 0 && !schema->children))
        return es_error_set(err, ES_INVALID, 0, "record batch schema has bad children");
    es_type *t = es_calloc((size_t)(schema->n_children ? schema->n_children : 1), sizeof *t);
    if (!t)
        return es_error_set(err, ES_NOMEM, 0, "out of memory parsing schema");
    for (int64_t i = 0; i < schema->n_children; i++) {
        const struct ArrowSchema *c = schema->children[i];
        const char *name = c && c->name ? c->name : "";
        es_status st = c ? es_type_parse(&t[i], c->format, err) : ES_INVALID;
        if (st == ES_OK && t[i].id == ES_TYPE_STRUCT)
            st = es_error_set(err, ES_UNSUPPORTED, 0, "nested struct is not supported");
        if (st == ES_OK && c->dictionary)
            st = es_error_set(err, ES_UNSUPPORTED, 0, "dictionary encoding is not supported");
        if (st != ES_OK) {
            es_free(t);
            if (!c)
                return es_error_set(err, ES_INVALID, 0, "schema child %" PRId64 " is NULL", i);
            es_error_prefix(err, "field '%s'", name);
            return st;
        }
    }
    *types = t;
    return ES_OK;
}

/* ===================================================================== compression */

/* Codec memory goes through the library allocator too (and its failure hook). */
static void *codec_alloc(void *opaque, size_t n)
{
    (void)opaque;
    return es_malloc(n);
}
static void *codec_calloc(void *opaque, size_t n)
{
    (void)opaque;
    return es_calloc(1, n);
}
static void codec_free(void *opaque, void *p)
{
    (void)opaque;
    es_free(p);
}
static const LZ4F_CustomMem lz4_mem = {codec_alloc, codec_calloc, codec_free, NULL};
static const ZSTD_customMem zstd_mem = {codec_alloc, codec_free, NULL};

/* Compression contexts, created on first use and kept by the writer. */
typedef struct codec_ctx {
    LZ4F_cctx *lz4;
    ZSTD_CCtx *zstd;
} codec_ctx;

static void codec_ctx_reset(codec_ctx *c)
{
    if (c->lz4)
        lz4.LZ4F_freeCompressionContext(c->lz4);
    if (c->zstd)
        zstd.ZSTD_freeCCtx(c->zstd);
    c->lz4 = NULL;
    c->zstd = NULL;
}

static es_status compress_buffer(uint8_t **out, int64_t *out_len, codec_ctx *cx, es_compression c,
                                 const uint8_t *src, int64_t n, es_error *err)
{
    const es_error *le = codec_load(c == ES_COMPRESS_LZ4 ? 0 : 1);
    if (le)
        return es_error_set(err, le->code, 0, "%s", le->msg);
    if (c == ES_COMPRESS_LZ4 && !cx->lz4)
        cx->lz4 = lz4.LZ4F_createCompressionContext_advanced(lz4_mem, LZ4F_VERSION);
    if (c == ES_COMPRESS_ZSTD && !cx->zstd)
        cx->zstd = zstd.ZSTD_createCCtx_advanced(zstd_mem);
    if ((c == ES_COMPRESS_LZ4 && !cx->lz4) || (c == ES_COMPRESS_ZSTD && !cx->zstd))
        return es_error_set(err, ES_NOMEM, 0, "out of memory creating a compression context");
    size_t bound = c == ES_COMPRESS_LZ4 ? lz4.LZ4F_compressFrameBound((size_t)n, NULL)
                                        : zstd.ZSTD_compressBound((size_t)n);
    uint8_t *dst = es_malloc(8 + bound);
    *out = NULL;
    if (!dst)
        return es_error_set(err, ES_NOMEM, 0, "out of memory compressing a buffer");
    size_t r;
    if (c == ES_COMPRESS_LZ4) {
        r = lz4.LZ4F_compressFrame_usingCDict(cx->lz4, dst + 8, bound, src, (size_t)n, NULL, NULL);
        if (lz4.LZ4F_isError(r))
            r = SIZE_MAX;
    } else {
        r = zstd.ZSTD_compressCCtx(cx->zstd, dst + 8, bound, src, (size_t)n, 1);
        if (zstd.ZSTD_isError(r))
            r = SIZE_MAX;
    }
    if (r == SIZE_MAX) {
        /* With valid input the codecs fail only when they cannot allocate. */
        es_free(dst);
        return es_error_set(err, ES_NOMEM, 0, "%s compression failed",
                            c == ES_COMPRESS_LZ4 ? "LZ4" : "ZSTD");
    }
    if (r >= (size_t)n) {
        /* Incompressible: store raw, marked by length -1. */
        uint8_t *raw = es_realloc(dst, 8 + (size_t)n);
        if (!raw) {
            es_free(dst);
            return es_error_set(err, ES_NOMEM, 0, "out of memory compressing a buffer");
        }
        dst = raw;
        es_store_u64(dst, (uint64_t)(int64_t)-1);
        memcpy(dst + 8, src, (size_t)n);
        *out_len = 8 + n;
    } else {
        es_store_u64(dst, (uint64_t)n);
        *out_len = 8 + (int64_t)r;
    }
    *out = dst;
    return ES_OK;
}

/* Grow a decompression buffer to at least `need` bytes (doubling), at most `limit`. */
static bool grow_out(uint8_t **dst, size_t *cap, size_t need, size_t limit)
{
    if (need <= *cap)
        return true;
    if (need > limit)
        return false;
    size_t nc = *cap ? *cap : 64;
    while (nc < need)
        nc *= 2;
    if (nc > limit)
        nc = limit;
    uint8_t *d = es_realloc(*dst, nc);
    if (!d)
        return false;
    *dst = d;
    *cap = nc;
    return true;
}

/* Decode one LZ4 frame or ZSTD frame into a growing buffer of at most `limit` bytes. Returns
 * ES_OK, ES_CORRUPT (bad or too large) or ES_NOMEM. */
static es_status decode_frame(uint8_t **out, size_t *out_len, int codec, const uint8_t *src,
                              size_t slen, size_t hint, size_t limit)
{
    uint8_t *dst = NULL;
    size_t cap = 0, dpos = 0, spos = 0;
    es_status st = ES_OK;
    *out = NULL;
    *out_len = 0;
    if (!grow_out(&dst, &cap, hint ? hint : 64, limit ? limit : 64))
        return ES_NOMEM;
    if (codec == 0) {
        LZ4F_dctx *dctx = lz4.LZ4F_createDecompressionContext_advanced(lz4_mem, LZ4F_VERSION);
        if (!dctx) {
            es_free(dst);
            return ES_NOMEM;
        }
        size_t ret = 1;
        while (st == ES_OK) {
            if (dpos == cap && cap < limit && !grow_out(&dst, &cap, cap + 1, limit)) {
                st = ES_NOMEM;
                break;
            }
            size_t dsz = cap - dpos, ssz = slen - spos;
            ret = lz4.LZ4F_decompress(dctx, dst + dpos, &dsz, src + spos, &ssz, NULL);
            if (lz4.LZ4F_isError(ret)) {
                st = ES_CORRUPT;
                break;
            }
            spos += ssz;
            dpos += dsz;
            if (ret == 0)
                break;
            if (ssz == 0 && dsz == 0) {
                st = ES_CORRUPT; /* truncated frame, or larger than the limit */
                break;
            }
        }
        lz4.LZ4F_freeDecompressionContext(dctx);
    } else {
        ZSTD_DCtx *dctx = zstd.ZSTD_createDCtx_advanced(zstd_mem);
        if (!dctx) {
            es_free(dst);
            return ES_NOMEM;
        }
        ZSTD_inBuffer in = {src, slen, 0};
        size_t ret = 1;
        while (st == ES_OK) {
            if (dpos == cap && cap < limit && !grow_out(&dst, &cap, cap + 1, limit)) {
                st = ES_NOMEM;
                break;
            }
            ZSTD_outBuffer o = {dst, cap, dpos};
            size_t before_in = in.pos;
            ret = zstd.ZSTD_decompressStream(dctx, &o, &in);
            if (zstd.ZSTD_isError(ret)) {
                st = ES_CORRUPT;
                break;
            }
            bool progress = o.pos != dpos || in.pos != before_in;
            dpos = o.pos;
            if (ret == 0)
                break;
            if (!progress) {
                st = ES_CORRUPT; /* truncated frame, or larger than the limit */
                break;
            }
        }
        zstd.ZSTD_freeDCtx(dctx);
    }
    if (st) {
        es_free(dst);
        return st;
    }
    *out = dst;
    *out_len = dpos;
    return ES_OK;
}

/* Decompress an IPC compressed buffer. On success either *owned is a new heap buffer (the
 * decompressed bytes) or *owned is NULL and *data points into src (length -1: raw).
 *
 * The prefix must be the uncompressed length. One exception: apache-arrow JS (up to at least
 * 21.x) writes the compressed length there instead; when the prefix equals the compressed size
 * and the frame decodes completely to another size, the decoded size is taken. */
static es_status decompress_buffer(uint8_t **owned, const uint8_t **data, int64_t *len, int codec,
                                   const uint8_t *src, int64_t n, const char *where, es_error *err)
{
    *owned = NULL;
    if (n < 8)
        return es_error_set(err, ES_CORRUPT, 0, "%s: compressed buffer shorter than 8 bytes",
                            where);
    int64_t ulen = (int64_t)es_load_u64(src);
    if (ulen == -1) {
        *data = src + 8;
        *len = n - 8;
        return ES_OK;
    }
    int64_t clen = n - 8;
    int64_t ratio_cap = clen > MAX_DECOMPRESSED / 65536 ? MAX_DECOMPRESSED : clen * 65536 + 65536;
    if (ulen < 0 || ulen > ratio_cap)
        return es_error_set(err, ES_CORRUPT, 0,
                            "%s: implausible uncompressed length %" PRId64 " for %" PRId64
                            " compressed bytes",
                            where, ulen, clen);
    const es_error *le = codec_load(codec);
    if (le)
        return es_error_set(err, le->code, 0, "%s: %s", where, le->msg);
    bool js_quirk = ulen == clen;
    size_t limit = (size_t)(js_quirk ? ratio_cap : ulen);
    uint8_t *dst;
    size_t got;
    es_status st = decode_frame(&dst, &got, codec, src + 8, (size_t)clen, (size_t)ulen, limit);
    if (st == ES_NOMEM)
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory decompressing", where);
    if (st)
        return es_error_set(err, ES_CORRUPT, 0, "%s: bad %s frame", where,
                            codec == 0 ? "LZ4" : "ZSTD");
    if ((int64_t)got != ulen && !js_quirk) {
        es_free(dst);
        return es_error_set(err, ES_CORRUPT, 0, "%s: decompressed to %zu bytes, expected %" PRId64,
                            where, got, ulen);
    }
    *owned = dst;
    *data = dst;
    *len = (int64_t)got;
    return ES_OK;
}

/* ===================================================================== schema encoding */

/* Vector of KeyValue tables from a C Data Interface metadata blob; 0 when there is none. */
static es_fb_ref encode_kv(es_fb_builder *b, const char *metadata)
{
    int32_t n = es_metadata_count(metadata);
    if (n <= 0)
        return 0;
    es_fb_ref *refs = es_malloc((size_t)n * sizeof *refs);
    if (!refs) {
        b->failed = true;
        return 0;
    }
    for (int32_t i = 0; i < n; i++) {
        const char *k, *v;
        int32_t kl, vl;
        es_metadata_at(metadata, i, &k, &kl, &v, &vl);
        es_fb_ref kr = es_fb_create_string(b, k, (size_t)kl);
        es_fb_ref vr = es_fb_create_string(b, v, (size_t)vl);
        es_fb_table_start(b);
        es_fb_add_ref(b, KV_KEY, kr);
        es_fb_add_ref(b, KV_VALUE, vr);
        refs[i] = es_fb_table_end(b);
    }
    es_fb_ref r = es_fb_create_ref_vector(b, refs, (size_t)n);
    es_free(refs);
    return r;
}

/* The type table of a field; *tt receives the union type. */
static es_fb_ref encode_type(es_fb_builder *b, const es_type *t, uint8_t *tt)
{
    es_fb_ref tz = 0;
    if (t->id == ES_TYPE_TIMESTAMP && t->tz[0])
        tz = es_fb_create_string(b, t->tz, strnlen(t->tz, sizeof t->tz));
    es_fb_table_start(b);
    switch (t->id) {
    case ES_TYPE_NA:
        *tt = T_NULL;
        break;
    case ES_TYPE_BOOL:
        *tt = T_BOOL;
        break;
    case ES_TYPE_INT8:
    case ES_TYPE_UINT8:
    case ES_TYPE_INT16:
    case ES_TYPE_UINT16:
    case ES_TYPE_INT32:
    case ES_TYPE_UINT32:
    case ES_TYPE_INT64:
    case ES_TYPE_UINT64:
        *tt = T_INT;
        es_fb_add_scalar(b, 0, 4, (uint64_t)(t->byte_width * 8));
        es_fb_add_scalar(b, 1, 1,
                         t->id == ES_TYPE_INT8 || t->id == ES_TYPE_INT16 ||
                             t->id == ES_TYPE_INT32 || t->id == ES_TYPE_INT64);
        break;
    case ES_TYPE_FLOAT32:
    case ES_TYPE_FLOAT64:
        *tt = T_FLOAT;
        es_fb_add_scalar(b, 0, 2, t->id == ES_TYPE_FLOAT32 ? 1 : 2);
        break;
    case ES_TYPE_UTF8:
        *tt = T_UTF8;
        break;
    case ES_TYPE_LARGE_UTF8:
        *tt = T_LARGE_UTF8;
        break;
    case ES_TYPE_BINARY:
        *tt = T_BINARY;
        break;
    case ES_TYPE_LARGE_BINARY:
        *tt = T_LARGE_BINARY;
        break;
    case ES_TYPE_FIXED_BINARY:
        *tt = T_FIXED_BINARY;
        es_fb_add_scalar(b, 0, 4, (uint64_t)(uint32_t)t->byte_width);
        break;
    case ES_TYPE_DATE32:
    case ES_TYPE_DATE64:
        *tt = T_DATE;
        es_fb_add_scalar(b, 0, 2, t->id == ES_TYPE_DATE32 ? 0 : 1);
        break;
    case ES_TYPE_TIME32:
    case ES_TYPE_TIME64:
        *tt = T_TIME;
        es_fb_add_scalar(b, 0, 2, (uint64_t)t->unit);
        es_fb_add_scalar(b, 1, 4, t->id == ES_TYPE_TIME32 ? 32 : 64);
        break;
    case ES_TYPE_TIMESTAMP:
        *tt = T_TIMESTAMP;
        es_fb_add_scalar(b, 0, 2, (uint64_t)t->unit);
        if (tz)
            es_fb_add_ref(b, 1, tz);
        break;
    case ES_TYPE_DURATION:
        *tt = T_DURATION;
        es_fb_add_scalar(b, 0, 2, (uint64_t)t->unit);
        break;
    case ES_TYPE_DECIMAL128:
        *tt = T_DECIMAL;
        es_fb_add_scalar(b, 0, 4, (uint64_t)(uint32_t)t->precision);
        es_fb_add_scalar(b, 1, 4, (uint64_t)(uint32_t)t->scale);
        es_fb_add_scalar(b, 2, 4, 128);
        break;
    default:
        b->failed = true;
        *tt = 0;
        break;
    }
    return es_fb_table_end(b);
}

/* The Schema table. */
static es_fb_ref encode_schema(es_fb_builder *b, const struct ArrowSchema *schema,
                               const es_type *types)
{
    int64_t n = schema->n_children;
    es_fb_ref *fields = es_malloc((size_t)(n ? n : 1) * sizeof *fields);
    if (!fields) {
        b->failed = true;
        return 0;
    }
    for (int64_t i = 0; i < n; i++) {
        const struct ArrowSchema *c = schema->children[i];
        const char *name = c->name ? c->name : "";
        es_fb_ref nm = es_fb_create_string(b, name, strlen(name));
        uint8_t tt = 0;
        es_fb_ref ty = encode_type(b, &types[i], &tt);
        es_fb_ref kids = es_fb_create_ref_vector(b, NULL, 0);
        es_fb_ref md = encode_kv(b, c->metadata);
        es_fb_table_start(b);
        es_fb_add_ref(b, FLD_NAME, nm);
        es_fb_add_scalar(b, FLD_NULLABLE, 1, (c->flags & ARROW_FLAG_NULLABLE) ? 1 : 0);
        es_fb_add_scalar(b, FLD_TYPE_TYPE, 1, tt);
        es_fb_add_ref(b, FLD_TYPE, ty);
        es_fb_add_ref(b, FLD_CHILDREN, kids);
        if (md)
            es_fb_add_ref(b, FLD_METADATA, md);
        fields[i] = es_fb_table_end(b);
    }
    es_fb_ref fv = es_fb_create_ref_vector(b, fields, (size_t)n);
    es_free(fields);
    es_fb_ref md = encode_kv(b, schema->metadata);
    es_fb_table_start(b);
    es_fb_add_scalar(b, SCH_ENDIANNESS, 2, 0);
    es_fb_add_ref(b, SCH_FIELDS, fv);
    if (md)
        es_fb_add_ref(b, SCH_METADATA, md);
    return es_fb_table_end(b);
}

/* A Message table around a header. */
static es_fb_ref encode_message(es_fb_builder *b, int header_type, es_fb_ref header,
                                int64_t body_length)
{
    es_fb_table_start(b);
    es_fb_add_scalar(b, MSG_VERSION, 2, METADATA_V5);
    es_fb_add_scalar(b, MSG_HEADER_TYPE, 1, (uint64_t)header_type);
    es_fb_add_ref(b, MSG_HEADER, header);
    es_fb_add_scalar(b, MSG_BODY_LENGTH, 8, (uint64_t)body_length);
    return es_fb_table_end(b);
}

/* Append the framed message (marker, length, flatbuffer, padding) to out. */
static es_status append_message(es_buf *out, const uint8_t *fb, size_t fb_len, int32_t *meta_len)
{
    uint8_t hdr[8];
    size_t padded = (size_t)pad8((int64_t)fb_len);
    es_store_u32(hdr, CONTINUATION);
    es_store_u32(hdr + 4, (uint32_t)padded);
    es_status st = es_buf_append(out, hdr, 8);
    if (st == ES_OK)
        st = es_buf_append(out, fb, fb_len);
    if (st == ES_OK)
        st = es_buf_append_zeros(out, padded - fb_len);
    if (meta_len)
        *meta_len = (int32_t)(8 + padded);
    return st;
}

/* ===================================================================== schema decoding */

/* Binary-safe C Data Interface metadata blob from a vector of KeyValue; *out NULL when empty. */
static es_status decode_kv(char **out, const es_fb_vec *v, const char *what, es_error *err)
{
    *out = NULL;
    if (v->n == 0)
        return ES_OK;
    size_t size = 4;
    for (uint32_t i = 0; i < v->n; i++) {
        es_fb_table kv;
        const char *k, *val;
        uint32_t kl, vl;
        if (es_fb_vec_table(v, i, &kv) != ES_FB_OK ||
            es_fb_get_string(&kv, KV_KEY, &k, &kl) == ES_FB_BAD ||
            es_fb_get_string(&kv, KV_VALUE, &val, &vl) == ES_FB_BAD || kl > INT32_MAX ||
            vl > INT32_MAX)
            return es_error_set(err, ES_CORRUPT, 0, "%s: bad custom metadata entry %u", what, i);
        size += 8 + (size_t)kl + vl;
        if (size > INT32_MAX)
            return es_error_set(err, ES_CORRUPT, 0, "%s: custom metadata too large", what);
    }
    char *m = es_malloc(size);
    if (!m)
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory reading metadata", what);
    char *p = m;
    int32_t n32 = (int32_t)v->n;
    memcpy(p, &n32, 4);
    p += 4;
    for (uint32_t i = 0; i < v->n; i++) {
        es_fb_table kv;
        const char *k, *val;
        uint32_t kl, vl;
        es_fb_vec_table(v, i, &kv);
        es_fb_get_string(&kv, KV_KEY, &k, &kl);
        es_fb_get_string(&kv, KV_VALUE, &val, &vl);
        int32_t l = (int32_t)kl;
        memcpy(p, &l, 4);
        if (kl)
            memcpy(p + 4, k, kl);
        p += 4 + kl;
        l = (int32_t)vl;
        memcpy(p, &l, 4);
        if (vl)
            memcpy(p + 4, val, vl);
        p += 4 + vl;
    }
    *out = m;
    return ES_OK;
}

static es_status bad_type(es_error *err, const char *name, const char *why)
{
    return es_error_set(err, ES_CORRUPT, 0, "field '%s': %s", name, why);
}

static es_status decode_type(es_type *t, const es_fb_table *fld, const char *name, es_error *err)
{
    uint8_t tt;
    es_fb_table ty;
    memset(t, 0, sizeof *t);
    if (es_fb_get_u8(fld, FLD_TYPE_TYPE, 0, &tt) == ES_FB_BAD)
        return bad_type(err, name, "bad type tag");
    int r = es_fb_get_table(fld, FLD_TYPE, &ty);
    if (r == ES_FB_BAD)
        return bad_type(err, name, "bad type table");
    if (r == ES_FB_ABSENT || tt == 0)
        return bad_type(err, name, "missing type");
    int32_t i32a, i32b, i32c;
    int16_t i16;
    uint8_t u8;
    switch (tt) {
    case T_NULL:
        t->id = ES_TYPE_NA;
        return ES_OK;
    case T_BOOL:
        t->id = ES_TYPE_BOOL;
        return ES_OK;
    case T_INT: {
        if (es_fb_get_i32(&ty, 0, 0, &i32a) == ES_FB_BAD ||
            es_fb_get_u8(&ty, 1, 0, &u8) == ES_FB_BAD)
            return bad_type(err, name, "bad Int type");
        static const es_type_id ids[4][2] = {{ES_TYPE_UINT8, ES_TYPE_INT8},
                                             {ES_TYPE_UINT16, ES_TYPE_INT16},
                                             {ES_TYPE_UINT32, ES_TYPE_INT32},
                                             {ES_TYPE_UINT64, ES_TYPE_INT64}};
        int k = i32a == 8 ? 0 : i32a == 16 ? 1 : i32a == 32 ? 2 : i32a == 64 ? 3 : -1;
        if (k < 0)
            return bad_type(err, name, "bad Int bit width");
        t->id = ids[k][u8 ? 1 : 0];
        t->byte_width = i32a / 8;
        return ES_OK;
    }
    case T_FLOAT:
        if (es_fb_get_i16(&ty, 0, 0, &i16) == ES_FB_BAD)
            return bad_type(err, name, "bad FloatingPoint type");
        if (i16 == 0)
            return es_error_set(err, ES_UNSUPPORTED, 0, "field '%s': float16 is not supported",
                                name);
        if (i16 != 1 && i16 != 2)
            return bad_type(err, name, "bad float precision");
        t->id = i16 == 1 ? ES_TYPE_FLOAT32 : ES_TYPE_FLOAT64;
        t->byte_width = i16 == 1 ? 4 : 8;
        return ES_OK;
    case T_UTF8:
        t->id = ES_TYPE_UTF8;
        return ES_OK;
    case T_LARGE_UTF8:
        t->id = ES_TYPE_LARGE_UTF8;
        return ES_OK;
    case T_BINARY:
        t->id = ES_TYPE_BINARY;
        return ES_OK;
    case T_LARGE_BINARY:
        t->id = ES_TYPE_LARGE_BINARY;
        return ES_OK;
    case T_FIXED_BINARY:
        if (es_fb_get_i32(&ty, 0, 0, &i32a) == ES_FB_BAD || i32a <= 0)
            return bad_type(err, name, "bad FixedSizeBinary width");
        t->id = ES_TYPE_FIXED_BINARY;
        t->byte_width = i32a;
        return ES_OK;
    case T_DATE:
        if (es_fb_get_i16(&ty, 0, 1, &i16) == ES_FB_BAD || (i16 != 0 && i16 != 1))
            return bad_type(err, name, "bad Date unit");
        t->id = i16 == 0 ? ES_TYPE_DATE32 : ES_TYPE_DATE64;
        t->byte_width = i16 == 0 ? 4 : 8;
        return ES_OK;
    case T_TIME:
        if (es_fb_get_i16(&ty, 0, 1, &i16) == ES_FB_BAD ||
            es_fb_get_i32(&ty, 1, 32, &i32a) == ES_FB_BAD || i16 < 0 || i16 > 3 ||
            (i32a != 32 && i32a != 64) || ((i16 <= 1) != (i32a == 32)))
            return bad_type(err, name, "bad Time unit or bit width");
        t->id = i32a == 32 ? ES_TYPE_TIME32 : ES_TYPE_TIME64;
        t->unit = (es_time_unit)i16;
        t->byte_width = i32a / 8;
        return ES_OK;
    case T_TIMESTAMP: {
        const char *tz;
        uint32_t tzl;
        if (es_fb_get_i16(&ty, 0, 0, &i16) == ES_FB_BAD || i16 < 0 || i16 > 3 ||
            es_fb_get_string(&ty, 1, &tz, &tzl) == ES_FB_BAD)
            return bad_type(err, name, "bad Timestamp type");
        if (tzl >= sizeof t->tz || (tz && memchr(tz, 0, tzl)))
            return es_error_set(err, ES_UNSUPPORTED, 0,
                                "field '%s': timestamp time zone is too long", name);
        t->id = ES_TYPE_TIMESTAMP;
        t->unit = (es_time_unit)i16;
        t->byte_width = 8;
        if (tzl)
            memcpy(t->tz, tz, tzl);
        return ES_OK;
    }
    case T_DURATION:
        if (es_fb_get_i16(&ty, 0, 1, &i16) == ES_FB_BAD || i16 < 0 || i16 > 3)
            return bad_type(err, name, "bad Duration unit");
        t->id = ES_TYPE_DURATION;
        t->unit = (es_time_unit)i16;
        t->byte_width = 8;
        return ES_OK;
    case T_DECIMAL:
        if (es_fb_get_i32(&ty, 0, 0, &i32a) == ES_FB_BAD ||
            es_fb_get_i32(&ty, 1, 0, &i32b) == ES_FB_BAD ||
            es_fb_get_i32(&ty, 2, 128, &i32c) == ES_FB_BAD)
            return bad_type(err, name, "bad Decimal type");
        if (i32c != 128)
            return es_error_set(err, ES_UNSUPPORTED, 0, "field '%s': decimal%d is not supported",
                                name, (int)i32c);
        if (i32a < 1 || i32a > 38 || i32b > i32a)
            return bad_type(err, name, "bad decimal128 precision or scale");
        t->id = ES_TYPE_DECIMAL128;
        t->byte_width = 16;
        t->precision = i32a;
        t->scale = i32b;
        return ES_OK;
    default:
        if (tt <= T_LARGE_LIST_VIEW)
            return es_error_set(err, ES_UNSUPPORTED, 0,
                                "field '%s': Arrow type %s is not supported", name,
                                union_type_name(tt));
        return bad_type(err, name, "unknown type tag");
    }
}

/* Decode a Schema table into a fresh "+s" ArrowSchema. */
static es_status decode_schema(struct ArrowSchema *out, const es_fb_table *sch, es_error *err)
{
    int16_t endian;
    es_fb_vec fields, md;
    memset(out, 0, sizeof *out);
    if (es_fb_get_i16(sch, SCH_ENDIANNESS, 0, &endian) == ES_FB_BAD)
        return es_error_set(err, ES_CORRUPT, 0, "schema: bad endianness");
    if (endian != 0)
        return es_error_set(err, ES_UNSUPPORTED, 0, "schema: big-endian data is not supported");
    int r = es_fb_get_vector(sch, SCH_FIELDS, 4, &fields);
    if (r == ES_FB_BAD)
        return es_error_set(err, ES_CORRUPT, 0, "schema: bad fields vector");
    es_status st = es_schema_init_struct(out, fields.n, err);
    if (st)
        return st;
    for (uint32_t i = 0; i < fields.n; i++) {
        es_fb_table fld, dict;
        const char *name;
        uint32_t nlen;
        uint8_t nullable;
        es_fb_vec kids;
        char fname[256];
        if (es_fb_vec_table(&fields, i, &fld) != ES_FB_OK ||
            es_fb_get_string(&fld, FLD_NAME, &name, &nlen) == ES_FB_BAD ||
            es_fb_get_u8(&fld, FLD_NULLABLE, 0, &nullable) == ES_FB_BAD) {
            st = es_error_set(err, ES_CORRUPT, 0, "schema: bad field %u", i);
            goto fail;
        }
        snprintf(fname, sizeof fname, "%.*s", (int)(nlen < 200 ? nlen : 200), name ? name : "");
        r = es_fb_get_table(&fld, FLD_DICTIONARY, &dict);
        if (r == ES_FB_BAD) {
            st = es_error_set(err, ES_CORRUPT, 0, "field '%s': bad dictionary", fname);
            goto fail;
        }
        if (r == ES_FB_OK) {
            st = es_error_set(err, ES_UNSUPPORTED, 0,
                              "field '%s': dictionary encoding is not supported", fname);
            goto fail;
        }
        es_type t;
        st = decode_type(&t, &fld, fname, err);
        if (st)
            goto fail;
        r = es_fb_get_vector(&fld, FLD_CHILDREN, 4, &kids);
        if (r == ES_FB_BAD || kids.n != 0) {
            st = bad_type(err, fname, "unexpected children");
            goto fail;
        }
        char fmt[96];
        st = es_type_format(fmt, sizeof fmt, &t, err);
        if (st)
            goto fail;
        /* Names may hold NUL bytes in theory; they are cut there. */
        char *nm = es_malloc((size_t)nlen + 1);
        if (!nm) {
            st = es_error_set(err, ES_NOMEM, 0, "out of memory reading schema");
            goto fail;
        }
        if (nlen)
            memcpy(nm, name, nlen);
        nm[nlen] = 0;
        st = es_schema_init(out->children[i], fmt, nm, nullable ? ARROW_FLAG_NULLABLE : 0, err);
        es_free(nm);
        if (st)
            goto fail;
        r = es_fb_get_vector(&fld, FLD_METADATA, 4, &md);
        if (r == ES_FB_BAD) {
            st = es_error_set(err, ES_CORRUPT, 0, "field '%s': bad custom metadata", fname);
            goto fail;
        }
        char *m;
        st = decode_kv(&m, &md, fname, err);
        if (st)
            goto fail;
        out->children[i]->metadata = m;
    }
    r = es_fb_get_vector(sch, SCH_METADATA, 4, &md);
    if (r == ES_FB_BAD) {
        st = es_error_set(err, ES_CORRUPT, 0, "schema: bad custom metadata");
        goto fail;
    }
    char *m;
    st = decode_kv(&m, &md, "schema", err);
    if (st)
        goto fail;
    out->metadata = m;
    return ES_OK;
fail:
    es_schema_release(out);
    memset(out, 0, sizeof *out);
    return st;
}

/* ===================================================================== messages */

/* Locate the Message flatbuffer inside framed metadata and parse its root. */
static es_status parse_message(es_fb_table *msg, const uint8_t *meta, size_t meta_len,
                               const char *what, es_error *err)
{
    size_t prefix;
    int64_t len;
    if (meta_len >= 8 && es_load_u32(meta) == CONTINUATION) {
        prefix = 8;
        len = (int32_t)es_load_u32(meta + 4);
    } else if (meta_len >= 4) {
        prefix = 4;
        len = (int32_t)es_load_u32(meta);
    } else {
        return es_error_set(err, ES_CORRUPT, 0, "%s: metadata too short", what);
    }
    if (len <= 0 || (uint64_t)len > meta_len - prefix)
        return es_error_set(err, ES_CORRUPT, 0, "%s: bad metadata length %" PRId64, what, len);
    if (es_fb_root(msg, meta + prefix, (size_t)len) != ES_FB_OK)
        return es_error_set(err, ES_CORRUPT, 0, "%s: bad message flatbuffer", what);
    int16_t version;
    if (es_fb_get_i16(msg, MSG_VERSION, 0, &version) == ES_FB_BAD)
        return es_error_set(err, ES_CORRUPT, 0, "%s: bad message version", what);
    if (version < METADATA_V4 || version > METADATA_V5)
        return es_error_set(err, ES_UNSUPPORTED, 0, "%s: unsupported metadata version V%d", what,
                            version + 1);
    return ES_OK;
}

/* What a record batch message says. */
typedef struct rb_meta {
    int64_t length;
    es_fb_vec nodes;   /* FieldNode { long length; long null_count; } */
    es_fb_vec buffers; /* Buffer { long offset; long length; } */
    int codec;         /* -1 none, 0 LZ4_FRAME, 1 ZSTD */
    int64_t body_length;
} rb_meta;

static es_status parse_record_batch(rb_meta *rb, const uint8_t *meta, size_t meta_len,
                                    const char *what, es_error *err)
{
    es_fb_table msg, hdr, cmp;
    uint8_t ht;
    es_status st = parse_message(&msg, meta, meta_len, what, err);
    if (st)
        return st;
    if (es_fb_get_u8(&msg, MSG_HEADER_TYPE, 0, &ht) == ES_FB_BAD)
        return es_error_set(err, ES_CORRUPT, 0, "%s: bad message header type", what);
    if (ht == HDR_DICTIONARY)
        return es_error_set(err, ES_UNSUPPORTED, 0, "%s: dictionary batches are not supported",
                            what);
    if (ht != HDR_RECORD_BATCH)
        return es_error_set(err, ES_CORRUPT, 0, "%s: not a record batch message (type %d)", what,
                            ht);
    if (es_fb_get_table(&msg, MSG_HEADER, &hdr) != ES_FB_OK)
        return es_error_set(err, ES_CORRUPT, 0, "%s: missing record batch header", what);
    if (es_fb_get_i64(&msg, MSG_BODY_LENGTH, 0, &rb->body_length) == ES_FB_BAD ||
        rb->body_length < 0)
        return es_error_set(err, ES_CORRUPT, 0, "%s: bad body length", what);
    if (es_fb_get_i64(&hdr, RB_LENGTH, 0, &rb->length) == ES_FB_BAD || rb->length < 0 ||
        rb->length > INT64_MAX / 32)
        return es_error_set(err, ES_CORRUPT, 0, "%s: bad length", what);
    if (es_fb_get_vector(&hdr, RB_NODES, 16, &rb->nodes) == ES_FB_BAD)
        return es_error_set(err, ES_CORRUPT, 0, "%s: bad field nodes", what);
    if (es_fb_get_vector(&hdr, RB_BUFFERS, 16, &rb->buffers) == ES_FB_BAD)
        return es_error_set(err, ES_CORRUPT, 0, "%s: bad buffers", what);
    rb->codec = -1;
    int r = es_fb_get_table(&hdr, RB_COMPRESSION, &cmp);
    if (r == ES_FB_BAD)
        return es_error_set(err, ES_CORRUPT, 0, "%s: bad compression", what);
    if (r == ES_FB_OK) {
        uint8_t codec, method;
        if (es_fb_get_u8(&cmp, CMP_CODEC, 0, &codec) == ES_FB_BAD ||
            es_fb_get_u8(&cmp, CMP_METHOD, 0, &method) == ES_FB_BAD)
            return es_error_set(err, ES_CORRUPT, 0, "%s: bad compression", what);
        if (codec > 1 || method != 0)
            return es_error_set(err, ES_UNSUPPORTED, 0,
                                "%s: unsupported compression codec %d method %d", what, codec,
                                method);
        rb->codec = codec;
    }
    return ES_OK;
}

static void load_pair(const es_fb_vec *v, uint32_t i, int64_t *a, int64_t *b)
{
    const uint8_t *p = es_fb_vec_at(v, i);
    *a = (int64_t)es_load_u64(p);
    *b = (int64_t)es_load_u64(p + 8);
}

/* Check the shape of a record batch against the schema and give each column's first buffer. */
static es_status check_shape(int64_t *first_buf, const rb_meta *rb, const es_type *types,
                             int64_t n_cols, const char *what, es_error *err)
{
    int64_t nb = 0;
    for (int64_t c = 0; c < n_cols; c++) {
        first_buf[c] = nb;
        nb += es_arrow_n_buffers(&types[c]);
    }
    if ((int64_t)rb->nodes.n != n_cols)
        return es_error_set(err, ES_CORRUPT, 0, "%s: %u field nodes for %" PRId64 " fields", what,
                            rb->nodes.n, n_cols);
    if ((int64_t)rb->buffers.n != nb)
        return es_error_set(err, ES_CORRUPT, 0, "%s: %u buffers, expected %" PRId64, what,
                            rb->buffers.n, nb);
    return ES_OK;
}

/* Byte range of column c inside the body: [first non-empty buffer, end of last one). */
static void column_range(const rb_meta *rb, const es_type *t, int64_t first, int64_t *off,
                         int64_t *len)
{
    int64_t lo = -1, hi = -1;
    for (int j = 0; j < es_arrow_n_buffers(t); j++) {
        int64_t o, l;
        load_pair(&rb->buffers, (uint32_t)(first + j), &o, &l);
        if (l <= 0 || o < 0 || o > INT64_MAX - l)
            continue;
        if (lo < 0 || o < lo)
            lo = o;
        if (o + l > hi)
            hi = o + l;
    }
    *off = lo < 0 ? 0 : lo;
    *len = lo < 0 ? 0 : hi - lo;
}

/* ===================================================================== arrays */

typedef struct col_priv {
    es_blob *blob;
    void *owned[3];
    const void *bufs[3];
} col_priv;

static void release_column(struct ArrowArray *a)
{
    col_priv *p = a->private_data;
    if (p) {
        for (int i = 0; i < 3; i++)
            es_free(p->owned[i]);
        es_blob_unref(p->blob);
        es_free(p);
    }
    a->release = NULL;
}

typedef struct batch_priv {
    struct ArrowArray **ptrs;
    struct ArrowArray *kids;
    const void *bufs[1];
} batch_priv;

static void release_batch(struct ArrowArray *a)
{
    batch_priv *p = a->private_data;
    if (p) {
        for (int64_t i = 0; i < a->n_children; i++)
            if (p->kids[i].release)
                p->kids[i].release(&p->kids[i]);
        es_free(p->kids);
        es_free(p->ptrs);
        es_free(p);
    }
    a->release = NULL;
}

static es_status new_batch(struct ArrowArray *out, int64_t n, int64_t length, es_error *err)
{
    memset(out, 0, sizeof *out);
    batch_priv *p = es_calloc(1, sizeof *p);
    if (p) {
        p->ptrs = es_calloc((size_t)(n ? n : 1), sizeof *p->ptrs);
        p->kids = es_calloc((size_t)(n ? n : 1), sizeof *p->kids);
    }
    if (!p || !p->ptrs || !p->kids) {
        if (p) {
            es_free(p->ptrs);
            es_free(p->kids);
        }
        es_free(p);
        return es_error_set(err, ES_NOMEM, 0, "out of memory decoding a record batch");
    }
    for (int64_t i = 0; i < n; i++)
        p->ptrs[i] = &p->kids[i];
    out->length = length;
    out->null_count = 0;
    out->n_buffers = 1;
    out->buffers = p->bufs;
    out->n_children = n;
    out->children = p->ptrs;
    out->private_data = p;
    out->release = release_batch;
    return ES_OK;
}

/* Where the bytes of one column come from. */
typedef struct body_src {
    es_blob *blob;
    const uint8_t *data; /* body byte `base` */
    int64_t len;
    int64_t base;
} body_src;

static int64_t count_nulls(const uint8_t *bits, int64_t off, int64_t len)
{
    int64_t set = 0;
    int64_t i = 0;
    for (; i < len && ((off + i) & 7); i++)
        set += (bits[(off + i) >> 3] >> ((off + i) & 7)) & 1;
    for (; i + 64 <= len; i += 64) {
        uint64_t v;
        memcpy(&v, bits + ((off + i) >> 3), 8);
        set += __builtin_popcountll(v);
    }
    for (; i < len; i++)
        set += (bits[(off + i) >> 3] >> ((off + i) & 7)) & 1;
    return len - set;
}

static es_status decode_column(struct ArrowArray *out, const es_type *t, const char *name,
                               const rb_meta *rb, int64_t col, int64_t first_buf,
                               const body_src *src, const char *what, es_error *err)
{
    int64_t length, nulls;
    col_priv *p = NULL;
    char where[320];
    es_status st;
    int nb = es_arrow_n_buffers(t);
    int64_t sizes[3] = {0, 0, 0};

    load_pair(&rb->nodes, (uint32_t)col, &length, &nulls);
    if (length != rb->length)
        return es_error_set(err, ES_CORRUPT, 0,
                            "%s: field '%s' has length %" PRId64 ", batch has %" PRId64, what, name,
                            length, rb->length);
    /* A Null column has no buffers and every slot is null by definition (Columnar.rst, "Null
     * Layout"), so its node's null_count carries no information: take it as the length whatever
     * it says. apache-arrow JS writes -1 (its "unknown" marker) for sliced Null columns. */
    if (t->id == ES_TYPE_NA)
        nulls = length;
    if (nulls < 0 || nulls > length)
        return es_error_set(err, ES_CORRUPT, 0, "%s: field '%s' has bad null count %" PRId64, what,
                            name, nulls);
    p = es_calloc(1, sizeof *p);
    if (!p)
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", what);
    for (int j = 0; j < nb; j++) {
        int64_t off, len;
        const uint8_t *data = NULL;
        load_pair(&rb->buffers, (uint32_t)(first_buf + j), &off, &len);
        snprintf(where, sizeof where, "%s: buffer %d of field '%s'", what, j, name);
        if (off < 0 || len < 0) {
            st = es_error_set(err, ES_CORRUPT, 0, "%s has negative offset or length", where);
            goto fail;
        }
        if (len > 0) {
            if (off < src->base || off - src->base > src->len ||
                len > src->len - (off - src->base)) {
                st = es_error_set(err, ES_CORRUPT, 0, "%s extends past body", where);
                goto fail;
            }
            data = src->data + (off - src->base);
            if (rb->codec >= 0) {
                uint8_t *owned;
                st = decompress_buffer(&owned, &data, &len, rb->codec, data, len, where, err);
                if (st)
                    goto fail;
                p->owned[j] = owned;
            }
            size_t align = buffer_align(t, j);
            if (len > 0 && ((uintptr_t)data & (align - 1)) != 0) {
                uint8_t *copy = es_malloc((size_t)len);
                if (!copy) {
                    st = es_error_set(err, ES_NOMEM, 0, "%s: out of memory", where);
                    goto fail;
                }
                memcpy(copy, data, (size_t)len);
                es_free(p->owned[j]);
                p->owned[j] = copy;
                data = copy;
            }
        }
        sizes[j] = len;
        p->bufs[j] = len > 0 ? data : NULL;
    }
    /* Sizes against the length. */
    if (t->id != ES_TYPE_NA) {
        int64_t need = es_arrow_buffer_need(t, 0, 0, length, NULL);
        if (nulls > 0 && sizes[0] < need) {
            st = es_error_set(err, ES_CORRUPT, 0,
                              "%s: validity buffer of field '%s' too short (%" PRId64
                              " bytes for %" PRId64 " rows)",
                              what, name, sizes[0], length);
            goto fail;
        }
        if (nulls == 0) {
            p->bufs[0] = NULL;
        } else if (count_nulls(p->bufs[0], 0, length) != nulls) {
            st = es_error_set(err, ES_CORRUPT, 0,
                              "%s: field '%s': null count %" PRId64
                              " does not match the validity bitmap",
                              what, name, nulls);
            goto fail;
        }
        need = es_arrow_buffer_need(t, 1, 0, length, NULL);
        if (need < 0 || sizes[1] < need) {
            st = es_error_set(err, ES_CORRUPT, 0,
                              "%s: buffer 1 of field '%s' too short (%" PRId64 " bytes for %" PRId64
                              " rows)",
                              what, name, sizes[1], length);
            goto fail;
        }
        if (es_type_is_varlen(t->id)) {
            if (length == 0) {
                p->bufs[1] = zero_offsets;
            } else {
                int64_t prev = 0, data_len = sizes[2];
                bool w8 = offset_width(t->id) == 8;
                for (int64_t i = 0; i <= length; i++) {
                    int64_t o =
                        w8 ? ((const int64_t *)p->bufs[1])[i] : ((const int32_t *)p->bufs[1])[i];
                    if (o < prev || o > data_len) {
                        st = es_error_set(err, ES_CORRUPT, 0,
                                          "%s: field '%s' has bad offset %" PRId64
                                          " at row %" PRId64,
                                          what, name, o, i);
                        goto fail;
                    }
                    prev = o;
                }
            }
            if (!p->bufs[2])
                p->bufs[2] = zero_offsets; /* any valid pointer; no bytes are read */
        } else if (!p->bufs[1]) {
            p->bufs[1] = zero_offsets; /* length 0 or width 0: nothing is read */
        }
    }
    memset(out, 0, sizeof *out);
    p->blob = src->blob ? es_blob_ref(src->blob) : NULL;
    out->length = length;
    out->null_count = nulls;
    out->n_buffers = nb;
    out->buffers = nb ? p->bufs : NULL;
    out->private_data = p;
    out->release = release_column;
    return ES_OK;
fail:
    for (int i = 0; i < 3; i++)
        es_free(p->owned[i]);
    es_free(p);
    return st;
}

static const char *child_name(const struct ArrowSchema *schema, int64_t c)
{
    const struct ArrowSchema *ch = schema->children[c];
    return ch && ch->name ? ch->name : "";
}

es_status es_ipc_decode_batch(struct ArrowArray *out, const struct ArrowSchema *schema,
                              const uint8_t *meta, size_t meta_len, es_blob *blob,
                              const uint8_t *body, int64_t body_len, const char *what,
                              es_error *err)
{
    rb_meta rb;
    es_type *types = NULL;
    int64_t *first = NULL;
    memset(out, 0, sizeof *out);
    es_status st = schema_types(&types, schema, err);
    if (st)
        return st;
    int64_t n = schema->n_children;
    first = es_malloc((size_t)(n ? n : 1) * sizeof *first);
    if (!first) {
        st = es_error_set(err, ES_NOMEM, 0, "%s: out of memory", what);
        goto done;
    }
    st = parse_record_batch(&rb, meta, meta_len, what, err);
    if (st == ES_OK)
        st = check_shape(first, &rb, types, n, what, err);
    if (st)
        goto done;
    if (rb.body_length > body_len) {
        st = es_error_set(err, ES_CORRUPT, 0,
                          "%s: body length %" PRId64 " exceeds the %" PRId64 " bytes available",
                          what, rb.body_length, body_len);
        goto done;
    }
    st = new_batch(out, n, rb.length, err);
    if (st)
        goto done;
    body_src src = {blob, body, rb.body_length, 0};
    for (int64_t c = 0; c < n && st == ES_OK; c++)
        st = decode_column(out->children[c], &types[c], child_name(schema, c), &rb, c, first[c],
                           &src, what, err);
    if (st)
        release_batch(out);
done:
    es_free(types);
    es_free(first);
    return st;
}

es_status es_ipc_batch_column_ranges(int64_t *offsets, int64_t *lengths,
                                     const struct ArrowSchema *schema, const uint8_t *meta,
                                     size_t meta_len, es_error *err)
{
    rb_meta rb;
    es_type *types = NULL;
    es_status st = schema_types(&types, schema, err);
    if (st)
        return st;
    int64_t n = schema->n_children;
    int64_t *first = es_malloc((size_t)(n ? n : 1) * sizeof *first);
    if (!first) {
        es_free(types);
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    }
    st = parse_record_batch(&rb, meta, meta_len, "record batch", err);
    if (st == ES_OK)
        st = check_shape(first, &rb, types, n, "record batch", err);
    for (int64_t c = 0; st == ES_OK && c < n; c++)
        column_range(&rb, &types[c], first[c], &offsets[c], &lengths[c]);
    es_free(first);
    es_free(types);
    return st;
}

es_status es_ipc_decode_batch_columns(struct ArrowArray *out, const struct ArrowSchema *schema,
                                      const uint8_t *meta, size_t meta_len, const int64_t *cols,
                                      int64_t n_cols, es_blob *const *col_bytes, es_error *err)
{
    rb_meta rb;
    es_type *types = NULL;
    int64_t *first = NULL;
    const char *what = "record batch";
    memset(out, 0, sizeof *out);
    es_status st = schema_types(&types, schema, err);
    if (st)
        return st;
    int64_t n = schema->n_children;
    if (n_cols < 0 || n_cols > n || (n_cols > 0 && (!cols || !col_bytes))) {
        es_free(types);
        return es_error_set(err, ES_INVALID, 0, "bad column selection (%" PRId64 " columns)",
                            n_cols);
    }
    for (int64_t k = 0; k < n_cols; k++) {
        bool bad = cols[k] < 0 || cols[k] >= n;
        for (int64_t j = 0; !bad && j < k; j++)
            bad = cols[j] == cols[k];
        if (bad) {
            es_free(types);
            return es_error_set(err, ES_INVALID, 0, "bad or repeated column index %" PRId64,
                                cols[k]);
        }
    }
    first = es_malloc((size_t)(n ? n : 1) * sizeof *first);
    if (!first) {
        st = es_error_set(err, ES_NOMEM, 0, "%s: out of memory", what);
        goto done;
    }
    st = parse_record_batch(&rb, meta, meta_len, what, err);
    if (st == ES_OK)
        st = check_shape(first, &rb, types, n, what, err);
    if (st == ES_OK)
        st = new_batch(out, n_cols, rb.length, err);
    if (st)
        goto done;
    for (int64_t k = 0; k < n_cols && st == ES_OK; k++) {
        int64_t c = cols[k], off, len;
        column_range(&rb, &types[c], first[c], &off, &len);
        es_blob *b = col_bytes[k];
        if (len > 0 && (!b || (uint64_t)len > b->size)) {
            st = es_error_set(err, ES_CORRUPT, 0,
                              "%s: bytes of field '%s' too short (%zu of %" PRId64 ")", what,
                              child_name(schema, c), b ? b->size : (size_t)0, len);
            break;
        }
        body_src src = {b, b ? b->data : NULL, len, off};
        st = decode_column(out->children[k], &types[c], child_name(schema, c), &rb, c, first[c],
                           &src, what, err);
    }
    if (st)
        release_batch(out);
done:
    es_free(types);
    es_free(first);
    return st;
}

/* ===================================================================== writer */

struct es_ipc_writer {
    es_ipc_format format;
    es_compression compression;
    struct ArrowSchema schema;
    es_type *types;
    int64_t n_cols;
    es_buf out;
    es_ipc_block *blocks;
    int64_t *ranges; /* 2 * n_cols per block: offset, length */
    int64_t n_blocks, cap_blocks;
    codec_ctx codecs;
    bool finished;
    bool failed; /* sticky: a failed append may have left partial bytes */
};

void es_ipc_writer_free(es_ipc_writer *w)
{
    if (!w)
        return;
    es_schema_release(&w->schema);
    es_free(w->types);
    es_buf_reset(&w->out);
    es_free(w->blocks);
    es_free(w->ranges);
    codec_ctx_reset(&w->codecs);
    es_free(w);
}

static es_status build_schema_fb(uint8_t **fb, size_t *len, const es_ipc_writer *w)
{
    es_fb_builder b;
    es_fb_builder_init(&b);
    es_fb_ref s = encode_schema(&b, &w->schema, w->types);
    es_fb_ref m = encode_message(&b, HDR_SCHEMA, s, 0);
    return es_fb_finish(&b, m, fb, len);
}

es_status es_ipc_writer_new(es_ipc_writer **out, const struct ArrowSchema *schema,
                            es_ipc_format format, const es_ipc_write_options *opts, es_error *err)
{
    *out = NULL;
    if (format != ES_IPC_FILE && format != ES_IPC_STREAM)
        return es_error_set(err, ES_INVALID, 0, "bad IPC format %d", (int)format);
    if (opts && (opts->version != ES_IPC_WRITE_OPTIONS_VERSION ||
                 (opts->compression != ES_COMPRESS_NONE && opts->compression != ES_COMPRESS_LZ4 &&
                  opts->compression != ES_COMPRESS_ZSTD)))
        return es_error_set(err, ES_INVALID, 0, "bad IPC write options");
    es_ipc_writer *w = es_calloc(1, sizeof *w);
    if (!w)
        return es_error_set(err, ES_NOMEM, 0, "out of memory creating IPC writer");
    w->format = format;
    w->compression = opts ? opts->compression : ES_COMPRESS_NONE;
    es_status st = schema_types(&w->types, schema, err);
    if (st == ES_OK)
        st = es_schema_copy(&w->schema, schema, err);
    if (st) {
        es_ipc_writer_free(w);
        return st;
    }
    w->n_cols = schema->n_children;
    uint8_t *fb;
    size_t fb_len;
    st = build_schema_fb(&fb, &fb_len, w);
    if (st) {
        es_ipc_writer_free(w);
        return es_error_set(err, st, 0, "out of memory encoding schema");
    }
    if (format == ES_IPC_FILE)
        st = es_buf_append(&w->out, magic, 8);
    if (st == ES_OK)
        st = append_message(&w->out, fb, fb_len, NULL);
    es_free(fb);
    if (st) {
        es_ipc_writer_free(w);
        return es_error_set(err, st, 0, "out of memory writing schema");
    }
    *out = w;
    return ES_OK;
}

/* One body buffer to write. */
typedef struct out_buf {
    const uint8_t *data;
    int64_t len;
    uint8_t *owned; /* freed after writing */
} out_buf;

/* The bitmap bits [off, off+len) starting at bit 0 (a slice when byte-aligned). */
static es_status slice_bits(out_buf *o, const uint8_t *bits, int64_t off, int64_t len)
{
    int64_t bytes = (len + 7) / 8;
    o->len = bytes;
    if ((off & 7) == 0) {
        o->data = bits + off / 8;
        return ES_OK;
    }
    uint8_t *d = es_calloc((size_t)(bytes ? bytes : 1), 1);
    if (!d)
        return ES_NOMEM;
    for (int64_t i = 0; i < len; i++)
        if ((bits[(off + i) >> 3] >> ((off + i) & 7)) & 1)
            d[i >> 3] |= (uint8_t)(1u << (i & 7));
    o->owned = d;
    o->data = d;
    return ES_OK;
}

/* The buffers of one column of a batch, sliced to [off, off+len). */
static es_status column_buffers(out_buf *ob, int *nb, int64_t *nulls, const es_type *t,
                                const struct ArrowArray *a, int64_t off, int64_t len,
                                const char *name, es_error *err)
{
    *nb = es_arrow_n_buffers(t);
    if (a->n_buffers != *nb || (*nb && !a->buffers))
        return es_error_set(err, ES_INVALID, 0, "field '%s': %" PRId64 " buffers, expected %d",
                            name, a->n_buffers, *nb);
    if (t->id == ES_TYPE_NA) {
        *nulls = len;
        return ES_OK;
    }
    const uint8_t *valid = a->buffers[0];
    *nulls = (a->null_count == 0 || !valid) ? 0 : count_nulls(valid, off, len);
    if (*nulls > 0 && slice_bits(&ob[0], valid, off, len) != ES_OK)
        return es_error_set(err, ES_NOMEM, 0, "out of memory writing field '%s'", name);
    if (len == 0 && !es_type_is_varlen(t->id))
        return ES_OK;
    if (!a->buffers[1] || (es_type_is_varlen(t->id) && !a->buffers[2] && len > 0))
        return es_error_set(err, ES_INVALID, 0, "field '%s': missing data buffer", name);
    if (t->id == ES_TYPE_BOOL) {
        if (slice_bits(&ob[1], a->buffers[1], off, len) != ES_OK)
            return es_error_set(err, ES_NOMEM, 0, "out of memory writing field '%s'", name);
        return ES_OK;
    }
    if (!es_type_is_varlen(t->id)) {
        ob[1].data = (const uint8_t *)a->buffers[1] + off * t->byte_width;
        ob[1].len = len * t->byte_width;
        return ES_OK;
    }
    int w = offset_width(t->id);
    if (len == 0) {
        ob[1].data = (const uint8_t *)zero_offsets;
        ob[1].len = w;
        return ES_OK;
    }
    const uint8_t *offs = (const uint8_t *)a->buffers[1] + off * w;
    int64_t base = w == 8 ? ((const int64_t *)offs)[0] : ((const int32_t *)offs)[0];
    int64_t end = w == 8 ? ((const int64_t *)offs)[len] : ((const int32_t *)offs)[len];
    if (base < 0 || end < base)
        return es_error_set(err, ES_INVALID, 0, "field '%s': bad offsets", name);
    ob[1].len = (len + 1) * w;
    if (base == 0) {
        ob[1].data = offs;
    } else {
        uint8_t *d = es_malloc((size_t)ob[1].len);
        if (!d)
            return es_error_set(err, ES_NOMEM, 0, "out of memory writing field '%s'", name);
        for (int64_t i = 0; i <= len; i++) {
            if (w == 8) {
                int64_t v = ((const int64_t *)offs)[i] - base;
                memcpy(d + 8 * i, &v, 8);
            } else {
                int32_t v = (int32_t)(((const int32_t *)offs)[i] - base);
                memcpy(d + 4 * i, &v, 4);
            }
        }
        ob[1].owned = d;
        ob[1].data = d;
    }
    ob[2].data = (const uint8_t *)a->buffers[2] + base;
    ob[2].len = end - base;
    return ES_OK;
}

es_status es_ipc_writer_write(es_ipc_writer *w, const struct ArrowArray *batch, es_error *err)
{
    if (!w || !batch || !batch->release)
        return es_error_set(err, ES_INVALID, 0, "IPC write: bad writer or released batch");
    if (w->finished || w->failed)
        return es_error_set(err, ES_INVALID, 0, "IPC write: writer is finished or failed");
    if (batch->n_children != w->n_cols || (w->n_cols && !batch->children))
        return es_error_set(err, ES_INVALID, 0,
                            "IPC write: batch has %" PRId64 " columns, schema %" PRId64,
                            batch->n_children, w->n_cols);
    if (batch->length < 0 || batch->offset < 0 || batch->null_count > 0)
        return es_error_set(err, ES_INVALID, 0, "IPC write: bad record batch length or nulls");
    int64_t n = w->n_cols, len = batch->length;
    out_buf *ob = es_calloc((size_t)(3 * n + 1), sizeof *ob);
    int64_t *nodes = es_malloc((size_t)(2 * n + 1) * sizeof *nodes);
    int64_t *bufs = es_malloc((size_t)(6 * n + 1) * sizeof *bufs);
    int64_t *ranges = es_malloc((size_t)(2 * n + 1) * sizeof *ranges);
    int *nbs = es_malloc((size_t)(n + 1) * sizeof *nbs);
    uint8_t *fb = NULL;
    size_t fb_len = 0;
    int64_t n_bufs = 0, body = 0;
    es_status st = ES_OK;
    if (!ob || !nodes || !bufs || !ranges || !nbs) {
        st = es_error_set(err, ES_NOMEM, 0, "IPC write: out of memory");
        goto done;
    }
    for (int64_t c = 0; c < n; c++) {
        const struct ArrowArray *a = batch->children[c];
        const char *name = child_name(&w->schema, c);
        if (!a || !a->release || a->offset < 0 || a->length < batch->offset + len) {
            st = es_error_set(err, ES_INVALID, 0, "IPC write: field '%s': bad child array", name);
            goto done;
        }
        int64_t nulls = 0;
        st = column_buffers(&ob[3 * c], &nbs[c], &nulls, &w->types[c], a, a->offset + batch->offset,
                            len, name, err);
        if (st)
            goto done;
        nodes[2 * c] = len;
        nodes[2 * c + 1] = nulls;
        ranges[2 * c] = body;
        ranges[2 * c + 1] = 0;
        for (int j = 0; j < nbs[c]; j++) {
            out_buf *o = &ob[3 * c + j];
            if (w->compression != ES_COMPRESS_NONE && o->len > 0) {
                uint8_t *cd;
                int64_t cl = 0;
                st = compress_buffer(&cd, &cl, &w->codecs, w->compression, o->data, o->len, err);
                if (st)
                    goto done;
                es_free(o->owned);
                o->owned = cd;
                o->data = cd;
                o->len = cl;
            }
            bufs[2 * n_bufs] = o->len > 0 ? body : 0;
            bufs[2 * n_bufs + 1] = o->len;
            n_bufs++;
            if (o->len > 0) {
                if (ranges[2 * c + 1] == 0)
                    ranges[2 * c] = body;
                ranges[2 * c + 1] = body + o->len - ranges[2 * c];
                body += pad8(o->len);
            }
        }
    }
    /* Metadata. */
    es_fb_builder b;
    es_fb_builder_init(&b);
    es_fb_ref nv = es_fb_create_vector(&b, nodes, (size_t)n, 16, 8);
    es_fb_ref bv = es_fb_create_vector(&b, bufs, (size_t)n_bufs, 16, 8);
    es_fb_ref cmp = 0;
    if (w->compression != ES_COMPRESS_NONE) {
        es_fb_table_start(&b);
        es_fb_add_scalar(&b, CMP_CODEC, 1, w->compression == ES_COMPRESS_LZ4 ? 0 : 1);
        es_fb_add_scalar(&b, CMP_METHOD, 1, 0);
        cmp = es_fb_table_end(&b);
    }
    es_fb_table_start(&b);
    es_fb_add_scalar(&b, RB_LENGTH, 8, (uint64_t)len);
    es_fb_add_ref(&b, RB_NODES, nv);
    es_fb_add_ref(&b, RB_BUFFERS, bv);
    if (cmp)
        es_fb_add_ref(&b, RB_COMPRESSION, cmp);
    es_fb_ref rbt = es_fb_table_end(&b);
    es_fb_ref msg = encode_message(&b, HDR_RECORD_BATCH, rbt, body);
    if (es_fb_finish(&b, msg, &fb, &fb_len) != ES_OK) {
        st = es_error_set(err, ES_NOMEM, 0, "IPC write: out of memory encoding metadata");
        goto done;
    }
    /* Room for the block and ranges. */
    if (w->n_blocks == w->cap_blocks) {
        int64_t nc = w->cap_blocks ? 2 * w->cap_blocks : 16;
        es_ipc_block *nbk = es_realloc(w->blocks, (size_t)nc * sizeof *nbk);
        if (nbk)
            w->blocks = nbk;
        int64_t *nr =
            nbk ? es_realloc(w->ranges, (size_t)(nc * 2 * (n ? n : 1)) * sizeof *nr) : NULL;
        if (nr)
            w->ranges = nr;
        if (!nbk || !nr) {
            st = es_error_set(err, ES_NOMEM, 0, "IPC write: out of memory");
            goto done;
        }
        w->cap_blocks = nc;
    }
    if (es_buf_reserve(&w->out, 16 + fb_len + (size_t)body) != ES_OK) {
        st = es_error_set(err, ES_NOMEM, 0, "IPC write: out of memory");
        goto done;
    }
    es_ipc_block *blk = &w->blocks[w->n_blocks];
    blk->offset = (int64_t)w->out.len;
    blk->body_length = body;
    blk->rows = len;
    st = append_message(&w->out, fb, fb_len, &blk->metadata_length);
    int64_t body_start = (int64_t)w->out.len;
    for (int64_t i = 0; st == ES_OK && i < 3 * n; i++) {
        if (ob[i].len <= 0)
            continue;
        st = es_buf_append(&w->out, ob[i].data, (size_t)ob[i].len);
        if (st == ES_OK)
            st = es_buf_pad(&w->out, 8);
    }
    if (st) {
        w->failed = true;
        st = es_error_set(err, st, 0, "IPC write: out of memory");
        goto done;
    }
    int64_t *r = &w->ranges[w->n_blocks * 2 * n];
    for (int64_t c = 0; c < n; c++) {
        r[2 * c] = body_start + ranges[2 * c];
        r[2 * c + 1] = ranges[2 * c + 1];
    }
    w->n_blocks++;
done:
    if (ob)
        for (int64_t i = 0; i < 3 * n; i++)
            es_free(ob[i].owned);
    es_free(ob);
    es_free(nodes);
    es_free(bufs);
    es_free(ranges);
    es_free(nbs);
    es_free(fb);
    return st;
}

es_status es_ipc_writer_finish(es_ipc_writer *w, uint8_t **data, size_t *size, es_error *err)
{
    *data = NULL;
    *size = 0;
    if (!w || w->finished || w->failed)
        return es_error_set(err, ES_INVALID, 0, "IPC finish: writer is finished or failed");
    uint8_t eos[8];
    es_store_u32(eos, CONTINUATION);
    es_store_u32(eos + 4, 0);
    es_status st = es_buf_append(&w->out, eos, 8);
    if (st == ES_OK && w->format == ES_IPC_FILE) {
        es_fb_builder b;
        es_fb_builder_init(&b);
        uint8_t *blocks = es_malloc((size_t)(w->n_blocks ? w->n_blocks : 1) * 24);
        if (!blocks) {
            st = ES_NOMEM;
        } else {
            for (int64_t i = 0; i < w->n_blocks; i++) {
                uint8_t *p = blocks + 24 * i;
                es_store_u64(p, (uint64_t)w->blocks[i].offset);
                es_store_u32(p + 8, (uint32_t)w->blocks[i].metadata_length);
                es_store_u32(p + 12, 0);
                es_store_u64(p + 16, (uint64_t)w->blocks[i].body_length);
            }
            es_fb_ref bv = es_fb_create_vector(&b, blocks, (size_t)w->n_blocks, 24, 8);
            es_fb_ref dv = es_fb_create_vector(&b, NULL, 0, 24, 8);
            es_free(blocks);
            es_fb_ref s = encode_schema(&b, &w->schema, w->types);
            es_fb_table_start(&b);
            es_fb_add_scalar(&b, FTR_VERSION, 2, METADATA_V5);
            es_fb_add_ref(&b, FTR_SCHEMA, s);
            es_fb_add_ref(&b, FTR_DICTIONARIES, dv);
            es_fb_add_ref(&b, FTR_BATCHES, bv);
            es_fb_ref f = es_fb_table_end(&b);
            uint8_t *fb;
            size_t fb_len;
            st = es_fb_finish(&b, f, &fb, &fb_len);
            if (st == ES_OK) {
                uint8_t tail[4];
                es_store_u32(tail, (uint32_t)fb_len);
                st = es_buf_append(&w->out, fb, fb_len);
                if (st == ES_OK)
                    st = es_buf_append(&w->out, tail, 4);
                if (st == ES_OK)
                    st = es_buf_append(&w->out, magic, 6);
                es_free(fb);
            }
        }
        es_fb_builder_reset(&b);
    }
    if (st) {
        w->failed = true;
        return es_error_set(err, st, 0, "IPC finish: out of memory");
    }
    w->finished = true;
    *data = es_buf_detach(&w->out, size);
    return ES_OK;
}

const es_ipc_block *es_ipc_writer_blocks(const es_ipc_writer *w, int64_t *n)
{
    *n = w ? w->n_blocks : 0;
    return w ? w->blocks : NULL;
}

es_status es_ipc_writer_column_ranges(const es_ipc_writer *w, int64_t batch, int64_t col,
                                      int64_t *offset, int64_t *length)
{
    if (!w || batch < 0 || batch >= w->n_blocks || col < 0 || col >= w->n_cols)
        return ES_INVALID;
    const int64_t *r = &w->ranges[batch * 2 * w->n_cols + 2 * col];
    *offset = r[0];
    *length = r[1];
    return ES_OK;
}

/* ===================================================================== file reader */

struct es_ipc_file {
    es_blob *blob;
    struct ArrowSchema schema;
    int64_t n_blocks;
    es_ipc_block *blocks;
};

void es_ipc_file_close(es_ipc_file *f)
{
    if (!f)
        return;
    es_schema_release(&f->schema);
    es_blob_unref(f->blob);
    es_free(f->blocks);
    es_free(f);
}

es_status es_ipc_file_open(es_ipc_file **out, es_blob *blob, es_error *err)
{
    *out = NULL;
    if (!blob)
        return es_error_set(err, ES_INVALID, 0, "IPC file: no blob");
    const uint8_t *d = blob->data;
    size_t size = blob->size;
    if (size < 18 || memcmp(d, magic, 6) != 0 || memcmp(d + size - 6, magic, 6) != 0)
        return es_error_set(err, ES_CORRUPT, 0, "IPC file: missing ARROW1 magic");
    int64_t flen = (int32_t)es_load_u32(d + size - 10);
    if (flen <= 0 || (uint64_t)flen > size - 18)
        return es_error_set(err, ES_CORRUPT, 0, "IPC file: bad footer length %" PRId64, flen);
    int64_t fstart = (int64_t)size - 10 - flen;
    es_fb_table ftr, sch;
    es_fb_vec batches, dicts;
    if (es_fb_root(&ftr, d + fstart, (size_t)flen) != ES_FB_OK)
        return es_error_set(err, ES_CORRUPT, 0, "IPC file: bad footer flatbuffer");
    if (es_fb_get_table(&ftr, FTR_SCHEMA, &sch) != ES_FB_OK)
        return es_error_set(err, ES_CORRUPT, 0, "IPC file: footer has no schema");
    if (es_fb_get_vector(&ftr, FTR_DICTIONARIES, 24, &dicts) == ES_FB_BAD ||
        es_fb_get_vector(&ftr, FTR_BATCHES, 24, &batches) == ES_FB_BAD)
        return es_error_set(err, ES_CORRUPT, 0, "IPC file: bad footer blocks");
    es_ipc_file *f = es_calloc(1, sizeof *f);
    if (!f)
        return es_error_set(err, ES_NOMEM, 0, "IPC file: out of memory");
    es_status st = decode_schema(&f->schema, &sch, err);
    if (st) {
        es_error_prefix(err, "IPC file");
        es_free(f);
        return st;
    }
    if (dicts.n > 0) {
        es_ipc_file_close(f);
        return es_error_set(err, ES_UNSUPPORTED, 0, "IPC file: dictionaries are not supported");
    }
    f->blocks = es_calloc(batches.n ? batches.n : 1, sizeof *f->blocks);
    if (!f->blocks) {
        es_ipc_file_close(f);
        return es_error_set(err, ES_NOMEM, 0, "IPC file: out of memory");
    }
    f->n_blocks = batches.n;
    for (uint32_t i = 0; i < batches.n; i++) {
        const uint8_t *p = es_fb_vec_at(&batches, i);
        es_ipc_block *b = &f->blocks[i];
        b->offset = (int64_t)es_load_u64(p);
        b->metadata_length = (int32_t)es_load_u32(p + 8);
        b->body_length = (int64_t)es_load_u64(p + 16);
        if (b->offset < 8 || b->metadata_length < 8 || b->body_length < 0 || b->offset > fstart ||
            b->metadata_length > fstart - b->offset ||
            b->body_length > fstart - b->offset - b->metadata_length) {
            es_ipc_file_close(f);
            return es_error_set(err, ES_CORRUPT, 0,
                                "IPC file: block of record batch %u out of range", i);
        }
        rb_meta rb;
        char what[64];
        snprintf(what, sizeof what, "record batch %u", i);
        st = parse_record_batch(&rb, d + b->offset, (size_t)b->metadata_length, what, err);
        if (st) {
            es_ipc_file_close(f);
            return st;
        }
        b->rows = rb.length;
    }
    f->blob = es_blob_ref(blob);
    *out = f;
    return ES_OK;
}

const struct ArrowSchema *es_ipc_file_schema(const es_ipc_file *f)
{
    return &f->schema;
}

int64_t es_ipc_file_num_batches(const es_ipc_file *f)
{
    return f->n_blocks;
}

const es_ipc_block *es_ipc_file_block(const es_ipc_file *f, int64_t i)
{
    if (!f || i < 0 || i >= f->n_blocks)
        return NULL;
    return &f->blocks[i];
}

es_status es_ipc_file_read(es_ipc_file *f, int64_t i, struct ArrowArray *out, es_error *err)
{
    memset(out, 0, sizeof *out);
    if (!f || i < 0 || i >= f->n_blocks)
        return es_error_set(err, ES_INVALID, 0, "IPC file: no record batch %" PRId64, i);
    const es_ipc_block *b = &f->blocks[i];
    const uint8_t *meta = f->blob->data + b->offset;
    char what[64];
    snprintf(what, sizeof what, "record batch %" PRId64, i);
    return es_ipc_decode_batch(out, &f->schema, meta, (size_t)b->metadata_length, f->blob,
                               meta + b->metadata_length, b->body_length, what, err);
}

/* ===================================================================== stream reader */

typedef struct ipc_stream {
    es_blob *blob;
    es_ipc_file *file; /* file format: batches come from its blocks */
    struct ArrowSchema schema;
    int64_t next; /* next batch index (file) or batches read so far (stream) */
    size_t pos;   /* stream format: offset of the next message */
    bool done;
    es_error err;
} ipc_stream;

static int errno_of(es_status st)
{
    switch (st) {
    case ES_OK:
        return 0;
    case ES_NOMEM:
        return ENOMEM;
    case ES_INVALID:
        return EINVAL;
    case ES_UNSUPPORTED:
        return ENOTSUP;
    default:
        return EIO;
    }
}

/* The next message of a stream: framed metadata [*meta, +*meta_len), body and its length.
 * *eos is set at the end-of-stream marker or at the very end of the input. */
static es_status next_message(ipc_stream *s, es_fb_table *msg, const uint8_t **meta,
                              size_t *meta_len, const uint8_t **body, int64_t *body_len, bool *eos,
                              es_error *err)
{
    const uint8_t *d = s->blob->data;
    size_t size = s->blob->size, pos = s->pos;
    *eos = false;
    if (pos == size) {
        *eos = true;
        return ES_OK;
    }
    if (size - pos < 4)
        return es_error_set(err, ES_CORRUPT, 0, "IPC stream: truncated message at offset %zu", pos);
    size_t prefix = 4;
    int64_t len = (int32_t)es_load_u32(d + pos);
    if (es_load_u32(d + pos) == CONTINUATION) {
        if (size - pos < 8)
            return es_error_set(err, ES_CORRUPT, 0, "IPC stream: truncated message at offset %zu",
                                pos);
        prefix = 8;
        len = (int32_t)es_load_u32(d + pos + 4);
    }
    if (len == 0) {
        *eos = true;
        return ES_OK;
    }
    if (len < 0 || (uint64_t)len > size - pos - prefix)
        return es_error_set(err, ES_CORRUPT, 0,
                            "IPC stream: message at offset %zu extends past the end", pos);
    *meta = d + pos;
    *meta_len = prefix + (size_t)len;
    char what[64];
    snprintf(what, sizeof what, "IPC stream: message at offset %zu", pos);
    es_status st = parse_message(msg, *meta, *meta_len, what, err);
    if (st)
        return st;
    if (es_fb_get_i64(msg, MSG_BODY_LENGTH, 0, body_len) == ES_FB_BAD || *body_len < 0 ||
        (uint64_t)*body_len > size - pos - *meta_len)
        return es_error_set(err, ES_CORRUPT, 0, "%s: body extends past the end", what);
    *body = *meta + *meta_len;
    s->pos = pos + *meta_len + (size_t)*body_len;
    return ES_OK;
}

static int stream_get_schema(struct ArrowArrayStream *st, struct ArrowSchema *out)
{
    ipc_stream *s = st->private_data;
    es_status r = es_schema_copy(out, &s->schema, &s->err);
    return errno_of(r);
}

static int stream_get_next(struct ArrowArrayStream *st, struct ArrowArray *out)
{
    ipc_stream *s = st->private_data;
    memset(out, 0, sizeof *out);
    if (s->err.code != ES_OK)
        return errno_of(s->err.code);
    if (s->done)
        return 0;
    es_status r;
    if (s->file) {
        if (s->next >= es_ipc_file_num_batches(s->file)) {
            s->done = true;
            return 0;
        }
        r = es_ipc_file_read(s->file, s->next, out, &s->err);
    } else {
        es_fb_table msg;
        const uint8_t *meta = NULL, *body = NULL;
        size_t meta_len = 0;
        int64_t body_len = 0;
        bool eos;
        size_t at = s->pos;
        r = next_message(s, &msg, &meta, &meta_len, &body, &body_len, &eos, &s->err);
        if (r == ES_OK && eos) {
            s->done = true;
            return 0;
        }
        if (r == ES_OK) {
            char what[64];
            snprintf(what, sizeof what, "record batch %" PRId64 " (offset %zu)", s->next, at);
            r = es_ipc_decode_batch(out, &s->schema, meta, meta_len, s->blob, body, body_len, what,
                                    &s->err);
        }
    }
    if (r != ES_OK) {
        s->err.code = r;
        return errno_of(r);
    }
    s->next++;
    return 0;
}

static const char *stream_get_last_error(struct ArrowArrayStream *st)
{
    ipc_stream *s = st->private_data;
    return s->err.code != ES_OK ? s->err.msg : NULL;
}

static void stream_release(struct ArrowArrayStream *st)
{
    ipc_stream *s = st->private_data;
    if (s) {
        es_ipc_file_close(s->file);
        es_schema_release(&s->schema);
        es_blob_unref(s->blob);
        es_free(s);
    }
    st->release = NULL;
}

es_status es_ipc_reader_open(struct ArrowArrayStream *out, es_blob *blob, es_error *err)
{
    memset(out, 0, sizeof *out);
    if (!blob)
        return es_error_set(err, ES_INVALID, 0, "IPC reader: no blob");
    ipc_stream *s = es_calloc(1, sizeof *s);
    if (!s)
        return es_error_set(err, ES_NOMEM, 0, "IPC reader: out of memory");
    s->blob = es_blob_ref(blob);
    es_status st;
    if (blob->size >= 6 && memcmp(blob->data, magic, 6) == 0) {
        st = es_ipc_file_open(&s->file, blob, err);
        if (st == ES_OK)
            st = es_schema_copy(&s->schema, es_ipc_file_schema(s->file), err);
    } else {
        es_fb_table msg, sch;
        const uint8_t *meta = NULL, *body = NULL;
        size_t meta_len = 0;
        int64_t body_len = 0;
        bool eos;
        uint8_t ht = 0;
        st = next_message(s, &msg, &meta, &meta_len, &body, &body_len, &eos, err);
        if (st == ES_OK && eos)
            st = es_error_set(err, ES_CORRUPT, 0, "IPC stream: no schema message");
        if (st == ES_OK &&
            (es_fb_get_u8(&msg, MSG_HEADER_TYPE, 0, &ht) != ES_FB_OK || ht != HDR_SCHEMA ||
             es_fb_get_table(&msg, MSG_HEADER, &sch) != ES_FB_OK))
            st = es_error_set(err, ES_CORRUPT, 0, "IPC stream: first message is not a schema");
        if (st == ES_OK) {
            st = decode_schema(&s->schema, &sch, err);
            if (st)
                es_error_prefix(err, "IPC stream");
        }
    }
    if (st) {
        es_ipc_file_close(s->file);
        es_schema_release(&s->schema);
        es_blob_unref(s->blob);
        es_free(s);
        return st;
    }
    out->get_schema = stream_get_schema;
    out->get_next = stream_get_next;
    out->get_last_error = stream_get_last_error;
    out->release = stream_release;
    out->private_data = s;
    return ES_OK;
}
