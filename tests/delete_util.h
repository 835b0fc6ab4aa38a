/*
 * delete_util.h: helpers shared by the tests of deletes, transactions and their failures
 * (test_delete, test_delete_conflicts, test_delete_procs, test_txn*; static functions in a
 * header, like check.h): a random generator, literals, table contents as sorted row strings,
 * a scan's rows one by one (scan_rows) and an update callback's body (remake_rows); a small
 * table (id int64 key, v int32, s utf8) with inserts, key deletes, upserts and an update
 * callback; transactions on it; the fault and allocation-failure loops.
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

/* fn(ctx, v, i) (when fn is not NULL) for every row i of every batch v (a validated view) of a
 * scan of table with options so. Returns the rows seen, or -1 when the scan, its stream or a
 * view fails. */
typedef void (*row_fn)(void *ctx, const es_array_view *v, int64_t i);
static int64_t scan_rows(es_store *s, const char *table, const es_scan_options *so, row_fn fn,
                         void *ctx)
{
    struct ArrowArrayStream st;
    if (es_scan(s, table, so, &st) != ES_OK)
        return -1;
    struct ArrowSchema sc;
    if (st.get_schema(&st, &sc) != 0) {
        st.release(&st);
        return -1;
    }
    int64_t rows = 0;
    while (rows >= 0) {
        struct ArrowArray a;
        if (st.get_next(&st, &a) != 0) {
            rows = -1;
            break;
        }
        if (!a.release)
            break;
        es_array_view v;
        if (es_array_view_init(&v, &sc, &a, NULL) == ES_OK) {
            for (int64_t i = 0; fn && i < v.length; i++)
                fn(ctx, &v, i);
            rows += v.length;
            es_array_view_reset(&v);
        } else {
            rows = -1;
        }
        a.release(&a);
    }
    sc.release(&sc);
    st.release(&st);
    return rows;
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

/* *out: rows of ids from..from+n-1 (step `step`) with v = id % 1000 and s = "r<id>" (of sc,
 * the small schema). */
static void small_batch(struct ArrowArray *out, const struct ArrowSchema *sc, int64_t from,
                        int64_t n, int64_t step)
{
    es_builder *b = NULL;
    es_builder_new(&b, sc, NULL);
    for (int64_t i = 0; i < n; i++) {
        int64_t id = from + i * step;
        char str[32];
        snprintf(str, sizeof(str), "r%lld", (long long)id);
        es_builder_append_int(es_builder_child(b, 0), id);
        es_builder_append_int(es_builder_child(b, 1), id % 1000);
        es_builder_append_bytes(es_builder_child(b, 2), str, (int64_t)strlen(str));
        es_builder_append_struct(b);
    }
    es_builder_finish(b, out, NULL);
    es_builder_free(b);
}

/* Insert the rows of small_batch. */
static es_status insert_small(es_store *s, const char *table, int64_t from, int64_t n, int64_t step)
{
    struct ArrowSchema sc = small_schema();
    struct ArrowArray arr;
    small_batch(&arr, &sc, from, n, step);
    es_status st = es_insert_batch(s, table, &sc, &arr);
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

/* The body of an es_update callback: out gets, for each row i of `rows` (then `extra` more
 * made from row 0: a misuse the tests need), the values fn appends to b's columns. */
typedef es_status (*remake_fn)(void *ctx, es_builder *b, const es_array_view *v, int64_t i);
static es_status remake_rows(struct ArrowArray *out, const struct ArrowSchema *schema,
                             const struct ArrowArray *rows, int64_t extra, remake_fn fn, void *ctx,
                             es_error *err)
{
    es_array_view v;
    es_status st = es_array_view_init(&v, schema, rows, err);
    if (st)
        return st;
    es_builder *b = NULL;
    st = es_builder_new(&b, schema, err);
    for (int64_t i = 0; i < v.length + extra && !st; i++) {
        st = fn(ctx, b, &v, i < v.length ? i : 0);
        if (!st)
            st = es_builder_append_struct(b);
    }
    if (!st)
        st = es_builder_finish(b, out, err);
    es_builder_free(b);
    es_array_view_reset(&v);
    return st;
}

/* Update callback for the small table: v += add (NULL stays NULL), s = tag (NULL: s kept). */
typedef struct small_update {
    int64_t add;
    const char *tag;
    int64_t wrong_length; /* misuse: return this many rows more */
    es_status fail;       /* return this status */
    int64_t calls;
} small_update;

static es_status small_row(void *ctx, es_builder *b, const es_array_view *v, int64_t i)
{
    const small_update *u = ctx;
    es_status st = copy_value(es_builder_child(b, 0), &v->children[0], i);
    if (!st && es_view_is_null(&v->children[1], i))
        st = es_builder_append_null(es_builder_child(b, 1), 1);
    else if (!st)
        st = es_builder_append_int(es_builder_child(b, 1),
                                   es_view_get_int(&v->children[1], i) + u->add);
    if (!st && !u->tag)
        st = copy_value(es_builder_child(b, 2), &v->children[2], i);
    else if (!st)
        st = es_builder_append_bytes(es_builder_child(b, 2), u->tag, (int64_t)strlen(u->tag));
    return st;
}

static es_status small_update_fn(void *ctx, const struct ArrowSchema *schema,
                                 const struct ArrowArray *rows, struct ArrowArray *out,
                                 es_error *err)
{
    small_update *u = ctx;
    u->calls++;
    if (u->fail)
        return es_error_set(err, u->fail, 0, "callback says no");
    return remake_rows(out, schema, rows, u->wrong_length, small_row, u, err);
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
    *rows = scan_rows(s, table, &so, NULL, NULL);
    return *rows < 0 ? -1 : stats.requests;
}

/* ------------------------------------------------- transactions (test_txn*) */

static es_txn_options opts_of(es_isolation iso)
{
    es_txn_options o = ES_TXN_OPTIONS_INIT;
    o.isolation = iso;
    return o;
}

static es_status begin(es_store *s, es_isolation iso)
{
    es_txn_options o = opts_of(iso);
    return es_txn_begin(s, &o);
}

static void first_int(void *ctx, const es_array_view *v, int64_t i)
{
    *(int64_t *)ctx = es_view_get_int(&v->children[0], i);
}

/* Value of column v of the small table's row `id` (-1: no row, -2: several, -3: error). */
static int64_t read_v(es_store *s, const char *table, int64_t id)
{
    es_expr *e = es_expr_cmp("id", ES_EQ, vint(id));
    es_scan_options so = ES_SCAN_OPTIONS_INIT;
    const char *cols[1] = {"v"};
    so.columns = cols;
    so.n_columns = 1;
    so.predicate = e;
    int64_t value = 0, n = scan_rows(s, table, &so, first_int, &value);
    es_expr_free(e);
    return n < 0 ? -3 : n == 0 ? -1 : n > 1 ? -2 : value;
}

/* Update callback: v := value, s := tag ("t" when NULL). */
typedef struct set_v {
    int64_t value;
    const char *tag;
} set_v;

static es_status set_v_row(void *ctx, es_builder *b, const es_array_view *v, int64_t i)
{
    const set_v *u = ctx;
    const char *tag = u->tag ? u->tag : "t";
    es_status st = copy_value(es_builder_child(b, 0), &v->children[0], i);
    if (!st)
        st = es_builder_append_int(es_builder_child(b, 1), u->value);
    if (!st)
        st = es_builder_append_bytes(es_builder_child(b, 2), tag, (int64_t)strlen(tag));
    return st;
}

static es_status set_v_fn(void *ctx, const struct ArrowSchema *schema,
                          const struct ArrowArray *rows, struct ArrowArray *out, es_error *err)
{
    return remake_rows(out, schema, rows, 0, set_v_row, ctx, err);
}

/* Set v of row `id` (*n: rows updated). */
static es_status write_v(es_store *s, const char *table, int64_t id, int64_t value, int64_t *n)
{
    es_expr *e = es_expr_cmp("id", ES_EQ, vint(id));
    set_v u = {value, NULL};
    int64_t dummy;
    es_status rc = es_update(s, table, e, set_v_fn, &u, n ? n : &dummy);
    es_expr_free(e);
    return rc;
}

static int has_table(es_store *s, const char *name)
{
    char **names = NULL;
    int64_t n = 0, found = 0;
    if (es_table_list(s, &names, &n) != ES_OK)
        return -1;
    for (int64_t i = 0; i < n; i++)
        found |= strcmp(names[i], name) == 0;
    es_strings_free(names, n);
    return (int)found;
}

/* A fresh store handle on uri with batches of 16 rows. */
static es_store *open_store16(const char *uri)
{
    es_store *s = NULL;
    es_open_options opt = ES_OPEN_OPTIONS_INIT;
    opt.batch_rows = 16;
    if (es_store_open(&s, uri, &opt) != ES_OK) {
        fprintf(stderr, "open %s: %s\n", uri, es_store_errmsg(s));
        es_store_close(s);
        return NULL;
    }
    return s;
}

static void make_small(es_store *s, const char *table, int64_t from, int64_t n)
{
    struct ArrowSchema sc = small_schema();
    es_table_drop(s, table, 1);
    CHECK_OK(es_table_create(s, table, &sc, "id", 0));
    if (n > 0)
        CHECK_OK(insert_small(s, table, from, n, 1));
    sc.release(&sc);
}

/* ------------------------------------------------------------ fault loops */

/* An operation under test in the fault and allocation-failure loops (test_delete_conflicts,
 * test_txn_faults). setup() makes the state before on a fresh store; prepare() builds the
 * operation's inputs into ctx (before any fault is armed); run() applies the operation,
 * consuming them; release() frees what run() left; state() is the store as one string
 * (malloc). what names the operation in messages, table takes a one-row insert after some
 * runs (the store still takes writes). */
typedef struct fault_case {
    const char *what, *table;
    void (*setup)(es_store *s);
    void (*prepare)(void *ctx);
    es_status (*run)(es_store *s, void *ctx);
    void (*release)(void *ctx);
    char *(*state)(es_store *s);
    void *ctx;
} fault_case;

static es_status fault_case_run(const fault_case *fc, es_store *s)
{
    fc->prepare(fc->ctx);
    es_status rc = fc->run(s, fc->ctx);
    fc->release(fc->ctx);
    return rc;
}

/* The states before and after the operation without faults (on mem://<name>_ref). */
static void fault_case_states(const fault_case *fc, const char *name, const es_open_options *opt,
                              char **before, char **after)
{
    char uri[128];
    snprintf(uri, sizeof(uri), "mem://%s_ref", name);
    es_objstore_mem_drop(uri + 6);
    es_store *s = NULL;
    CHECK_OK(es_store_open(&s, uri, opt));
    fc->setup(s);
    *before = fc->state(s);
    CHECK_OK(fault_case_run(fc, s));
    *after = fc->state(s);
    es_store_close(s);
    es_objstore_mem_drop(uri + 6);
    CHECK(*before && *after && strcmp(*before, *after) != 0);
}

/* The fault modes: fail the Nth request once, fail it and every later one, lose the response
 * of the Nth put (the put is applied), crash after the Nth put. */
static const char *const fault_modes[4] = {"fail once", "fail from then on",
                                           "lose the put's response", "crash after put"};

/* Fault mode `mode` for N = 1, 2, ... (below max_nth) until a run sees no fault: on a fresh
 * mem://<name> set up without faults, the operation runs through the fault wrapper; reopened
 * without it, the store must hold the state before or the state after (after whenever the call
 * succeeded) and take writes. Counts the runs ending before and after; returns the runs. */
static int64_t fault_loop(const fault_case *fc, const char *name, const es_open_options *opt,
                          int mode, int64_t max_nth, const char *before, const char *after,
                          int64_t *seen_before, int64_t *seen_after)
{
    char uri[128];
    snprintf(uri, sizeof(uri), "mem://%s", name);
    int64_t runs = 0;
    *seen_before = *seen_after = 0;
    for (int64_t nth = 1; nth < max_nth; nth++) {
        es_objstore_mem_drop(name);
        es_objstore *inner = NULL, *fw = NULL;
        CHECK_OK(es_objstore_open(&inner, uri, NULL));
        CHECK_OK(es_objstore_fault_wrap(&fw, inner, 0, NULL));
        es_store *s = NULL, *c = NULL;
        CHECK_OK(es_store_open_objstore(&s, inner, 0, opt, NULL));
        fc->setup(s);
        es_store_close(s);
        CHECK_OK(es_store_open_objstore(&c, fw, 0, opt, NULL));
        es_fault_config cfg;
        memset(&cfg, 0, sizeof(cfg));
        cfg.op = -1;
        if (mode == 0) {
            cfg.fail_at = nth;
        } else if (mode == 1) {
            cfg.fail_at = nth;
            cfg.persist = 1;
        } else if (mode == 2) {
            cfg.op = ES_OP_PUT;
            cfg.fail_at = nth;
            cfg.after = 1;
        } else {
            cfg.crash_after_put = nth;
        }
        CHECK_OK(es_objstore_fault_set(fw, &cfg));
        es_status rc = fault_case_run(fc, c);
        int faulted = es_objstore_fault_injected(fw) > 0 || es_objstore_fault_crashed(fw);
        es_store_close(c);
        /* Reopen on the inner store: the state before or after, never in between. */
        es_store *r = NULL;
        CHECK_OK(es_store_open_objstore(&r, inner, 0, opt, NULL));
        char *now = r ? fc->state(r) : NULL;
        int is_before = now && strcmp(now, before) == 0;
        int is_after = now && strcmp(now, after) == 0;
        CHECK(is_before || is_after);
        if (rc == ES_OK)
            CHECK(is_after);
        if (!(is_before || is_after) || (rc == ES_OK && !is_after))
            fprintf(stderr, "fault %s, %s at %lld: %s, state %s\n", fc->what, fault_modes[mode],
                    (long long)nth, es_status_name(rc),
                    is_before  ? "before"
                    : is_after ? "after"
                               : "neither");
        *seen_before += is_before;
        *seen_after += is_after;
        if (r && nth % 8 == 1) /* and the store still takes writes */
            CHECK_OK(insert_small(r, fc->table, 900000 + nth, 1, 1));
        free(now);
        es_store_close(r);
        es_objstore_close(fw);
        es_objstore_close(inner);
        runs++;
        if (!faulted)
            break;
    }
    es_objstore_mem_drop(name);
    return runs;
}

/* Fail the Nth allocation of the operation (its inputs built before), for every N below
 * `every`, then one in about N / step: each run fails cleanly or succeeds, and the store reopened
 * holds the state before or after (after when it succeeded); ASan: nothing leaks. Returns the runs,
 * *failed those that failed. */
static int64_t alloc_loop(const fault_case *fc, const char *name, const es_open_options *opt,
                          int64_t every, int64_t step, const char *before, const char *after,
                          int64_t *failed)
{
    char uri[128];
    snprintf(uri, sizeof(uri), "mem://%s", name);
    int64_t calls = 0;
    *failed = 0;
    for (int64_t nth = 1; nth < 200000; nth += nth < every ? 1 : 1 + nth / step) {
        es_objstore_mem_drop(name);
        es_store *s = NULL;
        CHECK_OK(es_store_open(&s, uri, opt));
        if (!s)
            break;
        fc->setup(s);
        fc->prepare(fc->ctx);
        es_util_alloc_fail_at(nth, 0);
        es_status rc = fc->run(s, fc->ctx);
        int64_t made = es_util_alloc_fail_at(0, 0);
        fc->release(fc->ctx);
        es_store_close(s);
        es_store *r = NULL;
        CHECK_OK(es_store_open(&r, uri, opt));
        char *now = r ? fc->state(r) : NULL;
        int ok = now && (strcmp(now, before) == 0 || strcmp(now, after) == 0);
        if (rc == ES_OK)
            ok = ok && strcmp(now, after) == 0;
        if (!ok) {
            check_failed++;
            fprintf(stderr, "alloc failure %lld in %s: %s %s\n", (long long)nth, fc->what,
                    es_status_name(rc), r ? es_store_errmsg(r) : "");
        } else {
            check_passed++;
        }
        free(now);
        es_store_close(r);
        calls++;
        *failed += rc != ES_OK;
        if (made < nth)
            break; /* the run made fewer allocations: every one was tried */
    }
    es_objstore_mem_drop(name);
    return calls;
}

/* ES_TEST_SEED (when set) seeds the generator; the seed is printed either way. */
static void seed_from_env(void)
{
    const char *seed = getenv("ES_TEST_SEED");
    rng = seed && *seed ? strtoull(seed, NULL, 0) | 1 : 0x2545F4914F6CDD1Dull;
    printf("seed %llu (set ES_TEST_SEED to repeat another run)\n", (unsigned long long)rng);
}

#endif /* ES_TEST_DELETE_UTIL_H */
