/*
 * api: the public entry points of expstore.h. Each checks its arguments (misuse is
 * ES_INVALID), calls the table/scan/log layers and records the outcome as the handle's last
 * error (es_store_errmsg). Top of the library's layers.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "objstore/objstore.h"
#include "os/os.h"
#include "expstore/sql.h"
#include "table/colcache.h"
#include "table/compact.h"
#include "table/evolve.h"
#include "table/expr.h"
#include "table/history.h"
#include "table/index.h"
#include "table/keyfilter.h"
#include "table/txn.h"

static es_status record(es_store *s, es_status st, const es_error *err)
{
    if (!s)
        return st;
    if (st == ES_OK) {
        s->err.code = ES_OK;
        s->err.sys_code = 0;
        s->err.msg[0] = 0;
        /* Reads go on at the last consistent version of a damaged log: say so. */
        if (s->snap && s->snap->damage.code != ES_OK)
            es_error_set(&s->err, ES_OK, 0, "warning: %s", s->snap->damage.msg);
    } else {
        s->err = *err;
        s->err.code = st;
        if (!s->err.msg[0])
            snprintf(s->err.msg, sizeof(s->err.msg), "%s", es_status_name(st));
    }
    return st;
}

static void init_err(es_error *e)
{
    e->code = ES_OK;
    e->sys_code = 0;
    e->msg[0] = 0;
}

static int64_t default_memory_limit(void);
static int64_t default_cache_limit(void);

es_status es_store_open_objstore(es_store **out, es_objstore *os, int take_ownership,
                                 const es_open_options *opts, es_error *err)
{
    *out = NULL;
    es_error own;
    if (!err) {
        init_err(&own);
        err = &own;
    }
    es_open_options defaults = ES_OPEN_OPTIONS_INIT;
    if (!opts)
        opts = &defaults;
    if (opts->version < 1 || opts->version > ES_OPEN_OPTIONS_VERSION || opts->batch_rows < 0 ||
        opts->part_target_bytes < 0 ||
        (opts->version >= 2 &&
         (opts->inline_rows < 0 || opts->inline_bytes < 0 || opts->flush_rows < 0 ||
          opts->flush_bytes < 0 || opts->commit_window_us < 0 || opts->compact_min_parts < 0 ||
          !(opts->compact_deleted_ratio >= 0 && opts->compact_deleted_ratio <= 1) ||
          opts->retain_versions < 0 || opts->retain_ms < 0 || opts->vacuum_min_age_ms < 0)) ||
        (opts->version >= 3 && opts->batch_pages < 0)) {
        if (take_ownership)
            es_objstore_close(os);
        return es_error_set(err, ES_INVALID, 0, "es_store_open: bad options");
    }
    es_store *s = es_calloc(1, sizeof(*s));
    if (!s) {
        if (take_ownership)
            es_objstore_close(os);
        return es_error_set(err, ES_NOMEM, 0, "es_store_open: out of memory");
    }
    s->os = os;
    s->own_os = take_ownership;
    s->opts = defaults;
    if (opts->version == 1) /* the fields of version 1 only: the rest keep their defaults */
        memcpy(&s->opts, opts, offsetof(es_open_options, inline_rows));
    else if (opts->version == 2)
        memcpy(&s->opts, opts, offsetof(es_open_options, batch_pages));
    else
        s->opts = *opts;
    if (s->opts.batch_pages == 0) { /* the default: 128, or ES_BATCH_PAGES (tests) */
        const char *bp = getenv("ES_BATCH_PAGES");
        s->opts.batch_pages = bp && atoll(bp) > 0 ? atoll(bp) : ES_BATCH_PAGES_DEFAULT;
    }
    s->opts.version = ES_OPEN_OPTIONS_VERSION;
    s->threads = es_os_cpus();
    s->memory_limit = default_memory_limit();
    s->cache_limit = default_cache_limit();
    if (es_colcache_new(&s->colcache, es_store_cache_limit(s), err) ||
        es_colcache_new(&s->keycache, ES_KEYCACHE_BYTES, err)) {
        es_colcache_free(s->colcache);
        if (take_ownership)
            es_objstore_close(os);
        es_free(s);
        return ES_NOMEM;
    }
    if (s->opts.batch_rows == 0)
        s->opts.batch_rows = defaults.batch_rows;
    if (s->opts.part_target_bytes == 0)
        s->opts.part_target_bytes = defaults.part_target_bytes;
    *out = s;
    es_error warn;
    es_status st = es_log_load(&s->snap, &warn, os, -1, err);
    if (st == ES_NOT_FOUND && opts->create) {
        /* Create a store only where there is nothing: a directory or prefix holding other
         * objects is someone else's data (or a store whose log is gone), not a new store. */
        es_obj_list l;
        memset(&l, 0, sizeof l);
        es_status lst = es_objstore_list(os, "", NULL, 1, &l, err);
        if (lst)
            st = lst;
        else if (l.n > 0)
            st = es_error_set(err, ES_INVALID, 0,
                              "%s: not empty and not an Exp Store store (it has %s but no "
                              "_log/00000000000000000000.json): open an empty or new location",
                              os->uri ? os->uri : "store", l.items[0].key);
        es_obj_list_reset(&l);
    }
    if (st == ES_NOT_FOUND && opts->create) {
        st = es_log_init(os, err);
        if (!st)
            st = es_log_load(&s->snap, &warn, os, -1, err);
    }
    if (st)
        return record(s, st, err);
    /* Warnings, most important first, in one line. */
    const char *notes[3] = {s->snap->damage.msg, warn.msg, ""};
    char cas[256];
    if (!os->cas_supported) {
        snprintf(cas, sizeof(cas),
                 "%s does not honour conditional puts: only one writer at a time is safe",
                 os->uri ? os->uri : "object store");
        notes[2] = cas;
    }
    size_t len = 0;
    for (int i = 0; i < 3; i++) {
        if (!notes[i][0] || len >= sizeof(s->warning))
            continue;
        int k = snprintf(s->warning + len, sizeof(s->warning) - len, "%s%s",
                         len ? "; " : "warning: ", notes[i]);
        len += k > 0 ? (size_t)k : 0;
    }
    record(s, ES_OK, err);
    if (s->warning[0])
        snprintf(s->err.msg, sizeof(s->err.msg), "%s", s->warning);
    return ES_OK;
}

