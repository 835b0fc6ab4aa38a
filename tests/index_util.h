/*
 * index_util.h: helpers test_index and test_index_lookup share (static functions in a header,
 * like check.h): a store and SQL session beside an in-memory SQLite database ("both engines"),
 * a statement's rows as "a|b" lines on either side, a statement run on both (failing on both
 * or on neither) and a query that must give the same rows on both; a store's objects of one
 * kind replaced by damaged copies.
 */
#ifndef ES_TEST_INDEX_UTIL_H
#define ES_TEST_INDEX_UTIL_H

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "objstore/objstore.h"
#include "table/table.h"
#include "testutil.h"
#include "expstore/expstore.h"
#include "expstore/sql.h"

#pragma GCC diagnostic ignored "-Wunused-function"

typedef struct side {
    es_store *store;
    es_sql_session *ses;
    sqlite3 *db;
} side;

static void side_open(side *d, const char *uri, int batch_rows)
{
    memset(d, 0, sizeof(*d));
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.batch_rows = batch_rows;
    o.part_target_bytes = 4096; /* many parts */
    CHECK_OK(es_store_open(&d->store, uri, &o));
    if (d->store)
        CHECK_OK(es_sql_session_open(&d->ses, d->store));
    CHECK(sqlite3_open(":memory:", &d->db) == SQLITE_OK);
}

/* Like side_open, on mem://<name> emptied first, with the default part size and batches of
 * batch_rows rows: plain (comp 0), ZSTD (1) or ZSTD in paged parts of 4 pages a batch (2). */
static void side_open_comp(side *d, const char *name, int batch_rows, int comp)
{
    char uri[64];
    snprintf(uri, sizeof uri, "mem://%s", name);
    es_objstore_mem_drop(name);
    memset(d, 0, sizeof(*d));
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.batch_rows = batch_rows;
    o.batch_pages = comp == 2 ? 4 : 1;
    o.compression = comp ? ES_COMPRESS_ZSTD : ES_COMPRESS_NONE;
    CHECK_OK(es_store_open(&d->store, uri, &o));
    if (d->store)
        CHECK_OK(es_sql_session_open(&d->ses, d->store));
    CHECK(sqlite3_open(":memory:", &d->db) == SQLITE_OK);
}

static void side_close(side *d)
{
    es_sql_session_close(d->ses);
    es_store_close(d->store);
    sqlite3_close(d->db);
}

/* Ours: the rows of a statement as "a|b\n" lines (NULL as NULL), or "error: message". */
static char *es_text(side *d, const char *sql, es_status *st_out)
{
    sbuf out = {0};
    sb_printf(&out, "%s", "");
    es_sql_result r = ES_SQL_RESULT_INIT;
    es_status st = es_sql_exec(d->ses, sql, &r);
    if (st_out)
        *st_out = st;
    if (st != ES_OK) {
        sb_printf(&out, "error: %s", es_sql_errmsg(d->ses));
        return out.p;
    }
    while (r.has_rows) {
        struct ArrowArray a;
        struct ArrowSchema sc;
        if (r.stream.get_schema(&r.stream, &sc) != 0)
            break;
        if (r.stream.get_next(&r.stream, &a) != 0 || !a.release) {
            sc.release(&sc);
            break;
        }
        es_array_view v;
        if (es_array_view_init(&v, &sc, &a, NULL) == ES_OK) {
            for (int64_t i = 0; i < v.length; i++) {
                for (int64_t c = 0; c < v.n_children; c++) {
                    char buf[256];
                    int64_t len = 4;
                    const char *s =
                        es_view_is_null(&v.children[c], i)
                            ? "NULL"
                            : es_sql_format_value(&v.children[c], i, buf, sizeof buf, &len);
                    sb_printf(&out, "%s%.*s", c ? "|" : "", (int)len, s);
                }
                sb_printf(&out, "\n");
            }
            es_array_view_reset(&v);
        }
        a.release(&a);
        sc.release(&sc);
    }
    es_sql_result_reset(&r);
    return out.p;
}

static char *sq_text(side *d, const char *sql, int *rc)
{
    sbuf out = {0};
    sb_printf(&out, "%s", "");
    sqlite3_stmt *s = NULL;
    int r = sqlite3_prepare_v2(d->db, sql, -1, &s, NULL);
    while (r == SQLITE_OK && (r = sqlite3_step(s)) == SQLITE_ROW) {
        for (int c = 0; c < sqlite3_column_count(s); c++) {
            const unsigned char *t = sqlite3_column_text(s, c);
            sb_printf(&out, "%s%s", c ? "|" : "", t ? (const char *)t : "NULL");
        }
        sb_printf(&out, "\n");
        r = SQLITE_OK;
    }
    if (r != SQLITE_DONE && r != SQLITE_OK)
        sb_printf(&out, "error: %s", sqlite3_errmsg(d->db));
    if (rc)
        *rc = r == SQLITE_DONE || r == SQLITE_OK ? 0 : -1;
    sqlite3_finalize(s);
    return out.p;
}

/* Run one statement on both; 1 when both failed, 0 when both succeeded; a CHECK otherwise. */
static int both_run(side *d, const char *es_sql, const char *sq_sql)
{
    es_status st;
    int rc;
    free(es_text(d, es_sql, &st));
    free(sq_text(d, sq_sql ? sq_sql : es_sql, &rc));
    if ((st != ES_OK) != (rc != 0)) {
        fprintf(stderr, "differ on: %s\n  expstore: %s\n  sqlite: %s\n", es_sql,
                st ? es_sql_errmsg(d->ses) : "ok", rc ? sqlite3_errmsg(d->db) : "ok");
        CHECK(!"expstore and SQLite differ on failure");
    }
    return st != ES_OK;
}

/* The same query on both must give the same rows. */
static void both_same(side *d, const char *es_sql, const char *sq_sql)
{
    char *a = es_text(d, es_sql, NULL), *b = sq_text(d, sq_sql ? sq_sql : es_sql, NULL);
    if (strcmp(a, b) != 0)
        fprintf(stderr, "query: %s\n  expstore: %.300s\n  sqlite:   %.300s\n", es_sql, a, b);
    CHECK_EQ_STR(a, b);
    free(a);
    free(b);
}

/* Every object of s whose key ends with suffix replaced by a copy that fn(ctx, key, copy,
 * size) checked and damaged (objects are immutable: a test's stand-in for damage at rest).
 * Returns how many. */
typedef void (*damage_fn)(void *ctx, const char *key, uint8_t *copy, size_t size);
static int damage_objects(es_store *s, const char *suffix, damage_fn fn, void *ctx)
{
    es_obj_list l;
    memset(&l, 0, sizeof(l));
    CHECK_OK(es_objstore_list(s->os, "table_", NULL, 1000, &l, NULL));
    int n = 0;
    size_t sl = strlen(suffix);
    for (int64_t i = 0; i < l.n; i++) {
        const char *k = l.items[i].key;
        es_blob *b = NULL;
        if (strlen(k) < sl || strcmp(k + strlen(k) - sl, suffix) != 0 ||
            es_objstore_get(s->os, k, 0, UINT64_MAX, &b, NULL) != ES_OK)
            continue;
        uint8_t *copy = malloc(b->size);
        memcpy(copy, b->data, b->size);
        fn(ctx, k, copy, b->size);
        es_objstore_delete(s->os, &k, 1, NULL);
        CHECK_OK(es_objstore_put(s->os, k, copy, b->size, ES_PUT_ALWAYS, NULL, NULL, NULL));
        free(copy);
        es_blob_unref(b);
        n++;
    }
    es_obj_list_reset(&l);
    return n;
}

#endif
