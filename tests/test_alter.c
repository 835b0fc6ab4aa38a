/*
 * test_alter: table alterations through the public API (es_table_alter), on mem://, a local
 * directory and ES_TEST_STORE_URI when set (the loopback Ceph RGW, tests/s3.cmake).
 *
 *  - widening: every allowed kind (int8 -> int64, uint16 -> int32, int32 -> float64, float32 ->
 *    float64, decimal(9,2) -> decimal(18,2), date32 -> timestamp[us]) read back from parts
 *    written before and after against the values expected, with predicates on the widened
 *    column (pruned by statistics decoded with the part's type) matching a recount; narrowing
 *    and other changes refused;
 *  - drop and re-add of a column of the same name shows no old data; the id is not reused;
 *  - time travel: the schema and rows of every version, across each kind of alteration, and
 *    after a checkpoint (the log's checkpoint names part types that differ from the table's);
 *  - the primary key cannot be dropped or changed; NOT NULL without default, SET NOT NULL over
 *    NULLs, ALTER inside a transaction are refused with clear errors;
 *  - conflicts: a handle's insert and delete rebased over a concurrent ADD COLUMN, refused over
 *    DROP COLUMN and a type change; two alterations conflict;
 *  - two processes (fork) on one store: one inserting, one altering, every outcome checked
 *    against the matrix and every version by time travel (local directory and RGW).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "testutil.h"
#include "expstore/expstore.h"

/* Enough parts for a checkpoint to write manifest objects (more than it keeps loose). */
#define ES_MANIFEST_TEST_PARTS 80

/* Float columns hold val / float_div. */
static double float_div = 4.0;

/* A one-column-per-call builder of batches: schema t(id int64 not null, <col> fmt). */
static void make_batch(struct ArrowSchema *sc, struct ArrowArray *a, const char *col,
                       const char *fmt, int64_t first, int64_t n, int64_t (*val)(int64_t))
{
    CHECK_OK(es_schema_init_struct(sc, 2, NULL));
    CHECK_OK(es_schema_init(sc->children[0], "l", "id", 0, NULL));
    CHECK_OK(es_schema_init(sc->children[1], fmt, col, ARROW_FLAG_NULLABLE, NULL));
    es_builder *b = NULL;
    CHECK_OK(es_builder_new(&b, sc, NULL));
    es_type t;
    es_type_parse(&t, fmt, NULL);
    for (int64_t i = first; i < first + n; i++) {
        es_builder_append_int(es_builder_child(b, 0), i);
        es_builder *c = es_builder_child(b, 1);
        if (i % 7 == 3)
            es_builder_append_null(c, 1);
        else if (t.id == ES_TYPE_FLOAT32 || t.id == ES_TYPE_FLOAT64)
            es_builder_append_double(c, (double)val(i) / float_div);
        else if (t.id == ES_TYPE_DECIMAL128) {
            uint8_t d[16];
            int64_t v = val(i);
            memcpy(d, &v, 8);
            memset(d + 8, v < 0 ? 0xff : 0, 8);
            es_builder_append_decimal128(c, d);
        } else if (t.id == ES_TYPE_UINT16)
            es_builder_append_uint(c, (uint64_t)val(i));
        else
            es_builder_append_int(c, val(i));
        es_builder_append_struct(b);
    }
    CHECK_OK(es_builder_finish(b, a, NULL));
    es_builder_free(b);
}

static int64_t val_small(int64_t i)
{
    return (i * 37) % 101 - 50;
}

static int64_t val_pos(int64_t i)
{
    return (i * 37) % 60000;
}

static void insert_rows(es_store *s, const char *table, const char *col, const char *fmt,
                        int64_t first, int64_t n, int64_t (*val)(int64_t))
{
    struct ArrowSchema sc;
    struct ArrowArray a;
    make_batch(&sc, &a, col, fmt, first, n, val);
    CHECK_OK(es_insert_batch(s, table, &sc, &a));
    es_schema_release(&sc);
}

/* Scan column col of table (at version v) where col >= lo, summing what is read as doubles:
 * rows and sum; the schema's format of col into fmt. */
