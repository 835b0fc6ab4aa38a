/*
 * maint: OPTIMIZE and VACUUM (sql layer), thin statements over es_optimize and es_vacuum
 * (the table layer's compact.c and vacuum.c). Neither runs inside a transaction: each commits
 * on its own (the library refuses with ES_INVALID).
 *
 *   OPTIMIZE [TABLE] [t] compact t (without t: every table, one after the other); the
 *                        statement's count is the rows rewritten
 *   VACUUM               collect what no retained version needs; the count is the objects
 *                        deleted (table objects, expired log entries, temporary files)
 */
#include "sql/exec.h"

int sql_exec_optimize(sql_exec *x, sql_stmt *st, int64_t *changes)
{
    es_optimize_info info;
    if (!st->table) {
        char **names = NULL;
        int64_t n = 0;
        es_status s = es_table_list(x->s->store, &names, &n);
        *changes = 0;
        for (int64_t i = 0; i < n && s == ES_OK; i++) {
            s = es_optimize(x->s->store, names[i], &info);
            *changes += s == ES_OK ? info.rows : 0;
        }
        es_strings_free(names, n);
        return s == ES_OK ? 0 : sql_store_err(x, st->pos);
    }
    es_status s = es_optimize(x->s->store, st->table, &info);
    if (s == ES_NOT_FOUND)
        return sql_no_table(x, st->table_pos, st->table);
    if (s != ES_OK)
        return sql_store_err(x, st->pos);
    *changes = info.rows;
    return 0;
}

int sql_exec_vacuum(sql_exec *x, sql_stmt *st, int64_t *changes)
{
    es_vacuum_info info;
    if (es_vacuum(x->s->store, &info) != ES_OK)
        return sql_store_err(x, st->pos);
    *changes = info.objects_deleted + info.log_deleted + info.temp_deleted;
    return 0;
}
