/*
 * sql/exec.h: the executor's internals, shared by the files of src/sql (see sql/sql.h for the
 * list). Vectors of values, the execution context and its errors, the plan the binder makes of
 * a SELECT, the evaluation kernels, the aggregation table, the SELECT cursor, the statements.
 *
 * A vector (sql_vec) is one column of a batch in one of three physical forms: int64 (bool,
 * integers, decimal unscaled, date days, timestamp microseconds), double, or bytes (offsets and
 * data). Kernels work on whole vectors, one loop per operator per batch.
 */
#ifndef ES_SQL_EXEC_H
#define ES_SQL_EXEC_H

#include <stdint.h>
#include <stdio.h>

#include "expstore/sql.h"
#include "sql/sql.h"

/* 128-bit integers: exact comparisons across decimal scales, sums of integers. */
__extension__ typedef __int128 sql_i128;
__extension__ typedef unsigned __int128 sql_u128;

/* Rows per record batch of a result. */
#define SQL_BATCH_ROWS 65536

/* 10^0 .. 10^18 */
extern const int64_t sql_pow10[19];

/* ------------------------------------------------------------- vectors (value.c) */

/* One column of values. nulls: one byte per row, 1 = NULL. */
struct sql_dict;

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
    /* Values pointed at in place (vec_arrow.c): i or f is a scan batch's Arrow buffer, which
     * the batch (sql_batch.src) keeps alive; read-only, not freed (nulls are owned). */
    int vals_borrowed;
    /* Dictionary codes (vec_arrow.c): a VARCHAR vector whose i[r] is the row of dict's strings
     * holding value r (a NULL row points at dict's last row, a NULL); off and data unused.
     * Only vec_arrow.c reads such a vector: sql_eval turns it into strings (or evaluates an
     * expression once per dictionary entry), the GROUP BY of one column groups on its codes.
     * A reference to dict is held unless borrowed. */
    struct sql_dict *dict;
} sql_vec;

/* A materialised result: ncols named vectors of nrows rows. */
typedef struct sql_result {
    int ncols;
    char **names;
    sql_vec *cols;
    int64_t nrows;
} sql_result;

static inline int sql_vec_phys(const sql_vec *v)
{
    return sql_type_phys(v->ty.t); /* inline (sql.h): kernels ask per row */
}

/* Bytes of value r of a string vector. */
static inline const char *sql_vec_str(const sql_vec *v, int64_t r, int64_t *len)
{
    *len = v->off[r + 1] - v->off[r];
    return v->data ? v->data + v->off[r] : "";
}

void sql_vec_init(sql_vec *v, sql_typeinfo ty);
void sql_vec_free(sql_vec *v);
void sql_result_free(sql_result *r);
/* Room for `rows` rows / `extra` more data bytes. 0 or -1 (out of memory). */
int sql_vec_reserve(sql_vec *v, int64_t rows);
int sql_vec_reserve_data(sql_vec *v, int64_t extra);
/* Make v an empty vector of n rows (values uninitialised, nulls cleared). 0 or -1. */
int sql_vec_alloc(sql_vec *v, sql_typeinfo ty, int64_t n);
int sql_vec_push_str(sql_vec *v, const void *p, int64_t len);
int sql_vec_push_null(sql_vec *v);
/* Append rows of src (all when sel is NULL, else sel[0..nsel)) to dst (same phys type). */
int sql_vec_append(sql_vec *dst, const sql_vec *src, const int64_t *sel, int64_t nsel);
/* Format value r of v (NULL -> "NULL"); returns a pointer into buf or into v. *len is set. */
const char *sql_vec_format(const sql_vec *v, int64_t r, char *buf, size_t cap, int64_t *len);
/* Load an Arrow column (validated view) into a vector of type ti. 0 or -1. */
int sql_vec_load(sql_vec *v, const es_array_view *av, sql_typeinfo ti);
/* Load the k rows of an Arrow column that mask keeps (mask[r] 1; all rows when mask is NULL):
 * a scan's selection mask applied in the one copy the load makes anyway. 0 or -1. */
int sql_vec_load_mask(sql_vec *v, const es_array_view *av, sql_typeinfo ti, const uint8_t *mask,
                      int64_t k);