static void scan_sum(es_store *s, const char *table, const char *col, int64_t v, double lo,
                     int64_t *rows, double *sum, char *fmt)
{
    const char *cols[2] = {"id", col};
    es_scan_options o = ES_SCAN_OPTIONS_INIT;
    o.columns = cols;
    o.n_columns = 2;
    o.at_version = v;
    es_expr *e = isnan(lo) ? NULL : es_expr_cmp(col, ES_GE, vdbl(lo));
    o.predicate = e;
    struct ArrowArrayStream st;
    *rows = 0;
    *sum = 0;
    if (es_scan(s, table, &o, &st) != ES_OK) {
        fprintf(stderr, "scan %s: %s\n", table, es_store_errmsg(s));
        CHECK(0);
        es_expr_free(e);
        return;
    }
    struct ArrowSchema sc;
    CHECK(st.get_schema(&st, &sc) == 0);
    strcpy(fmt, sc.children[1]->format);
    for (;;) {
        struct ArrowArray a;
        if (st.get_next(&st, &a) != 0 || !a.release)
            break;
        es_array_view vw;
        CHECK_OK(es_array_view_init(&vw, &sc, &a, NULL));
        const es_array_view *c = &vw.children[1];
        for (int64_t i = 0; i < vw.length; i++) {
            (*rows)++;
            if (es_view_is_null(c, i))
                continue;
            if (c->type.id == ES_TYPE_DECIMAL128) {
                int64_t len, x;
                memcpy(&x, es_view_get_bytes(c, i, &len), 8);
                *sum += (double)x;
            } else if (c->type.id == ES_TYPE_TIMESTAMP || c->type.id == ES_TYPE_INT64 ||
                       c->type.id == ES_TYPE_INT32) {
                *sum += (double)es_view_get_int(c, i);
            } else {
                *sum += es_view_get_double(c, i);
            }
        }
        es_array_view_reset(&vw);
        a.release(&a);
    }
    es_schema_release(&sc);
    st.release(&st);
    es_expr_free(e);
}

static es_status alter(es_store *s, const char *table, es_alter_kind kind, const char *column,
                       const char *arg)
{
    es_alter op = ES_ALTER_INIT;
    op.kind = kind;
    op.column = column;
    op.new_name = arg;
    op.type = arg;
    return es_table_alter(s, table, &op, NULL);
}

/* Expected: the sum over ids [0, n) of val (as the widened type reads it), where val >= lo. */
static void expect(int64_t n, int64_t (*val)(int64_t), double scale, double lo, int64_t *rows,
                   double *sum)
{
    *rows = 0;
    *sum = 0;
    for (int64_t i = 0; i < n; i++) {
        int null = i % 7 == 3;
        double x = (double)val(i) * scale;
        if (!isnan(lo) && (null || x < lo))
            continue;
        (*rows)++;
        *sum += null ? 0 : x;
    }
}

