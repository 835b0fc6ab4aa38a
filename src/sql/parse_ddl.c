/*
 * parse_ddl: the parser of the definition statements (see parse.c and sql/parse.h, whose
 * primitives it uses): CREATE TABLE [AS SELECT], CREATE [UNIQUE] INDEX, DROP TABLE, DROP INDEX
 * and ALTER TABLE. ddl.c and alter.c run what it parses.
 */
#include <string.h>

#include "sql/parse.h"
#include "sql/sql.h"

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
