/*
 * test_delete_conflicts: deletes, updates and upserts under concurrency and failures, on
 * mem://, a local temporary directory and ES_TEST_STORE_URI when set (the loopback Ceph RGW);
 * test_delete_procs has the same from concurrent processes.
 *
 *  - the conflict matrix, exactly: an update whose new-values callback first commits a
 *    concurrent change through a second handle (delete or update of the same row or of
 *    another row of the part, removal of the part, drop, re-create, insert): the later commit
 *    fails with ES_CONFLICT naming the table, or both commit with their vectors merged;
 *  - concurrent writers (threads, one store handle each): deletes and updates of disjoint rows
 *    of one part and appends all commit at the first attempt; overlapping deletes: every row is
 *    deleted by exactly one acknowledged call (the others get ES_CONFLICT and retry, or find it
 *    gone), none lost or counted twice; concurrent upserts of the same keys insert each once;
 *  - fault loops (mem:// under the fault wrapper): for a delete, an update, an upsert and a
 *    delete that removes a part, fail the Nth request once, fail every request from the Nth
 *    on, lose the response of the Nth put, or crash after the Nth put, for every N: afterwards
 *    the table equals either the state before or the state after the operation (after,
 *    whenever the call succeeded), and the store takes writes;
 *  - allocation failures: the Nth allocation of each operation fails, for every N.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>

#include "delete_util.h"

/* ------------------------------------------------------- conflict matrix */

/* An update whose callback, before the update commits, runs a concurrent commit through a
 * second handle: the interleaving is then exact. */
typedef struct interleave {
    es_store *other;
    int what; /* 0 delete the same row, 1 delete another row of the part, 2 delete the whole
                 part, 3 drop the table, 4 drop and re-create it, 5 insert, 6 update the same
                 row, 7 update another row */
    es_status other_rc;
    small_update inner;
} interleave;

static es_status interleave_fn(void *ctx, const struct ArrowSchema *schema,
                               const struct ArrowArray *rows, struct ArrowArray *out, es_error *err)
{
    interleave *x = ctx;
    if (x->inner.calls == 0) {
        int64_t n, same[] = {10}, other[] = {20};
        struct ArrowSchema sc = small_schema();
        small_update u2 = {5, "other", 0, ES_OK, 0};
        es_expr *e;
        switch (x->what) {
        case 0:
            x->other_rc = delete_keys(x->other, "c", same, 1, &n);
            break;
        case 1:
            x->other_rc = delete_keys(x->other, "c", other, 1, &n);
            break;
        case 2:
            e = es_expr_between("id", vint(0), vint(99));
            x->other_rc = es_delete(x->other, "c", e, &n);
            es_expr_free(e);
            break;
        case 3:
            x->other_rc = es_table_drop(x->other, "c", 0);
            break;
        case 4:
            x->other_rc = es_table_drop(x->other, "c", 0);
            if (!x->other_rc)
                x->other_rc = es_table_create(x->other, "c", &sc, "id", 0);
            if (!x->other_rc)
                x->other_rc = insert_small(x->other, "c", 0, 100, 1);
            break;
        case 5:
            x->other_rc = insert_small(x->other, "c", 100, 5, 1); /* new keys (unique.c) */
            break;
        case 6:
            e = es_expr_cmp("id", ES_EQ, vint(10));
            x->other_rc = es_update(x->other, "c", e, small_update_fn, &u2, &n);
            es_expr_free(e);
            break;
        default:
            e = es_expr_cmp("id", ES_EQ, vint(20));
            x->other_rc = es_update(x->other, "c", e, small_update_fn, &u2, &n);
            es_expr_free(e);
            break;
        }
        sc.release(&sc);
    }
    return small_update_fn(&x->inner, schema, rows, out, err);
}

