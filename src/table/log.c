/*
 * log: the commit log, snapshots, checkpoints and the commit protocol.
 *
 * Every committed version v of a store is one object _log/<v as 20 digits>.json, created with
 * ES_PUT_IF_ABSENT: that create is the commit point. Version 0 is written when the store is
 * created and has no actions. Every ES_CHECKPOINT_INTERVAL versions the committer also writes
 * _log/<v>.checkpoint (the whole catalog at v) and overwrites the hint _log/_last_checkpoint.
 * The byte layout of all three is in docs/FORMAT.md ("Commit log").
 *
 * Finding the end of the log. Readers refresh with GETs of s.version + 1, + 2, ... until one is
 * absent (es_log_refresh: one GET when nothing is new), which cannot tell the end from a hole.
 * Opening and every writer instead LIST _log/ after their version (es_log_load, es_log_sync:
 * the LIST takes the place of that last GET) and GET the entries listed; the listing shows
 * whether anything lies past a missing entry (invariant 8).
 *
 * State of one commit (the table layer's write, then es_log_commit):
 *
 *     [es_log_sync: LIST the tail, apply it] -- hole or bad entry --> [ES_CORRUPT, nothing
 *                 |                                                    written]
 *                 v
 *      parts written (.data, .idx)      (objects no version refers to yet: invisible)
 *                 |
 *                 v
 *   +--> [encode entry v = s.version + 1]
 *   |             |
 *   |             v
 *   |     put-if-absent _log/v.json --- ok ------------------> [committed at v] --> checkpoint
 *   |             |                                                   ^           (if v % 10 == 0,
 *   |          EXISTS (lost the race)      ambiguous failure ---------+            best effort)
 *   |             |  (no object there:     (read v back: ours? yes)   |
 *   |             |   ES_CORRUPT)                   | other writer's  | not there
 *   |             v                                 |                 |
 *   |     read entry v, apply to s                  v                 v
 *   |             |                         (as EXISTS)         [failed: error returned,
 *   |             v                                               nothing visible]
 *   |     conflict check of our actions against s
 *   |        |                    |
 *   +--- no conflict          conflict --> [failed: ES_CONFLICT, nothing visible]
 *
 * Invariants:
 *  1. An object is never overwritten, except the hint _log/_last_checkpoint, which is only a
 *     hint: it is validated (checksum, then the checkpoint it names is read and verified) and
 *     a missing or bad hint only makes opening slower (replay from version 0; opening notes
 *     a bad hint or a missing checkpoint in its warning).
 *  2. Version v exists only if v - 1 exists: a writer creates v only after reading v - 1.
 *  3. The state at version v is the fold of the actions of entries 0..v, or equally the
 *     checkpoint at c <= v followed by entries c+1..v. Entries are never deleted, so every
 *     version can be read (time travel).
 *  4. Objects named by an entry (parts' .data and .idx) are completely written before the
 *     entry is created; a crash before the commit point leaves only unreferenced objects,
 *     after it the whole insert is visible. No reader ever sees part of an insert.
 *  5. Every entry, checkpoint and hint carries a CRC-32C of its bytes; a reader that finds a
 *     mismatch reports ES_CORRUPT naming the object and never applies it.
 *  6. Blind appends (add_part to an existing table) never conflict. A conflict is: a table the
 *     commit writes to was dropped (or re-created) concurrently, a table it creates was created
 *     concurrently, a table it drops was dropped concurrently, a part it removes is gone.
 *  7. When the store does not honour put-if-absent (cas_supported == 0), the writer reads its
 *     entry back after the put; a different transaction id there means a concurrent writer
 *     was detected: ES_CONFLICT with a message saying that concurrent writers are unsupported.
 *  8. No holes. By 2 and 3 the entries that exist are exactly 0..N, every checkpoint is of a
 *     version <= N, and the hint names one. So entry v missing while a later entry or
 *     checkpoint is listed (or the hint named a later version), or entry v present but failing
 *     its checks or not applying, means the log was damaged from outside the protocol (an
 *     object deleted or truncated, a partial copy). A reader stops at v - 1 and records the
 *     damage in the snapshot (s->damage, one line naming the object): opening succeeds there
 *     with a warning, reads go on there, and nothing is committed on top: the only version a
 *     writer could create next is v, and creating it would splice new history under entries
 *     v + 1... that continue the lost one. Writes fail with ES_CORRUPT before writing anything
 *     until the object is restored. An entry one LIST showed but a GET finds no object at
 *     (a directory in a local store), or that a conditional create says exists but a GET does
 *     not find, is damage too. Scope: opening looks from the checkpoint it starts at to the
 *     end (below it, time travel reports a hole when it meets one); a read refresh does not
 *     look (a GET cannot tell), a writer's es_log_sync does.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "table/log.h"

/* ------------------------------------------------------------ tabledefs */

es_status es_tabledef_new(es_tabledef **out)
{
    *out = es_calloc(1, sizeof(es_tabledef));
    if (!*out)
        return ES_NOMEM;
    (*out)->refs = 1;
    (*out)->pk = -1;
    return ES_OK;
}

es_tabledef *es_tabledef_ref(es_tabledef *t)
{
    if (t)
        __atomic_add_fetch(&t->refs, 1, __ATOMIC_RELAXED);
    return t;
}

