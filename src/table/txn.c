/*
 * txn: transactions on a store handle (table layer, above log, table and scan).
 *
 * A transaction is a pair of catalogs and some notes. `base` is the snapshot taken at
 * es_txn_begin (version b); `view` starts equal to it and every call of the transaction
 * applies its actions to it (es_txn_apply, reached through es_store_commit) after writing its
 * objects (parts, .delta) as autocommit does; every read of the transaction (es_store_table,
 * es_store_table_write, scans) looks at `view`. Nothing reaches the log until the commit,
 * which turns the difference between `base` and `view` into the actions of one entry and
 * rebases them over whatever was committed since b.
 *
 * State of a handle:
 *
 *   [autocommit] --es_txn_begin: refresh, base = view = copy of the snapshot (b)--> [open]
 *        ^                                                                            |
 *        |   calls: write objects, apply actions to view; reads see view; the read set |
 *        |   (SERIALIZABLE) and upsert keys are noted                                  |
 *        +--- es_txn_abort (nothing visible; objects written are garbage) ---------- [open]
 *        |                                                                            |
 *        |                                                    es_txn_commit           v
 *        |                         actions := diff(base, view); none --> [done: version b]
 *        |                                        |
 *        |                                        v
 *        |      sync: LIST the log's tail, GET and apply every entry committed since b,
 *        |      each shown to observe(): table-level conflicts, parts whose vector the
 *        |      transaction also changes marked dirty, SERIALIZABLE read-set conflicts
 *        |                                        |
 *        |                                        v
 *        |      es_log_check, then settle(): each dirty part's vector merged
 *        |      (W | (V \ B), a new .delta) or a conflict on a shared row; upsert keys
 *        |      looked up in the parts others added
 *        |                                        |
 *        |                                        v
 *        |      put-if-absent _log/<v>.json --- lost the race: observe() + settle() the
 *        |                    |                  winner's entry, try v + 1 (es_log_commit_rebase)
 *        |                    v
 *        +---------- [committed at v] | [ES_CONFLICT or an error: nothing visible]
 *
 * Invariants:
 *  1. Reads see `view`: the snapshot at begin plus the transaction's own writes, and nothing
 *     another handle commits after begin (snapshot reads: no dirty, non-repeatable or
 *     phantom reads within the transaction). Time travel reads committed versions.
 *  2. A call is atomic within the transaction: its actions apply to `view` whole or not at
 *     all (es_snapshot_apply). A failed call may leave garbage objects and read-set notes,
 *     which only make the commit's check stricter.
 *  3. `view` differs from `base` only by actions applied (add_part appends, remove drops,
 *     set_dv replaces in place, create appends a table, drop removes one) and by the manifests
 *     its calls loaded (listing parts both hold). At commit, base loads the manifests the view
 *     loaded (the same decoded objects: no request) and the reverse, so that both list the
 *     same parts of `base`; the diff then matches parts by id per table that changed (pointer
 *     equality: tables and parts are shared by reference until written, so untouched ones
 *     cost nothing). A transaction loads only the manifests its calls touch, like autocommit.
 *  4. The commit is one entry holding every action (drops, then creates with their parts and
 *     vectors, then the changes of existing tables), created with put-if-absent after every
 *     object it names was written: all of the transaction is visible, or none. A crash or an
 *     abort leaves only unreferenced objects.
 *  5. A set_dv names the part's whole vector. For a part of `base` whose vector the
 *     transaction changed from B to V (V contains B), the rows it deletes are N = V \ B; when
 *     the part's live vector is W != B at commit, N and W must be disjoint (else the same row
 *     was deleted or updated twice: ES_CONFLICT) and the entry names W | N, written as a new
 *     .delta object (or inline): no concurrent delete is ever lost (first committer wins).
 *  6. Write-write conflicts (both levels; the matrix is in docs/FORMAT.md, 7a): a row deleted
 *     or updated by both; a part the transaction deletes from (or removes) removed by another;
 *     any change of a part the transaction removes entirely; a table the transaction writes
 *     dropped (or re-created) by another; a table it drops written, dropped or re-created by
 *     another; a name it creates created by another; a key it upserts inserted by another.
 *     Parts the transaction adds conflict with nothing but the loss of their table.
 *  7. SERIALIZABLE read-write conflicts: a version committed in (b, c) that adds a part whose
 *     statistics may match a predicate the transaction read the table with, sets a vector on
 *     or removes a part one of its scans could read (by the part's statistics), drops a table
 *     it read, creates or drops a name it looked up, or creates or drops any table after it
 *     listed them. With none, its reads return at c - 1 what they returned at b, so it is
 *     equivalent to running alone at its commit point c: committed serializable transactions
 *     are serializable in commit order, and read-only ones at b.
 *  8. The commit's check costs what was committed since b: one LIST and the GETs of those
 *     entries, one look-up per action (parts by id in a sorted array, tables among the few the
 *     transaction touched), a predicate test per part added to a table that was read, and I/O
 *     only for the vectors of parts both changed and for the parts others added to a table the
 *     transaction upserts into. No row is read again.
 *  9. The handle's snapshot stays at b while the transaction is open; the commit catches up
 *     from a copy of `base` and leaves the handle at the newer of the two.
 */
#include <stdio.h>
#include <stdlib.h>

#include "table/evolve.h"
#include "table/txn.h"

/* -------------------------------------------------------------------- state */

/* What a SERIALIZABLE transaction read of one table. */
typedef struct txn_read {
    char table_id[ES_ID_LEN + 1];
    es_pred **preds; /* the predicates it was read with (bound to the table's columns) */
    int64_t n_preds, cap_preds;
    char (*parts)[ES_ID_LEN + 1]; /* parts a read may have seen (by statistics) */
    int64_t n_parts, cap_parts;
} txn_read;