static void test_widen(const char *uri)
{
    static const struct {
        const char *from, *to;
        int64_t (*val)(int64_t);
        double scale_before, scale_after; /* how a value reads before and after */
        double lo;                        /* predicate after widening */
    } cases[] = {
        {"c", "l", val_small, 1, 1, 10},
        {"S", "i", val_pos, 1, 1, 30000},
        {"i", "g", val_small, 1, 1, 0.5},
        {"f", "g", val_small, 0.25, 0.25, 2.25},
        {"d:9,2", "d:18,2", val_small, 1, 1, 20}, /* unscaled */
        {"tdD", "tsu:", val_small, 1, 86400e6, 86400e6 * 5},
    };
    es_store *s = NULL;
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.batch_rows = 64;
    o.part_target_bytes = 4096;
    CHECK_OK(es_store_open(&s, uri, &o));
    enum { n_cases = sizeof(cases) / sizeof(cases[0]) };
    int64_t seen_rows[n_cases];
    double seen_sum[n_cases];
    for (size_t k = 0; k < n_cases; k++) {
        char name[32];
        snprintf(name, sizeof name, "w%zu", k);
        float_div = strcmp(cases[k].from, "f") == 0 ? 4.0 : 1.0; /* new rows read as old ones */
        struct ArrowSchema sc;
        struct ArrowArray a;
        make_batch(&sc, &a, "x", cases[k].from, 0, 1, cases[k].val);
        a.release(&a);
        CHECK_OK(es_table_create(s, name, &sc, "id", 0));
        es_schema_release(&sc);
        insert_rows(s, name, "x", cases[k].from, 0, 500, cases[k].val);
        int64_t v_before = -1, rows, erows;
        double sum, esum;
        char fmt[32];
        es_store_version(s, &v_before);
        CHECK_OK(alter(s, name, ES_ALTER_SET_TYPE, "x", cases[k].to));
        if (es_store_errcode(s))
            fprintf(stderr, "%s: %s\n", name, es_store_errmsg(s));
        insert_rows(s, name, "x", cases[k].to, 500, 300, cases[k].val);
        /* Old values, converted; then with a predicate on the widened column. */
        double sc_after = cases[k].scale_after;
        if (!strcmp(cases[k].to, "tsu:")) {
            /* New rows were written as microseconds already: read them unscaled. */
            scan_sum(s, name, "x", -1, NAN, &rows, &sum, fmt);
            double e1, e2;
            int64_t r1, r2;
            expect(500, cases[k].val, sc_after, NAN, &r1, &e1);
            expect(800, cases[k].val, 1, NAN, &r2, &e2);
            double e0;
            int64_t r0;
            expect(500, cases[k].val, 1, NAN, &r0, &e0);
            CHECK(rows == 800);
            CHECK(sum == e1 + (e2 - e0));
        } else {
            scan_sum(s, name, "x", -1, NAN, &rows, &sum, fmt);
            expect(800, cases[k].val, sc_after, NAN, &erows, &esum);
            CHECK(rows == erows && sum == esum);
            scan_sum(s, name, "x", -1, cases[k].lo, &rows, &sum, fmt);
            if (strncmp(cases[k].to, "d:", 2) != 0) {
                expect(800, cases[k].val, sc_after, cases[k].lo, &erows, &esum);
                CHECK(rows == erows && sum == esum);
                if (rows != erows)
                    fprintf(stderr, "%s: %lld rows >= %g, expected %lld\n", name, (long long)rows,
                            cases[k].lo, (long long)erows);
            }
        }
        CHECK(strcmp(fmt, cases[k].to) == 0);
        scan_sum(s, name, "x", -1, NAN, &seen_rows[k], &seen_sum[k], fmt);
        /* Time travel: the old type and values. */
        scan_sum(s, name, "x", v_before, NAN, &rows, &sum, fmt);
        expect(500, cases[k].val, cases[k].scale_before, NAN, &erows, &esum);
        CHECK(rows == erows && sum == esum && strcmp(fmt, cases[k].from) == 0);
        /* Narrowing back is refused. */
        CHECK(alter(s, name, ES_ALTER_SET_TYPE, "x", cases[k].from) == ES_INVALID);
        CHECK(strstr(es_store_errmsg(s), "cannot become") != NULL);
    }
    /* A fresh handle reads from the checkpoints the versions above crossed, which name the
     * types older parts were written with: the same values. */
    es_store_close(s);
    CHECK_OK(es_store_open(&s, uri, &o));
    for (size_t k = 0; k < n_cases; k++) {
        char name[32], fmt[32];
        int64_t rows;
        double sum;
        snprintf(name, sizeof name, "w%zu", k);
        scan_sum(s, name, "x", -1, NAN, &rows, &sum, fmt);
        CHECK(rows == seen_rows[k] && sum == seen_sum[k]);
    }
    CHECK(alter(s, "w0", ES_ALTER_SET_TYPE, "x", "u") == ES_INVALID);
    CHECK(alter(s, "w0", ES_ALTER_SET_TYPE, "id", "d:38,0") == ES_INVALID);
    CHECK(strstr(es_store_errmsg(s), "primary key") != NULL);
    es_store_close(s);
}

/* More parts than a checkpoint keeps loose: old parts (written before a widening and a drop)
 * go into manifest objects; a fresh handle reads them with their own types, and a predicate
 * on the widened column prunes and matches as before. */
static void test_manifests(const char *uri)
{
    es_store *s = NULL;
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.batch_rows = 16;
    o.inline_rows = 0;       /* parts, not rows inlined in the log */
    o.compact_min_parts = 0; /* and no compaction */
    CHECK_OK(es_store_open(&s, uri, &o));
    struct ArrowSchema sc;
    struct ArrowArray a;
    make_batch(&sc, &a, "x", "i", 0, 1, val_small);
    a.release(&a);
    CHECK_OK(es_table_create(s, "mf", &sc, "id", 0));
    es_schema_release(&sc);
    es_alter op = ES_ALTER_INIT;
    struct ArrowSchema f;
    CHECK_OK(es_schema_init(&f, "u", "gone", ARROW_FLAG_NULLABLE, NULL));
    op.field = &f;
    CHECK_OK(es_table_alter(s, "mf", &op, NULL));
    int n_old = ES_MANIFEST_TEST_PARTS / 2;
    for (int i = 0; i < n_old; i++)
        insert_rows(s, "mf", "x", "i", i * 10, 10, val_small);
    CHECK_OK(alter(s, "mf", ES_ALTER_SET_TYPE, "x", "l"));
    CHECK_OK(alter(s, "mf", ES_ALTER_DROP_COLUMN, "gone", NULL));
    for (int i = n_old; i < ES_MANIFEST_TEST_PARTS; i++)
        insert_rows(s, "mf", "x", "l", i * 10, 10, val_small);
    int64_t rows, erows, prows, eprows;
    double sum, esum, psum, epsum;
    char fmt[32];
    expect(ES_MANIFEST_TEST_PARTS * 10, val_small, 1, NAN, &erows, &esum);
    expect(ES_MANIFEST_TEST_PARTS * 10, val_small, 1, 40, &eprows, &epsum);
    es_store_close(s);
    CHECK_OK(es_store_open(&s, uri, &o));
    scan_sum(s, "mf", "x", -1, NAN, &rows, &sum, fmt);
    CHECK(rows == erows && sum == esum && strcmp(fmt, "l") == 0);
    scan_sum(s, "mf", "x", -1, 40, &prows, &psum, fmt);
    CHECK(prows == eprows && psum == epsum);
    if (prows != eprows)
        fprintf(stderr, "manifests: %lld rows >= 40, expected %lld\n", (long long)prows,
                (long long)eprows);
    es_schema_release(&f);
    es_store_close(s);
}

