/*
 * parse_ddl: the parser of the definition statements (see parse.c and sql/parse.h, whose
 * primitives it uses): CREATE TABLE [AS SELECT], CREATE [UNIQUE] INDEX, DROP TABLE, DROP INDEX
 * and ALTER TABLE, and the type names they and CAST take. ddl.c and alter.c run what it parses.
 */
#include <stdio.h>
#include <string.h>

#include "sql/parse.h"
#include "sql/sql.h"

/* A type name: INT, VARCHAR(n), DECIMAL(p, s), TIMESTAMP WITH TIME ZONE, ... */
void parse_type(parser *p, sql_typeinfo *ti)
{
    memset(ti, 0, sizeof *ti);
    int pos = p->tok.pos;
    if (p->tok.kind != SQL_T_IDENT)
        fail(p, pos, "syntax error: expected a type name");
    if (accept_kw(p, "boolean") || accept_kw(p, "bool"))
        ti->t = SQL_BOOL;
    else if (accept_kw(p, "smallint") || accept_kw(p, "int2"))
        ti->t = SQL_SMALLINT;
    else if (accept_kw(p, "integer") || accept_kw(p, "int") || accept_kw(p, "int4"))
        ti->t = SQL_INT;
    else if (accept_kw(p, "bigint") || accept_kw(p, "int8"))
        ti->t = SQL_BIGINT;
    else if (accept_kw(p, "real") || accept_kw(p, "float4"))
        ti->t = SQL_REAL;
    else if (accept_kw(p, "double")) {
        accept_kw(p, "precision");
        ti->t = SQL_DOUBLE;
    } else if (accept_kw(p, "float8") || accept_kw(p, "float"))
        ti->t = SQL_DOUBLE;
    else if (accept_kw(p, "decimal") || accept_kw(p, "numeric")) {
        ti->t = SQL_DECIMAL;
        ti->precision = 18;
        ti->scale = 3;
        if (accept_op(p, "(")) {
            int ppos = p->tok.pos;
            int64_t prec = int_lit(p), sc = 0;
            if (accept_op(p, ","))
                sc = int_lit(p);
            expect_op(p, ")");
            if (prec < 1 || prec > 38 || sc < 0 || sc > prec)
                fail(p, ppos, "invalid DECIMAL(%lld,%lld)", (long long)prec, (long long)sc);
            if (prec > 18)
                fail(p, ppos, "DECIMAL precision above 18 is not supported");
            ti->precision = (int)prec;
            ti->scale = (int)sc;
        }
    } else if (accept_kw(p, "varchar") || accept_kw(p, "text") || accept_kw(p, "string") ||
               accept_kw(p, "char")) {
        ti->t = SQL_VARCHAR;
        if (accept_op(p, "(")) {
            int_lit(p);
            expect_op(p, ")");
        }
    } else if (accept_kw(p, "blob") || accept_kw(p, "bytea") || accept_kw(p, "varbinary"))
        ti->t = SQL_BLOB;
    else if (accept_kw(p, "date"))
        ti->t = SQL_DATE;
    else if (accept_kw(p, "timestamptz"))
        ti->t = SQL_TIMESTAMPTZ;
    else if (accept_kw(p, "timestamp")) {
        ti->t = SQL_TIMESTAMP;
        if (accept_kw(p, "with")) {
            expect_kw(p, "time");
            expect_kw(p, "zone");
            ti->t = SQL_TIMESTAMPTZ;
        } else if (accept_kw(p, "without")) {
            expect_kw(p, "time");
            expect_kw(p, "zone");
        }
    } else {
        static const char *const types[] = {"BOOLEAN", "SMALLINT",  "INTEGER",    "BIGINT",
                                            "REAL",    "DOUBLE",    "FLOAT",      "DECIMAL",
                                            "NUMERIC", "VARCHAR",   "TEXT",       "BLOB",
                                            "DATE",    "TIMESTAMP", "TIMESTAMPTZ"};
        char word[64];
        snprintf(word, sizeof word, "%.*s", p->tok.len < 63 ? p->tok.len : 63, p->src + p->tok.pos);
        const char *best = sql_closest(word, types, (int)(sizeof types / sizeof *types));
        if (best)
            fail(p, pos, "unknown type '%.*s'; did you mean %s?", p->tok.len, p->src + p->tok.pos,
                 best);
        fail(p, pos, "unknown type '%.*s'", p->tok.len, p->src + p->tok.pos);
    }
}