es_status es_store_open(es_store **out, const char *uri, const es_open_options *opts)
{
    es_error err;
    init_err(&err);
    if (!out)
        return ES_INVALID;
    *out = NULL;
    if (!uri) {
        es_store *s = es_calloc(1, sizeof(*s));
        if (s) {
            s->err.code = ES_INVALID;
            snprintf(s->err.msg, sizeof(s->err.msg), "es_store_open: uri is NULL");
        }
        *out = s;
        return ES_INVALID;
    }
    es_objstore *os = NULL;
    es_status st = es_objstore_open(&os, uri, &err);
    if (st) {
        es_store *s = es_calloc(1, sizeof(*s));
        if (s)
            record(s, st, &err);
        *out = s;
        return st;
    }
    st = es_store_open_objstore(out, os, 1, opts, &err);
    if (st && !*out && st != ES_NOMEM) {
        /* Bad options: a handle holding the message, as for a bad URI. */
        es_store *s = es_calloc(1, sizeof(*s));
        if (s)
            record(s, st, &err);
        *out = s;
    }
    return st;
}

void es_store_close(es_store *s)
{
    if (!s)
        return;
    (void)es_store_wait_async(s, NULL, NULL, 0); /* the committer still refers to s */
    es_snapshot_free(s->async_snap);
    es_txn_free(s->txn); /* an open transaction is aborted */
    for (int i = 0; i < ES_IDX_CACHE; i++) {
        es_part_idx_free(s->idx_cache[i].idx);
        es_blob_unref(s->dv_cache[i].b);
    }
    es_index_cache_free(s);
    es_keyfilter_free(s);
    es_colcache_free(s->colcache);
    es_colcache_free(s->keycache);
    es_snapshot_free(s->snap);
    if (s->own_os)
        es_objstore_close(s->os);
    es_free(s);
}

