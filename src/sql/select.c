/*
 * select: SELECT and EXPLAIN as a cursor (see sql/sql.h for the files, sql/exec.h for the
 * interfaces), and the ArrowArrayStream the public API hands out over it.
 *
 * Opening a cursor binds the SELECT (plan.c: the table's schema at the requested version,
 * names, types, the pushed predicate) and starts es_scan with the projection of the referenced
 * columns and es_scan_options.selection (a batch whose rows to return are scattered, after
 * deletes or a pushed predicate, comes whole with a "_sel" mask instead of being copied in the
 * scan). Reading it pulls record batches: load the referenced columns into vectors (only the
 * rows the mask keeps, es_array_view), evaluate the whole WHERE column at a time (eval.c; the
 * pushed part is re-checked: cheap on the surviving rows, and it keeps SQL's three-valued logic
 * exact whatever the storage layer skipped), then
 *  - without aggregates and ORDER BY: evaluate the select list over the batch and keep the rows
 *    inside OFFSET/LIMIT; scan batches are pulled only until an output batch is full, and the
 *    scan stops once LIMIT is reached (bounded memory);
 *  - otherwise, at the first read, all of it: feed group keys and aggregate arguments to the
 *    hash aggregation (agg.c) -> HAVING -> select list -> ORDER BY, OFFSET, LIMIT (sort.c); the
 *    materialised result is then handed out in batches. Aggregation runs on the store's thread
 *    count (es_store_set_threads; not for DISTINCT aggregates): each thread pulls scan batches
 *    under a lock, then loads, filters and aggregates them into its own hash table, and the
 *    tables are merged at the end (the helpers start at the fourth batch, so a key range
 *    or point query starts no thread).
 * Output batches are Arrow record batches of at most SQL_BATCH_ROWS rows built with es_builder;
 * the result's schema marks a column non-nullable when it cannot hold a NULL (a NOT NULL column
 * of the table, count(*), a literal, ...). EXPLAIN reports the plan and what pruning leaves to
 * fetch (es_scan_plan, which reads .idx objects and no table data); EXPLAIN ANALYZE runs the
 * query to its end and adds the actual counts and the time spent in each stage.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sql/exec.h"
#include "table/txn.h" /* es_table_stats_batch: answers from the log's statistics */

/* ORDER BY ... LIMIT k: rows accumulate up to k + this many before the top k are kept. */
#define SQL_TOPK_SLACK 16384
/* Aggregation: batches the first thread takes alone before the others start. */
#define AGG_SEQ_BATCHES 4

struct sql_cursor {
    sql_exec x;
    sql_arena arena; /* the statement, once the cursor outlives the call (sql_cursor_keep) */
    char *text;      /* the statement's text, for the positions of errors */
    sql_plan p;
    int materialise; /* aggregates or ORDER BY: everything at the first read */
    /* Input: the table's scan, or the one row of a SELECT without FROM. */
    struct ArrowArrayStream scan;
    struct ArrowSchema scan_schema;
    const char **colnames;
    es_scan_stats stats;
    int scan_ran;
    int input_done;
    int64_t seen; /* streaming: rows before OFFSET/LIMIT so far */
    int64_t want; /* streaming: OFFSET + LIMIT, the rows of input that are enough */
    /* Rows [start, res.nrows) of res are computed and not handed out yet. */
    sql_result res;
    int64_t start;
    int started;
    int failed; /* a read failed: later ones fail the same way (failed_errno, msg) */
    int failed_errno;
    /* Output. */
    struct ArrowSchema schema;
    es_type *types;
    es_builder *bld;
    int null_as_int64;
    uint8_t *notnull;     /* per result column: 1 when it cannot hold a NULL (or NULL: all may) */
    char msg[1100];       /* the last error with its position, for get_last_error */
    void *par_helpers_at; /* run_parallel: the worker that stops at AGG_SEQ_BATCHES */
    int64_t topk_sorted;  /* ORDER BY ... LIMIT: rows of res sorted by sql_sort_keep */
    /* EXPLAIN ANALYZE: nanoseconds and rows per stage (summed over aggregation threads) */
    int64_t ns_scan, ns_filter, ns_agg, ns_sort, ns_project;
    int64_t rows_in, rows_kept, groups;
    /* count(*), min and max without a predicate answered from the log's statistics
     * (try_stats): a batch of two rows, each used column's minimum and maximum, that
     * aggregates to the same min and max; count(*) is set to stats_rows. */
    int from_stats;
    struct ArrowArray stats_batch;
    struct ArrowSchema stats_schema;
    int64_t stats_rows;
    sql_dict **dc; /* per table column: its last dictionary (load_batch) */
};

static int64_t clock_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Whether e may be NULL (1 when unsure). */
static int may_be_null(const sql_plan *p, const sql_expr *e)
{
    switch (e->kind) {
    case E_COL:
        return p->cols[e->index].nullable;
    case E_INT:
    case E_DBL:
    case E_STR:
    case E_BOOL:
        return 0;
    case E_ISNULL:
        return 0;
    case E_GROUPREF:
        return e->index < p->ngroup ? may_be_null(p, p->group[e->index]) : 1;
    case E_AGGREF: {
        const sql_agg *a = &p->aggs[e->index - p->ngroup];
        return a->kind != SQL_AGG_COUNT_STAR && a->kind != SQL_AGG_COUNT;
    }
    case E_NOT:
    case E_NEG:
        return may_be_null(p, e->a);
    case E_BIN:
        if (e->op == OP_DIV || e->op == OP_MOD)
            return 1;
        if (e->op == OP_AND || e->op == OP_OR) { /* the operands are in list */
            for (int i = 0; i < e->nlist; i++)
                if (may_be_null(p, e->list[i]))
                    return 1;
            return 0;
        }
        return may_be_null(p, e->a) || may_be_null(p, e->b);
    case E_CAST:
        return may_be_null(p, e->a) ||
               (e->a->ty.t != e->cast.t && sql_is_str(e->cast.t) == 0 && sql_is_str(e->a->ty.t));
    default:
        return 1;
    }
}

/* A scan batch's "_sel" mask (es_scan_options.selection, its last column) and the rows it
 * keeps in *k; NULL when there is none or it keeps every row. */
