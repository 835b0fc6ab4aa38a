/*
 * bench_objstore: request counts and throughput of put, get and range-get against object
 * stores, with 1, 8 and 32 requests in flight, printed as a table.
 *
 *   bench_objstore [-n ops] [-s object_bytes] [-r range_bytes] [uri ...]
 *
 * Without a URI it measures the local directory backend in a temporary directory under /tmp
 * (durable puts: fsync included), removed at the end. Any store URI may be given instead or
 * in addition (s3://bucket/prefix, mem://x, cache+s3://...). Puts and whole-object gets run
 * 1, 8 or 32 threads; range-gets issue es_objstore_get_many batches of 1, 8 or 32 requests
 * from one thread (the S3 backend runs a batch in parallel). "requests" is what the store's
 * counters saw, retries included. Keys live under a random prefix and are deleted afterwards.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "objstore/objstore.h"
#include "os/os.h"
#include "util/util.h"

static int n_ops = 256;
static size_t obj_bytes = 64 << 10;
static size_t range_bytes = 4 << 10;
static char prefix[40];

typedef struct job {
    es_objstore *s;
    int op; /* 0 put, 1 get */
    int tid, nthreads;
    const uint8_t *data;
    int64_t bytes;
    int failures;
} job;

static void key_of(char *k, size_t cap, int i)
{
    snprintf(k, cap, "%sobj%06d", prefix, i);
}

static void *worker(void *p)
{
    job *j = p;
    char key[128];
    for (int i = j->tid; i < n_ops; i += j->nthreads) {
        es_error err = {0};
        key_of(key, sizeof key, i);
        if (j->op == 0) {
            if (es_objstore_put(j->s, key, j->data, obj_bytes, ES_PUT_ALWAYS, NULL, NULL, &err) !=
                ES_OK) {
                if (!j->failures++)
                    fprintf(stderr, "put: %s\n", err.msg);
                continue;
            }
            j->bytes += (int64_t)obj_bytes;
        } else {
            es_blob *b = NULL;
            if (es_objstore_get(j->s, key, 0, UINT64_MAX, &b, &err) != ES_OK) {
                if (!j->failures++)
                    fprintf(stderr, "get: %s\n", err.msg);
                continue;
            }
            j->bytes += (int64_t)b->size;
            es_blob_unref(b);
        }
    }
    return NULL;
}

static void row(const char *uri, const char *op, int inflight, int ops, int64_t reqs, int64_t bytes,
                int64_t ns, int failures)
{
    double sec = (double)ns / 1e9;
    printf("%-28.28s %-9s %8d %7d %9lld %10.2f %8.3f %10.1f %9.2f %s\n", uri, op, inflight, ops,
           (long long)reqs, (double)bytes / 1048576.0, sec, sec > 0 ? ops / sec : 0.0,
           sec > 0 ? (double)bytes / 1048576.0 / sec : 0.0, failures ? "(failures)" : "");
}

static void run_threads(es_objstore *s, const char *uri, int op, int nthreads, const uint8_t *data)
{
    pthread_t th[32];
    job jobs[32];
    es_objstore_reset_stats(s);
    int64_t t0 = es_now_ns();
    for (int t = 0; t < nthreads; t++) {
        jobs[t] = (job){s, op, t, nthreads, data, 0, 0};
        pthread_create(&th[t], NULL, worker, &jobs[t]);
    }
    int64_t bytes = 0;
    int failures = 0;
    for (int t = 0; t < nthreads; t++) {
        pthread_join(th[t], NULL);
        bytes += jobs[t].bytes;
        failures += jobs[t].failures;
    }
    int64_t ns = es_now_ns() - t0;
    row(uri, op == 0 ? "put" : "get", nthreads, n_ops, es_objstore_requests(s), bytes, ns,
        failures);
}

