/*
 * test_arrow: the in-memory Arrow layer. Types and format strings, schemas and metadata,
 * builders and validated views for every supported type (nulls, empty arrays, slices), streams
 * over batches, and the allocation-failure loop. test_arrow_invalid has the rejection of
 * malformed arrays, test_arrow_json the canonical JSON and the parity with apache-arrow.
 */
#include "arrow_util.h"

/* ------------------------------------------------------------------- types */

static void test_types(void)
{
    static const char *const ok[][2] = {
        {"n", "null"},
        {"b", "bool"},
        {"c", "int8"},
        {"C", "uint8"},
        {"s", "int16"},
        {"S", "uint16"},
        {"i", "int32"},
        {"I", "uint32"},
        {"l", "int64"},
        {"L", "uint64"},
        {"f", "float32"},
        {"g", "float64"},
        {"u", "utf8"},
        {"U", "large_utf8"},
        {"z", "binary"},
        {"Z", "large_binary"},
        {"w:4", "fixed_size_binary(4)"},
        {"tdD", "date32"},
        {"tdm", "date64"},
        {"tts", "time32[s]"},
        {"ttm", "time32[ms]"},
        {"ttu", "time64[us]"},
        {"ttn", "time64[ns]"},
        {"tss:", "timestamp[s]"},
        {"tsm:UTC", "timestamp[ms, UTC]"},
        {"tsu:Europe/Paris", "timestamp[us, Europe/Paris]"},
        {"tsn:", "timestamp[ns]"},
        {"tDs", "duration[s]"},
        {"tDm", "duration[ms]"},
        {"tDu", "duration[us]"},
        {"tDn", "duration[ns]"},
        {"d:10,2", "decimal128(10, 2)"},
        {"d:38,-3", "decimal128(38, -3)"},
        {"+s", "struct"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        es_type t;
        es_error err = {0};
        char buf[128], name[128];
        CHECK_OK(es_type_parse(&t, ok[i][0], &err));
        CHECK_OK(es_type_format(buf, sizeof buf, &t, &err));
        CHECK_EQ_STR(buf, ok[i][0]);
        es_type_name(name, sizeof name, &t);
        CHECK_EQ_STR(name, ok[i][1]);
    }
    es_type t;
    es_error err = {0};
    CHECK_OK(es_type_parse(&t, "d:10,2,128", &err));
    CHECK_EQ_INT(t.precision, 10);
    CHECK_EQ_INT(t.scale, 2);
    CHECK_EQ_INT(t.byte_width, 16);
    CHECK_OK(es_type_parse(&t, "w:16", &err));
    CHECK_EQ_INT(t.byte_width, 16);
    CHECK_OK(es_type_parse(&t, "tsu:UTC", &err));
    CHECK_EQ_INT(t.unit, ES_MICRO);
    CHECK_EQ_STR(t.tz, "UTC");
    CHECK(es_type_is_varlen(ES_TYPE_UTF8) && es_type_is_varlen(ES_TYPE_LARGE_BINARY));
    CHECK(!es_type_is_varlen(ES_TYPE_FIXED_BINARY) && !es_type_is_varlen(ES_TYPE_INT32));

    static const char *const unsup[] = {"+m",         "+l", "+L", "+w:3", "+ud:0,1", "+us:0",
                                        "e",          "vu", "vz", "tiM",  "tiD",     "tin",
                                        "d:40,2,256", "x",  "+r", "tdX",  "ttx",     "tDx"};
    for (size_t i = 0; i < sizeof unsup / sizeof unsup[0]; i++) {
        CHECK_EQ_INT(es_type_parse(&t, unsup[i], &err), ES_UNSUPPORTED);
        CHECK(strstr(err.msg, unsup[i]) != NULL);
    }
    static const char *const bad[] = {"w:",    "w:0",   "w:-1",   "w:x",   "d:",     "d:10",
                                      "d:10,", "d:0,0", "d:39,2", "d:5,6", "d:10,2,"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ_INT(es_type_parse(&t, bad[i], &err), ES_INVALID);
    char small[2];
    CHECK_OK(es_type_parse(&t, "tsm:UTC", &err));
    CHECK_EQ_INT(es_type_format(small, sizeof small, &t, &err), ES_INVALID);
}

/* ----------------------------------------------------------------- schemas */

static void test_schemas(void)
{
    struct ArrowSchema s, c;
    es_error err = {0};
    CHECK_OK(es_schema_init_struct(&s, 2, &err));
    CHECK_EQ_STR(s.format, "+s");
    CHECK(s.children[0]->release == NULL);
    CHECK_OK(es_schema_init(s.children[0], "i", "a", ARROW_FLAG_NULLABLE, &err));
    CHECK_OK(es_schema_init(s.children[1], "u", "b", 0, &err));
    const char *k[] = {"k1", "empty", "k3"};
    const char *v[] = {"v1", "", "value \"three\""};
    CHECK_OK(es_schema_set_metadata(&s, 3, k, v, &err));
    CHECK_OK(es_schema_set_metadata(s.children[1], 1, k, v, &err));
    CHECK_EQ_INT(es_metadata_count(s.metadata), 3);
    CHECK_EQ_INT(es_metadata_count(NULL), 0);
    int32_t len = -1;
    const char *p = es_metadata_get(s.metadata, "k3", &len);
    CHECK(p && len == 13 && memcmp(p, "value \"three\"", 13) == 0);
    p = es_metadata_get(s.metadata, "empty", &len);
    CHECK(p && len == 0);
    CHECK(es_metadata_get(s.metadata, "nope", &len) == NULL);
    CHECK(es_metadata_get(NULL, "k1", &len) == NULL);
    const char *kk, *vv;
    int32_t kl, vl;
    es_metadata_at(s.metadata, 1, &kk, &kl, &vv, &vl);
    CHECK(kl == 5 && memcmp(kk, "empty", 5) == 0 && vl == 0);

    CHECK_OK(es_schema_copy(&c, &s, &err));
    CHECK(c.release != NULL);
    CHECK_EQ_INT(c.n_children, 2);
    CHECK_EQ_STR(c.children[0]->name, "a");
    CHECK_EQ_STR(c.children[1]->format, "u");
    CHECK_EQ_INT(c.children[0]->flags, ARROW_FLAG_NULLABLE);
    CHECK_EQ_INT(c.children[1]->flags, 0);
    CHECK(c.metadata != s.metadata);
    p = es_metadata_get(c.metadata, "k1", &len);
    CHECK(p && len == 2 && memcmp(p, "v1", 2) == 0);
    p = es_metadata_get(c.children[1]->metadata, "k1", &len);
    CHECK(p && len == 2);

    /* Replacing and clearing metadata. */
    CHECK_OK(es_schema_set_metadata(&c, 0, NULL, NULL, &err));
    CHECK(c.metadata == NULL);

    /* Schema JSON with metadata. */
    char *j = json_of(&s, NULL, NULL);
    CHECK_EQ_STR(j, "{\"fields\":[{\"name\":\"a\",\"type\":\"int32\",\"nullable\":true,"
                    "\"metadata\":{}},{\"name\":\"b\",\"type\":\"utf8\",\"nullable\":false,"
                    "\"metadata\":{\"k1\":\"v1\"}}],\"metadata\":{\"k1\":\"v1\",\"empty\":\"\","
                    "\"k3\":\"value \\\"three\\\"\"}}\n");
    free(j);

    /* A consumer moves a child out; the parent release must not touch it. */
    struct ArrowSchema moved = *c.children[0];
    c.children[0]->release = NULL;
    es_schema_release(&c);
    CHECK(c.release == NULL);
    CHECK_EQ_STR(moved.name, "a");
    es_schema_release(&moved);
    CHECK(moved.release == NULL);
    es_schema_release(&moved); /* idempotent on released */

    /* Metadata only on our own schemas. */
    struct ArrowSchema foreign = s;
    foreign.release = noop_release_schema;
    CHECK_EQ_INT(es_schema_set_metadata(&foreign, 1, k, v, &err), ES_INVALID);
    es_schema_release(&s);
    CHECK(s.release == NULL);

    /* Copying an unsupported-type schema is fine (copy is type-agnostic). */
    CHECK_OK(es_schema_init(&s, "+m", "map", 0, &err));
    CHECK_OK(es_schema_copy(&c, &s, &err));
    es_schema_release(&s);
    es_schema_release(&c);
}

/* ---------------------------------------------------------------- builders */

/* Every supported leaf type, one column each. */
static const char *const all_formats[] = {
    "n",   "b",   "c",   "C",   "s",      "S",    "i",       "I",    "l",
    "L",   "f",   "g",   "u",   "U",      "z",    "Z",       "w:3",  "tdD",
    "tdm", "tts", "ttm", "ttu", "ttn",    "tss:", "tsm:UTC", "tsu:", "tsn:Asia/Tokyo",
    "tDs", "tDm", "tDu", "tDn", "d:10,2",
};
#define N_FORMATS ((int64_t)(sizeof all_formats / sizeof all_formats[0]))
#define N_ROWS 7

static es_status make_all_schema(struct ArrowSchema *s)
{
    es_status st = es_schema_init_struct(s, N_FORMATS, NULL);
    if (st)
        return st;
    for (int64_t i = 0; i < N_FORMATS; i++) {
        char name[16];
        snprintf(name, sizeof name, "c%02d", (int)i);
        st = es_schema_init(s->children[i], all_formats[i], name, ARROW_FLAG_NULLABLE, NULL);
        if (st) {
            es_schema_release(s);
            return st;
        }
    }
    return ES_OK;
}

/* Row r of column with format f: null when (r + col) % 3 == 0, except column 0 (null type). */
static int is_null_cell(int64_t col, int64_t r)
{
    return (r + col) % 3 == 0;
}

static int64_t int_value(const es_type *t, int64_t r)
{
    int64_t base = (r % 2 ? -1 : 1) * (r * 17 + 5);
    switch (t->id) {
    case ES_TYPE_BOOL:
        return r % 2;
    case ES_TYPE_UINT8:
    case ES_TYPE_UINT16:
    case ES_TYPE_UINT32:
    case ES_TYPE_UINT64:
        return r * 17 + 5;
    case ES_TYPE_INT64:
    case ES_TYPE_TIMESTAMP:
    case ES_TYPE_DURATION:
    case ES_TYPE_TIME64:
    case ES_TYPE_DATE64:
        return base * 1000000007LL;
    default:
        return base;
    }
}

static es_status append_cell(es_builder *b, const es_type *t, int64_t col, int64_t r)
{
    if (t->id == ES_TYPE_NA || is_null_cell(col, r))
        return es_builder_append_null(b, 1);
    char str[32];
    switch (t->id) {
    case ES_TYPE_FLOAT32:
    case ES_TYPE_FLOAT64:
        return es_builder_append_double(b, (double)r * 0.25 - 1.0);
    case ES_TYPE_UTF8:
    case ES_TYPE_LARGE_UTF8:
    case ES_TYPE_BINARY:
    case ES_TYPE_LARGE_BINARY:
        snprintf(str, sizeof str, "v%" PRId64 "%.*s", r, (int)r, "xxxxxxxxxx");
        return es_builder_append_bytes(b, str, (int64_t)strlen(str));
    case ES_TYPE_FIXED_BINARY:
        snprintf(str, sizeof str, "%03d", (int)r);
        return es_builder_append_bytes(b, str, 3);
    case ES_TYPE_UINT64:
        return es_builder_append_uint(b, (uint64_t)int_value(t, r));
    default:
        return es_builder_append_int(b, int_value(t, r));
    }
}

static es_status build_all(const struct ArrowSchema *s, struct ArrowArray *out, es_error *err)
{
    es_builder *b;
    memset(out, 0, sizeof *out);
    es_status st = es_builder_new(&b, s, err);
    if (st)
        return st;
    for (int64_t r = 0; r < N_ROWS && !st; r++) {
        for (int64_t c = 0; c < N_FORMATS && !st; c++) {
            es_type t;
            es_type_parse(&t, s->children[c]->format, NULL);
            st = append_cell(es_builder_child(b, c), &t, c, r);
        }
        if (!st)
            st = es_builder_append_struct(b);
    }
    if (!st)
        st = es_builder_finish(b, out, err);
    es_builder_free(b);
    return st;
}

/* Check view v (rows [first, first + v->length) of the built data) cell by cell. */
static void check_column(const es_array_view *v, int64_t col, int64_t first)
{
    for (int64_t i = 0; i < v->length; i++) {
        int64_t r = first + i;
        const es_type *t = &v->type;
        if (t->id == ES_TYPE_NA || is_null_cell(col, r)) {
            CHECK(es_view_is_null(v, i));
            continue;
        }
        CHECK(!es_view_is_null(v, i));
        char str[32];
        int64_t len;
        const uint8_t *p;
        switch (t->id) {
        case ES_TYPE_FLOAT32:
        case ES_TYPE_FLOAT64:
            CHECK(es_view_get_double(v, i) == (double)r * 0.25 - 1.0);
            break;
        case ES_TYPE_UTF8:
        case ES_TYPE_LARGE_UTF8:
        case ES_TYPE_BINARY:
        case ES_TYPE_LARGE_BINARY:
            snprintf(str, sizeof str, "v%" PRId64 "%.*s", r, (int)r, "xxxxxxxxxx");
            p = es_view_get_bytes(v, i, &len);
            CHECK(len == (int64_t)strlen(str) && memcmp(p, str, (size_t)len) == 0);
            break;
        case ES_TYPE_FIXED_BINARY:
            snprintf(str, sizeof str, "%03d", (int)r);
            p = es_view_get_bytes(v, i, &len);
            CHECK(len == 3 && memcmp(p, str, 3) == 0);
            break;
        case ES_TYPE_UINT64:
            CHECK(es_view_get_uint(v, i) == (uint64_t)int_value(t, r));
            break;
        case ES_TYPE_DECIMAL128:
            CHECK_EQ_INT(es_view_get_int(v, i), int_value(t, r));
            p = es_view_get_bytes(v, i, &len);
            CHECK(len == 16 && p[15] == (int_value(t, r) < 0 ? 0xff : 0));
            CHECK(fabs(es_view_get_double(v, i) - (double)int_value(t, r) / 100.0) < 1e-9);
            break;
        default:
            CHECK_EQ_INT(es_view_get_int(v, i), int_value(t, r));
            break;
        }
    }
}

static void test_builders_all_types(void)
{
    struct ArrowSchema s;
    struct ArrowArray a;
    es_error err = {0};
    CHECK_OK(make_all_schema(&s));
    CHECK_OK(build_all(&s, &a, &err));
    CHECK_EQ_INT(a.length, N_ROWS);
    CHECK_EQ_INT(a.n_children, N_FORMATS);
    CHECK_EQ_INT(a.n_buffers, 1);
    CHECK(a.buffers[0] == NULL);
    CHECK_EQ_INT(a.null_count, 0);
    for (int64_t c = 0; c < N_FORMATS; c++) {
        struct ArrowArray *ch = a.children[c];
        es_type t;
        es_type_parse(&t, all_formats[c], NULL);
        CHECK_EQ_INT(ch->length, N_ROWS);
        CHECK_EQ_INT(ch->n_buffers, es_arrow_n_buffers(&t));
        int64_t nulls = 0;
        for (int64_t r = 0; r < N_ROWS; r++)
            nulls += (t.id == ES_TYPE_NA || is_null_cell(c, r));
        CHECK_EQ_INT(ch->null_count, nulls);
        for (int64_t bi = 0; bi < ch->n_buffers; bi++)
            CHECK(((uintptr_t)ch->buffers[bi] & 63) == 0);
        if (t.id != ES_TYPE_NA)
            CHECK(ch->buffers[0] != NULL);
        if (t.id == ES_TYPE_BOOL) {
            /* Bit-packed: rows 1, 3, 5 true (row 3's validity depends on the column). */
            const uint8_t *bits = ch->buffers[1];
            CHECK_EQ_INT(bits[0], 0x0a); /* rows 1 and 3; row 5 is null */
        }
        if (t.id == ES_TYPE_INT32) {
            const int32_t *vals = ch->buffers[1];
            CHECK_EQ_INT(vals[1], int_value(&t, 1));
        }
    }
    es_array_view v;
    CHECK_OK(es_array_view_init(&v, &s, &a, &err));
    CHECK_EQ_INT(v.n_children, N_FORMATS);
    CHECK_EQ_INT(v.length, N_ROWS);
    for (int64_t c = 0; c < N_FORMATS; c++)
        check_column(&v.children[c], c, 0);
    es_array_view_reset(&v);

    /* Each child validates on its own too. */
    for (int64_t c = 0; c < N_FORMATS; c++) {
        CHECK_OK(es_array_view_init(&v, s.children[c], a.children[c], &err));
        check_column(&v, c, 0);
        es_array_view_reset(&v);
    }

    /* Slice the record batch: rows [2, 6). */
    struct ArrowArray sl = a;
    sl.offset = 2;
    sl.length = 4;
    sl.release = noop_release_array;
    CHECK_OK(es_array_view_init(&v, &s, &sl, &err));
    for (int64_t c = 0; c < N_FORMATS; c++) {
        CHECK_EQ_INT(v.children[c].length, 4);
        check_column(&v.children[c], c, 2);
    }
    es_array_view_reset(&v);

    /* Slice each child instead (child offsets 3, parent offset 1). */
    struct ArrowArray kids[N_FORMATS], *kidp[N_FORMATS];
    for (int64_t c = 0; c < N_FORMATS; c++) {
        kids[c] = *a.children[c];
        kids[c].offset = 3;
        kids[c].length = 4;
        kids[c].null_count = -1;
        kids[c].release = noop_release_array;
        kidp[c] = &kids[c];
    }
    struct ArrowArray sl2 = a;
    sl2.children = kidp;
    sl2.offset = 1;
    sl2.length = 3;
    sl2.release = noop_release_array;
    CHECK_OK(es_array_view_init(&v, &s, &sl2, &err));
    for (int64_t c = 0; c < N_FORMATS; c++)
        check_column(&v.children[c], c, 4);
    /* Column 6 (int32) row 4 is valid: the values pointer starts at the view's row 0. */
    CHECK_EQ_INT(((const int32_t *)v.children[6].values)[0], int_value(&v.children[6].type, 4));
    CHECK_EQ_INT(v.children[6].offset, 4);
    es_array_view_reset(&v);

    /* JSON of the slices equals the matching lines of the full JSON. */
    char *full = json_of(&s, &a, NULL);
    char *part = json_of(&s, &sl, NULL);
    char *part2 = json_of(&s, &sl2, NULL);
    const char *lines[N_ROWS + 2];
    int nl = 0;
    for (const char *q = full; *q && nl < N_ROWS + 2; q = strchr(q, '\n') + 1)
        lines[nl++] = q;
    lines[nl] = full + strlen(full);
    CHECK_EQ_INT(nl, N_ROWS + 1);
    size_t schema_len = (size_t)(lines[1] - lines[0]);
    CHECK(strncmp(part, full, schema_len) == 0);
    CHECK(strncmp(part + schema_len, lines[3], (size_t)(lines[7] - lines[3])) == 0);
    CHECK_EQ_INT(strlen(part), schema_len + (size_t)(lines[7] - lines[3]));
    CHECK(strncmp(part2 + schema_len, lines[5], (size_t)(lines[8] - lines[5])) == 0);
    CHECK_EQ_INT(strlen(part2), schema_len + (size_t)(lines[8] - lines[5]));
    free(full);
    free(part);
    free(part2);

    /* Consumer moves a column out, releases the batch, then the column. */
    struct ArrowArray col = *a.children[12];
    a.children[12]->release = NULL;
    es_array_release(&a);
    CHECK(a.release == NULL);
    CHECK_OK(es_array_view_init(&v, s.children[12], &col, &err));
    check_column(&v, 12, 0);
    es_array_view_reset(&v);
    es_array_release(&col);
    CHECK(col.release == NULL);
    es_schema_release(&s);
}

static void test_builder_edges(void)
{
    struct ArrowSchema s;
    struct ArrowArray a;
    es_array_view v;
    es_error err = {0};
    es_builder *b;

    /* Empty arrays of every type: buffers present (except null), view fine, no rows. */
    CHECK_OK(make_all_schema(&s));
    CHECK_OK(es_builder_new(&b, &s, &err));
    CHECK_EQ_INT(es_builder_length(b), 0);
    CHECK_OK(es_builder_finish(b, &a, &err));
    CHECK_EQ_INT(a.length, 0);
    for (int64_t c = 0; c < N_FORMATS; c++) {
        CHECK_EQ_INT(a.children[c]->length, 0);
        CHECK_EQ_INT(a.children[c]->null_count, 0);
        for (int64_t bi = 1; bi < a.children[c]->n_buffers; bi++)
            CHECK(a.children[c]->buffers[bi] != NULL);
    }
    CHECK_OK(es_array_view_init(&v, &s, &a, &err));
    es_array_view_reset(&v);
    char *j = rows_of(&s, &a, NULL, &err);
    CHECK_EQ_STR(j, "");
    free(j);
    es_array_release(&a);

    /* The builder is reusable after finish. */
    CHECK_OK(es_builder_append_int(es_builder_child(b, 6), 42));
    CHECK_EQ_INT(es_builder_length(es_builder_child(b, 6)), 1);
    es_builder_free(b);
    es_schema_release(&s);

    /* Range checks and type mismatches. */
    struct {
        const char *fmt;
        int64_t bad_int;
    } ranges[] = {{"c", 128},       {"c", -129},  {"C", 256},         {"C", -1},
                  {"s", 40000},     {"S", 70000}, {"i", 1LL << 31},   {"I", -1},
                  {"I", 1LL << 32}, {"b", 2},     {"tdD", 1LL << 40}, {"d:3,0", 1000},
                  {"d:3,0", -1000}};
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        CHECK_OK(es_schema_init(&s, ranges[i].fmt, "x", ARROW_FLAG_NULLABLE, &err));
        CHECK_OK(es_builder_new(&b, &s, &err));
        CHECK_EQ_INT(es_builder_append_int(b, ranges[i].bad_int), ES_INVALID);
        CHECK_EQ_INT(es_builder_length(b), 0);
        es_builder_free(b);
        es_schema_release(&s);
    }
    CHECK_OK(es_schema_init(&s, "i", "x", 0, &err));
    CHECK_OK(es_builder_new(&b, &s, &err));
    CHECK_EQ_INT(es_builder_append_bytes(b, "ab", 2), ES_INVALID);
    CHECK_EQ_INT(es_builder_append_double(b, 1.5), ES_INVALID);
    CHECK_EQ_INT(es_builder_append_struct(b), ES_INVALID);
    CHECK_EQ_INT(es_builder_append_uint(b, UINT64_MAX), ES_INVALID);
    CHECK_OK(es_builder_append_uint(b, 7));
    CHECK_OK(es_builder_reserve(b, 1000));
    CHECK_EQ_INT(es_builder_length(b), 1);
    es_builder_free(b);
    es_schema_release(&s);
    CHECK_OK(es_schema_init(&s, "w:4", "x", 0, &err));
    CHECK_OK(es_builder_new(&b, &s, &err));
    CHECK_EQ_INT(es_builder_append_bytes(b, "abc", 3), ES_INVALID);
    CHECK_OK(es_builder_append_bytes(b, "abcd", 4));
    es_builder_free(b);
    es_schema_release(&s);
    CHECK_OK(es_schema_init(&s, "L", "x", 0, &err));
    CHECK_OK(es_builder_new(&b, &s, &err));
    CHECK_OK(es_builder_append_uint(b, UINT64_MAX));
    CHECK_EQ_INT(es_builder_append_int(b, -1), ES_INVALID);
    CHECK_OK(es_builder_finish(b, &a, &err));
    CHECK_OK(es_array_view_init(&v, &s, &a, &err));
    CHECK(es_view_get_uint(&v, 0) == UINT64_MAX);
    CHECK(v.validity == NULL && v.null_count == 0);
    es_array_view_reset(&v);
    es_array_release(&a);
    es_builder_free(b);
    es_schema_release(&s);

    /* Decimal from unsigned: precision bounds, exact JSON of the unscaled value. */
    CHECK_OK(one_field_schema(&s, "d:19,0", "x"));
    CHECK_OK(es_builder_new(&b, &s, &err));
    CHECK_OK(es_builder_append_uint(es_builder_child(b, 0), 9999999999999999999ull));
    CHECK_EQ_INT(es_builder_append_uint(es_builder_child(b, 0), 10000000000000000000ull),
                 ES_INVALID);
    CHECK_OK(es_builder_finish(b, &a, &err));
    j = rows_of(&s, &a, NULL, &err);
    CHECK_EQ_STR(j, "{\"x\":\"9999999999999999999\"}\n");
    free(j);
    es_array_release(&a);
    es_builder_free(b);
    es_schema_release(&s);

    /* Unsupported types name the format and the field. */
    CHECK_OK(es_schema_init_struct(&s, 2, &err));
    CHECK_OK(es_schema_init(s.children[0], "i", "ok", 0, &err));
    CHECK_OK(es_schema_init(s.children[1], "+m", "amap", 0, &err));
    CHECK_EQ_INT(es_builder_new(&b, &s, &err), ES_UNSUPPORTED);
    CHECK(b == NULL);
    CHECK(strstr(err.msg, "+m") && strstr(err.msg, "amap"));
    FILE *f = tmpfile();
    CHECK_EQ_INT(es_json_write_schema(f, &s, &err), ES_UNSUPPORTED);
    CHECK(strstr(err.msg, "+m") && strstr(err.msg, "amap"));
    fclose(f);
    es_schema_release(&s);
    CHECK_OK(es_schema_init_struct(&s, 1, &err));
    CHECK_OK(es_schema_init(s.children[0], "+s", "inner", 0, &err));
    CHECK_EQ_INT(es_builder_new(&b, &s, &err), ES_UNSUPPORTED);
    CHECK(strstr(err.msg, "inner") != NULL);
    es_schema_release(&s);

    /* Struct builder: null rows, explicit rows, children-only rows, mismatched children. */
    CHECK_OK(es_schema_init_struct(&s, 2, &err));
    CHECK_OK(es_schema_init(s.children[0], "i", "a", ARROW_FLAG_NULLABLE, &err));
    CHECK_OK(es_schema_init(s.children[1], "u", "b", ARROW_FLAG_NULLABLE, &err));
    CHECK_OK(es_builder_new(&b, &s, &err));
    CHECK(es_builder_child(b, 2) == NULL && es_builder_child(b, -1) == NULL);
    CHECK_EQ_INT(es_builder_append_struct(b), ES_INVALID); /* children have no value yet */
    CHECK_OK(es_builder_append_int(es_builder_child(b, 0), 1));
    CHECK_OK(es_builder_append_bytes(es_builder_child(b, 1), "x", 1));
    CHECK_OK(es_builder_append_struct(b));
    CHECK_OK(es_builder_append_null(b, 2));
    CHECK_OK(es_builder_append_int(es_builder_child(b, 0), 4));
    CHECK_OK(es_builder_append_bytes(es_builder_child(b, 1), "", 0));
    CHECK_EQ_INT(es_builder_length(b), 4);
    CHECK_OK(es_builder_finish(b, &a, &err));
    CHECK_EQ_INT(a.length, 4);
    CHECK_EQ_INT(a.null_count, 2);
    CHECK_EQ_INT(a.children[0]->null_count, 2);
    j = rows_of(&s, &a, NULL, &err);
    CHECK_EQ_STR(j, "{\"a\":1,\"b\":\"x\"}\n{\"a\":null,\"b\":null}\n{\"a\":null,\"b\":null}\n"
                    "{\"a\":4,\"b\":\"\"}\n");
    free(j);
    es_array_release(&a);
    CHECK_OK(es_builder_append_int(es_builder_child(b, 0), 1));
    CHECK_EQ_INT(es_builder_finish(b, &a, &err), ES_INVALID);
    CHECK(a.release == NULL);
    /* Children first, then a null struct row: the null row comes after the children's row. */
    CHECK_OK(es_builder_append_bytes(es_builder_child(b, 1), "y", 1));
    CHECK_OK(es_builder_append_null(b, 1));
    CHECK_OK(es_builder_append_int(es_builder_child(b, 0), 3));
    CHECK_OK(es_builder_append_bytes(es_builder_child(b, 1), "z", 1));
    CHECK_OK(es_builder_append_struct(b));
    CHECK_OK(es_builder_finish(b, &a, &err));
    j = rows_of(&s, &a, NULL, &err);
    CHECK_EQ_STR(j, "{\"a\":1,\"b\":\"y\"}\n{\"a\":null,\"b\":null}\n{\"a\":3,\"b\":\"z\"}\n");
    free(j);
    es_array_release(&a);
    es_builder_free(b);
    es_schema_release(&s);

    /* A struct with no fields. */
    CHECK_OK(es_schema_init_struct(&s, 0, &err));
    CHECK_OK(es_builder_new(&b, &s, &err));
    CHECK_OK(es_builder_append_struct(b));
    CHECK_OK(es_builder_append_struct(b));
    CHECK_OK(es_builder_finish(b, &a, &err));
    CHECK_EQ_INT(a.length, 2);
    j = json_of(&s, &a, NULL);
    CHECK_EQ_STR(j, "{\"fields\":[],\"metadata\":{}}\n{}\n{}\n");
    free(j);
    es_array_release(&a);
    es_builder_free(b);
    es_schema_release(&s);

    /* Large varlen values and many rows: offsets and growth. */
    CHECK_OK(one_field_schema(&s, "U", "big"));
    CHECK_OK(es_builder_new(&b, &s, &err));
    char *blob = malloc(100000);
    memset(blob, 'q', 100000);
    for (int i = 0; i < 50; i++) {
        if (i % 7 == 3)
            CHECK_OK(es_builder_append_null(es_builder_child(b, 0), 1));
        else
            CHECK_OK(es_builder_append_bytes(es_builder_child(b, 0), blob, i * 1000));
    }
    CHECK_OK(es_builder_finish(b, &a, &err));
    CHECK_OK(es_array_view_init(&v, &s, &a, &err));
    int good = 1;
    for (int i = 0; i < 50; i++) {
        int64_t len;
        const uint8_t *p = es_view_get_bytes(&v.children[0], i, &len);
        if (i % 7 == 3)
            good &= es_view_is_null(&v.children[0], i) && len == 0;
        else
            good &= len == i * 1000 && (len == 0 || (p[0] == 'q' && p[len - 1] == 'q'));
    }
    CHECK(good);
    es_array_view_reset(&v);
    es_array_release(&a);
    es_builder_free(b);
    es_schema_release(&s);
    free(blob);
}

/* ---------------------------------------------------------------- streams */

static void test_stream(void)
{
    struct ArrowSchema s, got;
    struct ArrowArray batches[3], out;
    struct ArrowArrayStream st;
    es_error err = {0};
    CHECK_OK(make_all_schema(&s));
    for (int i = 0; i < 3; i++)
        CHECK_OK(build_all(&s, &batches[i], &err));
    CHECK_OK(es_stream_from_batches(&st, &s, batches, 3, &err));
    CHECK(batches[0].release == NULL && batches[2].release == NULL);
    CHECK_EQ_INT(st.get_schema(&st, &got), 0);
    CHECK_EQ_INT(got.n_children, N_FORMATS);
    es_schema_release(&got);
    CHECK_EQ_INT(st.get_next(&st, &out), 0);
    CHECK(out.release != NULL && out.length == N_ROWS);
    es_array_release(&out);
    CHECK(st.get_last_error(&st) == NULL);
    es_stream_release(&st); /* releases the two batches not consumed */
    CHECK(st.release == NULL);
    es_stream_release(&st);

    CHECK_OK(es_stream_from_batches(&st, &s, NULL, 0, &err));
    CHECK_EQ_INT(st.get_next(&st, &out), 0);
    CHECK(out.release == NULL);
    es_stream_release(&st);
    CHECK_EQ_INT(es_stream_from_batches(&st, &s, NULL, 2, &err), ES_INVALID);
    CHECK(st.release == NULL);
    es_schema_release(&s);
}

/* ------------------------------------------------------ allocation failure */

/* Everything a typical user does; returns ES_OK only when all of it succeeded. */
static es_status alloc_scenario(void)
{
    struct ArrowSchema s, c;
    struct ArrowArray a;
    struct ArrowArrayStream st;
    es_error err = {0};
    es_array_view v;
    es_status rc = make_all_schema(&s);
    if (rc)
        return rc;
    const char *k[] = {"a", "b"};
    const char *val[] = {"1", "2"};
    rc = es_schema_set_metadata(&s, 2, k, val, &err);
    if (!rc)
        rc = es_schema_copy(&c, &s, &err);
    if (rc) {
        es_schema_release(&s);
        return rc;
    }
    rc = build_all(&c, &a, &err);
    if (!rc) {
        rc = es_array_view_init(&v, &c, &a, &err);
        es_array_view_reset(&v);
    }
    if (!rc) {
        FILE *f = tmpfile();
        rc = es_json_write_schema(f, &c, &err);
        if (!rc)
            rc = es_json_write_rows(f, &c, &a, &err);
        fclose(f);
    }
    if (!rc) {
        rc = es_stream_from_batches(&st, &c, &a, 1, &err);
        if (!rc) {
            struct ArrowSchema g;
            if (st.get_schema(&st, &g) != 0)
                rc = ES_NOMEM;
            else
                es_schema_release(&g);
            es_stream_release(&st);
        }
    }
    es_array_release(&a);
    es_schema_release(&c);
    es_schema_release(&s);
    return rc;
}

static void test_alloc_failures(void)
{
    int64_t n;
    int bad_status = 0;
    for (n = 1; n < 100000; n++) {
        es_util_alloc_fail_at(n, 0);
        es_status st = alloc_scenario();
        if (st == ES_OK)
            break;
        if (st != ES_NOMEM)
            bad_status++;
    }
    es_util_alloc_fail_at(0, 0);
    CHECK(n > 50 && n < 100000);
    CHECK_EQ_INT(bad_status, 0);
    printf("alloc failure loop: first success after %" PRId64 " injected failures\n", n - 1);
    /* Persistent failure from the Nth allocation on, for a few N. */
    for (n = 1; n < 400; n += 13) {
        es_util_alloc_fail_at(n, 1);
        es_status st = alloc_scenario();
        CHECK(st == ES_NOMEM || st == ES_OK);
    }
    es_util_alloc_fail_at(0, 0);

    /* Appends are atomic: a failing append leaves the builder usable. */
    struct ArrowSchema s;
    es_builder *b;
    struct ArrowArray a;
    CHECK_OK(one_field_schema(&s, "u", "x"));
    CHECK_OK(es_builder_new(&b, &s, NULL));
    int appended = 0, failures = 0;
    for (int i = 0; i < 200; i++) {
        es_util_alloc_fail_at(i % 3, 0); /* fail the 1st, the 2nd, or no allocation */
        es_status st = es_builder_append_bytes(es_builder_child(b, 0), "abcdefgh", 8);
        es_util_alloc_fail_at(0, 0);
        if (st == ES_OK)
            appended++;
        else
            failures++;
    }
    CHECK(failures > 0 && appended > 100);
    CHECK_EQ_INT(es_builder_length(es_builder_child(b, 0)), appended);
    for (int i = 1; i < 20; i++) {
        es_util_alloc_fail_at(i, 0);
        es_status st = es_builder_finish(b, &a, NULL);
        es_util_alloc_fail_at(0, 0);
        if (st == ES_OK)
            break;
        CHECK(a.release == NULL);
        CHECK_EQ_INT(es_builder_length(es_builder_child(b, 0)), appended);
    }
    CHECK(a.release != NULL);
    CHECK_EQ_INT(a.length, appended);
    es_array_view v;
    CHECK_OK(es_array_view_init(&v, &s, &a, NULL));
    int64_t len;
    const uint8_t *p = es_view_get_bytes(&v.children[0], appended - 1, &len);
    CHECK(len == 8 && memcmp(p, "abcdefgh", 8) == 0);
    es_array_view_reset(&v);
    es_array_release(&a);
    es_builder_free(b);
    es_schema_release(&s);
}

int main(void)
{
    test_types();
    test_schemas();
    test_builders_all_types();
    test_builder_edges();
    test_stream();
    test_alloc_failures();
    return CHECK_DONE();
}
