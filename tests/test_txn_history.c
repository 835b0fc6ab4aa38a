/*
 * test_txn_history: transactions under concurrency (see test_txn for the deterministic
 * cases), on mem://, a local temporary directory and ES_TEST_STORE_URI when set (the loopback
 * Ceph RGW, tests/s3.cmake):
 *
 *  - a randomized history checker: threads with a handle each run random transactions of
 *    reads and writes on a small table; every history is recorded and checked: reads see the
 *    snapshot plus own writes (no dirty or non-repeatable read), no two concurrent committed
 *    transactions wrote the same row (no lost update), every committed version read by time
 *    travel is what the committed transactions made it, and under SERIALIZABLE the
 *    dependency graph has no cycle (no write skew);
 *  - the bank: accounts split across two tables, processes (fork) with a handle each run
 *    transfers for a few seconds and retry conflicts; at the end and in every committed
 *    version (time travel) the total is unchanged and every acknowledged transfer is applied
 *    exactly once (per account: a count and a checksum of the transfers applied).
 */
#include <pthread.h>
#include <sys/wait.h>

#include "delete_util.h"

/* --------------------------------------------------------- history checker */

#define H_KEYS 6
#define H_OPS 5

typedef struct h_op {
    int write; /* 1: wrote key := value; 0: read key, saw value */
    int64_t key, value;
} h_op;

typedef struct h_txn {
    int64_t uid;               /* the value its writes store */
    int64_t begin_v, commit_v; /* commit_v: -1 when it did not commit */
    es_status rc;
    int n_ops;
    h_op ops[H_OPS * H_KEYS]; /* a read of every key is H_KEYS reads */
} h_txn;

typedef struct h_worker {
    const char *uri;
    es_isolation iso;
    int id, n_txn;
    int64_t latency_us;
    uint64_t rng;
    volatile int *go;
    h_txn *txns;
    int64_t errors;
    char msg[256];
} h_worker;

static uint64_t w_rnd(uint64_t *r)
{
    *r ^= *r << 13;
    *r ^= *r >> 7;
    *r ^= *r << 17;
    return *r;
}

/* Every row of the small table h as key -> v (values of missing keys stay -1). */
static es_status read_all(es_store *s, int64_t at, int64_t *vals)
{
    strlist l;
    for (int k = 0; k < H_KEYS; k++)
        vals[k] = -1;
    es_status rc = table_rows(s, "h", at, &l, NULL, 0);
    for (int64_t i = 0; i < l.n && !rc; i++) {
        long long id, v;
        if (sscanf(l.s[i], "%lld|%lld|", &id, &v) == 2 && id >= 0 && id < H_KEYS)
            vals[id] = vals[id] == -1 ? v : -2;
    }
    sl_free(&l);
    return rc;
}

/* A handle on uri; on mem:// each request first sleeps latency_us (a fault wrapper), so that
 * the transactions of several threads overlap as they would on a real store. */
static es_store *open_slow(const char *uri, int64_t latency_us)
{
    if (latency_us <= 0 || strncmp(uri, "mem://", 6) != 0)
        return open_store16(uri);
    es_objstore *inner = NULL, *fw = NULL;
    es_store *s = NULL;
    es_open_options opt = ES_OPEN_OPTIONS_INIT;
    opt.batch_rows = 16;
    if (es_objstore_open(&inner, uri, NULL) != ES_OK ||
        es_objstore_fault_wrap(&fw, inner, 1, NULL) != ES_OK) {
        es_objstore_close(inner);
        return NULL;
    }
    es_fault_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.op = -1;
    cfg.latency_ns = latency_us * 1000;
    es_objstore_fault_set(fw, &cfg);
    if (es_store_open_objstore(&s, fw, 1, &opt, NULL) != ES_OK) {
        es_store_close(s);
        return NULL;
    }
    return s;
}

