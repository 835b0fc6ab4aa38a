/*
 * test_objstore_faults: the object store under failures and concurrency, on every backend
 * like the conformance suite (objstore_util.h): fault loops (fail the Nth request of each kind
 * transiently -> still succeeds through retries; permanently -> a clear error and only whole
 * objects visible), crash after the Nth put, races (threads; processes with fork on stores
 * other than mem://), and allocation failures (SQLite's malloc loops).
 */
#include <errno.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdatomic.h>

#include "objstore_util.h"

/* ------------------------------------------------------------ fault loops */

/* The workload of the fault loops: ten steps over keys f/a and f/b. Returns ES_OK, or the
 * status of the first failing step (in *step). */
enum { VA = 1000, VA2 = 1500, VB = 700 };
static uint8_t va[VA], va2[VA2], vb[VB];

static es_status workload(es_objstore *s, int cas, int *step, es_error *err)
{
    es_blob *b = NULL;
    es_obj_info info;
    es_obj_list l = {0};
    es_status rc;
    int ok;
#define STEP(n, call)                                                                              \
    do {                                                                                           \
        *step = (n);                                                                               \
        if ((rc = (call)) != ES_OK)                                                                \
            return rc;                                                                             \
    } while (0)
    STEP(1, es_objstore_put(s, K("f/a"), va, VA, ES_PUT_ALWAYS, NULL, NULL, err));
    STEP(2, es_objstore_get(s, K("f/a"), 0, UINT64_MAX, &b, err));
    ok = blob_eq(b, va, VA);
    es_blob_unref(b);
    if (!ok)
        return es_error_set(err, ES_CORRUPT, 0, "f/a: wrong content");
    STEP(3, es_objstore_get(s, K("f/a"), 100, 200, &b, err));
    ok = blob_eq(b, va + 100, 200);
    es_blob_unref(b);
    if (!ok)
        return es_error_set(err, ES_CORRUPT, 0, "f/a: wrong range");
    STEP(4, es_objstore_head(s, K("f/a"), &info, err));
    if (info.size != VA)
        return es_error_set(err, ES_CORRUPT, 0, "f/a: wrong size");
    STEP(5, es_objstore_put(s, K("f/b"), vb, VB, cas ? ES_PUT_IF_ABSENT : ES_PUT_ALWAYS, NULL, NULL,
                            err));
    STEP(6, es_objstore_list(s, K("f/"), NULL, 100, &l, err));
    ok = l.n == 2;
    es_obj_list_reset(&l);
    if (!ok)
        return es_error_set(err, ES_CORRUPT, 0, "f/: wrong listing");
    STEP(7, es_objstore_put(s, K("f/a"), va2, VA2, cas ? ES_PUT_IF_MATCH : ES_PUT_ALWAYS,
                            cas ? info.etag : NULL, NULL, err));
    STEP(8, es_objstore_get(s, K("f/a"), 0, UINT64_MAX, &b, err));
    ok = blob_eq(b, va2, VA2);
    es_blob_unref(b);
    if (!ok)
        return es_error_set(err, ES_CORRUPT, 0, "f/a: wrong content after IF_MATCH");
    const char *dk[] = {K("f/b")};
    STEP(9, es_objstore_delete(s, dk, 1, err));
    STEP(10, es_objstore_list(s, K("f/"), NULL, 100, &l, err));
    ok = l.n == 1;
    es_obj_list_reset(&l);
    if (!ok)
        return es_error_set(err, ES_CORRUPT, 0, "f/: wrong listing after delete");
#undef STEP
    return ES_OK;
}

static void clean_workload(es_objstore *inner)
{
    es_error err = {0};
    const char *k[] = {K("f/a"), K("f/b")};
    es_objstore_delete(inner, k, 2, &err);
}

