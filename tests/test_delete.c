/*
 * test_delete: deletes, updates and upserts on deletion vectors, end to end through the public
 * API, on mem://, on a local temporary directory and on ES_TEST_STORE_URI when set (the
 * loopback Ceph RGW, tests/s3.cmake). Concurrency, faults and allocation failures are in
 * test_delete_conflicts.
 *
 *  - basics: misuse codes; small vectors inline in the log, larger ones as .delta objects
 *    (keys, format 2 entries); request counts of a scan without a vector, with an inline one
 *    and with an object; a part whose rows are all deleted is removed; live row counts;
 *    checkpoints carry the vectors; a corrupt or missing .delta is ES_CORRUPT naming it;
 *    upsert's handling of repeated keys; set_dv entries decode strictly;
 *  - a randomized differential test against SQLite (int64 and utf8 primary keys, seven column
 *    types): inserts, deletes by random predicates, deletes by keys, updates (sometimes of the
 *    key) and upserts in both modes, comparing the whole table and the affected row counts
 *    after every operation, random predicate queries, and time travel to random earlier
 *    versions compared with the SQLite contents saved then.
 */
#include <sqlite3.h>

#include "delete_util.h"
#include "oracle_row.h"

/* --------------------------------------------------------------- basics */

static void test_misuse(es_store *s)
{
    struct ArrowSchema sc = small_schema();
    es_table_drop(s, "m", 1);
    es_table_drop(s, "nokey", 1);
    CHECK_OK(es_table_create(s, "m", &sc, "id", 0));
    CHECK_OK(es_table_create(s, "nokey", &sc, NULL, 0));
    CHECK_OK(insert_small(s, "m", 0, 50, 1));
    CHECK_OK(insert_small(s, "nokey", 0, 50, 1));
    int64_t n = -1, n2 = -1, v0 = version_of(s);
    CHECK_EQ_INT(es_delete(NULL, "m", NULL, &n), ES_INVALID);
    CHECK_EQ_INT(es_delete(s, NULL, NULL, &n), ES_INVALID);
    CHECK_EQ_INT(es_delete(s, "nosuch", NULL, &n), ES_NOT_FOUND);
    CHECK(strstr(es_store_errmsg(s), "nosuch") != NULL);
    es_expr *e = es_expr_cmp("nosuch", ES_EQ, vint(1));
    CHECK_EQ_INT(es_delete(s, "m", e, &n), ES_INVALID);
    es_expr_free(e);
    e = es_expr_cmp("s", ES_EQ, vint(1)); /* impossible literal */
    CHECK_EQ_INT(es_delete(s, "m", e, &n), ES_INVALID);
    es_expr_free(e);
    /* Keys: no primary key, two columns, a wrong type, a NULL stream. */
    int64_t keys[] = {1, 2, -1};
    CHECK_EQ_INT(delete_keys(s, "nokey", keys, 3, &n), ES_INVALID);
    {
        struct ArrowArrayStream st;
        struct ArrowSchema two = small_schema();
        struct ArrowArray arr;
        es_builder *b = NULL;
        es_builder_new(&b, &two, NULL);
        es_builder_finish(b, &arr, NULL);
        es_stream_from_batches(&st, &two, &arr, 1, NULL);
        CHECK_EQ_INT(es_delete_keys(s, "m", &st, &n), ES_INVALID);
        es_builder_free(b);
        two.release(&two);
        struct ArrowSchema one;
        es_schema_init_struct(&one, 1, NULL);
        es_schema_init(one.children[0], "i", "k", 0, NULL);
        b = NULL;
        es_builder_new(&b, &one, NULL);
        es_builder_append_int(es_builder_child(b, 0), 3);
        es_builder_append_struct(b);
        es_builder_finish(b, &arr, NULL);
        es_stream_from_batches(&st, &one, &arr, 1, NULL);
        CHECK_EQ_INT(es_delete_keys(s, "m", &st, &n), ES_INVALID);
        CHECK(strstr(es_store_errmsg(s), "key") != NULL);
        es_builder_free(b);
        one.release(&one);
        CHECK_EQ_INT(es_delete_keys(s, "m", NULL, &n), ES_INVALID);
    }
    /* Update: no callback, a wrong length, a failing callback. Nothing committed. */
    small_update u = {1, "x", 0, ES_OK, 0};
    CHECK_EQ_INT(es_update(s, "m", NULL, NULL, NULL, &n), ES_INVALID);
    u.wrong_length = 1;
    CHECK_EQ_INT(es_update(s, "m", NULL, small_update_fn, &u, &n), ES_INVALID);
    u.wrong_length = 0;
    u.fail = ES_UNSUPPORTED;
    CHECK_EQ_INT(es_update(s, "m", NULL, small_update_fn, &u, &n), ES_UNSUPPORTED);
    CHECK(strstr(es_store_errmsg(s), "callback says no") != NULL);
    CHECK_EQ_INT(es_update(s, "nosuch", NULL, small_update_fn, &u, &n), ES_NOT_FOUND);
    /* Upsert: no primary key, an unknown mode, a missing key column. */
    int64_t ids[] = {1, 100}, vals[] = {7, 8};
    CHECK_EQ_INT(upsert_small(s, "nokey", ids, vals, 2, ES_UPSERT_REPLACE, &n, &n2), ES_INVALID);
    CHECK_EQ_INT(upsert_small(s, "m", ids, vals, 2, (es_upsert_mode)7, &n, &n2), ES_INVALID);
    {
        struct ArrowSchema one;
        es_schema_init_struct(&one, 1, NULL);
        es_schema_init(one.children[0], "i", "v", ARROW_FLAG_NULLABLE, NULL);
        es_builder *b = NULL;
        es_builder_new(&b, &one, NULL);
        es_builder_append_int(es_builder_child(b, 0), 3);
        es_builder_append_struct(b);
        struct ArrowArray arr;
        es_builder_finish(b, &arr, NULL);
        struct ArrowArrayStream st;
        es_stream_from_batches(&st, &one, &arr, 1, NULL);
        CHECK_EQ_INT(es_upsert(s, "m", &st, ES_UPSERT_REPLACE, &n, &n2), ES_INVALID);
        es_builder_free(b);
        one.release(&one);
    }
    /* A predicate whose construction failed (a bad operator, bytes NULL with a length, out of
     * memory, inside a combinator) is refused: never read as NULL, "every row". */
    es_value nobytes = {ES_VALUE_BYTES, 0, 0, NULL, 5};
    es_expr *failed[] = {
        es_expr_cmp("id", (es_cmp_op)77, vint(1)),
        es_expr_cmp("s", ES_EQ, nobytes),
        es_expr_in("id", NULL, 3),
        es_expr_and(es_expr_cmp("id", ES_LT, vint(5)), es_expr_cmp(NULL, ES_EQ, vint(1))),
        es_expr_not(es_expr_or(NULL, es_expr_is_null("v", 0))),
        NULL,
    };
    es_util_alloc_fail_at(1, 0);
    failed[5] = es_expr_cmp("id", ES_LT, vint(5));
    es_util_alloc_fail_at(0, 0);
    for (int i = 0; i < 6; i++) {
        CHECK(failed[i] != NULL);
        CHECK_EQ_INT(es_delete(s, "m", failed[i], &n), ES_INVALID);
        CHECK(strstr(es_store_errmsg(s), "es_expr_* call failed") != NULL);
        small_update fu = {1, "x", 0, ES_OK, 0};
        CHECK_EQ_INT(es_update(s, "m", failed[i], small_update_fn, &fu, &n), ES_INVALID);
        es_expr_free(failed[i]);
    }
    CHECK_EQ_INT(version_of(s), v0);
    CHECK_EQ_INT(live_rows(s, "m"), 50);
    /* A delete that matches nothing commits nothing. */
    e = es_expr_cmp("id", ES_GT, vint(1000));
    CHECK_OK(es_delete(s, "m", e, &n));
    CHECK_EQ_INT(n, 0);
    es_expr_free(e);
    CHECK_EQ_INT(version_of(s), v0);
    /* Deletes on a table without a primary key work by predicate. */
    e = es_expr_cmp("id", ES_LT, vint(10));
    CHECK_OK(es_delete(s, "nokey", e, &n));
    CHECK_EQ_INT(n, 10);
    es_expr_free(e);
    CHECK_EQ_INT(live_rows(s, "nokey"), 40);
    CHECK_OK(es_table_drop(s, "nokey", 0));
    CHECK_OK(es_table_drop(s, "m", 0));
    sc.release(&sc);
}

