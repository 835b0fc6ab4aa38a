/*
 * select: SELECT and EXPLAIN (see sql/sql.h for the files, sql/exec.h for the interfaces).
 *
 * A SELECT runs as: bind (plan.c: the table's schema at the requested version, names, types,
 * the pushed predicate) -> es_scan with the projection of the referenced columns -> for each
 * record batch: load the referenced columns into vectors (es_array_view), evaluate the whole
 * WHERE column at a time (eval.c; the pushed part is re-checked: cheap on the surviving rows,
 * and it keeps SQL's three-valued logic exact whatever the storage layer skipped), then either
 * evaluate the select list into the result vectors or feed group keys and aggregate arguments
 * to the hash aggregation (agg.c) -> HAVING -> ORDER BY, OFFSET, LIMIT (sort.c). EXPLAIN runs
 * the query and reports the plan with the scan's statistics.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sql/exec.h"

/* Load the used columns of an Arrow batch. */
static int load_batch(sql_exec *x, const sql_plan *p, const struct ArrowSchema *schema,
                      const struct ArrowArray *arr, const int *proj, sql_batch *b)
{
    es_array_view v;
    es_error e;
    memset(&v, 0, sizeof v);
    if (es_array_view_init(&v, schema, arr, &e) != ES_OK)
        return sql_err(x, -1, "%s: bad batch from scan: %s", p->sel->table, e.msg);
    b->n = arr->length;
    b->ncols = p->ncols;
    b->cols = es_calloc((size_t)(p->ncols ? p->ncols : 1), sizeof(sql_vec));
    if (!b->cols) {
        es_array_view_reset(&v);
        return sql_oom(x);
    }
    (void)proj;
    for (int i = 0; i < v.n_children; i++) {
        /* Columns come back by logical name; match them to the table's columns. */
        const char *name = schema->children[i]->name;
        int c = -1;
        for (int k = 0; name && k < p->ncols && c < 0; k++)
            if (p->cols[k].used && strcmp(p->cols[k].name, name) == 0)
                c = k;
        if (c < 0 || b->cols[c].nulls)
            continue;
        if (v.children[i].length != arr->length) {
            es_array_view_reset(&v);
            return sql_err(x, -1, "%s: column %s has %lld rows in a batch of %lld", p->sel->table,
                           name, (long long)v.children[i].length, (long long)arr->length);
        }
        if (sql_vec_load(&b->cols[c], &v.children[i], p->cols[c].ty) < 0) {
            es_array_view_reset(&v);
            return sql_oom(x);
        }
    }
    es_array_view_reset(&v);
    for (int c = 0; c < p->ncols; c++)
        if (p->cols[c].used && !b->cols[c].nulls)
            return sql_err(x, -1, "%s: the scan returned no column %s", p->sel->table,
                           p->cols[c].name);
    return 0;
}

static int result_init(sql_exec *x, const sql_plan *p, sql_result *res)
{
    memset(res, 0, sizeof *res);
    res->ncols = p->nout;
    res->cols = es_calloc((size_t)(p->nout ? p->nout : 1), sizeof(sql_vec));
    res->names = es_calloc((size_t)(p->nout ? p->nout : 1), sizeof(char *));
    if (!res->cols || !res->names)
        return sql_oom(x);
    for (int i = 0; i < p->nout; i++) {
        sql_typeinfo ty = p->out[i]->ty;
        if (ty.t == SQL_NULL)
            ty.t = SQL_NULL;
        sql_vec_init(&res->cols[i], ty);
        res->names[i] = es_strdup(p->names[i]);
        if (!res->names[i])
            return sql_oom(x);
    }
    return 0;
}

/* Evaluate the output expressions over b (after filtering) and append to res. */
static int emit(sql_exec *x, const sql_plan *p, const sql_batch *b, sql_result *res)
{
    for (int i = 0; i < p->nout; i++) {
        sql_vec v;
        if (sql_eval(x, p->out[i], b, &v) < 0)
            return -1;
        if (v.ty.t != res->cols[i].ty.t && res->cols[i].ty.t == SQL_NULL && res->nrows == 0)
            res->cols[i].ty = v.ty;
        int rc = sql_vec_append(&res->cols[i], &v, NULL, 0);
        sql_vec_free(&v);
        if (rc < 0)
            return sql_oom(x);
    }
    res->nrows += b->n;
    return 0;
}

typedef struct scan_report {
    es_scan_stats stats;
    int ran;
} scan_report;