/* Only whole objects of known versions are visible through the inner store. */
static int state_whole(es_objstore *inner)
{
    int a = obj_is(inner, K("f/a"), va, VA);
    if (a != 1 && obj_is(inner, K("f/a"), va2, VA2) != 1 && a != 0)
        return 0;
    if (obj_is(inner, K("f/b"), vb, VB) < 0)
        return 0;
    es_obj_list l = {0};
    es_error err = {0};
    int ok = es_objstore_list(inner, K("f/"), NULL, 100, &l, &err) == ES_OK && l.n <= 2;
    for (int64_t i = 0; ok && i < l.n; i++)
        ok = strcmp(l.items[i].key, K("f/a")) == 0 || strcmp(l.items[i].key, K("f/b")) == 0;
    es_obj_list_reset(&l);
    return ok;
}

static void fault_loops(es_objstore *inner)
{
    es_objstore *f = NULL;
    es_error err = {0};
    fill(va, VA, 21);
    fill(va2, VA2, 22);
    fill(vb, VB, 23);
    CHECK_OK(es_objstore_fault_wrap(&f, inner, 0, &err));
    if (!f)
        return;
    int cas = inner->cas_supported;
    int step = 0;

    /* No faults: the workload passes and is counted. */
    clean_workload(inner);
    CHECK_OK(workload(f, cas, &step, &err));
    CHECK_EQ_INT(es_objstore_fault_count(f, ES_OP_PUT), 3);
    CHECK_EQ_INT(es_objstore_fault_count(f, -1), 10);

    /* Transient failures, before or after the operation: retries make every step succeed. */
    int loops = 0;
    for (int after = 0; after <= 1; after++) {
        for (int op = -1; op < ES_OP_COUNT; op++) {
            for (int n = 1; n < 40; n++) {
                clean_workload(inner);
                es_fault_config cfg = {n, op, 0, ES_TRANSIENT, after, 0, 0, 0};
                es_objstore_fault_set(f, &cfg);
                es_status rc = workload(f, cas, &step, &err);
                int64_t inj = es_objstore_fault_injected(f);
                if (rc != ES_OK)
                    fprintf(stderr, "transient op %d n %d after %d: step %d: %s\n", op, n, after,
                            step, err.msg);
                CHECK_OK(rc);
                CHECK_EQ_INT(obj_is(inner, K("f/a"), va2, VA2), 1);
                CHECK_EQ_INT(obj_is(inner, K("f/b"), vb, VB), 0);
                loops++;
                if (inj == 0)
                    break;
            }
        }
    }
    CHECK(loops > 30);

    /* Permanent failures: a clear error, and only whole objects are visible. */
    es_status perm[2] = {ES_REMOTE, ES_IO};
    for (int after = 0; after <= 1; after++) {
        for (int op = -1; op < ES_OP_COUNT; op++) {
            for (int n = 1; n < 40; n++) {
                clean_workload(inner);
                es_fault_config cfg = {n, op, n % 2, perm[n % 2], after, 0, 0, 0};
                es_objstore_fault_set(f, &cfg);
                memset(&err, 0, sizeof err);
                es_status rc = workload(f, cas, &step, &err);
                int64_t inj = es_objstore_fault_injected(f);
                if (inj == 0) {
                    CHECK_OK(rc);
                    break;
                }
                CHECK_EQ_INT(rc, perm[n % 2]);
                CHECK(strstr(err.msg, "injected") != NULL);
                CHECK_EQ_INT(es_objstore_fault_injected(f), 1);
                CHECK(state_whole(inner));
            }
        }
    }

    /* A transient failure that never ends: the dispatch layer gives up after max_attempts. */
    es_retry_policy rp;
    es_objstore_get_retry(&rp);
    clean_workload(inner);
    CHECK_OK(put_always(inner, K("f/a"), va, VA));
    es_fault_config forever = {1, ES_OP_GET, 1, ES_TRANSIENT, 0, 0, 0, 0};
    es_objstore_fault_set(f, &forever);
    es_blob *b = NULL;
    CHECK_EQ_INT(es_objstore_get(f, K("f/a"), 0, 10, &b, &err), ES_TRANSIENT);
    CHECK_EQ_INT(es_objstore_fault_count(f, ES_OP_GET), rp.max_attempts);
    CHECK(strstr(err.msg, "f/a") != NULL);

    /* Latency is added per operation. */
    es_fault_config slow = {0, -1, 0, 0, 0, 2000000, 0, 0};
    es_objstore_fault_set(f, &slow);
    int64_t t0 = es_now_ns();
    CHECK_OK(es_objstore_get(f, K("f/a"), 0, 10, &b, &err));
    es_blob_unref(b);
    CHECK(es_now_ns() - t0 >= 2000000);

    /* A put-if-absent whose response is lost, then retried: the dispatch layer reads the
     * object back, finds its own bytes and reports success; someone else's object loses. */
    if (cas) {
        clean_workload(inner);
        es_fault_config lost = {1, ES_OP_PUT, 0, ES_TRANSIENT, 1, 0, 0, 0};
        es_objstore_fault_set(f, &lost);
        CHECK_OK(es_objstore_put(f, K("f/b"), vb, VB, ES_PUT_IF_ABSENT, NULL, NULL, &err));
        CHECK_EQ_INT(es_objstore_fault_count(f, ES_OP_PUT), 2);
        es_objstore_fault_set(f, &lost);
        CHECK_EQ_INT(es_objstore_put(f, K("f/b"), va, VA, ES_PUT_IF_ABSENT, NULL, NULL, &err),
                     ES_EXISTS);
        CHECK_EQ_INT(obj_is(inner, K("f/b"), vb, VB), 1);
    }

    /* Crash after the Nth put: that put lands, nothing after it does. */
    enum { NPUT = 6 };
    for (int n = 1; n <= NPUT + 1; n++) {
        static char ckb[NPUT][100];
        const char *ck[NPUT];
        for (int i = 0; i < NPUT; i++) {
            snprintf(ckb[i], sizeof ckb[i], "%scrash/k%d", P, i);
            ck[i] = ckb[i];
        }
        es_objstore_delete(inner, ck, NPUT, &err);
        es_fault_config crash = {0, -1, 0, 0, 0, 0, n, 0};
        es_objstore_fault_set(f, &crash);
        int failed_at = -1;
        es_status rc = ES_OK;
        for (int i = 0; i < NPUT; i++) {
            uint8_t d[300];
            fill(d, sizeof d, (uint32_t)(100 + i));
            memset(&err, 0, sizeof err);
            rc =
                es_objstore_put(f, K("crash/k%d", i), d, sizeof d, ES_PUT_ALWAYS, NULL, NULL, &err);
            if (rc != ES_OK) {
                failed_at = i;
                break;
            }
        }
        if (n < NPUT) {
            CHECK_EQ_INT(failed_at, n);
            if (n < NPUT) {
                CHECK_EQ_INT(rc, ES_IO);
                CHECK(strstr(err.msg, "simulated crash") != NULL);
            }
        } else {
            CHECK_EQ_INT(failed_at, -1);
        }
        if (n < NPUT) {
            CHECK(es_objstore_fault_crashed(f));
            CHECK_EQ_INT(es_objstore_get(f, K("crash/k0"), 0, 1, &b, &err), ES_IO);
        }
        /* "Reopen": the inner store holds exactly the first n objects, whole. */
        for (int i = 0; i < NPUT; i++) {
            uint8_t d[300];
            fill(d, sizeof d, (uint32_t)(100 + i));
            CHECK_EQ_INT(obj_is(inner, ck[i], d, sizeof d), i < n ? 1 : 0);
        }
        es_objstore_delete(inner, ck, NPUT, &err);
    }
    es_objstore_fault_set(f, NULL);
    clean_workload(inner);
    es_objstore_close(f);
    if (!es_objstore_fault_inner(inner))
        CHECK_EQ_INT(es_objstore_fault_set(inner, NULL), ES_INVALID);
}

