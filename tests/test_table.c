/*
 * test_table: the table layer end to end through the public API, on mem:// and on a local
 * temporary directory (and on ES_TEST_STORE_URI when set, e.g. an S3 fixture).
 *
 *  - every supported type round-trips through insert and scan (many inserts);
 *  - projections by logical name, in any order;
 *  - a few hundred random predicates (120 on ES_TEST_STORE_URI) compared with SQLite as an
 *    oracle;
 *  - pruning is real: a sorted table of 10 million rows (2 million under sanitizers; 400
 *    thousand on ES_TEST_STORE_URI, where the ranged GETs are real HTTP requests) queried
 *    for a narrow key range fetches at most two record batches' worth of the needed columns;
 *  - time travel (at_version) and describe;
 *  - corrupt or missing objects give ES_CORRUPT naming the object, never wrong rows.
 *
 * `test_table --interop DIR` writes a small local store into DIR and the expected rows of its
 * .data files (canonical JSON, physical column names) to DIR/expected.jsonl, for the
 * apache-arrow JS interop test (tests/table.cmake).
 */
#include <inttypes.h>
#include <math.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "oracle_row.h"
#include "testutil.h"
#include "expstore/expstore.h"
#include "objstore/objstore.h"
#include "table/table.h"

#if defined(__SANITIZE_ADDRESS__)
#define BIG_ROWS 2000000
#else
#define BIG_ROWS 10000000
#endif

