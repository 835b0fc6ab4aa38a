/*
 * fsck: verification of a whole store (table layer; es_fsck, `expstore fsck STORE`).
 *
 *   list _log/ and table_ --> oldest retained version R (_log/_retention, else 0)
 *     --> entries R .. N all present; catalog at R (its checkpoint, or a replay from 0)
 *     --> each entry R+1 .. N: checksum, recorded version, hash chain ("prev" names the
 *         checksum of the entry before), actions that fit the catalog (es_snapshot_apply)
 *     --> each checkpoint >= R: the same tables, parts (sizes, rows, types, statistics) and
 *         vectors as the replayed catalog
 *         (its manifests and lists present with their size and CRC-32C; each decoded once,
 *         a later checkpoint naming it again reuses the decoded one)
 *     --> each part any retained version holds, once: .idx (size, CRC-32C in the log, its
 *         content checksum), .data (size, CRC-32C of every batch's metadata and column
 *         ranges against the .idx; the footer, schema and dictionaries that other Arrow
 *         readers use, and the footer's blocks against the .idx; the Schema message and every
 *         batch decoded as a stream reader decodes them), its vectors (.delta size and
 * CRC-32C, or the inline blob; positions within the part, as many as the log says); each .six
 * object of index coverage present with its size
 *     --> at the newest version, when nothing failed: each table's live non-null primary keys
 *         are unique (check_keys: hashes of the key column, sorted; a second scan compares
 *         the keys whose hashes repeat)
 *     --> the hint _log/_last_checkpoint decodes and names a checkpoint that exists
 *     --> table objects no retained version references: listed (notes, not problems)
 *
 * Each object is checked once, whatever the number of versions: the catalog at R whole, then
 * per entry only what it adds or changes (check_entry), with the keys verified in a hash set.
 *
 * Problems go to the callback one line each, naming the object; the first is the handle's
 * error (ES_CORRUPT). fsck only reads.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "table/bloom.h"
#include "table/compact.h"
#include "table/gc.h"
#include "table/index.h"
#include "table/unique.h"

typedef struct fsck {
    es_store *s;
    es_fsck_fn fn;
    void *ctx;
    es_fsck_info *info;
    es_error first; /* the first problem */
    es_gc_refs refs;
    es_gc_refs seen; /* parts (.data key and description), .delta and .six keys verified */
    es_mfref **mf;   /* manifests and lists decoded so far, by id: each read once */
    int64_t n_mf, cap_mf;
} fsck;

