/*
 * history: the versions of a store read from its commit log (history.h). es_history_read
 * walks the log backwards from a version in runs of HIST_RUN entries fetched with one get_many
 * each, so a history of the last 100 versions costs two rounds of GETs (100 entries) whatever the
 * log's length, and stops at the retention floor (_log/_retention: older entries are gone).
 * es_history_version_at resolves a wall-clock time to a version with a search that fetches
 * SEARCH_FANOUT entries per round (log16 of the retained versions rounds). Commit times: the
 * commit time of v is the largest time_ms of the entries up to v (FORMAT.md section 6, item
 * 6), computed over the entries a call reads. Table layer, above log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "objstore/objstore.h"
#include "table/history.h"

#define HIST_RUN 64
#define SEARCH_FANOUT 15

/* One entry read: what history reports of it. */
typedef struct hist_row {
    int64_t version, time_ms, commit_ms;
    int match;
    char txn[ES_ID_LEN + 1];
    char op[96];
    es_buf tables; /* ids, comma-separated, as read; names resolved at output */
    int64_t rows_added, parts_added, parts_removed;
    int has_rows;
} hist_row;

/* Is row r listed by a history of `table` (NULL: every row), whose id is target ("": not yet
 * known)? */
static int touches(const hist_row *r, const char *table, const char *target)
{
    return !table || (target[0] && r->tables.len &&
                      memmem(r->tables.data, r->tables.len, target, strlen(target)));
}

static const char *action_table_id(const es_action *a)
{
    return a->table ? a->table->id : a->table_id;
}

static const char *action_table_name(const es_action *a)
{
    if (a->kind == ES_ACT_CREATE_TABLE || a->kind == ES_ACT_ALTER_TABLE)
        return a->table ? a->table->name : NULL;
    return a->kind == ES_ACT_DROP_TABLE ? a->table_name : NULL;
}

static void add_word(char *op, size_t cap, const char *w)
{
    size_t n = strlen(op), wl = strlen(w);
    for (const char *p = op; p; p = strchr(p, '+') ? strchr(p, '+') + 1 : NULL)
        if (strncmp(p, w, wl) == 0 && (p[wl] == '+' || p[wl] == 0))
            return; /* a word already there ("create" is not in "create index") */
    snprintf(op + n, cap - n, "%s%s", n ? "+" : "", w);
}

/* What entry e did, in words (docs/SQL.md, DESCRIBE HISTORY). */
static void describe_entry(hist_row *r, const es_entry *e)
{
    int add = 0, rm = 0, dv = 0, compacted = 0, flushed = 0, index = 0;
    r->op[0] = 0;
    for (int64_t i = 0; i < e->n_actions; i++) {
        const es_action *a = &e->actions[i];
        switch (a->kind) {
        case ES_ACT_CREATE_TABLE:
            add_word(r->op, sizeof r->op, "create");
            break;
        case ES_ACT_DROP_TABLE:
            add_word(r->op, sizeof r->op, "drop");
            break;
        case ES_ACT_ALTER_TABLE:
            add_word(r->op, sizeof r->op, "alter");
            break;
        case ES_ACT_VACUUM:
            add_word(r->op, sizeof r->op, "vacuum");
            break;
        case ES_ACT_CREATE_INDEX:
            add_word(r->op, sizeof r->op, "create index");
            break;
        case ES_ACT_DROP_INDEX:
            add_word(r->op, sizeof r->op, "drop index");
            break;
        case ES_ACT_ADD_INDEX:
            index = 1;
            break;
        case ES_ACT_ADD_PART:
            add = 1;
            r->parts_added++;
            r->rows_added += a->part ? a->part->rows : 0;
            r->has_rows = 1;
            break;
        case ES_ACT_REMOVE_PART:
            rm = !a->flushed || rm;
            compacted |= a->compacted;
            flushed |= a->flushed;
            r->parts_removed++;
            break;
        case ES_ACT_SET_DV:
            dv = 1;
            break;
        default:
            break;
        }
    }
    if (compacted)
        add_word(r->op, sizeof r->op, "optimize");
    else if (flushed && !rm && !dv)
        add_word(r->op, sizeof r->op, "flush");
    else if ((rm || dv) && add)
        add_word(r->op, sizeof r->op, "update");
    else if (rm || dv)
        add_word(r->op, sizeof r->op, "delete");
    else if (add)
        add_word(r->op, sizeof r->op, "insert");
    else if (index && !r->op[0])
        add_word(r->op, sizeof r->op, "index");
    if (!r->op[0])
        snprintf(r->op, sizeof r->op, "%s", e->version == 0 ? "init" : "none");
}