/* The names of the columns of table at version v, comma-separated. */
static void columns_at(es_store *s, const char *table, int64_t v, char *out, size_t cap)
{
    es_table_info info;
    out[0] = 0;
    if (es_table_describe(s, table, v, &info) != ES_OK) {
        snprintf(out, cap, "(none)");
        return;
    }
    for (int64_t c = 0; c < info.schema.n_children; c++)
        snprintf(out + strlen(out), cap - strlen(out), "%s%s%s", c ? "," : "",
                 info.schema.children[c]->name,
                 info.schema.children[c]->flags & ARROW_FLAG_NULLABLE ? "" : "!");
    es_table_info_reset(&info);
}

static void test_drop_readd_time_travel(const char *uri)
{
    es_store *s = NULL;
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.batch_rows = 32;
    CHECK_OK(es_store_open(&s, uri, &o));
    struct ArrowSchema sc;
    struct ArrowArray a;
    make_batch(&sc, &a, "x", "l", 0, 1, val_small);
    a.release(&a);
    CHECK_OK(es_table_create(s, "d", &sc, "id", 0));
    es_schema_release(&sc);
    insert_rows(s, "d", "x", "l", 0, 100, val_small);
    int64_t rows;
    double sum, esum;
    char fmt[32], cols[256];
    /* Versions and the columns each must show. */
    const char *expect_cols[16];
    int64_t versions[16];
    int n = 0;
#define MARK(c)                                                                                    \
    do {                                                                                           \
        es_store_version(s, &versions[n]);                                                         \
        expect_cols[n++] = c;                                                                      \
    } while (0)
    MARK("id!,x");
    CHECK_OK(alter(s, "d", ES_ALTER_DROP_COLUMN, "x", NULL));
    MARK("id!");
    scan_sum(s, "d", "id", -1, NAN, &rows, &sum, fmt);
    CHECK(rows == 100);
    /* Re-added under the same name: a new column, NULL in every old row. */
    es_alter op = ES_ALTER_INIT;
    struct ArrowSchema f;
    CHECK_OK(es_schema_init(&f, "l", "x", ARROW_FLAG_NULLABLE, NULL));
    op.field = &f;
    CHECK_OK(es_table_alter(s, "d", &op, NULL));
    MARK("id!,x");
    scan_sum(s, "d", "x", -1, NAN, &rows, &sum, fmt);
    CHECK(rows == 100 && sum == 0);
    scan_sum(s, "d", "x", -1, -1e18, &rows, &sum, fmt);
    CHECK(rows == 0); /* no old value matches x >= anything */
    insert_rows(s, "d", "x", "l", 100, 50, val_small);
    expect(150, val_small, 1, NAN, &rows, &esum);
    expect(100, val_small, 1, NAN, &rows, &sum);
    scan_sum(s, "d", "x", -1, NAN, &rows, &sum, fmt);
    CHECK(rows == 150);
    double e100;
    int64_t r100;
    expect(100, val_small, 1, NAN, &r100, &e100);
    CHECK(sum == esum - e100);
    /* A NOT NULL column with a default, renames, NOT NULL changes. */
    struct ArrowSchema g;
    struct ArrowArray gd;
    CHECK_OK(es_schema_init(&g, "i", "k", 0, NULL));
    es_builder *b = NULL;
    CHECK_OK(es_builder_new(&b, &g, NULL));
    es_builder_append_int(b, 42);
    CHECK_OK(es_builder_finish(b, &gd, NULL));
    es_builder_free(b);
    op.field = &g;
    CHECK(es_table_alter(s, "d", &op, NULL) == ES_INVALID); /* NOT NULL, no default */
    CHECK(strstr(es_store_errmsg(s), "without a default") != NULL);
    op.default_value = &gd;
    CHECK_OK(es_table_alter(s, "d", &op, NULL));
    MARK("id!,x,k!");
    scan_sum(s, "d", "k", -1, 42, &rows, &sum, fmt);
    CHECK(rows == 150 && sum == 42.0 * 150);
    CHECK_OK(alter(s, "d", ES_ALTER_RENAME_COLUMN, "k", "kk"));
    MARK("id!,x,kk!");
    CHECK_OK(alter(s, "d", ES_ALTER_DROP_NOT_NULL, "kk", NULL));
    MARK("id!,x,kk");
    CHECK(alter(s, "d", ES_ALTER_SET_NOT_NULL, "x", NULL) == ES_INVALID); /* old rows: NULL */
    CHECK(strstr(es_store_errmsg(s), "NULL values") != NULL);
    CHECK_OK(alter(s, "d", ES_ALTER_SET_NOT_NULL, "kk", NULL));
    MARK("id!,x,kk!");
    CHECK_OK(alter(s, "d", ES_ALTER_RENAME_TABLE, NULL, "d2"));
    MARK("id!,x,kk!");
    CHECK(alter(s, "d2", ES_ALTER_DROP_COLUMN, "id", NULL) == ES_INVALID);
    CHECK(alter(s, "d2", ES_ALTER_DROP_NOT_NULL, "id", NULL) == ES_INVALID);
    CHECK(alter(s, "d2", ES_ALTER_DROP_COLUMN, "nope", NULL) == ES_NOT_FOUND);
    CHECK(alter(s, "d2", ES_ALTER_RENAME_COLUMN, "x", "kk") == ES_EXISTS);
    CHECK(alter(s, "nope", ES_ALTER_DROP_COLUMN, "x", NULL) == ES_NOT_FOUND);
    /* Inside a transaction: refused. */
    CHECK_OK(es_txn_begin(s, NULL));
    CHECK(alter(s, "d2", ES_ALTER_DROP_COLUMN, "x", NULL) == ES_UNSUPPORTED);
    CHECK(strstr(es_store_errmsg(s), "transaction") != NULL);
    CHECK_OK(es_txn_abort(s));
    /* Enough versions for a checkpoint, then time travel through a fresh handle. */
    for (int i = 0; i < 10; i++)
        insert_rows(s, "d2", "x", "l", 1000 + i, 1, val_small);
    es_store_close(s);
    CHECK_OK(es_store_open(&s, uri, &o));
    for (int i = 0; i < n; i++) {
        columns_at(s, i < n - 1 ? "d" : "d2", versions[i], cols, sizeof cols);
        if (strcmp(cols, expect_cols[i]) != 0)
            fprintf(stderr, "version %lld: columns %s, expected %s\n", (long long)versions[i], cols,
                    expect_cols[i]);
        CHECK(strcmp(cols, expect_cols[i]) == 0);
    }
    scan_sum(s, "d2", "kk", -1, NAN, &rows, &sum, fmt);
    CHECK(rows == 160 && sum == 42.0 * 160); /* inserts without kk took its default */
    scan_sum(s, "d", "x", versions[0], NAN, &rows, &sum, fmt);
    expect(100, val_small, 1, NAN, &r100, &e100);
    CHECK(rows == 100 && sum == e100); /* the dropped column's data, at its version */
    es_schema_release(&f);
    es_schema_release(&g);
    es_array_release(&gd);
    es_store_close(s);
}

