/*
 * objstore_s3: the S3 backend of the object store layer (objstore dispatch -> this file ->
 * libcurl). It speaks the S3 REST API to AWS or any S3-compatible server (Ceph RADOS Gateway,
 * MinIO, s3rver), signing every request with AWS Signature Version 4 (sigv4.c).
 *
 * Configuration (resolved once at open; later changes to the environment are not seen):
 *   URI             s3://bucket[/prefix]  (keys are stored as prefix/key)
 *   credentials     AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, else the
 *                   profile AWS_PROFILE (default "default") of AWS_SHARED_CREDENTIALS_FILE
 *                   (~/.aws/credentials) and AWS_CONFIG_FILE (~/.aws/config); none: unsigned
 *   region          AWS_REGION, AWS_DEFAULT_REGION, the profile's region, else us-east-1
 *   endpoint        AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile's endpoint_url, else
 *                   https://s3.<region>.amazonaws.com
 *   addressing      ES_S3_ADDRESSING or AWS_S3_ADDRESSING_STYLE (or the profile's
 *                   addressing_style) = path | virtual | auto; auto: virtual-hosted for the AWS
 *                   endpoint (path-style when the bucket name has a dot), path-style for custom
 *                   endpoints
 *   TLS             peer verification always on, AWS_CA_BUNDLE for a private CA;
 *                   ES_S3_INSECURE=1 turns verification off (tests against self-signed servers)
 *   multipart       ES_S3_MULTIPART_THRESHOLD (bytes, default 16 MiB), ES_S3_PART_SIZE (default
 *                   8 MiB, at least 5 MiB on real servers)
 *   concurrency     ES_S3_MAX_INFLIGHT requests at once in one batch (default 64)
 *   timeouts        ES_S3_CONNECT_TIMEOUT_MS (default 3000), ES_S3_STALL_TIMEOUT_S (no byte
 *                   for that long aborts a transfer; default 10), ES_S3_TIMEOUT_MS (whole
 *                   request, default 0 = none)
 *   conditional     ES_S3_CAS = probe (default) | on | off: whether put-if-absent is honoured;
 *                   If-Match carries the bare ETag (RGW answers 412 to the quoted form even
 *                   when it matches; AWS takes both), ES_S3_QUOTE_ETAG=1 quotes it
 *
 * Requests and retries. Every operation is a batch of HTTP requests run on a curl multi handle
 * taken from a small pool (the pool keeps the connections of earlier calls alive, so requests
 * reuse kept-alive connections; a batch runs up to ES_S3_MAX_INFLIGHT requests at once, so a
 * get_many of N ranges costs about one round trip). The dispatch layer (objstore.c) retries
 * whole operations that return ES_TRANSIENT and disambiguates conditional puts after an
 * ambiguous failure (its invariant I3); so the single-request operations here make exactly
 * one attempt. Requests inside a batch that the dispatch layer cannot see (the ranges of
 * get_many, the parts of a multipart upload, the open-time probe) are retried here with the
 * dispatch layer's policy (es_objstore_get_retry): same attempts, same capped exponential
 * backoff with jitter, same classification (es_objstore_s3_retryable).
 *
 * Invariants:
 *   S1. Credentials never reach a message: errors name the object and carry the HTTP status
 *       and the S3 error code only; the secret is used only as an HMAC key (sigv4.c).
 *   S2. Conditional puts (IF_ABSENT, IF_MATCH) are single PUT requests, never multipart: RGW
 *       ignores If-None-Match on CompleteMultipartUpload.
 *   S3. A failed multipart upload is aborted (best effort), so no parts linger.
 *   S4. cas_supported is 1 only when the open-time probe saw the server refuse a second
 *       If-None-Match: * PUT of the same key with 412 (or ES_S3_CAS=on).
 *
 * Status mapping: 2xx ES_OK; 404 ES_NOT_FOUND; 412 ES_EXISTS; 5xx, 429, SlowDown, timeouts,
 * resets and refused connections ES_TRANSIENT; 416 ES_INVALID; other answers ES_REMOTE with
 * "s3://bucket/key: 403 SignatureDoesNotMatch" (HTTP status in sys_code).
 *
 * Loading libcurl. The library does not link libcurl: its ~40 dependencies (GSSAPI, LDAP,
 * SSH, HTTP/2, ...) would cost every program about 15 ms in the dynamic loader, S3 or not.
 * The first s3:// open loads libcurl.so.4 with es_os_load_library (once, under pthread_once)
 * and resolves the functions listed in CURL_FUNCS into the table `curl`; every call goes through
 * it (curl.easy_init() for curl_easy_init()). The header still provides the types and
 * constants. If loading fails, every s3:// open fails with ES_UNSUPPORTED,
 * "s3://bucket: cannot load libcurl.so.4: <dlerror>". libcurl is never unloaded.
 */
#include "objstore/s3.h"

/* Calls go through a table of pointers, which the type-checking macros of
 * curl/typecheck-gcc.h cannot wrap. */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

#include "os/os.h"
#include "objstore/sigv4.h"
#include "util/util.h"

#define POOL_MAX 32
#define MAX_HDRS 12
#define MAX_QUERY 6

/* ------------------------------------------------------------------ store */

typedef struct s3_store {
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
    long connect_timeout_ms, stall_s, timeout_ms;
    int64_t http_requests, connects; /* atomic: attempts sent, new connections opened */
    pthread_mutex_t lock;
    CURLM *pool[POOL_MAX];
    int npool;
} s3_store;

static const es_objstore_vtable s3_vtable;

/* ---------------------------------------------------------------- requests */

typedef struct s3_req {
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
    char errbuf[CURL_ERROR_SIZE];
    /* Scheduling. */
    int attempts;
    int state; /* 0 waiting, 1 running, 2 done */
    int64_t ready_at;
    CURL *easy;
    struct curl_slist *slist;
} s3_req;

/* The libcurl functions this file calls, without their curl_ prefix. */
#define CURL_FUNCS(X)                                                                              \
    X(global_init)                                                                                 \
    X(easy_init)                                                                                   \
    X(easy_setopt)                                                                                 \
    X(easy_getinfo)                                                                                \
    X(easy_strerror)                                                                               \
    X(easy_cleanup)                                                                                \
    X(slist_append)                                                                                \
    X(slist_free_all)                                                                              \
    X(multi_init)                                                                                  \
    X(multi_setopt)                                                                                \
    X(multi_add_handle)                                                                            \
    X(multi_remove_handle)                                                                         \
    X(multi_perform)                                                                               \
    X(multi_poll)                                                                                  \
    X(multi_info_read)                                                                             \
    X(multi_cleanup)

/* Filled by curl_init; usable once pthread_once(&curl_once, curl_init) left
 * curl_load_err.code ES_OK. */
static struct {
#define CURL_FIELD(f) __typeof__(curl_##f) *f;
    CURL_FUNCS(CURL_FIELD)
#undef CURL_FIELD
} curl;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static es_error curl_load_err; /* code ES_OK: libcurl loaded and initialised */

static void curl_init(void)
{
#define CURL_SLOT(f) {"curl_" #f, &curl.f},
    const es_os_sym syms[] = {CURL_FUNCS(CURL_SLOT)};
#undef CURL_SLOT
    if (es_os_load_library("libcurl.so.4", syms, sizeof syms / sizeof syms[0], &curl_load_err))
        return;
    if (curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        es_error_set(&curl_load_err, ES_UNSUPPORTED, 0, "curl_global_init failed");
}

/* ------------------------------------------------------- classification */

int es_objstore_s3_retryable(int curl_code, long http_status, const char *s3_code)
{
    if (curl_code != CURLE_OK) {
        switch ((CURLcode)curl_code) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_CONNECT:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
        case CURLE_SSL_CONNECT_ERROR:
            return 1;
        default:
            return 0;
        }
    }
    if (http_status >= 500 || http_status == 429)
        return 1;
    if (s3_code &&
        (!strcmp(s3_code, "SlowDown") || !strcmp(s3_code, "RequestTimeout") ||
         !strcmp(s3_code, "InternalError") || !strcmp(s3_code, "ConditionalRequestConflict")))
        return 1;
    return 0;
}

es_status es_objstore_s3_status(int curl_code, long http_status, const char *s3_code)
{
    if (curl_code == CURLE_OK && http_status >= 200 && http_status < 300)
        return ES_OK;
    if (es_objstore_s3_retryable(curl_code, http_status, s3_code))
        return ES_TRANSIENT;
    if (curl_code != CURLE_OK)
        return ES_REMOTE;
    if (http_status == 404)
        return ES_NOT_FOUND;
    if (http_status == 412)
        return ES_EXISTS;
    if (http_status == 416)
        return ES_INVALID;
    return ES_REMOTE;
}

int64_t es_objstore_s3_backoff_ns(const es_retry_policy *p, int attempt, uint64_t rnd)
{
    int64_t d = p->base_delay_ns, cap = p->max_delay_ns;
    for (int i = 1; i < attempt && d < cap; i++)
        d *= 2;
    if (d > cap)
        d = cap;
    if (d <= 0)
        return 0;
    int64_t half = d / 2;
    return half + (int64_t)(rnd % (uint64_t)(d - half + 1));
}