static void *h_main(void *arg)
{
    h_worker *w = arg;
    es_store *s = open_slow(w->uri, w->latency_us);
    if (!s) {
        w->errors++;
        return NULL;
    }
    while (!__atomic_load_n(w->go, __ATOMIC_ACQUIRE))
        usleep(100);
    for (int i = 0; i < w->n_txn; i++) {
        h_txn *t = &w->txns[i];
        memset(t, 0, sizeof(*t));
        t->uid = 1000 + (int64_t)w->id * 100000 + i;
        t->commit_v = -1;
        es_status rc = begin(s, w->iso);
        if (!rc)
            rc = es_store_version(s, &t->begin_v);
        int n = 1 + (int)(w_rnd(&w->rng) % H_OPS);
        for (int k = 0; k < n && !rc; k++) {
            uint64_t r = w_rnd(&w->rng) % 100;
            int64_t key = (int64_t)(w_rnd(&w->rng) % H_KEYS);
            if (r < 45) {
                int64_t v = read_v(s, "h", key);
                if (v < 0)
                    rc = ES_INTERNAL;
                t->ops[t->n_ops++] = (h_op){0, key, v};
            } else if (r < 55) {
                int64_t vals[H_KEYS];
                rc = read_all(s, -1, vals);
                for (int64_t j = 0; j < H_KEYS && !rc; j++)
                    t->ops[t->n_ops++] = (h_op){0, j, vals[j]};
            } else {
                int64_t upd = 0;
                rc = write_v(s, "h", key, t->uid, &upd);
                if (!rc && upd != 1)
                    rc = ES_INTERNAL;
                t->ops[t->n_ops++] = (h_op){1, key, t->uid};
            }
        }
        if (rc) {
            snprintf(w->msg, sizeof(w->msg), "txn call: %s %s", es_status_name(rc),
                     es_store_errmsg(s));
            w->errors++;
            es_txn_abort(s);
        } else if (w_rnd(&w->rng) % 100 < 5) {
            rc = es_txn_abort(s);
            t->rc = ES_INVALID; /* aborted */
            continue;
        } else {
            int64_t v = -1;
            rc = es_txn_commit(s, &v);
            if (rc == ES_OK)
                t->commit_v = v;
            else if (rc != ES_CONFLICT) {
                w->errors++;
                snprintf(w->msg, sizeof(w->msg), "commit: %s %s", es_status_name(rc),
                         es_store_errmsg(s));
            } else if (!strstr(es_store_errmsg(s), "table 'h'")) {
                w->errors++;
                snprintf(w->msg, sizeof(w->msg), "conflict without the table: %s",
                         es_store_errmsg(s));
            }
        }
        t->rc = rc;
    }
    es_store_close(s);
    return NULL;
}

static int txn_writes(const h_txn *t)
{
    for (int i = 0; i < t->n_ops; i++)
        if (t->ops[i].write)
            return 1;
    return 0;
}

/* Depth-first search for a cycle in the dependency graph (adjacency lists). */
static int dfs_cycle(int64_t u, int64_t **adj, const int64_t *n_adj, uint8_t *color)
{
    color[u] = 1;
    for (int64_t i = 0; i < n_adj[u]; i++) {
        int64_t v = adj[u][i];
        if (color[v] == 1)
            return 1;
        if (color[v] == 0 && dfs_cycle(v, adj, n_adj, color))
            return 1;
    }
    color[u] = 2;
    return 0;
}

static void add_edge(int64_t **adj, int64_t *n_adj, int64_t *cap, int64_t a, int64_t b)
{
    if (a == b)
        return;
    if (n_adj[a] == cap[a]) {
        cap[a] = cap[a] ? cap[a] * 2 : 4;
        adj[a] = realloc(adj[a], (size_t)cap[a] * sizeof(int64_t));
    }
    adj[a][n_adj[a]++] = b;
}

