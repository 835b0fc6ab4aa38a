/*
 * s3_internal (internal to the S3 backend of the objstore layer): what the files of the backend
 * share. The dispatch layer sees only es_objstore_s3_open (objstore.h); the tests see s3.h.
 *
 *   s3.c         the backend's operations (the es_objstore_vtable: get, get_many, head, put with
 *                multipart uploads, list, delete), open and close, the put-if-absent probe
 *   s3_http.c    one HTTP exchange and batches of them: libcurl (loaded with dlopen), the pool
 *                of multi handles, signing (sigv4.c), retries inside a batch, error messages
 *   s3_config.c  configuration from the environment and the ~/.aws files
 *   s3_xml.c     the little XML S3 speaks: ListObjectsV2 pages, error documents, escaping
 */
#ifndef ES_OBJSTORE_S3_INTERNAL_H
#define ES_OBJSTORE_S3_INTERNAL_H

/* Calls go through a table of pointers (s3_http.c), which the type-checking macros of
 * curl/typecheck-gcc.h cannot wrap. */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <pthread.h>

#include "objstore/s3.h"
#include "objstore/sigv4.h"
#include "util/util.h"

#define POOL_MAX 32
#define MAX_HDRS 12
#define MAX_QUERY 6

/* An open S3 store: its configuration (resolved once at open by es_objstore_s3_configure), its
 * counters and its pool of curl multi handles. */
typedef struct es_s3_store {
    es_objstore base;
    char *bucket;
    char *prefix;   /* "" or "dir/sub/" */
    char *url_base; /* "http://127.0.0.1:7480" or "https://bucket.s3.eu-west-1.amazonaws.com" */
    char *host;     /* value of the Host header (the authority of url_base) */
    char *endpoint; /* as configured, for describe */
    int path_style;
    char region[64];
    char *access_key, *secret, *token;
    char *ca_bundle;
    int insecure;
    int quote_etag; /* send If-Match as "etag" (RFC 7232) instead of etag (RGW's form) */
    size_t mp_threshold, part_size;
    int max_inflight;
    long connect_timeout_ms; /* TCP and TLS handshake (libcurl's CONNECTTIMEOUT) */
    long read_timeout_s; /* no byte sent or received for this long (libcurl's low-speed check) */
    long timeout_ms;     /* whole attempt, 0: none */
    char cred_hint[320]; /* "" when credentials were found, else what was looked at */
    int cas_probed;      /* atomic: cas_supported is known (S4) */
    pthread_mutex_t probe_lock;
    int64_t http_requests, connects; /* atomic: attempts sent, new connections opened */
    pthread_mutex_t lock;
    CURLM *pool[POOL_MAX];
    int npool;
} es_s3_store;

/* Which limit ended an attempt (es_s3_req.timeout). */
enum { S3_TIMEOUT_NONE = 0, S3_TIMEOUT_CONNECT, S3_TIMEOUT_READ, S3_TIMEOUT_TOTAL };

/* One HTTP request: what to send, what came back, and its scheduling state in a batch. */
typedef struct es_s3_req {
    /* Input. */
    const char *method;
    char *path;      /* decoded, "/bucket/prefix/key" (path style) or "/prefix/key" */
    const char *key; /* for messages (key relative to the store, or "" for the bucket) */
    es_sigv4_kv query[MAX_QUERY];
    int nquery;
    es_sigv4_kv hdr[MAX_HDRS]; /* extra signed headers */
    int nhdr;
    const uint8_t *body;
    size_t body_len;
    int has_body; /* PUT/POST with a body (possibly empty) */
    int nobody;   /* HEAD */
    char range[64];
    char if_match[ES_ETAG_MAX + 4];
    char md5[25];
    /* Output. */
    int curl_code;
    long status;
    int nomem;
    es_buf resp;
    char etag[ES_ETAG_MAX];
    int64_t content_length; /* -1: none */
    int64_t total_size;     /* from Content-Range, -1: none */
    char s3_code[64];
    char s3_msg[200]; /* <Message> of the error document, one line, "" when none */
    int timeout;      /* S3_TIMEOUT_*: which limit ended the attempt */
    int silent;       /* nothing of a response came back */
    int give_up;      /* a fresh connection stayed silent: not worth retrying */
    char errbuf[CURL_ERROR_SIZE];
    /* Scheduling. */
    int attempts;
    int state; /* 0 waiting, 1 running, 2 done */
    int64_t ready_at;
    CURL *easy;
    struct curl_slist *slist;
} es_s3_req;

