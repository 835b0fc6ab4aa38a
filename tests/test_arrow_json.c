/*
 * test_arrow_json: the canonical JSON of known batches (every type, numbers printed exactly),
 * and `test_arrow_json --parity DIR` for tests/js/arrow_parity.sh (parity with apache-arrow).
 */
#include "arrow_util.h"

/* ------------------------------------------------------------------- JSON */

static void test_json_known(void)
{
    static const char *const fmts[] = {"n", "b",   "i",      "l",       "L",   "g",   "f", "u",
                                       "z", "w:2", "d:10,2", "tsm:UTC", "tdD", "ttn", "U"};
    static const char *const names[] = {"nul", "flag", "i32", "i64", "u64",
                                        "f64", "f32",  "str", "bin", "fsb",
                                        "dec", "ts",   "day", "tod", "we\"ird\n"};
    const int nf = (int)(sizeof fmts / sizeof fmts[0]);
    struct ArrowSchema s;
    struct ArrowArray a;
    es_error err = {0};
    es_builder *b;
    CHECK_OK(es_schema_init_struct(&s, nf, &err));
    for (int i = 0; i < nf; i++)
        CHECK_OK(es_schema_init(s.children[i], fmts[i], names[i], i == 2 ? 0 : 2, &err));
    const char *mk[] = {"origin"};
    const char *mv[] = {"t\u00e9st"};
    CHECK_OK(es_schema_set_metadata(&s, 1, mk, mv, &err));
    CHECK_OK(es_schema_set_metadata(s.children[3], 1, mk, mv, &err));
    CHECK_OK(es_builder_new(&b, &s, &err));
#define C(i) es_builder_child(b, i)
    /* Row 0. */
    CHECK_OK(es_builder_append_null(C(0), 1));
    CHECK_OK(es_builder_append_int(C(1), 1));
    CHECK_OK(es_builder_append_int(C(2), -2147483647 - 1));
    CHECK_OK(es_builder_append_int(C(3), INT64_MIN));
    CHECK_OK(es_builder_append_uint(C(4), UINT64_MAX));
    CHECK_OK(es_builder_append_double(C(5), 0.1));
    CHECK_OK(es_builder_append_double(C(6), 0.1));
    CHECK_OK(es_builder_append_bytes(C(7), "h\"i\\\n\t\x01\x7f \xc3\xa9\xe2\x80\xa8", 14));
    CHECK_OK(es_builder_append_bytes(C(8), "\x00\xff\x10", 3));
    CHECK_OK(es_builder_append_bytes(C(9), "AB", 2));
    CHECK_OK(es_builder_append_int(C(10), -5));
    CHECK_OK(es_builder_append_int(C(11), 1700000000123LL));
    CHECK_OK(es_builder_append_int(C(12), -1));
    CHECK_OK(es_builder_append_int(C(13), 86399999999999LL));
    CHECK_OK(es_builder_append_bytes(C(14), "bad\xff\xc3", 5));
    /* Row 1. */
    CHECK_OK(es_builder_append_null(C(0), 1));
    CHECK_OK(es_builder_append_int(C(1), 0));
    CHECK_OK(es_builder_append_int(C(2), 7));
    CHECK_OK(es_builder_append_null(C(3), 1));
    CHECK_OK(es_builder_append_uint(C(4), 0));
    CHECK_OK(es_builder_append_double(C(5), 1e21));
    CHECK_OK(es_builder_append_double(C(6), -0.0));
    CHECK_OK(es_builder_append_bytes(C(7), "", 0));
    CHECK_OK(es_builder_append_bytes(C(8), "", 0));
    CHECK_OK(es_builder_append_null(C(9), 1));
    uint8_t big[16];
    memset(big, 0xff, 16);
    big[15] = 0x7f; /* 2^127 - 1 */
    CHECK_OK(es_builder_append_decimal128(C(10), big));
    CHECK_OK(es_builder_append_null(C(11), 1));
    CHECK_OK(es_builder_append_int(C(12), 19000));
    CHECK_OK(es_builder_append_int(C(13), 0));
    CHECK_OK(es_builder_append_bytes(C(14), "ok", 2));
    /* Row 2. */
    CHECK_OK(es_builder_append_null(C(0), 1));
    CHECK_OK(es_builder_append_null(C(1), 1));
    CHECK_OK(es_builder_append_int(C(2), 0));
    CHECK_OK(es_builder_append_int(C(3), 123));
    CHECK_OK(es_builder_append_null(C(4), 1));
    CHECK_OK(es_builder_append_double(C(5), NAN));
    CHECK_OK(es_builder_append_double(C(6), -INFINITY));
    CHECK_OK(es_builder_append_null(C(7), 1));
    CHECK_OK(es_builder_append_null(C(8), 1));
    CHECK_OK(es_builder_append_bytes(C(9), "\x01\x02", 2));
    memset(big, 0, 16);
    big[15] = 0x80; /* -2^127 */
    CHECK_OK(es_builder_append_decimal128(C(10), big));
    CHECK_OK(es_builder_append_int(C(11), -1));
    CHECK_OK(es_builder_append_null(C(12), 1));
    CHECK_OK(es_builder_append_null(C(13), 1));
    CHECK_OK(es_builder_append_null(C(14), 1));
#undef C
    CHECK_OK(es_builder_finish(b, &a, &err));
    char *j = json_of(&s, &a, NULL);
    const char *expect =
        "{\"fields\":["
        "{\"name\":\"nul\",\"type\":\"null\",\"nullable\":true,\"metadata\":{}},"
        "{\"name\":\"flag\",\"type\":\"bool\",\"nullable\":true,\"metadata\":{}},"
        "{\"name\":\"i32\",\"type\":\"int32\",\"nullable\":false,\"metadata\":{}},"
        "{\"name\":\"i64\",\"type\":\"int64\",\"nullable\":true,\"metadata\":{\"origin\":"
        "\"t\xc3\xa9st\"}},"
        "{\"name\":\"u64\",\"type\":\"uint64\",\"nullable\":true,\"metadata\":{}},"
        "{\"name\":\"f64\",\"type\":\"float64\",\"nullable\":true,\"metadata\":{}},"
        "{\"name\":\"f32\",\"type\":\"float32\",\"nullable\":true,\"metadata\":{}},"
        "{\"name\":\"str\",\"type\":\"utf8\",\"nullable\":true,\"metadata\":{}},"
        "{\"name\":\"bin\",\"type\":\"binary\",\"nullable\":true,\"metadata\":{}},"
        "{\"name\":\"fsb\",\"type\":\"fixed_size_binary(2)\",\"nullable\":true,\"metadata\":{}},"
        "{\"name\":\"dec\",\"type\":\"decimal128(10, 2)\",\"nullable\":true,\"metadata\":{}},"
        "{\"name\":\"ts\",\"type\":\"timestamp[ms, UTC]\",\"nullable\":true,\"metadata\":{}},"
        "{\"name\":\"day\",\"type\":\"date32\",\"nullable\":true,\"metadata\":{}},"
        "{\"name\":\"tod\",\"type\":\"time64[ns]\",\"nullable\":true,\"metadata\":{}},"
        "{\"name\":\"we\\\"ird\\n\",\"type\":\"large_utf8\",\"nullable\":true,\"metadata\":{}}"
        "],\"metadata\":{\"origin\":\"t\xc3\xa9st\"}}\n"
        "{\"nul\":null,\"flag\":true,\"i32\":-2147483648,\"i64\":\"-9223372036854775808\","
        "\"u64\":\"18446744073709551615\",\"f64\":0.1,\"f32\":0.10000000149011612,"
        "\"str\":\"h\\\"i\\\\\\n\\t\\u0001\x7f \xc3\xa9\xe2\x80\xa8\",\"bin\":\"00ff10\","
        "\"fsb\":\"4142\",\"dec\":\"-0.05\",\"ts\":\"1700000000123\",\"day\":-1,"
        "\"tod\":\"86399999999999\",\"we\\\"ird\\n\":{\"invalid_utf8\":\"626164ffc3\"}}\n"
        "{\"nul\":null,\"flag\":false,\"i32\":7,\"i64\":null,\"u64\":\"0\",\"f64\":1e+21,"
        "\"f32\":-0,\"str\":\"\",\"bin\":\"\",\"fsb\":null,"
        "\"dec\":\"1701411834604692317316873037158841057.27\",\"ts\":null,\"day\":19000,"
        "\"tod\":\"0\",\"we\\\"ird\\n\":\"ok\"}\n"
        "{\"nul\":null,\"flag\":null,\"i32\":0,\"i64\":\"123\",\"u64\":null,\"f64\":\"NaN\","
        "\"f32\":\"-Infinity\",\"str\":null,\"bin\":null,\"fsb\":\"0102\","
        "\"dec\":\"-1701411834604692317316873037158841057.28\",\"ts\":\"-1\",\"day\":null,"
        "\"tod\":null,\"we\\\"ird\\n\":null}\n";
    CHECK_EQ_STR(j, expect);
    free(j);
    es_array_release(&a);
    es_builder_free(b);
    es_schema_release(&s);
}

