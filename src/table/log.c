/*
 * log: the commit log, snapshots, checkpoints and the commit protocol.
 *
 * Every committed version v of a store is one object _log/<v as 20 digits>.json, created with
 * ES_PUT_IF_ABSENT: that create is the commit point. Version 0 is written when the store is
 * created and has no actions. Every ES_CHECKPOINT_INTERVAL versions the committer also writes
 * _log/<v>.checkpoint (the whole catalog at v) and overwrites the hint _log/_last_checkpoint.
 * The byte layout of all three is in docs/FORMAT.md ("Commit log"); log_entry.c encodes and
 * decodes them.
 *
 * An entry may act on several tables, each action applying to the catalog the earlier ones
 * left (a transaction's entry, txn.c: create a table and add parts to it, set the vector of a
 * part it adds, drop a table and create another under its name); es_log_check checks actions
 * that way. A transaction catches up with es_log_sync_observe, which shows each entry it applies
 * to the transaction's checks, and its rebase hook sees each entry it lost a race to.
 *
 * Finding the end of the log. Readers refresh with GETs of s.version + 1, + 2, ... until one is
 * absent (es_log_refresh: one GET when nothing is new), which cannot tell the end from a hole.
 * Opening instead LISTs _log/ after its version (es_log_load, es_log_sync: the LIST takes the
 * place of that last GET) and GETs the entries listed; the listing shows whether anything lies
 * past a missing entry (invariant 8). A writer refreshes, then GETs the hint and LISTs only
 * when the hint names a later version or damage is known (es_log_sync_write): a LIST per
 * commit would read the whole directory of a local store. An insert whose handle made the
 * last commit it knows of less than ES_LOG_END_TRUST_MS ago skips both (a blind put,
 * es_log_end_known): a lost race then reads the tail to its end (absorb_tail) before the
 * next put.
 *
 * State of one commit (the table layer's write, then es_log_commit):
 *
 *     [es_log_sync_write: tail, apply it] -- hole or bad entry --> [ES_CORRUPT, nothing
 *                 |                                                    written]
 *                 v
 *      parts written (.data, .idx)      (objects no version refers to yet: invisible)
 *                 |
 *                 v
 *   +--> [encode entry v = s.version + 1]
 *   |             |
 *   |             v
 *   |     put-if-absent _log/v.json --- ok ------------------> [committed at v] --> checkpoint
 *   |             |                                                   ^           (if v % 10 == 0,
 *   |          EXISTS (lost the race)      ambiguous failure ---------+            best effort)
 *   |             |  (no object there:     (read v back: ours? yes)   |
 *   |             |   ES_CORRUPT)                   | other writer's  | not there
 *   |             v                                 |                 |
 *   |     read entry v, apply to s                  v                 v
 *   |             |                         (as EXISTS)         [failed: error returned,
 *   |             v                                               nothing visible]
 *   |     conflict check of our actions against s, then the caller's rebase hook (a delete
 *   |     merges its deletion vectors with the winner's, or finds the same row deleted twice)
 *   |        |                    |
 *   +--- no conflict          conflict --> [failed: ES_CONFLICT, nothing visible]
 *
 * Invariants:
 *  1. An object is never overwritten, except the hint _log/_last_checkpoint, which is only a
 *     hint: it is validated (checksum, then the checkpoint it names is read and verified) and
 *     a missing or bad hint only makes opening slower (replay from version 0; opening notes
 *     a bad hint or a missing checkpoint in its warning).
 *  2. Version v exists only if v - 1 exists: a writer creates v only after reading v - 1.
 *  3. The state at version v is the fold of the actions of entries 0..v, or equally the
 *     checkpoint at c <= v followed by entries c+1..v. Entries are never deleted, so every
 *     version can be read (time travel).
 *  4. Objects named by an entry (parts' .data and .idx) are completely written before the
 *     entry is created; a crash before the commit point leaves only unreferenced objects,
 *     after it the whole insert is visible. No reader ever sees part of an insert.
 *  5. Every entry, checkpoint and hint carries a CRC-32C of its bytes; a reader that finds a
 *     mismatch reports ES_CORRUPT naming the object and never applies it.
 *  6. Blind appends (add_part to an existing table) never conflict. A conflict is: a table the
 *     commit writes to was dropped (or re-created) concurrently, a table it creates was created
 *     concurrently, a table it drops was dropped concurrently, a part it removes or sets a
 *     deletion vector on is gone. Row-level checks of deletes (the same row deleted by two
 *     writers) and the merging of their vectors are the rebase hook's (mutate.c, txn.c), and
 *     so are a transaction's other conflicts (txn.c, invariants 6 and 7); the log only
 *     records that a part's live vector is now another one (set_dv, cumulative).
 *  7. When the store does not honour put-if-absent (cas_supported == 0), the writer reads its
 *     entry back after the put; a different transaction id there means a concurrent writer
 *     was detected: ES_CONFLICT with a message saying that concurrent writers are unsupported.
 *  8. No holes. By 2 and 3 the entries that exist are exactly 0..N, every checkpoint is of a
 *     version <= N, and the hint names one. So entry v missing while a later entry or
 *     checkpoint is listed (or the hint named a later version), or entry v present but failing
 *     its checks or not applying, means the log was damaged from outside the protocol (an
 *     object deleted or truncated, a partial copy). A reader stops at v - 1 and records the
 *     damage in the snapshot (s->damage, one line naming the object): opening succeeds there
 *     with a warning, reads go on there, and nothing is committed on top: the only version a
 *     writer could create next is v, and creating it would splice new history under entries
 *     v + 1... that continue the lost one. Writes fail with ES_CORRUPT before writing anything
 *     until the object is restored. An entry one LIST showed but a GET finds no object at
 *     (a directory in a local store), or that a conditional create says exists but a GET does
 *     not find, is damage too. Scope: opening looks from the checkpoint it starts at to the
 *     end (below it, time travel reports a hole when it meets one); a read refresh does not
 *     look (a GET cannot tell), a writer's es_log_sync does.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "table/evolve.h"
#include "table/log.h"

/* ------------------------------------------------------------------ apply */

static es_status tabledef_add_part(es_tabledef *t, es_part_meta *m)
{
    if (t->n_parts == t->cap_parts) {
        int64_t cap = t->cap_parts ? t->cap_parts * 2 : 8;
        es_part_meta **p = es_realloc(t->parts, (size_t)cap * sizeof(*p));
        if (!p)
            return ES_NOMEM;
        t->parts = p;
        t->cap_parts = cap;
    }
    t->parts[t->n_parts++] = es_part_meta_ref(m);
    t->rows += es_part_live_rows(m);
    t->bytes += m->data_bytes;
    return ES_OK;
}