const char *es_store_errmsg(const es_store *s)
{
    return s ? s->err.msg : "out of memory";
}

es_status es_store_errcode(const es_store *s)
{
    return s ? s->err.code : ES_NOMEM;
}

static es_status usable(es_store *s, es_error *err)
{
    if (!s->snap || !s->os)
        return es_error_set(err, ES_INVALID, 0, "store handle did not open");
    return ES_OK;
}

/* The checks every call on a store starts with, err initialised: without a store, ES_INVALID
 * (no handle to record on, and record(NULL, st, ...) returns st as is); then, when bad_args,
 * ES_INVALID with the message what; then whether the store opened. The caller ends with
 * return record(s, st, &err). bad_args must not dereference s. */
static es_status enter(es_store *s, int bad_args, const char *what, es_error *err)
{
    init_err(err);
    if (!s)
        return ES_INVALID;
    if (bad_args)
        return es_error_set(err, ES_INVALID, 0, "%s", what);
    return usable(s, err);
}

es_status es_store_version(es_store *s, int64_t *version)
{
    es_error err;
    es_status st = enter(s, !version, "version is NULL", &err);
    if (!st && !s->txn) /* a transaction reads its snapshot's version */
        st = es_log_refresh(s->snap, s->os, &err);
    if (!st)
        *version = s->snap->version;
    return record(s, st, &err);
}

void es_store_interrupt(es_store *s)
{
    if (s)
        __atomic_store_n(&s->interrupt, 1, __ATOMIC_RELAXED);
}

void es_store_clear_interrupt(es_store *s)
{
    if (s)
        __atomic_store_n(&s->interrupt, 0, __ATOMIC_RELAXED);
}

es_status es_store_set_threads(es_store *s, int n)
{
    if (!s)
        return ES_INVALID;
    if (n < 0 || n > 256)
        return es_error_set(&s->err, ES_INVALID, 0, "es_store_set_threads: %d threads (0 to 256)",
                            n);
    s->threads = n ? n : es_os_cpus();
    return ES_OK;
}

es_status es_store_set_async(es_store *s, int on)
{
    if (!s)
        return ES_INVALID;
    if (!on && s->async)
        (void)es_store_wait_async(s, NULL, NULL, 1);
    s->async = on != 0;
    return ES_OK;
}

es_status es_store_sync(es_store *s, int64_t *version)
{
    if (version)
        *version = -1;
    if (!s)
        return ES_INVALID;
    es_error err;
    err.code = ES_OK;
    err.msg[0] = 0;
    es_status st = es_store_wait_async(s, version, &err, 0);
    return record(s, st, &err);
}

int es_store_threads(const es_store *s)
{
    return s ? s->threads : 0;
}

/* 80% of the machine's memory (as DuckDB), 1 GiB when it is unknown; ES_MEMORY_LIMIT (bytes)
 * replaces it. */
static int64_t default_memory_limit(void)
{
    const char *env = getenv("ES_MEMORY_LIMIT");
    if (env && *env && strtoll(env, NULL, 10) > 0)
        return strtoll(env, NULL, 10);
    int64_t ram = es_os_ram_bytes();
    return ram > 0 ? ram / 5 * 4 : (int64_t)1 << 30;
}

es_status es_store_set_memory_limit(es_store *s, int64_t bytes)
{
    if (!s)
        return ES_INVALID;
    if (bytes < 0)
        return es_error_set(&s->err, ES_INVALID, 0,
                            "es_store_set_memory_limit: %lld bytes (0 for the default)",
                            (long long)bytes);
    s->memory_limit = bytes ? bytes : default_memory_limit();
    es_colcache_set_budget(s->colcache, es_store_cache_limit(s));
    return ES_OK;
}

