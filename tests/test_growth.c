/*
 * test_growth: vacuum, log retention and fsck, and the workload that mixes them with
 * compaction, against real stores (mem://, a local directory, and ES_TEST_STORE_URI, e.g. Ceph
 * RGW through tests/s3/with-env).
 *  - vacuum: orphans of failed writes older than the minimum age are deleted, younger ones and
 *    every referenced object kept; parts replaced by compaction and dropped tables collected
 *    once no retained version needs them; log retention by count, with a clear error for time
 *    travel past it and a store that still opens without its hint; temporary files of killed
 *    processes (local store) collected after their grace age;
 *  - the horizon: an update and a transaction that read before a vacuum committed its horizon
 *    fail at commit (nothing visible), and the store stays consistent;
 *  - a zero-length (torn) last log entry: vacuum and fsck treat it as absent;
 *  - fsck: a consistent store passes; a missing .idx, a damaged .data (a batch, or the footer
 *    only other Arrow readers use), a malformed _log/_retention, a replaced log entry
 *    (the hash chain), a missing entry, a damaged .delta, a malformed _log/_last_checkpoint,
 *    the checkpoint it names missing or failing its checksum (those three "harmless"), the
 *    uncompressed length ahead of a paged batch's buffer and the Schema message of a .data
 *    (which only other Arrow readers read), a checkpoint whose statistics of a part are not its
 *    add_part's, a part removed and added again with other rows, a value of a dictionary batch
 *    of a .data (scans read the .idx's copy), a faulty writer's entry adding a part (with
 *    objects, or inline) whose keys are live already (OPTIMIZE and FLUSH then fail) are each
 *    found, named, non-zero; a checkpoint holding a table without parts is no problem;
 *  - a random workload: forked processes insert (1 to 300 rows), delete, update, run
 *    transactions (deletes and an insert), OPTIMIZE and VACUUM (short retention) at once, round
 *    after round; after every round the table equals the union of the processes' SQLite
 *    databases (each applies what its calls committed) and fsck is clean; on the local store
 *    also with parts of 16 rows (hundreds of parts: checkpoints name manifests);
 *  - fault loops (mem:// under the fault wrapper): OPTIMIZE and VACUUM with the Nth request
 *    failing once, failing for ever, or a crash after the Nth put: the rows never change, and
 *    fsck finds every referenced object.
 */
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "delete_util.h"
#include "table/compact.h"
#include "table/gc.h"
#include "table/index.h"

static int64_t part_target; /* 0: the default */

static int parts_only; /* test_vacuum counts part objects: no rows inlined in the log */

static int64_t part_rows; /* parts of this many rows (0: by part_target) */

static es_store *open_opts(const char *uri, int64_t retain_versions, int64_t min_age_ms)
{
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    if (part_target)
        o.part_target_bytes = part_target;
    o.retain_versions = retain_versions;
    o.vacuum_min_age_ms = min_age_ms;
    o.compact_min_parts = 0;
    if (parts_only)
        o.inline_rows = 0; /* every insert writes a part: the counts of collected objects */
    if (part_rows) {
        o.batch_rows = part_rows;
        o.part_target_bytes = 1;
    }
    es_store *s = NULL;
    if (es_store_open(&s, uri, &o) != ES_OK) {
        fprintf(stderr, "open %s: %s\n", uri, s ? es_store_errmsg(s) : "out of memory");
        es_store_close(s);
        return NULL;
    }
    return s;
}

static int64_t fsck_problems(es_store *s, es_fsck_info *info)
{
    es_fsck_info own;
    if (!info)
        info = &own;
    es_status rc = es_fsck(s, NULL, NULL, info);
    if (rc != ES_OK)
        fprintf(stderr, "fsck: %s (%s)\n", es_status_name(rc), es_store_errmsg(s));
    return rc == ES_OK ? info->problems : rc == ES_CORRUPT ? info->problems : -1;
}

/* Write an orphan .data object of table `tid` whose id says it was made `age_s` seconds ago. */
static void put_orphan(es_objstore *os, const char *tid, int64_t age_s, char *key, size_t cap)
{
    char id[17];
    snprintf(id, sizeof(id), "%08x%08x", (unsigned)(time(NULL) - age_s), (unsigned)rnd());
    es_part_key(key, cap, tid, id, "data");
    CHECK_OK(es_objstore_put(os, key, "orphan", 6, ES_PUT_IF_ABSENT, NULL, NULL, NULL));
}

static int exists(es_objstore *os, const char *key)
{
    es_obj_info info;
    memset(&info, 0, sizeof(info));
    return es_objstore_head(os, key, &info, NULL) == ES_OK;
}

static const char *table_id(es_store *s, const char *name)
{
    const es_tabledef *t = es_snapshot_find(s->snap, name);
    return t ? t->id : "";
}

/* ------------------------------------------------------------------ vacuum */

