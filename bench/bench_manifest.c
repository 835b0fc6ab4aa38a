/*
 * bench_manifest: what opening a store, a point query and a commit cost as a table grows to
 * 100, 10,000 and 100,000 parts (docs/FORMAT.md section 4a: checkpoints that name manifests).
 * Figures, not assertions.
 *
 * Each catalog is built through the library on the local store, in a directory given as the
 * first argument or a temporary one under /dev/shm (removed at the end; 100,000 parts take
 * about 1.3 GB there and a minute to build; mem:// inserts keys into a sorted array, which is
 * quadratic at this size): a table (id BIGINT primary key, v TEXT) written with one row per part,
 * by commits of 1,000 one-row parts each, then single-row commits up to the next checkpoint so that
 * the log's tail is empty. Then, from a fresh handle (a new process would do the same requests):
 *   open   the requests and bytes of es_store_open (hint, checkpoint, LIST of the tail);
 *   point  SELECT ... WHERE id = k: requests and bytes (manifest, .idx, .data);
 *   commit ten single-row inserts on that handle (one of them writes a checkpoint): the
 *          requests and bytes they read and write, the largest commit and the checkpoint;
 *   DELETE, UPDATE  a point DELETE, then a point UPDATE, each from a fresh handle;
 *   open after it   opening after the DELETE (the entry after the checkpoint changes a part
 *          of one manifest: opening loads that one);
 *   BEGIN+UPDATE+COMMIT  a point UPDATE in a transaction from a fresh handle.
 * For comparison, "flat" is the size a checkpoint listing every part (format 1, what every
 * checkpoint was before manifests) would have: the sum of the manifests' sizes.
 *
 *   build/bench/bench_manifest [dir or URI prefix] [max_parts]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "expstore/sql.h"
#include "objstore/objstore.h"
#include "table/table.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct ArrowSchema schema(void)
{
    struct ArrowSchema sc;
    es_schema_init_struct(&sc, 2, NULL);
    es_schema_init(sc.children[0], "l", "id", 0, NULL);
    es_schema_init(sc.children[1], "u", "v", ARROW_FLAG_NULLABLE, NULL);
    return sc;
}

static void insert_range(es_store *s, int64_t from, int64_t n)
{
    struct ArrowSchema sc = schema();
    es_builder *b = NULL;
    es_builder_new(&b, &sc, NULL);
    for (int64_t i = from; i < from + n; i++) {
        char str[32];
        snprintf(str, sizeof(str), "value %lld", (long long)i);
        es_builder_append_int(es_builder_child(b, 0), i);
        es_builder_append_bytes(es_builder_child(b, 1), str, (int64_t)strlen(str));
        es_builder_append_struct(b);
    }
    struct ArrowArray arr;
    es_builder_finish(b, &arr, NULL);
    if (es_insert_batch(s, "t", &sc, &arr) != ES_OK) {
        es_error e;
        es_error_set(&e, ES_IO, 0, "%s", es_store_errmsg(s));
        bench_die("insert", &e);
    }
    es_builder_free(b);
    sc.release(&sc);
}

typedef struct cost {
    int64_t requests, bytes_in, bytes_out, puts;
} cost;

static cost measure(es_objstore *os)
{
    es_objstore_stats st;
    es_objstore_get_stats(os, &st);
    cost c = {0, 0, 0, 0};
    for (int k = 0; k < ES_OP_COUNT; k++) {
        c.requests += st.requests[k];
        c.bytes_in += st.bytes_in[k];
        c.bytes_out += st.bytes_out[k];
    }
    c.puts = st.requests[ES_OP_PUT];
    return c;
}

static cost since(es_objstore *os, cost before)
{
    cost c = measure(os);
    c.requests -= before.requests;
    c.bytes_in -= before.bytes_in;
    c.bytes_out -= before.bytes_out;
    c.puts -= before.puts;
    return c;
}

typedef struct row {
    int64_t parts;
    double build_s;
    cost open, point, commits, del, upd, reopen, txn;
    int64_t max_commit_out, checkpoint_bytes, manifests, manifest_bytes;
    double fsck_s, fsck_cpu_s;
    int64_t fsck_versions, fsck_objects, fsck_problems;
} row;

/* A fresh handle (opened first, not counted) runs SQL statements sql[0..n): their cost. The
 * one that changes rows must change exactly one. */
