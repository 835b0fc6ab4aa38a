/*
 * plan: binding a SELECT into a plan (see sql/sql.h for the files, sql/exec.h for the
 * interfaces). Describes the table at the requested version, expands '*', names the output
 * columns, resolves GROUP BY and ORDER BY positions and aliases (ORDER BY keys that are not
 * output columns become hidden columns), binds every expression (bind.c), and translates the
 * part of WHERE that es_expr can express into the predicate pushed down to es_scan:
 * column op literal, BETWEEN, IN, IS NULL and AND/OR/NOT of those, where an AND keeps its
 * translatable side except under NOT. The pushed predicate accepts a superset of the rows; a
 * literal must convert exactly to the column's type (no 2.5 against an integer column, no 0.1
 * against a REAL), so the storage layer never drops a row SQL keeps. Above it: select.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sql/exec.h"
#include "table/expr.h"

static int const_int(sql_exec *x, sql_expr *e, const char *what, int64_t *out)
{
    sql_plan dummy;
    memset(&dummy, 0, sizeof dummy);
    if (sql_bind_expr(x, &dummy, e, 0) < 0)
        return -1;
    if (e->kind != E_INT || e->ival < 0)
        return sql_err(x, e->pos, "%s must be a non-negative integer", what);
    *out = e->ival;
    return 0;
}

int sql_describe(sql_exec *x, const char *table, int64_t version, int pos, sql_colinfo **cols,
                 int *ncols, es_table_info *info_out)
{
    es_table_info info;
    memset(&info, 0, sizeof info);
    es_status st = es_table_describe(x->s->store, table, version, &info);
    if (st != ES_OK) {
        if (st == ES_NOT_FOUND && version < 0)
            return sql_no_table(x, pos, table);
        return sql_store_err(x, pos);
    }
    int n = (int)info.schema.n_children;
    *cols = es_calloc((size_t)(n ? n : 1), sizeof(sql_colinfo));
    if (!*cols) {
        es_table_info_reset(&info);
        return sql_oom(x);
    }
    for (int i = 0; i < n; i++) {
        const struct ArrowSchema *c = info.schema.children[i];
        (*cols)[i].name = es_strdup(c->name ? c->name : "");
        if (!(*cols)[i].name) {
            for (int k = 0; k < i; k++)
                es_free((*cols)[k].name);
            es_free(*cols);
            *cols = NULL;
            es_table_info_reset(&info);
            return sql_oom(x);
        }
        (*cols)[i].nullable = (c->flags & ARROW_FLAG_NULLABLE) != 0;
        if (sql_type_from_arrow(&(*cols)[i].ty, c->format) < 0) {
            (*cols)[i].ty.t = SQL_NULL; /* unsupported: usable only if not referenced */
        }
    }
    *ncols = n;
    if (info_out)
        *info_out = info;
    else
        es_table_info_reset(&info);
    return 0;
}

/* HAVING may name a select item by its alias (when no input column has that name): the
 * reference becomes a copy of the (already bound) item. */
static int resolve_aliases(sql_exec *x, sql_plan *p, sql_expr **ep)
{
    sql_expr *e = *ep;
    if (!e)
        return 0;
    if (e->kind == E_COL) {
        for (int c = 0; c < p->ncols; c++)
            if (strcmp(p->cols[c].name, e->name) == 0)
                return 0;
        for (int i = 0, k = 0; i < p->sel->nitems; i++) {
            int cnt = p->sel->items[i].e ? 1 : p->ncols;
            const char *alias = p->sel->items[i].alias;
            if (alias && strcmp(alias, e->name) == 0) {
                sql_expr *copy = p->nowned < 512 ? es_malloc(sizeof *copy) : NULL;
                if (!copy)
                    return sql_oom(x);
                p->owned[p->nowned++] = copy;
                *copy = *p->out[k];
                *ep = copy;
                return 0;
            }
            k += cnt;
        }
        return 0;
    }
    if (resolve_aliases(x, p, &e->a) < 0 || resolve_aliases(x, p, &e->b) < 0 ||
        resolve_aliases(x, p, &e->c) < 0)
        return -1;
    for (int i = 0; i < e->nlist; i++)
        if (resolve_aliases(x, p, &e->list[i]) < 0)
            return -1;
    return 0;
}

