/*
 * parse: the recursive-descent parser of the SQL layer (see sql/sql.h for the files). Tokens
 * (lex.c) in, statements out; all nodes live in a caller-owned arena, so an error anywhere just
 * unwinds (longjmp) to sql_parse_one, which reports the byte offset of the offending token.
 * Depends only on libc, es_malloc and lex.c, so fuzz/fuzz_sql.c exercises it on any text.
 * This file has the primitives, expressions, SELECT, INSERT, COPY, transactions, DML and the
 * statement dispatch; parse_ddl.c the definitions (CREATE, DROP, ALTER).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sql/parse.h"
#include "sql/sql.h"

/* ---------------------------------------------------------------- arena */

struct sql_chunk {
    struct sql_chunk *next;
    size_t used, cap;
    max_align_t data[];
};

void *sql_arena_alloc(sql_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    struct sql_chunk *c = a->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > 16384 ? n : 16384;
        c = es_malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->next = a->head;
        c->used = 0;
        c->cap = cap;
        a->head = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

char *sql_arena_strndup(sql_arena *a, const char *s, size_t n)
{
    char *p = sql_arena_alloc(a, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

void sql_arena_reset(sql_arena *a)
{
    while (a->head) {
        struct sql_chunk *n = a->head->next;
        es_free(a->head);
        a->head = n;
    }
}

/* --------------------------------------------------------------- parser */

/* The parser state and these primitives are declared in sql/parse.h (parse_ddl.c uses them). */

void fail(parser *p, int pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err->msg, sizeof p->err->msg, fmt, ap);
    va_end(ap);
    p->err->pos = pos;
    longjmp(p->jb, 1);
}

void *alloc(parser *p, size_t n)
{
    void *m = sql_arena_alloc(p->arena, n);
    if (!m)
        fail(p, p->tok.pos, "out of memory");
    return m;
}

/* Advance to the next token; a lexical error unwinds like a syntax error. */
void next(parser *p)
{
    int end = p->tok.pos + p->tok.len;
    int pos = sql_lex(p->src, p->n, p->pos, &p->tok, p->err);
    if (pos < 0)
        longjmp(p->jb, 1);
    p->prev_end = end;
    p->pos = pos;
}

int is_kw(parser *p, const char *kw)
{
    return p->tok.kind == SQL_T_IDENT && (int)strlen(kw) == p->tok.len &&
           strncasecmp(p->src + p->tok.pos, kw, (size_t)p->tok.len) == 0;
}

static int is_op(parser *p, const char *op)
{
    return p->tok.kind == SQL_T_OP && strcmp(p->tok.op, op) == 0;
}

int accept_kw(parser *p, const char *kw)
{
    if (is_kw(p, kw)) {
        next(p);
        return 1;
    }
    return 0;
}

int accept_op(parser *p, const char *op)
{
    if (is_op(p, op)) {
        next(p);
        return 1;
    }
    return 0;
}

void tok_desc(parser *p, char *buf, size_t cap)
{
    if (p->tok.kind == SQL_T_EOF)
        snprintf(buf, cap, "end of input");
    else
        snprintf(buf, cap, "'%.*s'", p->tok.len > 40 ? 40 : p->tok.len, p->src + p->tok.pos);
}

void expect_kw(parser *p, const char *kw)
{
    if (!accept_kw(p, kw)) {
        char d[64];
        tok_desc(p, d, sizeof d);
        char up[32];
        size_t i = 0;
        for (; kw[i] && i + 1 < sizeof up; i++)
            up[i] = (char)(kw[i] >= 'a' && kw[i] <= 'z' ? kw[i] - 'a' + 'A' : kw[i]);
        up[i] = 0;
        fail(p, p->tok.pos, "syntax error: expected %s, got %s", up, d);
    }
}

/* The keywords that may follow a statement's table or select list: a word close to one of
 * them is a misspelling rather than a name (FROM t WHER ...). */
static const char *const clause_kws[] = {"FROM",  "WHERE",  "GROUP",  "HAVING", "ORDER",
                                         "LIMIT", "OFFSET", "VALUES", "DESC"};
#define N_CLAUSE_KWS ((int)(sizeof clause_kws / sizeof *clause_kws))

/* The keyword of `kws` the token is a word close to, or NULL. */
static const char *close_keyword(parser *p, const char *const *kws, int n)
{
    char word[64];
    if (p->tok.kind != SQL_T_IDENT || p->tok.len >= (int)sizeof word)
        return NULL;
    snprintf(word, sizeof word, "%.*s", p->tok.len, p->src + p->tok.pos);
    return sql_closest(word, kws, n);
}

/* "syntax error at 'SELEC': expected what; did you mean SELECT?": the keyword of `kws` closest
 * to the token, when it is a word close to one. Never returns. */
static void fail_keyword(parser *p, const char *what, const char *const *kws, int n)
{
    char d[64];
    tok_desc(p, d, sizeof d);
    const char *best = close_keyword(p, kws, n);
    if (best)
        fail(p, p->tok.pos, "syntax error at %s: expected %s; did you mean %s?", d, what, best);
    fail(p, p->tok.pos, "syntax error at %s: expected %s", d, what);
}

void expect_op(parser *p, const char *op)
{
    if (!accept_op(p, op)) {
        char d[64];
        tok_desc(p, d, sizeof d);
        fail(p, p->tok.pos, "syntax error: expected '%s', got %s", op, d);
    }
}

static const char *reserved[] = {
    "select",  "from", "where",    "group", "by",      "having", "order",  "limit",
    "offset",  "and",  "or",       "not",   "as",      "in",     "is",     "null",
    "between", "like", "asc",      "desc",  "nulls",   "on",     "create", "table",
    "insert",  "into", "values",   "drop",  "copy",    "to",     "case",   "when",
    "then",    "else", "end",      "union", "explain", "cast",   "true",   "false",
    "primary", "key",  "distinct", "join",  "ilike",   NULL};

static int is_reserved(parser *p)
{
    for (int i = 0; reserved[i]; i++)
        if (is_kw(p, reserved[i]))
            return 1;
    return 0;
}

/* The current token as an identifier (folded unless quoted). */
char *ident(parser *p, const char *what)
{
    sql_token t = p->tok;
    if (t.kind == SQL_T_IDENT) {
        if (is_reserved(p)) {
            char d[64];
            tok_desc(p, d, sizeof d);
            fail(p, t.pos, "syntax error: expected %s, got keyword %s", what, d);
        }
        char *s = sql_arena_strndup(p->arena, p->src + t.pos, (size_t)t.len);
        if (!s)
            fail(p, t.pos, "out of memory");
        for (char *c = s; *c; c++) /* ASCII only: UTF-8 bytes stay as they are */
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
        next(p);
        return s;
    }
    if (t.kind == SQL_T_QIDENT) {
        char *s = alloc(p, (size_t)t.len);
        int k = 0;
        for (int i = t.pos + 1; i < t.pos + t.len - 1; i++) {
            s[k++] = p->src[i];
            if (p->src[i] == '"')
                i++;
        }
        s[k] = 0;
        next(p);
        return s;
    }
    char d[64];
    tok_desc(p, d, sizeof d);
    fail(p, t.pos, "syntax error: expected %s, got %s", what, d);
    return NULL;
}

/* The current string token's value (unescaped) */
static char *string_lit(parser *p, int64_t *len)
{
    sql_token t = p->tok;
    if (t.kind != SQL_T_STRING) {
        char d[64];
        tok_desc(p, d, sizeof d);
        fail(p, t.pos, "syntax error: expected a string literal, got %s", d);
    }
    char *s = alloc(p, (size_t)t.len);
    int k = 0;
    for (int i = t.pos + 1; i < t.pos + t.len - 1; i++) {
        s[k++] = p->src[i];
        if (p->src[i] == '\'')
            i++;
    }
    s[k] = 0;
    if (len)
        *len = k;
    next(p);
    return s;
}

int64_t int_lit(parser *p)
{
    int neg = accept_op(p, "-");
    if (p->tok.kind != SQL_T_INT) {
        char d[64];
        tok_desc(p, d, sizeof d);
        fail(p, p->tok.pos, "syntax error: expected an integer, got %s", d);
    }
    char buf[32];
    snprintf(buf, sizeof buf, "%.*s", p->tok.len > 30 ? 30 : p->tok.len, p->src + p->tok.pos);
    errno = 0;
    long long v = strtoll(buf, NULL, 10);
    if (errno)
        fail(p, p->tok.pos, "integer out of range: %s", buf);
    next(p);
    return neg ? -v : v;
}

/* OF VERSION n | OF TIMESTAMP 'text' (after AS), into s: the timestamp's text is read (UTC)
 * and resolved to a version when the statement runs (sql_as_of, plan.c). */
static void as_of_rest(parser *p, sql_select *s)
{
    expect_kw(p, "of");
    if (accept_kw(p, "timestamp")) {
        s->as_of_pos = p->tok.pos;
        s->as_of_time = string_lit(p, NULL);
        return;
    }
    expect_kw(p, "version");
    int pos = p->tok.pos;
    s->as_of = int_lit(p);
    if (s->as_of < 0)
        fail(p, pos, "version must be >= 0");
}

/* ----------------------------------------------------------- expressions */

static sql_expr *node(parser *p, sql_expr_kind k, int pos)
{
    sql_expr *e = alloc(p, sizeof *e);
    e->kind = k;
    e->pos = pos;
    e->index = -1;
    e->height = 1;
    return e;
}

/* Set the height of e from its (complete) children; past SQL_MAX_DEPTH the statement is refused,
 * so that every later pass may recurse over the tree. Returns e. */
static sql_expr *grown(parser *p, sql_expr *e)
{
    int h = 0;
    const sql_expr *kids[3] = {e->a, e->b, e->c};
    for (int i = 0; i < 3; i++)
        if (kids[i] && kids[i]->height > h)
            h = kids[i]->height;
    for (int i = 0; i < e->nlist; i++)
        if (e->list[i]->height > h)
            h = e->list[i]->height;
    e->height = h + 1;
    if (e->height > SQL_MAX_DEPTH)
        fail(p, e->pos, "expression nested too deeply (limit %d)", SQL_MAX_DEPTH);
    return e;
}

/* Enter and leave one level of recursion of the parser itself (parentheses, unary operators,
 * NOT): bounded like the height of the tree. */
static void enter(parser *p)
{
    if (++p->depth > SQL_MAX_DEPTH)
        fail(p, p->tok.pos, "expression nested too deeply (limit %d)", SQL_MAX_DEPTH);
}

static void leave(parser *p)
{
    p->depth--;
}

/* A growable array of expressions in the arena (lists, AND/OR chains): no fixed bound, no
 * large frames on the stack. */
typedef struct expr_vec {
    sql_expr **v;
    int n, cap;
} expr_vec;

static void expr_push(parser *p, expr_vec *l, sql_expr *e)
{
    if (l->n == l->cap) {
        if (l->cap >= (1 << 28))
            fail(p, e->pos, "too many list elements");
        int cap = l->cap ? l->cap * 2 : 8;
        sql_expr **nv = alloc(p, sizeof *nv * (size_t)cap);
        if (l->n)
            memcpy(nv, l->v, sizeof *nv * (size_t)l->n);
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = e;
}

static sql_expr **expr_list(parser *p, int *n)
{
    expr_vec l = {NULL, 0, 0};
    do
        expr_push(p, &l, expr(p));
    while (accept_op(p, ","));
    *n = l.n;
    return l.v;
}

/* A numeric literal that is not a BIGINT: its text is kept (sval, with the sign once folded),
 * dval is the nearest double, and when it has no exponent and at most 18 digits it is exactly a
 * DECIMAL(18,s) (ty, ival unscaled), as in PostgreSQL and DuckDB: 123456789012345.678 is not
 * rounded to a double on its way into a DECIMAL column, and 1.7 into an INTEGER is 2. */
static sql_expr *number_lit(parser *p, int pos, const char *txt, int len)
{
    sql_expr *e = node(p, E_DBL, pos);
    e->sval = sql_arena_strndup(p->arena, txt, (size_t)len);
    if (!e->sval)
        fail(p, pos, "out of memory");
    e->slen = len;
    e->dval = strtod(e->sval, NULL);
    if (isinf(e->dval))
        fail(p, pos, "numeric literal out of range: %.*s", len > 60 ? 60 : len, txt);
    int64_t v = 0;
    int digits = 0, frac = 0, point = 0;
    for (int i = 0; i < len; i++) {
        char c = txt[i];
        if (c == '.') {
            point = 1;
            continue;
        }
        if (c < '0' || c > '9')
            return e; /* an exponent: DOUBLE */
        if (v == 0 && c == '0' && !point)
            continue; /* leading zeros */
        if (++digits > 18)
            return e;
        v = v * 10 + (c - '0');
        frac += point;
    }
    e->ty.t = SQL_DECIMAL;
    e->ty.precision = 18;
    e->ty.scale = frac;
    e->ival = v;
    return e;
}

/* CASE [operand] WHEN ... THEN ... [ELSE ...] END, after CASE. A simple CASE's WHEN values
 * become comparisons with the operand (kept in a for display). */
static sql_expr *case_expr(parser *p, int pos)
{
    sql_expr *e = node(p, E_CASE, pos);
    if (!is_kw(p, "when"))
        e->a = expr(p);
    sql_expr *tmp[512];
    int k = 0;
    while (is_kw(p, "when")) {
        int wpos = p->tok.pos;
        next(p);
        if (k == 512)
            fail(p, wpos, "too many WHEN clauses (limit 512)");
        sql_expr *w = expr(p);
        if (e->a) {
            sql_expr *eq = node(p, E_BIN, wpos);
            eq->op = OP_EQ;
            eq->a = e->a;
            eq->b = w;
            w = eq;
        }
        tmp[k++] = w;
        expect_kw(p, "then");
        tmp[k++] = expr(p);
    }
    if (k == 0) {
        char d[64];
        tok_desc(p, d, sizeof d);
        fail(p, p->tok.pos, "syntax error: expected WHEN, got %s", d);
    }
    if (accept_kw(p, "else"))
        e->b = expr(p);
    expect_kw(p, "end");
    e->list = alloc(p, sizeof *e->list * (size_t)k);
    memcpy(e->list, tmp, sizeof *e->list * (size_t)k);
    e->nlist = k;
    return e;
}

/* EXTRACT(field FROM x) -> date_part('field', x); SUBSTRING(x FROM a [FOR b]) ->
 * substring(x, a[, b]). Called after "name(" with e the function node; NULL (nothing consumed)
 * when the arguments are an ordinary list. */
static sql_expr *keyword_args(parser *p, sql_expr *e)
{
    if (strcmp(e->name, "extract") == 0) {
        if (p->tok.kind != SQL_T_IDENT && p->tok.kind != SQL_T_STRING)
            return NULL;
        int save = p->pos, save_end = p->prev_end;
        sql_token st = p->tok;
        sql_expr *f = node(p, E_STR, p->tok.pos);
        if (p->tok.kind == SQL_T_STRING) {
            f->sval = string_lit(p, &f->slen);
        } else {
            f->sval = sql_arena_strndup(p->arena, p->src + p->tok.pos, (size_t)p->tok.len);
            if (!f->sval)
                fail(p, p->tok.pos, "out of memory");
            f->slen = p->tok.len;
            for (char *c = f->sval; *c; c++)
                *c = (char)tolower((unsigned char)*c);
            next(p);
        }
        if (!accept_kw(p, "from")) {
            p->pos = save;
            p->prev_end = save_end;
            p->tok = st;
            return NULL;
        }
        e->name = sql_arena_strndup(p->arena, "date_part", 9);
        if (!e->name)
            fail(p, e->pos, "out of memory");
        e->list = alloc(p, sizeof *e->list * 2);
        e->list[0] = f;
        e->list[1] = expr(p);
        e->nlist = 2;
        expect_op(p, ")");
        return e;
    }
    sql_expr *a = expr(p);
    if (!is_kw(p, "from") && !is_kw(p, "for")) {
        /* an ordinary argument list that starts with a */
        sql_expr *tmp[3] = {a, NULL, NULL};
        int k = 1;
        while (accept_op(p, ",")) {
            if (k == 3)
                fail(p, p->tok.pos, "substring() takes at most 3 arguments");
            tmp[k++] = expr(p);
        }
        expect_op(p, ")");
        e->list = alloc(p, sizeof *e->list * (size_t)k);
        memcpy(e->list, tmp, sizeof *e->list * (size_t)k);
        e->nlist = k;
        return e;
    }
    sql_expr *from = NULL, *len = NULL;
    if (accept_kw(p, "from"))
        from = expr(p);
    if (accept_kw(p, "for"))
        len = expr(p);
    expect_op(p, ")");
    if (!from) {
        from = node(p, E_INT, e->pos);
        from->ival = 1;
    }
    e->list = alloc(p, sizeof *e->list * 3);
    e->list[0] = a;
    e->list[1] = from;
    e->list[2] = len;
    e->nlist = len ? 3 : 2;
    return e;
}

/* After INTERVAL: 'n unit [n unit ...]', 'n' unit or n unit (value.c reads them). */
static sql_expr *interval_lit(parser *p, int pos)
{
    sql_expr *e = node(p, E_INTERVAL, pos);
    int vpos = p->tok.pos;
    const char *num;
    int64_t nlen;
    if (p->tok.kind == SQL_T_STRING) {
        num = string_lit(p, &nlen);
    } else {
        num = p->src + p->tok.pos; /* INT or FLOAT (primary checked) */
        nlen = p->tok.len;
        next(p);
    }
    const char *unit = NULL;
    int upos = p->tok.pos, ulen = 0;
    if (p->tok.kind == SQL_T_IDENT && !is_reserved(p)) { /* INTERVAL '3' DAY */
        unit = p->src + upos;
        ulen = p->tok.len;
        next(p);
    }
    int rc = sql_parse_interval(num, nlen, unit, (size_t)ulen, &e->months, &e->ival);
    if (rc == -2)
        fail(p, upos, "unknown INTERVAL unit '%.*s'", ulen, unit);
    if (rc < 0)
        fail(p, vpos, "invalid INTERVAL '%.*s%s%.*s'%s", (int)(nlen > 60 ? 60 : nlen), num,
             unit ? " " : "", ulen, unit ? unit : "",
             unit ? "" : ": expected numbers and units (days, hours, months, ...)");
    return e;
}

static sql_expr *primary(parser *p)
{
    int pos = p->tok.pos;
    sql_token t = p->tok;
    if (t.kind == SQL_T_INT || t.kind == SQL_T_FLOAT) {
        const char *txt = p->src + t.pos;
        next(p);
        if (t.kind == SQL_T_INT) {
            uint64_t v = 0;
            int over = 0;
            for (int i = 0; i < t.len; i++)
                over |= __builtin_mul_overflow(v, 10, &v) |
                        __builtin_add_overflow(v, (uint64_t)(txt[i] - '0'), &v);
            if (!over && v <= (uint64_t)INT64_MAX) {
                sql_expr *e = node(p, E_INT, pos);
                e->ival = (int64_t)v;
                return e;
            }
            if (!over && v == (uint64_t)INT64_MAX + 1) {
                sql_expr *e = node(p, E_INT, pos); /* only valid under unary minus */
                e->ival = INT64_MIN;
                e->neg = 1;
                return e;
            }
        }
        return number_lit(p, pos, txt, t.len);
    }
    if (t.kind == SQL_T_STRING) {
        sql_expr *e = node(p, E_STR, pos);
        e->sval = string_lit(p, &e->slen);
        return e;
    }
    if (accept_op(p, "(")) {
        sql_expr *e = expr(p);
        expect_op(p, ")");
        return e;
    }
    if (accept_kw(p, "null"))
        return node(p, E_NULL, pos);
    if (accept_kw(p, "case"))
        return case_expr(p, pos);
    if (is_kw(p, "true") || is_kw(p, "false")) {
        sql_expr *e = node(p, E_BOOL, pos);
        e->ival = is_kw(p, "true");
        next(p);
        return e;
    }
    if (accept_kw(p, "cast")) {
        expect_op(p, "(");
        sql_expr *e = node(p, E_CAST, pos);
        e->a = expr(p);
        expect_kw(p, "as");
        parse_type(p, &e->cast);
        expect_op(p, ")");
        return grown(p, e);
    }
    if (is_kw(p, "interval")) { /* INTERVAL '1 day', else a column named interval */
        int save = p->pos, save_end = p->prev_end;
        sql_token st = p->tok;
        next(p);
        if (p->tok.kind == SQL_T_STRING || p->tok.kind == SQL_T_INT || p->tok.kind == SQL_T_FLOAT)
            return interval_lit(p, pos);
        p->pos = save;
        p->prev_end = save_end;
        p->tok = st;
    }
    if ((is_kw(p, "date") || is_kw(p, "timestamp"))) {
        /* DATE '2024-01-01' typed literal, else a column named date */
        int save = p->pos, save_end = p->prev_end;
        sql_token st = p->tok;
        int isdate = is_kw(p, "date");
        next(p);
        if (p->tok.kind == SQL_T_STRING) {
            sql_expr *e = node(p, E_CAST, pos);
            e->a = node(p, E_STR, p->tok.pos);
            e->a->sval = string_lit(p, &e->a->slen);
            e->cast.t = isdate ? SQL_DATE : SQL_TIMESTAMP;
            return grown(p, e);
        }
        p->pos = save;
        p->prev_end = save_end;
        p->tok = st;
    }
    if (t.kind == SQL_T_IDENT || t.kind == SQL_T_QIDENT) {
        if (t.kind == SQL_T_IDENT && is_kw(p, "select"))
            fail(p, pos, "subqueries are not supported: a query reads one table");
        if (t.kind == SQL_T_IDENT && is_reserved(p)) {
            char d[64];
            tok_desc(p, d, sizeof d);
            fail(p, pos, "syntax error at %s", d);
        }
        char *name = ident(p, "an expression");
        if (t.kind == SQL_T_IDENT && !is_op(p, "(") &&
            (strcmp(name, "current_date") == 0 || strcmp(name, "current_timestamp") == 0)) {
            sql_expr *e = node(p, E_FUNC, pos); /* SQL's niladic functions: no parentheses */
            e->name = name;
            return e;
        }
        if (t.kind == SQL_T_IDENT && accept_op(p, "(")) {
            sql_expr *e = node(p, E_FUNC, pos);
            e->name = name;
            if (strcmp(name, "extract") == 0 || strcmp(name, "substring") == 0) {
                sql_expr *special = keyword_args(p, e);
                if (special)
                    return special;
            }
            if (accept_op(p, "*")) {
                e->star = 1;
            } else if (!is_op(p, ")")) {
                e->distinct = accept_kw(p, "distinct");
                e->list = expr_list(p, &e->nlist);
            }
            expect_op(p, ")");
            return grown(p, e);
        }
        char *qual = NULL;
        if (accept_op(p, ".")) { /* table.column */
            qual = name;
            name = ident(p, "a column name");
        }
        sql_expr *e = node(p, E_COL, pos);
        e->name = name;
        e->qual = qual;
        return e;
    }
    char d[64];
    tok_desc(p, d, sizeof d);
    fail(p, pos, "syntax error at %s", d);
    return NULL;
}

/* A primary expression and its PostgreSQL casts, `expr::type` (as DuckDB reads them too):
 * CAST(expr AS type), binding tighter than any operator (`-x::INT` is `-(x::INT)`). */
static sql_expr *postfix(parser *p)
{
    sql_expr *e = primary(p);
    while (is_op(p, "::")) {
        if (e->kind == E_INT && e->neg) /* 9223372036854775808 without a minus */
            e = number_lit(p, e->pos, "9223372036854775808", 19);
        sql_expr *c = node(p, E_CAST, p->tok.pos);
        next(p);
        c->a = e;
        parse_type(p, &c->cast);
        e = grown(p, c);
    }
    return e;
}

static sql_expr *unary(parser *p)
{
    int pos = p->tok.pos;
    if (accept_op(p, "-")) {
        enter(p);
        sql_expr *a = p->tok.kind == SQL_T_INT ? postfix(p) : unary(p);
        leave(p);
        if (a->kind == E_INT && a->ival == INT64_MIN && a->neg) {
            a->neg = 0;
            a->pos = pos;
            return a;
        }
        if (a->kind == E_INT && a->ival != INT64_MIN) { /* else E_NEG: its overflow error */
            a->ival = -a->ival;
            a->pos = pos;
            return a;
        }
        if (a->kind == E_DBL) {
            a->dval = -a->dval;
            a->ival = -a->ival;
            if (a->sval[0] == '-') {
                a->sval++;
                a->slen--;
            } else {
                char *t = alloc(p, (size_t)a->slen + 2);
                t[0] = '-';
                memcpy(t + 1, a->sval, (size_t)a->slen + 1);
                a->sval = t;
                a->slen++;
            }
            a->pos = pos;
            return a;
        }
        sql_expr *e = node(p, E_NEG, pos);
        e->a = a;
        return grown(p, e);
    }
    if (accept_op(p, "+")) {
        enter(p);
        sql_expr *e = unary(p);
        leave(p);
        return e;
    }
    sql_expr *e = postfix(p);
    if (e->kind == E_INT && e->neg) /* 9223372036854775808 without a minus: not a BIGINT */
        return number_lit(p, e->pos, "9223372036854775808", 19);
    return e;
}

static sql_expr *binop(parser *p, int op, sql_expr *a, sql_expr *b, int pos)
{
    sql_expr *e = node(p, E_BIN, pos);
    e->op = op;
    e->a = a;
    e->b = b;
    return grown(p, e);
}

static sql_expr *mul(parser *p)
{
    sql_expr *a = unary(p);
    for (;;) {
        int pos = p->tok.pos;
        if (accept_op(p, "*"))
            a = binop(p, OP_MUL, a, unary(p), pos);
        else if (accept_op(p, "/"))
            a = binop(p, OP_DIV, a, unary(p), pos);
        else if (accept_op(p, "%"))
            a = binop(p, OP_MOD, a, unary(p), pos);
        else
            return a;
    }
}

static sql_expr *add(parser *p)
{
    sql_expr *a = mul(p);
    for (;;) {
        int pos = p->tok.pos;
        if (accept_op(p, "+"))
            a = binop(p, OP_ADD, a, mul(p), pos);
        else if (accept_op(p, "-"))
            a = binop(p, OP_SUB, a, mul(p), pos);
        else
            return a;
    }
}

static sql_expr *concat(parser *p)
{
    sql_expr *a = add(p);
    for (;;) {
        int pos = p->tok.pos;
        if (accept_op(p, "||"))
            a = binop(p, OP_CONCAT, a, add(p), pos);
        else
            return a;
    }
}

static sql_expr *comparison(parser *p)
{
    sql_expr *a = concat(p);
    for (;;) {
        int pos = p->tok.pos;
        static const struct {
            const char *op;
            int code;
        } ops[] = {{"=", OP_EQ}, {"==", OP_EQ}, {"<>", OP_NE}, {"!=", OP_NE},
                   {"<", OP_LT}, {"<=", OP_LE}, {">", OP_GT},  {">=", OP_GE}};
        int matched = 0;
        for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
            if (accept_op(p, ops[k].op)) {
                a = binop(p, ops[k].code, a, concat(p), pos);
                matched = 1;
                break;
            }
        }
        if (matched)
            continue;
        if (accept_kw(p, "is")) {
            sql_expr *e = node(p, E_ISNULL, pos);
            e->neg = accept_kw(p, "not");
            expect_kw(p, "null");
            e->a = a;
            a = grown(p, e);
            continue;
        }
        int neg = 0;
        if (is_kw(p, "not")) {
            /* NOT BETWEEN / NOT IN / NOT LIKE */
            int save = p->pos, save_end = p->prev_end;
            sql_token st = p->tok;
            next(p);
            if (is_kw(p, "between") || is_kw(p, "in") || is_kw(p, "like") || is_kw(p, "ilike")) {
                neg = 1;
            } else {
                p->pos = save;
                p->prev_end = save_end;
                p->tok = st;
                return a;
            }
        }
        if (accept_kw(p, "between")) {
            sql_expr *e = node(p, E_BETWEEN, pos);
            e->neg = neg;
            e->a = a;
            e->b = concat(p);
            expect_kw(p, "and");
            e->c = concat(p);
            a = grown(p, e);
            continue;
        }
        if (accept_kw(p, "in")) {
            sql_expr *e = node(p, E_IN, pos);
            e->neg = neg;
            e->a = a;
            expect_op(p, "(");
            e->list = expr_list(p, &e->nlist);
            expect_op(p, ")");
            e->inset = sql_inset_alloc(p->arena, e->nlist); /* NULL: evaluated value by value */
            a = grown(p, e);
            continue;
        }
        if (is_kw(p, "like") || is_kw(p, "ilike")) {
            sql_expr *e = node(p, E_LIKE, pos);
            e->op = is_kw(p, "ilike");
            next(p);
            e->neg = neg;
            e->a = a;
            e->b = concat(p);
            if (accept_kw(p, "escape")) { /* LIKE 'a!%%' ESCAPE '!': checked by bind.c */
                e->c = node(p, E_STR, p->tok.pos);
                e->c->sval = string_lit(p, &e->c->slen);
            }
            a = grown(p, e);
            continue;
        }
        return a;
    }
}

static sql_expr *not_expr(parser *p)
{
    int pos = p->tok.pos;
    if (accept_kw(p, "not")) {
        enter(p);
        sql_expr *e = node(p, E_NOT, pos);
        e->a = not_expr(p);
        leave(p);
        return grown(p, e);
    }
    return comparison(p);
}

/* A chain of one operator, a AND b AND c, is one node with the operands in list (however long:
 * generated queries OR together thousands of terms), so that no later pass recurses once per
 * term. */
static sql_expr *chain(parser *p, int op, const char *kw, sql_expr *(*operand)(parser *))
{
    sql_expr *a = operand(p);
    if (!is_kw(p, kw))
        return a;
    sql_expr *e = node(p, E_BIN, p->tok.pos);
    e->op = op;
    expr_vec l = {NULL, 0, 0};
    expr_push(p, &l, a);
    while (accept_kw(p, kw))
        expr_push(p, &l, operand(p));
    e->list = l.v;
    e->nlist = l.n;
    return grown(p, e);
}

static sql_expr *and_expr(parser *p)
{
    return chain(p, OP_AND, "and", not_expr);
}

sql_expr *expr(parser *p)
{
    enter(p);
    sql_expr *e = chain(p, OP_OR, "or", and_expr);
    leave(p);
    return e;
}

/* ------------------------------------------------------------ statements */

/* Around FROM's table: what would read more than one table (a subquery, a join, a list) is
 * refused with the reason, rather than as a syntax error. */
static void one_table(parser *p)
{
    static const char *const joins[] = {"join", "inner", "left",   "right",
                                        "full", "cross", "natural"};
    int join = is_op(p, ",");
    for (size_t i = 0; i < sizeof joins / sizeof *joins; i++)
        join |= is_kw(p, joins[i]);
    if (join)
        fail(p, p->tok.pos, "joins are not supported: a query reads one table");
    if (is_op(p, "("))
        fail(p, p->tok.pos, "subqueries are not supported: a query reads one table");
}

/* Whether the token after FROM t is a table alias without AS: a name, but not a keyword, a set
 * operation (refused after the statement) or a word close to a clause keyword (FROM t WHER). */
static int bare_alias(parser *p)
{
    if (p->tok.kind == SQL_T_QIDENT)
        return 1;
    return p->tok.kind == SQL_T_IDENT && !is_reserved(p) && !is_kw(p, "union") &&
           !is_kw(p, "intersect") && !is_kw(p, "except") &&
           !close_keyword(p, clause_kws, N_CLAUSE_KWS);
}

sql_select *select_stmt(parser *p)
{
    sql_select *s = alloc(p, sizeof *s);
    s->as_of = -1;
    expect_kw(p, "select");
    if (accept_kw(p, "distinct"))
        s->distinct = 1;
    else
        accept_kw(p, "all");
    sql_select_item items[1024];
    int n = 0;
    do {
        if (n == 1024)
            fail(p, p->tok.pos, "too many select items (limit 1024)");
        sql_select_item *it = &items[n++];
        it->alias = NULL;
        it->star_qual = NULL;
        it->pos = p->tok.pos;
        if (accept_op(p, "*")) {
            it->e = NULL;
            continue;
        }
        if (p->tok.kind == SQL_T_IDENT || p->tok.kind == SQL_T_QIDENT) { /* t.* */
            int save = p->pos, save_end = p->prev_end;
            sql_token st = p->tok;
            next(p);
            if (accept_op(p, ".") && accept_op(p, "*")) {
                p->pos = save;
                p->prev_end = save_end;
                p->tok = st;
                it->star_qual = ident(p, "a table name");
                next(p); /* . */
                next(p); /* * */
                it->e = NULL;
                continue;
            }
            p->pos = save;
            p->prev_end = save_end;
            p->tok = st;
        }
        it->e = expr(p);
        if (accept_kw(p, "as"))
            it->alias = ident(p, "an alias");
        else if ((p->tok.kind == SQL_T_IDENT && !is_reserved(p)) || p->tok.kind == SQL_T_QIDENT)
            it->alias = ident(p, "an alias");
    } while (accept_op(p, ","));
    s->items = alloc(p, sizeof *s->items * (size_t)n);
    memcpy(s->items, items, sizeof *s->items * (size_t)n);
    s->nitems = n;
    if (accept_kw(p, "from")) {
        s->table_pos = p->tok.pos;
        one_table(p);
        s->table = ident(p, "a table name");
        one_table(p);
        /* FROM t [[AS] alias] [AS OF VERSION n]; a bare word close to a clause keyword is taken
         * for a misspelt one (FROM t WHER ...), not an alias. */
        int as = is_kw(p, "as");
        if (as)
            next(p);
        if (as ? !is_kw(p, "of") : bare_alias(p)) {
            s->alias = ident(p, "an alias");
            one_table(p);
            as = accept_kw(p, "as");
        }
        if (as)
            as_of_rest(p, s);
    }
    if (accept_kw(p, "where"))
        s->where = expr(p);
    if (accept_kw(p, "group")) {
        expect_kw(p, "by");
        s->group = expr_list(p, &s->ngroup);
    }
    if (accept_kw(p, "having"))
        s->having = expr(p);
    if (accept_kw(p, "order")) {
        expect_kw(p, "by");
        sql_order_item tmp[256];
        int k = 0;
        do {
            if (k == 256)
                fail(p, p->tok.pos, "too many ORDER BY keys (limit 256)");
            sql_order_item *o = &tmp[k++];
            o->e = expr(p);
            o->desc = 0;
            o->nulls = 0;
            if (accept_kw(p, "desc"))
                o->desc = 1;
            else
                accept_kw(p, "asc");
            if (accept_kw(p, "nulls")) {
                if (accept_kw(p, "first"))
                    o->nulls = 1;
                else {
                    expect_kw(p, "last");
                    o->nulls = 2;
                }
            }
        } while (accept_op(p, ","));
        s->order = alloc(p, sizeof *s->order * (size_t)k);
        memcpy(s->order, tmp, sizeof *s->order * (size_t)k);
        s->norder = k;
    }
    if (accept_kw(p, "limit")) {
        s->limit = expr(p);
        if (accept_kw(p, "offset"))
            s->offset = expr(p);
        else if (accept_op(p, ",")) { /* LIMIT offset, count */
            s->offset = s->limit;
            s->limit = expr(p);
        }
    } else if (accept_kw(p, "offset")) {
        s->offset = expr(p);
    }
    return s;
}

static void insert_or(parser *p, sql_stmt *st);
static void on_conflict(parser *p, sql_stmt *st);

/* An optional (c1, c2, ...) after INSERT INTO t or COPY t: st->names. */
static void column_list(parser *p, sql_stmt *st)
{
    if (!accept_op(p, "("))
        return;
    char *tmp[1024];
    int n = 0;
    do {
        if (n == 1024)
            fail(p, p->tok.pos, "too many columns (limit 1024)");
        tmp[n++] = ident(p, "a column name");
    } while (accept_op(p, ","));
    expect_op(p, ")");
    st->names = alloc(p, sizeof *st->names * (size_t)n);
    memcpy(st->names, tmp, sizeof *st->names * (size_t)n);
    st->nnames = n;
}

static void insert_stmt(parser *p, sql_stmt *st)
{
    st->kind = S_INSERT;
    insert_or(p, st);
    expect_kw(p, "into");
    st->table_pos = p->tok.pos;
    st->table = ident(p, "a table name");
    column_list(p, st);
    if (is_kw(p, "select")) {
        st->select = select_stmt(p);
        return;
    }
    expect_kw(p, "values");
    int cap = 16, n = 0;
    sql_expr ***rows = alloc(p, sizeof *rows * (size_t)cap);
    int *lens = alloc(p, sizeof *lens * (size_t)cap);
    do {
        if (n == cap) {
            cap *= 2;
            sql_expr ***r2 = alloc(p, sizeof *rows * (size_t)cap);
            int *l2 = alloc(p, sizeof *lens * (size_t)cap);
            memcpy(r2, rows, sizeof *rows * (size_t)n);
            memcpy(l2, lens, sizeof *lens * (size_t)n);
            rows = r2;
            lens = l2;
        }
        expect_op(p, "(");
        rows[n] = expr_list(p, &lens[n]);
        expect_op(p, ")");
        n++;
    } while (accept_op(p, ","));
    st->rows = rows;
    st->rowlen = lens;
    st->nrows = n;
    on_conflict(p, st);
}

static void copy_options(parser *p, sql_stmt *st)
{
    accept_kw(p, "with");
    if (!accept_op(p, "("))
        return;
    do {
        int pos = p->tok.pos;
        if (accept_kw(p, "header")) {
            st->header = 1;
            if (accept_kw(p, "true") || accept_kw(p, "on"))
                st->header = 1;
            else if (accept_kw(p, "false") || accept_kw(p, "off"))
                st->header = 0;
            else if (p->tok.kind == SQL_T_INT)
                st->header = int_lit(p) != 0;
        } else if (accept_kw(p, "delimiter") || accept_kw(p, "delim") || accept_kw(p, "sep")) {
            int spos = p->tok.pos;
            int64_t len;
            char *d = string_lit(p, &len);
            if (len == 2 && d[0] == '\\' && d[1] == 't')
                d[0] = '\t', len = 1;
            if (len != 1)
                fail(p, spos, "DELIMITER must be one character");
            st->delim = d[0];
        } else if (accept_kw(p, "format")) {
            /* The name is checked by copy.c, which knows what each direction supports. */
            st->format_pos = p->tok.pos;
            if (p->tok.kind == SQL_T_STRING)
                st->format = string_lit(p, NULL);
            else
                st->format = ident(p, "a format");
            for (char *c = st->format; *c; c++)
                *c = (char)tolower((unsigned char)*c);
        } else {
            char d[64];
            tok_desc(p, d, sizeof d);
            fail(p, pos, "unknown COPY option %s (HEADER, DELIMITER, FORMAT)", d);
        }
    } while (accept_op(p, ","));
    expect_op(p, ")");
}

/* Transaction control (run by txn.c):
 *   BEGIN [TRANSACTION | WORK] [ISOLATION LEVEL level]
 *   START TRANSACTION [ISOLATION LEVEL level]
 *   COMMIT | END [TRANSACTION | WORK]
 *   ROLLBACK | ABORT [TRANSACTION | WORK]
 * level: SNAPSHOT, SERIALIZABLE, or REPEATABLE READ, READ COMMITTED, READ UNCOMMITTED (which run
 * as SNAPSHOT: the standard lets a level be stronger than asked, as PostgreSQL does). */
static void txn_stmt(parser *p, sql_stmt *st)
{
    if (accept_kw(p, "start")) {
        st->kind = S_BEGIN;
        expect_kw(p, "transaction");
    } else {
        st->kind = accept_kw(p, "begin")                             ? S_BEGIN
                   : (accept_kw(p, "commit") || accept_kw(p, "end")) ? S_COMMIT
                                                                     : S_ROLLBACK;
        if (st->kind == S_ROLLBACK && !accept_kw(p, "rollback"))
            expect_kw(p, "abort");
        if (!accept_kw(p, "transaction"))
            accept_kw(p, "work");
    }
    if (st->kind != S_BEGIN || !accept_kw(p, "isolation"))
        return;
    expect_kw(p, "level");
    int pos = p->tok.pos;
    if (accept_kw(p, "serializable")) {
        st->serializable = 1;
    } else if (accept_kw(p, "repeatable")) {
        expect_kw(p, "read");
    } else if (accept_kw(p, "read")) {
        if (!accept_kw(p, "committed"))
            expect_kw(p, "uncommitted");
    } else if (!accept_kw(p, "snapshot")) {
        char d[64];
        tok_desc(p, d, sizeof d);
        fail(p, pos,
             "syntax error at %s: expected an isolation level (SNAPSHOT, SERIALIZABLE, REPEATABLE "
             "READ, READ COMMITTED)",
             d);
    }
}

static void copy_stmt(parser *p, sql_stmt *st)
{
    st->header = -1;
    if (accept_op(p, "(")) {
        st->kind = S_COPY_TO;
        st->select = select_stmt(p);
        expect_op(p, ")");
        expect_kw(p, "to");
    } else {
        st->table_pos = p->tok.pos;
        st->table = ident(p, "a table name");
        if (accept_kw(p, "to")) {
            /* COPY t TO 'file': SELECT * FROM t */
            st->kind = S_COPY_TO;
            sql_select *s = alloc(p, sizeof *s);
            s->as_of = -1;
            s->items = alloc(p, sizeof *s->items);
            s->nitems = 1;
            s->table = st->table;
            s->table_pos = st->table_pos;
            st->select = s;
        } else {
            column_list(p, st); /* COPY t (c1, c2) FROM: the file's columns */
            expect_kw(p, "from");
            st->kind = S_COPY_FROM;
        }
    }
    st->file = string_lit(p, NULL);
    copy_options(p, st);
}

/* ------------------------------------------- DELETE, UPDATE, TRUNCATE, upserts (dml.c) */

/* INSERT OR REPLACE | OR IGNORE (SQLite), right after INSERT; REPLACE INTO comes here with
 * st->conflict already set. */
static void insert_or(parser *p, sql_stmt *st)
{
    if (!st->conflict && accept_kw(p, "or")) {
        int pos = p->tok.pos;
        if (accept_kw(p, "replace")) {
            st->conflict = SQL_CONFLICT_REPLACE;
        } else if (accept_kw(p, "ignore")) {
            st->conflict = SQL_CONFLICT_NOTHING;
        } else {
            char d[64];
            tok_desc(p, d, sizeof d);
            fail(p, pos, "syntax error: expected REPLACE or IGNORE after INSERT OR, got %s", d);
        }
    }
    if (st->conflict)
        st->kind = S_UPSERT;
}

/* column = expression [, ...] after SET. */
static void set_list(parser *p, sql_stmt *st)
{
    char *names[1024];
    sql_expr *exprs[1024];
    int pos[1024], n = 0;
    do {
        if (n == 1024)
            fail(p, p->tok.pos, "too many SET columns (limit 1024)");
        pos[n] = p->tok.pos;
        names[n] = ident(p, "a column name");
        expect_op(p, "=");
        exprs[n++] = expr(p);
    } while (accept_op(p, ","));
    st->set_cols = alloc(p, sizeof *st->set_cols * (size_t)n);
    st->set_exprs = alloc(p, sizeof *st->set_exprs * (size_t)n);
    st->set_pos = alloc(p, sizeof *st->set_pos * (size_t)n);
    memcpy(st->set_cols, names, sizeof *names * (size_t)n);
    memcpy(st->set_exprs, exprs, sizeof *exprs * (size_t)n);
    memcpy(st->set_pos, pos, sizeof *pos * (size_t)n);
    st->nset = n;
}

/* After INSERT ... VALUES: ON CONFLICT [(column)] DO NOTHING | DO UPDATE SET ... [WHERE e]
 * (PostgreSQL and SQLite). */
static void on_conflict(parser *p, sql_stmt *st)
{
    int pos = p->tok.pos;
    if (!accept_kw(p, "on"))
        return;
    if (st->conflict)
        fail(p, pos, "ON CONFLICT cannot be combined with OR REPLACE, OR IGNORE or REPLACE INTO");
    expect_kw(p, "conflict");
    st->kind = S_UPSERT;
    if (accept_op(p, "(")) {
        st->conflict_pos = p->tok.pos;
        st->conflict_key = ident(p, "a column name");
        if (accept_op(p, ","))
            fail(p, st->conflict_pos, "ON CONFLICT names one column, the primary key");
        expect_op(p, ")");
    }
    expect_kw(p, "do");
    if (accept_kw(p, "nothing")) {
        st->conflict = SQL_CONFLICT_NOTHING;
        return;
    }
    int upos = p->tok.pos;
    if (!accept_kw(p, "update"))
        fail(p, upos, "syntax error: expected NOTHING or UPDATE after DO");
    if (!st->conflict_key)
        fail(p, upos, "ON CONFLICT DO UPDATE needs the conflict target: ON CONFLICT (column)");
    expect_kw(p, "set");
    st->conflict = SQL_CONFLICT_UPDATE;
    set_list(p, st);
    if (accept_kw(p, "where"))
        st->where = expr(p);
}

/* DELETE FROM t [WHERE e], UPDATE t SET ... [WHERE e], TRUNCATE [TABLE] t, REPLACE INTO ...:
 * 1 when the statement is one of these (parsed into st), else 0 (nothing consumed). */
static int dml_stmt(parser *p, sql_stmt *st)
{
    if (accept_kw(p, "delete")) {
        st->kind = S_DELETE;
        expect_kw(p, "from");
        st->table_pos = p->tok.pos;
        st->table = ident(p, "a table name");
        if (accept_kw(p, "where"))
            st->where = expr(p);
    } else if (accept_kw(p, "update")) {
        st->kind = S_UPDATE;
        st->table_pos = p->tok.pos;
        st->table = ident(p, "a table name");
        expect_kw(p, "set");
        set_list(p, st);
        if (accept_kw(p, "where"))
            st->where = expr(p);
    } else if (accept_kw(p, "truncate")) {
        st->kind = S_TRUNCATE;
        accept_kw(p, "table");
        st->table_pos = p->tok.pos;
        st->table = ident(p, "a table name");
    } else if (accept_kw(p, "replace")) {
        st->conflict = SQL_CONFLICT_REPLACE;
        insert_stmt(p, st);
    } else {
        return 0;
    }
    return 1;
}

int sql_parse_one(sql_arena *arena, const char *src, int n, int *pos, sql_stmt **out,
                  sql_parse_error *err)
{
    parser pp;
    memset(&pp, 0, sizeof pp);
    parser *p = &pp;
    p->arena = arena;
    p->src = src;
    p->n = n;
    p->pos = *pos;
    p->err = err;
    *out = NULL;
    if (setjmp(p->jb)) {
        /* Skip to the next ';' (outside quotes and comments) so that the caller can continue
         * after the bad statement. */
        int i = p->pos, end = p->n;
        int q = 0;
        while (i < end) {
            char c = p->src[i];
            if (!q && (c == '-' || c == '/') && sql_skip_space(p->src, end, i) > i) {
                i = sql_skip_space(p->src, end, i); /* a comment: to its end (or the text's) */
                continue;
            }
            if (q) {
                if (c == q)
                    q = 0;
            } else if (c == '\'' || c == '"') {
                q = c;
            } else if (c == ';') {
                i++;
                break;
            }
            i++;
        }
        *pos = i > *pos ? i : end;
        return -1;
    }
    next(p);
    while (accept_op(p, ";"))
        ;
    if (p->tok.kind == SQL_T_EOF) {
        *pos = p->n;
        return 1;
    }
    sql_stmt *st = alloc(p, sizeof *st);
    st->pos = p->tok.pos;
    st->header = -1;
    if (is_kw(p, "select")) {
        st->kind = S_SELECT;
        st->select = select_stmt(p);
    } else if (accept_kw(p, "explain")) {
        st->kind = S_EXPLAIN;
        st->analyze = accept_kw(p, "analyze") || accept_kw(p, "analyse");
        st->select = select_stmt(p);
    } else if (accept_kw(p, "describe") || accept_kw(p, "desc")) {
        st->kind = S_DESCRIBE;
        if (!accept_kw(p, "table") && accept_kw(p, "history")) {
            /* DESCRIBE HISTORY [t] [LIMIT n] */
            st->history = 1;
            st->history_limit = -1;
            if ((p->tok.kind == SQL_T_IDENT && !is_kw(p, "limit")) || p->tok.kind == SQL_T_QIDENT) {
                st->table_pos = p->tok.pos;
                st->table = ident(p, "a table name");
            }
            if (accept_kw(p, "limit")) {
                int lpos = p->tok.pos;
                st->history_limit = int_lit(p);
                if (st->history_limit < 1)
                    fail(p, lpos, "LIMIT must be >= 1");
            }
        } else {
            st->table_pos = p->tok.pos;
            st->table = ident(p, "a table name"); /* DESCRIBE t [AS OF ...] */
            if (accept_kw(p, "as")) {
                sql_select *s = alloc(p, sizeof *s);
                s->as_of = -1;
                s->table = st->table;
                as_of_rest(p, s);
                st->select = s;
            }
        }
    } else if (accept_kw(p, "show")) {
        expect_kw(p, "tables");
        st->kind = S_SHOW_TABLES;
    } else if (accept_kw(p, "create")) {
        create_stmt(p, st);
    } else if (accept_kw(p, "drop")) {
        drop_stmt(p, st);
    } else if (accept_kw(p, "flush")) {
        st->kind = S_FLUSH; /* FLUSH [TABLE] [name]: rows inlined in the log into parts */
        if (accept_kw(p, "table") || p->tok.kind == SQL_T_IDENT || p->tok.kind == SQL_T_QIDENT) {
            st->table_pos = p->tok.pos;
            st->table = ident(p, "a table name");
        }
    } else if (accept_kw(p, "sync")) {
        st->kind = S_SYNC; /* SYNC: wait until the asynchronous inserts are durable */
    } else if (accept_kw(p, "alter")) {
        alter_stmt(p, st);
    } else if (accept_kw(p, "insert")) {
        insert_stmt(p, st);
    } else if (accept_kw(p, "copy")) {
        copy_stmt(p, st);
    } else if (is_kw(p, "begin") || is_kw(p, "start") || is_kw(p, "commit") || is_kw(p, "end") ||
               is_kw(p, "rollback") || is_kw(p, "abort")) {
        txn_stmt(p, st);
    } else if (dml_stmt(p, st)) {
    } else if (accept_kw(p, "optimize")) {
        st->kind = S_OPTIMIZE; /* OPTIMIZE [TABLE] [name]: without a name, every table */
        if (accept_kw(p, "table") || p->tok.kind == SQL_T_IDENT || p->tok.kind == SQL_T_QIDENT) {
            st->table_pos = p->tok.pos;
            st->table = ident(p, "a table name");
        }
    } else if (is_kw(p, "with")) {
        fail(p, p->tok.pos, "WITH (common table expressions) is not supported");
    } else if (accept_kw(p, "vacuum")) {
        st->kind = S_VACUUM;
        if (p->tok.kind == SQL_T_IDENT || p->tok.kind == SQL_T_QIDENT)
            fail(p, p->tok.pos, "VACUUM takes no table: it collects the whole store");
    } else {
        static const char *const stmts[] = {
            "SELECT", "EXPLAIN", "DESCRIBE", "SHOW",     "CREATE",  "DROP",     "FLUSH", "SYNC",
            "ALTER",  "INSERT",  "COPY",     "BEGIN",    "START",   "COMMIT",   "END",   "ROLLBACK",
            "ABORT",  "UPDATE",  "DELETE",   "TRUNCATE", "REPLACE", "OPTIMIZE", "VACUUM"};
        fail_keyword(p, "a statement", stmts, (int)(sizeof stmts / sizeof *stmts));
    }
    if (!accept_op(p, ";") && p->tok.kind != SQL_T_EOF) {
        char d[64];
        tok_desc(p, d, sizeof d);
        if (st->kind == S_SELECT &&
            (is_kw(p, "union") || is_kw(p, "intersect") || is_kw(p, "except")))
            fail(p, p->tok.pos, "%s is not supported: a query reads one table", d);
        /* A misspelt clause keyword ends the statement early: SELECT * FORM t. */
        fail_keyword(p, "';' or end of statement", clause_kws, N_CLAUSE_KWS);
    }
    st->end = p->prev_end;
    *pos = p->tok.kind == SQL_T_EOF ? p->n : p->tok.pos;
    *out = st;
    return 0;
}
