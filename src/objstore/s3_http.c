/*
 * s3_http: HTTP exchanges of the S3 backend (objstore layer; see s3_internal.h): building and
 * signing requests (AWS Signature Version 4, sigv4.c), running batches of them on libcurl multi
 * handles with retries, classifying the answers and turning them into statuses and messages.
 *
 * Batches. Every operation of the backend is a batch of HTTP requests run on a curl multi
 * handle taken from a small pool (the pool keeps the connections of earlier calls alive, so
 * requests reuse kept-alive connections; a batch runs up to ES_S3_MAX_INFLIGHT requests at
 * once, so a get_many of N ranges costs about one round trip). A request of a batch is retried
 * up to the attempts its caller gives, with the dispatch layer's backoff.
 *
 * Timeouts, per attempt (s3_config.c reads them): the TCP and TLS handshake
 * (ES_S3_CONNECT_TIMEOUT_MS, 3 s like the AWS SDKs' "standard" defaults), silence (no byte sent
 * or received for ES_S3_READ_TIMEOUT_S, 30 s like the Java SDK's socket timeout; libcurl's
 * low-speed check, so whole seconds) and optionally the whole attempt (ES_S3_TIMEOUT_MS, none
 * by default: large objects take long). The message of a timeout names the endpoint, the limit
 * and the variable that sets it: "s3://b/p/k: get: no response from http://host:port within
 * 30 s (ES_S3_READ_TIMEOUT_S): ...".
 *
 * Invariants:
 *   S1. Credentials never reach a message: errors name the object and carry the HTTP status,
 *       the S3 error code and the error document's <Message> (dropped if it contained the
 *       secret or the token); the secret is used only as an HMAC key (sigv4.c). With no
 *       credentials at all, a 401 or 403 says which settings were looked at.
 *   S5. A request whose connection was opened for it, accepted, and then silent until a
 *       timeout gives up: ES_REMOTE, no retry here or in the dispatch layer (another attempt
 *       would wait as long again, and a silent endpoint would cost attempts x timeout). A
 *       silent reused connection may have died in the pool; that request is retried.
 *
 * Status mapping: 2xx ES_OK; 404 ES_NOT_FOUND; 412 ES_EXISTS; 5xx, 429, SlowDown, timeouts
 * (but S5), resets and refused connections ES_TRANSIENT; 416 ES_INVALID; other answers
 * ES_REMOTE with "s3://bucket/key: get: 403 AccessDenied: Access Denied" (HTTP status in
 * sys_code).
 *
 * Loading libcurl. The library does not link libcurl: its ~40 dependencies (GSSAPI, LDAP,
 * SSH, HTTP/2, ...) would cost every program about 15 ms in the dynamic loader, S3 or not.
 * The first s3:// open loads libcurl.so.4 with es_os_load_library (once, under pthread_once)
 * and resolves the functions listed in CURL_FUNCS into the table `curl`; every call goes through
 * it (curl.easy_init() for curl_easy_init()). The header still provides the types and
 * constants. If loading fails, every s3:// open fails with ES_UNSUPPORTED,
 * "s3://bucket: cannot load libcurl.so.4: <dlerror>". libcurl is never unloaded.
 */
#include "objstore/s3_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

#include "os/os.h"

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