/* Keys an upsert wrote into one table. */
typedef struct txn_keys {
    char table_id[ES_ID_LEN + 1];
    es_domain dom;
    es_scalar *keys; /* sorted, unique; bytes owned */
    int64_t n;
    int64_t col_id; /* -1: the primary key's; else the id of a unique index's column */
} txn_keys;

struct es_txn {
    es_isolation iso;
    es_objstore *os;   /* the handle's store (manifests the read set needs) */
    es_snapshot *base; /* the snapshot at begin */
    es_snapshot *view; /* base + own writes */
    txn_read *reads;
    int64_t n_reads, cap_reads;
    char **names; /* tables looked up by name */
    int64_t n_names, cap_names;
    int catalog; /* the list of tables was read */
    txn_keys *keys;
    int64_t n_keys, cap_keys;
};

/* Make room for one more element of `size` bytes in *p (n used of *cap). */
static int grow(void *p, int64_t *cap, int64_t n, size_t size)
{
    void **pp = p;
    if (n < *cap)
        return 0;
    int64_t c = *cap ? *cap * 2 : 8;
    void *q = es_realloc(*pp, (size_t)c * size);
    if (!q)
        return -1;
    *pp = q;
    *cap = c;
    return 0;
}

static void keys_free(es_scalar *k, int64_t n, es_domain dom)
{
    if (!k)
        return;
    if (dom == ES_DOM_BYTES || dom == ES_DOM_DEC)
        for (int64_t i = 0; i < n; i++)
            es_free((void *)k[i].p);
    es_free(k);
}

void es_txn_free(es_txn *t)
{
    if (!t)
        return;
    es_snapshot_free(t->base);
    es_snapshot_free(t->view);
    for (int64_t i = 0; i < t->n_reads; i++) {
        for (int64_t k = 0; k < t->reads[i].n_preds; k++)
            es_pred_free(t->reads[i].preds[k]);
        es_free(t->reads[i].preds);
        es_free(t->reads[i].parts);
    }
    es_free(t->reads);
    for (int64_t i = 0; i < t->n_names; i++)
        es_free(t->names[i]);
    es_free(t->names);
    for (int64_t i = 0; i < t->n_keys; i++)
        keys_free(t->keys[i].keys, t->keys[i].n, t->keys[i].dom);
    es_free(t->keys);
    es_free(t);
}

es_snapshot *es_txn_view(es_txn *t)
{
    return t->view;
}

es_isolation es_txn_isolation(const es_txn *t)
{
    return t->iso;
}

es_status es_txn_begin_impl(es_store *s, const es_txn_options *opts, es_error *err)
{
    es_txn_options defaults = ES_TXN_OPTIONS_INIT;
    if (!opts)
        opts = &defaults;
    if (s->txn)
        return es_error_set(err, ES_INVALID, 0,
                            "es_txn_begin: a transaction is already open on this handle");
    if (opts->version != ES_TXN_OPTIONS_VERSION ||
        (opts->isolation != ES_ISOLATION_SNAPSHOT && opts->isolation != ES_ISOLATION_SERIALIZABLE))
        return es_error_set(err, ES_INVALID, 0, "es_txn_begin: bad options");
    /* No manifest is loaded here: calls load those they touch into the view, and the commit
     * loads the same ones into base before comparing them (build_actions). */
    es_status st = es_log_refresh(s->snap, s->os, err);
    if (st)
        return st;
    es_txn *t = es_calloc(1, sizeof(*t));
    if (!t || es_snapshot_copy(&t->base, s->snap) || es_snapshot_copy(&t->view, s->snap)) {
        es_txn_free(t);
        return es_error_set(err, ES_NOMEM, 0, "es_txn_begin: out of memory");
    }
    t->iso = opts->isolation;
    t->os = s->os;
    s->txn = t;
    return ES_OK;
}

es_status es_txn_apply(es_txn *t, es_action *acts, int64_t n, es_error *err)
{
    es_entry e;
    es_error sub;
    memset(&e, 0, sizeof(e));
    e.version = t->view->version;
    e.actions = acts;
    e.n_actions = n;
    es_status st = es_snapshot_apply(t->view, &e, "transaction", &sub);
    if (st == ES_CORRUPT)
        return es_error_set(err, ES_INTERNAL, 0, "%s", sub.msg);
    if (st && err)
        *err = sub;
    return st;
}

/* ----------------------------------------------------------------- read set */

static txn_read *find_read(const es_txn *t, const char *table_id)
{
    for (int64_t i = 0; i < t->n_reads; i++)
        if (strcmp(t->reads[i].table_id, table_id) == 0)
            return &t->reads[i];
    return NULL;
}

static txn_read *get_read(es_txn *t, const char *table_id)
{
    txn_read *r = find_read(t, table_id);
    if (r)
        return r;
    if (grow(&t->reads, &t->cap_reads, t->n_reads, sizeof(txn_read)))
        return NULL;
    r = &t->reads[t->n_reads++];
    memset(r, 0, sizeof(*r));
    memcpy(r->table_id, table_id, sizeof(r->table_id));
    return r;
}

es_status es_txn_note_name(es_txn *t, const char *name, es_error *err)
{
    if (t->iso != ES_ISOLATION_SERIALIZABLE || !name)
        return ES_OK;
    for (int64_t i = 0; i < t->n_names; i++)
        if (strcmp(t->names[i], name) == 0)
            return ES_OK;
    char *copy = es_strdup(name);
    if (!copy || grow(&t->names, &t->cap_names, t->n_names, sizeof(char *))) {
        es_free(copy);
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    }
    t->names[t->n_names++] = copy;
    return ES_OK;
}