static const uint8_t *batch_mask(const struct ArrowSchema *schema, const struct ArrowArray *arr,
                                 int64_t *k)
{
    *k = arr->length;
    int64_t last = arr->n_children - 1;
    if (last < 0 || schema->n_children != arr->n_children || !schema->children[last]->name ||
        strcmp(schema->children[last]->name, "_sel") != 0)
        return NULL;
    const struct ArrowArray *m = arr->children[last];
    const uint8_t *b = (const uint8_t *)m->buffers[1] + m->offset;
    if (!memchr(b, 0, (size_t)arr->length))
        return NULL;
    int64_t n = 0;
    for (int64_t r = 0; r < arr->length; r++)
        n += b[r] != 0;
    *k = n;
    return b;
}

/* Load the used columns of an Arrow batch (only the rows its selection mask keeps). own: *arr
 * is moved into b->src (so vectors may point into its buffers, vec_arrow.c), else borrowed for
 * the call. dc (nullable): per column, the last dictionary of a dictionary-encoded column. */
static int load_batch(sql_exec *x, const sql_plan *p, const struct ArrowSchema *schema,
                      struct ArrowArray *arr, int own, sql_dict **dc, sql_batch *b)
{
    if (own) {
        b->src = *arr;
        arr->release = NULL;
        arr = &b->src;
    }
    /* A view over the columns that are not dictionary-encoded (those are read as codes). */
    int64_t nch = arr->n_children, nd = 0;
    for (int64_t i = 0; i < nch && i < schema->n_children; i++)
        nd += arr->children[i]->dictionary != NULL;
    struct ArrowArray va = *arr;
    struct ArrowSchema vs = *schema;
    struct ArrowArray **ach = NULL;
    struct ArrowSchema **sch = NULL;
    int64_t *vi = NULL; /* child i's view is v.children[vi[i]], -1 for a dictionary */
    if (nd > 0 && schema->n_children == nch) {
        ach = es_calloc((size_t)nch, sizeof *ach);
        sch = es_calloc((size_t)nch, sizeof *sch);
        vi = es_calloc((size_t)nch, sizeof *vi);
        if (!ach || !sch || !vi) {
            es_free(ach);
            es_free(sch);
            es_free(vi);
            return sql_oom(x);
        }
        int64_t m = 0;
        for (int64_t i = 0; i < nch; i++) {
            vi[i] = arr->children[i]->dictionary ? -1 : m;
            if (vi[i] >= 0) {
                ach[m] = arr->children[i];
                sch[m++] = schema->children[i];
            }
        }
        va.children = ach;
        va.n_children = m;
        vs.children = sch;
        vs.n_children = m;
    }
    es_array_view v;
    es_error e;
    memset(&v, 0, sizeof v);
    int rc = 0;
    if (es_array_view_init(&v, &vs, &va, &e) != ES_OK)
        rc = sql_fail(x, e.code == ES_NOMEM ? ES_NOMEM : ES_CORRUPT, -1,
                      "%s: bad batch from scan: %s", p->sel->table, e.msg);
    const uint8_t *mask = batch_mask(schema, arr, &b->n);
    b->ncols = p->ncols;
    b->cols = rc ? NULL : es_calloc((size_t)(p->ncols ? p->ncols : 1), sizeof(sql_vec));
    if (!rc && !b->cols)
        rc = sql_oom(x);
    for (int64_t i = 0; i < nch && rc == 0; i++) {
        /* Columns come back by logical name; match them to the table's columns. */
        const char *name = schema->children[i]->name;
        int c = -1;
        for (int k = 0; name && k < p->ncols && c < 0; k++)
            if (p->cols[k].used && strcmp(p->cols[k].name, name) == 0)
                c = k;
        if (c < 0 || b->cols[c].nulls)
            continue;
        const es_array_view *cv = vi ? (vi[i] >= 0 ? &v.children[vi[i]] : NULL) : &v.children[i];
        es_status st;
        int got;
        if (!cv) {
            st = sql_dict_load(&b->cols[c], p->cols[c].ty, schema->children[i], arr->children[i],
                               arr->offset, arr->length, mask, b->n, dc ? &dc[c] : NULL, &e);
            if (st)
                rc = sql_fail(x, st, -1, "%s: %s", p->sel->table, e.msg);
        } else if (cv->length != arr->length) {
            rc = sql_fail(x, ES_CORRUPT, -1, "%s: column %s has %lld rows in a batch of %lld",
                          p->sel->table, name, (long long)cv->length, (long long)arr->length);
        } else if (!mask && own && (got = sql_vec_borrow(&b->cols[c], cv, p->cols[c].ty)) != 0) {
            rc = got < 0 ? sql_oom(x) : 0; /* pointed at in place */
        } else if (sql_vec_load_mask(&b->cols[c], cv, p->cols[c].ty, mask, b->n) < 0) {
            rc = sql_oom(x);
        }
    }
    es_array_view_reset(&v);
    es_free(ach);
    es_free(sch);
    es_free(vi);
    if (rc < 0)
        return rc;
    for (int c = 0; c < p->ncols; c++)
        if (p->cols[c].used && !b->cols[c].nulls)
            return sql_fail(x, ES_CORRUPT, -1, "%s: the scan returned no column %s", p->sel->table,
                            p->cols[c].name);
    return 0;
}

static int result_init(sql_exec *x, const sql_plan *p, int ncols, sql_result *res)
{
    memset(res, 0, sizeof *res);
    res->ncols = ncols;
    res->cols = es_calloc((size_t)(ncols ? ncols : 1), sizeof(sql_vec));
    res->names = es_calloc((size_t)(ncols ? ncols : 1), sizeof(char *));
    if (!res->cols || !res->names)
        return sql_oom(x);
    for (int i = 0; i < ncols; i++) {
        sql_vec_init(&res->cols[i], p->out[i]->ty);
        res->names[i] = es_strdup(p->names[i]);
        if (!res->names[i])
            return sql_oom(x);
    }
    return 0;
}

/* Evaluate the output expressions over b (after filtering) and append to res. */
static int emit(sql_exec *x, const sql_plan *p, const sql_batch *b, sql_result *res)
{
    for (int i = 0; i < res->ncols; i++) {
        sql_vec v;
        if (sql_eval(x, p->out[i], b, &v) < 0)
            return -1;
        int rc = sql_vec_append(&res->cols[i], &v, NULL, 0);
        sql_vec_free(&v);
        if (rc < 0)
            return sql_oom(x);
    }
    res->nrows += b->n;
    return 0;
}

