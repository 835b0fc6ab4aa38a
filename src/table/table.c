/*
 * table: tables and their metadata (create, drop, column ids, schemas) and the insert
 * pipeline. An insert matches the caller's columns to the table's by name, checks types and
 * nullability, sorts all rows by the primary key when there is one, cuts them into parts of
 * about part_target_bytes and record batches of batch_rows, writes every part (.data, .idx)
 * and then commits one log entry adding all parts: the insert is atomic (log.c, invariant 4).
 * Input already in key order is not copied: a record batch that lies inside one input batch is
 * written from a slice of it (make_slice); only the rest goes through a builder.
 */
#include <inttypes.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "arrow/arrow.h"
#include "table/compact.h"
#include "table/evolve.h"
#include "table/index.h"
#include "table/txn.h"
#include "table/unique.h"

/* ------------------------------------------------------------------ helpers */

/* Before reading: one GET when nothing is new. */
static es_status refresh(es_store *s, es_error *err)
{
    es_store_adopt_async(s);
    return es_log_refresh(s->snap, s->os, err);
}

/* Before writing: GETs of the log's tail and of the hint, and a LIST of it only when the hint
 * shows a checkpoint past the end found or damage is known (es_log_sync_write), which finds a
 * hole cut into it (log.c, invariant 8); ES_CORRUPT then, before anything is written. */
static es_status sync(es_store *s, es_error *err)
{
    es_store_adopt_async(s);
    /* Asynchronous: the committer checks the hint once per entry (group.c); a write of the
     * handle that turns out synchronous checks it in es_store_commit. */
    es_status st =
        s->async ? es_log_refresh(s->snap, s->os, err) : es_log_sync_write(s->snap, s->os, err);
    if (st == ES_OK && s->async && s->snap->damage.code != ES_OK)
        st = es_log_sync_write(s->snap, s->os, err);
    if (st == ES_OK && es_snapshot_mf_stale(s->snap)) {
        /* A vacuum may have collected manifests the tables name (log.h, mf_stale): load the
         * store again from its newest checkpoint, which the vacuum retained. */
        es_snapshot *fresh = NULL;
        st = es_log_load(&fresh, NULL, s->os, -1, err);
        if (st)
            return st;
        es_snapshot_free(s->snap);
        s->snap = fresh;
        return ES_OK;
    }
    if (st != ES_CORRUPT)
        return st;
    /* A handle left behind by log retention (vacuum.c): the entries after its version are
     * gone, not missing. Start again from the oldest retained version. */
    int64_t oldest = 0;
    es_error rerr;
    es_snapshot *fresh = NULL;
    if (es_log_retention(&oldest, s->os, &rerr) != ES_OK || oldest <= s->snap->version + 1 ||
        es_log_load(&fresh, NULL, s->os, -1, &rerr) != ES_OK)
        return st;
    es_snapshot_free(s->snap);
    s->snap = fresh;
    return es_log_sync(s->snap, s->os, err);
}

es_status es_store_table(es_tabledef **out, es_store *s, const char *name, int64_t version,
                         es_error *err)
{
    *out = NULL;
    es_tabledef *t = NULL;
    es_status st = ES_OK;
    if (version >= 0 && version != s->snap->version) {
        es_snapshot *snap = NULL;
        st = es_log_load(&snap, NULL, s->os, version, err);
        int64_t oldest = 0;
        es_error rerr;
        if (!st && es_log_retention(&oldest, s->os, &rerr) == ES_OK && version < oldest) {
            /* Time travel below the retention floor: entries younger than an hour stay after
             * vacuum (vacuum.c), but not the objects only those versions named. (Vacuum itself
             * still loads such versions: a concurrent vacuum may have raised the floor.) */
            es_snapshot_free(snap);
            return es_error_set(err, ES_NOT_FOUND, 0,
                                "version %lld is past the log retention: the oldest retained "
                                "version is %lld",
                                (long long)version, (long long)oldest);
        }
        if (st)
            return st;
        t = es_tabledef_ref(es_snapshot_find(snap, name));
        es_snapshot_free(snap);
    } else if (version < 0 && s->txn) {
        /* A transaction reads its view; the lookup is part of its read set. */
        st = es_txn_note_name(s->txn, name, err);
        if (st)
            return st;
        t = es_tabledef_ref(es_snapshot_find(es_txn_view(s->txn), name));
    } else {
        /* A version never changes once committed: the handle's snapshot serves it as is. While
         * a statement's refresh is in flight (es_store_speculate_begin) the snapshot is taken
         * as the newest; the statement runs again if it was not. */
        if (version < 0 && !s->spec.running)
            st = refresh(s, err);
        if (st)
            return st;
        t = es_tabledef_ref(es_snapshot_find(s->snap, name));
    }
    if (!t)
        return version < 0 ? es_error_set(err, ES_NOT_FOUND, 0, "no table '%s'", name)
                           : es_error_set(err, ES_NOT_FOUND, 0, "no table '%s' at version %lld",
                                          name, (long long)version);
    *out = t;
    return ES_OK;
}

es_status es_store_catalog_write(es_snapshot **out, es_store *s, es_error *err)
{
    *out = NULL;
    if (s->txn) {
        *out = es_txn_view(s->txn);
        return ES_OK;
    }
    es_status st = sync(s, err);
    if (st)
        return st;
    *out = s->snap;
    return ES_OK;
}

es_status es_store_table_write(es_tabledef **out, es_store *s, const char *name, es_error *err)
{
    es_snapshot *cat = NULL;
    *out = NULL;
    es_status st = es_store_catalog_write(&cat, s, err);
    if (!st && s->txn)
        st = es_txn_note_name(s->txn, name, err);
    if (st)
        return st;
    *out = es_tabledef_ref(es_snapshot_find(cat, name));
    return *out ? ES_OK : es_error_set(err, ES_NOT_FOUND, 0, "no table '%s'", name);
}

static es_status insert_rebase(void *ctx, const es_snapshot *snap, const es_entry *theirs,
                               es_action *acts, int64_t n, es_error *err);
static int insert_keys(void *ctx);
static void *insert_ctx_take(void *ctx);
static void insert_ctx_free(void *ctx);

/* The writer's check of the hint that sync() leaves out for an asynchronous handle, for a
 * write that turns out synchronous: on a copy, so that s->snap stays at the version the
 * write's actions were computed on (the commit rebases over what is new). */
static es_status check_tail(es_store *s, es_error *err)
{
    es_snapshot *c = NULL;
    if (es_snapshot_copy(&c, s->snap))
        return es_error_set(err, ES_NOMEM, 0, "commit: out of memory");
    es_status st = es_log_sync_write(c, s->os, err);
    es_snapshot_free(c);
    return st;
}

