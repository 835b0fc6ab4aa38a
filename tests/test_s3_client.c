/*
 * test_s3_client: the S3 backend (src/objstore/s3*.c) without a server: retry classification
 * and backoff, HTTP status mapping, the ListObjectsV2 parser on hand-written responses,
 * configuration from the environment and from ~/.aws-style files, allocation failures, a
 * connection refused by a closed port (a clear ES_TRANSIENT, quickly, not a hang; opening
 * itself sends nothing), the three timeouts against loopback listeners (one that accepts and
 * never answers: one read timeout, not retried, a message naming the endpoint and the limit; a
 * full accept queue: the connect timeout), and a scripted HTTP server for retries, error
 * documents' <Message> in errors, and a silent kept-alive connection retried. test_s3 runs the
 * backend against real servers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "s3_util.h"
#include "expstore/expstore.h"
#include "objstore/s3.h"
#include "util/util.h"

/* ------------------------------------------------------------ offline parts */

static void test_classify(void)
{
    /* curl codes: 7 couldn't connect, 28 timeout, 52 got nothing, 55/56 send/recv (reset),
     * 60 bad certificate, 6 couldn't resolve. */
    CHECK(es_objstore_s3_retryable(7, 0, NULL));
    CHECK(es_objstore_s3_retryable(28, 0, NULL));
    CHECK(es_objstore_s3_retryable(52, 0, NULL));
    CHECK(es_objstore_s3_retryable(55, 0, NULL));
    CHECK(es_objstore_s3_retryable(56, 0, NULL));
    CHECK(!es_objstore_s3_retryable(60, 0, NULL));
    CHECK(es_objstore_s3_retryable(0, 500, "InternalError"));
    CHECK(es_objstore_s3_retryable(0, 503, "SlowDown"));
    CHECK(es_objstore_s3_retryable(0, 429, NULL));
    CHECK(es_objstore_s3_retryable(0, 400, "RequestTimeout"));
    CHECK(es_objstore_s3_retryable(0, 409, "ConditionalRequestConflict"));
    CHECK(!es_objstore_s3_retryable(0, 403, "SignatureDoesNotMatch"));
    CHECK(!es_objstore_s3_retryable(0, 404, "NoSuchKey"));
    CHECK(!es_objstore_s3_retryable(0, 412, "PreconditionFailed"));
    CHECK(!es_objstore_s3_retryable(0, 200, NULL));

    CHECK_EQ_INT(es_objstore_s3_status(0, 200, NULL), ES_OK);
    CHECK_EQ_INT(es_objstore_s3_status(0, 206, NULL), ES_OK);
    CHECK_EQ_INT(es_objstore_s3_status(0, 404, "NoSuchKey"), ES_NOT_FOUND);
    CHECK_EQ_INT(es_objstore_s3_status(0, 412, NULL), ES_EXISTS);
    CHECK_EQ_INT(es_objstore_s3_status(0, 403, "AccessDenied"), ES_REMOTE);
    CHECK_EQ_INT(es_objstore_s3_status(0, 400, "InvalidArgument"), ES_REMOTE);
    CHECK_EQ_INT(es_objstore_s3_status(0, 416, "InvalidRange"), ES_INVALID);
    CHECK_EQ_INT(es_objstore_s3_status(0, 502, NULL), ES_TRANSIENT);
    CHECK_EQ_INT(es_objstore_s3_status(0, 503, "SlowDown"), ES_TRANSIENT);
    CHECK_EQ_INT(es_objstore_s3_status(7, 0, NULL), ES_TRANSIENT);
    CHECK_EQ_INT(es_objstore_s3_status(60, 0, NULL), ES_REMOTE);

    /* Backoff: d = min(cap, base * 2^(k-1)), jitter uniform in [d/2, d]. */
    es_retry_policy p = {5, 20 * 1000 * 1000, 1000 * 1000 * 1000};
    int ok = 1;
    for (int k = 1; k <= 10; k++) {
        int64_t d = p.base_delay_ns << (k - 1);
        if (d > p.max_delay_ns)
            d = p.max_delay_ns;
        int64_t lo = INT64_MAX, hi = 0;
        for (int i = 0; i < 2000; i++) {
            int64_t b = es_objstore_s3_backoff_ns(&p, k, es_random_u64());
            lo = b < lo ? b : lo;
            hi = b > hi ? b : hi;
        }
        if (lo < d / 2 || hi > d || hi - lo < d / 4)
            ok = 0;
    }
    CHECK(ok);
    CHECK_EQ_INT(es_objstore_s3_backoff_ns(&p, 1, 0), 10 * 1000 * 1000);
    CHECK_EQ_INT(es_objstore_s3_backoff_ns(&p, 40, 0), 500 * 1000 * 1000);
    es_retry_policy zero = {5, 0, 0};
    CHECK_EQ_INT(es_objstore_s3_backoff_ns(&zero, 3, 12345), 0);
}

