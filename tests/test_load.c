/*
 * test_load: es_insert's pipeline (src/table/load.c). A stream in key order is written part by
 * part while it is still being read; what it stores must be what the one-shot path stores (the
 * same rows, the same number of parts) for the same rows in one batch, and every failure must
 * leave the table as it was. Parts are made tiny (batch_rows 16, a part target of a few KB) so
 * that a few thousand rows make dozens of parts, cut inside the stream's batches.
 *
 * Cases: keys ascending (parts are written before the stream ends: counted from the stream);
 * ascending, then keys below parts already written (the rest is sorted and its keys merged);
 * a key repeated across that boundary, and one repeated where a part would be cut (ES_EXISTS
 * with the one-shot path's message); a key already in the table; a table without a key (rows
 * in input order); a stream failing half-way and an interrupted load (nothing committed); one
 * thread (parts written in line). And the statistics the part writer records (colstat.c's typed
 * loop for integers and doubles): min/max answered from them equal those a scan computes, with
 * NULLs, NaN (above every number), -0.0 and the int32 extremes in every order.
 */
#include <errno.h>

#include <math.h>

#include "delete_util.h"
#include "expstore/sql.h"

static const char *uri = "mem://test_load";
static es_objstore *os;

/* A stream over batches of small_schema rows with ids[0..n), cut into batches of 1 to 40 rows;
 * it fails at batch fail_at (-1: never) and counts the .data objects present at its last
 * get_next (the end of the stream). */
typedef struct test_stream {
    struct ArrowSchema sc;
    struct ArrowArray *b;
    int64_t n, next, fail_at;
    int64_t data_at_end;
    es_store *interrupt; /* interrupt this store at batch fail_at instead of failing */
} test_stream;

static int ts_schema(struct ArrowArrayStream *s, struct ArrowSchema *out)
{
    test_stream *t = s->private_data;
    return es_schema_copy(out, &t->sc, NULL) == ES_OK ? 0 : ENOMEM;
}

static int ts_next(struct ArrowArrayStream *s, struct ArrowArray *out)
{
    test_stream *t = s->private_data;
    memset(out, 0, sizeof(*out));
    if (t->next == t->fail_at) {
        if (!t->interrupt)
            return EIO;
        es_store_interrupt(t->interrupt);
    }
    if (t->next == t->n) {
        t->data_at_end = count_objects(os, ".data", NULL, 0);
        return 0;
    }
    *out = t->b[t->next];
    memset(&t->b[t->next++], 0, sizeof(*out));
    return 0;
}

static const char *ts_error(struct ArrowArrayStream *s)
{
    (void)s;
    return "the test's stream failed";
}

static void ts_release(struct ArrowArrayStream *s)
{
    test_stream *t = s->private_data;
    for (int64_t i = 0; i < t->n; i++)
        es_array_release(&t->b[i]);
    free(t->b);
    t->sc.release(&t->sc);
    s->release = NULL;
}

/* One batch of rows ids[0..n) (v = id % 1000, s = "r<id>" in 7 bytes, NULL when id % 7 == 3:
 * rows of one size, so that the pipeline's estimate of it, from the rows before its first cut,
 * is the one-shot path's, from all rows). */
static void make_batch(struct ArrowArray *out, const struct ArrowSchema *sc, const int64_t *ids,
                       int64_t n)
{
    es_builder *b = NULL;
    CHECK_OK(es_builder_new(&b, sc, NULL));
    for (int64_t i = 0; i < n; i++) {
        char str[32];
        snprintf(str, sizeof(str), "r%06lld", (long long)ids[i]);
        es_builder_append_int(es_builder_child(b, 0), ids[i]);
        es_builder_append_int(es_builder_child(b, 1), ids[i] % 1000);
        if (ids[i] % 7 == 3)
            es_builder_append_null(es_builder_child(b, 2), 1);
        else
            es_builder_append_bytes(es_builder_child(b, 2), str, (int64_t)strlen(str));
        es_builder_append_struct(b);
    }
    CHECK_OK(es_builder_finish(b, out, NULL));
    es_builder_free(b);
}

static void stream_of(struct ArrowArrayStream *out, test_stream *t, const int64_t *ids, int64_t n,
                      int64_t fail_at)
{
    memset(t, 0, sizeof(*t));
    t->sc = small_schema();
    t->b = calloc((size_t)n + 1, sizeof(*t->b));
    t->fail_at = fail_at;
    t->data_at_end = -1;
    for (int64_t i = 0; i < n;) {
        int64_t k = 1 + rn(40);
        k = k < n - i ? k : n - i;
        make_batch(&t->b[t->n++], &t->sc, ids + i, k);
        i += k;
    }
    out->get_schema = ts_schema;
    out->get_next = ts_next;
    out->get_last_error = ts_error;
    out->release = ts_release;
    out->private_data = t;
}