static void test_conflict_matrix(const char *uri)
{
    static const char *names[] = {"delete same row", "delete other row", "remove part",
                                  "drop table",      "re-create table",  "insert",
                                  "update same row", "update other row"};
    static const int conflicts[] = {1, 0, 1, 1, 1, 0, 1, 0};
    for (int what = 0; what < 8; what++) {
        es_store *s = NULL, *o = NULL;
        es_open_options opt = ES_OPEN_OPTIONS_INIT;
        opt.batch_rows = 16;
        CHECK_OK(es_store_open(&s, uri, &opt));
        CHECK_OK(es_store_open(&o, uri, &opt));
        if (!s || !o)
            return;
        struct ArrowSchema sc = small_schema();
        es_table_drop(s, "c", 1);
        CHECK_OK(es_table_create(s, "c", &sc, "id", 0));
        CHECK_OK(insert_small(s, "c", 0, 100, 1)); /* one part */
        int64_t pre[] = {50};                      /* an existing vector to merge with */
        int64_t n = -1;
        CHECK_OK(delete_keys(s, "c", pre, 1, &n));
        interleave x;
        memset(&x, 0, sizeof(x));
        x.other = o;
        x.what = what;
        x.inner = (small_update){1000, "mine", 0, ES_OK, 0};
        es_expr *e = es_expr_cmp("id", ES_EQ, vint(10));
        es_status rc = es_update(s, "c", e, interleave_fn, &x, &n);
        es_expr_free(e);
        CHECK_OK(x.other_rc);
        if (conflicts[what]) {
            CHECK_EQ_INT(rc, ES_CONFLICT);
            CHECK(strstr(es_store_errmsg(s), "'c'") != NULL);
            if (rc != ES_CONFLICT || !strstr(es_store_errmsg(s), "'c'"))
                fprintf(stderr, "%s: %s %s\n", names[what], es_status_name(rc), es_store_errmsg(s));
        } else {
            CHECK_OK(rc);
            if (rc)
                fprintf(stderr, "%s: %s %s\n", names[what], es_status_name(rc), es_store_errmsg(s));
        }
        /* Whatever happened, both handles see one consistent table. */
        char *a = what == 3 ? NULL : table_state(s, "c", -1);
        char *b = what == 3 ? NULL : table_state(o, "c", -1);
        CHECK((!a && !b) || (a && b && strcmp(a, b) == 0));
        if (what == 1 || what == 7) { /* both changes survive */
            CHECK(a && strstr(a, "\n10|1010|mine\n") != NULL);
            if (what == 1)
                CHECK(a && strstr(a, "\n20|") == NULL);
            if (what == 7)
                CHECK(a && strstr(a, "\n20|25|other\n") != NULL);
            CHECK(a && strstr(a, "\n50|") == NULL);
        }
        if (what == 5) /* the insert and the update both landed */
            CHECK(a && strstr(a, "\n10|1010|mine\n") != NULL && strstr(a, "\n100|100|r100\n"));
        free(a);
        free(b);
        es_table_drop(s, "c", 1);
        sc.release(&sc);
        es_store_close(o);
        es_store_close(s);
    }
}

/* ---------------------------------------------------- concurrent writers */

typedef struct worker {
    const char *uri;
    const char *table;
    int kind; /* 0 delete keys, 1 update keys (v += add), 2 insert keys, 3 upsert do-nothing */
    int retry;
    int64_t *keys, n_keys, chunk, add;
    volatile int *go;
    /* results */
    int64_t acked, conflicts, errors, calls;
    char msg[256];
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    es_store *s = NULL;
    es_open_options opt = ES_OPEN_OPTIONS_INIT;
    opt.batch_rows = 64;
    if (es_store_open(&s, w->uri, &opt) != ES_OK) {
        snprintf(w->msg, sizeof(w->msg), "open: %s", es_store_errmsg(s));
        w->errors++;
        es_store_close(s);
        return NULL;
    }
    while (!__atomic_load_n(w->go, __ATOMIC_ACQUIRE))
        usleep(100);
    for (int64_t i = 0; i < w->n_keys; i += w->chunk) {
        int64_t m = w->n_keys - i < w->chunk ? w->n_keys - i : w->chunk;
        for (;;) {
            es_status rc;
            int64_t n = 0, n2 = 0;
            w->calls++;
            if (w->kind == 0) {
                rc = delete_keys(s, w->table, w->keys + i, m, &n);
            } else if (w->kind == 1) {
                es_value vals[64];
                for (int64_t k = 0; k < m; k++)
                    vals[k] = vint(w->keys[i + k]);
                es_expr *e = es_expr_in("id", vals, m);
                small_update u = {w->add, "upd", 0, ES_OK, 0};
                rc = es_update(s, w->table, e, small_update_fn, &u, &n);
                es_expr_free(e);
            } else if (w->kind == 2) {
                rc = insert_small(s, w->table, w->keys[i], m, 1);
                n = m;
            } else {
                int64_t vals[64];
                for (int64_t k = 0; k < m; k++)
                    vals[k] = w->add;
                rc = upsert_small(s, w->table, w->keys + i, vals, m, ES_UPSERT_DO_NOTHING, &n, &n2);
            }
            if (rc == ES_OK) {
                w->acked += n;
                break;
            }
            if (rc == ES_CONFLICT) {
                w->conflicts++;
                if (!strstr(es_store_errmsg(s), w->table)) {
                    w->errors++;
                    snprintf(w->msg, sizeof(w->msg), "conflict without the table: %s",
                             es_store_errmsg(s));
                }
                if (w->retry)
                    continue;
                snprintf(w->msg, sizeof(w->msg), "%s", es_store_errmsg(s));
                break;
            }
            w->errors++;
            snprintf(w->msg, sizeof(w->msg), "%s: %s", es_status_name(rc), es_store_errmsg(s));
            break;
        }
    }
    es_store_close(s);
    return NULL;
}