/* The Arrow schema of the result columns of res (names and types). */
static int make_schema(sql_cursor *c)
{
    sql_exec *x = &c->x;
    es_error e;
    es_schema_release(&c->schema);
    es_builder_free(c->bld);
    c->bld = NULL;
    es_free(c->types);
    c->types = es_calloc((size_t)(c->res.ncols ? c->res.ncols : 1), sizeof(es_type));
    if (!c->types)
        return sql_oom(x);
    if (es_schema_init_struct(&c->schema, c->res.ncols, &e) != ES_OK)
        return sql_fail(x, e.code, -1, "%s", e.msg);
    for (int i = 0; i < c->res.ncols; i++) {
        char fmt[32];
        const sql_typeinfo *ty = &c->res.cols[i].ty;
        if (ty->t == SQL_NULL)
            snprintf(fmt, sizeof fmt, "%s", c->null_as_int64 ? "l" : "n");
        else
            sql_type_to_arrow(fmt, sizeof fmt, ty);
        int64_t flags = c->notnull && c->notnull[i] ? 0 : ARROW_FLAG_NULLABLE;
        if (es_schema_init(c->schema.children[i], fmt, c->res.names[i], flags, &e) != ES_OK ||
            es_type_parse(&c->types[i], fmt, &e) != ES_OK)
            return sql_fail(x, e.code, -1, "%s", e.msg);
    }
    if (es_builder_new(&c->bld, &c->schema, &e) != ES_OK)
        return sql_fail(x, e.code, -1, "%s", e.msg);
    return 0;
}

/* The scan's options: the referenced columns (or the narrowest one, for a row count), the
 * pushed predicate, the version bound. c->colnames is allocated. 0 or -1. */
static int scan_options(sql_cursor *c, es_scan_options *out)
{
    sql_exec *x = &c->x;
    sql_plan *p = &c->p;
    int nused = 0;
    for (int i = 0; i < p->ncols; i++)
        nused += p->cols[i].used;
    es_free(c->colnames);
    c->colnames = es_calloc((size_t)(nused ? nused : 1), sizeof(char *));
    if (!c->colnames)
        return sql_oom(x);
    int k = 0;
    for (int i = 0; i < p->ncols; i++)
        if (p->cols[i].used)
            c->colnames[k++] = p->cols[i].name;
    es_scan_options so = ES_SCAN_OPTIONS_INIT;
    if (nused == 0) {
        /* count(*) and constants: fetch the narrowest column for the row count */
        int best = 0;
        for (int i = 0; i < p->ncols; i++)
            if (sql_type_phys(p->cols[i].ty.t) == SQL_PHYS_INT &&
                sql_type_phys(p->cols[best].ty.t) != SQL_PHYS_INT)
                best = i;
        c->colnames[0] = p->cols[best].name;
        nused = 1;
    }
    so.columns = c->colnames;
    so.n_columns = nused;
    so.predicate = p->pushed;
    so.at_version = p->version; /* the snapshot the statement was bound at */
    so.stats = &c->stats;
    so.selection = 1;       /* load_batch gathers the rows a mask keeps: no copy in the scan */
    so.keep_dictionary = 1; /* dictionary-encoded columns as codes (vec_arrow.c) */
    *out = so;
    return 0;
}

/* count(*), min(col) and max(col) of the whole table (no WHERE, no GROUP BY, no DISTINCT,
 * outside a transaction, whose read set must see a scan) from the log's statistics, when they
 * are exact there (es_table_stats_batch): no object is read. 1 when answered, 0 to scan, -1. */
static int try_stats(sql_cursor *c)
{
    sql_exec *x = &c->x;
    sql_plan *p = &c->p;
    sql_select *sel = p->sel;
    if (!p->aggregate || p->ngroup > 0 || sel->where || sel->distinct ||
        es_txn_active(x->s->store, NULL))
        return 0;
    for (int a = 0; a < p->naggs; a++) {
        const sql_agg *g = &p->aggs[a];
        if (g->kind != SQL_AGG_COUNT_STAR && ((g->kind != SQL_AGG_MIN && g->kind != SQL_AGG_MAX) ||
                                              g->distinct || !g->arg || g->arg->kind != E_COL))
            return 0;
    }
    const char *cols[256];
    int n = 0;
    for (int i = 0; i < p->ncols && n < 256; i++)
        if (p->cols[i].used)
            cols[n++] = p->cols[i].name;
    es_tabledef *t = NULL;
    es_error e;
    es_status st = es_store_table(&t, x->s->store, sel->table, p->version, &e);
    if (st)
        return 0; /* the scan reports it */
    st = es_table_stats_batch(&c->stats_schema, &c->stats_batch, &c->stats_rows, t, cols, n, &e);
    es_tabledef_unref(t);
    if (st)
        return sql_fail(x, st, sel->table_pos, "%s", e.msg);
    c->from_stats = c->stats_batch.release != NULL;
    return c->from_stats;
}

/* Drop the dictionaries of a load_batch cache of n columns, and the cache. */
static void dict_cache_free(sql_dict **dc, int n)
{
    for (int i = 0; dc && i < n; i++)
        sql_dict_unref(dc[i]);
    es_free(dc);
}

/* Start the table's scan. */
static int open_scan(sql_cursor *c)
{
    sql_exec *x = &c->x;
    sql_select *sel = c->p.sel;
    es_scan_options so;
    if (scan_options(c, &so) < 0)
        return -1;
    c->dc = es_calloc((size_t)(c->p.ncols ? c->p.ncols : 1), sizeof(sql_dict *));
    if (!c->dc)
        return sql_oom(x);
    if (es_scan(x->s->store, sel->table, &so, &c->scan) != ES_OK)
        return sql_store_err(x, sel->table_pos);
    c->scan_ran = 1;
    int e = c->scan.get_schema(&c->scan, &c->scan_schema);
    if (e != 0) {
        const char *m = c->scan.get_last_error(&c->scan);
        return sql_fail(x, e == ENOMEM ? ES_NOMEM : ES_IO, -1, "%s: %s", sel->table,
                        m ? m : "scan failed");
    }
    return 0;
}