/* ------------------------------------------------------------ XML (minimal) */

/* Find <tag>...</tag> in [p, end): content span in *cs, *ce; *next after the closing tag.
 * Accepts attributes on the opening tag; an empty element <tag/> has empty content. */
static int xml_find(const char *p, const char *end, const char *tag, const char **cs,
                    const char **ce, const char **next)
{
    size_t tl = strlen(tag);
    while (p < end) {
        const char *lt = memchr(p, '<', (size_t)(end - p));
        if (!lt || (size_t)(end - lt) < tl + 2)
            return 0;
        if (memcmp(lt + 1, tag, tl) == 0) {
            const char *q = lt + 1 + tl;
            if (*q == '/' && q + 1 < end && q[1] == '>') {
                *cs = *ce = q;
                *next = q + 2;
                return 1;
            }
            if (*q == '>' || *q == ' ') {
                const char *gt = memchr(q, '>', (size_t)(end - q));
                if (!gt)
                    return 0;
                if (gt[-1] == '/') {
                    *cs = *ce = gt;
                    *next = gt + 1;
                    return 1;
                }
                const char *c = gt + 1;
                /* The closing tag. */
                for (const char *r = c; r < end;) {
                    const char *l2 = memchr(r, '<', (size_t)(end - r));
                    if (!l2 || (size_t)(end - l2) < tl + 3)
                        return 0;
                    if (l2[1] == '/' && memcmp(l2 + 2, tag, tl) == 0 && l2[2 + tl] == '>') {
                        *cs = c;
                        *ce = l2;
                        *next = l2 + 3 + tl;
                        return 1;
                    }
                    r = l2 + 1;
                }
                return 0;
            }
        }
        p = lt + 1;
    }
    return 0;
}

/* Decode the XML text [s, e) (entities &amp; &lt; &gt; &quot; &apos; &#N; &#xN;) into out
 * (cap > 0 bytes). Returns 0 when it does not fit or is malformed (a NUL byte, an unknown or
 * non-ASCII entity); out is then "", never left unterminated: callers use it as a string (the
 * S3 error code, the continuation token). */
static int xml_decode(char *out, size_t cap, const char *s, const char *e)
{
    size_t j = 0;
    while (s < e) {
        char c = *s;
        if (c == '&') {
            const char *semi = memchr(s, ';', (size_t)(e - s));
            if (!semi || semi - s > 10)
                goto fail;
            size_t n = (size_t)(semi - s - 1);
            const char *name = s + 1;
            if (n == 3 && !memcmp(name, "amp", 3))
                c = '&';
            else if (n == 2 && !memcmp(name, "lt", 2))
                c = '<';
            else if (n == 2 && !memcmp(name, "gt", 2))
                c = '>';
            else if (n == 4 && !memcmp(name, "quot", 4))
                c = '"';
            else if (n == 4 && !memcmp(name, "apos", 4))
                c = '\'';
            else if (n >= 2 && name[0] == '#') {
                char num[12];
                memcpy(num, name + 1, n - 1);
                num[n - 1] = 0;
                char *endp;
                long v = (num[0] == 'x') ? strtol(num + 1, &endp, 16) : strtol(num, &endp, 10);
                if (*endp || v <= 0 || v > 127)
                    goto fail; /* S3 keys here are ASCII */
                c = (char)v;
            } else {
                goto fail;
            }
            s = semi + 1;
        } else if (c == 0) {
            goto fail; /* not allowed in XML; would silently cut a key or token short */
        } else {
            s++;
        }
        if (j + 1 >= cap)
            goto fail;
        out[j++] = c;
    }
    out[j] = 0;
    return 1;
fail:
    if (cap)
        out[0] = 0;
    return 0;
}

int es_objstore_s3_xml_text(char *out, size_t cap, const char *xml, size_t n, const char *tag)
{
    const char *cs, *ce, *next;
    if (cap == 0)
        return 0;
    out[0] = 0;
    if (!xml || !xml_find(xml, xml + n, tag, &cs, &ce, &next))
        return 0;
    return xml_decode(out, cap, cs, ce);
}

static void strip_quotes(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= 2 && src[0] == '"' && src[n - 1] == '"') {
        src++;
        n -= 2;
    }
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

es_status es_objstore_s3_parse_list(es_obj_list *out, int *truncated, char *next_token, size_t cap,
                                    const char *xml, size_t n, const char *strip, es_error *err)
{
    const char *end = xml + n, *p = xml, *cs, *ce, *next;
    size_t sl = strlen(strip);
    char tmp[ES_ETAG_MAX + 8];
    es_status st = ES_OK;
    char *key = es_malloc(2048);
    if (!key)
        return es_error_set(err, ES_NOMEM, 0, "list: out of memory");
    *truncated = 0;
    if (next_token && cap)
        next_token[0] = 0;
    if (!xml_find(xml, end, "ListBucketResult", &cs, &ce, &next)) {
        st = es_error_set(err, ES_CORRUPT, 0, "list: response is not a ListBucketResult");
        goto done;
    }
    end = ce;
    p = cs;
    while (xml_find(p, end, "Contents", &cs, &ce, &next)) {
        const char *ks, *ke, *nx;
        p = next;
        if (!xml_find(cs, ce, "Key", &ks, &ke, &nx) || !xml_decode(key, 2048, ks, ke)) {
            st = es_error_set(err, ES_CORRUPT, 0, "list: entry without a valid <Key>");
            goto done;
        }
        if (strncmp(key, strip, sl) != 0)
            continue;
        uint64_t size = 0;
        if (xml_find(cs, ce, "Size", &ks, &ke, &nx)) {
            char num[32], *endp = NULL;
            if (xml_decode(num, sizeof num, ks, ke) && num[0] >= '0' && num[0] <= '9')
                size = strtoull(num, &endp, 10);
            if (!endp || *endp) {
                st = es_error_set(err, ES_CORRUPT, 0, "list: bad <Size> for %s", key);
                goto done;
            }
        }
        /* Capacity is the smallest power of two >= n: grow when n is a power of two. */
        if ((out->n & (out->n - 1)) == 0) {
            size_t want = out->n ? (size_t)out->n * 2 : 1;
            es_obj_info *items = es_realloc(out->items, want * sizeof *items);
            if (!items) {
                st = es_error_set(err, ES_NOMEM, 0, "list: out of memory");
                goto done;
            }
            out->items = items;
        }
        es_obj_info *it = &out->items[out->n];
        memset(it, 0, sizeof *it);
        if (!(it->key = es_strdup(key + sl))) {
            st = es_error_set(err, ES_NOMEM, 0, "list: out of memory");
            goto done;
        }
        it->size = size;
        if (xml_find(cs, ce, "ETag", &ks, &ke, &nx) && xml_decode(tmp, sizeof tmp, ks, ke))
            strip_quotes(it->etag, sizeof it->etag, tmp);
        out->n++;
    }
    if (xml_find(xml, xml + n, "IsTruncated", &cs, &ce, &next))
        *truncated = (ce - cs == 4 && !memcmp(cs, "true", 4));
    if (next_token && cap && xml_find(xml, xml + n, "NextContinuationToken", &cs, &ce, &next) &&
        !xml_decode(next_token, cap, cs, ce))
        st = es_error_set(err, ES_CORRUPT, 0, "list: continuation token too long");
done:
    es_free(key);
    return st;
}

/* ------------------------------------------------------------ configuration */

/* Look key up in section of an INI file (~/.aws style). Indented "key = value" lines of a
 * nested block (s3 =\n  addressing_style = path) count as keys of the section. */
static int ini_get(const char *path, const char *section, const char *key, char *out, size_t cap)
{
    FILE *f = path ? fopen(path, "r") : NULL;
    char line[1024];
    int in = 0, found = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f)) {
        char *s = line, *e;
        while (*s == ' ' || *s == '\t')
            s++;
        e = s + strlen(s);
        while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
            *--e = 0;
        if (*s == '#' || *s == ';' || !*s)
            continue;
        if (*s == '[') {
            char *r = strchr(s, ']');
            if (!r)
                continue;
            *r = 0;
            s++;
            while (*s == ' ')
                s++;
            e = s + strlen(s);
            while (e > s && e[-1] == ' ')
                *--e = 0;
            in = strcmp(s, section) == 0;
            continue;
        }
        if (!in)
            continue;
        char *eq = strchr(s, '=');
        if (!eq)
            continue;
        char *k = s, *ke = eq;
        while (ke > k && (ke[-1] == ' ' || ke[-1] == '\t'))
            ke--;
        *ke = 0;
        char *v = eq + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        if (strcmp(k, key) == 0 && *v) {
            snprintf(out, cap, "%s", v);
            found = 1;
            break;
        }
    }
    fclose(f);
    return found;
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static long env_long(const char *name, long dflt)
{
    const char *v = env(name);
    if (!v)
        return dflt;
    char *endp;
    long long x = strtoll(v, &endp, 10);
    if (*endp == 'k' || *endp == 'K')
        x *= 1024, endp++;
    else if (*endp == 'm' || *endp == 'M')
        x *= 1024 * 1024, endp++;
    return (*endp || x < 0) ? dflt : (long)x;
}