/* Does e touch table id? Appends the ids it touches to r->tables. */
static es_status collect_tables(hist_row *r, const es_entry *e)
{
    for (int64_t i = 0; i < e->n_actions; i++) {
        const char *id = action_table_id(&e->actions[i]);
        if (!id[0] || (r->tables.len && memmem(r->tables.data, r->tables.len, id, strlen(id))))
            continue;
        es_status st = es_buf_printf(&r->tables, "%s%s", r->tables.len ? "," : "", id);
        if (st)
            return st;
    }
    return ES_OK;
}

/* Names of table ids: the latest catalog's, then the first name met walking backwards. */
typedef struct name_map {
    int64_t n, cap;
    char (*ids)[ES_ID_LEN + 1];
    char **names;
} name_map;

static const char *map_find(const name_map *m, const char *id)
{
    for (int64_t i = 0; i < m->n; i++)
        if (strcmp(m->ids[i], id) == 0)
            return m->names[i];
    return NULL;
}

static es_status map_add(name_map *m, const char *id, const char *name)
{
    if (!name || map_find(m, id))
        return ES_OK;
    if (m->n == m->cap) {
        int64_t cap = m->cap ? m->cap * 2 : 16;
        void *ids = es_realloc(m->ids, sizeof *m->ids * (size_t)cap);
        if (ids)
            m->ids = ids;
        void *names = es_realloc(m->names, sizeof *m->names * (size_t)cap);
        if (names)
            m->names = names;
        if (!ids || !names)
            return ES_NOMEM;
        m->cap = cap;
    }
    if (!(m->names[m->n] = es_strdup(name)))
        return ES_NOMEM;
    snprintf(m->ids[m->n], sizeof m->ids[m->n], "%s", id);
    m->n++;
    return ES_OK;
}

static void map_reset(name_map *m)
{
    for (int64_t i = 0; i < m->n; i++)
        es_free(m->names[i]);
    es_free(m->ids);
    es_free(m->names);
}

/* GET entries keys[0..n) at once into reqs (each carries its status). */
static void fetch_entries(es_range_req *reqs, char (*keys)[64], es_objstore *os, int64_t first,
                          int64_t n)
{
    memset(reqs, 0, sizeof *reqs * (size_t)n);
    for (int64_t k = 0; k < n; k++) {
        es_log_key(keys[k], sizeof keys[k], first + k, 0);
        reqs[k].key = keys[k];
        reqs[k].len = UINT64_MAX;
    }
    es_error sub;
    (void)es_objstore_get_many(os, reqs, n, &sub);
}

/* Decode fetched entry v (req). A missing or torn entry below the retention floor (read again:
 * a vacuum may have run since) is *gone = 1 and ES_OK; elsewhere the log is damaged. */
static es_status decode_fetched(es_entry *e, int *gone, es_range_req *req, es_objstore *os,
                                int64_t v, es_error *err)
{
    *gone = 0;
    if (req->status == ES_NOT_FOUND || (req->status == ES_OK && req->out->size == 0)) {
        int64_t floor = 0;
        es_status st = es_log_retention(&floor, os, err);
        if (st)
            return st;
        if (v < floor) {
            *gone = 1;
            return ES_OK;
        }
        return es_error_set(err, ES_CORRUPT, 0, "%s: missing: the log is damaged", req->key);
    }
    if (req->status != ES_OK) /* again alone, for its message */
        return es_log_read_entry(e, os, v, 0, err);
    es_status st = es_entry_decode(e, req->out->data, req->out->size, req->key, err);
    if (!st && e->version != v) {
        es_entry_reset(e);
        st = es_error_set(err, ES_CORRUPT, 0, "%s: records version %lld", req->key,
                          (long long)e->version);
    }
    return st;
}

