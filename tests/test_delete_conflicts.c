/*
 * test_delete_conflicts: deletes, updates and upserts under concurrency and failures, on
 * mem://, a local temporary directory and ES_TEST_STORE_URI when set (the loopback Ceph RGW).
 *
 *  - the conflict matrix, exactly: an update whose new-values callback first commits a
 *    concurrent change through a second handle (delete or update of the same row or of
 *    another row of the part, removal of the part, drop, re-create, insert): the later commit
 *    fails with ES_CONFLICT naming the table, or both commit with their vectors merged;
 *  - concurrent writers (threads, one store handle each): deletes and updates of disjoint rows
 *    of one part and appends all commit at the first attempt; overlapping deletes: every row is
 *    deleted by exactly one acknowledged call (the others get ES_CONFLICT and retry, or find it
 *    gone), none lost or counted twice; concurrent upserts of the same keys insert each once;
 *  - concurrent processes (fork; a local directory and ES_TEST_STORE_URI, not mem://): 4
 *    children, each with its own handle, delete disjoint keys of one part (by key and by
 *    predicate; no conflicts), then delete and update random overlapping keys, retrying
 *    conflicts; each records its acknowledged calls, with the version each committed, in its
 *    own file. Every version they made is checked by time travel against the one before: it
 *    is exactly one acknowledged call's change; rows never reappear, counts never grow; each
 *    row gone was deleted by exactly one call. A child killed by a signal fails the test;
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

static void shuffle(int64_t *a, int64_t n)
{
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = rnd_in(0, i), t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
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

/* --------------------------------------------------- concurrent processes */

/*
 * Forked writers: PROC_CHILDREN processes, each with its own handle on the store's URI, that
 * share nothing but the store and the files they write. They start together when the parent
 * closes a pipe, retry ES_CONFLICT (up to PROC_MAX_RETRIES times per call), and each appends
 * one line per acknowledged call to its own file in a temporary directory:
 *
 *   R <kind> <rows> <version> <value> <n> <key>...  kind K: es_delete_keys; I, V, B: es_delete
 *                                                   with id IN, v IN, id BETWEEN (the keys of
 *                                                   the range); U: es_update of id IN (v =
 *                                                   value, s = "u<value>")
 *   E <calls> <conflicts> <interleaved> <errors>    last: the child finished
 *
 * <rows> is the count the call returned and <version> the version it committed (-1 when it
 * changed nothing): the handle's snapshot right after the call is the entry it has just
 * written (es_log_commit_rebase applies it; nothing refreshes after). With that, every version
 * the children made is claimed by exactly one acknowledged call, and the parent checks each
 * one against the table as time travel shows it at that version and the one before.
 * <interleaved> counts the commits of other children between a call's start and its commit:
 * how much the processes really overlapped.
 *
 * A child that is killed by a signal (ES_TEST_ABORT_CHILD=N makes child N abort after two
 * calls, to see the message; a child still running after PROC_ALARM_S seconds gets SIGALRM)
 * or that exits with a non-zero status fails the test, naming the child and the signal.
 */
#define PROC_CHILDREN 4
#define PROC_MAX_RETRIES 200
#define PROC_ALARM_S 90
#define PROC_MAX_KEYS 32

/* es_update callback of the children: v = value, s = "u<value>", the key unchanged. */
typedef struct set_update {
    int64_t value;
} set_update;

static es_status set_update_fn(void *ctx, const struct ArrowSchema *schema,
                               const struct ArrowArray *rows, struct ArrowArray *out, es_error *err)
{
    const set_update *u = ctx;
    char tag[32];
    snprintf(tag, sizeof(tag), "u%lld", (long long)u->value);
    es_array_view v;
    es_status st = es_array_view_init(&v, schema, rows, err);
    if (st)
        return st;
    es_builder *b = NULL;
    st = es_builder_new(&b, schema, err);
    for (int64_t i = 0; i < v.length && !st; i++) {
        st = copy_value(es_builder_child(b, 0), &v.children[0], i);
        if (!st)
            st = es_builder_append_int(es_builder_child(b, 1), u->value);
        if (!st)
            st = es_builder_append_bytes(es_builder_child(b, 2), tag, (int64_t)strlen(tag));
        if (!st)
            st = es_builder_append_struct(b);
    }
    if (!st)
        st = es_builder_finish(b, out, err);
    es_builder_free(b);
    es_array_view_reset(&v);
    return st;
}

/* What one child of a phase does. */
typedef struct proc_cfg {
    const char *uri, *table, *dir;
    int phase; /* 1: disjoint deletes, 2: overlapping deletes and updates */
    int64_t rows, ops;
    int abort_child; /* ES_TEST_ABORT_CHILD, or -1 */
} proc_cfg;

typedef struct proc_child {
    es_store *s;
    FILE *f;
    int child;
    int64_t calls, conflicts, interleaved, errors, acked;
    const proc_cfg *cfg;
} proc_child;

static void proc_path(char *out, size_t cap, const proc_cfg *cfg, int child)
{
    snprintf(out, cap, "%s/%s_%d.txt", cfg->dir, cfg->table, child);
}