void es_tabledef_unref(es_tabledef *t)
{
    if (!t || __atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    for (int64_t i = 0; i < t->n_cols; i++)
        es_free(t->cols[i].name);
    es_free(t->cols);
    for (int64_t i = 0; i < t->n_parts; i++)
        es_part_meta_unref(t->parts[i]);
    es_free(t->parts);
    es_free(t->name);
    es_free(t);
}

es_status es_tabledef_copy(es_tabledef **out, const es_tabledef *src)
{
    es_tabledef *t;
    *out = NULL;
    if (es_tabledef_new(&t))
        return ES_NOMEM;
    t->name = es_strdup(src->name);
    memcpy(t->id, src->id, sizeof(t->id));
    t->pk = src->pk;
    t->next_col_id = src->next_col_id;
    t->rows = src->rows;
    t->bytes = src->bytes;
    t->cols = es_calloc((size_t)(src->n_cols > 0 ? src->n_cols : 1), sizeof(es_column));
    t->parts = es_calloc((size_t)(src->n_parts > 0 ? src->n_parts : 1), sizeof(es_part_meta *));
    if (!t->name || !t->cols || !t->parts)
        goto fail;
    t->cap_parts = src->n_parts > 0 ? src->n_parts : 1;
    for (int64_t i = 0; i < src->n_cols; i++) {
        t->cols[i] = src->cols[i];
        t->cols[i].name = es_strdup(src->cols[i].name);
        t->n_cols = i + 1;
        if (!t->cols[i].name)
            goto fail;
    }
    for (int64_t i = 0; i < src->n_parts; i++)
        t->parts[i] = es_part_meta_ref(src->parts[i]);
    t->n_parts = src->n_parts;
    *out = t;
    return ES_OK;
fail:
    es_tabledef_unref(t);
    return ES_NOMEM;
}

int64_t es_tabledef_col_index(const es_tabledef *t, const char *name)
{
    for (int64_t i = 0; i < t->n_cols; i++)
        if (strcmp(t->cols[i].name, name) == 0)
            return i;
    return -1;
}

static es_status tabledef_add_part(es_tabledef *t, es_part_meta *m)
{
    if (t->n_parts == t->cap_parts) {
        int64_t cap = t->cap_parts ? t->cap_parts * 2 : 8;
        es_part_meta **p = es_realloc(t->parts, (size_t)cap * sizeof(*p));
        if (!p)
            return ES_NOMEM;
        t->parts = p;
        t->cap_parts = cap;
    }
    t->parts[t->n_parts++] = es_part_meta_ref(m);
    t->rows += m->rows;
    t->bytes += m->data_bytes;
    return ES_OK;
}

/* ------------------------------------------------------------ snapshots */

es_status es_snapshot_new(es_snapshot **out)
{
    *out = es_calloc(1, sizeof(es_snapshot));
    if (!*out)
        return ES_NOMEM;
    (*out)->version = -1;
    (*out)->hint = -1;
    return ES_OK;
}

void es_snapshot_free(es_snapshot *s)
{
    if (!s)
        return;
    for (int64_t i = 0; i < s->n_tables; i++)
        es_tabledef_unref(s->tables[i]);
    es_free(s->tables);
    es_free(s);
}

es_status es_snapshot_copy(es_snapshot **out, const es_snapshot *src)
{
    es_snapshot *s;
    *out = NULL;
    if (es_snapshot_new(&s))
        return ES_NOMEM;
    s->tables = es_calloc((size_t)(src->n_tables > 0 ? src->n_tables : 1), sizeof(es_tabledef *));
    if (!s->tables) {
        es_snapshot_free(s);
        return ES_NOMEM;
    }
    s->cap_tables = src->n_tables > 0 ? src->n_tables : 1;
    for (int64_t i = 0; i < src->n_tables; i++)
        s->tables[i] = es_tabledef_ref(src->tables[i]);
    s->n_tables = src->n_tables;
    s->version = src->version;
    s->damage = src->damage;
    s->hint = src->hint;
    *out = s;
    return ES_OK;
}

es_tabledef *es_snapshot_find(const es_snapshot *s, const char *name)
{
    for (int64_t i = 0; i < s->n_tables; i++)
        if (strcmp(s->tables[i]->name, name) == 0)
            return s->tables[i];
    return NULL;
}

es_tabledef *es_snapshot_find_id(const es_snapshot *s, const char *id)
{
    for (int64_t i = 0; i < s->n_tables; i++)
        if (strcmp(s->tables[i]->id, id) == 0)
            return s->tables[i];
    return NULL;
}

static int64_t snapshot_index_id(const es_snapshot *s, const char *id)
{
    for (int64_t i = 0; i < s->n_tables; i++)
        if (strcmp(s->tables[i]->id, id) == 0)
            return i;
    return -1;
}

/* ---------------------------------------------------------------- actions */

void es_action_reset(es_action *a)
{
    es_tabledef_unref(a->table);
    es_part_meta_unref(a->part);
    es_free(a->table_name);
    memset(a, 0, sizeof(*a));
}

void es_entry_reset(es_entry *e)
{
    for (int64_t i = 0; i < e->n_actions; i++)
        es_action_reset(&e->actions[i]);
    es_free(e->actions);
    memset(e, 0, sizeof(*e));
}

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

static es_status encode_action(es_buf *b, const es_action *a)
{
    es_status st = ES_OK;
    switch (a->kind) {
    case ES_ACT_CREATE_TABLE: {
        const es_tabledef *t = a->table;
        st = es_buf_printf(b, "{\"op\":\"create_table\",\"table\":");
        st = st ? st : put_str(b, t->name);
        st = st ? st : es_buf_printf(b, ",\"table_id\":\"%s\",\"primary_key\":", t->id);
        st = st ? st : (t->pk >= 0 ? put_str(b, t->cols[t->pk].name) : es_buf_printf(b, "null"));
        st = st ? st
                : es_buf_printf(b, ",\"next_column_id\":%" PRId64 ",\"columns\":[", t->next_col_id);
        for (int64_t i = 0; i < t->n_cols && !st; i++) {
            const es_column *c = &t->cols[i];
            st = es_buf_printf(b, "%s{\"id\":%" PRId64 ",\"name\":", i ? "," : "", c->id);
            st = st ? st : put_str(b, c->name);
            st = st ? st : es_buf_printf(b, ",\"type\":");
            st = st ? st : put_str(b, c->format);
            st = st ? st : es_buf_printf(b, ",\"nullable\":%s}", c->nullable ? "true" : "false");
        }
        st = st ? st : es_buf_printf(b, "]}");
        break;
    }
    case ES_ACT_DROP_TABLE:
        st = es_buf_printf(b, "{\"op\":\"drop_table\",\"table\":");
        st = st ? st : put_str(b, a->table_name ? a->table_name : "");
        st = st ? st : es_buf_printf(b, ",\"table_id\":\"%s\"}", a->table_id);
        break;
    case ES_ACT_ADD_PART: {
        const es_part_meta *m = a->part;
        st = es_buf_printf(
            b,
            "{\"op\":\"add_part\",\"table_id\":\"%s\",\"part\":\"%s\",\"rows\":%" PRId64
            ",\"batches\":%" PRId64 ",\"data_bytes\":%" PRId64 ",\"idx_bytes\":%" PRId64
            ",\"idx_crc\":\"%08" PRIx32 "\",\"columns\":[",
            a->table_id, m->id, m->rows, m->n_batches, m->data_bytes, m->idx_bytes, m->idx_crc);
        for (int64_t i = 0; i < m->n_cols && !st; i++) {
            const es_colstat *cs = &m->stats[i];
            st = es_buf_printf(b, "%s{\"id\":%" PRId64 ",\"nulls\":%" PRId64, i ? "," : "",
                               m->col_ids[i], cs->null_count);
            if (!st && cs->has_min) {
                st = es_buf_printf(b, ",\"min\":");
                st = st ? st : put_hex(b, cs->min, cs->min_len);
            }
            if (!st && cs->has_max) {
                st = es_buf_printf(b, ",\"max\":");
                st = st ? st : put_hex(b, cs->max, cs->max_len);
            }
            st = st ? st : es_buf_printf(b, "}");
        }
        st = st ? st : es_buf_printf(b, "]}");
        break;
    }
    case ES_ACT_REMOVE_PART:
        st = es_buf_printf(b, "{\"op\":\"remove_part\",\"table_id\":\"%s\",\"part\":\"%s\"}",
                           a->table_id, a->part_id);
        break;
    }
    return st;
}

#define TRAILER_LEN 19 /* ,"crc":"xxxxxxxx"}\n */

static es_status put_trailer(es_buf *b)
{
    uint32_t crc = es_crc32c(0, b->data, b->len);
    return es_buf_printf(b, ",\"crc\":\"%08" PRIx32 "\"}\n", crc);
}

es_status es_entry_encode(es_buf *out, const es_entry *e, es_error *err)
{
    es_status st = es_buf_printf(out,
                                 "{\"format\":%d,\"kind\":\"%s\",\"version\":%" PRId64
                                 ",\"txn\":\"%s\",\"time_ms\":%" PRId64 ",\"actions\":[",
                                 ES_LOG_FORMAT, e->checkpoint ? "checkpoint" : "commit", e->version,
                                 e->txn, e->time_ms);
    for (int64_t i = 0; i < e->n_actions && !st; i++) {
        if (i)
            st = es_buf_append(out, ",\n", 2);
        else
            st = es_buf_append(out, "\n", 1);
        st = st ? st : encode_action(out, &e->actions[i]);
    }
    st = st ? st : es_buf_printf(out, "]");
    st = st ? st : put_trailer(out);
    if (st)
        return es_error_set(err, ES_NOMEM, 0, "log entry %lld: out of memory",
                            (long long)e->version);
    return ES_OK;
}

/* ------------------------------------------------------------- JSON input */

typedef enum jtype { J_NULL = 0, J_BOOL, J_INT, J_STR, J_ARR, J_OBJ } jtype;

typedef struct jv {
    jtype t;
    int64_t i; /* int, bool */
    char *s;   /* str (NUL-terminated, may contain NUL: slen) */
    size_t slen;
    int64_t n; /* arr, obj */
    struct jv *items;
    char **keys; /* obj */
} jv;

static void jv_reset(jv *v)
{
    if (v->t == J_STR)
        es_free(v->s);
    if (v->t == J_ARR || v->t == J_OBJ) {
        for (int64_t i = 0; i < v->n; i++) {
            jv_reset(&v->items[i]);
            if (v->keys)
                es_free(v->keys[i]);
        }
        es_free(v->items);
        es_free(v->keys);
    }
    memset(v, 0, sizeof(*v));
}

typedef struct jparser {
    const uint8_t *p, *end;
    int depth;
    es_status st; /* ES_CORRUPT or ES_NOMEM */
} jparser;

static void skip_ws(jparser *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
        j->p++;
}

static int hexval(uint8_t c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

static int parse_u4(jparser *j, uint32_t *out)
{
    if (j->end - j->p < 4)
        return 0;
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
        int h = hexval(j->p[k]);
        if (h < 0)
            return 0;
        v = v << 4 | (uint32_t)h;
    }
    j->p += 4;
    *out = v;
    return 1;
}

static int parse_string(jparser *j, char **out, size_t *len)
{
    es_buf b = {0};
    j->p++; /* opening quote */
    while (j->p < j->end && *j->p != '"') {
        uint8_t c = *j->p++;
        es_status st = ES_OK;
        if (c < 0x20) {
            es_buf_reset(&b);
            return 0;
        }
        if (c != '\\') {
            /* A run of plain characters at once. */
            const uint8_t *run = j->p - 1;
            while (j->p < j->end && *j->p != '"' && *j->p != '\\' && *j->p >= 0x20)
                j->p++;
            st = es_buf_append(&b, run, (size_t)(j->p - run));
        } else {
            if (j->p >= j->end)
                break;
            uint8_t e = *j->p++;
            char o = 0;
            switch (e) {
            case '"':
            case '\\':
            case '/':
                o = (char)e;
                break;
            case 'b':
                o = '\b';
                break;
            case 'f':
                o = '\f';
                break;
            case 'n':
                o = '\n';
                break;
            case 'r':
                o = '\r';
                break;
            case 't':
                o = '\t';
                break;
            case 'u': {
                uint32_t cp;
                if (!parse_u4(j, &cp)) {
                    es_buf_reset(&b);
                    return 0;
                }
                if (cp >= 0xD800 && cp < 0xDC00) {
                    uint32_t lo;
                    if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u') {
                        es_buf_reset(&b);
                        return 0;
                    }
                    j->p += 2;
                    if (!parse_u4(j, &lo) || lo < 0xDC00 || lo >= 0xE000) {
                        es_buf_reset(&b);
                        return 0;
                    }
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                uint8_t u[4];
                size_t n = es_utf8_encode(u, cp);
                st = es_buf_append(&b, u, n);
                break;
            }
            default:
                es_buf_reset(&b);
                return 0;
            }
            if (o)
                st = es_buf_append(&b, &o, 1);
        }
        if (st) {
            es_buf_reset(&b);
            j->st = ES_NOMEM;
            return 0;
        }
    }
    if (j->p >= j->end) {
        es_buf_reset(&b);
        return 0;
    }
    j->p++;
    uint8_t z = 0;
    if (es_buf_append(&b, &z, 1)) {
        es_buf_reset(&b);
        j->st = ES_NOMEM;
        return 0;
    }
    *len = b.len - 1;
    *out = (char *)es_buf_detach(&b, NULL);
    return 1;
}

static int parse_value(jparser *j, jv *v);

static int parse_container(jparser *j, jv *v, int obj)
{
    char close = obj ? '}' : ']';
    int64_t cap = 0;
    v->t = obj ? J_OBJ : J_ARR;
    j->p++;
    skip_ws(j);
    if (j->p < j->end && *j->p == close) {
        j->p++;
        return 1;
    }
    for (;;) {
        if (v->n == cap) {
            int64_t nc = cap ? cap * 2 : 8;
            jv *items = es_realloc(v->items, (size_t)nc * sizeof(jv));
            if (!items) {
                j->st = ES_NOMEM;
                return 0;
            }
            v->items = items;
            if (obj) {
                char **keys = es_realloc(v->keys, (size_t)nc * sizeof(char *));
                if (!keys) {
                    j->st = ES_NOMEM;
                    return 0;
                }
                v->keys = keys;
            }
            cap = nc;
        }
        memset(&v->items[v->n], 0, sizeof(jv));
        if (obj) {
            size_t kl;
            skip_ws(j);
            v->keys[v->n] = NULL;
            if (j->p >= j->end || *j->p != '"' || !parse_string(j, &v->keys[v->n], &kl))
                return 0;
            v->n++;
            skip_ws(j);
            if (j->p >= j->end || *j->p != ':')
                return 0;
            j->p++;
            if (!parse_value(j, &v->items[v->n - 1]))
                return 0;
        } else {
            v->n++;
            if (!parse_value(j, &v->items[v->n - 1]))
                return 0;
        }
        skip_ws(j);
        if (j->p >= j->end)
            return 0;
        if (*j->p == ',') {
            j->p++;
            continue;
        }
        if (*j->p == close) {
            j->p++;
            return 1;
        }
        return 0;
    }
}

static int parse_value(jparser *j, jv *v)
{
    skip_ws(j);
    if (j->p >= j->end)
        return 0;
    uint8_t c = *j->p;
    if (c == '{' || c == '[') {
        if (++j->depth > 16)
            return 0;
        int ok = parse_container(j, v, c == '{');
        j->depth--;
        return ok;
    }
    if (c == '"') {
        v->t = J_STR;
        return parse_string(j, &v->s, &v->slen);
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        int neg = c == '-';
        if (neg)
            j->p++;
        if (j->p >= j->end || *j->p < '0' || *j->p > '9')
            return 0;
        uint64_t x = 0;
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
            uint64_t d = (uint64_t)(*j->p - '0');
            if (x > (UINT64_MAX - d) / 10)
                return 0;
            x = x * 10 + d;
            j->p++;
        }
        if (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E'))
            return 0; /* only integers appear in the log */
        if ((!neg && x > (uint64_t)INT64_MAX) || (neg && x > (uint64_t)INT64_MAX + 1))
            return 0;
        v->t = J_INT;
        v->i = neg ? (int64_t)(0 - x) : (int64_t)x;
        return 1;
    }
    static const struct {
        const char *w;
        jtype t;
        int64_t i;
    } lits[] = {{"true", J_BOOL, 1}, {"false", J_BOOL, 0}, {"null", J_NULL, 0}};
    for (size_t k = 0; k < 3; k++) {
        size_t n = strlen(lits[k].w);
        if ((size_t)(j->end - j->p) >= n && memcmp(j->p, lits[k].w, n) == 0) {
            j->p += n;
            v->t = lits[k].t;
            v->i = lits[k].i;
            return 1;
        }
    }
    return 0;
}

static const jv *jget(const jv *o, const char *key)
{
    if (!o || o->t != J_OBJ)
        return NULL;
    for (int64_t i = 0; i < o->n; i++)
        if (strcmp(o->keys[i], key) == 0)
            return &o->items[i];
    return NULL;
}

static int jint(const jv *o, const char *key, int64_t *out)
{
    const jv *v = jget(o, key);
    if (!v || v->t != J_INT)
        return 0;
    *out = v->i;
    return 1;
}

static const char *jstr(const jv *o, const char *key)
{
    const jv *v = jget(o, key);
    if (!v || v->t != J_STR || strlen(v->s) != v->slen)
        return NULL;
    return v->s;
}

static int jid(const jv *o, const char *key, char out[ES_ID_LEN + 1])
{
    const char *s = jstr(o, key);
    if (!s || strlen(s) != ES_ID_LEN)
        return 0;
    for (int i = 0; i < ES_ID_LEN; i++)
        if (hexval((uint8_t)s[i]) < 0 || (s[i] >= 'A' && s[i] <= 'F'))
            return 0;
    memcpy(out, s, ES_ID_LEN + 1);
    return 1;
}

static int jhex(const jv *o, const char *key, uint8_t *out, uint8_t *len, int max)
{
    const char *s = jstr(o, key);
    if (!s)
        return 0;
    size_t n = strlen(s);
    if (n % 2 || n / 2 > (size_t)max)
        return 0;
    for (size_t i = 0; i < n / 2; i++) {
        int a = hexval((uint8_t)s[2 * i]), b = hexval((uint8_t)s[2 * i + 1]);
        if (a < 0 || b < 0)
            return 0;
        out[i] = (uint8_t)(a << 4 | b);
    }
    *len = (uint8_t)(n / 2);
    return 1;
}

/* Check the trailer and checksum; returns the length of the checksummed prefix or 0. */
static size_t check_trailer(const uint8_t *p, size_t n)
{
    static const char pre[] = ",\"crc\":\"";
    if (n < TRAILER_LEN + 1)
        return 0;
    const uint8_t *t = p + n - TRAILER_LEN;
    if (memcmp(t, pre, 8) != 0 || t[16] != '"' || t[17] != '}' || t[18] != '\n')
        return 0;
    uint32_t v = 0;
    for (int k = 0; k < 8; k++) {
        int h = hexval(t[8 + k]);
        if (h < 0 || (t[8 + k] >= 'A' && t[8 + k] <= 'F'))
            return 0;
        v = v << 4 | (uint32_t)h;
    }
    if (es_crc32c(0, p, n - TRAILER_LEN) != v)
        return 0;
    return n - TRAILER_LEN;
}

static es_status parse_json(jv *out, const uint8_t *p, size_t n, const char *name, es_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!check_trailer(p, n))
        return es_error_set(err, ES_CORRUPT, 0, "%s: checksum mismatch or truncated object", name);
    jparser j = {p, p + n, 0, ES_OK};
    int ok = parse_value(&j, out);
    skip_ws(&j);
    if (!ok || j.p != j.end || out->t != J_OBJ) {
        es_status st = j.st == ES_NOMEM ? ES_NOMEM : ES_CORRUPT;
        jv_reset(out);
        return es_error_set(err, st, 0, "%s: %s", name,
                            st == ES_NOMEM ? "out of memory" : "malformed JSON");
    }
    return ES_OK;
}