static es_status history_schema(struct ArrowSchema *s, es_error *err)
{
    static const struct {
        const char *name, *format;
        int nullable;
    } cols[] = {{"version", "l", 0},     {"timestamp", "tsm:UTC", 0}, {"entry_time", "tsm:UTC", 0},
                {"operation", "u", 0},   {"tables", "u", 1},          {"rows_added", "l", 1},
                {"parts_added", "l", 0}, {"parts_removed", "l", 0},   {"txn", "u", 0}};
    int64_t n = (int64_t)(sizeof cols / sizeof cols[0]);
    es_status st = es_schema_init_struct(s, n, err);
    for (int64_t i = 0; i < n && !st; i++)
        st = es_schema_init(s->children[i], cols[i].format, cols[i].name,
                            cols[i].nullable ? ARROW_FLAG_NULLABLE : 0, err);
    return st;
}

/* The tables of row r as names (ids without a known name stay ids). */
static es_status table_names(es_buf *out, const hist_row *r, const name_map *m)
{
    out->len = 0;
    const char *p = (const char *)r->tables.data, *end = p + r->tables.len;
    while (p && p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        size_t n = comma ? (size_t)(comma - p) : (size_t)(end - p);
        char id[ES_ID_LEN + 1];
        snprintf(id, sizeof id, "%.*s", (int)n, p);
        const char *name = map_find(m, id);
        es_status st = es_buf_printf(out, "%s%s", out->len ? "," : "", name ? name : id);
        if (st)
            return st;
        p = comma ? comma + 1 : NULL;
    }
    return ES_OK;
}

static es_status build_batch(struct ArrowArrayStream *out, const hist_row *rows, int64_t n,
                             const name_map *m, es_error *err)
{
    struct ArrowSchema schema;
    memset(&schema, 0, sizeof schema);
    es_builder *b = NULL;
    es_buf names = {0};
    struct ArrowArray batch;
    memset(&batch, 0, sizeof batch);
    es_status st = history_schema(&schema, err);
    if (!st)
        st = es_builder_new(&b, &schema, err);
    for (int64_t i = 0; i < n && !st; i++) {
        const hist_row *r = &rows[i];
        if (!r->match)
            continue;
        st = table_names(&names, r, m);
        st = st ? st : es_builder_append_int(es_builder_child(b, 0), r->version);
        st = st ? st : es_builder_append_int(es_builder_child(b, 1), r->commit_ms);
        st = st ? st : es_builder_append_int(es_builder_child(b, 2), r->time_ms);
        st = st ? st
                : es_builder_append_bytes(es_builder_child(b, 3), r->op, (int64_t)strlen(r->op));
        if (!st)
            st = names.len ? es_builder_append_bytes(es_builder_child(b, 4), names.data,
                                                     (int64_t)names.len)
                           : es_builder_append_null(es_builder_child(b, 4), 1);
        if (!st)
            st = r->has_rows ? es_builder_append_int(es_builder_child(b, 5), r->rows_added)
                             : es_builder_append_null(es_builder_child(b, 5), 1);
        st = st ? st : es_builder_append_int(es_builder_child(b, 6), r->parts_added);
        st = st ? st : es_builder_append_int(es_builder_child(b, 7), r->parts_removed);
        st = st ? st
                : es_builder_append_bytes(es_builder_child(b, 8), r->txn, (int64_t)strlen(r->txn));
        st = st ? st : es_builder_append_struct(b);
        if (st == ES_NOMEM)
            es_error_set(err, ES_NOMEM, 0, "history: out of memory");
    }
    if (!st)
        st = es_builder_finish(b, &batch, err);
    if (!st)
        st = es_stream_from_batches(out, &schema, &batch, 1, err);
    es_array_release(&batch);
    es_builder_free(b);
    es_schema_release(&schema);
    es_buf_reset(&names);
    return st;
}