es_status es_store_commit(es_store *s, es_action *acts, int64_t n, es_log_rebase_fn rebase,
                          void *ctx, int64_t *version, es_error *err)
{
    int64_t v = -1;
    es_status st;
    if (s->txn) {
        st = es_txn_apply(s->txn, acts, n, err);
        v = s->snap->version;
    } else {
        st = es_log_check(s->snap, acts, n, ES_CONFLICT, err);
        int async = !st && s->async && (!rebase || rebase == insert_rebase);
        for (int64_t i = 0; i < n && async; i++)
            async = acts[i].kind == ES_ACT_ADD_PART; /* an insert */
        if (async && rebase && insert_keys(ctx)) {   /* its key check goes with it (group.c) */
            void *own = insert_ctx_take(ctx);
            if (!own)
                return es_error_set(err, ES_NOMEM, 0, "commit: out of memory");
            return es_store_group_commit_async(s, acts, n, insert_rebase, own, insert_ctx_free,
                                               err);
        }
        if (async) /* accepted, not durable */
            return es_store_group_commit_async(s, acts, n, NULL, NULL, NULL, err);
        if (!st && s->async) { /* after the handle's earlier asynchronous inserts */
            (void)es_store_wait_async(s, NULL, NULL, 1);
            st = check_tail(s, err);
        }
        if (!st && (!rebase || rebase == insert_rebase)) /* shares one entry (group.c) */
            st = es_store_group_commit(s, acts, n, rebase, ctx, &v, err);
        else if (!st)
            st = es_log_commit_rebase(s->snap, s->os, acts, n, rebase, ctx, &v, err);
        if (!st)
            es_compact_auto(s, acts, n);
    }
    if (!st && version)
        *version = v;
    return st;
}

es_status es_table_part_cols(es_part_col **out, const es_tabledef *t, const es_part_meta *m,
                             es_error *err)
{
    *out = es_calloc((size_t)(m->n_cols > 0 ? m->n_cols : 1), sizeof(es_part_col));
    if (!*out)
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    for (int64_t i = 0; i < m->n_cols; i++) {
        if (m->cols[i].format[0]) { /* the type the part was written with (alter.c) */
            (*out)[i] = m->cols[i];
            continue;
        }
        int64_t k = 0;
        while (k < t->n_cols && t->cols[k].id != m->col_ids[i])
            k++;
        if (k == t->n_cols) {
            es_free(*out);
            *out = NULL;
            return es_error_set(err, ES_CORRUPT, 0, "table %s part %s: unknown column id %lld",
                                t->name, m->id, (long long)m->col_ids[i]);
        }
        (*out)[i].id = t->cols[k].id;
        (*out)[i].type = t->cols[k].type;
        memcpy((*out)[i].format, t->cols[k].format, sizeof((*out)[i].format));
        (*out)[i].nullable = t->cols[k].nullable;
    }
    return ES_OK;
}

static int valid_name(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 255)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < 0x20)
            return 0;
    return 1;
}

int es_table_valid_name(const char *name)
{
    return valid_name(name);
}

es_status es_table_column_new(es_column *col, const char *table, const struct ArrowSchema *c,
                              int64_t id, es_error *err)
{
    memset(col, 0, sizeof(*col));
    if (!c || !valid_name(c->name) || !c->format)
        return es_error_set(err, ES_INVALID, 0, "table '%s': column %lld has an invalid name",
                            table, (long long)id);
    if (strlen(c->format) >= sizeof(col->format))
        return es_error_set(err, ES_UNSUPPORTED, 0, "%s.%s: unsupported type", table, c->name);
    strcpy(col->format, c->format);
    es_status st = es_type_parse(&col->type, c->format, err);
    if (st)
        return st;
    if (col->type.id == ES_TYPE_STRUCT || c->n_children != 0 || c->dictionary)
        return es_error_set(err, ES_UNSUPPORTED, 0, "%s.%s: nested types are not supported", table,
                            c->name);
    col->name = es_strdup(c->name);
    if (!col->name)
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    col->id = id;
    col->nullable = (c->flags & ARROW_FLAG_NULLABLE) != 0;
    return ES_OK;
}

es_status es_table_missing(es_error *err, const char *key, const char *table)
{
    int is_dir = err && err->sys_code == EISDIR;
    return es_error_set(err, ES_CORRUPT, 0,
                        "%s: referenced by the log but %s (table '%s'): the store is damaged; "
                        "restore the object from a copy",
                        key, is_dir ? "a directory, not an object" : "missing", table);
}

/* -------------------------------------------------------------- idx cache */

/* Does x, the .idx `key` of part m, agree with the log's description of m: part id, batches,
 * column ids and rows (callers size arrays by the log's rows)? */
static es_status idx_matches(const es_part_idx *x, const es_part_meta *m, const char *key,
                             es_error *err)
{
    if (strcmp(x->part_id, m->id) != 0 || x->n_batches != m->n_batches || x->n_cols != m->n_cols)
        return es_error_set(err, ES_CORRUPT, 0, "%s: does not match the log entry", key);
    for (int64_t c = 0; c < x->n_cols; c++)
        if (x->col_ids[c] != m->col_ids[c])
            return es_error_set(err, ES_CORRUPT, 0, "%s: columns do not match the log", key);
    int64_t rows = 0;
    for (int64_t k = 0; k < x->n_batches && rows <= m->rows; k++)
        rows += x->rows[k];
    if (rows != m->rows)
        return es_error_set(err, ES_CORRUPT, 0, "%s: %s%lld rows, the log says %lld", key,
                            rows > m->rows ? "more than " : "", (long long)rows,
                            (long long)m->rows);
    return ES_OK;
}

es_status es_store_part_idx(es_part_idx **out, es_store *s, const es_tabledef *t,
                            const es_part_meta *m, int64_t *requests, int64_t *bytes, es_error *err)
{
    *out = NULL;
    if (m->inline_idx) { /* rows inlined in the log: no object */
        *out = es_part_idx_ref(m->inline_idx);
        return ES_OK;
    }
    char key[256];
    es_part_key(key, sizeof(key), t->id, m->id, "idx");
    for (int i = 0; i < ES_IDX_CACHE; i++) {
        if (s->idx_cache[i].idx && strcmp(s->idx_cache[i].part_id, m->id) == 0) {
            /* Matched against the part as another version described it: again against m. */
            es_status st = idx_matches(s->idx_cache[i].idx, m, key, err);
            if (!st)
                *out = es_part_idx_ref(s->idx_cache[i].idx);
            return st;
        }
    }
    es_blob *b = NULL;
    es_status st = es_objstore_get(s->os, key, 0, UINT64_MAX, &b, err);
    if (requests)
        (*requests)++;
    if (st) {
        if (st == ES_NOT_FOUND)
            es_table_missing(err, key, t->name);
        return st == ES_NOT_FOUND ? ES_CORRUPT : st;
    }
    if (bytes)
        *bytes += (int64_t)b->size;
    if ((int64_t)b->size != m->idx_bytes || es_crc32c(0, b->data, b->size) != m->idx_crc) {
        long long size = (long long)b->size;
        es_blob_unref(b);
        return es_error_set(err, ES_CORRUPT, 0, "%s: checksum mismatch (size %lld, expected %lld)",
                            key, size, (long long)m->idx_bytes);
    }
    es_part_idx *x = NULL;
    st = es_part_idx_decode(&x, b, key, 0, err); /* the whole-object CRC matched above */
    es_blob_unref(b);
    if (st)
        return st;
    if ((st = idx_matches(x, m, key, err)) != ES_OK) {
        es_part_idx_free(x);
        return st;
    }
    int slot = s->idx_next;
    s->idx_next = (s->idx_next + 1) % ES_IDX_CACHE;
    es_part_idx_free(s->idx_cache[slot].idx);
    s->idx_cache[slot].idx = es_part_idx_ref(x);
    memcpy(s->idx_cache[slot].part_id, m->id, sizeof(m->id));
    *out = x;
    return ES_OK;
}

/* ------------------------------------------------------- deletion vectors */