/* One float64 value through the JSON writer. */
static char *json_double(double d)
{
    struct ArrowSchema s;
    struct ArrowArray a;
    es_builder *b;
    static char out[128];
    one_field_schema(&s, "g", "x");
    es_builder_new(&b, &s, NULL);
    es_builder_append_double(es_builder_child(b, 0), d);
    es_builder_finish(b, &a, NULL);
    char *j = rows_of(&s, &a, NULL, NULL);
    /* {"x":VALUE}\n */
    size_t n = strlen(j);
    snprintf(out, sizeof out, "%.*s", (int)(n > 7 ? n - 7 : 0), j + 5);
    free(j);
    es_array_release(&a);
    es_builder_free(b);
    es_schema_release(&s);
    return out;
}

static char *json_decimal(const char *fmt, int64_t v)
{
    struct ArrowSchema s;
    struct ArrowArray a;
    es_builder *b;
    static char out[128];
    one_field_schema(&s, fmt, "x");
    es_builder_new(&b, &s, NULL);
    es_builder_append_int(es_builder_child(b, 0), v);
    es_builder_finish(b, &a, NULL);
    char *j = rows_of(&s, &a, NULL, NULL);
    size_t n = strlen(j);
    snprintf(out, sizeof out, "%.*s", (int)(n > 7 ? n - 7 : 0), j + 5);
    free(j);
    es_array_release(&a);
    es_builder_free(b);
    es_schema_release(&s);
    return out;
}

