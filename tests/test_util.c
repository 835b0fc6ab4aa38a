/* Unit tests of the util layer: errors, allocator fault hook, blobs, buffers, CRC-32C. */
#include "check.h"
#include "util/util.h"

int main(void)
{
    es_error err = {0};
    CHECK_EQ_INT(es_error_set(&err, ES_CORRUPT, 0, "k: bad\nline %d", 3), ES_CORRUPT);
    CHECK_EQ_STR(err.msg, "k: bad line 3");
    es_error_prefix(&err, "table_%d", 1);
    CHECK_EQ_STR(err.msg, "table_1: k: bad line 3");
    CHECK_EQ_STR(es_status_name(ES_CORRUPT), "ES_CORRUPT");

    /* CRC-32C check value from RFC 3720 / the Castagnoli test vector. */
    CHECK_EQ_INT(es_crc32c(0, "123456789", 9), 0xE3069283u);
    uint8_t zeros[32] = {0};
    CHECK_EQ_INT(es_crc32c(0, zeros, 32), 0x8A9136AAu);
    /* Incremental equals one-shot. */
    CHECK_EQ_INT(es_crc32c(es_crc32c(0, "12345", 5), "6789", 4), 0xE3069283u);

    /* Hardware and portable CRC agree on every length and alignment. */
    uint8_t rnd[1031];
    for (size_t i = 0; i < sizeof rnd; i++)
        rnd[i] = (uint8_t)(es_random_u64() & 0xff);
    int crc_same = 1;
    for (size_t off = 0; off < 9; off++)
        for (size_t n = 0; n + off <= sizeof rnd; n += 37)
            crc_same &= es_crc32c(7, rnd + off, n) == es_util_crc32c_sw(7, rnd + off, n);
    CHECK(crc_same);
    /* Long buffers (three interleaved streams, combined): every length around the block
     * sizes (3 x 256 and 3 x 4096 bytes) and some much longer. */
    size_t big_n = 3 * 4096 * 5 + 1000;
    uint8_t *big = es_malloc(big_n);
    CHECK(big != NULL);
    for (size_t i = 0; big && i < big_n; i++)
        big[i] = (uint8_t)(es_random_u64() & 0xff);
    size_t lens[] = {767,   768,         769,   775,   776,   1536,  2303,  12287, 12288,
                     12289, 12288 + 768, 24575, 24576, 24577, 40000, 61440, 62437};
    int long_same = 1;
    for (size_t k = 0; big && k < sizeof lens / sizeof lens[0]; k++)
        for (size_t off = 0; off < 3; off++)
            long_same &= es_crc32c(0x1234, big + off, lens[k]) ==
                         es_util_crc32c_sw(0x1234, big + off, lens[k]);
    CHECK(long_same);
    /* Incremental over uneven pieces equals one shot. */
    uint32_t inc = 0;
    for (size_t pos = 0, step = 1; big && pos < big_n; pos += step, step = step * 3 + 1)
        inc = es_crc32c(inc, big + pos, step < big_n - pos ? step : big_n - pos);
    CHECK_EQ_INT(inc, big ? es_crc32c(0, big, big_n) : 0);
    es_free(big);

    es_buf b = {0};
    CHECK_OK(es_buf_printf(&b, "%s-%d", "abc", 42));
    CHECK_OK(es_buf_pad(&b, 8));
    CHECK_EQ_INT(b.len, 8);
    CHECK(memcmp(b.data, "abc-42\0\0", 8) == 0);
    es_buf_reset(&b);

    es_blob *blob, *slice;
    CHECK_OK(es_blob_new_copy(&blob, "hello world", 11));
    CHECK(((uintptr_t)blob->data & 63) == 0);
    CHECK_OK(es_blob_new_slice(&slice, blob, 6, 5));
    es_blob_unref(blob);
    CHECK(memcmp(slice->data, "world", 5) == 0);
    CHECK_EQ_INT(es_blob_new_slice(&blob, slice, 3, 5), ES_INVALID);
    es_blob_unref(slice);

    /* Fail the 2nd allocation from now, once. */
    es_util_alloc_fail_at(2, 0);
    void *p1 = es_malloc(10), *p2 = es_malloc(10), *p3 = es_malloc(10);
    CHECK(p1 != NULL && p2 == NULL && p3 != NULL);
    es_util_alloc_fail_at(0, 0);
    es_free(p1);
    es_free(p3);
    return CHECK_DONE();
}
