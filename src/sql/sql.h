/*
 * sql/sql.h: the SQL layer's front end, internal to src/sql (the public interface is
 * include/expstore/sql.h). Types of the SQL dialect, the abstract syntax tree, the lexer and the
 * parser. Nothing here touches a store: the executor's internals are in sql/exec.h.
 *
 * The SQL layer sits on the library's public API (expstore/expstore.h, expstore/arrow.h), above
 * the table layer, and implements the public SQL API (include/expstore/sql.h). Its files, by
 * stage:
 *
 *   lex.c      tokens: text -> one token at a time; statement completeness for the prompt.
 *   parse.c    recursive-descent parser: tokens -> statements (AST in an arena), with byte
 *              positions for error carets; parse_ddl.c its CREATE, DROP and ALTER statements
 *              and type names (sql/parse.h: the parser state and primitives they share).
 *   value.c    vectors (sql_vec), dates, timestamps, intervals and decimals (parsing and
 *              formatting), the mapping between SQL and Arrow types, Arrow arrays <-> vectors;
 *              conv.c the conversions CAST, INSERT and COPY share (text or a value to a type:
 *              one set of rules, docs/SQL.md); vec_arrow.c vectors over scan batches as stored
 *              (fixed-width values pointed at in place, dictionary-encoded strings as codes:
 *              GROUP BY and predicates on the codes).
 *   bind.c     type rules and the expression binder (names, types, aggregates).
 *   plan.c     SELECT binding: the table's columns, '*', GROUP BY/ORDER BY positions and
 *              aliases, and the predicate pushed down to es_scan.
 *   eval.c     vectorised evaluation: comparison, arithmetic, cast and function kernels,
 *              filters.
 *   func.c     scalar functions (string, math, NULL handling), CASE and ILIKE, and the "did
 *              you mean" suggestions of unknown names; func_date.c the date and time
 *              functions (strftime, date_trunc, date_part/EXTRACT, now, current_date) and
 *              date arithmetic (DATE +- days, +- INTERVAL).
 *   agg.c      hash aggregation.
 *   sort.c     ORDER BY, OFFSET and LIMIT on a materialised result.
 *   select.c   SELECT and EXPLAIN as a cursor read batch by batch, and its ArrowArrayStream.
 *   insert.c   INSERT ... VALUES and INSERT ... SELECT (streamed from the cursor).
 *   copy.c     COPY FROM (CSV, Arrow IPC) and COPY TO (CSV, Arrow IPC file or stream, JSON).
 *   ddl.c      CREATE TABLE [AS SELECT], DROP TABLE, DESCRIBE, SHOW TABLES.
 *   alter.c    ALTER TABLE: ADD, DROP, RENAME COLUMN, RENAME TO, ALTER COLUMN TYPE / NOT NULL.
 *   dml.c      DELETE, UPDATE, TRUNCATE and upserts (ON CONFLICT, OR REPLACE, OR IGNORE).
 *   maint.c    OPTIMIZE and VACUUM.
 *   exec.c     statement dispatch and the error record.
 *   session.c  the public API: sessions, statements, scripts, errors.
 *   csv.c      CSV reading (an ArrowArrayStream) and writing.
 *
 * sql/sql.h (this file) is the front end's interface; sql/exec.h, which includes it, the
 * executor's.
 */
#ifndef ES_SQL_SQL_H
#define ES_SQL_SQL_H

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
/* Room in a for the hash set of an IN list of n values (eval.c); NULL when out of memory. */
struct sql_inset *sql_inset_alloc(sql_arena *a, int n);

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
static inline int sql_type_phys(sql_type t)
{
    switch (t) {
    case SQL_REAL:
    case SQL_DOUBLE:
        return SQL_PHYS_DBL;
    case SQL_VARCHAR:
    case SQL_BLOB:
        return SQL_PHYS_STR;
    default:
        return SQL_PHYS_INT;
    }
}
const char *sql_type_name(sql_type t);
/* "DECIMAL(10,2)", "INTEGER", ... */
void sql_typeinfo_name(char *buf, size_t cap, const sql_typeinfo *ti);

/* ----------------------------------------------------------------- AST */

/* The deepest expression tree accepted (and the deepest nesting of the parser's own recursion):
 * every pass over a tree (binding, formatting, evaluation, pushdown) recurses once per level, so
 * bounding the height here bounds the stack everywhere. A chain of AND or of OR is one level
 * (one node with n operands), as are the elements of a list. */
#define SQL_MAX_DEPTH 1000

