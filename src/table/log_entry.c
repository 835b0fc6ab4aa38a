/*
 * log_entry: the bytes of the commit log (table layer, below log.c): commit entries and
 * checkpoints as JSON with a CRC-32C trailer (es_entry_encode / es_entry_decode, every action
 * and its validation) and the _last_checkpoint hint, read with the small strict JSON reader of
 * log_json.c (no floats, bounded depth). Layout: docs/FORMAT.md sections 3 to 5.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "table/evolve.h"
#include "table/log.h"
#include "table/log_json.h"

/* ------------------------------------------------------------ JSON output */

static es_status put_str(es_buf *b, const char *s)
{
    es_status st = es_buf_append(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p && !st; p++) {
        if (*p == '"' || *p == '\\') {
            char e[2] = {'\\', (char)*p};
            st = es_buf_append(b, e, 2);
        } else if (*p < 0x20) {
            st = es_buf_printf(b, "\\u%04x", *p);
        } else {
            st = es_buf_append(b, p, 1);
        }
    }
    return st ? st : es_buf_append(b, "\"", 1);
}

static es_status put_hex(es_buf *b, const uint8_t *p, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    es_status st = es_buf_append(b, "\"", 1);
    for (size_t i = 0; i < n && !st; i++) {
        char e[2] = {hx[p[i] >> 4], hx[p[i] & 15]};
        st = es_buf_append(b, e, 2);
    }
    return st ? st : es_buf_append(b, "\"", 1);
}

/* The hot path of a small commit (es_entry_encode, encode_inline) appends its constant text and
 * integers directly: a printf costs more than the rest of the encoding. */
static es_status put_lit(es_buf *b, const char *s)
{
    return es_buf_append(b, s, strlen(s));
}

static es_status put_i64(es_buf *b, int64_t v)
{
    char t[24];
    int i = (int)sizeof(t);
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        t[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        t[--i] = '-';
    return es_buf_append(b, t + i, sizeof(t) - (size_t)i);
}

/* 8 lowercase hex digits (a checksum), as "%08" PRIx32. */
static es_status put_hex32(es_buf *b, uint32_t v)
{
    static const char hx[] = "0123456789abcdef";
    char t[8];
    for (int i = 0; i < 8; i++)
        t[i] = hx[v >> (28 - 4 * i) & 15];
    return es_buf_append(b, t, sizeof(t));
}

/* The value by which a reader finds the manifest of the part a set_dv or remove_part names
 * (manifest.c, es_manifest_hint): ,"key_col":<column id>,"key":"<hex>". */
static es_status put_key(es_buf *b, const es_action *a)
{
    if (!a->has_key)
        return ES_OK;
    es_status st = put_lit(b, ",\"key_col\":");
    st = st ? st : put_i64(b, a->key_col);
    st = st ? st : put_lit(b, ",\"key\":");
    return st ? st : put_hex(b, a->key, a->key_len);
}

/* ------------------------------------------------- inline rows (add_inline) */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* An inline part (rows inlined in the entry: docs/FORMAT.md section 3, add_inline). This pair
 * of functions is all of its encoding: a checkpoint or any other catalog format carries the
 * part by calling them. */
static es_status put_b64(es_buf *b, const es_blob *ipc)
{
    es_status st = es_buf_reserve(b, b->len + (ipc->size + 2) / 3 * 4 + 3);
    if (st)
        return st;
    const uint8_t *p = ipc->data;
    char *o = (char *)b->data + b->len;
    size_t i = 0;
    for (; i + 3 <= ipc->size; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *o++ = b64[v >> 18];
        *o++ = b64[v >> 12 & 63];
        *o++ = b64[v >> 6 & 63];
        *o++ = b64[v & 63];
    }
    if (i < ipc->size) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < ipc->size ? (uint32_t)p[i + 1] << 8 : 0);
        *o++ = b64[v >> 18];
        *o++ = b64[v >> 12 & 63];
        *o++ = i + 1 < ipc->size ? b64[v >> 6 & 63] : '=';
        *o++ = '=';
    }
    b->len = (size_t)(o - (char *)b->data);
    return ES_OK;
}

/* The Schema message alone of an inline stream with these columns (fields c<id>): what an
 * add_inline in its short form ("fields" and "batch", format 4) leaves out of its stream. */
static es_status inline_schema_message(uint8_t **out, size_t *len, const es_part_col *cols,
                                       int64_t n)
{
    struct ArrowSchema sc;
    es_ipc_writer *w = NULL;
    *out = NULL;
    *len = 0;
    es_status st = es_part_schema(&sc, cols, n, NULL);
    if (st)
        return st;
    st = es_ipc_writer_new(&w, &sc, ES_IPC_STREAM, NULL, NULL);
    if (!st)
        st = es_ipc_writer_finish(w, out, len, NULL);
    es_ipc_writer_free(w);
    es_schema_release(&sc);
    if (!st && *len < 8) {
        es_free(*out);
        *out = NULL;
        st = ES_INTERNAL;
    }
    if (!st)
        *len -= 8; /* without the end-of-stream marker */
    return st;
}

/* The Schema messages of the last column sets seen (inline_short runs twice per inline insert,
 * and building one takes an IPC writer: about 13,000 instructions), keyed by the columns' ids,
 * nullability and formats. Process-lifetime (plain malloc, as group.c's groups), under a mutex. */
#define SCHEMA_CACHE_N 8
typedef struct schema_cached {
    uint8_t *sig, *msg;
    size_t sig_len, len;
} schema_cached;
static schema_cached schema_cache[SCHEMA_CACHE_N];
static int schema_cache_next;
static pthread_mutex_t schema_cache_mu = PTHREAD_MUTEX_INITIALIZER;

static es_status columns_sig(es_buf *sig, const es_part_col *cols, int64_t n)
{
    es_status st = ES_OK;
    for (int64_t c = 0; c < n && !st; c++) {
        uint8_t nul = cols[c].nullable ? 1 : 0;
        st = es_buf_append(sig, &cols[c].id, sizeof(cols[c].id));
        st = st ? st : es_buf_append(sig, &nul, 1);
        st = st ? st : es_buf_append(sig, cols[c].format, strlen(cols[c].format) + 1);
    }
    return st;
}

/* Is the Schema message of columns cols[0..n) the first len bytes of ipc? 1 yes, 0 no, -1 out
 * of memory. */
static int schema_is(const es_part_col *cols, int64_t n, const es_blob *ipc, size_t len)
{
    es_buf sig = {0};
    if (columns_sig(&sig, cols, n)) {
        es_buf_reset(&sig);
        return -1;
    }
    int same = -2;
    pthread_mutex_lock(&schema_cache_mu);
    for (int i = 0; i < SCHEMA_CACHE_N && same == -2; i++) {
        const schema_cached *k = &schema_cache[i];
        if (k->sig && k->sig_len == sig.len && memcmp(k->sig, sig.data, sig.len) == 0)
            same = k->len == len && len <= ipc->size && memcmp(k->msg, ipc->data, len) == 0;
    }
    pthread_mutex_unlock(&schema_cache_mu);
    if (same != -2) {
        es_buf_reset(&sig);
        return same;
    }
    uint8_t *schema = NULL;
    size_t slen = 0;
    if (inline_schema_message(&schema, &slen, cols, n) != ES_OK) {
        es_buf_reset(&sig);
        return -1;
    }
    same = slen == len && len <= ipc->size && memcmp(schema, ipc->data, len) == 0;
    uint8_t *ksig = malloc(sig.len), *kmsg = malloc(slen ? slen : 1);
    if (ksig && kmsg) {
        memcpy(ksig, sig.data, sig.len);
        memcpy(kmsg, schema, slen);
        pthread_mutex_lock(&schema_cache_mu);
        schema_cached *k = &schema_cache[schema_cache_next];
        schema_cache_next = (schema_cache_next + 1) % SCHEMA_CACHE_N;
        free(k->sig);
        free(k->msg);
        *k = (schema_cached){ksig, kmsg, sig.len, slen};
        pthread_mutex_unlock(&schema_cache_mu);
    } else {
        free(ksig);
        free(kmsg);
    }
    es_free(schema);
    es_buf_reset(&sig);
    return same;
}