static void test_json_numbers(void)
{
    /* Expected strings are what JavaScript's String(x) prints. */
    CHECK_EQ_STR(json_double(0.1), "0.1");
    CHECK_EQ_STR(json_double(1.0), "1");
    CHECK_EQ_STR(json_double(-1.5), "-1.5");
    CHECK_EQ_STR(json_double(100.0), "100");
    CHECK_EQ_STR(json_double(123456789012345680000.0), "123456789012345680000");
    CHECK_EQ_STR(json_double(1e21), "1e+21");
    CHECK_EQ_STR(json_double(1.5e300), "1.5e+300");
    CHECK_EQ_STR(json_double(0.000001), "0.000001");
    CHECK_EQ_STR(json_double(1.5e-7), "1.5e-7");
    CHECK_EQ_STR(json_double(1e-7), "1e-7");
    CHECK_EQ_STR(json_double(5e-324), "5e-324");
    CHECK_EQ_STR(json_double(1.7976931348623157e308), "1.7976931348623157e+308");
    CHECK_EQ_STR(json_double(0.3), "0.3");
    CHECK_EQ_STR(json_double(0.1 + 0.2), "0.30000000000000004");
    CHECK_EQ_STR(json_double(2.5), "2.5");
    CHECK_EQ_STR(json_double(123.456), "123.456");
    CHECK_EQ_STR(json_double(-0.0), "-0");
    CHECK_EQ_STR(json_double(0.0), "0");
    CHECK_EQ_STR(json_double(INFINITY), "\"Infinity\"");
    CHECK_EQ_STR(json_double(9007199254740993.0), "9007199254740992");

    CHECK_EQ_STR(json_decimal("d:10,2", 12345), "\"123.45\"");
    CHECK_EQ_STR(json_decimal("d:10,2", -12345), "\"-123.45\"");
    CHECK_EQ_STR(json_decimal("d:10,2", 5), "\"0.05\"");
    CHECK_EQ_STR(json_decimal("d:10,2", 0), "\"0.00\"");
    CHECK_EQ_STR(json_decimal("d:10,0", -7), "\"-7\"");
    CHECK_EQ_STR(json_decimal("d:10,-3", 42), "\"42000\"");
    CHECK_EQ_STR(json_decimal("d:10,-3", 0), "\"0\"");
    CHECK_EQ_STR(json_decimal("d:38,10", INT64_MIN), "\"-922337203.6854775808\"");
}

/* --------------------------------------------- parity with apache-arrow (JS) */

/*
 * `test_arrow --parity DIR` writes the canonical JSON of three batches built with the builders:
 * DIR/c_types.json (every type, the values tests/js/arrow_parity.mjs writes with apache-arrow),
 * DIR/c_floats.json and DIR/c_utf8.json (pseudo-random doubles, floats and byte strings from a
 * xorshift64 generator both sides share). tests/js/arrow_parity.sh compares them with what
 * tests/js/dump.mjs prints for the files apache-arrow wrote.
 */
static uint64_t xs_state = 0x9E3779B97F4A7C15ull;
static uint64_t xs_next(void)
{
    uint64_t x = xs_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return xs_state = x;
}