static void run_workers(worker *w, int n)
{
    pthread_t th[16];
    volatile int go = 0;
    for (int i = 0; i < n; i++) {
        w[i].go = &go;
        pthread_create(&th[i], NULL, worker_main, &w[i]);
    }
    usleep(20000);
    __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < n; i++)
        if (w[i].msg[0])
            fprintf(stderr, "worker %d: %s\n", i, w[i].msg);
}

static void test_concurrent(const char *uri, int n_threads, int64_t rows)
{
    es_store *s = NULL;
    es_open_options opt = ES_OPEN_OPTIONS_INIT;
    opt.batch_rows = 64;
    CHECK_OK(es_store_open(&s, uri, &opt));
    if (!s)
        return;
    struct ArrowSchema sc = small_schema();
    worker w[16];
    int64_t *keys[16];
    /* 1. Disjoint rows of one part: half the threads delete, half update, one inserts. Every
     * call commits at the first attempt (no retries), and nothing is lost. */
    es_table_drop(s, "cc", 1);
    CHECK_OK(es_table_create(s, "cc", &sc, "id", 0));
    CHECK_OK(insert_small(s, "cc", 0, rows, 1));
    CHECK_EQ_INT(n_parts(s, "cc"), 1);
    memset(w, 0, sizeof(w));
    for (int t = 0; t < n_threads; t++) {
        keys[t] = malloc((size_t)rows * sizeof(int64_t));
        w[t].uri = uri;
        w[t].table = "cc";
        w[t].chunk = 8;
        if (t == n_threads - 1) {
            w[t].kind = 2; /* appends, never in conflict */
            for (int64_t k = 0; k < 10; k++)
                keys[t][w[t].n_keys++] = 1000000 + k * 10;
            w[t].chunk = 1;
            w[t].keys = keys[t];
            continue;
        }
        w[t].kind = t % 2;
        w[t].add = 1000 * (t + 1);
        /* Rows with id % (threads + 1) == t; the last residue is never touched. */
        for (int64_t id = t; id < rows; id += n_threads + 1)
            keys[t][w[t].n_keys++] = id;
        shuffle(keys[t], w[t].n_keys);
        w[t].keys = keys[t];
    }
    double t0 = now_s();
    run_workers(w, n_threads);
    int64_t conflicts = 0, errors = 0, acked_del = 0, acked_upd = 0, calls = 0;
    for (int t = 0; t < n_threads; t++) {
        conflicts += w[t].conflicts;
        errors += w[t].errors;
        calls += w[t].calls;
        if (w[t].kind == 0)
            acked_del += w[t].acked;
        if (w[t].kind == 1)
            acked_upd += w[t].acked;
    }
    CHECK_EQ_INT(conflicts, 0);
    CHECK_EQ_INT(errors, 0);
    {
        strlist l;
        CHECK_OK(table_rows(s, "cc", -1, &l, NULL, 0));
        int64_t bad = 0, deleted = 0, updated = 0, inserted = 0;
        char *seen = calloc((size_t)rows, 1);
        for (int64_t i = 0; i < l.n; i++) {
            long long id, v;
            char str[64];
            if (sscanf(l.s[i], "%lld|%lld|%63s", &id, &v, str) != 3) {
                bad++;
                continue;
            }
            if (id >= 1000000) {
                inserted++;
                continue;
            }
            if (id < 0 || id >= rows || seen[id]++) {
                bad++;
                continue;
            }
            int64_t t = id % (n_threads + 1);
            if (t == n_threads || t == n_threads - 1)
                bad += v != id % 1000;
            else if (t % 2 == 0)
                bad++; /* should be deleted */
            else
                bad += v != id % 1000 + 1000 * (t + 1) || strcmp(str, "upd") != 0, updated++;
        }
        for (int64_t id = 0; id < rows; id++) {
            int64_t t = id % (n_threads + 1);
            deleted += !seen[id];
            if (!seen[id] && (t >= n_threads - 1 || t % 2 == 1))
                bad++; /* lost */
        }
        free(seen);
        CHECK_EQ_INT(bad, 0);
        CHECK_EQ_INT(deleted, acked_del);
        CHECK_EQ_INT(updated, acked_upd);
        CHECK_EQ_INT(inserted, 10);
        CHECK_EQ_INT(live_rows(s, "cc"), l.n);
        printf("concurrent disjoint (%d threads): %lld calls, %lld deleted, %lld updated, 10 "
               "inserted, 0 conflicts, %.2f s\n",
               n_threads, (long long)calls, (long long)deleted, (long long)updated, now_s() - t0);
        sl_free(&l);
    }
    for (int t = 0; t < n_threads; t++)
        free(keys[t]);

    /* 2. Overlapping deletes: every thread deletes the same rows, in its own order and
     * chunks, retrying conflicts. Each row is deleted by exactly one acknowledged call. */
    es_table_drop(s, "co", 1);
    CHECK_OK(es_table_create(s, "co", &sc, "id", 0));
    CHECK_OK(insert_small(s, "co", 0, rows, 1));
    int64_t target = 0;
    memset(w, 0, sizeof(w));
    for (int t = 0; t < n_threads; t++) {
        keys[t] = malloc((size_t)rows * sizeof(int64_t));
        for (int64_t id = 0; id < rows; id++)
            if (id % 5 != 4)
                keys[t][w[t].n_keys++] = id;
        target = w[t].n_keys;
        shuffle(keys[t], w[t].n_keys);
        w[t].uri = uri;
        w[t].table = "co";
        w[t].keys = keys[t];
        w[t].chunk = rnd_in(5, 12);
        w[t].retry = 1;
    }
    t0 = now_s();
    run_workers(w, n_threads);
    int64_t acked = 0;
    conflicts = errors = calls = 0;
    for (int t = 0; t < n_threads; t++) {
        acked += w[t].acked;
        conflicts += w[t].conflicts;
        errors += w[t].errors;
        calls += w[t].calls;
    }
    CHECK_EQ_INT(errors, 0);
    CHECK_EQ_INT(acked, target);
    CHECK_EQ_INT(live_rows(s, "co"), rows - target);
    {
        strlist l;
        CHECK_OK(table_rows(s, "co", -1, &l, NULL, 0));
        CHECK_EQ_INT(l.n, rows - target);
        int64_t bad = 0;
        for (int64_t i = 0; i < l.n; i++)
            bad += strtoll(l.s[i], NULL, 10) % 5 != 4;
        CHECK_EQ_INT(bad, 0);
        sl_free(&l);
    }
    printf("concurrent overlapping deletes (%d threads): %lld calls, %lld conflicts (retried), "
           "%lld rows each deleted once, %.2f s\n",
           n_threads, (long long)calls, (long long)conflicts, (long long)acked, now_s() - t0);
    for (int t = 0; t < n_threads; t++)
        free(keys[t]);

    /* 3. Concurrent upserts (do nothing) of the same new keys: each key inserted once. */
    es_table_drop(s, "cu", 1);
    CHECK_OK(es_table_create(s, "cu", &sc, "id", 0));
    CHECK_OK(insert_small(s, "cu", 0, 10, 1));
    memset(w, 0, sizeof(w));
    int64_t ukeys = rows / 10 > 20 ? rows / 10 : 20;
    for (int t = 0; t < n_threads; t++) {
        keys[t] = malloc((size_t)ukeys * sizeof(int64_t));
        for (int64_t k = 0; k < ukeys; k++)
            keys[t][w[t].n_keys++] = 100 + k;
        shuffle(keys[t], w[t].n_keys);
        w[t].uri = uri;
        w[t].table = "cu";
        w[t].kind = 3;
        w[t].add = t;
        w[t].keys = keys[t];
        w[t].chunk = 4;
        w[t].retry = 1;
    }
    run_workers(w, n_threads);
    acked = conflicts = errors = 0;
    for (int t = 0; t < n_threads; t++) {
        acked += w[t].acked;
        conflicts += w[t].conflicts;
        errors += w[t].errors;
    }
    CHECK_EQ_INT(errors, 0);
    CHECK_EQ_INT(acked, ukeys);
    CHECK_EQ_INT(live_rows(s, "cu"), 10 + ukeys);
    {
        strlist l;
        CHECK_OK(table_rows(s, "cu", -1, &l, NULL, 0));
        char *j = sl_join(&l);
        int64_t dup = 0;
        for (int64_t i = 1; i < l.n; i++)
            dup += strtoll(l.s[i], NULL, 10) == strtoll(l.s[i - 1], NULL, 10);
        CHECK_EQ_INT(dup, 0);
        CHECK_EQ_INT(l.n, 10 + ukeys);
        free(j);
        sl_free(&l);
    }
    printf("concurrent upserts of the same keys (%d threads): %lld keys inserted once, %lld "
           "conflicts (retried)\n",
           n_threads, (long long)acked, (long long)conflicts);
    for (int t = 0; t < n_threads; t++)
        free(keys[t]);
    es_table_drop(s, "cc", 1);
    es_table_drop(s, "co", 1);
    es_table_drop(s, "cu", 1);
    sc.release(&sc);
    es_store_close(s);
}

