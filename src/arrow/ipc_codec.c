/*
 * ipc_codec: LZ4_FRAME and ZSTD compression of Arrow IPC body buffers (arrow layer, below the
 * IPC writer and decoder; see ipc_format.h). Bytes to bytes, no I/O.
 *
 *   compressed buffer := int64 uncompressed_length (little-endian), then an LZ4 frame or a ZSTD
 *                        frame; uncompressed_length -1 means the raw bytes follow
 *
 * The writer stores a buffer raw (prefix -1) when its frame would not save at least 1/8 of it, or
 * 2/5 of a fixed-width column's values (es_arrow_compress_cap; such a buffer is read in place,
 * without paying for decompression). Reading
 * checks that the decompressed size matches the prefix, at most 65536 times the compressed size
 * and 4 GiB, and tolerates the apache-arrow JS quirk (up to at least 21.x) of writing the
 * compressed length instead of the uncompressed one (see es_arrow_decompress).
 *
 * liblz4 and libzstd are loaded with es_os_load_library the first time a compressed buffer is
 * written or read (tables lz4/zstd below), not linked: most programs never meet a compressed
 * file and should not pay for the libraries at start-up. If one cannot be loaded, that buffer
 * gives ES_UNSUPPORTED "cannot load liblz4.so.1: ...". Codec memory goes through the library's
 * allocator (and its failure hook).
 */
#include "arrow/ipc_format.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
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
    X(ZSTD_decompressDCtx)                                                                         \
    X(ZSTD_DCtx_reset)                                                                             \
    X(ZSTD_getFrameContentSize)                                                                    \
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

#define MAX_DECOMPRESSED ((int64_t)1 << 32)

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

void es_arrow_codecs_reset(es_arrow_codecs *c)
{
    if (c->lz4)
        lz4.LZ4F_freeCompressionContext(c->lz4);
    if (c->zstd)
        zstd.ZSTD_freeCCtx(c->zstd);
    c->lz4 = NULL;
    c->zstd = NULL;
}