/* Can inline part m be written in the short form: is its stream's Schema message exactly the
 * one its columns give (then the reader rebuilds it from "fields")? 1 yes, 0 no, -1 out of
 * memory. */
static int inline_short(const es_part_meta *m)
{
    const es_part_idx *x = m->inline_idx;
    if (!x || x->n_batches < 1 || !m->cols || m->n_cols < 1 || x->offset[0] < 0)
        return 0;
    for (int64_t c = 0; c < m->n_cols; c++)
        if (!m->cols[c].format[0])
            return 0;
    /* out of memory (-1): the caller fails, so both calls agree (format and form) */
    return schema_is(m->cols, m->n_cols, m->inline_ipc, (size_t)x->offset[0]);
}

/* Inline parts acts[0..n) (add_part actions of one table with inline rows of one schema):
 * one part as {"part","rows","ipc"}, several (a checkpoint) as {"parts":[[id,rows],...],"ipc"}
 * with their rows in turn in one record batch. */
static es_status encode_inline(es_buf *b, const es_action *acts, int64_t n)
{
    const es_part_meta *m = acts[0].part;
    es_status st;
    int short_form = n == 1 ? inline_short(m) : 0;
    if (short_form < 0)
        return ES_NOMEM;
    if (short_form) {
        /* The short form: the columns as [id, format, nullable], the stream without them. */
        st = put_lit(b, "{\"op\":\"add_inline\",\"table_id\":\"");
        st = st ? st : put_lit(b, acts[0].table_id);
        st = st ? st : put_lit(b, "\",\"part\":\"");
        st = st ? st : put_lit(b, m->id);
        st = st ? st : put_lit(b, "\",\"rows\":");
        st = st ? st : put_i64(b, m->rows);
        st = st ? st : put_lit(b, ",\"fields\":[");
        for (int64_t c = 0; c < m->n_cols && !st; c++) {
            st = put_lit(b, c ? ",[" : "[");
            st = st ? st : put_i64(b, m->cols[c].id);
            st = st ? st : put_lit(b, ",");
            st = st ? st : put_str(b, m->cols[c].format);
            st = st ? st : put_lit(b, m->cols[c].nullable ? ",1]" : ",0]");
        }
        es_blob rest = *m->inline_ipc;
        rest.data += m->inline_idx->offset[0];
        rest.size -= (size_t)m->inline_idx->offset[0];
        st = st ? st : put_lit(b, "],\"batch\":\"");
        st = st ? st : put_b64(b, &rest);
        return st ? st : put_lit(b, "\"}");
    }
    if (n == 1) {
        st = es_buf_printf(
            b,
            "{\"op\":\"add_inline\",\"table_id\":\"%s\",\"part\":\"%s\",\"rows\":%" PRId64
            ",\"ipc\":\"",
            acts[0].table_id, m->id, m->rows);
        st = st ? st : put_b64(b, m->inline_ipc);
        return st ? st : es_buf_printf(b, "\"}");
    }
    es_part_meta **parts = es_calloc((size_t)n, sizeof(*parts));
    es_blob *merged = NULL;
    if (!parts)
        return ES_NOMEM;
    for (int64_t i = 0; i < n; i++)
        parts[i] = acts[i].part;
    st = es_part_inline_merge(&merged, parts, n, NULL);
    es_free(parts);
    if (st)
        return st;
    st = put_lit(b, "{\"op\":\"add_inline\",\"table_id\":\"");
    st = st ? st : put_lit(b, acts[0].table_id);
    st = st ? st : put_lit(b, "\",\"parts\":[");
    for (int64_t i = 0; i < n && !st; i++) {
        st = put_lit(b, i ? ",[\"" : "[\"");
        st = st ? st : put_lit(b, acts[i].part->id);
        st = st ? st : put_lit(b, "\",");
        st = st ? st : put_i64(b, acts[i].part->rows);
        st = st ? st : put_lit(b, "]");
    }
    st = st ? st : put_lit(b, "],\"ipc\":\"");
    st = st ? st : put_b64(b, merged);
    es_blob_unref(merged);
    return st ? st : put_lit(b, "\"}");
}

/* The inline add_part actions that start at acts[0] and can share one add_inline. */
static int64_t inline_run(const es_action *acts, int64_t n)
{
    int64_t k = 1;
    while (k < n && acts[k].kind == ES_ACT_ADD_PART && acts[k].part->inline_ipc &&
           strcmp(acts[k].table_id, acts[0].table_id) == 0 &&
           es_part_inline_same_schema(acts[0].part, acts[k].part))
        k++;
    return k;
}

static int b64val(uint8_t c)
{
    return c >= 'A' && c <= 'Z'   ? c - 'A'
           : c >= 'a' && c <= 'z' ? c - 'a' + 26
           : c >= '0' && c <= '9' ? c - '0' + 52
           : c == '+'             ? 62
           : c == '/'             ? 63
                                  : -1;
}