static es_status errno_status(int e)
{
    return e == ENOMEM ? ES_NOMEM : e == EINVAL ? ES_INVALID : e == EINTR ? ES_INTERRUPTED : ES_IO;
}

/* The next batch of input rows that pass WHERE into *b. 1, 0 at the end, or -1. */
static int next_input(sql_cursor *c, sql_batch *b)
{
    sql_exec *x = &c->x;
    sql_select *sel = c->p.sel;
    memset(b, 0, sizeof *b);
    if (c->input_done)
        return 0;
    if (sql_check_interrupt(x) < 0)
        return -1;
    if (!sel->table) {
        /* SELECT without FROM: one row of no columns. */
        c->input_done = 1;
        b->n = 1;
        return sql_filter_batch(x, sel->where, b) < 0 ? -1 : 1;
    }
    if (c->from_stats) {
        c->input_done = 1;
        return load_batch(x, &c->p, &c->stats_schema, &c->stats_batch, 0, NULL, b) < 0 ? -1 : 1;
    }
    struct ArrowArray arr;
    memset(&arr, 0, sizeof arr);
    int64_t t0 = clock_ns();
    int e = c->scan.get_next(&c->scan, &arr);
    c->ns_scan += clock_ns() - t0;
    if (e != 0) {
        const char *m = c->scan.get_last_error(&c->scan);
        return sql_fail(x, errno_status(e), -1, "%s: %s", sel->table, m ? m : strerror(e));
    }
    if (!arr.release) {
        c->input_done = 1;
        return 0;
    }
    int rc = load_batch(x, &c->p, &c->scan_schema, &arr, 1, c->dc, b);
    int64_t t1 = clock_ns();
    c->ns_scan += t1 - t0;
    c->rows_in += b->n;
    if (rc < 0 || sql_filter_batch(x, sel->where, b) < 0)
        return -1;
    c->rows_kept += b->n;
    c->ns_filter += clock_ns() - t1;
    return 1;
}

/* The input is done: let the scan go (its statistics stay). */
static void end_input(sql_cursor *c)
{
    c->input_done = 1;
    es_schema_release(&c->scan_schema);
    es_stream_release(&c->scan);
    es_array_release(&c->stats_batch);
    es_schema_release(&c->stats_schema);
    dict_cache_free(c->dc, c->p.ncols);
    c->dc = NULL;
}

/* ------------------------------------------------------------------ memory limit */

/* Bytes a vector, a result and a table of groups hold (estimates, from their capacities). */
static int64_t vec_bytes(const sql_vec *v)
{
    if (v->borrowed)
        return 0;
    return v->cap * (int64_t)(sizeof(int64_t) + 1) + (v->off ? (v->cap + 1) * 8 : 0) + v->dcap;
}

static int64_t result_bytes(const sql_result *r)
{
    int64_t n = 0;
    for (int i = 0; i < r->ncols; i++)
        n += vec_bytes(&r->cols[i]);
    return n;
}

static int64_t groups_bytes(const sql_groups *g)
{
    int64_t n = (g->nslots + g->hashes_cap) * 8 + g->cap * g->nst * 32;
    for (int k = 0; k < g->nkeys; k++)
        n += vec_bytes(&g->keys[k]);
    return n;
}

/* Fail when `bytes` held for `what` pass the store's memory limit (es_store_set_memory_limit):
 * a clear error instead of exhausting the machine. 0 or -1. */
static int mem_check(sql_cursor *c, int64_t bytes, const char *what)
{
    int64_t limit = es_store_memory_limit(c->x.s->store);
    if (limit <= 0 || bytes <= limit)
        return 0;
    return sql_fail(&c->x, ES_NOMEM, -1,
                    "%s needs more than the memory limit of %.1f MiB (%.1f MiB held): raise it "
                    "with .memory_limit (es_store_set_memory_limit)",
                    what, (double)limit / 1048576, (double)bytes / 1048576);
}

/* Parallel aggregation: threads pull scan batches under `mu` and aggregate into their own
 * tables. */
typedef struct agg_par {
    sql_cursor *c;
    pthread_mutex_t mu;
    int stop;
    int64_t batches; /* pulled so far */
    int64_t bytes;   /* the threads' tables (mem_check), atomic */
} agg_par;

typedef struct agg_worker {
    agg_par *par;
    sql_groups g;
    int rc;
    int64_t bytes; /* of g at the last mem_check */
    int64_t ns_scan, ns_filter, ns_agg, rows_in, rows_kept;
    sql_dict **dc; /* per table column: its last dictionary (load_batch) */
} agg_worker;

/* The next scan batch under the lock: 1, 0 at the end (or when another thread failed), -1. */
static int pull_batch(agg_par *par, struct ArrowArray *arr)
{
    sql_cursor *c = par->c;
    int rc = 1;
    memset(arr, 0, sizeof *arr);
    pthread_mutex_lock(&par->mu);
    if (par->stop || c->input_done) {
        rc = 0;
    } else if (sql_check_interrupt(&c->x) < 0) {
        rc = -1;
    } else {
        int e = c->scan.get_next(&c->scan, arr);
        if (e != 0) {
            const char *m = c->scan.get_last_error(&c->scan);
            rc = sql_fail(&c->x, errno_status(e), -1, "%s: %s", c->p.sel->table,
                          m ? m : strerror(e));
        } else if (!arr->release) {
            c->input_done = 1;
            rc = 0;
        } else {
            par->batches++;
        }
    }
    if (rc < 0)
        par->stop = 1;
    pthread_mutex_unlock(&par->mu);
    return rc;
}