/* Append value r of v to an Arrow builder of type `at` (a table's column: values must fit). */
es_status sql_build_value(es_builder *b, const es_type *at, const sql_vec *v, int64_t r);
/* Append rows [start, start + n) of v to a builder of a result column of type `at` (the Arrow
 * type of v's SQL type; decimals may exceed their precision). */
es_status sql_vec_build(es_builder *b, const es_type *at, const sql_vec *v, int64_t start,
                        int64_t n);

/* Dates and timestamps (value.c). Parsers return 0 or -1. */
int sql_parse_date(const char *p, int64_t n, int64_t *days);
int sql_parse_timestamp(const char *p, int64_t n, int64_t *us);
void sql_format_date(char *buf, size_t cap, int64_t days);
void sql_format_timestamp(char *buf, size_t cap, int64_t us, int tz);
void sql_format_decimal(char *buf, size_t cap, int64_t v, int scale);
void sql_format_double(char *buf, size_t cap, double d);
/* The fewest significant digits (from 15, or from 6 for a REAL) that read back as d (COPY TO). */
void sql_format_double_exact(char *buf, size_t cap, double d, int real);
/* Conversions (conv.c): the one path of CAST, INSERT and COPY from text or from another type
 * to a type, with one set of rules (exact numbers rounded half away from zero, out-of-range
 * values refused, UTF-8 checked; the rules open conv.c). */
enum {
    SQL_CONV_OK = 0,
    SQL_CONV_SYNTAX = -1, /* not a value of the type */
    SQL_CONV_RANGE = -2,  /* a value outside the type's range */
    SQL_CONV_UTF8 = -3,   /* ill-formed UTF-8 for a VARCHAR */
    SQL_CONV_TYPE = -4,   /* no conversion between the types */
    SQL_CONV_NOMEM = -5
};
/* One value of a type's physical class: i (integers, decimals unscaled, dates, timestamps,
 * booleans), f (REAL, DOUBLE) or s/len (VARCHAR, BLOB; borrowed from the input). */
typedef struct sql_value {
    int64_t i;
    double f;
    const char *s;
    int64_t len;
} sql_value;
/* Text p[0..n) to a value of type `to`. Returns SQL_CONV_*. */
int sql_conv_text(const sql_typeinfo *to, const char *p, int64_t n, sql_value *out);
/* A value of a non-string type `from` to a non-string type `to`. Returns SQL_CONV_*. */
int sql_conv_value(const sql_typeinfo *to, const sql_typeinfo *from, const sql_value *v,
                   sql_value *out);
/* The message of a failed conversion of text[0..n) to `to` ("'1e309' is out of range for
 * DOUBLE", "cannot parse 'zz' as INTEGER", "invalid UTF-8 at byte 3 of a VARCHAR value"). */
void sql_conv_message(char *buf, size_t cap, int rc, const sql_typeinfo *to, const char *text,
                      int64_t n);
/* Offset of the first byte of s[0..n) that is not well-formed UTF-8, or -1. */
int64_t sql_utf8_check(const char *s, int64_t n);
/* A decimal of scale `scale` (0: an integer) as the nearest double. */
double sql_decimal_to_double(int64_t v, int scale);

/* Type of an Arrow field as a SQL type; -1 when unsupported. */
int sql_type_from_arrow(sql_typeinfo *ti, const char *format);
/* Arrow format string of a SQL type. */
void sql_type_to_arrow(char *buf, size_t cap, const sql_typeinfo *ti);

/* ----------------------------------------------------- type rules (bind.c) */

int sql_is_num(sql_type t);
int sql_is_temporal(sql_type t);
int sql_is_str(sql_type t);
/* The scale of a DECIMAL, 0 for other types. */
int sql_scale(const sql_typeinfo *t);

enum { SQL_DOM_INT = 0, SQL_DOM_DBL, SQL_DOM_STR };
/* Common domain of two types for comparison; multipliers for the int domain. -1: none. */
int sql_common_domain(const sql_typeinfo *a, const sql_typeinfo *b, int64_t *ma, int64_t *mb);

/* ------------------------------------------------ sessions and errors (exec.c) */

struct sql_cursor;

