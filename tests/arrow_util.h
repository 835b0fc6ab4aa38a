/*
 * arrow_util.h: what the Arrow layer's tests share (test_arrow, test_arrow_invalid,
 * test_arrow_json): canonical JSON and rows of a batch as strings, no-op release callbacks for
 * hand-made arrays, one-field schemas.
 */
#ifndef ES_TEST_ARROW_UTIL_H
#define ES_TEST_ARROW_UTIL_H

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/arrow.h"
#include "check.h"
#include "expstore/arrow.h"
#include "util/util.h"

#pragma GCC diagnostic ignored "-Wunused-function"

/* Capture what `fn` writes to a FILE as a heap string (tmpfile based). */
static char *slurp(FILE *f)
{
    long n = ftell(f);
    char *s = malloc((size_t)n + 1);
    rewind(f);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = 0;
    fclose(f);
    return s;
}

static char *json_of(const struct ArrowSchema *schema, const struct ArrowArray *batch,
                     es_status *st_out)
{
    FILE *f = tmpfile();
    es_error err = {0};
    es_status st = es_json_write_schema(f, schema, &err);
    if (!st && batch)
        st = es_json_write_rows(f, schema, batch, &err);
    if (st)
        fprintf(stderr, "json: %s\n", err.msg);
    if (st_out)
        *st_out = st;
    return slurp(f);
}

static char *rows_of(const struct ArrowSchema *schema, const struct ArrowArray *batch,
                     es_status *st_out, es_error *err)
{
    FILE *f = tmpfile();
    es_status st = es_json_write_rows(f, schema, batch, err);
    if (st_out)
        *st_out = st;
    return slurp(f);
}

/* A release callback for hand-made arrays that own nothing. */
static void noop_release_array(struct ArrowArray *a)
{
    a->release = NULL;
}

static void noop_release_schema(struct ArrowSchema *s)
{
    s->release = NULL;
}

/* A one-field record batch schema. */
static es_status one_field_schema(struct ArrowSchema *s, const char *format, const char *name)
{
    es_status st = es_schema_init_struct(s, 1, NULL);
    if (st)
        return st;
    st = es_schema_init(s->children[0], format, name, ARROW_FLAG_NULLABLE, NULL);
    if (st)
        es_schema_release(s);
    return st;
}

#endif /* ES_TEST_ARROW_UTIL_H */
