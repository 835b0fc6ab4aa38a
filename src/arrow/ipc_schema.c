/*
 * ipc_schema: Arrow IPC Schema flatbuffers (Schema.fbs) to and from C Data Interface schemas
 * (arrow layer; see ipc_format.h). The writer encodes the schema message and the file footer's
 * copy with es_arrow_encode_schema; the readers decode them with es_arrow_decode_schema.
 *
 * A record batch schema is a "+s" struct whose children are the columns: their names,
 * nullability, custom metadata (binary-safe) and flat types. Types we do not handle (nested,
 * dictionary, unions, intervals, decimal256, views, float16) give ES_UNSUPPORTED naming the
 * field; malformed type tables give ES_CORRUPT naming the field. Only little-endian schemas are
 * read.
 */
#include "arrow/ipc_format.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Type union (Schema.fbs). */
enum {
    T_NULL = 1,
    T_INT = 2,
    T_FLOAT = 3,
    T_BINARY = 4,
    T_UTF8 = 5,
    T_BOOL = 6,
    T_DECIMAL = 7,
    T_DATE = 8,
    T_TIME = 9,
    T_TIMESTAMP = 10,
    T_INTERVAL = 11,
    T_LIST = 12,
    T_STRUCT = 13,
    T_UNION = 14,
    T_FIXED_BINARY = 15,
    T_FIXED_LIST = 16,
    T_MAP = 17,
    T_DURATION = 18,
    T_LARGE_BINARY = 19,
    T_LARGE_UTF8 = 20,
    T_LARGE_LIST = 21,
    T_RUN_END = 22,
    T_BINARY_VIEW = 23,
    T_UTF8_VIEW = 24,
    T_LIST_VIEW = 25,
    T_LARGE_LIST_VIEW = 26
};

static const char *union_type_name(int tt)
{
    static const char *const names[] = {
        "NONE",          "Null",      "Int",           "FloatingPoint",
        "Binary",        "Utf8",      "Bool",          "Decimal",
        "Date",          "Time",      "Timestamp",     "Interval",
        "List",          "Struct",    "Union",         "FixedSizeBinary",
        "FixedSizeList", "Map",       "Duration",      "LargeBinary",
        "LargeUtf8",     "LargeList", "RunEndEncoded", "BinaryView",
        "Utf8View",      "ListView",  "LargeListView",
    };
    if (tt >= 0 && tt < (int)(sizeof names / sizeof names[0]))
        return names[tt];
    return "unknown";
}

/* A dictionary-encoded field (C Data Interface: its format is the index type, its dictionary
 * the value type): check that the index type is an integer and the value type flat; *value
 * (when not NULL) receives the value type. */
static es_status dict_value_type(es_type *value, const es_type *index, const struct ArrowSchema *c,
                                 es_error *err)
{
    es_type v;
    if (index->id < ES_TYPE_INT8 || index->id > ES_TYPE_UINT64)
        return es_error_set(err, ES_INVALID, 0, "dictionary index type '%s' is not an integer",
                            c->format);
    if (!c->dictionary->release || !c->dictionary->format)
        return es_error_set(err, ES_INVALID, 0, "dictionary schema is released");
    es_status st = es_type_parse(&v, c->dictionary->format, err);
    if (st == ES_OK && (v.id == ES_TYPE_STRUCT || c->dictionary->dictionary))
        st = es_error_set(err, ES_UNSUPPORTED, 0, "dictionary of '%s' is not supported",
                          c->dictionary->format);
    if (st == ES_OK && value)
        *value = v;
    return st;
}

