/*
 * small_util.h: helpers shared by test_small and test_small_crash (static functions in a
 * header, like delete_util.h, which it needs): the expected state of a small table (a model,
 * compared with the table's rows), a store with the given flush threshold, the table created,
 * a store on the fault wrapper.
 */
#ifndef ES_TEST_SMALL_UTIL_H
#define ES_TEST_SMALL_UTIL_H

#include "delete_util.h"

#pragma GCC diagnostic ignored "-Wunused-function"

/* The expected state of a small table: ids present (v = id % 1000, s = "r<id>"), with the
 * value of v overridden by updates. */
#define MAX_ID 4096
typedef struct model {
    int8_t present[MAX_ID];
    int32_t v[MAX_ID];
} model;

static char *model_state(const model *m)
{
    strlist l;
    memset(&l, 0, sizeof l);
    for (int64_t id = 0; id < MAX_ID; id++) {
        if (!m->present[id])
            continue;
        char row[96];
        snprintf(row, sizeof row, "%lld|%d|r%lld", (long long)id, m->v[id], (long long)id);
        sl_add(&l, row);
    }
    char *j = sl_join(&l);
    sl_free(&l);
    return j;
}

static void model_insert(model *m, int64_t id)
{
    m->present[id] = 1;
    m->v[id] = (int32_t)(id % 1000);
}

static int same_state(es_store *s, const char *table, int64_t at, const model *m)
{
    char *got = table_state(s, table, at), *want = model_state(m);
    int same = got && want && strcmp(got, want) == 0;
    if (!same)
        fprintf(stderr, "state at %lld differs:\n got: %.300s\nwant: %.300s\n", (long long)at,
                got ? got : "(error)", want ? want : "(null)");
    free(got);
    free(want);
    return same;
}

static es_store *open_opts(const char *uri, int64_t flush_rows)
{
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.flush_rows = flush_rows;
    o.flush_bytes = flush_rows ? 1 << 20 : 0;
    es_store *s = NULL;
    CHECK_OK(es_store_open(&s, uri, &o));
    return s;
}

/* Table `table` of the small schema (re)created, with primary key `key` (or none). */
static void create_small_key(es_store *s, const char *table, const char *key)
{
    struct ArrowSchema sc = small_schema();
    es_table_drop(s, table, 1);
    CHECK_OK(es_table_create(s, table, &sc, key, 0));
    sc.release(&sc);
}

static void create_small(es_store *s, const char *table)
{
    create_small_key(s, table, "id");
}

/* A store (options o, nullable) on a fault wrapper of mem://<name> (emptied first) with table
 * `table` (create_small_key), then the faults of cfg. The wrapper does not own inner. */
static es_store *fault_store(const char *name, const char *table, const char *key,
                             es_objstore **inner, es_objstore **fw, const es_open_options *o,
                             const es_fault_config *cfg)
{
    char uri[64];
    snprintf(uri, sizeof uri, "mem://%s", name);
    es_objstore_mem_drop(name);
    CHECK_OK(es_objstore_open(inner, uri, NULL));
    CHECK_OK(es_objstore_fault_wrap(fw, *inner, 0, NULL));
    es_store *s = NULL;
    CHECK_OK(es_store_open_objstore(&s, *fw, 0, o, NULL));
    create_small_key(s, table, key);
    CHECK_OK(es_objstore_fault_set(*fw, cfg));
    return s;
}

#endif