static int64_t snapshot_index_id(const es_snapshot *s, const char *id)
{
    for (int64_t i = 0; i < s->n_tables; i++)
        if (strcmp(s->tables[i]->id, id) == 0)
            return i;
    return -1;
}

static es_status snapshot_put_table(es_snapshot *s, es_tabledef *t)
{
    if (s->n_tables == s->cap_tables) {
        int64_t cap = s->cap_tables ? s->cap_tables * 2 : 8;
        es_tabledef **p = es_realloc(s->tables, (size_t)cap * sizeof(*p));
        if (!p)
            return ES_NOMEM;
        s->tables = p;
        s->cap_tables = cap;
    }
    s->tables[s->n_tables++] = es_tabledef_ref(t);
    return ES_OK;
}

/* Make table i of s exclusively owned (copy on write). */
static es_status own_table(es_snapshot *s, int64_t i)
{
    if (__atomic_load_n(&s->tables[i]->refs, __ATOMIC_ACQUIRE) == 1)
        return ES_OK;
    es_tabledef *t;
    if (es_tabledef_copy(&t, s->tables[i]))
        return ES_NOMEM;
    es_tabledef_unref(s->tables[i]);
    s->tables[i] = t;
    return ES_OK;
}

/* The types a part added to t was written with: those its add_part names (a checkpoint after
 * an alteration), else t's columns as they are when it is added (parts are written in the
 * table's current types; a write that an alteration changed the types under conflicts). 1 when
 * a column has neither. Resolving in place is safe: only a part just decoded lacks types. */
static int resolve_part_cols(es_part_meta *m, const es_tabledef *t)
{
    for (int64_t k = 0; k < m->n_cols; k++) {
        if (m->cols[k].format[0])
            continue;
        int64_t c = 0;
        while (c < t->n_cols && t->cols[c].id != m->col_ids[k])
            c++;
        if (c == t->n_cols)
            return 1;
        m->cols[k].id = t->cols[c].id;
        m->cols[k].type = t->cols[c].type;
        memcpy(m->cols[k].format, t->cols[c].format, sizeof(m->cols[k].format));
        m->cols[k].nullable = t->cols[c].nullable;
    }
    return 0;
}

/* Does definition nt keep the invariants of alter.c over old: the primary key keeps its id,
 * type and nullability, a column of old keeps its type or widens it (es_type_widens), and any
 * other column is new (its id at least old's next_column_id) and nullable or with a default?
 * Else old parts would be read in types they were not written in, hold a dropped column's
 * values under a new one, or NULLs in a NOT NULL column. */
static int alter_fits(const es_tabledef *old, const es_tabledef *nt)
{
    if ((old->pk < 0) != (nt->pk < 0) ||
        (old->pk >= 0 && (old->cols[old->pk].id != nt->cols[nt->pk].id ||
                          strcmp(old->cols[old->pk].format, nt->cols[nt->pk].format) != 0 ||
                          old->cols[old->pk].nullable != nt->cols[nt->pk].nullable)))
        return 0;
    for (int64_t c = 0; c < nt->n_cols; c++) {
        const es_column *b = &nt->cols[c];
        int64_t k = 0;
        while (k < old->n_cols && old->cols[k].id != b->id)
            k++;
        char why[160];
        if (k == old->n_cols ? b->id < old->next_col_id || (!b->nullable && !b->def)
                             : strcmp(old->cols[k].format, b->format) != 0 &&
                                   !es_type_widens(&old->cols[k].type, &b->type, why, sizeof(why)))
            return 0;
    }
    return 1;
}

/* alter_table: table i of s takes the action's definition and keeps its parts. The new
 * definition must keep the table's id, never lower next_column_id, not take the name of
 * another live table, and fit the old one (alter_fits). */
static es_status apply_alter(es_snapshot *s, int64_t i, const es_action *a, const char *name,
                             es_error *err)
{
    if (i < 0)
        return es_error_set(err, ES_CORRUPT, 0, "%s: alteration of unknown table %s", name,
                            a->table_id);
    const es_tabledef *old = s->tables[i], *nt = a->table;
    const es_tabledef *other = es_snapshot_find(s, nt->name);
    if (nt->next_col_id < old->next_col_id || (other && other != old) || !alter_fits(old, nt))
        return es_error_set(err, ES_CORRUPT, 0, "%s: alteration of table %s does not fit", name,
                            a->table_id);
    es_tabledef *t;
    if (es_tabledef_copy(&t, nt))
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", name);
    es_free(t->parts);
    t->parts = es_calloc((size_t)(old->n_parts > 0 ? old->n_parts : 1), sizeof(es_part_meta *));
    if (!t->parts) {
        t->n_parts = 0;
        es_tabledef_unref(t);
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", name);
    }
    t->cap_parts = old->n_parts > 0 ? old->n_parts : 1;
    for (int64_t p = 0; p < old->n_parts; p++)
        t->parts[p] = es_part_meta_ref(old->parts[p]);
    t->n_parts = old->n_parts;
    t->rows = old->rows;
    t->bytes = old->bytes;
    es_tabledef_unref(s->tables[i]);
    s->tables[i] = t;
    return ES_OK;
}

/* The part action a names in table t (its index in t->parts, loading its manifest when needed:
 * by the key a carries, manifest.c), or -1. */
static es_status find_part(int64_t *out, const es_snapshot *s, es_tabledef *t, const es_action *a,
                           es_error *err)
{
    const char *id = a->part_id;
    int64_t p = 0;
    while (p < t->n_parts && strcmp(t->parts[p]->id, id) != 0)
        p++;
    if (p == t->n_parts && t->n_mf > 0) {
        es_status fs = es_manifest_find_part(&p, t, s->os, a, err);
        if (fs)
            return fs;
    }
    *out = p < 0 || p == t->n_parts ? -1 : p;
    return ES_OK;
}