/* The 1-based output position of the select item aliased `name` when no input column has that
 * name, else 0. */
static int alias_position(const sql_plan *p, const char *name)
{
    for (int c = 0; c < p->ncols; c++)
        if (strcmp(p->cols[c].name, name) == 0)
            return 0;
    for (int i = 0, k = 0; i < p->sel->nitems; i++) {
        if (p->sel->items[i].alias && strcmp(p->sel->items[i].alias, name) == 0)
            return k + 1;
        k += p->sel->items[i].e ? 1 : p->ncols;
    }
    return 0;
}

/* ------------------------------------------------------------ pushdown */

/* An integer literal (BIGINT, or a cast folded to INTEGER or SMALLINT). */
static int int_lit(const sql_expr *lit)
{
    return lit->kind == E_INT &&
           (lit->ty.t == SQL_BIGINT || lit->ty.t == SQL_INT || lit->ty.t == SQL_SMALLINT);
}

static int lit_value(const sql_expr *lit, const sql_typeinfo *col, es_value *v)
{
    memset(v, 0, sizeof *v);
    switch (col->t) {
    case SQL_SMALLINT:
    case SQL_INT:
    case SQL_BIGINT:
        if (int_lit(lit)) {
            v->kind = ES_VALUE_INT;
            v->i = lit->ival;
            return 0;
        }
        if (lit->kind == E_DBL && lit->dval == floor(lit->dval) && fabs(lit->dval) < 9e18) {
            v->kind = ES_VALUE_INT;
            v->i = (int64_t)lit->dval;
            return 0;
        }
        return -1;
    case SQL_DOUBLE:
        if (int_lit(lit) && llabs(lit->ival) < (1LL << 53)) {
            v->kind = ES_VALUE_DOUBLE;
            v->d = (double)lit->ival;
            return 0;
        }
        if (lit->kind == E_DBL) { /* its nearest double, NaN and the infinities included */
            v->kind = ES_VALUE_DOUBLE;
            v->d = lit->dval;
            return 0;
        }
        return -1;
    case SQL_REAL: {
        /* only a literal a REAL holds exactly: 0.1 is not pushed against a REAL column */
        double d;
        if (lit->kind == E_DBL)
            d = lit->dval;
        else if (int_lit(lit) && llabs(lit->ival) < (1LL << 53))
            d = (double)lit->ival;
        else
            return -1;
        if (!isnan(d) && (double)(float)d != d)
            return -1;
        v->kind = ES_VALUE_DOUBLE;
        v->d = d;
        return 0;
    }
    case SQL_VARCHAR:
        if (lit->kind != E_STR)
            return -1;
        v->kind = ES_VALUE_BYTES;
        v->bytes = (const uint8_t *)lit->sval;
        v->len = lit->slen;
        return 0;
    case SQL_DATE:
    case SQL_TIMESTAMP:
    case SQL_TIMESTAMPTZ:
        if (lit->kind == E_INT && lit->ty.t == col->t) {
            v->kind = ES_VALUE_INT;
            v->i = lit->ival;
            return 0;
        }
        return -1;
    default:
        return -1;
    }
}

static int is_lit(const sql_expr *e)
{
    return e->kind == E_INT || e->kind == E_DBL || e->kind == E_STR;
}

/* Translate e to an es_expr that accepts a superset of the rows e accepts. partial: AND may
 * drop untranslatable operands (not allowed under NOT). NULL when not translatable. */