static void test_history(const char *uri, es_isolation iso, int n_threads, int n_txn,
                         int64_t latency_us)
{
    es_store *s = open_store16(uri);
    if (!s)
        return;
    make_small(s, "h", 0, H_KEYS); /* v = id */
    int64_t v0 = version_of(s);
    h_worker w[8];
    pthread_t th[8];
    volatile int go = 0;
    for (int i = 0; i < n_threads; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].uri = uri;
        w[i].iso = iso;
        w[i].id = i;
        w[i].n_txn = n_txn;
        w[i].latency_us = latency_us;
        w[i].rng = rnd() | 1;
        w[i].go = &go;
        w[i].txns = calloc((size_t)n_txn, sizeof(h_txn));
        pthread_create(&th[i], NULL, h_main, &w[i]);
    }
    double t0 = now_s();
    __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < n_threads; i++)
        pthread_join(th[i], NULL);
    double elapsed = now_s() - t0;
    int64_t errors = 0, n_all = 0;
    for (int i = 0; i < n_threads; i++) {
        errors += w[i].errors;
        if (w[i].msg[0])
            fprintf(stderr, "history worker %d: %s\n", i, w[i].msg);
    }
    CHECK_EQ_INT(errors, 0);
    /* All transactions in one array; the committed writers by version. */
    h_txn **all = calloc((size_t)(n_threads * n_txn), sizeof(h_txn *));
    for (int i = 0; i < n_threads; i++)
        for (int k = 0; k < n_txn; k++)
            all[n_all++] = &w[i].txns[k];
    int64_t v1 = version_of(s);
    int64_t n_v = v1 - v0 + 1;
    h_txn **by_version = calloc((size_t)n_v, sizeof(h_txn *));
    int64_t committed = 0, conflicts = 0, aborted = 0, bad_versions = 0, read_only = 0;
    for (int64_t i = 0; i < n_all; i++) {
        h_txn *t = all[i];
        conflicts += t->rc == ES_CONFLICT;
        aborted += t->rc == ES_INVALID;
        if (t->commit_v < 0)
            continue;
        committed++;
        if (!txn_writes(t)) {
            read_only++;
            bad_versions += t->commit_v != t->begin_v;
            continue;
        }
        if (t->commit_v <= v0 || t->commit_v > v1 || by_version[t->commit_v - v0])
            bad_versions++;
        else
            by_version[t->commit_v - v0] = t;
    }
    for (int64_t v = 1; v < n_v; v++)
        bad_versions += by_version[v] == NULL; /* every version is one of ours */
    CHECK_EQ_INT(bad_versions, 0);
    /* state[v][k]: the value of key k at version v, and who wrote it (-1: the setup). */
    int64_t(*state)[H_KEYS] = calloc((size_t)n_v, sizeof(*state));
    int64_t(*writer)[H_KEYS] = calloc((size_t)n_v, sizeof(*writer));
    for (int k = 0; k < H_KEYS; k++) {
        state[0][k] = k;
        writer[0][k] = -1;
    }
    for (int64_t v = 1; v < n_v; v++) {
        memcpy(state[v], state[v - 1], sizeof(state[v]));
        memcpy(writer[v], writer[v - 1], sizeof(writer[v]));
        const h_txn *t = by_version[v];
        for (int i = 0; t && i < t->n_ops; i++)
            if (t->ops[i].write) {
                state[v][t->ops[i].key] = t->uid;
                writer[v][t->ops[i].key] = v;
            }
    }
    /* 1. Every read of every transaction (committed or not) saw its snapshot or its own
     *    write: no dirty read (a value nobody committed by then), no non-repeatable read. */
    int64_t bad_reads = 0;
    for (int64_t i = 0; i < n_all; i++) {
        const h_txn *t = all[i];
        if (t->begin_v < v0 || t->begin_v > v1)
            continue; /* never began (an error was counted) */
        for (int k = 0; k < t->n_ops; k++) {
            const h_op *op = &t->ops[k];
            if (op->write)
                continue;
            int own = 0;
            for (int j = 0; j < k; j++)
                own |= t->ops[j].write && t->ops[j].key == op->key;
            int64_t expect = own ? t->uid : state[t->begin_v - v0][op->key];
            if (op->value != expect) {
                if (bad_reads++ < 5)
                    fprintf(stderr,
                            "history: txn %lld (snapshot %lld) read key %lld = %lld, "
                            "expected %lld\n",
                            (long long)t->uid, (long long)t->begin_v, (long long)op->key,
                            (long long)op->value, (long long)expect);
            }
        }
    }
    CHECK_EQ_INT(bad_reads, 0);
    /* 2. No lost update: two committed transactions that wrote one key never overlapped. */
    int64_t lost = 0;
    for (int64_t a = 1; a < n_v; a++)
        for (int64_t b = a + 1; b < n_v; b++) {
            const h_txn *x = by_version[a], *y = by_version[b];
            if (!x || !y || y->begin_v >= x->commit_v)
                continue;
            for (int i = 0; i < x->n_ops; i++)
                for (int j = 0; j < y->n_ops; j++)
                    lost += x->ops[i].write && y->ops[j].write && x->ops[i].key == y->ops[j].key;
        }
    CHECK_EQ_INT(lost, 0);
    /* 3. Every committed version, read by time travel, is what the history made it. */
    int64_t bad_states = 0;
    for (int64_t v = 0; v < n_v; v++) {
        int64_t vals[H_KEYS];
        if (read_all(s, v0 + v, vals) != ES_OK) {
            bad_states++;
            continue;
        }
        bad_states += memcmp(vals, state[v], sizeof(vals)) != 0;
    }
    CHECK_EQ_INT(bad_states, 0);
    /* 4. The dependency graph of the committed transactions (node v: the writer of version v;
     *    read-only ones after them): write-read, write-write and read-write edges. */
    int64_t n_nodes = n_v + read_only, ro = n_v;
    int64_t **adj = calloc((size_t)n_nodes, sizeof(int64_t *));
    int64_t *n_adj = calloc((size_t)n_nodes, sizeof(int64_t));
    int64_t *cap = calloc((size_t)n_nodes, sizeof(int64_t));
    for (int64_t v = 1; v < n_v; v++)
        for (int k = 0; k < H_KEYS; k++)
            if (writer[v][k] == v && writer[v - 1][k] >= 0)
                add_edge(adj, n_adj, cap, writer[v - 1][k], v); /* ww */
    for (int64_t i = 0; i < n_all; i++) {
        const h_txn *t = all[i];
        if (t->commit_v < 0)
            continue;
        int64_t node = txn_writes(t) ? t->commit_v - v0 : ro++;
        for (int k = 0; k < t->n_ops; k++) {
            const h_op *op = &t->ops[k];
            int own = 0;
            for (int j = 0; j < k; j++)
                own |= t->ops[j].write && t->ops[j].key == op->key;
            if (op->write || own)
                continue;
            int64_t from = writer[t->begin_v - v0][op->key]; /* the version it read */
            if (from >= 0)
                add_edge(adj, n_adj, cap, from, node); /* wr */
            for (int64_t nv = t->begin_v - v0 + 1; nv < n_v; nv++)
                if (writer[nv][op->key] == nv) {
                    add_edge(adj, n_adj, cap, node, nv); /* rw: it read the version before */
                    break;
                }
        }
    }
    uint8_t *color = calloc((size_t)n_nodes, 1);
    int cycle = 0;
    for (int64_t u = 0; u < n_nodes && !cycle; u++)
        if (!color[u])
            cycle = dfs_cycle(u, adj, n_adj, color);
    if (iso == ES_ISOLATION_SERIALIZABLE)
        CHECK_EQ_INT(cycle, 0);
    printf("history (%s, %d threads): %lld transactions, %lld committed (%lld read-only), "
           "%lld conflicts, %lld aborted, %lld versions checked, dependency cycle: %s, %.2f s\n",
           iso == ES_ISOLATION_SNAPSHOT ? "snapshot" : "serializable", n_threads, (long long)n_all,
           (long long)committed, (long long)read_only, (long long)conflicts, (long long)aborted,
           (long long)n_v, cycle ? "yes (allowed)" : "no", elapsed);
    for (int64_t u = 0; u < n_nodes; u++)
        free(adj[u]);
    free(adj);
    free(n_adj);
    free(cap);
    free(color);
    free(state);
    free(writer);
    free(by_version);
    free(all);
    for (int i = 0; i < n_threads; i++)
        free(w[i].txns);
    es_store_close(s);
}