static es_status apply_actions(es_snapshot *s, const es_entry *e, const char *name, es_error *err)
{
    for (int64_t k = 0; k < e->n_actions; k++) {
        const es_action *a = &e->actions[k];
        int64_t i = snapshot_index_id(s, a->table_id);
        switch (a->kind) {
        case ES_ACT_CREATE_TABLE:
            if (i >= 0 || es_snapshot_find(s, a->table->name))
                return es_error_set(err, ES_CORRUPT, 0, "%s: table '%s' created twice", name,
                                    a->table->name);
            if (snapshot_put_table(s, a->table))
                return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", name);
            break;
        case ES_ACT_DROP_TABLE:
            if (i < 0)
                return es_error_set(err, ES_CORRUPT, 0, "%s: drop of unknown table %s", name,
                                    a->table_id);
            es_tabledef_unref(s->tables[i]);
            memmove(&s->tables[i], &s->tables[i + 1],
                    (size_t)(s->n_tables - i - 1) * sizeof(es_tabledef *));
            s->n_tables--;
            break;
        case ES_ACT_ADD_PART:
            if (i < 0)
                return es_error_set(err, ES_CORRUPT, 0, "%s: part added to unknown table %s", name,
                                    a->table_id);
            for (int64_t c = 0; c < a->part->n_cols; c++)
                if (a->part->col_ids[c] < 0 || a->part->col_ids[c] >= s->tables[i]->next_col_id)
                    return es_error_set(err, ES_CORRUPT, 0, "%s: part %s has unknown column", name,
                                        a->part->id);
            if (resolve_part_cols(a->part, s->tables[i]))
                return es_error_set(err, ES_CORRUPT, 0, "%s: part %s has a column of no type", name,
                                    a->part->id);
            if (own_table(s, i) || tabledef_add_part(s->tables[i], a->part))
                return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", name);
            break;
        case ES_ACT_REMOVE_PART: {
            if (i < 0)
                return es_error_set(err, ES_CORRUPT, 0, "%s: part removed from unknown table %s",
                                    name, a->table_id);
            if (own_table(s, i))
                return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", name);
            es_tabledef *t = s->tables[i];
            int64_t p;
            es_status fs = find_part(&p, s, t, a, err);
            if (fs)
                return fs;
            if (p < 0)
                return es_error_set(err, ES_CORRUPT, 0, "%s: removal of unknown part %s", name,
                                    a->part_id);
            if (es_index_part_removed(t, a->part_id))
                return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", name);
            t->rows -= es_part_live_rows(t->parts[p]);
            t->bytes -= t->parts[p]->data_bytes;
            es_part_meta_unref(t->parts[p]);
            memmove(&t->parts[p], &t->parts[p + 1],
                    (size_t)(t->n_parts - p - 1) * sizeof(es_part_meta *));
            t->n_parts--;
            break;
        }
        case ES_ACT_SET_DV: {
            if (i < 0)
                return es_error_set(err, ES_CORRUPT, 0, "%s: deletion vector in unknown table %s",
                                    name, a->table_id);
            if (own_table(s, i))
                return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", name);
            es_tabledef *t = s->tables[i];
            int64_t p;
            es_status fs = find_part(&p, s, t, a, err);
            if (fs)
                return fs;
            if (p < 0)
                return es_error_set(err, ES_CORRUPT, 0, "%s: deletion vector of unknown part %s",
                                    name, a->part_id);
            if (a->dv->deleted > t->parts[p]->rows)
                return es_error_set(
                    err, ES_CORRUPT, 0, "%s: deletion vector of part %s deletes %lld of %lld rows",
                    name, a->part_id, (long long)a->dv->deleted, (long long)t->parts[p]->rows);
            /* Part metadata is shared between snapshots: copy on write. */
            es_part_meta *m;
            if (es_part_meta_copy(&m, t->parts[p]))
                return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", name);
            es_dvref_unref(m->dv);
            m->dv = es_dvref_ref(a->dv);
            t->rows += es_part_live_rows(m) - es_part_live_rows(t->parts[p]);
            es_part_meta_unref(t->parts[p]);
            t->parts[p] = m;
            break;
        }
        case ES_ACT_ALTER_TABLE: {
            es_status ast = apply_alter(s, i, a, name, err);
            if (ast)
                return ast;
            break;
        }
        case ES_ACT_VACUUM: /* no change to the catalog; writers check it (es_log_check_horizon) */
            s->mf_stale |= a->retain_from > s->mf_base;
            break;
        case ES_ACT_MANIFEST: {
            if (i < 0 || !e->checkpoint)
                return es_error_set(err, ES_CORRUPT, 0, "%s: manifest of unknown table %s", name,
                                    a->table_id);
            if (own_table(s, i))
                return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", name);
            es_status st = es_manifest_apply(s->tables[i], a, name, err);
            if (st)
                return st;
            break;
        }
        case ES_ACT_CREATE_INDEX:
        case ES_ACT_DROP_INDEX:
        case ES_ACT_ADD_INDEX: {
            if (i < 0)
                return es_error_set(err, ES_CORRUPT, 0, "%s: index of unknown table %s", name,
                                    a->table_id);
            if (own_table(s, i))
                return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", name);
            if (a->kind == ES_ACT_ADD_INDEX && a->index->n_cov == 1 && s->tables[i]->n_mf > 0) {
                /* Is the part live? When it is not listed, load its manifest (by the key the
                 * action carries) to find out: coverage names live parts only. */
                es_action at = *a;
                int64_t p;
                memcpy(at.part_id, a->index->cov[0].part, sizeof(at.part_id));
                es_status fs = find_part(&p, s, s->tables[i], &at, err);
                if (fs)
                    return fs;
            }
            es_status st = es_index_apply(s->tables[i], a, name, err);
            if (st)
                return st;
            break;
        }
        }
    }
    s->version = e->version;
    return ES_OK;
}

/* The hash chain: entry e names the checksum of entry e->version - 1, which s is at. */
static es_status check_prev(const es_snapshot *s, const es_entry *e, const char *name,
                            es_error *err)
{
    if (e->checkpoint || !e->has_prev || !s->has_crc || e->version != s->version + 1 ||
        e->prev == s->crc)
        return ES_OK;
    return es_error_set(err, ES_CORRUPT, 0,
                        "%s: names %08" PRIx32
                        " as the checksum of version %lld, which is %08" PRIx32
                        ": an entry was replaced or reordered",
                        name, e->prev, (long long)s->version, s->crc);
}

/* Keep the checksum of the entry s is now at (the hash chain). */
static es_status chain(es_snapshot *s, const es_entry *e, es_status st)
{
    if (!st && e->checkpoint == 1) { /* its manifests are named by the store */
        s->mf_base = e->version;
        s->mf_stale = 0;
    }
    if (!st) {
        s->has_crc = !e->checkpoint && e->has_crc;
        s->crc = s->has_crc ? e->crc : 0;
        int small = !e->checkpoint;
        for (int64_t i = 0; i < e->n_actions && small; i++)
            small = e->actions[i].kind == ES_ACT_ADD_PART && e->actions[i].part->inline_ipc;
        if (!small)
            s->last_change = e->version;
    }
    return st;
}

int es_log_wants_checkpoint(const es_snapshot *s, int64_t v)
{
    return v % ES_CHECKPOINT_INTERVAL == 0 &&
           (v % ES_CHECKPOINT_SPARSE == 0 || s->last_change > v - ES_CHECKPOINT_INTERVAL);
}