static char last_msg[512]; /* the pipeline's error message in load_both */

/* Insert ids through the pipeline into table a and in one batch (the one-shot path) into table
 * b (both fresh); check both give the same status, message tail and rows, and the same parts
 * when same_parts (input in key order: parts are cut alike). Returns the status (message in
 * last_msg); *cut (nullable): .data objects present when the stream ended. */
static es_status load_both(es_store *s, const int64_t *ids, int64_t n, int same_parts, int64_t *cut)
{
    struct ArrowSchema sc = small_schema();
    es_table_drop(s, "a", 1);
    es_table_drop(s, "b", 1);
    CHECK_OK(es_table_create(s, "a", &sc, "id", 0));
    CHECK_OK(es_table_create(s, "b", &sc, "id", 0));
    int64_t before = count_objects(os, ".data", NULL, 0);
    struct ArrowArrayStream st;
    test_stream t;
    stream_of(&st, &t, ids, n, -1);
    es_status rc_a = es_insert(s, "a", &st);
    char *msg_a = last_msg;
    snprintf(msg_a, sizeof(last_msg), "%s", es_store_errmsg(s));
    if (cut)
        *cut = t.data_at_end - before;
    struct ArrowArray one;
    make_batch(&one, &sc, ids, n);
    es_status rc_b = es_insert_batch(s, "b", &sc, &one);
    CHECK_EQ_INT(rc_a, rc_b);
    if (rc_a) { /* the same message but for the table's name */
        const char *ma = strstr(msg_a, "': "), *mb = strstr(es_store_errmsg(s), "': ");
        CHECK(ma && mb && strcmp(ma, mb) == 0);
        if (!ma || !mb || strcmp(ma, mb) != 0)
            fprintf(stderr, "  stream: %s\n  one-shot: %s\n", msg_a, es_store_errmsg(s));
    }
    char *ra = table_state(s, "a", -1), *rb = table_state(s, "b", -1);
    CHECK(ra && rb && strcmp(ra, rb) == 0);
    if (same_parts)
        CHECK_EQ_INT(n_parts(s, "a"), n_parts(s, "b"));
    free(ra);
    free(rb);
    sc.release(&sc);
    return rc_a;
}

typedef struct id_check {
    const int64_t *want;
    int64_t n, k, bad;
} id_check;

static void check_id(void *ctx, const es_array_view *v, int64_t i)
{
    id_check *c = ctx;
    c->bad += c->k >= c->n || es_view_get_int(&v->children[0], i) != c->want[c->k];
    c->k++;
}

/* A scan of table returns exactly the ids want[0..n), in that order. */
static void check_ids(es_store *s, const char *table, const int64_t *want, int64_t n)
{
    es_scan_options so = ES_SCAN_OPTIONS_INIT;
    id_check c = {want, n, 0, 0};
    CHECK_EQ_INT(scan_rows(s, table, &so, check_id, &c), n);
    CHECK_EQ_INT(c.bad, 0);
}

static es_store *open_tiny(int threads)
{
    es_store *s = NULL;
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.batch_rows = 16;
    o.part_target_bytes = 4096; /* about 20 bytes a row: parts of 192 rows */
    o.compact_min_parts = 0;
    CHECK_OK(es_store_open(&s, uri, &o));
    CHECK_OK(es_store_set_threads(s, threads));
    return s;
}

/* open_tiny, with `table` (re)created empty: small_schema, primary key `key` (or none). */
static es_store *open_tiny_table(int threads, const char *table, const char *key)
{
    es_store *s = open_tiny(threads);
    struct ArrowSchema sc = small_schema();
    es_table_drop(s, table, 1);
    CHECK_OK(es_table_create(s, table, &sc, key, 0));
    sc.release(&sc);
    return s;
}

