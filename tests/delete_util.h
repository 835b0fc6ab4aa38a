/*
 * delete_util.h: helpers shared by test_delete and test_delete_conflicts (static functions in a
 * header, like check.h): a random generator, literals, table contents as sorted row strings,
 * a small table (id int64 key, v int32, s utf8) with inserts, key deletes, upserts and an
 * update callback.
 */
#ifndef ES_TEST_DELETE_UTIL_H
#define ES_TEST_DELETE_UTIL_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "testutil.h"
#include "expstore/expstore.h"
#include "objstore/objstore.h"
#include "table/log.h"
#include "table/table.h"

#pragma GCC diagnostic ignored "-Wunused-function"

/* ------------------------------------------------------------ row strings */

/* A growing list of strings. */
typedef struct strlist {
    char **s;
    int64_t n, cap;
} strlist;

static void sl_add(strlist *l, const char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->s = realloc(l->s, (size_t)l->cap * sizeof(char *));
    }
    l->s[l->n++] = strdup(s);
}

static void sl_free(strlist *l)
{
    for (int64_t i = 0; i < l->n; i++)
        free(l->s[i]);
    free(l->s);
    memset(l, 0, sizeof(*l));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The whole list as one string (sorted), for saving and comparing states. */
static char *sl_join(strlist *l)
{
    if (l->n > 0)
        qsort(l->s, (size_t)l->n, sizeof(char *), cmp_str);
    size_t len = 1;
    for (int64_t i = 0; i < l->n; i++)
        len += strlen(l->s[i]) + 1;
    char *out = malloc(len), *p = out;
    for (int64_t i = 0; i < l->n; i++) {
        size_t k = strlen(l->s[i]);
        memcpy(p, l->s[i], k);
        p += k;
        *p++ = '\n';
    }
    *p = 0;
    return out;
}

static void fmt_value(char *out, size_t cap, const es_array_view *v, int64_t i)
{
    if (es_view_is_null(v, i)) {
        snprintf(out, cap, "N");
        return;
    }
    switch (v->type.id) {
    case ES_TYPE_UINT8:
    case ES_TYPE_UINT16:
    case ES_TYPE_UINT32:
    case ES_TYPE_UINT64:
        snprintf(out, cap, "%llu", (unsigned long long)es_view_get_uint(v, i));
        break;
    case ES_TYPE_FLOAT32:
    case ES_TYPE_FLOAT64:
        snprintf(out, cap, "%.17g", es_view_get_double(v, i));
        break;
    case ES_TYPE_UTF8:
    case ES_TYPE_LARGE_UTF8:
    case ES_TYPE_BINARY:
    case ES_TYPE_LARGE_BINARY: {
        int64_t len;
        const uint8_t *p = es_view_get_bytes(v, i, &len);
        snprintf(out, cap, "%.*s", (int)len, (const char *)p);
        break;
    }
    default:
        snprintf(out, cap, "%lld", (long long)es_view_get_int(v, i));
        break;
    }
}

/* Every row of `table` at version `at` (-1: latest) as "v0|v1|...", the table's columns in
 * order. Returns the status; a stream error is ES_CORRUPT with its message in msg. */
static es_status table_rows(es_store *s, const char *table, int64_t at, strlist *out, char *msg,
                            size_t cap)
{
    es_scan_options so = ES_SCAN_OPTIONS_INIT;
    so.at_version = at;
    struct ArrowArrayStream st;
    memset(out, 0, sizeof(*out));
    if (msg)
        msg[0] = 0;
    es_status rc = es_scan(s, table, &so, &st);
    if (rc) {
        if (msg)
            snprintf(msg, cap, "%s", es_store_errmsg(s));
        return rc;
    }
    struct ArrowSchema sc;
    if (st.get_schema(&st, &sc) != 0) {
        st.release(&st);
        return ES_INTERNAL;
    }
    for (;;) {
        struct ArrowArray a;
        if (st.get_next(&st, &a) != 0) {
            const char *m = st.get_last_error(&st);
            if (msg)
                snprintf(msg, cap, "%s", m ? m : "?");
            rc = ES_CORRUPT;
            break;
        }
        if (!a.release)
            break;
        es_array_view v;
        if (es_array_view_init(&v, &sc, &a, NULL) == ES_OK) {
            for (int64_t i = 0; i < v.length; i++) {
                char row[1024], val[256];
                size_t off = 0;
                for (int64_t c = 0; c < v.n_children; c++) {
                    fmt_value(val, sizeof(val), &v.children[c], i);
                    off +=
                        (size_t)snprintf(row + off, sizeof(row) - off, "%s%s", c ? "|" : "", val);
                }
                sl_add(out, row);
            }
            es_array_view_reset(&v);
        } else {
            rc = ES_INTERNAL;
        }
        a.release(&a);
    }
    sc.release(&sc);
    st.release(&st);
    return rc;
}

static char *table_state(es_store *s, const char *table, int64_t at)
{
    strlist l;
    char msg[512];
    es_status rc = table_rows(s, table, at, &l, msg, sizeof(msg));
    if (rc) {
        fprintf(stderr, "scan of %s at %lld: %s %s\n", table, (long long)at, es_status_name(rc),
                msg);
        sl_free(&l);
        return NULL;
    }
    char *j = sl_join(&l);
    sl_free(&l);
    return j;
}

static int64_t live_rows(es_store *s, const char *table)
{
    es_table_info info;
    if (es_table_describe(s, table, -1, &info) != ES_OK)
        return -1;
    int64_t n = info.n_rows;
    es_table_info_reset(&info);
    return n;
}

static int64_t n_parts(es_store *s, const char *table)
{
    es_table_info info;
    if (es_table_describe(s, table, -1, &info) != ES_OK)
        return -1;
    int64_t n = info.n_parts;
    es_table_info_reset(&info);
    return n;
}

static int64_t version_of(es_store *s)
{
    int64_t v = -1;
    es_store_version(s, &v);
    return v;
}

/* ------------------------------------------------------ a small id table */

/* id int64 (primary key), v int32 nullable, s utf8 nullable. */
static struct ArrowSchema small_schema(void)
{
    struct ArrowSchema sc;
    es_schema_init_struct(&sc, 3, NULL);
    es_schema_init(sc.children[0], "l", "id", 0, NULL);
    es_schema_init(sc.children[1], "i", "v", ARROW_FLAG_NULLABLE, NULL);
    es_schema_init(sc.children[2], "u", "s", ARROW_FLAG_NULLABLE, NULL);
    return sc;
}

/* Insert ids from..from+n-1 (step `step`) with v = id % 1000 and s = "r<id>". */
static es_status insert_small(es_store *s, const char *table, int64_t from, int64_t n, int64_t step)
{
    struct ArrowSchema sc = small_schema();
    es_builder *b = NULL;
    es_builder_new(&b, &sc, NULL);
    for (int64_t i = 0; i < n; i++) {
        int64_t id = from + i * step;
        char str[32];
        snprintf(str, sizeof(str), "r%lld", (long long)id);
        es_builder_append_int(es_builder_child(b, 0), id);
        es_builder_append_int(es_builder_child(b, 1), id % 1000);
        es_builder_append_bytes(es_builder_child(b, 2), str, (int64_t)strlen(str));
        es_builder_append_struct(b);
    }
    struct ArrowArray arr;
    es_builder_finish(b, &arr, NULL);
    es_status st = es_insert_batch(s, table, &sc, &arr);
    es_builder_free(b);
    sc.release(&sc);
    return st;
}

/* A one-column stream of int64 keys (column name `name`); a negative key is NULL. */
static void key_stream(struct ArrowArrayStream *out, const char *name, const int64_t *keys,
                       int64_t n)
{
    struct ArrowSchema sc;
    es_schema_init_struct(&sc, 1, NULL);
    es_schema_init(sc.children[0], "l", name, ARROW_FLAG_NULLABLE, NULL);
    es_builder *b = NULL;
    es_builder_new(&b, &sc, NULL);
    for (int64_t i = 0; i < n; i++) {
        if (keys[i] < 0)
            es_builder_append_null(es_builder_child(b, 0), 1);
        else
            es_builder_append_int(es_builder_child(b, 0), keys[i]);
        es_builder_append_struct(b);
    }
    struct ArrowArray arr;
    es_builder_finish(b, &arr, NULL);
    es_stream_from_batches(out, &sc, &arr, 1, NULL);
    es_builder_free(b);
    sc.release(&sc);
}

static es_status delete_keys(es_store *s, const char *table, const int64_t *keys, int64_t n,
                             int64_t *deleted)
{
    struct ArrowArrayStream st;
    key_stream(&st, "key", keys, n);
    return es_delete_keys(s, table, &st, deleted);
}

/* An upsert stream of the small schema: ids with v = vals[i], s = "u<id>". */
static es_status upsert_small(es_store *s, const char *table, const int64_t *ids,
                              const int64_t *vals, int64_t n, es_upsert_mode mode, int64_t *ins,
                              int64_t *upd)
{
    struct ArrowSchema sc = small_schema();
    es_builder *b = NULL;
    es_builder_new(&b, &sc, NULL);
    for (int64_t i = 0; i < n; i++) {
        char str[32];
        snprintf(str, sizeof(str), "u%lld", (long long)ids[i]);
        es_builder_append_int(es_builder_child(b, 0), ids[i]);
        es_builder_append_int(es_builder_child(b, 1), vals[i]);
        es_builder_append_bytes(es_builder_child(b, 2), str, (int64_t)strlen(str));
        es_builder_append_struct(b);
    }
    struct ArrowArray arr;
    es_builder_finish(b, &arr, NULL);
    struct ArrowArrayStream st;
    es_stream_from_batches(&st, &sc, &arr, 1, NULL);
    es_status rc = es_upsert(s, table, &st, mode, ins, upd);
    es_builder_free(b);
    sc.release(&sc);
    return rc;
}

/* Copy value i of view v to builder b. */
static es_status copy_value(es_builder *b, const es_array_view *v, int64_t i)
{
    if (es_view_is_null(v, i))
        return es_builder_append_null(b, 1);
    switch (v->type.id) {
    case ES_TYPE_UINT8:
    case ES_TYPE_UINT16:
    case ES_TYPE_UINT32:
    case ES_TYPE_UINT64:
        return es_builder_append_uint(b, es_view_get_uint(v, i));
    case ES_TYPE_FLOAT32:
    case ES_TYPE_FLOAT64:
        return es_builder_append_double(b, es_view_get_double(v, i));
    case ES_TYPE_UTF8:
    case ES_TYPE_LARGE_UTF8:
    case ES_TYPE_BINARY:
    case ES_TYPE_LARGE_BINARY:
    case ES_TYPE_FIXED_BINARY: {
        int64_t len;
        const uint8_t *p = es_view_get_bytes(v, i, &len);
        return es_builder_append_bytes(b, p, len);
    }
    default:
        return es_builder_append_int(b, es_view_get_int(v, i));
    }
}

/* Update callback for the small table: v += add (NULL stays NULL), s = tag. */
typedef struct small_update {
    int64_t add;
    const char *tag;
    int64_t wrong_length; /* misuse: return this many rows more */
    es_status fail;       /* return this status */
    int64_t calls;
} small_update;

static es_status small_update_fn(void *ctx, const struct ArrowSchema *schema,
                                 const struct ArrowArray *rows, struct ArrowArray *out,
                                 es_error *err)
{
    small_update *u = ctx;
    u->calls++;
    if (u->fail)
        return es_error_set(err, u->fail, 0, "callback says no");
    es_array_view v;
    es_status st = es_array_view_init(&v, schema, rows, err);
    if (st)
        return st;
    es_builder *b = NULL;
    st = es_builder_new(&b, schema, err);
    for (int64_t i = 0; i < v.length + u->wrong_length && !st; i++) {
        int64_t r = i < v.length ? i : 0;
        copy_value(es_builder_child(b, 0), &v.children[0], r);
        if (es_view_is_null(&v.children[1], r))
            es_builder_append_null(es_builder_child(b, 1), 1);
        else
            es_builder_append_int(es_builder_child(b, 1),
                                  es_view_get_int(&v.children[1], r) + u->add);
        es_builder_append_bytes(es_builder_child(b, 2), u->tag, (int64_t)strlen(u->tag));
        st = es_builder_append_struct(b);
    }
    if (!st)
        st = es_builder_finish(b, out, err);
    es_builder_free(b);
    es_array_view_reset(&v);
    return st;
}

/* Count objects whose key ends with `suffix` under the store root. */
static int64_t count_objects(es_objstore *os, const char *suffix, char *last, size_t cap)
{
    es_obj_list l = {0};
    int64_t n = 0;
    const char *after = NULL;
    char after_buf[1100];
    for (;;) {
        if (es_objstore_list(os, "", after, 0, &l, NULL) != ES_OK)
            return -1;
        for (int64_t i = 0; i < l.n; i++) {
            size_t kl = strlen(l.items[i].key), sl = strlen(suffix);
            if (kl >= sl && strcmp(l.items[i].key + kl - sl, suffix) == 0) {
                n++;
                if (last)
                    snprintf(last, cap, "%s", l.items[i].key);
            }
        }
        int more = l.truncated && l.n > 0;
        if (more) {
            snprintf(after_buf, sizeof(after_buf), "%s", l.items[l.n - 1].key);
            after = after_buf;
        }
        es_obj_list_reset(&l);
        if (!more)
            break;
    }
    return n;
}

static int64_t scan_requests(es_store *s, const char *table, int64_t *rows)
{
    es_scan_options so = ES_SCAN_OPTIONS_INIT;
    es_scan_stats stats;
    so.stats = &stats;
    struct ArrowArrayStream st;
    *rows = -1;
    if (es_scan(s, table, &so, &st) != ES_OK)
        return -1;
    int64_t n = 0;
    for (;;) {
        struct ArrowArray a;
        if (st.get_next(&st, &a) != 0 || !a.release)
            break;
        n += a.length;
        a.release(&a);
    }
    st.release(&st);
    *rows = n;
    return stats.requests;
}

#define TIMED(call)                                                                                \
    do {                                                                                           \
        double t0_ = now_s();                                                                      \
        call;                                                                                      \
        printf("  %-50s %.2f s\n", #call, now_s() - t0_);                                          \
    } while (0)

/* ES_TEST_SEED (when set) seeds the generator; the seed is printed either way. */
static void seed_from_env(void)
{
    const char *seed = getenv("ES_TEST_SEED");
    rng = seed && *seed ? strtoull(seed, NULL, 0) | 1 : 0x2545F4914F6CDD1Dull;
    printf("seed %llu (set ES_TEST_SEED to repeat another run)\n", (unsigned long long)rng);
}

#endif /* ES_TEST_DELETE_UTIL_H */
