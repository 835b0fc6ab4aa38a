/*
 * catalog: the in-memory catalog the log builds: table definitions (es_tabledef: columns,
 * parts, manifests, indexes; shared by reference count and copied on write), snapshots (the
 * tables of one version) and the reset of actions and entries. log.c applies entries to them.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "table/log.h"

/* ------------------------------------------------------------ tabledefs */

es_status es_tabledef_new(es_tabledef **out)
{
    *out = es_calloc(1, sizeof(es_tabledef));
    if (!*out)
        return ES_NOMEM;
    (*out)->refs = 1;
    (*out)->pk = -1;
    return ES_OK;
}

es_tabledef *es_tabledef_ref(es_tabledef *t)
{
    if (t)
        __atomic_add_fetch(&t->refs, 1, __ATOMIC_RELAXED);
    return t;
}

void es_tabledef_unref(es_tabledef *t)
{
    if (!t || __atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    for (int64_t i = 0; i < t->n_cols; i++)
        es_column_reset(&t->cols[i]);
    es_free(t->cols);
    for (int64_t i = 0; i < t->n_parts; i++)
        es_part_meta_unref(t->parts[i]);
    es_free(t->parts);
    for (int64_t i = 0; i < t->n_mf; i++)
        es_mfref_unref(t->mf[i].ref);
    es_free(t->mf);
    for (int64_t i = 0; i < t->n_indexes; i++)
        es_index_def_unref(t->indexes[i]);
    es_free(t->indexes);
    es_free(t->name);
    es_free(t);
}

es_status es_tabledef_copy(es_tabledef **out, const es_tabledef *src)
{
    es_tabledef *t;
    *out = NULL;
    if (es_tabledef_new(&t))
        return ES_NOMEM;
    t->name = es_strdup(src->name);
    memcpy(t->id, src->id, sizeof(t->id));
    t->pk = src->pk;
    t->next_col_id = src->next_col_id;
    t->rows = src->rows;
    t->bytes = src->bytes;
    t->cols = es_calloc((size_t)(src->n_cols > 0 ? src->n_cols : 1), sizeof(es_column));
    t->parts = es_calloc((size_t)(src->n_parts > 0 ? src->n_parts : 1), sizeof(es_part_meta *));
    if (!t->name || !t->cols || !t->parts)
        goto fail;
    t->cap_parts = src->n_parts > 0 ? src->n_parts : 1;
    for (int64_t i = 0; i < src->n_cols; i++) {
        if (es_column_copy(&t->cols[i], &src->cols[i]))
            goto fail;
        t->n_cols = i + 1;
    }
    for (int64_t i = 0; i < src->n_parts; i++)
        t->parts[i] = es_part_meta_ref(src->parts[i]);
    t->n_parts = src->n_parts;
    if (src->n_mf > 0) {
        t->mf = es_calloc((size_t)src->n_mf, sizeof(es_tabledef_mf));
        if (!t->mf)
            goto fail;
        for (int64_t i = 0; i < src->n_mf; i++) {
            t->mf[i] = src->mf[i];
            es_mfref_ref(t->mf[i].ref);
        }
        t->n_mf = src->n_mf;
    }
    if (src->n_indexes > 0) {
        t->indexes = es_calloc((size_t)src->n_indexes, sizeof(es_index_def *));
        if (!t->indexes)
            goto fail;
        for (int64_t i = 0; i < src->n_indexes; i++)
            t->indexes[i] = es_index_def_ref(src->indexes[i]);
        t->n_indexes = src->n_indexes;
    }
    *out = t;
    return ES_OK;
fail:
    es_tabledef_unref(t);
    return ES_NOMEM;
}

es_status es_column_copy(es_column *dst, const es_column *src)
{
    *dst = *src;
    dst->name = es_strdup(src->name);
    dst->def = NULL;
    if (src->def) {
        dst->def = es_malloc((size_t)(src->def_len > 0 ? src->def_len : 1));
        if (dst->def)
            memcpy(dst->def, src->def, (size_t)src->def_len);
    }
    if (!dst->name || (src->def && !dst->def)) {
        es_column_reset(dst);
        return ES_NOMEM;
    }
    return ES_OK;
}

void es_column_reset(es_column *c)
{
    es_free(c->name);
    es_free(c->def);
    c->name = NULL;
    c->def = NULL;
    c->def_len = 0;
}

int64_t es_tabledef_col_index(const es_tabledef *t, const char *name)
{
    for (int64_t i = 0; i < t->n_cols; i++)
        if (strcmp(t->cols[i].name, name) == 0)
            return i;
    return -1;
}

const es_part_meta *es_tabledef_find_part(const es_tabledef *t, const char *id)
{
    for (int64_t p = 0; p < t->n_parts; p++)
        if (strcmp(t->parts[p]->id, id) == 0)
            return t->parts[p];
    return NULL;
}

void es_tabledef_drop_manifests(es_tabledef *t)
{
    for (int64_t i = 0; i < t->n_mf; i++)
        es_mfref_unref(t->mf[i].ref);
    t->n_mf = 0;
}

/* ------------------------------------------------------------ snapshots */

es_status es_snapshot_new(es_snapshot **out)
{
    *out = es_calloc(1, sizeof(es_snapshot));
    if (!*out)
        return ES_NOMEM;
    (*out)->version = -1;
    (*out)->hint = -1;
    (*out)->synced = -1;
    return ES_OK;
}

void es_snapshot_free(es_snapshot *s)
{
    if (!s)
        return;
    for (int64_t i = 0; i < s->n_tables; i++)
        es_tabledef_unref(s->tables[i]);
    es_free(s->tables);
    es_free(s);
}

es_status es_snapshot_copy(es_snapshot **out, const es_snapshot *src)
{
    es_snapshot *s;
    *out = NULL;
    if (es_snapshot_new(&s))
        return ES_NOMEM;
    s->tables = es_calloc((size_t)(src->n_tables > 0 ? src->n_tables : 1), sizeof(es_tabledef *));
    if (!s->tables) {
        es_snapshot_free(s);
        return ES_NOMEM;
    }
    s->cap_tables = src->n_tables > 0 ? src->n_tables : 1;
    for (int64_t i = 0; i < src->n_tables; i++)
        s->tables[i] = es_tabledef_ref(src->tables[i]);
    s->n_tables = src->n_tables;
    s->version = src->version;
    s->damage = src->damage;
    s->hint = src->hint;
    s->last_change = src->last_change;
    s->has_crc = src->has_crc;
    s->crc = src->crc;
    s->os = src->os;
    s->mf_base = src->mf_base;
    s->mf_stale = src->mf_stale;
    s->end_ms = src->end_ms;
    s->synced = src->synced;
    *out = s;
    return ES_OK;
}

es_tabledef *es_snapshot_find(const es_snapshot *s, const char *name)
{
    for (int64_t i = 0; i < s->n_tables; i++)
        if (strcmp(s->tables[i]->name, name) == 0)
            return s->tables[i];
    return NULL;
}

es_tabledef *es_snapshot_find_id(const es_snapshot *s, const char *id)
{
    for (int64_t i = 0; i < s->n_tables; i++)
        if (strcmp(s->tables[i]->id, id) == 0)
            return s->tables[i];
    return NULL;
}

/* ---------------------------------------------------------------- actions */

void es_action_reset(es_action *a)
{
    es_tabledef_unref(a->table);
    es_part_meta_unref(a->part);
    es_dvref_unref(a->dv);
    es_mfref_unref(a->mf);
    es_index_def_unref(a->index);
    es_free(a->table_name);
    memset(a, 0, sizeof(*a));
}

void es_entry_reset(es_entry *e)
{
    for (int64_t i = 0; i < e->n_actions; i++)
        es_action_reset(&e->actions[i]);
    es_free(e->actions);
    memset(e, 0, sizeof(*e));
}