static es_status decode_create(es_action *a, const jv *o)
{
    es_tabledef *t;
    if (es_tabledef_new(&t))
        return ES_NOMEM;
    a->table = t;
    const char *name = jstr(o, "table");
    const jv *cols = jget(o, "columns");
    const jv *pk = jget(o, "primary_key");
    if (!name || !*name || !jid(o, "table_id", t->id) || !cols || cols->t != J_ARR || cols->n < 1 ||
        !jint(o, "next_column_id", &t->next_col_id) || !pk || (pk->t != J_NULL && pk->t != J_STR))
        return ES_CORRUPT;
    memcpy(a->table_id, t->id, sizeof(t->id));
    t->name = es_strdup(name);
    t->cols = es_calloc((size_t)cols->n, sizeof(es_column));
    if (!t->name || !t->cols)
        return ES_NOMEM;
    for (int64_t i = 0; i < cols->n; i++) {
        const jv *c = &cols->items[i];
        es_column *col = &t->cols[i];
        const char *cn = jstr(c, "name"), *ty = jstr(c, "type");
        const jv *nl = jget(c, "nullable");
        if (!cn || !*cn || !ty || !jint(c, "id", &col->id) || col->id < 0 ||
            col->id >= t->next_col_id || !nl || nl->t != J_BOOL ||
            strlen(ty) >= sizeof(col->format))
            return ES_CORRUPT;
        col->name = es_strdup(cn);
        if (!col->name)
            return ES_NOMEM;
        t->n_cols = i + 1;
        strcpy(col->format, ty);
        col->nullable = (int)nl->i;
        if (es_type_parse(&col->type, ty, NULL) != ES_OK)
            return ES_CORRUPT;
        for (int64_t k = 0; k < i; k++)
            if (t->cols[k].id == col->id || strcmp(t->cols[k].name, col->name) == 0)
                return ES_CORRUPT;
    }
    if (pk->t == J_STR) {
        t->pk = es_tabledef_col_index(t, pk->s);
        if (t->pk < 0)
            return ES_CORRUPT;
    }
    return ES_OK;
}

