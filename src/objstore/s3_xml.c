/*
 * s3_xml: the little XML the S3 backend reads and writes (objstore layer; see s3_internal.h):
 * finding an element and decoding its text (entities included), ListObjectsV2 pages, and
 * escaping keys for DeleteObjects. A minimal scanner, not a parser: S3 answers are flat and
 * regular. Input is untrusted (a server, or the fuzzer in fuzz/): every read is bounded by the
 * given length, and malformed pages are ES_CORRUPT.
 */
#include "objstore/s3_internal.h"

#include <stdlib.h>
#include <string.h>

/* Find <tag>...</tag> in [p, end): content span in *cs, *ce; *next after the closing tag.
 * Accepts attributes on the opening tag; an empty element <tag/> has empty content. */
int es_objstore_s3_xml_find(const char *p, const char *end, const char *tag, const char **cs,
                            const char **ce, const char **next)
{
    size_t tl = strlen(tag);
    while (p < end) {
        const char *lt = memchr(p, '<', (size_t)(end - p));
        if (!lt || (size_t)(end - lt) < tl + 2)
            return 0;
        if (memcmp(lt + 1, tag, tl) == 0) {
            const char *q = lt + 1 + tl;
            if (*q == '/' && q + 1 < end && q[1] == '>') {
                *cs = *ce = q;
                *next = q + 2;
                return 1;
            }
            if (*q == '>' || *q == ' ') {
                const char *gt = memchr(q, '>', (size_t)(end - q));
                if (!gt)
                    return 0;
                if (gt[-1] == '/') {
                    *cs = *ce = gt;
                    *next = gt + 1;
                    return 1;
                }
                const char *c = gt + 1;
                /* The closing tag. */
                for (const char *r = c; r < end;) {
                    const char *l2 = memchr(r, '<', (size_t)(end - r));
                    if (!l2 || (size_t)(end - l2) < tl + 3)
                        return 0;
                    if (l2[1] == '/' && memcmp(l2 + 2, tag, tl) == 0 && l2[2 + tl] == '>') {
                        *cs = c;
                        *ce = l2;
                        *next = l2 + 3 + tl;
                        return 1;
                    }
                    r = l2 + 1;
                }
                return 0;
            }
        }
        p = lt + 1;
    }
    return 0;
}

/* Decode the XML text [s, e) (entities &amp; &lt; &gt; &quot; &apos; &#N; &#xN;) into out
 * (cap > 0 bytes). Returns 0 when it does not fit or is malformed (a NUL byte, an unknown or
 * non-ASCII entity); out is then "", never left unterminated: callers use it as a string (the
 * S3 error code, the continuation token). */
static int xml_decode(char *out, size_t cap, const char *s, const char *e)
{
    size_t j = 0;
    while (s < e) {
        char c = *s;
        if (c == '&') {
            const char *semi = memchr(s, ';', (size_t)(e - s));
            if (!semi || semi - s > 10)
                goto fail;
            size_t n = (size_t)(semi - s - 1);
            const char *name = s + 1;
            if (n == 3 && !memcmp(name, "amp", 3))
                c = '&';
            else if (n == 2 && !memcmp(name, "lt", 2))
                c = '<';
            else if (n == 2 && !memcmp(name, "gt", 2))
                c = '>';
            else if (n == 4 && !memcmp(name, "quot", 4))
                c = '"';
            else if (n == 4 && !memcmp(name, "apos", 4))
                c = '\'';
            else if (n >= 2 && name[0] == '#') {
                char num[12];
                memcpy(num, name + 1, n - 1);
                num[n - 1] = 0;
                char *endp;
                long v = (num[0] == 'x') ? strtol(num + 1, &endp, 16) : strtol(num, &endp, 10);
                if (*endp || v <= 0 || v > 127)
                    goto fail; /* S3 keys here are ASCII */
                c = (char)v;
            } else {
                goto fail;
            }
            s = semi + 1;
        } else if (c == 0) {
            goto fail; /* not allowed in XML; would silently cut a key or token short */
        } else {
            s++;
        }
        if (j + 1 >= cap)
            goto fail;
        out[j++] = c;
    }
    out[j] = 0;
    return 1;
fail:
    if (cap)
        out[0] = 0;
    return 0;
}

