/*
 * sql_diff.h: the differential driver the SQL tests against SQLite share (test_sql_dml_diff,
 * test_sql_alter_diff; static functions in a header, like check.h): our session on a mem://
 * store cut into small batches and parts (so that every statement spans many of them) beside
 * an in-memory SQLite database, a statement run on either side, any query's rows as text in
 * one format for both sides (doubles %.17g, decimals as their unscaled integer, dates as SQL
 * prints them), and SQLite's table kept for each of our versions, for time travel.
 */
#ifndef ES_TEST_SQL_DIFF_H
#define ES_TEST_SQL_DIFF_H

#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "testutil.h"
#include "expstore/expstore.h"
#include "expstore/sql.h"

static sqlite3 *db;
static es_sql_session *ses;
static es_store *store;

#define DIFF_MAX_VERSIONS 4096
static char *snap[DIFF_MAX_VERSIONS]; /* SQLite's table at each of our versions */
static int64_t diff_version;          /* our version when snap was last kept */

/* Open both sides (our store mem://<name>); seed the generator from the environment variable
 * seed_env (else seed) and return the step count from steps_env (else steps). 0 when both
 * opened. */
static int diff_open(const char *name, const char *seed_env, uint64_t seed, const char *steps_env,
                     int steps, int *n_steps)
{
    const char *s = getenv(seed_env), *n = getenv(steps_env);
    rng = s ? strtoull(s, NULL, 10) : seed;
    if (!rng)
        rng = 1;
    *n_steps = n ? atoi(n) : steps;
    char uri[128];
    snprintf(uri, sizeof uri, "mem://%s", name);
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.batch_rows = 16;          /* many batches */
    o.part_target_bytes = 2048; /* and many parts */
    CHECK_OK(es_store_open(&store, uri, &o));
    CHECK_OK(es_sql_session_open(&ses, store));
    CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK);
    return ses && db ? 0 : -1;
}

/* Close both sides; the test's exit status. */
static int diff_close(void)
{
    for (int i = 0; i < DIFF_MAX_VERSIONS; i++)
        free(snap[i]);
    sqlite3_close(db);
    es_sql_session_close(ses);
    es_store_close(store);
    return CHECK_DONE();
}

/* Ours: run one statement; *changes (nullable) its count. 0, or -1 (es_sql_errmsg(ses)). */
static int es_run(const char *sql, int64_t *changes)
{
    es_sql_result r = ES_SQL_RESULT_INIT;
    es_status st = es_sql_exec(ses, sql, &r);
    if (changes)
        *changes = r.changes;
    es_sql_result_reset(&r);
    return st == ES_OK ? 0 : -1;
}

/* SQLite's: the same. 0, or -1 (sqlite3_errmsg(db)). */
static int sq_run(const char *sql, int64_t *changes)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return -1;
    if (changes)
        *changes = sqlite3_changes(db);
    return 0;
}

