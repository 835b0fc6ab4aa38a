/*
 * sql/parse.h: the parser's state and primitives, internal to parse.c (which defines them, with
 * expressions, SELECT, DML and the statement dispatch) and parse_ddl.c (CREATE, DROP, ALTER,
 * type names). The grammar code calls the primitives by short names (next, accept_kw, ident, ...);
 * the function-like macros below give each an sql_parse_ symbol, so nothing short leaks from the
 * library. Include it after sql/sql.h and nowhere else.
 */
#ifndef ES_SQL_PARSE_H
#define ES_SQL_PARSE_H

#include <setjmp.h>

#include "sql/sql.h"

typedef struct parser {
    sql_arena *arena;
    const char *src;
    int n;
    int pos;      /* lexer position */
    int prev_end; /* end of the token before tok */
    sql_token tok;
    jmp_buf jb;
    sql_parse_error *err;
    int depth; /* nesting of the recursive calls below expr(), unary() and not_expr() */
} parser;

#define fail(p, ...) sql_parse_fail(p, __VA_ARGS__)
#define alloc(p, n) sql_parse_alloc(p, n)
#define next(p) sql_parse_next(p)
#define is_kw(p, kw) sql_parse_is_kw(p, kw)
#define accept_kw(p, kw) sql_parse_accept_kw(p, kw)
#define accept_op(p, op) sql_parse_accept_op(p, op)
#define expect_kw(p, kw) sql_parse_expect_kw(p, kw)
#define expect_op(p, op) sql_parse_expect_op(p, op)
#define tok_desc(p, buf, cap) sql_parse_tok_desc(p, buf, cap)
#define ident(p, what) sql_parse_ident(p, what)
#define int_lit(p) sql_parse_int_lit(p)
#define parse_type(p, ti) sql_parse_type(p, ti)
#define expr(p) sql_parse_expr(p)
#define select_stmt(p) sql_parse_select(p)
#define create_stmt(p, st) sql_parse_create(p, st)
#define alter_stmt(p, st) sql_parse_alter(p, st)
#define drop_stmt(p, st) sql_parse_drop(p, st)

/* Report a syntax error at byte pos and unwind to sql_parse_one (never returns). */
_Noreturn void fail(parser *p, int pos, const char *fmt, ...) ES_PRINTF(3, 4);
/* n bytes in the statement's arena (fails on out of memory). */
void *alloc(parser *p, size_t n);
/* Advance to the next token. */
void next(parser *p);
/* Whether the current token is keyword kw / consume it if so / fail unless so. */
int is_kw(parser *p, const char *kw);
int accept_kw(parser *p, const char *kw);
void expect_kw(parser *p, const char *kw);
/* The same for operators. */
int accept_op(parser *p, const char *op);
void expect_op(parser *p, const char *op);
/* The current token quoted for a message, or "end of input". */
void tok_desc(parser *p, char *buf, size_t cap);
/* The current token as an identifier (folded unless quoted); what names it in the error. */
char *ident(parser *p, const char *what);
/* An integer literal, with an optional minus. */
int64_t int_lit(parser *p);
/* A type name (INT, VARCHAR, DECIMAL(p, s), ...): parse_ddl.c. */
void parse_type(parser *p, sql_typeinfo *ti);
/* An expression; a SELECT statement. */
sql_expr *expr(parser *p);
sql_select *select_stmt(parser *p);

/* parse_ddl.c: the statement after CREATE, after ALTER, after DROP. */
void create_stmt(parser *p, sql_stmt *st);
void alter_stmt(parser *p, sql_stmt *st);
void drop_stmt(parser *p, sql_stmt *st);

#endif
