/*
 * load: es_insert's pipeline (table layer; es_table_insert_stream in table.h). A bulk load
 * (COPY FROM, es_insert of a long stream) used to read its whole stream into memory, then
 * sort, cut and write its parts: the cores sat idle while one part was left to write, and
 * memory grew with the input. Here the stream is read batch by batch and, while its rows come
 * in key order (an integer primary key ascending, as an append-only source or a dump writes
 * them; or a table without a primary key, whose rows are written as given), every full part
 * is cut off and written on a thread of its own while the next one is read (the CSV reader
 * parses on the store's threads meanwhile): at most `threads` parts in flight, so memory stays
 * at a few parts whatever the input's size.
 *
 *   read batch -> check order, estimate row bytes -> [part_rows rows?] cut -> write part (thread)
 *                                                                   \-> next part accumulates
 *   end of stream -> write the rest -> join -> merge the keys -> unique check, commit (once)
 *
 * Invariants:
 *   1. The rows, their order within each part and the commit (one entry, all parts or none) are
 *      those of the one-shot path; parts are cut at part_rows, the same multiple of batch_rows
 *      for the whole load, estimated from the rows read before the first cut.
 *   2. A cut is made only between two strictly ascending keys, so every streamed part holds keys
 *      above the previous part's: the parts' key sets concatenate into the sorted key set the
 *      unique check wants, and a duplicate within a part is reported as before.
 *   3. Input that leaves key order (or repeats a key at a cut) stops the cutting: the rest is
 *      read whole and written sorted by the one-shot writer; its keys are merged with those of
 *      the parts already written (a key in both is ES_EXISTS, "twice among the rows written").
 *      When nothing was cut (out of order from the start, a stream of less than a part, a text
 *      key, a UNIQUE index besides the key, dictionary-encoded input), the whole insert is
 *      es_table_insert_impl's, byte for byte as before.
 *   4. On any failure (stream error, interrupt, a part's write) nothing is committed; objects
 *      already written are unreferenced, as after any failed insert (vacuum collects them).
 */
#include <inttypes.h>
#include <pthread.h>
#include <string.h>

#include "arrow/arrow.h"
#include "table/unique.h"

/* A run of the input's batches: the part being read, or one written on a thread. */
typedef struct load_group {
    struct load *L;
    struct ArrowArray *b;
    int64_t n, cap, rows;
    pthread_t th;
    int running;
    es_action *acts;
    int64_t n_acts;
    es_keyset ks;
    es_status st;
    es_error err;
} load_group;

typedef struct load {
    es_store *s;
    es_tabledef *t;
    const struct ArrowSchema *schema;
    int64_t *map; /* table column -> child of schema, or -1 */
    int64_t kc;   /* the key's child, or -1 (no primary key) */
    int cutting;  /* rows so far in key order: parts are cut off */
    int64_t part_rows;
    int64_t bytes, rows; /* the row bytes estimate's sums until the first cut */
    int have_key;
    int64_t last_key; /* the key of the last row read */
    load_group cur;   /* the rows read and not yet cut off */
    load_group **g;   /* parts cut off, in order (each allocated: threads hold them) */
    int64_t ng, gcap, joined;
    int max_flight;
} load;

static es_status group_add(load_group *g, struct ArrowArray *a)
{
    if (g->n == g->cap) {
        int64_t nc = g->cap ? g->cap * 2 : 16;
        struct ArrowArray *p = es_realloc(g->b, (size_t)nc * sizeof(*p));
        if (!p)
            return ES_NOMEM;
        g->b = p;
        g->cap = nc;
    }
    g->b[g->n++] = *a;
    g->rows += a->length;
    memset(a, 0, sizeof(*a));
    return ES_OK;
}

static void group_reset(load_group *g)
{
    for (int64_t i = 0; i < g->n; i++)
        es_array_release(&g->b[i]);
    es_free(g->b);
    es_table_actions_free(g->acts, g->n_acts);
    es_keyset_reset(&g->ks);
    memset(g, 0, sizeof(*g));
}

/* The key of row i of batch a (NULL sorts first, as the writer sorts it). */
static int64_t key_at(const es_array_view *v, int64_t i)
{
    return es_view_is_null(v, i) ? INT64_MIN : es_view_get_int(v, i);
}

/* Look at batch a before it joins cur: still in key order? its rows' bytes (until the first
 * cut fixes part_rows). A batch the writer will refuse stops the cutting (it reports). */