/* A query's rows as text, one line per row, values separated by '|': ours (malloc). */
static char *es_rows(const char *sql)
{
    es_sql_result r = ES_SQL_RESULT_INIT;
    sbuf out = {0};
    sb_printf(&out, "%s", "");
    if (es_sql_exec(ses, sql, &r) != ES_OK) {
        sb_printf(&out, "error: %s", es_sql_errmsg(ses));
        return out.p;
    }
    struct ArrowSchema sc;
    if (r.stream.get_schema(&r.stream, &sc) != 0) {
        es_sql_result_reset(&r);
        sb_printf(&out, "error: schema");
        return out.p;
    }
    for (;;) {
        struct ArrowArray a;
        if (r.stream.get_next(&r.stream, &a) != 0) {
            sb_printf(&out, "error: %s", r.stream.get_last_error(&r.stream));
            break;
        }
        if (!a.release)
            break;
        es_array_view v;
        if (es_array_view_init(&v, &sc, &a, NULL) != ES_OK) {
            a.release(&a);
            sb_printf(&out, "error: view");
            break;
        }
        for (int64_t i = 0; i < v.length; i++) {
            for (int64_t c = 0; c < v.n_children; c++) {
                const es_array_view *cv = &v.children[c];
                sb_printf(&out, "%s", c ? "|" : "");
                int64_t len;
                if (es_view_is_null(cv, i)) {
                    sb_printf(&out, "NULL");
                } else if (cv->type.id == ES_TYPE_FLOAT64) {
                    sb_printf(&out, "%.17g", es_view_get_double(cv, i));
                } else if (cv->type.id == ES_TYPE_UTF8) {
                    const uint8_t *p = es_view_get_bytes(cv, i, &len);
                    sb_printf(&out, "%.*s", (int)len, (const char *)p);
                } else if (cv->type.id == ES_TYPE_DECIMAL128) {
                    int64_t unscaled; /* the low half: small values */
                    memcpy(&unscaled, es_view_get_bytes(cv, i, &len), 8);
                    sb_printf(&out, "%" PRId64, unscaled);
                } else if (cv->type.id == ES_TYPE_DATE32) {
                    char buf[64];
                    const char *s = es_sql_format_value(cv, i, buf, sizeof buf, &len);
                    sb_printf(&out, "%.*s", (int)len, s);
                } else {
                    sb_printf(&out, "%" PRId64, es_view_get_int(cv, i));
                }
            }
            sb_printf(&out, "\n");
        }
        es_array_view_reset(&v);
        a.release(&a);
    }
    es_schema_release(&sc);
    es_sql_result_reset(&r);
    return out.p;
}

/* The same query's rows as text: SQLite's. */
static char *sq_rows(const char *sql)
{
    sqlite3_stmt *s;
    sbuf out = {0};
    sb_printf(&out, "%s", "");
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
        sb_printf(&out, "error: %s", sqlite3_errmsg(db));
        return out.p;
    }
    while (sqlite3_step(s) == SQLITE_ROW) {
        for (int c = 0; c < sqlite3_column_count(s); c++) {
            sb_printf(&out, "%s", c ? "|" : "");
            int t = sqlite3_column_type(s, c);
            if (t == SQLITE_NULL)
                sb_printf(&out, "NULL");
            else if (t == SQLITE_FLOAT)
                sb_printf(&out, "%.17g", sqlite3_column_double(s, c));
            else if (t == SQLITE_TEXT)
                sb_printf(&out, "%s", (const char *)sqlite3_column_text(s, c));
            else
                sb_printf(&out, "%lld", (long long)sqlite3_column_int64(s, c));
        }
        sb_printf(&out, "\n");
    }
    sqlite3_finalize(s);
    return out.p;
}

/* Check that ours and theirs (rows as text) are equal; else print both under what. 1 when
 * equal. */
static int diff_same(const char *what, const char *ours, const char *theirs)
{
    int same = strcmp(ours, theirs) == 0;
    if (!same)
        fprintf(stderr, "%s\n--- expstore\n%s--- sqlite\n%s", what, ours, theirs);
    CHECK(same);
    return same;
}

/* After a statement: theirs (SQLite's table as text, taken over) becomes the table of our
 * current version. 0, or -1 when our version went back, past DIFF_MAX_VERSIONS, or on by more
 * than one commit (one statement, at most one commit). */
static inline int diff_keep(char *theirs)
{
    int64_t v = -1;
    es_store_version(store, &v);
    if (v < diff_version || v >= DIFF_MAX_VERSIONS || v > diff_version + 1) {
        fprintf(stderr, "version %" PRId64 " after %" PRId64 "\n", v, diff_version);
        check_failed++;
        free(theirs);
        return -1;
    }
    free(snap[v]);
    snap[v] = theirs;
    diff_version = v;
    return 0;
}

/* One time in four, a random earlier version whose table was kept; else -1. */
static inline int64_t diff_pick(void)
{
    if (diff_version <= 1 || rn(4) != 0)
        return -1;
    int64_t v = 1 + rn((int)diff_version);
    return snap[v] ? v : -1;
}

#endif /* ES_TEST_SQL_DIFF_H */
