/*
 * dml: DELETE, UPDATE, TRUNCATE and upserts (see sql/sql.h for the files, sql/exec.h for the
 * interfaces), on the library's deletes and updates (es_delete, es_delete_keys, es_update and
 * es_upsert in expstore.h). Every statement is one commit of the library: all of it or nothing.
 *
 * WHERE is bound like a SELECT's (bind.c) and split with plan.c's pushdown: the part that
 * es_expr can express goes down to the storage layer, the engine evaluates the rest (eval.c).
 *
 *  - DELETE FROM t [WHERE w]. A WHERE that translates exactly (sql_push_where, partial 0) is
 *    es_delete's predicate. Otherwise a scan with its translatable part finds the rows that
 *    satisfy all of w, and es_delete_keys deletes them by primary key. A table without a
 *    primary key refuses such a WHERE (the library deletes only by predicate or by key); a
 *    WHERE without columns is evaluated once (true: every row, else none). Keys are taken as
 *    unique: INSERT does not check them, and a row sharing its key with a deleted row goes too.
 *  - UPDATE t SET c = e, ... [WHERE w]: es_update with w's translatable part; its callback gets
 *    the rows batch by batch, evaluates the rest of w and the SET expressions over the old
 *    values, converts them to the columns' types with INSERT's rules (sql_coerce) and checks
 *    NOT NULL. es_update replaces every row it hands the callback, so a row that passes the
 *    pushed part but not all of w is written back unchanged (not counted). To bound that, when
 *    w is not pushed down whole and the table has a primary key, a scan of the columns w reads
 *    finds the matching rows first: none, and nothing is written; else the pushed predicate
 *    gets the range of their keys (matches spread over the whole table still rewrite it). The
 *    primary key may be set (the row moves; the table layer refuses a duplicate key).
 *  - TRUNCATE [TABLE] t: es_delete without predicate (every part removed, none read).
 *  - Upserts, on a table with a primary key (the conflict target must name it):
 *    INSERT OR REPLACE and REPLACE INTO: es_upsert REPLACE (of rows proposed with one key, the
 *    last counts); INSERT OR IGNORE and ON CONFLICT DO NOTHING: es_upsert DO_NOTHING (the
 *    first counts; only key conflicts are ignored, not NOT NULL or type errors).
 *    ON CONFLICT (key) DO UPDATE SET c = e, ... [WHERE w]: when SET gives every other column
 *    c the value excluded.c and there is no WHERE, the result is the proposed row: REPLACE.
 *    Otherwise the existing rows with the proposed keys are read first (a key-set scan of the
 *    table layer, as es_upsert's own), SET and w are evaluated over the existing row (plain
 *    or table-qualified names) and the proposed one (excluded.c), and es_upsert REPLACE writes
 *    the proposed rows with new keys and the updated rows; existing rows failing w stay as
 *    they are. As in PostgreSQL, a key proposed twice is an error, and SET cannot change the
 *    key. The read and the commit are two steps: an update of the same rows committed by
 *    another writer in between is overwritten, not detected.
 *
 * Counts (es_sql_result.changes): rows deleted (DELETE, TRUNCATE); rows updated, those that
 * satisfied all of WHERE (UPDATE); rows proposed (REPLACE: each one inserted or replaced, as
 * SQLite counts); rows inserted (DO NOTHING, IGNORE); rows inserted or updated (DO UPDATE).
 */
#include <stdlib.h>
#include <string.h>

#include "sql/exec.h"
#include "table/expr.h"
#include "table/table.h"

/* A statement's table, bound for its expressions. */
typedef struct dml {
    sql_exec *x;
    sql_stmt *st;
    sql_plan p; /* the table's columns, then (DO UPDATE) excluded.<column> for each of them */
    int ncols;  /* the table's columns */
    es_table_info info;
    es_type *types; /* the Arrow type of each column */
    int pk;         /* the primary key's column, or -1 */
    int *set_col;   /* per SET item: its column */
    es_expr *pushed;
    int exact; /* pushed is all of WHERE (or there is no WHERE) */
} dml;

static void dml_close(dml *d)
{
    es_expr_free(d->pushed);
    es_free(d->types);
    es_free(d->set_col);
    sql_plan_free(&d->p);
    es_table_info_reset(&d->info);
}

/* Describe the table (latest version); excluded: add the excluded.<column> columns. */
static int dml_open(dml *d, sql_exec *x, sql_stmt *st, int excluded)
{
    memset(d, 0, sizeof *d);
    d->x = x;
    d->st = st;
    d->pk = -1;
    if (sql_describe(x, st->table, -1, st->table_pos, &d->p.cols, &d->p.ncols, &d->info) < 0)
        return -1;
    int n = d->ncols = d->p.ncols;
    d->types = es_calloc((size_t)(n ? n : 1), sizeof(es_type));
    d->set_col = es_calloc((size_t)(st->nset ? st->nset : 1), sizeof(int));
    if (!d->types || !d->set_col)
        return sql_oom(x);
    for (int c = 0; c < n; c++) {
        es_error e;
        if (es_type_parse(&d->types[c], d->info.schema.children[c]->format, &e) != ES_OK)
            return sql_fail(x, e.code, -1, "%s", e.msg);
        if (d->info.primary_key && strcmp(d->p.cols[c].name, d->info.primary_key) == 0)
            d->pk = c;
    }
    if (excluded) {
        sql_colinfo *all = es_realloc(d->p.cols, sizeof(sql_colinfo) * (size_t)(n > 0 ? 2 * n : 1));
        if (!all)
            return sql_oom(x);
        d->p.cols = all;
        for (int c = 0; c < n; c++) {
            sql_colinfo *e = &all[n + c];
            *e = all[c];
            e->used = 0;
            size_t len = strlen(all[c].name) + 10;
            e->name = es_malloc(len);
            if (!e->name)
                return sql_oom(x);
            snprintf(e->name, len, "excluded.%s", all[c].name);
            d->p.ncols++;
        }
    }
    return 0;
}

/* Column references qualified by the statement's table lose the qualifier; excluded.c (when
 * allowed) becomes the reference to column "excluded.c" of the plan. */