static int parity_write(const char *dir, const char *name, const struct ArrowSchema *s,
                        const struct ArrowArray *a)
{
    char path[4096];
    es_error err = {0};
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return 1;
    es_status st = es_json_write_schema(f, s, &err);
    if (!st)
        st = es_json_write_rows(f, s, a, &err);
    fclose(f);
    if (st)
        fprintf(stderr, "%s: %s\n", name, err.msg);
    return st != ES_OK;
}

static int parity_types(const char *dir)
{
    static const char *const fm[] = {"c",   "s",    "i",       "l",    "C",
                                     "S",   "I",    "L",       "f",    "g",
                                     "u",   "U",    "z",       "Z",    "w:3",
                                     "tdD", "tdm",  "tts",     "ttm",  "ttu",
                                     "ttn", "tss:", "tsm:UTC", "tsu:", "tsn:Asia/Tokyo",
                                     "tDs", "tDm",  "tDu",     "tDn",  "d:38,2",
                                     "b",   "n"};
    static const char *const nm[] = {
        "i8",   "i16",  "i32",  "i64", "u8",  "u16", "u32",  "u64",   "f32",   "f64",   "s",
        "ls",   "b",    "lb",   "fsb", "d32", "d64", "t32s", "t32ms", "t64us", "t64ns", "tss",
        "tsms", "tsus", "tsns", "ds",  "dms", "dus", "dns",  "dec",   "flag",  "nul"};
    const int nc = (int)(sizeof fm / sizeof fm[0]);
    struct ArrowSchema s;
    struct ArrowArray a;
    es_error err = {0};
    es_builder *b;
    es_schema_init_struct(&s, nc, &err);
    for (int c = 0; c < nc; c++)
        es_schema_init(s.children[c], fm[c], nm[c], ARROW_FLAG_NULLABLE, &err);
    const char *k[] = {"k", "e"}, *v[] = {"v \xc3\xa9", ""};
    es_schema_set_metadata(s.children[3], 2, k, v, &err);
    const char *k2[] = {"origin", "n"}, *v2[] = {"apache-arrow js", "5"};
    es_schema_set_metadata(&s, 2, k2, v2, &err);
    if (es_builder_new(&b, &s, &err))
        return 1;
    static const char *const strs[] = {"a", "\xc3\xa9\n\"\\", "", "\xf0\x9f\x98\x80",
                                       "x\0y\xe2\x80\xa8"};
    static const int64_t slen[] = {1, 5, 0, 4, 6};
    static const unsigned char bins[][3] = {{0, 255, 16}, {0}, {1}, {2, 3}, {171, 205}};
    static const int64_t blen[] = {3, 0, 1, 2, 2};
    static const int64_t i32v[] = {INT32_MIN, INT32_MAX, 0, -1, 7};
    static const uint64_t u8v[] = {0, 255, 1, 2, 3}, u16v[] = {0, 65535, 1, 2, 3},
                          u32v[] = {0, 4294967295u, 1, 2, 3},
                          u64v[] = {0, UINT64_MAX, 1, 9007199254740993ull, 3};
    const float f32v[] = {0.1f, -0.0f, 3.4028234663852886e38f, NAN, -1.5f};
    const double f64v[] = {0.1, -0.0, 1e21, 5e-324, 1.5e-7};
    static const int64_t decv[] = {12345, -5, 0, 99999999};
    es_status st = ES_OK;
    for (int64_t r = 0; r < 5 && !st; r++) {
        for (int c = 0; c < nc && !st; c++) {
            es_builder *cb = es_builder_child(b, c);
            if (c == nc - 1 || (r + c) % 4 == 3) {
                st = es_builder_append_null(cb, 1);
                continue;
            }
            switch (c) {
            case 0:
                st = es_builder_append_int(cb, r * 37 - 50);
                break;
            case 1:
                st = es_builder_append_int(cb, r * 9999 - 20000);
                break;
            case 2:
                st = es_builder_append_int(cb, i32v[r]);
                break;
            case 3:
                st = es_builder_append_int(cb, (r - 2) * 1234567890123456789LL);
                break;
            case 4:
                st = es_builder_append_uint(cb, u8v[r]);
                break;
            case 5:
                st = es_builder_append_uint(cb, u16v[r]);
                break;
            case 6:
                st = es_builder_append_uint(cb, u32v[r]);
                break;
            case 7:
                st = es_builder_append_uint(cb, u64v[r]);
                break;
            case 8:
                st = es_builder_append_double(cb, f32v[r]);
                break;
            case 9:
                st = es_builder_append_double(cb, f64v[r]);
                break;
            case 10:
            case 11:
                st = es_builder_append_bytes(cb, strs[r], slen[r]);
                break;
            case 12:
            case 13:
                st = es_builder_append_bytes(cb, bins[r], blen[r]);
                break;
            case 14:
                st = es_builder_append_bytes(cb, &"abcdefghijklmno"[3 * r], 3);
                break;
            case 15:
                st = es_builder_append_int(cb, r * 1000 - 2000);
                break;
            case 16:
                st = es_builder_append_int(cb, r * 86400000 - 5);
                break;
            case 17:
                st = es_builder_append_int(cb, r * 100);
                break;
            case 18:
                st = es_builder_append_int(cb, r * 1000 + 1);
                break;
            case 19:
                st = es_builder_append_int(cb, r * 1000000 + 2);
                break;
            case 20:
                st = es_builder_append_int(cb, r * 1000000000 + 3);
                break;
            case 21:
                st = es_builder_append_int(cb, r * 1700000000 - 5);
                break;
            case 22:
                st = es_builder_append_int(cb, r * 1700000000000LL - 5);
                break;
            case 23:
                st = es_builder_append_int(cb, -r * 1700000000000000LL);
                break;
            case 24:
                st = es_builder_append_int(cb, r * 1700000000000000000LL);
                break;
            case 29:
                if (r < 4) {
                    st = es_builder_append_int(cb, decv[r]);
                } else {
                    uint8_t d[16] = {0}; /* -(2^100): two's complement */
                    memset(d + 12, 0xff, 4);
                    d[12] = 0xf0;
                    st = es_builder_append_decimal128(cb, d);
                }
                break;
            case 30:
                st = es_builder_append_int(cb, r % 2);
                break;
            default: /* durations */
                st = es_builder_append_int(cb, (r - 1) * 999);
                break;
            }
        }
    }
    if (!st)
        st = es_builder_finish(b, &a, &err);
    es_builder_free(b);
    int rc = st != ES_OK || parity_write(dir, "c_types.json", &s, &a);
    es_array_release(&a);
    es_schema_release(&s);
    return rc;
}