es_status es_store_part_dv(es_dv *out, es_store *s, const es_tabledef *t, const es_part_meta *m,
                           int64_t *requests, int64_t *bytes, es_error *err)
{
    es_dv_reset(out);
    const es_dvref *d = m->dv;
    if (!d)
        return ES_OK;
    char key[256];
    es_status st;
    if (d->blob) {
        snprintf(key, sizeof(key), "_log: deletion vector of table_%s_part_%s", t->id, m->id);
        st = es_dv_blob_decode(out, d->blob, d->blob_len, (uint64_t)m->rows, key, err);
    } else {
        es_blob *b = NULL;
        es_part_dv_key(key, sizeof(key), t->id, m->id, d->id);
        for (int i = 0; i < ES_IDX_CACHE && !b; i++)
            if (s->dv_cache[i].b && strcmp(s->dv_cache[i].dv_id, d->id) == 0 &&
                strcmp(s->dv_cache[i].part_id, m->id) == 0)
                b = es_blob_ref(s->dv_cache[i].b);
        if (!b) {
            st = es_objstore_get(s->os, key, 0, UINT64_MAX, &b, err);
            if (requests)
                (*requests)++;
            if (st) {
                if (st == ES_NOT_FOUND)
                    st = es_table_missing(err, key, t->name);
                return st;
            }
            if (bytes)
                *bytes += (int64_t)b->size;
            if ((int64_t)b->size != d->bytes || es_crc32c(0, b->data, b->size) != d->crc) {
                long long size = (long long)b->size;
                es_blob_unref(b);
                return es_error_set(err, ES_CORRUPT, 0,
                                    "%s: checksum mismatch (size %lld, expected %lld)", key, size,
                                    (long long)d->bytes);
            }
            if (b->size <= ES_DV_CACHE_MAX) {
                int slot = s->dv_next;
                s->dv_next = (s->dv_next + 1) % ES_IDX_CACHE;
                es_blob_unref(s->dv_cache[slot].b);
                s->dv_cache[slot].b = es_blob_ref(b);
                memcpy(s->dv_cache[slot].part_id, m->id, sizeof(m->id));
                memcpy(s->dv_cache[slot].dv_id, d->id, sizeof(d->id));
            }
        }
        st = es_dv_file_decode(out, b->data, b->size, (uint64_t)m->rows, key, err);
        es_blob_unref(b);
    }
    if (!st && out->n != d->deleted) {
        st = es_error_set(err, ES_CORRUPT, 0, "%s: %lld positions, the log says %lld", key,
                          (long long)out->n, (long long)d->deleted);
    }
    if (st)
        es_dv_reset(out);
    return st;
}

es_status es_store_dv_write(es_dvref **out, es_store *s, const char *table_id, const char *part_id,
                            const es_dv *v, es_error *err)
{
    es_buf b = {0};
    es_dvref *d = NULL;
    *out = NULL;
    es_status st = es_dvref_new(&d);
    if (st)
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    d->deleted = v->n;
    st = es_dv_blob_encode(&b, v, err);
    if (!st && b.len <= ES_DV_INLINE_MAX) {
        d->blob_len = b.len;
        d->blob = es_buf_detach(&b, NULL);
        d->bytes = (int64_t)d->blob_len;
        d->crc = es_crc32c(0, d->blob, d->blob_len);
    } else if (!st) {
        es_buf_reset(&b);
        st = es_dv_file_encode(&b, v, err);
        if (!st) {
            char key[256];
            es_part_new_object_id(d->id);
            es_part_dv_key(key, sizeof(key), table_id, part_id, d->id);
            d->bytes = (int64_t)b.len;
            d->crc = es_crc32c(0, b.data, b.len);
            st = es_objstore_put(s->os, key, b.data, b.len, ES_PUT_IF_ABSENT, NULL, NULL, err);
        }
    }
    es_buf_reset(&b);
    if (st) {
        es_dvref_unref(d);
        return st;
    }
    *out = d;
    return ES_OK;
}

/* ------------------------------------------------------------ create, drop */

es_status es_table_create_impl(es_store *s, const char *name, const struct ArrowSchema *schema,
                               const struct ArrowArray *defaults, const char *primary_key,
                               int if_not_exists, es_error *err)
{
    if (!valid_name(name))
        return es_error_set(err, ES_INVALID, 0,
                            "invalid table name '%.40s%s': a name is 1 to 255 bytes without "
                            "control characters",
                            name ? name : "", name && strlen(name) > 40 ? "..." : "");
    if (!schema || !schema->format || strcmp(schema->format, "+s") != 0 || schema->n_children < 1)
        return es_error_set(err, ES_INVALID, 0, "table '%s': schema must be a struct with columns",
                            name);
    es_snapshot *cat = NULL;
    es_status st = es_store_catalog_write(&cat, s, err);
    if (!st && s->txn)
        st = es_txn_note_name(s->txn, name, err);
    if (st)
        return st;
    if (es_snapshot_find(cat, name)) {
        if (if_not_exists)
            return ES_OK;
        return es_error_set(err, ES_EXISTS, 0, "table '%s' already exists", name);
    }
    es_tabledef *t = NULL;
    if (es_tabledef_new(&t))
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    es_action a;
    memset(&a, 0, sizeof(a));
    a.kind = ES_ACT_CREATE_TABLE;
    a.table = t;
    t->name = es_strdup(name);
    t->cols = es_calloc((size_t)schema->n_children, sizeof(es_column));
    if (!t->name || !t->cols) {
        st = es_error_set(err, ES_NOMEM, 0, "out of memory");
        goto done;
    }
    es_part_new_id(t->id);
    memcpy(a.table_id, t->id, sizeof(t->id));
    for (int64_t i = 0; i < schema->n_children; i++) {
        es_column *col = &t->cols[i];
        st = es_table_column_new(col, name, schema->children[i], i, err);
        if (st)
            goto done;
        t->n_cols = i + 1;
        for (int64_t k = 0; k < i; k++) {
            if (strcmp(t->cols[k].name, col->name) == 0) {
                st = es_error_set(err, ES_INVALID, 0, "table '%s': duplicate column '%s'", name,
                                  col->name);
                goto done;
            }
        }
    }
    t->next_col_id = t->n_cols;
    if (defaults && (st = es_table_defaults_set(t, schema, defaults, err)) != ES_OK)
        goto done;
    if (primary_key) {
        t->pk = es_tabledef_col_index(t, primary_key);
        if (t->pk < 0) {
            st = es_error_set(err, ES_INVALID, 0, "table '%s': no column '%s' for the primary key",
                              name, primary_key);
            goto done;
        }
        if (es_expr_domain(t->cols[t->pk].type.id) == ES_DOM_NONE) {
            st = es_error_set(err, ES_INVALID, 0, "table '%s': '%s' cannot be a primary key", name,
                              primary_key);
            goto done;
        }
    }
    st = es_store_commit(s, &a, 1, NULL, NULL, NULL, err);
    if (st == ES_CONFLICT && if_not_exists && !s->txn && es_snapshot_find(s->snap, name))
        st = ES_OK;
done:
    es_action_reset(&a);
    return st;
}