/* Parse every child type of a record batch schema. *types is es_malloc'd. */
es_status es_arrow_batch_types(es_type **types, const struct ArrowSchema *schema, es_error *err)
{
    *types = NULL;
    if (!schema || !schema->release || !schema->format || strcmp(schema->format, "+s") != 0)
        return es_error_set(err, ES_INVALID, 0, "record batch schema must be a struct (\"+s\")");
    if (schema->n_children < 0 || (schema->n_children > 0 && !schema->children))
        return es_error_set(err, ES_INVALID, 0, "record batch schema has bad children");
    es_type *t = es_calloc((size_t)(schema->n_children ? schema->n_children : 1), sizeof *t);
    if (!t)
        return es_error_set(err, ES_NOMEM, 0, "out of memory parsing schema");
    for (int64_t i = 0; i < schema->n_children; i++) {
        const struct ArrowSchema *c = schema->children[i];
        const char *name = c && c->name ? c->name : "";
        es_status st = c ? es_type_parse(&t[i], c->format, err) : ES_INVALID;
        if (st == ES_OK && t[i].id == ES_TYPE_STRUCT)
            st = es_error_set(err, ES_UNSUPPORTED, 0, "nested struct is not supported");
        if (st == ES_OK && c->dictionary)
            st = dict_value_type(NULL, &t[i], c, err);
        if (st != ES_OK) {
            es_free(t);
            if (!c)
                return es_error_set(err, ES_INVALID, 0, "schema child %" PRId64 " is NULL", i);
            es_error_prefix(err, "field '%s'", name);
            return st;
        }
    }
    *types = t;
    return ES_OK;
}

/* ===================================================================== schema encoding */

/* Vector of KeyValue tables from a C Data Interface metadata blob; 0 when there is none. */
static es_fb_ref encode_kv(es_fb_builder *b, const char *metadata)
{
    int32_t n = es_metadata_count(metadata);
    if (n <= 0)
        return 0;
    es_fb_ref *refs = es_malloc((size_t)n * sizeof *refs);
    if (!refs) {
        b->failed = true;
        return 0;
    }
    for (int32_t i = 0; i < n; i++) {
        const char *k, *v;
        int32_t kl, vl;
        es_metadata_at(metadata, i, &k, &kl, &v, &vl);
        es_fb_ref kr = es_fb_create_string(b, k, (size_t)kl);
        es_fb_ref vr = es_fb_create_string(b, v, (size_t)vl);
        es_fb_table_start(b);
        es_fb_add_ref(b, KV_KEY, kr);
        es_fb_add_ref(b, KV_VALUE, vr);
        refs[i] = es_fb_table_end(b);
    }
    es_fb_ref r = es_fb_create_ref_vector(b, refs, (size_t)n);
    es_free(refs);
    return r;
}

/* The type table of a field; *tt receives the union type. */
static es_fb_ref encode_type(es_fb_builder *b, const es_type *t, uint8_t *tt)
{
    es_fb_ref tz = 0;
    if (t->id == ES_TYPE_TIMESTAMP && t->tz[0])
        tz = es_fb_create_string(b, t->tz, strnlen(t->tz, sizeof t->tz));
    es_fb_table_start(b);
    switch (t->id) {
    case ES_TYPE_NA:
        *tt = T_NULL;
        break;
    case ES_TYPE_BOOL:
        *tt = T_BOOL;
        break;
    case ES_TYPE_INT8:
    case ES_TYPE_UINT8:
    case ES_TYPE_INT16:
    case ES_TYPE_UINT16:
    case ES_TYPE_INT32:
    case ES_TYPE_UINT32:
    case ES_TYPE_INT64:
    case ES_TYPE_UINT64:
        *tt = T_INT;
        es_fb_add_scalar(b, 0, 4, (uint64_t)(t->byte_width * 8));
        es_fb_add_scalar(b, 1, 1,
                         t->id == ES_TYPE_INT8 || t->id == ES_TYPE_INT16 ||
                             t->id == ES_TYPE_INT32 || t->id == ES_TYPE_INT64);
        break;
    case ES_TYPE_FLOAT32:
    case ES_TYPE_FLOAT64:
        *tt = T_FLOAT;
        es_fb_add_scalar(b, 0, 2, t->id == ES_TYPE_FLOAT32 ? 1 : 2);
        break;
    case ES_TYPE_UTF8:
        *tt = T_UTF8;
        break;
    case ES_TYPE_LARGE_UTF8:
        *tt = T_LARGE_UTF8;
        break;
    case ES_TYPE_BINARY:
        *tt = T_BINARY;
        break;
    case ES_TYPE_LARGE_BINARY:
        *tt = T_LARGE_BINARY;
        break;
    case ES_TYPE_FIXED_BINARY:
        *tt = T_FIXED_BINARY;
        es_fb_add_scalar(b, 0, 4, (uint64_t)(uint32_t)t->byte_width);
        break;
    case ES_TYPE_DATE32:
    case ES_TYPE_DATE64:
        *tt = T_DATE;
        es_fb_add_scalar(b, 0, 2, t->id == ES_TYPE_DATE32 ? 0 : 1);
        break;
    case ES_TYPE_TIME32:
    case ES_TYPE_TIME64:
        *tt = T_TIME;
        es_fb_add_scalar(b, 0, 2, (uint64_t)t->unit);
        es_fb_add_scalar(b, 1, 4, t->id == ES_TYPE_TIME32 ? 32 : 64);
        break;
    case ES_TYPE_TIMESTAMP:
        *tt = T_TIMESTAMP;
        es_fb_add_scalar(b, 0, 2, (uint64_t)t->unit);
        if (tz)
            es_fb_add_ref(b, 1, tz);
        break;
    case ES_TYPE_DURATION:
        *tt = T_DURATION;
        es_fb_add_scalar(b, 0, 2, (uint64_t)t->unit);
        break;
    case ES_TYPE_DECIMAL128:
        *tt = T_DECIMAL;
        es_fb_add_scalar(b, 0, 4, (uint64_t)(uint32_t)t->precision);
        es_fb_add_scalar(b, 1, 4, (uint64_t)(uint32_t)t->scale);
        es_fb_add_scalar(b, 2, 4, 128);
        break;
    default:
        b->failed = true;
        *tt = 0;
        break;
    }
    return es_fb_table_end(b);
}

