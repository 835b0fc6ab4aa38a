/*
 * test_manifest: checkpoints that name manifests (src/table/manifest.c, docs/FORMAT.md 4a).
 *
 *  - layout: a table of 760 one-row parts gets a format-3 checkpoint a fraction of the size of
 *    a flat one, naming manifests of at most ES_MANIFEST_PARTS parts; a fresh handle opens
 *    without reading any manifest, describes the table from the root's totals, answers a
 *    point query reading one manifest (3 requests in all with the .idx and the data) and
 *    scans every row;
 *  - a checkpoint after a delete of one row rewrites only the manifest holding it;
 *  - time travel to a version before the checkpoint and between checkpoints;
 *  - a random workload of inserts, deletes, inserts of live keys (refused: the unique check
 *    loads the manifests whose key range holds them) and OPTIMIZE by two handles (one of them
 *    reopened often, so that it applies the other's deletes to parts of manifests it has not
 *    loaded, and writes after loading only the manifests its keys touch), checked
 *    against a model of the live ids after every step through fresh handles: count, a point
 *    query and the full set of ids;
 *  - a transaction on a handle that has loaded no manifest;
 *  - cost follows the work: an entry that changes a part of one manifest makes a fresh handle
 *    load that manifest only, a transaction loads only the manifests it touches (and commits
 *    exactly its changes when it loads more after its first write), SERIALIZABLE reads note
 *    the parts of the manifests they load;
 *  - es_log_objects names every manifest, .data, .idx and .delta the version references, each
 *    present with the recorded size;
 *  - survivors of a changed manifest and new parts of far keys go to separate manifests;
 *  - a damaged manifest: opening works, a scan that needs it fails with ES_CORRUPT naming it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "objstore/objstore.h"
#include "table/table.h"
#include "testutil.h"

#define T "t"

static es_open_options part_per_row(void)
{
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.batch_rows = 1;
    o.part_target_bytes = 1; /* every row its own part: many parts, fast */
    return o;
}

static es_status insert_range(es_store *s, int64_t from, int64_t n)
{
    struct ArrowSchema sc;
    es_schema_init_struct(&sc, 2, NULL);
    es_schema_init(sc.children[0], "l", "id", 0, NULL);
    es_schema_init(sc.children[1], "u", "v", ARROW_FLAG_NULLABLE, NULL);
    es_builder *b = NULL;
    es_builder_new(&b, &sc, NULL);
    for (int64_t i = from; i < from + n; i++) {
        char str[32];
        snprintf(str, sizeof(str), "v%lld", (long long)i);
        es_builder_append_int(es_builder_child(b, 0), i);
        es_builder_append_bytes(es_builder_child(b, 1), str, (int64_t)strlen(str));
        es_builder_append_struct(b);
    }
    struct ArrowArray arr;
    es_builder_finish(b, &arr, NULL);
    es_status st = es_insert_batch(s, T, &sc, &arr);
    es_builder_free(b);
    sc.release(&sc);
    return st;
}

static es_status create_table(es_store *s)
{
    struct ArrowSchema sc;
    es_schema_init_struct(&sc, 2, NULL);
    es_schema_init(sc.children[0], "l", "id", 0, NULL);
    es_schema_init(sc.children[1], "u", "v", ARROW_FLAG_NULLABLE, NULL);
    es_status st = es_table_create(s, T, &sc, "id", 0);
    sc.release(&sc);
    return st;
}

/* The ids (into *ids, sorted as scanned: parts are not in key order) matching pred, -1 on
 * error (the handle's message in *msg). Checks v = "v<id>" on the way. */
static int64_t scan_ids(es_store *s, const es_expr *pred, int64_t at, char **ids_present,
                        int64_t cap, es_scan_stats *stats, es_status *code)
{
    es_scan_options so = ES_SCAN_OPTIONS_INIT;
    so.predicate = pred;
    so.at_version = at;
    so.stats = stats;
    struct ArrowArrayStream st;
    *code = es_scan(s, T, &so, &st);
    if (*code)
        return -1;
    struct ArrowSchema sc;
    st.get_schema(&st, &sc);
    int64_t n = 0, bad = 0;
    for (;;) {
        struct ArrowArray a;
        if (st.get_next(&st, &a) != 0) {
            n = -1;
            *code = ES_CORRUPT;
            break;
        }
        if (!a.release)
            break;
        es_array_view v;
        if (es_array_view_init(&v, &sc, &a, NULL) == ES_OK) {
            for (int64_t i = 0; i < v.length; i++, n++) {
                int64_t id = es_view_get_int(&v.children[0], i);
                int64_t len = 0;
                const uint8_t *p = es_view_get_bytes(&v.children[1], i, &len);
                char want[32];
                snprintf(want, sizeof(want), "v%lld", (long long)id);
                bad += len != (int64_t)strlen(want) || memcmp(p, want, (size_t)len) != 0;
                if (ids_present && id >= 0 && id < cap)
                    (*ids_present)[id]++;
            }
            es_array_view_reset(&v);
        }
        a.release(&a);
    }
    CHECK_EQ_INT(bad, 0);
    sc.release(&sc);
    st.release(&st);
    return n;
}

