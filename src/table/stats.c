/*
 * stats: answers the catalog already knows, from the statistics the log records for every part
 * (add_part, and the statistics of inline parts computed from their rows), without reading any
 * object. Table layer; the SQL layer answers count(*), min and max without a predicate with it
 * (select.c) and EXPLAIN says so.
 *
 * Row counts are exact: a part's live rows are its rows minus its deletion vector's count.
 * Minimum and maximum are exact bounds only while no row of a part is deleted (after a delete
 * they still bound the live rows, but the row holding the extreme may be gone), when the part
 * records both (a batch of unknown statistics makes the part's unknown), and for strings when
 * the minimum was not truncated to ES_STAT_MAX bytes (a longer maximum is not recorded at all).
 * Otherwise the caller scans.
 */
#include <stdio.h>
#include <stdlib.h>

#include "table/table.h"

/* The exact min and max of column `col` over the live parts of t; 0 when not exact. *found: 0
 * when the column has no non-null value. */
static int col_minmax(const es_tabledef *t, const es_column *col, es_scalar *mn, es_scalar *mx,
                      int *found)
{
    es_domain dom = es_expr_domain(col->type.id);
    *found = 0;
    if (dom == ES_DOM_NONE)
        return 0;
    for (int64_t p = 0; p < t->n_parts; p++) {
        const es_part_meta *m = t->parts[p];
        if (es_part_live_rows(m) <= 0)
            continue;
        if (m->dv)
            return 0; /* bounds, not necessarily values of live rows */
        int64_t k = 0;
        while (k < m->n_cols && m->col_ids[k] != col->id)
            k++;
        if (k == m->n_cols)
            continue; /* the column was added after this part: nulls */
        const es_colstat *cs = &m->stats[k];
        if (cs->null_count >= m->rows)
            continue;
        if (!cs->has_min || !cs->has_max || (dom == ES_DOM_BYTES && cs->min_len >= ES_STAT_MAX))
            return 0;
        es_scalar a, b;
        es_colstat_scalar(&a, dom, cs->min, cs->min_len);
        es_colstat_scalar(&b, dom, cs->max, cs->max_len);
        if (!*found || es_scalar_cmp(dom, &a, mn) < 0)
            *mn = a;
        if (!*found || es_scalar_cmp(dom, &b, mx) > 0)
            *mx = b;
        *found = 1;
    }
    return 1;
}

static es_status append_scalar(es_builder *b, es_domain dom, const es_scalar *v)
{
    switch (dom) {
    case ES_DOM_INT:
        return es_builder_append_int(b, v->i);
    case ES_DOM_UINT:
        return es_builder_append_uint(b, v->u);
    case ES_DOM_DOUBLE:
        return es_builder_append_double(b, v->d);
    case ES_DOM_DEC:
        return es_builder_append_decimal128(b, v->p);
    case ES_DOM_BYTES:
        return es_builder_append_bytes(b, v->p, v->len);
    default:
        return es_builder_append_null(b, 1);
    }
}

es_status es_table_stats_batch(struct ArrowSchema *schema, struct ArrowArray *out,
                               int64_t *live_rows, const es_tabledef *t, const char *const *cols,
                               int64_t n, es_error *err)
{
    es_builder *b = NULL;
    out->release = NULL;
    schema->release = NULL;
    *live_rows = t->rows;
    es_status st = es_schema_init_struct(schema, n, err);
    for (int64_t c = 0; c < n && !st; c++) {
        int64_t k = es_tabledef_col_index(t, cols[c]);
        if (k < 0)
            st = es_error_set(err, ES_NOT_FOUND, 0, "table '%s': no column '%s'", t->name, cols[c]);
        else
            st = es_schema_init(schema->children[c], t->cols[k].format, cols[c],
                                ARROW_FLAG_NULLABLE, err);
    }
    if (!st)
        st = es_builder_new(&b, schema, err);
    int exact = 1;
    for (int64_t c = 0; c < n && !st && exact; c++) {
        const es_column *col = &t->cols[es_tabledef_col_index(t, cols[c])];
        es_scalar mn, mx;
        int found = 0;
        memset(&mn, 0, sizeof(mn));
        memset(&mx, 0, sizeof(mx));
        exact = col_minmax(t, col, &mn, &mx, &found);
        es_builder *cb = es_builder_child(b, c);
        es_domain dom = es_expr_domain(col->type.id);
        if (exact && found) {
            st = append_scalar(cb, dom, &mn);
            if (!st)
                st = append_scalar(cb, dom, &mx);
        } else if (exact) {
            st = es_builder_append_null(cb, 2);
        }
    }
    for (int r = 0; r < 2 && !st && exact; r++)
        st = es_builder_append_struct(b);
    if (!st && exact)
        st = es_builder_finish(b, out, err);
    if (st == ES_NOMEM)
        es_error_set(err, ES_NOMEM, 0, "out of memory");
    es_builder_free(b);
    if (st || !exact)
        es_schema_release(schema);
    return st;
}
