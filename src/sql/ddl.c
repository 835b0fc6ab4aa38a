/*
 * ddl: CREATE TABLE and DROP TABLE (see sql/sql.h for the files, sql/exec.h for the
 * interfaces). Column types map to Arrow formats (value.c); a PRIMARY KEY column is NOT NULL.
 */
#include <string.h>

#include "sql/exec.h"

int sql_exec_create(sql_exec *x, sql_stmt *st)
{
    struct ArrowSchema schema;
    es_error e;
    if (es_schema_init_struct(&schema, st->ncols, &e) != ES_OK)
        return sql_fail(x, e.code, -1, "%s", e.msg);
    if (st->primary_key) {
        int found = 0;
        for (int i = 0; i < st->ncols; i++)
            if (strcmp(st->cols[i].name, st->primary_key) == 0) {
                found = 1;
                st->cols[i].not_null = 1;
            }
        if (!found) {
            es_schema_release(&schema);
            return sql_err(x, st->pos, "primary key column %s is not in table %s", st->primary_key,
                           st->table);
        }
    }
    for (int i = 0; i < st->ncols; i++) {
        char fmt[32];
        sql_type_to_arrow(fmt, sizeof fmt, &st->cols[i].ty);
        if (es_schema_init(schema.children[i], fmt, st->cols[i].name,
                           st->cols[i].not_null ? 0 : ARROW_FLAG_NULLABLE, &e) != ES_OK) {
            es_schema_release(&schema);
            return sql_fail(x, e.code, -1, "%s", e.msg);
        }
    }
    es_status s = es_table_create(x->s->store, st->table, &schema, st->primary_key, st->if_exists);
    es_schema_release(&schema);
    if (s != ES_OK) {
        if (s == ES_EXISTS)
            return sql_fail(x, ES_EXISTS, st->pos, "table %s already exists", st->table);
        return sql_store_err(x, st->pos);
    }
    return 0;
}

int sql_exec_drop(sql_exec *x, sql_stmt *st)
{
    es_status s = es_table_drop(x->s->store, st->table, st->if_exists);
    if (s == ES_NOT_FOUND)
        return sql_fail(x, ES_NOT_FOUND, st->pos, "no such table: %s", st->table);
    if (s != ES_OK)
        return sql_store_err(x, st->pos);
    return 0;
}