static int64_t count_keys(es_objstore *os, const char *prefix, const char *suffix)
{
    int64_t n = 0;
    char after[512] = "";
    for (;;) {
        es_obj_list l;
        memset(&l, 0, sizeof(l));
        if (es_objstore_list(os, prefix, after[0] ? after : NULL, 0, &l, NULL))
            return -1;
        for (int64_t i = 0; i < l.n; i++) {
            size_t kl = strlen(l.items[i].key), sl = strlen(suffix);
            n += kl >= sl && strcmp(l.items[i].key + kl - sl, suffix) == 0;
        }
        int more = l.truncated && l.n > 0;
        if (more)
            snprintf(after, sizeof(after), "%s", l.items[l.n - 1].key);
        es_obj_list_reset(&l);
        if (!more)
            return n;
    }
}

static int64_t gets(es_objstore *os)
{
    es_objstore_stats st;
    es_objstore_get_stats(os, &st);
    return st.requests[ES_OP_GET];
}

typedef struct obj_ctx {
    es_objstore *os;
    int64_t n, manifests, parts, deltas, bad;
} obj_ctx;

/* es_log_objects callbacks: count the objects by kind; check_object also HEADs each one. */
static es_status count_object(void *ctx, const char *key, int64_t bytes)
{
    obj_ctx *c = ctx;
    size_t kl = strlen(key);
    c->n++;
    c->manifests += kl > 9 && strcmp(key + kl - 9, ".manifest") == 0;
    c->parts += (kl > 5 && strcmp(key + kl - 5, ".data") == 0) ||
                (kl > 4 && strcmp(key + kl - 4, ".idx") == 0);
    c->deltas += kl > 6 && strcmp(key + kl - 6, ".delta") == 0;
    c->bad += bytes < 1;
    return ES_OK;
}

static es_status check_object(void *ctx, const char *key, int64_t bytes)
{
    obj_ctx *c = ctx;
    es_obj_info info;
    count_object(ctx, key, bytes);
    if (es_objstore_head(c->os, key, &info, NULL) != ES_OK || (int64_t)info.size != bytes) {
        fprintf(stderr, "%s: missing or not %lld bytes\n", key, (long long)bytes);
        c->bad++;
    }
    return ES_OK;
}

/* ------------------------------------------------------------- layout */