/* Handle a read the table, handle b commits `what`, then a commits an insert (and a delete). */
static void test_matrix(const char *uri)
{
    static const struct {
        es_alter_kind kind;
        const char *column, *arg;
        int insert_ok;
    } rows[] = {
        {ES_ALTER_ADD_COLUMN, NULL, NULL, 1},
        {ES_ALTER_RENAME_COLUMN, "x", "y", 1},
        {ES_ALTER_DROP_COLUMN, "x", NULL, 0},
        {ES_ALTER_SET_TYPE, "x", "l", 0},
    };
    for (size_t k = 0; k < sizeof(rows) / sizeof(rows[0]); k++) {
        es_store *a = NULL, *b = NULL;
        char name[16];
        snprintf(name, sizeof name, "m%zu", k);
        CHECK_OK(es_store_open(&a, uri, NULL));
        CHECK_OK(es_store_open(&b, uri, NULL));
        struct ArrowSchema sc;
        struct ArrowArray arr;
        make_batch(&sc, &arr, "x", "i", 0, 10, val_small);
        CHECK_OK(es_table_create(a, name, &sc, "id", 0));
        CHECK_OK(es_insert_batch(a, name, &sc, &arr));
        es_schema_release(&sc);
        make_batch(&sc, &arr, "x", "i", 10, 10, val_small);
        /* a's insert begins from the table it reads now; b commits first. */
        es_alter op = ES_ALTER_INIT;
        struct ArrowSchema f;
        CHECK_OK(es_schema_init(&f, "l", "z", ARROW_FLAG_NULLABLE, NULL));
        op.kind = rows[k].kind;
        op.column = rows[k].column;
        op.new_name = op.type = rows[k].arg;
        op.field = &f;
        /* Make a's snapshot current, then let b alter behind its back: es_insert_batch's
         * sync reads the alteration first, so race it with a transaction instead. */
        CHECK_OK(es_txn_begin(a, NULL));
        CHECK_OK(es_insert_batch(a, name, &sc, &arr));
        CHECK_OK(es_table_alter(b, name, &op, NULL));
        es_status st = es_txn_commit(a, NULL);
        CHECK(st == (rows[k].insert_ok ? ES_OK : ES_CONFLICT));
        if (st != (rows[k].insert_ok ? ES_OK : ES_CONFLICT))
            fprintf(stderr, "matrix %zu: %s\n", k, es_store_errmsg(a));
        /* Two alterations of one table conflict: b alters inside a's window. */
        es_table_info info;
        CHECK_OK(es_table_describe(a, name, -1, &info));
        CHECK(info.n_rows == (rows[k].insert_ok ? 20 : 10));
        es_table_info_reset(&info);
        es_schema_release(&sc);
        es_schema_release(&f);
        es_store_close(a);
        es_store_close(b);
    }
}

