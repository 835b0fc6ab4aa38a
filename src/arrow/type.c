/*
 * arrow_type: Arrow types and schemas (the Arrow layer, above util). Parses and formats the C
 * Data Interface format strings of the types Exp Store supports, names them for humans and JSON,
 * and creates, copies and releases ArrowSchema structs and their custom metadata.
 *
 * Schemas created here own every string and child through es_malloc; their release callback
 * (release_schema) frees them recursively and tolerates children whose release is NULL (moved
 * out by a consumer, or not yet filled in after es_schema_init_struct).
 *
 * Metadata blobs use the C Data Interface layout, native endian:
 *   int32 n; then n times { int32 key_len; key bytes; int32 value_len; value bytes }.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/arrow.h"

/* ---------------------------------------------------------------- types */

static int parse_unit(char c, es_time_unit *u)
{
    switch (c) {
    case 's':
        *u = ES_SECOND;
        return 1;
    case 'm':
        *u = ES_MILLI;
        return 1;
    case 'u':
        *u = ES_MICRO;
        return 1;
    case 'n':
        *u = ES_NANO;
        return 1;
    default:
        return 0;
    }
}

static const char unit_chars[4] = {'s', 'm', 'u', 'n'};
static const char *const unit_names[4] = {"s", "ms", "us", "ns"};

/* Parse a decimal int32 at *p (optional '-'); advances *p. */
static int parse_i32(const char **p, int32_t *out)
{
    const char *s = *p;
    int neg = 0;
    int64_t v = 0;
    if (*s == '-') {
        neg = 1;
        s++;
    }
    if (*s < '0' || *s > '9')
        return 0;
    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (*s - '0');
        if (v > INT32_MAX)
            return 0;
        s++;
    }
    *out = (int32_t)(neg ? -v : v);
    *p = s;
    return 1;
}

static es_status unsupported(es_error *err, const char *format)
{
    return es_error_set(err, ES_UNSUPPORTED, 0, "unsupported Arrow type '%s'", format);
}

static es_status malformed(es_error *err, const char *format)
{
    return es_error_set(err, ES_INVALID, 0, "malformed Arrow format string '%s'", format);
}

es_status es_type_parse(es_type *out, const char *format, es_error *err)
{
    memset(out, 0, sizeof *out);
    if (!format)
        return es_error_set(err, ES_INVALID, 0, "Arrow format string is NULL");
    const char *f = format;
    size_t n = strlen(f);
    if (n == 1) {
        static const struct {
            char c;
            es_type_id id;
            int32_t width;
        } simple[] = {
            {'n', ES_TYPE_NA, 0},           {'b', ES_TYPE_BOOL, 0},       {'c', ES_TYPE_INT8, 1},
            {'C', ES_TYPE_UINT8, 1},        {'s', ES_TYPE_INT16, 2},      {'S', ES_TYPE_UINT16, 2},
            {'i', ES_TYPE_INT32, 4},        {'I', ES_TYPE_UINT32, 4},     {'l', ES_TYPE_INT64, 8},
            {'L', ES_TYPE_UINT64, 8},       {'f', ES_TYPE_FLOAT32, 4},    {'g', ES_TYPE_FLOAT64, 8},
            {'u', ES_TYPE_UTF8, 0},         {'U', ES_TYPE_LARGE_UTF8, 0}, {'z', ES_TYPE_BINARY, 0},
            {'Z', ES_TYPE_LARGE_BINARY, 0},
        };
        for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++) {
            if (simple[i].c == f[0]) {
                out->id = simple[i].id;
                out->byte_width = simple[i].width;
                return ES_OK;
            }
        }
        return unsupported(err, format);
    }
    if (strcmp(f, "+s") == 0) {
        out->id = ES_TYPE_STRUCT;
        return ES_OK;
    }
    if (f[0] == 'w' && f[1] == ':') {
        const char *p = f + 2;
        int32_t w;
        if (!parse_i32(&p, &w) || *p || w <= 0)
            return malformed(err, format);
        out->id = ES_TYPE_FIXED_BINARY;
        out->byte_width = w;
        return ES_OK;
    }
    if (f[0] == 'd' && f[1] == ':') {
        const char *p = f + 2;
        int32_t prec, scale, bits = 128;
        if (!parse_i32(&p, &prec) || *p != ',')
            return malformed(err, format);
        p++;
        if (!parse_i32(&p, &scale))
            return malformed(err, format);
        if (*p == ',') {
            p++;
            if (!parse_i32(&p, &bits))
                return malformed(err, format);
        }
        if (*p)
            return malformed(err, format);
        if (bits != 128)
            return unsupported(err, format);
        if (prec < 1 || prec > 38 || scale > prec)
            return es_error_set(err, ES_INVALID, 0, "bad decimal128 precision/scale in '%s'",
                                format);
        out->id = ES_TYPE_DECIMAL128;
        out->byte_width = 16;
        out->precision = prec;
        out->scale = scale;
        return ES_OK;
    }
    if (f[0] == 't') {
        if (n == 3 && f[1] == 'd') {
            if (f[2] == 'D') {
                out->id = ES_TYPE_DATE32;
                out->byte_width = 4;
                return ES_OK;
            }
            if (f[2] == 'm') {
                out->id = ES_TYPE_DATE64;
                out->byte_width = 8;
                return ES_OK;
            }
            return unsupported(err, format);
        }
        if (n == 3 && f[1] == 't') {
            if (!parse_unit(f[2], &out->unit))
                return unsupported(err, format);
            out->id = out->unit <= ES_MILLI ? ES_TYPE_TIME32 : ES_TYPE_TIME64;
            out->byte_width = out->unit <= ES_MILLI ? 4 : 8;
            return ES_OK;
        }
        if (n == 3 && f[1] == 'D') {
            if (!parse_unit(f[2], &out->unit))
                return unsupported(err, format);
            out->id = ES_TYPE_DURATION;
            out->byte_width = 8;
            return ES_OK;
        }
        if (n >= 4 && f[1] == 's' && f[3] == ':') {
            if (!parse_unit(f[2], &out->unit))
                return unsupported(err, format);
            size_t tzlen = n - 4;
            if (tzlen >= sizeof out->tz)
                return es_error_set(err, ES_UNSUPPORTED, 0,
                                    "timestamp time zone too long in '%s' (max %zu bytes)", format,
                                    sizeof out->tz - 1);
            memcpy(out->tz, f + 4, tzlen);
            out->tz[tzlen] = 0;
            out->id = ES_TYPE_TIMESTAMP;
            out->byte_width = 8;
            return ES_OK;
        }
        return unsupported(err, format);
    }
    return unsupported(err, format);
}