static int run_select(sql_exec *x, sql_plan *p, sql_result *res, scan_report *rep)
{
    sql_select *sel = p->sel;
    sql_groups g;
    memset(&g, 0, sizeof g);
    int rc = -1;
    struct ArrowArrayStream stream;
    struct ArrowSchema schema;
    memset(&stream, 0, sizeof stream);
    memset(&schema, 0, sizeof schema);
    const char **colnames = NULL;
    int *proj = NULL;
    sql_batch b;
    memset(&b, 0, sizeof b);
    if (result_init(x, p, res) < 0)
        goto out;
    if (p->aggregate && sql_groups_init(&g, p) < 0) {
        sql_oom(x);
        goto out;
    }
    int64_t want =
        (p->limit >= 0 && sel->norder == 0 && !p->aggregate) ? p->limit + p->offset : INT64_MAX;
    if (!sel->table) {
        b.n = 1;
        b.ncols = 0;
        b.cols = NULL;
        if (sql_filter_batch(x, sel->where, &b) < 0)
            goto out;
        if (p->aggregate) {
            int64_t gid0[1] = {0};
            if (sql_groups_assign(&g, p, NULL, b.n, gid0) < 0) {
                sql_oom(x);
                goto out;
            }
            for (int a = 0; a < p->naggs; a++) {
                sql_vec v;
                memset(&v, 0, sizeof v);
                if (p->aggs[a].arg && sql_eval(x, p->aggs[a].arg, &b, &v) < 0)
                    goto out;
                int urc = sql_groups_update(&g, p, a, &v, gid0, b.n);
                sql_vec_free(&v);
                if (urc < 0) {
                    sql_oom(x);
                    goto out;
                }
            }
        } else if (emit(x, p, &b, res) < 0) {
            goto out;
        }
    } else {
        int nused = 0;
        for (int c = 0; c < p->ncols; c++)
            nused += p->cols[c].used;
        colnames = es_calloc((size_t)(nused ? nused : 1), sizeof(char *));
        proj = es_calloc((size_t)(nused ? nused : 1), sizeof(int));
        if (!colnames || !proj) {
            sql_oom(x);
            goto out;
        }
        int k = 0;
        for (int c = 0; c < p->ncols; c++)
            if (p->cols[c].used) {
                proj[k] = c;
                colnames[k++] = p->cols[c].name;
            }
        es_scan_options so = ES_SCAN_OPTIONS_INIT;
        if (nused == 0) {
            /* count(*) and constants: fetch the narrowest column for the row count */
            int best = 0;
            for (int c = 0; c < p->ncols; c++)
                if (sql_type_phys(p->cols[c].ty.t) == SQL_PHYS_INT &&
                    sql_type_phys(p->cols[best].ty.t) != SQL_PHYS_INT)
                    best = c;
            proj[0] = -1;
            colnames[0] = p->cols[best].name;
            nused = 1;
        }
        so.columns = colnames;
        so.n_columns = nused;
        so.predicate = p->pushed;
        so.at_version = p->version; /* the snapshot the statement was bound at */
        memset(&rep->stats, 0, sizeof rep->stats);
        so.stats = &rep->stats;
        if (es_scan(x->s->store, sel->table, &so, &stream) != ES_OK) {
            sql_err(x, sel->table_pos, "%s", es_store_errmsg(x->s->store));
            goto out;
        }
        rep->ran = 1;
        if (stream.get_schema(&stream, &schema) != 0) {
            const char *m = stream.get_last_error(&stream);
            sql_err(x, -1, "%s: %s", sel->table, m ? m : "scan failed");
            goto out;
        }
        for (;;) {
            struct ArrowArray arr;
            memset(&arr, 0, sizeof arr);
            int e = stream.get_next(&stream, &arr);
            if (e != 0) {
                const char *m = stream.get_last_error(&stream);
                sql_err(x, -1, "%s: %s", sel->table, m ? m : strerror(e));
                goto out;
            }
            if (!arr.release)
                break;
            int lrc = load_batch(x, p, &schema, &arr, proj, &b);
            arr.release(&arr);
            if (lrc < 0 || sql_filter_batch(x, sel->where, &b) < 0)
                goto out;
            if (p->aggregate) {
                if (sql_groups_add(x, &g, p, &b) < 0)
                    goto out;
            } else if (emit(x, p, &b, res) < 0) {
                goto out;
            }
            sql_batch_free(&b);
            if (res->nrows >= want)
                break;
        }
    }
    if (p->aggregate) {
        sql_batch_free(&b);
        if (p->ngroup == 0 && g.ngroups == 0) {
            /* aggregates over no rows: one row */
            int64_t gid0[1];
            if (sql_groups_assign(&g, p, NULL, 0, gid0) < 0) {
                sql_oom(x);
                goto out;
            }
        }
        if (sql_groups_finish(x, &g, p, &b) < 0)
            goto out;
        if (sql_filter_batch(x, sel->having, &b) < 0 || emit(x, p, &b, res) < 0)
            goto out;
    }
    if (sql_sort_limit(x, p, res) < 0)
        goto out;
    rc = 0;
out:
    sql_batch_free(&b);
    sql_groups_free(&g);
    es_schema_release(&schema);
    es_stream_release(&stream);
    es_free(colnames);
    es_free(proj);
    return rc;
}