/* small_update_fn, after checking that column s (not read) is all NULL. */
static es_status unread_s_fn(void *ctx, const struct ArrowSchema *schema,
                             const struct ArrowArray *rows, struct ArrowArray *out, es_error *err)
{
    es_array_view v;
    es_status st = es_array_view_init(&v, schema, rows, err);
    if (st)
        return st;
    int64_t nulls = 0, ids = 0;
    for (int64_t i = 0; i < v.length; i++) {
        nulls += es_view_is_null(&v.children[2], i);
        ids += es_view_get_int(&v.children[0], i) >= 200;
    }
    es_array_view_reset(&v);
    if (nulls != rows->length || ids != rows->length)
        return es_error_set(err, ES_INTERNAL, 0, "column s was read");
    return small_update_fn(ctx, schema, rows, out, err);
}

static void test_basics(const char *uri)
{
    es_store *s = NULL;
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.batch_rows = 100;
    CHECK_OK(es_store_open(&s, uri, &o));
    es_objstore *os = NULL;
    CHECK_OK(es_objstore_open(&os, uri, NULL));
    if (!s || !os)
        return;
    test_misuse(s);
    struct ArrowSchema sc = small_schema();
    es_table_drop(s, "b", 1);
    CHECK_OK(es_table_create(s, "b", &sc, "id", 0));
    /* A store without deletes writes format 1 entries only. */
    {
        char key[64];
        es_blob *blob = NULL;
        es_log_key(key, sizeof(key), version_of(s), 0);
        CHECK_OK(es_objstore_get(os, key, 0, UINT64_MAX, &blob, NULL));
        CHECK(blob && memmem(blob->data, blob->size, "\"format\":1,", 11) != NULL);
        es_blob_unref(blob);
    }
    CHECK_OK(insert_small(s, "b", 0, 1000, 1)); /* one part of 10 batches */
    int64_t v_full = version_of(s), rows;
    int64_t dv_before = count_objects(os, ".delta", NULL, 0);
    scan_requests(s, "b", &rows); /* the handle caches the part's .idx from now on */
    int64_t req_plain = scan_requests(s, "b", &rows);
    CHECK_EQ_INT(rows, 1000);

    /* One row: an inline vector, a format 2 entry, no object, no extra request. */
    int64_t n = -1;
    es_expr *e = es_expr_cmp("id", ES_EQ, vint(500));
    CHECK_OK(es_delete(s, "b", e, &n));
    es_expr_free(e);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(live_rows(s, "b"), 999);
    CHECK_EQ_INT(count_objects(os, ".delta", NULL, 0), dv_before);
    {
        char key[64];
        es_blob *blob = NULL;
        es_log_key(key, sizeof(key), version_of(s), 0);
        CHECK_OK(es_objstore_get(os, key, 0, UINT64_MAX, &blob, NULL));
        CHECK(blob && memmem(blob->data, blob->size, "\"format\":2,", 11) != NULL);
        CHECK(blob && memmem(blob->data, blob->size, "\"op\":\"set_dv\"", 13) != NULL);
        CHECK(blob && memmem(blob->data, blob->size, "\"dv_inline\":\"", 13) != NULL);
        es_blob_unref(blob);
    }
    int64_t req_inline = scan_requests(s, "b", &rows);
    CHECK_EQ_INT(rows, 999);
    CHECK_EQ_INT(req_inline, req_plain);
    /* Deleting it again deletes nothing. */
    int64_t again[] = {500};
    CHECK_OK(delete_keys(s, "b", again, 1, &n));
    CHECK_EQ_INT(n, 0);

    /* 300 scattered rows: a vector too large to inline, a .delta object named after the
     * part; one more GET per scan of the part. */
    int64_t keys[400], nk = 0;
    for (int64_t i = 0; i < 1000; i += 3)
        keys[nk++] = i;
    keys[nk++] = -1;   /* NULL: matches nothing */
    keys[nk++] = 3;    /* repeated */
    keys[nk++] = 5000; /* absent */
    CHECK_OK(delete_keys(s, "b", keys, nk, &n));
    CHECK_EQ_INT(n, 334);
    CHECK_EQ_INT(live_rows(s, "b"), 1000 - 335);
    char dvkey[1100] = "";
    CHECK_EQ_INT(count_objects(os, ".delta", dvkey, sizeof(dvkey)), dv_before + 1);
    CHECK(strstr(dvkey, "_part_") != NULL && strlen(dvkey) > 40);
    int64_t req_object = scan_requests(s, "b", &rows);
    CHECK_EQ_INT(rows, 665);
    CHECK_EQ_INT(req_object, req_plain + 1);
    printf("scan requests, one part of 10 batches: no vector %lld, inline vector %lld, .delta "
           "object %lld\n",
           (long long)req_plain, (long long)req_inline, (long long)req_object);
    /* A narrow query on a batch without deleted rows stays zero-copy-sized and correct. */
    {
        es_scan_options so = ES_SCAN_OPTIONS_INIT;
        e = es_expr_between("id", vint(600), vint(610));
        so.predicate = e;
        CHECK_EQ_INT(scan_rows(s, "b", &so, NULL, NULL), 11 - 4); /* 600, 603, 606, 609 deleted */
        es_expr_free(e);
    }
    /* Time travel: each version sees its own vector. */
    {
        es_scan_options so = ES_SCAN_OPTIONS_INIT;
        (void)so;
        strlist l;
        CHECK_OK(table_rows(s, "b", v_full, &l, NULL, 0));
        CHECK_EQ_INT(l.n, 1000);
        sl_free(&l);
        CHECK_OK(table_rows(s, "b", v_full + 1, &l, NULL, 0));
        CHECK_EQ_INT(l.n, 999);
        sl_free(&l);
        es_table_info info;
        CHECK_OK(es_table_describe(s, "b", v_full + 1, &info));
        CHECK_EQ_INT(info.n_rows, 999);
        es_table_info_reset(&info);
    }
    /* A corrupt .delta is ES_CORRUPT naming it, a missing one too; never wrong rows. */
    {
        es_blob *orig = NULL;
        CHECK_OK(es_objstore_get(os, dvkey, 0, UINT64_MAX, &orig, NULL));
        if (orig) {
            uint8_t *copy = malloc(orig->size);
            memcpy(copy, orig->data, orig->size);
            copy[orig->size / 2] ^= 0x10;
            CHECK_OK(es_objstore_put(os, dvkey, copy, orig->size, ES_PUT_ALWAYS, NULL, NULL, NULL));
            free(copy);
            strlist l;
            char msg[512];
            /* (s read the vector before: it keeps its verified copy and gives the right rows;
             * a new handle reads the object) */
            es_store *h = NULL;
            CHECK_OK(es_store_open(&h, uri, &o));
            CHECK_OK(table_rows(s, "b", -1, &l, msg, sizeof(msg)));
            CHECK_EQ_INT(l.n, 665);
            sl_free(&l);
            CHECK_EQ_INT(table_rows(h, "b", -1, &l, msg, sizeof(msg)), ES_CORRUPT);
            CHECK(strstr(msg, dvkey) != NULL);
            sl_free(&l);
            const char *del[] = {dvkey};
            CHECK_OK(es_objstore_delete(os, del, 1, NULL));
            CHECK_EQ_INT(table_rows(h, "b", -1, &l, msg, sizeof(msg)), ES_CORRUPT);
            CHECK(strstr(msg, dvkey) != NULL && strstr(msg, "missing") != NULL);
            sl_free(&l);
            es_store_close(h);
            CHECK_OK(es_objstore_put(os, dvkey, orig->data, orig->size, ES_PUT_ALWAYS, NULL, NULL,
                                     NULL));
            es_blob_unref(orig);
            CHECK_OK(table_rows(s, "b", -1, &l, msg, sizeof(msg)));
            CHECK_EQ_INT(l.n, 665);
            sl_free(&l);
        }
    }
    /* Update: the old rows get a vector, the new ones a new part. */
    {
        small_update u = {1000, "upd", 0, ES_OK, 0};
        e = es_expr_between("id", vint(100), vint(199));
        CHECK_OK(es_update(s, "b", e, small_update_fn, &u, &n));
        es_expr_free(e);
        CHECK_EQ_INT(n, 67); /* 100..199 but the 33 multiples of 3 */
        CHECK_EQ_INT(live_rows(s, "b"), 665);
        CHECK_EQ_INT(n_parts(s, "b"), 2);
        e = es_expr_cmp("s", ES_EQ, vstr("upd"));
        es_scan_options so = ES_SCAN_OPTIONS_INIT;
        so.predicate = e;
        struct ArrowArrayStream st;
        CHECK_OK(es_scan(s, "b", &so, &st));
        int64_t got = 0, bad = 0;
        struct ArrowSchema ssc;
        st.get_schema(&st, &ssc);
        for (;;) {
            struct ArrowArray a;
            if (st.get_next(&st, &a) != 0 || !a.release)
                break;
            es_array_view v;
            es_array_view_init(&v, &ssc, &a, NULL);
            for (int64_t i = 0; i < v.length; i++) {
                int64_t id = es_view_get_int(&v.children[0], i);
                bad += id < 100 || id > 199 || id % 3 == 0 ||
                       es_view_get_int(&v.children[1], i) != id % 1000 + 1000;
            }
            got += v.length;
            es_array_view_reset(&v);
            a.release(&a);
        }
        ssc.release(&ssc);
        st.release(&st);
        es_expr_free(e);
        CHECK_EQ_INT(got, 67);
        CHECK_EQ_INT(bad, 0);
    }
    /* es_update_cols: s (set by the callback) is not read, and arrives as NULLs. */
    {
        small_update u = {1, "cols", 0, ES_OK, 0};
        const char *cols[] = {"v", "id"}, *bad_cols[] = {"id", "nosuch"};
        e = es_expr_between("id", vint(200), vint(209));
        CHECK_EQ_INT(es_update_cols(s, "b", e, bad_cols, 2, small_update_fn, &u, &n), ES_NOT_FOUND);
        CHECK(strstr(es_store_errmsg(s), "nosuch") != NULL);
        CHECK_OK(es_update_cols(s, "b", e, cols, 2, unread_s_fn, &u, &n));
        es_expr_free(e);
        CHECK_EQ_INT(n, 7);
        CHECK_EQ_INT(live_rows(s, "b"), 665);
        strlist l;
        char msg[512];
        CHECK_OK(table_rows(s, "b", -1, &l, msg, sizeof(msg)));
        int64_t cols_rows = 0;
        for (int64_t i = 0; i < l.n; i++)
            cols_rows += strstr(l.s[i], "cols") != NULL;
        CHECK_EQ_INT(cols_rows, 7);
        sl_free(&l);
    }
    /* Upsert with repeated keys: the last under REPLACE, the first under DO NOTHING. */
    {
        int64_t ids[] = {5000, 7, 5000, 7, 6}, vals[] = {1, 2, 3, 4, 5}, ins = -1, upd = -1;
        /* 6 was deleted (6 % 3 == 0): inserted. 7 exists: replaced by the last row (v 4). */
        CHECK_OK(upsert_small(s, "b", ids, vals, 5, ES_UPSERT_REPLACE, &ins, &upd));
        CHECK_EQ_INT(ins, 2);
        CHECK_EQ_INT(upd, 1);
        int64_t ids2[] = {5001, 5001, 7, 8}, vals2[] = {10, 11, 12, 13};
        CHECK_OK(upsert_small(s, "b", ids2, vals2, 4, ES_UPSERT_DO_NOTHING, &ins, &upd));
        CHECK_EQ_INT(ins, 1);
        CHECK_EQ_INT(upd, 0);
        strlist l;
        CHECK_OK(table_rows(s, "b", -1, &l, NULL, 0));
        char *j = sl_join(&l);
        CHECK(strstr(j, "\n7|4|u7\n") != NULL);
        CHECK(strstr(j, "\n5000|3|u5000\n") != NULL);
        CHECK(strstr(j, "\n5001|10|u5001\n") != NULL);
        CHECK(strstr(j, "\n6|5|u6\n") != NULL);
        CHECK(strstr(j, "\n8|8|r8\n") != NULL);
        CHECK_EQ_INT(l.n, 665 + 3);
        free(j);
        sl_free(&l);
    }
    /* A part whose last live rows are deleted is removed, not kept with a full vector. */
    {
        int64_t parts0 = n_parts(s, "b");
        e = es_expr_cmp("s", ES_EQ, vstr("upd"));
        CHECK_OK(es_delete(s, "b", e, &n));
        es_expr_free(e);
        CHECK_EQ_INT(n, 67);
        CHECK_EQ_INT(n_parts(s, "b"), parts0 - 1);
    }
    /* Checkpoints carry the live vectors: enough commits for one, then a fresh handle. */
    {
        for (int i = 0; i < 12; i++) {
            int64_t k[] = {200 + i * 3 + 2};
            CHECK_OK(delete_keys(s, "b", k, 1, &n));
            CHECK_EQ_INT(n, 1);
        }
        char *want = table_state(s, "b", -1);
        es_store *h = NULL;
        CHECK_OK(es_store_open(&h, uri, NULL));
        char *got = h ? table_state(h, "b", -1) : NULL;
        CHECK(want && got && strcmp(want, got) == 0);
        CHECK_EQ_INT(live_rows(h, "b"), live_rows(s, "b"));
        free(want);
        free(got);
        es_store_close(h);
        int64_t v = version_of(s), c = v / 10 * 10;
        char key[64];
        es_blob *blob = NULL;
        es_log_key(key, sizeof(key), c, 1);
        CHECK_OK(es_objstore_get(os, key, 0, UINT64_MAX, &blob, NULL));
        CHECK(blob && memmem(blob->data, blob->size, "\"op\":\"set_dv\"", 13) != NULL);
        es_blob_unref(blob);
    }
    /* Delete everything: every part removed without reading any. */
    {
        int64_t live = live_rows(s, "b");
        CHECK_OK(es_delete(s, "b", NULL, &n));
        CHECK_EQ_INT(n, live);
        CHECK_EQ_INT(live_rows(s, "b"), 0);
        CHECK_EQ_INT(n_parts(s, "b"), 0);
        CHECK_OK(es_delete(s, "b", NULL, &n));
        CHECK_EQ_INT(n, 0);
    }
    CHECK_OK(es_table_drop(s, "b", 0));
    sc.release(&sc);
    es_objstore_close(os);
    es_store_close(s);
}