static int parity_random(const char *dir)
{
    static const uint8_t pool[] = {0x00, 0x01, 0x1f, 0x22, 0x5c, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f,
                                   0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xee, 0xef,
                                   0xf0, 0xf1, 0xf4, 0xf5, 0xff, 0xbb, 0xbd, 0x0a, 0x09};
    struct ArrowSchema s, su;
    struct ArrowArray a, au;
    es_builder *b, *bu;
    int rc = 0;
    one_field_schema(&su, "u", "s");
    es_schema_init_struct(&s, 2, NULL);
    es_schema_init(s.children[0], "g", "d", ARROW_FLAG_NULLABLE, NULL);
    es_schema_init(s.children[1], "f", "f", ARROW_FLAG_NULLABLE, NULL);
    es_builder_new(&b, &s, NULL);
    es_builder_new(&bu, &su, NULL);
    for (int i = 0; i < 20000; i++) {
        uint64_t bits = xs_next();
        double d;
        memcpy(&d, &bits, 8);
        if (i % 2)
            d = (double)(xs_next() % 100000) / 1000.0;
        uint32_t fb = (uint32_t)(xs_next() >> 32);
        float f;
        memcpy(&f, &fb, 4);
        rc |= es_builder_append_double(es_builder_child(b, 0), d) != ES_OK;
        rc |= es_builder_append_double(es_builder_child(b, 1), f) != ES_OK;
        uint8_t str[12];
        int n = (int)(xs_next() % 12);
        for (int j = 0; j < n; j++) {
            uint64_t r = xs_next();
            str[j] = r % 4 == 0 ? (uint8_t)(r >> 8) : pool[(r >> 8) % sizeof pool];
        }
        rc |= es_builder_append_bytes(es_builder_child(bu, 0), str, n) != ES_OK;
    }
    rc |= es_builder_finish(b, &a, NULL) != ES_OK;
    rc |= es_builder_finish(bu, &au, NULL) != ES_OK;
    rc = rc || parity_write(dir, "c_floats.json", &s, &a) ||
         parity_write(dir, "c_utf8.json", &su, &au);
    es_array_release(&a);
    es_array_release(&au);
    es_builder_free(b);
    es_builder_free(bu);
    es_schema_release(&s);
    es_schema_release(&su);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--parity") == 0)
        return parity_types(argv[2]) || parity_random(argv[2]);
    test_json_known();
    test_json_numbers();
    return CHECK_DONE();
}
