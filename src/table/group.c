/*
 * group: group commit. Table layer, between es_store_commit (table.c) and es_log_commit (log.c).
 *
 * Store handles of one process that commit to the same store (the same object store URI) at
 * the same moment share one log entry, so one conditional put (and, on the local backend, one
 * pair of syncs) makes all of their calls durable. Autocommit inserts, table creates and drops
 * take part (their conflicts are es_log_check's), and so do inserts into tables with a primary
 * key, whose rebase hook checks their keys (unique.c) against the members before them in the
 * entry and against every entry the group loses a race to; deletes, updates, flushes and
 * transactions commit alone as before.
 *
 * Protocol (one mutex and condition variable per store URI):
 *
 *     member: enqueue its actions --> [waiting] --(a leader took it and finished)--> done
 *                                        |
 *                     no leader and it is the oldest waiting member
 *                                        v
 *     leader: (commit_window_us > 0: sleep, so that more join) take every waiting member
 *             --> commit their actions as one entry --> hand each member its outcome
 *             --> wake everyone; the oldest member still waiting leads next.
 *
 * While the leader writes, newcomers queue: with a window of 0 (the default) a commit that
 * finds nobody committing goes at once, and the ones that arrive during its put share the
 * next entry.
 *
 * Invariants:
 *  1. A member's actions commit all together in exactly one entry, or not at all; the entry's
 *     actions are the members' in queue order, each member's in its order.
 *  2. Each member gets its own outcome: a member whose actions conflict with the catalog at
 *     the version the entry is committed on (es_log_check over the actions of the members
 *     before it) fails alone with ES_CONFLICT and is left out; the others are retried without
 *     it. So does a member whose rebase hook fails (a key that a member before it, or an entry
 *     committed meanwhile, holds: ES_EXISTS). An error of the put itself (I/O, damage) is
 *     every member's.
 *  3. The entry is committed on the snapshot of the member whose snapshot is newest (all
 *     members are blocked, so their handles are not in use); every other member's handle
 *     receives a copy of the snapshot at the committed version, as after a commit of its own.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "table/table.h"

typedef struct gc_member {
    es_store *s;
    es_action *acts;
    int64_t n;
    es_log_rebase_fn rebase; /* nullable: an insert's key check */
    void *ctx;
    int done, left_out;
    es_status st;
    es_error err;
    int64_t version;
    es_snapshot *snap; /* for members other than the one whose snapshot committed */
    struct gc_member *next;
} gc_member;

typedef struct gc_group {
    char *uri;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int leading;
    int flushing; /* a handle of the process is flushing inline rows (es_store_flush_claim) */
    gc_member *head, *tail;
    struct gc_group *next;
} gc_group;

static pthread_mutex_t groups_mu = PTHREAD_MUTEX_INITIALIZER;
static gc_group *groups; /* one per store URI, kept for the life of the process */

static gc_group *find_group(const char *uri)
{
    pthread_mutex_lock(&groups_mu);
    gc_group *g = groups;
    while (g && strcmp(g->uri, uri) != 0)
        g = g->next;
    if (!g) {
        g = calloc(1, sizeof(*g)); /* process-lifetime: not through the test allocator */
        if (g && !(g->uri = strdup(uri))) {
            free(g);
            g = NULL;
        }
        if (g) {
            pthread_mutex_init(&g->mu, NULL);
            pthread_cond_init(&g->cv, NULL);
            g->next = groups;
            groups = g;
        }
    }
    pthread_mutex_unlock(&groups_mu);
    return g;
}

/* es_log_rebase_fn of the group: the entry lost a race to `theirs` (applied to s); every
 * member with a key check runs it, and those that fail are left out (the caller retries). */
static es_status group_rebase(void *ctx, const es_snapshot *s, const es_entry *theirs,
                              es_action *acts, int64_t n, es_error *err)
{
    es_status st = ES_OK;
    (void)acts, (void)n;
    for (gc_member *m = ctx; m; m = m->next) {
        if (m->left_out || !m->rebase)
            continue;
        es_status mst = m->rebase(m->ctx, s, theirs, m->acts, m->n, &m->err);
        if (mst) {
            m->left_out = 1;
            m->st = mst;
            st = es_error_set(err, ES_CONFLICT, 0, "commit: a member of the group left out");
        }
    }
    return st;
}

/* Check member m, whose actions follow those of the members before it (already applied to
 * *view, a copy of snap made on first use), with its rebase hook; then apply its actions to
 * *view for the members after it. Non-zero: m fails (its error in m->err). */
static es_status check_member(es_snapshot **view, const es_snapshot *snap, gc_member *m)
{
    es_status st = ES_OK;
    if (!*view && es_snapshot_copy(view, snap))
        return es_error_set(&m->err, ES_NOMEM, 0, "commit: out of memory");
    es_entry e;
    memset(&e, 0, sizeof(e));
    e.version = (*view)->version;
    e.actions = m->acts;
    e.n_actions = m->n;
    if (m->rebase) /* always: snap may be newer than the snapshot m checked its keys on */
        st = m->rebase(m->ctx, *view, &e, m->acts, m->n, &m->err);
    if (!st && es_snapshot_apply(*view, &e, "group commit", &m->err))
        st = ES_INTERNAL; /* es_log_check passed: only memory can fail here */
    return st;
}