static int resolve_quals(dml *d, sql_expr *e, int excluded)
{
    if (!e)
        return 0;
    if (e->kind == E_COL && e->qual) {
        if (strcmp(e->qual, d->st->table) == 0) {
            e->qual = NULL;
        } else if (excluded && strcmp(e->qual, "excluded") == 0) {
            int c = -1;
            for (int i = 0; i < d->ncols && c < 0; i++)
                if (strcmp(d->p.cols[i].name, e->name) == 0)
                    c = i;
            if (c < 0)
                return sql_err(d->x, e->pos, "no such column: excluded.%s", e->name);
            e->name = d->p.cols[d->ncols + c].name;
            e->qual = NULL;
        } else {
            return sql_err(d->x, e->pos, "no such table: %s", e->qual);
        }
    }
    if (resolve_quals(d, e->a, excluded) < 0 || resolve_quals(d, e->b, excluded) < 0 ||
        resolve_quals(d, e->c, excluded) < 0)
        return -1;
    for (int i = 0; i < e->nlist; i++)
        if (resolve_quals(d, e->list[i], excluded) < 0)
            return -1;
    return 0;
}

static int bind_where(dml *d, sql_expr *w, int excluded)
{
    if (resolve_quals(d, w, excluded) < 0 || sql_bind_expr(d->x, &d->p, w, 0) < 0 ||
        sql_check_bool(d->x, w, w) < 0)
        return -1;
    return 0;
}

