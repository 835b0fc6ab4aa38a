/*
 * test_small_crash: durable small writes (issue 13) through crashes and faults: a crash after
 * the Nth put through the fault store, and a loop of injected failures, with inline inserts,
 * deletes and flushes: every acknowledged write survives exactly once, nothing unacknowledged
 * half-appears. (test_small kills a writing shell at random moments.)
 */
#include "small_util.h"

/* ------------------------------------------------------------ crash loops */

/* Operation k of the workload on table "cr": an insert of one row (id k), every 5th a delete
 * of an earlier id, every 7th a flush. Returns the status; *kind what it was. */
static es_status workload_op(es_store *s, int k, int *kind, int64_t *id)
{
    if (k % 7 == 6) {
        *kind = 2;
        return es_table_flush(s, "cr", NULL);
    }
    if (k % 5 == 4) {
        *kind = 1;
        *id = k - 3;
        int64_t n = 0;
        return delete_keys(s, "cr", id, 1, &n);
    }
    *kind = 0;
    *id = k;
    return insert_small(s, "cr", k, 1, 1);
}

/* Crash after the Nth put, for every N the workload reaches: the store reopened from what was
 * written must hold every acknowledged change exactly once; the change that was running may or
 * may not be there, whole. */
static void test_crash_points(void)
{
    const int OPS = 30;
    int64_t crashes = 0, in_doubt_applied = 0;
    for (int64_t at = 1;; at++) {
        es_objstore *inner = NULL, *fw = NULL;
        es_open_options o = ES_OPEN_OPTIONS_INIT;
        o.flush_rows = 8;
        es_fault_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.crash_after_put = at;
        cfg.op = -1;
        es_store *s = fault_store("small_crash", "cr", "id", &inner, &fw, &o, &cfg);
        model m, doubt;
        memset(&m, 0, sizeof m);
        int crashed = 0;
        for (int k = 0; k < OPS && !crashed; k++) {
            int kind;
            int64_t id = -1;
            es_status st = workload_op(s, k, &kind, &id);
            doubt = m;
            if (kind == 0)
                model_insert(&doubt, id);
            else if (kind == 1)
                doubt.present[id] = 0;
            if (st == ES_OK)
                m = doubt;
            crashed = es_objstore_fault_crashed(fw);
            if (st && !crashed)
                CHECK(!"an operation failed without a crash");
        }
        es_store_close(s);
        es_objstore_close(fw);
        if (!crashed) {
            es_objstore_close(inner);
            break;
        }
        crashes++;
        /* Reopen from the inner store, as a restarted process would. */
        es_store *r = NULL;
        CHECK_OK(es_store_open_objstore(&r, inner, 0, &o, NULL));
        char *got = r ? table_state(r, "cr", -1) : NULL;
        char *want = model_state(&m), *alt = model_state(&doubt);
        int ok = got && (strcmp(got, want) == 0 || strcmp(got, alt) == 0);
        if (!ok)
            fprintf(stderr, "crash after put %lld: got %.200s\nwant %.200s\n", (long long)at,
                    got ? got : "(error)", want);
        CHECK(ok);
        in_doubt_applied += got && strcmp(got, want) != 0;
        free(got);
        free(want);
        free(alt);
        /* The store is writable after the crash. */
        CHECK_OK(insert_small(r, "cr", 3000, 1, 1));
        es_store_close(r);
        es_objstore_close(inner);
    }
    CHECK(crashes >= 20);
    printf("crash points: %lld, the running change committed in %lld of them\n", (long long)crashes,
           (long long)in_doubt_applied);
    es_objstore_mem_drop("small_crash");
}

/* Fail the Nth request once (a lost response or a refused request), for every N: a call that
 * returns success is applied once, a call that fails is not applied at all. */
static void test_fault_loop(void)
{
    const int OPS = 24;
    int64_t injected = 0;
    for (int after = 0; after < 2; after++) {
        for (int64_t at = 1;; at++) {
            es_objstore *inner = NULL, *fw = NULL;
            es_open_options o = ES_OPEN_OPTIONS_INIT;
            o.flush_rows = 8;
            es_fault_config cfg;
            memset(&cfg, 0, sizeof cfg);
            cfg.fail_at = at;
            cfg.after = after;
            cfg.status = ES_IO;
            cfg.op = -1;
            es_store *s = fault_store("small_fault", "cr", "id", &inner, &fw, &o, &cfg);
            model m;
            memset(&m, 0, sizeof m);
            for (int k = 0; k < OPS; k++) {
                int kind;
                int64_t id = -1;
                if (workload_op(s, k, &kind, &id) != ES_OK)
                    continue;
                if (kind == 0)
                    model_insert(&m, id);
                else if (kind == 1)
                    m.present[id] = 0;
            }
            int64_t n = es_objstore_fault_injected(fw);
            es_objstore_fault_set(fw, NULL);
            CHECK(same_state(s, "cr", -1, &m));
            es_store *r = NULL;
            CHECK_OK(es_store_open_objstore(&r, fw, 0, &o, NULL));
            CHECK(r && same_state(r, "cr", -1, &m));
            es_store_close(r);
            es_store_close(s);
            es_objstore_close(fw);
            es_objstore_close(inner);
            if (n == 0)
                break;
            injected += n;
        }
    }
    CHECK(injected >= 40);
    printf("fault loop: %lld failures injected\n", (long long)injected);
    es_objstore_mem_drop("small_fault");
}

int main(int argc, char **argv)
{
    (void)argc, (void)argv;
    TIMED(test_crash_points());
    TIMED(test_fault_loop());
    return CHECK_DONE();
}