/* ------------------------------------------------------------ fault loops */

/* Table "f": part A ids 0..999 with every third row deleted (a .delta object), part B ids
 * 2000..2099 with every seventh deleted (inline), part C ids 3000..3099. */
static void fault_setup(es_store *s)
{
    struct ArrowSchema sc = small_schema();
    CHECK_OK(es_table_create(s, "f", &sc, "id", 0));
    CHECK_OK(insert_small(s, "f", 0, 1000, 1));
    CHECK_OK(insert_small(s, "f", 2000, 100, 1));
    CHECK_OK(insert_small(s, "f", 3000, 100, 1));
    int64_t keys[400], n = 0, d;
    for (int64_t i = 0; i < 1000; i += 3)
        keys[n++] = i;
    CHECK_OK(delete_keys(s, "f", keys, n, &d));
    n = 0;
    for (int64_t i = 2000; i < 2100; i += 7)
        keys[n++] = i;
    CHECK_OK(delete_keys(s, "f", keys, n, &d));
    sc.release(&sc);
}

/* The predicates of fault_op (built before allocations are made to fail). */
static es_expr *fault_preds[2];

static void fault_preds_init(void)
{
    if (!fault_preds[0])
        fault_preds[0] = es_expr_cmp("v", ES_LT, vint(50));
    if (!fault_preds[1])
        fault_preds[1] = es_expr_between("id", vint(900), vint(2050));
}