/* --------------------------------------------------------------------- bank */

#define BANK_ACCOUNTS 20 /* ids 0..9 in acc_a, 10..19 in acc_b */
#define BANK_START 1000

typedef struct bank_rec {
    int64_t xid, from, to, amount, version; /* xid -1: a worker's summary (from: commits, to:
                                               conflicts, amount: errors) */
} bank_rec;

typedef struct account {
    int64_t bal, cnt, xsum;
} account;

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

static struct ArrowSchema bank_schema(void)
{
    struct ArrowSchema sc;
    es_schema_init_struct(&sc, 4, NULL);
    es_schema_init(sc.children[0], "l", "id", 0, NULL);
    es_schema_init(sc.children[1], "l", "bal", 0, NULL);
    es_schema_init(sc.children[2], "l", "cnt", 0, NULL);
    es_schema_init(sc.children[3], "l", "xsum", 0, NULL);
    return sc;
}

static const char *bank_table(int64_t id)
{
    return id < BANK_ACCOUNTS / 2 ? "acc_a" : "acc_b";
}

typedef struct bank_read {
    account *acc;
    int bad; /* an id out of range */
} bank_read;

static void bank_row(void *ctx, const es_array_view *v, int64_t i)
{
    bank_read *r = ctx;
    int64_t id = es_view_get_int(&v->children[0], i);
    if (id < 0 || id >= BANK_ACCOUNTS) {
        r->bad = 1;
        return;
    }
    r->acc[id].bal = es_view_get_int(&v->children[1], i);
    r->acc[id].cnt = es_view_get_int(&v->children[2], i);
    r->acc[id].xsum = es_view_get_int(&v->children[3], i);
}