/* Transactions and alterations: a SERIALIZABLE transaction that read T fails when T is
 * altered before it commits; a SNAPSHOT one that wrote another table commits. */
static void test_txn_reads(const char *uri)
{
    es_store *a = NULL, *b = NULL;
    CHECK_OK(es_store_open(&a, uri, NULL));
    CHECK_OK(es_store_open(&b, uri, NULL));
    struct ArrowSchema sc;
    struct ArrowArray arr;
    make_batch(&sc, &arr, "x", "i", 0, 10, val_small);
    CHECK_OK(es_table_create(a, "r1", &sc, "id", 0));
    CHECK_OK(es_table_create(a, "r2", &sc, "id", 0));
    CHECK_OK(es_insert_batch(a, "r1", &sc, &arr));
    es_schema_release(&sc);
    for (int ser = 0; ser < 2; ser++) {
        es_txn_options to = ES_TXN_OPTIONS_INIT;
        to.isolation = ser ? ES_ISOLATION_SERIALIZABLE : ES_ISOLATION_SNAPSHOT;
        CHECK_OK(es_txn_begin(a, &to));
        int64_t rows;
        double sum;
        char fmt[32];
        scan_sum(a, "r1", "x", -1, NAN, &rows, &sum, fmt); /* reads r1 */
        CHECK(rows == 10);
        make_batch(&sc, &arr, "x", "i", 100 + ser * 10, 10, val_small);
        CHECK_OK(es_insert_batch(a, "r2", &sc, &arr)); /* writes r2 */
        es_schema_release(&sc);
        CHECK_OK(alter(b, "r1", ES_ALTER_RENAME_COLUMN, "x", "y")); /* and back: */
        CHECK_OK(alter(b, "r1", ES_ALTER_RENAME_COLUMN, "y", "x"));
        es_status st = es_txn_commit(a, NULL);
        CHECK(st == (ser ? ES_CONFLICT : ES_OK));
        if (ser)
            CHECK(strstr(es_store_errmsg(a), "altered") != NULL);
    }
    es_schema_release(&sc);
    es_store_close(a);
    es_store_close(b);
}

/* Two processes: one inserting 1-row batches, one adding and dropping columns. Every commit
 * either succeeds or fails with ES_CONFLICT; afterwards every version reads. */
