/*
 * alter: table alterations (es_table_alter), the write side of schema evolution (evolve.c is
 * the read side). An alteration is one alter_table action in the commit log holding the
 * table's whole new definition (columns with ids, types, nullability and initial defaults,
 * primary key, next_column_id, name) and what changed; no part is read or rewritten, except
 * that SET NOT NULL scans the column for NULLs. Sits in the table layer above log and scan.
 *
 * Invariants:
 *   1. A column id is never reused: ADD takes next_column_id and raises it; DROP leaves it.
 *      A column dropped and added again under its name is a new column, empty in old parts.
 *   2. Parts keep the types they were written with (es_part_meta.cols); SET TYPE only allows
 *      widenings (es_type_widens), which convert every old value exactly, and re-encodes the
 *      column's default in the new type.
 *   3. The primary key keeps its id, type and nullability (parts are sorted by it); it may be
 *      renamed.
 *   4. Conflicts (log.c, es_log_check_alter; docs/FORMAT.md section 7): ADD COLUMN, RENAME
 *      and DROP NOT NULL commit over concurrent writes to the table and those over them; DROP
 *      COLUMN, SET TYPE and SET NOT NULL conflict with them in both orders; two alterations of
 *      one table conflict.
 *   5. Transactions do not alter tables (ES_UNSUPPORTED): a transaction's parts are written
 *      in the types of its view, and one entry must not hold parts of two definitions.
 */
#include <stdio.h>

#include "table/evolve.h"
#include "table/txn.h"

/* The column of t named `name`, or ES_NOT_FOUND. */
static es_status find_col(int64_t *out, const es_tabledef *t, const char *name, es_error *err)
{
    *out = name ? es_tabledef_col_index(t, name) : -1;
    if (*out < 0)
        return es_error_set(err, name ? ES_NOT_FOUND : ES_INVALID, 0, "table '%s': no column '%s'",
                            t->name, name ? name : "(null)");
    return ES_OK;
}

static es_status not_pk(const es_tabledef *t, int64_t c, const char *what, es_error *err)
{
    if (c == t->pk)
        return es_error_set(err, ES_INVALID, 0,
                            "table '%s': cannot %s column '%s': it is the primary key", t->name,
                            what, t->cols[c].name);
    return ES_OK;
}

es_status es_table_defaults_set(es_tabledef *t, const struct ArrowSchema *schema,
                                const struct ArrowArray *defaults, es_error *err)
{
    es_array_view v;
    es_status st = es_array_view_init(&v, schema, defaults, err);
    if (st) {
        es_error_prefix(err, "table '%s': defaults", t->name);
        return st;
    }
    if (v.length < 1 || v.n_children != t->n_cols) {
        es_array_view_reset(&v);
        return es_error_set(err, ES_INVALID, 0, "table '%s': defaults must be one row", t->name);
    }
    for (int64_t c = 0; c < t->n_cols && !st; c++) {
        if (es_view_is_null(&v.children[c], 0))
            continue;
        st = es_default_encode(&t->cols[c].def, &t->cols[c].def_len, &v.children[c],
                               &t->cols[c].type, err);
        if (st)
            es_error_prefix(err, "table '%s': default of column '%s'", t->name, t->cols[c].name);
    }
    es_array_view_reset(&v);
    return st;
}

static es_status add_column(es_tabledef *nt, const es_alter *op, es_error *err)
{
    es_column col;
    es_status st = es_table_column_new(&col, nt->name, op->field, nt->next_col_id, err);
    if (st)
        return st;
    if (es_tabledef_col_index(nt, col.name) >= 0) {
        st = es_error_set(err, ES_EXISTS, 0, "table '%s': column '%s' already exists", nt->name,
                          col.name);
        goto fail;
    }
    if (op->default_value) {
        es_array_view v;
        st = es_array_view_init(&v, op->field, op->default_value, err);
        if (!st) {
            st = es_default_encode(&col.def, &col.def_len, &v, &col.type, err);
            es_array_view_reset(&v);
        }
        if (st) {
            es_error_prefix(err, "table '%s': default of column '%s'", nt->name, col.name);
            goto fail;
        }
    }
    if (!col.nullable && !col.def) {
        st = es_error_set(err, ES_INVALID, 0,
                          "table '%s': column '%s' cannot be NOT NULL without a default: the "
                          "rows already in the table would have no value",
                          nt->name, col.name);
        goto fail;
    }
    es_column *cols = es_realloc(nt->cols, (size_t)(nt->n_cols + 1) * sizeof(es_column));
    if (!cols) {
        st = es_error_set(err, ES_NOMEM, 0, "out of memory");
        goto fail;
    }
    nt->cols = cols;
    nt->cols[nt->n_cols++] = col;
    nt->next_col_id++;
    return ES_OK;
fail:
    es_column_reset(&col);
    return st;
}