/* ------------------------------------------------------------------ races */

enum { RACE_THREADS = 8 };
typedef struct race_arg {
    es_objstore *s;
    int id, rounds;
    pthread_barrier_t *bar;
    char *won; /* [rounds][RACE_THREADS] */
} race_arg;

static void *race_thread(void *p)
{
    race_arg *a = p;
    for (int r = 0; r < a->rounds; r++) {
        char body[64];
        int n = snprintf(body, sizeof body, "thread %d round %d", a->id, r);
        es_error err = {0};
        pthread_barrier_wait(a->bar);
        char key[128];
        snprintf(key, sizeof key, "%srace/t%03d", P, r);
        es_status rc =
            es_objstore_put(a->s, key, body, (size_t)n, ES_PUT_IF_ABSENT, NULL, NULL, &err);
        a->won[r * RACE_THREADS + a->id] = rc == ES_OK ? 'W' : rc == ES_EXISTS ? 'L' : 'E';
    }
    return NULL;
}

static void race_threads(es_objstore *s, int rounds)
{
    pthread_t th[RACE_THREADS];
    race_arg args[RACE_THREADS];
    pthread_barrier_t bar;
    char *won = es_calloc((size_t)rounds * RACE_THREADS, 1);
    if (!won) {
        CHECK(0);
        return;
    }
    pthread_barrier_init(&bar, NULL, RACE_THREADS);
    for (int i = 0; i < RACE_THREADS; i++) {
        args[i] = (race_arg){s, i, rounds, &bar, won};
        pthread_create(&th[i], NULL, race_thread, &args[i]);
    }
    for (int i = 0; i < RACE_THREADS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&bar);
    int one_winner = 1, content_ok = 1, errors = 0;
    for (int r = 0; r < rounds; r++) {
        int winners = 0, who = -1;
        for (int i = 0; i < RACE_THREADS; i++) {
            char c = won[r * RACE_THREADS + i];
            winners += c == 'W';
            errors += c == 'E';
            if (c == 'W')
                who = i;
        }
        if (winners != 1) {
            one_winner = 0;
            continue;
        }
        char body[64];
        int n = snprintf(body, sizeof body, "thread %d round %d", who, r);
        if (obj_is(s, K("race/t%03d", r), body, (size_t)n) != 1)
            content_ok = 0;
    }
    CHECK(one_winner);
    CHECK(content_ok);
    CHECK_EQ_INT(errors, 0);
    es_free(won);
}