/* The public session (include/expstore/sql.h). */
struct es_sql_session {
    es_store *store;
    es_status code; /* the last error: code, message without position, position */
    char err[1024];
    int errline, errcol; /* 0 when the error has no position */
    es_sql_progress_callback progress;
    void *progress_arg;
    struct sql_cursor *open; /* the result stream that is open, or NULL */
    int interrupt;  /* es_sql_interrupt: set and read with __atomic builtins, from any thread */
    int txn_failed; /* a statement failed inside the open transaction: only ROLLBACK (or a
                       COMMIT, which rolls back) is accepted until it ends (txn.c) */
    /* Where es_sql_exec_next last started in a script, and its line and column. */
    const char *walk_text;
    size_t walk_len;
    int walk_off, walk_line, walk_col;
};

/* What a statement runs in: the session and the text its positions point into. Byte 0 of src
 * is offset `base` of the text the caller passed in, at line `line0`, column `col0`. */
typedef struct sql_exec {
    es_sql_session *s;
    const char *src;
    int base, line0, col0;
    int64_t now; /* the statement's time for now() (microseconds since 1970), 0 until asked */
    /* The statement runs while its read refresh is in flight (session.c, run): spec. A
     * statement with effects (COPY ... TO) ends that itself before its first effect
     * (sql_spec_end), clearing spec; respec is then 1 when it must run again. */
    int spec, respec;
} sql_exec;

/* End the statement's speculation (x->spec) now: 1 when the refresh found a newer version (the
 * statement must stop before any effect and is run again by session.c), else 0. */
int sql_spec_end(sql_exec *x);

/* Record an error in the session: its code, the message, and the line and column of byte
 * offset pos of the caller's text (pos -1: no position). Returns -1. */
int sql_fail(sql_exec *x, es_status code, int pos, const char *fmt, ...) ES_PRINTF(4, 5);
/* An ES_INVALID error (syntax, names, types, constraints, bad values). */
int sql_err(sql_exec *x, int pos, const char *fmt, ...) ES_PRINTF(3, 4);
int sql_oom(sql_exec *x);
/* An error of the store handle, with its code and message. */
int sql_store_err(sql_exec *x, int pos);
/* es_sql_interrupt was called: records ES_INTERRUPTED "interrupted" and returns -1; else 0. */
int sql_check_interrupt(sql_exec *x);

/* Run a parsed statement. A SELECT or EXPLAIN gives *cursor (its rows, to read with
 * sql_cursor_next); the others run to the end and set *changes (rows inserted or copied, -1 for
 * DDL). 0 or -1. */
int sql_run(sql_exec *x, sql_stmt *st, struct sql_cursor **cursor, int64_t *changes);
/* The statement's kind for es_sql_result.kind. */
const char *sql_stmt_kind_name(sql_stmt_kind k);

/* ----------------------------------------------------------- plans (bind.c, plan.c) */

/* A batch of rows: one vector per column (of the table, or of an aggregation's output). */
typedef struct sql_batch {
    int64_t n;
    int ncols;
    sql_vec *cols;
    /* The scan batch the columns were loaded from, kept while vectors point into its buffers
     * (vals_borrowed); released by sql_batch_free (release NULL: none). */
    struct ArrowArray src;
} sql_batch;

typedef struct sql_colinfo {
    char *name;
    sql_typeinfo ty;
    int nullable;
    int used;
} sql_colinfo;

enum { SQL_AGG_COUNT_STAR = 0, SQL_AGG_COUNT, SQL_AGG_SUM, SQL_AGG_AVG, SQL_AGG_MIN, SQL_AGG_MAX };

typedef struct sql_agg {
    int kind; /* SQL_AGG_* */
    sql_expr *arg;
    sql_typeinfo ty;
    int distinct; /* count/sum/avg(DISTINCT arg): each value once per group */
} sql_agg;

typedef struct sql_plan {
    sql_select *sel;
    sql_colinfo *cols;
    int ncols;
    int64_t version; /* the store version the table was bound at; the scan reads the same */
    int aggregate;   /* GROUP BY or aggregates present */
    sql_expr **group;
    int ngroup;
    sql_agg aggs[256];
    int naggs;
    /* Output: visible items then hidden ORDER BY keys. */
    sql_expr **out;
    char **names;
    int nout, nvisible;
    int *order_col; /* result column of each ORDER BY key */
    int64_t limit, offset;
    es_expr *pushed;
    sql_expr **distinct_group;
    sql_expr *owned[512]; /* nodes allocated by the binder */
    int nowned;
} sql_plan;