/* The Schema table. */
es_fb_ref es_arrow_encode_schema(es_fb_builder *b, const struct ArrowSchema *schema,
                                 const es_type *types)
{
    int64_t n = schema->n_children;
    es_fb_ref *fields = es_malloc((size_t)(n ? n : 1) * sizeof *fields);
    if (!fields) {
        b->failed = true;
        return 0;
    }
    for (int64_t i = 0; i < n; i++) {
        const struct ArrowSchema *c = schema->children[i];
        const char *name = c->name ? c->name : "";
        es_fb_ref nm = es_fb_create_string(b, name, strlen(name));
        uint8_t tt = 0;
        es_fb_ref dict = 0, ty;
        if (c->dictionary) {
            /* The field's type is the value type; DictionaryEncoding { id: the field's index,
             * indexType, isOrdered } (the writers give each dictionary field its own id). */
            es_type value;
            uint8_t itt;
            if (dict_value_type(&value, &types[i], c, NULL) != ES_OK)
                b->failed = true;
            ty = encode_type(b, &value, &tt);
            es_fb_ref it = encode_type(b, &types[i], &itt);
            es_fb_table_start(b);
            es_fb_add_scalar(b, 0, 8, (uint64_t)i);
            es_fb_add_ref(b, 1, it);
            es_fb_add_scalar(b, 2, 1, (c->flags & ARROW_FLAG_DICTIONARY_ORDERED) ? 1 : 0);
            dict = es_fb_table_end(b);
        } else {
            ty = encode_type(b, &types[i], &tt);
        }
        es_fb_ref kids = es_fb_create_ref_vector(b, NULL, 0);
        es_fb_ref md = encode_kv(b, c->metadata);
        es_fb_table_start(b);
        if (dict)
            es_fb_add_ref(b, FLD_DICTIONARY, dict);
        es_fb_add_ref(b, FLD_NAME, nm);
        es_fb_add_scalar(b, FLD_NULLABLE, 1, (c->flags & ARROW_FLAG_NULLABLE) ? 1 : 0);
        es_fb_add_scalar(b, FLD_TYPE_TYPE, 1, tt);
        es_fb_add_ref(b, FLD_TYPE, ty);
        es_fb_add_ref(b, FLD_CHILDREN, kids);
        if (md)
            es_fb_add_ref(b, FLD_METADATA, md);
        fields[i] = es_fb_table_end(b);
    }
    es_fb_ref fv = es_fb_create_ref_vector(b, fields, (size_t)n);
    es_free(fields);
    es_fb_ref md = encode_kv(b, schema->metadata);
    es_fb_table_start(b);
    es_fb_add_scalar(b, SCH_ENDIANNESS, 2, 0);
    es_fb_add_ref(b, SCH_FIELDS, fv);
    if (md)
        es_fb_add_ref(b, SCH_METADATA, md);
    return es_fb_table_end(b);
}