/* Read-modify-write with IF_MATCH from several threads: no increment is lost (every
 * successful IF_MATCH saw the latest version, so ETags never repeat and the check is atomic). */
enum { CAS_THREADS = 4, CAS_INCS = 25 };
typedef struct cas_arg {
    es_objstore *s;
    const char *key;
    int id, conflicts, errors;
} cas_arg;

static void *cas_thread(void *p)
{
    cas_arg *a = p;
    for (int done = 0; done < CAS_INCS;) {
        es_error err = {0};
        es_obj_info info;
        es_blob *b = NULL;
        if (es_objstore_head(a->s, a->key, &info, &err) != ES_OK ||
            es_objstore_get(a->s, a->key, 0, UINT64_MAX, &b, &err) != ES_OK) {
            a->errors++;
            es_blob_unref(b);
            if (a->errors > 100)
                return NULL;
            continue;
        }
        char num[32] = "";
        size_t n = b->size < sizeof num - 1 ? b->size : sizeof num - 1;
        memcpy(num, b->data, n);
        es_blob_unref(b);
        /* The content names its writer (see invariant I3 in objstore.c: after a lost response
         * the dispatch layer recognises its own write by its bytes). */
        int len = snprintf(num, sizeof num, "%08d t%d n%d", atoi(num) + 1, a->id, done);
        es_status rc =
            es_objstore_put(a->s, a->key, num, (size_t)len, ES_PUT_IF_MATCH, info.etag, NULL, &err);
        if (rc == ES_OK)
            done++;
        else if (rc == ES_EXISTS)
            a->conflicts++;
        else if (++a->errors > 100)
            return NULL;
    }
    return NULL;
}

