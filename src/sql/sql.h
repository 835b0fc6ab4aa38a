/*
 * sql: the SQL dialect of the `expstore` shell, above the library's public API.
 *
 *   sql_parse.c  lexer and recursive-descent parser: text -> statements (AST in an arena);
 *                depends only on libc and es_malloc, so the fuzzer can include it directly.
 *   sql_exec.c   binder/planner and vectorised executor: pushes the projection and the
 *                predicates that es_expr can express down to es_scan, evaluates the rest column
 *                at a time over vectors read through es_array_view, aggregates with a hash
 *                table, sorts, and returns a materialised result.
 *   csv.c        CSV reading (an ArrowArrayStream of 64k-row batches built with es_builder) and
 *                writing.
 *   shell.c      the program: arguments, the interactive prompt (libedit), dot-commands and
 *                output modes (table, csv, json).
 */
#ifndef ES_TOOLS_SQL_H
#define ES_TOOLS_SQL_H

#include <stdint.h>
#include <stdio.h>

#include "expstore/expstore.h"

/* ---------------------------------------------------------------- arena */

typedef struct sql_arena {
    struct sql_chunk *head;
} sql_arena;
void *sql_arena_alloc(sql_arena *a, size_t n);
char *sql_arena_strndup(sql_arena *a, const char *s, size_t n);
void sql_arena_reset(sql_arena *a);

/* ---------------------------------------------------------------- types */

typedef enum sql_type {
    SQL_NULL = 0, /* the type of a bare NULL literal */
    SQL_BOOL,
    SQL_SMALLINT,
    SQL_INT,
    SQL_BIGINT,
    SQL_REAL,
    SQL_DOUBLE,
    SQL_DECIMAL,
    SQL_VARCHAR,
    SQL_BLOB,
    SQL_DATE,
    SQL_TIMESTAMP,
    SQL_TIMESTAMPTZ
} sql_type;

typedef struct sql_typeinfo {
    sql_type t;
    int precision, scale; /* DECIMAL */
} sql_typeinfo;

/* Physical storage class of a type inside the executor. */
enum { SQL_PHYS_INT = 0, SQL_PHYS_DBL, SQL_PHYS_STR };
int sql_type_phys(sql_type t);
const char *sql_type_name(sql_type t);
/* "DECIMAL(10,2)", "INTEGER", ... */
void sql_typeinfo_name(char *buf, size_t cap, const sql_typeinfo *ti);

/* ----------------------------------------------------------------- AST */

typedef enum sql_expr_kind {
    E_COL = 0, /* name */
    E_INT,     /* ival */
    E_DBL,     /* dval */
    E_STR,     /* sval, slen */
    E_NULL,
    E_BOOL,    /* ival 0/1 */
    E_BIN,     /* op, a, b */
    E_NOT,     /* a */
    E_NEG,     /* a */
    E_ISNULL,  /* a, neg */
    E_BETWEEN, /* a, b, c, neg */
    E_IN,      /* a, list, neg */
    E_LIKE,    /* a, b, neg */
    E_CAST,    /* a, cast */
    E_FUNC,    /* name, list (star: count(*)) */
    E_AGGREF,  /* bound: index into the aggregate results */
    E_GROUPREF /* bound: index into the group keys */
} sql_expr_kind;

typedef enum sql_binop {
    OP_ADD = 0,
    OP_SUB,
    OP_MUL,
    OP_DIV,
    OP_MOD,
    OP_EQ,
    OP_NE,
    OP_LT,
    OP_LE,
    OP_GT,
    OP_GE,
    OP_AND,
    OP_OR,
    OP_CONCAT
} sql_binop;

typedef struct sql_expr sql_expr;
struct sql_expr {
    sql_expr_kind kind;
    int op;
    int pos; /* byte offset in the source text */
    int neg, star, distinct;
    char *name;
    int64_t ival;
    double dval;
    char *sval;
    int64_t slen;
    sql_expr *a, *b, *c;
    sql_expr **list;
    int nlist;
    sql_typeinfo cast;
    /* Filled by the binder. */
    int index;       /* E_COL: input column; E_AGGREF/E_GROUPREF: slot */
    sql_typeinfo ty; /* result type */
};

typedef struct sql_select_item {
    sql_expr *e; /* NULL for '*' */
    char *alias;
} sql_select_item;

typedef struct sql_order_item {
    sql_expr *e;
    int desc;
    int nulls; /* 0 default, 1 NULLS FIRST, 2 NULLS LAST */
} sql_order_item;

typedef struct sql_select {
    int distinct; /* SELECT DISTINCT: grouped by every item */
    sql_select_item *items;
    int nitems;
    char *table; /* NULL: no FROM */
    int table_pos;
    int64_t as_of; /* -1: latest */
    sql_expr *where;
    sql_expr **group;
    int ngroup;
    sql_expr *having;
    sql_order_item *order;
    int norder;
    sql_expr *limit, *offset;
} sql_select;