/* The log: set_dv round-trips; a set_dv in a format 1 entry, a bad key or a vector larger
 * than its part is ES_CORRUPT. */
static void test_entries(void)
{
    const char *good =
        "{\"format\":2,\"kind\":\"commit\",\"version\":3,\"txn\":\"0123456789abcdef\",\"time_ms\":"
        "1,"
        "\"actions\":[\n{\"op\":\"set_dv\",\"table_id\":\"00000000000000aa\",\"part\":"
        "\"00000000000000bb\",\"dv\":\"table_00000000000000aa/"
        "table_00000000000000aa_part_00000000000000bb_00000000000000cc.delta\",\"dv_bytes\":45,"
        "\"dv_crc\":\"0a0b0c0d\",\"deleted\":6},\n{\"op\":\"set_dv\",\"table_id\":"
        "\"00000000000000aa\",\"part\":\"00000000000000bb\",\"dv_inline\":\"00\",\"deleted\":1}]";
    char buf[2048];
    es_entry e;
    for (int variant = 0; variant < 5; variant++) {
        snprintf(buf, sizeof(buf), "%s", good);
        if (variant == 1)
            memcpy(strstr(buf, "\"format\":2"), "\"format\":1", 10);
        if (variant == 2)
            memcpy(strstr(buf, "cc.delta"), "cc.dexta", 8);
        if (variant == 3)
            memcpy(strstr(buf, "part_00000000000000bb_"), "part_00000000000000bc_", 22);
        if (variant == 4)
            memcpy(strstr(buf, "\"deleted\":6"), "\"deleted\":0", 11);
        size_t len = strlen(buf);
        uint32_t crc = es_crc32c(0, buf, len);
        snprintf(buf + len, sizeof(buf) - len, ",\"crc\":\"%08x\"}\n", crc);
        es_status st = es_entry_decode(&e, (const uint8_t *)buf, strlen(buf), "entry", NULL);
        if (variant == 0) {
            CHECK_OK(st);
            CHECK_EQ_INT(e.n_actions, 2);
            CHECK(e.n_actions == 2 && e.actions[0].kind == ES_ACT_SET_DV &&
                  e.actions[0].dv->deleted == 6 && e.actions[0].dv->crc == 0x0a0b0c0d &&
                  strcmp(e.actions[0].dv->id, "00000000000000cc") == 0 &&
                  e.actions[1].dv->blob_len == 1);
            /* Re-encoding gives the same actions. */
            es_buf out = {0};
            CHECK_OK(es_entry_encode(&out, &e, NULL));
            CHECK(out.len > 0 && memmem(out.data, out.len, strstr(good, "{\"op\""), 200) != NULL);
            es_buf_reset(&out);
            es_entry_reset(&e);
        } else {
            CHECK_EQ_INT(st, ES_CORRUPT);
        }
    }
}