/* bind.c */
/* Render an expression (for column names and EXPLAIN). */
void sql_fmt_expr(char *buf, size_t cap, const sql_expr *e);
int sql_expr_equal(const sql_expr *a, const sql_expr *b);
int sql_has_agg(const sql_expr *e);
/* Convert a string literal node in place to a date/timestamp literal. 0 or -1. */
int sql_fold_temporal(sql_exec *x, sql_expr *lit, sql_type t);
int sql_check_bool(sql_exec *x, sql_expr *e, sql_expr *a);
/* Bind names and types of e (in place). agg_ok: 1 aggregates allowed, 0 not, -1 inside an
 * aggregate's argument. 0 or -1. */
int sql_bind_expr(sql_exec *x, sql_plan *p, sql_expr *e, int agg_ok);

/* plan.c */
/* The columns of a table at a version (-1: latest); *info_out (nullable) gets its
 * description. 0 or -1. */
/* The version a FROM's AS OF names: as_of, or the one AS OF TIMESTAMP resolves to (-1: the
 * latest). 0 or -1. */
int sql_as_of(sql_exec *x, const sql_select *sel, int64_t *version);
int sql_describe(sql_exec *x, const char *table, int64_t version, int pos, sql_colinfo **cols,
                 int *ncols, es_table_info *info_out);
/* The part of WHERE expression e (bound against p's columns) that es_expr can express, as a
 * predicate accepting a superset of e's rows (partial: AND may drop operands) or exactly e's
 * rows (partial 0: NULL unless all of e translates). NULL: nothing (or out of memory). */
es_expr *sql_push_where(const sql_plan *p, const sql_expr *e, int partial);
/* Bind a SELECT into *p (free with sql_plan_free, also after a failure). 0 or -1. */
int sql_bind_select(sql_exec *x, sql_select *sel, sql_plan *p);
void sql_plan_free(sql_plan *p);
/* The predicate pushed down to the scan as SQL text ("none" when there is none). */
void sql_fmt_pushed(char *buf, size_t cap, const sql_plan *p);

/* ------------------------------------------------------------ kernels (eval.c) */

/* Evaluate e over the rows of b into out (which may borrow b's vectors). 0 or -1. */
int sql_eval(sql_exec *x, const sql_expr *e, const sql_batch *b, sql_vec *out);
/* After binding E_IN node e: when its operand has a type and every value is a constant of one
 * comparison domain (the usual IN list), fill e->inset, the hash set sql_eval then probes once
 * per row instead of comparing with each value; else mark it unused. Idempotent. */
void sql_inset_fill(sql_expr *e);
/* Evaluate e and convert to boolean 0/1 (numbers: non-zero). */
int sql_eval_bool(sql_exec *x, const sql_expr *e, const sql_batch *b, sql_vec *out);
/* Cast vector a to type t (into out); pos is where errors point. */
int sql_cast_vec(sql_exec *x, int pos, const sql_vec *a, sql_typeinfo t, sql_vec *out);
/* Keep the rows of b where pred is true (pred NULL: all). 0 or -1. */
int sql_filter_batch(sql_exec *x, const sql_expr *pred, sql_batch *b);
void sql_batch_free(sql_batch *b);
/* out (BOOLEAN) = a op b (OP_EQ .. OP_GE) in the operands' common domain. 0 or -1. */
int sql_compare(sql_exec *x, int op, const sql_vec *a, const sql_vec *b, sql_vec *out);
/* bind.c: check that a and b can be compared (folding string literals into dates and
 * timestamps); errors point at e. 0 or -1. */
int sql_bind_compare(sql_exec *x, sql_expr *e, sql_expr *a, sql_expr *b);

/* ---------------------------------------------------- scalar functions (func.c, func_date.c) */

/* Bind a call of a scalar function whose arguments are bound: sets e->index to the function's
 * id and e->ty. 1 when the name is not one of func.c's (bind.c has the others), 0, or -1. */
int sql_func_bind(sql_exec *x, sql_expr *e);
/* Evaluate a call bound by sql_func_bind (e->index > 0). 0 or -1. */
int sql_func_eval(sql_exec *x, const sql_expr *e, const sql_batch *b, sql_vec *out);
/* CASE: bind (the WHENs must be booleans; the result is the THENs' and ELSE's common type) and
 * evaluate (each THEN only over the rows its WHEN selects). 0 or -1. */