static int text_result(sql_exec *x, sql_result *res, const char *name, char **lines, int n)
{
    memset(res, 0, sizeof *res);
    res->ncols = 1;
    res->names = es_calloc(1, sizeof(char *));
    res->cols = es_calloc(1, sizeof(sql_vec));
    if (!res->names || !res->cols)
        return sql_oom(x);
    res->names[0] = es_strdup(name);
    sql_typeinfo vt = {SQL_VARCHAR, 0, 0};
    sql_vec_init(&res->cols[0], vt);
    for (int i = 0; i < n; i++)
        if (sql_vec_push_str(&res->cols[0], lines[i], (int64_t)strlen(lines[i])) < 0)
            return sql_oom(x);
    if (sql_vec_reserve(&res->cols[0], 1) < 0)
        return sql_oom(x);
    res->nrows = n;
    return 0;
}

int sql_exec_select(sql_exec *x, sql_select *sel, sql_result *res, int explain)
{
    sql_plan p;
    scan_report rep;
    memset(&rep, 0, sizeof rep);
    int rc = sql_bind_select(x, sel, &p);
    if (rc == 0)
        rc = run_select(x, &p, res, &rep);
    if (rc == 0 && explain) {
        char lines[16][1200];
        char *lp[16];
        int n = 0;
        for (int i = 0; i < 16; i++)
            lp[i] = lines[i];
        int64_t rows = res->nrows;
        sql_result_free(res);
        if (sel->table) {
            snprintf(lines[n++], sizeof lines[0], "SCAN %s%s", sel->table,
                     sel->as_of >= 0 ? " (AS OF VERSION)" : "");
            int k = snprintf(lines[n], sizeof lines[0], "  columns: ");
            int first = 1;
            for (int c = 0; c < p.ncols; c++)
                if (p.cols[c].used && k < (int)sizeof lines[0] - 1) {
                    k += snprintf(lines[n] + k, sizeof lines[0] - (size_t)k, "%s%s",
                                  first ? "" : ", ", p.cols[c].name);
                    first = 0;
                }
            if (first)
                snprintf(lines[n] + k, sizeof lines[0] - (size_t)k, "(row count only)");
            n++;
            char buf[1024];
            if (p.pushed)
                es_expr_format(buf, sizeof buf, p.pushed);
            else
                snprintf(buf, sizeof buf, "none");
            snprintf(lines[n++], sizeof lines[0], "  pushed predicate: %s", buf);
        }
        if (sel->where) {
            char buf[1024];
            sql_fmt_expr(buf, sizeof buf, sel->where);
            snprintf(lines[n++], sizeof lines[0], "  FILTER (shell, vectorised): %s", buf);
        }
        if (p.aggregate)
            snprintf(lines[n++], sizeof lines[0], "  HASH AGGREGATE: %d key(s), %d aggregate(s)%s",
                     p.ngroup, p.naggs, sel->having ? ", HAVING" : "");
        if (sel->norder)
            snprintf(lines[n++], sizeof lines[0], "  SORT: %d key(s)", sel->norder);
        if (p.limit >= 0 || p.offset > 0)
            snprintf(lines[n++], sizeof lines[0], "  LIMIT %lld OFFSET %lld", (long long)p.limit,
                     (long long)p.offset);
        if (rep.ran) {
            es_scan_stats *s = &rep.stats;
            snprintf(lines[n++], sizeof lines[0], "  parts: %lld total, %lld skipped",
                     (long long)s->parts_total, (long long)s->parts_skipped);
            snprintf(lines[n++], sizeof lines[0], "  batches: %lld total, %lld skipped",
                     (long long)s->batches_total, (long long)s->batches_skipped);
            snprintf(lines[n++], sizeof lines[0], "  rows: %lld scanned, %lld from storage",
                     (long long)s->rows_scanned, (long long)s->rows_returned);
            snprintf(lines[n++], sizeof lines[0], "  requests: %lld, bytes fetched: %lld",
                     (long long)s->requests, (long long)s->bytes_fetched);
        }
        snprintf(lines[n++], sizeof lines[0], "  result rows: %lld", (long long)rows);
        rc = text_result(x, res, "plan", lp, n);
    }
    sql_plan_free(&p);
    if (rc < 0)
        sql_result_free(res);
    return rc;
}