/* ===================================================================== schema decoding */

/* Binary-safe C Data Interface metadata blob from a vector of KeyValue; *out NULL when empty. */
static es_status decode_kv(char **out, const es_fb_vec *v, const char *what, es_error *err)
{
    *out = NULL;
    if (v->n == 0)
        return ES_OK;
    size_t size = 4;
    for (uint32_t i = 0; i < v->n; i++) {
        es_fb_table kv;
        const char *k, *val;
        uint32_t kl, vl;
        if (es_fb_vec_table(v, i, &kv) != ES_FB_OK ||
            es_fb_get_string(&kv, KV_KEY, &k, &kl) == ES_FB_BAD ||
            es_fb_get_string(&kv, KV_VALUE, &val, &vl) == ES_FB_BAD || kl > INT32_MAX ||
            vl > INT32_MAX)
            return es_error_set(err, ES_CORRUPT, 0, "%s: bad custom metadata entry %u", what, i);
        size += 8 + (size_t)kl + vl;
        if (size > INT32_MAX)
            return es_error_set(err, ES_CORRUPT, 0, "%s: custom metadata too large", what);
    }
    char *m = es_malloc(size);
    if (!m)
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory reading metadata", what);
    char *p = m;
    int32_t n32 = (int32_t)v->n;
    memcpy(p, &n32, 4);
    p += 4;
    for (uint32_t i = 0; i < v->n; i++) {
        es_fb_table kv;
        const char *k, *val;
        uint32_t kl, vl;
        es_fb_vec_table(v, i, &kv);
        es_fb_get_string(&kv, KV_KEY, &k, &kl);
        es_fb_get_string(&kv, KV_VALUE, &val, &vl);
        int32_t l = (int32_t)kl;
        memcpy(p, &l, 4);
        if (kl)
            memcpy(p + 4, k, kl);
        p += 4 + kl;
        l = (int32_t)vl;
        memcpy(p, &l, 4);
        if (vl)
            memcpy(p + 4, val, vl);
        p += 4 + vl;
    }
    *out = m;
    return ES_OK;
}

static es_status bad_type(es_error *err, const char *name, const char *why)
{
    return es_error_set(err, ES_CORRUPT, 0, "field '%s': %s", name, why);
}

