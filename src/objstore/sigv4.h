/*
 * sigv4 (internal, objstore layer): AWS Signature Version 4 for the S3 backend. Pure functions
 * on strings: no I/O, no clock. The S3 backend (s3_http.c) builds the request, calls
 * es_sigv4_sign() and sends the headers it returns. tests/test_sigv4.c checks the canonical
 * request, the string to sign and the signature against AWS's published test vectors.
 *
 * Canonical form used here (as S3 wants it): the path is URI-encoded once (unreserved characters
 * and '/' kept) and never normalised; query parameters are given decoded, encoded here, sorted by
 * encoded name then value, and a parameter without a value is signed as "name="; header names
 * are lower-cased and sorted, repeated names join their values with ',' in the order given,
 * values are trimmed and runs of spaces collapse to one.
 */
#ifndef ES_SIGV4_H
#define ES_SIGV4_H

#include "util/util.h"

/** A name/value pair (a header or a decoded query parameter). value NULL counts as "". */
typedef struct es_sigv4_kv {
    const char *name;
    const char *value;
} es_sigv4_kv;

typedef struct es_sigv4_req {
    const char *method;       /**< "GET", "PUT", ... */
    const char *path;         /**< decoded path starting with '/' ("/bucket/key") */
    const es_sigv4_kv *query; /**< decoded parameters, any order */
    int nquery;
    const es_sigv4_kv *headers; /**< headers to sign (must include host and x-amz-date) */
    int nheaders;
    const char *payload_hash; /**< hex SHA-256 of the body, or "UNSIGNED-PAYLOAD" */
} es_sigv4_req;

/** Append the URI encoding of s[0..n) (RFC 3986 unreserved kept; '/' kept when keep_slash). */
es_status es_sigv4_uri_encode(es_buf *out, const char *s, size_t n, int keep_slash);
/** Append the canonical query string of the decoded parameters (sorted, encoded). */
es_status es_sigv4_canonical_query(es_buf *out, const es_sigv4_kv *q, int n);
/** Build the canonical request into out (NUL-terminated) and the signed-header list into
 * signed_headers (NUL-terminated, "host;x-amz-date"). */
es_status es_sigv4_canonical_request(es_buf *out, es_buf *signed_headers, const es_sigv4_req *r);
/** Load libcrypto (once; every function below calls it). ES_UNSUPPORTED "cannot load
 * libcrypto.so.3: ..." when it is missing, and then the digests below come out empty. */
es_status es_sigv4_load(es_error *err);
/** Lower-case hex SHA-256 of data (65 bytes with the NUL). */
void es_sigv4_sha256_hex(char out[65], const void *data, size_t n);
/** Base64 of the MD5 of data (for Content-MD5; 25 bytes with the NUL). */
void es_sigv4_md5_base64(char out[25], const void *data, size_t n);
/** String to sign for amz_date ("20150830T123600Z"), region and service. */
es_status es_sigv4_string_to_sign(es_buf *out, const char *amz_date, const char *region,
                                  const char *service, const char *canonical_request);
/** Hex signature of string_to_sign with the key derived from secret, date, region, service. */
void es_sigv4_signature(char out[65], const char *secret, const char *amz_date, const char *region,
                        const char *service, const char *string_to_sign);
/** Whole signing: the value of the Authorization header into out (NUL-terminated). */
es_status es_sigv4_sign(es_buf *out, const es_sigv4_req *r, const char *access_key,
                        const char *secret, const char *amz_date, const char *region,
                        const char *service);

#endif /* ES_SIGV4_H */