void es_txn_note_catalog(es_txn *t)
{
    t->catalog = 1;
}

/* May part m of table tab hold a live row satisfying p, by the part's statistics in the log?
 * ps: scratch of tab->n_cols entries. Conservative (1 when unsure). */
static int part_may_match(const es_tabledef *tab, const es_part_meta *m, const es_pred *p,
                          es_pred_stats *ps)
{
    if (es_part_live_rows(m) <= 0)
        return 0;
    es_part_stats_to_pred(ps, tab, m, NULL); /* evolve.h: part types, defaults */
    return es_pred_may_match(p, ps);
}

typedef struct note_ctx {
    const es_tabledef *tab;
    const es_pred *p;
    es_pred_stats *ps;
} note_ctx;

/* es_manifest_keep_fn: may a manifest hold parts a read with predicate p could see? */
static int note_may_match(void *ctx, const es_mfref *f)
{
    const note_ctx *c = ctx;
    return part_may_match(c->tab, f->sum, c->p, c->ps);
}

es_status es_txn_note_scan(es_txn *t, const es_tabledef *tab, const es_pred *pred,
                           const es_scalar *keys, int64_t n_keys, int64_t key_col, es_error *err)
{
    if (t->iso != ES_ISOLATION_SERIALIZABLE)
        return ES_OK;
    if (keys && n_keys == 0)
        return ES_OK; /* reads nothing */
    txn_read *r = get_read(t, tab->id);
    if (!r)
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    es_pred *p = es_pred_copy(pred);
    if (p && keys) {
        es_domain dom = es_expr_domain(tab->cols[key_col].type.id);
        p = es_pred_and(p, es_pred_range(key_col, dom, &keys[0], &keys[n_keys - 1]));
    }
    es_pred_stats *ps = es_calloc((size_t)(tab->n_cols > 0 ? tab->n_cols : 1), sizeof(*ps));
    if (!p || !ps || grow(&r->preds, &r->cap_preds, r->n_preds, sizeof(es_pred *))) {
        es_pred_free(p);
        es_free(ps);
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    }
    if (p->kind == ES_PRED_FALSE) {
        es_pred_free(p);
        es_free(ps);
        return ES_OK;
    }
    r->preds[r->n_preds++] = p;
    /* The parts of the manifests the scan will load are in the read set too: load them now
     * (in place, as the scan would; it then finds them loaded). */
    note_ctx nc = {tab, p, ps};
    es_status lst =
        es_manifest_load((es_tabledef *)tab, t->os, note_may_match, &nc, NULL, NULL, err);
    if (lst) {
        es_free(ps);
        return lst;
    }
    for (int64_t i = 0; i < tab->n_parts; i++) {
        if (!part_may_match(tab, tab->parts[i], p, ps))
            continue;
        if (grow(&r->parts, &r->cap_parts, r->n_parts, sizeof(r->parts[0]))) {
            es_free(ps);
            return es_error_set(err, ES_NOMEM, 0, "out of memory");
        }
        memcpy(r->parts[r->n_parts++], tab->parts[i]->id, ES_ID_LEN + 1);
    }
    es_free(ps);
    return ES_OK;
}

es_status es_txn_note_keys(es_txn *t, const es_tabledef *tab, const es_scalar *keys, int64_t n,
                           es_error *err)
{
    return es_txn_note_values(t, tab, tab->pk, keys, n, err);
}

es_status es_txn_note_values(es_txn *t, const es_tabledef *tab, int64_t col, const es_scalar *keys,
                             int64_t n, es_error *err)
{
    if (n <= 0 || col < 0)
        return ES_OK;
    es_domain dom = es_expr_domain(tab->cols[col].type.id);
    es_scalar *k = es_calloc((size_t)n, sizeof(es_scalar));
    if (!k || grow(&t->keys, &t->cap_keys, t->n_keys, sizeof(txn_keys))) {
        es_free(k);
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    }
    for (int64_t i = 0; i < n; i++) {
        k[i] = keys[i];
        k[i].p = NULL;
        if (dom == ES_DOM_BYTES || dom == ES_DOM_DEC) {
            uint8_t *p = es_malloc(keys[i].len > 0 ? (size_t)keys[i].len : 1);
            if (!p) {
                keys_free(k, i, dom);
                return es_error_set(err, ES_NOMEM, 0, "out of memory");
            }
            if (keys[i].len > 0)
                memcpy(p, keys[i].p, (size_t)keys[i].len);
            k[i].p = p;
        }
    }
    txn_keys *tk = &t->keys[t->n_keys++];
    memcpy(tk->table_id, tab->id, sizeof(tk->table_id));
    tk->dom = dom;
    tk->keys = k;
    tk->n = n;
    tk->col_id = col == tab->pk ? -1 : tab->cols[col].id;
    return ES_OK;
}

/* ------------------------------------------------------------------ commit */

/* A part of `base` whose vector the transaction changes (set_dv) or that it removes. */
typedef struct part_change {
    char table_id[ES_ID_LEN + 1];
    char part_id[ES_ID_LEN + 1];
    int64_t act;        /* its action in commit.acts */
    es_part_meta *base; /* the part at begin (vector B); referenced */
    es_part_meta *mine; /* the part in the view (vector V), NULL when removed; referenced */
    es_dvref *against;  /* the live vector the action was computed on; referenced, NULL: none */
    es_dv added;        /* N = V \ B, loaded at the first merge */
    int loaded;
    int dirty;  /* another commit changed the part's vector since `against` */
    int64_t by; /* the version of that commit, for messages */
} part_change;