/* ------------------------------------------------- differential vs SQLite */

#define N_OC 7
static const char *oc_names[N_OC] = {"id", "a", "b", "c", "d", "t", "f"};
static const char *oc_fmts[N_OC] = {"l", "i", "g", "u", "S", "tsu:", "b"};

typedef struct oracle {
    es_store *s;
    sqlite3 *db;
    int str_key;
    struct ArrowSchema sc;
    int64_t mismatches;
} oracle;

static void key_text(char *out, size_t cap, int str_key, int64_t id)
{
    if (str_key)
        snprintf(out, cap, "'k%010lld'", (long long)id);
    else
        snprintf(out, cap, "%lld", (long long)id);
}

static void append_key(es_builder *b, int str_key, int64_t id)
{
    if (str_key) {
        char k[32];
        snprintf(k, sizeof(k), "k%010lld", (long long)id);
        es_builder_append_bytes(b, k, (int64_t)strlen(k));
    } else {
        es_builder_append_int(b, id);
    }
}

/* One random row: appended to the builder and bound to the SQLite statement. */
static void random_row(es_builder *b, sqlite3_stmt *ins, int str_key, int64_t id)
{
    sqlite3_reset(ins);
    append_key(es_builder_child(b, 0), str_key, id);
    if (str_key) {
        char k[32];
        snprintf(k, sizeof(k), "k%010lld", (long long)id);
        sqlite3_bind_text(ins, 1, k, -1, SQLITE_TRANSIENT);
    } else {
        sqlite3_bind_int64(ins, 1, id);
    }
    for (int c = 1; c < N_OC; c++)
        oracle_random_value(es_builder_child(b, c), ins, c, oc_fmts[c]);
    es_builder_append_struct(b);
}