/* The cache budget at open: ES_CACHE_LIMIT (bytes) when set, else the default (-1). */
static int64_t default_cache_limit(void)
{
    const char *env = getenv("ES_CACHE_LIMIT");
    if (env && *env && strtoll(env, NULL, 10) >= 0)
        return strtoll(env, NULL, 10);
    return -1;
}

es_status es_store_set_cache_limit(es_store *s, int64_t bytes)
{
    if (!s)
        return ES_INVALID;
    if (bytes < -1)
        return es_error_set(&s->err, ES_INVALID, 0,
                            "es_store_set_cache_limit: %lld bytes (0: off, -1: the default)",
                            (long long)bytes);
    s->cache_limit = bytes;
    es_colcache_set_budget(s->colcache, es_store_cache_limit(s));
    return ES_OK;
}

int64_t es_store_cache_limit(const es_store *s)
{
    if (!s)
        return 0;
    return s->cache_limit >= 0 ? s->cache_limit : s->memory_limit / 4;
}

void es_store_cache_usage(const es_store *s, int64_t *bytes, int64_t *chunks)
{
    es_colcache_stats cs;
    es_colcache_stats_get(s ? s->colcache : NULL, &cs);
    if (bytes)
        *bytes = cs.bytes;
    if (chunks)
        *chunks = cs.entries;
}

int64_t es_store_memory_limit(const es_store *s)
{
    return s ? s->memory_limit : 0;
}

es_status es_table_create(es_store *s, const char *name, const struct ArrowSchema *schema,
                          const char *primary_key, int if_not_exists)
{
    es_error err;
    es_status st = enter(s, 0, NULL, &err);
    if (!st)
        st = es_table_create_impl(s, name, schema, NULL, primary_key, if_not_exists, &err);
    return record(s, st, &err);
}

es_status es_table_create_defaults(es_store *s, const char *name, const struct ArrowSchema *schema,
                                   const struct ArrowArray *defaults, const char *primary_key,
                                   int if_not_exists)
{
    es_error err;
    es_status st = enter(s, 0, NULL, &err);
    if (!st)
        st = es_table_create_impl(s, name, schema, defaults, primary_key, if_not_exists, &err);
    return record(s, st, &err);
}

es_status es_table_drop(es_store *s, const char *name, int if_exists)
{
    es_error err;
    es_status st = enter(s, 0, NULL, &err);
    if (!st)
        st = es_table_drop_impl(s, name, if_exists, &err);
    return record(s, st, &err);
}

es_status es_index_create(es_store *s, const char *table, const char *name, const char *column,
                          int unique, int if_not_exists)
{
    es_error err;
    es_status st = enter(s, 0, NULL, &err);
    if (!st)
        st = es_index_create_impl(s, table, name, column, unique, if_not_exists, &err);
    return record(s, st, &err);
}

es_status es_index_drop(es_store *s, const char *name, int if_exists)
{
    es_error err;
    es_status st = enter(s, 0, NULL, &err);
    if (!st)
        st = es_index_drop_impl(s, name, if_exists, &err);
    return record(s, st, &err);
}

es_status es_index_list(es_store *s, es_index_info **out, int64_t *n)
{
    es_error err;
    es_status st = enter(s, !out || !n, "es_index_list: NULL output", &err);
    if (!st)
        st = es_index_list_impl(s, out, n, &err);
    return record(s, st, &err);
}

void es_index_list_free(es_index_info *list, int64_t n)
{
    for (int64_t i = 0; list && i < n; i++) {
        es_free(list[i].name);
        es_free(list[i].table);
        es_free(list[i].column);
    }
    es_free(list);
}

es_status es_table_flush(es_store *s, const char *table, int64_t *rows)
{
    es_error err;
    es_status st = enter(s, 0, NULL, &err);
    if (rows)
        *rows = 0;
    if (st || table)
        return record(s, st ? st : es_table_flush_impl(s, table, rows, &err), &err);
    char **names = NULL;
    int64_t n = 0, total = 0;
    st = es_table_list(s, &names, &n);
    if (st)
        return st;
    for (int64_t i = 0; i < n && !st; i++) {
        int64_t r = 0;
        st = es_table_flush_impl(s, names[i], &r, &err);
        total += r;
    }
    es_strings_free(names, n);
    if (rows)
        *rows = total;
    return record(s, st, &err);
}