static void test_layout(void)
{
    es_objstore_mem_drop("mf_layout");
    es_objstore *os = NULL;
    CHECK_OK(es_objstore_open(&os, "mem://mf_layout", NULL));
    es_open_options o = part_per_row();
    es_store *s = NULL;
    CHECK_OK(es_store_open_objstore(&s, os, 0, &o, NULL));
    CHECK_OK(create_table(s)); /* version 1 */
    for (int i = 0; i < 19; i++)
        CHECK_OK(insert_range(s, i * 40, 40)); /* versions 2..20 */
    int64_t v = -1;
    CHECK_OK(es_store_version(s, &v));
    CHECK_EQ_INT(v, 20);
    es_blob *cp = NULL;
    char key[64];
    es_log_key(key, sizeof(key), 20, 1);
    CHECK_OK(es_objstore_get(os, key, 0, UINT64_MAX, &cp, NULL));
    /* A flat checkpoint takes about 300 bytes per one-row part here (760 parts). */
    CHECK(cp && cp->size < 760 * 300 / 10);
    CHECK(cp && memmem(cp->data, cp->size, "\"format\":3", 10) != NULL);
    es_blob_unref(cp);
    int64_t n_mf = count_keys(os, "table_", ".manifest");
    CHECK(n_mf >= 3 && n_mf <= 4); /* 760 parts, at most 256 per manifest */

    /* A fresh handle: no manifest read at open; totals from the root. */
    es_objstore_reset_stats(os);
    es_store *r = NULL;
    CHECK_OK(es_store_open_objstore(&r, os, 0, &o, NULL));
    int64_t open_gets = gets(os);
    CHECK(open_gets <= 3); /* hint, checkpoint; the LIST finds no tail */
    es_table_info info;
    memset(&info, 0, sizeof(info));
    CHECK_OK(es_table_describe(r, T, -1, &info));
    CHECK_EQ_INT(info.n_parts, 760);
    CHECK_EQ_INT(info.n_rows, 760);
    es_table_info_reset(&info);
    CHECK_EQ_INT(gets(os), open_gets + 1); /* describe's refresh: one GET */

    /* A point query reads one manifest, then the part's .idx and data. */
    es_expr *e = es_expr_cmp("id", ES_EQ, vint(517));
    es_scan_stats ss;
    es_status code;
    CHECK_EQ_INT(scan_ids(r, e, -1, NULL, 0, &ss, &code), 1);
    CHECK_EQ_INT(ss.parts_total, 760);
    CHECK_EQ_INT(ss.parts_total - ss.parts_skipped, 1);
    CHECK(ss.requests <= 3);
    es_expr_free(e);

    /* Every row, from another fresh handle. */
    es_store *r2 = NULL;
    CHECK_OK(es_store_open_objstore(&r2, os, 0, &o, NULL));
    char *seen = calloc(760, 1);
    CHECK_EQ_INT(scan_ids(r2, NULL, -1, &seen, 760, NULL, &code), 760);
    int all = 1;
    for (int i = 0; i < 760; i++)
        all &= seen[i] == 1;
    CHECK(all);

    /* Time travel before the first manifests, and between checkpoints. */
    CHECK_EQ_INT(scan_ids(r2, NULL, 9, NULL, 0, NULL, &code), 8 * 40);
    CHECK_EQ_INT(scan_ids(r2, NULL, 15, NULL, 0, NULL, &code), 14 * 40);

    /* Delete one row, then commit to the next checkpoint: only its manifest is rewritten. */
    int64_t deleted = 0;
    e = es_expr_cmp("id", ES_EQ, vint(5));
    CHECK_OK(es_delete(r, T, e, &deleted)); /* version 21 */
    es_expr_free(e);
    CHECK_EQ_INT(deleted, 1);
    for (int i = 0; i < 9; i++)
        CHECK_OK(insert_range(r, 10000 + i, 1)); /* versions 22..30 */
    int64_t n_mf2 = count_keys(os, "table_", ".manifest");
    CHECK(n_mf2 - n_mf >= 1 && n_mf2 - n_mf <= 2);

    /* Objects a version references: every one present with its size. */
    obj_ctx c = {os, 0, 0, 0, 0, 0};
    CHECK_OK(es_log_objects(os, -1, check_object, &c, NULL));
    CHECK_EQ_INT(c.bad, 0);
    CHECK_EQ_INT(c.manifests, n_mf2 - 1); /* all but the one the delete changed */
    CHECK_EQ_INT(c.parts, 2 * (760 - 1));
    /* the 9 one-row inserts are inlined in the log */ /* the part of id 5 was removed */
    CHECK_EQ_INT(c.n, c.manifests + c.parts + c.deltas);
    es_store_close(r2);
    es_store_close(r);
    es_store_close(s);
    free(seen);
    es_objstore_close(os);
}

/* -------------------------------------------------------------- lists */

/* Enough manifests for lists (more than ES_MANIFEST_LIST_LOOSE): the root names a few lists; a
 * point query reads one list and one manifest; a delete rewrites one manifest and one list at
 * the next checkpoint; every row is still there. */
static void test_lists(const char *dir)
{
    char uri[256];
    snprintf(uri, sizeof(uri), "%s/lists", dir);
    es_objstore *os = NULL;
    CHECK_OK(es_objstore_open(&os, uri, NULL));
    es_open_options o = part_per_row();
    es_store *s = NULL;
    CHECK_OK(es_store_open_objstore(&s, os, 0, &o, NULL));
    CHECK_OK(create_table(s));        /* version 1 */
    const int per = 29, commits = 89; /* checkpoints of 290 parts: two manifests each */
    for (int i = 0; i < commits; i++)
        CHECK_OK(insert_range(s, (int64_t)i * per, per)); /* versions 2..90 */
    int64_t n = (int64_t)per * commits, v = -1;
    CHECK_OK(es_store_version(s, &v));
    CHECK_EQ_INT(v, 90);
    es_store_close(s);
    es_blob *cp = NULL;
    char key[64];
    es_log_key(key, sizeof(key), 90, 1);
    CHECK_OK(es_objstore_get(os, key, 0, UINT64_MAX, &cp, NULL));
    CHECK(cp && memmem(cp->data, cp->size, "\"level\":1", 9) != NULL);
    CHECK(cp && cp->size < 30000); /* a few lists and manifests, not 2,581 parts */
    es_blob_unref(cp);

    es_store *r = NULL;
    CHECK_OK(es_store_open_objstore(&r, os, 0, &o, NULL));
    es_expr *e = es_expr_cmp("id", ES_EQ, vint(1432));
    es_scan_stats ss;
    es_status code;
    CHECK_EQ_INT(scan_ids(r, e, -1, NULL, 0, &ss, &code), 1);
    CHECK_EQ_INT(ss.parts_total, n);
    CHECK_EQ_INT(ss.parts_total - ss.parts_skipped, 1);
    CHECK_EQ_INT(ss.requests, 4); /* a list, a manifest, the .idx, the data */
    es_expr_free(e);
    int64_t before = count_keys(os, "table_", ".manifest");
    int64_t deleted = 0;
    e = es_expr_cmp("id", ES_EQ, vint(777));
    CHECK_OK(es_delete(r, T, e, &deleted)); /* version 91 */
    es_expr_free(e);
    CHECK_EQ_INT(deleted, 1);
    for (int i = 0; i < 9; i++)
        CHECK_OK(insert_range(r, n + i, 1)); /* versions 92..100 */
    int64_t after = count_keys(os, "table_", ".manifest");
    CHECK(after - before >= 2 && after - before <= 3); /* its manifest and its list */
    es_store_close(r);
    /* A fresh handle: the totals, the deleted row gone, rows around it and the new ones there. */
    CHECK_OK(es_store_open_objstore(&r, os, 0, &o, NULL));
    es_table_info info;
    memset(&info, 0, sizeof(info));
    CHECK_OK(es_table_describe(r, T, -1, &info));
    CHECK_EQ_INT(info.n_rows, n + 9 - 1);
    CHECK_EQ_INT(info.n_parts, n + 9 - 1);
    es_table_info_reset(&info);
    e = es_expr_between("id", vint(770), vint(790));
    char *seen = calloc((size_t)n + 9, 1);
    CHECK_EQ_INT(scan_ids(r, e, -1, &seen, n + 9, NULL, &code), 20);
    es_expr_free(e);
    e = es_expr_cmp("id", ES_GE, vint(n - 300));
    CHECK_EQ_INT(scan_ids(r, e, -1, &seen, n + 9, NULL, &code), 309);
    es_expr_free(e);
    CHECK(!seen[777] && seen[776] && seen[778] && seen[n + 8]);
    free(seen);
    obj_ctx c = {os, 0, 0, 0, 0, 0};
    CHECK_OK(es_log_objects(os, -1, count_object, &c, NULL));
    CHECK_EQ_INT(c.bad, 0);
    CHECK_EQ_INT(c.parts, 2 * (n - 1)); /* the 9 one-row inserts are inlined in the log */
    es_store_close(r);
    es_objstore_close(os);
}

