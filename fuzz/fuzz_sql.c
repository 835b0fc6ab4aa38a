/*
 * fuzz_sql: the SQL lexer and parser (src/sql/lex.c, src/sql/parse.c) on arbitrary text.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sql/sql.h"
#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 16)
        return 0;
    char *src = es_malloc(size + 1);
    if (!src)
        return 0;
    memcpy(src, data, size);
    src[size] = 0;
    int n = (int)strlen(src); /* the shell passes NUL-terminated text */
    sql_arena arena = {0};
    int pos = 0, guard = 0;
    (void)sql_is_complete(src, n);
    while (pos < n && guard++ < 10000) {
        sql_stmt *st = NULL;
        sql_parse_error err;
        int before = pos;
        int rc = sql_parse_one(&arena, src, n, &pos, &st, &err);
        if (rc == 1)
            break;
        if (rc < 0) {
            int line, col;
            sql_line_col(src, err.pos, &line, &col);
        }
        if (pos <= before)
            break;
        sql_arena_reset(&arena);
    }
    sql_arena_reset(&arena);
    es_free(src);
    return 0;
}
