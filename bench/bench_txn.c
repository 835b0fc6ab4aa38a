/*
 * bench_txn: transactions per second on one store, with concurrent writers (threads, each
 * with its own store handle, as separate processes or machines would have).
 *
 *   bench_txn [URI] [SECONDS]     (default: a fresh directory under /tmp, 3 seconds per cell)
 *   tests/s3/rgw-start /tmp/rgw && tests/s3/with-env /tmp/rgw rgw build/bench/bench_txn \
 *       "$ES_TEST_S3_URI" ; tests/s3/rgw-stop /tmp/rgw       (the loopback Ceph RGW)
 *
 * Prints, for 1, 4 and 8 writers:
 *  - commits per second of transactions of 1 and of 10 small inserts (one row each, blind
 *    appends into one shared table: they never conflict, so every commit is the race for the
 *    next log entry plus the writes of the parts), with the mean commit latency;
 *  - the bank: accounts split across two tables (20 in all), each transaction reads two
 *    balances and writes both (SNAPSHOT and SERIALIZABLE), conflicts retried by the client:
 *    committed transfers per second and the abort rate (conflicts / attempts).
 * Wall-clock figures on a shared machine: compare runs on the same machine only.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "expstore/expstore.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static es_value vint(int64_t i)
{
    es_value v = {ES_VALUE_INT, i, 0, NULL, 0};
    return v;
}

static struct ArrowSchema schema4(const char *a, const char *b, const char *c, const char *d)
{
    struct ArrowSchema sc;
    es_schema_init_struct(&sc, 4, NULL);
    es_schema_init(sc.children[0], "l", a, 0, NULL);
    es_schema_init(sc.children[1], "l", b, 0, NULL);
    es_schema_init(sc.children[2], "l", c, 0, NULL);
    es_schema_init(sc.children[3], "l", d, 0, NULL);
    return sc;
}

static es_status insert_row(es_store *s, const char *table, const struct ArrowSchema *sc,
                            const int64_t v[4])
{
    es_builder *b = NULL;
    struct ArrowArray arr;
    es_status st = es_builder_new(&b, sc, NULL);
    for (int c = 0; c < 4 && !st; c++)
        st = es_builder_append_int(es_builder_child(b, c), v[c]);
    if (!st)
        st = es_builder_append_struct(b);
    if (!st)
        st = es_builder_finish(b, &arr, NULL);
    es_builder_free(b);
    return st ? st : es_insert_batch(s, table, sc, &arr);
}

static es_store *open_or_die(const char *uri)
{
    es_store *s = NULL;
    if (es_store_open(&s, uri, NULL) != ES_OK) {
        fprintf(stderr, "bench_txn: open %s: %s\n", uri, es_store_errmsg(s));
        exit(1);
    }
    return s;
}

typedef struct writer {
    const char *uri;
    int id, mode; /* mode 0: inserts; 1: bank SNAPSHOT; 2: bank SERIALIZABLE */
    int inserts;  /* per transaction (mode 0) */
    double deadline;
    volatile int *go;
    uint64_t rng;
    int64_t commits, conflicts, errors;
    double busy; /* seconds spent in committed transactions' es_txn_commit */
} writer;

static uint64_t rnd(uint64_t *r)
{
    *r ^= *r << 13;
    *r ^= *r >> 7;
    *r ^= *r << 17;
    return *r;
}

/* Read one account (id, bal) of the bank. */
static int64_t read_bal(es_store *s, const char *table, int64_t id)
{
    es_expr *e = es_expr_cmp("id", ES_EQ, vint(id));
    const char *cols[1] = {"bal"};
    es_scan_options so = ES_SCAN_OPTIONS_INIT;
    so.columns = cols;
    so.n_columns = 1;
    so.predicate = e;
    struct ArrowArrayStream st;
    int64_t bal = -1;
    if (es_scan(s, table, &so, &st) == ES_OK) {
        struct ArrowSchema sc;
        struct ArrowArray a;
        if (st.get_schema(&st, &sc) == 0) {
            while (st.get_next(&st, &a) == 0 && a.release) {
                es_array_view v;
                if (a.length > 0 && es_array_view_init(&v, &sc, &a, NULL) == ES_OK) {
                    bal = es_view_get_int(&v.children[0], 0);
                    es_array_view_reset(&v);
                }
                a.release(&a);
            }
            sc.release(&sc);
        }
        st.release(&st);
    }
    es_expr_free(e);
    return bal;
}