int sql_bind_case(sql_exec *x, sql_plan *p, sql_expr *e, int agg_ok);
int sql_eval_case(sql_exec *x, const sql_expr *e, const sql_batch *b, sql_vec *out);
/* s ILIKE pattern: LIKE with ASCII and Latin-1 letters compared case-insensitively. */
int sql_ilike_match(const char *s, int64_t sn, const char *p, int64_t pn, const char *esc,
                    int elen);
/* Whether pattern p ends in an unpaired escape character esc (LIKE ... ESCAPE, an error). */
int sql_like_escape_dangles(const char *p, int64_t pn, const char *esc, int elen);
/* Whether s[0..n) is one UTF-8 character (what ESCAPE takes). */
int sql_like_one_char(const char *s, int64_t n);
/* The error for a name that is not found: "unknown column 'nmae'; did you mean 'name'?" (the
 * closest of the candidates by edit distance, when close enough). Returns -1. */
int sql_unknown_column(sql_exec *x, int pos, const char *name, const sql_colinfo *cols, int ncols);
/* The column list of INSERT or COPY (st->names) over the table's columns: map[c] = the position
 * in the list of column c, -1 when left out (no list: every column, in order). 0, or -1 after
 * an error naming an unknown column or one listed twice (insert.c). */
int sql_column_list(sql_exec *x, const sql_stmt *st, const sql_colinfo *cols, int ncols, int *map);
/* The same for a column a statement names in table `table` (INSERT's column list, UPDATE SET,
 * ON CONFLICT): "table t has no column amout; did you mean 'amount'?". */
int sql_no_column(sql_exec *x, int pos, const char *table, const char *name,
                  const sql_colinfo *cols, int ncols);
/* "no such table: ordrs; did you mean 'orders'?" (ES_NOT_FOUND; the closest of the tables the
 * session sees, when one is close enough). Returns -1. */
int sql_no_table(sql_exec *x, int pos, const char *table);
/* The error for a function that does not exist or does not take these arguments. -1. */
int sql_unknown_function(sql_exec *x, const sql_expr *e);
/* Render CASE for column names and EXPLAIN. */
void sql_fmt_case(char *buf, size_t cap, const sql_expr *e);
/* func_date.c: the date and time functions (ids and their binding and kernels). */
int sql_func_date_bind(sql_exec *x, sql_expr *e);
/* Date arithmetic (func_date.c): the type of e, a + or - (or any operator with an INTERVAL
 * operand) whose operands are bound but for an INTERVAL: DATE +- integer days is a DATE,
 * DATE - DATE the BIGINT days between them, DATE or TIMESTAMP +- INTERVAL (INTERVAL + either
 * too) a TIMESTAMP. Returns 1 when e is one of these, 0 when it is none (ordinary arithmetic),
 * -1 with the error set (an INTERVAL anywhere else). */
int sql_date_arith_bind(sql_exec *x, sql_expr *e);
/* Evaluate such an e over the operands' vectors (the INTERVAL's unused) into out. */
int sql_date_arith_eval(sql_exec *x, const sql_expr *e, const sql_vec *a, const sql_vec *b,
                        sql_vec *out);
/* "1 year 2 months 3 days 04:05:06.5" (PostgreSQL's style) of an interval. */
void sql_format_interval(char *buf, size_t cap, int64_t months, int64_t us);
int sql_func_date_eval(sql_exec *x, const sql_expr *e, const sql_vec *args, int nargs, int64_t n,
                       sql_vec *out);
/* Microseconds since 1970 <-> civil date. */
void sql_civil_from_days(int64_t days, int64_t *y, int *m, int *d);
int64_t sql_days_from_civil(int64_t y, int m, int d);

/* -------------------------------------------------------- aggregation (agg.c) */

typedef struct sql_agg_state {
    int64_t *cnt;
    sql_i128 *isum; /* sums of integers and decimals (unscaled) */
    double *dsum;
    sql_vec best; /* min/max (int/dbl phys) */
    char **sbest; /* min/max strings */
    int64_t *slen;
    struct sql_groups *seen; /* DISTINCT: the (group, value) pairs met so far */
} sql_agg_state;