static es_expr *random_pred(int str_key, char *sql, size_t cap, int depth)
{
    oracle_cols o = {oc_names, oc_fmts, N_OC, str_key, 3000, 1};
    return oracle_random_pred(&o, sql, cap, depth);
}

/* The SQLite table as row strings in the format of table_rows. */
static char *sqlite_state(sqlite3 *db)
{
    strlist l = {0};
    sqlite3_stmt *q = NULL;
    sqlite3_prepare_v2(db, "SELECT id,a,b,c,d,t,f FROM t", -1, &q, NULL);
    while (sqlite3_step(q) == SQLITE_ROW) {
        char row[1024];
        size_t off = 0;
        for (int c = 0; c < N_OC; c++) {
            char val[256];
            switch (sqlite3_column_type(q, c)) {
            case SQLITE_NULL:
                snprintf(val, sizeof(val), "N");
                break;
            case SQLITE_INTEGER:
                snprintf(val, sizeof(val), "%lld", (long long)sqlite3_column_int64(q, c));
                break;
            case SQLITE_FLOAT:
                snprintf(val, sizeof(val), "%.17g", sqlite3_column_double(q, c));
                break;
            default:
                snprintf(val, sizeof(val), "%s", (const char *)sqlite3_column_text(q, c));
                break;
            }
            off += (size_t)snprintf(row + off, sizeof(row) - off, "%s%s", c ? "|" : "", val);
        }
        sl_add(&l, row);
    }
    sqlite3_finalize(q);
    char *j = sl_join(&l);
    sl_free(&l);
    return j;
}

static int64_t sql_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *q = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_type(q, 0) == SQLITE_NULL ? INT64_MIN : sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return v;
}

/* Ids of the SQLite table (as numbers), in random order, at most max. */
static int64_t sql_ids(sqlite3 *db, int str_key, int64_t *out, int64_t max)
{
    sqlite3_stmt *q = NULL;
    int64_t n = 0;
    sqlite3_prepare_v2(db,
                       str_key ? "SELECT CAST(substr(id,2) AS INTEGER) FROM t ORDER BY random()"
                               : "SELECT id FROM t ORDER BY random()",
                       -1, &q, NULL);
    while (n < max && sqlite3_step(q) == SQLITE_ROW)
        out[n++] = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return n;
}

