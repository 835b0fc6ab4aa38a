/*
 * arrow_json: canonical JSON of schemas and record batches (the Arrow layer, above util). Used by
 * `expstore arrow-dump` and the tests; tests/js/dump.mjs prints the very same bytes from Apache
 * Arrow's JS implementation, so the two can be compared with cmp(1).
 *
 * CANONICAL JSON, precisely. Output is UTF-8, no whitespace outside strings, '\n' after each line.
 *
 * Line 1, the schema (the top-level struct's children are the fields):
 *   {"fields":[F,F,...],"metadata":M}
 *   F = {"name":S,"type":S,"nullable":true|false,"metadata":M}
 *   M = {} or {"key":"value",...}, pairs in stored order (duplicates kept as they are).
 * Then one line per row, in order, for every record batch:
 *   {"name1":V,"name2":V,...}   (field names in schema order, duplicates kept)
 *
 * Type strings: null bool int8 int16 int32 int64 uint8 uint16 uint32 uint64 float32 float64 utf8
 * large_utf8 binary large_binary fixed_size_binary(N) date32 date64 time32[s] time32[ms]
 * time64[us] time64[ns] timestamp[UNIT] timestamp[UNIT, TZ] duration[UNIT] decimal128(P, S),
 * UNIT one of s ms us ns.
 *
 * Strings S (names, types, metadata keys and values, utf8 values) are JSON strings written as
 * JavaScript's JSON.stringify writes them: '"' and '\' escaped with a backslash, U+0008 U+000C
 * U+000A U+000D U+0009 as \b \f \n \r \t, other code points below U+0020 as \u00xx (lowercase
 * hex), everything else as raw UTF-8. Names and metadata with ill-formed UTF-8 have each
 * ill-formed sequence replaced by U+FFFD as the WHATWG decoder (TextDecoder) does.
 *
 * Values V:
 *   - null for a null slot (and every slot of the null type);
 *   - bool: true / false;
 *   - int8 int16 int32 uint8 uint16 uint32 date32 time32: a JSON number in decimal;
 *   - int64 uint64 date64 time64 timestamp duration: the exact decimal integer as a JSON string,
 *     e.g. "-9223372036854775808" (the unit is in the type string);
 *   - float64: the shortest decimal that round-trips to the same double, laid out exactly as
 *     ECMAScript Number::toString does (1.5, 100, 1e+21, 1.5e-7, 0.000001), as a JSON number,
 *     except -0 -> -0 and NaN, Infinity, -Infinity -> the JSON strings "NaN", "Infinity",
 *     "-Infinity";
 *   - float32: the value widened to a double, then as float64 (so 0.1f -> 0.10000000149011612);
 *   - decimal128: the exact value as a JSON string with exactly `scale` fraction digits when
 *     scale > 0 ("-0.05" for -5 at scale 2), the unscaled value followed by -scale zeros when
 *     scale < 0, no exponent, '-' only for nonzero negatives;
 *   - binary large_binary fixed_size_binary: lowercase hex of the bytes as a JSON string;
 *   - utf8 large_utf8: the string (see above) when the bytes are well-formed UTF-8, otherwise
 *     the object {"invalid_utf8":"<lowercase hex of the bytes>"}.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/arrow.h"

/* ---------------------------------------------------------------- strings */

static es_status put_codepoint(es_buf *b, uint32_t cp)
{
    uint8_t u[4];
    size_t n = es_utf8_encode(u, cp);
    if (cp < 0x20 || cp == '"' || cp == '\\') {
        switch (cp) {
        case '"':
            return es_buf_append(b, "\\\"", 2);
        case '\\':
            return es_buf_append(b, "\\\\", 2);
        case '\b':
            return es_buf_append(b, "\\b", 2);
        case '\f':
            return es_buf_append(b, "\\f", 2);
        case '\n':
            return es_buf_append(b, "\\n", 2);
        case '\r':
            return es_buf_append(b, "\\r", 2);
        case '\t':
            return es_buf_append(b, "\\t", 2);
        default:
            return es_buf_printf(b, "\\u%04x", (unsigned)cp);
        }
    }
    return es_buf_append(b, u, n);
}