static void inspect(load *L, const struct ArrowArray *a)
{
    es_array_view v;
    es_error e;
    if (es_array_view_init(&v, L->schema, a, &e) != ES_OK) {
        L->cutting = 0;
        return;
    }
    if (!L->part_rows) {
        L->bytes += es_table_row_bytes(L->t, &v, L->map) * v.length;
        L->rows += v.length;
    }
    if (L->kc >= 0) {
        const es_array_view *k = &v.children[L->kc];
        for (int64_t i = 0; i < k->length && L->cutting; i++) {
            int64_t x = key_at(k, i);
            L->cutting = !L->have_key || L->last_key <= x;
            L->last_key = x;
            L->have_key = 1;
        }
    }
    es_array_view_reset(&v);
}

/* Rows [0, k) of *a in *head, the rest in *a: two slices sharing its buffers. */
static es_status split_batch(struct ArrowArray *a, int64_t k, struct ArrowArray *head,
                             es_error *err)
{
    es_array_ref *r = NULL;
    es_status st = es_array_ref_new(&r, a, err); /* takes *a */
    if (st)
        return st;
    es_array_ref_export(head, r);
    es_array_ref_export(a, r);
    es_array_ref_unref(r);
    head->length = k;
    a->offset += k;
    a->length -= k;
    if (head->null_count != 0)
        head->null_count = a->null_count = -1;
    return ES_OK;
}

/* The key of row r of cur in *x (0: no such row, or a batch the writer will refuse). */
static int cur_key(const load *L, int64_t r, int64_t *x)
{
    for (int64_t b = 0; b < L->cur.n; r -= L->cur.b[b++].length) {
        if (r >= L->cur.b[b].length)
            continue;
        es_array_view v;
        es_error e;
        if (es_array_view_init(&v, L->schema, &L->cur.b[b], &e) != ES_OK)
            return 0;
        *x = key_at(&v.children[L->kc], r);
        es_array_view_reset(&v);
        return 1;
    }
    return 0;
}

/* The keys at rows r - 1 and r of cur strictly ascend (a cut there keeps invariant 2). */
static int cut_ok(const load *L, int64_t r)
{
    int64_t x, y;
    return L->kc < 0 || (cur_key(L, r - 1, &x) && cur_key(L, r, &y) && x < y);
}

static void *group_write(void *arg)
{
    load_group *g = arg;
    load *L = g->L;
    g->st = es_table_write_parts_sized(&g->acts, &g->n_acts, L->s, L->t, L->schema, g->b, g->n,
                                       &g->ks, L->part_rows, &g->err);
    g->n = 0; /* released by the writer */
    es_trace("load: part of %" PRId64 " rows written", g->rows);
    return NULL;
}

/* Wait for the oldest part in flight; its status. */
static es_status join_one(load *L, es_error *err)
{
    load_group *g = L->g[L->joined++];
    if (g->running)
        pthread_join(g->th, NULL);
    g->running = 0;
    if (g->st && err)
        *err = g->err;
    return g->st;
}

/* Cut the first part_rows rows of cur off and start writing them. */
static es_status cut(load *L, es_error *err)
{
    if (L->ng > L->joined && L->ng - L->joined >= L->max_flight) {
        es_status st = join_one(L, err);
        if (st)
            return st;
    }
    if (L->ng == L->gcap) {
        int64_t nc = L->gcap ? L->gcap * 2 : 8;
        load_group **p = es_realloc(L->g, (size_t)nc * sizeof(*p));
        if (!p)
            return es_error_set(err, ES_NOMEM, 0, "out of memory");
        L->g = p;
        L->gcap = nc;
    }
    load_group *g = es_calloc(1, sizeof(*g));
    if (!g)
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    L->g[L->ng] = g;
    g->L = L;
    es_status st = ES_OK;
    int64_t need = L->part_rows, i = 0;
    while (!st && need > 0) {
        struct ArrowArray *a = &L->cur.b[i];
        if (a->length <= need) {
            need -= a->length;
            st = group_add(g, a);
            i++;
        } else {
            struct ArrowArray head;
            st = split_batch(a, need, &head, err);
            if (!st && group_add(g, &head) != ES_OK) {
                es_array_release(&head);
                st = ES_NOMEM;
            }
            need = 0;
        }
    }
    /* cur keeps its batches from i on */
    memmove(L->cur.b, L->cur.b + i, (size_t)(L->cur.n - i) * sizeof(*L->cur.b));
    L->cur.n -= i;
    L->cur.rows -= g->rows;
    L->ng++;
    if (st) {
        if (st == ES_NOMEM)
            es_error_set(err, ES_NOMEM, 0, "out of memory");
        g->st = st;
        return st;
    }
    if (L->max_flight > 0 && pthread_create(&g->th, NULL, group_write, g) == 0)
        g->running = 1;
    else
        group_write(g);
    return ES_OK;
}