static void test_xml(void)
{
    static const char page[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Name>b</Name><Prefix>p/</Prefix><KeyCount>3</KeyCount><MaxKeys>3</MaxKeys>"
        "<IsTruncated>true</IsTruncated>"
        "<Contents><Key>p/a</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified>"
        "<ETag>&quot;0cc175b9c0f1b6a831c399e269772661&quot;</ETag><Size>1</Size>"
        "<StorageClass>STANDARD</StorageClass></Contents>"
        "<Contents><Key>p/b&amp;c=&#61;</Key><ETag>\"e2\"</ETag><Size>1234567890123</Size>"
        "</Contents>"
        "<Contents><Key>other/x</Key><Size>5</Size></Contents>"
        "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</"
        "NextContinuationToken>"
        "</ListBucketResult>";
    es_obj_list l = {0};
    int trunc = 0;
    char tok[128];
    es_error err = {0};
    CHECK_OK(
        es_objstore_s3_parse_list(&l, &trunc, tok, sizeof tok, page, sizeof page - 1, "p/", &err));
    CHECK_EQ_INT(l.n, 2);
    CHECK(trunc == 1);
    CHECK_EQ_STR(tok, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
    if (l.n == 2) {
        CHECK_EQ_STR(l.items[0].key, "a");
        CHECK_EQ_STR(l.items[0].etag, "0cc175b9c0f1b6a831c399e269772661");
        CHECK_EQ_INT(l.items[0].size, 1);
        CHECK_EQ_STR(l.items[1].key, "b&c==");
        CHECK_EQ_STR(l.items[1].etag, "e2");
        CHECK(l.items[1].size == 1234567890123ull);
    }
    es_obj_list_reset(&l);

    static const char last[] = "<ListBucketResult><IsTruncated>false</IsTruncated>"
                               "<Contents><Key>k</Key><Size>0</Size></Contents>"
                               "</ListBucketResult>";
    CHECK_OK(
        es_objstore_s3_parse_list(&l, &trunc, tok, sizeof tok, last, sizeof last - 1, "", &err));
    CHECK_EQ_INT(l.n, 1);
    CHECK(trunc == 0 && tok[0] == 0);
    es_obj_list_reset(&l);

    /* Malformed or hostile responses: rejected, never a crash. */
    static const char *bad[] = {
        "",
        "<Error><Code>AccessDenied</Code></Error>",
        "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
        "<ListBucketResult><Contents><Key>a</Key><Size>x1</Size></Contents></ListBucketResult>",
        "<ListBucketResult><Contents><Key>a&bogus;</Key></Contents></ListBucketResult>",
        "<ListBucketResult><Contents><Key>a",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        es_status st = es_objstore_s3_parse_list(&l, &trunc, tok, sizeof tok, bad[i],
                                                 strlen(bad[i]), "", &err);
        CHECK(st == ES_CORRUPT || (st == ES_OK && l.n == 0));
        es_obj_list_reset(&l);
    }
    /* Every truncation of a valid page parses or fails cleanly. */
    for (size_t n = 0; n < sizeof page - 1; n++) {
        es_objstore_s3_parse_list(&l, &trunc, tok, sizeof tok, page, n, "p/", &err);
        es_obj_list_reset(&l);
    }
    char code[32];
    static const char e[] = "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code>"
                            "<Message></Message></Error>";
    CHECK(es_objstore_s3_xml_text(code, sizeof code, e, sizeof e - 1, "Code"));
    CHECK_EQ_STR(code, "SignatureDoesNotMatch");
    CHECK(es_objstore_s3_xml_text(code, sizeof code, e, sizeof e - 1, "Message"));
    CHECK_EQ_STR(code, "");
    CHECK(!es_objstore_s3_xml_text(code, sizeof code, e, sizeof e - 1, "Key"));
    CHECK(!es_objstore_s3_xml_text(code, 4, e, sizeof e - 1, "Code")); /* does not fit */
}

/* Open with ES_S3_CAS=off (no network) and return the description ("" on failure). */
static es_status open_describe(const char *uri, char *desc, size_t cap, es_error *err)
{
    es_objstore *s = NULL;
    desc[0] = 0;
    es_status st = es_objstore_open(&s, uri, err);
    if (st == ES_OK) {
        es_objstore_s3_describe(s, desc, cap);
        es_objstore_close(s);
    }
    return st;
}

static void test_config(void)
{
    char *saved[NVARS];
    char dir[] = "/tmp/es-s3-config-XXXXXX", cred[256], conf[256], d[1024];
    es_error err = {0};
    save_env(saved);
    if (!mkdtemp(dir)) {
        CHECK(0);
        restore_env(saved);
        return;
    }
    snprintf(cred, sizeof cred, "%s/credentials", dir);
    snprintf(conf, sizeof conf, "%s/config", dir);
    FILE *f = fopen(cred, "w");
    fprintf(f, "[default]\naws_access_key_id = DEFAULTKEY\naws_secret_access_key = defsecret\n\n"
               "[work]\naws_access_key_id=WORKKEY\naws_secret_access_key=worksecret\n"
               "aws_session_token = worktoken\n[broken]\naws_access_key_id = ONLYKEY\n");
    fclose(f);
    f = fopen(conf, "w");
    fprintf(f, "[default]\nregion = eu-west-3\n\n[profile work]\nregion=ap-south-1\n"
               "endpoint_url = http://127.0.0.1:9/\ns3 =\n  addressing_style = virtual\n");
    fclose(f);
    setenv("AWS_SHARED_CREDENTIALS_FILE", cred, 1);
    setenv("AWS_CONFIG_FILE", conf, 1);
    setenv("ES_S3_CAS", "off", 1);

    /* The default profile: AWS endpoint, virtual-hosted, region from the config file. */
    CHECK_OK(open_describe("s3://my-bucket/some/prefix/", d, sizeof d, &err));
    CHECK(strstr(d, "url=https://my-bucket.s3.eu-west-3.amazonaws.com ") != NULL);
    CHECK(strstr(d, "region=eu-west-3") != NULL);
    CHECK(strstr(d, "addressing=virtual") != NULL);
    CHECK(strstr(d, "prefix=some/prefix/ ") != NULL);
    CHECK(strstr(d, "access_key=DEFAULTKEY") != NULL);
    CHECK(strstr(d, "tls_verify=1") != NULL);
    CHECK(strstr(d, "defsecret") == NULL);
    /* A dotted bucket on AWS falls back to path style (the wildcard certificate). */
    CHECK_OK(open_describe("s3://my.bucket", d, sizeof d, &err));
    CHECK(strstr(d, "addressing=path") != NULL);

    /* A named profile: its credentials, token, region, endpoint and nested addressing_style. */
    setenv("AWS_PROFILE", "work", 1);
    CHECK_OK(open_describe("s3://b", d, sizeof d, &err));
    CHECK(strstr(d, "access_key=WORKKEY") != NULL);
    CHECK(strstr(d, "token=(set)") != NULL);
    CHECK(strstr(d, "region=ap-south-1") != NULL);
    CHECK(strstr(d, "url=http://b.127.0.0.1:9 ") != NULL);
    CHECK(strstr(d, "worksecret") == NULL && strstr(d, "worktoken") == NULL);
    /* The environment beats the files. */
    setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
    setenv("AWS_REGION", "us-west-2", 1);
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9", 1);
    setenv("AWS_ENDPOINT_URL_S3", "http://localhost:10", 1);
    setenv("ES_S3_ADDRESSING", "path", 1);
    CHECK_OK(open_describe("s3://b/p", d, sizeof d, &err));
    CHECK(strstr(d, "access_key=ENVKEY") != NULL);
    CHECK(strstr(d, "token=(none)") != NULL);
    CHECK(strstr(d, "region=us-west-2") != NULL);
    CHECK(strstr(d, "url=http://localhost:10 ") != NULL);
    CHECK(strstr(d, "addressing=path") != NULL);
    unsetenv("AWS_ENDPOINT_URL_S3");
    unsetenv("ES_S3_ADDRESSING");
    setenv("AWS_S3_ADDRESSING_STYLE", "auto", 1);
    CHECK_OK(open_describe("s3://b/p", d, sizeof d, &err));
    CHECK(strstr(d, "url=http://127.0.0.1:9 ") != NULL); /* custom endpoint: path style */
    CHECK(strstr(d, "addressing=path") != NULL);

    /* Misconfiguration: one-line errors naming the store. */
    setenv("AWS_S3_ADDRESSING_STYLE", "sideways", 1);
    CHECK(open_describe("s3://b/p", d, sizeof d, &err) == ES_INVALID);
    CHECK(strstr(err.msg, "sideways") != NULL);
    unsetenv("AWS_S3_ADDRESSING_STYLE");
    setenv("AWS_ENDPOINT_URL", "ftp://127.0.0.1:9", 1);
    CHECK(open_describe("s3://b/p", d, sizeof d, &err) == ES_INVALID);
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9/some/path", 1);
    CHECK(open_describe("s3://b/p", d, sizeof d, &err) == ES_INVALID);
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    setenv("AWS_PROFILE", "broken", 1);
    CHECK(open_describe("s3://b/p", d, sizeof d, &err) == ES_INVALID);
    setenv("AWS_PROFILE", "missing", 1);
    CHECK(open_describe("s3://b/p", d, sizeof d, &err) == ES_INVALID);
    CHECK(strstr(err.msg, "missing") != NULL);
    unsetenv("AWS_PROFILE");
    CHECK(open_describe("s3://", d, sizeof d, &err) == ES_INVALID);
    CHECK(open_describe("s3:///x", d, sizeof d, &err) == ES_INVALID);
    CHECK(open_describe("s3://bad bucket/x", d, sizeof d, &err) == ES_INVALID);

    remove(cred);
    remove(conf);
    rmdir(dir);
    restore_env(saved);
}

/* Fail the Nth allocation, for every N, in the parser and in open: ES_NOMEM or success, never
 * a crash or a leak (the ASan build checks leaks). */
static void test_alloc_failures(void)
{
    static const char page[] = "<ListBucketResult><IsTruncated>true</IsTruncated>"
                               "<Contents><Key>p/a</Key><Size>1</Size></Contents>"
                               "<Contents><Key>p/b</Key><Size>2</Size></Contents>"
                               "<Contents><Key>p/c</Key><Size>3</Size></Contents>"
                               "<NextContinuationToken>t</NextContinuationToken>"
                               "</ListBucketResult>";
    char *saved[NVARS];
    int bad = 0, ok_seen = 0;
    for (int n = 1; n < 40; n++) {
        es_obj_list l = {0};
        int trunc;
        char tok[16];
        es_error err = {0};
        es_util_alloc_fail_at(n, 0);
        es_status st = es_objstore_s3_parse_list(&l, &trunc, tok, sizeof tok, page, sizeof page - 1,
                                                 "p/", &err);
        es_util_alloc_fail_at(0, 0);
        if (st == ES_OK)
            ok_seen++, bad += l.n != 3;
        else
            bad += st != ES_NOMEM;
        es_obj_list_reset(&l);
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(ok_seen > 0);
    save_env(saved);
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9", 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDALLOC", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "alloc-secret", 1);
    setenv("AWS_SESSION_TOKEN", "alloc-token", 1);
    setenv("ES_S3_CAS", "off", 1);
    bad = ok_seen = 0;
    for (int n = 1; n < 40; n++) {
        es_objstore *s = NULL;
        es_error err = {0};
        es_util_alloc_fail_at(n, 0);
        es_status st = es_objstore_open(&s, "s3://bucket/some/prefix", &err);
        es_util_alloc_fail_at(0, 0);
        if (st == ES_OK)
            ok_seen++;
        else
            bad += st != ES_NOMEM || s != NULL;
        es_objstore_close(s);
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(ok_seen > 0);
    restore_env(saved);
}

/* A port nobody listens on: bind, read the port, close. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    socklen_t al = sizeof a;
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    close(fd);
    return ntohs(a.sin_port);
}

static void test_refused(void)
{
    char *saved[NVARS];
    char ep[64];
    es_error err = {0};
    es_objstore *s = NULL;
    int port = closed_port();
    if (!port) {
        CHECK(0);
        return;
    }
    save_env(saved);
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", port);
    setenv("AWS_ENDPOINT_URL", ep, 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDREFUSED", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "refused-secret-value", 1);
    es_retry_policy old;
    es_objstore_get_retry(&old);
    es_objstore_set_retry(&fast_retry);

    /* Opening sends no request. The first put-if-absent probes the server: refused ->
     * ES_TRANSIENT, promptly, naming the store; the probe is tried again next time. */
    int64_t t0 = es_now_ns(), nreq = -1, nconn = -1;
    CHECK_OK(es_objstore_open(&s, "s3://bucket/p", &err));
    CHECK_OK(es_objstore_s3_counters(s, &nreq, &nconn));
    CHECK_EQ_INT(nreq, 0);
    CHECK_EQ_INT(s->cas_supported, -1);
    CHECK_EQ_INT(es_objstore_put(s, "k", "x", 1, ES_PUT_IF_ABSENT, NULL, NULL, &err), ES_TRANSIENT);
    CHECK(strstr(err.msg, "s3://bucket/p/.expstore-cas-probe-") != NULL);
    CHECK(strstr(err.msg, "refused-secret-value") == NULL);
    CHECK_EQ_INT(s->cas_supported, -1);
    printf("  refused at the first put-if-absent: %s\n", err.msg);
    es_objstore_close(s);
    /* Without the probe, each operation fails the same way after the dispatch retries. */
    setenv("ES_S3_CAS", "off", 1);
    CHECK_OK(es_objstore_open(&s, "s3://bucket/p", &err));
    es_blob *b = NULL;
    CHECK_EQ_INT(es_objstore_get(s, "k", 0, UINT64_MAX, &b, &err), ES_TRANSIENT);
    CHECK(strstr(err.msg, "s3://bucket/p/k") != NULL);
    CHECK_EQ_INT(es_objstore_put(s, "k", "x", 1, ES_PUT_ALWAYS, NULL, NULL, &err), ES_TRANSIENT);
    es_range_req rr[3] = {{"a", 0, 10, NULL, 0}, {"b", 5, 1, NULL, 0}, {"c", 0, 0, NULL, 0}};
    CHECK_EQ_INT(es_objstore_get_many(s, rr, 3, &err), ES_TRANSIENT);
    CHECK(rr[0].status == ES_TRANSIENT && rr[1].status == ES_TRANSIENT &&
          rr[2].status == ES_TRANSIENT);
    es_objstore_stats stats;
    es_objstore_get_stats(s, &stats);
    CHECK(stats.errors[ES_OP_GET] >= 3);
    es_objstore_close(s);
    double secs = (double)(es_now_ns() - t0) / 1e9;
    printf("  connection refused: ES_TRANSIENT in %.2f s\n", secs);
    CHECK(secs < 10);
    es_objstore_set_retry(&old);
    restore_env(saved);
}

/* A tiny listener thread that accepts connections and never answers: it counts them and keeps
 * them open until stopped. */
typedef struct silent_server {
    int fd, port;
    int accepted; /* atomic */
    int conns[64], nconns;
    pthread_t thread;
} silent_server;

static void *silent_main(void *p)
{
    silent_server *sv = p;
    for (;;) {
        int c = accept(sv->fd, NULL, NULL);
        if (c < 0)
            return NULL; /* the listening socket was shut down */
        if (sv->nconns < 64)
            sv->conns[sv->nconns++] = c;
        else
            close(c);
        __atomic_add_fetch(&sv->accepted, 1, __ATOMIC_SEQ_CST);
    }
}

static int silent_start(silent_server *sv)
{
    struct sockaddr_in a = {0};
    socklen_t al = sizeof a;
    memset(sv, 0, sizeof *sv);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sv->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (sv->fd < 0 || bind(sv->fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(sv->fd, 16) != 0 || getsockname(sv->fd, (struct sockaddr *)&a, &al) != 0 ||
        pthread_create(&sv->thread, NULL, silent_main, sv) != 0) {
        if (sv->fd >= 0)
            close(sv->fd);
        return -1;
    }
    sv->port = ntohs(a.sin_port);
    return 0;
}

static int silent_accepted(silent_server *sv)
{
    return __atomic_load_n(&sv->accepted, __ATOMIC_SEQ_CST);
}

static void silent_stop(silent_server *sv)
{
    shutdown(sv->fd, SHUT_RDWR);
    close(sv->fd);
    pthread_join(sv->thread, NULL);
    for (int i = 0; i < sv->nconns; i++)
        close(sv->conns[i]);
}

/* An endpoint that accepts connections and never answers: the read timeout ends the attempt,
 * which is not retried (S5: its connection was new), and the message names the endpoint, the
 * limit and the variable; the whole-attempt limit the same. A listener whose accept queue is
 * full drops connection attempts: the connect timeout, which is retried. */
static void test_hung(void)
{
    char *saved[NVARS];
    char ep[64], want[200];
    es_error err = {0};
    es_objstore *s = NULL;
    silent_server sv;
    if (silent_start(&sv) != 0) {
        CHECK(0);
        return;
    }
    save_env(saved);
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", sv.port);
    setenv("AWS_ENDPOINT_URL", ep, 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDHUNG", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "hung-secret-value", 1);
    setenv("ES_S3_READ_TIMEOUT_S", "1", 1);
    es_retry_policy old;
    es_objstore_get_retry(&old);
    es_objstore_set_retry(&fast_retry);

    /* The C API: opening an existing store (create = 0) reads the commit log. */
    es_store *st = NULL;
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.create = 0;
    int64_t t0 = es_now_ns();
    CHECK_EQ_INT(es_store_open(&st, "s3://bucket/p", &o), ES_REMOTE);
    double secs = (double)(es_now_ns() - t0) / 1e9;
    const char *msg = es_store_errmsg(st);
    snprintf(want, sizeof want, "no response from %s within 1 s (ES_S3_READ_TIMEOUT_S)", ep);
    CHECK(strstr(msg, want) != NULL);
    CHECK(strstr(msg, "s3://bucket/p/") != NULL);
    CHECK(strstr(msg, "hung-secret-value") == NULL);
    printf("  silent server, open: %s (%.2f s, %d connections)\n", msg, secs, silent_accepted(&sv));
    CHECK(secs >= 0.9 && secs < 5); /* one read timeout, not attempts x timeout */
    /* Opening reads the hint and lists the log's first page in parallel: two connections. */
    int at_open = silent_accepted(&sv);
    CHECK(at_open >= 1 && at_open <= 2);
    es_store_close(st);

    /* The whole attempt, in milliseconds. */
    setenv("ES_S3_TIMEOUT_MS", "300", 1);
    CHECK_OK(es_objstore_open(&s, "s3://bucket/p", &err));
    t0 = es_now_ns();
    es_obj_info info;
    CHECK_EQ_INT(es_objstore_head(s, "k", &info, &err), ES_REMOTE);
    secs = (double)(es_now_ns() - t0) / 1e9;
    snprintf(want, sizeof want,
             "s3://bucket/p/k: head: no response from %s within 300 ms (ES_S3_TIMEOUT_MS)", ep);
    CHECK(strstr(err.msg, want) != NULL);
    printf("  silent server, head: %s (%.2f s)\n", err.msg, secs);
    CHECK(secs >= 0.29 && secs < 2);
    CHECK_EQ_INT(silent_accepted(&sv), at_open + 1);
    es_objstore_close(s);
    unsetenv("ES_S3_TIMEOUT_MS");
    silent_stop(&sv);

    /* Connect timeout: a backlog of 0 holds one connection that nobody accepts; further SYNs
     * are dropped. Retried like any connect failure (fast_retry: 3 attempts). */
    int lfd = socket(AF_INET, SOCK_STREAM, 0), cfd[4] = {-1, -1, -1, -1};
    struct sockaddr_in a = {0};
    socklen_t al = sizeof a;
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (lfd >= 0 && bind(lfd, (struct sockaddr *)&a, sizeof a) == 0 && listen(lfd, 0) == 0 &&
        getsockname(lfd, (struct sockaddr *)&a, &al) == 0) {
        for (int i = 0; i < 4; i++) {
            cfd[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            if (cfd[i] >= 0 && connect(cfd[i], (struct sockaddr *)&a, sizeof a) != 0 &&
                errno != EINPROGRESS)
                break;
        }
        usleep(50 * 1000);
        snprintf(ep, sizeof ep, "http://127.0.0.1:%d", ntohs(a.sin_port));
        setenv("AWS_ENDPOINT_URL", ep, 1);
        setenv("ES_S3_CONNECT_TIMEOUT_MS", "200", 1);
        CHECK_OK(es_objstore_open(&s, "s3://bucket/p", &err));
        t0 = es_now_ns();
        CHECK_EQ_INT(es_objstore_head(s, "k", &info, &err), ES_TRANSIENT);
        secs = (double)(es_now_ns() - t0) / 1e9;
        snprintf(want, sizeof want,
                 "connecting to %s timed out after 200 ms (ES_S3_CONNECT_TIMEOUT_MS)", ep);
        CHECK(strstr(err.msg, want) != NULL);
        printf("  full accept queue: %s (%.2f s for %d attempts)\n", err.msg, secs,
               fast_retry.max_attempts);
        CHECK(secs >= 0.19 * fast_retry.max_attempts && secs < 5);
        es_objstore_close(s);
        unsetenv("ES_S3_CONNECT_TIMEOUT_MS");
    } else {
        CHECK(0);
    }
    for (int i = 0; i < 4; i++)
        if (cfd[i] >= 0)
            close(cfd[i]);
    if (lfd >= 0)
        close(lfd);
    es_objstore_set_retry(&old);
    unsetenv("ES_S3_READ_TIMEOUT_S");
    restore_env(saved);
}

/* A scripted HTTP server on loopback: for each object key (last path segment) a list of
 * answers, consumed one per request: "503 SlowDown" (an S3 error with that code),
 * "403 Code|Message" (with a <Message>), "206 data" (success with that body), "RESET" (close
 * the connection without answering), "HANG" (say nothing until the client closes), "STALL"
 * (send the start of an answer, then nothing). It checks the
 * backend's retries against real HTTP exchanges, which a real server will not produce on
 * demand. Thread per connection; keep-alive. */
typedef struct fake_key {
    const char *key;
    const char *answers[8];
    int served;
} fake_key;

typedef struct fake_server {
    int fd, port;
    fake_key *keys;
    int nkeys;
    pthread_mutex_t lock;
} fake_server;

typedef struct fake_conn {
    fake_server *srv;
    int fd;
} fake_conn;

static void *fake_conn_main(void *p)
{
    fake_conn *c = p;
    char buf[16384];
    size_t have = 0;
    for (;;) {
        char *end;
        while (!(end = memmem(buf, have, "\r\n\r\n", 4))) {
            ssize_t r = have < sizeof buf ? read(c->fd, buf + have, sizeof buf - have) : 0;
            if (r <= 0)
                goto out;
            have += (size_t)r;
        }
        size_t hlen = (size_t)(end + 4 - buf), blen = 0;
        char *cl = strcasestr(buf, "content-length:");
        if (cl && cl < end)
            blen = (size_t)strtoul(cl + 15, NULL, 10);
        while (have < hlen + blen && have < sizeof buf) {
            ssize_t r = read(c->fd, buf + have, sizeof buf - have);
            if (r <= 0)
                goto out;
            have += (size_t)r;
        }
        /* "GET /bucket/p/KEY?query HTTP/1.1": the last path segment names the script. */
        char path[512] = "";
        sscanf(buf, "%*s %511s", path);
        char *q = strchr(path, '?');
        if (q)
            *q = 0;
        const char *key = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        const char *ans = "404 NoSuchKey";
        pthread_mutex_lock(&c->srv->lock);
        for (int i = 0; i < c->srv->nkeys; i++) {
            fake_key *k = &c->srv->keys[i];
            if (strcmp(k->key, key) == 0) {
                int j = k->served < 8 && k->answers[k->served] ? k->served : -1;
                if (j < 0) /* past the script: repeat the last answer */
                    for (j = 7; j > 0 && !k->answers[j]; j--) {
                    }
                ans = k->answers[j];
                k->served++;
            }
        }
        pthread_mutex_unlock(&c->srv->lock);
        memmove(buf, buf + hlen + blen, have - hlen - blen);
        have -= hlen + blen;
        if (!strcmp(ans, "RESET"))
            goto out;
        if (!strcmp(ans, "HANG") || !strcmp(ans, "STALL")) {
            /* Say nothing, or begin an answer and stop, until the client gives up. */
            static const char part[] = "HTTP/1.1 200 X\r\nContent-Length: 100\r\n\r\nabc";
            if (!strcmp(ans, "STALL") && write(c->fd, part, sizeof part - 1) < 0)
                goto out;
            while (read(c->fd, buf, sizeof buf) > 0) {
            }
            goto out;
        }
        int status = atoi(ans);
        const char *text = strchr(ans, ' ') ? strchr(ans, ' ') + 1 : "";
        const char *bar = strchr(text, '|'); /* "Code|Message" */
        char body[512], resp[1024];
        if (status >= 300)
            snprintf(body, sizeof body,
                     "<?xml version=\"1.0\"?><Error><Code>%.*s</Code><Message>%s</Message></Error>",
                     (int)(bar ? bar - text : (ptrdiff_t)strlen(text)), text, bar ? bar + 1 : "");
        else
            snprintf(body, sizeof body, "%s", text);
        int n = snprintf(resp, sizeof resp,
                         "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nETag: \"e%d\"\r\n\r\n%s", status,
                         strlen(body), status, body);
        if (write(c->fd, resp, (size_t)n) != n)
            goto out;
    }
out:
    close(c->fd);
    free(c);
    return NULL;
}

static void *fake_accept_main(void *p)
{
    fake_server *srv = p;
    for (;;) {
        int fd = accept(srv->fd, NULL, NULL);
        if (fd < 0)
            return NULL; /* the listening socket was shut down */
        fake_conn *c = malloc(sizeof *c);
        c->srv = srv;
        c->fd = fd;
        pthread_t t;
        pthread_create(&t, NULL, fake_conn_main, c);
        pthread_detach(t);
    }
}

static int fake_served(fake_server *srv, const char *key)
{
    int n = -1;
    pthread_mutex_lock(&srv->lock);
    for (int i = 0; i < srv->nkeys; i++)
        if (!strcmp(srv->keys[i].key, key))
            n = srv->keys[i].served;
    pthread_mutex_unlock(&srv->lock);
    return n;
}

static void test_retries(void)
{
    static fake_key keys[] = {
        {"flaky", {"503 SlowDown", "500 InternalError", "200 hello"}, 0},
        {"down", {"503 ServiceUnavailable"}, 0},
        {"denied",
         {"403 SignatureDoesNotMatch|The request signature we calculated does not match the "
          "signature you provided.\n\tCheck your key and signing method.",
          "200 never"},
         0},
        {"leaky", {"403 AccessDenied|no access for fake-secret-value"}, 0},
        {"stale", {"200 first", "HANG", "200 again"}, 0},
        {"stuck", {"STALL"}, 0},
        {"slow", {"400 RequestTimeout", "429 TooManyRequests", "200 late"}, 0},
        {"ra", {"429 SlowDown", "206 aaaa"}, 0},
        {"rb", {"RESET", "206 bbbb"}, 0},
        {"rc", {"206 cccc"}, 0},
        {"rd", {"502 BadGateway"}, 0},
    };
    fake_server srv = {0};
    pthread_t acceptor;
    struct sockaddr_in a = {0};
    socklen_t al = sizeof a;
    srv.keys = keys;
    srv.nkeys = (int)(sizeof keys / sizeof keys[0]);
    pthread_mutex_init(&srv.lock, NULL);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    srv.fd = socket(AF_INET, SOCK_STREAM, 0);
    if (srv.fd < 0 || bind(srv.fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(srv.fd, 64) != 0 || getsockname(srv.fd, (struct sockaddr *)&a, &al) != 0) {
        CHECK(0);
        return;
    }
    pthread_create(&acceptor, NULL, fake_accept_main, &srv);

    char *saved[NVARS], ep[64];
    save_env(saved);
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", ntohs(a.sin_port));
    setenv("AWS_ENDPOINT_URL", ep, 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDFAKE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "fake-secret-value", 1);
    setenv("ES_S3_CAS", "off", 1);
    setenv("ES_S3_READ_TIMEOUT_S", "1", 1);
    es_retry_policy old;
    es_objstore_get_retry(&old);
    es_objstore_set_retry(&fast_retry); /* 3 attempts */
    es_objstore *s = NULL;
    es_error err = {0};
    es_blob *b = NULL;
    es_objstore_stats st;
    CHECK_OK(es_objstore_open(&s, "s3://bucket/p", &err));
    if (!s)
        goto done;

    /* 503 SlowDown, 500, then 200: the third attempt succeeds. */
    CHECK_OK(es_objstore_get(s, "flaky", 0, UINT64_MAX, &b, &err));
    CHECK(blob_eq(b, "hello", 5));
    es_blob_unref(b);
    b = NULL;
    CHECK_EQ_INT(fake_served(&srv, "flaky"), 3);
    es_objstore_get_stats(s, &st);
    CHECK_EQ_INT(st.requests[ES_OP_GET], 3);
    CHECK_EQ_INT(st.errors[ES_OP_GET], 2);
    /* Always 503: ES_TRANSIENT once the attempts are spent, with the status in sys_code. */
    CHECK_EQ_INT(es_objstore_get(s, "down", 0, 10, &b, &err), ES_TRANSIENT);
    CHECK_EQ_INT(err.sys_code, 503);
    CHECK(strstr(err.msg, "s3://bucket/p/down: get: 503 ServiceUnavailable") != NULL);
    CHECK_EQ_INT(fake_served(&srv, "down"), fast_retry.max_attempts);
    /* 403 is permanent: one attempt. The message ends with the error document's <Message>, on
     * one line; one that holds the secret is left out. */
    CHECK_EQ_INT(es_objstore_get(s, "denied", 0, 10, &b, &err), ES_REMOTE);
    CHECK_EQ_INT(fake_served(&srv, "denied"), 1);
    CHECK(strstr(err.msg, "fake-secret-value") == NULL);
    CHECK(strstr(err.msg, "s3://bucket/p/denied: get: 403 SignatureDoesNotMatch: The request "
                          "signature we calculated does not match the signature you provided. "
                          "Check your key and signing method.") != NULL);
    printf("  403 with a message: %s\n", err.msg);
    CHECK_EQ_INT(es_objstore_get(s, "leaky", 0, 10, &b, &err), ES_REMOTE);
    CHECK(strstr(err.msg, "s3://bucket/p/leaky: get: 403 AccessDenied") != NULL);
    CHECK(strstr(err.msg, "fake-secret-value") == NULL && strstr(err.msg, "no access") == NULL);
    /* A kept-alive connection that goes silent (it may have died in the pool) is retried on
     * another one: S5 gives up only on connections opened for the request. */
    CHECK_OK(es_objstore_get(s, "stale", 0, UINT64_MAX, &b, &err));
    CHECK(blob_eq(b, "first", 5));
    es_blob_unref(b);
    b = NULL;
    CHECK_OK(es_objstore_get(s, "stale", 0, UINT64_MAX, &b, &err));
    CHECK(blob_eq(b, "again", 5));
    es_blob_unref(b);
    b = NULL;
    CHECK_EQ_INT(fake_served(&srv, "stale"), 3);
    /* An answer that stops midway: the read timeout, retryable (one attempt here). */
    es_retry_policy once = {1, 1000 * 1000, 1000 * 1000};
    es_objstore_set_retry(&once);
    CHECK_EQ_INT(es_objstore_get(s, "stuck", 0, UINT64_MAX, &b, &err), ES_TRANSIENT);
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", ntohs(a.sin_port));
    char want[160];
    snprintf(want, sizeof want,
             "s3://bucket/p/stuck: get: transfer from %s stalled: nothing for 1 s "
             "(ES_S3_READ_TIMEOUT_S)",
             ep);
    CHECK(strstr(err.msg, want) != NULL);
    printf("  stalled answer: %s\n", err.msg);
    es_objstore_set_retry(&fast_retry);
    /* 400 RequestTimeout and 429 are retryable too. */
    CHECK_OK(es_objstore_get(s, "slow", 0, UINT64_MAX, &b, &err));
    CHECK(blob_eq(b, "late", 4));
    es_blob_unref(b);
    b = NULL;
    /* get_many: the batch retries its own requests (429, a reset connection), and what stays
     * transient is retried once more by the dispatch layer, one by one. */
    es_range_req rr[4] = {
        {"ra", 0, 4, NULL, 0}, {"rb", 0, 4, NULL, 0}, {"rc", 0, 4, NULL, 0}, {"rd", 0, 4, NULL, 0}};
    CHECK_EQ_INT(es_objstore_get_many(s, rr, 4, &err), ES_TRANSIENT);
    CHECK(rr[0].status == ES_OK && blob_eq(rr[0].out, "aaaa", 4));
    CHECK(rr[1].status == ES_OK && blob_eq(rr[1].out, "bbbb", 4));
    CHECK(rr[2].status == ES_OK && blob_eq(rr[2].out, "cccc", 4));
    CHECK(rr[3].status == ES_TRANSIENT && rr[3].out == NULL);
    CHECK(strstr(err.msg, "rd: get: 502 BadGateway") != NULL);
    CHECK_EQ_INT(fake_served(&srv, "ra"), 2);
    CHECK_EQ_INT(fake_served(&srv, "rb"), 2);
    CHECK_EQ_INT(fake_served(&srv, "rc"), 1);
    CHECK_EQ_INT(fake_served(&srv, "rd"), 2 * fast_retry.max_attempts);
    for (int i = 0; i < 4; i++)
        es_blob_unref(rr[i].out);
    es_objstore_close(s);
done:
    es_objstore_set_retry(&old);
    restore_env(saved);
    shutdown(srv.fd, SHUT_RDWR);
    close(srv.fd);
    pthread_join(acceptor, NULL);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    test_classify();
    test_xml();
    test_config();
    test_alloc_failures();
    test_refused();
    test_hung();
    test_retries();
    return CHECK_DONE();
}
