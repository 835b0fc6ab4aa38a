/*
 * sigv4: AWS Signature Version 4 (see sigv4.h). Objstore layer, used only by the S3 backend
 * (s3_http.c).
 * SHA-256, HMAC-SHA256 and MD5 come from OpenSSL's libcrypto, loaded on first use like libcurl
 * (es_sigv4_load; es_os_load_library), so programs that never talk to S3 do not load it. The
 * secret key is only ever an HMAC key here: it is never copied into a buffer that could reach a
 * message.
 */
#include "objstore/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdlib.h>

#include "os/os.h"

/* The libcrypto functions this file calls. */
#define CRYPTO_FUNCS(X)                                                                            \
    X(EVP_Digest)                                                                                  \
    X(EVP_sha256)                                                                                  \
    X(EVP_md5)                                                                                     \
    X(EVP_EncodeBlock)                                                                             \
    X(HMAC)

static struct {
#define CRYPTO_FIELD(f) __typeof__(f) *f;
    CRYPTO_FUNCS(CRYPTO_FIELD)
#undef CRYPTO_FIELD
} crypto;

static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;
static es_error crypto_err; /* code ES_OK once loaded */

static void crypto_init(void)
{
#define CRYPTO_SLOT(f) {#f, &crypto.f},
    const es_os_sym syms[] = {CRYPTO_FUNCS(CRYPTO_SLOT)};
#undef CRYPTO_SLOT
    es_os_load_library("libcrypto.so.3", syms, sizeof syms / sizeof syms[0], &crypto_err);
}

es_status es_sigv4_load(es_error *err)
{
    pthread_once(&crypto_once, crypto_init);
    if (crypto_err.code)
        return es_error_set(err, crypto_err.code, 0, "%s", crypto_err.msg);
    return ES_OK;
}

static const char hexdig[] = "0123456789abcdef";

static void to_hex(char *out, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexdig[p[i] >> 4];
        out[2 * i + 1] = hexdig[p[i] & 15];
    }
    out[2 * n] = 0;
}

void es_sigv4_sha256_hex(char out[65], const void *data, size_t n)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (es_sigv4_load(NULL) || !crypto.EVP_Digest(data, n, md, &mdlen, crypto.EVP_sha256(), NULL) ||
        mdlen != 32) {
        out[0] = 0;
        return;
    }
    to_hex(out, md, 32);
}

void es_sigv4_md5_base64(char out[25], const void *data, size_t n)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    out[0] = 0;
    if (es_sigv4_load(NULL) || !crypto.EVP_Digest(data, n, md, &mdlen, crypto.EVP_md5(), NULL) ||
        mdlen != 16)
        return;
    crypto.EVP_EncodeBlock((unsigned char *)out, md, 16);
}

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

es_status es_sigv4_uri_encode(es_buf *out, const char *s, size_t n, int keep_slash)
{
    static const char HEX[] = "0123456789ABCDEF";
    es_status st = es_buf_reserve(out, n * 3 + 1);
    if (st)
        return st;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (keep_slash && c == '/')) {
            out->data[out->len++] = c;
        } else {
            out->data[out->len++] = '%';
            out->data[out->len++] = (uint8_t)HEX[c >> 4];
            out->data[out->len++] = (uint8_t)HEX[c & 15];
        }
    }
    out->data[out->len] = 0;
    return ES_OK;
}

/* An encoded query parameter, for sorting. */
typedef struct enc_kv {
    char *name;
    char *value;
} enc_kv;