static void fault_preds_free(void)
{
    es_expr_free(fault_preds[0]);
    es_expr_free(fault_preds[1]);
    fault_preds[0] = fault_preds[1] = NULL;
}

/* The input stream of operations 2 (upsert) and 3 (delete by keys), built before allocations
 * are made to fail. */
static void fault_input(int op, struct ArrowArrayStream *out)
{
    struct ArrowSchema sc = small_schema();
    es_builder *b = NULL;
    if (op == 2) {
        es_builder_new(&b, &sc, NULL);
        for (int64_t i = 1; i <= 5010; i++) {
            if (i == 21)
                i = 3050;
            if (i == 3061)
                i = 5000;
            char str[32];
            snprintf(str, sizeof(str), "u%lld", (long long)i);
            es_builder_append_int(es_builder_child(b, 0), i);
            es_builder_append_int(es_builder_child(b, 1), -i);
            es_builder_append_bytes(es_builder_child(b, 2), str, (int64_t)strlen(str));
            es_builder_append_struct(b);
        }
        struct ArrowArray arr;
        es_builder_finish(b, &arr, NULL);
        es_stream_from_batches(out, &sc, &arr, 1, NULL);
    } else {
        int64_t ids[100];
        for (int64_t i = 0; i < 100; i++)
            ids[i] = 2000 + i; /* part B entirely: removed */
        key_stream(out, "key", ids, 100);
    }
    es_builder_free(b);
    sc.release(&sc);
}

/* Operation `op` (0 delete, 1 update, 2 upsert, 3 delete part) on table "f" as a fault_case
 * (delete_util.h); the input of ops 2 and 3 is consumed. */
typedef struct fault_op_ctx {
    int op;
    struct ArrowArrayStream in;
} fault_op_ctx;