es_status es_table_list(es_store *s, char ***names, int64_t *n)
{
    es_error err;
    es_status st = enter(s, !names || !n, "es_table_list: NULL output", &err);
    if (names && n) {
        *names = NULL;
        *n = 0;
    }
    if (st)
        return record(s, st, &err);
    const es_snapshot *cat = s->snap;
    if (s->txn) {
        cat = es_txn_view(s->txn); /* and the list is part of its read set */
        es_txn_note_catalog(s->txn);
    } else {
        st = es_log_refresh(s->snap, s->os, &err);
    }
    if (st)
        return record(s, st, &err);
    int64_t k = cat->n_tables;
    char **v = es_calloc((size_t)(k > 0 ? k : 1), sizeof(char *));
    if (!v)
        return record(s, es_error_set(&err, ES_NOMEM, 0, "out of memory"), &err);
    for (int64_t i = 0; i < k; i++) {
        v[i] = es_strdup(cat->tables[i]->name);
        if (!v[i]) {
            es_strings_free(v, i);
            return record(s, es_error_set(&err, ES_NOMEM, 0, "out of memory"), &err);
        }
    }
    /* Sorted by name for stable output. */
    for (int64_t i = 1; i < k; i++)
        for (int64_t j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
            char *x = v[j];
            v[j] = v[j - 1];
            v[j - 1] = x;
        }
    *names = v;
    *n = k;
    return record(s, ES_OK, &err);
}

void es_strings_free(char **strings, int64_t n)
{
    if (!strings)
        return;
    for (int64_t i = 0; i < n; i++)
        es_free(strings[i]);
    es_free(strings);
}

/* Column c's default as field metadata "expstore:default" of its schema: the value as an SQL
 * literal (es_table_info). */
static es_status describe_default(struct ArrowSchema *field, const es_column *c, es_error *err)
{
    es_builder *b = NULL;
    struct ArrowArray a = {0};
    es_array_view v;
    es_status st = es_builder_new(&b, field, err);
    if (!st)
        st = es_column_append_default(b, c, 1);
    if (!st)
        st = es_builder_finish(b, &a, err);
    es_builder_free(b);
    if (!st)
        st = es_array_view_init(&v, field, &a, err);
    if (st) {
        es_array_release(&a);
        return st == ES_NOMEM ? es_error_set(err, ES_NOMEM, 0, "out of memory") : st;
    }
    char buf[ES_DEFAULT_MAX * 2 + 64], lit[ES_DEFAULT_MAX * 4 + 96];
    int64_t len = 0;
    const char *s = es_sql_format_value(&v, 0, buf, sizeof buf, &len);
    es_domain dom = es_expr_domain(c->type.id);
    size_t k = 0;
    if (es_view_is_null(&v, 0)) {
        k = (size_t)snprintf(lit, sizeof lit, "NULL");
    } else if (c->type.id == ES_TYPE_BOOL || dom == ES_DOM_UINT || dom == ES_DOM_DOUBLE ||
               dom == ES_DOM_DEC || (dom == ES_DOM_INT && c->type.id <= ES_TYPE_INT64)) {
        k = (size_t)snprintf(lit, sizeof lit, "%.*s", (int)len, s);
    } else { /* strings, dates, times: quoted */
        lit[k++] = '\'';
        for (int64_t i = 0; i < len && k + 3 < sizeof lit; i++) {
            if (s[i] == '\'')
                lit[k++] = '\'';
            lit[k++] = s[i];
        }
        lit[k++] = '\'';
        lit[k] = 0;
    }
    es_array_view_reset(&v);
    es_array_release(&a);
    const char *key = "expstore:default", *val = lit;
    return es_schema_set_metadata(field, 1, &key, &val, err);
}