/* A table of `base` the transaction writes to (or drops). */
typedef struct table_change {
    char table_id[ES_ID_LEN + 1];
    const char *name; /* borrowed from base */
    int dropped;
    int upserts;                  /* the transaction upserts into it: parts added by others
                                     since begin are looked up for its keys */
    char (*added)[ES_ID_LEN + 1]; /* those parts, since the last settle */
    int64_t n_added, cap_added;
    int64_t added_by; /* version of the last of them, for messages */
} table_change;

typedef struct commit {
    es_store *s;
    es_txn *t;
    es_action *acts;
    int64_t n_acts, cap_acts;
    part_change *ch; /* sorted by part id, then table id */
    int64_t n_ch, cap_ch;
    table_change *tabs;
    int64_t n_tabs, cap_tabs;
    es_pred_stats *ps; /* scratch for part_may_match */
    int64_t n_ps;
} commit;

static void commit_reset(commit *c)
{
    for (int64_t i = 0; i < c->n_acts; i++)
        es_action_reset(&c->acts[i]);
    es_free(c->acts);
    for (int64_t i = 0; i < c->n_ch; i++) {
        es_part_meta_unref(c->ch[i].base);
        es_part_meta_unref(c->ch[i].mine);
        es_dvref_unref(c->ch[i].against);
        es_dv_reset(&c->ch[i].added);
    }
    es_free(c->ch);
    for (int64_t i = 0; i < c->n_tabs; i++)
        es_free(c->tabs[i].added);
    es_free(c->tabs);
    es_free(c->ps);
}

static es_status nomem(es_error *err)
{
    return es_error_set(err, ES_NOMEM, 0, "commit: out of memory");
}

/* A new action of table tab (name copied for messages). */
static es_action *new_action(commit *c, es_action_kind kind, const es_tabledef *tab)
{
    if (grow(&c->acts, &c->cap_acts, c->n_acts, sizeof(es_action)))
        return NULL;
    es_action *a = &c->acts[c->n_acts];
    memset(a, 0, sizeof(*a));
    a->kind = kind;
    memcpy(a->table_id, tab->id, sizeof(a->table_id));
    if (!(a->table_name = es_strdup(tab->name)))
        return NULL;
    c->n_acts++;
    return a;
}

static table_change *table_of(commit *c, const es_tabledef *tb)
{
    for (int64_t i = 0; i < c->n_tabs; i++)
        if (strcmp(c->tabs[i].table_id, tb->id) == 0)
            return &c->tabs[i];
    if (grow(&c->tabs, &c->cap_tabs, c->n_tabs, sizeof(table_change)))
        return NULL;
    table_change *tc = &c->tabs[c->n_tabs++];
    memset(tc, 0, sizeof(*tc));
    memcpy(tc->table_id, tb->id, sizeof(tc->table_id));
    tc->name = tb->name;
    for (int64_t k = 0; k < c->t->n_keys; k++)
        tc->upserts |= strcmp(c->t->keys[k].table_id, tb->id) == 0;
    return tc;
}

static const table_change *find_table(const commit *c, const char *id)
{
    for (int64_t i = 0; i < c->n_tabs; i++)
        if (strcmp(c->tabs[i].table_id, id) == 0)
            return &c->tabs[i];
    return NULL;
}

/* The actions of a part added to the table: add_part, and set_dv when it has a vector. */
static es_status add_part_actions(commit *c, const es_tabledef *tv, es_part_meta *m)
{
    es_action *a = new_action(c, ES_ACT_ADD_PART, tv);
    if (!a)
        return ES_NOMEM;
    a->part = es_part_meta_ref(m);
    if (m->dv) {
        if (!(a = new_action(c, ES_ACT_SET_DV, tv)))
            return ES_NOMEM;
        memcpy(a->part_id, m->id, sizeof(a->part_id));
        a->dv = es_dvref_ref(m->dv);
    }
    /* Its index objects (index.c): the coverage the view's indexes have for it. */
    for (int64_t i = 0; i < tv->n_indexes; i++) {
        const es_index_cov *cov = es_index_def_find(tv->indexes[i], m->id);
        es_index_def *d = NULL;
        if (!cov)
            continue;
        if (!(a = new_action(c, ES_ACT_ADD_INDEX, tv)) ||
            es_index_def_new(&d, tv->indexes[i]->name))
            return ES_NOMEM;
        a->index = d;
        memcpy(d->id, tv->indexes[i]->id, sizeof(d->id));
        d->col_id = tv->indexes[i]->col_id;
        if (!(d->cov = es_malloc(sizeof(*cov))))
            return ES_NOMEM;
        d->cov[0] = *cov;
        d->n_cov = d->cap_cov = 1;
    }
    return ES_OK;
}

/* A part of base tb changed in the view (mine: the view's; NULL when removed). */
static es_status part_changed(commit *c, const es_tabledef *tb, es_part_meta *base,
                              es_part_meta *mine)
{
    es_action *a = new_action(c, mine ? ES_ACT_SET_DV : ES_ACT_REMOVE_PART, tb);
    if (!a || grow(&c->ch, &c->cap_ch, c->n_ch, sizeof(part_change)) || !table_of(c, tb))
        return ES_NOMEM;
    memcpy(a->part_id, base->id, sizeof(a->part_id));
    if (mine)
        a->dv = es_dvref_ref(mine->dv);
    part_change *p = &c->ch[c->n_ch++];
    memset(p, 0, sizeof(*p));
    memcpy(p->table_id, tb->id, sizeof(p->table_id));
    memcpy(p->part_id, base->id, sizeof(p->part_id));
    p->act = c->n_acts - 1;
    p->base = es_part_meta_ref(base);
    p->mine = es_part_meta_ref(mine);
    p->against = es_dvref_ref(base->dv);
    return ES_OK;
}