static void test_vacuum(const char *uri, int local)
{
    parts_only = 1;
    es_store *s = open_opts(uri, 0, 3600 * 1000);
    struct ArrowSchema sc = small_schema();
    CHECK_OK(es_table_create(s, "v", &sc, "id", 0));
    CHECK_OK(es_table_create(s, "gone", &sc, "id", 0));
    sc.release(&sc);
    for (int i = 0; i < 6; i++)
        CHECK_OK(insert_small(s, "v", i, 30, 6));
    CHECK_OK(insert_small(s, "gone", 0, 10, 1));
    int64_t keys[60], n = 0, d;
    for (int64_t i = 0; i < 180; i += 3)
        keys[n++] = i;
    CHECK_OK(delete_keys(s, "v", keys, n, &d)); /* every row of 2 parts: removed */
    CHECK_EQ_INT(version_of(s), 10);
    char *rows = table_state(s, "v", -1);
    char old_key[256], young_key[256], tid[17];
    snprintf(tid, sizeof(tid), "%s", table_id(s, "v"));
    put_orphan(s->os, tid, 7200, old_key, sizeof(old_key));
    put_orphan(s->os, tid, 5, young_key, sizeof(young_key));
    es_fsck_info fi;
    CHECK_EQ_INT(fsck_problems(s, &fi), 0);
    CHECK_EQ_INT(fi.unreferenced, 2);
    es_vacuum_info vi;
    CHECK_OK(es_vacuum(s, &vi));
    CHECK_EQ_INT(vi.objects_deleted, 1); /* the old orphan only */
    CHECK(!exists(s->os, old_key) && exists(s->os, young_key));
    CHECK_EQ_INT(vi.retain_from, 0);
    CHECK_EQ_INT(vi.log_deleted, 0);
    char *again = table_state(s, "v", -1);
    CHECK(rows && again && strcmp(rows, again) == 0);
    free(again);
    /* Compaction and a drop make objects that only old versions reference: kept while those
     * versions are retained, collected once they expire. */
    int64_t before_opt = version_of(s);
    CHECK_OK(es_optimize(s, "v", NULL));
    CHECK_OK(es_table_drop(s, "gone", 0));
    es_store_close(s);
    s = open_opts(uri, 1, 0);
    sleep(1); /* object ids carry whole seconds: let every object be a second old */
    CHECK_OK(es_vacuum(s, &vi));
    /* The young orphan (minimum age 0 now), and the two parts whose every row the delete at
     * version 10 removed: the floor is checkpoint 10, so no retained version has them. */
    CHECK_EQ_INT(vi.retain_from, 10);
    CHECK_EQ_INT(vi.objects_deleted, 1 + 2 * 2);
    while (version_of(s) % 10 != 1) /* a checkpoint past the drop, then one more version */
        CHECK_OK(insert_small(s, "v", 1000 + version_of(s), 1, 1));
    sleep(1);
    CHECK_OK(es_vacuum(s, &vi));
    CHECK(vi.retain_from > before_opt + 1);
    if (vi.objects_deleted != 10 || vi.log_deleted < 1)
        fprintf(stderr, "vacuum: from %lld, %lld objects, %lld log objects\n",
                (long long)vi.retain_from, (long long)vi.objects_deleted,
                (long long)vi.log_deleted);
    CHECK_EQ_INT(vi.objects_deleted, 5 * 2); /* the 4 inputs of OPTIMIZE, the dropped part */
    CHECK(vi.log_deleted >= 1);              /* checkpoints; entries only an hour after the floor */
    CHECK_EQ_INT(fsck_problems(s, &fi), 0);
    CHECK_EQ_INT(fi.unreferenced, 0);
    /* Time travel past the retention: a clear error. */
    es_scan_options so = ES_SCAN_OPTIONS_INIT;
    so.at_version = 2;
    struct ArrowArrayStream st;
    CHECK_EQ_INT(es_scan(s, "v", &so, &st), ES_NOT_FOUND);
    CHECK(strstr(es_store_errmsg(s), "past the log retention") != NULL);
    so.at_version = vi.retain_from;
    if (es_scan(s, "v", &so, &st) == ES_OK)
        st.release(&st);
    else
        CHECK(0);
    es_store_close(s);
    /* Opening without the hint starts from the oldest retained checkpoint. */
    es_objstore *os = NULL;
    CHECK_OK(es_objstore_open(&os, uri, NULL));
    const char *hint = "_log/_last_checkpoint";
    CHECK_OK(es_objstore_delete(os, &hint, 1, NULL));
    s = open_opts(uri, 0, 0);
    CHECK(s != NULL);
    if (s) {
        char *now = table_state(s, "v", -1);
        CHECK(now && strstr(now, "|r1") != NULL);
        free(now);
        es_store_close(s);
    }
    /* Temporary files of killed processes (local store): old ones go, young ones stay. */
    if (local) {
        char p1[512], p2[512];
        snprintf(p1, sizeof(p1), "%s/table_%s/.~es-tmp-0123456789abcdef", uri, tid);
        snprintf(p2, sizeof(p2), "%s/_log/.~es-tmp-fedcba9876543210", uri);
        FILE *f1 = fopen(p1, "w"), *f2 = fopen(p2, "w");
        CHECK(f1 && f2);
        if (f1)
            fclose(f1);
        if (f2)
            fclose(f2);
        struct timeval tv[2] = {{time(NULL) - 7200, 0}, {time(NULL) - 7200, 0}};
        CHECK(utimes(p1, tv) == 0);
        s = open_opts(uri, 0, 3600 * 1000);
        CHECK_OK(es_vacuum(s, &vi));
        CHECK_EQ_INT(vi.temp_deleted, 1);
        struct stat sb;
        CHECK(stat(p1, &sb) != 0 && stat(p2, &sb) == 0);
        es_store_close(s);
        unlink(p2);
    }
    es_objstore_close(os);
    free(rows);
    parts_only = 0;
}

/* ------------------------------------------------ vacuum of manifests and indexes */

/* A handle writing one-row parts (part_target 1, batch_rows 1): manifests after 32 parts. */
static es_store *open_parts(const char *uri, int64_t retain_versions)
{
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.batch_rows = 1;
    o.part_target_bytes = 1;
    o.inline_rows = 0;
    o.retain_versions = retain_versions;
    o.vacuum_min_age_ms = 0;
    o.compact_min_parts = 0;
    es_store *s = NULL;
    if (es_store_open(&s, uri, &o) != ES_OK) {
        fprintf(stderr, "open %s: %s\n", uri, s ? es_store_errmsg(s) : "out of memory");
        es_store_close(s);
        return NULL;
    }
    return s;
}

/* Listed objects of the store whose key ends with `ext`, in *l (sl_free it); their number. */
static int64_t list_ext(es_objstore *os, const char *ext, strlist *l)
{
    es_obj_list all;
    memset(l, 0, sizeof(*l));
    if (es_gc_list(&all, os, "table_", NULL) != ES_OK)
        return -1;
    size_t e = strlen(ext);
    for (int64_t i = 0; i < all.n; i++) {
        size_t n = strlen(all.items[i].key);
        if (n > e && strcmp(all.items[i].key + n - e, ext) == 0)
            sl_add(l, all.items[i].key);
    }
    es_obj_list_reset(&all);
    return l->n;
}

static es_status add_key(void *ctx, const char *key, int64_t bytes)
{
    (void)bytes;
    sl_add(ctx, key);
    return ES_OK;
}

static int sl_has(const strlist *l, const char *k)
{
    for (int64_t i = 0; i < l->n; i++)
        if (strcmp(l->s[i], k) == 0)
            return 1;
    return 0;
}

static void print_unref(void *ctx, int problem, const char *line)
{
    (void)ctx;
    fprintf(stderr, "fsck: %s%s\n", problem ? "problem: " : "", line);
}

/* Many checkpoints that rewrite manifests, an index created then dropped: vacuum keeps
 * exactly the manifests retained checkpoints name, time travel to each retained version reads
 * what it read before, and the dropped index's objects go once no retained version has it. */