/* ----------------------------------------------------------- workload */

#define MAXID 1600

/* Check handle h against the model: row count, one point query, and the full set of ids. */
static void check_model(es_store *h, const char *live, const char *what, int step)
{
    int64_t n_live = 0;
    for (int i = 0; i < MAXID; i++)
        n_live += live[i];
    char *seen = calloc(MAXID, 1);
    es_status code;
    int64_t n = scan_ids(h, NULL, -1, &seen, MAXID, NULL, &code);
    int same = n == n_live;
    for (int i = 0; i < MAXID && same; i++)
        same = seen[i] == live[i];
    if (!same)
        fprintf(stderr, "%s, step %d: %lld rows, the model has %lld (%s)\n", what, step,
                (long long)n, (long long)n_live, es_store_errmsg(h));
    CHECK(same);
    int64_t k = rnd_in(0, MAXID - 1);
    es_expr *e = es_expr_cmp("id", ES_EQ, vint(k));
    CHECK_EQ_INT(scan_ids(h, e, -1, NULL, 0, NULL, &code), live[k]);
    es_expr_free(e);
    es_table_info info;
    memset(&info, 0, sizeof(info));
    CHECK_OK(es_table_describe(h, T, -1, &info));
    CHECK_EQ_INT(info.n_rows, n_live);
    es_table_info_reset(&info);
    free(seen);
}

/* Two writers: A keeps its handle, B is reopened before each of its steps (so its snapshot
 * comes from a root with manifests it has not loaded), and after every step a fresh handle
 * and A are checked against the model. Inserts add ranges of one-row parts; deletes take
 * random single ids, ranges, or an IN list. */
/* Steps of the workload: each checks every row from a fresh handle (about 2,000 one-row parts
 * by the end), which takes most of the sanitizer pass's time. */
#if defined(__SANITIZE_ADDRESS__)
#define WORK_STEPS 25
#else
#define WORK_STEPS 50
#endif

