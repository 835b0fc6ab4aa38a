/*
 * flush: rows inlined in the log (inline parts, add_inline in docs/FORMAT.md) written into a
 * proper part. Table layer, beside table.c's insert pipeline, which it reuses.
 *
 * A flush of table T lists every part of T (loading the manifests a checkpoint packed them into:
 * inline parts too), reads T's inline parts with the scanner (their deleted rows left out),
 * writes their live rows as new parts through es_table_write_parts (sorted by the primary key,
 * cut into batches, .data and .idx written with put-if-absent) and commits one entry:
 * add_part of the new parts, remove_part of every inline part it read. Nothing else changes,
 * so:
 *  1. A concurrent append never conflicts with it (blind appends, FORMAT.md section 7), and
 *     rows inlined after the flush read T stay inline.
 *  2. A concurrent delete or update of one of its inline parts (set_dv or remove_part) makes
 *     the flush fail with ES_CONFLICT (the rebase hook below, and es_log_check for removed
 *     parts): the user's change wins; the flush's objects stay unreferenced and a later flush
 *     starts over.
 *  3. Time travel to a version before the flush still reads the inline rows from the log.
 *
 * es_table_flush_auto runs after an autocommit insert: it flushes when the table's inline
 * rows exceed the store's flush_rows or flush_bytes (es_open_options), unless another handle
 * of the process is flushing the store then (es_store_flush_claim, group.c).
 */
#include <stdio.h>
#include <stdlib.h>

#include "table/txn.h"

typedef struct flush_ctx {
    const es_tabledef *inl; /* the inline parts flushed */
    const char *table;
} flush_ctx;

/* es_log_rebase_fn: a winner that changed the deleted rows of one of the flushed parts. */
static es_status flush_rebase(void *ctx, const es_snapshot *s, const es_entry *theirs,
                              es_action *actions, int64_t n, es_error *err)
{
    const flush_ctx *f = ctx;
    (void)s, (void)actions, (void)n;
    for (int64_t i = 0; i < theirs->n_actions; i++) {
        const es_action *a = &theirs->actions[i];
        if (a->kind != ES_ACT_SET_DV && a->kind != ES_ACT_REMOVE_PART)
            continue;
        for (int64_t p = 0; p < f->inl->n_parts; p++)
            if (strcmp(a->table_id, f->inl->id) == 0 &&
                strcmp(a->part_id, f->inl->parts[p]->id) == 0)
                return es_error_set(err, ES_CONFLICT, 0,
                                    "flush of table '%s': inlined rows were deleted or updated "
                                    "concurrently; nothing flushed (try again)",
                                    f->table);
    }
    return ES_OK;
}

void es_table_inline_size(const es_tabledef *t, int64_t *rows, int64_t *bytes)
{
    *rows = *bytes = 0;
    for (int64_t p = 0; p < t->n_parts; p++) {
        const es_part_meta *m = t->parts[p];
        if (m->inline_ipc) {
            *rows += es_part_live_rows(m);
            *bytes += (int64_t)m->inline_ipc->size;
        }
    }
    /* Inline parts a checkpoint packed into manifests this handle has not loaded: counted by
     * the manifest's line (docs/FORMAT.md 4a), so that the automatic flush comes on time. */
    for (int64_t i = 0; i < t->n_mf; i++)
        if (!t->mf[i].loaded) {
            *rows += t->mf[i].ref->inline_rows;
            *bytes += t->mf[i].ref->inline_bytes;
        }
}

/* Read every live row of the inline parts of `inl` (a copy of the table holding only those). */
static es_status read_inline(struct ArrowSchema *schema, struct ArrowArray **out, int64_t *n_out,
                             es_store *s, es_tabledef *inl, es_error *err)
{
    es_scanner *sc = NULL;
    es_scan_ext ext;
    memset(&ext, 0, sizeof(ext));
    ext.table = inl;
    struct ArrowArray *b = NULL;
    int64_t n = 0, cap = 0;
    *out = NULL;
    *n_out = 0;
    schema->release = NULL;
    es_status st = es_scanner_open(&sc, s, inl->name, NULL, &ext, err);
    if (st)
        return st;
    for (;;) {
        if (n == cap) {
            int64_t nc = cap ? 2 * cap : 8;
            struct ArrowArray *nb = es_realloc(b, (size_t)nc * sizeof(*nb));
            if (!nb) {
                st = es_error_set(err, ES_NOMEM, 0, "flush: out of memory");
                break;
            }
            b = nb;
            cap = nc;
        }
        st = es_scanner_next(sc, &b[n], err);
        if (st || !b[n].release)
            break;
        n++;
    }
    if (!st)
        st = es_schema_copy(schema, es_scanner_schema(sc), err);
    es_scanner_close(sc);
    if (st) {
        for (int64_t i = 0; i < n; i++)
            es_array_release(&b[i]);
        es_free(b);
        return st;
    }
    *out = b;
    *n_out = n;
    return ES_OK;
}