static void test_vacuum_manifests(const char *uri)
{
    es_part_id_clock_offset_s = -60; /* every object a minute old: vacuum may delete any */
    es_store *s = open_parts(uri, 15);
    struct ArrowSchema sc = small_schema();
    CHECK_OK(es_table_create(s, "m", &sc, "id", 0));
    sc.release(&sc);
    CHECK_OK(insert_small(s, "m", 0, 40, 1)); /* 40 parts: manifests at the first checkpoint */
    CHECK_OK(es_index_create(s, "m", "mv", "v", 0, 0));
    for (int i = 0; version_of(s) < 45; i++) {
        if (i % 2 == 0) {
            CHECK_OK(insert_small(s, "m", 1000 + i * 10, 3, 1));
        } else {
            int64_t key = i, d = 0; /* a delete in an early part: its manifest is rewritten */
            CHECK_OK(delete_keys(s, "m", &key, 1, &d));
        }
    }
    int64_t latest = version_of(s);
    char *state[64] = {0};
    for (int64_t v = 30; v <= latest; v++) /* the versions vacuum retains (below) */
        state[v] = table_state(s, "m", v);
    strlist mf0, six0, mf1, six1, named;
    int64_t n_mf0 = list_ext(s->os, ".manifest", &mf0), n_six0 = list_ext(s->os, ".six", &six0);
    if (n_mf0 < 3 || n_six0 < 40)
        fprintf(stderr, "%lld manifests, %lld index objects\n", (long long)n_mf0,
                (long long)n_six0);
    CHECK(n_mf0 >= 3 && n_six0 >= 40);
    es_vacuum_info vi;
    CHECK_OK(es_vacuum(s, &vi));
    CHECK(vi.retain_from >= 30);
    /* The manifests every retained checkpoint names (loaded with each of its lists). */
    memset(&named, 0, sizeof(named));
    for (int64_t v = vi.retain_from; v <= latest; v++)
        CHECK_OK(es_log_objects(s->os, v, add_key, &named, NULL));
    int64_t n_mf1 = list_ext(s->os, ".manifest", &mf1), superseded = 0;
    for (int64_t i = 0; i < mf0.n; i++)
        superseded += !sl_has(&named, mf0.s[i]);
    CHECK(superseded > 0); /* else the test would prove nothing */
    CHECK_EQ_INT(n_mf1, n_mf0 - superseded);
    for (int64_t i = 0; i < mf1.n; i++)
        CHECK(sl_has(&named, mf1.s[i]));
    int64_t n_six1 = list_ext(s->os, ".six", &six1); /* those of parts removed went */
    CHECK(n_six1 > 0 && n_six1 < n_six0);
    if (n_six1 >= n_six0)
        fprintf(stderr, "six %lld -> %lld\n", (long long)n_six0, (long long)n_six1);
    for (int64_t i = 0; i < six1.n; i++)
        CHECK(sl_has(&named, six1.s[i]));
    for (int64_t v = vi.retain_from; v <= latest; v++) {
        char *now = table_state(s, "m", v);
        CHECK(now && state[v] && strcmp(now, state[v]) == 0);
        free(now);
    }
    es_fsck_info fi;
    CHECK_OK(es_fsck(s, print_unref, NULL, &fi));
    CHECK_EQ_INT(fi.unreferenced, 0);
    sl_free(&mf0);
    sl_free(&mf1);
    sl_free(&six1);
    sl_free(&named);
    /* Drop the index: its objects stay while a retained version covers parts with it. */
    CHECK_OK(es_index_drop(s, "mv", 0));
    int64_t dropped = version_of(s);
    CHECK_OK(es_vacuum(s, &vi));
    CHECK_EQ_INT(list_ext(s->os, ".six", &six1), n_six1);
    sl_free(&six1);
    while (version_of(s) < dropped + 2 * ES_CHECKPOINT_INTERVAL)
        CHECK_OK(insert_small(s, "m", 5000 + version_of(s), 1, 1));
    char *before = table_state(s, "m", -1);
    CHECK_OK(es_vacuum(s, &vi));
    CHECK(vi.retain_from > dropped);
    CHECK_EQ_INT(list_ext(s->os, ".six", &six1), 0);
    sl_free(&six1);
    char *after = table_state(s, "m", -1);
    CHECK(before && after && strcmp(before, after) == 0);
    CHECK_EQ_INT(fsck_problems(s, &fi), 0);
    CHECK_EQ_INT(fi.unreferenced, 0);
    free(before);
    free(after);
    sl_free(&six0);
    for (int64_t v = 30; v <= latest; v++)
        free(state[v]);
    es_store_close(s);
    es_part_id_clock_offset_s = 0;
}

/* ----------------------------------------------------------------- horizon */

typedef struct vac_during {
    small_update u; /* first: small_update_fn takes the context as one */
    const char *uri;
    es_status rc;
    int commits; /* commits of another handle before its vacuum (which keeps one version) */
} vac_during;

static es_status vacuum_during(void *ctx, const struct ArrowSchema *schema,
                               const struct ArrowArray *rows, struct ArrowArray *out, es_error *err)
{
    vac_during *d = ctx;
    if (d->u.calls == 0) {
        es_store *o = open_opts(d->uri, d->commits ? 1 : 0, 0);
        d->rc = o ? ES_OK : ES_IO;
        for (int i = 0; i < d->commits && !d->rc; i++)
            d->rc = insert_small(o, "other", i * 10, 10, 1);
        if (!d->rc)
            d->rc = es_vacuum(o, NULL);
        es_store_close(o);
    }
    return small_update_fn(ctx, schema, rows, out, err);
}

static void test_horizon(const char *uri)
{
    es_store *s = open_opts(uri, 0, 0);
    struct ArrowSchema sc = small_schema();
    CHECK_OK(es_table_create(s, "h", &sc, "id", 0));
    sc.release(&sc);
    CHECK_OK(insert_small(s, "h", 0, 100, 1));
    char *before = table_state(s, "h", -1);
    vac_during d = {{5, "new", 0, ES_OK, 0}, uri, ES_OK, 0};
    es_expr *e = es_expr_between("id", vint(10), vint(20));
    int64_t n = 0;
    es_status rc = es_update(s, "h", e, vacuum_during, &d, &n);
    es_expr_free(e);
    CHECK_OK(d.rc);
    CHECK_EQ_INT(rc, ES_CONFLICT);
    CHECK(strstr(es_store_errmsg(s), "vacuum") != NULL);
    char *after = table_state(s, "h", -1);
    CHECK(before && after && strcmp(before, after) == 0);
    CHECK_EQ_INT(fsck_problems(s, NULL), 0);
    /* A transaction that began before the horizon. */
    CHECK_OK(es_txn_begin(s, NULL));
    CHECK_OK(insert_small(s, "h", 500, 5, 1));
    es_store *o = open_opts(uri, 0, 0);
    CHECK_OK(es_vacuum(o, NULL));
    es_store_close(o);
    CHECK_EQ_INT(es_txn_commit(s, NULL), ES_CONFLICT);
    CHECK_EQ_INT(live_rows(s, "h"), 100);
    /* After the horizon, writes go on. */
    CHECK_OK(insert_small(s, "h", 500, 5, 1));
    CHECK_EQ_INT(live_rows(s, "h"), 105);
    CHECK_EQ_INT(fsck_problems(s, NULL), 0);
    /* A write whose version a vacuum with no minimum age expires meanwhile (one version kept,
     * past a checkpoint): the entries after its version must stay, or its put-if-absent would
     * re-create a deleted one, a commit that said OK and that no reader ever sees. */
    sc = small_schema();
    CHECK_OK(es_table_create(s, "other", &sc, "id", 0));
    sc.release(&sc);
    vac_during d2 = {{5, "late", 0, ES_OK, 0}, uri, ES_OK, 2 * ES_CHECKPOINT_INTERVAL};
    e = es_expr_between("id", vint(10), vint(20));
    rc = es_update(s, "h", e, vacuum_during, &d2, &n);
    es_expr_free(e);
    CHECK_OK(d2.rc);
    CHECK_EQ_INT(rc, ES_CONFLICT);
    es_store *r = open_opts(uri, 0, 0); /* a fresh reader: the rows as the writer was told */
    CHECK_EQ_INT(live_rows(r, "h"), 105);
    es_store_close(r);
    free(before);
    free(after);
    es_store_close(s);
}

/* -------------------------------------------------------------------- fsck */

typedef struct lines {
    int64_t problems;
    char first[512];
} lines;

static void collect(void *ctx, int problem, const char *line)
{
    lines *l = ctx;
    if (problem && l->problems++ == 0)
        snprintf(l->first, sizeof(l->first), "%s", line);
}

/* Run fsck; 1 when it fails with a problem line containing `what`. */
static int fsck_finds(const char *uri, const char *what)
{
    es_store *s = open_opts(uri, 0, 0);
    if (!s)
        return 0;
    lines l = {0, ""};
    es_status rc = es_fsck(s, collect, &l, NULL);
    es_store_close(s);
    if (rc != ES_CORRUPT || l.problems == 0 || !strstr(l.first, what)) {
        fprintf(stderr, "fsck: %s, %lld problems, first: %s (wanted %s)\n", es_status_name(rc),
                (long long)l.problems, l.first, what);
        return 0;
    }
    return 1;
}

/* A faulty writer's next entry: entry `from` (one add_part or add_inline) again, so that its
 * rows' keys are live twice: an inline part under a new id, a part with objects (removed since
 * by a compaction that moved its rows) under its own. A valid checksum and hash chain: only
 * the keys are wrong. */