typedef struct s3_files {
    char cred[1024], conf[1024];
    char profile[128];
    char conf_section[160];
} s3_files;

static void files_init(s3_files *f)
{
    const char *home = env("HOME");
    const char *p = env("AWS_PROFILE");
    snprintf(f->profile, sizeof f->profile, "%s", p ? p : "default");
    if (env("AWS_SHARED_CREDENTIALS_FILE"))
        snprintf(f->cred, sizeof f->cred, "%s", env("AWS_SHARED_CREDENTIALS_FILE"));
    else if (home)
        snprintf(f->cred, sizeof f->cred, "%s/.aws/credentials", home);
    else
        f->cred[0] = 0;
    if (env("AWS_CONFIG_FILE"))
        snprintf(f->conf, sizeof f->conf, "%s", env("AWS_CONFIG_FILE"));
    else if (home)
        snprintf(f->conf, sizeof f->conf, "%s/.aws/config", home);
    else
        f->conf[0] = 0;
    if (strcmp(f->profile, "default") == 0)
        snprintf(f->conf_section, sizeof f->conf_section, "default");
    else
        snprintf(f->conf_section, sizeof f->conf_section, "profile %s", f->profile);
}

/* A setting from the config file's profile section (or the credentials file for keys). */
static int profile_get(const s3_files *f, const char *key, char *out, size_t cap)
{
    if (f->cred[0] && ini_get(f->cred, f->profile, key, out, cap))
        return 1;
    if (f->conf[0] && ini_get(f->conf, f->conf_section, key, out, cap))
        return 1;
    return 0;
}

static char *dup_or_null(const char *s)
{
    return s ? es_strdup(s) : NULL;
}

/* Resolve everything but the bucket and prefix. */
static es_status configure(s3_store *s, es_error *err)
{
    s3_files f;
    char buf[1024], endpoint[1024], style[32];
    files_init(&f);

    /* Credentials: the environment as a set, else the profile. */
    if (env("AWS_ACCESS_KEY_ID") && env("AWS_SECRET_ACCESS_KEY")) {
        s->access_key = es_strdup(env("AWS_ACCESS_KEY_ID"));
        s->secret = es_strdup(env("AWS_SECRET_ACCESS_KEY"));
        s->token = dup_or_null(env("AWS_SESSION_TOKEN"));
        if (!s->access_key || !s->secret || (env("AWS_SESSION_TOKEN") && !s->token))
            return ES_NOMEM;
    } else {
        if (profile_get(&f, "aws_access_key_id", buf, sizeof buf) &&
            !(s->access_key = es_strdup(buf)))
            return ES_NOMEM;
        if (profile_get(&f, "aws_secret_access_key", buf, sizeof buf) &&
            !(s->secret = es_strdup(buf)))
            return ES_NOMEM;
        if (profile_get(&f, "aws_session_token", buf, sizeof buf) && !(s->token = es_strdup(buf)))
            return ES_NOMEM;
        memset(buf, 0, sizeof buf); /* it held the secret */
        if (env("AWS_PROFILE") && !s->access_key)
            return es_error_set(err, ES_INVALID, 0,
                                "%s: profile \"%s\" has no aws_access_key_id (in %s)", s->base.uri,
                                f.profile, f.cred[0] ? f.cred : "~/.aws/credentials");
        if ((s->access_key != NULL) != (s->secret != NULL))
            return es_error_set(err, ES_INVALID, 0,
                                "%s: profile \"%s\" has an access key id without a secret or "
                                "the reverse",
                                s->base.uri, f.profile);
    }

    /* Region. */
    if (env("AWS_REGION"))
        snprintf(s->region, sizeof s->region, "%s", env("AWS_REGION"));
    else if (env("AWS_DEFAULT_REGION"))
        snprintf(s->region, sizeof s->region, "%s", env("AWS_DEFAULT_REGION"));
    else if (!profile_get(&f, "region", s->region, sizeof s->region))
        snprintf(s->region, sizeof s->region, "us-east-1");

    /* Endpoint and addressing style. */
    int custom = 1;
    if (env("AWS_ENDPOINT_URL_S3"))
        snprintf(endpoint, sizeof endpoint, "%s", env("AWS_ENDPOINT_URL_S3"));
    else if (env("AWS_ENDPOINT_URL"))
        snprintf(endpoint, sizeof endpoint, "%s", env("AWS_ENDPOINT_URL"));
    else if (!profile_get(&f, "endpoint_url", endpoint, sizeof endpoint)) {
        snprintf(endpoint, sizeof endpoint, "https://s3.%s.amazonaws.com", s->region);
        custom = 0;
    }
    size_t el = strlen(endpoint);
    while (el > 0 && endpoint[el - 1] == '/')
        endpoint[--el] = 0;
    if (!(s->endpoint = es_strdup(endpoint)))
        return ES_NOMEM;
    style[0] = 0;
    if (env("ES_S3_ADDRESSING"))
        snprintf(style, sizeof style, "%s", env("ES_S3_ADDRESSING"));
    else if (env("AWS_S3_ADDRESSING_STYLE"))
        snprintf(style, sizeof style, "%s", env("AWS_S3_ADDRESSING_STYLE"));
    else
        profile_get(&f, "addressing_style", style, sizeof style);
    if (!style[0] || !strcmp(style, "auto"))
        s->path_style = custom || strchr(s->bucket, '.') != NULL;
    else if (!strcmp(style, "path"))
        s->path_style = 1;
    else if (!strcmp(style, "virtual"))
        s->path_style = 0;
    else
        return es_error_set(err, ES_INVALID, 0,
                            "%s: addressing style \"%s\" (use path, virtual or auto)", s->base.uri,
                            style);

    const char *scheme_end = strstr(endpoint, "://");
    const char *authority = scheme_end ? scheme_end + 3 : endpoint;
    if (!scheme_end && !(endpoint[0]))
        return es_error_set(err, ES_INVALID, 0, "%s: empty endpoint", s->base.uri);
    if (strchr(authority, '/') || strchr(authority, '?') || !*authority)
        return es_error_set(err, ES_INVALID, 0,
                            "%s: endpoint \"%s\" must be scheme://host[:port] without a path",
                            s->base.uri, endpoint);
    char scheme[16];
    snprintf(scheme, sizeof scheme, "%.*s", scheme_end ? (int)(scheme_end - endpoint) : 5,
             scheme_end ? endpoint : "https");
    if (strcmp(scheme, "http") && strcmp(scheme, "https"))
        return es_error_set(err, ES_INVALID, 0, "%s: endpoint scheme \"%s\" (use http or https)",
                            s->base.uri, scheme);
    es_buf h = {0}, u = {0};
    es_status st;
    if (s->path_style)
        st = es_buf_printf(&h, "%s", authority);
    else
        st = es_buf_printf(&h, "%s.%s", s->bucket, authority);
    if (!st)
        st = es_buf_printf(&u, "%s://%s", scheme, (char *)h.data);
    if (st) {
        es_buf_reset(&h);
        es_buf_reset(&u);
        return ES_NOMEM;
    }
    s->host = (char *)h.data;
    s->url_base = (char *)u.data;

    if (env("AWS_CA_BUNDLE") && !(s->ca_bundle = es_strdup(env("AWS_CA_BUNDLE"))))
        return ES_NOMEM;
    s->insecure = env_long("ES_S3_INSECURE", 0) != 0;
    s->quote_etag = env_long("ES_S3_QUOTE_ETAG", 0) != 0;
    s->mp_threshold = (size_t)env_long("ES_S3_MULTIPART_THRESHOLD", 16L << 20);
    s->part_size = (size_t)env_long("ES_S3_PART_SIZE", 8L << 20);
    if (s->part_size < 1024)
        s->part_size = 1024;
    if (s->mp_threshold < s->part_size)
        s->mp_threshold = s->part_size;
    s->max_inflight = (int)env_long("ES_S3_MAX_INFLIGHT", 64);
    if (s->max_inflight < 1)
        s->max_inflight = 1;
    if (s->max_inflight > 1024)
        s->max_inflight = 1024;
    s->connect_timeout_ms = env_long("ES_S3_CONNECT_TIMEOUT_MS", 3000);
    s->stall_s = env_long("ES_S3_STALL_TIMEOUT_S", 10);
    s->timeout_ms = env_long("ES_S3_TIMEOUT_MS", 0);
    return ES_OK;
}

/* ------------------------------------------------------------- the pool */

static CURLM *pool_take(s3_store *s)
{
    CURLM *m = NULL;
    pthread_mutex_lock(&s->lock);
    if (s->npool > 0)
        m = s->pool[--s->npool];
    pthread_mutex_unlock(&s->lock);
    if (!m) {
        m = curl.multi_init();
        if (m)
            curl.multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)s->max_inflight);
    }
    return m;
}

