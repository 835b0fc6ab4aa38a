/*
 * log_commit: committing an entry (es_log_commit, es_log_commit_rebase): the conditional put of
 * the next version, and when it loses a race, absorbing the winner and the entries after it
 * (conflicts, the rebase hook) before the next attempt; a torn entry replaced; the sync of the
 * entry a commit follows where the store can read an entry before it is durable (the local
 * store on ext4 without a journal: es_snapshot.synced, own_last below). The protocol is
 * described in log.c's header and docs/FORMAT.md section 6.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "table/log.h"

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
    return es_log_commit_rebase(s, os, (es_action *)actions, n, NULL, NULL, version, err);
}

/* Entry `key` reads as torn (empty: a crash cut its put short, FORMAT.md §3): replace it with
 * ours, b, by a put conditional on its ETag, so that of several writers one wins and the others
 * get ES_EXISTS (and read the winner's entry). */
static es_status replace_torn(es_objstore *os, const char *key, const es_buf *b, es_error *err)
{
    es_obj_info info;
    es_status st = es_objstore_head(os, key, &info, err);
    if (st == ES_OK && info.size != 0)
        st = es_error_set(err, ES_EXISTS, 0, "%s: already exists", key);
    else if (st == ES_OK && !os->cas_supported)
        st = es_error_set(err, ES_CORRUPT, 0,
                          "%s: empty (torn), and this store cannot replace "
                          "it safely (no conditional put)",
                          key);
    else if (st == ES_OK)
        st = es_objstore_put(os, key, b->data, b->len, ES_PUT_IF_MATCH, info.etag, NULL, err);
    return st;
}

/* Did entry e remove, by compaction, a part that one of the actions deletes from? */
static int moved_by_compaction(const es_entry *e, const es_action *actions, int64_t n)
{
    for (int64_t i = 0; i < e->n_actions; i++) {
        const es_action *r = &e->actions[i];
        for (int64_t k = 0; r->kind == ES_ACT_REMOVE_PART && r->compacted && k < n; k++)
            if ((actions[k].kind == ES_ACT_SET_DV || actions[k].kind == ES_ACT_REMOVE_PART) &&
                strcmp(actions[k].part_id, r->part_id) == 0 &&
                strcmp(actions[k].table_id, r->table_id) == 0)
                return 1;
    }
    return 0;
}

/* Entry `theirs` (version v) was committed before ours: apply it to s and check our actions
 * against it (conflicts, vacuum horizon, alterations, then the caller's rebase hook). */
static es_status absorb(es_snapshot *s, es_objstore *os, es_entry *theirs, es_action *actions,
                        int64_t n, es_log_rebase_fn rebase, void *ctx, es_error *err)
{
    es_status st = catch_up(s, os, theirs->version, theirs, err);
    if (!st)
        st = es_log_check_horizon(theirs, actions, n, err);
    if (!st)
        st = es_log_check(s, actions, n, ES_CONFLICT, err);
    if (st == ES_CONFLICT && err)
        err->sys_code = moved_by_compaction(theirs, actions, n) ? ES_LOG_SYS_COMPACTED : 0;
    if (!st)
        st = es_log_check_alter(theirs, actions, n, err);
    if (!st && rebase)
        st = rebase(ctx, s, theirs, actions, n, err);
    return st;
}

/* After losing a race: the entries others committed after the winner, read up to the end (one
 * GET each, and one that finds none) and absorbed in turn, so that a writer behind by k
 * entries makes k GETs before its next put instead of k losing puts. A torn entry ends the
 * tail (the put replaces it). */
static es_status absorb_tail(es_snapshot *s, es_objstore *os, es_action *actions, int64_t n,
                             es_log_rebase_fn rebase, void *ctx, es_error *err)
{
    for (;;) {
        es_entry theirs;
        es_error gerr;
        int torn = 0;
        es_status st = es_log_read_entry_torn(&theirs, os, s->version + 1, 0, &torn, &gerr);
        if (st == ES_NOT_FOUND)
            return ES_OK;
        if (st) {
            if (err)
                *err = gerr;
            return st;
        }
        st = absorb(s, os, &theirs, actions, n, rebase, ctx, err);
        es_entry_reset(&theirs);
        if (st)
            return st;
    }
}

/* The entry each store's commits in this process last created (their put returned: durable),
 * named by version and checksum: a handle whose snapshot ends with exactly that entry needs no
 * sync before committing after it (es_snapshot.synced), although it read the entry rather than
 * wrote it (group commit's members, a flush after a batch). A few stores per process; the
 * checksum tells a store recreated under the same URI from the one remembered. */
#define OWN_LAST_SLOTS 8
static struct {
    char uri[200];
    int64_t version;
    uint32_t crc;
} own_last[OWN_LAST_SLOTS];
static int own_last_next;
static pthread_mutex_t own_last_mu = PTHREAD_MUTEX_INITIALIZER;

static void own_last_set(const es_objstore *os, int64_t version, uint32_t crc)
{
    if (!os->uri || strlen(os->uri) >= sizeof(own_last[0].uri))
        return;
    pthread_mutex_lock(&own_last_mu);
    int i = 0;
    while (i < OWN_LAST_SLOTS && strcmp(own_last[i].uri, os->uri) != 0)
        i++;
    if (i == OWN_LAST_SLOTS) {
        i = own_last_next;
        own_last_next = (own_last_next + 1) % OWN_LAST_SLOTS;
        strcpy(own_last[i].uri, os->uri);
        own_last[i].version = -1;
    }
    if (version > own_last[i].version) {
        own_last[i].version = version;
        own_last[i].crc = crc;
    }
    pthread_mutex_unlock(&own_last_mu);
}