/* SET NOT NULL: ES_INVALID when a live row of column c is NULL (a scan of that column). */
static es_status check_no_nulls(es_store *s, es_tabledef *t, int64_t c, es_error *err)
{
    es_expr *e = es_expr_is_null(t->cols[c].name, 0);
    if (es_expr_failed(e))
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    const char *cols[1] = {t->cols[c].name};
    es_scan_options o = ES_SCAN_OPTIONS_INIT;
    o.columns = cols;
    o.n_columns = 1;
    o.predicate = e;
    es_scan_ext ext;
    memset(&ext, 0, sizeof(ext));
    ext.table = t;
    es_scanner *sc = NULL;
    es_status st = es_scanner_open(&sc, s, t->name, &o, &ext, err);
    struct ArrowArray a = {0};
    if (!st)
        st = es_scanner_next(sc, &a, err);
    if (!st && a.release) {
        a.release(&a);
        st = es_error_set(err, ES_INVALID, 0,
                          "table '%s': column '%s' holds NULL values; SET NOT NULL refused",
                          t->name, t->cols[c].name);
    }
    es_scanner_close(sc);
    es_expr_free(e);
    return st;
}

/* Apply op to nt (a copy of t without parts). *change: what the log records; *nothing: the
 * table would not change. */
static es_status alter_def(es_tabledef *nt, es_store *s, es_tabledef *t, const es_alter *op,
                           es_alter_change *change, int *nothing, es_error *err)
{
    int64_t c = -1;
    es_status st = ES_OK;
    char why[160];
    *nothing = 0;
    if (op->kind != ES_ALTER_ADD_COLUMN && op->kind != ES_ALTER_RENAME_TABLE) {
        st = find_col(&c, nt, op->column, err);
        if (st)
            return st;
    }
    switch (op->kind) {
    case ES_ALTER_ADD_COLUMN:
        *change = ES_CHANGE_ADD_COLUMN;
        return add_column(nt, op, err);
    case ES_ALTER_DROP_COLUMN:
        *change = ES_CHANGE_DROP_COLUMN;
        if ((st = not_pk(nt, c, "drop", err)) != ES_OK)
            return st;
        if (nt->n_cols == 1)
            return es_error_set(err, ES_INVALID, 0,
                                "table '%s': cannot drop column '%s': it is the only column",
                                nt->name, nt->cols[c].name);
        es_column_reset(&nt->cols[c]);
        memmove(&nt->cols[c], &nt->cols[c + 1], (size_t)(nt->n_cols - c - 1) * sizeof(es_column));
        nt->n_cols--;
        if (nt->pk > c)
            nt->pk--;
        return ES_OK;
    case ES_ALTER_RENAME_COLUMN:
    case ES_ALTER_RENAME_TABLE: {
        int tab = op->kind == ES_ALTER_RENAME_TABLE;
        *change = tab ? ES_CHANGE_RENAME_TABLE : ES_CHANGE_RENAME_COLUMN;
        if (!es_table_valid_name(op->new_name))
            return es_error_set(err, ES_INVALID, 0,
                                "table '%s': invalid new name: a name is 1 to 255 bytes without "
                                "control characters",
                                nt->name);
        const char *old = tab ? nt->name : nt->cols[c].name;
        if (strcmp(old, op->new_name) == 0) {
            *nothing = 1;
            return ES_OK;
        }
        if (tab ? es_snapshot_find(s->snap, op->new_name) != NULL
                : es_tabledef_col_index(nt, op->new_name) >= 0)
            return es_error_set(err, ES_EXISTS, 0,
                                tab ? "table '%s' already exists"
                                    : "table '%s': column '%s' already exists",
                                tab ? op->new_name : nt->name, op->new_name);
        char *name = es_strdup(op->new_name);
        if (!name)
            return es_error_set(err, ES_NOMEM, 0, "out of memory");
        char **slot = tab ? &nt->name : &nt->cols[c].name;
        es_free(*slot);
        *slot = name;
        return ES_OK;
    }
    case ES_ALTER_SET_TYPE: {
        *change = ES_CHANGE_SET_TYPE;
        es_type to;
        es_column *col = &nt->cols[c];
        if ((st = not_pk(nt, c, "change the type of", err)) != ES_OK)
            return st;
        if (!op->type || strlen(op->type) >= sizeof(col->format) ||
            es_type_parse(&to, op->type, NULL) != ES_OK)
            return es_error_set(err, ES_INVALID, 0, "table '%s': invalid type '%s'", nt->name,
                                op->type ? op->type : "(null)");
        if (strcmp(op->type, col->format) == 0) {
            *nothing = 1;
            return ES_OK;
        }
        if (!es_type_widens(&col->type, &to, why, sizeof(why))) {
            char a[64], b[64];
            es_type_name(a, sizeof(a), &col->type);
            es_type_name(b, sizeof(b), &to);
            return es_error_set(err, ES_INVALID, 0,
                                "table '%s': column '%s' (%s) cannot become %s: %s", nt->name,
                                col->name, a, b, why);
        }
        if ((st = es_default_widen(col, &to, err)) != ES_OK)
            return st;
        col->type = to;
        strcpy(col->format, op->type);
        return ES_OK;
    }
    case ES_ALTER_SET_NOT_NULL:
    case ES_ALTER_DROP_NOT_NULL: {
        int set = op->kind == ES_ALTER_SET_NOT_NULL;
        *change = set ? ES_CHANGE_SET_NOT_NULL : ES_CHANGE_DROP_NOT_NULL;
        if ((st = not_pk(nt, c, set ? "set NOT NULL on" : "drop NOT NULL of", err)) != ES_OK)
            return st;
        if (nt->cols[c].nullable == !set) {
            *nothing = 1;
            return ES_OK;
        }
        if (set && (st = check_no_nulls(s, t, es_tabledef_col_index(t, op->column), err)) != ES_OK)
            return st;
        nt->cols[c].nullable = !set;
        return ES_OK;
    }
    }
    return es_error_set(err, ES_INVALID, 0, "es_table_alter: unknown kind %d", (int)op->kind);
}