static void pool_give(s3_store *s, CURLM *m)
{
    pthread_mutex_lock(&s->lock);
    if (s->npool < POOL_MAX) {
        s->pool[s->npool++] = m;
        m = NULL;
    }
    pthread_mutex_unlock(&s->lock);
    if (m)
        curl.multi_cleanup(m);
}

/* ------------------------------------------------------------ one request */

static void req_init(s3_req *r, const char *method, const char *key)
{
    memset(r, 0, sizeof *r);
    r->method = method;
    r->key = key ? key : "";
    r->content_length = -1;
    r->total_size = -1;
}

static void req_free(s3_req *r)
{
    es_free(r->path);
    r->path = NULL;
    es_buf_reset(&r->resp);
}

/* Set the request path for an object key (relative to the store prefix), or for the bucket
 * itself when key is NULL. */
static es_status req_path(s3_store *s, s3_req *r, const char *key)
{
    es_buf b = {0};
    es_status st;
    if (s->path_style)
        st = es_buf_printf(&b, "/%s%s%s%s", s->bucket, key ? "/" : "", key ? s->prefix : "",
                           key ? key : "");
    else
        st = es_buf_printf(&b, "/%s%s", key ? s->prefix : "", key ? key : "");
    if (st)
        return ES_NOMEM;
    es_free(r->path);
    r->path = (char *)b.data;
    return ES_OK;
}

static void req_query(s3_req *r, const char *name, const char *value)
{
    if (r->nquery < MAX_QUERY) {
        r->query[r->nquery].name = name;
        r->query[r->nquery++].value = value;
    }
}

static void req_header(s3_req *r, const char *name, const char *value)
{
    if (r->nhdr < MAX_HDRS) {
        r->hdr[r->nhdr].name = name;
        r->hdr[r->nhdr++].value = value;
    }
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    s3_req *r = ud;
    size_t len = size * n;
    /* Reserve the announced size once (at most 256 MiB: a larger or lying Content-Length only
     * grows the buffer as bytes arrive; curl checks the final length). */
    if (r->resp.len == 0 && r->content_length > 0 && r->resp.cap == 0 &&
        r->content_length <= ((int64_t)256 << 20) &&
        es_buf_reserve(&r->resp, (size_t)r->content_length + 1) != ES_OK) {
        r->nomem = 1;
        return 0;
    }
    if (es_buf_append(&r->resp, p, len) != ES_OK) {
        r->nomem = 1;
        return 0;
    }
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    s3_req *r = ud;
    size_t len = size * n, vl;
    char v[256];
    const char *colon = memchr(p, ':', len);
    if (!colon)
        return len;
    size_t nl = (size_t)(colon - p);
    const char *vs = colon + 1, *ve = p + len;
    while (vs < ve && (*vs == ' ' || *vs == '\t'))
        vs++;
    while (ve > vs && (ve[-1] == '\r' || ve[-1] == '\n' || ve[-1] == ' '))
        ve--;
    vl = (size_t)(ve - vs);
    if (vl >= sizeof v)
        return len;
    memcpy(v, vs, vl);
    v[vl] = 0;
    if (nl == 4 && !strncasecmp(p, "etag", 4)) {
        strip_quotes(r->etag, sizeof r->etag, v);
    } else if (nl == 14 && !strncasecmp(p, "content-length", 14)) {
        char *endp;
        unsigned long long x = strtoull(v, &endp, 10);
        if (!*endp && vl)
            r->content_length = (int64_t)x;
    } else if (nl == 13 && !strncasecmp(p, "content-range", 13)) {
        const char *slash = strrchr(v, '/');
        if (slash && slash[1] != '*') {
            char *endp;
            unsigned long long x = strtoull(slash + 1, &endp, 10);
            if (!*endp)
                r->total_size = (int64_t)x;
        }
    }
    return len;
}

static void amz_now(char out[17])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

/* Build the easy handle of r (signing with the current time). */
static es_status req_start(s3_store *s, s3_req *r)
{
    es_buf url = {0}, auth = {0}, q = {0}, line = {0};
    es_sigv4_kv h[MAX_HDRS + 6];
    int nh = 0;
    char date[17], payload[65];
    es_status st = ES_OK;

    es_buf_reset(&r->resp);
    r->etag[0] = 0;
    r->s3_code[0] = 0;
    r->errbuf[0] = 0;
    r->content_length = r->total_size = -1;
    r->status = 0;
    r->curl_code = 0;
    r->nomem = 0;

    amz_now(date);
    if (r->has_body)
        es_sigv4_sha256_hex(payload, r->body_len ? (const void *)r->body : "", r->body_len);
    else
        memcpy(payload, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 65);
    h[nh++] = (es_sigv4_kv){"Host", s->host};
    h[nh++] = (es_sigv4_kv){"x-amz-date", date};
    h[nh++] = (es_sigv4_kv){"x-amz-content-sha256", payload};
    if (s->token)
        h[nh++] = (es_sigv4_kv){"x-amz-security-token", s->token};
    int has_type = 0;
    for (int i = 0; i < r->nhdr; i++)
        has_type |= !strcasecmp(r->hdr[i].name, "Content-Type");
    if (r->has_body && !has_type)
        h[nh++] = (es_sigv4_kv){"Content-Type", "application/octet-stream"};
    for (int i = 0; i < r->nhdr; i++)
        h[nh++] = r->hdr[i];

    if ((st = es_sigv4_canonical_query(&q, r->query, r->nquery)) ||
        (st = es_buf_append(&q, "", 1)) || (st = es_buf_printf(&url, "%s", s->url_base)) ||
        (st = es_sigv4_uri_encode(&url, r->path, strlen(r->path), 1)) ||
        (st = es_buf_printf(&url, "%s%s", r->nquery ? "?" : "", (char *)q.data)))
        goto out;
    if (s->access_key && s->secret) {
        es_sigv4_req sr = {r->method, r->path, r->query, r->nquery, h, nh, payload};
        if ((st = es_sigv4_sign(&auth, &sr, s->access_key, s->secret, date, s->region, "s3")))
            goto out;
    }

    CURL *e = curl.easy_init();
    if (!e) {
        st = ES_NOMEM;
        goto out;
    }
    r->easy = e;
    struct curl_slist *sl = NULL, *t;
    for (int i = 0; i < nh; i++) {
        line.len = 0;
        if ((st = es_buf_printf(&line, "%s: %s", h[i].name, h[i].value)))
            goto out;
        if (!(t = curl.slist_append(sl, (char *)line.data))) {
            st = ES_NOMEM;
            goto out;
        }
        sl = t;
    }
    if (auth.len) {
        line.len = 0;
        if ((st = es_buf_printf(&line, "Authorization: %s", (char *)auth.data)) ||
            !(t = curl.slist_append(sl, (char *)line.data))) {
            st = st ? st : ES_NOMEM;
            goto out;
        }
        sl = t;
    }
    /* No "Expect: 100-continue" round trip, no Accept. */
    if (!(t = curl.slist_append(sl, "Expect:")) ||
        !(sl = t, t = curl.slist_append(sl, "Accept:"))) {
        st = ES_NOMEM;
        goto out;
    }
    sl = t;
    r->slist = sl;

    curl.easy_setopt(e, CURLOPT_URL, (char *)url.data);
    curl.easy_setopt(e, CURLOPT_HTTPHEADER, sl);
    curl.easy_setopt(e, CURLOPT_PRIVATE, r);
    curl.easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl.easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
    curl.easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl.easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl.easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl.easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl.easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, s->connect_timeout_ms);
    curl.easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl.easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    if (s->stall_s > 0) {
        curl.easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl.easy_setopt(e, CURLOPT_LOW_SPEED_TIME, s->stall_s);
    }
    if (s->timeout_ms > 0)
        curl.easy_setopt(e, CURLOPT_TIMEOUT_MS, s->timeout_ms);
    curl.easy_setopt(e, CURLOPT_SSL_VERIFYPEER, s->insecure ? 0L : 1L);
    curl.easy_setopt(e, CURLOPT_SSL_VERIFYHOST, s->insecure ? 0L : 2L);
    if (s->ca_bundle)
        curl.easy_setopt(e, CURLOPT_CAINFO, s->ca_bundle);
    curl.easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (r->nobody) {
        curl.easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (r->has_body) {
        curl.easy_setopt(e, CURLOPT_POST, 1L);
        curl.easy_setopt(e, CURLOPT_POSTFIELDS, r->body_len ? (const char *)r->body : "");
        curl.easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
        if (strcmp(r->method, "POST"))
            curl.easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    } else if (strcmp(r->method, "GET")) {
        curl.easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    }
out:
    es_buf_reset(&url);
    es_buf_reset(&q);
    es_buf_reset(&line);
    if (auth.data)
        memset(auth.data, 0, auth.len);
    es_buf_reset(&auth);
    if (st && r->easy) {
        curl.easy_cleanup(r->easy);
        r->easy = NULL;
        curl.slist_free_all(r->slist);
        r->slist = NULL;
    }
    return st;
}