static es_status decode_type(es_type *t, const es_fb_table *fld, const char *name, es_error *err)
{
    uint8_t tt;
    es_fb_table ty;
    memset(t, 0, sizeof *t);
    if (es_fb_get_u8(fld, FLD_TYPE_TYPE, 0, &tt) == ES_FB_BAD)
        return bad_type(err, name, "bad type tag");
    int r = es_fb_get_table(fld, FLD_TYPE, &ty);
    if (r == ES_FB_BAD)
        return bad_type(err, name, "bad type table");
    if (r == ES_FB_ABSENT || tt == 0)
        return bad_type(err, name, "missing type");
    int32_t i32a, i32b, i32c;
    int16_t i16;
    uint8_t u8;
    switch (tt) {
    case T_NULL:
        t->id = ES_TYPE_NA;
        return ES_OK;
    case T_BOOL:
        t->id = ES_TYPE_BOOL;
        return ES_OK;
    case T_INT: {
        if (es_fb_get_i32(&ty, 0, 0, &i32a) == ES_FB_BAD ||
            es_fb_get_u8(&ty, 1, 0, &u8) == ES_FB_BAD)
            return bad_type(err, name, "bad Int type");
        static const es_type_id ids[4][2] = {{ES_TYPE_UINT8, ES_TYPE_INT8},
                                             {ES_TYPE_UINT16, ES_TYPE_INT16},
                                             {ES_TYPE_UINT32, ES_TYPE_INT32},
                                             {ES_TYPE_UINT64, ES_TYPE_INT64}};
        int k = i32a == 8 ? 0 : i32a == 16 ? 1 : i32a == 32 ? 2 : i32a == 64 ? 3 : -1;
        if (k < 0)
            return bad_type(err, name, "bad Int bit width");
        t->id = ids[k][u8 ? 1 : 0];
        t->byte_width = i32a / 8;
        return ES_OK;
    }
    case T_FLOAT:
        if (es_fb_get_i16(&ty, 0, 0, &i16) == ES_FB_BAD)
            return bad_type(err, name, "bad FloatingPoint type");
        if (i16 == 0)
            return es_error_set(err, ES_UNSUPPORTED, 0, "field '%s': float16 is not supported",
                                name);
        if (i16 != 1 && i16 != 2)
            return bad_type(err, name, "bad float precision");
        t->id = i16 == 1 ? ES_TYPE_FLOAT32 : ES_TYPE_FLOAT64;
        t->byte_width = i16 == 1 ? 4 : 8;
        return ES_OK;
    case T_UTF8:
        t->id = ES_TYPE_UTF8;
        return ES_OK;
    case T_LARGE_UTF8:
        t->id = ES_TYPE_LARGE_UTF8;
        return ES_OK;
    case T_BINARY:
        t->id = ES_TYPE_BINARY;
        return ES_OK;
    case T_LARGE_BINARY:
        t->id = ES_TYPE_LARGE_BINARY;
        return ES_OK;
    case T_FIXED_BINARY:
        if (es_fb_get_i32(&ty, 0, 0, &i32a) == ES_FB_BAD || i32a <= 0)
            return bad_type(err, name, "bad FixedSizeBinary width");
        t->id = ES_TYPE_FIXED_BINARY;
        t->byte_width = i32a;
        return ES_OK;
    case T_DATE:
        if (es_fb_get_i16(&ty, 0, 1, &i16) == ES_FB_BAD || (i16 != 0 && i16 != 1))
            return bad_type(err, name, "bad Date unit");
        t->id = i16 == 0 ? ES_TYPE_DATE32 : ES_TYPE_DATE64;
        t->byte_width = i16 == 0 ? 4 : 8;
        return ES_OK;
    case T_TIME:
        if (es_fb_get_i16(&ty, 0, 1, &i16) == ES_FB_BAD ||
            es_fb_get_i32(&ty, 1, 32, &i32a) == ES_FB_BAD || i16 < 0 || i16 > 3 ||
            (i32a != 32 && i32a != 64) || ((i16 <= 1) != (i32a == 32)))
            return bad_type(err, name, "bad Time unit or bit width");
        t->id = i32a == 32 ? ES_TYPE_TIME32 : ES_TYPE_TIME64;
        t->unit = (es_time_unit)i16;
        t->byte_width = i32a / 8;
        return ES_OK;
    case T_TIMESTAMP: {
        const char *tz;
        uint32_t tzl;
        if (es_fb_get_i16(&ty, 0, 0, &i16) == ES_FB_BAD || i16 < 0 || i16 > 3 ||
            es_fb_get_string(&ty, 1, &tz, &tzl) == ES_FB_BAD)
            return bad_type(err, name, "bad Timestamp type");
        if (tzl >= sizeof t->tz || (tz && memchr(tz, 0, tzl)))
            return es_error_set(err, ES_UNSUPPORTED, 0,
                                "field '%s': timestamp time zone is too long", name);
        t->id = ES_TYPE_TIMESTAMP;
        t->unit = (es_time_unit)i16;
        t->byte_width = 8;
        if (tzl)
            memcpy(t->tz, tz, tzl);
        return ES_OK;
    }
    case T_DURATION:
        if (es_fb_get_i16(&ty, 0, 1, &i16) == ES_FB_BAD || i16 < 0 || i16 > 3)
            return bad_type(err, name, "bad Duration unit");
        t->id = ES_TYPE_DURATION;
        t->unit = (es_time_unit)i16;
        t->byte_width = 8;
        return ES_OK;
    case T_DECIMAL:
        if (es_fb_get_i32(&ty, 0, 0, &i32a) == ES_FB_BAD ||
            es_fb_get_i32(&ty, 1, 0, &i32b) == ES_FB_BAD ||
            es_fb_get_i32(&ty, 2, 128, &i32c) == ES_FB_BAD)
            return bad_type(err, name, "bad Decimal type");
        if (i32c != 128)
            return es_error_set(err, ES_UNSUPPORTED, 0, "field '%s': decimal%d is not supported",
                                name, (int)i32c);
        if (i32a < 1 || i32a > 38 || i32b > i32a)
            return bad_type(err, name, "bad decimal128 precision or scale");
        t->id = ES_TYPE_DECIMAL128;
        t->byte_width = 16;
        t->precision = i32a;
        t->scale = i32b;
        return ES_OK;
    default:
        if (tt <= T_LARGE_LIST_VIEW)
            return es_error_set(err, ES_UNSUPPORTED, 0,
                                "field '%s': Arrow type %s is not supported", name,
                                union_type_name(tt));
        return bad_type(err, name, "unknown type tag");
    }
}