static void test_workload(void)
{
    es_objstore_mem_drop("mf_work");
    es_open_options o = part_per_row();
    es_store *a = NULL;
    CHECK_OK(es_store_open(&a, "mem://mf_work", &o));
    CHECK_OK(create_table(a));
    char *live = calloc(MAXID, 1);
    int64_t next = 0;
    rng = 0x5eed1234;
    for (int step = 0; step < WORK_STEPS; step++) {
        es_store *w = a, *b = NULL;
        if (step % 2) {
            CHECK_OK(es_store_open(&b, "mem://mf_work", &o));
            w = b;
        }
        int op = step < 6 ? 0 : rn(3);
        if (op == 0 || next < 50) {
            int64_t n = rnd_in(1, 80);
            if (next + n > MAXID)
                n = MAXID - next;
            if (n > 0 && insert_range(w, next, n) == ES_OK)
                for (int64_t i = next; i < next + n; i++)
                    live[i] = 1;
            next += n;
        } else {
            es_expr *e;
            int64_t lo = rnd_in(0, next - 1), hi = lo;
            int kind = rn(3);
            if (kind == 0) {
                e = es_expr_cmp("id", ES_EQ, vint(lo));
            } else if (kind == 1) {
                hi = lo + rnd_in(0, 40);
                e = es_expr_between("id", vint(lo), vint(hi));
            } else {
                es_value v[5];
                for (int i = 0; i < 5; i++)
                    v[i] = vint(rnd_in(0, next - 1));
                e = es_expr_in("id", v, 5);
                for (int i = 0; i < 5; i++)
                    live[v[i].i] = 0;
            }
            int64_t deleted = -1;
            CHECK_OK(es_delete(w, T, e, &deleted));
            for (int64_t i = lo; kind < 2 && i <= hi && i < MAXID; i++)
                live[i] = 0;
            es_expr_free(e);
        }
        if (step % 7 == 3 && next > 0) {
            /* A key that is live, inserted again: refused, though the manifest holding it is
             * loaded only by the unique check (by its key range). */
            int64_t k = rnd_in(0, next - 1);
            while (k < next && !live[k])
                k++;
            if (k < next)
                CHECK_EQ_INT(insert_range(w, k, 1), ES_EXISTS);
        }
        if (step % 10 == 9) /* compaction plans over the manifests it loads */
            CHECK_OK(es_optimize(w, T, NULL));
        es_store_close(b);
        es_store *f = NULL;
        CHECK_OK(es_store_open(&f, "mem://mf_work", &o));
        check_model(f, live, "fresh handle", step);
        es_store_close(f);
        check_model(a, live, "writer A", step);
    }
    /* A transaction on a handle that has read no manifest. */
    es_store *t = NULL;
    CHECK_OK(es_store_open(&t, "mem://mf_work", &o));
    CHECK_OK(es_txn_begin(t, NULL));
    int64_t k = 0;
    while (k < next && !live[k])
        k++;
    es_expr *e = es_expr_cmp("id", ES_EQ, vint(k));
    int64_t deleted = 0;
    CHECK_OK(es_delete(t, T, e, &deleted));
    CHECK_EQ_INT(deleted, 1);
    live[k] = 0;
    es_expr_free(e);
    CHECK_OK(insert_range(t, next, 3));
    for (int64_t i = next; i < next + 3; i++)
        live[i] = 1;
    int64_t v = 0;
    CHECK_OK(es_txn_commit(t, &v));
    es_store_close(t);
    CHECK_OK(es_store_open(&t, "mem://mf_work", &o));
    check_model(t, live, "after the transaction", 0);
    es_store_close(t);
    check_model(a, live, "writer A after the transaction", 0);
    es_store_close(a);
    free(live);
}

/* -------------------------------------------------- cost follows the work */

/* Manifests (level 0) of table T that s has loaded, and how many it names. */
static int64_t loaded_manifests(es_store *s, int64_t *named)
{
    const es_tabledef *t = es_snapshot_find(s->snap, T);
    int64_t n = 0;
    *named = 0;
    for (int64_t i = 0; t && i < t->n_mf; i++) {
        *named += t->mf[i].ref->level == 0;
        n += t->mf[i].ref->level == 0 && t->mf[i].loaded;
    }
    return n;
}

static es_status delete_id(es_store *s, int64_t id)
{
    es_expr *e = es_expr_cmp("id", ES_EQ, vint(id));
    int64_t n = 0;
    es_status st = es_delete(s, T, e, &n);
    es_expr_free(e);
    return st ? st : n == 1 ? ES_OK : ES_NOT_FOUND;
}

/* Rows of `rpp` per part, 1,520 rows (a root of 3 or 6 manifests at version 20):
 *  - an entry after the root that deletes from (rpp 2: set_dv) or removes (rpp 1: remove_part)
 *    a part of a manifest makes a fresh handle load that manifest only (the key the action
 *    carries), not all of them: 4 GETs to open (hint, root, the entry, the manifest);
 *  - a transaction (BEGIN, a point UPDATE as delete + insert, COMMIT) from a fresh handle loads
 *    only the manifest its key is in;
 *  - a transaction that loads a second manifest after its first write (the view's table copied
 *    already) commits exactly its changes;
 *  - a rebase over a concurrent delete from the same part (rpp 2) merges both;
 *  - SERIALIZABLE: a concurrent delete of a row the transaction read, in a manifest its read
 *    loaded, conflicts. */