static void test_processes(const char *uri, int rounds)
{
    es_store *s = NULL;
    CHECK_OK(es_store_open(&s, uri, NULL));
    struct ArrowSchema sc;
    struct ArrowArray arr;
    make_batch(&sc, &arr, "x", "l", 0, 1, val_small);
    arr.release(&arr);
    CHECK_OK(es_table_create(s, "p", &sc, "id", 0));
    es_schema_release(&sc);
    es_store_close(s);
    pid_t pids[2];
    fflush(stdout); /* the children must not print what the parent buffered */
    for (int w = 0; w < 2; w++) {
        pids[w] = fork();
        if (pids[w] == 0) {
            es_store *c = NULL;
            int bad = 0, ok = 0;
            if (es_store_open(&c, uri, NULL) != ES_OK)
                _exit(2);
            for (int i = 0; i < rounds; i++) {
                es_status st;
                if (w == 0) {
                    struct ArrowSchema s2;
                    struct ArrowArray a2;
                    make_batch(&s2, &a2, "x", "l", 100 + i, 1, val_small);
                    st = es_insert_batch(c, "p", &s2, &a2);
                    es_schema_release(&s2);
                } else {
                    char col[16];
                    snprintf(col, sizeof col, "k%d", i / 2);
                    es_alter op = ES_ALTER_INIT;
                    struct ArrowSchema f;
                    es_schema_init(&f, "i", col, ARROW_FLAG_NULLABLE, NULL);
                    op.kind = i % 2 ? ES_ALTER_DROP_COLUMN : ES_ALTER_ADD_COLUMN;
                    op.column = col;
                    op.field = &f;
                    st = es_table_alter(c, "p", &op, NULL);
                    es_schema_release(&f);
                }
                ok += st == ES_OK;
                bad += st != ES_OK && st != ES_CONFLICT;
                if (st != ES_OK && st != ES_CONFLICT)
                    fprintf(stderr, "writer %d: %s\n", w, es_store_errmsg(c));
            }
            es_store_close(c);
            printf("writer %d (%s): %d of %d committed\n", w, w ? "alter" : "insert", ok, rounds);
            fflush(stdout);
            _exit(bad ? 255 : ok); /* the parent checks the store against the counts */
        }
    }
    int committed[2] = {0, 0};
    for (int w = 0; w < 2; w++) {
        int status = 0;
        waitpid(pids[w], &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) != 255);
        committed[w] = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    /* Every version reads, and rows only ever grow by one per version. */
    CHECK_OK(es_store_open(&s, uri, NULL));
    int64_t last = -1, prev_rows = 0;
    es_store_version(s, &last);
    int64_t created = -1;
    for (int64_t v = last; v >= 0 && created < 0; v--) {
        es_table_info info;
        if (es_table_describe(s, "p", v, &info) != ES_OK) {
            created = v + 1;
            break;
        }
        es_table_info_reset(&info);
    }
    int64_t schema_changes = 0;
    int prev_cols = -1;
    for (int64_t v = created; v <= last; v++) {
        es_table_info info;
        CHECK_OK(es_table_describe(s, "p", v, &info));
        schema_changes += prev_cols >= 0 && info.schema.n_children != prev_cols;
        prev_cols = (int)info.schema.n_children;
        int64_t rows;
        double sum;
        char fmt[32];
        scan_sum(s, "p", "x", v, NAN, &rows, &sum, fmt);
        CHECK(rows == info.n_rows);
        CHECK(rows == prev_rows || rows == prev_rows + 1);
        prev_rows = rows;
        es_table_info_reset(&info);
    }
    CHECK(prev_rows > 0);
    /* Every committed insert is there once, every committed alteration made one version;
     * nothing else was committed (last - created versions after the create). */
    CHECK(prev_rows == committed[0]);
    CHECK(schema_changes == committed[1]);
    CHECK(last - created == committed[0] + committed[1]);
    es_store_close(s);
}

/* `test_alter --interop DIR`: a local store whose .data files were written before and after
 * alterations (20 rows each: t(id, a INT, s TEXT, f FLOAT); then ADD k INT DEFAULT 5; then a
 * widened to BIGINT and s dropped), and DIR/expected.jsonl: their rows as canonical JSON under
 * the physical names and types each part was written with. table_interop.sh (alter.cmake)
 * reads every .data with Apache Arrow JS and compares. */