static void run_ranges(es_objstore *s, const char *uri, int batch)
{
    es_range_req reqs[32];
    char keys[32][128];
    uint64_t x = 88172645463325252ull;
    int64_t bytes = 0;
    int failures = 0;
    es_objstore_reset_stats(s);
    int64_t t0 = es_now_ns();
    for (int done = 0; done < n_ops; done += batch) {
        int n = n_ops - done < batch ? n_ops - done : batch;
        for (int i = 0; i < n; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            key_of(keys[i], sizeof keys[i], (int)(x % (uint64_t)n_ops));
            uint64_t max_off = obj_bytes > range_bytes ? obj_bytes - range_bytes : 0;
            reqs[i] = (es_range_req){keys[i], max_off ? (x >> 20) % max_off : 0, range_bytes, NULL,
                                     ES_OK};
        }
        es_error err = {0};
        if (es_objstore_get_many(s, reqs, n, &err) != ES_OK && !failures++)
            fprintf(stderr, "get_many: %s\n", err.msg);
        for (int i = 0; i < n; i++) {
            if (reqs[i].status == ES_OK)
                bytes += (int64_t)reqs[i].out->size;
            es_blob_unref(reqs[i].out);
        }
    }
    int64_t ns = es_now_ns() - t0;
    row(uri, "range-get", batch, n_ops, es_objstore_requests(s), bytes, ns, failures);
}

static int bench_uri(const char *uri, const char *label)
{
    es_objstore *s = NULL;
    es_error err = {0};
    if (es_objstore_open(&s, uri, &err) != ES_OK) {
        fprintf(stderr, "%s: %s\n", uri, err.msg);
        return 1;
    }
    uint8_t *data = es_malloc(obj_bytes);
    if (!data) {
        es_objstore_close(s);
        return 1;
    }
    for (size_t i = 0; i < obj_bytes; i++)
        data[i] = (uint8_t)(i * 131 + (i >> 9));
    snprintf(prefix, sizeof prefix, "bench-%016llx/", (unsigned long long)es_random_u64());
    static const int inflight[3] = {1, 8, 32};
    for (int i = 0; i < 3; i++)
        run_threads(s, label, 0, inflight[i], data);
    for (int i = 0; i < 3; i++)
        run_threads(s, label, 1, inflight[i], data);
    for (int i = 0; i < 3; i++)
        run_ranges(s, label, inflight[i]);
    /* Clean up. */
    const char **keys = es_calloc((size_t)n_ops, sizeof *keys);
    char *kb = es_malloc((size_t)n_ops * 128);
    if (keys && kb) {
        for (int i = 0; i < n_ops; i++) {
            key_of(kb + (size_t)i * 128, 128, i);
            keys[i] = kb + (size_t)i * 128;
        }
        es_objstore_delete(s, keys, n_ops, &err);
    }
    es_free(keys);
    es_free(kb);
    es_free(data);
    es_objstore_close(s);
    return 0;
}

int main(int argc, char **argv)
{
    int first_uri = argc;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            n_ops = atoi(argv[++i]);
        } else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
            obj_bytes = (size_t)strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc) {
            range_bytes = (size_t)strtoull(argv[++i], NULL, 10);
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: %s [-n ops] [-s object_bytes] [-r range_bytes] [uri ...]\n",
                    argv[0]);
            return 2;
        } else {
            first_uri = i;
            break;
        }
    }
    if (n_ops < 1 || obj_bytes < 1 || range_bytes < 1) {
        fprintf(stderr, "bench_objstore: bad sizes\n");
        return 2;
    }
    if (range_bytes > obj_bytes)
        range_bytes = obj_bytes;
    printf("objects: %d x %zu bytes, ranges of %zu bytes\n", n_ops, obj_bytes, range_bytes);
    printf("%-28s %-9s %8s %7s %9s %10s %8s %10s %9s\n", "store", "op", "inflight", "ops",
           "requests", "MiB", "seconds", "ops/s", "MiB/s");
    int rc = 0;
    if (first_uri >= argc) {
        char root[] = "/tmp/es-bench-objstore-XXXXXX";
        es_error err = {0};
        if (es_os_make_temp_dir(root, &err) != ES_OK) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        rc |= bench_uri(root, "local (/tmp)");
        es_os_remove_tree(root, &err);
    }
    for (int i = first_uri; i < argc; i++)
        rc |= bench_uri(argv[i], argv[i]);
    return rc;
}