/* One call: keys[0..n) (for B the whole range, lo first and hi last). */
static es_status proc_call(es_store *s, const char *table, char kind, const int64_t *keys,
                           int64_t n, int64_t value, int64_t *rows)
{
    if (kind == 'K')
        return delete_keys(s, table, keys, n, rows);
    es_value vals[PROC_MAX_KEYS];
    es_expr *e;
    if (kind == 'B') {
        e = es_expr_between("id", vint(keys[0]), vint(keys[n - 1]));
    } else {
        for (int64_t k = 0; k < n; k++)
            vals[k] = vint(keys[k]);
        e = es_expr_in(kind == 'V' ? "v" : "id", vals, n);
    }
    if (!e)
        return ES_NOMEM; /* never a NULL predicate: that would delete every row */
    es_status rc;
    if (kind == 'U') {
        set_update u = {value};
        rc = es_update(s, table, e, set_update_fn, &u, rows);
    } else {
        rc = es_delete(s, table, e, rows);
    }
    es_expr_free(e);
    return rc;
}

/* Run one call to its acknowledgement, retrying ES_CONFLICT, and record it. 0 or -1. */
static int proc_run(proc_child *pc, char kind, const int64_t *keys, int64_t n, int64_t value)
{
    const char *table = pc->cfg->table;
    for (int attempt = 0;; attempt++) {
        int64_t before = -1, rows = 0;
        es_store_version(pc->s, &before);
        pc->calls++;
        es_status rc = proc_call(pc->s, table, kind, keys, n, value, &rows);
        if (rc == ES_OK) {
            int64_t version = -1;
            if (rows > 0) {
                version = pc->s->snap->version; /* the entry this call wrote */
                pc->interleaved += before >= 0 ? version - before - 1 : 0;
            }
            fprintf(pc->f, "R %c %lld %lld %lld %lld", kind, (long long)rows, (long long)version,
                    (long long)value, (long long)n);
            for (int64_t k = 0; k < n; k++)
                fprintf(pc->f, " %lld", (long long)keys[k]);
            fputc('\n', pc->f);
            pc->acked++;
            if (pc->acked == 2 && pc->child == pc->cfg->abort_child)
                abort(); /* ES_TEST_ABORT_CHILD: shows how a crashed child is reported */
            return 0;
        }
        if (rc == ES_CONFLICT && attempt < PROC_MAX_RETRIES) {
            pc->conflicts++;
            if (!strstr(es_store_errmsg(pc->s), table)) {
                pc->errors++;
                fprintf(stderr, "%s child %d: a conflict that does not name the table: %s\n", table,
                        pc->child, es_store_errmsg(pc->s));
            }
            continue;
        }
        pc->errors++;
        fprintf(stderr, "%s child %d: call %c of %lld keys: %s after %d attempts: %s\n", table,
                pc->child, kind, (long long)n, es_status_name(rc), attempt + 1,
                es_store_errmsg(pc->s));
        return -1;
    }
}

/* n distinct random keys in [lo, hi]. */
static void proc_pick(int64_t *keys, int64_t n, int64_t lo, int64_t hi)
{
    for (int64_t k = 0; k < n; k++) {
        int dup;
        do {
            keys[k] = rnd_in(lo, hi);
            dup = 0;
            for (int64_t j = 0; j < k; j++)
                dup |= keys[j] == keys[k];
        } while (dup);
    }
}

/* The body of a child; returns its exit status. */
static int proc_child_main(const proc_cfg *cfg, int child, int go_fd)
{
    alarm(PROC_ALARM_S);
    rng ^= 0x9E3779B97F4A7C15ull * (uint64_t)(child + 1) * (uint64_t)cfg->phase;
    rnd();
    char path[512];
    proc_path(path, sizeof(path), cfg, child);
    proc_child pc;
    memset(&pc, 0, sizeof(pc));
    pc.child = child;
    pc.cfg = cfg;
    pc.f = fopen(path, "w");
    if (!pc.f) {
        fprintf(stderr, "child %d: cannot create %s: %s\n", child, path, strerror(errno));
        return 2;
    }
    es_open_options opt = ES_OPEN_OPTIONS_INIT;
    opt.batch_rows = 64;
    if (es_store_open(&pc.s, cfg->uri, &opt) != ES_OK) {
        fprintf(stderr, "%s child %d: open %s: %s\n", cfg->table, child, cfg->uri,
                pc.s ? es_store_errmsg(pc.s) : "out of memory");
        pc.errors++;
    }
    char byte;
    while (read(go_fd, &byte, 1) < 0 && errno == EINTR)
        ; /* EOF: the parent has started every child */
    close(go_fd);
    int64_t keys[512];
    if (pc.errors == 0 && cfg->phase == 1) {
        /* My own keys, id % (children + 1) == child, in calls of 8 to 16 keys, the three
         * ways of deleting in turn; the last residue is nobody's. */
        int64_t n = 0;
        for (int64_t id = child; id < cfg->rows && n < 512; id += PROC_CHILDREN + 1)
            keys[n++] = id;
        shuffle(keys, n);
        for (int64_t i = 0, call = 0; i < n && pc.errors == 0; call++) {
            int64_t m = rnd_in(8, 16);
            m = m < n - i ? m : n - i;
            proc_run(&pc, "KIV"[call % 3], keys + i, m, 0);
            i += m;
        }
    } else if (pc.errors == 0) {
        /* Random keys, half of the calls among the first 40 (hot) ones: deletes of 2 to 6 keys
         * or of a range of 2 to 5, and updates of 2 to 5 keys to a value of this call. */
        for (int64_t op = 0; op < cfg->ops && pc.errors == 0; op++) {
            int64_t hi = (rnd() & 1) ? 39 : cfg->rows - 1, r = rnd_in(0, 9), m;
            int64_t value = 100000 * (child + 1) + op;
            if (r < 3) {
                m = rnd_in(2, 5);
                proc_pick(keys, m, 0, hi);
                proc_run(&pc, 'U', keys, m, value);
            } else if (r < 5) {
                m = rnd_in(2, 5);
                int64_t lo = rnd_in(0, hi - m + 1);
                for (int64_t k = 0; k < m; k++)
                    keys[k] = lo + k;
                proc_run(&pc, 'B', keys, m, 0);
            } else {
                m = rnd_in(2, 6);
                proc_pick(keys, m, 0, hi);
                proc_run(&pc, r % 2 ? 'K' : 'I', keys, m, 0);
            }
        }
    }
    fprintf(pc.f, "E %lld %lld %lld %lld\n", (long long)pc.calls, (long long)pc.conflicts,
            (long long)pc.interleaved, (long long)pc.errors);
    int ok = fclose(pc.f) == 0 && pc.errors == 0;
    es_store_close(pc.s);
    return ok ? 0 : 1;
}