static void test_in_order(int threads)
{
    es_store *s = open_tiny(threads);
    int64_t n = 3000, *ids = malloc((size_t)n * sizeof(*ids)), cut = -1;
    for (int64_t i = 0; i < n; i++)
        ids[i] = 10 + 3 * i;
    CHECK_OK(load_both(s, ids, n, 1, &cut));
    CHECK_EQ_INT(live_rows(s, "a"), n);
    CHECK(n_parts(s, "a") >= 10);
    /* The parts were written while the stream was read: all but the rest (or the ones in flight,
     * at most `threads`) exist when it ends. */
    CHECK(cut >= n_parts(s, "a") - 1 - threads);
    /* Keys ascend across parts: a scan returns them in order. */
    check_ids(s, "a", ids, n);
    /* Keys already in the table: refused by the unique check, nothing added. */
    struct ArrowArrayStream st;
    test_stream t;
    stream_of(&st, &t, ids + 1000, 1000, -1);
    CHECK_EQ_INT(es_insert(s, "a", &st), ES_EXISTS);
    CHECK(strstr(es_store_errmsg(s), "a row with it exists") != NULL);
    CHECK_EQ_INT(live_rows(s, "a"), n);
    free(ids);
    es_store_close(s);
}

static void test_out_of_order(void)
{
    es_store *s = open_tiny(3);
    int64_t n = 3000, *ids = malloc((size_t)n * sizeof(*ids));
    /* 0..1499 ascending, then 3000..3999, then 1500..1999 (below the parts of 3000..) and
     * 2000..2499 shuffled. */
    for (int64_t i = 0; i < 1500; i++)
        ids[i] = i;
    for (int64_t i = 0; i < 1000; i++)
        ids[1500 + i] = 3000 + i;
    for (int64_t i = 0; i < 500; i++)
        ids[2500 + i] = 1500 + i;
    shuffle(ids + 2750, 250);
    CHECK_OK(load_both(s, ids, n, 0, NULL));
    CHECK_EQ_INT(live_rows(s, "a"), n);
    /* A key of a part already written again after the order broke. */
    ids[2900] = 700;
    CHECK_EQ_INT(load_both(s, ids, n, 0, NULL), ES_EXISTS);
    CHECK(strstr(last_msg, "id = 700 (twice among the rows written)") != NULL);
    CHECK_EQ_INT(live_rows(s, "a"), 0);
    /* A key repeated in order, where a part is cut or anywhere. */
    for (int64_t at = 150; at < 1500; at += 97) {
        for (int64_t i = 0; i < n; i++)
            ids[i] = i;
        ids[at] = ids[at - 1];
        CHECK_EQ_INT(load_both(s, ids, n, 1, NULL), ES_EXISTS);
        CHECK(strstr(last_msg, "(twice among the rows written)") != NULL);
        CHECK_EQ_INT(live_rows(s, "a"), 0);
    }
    /* Out of order from the first rows: the one-shot path, sorted. */
    for (int64_t i = 0; i < n; i++)
        ids[i] = i;
    shuffle(ids, n);
    CHECK_OK(load_both(s, ids, n, 1, NULL));
    free(ids);
    es_store_close(s);
}

static void test_no_key(void)
{
    es_store *s = open_tiny_table(2, "n", NULL);
    int64_t n = 2000, *ids = malloc((size_t)n * sizeof(*ids));
    for (int64_t i = 0; i < n; i++)
        ids[i] = (i * 7919) % n; /* a permutation: written as given */
    struct ArrowArrayStream st;
    test_stream t;
    stream_of(&st, &t, ids, n, -1);
    CHECK_OK(es_insert(s, "n", &st));
    CHECK(n_parts(s, "n") >= 10);
    /* In input order: a scan returns ids as given. */
    check_ids(s, "n", ids, n);
    free(ids);
    es_store_close(s);
}

static void test_failures(void)
{
    es_store *s = open_tiny_table(3, "f", "id");
    int64_t n = 3000, *ids = malloc((size_t)n * sizeof(*ids));
    for (int64_t i = 0; i < n; i++)
        ids[i] = i;
    int64_t v0 = version_of(s);
    struct ArrowArrayStream st;
    test_stream t;
    stream_of(&st, &t, ids, n, 100); /* parts are in flight by then */
    CHECK_EQ_INT(es_insert(s, "f", &st), ES_INVALID);
    CHECK(strstr(es_store_errmsg(s), "stream: the test's stream failed") != NULL);
    CHECK_EQ_INT(version_of(s), v0);
    stream_of(&st, &t, ids, n, 100);
    t.interrupt = s;
    CHECK_EQ_INT(es_insert(s, "f", &st), ES_INTERRUPTED);
    CHECK_EQ_INT(version_of(s), v0);
    CHECK_EQ_INT(live_rows(s, "f"), 0);
    /* The handle works on. */
    es_store_clear_interrupt(s);
    stream_of(&st, &t, ids, n, -1);
    CHECK_OK(es_insert(s, "f", &st));
    CHECK_EQ_INT(live_rows(s, "f"), n);
    free(ids);
    es_store_close(s);
}

