/*
 * txn: BEGIN, COMMIT and ROLLBACK (SQL layer; parse.c's txn_stmt parses them) on the session's
 * store handle, with es_txn_begin, es_txn_commit and es_txn_abort of expstore.h (the table
 * layer's txn.c does the work). While a transaction is open, every statement of the session,
 * and of any other session on the same handle, runs inside it: SELECT reads the snapshot taken
 * at BEGIN plus the transaction's own changes, INSERT, COPY FROM, CREATE TABLE (AS), DROP TABLE
 * and the DML statements commit nothing until COMMIT, which commits all of them as one version.
 * A statement that fails inside a transaction changes nothing and aborts the transaction, as in
 * PostgreSQL (exec.c, sql_run): every later statement but ROLLBACK is refused, and COMMIT rolls
 * it back; a COMMIT that fails (a conflict) ends the transaction with nothing committed. The
 * library's calls are gentler (a failed call leaves es_txn's transaction open): the SQL session
 * adds the rule.
 */
#include "sql/exec.h"

int sql_exec_txn(sql_exec *x, sql_stmt *st)
{
    es_store *s = x->s->store;
    int open = es_txn_active(s, NULL);
    switch (st->kind) {
    case S_BEGIN: {
        if (open)
            return sql_fail(x, ES_INVALID, st->pos,
                            "a transaction is already open: COMMIT or ROLLBACK it first");
        es_txn_options o = ES_TXN_OPTIONS_INIT;
        o.isolation = st->serializable ? ES_ISOLATION_SERIALIZABLE : ES_ISOLATION_SNAPSHOT;
        return es_txn_begin(s, &o) == ES_OK ? 0 : sql_store_err(x, st->pos);
    }
    case S_COMMIT:
        if (!open)
            return sql_fail(x, ES_INVALID, st->pos, "no transaction is open (BEGIN opens one)");
        if (es_txn_commit(s, NULL) != ES_OK)
            return sql_fail(x, es_store_errcode(s), st->pos,
                            "COMMIT failed, the transaction was rolled back: %s",
                            es_store_errmsg(s));
        return 0;
    default:
        if (!open)
            return sql_fail(x, ES_INVALID, st->pos, "no transaction is open (BEGIN opens one)");
        return es_txn_abort(s) == ES_OK ? 0 : sql_store_err(x, st->pos);
    }
}