/* Cut while cur holds a part. */
static es_status maybe_cut(load *L, es_error *err)
{
    while (L->cutting) {
        int64_t pr = L->part_rows ? L->part_rows
                                  : es_table_part_rows(L->s, L->rows ? L->bytes / L->rows : 1);
        if (L->cur.rows <= pr) /* (a part and nothing more: the end may be near) */
            return ES_OK;
        if (!cut_ok(L, pr)) {
            L->cutting = 0;
            return ES_OK;
        }
        L->part_rows = pr;
        es_status st = cut(L, err);
        if (st)
            return st;
    }
    return ES_OK;
}

/* Add the sorted distinct keys of g to acc (sorted distinct), ES_EXISTS on a key in both. */
static es_status keys_merge(es_keyset *acc, es_keyset *g, const es_tabledef *t, es_error *err)
{
    es_scalar a, b;
    if (g->n == 0)
        return ES_OK;
    if (acc->n == 0) {
        es_keyset_reset(acc);
        *acc = *g;
        memset(g, 0, sizeof(*g));
        return ES_OK;
    }
    int64_t n = acc->n + g->n, i = 0, j = 0, k = 0;
    es_keyset_get(acc, acc->n - 1, &a);
    es_keyset_get(g, 0, &b);
    if (acc->dom != ES_DOM_BYTES && acc->dom != ES_DOM_DEC && es_scalar_cmp(acc->dom, &a, &b) < 0) {
        /* the common case, parts in key order: append (8-byte keys) */
        uint64_t *v = es_realloc(acc->v, (size_t)n * sizeof(*v));
        if (!v)
            return es_error_set(err, ES_NOMEM, 0, "out of memory");
        memcpy(v + acc->n, g->v, (size_t)g->n * sizeof(*v));
        acc->v = v;
        acc->n = acc->cap = n;
        return ES_OK;
    }
    uint64_t *v = es_malloc((size_t)n * sizeof(*v));
    if (!v)
        return es_error_set(err, ES_NOMEM, 0, "out of memory");
    while (i < acc->n || j < g->n) {
        int c = i == acc->n ? 1 : j == g->n ? -1 : 0;
        if (!c) {
            es_keyset_get(acc, i, &a);
            es_keyset_get(g, j, &b);
            c = es_scalar_cmp(acc->dom, &a, &b);
        }
        if (c == 0) {
            char key[128];
            es_key_format(key, sizeof(key), acc->dom, &a);
            es_free(v);
            return es_error_set(err, ES_EXISTS, 0,
                                "insert into '%s': duplicate primary key %s = %s (twice among the "
                                "rows written)",
                                t->name, t->cols[t->pk].name, key);
        }
        v[k++] = c < 0 ? acc->v[i++] : g->v[j++];
    }
    es_free(acc->v);
    acc->v = v;
    acc->n = acc->cap = n;
    return ES_OK;
}

/* Whether the load may cut parts as it reads: the key (if any) an integer column of the
 * stream, no unique index to collect besides it, no dictionary-encoded column. */
static int can_cut(load *L)
{
    const es_tabledef *t = L->t;
    const struct ArrowSchema *sc = L->schema;
    if (!t || !sc->format || strcmp(sc->format, "+s") != 0 || es_unique_has_index(t))
        return 0;
    for (int64_t k = 0; k < sc->n_children; k++)
        if (!sc->children[k] || !sc->children[k]->name || sc->children[k]->dictionary)
            return 0;
    L->map = es_calloc((size_t)(t->n_cols ? t->n_cols : 1), sizeof(int64_t));
    if (!L->map)
        return 0;
    for (int64_t c = 0; c < t->n_cols; c++) {
        L->map[c] = -1;
        for (int64_t k = 0; k < sc->n_children; k++)
            if (strcmp(sc->children[k]->name, t->cols[c].name) == 0)
                L->map[c] = k;
    }
    L->kc = t->pk >= 0 ? L->map[t->pk] : -1;
    if (t->pk >= 0) {
        es_type ty;
        if (L->kc < 0 || es_expr_domain(t->cols[t->pk].type.id) != ES_DOM_INT ||
            es_type_parse(&ty, sc->children[L->kc]->format, NULL) != ES_OK ||
            es_expr_domain(ty.id) != ES_DOM_INT)
            return 0;
    }
    return 1;
}

