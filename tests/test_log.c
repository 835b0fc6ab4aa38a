/*
 * test_log: the commit log and its protocol.
 *
 *  - entries round-trip through encode/decode; a flipped or truncated byte is ES_CORRUPT;
 *  - conflicts: a commit prepared on a stale snapshot succeeds after a concurrent blind append
 *    and fails with ES_CONFLICT after a concurrent drop or create of the same table;
 *  - checkpoints and the _last_checkpoint hint are written, a bad hint is survived;
 *  - several processes (fork) append to one table at once, on the local backend and on
 *    ES_TEST_STORE_URI when set (the loopback RADOS Gateway): every acknowledged insert is
 *    present exactly once;
 *  - a simulated crash after the Nth put of an insert (fault wrapper), for every N, leaves the
 *    table without the insert or with all of it, and the store reopens;
 *  - a lost response to the commit put (the put happened, the caller saw an error) is resolved
 *    by reading the entry back;
 *  - a store without conditional puts opens with a warning and works for one writer;
 *  - a damaged log (log.c invariant 8), on mem://, a local directory and ES_TEST_STORE_URI: an
 *    entry missing below a later entry, checkpoint or hint, a truncated or garbage entry, a
 *    hint naming a missing checkpoint, version 0 missing, and (local) a log key that is a
 *    directory. Opening warns naming the object and reads at the last consistent version,
 *    writes fail with ES_CORRUPT before writing anything, time travel names the missing
 *    entry, and the request counts of opening stay those of a healthy store plus one GET;
 *  - an alter_table entry with a valid checksum that changes a column's type to one it does not
 *    widen to, or the primary key's type, is damage too: the parts keep their types;
 *  - so is a column default of the wrong length for its type, in a create_table, an
 *    alter_table or a checkpoint, and a primary key of the null type (a nullable one is valid).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "table/log.h"
#include "objstore/objstore.h"
#include "table/table.h"

static struct ArrowSchema id_schema(void)
{
    struct ArrowSchema sc;
    es_schema_init_struct(&sc, 2, NULL);
    es_schema_init(sc.children[0], "l", "id", 0, NULL);
    es_schema_init(sc.children[1], "u", "s", ARROW_FLAG_NULLABLE, NULL);
    return sc;
}

static es_status insert_ids(es_store *s, const char *table, int64_t from, int64_t n)
{
    struct ArrowSchema sc = id_schema();
    es_builder *b = NULL;
    es_builder_new(&b, &sc, NULL);
    for (int64_t i = 0; i < n; i++) {
        char str[32];
        snprintf(str, sizeof(str), "row %lld", (long long)(from + i));
        es_builder_append_int(es_builder_child(b, 0), from + i);
        es_builder_append_bytes(es_builder_child(b, 1), str, (int64_t)strlen(str));
        es_builder_append_struct(b);
    }
    struct ArrowArray arr;
    es_builder_finish(b, &arr, NULL);
    es_status st = es_insert_batch(s, table, &sc, &arr);
    es_builder_free(b);
    sc.release(&sc);
    return st;
}

/* All ids of a table (sorted), or -1 rows on error. */
static int64_t *scan_ids(es_store *s, const char *table, int64_t *n)
{
    struct ArrowArrayStream st;
    es_scan_options so = ES_SCAN_OPTIONS_INIT;
    const char *cols[] = {"id"};
    so.columns = cols;
    so.n_columns = 1;
    *n = -1;
    if (es_scan(s, table, &so, &st) != ES_OK)
        return NULL;
    struct ArrowSchema sc;
    if (st.get_schema(&st, &sc) != 0) {
        st.release(&st);
        return NULL;
    }
    int64_t *ids = NULL, cnt = 0, cap = 0;
    for (;;) {
        struct ArrowArray a;
        if (st.get_next(&st, &a) != 0) {
            fprintf(stderr, "scan: %s\n", st.get_last_error(&st));
            cnt = -1;
            break;
        }
        if (!a.release)
            break;
        es_array_view v;
        if (es_array_view_init(&v, &sc, &a, NULL) == ES_OK) {
            for (int64_t i = 0; i < v.length; i++) {
                if (cnt == cap) {
                    cap = cap ? 2 * cap : 1024;
                    ids = realloc(ids, (size_t)cap * sizeof(int64_t));
                }
                ids[cnt++] = es_view_get_int(&v.children[0], i);
            }
            es_array_view_reset(&v);
        }
        a.release(&a);
    }
    sc.release(&sc);
    st.release(&st);
    *n = cnt;
    return ids;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* ------------------------------------------------------------- entries */

static void test_entries(void)
{
    es_entry e;
    memset(&e, 0, sizeof(e));
    e.version = 42;
    e.time_ms = 1700000000000;
    memcpy(e.txn, "0123456789abcdef", 17);
    es_action acts[3];
    memset(acts, 0, sizeof(acts));
    es_tabledef *t = NULL;
    CHECK_OK(es_tabledef_new(&t));
    t->name = es_strdup("we\"ird\\name\n");
    memcpy(t->id, "00000000000000aa", 17);
    t->n_cols = 2;
    t->cols = es_calloc(2, sizeof(es_column));
    t->cols[0].id = 0;
    t->cols[0].name = es_strdup("k");
    strcpy(t->cols[0].format, "l");
    es_type_parse(&t->cols[0].type, "l", NULL);
    t->cols[1].id = 3;
    t->cols[1].name = es_strdup("v\xc3\xa9");
    strcpy(t->cols[1].format, "u");
    es_type_parse(&t->cols[1].type, "u", NULL);
    t->cols[1].nullable = 1;
    t->next_col_id = 4;
    t->pk = 0;
    acts[0].kind = ES_ACT_CREATE_TABLE;
    acts[0].table = t;
    memcpy(acts[0].table_id, t->id, 17);
    es_part_meta *m = NULL;
    CHECK_OK(es_part_meta_new(&m, 2));
    memcpy(m->id, "00000000000000bb", 17);
    m->rows = 10;
    m->n_batches = 1;
    m->data_bytes = 1000;
    m->idx_bytes = 500;
    m->idx_crc = 0xdeadbeef;
    m->col_ids[0] = 0;
    m->col_ids[1] = 3;
    m->stats[0].has_min = m->stats[0].has_max = 1;
    m->stats[0].min_len = m->stats[0].max_len = 8;
    m->stats[0].max[0] = 9;
    m->stats[1].null_count = 2;
    acts[1].kind = ES_ACT_ADD_PART;
    acts[1].part = m;
    memcpy(acts[1].table_id, t->id, 17);
    acts[2].kind = ES_ACT_REMOVE_PART;
    memcpy(acts[2].table_id, t->id, 17);
    memcpy(acts[2].part_id, m->id, 17);
    e.actions = acts;
    e.n_actions = 3;
    es_buf b = {0};
    CHECK_OK(es_entry_encode(&b, &e, NULL));
    es_entry d;
    es_error err;
    CHECK_OK(es_entry_decode(&d, b.data, b.len, "x", &err));
    CHECK_EQ_INT(d.version, 42);
    CHECK_EQ_INT(d.n_actions, 3);
    CHECK_EQ_STR(d.txn, e.txn);
    if (d.n_actions == 3) {
        CHECK_EQ_STR(d.actions[0].table->name, t->name);
        CHECK_EQ_STR(d.actions[0].table->cols[1].name, "v\xc3\xa9");
        CHECK_EQ_INT(d.actions[0].table->cols[1].id, 3);
        CHECK_EQ_INT(d.actions[0].table->pk, 0);
        CHECK_EQ_INT(d.actions[1].part->idx_crc, 0xdeadbeef);
        CHECK_EQ_INT(d.actions[1].part->stats[0].max[0], 9);
        CHECK_EQ_INT(d.actions[1].part->stats[1].has_min, 0);
        CHECK_EQ_INT(d.actions[1].part->stats[1].null_count, 2);
        CHECK_EQ_STR(d.actions[2].part_id, m->id);
    }
    /* Apply: create, add, remove. */
    es_snapshot *snap = NULL;
    CHECK_OK(es_snapshot_new(&snap));
    CHECK_OK(es_snapshot_apply(snap, &d, "x", &err));
    CHECK_EQ_INT(snap->n_tables, 1);
    CHECK_EQ_INT(snap->tables[0]->n_parts, 0);
    CHECK_EQ_INT(snap->version, 42);
    /* Applying again: the table exists. */
    CHECK_EQ_INT(es_snapshot_apply(snap, &d, "x", &err), ES_CORRUPT);
    es_snapshot_free(snap);
    es_entry_reset(&d);
    /* Every truncation and every single flipped byte is rejected. */
    int accepted = 0;
    for (size_t n = 0; n < b.len; n++)
        if (es_entry_decode(&d, b.data, n, "x", &err) == ES_OK) {
            accepted++;
            es_entry_reset(&d);
        }
    CHECK_EQ_INT(accepted, 0);
    for (size_t i = 0; i < b.len; i++) {
        b.data[i] ^= 0x20;
        if (es_entry_decode(&d, b.data, b.len, "x", &err) == ES_OK) {
            accepted++;
            es_entry_reset(&d);
        } else if (err.code != ES_CORRUPT) {
            accepted++;
        }
        b.data[i] ^= 0x20;
    }
    CHECK_EQ_INT(accepted, 0);
    CHECK(strstr(err.msg, "x:") == err.msg);
    es_buf_reset(&b);
    es_action_reset(&acts[0]);
    es_action_reset(&acts[1]);
}

/* ----------------------------------------------------------- conflicts */

static void test_conflicts(const char *uri)
{
    es_store *h1 = NULL, *h2 = NULL;
    CHECK_OK(es_store_open(&h1, uri, NULL));
    CHECK_OK(es_store_open(&h2, uri, NULL));
    if (!h1 || !h2)
        return;
    struct ArrowSchema sc = id_schema();
    CHECK_OK(es_table_create(h1, "c1", &sc, "id", 0));
    CHECK_OK(es_table_create(h1, "c2", &sc, "id", 0));
    int64_t v;
    CHECK_OK(es_store_version(h2, &v));
    es_tabledef *c1 = es_snapshot_find(h2->snap, "c1");
    es_tabledef *c2 = es_snapshot_find(h2->snap, "c2");
    CHECK(c1 && c2);
    if (!c1 || !c2)
        return;
    es_error err;
    es_part_meta *m = NULL;
    es_part_meta_new(&m, 1);
    memcpy(m->id, "00000000000000cc", 17);
    m->rows = 1;
    es_action add;
    memset(&add, 0, sizeof(add));
    add.kind = ES_ACT_ADD_PART;
    add.part = m;

    /* Blind append after a concurrent append: succeeds at the next version. */
    es_snapshot *stale = NULL;
    CHECK_OK(es_snapshot_copy(&stale, h2->snap));
    CHECK_OK(insert_ids(h1, "c2", 0, 10));
    memcpy(add.table_id, c2->id, 17);
    int64_t got = -1;
    CHECK_OK(es_log_commit(stale, h2->os, &add, 1, &got, &err));
    CHECK_EQ_INT(got, v + 2);
    es_table_info info;
    CHECK_OK(es_table_describe(h1, "c2", -1, &info));
    CHECK_EQ_INT(info.n_parts, 2);
    es_table_info_reset(&info);
    es_snapshot_free(stale);

    /* Append to a table dropped concurrently: ES_CONFLICT, nothing committed. */
    CHECK_OK(es_store_version(h2, &v));
    CHECK_OK(es_snapshot_copy(&stale, h2->snap));
    CHECK_OK(es_table_drop(h1, "c1", 0));
    memcpy(add.table_id, c1->id, 17);
    CHECK_EQ_INT(es_log_commit(stale, h2->os, &add, 1, &got, &err), ES_CONFLICT);
    CHECK(strstr(err.msg, "dropped concurrently") != NULL);
    int64_t v2;
    CHECK_OK(es_store_version(h1, &v2));
    CHECK_EQ_INT(v2, v + 1);
    es_snapshot_free(stale);

    /* Create of a table created concurrently: ES_CONFLICT. */
    CHECK_OK(es_snapshot_copy(&stale, h2->snap));
    CHECK_OK(es_table_create(h1, "c3", &sc, NULL, 0));
    es_tabledef *t = NULL;
    es_tabledef_new(&t);
    t->name = es_strdup("c3");
    memcpy(t->id, "00000000000000dd", 17);
    t->cols = es_calloc(1, sizeof(es_column));
    t->n_cols = 1;
    t->cols[0].name = es_strdup("id");
    strcpy(t->cols[0].format, "l");
    es_type_parse(&t->cols[0].type, "l", NULL);
    t->next_col_id = 1;
    es_action cr;
    memset(&cr, 0, sizeof(cr));
    cr.kind = ES_ACT_CREATE_TABLE;
    cr.table = t;
    memcpy(cr.table_id, t->id, 17);
    CHECK_EQ_INT(es_log_commit(stale, h2->os, &cr, 1, &got, &err), ES_CONFLICT);
    CHECK(strstr(err.msg, "created concurrently") != NULL);
    es_snapshot_free(stale);
    es_action_reset(&cr);
    es_action_reset(&add);

    /* Through the public API the stale handle refreshes first: a clean error. */
    CHECK_EQ_INT(insert_ids(h2, "c1", 0, 5), ES_NOT_FOUND);
    CHECK_OK(insert_ids(h2, "c3", 100, 5)); /* c2 holds a fake part, unreadable */
    es_table_drop(h1, "c2", 1);
    es_table_drop(h1, "c3", 1);
    sc.release(&sc);
    es_store_close(h1);
    es_store_close(h2);
}

/* ---------------------------------------------------------- checkpoints */

static void test_checkpoints(const char *uri)
{
    es_store *s = NULL;
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.inline_rows = 0; /* parts: a checkpoint every ES_CHECKPOINT_INTERVAL versions */
    CHECK_OK(es_store_open(&s, uri, &o));
    if (!s)
        return;
    struct ArrowSchema sc = id_schema();
    CHECK_OK(es_table_create(s, "cp", &sc, "id", 0));
    for (int i = 0; i < 23; i++)
        CHECK_OK(insert_ids(s, "cp", i * 10, 10));
    int64_t v;
    CHECK_OK(es_store_version(s, &v));
    int64_t c = v / ES_CHECKPOINT_INTERVAL * ES_CHECKPOINT_INTERVAL;
    char key[64];
    es_log_key(key, sizeof(key), c, 1);
    es_obj_info info;
    CHECK_OK(es_objstore_head(s->os, key, &info, NULL));
    CHECK_OK(es_objstore_head(s->os, "_log/_last_checkpoint", &info, NULL));
    /* A fresh load reads the checkpoint plus fewer than ES_CHECKPOINT_INTERVAL entries. */
    es_objstore_reset_stats(s->os);
    es_snapshot *snap = NULL;
    CHECK_OK(es_log_load(&snap, NULL, s->os, -1, NULL));
    es_objstore_stats stats;
    es_objstore_get_stats(s->os, &stats);
    /* The hint, the checkpoint, one LIST of the log after it, each entry listed. */
    CHECK_EQ_INT(stats.requests[ES_OP_GET], 2 + (v - c));
    CHECK_EQ_INT(stats.requests[ES_OP_LIST], 1);
    CHECK(snap && snap->version == v);
    es_tabledef *t = snap ? es_snapshot_find(snap, "cp") : NULL;
    CHECK(t && t->rows == 230 && t->n_parts == 23);
    es_snapshot_free(snap);
    /* A garbage hint is only a hint. */
    CHECK_OK(es_objstore_put(s->os, "_log/_last_checkpoint", "garbage", 7, ES_PUT_ALWAYS, NULL,
                             NULL, NULL));
    es_store *s2 = NULL;
    CHECK_OK(es_store_open(&s2, uri, NULL));
    int64_t n = 0;
    int64_t *ids = scan_ids(s2, "cp", &n);
    CHECK_EQ_INT(n, 230);
    free(ids);
    es_store_close(s2);
    /* A corrupt checkpoint: opening falls back to replaying the entries. */
    es_blob *b = NULL;
    CHECK_OK(es_objstore_get(s->os, key, 0, UINT64_MAX, &b, NULL));
    if (b) {
        CHECK_OK(
            es_objstore_put(s->os, key, b->data, b->size - 3, ES_PUT_ALWAYS, NULL, NULL, NULL));
        CHECK_OK(es_store_open(&s2, uri, NULL));
        ids = scan_ids(s2, "cp", &n);
        CHECK_EQ_INT(n, 230);
        free(ids);
        es_store_close(s2);
        es_objstore_put(s->os, key, b->data, b->size, ES_PUT_ALWAYS, NULL, NULL, NULL);
        es_blob_unref(b);
    }
    es_table_drop(s, "cp", 0);
    sc.release(&sc);
    es_store_close(s);
}

/* -------------------------------------------------------- concurrency */

#define MAX_WRITERS 16
#define MAX_INSERTS 30

typedef struct writer_report {
    int writer, mask; /* bit k: insert k acknowledged */
    int64_t puts;
} writer_report;

static int env_int(const char *name, int dflt, int max)
{
    const char *e = getenv(name);
    int v = e && *e ? atoi(e) : dflt;
    return v < 1 ? 1 : v > max ? max : v;
}

/* Forked processes (ES_TEST_WRITERS, default 4), each with its own handle on uri, insert
 * batches (ES_TEST_INSERTS each, default 6) into one table at once; they wait on a pipe so
 * that they start together, and report back through another. Every acknowledged insert is
 * present exactly once, with one version each. On the local backend and on S3 with
 * conditional PUTs every insert succeeds: a writer that loses the race for a log entry catches
 * up and retries. Each insert's 37 rows are inlined in its log entry; the number of PUTs beyond
 * the 1 an uncontended insert makes (plus checkpoints) shows how often the writers did race. */
static void test_processes(const char *uri)
{
    int writers = env_int("ES_TEST_WRITERS", 4, MAX_WRITERS);
    int inserts = env_int("ES_TEST_INSERTS", 6, MAX_INSERTS);
    es_store *s = NULL;
    CHECK_OK(es_store_open(&s, uri, NULL));
    if (!s)
        return;
    struct ArrowSchema sc = id_schema();
    CHECK_OK(es_table_create(s, "conc", &sc, "id", 0));
    sc.release(&sc);
    int64_t v0;
    CHECK_OK(es_store_version(s, &v0));
    int go[2], res[2];
    if (pipe(go) != 0 || pipe(res) != 0) {
        CHECK(!"pipe");
        es_store_close(s);
        return;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pids[MAX_WRITERS];
    for (int w = 0; w < writers; w++) {
        pids[w] = fork();
        if (pids[w] == 0) {
            close(go[1]);
            close(res[0]);
            es_store *c = NULL;
            writer_report rep = {w, 0, 0};
            /* Rows inlined in the log, never flushed by an insert: one version per insert. */
            es_open_options o = ES_OPEN_OPTIONS_INIT;
            o.flush_rows = o.flush_bytes = 0;
            if (es_store_open(&c, uri, &o) == ES_OK) {
                char byte;
                if (read(go[0], &byte, 1) == 0) { /* EOF: the parent closed its end */
                    es_objstore_reset_stats(c->os);
                    for (int k = 0; k < inserts; k++)
                        if (insert_ids(c, "conc", w * 100000 + k * 1000, 37) == ES_OK)
                            rep.mask |= 1 << k;
                        else
                            fprintf(stderr, "writer %d: %s\n", w, es_store_errmsg(c));
                    es_objstore_stats st;
                    es_objstore_get_stats(c->os, &st);
                    rep.puts = st.requests[ES_OP_PUT];
                }
            } else {
                fprintf(stderr, "writer %d: %s\n", w, es_store_errmsg(c));
            }
            es_store_close(c);
            /* One write of a few bytes to a pipe is atomic. */
            _exit(write(res[1], &rep, sizeof(rep)) == (ssize_t)sizeof(rep) ? 0 : 1);
        }
    }
    close(go[0]);
    close(res[1]);
    close(go[1]); /* start */
    int acked[MAX_WRITERS] = {0};
    int64_t puts = 0;
    writer_report rep;
    while (read(res[0], &rep, sizeof(rep)) == (ssize_t)sizeof(rep))
        if (rep.writer >= 0 && rep.writer < writers) {
            acked[rep.writer] = rep.mask;
            puts += rep.puts;
        }
    close(res[0]);
    int64_t expect = 0;
    for (int w = 0; w < writers; w++) {
        int status = 0;
        if (pids[w] > 0)
            waitpid(pids[w], &status, 0);
        CHECK(pids[w] > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
        for (int k = 0; k < inserts; k++)
            expect += (acked[w] >> k & 1) ? 37 : 0;
    }
    CHECK_EQ_INT(expect, (int64_t)writers * inserts * 37); /* every insert succeeds */
    int64_t n = 0;
    int64_t *ids = scan_ids(s, "conc", &n);
    CHECK_EQ_INT(n, expect);
    if (n > 0)
        qsort(ids, (size_t)n, sizeof(int64_t), cmp_i64);
    int64_t i = 0, bad = 0;
    for (int w = 0; w < writers; w++)
        for (int k = 0; k < inserts; k++)
            for (int64_t r = 0; r < 37 && (acked[w] >> k & 1); r++, i++)
                bad += i >= n || ids[i] != w * 100000 + k * 1000 + r;
    CHECK_EQ_INT(bad, 0);
    free(ids);
    int64_t v;
    CHECK_OK(es_store_version(s, &v));
    CHECK_EQ_INT(v, v0 + writers * inserts); /* one version per insert */
    printf("processes: %d writers x %d inserts, %lld PUTs (%d without races or checkpoints)\n",
           writers, inserts, (long long)puts, writers * inserts);
    es_store_close(s);
}

/* --------------------------------------------------------------- crashes */

static void test_crashes(void)
{
    es_objstore *inner = NULL, *fw = NULL;
    es_objstore_mem_drop("crash");
    CHECK_OK(es_objstore_open(&inner, "mem://crash", NULL));
    CHECK_OK(es_objstore_fault_wrap(&fw, inner, 0, NULL));
    if (!fw)
        return;
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.batch_rows = 16;
    o.part_target_bytes = 1000; /* several parts per insert */
    o.inline_rows = 0;          /* parts, not rows inlined in the log: their puts are counted */
    es_store *s = NULL;
    CHECK_OK(es_store_open_objstore(&s, inner, 0, &o, NULL));
    struct ArrowSchema sc = id_schema();
    CHECK_OK(es_table_create(s, "crash", &sc, "id", 0));
    es_store_close(s);
    int64_t have = 0, n_crashes = 0, committed_by_crash = 0;
    for (int64_t nput = 1; nput < 100; nput++) {
        es_fault_config cfg;
        memset(&cfg, 0, sizeof(cfg));
        cfg.op = -1;
        cfg.crash_after_put = nput;
        CHECK_OK(es_objstore_fault_set(fw, &cfg));
        es_store *c = NULL;
        es_status st = es_store_open_objstore(&c, fw, 0, &o, NULL);
        CHECK_OK(st);
        st = insert_ids(c, "crash", nput * 1000, 100);
        int crashed = es_objstore_fault_crashed(fw);
        es_store_close(c);
        /* Reopen on the inner store: all or nothing. */
        es_store *r = NULL;
        CHECK_OK(es_store_open_objstore(&r, inner, 0, &o, NULL));
        int64_t n = 0;
        int64_t *ids = scan_ids(r, "crash", &n);
        free(ids);
        es_store_close(r);
        CHECK(n == have || n == have + 100);
        if (st == ES_OK)
            CHECK_EQ_INT(n, have + 100);
        if (crashed && n == have + 100)
            committed_by_crash++;
        have = n;
        if (crashed)
            n_crashes++;
        if (!crashed && st == ES_OK)
            break;
    }
    CHECK(n_crashes >= 4);
    CHECK(committed_by_crash >= 1); /* the crash right after the commit put */
    printf("crash: %lld crash points, %lld committed just before the crash\n", (long long)n_crashes,
           (long long)committed_by_crash);

    /* A lost response to the commit put, with a permanent or a transient status. */
    for (int transient = 0; transient < 2; transient++) {
        es_store *c = NULL;
        CHECK_OK(es_store_open_objstore(&c, fw, 0, &o, NULL));
        es_fault_config cfg;
        memset(&cfg, 0, sizeof(cfg));
        cfg.op = ES_OP_PUT;
        cfg.fail_at = 3; /* .data, .idx, then the log entry (one part of 10 rows) */
        cfg.after = 1;
        cfg.status = transient ? ES_TRANSIENT : ES_IO;
        CHECK_OK(es_objstore_fault_set(fw, &cfg));
        CHECK_OK(insert_ids(c, "crash", 500000 + transient * 100, 10));
        CHECK_EQ_INT(es_objstore_fault_injected(fw), 1);
        es_objstore_fault_set(fw, NULL);
        int64_t n = 0;
        int64_t *ids = scan_ids(c, "crash", &n);
        free(ids);
        CHECK_EQ_INT(n, have + 10);
        have = n;
        es_store_close(c);
    }
    /* No conditional puts: a warning at open, single-writer commits work. */
    {
        es_store *c = NULL;
        fw->cas_supported = 0;
        CHECK_OK(es_store_open_objstore(&c, fw, 0, &o, NULL));
        CHECK(strstr(es_store_errmsg(c), "conditional") != NULL);
        CHECK_OK(insert_ids(c, "crash", 600000, 10));
        int64_t n = 0;
        int64_t *ids = scan_ids(c, "crash", &n);
        free(ids);
        CHECK_EQ_INT(n, have + 10);
        es_store_close(c);
        fw->cas_supported = 1;
    }
    sc.release(&sc);
    es_objstore_close(fw);
    es_objstore_close(inner);
}

/* ------------------------------------------------------ a damaged log (invariant 8) */

/* A store of its own for one damage scenario, under base (mem://, a directory or s3://). */
static void sub_uri(char *out, size_t cap, const char *base, const char *name)
{
    if (strncmp(base, "mem://", 6) == 0) {
        snprintf(out, cap, "%s-%s", base, name);
        es_objstore_mem_drop(out + 6);
    } else {
        snprintf(out, cap, "%s/%s", base, name);
    }
}

/* Versions 0 (created), 1 (table "d") and 2..last, each inserting one row: at version v >= 1
 * the table has v - 1 rows. Checkpoints at 10, 20, ... */
static es_objstore *damage_store(const char *uri, int64_t last)
{
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.create = 1;
    o.inline_rows = 0; /* parts: a checkpoint every ES_CHECKPOINT_INTERVAL versions */
    es_store *s = NULL;
    CHECK_OK(es_store_open(&s, uri, &o));
    struct ArrowSchema sc = id_schema();
    CHECK_OK(es_table_create(s, "d", &sc, "id", 0));
    sc.release(&sc);
    int64_t v = 1;
    while (v < last && insert_ids(s, "d", v, 1) == ES_OK)
        CHECK_OK(es_store_version(s, &v));
    CHECK_EQ_INT(v, last);
    es_store_close(s);
    es_objstore *os = NULL;
    CHECK_OK(es_objstore_open(&os, uri, NULL));
    return os;
}

static void del_key(es_objstore *os, int64_t v, int checkpoint)
{
    char key[64];
    es_log_key(key, sizeof(key), v, checkpoint);
    const char *keys[] = {key};
    CHECK_OK(es_objstore_delete(os, keys, 1, NULL));
}

/* Every key of the store, for "nothing was written". */
static int64_t count_objects(es_objstore *os)
{
    int64_t n = 0;
    char *after = NULL;
    for (;;) {
        es_obj_list l = {0};
        if (es_objstore_list(os, "", after, 0, &l, NULL) != ES_OK)
            return -1;
        n += l.n;
        free(after);
        after = l.n ? strdup(l.items[l.n - 1].key) : NULL;
        int more = l.truncated && l.n > 0;
        es_obj_list_reset(&l);
        if (!more)
            break;
    }
    free(after);
    return n;
}

static int64_t rows_at(es_store *s, int64_t version, es_status *st)
{
    es_table_info info;
    *st = es_table_describe(s, "d", version, &info);
    if (*st != ES_OK)
        return -1;
    int64_t n = info.n_rows;
    es_table_info_reset(&info);
    return n;
}

#define CHECK_MSG(s, text)                                                                         \
    do {                                                                                           \
        const char *m_ = es_store_errmsg(s);                                                       \
        CHECK(strstr(m_, text) != NULL);                                                           \
        if (!strstr(m_, text))                                                                     \
            fprintf(stderr, "  expected \"%s\" in \"%s\"\n", text, m_);                            \
    } while (0)

static void test_damage(const char *base)
{
    char uri[512];
    es_store *s = NULL, *old = NULL;
    es_status st;
    int64_t v = -1;

    /* The issue: entry 13 removed from a store at version 16. */
    sub_uri(uri, sizeof(uri), base, "hole");
    es_objstore *os = damage_store(uri, 16);
    es_blob *saved = NULL;
    CHECK_OK(es_objstore_get(os, "_log/00000000000000000013.json", 0, UINT64_MAX, &saved, NULL));
    del_key(os, 13, 0);
    es_objstore_reset_stats(os);
    CHECK_OK(es_store_open_objstore(&s, os, 0, NULL, NULL));
    es_objstore_stats stats;
    es_objstore_get_stats(os, &stats);
    /* hint, checkpoint 10, one LIST, entries 11-12, the GET that confirms the hole */
    CHECK_EQ_INT(stats.requests[ES_OP_LIST], 1);
    CHECK_EQ_INT(stats.requests[ES_OP_GET], 5);
    CHECK_EQ_INT(es_store_errcode(s), ES_OK);
    CHECK_EQ_STR(es_store_errmsg(s),
                 "warning: _log/00000000000000000013.json: missing, but later version 16 exists: "
                 "the log is damaged; reads continue at version 12");
    CHECK_OK(es_store_version(s, &v));
    CHECK_EQ_INT(v, 12);
    CHECK_MSG(s, "warning: _log/00000000000000000013.json: missing");
    CHECK_EQ_INT(rows_at(s, -1, &st), 11);
    int64_t n = 0;
    free(scan_ids(s, "d", &n));
    CHECK_EQ_INT(n, 11);
    /* Writes are refused before anything is written. */
    int64_t objects = count_objects(os);
    CHECK_EQ_INT(insert_ids(s, "d", 1000, 1), ES_CORRUPT);
    CHECK_EQ_STR(es_store_errmsg(s),
                 "_log/00000000000000000013.json: missing, but later version 16 exists: the log "
                 "is damaged; reads continue at version 12");
    struct ArrowSchema sc = id_schema();
    CHECK_EQ_INT(es_table_create(s, "d2", &sc, NULL, 0), ES_CORRUPT);
    CHECK_EQ_INT(es_table_drop(s, "d", 0), ES_CORRUPT);
    CHECK_EQ_INT(count_objects(os), objects);
    /* Time travel below the hole works; at or past it, the hole is named. */
    CHECK_EQ_INT(rows_at(s, 3, &st), 2);
    CHECK_EQ_INT(rows_at(s, 14, &st), -1);
    CHECK_EQ_INT(st, ES_CORRUPT);
    CHECK_MSG(s, "_log/00000000000000000013.json: missing, but later version 16 exists: the "
                 "log is damaged; version 14 cannot be read");
    CHECK_EQ_INT(rows_at(s, 99, &st), -1);
    CHECK_EQ_INT(st, ES_CORRUPT);
    /* Restored: the same handle writes again, after the versions it had not seen. */
    CHECK_OK(es_objstore_put(os, "_log/00000000000000000013.json", saved->data, saved->size,
                             ES_PUT_IF_ABSENT, NULL, NULL, NULL));
    CHECK_OK(insert_ids(s, "d", 1000, 1));
    CHECK_EQ_STR(es_store_errmsg(s), "");
    CHECK_OK(es_store_version(s, &v));
    CHECK_EQ_INT(v, 17);
    CHECK_EQ_INT(rows_at(s, -1, &st), 16);
    CHECK_EQ_INT(rows_at(s, 99, &st), -1);
    CHECK_EQ_INT(st, ES_NOT_FOUND);
    CHECK_MSG(s, "version 99 does not exist (the latest is 17)");
    es_store_close(s);
    es_blob_unref(saved);

    /* The entry and the checkpoint before it removed (hint -> 10, gone): replay from 0 finds
     * the hole, and the missing checkpoint is noted after it. */
    del_key(os, 13, 0);
    del_key(os, 10, 1);
    CHECK_OK(es_store_open_objstore(&s, os, 0, NULL, NULL));
    CHECK_EQ_STR(es_store_errmsg(s),
                 "warning: _log/00000000000000000013.json: missing, but later version 17 exists: "
                 "the log is damaged; reads continue at version 12; "
                 "_log/00000000000000000010.checkpoint: missing, but _log/_last_checkpoint names "
                 "it; opening read older objects instead");
    CHECK_OK(es_store_version(s, &v));
    CHECK_EQ_INT(v, 12);
    CHECK_EQ_INT(insert_ids(s, "d", 2000, 1), ES_CORRUPT);
    es_store_close(s);
    es_objstore_close(os);

    /* An early entry missing below the checkpoint: the latest version opens (the checkpoint
     * holds it), time travel into the hole names the entry. */
    sub_uri(uri, sizeof(uri), base, "early");
    os = damage_store(uri, 16);
    del_key(os, 2, 0);
    CHECK_OK(es_store_open_objstore(&s, os, 0, NULL, NULL));
    CHECK_EQ_STR(es_store_errmsg(s), "");
    CHECK_EQ_INT(rows_at(s, 3, &st), -1);
    CHECK_EQ_INT(st, ES_CORRUPT);
    CHECK_EQ_STR(es_store_errmsg(s),
                 "_log/00000000000000000002.json: missing, but later version 16 exists: the log "
                 "is damaged; version 3 cannot be read");
    CHECK_EQ_INT(rows_at(s, 12, &st), 11);
    CHECK_OK(insert_ids(s, "d", 3000, 1));
    es_store_close(s);
    es_objstore_close(os);

    /* A checkpoint past missing entries: 17-20 removed, checkpoint 20 kept. A handle still at
     * 16 must not write a new 17 (a fresh open would read checkpoint 20 and never see it). */
    sub_uri(uri, sizeof(uri), base, "ckpt");
    os = damage_store(uri, 16);
    CHECK_OK(es_store_open_objstore(&old, os, 0, NULL, NULL));
    es_store *w = NULL;
    CHECK_OK(es_store_open_objstore(&w, os, 0, NULL, NULL));
    for (int i = 0; i < 4; i++)
        CHECK_OK(insert_ids(w, "d", 100 + i, 1));
    es_store_close(w);
    for (int64_t k = 17; k <= 20; k++)
        del_key(os, k, 0);
    objects = count_objects(os);
    CHECK_EQ_INT(insert_ids(old, "d", 4000, 1), ES_CORRUPT);
    CHECK_EQ_STR(es_store_errmsg(old),
                 "_log/00000000000000000017.json: missing, but a checkpoint of version 20 exists: "
                 "the log is damaged; reads continue at version 16");
    CHECK_EQ_INT(count_objects(os), objects);
    es_store_close(old);
    /* Opened from the checkpoint, version 20 reads; below it, time travel names the hole. */
    CHECK_OK(es_store_open_objstore(&s, os, 0, NULL, NULL));
    CHECK_EQ_STR(es_store_errmsg(s), "");
    CHECK_EQ_INT(rows_at(s, -1, &st), 19);
    CHECK_EQ_INT(rows_at(s, 18, &st), -1);
    CHECK_MSG(s, "_log/00000000000000000017.json: missing, but a checkpoint of version 20 exists");
    es_store_close(s);
    /* Without the hint, replaying from 0 stops at the hole. */
    const char *hint[] = {"_log/_last_checkpoint"};
    CHECK_OK(es_objstore_delete(os, hint, 1, NULL));
    CHECK_OK(es_store_open_objstore(&s, os, 0, NULL, NULL));
    CHECK_MSG(s, "warning: _log/00000000000000000017.json: missing, but a checkpoint of version "
                 "20 exists: the log is damaged; reads continue at version 16");
    es_store_close(s);
    es_objstore_close(os);

    /* The hint names a checkpoint that is gone: a warning, the store works. When the entries
     * up to it are gone too, the hint proves the hole. */
    sub_uri(uri, sizeof(uri), base, "hint");
    os = damage_store(uri, 22);
    del_key(os, 20, 1);
    CHECK_OK(es_store_open_objstore(&s, os, 0, NULL, NULL));
    CHECK_EQ_STR(
        es_store_errmsg(s),
        "warning: _log/00000000000000000020.checkpoint: missing, but _log/_last_checkpoint "
        "names it; opening read older objects instead");
    CHECK_OK(es_store_version(s, &v));
    CHECK_EQ_INT(v, 22);
    CHECK_OK(insert_ids(s, "d", 5000, 1));
    es_store_close(s);
    for (int64_t k = 18; k <= 23; k++)
        del_key(os, k, 0);
    CHECK_OK(es_store_open_objstore(&s, os, 0, NULL, NULL));
    CHECK_MSG(s, "warning: _log/00000000000000000018.json: missing, but _log/_last_checkpoint "
                 "names version 20: the log is damaged; reads continue at version 17");
    CHECK_EQ_INT(insert_ids(s, "d", 5001, 1), ES_CORRUPT);
    es_store_close(s);
    /* A garbage hint is noted and ignored. */
    CHECK_OK(es_objstore_put(os, "_log/_last_checkpoint", "garbage", 7, ES_PUT_ALWAYS, NULL, NULL,
                             NULL));
    CHECK_OK(es_store_open_objstore(&s, os, 0, NULL, NULL));
    CHECK_MSG(s, "_log/_last_checkpoint: checksum mismatch or truncated object; ignored");
    es_store_close(s);
    es_objstore_close(os);

    /* A truncated entry in the middle, and garbage written as the next entry while a handle
     * is open: both name the entry, reads stay before it, writes are refused. */
    sub_uri(uri, sizeof(uri), base, "garbage");
    os = damage_store(uri, 16);
    CHECK_OK(es_store_open_objstore(&old, os, 0, NULL, NULL));
    CHECK_OK(es_objstore_get(os, "_log/00000000000000000013.json", 0, UINT64_MAX, &saved, NULL));
    CHECK_OK(es_objstore_put(os, "_log/00000000000000000013.json", saved->data, saved->size - 5,
                             ES_PUT_ALWAYS, NULL, NULL, NULL));
    CHECK_OK(es_store_open_objstore(&s, os, 0, NULL, NULL));
    CHECK_EQ_STR(es_store_errmsg(s),
                 "warning: _log/00000000000000000013.json: checksum mismatch or truncated object: "
                 "the log is damaged; reads continue at version 12");
    CHECK_EQ_INT(insert_ids(s, "d", 6000, 1), ES_CORRUPT);
    CHECK_MSG(s, "_log/00000000000000000013.json: checksum mismatch");
    es_store_close(s);
    CHECK_OK(es_objstore_put(os, "_log/00000000000000000013.json", saved->data, saved->size,
                             ES_PUT_ALWAYS, NULL, NULL, NULL));
    es_blob_unref(saved);
    CHECK_OK(es_objstore_put(os, "_log/00000000000000000017.json", "{}", 2, ES_PUT_IF_ABSENT, NULL,
                             NULL, NULL));
    CHECK_OK(es_store_version(old, &v));
    CHECK_EQ_INT(v, 16);
    CHECK_EQ_INT(es_store_errcode(old), ES_OK);
    CHECK_MSG(old, "warning: _log/00000000000000000017.json: checksum mismatch or truncated "
                   "object: the log is damaged; reads continue at version 16");
    CHECK_EQ_INT(insert_ids(old, "d", 6001, 1), ES_CORRUPT);
    CHECK_MSG(old, "_log/00000000000000000017.json");
    es_store_close(old);
    es_objstore_close(os);

    /* Version 0 missing and no checkpoint: nothing can be read, and create does not write a
     * new version 0 under the old history. */
    sub_uri(uri, sizeof(uri), base, "zero");
    os = damage_store(uri, 5);
    del_key(os, 0, 0);
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.create = 1;
    CHECK_EQ_INT(es_store_open_objstore(&s, os, 0, &o, NULL), ES_CORRUPT);
    CHECK_EQ_STR(es_store_errmsg(s), "_log/00000000000000000000.json: missing, but later version 5 "
                                     "exists: the log is damaged; no version can be read");
    es_store_close(s);
    es_obj_info info;
    CHECK_EQ_INT(es_objstore_head(os, "_log/00000000000000000000.json", &info, NULL), ES_NOT_FOUND);
    es_objstore_close(os);
    sc.release(&sc);
}

/* Local store only: a log key that is a directory. Reads took it for absent while a conditional
 * create said "already exists". */
static void test_damage_dirs(const char *dir)
{
    char uri[512], path[1024];
    es_store *s = NULL;
    snprintf(uri, sizeof(uri), "%s/dirs", dir);
    es_objstore *os = damage_store(uri, 16);
    /* An empty directory in place of entry 13: a hole. */
    del_key(os, 13, 0);
    snprintf(path, sizeof(path), "%s/_log/00000000000000000013.json", uri);
    CHECK(mkdir(path, 0755) == 0);
    CHECK_OK(es_store_open_objstore(&s, os, 0, NULL, NULL));
    CHECK_MSG(s, "warning: _log/00000000000000000013.json: missing, but later version 16 exists");
    CHECK_EQ_INT(insert_ids(s, "d", 1, 1), ES_CORRUPT);
    CHECK_MSG(s, "_log/00000000000000000013.json: missing");
    es_store_close(s);
    /* With something in it, it is listed: named as listed but not an object. */
    char file[1100];
    snprintf(file, sizeof(file), "%s/x", path);
    FILE *f = fopen(file, "w");
    CHECK(f != NULL);
    if (f)
        fclose(f);
    CHECK_OK(es_store_open_objstore(&s, os, 0, NULL, NULL));
    CHECK_MSG(s, "warning: _log/00000000000000000013.json: listed, but reading it finds no object");
    CHECK_MSG(s, "is a directory): the log is damaged; reads continue at version 12");
    es_store_close(s);
    unlink(file);
    rmdir(path);
    es_objstore_close(os);

    /* A directory where the next entry goes: the store opens at 16, the commit names it. */
    snprintf(uri, sizeof(uri), "%s/dirtail", dir);
    os = damage_store(uri, 16);
    snprintf(path, sizeof(path), "%s/_log/00000000000000000017.json", uri);
    CHECK(mkdir(path, 0755) == 0);
    CHECK_OK(es_store_open_objstore(&s, os, 0, NULL, NULL));
    CHECK_EQ_STR(es_store_errmsg(s), "");
    CHECK_EQ_INT(insert_ids(s, "d", 900000, 1), ES_CORRUPT);
    CHECK_MSG(s, "_log/00000000000000000017.json: a conditional create says it exists, but "
                 "reading it finds no object (");
    CHECK_MSG(s, "is a directory): the log is damaged");
    int64_t v = -1;
    CHECK_OK(es_store_version(s, &v));
    CHECK_EQ_INT(v, 16);
    es_store_close(s);
    es_objstore_close(os);
}

/* --------------------------------------------------------- allocation failures */

/* Fail the Nth allocation of an insert, a scan and a reopen, for every N: each call returns
 * an error or succeeds, never crashes or leaks (ASan), and the store stays consistent. */
static void test_alloc_failures(void)
{
    es_objstore_mem_drop("allocfail");
    es_store *s = NULL;
    CHECK_OK(es_store_open(&s, "mem://allocfail", NULL));
    if (!s)
        return;
    struct ArrowSchema sc = id_schema();
    CHECK_OK(es_table_create(s, "af", &sc, "id", 0));
    int64_t have = 0, failures = 0, n_calls = 0;
    for (int64_t n = 1; n < 5000; n += (n < 400 ? 1 : 7)) {
        es_builder *b = NULL;
        es_builder_new(&b, &sc, NULL);
        for (int64_t i = 0; i < 20; i++) {
            es_builder_append_int(es_builder_child(b, 0), n * 100 + i);
            es_builder_append_bytes(es_builder_child(b, 1), "x", 1);
            es_builder_append_struct(b);
        }
        struct ArrowArray arr;
        es_builder_finish(b, &arr, NULL);
        es_builder_free(b);
        es_util_alloc_fail_at(n, 0);
        es_status a = es_insert_batch(s, "af", &sc, &arr);
        es_util_alloc_fail_at(0, 0);
        int64_t cnt = 0;
        es_util_alloc_fail_at(n, 0);
        int64_t *ids = scan_ids(s, "af", &cnt);
        es_util_alloc_fail_at(0, 0);
        free(ids);
        es_store *r = NULL;
        es_util_alloc_fail_at(n, 0);
        es_status o = es_store_open(&r, "mem://allocfail", NULL);
        int64_t made = es_util_alloc_fail_at(0, 0);
        es_store_close(r);
        if (a == ES_OK)
            have += 20;
        failures += (a != ES_OK) + (cnt < 0) + (o != ES_OK);
        n_calls++;
        /* The truth, without failures. */
        ids = scan_ids(s, "af", &cnt);
        free(ids);
        if (cnt != have && cnt != have + 20)
            check_failed++;
        have = cnt;
        if (a == ES_OK && cnt >= 0 && o == ES_OK && made < n)
            break; /* nothing failed any more */
    }
    CHECK(failures > 10);
    printf("alloc failures: %lld rounds, %lld calls failed cleanly\n", (long long)n_calls,
           (long long)failures);
    sc.release(&sc);
    es_store_close(s);
}

/* An alter_table entry that breaks the invariants of alter.c (a column's type changed to one
 * it does not widen to, the primary key's type changed), written by a faulty writer with a
 * valid checksum: the parts would be read in types they were not written in (a utf8 column
 * read as decimal128 overran its buffers). Opening warns naming the entry and reads at the
 * version before it, writes fail, fsck reports it. */
static void test_bad_alter(const char *base)
{
    for (int bad = 0; bad < 2; bad++) {
        char uri[512];
        sub_uri(uri, sizeof(uri), base, bad ? "alter_pk" : "alter_type");
        es_objstore *os = damage_store(uri, 4);
        es_store *s = NULL;
        CHECK_OK(es_store_open_objstore(&s, os, 0, NULL, NULL));
        es_alter op = ES_ALTER_INIT;
        op.kind = ES_ALTER_RENAME_COLUMN;
        op.column = "s";
        op.new_name = "s2";
        CHECK_OK(es_table_alter(s, "d", &op, NULL));
        es_store_close(s);
        es_entry e;
        CHECK_OK(es_log_read_entry(&e, os, 5, 0, NULL));
        CHECK(e.n_actions == 1 && e.actions[0].kind == ES_ACT_ALTER_TABLE);
        es_column *c = &e.actions[0].table->cols[bad ? 0 : 1];
        snprintf(c->format, sizeof(c->format), "%s", bad ? "i" : "d:10,2");
        CHECK_OK(es_type_parse(&c->type, c->format, NULL));
        es_buf eb = {0};
        CHECK_OK(es_entry_encode(&eb, &e, NULL));
        char key[64];
        es_log_key(key, sizeof(key), 5, 0);
        CHECK_OK(es_objstore_put(os, key, eb.data, eb.len, ES_PUT_ALWAYS, NULL, NULL, NULL));
        es_buf_reset(&eb);
        es_entry_reset(&e);
        CHECK_OK(es_store_open_objstore(&s, os, 0, NULL, NULL));
        int64_t v = -1, n = 0;
        CHECK_OK(es_store_version(s, &v));
        CHECK_EQ_INT(v, 4);
        CHECK_MSG(s, "_log/00000000000000000005.json: alteration of table");
        int64_t *ids = scan_ids(s, "d", &n);
        CHECK_EQ_INT(n, 3);
        free(ids);
        CHECK_EQ_INT(insert_ids(s, "d", 100, 1), ES_CORRUPT);
        CHECK_EQ_INT(es_fsck(s, NULL, NULL, NULL), ES_CORRUPT);
        es_store_close(s);
        es_objstore_close(os);
    }
}

/* A column default of the wrong length for its type (2 bytes for a DOUBLE), written by a faulty
 * writer with a valid checksum, read as 0.0. Forged in a create_table (entry 1, the int64 key),
 * an alter_table (entry 13, which adds x DOUBLE DEFAULT 1.5) and the checkpoint of version 20:
 * each entry is ES_CORRUPT naming it. */
static void test_bad_defaults(const char *base)
{
    char uri[512];
    sub_uri(uri, sizeof(uri), base, "defaults");
    es_objstore *os = damage_store(uri, 12);
    es_store *s = NULL;
    CHECK_OK(es_store_open_objstore(&s, os, 0, NULL, NULL));
    struct ArrowSchema fs;
    es_schema_init_struct(&fs, 1, NULL);
    es_schema_init(fs.children[0], "g", "x", ARROW_FLAG_NULLABLE, NULL);
    es_builder *b = NULL;
    CHECK_OK(es_builder_new(&b, &fs, NULL));
    CHECK_OK(es_builder_append_double(es_builder_child(b, 0), 1.5));
    CHECK_OK(es_builder_append_struct(b));
    struct ArrowArray dv;
    CHECK_OK(es_builder_finish(b, &dv, NULL));
    es_builder_free(b);
    es_alter op = ES_ALTER_INIT;
    op.kind = ES_ALTER_ADD_COLUMN;
    op.field = fs.children[0];
    op.default_value = dv.children[0];
    CHECK_OK(es_table_alter(s, "d", &op, NULL));
    dv.release(&dv);
    fs.release(&fs);
    for (int i = 0; i < 7; i++)
        CHECK_OK(insert_ids(s, "d", 100 + i, 1));
    es_store_close(s);
    static const struct {
        int64_t version;
        int checkpoint;
        const char *col;
    } cases[] = {{1, 0, "id"}, {13, 0, "x"}, {20, 1, "x"}};
    for (int k = 0; k < 3; k++) {
        es_entry e;
        CHECK_OK(es_log_read_entry(&e, os, cases[k].version, cases[k].checkpoint, NULL));
        es_column *c = NULL;
        for (int64_t a = 0; a < e.n_actions && !c; a++)
            if (e.actions[a].table)
                for (int64_t j = 0; j < e.actions[a].table->n_cols; j++)
                    if (strcmp(e.actions[a].table->cols[j].name, cases[k].col) == 0)
                        c = &e.actions[a].table->cols[j];
        CHECK(c != NULL);
        if (!c) {
            es_entry_reset(&e);
            continue;
        }
        CHECK(k == 0 || (c->def && c->def_len == 8));
        es_free(c->def);
        c->def = es_malloc(2);
        c->def[0] = 0xf8;
        c->def[1] = 0x3f;
        c->def_len = 2;
        es_buf eb = {0};
        CHECK_OK(es_entry_encode(&eb, &e, NULL));
        es_entry_reset(&e);
        char key[64];
        es_log_key(key, sizeof(key), cases[k].version, cases[k].checkpoint);
        es_blob *saved = NULL;
        CHECK_OK(es_objstore_get(os, key, 0, UINT64_MAX, &saved, NULL));
        CHECK_OK(es_objstore_put(os, key, eb.data, eb.len, ES_PUT_ALWAYS, NULL, NULL, NULL));
        es_buf_reset(&eb);
        es_error err = {0};
        CHECK_EQ_INT(es_log_read_entry(&e, os, cases[k].version, cases[k].checkpoint, &err),
                     ES_CORRUPT);
        CHECK(strstr(err.msg, key) != NULL);
        CHECK_OK(
            es_objstore_put(os, key, saved->data, saved->size, ES_PUT_ALWAYS, NULL, NULL, NULL));
        es_blob_unref(saved);
    }
    /* Untouched, the store reads the default. */
    CHECK_OK(es_store_open_objstore(&s, os, 0, NULL, NULL));
    int64_t v = -1;
    CHECK_OK(es_store_version(s, &v));
    CHECK_EQ_INT(v, 20);
    es_store_close(s);
    es_objstore_close(os);
}

/* The primary key of a create_table entry: a column of the null type, which es_table_create
 * refuses as a key, is ES_CORRUPT naming the entry; a nullable key is valid (the C API creates
 * one from a nullable field, and NULL keys equal no other). */
static void test_bad_key(const char *base)
{
    char uri[512];
    sub_uri(uri, sizeof(uri), base, "key");
    es_objstore *os = damage_store(uri, 3);
    char key[64];
    es_log_key(key, sizeof(key), 1, 0);
    for (int bad = 0; bad < 2; bad++) {
        es_entry e;
        CHECK_OK(es_log_read_entry(&e, os, 1, 0, NULL));
        CHECK(e.n_actions == 1 && e.actions[0].kind == ES_ACT_CREATE_TABLE);
        es_column *c = &e.actions[0].table->cols[0];
        CHECK(e.actions[0].table->pk == 0 && !c->nullable);
        if (bad) {
            snprintf(c->format, sizeof(c->format), "n");
            CHECK_OK(es_type_parse(&c->type, c->format, NULL));
        } else {
            c->nullable = 1;
        }
        es_buf eb = {0};
        CHECK_OK(es_entry_encode(&eb, &e, NULL));
        es_entry_reset(&e);
        es_error err = {0};
        CHECK_EQ_INT(es_entry_decode(&e, eb.data, eb.len, key, &err), bad ? ES_CORRUPT : ES_OK);
        if (bad)
            CHECK(strstr(err.msg, key) != NULL);
        else
            CHECK(e.actions[0].table->pk == 0 && e.actions[0].table->cols[0].nullable);
        es_entry_reset(&e);
        es_buf_reset(&eb);
    }
    es_objstore_close(os);
}

int main(void)
{
    test_entries();
    const char *env = getenv("ES_TEST_STORE_URI");
    if (env && *env) {
        test_conflicts(env);
        test_checkpoints(env);
        test_damage(env);
        test_processes(env);
        return CHECK_DONE();
    }
    es_objstore_mem_drop("test_log");
    test_conflicts("mem://test_log");
    test_checkpoints("mem://test_log");
    test_damage("mem://test_log");
    test_bad_alter("mem://test_log");
    test_bad_defaults("mem://test_log");
    test_bad_key("mem://test_log");
    test_crashes();
    test_alloc_failures();
    char dir[] = "/tmp/es_test_log_XXXXXX";
    if (mkdtemp(dir)) {
        test_conflicts(dir);
        test_damage(dir);
        test_damage_dirs(dir);
        test_processes(dir);
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", dir);
    }
    return CHECK_DONE();
}