static es_expr *push(const sql_plan *p, const sql_expr *e, int partial)
{
    es_value v, w;
    switch (e->kind) {
    case E_BIN:
        if (e->op == OP_AND || e->op == OP_OR) {
            /* A chain, operand by operand (es_expr_and/or chains it as deep as it is long;
             * es_pred_bind flattens it again). An AND may drop operands when partial. */
            int is_and = e->op == OP_AND;
            es_expr *acc = NULL;
            for (int i = 0; i < e->nlist; i++) {
                es_expr *t = push(p, e->list[i], partial);
                if (!t) {
                    if (is_and && partial)
                        continue;
                    es_expr_free(acc);
                    return NULL;
                }
                acc = !acc ? t : is_and ? es_expr_and(acc, t) : es_expr_or(acc, t);
                if (!acc)
                    return NULL; /* out of memory: nothing pushed, the filter still runs */
            }
            return acc;
        }
        if (e->op >= OP_EQ && e->op <= OP_GE) {
            const sql_expr *c = e->a, *l = e->b;
            int op = e->op;
            if (c->kind != E_COL) {
                c = e->b;
                l = e->a;
                static const int flip[] = {OP_EQ, OP_NE, OP_GT, OP_GE, OP_LT, OP_LE};
                op = flip[op - OP_EQ];
            }
            if (c->kind != E_COL || !is_lit(l) || lit_value(l, &c->ty, &v) < 0)
                return NULL;
            static const es_cmp_op ops[] = {ES_EQ, ES_NE, ES_LT, ES_LE, ES_GT, ES_GE};
            return es_expr_cmp(p->cols[c->index].name, ops[op - OP_EQ], v);
        }
        return NULL;
    case E_BETWEEN:
        if (e->a->kind != E_COL || !is_lit(e->b) || !is_lit(e->c) ||
            lit_value(e->b, &e->a->ty, &v) < 0 || lit_value(e->c, &e->a->ty, &w) < 0)
            return NULL;
        if (e->neg)
            return es_expr_not(es_expr_between(p->cols[e->a->index].name, v, w));
        return es_expr_between(p->cols[e->a->index].name, v, w);
    case E_IN: {
        if (e->a->kind != E_COL)
            return NULL;
        es_value *vals = es_malloc(sizeof *vals * (size_t)(e->nlist ? e->nlist : 1));
        if (!vals)
            return NULL;
        for (int i = 0; i < e->nlist; i++) {
            if (!is_lit(e->list[i]) || lit_value(e->list[i], &e->a->ty, &vals[i]) < 0) {
                es_free(vals);
                return NULL;
            }
        }
        es_expr *r = es_expr_in(p->cols[e->a->index].name, vals, e->nlist);
        es_free(vals);
        return e->neg ? es_expr_not(r) : r;
    }
    case E_ISNULL:
        if (e->a->kind != E_COL)
            return NULL;
        return es_expr_is_null(p->cols[e->a->index].name, e->neg);
    case E_NOT: {
        es_expr *a = push(p, e->a, 0);
        return a ? es_expr_not(a) : NULL;
    }
    default:
        return NULL;
    }
}

es_expr *sql_push_where(const sql_plan *p, const sql_expr *e, int partial)
{
    es_expr *t = push(p, e, partial);
    return es_expr_failed(t) ? NULL : t; /* out of memory: nothing pushed, the filter runs */
}

static void free_star_exprs(sql_plan *p)
{
    /* '*' expansions were allocated with es_calloc: free those that are not AST nodes. */
    sql_select *sel = p->sel;
    int k = 0;
    for (int i = 0; sel && i < sel->nitems; i++) {
        if (sel->items[i].e) {
            k++;
            continue;
        }
        for (int c = 0; c < p->ncols; c++, k++) {
            int owned = 0;
            for (int o = 0; o < p->nowned; o++)
                owned |= p->owned[o] == p->out[k];
            if (k < p->nout && !owned)
                es_free(p->out[k]);
        }
    }
}