/* The create action of table tv: its definition without parts. */
static es_status create_action(commit *c, const es_tabledef *tv)
{
    es_tabledef *bare = NULL;
    if (es_tabledef_copy(&bare, tv))
        return ES_NOMEM;
    for (int64_t p = 0; p < bare->n_parts; p++)
        es_part_meta_unref(bare->parts[p]);
    bare->n_parts = 0;
    bare->rows = bare->bytes = 0;
    es_action *a = new_action(c, ES_ACT_CREATE_TABLE, tv);
    if (!a) {
        es_tabledef_unref(bare);
        return ES_NOMEM;
    }
    a->table = bare;
    return ES_OK;
}

static int cmp_change(const void *x, const void *y)
{
    const part_change *a = x, *b = y;
    int k = strcmp(a->part_id, b->part_id);
    return k ? k : strcmp(a->table_id, b->table_id);
}

static int cmp_meta_id(const void *x, const void *y)
{
    return strcmp((*(es_part_meta *const *)x)->id, (*(es_part_meta *const *)y)->id);
}

/* The parts of t sorted by id (*out: NULL when t has none). */
static es_status sorted_parts(es_part_meta ***out, const es_tabledef *t)
{
    *out = NULL;
    if (t->n_parts == 0)
        return ES_OK;
    if (!(*out = es_malloc((size_t)t->n_parts * sizeof(**out))))
        return ES_NOMEM;
    memcpy(*out, t->parts, (size_t)t->n_parts * sizeof(**out));
    qsort(*out, (size_t)t->n_parts, sizeof(**out), cmp_meta_id);
    return ES_OK;
}

static es_part_meta *by_id(es_part_meta **sorted, int64_t n, es_part_meta *m)
{
    es_part_meta **hit =
        n > 0 ? bsearch(&m, sorted, (size_t)n, sizeof(*sorted), cmp_meta_id) : NULL;
    return hit ? *hit : NULL;
}

/* The changes of table tb (base) in tv (view): first both list the same manifests' parts (a
 * call loads into the view the manifests it touches; the same objects, already decoded, are
 * loaded into base: no request), then parts are matched by id (invariant 3). */
static es_status table_actions(commit *c, es_tabledef *tb, es_tabledef *tv, es_error *err)
{
    es_status st = es_manifest_load_like(tb, tv, c->s->os, err);
    if (!st)
        st = es_manifest_load_like(tv, tb, c->s->os, err);
    if (st)
        return st;
    es_part_meta **sb = NULL, **sv = NULL;
    if (sorted_parts(&sb, tb) || sorted_parts(&sv, tv)) {
        es_free(sb);
        return nomem(err);
    }
    for (int64_t p = 0; p < tb->n_parts && !st; p++) {
        es_part_meta *m = tb->parts[p], *mine = by_id(sv, tv->n_parts, m);
        if (!mine || !es_dvref_same(mine->dv, m->dv))
            st = part_changed(c, tb, m, mine);
    }
    for (int64_t p = 0; p < tv->n_parts && !st; p++)
        if (!by_id(sb, tb->n_parts, tv->parts[p]))
            st = table_of(c, tb) ? add_part_actions(c, tv, tv->parts[p]) : ES_NOMEM;
    es_free(sb);
    es_free(sv);
    return st == ES_NOMEM ? nomem(err) : st;
}

/* The actions that turn base into view (invariants 3 and 4). */
static es_status build_actions(commit *c, es_error *err)
{
    const es_snapshot *b = c->t->base, *v = c->t->view;
    es_status st = ES_OK;
    for (int64_t i = 0; i < b->n_tables && !st; i++) { /* drops first: they free names */
        const es_tabledef *tb = b->tables[i];
        if (es_snapshot_find_id(v, tb->id))
            continue;
        table_change *tc = table_of(c, tb);
        if (!tc || !new_action(c, ES_ACT_DROP_TABLE, tb))
            return nomem(err);
        tc->dropped = 1;
    }
    for (int64_t i = 0; i < v->n_tables && !st; i++) { /* then the tables created */
        const es_tabledef *tv = v->tables[i];
        if (es_snapshot_find_id(b, tv->id))
            continue;
        st = create_action(c, tv);
        for (int64_t p = 0; p < tv->n_parts && !st; p++)
            st = add_part_actions(c, tv, tv->parts[p]);
    }
    if (st)
        return nomem(err);
    for (int64_t i = 0; i < b->n_tables && !st; i++) { /* then the changes of the others */
        es_tabledef *tb = b->tables[i], *tv = es_snapshot_find_id(v, tb->id);
        if (!tv || tv == tb)
            continue;
        st = table_actions(c, tb, tv, err);
    }
    if (c->n_ch > 1)
        qsort(c->ch, (size_t)c->n_ch, sizeof(part_change), cmp_change);
    return st;
}

static part_change *find_change(const commit *c, const char *table_id, const char *part_id)
{
    part_change key;
    if (c->n_ch == 0)
        return NULL;
    memcpy(key.table_id, table_id, sizeof(key.table_id));
    memcpy(key.part_id, part_id, sizeof(key.part_id));
    return bsearch(&key, c->ch, (size_t)c->n_ch, sizeof(part_change), cmp_change);
}

static int cmp_id(const void *x, const void *y)
{
    return strcmp((const char *)x, (const char *)y);
}