/* A hash table of groups with each group's aggregate states. */
typedef struct sql_groups {
    int nkeys;
    sql_vec *keys; /* one vector per key, one row per group */
    int64_t ngroups;
    int64_t *slots; /* -1 empty; else group id (low 32 bits) and hash bits (agg.c) */
    uint64_t *hashes;
    int64_t hashes_cap;
    int64_t nslots;
    sql_agg_state *st;
    int nst;
    int64_t cap; /* capacity of per-group state arrays */
    /* One integer key over a narrow range (agg.c, assign_direct): the group of value
     * dlo + i is dmap[i] - 1 (0: none yet), no hash probe; slots stay unused until the
     * values spread wider (dmode 2, then the groups are hashed into slots). */
    int32_t *dmap;
    int64_t dlo, dn;
    int64_t dnull; /* the group of the NULL key plus 1, 0 when none yet */
    int dmode;     /* 0 undecided, 1 direct map, 2 hash table */
    /* GROUP BY one dictionary-encoded column (vec_arrow.c, sql_dict_assign): the group of code
     * c of gdict is gmap[c] (-1: none yet); a reference to gdict is held. */
    struct sql_dict *gdict;
    int64_t *gmap;
} sql_groups;

/* An empty table for the plan's group keys and aggregates. 0 or -1 (out of memory; free with
 * sql_groups_free). */
int sql_groups_init(sql_groups *g, const sql_plan *p);
/* Evaluate the group keys and aggregate arguments over b and feed them in. 0 or -1. */
int sql_groups_add(sql_exec *x, sql_groups *g, const sql_plan *p, const sql_batch *b);
/* Map rows of keys to group ids (creating groups). 0 or -1 (out of memory). */
int sql_groups_assign(sql_groups *g, const sql_plan *p, const sql_vec *keys, int64_t n,
                      int64_t *gids);
/* Feed values v of aggregate a for rows with group ids gids. 0 or -1. */
int sql_groups_update(sql_groups *g, const sql_plan *p, int a, const sql_vec *v,
                      const int64_t *gids, int64_t n);
/* Add the groups and states of `from` (another table of the same plan, without DISTINCT
 * aggregates) into g; `from` keeps its groups but gives up its min/max strings. 0 or -1 (out
 * of memory). */
int sql_groups_merge(sql_groups *g, const sql_plan *p, sql_groups *from);
/* The aggregated batch: group keys then aggregate results, one row per group. 0 or -1 with the
 * error in x (out of memory, a sum outside its result type). */
int sql_groups_finish(sql_exec *x, sql_groups *g, const sql_plan *p, sql_batch *out);
void sql_groups_free(sql_groups *g);

/* ------------------------------------ vectors over scan batches as stored (vec_arrow.c) */

/* A dictionary of strings (the values of a
 * part's dictionary-encoded column, then a NULL) shared by the vectors of its codes. */
typedef struct sql_dict sql_dict;
void sql_dict_unref(sql_dict *d);
/* Point v at fixed-width column av (BIGINT, DOUBLE, TIMESTAMP in microseconds; aligned) instead
 * of copying it: 1 done (the caller keeps the batch alive while v lives), 0 when the layout
 * must change (then nothing is allocated), -1 out of memory. */
int sql_vec_borrow(sql_vec *v, const es_array_view *av, sql_typeinfo ti);
/* Load the dictionary-encoded column col (int32 indices, col->dictionary holding utf8 values
 * that `field` describes) at struct offset off, len rows (only the k rows mask keeps, when
 * mask is set) into v as codes. *cache (nullable): the column's last dictionary, reused when
 * its strings are the same and replaced otherwise (so a dictionary is loaded once per part).
 * ES_OK, ES_NOMEM, ES_CORRUPT (an index outside the dictionary, a bad dictionary) with err. */
es_status sql_dict_load(sql_vec *v, sql_typeinfo ti, const struct ArrowSchema *field,
                        const struct ArrowArray *col, int64_t off, int64_t len, const uint8_t *mask,
                        int64_t k, sql_dict **cache, es_error *err);
/* The rows of dictionary-coded src (sel[0..n) or all) appended to dst: as codes when dst is
 * empty or of the same dictionary, else as strings. 0 or -1. */
int sql_dict_append(sql_vec *dst, const sql_vec *src, const int64_t *sel, int64_t nsel);
/* sql_eval of e over b when e reads one dictionary-coded column of b and nothing that can
 * fail per value (the column itself, comparisons, IN, LIKE, BETWEEN, IS NULL, NOT, AND, OR with
 * constants): e evaluated once per dictionary entry, then looked up by code. 1 when done, 0
 * when e is not such an expression, -1 on error. */