es_status es_table_describe(es_store *s, const char *name, int64_t version, es_table_info *out)
{
    es_error err;
    es_status st = enter(s, !out || !name, "es_table_describe: NULL argument", &err);
    if (out)
        memset(out, 0, sizeof(*out));
    if (st)
        return record(s, st, &err);
    es_tabledef *t = NULL;
    st = es_store_table(&t, s, name, version, &err);
    /* In a transaction the latest is its view, which no committed version equals: -1, which a
     * later es_scan pinned to it reads again (the SQL layer binds and scans that way). */
    int64_t at = version >= 0 ? version : s->txn ? -1 : s->snap->version;
    if (st) {
        es_tabledef_unref(t);
        return record(s, st, &err);
    }
    st = es_schema_init_struct(&out->schema, t->n_cols, &err);
    for (int64_t c = 0; c < t->n_cols && !st; c++) {
        st = es_schema_init(out->schema.children[c], t->cols[c].format, t->cols[c].name,
                            t->cols[c].nullable ? ARROW_FLAG_NULLABLE : 0, &err);
        if (!st && t->cols[c].def)
            st = describe_default(out->schema.children[c], &t->cols[c], &err);
    }
    if (!st && t->pk >= 0 && !(out->primary_key = es_strdup(t->cols[t->pk].name)))
        st = es_error_set(&err, ES_NOMEM, 0, "out of memory");
    out->n_parts = es_tabledef_n_parts(t);
    out->n_rows = t->rows;
    out->n_bytes = t->bytes;
    out->version = at;
    es_tabledef_unref(t);
    if (st)
        es_table_info_reset(out);
    return record(s, st, &err);
}

es_status es_table_alter(es_store *s, const char *table, const es_alter *alter, int64_t *version)
{
    es_error err;
    es_status st = enter(s, !table || !alter || alter->version != ES_ALTER_VERSION,
                         "es_table_alter: NULL argument or unknown es_alter version", &err);
    if (!st)
        st = es_table_alter_impl(s, table, alter, version, &err);
    return record(s, st, &err);
}

void es_table_info_reset(es_table_info *info)
{
    if (!info)
        return;
    es_schema_release(&info->schema);
    es_free(info->primary_key);
    memset(info, 0, sizeof(*info));
}

es_status es_insert_batch(es_store *s, const char *table, const struct ArrowSchema *schema,
                          struct ArrowArray *batch)
{
    es_error err;
    es_status st = enter(s, !table || !schema || !batch || !batch->release,
                         "es_insert_batch: bad argument", &err);
    if (st) {
        if (batch)
            es_array_release(batch);
        return record(s, st, &err);
    }
    struct ArrowArray moved = *batch;
    batch->release = NULL;
    st = es_table_insert_impl(s, table, schema, &moved, 1, &err);
    return record(s, st, &err);
}

es_status es_insert(es_store *s, const char *table, struct ArrowArrayStream *stream)
{
    es_error err;
    es_status st = enter(s, !table || !stream || !stream->release, "es_insert: bad argument", &err);
    if (st) {
        if (stream)
            es_stream_release(stream);
        return record(s, st, &err);
    }
    st = es_table_insert_stream(s, table, stream, &err);
    return record(s, st, &err);
}

es_status es_scan_plan(es_store *s, const char *table, const es_scan_options *opts,
                       es_scan_plan_info *out)
{
    es_error err;
    es_status st = enter(s, !out, "es_scan_plan: NULL argument", &err);
    if (st && out)
        memset(out, 0, sizeof(*out));
    if (!st)
        st = es_scan_plan_impl(s, table, opts, out, &err);
    return record(s, st, &err);
}

es_status es_scan(es_store *s, const char *table, const es_scan_options *opts,
                  struct ArrowArrayStream *out)
{
    es_error err;
    es_status st = enter(s, !out, "es_scan: NULL argument", &err);
    if (st && out)
        memset(out, 0, sizeof(*out));
    if (!st)
        st = es_scan_impl(s, table, opts, out, &err);
    return record(s, st, &err);
}

