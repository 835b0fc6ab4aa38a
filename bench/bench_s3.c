/*
 * bench_s3: request counts and throughput of the S3 backend (put, get, range get) with 1, 8
 * and 32 requests in flight. Puts run from that many threads (one request each at a time);
 * gets and range gets are batches of that many ranges through es_objstore_get_many (curl
 * multi: the batch costs about one round trip). Figures, not assertions.
 *
 *   tests/s3/rgw-start /tmp/rgw && tests/s3/with-env /tmp/rgw rgw build/bench/bench_s3
 *   bench_s3 [s3://bucket/prefix] [object_kib] [requests_per_cell]   (default URI: ES_TEST_S3_URI)
 *   tests/s3/rgw-stop /tmp/rgw
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "expstore/sys/objstore.h"
#include "util/util.h"

typedef struct put_job {
    es_objstore *s;
    int thread, nthreads, total;
    const uint8_t *data;
    size_t size;
    int errors;
} put_job;

static void *put_worker(void *p)
{
    put_job *j = p;
    char key[64];
    es_error err = {0};
    for (int i = j->thread; i < j->total; i += j->nthreads) {
        snprintf(key, sizeof key, "bench/obj%05d", i);
        if (es_objstore_put(j->s, key, j->data, j->size, ES_PUT_ALWAYS, NULL, NULL, &err))
            j->errors++;
    }
    return NULL;
}

static void row(const char *op, int inflight, int64_t requests, int64_t bytes, double secs,
                int errors)
{
    printf("| %-9s | %9d | %8lld | %9.1f | %9.0f | %8.1f | %6d |\n", op, inflight,
           (long long)requests, secs * 1000, (double)requests / secs,
           (double)bytes / secs / (1024 * 1024), errors);
}

int main(int argc, char **argv)
{
    const char *uri = argc > 1 && argv[1][0] ? argv[1] : getenv("ES_TEST_S3_URI");
    size_t kib = argc > 2 ? (size_t)atoi(argv[2]) : 64;
    int total = argc > 3 ? atoi(argv[3]) : 256;
    static const int inflight[] = {1, 8, 32};
    es_objstore *s = NULL;
    es_error err = {0};
    if (!uri) {
        fprintf(stderr, "usage: bench_s3 s3://bucket/prefix [object_kib] [requests]\n");
        return 2;
    }
    if (total < 32)
        total = 32;
    if (es_objstore_open(&s, uri, &err) != ES_OK) {
        fprintf(stderr, "%s: %s\n", uri, err.msg);
        return 1;
    }
    size_t size = kib * 1024;
    uint8_t *data = malloc(size + 1);
    for (size_t i = 0; i < size; i++)
        data[i] = (uint8_t)(i * 31 + 7);
    printf("bench_s3 %s: %zu KiB objects, %d requests per row, range gets of 4 KiB\n", uri, kib,
           total);
    printf("| op        | in flight | requests |   time ms |   req/s   |    MiB/s | errors |\n");
    printf("|-----------|-----------|----------|-----------|-----------|----------|--------|\n");
    es_objstore_stats st0, st1;
    for (size_t c = 0; c < sizeof inflight / sizeof inflight[0]; c++) {
        int n = inflight[c];
        put_job jobs[32];
        pthread_t th[32];
        es_objstore_get_stats(s, &st0);
        int64_t t0 = es_now_ns();
        for (int i = 0; i < n; i++) {
            jobs[i] = (put_job){s, i, n, total, data, size, 0};
            pthread_create(&th[i], NULL, put_worker, &jobs[i]);
        }
        int errors = 0;
        for (int i = 0; i < n; i++) {
            pthread_join(th[i], NULL);
            errors += jobs[i].errors;
        }
        double secs = (double)(es_now_ns() - t0) / 1e9;
        es_objstore_get_stats(s, &st1);
        row("put", n, st1.requests[ES_OP_PUT] - st0.requests[ES_OP_PUT],
            st1.bytes_out[ES_OP_PUT] - st0.bytes_out[ES_OP_PUT], secs, errors);
    }
    es_range_req *rr = calloc((size_t)total, sizeof *rr);
    char(*keys)[64] = calloc((size_t)total, 64);
    for (int i = 0; i < total; i++)
        snprintf(keys[i], 64, "bench/obj%05d", i);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t c = 0; c < sizeof inflight / sizeof inflight[0]; c++) {
            int n = inflight[c], errors = 0;
            es_objstore_get_stats(s, &st0);
            int64_t t0 = es_now_ns();
            for (int at = 0; at < total; at += n) {
                int m = total - at < n ? total - at : n;
                for (int i = 0; i < m; i++) {
                    int k = at + i;
                    rr[i] = (es_range_req){keys[k], pass ? (uint64_t)(k * 4096) % size : 0,
                                           pass ? 4096 : UINT64_MAX, NULL, ES_OK};
                }
                if (es_objstore_get_many(s, rr, m, &err) != ES_OK)
                    errors++;
                for (int i = 0; i < m; i++)
                    es_blob_unref(rr[i].out);
            }
            double secs = (double)(es_now_ns() - t0) / 1e9;
            es_objstore_get_stats(s, &st1);
            row(pass ? "range-get" : "get", n, st1.requests[ES_OP_GET] - st0.requests[ES_OP_GET],
                st1.bytes_in[ES_OP_GET] - st0.bytes_in[ES_OP_GET], secs, errors);
        }
    }
    /* Clean up. */
    const char **dk = calloc((size_t)total, sizeof *dk);
    for (int i = 0; i < total; i++)
        dk[i] = keys[i];
    es_objstore_delete(s, dk, total, &err);
    free(dk);
    free(rr);
    free(keys);
    free(data);
    es_objstore_close(s);
    return 0;
}