static es_status decode_add(es_action *a, const jv *o)
{
    const jv *cols = jget(o, "columns");
    const char *crc = jstr(o, "idx_crc");
    if (!jid(o, "table_id", a->table_id) || !cols || cols->t != J_ARR || !crc || strlen(crc) != 8)
        return ES_CORRUPT;
    es_part_meta *m;
    if (es_part_meta_new(&m, cols->n))
        return ES_NOMEM;
    a->part = m;
    if (!jid(o, "part", m->id) || !jint(o, "rows", &m->rows) ||
        !jint(o, "batches", &m->n_batches) || !jint(o, "data_bytes", &m->data_bytes) ||
        !jint(o, "idx_bytes", &m->idx_bytes) || m->rows < 0 || m->n_batches < 0 ||
        m->data_bytes < 0 || m->idx_bytes < 0)
        return ES_CORRUPT;
    uint32_t v = 0;
    for (int k = 0; k < 8; k++) {
        int h = hexval((uint8_t)crc[k]);
        if (h < 0)
            return ES_CORRUPT;
        v = v << 4 | (uint32_t)h;
    }
    m->idx_crc = v;
    for (int64_t i = 0; i < cols->n; i++) {
        const jv *c = &cols->items[i];
        es_colstat *cs = &m->stats[i];
        if (!jint(c, "id", &m->col_ids[i]) || !jint(c, "nulls", &cs->null_count) ||
            cs->null_count < 0 || cs->null_count > m->rows)
            return ES_CORRUPT;
        if (jget(c, "min")) {
            if (!jhex(c, "min", cs->min, &cs->min_len, ES_STAT_MAX))
                return ES_CORRUPT;
            cs->has_min = 1;
        }
        if (jget(c, "max")) {
            if (!jhex(c, "max", cs->max, &cs->max_len, ES_STAT_MAX))
                return ES_CORRUPT;
            cs->has_max = 1;
        }
    }
    return ES_OK;
}

es_status es_entry_decode(es_entry *out, const uint8_t *p, size_t n, const char *name,
                          es_error *err)
{
    memset(out, 0, sizeof(*out));
    jv root;
    es_status st = parse_json(&root, p, n, name, err);
    if (st)
        return st;
    int64_t format = 0;
    const char *kind = jstr(&root, "kind");
    const jv *acts = jget(&root, "actions");
    if (!jint(&root, "format", &format) || !kind || !acts || acts->t != J_ARR ||
        !jint(&root, "version", &out->version) || out->version < 0 ||
        !jid(&root, "txn", out->txn) || !jint(&root, "time_ms", &out->time_ms)) {
        st = es_error_set(err, ES_CORRUPT, 0, "%s: malformed log entry", name);
        goto done;
    }
    if (format != ES_LOG_FORMAT) {
        st = es_error_set(err, ES_UNSUPPORTED, 0, "%s: unsupported log format %lld", name,
                          (long long)format);
        goto done;
    }
    if (strcmp(kind, "checkpoint") == 0)
        out->checkpoint = 1;
    else if (strcmp(kind, "commit") != 0) {
        st = es_error_set(err, ES_CORRUPT, 0, "%s: unknown entry kind", name);
        goto done;
    }
    out->actions = es_calloc((size_t)(acts->n > 0 ? acts->n : 1), sizeof(es_action));
    if (!out->actions) {
        st = es_error_set(err, ES_NOMEM, 0, "%s: out of memory", name);
        goto done;
    }
    for (int64_t i = 0; i < acts->n; i++) {
        const jv *o = &acts->items[i];
        const char *op = jstr(o, "op");
        es_action *a = &out->actions[i];
        out->n_actions = i + 1;
        es_status s2 = ES_CORRUPT;
        if (!op) {
            s2 = ES_CORRUPT;
        } else if (strcmp(op, "create_table") == 0) {
            a->kind = ES_ACT_CREATE_TABLE;
            s2 = decode_create(a, o);
        } else if (strcmp(op, "drop_table") == 0) {
            a->kind = ES_ACT_DROP_TABLE;
            const char *tn = jstr(o, "table");
            s2 = tn && jid(o, "table_id", a->table_id) ? ES_OK : ES_CORRUPT;
            if (!s2 && !(a->table_name = es_strdup(tn)))
                s2 = ES_NOMEM;
        } else if (strcmp(op, "add_part") == 0) {
            a->kind = ES_ACT_ADD_PART;
            s2 = decode_add(a, o);
        } else if (strcmp(op, "remove_part") == 0) {
            a->kind = ES_ACT_REMOVE_PART;
            s2 = jid(o, "table_id", a->table_id) && jid(o, "part", a->part_id) ? ES_OK : ES_CORRUPT;
        }
        if (s2) {
            st = es_error_set(err, s2, 0, "%s: %s in action %lld", name,
                              s2 == ES_NOMEM ? "out of memory" : "malformed action", (long long)i);
            goto done;
        }
    }
done:
    jv_reset(&root);
    if (st)
        es_entry_reset(out);
    return st;
}

/* ------------------------------------------------------------------ apply */