static void report(fsck *f, int problem, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void report(fsck *f, int problem, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (problem) {
        f->info->problems++;
        if (f->first.code == ES_OK)
            es_error_set(&f->first, ES_CORRUPT, 0, "%s", line);
    }
    if (f->fn)
        f->fn(f->ctx, problem, line);
}

/* Key k in the listing (in byte order, as listings are), or NULL. */
static const es_obj_info *listed(const es_obj_list *l, const char *k)
{
    int64_t lo = 0, hi = l->n - 1;
    while (lo <= hi) {
        int64_t mid = (lo + hi) / 2;
        int c = strcmp(l->items[mid].key, k);
        if (c == 0)
            return &l->items[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

/* Do two decoded schemas say the same: formats, names, flags, metadata, children and
 * dictionaries? */
static int same_schema(const struct ArrowSchema *a, const struct ArrowSchema *b)
{
    if (strcmp(a->format, b->format) != 0 ||
        strcmp(a->name ? a->name : "", b->name ? b->name : "") || a->flags != b->flags ||
        a->n_children != b->n_children || !a->dictionary != !b->dictionary ||
        es_metadata_count(a->metadata) != es_metadata_count(b->metadata))
        return 0;
    for (int32_t i = 0; i < es_metadata_count(a->metadata); i++) {
        const char *k[2], *v[2];
        int32_t kl[2], vl[2];
        es_metadata_at(a->metadata, i, &k[0], &kl[0], &v[0], &vl[0]);
        es_metadata_at(b->metadata, i, &k[1], &kl[1], &v[1], &vl[1]);
        if (kl[0] != kl[1] || vl[0] != vl[1] || memcmp(k[0], k[1], (size_t)kl[0]) ||
            memcmp(v[0], v[1], (size_t)vl[0]))
            return 0;
    }
    for (int64_t i = 0; i < a->n_children; i++)
        if (!same_schema(a->children[i], b->children[i]))
            return 0;
    return !a->dictionary || same_schema(a->dictionary, b->dictionary);
}

/* The stream part of the .data (from offset 8 to the footer) as an Arrow stream reader reads
 * it: the Schema message, which file readers skip, says what the footer's schema says, and
 * every dictionary and record batch decodes, up to the end-of-stream marker, as many batches
 * as the footer has. Decoding checks what the .idx CRCs leave out: the int64 uncompressed
 * length (or -1: raw) ahead of each buffer of a paged part's batch, whose pages' frames alone
 * the CRCs cover. Padding between buffers and unused flatbuffer bytes stay unchecked: no
 * reader reads them. */
static void check_stream(fsck *f, es_blob *data, es_ipc_file *ipc, const char *dkey)
{
    size_t fstart = data->size - 10 - (size_t)es_load_u32(data->data + data->size - 10);
    es_blob *sl = NULL;
    struct ArrowArrayStream st = {0};
    struct ArrowSchema sch = {0};
    es_error e = {0};
    int64_t n = 0;
    const char *why = NULL;
    if (es_blob_new_slice(&sl, data, 8, fstart - 8) != ES_OK)
        why = "out of memory";
    else if (es_ipc_reader_open(&st, sl, &e) != ES_OK)
        why = e.msg;
    else if (st.get_schema(&st, &sch) != 0)
        why = st.get_last_error(&st);
    else if (!same_schema(&sch, es_ipc_file_schema(ipc)))
        why = "the Schema message differs from the footer's schema";
    while (!why) {
        struct ArrowArray a = {0};
        if (st.get_next(&st, &a) != 0)
            why = st.get_last_error(&st);
        else if (!a.release)
            break;
        else {
            a.release(&a);
            n++;
        }
    }
    if (!why && n != es_ipc_file_num_batches(ipc))
        why = "not as many record batches before the end-of-stream marker as in the footer";
    if (why)
        report(f, 1, "%s: not a readable Arrow IPC stream (from offset 8): %s", dkey, why);
    if (sch.release)
        sch.release(&sch);
    if (st.release)
        st.release(&st);
    es_blob_unref(sl);
}

/* Are the dictionary batches of the .data, which end where its first record batch starts, the
 * copies its .idx holds (versions 2 and 3)? Scans read the copies; other Arrow readers read
 * these, which no CRC covers (a changed value would change every row holding it). */
static int same_dicts(const es_blob *data, const es_part_idx *x)
{
    int64_t total = 0;
    for (int64_t c = 0; x->dict_fmt && c < x->n_cols; c++)
        if (x->dict_fmt[c])
            total += x->dict_msg_len[c];
    if (total == 0)
        return 1;
    int64_t pos = x->n_batches > 0 ? x->offset[0] - total : -1;
    if (pos < 8)
        return 0;
    for (int64_t c = 0; c < x->n_cols; c++) {
        if (!x->dict_fmt[c])
            continue;
        if (memcmp(data->data + pos, x->dict_msg[c], (size_t)x->dict_msg_len[c]) != 0)
            return 0;
        pos += x->dict_msg_len[c];
    }
    return 1;
}

/* The .data as other Arrow readers open it: magic, footer, schema and dictionaries (which the
 * store's own scans never read: they have the .idx), and one footer block per record batch of
 * the .idx (a paged part's pages share their batch's block), at the same place; its dictionary
 * batches (same_dicts); then as a stream (check_stream). */
static void check_footer(fsck *f, es_blob *data, const es_part_idx *x, const char *dkey,
                         const char *ikey)
{
    es_error e;
    memset(&e, 0, sizeof(e));
    es_ipc_file *ipc = NULL;
    if (es_ipc_file_open(&ipc, data, &e) != ES_OK) {
        report(f, 1, "%s: not a readable Arrow IPC file: %s", dkey, e.msg);
        return;
    }
    int64_t n = es_ipc_file_num_batches(ipc), k = 0, bad = -1;
    for (int64_t b = 0; b < x->n_batches && bad < 0; b++) {
        if (b > 0 && x->offset[b] == x->offset[b - 1])
            continue; /* another page of the same record batch */
        const es_ipc_block *blk = k < n ? es_ipc_file_block(ipc, k) : NULL;
        if (!blk || blk->offset != x->offset[b] || blk->metadata_length != x->meta_len[b] ||
            blk->body_length != x->body_len[b])
            bad = k;
        k++;
    }
    if (bad < 0 && k != n)
        bad = k;
    if (bad >= 0)
        report(f, 1, "%s: the footer's block of record batch %lld does not match %s", dkey,
               (long long)bad, ikey);
    else if (!same_dicts(data, x))
        report(f, 1, "%s: its dictionary batches are not the copies in %s", dkey, ikey);
    else
        check_stream(f, data, ipc, dkey);
    es_ipc_file_close(ipc);
}

/* Verify one part of table t (its objects and its live vector), once per part and vector. */
static es_status check_part(fsck *f, const es_obj_list *objs, const es_tabledef *t,
                            const es_part_meta *m, int64_t version)
{
    char dkey[256], ikey[256];
    es_part_key(dkey, sizeof(dkey), t->id, m->id, "data");
    es_part_key(ikey, sizeof(ikey), t->id, m->id, "idx");
    es_error e;
    memset(&e, 0, sizeof(e));
    es_status st = ES_OK;
    /* Once per part as the log describes it: a part removed and added again with other rows
     * or another .idx is checked again. */
    char skey[300];
    snprintf(skey, sizeof(skey), "%s:%08" PRIx32 ":%lld:%lld", dkey, m->idx_crc, (long long)m->rows,
             (long long)m->n_batches);
    if (!m->inline_ipc && !es_gc_refs_has(&f->seen, skey)) { /* inline: no objects */
        f->info->objects += 2;
        const es_obj_info *di = listed(objs, dkey), *ii = listed(objs, ikey);
        es_part_idx *x = NULL;
        es_blob *data = NULL;
        if (!di || !ii) {
            report(f, 1, "%s: missing (table '%s', version %lld)", di ? ikey : dkey, t->name,
                   (long long)version);
        } else if ((int64_t)di->size != m->data_bytes) {
            report(f, 1, "%s: %llu bytes, the log says %lld", dkey, (unsigned long long)di->size,
                   (long long)m->data_bytes);
        } else if (es_store_part_idx(&x, f->s, t, m, NULL, NULL, &e) != ES_OK) {
            report(f, 1, "%s", e.msg);
        } else if (es_objstore_get(f->s->os, dkey, 0, UINT64_MAX, &data, &e) != ES_OK) {
            report(f, 1, "%s", e.msg);
        } else {
            int64_t bad = -1;
            for (int64_t b = 0; b < x->n_batches && bad < 0; b++) {
                if (x->offset[b] + x->meta_len[b] > (int64_t)data->size ||
                    es_crc32c(0, data->data + x->offset[b], (size_t)x->meta_len[b]) !=
                        x->meta_crc[b])
                    bad = b;
                for (int64_t c = 0; c < x->n_cols && bad < 0; c++) {
                    int64_t k = b * x->n_cols + c, off[3], len[3];
                    int n = es_part_idx_ranges(x, k, off, len); /* a page: its pieces */
                    uint32_t crc = 0;
                    for (int i = 0; i < n && bad < 0; i++) {
                        if (off[i] + len[i] > (int64_t)data->size)
                            bad = b;
                        else
                            crc = es_crc32c(crc, data->data + off[i], (size_t)len[i]);
                    }
                    if (bad < 0 && crc != x->col_crc[k])
                        bad = b;
                }
            }
            if (bad >= 0)
                report(f, 1, "%s: batch %lld does not match the checksums of %s", dkey,
                       (long long)bad, ikey);
            else
                check_footer(f, data, x, dkey, ikey);
        }
        es_blob_unref(data);
        es_part_idx_free(x);
        st = es_gc_refs_add(&f->seen, skey, &e);
    }
    if (!st && m->dv) {
        char vkey[300];
        if (m->dv->id[0])
            es_part_dv_key(vkey, sizeof(vkey), t->id, m->id, m->dv->id);
        else
            snprintf(vkey, sizeof(vkey), "inline:%s:%08" PRIx32 ":%lld", m->id, m->dv->crc,
                     (long long)m->dv->deleted);
        if (!es_gc_refs_has(&f->seen, vkey)) {
            es_dv v = {0};
            f->info->objects += m->dv->id[0] != 0;
            if (m->dv->id[0] && !listed(objs, vkey))
                report(f, 1, "%s: missing (table '%s', version %lld)", vkey, t->name,
                       (long long)version);
            else if (es_store_part_dv(&v, f->s, t, m, NULL, NULL, &e) != ES_OK)
                report(f, 1, "%s", e.msg);
            es_dv_reset(&v);
            st = es_gc_refs_add(&f->seen, vkey, &e);
        }
    }
    return st;
}

/* The content of the .six object `key` of coverage entry c: its lookup table against the log's
 * checksum, and every page (es_index_object_check) for the column's domain and the part's
 * rows (when the table still holds the part). */
static void check_six_content(fsck *f, const es_tabledef *t, const es_index_cov *c, const char *key)
{
    const es_index_def *d = NULL;
    for (int64_t x = 0; x < t->n_indexes && !d; x++)
        if (c >= t->indexes[x]->cov && c < t->indexes[x]->cov + t->indexes[x]->n_cov)
            d = t->indexes[x];
    const es_part_meta *pm = es_tabledef_find_part(t, c->part);
    int64_t col = -1, rows = pm ? pm->rows : -1;
    for (int64_t i = 0; d && i < t->n_cols; i++)
        if (t->cols[i].id == d->col_id)
            col = i;
    es_blob *b = NULL;
    es_error e = {0};
    if (es_objstore_get(f->s->os, key, 0, UINT64_MAX, &b, &e) != ES_OK)
        report(f, 1, "%s", e.msg);
    else if (c->lookup_off < 0 || c->lookup_len < 0 ||
             (uint64_t)c->lookup_off + (uint64_t)c->lookup_len > b->size ||
             es_crc32c(0, b->data + c->lookup_off, (size_t)c->lookup_len) != c->lookup_crc)
        report(f, 1, "%s: lookup table does not match the checksum in the log", key);
    else if (col >= 0 && rows >= 0 &&
             es_index_object_check(b->data, b->size, es_expr_domain(t->cols[col].type.id), rows,
                                   key, &e) != ES_OK)
        report(f, 1, "%s", e.msg);
    es_blob_unref(b);
}

/* Verify the object of index coverage entry c of table t (present, with the recorded size and
 * content), once per object. */
static es_status check_six(fsck *f, const es_obj_list *objs, const es_tabledef *t,
                           const es_index_cov *c, int64_t version)
{
    char key[256];
    es_index_object_key(key, sizeof(key), t->id, c);
    if (es_gc_refs_has(&f->seen, key))
        return ES_OK;
    f->info->objects++;
    const es_obj_info *o = listed(objs, key);
    if (!o)
        report(f, 1, "%s: missing (table '%s', version %lld)", key, t->name, (long long)version);
    else if ((int64_t)o->size != c->bytes)
        report(f, 1, "%s: %llu bytes, the log says %lld", key, (unsigned long long)o->size,
               (long long)c->bytes);
    else
        check_six_content(f, t, c, key);
    return es_gc_refs_add(&f->seen, key, NULL);
}

static es_status check_catalog(fsck *f, const es_obj_list *objs, const es_snapshot *snap)
{
    es_status st = ES_OK;
    for (int64_t i = 0; i < snap->n_tables && !st; i++) {
        const es_tabledef *t = snap->tables[i];
        for (int64_t p = 0; p < t->n_parts && !st; p++)
            st = check_part(f, objs, t, t->parts[p], snap->version);
        for (int64_t x = 0; x < t->n_indexes && !st; x++)
            for (int64_t c = 0; c < t->indexes[x]->n_cov && !st; c++)
                st = check_six(f, objs, t, &t->indexes[x]->cov[c], snap->version);
    }
    return st;
}

/* Verify what entry e (just applied to snap) changed: the parts it adds, the vectors it sets
 * and the index objects it adds; the rest of the catalog was verified before. */
static es_status check_entry(fsck *f, const es_obj_list *objs, const es_snapshot *snap,
                             const es_entry *e)
{
    es_status st = ES_OK;
    for (int64_t i = 0; i < e->n_actions && !st; i++) {
        const es_action *a = &e->actions[i];
        const es_tabledef *t = es_snapshot_find_id(snap, a->table_id);
        if (!t)
            continue;
        if (a->kind == ES_ACT_ADD_PART || a->kind == ES_ACT_SET_DV) {
            const char *id = a->kind == ES_ACT_ADD_PART ? a->part->id : a->part_id;
            for (int64_t p = t->n_parts - 1; p >= 0 && !st; p--) /* new parts are last */
                if (strcmp(t->parts[p]->id, id) == 0) {
                    st = check_part(f, objs, t, t->parts[p], snap->version);
                    break;
                }
        } else if (a->kind == ES_ACT_ADD_INDEX) {
            const es_index_def *d = es_index_find(t, a->index->name);
            const es_index_cov *c = d ? es_index_def_find(d, a->index->cov[0].part) : NULL;
            if (c && strcmp(d->id, a->index->id) == 0) /* applied (not ignored) */
                st = check_six(f, objs, t, c, snap->version);
        }
    }
    return st;
}

/* The manifest cache: manifests and lists are immutable, so a line of a later checkpoint that
 * names one decoded before (same id, size and checksum) takes the decoded one. */
static int64_t mf_find(const fsck *f, const char *id)
{
    int64_t lo = 0, hi = f->n_mf;
    while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        if (strcmp(f->mf[mid]->id, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void mf_reuse(fsck *f, es_snapshot *c)
{
    for (int64_t i = 0; i < c->n_tables; i++)
        for (int64_t m = 0; m < c->tables[i]->n_mf; m++) {
            es_mfref **r = &c->tables[i]->mf[m].ref;
            int64_t k = mf_find(f, (*r)->id);
            if (k < f->n_mf && strcmp(f->mf[k]->id, (*r)->id) == 0 &&
                f->mf[k]->bytes == (*r)->bytes && f->mf[k]->crc == (*r)->crc &&
                f->mf[k]->level == (*r)->level) {
                es_mfref_unref(*r);
                *r = es_mfref_ref(f->mf[k]);
            }
        }
}

/* Remember the manifests of c (loaded), and count them as objects once each; their keys are
 * referenced. */
static es_status mf_remember(fsck *f, const es_snapshot *c)
{
    char key[256];
    for (int64_t i = 0; i < c->n_tables; i++)
        for (int64_t m = 0; m < c->tables[i]->n_mf; m++) {
            es_mfref *r = c->tables[i]->mf[m].ref;
            int64_t k = mf_find(f, r->id);
            if (k < f->n_mf && strcmp(f->mf[k]->id, r->id) == 0)
                continue;
            if (f->n_mf == f->cap_mf) {
                int64_t cap = f->cap_mf ? 2 * f->cap_mf : 64;
                es_mfref **v = es_realloc(f->mf, (size_t)cap * sizeof(*v));
                if (!v)
                    return ES_NOMEM;
                f->mf = v;
                f->cap_mf = cap;
            }
            memmove(&f->mf[k + 1], &f->mf[k], (size_t)(f->n_mf - k) * sizeof(*f->mf));
            f->mf[k] = es_mfref_ref(r);
            f->n_mf++;
            f->info->objects++;
            es_manifest_key(key, sizeof(key), c->tables[i]->id, r->id);
            if (es_gc_refs_add(&f->refs, key, NULL))
                return ES_NOMEM;
        }
    return ES_OK;
}

static int cmp_part_id(const void *x, const void *y)
{
    return strcmp((*(es_part_meta *const *)x)->id, (*(es_part_meta *const *)y)->id);
}

/* Do x and y (one part, as entries and as a checkpoint describe it) say the same: sizes, rows,
 * the .idx checksum, the columns with their types and statistics, the inline rows? A
 * checkpoint that differs makes readers fail on the part's objects, or prune it wrongly. */
static int same_meta(const es_part_meta *x, const es_part_meta *y)
{
    if (x->rows != y->rows || x->n_batches != y->n_batches || x->data_bytes != y->data_bytes ||
        x->idx_bytes != y->idx_bytes || x->idx_crc != y->idx_crc || x->n_cols != y->n_cols ||
        !x->inline_ipc != !y->inline_ipc ||
        (x->inline_ipc && (x->inline_ipc->size != y->inline_ipc->size ||
                           memcmp(x->inline_ipc->data, y->inline_ipc->data, x->inline_ipc->size))))
        return 0;
    for (int64_t k = 0; k < x->n_cols; k++) {
        const es_colstat *a = &x->stats[k], *b = &y->stats[k];
        if (x->col_ids[k] != y->col_ids[k] || strcmp(x->cols[k].format, y->cols[k].format) ||
            a->null_count != b->null_count || a->has_min != b->has_min ||
            a->has_max != b->has_max ||
            (a->has_min && (a->min_len != b->min_len || memcmp(a->min, b->min, a->min_len))) ||
            (a->has_max && (a->max_len != b->max_len || memcmp(a->max, b->max, a->max_len))))
            return 0;
    }
    return 1;
}

/* Do tables a and b hold the same parts (as sets: a checkpoint may reorder) with the same
 * vectors and descriptions (same_meta)? -1 when out of memory. */
static int same_parts(const es_tabledef *a, const es_tabledef *b)
{
    es_part_meta **x = es_malloc((size_t)(2 * a->n_parts + 1) * sizeof(*x)), **y = x + a->n_parts;
    if (!x)
        return -1;
    if (a->n_parts > 0) { /* a table without parts may have no array */
        memcpy(x, a->parts, (size_t)a->n_parts * sizeof(*x));
        memcpy(y, b->parts, (size_t)a->n_parts * sizeof(*x));
    }
    qsort(x, (size_t)a->n_parts, sizeof(*x), cmp_part_id);
    qsort(y, (size_t)a->n_parts, sizeof(*y), cmp_part_id);
    int same = 1;
    for (int64_t p = 0; p < a->n_parts && same; p++)
        same = strcmp(x[p]->id, y[p]->id) == 0 && es_dvref_same(x[p]->dv, y[p]->dv) &&
               same_meta(x[p], y[p]);
    es_free(x);
    return same;
}

/* Does checkpoint c (decoded) rebuild catalog s? Compared: tables, parts, vectors. */
static int same_catalog(const es_snapshot *s, const es_snapshot *c)
{
    if (s->n_tables != c->n_tables)
        return 0;
    for (int64_t i = 0; i < s->n_tables; i++) {
        const es_tabledef *a = s->tables[i], *b = es_snapshot_find_id(c, s->tables[i]->id);
        if (!b || strcmp(a->name, b->name) != 0 || a->n_parts != b->n_parts ||
            a->n_cols != b->n_cols || a->rows != b->rows || same_parts(a, b) != 1)
            return 0;
    }
    return 1;
}

/* The hint _log/_last_checkpoint and the checkpoint it names. Every command warns about a bad
 * hint or a missing hinted checkpoint and opens from the log's entries (slower, not wrong), so
 * either is a problem line that says so; a hinted checkpoint at or below the retention floor
 * has no entries before it to open from. A checkpoint the listing lacks is looked for again: a
 * writer may have written it, and then the hint, after the listing. */
static const char harmless[] = "harmless: the log is still read from its entries, only slower";

static es_status check_hint(fsck *f, const es_obj_list *logs, int64_t oldest, es_error *err)
{
    es_blob *b = NULL;
    es_error e;
    memset(&e, 0, sizeof(e));
    es_status st = es_objstore_get(f->s->os, ES_LOG_HINT_KEY, 0, UINT64_MAX, &b, &e);
    if (st == ES_NOT_FOUND) /* no checkpoint written yet */
        return ES_OK;
    int64_t v = -1;
    if (st == ES_OK) {
        st = es_log_hint_decode(&v, b->data, b->size, &e);
        es_blob_unref(b);
    }
    if (st == ES_NOMEM || st == ES_REMOTE || st == ES_TRANSIENT || st == ES_IO) {
        if (err)
            *err = e;
        return st;
    }
    if (st != ES_OK) {
        report(f, 1, "%s (every command warns about it; %s)", e.msg, harmless);
        return ES_OK;
    }
    char key[64];
    es_obj_info oi;
    es_log_key(key, sizeof(key), v, 1);
    if (listed(logs, key))
        return ES_OK;
    st = es_objstore_head(f->s->os, key, &oi, &e);
    if (st == ES_NOT_FOUND)
        report(f, 1, "%s: missing, but %s names it (every command warns about it; %s)", key,
               ES_LOG_HINT_KEY,
               oldest > 0 && v <= oldest
                   ? "not harmless: log retention removed the entries before it"
                   : harmless);
    else if (st != ES_OK && err)
        *err = e;
    return st == ES_NOT_FOUND ? ES_OK : st;
}

/* ------------------------------------------------------ unique keys */

/* The key check of one table (check_keys): pass 1 keeps the 64-bit hash of every live non-null
 * key (NaN left out, as writers leave it unchecked), pass 2 only the rows whose hash occurs
 * twice, with their key (bytes copied into an arena) and part. */
typedef struct key_row {
    es_scalar k;   /* bytes and decimals: p is an offset into the arena until the scan ends */
    int64_t part;  /* index in the table's parts */
    es_domain dom; /* (for cmp_key_row) */
} key_row;

typedef struct key_check {
    es_domain dom;
    uint64_t *h; /* pass 1: every hash; then the sorted hashes that occur twice */
    int64_t n, cap;
    key_row *rows; /* pass 2 */
    int64_t n_rows, cap_rows;
    es_buf arena;
    int pass;
} key_check;

static int cmp_hash(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

static int cmp_key_row(const void *x, const void *y)
{
    const key_row *a = x, *b = y;
    int c = es_scalar_cmp(a->dom, &a->k, &b->k);
    return c ? c : a->part < b->part ? -1 : a->part > b->part;
}

/* es_scan_column's callback: each live non-null key of a batch (children: key, _part, _pos). */
static es_status key_batch(void *ctx, struct ArrowArray *a, es_array_view *v, es_error *err)
{
    key_check *kc = ctx;
    (void)a;
    for (int64_t i = 0; i < v->length; i++) {
        if (es_view_is_null(&v->children[0], i))
            continue;
        es_scalar k;
        memset(&k, 0, sizeof(k)); /* (p stays NULL for numbers) */
        es_scalar_from_view(&k, kc->dom, &v->children[0], i);
        if (kc->dom == ES_DOM_DOUBLE && k.d != k.d)
            continue;
        uint64_t h = es_bloom_hash(kc->dom, &k);
        if (kc->pass == 1) {
            if (kc->n == kc->cap) {
                int64_t cap = kc->cap ? 2 * kc->cap : 4096;
                uint64_t *nh = es_realloc(kc->h, (size_t)cap * sizeof(*nh));
                if (!nh)
                    return es_error_set(err, ES_NOMEM, 0, "fsck: out of memory");
                kc->h = nh;
                kc->cap = cap;
            }
            kc->h[kc->n++] = h;
            continue;
        }
        if (!bsearch(&h, kc->h, (size_t)kc->n, sizeof(*kc->h), cmp_hash))
            continue;
        if (kc->n_rows == kc->cap_rows) {
            int64_t cap = kc->cap_rows ? 2 * kc->cap_rows : 64;
            key_row *nr = es_realloc(kc->rows, (size_t)cap * sizeof(*nr));
            if (!nr)
                return es_error_set(err, ES_NOMEM, 0, "fsck: out of memory");
            kc->rows = nr;
            kc->cap_rows = cap;
        }
        key_row *r = &kc->rows[kc->n_rows++];
        r->k = k;
        r->dom = kc->dom;
        r->part = es_view_get_int(&v->children[1], i);
        if (kc->dom == ES_DOM_BYTES || kc->dom == ES_DOM_DEC) {
            r->k.p = (const uint8_t *)(uintptr_t)kc->arena.len;
            if (es_buf_append(&kc->arena, k.p, (size_t)k.len))
                return es_error_set(err, ES_NOMEM, 0, "fsck: out of memory");
        }
    }
    return ES_OK;
}

/* The live rows of table t (at the newest version) hold each non-null primary key once, as
 * writers keep it (FORMAT.md 7e): a forged or faulty entry adding a part with a key already
 * live makes FLUSH and OPTIMIZE fail on it. Reports the smallest duplicated key and the parts
 * holding it. Memory: 8 bytes per live row, sorted; a second scan only when hashes repeat. */
static es_status check_keys(fsck *f, const es_tabledef *t, es_error *err)
{
    key_check kc;
    memset(&kc, 0, sizeof(kc));
    kc.dom = es_expr_domain(t->cols[t->pk].type.id);
    es_scan_ext ext = {NULL, 1, NULL, 0, NULL};
    es_error e;
    memset(&e, 0, sizeof(e));
    kc.pass = 1;
    es_status st = es_scan_column(f->s, t, t->pk, NULL, 0, &ext, key_batch, &kc, &e);
    int64_t m = 0;
    if (!st && kc.n > 1) {
        qsort(kc.h, (size_t)kc.n, sizeof(*kc.h), cmp_hash);
        for (int64_t i = 1; i < kc.n; i++) /* the hashes that repeat, once each */
            if (kc.h[i] == kc.h[i - 1] && (m == 0 || kc.h[m - 1] != kc.h[i]))
                kc.h[m++] = kc.h[i];
    }
    kc.n = m;
    if (!st && m > 0) {
        kc.pass = 2;
        st = es_scan_column(f->s, t, t->pk, NULL, 0, &ext, key_batch, &kc, &e);
    }
    if (!st && kc.n_rows > 1) {
        for (int64_t i = 0; i < kc.n_rows && kc.arena.data; i++) /* (no data: all empty) */
            if (kc.dom == ES_DOM_BYTES || kc.dom == ES_DOM_DEC)
                kc.rows[i].k.p = kc.arena.data + (uintptr_t)kc.rows[i].k.p;
        qsort(kc.rows, (size_t)kc.n_rows, sizeof(*kc.rows), cmp_key_row);
        int64_t first = -1, keys = 0;
        for (int64_t i = 1; i < kc.n_rows; i++)
            if (es_scalar_cmp(kc.dom, &kc.rows[i].k, &kc.rows[i - 1].k) == 0 &&
                (i < 2 || es_scalar_cmp(kc.dom, &kc.rows[i - 1].k, &kc.rows[i - 2].k) != 0)) {
                keys++;
                first = first < 0 ? i - 1 : first;
            }
        if (first >= 0) {
            char key[128], parts[600];
            int64_t rows = 0, n = 0;
            size_t len = 0;
            es_key_format(key, sizeof(key), kc.dom, &kc.rows[first].k);
            parts[0] = 0;
            for (int64_t i = first;
                 i < kc.n_rows && es_scalar_cmp(kc.dom, &kc.rows[i].k, &kc.rows[first].k) == 0;
                 i++, rows++) {
                const es_part_meta *p = t->parts[kc.rows[i].part];
                if ((i > first && kc.rows[i].part == kc.rows[i - 1].part) || len >= 500)
                    continue;
                char name[300];
                if (p->inline_ipc)
                    snprintf(name, sizeof(name), "inline part %s", p->id);
                else
                    es_part_key(name, sizeof(name), t->id, p->id, "data");
                len += (size_t)snprintf(parts + len, sizeof(parts) - len, "%s%s", n++ ? ", " : "",
                                        name);
            }
            char more[64] = "";
            if (keys > 1)
                snprintf(more, sizeof(more), "; %lld keys are duplicated", (long long)keys);
            report(f, 1,
                   "table '%s': duplicate primary key %s = %s, in %lld live rows (%s)%s: "
                   "FLUSH and OPTIMIZE of those rows fail",
                   t->name, t->cols[t->pk].name, key, (long long)rows, parts, more);
        }
    }
    if (st == ES_CORRUPT || st == ES_UNSUPPORTED) {
        report(f, 1, "table '%s': primary keys not checked: %s", t->name, e.msg);
        st = ES_OK;
    } else if (st && err) {
        *err = e;
    }
    es_free(kc.h);
    es_free(kc.rows);
    es_buf_reset(&kc.arena);
    return st;
}

es_status es_fsck_impl(es_store *s, es_fsck_fn fn, void *ctx, es_fsck_info *info, es_error *err)
{
    es_fsck_info own;
    fsck f;
    memset(&f, 0, sizeof(f));
    f.s = s;
    f.fn = fn;
    f.ctx = ctx;
    f.info = info ? info : &own;
    memset(f.info, 0, sizeof(*f.info));
    es_obj_list logs, objs;
    memset(&objs, 0, sizeof(objs));
    es_snapshot *snap = NULL;
    uint8_t *have = NULL, *ckp = NULL;
    es_status st = es_gc_list(&logs, s->os, "_log/", err);
    if (!st)
        st = es_gc_list(&objs, s->os, "table_", err);
    int64_t oldest = 0, last = -1;
    if (!st) {
        es_error re;
        memset(&re, 0, sizeof(re));
        st = es_log_retention(&oldest, s->os, &re);
        if (st == ES_CORRUPT) { /* a problem line; check from the oldest entry there is */
            report(&f, 1, "%s", re.msg);
            oldest = INT64_MAX;
            for (int64_t i = 0; i < logs.n; i++) {
                int64_t v;
                int cp;
                if (es_gc_parse_log_key(logs.items[i].key, &v, &cp) && !cp && v < oldest)
                    oldest = v;
            }
            oldest = oldest == INT64_MAX ? 0 : oldest;
            st = ES_OK;
        } else if (st && err) {
            *err = re;
        }
    }
    if (st)
        goto done;
    for (int64_t i = 0; i < logs.n; i++) {
        int64_t v;
        int cp;
        if (!es_gc_parse_log_key(logs.items[i].key, &v, &cp) || cp)
            continue;
        if (logs.items[i].size == 0 && !strchr(logs.items[i].key + 5, '/')) /* torn: absent */
            report(&f, 0,
                   "%s: empty (torn by a crash, never acknowledged): treated as absent; the next "
                   "commit replaces it",
                   logs.items[i].key);
        else if (v > last)
            last = v;
    }
    if (last < oldest) {
        report(&f, 1, "_log/: no entry at or after version %lld: not a store, or its log is gone",
               (long long)oldest);
        goto done;
    }
    have = es_calloc((size_t)(last - oldest + 1), 1);
    ckp = es_calloc((size_t)(last - oldest + 1), 1);
    if (!have || !ckp) {
        st = es_error_set(err, ES_NOMEM, 0, "fsck: out of memory");
        goto done;
    }
    for (int64_t i = 0; i < logs.n; i++) {
        int64_t v;
        int cp;
        if (es_gc_parse_log_key(logs.items[i].key, &v, &cp) && v >= oldest && v <= last &&
            (cp || logs.items[i].size > 0 || strchr(logs.items[i].key + 5, '/')))
            (cp ? ckp : have)[v - oldest] = 1;
    }
    /* The catalog at the oldest retained version, with the checksum of its entry. */
    es_error e;
    memset(&e, 0, sizeof(e));
    if (es_log_load(&snap, NULL, s->os, oldest, &e) != ES_OK ||
        es_manifest_load_all(snap, s->os, &e) != ES_OK) {
        report(&f, 1, "version %lld (the oldest retained) cannot be read: %s", (long long)oldest,
               e.msg);
        goto done;
    }
    es_entry en;
    if (es_log_read_entry(&en, s->os, oldest, 0, &e) == ES_OK) {
        snap->has_crc = en.has_crc;
        snap->crc = en.crc;
        es_entry_reset(&en);
    }
    f.info->versions = 1;
    st = check_catalog(&f, &objs, snap);
    if (!st)
        st = es_gc_refs_snapshot(&f.refs, snap, err);
    if (!st && mf_remember(&f, snap))
        st = es_error_set(err, ES_NOMEM, 0, "fsck: out of memory");
    for (int64_t v = oldest + 1; v <= last && !st; v++) {
        char key[64];
        es_log_key(key, sizeof(key), v, 0);
        if (!have[v - oldest]) {
            report(&f, 1, "%s: missing, but later version %lld exists: the log has a hole", key,
                   (long long)last);
            break;
        }
        memset(&e, 0, sizeof(e));
        if (es_log_read_entry(&en, s->os, v, 0, &e) != ES_OK) {
            report(&f, 1, "%s", e.msg);
            break;
        }
        if (es_snapshot_apply(snap, &en, key, &e) != ES_OK) {
            report(&f, 1, "%s", e.msg);
            es_entry_reset(&en);
            break;
        }
        st = es_gc_refs_entry(&f.refs, &en, err);
        f.info->versions++;
        if (!st)
            st = check_entry(&f, &objs, snap, &en);
        es_entry_reset(&en);
        if (!st && ckp[v - oldest]) {
            es_snapshot *c = NULL;
            es_entry ce;
            memset(&e, 0, sizeof(e));
            es_log_key(key, sizeof(key), v, 1);
            es_status rs = es_log_read_entry(&ce, s->os, v, 1, &e);
            if (rs == ES_CORRUPT) {
                report(&f, 1, "%s (readers skip it and warn; %s)", e.msg, harmless);
            } else if (rs != ES_OK) {
                report(&f, 1, "%s", e.msg);
            } else {
                int ok =
                    es_snapshot_new(&c) == ES_OK && es_snapshot_apply(c, &ce, key, &e) == ES_OK;
                if (ok)
                    mf_reuse(&f, c);
                ok = ok && es_manifest_load_all(c, s->os, &e) == ES_OK && same_catalog(snap, c);
                es_entry_reset(&ce);
                if (ok && mf_remember(&f, c))
                    st = es_error_set(err, ES_NOMEM, 0, "fsck: out of memory");
                if (!ok)
                    report(&f, 1, "%s: does not rebuild the catalog the entries up to it make%s%s",
                           key, e.msg[0] ? ": " : "", e.msg);
            }
            es_snapshot_free(c);
        }
    }
    /* Unique keys at the newest version read, when its objects passed (else the scan would
     * fail on what was reported already). */
    for (int64_t i = 0; i < snap->n_tables && !st; i++) {
        if (snap->tables[i]->pk < 0)
            continue;
        if (f.info->problems == 0) {
            st = check_keys(&f, snap->tables[i], err);
        } else {
            report(&f, 0, "primary keys not checked: the problems above come first");
            break;
        }
    }
    if (!st)
        st = check_hint(&f, &logs, oldest, err);
    /* Objects no retained version references. */
    for (int64_t i = 0; i < objs.n && !st; i++) {
        int64_t t;
        const char *k = objs.items[i].key;
        if (!es_gc_parse_key(k, &t) || es_gc_refs_has(&f.refs, k))
            continue;
        f.info->unreferenced++;
        f.info->unreferenced_bytes += (int64_t)objs.items[i].size;
        report(&f, 0, "%s: unreferenced (%llu bytes)", k, (unsigned long long)objs.items[i].size);
    }
done:
    es_free(have);
    es_free(ckp);
    es_snapshot_free(snap);
    es_gc_refs_reset(&f.refs);
    es_gc_refs_reset(&f.seen);
    for (int64_t i = 0; i < f.n_mf; i++)
        es_mfref_unref(f.mf[i]);
    es_free(f.mf);
    es_obj_list_reset(&logs);
    es_obj_list_reset(&objs);
    if (!st && f.first.code != ES_OK) {
        if (err)
            *err = f.first;
        st = ES_CORRUPT;
    }
    return st;
}