static void test_lazy(int rpp)
{
    char uri[64];
    snprintf(uri, sizeof(uri), "mem://mf_lazy%d", rpp);
    es_objstore_mem_drop(uri + 6);
    es_objstore *os = NULL;
    CHECK_OK(es_objstore_open(&os, uri, NULL));
    es_open_options o = part_per_row();
    o.batch_rows = rpp;
    es_store *s = NULL;
    CHECK_OK(es_store_open_objstore(&s, os, 0, &o, NULL));
    CHECK_OK(create_table(s));
    for (int i = 0; i < 19; i++)
        CHECK_OK(insert_range(s, i * 80, 80)); /* versions 2..20 */
    es_store_close(s);
    char *live = calloc(MAXID, 1);
    for (int i = 0; i < 1520 && i < MAXID; i++)
        live[i] = 1;

    /* An entry that changes a part of one manifest; a fresh handle loads that one only. */
    es_store *w = NULL, *r = NULL;
    CHECK_OK(es_store_open_objstore(&w, os, 0, &o, NULL));
    CHECK_OK(delete_id(w, 517)); /* version 21 */
    live[517] = 0;
    es_objstore_reset_stats(os);
    CHECK_OK(es_store_open_objstore(&r, os, 0, &o, NULL));
    int64_t named = 0;
    CHECK_EQ_INT(gets(os), 4); /* hint, root, entry 21, the manifest holding the part */
    CHECK_EQ_INT(loaded_manifests(r, &named), 1);
    CHECK(named >= 3);
    check_model(r, live, "after a delete in one manifest", rpp);
    es_store_close(r);

    /* BEGIN, a point UPDATE (delete and insert of key 1300), COMMIT: one manifest. */
    es_store *x = NULL;
    CHECK_OK(es_store_open_objstore(&x, os, 0, &o, NULL));
    es_objstore_reset_stats(os);
    CHECK_OK(es_txn_begin(x, NULL));
    CHECK_OK(delete_id(x, 1300));
    CHECK_OK(insert_range(x, 1300, 1));
    int64_t v = 0;
    CHECK_OK(es_txn_commit(x, &v));
    CHECK_EQ_INT(v, 22);
    int64_t txn_gets = gets(os);
    CHECK_EQ_INT(loaded_manifests(x, &named), 2); /* 517's (at open) and 1300's */
    CHECK(txn_gets <= 6);
    if (txn_gets > 6)
        fprintf(stderr, "transaction: %lld GETs\n", (long long)txn_gets);
    es_store_close(x);

    /* A transaction whose second delete loads another manifest into a view already written,
     * with an insert between: exactly those changes commit. */
    CHECK_OK(es_store_open_objstore(&x, os, 0, &o, NULL));
    CHECK_OK(es_txn_begin(x, NULL));
    CHECK_OK(delete_id(x, 40));
    CHECK_OK(insert_range(x, 1520, 3));
    CHECK_OK(delete_id(x, 1000));
    CHECK_OK(delete_id(x, 1521));
    /* A concurrent delete from the part of 1000 (rpp 2: 1001) or of another row. */
    CHECK_OK(delete_id(w, rpp == 2 ? 1001 : 700)); /* version 23 */
    CHECK_OK(es_txn_commit(x, &v));
    CHECK_EQ_INT(v, 24);
    live[40] = live[1000] = live[rpp == 2 ? 1001 : 700] = 0;
    live[1520] = live[1522] = 1;
    es_store_close(x);
    CHECK_OK(es_store_open_objstore(&r, os, 0, &o, NULL));
    check_model(r, live, "after the transactions", rpp);
    check_model(w, live, "writer after the transactions", rpp);
    es_store_close(r);

    /* SERIALIZABLE: a read of a key of a manifest not loaded (loaded by the read), a
     * concurrent delete of it, then a write: the commit fails. */
    CHECK_OK(es_store_open_objstore(&x, os, 0, &o, NULL));
    es_txn_options to = ES_TXN_OPTIONS_INIT;
    to.isolation = ES_ISOLATION_SERIALIZABLE;
    CHECK_OK(es_txn_begin(x, &to));
    int64_t key = 1400; /* a row of a manifest x has not loaded (when there is one) */
    const es_tabledef *xt = es_snapshot_find(x->snap, T);
    for (int64_t i = 0; xt && i < xt->n_mf && key == 1400; i++)
        if (!xt->mf[i].loaded && xt->mf[i].ref->level == 0)
            memcpy(&key, xt->mf[i].ref->sum->stats[0].min, sizeof(key));
    CHECK(key >= 0 && key < 1520 && live[key]);
    es_expr *e = es_expr_cmp("id", ES_EQ, vint(key));
    es_status code;
    CHECK_EQ_INT(scan_ids(x, e, -1, NULL, 0, NULL, &code), 1);
    es_expr_free(e);
    CHECK_OK(delete_id(w, key));
    live[key] = 0;
    CHECK_OK(insert_range(x, 1523, 1));
    CHECK_EQ_INT(es_txn_commit(x, &v), ES_CONFLICT);
    es_store_close(x);
    CHECK_OK(es_store_open_objstore(&r, os, 0, &o, NULL));
    check_model(r, live, "after the serializable conflict", rpp);
    es_store_close(r);
    es_store_close(w);
    free(live);
    es_objstore_close(os);
}

/* A checkpoint packs the survivors of a manifest a delete changed apart from new parts of keys
 * far beyond them: no manifest's key range spans the gap (a point query between would load
 * it), and the rows are all there. */