/* Commit the members of `batch` as one entry (invariants 1-3). */
static void run_batch(gc_member *batch)
{
    gc_member *base = batch;
    int64_t total = 0, n_members = 0;
    for (gc_member *m = batch; m; m = m->next) {
        if (m->s->snap->version > base->s->snap->version)
            base = m;
        total += m->n;
        n_members++;
    }
    es_snapshot *snap = base->s->snap;
    es_action *all = es_calloc((size_t)(total > 0 ? total : 1), sizeof(es_action));
    es_status st = ES_OK;
    es_error err;
    err.code = ES_OK;
    err.msg[0] = 0;
    int64_t version = -1;
    if (!all)
        st = es_error_set(&err, ES_NOMEM, 0, "commit: out of memory");
    int keys = 0;
    for (gc_member *m = batch; m; m = m->next)
        keys |= m->rebase != NULL;
    for (int attempt = 0; !st; attempt++) {
        /* Leave out the members that conflict with the catalog and the members before them. */
        int64_t n = 0, left = 0;
        es_snapshot *view = NULL; /* snap + the members kept so far, when a key is checked */
        for (gc_member *m = batch; m; m = m->next) {
            if (m->left_out)
                continue;
            memcpy(all + n, m->acts, (size_t)m->n * sizeof(es_action));
            if (es_log_check(snap, all, n + m->n, ES_CONFLICT, &m->err) != ES_OK) {
                m->left_out = 1;
                m->st = ES_CONFLICT;
                continue;
            }
            es_status kst = keys ? check_member(&view, snap, m) : ES_OK;
            if (kst) {
                m->left_out = 1;
                m->st = kst;
                continue;
            }
            n += m->n;
            left++;
        }
        es_snapshot_free(view);
        if (left == 0)
            break;
        st = keys ? es_log_commit_rebase(snap, base->s->os, all, n, group_rebase, batch, &version,
                                         &err)
                  : es_log_commit(snap, base->s->os, all, n, &version, &err);
        if (st != ES_CONFLICT || attempt >= n_members)
            break;
        st = ES_OK; /* lost a race: the catalog moved; check each member again */
    }
    for (gc_member *m = batch; m; m = m->next) {
        if (m->left_out)
            continue;
        m->st = st;
        m->version = version;
        if (st)
            m->err = err;
        else if (m != base && es_snapshot_copy(&m->snap, snap) != ES_OK)
            m->snap = NULL; /* the member refreshes its handle by itself then */
    }
    es_free(all);
}

es_status es_store_group_commit(es_store *s, es_action *acts, int64_t n, es_log_rebase_fn rebase,
                                void *ctx, int64_t *version, es_error *err)
{
    gc_group *g = s->os->uri ? find_group(s->os->uri) : NULL;
    if (!g)
        return es_log_commit_rebase(s->snap, s->os, acts, n, rebase, ctx, version, err);
    gc_member me;
    memset(&me, 0, sizeof(me));
    me.s = s;
    me.acts = acts;
    me.n = n;
    me.rebase = rebase;
    me.ctx = ctx;
    pthread_mutex_lock(&g->mu);
    if (g->tail)
        g->tail->next = &me;
    else
        g->head = &me;
    g->tail = &me;
    while (!me.done) {
        if (g->leading || g->head != &me) {
            pthread_cond_wait(&g->cv, &g->mu);
            continue;
        }
        g->leading = 1;
        if (s->opts.commit_window_us > 0) {
            pthread_mutex_unlock(&g->mu);
            struct timespec ts = {(time_t)(s->opts.commit_window_us / 1000000),
                                  (long)(s->opts.commit_window_us % 1000000) * 1000};
            nanosleep(&ts, NULL);
            pthread_mutex_lock(&g->mu);
        }
        gc_member *batch = g->head;
        g->head = g->tail = NULL;
        pthread_mutex_unlock(&g->mu);
        run_batch(batch);
        pthread_mutex_lock(&g->mu);
        for (gc_member *m = batch, *next; m; m = next) {
            next = m->next;
            m->next = NULL;
            m->done = 1;
        }
        g->leading = 0;
        pthread_cond_broadcast(&g->cv);
    }
    pthread_mutex_unlock(&g->mu);
    if (me.snap) {
        es_snapshot_free(s->snap);
        s->snap = me.snap;
    }
    if (me.st) {
        if (err)
            *err = me.err;
        return me.st;
    }
    *version = me.version;
    if (!me.snap && s->snap->version < me.version)
        (void)es_log_refresh(s->snap, s->os, NULL); /* out of memory for the copy */
    return ES_OK;
}

int es_store_flush_claim(es_store *s, int claim)
{
    gc_group *g = s->os->uri ? find_group(s->os->uri) : NULL;
    if (!g)
        return 1;
    pthread_mutex_lock(&g->mu);
    int got = 1;
    if (claim && g->flushing)
        got = 0;
    else
        g->flushing = claim;
    pthread_mutex_unlock(&g->mu);
    return got;
}