es_status es_table_flush_impl(es_store *s, const char *table, int64_t *flushed, es_error *err)
{
    es_tabledef *t = NULL, *inl = NULL;
    struct ArrowSchema schema = {0};
    struct ArrowArray *batches = NULL;
    int64_t n_batches = 0, n_acts = 0, rows = 0;
    es_action *acts = NULL;
    if (flushed)
        *flushed = 0;
    es_status st = es_store_table_write(&t, s, table, err);
    /* Every part listed: a checkpoint packs inline parts into manifests like any other, and a
     * handle opened from it lists none of them until loaded (manifest.c). */
    if (!st)
        st = es_manifest_load(t, s->os, NULL, NULL, NULL, NULL, err);
    if (st)
        goto done;
    /* The inline parts, in a copy of the table that holds only them: without its manifests,
     * which the scan would otherwise load, reading (and this flush writing) their parts too. */
    st = es_tabledef_copy(&inl, t);
    if (st) {
        st = es_error_set(err, ES_NOMEM, 0, "flush: out of memory");
        goto done;
    }
    es_tabledef_drop_manifests(inl);
    int64_t k = 0;
    for (int64_t p = 0; p < inl->n_parts; p++) {
        if (inl->parts[p]->inline_ipc) {
            rows += es_part_live_rows(inl->parts[p]);
            inl->parts[k++] = inl->parts[p];
        } else {
            es_part_meta_unref(inl->parts[p]);
        }
    }
    inl->n_parts = k;
    if (k == 0)
        goto done;
    st = read_inline(&schema, &batches, &n_batches, s, inl, err);
    if (st)
        goto done;
    s->no_inline = 1;
    st = es_table_write_parts(&acts, &n_acts, s, t, &schema, batches, n_batches, err);
    s->no_inline = 0;
    n_batches = 0; /* moved into es_table_write_parts */
    if (st)
        goto done;
    es_action *all = es_realloc(acts, (size_t)(n_acts + k) * sizeof(es_action));
    if (!all) {
        st = es_error_set(err, ES_NOMEM, 0, "flush: out of memory");
        goto done;
    }
    acts = all;
    for (int64_t p = 0; p < k; p++) {
        es_action *a = &acts[n_acts++];
        memset(a, 0, sizeof(*a));
        a->kind = ES_ACT_REMOVE_PART;
        a->flushed = 1;
        memcpy(a->table_id, t->id, sizeof(t->id));
        memcpy(a->part_id, inl->parts[p]->id, sizeof(a->part_id));
    }
    flush_ctx ctx = {inl, t->name};
    st = es_store_commit(s, acts, n_acts, flush_rebase, &ctx, NULL, err);
    if (!st && flushed)
        *flushed = rows;
done:
    for (int64_t i = 0; i < n_acts; i++)
        es_action_reset(&acts[i]);
    es_free(acts);
    for (int64_t i = 0; i < n_batches; i++)
        es_array_release(&batches[i]);
    es_free(batches);
    es_schema_release(&schema);
    es_tabledef_unref(inl);
    es_tabledef_unref(t);
    return st;
}

void es_table_flush_auto(es_store *s, const char *table)
{
    if (s->txn || (s->opts.flush_rows <= 0 && s->opts.flush_bytes <= 0))
        return;
    const es_tabledef *t = es_snapshot_find(s->snap, table);
    if (!t)
        return;
    int64_t rows, bytes;
    es_table_inline_size(t, &rows, &bytes);
    /* One flush at a time per store in a process: concurrent sessions that cross the
     * threshold together would write the same rows into parts of which one commit wins. */
    if (((s->opts.flush_rows > 0 && rows > s->opts.flush_rows) ||
         (s->opts.flush_bytes > 0 && bytes > s->opts.flush_bytes)) &&
        es_store_flush_claim(s, 1)) {
        es_error ignore; /* best effort: the insert is committed; the next one tries again */
        (void)es_table_flush_impl(s, table, NULL, &ignore);
        es_store_flush_claim(s, 0);
    }
}