/*
 * Decode UTF-8 as the WHATWG decoder does and write the code points as JSON string content.
 * Ill-formed sequences become U+FFFD; *bad (when non-NULL) tells whether there were any.
 */
static es_status put_utf8(es_buf *b, const uint8_t *s, int64_t len, int *bad)
{
    uint32_t cp = 0;
    int needed = 0, seen = 0;
    uint8_t lower = 0x80, upper = 0xBF;
    es_status st = ES_OK;
    if (bad)
        *bad = 0;
    for (int64_t i = 0; i < len && !st;) {
        uint8_t c = s[i];
        if (needed == 0) {
            i++;
            if (c < 0x80) {
                st = put_codepoint(b, c);
            } else if (c >= 0xC2 && c <= 0xDF) {
                needed = 1;
                cp = c & 0x1F;
            } else if (c >= 0xE0 && c <= 0xEF) {
                if (c == 0xE0)
                    lower = 0xA0;
                if (c == 0xED)
                    upper = 0x9F;
                needed = 2;
                cp = c & 0x0F;
            } else if (c >= 0xF0 && c <= 0xF4) {
                if (c == 0xF0)
                    lower = 0x90;
                if (c == 0xF4)
                    upper = 0x8F;
                needed = 3;
                cp = c & 0x07;
            } else {
                if (bad)
                    *bad = 1;
                st = put_codepoint(b, 0xFFFD);
            }
            continue;
        }
        if (c < lower || c > upper) {
            /* Reprocess c as the start of a new sequence. */
            cp = 0;
            needed = seen = 0;
            lower = 0x80;
            upper = 0xBF;
            if (bad)
                *bad = 1;
            st = put_codepoint(b, 0xFFFD);
            continue;
        }
        i++;
        lower = 0x80;
        upper = 0xBF;
        cp = (cp << 6) | (c & 0x3F);
        if (++seen == needed) {
            st = put_codepoint(b, cp);
            cp = 0;
            needed = seen = 0;
        }
    }
    if (!st && needed) {
        if (bad)
            *bad = 1;
        st = put_codepoint(b, 0xFFFD);
    }
    return st;
}

static es_status put_string(es_buf *b, const char *s, int64_t len)
{
    es_status st = es_buf_append(b, "\"", 1);
    if (!st)
        st = put_utf8(b, (const uint8_t *)s, len, NULL);
    if (!st)
        st = es_buf_append(b, "\"", 1);
    return st;
}

static es_status put_hex(es_buf *b, const uint8_t *p, int64_t len)
{
    static const char hex[] = "0123456789abcdef";
    es_status st = es_buf_reserve(b, (size_t)len * 2 + 2);
    if (st)
        return st;
    b->data[b->len++] = '"';
    for (int64_t i = 0; i < len; i++) {
        b->data[b->len++] = (uint8_t)hex[p[i] >> 4];
        b->data[b->len++] = (uint8_t)hex[p[i] & 15];
    }
    b->data[b->len++] = '"';
    return ES_OK;
}

static es_status put_metadata(es_buf *b, const char *md)
{
    es_status st = es_buf_append(b, "{", 1);
    int32_t n = es_metadata_count(md);
    for (int32_t i = 0; i < n && !st; i++) {
        const char *k, *v;
        int32_t kl, vl;
        es_metadata_at(md, i, &k, &kl, &v, &vl);
        if (i)
            st = es_buf_append(b, ",", 1);
        if (!st)
            st = put_string(b, k, kl);
        if (!st)
            st = es_buf_append(b, ":", 1);
        if (!st)
            st = put_string(b, v, vl);
    }
    if (!st)
        st = es_buf_append(b, "}", 1);
    return st;
}

/* ---------------------------------------------------------------- numbers */