/* Drain a stream: count rows, and collect column 0 as int64 when ids != NULL. */
static int drain(struct ArrowArrayStream *st, int64_t *rows, int64_t **ids, char *errbuf,
                 size_t cap)
{
    struct ArrowSchema sc;
    int64_t n = 0, cap_ids = 0;
    if (ids)
        *ids = NULL;
    if (st->get_schema(st, &sc) != 0)
        return -1;
    for (;;) {
        struct ArrowArray a;
        int rc = st->get_next(st, &a);
        if (rc != 0) {
            const char *m = st->get_last_error(st);
            snprintf(errbuf, cap, "%s", m ? m : "?");
            sc.release(&sc);
            return rc;
        }
        if (!a.release)
            break;
        if (ids) {
            es_array_view v;
            if (es_array_view_init(&v, &sc, &a, NULL) == ES_OK) {
                for (int64_t i = 0; i < v.length; i++) {
                    if (n == cap_ids) {
                        cap_ids = cap_ids ? cap_ids * 2 : 1024;
                        *ids = realloc(*ids, (size_t)cap_ids * sizeof(int64_t));
                    }
                    (*ids)[n++] = es_view_get_int(&v.children[0], i);
                }
                es_array_view_reset(&v);
            }
        } else {
            n += a.length;
        }
        a.release(&a);
    }
    sc.release(&sc);
    *rows = n;
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* ------------------------------------------------------------- all types */

static const char *all_formats[] = {"b",   "c",   "C",   "s",   "S",       "i",    "I",   "l",
                                    "L",   "f",   "g",   "u",   "U",       "z",    "Z",   "w:4",
                                    "tdD", "tdm", "tts", "ttu", "tsu:UTC", "tsn:", "tDn", "d:10,2"};
#define N_TYPES (int)(sizeof(all_formats) / sizeof(all_formats[0]))

static void append_random(es_builder *b, const char *fmt, int64_t row)
{
    if (rnd() % 5 == 0) {
        es_builder_append_null(b, 1);
        return;
    }
    char s[32];
    int64_t r = (int64_t)(rnd() % 1000) - 500;
    switch (fmt[0]) {
    case 'b':
        es_builder_append_int(b, r & 1);
        break;
    case 'C':
    case 'S':
    case 'I':
    case 'L':
        es_builder_append_uint(b, (uint64_t)(r + 500) % 200);
        break;
    case 'c':
    case 's':
    case 'i':
    case 'l':
        es_builder_append_int(b, r % 100);
        break;
    case 'f':
    case 'g':
        es_builder_append_double(b, (double)r / 4.0);
        break;
    case 'u':
    case 'U':
    case 'z':
    case 'Z':
        snprintf(s, sizeof(s), "v%03d", (int)(r + 500) % 300);
        es_builder_append_bytes(b, s, (int64_t)strlen(s));
        break;
    case 'w':
        snprintf(s, sizeof(s), "%04d", (int)(r + 500) % 1000);
        es_builder_append_bytes(b, s, 4);
        break;
    case 'd': {
        if (fmt[1] == ':') {
            uint8_t v[16];
            int64_t x = r * 37;
            memset(v, x < 0 ? 0xFF : 0, 16);
            memcpy(v, &x, 8);
            es_builder_append_decimal128(b, v);
        }
        break;
    }
    default:
        es_builder_append_int(b, r * 1000 + row % 7);
        break;
    }
}

static void test_all_types(const char *uri)
{
    es_store *s = NULL;
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.batch_rows = 64;
    CHECK_OK(es_store_open(&s, uri, &o));
    if (!s)
        return;
    struct ArrowSchema sc;
    CHECK_OK(es_schema_init_struct(&sc, N_TYPES + 1, NULL));
    CHECK_OK(es_schema_init(sc.children[0], "l", "id", 0, NULL));
    for (int i = 0; i < N_TYPES; i++) {
        char name[16];
        snprintf(name, sizeof(name), "col%d", i);
        CHECK_OK(
            es_schema_init(sc.children[i + 1], all_formats[i], name, ARROW_FLAG_NULLABLE, NULL));
    }
    es_table_drop(s, "types", 1);
    CHECK_OK(es_table_create(s, "types", &sc, "id", 0));
    CHECK_EQ_INT(es_table_create(s, "types", &sc, "id", 0), ES_EXISTS);
    CHECK_OK(es_table_create(s, "types", &sc, "id", 1));
    /* Insert 10 batches; keep a copy of every batch's JSON (in id order) for comparison. */
    es_builder *b = NULL;
    CHECK_OK(es_builder_new(&b, &sc, NULL));
    int64_t total = 0;
    char *expect = NULL;
    size_t expect_len = 0;
    FILE *ef = open_memstream(&expect, &expect_len);
    for (int call = 0; call < 10; call++) {
        int64_t n = 50 + call * 7;
        /* ids descending within a call, interleaved across calls: sorting is exercised. */
        for (int64_t r = n - 1; r >= 0; r--) {
            es_builder_append_int(es_builder_child(b, 0), r * 10 + call);
            for (int i = 0; i < N_TYPES; i++)
                append_random(es_builder_child(b, i + 1), all_formats[i], r);
            es_builder_append_struct(b);
        }
        struct ArrowArray arr;
        CHECK_OK(es_builder_finish(b, &arr, NULL));
        total += n;
        CHECK_OK(es_insert_batch(s, "types", &sc, &arr));
    }
    (void)ef;
    fclose(ef);
    free(expect);
    es_table_info info;
    CHECK_OK(es_table_describe(s, "types", -1, &info));
    CHECK_EQ_INT(info.n_rows, total);
    CHECK_EQ_INT(info.n_parts, 10);
    CHECK_EQ_INT(info.schema.n_children, N_TYPES + 1);
    CHECK_EQ_STR(info.primary_key, "id");
    if (info.schema.n_children == N_TYPES + 1)
        CHECK_EQ_STR(info.schema.children[5]->format, all_formats[4]);
    es_table_info_reset(&info);

    /* Full scan: every row once, every type comes back with its format and name. */
    struct ArrowArrayStream st;
    es_scan_options so = ES_SCAN_OPTIONS_INIT;
    CHECK_OK(es_scan(s, "types", &so, &st));
    struct ArrowSchema out;
    CHECK_EQ_INT(st.get_schema(&st, &out), 0);
    CHECK_EQ_INT(out.n_children, N_TYPES + 1);
    for (int i = 0; i < N_TYPES && out.n_children == N_TYPES + 1; i++)
        CHECK_EQ_STR(out.children[i + 1]->format, all_formats[i]);
    out.release(&out);
    int64_t rows = 0, *ids = NULL;
    char msg[512];
    CHECK_EQ_INT(drain(&st, &rows, &ids, msg, sizeof(msg)), 0);
    st.release(&st);
    CHECK_EQ_INT(rows, total);
    qsort(ids, (size_t)rows, sizeof(int64_t), cmp_i64);
    int dup = 0;
    for (int64_t i = 1; i < rows; i++)
        dup += ids[i] == ids[i - 1];
    CHECK_EQ_INT(dup, 0);
    free(ids);

    /* Projection, reordered, by logical names; predicates on several types. */
    const char *cols[] = {"col11", "id", "col4"};
    so.columns = cols;
    so.n_columns = 3;
    es_expr *e = es_expr_and(es_expr_cmp("col11", ES_GE, vstr("v100")), es_expr_is_null("col4", 1));
    so.predicate = e;
    CHECK_OK(es_scan(s, "types", &so, &st));
    CHECK_EQ_INT(st.get_schema(&st, &out), 0);
    CHECK_EQ_INT(out.n_children, 3);
    if (out.n_children == 3) {
        CHECK_EQ_STR(out.children[0]->name, "col11");
        CHECK_EQ_STR(out.children[1]->name, "id");
        CHECK_EQ_STR(out.children[2]->name, "col4");
    }
    int bad = 0;
    rows = 0;
    for (;;) {
        struct ArrowArray a;
        if (st.get_next(&st, &a) != 0 || !a.release)
            break;
        es_array_view v;
        CHECK_OK(es_array_view_init(&v, &out, &a, NULL));
        for (int64_t i = 0; i < v.length; i++) {
            int64_t len;
            const uint8_t *p = es_view_get_bytes(&v.children[0], i, &len);
            if (es_view_is_null(&v.children[0], i) || es_view_is_null(&v.children[2], i) ||
                memcmp(p, "v100", (size_t)(len < 4 ? len : 4)) < 0 ||
                (len < 4 && memcmp(p, "v100", (size_t)len) == 0))
                bad++;
        }
        rows += v.length;
        es_array_view_reset(&v);
        a.release(&a);
    }
    out.release(&out);
    st.release(&st);
    CHECK(rows > 0);
    CHECK_EQ_INT(bad, 0);
    es_expr_free(e);

    /* No columns at all (COUNT(*)): rows still counted, with and without a predicate. */
    so.columns = cols;
    so.n_columns = 0;
    so.predicate = NULL;
    CHECK_OK(es_scan(s, "types", &so, &st));
    CHECK_EQ_INT(drain(&st, &rows, NULL, msg, sizeof(msg)), 0);
    st.release(&st);
    CHECK_EQ_INT(rows, total);
    e = es_expr_cmp("id", ES_LT, vint(100));
    so.predicate = e;
    CHECK_OK(es_scan(s, "types", &so, &st));
    CHECK_EQ_INT(drain(&st, &rows, NULL, msg, sizeof(msg)), 0);
    st.release(&st);
    CHECK_EQ_INT(rows, 100);
    es_expr_free(e);

    /* Misuse. */
    const char *nocol[] = {"nope"};
    so.columns = nocol;
    so.n_columns = 1;
    so.predicate = NULL;
    CHECK_EQ_INT(es_scan(s, "types", &so, &st), ES_INVALID);
    CHECK(strstr(es_store_errmsg(s), "nope") != NULL);
    CHECK_EQ_INT(es_scan(s, "missing", NULL, &st), ES_NOT_FOUND);
    e = es_expr_cmp("col11", ES_EQ, vint(3));
    so.columns = NULL;
    so.n_columns = 0;
    so.predicate = e;
    CHECK_EQ_INT(es_scan(s, "types", &so, &st), ES_INVALID);
    es_expr_free(e);

    es_builder_free(b);
    sc.release(&sc);
    es_store_close(s);
}

/* A string primary key: rows come back sorted by it (one insert, one part). */
static void test_string_key(const char *uri)
{
    es_store *s = NULL;
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.batch_rows = 50;
    CHECK_OK(es_store_open(&s, uri, &o));
    if (!s)
        return;
    struct ArrowSchema sc;
    CHECK_OK(es_schema_init_struct(&sc, 2, NULL));
    CHECK_OK(es_schema_init(sc.children[0], "u", "name", 0, NULL));
    CHECK_OK(es_schema_init(sc.children[1], "i", "n", ARROW_FLAG_NULLABLE, NULL));
    es_table_drop(s, "skey", 1);
    CHECK_OK(es_table_create(s, "skey", &sc, "name", 0));
    es_builder *b = NULL;
    CHECK_OK(es_builder_new(&b, &sc, NULL));
    for (int i = 0; i < 500; i++) {
        char str[32];
        int k = (int)((i * 7919) % 500);
        snprintf(str, sizeof(str), "k%d", k);
        es_builder_append_bytes(es_builder_child(b, 0), str, (int64_t)strlen(str));
        es_builder_append_int(es_builder_child(b, 1), k);
        es_builder_append_struct(b);
    }
    struct ArrowArray arr;
    CHECK_OK(es_builder_finish(b, &arr, NULL));
    CHECK_OK(es_insert_batch(s, "skey", &sc, &arr));
    es_scan_options so = ES_SCAN_OPTIONS_INIT;
    es_scan_stats stats;
    es_expr *e = es_expr_between("name", vstr("k2"), vstr("k3"));
    so.predicate = e;
    so.stats = &stats;
    struct ArrowArrayStream st;
    CHECK_OK(es_scan(s, "skey", &so, &st));
    struct ArrowSchema out;
    CHECK_EQ_INT(st.get_schema(&st, &out), 0);
    char prev[32] = "";
    int64_t rows = 0, unsorted = 0;
    for (;;) {
        struct ArrowArray a;
        if (st.get_next(&st, &a) != 0 || !a.release)
            break;
        es_array_view v;
        CHECK_OK(es_array_view_init(&v, &out, &a, NULL));
        for (int64_t i = 0; i < v.length; i++) {
            int64_t len;
            const uint8_t *p = es_view_get_bytes(&v.children[0], i, &len);
            char cur[32];
            snprintf(cur, sizeof(cur), "%.*s", (int)len, (const char *)p);
            unsorted += strcmp(prev, cur) > 0;
            snprintf(prev, sizeof(prev), "%s", cur);
            rows++;
        }
        es_array_view_reset(&v);
        a.release(&a);
    }
    out.release(&out);
    st.release(&st);
    /* "k2" <= name <= "k3": k2, k20..k29, k200..k299, k3 */
    CHECK_EQ_INT(rows, 1 + 10 + 100 + 1);
    CHECK_EQ_INT(unsorted, 0);
    CHECK(stats.batches_skipped >= 5);
    es_expr_free(e);
    es_builder_free(b);
    sc.release(&sc);
    es_store_close(s);
}

/* es_insert from a stream, compressed .data files, a missing nullable column, type errors. */
static void test_stream_and_compression(const char *uri)
{
    for (int comp = 0; comp < 3; comp++) {
        es_store *s = NULL;
        es_open_options o = ES_OPEN_OPTIONS_INIT;
        o.batch_rows = 40;
        o.compression = (es_compression)comp;
        CHECK_OK(es_store_open(&s, uri, &o));
        if (!s)
            return;
        struct ArrowSchema sc, in;
        CHECK_OK(es_schema_init_struct(&sc, 3, NULL));
        CHECK_OK(es_schema_init(sc.children[0], "l", "id", 0, NULL));
        CHECK_OK(es_schema_init(sc.children[1], "u", "s", ARROW_FLAG_NULLABLE, NULL));
        CHECK_OK(es_schema_init(sc.children[2], "g", "x", ARROW_FLAG_NULLABLE, NULL));
        es_table_drop(s, "strm", 1);
        CHECK_OK(es_table_create(s, "strm", &sc, NULL, 0));
        /* The input has only id and s, in the other order. */
        CHECK_OK(es_schema_init_struct(&in, 2, NULL));
        CHECK_OK(es_schema_init(in.children[0], "u", "s", ARROW_FLAG_NULLABLE, NULL));
        CHECK_OK(es_schema_init(in.children[1], "l", "id", 0, NULL));
        es_builder *b = NULL;
        CHECK_OK(es_builder_new(&b, &in, NULL));
        struct ArrowArray batches[3];
        for (int k = 0; k < 3; k++) {
            for (int i = 0; i < 100; i++) {
                char str[32];
                snprintf(str, sizeof(str), "text %d %d", k, i);
                es_builder_append_bytes(es_builder_child(b, 0), str, (int64_t)strlen(str));
                es_builder_append_int(es_builder_child(b, 1), k * 100 + i);
                es_builder_append_struct(b);
            }
            CHECK_OK(es_builder_finish(b, &batches[k], NULL));
        }
        struct ArrowArrayStream st;
        CHECK_OK(es_stream_from_batches(&st, &in, batches, 3, NULL));
        CHECK_OK(es_insert(s, "strm", &st));
        CHECK(st.release == NULL);
        es_scan_options so = ES_SCAN_OPTIONS_INIT;
        es_expr *e = es_expr_and(es_expr_is_null("x", 0), es_expr_cmp("s", ES_LT, vstr("text 1")));
        so.predicate = e;
        struct ArrowArrayStream out;
        CHECK_OK(es_scan(s, "strm", &so, &out));
        int64_t rows = 0;
        char msg[512];
        CHECK_EQ_INT(drain(&out, &rows, NULL, msg, sizeof(msg)), 0);
        out.release(&out);
        CHECK_EQ_INT(rows, 100);
        es_expr_free(e);
        /* Wrong type for a column; unknown column; NULL in a non-nullable column. */
        struct ArrowSchema bad;
        CHECK_OK(es_schema_init_struct(&bad, 1, NULL));
        CHECK_OK(es_schema_init(bad.children[0], "i", "id", 0, NULL));
        es_builder *bb = NULL;
        CHECK_OK(es_builder_new(&bb, &bad, NULL));
        es_builder_append_int(es_builder_child(bb, 0), 1);
        es_builder_append_struct(bb);
        struct ArrowArray arr;
        CHECK_OK(es_builder_finish(bb, &arr, NULL));
        CHECK_EQ_INT(es_insert_batch(s, "strm", &bad, &arr), ES_INVALID);
        CHECK(arr.release == NULL);
        CHECK(strstr(es_store_errmsg(s), "id") != NULL);
        es_builder_free(bb);
        bad.release(&bad);
        CHECK_OK(es_schema_init_struct(&bad, 1, NULL));
        CHECK_OK(es_schema_init(bad.children[0], "l", "id", ARROW_FLAG_NULLABLE, NULL));
        CHECK_OK(es_builder_new(&bb, &bad, NULL));
        es_builder_append_null(es_builder_child(bb, 0), 1);
        es_builder_append_struct(bb);
        CHECK_OK(es_builder_finish(bb, &arr, NULL));
        CHECK_EQ_INT(es_insert_batch(s, "strm", &bad, &arr), ES_INVALID);
        CHECK(strstr(es_store_errmsg(s), "NULL") != NULL);
        es_builder_free(bb);
        bad.release(&bad);
        es_table_info info;
        CHECK_OK(es_table_describe(s, "strm", -1, &info));
        CHECK_EQ_INT(info.n_rows, 300);
        es_table_info_reset(&info);
        es_builder_free(b);
        in.release(&in);
        sc.release(&sc);
        es_store_close(s);
    }
}

/* ------------------------------------------------------------ SQLite oracle */

/* Oracle table: id BIGINT pk, a INT32, b DOUBLE, c UTF8, d UINT16, f BOOL, t TIMESTAMP[us]. */
static const char *ocols[] = {"id", "a", "b", "c", "d", "f", "t"};
static const char *ofmts[] = {"l", "i", "g", "u", "S", "b", "tsu:"};
#define N_OCOLS 7

typedef struct pred_pair {
    es_expr *e;
    char sql[2048];
} pred_pair;

static es_expr *random_pred(char *sql, size_t cap, int depth)
{
    oracle_cols o = {ocols, ofmts, N_OCOLS, 0, 1100, 2};
    return oracle_random_pred(&o, sql, cap, depth);
}

/* n_queries random predicates on a table of about a thousand rows in 8 parts. */
static void test_oracle(const char *uri, int n_queries)
{
    es_store *s = NULL;
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.batch_rows = 100;
    CHECK_OK(es_store_open(&s, uri, &o));
    if (!s)
        return;
    sqlite3 *db = NULL;
    CHECK_EQ_INT(sqlite3_open(":memory:", &db), SQLITE_OK);
    sqlite3_exec(db,
                 "CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER, b REAL, c TEXT, d INTEGER, "
                 "f INTEGER, t INTEGER)",
                 NULL, NULL, NULL);
    sqlite3_stmt *ins = NULL;
    sqlite3_prepare_v2(db, "INSERT INTO t VALUES(?,?,?,?,?,?,?)", -1, &ins, NULL);
    struct ArrowSchema sc;
    CHECK_OK(es_schema_init_struct(&sc, N_OCOLS, NULL));
    for (int i = 0; i < N_OCOLS; i++)
        CHECK_OK(
            es_schema_init(sc.children[i], ofmts[i], ocols[i], i ? ARROW_FLAG_NULLABLE : 0, NULL));
    es_table_drop(s, "oracle", 1);
    CHECK_OK(es_table_create(s, "oracle", &sc, "id", 0));
    es_builder *b = NULL;
    CHECK_OK(es_builder_new(&b, &sc, NULL));
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    int64_t next_id = 0;
    for (int call = 0; call < 8; call++) {
        int64_t n = rnd_in(50, 250);
        for (int64_t r = 0; r < n; r++) {
            /* ids: clustered per call so that part statistics prune sometimes */
            int64_t id = next_id++ * 1 + (call % 2 ? 0 : 0);
            sqlite3_reset(ins);
            es_builder_append_int(es_builder_child(b, 0), id);
            sqlite3_bind_int64(ins, 1, id);
            for (int c = 1; c < N_OCOLS; c++)
                oracle_random_value(es_builder_child(b, c), ins, c, ofmts[c]);
            es_builder_append_struct(b);
            sqlite3_step(ins);
        }
        struct ArrowArray arr;
        CHECK_OK(es_builder_finish(b, &arr, NULL));
        CHECK_OK(es_insert_batch(s, "oracle", &sc, &arr));
    }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_finalize(ins);

    int mismatches = 0, nonempty = 0, pruned = 0;
    for (int q = 0; q < n_queries; q++) {
        char where[4096], query[4200];
        es_expr *e = random_pred(where, sizeof(where), 0);
        CHECK(e != NULL);
        if (!e)
            continue;
        snprintf(query, sizeof(query), "SELECT id FROM t WHERE %s ORDER BY id", where);
        sqlite3_stmt *qs = NULL;
        if (sqlite3_prepare_v2(db, query, -1, &qs, NULL) != SQLITE_OK) {
            fprintf(stderr, "bad oracle query %s\n", query);
            es_expr_free(e);
            check_failed++;
            continue;
        }
        int64_t *want = NULL, nwant = 0;
        while (sqlite3_step(qs) == SQLITE_ROW) {
            want = realloc(want, (size_t)(nwant + 1) * sizeof(int64_t));
            want[nwant++] = sqlite3_column_int64(qs, 0);
        }
        sqlite3_finalize(qs);
        es_scan_options so = ES_SCAN_OPTIONS_INIT;
        es_scan_stats stats;
        const char *proj[] = {"id", "c"};
        so.columns = proj;
        so.n_columns = 2;
        so.predicate = e;
        so.stats = &stats;
        struct ArrowArrayStream st;
        int64_t *got = NULL, ngot = 0;
        char msg[512] = "";
        es_status rc = es_scan(s, "oracle", &so, &st);
        if (rc == ES_OK) {
            if (drain(&st, &ngot, &got, msg, sizeof(msg)) != 0)
                rc = ES_IO;
            st.release(&st);
        }
        if (rc == ES_OK && ngot > 0)
            qsort(got, (size_t)ngot, sizeof(int64_t), cmp_i64);
        int same = rc == ES_OK && ngot == nwant &&
                   (nwant == 0 || memcmp(got, want, (size_t)nwant * sizeof(int64_t)) == 0);
        if (!same) {
            mismatches++;
            char fmt[4096];
            es_expr_format(fmt, sizeof(fmt), e);
            fprintf(stderr, "oracle mismatch (%s %s): sqlite %lld rows, expstore %lld: %s\n  %s\n",
                    es_status_name(rc), msg[0] ? msg : es_store_errmsg(s), (long long)nwant,
                    (long long)ngot, where, fmt);
        }
        nonempty += nwant > 0;
        pruned += stats.batches_skipped > 0 || stats.parts_skipped > 0;
        free(want);
        free(got);
        es_expr_free(e);
    }
    CHECK_EQ_INT(mismatches, 0);
    CHECK(nonempty > n_queries / 8);
    CHECK(pruned > n_queries / 40);
    printf("oracle: %d predicates, %d non-empty, %d pruned something\n", n_queries, nonempty,
           pruned);
    es_builder_free(b);
    sc.release(&sc);
    sqlite3_close(db);
    es_store_close(s);
}

/* ---------------------------------------------------------------- pruning */

/* `total` rows in 10 inserts (parts) of whole record batches of `batch_rows` rows. */
static void test_pruning(const char *uri, int64_t total, int64_t batch_rows)
{
    es_store *s = NULL;
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.batch_rows = batch_rows;
    CHECK_OK(es_store_open(&s, uri, &o));
    if (!s)
        return;
    struct ArrowSchema sc;
    CHECK_OK(es_schema_init_struct(&sc, 3, NULL));
    CHECK_OK(es_schema_init(sc.children[0], "l", "id", 0, NULL));
    CHECK_OK(es_schema_init(sc.children[1], "i", "v", ARROW_FLAG_NULLABLE, NULL));
    CHECK_OK(es_schema_init(sc.children[2], "g", "x", ARROW_FLAG_NULLABLE, NULL));
    es_table_drop(s, "big", 1);
    CHECK_OK(es_table_create(s, "big", &sc, "id", 0));
    es_builder *b = NULL;
    CHECK_OK(es_builder_new(&b, &sc, NULL));
    int64_t calls = 10, per = total / calls;
    for (int64_t call = 0; call < calls; call++) {
        es_builder_reserve(es_builder_child(b, 0), per);
        es_builder_reserve(es_builder_child(b, 1), per);
        es_builder_reserve(es_builder_child(b, 2), per);
        for (int64_t r = 0; r < per; r++) {
            int64_t id = call * per + r;
            es_builder_append_int(es_builder_child(b, 0), id);
            es_builder_append_int(es_builder_child(b, 1), id % 1000);
            es_builder_append_double(es_builder_child(b, 2), (double)id * 0.5);
            es_builder_append_struct(b);
        }
        struct ArrowArray arr;
        CHECK_OK(es_builder_finish(b, &arr, NULL));
        CHECK_OK(es_insert_batch(s, "big", &sc, &arr));
    }
    /* Narrow key range, two of three columns. */
    int64_t lo = total / 2 + 12345, hi = lo + 99;
    es_expr *e = es_expr_between("id", vint(lo), vint(hi));
    es_scan_options so = ES_SCAN_OPTIONS_INIT;
    es_scan_stats stats;
    const char *proj[] = {"id", "v"};
    so.columns = proj;
    so.n_columns = 2;
    so.predicate = e;
    so.stats = &stats;
    struct ArrowArrayStream st;
    int64_t rows = 0, *ids = NULL;
    char msg[512];
    CHECK_OK(es_scan(s, "big", &so, &st));
    CHECK_EQ_INT(drain(&st, &rows, &ids, msg, sizeof(msg)), 0);
    st.release(&st);
    CHECK_EQ_INT(rows, 100);
    for (int64_t i = 0; i < rows; i++)
        CHECK_EQ_INT(ids[i], lo + i);
    free(ids);
    /* A batch holds batch_rows rows; the two needed columns are 12 bytes a row. At most two
     * batches' worth of them plus their metadata and the part's .idx may be fetched. */
    int64_t batch_worth = batch_rows * (8 + 4) + 4096;
    printf("pruning: %lld rows, parts %lld/%lld skipped, batches %lld/%lld skipped, %lld "
           "requests, %lld bytes\n",
           (long long)total, (long long)stats.parts_skipped, (long long)stats.parts_total,
           (long long)stats.batches_skipped, (long long)stats.batches_total,
           (long long)stats.requests, (long long)stats.bytes_fetched);
    CHECK(stats.parts_total >= calls);
    CHECK(stats.parts_total - stats.parts_skipped <= 2);
    CHECK(stats.batches_total - stats.batches_skipped <= 2);
    CHECK(stats.requests <= 2 + 2 * 3);
    CHECK(stats.bytes_fetched <= 2 * batch_worth + 64 * 1024);
    CHECK(stats.bytes_fetched > 0);
    es_expr_free(e);

    /* Point lookups. */
    int ok = 0;
    for (int k = 0; k < 50; k++) {
        int64_t key = rnd_in(0, total - 1);
        e = es_expr_cmp("id", ES_EQ, vint(key));
        so.predicate = e;
        so.columns = proj;
        CHECK_OK(es_scan(s, "big", &so, &st));
        rows = 0;
        ids = NULL;
        if (drain(&st, &rows, &ids, msg, sizeof(msg)) == 0 && rows == 1 && ids[0] == key)
            ok++;
        st.release(&st);
        free(ids);
        es_expr_free(e);
    }
    CHECK_EQ_INT(ok, 50);
    /* Full count with a predicate on a non-key column: nothing can be pruned. */
    e = es_expr_cmp("v", ES_EQ, vint(7));
    so.predicate = e;
    so.columns = NULL;
    so.n_columns = 0;
    CHECK_OK(es_scan(s, "big", &so, &st));
    CHECK_EQ_INT(drain(&st, &rows, NULL, msg, sizeof(msg)), 0);
    st.release(&st);
    CHECK_EQ_INT(rows, total / 1000);
    es_expr_free(e);
    es_builder_free(b);
    sc.release(&sc);
    CHECK_OK(es_table_drop(s, "big", 0));
    es_store_close(s);
}

/* ------------------------------------------------- time travel, versions */

static void insert_ids(es_store *s, const char *table, int64_t from, int64_t n)
{
    struct ArrowSchema sc;
    es_schema_init_struct(&sc, 1, NULL);
    es_schema_init(sc.children[0], "l", "id", 0, NULL);
    es_builder *b = NULL;
    es_builder_new(&b, &sc, NULL);
    for (int64_t i = 0; i < n; i++) {
        es_builder_append_int(es_builder_child(b, 0), from + i);
        es_builder_append_struct(b);
    }
    struct ArrowArray arr;
    es_builder_finish(b, &arr, NULL);
    CHECK_OK(es_insert_batch(s, table, &sc, &arr));
    es_builder_free(b);
    sc.release(&sc);
}

static int64_t count_rows(es_store *s, const char *table, int64_t at, es_status *rc, char *msg,
                          size_t cap)
{
    es_scan_options so = ES_SCAN_OPTIONS_INIT;
    so.at_version = at;
    struct ArrowArrayStream st;
    int64_t rows = -1;
    msg[0] = 0;
    *rc = es_scan(s, table, &so, &st);
    if (*rc) {
        snprintf(msg, cap, "%s", es_store_errmsg(s));
        return -1;
    }
    if (drain(&st, &rows, NULL, msg, cap) != 0) {
        *rc = ES_CORRUPT;
        rows = -1;
    }
    st.release(&st);
    return rows;
}

static void test_versions(const char *uri)
{
    es_store *s = NULL;
    CHECK_OK(es_store_open(&s, uri, NULL));
    if (!s)
        return;
    struct ArrowSchema sc;
    es_schema_init_struct(&sc, 1, NULL);
    es_schema_init(sc.children[0], "l", "id", 0, NULL);
    es_table_drop(s, "tt", 1);
    CHECK_OK(es_table_create(s, "tt", &sc, NULL, 0));
    int64_t v0, v;
    CHECK_OK(es_store_version(s, &v0));
    for (int i = 0; i < 25; i++)
        insert_ids(s, "tt", i * 10, 10);
    CHECK_OK(es_store_version(s, &v));
    CHECK_EQ_INT(v, v0 + 25);
    es_status rc;
    char msg[512];
    CHECK_EQ_INT(count_rows(s, "tt", -1, &rc, msg, sizeof(msg)), 250);
    CHECK_EQ_INT(count_rows(s, "tt", v0, &rc, msg, sizeof(msg)), 0);
    CHECK_EQ_INT(count_rows(s, "tt", v0 + 7, &rc, msg, sizeof(msg)), 70);
    CHECK_EQ_INT(count_rows(s, "tt", v0 + 13, &rc, msg, sizeof(msg)), 130);
    count_rows(s, "tt", v + 5, &rc, msg, sizeof(msg));
    CHECK_EQ_INT(rc, ES_NOT_FOUND);
    es_table_info info;
    CHECK_OK(es_table_describe(s, "tt", v0 + 3, &info));
    CHECK_EQ_INT(info.n_rows, 30);
    CHECK_EQ_INT(info.version, v0 + 3);
    es_table_info_reset(&info);
    /* A second handle sees the same state (through a checkpoint: 25 versions were written). */
    es_store *s2 = NULL;
    CHECK_OK(es_store_open(&s2, uri, NULL));
    CHECK_EQ_INT(count_rows(s2, "tt", -1, &rc, msg, sizeof(msg)), 250);
    char **names = NULL;
    int64_t n = 0;
    CHECK_OK(es_table_list(s2, &names, &n));
    int found = 0;
    for (int64_t i = 0; i < n; i++)
        found += strcmp(names[i], "tt") == 0;
    CHECK_EQ_INT(found, 1);
    es_strings_free(names, n);
    CHECK_OK(es_table_drop(s2, "tt", 0));
    CHECK_EQ_INT(count_rows(s, "tt", -1, &rc, msg, sizeof(msg)), -1);
    CHECK_EQ_INT(rc, ES_NOT_FOUND);
    /* Still readable before the drop. */
    CHECK_EQ_INT(count_rows(s, "tt", v, &rc, msg, sizeof(msg)), 250);
    es_store_close(s2);
    sc.release(&sc);
    es_store_close(s);
}

/* ------------------------------------------------------------- corruption */

static void flip_byte(es_objstore *os, const char *key, size_t at)
{
    es_blob *b = NULL;
    CHECK_OK(es_objstore_get(os, key, 0, UINT64_MAX, &b, NULL));
    if (!b)
        return;
    uint8_t *copy = malloc(b->size);
    memcpy(copy, b->data, b->size);
    copy[at % b->size] ^= 0x5A;
    CHECK_OK(es_objstore_put(os, key, copy, b->size, ES_PUT_ALWAYS, NULL, NULL, NULL));
    free(copy);
    es_blob_unref(b);
}

static void test_corruption(const char *uri)
{
    es_store *s = NULL;
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.batch_rows = 10;
    CHECK_OK(es_store_open(&s, uri, &o));
    if (!s)
        return;
    struct ArrowSchema sc;
    es_schema_init_struct(&sc, 1, NULL);
    es_schema_init(sc.children[0], "l", "id", 0, NULL);
    es_table_drop(s, "bad", 1);
    CHECK_OK(es_table_create(s, "bad", &sc, "id", 0));
    insert_ids(s, "bad", 0, 100);
    es_table_info info;
    CHECK_OK(es_table_describe(s, "bad", -1, &info));
    es_table_info_reset(&info);
    es_store_close(s);
    es_objstore *os = NULL;
    CHECK_OK(es_objstore_open(&os, uri, NULL));
    if (!os)
        return;
    /* Find this table's objects: the newest table dir holding an .idx of a 100-row part. */
    char idx[512] = "", data[512] = "";
    es_obj_list l = {0};
    CHECK_OK(es_objstore_list(os, "", NULL, 0, &l, NULL));
    es_store *chk = NULL;
    CHECK_OK(es_store_open(&chk, uri, NULL));
    for (int64_t i = 0; i < l.n; i++) {
        const char *k = l.items[i].key;
        size_t kl = strlen(k);
        if (kl > 4 && strcmp(k + kl - 4, ".idx") == 0) {
            /* Is it referenced by table "bad"? Flip and check the scan fails; restore if not. */
            snprintf(idx, sizeof(idx), "%s", k);
            snprintf(data, sizeof(data), "%.*s.data", (int)(kl - 4), k);
            es_blob *orig = NULL;
            es_objstore_get(os, idx, 0, UINT64_MAX, &orig, NULL);
            flip_byte(os, idx, 100);
            es_store *h = NULL;
            es_store_open(&h, uri, NULL);
            es_status rc;
            char msg[512];
            int64_t rows = count_rows(h, "bad", -1, &rc, msg, sizeof(msg));
            es_store_close(h);
            es_objstore_put(os, idx, orig->data, orig->size, ES_PUT_ALWAYS, NULL, NULL, NULL);
            es_blob_unref(orig);
            if (rows == 100)
                continue; /* another table's part */
            CHECK_EQ_INT(rc, ES_CORRUPT);
            CHECK(strstr(msg, idx) != NULL);
            if (!strstr(msg, idx))
                fprintf(stderr, "message: %s\n", msg);
            break;
        }
    }
    es_obj_list_reset(&l);
    es_store_close(chk);
    CHECK(idx[0] != 0);
    es_status rc;
    char msg[512];
    es_store *h = NULL;
    /* A flipped byte in the .data: checksum mismatch naming the .data object. */
    {
        es_blob *orig = NULL;
        CHECK_OK(es_objstore_get(os, data, 0, UINT64_MAX, &orig, NULL));
        for (size_t at = 8; orig && at < orig->size - 16; at += orig->size / 7) {
            flip_byte(os, data, at);
            CHECK_OK(es_store_open(&h, uri, NULL));
            int64_t rows = count_rows(h, "bad", -1, &rc, msg, sizeof(msg));
            /* Either the flipped byte lies in padding/footer that a scan never reads (then all
             * rows come back), or it is detected: never wrong rows. */
            CHECK(rows == 100 || (rows == -1 && rc == ES_CORRUPT && strstr(msg, data)));
            es_store_close(h);
            es_objstore_put(os, data, orig->data, orig->size, ES_PUT_ALWAYS, NULL, NULL, NULL);
        }
        /* Deleted .data. */
        const char *keys[] = {data};
        CHECK_OK(es_objstore_delete(os, keys, 1, NULL));
        CHECK_OK(es_store_open(&h, uri, NULL));
        CHECK_EQ_INT(count_rows(h, "bad", -1, &rc, msg, sizeof(msg)), -1);
        CHECK_EQ_INT(rc, ES_CORRUPT);
        CHECK(strstr(msg, data) != NULL);
        es_store_close(h);
        if (orig)
            es_objstore_put(os, data, orig->data, orig->size, ES_PUT_ALWAYS, NULL, NULL, NULL);
        es_blob_unref(orig);
        CHECK_OK(es_store_open(&h, uri, NULL));
        CHECK_EQ_INT(count_rows(h, "bad", -1, &rc, msg, sizeof(msg)), 100);
        es_store_close(h);
    }
    /* A truncated log entry (the latest): opening warns naming it and reads go on at the
     * version before it; writes fail with ES_CORRUPT naming it. */
    {
        int64_t v = 0;
        CHECK_OK(es_store_open(&h, uri, NULL));
        CHECK_OK(es_store_version(h, &v));
        es_store_close(h);
        char key[64];
        snprintf(key, sizeof(key), "_log/%020lld.json", (long long)v);
        es_blob *orig = NULL;
        CHECK_OK(es_objstore_get(os, key, 0, UINT64_MAX, &orig, NULL));
        if (orig) {
            es_objstore_put(os, key, orig->data, orig->size / 2, ES_PUT_ALWAYS, NULL, NULL, NULL);
            es_status st = es_store_open(&h, uri, NULL);
            CHECK_OK(st);
            CHECK_EQ_INT(es_store_errcode(h), ES_OK);
            CHECK(h && strstr(es_store_errmsg(h), key) != NULL);
            CHECK(h && strstr(es_store_errmsg(h), "the log is damaged") != NULL);
            int64_t at = -1;
            CHECK_OK(es_store_version(h, &at));
            CHECK_EQ_INT(at, v - 1);
            CHECK_EQ_INT(es_table_drop(h, "bad", 0), ES_CORRUPT);
            CHECK(h && strstr(es_store_errmsg(h), key) != NULL);
            es_store_close(h);
            es_objstore_put(os, key, orig->data, orig->size, ES_PUT_ALWAYS, NULL, NULL, NULL);
            es_blob_unref(orig);
        }
        CHECK_OK(es_store_open(&h, uri, NULL));
        CHECK_EQ_INT(count_rows(h, "bad", -1, &rc, msg, sizeof(msg)), 100);
        es_store_close(h);
    }
    sc.release(&sc);
    es_objstore_close(os);
}

/* ---------------------------------------------------------------- interop */

static int write_interop(const char *dir)
{
    es_store *s = NULL;
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    /* Paged parts (ES_BATCH_PAGES, tests/pages.cmake) need pages of a multiple of 8 rows. */
    o.batch_rows = getenv("ES_BATCH_PAGES") ? 8 : 7;
    if (es_store_open(&s, dir, &o) != ES_OK) {
        fprintf(stderr, "%s\n", es_store_errmsg(s));
        return 1;
    }
    static const char *fm[] = {"l", "u", "g", "i", "tsu:UTC", "d:12,3", "b", "z"};
    static const char *nm[] = {"id", "name", "amount", "n", "ts", "price", "flag", "blob"};
    struct ArrowSchema sc, phys;
    es_schema_init_struct(&sc, 8, NULL);
    es_schema_init_struct(&phys, 8, NULL);
    for (int i = 0; i < 8; i++) {
        char pn[8];
        snprintf(pn, sizeof(pn), "c%d", i);
        es_schema_init(sc.children[i], fm[i], nm[i], i ? ARROW_FLAG_NULLABLE : 0, NULL);
        es_schema_init(phys.children[i], fm[i], pn, i ? ARROW_FLAG_NULLABLE : 0, NULL);
    }
    if (es_table_create(s, "interop", &sc, "id", 0) != ES_OK) {
        fprintf(stderr, "%s\n", es_store_errmsg(s));
        return 1;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/expected.jsonl", dir);
    FILE *f = fopen(path, "w");
    es_builder *b = NULL;
    es_builder_new(&b, &sc, NULL);
    for (int call = 0; call < 3; call++) {
        for (int r = 0; r < 20; r++) {
            for (int i = 0; i < 8; i++)
                if (i == 0)
                    es_builder_append_int(es_builder_child(b, 0), call * 100 + (19 - r));
                else
                    append_random(es_builder_child(b, i), fm[i], r);
            es_builder_append_struct(b);
        }
        struct ArrowArray arr, copy;
        es_builder_finish(b, &arr, NULL);
        /* The expected rows, as canonical JSON with physical names (order is irrelevant: the
         * script sorts both sides). */
        es_json_write_rows(f, &phys, &arr, NULL);
        (void)copy;
        if (es_insert_batch(s, "interop", &sc, &arr) != ES_OK) {
            fprintf(stderr, "%s\n", es_store_errmsg(s));
            return 1;
        }
    }
    fclose(f);
    /* The inserts were small: their rows are inlined in the log entries, as Arrow IPC streams.
     * Write those bytes (as the entries hold them) for Arrow JS to read, then flush the rows
     * into a part (.data). */
    const es_tabledef *t = es_snapshot_find(s->snap, "interop");
    for (int64_t p = 0; t && p < t->n_parts; p++) {
        const es_blob *ipc = t->parts[p]->inline_ipc;
        snprintf(path, sizeof(path), "%s/inline_%lld.arrows", dir, (long long)p);
        FILE *out = ipc ? fopen(path, "wb") : NULL;
        if (!out || fwrite(ipc->data, 1, ipc->size, out) != ipc->size || fclose(out) != 0) {
            fprintf(stderr, "%s: cannot write the inline rows\n", path);
            return 1;
        }
    }
    if (es_table_flush(s, "interop", NULL) != ES_OK) {
        fprintf(stderr, "%s\n", es_store_errmsg(s));
        return 1;
    }
    es_builder_free(b);
    sc.release(&sc);
    phys.release(&phys);
    es_store_close(s);
    return 0;
}

/* Predicates of any length, and nesting past the limit: chains of one combinator are flattened
 * when bound (100,000 terms, built left-deep, right-deep and through NOT), freed without
 * recursion; alternating AND and OR deeper than the limit is refused, not a stack overflow. */
static void test_deep_predicates(const char *uri)
{
    es_store *s = NULL;
    CHECK_OK(es_store_open(&s, uri, NULL));
    if (!s)
        return;
    struct ArrowSchema sc;
    CHECK_OK(es_schema_init_struct(&sc, 1, NULL));
    CHECK_OK(es_schema_init(sc.children[0], "l", "id", 0, NULL));
    es_table_drop(s, "deep", 1);
    CHECK_OK(es_table_create(s, "deep", &sc, "id", 0));
    es_builder *b = NULL;
    CHECK_OK(es_builder_new(&b, &sc, NULL));
    for (int64_t r = 0; r < 100; r++) {
        es_builder_append_int(es_builder_child(b, 0), r);
        es_builder_append_struct(b);
    }
    struct ArrowArray arr;
    CHECK_OK(es_builder_finish(b, &arr, NULL));
    CHECK_OK(es_insert_batch(s, "deep", &sc, &arr));
    es_builder_free(b);
    sc.release(&sc);
    const int64_t terms = 100000;
    es_scan_options so = ES_SCAN_OPTIONS_INIT;
    struct ArrowArrayStream st;
    int64_t rows;
    char msg[512];
    /* id = 0 OR id = 1 OR ... (left-deep): ids 0..49 and 150.. match 50 rows. */
    es_expr *e = es_expr_cmp("id", ES_EQ, vint(0));
    for (int64_t k = 1; k < terms; k++)
        e = es_expr_or(e, es_expr_cmp("id", ES_EQ, vint(k < 50 ? k : k + 100)));
    so.predicate = e;
    CHECK_OK(es_scan(s, "deep", &so, &st));
    CHECK_EQ_INT(drain(&st, &rows, NULL, msg, sizeof(msg)), 0);
    st.release(&st);
    CHECK_EQ_INT(rows, 50);
    es_expr_format(msg, sizeof(msg), e);
    CHECK(strncmp(msg, "(id = 0 OR id = 1 OR id = 2 OR ", 31) == 0);
    es_expr_free(e);
    /* NOT (id <> 7 AND (id <> 8 AND ...)) (right-deep under NOT): id IN (7, 8, ...). */
    e = es_expr_cmp("id", ES_NE, vint(terms + 7));
    for (int64_t k = terms - 1; k >= 7; k--)
        e = es_expr_and(es_expr_cmp("id", ES_NE, vint(k)), e);
    e = es_expr_not(e);
    so.predicate = e;
    CHECK_OK(es_scan(s, "deep", &so, &st));
    CHECK_EQ_INT(drain(&st, &rows, NULL, msg, sizeof(msg)), 0);
    st.release(&st);
    CHECK_EQ_INT(rows, 93);
    es_expr_free(e);
    /* NOT NOT ... id < 10, 100,001 NOTs. */
    e = es_expr_cmp("id", ES_LT, vint(10));
    for (int64_t k = 0; k <= terms; k++)
        e = es_expr_not(e);
    so.predicate = e;
    CHECK_OK(es_scan(s, "deep", &so, &st));
    CHECK_EQ_INT(drain(&st, &rows, NULL, msg, sizeof(msg)), 0);
    st.release(&st);
    CHECK_EQ_INT(rows, 90);
    es_expr_free(e);
    /* (id = 1 OR (id = 2 AND (id = 3 OR ...))): alternating, nested 100,000 deep. */
    e = es_expr_cmp("id", ES_EQ, vint(0));
    for (int64_t k = 1; k < terms; k++) {
        es_expr *leaf = es_expr_cmp("id", ES_EQ, vint(k % 100));
        e = k % 2 ? es_expr_or(leaf, e) : es_expr_and(leaf, e);
    }
    so.predicate = e;
    CHECK_EQ_INT(es_scan(s, "deep", &so, &st), ES_INVALID);
    CHECK(strstr(es_store_errmsg(s), "nested too deeply") != NULL);
    es_expr_format(msg, sizeof(msg), e);
    CHECK(strlen(msg) > 0);
    es_expr_free(e);
    CHECK_OK(es_table_drop(s, "deep", 0));
    es_store_close(s);
}

/* ------------------------------------------------------------------- main */

/* Every section on uri: n_queries predicates against the SQLite oracle; the pruning test with
 * `prune_rows` rows (0: skipped) in record batches of `prune_batch` rows. */
static void run_all(const char *uri, int n_queries, int64_t prune_rows, int64_t prune_batch)
{
    printf("== %s\n", uri);
    TIMED(test_all_types(uri));
    TIMED(test_string_key(uri));
    TIMED(test_stream_and_compression(uri));
    TIMED(test_oracle(uri, n_queries));
    TIMED(test_versions(uri));
    TIMED(test_corruption(uri));
    TIMED(test_deep_predicates(uri));
    if (prune_rows > 0)
        TIMED(test_pruning(uri, prune_rows, prune_batch));
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--interop") == 0)
        return write_interop(argv[2]);
    const char *env = getenv("ES_TEST_STORE_URI");
    if (env && *env) {
        /* A remote store (the loopback RGW, a few ms a request): 120 oracle predicates (each
         * scan is some 7 GETs), and pruning with 400 thousand rows in batches of 8192 (10 parts
         * of 5 batches), which still counts the ranged GETs a narrow query makes over HTTP. */
        run_all(env, 120, 400000, 8192);
        return CHECK_DONE();
    }
    run_all("mem://test_table", 400, BIG_ROWS, 65536);
    char dir[] = "/tmp/es_test_table_XXXXXX";
    if (mkdtemp(dir)) {
        run_all(dir, 400, 0, 0);
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", dir);
    }
    return CHECK_DONE();
}
