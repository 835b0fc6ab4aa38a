/*
 * s3.h (internal): pieces of the S3 backend exposed for unit tests (tests/test_s3.c).
 * Nothing here does I/O except es_objstore_s3_describe, which only reads the open store.
 */
#ifndef ES_OBJSTORE_S3_H
#define ES_OBJSTORE_S3_H

#include "objstore/objstore.h"

/** Is a finished HTTP exchange worth retrying? curl_code is a CURLcode (0: the exchange
 * completed and http_status is the server's answer). 1 for timeouts, resets, refused
 * connections, 5xx, 429 and the S3 codes SlowDown/RequestTimeout/InternalError. */
int es_objstore_s3_retryable(int curl_code, long http_status, const char *s3_code);
/** The status a final answer maps to: 2xx ES_OK, 404 ES_NOT_FOUND, 412 ES_EXISTS, retryable
 * ES_TRANSIENT, 400/403/other ES_REMOTE (416 ES_INVALID). */
es_status es_objstore_s3_status(int curl_code, long http_status, const char *s3_code);
/** Backoff in ns before attempt `attempt + 1` (attempt >= 1) under the dispatch layer's
 * policy; `rnd` is a random number (jitter: uniform in [d/2, d]). */
int64_t es_objstore_s3_backoff_ns(const es_retry_policy *p, int attempt, uint64_t rnd);

/** Parse a ListObjectsV2 response page. Keys must start with strip (the store prefix), which
 * is removed; other keys are skipped. next_token (cap bytes) receives NextContinuationToken
 * ("" when absent); *truncated IsTruncated. Items are appended to out. ES_CORRUPT on
 * malformed XML. */
es_status es_objstore_s3_parse_list(es_obj_list *out, int *truncated, char *next_token, size_t cap,
                                    const char *xml, size_t n, const char *strip, es_error *err);
/** The text of the first <tag>...</tag> in xml, entities decoded, into out (cap bytes).
 * Returns 1 if found. */
int es_objstore_s3_xml_text(char *out, size_t cap, const char *xml, size_t n, const char *tag);

/** A one-line description of an open S3 store's resolved configuration (endpoint, region,
 * addressing, bucket, prefix, access key id, whether a secret/token is set; never the secret).
 * ES_INVALID when s is not an S3 store. */
es_status es_objstore_s3_describe(es_objstore *s, char *buf, size_t cap);

/** HTTP attempts sent and new TCP connections opened by an S3 store since open (connection
 * reuse: connects stays far below http_requests). ES_INVALID when s is not an S3 store. */
es_status es_objstore_s3_counters(es_objstore *s, int64_t *http_requests, int64_t *connects);
/** Number of multipart uploads in progress under the store's prefix (ListMultipartUploads,
 * first page): failed multipart puts must leave none. */
es_status es_objstore_s3_pending_uploads(es_objstore *s, int64_t *n, es_error *err);

#endif /* ES_OBJSTORE_S3_H */