int sql_dict_eval(sql_exec *x, const sql_expr *e, const sql_batch *b, sql_vec *out);
/* Groups of the n rows of the dictionary-coded key v into gids (GROUP BY one column): each
 * code is mapped to its group once per dictionary (g->gmap). 0 or -1 (out of memory). */
int sql_dict_assign(sql_groups *g, const sql_plan *p, const sql_vec *v, int64_t n, int64_t *gids);

/* --------------------------------------------------------------- sort (sort.c) */

/* ORDER BY, OFFSET and LIMIT applied to a materialised result; drops the hidden ORDER BY
 * columns. 0 or -1. */
int sql_sort_limit(sql_exec *x, const sql_plan *p, sql_result *res);
/* Sort res and keep its first `keep` rows (all columns): a running top-k for ORDER BY with
 * LIMIT. *sorted: rows at the start of res that an earlier call left (sorted, `keep` of them
 * or fewer; 0 at first); rows after them that sort after the last of them are dropped without
 * sorting. Sets *sorted for the next call. 0 or -1. */
int sql_sort_keep(sql_exec *x, const sql_plan *p, sql_result *res, int64_t keep, int64_t *sorted);

/* --------------------------------------------------------------- statements */

/* select.c: a cursor over the rows of a SELECT. Opening binds the statement and starts the
 * table's scan; rows are computed as they are read: a SELECT without aggregates and ORDER BY
 * one scan batch at a time (LIMIT stops the scan), the others all at the first read. */
typedef struct sql_cursor sql_cursor;
/* null_as_int64: a column of type NULL is an Arrow int64 column of NULLs (for files that are
 * read back into tables) rather than an Arrow null column. 0 or -1; *out is NULL on failure. */
int sql_cursor_open(sql_exec *x, sql_select *sel, int null_as_int64, sql_cursor **out);
/* The result's schema (a struct schema with the column names and Arrow types; borrowed). */
const struct ArrowSchema *sql_cursor_schema(const sql_cursor *c);
/* The next record batch of up to SQL_BATCH_ROWS rows into *out (out->release NULL at the end).
 * 0 or -1. */
int sql_cursor_next(sql_cursor *c, struct ArrowArray *out);
/* EXPLAIN: make the cursor's result the plan (one text column "plan"): its stages and what
 * pruning leaves to fetch (es_scan_plan: parts, batches, requests and bytes), without reading
 * table data. analyze (EXPLAIN ANALYZE): first run the query to its end, and add the actual
 * counts and the time of each stage. 0 or -1. */
int sql_cursor_explain(sql_cursor *c, int analyze);
/* A cursor over rows computed already (DESCRIBE, SHOW TABLES): takes *res (emptied). notnull
 * (nullable): per column, 1 when it holds no NULL. 0 or -1. */
int sql_cursor_open_rows(sql_exec *x, sql_result *res, const uint8_t *notnull, sql_cursor **out);
/* Make the cursor independent of the caller's text and arena before it outlives the call: it
 * takes *arena (which holds its statement; *arena is emptied) and copies the text of bytes
 * [start, end) for the positions of its errors. 0 or -1. */
int sql_cursor_keep(sql_cursor *c, sql_arena *arena, int start, int end);
/* The cursor as an ArrowArrayStream (which owns it: releasing the stream closes it). */
void sql_cursor_stream(sql_cursor *c, struct ArrowArrayStream *out);
/* Detach a cursor from its closing session: later reads fail. */
void sql_cursor_orphan(sql_cursor *c);
void sql_cursor_close(sql_cursor *c);
/* ddl.c */
int sql_exec_create(sql_exec *x, sql_stmt *st, int64_t *affected);
/* BEGIN, COMMIT, ROLLBACK (txn.c). */
int sql_exec_txn(sql_exec *x, sql_stmt *st);
int sql_exec_drop(sql_exec *x, sql_stmt *st);
/* FLUSH [TABLE] [t]: the rows inlined in the log written into parts; *changes: rows flushed. */
int sql_exec_flush(sql_exec *x, sql_stmt *st, int64_t *changes);
/* SYNC: wait until the session's asynchronous inserts are durable (es_store_sync); fails with
 * the first of them that failed. */