/* Every account of a table at version `at` into acc[id]; returns the rows seen (-1: error). */
static int64_t bank_read_table(es_store *s, const char *table, int64_t at, const es_expr *pred,
                               account *acc)
{
    es_scan_options so = ES_SCAN_OPTIONS_INIT;
    so.at_version = at;
    so.predicate = pred;
    bank_read r = {acc, 0};
    int64_t rows = scan_rows(s, table, &so, bank_row, &r);
    return r.bad ? -1 : rows;
}

static es_status bank_set_row(void *ctx, es_builder *b, const es_array_view *v, int64_t i)
{
    const account *acc = ctx;
    es_status st =
        es_builder_append_int(es_builder_child(b, 0), es_view_get_int(&v->children[0], i));
    if (!st)
        st = es_builder_append_int(es_builder_child(b, 1), acc->bal);
    if (!st)
        st = es_builder_append_int(es_builder_child(b, 2), acc->cnt);
    if (!st)
        st = es_builder_append_int(es_builder_child(b, 3), acc->xsum);
    return st;
}

/* Update callback: the row becomes `acc` (same id). */
static es_status bank_set_fn(void *ctx, const struct ArrowSchema *schema,
                             const struct ArrowArray *rows, struct ArrowArray *out, es_error *err)
{
    return remake_rows(out, schema, rows, 0, bank_set_row, ctx, err);
}

/* One transfer in a transaction: read both balances, write both. */
static es_status bank_transfer(es_store *s, es_isolation iso, int64_t xid, int64_t from, int64_t to,
                               int64_t *amount, int64_t *version)
{
    account acc[BANK_ACCOUNTS];
    memset(acc, 0, sizeof(acc));
    es_status rc = begin(s, iso);
    if (rc)
        return rc;
    int64_t ids[2] = {from, to};
    for (int i = 0; i < 2 && !rc; i++) {
        es_expr *e = es_expr_cmp("id", ES_EQ, vint(ids[i]));
        if (bank_read_table(s, bank_table(ids[i]), -1, e, acc) != 1)
            rc = ES_INTERNAL;
        es_expr_free(e);
    }
    if (!rc) {
        int64_t amt = *amount < acc[from].bal ? *amount : acc[from].bal;
        uint64_t h = mix64((uint64_t)xid);
        account nf = {acc[from].bal - amt, acc[from].cnt + 1,
                      (int64_t)((uint64_t)acc[from].xsum + h)};
        account nt = {acc[to].bal + amt, acc[to].cnt + 1, (int64_t)((uint64_t)acc[to].xsum + h)};
        *amount = amt;
        for (int i = 0; i < 2 && !rc; i++) {
            es_expr *e = es_expr_cmp("id", ES_EQ, vint(ids[i]));
            int64_t n = 0;
            rc = es_update(s, bank_table(ids[i]), e, bank_set_fn, i ? &nt : &nf, &n);
            if (!rc && n != 1)
                rc = ES_INTERNAL;
            es_expr_free(e);
        }
    }
    if (rc) {
        es_txn_abort(s);
        return rc;
    }
    return es_txn_commit(s, version);
}