/* ---------------------------------------------------------------- history */

/* The latest version for history: the log's, refreshed; a transaction's snapshot. */
static es_status latest_snapshot(es_store *s, es_error *err)
{
    return s->txn ? ES_OK : es_log_refresh(s->snap, s->os, err);
}

es_status es_history(es_store *s, const es_history_options *opts, struct ArrowArrayStream *out)
{
    es_history_options defaults = ES_HISTORY_OPTIONS_INIT;
    if (!opts)
        opts = &defaults;
    es_error err;
    es_status st = enter(s,
                         !out || opts->version != ES_HISTORY_OPTIONS_VERSION ||
                             (opts->max_version >= 0 && opts->max_version < opts->min_version),
                         "es_history: NULL argument, bad options version or empty range", &err);
    if (out)
        memset(out, 0, sizeof(*out));
    if (!st)
        st = latest_snapshot(s, &err);
    if (!st)
        st = es_history_read(out, s->os, s->snap, opts->table, opts->max_version, opts->min_version,
                             opts->limit, &err);
    return record(s, st, &err);
}

es_status es_version_at_time(es_store *s, int64_t time_ms, int64_t *version)
{
    es_error err;
    es_status st = enter(s, !version, "es_version_at_time: version is NULL", &err);
    if (!st)
        st = latest_snapshot(s, &err);
    if (!st)
        st = es_history_version_at(version, s->os, s->snap->version, time_ms, &err);
    return record(s, st, &err);
}

/* ------------------------------------------------------ deletes and updates */

/* Read every batch of a stream (consumed and released): *batches (es_free) of *n. */
static es_status read_stream(struct ArrowSchema *schema, struct ArrowArray **batches, int64_t *n,
                             struct ArrowArrayStream *stream, const char *what, const char *table,
                             es_error *err)
{
    int64_t cap = 0;
    es_status st = ES_OK;
    *batches = NULL;
    *n = 0;
    if (stream->get_schema(stream, schema) != 0) {
        const char *m = stream->get_last_error ? stream->get_last_error(stream) : NULL;
        st = es_error_set(err, ES_INVALID, 0, "%s '%s': stream schema: %s", what, table,
                          m ? m : "error");
    }
    while (!st) {
        if (*n == cap) {
            int64_t nc = cap ? cap * 2 : 16;
            struct ArrowArray *p = es_realloc(*batches, (size_t)nc * sizeof(*p));
            if (!p) {
                st = es_error_set(err, ES_NOMEM, 0, "out of memory");
                break;
            }
            *batches = p;
            cap = nc;
        }
        struct ArrowArray *a = &(*batches)[*n];
        memset(a, 0, sizeof(*a));
        if (stream->get_next(stream, a) != 0) {
            const char *m = stream->get_last_error ? stream->get_last_error(stream) : NULL;
            st = es_error_set(err, ES_INVALID, 0, "%s '%s': stream: %s", what, table,
                              m ? m : "error");
            break;
        }
        if (!a->release)
            break;
        (*n)++;
    }
    if (st) {
        for (int64_t i = 0; i < *n; i++)
            es_array_release(&(*batches)[i]);
        es_free(*batches);
        *batches = NULL;
        *n = 0;
        es_schema_release(schema);
    }
    es_stream_release(stream);
    return st;
}

es_status es_delete(es_store *s, const char *table, const es_expr *predicate, int64_t *deleted)
{
    es_error err;
    es_status st = enter(s, !table, "es_delete: table is NULL", &err);
    if (!st)
        st = es_delete_impl(s, table, predicate, deleted, &err);
    return record(s, st, &err);
}