static void race_cas_counter(es_objstore *s)
{
    char key[128];
    snprintf(key, sizeof key, "%scas/counter", P);
    CHECK_OK(put_always(s, key, "00000000", 8));
    pthread_t th[CAS_THREADS];
    cas_arg args[CAS_THREADS];
    for (int i = 0; i < CAS_THREADS; i++) {
        args[i] = (cas_arg){s, key, i, 0, 0};
        pthread_create(&th[i], NULL, cas_thread, &args[i]);
    }
    int conflicts = 0, errors = 0;
    for (int i = 0; i < CAS_THREADS; i++) {
        pthread_join(th[i], NULL);
        conflicts += args[i].conflicts;
        errors += args[i].errors;
    }
    char want[16];
    es_blob *fb = NULL;
    es_error ferr = {0};
    int final = -1;
    if (es_objstore_get(s, key, 0, 8, &fb, &ferr) == ES_OK && fb->size == 8) {
        memcpy(want, fb->data, 8);
        want[8] = 0;
        final = atoi(want);
    }
    es_blob_unref(fb);
    CHECK_EQ_INT(final, CAS_THREADS * CAS_INCS);
    CHECK_EQ_INT(errors, 0);
    printf("  IF_MATCH counter: %d increments, %d conflicts retried\n", CAS_THREADS * CAS_INCS,
           conflicts);

    /* Same-size rewrites in quick succession still get distinct ETags. */
    char tags[40][ES_ETAG_MAX];
    int distinct = 1;
    for (int i = 0; i < 40; i++) {
        es_error err = {0};
        snprintf(want, sizeof want, "v%07d", i);
        CHECK_OK(es_objstore_put(s, key, want, 8, ES_PUT_ALWAYS, NULL, tags[i], &err));
        for (int j = 0; j < i; j++)
            if (strcmp(tags[i], tags[j]) == 0)
                distinct = 0;
    }
    CHECK(distinct);
}

/* Readers never see a partial object: readers loop over whole-object gets while a writer
 * replaces the object with versions of different sizes. */
typedef struct reader_arg {
    es_objstore *s;
    const char *key;
    const uint8_t *va, *vb;
    size_t na, nb;
    _Atomic int *stop;
    _Atomic int *running; /* readers that have finished at least one read */
    int reads, torn, errors;
} reader_arg;

static void *reader_thread(void *p)
{
    reader_arg *a = p;
    while (!*a->stop) {
        es_blob *b = NULL;
        es_error err = {0};
        if (es_objstore_get(a->s, a->key, 0, UINT64_MAX, &b, &err) != ES_OK) {
            a->errors++;
            continue;
        }
        if (!blob_eq(b, a->va, a->na) && !blob_eq(b, a->vb, a->nb))
            a->torn++;
        if (a->reads++ == 0)
            atomic_fetch_add(a->running, 1);
        es_blob_unref(b);
    }
    return NULL;
}

static void race_readers(es_objstore *s, int rounds)
{
    enum { NA = 300000, NB = 70000, READERS = 2 };
    uint8_t *bufa = es_malloc(NA), *bufb = es_malloc(NB);
    if (!bufa || !bufb) {
        es_free(bufa);
        es_free(bufb);
        CHECK(0);
        return;
    }
    fill(bufa, NA, 61);
    fill(bufb, NB, 62);
    char key[128];
    snprintf(key, sizeof key, "%satomic/obj", P);
    CHECK_OK(put_always(s, key, bufa, NA));
    _Atomic int stop = 0, running = 0;
    pthread_t th[READERS];
    reader_arg args[READERS];
    for (int i = 0; i < READERS; i++) {
        args[i] = (reader_arg){s, key, bufa, bufb, NA, NB, &stop, &running, 0, 0, 0};
        pthread_create(&th[i], NULL, reader_thread, &args[i]);
    }
    /* Start writing only once every reader is reading, so that reads and writes overlap even
     * on a loaded machine where the threads would otherwise be scheduled late. */
    for (int spins = 0; atomic_load(&running) < READERS && spins < 20000; spins++)
        usleep(500);
    for (int r = 0; r < rounds; r++)
        CHECK_OK(put_always(s, key, r % 2 ? bufa : bufb, r % 2 ? NA : NB));
    stop = 1;
    int reads = 0, torn = 0, errors = 0;
    for (int i = 0; i < READERS; i++) {
        pthread_join(th[i], NULL);
        reads += args[i].reads;
        torn += args[i].torn;
        errors += args[i].errors;
    }
    CHECK_EQ_INT(torn, 0);
    CHECK_EQ_INT(errors, 0);
    CHECK(reads > 0);
    es_free(bufa);
    es_free(bufb);
}

