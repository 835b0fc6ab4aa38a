/*
 * test_arrow_invalid: the Arrow layer's validation of arrays it did not build (the C Data
 * Interface from a caller): every malformed array is rejected with ES_INVALID and a message
 * naming the column, never read out of bounds.
 */
#include "arrow_util.h"

/* ------------------------------------------------------- invalid arrays */

static es_status view_status(const struct ArrowSchema *s, const struct ArrowArray *a, es_error *err)
{
    es_array_view v;
    es_status st = es_array_view_init(&v, s, a, err);
    es_array_view_reset(&v);
    return st;
}

static void test_invalid_arrays(void)
{
    es_error err = {0};
    struct ArrowSchema su, si, sb, sn, sl, ss;
    CHECK_OK(es_schema_init(&su, "u", "s", ARROW_FLAG_NULLABLE, &err));
    CHECK_OK(es_schema_init(&sl, "U", "ls", ARROW_FLAG_NULLABLE, &err));
    CHECK_OK(es_schema_init(&si, "i", "n", ARROW_FLAG_NULLABLE, &err));
    CHECK_OK(es_schema_init(&sb, "b", "flag", ARROW_FLAG_NULLABLE, &err));
    CHECK_OK(es_schema_init(&sn, "n", "nothing", ARROW_FLAG_NULLABLE, &err));

    int32_t offs[5] = {0, 2, 5, 5, 9};
    int64_t offs64[5] = {0, 2, 5, 5, 9};
    const char *data = "abcdefghi";
    uint8_t valid = 0x0b; /* rows 0, 1, 3 valid; row 2 null */
    int32_t ints[4] = {1, 2, 3, 4};
    const void *ubufs[3] = {&valid, offs, data};
    struct ArrowArray a = {.length = 4,
                           .null_count = 1,
                           .n_buffers = 3,
                           .buffers = ubufs,
                           .release = noop_release_array};
    CHECK_OK(view_status(&su, &a, &err));
    es_array_view v;
    CHECK_OK(es_array_view_init(&v, &su, &a, &err));
    int64_t len;
    const uint8_t *p = es_view_get_bytes(&v, 3, &len);
    CHECK(len == 4 && memcmp(p, "fghi", 4) == 0);
    CHECK(es_view_is_null(&v, 2) && !es_view_is_null(&v, 3));
    es_array_view_reset(&v);

    /* Decreasing offsets. */
    int32_t bad_offs[5] = {0, 5, 2, 5, 9};
    ubufs[1] = bad_offs;
    CHECK_EQ_INT(view_status(&su, &a, &err), ES_INVALID);
    CHECK(strstr(err.msg, "'s'") && strstr(err.msg, "offsets decrease"));
    /* Negative first offset. */
    int32_t neg_offs[5] = {-1, 2, 5, 5, 9};
    ubufs[1] = neg_offs;
    CHECK_EQ_INT(view_status(&su, &a, &err), ES_INVALID);
    ubufs[1] = offs;
    /* Large offsets decrease too. */
    int64_t bad64[5] = {0, 2, 1, 5, 9};
    const void *lbufs[3] = {&valid, bad64, data};
    struct ArrowArray la = a;
    la.buffers = lbufs;
    CHECK_EQ_INT(view_status(&sl, &la, &err), ES_INVALID);
    lbufs[1] = offs64;
    CHECK_OK(view_status(&sl, &la, &err));
    /* Wrong buffer count. */
    a.n_buffers = 2;
    CHECK_EQ_INT(view_status(&su, &a, &err), ES_INVALID);
    CHECK(strstr(err.msg, "buffers") != NULL);
    a.n_buffers = 3;
    /* NULL buffers array. */
    a.buffers = NULL;
    CHECK_EQ_INT(view_status(&su, &a, &err), ES_INVALID);
    a.buffers = ubufs;
    /* NULL offsets with rows; NULL data with bytes. */
    ubufs[1] = NULL;
    CHECK_EQ_INT(view_status(&su, &a, &err), ES_INVALID);
    ubufs[1] = offs;
    ubufs[2] = NULL;
    CHECK_EQ_INT(view_status(&su, &a, &err), ES_INVALID);
    ubufs[2] = data;
    /* NULL data is fine when every value is empty. */
    int32_t zero_offs[5] = {3, 3, 3, 3, 3};
    ubufs[1] = zero_offs;
    ubufs[2] = NULL;
    CHECK_OK(view_status(&su, &a, &err));
    ubufs[1] = offs;
    ubufs[2] = data;
    /* null_count disagrees with the bitmap; validity missing with nulls. */
    a.null_count = 2;
    CHECK_EQ_INT(view_status(&su, &a, &err), ES_INVALID);
    a.null_count = -1; /* unknown: computed */
    CHECK_OK(es_array_view_init(&v, &su, &a, &err));
    CHECK_EQ_INT(v.null_count, 1);
    es_array_view_reset(&v);
    a.null_count = 5;
    CHECK_EQ_INT(view_status(&su, &a, &err), ES_INVALID);
    a.null_count = 1;
    ubufs[0] = NULL;
    CHECK_EQ_INT(view_status(&su, &a, &err), ES_INVALID);
    a.null_count = 0;
    CHECK_OK(view_status(&su, &a, &err)); /* no validity, no nulls */
    ubufs[0] = &valid;
    a.null_count = 1;
    /* Bad offset/length; released array; children on a leaf; dictionary. */
    a.offset = -1;
    CHECK_EQ_INT(view_status(&su, &a, &err), ES_INVALID);
    a.offset = 0;
    a.length = -3;
    CHECK_EQ_INT(view_status(&su, &a, &err), ES_INVALID);
    a.length = 4;
    a.offset = INT64_MAX - 2;
    CHECK_EQ_INT(view_status(&su, &a, &err), ES_INVALID);
    a.offset = 0;
    a.release = NULL;
    CHECK_EQ_INT(view_status(&su, &a, &err), ES_INVALID);
    a.release = noop_release_array;
    a.n_children = 1;
    CHECK_EQ_INT(view_status(&su, &a, &err), ES_INVALID);
    a.n_children = 0;
    struct ArrowArray dict = a;
    a.dictionary = &dict;
    CHECK_EQ_INT(view_status(&su, &a, &err), ES_UNSUPPORTED);
    a.dictionary = NULL;
    /* Sliced varlen: offset 1, length 2 checks only offsets[1..3]. */
    int32_t tail_bad[5] = {7, 2, 5, 5, 1};
    ubufs[1] = tail_bad;
    a.offset = 1;
    a.length = 2;
    a.null_count = -1;
    CHECK_OK(es_array_view_init(&v, &su, &a, &err));
    p = es_view_get_bytes(&v, 0, &len);
    CHECK(len == 3 && memcmp(p, "cde", 3) == 0);
    /* Offsets pointers are shifted to the view's first element; bitmaps keep the bit offset. */
    CHECK(v.offsets32 && v.offsets32[0] == 2 && v.offsets32[2] == 5 && !v.offsets64);
    CHECK_EQ_INT(v.offset, 1);
    CHECK(v.validity == &valid);
    CHECK(es_view_is_null(&v, 1));
    CHECK_EQ_INT(v.null_count, 1);
    es_array_view_reset(&v);
    a.length = 3;
    CHECK_EQ_INT(view_status(&su, &a, &err), ES_INVALID);

    /* Fixed width: NULL values with rows, fine when empty. */
    const void *ibufs[2] = {NULL, NULL};
    struct ArrowArray ia = {
        .length = 4, .n_buffers = 2, .buffers = ibufs, .release = noop_release_array};
    CHECK_EQ_INT(view_status(&si, &ia, &err), ES_INVALID);
    ia.length = 0;
    CHECK_OK(view_status(&si, &ia, &err));
    ia.length = 4;
    ibufs[1] = ints;
    CHECK_OK(view_status(&si, &ia, &err));
    ia.n_buffers = 3;
    CHECK_EQ_INT(view_status(&si, &ia, &err), ES_INVALID);
    ia.n_buffers = 2;
    /* Bool with a NULL bitmap buffer. */
    CHECK_EQ_INT(view_status(&sb, &ia, &err), ES_OK); /* ints act as bits */
    ibufs[1] = NULL;
    CHECK_EQ_INT(view_status(&sb, &ia, &err), ES_INVALID);
    ibufs[1] = ints;
    /* Null type: 0 buffers. */
    struct ArrowArray na = {.length = 3, .null_count = 3, .release = noop_release_array};
    CHECK_OK(view_status(&sn, &na, &err));
    na.n_buffers = 1;
    CHECK_EQ_INT(view_status(&sn, &na, &err), ES_INVALID);

    /* Structs: child count, child length, buffer count. */
    CHECK_OK(es_schema_init_struct(&ss, 2, &err));
    CHECK_OK(es_schema_init(ss.children[0], "i", "n", ARROW_FLAG_NULLABLE, &err));
    CHECK_OK(es_schema_init(ss.children[1], "u", "s", ARROW_FLAG_NULLABLE, &err));
    a.offset = 0;
    a.length = 4;
    a.null_count = 1;
    ubufs[1] = offs;
    struct ArrowArray *kids[2] = {&ia, &a};
    const void *sbufs[1] = {NULL};
    struct ArrowArray sa = {.length = 4,
                            .n_buffers = 1,
                            .n_children = 2,
                            .buffers = sbufs,
                            .children = kids,
                            .release = noop_release_array};
    CHECK_OK(view_status(&ss, &sa, &err));
    char *j = rows_of(&ss, &sa, NULL, &err);
    CHECK_EQ_STR(j, "{\"n\":1,\"s\":\"ab\"}\n{\"n\":2,\"s\":\"cde\"}\n{\"n\":3,\"s\":null}\n"
                    "{\"n\":4,\"s\":\"fghi\"}\n");
    free(j);
    sa.offset = 1;
    CHECK_EQ_INT(view_status(&ss, &sa, &err), ES_INVALID); /* children too short */
    CHECK(strstr(err.msg, "shorter") != NULL);
    sa.length = 3;
    CHECK_OK(view_status(&ss, &sa, &err));
    sa.offset = 0;
    sa.length = 4;
    sa.n_children = 1;
    CHECK_EQ_INT(view_status(&ss, &sa, &err), ES_INVALID);
    sa.n_children = 2;
    sa.n_buffers = 0;
    CHECK_EQ_INT(view_status(&ss, &sa, &err), ES_INVALID);
    sa.n_buffers = 1;
    kids[1] = NULL;
    CHECK_EQ_INT(view_status(&ss, &sa, &err), ES_INVALID);
    kids[1] = &a;
    ubufs[1] = bad_offs;
    CHECK_EQ_INT(view_status(&ss, &sa, &err), ES_INVALID);
    ubufs[1] = offs;
    /* The JSON writer rejects invalid batches with the view's message. */
    ubufs[1] = bad_offs;
    es_status st;
    j = rows_of(&ss, &sa, &st, &err);
    CHECK_EQ_INT(st, ES_INVALID);
    free(j);
    ubufs[1] = offs;

    /* Short buffers: the sizes an IPC decoder must check, per buffer. */
    es_type t;
    es_type_parse(&t, "u", NULL);
    CHECK_EQ_INT(es_arrow_buffer_need(&t, 0, 0, 4, NULL), 1);
    CHECK_EQ_INT(es_arrow_buffer_need(&t, 1, 0, 4, NULL), 20);
    CHECK_EQ_INT(es_arrow_buffer_need(&t, 2, 0, 4, offs), 9);
    CHECK_EQ_INT(es_arrow_buffer_need(&t, 1, 0, 0, NULL), 0);
    es_type_parse(&t, "d:5,1", NULL);
    CHECK_EQ_INT(es_arrow_buffer_need(&t, 1, 2, 3, NULL), 80);
    es_type_parse(&t, "b", NULL);
    CHECK_EQ_INT(es_arrow_buffer_need(&t, 1, 3, 6, NULL), 2);
    CHECK_EQ_INT(es_arrow_buffer_need(&t, 1, INT64_MAX, 6, NULL), -1);

    es_schema_release(&su);
    es_schema_release(&sl);
    es_schema_release(&si);
    es_schema_release(&sb);
    es_schema_release(&sn);
    es_schema_release(&ss);
}

int main(void)
{
    test_invalid_arrays();
    return CHECK_DONE();
}