/* ------------------------------------------------------------ s3_config.c */

/* The value of environment variable `name`, or NULL when unset or empty. */
const char *es_objstore_s3_env(const char *name);

/* Resolve everything but the bucket and prefix (which must be set) from the environment and
 * the ~/.aws files. ES_INVALID with a message naming the store, or ES_NOMEM without one. */
es_status es_objstore_s3_configure(es_s3_store *s, es_error *err);

/* --------------------------------------------------------------- s3_xml.c */

/* Find <tag>...</tag> in [p, end): content span in *cs, *ce; *next after the closing tag.
 * Accepts attributes on the opening tag; an empty element <tag/> has empty content. Returns 1
 * when found. */
int es_objstore_s3_xml_find(const char *p, const char *end, const char *tag, const char **cs,
                            const char **ce, const char **next);

/* Append s to b with XML's special characters escaped; on failure *st is set (and stays). */
void es_objstore_s3_xml_escape(es_buf *b, const char *s, es_status *st);

/* Copy src into dst (cap > 0 bytes, truncated) without surrounding double quotes (ETags). */
void es_objstore_s3_strip_quotes(char *dst, size_t cap, const char *src);

/* -------------------------------------------------------------- s3_http.c */

/* Load libcurl and libcrypto (once per process). ES_UNSUPPORTED "<uri>: cannot load ...". */
es_status es_objstore_s3_load(const char *uri, es_error *err);

/* Clean up the store's pooled multi handles (at close). */
void es_objstore_s3_pool_free(es_s3_store *s);

/* A fresh request for key (NULL or "" names the bucket in messages). */
void es_objstore_s3_req_init(es_s3_req *r, const char *method, const char *key);
/* Free what a request owns (its path and response); it can be initialised again. */
void es_objstore_s3_req_free(es_s3_req *r);
/* Set the request path for an object key (relative to the store prefix), or for the bucket
 * itself when key is NULL. ES_NOMEM. */
es_status es_objstore_s3_req_path(es_s3_store *s, es_s3_req *r, const char *key);
/* Add a query parameter or an extra signed header (borrowed: they must outlive the request). */
void es_objstore_s3_req_query(es_s3_req *r, const char *name, const char *value);
void es_objstore_s3_req_header(es_s3_req *r, const char *name, const char *value);

/* Run a batch of requests to completion on one multi handle, at most s->max_inflight at once,
 * each tried up to max_attempts times (retryable failures only, with the dispatch layer's
 * backoff). Returns ES_NOMEM or ES_INTERNAL when the batch itself could not run; per-request
 * results are in each request. */
es_status es_objstore_s3_run_batch(es_s3_store *s, es_s3_req **reqs, int n, int max_attempts);
/* es_objstore_s3_run_batch of one request. */
es_status es_objstore_s3_run_one(es_s3_store *s, es_s3_req *r, int max_attempts);
/* The dispatch layer's number of attempts (es_objstore_get_retry). */
int es_objstore_s3_policy_attempts(void);

/* The status of a finished request, with a message naming the object and `what` was done
 * (never credentials). */
es_status es_objstore_s3_req_error(es_s3_store *s, const es_s3_req *r, const char *what,
                                   es_error *err);

#endif /* ES_OBJSTORE_S3_INTERNAL_H */