static cost point_sql(es_objstore *os, const es_open_options *o, const char *const *sql, int n)
{
    es_store *s = NULL;
    es_sql_session *q = NULL;
    es_error err;
    if (es_store_open_objstore(&s, os, 0, o, &err) || es_sql_session_open(&q, s))
        bench_die("open", &err);
    cost c0 = measure(os);
    for (int i = 0; i < n; i++) {
        es_sql_result res;
        if (es_sql_exec(q, sql[i], &res) != ES_OK) {
            es_error_set(&err, ES_IO, 0, "%s: %s", sql[i], es_sql_errmsg(q));
            bench_die("dml", &err);
        }
        if (res.changes != 1 && (n == 1 || i == 1))
            fprintf(stderr, "%s: %lld rows, expected 1\n", sql[i], (long long)res.changes);
        es_sql_result_reset(&res);
    }
    cost c = since(os, c0);
    es_sql_session_close(q);
    es_store_close(s);
    return c;
}

static cost point_dml(es_objstore *os, const es_open_options *o, const char *sql)
{
    return point_sql(os, o, &sql, 1);
}

/* Single-row commits up to the next checkpoint (the next fresh handle loads no manifest). */
static void to_checkpoint(es_objstore *os, const es_open_options *o, int64_t *id)
{
    es_store *s = NULL;
    es_error err;
    int64_t v = 0;
    if (es_store_open_objstore(&s, os, 0, o, &err))
        bench_die("open", &err);
    for (es_store_version(s, &v); v % ES_CHECKPOINT_INTERVAL != 0; es_store_version(s, &v))
        insert_range(s, (*id)++, 1);
    es_store_close(s);
}

static es_status sum_manifests(void *ctx, const char *key, int64_t bytes)
{
    row *r = ctx;
    size_t n = strlen(key);
    if (n > 9 && strcmp(key + n - 9, ".manifest") == 0) {
        r->manifests++;
        r->manifest_bytes += bytes;
    }
    return ES_OK;
}