void sql_plan_free(sql_plan *p)
{
    free_star_exprs(p);
    if (p->cols)
        for (int i = 0; i < p->ncols; i++)
            es_free(p->cols[i].name);
    es_free(p->cols);
    es_free(p->out);
    for (int i = 0; p->names && i < p->nout; i++)
        es_free(p->names[i]);
    es_free(p->names);
    es_free(p->order_col);
    es_expr_free(p->pushed);
    for (int i = 0; i < p->nowned; i++)
        es_free(p->owned[i]);
    if (p->distinct_group && p->sel) {
        p->sel->group = NULL;
        p->sel->ngroup = 0;
    }
    es_free(p->distinct_group);
    memset(p, 0, sizeof *p);
}

int sql_as_of(sql_exec *x, const sql_select *sel, int64_t *version)
{
    *version = sel->as_of;
    if (!sel->as_of_time)
        return 0;
    int64_t us;
    const char *t = sel->as_of_time;
    if (sql_parse_timestamp(t, (int64_t)strlen(t), &us) < 0)
        return sql_err(x, sel->as_of_pos, "AS OF TIMESTAMP: cannot parse '%s' as a TIMESTAMP", t);
    int64_t ms = us >= 0 ? us / 1000 : -((-us + 999) / 1000); /* floor */
    if (es_version_at_time(x->s->store, ms, version) != ES_OK)
        return sql_store_err(x, sel->as_of_pos);
    return 0;
}