es_status es_type_format(char *buf, size_t cap, const es_type *t, es_error *err)
{
    static const char simple[] = "nbcCsSiIlLfguUzZ";
    char tmp[96];
    switch (t->id) {
    case ES_TYPE_NA:
    case ES_TYPE_BOOL:
    case ES_TYPE_INT8:
    case ES_TYPE_UINT8:
    case ES_TYPE_INT16:
    case ES_TYPE_UINT16:
    case ES_TYPE_INT32:
    case ES_TYPE_UINT32:
    case ES_TYPE_INT64:
    case ES_TYPE_UINT64:
    case ES_TYPE_FLOAT32:
    case ES_TYPE_FLOAT64:
    case ES_TYPE_UTF8:
    case ES_TYPE_LARGE_UTF8:
    case ES_TYPE_BINARY:
    case ES_TYPE_LARGE_BINARY:
        tmp[0] = simple[t->id];
        tmp[1] = 0;
        break;
    case ES_TYPE_FIXED_BINARY:
        if (t->byte_width <= 0)
            return es_error_set(err, ES_INVALID, 0, "fixed_size_binary width %d",
                                (int)t->byte_width);
        snprintf(tmp, sizeof tmp, "w:%d", (int)t->byte_width);
        break;
    case ES_TYPE_DATE32:
        strcpy(tmp, "tdD");
        break;
    case ES_TYPE_DATE64:
        strcpy(tmp, "tdm");
        break;
    case ES_TYPE_TIME32:
    case ES_TYPE_TIME64:
        if ((t->id == ES_TYPE_TIME32) != (t->unit <= ES_MILLI) || t->unit > ES_NANO)
            return es_error_set(err, ES_INVALID, 0, "bad time unit %d for time%d", (int)t->unit,
                                t->id == ES_TYPE_TIME32 ? 32 : 64);
        snprintf(tmp, sizeof tmp, "tt%c", unit_chars[t->unit]);
        break;
    case ES_TYPE_DURATION:
        if (t->unit > ES_NANO)
            return es_error_set(err, ES_INVALID, 0, "bad duration unit %d", (int)t->unit);
        snprintf(tmp, sizeof tmp, "tD%c", unit_chars[t->unit]);
        break;
    case ES_TYPE_TIMESTAMP:
        if (t->unit > ES_NANO)
            return es_error_set(err, ES_INVALID, 0, "bad timestamp unit %d", (int)t->unit);
        snprintf(tmp, sizeof tmp, "ts%c:%.*s", unit_chars[t->unit], (int)sizeof t->tz - 1, t->tz);
        break;
    case ES_TYPE_DECIMAL128:
        if (t->precision < 1 || t->precision > 38 || t->scale > t->precision)
            return es_error_set(err, ES_INVALID, 0, "bad decimal128(%d, %d)", (int)t->precision,
                                (int)t->scale);
        snprintf(tmp, sizeof tmp, "d:%d,%d", (int)t->precision, (int)t->scale);
        break;
    case ES_TYPE_STRUCT:
        strcpy(tmp, "+s");
        break;
    default:
        return es_error_set(err, ES_INVALID, 0, "bad type id %d", (int)t->id);
    }
    size_t n = strlen(tmp);
    if (n + 1 > cap)
        return es_error_set(err, ES_INVALID, 0, "buffer too small for format string '%s'", tmp);
    memcpy(buf, tmp, n + 1);
    return ES_OK;
}

