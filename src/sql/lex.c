/*
 * lex: the tokenizer of the SQL layer (see sql/sql.h for the files). Text in, one token at a
 * time out, with its byte position for error carets: identifiers (quoted "like ""this"" " or
 * not), string literals ('it''s'), integers and decimals with exponents, and punctuation.
 * Whitespace, -- line comments and block comments are skipped (a block comment left open is
 * an error). Unquoted identifiers may hold UTF-8 letters (any byte >= 0x80). Also the
 * statement-completeness test of the interactive prompt and the byte offset -> line and column
 * conversion of error messages. Depends only on libc: the parser (parse.c) is its only caller
 * besides the prompt.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "sql/sql.h"

/* sql_skip_space; *open (nullable): the position of a block comment that the text ends in
 * before its end, or -1. */
static int skip_space(const char *s, int n, int i, int *open)
{
    if (open)
        *open = -1;
    for (;;) {
        while (i < n && isspace((unsigned char)s[i]))
            i++;
        if (i + 1 < n && s[i] == '-' && s[i + 1] == '-') {
            while (i < n && s[i] != '\n')
                i++;
            continue;
        }
        if (i + 1 < n && s[i] == '/' && s[i + 1] == '*') {
            int start = i;
            i += 2;
            while (i + 1 < n && !(s[i] == '*' && s[i + 1] == '/'))
                i++;
            if (i + 1 >= n && open)
                *open = start;
            i = i + 2 <= n ? i + 2 : n;
            continue;
        }
        return i;
    }
}

int sql_skip_space(const char *s, int n, int i)
{
    return skip_space(s, n, i, NULL);
}

/* Identifiers: ASCII letters, digits, '_' and '$', and any non-ASCII byte (UTF-8 letters, as
 * SQLite and DuckDB take them: CREATE TABLE café (prix INT)). */
static int ident_char(unsigned char c, int first)
{
    return isalpha(c) || c == '_' || c >= 0x80 || (!first && (isdigit(c) || c == '$'));
}

int sql_lex(const char *s, int n, int i, sql_token *t, sql_parse_error *err)
{
    int open = -1;
    i = skip_space(s, n, i, &open);
    memset(t, 0, sizeof *t);
    t->pos = i;
    if (open >= 0) {
        err->pos = open;
        snprintf(err->msg, sizeof err->msg, "unterminated /* comment");
        return -1;
    }
    if (i >= n) {
        t->kind = SQL_T_EOF;
        return i;
    }
    unsigned char c = (unsigned char)s[i];
    if (ident_char(c, 1)) {
        int j = i;
        while (j < n && ident_char((unsigned char)s[j], 0))
            j++;
        t->kind = SQL_T_IDENT;
        t->len = j - i;
        return j;
    }
    if (isdigit(c) || (c == '.' && i + 1 < n && isdigit((unsigned char)s[i + 1]))) {
        int j = i, isf = 0;
        while (j < n && isdigit((unsigned char)s[j]))
            j++;
        if (j < n && s[j] == '.') {
            isf = 1;
            j++;
            while (j < n && isdigit((unsigned char)s[j]))
                j++;
        }
        if (j < n && (s[j] == 'e' || s[j] == 'E')) {
            int k = j + 1;
            if (k < n && (s[k] == '+' || s[k] == '-'))
                k++;
            if (k < n && isdigit((unsigned char)s[k])) {
                isf = 1;
                j = k;
                while (j < n && isdigit((unsigned char)s[j]))
                    j++;
            }
        }
        t->kind = isf ? SQL_T_FLOAT : SQL_T_INT;
        t->len = j - i;
        return j;
    }
    if (c == '\'' || c == '"') {
        int j = i + 1;
        for (;;) {
            if (j >= n) {
                err->pos = i;
                snprintf(err->msg, sizeof err->msg, "unterminated %s",
                         c == '\'' ? "string literal" : "quoted identifier");
                return -1;
            }
            if (s[j] == (char)c) {
                if (j + 1 < n && s[j + 1] == (char)c) {
                    j += 2;
                    continue;
                }
                break;
            }
            j++;
        }
        t->kind = c == '\'' ? SQL_T_STRING : SQL_T_QIDENT;
        t->len = j + 1 - i;
        return j + 1;
    }
    static const char *two[] = {"<=", ">=", "<>", "!=", "==", "||", "::"};
    for (size_t k = 0; k < sizeof two / sizeof two[0]; k++) {
        if (i + 1 < n && s[i] == two[k][0] && s[i + 1] == two[k][1]) {
            t->kind = SQL_T_OP;
            memcpy(t->op, two[k], 2);
            t->len = 2;
            return i + 2;
        }
    }
    if (strchr("(),;.*+-/%=<>", c)) {
        t->kind = SQL_T_OP;
        t->op[0] = (char)c;
        t->len = 1;
        return i + 1;
    }
    err->pos = i;
    if (isprint(c))
        snprintf(err->msg, sizeof err->msg, "unexpected character '%c'", c);
    else
        snprintf(err->msg, sizeof err->msg, "unexpected character 0x%02x", c);
    return -1;
}

int sql_is_complete(const char *src, int n)
{
    int i = 0, last_semi = 0;
    while (i < n) {
        int j = sql_skip_space(src, n, i);
        if (j != i) {
            i = j;
            continue;
        }
        char c = src[i];
        if (c == '\'' || c == '"') {
            i++;
            while (i < n && src[i] != c)
                i++;
            if (i >= n)
                return 0;
            i++;
            last_semi = 0;
            continue;
        }
        if (i + 1 < n && c == '/' && src[i + 1] == '*')
            return 0; /* unterminated comment (sql_skip_space handled terminated ones) */
        last_semi = c == ';';
        i++;
    }
    return last_semi;
}

void sql_line_col(const char *src, int pos, int *line, int *col)
{
    int l = 1, c = 1;
    for (int i = 0; i < pos && src[i]; i++) {
        if (src[i] == '\n') {
            l++;
            c = 1;
        } else {
            c++;
        }
    }
    *line = l;
    *col = c;
}