/* The first row of sql's result as text ("a|b|..."). */
static void first_row(es_sql_session *q, const char *sql, char *out, size_t cap)
{
    es_sql_result r = ES_SQL_RESULT_INIT;
    struct ArrowSchema sc;
    struct ArrowArray a;
    out[0] = 0;
    CHECK_OK(es_sql_exec(q, sql, &r));
    if (r.stream.get_schema(&r.stream, &sc) == 0 && r.stream.get_next(&r.stream, &a) == 0 &&
        a.release) {
        es_array_view v;
        CHECK_OK(es_array_view_init(&v, &sc, &a, NULL));
        size_t off = 0;
        for (int64_t c = 0; c < v.n_children; c++) {
            char buf[64];
            int64_t n = 4;
            const char *t = "NULL";
            if (!es_view_is_null(&v.children[c], 0))
                t = es_sql_format_value(&v.children[c], 0, buf, sizeof buf, &n);
            off += (size_t)snprintf(out + off, cap - off, "%s%.*s", c ? "|" : "", (int)n, t);
        }
        es_array_view_reset(&v);
        a.release(&a);
        sc.release(&sc);
    }
    es_sql_result_reset(&r);
}

static void test_stats(void)
{
    es_store *s = open_tiny(2);
    es_sql_session *q = NULL;
    CHECK_OK(es_sql_session_open(&q, s));
    struct ArrowSchema sc;
    es_schema_init_struct(&sc, 4, NULL);
    es_schema_init(sc.children[0], "l", "id", 0, NULL);
    es_schema_init(sc.children[1], "i", "i", ARROW_FLAG_NULLABLE, NULL);
    es_schema_init(sc.children[2], "g", "d", ARROW_FLAG_NULLABLE, NULL);
    es_schema_init(sc.children[3], "tsu:", "t", ARROW_FLAG_NULLABLE, NULL);
    const int64_t ivals[] = {INT32_MIN, INT32_MAX, -1, 0, 5, -7};
    const double dvals[] = {NAN, -0.0, 0.0, 1.5, -3, INFINITY, -INFINITY};
    for (int round = 0; round < 12; round++) {
        es_table_drop(s, "st", 1);
        CHECK_OK(es_table_create(s, "st", &sc, "id", 0));
        es_builder *b = NULL;
        CHECK_OK(es_builder_new(&b, &sc, NULL));
        int64_t n = 100 + rn(400);
        for (int64_t k = 0; k < n; k++) {
            int mode = round % 4; /* 0: anything; 1: no NaN; 2: NaN or NULL only; 3: no NULL */
            es_builder_append_int(es_builder_child(b, 0), k);
            if (mode != 3 && rn(5) == 0)
                es_builder_append_null(es_builder_child(b, 1), 1);
            else
                es_builder_append_int(es_builder_child(b, 1), ivals[rn(6)]);
            int dk = mode == 1 ? 1 + rn(6) : mode == 2 ? (rn(2) ? 0 : -1) : rn(7);
            if (dk < 0 || (mode != 3 && rn(6) == 0))
                es_builder_append_null(es_builder_child(b, 2), 1);
            else
                es_builder_append_double(es_builder_child(b, 2), dvals[dk]);
            es_builder_append_int(es_builder_child(b, 3),
                                  (rnd() % 2000000000000LL) - 1000000000000LL);
            es_builder_append_struct(b);
        }
        struct ArrowArray arr;
        CHECK_OK(es_builder_finish(b, &arr, NULL));
        es_builder_free(b);
        struct ArrowArrayStream st;
        CHECK_OK(es_stream_from_batches(&st, &sc, &arr, 1, NULL));
        CHECK_OK(es_insert(s, "st", &st));
        char stats[512], scan[512];
        first_row(q, "SELECT min(i), max(i), min(d), max(d), min(t), max(t) FROM st", stats,
                  sizeof stats);
        first_row(q, "SELECT min(i), max(i), min(d), max(d), min(t), max(t) FROM st WHERE id >= 0",
                  scan, sizeof scan);
        CHECK_EQ_STR(stats, scan);
        first_row(q, "EXPLAIN SELECT min(i), max(i), min(d), max(d) FROM st", stats, sizeof stats);
        CHECK(strstr(stats, "STATISTICS") != NULL);
    }
    sc.release(&sc);
    es_sql_session_close(q);
    es_store_close(s);
}

int main(void)
{
    CHECK_OK(es_objstore_open(&os, uri, NULL));
    test_in_order(3);
    test_in_order(1);
    test_out_of_order();
    test_no_key();
    test_failures();
    test_stats();
    es_objstore_close(os);
    return CHECK_DONE();
}