static void *agg_work(void *arg)
{
    agg_worker *w = arg;
    sql_cursor *c = w->par->c;
    sql_exec *x = &c->x;
    sql_plan *p = &c->p;
    for (;;) {
        struct ArrowArray arr;
        sql_batch b;
        memset(&b, 0, sizeof b);
        int64_t t0 = clock_ns();
        int got = pull_batch(w->par, &arr);
        if (got <= 0) {
            w->rc = got;
            return NULL;
        }
        int rc = load_batch(x, p, &c->scan_schema, &arr, 1, w->dc, &b);
        int64_t t1 = clock_ns();
        w->ns_scan += t1 - t0;
        w->rows_in += b.n;
        if (rc == 0)
            rc = sql_filter_batch(x, p->sel->where, &b);
        int64_t t2 = clock_ns();
        w->ns_filter += t2 - t1;
        w->rows_kept += b.n;
        if (rc == 0)
            rc = sql_groups_add(x, &w->g, p, &b);
        if (rc == 0) { /* the memory limit counts every thread's table */
            int64_t nb = groups_bytes(&w->g);
            int64_t all = __atomic_add_fetch(&w->par->bytes, nb - w->bytes, __ATOMIC_RELAXED);
            w->bytes = nb;
            rc = mem_check(c, all, "the aggregation");
        }
        w->ns_agg += clock_ns() - t2;
        sql_batch_free(&b);
        if (rc < 0) {
            w->rc = -1;
            pthread_mutex_lock(&w->par->mu);
            w->par->stop = 1;
            pthread_mutex_unlock(&w->par->mu);
            return NULL;
        }
        /* The first thread starts the helpers at batch AGG_SEQ_BATCHES (see run_parallel). */
        if (w == (agg_worker *)w->par->c->par_helpers_at && w->par->batches >= AGG_SEQ_BATCHES)
            return NULL;
    }
}

/* Aggregate the whole input into g with up to n threads. 0 or -1. */
static int run_parallel(sql_cursor *c, sql_groups *g, int n)
{
    sql_plan *p = &c->p;
    agg_par par;
    memset(&par, 0, sizeof par);
    par.c = c;
    pthread_mutex_init(&par.mu, NULL);
    agg_worker *w = es_calloc((size_t)n, sizeof *w);
    pthread_t *th = es_calloc((size_t)n, sizeof *th);
    int started = 0, rc = 0;
    if (!w || !th) {
        rc = sql_oom(&c->x);
        goto out;
    }
    for (int k = 0; k < n; k++) {
        w[k].par = &par;
        w[k].dc = es_calloc((size_t)(p->ncols ? p->ncols : 1), sizeof(sql_dict *));
        if (!w[k].dc || sql_groups_init(&w[k].g, p) < 0) {
            rc = sql_oom(&c->x);
            goto out;
        }
    }
    /* This thread alone for the first batches: a key range or point query starts no thread. */
    c->par_helpers_at = &w[0];
    agg_work(&w[0]);
    c->par_helpers_at = NULL;
    if (w[0].rc == 0 && !par.stop && !c->input_done) {
        while (started < n - 1 &&
               pthread_create(&th[started], NULL, agg_work, &w[started + 1]) == 0)
            started++;
        agg_work(&w[0]);
        for (int k = 0; k < started; k++)
            pthread_join(th[k], NULL);
    }
    for (int k = 0; k < n; k++) {
        c->ns_scan += w[k].ns_scan;
        c->ns_filter += w[k].ns_filter;
        c->ns_agg += w[k].ns_agg;
        c->rows_in += w[k].rows_in;
        c->rows_kept += w[k].rows_kept;
        if (w[k].rc < 0)
            rc = -1;
    }
    int64_t t0 = clock_ns();
    for (int k = 0; k < n && rc == 0; k++)
        if (sql_groups_merge(g, p, &w[k].g) < 0)
            rc = sql_oom(&c->x);
    c->ns_agg += clock_ns() - t0;
out:
    for (int k = 0; w && k < n; k++) {
        sql_groups_free(&w[k].g);
        dict_cache_free(w[k].dc, p->ncols);
    }
    es_free(w);
    es_free(th);
    pthread_mutex_destroy(&par.mu);
    return rc;
}

/* The threads an aggregation may use: the store's count, 1 for DISTINCT aggregates (their
 * (group, value) tables are not merged), for a SELECT without FROM and for an answer from the
 * log's statistics (no scan). */
static int agg_threads(const sql_cursor *c)
{
    const sql_plan *p = &c->p;
    if (!p->aggregate || !p->sel->table || c->from_stats)
        return 1;
    for (int a = 0; a < p->naggs; a++)
        if (p->aggs[a].distinct)
            return 1;
    int n = es_store_threads(c->x.s->store);
    return n > 1 ? n : 1;
}

/* Aggregates or ORDER BY: compute the whole result into c->res. */
static int run_all(sql_cursor *c)
{
    sql_exec *x = &c->x;
    sql_plan *p = &c->p;
    sql_groups g;
    sql_batch b;
    memset(&g, 0, sizeof g);
    memset(&b, 0, sizeof b);
    int rc = -1;
    if (p->aggregate && sql_groups_init(&g, p) < 0) {
        sql_oom(x);
        goto out;
    }
    int nthreads = agg_threads(c);
    if (nthreads > 1 && run_parallel(c, &g, nthreads) < 0)
        goto out;
    for (; nthreads <= 1;) {
        int got = next_input(c, &b);
        if (got < 0)
            goto out;
        if (!got)
            break;
        int64_t t0 = clock_ns();
        if (p->aggregate ? sql_groups_add(x, &g, p, &b) < 0 : emit(x, p, &b, &c->res) < 0)
            goto out;
        if (p->aggregate ? mem_check(c, groups_bytes(&g), "the aggregation") < 0
                         : mem_check(c, result_bytes(&c->res), "the sort") < 0)
            goto out;
        *(p->aggregate ? &c->ns_agg : &c->ns_project) += clock_ns() - t0;
        /* ORDER BY with LIMIT: keep the first OFFSET + LIMIT rows so far (bounded memory). */
        int64_t keep = p->offset + p->limit;
        if (!p->aggregate && p->sel->norder > 0 && p->limit >= 0 && keep < ((int64_t)1 << 40) &&
            c->res.nrows >= keep + SQL_TOPK_SLACK) {
            t0 = clock_ns();
            if (sql_sort_keep(x, p, &c->res, keep, &c->topk_sorted) < 0)
                goto out;
            c->ns_sort += clock_ns() - t0;
        }
        sql_batch_free(&b);
    }
    end_input(c);
    int64_t t0 = clock_ns();
    for (int a = 0; c->from_stats && g.ngroups == 1 && a < p->naggs; a++)
        if (p->aggs[a].kind == SQL_AGG_COUNT_STAR)
            g.st[a].cnt[0] = c->stats_rows;
    if (p->aggregate) {
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
        c->groups = g.ngroups;
        if (sql_filter_batch(x, p->sel->having, &b) < 0 || emit(x, p, &b, &c->res) < 0)
            goto out;
    }
    int64_t t1 = clock_ns();
    c->ns_agg += t1 - t0;
    rc = sql_sort_limit(x, p, &c->res);
    c->ns_sort += clock_ns() - t1;
out:
    sql_batch_free(&b);
    sql_groups_free(&g);
    return rc;
}

