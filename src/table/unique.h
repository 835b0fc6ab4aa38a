/*
 * unique (internal, table layer): enforced unique keys. A table's primary key is unique: the
 * insert pipeline refuses a write whose own rows repeat a key (es_table_write_parts), and
 * es_unique_check looks the written keys up among the live rows, before the commit and again,
 * on rebase, in the parts other writers added since (unique.c opens with the protocol). Sits
 * above scan and table, below mutate, txn and api.
 */
#ifndef ES_TABLE_UNIQUE_H
#define ES_TABLE_UNIQUE_H

#include "table/table.h"

/** The sorted, distinct keys a write adds, in compact form: 8 bytes per key for the integer,
 * unsigned and floating domains (a 10M-row load holds 80 MB, not an es_scalar each), offsets
 * into one arena for bytes and decimals. */
typedef struct es_keyset {
    es_domain dom;
    int64_t n, cap;
    uint64_t *v;   /* the value's 8 bytes, or the offset of its bytes in arena */
    uint32_t *len; /* bytes/decimal domains: lengths; else NULL */
    es_buf arena;
    /* The values a write adds to the columns of the table's UNIQUE indexes other than the
     * primary key (es_table_write_parts_keys fills them): ix[i] holds those of the column
     * whose id is ix_col[i]. */
    struct es_keyset *ix;
    int64_t *ix_col;
    int64_t n_ix;
} es_keyset;

/** 1 when t has a UNIQUE index on a column other than its primary key. */
int es_unique_has_index(const es_tabledef *t);
/** 1 when t has a unique index (not on the key) whose values ks did not collect: one created
 * after the write read the table (its rebase must then fail with ES_CONFLICT). */
int es_unique_index_added(const es_tabledef *t, const es_keyset *ks);
/** In a transaction: note the keys and unique values of ks (es_txn_note_values), which its
 * commit looks for in what others added meanwhile. */
es_status es_unique_note_txn(es_txn *txn, const es_tabledef *t, const es_keyset *ks, es_error *err);
/** 1 when ks holds some key or some value of a unique index. */
int es_keyset_any(const es_keyset *ks);
/**
 * Collect into ks->ix the values of the written rows (views bv[0..n) of the insert's schema,
 * map: table column -> child of it, or -1) in each column of t's unique indexes other than
 * the key, sorted and distinct; two equal non-null values are ES_EXISTS naming the value, the
 * index and the table (the message starts with `what` and ends with `why`). NULLs and NaN are
 * never equal.
 */
/** Column c, left out by a write of n_rows rows, gets its default in every row: push it to x
 * (nothing when it has no default, or it is NULL or NaN); more than one row is a duplicate. */
es_status es_unique_collect_default(es_keyset *x, const char *what, const char *why,
                                    const es_tabledef *t, int64_t c, int64_t n_rows, es_error *err);
es_status es_unique_collect(es_keyset *ks, const char *what, const char *why, const es_tabledef *t,
                            const es_array_view *bv, int64_t n, const int64_t *map, es_error *err);

void es_keyset_reset(es_keyset *k);
/** Append key v (keys are appended in ascending order). */
es_status es_keyset_push(es_keyset *k, const es_scalar *v);
/** Key i as a scalar (pointers into the keyset). */
void es_keyset_get(const es_keyset *k, int64_t i, es_scalar *out);
/** The keys as an array of scalars (es_free; pointers into the keyset). */
es_status es_keyset_scalars(es_scalar **out, const es_keyset *k, es_error *err);
/** Render a key for an error message ("42", "'abc'"). */
void es_key_format(char *buf, size_t cap, es_domain dom, const es_scalar *v);

/**
 * Fail with ES_EXISTS, naming the key, its column and the table, when a live row of t holds
 * one of the keys of ks in t's primary key column (or one of the values of ks->ix in the
 * column of a unique index: the scan then finds them through the index), except rows that
 * `replaced` lists (per part
 * of t, nullable: an update's own old rows). seen (nullable): only parts of t that are not in
 * seen are searched (a rebase looks at what others added since). Only keys inside some
 * searched part's key range go to the scan, and the scan fetches only the key column of the
 * batches whose key range holds one (one parallel round of ranged GETs per window of batches);
 * an append of new keys above every existing one costs no request. `what` starts the message
 * ("insert into"); concurrent != 0 says the row came from a concurrent commit. The manifests
 * of t whose key range may hold a key are loaded into t first (in place: parts listed after
 * those `replaced` covers).
 */
es_status es_unique_check(es_store *s, const es_tabledef *t, const es_tabledef *seen,
                          const es_keyset *ks, const es_dv *replaced, const char *what,
                          int concurrent, es_error *err);

/** es_table_write_parts that also returns the distinct primary keys written in *keys (NULL: not
 * wanted); with or without it, two rows with one key are ES_EXISTS naming the key (the message
 * starts with `what` and the table). */
es_status es_table_write_parts_keys(es_action **acts, int64_t *n_acts, es_store *s,
                                    const es_tabledef *t, const struct ArrowSchema *schema,
                                    struct ArrowArray *batches, int64_t n, es_keyset *keys,
                                    const char *what, es_error *err);

/** es_table_write_parts_keys for one step of a load written in several (load.c): parts of
 * part_rows rows (the load's, fixed), never inlined in the log. */
es_status es_table_write_parts_sized(es_action **acts, int64_t *n_acts, es_store *s,
                                     const es_tabledef *t, const struct ArrowSchema *schema,
                                     struct ArrowArray *batches, int64_t n, es_keyset *keys,
                                     int64_t part_rows, es_error *err);
/** The end of an insert whose parts are written (acts[0..n_acts), moved in, always freed; ks:
 * the keys and unique values written): look ks up among the live rows, note it in the
 * handle's transaction, commit (rebasing over concurrent commits). *inlined: the insert was
 * inlined in the log (the caller may flush). */
es_status es_table_insert_commit(es_store *s, es_tabledef *t, es_action *acts, int64_t n_acts,
                                 es_keyset *ks, int blind, int *inlined, es_error *err);
#endif /* ES_TABLE_UNIQUE_H */