es_status es_delete_keys(es_store *s, const char *table, struct ArrowArrayStream *keys,
                         int64_t *deleted)
{
    es_error err;
    es_status st =
        enter(s, !table || !keys || !keys->release, "es_delete_keys: bad argument", &err);
    if (st) {
        if (keys)
            es_stream_release(keys);
        return record(s, st, &err);
    }
    struct ArrowSchema schema = {0};
    struct ArrowArray *batches = NULL;
    int64_t n = 0;
    st = read_stream(&schema, &batches, &n, keys, "delete from", table, &err);
    if (!st)
        st = es_delete_keys_impl(s, table, &schema, batches, n, deleted, &err);
    es_free(batches);
    es_schema_release(&schema);
    return record(s, st, &err);
}

es_status es_update(es_store *s, const char *table, const es_expr *predicate, es_update_fn fn,
                    void *ctx, int64_t *updated)
{
    return es_update_cols(s, table, predicate, NULL, 0, fn, ctx, updated);
}

es_status es_update_cols(es_store *s, const char *table, const es_expr *predicate,
                         const char **columns, int64_t n_columns, es_update_fn fn, void *ctx,
                         int64_t *updated)
{
    es_error err;
    es_status st = enter(s, !table || !fn || n_columns < 0 || (n_columns > 0 && !columns),
                         "es_update: bad argument", &err);
    if (!st)
        st = es_update_impl(s, table, predicate, columns, n_columns, fn, ctx, updated, &err);
    return record(s, st, &err);
}

es_status es_upsert(es_store *s, const char *table, struct ArrowArrayStream *rows,
                    es_upsert_mode mode, int64_t *inserted, int64_t *updated)
{
    es_error err;
    es_status st = enter(s, !table || !rows || !rows->release, "es_upsert: bad argument", &err);
    if (st) {
        if (rows)
            es_stream_release(rows);
        return record(s, st, &err);
    }
    struct ArrowSchema schema = {0};
    struct ArrowArray *batches = NULL;
    int64_t n = 0;
    st = read_stream(&schema, &batches, &n, rows, "upsert into", table, &err);
    if (!st)
        st = es_upsert_impl(s, table, &schema, batches, n, mode, inserted, updated, &err);
    es_free(batches);
    es_schema_release(&schema);
    return record(s, st, &err);
}

/* ------------------------------------------------------------- maintenance */

es_status es_optimize(es_store *s, const char *table, es_optimize_info *info)
{
    es_error err;
    es_status st = enter(s, 0, NULL, &err);
    if (!st)
        st = es_compact_impl(s, table, 1, NULL, NULL, info, &err);
    return record(s, st, &err);
}

es_status es_vacuum(es_store *s, es_vacuum_info *info)
{
    es_error err;
    es_status st = enter(s, 0, NULL, &err);
    if (!st)
        st = es_vacuum_impl(s, info, &err);
    return record(s, st, &err);
}

es_status es_fsck(es_store *s, es_fsck_fn fn, void *ctx, es_fsck_info *info)
{
    es_error err;
    es_status st = enter(s, 0, NULL, &err);
    if (!st)
        st = es_fsck_impl(s, fn, ctx, info, &err);
    return record(s, st, &err);
}

/* ------------------------------------------------------------ transactions */

es_status es_txn_begin(es_store *s, const es_txn_options *opts)
{
    es_error err;
    es_status st = enter(s, 0, NULL, &err);
    if (!st)
        st = es_txn_begin_impl(s, opts, &err);
    return record(s, st, &err);
}

es_status es_txn_commit(es_store *s, int64_t *version)
{
    es_error err;
    es_status st = enter(s, 0, NULL, &err);
    if (!st)
        st = es_txn_commit_impl(s, version, &err);
    return record(s, st, &err);
}

es_status es_txn_abort(es_store *s)
{
    es_error err;
    es_status st = enter(s, s && !s->txn, "es_txn_abort: no transaction is open", &err);
    if (st)
        return record(s, st, &err);
    es_txn_free(s->txn);
    s->txn = NULL;
    return record(s, ES_OK, &err);
}

int es_txn_active(const es_store *s, es_isolation *isolation)
{
    if (!s || !s->txn)
        return 0;
    if (isolation)
        *isolation = es_txn_isolation(s->txn);
    return 1;
}
