/*
 * test_scan_mask: es_scan_options.selection (version 2 of the scan options): batches that end
 * with a "_sel" uint8 mask and come whole where the rows to return are scattered (deleted
 * rows, a predicate), against the same scan without it; version-1 options are still accepted.
 * The SQL engine scans this way (select.c), so its results after deletes are also checked
 * against the rows the plain scan returns.
 */
#include <stdint.h>

#include "check.h"
#include "testutil.h"
#include "expstore/expstore.h"
#include "expstore/sql.h"

/* The ids a scan returns (id is column 0, int64), in order; *whole: batches that came with
 * more rows than they select (only with the mask). Returns the count, -1 on error. */
static int64_t scan_ids(es_store *s, const es_expr *pred, int version, int selection, int64_t *ids,
                        int64_t cap, int64_t *whole)
{
    es_scan_options o = ES_SCAN_OPTIONS_INIT;
    const char *cols[] = {"id", "s"};
    o.version = version;
    o.columns = cols;
    o.n_columns = 2;
    o.predicate = pred;
    o.selection = selection;
    struct ArrowArrayStream st;
    struct ArrowSchema sc;
    if (es_scan(s, "t", &o, &st) != ES_OK)
        return -1;
    int64_t n = 0;
    *whole = 0;
    int ok = st.get_schema(&st, &sc) == 0 && sc.n_children == 2 + (selection && version > 1);
    if (ok && sc.n_children == 3)
        ok = strcmp(sc.children[2]->name, "_sel") == 0 && strcmp(sc.children[2]->format, "C") == 0;
    for (;;) {
        struct ArrowArray a;
        if (!ok || st.get_next(&st, &a) != 0 || !a.release)
            break;
        const int64_t *id = (const int64_t *)a.children[0]->buffers[1] + a.children[0]->offset;
        const uint8_t *m = NULL;
        if (sc.n_children == 3)
            m = (const uint8_t *)a.children[2]->buffers[1] + a.children[2]->offset;
        int64_t kept = 0;
        for (int64_t r = 0; r < a.length && n < cap; r++)
            if (!m || m[r]) {
                ids[n++] = id[r];
                kept++;
            }
        *whole += kept < a.length;
        a.release(&a);
    }
    st.release(&st);
    es_schema_release(&sc);
    return ok ? n : -1;
}

int main(void)
{
    es_store *s = NULL;
    es_open_options oo = ES_OPEN_OPTIONS_INIT;
    oo.batch_rows = 100;
    CHECK_OK(es_store_open(&s, "mem://mask", &oo));
    es_sql_session *q = NULL;
    CHECK_OK(es_sql_session_open(&q, s));
    es_sql_result r = ES_SQL_RESULT_INIT;
    CHECK_OK(es_sql_exec(q, "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, v INTEGER, s VARCHAR)",
                         &r));
    sbuf b = {0};
    sb_printf(&b, "INSERT INTO t VALUES (0, 0, 'x0')");
    for (int i = 1; i < 2000; i++)
        sb_printf(&b, ", (%d, %d, %s)", i, i % 97, i % 5 ? "'x'" : "NULL");
    CHECK_OK(es_sql_exec(q, b.p, &r));
    free(b.p);
    /* Scattered deletes: every batch of 100 rows loses some. */
    CHECK_OK(es_sql_exec(q, "DELETE FROM t WHERE id % 7 = 3 OR v = 11", &r));
    static int64_t plain[2000], masked[2000];
    int64_t whole = 0;
    es_expr *preds[2] = {NULL, es_expr_cmp("v", ES_LT, vint(40))};
    for (int k = 0; k < 2; k++) {
        int64_t np = scan_ids(s, preds[k], ES_SCAN_OPTIONS_VERSION, 0, plain, 2000, &whole);
        CHECK(np > 500);
        CHECK_EQ_INT(whole, 0);
        int64_t nm = scan_ids(s, preds[k], ES_SCAN_OPTIONS_VERSION, 1, masked, 2000, &whole);
        CHECK_EQ_INT(nm, np);
        CHECK(np > 0 && nm == np && memcmp(plain, masked, sizeof(int64_t) * (size_t)np) == 0);
        CHECK(whole > 5); /* batches came whole, zero-copy, with their mask */
        /* Version 1 of the options: no selection field is read, no mask. */
        nm = scan_ids(s, preds[k], 1, 1, masked, 2000, &whole);
        CHECK_EQ_INT(nm, np);
        CHECK_EQ_INT(whole, 0);
        CHECK(nm == np && memcmp(plain, masked, sizeof(int64_t) * (size_t)np) == 0);
    }
    es_expr_free(preds[1]);
    /* SQL scans with the mask: its counts equal the plain scan's. */
    int64_t np = scan_ids(s, NULL, ES_SCAN_OPTIONS_VERSION, 0, plain, 2000, &whole);
    int64_t with_s = 0, sum = 0;
    for (int64_t i = 0; i < np; i++) {
        with_s += plain[i] == 0 || plain[i] % 5 != 0; /* id 0 has s = 'x0' */
        sum += plain[i];
    }
    CHECK_OK(es_sql_exec(q, "SELECT count(*), count(s), sum(id) FROM t", &r));
    struct ArrowArray a;
    CHECK(r.stream.get_next(&r.stream, &a) == 0 && a.release && a.length == 1);
    if (a.release) {
        CHECK_EQ_INT(((const int64_t *)a.children[0]->buffers[1])[0], np);
        CHECK_EQ_INT(((const int64_t *)a.children[1]->buffers[1])[0], with_s);
        CHECK_EQ_INT(((const int64_t *)a.children[2]->buffers[1])[0], sum);
        a.release(&a);
    }
    es_sql_result_reset(&r);
    es_sql_session_close(q);
    es_store_close(s);
    return CHECK_DONE();
}