es_status es_objstore_s3_load(const char *uri, es_error *err)
{
    pthread_once(&curl_once, curl_init);
    es_error lerr;
    if (curl_load_err.code || es_sigv4_load(&lerr))
        return es_error_set(err, ES_UNSUPPORTED, 0, "%s: %s", uri,
                            curl_load_err.code ? curl_load_err.msg : lerr.msg);
    return ES_OK;
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

/* ------------------------------------------------------------- the pool */

static CURLM *pool_take(es_s3_store *s)
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

static void pool_give(es_s3_store *s, CURLM *m)
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

void es_objstore_s3_pool_free(es_s3_store *s)
{
    for (int i = 0; i < s->npool; i++)
        curl.multi_cleanup(s->pool[i]);
    s->npool = 0;
}

/* ------------------------------------------------------------ one request */

void es_objstore_s3_req_init(es_s3_req *r, const char *method, const char *key)
{
    memset(r, 0, sizeof *r);
    r->method = method;
    r->key = key ? key : "";
    r->content_length = -1;
    r->total_size = -1;
}

void es_objstore_s3_req_free(es_s3_req *r)
{
    es_free(r->path);
    r->path = NULL;
    es_buf_reset(&r->resp);
}

/* Set the request path for an object key (relative to the store prefix), or for the bucket
 * itself when key is NULL. */
es_status es_objstore_s3_req_path(es_s3_store *s, es_s3_req *r, const char *key)
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

void es_objstore_s3_req_query(es_s3_req *r, const char *name, const char *value)
{
    if (r->nquery < MAX_QUERY) {
        r->query[r->nquery].name = name;
        r->query[r->nquery++].value = value;
    }
}

void es_objstore_s3_req_header(es_s3_req *r, const char *name, const char *value)
{
    if (r->nhdr < MAX_HDRS) {
        r->hdr[r->nhdr].name = name;
        r->hdr[r->nhdr++].value = value;
    }
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    es_s3_req *r = ud;
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
    es_s3_req *r = ud;
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
        es_objstore_s3_strip_quotes(r->etag, sizeof r->etag, v);
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
static es_status req_start(es_s3_store *s, es_s3_req *r)
{
    es_buf url = {0}, auth = {0}, q = {0}, line = {0};
    es_sigv4_kv h[MAX_HDRS + 6];
    int nh = 0;
    char date[17], payload[65];
    es_status st = ES_OK;

    es_buf_reset(&r->resp);
    r->etag[0] = 0;
    r->s3_code[0] = 0;
    r->s3_msg[0] = 0;
    r->timeout = S3_TIMEOUT_NONE;
    r->silent = r->give_up = 0;
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
    if (s->read_timeout_s > 0) {
        curl.easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl.easy_setopt(e, CURLOPT_LOW_SPEED_TIME, s->read_timeout_s);
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

/* The <Message> of an error document, as one line of at most sizeof r->s3_msg bytes; dropped
 * when it holds a credential (S1: servers echo nothing secret, but a message is never where a
 * secret may go). */
static void error_message(es_s3_store *s, es_s3_req *r)
{
    char text[1024];
    if (!es_objstore_s3_xml_text(text, sizeof text, (const char *)r->resp.data, r->resp.len,
                                 "Message") ||
        (s->secret && strstr(text, s->secret)) || (s->token && strstr(text, s->token)))
        return;
    size_t n = 0;
    for (const char *p = text; *p && n + 1 < sizeof r->s3_msg; p++) {
        char c = (unsigned char)*p <= 0x20 || *p == 0x7f ? ' ' : *p; /* runs of space: one */
        if (c != ' ' || (n > 0 && r->s3_msg[n - 1] != ' '))
            r->s3_msg[n++] = c;
    }
    while (n > 0 && r->s3_msg[n - 1] == ' ')
        n--;
    r->s3_msg[n] = 0;
}

static void req_finish_transfer(es_s3_store *s, es_s3_req *r, CURLcode cc)
{
    long nc = 0;
    r->curl_code = r->nomem ? CURLE_WRITE_ERROR : (int)cc;
    if (curl.easy_getinfo(r->easy, CURLINFO_NUM_CONNECTS, &nc) == CURLE_OK && nc > 0)
        __atomic_add_fetch(&s->connects, (int64_t)nc, __ATOMIC_RELAXED);
    __atomic_add_fetch(&s->http_requests, 1, __ATOMIC_RELAXED);
    curl.easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
    if (cc == CURLE_OK && r->status >= 300 && r->resp.len) {
        es_objstore_s3_xml_text(r->s3_code, sizeof r->s3_code, (const char *)r->resp.data,
                                r->resp.len, "Code");
        error_message(s, r);
    }
    if (cc == CURLE_OPERATION_TIMEDOUT) {
        /* Which limit: the handshake (nothing sent yet), the whole attempt, or silence. */
        curl_off_t sent_at = 0, total = 0;
        curl.easy_getinfo(r->easy, CURLINFO_PRETRANSFER_TIME_T, &sent_at);
        curl.easy_getinfo(r->easy, CURLINFO_TOTAL_TIME_T, &total);
        if (sent_at <= 0)
            r->timeout = S3_TIMEOUT_CONNECT;
        else if (s->timeout_ms > 0 &&
                 (s->read_timeout_s <= 0 || total < (curl_off_t)s->read_timeout_s * 1000000 ||
                  total + 100000 >= (curl_off_t)s->timeout_ms * 1000))
            r->timeout = S3_TIMEOUT_TOTAL; /* silence cannot have lasted long enough yet */
        else
            r->timeout = S3_TIMEOUT_READ;
        r->silent = r->status == 0 && r->resp.len == 0;
        /* S5: a connection opened for this request, accepted, then silent until the limit. */
        r->give_up = r->timeout != S3_TIMEOUT_CONNECT && r->silent && nc > 0;
    }
}

/*
 * Run a batch of requests to completion on one multi handle, at most s->max_inflight at once.
 * Each request is tried up to max_attempts times (retryable failures only, with the dispatch
 * layer's backoff). Returns ES_NOMEM when the batch itself could not run; per-request results
 * are in each request.
 */
es_status es_objstore_s3_run_batch(es_s3_store *s, es_s3_req **reqs, int n, int max_attempts)
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
            es_s3_req *r = reqs[i];
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
            es_s3_req *r = NULL;
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
            if (!r->nomem && !r->give_up && r->attempts < max_attempts &&
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
            es_s3_req *r = reqs[i];
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

es_status es_objstore_s3_run_one(es_s3_store *s, es_s3_req *r, int max_attempts)
{
    return es_objstore_s3_run_batch(s, &r, 1, max_attempts);
}

int es_objstore_s3_policy_attempts(void)
{
    es_retry_policy p;
    es_objstore_get_retry(&p);
    return p.max_attempts;
}

/* The status of a finished request, with a message naming the object (never credentials). */
es_status es_objstore_s3_req_error(es_s3_store *s, const es_s3_req *r, const char *what,
                                   es_error *err)
{
    es_status st;
    if (r->nomem)
        return es_error_set(err, ES_NOMEM, 0, "s3://%s/%s%s: %s: out of memory", s->bucket,
                            s->prefix, r->key, what);
    st = r->give_up ? ES_REMOTE : es_objstore_s3_status(r->curl_code, r->status, r->s3_code);
    if (st == ES_OK)
        return ES_OK;
    if (r->timeout == S3_TIMEOUT_CONNECT)
        return es_error_set(err, st, 0,
                            "s3://%s/%s%s: %s: connecting to %s timed out after %ld ms "
                            "(ES_S3_CONNECT_TIMEOUT_MS)",
                            s->bucket, s->prefix, r->key, what, s->url_base, s->connect_timeout_ms);
    if (r->timeout == S3_TIMEOUT_READ || r->timeout == S3_TIMEOUT_TOTAL) {
        char limit[64];
        if (r->timeout == S3_TIMEOUT_TOTAL)
            snprintf(limit, sizeof limit, "%ld ms (ES_S3_TIMEOUT_MS)", s->timeout_ms);
        else
            snprintf(limit, sizeof limit, "%ld s (ES_S3_READ_TIMEOUT_S)", s->read_timeout_s);
        return es_error_set(
            err, st, 0, "s3://%s/%s%s: %s: %s %s %s %s%s", s->bucket, s->prefix, r->key, what,
            r->silent ? "no response from" : "transfer from", s->url_base,
            r->silent                        ? "within"
            : r->timeout == S3_TIMEOUT_TOTAL ? "not complete within"
                                             : "stalled: nothing for",
            limit, r->give_up ? ": the server took the connection and sent nothing" : "");
    }
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
    int denied = r->status == 401 || r->status == 403;
    return es_error_set(err, st, (int)r->status, "s3://%s/%s%s: %s: %ld %s%s%s%s%s%s", s->bucket,
                        s->prefix, r->key, what, r->status, code, r->s3_msg[0] ? ": " : "",
                        r->s3_msg, denied && s->cred_hint[0] ? " (" : "",
                        denied ? s->cred_hint : "", denied && s->cred_hint[0] ? ")" : "");
}