static void test_runs(void)
{
    es_objstore_mem_drop("mf_runs");
    es_open_options o = part_per_row();
    es_store *s = NULL;
    CHECK_OK(es_store_open(&s, "mem://mf_runs", &o));
    CHECK_OK(create_table(s));
    for (int i = 0; i < 9; i++)
        CHECK_OK(insert_range(s, i * 40, 40)); /* version 10: a root of 360 parts */
    CHECK_OK(delete_id(s, 5));
    int64_t v = 0;
    CHECK_OK(es_store_version(s, &v));
    for (int i = 0; v % 10 != 0; i++) {
        CHECK_OK(insert_range(s, 100000 + i * 10, 10));
        CHECK_OK(es_store_version(s, &v));
    }
    es_store_close(s);
    CHECK_OK(es_store_open(&s, "mem://mf_runs", &o));
    es_tabledef *t = es_snapshot_find(s->snap, T);
    CHECK_OK(es_manifest_load(t, s->os, NULL, NULL, NULL, NULL, NULL)); /* lists, if any */
    int64_t wide = 0, n = 0;
    for (int64_t i = 0; t && i < t->n_mf; i++) {
        const es_part_meta *m = t->mf[i].ref->sum;
        int64_t lo = 0, hi = 0;
        if (t->mf[i].ref->level || !m->stats[0].has_min || !m->stats[0].has_max)
            continue;
        memcpy(&lo, m->stats[0].min, sizeof(lo));
        memcpy(&hi, m->stats[0].max, sizeof(hi));
        wide += lo < 1000 && hi >= 100000;
        n++;
    }
    CHECK(n >= 2);
    CHECK_EQ_INT(wide, 0);
    es_table_info info;
    memset(&info, 0, sizeof(info));
    CHECK_OK(es_table_describe(s, T, -1, &info));
    CHECK_EQ_INT(info.n_rows, 359 + 10 * (v - 11));
    es_table_info_reset(&info);
    es_store_close(s);
}

/* ------------------------------------------------------ index coverage */

/* The coverage entries ("covers") checkpoint v names. */
static int64_t covers_in_checkpoint(es_objstore *os, int64_t v)
{
    es_entry e;
    if (es_log_read_entry(&e, os, v, 1, NULL) != ES_OK)
        return -1;
    int64_t n = 0;
    for (int64_t k = 0; k < e.n_actions; k++)
        if (e.actions[k].kind == ES_ACT_CREATE_INDEX)
            n += e.actions[k].index->n_cov;
    es_entry_reset(&e);
    return n;
}

static int64_t index_covered(es_store *s, int64_t *total)
{
    es_index_info *l = NULL;
    int64_t n = 0, covered = -1;
    if (es_index_list(s, &l, &n) == ES_OK && n == 1) {
        covered = l[0].parts_covered;
        *total = l[0].parts_total;
    }
    es_index_list_free(l, n);
    return covered;
}

/* An index over a table of manifests: a fresh handle (root, manifests not loaded) sees every
 * part covered; a checkpoint names the coverage of live parts only, also when the catalog it
 * comes from still covered removed parts; index scans find the rows. */