static void op_prepare(void *ctx)
{
    fault_op_ctx *c = ctx;
    memset(&c->in, 0, sizeof(c->in));
    if (c->op >= 2)
        fault_input(c->op, &c->in);
    fault_preds_init();
}

static es_status op_run(es_store *s, void *ctx)
{
    fault_op_ctx *c = ctx;
    int64_t n, n2;
    switch (c->op) {
    case 0:
        return es_delete(s, "f", fault_preds[0], &n);
    case 1: {
        small_update u = {1000, "x", 0, ES_OK, 0};
        return es_update(s, "f", fault_preds[1], small_update_fn, &u, &n);
    }
    case 2:
        return es_upsert(s, "f", &c->in, ES_UPSERT_REPLACE, &n, &n2);
    default:
        return es_delete_keys(s, "f", &c->in, &n);
    }
}

static void op_release(void *ctx)
{
    fault_op_ctx *c = ctx;
    if (c->in.release)
        c->in.release(&c->in);
}

static char *f_state(es_store *s)
{
    return table_state(s, "f", -1);
}

static const char *const op_names[] = {"delete", "update", "upsert", "delete part"};

static fault_case op_case(fault_op_ctx *ctx, int op)
{
    ctx->op = op;
    fault_case fc = {op_names[op], "f", fault_setup, op_prepare, op_run, op_release, f_state, ctx};
    return fc;
}

static void test_faults(void)
{
    es_open_options opt = ES_OPEN_OPTIONS_INIT;
    opt.batch_rows = 32;
    int64_t total_runs = 0, both = 0;
    for (int op = 0; op < 4; op++) {
        fault_op_ctx ctx;
        fault_case fc = op_case(&ctx, op);
        char *before = NULL, *after = NULL;
        fault_case_states(&fc, "fault", &opt, &before, &after);
        for (int mode = 0; mode < 4; mode++) {
            int64_t seen_before, seen_after;
            total_runs +=
                fault_loop(&fc, "fault", &opt, mode, 400, before, after, &seen_before, &seen_after);
            /* Removing a part writes no object before its commit: a lost response or a crash
             * after its only put (the commit) always leaves the state after. */
            CHECK(seen_before > 0 || (op == 3 && mode >= 2));
            CHECK(seen_after > 0);
            both += seen_before > 0 && seen_after > 0;
        }
        free(before);
        free(after);
    }
    fault_preds_free();
    printf("faults: %lld runs of 4 operations x 4 fault modes, each left the state before or "
           "after (%lld of 16 loops saw both)\n",
           (long long)total_runs, (long long)both);
}

/* Fail the Nth allocation of each operation, for every N (then every few): each call fails
 * cleanly or succeeds, and the table is the state before or after it (ASan: no leak). */
static void test_alloc_failures(void)
{
    es_open_options opt = ES_OPEN_OPTIONS_INIT;
    opt.batch_rows = 32;
    int64_t calls = 0, failed = 0;
    for (int op = 0; op < 4; op++) {
        fault_op_ctx ctx;
        fault_case fc = op_case(&ctx, op);
        char *before = NULL, *after = NULL;
        fault_case_states(&fc, "allocfail", &opt, &before, &after);
        int64_t f = 0;
        calls += alloc_loop(&fc, "allocfail", &opt, 200, 20, before, after, &f);
        failed += f;
        free(before);
        free(after);
    }
    fault_preds_free();
    CHECK(failed > 50);
    printf("alloc failures: %lld calls, %lld failed cleanly\n", (long long)calls,
           (long long)failed);
}

/* ------------------------------------------------------------------- main */

int main(void)
{
    seed_from_env();
    const char *env = getenv("ES_TEST_STORE_URI");
    if (env && *env) {
        printf("== %s\n", env);
        TIMED(test_conflict_matrix(env));
        TIMED(test_concurrent(env, 3, 300));
        return CHECK_DONE();
    }
    printf("== mem://\n");
    es_objstore_mem_drop("test_delete_conflicts");
    TIMED(test_conflict_matrix("mem://test_delete_conflicts"));
    TIMED(test_concurrent("mem://test_delete_conflicts", 4, 600));
    TIMED(test_faults());
    TIMED(test_alloc_failures());
    char dir[] = "/tmp/es_test_delete_conflicts_XXXXXX";
    if (mkdtemp(dir)) {
        printf("== %s\n", dir);
        TIMED(test_conflict_matrix(dir));
        TIMED(test_concurrent(dir, 4, 400));
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", dir);
    }
    return CHECK_DONE();
}