/* No aggregates, no ORDER BY: evaluate the select list over the next input batch and keep its
 * rows inside [OFFSET, OFFSET + LIMIT). */
static int step(sql_cursor *c)
{
    sql_exec *x = &c->x;
    sql_plan *p = &c->p;
    sql_batch b;
    sql_result t;
    memset(&t, 0, sizeof t);
    int got = next_input(c, &b);
    if (got < 0)
        goto fail;
    if (!got) {
        end_input(c);
        return 0;
    }
    int64_t t0 = clock_ns();
    if (result_init(x, p, c->res.ncols, &t) < 0 || emit(x, p, &b, &t) < 0)
        goto fail;
    c->ns_project += clock_ns() - t0;
    /* This batch holds rows [seen, seen + k) of the input; keep [OFFSET, want). */
    int64_t k = t.nrows, lo = p->offset - c->seen,
            hi = c->want - c->seen < k ? c->want - c->seen : k;
    lo = lo < 0 ? 0 : lo > k ? k : lo;
    hi = hi < lo ? lo : hi;
    c->seen += k;
    if (hi > lo) {
        int64_t *sel = lo == 0 && hi == k ? NULL : es_malloc(sizeof(int64_t) * (size_t)(hi - lo));
        if (!sel && !(lo == 0 && hi == k)) {
            sql_oom(x);
            goto fail;
        }
        for (int64_t r = lo; sel && r < hi; r++)
            sel[r - lo] = r;
        for (int i = 0; i < c->res.ncols; i++)
            if (sql_vec_append(&c->res.cols[i], &t.cols[i], sel, hi - lo) < 0) {
                es_free(sel);
                sql_oom(x);
                goto fail;
            }
        es_free(sel);
        c->res.nrows += hi - lo;
    }
    sql_result_free(&t);
    sql_batch_free(&b);
    if (c->seen >= c->want)
        end_input(c);
    return 0;
fail:
    sql_result_free(&t);
    sql_batch_free(&b);
    return -1;
}

/* Drop the rows of res that were handed out. */
static int compact(sql_cursor *c)
{
    if (c->start == 0)
        return 0;
    int64_t n = c->res.nrows - c->start;
    int64_t *sel = es_malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    if (!sel)
        return sql_oom(&c->x);
    for (int64_t r = 0; r < n; r++)
        sel[r] = c->start + r;
    for (int i = 0; i < c->res.ncols; i++) {
        sql_vec nv;
        sql_vec_init(&nv, c->res.cols[i].ty);
        if (sql_vec_append(&nv, &c->res.cols[i], sel, n) < 0) {
            sql_vec_free(&nv);
            es_free(sel);
            return sql_oom(&c->x);
        }
        sql_vec_free(&c->res.cols[i]);
        c->res.cols[i] = nv;
    }
    es_free(sel);
    c->res.nrows = n;
    c->start = 0;
    return 0;
}

/* Compute rows until SQL_BATCH_ROWS are waiting or the result is complete. */
static int fill(sql_cursor *c)
{
    if (!c->started) {
        c->started = 1;
        if (c->materialise)
            return run_all(c);
    }
    if (c->materialise || c->input_done || c->res.nrows - c->start >= SQL_BATCH_ROWS)
        return 0;
    if (compact(c) < 0)
        return -1;
    while (!c->input_done && c->res.nrows < SQL_BATCH_ROWS)
        if (step(c) < 0)
            return -1;
    return 0;
}

int sql_cursor_open(sql_exec *x, sql_select *sel, int null_as_int64, sql_cursor **out)
{
    *out = NULL;
    sql_cursor *c = es_calloc(1, sizeof *c);
    if (!c)
        return sql_oom(x);
    c->x = *x;
    c->null_as_int64 = null_as_int64;
    sql_plan *p = &c->p;
    if (sql_bind_select(x, sel, p) < 0)
        goto fail;
    c->materialise = p->aggregate || sel->norder > 0;
    c->want = INT64_MAX; /* OFFSET + LIMIT */
    if (!c->materialise && p->limit >= 0 && p->limit <= INT64_MAX - p->offset)
        c->want = p->offset + p->limit;
    if (result_init(x, p, c->materialise ? p->nout : p->nvisible, &c->res) < 0)
        goto fail;
    if (sel->table) {
        int rc = try_stats(c);
        if (rc < 0 || (rc == 0 && open_scan(c) < 0))
            goto fail;
    }
    c->notnull = es_calloc((size_t)(p->nvisible > 0 ? p->nvisible : 1), 1);
    if (!c->notnull) {
        sql_oom(x);
        goto fail;
    }
    for (int i = 0; i < p->nvisible; i++)
        c->notnull[i] = !may_be_null(p, p->out[i]);
    /* The schema shows the visible columns only (ORDER BY may add hidden ones). */
    int n = c->res.ncols;
    c->res.ncols = p->nvisible;
    int rc = make_schema(c);
    c->res.ncols = n;
    if (rc < 0)
        goto fail;
    *out = c;
    return 0;
fail:
    sql_cursor_close(c);
    return -1;
}

const struct ArrowSchema *sql_cursor_schema(const sql_cursor *c)
{
    return &c->schema;
}