/* Strict base64 (padded, no whitespace) into a new blob; 0 when malformed. */
static int decode_b64(es_blob **out, const char *s, size_t n, es_status *st)
{
    *out = NULL;
    if (n == 0 || n % 4)
        return 0;
    size_t pad = s[n - 1] == '=' ? (s[n - 2] == '=' ? 2 : 1) : 0;
    size_t len = n / 4 * 3 - pad;
    uint8_t *d = es_malloc(len ? len : 1);
    if (!d) {
        *st = ES_NOMEM;
        return 0;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        for (int k = 0; k < 4; k++) {
            v[k] = b64val((uint8_t)s[i + k]);
            if (v[k] < 0 && !(i + 4 == n && k >= 4 - (int)pad)) {
                es_free(d);
                return 0;
            }
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
                     (uint32_t)(v[2] < 0 ? 0 : v[2]) << 6 | (uint32_t)(v[3] < 0 ? 0 : v[3]);
        uint8_t t[3] = {(uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w};
        for (int k = 0; k < 3 && o < len; k++)
            d[o++] = t[k];
    }
    if (es_blob_new_owned(out, d, len)) {
        es_free(d);
        *st = ES_NOMEM;
        return 0;
    }
    return 1;
}

static const char *const change_names[] = {"add_column",   "drop_column", "rename_column",
                                           "rename_table", "set_type",    "set_not_null",
                                           "drop_not_null"};

/* The fields of a table definition, shared by create_table and alter_table: "table",
 * "table_id", "primary_key", "next_column_id", "columns" (with "default" when a column has
 * one), then the closing brace. */
static es_status put_table(es_buf *b, const es_tabledef *t)
{
    es_status st = es_buf_printf(b, "\"table\":");
    st = st ? st : put_str(b, t->name);
    st = st ? st : es_buf_printf(b, ",\"table_id\":\"%s\",\"primary_key\":", t->id);
    st = st ? st : (t->pk >= 0 ? put_str(b, t->cols[t->pk].name) : es_buf_printf(b, "null"));
    st =
        st ? st : es_buf_printf(b, ",\"next_column_id\":%" PRId64 ",\"columns\":[", t->next_col_id);
    for (int64_t i = 0; i < t->n_cols && !st; i++) {
        const es_column *c = &t->cols[i];
        st = es_buf_printf(b, "%s{\"id\":%" PRId64 ",\"name\":", i ? "," : "", c->id);
        st = st ? st : put_str(b, c->name);
        st = st ? st : es_buf_printf(b, ",\"type\":");
        st = st ? st : put_str(b, c->format);
        st = st ? st : es_buf_printf(b, ",\"nullable\":%s", c->nullable ? "true" : "false");
        if (!st && c->def) {
            st = es_buf_printf(b, ",\"default\":");
            st = st ? st : put_hex(b, c->def, (size_t)c->def_len);
        }
        st = st ? st : es_buf_printf(b, "}");
    }
    return st ? st : es_buf_printf(b, "]}");
}

/* The type part m's column k was written with, when it is not the type of table t's column of
 * that id (a checkpoint after an alteration: the column was dropped or widened since); else
 * NULL. t NULL (commit entries: parts are written in the table's current types): NULL. */
static const char *part_col_type(const es_tabledef *t, const es_part_meta *m, int64_t k)
{
    if (!t || !m->cols || !m->cols[k].format[0])
        return NULL;
    for (int64_t c = 0; c < t->n_cols; c++)
        if (t->cols[c].id == m->col_ids[k])
            return strcmp(t->cols[c].format, m->cols[k].format) ? m->cols[k].format : NULL;
    return m->cols[k].format;
}

/* Does the entry need format 3 for an alteration (a column default, a part column type)? */
static int needs_alter_format(const es_entry *e)
{
    for (int64_t i = 0; i < e->n_actions; i++) {
        const es_action *a = &e->actions[i];
        if (a->kind == ES_ACT_ALTER_TABLE)
            return 1;
        for (int64_t c = 0; a->kind == ES_ACT_CREATE_TABLE && c < a->table->n_cols; c++)
            if (a->table->cols[c].def)
                return 1;
        for (int64_t k = 0; a->kind == ES_ACT_ADD_PART && k < a->part->n_cols; k++)
            if (a->typed || part_col_type(a->table, a->part, k))
                return 1;
    }
    return 0;
}

/* The "columns" array of add_part and manifest actions, then "]}"; a column's "type" when t
 * (the table of an add_part in a checkpoint) has it with another type, or always when `typed`
 * (manifests and their summaries: read after alterations made since they were written). */
static es_status put_columns(es_buf *b, const es_part_meta *m, const es_tabledef *t, int typed)
{
    es_status st = ES_OK;
    for (int64_t i = 0; i < m->n_cols && !st; i++) {
        const es_colstat *cs = &m->stats[i];
        st = put_lit(b, i ? ",{\"id\":" : "{\"id\":");
        st = st ? st : put_i64(b, m->col_ids[i]);
        st = st ? st : put_lit(b, ",\"nulls\":");
        st = st ? st : put_i64(b, cs->null_count);
        const char *ty =
            typed && m->cols && m->cols[i].format[0] ? m->cols[i].format : part_col_type(t, m, i);
        if (!st && ty) {
            st = put_lit(b, ",\"type\":");
            st = st ? st : put_str(b, ty);
        }
        if (!st && cs->has_min) {
            st = put_lit(b, ",\"min\":");
            st = st ? st : put_hex(b, cs->min, cs->min_len);
        }
        if (!st && cs->has_max) {
            st = put_lit(b, ",\"max\":");
            st = st ? st : put_hex(b, cs->max, cs->max_len);
        }
        st = st ? st : put_lit(b, "}");
    }
    return st ? st : put_lit(b, "]}");
}

/* A checkpoint's manifest action (format 3, docs/FORMAT.md section 4a). */
static es_status encode_manifest(es_buf *b, const es_action *a)
{
    const es_mfref *f = a->mf;
    char key[256];
    es_manifest_key(key, sizeof(key), f->table_id, f->id);
    es_status st = es_buf_printf(
        b,
        "{\"op\":\"manifest\",\"table_id\":\"%s\",\"manifest\":\"%s\",\"bytes\":%" PRId64
        ",\"crc\":\"%08" PRIx32 "\",\"parts\":%" PRId64 ",\"rows\":%" PRId64
        ",\"live_rows\":%" PRId64 ",\"data_bytes\":%" PRId64,
        f->table_id, key, f->bytes, f->crc, f->n_parts, f->sum->rows, f->live_rows,
        f->sum->data_bytes);
    if (!st && (f->inline_rows || f->inline_bytes)) /* inline parts among them (4a) */
        st = es_buf_printf(b, ",\"inline_rows\":%" PRId64 ",\"inline_bytes\":%" PRId64,
                           f->inline_rows, f->inline_bytes);
    if (!st && f->level) /* a list (docs/FORMAT.md 4a) */
        st = es_buf_printf(b, ",\"level\":%d,\"manifests\":%" PRId64, f->level, f->n_children);
    st = st ? st : es_buf_printf(b, ",\"columns\":[");
    return st ? st : put_columns(b, f->sum, NULL, 1);
}

/* ------------------------------------------------------- index actions */

static es_status put_cov(es_buf *b, const es_index_cov *c)
{
    return es_buf_printf(b,
                         "\"part\":\"%s\",\"object\":\"%s\",\"bytes\":%" PRId64
                         ",\"entries\":%" PRId64 ",\"lookup_offset\":%" PRId64
                         ",\"lookup_bytes\":%" PRId64 ",\"lookup_crc\":\"%08" PRIx32 "\"",
                         c->part, c->obj, c->bytes, c->entries, c->lookup_off, c->lookup_len,
                         c->lookup_crc);
}

/* create_index {"table_id","index","index_id","column","unique"[,"covers":[{cov}...]]} (a
 * checkpoint lists the coverage), drop_index {"table_id","index","index_id"}, add_index
 * {"table_id","index","index_id", cov}. */
static es_status encode_index(es_buf *b, const es_action *a)
{
    static const char *ops[] = {"create_index", "drop_index", "add_index"};
    const es_index_def *d = a->index;
    es_status st = es_buf_printf(b, "{\"op\":\"%s\",\"table_id\":\"%s\",\"index\":",
                                 ops[a->kind - ES_ACT_CREATE_INDEX], a->table_id);
    st = st ? st : put_str(b, d->name);
    st = st ? st : es_buf_printf(b, ",\"index_id\":\"%s\"", d->id);
    if (!st && a->kind == ES_ACT_CREATE_INDEX) {
        st = es_buf_printf(b, ",\"column\":%" PRId64 ",\"unique\":%s", d->col_id,
                           d->unique ? "true" : "false");
        if (!st && d->n_cov > 0) {
            st = es_buf_printf(b, ",\"covers\":[");
            for (int64_t i = 0; i < d->n_cov && !st; i++) {
                st = es_buf_printf(b, "%s{", i ? "," : "");
                st = st ? st : put_cov(b, &d->cov[i]);
                st = st ? st : es_buf_printf(b, "}");
            }
            st = st ? st : es_buf_printf(b, "]");
        }
    } else if (!st && a->kind == ES_ACT_ADD_INDEX) {
        st = es_buf_printf(b, ",");
        st = st ? st : put_cov(b, &d->cov[0]);
        st = st ? st : put_key(b, a);
    }
    return st ? st : es_buf_printf(b, "}");
}

static es_status encode_action(es_buf *b, const es_action *a)
{
    es_status st = ES_OK;
    switch (a->kind) {
    case ES_ACT_CREATE_TABLE:
        st = es_buf_printf(b, "{\"op\":\"create_table\",");
        st = st ? st : put_table(b, a->table);
        break;
    case ES_ACT_DROP_TABLE:
        st = es_buf_printf(b, "{\"op\":\"drop_table\",\"table\":");
        st = st ? st : put_str(b, a->table_name ? a->table_name : "");
        st = st ? st : es_buf_printf(b, ",\"table_id\":\"%s\"}", a->table_id);
        break;
    case ES_ACT_ADD_PART: {
        const es_part_meta *m = a->part;
        if (m->inline_ipc) {
            st = encode_inline(b, a, 1);
            break;
        }
        /* (appended piece by piece: a checkpoint holds one per part) */
        st = put_lit(b, "{\"op\":\"add_part\",\"table_id\":\"");
        st = st ? st : put_lit(b, a->table_id);
        st = st ? st : put_lit(b, "\",\"part\":\"");
        st = st ? st : put_lit(b, m->id);
        st = st ? st : put_lit(b, "\",\"rows\":");
        st = st ? st : put_i64(b, m->rows);
        st = st ? st : put_lit(b, ",\"batches\":");
        st = st ? st : put_i64(b, m->n_batches);
        st = st ? st : put_lit(b, ",\"data_bytes\":");
        st = st ? st : put_i64(b, m->data_bytes);
        st = st ? st : put_lit(b, ",\"idx_bytes\":");
        st = st ? st : put_i64(b, m->idx_bytes);
        st = st ? st : put_lit(b, ",\"idx_crc\":\"");
        st = st ? st : put_hex32(b, m->idx_crc);
        st = st ? st : put_lit(b, "\",\"columns\":[");
        st = st ? st : put_columns(b, m, a->table, a->typed);
        break;
    }
    case ES_ACT_REMOVE_PART:
        /* (appended piece by piece: a flush removes every inline part) */
        st = put_lit(b, "{\"op\":\"remove_part\",\"table_id\":\"");
        st = st ? st : put_lit(b, a->table_id);
        st = st ? st : put_lit(b, "\",\"part\":\"");
        st = st ? st : put_lit(b, a->part_id);
        st = st ? st : put_lit(b, "\"");
        st = st ? st : put_key(b, a);
        st = st ? st
                : put_lit(b, a->compacted ? ",\"compacted\":true}"
                             : a->flushed ? ",\"flushed\":true}"
                                          : "}");
        break;
    case ES_ACT_SET_DV: {
        const es_dvref *d = a->dv;
        st = es_buf_printf(b, "{\"op\":\"set_dv\",\"table_id\":\"%s\",\"part\":\"%s\"", a->table_id,
                           a->part_id);
        st = st ? st : put_key(b, a);
        st = st ? st : es_buf_printf(b, ",");
        if (!st && d->blob) {
            st = es_buf_printf(b, "\"dv_inline\":");
            st = st ? st : put_hex(b, d->blob, d->blob_len);
        } else if (!st) {
            char key[256];
            es_part_dv_key(key, sizeof(key), a->table_id, a->part_id, d->id);
            st = es_buf_printf(
                b, "\"dv\":\"%s\",\"dv_bytes\":%" PRId64 ",\"dv_crc\":\"%08" PRIx32 "\"", key,
                d->bytes, d->crc);
        }
        st = st ? st : es_buf_printf(b, ",\"deleted\":%" PRId64 "}", d->deleted);
        break;
    }
    case ES_ACT_VACUUM:
        st = es_buf_printf(
            b, "{\"op\":\"vacuum\",\"horizon_ms\":%" PRId64 ",\"retain_from\":%" PRId64 "}",
            a->horizon_ms, a->retain_from);
        break;
    case ES_ACT_MANIFEST:
        st = encode_manifest(b, a);
        break;
    case ES_ACT_ALTER_TABLE:
        st =
            es_buf_printf(b, "{\"op\":\"alter_table\",\"change\":\"%s\",", change_names[a->change]);
        st = st ? st : put_table(b, a->table);
        break;
    case ES_ACT_CREATE_INDEX:
    case ES_ACT_DROP_INDEX:
    case ES_ACT_ADD_INDEX:
        st = encode_index(b, a);
        break;
    }
    return st;
}

#define TRAILER_LEN ES_TRAILER_LEN

static es_status put_trailer(es_buf *b)
{
    uint32_t crc = es_crc32c(0, b->data, b->len);
    static const char hx[] = "0123456789abcdef";
    char t[] = ",\"crc\":\"00000000\"}\n";
    for (int i = 0; i < 8; i++)
        t[8 + i] = hx[crc >> (28 - 4 * i) & 15];
    return es_buf_append(b, t, sizeof(t) - 1);
}

es_status es_entry_encode(es_buf *out, es_entry *e, es_error *err)
{
    int format = ES_LOG_FORMAT; /* format 2 only when needed: old readers keep reading the rest */
    for (int64_t i = 0; i < e->n_actions; i++)
        if (e->actions[i].kind == ES_ACT_SET_DV && format < ES_LOG_FORMAT_DV)
            format = ES_LOG_FORMAT_DV;
    for (int64_t i = 0; i < e->n_actions; i++)
        if ((e->actions[i].kind == ES_ACT_ADD_PART && e->actions[i].part->inline_ipc) ||
            e->actions[i].kind == ES_ACT_VACUUM || e->actions[i].kind == ES_ACT_MANIFEST)
            format = ES_LOG_FORMAT_3;
    if (needs_alter_format(e))
        format = ES_LOG_FORMAT_3;
    const char *kind = e->checkpoint == ES_ENTRY_MANIFEST ? "manifest"
                       : e->checkpoint                    ? "checkpoint"
                                                          : "commit";
    for (int64_t i = 0; i < e->n_actions; i++) /* format 3 only for index actions */
        if (e->actions[i].kind >= ES_ACT_CREATE_INDEX && e->actions[i].kind <= ES_ACT_ADD_INDEX)
            format = ES_LOG_FORMAT_INDEX;
    for (int64_t i = 0; i < e->n_actions; i++) { /* format 4 only for the short add_inline */
        const es_action *a = &e->actions[i];
        if (a->kind != ES_ACT_ADD_PART || !a->part->inline_ipc)
            continue;
        int64_t run = inline_run(a, e->n_actions - i);
        int short_form = run == 1 ? inline_short(a->part) : 0;
        if (short_form < 0)
            return es_error_set(err, ES_NOMEM, 0, "log entry: out of memory");
        if (short_form)
            format = ES_LOG_FORMAT_4;
        i += run - 1;
    }
    es_status st = put_lit(out, "{\"format\":");
    st = st ? st : put_i64(out, format);
    st = st ? st : put_lit(out, ",\"kind\":\"");
    st = st ? st : put_lit(out, kind);
    st = st ? st : put_lit(out, "\",\"version\":");
    st = st ? st : put_i64(out, e->version);
    st = st ? st : put_lit(out, ",\"txn\":\"");
    st = st ? st : put_lit(out, e->txn);
    st = st ? st : put_lit(out, "\",\"time_ms\":");
    st = st ? st : put_i64(out, e->time_ms);
    /* The hash chain: the predecessor's checksum (readers of every format ignore the key). */
    if (!st && e->has_prev && !e->checkpoint)
        st = es_buf_printf(out, ",\"prev\":\"%08" PRIx32 "\"", e->prev);
    st = st ? st : put_lit(out, ",\"actions\":[");
    for (int64_t i = 0; i < e->n_actions && !st; i++) {
        if (i)
            st = es_buf_append(out, ",\n", 2);
        else
            st = es_buf_append(out, "\n", 1);
        const es_action *a = &e->actions[i];
        int64_t run =
            a->kind == ES_ACT_ADD_PART && a->part->inline_ipc ? inline_run(a, e->n_actions - i) : 1;
        st = st ? st : run > 1 ? encode_inline(out, a, run) : encode_action(out, a);
        i += run - 1;
    }
    st = st ? st : put_lit(out, "]");
    st = st ? st : put_trailer(out);
    if (st)
        return es_error_set(err, ES_NOMEM, 0, "log entry %lld: out of memory",
                            (long long)e->version);
    e->crc = es_crc32c(0, out->data, out->len - TRAILER_LEN);
    e->has_crc = 1;
    return ES_OK;
}

/* A column's "default": hex of its binary encoding (at most ES_DEFAULT_MAX bytes). */
static es_status decode_default(es_column *col, const char *hex)
{
    size_t n = hex ? strlen(hex) : 1;
    if (n % 2 || n / 2 > ES_DEFAULT_MAX)
        return ES_CORRUPT;
    col->def = es_malloc(n / 2 + 1);
    if (!col->def)
        return ES_NOMEM;
    col->def_len = (int64_t)(n / 2);
    for (size_t i = 0; i < n / 2; i++) {
        int hi = es_hexval((uint8_t)hex[2 * i]), lo = es_hexval((uint8_t)hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return ES_CORRUPT;
        col->def[i] = (uint8_t)(hi << 4 | lo);
    }
    return ES_OK;
}

static es_status decode_create(es_action *a, const es_jv *o)
{
    es_tabledef *t;
    if (es_tabledef_new(&t))
        return ES_NOMEM;
    a->table = t;
    const char *name = es_jstr(o, "table");
    const es_jv *cols = es_jget(o, "columns");
    const es_jv *pk = es_jget(o, "primary_key");
    if (!name || !*name || !es_jid(o, "table_id", t->id) || !cols || cols->t != ES_J_ARR ||
        cols->n < 1 || !es_jint(o, "next_column_id", &t->next_col_id) || !pk ||
        (pk->t != ES_J_NULL && pk->t != ES_J_STR))
        return ES_CORRUPT;
    memcpy(a->table_id, t->id, sizeof(t->id));
    t->name = es_strdup(name);
    t->cols = es_calloc((size_t)cols->n, sizeof(es_column));
    if (!t->name || !t->cols)
        return ES_NOMEM;
    for (int64_t i = 0; i < cols->n; i++) {
        const es_jv *c = &cols->items[i];
        es_column *col = &t->cols[i];
        const char *cn = es_jstr(c, "name"), *ty = es_jstr(c, "type");
        const es_jv *nl = es_jget(c, "nullable");
        if (!cn || !*cn || !ty || !es_jint(c, "id", &col->id) || col->id < 0 ||
            col->id >= t->next_col_id || !nl || nl->t != ES_J_BOOL ||
            strlen(ty) >= sizeof(col->format))
            return ES_CORRUPT;
        col->name = es_strdup(cn);
        if (!col->name)
            return ES_NOMEM;
        t->n_cols = i + 1;
        strcpy(col->format, ty);
        col->nullable = (int)nl->i;
        if (es_jget(c, "default")) {
            es_status dst = decode_default(col, es_jstr(c, "default"));
            if (dst)
                return dst;
        }
        if (es_type_parse(&col->type, ty, NULL) != ES_OK || !es_default_fits(col))
            return ES_CORRUPT;
        for (int64_t k = 0; k < i; k++)
            if (t->cols[k].id == col->id || strcmp(t->cols[k].name, col->name) == 0)
                return ES_CORRUPT;
    }
    /* The key is a column of a comparable type, as es_table_create_impl requires; it may be
     * nullable (a NULL key equals no other, unique.c invariant 3). */
    if (pk->t == ES_J_STR) {
        t->pk = es_tabledef_col_index(t, pk->s);
        if (t->pk < 0 || es_expr_domain(t->cols[t->pk].type.id) == ES_DOM_NONE)
            return ES_CORRUPT;
    }
    return ES_OK;
}

/* The "columns" array of add_part and manifest actions into m (n_cols entries). */
static es_status get_columns(es_part_meta *m, const es_jv *cols)
{
    for (int64_t i = 0; i < cols->n; i++) {
        const es_jv *c = &cols->items[i];
        es_colstat *cs = &m->stats[i];
        if (!es_jint(c, "id", &m->col_ids[i]) || !es_jint(c, "nulls", &cs->null_count) ||
            cs->null_count < 0 || cs->null_count > m->rows)
            return ES_CORRUPT;
        if (es_jget(c, "type")) {
            /* Written with another type than the table's column now has (format 3). */
            const char *ty = es_jstr(c, "type");
            if (!m->cols || !ty || strlen(ty) >= sizeof(m->cols[i].format) ||
                es_type_parse(&m->cols[i].type, ty, NULL) != ES_OK)
                return ES_CORRUPT;
            strcpy(m->cols[i].format, ty);
            m->cols[i].id = m->col_ids[i];
            m->cols[i].nullable = 1;
        }
        if (es_jget(c, "min")) {
            if (!es_jhex(c, "min", cs->min, &cs->min_len, ES_STAT_MAX))
                return ES_CORRUPT;
            cs->has_min = 1;
        }
        if (es_jget(c, "max")) {
            if (!es_jhex(c, "max", cs->max, &cs->max_len, ES_STAT_MAX))
                return ES_CORRUPT;
            cs->has_max = 1;
        }
    }
    return ES_OK;
}

static int parse_crc_hex(const char *crc, uint32_t *out);

/* "key_col" and "key" of set_dv and remove_part (put_key), when present. */
static es_status get_key(es_action *a, const es_jv *o)
{
    if (!es_jget(o, "key") && !es_jget(o, "key_col"))
        return ES_OK;
    if (!es_jint(o, "key_col", &a->key_col) || a->key_col < 0 ||
        !es_jhex(o, "key", a->key, &a->key_len, ES_STAT_MAX))
        return ES_CORRUPT;
    a->has_key = 1;
    return ES_OK;
}

static es_status decode_add(es_action *a, const es_jv *o)
{
    const es_jv *cols = es_jget(o, "columns");
    const char *crc = es_jstr(o, "idx_crc");
    if (!es_jid(o, "table_id", a->table_id) || !cols || cols->t != ES_J_ARR || !crc ||
        strlen(crc) != 8)
        return ES_CORRUPT;
    es_part_meta *m;
    if (es_part_meta_new(&m, cols->n))
        return ES_NOMEM;
    a->part = m;
    if (!es_jid(o, "part", m->id) || !es_jint(o, "rows", &m->rows) ||
        !es_jint(o, "batches", &m->n_batches) || !es_jint(o, "data_bytes", &m->data_bytes) ||
        !es_jint(o, "idx_bytes", &m->idx_bytes) || m->rows < 0 || m->n_batches < 0 ||
        m->data_bytes < 0 || m->idx_bytes < 0)
        return ES_CORRUPT;
    uint32_t v = 0;
    for (int k = 0; k < 8; k++) {
        int h = es_hexval((uint8_t)crc[k]);
        if (h < 0)
            return ES_CORRUPT;
        v = v << 4 | (uint32_t)h;
    }
    m->idx_crc = v;
    return get_columns(m, cols);
}

/* manifest (format 3 checkpoints): the object key must be the table's
 * table_<t>/table_<t>_manifest_<16 hex digits>.manifest. */
static es_status decode_manifest(es_action *a, const es_jv *o)
{
    const es_jv *cols = es_jget(o, "columns");
    const char *key = es_jstr(o, "manifest");
    es_mfref *f;
    if (!es_jid(o, "table_id", a->table_id) || !cols || cols->t != ES_J_ARR || !key)
        return ES_CORRUPT;
    if (es_mfref_new(&f) || es_part_meta_new(&f->sum, cols->n)) {
        es_mfref_unref(f);
        return ES_NOMEM;
    }
    a->mf = f;
    memcpy(f->table_id, a->table_id, sizeof(f->table_id));
    char want[256];
    es_manifest_key(want, sizeof(want), a->table_id, "");
    size_t wl = strlen(want) - strlen(".manifest");
    if (strlen(key) != wl + ES_ID_LEN + strlen(".manifest") || memcmp(key, want, wl) != 0 ||
        strcmp(key + wl + ES_ID_LEN, ".manifest") != 0)
        return ES_CORRUPT;
    for (size_t i = 0; i < ES_ID_LEN; i++) {
        char c = key[wl + i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return ES_CORRUPT;
        f->id[i] = c;
    }
    memcpy(f->sum->id, f->id, sizeof(f->id));
    if (!es_jint(o, "bytes", &f->bytes) || f->bytes < 1 ||
        !parse_crc_hex(es_jstr(o, "crc"), &f->crc) || !es_jint(o, "parts", &f->n_parts) ||
        f->n_parts < 1 || !es_jint(o, "rows", &f->sum->rows) ||
        !es_jint(o, "live_rows", &f->live_rows) || f->live_rows < 0 ||
        f->live_rows > f->sum->rows || !es_jint(o, "data_bytes", &f->sum->data_bytes) ||
        f->sum->data_bytes < 0)
        return ES_CORRUPT;
    if ((es_jget(o, "inline_rows") && (!es_jint(o, "inline_rows", &f->inline_rows) ||
                                       f->inline_rows < 0 || f->inline_rows > f->live_rows)) ||
        (es_jget(o, "inline_bytes") &&
         (!es_jint(o, "inline_bytes", &f->inline_bytes) || f->inline_bytes < 0)))
        return ES_CORRUPT;
    int64_t level = 0;
    if (es_jget(o, "level") &&
        (!es_jint(o, "level", &level) || level != 1 || !es_jint(o, "manifests", &f->n_children) ||
         f->n_children < 1 || f->n_children > f->n_parts))
        return ES_CORRUPT;
    f->level = (int)level;
    return get_columns(f->sum, cols);
}

/* The short form of add_inline: *blob (the stream without its Schema message) gets the Schema
 * message of "fields", [[id, format, nullable], ...], in front. ES_CORRUPT naming the entry
 * when the fields are malformed (the stream itself is validated by es_part_decode_inline). */
static es_status prepend_schema(es_blob **blob, const es_jv *fields, const char *name,
                                es_error *err)
{
    int64_t n = fields->t == ES_J_ARR ? fields->n : 0;
    es_part_col *cols = n > 0 ? es_calloc((size_t)n, sizeof(*cols)) : NULL;
    es_status st = n < 1 ? ES_CORRUPT : cols ? ES_OK : ES_NOMEM;
    for (int64_t c = 0; c < n && !st; c++) {
        const es_jv *f = &fields->items[c];
        if (f->t != ES_J_ARR || f->n != 3 || f->items[0].t != ES_J_INT || f->items[0].i < 0 ||
            f->items[1].t != ES_J_STR || f->items[1].slen >= sizeof(cols[c].format) ||
            f->items[2].t != ES_J_INT || (f->items[2].i != 0 && f->items[2].i != 1)) {
            st = ES_CORRUPT;
            break;
        }
        cols[c].id = f->items[0].i;
        memcpy(cols[c].format, f->items[1].s, f->items[1].slen);
        cols[c].format[f->items[1].slen] = 0;
        cols[c].nullable = (int)f->items[2].i;
        if (es_type_parse(&cols[c].type, cols[c].format, NULL) != ES_OK)
            st = ES_CORRUPT;
        for (int64_t k = 0; k < c && !st; k++)
            if (cols[k].id == cols[c].id)
                st = ES_CORRUPT;
    }
    uint8_t *schema = NULL, *all = NULL;
    size_t len = 0;
    if (!st)
        st = inline_schema_message(&schema, &len, cols, n);
    if (!st && !(all = es_malloc(len + (*blob)->size)))
        st = ES_NOMEM;
    if (!st) {
        memcpy(all, schema, len);
        memcpy(all + len, (*blob)->data, (*blob)->size);
        es_blob *nb = NULL;
        st = es_blob_new_owned(&nb, all, len + (*blob)->size);
        if (st) {
            es_free(all);
        } else {
            es_blob_unref(*blob);
            *blob = nb;
        }
    }
    es_free(schema);
    es_free(cols);
    if (st == ES_CORRUPT)
        return es_error_set(err, ES_CORRUPT, 0, "%s: add_inline: malformed fields", name);
    return st == ES_OK ? ES_OK : es_error_set(err, ES_NOMEM, 0, "%s: out of memory", name);
}

/* add_inline: {"table_id", "part", "rows" | "parts": [[part, rows], ...], "ipc"}: the parts
 * rebuilt from their rows into a[0..n) (the caller made room for n = the number of parts;
 * *n_out: how many were filled). ES_CORRUPT with a message in err when the rows are malformed;
 * without one for a malformed action. */
static es_status decode_add_inline(es_action *a, int64_t *n_out, const es_jv *o, int64_t format,
                                   const char *name, es_error *err)
{
    const es_jv *ipc = es_jget(o, "ipc"), *parts = es_jget(o, "parts");
    const es_jv *fields = es_jget(o, "fields"), *batch = es_jget(o, "batch");
    if (!ipc && fields && batch && format >= ES_LOG_FORMAT_4)
        ipc = batch; /* the short form: the Schema message is rebuilt from "fields" below */
    else
        fields = NULL;
    int64_t n = parts ? parts->n : 1;
    char table_id[ES_ID_LEN + 1];
    *n_out = 0;
    if (err)
        err->msg[0] = 0;
    if (!es_jid(o, "table_id", table_id) || !ipc || ipc->t != ES_J_STR || n < 1 ||
        (parts && parts->t != ES_J_ARR))
        return ES_CORRUPT;
    char(*ids)[ES_ID_LEN + 1] = es_calloc((size_t)n, sizeof(*ids));
    const char **idp = es_calloc((size_t)n, sizeof(*idp));
    int64_t *rows = es_calloc((size_t)n, sizeof(*rows));
    es_part_meta **metas = es_calloc((size_t)n, sizeof(*metas));
    es_blob *blob = NULL;
    es_status st = ids && idp && rows && metas ? ES_OK : ES_NOMEM;
    for (int64_t i = 0; i < n && !st; i++) {
        idp[i] = ids[i];
        if (!parts) {
            if (!es_jid(o, "part", ids[i]) || !es_jint(o, "rows", &rows[i]))
                st = ES_CORRUPT;
        } else {
            const es_jv *p = &parts->items[i];
            if (p->t != ES_J_ARR || p->n != 2 || p->items[1].t != ES_J_INT ||
                p->items[0].t != ES_J_STR || p->items[0].slen != ES_ID_LEN)
                st = ES_CORRUPT;
            else {
                memcpy(ids[i], p->items[0].s, ES_ID_LEN + 1);
                for (int k = 0; k < ES_ID_LEN; k++)
                    if (es_hexval((uint8_t)ids[i][k]) < 0 || (ids[i][k] >= 'A' && ids[i][k] <= 'F'))
                        st = ES_CORRUPT;
                rows[i] = p->items[1].i;
            }
        }
        if (!st && rows[i] < 1)
            st = ES_CORRUPT;
    }
    if (!st && !decode_b64(&blob, ipc->s, ipc->slen, &st))
        st = st ? st : ES_CORRUPT;
    if (!st && fields)
        st = prepend_schema(&blob, fields, name, err);
    if (!st)
        st = es_part_decode_inline(metas, idp, rows, n, blob, name, err);
    for (int64_t i = 0; i < n && !st; i++) {
        a[i].kind = ES_ACT_ADD_PART;
        memcpy(a[i].table_id, table_id, sizeof(table_id));
        a[i].part = metas[i];
        metas[i] = NULL;
        *n_out = i + 1;
    }
    es_blob_unref(blob);
    es_free(ids);
    es_free(idp);
    es_free(rows);
    es_free(metas);
    return st;
}

/* alter_table: "change", then the fields of create_table (the table's new definition). */
static es_status decode_alter(es_action *a, const es_jv *o)
{
    const char *ch = es_jstr(o, "change");
    size_t k = 0, n = sizeof(change_names) / sizeof(change_names[0]);
    while (ch && k < n && strcmp(change_names[k], ch) != 0)
        k++;
    if (!ch || k == n)
        return ES_CORRUPT;
    a->change = (es_alter_change)k;
    return decode_create(a, o);
}

/* Parse 8 lowercase or uppercase hex digits. */
static int parse_crc_hex(const char *crc, uint32_t *out)
{
    if (!crc || strlen(crc) != 8)
        return 0;
    uint32_t v = 0;
    for (int k = 0; k < 8; k++) {
        int h = es_hexval((uint8_t)crc[k]);
        if (h < 0)
            return 0;
        v = v << 4 | (uint32_t)h;
    }
    *out = v;
    return 1;
}

static int decode_cov(es_index_cov *c, const es_jv *o)
{
    int64_t v;
    if (!es_jid(o, "part", c->part) || !es_jid(o, "object", c->obj) ||
        !es_jint(o, "bytes", &c->bytes) || !es_jint(o, "entries", &c->entries) ||
        !es_jint(o, "lookup_offset", &c->lookup_off) ||
        !es_jint(o, "lookup_bytes", &c->lookup_len) ||
        !parse_crc_hex(es_jstr(o, "lookup_crc"), &c->lookup_crc))
        return 0;
    v = c->lookup_off + c->lookup_len;
    return c->bytes > 0 && c->entries >= 0 && c->lookup_off >= 0 && c->lookup_len > 0 &&
           v > c->lookup_off && v <= c->bytes;
}

static es_status decode_index(es_action *a, const es_jv *o)
{
    const char *name = es_jstr(o, "index");
    if (!name || !*name || !es_jid(o, "table_id", a->table_id))
        return ES_CORRUPT;
    if (es_index_def_new(&a->index, name))
        return ES_NOMEM;
    es_index_def *d = a->index;
    if (!es_jid(o, "index_id", d->id))
        return ES_CORRUPT;
    if (a->kind == ES_ACT_CREATE_INDEX) {
        const es_jv *u = es_jget(o, "unique"), *cv = es_jget(o, "covers");
        if (!es_jint(o, "column", &d->col_id) || d->col_id < 0 || !u || u->t != ES_J_BOOL ||
            (cv && cv->t != ES_J_ARR))
            return ES_CORRUPT;
        d->unique = u->i != 0;
        if (cv && cv->n > 0) {
            d->cov = es_calloc((size_t)cv->n, sizeof(es_index_cov));
            if (!d->cov)
                return ES_NOMEM;
            d->cap_cov = cv->n;
            for (int64_t i = 0; i < cv->n; i++, d->n_cov++)
                if (!decode_cov(&d->cov[i], &cv->items[i]))
                    return ES_CORRUPT;
        }
    } else if (a->kind == ES_ACT_ADD_INDEX) {
        d->cov = es_calloc(1, sizeof(es_index_cov));
        if (!d->cov)
            return ES_NOMEM;
        d->cap_cov = 1;
        if (!decode_cov(&d->cov[0], o) || get_key(a, o))
            return ES_CORRUPT;
        d->n_cov = 1;
    }
    return ES_OK;
}

/* set_dv: {"table_id","part", then "dv","dv_bytes","dv_crc" or "dv_inline", then "deleted"}.
 * The object key must be the part's: table_<t>/table_<t>_part_<p>_<16 hex digits>.delta. */
static es_status decode_set_dv(es_action *a, const es_jv *o)
{
    es_dvref *d;
    if (!es_jid(o, "table_id", a->table_id) || !es_jid(o, "part", a->part_id) || get_key(a, o))
        return ES_CORRUPT;
    if (es_dvref_new(&d))
        return ES_NOMEM;
    a->dv = d;
    if (!es_jint(o, "deleted", &d->deleted) || d->deleted < 1)
        return ES_CORRUPT;
    const char *key = es_jstr(o, "dv"), *hex = es_jstr(o, "dv_inline");
    if ((key != NULL) == (hex != NULL))
        return ES_CORRUPT;
    if (key) {
        char want[256];
        es_part_dv_key(want, sizeof(want), a->table_id, a->part_id, "");
        size_t wl = strlen(want) - strlen(".delta"), kl = strlen(key);
        if (kl != wl + ES_ID_LEN + strlen(".delta") || memcmp(key, want, wl) != 0 ||
            strcmp(key + wl + ES_ID_LEN, ".delta") != 0)
            return ES_CORRUPT;
        for (size_t i = 0; i < ES_ID_LEN; i++) {
            char c = key[wl + i];
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
                return ES_CORRUPT;
            d->id[i] = c;
        }
        d->id[ES_ID_LEN] = 0;
        if (!es_jint(o, "dv_bytes", &d->bytes) || d->bytes < 1 ||
            !parse_crc_hex(es_jstr(o, "dv_crc"), &d->crc))
            return ES_CORRUPT;
        return ES_OK;
    }
    size_t n = strlen(hex);
    if (n == 0 || n % 2 || n / 2 > ES_DV_INLINE_READ_MAX)
        return ES_CORRUPT;
    d->blob = es_malloc(n / 2);
    if (!d->blob)
        return ES_NOMEM;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = es_hexval((uint8_t)hex[2 * i]), lo = es_hexval((uint8_t)hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return ES_CORRUPT;
        d->blob[i] = (uint8_t)(hi << 4 | lo);
    }
    d->blob_len = n / 2;
    d->bytes = (int64_t)d->blob_len;
    d->crc = es_crc32c(0, d->blob, d->blob_len);
    return ES_OK;
}

es_status es_entry_decode(es_entry *out, const uint8_t *p, size_t n, const char *name,
                          es_error *err)
{
    memset(out, 0, sizeof(*out));
    es_jv root;
    es_status st = es_json_parse(&root, p, n, name, err);
    if (st)
        return st;
    int64_t format = 0;
    const char *kind = es_jstr(&root, "kind");
    const es_jv *acts = es_jget(&root, "actions");
    if (!es_jint(&root, "format", &format) || !kind || !acts || acts->t != ES_J_ARR ||
        !es_jint(&root, "version", &out->version) || out->version < 0 ||
        !es_jid(&root, "txn", out->txn) || !es_jint(&root, "time_ms", &out->time_ms)) {
        st = es_error_set(err, ES_CORRUPT, 0, "%s: malformed log entry", name);
        goto done;
    }
    if (format != ES_LOG_FORMAT && format != ES_LOG_FORMAT_DV && format != ES_LOG_FORMAT_3 &&
        format != ES_LOG_FORMAT_4) {
        st = es_error_set(err, ES_UNSUPPORTED, 0, "%s: unsupported log format %lld", name,
                          (long long)format);
        goto done;
    }
    if (strcmp(kind, "checkpoint") == 0)
        out->checkpoint = 1;
    else if (strcmp(kind, "manifest") == 0)
        out->checkpoint = ES_ENTRY_MANIFEST;
    else if (strcmp(kind, "commit") != 0) {
        st = es_error_set(err, ES_CORRUPT, 0, "%s: unknown entry kind", name);
        goto done;
    }
    if (es_jget(&root, "prev")) {
        if (!parse_crc_hex(es_jstr(&root, "prev"), &out->prev)) {
            st = es_error_set(err, ES_CORRUPT, 0, "%s: malformed log entry (prev)", name);
            goto done;
        }
        out->has_prev = 1;
    }
    for (int k = 0; k < 8; k++) /* the trailer, already checked */
        out->crc = out->crc << 4 | (uint32_t)es_hexval(p[n - TRAILER_LEN + 8 + k]);
    out->has_crc = 1;
    int64_t cap = acts->n > 0 ? acts->n : 1;
    out->actions = es_calloc((size_t)cap, sizeof(es_action));
    if (!out->actions) {
        st = es_error_set(err, ES_NOMEM, 0, "%s: out of memory", name);
        goto done;
    }
    for (int64_t i = 0; i < acts->n; i++) {
        const es_jv *o = &acts->items[i];
        const char *op = es_jstr(o, "op");
        es_action *a = &out->actions[out->n_actions++];
        es_status s2 = ES_CORRUPT;
        if (!op) {
            s2 = ES_CORRUPT;
        } else if (strcmp(op, "create_table") == 0) {
            a->kind = ES_ACT_CREATE_TABLE;
            s2 = decode_create(a, o);
        } else if (strcmp(op, "drop_table") == 0) {
            a->kind = ES_ACT_DROP_TABLE;
            const char *tn = es_jstr(o, "table");
            s2 = tn && es_jid(o, "table_id", a->table_id) ? ES_OK : ES_CORRUPT;
            if (!s2 && !(a->table_name = es_strdup(tn)))
                s2 = ES_NOMEM;
        } else if (strcmp(op, "add_part") == 0) {
            a->kind = ES_ACT_ADD_PART;
            s2 = decode_add(a, o);
        } else if (strcmp(op, "remove_part") == 0) {
            a->kind = ES_ACT_REMOVE_PART;
            s2 = es_jid(o, "table_id", a->table_id) && es_jid(o, "part", a->part_id) ? ES_OK
                                                                                     : ES_CORRUPT;
            s2 = s2 ? s2 : get_key(a, o);
            const es_jv *cp = es_jget(o, "compacted");
            a->compacted = cp && cp->t == ES_J_BOOL && cp->i;
            const es_jv *fl = es_jget(o, "flushed");
            a->flushed = fl && fl->t == ES_J_BOOL && fl->i;
        } else if (strcmp(op, "add_inline") == 0 && format >= ES_LOG_FORMAT_INLINE) {
            /* Several parts in one action (a checkpoint): make room for one action each. */
            const es_jv *parts = es_jget(o, "parts");
            int64_t more = parts && parts->t == ES_J_ARR && parts->n > 1 ? parts->n - 1 : 0;
            if (more) {
                es_action *na = es_realloc(out->actions, (size_t)(cap + more) * sizeof(es_action));
                if (!na) {
                    st = es_error_set(err, ES_NOMEM, 0, "%s: out of memory", name);
                    goto done;
                }
                memset(na + cap, 0, (size_t)more * sizeof(es_action));
                out->actions = na;
                cap += more;
                a = &out->actions[out->n_actions - 1];
            }
            int64_t got = 0;
            a->kind = ES_ACT_ADD_PART;
            s2 = decode_add_inline(a, &got, o, format, name, err);
            if (got > 1)
                out->n_actions += got - 1;
            if (s2 && s2 != ES_NOMEM && err && err->msg[0]) {
                st = s2;
                goto done;
            }
        } else if (strcmp(op, "manifest") == 0 && format >= ES_LOG_FORMAT_MANIFEST &&
                   out->checkpoint != 0) {
            a->kind = ES_ACT_MANIFEST;
            s2 = decode_manifest(a, o);
        } else if (format >= ES_LOG_FORMAT_INDEX &&
                   (strcmp(op, "create_index") == 0 || strcmp(op, "drop_index") == 0 ||
                    strcmp(op, "add_index") == 0)) {
            a->kind = op[0] == 'c'   ? ES_ACT_CREATE_INDEX
                      : op[0] == 'd' ? ES_ACT_DROP_INDEX
                                     : ES_ACT_ADD_INDEX;
            s2 = decode_index(a, o);
        } else if (strcmp(op, "set_dv") == 0 && format >= ES_LOG_FORMAT_DV) {
            a->kind = ES_ACT_SET_DV;
            s2 = decode_set_dv(a, o);
        } else if (strcmp(op, "alter_table") == 0 && format >= ES_LOG_FORMAT_ALTER) {
            a->kind = ES_ACT_ALTER_TABLE;
            s2 = decode_alter(a, o);
        } else if (strcmp(op, "vacuum") == 0 && format >= ES_LOG_FORMAT_VACUUM &&
                   !out->checkpoint) {
            a->kind = ES_ACT_VACUUM;
            s2 = es_jint(o, "horizon_ms", &a->horizon_ms) &&
                         es_jint(o, "retain_from", &a->retain_from) && a->retain_from >= 0
                     ? ES_OK
                     : ES_CORRUPT;
        }
        if (s2) {
            st = es_error_set(err, s2, 0, "%s: %s in action %lld", name,
                              s2 == ES_NOMEM ? "out of memory" : "malformed action", (long long)i);
            goto done;
        }
    }
done:
    es_jv_reset(&root);
    if (st)
        es_entry_reset(out);
    return st;
}

/* ------------------------------------------------------------------ hint */

es_status es_log_hint_encode(es_buf *b, int64_t version)
{
    es_status st = es_buf_printf(b, "{\"format\":%d,\"version\":%" PRId64, ES_LOG_FORMAT, version);
    return st ? st : put_trailer(b);
}

es_status es_log_hint_decode(int64_t *version, const uint8_t *p, size_t n, es_error *err)
{
    es_jv root;
    *version = -1;
    es_status st = es_json_parse(&root, p, n, ES_LOG_HINT_KEY, err);
    if (st)
        return st;
    int64_t format = 0, v = -1;
    if (!es_jint(&root, "format", &format) || format != ES_LOG_FORMAT ||
        !es_jint(&root, "version", &v) || v < 0)
        st = es_error_set(err, ES_CORRUPT, 0, "%s: malformed", ES_LOG_HINT_KEY);
    else
        *version = v;
    es_jv_reset(&root);
    return st;
}

/* The first entry of a new store (version 0), put if absent (log.c opens and creates). */
es_status es_log_init(es_objstore *os, es_error *err)
{
    es_entry e;
    memset(&e, 0, sizeof(e));
    e.version = 0;
    e.time_ms = es_log_now_ms();
    es_part_new_id(e.txn);
    es_buf b = {0};
    char key[64];
    es_log_key(key, sizeof(key), 0, 0);
    es_status st = es_entry_encode(&b, &e, err);
    if (!st) {
        st = es_objstore_put(os, key, b.data, b.len, ES_PUT_IF_ABSENT, NULL, NULL, err);
        if (st == ES_EXISTS)
            st = ES_OK;
    }
    es_buf_reset(&b);
    return st;
}

/* The retention floor, _log/_retention (vacuum.c writes it; FORMAT.md section 5a). */
es_status es_log_retention(int64_t *oldest, es_objstore *os, es_error *err)
{
    es_blob *b = NULL;
    *oldest = 0;
    es_status st = es_objstore_get(os, ES_LOG_RETENTION_KEY, 0, UINT64_MAX, &b, err);
    if (st == ES_NOT_FOUND)
        return ES_OK;
    if (st)
        return st;
    es_error derr;
    int64_t v = -1;
    st = es_log_hint_decode(&v, b->data, b->size, &derr);
    es_blob_unref(b);
    if (st)
        return es_error_set(err, ES_CORRUPT, 0, "%s: malformed", ES_LOG_RETENTION_KEY);
    *oldest = v;
    return ES_OK;
}