/* The records of all children of a phase. */
typedef struct proc_rec {
    int child;
    char kind;
    int64_t rows, version, value, n;
    int64_t keys[PROC_MAX_KEYS];
} proc_rec;

typedef struct proc_log {
    proc_rec *r;
    int64_t n, cap;
    int64_t calls, conflicts, interleaved;
    int all_ok; /* every child exited 0 and finished its file */
} proc_log;

static int proc_has_key(const proc_rec *r, int64_t id)
{
    for (int64_t k = 0; k < r->n; k++)
        if (r->keys[k] == id)
            return 1;
    return 0;
}

/* Read child's file into log; 0 when it is incomplete or malformed. */
static int proc_read(proc_log *log, const proc_cfg *cfg, int child)
{
    char path[512], line[2048];
    proc_path(path, sizeof(path), cfg, child);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "%s child %d: no results file %s\n", cfg->table, child, path);
        return 0;
    }
    int finished = 0, bad = 0;
    while (fgets(line, sizeof(line), f)) {
        long long a, b, c, d;
        if (line[0] == 'E' && sscanf(line, "E %lld %lld %lld %lld", &a, &b, &c, &d) == 4) {
            log->calls += a;
            log->conflicts += b;
            log->interleaved += c;
            finished = 1;
            continue;
        }
        proc_rec r;
        memset(&r, 0, sizeof(r));
        r.child = child;
        if (line[0] != 'R' || strlen(line) < 4) {
            bad++;
            continue;
        }
        r.kind = line[2];
        char *p = line + 3, *end;
        int64_t f4[4];
        for (int i = 0; i < 4; i++, p = end)
            f4[i] = strtoll(p, &end, 10);
        r.rows = f4[0];
        r.version = f4[1];
        r.value = f4[2];
        r.n = f4[3];
        if (r.n < 1 || r.n > PROC_MAX_KEYS) {
            bad++;
            continue;
        }
        for (int64_t k = 0; k < r.n; k++, p = end)
            r.keys[k] = strtoll(p, &end, 10);
        if (log->n == log->cap) {
            log->cap = log->cap ? log->cap * 2 : 64;
            log->r = realloc(log->r, (size_t)log->cap * sizeof(proc_rec));
        }
        log->r[log->n++] = r;
    }
    fclose(f);
    unlink(path);
    if (bad || !finished)
        fprintf(stderr, "%s child %d: results file %s: %d malformed lines%s\n", cfg->table, child,
                path, bad, finished ? "" : ", no final line (the child did not finish)");
    return !bad && finished;
}

/* Fork the children of a phase, start them together, wait for them and read their files.
 * Every child must exit with status 0; a signal is reported by name. */
static void proc_spawn(proc_log *log, const proc_cfg *cfg)
{
    memset(log, 0, sizeof(*log));
    int go[2];
    if (pipe(go) != 0) {
        CHECK(!"pipe");
        return;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pids[PROC_CHILDREN];
    for (int c = 0; c < PROC_CHILDREN; c++) {
        pids[c] = fork();
        if (pids[c] == 0) {
            close(go[1]);
            _exit(proc_child_main(cfg, c, go[0]));
        }
        if (pids[c] < 0)
            fprintf(stderr, "%s: fork of child %d: %s\n", cfg->table, c, strerror(errno));
    }
    close(go[0]);
    close(go[1]); /* start */
    log->all_ok = 1;
    for (int c = 0; c < PROC_CHILDREN; c++) {
        int status = 0, ok = 0;
        pid_t r = -1;
        if (pids[c] > 0)
            while ((r = waitpid(pids[c], &status, 0)) < 0 && errno == EINTR)
                ;
        if (pids[c] <= 0) {
            ; /* fork failed, said above */
        } else if (r != pids[c]) {
            fprintf(stderr, "%s: waitpid of child %d: %s\n", cfg->table, c, strerror(errno));
        } else if (WIFSIGNALED(status)) {
            int sig = WTERMSIG(status);
            fprintf(stderr, "%s: child %d (pid %d) was killed by signal %d (%s)%s\n", cfg->table, c,
                    (int)pids[c], sig, strsignal(sig),
                    sig == SIGALRM ? ": it was still running after its alarm" : "");
        } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr,
                    "%s: child %d (pid %d) exited with status %d (its messages are above)\n",
                    cfg->table, c, (int)pids[c], WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        } else {
            ok = 1;
        }
        if (ok)
            check_passed++;
        else
            check_failed++;
        ok = proc_read(log, cfg, c) && ok;
        log->all_ok &= ok;
    }
}