typedef struct new_bal {
    int64_t bal;
} new_bal;

static es_status set_bal(void *ctx, const struct ArrowSchema *schema, const struct ArrowArray *rows,
                         struct ArrowArray *out, es_error *err)
{
    const new_bal *nb = ctx;
    es_array_view v;
    es_status st = es_array_view_init(&v, schema, rows, err);
    es_builder *b = NULL;
    if (!st)
        st = es_builder_new(&b, schema, err);
    for (int64_t i = 0; i < v.length && !st; i++) {
        es_builder_append_int(es_builder_child(b, 0), es_view_get_int(&v.children[0], i));
        es_builder_append_int(es_builder_child(b, 1), nb->bal);
        es_builder_append_int(es_builder_child(b, 2), es_view_get_int(&v.children[2], i) + 1);
        es_builder_append_int(es_builder_child(b, 3), 0);
        st = es_builder_append_struct(b);
    }
    if (!st)
        st = es_builder_finish(b, out, err);
    es_builder_free(b);
    es_array_view_reset(&v);
    return st;
}

static es_status transfer(es_store *s, es_isolation iso, uint64_t *r)
{
    int64_t from = (int64_t)(rnd(r) % 20), to;
    do
        to = (int64_t)(rnd(r) % 20);
    while (to == from);
    int64_t ids[2] = {from, to}, bal[2];
    const char *tab[2] = {from < 10 ? "acc_a" : "acc_b", to < 10 ? "acc_a" : "acc_b"};
    es_txn_options o = ES_TXN_OPTIONS_INIT;
    o.isolation = iso;
    es_status st = es_txn_begin(s, &o);
    for (int i = 0; i < 2 && !st; i++)
        if ((bal[i] = read_bal(s, tab[i], ids[i])) < 0)
            st = ES_INTERNAL;
    int64_t amount = 1 + (int64_t)(rnd(r) % 50);
    for (int i = 0; i < 2 && !st; i++) {
        new_bal nb = {i ? bal[1] + amount : bal[0] - amount};
        es_expr *e = es_expr_cmp("id", ES_EQ, vint(ids[i]));
        int64_t n = 0;
        st = es_update(s, tab[i], e, set_bal, &nb, &n);
        es_expr_free(e);
    }
    if (st) {
        es_txn_abort(s);
        return st;
    }
    return es_txn_commit(s, NULL);
}

static void *writer_main(void *arg)
{
    writer *w = arg;
    es_store *s = open_or_die(w->uri);
    struct ArrowSchema sc = schema4("w", "seq", "k", "pad");
    while (!__atomic_load_n(w->go, __ATOMIC_ACQUIRE))
        usleep(100);
    for (int64_t seq = 0; now_s() < w->deadline; seq++) {
        es_status st;
        double t0 = 0;
        if (w->mode == 0) {
            st = es_txn_begin(s, NULL);
            for (int k = 0; k < w->inserts && !st; k++) {
                int64_t row[4] = {w->id, seq, k, 0};
                st = insert_row(s, "ins", &sc, row);
            }
            t0 = now_s();
            if (!st)
                st = es_txn_commit(s, NULL);
            else
                es_txn_abort(s);
        } else {
            t0 = now_s();
            st = transfer(s, w->mode == 1 ? ES_ISOLATION_SNAPSHOT : ES_ISOLATION_SERIALIZABLE,
                          &w->rng);
        }
        if (st == ES_OK) {
            w->commits++;
            w->busy += now_s() - t0;
        } else if (st == ES_CONFLICT) {
            w->conflicts++;
        } else if (w->errors++ == 0) {
            fprintf(stderr, "bench_txn: writer %d: %s: %s\n", w->id, es_status_name(st),
                    es_store_errmsg(s));
        }
    }
    sc.release(&sc);
    es_store_close(s);
    return NULL;
}