static int write_interop(const char *dir)
{
    es_store *s = NULL;
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.batch_rows = 7;
    o.inline_rows =
        0; /* each insert a part with a .data file (rows inlined in the log have none) */
    if (es_store_open(&s, dir, &o) != ES_OK) {
        fprintf(stderr, "%s\n", es_store_errmsg(s));
        return 1;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/expected.jsonl", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return 1;
    static const char *stage_fm[3][4] = {
        {"l", "i", "u", "f"}, {"l", "i", "u", "f"}, {"l", "l", "f", "i"}};
    static const char *stage_nm[3][5] = {
        {"id", "a", "s", "f", NULL}, {"id", "a", "s", "f", "k"}, {"id", "a", "f", "k", NULL}};
    static const char *stage_pn[3][5] = {{"c0", "c1", "c2", "c3", NULL},
                                         {"c0", "c1", "c2", "c3", "c4"},
                                         {"c0", "c1", "c3", "c4", NULL}};
    int rc = 0;
    for (int stage = 0; stage < 3 && !rc; stage++) {
        int n = stage == 1 ? 5 : 4;
        struct ArrowSchema sc, phys;
        es_schema_init_struct(&sc, n, NULL);
        es_schema_init_struct(&phys, n, NULL);
        for (int i = 0; i < n; i++) {
            const char *fm = i < 4 ? stage_fm[stage][i] : "i";
            es_schema_init(sc.children[i], fm, stage_nm[stage][i], i ? ARROW_FLAG_NULLABLE : 0,
                           NULL);
            es_schema_init(phys.children[i], fm, stage_pn[stage][i], i ? ARROW_FLAG_NULLABLE : 0,
                           NULL);
        }
        if (stage == 0 && es_table_create(s, "t", &sc, "id", 0) != ES_OK)
            rc = 1;
        es_builder *b = NULL;
        es_builder_new(&b, &sc, NULL);
        for (int r = 0; r < 20; r++) {
            for (int i = 0; i < n; i++) {
                es_builder *c = es_builder_child(b, i);
                const char *fm = phys.children[i]->format;
                if (i == 0)
                    es_builder_append_int(c, stage * 100 + (19 - r));
                else if (r % 5 == 2)
                    es_builder_append_null(c, 1);
                else if (fm[0] == 'u')
                    es_builder_append_bytes(c, "word", 1 + r % 4);
                else if (fm[0] == 'f')
                    es_builder_append_double(c, r * 0.25);
                else
                    es_builder_append_int(c,
                                          (r * 7919) % 1000 - 500 + (fm[0] == 'l' ? 1LL << 40 : 0));
            }
            es_builder_append_struct(b);
        }
        struct ArrowArray arr;
        es_builder_finish(b, &arr, NULL);
        es_builder_free(b);
        es_json_write_rows(f, &phys, &arr, NULL);
        if (!rc && es_insert_batch(s, "t", &sc, &arr) != ES_OK)
            rc = 1;
        es_schema_release(&sc);
        es_schema_release(&phys);
        if (!rc && stage == 0) {
            es_alter op = ES_ALTER_INIT;
            struct ArrowSchema k;
            struct ArrowArray kd;
            es_schema_init(&k, "i", "k", ARROW_FLAG_NULLABLE, NULL);
            es_builder_new(&b, &k, NULL);
            es_builder_append_int(b, 5);
            es_builder_finish(b, &kd, NULL);
            es_builder_free(b);
            op.field = &k;
            op.default_value = &kd;
            rc = es_table_alter(s, "t", &op, NULL) != ES_OK;
            es_schema_release(&k);
            es_array_release(&kd);
        }
        if (!rc && stage == 1)
            rc = alter(s, "t", ES_ALTER_SET_TYPE, "a", "l") != ES_OK ||
                 alter(s, "t", ES_ALTER_DROP_COLUMN, "s", NULL) != ES_OK;
    }
    if (rc)
        fprintf(stderr, "%s\n", es_store_errmsg(s));
    fclose(f);
    es_store_close(s);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--interop") == 0)
        return write_interop(argv[2]);
    const char *env = getenv("ES_TEST_STORE_URI");
    if (env && *env) {
        printf("== %s\n", env);
        test_widen(env);
        test_drop_readd_time_travel(env);
        test_matrix(env);
        test_txn_reads(env);
        test_manifests(env);
        test_processes(env, 12);
        return CHECK_DONE();
    }
    printf("== mem://\n");
    test_widen("mem://test_alter");
    test_drop_readd_time_travel("mem://test_alter");
    test_matrix("mem://test_alter");
    test_txn_reads("mem://test_alter");
    test_manifests("mem://test_alter_mf");
    char dir[] = "/tmp/es_test_alter_XXXXXX";
    if (mkdtemp(dir)) {
        printf("== %s\n", dir);
        test_drop_readd_time_travel(dir);
        test_processes(dir, 30);
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", dir);
    }
    return CHECK_DONE();
}