int sql_bind_select(sql_exec *x, sql_select *sel, sql_plan *p)
{
    memset(p, 0, sizeof *p);
    p->sel = sel;
    p->limit = -1;
    if (sel->table) {
        es_table_info info;
        int64_t at;
        if (sql_as_of(x, sel, &at) < 0 ||
            sql_describe(x, sel->table, at, sel->table_pos, &p->cols, &p->ncols, &info) < 0)
            return -1;
        p->version = info.version;
        es_table_info_reset(&info);
    }
    /* Expand '*'. */
    int nitems = 0;
    for (int i = 0; i < sel->nitems; i++) {
        if (!sel->items[i].e) {
            const char *q = sel->items[i].star_qual;
            if (!sel->table && !q)
                return sql_err(x, -1, "SELECT * needs a FROM clause");
            if (q && !(sel->table &&
                       (strcmp(q, sel->table) == 0 || (sel->alias && strcmp(q, sel->alias) == 0))))
                return sql_err(x, sel->items[i].pos, "no such table: %s (the query reads %s)", q,
                               sel->table ? sel->table : "no table");
            nitems += p->ncols;
        } else {
            nitems++;
        }
    }
    int cap = nitems + sel->norder + 1;
    p->out = es_calloc((size_t)cap, sizeof(sql_expr *));
    p->names = es_calloc((size_t)cap, sizeof(char *));
    p->order_col = es_calloc((size_t)(sel->norder + 1), sizeof(int));
    if (!p->out || !p->names || !p->order_col)
        return sql_oom(x);
    for (int i = 0; i < sel->nitems; i++) {
        if (!sel->items[i].e) {
            for (int c = 0; c < p->ncols; c++) {
                sql_expr *e = es_calloc(1, sizeof *e); /* freed by free_star_exprs */
                if (!e)
                    return sql_oom(x);
                e->kind = E_COL;
                e->name = p->cols[c].name;
                e->pos = -1;
                p->out[p->nout++] = e;
            }
        } else {
            p->out[p->nout++] = sel->items[i].e;
        }
    }
    /* Names: alias, else the expression's text. */
    int k = 0;
    for (int i = 0; i < sel->nitems; i++) {
        int cnt = sel->items[i].e ? 1 : p->ncols;
        for (int j = 0; j < cnt; j++, k++) {
            char buf[256];
            if (sel->items[i].alias)
                snprintf(buf, sizeof buf, "%s", sel->items[i].alias);
            else
                sql_fmt_expr(buf, sizeof buf, p->out[k]);
            p->names[k] = es_strdup(buf);
            if (!p->names[k])
                return sql_oom(x);
        }
    }
    p->nvisible = p->nout;
    p->aggregate = sel->ngroup > 0 || sel->having != NULL;
    for (int i = 0; i < p->nout; i++)
        if (sql_has_agg(p->out[i]))
            p->aggregate = 1;
    for (int i = 0; i < sel->norder; i++)
        if (sql_has_agg(sel->order[i].e))
            p->aggregate = 1;
    if (sel->limit && const_int(x, sel->limit, "LIMIT", &p->limit) < 0)
        return -1;
    if (sel->offset && const_int(x, sel->offset, "OFFSET", &p->offset) < 0)
        return -1;
    if (sel->where) {
        if (sql_has_agg(sel->where))
            return sql_err(x, sel->where->pos, "aggregates are not allowed in WHERE");
        sql_plan tmp = *p;
        tmp.aggregate = 0;
        if (sql_bind_expr(x, &tmp, sel->where, 0) < 0 ||
            sql_check_bool(x, sel->where, sel->where) < 0)
            return -1;
    }
    if (sel->distinct) {
        /* DISTINCT: group by every output column (positions), aggregates are not allowed. */
        if (p->aggregate || sel->ngroup)
            return sql_err(x, -1, "SELECT DISTINCT with GROUP BY or aggregates is not supported");
        if (p->nvisible > 200)
            return sql_err(x, -1, "SELECT DISTINCT: too many columns");
        sql_expr **g = es_calloc((size_t)p->nvisible, sizeof *g);
        if (!g)
            return sql_oom(x);
        p->distinct_group = g;
        for (int i = 0; i < p->nvisible; i++) {
            sql_expr *e = es_calloc(1, sizeof *e);
            if (!e)
                return sql_oom(x);
            p->owned[p->nowned++] = e;
            e->kind = E_INT;
            e->ival = i + 1;
            e->pos = -1;
            g[i] = e;
        }
        sel->group = g;
        sel->ngroup = p->nvisible;
        p->aggregate = 1;
    }
    /* GROUP BY expressions bind against input columns; an integer n is output column n. */
    p->group = sel->group;
    p->ngroup = sel->ngroup;
    for (int g = 0; g < sel->ngroup; g++) {
        sql_expr *e = sel->group[g];
        int alias = e->kind == E_COL ? alias_position(p, e->name) : 0;
        if (alias > 0) { /* GROUP BY an output alias (an input column of that name wins) */
            e->kind = E_INT;
            e->ival = alias;
        }
        if (e->kind == E_INT) {
            if (e->ival < 1 || e->ival > p->nvisible)
                return sql_err(x, e->pos, "GROUP BY position %lld is out of range",
                               (long long)e->ival);
            /* The group key is the select item; the item becomes a copy that binds to it. */
            sql_expr *copy = p->nowned < 512 ? es_malloc(sizeof *copy) : NULL;
            if (!copy)
                return sql_oom(x);
            p->owned[p->nowned++] = copy;
            int64_t at = e->ival - 1;
            sel->group[g] = e = p->out[at];
            *copy = *e;
            p->out[at] = copy;
        }
        if (e->kind == E_COL && !sel->table)
            return sql_unknown_column(x, e->pos, e->name, NULL, 0);
        if (sql_has_agg(e))
            return sql_err(x, e->pos, "aggregates are not allowed in GROUP BY");
        sql_plan tmp = *p;
        tmp.aggregate = 0;
        if (e->kind != E_GROUPREF && sql_bind_expr(x, &tmp, e, 0) < 0)
            return -1;
        for (int c = 0; c < p->ncols; c++)
            p->cols[c].used |= tmp.cols[c].used;
    }
    /* ORDER BY: output position, alias or output expression -> that column; else hidden. */
    for (int o = 0; o < sel->norder; o++) {
        sql_expr *e = sel->order[o].e;
        int col = -1;
        if (e->kind == E_INT) {
            if (e->ival < 1 || e->ival > p->nvisible)
                return sql_err(x, e->pos, "ORDER BY position %lld is out of range",
                               (long long)e->ival);
            col = (int)e->ival - 1;
        } else if (e->kind == E_COL) {
            for (int i = 0; i < p->nvisible && col < 0; i++) {
                int aliased = 0;
                for (int it = 0, kk = 0; it < sel->nitems; it++) {
                    int cnt = sel->items[it].e ? 1 : p->ncols;
                    if (i >= kk && i < kk + cnt)
                        aliased = sel->items[it].alias != NULL;
                    kk += cnt;
                }
                if (aliased && strcmp(p->names[i], e->name) == 0)
                    col = i;
            }
        }
        if (col < 0)
            for (int i = 0; i < p->nvisible && col < 0; i++)
                if (sql_expr_equal(e, p->out[i]))
                    col = i;
        if (col < 0) {
            col = p->nout;
            p->names[p->nout] = es_strdup("#order");
            if (!p->names[p->nout])
                return sql_oom(x);
            p->out[p->nout++] = e;
        }
        p->order_col[o] = col;
    }
    int agg_ok = p->aggregate ? 1 : 0;
    for (int i = 0; i < p->nout; i++) {
        if (!sel->table && (p->out[i]->kind == E_COL))
            return sql_unknown_column(x, p->out[i]->pos, p->out[i]->name, NULL, 0);
        if (sql_bind_expr(x, p, p->out[i], agg_ok) < 0)
            return -1;
    }
    if (sel->having) {
        if (resolve_aliases(x, p, &sel->having) < 0)
            return -1;
        if (sql_bind_expr(x, p, sel->having, 1) < 0 ||
            sql_check_bool(x, sel->having, sel->having) < 0)
            return -1;
    }
    for (int c = 0; c < p->ncols; c++)
        if (p->cols[c].used && p->cols[c].ty.t == SQL_NULL)
            return sql_err(x, -1, "column %s has an unsupported type", p->cols[c].name);
    if (sel->where)
        p->pushed = sql_push_where(p, sel->where, 1);
    return 0;
}