/* Sort and deduplicate the parts of each read (once, before the checks). */
static void sort_reads(es_txn *t)
{
    for (int64_t i = 0; i < t->n_reads; i++) {
        txn_read *r = &t->reads[i];
        if (r->n_parts > 1)
            qsort(r->parts, (size_t)r->n_parts, sizeof(r->parts[0]), cmp_id);
        int64_t k = 0;
        for (int64_t p = 0; p < r->n_parts; p++)
            if (k == 0 || strcmp(r->parts[k - 1], r->parts[p]) != 0)
                memmove(r->parts[k++], r->parts[p], sizeof(r->parts[0]));
        r->n_parts = k;
    }
}

static int read_part(const txn_read *r, const char *part_id)
{
    return r->n_parts > 0 &&
           bsearch(part_id, r->parts, (size_t)r->n_parts, sizeof(r->parts[0]), cmp_id) != NULL;
}

static int name_read(const es_txn *t, const char *name)
{
    if (t->catalog)
        return 1;
    for (int64_t i = 0; i < t->n_names; i++)
        if (strcmp(t->names[i], name) == 0)
            return 1;
    return 0;
}

/* The name of table `id` for messages: as the transaction knew it, else as s knows it. */
static const char *table_name(const commit *c, const es_snapshot *s, const char *id)
{
    const es_tabledef *t = es_snapshot_find_id(c->t->base, id);
    if (!t)
        t = es_snapshot_find_id(s, id);
    return t ? t->name : id;
}

/* A new part added by another commit: may it hold rows a read of the table could see? */
static int added_part_seen(commit *c, const es_snapshot *s, const txn_read *r,
                           const es_part_meta *m)
{
    const es_tabledef *tab = es_snapshot_find_id(s, r->table_id);
    if (!tab)
        return 1; /* dropped again by the same entry: the drop conflicts anyway */
    if (c->n_ps < tab->n_cols) {
        es_free(c->ps);
        c->n_ps = 0;
        if (!(c->ps = es_calloc((size_t)tab->n_cols, sizeof(es_pred_stats))))
            return 1; /* out of memory: conservative */
        c->n_ps = tab->n_cols;
    }
    for (int64_t k = 0; k < r->n_preds; k++)
        if (part_may_match(tab, m, r->preds[k], c->ps))
            return 1;
    return 0;
}

/* es_log_observe_fn: an entry committed by another handle since begin, applied to s. Decides
 * the conflicts that need no I/O and marks the vectors to merge (invariants 6 to 8). */
static es_status observe(void *ctx, const es_snapshot *s, const es_entry *e, es_error *err)
{
    commit *c = ctx;
    es_txn *t = c->t;
    int ser = t->iso == ES_ISOLATION_SERIALIZABLE;
    long long v = (long long)e->version;
    es_status hst = es_log_check_horizon(e, c->acts, c->n_acts, err);
    if (hst)
        return hst;
    for (int64_t k = 0; k < e->n_actions; k++) {
        const es_action *a = &e->actions[k];
        const char *id = a->table_id;
        const table_change *tc = find_table(c, id);
        const txn_read *r = ser ? find_read(t, id) : NULL;
        switch (a->kind) {
        case ES_ACT_CREATE_TABLE:
            for (int64_t i = 0; i < c->n_acts; i++)
                if (c->acts[i].kind == ES_ACT_CREATE_TABLE &&
                    strcmp(c->acts[i].table->name, a->table->name) == 0)
                    return es_error_set(err, ES_CONFLICT, 0,
                                        "table '%s' was created by a concurrent commit (version "
                                        "%lld); this transaction creates it too",
                                        a->table->name, v);
            if (ser && name_read(t, a->table->name))
                return es_error_set(err, ES_CONFLICT, 0,
                                    "table '%s' was created by a concurrent commit (version %lld) "
                                    "after this transaction looked for it (serializable)",
                                    a->table->name, v);
            break;
        case ES_ACT_DROP_TABLE: {
            const char *name = table_name(c, s, id);
            if (tc)
                return es_error_set(err, ES_CONFLICT, 0,
                                    "table '%s' was dropped by a concurrent commit (version %lld); "
                                    "this transaction %s it",
                                    name, v, tc->dropped ? "drops" : "writes to");
            if (ser && (r || name_read(t, name)))
                return es_error_set(err, ES_CONFLICT, 0,
                                    "table '%s' was dropped by a concurrent commit (version %lld) "
                                    "after this transaction read it (serializable)",
                                    name, v);
            break;
        }
        case ES_ACT_ADD_PART:
            if (tc && tc->dropped)
                return es_error_set(err, ES_CONFLICT, 0,
                                    "table '%s': a concurrent commit (version %lld) inserted rows; "
                                    "this transaction drops the table",
                                    table_name(c, s, id), v);
            if (tc && tc->upserts) {
                table_change *w = (table_change *)tc;
                if (grow(&w->added, &w->cap_added, w->n_added, sizeof(w->added[0])))
                    return nomem(err);
                memcpy(w->added[w->n_added++], a->part->id, ES_ID_LEN + 1);
                w->added_by = e->version;
            }
            if (r && added_part_seen(c, s, r, a->part))
                return es_error_set(err, ES_CONFLICT, 0,
                                    "table '%s': a concurrent commit (version %lld) inserted rows "
                                    "that this transaction's reads could have seen (serializable)",
                                    table_name(c, s, id), v);
            break;
        case ES_ACT_REMOVE_PART:
        case ES_ACT_SET_DV: {
            int removed = a->kind == ES_ACT_REMOVE_PART;
            part_change *p = tc ? find_change(c, id, a->part_id) : NULL;
            if (tc && tc->dropped)
                return es_error_set(err, ES_CONFLICT, 0,
                                    "table '%s': a concurrent commit (version %lld) deleted or "
                                    "updated rows; this transaction drops the table",
                                    table_name(c, s, id), v);
            if (p && (removed || !p->mine))
                return es_error_set(
                    err, ES_CONFLICT, 0,
                    "table '%s': part %s was %s by a concurrent commit (version %lld); this "
                    "transaction %s",
                    table_name(c, s, id), a->part_id,
                    removed ? "removed (all its rows deleted or updated)"
                            : "changed (rows deleted or updated)",
                    v,
                    p->mine ? "deletes or updates rows of it" : "deletes or updates all its rows");
            if (p) {
                p->dirty = 1;
                p->by = e->version;
            }
            if (r && read_part(r, a->part_id))
                return es_error_set(err, ES_CONFLICT, 0,
                                    "table '%s': a concurrent commit (version %lld) deleted or "
                                    "updated rows of part %s, which this transaction read "
                                    "(serializable)",
                                    table_name(c, s, id), v, a->part_id);
            break;
        }
        case ES_ACT_ALTER_TABLE: /* alter.c: transactions never alter, they may only write */
            if (tc && (tc->dropped || !es_alter_compatible(a->change)))
                return es_error_set(err, ES_CONFLICT, 0,
                                    "table '%s' was altered by a concurrent commit (version "
                                    "%lld); this transaction %s it",
                                    a->table->name, v, tc->dropped ? "drops" : "writes to");
            if (ser && r)
                return es_error_set(err, ES_CONFLICT, 0,
                                    "table '%s' was altered by a concurrent commit (version %lld) "
                                    "after this transaction read it (serializable)",
                                    a->table->name, v);
            break;
        case ES_ACT_CREATE_INDEX:
            /* A unique index created since begin: the rows this transaction adds to its table
             * were never checked against it (unique.c). */
            for (int64_t i = 0; a->index->unique && i < c->n_acts; i++)
                if (c->acts[i].kind == ES_ACT_ADD_PART && strcmp(c->acts[i].table_id, id) == 0)
                    return es_error_set(err, ES_CONFLICT, 0,
                                        "table '%s': a concurrent commit (version %lld) created "
                                        "unique index '%s'; this transaction inserts rows",
                                        table_name(c, s, id), v, a->index->name);
            break;
        case ES_ACT_VACUUM:     /* checked above (es_log_check_horizon) */
        case ES_ACT_MANIFEST:   /* checkpoints only, never in a commit entry */
        case ES_ACT_DROP_INDEX: /* index metadata (index.c): no row changes; a table the */
                                /* transaction drops is refused at apply by es_log_check */
        case ES_ACT_ADD_INDEX:
            break;
        }
    }
    return ES_OK;
}