es_status es_arrow_compress(uint8_t **out, int64_t *out_len, es_arrow_codecs *cx, es_compression c,
                            const uint8_t *src, int64_t n, int fixed, es_error *err)
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
    if (r > (size_t)es_arrow_compress_cap(n, fixed)) {
        /* Saves too little: store raw, marked by length -1 (read in place, no decoding). */
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

/* Decompression contexts kept for the next frame: creating one per frame (a ZSTD context is
 * about 160 KB) cost more than decoding a small page. A call takes a context from a slot, or
 * creates one, and puts it back into an empty slot (else frees it); the slots outnumber the
 * threads that decode at once in practice. Contexts left in the pool at exit are reachable. */
#define DCTX_POOL 16
static _Atomic(ZSTD_DCtx *) dctx_pool[DCTX_POOL];

static ZSTD_DCtx *dctx_take(void)
{
    for (int i = 0; i < DCTX_POOL; i++) {
        ZSTD_DCtx *d = atomic_exchange_explicit(&dctx_pool[i], NULL, memory_order_acquire);
        if (d)
            return d;
    }
    return zstd.ZSTD_createDCtx_advanced(zstd_mem);
}

static void dctx_give(ZSTD_DCtx *d)
{
    for (int i = 0; i < DCTX_POOL; i++) {
        ZSTD_DCtx *none = NULL;
        if (atomic_compare_exchange_strong_explicit(&dctx_pool[i], &none, d, memory_order_release,
                                                    memory_order_relaxed))
            return;
    }
    zstd.ZSTD_freeDCtx(d);
}

/* Decode one LZ4 frame or ZSTD frame into a growing buffer of at most `limit` bytes. Returns
 * ES_OK, ES_CORRUPT (bad or too large) or ES_NOMEM. A ZSTD frame whose size is known (`hint`
 * equal to `limit`) is decoded in one call into a buffer of that size. */
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
        ZSTD_DCtx *dctx = dctx_take();
        if (!dctx) {
            es_free(dst);
            return ES_NOMEM;
        }
        if (hint && hint == limit) {
            size_t r = zstd.ZSTD_decompressDCtx(dctx, dst, cap, src, slen);
            dctx_give(dctx);
            if (zstd.ZSTD_isError(r)) {
                es_free(dst);
                return ES_CORRUPT; /* bad, or larger than the size expected */
            }
            *out = dst;
            *out_len = r;
            return ES_OK;
        }
        zstd.ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only); /* after a failed frame */
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
        dctx_give(dctx);
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
es_status es_arrow_decompress(uint8_t **owned, const uint8_t **data, int64_t *len, int codec,
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

es_status es_arrow_compress_pages(uint8_t **out, int64_t *out_len, int64_t *rel, int64_t *plen,
                                  es_arrow_codecs *cx, es_compression c, const uint8_t *const *src,
                                  const int64_t *n, int64_t n_pages, int fixed, es_error *err)
{
    *out = NULL;
    const es_error *le = codec_load(1);
    if (c != ES_COMPRESS_ZSTD)
        return es_error_set(err, ES_INVALID, 0, "paged buffers are ZSTD only");
    if (le)
        return es_error_set(err, le->code, 0, "%s", le->msg);
    if (!cx->zstd)
        cx->zstd = zstd.ZSTD_createCCtx_advanced(zstd_mem);
    if (!cx->zstd)
        return es_error_set(err, ES_NOMEM, 0, "out of memory creating a compression context");
    size_t bound = 8;
    int64_t total = 0;
    for (int64_t p = 0; p < n_pages; p++) {
        bound += zstd.ZSTD_compressBound((size_t)n[p]);
        total += n[p];
    }
    uint8_t *dst = es_malloc(bound > (size_t)(8 + total) ? bound : (size_t)(8 + total));
    if (!dst)
        return es_error_set(err, ES_NOMEM, 0, "out of memory compressing a buffer");
    size_t pos = 8;
    for (int64_t p = 0; p < n_pages; p++) {
        size_t r =
            zstd.ZSTD_compressCCtx(cx->zstd, dst + pos, bound - pos, src[p], (size_t)n[p], 1);
        if (zstd.ZSTD_isError(r)) {
            es_free(dst);
            return es_error_set(err, ES_NOMEM, 0, "ZSTD compression failed");
        }
        rel[p] = (int64_t)pos;
        plen[p] = (int64_t)r;
        pos += r;
    }
    if ((int64_t)pos - 8 > es_arrow_compress_cap(total, fixed)) {
        /* Saves too little: the raw pieces in turn, marked by length -1. */
        es_store_u64(dst, (uint64_t)(int64_t)-1);
        pos = 8;
        for (int64_t p = 0; p < n_pages; p++) {
            if (n[p])
                memcpy(dst + pos, src[p], (size_t)n[p]);
            rel[p] = (int64_t)pos;
            plen[p] = n[p];
            pos += (size_t)n[p];
        }
    } else {
        es_store_u64(dst, (uint64_t)total);
    }
    *out = dst;
    *out_len = (int64_t)pos;
    return ES_OK;
}

es_status es_arrow_decompress_frame(uint8_t **out, int64_t *out_len, int codec, const uint8_t *src,
                                    int64_t n, int64_t expect, const char *where, es_error *err)
{
    *out = NULL;
    const es_error *le = codec_load(codec);
    if (le)
        return es_error_set(err, le->code, 0, "%s: %s", where, le->msg);
    int64_t cap = n > MAX_DECOMPRESSED / 65536 ? MAX_DECOMPRESSED : n * 65536 + 65536;
    size_t hint = expect >= 0 ? (size_t)expect : 0;
    size_t limit = (size_t)(expect >= 0 ? (expect ? expect : 1) : cap);
    if (expect < 0 && codec == 1) {
        /* The frame states its size (our writer's do): decoded in one call to that size. */
        unsigned long long fcs = zstd.ZSTD_getFrameContentSize(src, (size_t)n);
        if (fcs < (unsigned long long)cap)
            hint = limit = fcs ? (size_t)fcs : 1;
    }
    if (expect > cap)
        return es_error_set(err, ES_CORRUPT, 0, "%s: implausible page size", where);
    uint8_t *dst;
    size_t got;
    es_status st = decode_frame(&dst, &got, codec, src, (size_t)n, hint + !hint, limit);
    if (st == ES_NOMEM)
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory decompressing", where);
    if (st)
        return es_error_set(err, ES_CORRUPT, 0, "%s: bad %s frame", where,
                            codec == 0 ? "LZ4" : "ZSTD");
    if (expect >= 0 && (int64_t)got != expect) {
        es_free(dst);
        return es_error_set(err, ES_CORRUPT, 0,
                            "%s: page decompressed to %zu bytes, expected %" PRId64, where, got,
                            expect);
    }
    *out = dst;
    *out_len = (int64_t)got;
    return ES_OK;
}