static void run(row *r, const char *base, int64_t parts)
{
    char uri[512];
    snprintf(uri, sizeof(uri), "%s/mf_%lld", base, (long long)parts);
    es_objstore *os = NULL;
    es_error err;
    if (es_objstore_open(&os, uri, &err))
        bench_die(uri, &err);
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.batch_rows = 1;
    o.part_target_bytes = 1; /* one row per part */
    es_store *w = NULL;
    if (es_store_open_objstore(&w, os, 0, &o, &err))
        bench_die("open", &err);
    struct ArrowSchema sc = schema();
    if (es_table_create(w, "t", &sc, "id", 0) != ES_OK)
        bench_die("create", NULL);
    sc.release(&sc);
    memset(r, 0, sizeof(*r));
    double t0 = now();
    int64_t id = 0;
    while (id < parts) {
        int64_t n = parts - id < 1000 ? parts - id : 1000;
        insert_range(w, id, n);
        id += n;
    }
    int64_t v = 0;
    es_store_version(w, &v);
    while (v % ES_CHECKPOINT_INTERVAL != 0) { /* to the next checkpoint: an empty tail */
        insert_range(w, id++, 1);
        es_store_version(w, &v);
    }
    r->build_s = now() - t0;
    r->parts = id;
    es_store_close(w);

    /* A fresh handle: open, then a point query. */
    cost c0 = measure(os);
    es_store *s = NULL;
    if (es_store_open_objstore(&s, os, 0, &o, &err))
        bench_die("open", &err);
    r->open = since(os, c0);
    c0 = measure(os);
    es_expr *e = es_expr_cmp("id", ES_EQ, (es_value){ES_VALUE_INT, parts / 3, 0, NULL, 0});
    es_scan_options so = ES_SCAN_OPTIONS_INIT;
    so.predicate = e;
    struct ArrowArrayStream st;
    int64_t rows = 0;
    if (es_scan(s, "t", &so, &st) != ES_OK)
        bench_die("scan", NULL);
    for (;;) {
        struct ArrowArray a;
        if (st.get_next(&st, &a) != 0 || !a.release)
            break;
        rows += a.length;
        a.release(&a);
    }
    st.release(&st);
    es_expr_free(e);
    r->point = since(os, c0);
    if (rows != 1)
        fprintf(stderr, "point query: %lld rows, expected 1\n", (long long)rows);

    /* Ten single-row commits from that handle: one of them writes a checkpoint. */
    for (int k = 0; k < ES_CHECKPOINT_INTERVAL; k++) {
        cost c1 = measure(os);
        insert_range(s, id++, 1);
        cost d = since(os, c1);
        r->commits.requests += d.requests;
        r->commits.bytes_in += d.bytes_in;
        r->commits.bytes_out += d.bytes_out;
        r->commits.puts += d.puts;
        if (d.bytes_out > r->max_commit_out)
            r->max_commit_out = d.bytes_out;
    }
    es_store_version(s, &v);
    char key[64];
    es_log_key(key, sizeof(key), v, 1);
    es_obj_info info;
    if (es_objstore_head(os, key, &info, NULL) == ES_OK)
        r->checkpoint_bytes = (int64_t)info.size;
    es_log_objects(os, v, sum_manifests, r, NULL);
    es_store_close(s);

    /* A point DELETE and a point UPDATE, each from a fresh handle; then fsck of the store. */
    char sql[128];
    snprintf(sql, sizeof(sql), "DELETE FROM t WHERE id = %lld", (long long)(parts / 5));
    r->del = point_dml(os, &o, sql);
    /* Opening after that entry (it changed a part of a manifest: the key it carries leads to
     * that manifest only, FORMAT.md 4a). */
    c0 = measure(os);
    if (es_store_open_objstore(&s, os, 0, &o, &err))
        bench_die("open", &err);
    r->reopen = since(os, c0);
    es_store_close(s);
    to_checkpoint(os, &o, &id);
    snprintf(sql, sizeof(sql), "UPDATE t SET v = 'updated' WHERE id = %lld",
             (long long)(parts / 7));
    r->upd = point_dml(os, &o, sql);
    /* BEGIN, a point UPDATE, COMMIT: a transaction loads the manifests it touches. */
    char upd[128];
    snprintf(upd, sizeof(upd), "UPDATE t SET v = 'in a transaction' WHERE id = %lld",
             (long long)(parts / 2));
    const char *txn[3] = {"BEGIN", upd, "COMMIT"};
    to_checkpoint(os, &o, &id);
    r->txn = point_sql(os, &o, txn, 3);
    if (es_store_open_objstore(&s, os, 0, &o, &err))
        bench_die("open", &err);
    es_fsck_info fi;
    double t1 = now();
    clock_t c1 = clock();
    if (es_fsck(s, NULL, NULL, &fi) != ES_OK)
        fprintf(stderr, "fsck: %s\n", es_store_errmsg(s));
    r->fsck_s = now() - t1;
    r->fsck_cpu_s = (double)(clock() - c1) / CLOCKS_PER_SEC;
    r->fsck_versions = fi.versions;
    r->fsck_objects = fi.objects;
    r->fsck_problems = fi.problems;
    es_store_close(s);
    es_objstore_close(os);
}