es_status es_table_insert_stream(es_store *s, const char *table, struct ArrowArrayStream *stream,
                                 es_error *err)
{
    load L;
    memset(&L, 0, sizeof(L));
    L.s = s;
    L.kc = -1;
    struct ArrowSchema schema = {0};
    es_status st = ES_OK;
    if (stream->get_schema(stream, &schema) != 0) {
        const char *m = stream->get_last_error ? stream->get_last_error(stream) : NULL;
        st = es_error_set(err, ES_INVALID, 0, "insert into '%s': stream schema: %s", table,
                          m ? m : "error");
    }
    L.schema = &schema;
    es_error terr;
    if (!st && es_store_table_write(&L.t, s, table, &terr) == ES_OK) /* else reported below */
        L.cutting = can_cut(&L);
    L.max_flight = s->threads > 1 ? s->threads : 0;
    es_trace("insert into %s: reading the stream%s", table, L.cutting ? ", cutting parts" : "");
    while (!st) {
        struct ArrowArray a;
        memset(&a, 0, sizeof(a));
        if (es_store_interrupted(s)) {
            st = es_error_set(err, ES_INTERRUPTED, 0, "insert into '%s': interrupted", table);
            break;
        }
        if (stream->get_next(stream, &a) != 0) {
            const char *m = stream->get_last_error ? stream->get_last_error(stream) : NULL;
            if (es_store_interrupted(s))
                st = es_error_set(err, ES_INTERRUPTED, 0, "insert into '%s': interrupted", table);
            else
                st = es_error_set(err, ES_INVALID, 0, "insert into '%s': stream: %s", table,
                                  m ? m : "error");
            break;
        }
        if (!a.release)
            break;
        if (L.cutting)
            inspect(&L, &a);
        if (group_add(&L.cur, &a) != ES_OK) {
            es_array_release(&a);
            st = es_error_set(err, ES_NOMEM, 0, "out of memory");
            break;
        }
        st = maybe_cut(&L, err);
    }
    es_trace("insert into %s: stream read, %" PRId64 " parts cut", table, L.ng);
    if (!st && L.ng == 0) { /* nothing cut: the one-shot path (invariant 3) */
        st = es_table_insert_impl(s, table, &schema, L.cur.b, L.cur.n, err);
        L.cur.n = 0;
    } else if (!st) { /* the rest, then the parts in flight */
        st = es_table_write_parts_sized(&L.cur.acts, &L.cur.n_acts, s, L.t, &schema, L.cur.b,
                                        L.cur.n, &L.cur.ks, L.part_rows, err);
        L.cur.n = 0;
    }
    while (L.joined < L.ng) {
        es_error e;
        es_status gst = join_one(&L, &e);
        if (gst && !st) {
            st = gst;
            *err = e;
        }
    }
    if (!st && L.ng > 0) { /* one commit of every part, keys merged in key order */
        es_keyset ks;
        memset(&ks, 0, sizeof(ks));
        int64_t n_acts = L.cur.n_acts;
        for (int64_t i = 0; i < L.ng; i++)
            n_acts += L.g[i]->n_acts;
        es_action *acts = es_calloc((size_t)(n_acts ? n_acts : 1), sizeof(*acts));
        if (!acts)
            st = es_error_set(err, ES_NOMEM, 0, "out of memory");
        int64_t k = 0;
        for (int64_t i = 0; !st && i <= L.ng; i++) {
            load_group *g = i < L.ng ? L.g[i] : &L.cur;
            memcpy(acts + k, g->acts, (size_t)g->n_acts * sizeof(*acts));
            k += g->n_acts;
            es_free(g->acts);
            g->acts = NULL;
            g->n_acts = 0;
            st = keys_merge(&ks, &g->ks, L.t, err);
        }
        if (!st) {
            int inlined;
            st = es_table_insert_commit(s, L.t, acts, k, &ks, 0, &inlined, err);
        } else {
            es_table_actions_free(acts, k);
        }
        es_keyset_reset(&ks);
    }
    for (int64_t i = 0; i < L.ng; i++) {
        group_reset(L.g[i]);
        es_free(L.g[i]);
    }
    group_reset(&L.cur);
    es_free(L.g);
    es_free(L.map);
    es_tabledef_unref(L.t);
    es_schema_release(&schema);
    es_stream_release(stream);
    return st;
}
