/*
 * fuzz_s3list: the S3 ListObjectsV2 response parser (es_objstore_s3_parse_list) and the
 * single-tag extractor used on error bodies (es_objstore_s3_xml_text) on arbitrary bytes, which
 * are not NUL-terminated. Checks, besides memory safety:
 *   - the result is ES_OK or ES_CORRUPT; truncated is 0 or 1; the token and every ETag are
 *     NUL-terminated inside their buffers; every listed key is non-NULL;
 *   - the store prefix is applied consistently: when the page parses with prefix "", it parses
 *     with prefix "data/" too, and gives exactly the keys that start with "data/", stripped, in
 *     the same order with the same sizes and ETags;
 *   - a smaller token buffer gives the same token when it fits and ES_CORRUPT when it does not;
 *   - parsing the same page twice into one list (as the paging loop does) appends the same items
 *     again, through the list's capacity growth from a non-empty list.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "objstore/s3.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TOKEN_CAP 1024 /* as in the S3 backend's paging loop */
#define SMALL_CAP 12

static void check_list(const es_obj_list *l)
{
    if (l->n < 0 || (l->n > 0 && !l->items))
        abort();
    for (int64_t i = 0; i < l->n; i++) {
        if (!l->items[i].key || !memchr(l->items[i].etag, 0, sizeof l->items[i].etag))
            abort();
    }
}

static es_status parse(es_obj_list *l, int *truncated, char *token, size_t cap, const uint8_t *data,
                       size_t size, const char *strip)
{
    es_error err;
    *truncated = -1;
    memset(token, 'x', cap);
    es_status st =
        es_objstore_s3_parse_list(l, truncated, token, cap, (const char *)data, size, strip, &err);
    if (st != ES_OK && st != ES_CORRUPT && st != ES_NOMEM)
        abort();
    if (st != ES_OK && (!err.msg[0] || strchr(err.msg, '\n')))
        abort();
    if (*truncated != 0 && *truncated != 1)
        abort();
    if (!memchr(token, 0, cap))
        abort();
    check_list(l);
    return st;
}

static int same_item(const es_obj_info *a, const es_obj_info *b, size_t skip)
{
    return strlen(a->key) >= skip && strcmp(a->key + skip, b->key) == 0 && a->size == b->size &&
           strcmp(a->etag, b->etag) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    es_obj_list all = {0}, sub = {0}, small = {0};
    char token[TOKEN_CAP], token2[TOKEN_CAP], token3[SMALL_CAP];
    int tr_all, tr_sub, tr_small;

    es_status st_all = parse(&all, &tr_all, token, sizeof token, data, size, "");
    es_status st_sub = parse(&sub, &tr_sub, token2, sizeof token2, data, size, "data/");
    if (st_all == ES_OK) {
        if (st_sub != ES_OK || tr_sub != tr_all || strcmp(token, token2) != 0)
            abort();
        int64_t j = 0;
        for (int64_t i = 0; i < all.n; i++) {
            if (strncmp(all.items[i].key, "data/", 5) != 0)
                continue;
            if (j >= sub.n || !same_item(&all.items[i], &sub.items[j], 5))
                abort();
            j++;
        }
        if (j != sub.n)
            abort();

        /* A token buffer too small for the token is an error, never a truncated token. */
        es_status st_small = parse(&small, &tr_small, token3, sizeof token3, data, size, "");
        if (strlen(token) < sizeof token3) {
            if (st_small != ES_OK || strcmp(token, token3) != 0)
                abort();
        } else if (st_small != ES_CORRUPT) {
            abort();
        }
        if (small.n != all.n)
            abort();

        /* The same page again into the same list: the items are appended once more. */
        int64_t n1 = all.n;
        if (parse(&all, &tr_all, token, sizeof token, data, size, "") != ES_OK || all.n != 2 * n1)
            abort();
        for (int64_t i = 0; i < n1; i++) {
            if (!same_item(&all.items[i], &all.items[n1 + i], 0))
                abort();
        }
    }
    es_obj_list_reset(&all);
    es_obj_list_reset(&sub);
    es_obj_list_reset(&small);

    /* The error-body helper, with a roomy and a tiny buffer. */
    char text[256], tiny[4];
    static const char *const tags[] = {"Code", "Key", "UploadId", "Contents"};
    for (size_t t = 0; t < sizeof tags / sizeof tags[0]; t++) {
        int found = es_objstore_s3_xml_text(text, sizeof text, (const char *)data, size, tags[t]);
        if (!memchr(text, 0, sizeof text) || (found != 0 && found != 1))
            abort();
        found = es_objstore_s3_xml_text(tiny, sizeof tiny, (const char *)data, size, tags[t]);
        if (!memchr(tiny, 0, sizeof tiny) || (found != 0 && found != 1))
            abort();
    }
    return 0;
}