/* A worker process: transfers until the deadline, records to fd. */
static void bank_worker(const char *uri, es_isolation iso, int w, double deadline, int fd)
{
    es_store *s = open_store16(uri);
    uint64_t r = 0x9E3779B97F4A7C15ull * (uint64_t)(w + 1) + rng;
    bank_rec sum = {-1, 0, 0, 0, 0};
    for (int64_t seq = 1; s && now_s() < deadline; seq++) {
        int64_t xid = ((int64_t)(w + 1) << 32) | seq;
        int64_t from = (int64_t)(w_rnd(&r) % BANK_ACCOUNTS), to;
        do
            to = (int64_t)(w_rnd(&r) % BANK_ACCOUNTS);
        while (to == from);
        int64_t want_amount = 1 + (int64_t)(w_rnd(&r) % 100);
        for (;;) {
            int64_t amount = want_amount, version = -1;
            es_status rc = bank_transfer(s, iso, xid, from, to, &amount, &version);
            if (rc == ES_OK) {
                bank_rec rec = {xid, from, to, amount, version};
                if (write(fd, &rec, sizeof(rec)) != (ssize_t)sizeof(rec))
                    sum.amount++;
                sum.from++;
                break;
            }
            if (rc == ES_CONFLICT) {
                sum.to++;
                if (now_s() < deadline)
                    continue; /* retried by the client */
                break;
            }
            fprintf(stderr, "bank worker %d: %s: %s\n", w, es_status_name(rc), es_store_errmsg(s));
            sum.amount++;
            break;
        }
    }
    if (!s)
        sum.amount++;
    if (write(fd, &sum, sizeof(sum)) != (ssize_t)sizeof(sum))
        fprintf(stderr, "bank worker %d: cannot write its summary\n", w);
    es_store_close(s);
}