/* Two processes race put-if-absent on the same keys, round after round. Each child opens the
 * store by URI and reports W (won), L (lost) or E (error) per round through a pipe. */
static void race_processes(const char *uri, int rounds)
{
    int gate[2], res[2][2];
    if (pipe(gate) != 0 || pipe(res[0]) != 0 || pipe(res[1]) != 0) {
        CHECK(0);
        return;
    }
    fflush(NULL);
    pid_t pid[2];
    for (int c = 0; c < 2; c++) {
        pid[c] = fork();
        if (pid[c] < 0) {
            CHECK(0);
            return;
        }
        if (pid[c] == 0) {
            close(gate[1]);
            close(res[c][0]);
            es_objstore *s = NULL;
            es_error err = {0};
            char *out = malloc((size_t)rounds);
            int ok = out && es_objstore_open(&s, uri, &err) == ES_OK;
            char x;
            while (read(gate[0], &x, 1) < 0 && errno == EINTR) {
            }
            for (int r = 0; r < rounds && ok; r++) {
                char body[96];
                int n =
                    snprintf(body, sizeof body, "process %d round %d pid %d", c, r, (int)getpid());
                es_status rc = es_objstore_put(s, K("race/p%03d", r), body, (size_t)n,
                                               ES_PUT_IF_ABSENT, NULL, NULL, &err);
                out[r] = rc == ES_OK ? 'W' : rc == ES_EXISTS ? 'L' : 'E';
            }
            if (ok && write(res[c][1], out, (size_t)rounds) != (ssize_t)rounds)
                ok = 0;
            es_objstore_close(s);
            free(out);
            _exit(ok ? 0 : 1);
        }
        close(res[c][1]);
    }
    close(gate[0]);
    close(gate[1]); /* start both at once */
    char *got[2];
    for (int c = 0; c < 2; c++) {
        got[c] = calloc((size_t)rounds, 1);
        size_t have = 0;
        while (got[c] && have < (size_t)rounds) {
            ssize_t r = read(res[c][0], got[c] + have, (size_t)rounds - have);
            if (r <= 0 && !(r < 0 && errno == EINTR))
                break;
            if (r > 0)
                have += (size_t)r;
        }
        close(res[c][0]);
        int status = 0;
        waitpid(pid[c], &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        CHECK_EQ_INT(have, rounds);
    }
    int one_winner = 1, content_ok = 1, w0 = 0;
    for (int r = 0; r < rounds && got[0] && got[1]; r++) {
        int winners = (got[0][r] == 'W') + (got[1][r] == 'W');
        int losers = (got[0][r] == 'L') + (got[1][r] == 'L');
        if (winners != 1 || losers != 1) {
            one_winner = 0;
            continue;
        }
        int who = got[0][r] == 'W' ? 0 : 1;
        w0 += who == 0;
        /* The winner's content, whatever its pid was: compare the prefix. */
        es_blob *b = NULL;
        es_error err = {0};
        char want[64];
        int n = snprintf(want, sizeof want, "process %d round %d pid ", who, r);
        es_objstore *s = NULL;
        if (es_objstore_open(&s, uri, &err) == ES_OK &&
            es_objstore_get(s, K("race/p%03d", r), 0, UINT64_MAX, &b, &err) == ES_OK) {
            if (b->size < (size_t)n || memcmp(b->data, want, (size_t)n) != 0)
                content_ok = 0;
        } else {
            content_ok = 0;
        }
        es_blob_unref(b);
        es_objstore_close(s);
    }
    CHECK(one_winner);
    CHECK(content_ok);
    printf("  process race: %d rounds, process 0 won %d\n", rounds, w0);
    free(got[0]);
    free(got[1]);
}

/* ------------------------------------------------------ allocation failures */

/* Fail the Nth allocation (SQLite's malloc loops): every call reports ES_NOMEM or works, and
 * objects are whole or absent afterwards. */
static void suite_nomem(es_objstore *s)
{
    uint8_t d[300];
    fill(d, sizeof d, 51);
    char key[128];
    snprintf(key, sizeof key, "%snomem/a", P);
    const char *dk[] = {key};
    int n, bad = 0, reported = 0;
    for (n = 1; n < 1000; n++) {
        es_error err = {0};
        es_objstore_delete(s, dk, 1, &err);
        es_util_alloc_fail_at(n, 0);
        es_status r1 = es_objstore_put(s, key, d, sizeof d, ES_PUT_ALWAYS, NULL, NULL, &err);
        es_blob *b = NULL;
        es_status r2 = es_objstore_get(s, key, 10, 100, &b, &err);
        es_obj_info info;
        es_status r3 = es_objstore_head(s, key, &info, &err);
        es_obj_list l = {0};
        es_status r4 = es_objstore_list(s, P, NULL, 10, &l, &err);
        es_range_req rq = {key, 0, 5, NULL, ES_OK};
        es_status r5 = es_objstore_get_many(s, &rq, 1, &err);
        int64_t made = es_util_alloc_fail_at(0, 0);
        if (!(r1 == ES_OK || r1 == ES_NOMEM) || !(r4 == ES_OK || r4 == ES_NOMEM))
            bad++;
        if (!(r2 == ES_OK || r2 == ES_NOMEM || r2 == ES_NOT_FOUND) ||
            (r2 == ES_OK && !blob_eq(b, d + 10, 100)))
            bad++;
        if (!(r3 == ES_OK || r3 == ES_NOMEM || r3 == ES_NOT_FOUND) ||
            !(r5 == ES_OK || r5 == ES_NOMEM || r5 == ES_NOT_FOUND))
            bad++;
        es_blob_unref(b);
        es_blob_unref(rq.out);
        es_obj_list_reset(&l);
        int whole = obj_is(s, key, d, sizeof d);
        if (whole < 0 || (r1 == ES_OK && whole != 1))
            bad++;
        if (bad > reported) {
            fprintf(stderr, "nomem %s n=%d: put %d get %d head %d list %d get_many %d whole %d\n",
                    s->uri, n, r1, r2, r3, r4, r5, whole);
            reported = bad;
        }
        if (made < n)
            break;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(n > 5);
    es_objstore_delete(s, dk, 1, NULL);
}

/* ---------------------------------------------------------------- drivers */

static void run_uri(const char *uri, const char *name, int race_rounds)
{
    es_objstore *s = open_uri(uri);
    if (!s)
        return;
    /* Atomicity and protocol, not durability: no fsync on the local backend (keeps the suite
     * fast on a busy disk) except for the cross-process race below. */
    es_os_set_durable(0);
    if (want("fault")) {
        printf("== %s: fault loops\n", name);
        new_prefix();
        fault_loops(s);
        delete_prefix(s);
    }
    if (want("race") && race_rounds > 0 && s->cas_supported) {
        printf("== %s: thread race\n", name);
        new_prefix();
        /* Threads: 8 writers per round; on a file system a quarter of the rounds suffice. */
        race_threads(s, strstr(uri, "mem://") ? race_rounds : (race_rounds + 3) / 4);
        race_cas_counter(s);
        race_readers(s, race_rounds);
        delete_prefix(s);
        if (!strstr(uri, "mem://")) {
            es_os_set_durable(1);
            printf("== %s: process race\n", name);
            new_prefix();
            race_processes(uri, race_rounds);
            delete_prefix(s);
        }
    }
    if (want("nomem")) {
        printf("== %s: allocation failures\n", name);
        new_prefix();
        suite_nomem(s);
        delete_prefix(s);
    }
    es_objstore_close(s);
    es_os_set_durable(1);
}

int main(int argc, char **argv)
{
    return objstore_main(argc, argv, run_uri, NULL);
}