static void forge_duplicate(es_store *s, int64_t from)
{
    es_objstore *os = s->os;
    int64_t last = -1;
    CHECK_OK(es_store_version(s, &last));
    es_entry e, l;
    CHECK_OK(es_log_read_entry(&l, os, last, 0, NULL));
    CHECK_OK(es_log_read_entry(&e, os, from, 0, NULL));
    CHECK(e.n_actions == 1 && e.actions[0].kind == ES_ACT_ADD_PART);
    if (e.n_actions == 1 && e.actions[0].kind == ES_ACT_ADD_PART) {
        es_part_meta *m = e.actions[0].part;
        if (m->inline_ipc)
            es_part_new_id(m->id);
        e.version = last + 1;
        e.has_prev = 1;
        e.prev = l.crc;
        memcpy(e.txn, "0123456789abcdef", 16);
        es_buf eb = {0};
        char key[64];
        CHECK_OK(es_entry_encode(&eb, &e, NULL));
        es_log_key(key, sizeof(key), last + 1, 0);
        CHECK_OK(es_objstore_put(os, key, eb.data, eb.len, ES_PUT_IF_ABSENT, NULL, NULL, NULL));
        es_buf_reset(&eb);
    }
    es_entry_reset(&e);
    es_entry_reset(&l);
}