static void test_index_coverage(void)
{
    es_objstore_mem_drop("mf_cov");
    es_objstore *os = NULL;
    CHECK_OK(es_objstore_open(&os, "mem://mf_cov", NULL));
    es_open_options o = part_per_row();
    es_store *s = NULL;
    CHECK_OK(es_store_open_objstore(&s, os, 0, &o, NULL));
    CHECK_OK(create_table(s));
    for (int i = 0; i < 9; i++)
        CHECK_OK(insert_range(s, i * 50, 50)); /* versions 2..10: a root of manifests */
    CHECK_OK(es_index_create(s, T, "tv", "v", 0, 0));
    int64_t v = -1, total = 0;
    CHECK_OK(es_store_version(s, &v));
    while (v % 10 != 0) {
        CHECK_OK(insert_range(s, 1000 + v, 1));
        CHECK_OK(es_store_version(s, &v));
    }
    CHECK_EQ_INT(index_covered(s, &total), total);
    int64_t all = total;
    CHECK(all >= 450);
    CHECK_EQ_INT(covers_in_checkpoint(os, v), all);
    es_store *r = NULL;
    CHECK_OK(es_store_open_objstore(&r, os, 0, &o, NULL));
    CHECK_EQ_INT(index_covered(r, &total), all);
    CHECK_EQ_INT(total, all);
    es_store_close(r);

    /* A fresh handle h (manifests not loaded) deletes 100 one-row parts (remove_part: their
     * manifests load, their coverage goes). Its index is then given the root's coverage again,
     * as a checkpoint written before coverage was pruned would have it (the 100 dead parts
     * covered), and h commits to the next checkpoint: it names the live parts' coverage only,
     * those of the manifests h never loaded included. */
    es_entry root;
    CHECK_OK(es_log_read_entry(&root, os, v, 1, NULL));
    es_index_def *old = NULL;
    for (int64_t k = 0; k < root.n_actions; k++)
        if (root.actions[k].kind == ES_ACT_CREATE_INDEX)
            old = es_index_def_ref(root.actions[k].index);
    es_entry_reset(&root);
    CHECK(old && old->n_cov == all);
    es_store *h = NULL;
    CHECK_OK(es_store_open_objstore(&h, os, 0, &o, NULL));
    es_expr *e = es_expr_between("id", vint(100), vint(199));
    int64_t deleted = 0;
    CHECK_OK(es_delete(h, T, e, &deleted));
    es_expr_free(e);
    CHECK_EQ_INT(deleted, 100);
    int64_t named = 0, loaded = loaded_manifests(h, &named);
    CHECK(loaded >= 1 && loaded < named);
    es_tabledef *ht = es_snapshot_find(h->snap, T);
    CHECK(ht && ht->n_indexes == 1 && ht->indexes[0]->n_cov == all - 100);
    if (ht && ht->n_indexes == 1 && old) {
        es_index_def_unref(ht->indexes[0]);
        ht->indexes[0] = es_index_def_ref(old);
    }
    es_index_def_unref(old);
    CHECK_OK(es_store_version(h, &v));
    while (v % 10 != 0) {
        CHECK_OK(insert_range(h, 2000 + v, 1));
        CHECK_OK(es_store_version(h, &v));
    }
    CHECK_EQ_INT(loaded_manifests(h, &named), loaded);
    CHECK_EQ_INT(covers_in_checkpoint(os, v), all - 100);
    es_store_close(h);
    CHECK_OK(es_store_open_objstore(&r, os, 0, &o, NULL));
    CHECK_EQ_INT(index_covered(r, &total), all - 100);
    CHECK_EQ_INT(total, all - 100);
    /* Index scans from a fresh handle: a live row, a deleted one. */
    es_status code;
    e = es_expr_cmp("v", ES_EQ, vstr("v350"));
    es_scan_stats ss;
    CHECK_EQ_INT(scan_ids(r, e, -1, NULL, 0, &ss, &code), 1);
    CHECK(strcmp(ss.index_name, "tv") == 0);
    es_expr_free(e);
    e = es_expr_cmp("v", ES_EQ, vstr("v150"));
    CHECK_EQ_INT(scan_ids(r, e, -1, NULL, 0, NULL, &code), 0);
    es_expr_free(e);
    es_store_close(r);
    es_store_close(s);
    es_objstore_close(os);
}

/* ------------------------------------------------------------ damage */

static void test_damage(void)
{
    es_objstore_mem_drop("mf_damage");
    es_objstore *os = NULL;
    CHECK_OK(es_objstore_open(&os, "mem://mf_damage", NULL));
    es_open_options o = part_per_row();
    es_store *s = NULL;
    CHECK_OK(es_store_open_objstore(&s, os, 0, &o, NULL));
    CHECK_OK(create_table(s));
    for (int i = 0; i < 9; i++)
        CHECK_OK(insert_range(s, i * 10, 10)); /* version 10: a root with manifests */
    es_store_close(s);
    es_obj_list l;
    memset(&l, 0, sizeof(l));
    CHECK_OK(es_objstore_list(os, "table_", NULL, 0, &l, NULL));
    char victim[256] = "";
    for (int64_t i = 0; i < l.n; i++)
        if (strstr(l.items[i].key, ".manifest"))
            snprintf(victim, sizeof(victim), "%s", l.items[i].key);
    es_obj_list_reset(&l);
    CHECK(victim[0] != 0);
    CHECK_OK(es_objstore_put(os, victim, "{}", 2, ES_PUT_ALWAYS, NULL, NULL, NULL));
    CHECK_OK(es_store_open_objstore(&s, os, 0, &o, NULL)); /* opening reads no manifest */
    es_status code = ES_OK;
    CHECK_EQ_INT(scan_ids(s, NULL, -1, NULL, 0, NULL, &code), -1);
    CHECK_EQ_INT(code, ES_CORRUPT);
    CHECK(strstr(es_store_errmsg(s), victim) != NULL);
    es_store_close(s);
    es_objstore_close(os);
}

int main(void)
{
    test_layout();
    test_workload();
    test_lazy(1);
    test_lazy(2);
    test_index_coverage();
    test_runs();
    test_damage();
    /* A local store in memory (tmpfs) when there is one: 35,000 objects, each put synced. */
    char shm[] = "/dev/shm/es_test_manifest_XXXXXX", tmp[] = "/tmp/es_test_manifest_XXXXXX";
    char *dir = mkdtemp(shm) ? shm : mkdtemp(tmp);
    if (dir) {
        test_lists(dir);
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", dir);
    }
    return CHECK_DONE();
}