/* One cell: n writers for `seconds`. */
static void run(const char *uri, int mode, int inserts, int n, double seconds)
{
    writer w[8];
    pthread_t th[8];
    volatile int go = 0;
    for (int i = 0; i < n; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].uri = uri;
        w[i].id = i;
        w[i].mode = mode;
        w[i].inserts = inserts;
        w[i].go = &go;
        w[i].rng = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1) + bench_rnd();
        pthread_create(&th[i], NULL, writer_main, &w[i]);
    }
    usleep(50000); /* let every writer open its handle */
    double t0 = now_s();
    for (int i = 0; i < n; i++)
        w[i].deadline = t0 + seconds;
    __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    double elapsed = now_s() - t0;
    int64_t commits = 0, conflicts = 0, errors = 0;
    double busy = 0;
    for (int i = 0; i < n; i++) {
        commits += w[i].commits;
        conflicts += w[i].conflicts;
        errors += w[i].errors;
        busy += w[i].busy;
    }
    if (mode == 0)
        printf("  %2d inserts/txn, %d writer%s: %7.1f commits/s  %8.1f rows/s  commit %6.1f ms  "
               "(%lld commits%s)\n",
               inserts, n, n > 1 ? "s" : " ", (double)commits / elapsed,
               (double)commits * inserts / elapsed, commits ? 1000.0 * busy / (double)commits : 0,
               (long long)commits, errors ? ", ERRORS" : "");
    else
        printf("  bank %-12s %d writer%s: %7.1f transfers/s  abort rate %5.1f%%  txn %6.1f ms  "
               "(%lld committed, %lld conflicts%s)\n",
               mode == 1 ? "snapshot," : "serializable,", n, n > 1 ? "s" : " ",
               (double)commits / elapsed,
               commits + conflicts ? 100.0 * (double)conflicts / (double)(commits + conflicts) : 0,
               commits ? 1000.0 * busy / (double)commits : 0, (long long)commits,
               (long long)conflicts, errors ? ", ERRORS" : "");
    fflush(stdout);
}

static void setup(const char *uri)
{
    es_store *s = open_or_die(uri);
    struct ArrowSchema ins = schema4("w", "seq", "k", "pad");
    es_table_drop(s, "ins", 1);
    if (es_table_create(s, "ins", &ins, NULL, 0) != ES_OK) {
        fprintf(stderr, "bench_txn: create: %s\n", es_store_errmsg(s));
        exit(1);
    }
    ins.release(&ins);
    es_store_close(s);
}

static void setup_bank(const char *uri)
{
    es_store *s = open_or_die(uri);
    struct ArrowSchema acc = schema4("id", "bal", "cnt", "pad");
    for (int t = 0; t < 2; t++) {
        const char *name = t ? "acc_b" : "acc_a";
        es_table_drop(s, name, 1);
        if (es_table_create(s, name, &acc, "id", 0) != ES_OK) {
            fprintf(stderr, "bench_txn: create: %s\n", es_store_errmsg(s));
            exit(1);
        }
        for (int64_t id = t * 10; id < t * 10 + 10; id++) {
            int64_t row[4] = {id, 1000, 0, 0};
            if (insert_row(s, name, &acc, row) != ES_OK) {
                fprintf(stderr, "bench_txn: insert: %s\n", es_store_errmsg(s));
                exit(1);
            }
        }
    }
    acc.release(&acc);
    es_store_close(s);
}

int main(int argc, char **argv)
{
    char dir[] = "/tmp/bench_txn_XXXXXX";
    const char *uri = argc > 1 && argv[1][0] ? argv[1] : NULL;
    double seconds = argc > 2 ? atof(argv[2]) : 3.0;
    if (!uri) {
        if (!mkdtemp(dir)) {
            perror("bench_txn: mkdtemp");
            return 1;
        }
        uri = dir;
    }
    if (seconds <= 0)
        seconds = 3.0;
    printf("bench_txn on %s, %.1f s per cell\n", uri, seconds);
    setup(uri);
    printf("blind appends (never in conflict):\n");
    static const int writers[] = {1, 4, 8};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 3; i++)
            run(uri, 0, k ? 10 : 1, writers[i], seconds);
    printf("bank (read two balances, write both; 20 accounts in two tables):\n");
    for (int mode = 1; mode <= 2; mode++) {
        for (int i = 0; i < 3; i++) {
            setup_bank(uri); /* a fresh table for each cell */
            run(uri, mode, 0, writers[i], seconds);
        }
    }
    if (uri == dir) {
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "bench_txn: cannot remove %s\n", dir);
    }
    return 0;
}
