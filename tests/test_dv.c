/*
 * test_dv: deletion vectors (src/table/dv.c): the brief's test vector byte for byte, round
 * trips of array, bitset and multi-bucket vectors, set operations, and the strict decoder
 * refusing truncated, reordered, oversized and checksum-damaged input. With node and the npm
 * package `roaring` (CRoaring's official port) installed, vectors are exchanged both ways with
 * tests/js/dv.mjs; without them that part says it is skipped.
 */
#include <unistd.h>

#include "check.h"
#include "table/dv.h"

static es_dv make(const uint64_t *v, int64_t n)
{
    es_dv dv = {0};
    es_error err;
    CHECK_OK(es_dv_add(&dv, v, n, &err));
    return dv;
}

static void test_vector(void)
{
    /* {3,4,7,11,18,29}: magic + portable Roaring, 44 bytes (MUTATIONS-BRIEF section 1). */
    static const uint8_t want[] = {0xd1, 0xd3, 0x39, 0x64, 1, 0,    0,    0,    0, 0,    0,
                                   0,    0,    0,    0,    0, 0x3a, 0x30, 0,    0, 1,    0,
                                   0,    0,    0,    0,    5, 0,    0x10, 0,    0, 0,    3,
                                   0,    4,    0,    7,    0, 0x0b, 0,    0x12, 0, 0x1d, 0};
    uint64_t v[] = {29, 3, 11, 4, 18, 7, 3};
    es_dv dv = make(v, 7);
    CHECK_EQ_INT(dv.n, 6);
    es_buf b = {0};
    es_error err;
    CHECK_OK(es_dv_blob_encode(&b, &dv, &err));
    CHECK_EQ_INT(b.len, 4 + 44 + 4);
    CHECK(b.len == 52 && memcmp(b.data + 4, want, 44) == 0);
    /* length (big-endian) counts magic + bitmap; the CRC-32 (big-endian) covers the same. */
    CHECK(b.data[0] == 0 && b.data[1] == 0 && b.data[2] == 0 && b.data[3] == 44);
    uint32_t crc = es_dv_crc32(0, want, 44);
    CHECK(b.len == 52 && ((uint32_t)b.data[48] << 24 | (uint32_t)b.data[49] << 16 |
                          (uint32_t)b.data[50] << 8 | b.data[51]) == crc);
    CHECK_EQ_INT(es_dv_crc32(0, "123456789", 9), 0xCBF43926); /* the CRC-32 check value */
    es_dv back;
    CHECK_OK(es_dv_blob_decode(&back, b.data, b.len, 100, "t.delta", &err));
    CHECK(back.n == 6 && memcmp(back.pos, dv.pos, 6 * sizeof(uint64_t)) == 0);
    es_dv_reset(&back);
    /* a position at or past the limit is refused */
    CHECK(es_dv_blob_decode(&back, b.data, b.len, 29, "t.delta", &err) == ES_CORRUPT);
    CHECK(strstr(err.msg, "t.delta: deletion vector: position 29 is beyond") != NULL);
    /* every single-byte change is caught (CRC, length, magic or structure) */
    int caught = 0;
    for (size_t i = 0; i < b.len; i++) {
        b.data[i] ^= 0x40;
        caught += es_dv_blob_decode(&back, b.data, b.len, 100, "t.delta", &err) == ES_CORRUPT;
        es_dv_reset(&back);
        b.data[i] ^= 0x40;
    }
    CHECK_EQ_INT(caught, b.len);
    for (size_t n = 0; n < b.len; n++)
        CHECK(es_dv_blob_decode(&back, b.data, n, 100, "t.delta", &err) == ES_CORRUPT);
    es_buf_reset(&b);
    es_dv_reset(&dv);
}