/* *out = a \ b (both sorted). */
static es_status dv_minus(es_dv *out, const es_dv *a, const es_dv *b, es_error *err)
{
    es_dv_reset(out);
    uint64_t *p = es_malloc((size_t)(a->n > 0 ? a->n : 1) * sizeof(uint64_t));
    if (!p)
        return nomem(err);
    int64_t n = 0, j = 0;
    for (int64_t i = 0; i < a->n; i++) {
        while (j < b->n && b->pos[j] < a->pos[i])
            j++;
        if (j < b->n && b->pos[j] == a->pos[i])
            continue;
        p[n++] = a->pos[i];
    }
    out->pos = p;
    out->n = n;
    out->cap = a->n > 0 ? a->n : 1;
    return ES_OK;
}

/* Rebase the vector of a dirty part on the live one W (invariant 5). */
static es_status merge_part(commit *c, const es_snapshot *s, part_change *p, es_error *err)
{
    es_store *st_ = c->s;
    const es_tabledef *tab = es_snapshot_find_id(s, p->table_id);
    const es_part_meta *pm = tab ? es_tabledef_find_part(tab, p->part_id) : NULL;
    if (!pm) /* es_log_check has seen to it; be safe */
        return es_error_set(err, ES_CONFLICT, 0,
                            "table '%s': part %s was removed by a concurrent commit",
                            table_name(c, s, p->table_id), p->part_id);
    p->dirty = 0;
    if (es_dvref_same(pm->dv, p->against))
        return ES_OK;
    es_dv w = {0}, merged = {0};
    es_status st = ES_OK;
    if (!p->loaded) {
        es_dv b = {0}, v = {0};
        st = es_store_part_dv(&b, st_, tab, p->base, NULL, NULL, err);
        if (!st)
            st = es_store_part_dv(&v, st_, tab, p->mine, NULL, NULL, err);
        if (!st)
            st = dv_minus(&p->added, &v, &b, err);
        es_dv_reset(&b);
        es_dv_reset(&v);
        if (st)
            return st;
        p->loaded = 1;
    }
    st = es_store_part_dv(&w, st_, tab, pm, NULL, NULL, err);
    if (st)
        return st;
    uint64_t row; /* a common position is a row deleted or updated by both */
    if (es_dv_first_common(&w, &p->added, &row)) {
        es_dv_reset(&w);
        return es_error_set(err, ES_CONFLICT, 0,
                            "table '%s': row %lld of part %s was deleted or updated by a "
                            "concurrent commit (version %lld); this transaction deletes or updates "
                            "it too",
                            tab->name, (long long)row, p->part_id, (long long)p->by);
    }
    st = es_dv_union(&merged, &w, &p->added, err);
    es_dv_reset(&w);
    es_action *a = &c->acts[p->act];
    if (!st) {
        es_dvref_unref(a->dv);
        a->dv = NULL;
        if (merged.n >= pm->rows) {
            a->kind = ES_ACT_REMOVE_PART; /* no live row left */
        } else {
            a->kind = ES_ACT_SET_DV;
            st = es_store_dv_write(&a->dv, st_, tab->id, p->part_id, &merged, err);
        }
    }
    es_dv_reset(&merged);
    if (!st) {
        es_dvref_unref(p->against);
        p->against = es_dvref_ref(pm->dv);
    }
    return st;
}

