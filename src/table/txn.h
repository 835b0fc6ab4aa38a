/*
 * txn (internal, table layer): transactions on a store handle. txn.c opens with the state
 * diagram and the numbered invariants; docs/FORMAT.md (section 7a) has the commit protocol and
 * the conflict matrix. The public calls are es_txn_begin, es_txn_commit, es_txn_abort and
 * es_txn_active in expstore.h.
 *
 * While a transaction is open on a handle (es_store.txn), the table layer works on the
 * transaction's view instead of the latest version: es_store_table and es_store_table_write
 * find tables in it, es_store_commit applies a call's actions to it, and scans note what they
 * read (SERIALIZABLE). Nothing reaches the log before es_txn_commit_impl. Sits above log,
 * table (the store handle) and scan, below api.
 */
#ifndef ES_TABLE_TXN_H
#define ES_TABLE_TXN_H

#include "table/table.h"

/** Open a transaction on s (none may be open): refresh the handle's snapshot (one GET when
 * nothing is new) and take it as the transaction's snapshot. */
es_status es_txn_begin_impl(es_store *s, const es_txn_options *opts, es_error *err);
/** Commit the open transaction and close it, whatever the outcome: ES_OK (*version: the
 * committed version, or the snapshot's when the transaction changed nothing), ES_CONFLICT
 * (nothing visible), or a failure of the store (nothing visible unless the message says the
 * outcome is unknown). */
es_status es_txn_commit_impl(es_store *s, int64_t *version, es_error *err);
/** Close the open transaction without committing (its objects stay as garbage). */
void es_txn_free(es_txn *t);

/** The catalog the transaction's calls see: the snapshot at begin plus its own writes. Its
 * version is the snapshot's. Borrowed: valid until the transaction's next write or its end. */
es_snapshot *es_txn_view(es_txn *t);
es_isolation es_txn_isolation(const es_txn *t);

/** Apply the actions of one call to the view, all or nothing (the call's objects are written
 * already). ES_INTERNAL when they do not fit it (they were computed from it). */
es_status es_txn_apply(es_txn *t, es_action *acts, int64_t n, es_error *err);

/*
 * The read set (SERIALIZABLE; the calls do nothing under SNAPSHOT). Notes are only ever added:
 * a note left by a call that then failed makes the commit's check stricter, never wrong.
 */

/** A table was looked up by name (found or not): a concurrent create or drop of that name
 * conflicts. */
es_status es_txn_note_name(es_txn *t, const char *name, es_error *err);
/** The list of tables was read: any concurrent create or drop conflicts. */
void es_txn_note_catalog(es_txn *t);
/** A scan of table `tab` (a table of the view) with bound predicate `pred` (NULL: every row)
 * and, when keys is not NULL, only rows whose primary key (table column key_col) is one of the
 * n_keys sorted keys: notes the predicate (copied; the keys as their range) and the parts that
 * may hold a matching row by their statistics. */
es_status es_txn_note_scan(es_txn *t, const es_tabledef *tab, const es_pred *pred,
                           const es_scalar *keys, int64_t n_keys, int64_t key_col, es_error *err);

/** An upsert wrote rows under these primary keys (sorted, unique; copied): under both levels,
 * a concurrent commit that inserts a row with one of them is a write-write conflict. */
/** es_txn_note_keys for the values vals[0..n) of table column col (a unique index's): the
 * commit looks for them in the column among the rows others added meanwhile. */
es_status es_txn_note_values(es_txn *t, const es_tabledef *tab, int64_t col, const es_scalar *vals,
                             int64_t n, es_error *err);
es_status es_txn_note_keys(es_txn *t, const es_tabledef *tab, const es_scalar *keys, int64_t n,
                           es_error *err);

#endif /* ES_TABLE_TXN_H */