static void round_trip(const es_dv *dv, uint64_t limit)
{
    es_buf b = {0};
    es_error err;
    CHECK_OK(es_dv_file_encode(&b, dv, &err));
    es_dv back;
    CHECK_OK(es_dv_file_decode(&back, b.data, b.len, limit, "x.delta", &err));
    CHECK(back.n == dv->n && (dv->n == 0 || memcmp(back.pos, dv->pos, 8 * (size_t)dv->n) == 0));
    es_dv_reset(&back);
    es_buf_reset(&b);
}

static void test_round_trips(void)
{
    es_dv dv = {0};
    es_error err;
    round_trip(&dv, 1); /* empty */
    /* a dense container (bitset), a sparse one (array), and a second 32-bit bucket */
    for (uint64_t i = 0; i < 70000; i += (i < 65536 ? 2 : 97))
        CHECK_OK(es_dv_add(&dv, &i, 1, &err));
    uint64_t far[] = {(1ull << 32) + 5, (1ull << 32) + 65537, 3ull << 33};
    CHECK_OK(es_dv_add(&dv, far, 3, &err));
    round_trip(&dv, 1ull << 40);
    CHECK(es_dv_contains(&dv, 65534) && !es_dv_contains(&dv, 65535) &&
          es_dv_contains(&dv, (1ull << 32) + 5));
    CHECK_EQ_INT(es_dv_count_range(&dv, 0, 100), 50);
    /* union merges and removes duplicates */
    uint64_t a[] = {1, 5, 9}, b[] = {2, 5, 10}, c[] = {3, 9, 11}, common = 0;
    es_dv x = make(a, 3), y = make(b, 3), z = make(c, 3);
    /* the first position in both, in one pass over both */
    CHECK(es_dv_first_common(&x, &y, &common) && common == 5);
    CHECK(es_dv_first_common(&z, &x, &common) && common == 9);
    CHECK(!es_dv_first_common(&y, &z, &common) && !es_dv_first_common(&x, &dv, &common));
    es_dv_reset(&z);
    CHECK_OK(es_dv_union(&x, &x, &y, &err));
    CHECK(x.n == 5 && x.pos[0] == 1 && x.pos[1] == 2 && x.pos[2] == 5 && x.pos[4] == 10);
    es_dv_reset(&x);
    es_dv_reset(&y);
    es_dv_reset(&dv);
}

static void test_strict(void)
{
    es_error err;
    es_dv out;
    /* run containers (cookie 12347) are read: {0..9, 20} as one run container + array */
    uint8_t runs[] = {1,    0,    0,  0, 0, 0, 0,  0,        /* one bucket */
                      0,    0,    0,  0,                     /* key 0 */
                      0x3b, 0x30, 0,  0,                     /* 12347, one container */
                      1,                                     /* it is a run container */
                      0,    0,    10, 0,                     /* key 0, cardinality 11 */
                      2,    0,    0,  0, 9, 0, 20, 0, 0, 0}; /* 2 runs: [0,9], [20,20] */
    CHECK_OK(es_dv_roaring_decode(&out, runs, sizeof runs, 100, "r", &err));
    CHECK(out.n == 11 && out.pos[9] == 9 && out.pos[10] == 20);
    es_dv_reset(&out);
    runs[19] = 11; /* cardinality 12: does not match the runs */
    CHECK(es_dv_roaring_decode(&out, runs, sizeof runs, 100, "r", &err) == ES_CORRUPT);
    runs[19] = 10;
    runs[27] = 5; /* second run overlaps the first */
    CHECK(es_dv_roaring_decode(&out, runs, sizeof runs, 100, "r", &err) == ES_CORRUPT);
    /* unsorted array values, duplicate bucket keys, a huge bucket count */
    uint8_t arr[] = {1, 0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0x3a, 0x30, 0, 0,
                     1, 0, 0, 0, 0, 0, 1, 0, 16, 0, 0, 0, 7,    0,    3, 0};
    CHECK(es_dv_roaring_decode(&out, arr, sizeof arr, 100, "a", &err) == ES_CORRUPT);
    CHECK(strstr(err.msg, "a: deletion vector: positions not strictly ascending") != NULL);
    arr[0] = 0xff;
    CHECK(es_dv_roaring_decode(&out, arr, sizeof arr, 100, "a", &err) == ES_CORRUPT);
    uint8_t file[] = {2};
    CHECK(es_dv_file_decode(&out, file, 1, 100, "f.delta", &err) == ES_CORRUPT);
}