typedef struct sql_coldef {
    char *name;
    sql_typeinfo ty;
    int not_null;
    int primary;
} sql_coldef;

typedef enum sql_stmt_kind {
    S_SELECT = 0,
    S_EXPLAIN,
    S_CREATE,
    S_DROP,
    S_INSERT,
    S_COPY_FROM,
    S_COPY_TO
} sql_stmt_kind;

typedef struct sql_stmt {
    sql_stmt_kind kind;
    int pos;
    char *table;
    int if_exists; /* IF [NOT] EXISTS */
    sql_coldef *cols;
    int ncols;
    char *primary_key;
    char **names; /* INSERT column list */
    int nnames;
    sql_expr ***rows; /* INSERT VALUES: nrows rows of nrowvals expressions */
    int *rowlen;
    int nrows;
    sql_select *select; /* SELECT, EXPLAIN, COPY TO */
    char *file;
    int header;   /* -1: default */
    char delim;   /* 0: default ',' */
    char *format; /* 'csv' | 'arrow' | NULL: by extension */
} sql_stmt;

typedef struct sql_parse_error {
    int pos;
    char msg[256];
} sql_parse_error;

/* Parse one statement of `src` (length n) starting at *pos; on success *out is the statement
 * (in `arena`) and *pos is past its ';' (or the end). Returns 0, or -1 with *err set, or 1
 * when only whitespace/comments remain. */
int sql_parse_one(sql_arena *arena, const char *src, int n, int *pos, sql_stmt **out,
                  sql_parse_error *err);
/* True when `src` holds at least one complete statement ending in ';' outside quotes and
 * comments (for the interactive prompt). */
int sql_is_complete(const char *src, int n);
/* Line and column (1-based) of byte offset pos. */
void sql_line_col(const char *src, int pos, int *line, int *col);

/* ----------------------------------------------------- vectors / results */

/* One column of values: int64 (bool, integers, decimal unscaled, date days, timestamp us),
 * double, or bytes (offsets + data). nulls: one byte per row, 1 = NULL. */
typedef struct sql_vec {
    sql_typeinfo ty;
    int64_t n, cap;
    uint8_t *nulls;
    int64_t *i;
    double *f;
    int64_t *off; /* n + 1 entries */
    char *data;
    int64_t dlen, dcap;
    int borrowed; /* arrays belong to another vector: read-only, not freed */
} sql_vec;

typedef struct sql_result {
    int ncols;
    char **names;
    sql_vec *cols;
    int64_t nrows;
} sql_result;

void sql_vec_init(sql_vec *v, sql_typeinfo ty);
void sql_vec_free(sql_vec *v);
void sql_result_free(sql_result *r);
/* Format value r of v (NULL -> "NULL"); returns a pointer into buf or into v. *len is set. */
const char *sql_vec_format(const sql_vec *v, int64_t r, char *buf, size_t cap, int64_t *len);

/* ----------------------------------------------------------- execution */

typedef struct sql_session {
    es_store *store;
    char err[1024];
    int errpos;   /* byte offset of the error in the statement's source, or -1 */
    int progress; /* show a progress bar on stderr for long copies */
    FILE *out;    /* for EXPLAIN output */
} sql_session;

/* Execute a parsed statement. For SELECT/EXPLAIN *res is filled (EXPLAIN: one text column);
 * for others, res->ncols == 0 and res->nrows holds the affected row count (or -1).
 * Returns 0 or -1 with s->err holding one line (and src positions for binder errors). */
int sql_execute(sql_session *s, const char *src, sql_stmt *st, sql_result *res);

/* Conversions shared with csv.c. Return 0 or -1. */
int sql_parse_date(const char *p, int64_t n, int64_t *days);
int sql_parse_timestamp(const char *p, int64_t n, int64_t *us);
int sql_parse_decimal(const char *p, int64_t n, int scale, int64_t *out);
void sql_format_date(char *buf, size_t cap, int64_t days);
void sql_format_timestamp(char *buf, size_t cap, int64_t us, int tz);
/* Type of an Arrow field as a SQL type; -1 when unsupported. */
int sql_type_from_arrow(sql_typeinfo *ti, const char *format);
/* Arrow format string of a SQL type. */
void sql_type_to_arrow(char *buf, size_t cap, const sql_typeinfo *ti);

/* csv.c */
/* Open a stream over a CSV file for a table with `schema` (a struct schema): columns in file
 * order = schema order. Returns 0 or -1 with err. */
int sql_csv_stream_open(struct ArrowArrayStream *out, const char *path,
                        const struct ArrowSchema *schema, int header, char delim, int progress,
                        char *err, size_t errcap);
/* Rows read by the last stream (for the row count message); valid after the stream ends. */
int64_t sql_csv_last_rows(void);
int sql_csv_write(FILE *f, const sql_result *r, char delim, int header);

#endif /* ES_TOOLS_SQL_H */