static es_status snapshot_put_table(es_snapshot *s, es_tabledef *t)
{
    if (s->n_tables == s->cap_tables) {
        int64_t cap = s->cap_tables ? s->cap_tables * 2 : 8;
        es_tabledef **p = es_realloc(s->tables, (size_t)cap * sizeof(*p));
        if (!p)
            return ES_NOMEM;
        s->tables = p;
        s->cap_tables = cap;
    }
    s->tables[s->n_tables++] = es_tabledef_ref(t);
    return ES_OK;
}

/* Make table i of s exclusively owned (copy on write). */
static es_status own_table(es_snapshot *s, int64_t i)
{
    if (__atomic_load_n(&s->tables[i]->refs, __ATOMIC_ACQUIRE) == 1)
        return ES_OK;
    es_tabledef *t;
    if (es_tabledef_copy(&t, s->tables[i]))
        return ES_NOMEM;
    es_tabledef_unref(s->tables[i]);
    s->tables[i] = t;
    return ES_OK;
}

static es_status apply_actions(es_snapshot *s, const es_entry *e, const char *name, es_error *err)
{
    for (int64_t k = 0; k < e->n_actions; k++) {
        const es_action *a = &e->actions[k];
        int64_t i = snapshot_index_id(s, a->table_id);
        switch (a->kind) {
        case ES_ACT_CREATE_TABLE:
            if (i >= 0 || es_snapshot_find(s, a->table->name))
                return es_error_set(err, ES_CORRUPT, 0, "%s: table '%s' created twice", name,
                                    a->table->name);
            if (snapshot_put_table(s, a->table))
                return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", name);
            break;
        case ES_ACT_DROP_TABLE:
            if (i < 0)
                return es_error_set(err, ES_CORRUPT, 0, "%s: drop of unknown table %s", name,
                                    a->table_id);
            es_tabledef_unref(s->tables[i]);
            memmove(&s->tables[i], &s->tables[i + 1],
                    (size_t)(s->n_tables - i - 1) * sizeof(es_tabledef *));
            s->n_tables--;
            break;
        case ES_ACT_ADD_PART:
            if (i < 0)
                return es_error_set(err, ES_CORRUPT, 0, "%s: part added to unknown table %s", name,
                                    a->table_id);
            for (int64_t c = 0; c < a->part->n_cols; c++)
                if (a->part->col_ids[c] < 0 || a->part->col_ids[c] >= s->tables[i]->next_col_id)
                    return es_error_set(err, ES_CORRUPT, 0, "%s: part %s has unknown column", name,
                                        a->part->id);
            if (own_table(s, i) || tabledef_add_part(s->tables[i], a->part))
                return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", name);
            break;
        case ES_ACT_REMOVE_PART: {
            if (i < 0)
                return es_error_set(err, ES_CORRUPT, 0, "%s: part removed from unknown table %s",
                                    name, a->table_id);
            if (own_table(s, i))
                return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", name);
            es_tabledef *t = s->tables[i];
            int64_t p = 0;
            while (p < t->n_parts && strcmp(t->parts[p]->id, a->part_id) != 0)
                p++;
            if (p == t->n_parts)
                return es_error_set(err, ES_CORRUPT, 0, "%s: removal of unknown part %s", name,
                                    a->part_id);
            t->rows -= t->parts[p]->rows;
            t->bytes -= t->parts[p]->data_bytes;
            es_part_meta_unref(t->parts[p]);
            memmove(&t->parts[p], &t->parts[p + 1],
                    (size_t)(t->n_parts - p - 1) * sizeof(es_part_meta *));
            t->n_parts--;
            break;
        }
        }
    }
    s->version = e->version;
    return ES_OK;
}

es_status es_snapshot_apply(es_snapshot *s, const es_entry *e, const char *name, es_error *err)
{
    /* An entry applies whole or not at all, so that a reader can stay at the version before an
     * entry that does not fit (or when memory runs out). A single action fails before it
     * changes anything; for more, keep references to the tables as they were (copy on write
     * then leaves them untouched) and put them back on failure. */
    if (e->n_actions <= 1)
        return apply_actions(s, e, name, err);
    es_snapshot *before = NULL;
    if (es_snapshot_copy(&before, s))
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", name);
    es_status st = apply_actions(s, e, name, err);
    if (st) {
        es_tabledef **t = s->tables;
        int64_t n = s->n_tables, cap = s->cap_tables;
        s->tables = before->tables;
        s->n_tables = before->n_tables;
        s->cap_tables = before->cap_tables;
        before->tables = t;
        before->n_tables = n;
        before->cap_tables = cap;
    }
    es_snapshot_free(before);
    return st;
}

es_status es_log_check(const es_snapshot *s, const es_action *actions, int64_t n, es_status code,
                       es_error *err)
{
    for (int64_t k = 0; k < n; k++) {
        const es_action *a = &actions[k];
        const es_tabledef *t = es_snapshot_find_id(s, a->table_id);
        switch (a->kind) {
        case ES_ACT_CREATE_TABLE:
            if (es_snapshot_find(s, a->table->name))
                return es_error_set(err, code, 0, "table '%s' was created concurrently",
                                    a->table->name);
            break;
        case ES_ACT_DROP_TABLE:
        case ES_ACT_ADD_PART:
            if (!t)
                return es_error_set(err, code, 0, "table '%s' was dropped concurrently",
                                    a->table_name ? a->table_name : a->table_id);
            break;
        case ES_ACT_REMOVE_PART: {
            int found = 0;
            for (int64_t p = 0; t && p < t->n_parts && !found; p++)
                found = strcmp(t->parts[p]->id, a->part_id) == 0;
            if (!found)
                return es_error_set(err, code, 0, "part %s was removed concurrently", a->part_id);
            break;
        }
        }
    }
    return ES_OK;
}

/* ---------------------------------------------------------------- storage */

void es_log_key(char *buf, size_t cap, int64_t version, int checkpoint)
{
    snprintf(buf, cap, "_log/%020" PRId64 ".%s", version, checkpoint ? "checkpoint" : "json");
}

#define HINT_KEY "_log/_last_checkpoint"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Decode entry (or checkpoint) `version` from its bytes; it must record that version. */
static es_status decode_entry(es_entry *e, const es_blob *b, int64_t version, int checkpoint,
                              const char *key, es_error *err)
{
    es_status st = es_entry_decode(e, b->data, b->size, key, err);
    if (st)
        return st;
    if (e->version != version || e->checkpoint != checkpoint) {
        es_entry_reset(e);
        return es_error_set(err, ES_CORRUPT, 0, "%s: records version %lld", key,
                            (long long)e->version);
    }
    return ES_OK;
}

/* Read and decode one entry. ES_NOT_FOUND when absent. */
static es_status read_entry(es_entry *e, es_objstore *os, int64_t version, int checkpoint,
                            es_error *err)
{
    char key[64];
    es_blob *b = NULL;
    es_log_key(key, sizeof(key), version, checkpoint);
    es_status st = es_objstore_get(os, key, 0, UINT64_MAX, &b, err);
    if (st)
        return st;
    st = decode_entry(e, b, version, checkpoint, key, err);
    es_blob_unref(b);
    return st;
}

/* Decode entry v from its bytes and apply it to s (whole or not at all). */
static es_status apply_blob(es_snapshot *s, int64_t v, const es_blob *b, es_error *err)
{
    char key[64];
    es_entry e;
    es_log_key(key, sizeof(key), v, 0);
    es_status st = decode_entry(&e, b, v, 0, key, err);
    if (st)
        return st;
    st = es_snapshot_apply(s, &e, key, err);
    es_entry_reset(&e);
    return st;
}