static void req_finish_transfer(s3_store *s, s3_req *r, CURLcode cc)
{
    long nc = 0;
    r->curl_code = r->nomem ? CURLE_WRITE_ERROR : (int)cc;
    if (curl.easy_getinfo(r->easy, CURLINFO_NUM_CONNECTS, &nc) == CURLE_OK && nc > 0)
        __atomic_add_fetch(&s->connects, (int64_t)nc, __ATOMIC_RELAXED);
    __atomic_add_fetch(&s->http_requests, 1, __ATOMIC_RELAXED);
    curl.easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
    if (cc == CURLE_OK && r->status >= 300 && r->resp.len)
        es_objstore_s3_xml_text(r->s3_code, sizeof r->s3_code, (const char *)r->resp.data,
                                r->resp.len, "Code");
}

/*
 * Run a batch of requests to completion on one multi handle, at most s->max_inflight at once.
 * Each request is tried up to max_attempts times (retryable failures only, with the dispatch
 * layer's backoff). Returns ES_NOMEM when the batch itself could not run; per-request results
 * are in each request.
 */
static es_status run_batch(s3_store *s, s3_req **reqs, int n, int max_attempts)
{
    es_retry_policy pol;
    es_status st = ES_OK;
    int running = 0, remaining = n;
    CURLM *m;
    if (n == 0)
        return ES_OK;
    es_objstore_get_retry(&pol);
    if (max_attempts < 1)
        max_attempts = 1;
    if (!(m = pool_take(s)))
        return ES_NOMEM;
    for (int i = 0; i < n; i++) {
        reqs[i]->state = 0;
        reqs[i]->attempts = 0;
        reqs[i]->ready_at = 0;
    }
    while (remaining > 0) {
        int64_t now = es_now_ns(), wait_ns = INT64_MAX;
        for (int i = 0; i < n && running < s->max_inflight; i++) {
            s3_req *r = reqs[i];
            if (r->state != 0)
                continue;
            if (r->ready_at > now) {
                if (r->ready_at - now < wait_ns)
                    wait_ns = r->ready_at - now;
                continue;
            }
            r->attempts++;
            if (req_start(s, r) != ES_OK || curl.multi_add_handle(m, r->easy) != CURLM_OK) {
                if (r->easy) {
                    curl.easy_cleanup(r->easy);
                    r->easy = NULL;
                    curl.slist_free_all(r->slist);
                    r->slist = NULL;
                }
                r->nomem = 1;
                r->curl_code = CURLE_OUT_OF_MEMORY;
                r->state = 2;
                remaining--;
                continue;
            }
            r->state = 1;
            running++;
        }
        if (running == 0) {
            if (remaining == 0)
                break;
            if (wait_ns != INT64_MAX) {
                struct timespec ts = {(time_t)(wait_ns / 1000000000), (long)(wait_ns % 1000000000)};
                nanosleep(&ts, NULL);
            }
            continue;
        }
        int still = 0;
        if (curl.multi_perform(m, &still) != CURLM_OK) {
            st = ES_INTERNAL;
            break;
        }
        CURLMsg *msg;
        int left;
        int finished = 0;
        while ((msg = curl.multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            s3_req *r = NULL;
            curl.easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
            CURLcode cc = msg->data.result;
            req_finish_transfer(s, r, cc);
            curl.multi_remove_handle(m, r->easy);
            curl.easy_cleanup(r->easy);
            r->easy = NULL;
            curl.slist_free_all(r->slist);
            r->slist = NULL;
            running--;
            finished++;
            if (!r->nomem && r->attempts < max_attempts &&
                es_objstore_s3_retryable(r->curl_code, r->status, r->s3_code)) {
                r->state = 0;
                r->ready_at =
                    es_now_ns() + es_objstore_s3_backoff_ns(&pol, r->attempts, es_random_u64());
            } else {
                r->state = 2;
                remaining--;
            }
        }
        if (finished || remaining == 0)
            continue;
        int timeout_ms = 1000;
        if (wait_ns != INT64_MAX && wait_ns / 1000000 < timeout_ms)
            timeout_ms = (int)(wait_ns / 1000000) + 1;
        curl.multi_poll(m, NULL, 0, timeout_ms, NULL);
    }
    if (st != ES_OK) {
        /* The multi handle is broken: drop it with every transfer still in it. */
        for (int i = 0; i < n; i++) {
            s3_req *r = reqs[i];
            if (r->easy) {
                curl.multi_remove_handle(m, r->easy);
                curl.easy_cleanup(r->easy);
                r->easy = NULL;
                curl.slist_free_all(r->slist);
                r->slist = NULL;
            }
            if (r->state != 2) {
                r->curl_code = CURLE_FAILED_INIT;
                r->state = 2;
            }
        }
        curl.multi_cleanup(m);
        return st;
    }
    pool_give(s, m);
    return ES_OK;
}

static es_status run_one(s3_store *s, s3_req *r, int max_attempts)
{
    return run_batch(s, &r, 1, max_attempts);
}

static int policy_attempts(void)
{
    es_retry_policy p;
    es_objstore_get_retry(&p);
    return p.max_attempts;
}

/* The status of a finished request, with a message naming the object (never credentials). */
static es_status req_error(s3_store *s, const s3_req *r, const char *what, es_error *err)
{
    es_status st;
    if (r->nomem)
        return es_error_set(err, ES_NOMEM, 0, "s3://%s/%s%s: %s: out of memory", s->bucket,
                            s->prefix, r->key, what);
    st = es_objstore_s3_status(r->curl_code, r->status, r->s3_code);
    if (st == ES_OK)
        return ES_OK;
    if (r->curl_code != CURLE_OK)
        return es_error_set(err, st, 0, "s3://%s/%s%s: %s: %s", s->bucket, s->prefix, r->key, what,
                            r->errbuf[0] ? r->errbuf : curl.easy_strerror((CURLcode)r->curl_code));
    const char *code = r->s3_code[0] ? r->s3_code : "";
    if (!code[0]) {
        switch (r->status) {
        case 403:
            code = "Forbidden";
            break;
        case 404:
            code = "NotFound";
            break;
        case 412:
            code = "PreconditionFailed";
            break;
        default:
            code = r->status >= 500 ? "ServerError" : "";
        }
    }
    return es_error_set(err, st, (int)r->status, "s3://%s/%s%s: %s: %ld %s", s->bucket, s->prefix,
                        r->key, what, r->status, code);
}

/* ------------------------------------------------------------------ get */

/* Build a GET request for [offset, offset+len) of key. */
static es_status get_build(s3_store *s, s3_req *r, const char *key, uint64_t offset, uint64_t len)
{
    req_init(r, "GET", key);
    if (req_path(s, r, key))
        return ES_NOMEM;
    if (offset > 0 || len != UINT64_MAX) {
        if (len == UINT64_MAX || offset + len < offset)
            snprintf(r->range, sizeof r->range, "bytes=%llu-", (unsigned long long)offset);
        else
            snprintf(r->range, sizeof r->range, "bytes=%llu-%llu", (unsigned long long)offset,
                     (unsigned long long)(offset + len - 1));
        req_header(r, "Range", r->range);
    }
    return ES_OK;
}

static es_status s3_head(es_objstore *base, const char *key, es_obj_info *out, es_error *err);

/* Turn a finished GET into a blob (or the error). 416: a HEAD decides between an empty
 * result (offset == size) and ES_INVALID (offset > size). */
static es_status get_result(s3_store *s, s3_req *r, uint64_t offset, uint64_t len, es_blob **out,
                            es_error *err)
{
    es_status st;
    *out = NULL;
    if (!r->nomem && r->curl_code == CURLE_OK && r->status == 416) {
        es_obj_info info;
        st = s3_head(&s->base, r->key, &info, err);
        if (st)
            return st;
        if (offset > info.size)
            return es_error_set(err, ES_INVALID, 0, "s3://%s/%s%s: offset %llu past the end (%llu)",
                                s->bucket, s->prefix, r->key, (unsigned long long)offset,
                                (unsigned long long)info.size);
        return es_blob_new_copy(out, "", 0);
    }
    if ((st = req_error(s, r, "get", err)))
        return st;
    size_t n = r->resp.len;
    uint8_t *data = es_buf_detach(&r->resp, &n);
    if (r->status == 200 && r->range[0]) {
        /* The server ignored Range: cut the range out of the whole object. */
        if (offset > n) {
            es_free(data);
            return es_error_set(err, ES_INVALID, 0, "s3://%s/%s%s: offset %llu past the end (%zu)",
                                s->bucket, s->prefix, r->key, (unsigned long long)offset, n);
        }
        size_t take = n - (size_t)offset;
        if (len < take)
            take = (size_t)len;
        st = es_blob_new_copy(out, data + offset, take);
        es_free(data);
        return st;
    }
    if (r->range[0] && len != UINT64_MAX && n > len) {
        es_free(data);
        return es_error_set(err, ES_REMOTE, (int)r->status,
                            "s3://%s/%s%s: server sent %zu bytes for a %llu-byte range", s->bucket,
                            s->prefix, r->key, n, (unsigned long long)len);
    }
    if (!data)
        return es_blob_new_copy(out, "", 0);
    st = es_blob_new_owned(out, data, n);
    if (st)
        es_free(data);
    return st;
}

static es_status s3_get(es_objstore *base, const char *key, uint64_t offset, uint64_t len,
                        es_blob **out, es_error *err)
{
    s3_store *s = (s3_store *)base;
    s3_req r;
    es_status st;
    *out = NULL;
    if (len == 0) {
        es_obj_info info;
        if ((st = s3_head(base, key, &info, err)))
            return st;
        if (offset > info.size)
            return es_error_set(err, ES_INVALID, 0, "s3://%s/%s%s: offset %llu past the end (%llu)",
                                s->bucket, s->prefix, key, (unsigned long long)offset,
                                (unsigned long long)info.size);
        return es_blob_new_copy(out, "", 0);
    }
    if ((st = get_build(s, &r, key, offset, len)) == ES_OK && (st = run_one(s, &r, 1)) == ES_OK)
        st = get_result(s, &r, offset, len, out, err);
    req_free(&r);
    return st;
}

static es_status s3_get_many(es_objstore *base, es_range_req *reqs, int64_t n, es_error *err)
{
    s3_store *s = (s3_store *)base;
    es_status first = ES_OK;
    if (n <= 0)
        return ES_OK;
    if (n > INT32_MAX / 2)
        return es_error_set(err, ES_INVALID, 0, "%s: get_many: too many requests", base->uri);
    s3_req *rs = es_calloc((size_t)n, sizeof *rs);
    s3_req **ps = es_calloc((size_t)n, sizeof *ps);
    int np = 0;
    if (!rs || !ps) {
        es_free(rs);
        es_free(ps);
        for (int64_t i = 0; i < n; i++) {
            reqs[i].out = NULL;
            reqs[i].status = ES_NOMEM;
        }
        return es_error_set(err, ES_NOMEM, 0, "%s: get_many: out of memory", base->uri);
    }
    for (int64_t i = 0; i < n; i++) {
        reqs[i].out = NULL;
        reqs[i].status = ES_OK;
        if (reqs[i].len == 0)
            continue; /* done below with a HEAD, like get */
        if (get_build(s, &rs[i], reqs[i].key, reqs[i].offset, reqs[i].len) != ES_OK) {
            reqs[i].status = ES_NOMEM;
            continue;
        }
        ps[np++] = &rs[i];
    }
    es_status st = run_batch(s, ps, np, policy_attempts());
    for (int64_t i = 0; i < n; i++) {
        es_error e1 = {0};
        if (reqs[i].status != ES_OK) {
            es_error_set(&e1, reqs[i].status, 0, "%s: get_many: out of memory", reqs[i].key);
        } else if (reqs[i].len == 0) {
            reqs[i].status = s3_get(base, reqs[i].key, reqs[i].offset, 0, &reqs[i].out, &e1);
        } else if (st != ES_OK) {
            reqs[i].status = es_error_set(&e1, st, 0, "s3://%s/%s%s: get: batch failed", s->bucket,
                                          s->prefix, reqs[i].key);
        } else {
            reqs[i].status = get_result(s, &rs[i], reqs[i].offset, reqs[i].len, &reqs[i].out, &e1);
        }
        if (reqs[i].status != ES_OK && first == ES_OK) {
            first = reqs[i].status;
            if (err)
                *err = e1;
        }
        req_free(&rs[i]);
    }
    es_free(rs);
    es_free(ps);
    return first;
}

/* ------------------------------------------------------------------ head */

static es_status s3_head(es_objstore *base, const char *key, es_obj_info *out, es_error *err)
{
    s3_store *s = (s3_store *)base;
    s3_req r;
    es_status st;
    memset(out, 0, sizeof *out);
    req_init(&r, "HEAD", key);
    r.nobody = 1;
    if ((st = req_path(s, &r, key)) == ES_OK && (st = run_one(s, &r, 1)) == ES_OK &&
        (st = req_error(s, &r, "head", err)) == ES_OK) {
        if (r.content_length < 0)
            st = es_error_set(err, ES_REMOTE, (int)r.status,
                              "s3://%s/%s%s: head: no Content-Length", s->bucket, s->prefix, key);
        else {
            out->size = (uint64_t)r.content_length;
            memcpy(out->etag, r.etag, sizeof out->etag);
        }
    }
    req_free(&r);
    return st;
}

/* ------------------------------------------------------------------ put */

static es_status put_multipart(s3_store *s, const char *key, const uint8_t *data, size_t len,
                               char *etag_out, es_error *err);

static es_status s3_put(es_objstore *base, const char *key, const void *data, size_t len,
                        es_put_mode mode, const char *if_match, char *etag_out, es_error *err)
{
    s3_store *s = (s3_store *)base;
    s3_req r;
    es_status st;
    /* S2: conditional puts are always a single PUT. */
    if (mode == ES_PUT_ALWAYS && len >= s->mp_threshold)
        return put_multipart(s, key, data, len, etag_out, err);
    req_init(&r, "PUT", key);
    r.has_body = 1;
    r.body = data;
    r.body_len = len;
    if (mode == ES_PUT_IF_ABSENT) {
        req_header(&r, "If-None-Match", "*");
    } else if (mode == ES_PUT_IF_MATCH) {
        /* Unquoted: RGW answers 412 to the quoted form even when it matches (S3-NOTES.md);
         * AWS accepts both. */
        char bare[ES_ETAG_MAX + 4];
        strip_quotes(bare, sizeof bare, if_match);
        snprintf(r.if_match, sizeof r.if_match, s->quote_etag ? "\"%.*s\"" : "%.*s", ES_ETAG_MAX,
                 bare);
        req_header(&r, "If-Match", r.if_match);
    }
    if ((st = req_path(s, &r, key)) == ES_OK && (st = run_one(s, &r, 1)) == ES_OK &&
        (st = req_error(s, &r, "put", err)) == ES_OK && etag_out)
        memcpy(etag_out, r.etag, ES_ETAG_MAX);
    req_free(&r);
    return st;
}

static void multipart_abort(s3_store *s, const char *key, const char *upload_id)
{
    s3_req r;
    req_init(&r, "DELETE", key);
    req_query(&r, "uploadId", upload_id);
    if (req_path(s, &r, key) == ES_OK)
        run_one(s, &r, policy_attempts());
    req_free(&r);
}

static es_status put_multipart(s3_store *s, const char *key, const uint8_t *data, size_t len,
                               char *etag_out, es_error *err)
{
    s3_req r, *parts = NULL, **pp = NULL;
    char upload_id[512], (*numbers)[12] = NULL;
    es_buf xml = {0};
    es_status st;
    size_t np = (len + s->part_size - 1) / s->part_size;
    if (np > 10000)
        return es_error_set(err, ES_INVALID, 0,
                            "s3://%s/%s%s: %zu bytes need more than 10000 parts of %zu bytes",
                            s->bucket, s->prefix, key, len, s->part_size);
    /* Create. */
    req_init(&r, "POST", key);
    r.has_body = 1;
    req_query(&r, "uploads", NULL);
    if ((st = req_path(s, &r, key)) == ES_OK && (st = run_one(s, &r, 1)) == ES_OK)
        st = req_error(s, &r, "create multipart upload", err);
    if (st == ES_OK && !es_objstore_s3_xml_text(upload_id, sizeof upload_id,
                                                (const char *)r.resp.data, r.resp.len, "UploadId"))
        st = es_error_set(err, ES_REMOTE, (int)r.status,
                          "s3://%s/%s%s: create multipart upload: no UploadId", s->bucket,
                          s->prefix, key);
    req_free(&r);
    if (st)
        return st;

    /* Parts, in parallel; each retried under the dispatch policy. */
    parts = es_calloc(np, sizeof *parts);
    pp = es_calloc(np, sizeof *pp);
    numbers = es_calloc(np, sizeof *numbers);
    if (!parts || !pp || !numbers) {
        st = es_error_set(err, ES_NOMEM, 0, "s3://%s/%s%s: multipart: out of memory", s->bucket,
                          s->prefix, key);
        goto fail;
    }
    for (size_t i = 0; i < np; i++) {
        s3_req *p = &parts[i];
        req_init(p, "PUT", key);
        snprintf(numbers[i], sizeof numbers[i], "%zu", i + 1);
        req_query(p, "partNumber", numbers[i]);
        req_query(p, "uploadId", upload_id);
        p->has_body = 1;
        p->body = data + i * s->part_size;
        p->body_len = i + 1 < np ? s->part_size : len - i * s->part_size;
        if (req_path(s, p, key)) {
            st = es_error_set(err, ES_NOMEM, 0, "s3://%s/%s%s: multipart: out of memory", s->bucket,
                              s->prefix, key);
            goto fail;
        }
        pp[i] = p;
    }
    if ((st = run_batch(s, pp, (int)np, policy_attempts()))) {
        es_error_set(err, st, 0, "s3://%s/%s%s: multipart: batch failed", s->bucket, s->prefix,
                     key);
        goto fail;
    }
    st = es_buf_printf(&xml, "<CompleteMultipartUpload>");
    for (size_t i = 0; i < np && !st; i++) {
        char what[48];
        snprintf(what, sizeof what, "upload part %zu", i + 1);
        if ((st = req_error(s, &parts[i], what, err)))
            goto fail;
        if (!parts[i].etag[0]) {
            st = es_error_set(err, ES_REMOTE, 0, "s3://%s/%s%s: part %zu: no ETag", s->bucket,
                              s->prefix, key, i + 1);
            goto fail;
        }
        st = es_buf_printf(&xml, "<Part><PartNumber>%zu</PartNumber><ETag>\"%s\"</ETag></Part>",
                           i + 1, parts[i].etag);
    }
    if (!st)
        st = es_buf_printf(&xml, "</CompleteMultipartUpload>");
    if (st) {
        st = es_error_set(err, ES_NOMEM, 0, "s3://%s/%s%s: multipart: out of memory", s->bucket,
                          s->prefix, key);
        goto fail;
    }
    /* Complete. A 200 may still carry an <Error> body. */
    req_init(&r, "POST", key);
    r.has_body = 1;
    r.body = xml.data;
    r.body_len = xml.len;
    req_header(&r, "Content-Type", "application/xml");
    req_query(&r, "uploadId", upload_id);
    if ((st = req_path(s, &r, key)) == ES_OK && (st = run_one(s, &r, policy_attempts())) == ES_OK)
        st = req_error(s, &r, "complete multipart upload", err);
    if (st == ES_OK) {
        char tmp[ES_ETAG_MAX + 8], code[64];
        if (es_objstore_s3_xml_text(code, sizeof code, (const char *)r.resp.data, r.resp.len,
                                    "Code") &&
            r.resp.len && memmem(r.resp.data, r.resp.len, "<Error>", 7)) {
            st = es_error_set(
                err, es_objstore_s3_retryable(0, 200, code) ? ES_TRANSIENT : ES_REMOTE, 200,
                "s3://%s/%s%s: complete multipart upload: %s", s->bucket, s->prefix, key, code);
        } else if (etag_out) {
            etag_out[0] = 0;
            if (es_objstore_s3_xml_text(tmp, sizeof tmp, (const char *)r.resp.data, r.resp.len,
                                        "ETag"))
                strip_quotes(etag_out, ES_ETAG_MAX, tmp);
        }
    }
    req_free(&r);
    if (st)
        goto fail;
    if (etag_out && !etag_out[0]) {
        /* RGW 16 leaves <ETag> empty in CompleteMultipartUploadResult: ask for it. */
        es_obj_info info;
        es_error e2 = {0};
        if (s3_head(&s->base, key, &info, &e2) == ES_OK)
            memcpy(etag_out, info.etag, ES_ETAG_MAX);
    }
    for (size_t i = 0; i < np; i++)
        req_free(&parts[i]);
    es_free(parts);
    es_free(pp);
    es_free(numbers);
    es_buf_reset(&xml);
    return ES_OK;
fail:
    multipart_abort(s, key, upload_id); /* S3 */
    if (parts)
        for (size_t i = 0; i < np; i++)
            req_free(&parts[i]);
    es_free(parts);
    es_free(pp);
    es_free(numbers);
    es_buf_reset(&xml);
    return st;
}

/* ------------------------------------------------------------------ list */

static es_status s3_list(es_objstore *base, const char *prefix, const char *start_after,
                         int64_t max_keys, es_obj_list *out, es_error *err)
{
    s3_store *s = (s3_store *)base;
    es_buf full_prefix = {0}, full_after = {0};
    char token[1024], maxk[24];
    es_status st = ES_OK;
    memset(out, 0, sizeof *out);
    if (max_keys <= 0 || max_keys > 1000)
        max_keys = 1000;
    token[0] = 0;
    if (es_buf_printf(&full_prefix, "%s%s", s->prefix, prefix ? prefix : "") ||
        (start_after && *start_after && es_buf_printf(&full_after, "%s%s", s->prefix, start_after)))
        return es_error_set(err, ES_NOMEM, 0, "%s: list: out of memory", base->uri);
    for (int page = 0;; page++) {
        s3_req r;
        int truncated = 0;
        req_init(&r, "GET", prefix);
        snprintf(maxk, sizeof maxk, "%lld", (long long)(max_keys - out->n));
        req_query(&r, "list-type", "2");
        req_query(&r, "prefix", (char *)full_prefix.data);
        req_query(&r, "max-keys", maxk);
        if (full_after.len)
            req_query(&r, "start-after", (char *)full_after.data);
        if (token[0])
            req_query(&r, "continuation-token", token);
        if ((st = req_path(s, &r, NULL)) == ES_OK && (st = run_one(s, &r, 1)) == ES_OK &&
            (st = req_error(s, &r, "list", err)) == ES_OK) {
            int64_t before = out->n;
            st = es_objstore_s3_parse_list(out, &truncated, token, sizeof token,
                                           (const char *)r.resp.data, r.resp.len, s->prefix, err);
            if (st == ES_CORRUPT)
                es_error_prefix(err, "s3://%s/%s%s", s->bucket, s->prefix, prefix);
            /* Guard against a server that repeats a page forever. */
            if (st == ES_OK && truncated && (!token[0] || (out->n == before && page > 100)))
                truncated = 0, out->truncated = 1;
        }
        req_free(&r);
        if (st)
            break;
        if (out->n >= max_keys) {
            out->truncated = truncated;
            break;
        }
        if (!truncated || !token[0])
            break;
    }
    es_buf_reset(&full_prefix);
    es_buf_reset(&full_after);
    if (st)
        es_obj_list_reset(out);
    return st;
}

/* ------------------------------------------------------------------ delete */

static void xml_escape(es_buf *b, const char *s, es_status *st)
{
    for (; *s && !*st; s++) {
        switch (*s) {
        case '&':
            *st = es_buf_printf(b, "&amp;");
            break;
        case '<':
            *st = es_buf_printf(b, "&lt;");
            break;
        case '>':
            *st = es_buf_printf(b, "&gt;");
            break;
        case '"':
            *st = es_buf_printf(b, "&quot;");
            break;
        default:
            *st = es_buf_append(b, s, 1);
        }
    }
}

/* Per-key DELETE, all at once in one batch (servers without multi-delete). */
static es_status delete_each(s3_store *s, const char *const *keys, int64_t n, es_error *err)
{
    s3_req *rs = es_calloc((size_t)n, sizeof *rs);
    s3_req **ps = es_calloc((size_t)n, sizeof *ps);
    es_status st = ES_OK;
    if (!rs || !ps) {
        es_free(rs);
        es_free(ps);
        return es_error_set(err, ES_NOMEM, 0, "%s: delete: out of memory", s->base.uri);
    }
    for (int64_t i = 0; i < n && !st; i++) {
        req_init(&rs[i], "DELETE", keys[i]);
        ps[i] = &rs[i];
        if (req_path(s, &rs[i], keys[i]))
            st = es_error_set(err, ES_NOMEM, 0, "%s: delete: out of memory", s->base.uri);
    }
    if (!st)
        st = run_batch(s, ps, (int)n, 1);
    for (int64_t i = 0; i < n && !st; i++)
        if (!(rs[i].curl_code == CURLE_OK && rs[i].status == 404))
            st = req_error(s, &rs[i], "delete", err);
    for (int64_t i = 0; i < n; i++)
        req_free(&rs[i]);
    es_free(rs);
    es_free(ps);
    return st;
}

static es_status s3_del(es_objstore *base, const char *const *keys, int64_t n, es_error *err)
{
    s3_store *s = (s3_store *)base;
    es_status st = ES_OK;
    if (n > INT32_MAX / 2)
        return es_error_set(err, ES_INVALID, 0, "%s: delete: too many keys", base->uri);
    if (env("ES_S3_DELETE") && !strcmp(env("ES_S3_DELETE"), "single"))
        return delete_each(s, keys, n, err);
    for (int64_t at = 0; at < n && !st; at += 1000) {
        int64_t m = n - at < 1000 ? n - at : 1000;
        es_buf xml = {0};
        s3_req r;
        st = es_buf_printf(&xml, "<Delete><Quiet>true</Quiet>");
        for (int64_t i = 0; i < m && !st; i++) {
            st = es_buf_printf(&xml, "<Object><Key>%s", s->prefix);
            xml_escape(&xml, keys[at + i], &st);
            if (!st)
                st = es_buf_printf(&xml, "</Key></Object>");
        }
        if (!st)
            st = es_buf_printf(&xml, "</Delete>");
        if (st) {
            es_buf_reset(&xml);
            return es_error_set(err, ES_NOMEM, 0, "%s: delete: out of memory", base->uri);
        }
        req_init(&r, "POST", keys[at]);
        r.has_body = 1;
        r.body = xml.data;
        r.body_len = xml.len;
        es_sigv4_md5_base64(r.md5, xml.data, xml.len);
        req_header(&r, "Content-MD5", r.md5);
        req_header(&r, "Content-Type", "application/xml");
        req_query(&r, "delete", NULL);
        if ((st = req_path(s, &r, NULL)) == ES_OK && (st = run_one(s, &r, 1)) == ES_OK) {
            if (r.curl_code == CURLE_OK &&
                (r.status == 501 || r.status == 405 || !strcmp(r.s3_code, "NotImplemented"))) {
                st = delete_each(s, keys + at, m, err);
            } else if ((st = req_error(s, &r, "delete", err)) == ES_OK) {
                /* Quiet mode: the body lists only the keys that failed. */
                const char *p = (const char *)r.resp.data, *end = p + r.resp.len, *cs, *ce, *nx;
                if (p && xml_find(p, end, "Error", &cs, &ce, &nx)) {
                    char k[1100], code[64];
                    es_objstore_s3_xml_text(k, sizeof k, cs, (size_t)(ce - cs), "Key");
                    es_objstore_s3_xml_text(code, sizeof code, cs, (size_t)(ce - cs), "Code");
                    st = es_error_set(
                        err, es_objstore_s3_retryable(0, 200, code) ? ES_TRANSIENT : ES_REMOTE, 0,
                        "s3://%s/%s: delete: %s", s->bucket, k, code);
                }
            }
        }
        req_free(&r);
        es_buf_reset(&xml);
    }
    return st;
}

/* ------------------------------------------------------------------ open */

static void s3_close(es_objstore *base)
{
    s3_store *s = (s3_store *)base;
    if (!s)
        return;
    for (int i = 0; i < s->npool; i++)
        curl.multi_cleanup(s->pool[i]);
    pthread_mutex_destroy(&s->lock);
    if (s->secret)
        memset(s->secret, 0, strlen(s->secret));
    if (s->token)
        memset(s->token, 0, strlen(s->token));
    es_free(s->secret);
    es_free(s->token);
    es_free(s->access_key);
    es_free(s->bucket);
    es_free(s->prefix);
    es_free(s->url_base);
    es_free(s->host);
    es_free(s->endpoint);
    es_free(s->ca_bundle);
    es_free(s->base.uri);
    es_free(s);
}

/* S4: does the server refuse a second If-None-Match: * PUT? Sets cas_supported. */
static es_status probe_cas(s3_store *s, es_error *err)
{
    char key[64];
    s3_req r;
    es_status st;
    int attempts = policy_attempts();
    snprintf(key, sizeof key, ".expstore-cas-probe-%016llx", (unsigned long long)es_random_u64());
    for (int round = 0; round < 2; round++) {
        req_init(&r, "PUT", key);
        r.has_body = 1;
        r.body = (const uint8_t *)"probe";
        r.body_len = 5;
        req_header(&r, "If-None-Match", "*");
        if ((st = req_path(s, &r, key)) == ES_OK && (st = run_one(s, &r, attempts)) == ES_OK) {
            if (round == 1 && r.curl_code == CURLE_OK && r.status == 412)
                s->base.cas_supported = 1;
            else if (round == 1 && r.curl_code == CURLE_OK && r.status >= 200 && r.status < 300)
                s->base.cas_supported = 0;
            else
                st = req_error(s, &r, "probing conditional writes", err);
            if (st == ES_EXISTS) /* 412 on the first PUT: a leftover key; try again later */
                st = es_error_set(err, ES_TRANSIENT, 412, "s3://%s/%s%s: probe key exists",
                                  s->bucket, s->prefix, key);
        }
        req_free(&r);
        if (st)
            break;
    }
    const char *keys[1] = {key};
    es_error e2 = {0};
    s3_del(&s->base, keys, 1, &e2);
    return st;
}

es_status es_objstore_s3_open(es_objstore **out, const char *uri, es_error *err)
{
    es_status st;
    *out = NULL;
    if (strncmp(uri, "s3://", 5) != 0)
        return es_error_set(err, ES_INVALID, 0, "%s: not an s3:// URI", uri);
    pthread_once(&curl_once, curl_init);
    es_error lerr;
    if (curl_load_err.code || es_sigv4_load(&lerr))
        return es_error_set(err, ES_UNSUPPORTED, 0, "%s: %s", uri,
                            curl_load_err.code ? curl_load_err.msg : lerr.msg);
    const char *b = uri + 5, *slash = strchr(b, '/');
    size_t bl = slash ? (size_t)(slash - b) : strlen(b);
    if (bl == 0 || bl > 63)
        return es_error_set(err, ES_INVALID, 0, "%s: bad bucket name (1 to 63 characters)", uri);
    for (size_t i = 0; i < bl; i++) {
        char c = b[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
              c == '_' || (c >= 'A' && c <= 'Z')))
            return es_error_set(err, ES_INVALID, 0, "%s: bad character in bucket name", uri);
    }
    const char *pfx = slash ? slash + 1 : "";
    size_t pl = strlen(pfx);
    while (pl > 0 && pfx[pl - 1] == '/')
        pl--;
    for (size_t i = 0; i < pl; i++)
        if ((unsigned char)pfx[i] < 0x20 || pfx[i] == 0x7f || pfx[i] == '?' || pfx[i] == '#')
            return es_error_set(err, ES_INVALID, 0, "%s: bad character in prefix", uri);

    s3_store *s = es_calloc(1, sizeof *s);
    if (!s)
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", uri);
    if (es_objstore_init_base(&s->base, &s3_vtable, uri)) {
        es_free(s);
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", uri);
    }
    pthread_mutex_init(&s->lock, NULL);
    s->bucket = es_malloc(bl + 1);
    s->prefix = es_malloc(pl + 2);
    if (!s->bucket || !s->prefix) {
        s3_close(&s->base);
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", uri);
    }
    memcpy(s->bucket, b, bl);
    s->bucket[bl] = 0;
    memcpy(s->prefix, pfx, pl);
    if (pl)
        s->prefix[pl++] = '/';
    s->prefix[pl] = 0;

    if ((st = configure(s, err))) {
        if (st == ES_NOMEM)
            es_error_set(err, ES_NOMEM, 0, "%s: out of memory", uri);
        s3_close(&s->base);
        return st;
    }
    const char *cas = env("ES_S3_CAS");
    if (cas && !strcmp(cas, "on")) {
        s->base.cas_supported = 1;
    } else if (cas && !strcmp(cas, "off")) {
        s->base.cas_supported = 0;
    } else {
        if ((st = probe_cas(s, err))) {
            s3_close(&s->base);
            return st;
        }
        if (!s->base.cas_supported) {
            char msg[400];
            snprintf(msg, sizeof msg,
                     "s3://%s/%s: the server ignores If-None-Match on PUT (no put-if-absent): "
                     "this store is safe for a single writer only",
                     s->bucket, s->prefix);
            if (!env("ES_S3_QUIET"))
                fprintf(stderr, "expstore: warning: %s\n", msg);
            es_error_set(err, ES_OK, 0, "%s", msg);
        }
    }
    *out = &s->base;
    return ES_OK;
}