static void test_fsck(const char *base)
{
    for (int damage = 0; damage < 19; damage++) {
        char uri[512];
        snprintf(uri, sizeof(uri), "%s/fsck%d", base, damage);
        es_store *s = open_opts(uri, 0, 0);
        struct ArrowSchema sc = small_schema();
        CHECK_OK(es_table_create(s, "f", &sc, "id", 0));
        sc.release(&sc);
        for (int i = 0; i < 4; i++)
            CHECK_OK(insert_small(s, "f", i * 1000, 1000, 1));
        int64_t keys[400], n = 0, d;
        for (int64_t i = 0; i < 1000; i += 3) /* 334 scattered positions: a .delta object */
            keys[n++] = i;
        CHECK_OK(delete_keys(s, "f", keys, n, &d));
        if (damage == 5)
            CHECK_OK(es_index_create(s, "f", "f_v", "v", 0, 0));
        if (damage >= 8) { /* a table without parts in the checkpoint */
            sc = small_schema();
            CHECK_OK(es_table_create(s, "e", &sc, "id", 0));
            sc.release(&sc);
        }
        for (int i = 4; i < 8 && damage >= 8; i++) /* to version 10: a checkpoint, a hint */
            CHECK_OK(insert_small(s, "f", i * 1000, 1000, 1));
        CHECK_EQ_INT(fsck_problems(s, NULL), 0);
        const es_tabledef *t = es_snapshot_find(s->snap, "f");
        char key[256];
        es_objstore *os = s->os;
        es_blob *b = NULL;
        const char *what = "";
        switch (damage) {
        case 0: /* a missing .idx */
            es_part_key(key, sizeof(key), t->id, t->parts[1]->id, "idx");
            CHECK_OK(es_objstore_delete(os, (const char *const[]){key}, 1, NULL));
            what = ".idx: missing";
            break;
        case 1: { /* one byte of a .data changed (same size) */
            es_part_key(key, sizeof(key), t->id, t->parts[2]->id, "data");
            CHECK_OK(es_objstore_get(os, key, 0, UINT64_MAX, &b, NULL));
            uint8_t *copy = malloc(b->size);
            memcpy(copy, b->data, b->size);
            copy[b->size / 2] ^= 0x55;
            const char *k = key;
            CHECK_OK(es_objstore_delete(os, &k, 1, NULL));
            CHECK_OK(es_objstore_put(os, key, copy, b->size, ES_PUT_ALWAYS, NULL, NULL, NULL));
            free(copy);
            what = "does not match the checksums";
            break;
        }
        case 2: { /* entry 3 replaced by a valid entry with other bytes (another txn) */
            es_entry e;
            CHECK_OK(es_log_read_entry(&e, os, 3, 0, NULL));
            memcpy(e.txn, "0123456789abcdef", 16);
            es_buf eb = {0};
            CHECK_OK(es_entry_encode(&eb, &e, NULL));
            es_log_key(key, sizeof(key), 3, 0);
            CHECK_OK(es_objstore_put(os, key, eb.data, eb.len, ES_PUT_ALWAYS, NULL, NULL, NULL));
            es_buf_reset(&eb);
            es_entry_reset(&e);
            what = "replaced or reordered";
            break;
        }
        case 3: /* a missing entry */
            es_log_key(key, sizeof(key), 2, 0);
            CHECK_OK(es_objstore_delete(os, (const char *const[]){key}, 1, NULL));
            what = "missing";
            break;
        case 6: { /* the footer length of a .data changed: scans (which read the .idx) work, but
                   * other Arrow readers cannot open the file */
            es_part_key(key, sizeof(key), t->id, t->parts[1]->id, "data");
            CHECK_OK(es_objstore_get(os, key, 0, UINT64_MAX, &b, NULL));
            uint8_t *copy = malloc(b->size);
            memcpy(copy, b->data, b->size);
            copy[b->size - 10] ^= 0x01;
            CHECK_OK(es_objstore_put(os, key, copy, b->size, ES_PUT_ALWAYS, NULL, NULL, NULL));
            free(copy);
            what = "not a readable Arrow IPC file";
            break;
        }
        case 11:   /* the uncompressed length ahead of a buffer of a paged part's batch, which
                    * the .idx CRCs (of the pages' frames) do not cover: scans work, other
                    * Arrow readers cannot decode the batch */
        case 12: { /* a field name in the Schema message at the start of a .data, which file
                    * readers skip (they read the footer's) */
            es_part_idx *x = NULL;
            CHECK_OK(es_store_part_idx(&x, s, t, t->parts[1], NULL, NULL, NULL));
            es_part_key(key, sizeof(key), t->id, t->parts[1]->id, "data");
            CHECK_OK(es_objstore_get(os, key, 0, UINT64_MAX, &b, NULL));
            if (!x || !b)
                break;
            uint8_t *copy = malloc(b->size);
            memcpy(copy, b->data, b->size);
            if (damage == 11) {
                int64_t off[3], len[3];
                int np = es_part_idx_ranges(x, 0, off, len);
                CHECK(x->paged && np > 0 && off[0] >= 8 + 8);
                copy[off[0] - 8] ^= 0x01; /* the first page of the buffer follows its length */
            } else {
                const uint8_t *name = memmem(b->data, (size_t)x->offset[0], "\2\0\0\0c0", 6);
                CHECK(name != NULL);
                if (name)
                    copy[name - b->data + 4] = 'd';
            }
            CHECK_OK(es_objstore_put(os, key, copy, b->size, ES_PUT_ALWAYS, NULL, NULL, NULL));
            free(copy);
            es_part_idx_free(x);
            what = damage == 11 ? "decompressed" : "the Schema message differs";
            break;
        }
        case 13: { /* the checkpoint's statistics of a part differ from its add_part's (a valid
                    * checksum): scans would prune the part by them */
            es_entry e;
            es_log_key(key, sizeof(key), 10, 1);
            CHECK_OK(es_log_read_entry(&e, os, 10, 1, NULL));
            int64_t k = 0;
            while (k < e.n_actions && e.actions[k].kind != ES_ACT_ADD_PART)
                k++;
            CHECK(k < e.n_actions && e.actions[k].part->stats[0].has_min);
            if (k < e.n_actions)
                e.actions[k].part->stats[0].min[1] ^= 0x10;
            es_buf eb = {0};
            CHECK_OK(es_entry_encode(&eb, &e, NULL));
            CHECK_OK(es_objstore_put(os, key, eb.data, eb.len, ES_PUT_ALWAYS, NULL, NULL, NULL));
            es_buf_reset(&eb);
            es_entry_reset(&e);
            what = ".checkpoint: does not rebuild the catalog";
            break;
        }
        case 14: { /* an entry (valid checksum) removing a part and adding it again with a row
                    * more: readers fail on it, and fsck, which had checked the part once by
                    * its key, checks it again as this entry describes it */
            es_part_meta *cp = NULL;
            CHECK_OK(es_part_meta_copy(&cp, t->parts[1]));
            if (!cp)
                break;
            cp->rows++;
            es_entry prev, e;
            memset(&e, 0, sizeof(e));
            int64_t v = s->snap->version;
            CHECK_OK(es_log_read_entry(&prev, os, v, 0, NULL));
            e.version = v + 1;
            memcpy(e.txn, "0123456789abcdef", sizeof(e.txn));
            e.has_prev = 1;
            e.prev = prev.crc;
            es_entry_reset(&prev);
            e.actions = es_calloc(2, sizeof(es_action));
            e.n_actions = e.actions ? 2 : 0;
            for (int a = 0; a < e.n_actions; a++) {
                memcpy(e.actions[a].table_id, t->id, sizeof(e.actions[a].table_id));
                memcpy(e.actions[a].part_id, cp->id, sizeof(e.actions[a].part_id));
            }
            if (e.actions) {
                e.actions[0].kind = ES_ACT_REMOVE_PART;
                e.actions[1].kind = ES_ACT_ADD_PART;
                e.actions[1].part = cp;
            } else {
                es_part_meta_unref(cp);
            }
            es_buf eb = {0};
            CHECK_OK(es_entry_encode(&eb, &e, NULL));
            es_log_key(key, sizeof(key), v + 1, 0);
            CHECK_OK(es_objstore_put(os, key, eb.data, eb.len, ES_PUT_IF_ABSENT, NULL, NULL, NULL));
            es_buf_reset(&eb);
            es_entry_reset(&e);
            what = "rows, the log says";
            break;
        }
        case 15: { /* a value of a dictionary batch of a .data: scans read the copy in the .idx,
                    * other Arrow readers this one, which no CRC covers */
            struct ArrowSchema gs;
            es_schema_init_struct(&gs, 2, NULL);
            es_schema_init(gs.children[0], "l", "id", 0, NULL);
            es_schema_init(gs.children[1], "u", "c", ARROW_FLAG_NULLABLE, NULL);
            CHECK_OK(es_table_create(s, "g", &gs, "id", 0));
            es_builder *gb = NULL;
            CHECK_OK(es_builder_new(&gb, &gs, NULL));
            for (int64_t i = 0; i < 1000 && gb; i++) {
                char c[8];
                snprintf(c, sizeof(c), "cat%d", (int)(i % 4));
                es_builder_append_int(es_builder_child(gb, 0), i);
                es_builder_append_bytes(es_builder_child(gb, 1), c, 4);
                es_builder_append_struct(gb);
            }
            struct ArrowArray ga;
            CHECK_OK(es_builder_finish(gb, &ga, NULL));
            es_builder_free(gb);
            CHECK_OK(es_insert_batch(s, "g", &gs, &ga));
            gs.release(&gs);
            const es_tabledef *g = es_snapshot_find(s->snap, "g");
            CHECK(g && g->n_parts == 1);
            if (!g || g->n_parts != 1)
                break;
            es_part_key(key, sizeof(key), g->id, g->parts[0]->id, "data");
            CHECK_OK(es_objstore_get(os, key, 0, UINT64_MAX, &b, NULL));
            const uint8_t *v = b ? memmem(b->data, b->size, "cat0cat1cat2cat3", 16) : NULL;
            CHECK(v != NULL);
            if (!v)
                break;
            uint8_t *copy = malloc(b->size);
            memcpy(copy, b->data, b->size);
            copy[v - b->data + 7] = '9'; /* "cat1" becomes "cat9" */
            CHECK_OK(es_objstore_put(os, key, copy, b->size, ES_PUT_ALWAYS, NULL, NULL, NULL));
            free(copy);
            what = "its dictionary batches are not the copies in";
            break;
        }
        case 16: /* OPTIMIZE moves the parts' live rows to a new part; a faulty writer's entry
                  * adds part 0 back, without its vector (which hid 0, 3, ...) */
            CHECK_OK(es_optimize(s, "f", NULL));
            forge_duplicate(s, 2);
            CHECK_EQ_INT(es_optimize(s, "f", NULL), ES_EXISTS); /* what fsck must warn of */
            what = "table 'f': duplicate primary key id = 1, in 2 live rows (table_";
            break;
        case 17: /* the same with rows inlined in the log */
            CHECK_OK(insert_small(s, "f", 9000, 3, 1));
            CHECK_OK(es_store_version(s, &d));
            forge_duplicate(s, d);
            CHECK_EQ_INT(es_table_flush(s, "f", NULL), ES_EXISTS);
            what = "table 'f': duplicate primary key id = 9000, in 2 live rows (inline part ";
            break;
        case 18: { /* the same with a text key */
            struct ArrowSchema us;
            es_schema_init_struct(&us, 1, NULL);
            es_schema_init(us.children[0], "u", "k", 0, NULL);
            CHECK_OK(es_table_create(s, "u", &us, "k", 0));
            es_builder *ub = NULL;
            CHECK_OK(es_builder_new(&ub, &us, NULL));
            static const char *const words[] = {"gamma", "alpha", "beta"};
            for (int i = 0; i < 3; i++) {
                es_builder_append_bytes(es_builder_child(ub, 0), words[i],
                                        (int64_t)strlen(words[i]));
                es_builder_append_struct(ub);
            }
            struct ArrowArray ua;
            CHECK_OK(es_builder_finish(ub, &ua, NULL));
            es_builder_free(ub);
            CHECK_OK(es_insert_batch(s, "u", &us, &ua));
            us.release(&us);
            CHECK_OK(es_store_version(s, &d));
            forge_duplicate(s, d);
            what = "table 'u': duplicate primary key k = 'alpha', in 2 live rows (inline part ";
            break;
        }
        case 7: /* a malformed retention floor: one problem line naming it, and the versions
                 * are still checked (from the oldest entry) */
            CHECK_OK(es_objstore_put(os, "_log/_retention", "{\"format\":1,", 12, ES_PUT_ALWAYS,
                                     NULL, NULL, NULL));
            what = "_log/_retention: malformed";
            break;
        case 8: /* a malformed hint: every command warns; fsck says so, and that it is harmless */
            CHECK_OK(es_objstore_put(os, ES_LOG_HINT_KEY, "{\"version\":", 11, ES_PUT_ALWAYS, NULL,
                                     NULL, NULL));
            what = ES_LOG_HINT_KEY;
            break;
        case 9: /* the checkpoint the hint names is missing */
            es_log_key(key, sizeof(key), 10, 1);
            CHECK_OK(es_objstore_delete(os, (const char *const[]){key}, 1, NULL));
            what = ".checkpoint: missing, but _log/_last_checkpoint names it (every command warns "
                   "about it; harmless";
            break;
        case 10: { /* the hinted checkpoint fails its checksum */
            es_log_key(key, sizeof(key), 10, 1);
            CHECK_OK(es_objstore_get(os, key, 0, UINT64_MAX, &b, NULL));
            uint8_t *copy = malloc(b->size);
            memcpy(copy, b->data, b->size);
            copy[b->size / 2] ^= 0x20;
            CHECK_OK(es_objstore_put(os, key, copy, b->size, ES_PUT_ALWAYS, NULL, NULL, NULL));
            free(copy);
            what = "(readers skip it and warn; harmless";
            break;
        }
        case 5: { /* one byte of an index page changed (same size, lookup table intact) */
            const es_index_def *x = es_index_find(t, "f_v");
            CHECK(x && x->n_cov > 0);
            if (!x || x->n_cov == 0)
                break;
            es_index_object_key(key, sizeof(key), t->id, &x->cov[0]);
            CHECK_OK(es_objstore_get(os, key, 0, UINT64_MAX, &b, NULL));
            uint8_t *copy = malloc(b->size);
            memcpy(copy, b->data, b->size);
            copy[9] ^= 0x55; /* the first page starts after the 8-byte header */
            CHECK_OK(es_objstore_put(os, key, copy, b->size, ES_PUT_ALWAYS, NULL, NULL, NULL));
            free(copy);
            what = "index page checksum mismatch";
            break;
        }
        default: /* a .delta object cut short */
            CHECK(t->parts[0]->dv && t->parts[0]->dv->id[0]);
            if (!t->parts[0]->dv || !t->parts[0]->dv->id[0])
                break;
            es_part_dv_key(key, sizeof(key), t->id, t->parts[0]->id, t->parts[0]->dv->id);
            CHECK_OK(es_objstore_get(os, key, 0, UINT64_MAX, &b, NULL));
            if (b)
                CHECK_OK(es_objstore_put(os, key, b->data, b->size - 1, ES_PUT_ALWAYS, NULL, NULL,
                                         NULL));
            what = ".delta";
            break;
        }
        es_blob_unref(b);
        es_store_close(s);
        CHECK(fsck_finds(uri, what));
    }
}