void es_type_name(char *buf, size_t cap, const es_type *t)
{
    static const char *const simple[] = {
        "null",  "bool",   "int8",    "uint8",   "int16", "uint16",     "int32",  "uint32",
        "int64", "uint64", "float32", "float64", "utf8",  "large_utf8", "binary", "large_binary",
    };
    if (cap == 0)
        return;
    unsigned u = (unsigned)t->unit <= ES_NANO ? (unsigned)t->unit : 0;
    switch (t->id) {
    case ES_TYPE_FIXED_BINARY:
        snprintf(buf, cap, "fixed_size_binary(%d)", (int)t->byte_width);
        break;
    case ES_TYPE_DATE32:
        snprintf(buf, cap, "date32");
        break;
    case ES_TYPE_DATE64:
        snprintf(buf, cap, "date64");
        break;
    case ES_TYPE_TIME32:
        snprintf(buf, cap, "time32[%s]", unit_names[u]);
        break;
    case ES_TYPE_TIME64:
        snprintf(buf, cap, "time64[%s]", unit_names[u]);
        break;
    case ES_TYPE_DURATION:
        snprintf(buf, cap, "duration[%s]", unit_names[u]);
        break;
    case ES_TYPE_TIMESTAMP:
        if (t->tz[0])
            snprintf(buf, cap, "timestamp[%s, %.*s]", unit_names[u], (int)sizeof t->tz - 1, t->tz);
        else
            snprintf(buf, cap, "timestamp[%s]", unit_names[u]);
        break;
    case ES_TYPE_DECIMAL128:
        snprintf(buf, cap, "decimal128(%d, %d)", (int)t->precision, (int)t->scale);
        break;
    case ES_TYPE_STRUCT:
        snprintf(buf, cap, "struct");
        break;
    default:
        if ((unsigned)t->id < sizeof simple / sizeof simple[0])
            snprintf(buf, cap, "%s", simple[t->id]);
        else
            snprintf(buf, cap, "unknown");
        break;
    }
}

bool es_type_is_varlen(es_type_id id)
{
    return id == ES_TYPE_UTF8 || id == ES_TYPE_LARGE_UTF8 || id == ES_TYPE_BINARY ||
           id == ES_TYPE_LARGE_BINARY;
}

int es_arrow_n_buffers(const es_type *t)
{
    if (t->id == ES_TYPE_NA)
        return 0;
    if (t->id == ES_TYPE_STRUCT)
        return 1;
    if (es_type_is_varlen(t->id))
        return 3;
    return 2;
}

int64_t es_arrow_buffer_need(const es_type *t, int i, int64_t offset, int64_t length,
                             const void *offsets)
{
    if (offset < 0 || length < 0 || offset > INT64_MAX - length - 1)
        return -1;
    int64_t end = offset + length;
    if (i == 0)
        return (t->id == ES_TYPE_NA) ? 0 : (end + 7) / 8;
    if (t->id == ES_TYPE_BOOL)
        return i == 1 ? (end + 7) / 8 : 0;
    if (es_type_is_varlen(t->id)) {
        int64_t w = (t->id == ES_TYPE_LARGE_UTF8 || t->id == ES_TYPE_LARGE_BINARY) ? 8 : 4;
        if (i == 1)
            return length == 0 ? 0 : (end + 1 > INT64_MAX / w ? -1 : (end + 1) * w);
        if (i == 2) {
            if (!offsets || length == 0)
                return 0;
            if (w == 4)
                return ((const int32_t *)offsets)[end];
            return ((const int64_t *)offsets)[end];
        }
        return 0;
    }
    if (i == 1 && t->byte_width > 0)
        return end > INT64_MAX / t->byte_width ? -1 : end * t->byte_width;
    return 0;
}