int es_objstore_s3_xml_text(char *out, size_t cap, const char *xml, size_t n, const char *tag)
{
    const char *cs, *ce, *next;
    if (cap == 0)
        return 0;
    out[0] = 0;
    if (!xml || !es_objstore_s3_xml_find(xml, xml + n, tag, &cs, &ce, &next))
        return 0;
    return xml_decode(out, cap, cs, ce);
}

void es_objstore_s3_strip_quotes(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= 2 && src[0] == '"' && src[n - 1] == '"') {
        src++;
        n -= 2;
    }
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

es_status es_objstore_s3_parse_list(es_obj_list *out, int *truncated, char *next_token, size_t cap,
                                    const char *xml, size_t n, const char *strip, es_error *err)
{
    const char *end = xml + n, *p = xml, *cs, *ce, *next;
    size_t sl = strlen(strip);
    char tmp[ES_ETAG_MAX + 8];
    es_status st = ES_OK;
    char *key = es_malloc(2048);
    if (!key)
        return es_error_set(err, ES_NOMEM, 0, "list: out of memory");
    *truncated = 0;
    if (next_token && cap)
        next_token[0] = 0;
    if (!es_objstore_s3_xml_find(xml, end, "ListBucketResult", &cs, &ce, &next)) {
        st = es_error_set(err, ES_CORRUPT, 0, "list: response is not a ListBucketResult");
        goto done;
    }
    end = ce;
    p = cs;
    while (es_objstore_s3_xml_find(p, end, "Contents", &cs, &ce, &next)) {
        const char *ks, *ke, *nx;
        p = next;
        if (!es_objstore_s3_xml_find(cs, ce, "Key", &ks, &ke, &nx) ||
            !xml_decode(key, 2048, ks, ke)) {
            st = es_error_set(err, ES_CORRUPT, 0, "list: entry without a valid <Key>");
            goto done;
        }
        if (strncmp(key, strip, sl) != 0)
            continue;
        uint64_t size = 0;
        if (es_objstore_s3_xml_find(cs, ce, "Size", &ks, &ke, &nx)) {
            char num[32], *endp = NULL;
            if (xml_decode(num, sizeof num, ks, ke) && num[0] >= '0' && num[0] <= '9')
                size = strtoull(num, &endp, 10);
            if (!endp || *endp) {
                st = es_error_set(err, ES_CORRUPT, 0, "list: bad <Size> for %s", key);
                goto done;
            }
        }
        /* Capacity is the smallest power of two >= n: grow when n is a power of two. */
        if ((out->n & (out->n - 1)) == 0) {
            size_t want = out->n ? (size_t)out->n * 2 : 1;
            es_obj_info *items = es_realloc(out->items, want * sizeof *items);
            if (!items) {
                st = es_error_set(err, ES_NOMEM, 0, "list: out of memory");
                goto done;
            }
            out->items = items;
        }
        es_obj_info *it = &out->items[out->n];
        memset(it, 0, sizeof *it);
        if (!(it->key = es_strdup(key + sl))) {
            st = es_error_set(err, ES_NOMEM, 0, "list: out of memory");
            goto done;
        }
        it->size = size;
        if (es_objstore_s3_xml_find(cs, ce, "ETag", &ks, &ke, &nx) &&
            xml_decode(tmp, sizeof tmp, ks, ke))
            es_objstore_s3_strip_quotes(it->etag, sizeof it->etag, tmp);
        out->n++;
    }
    if (es_objstore_s3_xml_find(xml, xml + n, "IsTruncated", &cs, &ce, &next))
        *truncated = (ce - cs == 4 && !memcmp(cs, "true", 4));
    if (next_token && cap &&
        es_objstore_s3_xml_find(xml, xml + n, "NextContinuationToken", &cs, &ce, &next) &&
        !xml_decode(next_token, cap, cs, ce))
        st = es_error_set(err, ES_CORRUPT, 0, "list: continuation token too long");
done:
    es_free(key);
    return st;
}

void es_objstore_s3_xml_escape(es_buf *b, const char *s, es_status *st)
{
    for (; *s && !*st; s++) {
        switch (*s) {
        case '&':
            *st = es_buf_printf(b, "&amp;");
            break;
        case '<':
            *st = es_buf_printf(b, "&lt;");
            break;
        case '>':
            *st = es_buf_printf(b, "&gt;");
            break;
        case '"':
            *st = es_buf_printf(b, "&quot;");
            break;
        default:
            *st = es_buf_append(b, s, 1);
        }
    }
}