es_status es_table_drop_impl(es_store *s, const char *name, int if_exists, es_error *err)
{
    if (!name)
        return es_error_set(err, ES_INVALID, 0, "table name is NULL");
    es_snapshot *cat = NULL;
    es_status st = es_store_catalog_write(&cat, s, err);
    if (!st && s->txn)
        st = es_txn_note_name(s->txn, name, err);
    if (st)
        return st;
    es_tabledef *t = es_snapshot_find(cat, name);
    if (!t) {
        if (if_exists)
            return ES_OK;
        return es_error_set(err, ES_NOT_FOUND, 0, "no table '%s'", name);
    }
    es_action a;
    memset(&a, 0, sizeof(a));
    a.kind = ES_ACT_DROP_TABLE;
    memcpy(a.table_id, t->id, sizeof(t->id));
    a.table_name = es_strdup(name);
    if (!a.table_name)
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    st = es_store_commit(s, &a, 1, NULL, NULL, NULL, err);
    if (st == ES_CONFLICT && if_exists && !s->txn && !es_snapshot_find(s->snap, name))
        st = ES_OK;
    es_action_reset(&a);
    return st;
}

/* ------------------------------------------------------------------ insert */

typedef struct src_row {
    int64_t key; /* int-domain primary keys: the value; else unused */
    uint32_t batch;
    uint32_t row;
    const es_array_view *kv; /* other primary keys: the key column of the row's batch */
} src_row;

static int cmp_int_rows(const void *a, const void *b)
{
    const src_row *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->batch != y->batch)
        return x->batch < y->batch ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