static void test_bank(const char *uri, es_isolation iso, int n_workers, double seconds)
{
    es_store *s = open_store16(uri);
    if (!s)
        return;
    struct ArrowSchema sc = bank_schema();
    for (int t = 0; t < 2; t++) {
        const char *name = t ? "acc_b" : "acc_a";
        es_table_drop(s, name, 1);
        CHECK_OK(es_table_create(s, name, &sc, "id", 0));
        es_builder *b = NULL;
        es_builder_new(&b, &sc, NULL);
        for (int64_t id = t * BANK_ACCOUNTS / 2; id < (t + 1) * BANK_ACCOUNTS / 2; id++) {
            es_builder_append_int(es_builder_child(b, 0), id);
            es_builder_append_int(es_builder_child(b, 1), BANK_START);
            es_builder_append_int(es_builder_child(b, 2), 0);
            es_builder_append_int(es_builder_child(b, 3), 0);
            es_builder_append_struct(b);
        }
        struct ArrowArray arr;
        es_builder_finish(b, &arr, NULL);
        CHECK_OK(es_insert_batch(s, name, &sc, &arr));
        es_builder_free(b);
    }
    sc.release(&sc);
    int64_t v0 = version_of(s);
    /* Fork the workers before any thread exists in this process. */
    pid_t pids[8];
    int fds[8];
    double t0 = now_s(), deadline = t0 + seconds;
    fflush(stdout);
    fflush(stderr);
    for (int w = 0; w < n_workers; w++) {
        int p[2];
        if (pipe(p) != 0) {
            CHECK(0);
            return;
        }
        pids[w] = fork();
        if (pids[w] == 0) {
            close(p[0]);
            es_store_close(s);
            bank_worker(uri, iso, w, deadline, p[1]);
            close(p[1]);
            _exit(0);
        }
        close(p[1]);
        fds[w] = p[0];
    }
    bank_rec *recs = NULL;
    int64_t n_recs = 0, cap = 0, commits = 0, conflicts = 0, errors = 0;
    for (int w = 0; w < n_workers; w++) {
        bank_rec rec;
        ssize_t k;
        while ((k = read(fds[w], &rec, sizeof(rec))) == (ssize_t)sizeof(rec)) {
            if (rec.xid == -1) {
                commits += rec.from;
                conflicts += rec.to;
                errors += rec.amount;
                continue;
            }
            if (n_recs == cap) {
                cap = cap ? cap * 2 : 256;
                recs = realloc(recs, (size_t)cap * sizeof(*recs));
            }
            recs[n_recs++] = rec;
        }
        close(fds[w]);
        int status = 0;
        waitpid(pids[w], &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    double elapsed = now_s() - t0;
    CHECK_EQ_INT(errors, 0);
    CHECK_EQ_INT(commits, n_recs);
    /* Every acknowledged transfer is one version of its own, and every version is one. */
    int64_t v1 = version_of(s), n_v = v1 - v0;
    bank_rec **by_version = calloc((size_t)(n_v + 1), sizeof(bank_rec *));
    int64_t bad = 0;
    for (int64_t i = 0; i < n_recs; i++) {
        int64_t k = recs[i].version - v0;
        if (k < 1 || k > n_v || by_version[k])
            bad++;
        else
            by_version[k] = &recs[i];
    }
    for (int64_t k = 1; k <= n_v; k++)
        bad += by_version[k] == NULL;
    CHECK_EQ_INT(bad, 0);
    /* In every committed version: the total, and per account the balance, the number and the
     * checksum of the transfers applied, exactly as the acknowledged transfers say. */
    account expect[BANK_ACCOUNTS];
    for (int i = 0; i < BANK_ACCOUNTS; i++)
        expect[i] = (account){BANK_START, 0, 0};
    int64_t bad_versions = 0, bad_totals = 0;
    for (int64_t k = 0; k <= n_v && !bad; k++) {
        const bank_rec *r = k ? by_version[k] : NULL;
        if (r) {
            uint64_t h = mix64((uint64_t)r->xid);
            expect[r->from].bal -= r->amount;
            expect[r->from].cnt++;
            expect[r->from].xsum = (int64_t)((uint64_t)expect[r->from].xsum + h);
            expect[r->to].bal += r->amount;
            expect[r->to].cnt++;
            expect[r->to].xsum = (int64_t)((uint64_t)expect[r->to].xsum + h);
        }
        account got[BANK_ACCOUNTS];
        memset(got, 0, sizeof(got));
        int64_t ra = bank_read_table(s, "acc_a", v0 + k, NULL, got);
        int64_t rb = bank_read_table(s, "acc_b", v0 + k, NULL, got);
        int64_t total = 0;
        for (int i = 0; i < BANK_ACCOUNTS; i++)
            total += got[i].bal;
        bad_totals += total != (int64_t)BANK_ACCOUNTS * BANK_START;
        if (ra != BANK_ACCOUNTS / 2 || rb != BANK_ACCOUNTS / 2 ||
            memcmp(got, expect, sizeof(got)) != 0) {
            if (bad_versions++ < 3)
                fprintf(stderr, "bank: version %lld differs from the acknowledged transfers\n",
                        (long long)(v0 + k));
        }
    }
    CHECK_EQ_INT(bad_totals, 0);
    CHECK_EQ_INT(bad_versions, 0);
    printf("bank (%s, %d processes, %.1f s): %lld transfers committed (%.0f/s), %lld conflicts "
           "retried (abort rate %.1f%%), %lld versions checked by time travel\n",
           iso == ES_ISOLATION_SNAPSHOT ? "snapshot" : "serializable", n_workers, elapsed,
           (long long)commits, (double)commits / elapsed, (long long)conflicts,
           commits + conflicts ? 100.0 * (double)conflicts / (double)(commits + conflicts) : 0.0,
           (long long)(n_v + 1));
    free(by_version);
    free(recs);
    es_store_close(s);
}

/* -------------------------------------------------------------------- main */

static void run_history(const char *uri, int local)
{
    if (want("history")) {
        TIMED(test_history(uri, ES_ISOLATION_SNAPSHOT, 4, local ? 25 : 60, 200));
        TIMED(test_history(uri, ES_ISOLATION_SERIALIZABLE, 4, local ? 25 : 60, 200));
    }
}

int main(void)
{
    seed_from_env();
    const char *env = getenv("ES_TEST_STORE_URI");
    if (env && *env) {
        printf("== %s\n", env);
        if (want("bank"))
            TIMED(test_bank(env, ES_ISOLATION_SNAPSHOT, 6, 3.0));
        run_history(env, 1);
        return CHECK_DONE();
    }
    printf("== mem://\n");
    es_objstore_mem_drop("test_txn_history");
    run_history("mem://test_txn_history", 0);
    char dir[] = "/tmp/es_test_txn_history_XXXXXX";
    if (mkdtemp(dir)) {
        printf("== %s\n", dir);
        if (want("bank")) /* first: the workers fork before any thread exists */
            TIMED(test_bank(dir, ES_ISOLATION_SNAPSHOT, 6, 3.0));
        run_history(dir, 1);
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", dir);
    }
    return CHECK_DONE();
}