es_status es_objstore_s3_describe(es_objstore *base, char *buf, size_t cap)
{
    if (!base || base->vt != &s3_vtable)
        return ES_INVALID;
    s3_store *s = (s3_store *)base;
    snprintf(buf, cap,
             "endpoint=%s url=%s region=%s addressing=%s bucket=%s prefix=%s access_key=%s "
             "secret=%s token=%s cas=%d tls_verify=%d multipart_threshold=%zu part_size=%zu",
             s->endpoint, s->url_base, s->region, s->path_style ? "path" : "virtual", s->bucket,
             s->prefix, s->access_key ? s->access_key : "(none)", s->secret ? "(set)" : "(none)",
             s->token ? "(set)" : "(none)", s->base.cas_supported, !s->insecure, s->mp_threshold,
             s->part_size);
    return ES_OK;
}

es_status es_objstore_s3_counters(es_objstore *base, int64_t *http_requests, int64_t *connects)
{
    if (!base || base->vt != &s3_vtable)
        return ES_INVALID;
    s3_store *s = (s3_store *)base;
    *http_requests = __atomic_load_n(&s->http_requests, __ATOMIC_RELAXED);
    *connects = __atomic_load_n(&s->connects, __ATOMIC_RELAXED);
    return ES_OK;
}

es_status es_objstore_s3_pending_uploads(es_objstore *base, int64_t *n, es_error *err)
{
    if (!base || base->vt != &s3_vtable)
        return es_error_set(err, ES_INVALID, 0, "not an S3 store");
    s3_store *s = (s3_store *)base;
    s3_req r;
    es_status st;
    *n = 0;
    req_init(&r, "GET", "");
    req_query(&r, "uploads", NULL);
    req_query(&r, "prefix", s->prefix);
    if ((st = req_path(s, &r, NULL)) == ES_OK && (st = run_one(s, &r, 1)) == ES_OK &&
        (st = req_error(s, &r, "list multipart uploads", err)) == ES_OK) {
        const char *p = (const char *)r.resp.data, *end = p + r.resp.len, *cs, *ce, *nx;
        while (p && xml_find(p, end, "Upload", &cs, &ce, &nx)) {
            (*n)++;
            p = nx;
        }
    }
    req_free(&r);
    return st;
}

static const es_objstore_vtable s3_vtable = {
    ES_OBJSTORE_VTABLE_VERSION, s3_get, s3_get_many, s3_head, s3_put, s3_list, s3_del, s3_close,
};