/* The part of WHERE that push() translates, as SQL text (dates and timestamps as literals).
 * AND/OR chains are flat lists; text goes through heap buffers, so a deep expression (up to
 * SQL_MAX_DEPTH) costs little stack. */
static size_t fmt_pushed(const sql_plan *p, const sql_expr *e, int partial, char *buf, size_t cap)
{
    es_expr *t = sql_push_where(p, e, partial);
    if (!t)
        return 0;
    es_expr_free(t);
    buf[0] = 0;
    if (e->kind == E_BIN && (e->op == OP_AND || e->op == OP_OR)) {
        char *a = es_malloc(cap);
        if (!a)
            return 0;
        size_t len = 0;
        int parts = 0;
        for (int i = 0; i < e->nlist && len + 8 < cap; i++) {
            if (!fmt_pushed(p, e->list[i], partial, a, cap))
                continue;
            len += (size_t)snprintf(buf + len, cap - len, "%s%s",
                                    parts++ ? (e->op == OP_AND ? " AND " : " OR ") : "", a);
            if (len >= cap)
                len = cap - 1;
        }
        es_free(a);
        if (parts > 1 && len + 3 < cap) {
            memmove(buf + 1, buf, len + 1);
            buf[0] = '(';
            buf[++len] = ')';
            buf[++len] = 0;
        }
    } else if (e->kind == E_NOT) {
        char *a = es_malloc(cap);
        if (!a)
            return 0;
        a[0] = 0;
        fmt_pushed(p, e->a, 0, a, cap);
        snprintf(buf, cap, "(NOT %s)", a);
        es_free(a);
    } else {
        sql_fmt_expr(buf, cap, e);
    }
    return strlen(buf);
}

void sql_fmt_pushed(char *buf, size_t cap, const sql_plan *p)
{
    if (!p->pushed || !p->sel->where || fmt_pushed(p, p->sel->where, 1, buf, cap) == 0)
        snprintf(buf, cap, "none");
}
