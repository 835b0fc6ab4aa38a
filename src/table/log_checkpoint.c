/*
 * log_checkpoint: writing a checkpoint (log.c, FORMAT.md section 4): the catalog at a version as
 * one entry, tables of many parts as manifests (manifest.c), put if absent, best effort.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "table/log.h"

static es_status snapshot_entry(es_entry *e, const es_snapshot *s)
{
    memset(e, 0, sizeof(*e));
    int64_t n = 0;
    for (int64_t i = 0; i < s->n_tables; i++) {
        n += 1 + s->tables[i]->n_parts + es_index_checkpoint_actions(NULL, s->tables[i]);
        for (int64_t p = 0; p < s->tables[i]->n_parts; p++)
            n += s->tables[i]->parts[p]->dv != NULL;
    }
    e->actions = es_calloc((size_t)(n > 0 ? n : 1), sizeof(es_action));
    if (!e->actions)
        return ES_NOMEM;
    e->version = s->version;
    e->checkpoint = 1;
    e->time_ms = es_log_now_ms();
    es_part_new_id(e->txn);
    for (int64_t i = 0; i < s->n_tables; i++) {
        es_tabledef *t = s->tables[i];
        /* The create action of a checkpoint carries no parts: copy without them. */
        es_tabledef *bare;
        if (es_tabledef_new(&bare))
            return ES_NOMEM;
        es_action *a = &e->actions[e->n_actions++];
        a->kind = ES_ACT_CREATE_TABLE;
        a->table = bare;
        memcpy(a->table_id, t->id, sizeof(t->id));
        memcpy(bare->id, t->id, sizeof(t->id));
        bare->name = es_strdup(t->name);
        bare->pk = t->pk;
        bare->next_col_id = t->next_col_id;
        bare->cols = es_calloc((size_t)t->n_cols, sizeof(es_column));
        if (!bare->name || !bare->cols)
            return ES_NOMEM;
        for (int64_t k = 0; k < t->n_cols; k++) {
            if (es_column_copy(&bare->cols[k], &t->cols[k]))
                return ES_NOMEM;
            bare->n_cols = k + 1;
        }
        /* Parts with objects, each followed by its vector; then the inline parts together
         * (one add_inline for all of them, log_entry.c), then their vectors. */
        for (int64_t k = 0; k < 3 * t->n_parts; k++) {
            int64_t p = k % t->n_parts, pass = k / t->n_parts;
            int inl = t->parts[p]->inline_ipc != NULL;
            if (inl != (pass > 0) || (pass == 2 && !t->parts[p]->dv))
                continue;
            if (pass < 2) {
                a = &e->actions[e->n_actions++];
                a->kind = ES_ACT_ADD_PART;
                memcpy(a->table_id, t->id, sizeof(t->id));
                a->part = es_part_meta_ref(t->parts[p]);
                a->table = es_tabledef_ref(t); /* part columns of another type than t's are named */
            }
            if (t->parts[p]->dv && pass != 1) {
                /* The live deletion vector follows its part. */
                a = &e->actions[e->n_actions++];
                a->kind = ES_ACT_SET_DV;
                memcpy(a->table_id, t->id, sizeof(t->id));
                memcpy(a->part_id, t->parts[p]->id, sizeof(a->part_id));
                a->dv = es_dvref_ref(t->parts[p]->dv);
            }
        }
        e->n_actions += es_index_checkpoint_actions(&e->actions[e->n_actions], t);
    }
    return ES_OK;
}

int es_snapshot_mf_stale(const es_snapshot *s)
{
    for (int64_t i = 0; s->mf_stale && i < s->n_tables; i++)
        if (s->tables[i]->n_mf > 0)
            return 1;
    return 0;
}

es_status es_log_checkpoint(es_snapshot *s, es_objstore *os, es_error *err)
{
    es_entry e;
    es_buf b = {0};
    char key[64];
    if (es_snapshot_mf_stale(s))
        return ES_OK; /* vacuum.c: the next sync loads the store again */
    int64_t started = es_log_now_ms();
    es_status st = snapshot_entry(&e, s);
    if (st) {
        es_entry_reset(&e);
        return es_error_set(err, ES_NOMEM, 0, "checkpoint: out of memory");
    }
    st = es_manifest_checkpoint(&e, s, os, err);
    s->mf_base = -1; /* the tables name its manifests: no checkpoint names them until put */
    if (!st)
        st = es_entry_encode(&b, &e, err);
    es_entry_reset(&e);
    if (st) {
        es_buf_reset(&b);
        return st;
    }
    es_log_key(key, sizeof(key), s->version, 1);
    if (es_log_now_ms() - started > ES_CHECKPOINT_LATE_MS) { /* vacuum may not wait for it: skip */
        es_buf_reset(&b);
        s->mf_base = -1;
        return ES_OK;
    }
    st = es_objstore_put(os, key, b.data, b.len, ES_PUT_IF_ABSENT, NULL, NULL, err);
    es_buf_reset(&b);
    /* The tables now name the manifests this checkpoint wrote or kept: named by the store
     * when the put went through, by no checkpoint when another's was there first. */
    s->mf_base = st == ES_OK ? s->version : -1;
    s->mf_stale = 0;
    if (st && st != ES_EXISTS)
        return st;
    st = es_log_hint_encode(&b, s->version);
    if (!st)
        st = es_objstore_put(os, ES_LOG_HINT_KEY, b.data, b.len, ES_PUT_ALWAYS, NULL, NULL, err);
    else
        st = es_error_set(err, ES_NOMEM, 0, "checkpoint: out of memory");
    es_buf_reset(&b);
    return st;
}