typedef enum sql_expr_kind {
    E_COL = 0, /* name */
    E_INT,     /* ival */
    E_DBL,     /* dval */
    E_STR,     /* sval, slen */
    E_NULL,
    E_BOOL,     /* ival 0/1 */
    E_BIN,      /* op, a, b; OP_AND and OP_OR: the operands in list (nlist >= 2), a = b = NULL */
    E_NOT,      /* a */
    E_NEG,      /* a */
    E_ISNULL,   /* a, neg */
    E_BETWEEN,  /* a, b, c, neg */
    E_IN,       /* a, list, neg */
    E_LIKE,     /* a, b, neg; op 1: ILIKE (case-insensitive) */
    E_CAST,     /* a, cast */
    E_FUNC,     /* name, list (star: count(*)); bound: index is a func.c function id (> 0) */
    E_AGGREF,   /* bound: index into the aggregate results */
    E_GROUPREF, /* bound: index into the group keys */
    E_CASE,     /* list: WHEN, THEN pairs; b: ELSE or NULL; a: the operand of a simple CASE,
                   whose WHENs are parsed as (a = value) */
    E_INTERVAL  /* INTERVAL literal: months, ival microseconds; only an operand of + or - with a
                   DATE or TIMESTAMP (bind.c, func_date.c) */
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
    int pos;    /* byte offset in the source text */
    int height; /* 1 for a leaf, else 1 + the children's greatest (<= SQL_MAX_DEPTH) */
    int neg, star, distinct;
    char *name;
    char *qual; /* E_COL: the table of table.column (excluded.column in an upsert), or NULL */
    int64_t ival;
    int64_t months; /* E_INTERVAL */
    double dval;
    char *sval;
    int64_t slen;
    sql_expr *a, *b, *c;
    sql_expr **list;
    int nlist;
    sql_typeinfo cast;
    /* E_IN: room for the hash set of its constants (allocated by the parser, filled by the
     * binder: sql_inset_fill in eval.c), or NULL. */
    struct sql_inset *inset;
    /* Filled by the binder. */
    int index;       /* E_COL: input column; E_AGGREF/E_GROUPREF: slot */
    sql_typeinfo ty; /* result type */
};

typedef struct sql_select_item {
    sql_expr *e; /* NULL for '*' */
    char *alias;
    char *star_qual; /* t.*: t (the table or its alias), else NULL */
    int pos;         /* t.*: where t is */
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
    char *alias; /* FROM t [AS] alias, or NULL */
    int table_pos;
    int64_t as_of;    /* -1: latest */
    char *as_of_time; /* AS OF TIMESTAMP 'text' (UTC; plan.c resolves it), or NULL */
    int as_of_pos;
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
    sql_expr *def; /* CREATE TABLE: the DEFAULT constant, or NULL */
} sql_coldef;

typedef enum sql_stmt_kind {
    S_SELECT = 0,
    S_EXPLAIN,
    S_CREATE,
    S_DROP,
    S_INSERT,
    S_COPY_FROM,
    S_COPY_TO,
    S_DESCRIBE,    /* table */
    S_SHOW_TABLES, /* no operands */
    S_BEGIN,       /* BEGIN, START TRANSACTION [ISOLATION LEVEL ...] (txn.c) */
    S_COMMIT,      /* COMMIT, END */
    S_ROLLBACK,    /* ROLLBACK, ABORT */
    S_UPSERT,      /* INSERT with ON CONFLICT or OR REPLACE/IGNORE, REPLACE INTO (dml.c) */
    S_DELETE,
    S_UPDATE,
    S_TRUNCATE,
    S_FLUSH,        /* FLUSH [TABLE] [t] (ddl.c): es_table_flush */
    S_OPTIMIZE,     /* OPTIMIZE [TABLE] t (maint.c) */
    S_VACUUM,       /* VACUUM (maint.c) */
    S_ALTER,        /* ALTER TABLE (alter.c) */
    S_CREATE_INDEX, /* CREATE [UNIQUE] INDEX [IF NOT EXISTS] name ON table (column) (ddl.c) */
    S_DROP_INDEX,   /* DROP INDEX [IF EXISTS] name */
    S_SYNC          /* SYNC (ddl.c): es_store_sync */
} sql_stmt_kind;

/* What an upsert does with a row whose primary key exists (sql_stmt.conflict). */
enum { SQL_CONFLICT_NONE = 0, SQL_CONFLICT_REPLACE, SQL_CONFLICT_NOTHING, SQL_CONFLICT_UPDATE };