/* CREATE [UNIQUE] INDEX [IF NOT EXISTS] name ON table (column), after CREATE. Without IF NOT
 * EXISTS the name may be left out (st->index NULL: ddl.c names it, as PostgreSQL does). */
static void create_index_stmt(parser *p, sql_stmt *st)
{
    st->kind = S_CREATE_INDEX;
    st->unique = accept_kw(p, "unique");
    expect_kw(p, "index");
    if (accept_kw(p, "if")) {
        expect_kw(p, "not");
        expect_kw(p, "exists");
        st->if_exists = 1;
    }
    if (st->if_exists || !is_kw(p, "on"))
        st->index = ident(p, "an index name");
    expect_kw(p, "on");
    st->table_pos = p->tok.pos;
    st->table = ident(p, "a table name");
    expect_op(p, "(");
    st->index_col = ident(p, "a column name");
    expect_op(p, ")");
}

void create_stmt(parser *p, sql_stmt *st)
{
    if (is_kw(p, "unique") || is_kw(p, "index")) {
        create_index_stmt(p, st);
        return;
    }
    expect_kw(p, "table");
    st->kind = S_CREATE;
    if (accept_kw(p, "if")) {
        expect_kw(p, "not");
        expect_kw(p, "exists");
        st->if_exists = 1;
    }
    st->table_pos = p->tok.pos;
    st->table = ident(p, "a table name");
    if (is_kw(p, "primary") || is_kw(p, "as")) {
        /* CREATE TABLE t [PRIMARY KEY (column)] AS SELECT ... */
        if (accept_kw(p, "primary")) {
            expect_kw(p, "key");
            expect_op(p, "(");
            st->primary_key = ident(p, "a column name");
            expect_op(p, ")");
        }
        expect_kw(p, "as");
        int paren = accept_op(p, "(");
        st->select = select_stmt(p);
        if (paren)
            expect_op(p, ")");
        return;
    }
    expect_op(p, "(");
    sql_coldef tmp[1024];
    int n = 0;
    do {
        if (is_kw(p, "primary")) {
            int pos = p->tok.pos;
            next(p);
            expect_kw(p, "key");
            expect_op(p, "(");
            char *k = ident(p, "a column name");
            if (accept_op(p, ","))
                fail(p, pos, "composite primary keys are not supported");
            expect_op(p, ")");
            if (st->primary_key)
                fail(p, pos, "multiple primary keys");
            st->primary_key = k;
            continue;
        }
        if (n == 1024)
            fail(p, p->tok.pos, "too many columns (limit 1024)");
        sql_coldef *c = &tmp[n++];
        memset(c, 0, sizeof *c);
        int pos = p->tok.pos;
        c->name = ident(p, "a column name");
        for (int i = 0; i < n - 1; i++)
            if (strcmp(tmp[i].name, c->name) == 0)
                fail(p, pos, "duplicate column name %s", c->name);
        parse_type(p, &c->ty);
        for (;;) {
            int cpos = p->tok.pos;
            if (accept_kw(p, "not")) {
                expect_kw(p, "null");
                c->not_null = 1;
            } else if (accept_kw(p, "null")) {
                c->not_null = 0;
            } else if (accept_kw(p, "default")) {
                c->def = expr(p);
            } else if (accept_kw(p, "primary")) {
                expect_kw(p, "key");
                if (st->primary_key)
                    fail(p, cpos, "multiple primary keys");
                st->primary_key = c->name;
                c->primary = 1;
            } else {
                break;
            }
        }
    } while (accept_op(p, ","));
    expect_op(p, ")");
    if (n == 0)
        fail(p, st->pos, "a table needs at least one column");
    st->cols = alloc(p, sizeof *st->cols * (size_t)n);
    memcpy(st->cols, tmp, sizeof *st->cols * (size_t)n);
    st->ncols = n;
}