es_status es_history_read(struct ArrowArrayStream *out, es_objstore *os, const es_snapshot *snap,
                          const char *table, int64_t max_version, int64_t min_version,
                          int64_t limit, es_error *err)
{
    memset(out, 0, sizeof *out);
    if (max_version < 0)
        max_version = snap->version;
    if (max_version > snap->version)
        return es_error_set(err, ES_NOT_FOUND, 0,
                            "version %lld does not exist (the latest is %lld)",
                            (long long)max_version, (long long)snap->version);
    if (limit == 0)
        limit = ES_HISTORY_DEFAULT_LIMIT;
    int64_t floor = 0;
    es_status st = es_log_retention(&floor, os, err);
    if (st)
        return st;
    if (min_version < floor)
        min_version = floor;
    name_map names = {0};
    char target[ES_ID_LEN + 1] = "";
    for (int64_t i = 0; i < snap->n_tables && !st; i++) {
        st = map_add(&names, snap->tables[i]->id, snap->tables[i]->name);
        if (table && strcmp(snap->tables[i]->name, table) == 0)
            snprintf(target, sizeof target, "%s", snap->tables[i]->id);
    }
    hist_row *rows = NULL;
    int64_t n = 0, matched = 0, cap = 0;
    es_range_req reqs[HIST_RUN];
    char keys[HIST_RUN][64];
    int64_t hi = max_version;
    int done = 0;
    while (!st && !done && hi >= min_version && (limit < 0 || matched < limit)) {
        int64_t k = hi - min_version + 1 < HIST_RUN ? hi - min_version + 1 : HIST_RUN;
        if (!table && limit > 0 && limit - matched < k)
            k = limit - matched; /* every entry is a row: read no more than needed */
        int64_t first = hi - k + 1;
        if (n + k > cap) {
            int64_t ncap = cap ? cap * 2 : HIST_RUN * 2;
            while (ncap < n + k)
                ncap *= 2;
            hist_row *nr = es_realloc(rows, sizeof *rows * (size_t)ncap);
            if (!nr) {
                st = es_error_set(err, ES_NOMEM, 0, "history: out of memory");
                break;
            }
            rows = nr;
            cap = ncap;
        }
        fetch_entries(reqs, keys, os, first, k);
        for (int64_t j = k - 1; j >= 0; j--) { /* newest first */
            int gone = 0;
            es_entry e;
            memset(&e, 0, sizeof e);
            if (!st && !done)
                st = decode_fetched(&e, &gone, &reqs[j], os, first + j, err);
            if (st || done || gone) {
                done = done || gone;
                es_blob_unref(reqs[j].out);
                continue;
            }
            hist_row *r = &rows[n++];
            memset(r, 0, sizeof *r);
            r->version = e.version;
            r->time_ms = e.time_ms;
            snprintf(r->txn, sizeof r->txn, "%s", e.txn);
            describe_entry(r, &e);
            st = collect_tables(r, &e);
            for (int64_t a = 0; a < e.n_actions && !st; a++) {
                const char *nm = action_table_name(&e.actions[a]);
                st = map_add(&names, action_table_id(&e.actions[a]), nm);
                if (table && !target[0] && nm && strcmp(nm, table) == 0)
                    snprintf(target, sizeof target, "%s", action_table_id(&e.actions[a]));
            }
            matched += touches(r, table, target);
            es_entry_reset(&e);
            es_blob_unref(reqs[j].out);
        }
        hi = first - 1;
    }
    if (!st && table && !target[0])
        st = es_error_set(err, ES_NOT_FOUND, 0,
                          "no such table: %s (neither live nor in the history read)", table);
    /* The rows listed: with the table's id as finally known (a table renamed since was found
     * under its old name only at older entries), newest first, up to the limit. */
    for (int64_t i = 0, listed = 0; i < n; i++) {
        rows[i].match = touches(&rows[i], table, target) && (limit < 0 || listed < limit);
        listed += rows[i].match;
    }
    /* Commit times: the running maximum of time_ms from the oldest entry read. */
    int64_t run = INT64_MIN;
    for (int64_t i = n - 1; i >= 0; i--) {
        run = rows[i].time_ms > run ? rows[i].time_ms : run;
        rows[i].commit_ms = run;
    }
    if (!st)
        st = build_batch(out, rows, n, &names, err);
    for (int64_t i = 0; i < n; i++)
        es_buf_reset(&rows[i].tables);
    es_free(rows);
    map_reset(&names);
    return st;
}

