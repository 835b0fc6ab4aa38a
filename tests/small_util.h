/*
 * small_util.h: helpers shared by test_small and test_small_crash (static functions in a
 * header, like delete_util.h, which it needs): the expected state of a small table (a model,
 * compared with the table's rows), a store with the given flush threshold, the table created.
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

static void create_small(es_store *s, const char *table)
{
    struct ArrowSchema sc = small_schema();
    es_table_drop(s, table, 1);
    CHECK_OK(es_table_create(s, table, &sc, "id", 0));
    sc.release(&sc);
}

#endif