/* ALTER TABLE t ADD [COLUMN] c type [DEFAULT constant] [[NOT] NULL] | DROP [COLUMN] c |
 * RENAME [COLUMN] a TO b | RENAME TO u | ALTER [COLUMN] c [SET DATA] TYPE type |
 * ALTER [COLUMN] c SET NOT NULL | ALTER [COLUMN] c DROP NOT NULL */
void alter_stmt(parser *p, sql_stmt *st)
{
    expect_kw(p, "table");
    st->kind = S_ALTER;
    st->table_pos = p->tok.pos;
    st->table = ident(p, "a table name");
    if (accept_kw(p, "add")) {
        accept_kw(p, "column");
        st->alter = ES_ALTER_ADD_COLUMN;
        st->cols = alloc(p, sizeof *st->cols);
        st->ncols = 1;
        sql_coldef *c = st->cols;
        c->name = ident(p, "a column name");
        parse_type(p, &c->ty);
        for (;;) {
            if (accept_kw(p, "not")) {
                expect_kw(p, "null");
                c->not_null = 1;
            } else if (accept_kw(p, "null")) {
                c->not_null = 0;
            } else if (accept_kw(p, "default")) {
                st->where = expr(p);
            } else {
                break;
            }
        }
    } else if (accept_kw(p, "drop")) {
        accept_kw(p, "column");
        st->alter = ES_ALTER_DROP_COLUMN;
        st->column = ident(p, "a column name");
    } else if (accept_kw(p, "rename")) {
        if (accept_kw(p, "to")) {
            st->alter = ES_ALTER_RENAME_TABLE;
            st->new_name = ident(p, "a table name");
            return;
        }
        accept_kw(p, "column");
        st->alter = ES_ALTER_RENAME_COLUMN;
        st->column = ident(p, "a column name");
        expect_kw(p, "to");
        st->new_name = ident(p, "a column name");
    } else if (accept_kw(p, "alter")) {
        accept_kw(p, "column");
        st->column = ident(p, "a column name");
        if (accept_kw(p, "set")) {
            if (accept_kw(p, "not")) {
                expect_kw(p, "null");
                st->alter = ES_ALTER_SET_NOT_NULL;
                return;
            }
            expect_kw(p, "data");
        } else if (accept_kw(p, "drop")) {
            expect_kw(p, "not");
            expect_kw(p, "null");
            st->alter = ES_ALTER_DROP_NOT_NULL;
            return;
        }
        expect_kw(p, "type");
        st->alter = ES_ALTER_SET_TYPE;
        st->cols = alloc(p, sizeof *st->cols);
        st->ncols = 1;
        parse_type(p, &st->cols[0].ty);
    } else {
        char d[64];
        tok_desc(p, d, sizeof d);
        fail(p, p->tok.pos, "syntax error at %s: expected ADD, DROP, RENAME or ALTER", d);
    }
}

/* DROP TABLE [IF EXISTS] t | DROP INDEX [IF EXISTS] i, after DROP. */
void drop_stmt(parser *p, sql_stmt *st)
{
    int index = accept_kw(p, "index");
    if (!index)
        expect_kw(p, "table");
    st->kind = index ? S_DROP_INDEX : S_DROP;
    if (accept_kw(p, "if")) {
        expect_kw(p, "exists");
        st->if_exists = 1;
    }
    if (index) {
        st->index = ident(p, "an index name");
    } else {
        st->table_pos = p->tok.pos;
        st->table = ident(p, "a table name");
    }
}