/* --------------------------------------------------------------- metadata */

static int32_t load_i32(const char *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

int32_t es_metadata_count(const char *metadata)
{
    if (!metadata)
        return 0;
    int32_t n = load_i32(metadata);
    return n < 0 ? 0 : n;
}

void es_metadata_at(const char *metadata, int32_t i, const char **key, int32_t *klen,
                    const char **val, int32_t *vlen)
{
    *key = *val = NULL;
    *klen = *vlen = 0;
    if (i < 0 || i >= es_metadata_count(metadata))
        return;
    const char *p = metadata + 4;
    for (int32_t j = 0;; j++) {
        int32_t kl = load_i32(p);
        const char *k = p + 4;
        p = k + (kl > 0 ? kl : 0);
        int32_t vl = load_i32(p);
        const char *v = p + 4;
        p = v + (vl > 0 ? vl : 0);
        if (j == i) {
            *key = k;
            *klen = kl > 0 ? kl : 0;
            *val = v;
            *vlen = vl > 0 ? vl : 0;
            return;
        }
    }
}

const char *es_metadata_get(const char *metadata, const char *key, int32_t *len)
{
    size_t kn = strlen(key);
    int32_t n = es_metadata_count(metadata);
    for (int32_t i = 0; i < n; i++) {
        const char *k, *v;
        int32_t kl, vl;
        es_metadata_at(metadata, i, &k, &kl, &v, &vl);
        if ((size_t)kl == kn && memcmp(k, key, kn) == 0) {
            if (len)
                *len = vl;
            return v;
        }
    }
    if (len)
        *len = 0;
    return NULL;
}

/* Byte size of a metadata blob. */
static size_t metadata_size(const char *metadata)
{
    if (!metadata)
        return 0;
    int32_t n = es_metadata_count(metadata);
    const char *p = metadata + 4;
    for (int32_t i = 0; i < n; i++) {
        int32_t kl = load_i32(p);
        p += 4 + (kl > 0 ? kl : 0);
        int32_t vl = load_i32(p);
        p += 4 + (vl > 0 ? vl : 0);
    }
    return (size_t)(p - metadata);
}

/* ---------------------------------------------------------------- schemas */

static void release_schema(struct ArrowSchema *s)
{
    if (!s || !s->release)
        return;
    for (int64_t i = 0; i < s->n_children; i++) {
        struct ArrowSchema *c = s->children ? s->children[i] : NULL;
        if (c) {
            if (c->release)
                c->release(c);
            es_free(c);
        }
    }
    es_free(s->children);
    if (s->dictionary) {
        if (s->dictionary->release)
            s->dictionary->release(s->dictionary);
        es_free(s->dictionary);
    }
    es_free((void *)s->format);
    es_free((void *)s->name);
    es_free((void *)s->metadata);
    s->release = NULL;
}

bool es_arrow_schema_is_ours(const struct ArrowSchema *schema)
{
    return schema && schema->release == release_schema;
}

es_status es_schema_init(struct ArrowSchema *out, const char *format, const char *name,
                         int64_t flags, es_error *err)
{
    memset(out, 0, sizeof *out);
    if (!format)
        return es_error_set(err, ES_INVALID, 0, "schema format is NULL");
    char *f = es_strdup(format);
    char *n = name ? es_strdup(name) : NULL;
    if (!f || (name && !n)) {
        es_free(f);
        es_free(n);
        return es_error_set(err, ES_NOMEM, 0, "out of memory creating schema '%s'",
                            name ? name : "");
    }
    out->format = f;
    out->name = n;
    out->flags = flags;
    out->release = release_schema;
    return ES_OK;
}

es_status es_schema_init_struct(struct ArrowSchema *out, int64_t n_children, es_error *err)
{
    memset(out, 0, sizeof *out);
    if (n_children < 0 || n_children > INT32_MAX)
        return es_error_set(err, ES_INVALID, 0, "bad struct child count %" PRId64, n_children);
    char *f = es_strdup("+s");
    char *name = es_strdup("");
    struct ArrowSchema **ch = es_calloc((size_t)(n_children ? n_children : 1), sizeof *ch);
    int ok = f && name && ch;
    for (int64_t i = 0; ok && i < n_children; i++) {
        ch[i] = es_calloc(1, sizeof **ch);
        ok = ch[i] != NULL;
    }
    if (!ok) {
        for (int64_t i = 0; ch && i < n_children; i++)
            es_free(ch[i]);
        es_free(ch);
        es_free(f);
        es_free(name);
        return es_error_set(err, ES_NOMEM, 0, "out of memory creating struct schema");
    }
    out->format = f;
    out->name = name;
    out->n_children = n_children;
    out->children = ch;
    out->release = release_schema;
    return ES_OK;
}

es_status es_schema_copy(struct ArrowSchema *out, const struct ArrowSchema *src, es_error *err)
{
    memset(out, 0, sizeof *out);
    if (!src || !src->release || !src->format)
        return es_error_set(err, ES_INVALID, 0, "cannot copy a released schema");
    if (src->n_children < 0 || (src->n_children > 0 && !src->children))
        return es_error_set(err, ES_INVALID, 0, "schema '%s': bad children",
                            src->name ? src->name : "");
    es_status st = es_schema_init(out, src->format, src->name, src->flags, err);
    if (st)
        return st;
    if (src->metadata) {
        size_t n = metadata_size(src->metadata);
        char *m = es_malloc(n);
        if (!m)
            goto nomem;
        memcpy(m, src->metadata, n);
        out->metadata = m;
    }
    if (src->n_children > 0) {
        out->children = es_calloc((size_t)src->n_children, sizeof *out->children);
        if (!out->children)
            goto nomem;
        out->n_children = src->n_children;
        for (int64_t i = 0; i < src->n_children; i++) {
            out->children[i] = es_calloc(1, sizeof **out->children);
            if (!out->children[i])
                goto nomem;
            if (!src->children[i]) {
                release_schema(out);
                return es_error_set(err, ES_INVALID, 0, "schema '%s': child %" PRId64 " is NULL",
                                    src->name ? src->name : "", i);
            }
            st = es_schema_copy(out->children[i], src->children[i], err);
            if (st) {
                release_schema(out);
                return st;
            }
        }
    }
    if (src->dictionary) {
        out->dictionary = es_calloc(1, sizeof *out->dictionary);
        if (!out->dictionary)
            goto nomem;
        st = es_schema_copy(out->dictionary, src->dictionary, err);
        if (st) {
            release_schema(out);
            return st;
        }
    }
    return ES_OK;
nomem:
    release_schema(out);
    return es_error_set(err, ES_NOMEM, 0, "out of memory copying schema '%s'",
                        src->name ? src->name : "");
}

es_status es_schema_set_metadata(struct ArrowSchema *schema, int64_t n, const char **keys,
                                 const char **values, es_error *err)
{
    if (!es_arrow_schema_is_ours(schema))
        return es_error_set(err, ES_INVALID, 0,
                            "schema metadata can only be set on schemas created by Exp Store");
    if (n < 0 || n > INT32_MAX || (n > 0 && (!keys || !values)))
        return es_error_set(err, ES_INVALID, 0, "bad metadata (%" PRId64 " pairs)", n);
    char *m = NULL;
    if (n > 0) {
        size_t size = 4;
        for (int64_t i = 0; i < n; i++) {
            size_t kl = strlen(keys[i]), vl = strlen(values[i]);
            if (kl > INT32_MAX || vl > INT32_MAX || size > (size_t)INT32_MAX)
                return es_error_set(err, ES_INVALID, 0, "metadata too large");
            size += 8 + kl + vl;
        }
        m = es_malloc(size);
        if (!m)
            return es_error_set(err, ES_NOMEM, 0, "out of memory setting metadata of '%s'",
                                schema->name ? schema->name : "");
        char *p = m;
        int32_t v32 = (int32_t)n;
        memcpy(p, &v32, 4);
        p += 4;
        for (int64_t i = 0; i < n; i++) {
            int32_t kl = (int32_t)strlen(keys[i]), vl = (int32_t)strlen(values[i]);
            memcpy(p, &kl, 4);
            memcpy(p + 4, keys[i], (size_t)kl);
            p += 4 + kl;
            memcpy(p, &vl, 4);
            memcpy(p + 4, values[i], (size_t)vl);
            p += 4 + vl;
        }
    }
    es_free((void *)schema->metadata);
    schema->metadata = m;
    return ES_OK;
}

void es_schema_release(struct ArrowSchema *s)
{
    if (s && s->release)
        s->release(s);
}