int sql_cursor_next(sql_cursor *c, struct ArrowArray *out)
{
    sql_exec *x = &c->x;
    memset(out, 0, sizeof *out);
    if (c->failed)
        return -1; /* the session still has the error */
    if (sql_check_interrupt(x) < 0 || fill(c) < 0) {
        c->failed = 1;
        return -1;
    }
    int64_t n = c->res.nrows - c->start;
    if (n > SQL_BATCH_ROWS)
        n = SQL_BATCH_ROWS;
    if (n == 0)
        return 0; /* the end */
    es_error e;
    for (int i = 0; i < c->schema.n_children; i++) {
        es_status st =
            sql_vec_build(es_builder_child(c->bld, i), &c->types[i], &c->res.cols[i], c->start, n);
        if (st != ES_OK) {
            c->failed = 1;
            return st == ES_NOMEM ? sql_oom(x)
                                  : sql_fail(x, ES_INTERNAL, -1, "column %s: value out of range",
                                             c->res.names[i]);
        }
    }
    for (int64_t r = 0; r < n; r++)
        if (es_builder_append_struct(c->bld) != ES_OK) {
            c->failed = 1;
            return sql_oom(x);
        }
    if (es_builder_finish(c->bld, out, &e) != ES_OK) {
        c->failed = 1;
        return sql_fail(x, e.code, -1, "%s", e.msg);
    }
    c->start += n;
    return 0;
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
    if (sql_vec_reserve(&res->cols[0], 1) < 0 || !res->names[0])
        return sql_oom(x);
    res->nrows = n;
    return 0;
}

/* Milliseconds with three decimals. */
static double ms(int64_t ns)
{
    return (double)ns / 1e6;
}

int sql_cursor_explain(sql_cursor *c, int analyze)
{
    sql_exec *x = &c->x;
    sql_plan *pp = &c->p;
    sql_select *sel = pp->sel;
    int64_t rows = 0, t0 = clock_ns();
    if (analyze) {
        /* Run the query, counting its rows without keeping them. */
        do {
            if (fill(c) < 0)
                return -1;
            rows += c->res.nrows - c->start;
            c->start = c->res.nrows;
        } while (!c->materialise && !c->input_done);
    }
    int64_t total = clock_ns() - t0;
    sql_result_free(&c->res);
    c->start = 0;
    enum { MAXL = 32, W = 1200 };
    char lines[MAXL][W], buf[1024];
    char *lp[MAXL];
    int n = 0;
    for (int i = 0; i < MAXL; i++)
        lp[i] = lines[i];
    if (sel->table && c->from_stats) {
        snprintf(lines[n++], W, "STATISTICS %s%s", sel->table,
                 sel->as_of >= 0   ? " (AS OF VERSION)"
                 : sel->as_of_time ? " (AS OF TIMESTAMP)"
                                   : "");
        snprintf(lines[n++], W,
                 "  answered from the log's statistics: %lld rows, 0 requests, 0 bytes of .data",
                 (long long)c->stats_rows);
    } else if (sel->table) {
        snprintf(lines[n++], W, "SCAN %s%s", sel->table,
                 sel->as_of >= 0   ? " (AS OF VERSION)"
                 : sel->as_of_time ? " (AS OF TIMESTAMP)"
                                   : "");
        int k = snprintf(lines[n], W, "  columns: ");
        int first = 1;
        for (int i = 0; i < pp->ncols; i++)
            if (pp->cols[i].used && k < W - 1) {
                k += snprintf(lines[n] + k, W - (size_t)k, "%s%s", first ? "" : ", ",
                              pp->cols[i].name);
                first = 0;
            }
        if (first)
            snprintf(lines[n] + k, W - (size_t)k, "(row count only)");
        n++;
        sql_fmt_pushed(buf, sizeof buf, pp);
        snprintf(lines[n++], W, "  pushed predicate: %s", buf);
        /* What pruning leaves to fetch, from the log's statistics and the .idx objects. */
        es_scan_options so;
        es_scan_plan_info plan;
        if (scan_options(c, &so) < 0)
            return -1;
        if (es_scan_plan(x->s->store, sel->table, &so, &plan) != ES_OK)
            return sql_store_err(x, sel->table_pos);
        snprintf(lines[n++], W, "  parts: %lld total, %lld skipped by statistics",
                 (long long)plan.parts_total, (long long)plan.parts_skipped);
        snprintf(lines[n++], W,
                 "  batches: %lld in the remaining parts, %lld skipped by .idx statistics or index",
                 (long long)plan.batches_total, (long long)plan.batches_skipped);
        snprintf(lines[n++], W,
                 "  planned: %lld rows to scan, %lld requests, %lld bytes of .data "
                 "(.idx: %lld requests, %lld bytes)",
                 (long long)plan.rows_to_scan, (long long)plan.data_requests,
                 (long long)plan.data_bytes, (long long)plan.idx_requests,
                 (long long)plan.idx_bytes);
        if (plan.cache_chunks > 0)
            snprintf(lines[n++], W,
                     "  planned from the column cache: %lld chunks, %lld bytes of .data not to "
                     "fetch",
                     (long long)plan.cache_chunks, (long long)plan.cache_bytes);
        if (plan.index_name[0])
            snprintf(lines[n++], W,
                     "  secondary index %s: used on %lld parts, %lld batches skipped by it, "
                     "%lld rows read by position",
                     plan.index_name, (long long)plan.index_parts,
                     (long long)plan.index_batches_skipped, (long long)plan.index_rows);
        if (analyze) {
            es_scan_stats *s = &c->stats;
            snprintf(lines[n++], W, "  actual parts: %lld total, %lld skipped",
                     (long long)s->parts_total, (long long)s->parts_skipped);
            snprintf(lines[n++], W, "  actual batches: %lld total, %lld skipped",
                     (long long)s->batches_total, (long long)s->batches_skipped);
            snprintf(lines[n++], W, "  rows: %lld scanned, %lld from storage",
                     (long long)s->rows_scanned, (long long)s->rows_returned);
            snprintf(lines[n++], W, "  requests: %lld, bytes fetched: %lld, round trips: %lld",
                     (long long)s->requests, (long long)s->bytes_fetched,
                     (long long)s->round_trips);
            snprintf(lines[n++], W,
                     "  column cache: %lld chunks, %lld bytes of .data not fetched or decoded",
                     (long long)s->cache_chunks, (long long)s->cache_bytes);
            if (s->index_name[0])
                snprintf(lines[n++], W,
                         "  actual secondary index %s: used on %lld parts, %lld batches "
                         "skipped, %lld rows read by position",
                         s->index_name, (long long)s->index_parts,
                         (long long)s->index_batches_skipped, (long long)s->index_rows);
            snprintf(lines[n++], W, "  time: %.3f ms", ms(c->ns_scan));
        }
    }
    if (sel->where) {
        sql_fmt_expr(buf, sizeof buf, sel->where);
        snprintf(lines[n++], W, "FILTER %s", buf);
        if (analyze)
            snprintf(lines[n++], W, "  actual: %lld rows in, %lld out, %.3f ms",
                     (long long)c->rows_in, (long long)c->rows_kept, ms(c->ns_filter));
    }
    if (pp->aggregate) {
        snprintf(lines[n++], W, "HASH AGGREGATE %d key(s), %d aggregate(s)%s", pp->ngroup,
                 pp->naggs, sel->having ? ", HAVING" : "");
        if (analyze)
            snprintf(lines[n++], W, "  actual: %lld groups, %.3f ms", (long long)c->groups,
                     ms(c->ns_agg));
    }
    if (sel->norder) {
        snprintf(lines[n++], W, "SORT %d key(s)", sel->norder);
        if (analyze)
            snprintf(lines[n++], W, "  actual: %.3f ms", ms(c->ns_sort));
    }
    if (pp->limit >= 0 || pp->offset > 0)
        snprintf(lines[n++], W, "LIMIT %lld OFFSET %lld", (long long)pp->limit,
                 (long long)pp->offset);
    if (!pp->aggregate) {
        snprintf(lines[n++], W, "PROJECT %d column(s)%s", pp->nvisible,
                 sel->table ? "" : " of one row (no FROM)");
        if (analyze)
            snprintf(lines[n++], W, "  actual: %.3f ms", ms(c->ns_project));
    }
    if (analyze) {
        snprintf(lines[n++], W, "  result rows: %lld", (long long)rows);
        snprintf(lines[n++], W, "  total time: %.3f ms", ms(total));
    }
    /* The plan is the whole result: the query's input is done with. */
    end_input(c);
    c->started = c->materialise = 1;
    if (text_result(x, &c->res, "plan", lp, n) < 0)
        return -1;
    es_free(c->notnull);
    c->notnull = NULL;
    return make_schema(c);
}