/* Messages of the checks of one phase: the first PROC_MAX_MSGS are printed, then one line says
 * the rest were left out. */
#define PROC_MAX_MSGS 12
static int proc_msgs;

static void proc_bad(int64_t *bad, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void proc_bad(int64_t *bad, const char *fmt, ...)
{
    (*bad)++;
    if (proc_msgs++ >= PROC_MAX_MSGS) {
        if (proc_msgs == PROC_MAX_MSGS + 1)
            fprintf(stderr, "(further messages left out)\n");
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* A table of ids 0..n_ids-1 at one version: live flag, v and s of each id. */
typedef struct proc_state {
    int64_t n_ids, count, bad;
    char *live;
    int64_t *v;
    char (*s)[24];
} proc_state;

static void proc_state_reset(proc_state *st)
{
    free(st->live);
    free(st->v);
    free(st->s);
    memset(st, 0, sizeof(*st));
}

/* Read `table` at version `at` (-1: latest). Rows outside 0..n_ids-1, two rows with one id or
 * a failed scan count in st->bad (with a message). */
static void proc_state_read(proc_state *st, es_store *s, const char *table, int64_t at,
                            int64_t n_ids)
{
    memset(st, 0, sizeof(*st));
    st->n_ids = n_ids;
    st->live = calloc((size_t)n_ids, 1);
    st->v = calloc((size_t)n_ids, sizeof(int64_t));
    st->s = calloc((size_t)n_ids, sizeof(*st->s));
    strlist l;
    char msg[512];
    es_status rc = table_rows(s, table, at, &l, msg, sizeof(msg));
    if (rc) {
        fprintf(stderr, "%s at version %lld: %s %s\n", table, (long long)at, es_status_name(rc),
                msg);
        st->bad++;
    }
    for (int64_t i = 0; i < l.n; i++) {
        long long id, v;
        char str[24];
        st->count++;
        if (sscanf(l.s[i], "%lld|%lld|%23s", &id, &v, str) != 3 || id < 0 || id >= n_ids ||
            st->live[id]) {
            proc_bad(&st->bad, "%s at version %lld: unexpected or repeated row %s", table,
                     (long long)at, l.s[i]);
            continue;
        }
        st->live[id] = 1;
        st->v[id] = v;
        snprintf(st->s[id], sizeof(st->s[id]), "%s", str);
    }
    sl_free(&l);
}

/* Live rows of `table` at version `at` as the log counts them. */
static int64_t live_rows_at(es_store *s, const char *table, int64_t at)
{
    es_table_info info;
    if (es_table_describe(s, table, at, &info) != ES_OK)
        return -1;
    int64_t n = info.n_rows;
    es_table_info_reset(&info);
    return n;
}

static int proc_is_delete(const proc_rec *r)
{
    return r->kind != 'U';
}

/* Check versions from+1..to of `table` by time travel (es_scan with at_version), each against
 * the one before. Always: no version adds a row or holds an id twice; a row once deleted
 * never reappears; the row count never increases across a deletes-only version, and equals
 * the count the log records for that version. When `attributed` (every child finished): each
 * version is claimed by exactly one acknowledged call of log; a delete's version removes
 * exactly the rows it returned, all among its keys, and changes no other row; an update's
 * rewrites exactly the rows it returned, among its keys, to its value, and removes none.
 * gone_by[id] counts the calls whose version removed id. Returns the versions checked. */
static int64_t proc_check_history(es_store *s, const char *table, int64_t from, int64_t to,
                                  int64_t n_ids, const proc_log *log, int attributed,
                                  int64_t *gone_by)
{
    int64_t span = to - from, bad = 0, checked = 0;
    int64_t *claim = malloc((size_t)(span > 0 ? span : 1) * sizeof(int64_t));
    int64_t *deleted_at = malloc((size_t)n_ids * sizeof(int64_t));
    for (int64_t i = 0; i < span; i++)
        claim[i] = -1;
    for (int64_t id = 0; id < n_ids; id++)
        deleted_at[id] = -1;
    for (int64_t i = 0; attributed && i < log->n; i++) {
        const proc_rec *r = &log->r[i];
        if (r->rows == 0 && r->version == -1)
            continue;
        if (r->rows <= 0 || r->version <= from || r->version > to) {
            proc_bad(&bad,
                     "%s: child %d's call %c returned %lld rows at version %lld, "
                     "outside %lld..%lld",
                     table, r->child, r->kind, (long long)r->rows, (long long)r->version,
                     (long long)from + 1, (long long)to);
        } else if (claim[r->version - from - 1] >= 0) {
            proc_bad(&bad, "%s: version %lld claimed by the calls of children %d and %d", table,
                     (long long)r->version, log->r[claim[r->version - from - 1]].child, r->child);
        } else {
            claim[r->version - from - 1] = i;
        }
    }
    proc_state prev, cur;
    proc_state_read(&prev, s, table, from, n_ids);
    bad += prev.bad;
    for (int64_t v = from + 1; v <= to; v++) {
        const proc_rec *r = NULL;
        if (attributed && claim[v - from - 1] < 0) {
            proc_bad(&bad, "%s: version %lld was committed by no acknowledged call", table,
                     (long long)v);
        } else if (attributed) {
            r = &log->r[claim[v - from - 1]];
        }
        proc_state_read(&cur, s, table, v, n_ids);
        bad += cur.bad;
        int64_t removed = 0, changed = 0, outside = 0, wrong = 0;
        for (int64_t id = 0; id < n_ids; id++) {
            if (cur.live[id] && !prev.live[id] && deleted_at[id] >= 0) {
                proc_bad(&bad, "%s: row %lld, deleted at version %lld, reappears at version %lld",
                         table, (long long)id, (long long)deleted_at[id], (long long)v);
            } else if (cur.live[id] && !prev.live[id]) {
                proc_bad(&bad, "%s: row %lld appears at version %lld", table, (long long)id,
                         (long long)v);
            } else if (!cur.live[id] && prev.live[id]) {
                removed++;
                deleted_at[id] = v;
                gone_by[id] += r != NULL && proc_is_delete(r);
                outside += r && !proc_has_key(r, id);
            } else if (cur.live[id] &&
                       (cur.v[id] != prev.v[id] || strcmp(cur.s[id], prev.s[id]) != 0)) {
                changed++;
                outside += r && !proc_has_key(r, id);
                if (r) {
                    char tag[32];
                    snprintf(tag, sizeof(tag), "u%lld", (long long)r->value);
                    wrong += cur.v[id] != r->value || strcmp(cur.s[id], tag) != 0;
                }
            }
        }
        int deletes_only = r ? proc_is_delete(r) : changed == 0;
        int ok = !deletes_only || cur.count <= prev.count;
        ok = ok && cur.count == prev.count - removed;
        if (r && proc_is_delete(r))
            ok = ok && removed == r->rows && changed == 0;
        if (r && !proc_is_delete(r))
            ok = ok && changed == r->rows && removed == 0;
        ok = ok && outside == 0 && wrong == 0 && live_rows_at(s, table, v) == cur.count;
        if (!ok)
            proc_bad(&bad,
                     "%s: version %lld (%s%c of %lld rows by child %d): %lld -> %lld rows, "
                     "%lld removed, %lld changed, %lld not among its keys, %lld with a wrong "
                     "value, the log counts %lld",
                     table, (long long)v, r ? "" : "unclaimed ", r ? r->kind : '?',
                     r ? (long long)r->rows : -1LL, r ? r->child : -1, (long long)prev.count,
                     (long long)cur.count, (long long)removed, (long long)changed,
                     (long long)outside, (long long)wrong, (long long)live_rows_at(s, table, v));
        proc_state_reset(&prev);
        prev = cur;
        checked++;
    }
    proc_state_reset(&prev);
    free(claim);
    free(deleted_at);
    CHECK_EQ_INT(bad, 0);
    return checked;
}

/* A table of ids 0..rows-1 in one part (v = id, s = "r<id>"); returns the version after the
 * insert, or -1. */
static int64_t proc_table(es_store *s, const char *table, int64_t rows)
{
    struct ArrowSchema sc = small_schema();
    es_table_drop(s, table, 1);
    CHECK_OK(es_table_create(s, table, &sc, "id", 0));
    sc.release(&sc);
    CHECK_OK(insert_small(s, table, 0, rows, 1));
    CHECK_EQ_INT(n_parts(s, table), 1);
    return version_of(s);
}

static void proc_log_reset(proc_log *log)
{
    free(log->r);
    memset(log, 0, sizeof(*log));
}

static int proc_abort_child(void)
{
    const char *e = getenv("ES_TEST_ABORT_CHILD");
    return e && *e ? atoi(e) : -1;
}

/* 1. Disjoint deletes in one part: child c deletes the ids with id % 5 == c in calls of 8 to
 * 16 keys (es_delete_keys, es_delete of id IN and of v IN, in turn); ids with id % 5 == 4 are
 * nobody's. No call conflicts; every call deletes all its keys in one version of its own;
 * afterwards exactly the ids nobody deleted are left, unchanged. */
static void proc_disjoint(es_store *s, const char *uri, const char *dir)
{
    const int64_t rows = 400;
    proc_cfg cfg = {uri, "pd", dir, 1, rows, 0, proc_abort_child()};
    proc_msgs = 0;
    double t0 = now_s();
    int64_t v0 = proc_table(s, "pd", rows);
    proc_log log;
    proc_spawn(&log, &cfg);
    int64_t v1 = version_of(s);
    int64_t *gone_by = calloc((size_t)rows, sizeof(int64_t));
    int64_t *acked = calloc((size_t)rows, sizeof(int64_t));
    int64_t short_calls = 0, deleted = 0, kinds[3] = {0, 0, 0};
    for (int64_t i = 0; i < log.n; i++) {
        const proc_rec *r = &log.r[i];
        short_calls += r->rows != r->n;
        deleted += r->rows;
        kinds[r->kind == 'K' ? 0 : r->kind == 'I' ? 1 : 2]++;
        for (int64_t k = 0; k < r->n; k++)
            if (r->keys[k] >= 0 && r->keys[k] < rows)
                acked[r->keys[k]]++;
    }
    CHECK_EQ_INT(log.conflicts, 0);
    if (log.conflicts)
        fprintf(stderr, "pd: %lld conflicts between deletes of disjoint rows\n",
                (long long)log.conflicts);
    CHECK_EQ_INT(short_calls, 0);
    if (!log.all_ok)
        fprintf(stderr, "pd: a child failed (above): only the checks that need no child's "
                        "records follow\n");
    if (log.all_ok)
        CHECK_EQ_INT(v1 - v0, log.n); /* one version per call */
    int64_t checked = proc_check_history(s, "pd", v0, v1, rows, &log, log.all_ok, gone_by);
    /* Now: the ids of every acknowledged call are gone, each removed by that call's version;
     * all others are there with their values. */
    proc_state st;
    proc_state_read(&st, s, "pd", -1, rows);
    int64_t bad = st.bad;
    for (int64_t id = 0; id < rows && log.all_ok; id++) {
        int mine = id % (PROC_CHILDREN + 1) != PROC_CHILDREN;
        if (mine)
            bad += acked[id] != 1 || gone_by[id] != 1;
        if (acked[id])
            bad += st.live[id];
        else
            bad += !st.live[id] || st.v[id] != id % 1000;
    }
    CHECK_EQ_INT(bad, 0);
    if (log.all_ok)
        CHECK_EQ_INT(st.count, rows - deleted);
    CHECK_EQ_INT(live_rows(s, "pd"), st.count);
    printf("processes, disjoint deletes in one part (%d children): %lld calls (%lld "
           "es_delete_keys, %lld id IN, %lld v IN), %lld conflicts, %lld rows deleted, %lld "
           "commits of others during a call, %lld versions checked, %.2f s\n",
           PROC_CHILDREN, (long long)log.calls, (long long)kinds[0], (long long)kinds[1],
           (long long)kinds[2], (long long)log.conflicts, (long long)deleted,
           (long long)log.interleaved, (long long)checked, now_s() - t0);
    proc_state_reset(&st);
    free(gone_by);
    free(acked);
    proc_log_reset(&log);
    es_table_drop(s, "pd", 1);
}

/* 2. Overlapping deletes and updates: each child makes `ops` calls on random keys (half of
 * them among the first 40), retrying conflicts. Each row gone was removed by exactly one
 * acknowledged delete, which listed it; the counts the deletes returned add up to the rows
 * gone; every key of an acknowledged delete is gone; a row left holds its first value or the
 * value of the last acknowledged update that listed it. */
static void proc_overlapping(es_store *s, const char *uri, const char *dir, int64_t ops)
{
    const int64_t rows = 200;
    proc_cfg cfg = {uri, "po", dir, 2, rows, ops, proc_abort_child()};
    proc_msgs = 0;
    double t0 = now_s();
    int64_t v0 = proc_table(s, "po", rows);
    proc_log log;
    proc_spawn(&log, &cfg);
    int64_t v1 = version_of(s);
    int64_t *gone_by = calloc((size_t)rows, sizeof(int64_t));
    int64_t deletes = 0, empty = 0, updates = 0, sum = 0, commits = 0;
    for (int64_t i = 0; i < log.n; i++) {
        const proc_rec *r = &log.r[i];
        commits += r->rows > 0;
        if (proc_is_delete(r)) {
            deletes++;
            empty += r->rows == 0;
            sum += r->rows;
        } else {
            updates++;
        }
    }
    if (!log.all_ok)
        fprintf(stderr, "po: a child failed (above): only the checks that need no child's "
                        "records follow\n");
    if (log.all_ok)
        CHECK_EQ_INT(v1 - v0, commits);
    int64_t checked = proc_check_history(s, "po", v0, v1, rows, &log, log.all_ok, gone_by);
    proc_state st;
    proc_state_read(&st, s, "po", -1, rows);
    int64_t bad = st.bad, gone = 0;
    for (int64_t id = 0; id < rows; id++)
        gone += !st.live[id];
    for (int64_t id = 0; id < rows && log.all_ok; id++) {
        if (!st.live[id] && gone_by[id] != 1)
            proc_bad(&bad, "po: row %lld is gone, removed by %lld acknowledged deletes",
                     (long long)id, (long long)gone_by[id]);
        if (!st.live[id])
            continue;
        /* Its value: the first one, or the last update (by version) that listed it. */
        const proc_rec *last = NULL;
        for (int64_t i = 0; i < log.n; i++) {
            const proc_rec *r = &log.r[i];
            if (proc_is_delete(r) && proc_has_key(r, id))
                proc_bad(&bad, "po: row %lld survives child %d's acknowledged delete %c",
                         (long long)id, r->child, r->kind);
            if (!proc_is_delete(r) && r->rows > 0 && proc_has_key(r, id) &&
                (!last || r->version > last->version))
                last = r;
        }
        char tag[32];
        if (last)
            snprintf(tag, sizeof(tag), "u%lld", (long long)last->value);
        else
            snprintf(tag, sizeof(tag), "r%lld", (long long)id);
        int64_t want = last ? last->value : id % 1000;
        if (st.v[id] != want || strcmp(st.s[id], tag) != 0)
            proc_bad(&bad, "po: row %lld holds %lld|%s, not %lld|%s", (long long)id,
                     (long long)st.v[id], st.s[id], (long long)want, tag);
    }
    CHECK_EQ_INT(bad, 0);
    if (log.all_ok)
        CHECK_EQ_INT(sum, gone); /* none lost, none counted twice */
    CHECK_EQ_INT(st.count, rows - gone);
    CHECK_EQ_INT(live_rows(s, "po"), rows - gone);
    printf("processes, overlapping deletes and updates (%d children x %lld calls): %lld calls "
           "made, %lld conflicts (retried), %lld deletes acknowledged (%lld found nothing left), "
           "%lld updates, %lld rows deleted each by one call, %lld commits of others during a "
           "call, %lld versions checked, %.2f s\n",
           PROC_CHILDREN, (long long)ops, (long long)log.calls, (long long)log.conflicts,
           (long long)deletes, (long long)empty, (long long)updates, (long long)gone,
           (long long)log.interleaved, (long long)checked, now_s() - t0);
    proc_state_reset(&st);
    free(gone_by);
    proc_log_reset(&log);
    es_table_drop(s, "po", 1);
}

/* The tests with forked writers on uri (a local directory or an S3 prefix: never mem://, which
 * lives in one process). */
static void test_processes(const char *uri, int64_t ops)
{
    es_store *s = NULL;
    es_open_options opt = ES_OPEN_OPTIONS_INIT;
    opt.batch_rows = 64;
    CHECK_OK(es_store_open(&s, uri, &opt));
    char dir[] = "/tmp/es_test_proc_XXXXXX";
    if (!s || !mkdtemp(dir)) {
        CHECK(!"store or results directory");
        es_store_close(s);
        return;
    }
    proc_disjoint(s, uri, dir);
    proc_overlapping(s, uri, dir, ops);
    if (rmdir(dir) != 0)
        fprintf(stderr, "cannot remove %s: %s\n", dir, strerror(errno));
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

/* Run operation `op` with its input (ops 2 and 3; consumed) on table "f". */
static es_status fault_run(es_store *s, int op, struct ArrowArrayStream *in)
{
    int64_t n, n2;
    fault_preds_init();
    switch (op) {
    case 0:
        return es_delete(s, "f", fault_preds[0], &n);
    case 1: {
        small_update u = {1000, "x", 0, ES_OK, 0};
        return es_update(s, "f", fault_preds[1], small_update_fn, &u, &n);
    }
    case 2:
        return es_upsert(s, "f", in, ES_UPSERT_REPLACE, &n, &n2);
    default:
        return es_delete_keys(s, "f", in, &n);
    }
}

static es_status fault_op(es_store *s, int op)
{
    struct ArrowArrayStream in;
    memset(&in, 0, sizeof(in));
    if (op >= 2)
        fault_input(op, &in);
    return fault_run(s, op, op >= 2 ? &in : NULL);
}

static void test_faults(void)
{
    static const char *ops[] = {"delete", "update", "upsert", "delete part"};
    static const char *modes[] = {"fail once", "fail from then on", "lose the put's response",
                                  "crash after put"};
    es_open_options opt = ES_OPEN_OPTIONS_INIT;
    opt.batch_rows = 32;
    int64_t total_runs = 0, both = 0;
    for (int op = 0; op < 4; op++) {
        /* The state before and after, without faults. */
        char *before = NULL, *after = NULL;
        {
            es_objstore_mem_drop("fault_ref");
            es_store *s = NULL;
            CHECK_OK(es_store_open(&s, "mem://fault_ref", &opt));
            fault_setup(s);
            before = table_state(s, "f", -1);
            CHECK_OK(fault_op(s, op));
            after = table_state(s, "f", -1);
            es_store_close(s);
        }
        CHECK(before && after && strcmp(before, after) != 0);
        for (int mode = 0; mode < 4; mode++) {
            int64_t seen_before = 0, seen_after = 0, runs = 0;
            for (int64_t nth = 1; nth < 400; nth++) {
                es_objstore_mem_drop("fault");
                es_objstore *inner = NULL, *fw = NULL;
                CHECK_OK(es_objstore_open(&inner, "mem://fault", NULL));
                CHECK_OK(es_objstore_fault_wrap(&fw, inner, 0, NULL));
                es_store *s = NULL, *c = NULL;
                CHECK_OK(es_store_open_objstore(&s, inner, 0, &opt, NULL));
                fault_setup(s);
                es_store_close(s);
                CHECK_OK(es_store_open_objstore(&c, fw, 0, &opt, NULL));
                es_fault_config cfg;
                memset(&cfg, 0, sizeof(cfg));
                cfg.op = -1;
                if (mode == 0) {
                    cfg.fail_at = nth;
                } else if (mode == 1) {
                    cfg.fail_at = nth;
                    cfg.persist = 1;
                } else if (mode == 2) {
                    cfg.op = ES_OP_PUT;
                    cfg.fail_at = nth;
                    cfg.after = 1;
                } else {
                    cfg.crash_after_put = nth;
                }
                CHECK_OK(es_objstore_fault_set(fw, &cfg));
                es_status rc = fault_op(c, op);
                int faulted = es_objstore_fault_injected(fw) > 0 || es_objstore_fault_crashed(fw);
                es_store_close(c);
                /* Reopen on the inner store: the state before or after, never in between. */
                es_store *r = NULL;
                CHECK_OK(es_store_open_objstore(&r, inner, 0, &opt, NULL));
                char *now = r ? table_state(r, "f", -1) : NULL;
                int is_before = now && strcmp(now, before) == 0;
                int is_after = now && strcmp(now, after) == 0;
                CHECK(is_before || is_after);
                if (rc == ES_OK)
                    CHECK(is_after);
                if (!(is_before || is_after) || (rc == ES_OK && !is_after))
                    fprintf(stderr, "fault %s, %s at %lld: %s, state %s\n", ops[op], modes[mode],
                            (long long)nth, es_status_name(rc),
                            is_before  ? "before"
                            : is_after ? "after"
                                       : "neither");
                seen_before += is_before;
                seen_after += is_after;
                /* And the store still takes writes. */
                if (r && nth % 8 == 1)
                    CHECK_OK(insert_small(r, "f", 900000 + nth, 1, 1));
                free(now);
                es_store_close(r);
                es_objstore_close(fw);
                es_objstore_close(inner);
                runs++;
                if (!faulted)
                    break;
            }
            /* Removing a part writes no object before its commit: a lost response or a crash
             * after its only put (the commit) always leaves the state after. */
            CHECK(seen_before > 0 || (op == 3 && mode >= 2));
            CHECK(seen_after > 0);
            both += seen_before > 0 && seen_after > 0;
            total_runs += runs;
        }
        free(before);
        free(after);
    }
    es_objstore_mem_drop("fault");
    es_objstore_mem_drop("fault_ref");
    fault_preds_free();
    printf("faults: %lld runs of 4 operations x 4 fault modes, each left the state before or "
           "after (%lld of 16 loops saw both)\n",
           (long long)total_runs, (long long)both);
}

/* Fail the Nth allocation of each operation, for every N (then every 7th): each call fails
 * cleanly or succeeds, and the table is the state before or after it (ASan: no leak). */
static void test_alloc_failures(void)
{
    es_open_options opt = ES_OPEN_OPTIONS_INIT;
    opt.batch_rows = 32;
    int64_t calls = 0, failed = 0;
    for (int op = 0; op < 4; op++) {
        char *before = NULL, *after = NULL;
        es_objstore_mem_drop("allocfail_ref");
        es_store *ref = NULL;
        CHECK_OK(es_store_open(&ref, "mem://allocfail_ref", &opt));
        fault_setup(ref);
        before = table_state(ref, "f", -1);
        CHECK_OK(fault_op(ref, op));
        after = table_state(ref, "f", -1);
        es_store_close(ref);
        for (int64_t nth = 1; nth < 100000; nth += nth < 200 ? 1 : 1 + nth / 20) {
            es_objstore_mem_drop("allocfail");
            es_store *s = NULL;
            CHECK_OK(es_store_open(&s, "mem://allocfail", &opt));
            if (!s)
                break;
            fault_setup(s);
            struct ArrowArrayStream in;
            memset(&in, 0, sizeof(in));
            if (op >= 2)
                fault_input(op, &in);
            fault_preds_init();
            es_util_alloc_fail_at(nth, 0);
            es_status rc = fault_run(s, op, op >= 2 ? &in : NULL);
            int64_t made = es_util_alloc_fail_at(0, 0);
            es_store_close(s);
            es_store *r = NULL;
            CHECK_OK(es_store_open(&r, "mem://allocfail", &opt));
            char *now = r ? table_state(r, "f", -1) : NULL;
            int ok = now && (strcmp(now, before) == 0 || strcmp(now, after) == 0);
            if (rc == ES_OK)
                ok = ok && strcmp(now, after) == 0;
            if (!ok) {
                check_failed++;
                fprintf(stderr, "alloc failure %lld in op %d: %s %s\n", (long long)nth, op,
                        es_status_name(rc), r ? es_store_errmsg(r) : "");
            }
            free(now);
            es_store_close(r);
            calls++;
            failed += rc != ES_OK;
            if (made < nth)
                break; /* the operation made fewer allocations: nothing failed */
        }
        free(before);
        free(after);
    }
    es_objstore_mem_drop("allocfail");
    es_objstore_mem_drop("allocfail_ref");
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
        TIMED(test_processes(env, 10));
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
        TIMED(test_processes(dir, 12));
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", dir);
    }
    return CHECK_DONE();
}