es_status es_log_init(es_objstore *os, es_error *err)
{
    es_entry e;
    memset(&e, 0, sizeof(e));
    e.version = 0;
    e.time_ms = now_ms();
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

/* ------------------------------------------------------------------ holes (invariant 8) */

/* What proves that versions after a hole were committed: the newest entry and the newest
 * checkpoint listed after it, and the version the hint names (-1: none). */
typedef struct later_proof {
    int64_t entry, ckpt, hint;
} later_proof;

static int64_t proof_max(const later_proof *p)
{
    int64_t m = p->entry > p->ckpt ? p->entry : p->ckpt;
    return m > p->hint ? m : p->hint;
}

/* The versions of the entries listed under _log/ after some entry, ascending. */
typedef struct log_list {
    int64_t *v;
    int64_t n, cap;
    later_proof last; /* newest entry and checkpoint listed; hint -1 */
} log_list;

/* The version of "_log/<20 digits>.json" or ".checkpoint", or -1 for any other key (the hint,
 * foreign objects). A key under an entry key ("<entry>/x") counts as the entry: in a local
 * store that entry is then a directory, and reading it will say so. */
static int64_t parse_log_key(const char *key, int *checkpoint)
{
    if (strncmp(key, "_log/", 5) != 0)
        return -1;
    const char *p = key + 5;
    int64_t v = 0;
    for (int i = 0; i < 20; i++, p++) {
        if (*p < '0' || *p > '9' || v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (*p - '0');
    }
    *checkpoint = strcmp(p, ".checkpoint") == 0;
    if (*checkpoint || (strncmp(p, ".json", 5) == 0 && (p[5] == 0 || p[5] == '/')))
        return v;
    return -1;
}

static int cmp_version(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* List _log/ after the entry of version `after` (-1: from the start): one LIST request, more
 * only when more than a page of keys follows (a long tail, or no checkpoint). */
static es_status list_log(log_list *out, es_objstore *os, int64_t after, es_error *err)
{
    char start[64];
    char *cursor = NULL;
    es_status st = ES_OK;
    memset(out, 0, sizeof(*out));
    out->last.entry = out->last.ckpt = out->last.hint = -1;
    if (after >= 0)
        es_log_key(start, sizeof(start), after, 0);
    for (;;) {
        es_obj_list page = {0};
        st = es_objstore_list(os, "_log/",
                              cursor       ? cursor
                              : after >= 0 ? start
                                           : NULL,
                              0, &page, err);
        for (int64_t i = 0; i < page.n && !st; i++) {
            int ck = 0;
            int64_t v = parse_log_key(page.items[i].key, &ck);
            if (v <= after) /* also -1: not a log object */
                continue;
            if (ck) {
                out->last.ckpt = v > out->last.ckpt ? v : out->last.ckpt;
                continue;
            }
            out->last.entry = v > out->last.entry ? v : out->last.entry;
            if (out->n == out->cap) {
                int64_t cap = out->cap ? out->cap * 2 : 16;
                int64_t *p = es_realloc(out->v, (size_t)cap * sizeof(*p));
                if (!p) {
                    st = es_error_set(err, ES_NOMEM, 0, "list _log/: out of memory");
                    break;
                }
                out->v = p;
                out->cap = cap;
            }
            out->v[out->n++] = v;
        }
        int more = !st && page.truncated && page.n > 0;
        if (more) {
            es_free(cursor);
            if (!(cursor = es_strdup(page.items[page.n - 1].key)))
                st = es_error_set(err, ES_NOMEM, 0, "list _log/: out of memory");
        }
        es_obj_list_reset(&page);
        if (!more || st)
            break;
    }
    es_free(cursor);
    if (st) {
        es_free(out->v);
        memset(out, 0, sizeof(*out));
        return st;
    }
    /* Keys come in byte order, which is version order; sort anyway, drop repeats. */
    if (out->n > 1)
        qsort(out->v, (size_t)out->n, sizeof(int64_t), cmp_version);
    int64_t k = 0;
    for (int64_t i = 0; i < out->n; i++)
        if (k == 0 || out->v[i] != out->v[k - 1])
            out->v[k++] = out->v[i];
    out->n = k;
    return ES_OK;
}

/* The end of a damage message: what a reader can still do. */
static void consequence(char *buf, size_t cap, int64_t at, int64_t target)
{
    if (target >= 0)
        snprintf(buf, cap, "version %lld cannot be read", (long long)target);
    else if (at >= 0)
        snprintf(buf, cap, "reads continue at version %lld", (long long)at);
    else
        snprintf(buf, cap, "no version can be read");
}

/* Entry v is absent although p proves a later version. target: the version being read by
 * time travel, or -1 when reads continue at v - 1. */
static es_status hole(es_error *err, int64_t v, const later_proof *p, int64_t target)
{
    char key[64], later[96], cons[64];
    es_log_key(key, sizeof(key), v, 0);
    if (p->entry >= p->ckpt && p->entry >= p->hint)
        snprintf(later, sizeof(later), "later version %lld exists", (long long)p->entry);
    else if (p->ckpt >= p->hint)
        snprintf(later, sizeof(later), "a checkpoint of version %lld exists", (long long)p->ckpt);
    else
        snprintf(later, sizeof(later), "%s names version %lld", HINT_KEY, (long long)p->hint);
    consequence(cons, sizeof(cons), v - 1, target);
    return es_error_set(err, ES_CORRUPT, 0, "%s: missing, but %s: the log is damaged; %s", key,
                        later, cons);
}

/* Entry v is listed, but a GET finds no object there (why: the store's message). */
static es_status unreadable(es_error *err, int64_t v, const char *why, int64_t target)
{
    char key[64], cons[64];
    es_log_key(key, sizeof(key), v, 0);
    consequence(cons, sizeof(cons), v - 1, target);
    return es_error_set(err, ES_CORRUPT, 0,
                        "%s: listed, but reading it finds no object (%s): the log is damaged; %s",
                        key, why, cons);
}

/* Entry v is there but does not decode or apply (why: the message naming it). */
static es_status bad_entry(es_error *err, int64_t v, const char *why, int64_t target)
{
    char cons[64];
    consequence(cons, sizeof(cons), v - 1, target);
    return es_error_set(err, ES_CORRUPT, 0, "%s: the log is damaged; %s", why, cons);
}

static void clear_error(es_error *e)
{
    e->code = ES_OK;
    e->sys_code = 0;
    e->msg[0] = 0;
}

/* The outcome of applying entry v to s: a bad entry becomes s->damage (reads stay before it);
 * other failures are returned. */
static es_status settle(es_snapshot *s, int64_t v, es_status st, const es_error *sub, es_error *err)
{
    if (st == ES_CORRUPT) {
        bad_entry(&s->damage, v, sub->msg, -1);
        return ES_OK;
    }
    if (st && err)
        *err = *sub;
    return st;
}

/* GET entry v and apply it. listed: a listing showed it; else p proves a later version, so
 * its absence is a hole. Damage goes to s->damage; other failures are returned. */
static es_status fetch_one(es_snapshot *s, es_objstore *os, int64_t v, int listed,
                           const later_proof *p, es_error *err)
{
    char key[64];
    es_blob *b = NULL;
    es_error sub;
    es_log_key(key, sizeof(key), v, 0);
    es_status st = es_objstore_get(os, key, 0, UINT64_MAX, &b, &sub);
    if (st == ES_NOT_FOUND) {
        if (listed)
            unreadable(&s->damage, v, sub.msg, -1);
        else
            hole(&s->damage, v, p, -1);
        return ES_OK;
    }
    if (st == ES_OK) {
        st = apply_blob(s, v, b, &sub);
        es_blob_unref(b);
    }
    return settle(s, v, st, &sub, err);
}

#define FETCH_RUN 16

/* The n (<= FETCH_RUN) listed entries from v fetched at once (get_many: in parallel where the
 * store can), then applied in order. A request that failed is retried alone for its message. */
static es_status fetch_run(es_snapshot *s, es_objstore *os, int64_t v, int64_t n,
                           const later_proof *p, es_error *err)
{
    char keys[FETCH_RUN][64];
    es_range_req reqs[FETCH_RUN];
    memset(reqs, 0, sizeof(reqs));
    for (int64_t k = 0; k < n; k++) {
        es_log_key(keys[k], sizeof(keys[k]), v + k, 0);
        reqs[k].key = keys[k];
        reqs[k].len = UINT64_MAX;
    }
    es_error sub;
    (void)es_objstore_get_many(os, reqs, n, &sub); /* every request carries its status */
    es_status st = ES_OK;
    for (int64_t k = 0; k < n; k++) {
        if (st == ES_OK && s->damage.code == ES_OK) {
            if (reqs[k].status != ES_OK) {
                st = fetch_one(s, os, v + k, 1, p, err);
            } else {
                st = apply_blob(s, v + k, reqs[k].out, &sub);
                st = settle(s, v + k, st, &sub, err);
            }
        }
        es_blob_unref(reqs[k].out);
    }
    return st;
}

/* Bring s to the end of the log: one LIST of _log/ after s's entry, then the entries listed,
 * in order. A version that is not listed although a later entry or checkpoint is (or the hint
 * named one, s->hint) is fetched alone, in case the listing lagged behind; when it is absent
 * that is a hole. A hole or a bad entry leaves s at the version before it with s->damage set,
 * and returns ES_OK; other failures are returned. */
static es_status sync_tail(es_snapshot *s, es_objstore *os, es_error *err)
{
    log_list l;
    es_status st = list_log(&l, os, s->version, err);
    if (st)
        return st;
    l.last.hint = s->hint;
    es_error before = s->damage; /* kept if this call fails before learning better */
    int64_t v0 = s->version, i = 0;
    clear_error(&s->damage);
    while (st == ES_OK && s->damage.code == ES_OK) {
        int64_t next = s->version + 1;
        while (i < l.n && l.v[i] < next)
            i++;
        if (i < l.n && l.v[i] == next) {
            int64_t j = i + 1;
            while (j < l.n && j - i < FETCH_RUN && l.v[j] == next + (j - i))
                j++;
            st = j - i == 1 ? fetch_one(s, os, next, 1, &l.last, err)
                            : fetch_run(s, os, next, j - i, &l.last, err);
            i = j;
        } else if (next <= proof_max(&l.last)) {
            st = fetch_one(s, os, next, 0, &l.last, err);
        } else {
            break; /* the end of the log */
        }
    }
    es_free(l.v);
    if (st != ES_OK && s->version == v0)
        s->damage = before;
    return st;
}

es_status es_log_sync(es_snapshot *s, es_objstore *os, es_error *err)
{
    es_status st = sync_tail(s, os, err);
    if (st == ES_OK && s->damage.code != ES_OK) {
        if (err)
            *err = s->damage;
        st = ES_CORRUPT;
    }
    return st;
}

es_status es_log_refresh(es_snapshot *s, es_objstore *os, es_error *err)
{
    for (;;) {
        int64_t v = s->version + 1;
        char key[64];
        es_blob *b = NULL;
        es_error sub;
        es_log_key(key, sizeof(key), v, 0);
        es_status st = es_objstore_get(os, key, 0, UINT64_MAX, &b, &sub);
        if (st == ES_NOT_FOUND)
            return ES_OK; /* the end, or a hole: only a listing can tell (es_log_sync) */
        if (st == ES_OK) {
            st = apply_blob(s, v, b, &sub);
            es_blob_unref(b);
        }
        if (st != ES_OK)
            return settle(s, v, st, &sub, err);
        clear_error(&s->damage); /* past the version it was about */
    }
}

/* Time travel: apply entries after s->version up to `upto`. An absent entry is looked up in a
 * listing (error path only): ES_NOT_FOUND when nothing later exists, else ES_CORRUPT naming it. */
static es_status replay_to(es_snapshot *s, es_objstore *os, int64_t upto, es_error *err)
{
    int listed = 0; /* the absent entry was listed: retried once */
    while (s->version < upto) {
        int64_t v = s->version + 1;
        char key[64];
        es_blob *b = NULL;
        es_error sub;
        es_log_key(key, sizeof(key), v, 0);
        es_status st = es_objstore_get(os, key, 0, UINT64_MAX, &b, &sub);
        if (st == ES_NOT_FOUND) {
            if (listed)
                return unreadable(err, v, sub.msg, upto);
            log_list l;
            st = list_log(&l, os, v - 1, err);
            if (st)
                return st;
            listed = l.n > 0 && l.v[0] == v; /* created meanwhile, or unreadable */
            later_proof p = l.last;
            es_free(l.v);
            if (listed)
                continue;
            if (proof_max(&p) >= 0)
                return hole(err, v, &p, upto);
            if (v == 0)
                return es_error_set(err, ES_NOT_FOUND, 0, "%s: no store here (no _log/)",
                                    os->uri ? os->uri : "store");
            return es_error_set(err, ES_NOT_FOUND, 0,
                                "version %lld does not exist (the latest is %lld)", (long long)upto,
                                (long long)(v - 1));
        }
        if (st == ES_OK) {
            st = apply_blob(s, v, b, &sub);
            es_blob_unref(b);
        }
        if (st == ES_CORRUPT)
            return bad_entry(err, v, sub.msg, upto);
        if (st) {
            if (err)
                *err = sub;
            return st;
        }
        listed = 0;
    }
    return ES_OK;
}

/* Build a snapshot from checkpoint c; ES_NOT_FOUND / ES_CORRUPT when unusable. */
static es_status from_checkpoint(es_snapshot **out, es_objstore *os, int64_t c, es_error *err)
{
    es_entry e;
    es_snapshot *s = NULL;
    *out = NULL;
    es_status st = read_entry(&e, os, c, 1, err);
    if (st)
        return st;
    char key[64];
    es_log_key(key, sizeof(key), c, 1);
    st = es_snapshot_new(&s);
    if (!st)
        st = es_snapshot_apply(s, &e, key, err);
    es_entry_reset(&e);
    if (st) {
        es_snapshot_free(s);
        return st;
    }
    *out = s;
    return ES_OK;
}

/* The version the hint names in *out, -1 when the hint is missing or bad (invariant 1); a hint
 * that is there but unusable is noted in warn. A store that cannot be read at all (denied,
 * unreachable, silent) fails here, once, instead of again at the replay. */
static es_status read_hint(int64_t *out, es_objstore *os, es_error *warn, es_error *err)
{
    es_blob *b = NULL;
    es_error sub;
    int64_t v = -1;
    *out = -1;
    es_status st = es_objstore_get(os, HINT_KEY, 0, UINT64_MAX, &b, &sub);
    if (st == ES_NOMEM || st == ES_REMOTE || st == ES_TRANSIENT || st == ES_IO) {
        if (err)
            *err = sub;
        return st;
    }
    if (st != ES_OK) {
        if (st != ES_NOT_FOUND && warn)
            es_error_set(warn, ES_OK, 0, "%s; ignored", sub.msg);
        return ES_OK;
    }
    jv root;
    st = parse_json(&root, b->data, b->size, HINT_KEY, &sub);
    if (st == ES_OK) {
        int64_t format = 0;
        if (!jint(&root, "format", &format) || format != ES_LOG_FORMAT ||
            !jint(&root, "version", &v) || v < 0) {
            v = -1;
            es_error_set(&sub, ES_CORRUPT, 0, "%s: malformed", HINT_KEY);
            st = ES_CORRUPT;
        }
        jv_reset(&root);
    }
    if (st != ES_OK && warn)
        es_error_set(warn, ES_OK, 0, "%s; ignored", sub.msg);
    es_blob_unref(b);
    *out = v;
    return ES_OK;
}

es_status es_log_load(es_snapshot **out, es_error *warn, es_objstore *os, int64_t version,
                      es_error *err)
{
    *out = NULL;
    if (warn)
        clear_error(warn);
    es_snapshot *s = NULL;
    es_status st;
    int64_t hint = -1;
    if (version < 0 && (st = read_hint(&hint, os, warn, err)))
        return st;
    int64_t c = version < 0 ? hint : version / ES_CHECKPOINT_INTERVAL * ES_CHECKPOINT_INTERVAL;
    /* Try the hinted (or nearest) checkpoint, then a few older ones, then replay from 0. */
    for (int tries = 0; c > 0 && tries < 3 && !s; tries++, c -= ES_CHECKPOINT_INTERVAL) {
        es_error sub;
        st = from_checkpoint(&s, os, c, &sub);
        if (st == ES_NOMEM)
            return es_error_set(err, ES_NOMEM, 0, "%s", sub.msg);
        if (st && tries == 0 && version < 0 && warn && !warn->msg[0]) {
            char key[64];
            es_log_key(key, sizeof(key), c, 1);
            if (st == ES_NOT_FOUND)
                es_error_set(warn, ES_OK, 0,
                             "%s: missing, but %s names it; opening read older objects instead",
                             key, HINT_KEY);
            else
                es_error_set(warn, ES_OK, 0, "%s; ignored: opening read older objects instead",
                             sub.msg);
        }
        if (version < 0)
            c = c / ES_CHECKPOINT_INTERVAL * ES_CHECKPOINT_INTERVAL;
    }
    if (!s) {
        st = es_snapshot_new(&s);
        if (st)
            return es_error_set(err, ES_NOMEM, 0, "log: out of memory");
    }
    if (version >= 0) {
        st = replay_to(s, os, version, err);
    } else {
        s->hint = hint;
        st = sync_tail(s, os, err);
        if (st == ES_OK && s->version < 0 && s->damage.code != ES_OK) {
            if (err)
                *err = s->damage;
            st = ES_CORRUPT;
        } else if (st == ES_OK && s->version < 0) {
            st = es_error_set(err, ES_NOT_FOUND, 0, "%s: no store here (no _log/)",
                              os->uri ? os->uri : "store");
        }
    }
    if (st) {
        es_snapshot_free(s);
        return st;
    }
    *out = s;
    return ES_OK;
}

static es_status snapshot_entry(es_entry *e, const es_snapshot *s)
{
    memset(e, 0, sizeof(*e));
    int64_t n = 0;
    for (int64_t i = 0; i < s->n_tables; i++)
        n += 1 + s->tables[i]->n_parts;
    e->actions = es_calloc((size_t)(n > 0 ? n : 1), sizeof(es_action));
    if (!e->actions)
        return ES_NOMEM;
    e->version = s->version;
    e->checkpoint = 1;
    e->time_ms = now_ms();
    es_part_new_id(e->txn);
    for (int64_t i = 0; i < s->n_tables; i++) {
        es_tabledef *t = s->tables[i];
        /* The create action of a checkpoint carries no parts: copy without them. */
        es_tabledef *bare;
        if (es_tabledef_new(&bare))
            return ES_NOMEM;
        es_action *a = &e->actions[e->n_actions++];
        a->kind = ES_ACT_CREATE_TABLE;
        a->table = bare;
        memcpy(a->table_id, t->id, sizeof(t->id));
        memcpy(bare->id, t->id, sizeof(t->id));
        bare->name = es_strdup(t->name);
        bare->pk = t->pk;
        bare->next_col_id = t->next_col_id;
        bare->cols = es_calloc((size_t)t->n_cols, sizeof(es_column));
        if (!bare->name || !bare->cols)
            return ES_NOMEM;
        for (int64_t k = 0; k < t->n_cols; k++) {
            bare->cols[k] = t->cols[k];
            bare->cols[k].name = es_strdup(t->cols[k].name);
            bare->n_cols = k + 1;
            if (!bare->cols[k].name)
                return ES_NOMEM;
        }
        for (int64_t p = 0; p < t->n_parts; p++) {
            a = &e->actions[e->n_actions++];
            a->kind = ES_ACT_ADD_PART;
            memcpy(a->table_id, t->id, sizeof(t->id));
            a->part = es_part_meta_ref(t->parts[p]);
        }
    }
    return ES_OK;
}

es_status es_log_checkpoint(const es_snapshot *s, es_objstore *os, es_error *err)
{
    es_entry e;
    es_buf b = {0};
    char key[64];
    es_status st = snapshot_entry(&e, s);
    if (st) {
        es_entry_reset(&e);
        return es_error_set(err, ES_NOMEM, 0, "checkpoint: out of memory");
    }
    st = es_entry_encode(&b, &e, err);
    es_entry_reset(&e);
    if (st)
        return st;
    es_log_key(key, sizeof(key), s->version, 1);
    st = es_objstore_put(os, key, b.data, b.len, ES_PUT_IF_ABSENT, NULL, NULL, err);
    es_buf_reset(&b);
    if (st && st != ES_EXISTS)
        return st;
    st = es_buf_printf(&b, "{\"format\":%d,\"version\":%" PRId64, ES_LOG_FORMAT, s->version);
    st = st ? st : put_trailer(&b);
    if (!st)
        st = es_objstore_put(os, HINT_KEY, b.data, b.len, ES_PUT_ALWAYS, NULL, NULL, err);
    else
        st = es_error_set(err, ES_NOMEM, 0, "checkpoint: out of memory");
    es_buf_reset(&b);
    return st;
}

/* Read entry v written by someone (after losing a race) and apply it to s. */
static es_status catch_up(es_snapshot *s, es_objstore *os, int64_t v, es_entry *e, es_error *err)
{
    char key[64];
    es_log_key(key, sizeof(key), v, 0);
    es_status st = es_snapshot_apply(s, e, key, err);
    (void)os;
    return st;
}

es_status es_log_commit(es_snapshot *s, es_objstore *os, const es_action *actions, int64_t n,
                        int64_t *version, es_error *err)
{
    if (s->damage.code != ES_OK) {
        if (err)
            *err = s->damage;
        return ES_CORRUPT;
    }
    es_entry e;
    memset(&e, 0, sizeof(e));
    e.actions = (es_action *)actions;
    e.n_actions = n;
    es_part_new_id(e.txn);
    es_status st = ES_OK;
    for (int attempt = 0; attempt < ES_COMMIT_MAX_ATTEMPTS; attempt++) {
        es_buf b = {0};
        char key[64];
        e.version = s->version + 1;
        e.time_ms = now_ms();
        es_log_key(key, sizeof(key), e.version, 0);
        st = es_entry_encode(&b, &e, err);
        if (st) {
            es_buf_reset(&b);
            return st;
        }
        es_error perr;
        es_status pst =
            es_objstore_put(os, key, b.data, b.len, ES_PUT_IF_ABSENT, NULL, NULL, &perr);
        es_buf_reset(&b);
        int check_back = pst != ES_OK && pst != ES_EXISTS; /* ambiguous */
        if (pst == ES_OK && !os->cas_supported)
            check_back = 1;
        es_entry theirs;
        memset(&theirs, 0, sizeof(theirs));
        if (check_back || pst == ES_EXISTS) {
            es_error gerr;
            es_status gst = read_entry(&theirs, os, e.version, 0, &gerr);
            if (gst == ES_NOT_FOUND && pst == ES_EXISTS) {
                /* Present to a conditional create, absent to a read: not an object (in a
                 * local store, a directory). */
                return es_error_set(err, ES_CORRUPT, 0,
                                    "%s: a conditional create says it exists, but reading it "
                                    "finds no object (%s): the log is damaged",
                                    key, gerr.msg);
            }
            if (gst == ES_NOT_FOUND && pst != ES_OK) {
                /* The put did not happen: nothing is visible. */
                if (err)
                    *err = perr;
                return pst;
            }
            if (gst) {
                if (err)
                    *err = pst ? perr : gerr;
                return pst ? pst : gst;
            }
            if (strcmp(theirs.txn, e.txn) == 0) {
                es_entry_reset(&theirs);
                pst = ES_OK; /* ours after all */
            } else if (pst == ES_OK) {
                es_entry_reset(&theirs);
                return es_error_set(err, ES_CONFLICT, 0,
                                    "%s: a concurrent writer overwrote this version: the object "
                                    "store does not support conditional puts, so concurrent "
                                    "writers are not supported",
                                    key);
            } else {
                pst = ES_EXISTS;
            }
        }
        if (pst == ES_OK) {
            /* Committed. Apply our own actions. */
            st = es_snapshot_apply(s, &e, key, err);
            if (st)
                return st;
            *version = e.version;
            if (e.version % ES_CHECKPOINT_INTERVAL == 0) {
                es_error cerr;
                (void)es_log_checkpoint(s, os, &cerr); /* best effort: only an optimisation */
            }
            return ES_OK;
        }
        /* Lost the race: catch up with the winner and check for conflicts. */
        st = catch_up(s, os, e.version, &theirs, err);
        es_entry_reset(&theirs);
        if (st)
            return st;
        st = es_log_check(s, actions, n, ES_CONFLICT, err);
        if (st)
            return st;
    }
    return es_error_set(err, ES_CONFLICT, 0, "commit: gave up after %d attempts",
                        ES_COMMIT_MAX_ATTEMPTS);
}