/* Bind the SET list: targets exist once each, values bind and convert to their column. */
static int bind_set(dml *d, int excluded)
{
    sql_exec *x = d->x;
    sql_stmt *st = d->st;
    for (int i = 0; i < st->nset; i++) {
        int c = -1;
        for (int k = 0; k < d->ncols && c < 0; k++)
            if (strcmp(d->p.cols[k].name, st->set_cols[i]) == 0)
                c = k;
        if (c < 0)
            return sql_no_column(x, st->set_pos[i], st->table, st->set_cols[i], d->p.cols,
                                 d->ncols);
        for (int k = 0; k < i; k++)
            if (d->set_col[k] == c)
                return sql_err(x, st->set_pos[i], "column %s is set twice", st->set_cols[i]);
        d->set_col[i] = c;
        const sql_colinfo *col = &d->p.cols[c];
        if (col->ty.t == SQL_NULL)
            return sql_err(x, st->set_pos[i], "column %s has an unsupported type", col->name);
        sql_expr *e = st->set_exprs[i];
        if (resolve_quals(d, e, excluded) < 0 || sql_bind_expr(x, &d->p, e, 0) < 0)
            return -1;
        if (sql_is_temporal(col->ty.t) && e->kind == E_STR &&
            sql_fold_temporal(x, e, col->ty.t) < 0) {
            char tn[64];
            sql_typeinfo_name(tn, sizeof tn, &col->ty);
            return sql_err(x, e->pos, "column %s (%s): invalid value '%.60s'", col->name, tn,
                           e->sval);
        }
        /* The type check of INSERT, on no rows: refused whether or not a row matches. */
        sql_vec v;
        if (sql_vec_alloc(&v, e->ty, 0) < 0)
            return sql_oom(x);
        int rc = sql_coerce(x, e->pos, col->name, &col->ty, &v);
        sql_vec_free(&v);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* Columns of unsupported types may be copied, not read. */
static int check_used(dml *d)
{
    for (int c = 0; c < d->p.ncols; c++)
        if (d->p.cols[c].used && d->p.cols[c].ty.t == SQL_NULL)
            return sql_err(d->x, -1, "column %s has an unsupported type", d->p.cols[c].name);
    return 0;
}

/* Split WHERE: d->pushed gets its translatable part, d->exact says whether that is all. */
static int push_where(dml *d, sql_expr *w)
{
    d->exact = 1;
    if (!w)
        return 0;
    es_expr *all = sql_push_where(&d->p, w, 0);
    d->exact = all != NULL;
    if (all) {
        d->pushed = all;
        return 0;
    }
    d->pushed = sql_push_where(&d->p, w, 1);
    return 0;
}

/* Load the columns of view v (a struct whose children carry column names) that are used, or
 * all when `all`, into b->cols[off + c] (b->cols has d->p.ncols entries, b->n is set). */
static int load_cols(dml *d, const struct ArrowSchema *schema, const es_array_view *v, int off,
                     int all, sql_batch *b)
{
    for (int i = 0; i < v->n_children; i++) {
        const char *name = schema->children[i]->name;
        int c = -1;
        for (int k = 0; name && k < d->ncols && c < 0; k++)
            if (strcmp(d->p.cols[k].name, name) == 0)
                c = k;
        if (c < 0 || b->cols[off + c].nulls || d->p.cols[c].ty.t == SQL_NULL ||
            !(all || d->p.cols[off + c].used))
            continue;
        if (sql_vec_load(&b->cols[off + c], &v->children[i], d->p.cols[c].ty) < 0)
            return sql_oom(d->x);
    }
    return 0;
}

static int batch_new(dml *d, int64_t n, sql_batch *b)
{
    b->n = n;
    b->ncols = d->p.ncols;
    b->cols = es_calloc((size_t)(b->ncols ? b->ncols : 1), sizeof(sql_vec));
    return b->cols ? 0 : sql_oom(d->x);
}

/* Rows of b where w is TRUE into sel (b->n entries); *nsel their count. */
static int eval_where(dml *d, const sql_expr *w, const sql_batch *b, int64_t *sel, int64_t *nsel)
{
    sql_vec v;
    *nsel = 0;
    if (sql_eval_bool(d->x, w, b, &v) < 0)
        return -1;
    for (int64_t r = 0; r < b->n; r++)
        if (!v.nulls[r] && v.i[r])
            sel[(*nsel)++] = r;
    sql_vec_free(&v);
    return 0;
}

/* The rows sel[0..nsel) of the loaded columns of b as a new batch. */
static int batch_select(dml *d, const sql_batch *b, const int64_t *sel, int64_t nsel,
                        sql_batch *out)
{
    if (batch_new(d, nsel, out) < 0)
        return -1;
    for (int c = 0; c < b->ncols; c++) {
        if (!b->cols[c].nulls)
            continue;
        sql_vec_init(&out->cols[c], b->cols[c].ty);
        if (sql_vec_append(&out->cols[c], &b->cols[c], sel, nsel) < 0 ||
            sql_vec_reserve(&out->cols[c], 1) < 0)
            return sql_oom(d->x);
    }
    return 0;
}

/* Evaluate the SET values over b into vals[i] (converted, NOT NULL checked). */
static int eval_set(dml *d, const sql_batch *b, sql_vec *vals)
{
    sql_exec *x = d->x;
    sql_stmt *st = d->st;
    for (int i = 0; i < st->nset; i++) {
        const sql_colinfo *col = &d->p.cols[d->set_col[i]];
        sql_expr *e = st->set_exprs[i];
        if (sql_eval(x, e, b, &vals[i]) < 0 ||
            sql_coerce(x, e->pos, col->name, &col->ty, &vals[i]) < 0)
            return -1;
        if (!col->nullable)
            for (int64_t r = 0; r < b->n; r++)
                if (vals[i].nulls[r])
                    return sql_err(x, e->pos, "NOT NULL constraint failed: %s.%s", st->table,
                                   col->name);
    }
    return 0;
}

/* Value r of vector v into builder cb of column c; an error names the value and column. */
static int build_value(dml *d, es_builder *cb, int c, const sql_vec *v, int64_t r, int pos)
{
    es_status s = sql_build_value(cb, &d->types[c], v, r);
    if (s == ES_OK)
        return 0;
    if (s == ES_NOMEM)
        return sql_oom(d->x);
    char b[64];
    int64_t l;
    const char *t = sql_vec_format(v, r, b, sizeof b, &l);
    return sql_err(d->x, pos, "value %.*s does not fit column %s", (int)l, t, d->p.cols[c].name);
}

/* A stream of one batch of `schema` (moved in). */
static int one_batch_stream(dml *d, const struct ArrowSchema *schema, struct ArrowArray *batch,
                            struct ArrowArrayStream *out)
{
    es_error e;
    if (es_stream_from_batches(out, schema, batch, 1, &e) != ES_OK) {
        es_array_release(batch);
        return sql_fail(d->x, e.code, -1, "%s", e.msg);
    }
    return 0;
}

/* ----------------------------------------------------------------- DELETE */

/* A WHERE without column references: its value, once (1 true, 0 false or NULL, -1 error). */
static int const_where(dml *d, const sql_expr *w)
{
    sql_batch one = {.n = 1};
    sql_vec v;
    if (sql_eval_bool(d->x, w, &one, &v) < 0)
        return -1;
    int t = !v.nulls[0] && v.i[0];
    sql_vec_free(&v);
    return t;
}

static int uses_columns(const dml *d)
{
    for (int c = 0; c < d->p.ncols; c++)
        if (d->p.cols[c].used)
            return 1;
    return 0;
}

/* What scan_matches hands each batch: the key column's view and the matching rows. */
typedef int (*match_fn)(dml *d, const es_array_view *key, const int64_t *sel, int64_t n, void *ctx);

/* Scan the table (at the version WHERE was bound at) with the pushed part of WHERE, reading the
 * columns WHERE uses and the primary key, and hand fn the rows that satisfy all of WHERE, batch
 * by batch. 0 or -1. */
static int scan_matches(dml *d, match_fn fn, void *ctx)
{
    sql_exec *x = d->x;
    sql_stmt *st = d->st;
    int rc = -1;
    const char **names = es_calloc((size_t)d->ncols + 1, sizeof(char *));
    int64_t *sel = NULL, cap = 0;
    struct ArrowArrayStream scan;
    struct ArrowSchema ss;
    memset(&scan, 0, sizeof scan);
    memset(&ss, 0, sizeof ss);
    es_error e;
    if (!names)
        return sql_oom(x);
    int nn = 0;
    for (int c = 0; c < d->ncols; c++)
        if (d->p.cols[c].used || c == d->pk)
            names[nn++] = d->p.cols[c].name;
    es_scan_options so = ES_SCAN_OPTIONS_INIT;
    so.columns = names;
    so.n_columns = nn;
    so.predicate = d->pushed;
    so.at_version = d->info.version;
    if (es_scan(x->s->store, st->table, &so, &scan) != ES_OK) {
        sql_store_err(x, st->pos);
        goto out;
    }
    if (scan.get_schema(&scan, &ss) != 0) {
        sql_fail(x, ES_IO, -1, "%s: %s", st->table, scan.get_last_error(&scan));
        goto out;
    }
    int kcol = -1;
    for (int i = 0; i < ss.n_children; i++)
        if (strcmp(ss.children[i]->name, d->p.cols[d->pk].name) == 0)
            kcol = i;
    if (kcol < 0) {
        sql_fail(x, ES_INTERNAL, -1, "%s: the scan lost the key", st->table);
        goto out;
    }
    for (;;) {
        struct ArrowArray a;
        memset(&a, 0, sizeof a);
        int en = scan.get_next(&scan, &a);
        if (en != 0) {
            const char *m = scan.get_last_error(&scan);
            sql_fail(x, ES_IO, -1, "%s: %s", st->table, m ? m : "scan failed");
            goto out;
        }
        if (!a.release)
            break;
        es_array_view v;
        sql_batch b;
        memset(&b, 0, sizeof b);
        if (es_array_view_init(&v, &ss, &a, &e) != ES_OK) {
            a.release(&a);
            sql_fail(x, ES_CORRUPT, -1, "%s: bad batch from scan: %s", st->table, e.msg);
            goto out;
        }
        int64_t ns = 0;
        int brc = batch_new(d, a.length, &b);
        if (brc == 0 && a.length > cap) {
            es_free(sel);
            sel = es_malloc(sizeof(int64_t) * (size_t)a.length);
            cap = sel ? a.length : 0;
            brc = sel ? 0 : sql_oom(x);
        }
        if (brc == 0)
            brc = load_cols(d, &ss, &v, 0, 0, &b);
        if (brc == 0)
            brc = eval_where(d, st->where, &b, sel, &ns);
        if (brc == 0 && ns > 0)
            brc = fn(d, &v.children[kcol], sel, ns, ctx);
        sql_batch_free(&b);
        es_array_view_reset(&v);
        a.release(&a);
        if (brc < 0)
            goto out;
    }
    rc = 0;
out:
    es_schema_release(&ss);
    es_stream_release(&scan);
    es_free(sel);
    es_free(names);
    return rc;
}

/* The keys of the matching rows, as batches of one column of the key's type. */
typedef struct key_batches {
    struct ArrowSchema schema;
    es_builder *b;
    struct ArrowArray *batches;
    int64_t n;
} key_batches;

static int finish_keys(dml *d, key_batches *k)
{
    es_error e;
    struct ArrowArray *k2 = es_realloc(k->batches, sizeof *k2 * (size_t)(k->n + 1));
    if (!k2)
        return sql_oom(d->x);
    k->batches = k2;
    if (es_builder_finish(k->b, &k->batches[k->n], &e) != ES_OK)
        return sql_fail(d->x, e.code, -1, "%s", e.msg);
    k->n++;
    return 0;
}

static int collect_keys(dml *d, const es_array_view *key, const int64_t *sel, int64_t n, void *ctx)
{
    key_batches *k = ctx;
    for (int64_t i = 0; i < n; i++) {
        if (es_view_is_null(key, sel[i]))
            return sql_err(d->x, d->st->pos,
                           "cannot delete a row whose primary key %s is NULL with this WHERE "
                           "clause",
                           d->p.cols[d->pk].name);
        if (es_table_append_value(es_builder_child(k->b, 0), key, sel[i]) != ES_OK ||
            es_builder_append_struct(k->b) != ES_OK)
            return sql_oom(d->x);
    }
    return es_builder_length(k->b) >= SQL_BATCH_ROWS ? finish_keys(d, k) : 0;
}

/* The range of the matching rows' keys (UPDATE with a WHERE that is not pushed down whole). */
typedef struct key_range {
    int64_t n;
    es_domain dom;
    es_scalar lo, hi;
    char *lo_bytes, *hi_bytes; /* copies for ES_DOM_BYTES */
} key_range;

static int keep_bytes(char **dst, es_scalar *s)
{
    char *p = es_malloc((size_t)s->len + 1);
    if (!p)
        return -1;
    if (s->len)
        memcpy(p, s->p, (size_t)s->len);
    es_free(*dst);
    *dst = p;
    s->p = (const uint8_t *)p;
    return 0;
}

static int widen_range(dml *d, const es_array_view *key, const int64_t *sel, int64_t n, void *ctx)
{
    key_range *k = ctx;
    for (int64_t i = 0; i < n; i++) {
        if (es_view_is_null(key, sel[i])) {
            k->dom = ES_DOM_NONE; /* a NULL key: no range */
            k->n++;
            continue;
        }
        es_scalar v;
        memset(&v, 0, sizeof v);
        es_scalar_from_view(&v, k->dom == ES_DOM_NONE ? ES_DOM_INT : k->dom, key, sel[i]);
        if (k->dom != ES_DOM_NONE && (k->n == 0 || es_scalar_cmp(k->dom, &v, &k->lo) < 0)) {
            k->lo = v;
            if (k->dom == ES_DOM_BYTES && keep_bytes(&k->lo_bytes, &k->lo) < 0)
                return sql_oom(d->x);
        }
        if (k->dom != ES_DOM_NONE && (k->n == 0 || es_scalar_cmp(k->dom, &v, &k->hi) > 0)) {
            k->hi = v;
            if (k->dom == ES_DOM_BYTES && keep_bytes(&k->hi_bytes, &k->hi) < 0)
                return sql_oom(d->x);
        }
        k->n++;
    }
    return 0;
}

/* Narrow an UPDATE whose WHERE is not pushed down whole: the rows that satisfy all of it are
 * found first (a scan of the columns WHERE reads), and the pushed predicate gets the range of
 * their keys, so es_update rewrites the rows in that range only (and nothing when none
 * matches). *none: no row matches. 0 or -1. */
static int narrow_update(dml *d, int *none)
{
    key_range k;
    memset(&k, 0, sizeof k);
    *none = 0;
    es_domain dom = es_expr_domain(d->types[d->pk].id);
    k.dom = dom == ES_DOM_INT || dom == ES_DOM_DOUBLE || dom == ES_DOM_BYTES ? dom : ES_DOM_NONE;
    int rc = scan_matches(d, widen_range, &k);
    if (rc == 0 && k.n == 0)
        *none = 1;
    if (rc == 0 && k.n > 0 && k.dom != ES_DOM_NONE) {
        es_value lo, hi;
        memset(&lo, 0, sizeof lo);
        memset(&hi, 0, sizeof hi);
        if (k.dom == ES_DOM_INT) {
            lo.kind = hi.kind = ES_VALUE_INT;
            lo.i = k.lo.i;
            hi.i = k.hi.i;
        } else if (k.dom == ES_DOM_DOUBLE) {
            lo.kind = hi.kind = ES_VALUE_DOUBLE;
            lo.d = k.lo.d;
            hi.d = k.hi.d;
        } else {
            lo.kind = hi.kind = ES_VALUE_BYTES;
            lo.bytes = k.lo.p;
            lo.len = k.lo.len;
            hi.bytes = k.hi.p;
            hi.len = k.hi.len;
        }
        es_expr *r = es_expr_between(d->p.cols[d->pk].name, lo, hi);
        d->pushed = d->pushed ? es_expr_and(d->pushed, r) : r;
        if (es_expr_failed(d->pushed)) {
            d->pushed = NULL;
            rc = sql_oom(d->x);
        }
    }
    es_free(k.lo_bytes);
    es_free(k.hi_bytes);
    return rc;
}

static int delete_all(dml *d, const es_expr *pred, int64_t *affected)
{
    if (es_delete(d->x->s->store, d->st->table, pred, affected) != ES_OK) {
        if (es_store_errcode(d->x->s->store) == ES_NOT_FOUND)
            return sql_no_table(d->x, d->st->table_pos, d->st->table);
        return sql_store_err(d->x, d->st->pos);
    }
    return 0;
}

int sql_exec_delete(sql_exec *x, sql_stmt *st, int64_t *affected)
{
    dml d;
    int rc = -1;
    key_batches kb;
    memset(&kb, 0, sizeof kb);
    if (dml_open(&d, x, st, 0) < 0)
        goto out;
    if (!st->where) {
        rc = delete_all(&d, NULL, affected);
        goto out;
    }
    if (bind_where(&d, st->where, 0) < 0 || check_used(&d) < 0 || push_where(&d, st->where) < 0)
        goto out;
    if (d.exact) {
        rc = delete_all(&d, d.pushed, affected);
        goto out;
    }
    if (!uses_columns(&d)) {
        int t = const_where(&d, st->where);
        if (t < 0)
            goto out;
        *affected = 0;
        rc = t ? delete_all(&d, NULL, affected) : 0;
        goto out;
    }
    if (d.pk < 0) {
        sql_err(x, st->where->pos,
                "DELETE from %s: this WHERE clause needs the table's primary key (it has none); "
                "without one, WHERE may only combine comparisons of columns with constants "
                "(=, <>, <, <=, >, >=, BETWEEN, IN, IS [NOT] NULL) with AND, OR and NOT",
                st->table);
        goto out;
    }
    es_error e;
    if (es_schema_init_struct(&kb.schema, 1, &e) != ES_OK ||
        es_schema_init(kb.schema.children[0], d.info.schema.children[d.pk]->format,
                       d.p.cols[d.pk].name, 0, &e) != ES_OK ||
        es_builder_new(&kb.b, &kb.schema, &e) != ES_OK) {
        sql_fail(x, e.code, -1, "%s", e.msg);
        goto out;
    }
    if (scan_matches(&d, collect_keys, &kb) < 0 ||
        (es_builder_length(kb.b) > 0 && finish_keys(&d, &kb) < 0))
        goto out;
    if (kb.n == 0) {
        *affected = 0;
        rc = 0;
        goto out;
    }
    struct ArrowArrayStream s;
    int64_t n = kb.n;
    kb.n = 0; /* moved into the stream */
    if (es_stream_from_batches(&s, &kb.schema, kb.batches, n, &e) != ES_OK) {
        sql_fail(x, e.code, -1, "%s", e.msg);
        goto out;
    }
    if (es_delete_keys(x->s->store, st->table, &s, affected) != ES_OK) {
        sql_store_err(x, st->pos);
        goto out;
    }
    rc = 0;
out:
    for (int64_t i = 0; i < kb.n; i++)
        es_array_release(&kb.batches[i]);
    es_free(kb.batches);
    es_builder_free(kb.b);
    es_schema_release(&kb.schema);
    dml_close(&d);
    return rc;
}

int sql_exec_truncate(sql_exec *x, sql_stmt *st, int64_t *affected)
{
    dml d;
    memset(&d, 0, sizeof d);
    d.x = x;
    d.st = st;
    return delete_all(&d, NULL, affected);
}

/* ----------------------------------------------------------------- UPDATE */

typedef struct update_ctx {
    dml *d;
    es_builder *bld;
    int64_t updated; /* rows that satisfied all of WHERE */
    int failed;      /* the session holds the error */
} update_ctx;

/* es_update_fn: the new values of a batch of rows. */
static es_status update_rows(void *ctx, const struct ArrowSchema *schema,
                             const struct ArrowArray *rows, struct ArrowArray *out, es_error *err)
{
    update_ctx *u = ctx;
    dml *d = u->d;
    sql_exec *x = d->x;
    sql_stmt *st = d->st;
    int64_t n = rows->length, nsel = n;
    es_array_view v;
    sql_batch b, sub;
    int64_t *sel = NULL;
    uint8_t *hit = NULL;
    sql_vec *vals = es_calloc((size_t)(st->nset ? st->nset : 1), sizeof(sql_vec));
    int *setof = es_malloc(sizeof(int) * (size_t)(d->ncols ? d->ncols : 1));
    memset(&b, 0, sizeof b);
    memset(&sub, 0, sizeof sub);
    es_error e;
    int rc = -1;
    if (es_array_view_init(&v, schema, rows, &e) != ES_OK) {
        es_free(vals);
        es_free(setof);
        u->failed = 1;
        sql_fail(x, ES_CORRUPT, -1, "%s: bad batch from the update: %s", st->table, e.msg);
        return es_error_set(err, ES_CORRUPT, 0, "%s", x->s->err);
    }
    if (!vals || !setof || batch_new(d, n, &b) < 0) {
        sql_oom(x);
        goto out;
    }
    for (int c = 0; c < d->ncols; c++)
        setof[c] = -1;
    for (int i = 0; i < st->nset; i++)
        setof[d->set_col[i]] = i;
    if (load_cols(d, schema, &v, 0, 0, &b) < 0)
        goto out;
    const sql_batch *eb = &b;
    if (!d->exact) {
        sel = es_malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
        hit = es_calloc((size_t)(n ? n : 1), 1);
        if (!sel || !hit) {
            sql_oom(x);
            goto out;
        }
        if (eval_where(d, st->where, &b, sel, &nsel) < 0)
            goto out;
        for (int64_t k = 0; k < nsel; k++)
            hit[sel[k]] = 1;
        if (nsel < n) {
            if (batch_select(d, &b, sel, nsel, &sub) < 0)
                goto out;
            eb = &sub;
        }
    }
    if (nsel > 0 && eval_set(d, eb, vals) < 0)
        goto out;
    /* The new rows: SET columns from vals (rows that matched), the others copied. */
    for (int c = 0; c < d->ncols; c++) {
        es_builder *cb = es_builder_child(u->bld, c);
        if (es_builder_reserve(cb, n) != ES_OK) {
            sql_oom(x);
            goto out;
        }
        int i = setof[c];
        int pos = i >= 0 ? st->set_exprs[i]->pos : -1;
        for (int64_t r = 0, k = 0; r < n; r++) {
            if (i >= 0 && (!hit || hit[r])) {
                if (build_value(d, cb, c, &vals[i], k++, pos) < 0)
                    goto out;
            } else if (es_table_append_value(cb, &v.children[c], r) != ES_OK) {
                sql_oom(x);
                goto out;
            }
        }
    }
    for (int64_t r = 0; r < n; r++)
        if (es_builder_append_struct(u->bld) != ES_OK) {
            sql_oom(x);
            goto out;
        }
    if (es_builder_finish(u->bld, out, &e) != ES_OK) {
        sql_fail(x, e.code, -1, "%s", e.msg);
        goto out;
    }
    u->updated += nsel;
    rc = 0;
out:
    for (int i = 0; vals && i < st->nset; i++)
        sql_vec_free(&vals[i]);
    es_free(vals);
    es_free(setof);
    es_free(sel);
    es_free(hit);
    sql_batch_free(&sub);
    sql_batch_free(&b);
    es_array_view_reset(&v);
    if (rc == 0)
        return ES_OK;
    u->failed = 1;
    return es_error_set(err, x->s->code != ES_OK ? x->s->code : ES_INTERNAL, 0, "%s", x->s->err);
}

int sql_exec_update(sql_exec *x, sql_stmt *st, int64_t *affected)
{
    dml d;
    update_ctx u;
    memset(&u, 0, sizeof u);
    u.d = &d;
    int rc = -1;
    if (dml_open(&d, x, st, 0) < 0)
        goto out;
    if (bind_set(&d, 0) < 0 || (st->where && bind_where(&d, st->where, 0) < 0) ||
        check_used(&d) < 0 || push_where(&d, st->where) < 0)
        goto out;
    if (!d.exact && d.pk >= 0) {
        int none = 0;
        if (narrow_update(&d, &none) < 0)
            goto out;
        if (none) {
            *affected = 0;
            rc = 0;
            goto out;
        }
    }
    es_error e;
    if (es_builder_new(&u.bld, &d.info.schema, &e) != ES_OK) {
        sql_fail(x, e.code, -1, "%s", e.msg);
        goto out;
    }
    /* When WHERE is pushed down whole every row found is updated: a SET column whose old
     * value no expression reads is not fetched. */
    const char **read = es_calloc((size_t)(d.ncols ? d.ncols : 1), sizeof(char *));
    int64_t n_read = 0;
    if (!read) {
        sql_oom(x);
        goto out;
    }
    for (int c = 0; c < d.ncols; c++) {
        int set = 0;
        for (int i = 0; i < st->nset; i++)
            set |= d.set_col[i] == c;
        if (!d.exact || !set || d.p.cols[c].used)
            read[n_read++] = d.p.cols[c].name;
    }
    es_status ust =
        es_update_cols(x->s->store, st->table, d.pushed, read, n_read, update_rows, &u, NULL);
    es_free(read);
    if (ust != ES_OK) {
        if (!u.failed)
            sql_store_err(x, st->pos);
        goto out;
    }
    *affected = u.updated;
    rc = 0;
out:
    es_builder_free(u.bld);
    dml_close(&d);
    return rc;
}

/* ----------------------------------------------------------------- upsert */

typedef struct key_ref {
    es_scalar k;
    es_domain dom;
    int64_t row;
} key_ref;

static int cmp_key_ref(const void *pa, const void *pb)
{
    const key_ref *a = pa, *b = pb;
    int c = es_scalar_cmp(a->dom, &a->k, &b->k);
    return c ? c : (a->row > b->row) - (a->row < b->row);
}

/* Is DO UPDATE SET the whole proposed row (every column but the key set to excluded.c)? */
static int set_is_replace(const dml *d)
{
    const sql_stmt *st = d->st;
    if (st->where)
        return 0;
    int covered = 0;
    for (int i = 0; i < st->nset; i++) {
        const sql_expr *e = st->set_exprs[i];
        int c = d->set_col[i];
        if (e->kind != E_COL || e->index != d->ncols + c)
            return 0;
        covered += c != d->pk;
    }
    return covered == d->ncols - 1;
}

/* ON CONFLICT (key) DO UPDATE, in general: read the existing rows of the proposed keys, merge,
 * and hand es_upsert REPLACE the proposed rows with new keys and the merged ones. */
static int upsert_update(dml *d, struct ArrowArray *batch, int64_t *affected)
{
    sql_exec *x = d->x;
    sql_stmt *st = d->st;
    const struct ArrowSchema *schema = &d->info.schema;
    int rc = -1, n = d->ncols;
    int64_t rows = batch->length, nk = 0, nfound = 0, capfound = 0, nb = 0, nsel = 0;
    es_array_view pv;
    es_error e;
    key_ref *keys = NULL;
    es_scalar *uk = NULL;
    int64_t *found_row = NULL; /* per found existing row: the proposed row */
    int64_t *found_batch = NULL, *found_at = NULL;
    uint8_t *hit = NULL;
    es_tabledef *t = NULL;
    es_scanner *sc = NULL;
    struct ArrowArray *eb = NULL; /* the scanner's batches with found rows */
    es_array_view *ev = NULL;
    int64_t *sel = NULL;
    sql_batch prop, merged, sub;
    sql_vec *vals = es_calloc((size_t)(st->nset ? st->nset : 1), sizeof(sql_vec));
    int *setof = es_malloc(sizeof(int) * (size_t)(n ? n : 1));
    es_builder *bld = NULL;
    struct ArrowArray out;
    memset(&out, 0, sizeof out);
    memset(&prop, 0, sizeof prop);
    memset(&merged, 0, sizeof merged);
    memset(&sub, 0, sizeof sub);
    memset(&pv, 0, sizeof pv);
    if (!vals || !setof)
        goto oom;
    if (es_array_view_init(&pv, schema, batch, &e) != ES_OK) {
        sql_fail(x, e.code, -1, "%s", e.msg);
        goto out;
    }
    for (int c = 0; c < n; c++)
        setof[c] = -1;
    for (int i = 0; i < st->nset; i++)
        setof[d->set_col[i]] = i;
    /* The proposed keys, sorted; a key proposed twice is an error. */
    es_domain dom = es_expr_domain(d->types[d->pk].id);
    const es_array_view *kv = &pv.children[d->pk];
    keys = es_malloc(sizeof *keys * (size_t)(rows ? rows : 1));
    uk = es_malloc(sizeof *uk * (size_t)(rows ? rows : 1));
    if (!keys || !uk)
        goto oom;
    for (int64_t r = 0; r < rows; r++) {
        if (es_view_is_null(kv, r))
            continue;
        memset(&keys[nk], 0, sizeof keys[nk]);
        es_scalar_from_view(&keys[nk].k, dom, kv, r);
        if (dom == ES_DOM_DOUBLE && keys[nk].k.d != keys[nk].k.d)
            continue; /* NaN matches nothing */
        keys[nk].dom = dom;
        keys[nk++].row = r;
    }
    qsort(keys, (size_t)nk, sizeof *keys, cmp_key_ref);
    for (int64_t i = 0; i < nk; i++) {
        if (i > 0 && es_scalar_cmp(dom, &keys[i - 1].k, &keys[i].k) == 0) {
            char b[64];
            int64_t l;
            sql_vec kvec;
            sql_vec_init(&kvec, d->p.cols[d->pk].ty);
            const char *s = "?";
            l = 1;
            if (sql_vec_load(&kvec, kv, d->p.cols[d->pk].ty) == 0)
                s = sql_vec_format(&kvec, keys[i].row, b, sizeof b, &l);
            sql_err(x, st->pos,
                    "ON CONFLICT DO UPDATE: key %.*s is proposed twice (a row cannot be updated "
                    "twice by one statement)",
                    (int)l, s);
            sql_vec_free(&kvec);
            goto out;
        }
        uk[i] = keys[i].k;
    }
    /* The existing rows with those keys (every column), as the table is now. */
    found_row = es_malloc(sizeof(int64_t) * 64);
    found_batch = es_malloc(sizeof(int64_t) * 64);
    found_at = es_malloc(sizeof(int64_t) * 64);
    if (!found_row || !found_batch || !found_at)
        goto oom;
    capfound = 64;
    if (nk > 0) {
        if (es_store_table(&t, x->s->store, st->table, -1, &e) != ES_OK) {
            sql_fail(x, e.code, st->pos, "%s", e.msg);
            goto out;
        }
        es_scan_options so = ES_SCAN_OPTIONS_INIT;
        es_scan_ext ext = {t, 0, uk, nk, NULL};
        if (es_scanner_open(&sc, x->s->store, NULL, &so, &ext, &e) != ES_OK) {
            sql_fail(x, e.code, st->pos, "%s", e.msg);
            goto out;
        }
        const struct ArrowSchema *ss = es_scanner_schema(sc);
        int kcol = -1;
        for (int i = 0; i < ss->n_children; i++)
            if (strcmp(ss->children[i]->name, d->p.cols[d->pk].name) == 0)
                kcol = i;
        for (;;) {
            struct ArrowArray a;
            memset(&a, 0, sizeof a);
            if (es_scanner_next(sc, &a, &e) != ES_OK) {
                sql_fail(x, e.code, st->pos, "%s", e.msg);
                goto out;
            }
            if (!a.release)
                break;
            struct ArrowArray *eb2 = es_realloc(eb, sizeof *eb * (size_t)(nb + 1));
            es_array_view *ev2 = eb2 ? es_realloc(ev, sizeof *ev * (size_t)(nb + 1)) : NULL;
            if (eb2)
                eb = eb2;
            if (ev2)
                ev = ev2;
            if (!eb2 || !ev2) {
                a.release(&a);
                goto oom;
            }
            eb[nb] = a;
            if (es_array_view_init(&ev[nb], ss, &eb[nb], &e) != ES_OK || kcol < 0) {
                es_array_release(&eb[nb]);
                sql_fail(x, ES_CORRUPT, -1, "%s: bad batch from scan", st->table);
                goto out;
            }
            nb++;
            const es_array_view *bk = &ev[nb - 1].children[kcol];
            for (int64_t r = 0; r < bk->length; r++) {
                key_ref q;
                memset(&q, 0, sizeof q);
                es_scalar_from_view(&q.k, dom, bk, r);
                int64_t lo = 0, hi = nk;
                while (lo < hi) {
                    int64_t mid = lo + (hi - lo) / 2;
                    if (es_scalar_cmp(dom, &keys[mid].k, &q.k) < 0)
                        lo = mid + 1;
                    else
                        hi = mid;
                }
                if (lo >= nk || es_scalar_cmp(dom, &keys[lo].k, &q.k) != 0)
                    continue;
                if (nfound == capfound) {
                    capfound *= 2;
                    int64_t *a1 = es_realloc(found_row, sizeof(int64_t) * (size_t)capfound);
                    if (a1)
                        found_row = a1;
                    int64_t *a2 = es_realloc(found_batch, sizeof(int64_t) * (size_t)capfound);
                    if (a2)
                        found_batch = a2;
                    int64_t *a3 = es_realloc(found_at, sizeof(int64_t) * (size_t)capfound);
                    if (a3)
                        found_at = a3;
                    if (!a1 || !a2 || !a3)
                        goto oom;
                }
                found_row[nfound] = keys[lo].row;
                found_batch[nfound] = nb - 1;
                found_at[nfound++] = r;
            }
        }
    }
    /* Evaluate over (existing row, excluded row) pairs: columns [0, n) existing, [n, 2n)
     * proposed. */
    hit = es_calloc((size_t)(rows ? rows : 1), 1); /* proposed rows whose key exists */
    sel = es_malloc(sizeof(int64_t) * (size_t)(nfound ? nfound : 1));
    if (!hit || !sel || batch_new(d, rows, &prop) < 0 || batch_new(d, nfound, &merged) < 0)
        goto oom;
    for (int64_t f = 0; f < nfound; f++)
        hit[found_row[f]] = 1;
    if (load_cols(d, schema, &pv, 0, 1, &prop) < 0)
        goto out;
    for (int c = 0; c < n; c++) {
        if (d->p.cols[c].used) {
            sql_vec_init(&merged.cols[c], d->p.cols[c].ty);
            if (sql_vec_reserve(&merged.cols[c], nfound ? nfound : 1) < 0)
                goto oom;
        }
        if (d->p.cols[n + c].used && prop.cols[c].nulls) {
            sql_vec_init(&merged.cols[n + c], d->p.cols[c].ty);
            if (sql_vec_append(&merged.cols[n + c], &prop.cols[c], found_row, nfound) < 0 ||
                sql_vec_reserve(&merged.cols[n + c], 1) < 0)
                goto oom;
        }
    }
    for (int64_t f = 0; f < nfound;) {
        /* The found rows of one scanner batch at a time. */
        int64_t g = f;
        while (g < nfound && found_batch[g] == found_batch[f])
            g++;
        sql_batch one;
        memset(&one, 0, sizeof one);
        int lrc = batch_new(d, ev[found_batch[f]].length, &one);
        if (lrc == 0)
            lrc = load_cols(d, es_scanner_schema(sc), &ev[found_batch[f]], 0, 0, &one);
        for (int c = 0; c < n && lrc == 0; c++)
            if (d->p.cols[c].used &&
                sql_vec_append(&merged.cols[c], &one.cols[c], found_at + f, g - f) < 0)
                lrc = sql_oom(x);
        sql_batch_free(&one);
        if (lrc < 0)
            goto out;
        f = g;
    }
    /* WHERE: the found rows it keeps (the others stay as they are). */
    nsel = nfound;
    for (int64_t f = 0; f < nfound; f++)
        sel[f] = f;
    const sql_batch *mb = &merged;
    if (st->where) {
        if (eval_where(d, st->where, &merged, sel, &nsel) < 0)
            goto out;
        if (nsel < nfound) {
            if (batch_select(d, &merged, sel, nsel, &sub) < 0)
                goto out;
            mb = &sub;
        }
    }
    if (nsel > 0 && eval_set(d, mb, vals) < 0)
        goto out;
    /* The rows for es_upsert: proposed rows with new keys, then the updated ones. */
    if (es_builder_new(&bld, schema, &e) != ES_OK) {
        sql_fail(x, e.code, -1, "%s", e.msg);
        goto out;
    }
    int64_t nout = 0;
    for (int c = 0; c < n; c++) {
        es_builder *cb = es_builder_child(bld, c);
        if (es_builder_reserve(cb, rows) != ES_OK)
            goto oom;
        for (int64_t r = 0; r < rows; r++)
            if (!hit[r] && es_table_append_value(cb, &pv.children[c], r) != ES_OK)
                goto oom;
        for (int64_t k = 0; k < nsel; k++) {
            int64_t f = sel[k];
            int i = setof[c];
            if (i >= 0) {
                if (build_value(d, cb, c, &vals[i], k, st->set_exprs[i]->pos) < 0)
                    goto out;
            } else if (es_table_append_value(cb, &ev[found_batch[f]].children[c], found_at[f]) !=
                       ES_OK) {
                goto oom;
            }
        }
        nout = es_builder_length(cb);
    }
    for (int64_t r = 0; r < nout; r++)
        if (es_builder_append_struct(bld) != ES_OK)
            goto oom;
    if (es_builder_finish(bld, &out, &e) != ES_OK) {
        sql_fail(x, e.code, -1, "%s", e.msg);
        goto out;
    }
    /* The scanner's table must go before the upsert writes. */
    es_scanner_close(sc);
    sc = NULL;
    struct ArrowArrayStream s;
    if (one_batch_stream(d, schema, &out, &s) < 0)
        goto out;
    int64_t ins = 0, upd = 0;
    if (es_upsert(x->s->store, st->table, &s, ES_UPSERT_REPLACE, &ins, &upd) != ES_OK) {
        sql_store_err(x, st->pos);
        goto out;
    }
    *affected = ins + upd;
    rc = 0;
    goto out;
oom:
    sql_oom(x);
out:
    es_array_release(&out);
    es_builder_free(bld);
    for (int i = 0; vals && i < st->nset; i++)
        sql_vec_free(&vals[i]);
    es_free(vals);
    es_free(setof);
    sql_batch_free(&sub);
    sql_batch_free(&merged);
    sql_batch_free(&prop);
    for (int64_t i = 0; i < nb; i++) {
        es_array_view_reset(&ev[i]);
        es_array_release(&eb[i]);
    }
    es_free(ev);
    es_free(eb);
    es_scanner_close(sc);
    es_tabledef_unref(t);
    es_free(sel);
    es_free(hit);
    es_free(found_row);
    es_free(found_batch);
    es_free(found_at);
    es_free(uk);
    es_free(keys);
    es_array_view_reset(&pv);
    es_array_release(batch);
    return rc;
}

int sql_exec_upsert(sql_exec *x, sql_stmt *st, const es_table_info *info, const sql_colinfo *cols,
                    int ncols, struct ArrowArray *batch, int64_t *affected)
{
    dml d;
    int rc = -1;
    (void)info;
    (void)cols;
    (void)ncols;
    int excluded = st->conflict == SQL_CONFLICT_UPDATE;
    if (dml_open(&d, x, st, excluded) < 0)
        goto out;
    if (d.pk < 0) {
        sql_err(x, st->pos,
                "table %s has no primary key: ON CONFLICT, INSERT OR REPLACE, INSERT OR IGNORE "
                "and REPLACE need one",
                st->table);
        goto out;
    }
    if (st->conflict_key && strcmp(st->conflict_key, d.p.cols[d.pk].name) != 0) {
        int known = 0;
        for (int c = 0; c < d.ncols; c++)
            known |= strcmp(d.p.cols[c].name, st->conflict_key) == 0;
        if (!known)
            sql_no_column(x, st->conflict_pos, st->table, st->conflict_key, d.p.cols, d.ncols);
        else
            sql_err(x, st->conflict_pos,
                    "ON CONFLICT (%s): only the primary key (%s) is unique in table %s",
                    st->conflict_key, d.p.cols[d.pk].name, st->table);
        goto out;
    }
    es_upsert_mode mode = ES_UPSERT_DO_NOTHING;
    if (excluded) {
        if (bind_set(&d, 1) < 0 || (st->where && bind_where(&d, st->where, 1) < 0) ||
            check_used(&d) < 0)
            goto out;
        for (int i = 0; i < st->nset; i++)
            if (d.set_col[i] == d.pk &&
                !(st->set_exprs[i]->kind == E_COL && st->set_exprs[i]->index == d.ncols + d.pk)) {
                sql_err(x, st->set_pos[i],
                        "ON CONFLICT DO UPDATE cannot change the primary key %s (use UPDATE)",
                        d.p.cols[d.pk].name);
                goto out;
            }
        if (!set_is_replace(&d)) {
            rc = upsert_update(&d, batch, affected);
            goto out;
        }
        mode = ES_UPSERT_REPLACE;
    } else if (st->conflict == SQL_CONFLICT_REPLACE) {
        mode = ES_UPSERT_REPLACE;
    }
    int64_t rows = batch->length, ins = 0, upd = 0;
    struct ArrowArrayStream s;
    if (one_batch_stream(&d, &d.info.schema, batch, &s) < 0)
        goto out;
    if (es_upsert(x->s->store, st->table, &s, mode, &ins, &upd) != ES_OK) {
        sql_store_err(x, st->pos);
        goto out;
    }
    *affected = mode == ES_UPSERT_DO_NOTHING ? ins : excluded ? ins + upd : rows;
    rc = 0;
out:
    es_array_release(batch);
    dml_close(&d);
    return rc;
}