typedef struct sql_stmt {
    sql_stmt_kind kind;
    int pos; /* byte offset of its first token */
    int end; /* byte offset just past its ';' (or its last token) */
    char *table;
    int table_pos; /* byte offset of table's name (for errors naming it) */
    int if_exists; /* IF [NOT] EXISTS */
    sql_coldef *cols;
    int ncols;
    char *primary_key;
    char **names; /* INSERT column list */
    int nnames;
    sql_expr ***rows; /* INSERT VALUES: nrows rows of nrowvals expressions */
    int *rowlen;
    int nrows;
    sql_select *select; /* SELECT, EXPLAIN, COPY TO, CREATE TABLE AS, INSERT INTO ... SELECT */
    int analyze;        /* EXPLAIN ANALYZE */
    char *file;
    int header;   /* -1: default */
    char delim;   /* 0: default ',' */
    char *format; /* 'csv' | 'arrow' | 'arrows' | 'json' | NULL: by extension (copy.c checks) */
    int format_pos;
    int serializable; /* BEGIN ... ISOLATION LEVEL SERIALIZABLE */
    /* DELETE, UPDATE and upserts (dml.c). */
    sql_expr *where; /* DELETE, UPDATE: WHERE; ON CONFLICT DO UPDATE: its WHERE; or NULL */
    char **set_cols; /* UPDATE, ON CONFLICT DO UPDATE: SET column = expression, nset of them */
    sql_expr **set_exprs;
    int *set_pos;
    int nset;
    int conflict;       /* S_UPSERT: SQL_CONFLICT_* */
    char *conflict_key; /* ON CONFLICT (column): the column named, or NULL */
    int conflict_pos;
    /* ALTER TABLE (alter.c): alter is an es_alter_kind; ADD COLUMN's column is cols[0] (with
     * its DEFAULT expression in where), SET TYPE's type cols[0].ty. */
    int alter;
    char *column, *new_name;
    /* CREATE INDEX, DROP INDEX */
    char *index;
    char *index_col;
    int unique;
    /* DESCRIBE HISTORY [table] [LIMIT n] (history_limit -1: the default); DESCRIBE t AS OF
     * ...: the version in select (table, as_of, as_of_time). */
    int history;
    int64_t history_limit;
} sql_stmt;

typedef struct sql_parse_error {
    int pos;
    char msg[256];
} sql_parse_error;

/* ---------------------------------------------------------------- lexer */

enum {
    SQL_T_EOF = 0,
    SQL_T_IDENT,  /* unquoted: folded to lower case by the parser */
    SQL_T_QIDENT, /* "quoted" */
    SQL_T_STRING,
    SQL_T_INT,
    SQL_T_FLOAT,
    SQL_T_OP /* punctuation; text in op */
};

typedef struct sql_token {
    int kind;
    int pos, len; /* in the source */
    char op[3];
} sql_token;

/* Skip whitespace and comments (-- line, block) from byte i of s[0..n). Returns the new
 * position. */
int sql_skip_space(const char *s, int n, int i);
/* Read the token at or after byte i of s[0..n) into *t (SQL_T_EOF at the end). Returns the
 * position after it, or -1 with err set (an unterminated quote, an unexpected character). */
int sql_lex(const char *s, int n, int i, sql_token *t, sql_parse_error *err);

/* Parse one statement of `src` (length n) starting at *pos; on success *out is the statement
 * (in `arena`) and *pos is past its ';' (or the end). Returns 0, or -1 with *err set, or 1
 * when only whitespace/comments remain. */
int sql_parse_one(sql_arena *arena, const char *src, int n, int *pos, sql_stmt **out,
                  sql_parse_error *err);
/* True when `src` holds at least one complete statement ending in ';' outside quotes and
 * comments (for the interactive prompt). */
int sql_is_complete(const char *src, int n);
/* The text of an INTERVAL literal (value.c): "n unit [n unit ...]" when unit is NULL, else the
 * number n of unit `unit` (ulen bytes); units as PostgreSQL and DuckDB spell them. 0 with
 * *months and *us (days and times in microseconds) set, -2 for an unknown unit given apart,
 * -1 for any other bad text or an amount out of range. */
int sql_parse_interval(const char *s, int64_t n, const char *unit, size_t ulen, int64_t *months,
                       int64_t *us);
/* Line and column (1-based) of byte offset pos. */
void sql_line_col(const char *src, int pos, int *line, int *col);
/* The candidate closest to `name` by edit distance (case-insensitive), or NULL when none is
 * close: within a third of the name's length (at least 1, at most 3). For "did you mean"
 * (func.c). */
const char *sql_closest(const char *name, const char *const *cands, int n);

#endif /* ES_SQL_SQL_H */