es_status es_snapshot_apply(es_snapshot *s, const es_entry *e, const char *name, es_error *err)
{
    /* An entry applies whole or not at all, so that a reader can stay at the version before an
     * entry that does not fit (or when memory runs out). A single action fails before it
     * changes anything; for more, keep references to the tables as they were (copy on write
     * then leaves them untouched) and put them back on failure. */
    es_status cst = check_prev(s, e, name, err);
    if (cst)
        return cst;
    if (e->n_actions <= 1)
        return chain(s, e, apply_actions(s, e, name, err));
    es_snapshot *before = NULL;
    if (es_snapshot_copy(&before, s))
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", name);
    es_status st = apply_actions(s, e, name, err);
    if (st) {
        es_tabledef **t = s->tables;
        int64_t n = s->n_tables, cap = s->cap_tables;
        s->tables = before->tables;
        s->n_tables = before->n_tables;
        s->cap_tables = before->cap_tables;
        before->tables = t;
        before->n_tables = n;
        before->cap_tables = cap;
    }
    es_snapshot_free(before);
    return chain(s, e, st);
}

void es_log_key(char *buf, size_t cap, int64_t version, int checkpoint)
{
    snprintf(buf, cap, "_log/%020" PRId64 ".%s", version, checkpoint ? "checkpoint" : "json");
}

#define HINT_KEY ES_LOG_HINT_KEY

int64_t es_log_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Decode entry (or checkpoint) `version` from its bytes; it must record that version. */
static es_status decode_entry(es_entry *e, const es_blob *b, int64_t version, int checkpoint,
                              const char *key, es_error *err)
{
    es_status st = es_entry_decode(e, b->data, b->size, key, err);
    if (st)
        return st;
    if (e->version != version || e->checkpoint != checkpoint) {
        es_entry_reset(e);
        return es_error_set(err, ES_CORRUPT, 0, "%s: records version %lld", key,
                            (long long)e->version);
    }
    return ES_OK;
}

/* An empty entry is torn: a crash cut its put short, so it was never acknowledged (FORMAT.md
 * §3, "Torn entries"). It reads as absent (ES_NOT_FOUND); *torn (nullable) says so. */
static es_status torn_entry(es_blob **b, const char *key, int *torn, es_error *err)
{
    if (torn)
        *torn = 1;
    es_blob_unref(*b);
    *b = NULL;
    return es_error_set(err, ES_NOT_FOUND, 0,
                        "%s: empty (torn by a crash, never acknowledged): treated as absent", key);
}

/* GET entry or checkpoint `key` whole; a torn (empty) one is ES_NOT_FOUND. */
static es_status get_entry(es_blob **b, es_objstore *os, const char *key, int *torn, es_error *err)
{
    if (torn)
        *torn = 0;
    es_status st = es_objstore_get(os, key, 0, UINT64_MAX, b, err);
    if (st == ES_OK && (*b)->size == 0)
        st = torn_entry(b, key, torn, err);
    return st;
}

/* Read and decode one entry. ES_NOT_FOUND when absent or torn (*torn, nullable, set then). */
es_status es_log_read_entry_torn(es_entry *e, es_objstore *os, int64_t version, int checkpoint,
                                 int *torn, es_error *err)
{
    char key[64];
    es_blob *b = NULL;
    es_log_key(key, sizeof(key), version, checkpoint);
    es_status st = get_entry(&b, os, key, torn, err);
    if (st)
        return st;
    st = decode_entry(e, b, version, checkpoint, key, err);
    es_blob_unref(b);
    return st;
}

static es_status read_entry(es_entry *e, es_objstore *os, int64_t version, int checkpoint,
                            es_error *err)
{
    return es_log_read_entry_torn(e, os, version, checkpoint, NULL, err);
}

es_status es_log_read_entry(es_entry *out, es_objstore *os, int64_t version, int checkpoint,
                            es_error *err)
{
    return read_entry(out, os, version, checkpoint, err);
}

/* Who watches the entries a sync applies (es_log_sync_observe): the callback, and the first
 * failure it returned (which stops the sync; it is not damage of the log). */
typedef struct log_observer {
    es_log_observe_fn fn;
    void *ctx;
    es_status st;
    es_error err;
} log_observer;

static int observer_stopped(const log_observer *obs)
{
    return obs && obs->st != ES_OK;
}

/* Decode entry v from its bytes and apply it to s (whole or not at all), then show it to the
 * observer (nullable). */
static es_status apply_blob(es_snapshot *s, int64_t v, const es_blob *b, log_observer *obs,
                            es_error *err)
{
    char key[64];
    es_entry e;
    es_log_key(key, sizeof(key), v, 0);
    es_status st = decode_entry(&e, b, v, 0, key, err);
    if (st)
        return st;
    st = es_snapshot_apply(s, &e, key, err);
    if (st == ES_OK && obs && obs->fn && obs->st == ES_OK)
        obs->st = obs->fn(obs->ctx, s, &e, &obs->err);
    es_entry_reset(&e);
    return st;
}

/* ------------------------------------------------------------------ holes (invariant 8) */

/* What proves that versions after a hole were committed: the newest entry and the newest
 * checkpoint listed after it, and the version the hint names (-1: none). */
typedef struct later_proof {
    int64_t entry, ckpt, hint;
} later_proof;

static int64_t proof_max(const later_proof *p)
{
    int64_t m = p->entry > p->ckpt ? p->entry : p->ckpt;
    return m > p->hint ? m : p->hint;
}

/* The versions of the entries listed under _log/ after some entry, ascending. */
typedef struct log_list {
    int64_t *v;
    int64_t n, cap;
    later_proof last; /* newest entry and checkpoint listed; hint -1 */
    int partial;      /* list_log_pages stopped after its first page with keys left */
} log_list;

/* The version of "_log/<20 digits>.json" or ".checkpoint", or -1 for any other key (the hint,
 * foreign objects). A key under an entry key ("<entry>/x") counts as the entry: in a local
 * store that entry is then a directory, and reading it will say so. */