/* time_ms of entries v[0..n) (at most SEARCH_FANOUT) with one get_many. */
static es_status entry_times(int64_t *times, es_objstore *os, const int64_t *v, int64_t n,
                             es_error *err)
{
    es_range_req reqs[SEARCH_FANOUT];
    char keys[SEARCH_FANOUT][64];
    memset(reqs, 0, sizeof reqs);
    for (int64_t k = 0; k < n; k++) {
        es_log_key(keys[k], sizeof keys[k], v[k], 0);
        reqs[k].key = keys[k];
        reqs[k].len = UINT64_MAX;
    }
    es_error sub;
    (void)es_objstore_get_many(os, reqs, n, &sub);
    es_status st = ES_OK;
    for (int64_t k = 0; k < n; k++) {
        es_entry e;
        memset(&e, 0, sizeof e);
        int gone = 0;
        if (!st)
            st = decode_fetched(&e, &gone, &reqs[k], os, v[k], err);
        if (!st && gone)
            st = es_error_set(err, ES_NOT_FOUND, 0,
                              "version %lld is past the log retention (a vacuum ran meanwhile)",
                              (long long)v[k]);
        if (!st)
            times[k] = e.time_ms;
        es_entry_reset(&e);
        es_blob_unref(reqs[k].out);
    }
    return st;
}

static void format_time(char *buf, size_t cap, int64_t ms)
{
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    char day[32];
    strftime(day, sizeof day, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(buf, cap, "%s.%03d UTC", day, (int)(ms % 1000));
}

es_status es_history_version_at(int64_t *version, es_objstore *os, int64_t latest, int64_t time_ms,
                                es_error *err)
{
    *version = -1;
    int64_t floor = 0;
    es_status st = es_log_retention(&floor, os, err);
    if (st)
        return st;
    int64_t ends[2] = {floor, latest}, t_ends[2];
    st = entry_times(t_ends, os, ends, floor == latest ? 1 : 2, err);
    if (st)
        return st;
    if (time_ms < t_ends[0]) {
        char when[64];
        format_time(when, sizeof when, t_ends[0]);
        return es_error_set(
            err, ES_NOT_FOUND, 0,
            "no version at that time: the oldest %s version is %lld, committed at %s",
            floor ? "retained" : "available", (long long)floor, when);
    }
    if (floor == latest || time_ms >= t_ends[1]) {
        *version = floor == latest ? floor : latest;
        return ES_OK;
    }
    /* time(lo) <= time_ms < time(hi): probe up to SEARCH_FANOUT versions between per round. */
    int64_t lo = floor, hi = latest;
    while (hi - lo > 1) {
        int64_t v[SEARCH_FANOUT], t[SEARCH_FANOUT], n = 0;
        int64_t gap = hi - lo - 1;
        int64_t k = gap < SEARCH_FANOUT ? gap : SEARCH_FANOUT;
        for (int64_t i = 1; i <= k; i++)
            v[n++] = lo + (gap + 1) * i / (k + 1);
        st = entry_times(t, os, v, n, err);
        if (st)
            return st;
        for (int64_t i = 0; i < n; i++) {
            if (t[i] <= time_ms) {
                lo = v[i] > lo ? v[i] : lo;
            } else {
                hi = v[i];
                break;
            }
        }
    }
    *version = lo;
    return ES_OK;
}