/* Vectors exchanged with CRoaring's JavaScript port: each set is written by us and read by
 * it, then written by it (with run containers where smaller) and read by us. */
static void test_roaring_js(void)
{
    const char *src = getenv("ES_SOURCE_DIR");
    char path[1024], cmd[4096];
    snprintf(path, sizeof path, "%s/node_modules/roaring/package.json", src ? src : ".");
    if (!src || access(path, R_OK) != 0 || system("node --version >/dev/null 2>&1") != 0) {
        printf("SKIP roaring interop: node or node_modules/roaring missing (npm ci)\n");
        return;
    }
    char dir[] = "/tmp/es_dv_XXXXXX";
    if (!mkdtemp(dir))
        return;
    es_dv sets[4] = {{0}};
    es_error err;
    uint64_t small[] = {3, 4, 7, 11, 18, 29};
    CHECK_OK(es_dv_add(&sets[0], small, 6, &err));
    for (uint64_t i = 0; i < 70000; i += 2)
        CHECK_OK(es_dv_add(&sets[1], &i, 1, &err));
    for (uint64_t i = 5000; i < 15000; i++) /* a run */
        CHECK_OK(es_dv_add(&sets[2], &i, 1, &err));
    uint64_t far[] = {1, (1ull << 32) + 7, (5ull << 32) + 65536};
    CHECK_OK(es_dv_add(&sets[3], far, 3, &err));
    for (int k = 0; k < 4; k++) {
        es_dv *dv = &sets[k];
        /* ours -> roaring */
        es_buf b = {0};
        CHECK_OK(es_dv_file_encode(&b, dv, &err));
        char f[300], list[300];
        snprintf(f, sizeof f, "%s/ours%d.delta", dir, k);
        snprintf(list, sizeof list, "%s/list%d", dir, k);
        FILE *o = fopen(f, "wb");
        fwrite(b.data, 1, b.len, o);
        fclose(o);
        es_buf_reset(&b);
        snprintf(cmd, sizeof cmd, "node %s/tests/js/dv.mjs read %s > %s", src, f, list);
        CHECK(system(cmd) == 0);
        FILE *in = fopen(list, "r");
        int64_t n = 0, same = 1;
        unsigned long long v;
        while (in && fscanf(in, "%llu", &v) == 1) {
            same &= n < dv->n && dv->pos[n] == v;
            n++;
        }
        if (in)
            fclose(in);
        CHECK(same && n == dv->n);
        /* roaring -> ours (the positions JS printed are the argument list) */
        snprintf(cmd, sizeof cmd, "node %s/tests/js/dv.mjs write %s/js%d.delta $(cat %s)", src, dir,
                 k, list);
        CHECK(system(cmd) == 0);
        snprintf(f, sizeof f, "%s/js%d.delta", dir, k);
        FILE *jf = fopen(f, "rb");
        uint8_t *buf = malloc(1 << 20);
        size_t len = jf ? fread(buf, 1, 1 << 20, jf) : 0;
        if (jf)
            fclose(jf);
        es_dv back;
        CHECK_OK(es_dv_file_decode(&back, buf, len, 1ull << 40, f, &err));
        CHECK(back.n == dv->n && memcmp(back.pos, dv->pos, 8 * (size_t)dv->n) == 0);
        if (k == 2) /* a run container: CRoaring wrote cookie 12347 */
            CHECK(len > 24 && buf[21] + 256 * buf[22] == 12347);
        es_dv_reset(&back);
        free(buf);
        es_dv_reset(dv);
    }
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

int main(void)
{
    test_vector();
    test_round_trips();
    test_strict();
    test_roaring_js();
    return CHECK_DONE();
}