/* ---------------------------------------------------------------- workload */

#define W_CHILDREN 3
#define W_RANGE 1000000

typedef struct wcfg {
    const char *uri;
    const char *dir; /* the children's SQLite files */
    int round, ops;
} wcfg;

static void sq(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "sqlite: %s: %s\n", sql, msg);
        sqlite3_free(msg);
    }
}

static int64_t sq_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* One child: `ops` random operations on its own ids, its SQLite database kept in step. */
static int w_child(const wcfg *c, int child)
{
    char path[512], sql[512];
    snprintf(path, sizeof(path), "%s/child%d.db", c->dir, child);
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        return 2;
    sq(db, "CREATE TABLE IF NOT EXISTS r(id INTEGER PRIMARY KEY, v INTEGER, s TEXT);"
           "CREATE TABLE IF NOT EXISTS next(n INTEGER); INSERT INTO next SELECT 0 WHERE NOT "
           "EXISTS (SELECT 1 FROM next)");
    rng = 0x9E3779B97F4A7C15ull ^ (uint64_t)(c->round * 131 + child * 7 + 1);
    /* A minimum age of 2 s: longer than any write here (log retention relies on it). */
    es_store *s = open_opts(c->uri, 3, 2000);
    if (!s)
        return 2;
    int bad = 0;
    int64_t lo = (int64_t)child * W_RANGE;
    for (int op = 0; op < c->ops && !bad; op++) {
        int k = rn(100);
        es_status rc;
        if (k < 40) { /* insert 1 row, a few, or a few hundred */
            int64_t n = k < 20 ? 1 : k < 35 ? rnd_in(2, 20) : rnd_in(100, 300);
            int64_t from = lo + sq_int(db, "SELECT n FROM next");
            rc = insert_small(s, "w", from, n, 1);
            if (rc == ES_OK) {
                snprintf(sql, sizeof(sql),
                         "WITH RECURSIVE c(i) AS (SELECT %lld UNION ALL SELECT i+1 FROM c WHERE "
                         "i < %lld) INSERT INTO r SELECT i, i %% 1000, 'r' || i FROM c; UPDATE "
                         "next SET n = n + %lld",
                         (long long)from, (long long)(from + n - 1), (long long)n);
                sq(db, sql);
            }
        } else if (k < 60) { /* delete a few of its rows by key */
            int64_t keys[8], n = 0, d = 0;
            sqlite3_stmt *st = NULL;
            sqlite3_prepare_v2(db, "SELECT id FROM r ORDER BY random() LIMIT 8", -1, &st, NULL);
            while (n < 8 && sqlite3_step(st) == SQLITE_ROW)
                keys[n++] = sqlite3_column_int64(st, 0);
            sqlite3_finalize(st);
            if (n == 0)
                continue;
            rc = delete_keys(s, "w", keys, n, &d);
            if (rc == ES_OK) {
                if (d != n) {
                    fprintf(stderr, "child %d: deleted %lld of %lld keys\n", child, (long long)d,
                            (long long)n);
                    bad = 1;
                }
                for (int64_t i = 0; i < n; i++) {
                    snprintf(sql, sizeof(sql), "DELETE FROM r WHERE id = %lld", (long long)keys[i]);
                    sq(db, sql);
                }
            }
        } else if (k < 75) { /* update a range of its ids */
            int64_t a = lo + rnd_in(0, sq_int(db, "SELECT n FROM next") + 1), b = a + rn(30);
            es_expr *e = es_expr_between("id", vint(a), vint(b));
            small_update u = {1, "u", 0, ES_OK, 0};
            int64_t n = 0;
            rc = es_update(s, "w", e, small_update_fn, &u, &n);
            es_expr_free(e);
            if (rc == ES_OK) {
                snprintf(sql, sizeof(sql),
                         "UPDATE r SET v = v + 1, s = 'u' WHERE id BETWEEN %lld AND %lld",
                         (long long)a, (long long)b);
                sq(db, sql);
                if (n != sqlite3_changes(db)) {
                    fprintf(stderr, "child %d: updated %lld rows, SQLite %d\n", child, (long long)n,
                            sqlite3_changes(db));
                    bad = 1;
                }
            }
        } else if (k < 82) { /* a transaction: delete a few of its rows, insert a few */
            int64_t keys[4], n = 0, d = 0, m = rnd_in(1, 20);
            int64_t from = lo + sq_int(db, "SELECT n FROM next");
            sqlite3_stmt *st = NULL;
            sqlite3_prepare_v2(db, "SELECT id FROM r ORDER BY random() LIMIT 4", -1, &st, NULL);
            while (n < 4 && sqlite3_step(st) == SQLITE_ROW)
                keys[n++] = sqlite3_column_int64(st, 0);
            sqlite3_finalize(st);
            rc = es_txn_begin(s, NULL);
            if (!rc && n > 0 && (rc = delete_keys(s, "w", keys, n, &d)) == ES_OK && d != n) {
                fprintf(stderr, "child %d: deleted %lld of %lld keys\n", child, (long long)d,
                        (long long)n);
                bad = 1;
            }
            if (!rc)
                rc = insert_small(s, "w", from, m, 1);
            if (!rc)
                rc = es_txn_commit(s, NULL);
            else if (es_txn_active(s, NULL))
                es_txn_abort(s);
            if (rc == ES_OK) {
                for (int64_t i = 0; i < n; i++) {
                    snprintf(sql, sizeof(sql), "DELETE FROM r WHERE id = %lld", (long long)keys[i]);
                    sq(db, sql);
                }
                snprintf(sql, sizeof(sql),
                         "WITH RECURSIVE c(i) AS (SELECT %lld UNION ALL SELECT i+1 FROM c WHERE "
                         "i < %lld) INSERT INTO r SELECT i, i %% 1000, 'r' || i FROM c; UPDATE "
                         "next SET n = n + %lld",
                         (long long)from, (long long)(from + m - 1), (long long)m);
                sq(db, sql);
            }
        } else if (k < 90) {
            rc = es_optimize(s, "w", NULL);
        } else {
            rc = es_vacuum(s, NULL);
        }
        /* A conflict (with a vacuum's horizon, a compaction of the parts a delete read)
         * commits nothing; anything else is a failure. */
        if (rc != ES_OK && rc != ES_CONFLICT) {
            fprintf(stderr, "child %d op %d: %s\n", child, op, es_store_errmsg(s));
            bad = 1;
        }
    }
    es_store_close(s);
    sqlite3_close(db);
    return bad;
}