/* Decode a Schema table into a fresh "+s" ArrowSchema. */
es_status es_arrow_decode_schema(struct ArrowSchema *out, const es_fb_table *sch, es_error *err)
{
    int16_t endian;
    es_fb_vec fields, md;
    memset(out, 0, sizeof *out);
    if (es_fb_get_i16(sch, SCH_ENDIANNESS, 0, &endian) == ES_FB_BAD)
        return es_error_set(err, ES_CORRUPT, 0, "schema: bad endianness");
    if (endian != 0)
        return es_error_set(err, ES_UNSUPPORTED, 0, "schema: big-endian data is not supported");
    int r = es_fb_get_vector(sch, SCH_FIELDS, 4, &fields);
    if (r == ES_FB_BAD)
        return es_error_set(err, ES_CORRUPT, 0, "schema: bad fields vector");
    es_status st = es_schema_init_struct(out, fields.n, err);
    if (st)
        return st;
    for (uint32_t i = 0; i < fields.n; i++) {
        es_fb_table fld, dict;
        const char *name;
        uint32_t nlen;
        uint8_t nullable;
        es_fb_vec kids;
        char fname[256];
        if (es_fb_vec_table(&fields, i, &fld) != ES_FB_OK ||
            es_fb_get_string(&fld, FLD_NAME, &name, &nlen) == ES_FB_BAD ||
            es_fb_get_u8(&fld, FLD_NULLABLE, 0, &nullable) == ES_FB_BAD) {
            st = es_error_set(err, ES_CORRUPT, 0, "schema: bad field %u", i);
            goto fail;
        }
        size_t flen = name ? strnlen(name, nlen < 200 ? nlen : 200) : 0; /* for messages */
        memcpy(fname, name ? name : "", flen);
        fname[flen] = 0;
        r = es_fb_get_table(&fld, FLD_DICTIONARY, &dict);
        if (r == ES_FB_BAD) {
            st = es_error_set(err, ES_CORRUPT, 0, "field '%s': bad dictionary", fname);
            goto fail;
        }
        es_type t, index = {0};
        if (r == ES_FB_OK) {
            /* DictionaryEncoding { id: long; indexType: Int (absent: int32); isOrdered }. */
            es_fb_table it;
            int32_t bits = 32;
            uint8_t sign = 1, ordered = 0;
            int ri = es_fb_get_table(&dict, 1, &it);
            if (ri == ES_FB_BAD || es_fb_get_u8(&dict, 2, 0, &ordered) == ES_FB_BAD ||
                (ri == ES_FB_OK && (es_fb_get_i32(&it, 0, 0, &bits) == ES_FB_BAD ||
                                    es_fb_get_u8(&it, 1, 0, &sign) == ES_FB_BAD))) {
                st = es_error_set(err, ES_CORRUPT, 0, "field '%s': bad dictionary", fname);
                goto fail;
            }
            static const es_type_id ids[4][2] = {{ES_TYPE_UINT8, ES_TYPE_INT8},
                                                 {ES_TYPE_UINT16, ES_TYPE_INT16},
                                                 {ES_TYPE_UINT32, ES_TYPE_INT32},
                                                 {ES_TYPE_UINT64, ES_TYPE_INT64}};
            int k = bits == 8 ? 0 : bits == 16 ? 1 : bits == 32 ? 2 : bits == 64 ? 3 : -1;
            if (k < 0) {
                st = es_error_set(err, ES_CORRUPT, 0, "field '%s': bad dictionary index width",
                                  fname);
                goto fail;
            }
            index.id = ids[k][sign ? 1 : 0];
            index.byte_width = bits / 8;
            index.precision = ordered; /* carried to the flags below */
        }
        st = decode_type(&t, &fld, fname, err);
        if (st)
            goto fail;
        if (index.id && t.id == ES_TYPE_NA) {
            st = es_error_set(err, ES_UNSUPPORTED, 0, "field '%s': dictionary of nulls", fname);
            goto fail;
        }
        r = es_fb_get_vector(&fld, FLD_CHILDREN, 4, &kids);
        if (r == ES_FB_BAD || kids.n != 0) {
            st = bad_type(err, fname, "unexpected children");
            goto fail;
        }
        char fmt[96];
        st = es_type_format(fmt, sizeof fmt, &t, err);
        if (st)
            goto fail;
        /* Names may hold NUL bytes in theory; they are cut there. */
        char *nm = es_malloc((size_t)nlen + 1);
        if (!nm) {
            st = es_error_set(err, ES_NOMEM, 0, "out of memory reading schema");
            goto fail;
        }
        if (nlen)
            memcpy(nm, name, nlen);
        nm[nlen] = 0;
        if (index.id) {
            /* C Data Interface: the field has the index type, its dictionary the values. */
            char ifmt[8];
            struct ArrowSchema *d = es_calloc(1, sizeof *d);
            st = d ? es_type_format(ifmt, sizeof ifmt, &index, err)
                   : es_error_set(err, ES_NOMEM, 0, "out of memory reading schema");
            if (!st)
                st = es_schema_init(out->children[i], ifmt, nm,
                                    (nullable ? ARROW_FLAG_NULLABLE : 0) |
                                        (index.precision ? ARROW_FLAG_DICTIONARY_ORDERED : 0),
                                    err);
            if (!st)
                st = es_schema_init(d, fmt, "", ARROW_FLAG_NULLABLE, err);
            if (!st)
                out->children[i]->dictionary = d;
            else
                es_free(d);
        } else {
            st = es_schema_init(out->children[i], fmt, nm, nullable ? ARROW_FLAG_NULLABLE : 0, err);
        }
        es_free(nm);
        if (st)
            goto fail;
        r = es_fb_get_vector(&fld, FLD_METADATA, 4, &md);
        if (r == ES_FB_BAD) {
            st = es_error_set(err, ES_CORRUPT, 0, "field '%s': bad custom metadata", fname);
            goto fail;
        }
        char *m;
        st = decode_kv(&m, &md, fname, err);
        if (st)
            goto fail;
        out->children[i]->metadata = m;
    }
    r = es_fb_get_vector(sch, SCH_METADATA, 4, &md);
    if (r == ES_FB_BAD) {
        st = es_error_set(err, ES_CORRUPT, 0, "schema: bad custom metadata");
        goto fail;
    }
    char *m;
    st = decode_kv(&m, &md, "schema", err);
    if (st)
        goto fail;
    out->metadata = m;
    return ES_OK;
fail:
    es_schema_release(out);
    memset(out, 0, sizeof *out);
    return st;
}

es_status es_arrow_schema_dict_ids(int64_t *ids, const es_fb_table *sch, int64_t n_fields,
                                   es_error *err)
{
    es_fb_vec fields;
    if (es_fb_get_vector(sch, SCH_FIELDS, 4, &fields) == ES_FB_BAD || (int64_t)fields.n != n_fields)
        return es_error_set(err, ES_CORRUPT, 0, "schema: bad fields vector");
    for (uint32_t i = 0; i < fields.n; i++) {
        es_fb_table fld, dict;
        ids[i] = -1;
        if (es_fb_vec_table(&fields, i, &fld) != ES_FB_OK)
            return es_error_set(err, ES_CORRUPT, 0, "schema: bad field %u", i);
        int r = es_fb_get_table(&fld, FLD_DICTIONARY, &dict);
        if (r == ES_FB_OK && (es_fb_get_i64(&dict, 0, 0, &ids[i]) == ES_FB_BAD || ids[i] < 0))
            return es_error_set(err, ES_CORRUPT, 0, "schema: bad dictionary id of field %u", i);
    }
    return ES_OK;
}