static int cmp_generic_rows(const void *a, const void *b)
{
    const src_row *x = a, *y = b;
    const es_array_view *vx = x->kv, *vy = y->kv;
    int nx = es_view_is_null(vx, x->row), ny = es_view_is_null(vy, y->row);
    if (nx != ny)
        return nx ? -1 : 1;
    if (!nx) {
        es_domain dom = es_expr_domain(vx->type.id);
        es_scalar sx, sy;
        memset(&sx, 0, sizeof(sx));
        memset(&sy, 0, sizeof(sy));
        es_scalar_from_view(&sx, dom, vx, x->row);
        es_scalar_from_view(&sy, dom, vy, y->row);
        int c = es_scalar_cmp(dom, &sx, &sy);
        if (c)
            return c;
    }
    if (x->batch != y->batch)
        return x->batch < y->batch ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

static int same_type(const es_type *a, const es_type *b)
{
    return a->id == b->id && a->unit == b->unit && a->byte_width == b->byte_width &&
           a->precision == b->precision && a->scale == b->scale && strcmp(a->tz, b->tz) == 0;
}

es_status es_table_append_value(es_builder *b, const es_array_view *v, int64_t i)
{
    return es_part_append_value(b, v, i);
}

/* Rough uncompressed bytes of a row, for cutting parts. */
static int64_t row_bytes(const es_tabledef *t, const es_array_view *bv, int64_t nb,
                         const int64_t *map, int64_t total_rows)
{
    int64_t bytes = 0;
    for (int64_t c = 0; c < t->n_cols; c++) {
        const es_type *ty = &t->cols[c].type;
        if (es_type_is_varlen(ty->id)) {
            int64_t data = 0;
            for (int64_t b = 0; b < nb && map[c] >= 0; b++) {
                const es_array_view *v = &bv[b].children[map[c]];
                if (v->length == 0)
                    continue;
                if (v->offsets32)
                    data += v->offsets32[v->length] - v->offsets32[0];
                else if (v->offsets64)
                    data += v->offsets64[v->length] - v->offsets64[0];
            }
            bytes += 4 + (total_rows ? data / total_rows : 0);
        } else {
            bytes += ty->byte_width > 0 ? ty->byte_width : 1;
        }
    }
    return bytes > 0 ? bytes : 1;
}

/* Zero-copy chunks. When rows keep their input order and a chunk lies inside one input batch,
 * the chunk is a slice of that batch: a struct array whose children are shallow copies of the
 * input children with a moved offset, borrowing their buffers (the input batches outlive the
 * part write). Only flat columns qualify; a column with nulls gets the null count of its slice
 * (the writer omits the validity of a slice without nulls and shifts one at a bit offset), so
 * the bytes written are the same as the builder would produce. */
typedef struct slice_block {
    const void *buffers[1];
    struct ArrowArray *ptrs[];
} slice_block;

static void release_borrowed(struct ArrowArray *a)
{
    a->release = NULL;
}

static void release_slice(struct ArrowArray *a)
{
    slice_block *blk = a->private_data;
    if (blk) {
        es_free(blk->ptrs[0]);
        es_free(blk);
    }
    a->release = NULL;
}

/* Whether rows [i0, i0 + len) of input batch `in` can be passed on as a slice. */
static int can_slice(const es_tabledef *t, const int64_t *map, const struct ArrowArray *in)
{
    if (in->null_count != 0 || in->dictionary)
        return 0;
    for (int64_t c = 0; c < t->n_cols; c++) {
        if (map[c] < 0)
            return 0;
        const struct ArrowArray *a = in->children[map[c]];
        if (!a || !a->release || a->n_children != 0 || a->dictionary ||
            (a->null_count != 0 && (a->n_buffers < 1 || !a->buffers || !a->buffers[0])))
            return 0;
    }
    return 1;
}

static es_status make_slice(struct ArrowArray *out, const es_tabledef *t, const int64_t *map,
                            const struct ArrowArray *in, int64_t i0, int64_t len)
{
    int64_t n = t->n_cols;
    slice_block *blk = es_calloc(1, sizeof(slice_block) + (size_t)(n ? n : 1) * sizeof(void *));
    struct ArrowArray *kids = es_calloc((size_t)(n ? n : 1), sizeof(struct ArrowArray));
    if (!blk || !kids) {
        es_free(blk);
        es_free(kids);
        return ES_NOMEM;
    }
    for (int64_t c = 0; c < n; c++) {
        const struct ArrowArray *a = in->children[map[c]];
        kids[c] = *a;
        kids[c].offset = a->offset + in->offset + i0;
        kids[c].length = len;
        kids[c].null_count =
            a->null_count == 0 ? 0
                               : len - es_arrow_count_set_bits(a->buffers[0], kids[c].offset, len);
        kids[c].private_data = NULL;
        kids[c].release = release_borrowed;
        blk->ptrs[c] = &kids[c];
    }
    if (!n)
        es_free(kids);
    memset(out, 0, sizeof(*out));
    out->length = len;
    out->n_buffers = 1;
    out->n_children = n;
    out->buffers = blk->buffers;
    out->children = blk->ptrs;
    out->private_data = blk;
    out->release = release_slice;
    return ES_OK;
}

/* The input batch holding global row r, given the batches' first rows. */
static int64_t find_batch(const int64_t *start, int64_t n, int64_t r)
{
    int64_t lo = 0, hi = n - 1;
    while (lo < hi) {
        int64_t mid = (lo + hi + 1) / 2;
        if (start[mid] <= r)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* Global row r in write order: (input batch *sb, row *si); *b is the batch cursor when rows is
 * NULL (rows in input order, start[] the first row of each batch), advanced as r grows. */
static inline void row_source(int64_t *sb, int64_t *si, int64_t *b, const src_row *rows,
                              const int64_t *start, int64_t r)
{
    if (rows) {
        *sb = rows[r].batch;
        *si = rows[r].row;
        return;
    }
    while (r >= start[*b + 1])
        (*b)++;
    *sb = *b;
    *si = r - start[*b];
}

/* The primary keys of the rows in write order (sorted): two equal non-null keys are a
 * duplicate (ES_EXISTS naming it); the distinct keys go to ks when it is not NULL. */
static es_status collect_keys(es_keyset *ks, const char *what, const es_tabledef *t,
                              const es_array_view *bv, const int64_t *start, int64_t n,
                              const src_row *rows, int64_t total, int64_t kc, es_error *err)
{
    es_domain dom = es_expr_domain(t->cols[t->pk].type.id);
    es_scalar prev, k;
    int have = 0;
    (void)n;
    memset(&prev, 0, sizeof(prev));
    if (ks)
        ks->dom = dom;
    for (int64_t r = 0, b = 0; r < total; r++) {
        int64_t sb, si;
        row_source(&sb, &si, &b, rows, start, r);
        const es_array_view *v = &bv[sb].children[kc];
        if (es_view_is_null(v, si))
            continue;
        es_scalar_from_view(&k, dom, v, si);
        if (dom == ES_DOM_DOUBLE && k.d != k.d)
            continue; /* NaN: never equal */
        if (have && (dom == ES_DOM_INT ? prev.i == k.i : es_scalar_cmp(dom, &prev, &k) == 0)) {
            char key[128];
            es_key_format(key, sizeof(key), dom, &k);
            return es_error_set(err, ES_EXISTS, 0,
                                "%s '%s': duplicate primary key %s = %s (twice among the rows "
                                "written)",
                                what, t->name, t->cols[t->pk].name, key);
        }
        if (ks && es_keyset_push(ks, &k))
            return es_error_set(err, ES_NOMEM, 0, "out of memory");
        prev = k;
        have = 1;
    }
    return ES_OK;
}

static es_status write_parts(es_action **out_acts, int64_t *out_n, int64_t **order, es_store *s,
                             const es_tabledef *t, const struct ArrowSchema *schema,
                             struct ArrowArray *batches, int64_t n, es_keyset *keys,
                             const char *what, int64_t fixed_part_rows, es_error *err);

es_status es_table_write_parts(es_action **out_acts, int64_t *out_n, es_store *s,
                               const es_tabledef *t, const struct ArrowSchema *schema,
                               struct ArrowArray *batches, int64_t n, es_error *err)
{
    return write_parts(out_acts, out_n, NULL, s, t, schema, batches, n, NULL, "insert into", 0,
                       err);
}

es_status es_table_write_parts_keys(es_action **out_acts, int64_t *out_n, es_store *s,
                                    const es_tabledef *t, const struct ArrowSchema *schema,
                                    struct ArrowArray *batches, int64_t n, es_keyset *keys,
                                    const char *what, es_error *err)
{
    return write_parts(out_acts, out_n, NULL, s, t, schema, batches, n, keys, what, 0, err);
}

es_status es_table_write_parts_sized(es_action **out_acts, int64_t *out_n, es_store *s,
                                     const es_tabledef *t, const struct ArrowSchema *schema,
                                     struct ArrowArray *batches, int64_t n, es_keyset *keys,
                                     int64_t part_rows, es_error *err)
{
    return write_parts(out_acts, out_n, NULL, s, t, schema, batches, n, keys, "insert into",
                       part_rows, err);
}

int64_t es_table_row_bytes(const es_tabledef *t, const es_array_view *bv, const int64_t *map)
{
    return row_bytes(t, bv, 1, map, bv->length);
}

int64_t es_table_part_rows(const es_store *s, int64_t row_bytes)
{
    int64_t batch_rows = s->opts.batch_rows > 0 ? s->opts.batch_rows : 8192;
    int64_t part_rows = s->opts.part_target_bytes / (row_bytes > 0 ? row_bytes : 1);
    return part_rows < batch_rows ? batch_rows : part_rows / batch_rows * batch_rows;
}

es_status es_table_write_parts_order(es_action **out_acts, int64_t *out_n, int64_t **order,
                                     es_store *s, const es_tabledef *t,
                                     const struct ArrowSchema *schema, struct ArrowArray *batches,
                                     int64_t n, es_error *err)
{
    return write_parts(out_acts, out_n, order, s, t, schema, batches, n, NULL, "optimize", 0, err);
}

/* The parts of one insert, written on the store's threads (write_parts_run): what every part
 * reads, and its actions at acts[p * (1 + n_ix)] (an add_part, then an add_index per index). */
typedef struct part_job {
    es_store *s;
    const es_tabledef *t;
    struct ArrowArray *batches;
    int64_t n;
    const int64_t *map;
    const es_array_view *bv;
    const src_row *rows;
    const int64_t *start;
    int64_t total, part_rows, batch_rows, n_parts, n_ix;
    int no_inline; /* a part of a load written in several steps (load.c) */
    es_part_col *pcols;
    const struct ArrowSchema *pschema;
    es_action *acts;
    /* threads */
    pthread_mutex_t mu;
    int64_t next;
    es_status st;
    es_error err;
} part_job;

/* Cut part p into batches (chunks, from bld), write it with its index objects. */
static es_status write_one_part(part_job *j, int64_t p, es_builder *bld, struct ArrowArray *chunks,
                                es_error *err)
{
    es_store *s = j->s;
    const es_tabledef *t = j->t;
    const char *table = t->name;
    const int64_t *map = j->map, *start = j->start;
    const es_array_view *bv = j->bv;
    const src_row *rows = j->rows;
    struct ArrowArray *batches = j->batches;
    int64_t n = j->n, total = j->total, part_rows = j->part_rows, batch_rows = j->batch_rows;
    int64_t n_parts = j->n_parts, n_ix = j->n_ix, n_chunks = 0;
    es_action *acts = j->acts + p * (1 + n_ix);
    es_part_col *pcols = j->pcols;
    int64_t n_acts = 0;
    es_status st = ES_OK;
    int64_t lo = p * part_rows, hi = lo + part_rows < total ? lo + part_rows : total;
    for (int64_t r0 = lo; r0 < hi; r0 += batch_rows) {
        int64_t r1 = r0 + batch_rows < hi ? r0 + batch_rows : hi;
        if (!rows) {
            int64_t b = find_batch(start, n, r0);
            if (r1 <= start[b + 1] && can_slice(t, map, &batches[b])) {
                if (make_slice(&chunks[n_chunks], t, map, &batches[b], r0 - start[b], r1 - r0) !=
                    ES_OK) {
                    st = es_error_set(err, ES_NOMEM, 0, "out of memory");
                    goto done;
                }
                n_chunks++;
                continue;
            }
        }
        for (int64_t c = 0; c < t->n_cols && !st; c++) {
            es_builder *cb = es_builder_child(bld, c);
            st = es_builder_reserve(cb, r1 - r0);
            int64_t b = rows ? 0 : find_batch(start, n, r0);
            for (int64_t r = r0; r < r1 && !st; r++) {
                int64_t sb, si;
                row_source(&sb, &si, &b, rows, start, r);
                const es_array_view *v = map[c] >= 0 ? &bv[sb].children[map[c]] : NULL;
                st = v ? es_table_append_value(cb, v, si)
                       : es_column_append_default(cb, &t->cols[c], 1); /* evolve.h */
            }
        }
        for (int64_t r = r0; r < r1 && !st; r++)
            st = es_builder_append_struct(bld);
        if (st) {
            es_error_set(err, st, 0, "insert into '%s': cannot build batch", table);
            goto done;
        }
        st = es_builder_finish(bld, &chunks[n_chunks], err);
        if (st)
            goto done;
        n_chunks++;
    }
    es_trace("part %lld: %lld batches built", (long long)p, (long long)n_chunks);
    es_part_meta *m = NULL;
    if (es_store_interrupted(s)) {
        st = es_error_set(err, ES_INTERRUPTED, 0, "insert into '%s': interrupted", table);
        goto done;
    }
    /* A small insert is inlined in the log entry (no object) unless the caller flushes. */
    if (n_parts == 1 && total <= s->opts.inline_rows && !s->no_inline && !j->no_inline) {
        st = es_part_build_inline(&m, NULL, pcols, t->n_cols, chunks, n_chunks, err);
        if (!st && (int64_t)m->inline_ipc->size > s->opts.inline_bytes) {
            es_part_meta_unref(m);
            m = NULL;
        }
    }
    if (!st && !m)
        st = es_part_write(&m, s->os, t->id, pcols, t->n_cols, t->pk, chunks, n_chunks,
                           s->opts.compression, s->opts.batch_pages, err);
    if (st)
        goto done;
    es_trace("part %lld: written", (long long)p);
    acts[n_acts].kind = ES_ACT_ADD_PART;
    memcpy(acts[n_acts].table_id, t->id, sizeof(t->id));
    acts[n_acts].table_name = es_strdup(t->name);
    acts[n_acts].part = m;
    n_acts++;
    for (int64_t x = 0; x < n_ix && !st && !m->inline_ipc; x++) { /* inline: no index */
        st = es_index_build_chunks(&acts[n_acts], s, t, t->indexes[x], m, j->pschema, chunks,
                                   n_chunks, err);
        n_acts += !st;
    }
done:
    for (int64_t k = 0; k < n_chunks; k++)
        es_array_release(&chunks[k]);
    return st;
}

static void *part_worker(void *arg);

/* Run write_one_part over the parts: on the store's threads when there are several parts (bld
 * and chunks serve the calling thread; each helper makes its own). The first error wins. */
static es_status write_parts_run(part_job *j, es_builder *bld, struct ArrowArray *chunks,
                                 es_error *err)
{
    int nt = j->s->threads > 1 ? j->s->threads : 1;
    if (nt > j->n_parts)
        nt = (int)j->n_parts;
    pthread_t th[64];
    int started = 0;
    pthread_mutex_init(&j->mu, NULL);
    j->next = 0;
    j->st = ES_OK;
    for (int i = 1; i < nt && i <= 64; i++) {
        if (pthread_create(&th[started], NULL, part_worker, j) != 0)
            break;
        started++;
    }
    for (;;) {
        pthread_mutex_lock(&j->mu);
        int64_t p = j->st ? j->n_parts : j->next++;
        pthread_mutex_unlock(&j->mu);
        if (p >= j->n_parts)
            break;
        es_error e;
        es_status st = write_one_part(j, p, bld, chunks, &e);
        pthread_mutex_lock(&j->mu);
        if (st && !j->st) {
            j->st = st;
            j->err = e;
        }
        pthread_mutex_unlock(&j->mu);
    }
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    pthread_mutex_destroy(&j->mu);
    if (j->st && err)
        *err = j->err;
    return j->st;
}

static void *part_worker(void *arg)
{
    part_job *j = arg;
    es_builder *bld = NULL;
    int64_t max_part = j->part_rows < j->total ? j->part_rows : j->total;
    struct ArrowArray *chunks =
        es_calloc((size_t)((max_part + j->batch_rows - 1) / j->batch_rows), sizeof(*chunks));
    es_error e;
    es_status st = chunks ? es_builder_new(&bld, j->pschema, &e)
                          : es_error_set(&e, ES_NOMEM, 0, "out of memory");
    for (;;) {
        pthread_mutex_lock(&j->mu);
        if (st && !j->st) {
            j->st = st;
            j->err = e;
        }
        int64_t p = j->st ? j->n_parts : j->next++;
        pthread_mutex_unlock(&j->mu);
        if (p >= j->n_parts)
            break;
        st = write_one_part(j, p, bld, chunks, &e);
    }
    es_builder_free(bld);
    es_free(chunks);
    return NULL;
}

/* The insert pipeline: rows sorted by the key, cut into parts (or inlined in the log when
 * small), each with its index objects; *order (when asked) where each written row came from;
 * keys (when given) receives the keys written, checked unique among them. */
static es_status write_parts(es_action **out_acts, int64_t *out_n, int64_t **order, es_store *s,
                             const es_tabledef *t, const struct ArrowSchema *schema,
                             struct ArrowArray *batches, int64_t n, es_keyset *keys,
                             const char *what, int64_t fixed_part_rows, es_error *err)
{
    const char *table = t->name;
    es_array_view *bv = NULL;
    int64_t *map = NULL, n_views = 0, total = 0;
    src_row *rows = NULL;
    int64_t *start = NULL;
    es_part_col *pcols = NULL;
    struct ArrowSchema pschema = {0};
    es_builder *bld = NULL;
    struct ArrowArray *chunks = NULL;
    int64_t n_chunks = 0;
    es_action *acts = NULL;
    int64_t n_acts = 0;
    es_status st = ES_OK;
    *out_acts = NULL;
    *out_n = 0;
    if (order)
        *order = NULL;
    if (!schema || !schema->format || strcmp(schema->format, "+s") != 0) {
        st = es_error_set(err, ES_INVALID, 0, "insert into '%s': schema must be a struct", table);
        goto done;
    }
    /* Match columns by name and check types. */
    map = es_calloc((size_t)t->n_cols, sizeof(int64_t));
    bv = es_calloc((size_t)(n > 0 ? n : 1), sizeof(es_array_view));
    pcols = es_calloc((size_t)t->n_cols, sizeof(es_part_col));
    if (!map || !bv || !pcols) {
        st = es_error_set(err, ES_NOMEM, 0, "out of memory");
        goto done;
    }
    for (int64_t c = 0; c < t->n_cols; c++) {
        map[c] = -1;
        for (int64_t k = 0; k < schema->n_children; k++)
            if (schema->children[k]->name &&
                strcmp(schema->children[k]->name, t->cols[c].name) == 0)
                map[c] = k;
        pcols[c].id = t->cols[c].id;
        pcols[c].type = t->cols[c].type;
        memcpy(pcols[c].format, t->cols[c].format, sizeof(pcols[c].format));
        pcols[c].nullable = t->cols[c].nullable;
        if (map[c] < 0 && !t->cols[c].nullable && !t->cols[c].def) {
            st = es_error_set(err, ES_INVALID, 0,
                              "insert into '%s': missing column '%s' (NOT NULL, no default)", table,
                              t->cols[c].name);
            goto done;
        }
        if (map[c] >= 0) {
            es_type ty;
            st = es_type_parse(&ty, schema->children[map[c]]->format, err);
            if (st)
                goto done;
            if (!same_type(&ty, &t->cols[c].type)) {
                char a[64], b[64];
                es_type_name(a, sizeof(a), &ty);
                es_type_name(b, sizeof(b), &t->cols[c].type);
                st = es_error_set(err, ES_INVALID, 0, "insert into '%s': column '%s' is %s, not %s",
                                  table, t->cols[c].name, b, a);
                goto done;
            }
        }
    }
    for (int64_t k = 0; k < schema->n_children; k++) {
        if (!schema->children[k]->name || es_tabledef_col_index(t, schema->children[k]->name) < 0) {
            st = es_error_set(err, ES_INVALID, 0, "insert into '%s': no column '%s'", table,
                              schema->children[k]->name ? schema->children[k]->name : "");
            goto done;
        }
    }
    for (int64_t b = 0; b < n; b++) {
        st = es_array_view_init(&bv[b], schema, &batches[b], err);
        if (st)
            goto done;
        n_views = b + 1;
        if (bv[b].length > UINT32_MAX || b > UINT32_MAX) {
            st = es_error_set(err, ES_INVALID, 0, "insert into '%s': batch too large", table);
            goto done;
        }
        total += bv[b].length;
        for (int64_t c = 0; c < t->n_cols; c++) {
            if (map[c] >= 0 && !t->cols[c].nullable && bv[b].children[map[c]].null_count != 0) {
                int has_null = 0;
                const es_array_view *v = &bv[b].children[map[c]];
                for (int64_t i = 0; i < v->length && !has_null; i++)
                    has_null = es_view_is_null(v, i);
                if (has_null) {
                    st = es_error_set(err, ES_INVALID, 0,
                                      "insert into '%s': NULL in non-nullable column '%s'", table,
                                      t->cols[c].name);
                    goto done;
                }
            }
        }
    }
    es_trace("write_parts: %lld rows checked", (long long)total);
    if (total == 0)
        goto done;
    /* Row order: by primary key (stable), else as given. Rows already in order (no key, or an
     * integer key already ascending: the common append-only case) need no row array. */
    start = es_malloc((size_t)(n + 1) * sizeof(int64_t));
    if (!start) {
        st = es_error_set(err, ES_NOMEM, 0, "out of memory");
        goto done;
    }
    start[0] = 0;
    for (int64_t b = 0; b < n; b++)
        start[b + 1] = start[b] + bv[b].length;
    {
        int64_t kc = t->pk >= 0 ? map[t->pk] : -1;
        es_domain dom = t->pk >= 0 ? es_expr_domain(t->cols[t->pk].type.id) : ES_DOM_NONE;
        int int_key = kc >= 0 && dom == ES_DOM_INT;
        int sorted = kc < 0;
        if (int_key) {
            int64_t prev = INT64_MIN;
            sorted = 1;
            for (int64_t b = 0; b < n && sorted; b++) {
                const es_array_view *v = &bv[b].children[kc];
                for (int64_t i = 0; i < v->length && sorted; i++) {
                    int64_t k = es_view_is_null(v, i) ? INT64_MIN : es_view_get_int(v, i);
                    sorted = prev <= k;
                    prev = k;
                }
            }
        }
        if (!sorted) {
            rows = es_malloc((size_t)total * sizeof(src_row));
            if (!rows) {
                st = es_error_set(err, ES_NOMEM, 0, "out of memory");
                goto done;
            }
            int64_t r = 0;
            for (int64_t b = 0; b < n; b++) {
                for (int64_t i = 0; i < bv[b].length; i++, r++) {
                    rows[r].batch = (uint32_t)b;
                    rows[r].row = (uint32_t)i;
                    rows[r].key = 0;
                    rows[r].kv = &bv[b].children[kc];
                    if (int_key) {
                        const es_array_view *v = &bv[b].children[kc];
                        rows[r].key = es_view_is_null(v, i) ? INT64_MIN : es_view_get_int(v, i);
                    }
                }
            }
            qsort(rows, (size_t)total, sizeof(src_row), int_key ? cmp_int_rows : cmp_generic_rows);
        }
    }
    es_trace("write_parts: order found (%s)", rows ? "sorted" : "in order");
    if (order) { /* where each written row came from (compaction remaps positions with it) */
        *order = es_malloc((size_t)total * sizeof(int64_t));
        if (!*order) {
            st = es_error_set(err, ES_NOMEM, 0, "out of memory");
            goto done;
        }
        for (int64_t r = 0; r < total; r++)
            (*order)[r] = rows ? start[rows[r].batch] + rows[r].row : r;
    }
    /* Unique primary key: no two rows written share a key (unique.c). */
    if (t->pk >= 0 && map[t->pk] >= 0) {
        st = collect_keys(keys, what, t, bv, start, n, rows, total, map[t->pk], err);
        if (st)
            goto done;
    } else if (t->pk >= 0 && keys) { /* the key left out: its default in every row */
        keys->dom = es_expr_domain(t->cols[t->pk].type.id);
        st = es_unique_collect_default(keys, what, "twice among the rows written", t, t->pk, total,
                                       err);
        if (st)
            goto done;
    }
    /* Unique indexes on other columns: their values, unique among the rows (unique.c). */
    if (keys) {
        st = es_unique_collect(keys, what, "twice among the rows written", t, bv, n, map, err);
        if (st)
            goto done;
    }
    es_trace("write_parts: keys collected");
    /* Cut into parts and batches. */
    int64_t batch_rows = s->opts.batch_rows > 0 ? s->opts.batch_rows : 8192;
    int64_t part_rows = fixed_part_rows > 0
                            ? fixed_part_rows
                            : es_table_part_rows(s, row_bytes(t, bv, n, map, total));
    int64_t n_parts = (total + part_rows - 1) / part_rows;
    /* An add_part per part, and an add_index per part and index (index.c). */
    int64_t n_ix = t->n_indexes;
    acts = es_calloc((size_t)(n_parts * (1 + n_ix)), sizeof(es_action));
    /* Batches per part: no more than the rows need (a small batch_rows with the default part
     * size would otherwise allocate megabytes for every small insert). */
    int64_t max_part = part_rows < total ? part_rows : total;
    chunks = es_calloc((size_t)((max_part + batch_rows - 1) / batch_rows), sizeof(*chunks));
    st = es_part_schema(&pschema, pcols, t->n_cols, err);
    if (!st)
        st = es_builder_new(&bld, &pschema, err);
    if (st || !acts || !chunks) {
        if (!st)
            st = es_error_set(err, ES_NOMEM, 0, "out of memory");
        goto done;
    }
    {
        part_job job;
        memset(&job, 0, sizeof(job));
        job.s = s;
        job.t = t;
        job.batches = batches;
        job.n = n;
        job.map = map;
        job.bv = bv;
        job.rows = rows;
        job.start = start;
        job.total = total;
        job.part_rows = part_rows;
        job.no_inline = fixed_part_rows > 0;
        job.batch_rows = batch_rows;
        job.n_parts = n_parts;
        job.n_ix = n_ix;
        job.pcols = pcols;
        job.pschema = &pschema;
        job.acts = acts;
        st = write_parts_run(&job, bld, chunks, err);
        /* The actions in part order, without gaps (no create_table, kind 0, among them). */
        for (int64_t p = 0; p < n_parts; p++)
            for (int64_t k = 0; k <= n_ix; k++)
                if (acts[p * (1 + n_ix) + k].kind != 0)
                    acts[n_acts++] = acts[p * (1 + n_ix) + k];
        for (int64_t k = n_acts; k < n_parts * (1 + n_ix); k++)
            memset(&acts[k], 0, sizeof(acts[k]));
        if (st)
            goto done;
    }
done:
    for (int64_t k = 0; k < n_chunks; k++)
        es_array_release(&chunks[k]);
    es_free(chunks);
    if (st) {
        for (int64_t k = 0; k < n_acts; k++)
            es_action_reset(&acts[k]);
        es_free(acts);
        if (order) {
            es_free(*order);
            *order = NULL;
        }
    } else {
        *out_acts = acts;
        *out_n = n_acts;
    }
    es_builder_free(bld);
    es_schema_release(&pschema);
    es_free(rows);
    es_free(start);
    for (int64_t b = 0; b < n_views; b++)
        es_array_view_reset(&bv[b]);
    es_free(bv);
    es_free(map);
    es_free(pcols);
    for (int64_t b = 0; b < n; b++)
        es_array_release(&batches[b]);
    return st;
}

/* An insert that lost the commit race: its keys and unique values are looked up in the parts
 * added since; a unique index created meanwhile (its values were not collected) is a
 * conflict. */
typedef struct insert_rebase_ctx {
    es_store *s;
    es_tabledef *seen; /* the table as last checked; referenced */
    const es_keyset *ks;
} insert_rebase_ctx;

static es_status insert_rebase(void *ctx, const es_snapshot *snap, const es_entry *theirs,
                               es_action *acts, int64_t n, es_error *err)
{
    insert_rebase_ctx *rc = ctx;
    (void)theirs;
    (void)acts;
    (void)n;
    es_tabledef *now = es_snapshot_find_id(snap, rc->seen->id);
    if (!now) /* es_log_check has reported it */
        return ES_OK;
    if (es_unique_index_added(now, rc->ks))
        return es_error_set(err, ES_CONFLICT, 0,
                            "insert into '%s': a unique index was created concurrently", now->name);
    es_status st = es_unique_check(rc->s, now, rc->seen, rc->ks, NULL, "insert into", 1, err);
    if (!st) {
        es_tabledef_unref(rc->seen);
        rc->seen = es_tabledef_ref(now);
    }
    return st;
}

/* Does the insert check keys or unique values (else, committing asynchronously, group.c
 * refuses it if a unique index appeared on the table meanwhile)? */
static int insert_keys(void *ctx)
{
    return es_keyset_any(((insert_rebase_ctx *)ctx)->ks);
}

/* An asynchronous insert's key check outlives the call: the context moves to the heap with the
 * keys (the caller's keyset is left empty) and a reference of its table. NULL: no memory. */
typedef struct insert_async_ctx {
    insert_rebase_ctx rc;
    es_keyset ks;
} insert_async_ctx;

static void *insert_ctx_take(void *ctx)
{
    insert_rebase_ctx *rc = ctx;
    insert_async_ctx *a = es_calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    memcpy(&a->ks, rc->ks, sizeof(a->ks));
    memset((es_keyset *)rc->ks, 0, sizeof(es_keyset));
    a->rc.s = rc->s;
    a->rc.seen = es_tabledef_ref(rc->seen);
    a->rc.ks = &a->ks;
    return a;
}

static void insert_ctx_free(void *ctx)
{
    insert_async_ctx *a = ctx;
    es_tabledef_unref(a->rc.seen);
    es_keyset_reset(&a->ks);
    es_free(a);
}

/* The table an insert writes to. A handle that knows the end of the log (es_log_end_known: its
 * last commit or check was recent) takes it from its snapshot with no request: the conditional
 * put of the next version detects a writer that came between, and only then does the commit
 * read and rebase (es_log_commit_rebase, insert_rebase). Otherwise, and when the snapshot has no
 * such table, as any writer does (es_store_table_write: the log's tail and the hint). */
static es_status insert_table(es_tabledef **out, int *blind, es_store *s, const char *table,
                              es_error *err)
{
    *blind = 0;
    if (!s->txn && !s->async) {
        es_store_adopt_async(s);
        *out = es_log_end_known(s->snap) ? es_tabledef_ref(es_snapshot_find(s->snap, table)) : NULL;
        *blind = *out != NULL;
        if (*out)
            return ES_OK;
    }
    return es_store_table_write(out, s, table, err);
}

/* A blind insert (insert_table) that conflicted: the error a writer that had read the tail first
 * would have got when the table is gone now ("no table"), else the conflict. */
static es_status blind_conflict(es_store *s, const char *table, es_error *err)
{
    es_tabledef *t = NULL;
    es_error terr;
    es_status st = es_store_table_write(&t, s, table, &terr);
    es_tabledef_unref(t);
    if (st == ES_NOT_FOUND || st == ES_CORRUPT) {
        if (err)
            *err = terr;
        return st;
    }
    return ES_CONFLICT;
}

void es_table_actions_free(es_action *acts, int64_t n)
{
    for (int64_t k = 0; k < n; k++)
        es_action_reset(&acts[k]);
    es_free(acts);
}

es_status es_table_insert_commit(es_store *s, es_tabledef *t, es_action *acts, int64_t n_acts,
                                 es_keyset *ks, int blind, int *inlined, es_error *err)
{
    const char *table = t->name;
    es_status st = ES_OK;
    /* A unique key: no live row may hold one of the keys written (unique.c). */
    if (es_keyset_any(ks))
        st = es_unique_check(s, t, NULL, ks, NULL, "insert into", 0, err);
    es_trace("insert into %s: unique checked", table);
    if (!st && es_keyset_any(ks) && s->txn)
        st = es_unique_note_txn(s->txn, t, ks, err);
    /* Commit: blind appends never conflict unless the table went away; with a key, the parts
     * others added meanwhile are searched for ours. */
    if (!st && n_acts > 0 && es_store_interrupted(s))
        st = es_error_set(err, ES_INTERRUPTED, 0, "insert into '%s': interrupted", table);
    *inlined = n_acts > 0 && acts[0].part->inline_ipc; /* (an async commit takes acts) */
    if (!st && n_acts > 0) {
        insert_rebase_ctx rc = {s, es_tabledef_ref(t), ks};
        st = es_store_commit(s, acts, n_acts, insert_rebase, &rc, NULL, err);
        es_tabledef_unref(rc.seen);
        if (st == ES_CONFLICT && blind)
            st = blind_conflict(s, table, err);
    }
    es_trace("insert into %s: committed", table);
    es_table_actions_free(acts, n_acts);
    return st;
}

es_status es_table_insert_impl(es_store *s, const char *table, const struct ArrowSchema *schema,
                               struct ArrowArray *batches, int64_t n, es_error *err)
{
    es_tabledef *t = NULL;
    es_action *acts = NULL;
    int64_t n_acts = 0;
    int blind = 0;
    /* Dictionary-encoded input (Arrow JS encodes strings so by default) is decoded to the
     * value type; the part writer chooses its own encoding per part. */
    struct ArrowSchema decoded = {0};
    es_status st = es_dict_decode_batches(&decoded, schema, batches, n, err);
    if (st)
        es_error_prefix(err, "insert into '%s'", table);
    else
        st = insert_table(&t, &blind, s, table, err);
    if (st) {
        for (int64_t b = 0; b < n; b++)
            es_array_release(&batches[b]);
        es_schema_release(&decoded);
        return st;
    }
    if (decoded.release)
        schema = &decoded;
    es_keyset ks;
    memset(&ks, 0, sizeof(ks));
    st = es_table_write_parts_keys(&acts, &n_acts, s, t, schema, batches, n, &ks, "insert into",
                                   err);
    int inlined = 0;
    if (!st)
        st = es_table_insert_commit(s, t, acts, n_acts, &ks, blind, &inlined, err);
    else
        es_table_actions_free(acts, n_acts);
    es_keyset_reset(&ks);
    es_tabledef_unref(t);
    es_schema_release(&decoded);
    if (!st && inlined)
        es_table_flush_auto(s, table);
    return st;
}
