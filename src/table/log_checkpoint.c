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

static int cmp_id_ptr(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static int has_id(const char **ids, int64_t n, const char *id)
{
    return n > 0 && bsearch(&id, ids, (size_t)n, sizeof(*ids), cmp_id_ptr) != NULL;
}

/* Drop from t's indexes (in place: a copy of each index changed) the coverage of parts that
 * are not live, so that the checkpoint names live parts only (FORMAT.md 4). A part t lists is
 * live; so is one that may be in a manifest not loaded (not listed by a loaded manifest): a
 * part that a loaded manifest lists and t does not was removed. remove_part drops coverage as
 * it applies (index.c); what is left to drop comes from checkpoints written before, which kept
 * it. */
static es_status prune_coverage(es_tabledef *t)
{
    int64_t n_live = 0, n_dead = 0, cap_dead = 0;
    int unloaded = 0;
    for (int64_t m = 0; m < t->n_mf; m++) {
        unloaded |= !t->mf[m].loaded;
        if (t->mf[m].loaded && t->mf[m].ref->level == 0)
            cap_dead += t->mf[m].ref->n_parts;
    }
    if (t->n_indexes == 0)
        return ES_OK;
    const char **live = es_malloc((size_t)(t->n_parts + 1) * sizeof(*live));
    const char **dead = es_malloc((size_t)(cap_dead + 1) * sizeof(*dead));
    es_status st = live && dead ? ES_OK : ES_NOMEM;
    for (int64_t p = 0; !st && p < t->n_parts; p++)
        live[n_live++] = t->parts[p]->id;
    if (!st)
        qsort(live, (size_t)n_live, sizeof(*live), cmp_id_ptr);
    for (int64_t m = 0; !st && m < t->n_mf; m++) {
        const es_mfref *f = t->mf[m].ref;
        for (int64_t p = 0; t->mf[m].loaded && f->level == 0 && p < f->n_parts; p++)
            if (!has_id(live, n_live, f->parts[p]->id))
                dead[n_dead++] = f->parts[p]->id;
    }
    if (!st)
        qsort(dead, (size_t)n_dead, sizeof(*dead), cmp_id_ptr);
    for (int64_t i = 0; !st && i < t->n_indexes; i++) {
        const es_index_def *d = t->indexes[i];
        int64_t keep = 0;
        for (int64_t j = 0; j < d->n_cov; j++) {
            const char *part = d->cov[j].part;
            keep += has_id(live, n_live, part) || (unloaded && !has_id(dead, n_dead, part));
        }
        if (keep == d->n_cov)
            continue;
        es_index_def *c = NULL;
        if (es_index_def_new(&c, d->name) ||
            !(c->cov = es_malloc((size_t)(keep + 1) * sizeof(*c->cov)))) {
            es_index_def_unref(c);
            st = ES_NOMEM;
            break;
        }
        memcpy(c->id, d->id, sizeof(c->id));
        c->col_id = d->col_id;
        c->unique = d->unique;
        c->cap_cov = keep + 1;
        for (int64_t j = 0; j < d->n_cov; j++) {
            const char *part = d->cov[j].part;
            if (has_id(live, n_live, part) || (unloaded && !has_id(dead, n_dead, part)))
                c->cov[c->n_cov++] = d->cov[j];
        }
        es_index_def_unref(t->indexes[i]);
        t->indexes[i] = c;
    }
    es_free(live);
    es_free(dead);
    return st;
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
    es_status st = ES_OK;
    for (int64_t i = 0; i < s->n_tables && !st; i++)
        st = prune_coverage(s->tables[i]);
    if (st)
        return es_error_set(err, ES_NOMEM, 0, "checkpoint: out of memory");
    st = snapshot_entry(&e, s);
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
        st = es_objstore_put(os, ES_LOG_HINT_KEY, b.data, b.len, ES_PUT_HINT, NULL, NULL, err);
    else
        st = es_error_set(err, ES_NOMEM, 0, "checkpoint: out of memory");
    es_buf_reset(&b);
    return st;
}