/* Every child's rows, as the store's rows are formatted by table_rows ("id|v|s"), sorted. */
static char *w_expected(const wcfg *c)
{
    strlist l;
    memset(&l, 0, sizeof(l));
    for (int child = 0; child < W_CHILDREN; child++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/child%d.db", c->dir, child);
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        if (sqlite3_open(path, &db) == SQLITE_OK &&
            sqlite3_prepare_v2(db, "SELECT id, v, s FROM r", -1, &st, NULL) == SQLITE_OK) {
            while (sqlite3_step(st) == SQLITE_ROW) {
                char row[128];
                snprintf(row, sizeof(row), "%lld|%lld|%s", (long long)sqlite3_column_int64(st, 0),
                         (long long)sqlite3_column_int64(st, 1),
                         (const char *)sqlite3_column_text(st, 2));
                sl_add(&l, row);
            }
        }
        sqlite3_finalize(st);
        sqlite3_close(db);
    }
    char *j = sl_join(&l);
    sl_free(&l);
    return j;
}

static void test_workload(const char *uri, const char *dir, int rounds, int ops)
{
    part_target = 8192; /* inserts of a few hundred rows make several parts */
    es_store *s = open_opts(uri, 3, 0);
    struct ArrowSchema sc = small_schema();
    CHECK_OK(es_table_create(s, "w", &sc, "id", 0));
    sc.release(&sc);
    es_store_close(s);
    for (int r = 0; r < rounds; r++) {
        wcfg c = {uri, dir, r, ops};
        pid_t pids[W_CHILDREN];
        fflush(NULL);
        for (int child = 0; child < W_CHILDREN; child++) {
            pids[child] = fork();
            if (pids[child] == 0)
                _exit(w_child(&c, child));
        }
        for (int child = 0; child < W_CHILDREN; child++) {
            int status = 0;
            CHECK(pids[child] > 0 && waitpid(pids[child], &status, 0) == pids[child] &&
                  WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
        s = open_opts(uri, 3, 0);
        char *want = w_expected(&c), *got = table_state(s, "w", -1);
        CHECK(want && got && strcmp(want, got) == 0);
        if (want && got && strcmp(want, got) != 0)
            fprintf(stderr, "round %d: the table differs from SQLite\n", r);
        es_fsck_info fi;
        CHECK_EQ_INT(fsck_problems(s, &fi), 0);
        printf("  round %d: version %lld, %lld parts, %lld rows; fsck: %lld versions retained, "
               "%lld objects, %lld unreferenced\n",
               r, (long long)version_of(s), (long long)n_parts(s, "w"),
               (long long)live_rows(s, "w"), (long long)fi.versions, (long long)fi.objects,
               (long long)fi.unreferenced);
        if (part_rows && r == rounds - 1) /* the manifests mode did write manifests */
            CHECK(count_objects(s->os, ".manifest", NULL, 0) > 0);
        free(want);
        free(got);
        es_store_close(s);
    }
    part_target = 0;
}

/* A zero-length log entry after the last (what a crash may leave of a put never acknowledged,
 * FORMAT.md 3): vacuum treats it as absent (it reads to the last entry readers see, deletes
 * nothing referenced), fsck notes it without a problem, and the next commit replaces it. */
static void test_torn_vacuum(const char *uri)
{
    es_store *s = open_opts(uri, 2, 0);
    if (!s)
        return;
    struct ArrowSchema sc = small_schema();
    CHECK_OK(es_table_create(s, "tv", &sc, "id", 0));
    sc.release(&sc);
    for (int i = 0; i < 12; i++)
        CHECK_OK(insert_small(s, "tv", i * 10, 5, 1));
    int64_t keys[2] = {0, 11}, d = 0;
    CHECK_OK(delete_keys(s, "tv", keys, 2, &d));
    int64_t v = version_of(s);
    char key[64];
    es_log_key(key, sizeof(key), v + 1, 0);
    CHECK_OK(es_objstore_put(s->os, key, "", 0, ES_PUT_IF_ABSENT, NULL, NULL, NULL));
    char *before = table_state(s, "tv", -1);
    es_vacuum_info vi;
    CHECK_OK(es_vacuum(s, &vi)); /* its horizon entry replaces the torn one */
    CHECK_EQ_INT(vi.version, v + 1);
    char *after = table_state(s, "tv", -1);
    CHECK(before && after && strcmp(before, after) == 0);
    es_fsck_info fi;
    CHECK_EQ_INT(fsck_problems(s, &fi), 0);
    CHECK_EQ_INT(fi.unreferenced, 0);
    /* Torn again after the vacuum's entry: a second vacuum, then an insert. */
    es_log_key(key, sizeof(key), version_of(s) + 1, 0);
    CHECK_OK(es_objstore_put(s->os, key, "", 0, ES_PUT_IF_ABSENT, NULL, NULL, NULL));
    es_store *r = open_opts(uri, 2, 0);
    CHECK(r && version_of(r) == v + 1);
    CHECK_OK(es_vacuum(r, &vi));
    CHECK_OK(insert_small(r, "tv", 500, 1, 1));
    CHECK_EQ_INT(live_rows(r, "tv"), 12 * 5 - 2 + 1);
    CHECK_EQ_INT(fsck_problems(r, &fi), 0);
    free(before);
    free(after);
    es_store_close(r);
    es_store_close(s);
}

/* The program: `expstore fsck` and `expstore vacuum` exit codes. */
static void test_tool(const char *base)
{
    const char *bin = getenv("ES_BUILD_DIR");
    char cmd[1024];
    if (!bin)
        return;
    snprintf(cmd, sizeof(cmd), "%s/expstore fsck -q '%s/fsck0' >/dev/null", bin, base);
    int rc = system(cmd);
    CHECK(WIFEXITED(rc) && WEXITSTATUS(rc) == 1); /* damaged by test_fsck */
    snprintf(cmd, sizeof(cmd), "%s/expstore fsck '%s/workload' >/dev/null", bin, base);
    rc = system(cmd);
    CHECK(WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
    snprintf(cmd, sizeof(cmd),
             "%s/expstore vacuum --retain-versions 2 --min-age-seconds 0 '%s/workload' | grep -q "
             "'^vacuum at version'",
             bin, base);
    rc = system(cmd);
    CHECK(WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
    snprintf(cmd, sizeof(cmd), "%s/expstore fsck -q '%s/nothing-here' 2>/dev/null", bin, base);
    rc = system(cmd);
    CHECK(WIFEXITED(rc) && WEXITSTATUS(rc) == 2);
}

/* ------------------------------------------------------------ fault loops */

/* Table "f" of many small parts, deleted rows (inline and a .delta), a dropped table, an old
 * orphan: work for both operations. */
static void fault_store(es_store *s, int manifests)
{
    es_part_id_clock_offset_s = -60; /* every object a minute old: vacuum may delete any */
    struct ArrowSchema sc = small_schema();
    CHECK_OK(es_table_create(s, "f", &sc, "id", 0));
    CHECK_OK(es_table_create(s, "x", &sc, "id", 0));
    sc.release(&sc);
    for (int i = 0; i < 5; i++)
        CHECK_OK(insert_small(s, "f", i, 200, 5));
    CHECK_OK(insert_small(s, "x", 0, 10, 1));
    int64_t keys[200], n = 0, d;
    for (int64_t i = 0; i < 1000; i += 5)
        keys[n++] = i;
    CHECK_OK(delete_keys(s, "f", keys, n, &d));
    CHECK_OK(es_table_drop(s, "x", 0));
    /* For vacuum, 40 one-row parts (manifests from the next checkpoint on); an index of "f",
     * and an index dropped: objects of every kind to keep or collect. */
    if (manifests) {
        es_store *p = open_parts("mem://growth_fault", 1);
        CHECK_OK(insert_small(p, "f", 10000, 40, 1));
        es_store_close(p);
    }
    CHECK_OK(es_index_create(s, "f", "fv", "v", 0, 0));
    CHECK_OK(es_index_create(s, "f", "fs", "s", 0, 0));
    CHECK_OK(es_index_drop(s, "fs", 0));
    char key[256];
    put_orphan(s->os, table_id(s, "f"), 7200, key, sizeof(key));
    while (version_of(s) % 10 != 2)
        CHECK_OK(insert_small(s, "f", 5000 + version_of(s), 1, 1));
    es_part_id_clock_offset_s = 0;
}

static es_status fault_op(es_store *s, int op)
{
    if (op == 0)
        return es_optimize(s, "f", NULL);
    return es_vacuum(s, NULL);
}

static void test_faults(void)
{
    for (int op = 0; op < 2; op++) {
        /* How many requests does a clean run make? */
        es_objstore_mem_drop("growth_fault");
        es_store *s = open_opts("mem://growth_fault", 1, 0);
        fault_store(s, op == 1);
        char *before = table_state(s, "f", -1);
        es_objstore *fw = NULL;
        CHECK_OK(es_objstore_fault_wrap(&fw, s->os, 0, NULL));
        es_open_options o = ES_OPEN_OPTIONS_INIT;
        o.retain_versions = 1;
        o.vacuum_min_age_ms = 0;
        o.compact_min_parts = 0;
        es_store *c = NULL;
        CHECK_OK(es_store_open_objstore(&c, fw, 0, &o, NULL));
        CHECK_OK(es_objstore_fault_set(fw, NULL));
        CHECK_OK(fault_op(c, op));
        int64_t total = es_objstore_fault_count(fw, -1);
        es_objstore_stats fst;
        es_objstore_get_stats(fw, &fst);
        if (op == 1)
            CHECK(fst.requests[ES_OP_DELETE] >= 2); /* table objects, then log objects */
        es_store_close(c);
        es_objstore_close(fw);
        es_store_close(s);
        CHECK(total > 5);
        int64_t loops = 0;
        for (int mode = 0; mode < 3; mode++) {
            for (int64_t nth = 1; nth <= total; nth++) {
                es_objstore_mem_drop("growth_fault");
                s = open_opts("mem://growth_fault", 1, 0);
                fault_store(s, op == 1);
                CHECK_OK(es_objstore_fault_wrap(&fw, s->os, 0, NULL));
                CHECK_OK(es_store_open_objstore(&c, fw, 0, &o, NULL));
                es_fault_config cfg;
                memset(&cfg, 0, sizeof(cfg));
                cfg.op = -1;
                if (mode < 2) {
                    cfg.fail_at = nth;
                    cfg.persist = mode == 1;
                    cfg.status = ES_IO;
                } else {
                    cfg.crash_after_put = nth;
                }
                CHECK_OK(es_objstore_fault_set(fw, &cfg));
                (void)fault_op(c, op);
                es_store_close(c);
                es_objstore_close(fw);
                es_store_close(s);
                /* A fresh handle on the untouched inner store: same rows, nothing missing. */
                s = open_opts("mem://growth_fault", 1, 0);
                char *after = s ? table_state(s, "f", -1) : NULL;
                CHECK(after && before && strcmp(after, before) == 0);
                CHECK_EQ_INT(s ? fsck_problems(s, NULL) : -1, 0);
                if (!after || !before || strcmp(after, before) != 0)
                    fprintf(stderr, "%s, mode %d, request %lld\n", op ? "vacuum" : "optimize", mode,
                            (long long)nth);
                free(after);
                es_store_close(s);
                loops++;
            }
        }
        printf("%s: %lld fault runs over %lld requests\n", op ? "vacuum" : "optimize",
               (long long)loops, (long long)total);
        free(before);
    }
    es_objstore_mem_drop("growth_fault");
}

int main(void)
{
    seed_from_env();
    const char *env = getenv("ES_TEST_STORE_URI");
    if (env && *env) {
        char uri[512], dir[] = "/tmp/es_test_growth_XXXXXX";
        printf("== %s\n", env);
        snprintf(uri, sizeof(uri), "%s/vacuum", env);
        TIMED(test_vacuum(uri, 0));
        snprintf(uri, sizeof(uri), "%s/horizon", env);
        TIMED(test_horizon(uri));
        snprintf(uri, sizeof(uri), "%s/manifests", env);
        TIMED(test_vacuum_manifests(uri));
        snprintf(uri, sizeof(uri), "%s/workload", env);
        if (mkdtemp(dir)) {
            TIMED(test_workload(uri, dir, 4, 6));
            char cmd[256];
            snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
            if (system(cmd) != 0)
                fprintf(stderr, "cannot remove %s\n", dir);
        }
        return CHECK_DONE();
    }
    printf("== mem://\n");
    es_objstore_mem_drop("growth_v");
    es_objstore_mem_drop("growth_h");
    TIMED(test_vacuum("mem://growth_v", 0));
    es_objstore_mem_drop("growth_m");
    TIMED(test_vacuum_manifests("mem://growth_m"));
    TIMED(test_horizon("mem://growth_h"));
    TIMED(test_faults());
    char dir[] = "/tmp/es_test_growth_XXXXXX";
    if (mkdtemp(dir)) {
        char uri[512];
        printf("== %s\n", dir);
        snprintf(uri, sizeof(uri), "%s/vacuum", dir);
        TIMED(test_vacuum(uri, 1));
        snprintf(uri, sizeof(uri), "%s/horizon", dir);
        TIMED(test_horizon(uri));
        snprintf(uri, sizeof(uri), "%s/torn", dir);
        TIMED(test_torn_vacuum(uri));
        snprintf(uri, sizeof(uri), "%s/manifests", dir);
        TIMED(test_vacuum_manifests(uri));
        TIMED(test_fsck(dir));
        snprintf(uri, sizeof(uri), "%s/workload", dir);
        TIMED(test_workload(uri, dir, 8, 8));
        /* Again with parts of 16 rows: hundreds of parts, so that checkpoints name manifests
         * and the processes' deletes, updates and transactions load them lazily. */
        char sub[512];
        snprintf(sub, sizeof(sub), "%s/mf", dir);
        snprintf(uri, sizeof(uri), "%s/workload_mf", dir);
        part_rows = 16;
        if (mkdir(sub, 0700) == 0)
            TIMED(test_workload(uri, sub, 5, 8));
        part_rows = 0;
        TIMED(test_tool(dir));
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", dir);
    }
    return CHECK_DONE();
}