/* Shortest round-trip double in ECMAScript Number::toString layout. d is finite, nonzero. */
static es_status put_double(es_buf *b, double d)
{
    char tmp[64], digits[24];
    if (isnan(d))
        return es_buf_append(b, "\"NaN\"", 5);
    if (isinf(d))
        return d > 0 ? es_buf_append(b, "\"Infinity\"", 10) : es_buf_append(b, "\"-Infinity\"", 11);
    if (d == 0)
        return signbit(d) ? es_buf_append(b, "-0", 2) : es_buf_append(b, "0", 1);
    for (int p = 1; p <= 17; p++) {
        snprintf(tmp, sizeof tmp, "%.*e", p - 1, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    /* tmp is [-]D[.DDD]e(+|-)XX */
    const char *s = tmp;
    int neg = 0, k = 0;
    if (*s == '-') {
        neg = 1;
        s++;
    }
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9')
            digits[k++] = *s;
    int e10 = atoi(s + 1);
    while (k > 1 && digits[k - 1] == '0')
        k--;
    digits[k] = 0;
    int n = e10 + 1; /* value = 0.DIGITS x 10^n */
    es_status st = neg ? es_buf_append(b, "-", 1) : ES_OK;
    if (st)
        return st;
    if (k <= n && n <= 21) {
        st = es_buf_append(b, digits, (size_t)k);
        for (int i = k; i < n && !st; i++)
            st = es_buf_append(b, "0", 1);
    } else if (0 < n && n <= 21) {
        st = es_buf_printf(b, "%.*s.%s", n, digits, digits + n);
    } else if (-6 < n && n <= 0) {
        st = es_buf_append(b, "0.", 2);
        for (int i = 0; i < -n && !st; i++)
            st = es_buf_append(b, "0", 1);
        if (!st)
            st = es_buf_append(b, digits, (size_t)k);
    } else {
        int e = n - 1;
        if (k == 1)
            st = es_buf_printf(b, "%ce%c%d", digits[0], e < 0 ? '-' : '+', abs(e));
        else
            st = es_buf_printf(b, "%c.%se%c%d", digits[0], digits + 1, e < 0 ? '-' : '+', abs(e));
    }
    return st;
}

/* Exact decimal string of a 128-bit two's complement value with `scale`. */
static es_status put_decimal128(es_buf *b, const uint8_t *p, int32_t scale)
{
    uint32_t w[4];
    memcpy(w, p, 16); /* little-endian host assumed, as everywhere in the Arrow layer */
    int neg = (w[3] >> 31) & 1;
    if (neg) {
        /* Negate: invert and add one. */
        uint64_t carry = 1;
        for (int i = 0; i < 4; i++) {
            uint64_t x = (uint64_t)(uint32_t)~w[i] + carry;
            w[i] = (uint32_t)x;
            carry = x >> 32;
        }
    }
    char dig[48];
    int n = 0;
    for (;;) {
        uint64_t rem = 0;
        int zero = 1;
        for (int i = 3; i >= 0; i--) {
            uint64_t cur = (rem << 32) | w[i];
            w[i] = (uint32_t)(cur / 10);
            rem = cur % 10;
            if (w[i])
                zero = 0;
        }
        dig[n++] = (char)('0' + rem);
        if (zero)
            break;
    }
    /* dig holds the digits in reverse order. */
    char out[128];
    int o = 0;
    int is_zero = (n == 1 && dig[0] == '0');
    if (neg && !is_zero)
        out[o++] = '-';
    if (scale <= 0) {
        for (int i = n - 1; i >= 0; i--)
            out[o++] = dig[i];
        if (!is_zero)
            for (int i = 0; i < -scale && o < (int)sizeof out - 1; i++)
                out[o++] = '0';
    } else {
        while (n <= scale)
            dig[n++] = '0';
        for (int i = n - 1; i >= 0; i--) {
            if (i == scale - 1)
                out[o++] = '.';
            out[o++] = dig[i];
        }
    }
    es_status st = es_buf_append(b, "\"", 1);
    if (!st)
        st = es_buf_append(b, out, (size_t)o);
    if (!st)
        st = es_buf_append(b, "\"", 1);
    return st;
}

static es_status put_value(es_buf *b, const es_array_view *v, int64_t i)
{
    if (es_view_is_null(v, i))
        return es_buf_append(b, "null", 4);
    switch (v->type.id) {
    case ES_TYPE_BOOL:
        return es_view_get_int(v, i) ? es_buf_append(b, "true", 4) : es_buf_append(b, "false", 5);
    case ES_TYPE_INT8:
    case ES_TYPE_INT16:
    case ES_TYPE_INT32:
    case ES_TYPE_DATE32:
    case ES_TYPE_TIME32:
        return es_buf_printf(b, "%" PRId64, es_view_get_int(v, i));
    case ES_TYPE_UINT8:
    case ES_TYPE_UINT16:
    case ES_TYPE_UINT32:
        return es_buf_printf(b, "%" PRIu64, es_view_get_uint(v, i));
    case ES_TYPE_INT64:
    case ES_TYPE_DATE64:
    case ES_TYPE_TIME64:
    case ES_TYPE_TIMESTAMP:
    case ES_TYPE_DURATION:
        return es_buf_printf(b, "\"%" PRId64 "\"", es_view_get_int(v, i));
    case ES_TYPE_UINT64:
        return es_buf_printf(b, "\"%" PRIu64 "\"", es_view_get_uint(v, i));
    case ES_TYPE_FLOAT32:
    case ES_TYPE_FLOAT64:
        return put_double(b, es_view_get_double(v, i));
    case ES_TYPE_DECIMAL128: {
        int64_t len;
        const uint8_t *p = es_view_get_bytes(v, i, &len);
        return put_decimal128(b, p, v->type.scale);
    }
    case ES_TYPE_BINARY:
    case ES_TYPE_LARGE_BINARY:
    case ES_TYPE_FIXED_BINARY: {
        int64_t len;
        const uint8_t *p = es_view_get_bytes(v, i, &len);
        return put_hex(b, p, len);
    }
    case ES_TYPE_UTF8:
    case ES_TYPE_LARGE_UTF8: {
        int64_t len;
        const uint8_t *p = es_view_get_bytes(v, i, &len);
        size_t mark = b->len;
        int bad = 0;
        es_status st = es_buf_append(b, "\"", 1);
        if (!st)
            st = put_utf8(b, p, len, &bad);
        if (!st)
            st = es_buf_append(b, "\"", 1);
        if (st || !bad)
            return st;
        b->len = mark;
        st = es_buf_append(b, "{\"invalid_utf8\":", 16);
        if (!st)
            st = put_hex(b, p, len);
        if (!st)
            st = es_buf_append(b, "}", 1);
        return st;
    }
    default:
        return es_buf_append(b, "null", 4);
    }
}

/* ---------------------------------------------------------------- writers */

static es_status flush(FILE *f, es_buf *b, es_error *err)
{
    if (b->len && fwrite(b->data, 1, b->len, f) != b->len)
        return es_error_set(err, ES_IO, 0, "JSON output: write failed");
    b->len = 0;
    return ES_OK;
}

static es_status check_record_schema(const struct ArrowSchema *schema, es_error *err)
{
    if (!schema || !schema->release || !schema->format)
        return es_error_set(err, ES_INVALID, 0, "JSON: schema is NULL or released");
    if (strcmp(schema->format, "+s") != 0)
        return es_error_set(err, ES_INVALID, 0,
                            "JSON: schema '%s' is not a record batch struct (format '%s')",
                            schema->name ? schema->name : "", schema->format);
    if (schema->n_children < 0 || (schema->n_children > 0 && !schema->children))
        return es_error_set(err, ES_INVALID, 0, "JSON: schema has bad children");
    for (int64_t i = 0; i < schema->n_children; i++)
        if (!schema->children[i] || !schema->children[i]->format)
            return es_error_set(err, ES_INVALID, 0, "JSON: schema child %" PRId64 " is NULL", i);
    return ES_OK;
}

es_status es_json_write_schema(FILE *f, const struct ArrowSchema *schema, es_error *err)
{
    es_status st = check_record_schema(schema, err);
    if (st)
        return st;
    es_buf b = {0};
    st = es_buf_append(&b, "{\"fields\":[", 11);
    for (int64_t i = 0; i < schema->n_children && !st; i++) {
        const struct ArrowSchema *c = schema->children[i];
        const char *name = c->name ? c->name : "";
        es_type t;
        char tname[128];
        /* A dictionary-encoded column is written decoded: its value type. */
        const char *fmt =
            c->dictionary && c->dictionary->format ? c->dictionary->format : c->format;
        st = es_type_parse(&t, fmt, err);
        if (!st && t.id == ES_TYPE_STRUCT)
            st = es_error_set(err, ES_UNSUPPORTED, 0, "unsupported Arrow type '%s'%s", fmt,
                              " (nested struct)");
        if (st) {
            es_error_prefix(err, "field '%s'", name);
            break;
        }
        es_type_name(tname, sizeof tname, &t);
        st = es_buf_append(&b, i ? ",{\"name\":" : "{\"name\":", i ? 9 : 8);
        if (!st)
            st = put_string(&b, name, (int64_t)strlen(name));
        if (!st)
            st = es_buf_printf(&b, ",\"type\":");
        if (!st)
            st = put_string(&b, tname, (int64_t)strlen(tname));
        if (!st)
            st = es_buf_printf(&b, ",\"nullable\":%s,\"metadata\":",
                               (c->flags & ARROW_FLAG_NULLABLE) ? "true" : "false");
        if (!st)
            st = put_metadata(&b, c->metadata);
        if (!st)
            st = es_buf_append(&b, "}", 1);
    }
    if (!st)
        st = es_buf_append(&b, "],\"metadata\":", 13);
    if (!st)
        st = put_metadata(&b, schema->metadata);
    if (!st)
        st = es_buf_append(&b, "}\n", 2);
    if (st == ES_NOMEM)
        st = es_error_set(err, ES_NOMEM, 0, "JSON: out of memory");
    if (!st)
        st = flush(f, &b, err);
    es_buf_reset(&b);
    return st;
}

/* The release of a borrowed copy of a caller's array: nothing is ours. */
static void borrowed_release(struct ArrowArray *a)
{
    a->release = NULL;
}

es_status es_json_write_rows(FILE *f, const struct ArrowSchema *schema,
                             const struct ArrowArray *batch, es_error *err)
{
    es_status st = check_record_schema(schema, err);
    if (st)
        return st;
    /* Dictionary-encoded columns are written decoded, through a borrowed copy of the batch. */
    struct ArrowSchema dec = {0};
    struct ArrowArray copy = {0};
    if (batch && batch->release) {
        copy = *batch;
        copy.release = borrowed_release;
        st = es_dict_decode_batches(&dec, schema, &copy, 1, err);
        if (st)
            return st;
        if (dec.release) {
            schema = &dec;
            batch = &copy;
        }
    }
    es_array_view v;
    st = es_array_view_init(&v, schema, batch, err);
    if (st) {
        es_schema_release(&dec);
        if (copy.release)
            copy.release(&copy);
        return st;
    }
    es_buf b = {0};
    for (int64_t r = 0; r < v.length && !st; r++) {
        st = es_buf_append(&b, "{", 1);
        for (int64_t i = 0; i < v.n_children && !st; i++) {
            const char *name = schema->children[i]->name ? schema->children[i]->name : "";
            if (i)
                st = es_buf_append(&b, ",", 1);
            if (!st)
                st = put_string(&b, name, (int64_t)strlen(name));
            if (!st)
                st = es_buf_append(&b, ":", 1);
            if (!st) {
                /* A null struct row makes every field null. */
                if (es_view_is_null(&v, r))
                    st = es_buf_append(&b, "null", 4);
                else
                    st = put_value(&b, &v.children[i], r);
            }
        }
        if (!st)
            st = es_buf_append(&b, "}\n", 2);
        if (st == ES_NOMEM)
            st = es_error_set(err, ES_NOMEM, 0, "JSON: out of memory");
        if (!st && b.len >= 65536)
            st = flush(f, &b, err);
    }
    if (!st)
        st = flush(f, &b, err);
    es_buf_reset(&b);
    es_array_view_reset(&v);
    es_schema_release(&dec);
    if (copy.release)
        copy.release(&copy);
    return st;
}