static int64_t sql_exists(sqlite3 *db, int str_key, int64_t id)
{
    char sql[128], k[40];
    key_text(k, sizeof(k), str_key, id);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM t WHERE id = %s", k);
    return sql_int(db, sql);
}

/* Update callback of the oracle: a += add (NULL stays NULL), c = tag, key += key_off. */
typedef struct oracle_update {
    int str_key;
    int64_t add, key_off;
    char tag[16];
} oracle_update;

static es_status oracle_row(void *ctx, es_builder *b, const es_array_view *v, int64_t i)
{
    const oracle_update *u = ctx;
    if (u->key_off == 0) {
        copy_value(es_builder_child(b, 0), &v->children[0], i);
    } else if (u->str_key) {
        int64_t len;
        const uint8_t *p = es_view_get_bytes(&v->children[0], i, &len);
        char k[32];
        snprintf(k, sizeof(k), "%.*s", (int)len, (const char *)p);
        append_key(es_builder_child(b, 0), 1, strtoll(k + 1, NULL, 10) + u->key_off);
    } else {
        es_builder_append_int(es_builder_child(b, 0),
                              es_view_get_int(&v->children[0], i) + u->key_off);
    }
    if (es_view_is_null(&v->children[1], i))
        es_builder_append_null(es_builder_child(b, 1), 1);
    else
        es_builder_append_int(es_builder_child(b, 1), es_view_get_int(&v->children[1], i) + u->add);
    copy_value(es_builder_child(b, 2), &v->children[2], i);
    es_builder_append_bytes(es_builder_child(b, 3), u->tag, (int64_t)strlen(u->tag));
    for (int c = 4; c < N_OC; c++)
        copy_value(es_builder_child(b, c), &v->children[c], i);
    return ES_OK;
}

static es_status oracle_update_fn(void *ctx, const struct ArrowSchema *schema,
                                  const struct ArrowArray *rows, struct ArrowArray *out,
                                  es_error *err)
{
    return remake_rows(out, schema, rows, 0, oracle_row, ctx, err);
}

typedef struct saved_state {
    int64_t version;
    char *rows;
    int64_t n_rows;
} saved_state;

static void oracle_mismatch(oracle *o, const char *what, const char *detail)
{
    o->mismatches++;
    if (o->mismatches <= 5)
        fprintf(stderr, "oracle mismatch after %s: %s (%s)\n", what, detail, es_store_errmsg(o->s));
}

/* Check a random predicate query against SQLite. */
static void oracle_query(oracle *o)
{
    char where[4096], sql[4200];
    es_expr *e = random_pred(o->str_key, where, sizeof(where), 0);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM t WHERE %s", where);
    int64_t want = sql_int(o->db, sql);
    es_scan_options so = ES_SCAN_OPTIONS_INIT;
    const char *proj[] = {"id"};
    so.columns = proj;
    so.n_columns = 1;
    so.predicate = e;
    int64_t got = scan_rows(o->s, "t", &so, NULL, NULL);
    if (got != want) {
        char d[4300];
        snprintf(d, sizeof(d), "query %s: sqlite %lld, expstore %lld", where, (long long)want,
                 (long long)got);
        oracle_mismatch(o, "query", d);
    }
    es_expr_free(e);
}