static int own_last_is(const es_objstore *os, const es_snapshot *s)
{
    int yes = 0;
    if (!os->uri || !s->has_crc)
        return 0;
    pthread_mutex_lock(&own_last_mu);
    for (int i = 0; i < OWN_LAST_SLOTS && !yes; i++)
        yes = strcmp(own_last[i].uri, os->uri) == 0 && own_last[i].version == s->version &&
              own_last[i].crc == s->crc;
    pthread_mutex_unlock(&own_last_mu);
    return yes;
}

es_status es_log_commit_rebase(es_snapshot *s, es_objstore *os, es_action *actions, int64_t n,
                               es_log_rebase_fn rebase, void *ctx, int64_t *version, es_error *err)
{
    if (s->damage.code != ES_OK) {
        if (err)
            *err = s->damage;
        return ES_CORRUPT;
    }
    es_entry e;
    memset(&e, 0, sizeof(e));
    e.actions = actions;
    e.n_actions = n;
    es_part_new_id(e.txn);
    es_status st = ES_OK;
    for (int attempt = 0; attempt < ES_COMMIT_MAX_ATTEMPTS; attempt++) {
        es_buf b = {0};
        char key[64];
        if (!s->has_crc && s->version > 0) {
            /* Loaded from a checkpoint: learn the checksum the hash chain names (best effort:
             * without it the entry has no "prev", as entries of old stores). */
            es_entry last;
            es_error lerr;
            if (es_log_read_entry(&last, os, s->version, 0, &lerr) == ES_OK) {
                s->has_crc = last.has_crc;
                s->crc = last.crc;
                es_entry_reset(&last);
            }
        }
        e.has_prev = s->has_crc;
        e.prev = s->crc;
        e.version = s->version + 1;
        e.time_ms = es_log_now_ms();
        es_log_key(key, sizeof(key), e.version, 0);
        es_manifest_hint(s, actions, n); /* where readers find the parts it changes */
        st = es_entry_encode(&b, &e, err);
        if (!st && s->synced < s->version && own_last_is(os, s))
            s->synced = s->version;
        if (!st && s->synced < s->version) {
            /* The entry this one follows may have been read before its writer's fsync
             * returned (es_snapshot.synced): make it durable first. */
            char pkey[64];
            es_log_key(pkey, sizeof(pkey), s->version, 0);
            st = es_objstore_sync(os, pkey, err);
            if (st == ES_NOT_FOUND) /* retention removed it: long durable */
                st = ES_OK;
            if (!st)
                s->synced = s->version;
        }
        if (st) {
            es_buf_reset(&b);
            return st;
        }
        es_error perr;
        es_status pst =
            es_objstore_put(os, key, b.data, b.len, ES_PUT_IF_ABSENT, NULL, NULL, &perr);
        int check_back = pst != ES_OK && pst != ES_EXISTS; /* ambiguous */
        if (pst == ES_OK && !os->cas_supported)
            check_back = 1;
        es_entry theirs;
        memset(&theirs, 0, sizeof(theirs));
        if (check_back || pst == ES_EXISTS) {
            es_error gerr;
            int torn = 0;
            es_status gst = es_log_read_entry_torn(&theirs, os, e.version, 0, &torn, &gerr);
            if (gst == ES_NOT_FOUND && pst == ES_EXISTS && torn &&
                replace_torn(os, key, &b, &perr) == ES_OK) {
                gst = ES_OK; /* ours replaced the torn entry: "ours after all" below */
                memcpy(theirs.txn, e.txn, sizeof(theirs.txn));
            } else if (gst == ES_NOT_FOUND && pst == ES_EXISTS && torn) {
                gst = es_log_read_entry(&theirs, os, e.version, 0, &gerr); /* who replaced it */
            }
            es_buf_reset(&b);
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
        es_buf_reset(&b);
        if (pst == ES_OK) {
            /* Committed. Apply our own actions. */
            st = es_snapshot_apply(s, &e, key, err);
            if (st)
                return st;
            s->end_ms = es_log_mono_ms(); /* our put of the next version was the end */
            s->synced = e.version;
            if (e.has_crc)
                own_last_set(os, e.version, e.crc);
            *version = e.version;
            if (es_log_wants_checkpoint(s, e.version)) {
                es_error cerr;
                (void)es_log_checkpoint(s, os, &cerr); /* best effort: only an optimisation */
            }
            return ES_OK;
        }
        /* Lost the race: catch up with the winner and check for conflicts, then with the
         * entries after it. */
        st = absorb(s, os, &theirs, actions, n, rebase, ctx, err);
        es_entry_reset(&theirs);
        if (!st)
            st = absorb_tail(s, os, actions, n, rebase, ctx, err);
        if (st)
            return st;
    }
    return es_error_set(err, ES_CONFLICT, 0, "commit: gave up after %d attempts",
                        ES_COMMIT_MAX_ATTEMPTS);
}