int sql_exec_sync(sql_exec *x, sql_stmt *st);
/* ALTER TABLE (alter.c). */
int sql_exec_alter(sql_exec *x, sql_stmt *st);
/* Append DEFAULT constant e of column c (converted as an INSERT value is) to builder b of Arrow
 * type format (alter.c; ADD COLUMN and CREATE TABLE). 0, or -1 with the session's error. */
int sql_default_append(sql_exec *x, sql_expr *e, const sql_coldef *c, es_builder *b,
                       const char *format);
/* Constant e (an INSERT value, a DEFAULT) evaluated and converted to type ty of column col
 * (insert.c): *out holds one value; -1 with the session's error set. */
int sql_const_value(sql_exec *x, sql_expr *e, const char *col, const sql_typeinfo *ty,
                    sql_vec *out);
/* CREATE INDEX, DROP INDEX (ddl.c). */
int sql_exec_index(sql_exec *x, sql_stmt *st);
int sql_exec_describe(sql_exec *x, sql_stmt *st, sql_cursor **out);
int sql_exec_show_tables(sql_exec *x, sql_stmt *st, sql_cursor **out);
/* Make a table from the cursor's schema (names, types, nullability) and insert its rows. */
int sql_create_from(sql_exec *x, sql_stmt *st, sql_cursor *c);
/* insert.c */
int sql_exec_insert(sql_exec *x, sql_stmt *st, int64_t *affected);
/* INSERT INTO st->table [(st->names)] the rows of cursor c, streamed into one atomic insert.
 * 0 or -1. */
int sql_insert_cursor(sql_exec *x, sql_stmt *st, sql_cursor *c, int64_t *affected);
/* insert.c builds an S_UPSERT's rows and hands them to sql_exec_upsert */
/* Convert v in place to column type ty with the rules of INSERT (those of CAST, plus a type
 * check naming column col; errors point at pos). 0 or -1. */
int sql_coerce(sql_exec *x, int pos, const char *col, const sql_typeinfo *ty, sql_vec *v);
/* dml.c: DELETE, UPDATE, TRUNCATE; the upsert of the rows insert.c built for an S_UPSERT
 * (batch: a struct array of info->schema, consumed). Each sets *affected. 0 or -1. */
int sql_exec_delete(sql_exec *x, sql_stmt *st, int64_t *affected);
int sql_exec_update(sql_exec *x, sql_stmt *st, int64_t *affected);
int sql_exec_truncate(sql_exec *x, sql_stmt *st, int64_t *affected);
/* maint.c: OPTIMIZE (changes: rows rewritten) and VACUUM (changes: objects deleted). */
int sql_exec_optimize(sql_exec *x, sql_stmt *st, int64_t *changes);
int sql_exec_vacuum(sql_exec *x, sql_stmt *st, int64_t *changes);
int sql_exec_upsert(sql_exec *x, sql_stmt *st, const es_table_info *info, const sql_colinfo *cols,
                    int ncols, struct ArrowArray *batch, int64_t *affected);
/* copy.c */
int sql_exec_copy_from(sql_exec *x, sql_stmt *st, int64_t *affected);
int sql_exec_copy_to(sql_exec *x, sql_stmt *st, int64_t *affected);

/* ------------------------------------------------------------------ csv.c */

/* Open a stream over a CSV file for a table with `schema` (a struct schema): columns in file
 * order = schema order, parsed on `threads` threads (the consumer's counts) in file order.
 * *rows (which must outlive the stream) counts the rows read. progress
 * (nullable) is called after each batch and at the end (see es_sql_progress_callback).
 * Returns ES_OK, or ES_IO, ES_NOMEM, ES_UNSUPPORTED, ES_INVALID (a bad header line) with err. */
es_status sql_csv_stream_open(struct ArrowArrayStream *out, const char *path,
                              const struct ArrowSchema *schema, int header, char delim, int threads,
                              es_sql_progress_callback progress, void *progress_arg, int64_t *rows,
                              char *err, size_t errcap);
/* One batch as CSV rows (the header first when asked); exact: doubles with every digit needed
 * to read them back unchanged (COPY TO), else as displayed. ES_OK, ES_INVALID or ES_IO. */
es_status sql_csv_write_batch(FILE *f, const struct ArrowSchema *schema,
                              const struct ArrowArray *batch, char delim, int header, int exact);

#endif /* ES_SQL_EXEC_H */