static void test_oracle(const char *uri, int str_key, int n_ops)
{
    oracle o;
    memset(&o, 0, sizeof(o));
    o.str_key = str_key;
    es_open_options opt = ES_OPEN_OPTIONS_INIT;
    opt.batch_rows = 16;
    CHECK_OK(es_store_open(&o.s, uri, &opt));
    if (!o.s)
        return;
    CHECK_EQ_INT(sqlite3_open(":memory:", &o.db), SQLITE_OK);
    sqlite3_exec(o.db,
                 str_key ? "CREATE TABLE t(id TEXT PRIMARY KEY, a INTEGER, b REAL, c TEXT, d "
                           "INTEGER, t INTEGER, f INTEGER)"
                         : "CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER, b REAL, c TEXT, d "
                           "INTEGER, t INTEGER, f INTEGER)",
                 NULL, NULL, NULL);
    sqlite3_stmt *ins = NULL, *rep = NULL, *ign = NULL;
    sqlite3_prepare_v2(o.db, "INSERT INTO t VALUES(?,?,?,?,?,?,?)", -1, &ins, NULL);
    sqlite3_prepare_v2(o.db, "INSERT OR REPLACE INTO t VALUES(?,?,?,?,?,?,?)", -1, &rep, NULL);
    sqlite3_prepare_v2(o.db, "INSERT OR IGNORE INTO t VALUES(?,?,?,?,?,?,?)", -1, &ign, NULL);
    CHECK_OK(es_schema_init_struct(&o.sc, N_OC, NULL));
    for (int i = 0; i < N_OC; i++)
        CHECK_OK(es_schema_init(o.sc.children[i], i == 0 && str_key ? "u" : oc_fmts[i], oc_names[i],
                                i ? ARROW_FLAG_NULLABLE : 0, NULL));
    es_table_drop(o.s, "t", 1);
    CHECK_OK(es_table_create(o.s, "t", &o.sc, "id", 0));
    es_builder *b = NULL;
    CHECK_OK(es_builder_new(&b, &o.sc, NULL));
    saved_state *saved = calloc((size_t)n_ops + 1, sizeof(saved_state));
    int64_t n_saved = 0, next_fresh = 0;
    int64_t counts[6] = {0};
    for (int op = 0; op < n_ops; op++) {
        int kind = (int)rnd_in(0, 99);
        char what[64] = "";
        es_status rc = ES_OK;
        int64_t n = -1, want = -2;
        if (kind < 22 || op < 3) {
            /* Insert: fresh ids, sometimes ids deleted earlier again. */
            snprintf(what, sizeof(what), "insert");
            counts[0]++;
            int64_t rows = rnd_in(1, 150);
            for (int64_t r = 0; r < rows; r++) {
                int64_t id;
                if (rnd() % 4 == 0 && next_fresh > 10) {
                    id = rnd_in(0, next_fresh - 1);
                    if (sql_exists(o.db, str_key, id) != 0)
                        continue;
                } else {
                    id = next_fresh;
                    next_fresh += rnd_in(1, 3);
                }
                random_row(b, ins, str_key, id);
                if (sqlite3_step(ins) != SQLITE_DONE)
                    oracle_mismatch(&o, "insert", sqlite3_errmsg(o.db));
            }
            struct ArrowArray arr;
            CHECK_OK(es_builder_finish(b, &arr, NULL));
            if (arr.length > 0)
                rc = es_insert_batch(o.s, "t", &o.sc, &arr);
            else
                es_array_release(&arr);
        } else if (kind < 45) {
            /* Delete by a random predicate, now and then everything. */
            counts[1]++;
            char where[4096], sql[4200];
            es_expr *e = NULL;
            if (rnd() % 40 == 0) {
                snprintf(where, sizeof(where), "1");
            } else {
                e = random_pred(str_key, where, sizeof(where), 0);
            }
            snprintf(what, sizeof(what), "delete");
            snprintf(sql, sizeof(sql), "DELETE FROM t WHERE %s", where);
            sqlite3_exec(o.db, sql, NULL, NULL, NULL);
            want = sqlite3_changes(o.db);
            rc = es_delete(o.s, "t", e, &n);
            es_expr_free(e);
        } else if (kind < 55) {
            /* Delete by keys: existing, absent, repeated and NULL keys. */
            counts[2]++;
            snprintf(what, sizeof(what), "delete keys");
            int64_t ids[64], m = sql_ids(o.db, str_key, ids, rnd_in(1, 40));
            if (m > 0 && rnd() % 2)
                ids[m++] = ids[0];
            ids[m++] = next_fresh + 7; /* absent */
            struct ArrowSchema ksc;
            es_schema_init_struct(&ksc, 1, NULL);
            es_schema_init(ksc.children[0], str_key ? "u" : "l", "whatever", ARROW_FLAG_NULLABLE,
                           NULL);
            es_builder *kb = NULL;
            es_builder_new(&kb, &ksc, NULL);
            char sql[8192];
            int off = snprintf(sql, sizeof(sql), "DELETE FROM t WHERE id IN (");
            for (int64_t i = 0; i < m; i++) {
                char k[40];
                append_key(es_builder_child(kb, 0), str_key, ids[i]);
                es_builder_append_struct(kb);
                key_text(k, sizeof(k), str_key, ids[i]);
                off += snprintf(sql + off, sizeof(sql) - (size_t)off, "%s%s", i ? "," : "", k);
            }
            es_builder_append_null(es_builder_child(kb, 0), 1);
            es_builder_append_struct(kb);
            snprintf(sql + off, sizeof(sql) - (size_t)off, ")");
            sqlite3_exec(o.db, sql, NULL, NULL, NULL);
            want = sqlite3_changes(o.db);
            struct ArrowArray arr;
            es_builder_finish(kb, &arr, NULL);
            struct ArrowArrayStream st;
            es_stream_from_batches(&st, &ksc, &arr, 1, NULL);
            rc = es_delete_keys(o.s, "t", &st, &n);
            es_builder_free(kb);
            ksc.release(&ksc);
        } else if (kind < 75) {
            /* Update by a random predicate; one in four also moves the keys. */
            counts[3]++;
            snprintf(what, sizeof(what), "update");
            char where[4096], sql[4400];
            es_expr *e = random_pred(str_key, where, sizeof(where), 0);
            oracle_update u;
            memset(&u, 0, sizeof(u));
            u.str_key = str_key;
            u.add = rnd_in(-5, 5);
            snprintf(u.tag, sizeof(u.tag), "u%d", op);
            if (rnd() % 4 == 0) {
                char q[4300];
                snprintf(q, sizeof(q), "SELECT min(%s) FROM t WHERE %s",
                         str_key ? "CAST(substr(id,2) AS INTEGER)" : "id", where);
                int64_t lo = sql_int(o.db, q);
                int64_t hi = sql_int(o.db, str_key ? "SELECT max(CAST(substr(id,2) AS INTEGER)) "
                                                     "FROM t"
                                                   : "SELECT max(id) FROM t");
                if (lo != INT64_MIN && hi != INT64_MIN && hi >= lo)
                    u.key_off = hi - lo + 1;
                if (hi + u.key_off > 2000000000)
                    u.key_off = 0;
            }
            char setkey[128] = "";
            if (u.key_off)
                snprintf(setkey, sizeof(setkey),
                         str_key ? ", id = printf('k%%010d', CAST(substr(id,2) AS INTEGER) + %lld)"
                                 : ", id = id + %lld",
                         (long long)u.key_off);
            snprintf(sql, sizeof(sql), "UPDATE t SET a = a + %lld, c = '%s'%s WHERE %s",
                     (long long)u.add, u.tag, setkey, where);
            if (sqlite3_exec(o.db, sql, NULL, NULL, NULL) != SQLITE_OK)
                oracle_mismatch(&o, "update", sqlite3_errmsg(o.db));
            want = sqlite3_changes(o.db);
            rc = es_update(o.s, "t", e, oracle_update_fn, &u, &n);
            es_expr_free(e);
            if (u.key_off) {
                int64_t hi = sql_int(o.db, str_key ? "SELECT max(CAST(substr(id,2) AS INTEGER)) "
                                                     "FROM t"
                                                   : "SELECT max(id) FROM t");
                if (hi >= next_fresh)
                    next_fresh = hi + 1;
            }
        } else if (kind < 95) {
            /* Upsert: some existing keys, some new ones, distinct within the input. */
            counts[4]++;
            es_upsert_mode mode = rnd() % 2 ? ES_UPSERT_REPLACE : ES_UPSERT_DO_NOTHING;
            snprintf(what, sizeof(what), "upsert %s",
                     mode == ES_UPSERT_REPLACE ? "replace" : "do nothing");
            int64_t ids[128], m = sql_ids(o.db, str_key, ids, rnd_in(0, 30));
            int64_t existing = m;
            int64_t fresh = rnd_in(0, 40);
            for (int64_t i = 0; i < fresh; i++) {
                ids[m++] = next_fresh;
                next_fresh += rnd_in(1, 3);
            }
            sqlite3_stmt *q = mode == ES_UPSERT_REPLACE ? rep : ign;
            for (int64_t i = 0; i < m; i++) {
                random_row(b, q, str_key, ids[i]);
                sqlite3_step(q);
            }
            struct ArrowArray arr;
            CHECK_OK(es_builder_finish(b, &arr, NULL));
            struct ArrowArrayStream st;
            es_stream_from_batches(&st, &o.sc, &arr, 1, NULL);
            int64_t got_ins = -1, got_upd = -1;
            rc = es_upsert(o.s, "t", &st, mode, &got_ins, &got_upd);
            if (rc == ES_OK &&
                (got_ins != fresh || got_upd != (mode == ES_UPSERT_REPLACE ? existing : 0))) {
                char d[128];
                snprintf(d, sizeof(d), "counts %lld/%lld, want %lld/%lld", (long long)got_ins,
                         (long long)got_upd, (long long)fresh,
                         (long long)(mode == ES_UPSERT_REPLACE ? existing : 0));
                oracle_mismatch(&o, what, d);
            }
        } else {
            counts[5]++;
            snprintf(what, sizeof(what), "queries");
            for (int q = 0; q < 5; q++)
                oracle_query(&o);
            continue;
        }
        if (rc != ES_OK) {
            oracle_mismatch(&o, what, es_status_name(rc));
            continue;
        }
        if (want != -2 && n != want) {
            char d[128];
            snprintf(d, sizeof(d), "%lld rows affected, sqlite %lld", (long long)n,
                     (long long)want);
            oracle_mismatch(&o, what, d);
        }
        char *mine = table_state(o.s, "t", -1), *theirs = sqlite_state(o.db);
        if (!mine || strcmp(mine, theirs) != 0) {
            char d[256];
            snprintf(d, sizeof(d), "table differs (expstore %zu bytes, sqlite %zu)",
                     mine ? strlen(mine) : 0, strlen(theirs));
            oracle_mismatch(&o, what, d);
        }
        int64_t cnt = sql_int(o.db, "SELECT count(*) FROM t");
        if (live_rows(o.s, "t") != cnt)
            oracle_mismatch(&o, what, "describe n_rows");
        free(mine);
        saved[n_saved].version = version_of(o.s);
        saved[n_saved].rows = theirs;
        saved[n_saved].n_rows = cnt;
        n_saved++;
        if (rnd() % 4 == 0)
            oracle_query(&o);
    }
    /* Time travel to random earlier versions. */
    int travels = 0;
    for (int k = 0; k < 12 && n_saved > 0; k++) {
        saved_state *sv = &saved[rnd_in(0, n_saved - 1)];
        char *then = table_state(o.s, "t", sv->version);
        if (!then || strcmp(then, sv->rows) != 0) {
            char d[64];
            snprintf(d, sizeof(d), "version %lld", (long long)sv->version);
            oracle_mismatch(&o, "time travel", d);
        }
        es_table_info info;
        if (es_table_describe(o.s, "t", sv->version, &info) == ES_OK) {
            if (info.n_rows != sv->n_rows)
                oracle_mismatch(&o, "time travel", "describe n_rows");
            es_table_info_reset(&info);
        }
        free(then);
        travels++;
    }
    /* A fresh handle (through a checkpoint) sees the same table. */
    {
        es_store *h = NULL;
        CHECK_OK(es_store_open(&h, uri, NULL));
        char *mine = h ? table_state(h, "t", -1) : NULL, *theirs = sqlite_state(o.db);
        if (!mine || strcmp(mine, theirs) != 0)
            oracle_mismatch(&o, "reopen", "table differs");
        free(mine);
        free(theirs);
        es_store_close(h);
    }
    CHECK_EQ_INT(o.mismatches, 0);
    printf("oracle (%s key): %d operations (%lld inserts, %lld deletes, %lld key deletes, %lld "
           "updates, %lld upserts, %lld query rounds), %lld rows, %lld parts, %d time travels\n",
           str_key ? "utf8" : "int64", n_ops, (long long)counts[0], (long long)counts[1],
           (long long)counts[2], (long long)counts[3], (long long)counts[4], (long long)counts[5],
           (long long)live_rows(o.s, "t"), (long long)n_parts(o.s, "t"), travels);
    for (int64_t i = 0; i < n_saved; i++)
        free(saved[i].rows);
    free(saved);
    es_builder_free(b);
    sqlite3_finalize(ins);
    sqlite3_finalize(rep);
    sqlite3_finalize(ign);
    sqlite3_close(o.db);
    CHECK_OK(es_table_drop(o.s, "t", 0));
    o.sc.release(&o.sc);
    es_store_close(o.s);
}

/* ------------------------------------------------------------------- main */

int main(void)
{
    seed_from_env();
    TIMED(test_entries());
    const char *env = getenv("ES_TEST_STORE_URI");
    if (env && *env) {
        printf("== %s\n", env);
        TIMED(test_basics(env));
        TIMED(test_oracle(env, 0, 40));
        return CHECK_DONE();
    }
    printf("== mem://\n");
    es_objstore_mem_drop("test_delete");
    TIMED(test_basics("mem://test_delete"));
    TIMED(test_oracle("mem://test_delete", 0, 600));
    TIMED(test_oracle("mem://test_delete", 1, 400));
    char dir[] = "/tmp/es_test_delete_XXXXXX";
    if (mkdtemp(dir)) {
        printf("== %s\n", dir);
        TIMED(test_basics(dir));
        TIMED(test_oracle(dir, 0, 150));
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", dir);
    }
    return CHECK_DONE();
}