es_status es_table_alter_impl(es_store *s, const char *table, const es_alter *op, int64_t *version,
                              es_error *err)
{
    if (s->txn)
        return es_error_set(err, ES_UNSUPPORTED, 0,
                            "alter table '%s': not supported inside a transaction; commit or "
                            "roll back first",
                            table);
    es_tabledef *t = NULL, *nt = NULL;
    es_status st = es_store_table_write(&t, s, table, err);
    if (st)
        return st;
    es_action a;
    memset(&a, 0, sizeof(a));
    if (es_tabledef_copy(&nt, t)) {
        st = es_error_set(err, ES_NOMEM, 0, "out of memory");
        goto done;
    }
    for (int64_t p = 0; p < nt->n_parts; p++) /* the action holds the definition only */
        es_part_meta_unref(nt->parts[p]);
    nt->n_parts = 0;
    int nothing = 0;
    st = alter_def(nt, s, t, op, &a.change, &nothing, err);
    if (st || nothing) {
        if (!st && version)
            *version = s->snap->version;
        goto done;
    }
    a.kind = ES_ACT_ALTER_TABLE;
    a.table = nt;
    nt = NULL;
    memcpy(a.table_id, t->id, sizeof(t->id));
    st = es_store_commit(s, &a, 1, NULL, NULL, version, err);
done:
    es_action_reset(&a);
    es_tabledef_unref(nt);
    es_tabledef_unref(t);
    return st;
}

/* ------------------------------------------- alterations against concurrent commits */

int es_alter_compatible(es_alter_change c)
{
    return c == ES_CHANGE_ADD_COLUMN || c == ES_CHANGE_RENAME_COLUMN ||
           c == ES_CHANGE_RENAME_TABLE || c == ES_CHANGE_DROP_NOT_NULL;
}

static int writes_rows(es_action_kind k)
{
    return k == ES_ACT_ADD_PART || k == ES_ACT_REMOVE_PART || k == ES_ACT_SET_DV;
}

/* Does the list hold an alteration? */
static int any_alter(const es_action *a, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (a[i].kind == ES_ACT_ALTER_TABLE)
            return 1;
    return 0;
}

es_status es_log_check_alter(const es_entry *theirs, const es_action *mine, int64_t n,
                             es_error *err)
{
    /* Every conflict below needs an alteration on one side (most entries are writes alone). */
    if (!any_alter(theirs->actions, theirs->n_actions) && !any_alter(mine, n))
        return ES_OK;
    for (int64_t k = 0; k < theirs->n_actions; k++) {
        const es_action *a = &theirs->actions[k];
        for (int64_t j = 0; j < n; j++) {
            const es_action *b = &mine[j];
            if (strcmp(a->table_id, b->table_id) != 0)
                continue;
            const char *tname = a->kind == ES_ACT_ALTER_TABLE   ? a->table->name
                                : b->kind == ES_ACT_ALTER_TABLE ? b->table->name
                                                                : b->table_id;
            if (a->kind == ES_ACT_ALTER_TABLE && b->kind == ES_ACT_ALTER_TABLE)
                return es_error_set(err, ES_CONFLICT, 0,
                                    "table '%s' was altered concurrently (version %lld)", tname,
                                    (long long)theirs->version);
            if (a->kind == ES_ACT_ALTER_TABLE && writes_rows(b->kind) &&
                !es_alter_compatible(a->change))
                return es_error_set(err, ES_CONFLICT, 0,
                                    "table '%s' was altered concurrently (version %lld): rows "
                                    "written for its previous columns cannot be committed",
                                    tname, (long long)theirs->version);
            if (b->kind == ES_ACT_ALTER_TABLE && writes_rows(a->kind) &&
                !es_alter_compatible(b->change))
                return es_error_set(err, ES_CONFLICT, 0,
                                    "table '%s' was written concurrently (version %lld): the "
                                    "alteration must see every row",
                                    tname, (long long)theirs->version);
        }
    }
    return ES_OK;
}