/* Look for the keys the transaction upserts into table tc in the parts others added to it. */
static es_status check_keys(commit *c, const es_snapshot *s, table_change *tc, es_error *err)
{
    const es_tabledef *tab = es_snapshot_find_id(s, tc->table_id);
    es_status st = ES_OK;
    if (!tab || tc->n_added == 0) {
        tc->n_added = 0;
        return ES_OK;
    }
    es_tabledef *fresh = NULL;
    if (es_tabledef_copy(&fresh, tab))
        return nomem(err);
    int64_t k = 0;
    if (tc->n_added > 1)
        qsort(tc->added, (size_t)tc->n_added, sizeof(tc->added[0]), cmp_id);
    for (int64_t p = 0; p < fresh->n_parts; p++) {
        if (bsearch(fresh->parts[p]->id, tc->added, (size_t)tc->n_added, sizeof(tc->added[0]),
                    cmp_id))
            fresh->parts[k++] = fresh->parts[p];
        else
            es_part_meta_unref(fresh->parts[p]);
    }
    fresh->n_parts = k;
    es_tabledef_drop_manifests(fresh); /* those parts only */
    tc->n_added = 0;
    for (int64_t i = 0; i < c->t->n_keys && k > 0 && !st; i++) {
        const txn_keys *tk = &c->t->keys[i];
        if (strcmp(tk->table_id, tab->id) != 0)
            continue;
        static const char *none[1] = {NULL};
        es_scan_options so = ES_SCAN_OPTIONS_INIT;
        so.columns = none;
        so.n_columns = 0;
        es_scan_ext ext = {fresh, 0, tk->keys, tk->n, NULL};
        for (int64_t col = 0; tk->col_id >= 0 && col < tab->n_cols; col++)
            if (tab->cols[col].id == tk->col_id) /* a unique index's values */
                ext.keys_column = tab->cols[col].name;
        if (tk->col_id >= 0 && !ext.keys_column)
            continue; /* the column was dropped meanwhile */
        es_scanner *sc = NULL;
        struct ArrowArray a = {0};
        st = es_scanner_open(&sc, c->s, NULL, &so, &ext, err);
        if (!st)
            st = es_scanner_next(sc, &a, err);
        if (!st && a.release)
            st = es_error_set(err, ES_CONFLICT, 0,
                              "table '%s': a concurrent commit (version %lld) inserted rows with "
                              "keys this transaction upserts",
                              tab->name, (long long)tc->added_by);
        es_array_release(&a);
        es_scanner_close(sc);
    }
    es_tabledef_unref(fresh);
    return st;
}

/* After the entries committed since begin (or since the last settle) were observed: merge the
 * vectors marked dirty and look for upserted keys in the parts added (the I/O of the check). */
static es_status settle(commit *c, const es_snapshot *s, es_error *err)
{
    es_status st = ES_OK;
    for (int64_t i = 0; i < c->n_ch && !st; i++)
        if (c->ch[i].dirty)
            st = merge_part(c, s, &c->ch[i], err);
    for (int64_t i = 0; i < c->n_tabs && !st; i++)
        if (c->tabs[i].upserts && c->tabs[i].n_added > 0)
            st = check_keys(c, s, &c->tabs[i], err);
    return st;
}

/* es_log_rebase_fn: the commit lost the race to `theirs`. */
static es_status rebase(void *ctx, const es_snapshot *s, const es_entry *theirs, es_action *acts,
                        int64_t n, es_error *err)
{
    (void)acts;
    (void)n;
    es_status st = observe(ctx, s, theirs, err);
    return st ? st : settle(ctx, s, err);
}

static es_status commit_txn(es_store *s, es_txn *t, int64_t *version, es_error *err)
{
    commit c;
    memset(&c, 0, sizeof(c));
    c.s = s;
    c.t = t;
    es_status st = build_actions(&c, err);
    if (st) {
        commit_reset(&c);
        return st;
    }
    *version = t->base->version;
    if (c.n_acts == 0) { /* read-only: serialized at its snapshot (invariant 7) */
        commit_reset(&c);
        return ES_OK;
    }
    sort_reads(t);
    /* From b (a copy of base, whatever the handle's snapshot: invariant 9 keeps them equal),
     * bring the catalog to the end of the log, checking each entry on the way, then commit as
     * a writer would. The handle keeps the newer of the two catalogs. */
    es_snapshot *cs = NULL;
    if (es_snapshot_copy(&cs, t->base)) {
        commit_reset(&c);
        return nomem(err);
    }
    st = es_log_sync_observe(cs, s->os, observe, &c, err);
    if (!st)
        st = es_log_check(cs, c.acts, c.n_acts, ES_CONFLICT, err);
    if (!st)
        st = settle(&c, cs, err);
    if (!st)
        st = es_log_commit_rebase(cs, s->os, c.acts, c.n_acts, rebase, &c, version, err);
    if (cs->version > s->snap->version) {
        es_snapshot *old = s->snap;
        s->snap = cs;
        cs = old;
    }
    es_snapshot_free(cs);
    commit_reset(&c);
    return st;
}

es_status es_txn_commit_impl(es_store *s, int64_t *version, es_error *err)
{
    es_txn *t = s->txn;
    int64_t v = -1;
    if (!t)
        return es_error_set(err, ES_INVALID, 0, "es_txn_commit: no transaction is open");
    s->txn = NULL; /* over, whatever happens: the checks below read as autocommit */
    es_status st = commit_txn(s, t, &v, err);
    es_txn_free(t);
    if (!st && version)
        *version = v;
    return st;
}