int sql_cursor_open_rows(sql_exec *x, sql_result *res, const uint8_t *notnull, sql_cursor **out)
{
    *out = NULL;
    sql_cursor *c = es_calloc(1, sizeof *c);
    if (!c) {
        sql_result_free(res);
        return sql_oom(x);
    }
    c->x = *x;
    c->res = *res;
    memset(res, 0, sizeof *res);
    c->materialise = c->started = c->input_done = 1;
    if (notnull) {
        c->notnull = es_malloc((size_t)(c->res.ncols > 0 ? c->res.ncols : 1));
        if (!c->notnull) {
            sql_cursor_close(c);
            return sql_oom(x);
        }
        memcpy(c->notnull, notnull, (size_t)c->res.ncols);
    }
    if (make_schema(c) < 0) {
        sql_cursor_close(c);
        return -1;
    }
    *out = c;
    return 0;
}

int sql_cursor_keep(sql_cursor *c, sql_arena *arena, int start, int end)
{
    c->text = es_malloc((size_t)(end - start + 1));
    if (!c->text)
        return sql_oom(&c->x);
    memcpy(c->text, c->x.src + start - c->x.base, (size_t)(end - start));
    c->text[end - start] = 0;
    int line, col;
    sql_line_col(c->x.src, start - c->x.base, &line, &col);
    /* From the caller's base: lines and columns before `start`. */
    c->x.line0 = line == 1 ? c->x.line0 : c->x.line0 + line - 1;
    c->x.col0 = line == 1 ? c->x.col0 + col - 1 : col;
    c->x.src = c->text;
    c->x.base = start;
    c->arena = *arena;
    memset(arena, 0, sizeof *arena);
    return 0;
}

void sql_cursor_orphan(sql_cursor *c)
{
    c->x.s = NULL;
}

void sql_cursor_close(sql_cursor *c)
{
    if (!c)
        return;
    if (c->x.s && c->x.s->open == c)
        c->x.s->open = NULL;
    es_schema_release(&c->scan_schema);
    es_stream_release(&c->scan);
    es_array_release(&c->stats_batch);
    es_schema_release(&c->stats_schema);
    dict_cache_free(c->dc, c->p.ncols);
    es_free(c->colnames);
    sql_result_free(&c->res);
    sql_plan_free(&c->p);
    es_schema_release(&c->schema);
    es_free(c->types);
    es_free(c->notnull);
    es_builder_free(c->bld);
    sql_arena_reset(&c->arena);
    es_free(c->text);
    es_free(c);
}

/* ---------------------------------------------------------------- stream */

static int stream_get_schema(struct ArrowArrayStream *s, struct ArrowSchema *out)
{
    sql_cursor *c = s->private_data;
    return es_schema_copy(out, &c->schema, NULL) == ES_OK ? 0 : ENOMEM;
}

static int stream_get_next(struct ArrowArrayStream *s, struct ArrowArray *out)
{
    sql_cursor *c = s->private_data;
    memset(out, 0, sizeof *out);
    if (!c->x.s) {
        snprintf(c->msg, sizeof c->msg, "the SQL session was closed");
        return EINVAL;
    }
    if (c->failed_errno)
        return c->failed_errno;
    if (sql_cursor_next(c, out) == 0)
        return 0;
    es_sql_session *q = c->x.s;
    if (q->errline)
        snprintf(c->msg, sizeof c->msg, "%d:%d: %s", q->errline, q->errcol, q->err);
    else
        snprintf(c->msg, sizeof c->msg, "%s", q->err);
    c->failed_errno = q->code == ES_NOMEM         ? ENOMEM
                      : q->code == ES_INVALID     ? EINVAL
                      : q->code == ES_INTERRUPTED ? EINTR
                                                  : EIO;
    return c->failed_errno;
}

static const char *stream_get_last_error(struct ArrowArrayStream *s)
{
    sql_cursor *c = s->private_data;
    return c->msg[0] ? c->msg : NULL;
}

static void stream_release(struct ArrowArrayStream *s)
{
    sql_cursor_close(s->private_data);
    s->release = NULL;
}

void sql_cursor_stream(sql_cursor *c, struct ArrowArrayStream *out)
{
    memset(out, 0, sizeof *out);
    out->get_schema = stream_get_schema;
    out->get_next = stream_get_next;
    out->get_last_error = stream_get_last_error;
    out->release = stream_release;
    out->private_data = c;
}