static int cmp_enc_kv(const void *a, const void *b)
{
    const enc_kv *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

static char *encode_dup(const char *s)
{
    es_buf b = {0};
    if (!s)
        s = "";
    if (es_sigv4_uri_encode(&b, s, strlen(s), 0) != ES_OK || es_buf_append(&b, "", 1) != ES_OK) {
        es_buf_reset(&b);
        return NULL;
    }
    size_t len;
    return (char *)es_buf_detach(&b, &len);
}

es_status es_sigv4_canonical_query(es_buf *out, const es_sigv4_kv *q, int n)
{
    es_status st = ES_OK;
    if (n <= 0)
        return es_buf_reserve(out, 1);
    enc_kv *e = es_calloc((size_t)n, sizeof *e);
    if (!e)
        return ES_NOMEM;
    for (int i = 0; i < n; i++) {
        e[i].name = encode_dup(q[i].name);
        e[i].value = encode_dup(q[i].value);
        if (!e[i].name || !e[i].value) {
            st = ES_NOMEM;
            goto done;
        }
    }
    qsort(e, (size_t)n, sizeof *e, cmp_enc_kv);
    for (int i = 0; i < n && !st; i++)
        st = es_buf_printf(out, "%s%s=%s", i ? "&" : "", e[i].name, e[i].value);
done:
    for (int i = 0; i < n; i++) {
        es_free(e[i].name);
        es_free(e[i].value);
    }
    es_free(e);
    return st;
}

/* A header being canonicalised: lower-cased name, original index (for a stable sort). */
typedef struct hdr_ent {
    char name[64];
    int idx;
} hdr_ent;

static int cmp_hdr(const void *a, const void *b)
{
    const hdr_ent *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

/* Append a header value trimmed, with runs of spaces (and tabs) collapsed to one space. */
static es_status append_trimmed(es_buf *out, const char *v)
{
    es_status st;
    int pending = 0, any = 0;
    if (!v)
        return ES_OK;
    for (const char *p = v; *p; p++) {
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
            pending = any;
            continue;
        }
        if (pending && (st = es_buf_append(out, " ", 1)))
            return st;
        pending = 0;
        any = 1;
        if ((st = es_buf_append(out, p, 1)))
            return st;
    }
    return ES_OK;
}

es_status es_sigv4_canonical_request(es_buf *out, es_buf *signed_headers, const es_sigv4_req *r)
{
    es_status st;
    hdr_ent *h = NULL;
    if (r->nheaders < 0 || !r->method || !r->path || !r->payload_hash)
        return ES_INVALID;
    if ((st = es_buf_printf(out, "%s\n", r->method)))
        return st;
    if ((st = es_sigv4_uri_encode(out, r->path, strlen(r->path), 1)) ||
        (st = es_buf_append(out, "\n", 1)) ||
        (st = es_sigv4_canonical_query(out, r->query, r->nquery)) ||
        (st = es_buf_append(out, "\n", 1)))
        return st;
    if (r->nheaders > 0) {
        h = es_calloc((size_t)r->nheaders, sizeof *h);
        if (!h)
            return ES_NOMEM;
    }
    for (int i = 0; i < r->nheaders; i++) {
        size_t n = strlen(r->headers[i].name);
        if (n >= sizeof h[i].name) {
            es_free(h);
            return ES_INVALID;
        }
        for (size_t j = 0; j <= n; j++) {
            char c = r->headers[i].name[j];
            h[i].name[j] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        }
        h[i].idx = i;
    }
    if (r->nheaders > 1)
        qsort(h, (size_t)r->nheaders, sizeof *h, cmp_hdr);
    /* Canonical headers: one line per distinct name, values joined with ','. */
    for (int i = 0; i < r->nheaders && !st; i++) {
        int first = i == 0 || strcmp(h[i].name, h[i - 1].name) != 0;
        int last = i + 1 == r->nheaders || strcmp(h[i].name, h[i + 1].name) != 0;
        if (first) {
            st = es_buf_printf(out, "%s:", h[i].name);
            if (!st)
                st = es_buf_printf(signed_headers, "%s%s", signed_headers->len ? ";" : "",
                                   h[i].name);
        } else {
            st = es_buf_append(out, ",", 1);
        }
        if (!st)
            st = append_trimmed(out, r->headers[h[i].idx].value);
        if (!st && last)
            st = es_buf_append(out, "\n", 1);
    }
    es_free(h);
    if (!st)
        st = es_buf_printf(signed_headers, "%s", "");
    if (!st)
        st = es_buf_printf(out, "\n%s\n%s", (const char *)signed_headers->data, r->payload_hash);
    return st;
}

es_status es_sigv4_string_to_sign(es_buf *out, const char *amz_date, const char *region,
                                  const char *service, const char *canonical_request)
{
    char hash[65];
    es_sigv4_sha256_hex(hash, canonical_request, strlen(canonical_request));
    return es_buf_printf(out, "AWS4-HMAC-SHA256\n%s\n%.8s/%s/%s/aws4_request\n%s", amz_date,
                         amz_date, region, service, hash);
}

static void hmac(unsigned char out[32], const void *key, size_t klen, const char *msg)
{
    unsigned int len = 32;
    memset(out, 0, 32);
    if (es_sigv4_load(NULL) == ES_OK)
        crypto.HMAC(crypto.EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg),
                    out, &len);
}

void es_sigv4_signature(char out[65], const char *secret, const char *amz_date, const char *region,
                        const char *service, const char *string_to_sign)
{
    unsigned char k[32], k2[32];
    char date[9], kinit[4 + 1024 + 1];
    size_t sl = strnlen(secret, 1024); /* AWS secrets are 40 characters */
    memcpy(kinit, "AWS4", 4);
    memcpy(kinit + 4, secret, sl);
    kinit[4 + sl] = 0;
    memcpy(date, amz_date, 8);
    date[8] = 0;
    hmac(k, kinit, 4 + sl, date);
    hmac(k2, k, 32, region);
    hmac(k, k2, 32, service);
    hmac(k2, k, 32, "aws4_request");
    hmac(k, k2, 32, string_to_sign);
    to_hex(out, k, 32);
    /* Do not leave the derived keys or the secret on the stack. */
    explicit_bzero(kinit, sizeof kinit);
    explicit_bzero(k2, sizeof k2);
}

es_status es_sigv4_sign(es_buf *out, const es_sigv4_req *r, const char *access_key,
                        const char *secret, const char *amz_date, const char *region,
                        const char *service)
{
    es_buf creq = {0}, sh = {0}, sts = {0};
    char sig[65];
    es_status st = es_sigv4_canonical_request(&creq, &sh, r);
    if (!st)
        st = es_buf_append(&creq, "", 1);
    if (!st)
        st = es_sigv4_string_to_sign(&sts, amz_date, region, service, (const char *)creq.data);
    if (!st)
        st = es_buf_append(&sts, "", 1);
    if (!st) {
        es_sigv4_signature(sig, secret, amz_date, region, service, (const char *)sts.data);
        st = es_buf_printf(out,
                           "AWS4-HMAC-SHA256 Credential=%s/%.8s/%s/%s/aws4_request, "
                           "SignedHeaders=%s, Signature=%s",
                           access_key, amz_date, region, service, (const char *)sh.data, sig);
    }
    es_buf_reset(&creq);
    es_buf_reset(&sh);
    es_buf_reset(&sts);
    return st;
}