int main(int argc, char **argv)
{
    const char *base = argc > 1 && argv[1][0] ? argv[1] : NULL;
    char tmp[] = "/dev/shm/bench_manifest_XXXXXX", tmp2[] = "/tmp/bench_manifest_XXXXXX";
    if (!base)
        base = mkdtemp(tmp) ? tmp : mkdtemp(tmp2);
    if (!base) {
        perror("mkdtemp");
        return 1;
    }
    int own = base == tmp || base == tmp2;
    int64_t max_parts = argc > 2 ? atoll(argv[2]) : 100000;
    int64_t sizes[] = {100, 10000, 100000};
    row rows[3];
    int n = 0;
    for (int i = 0; i < 3 && sizes[i] <= max_parts; i++)
        run(&rows[n++], base, sizes[i]);
    printf("bench_manifest: one-row parts on %s; a fresh handle opens the store, runs a point "
           "query, then 10 single-row commits (one writes a checkpoint)\n\n",
           base);
    printf("| parts | build s | open req | open KB | point req | point KB | commit req/10 | "
           "commit KB read/10 | commit KB written/10 | largest commit KB | checkpoint KB | "
           "manifests | flat checkpoint KB |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < n; i++) {
        const row *r = &rows[i];
        printf("| %lld | %.1f | %lld | %.1f | %lld | %.1f | %lld | %.1f | %.1f | %.1f | %.1f | "
               "%lld | %.1f |\n",
               (long long)r->parts, r->build_s, (long long)r->open.requests,
               r->open.bytes_in / 1024.0, (long long)r->point.requests, r->point.bytes_in / 1024.0,
               (long long)r->commits.requests, r->commits.bytes_in / 1024.0,
               r->commits.bytes_out / 1024.0, r->max_commit_out / 1024.0,
               r->checkpoint_bytes / 1024.0, (long long)r->manifests, r->manifest_bytes / 1024.0);
    }
    printf("\n| parts | DELETE req | DELETE KB read | DELETE KB written | open after it req | "
           "open after it KB | UPDATE req | UPDATE KB read | UPDATE KB written | BEGIN+UPDATE+"
           "COMMIT req | KB read | KB written |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < n; i++) {
        const row *r = &rows[i];
        printf("| %lld | %lld | %.1f | %.1f | %lld | %.1f | %lld | %.1f | %.1f | %lld | %.1f | "
               "%.1f |\n",
               (long long)r->parts, (long long)r->del.requests, r->del.bytes_in / 1024.0,
               r->del.bytes_out / 1024.0, (long long)r->reopen.requests,
               r->reopen.bytes_in / 1024.0, (long long)r->upd.requests, r->upd.bytes_in / 1024.0,
               r->upd.bytes_out / 1024.0, (long long)r->txn.requests, r->txn.bytes_in / 1024.0,
               r->txn.bytes_out / 1024.0);
    }
    printf("\n| parts | fsck s | fsck CPU s | fsck versions | fsck objects | fsck problems |\n");
    printf("|---|---|---|---|---|---|\n");
    for (int i = 0; i < n; i++) {
        const row *r = &rows[i];
        printf("| %lld | %.2f | %.2f | %lld | %lld | %lld |\n", (long long)r->parts, r->fsck_s,
               r->fsck_cpu_s, (long long)r->fsck_versions, (long long)r->fsck_objects,
               (long long)r->fsck_problems);
    }
    if (n > 1) {
        printf("\nratios to %lld parts:\n", (long long)rows[0].parts);
        for (int i = 1; i < n; i++) {
            const row *r = &rows[i], *b = &rows[0];
            printf("  %lld parts: open requests x%.2f, open bytes x%.2f, point requests x%.2f, "
                   "point bytes x%.2f, bytes written by 10 commits x%.2f\n",
                   (long long)r->parts, (double)r->open.requests / (double)b->open.requests,
                   (double)r->open.bytes_in / (double)b->open.bytes_in,
                   (double)r->point.requests / (double)b->point.requests,
                   (double)r->point.bytes_in / (double)b->point.bytes_in,
                   (double)r->commits.bytes_out / (double)b->commits.bytes_out);
            printf(
                "    point DELETE requests x%.2f, bytes read x%.2f; open after it requests x%.2f, "
                "bytes x%.2f; point UPDATE requests x%.2f, bytes read x%.2f; BEGIN+UPDATE+COMMIT "
                "requests x%.2f, bytes read x%.2f, bytes written x%.2f; fsck CPU time x%.1f\n",
                (double)r->del.requests / (double)b->del.requests,
                (double)r->del.bytes_in / (double)b->del.bytes_in,
                (double)r->reopen.requests / (double)b->reopen.requests,
                (double)r->reopen.bytes_in / (double)b->reopen.bytes_in,
                (double)r->upd.requests / (double)b->upd.requests,
                (double)r->upd.bytes_in / (double)b->upd.bytes_in,
                (double)r->txn.requests / (double)b->txn.requests,
                (double)r->txn.bytes_in / (double)b->txn.bytes_in,
                (double)r->txn.bytes_out / (double)b->txn.bytes_out, r->fsck_cpu_s / b->fsck_cpu_s);
        }
    }
    if (own) {
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", base);
    }
    return 0;
}