static int64_t parse_log_key(const char *key, int *checkpoint)
{
    if (strncmp(key, "_log/", 5) != 0)
        return -1;
    const char *p = key + 5;
    int64_t v = 0;
    for (int i = 0; i < 20; i++, p++) {
        if (*p < '0' || *p > '9' || v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (*p - '0');
    }
    *checkpoint = strcmp(p, ".checkpoint") == 0;
    if (*checkpoint || (strncmp(p, ".json", 5) == 0 && (p[5] == 0 || p[5] == '/')))
        return v;
    return -1;
}

static int cmp_version(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static es_status list_log_pages(log_list *out, es_objstore *os, int64_t after, int one_page,
                                es_error *err);

/* List _log/ after the entry of version `after` (-1: from the start): one LIST request, more
 * only when more than a page of keys follows (a long tail, or no checkpoint). */
static es_status list_log(log_list *out, es_objstore *os, int64_t after, es_error *err)
{
    return list_log_pages(out, os, after, 0, err);
}

/* list_log, or only its first page when one_page (out->partial when keys were left). */
static es_status list_log_pages(log_list *out, es_objstore *os, int64_t after, int one_page,
                                es_error *err)
{
    char start[64];
    char *cursor = NULL;
    es_status st = ES_OK;
    memset(out, 0, sizeof(*out));
    out->last.entry = out->last.ckpt = out->last.hint = -1;
    if (after >= 0)
        es_log_key(start, sizeof(start), after, 0);
    for (;;) {
        es_obj_list page = {0};
        st = es_objstore_list(os, "_log/",
                              cursor       ? cursor
                              : after >= 0 ? start
                                           : NULL,
                              0, &page, err);
        for (int64_t i = 0; i < page.n && !st; i++) {
            int ck = 0;
            int64_t v = parse_log_key(page.items[i].key, &ck);
            if (v <= after) /* also -1: not a log object */
                continue;
            if (ck) {
                out->last.ckpt = v > out->last.ckpt ? v : out->last.ckpt;
                continue;
            }
            if (page.items[i].size == 0 && !strchr(page.items[i].key + 5, '/'))
                continue; /* torn: as absent */
            out->last.entry = v > out->last.entry ? v : out->last.entry;
            if (out->n == out->cap) {
                int64_t cap = out->cap ? out->cap * 2 : 16;
                int64_t *p = es_realloc(out->v, (size_t)cap * sizeof(*p));
                if (!p) {
                    st = es_error_set(err, ES_NOMEM, 0, "list _log/: out of memory");
                    break;
                }
                out->v = p;
                out->cap = cap;
            }
            out->v[out->n++] = v;
        }
        int more = !st && page.truncated && page.n > 0;
        if (more && one_page) {
            out->partial = 1;
            more = 0;
        }
        if (more) {
            es_free(cursor);
            if (!(cursor = es_strdup(page.items[page.n - 1].key)))
                st = es_error_set(err, ES_NOMEM, 0, "list _log/: out of memory");
        }
        es_obj_list_reset(&page);
        if (!more || st)
            break;
    }
    es_free(cursor);
    if (st) {
        es_free(out->v);
        memset(out, 0, sizeof(*out));
        return st;
    }
    /* Keys come in byte order, which is version order; sort anyway, drop repeats. */
    if (out->n > 1)
        qsort(out->v, (size_t)out->n, sizeof(int64_t), cmp_version);
    int64_t k = 0;
    for (int64_t i = 0; i < out->n; i++)
        if (k == 0 || out->v[i] != out->v[k - 1])
            out->v[k++] = out->v[i];
    out->n = k;
    return ES_OK;
}

/* The end of a damage message: what a reader can still do. */
static void consequence(char *buf, size_t cap, int64_t at, int64_t target)
{
    if (target >= 0)
        snprintf(buf, cap, "version %lld cannot be read", (long long)target);
    else if (at >= 0)
        snprintf(buf, cap, "reads continue at version %lld", (long long)at);
    else
        snprintf(buf, cap, "no version can be read");
}

/* Entry v is absent although p proves a later version. target: the version being read by
 * time travel, or -1 when reads continue at v - 1. */
static es_status hole(es_error *err, int64_t v, const later_proof *p, int64_t target)
{
    char key[64], later[96], cons[64];
    es_log_key(key, sizeof(key), v, 0);
    if (p->entry >= p->ckpt && p->entry >= p->hint)
        snprintf(later, sizeof(later), "later version %lld exists", (long long)p->entry);
    else if (p->ckpt >= p->hint)
        snprintf(later, sizeof(later), "a checkpoint of version %lld exists", (long long)p->ckpt);
    else
        snprintf(later, sizeof(later), "%s names version %lld", HINT_KEY, (long long)p->hint);
    consequence(cons, sizeof(cons), v - 1, target);
    return es_error_set(err, ES_CORRUPT, 0, "%s: missing, but %s: the log is damaged; %s", key,
                        later, cons);
}

/* Entry v is listed, but a GET finds no object there (why: the store's message). */
static es_status unreadable(es_error *err, int64_t v, const char *why, int64_t target)
{
    char key[64], cons[64];
    es_log_key(key, sizeof(key), v, 0);
    consequence(cons, sizeof(cons), v - 1, target);
    return es_error_set(err, ES_CORRUPT, 0,
                        "%s: listed, but reading it finds no object (%s): the log is damaged; %s",
                        key, why, cons);
}

/* Entry v is there but does not decode or apply (why: the message naming it). */
static es_status bad_entry(es_error *err, int64_t v, const char *why, int64_t target)
{
    char cons[64];
    consequence(cons, sizeof(cons), v - 1, target);
    return es_error_set(err, ES_CORRUPT, 0, "%s: the log is damaged; %s", why, cons);
}

static void clear_error(es_error *e)
{
    e->code = ES_OK;
    e->sys_code = 0;
    e->msg[0] = 0;
}

/* The outcome of applying entry v to s: a bad entry becomes s->damage (reads stay before it);
 * other failures are returned. */
static es_status settle(es_snapshot *s, int64_t v, es_status st, const es_error *sub, es_error *err)
{
    if (st == ES_CORRUPT) {
        bad_entry(&s->damage, v, sub->msg, -1);
        return ES_OK;
    }
    if (st && err)
        *err = *sub;
    return st;
}

/* GET entry v and apply it. listed: a listing showed it; else p proves a later version, so
 * its absence is a hole. Damage goes to s->damage; other failures are returned. */
static es_status fetch_one(es_snapshot *s, es_objstore *os, int64_t v, int listed,
                           const later_proof *p, log_observer *obs, es_error *err)
{
    char key[64];
    es_blob *b = NULL;
    es_error sub;
    es_log_key(key, sizeof(key), v, 0);
    es_status st = get_entry(&b, os, key, NULL, &sub);
    if (st == ES_NOT_FOUND) {
        if (listed)
            unreadable(&s->damage, v, sub.msg, -1);
        else
            hole(&s->damage, v, p, -1);
        return ES_OK;
    }
    if (st == ES_OK) {
        st = apply_blob(s, v, b, obs, &sub);
        es_blob_unref(b);
    }
    return settle(s, v, st, &sub, err);
}

#define FETCH_RUN 16
/* The entries read after the hinted checkpoint unlisted (open_ahead_fetch): an interval's. */
#define SPECULATE_RUN (ES_CHECKPOINT_INTERVAL - 1)

/* The n (<= FETCH_RUN) listed entries from v fetched at once (get_many: in parallel where the
 * store can), then applied in order. A request that failed is retried alone for its message. */
static es_status fetch_run(es_snapshot *s, es_objstore *os, int64_t v, int64_t n,
                           const later_proof *p, log_observer *obs, es_error *err)
{
    char keys[FETCH_RUN][64];
    es_range_req reqs[FETCH_RUN];
    memset(reqs, 0, sizeof(reqs));
    for (int64_t k = 0; k < n; k++) {
        es_log_key(keys[k], sizeof(keys[k]), v + k, 0);
        reqs[k].key = keys[k];
        reqs[k].len = UINT64_MAX;
    }
    es_error sub;
    (void)es_objstore_get_many(os, reqs, n, &sub); /* every request carries its status */
    es_status st = ES_OK;
    for (int64_t k = 0; k < n; k++) {
        if (st == ES_OK && s->damage.code == ES_OK && !observer_stopped(obs)) {
            if (reqs[k].status != ES_OK || reqs[k].out->size == 0) {
                st = fetch_one(s, os, v + k, 1, p, obs, err);
            } else {
                st = apply_blob(s, v + k, reqs[k].out, obs, &sub);
                st = settle(s, v + k, st, &sub, err);
            }
        }
        es_blob_unref(reqs[k].out);
    }
    return st;
}

/* Bring s to the end of the log: one LIST of _log/ after s's entry, then the entries listed,
 * in order. A version that is not listed although a later entry or checkpoint is (or the hint
 * named one, s->hint) is fetched alone, in case the listing lagged behind; when it is absent
 * that is a hole. A hole or a bad entry leaves s at the version before it with s->damage set,
 * and returns ES_OK; other failures are returned. */
/* Entries fetched ahead (an open reads the listed entries after the hinted checkpoint with the
 * checkpoint, in one round): reqs[k] holds entry v0 + k. Entries are immutable once created,
 * so bytes fetched for version v are version v's whatever the snapshot they are applied to; an
 * empty (torn) or failed one is fetched again in the usual way. */
typedef struct log_ahead {
    int64_t v0, n;
    es_range_req *reqs;
} log_ahead;

static es_status sync_listed(es_snapshot *s, es_objstore *os, log_observer *obs, log_list l,
                             const log_ahead *ahead, es_error *err);

static es_status sync_tail(es_snapshot *s, es_objstore *os, log_observer *obs, es_error *err)
{
    log_list l;
    es_status st = list_log(&l, os, s->version, err);
    if (st)
        return st;
    return sync_listed(s, os, obs, l, NULL, err);
}

/* The bytes of entry v when `ahead` (nullable) fetched them whole, else NULL. */
static const es_blob *ahead_blob(const log_ahead *ahead, int64_t v)
{
    if (!ahead || v < ahead->v0 || v >= ahead->v0 + ahead->n)
        return NULL;
    const es_range_req *r = &ahead->reqs[v - ahead->v0];
    return r->status == ES_OK && r->out && r->out->size > 0 ? r->out : NULL;
}

/* sync_tail with the listing of _log/ after s->version already made (freed here), and the
 * entries fetched ahead (nullable). */
static es_status sync_listed(es_snapshot *s, es_objstore *os, log_observer *obs, log_list l,
                             const log_ahead *ahead, es_error *err)
{
    es_status st = ES_OK;
    l.last.hint = s->hint;
    es_error before = s->damage; /* kept if this call fails before learning better */
    int64_t v0 = s->version, i = 0;
    clear_error(&s->damage);
    while (st == ES_OK && s->damage.code == ES_OK && !observer_stopped(obs)) {
        int64_t next = s->version + 1;
        while (i < l.n && l.v[i] < next)
            i++;
        const es_blob *pre = ahead_blob(ahead, next);
        if (pre && i < l.n && l.v[i] == next) {
            es_error sub;
            st = settle(s, next, apply_blob(s, next, pre, obs, &sub), &sub, err);
            i++;
        } else if (i < l.n && l.v[i] == next) {
            int64_t j = i + 1;
            while (j < l.n && j - i < FETCH_RUN && l.v[j] == next + (j - i) &&
                   !ahead_blob(ahead, next + (j - i)))
                j++;
            st = j - i == 1 ? fetch_one(s, os, next, 1, &l.last, obs, err)
                            : fetch_run(s, os, next, j - i, &l.last, obs, err);
            i = j;
        } else if (next <= proof_max(&l.last)) {
            st = fetch_one(s, os, next, 0, &l.last, obs, err);
        } else {
            break; /* the end of the log */
        }
    }
    es_free(l.v);
    if (st != ES_OK && s->version == v0)
        s->damage = before;
    return st;
}

int64_t es_log_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int es_log_end_known(const es_snapshot *s)
{
    return s->damage.code == ES_OK && !s->mf_stale && s->end_ms > 0 &&
           es_log_mono_ms() - s->end_ms < ES_LOG_END_TRUST_MS;
}

es_status es_log_sync(es_snapshot *s, es_objstore *os, es_error *err)
{
    return es_log_sync_observe(s, os, NULL, NULL, err);
}

es_status es_log_sync_observe(es_snapshot *s, es_objstore *os, es_log_observe_fn fn, void *ctx,
                              es_error *err)
{
    log_observer obs;
    memset(&obs, 0, sizeof(obs));
    obs.fn = fn;
    obs.ctx = ctx;
    es_status st = sync_tail(s, os, fn ? &obs : NULL, err);
    if (st == ES_OK && obs.st != ES_OK) {
        if (err)
            *err = obs.err;
        return obs.st;
    }
    if (st == ES_OK && s->damage.code != ES_OK) {
        if (err)
            *err = s->damage;
        st = ES_CORRUPT;
    }
    return st;
}

es_status es_log_refresh(es_snapshot *s, es_objstore *os, es_error *err)
{
    for (;;) {
        int64_t v = s->version + 1;
        char key[64];
        es_blob *b = NULL;
        es_error sub;
        es_log_key(key, sizeof(key), v, 0);
        es_status st = get_entry(&b, os, key, NULL, &sub);
        if (st == ES_NOT_FOUND)
            return ES_OK; /* the end, or a hole: only a listing can tell (es_log_sync) */
        if (st == ES_OK) {
            st = apply_blob(s, v, b, NULL, &sub);
            es_blob_unref(b);
        }
        if (st != ES_OK)
            return settle(s, v, st, &sub, err);
        clear_error(&s->damage); /* past the version it was about */
    }
}

static es_status read_hint(int64_t *out, es_objstore *os, es_error *warn, es_error *err);

es_status es_log_sync_write(es_snapshot *s, es_objstore *os, es_error *err)
{
    if (s->damage.code == ES_OK) {
        es_status st = es_log_refresh(s, os, err);
        int64_t hint = -1;
        if (st == ES_OK && s->damage.code == ES_OK)
            st = read_hint(&hint, os, NULL, err);
        if (st != ES_OK)
            return st;
        if (s->damage.code == ES_OK && hint <= s->version)
            return ES_OK; /* nothing says that anything lies past a missing entry */
    }
    return es_log_sync(s, os, err); /* known damage, or a checkpoint past the end: LIST */
}

/* Time travel: apply entries after s->version up to `upto`. An absent entry is looked up in a
 * listing (error path only): ES_NOT_FOUND when nothing later exists, else ES_CORRUPT naming it. */
static es_status replay_to(es_snapshot *s, es_objstore *os, int64_t upto, es_error *err)
{
    int listed = 0; /* the absent entry was listed: retried once */
    while (s->version < upto) {
        int64_t v = s->version + 1;
        char key[64];
        es_blob *b = NULL;
        es_error sub;
        es_log_key(key, sizeof(key), v, 0);
        es_status st = get_entry(&b, os, key, NULL, &sub);
        if (st == ES_NOT_FOUND) {
            if (listed)
                return unreadable(err, v, sub.msg, upto);
            log_list l;
            st = list_log(&l, os, v - 1, err);
            if (st)
                return st;
            listed = l.n > 0 && l.v[0] == v; /* created meanwhile, or unreadable */
            later_proof p = l.last;
            es_free(l.v);
            if (listed)
                continue;
            if (proof_max(&p) >= 0)
                return hole(err, v, &p, upto);
            if (v == 0)
                return es_error_set(err, ES_NOT_FOUND, 0, "%s: no store here (no _log/)",
                                    os->uri ? os->uri : "store");
            return es_error_set(err, ES_NOT_FOUND, 0,
                                "version %lld does not exist (the latest is %lld)", (long long)upto,
                                (long long)(v - 1));
        }
        if (st == ES_OK) {
            st = apply_blob(s, v, b, NULL, &sub);
            es_blob_unref(b);
        }
        if (st == ES_CORRUPT)
            return bad_entry(err, v, sub.msg, upto);
        if (st) {
            if (err)
                *err = sub;
            return st;
        }
        listed = 0;
    }
    return ES_OK;
}

/* Opening lists the log's tail after the hinted checkpoint while it reads that checkpoint:
 * the LIST runs on a thread of its own (one round trip for both). */
typedef struct early_list {
    es_objstore *os;
    int64_t after;
    int one_page;
    log_list l;
    es_status st;
    es_error err;
} early_list;

static void *early_list_run(void *p)
{
    early_list *e = p;
    e->st = list_log_pages(&e->l, e->os, e->after, e->one_page, &e->err);
    return NULL;
}

/* Build a snapshot from checkpoint c (its bytes in pre when fetched already, else read here);
 * ES_NOT_FOUND / ES_CORRUPT when unusable. */
static es_status from_checkpoint(es_snapshot **out, es_objstore *os, int64_t c, const es_blob *pre,
                                 es_error *err)
{
    es_entry e;
    es_snapshot *s = NULL;
    *out = NULL;
    char key[64];
    es_log_key(key, sizeof(key), c, 1);
    es_status st = pre && pre->size > 0 ? decode_entry(&e, pre, c, 1, key, err)
                                        : read_entry(&e, os, c, 1, err);
    if (st)
        return st;
    st = es_snapshot_new(&s);
    if (!st) {
        s->os = os;
        st = es_snapshot_apply(s, &e, key, err);
    }
    es_entry_reset(&e);
    if (st) {
        es_snapshot_free(s);
        return st;
    }
    *out = s;
    return ES_OK;
}

/* The version the hint names in *out, -1 when the hint is missing or bad (invariant 1); a hint
 * that is there but unusable is noted in warn. A store that cannot be read at all (denied,
 * unreachable, silent) fails here, once, instead of again at the replay. */
static es_status read_hint(int64_t *out, es_objstore *os, es_error *warn, es_error *err)
{
    es_blob *b = NULL;
    es_error sub;
    int64_t v = -1;
    *out = -1;
    es_status st = es_objstore_get(os, HINT_KEY, 0, UINT64_MAX, &b, &sub);
    if (st == ES_NOMEM || st == ES_REMOTE || st == ES_TRANSIENT || st == ES_IO) {
        if (err)
            *err = sub;
        return st;
    }
    if (st != ES_OK) {
        if (st != ES_NOT_FOUND && warn)
            es_error_set(warn, ES_OK, 0, "%s; ignored", sub.msg);
        return ES_OK;
    }
    st = es_log_hint_decode(&v, b->data, b->size, &sub);
    if (st != ES_OK && warn)
        es_error_set(warn, ES_OK, 0, "%s; ignored", sub.msg);
    es_blob_unref(b);
    *out = v;
    return ES_OK;
}

static es_status load(es_snapshot **out, es_error *warn, es_objstore *os, int64_t version,
                      es_error *err);

es_status es_log_load(es_snapshot **out, es_error *warn, es_objstore *os, int64_t version,
                      es_error *err)
{
    es_status st = load(out, warn, os, version, err);
    if (st != ES_NOT_FOUND && st != ES_CORRUPT)
        return st;
    /* Versions expired by vacuum (log retention) are gone: say so, and open at the oldest
     * retained checkpoint when nothing newer could be found. */
    int64_t oldest = 0;
    es_error rerr;
    if (es_log_retention(&oldest, os, &rerr) != ES_OK || oldest <= 0)
        return st;
    if (version >= 0 && version < oldest)
        return es_error_set(err, ES_NOT_FOUND, 0,
                            "version %lld is past the log retention: the oldest retained version "
                            "is %lld",
                            (long long)version, (long long)oldest);
    if (version >= 0)
        return st;
    es_snapshot *s = NULL;
    es_error lerr;
    if (load(&s, NULL, os, oldest, &lerr) != ES_OK)
        return st;
    es_status sst = es_log_sync(s, os, &lerr);
    if (sst && sst != ES_CORRUPT) {
        es_snapshot_free(s);
        return st;
    }
    *out = s;
    if (warn)
        es_error_set(warn, ES_OK, 0,
                     "%s: unusable; opening read the oldest retained checkpoint (version %lld)",
                     HINT_KEY, (long long)oldest);
    return ES_OK;
}

/* What an open fetches in its second round: the hinted checkpoint and the entries after it, in
 * one get_many (FORMAT.md section 6, step 3): those the first page of _log/ listed when it
 * held the whole log, else (the tail's LIST in flight meanwhile) speculatively those an
 * interval leaves; sync_listed applies only those its listing shows and refetches the rest. */
typedef struct open_ahead {
    char (*keys)[64];
    es_range_req *reqs; /* reqs[0] the checkpoint, reqs[1 + k] entry c + 1 + k */
    int64_t n;
} open_ahead;

/* Checkpoint c and the entries after it that the listing l shows, or without l (nullable) the
 * SPECULATE_RUN after it. */
static void open_ahead_fetch(open_ahead *a, es_objstore *os, int64_t c, const log_list *l)
{
    memset(a, 0, sizeof(*a));
    int64_t i = 0, n = l ? 0 : SPECULATE_RUN;
    while (l && i < l->n && l->v[i] <= c)
        i++;
    while (l && i + n < l->n && n < FETCH_RUN && l->v[i + n] == c + 1 + n)
        n++;
    a->keys = es_calloc((size_t)(n + 1), sizeof(*a->keys));
    a->reqs = es_calloc((size_t)(n + 1), sizeof(*a->reqs));
    if (!a->keys || !a->reqs) { /* the reads are then made one by one */
        es_free(a->keys);
        es_free(a->reqs);
        memset(a, 0, sizeof(*a));
        return;
    }
    a->n = n + 1;
    for (int64_t k = 0; k < a->n; k++) {
        es_log_key(a->keys[k], sizeof(a->keys[k]), c + k, k == 0);
        a->reqs[k].key = a->keys[k];
        a->reqs[k].len = UINT64_MAX;
    }
    es_error sub;
    (void)es_objstore_get_many(os, a->reqs, a->n, &sub); /* each request carries its status */
}

static void open_ahead_free(open_ahead *a)
{
    for (int64_t k = 0; k < a->n; k++)
        es_blob_unref(a->reqs[k].out);
    es_free(a->reqs);
    es_free(a->keys);
    memset(a, 0, sizeof(*a));
}

static es_status load(es_snapshot **out, es_error *warn, es_objstore *os, int64_t version,
                      es_error *err)
{
    *out = NULL;
    if (warn)
        clear_error(warn);
    es_snapshot *s = NULL;
    es_status st = ES_OK;
    int64_t hint = -1;
    /* Opening the newest version: the first page of _log/ is listed while the hint is read
     * (one round trip for both). When that page holds the whole log, it is the listing the
     * tail is synced from (sync_listed skips what the checkpoint covers), so a log without a
     * checkpoint takes two round trips to open: hint and LIST, then the entries. */
    log_list whole;
    int have_whole = 0;
    early_list early;
    pthread_t lister;
    int listing = 0;
    if (version < 0) {
        memset(&early, 0, sizeof(early));
        early.os = os;
        early.after = -1;
        early.one_page = 1;
        listing = pthread_create(&lister, NULL, early_list_run, &early) == 0;
    }
    if (version < 0)
        st = read_hint(&hint, os, warn, err);
    if (listing) {
        pthread_join(lister, NULL);
        listing = 0;
        if (early.st == ES_OK && !early.l.partial) {
            whole = early.l;
            have_whole = 1;
        } else {
            es_free(early.l.v);
        }
    }
    if (st) {
        if (have_whole)
            es_free(whole.v);
        return st;
    }
    int64_t c = version < 0 ? hint : version / ES_CHECKPOINT_INTERVAL * ES_CHECKPOINT_INTERVAL;
    if (version < 0 && hint > 0 && !have_whole) {
        memset(&early, 0, sizeof(early));
        early.os = os;
        early.after = hint;
        listing = pthread_create(&lister, NULL, early_list_run, &early) == 0;
    }
    open_ahead ahead = {NULL, NULL, 0};
    if (version < 0 && hint > 0)
        open_ahead_fetch(&ahead, os, hint, have_whole ? &whole : NULL);
    /* Try the hinted (or nearest) checkpoint, then a few older ones, then replay from 0. */
    for (int tries = 0; c > 0 && tries < 3 && !s; tries++, c -= ES_CHECKPOINT_INTERVAL,
             c = tries == 2 ? c / ES_CHECKPOINT_SPARSE * ES_CHECKPOINT_SPARSE : c) {
        es_error sub;
        const es_blob *pre =
            tries == 0 && ahead.n > 0 && ahead.reqs[0].status == ES_OK ? ahead.reqs[0].out : NULL;
        st = from_checkpoint(&s, os, c, pre, &sub);
        if (st == ES_NOMEM) {
            s = NULL;
            st = es_error_set(err, ES_NOMEM, 0, "%s", sub.msg);
            break;
        }
        if (st && tries == 0 && version < 0 && warn && !warn->msg[0]) {
            char key[64];
            es_log_key(key, sizeof(key), c, 1);
            if (st == ES_NOT_FOUND)
                es_error_set(warn, ES_OK, 0,
                             "%s: missing, but %s names it; opening read older objects instead",
                             key, HINT_KEY);
            else
                es_error_set(warn, ES_OK, 0, "%s; ignored: opening read older objects instead",
                             sub.msg);
        }
        if (version < 0)
            c = c / ES_CHECKPOINT_INTERVAL * ES_CHECKPOINT_INTERVAL;
    }
    if (listing) /* the listing made meanwhile: used below only if the hinted checkpoint was */
        pthread_join(lister, NULL);
    if (st == ES_NOMEM || (!s && es_snapshot_new(&s))) {
        open_ahead_free(&ahead);
        if (listing)
            es_free(early.l.v);
        if (have_whole)
            es_free(whole.v);
        return st == ES_NOMEM ? st : es_error_set(err, ES_NOMEM, 0, "log: out of memory");
    }
    s->os = os;
    if (version >= 0) {
        st = replay_to(s, os, version, err);
    } else {
        s->hint = hint;
        st = ES_OK;
        log_ahead la = {hint + 1, ahead.n > 0 ? ahead.n - 1 : 0,
                        ahead.n > 0 ? ahead.reqs + 1 : NULL};
        if (have_whole) {
            st = sync_listed(s, os, NULL, whole, &la, err);
        } else if (listing) {
            listing = 0;
            if (early.st == ES_OK && s->version == hint) {
                st = sync_listed(s, os, NULL, early.l, &la, err);
            } else {
                es_free(early.l.v);
                st = sync_tail(s, os, NULL, err);
            }
        } else {
            st = sync_tail(s, os, NULL, err);
        }
        if (st == ES_OK && s->version < 0 && s->damage.code != ES_OK) {
            if (err)
                *err = s->damage;
            st = ES_CORRUPT;
        } else if (st == ES_OK && s->version < 0) {
            st = es_error_set(err, ES_NOT_FOUND, 0, "%s: no store here (no _log/)",
                              os->uri ? os->uri : "store");
        }
    }
    open_ahead_free(&ahead);
    if (st) {
        es_snapshot_free(s);
        return st;
    }
    *out = s;
    return ES_OK;
}

/* Read entry v written by someone (after losing a race) and apply it to s. */
