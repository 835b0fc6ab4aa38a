/*
 * group: group commit. Table layer, between es_store_commit (table.c) and es_log_commit
 * (log_commit.c).
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
 *     leader: (commit_window_us > 0: sleep, so that more join, or only until the members of
 *             the last batch are back when there were several) take every waiting member
 *             --> commit their actions as one entry --> hand each member its outcome
 *             --> wake everyone; the oldest member still waiting leads next.
 *
 * While the leader writes, newcomers queue: with a window of 0 (the default) a commit that
 * finds nobody committing goes at once, and the ones that arrive during its put share the
 * next entry. A leader first waits a little (gather: at most half the last batch's time) for
 * the synchronous members of the last batch that have not queued again, so that sessions
 * committing in a loop share one entry instead of splitting into two that take turns.
 *
 * Asynchronous members (es_store_set_async: an insert) are queued the same way, heap-allocated
 * with their actions, a copy of their handle's snapshot and, with a key, their key check
 * (checked at once against the members queued: check_queued), and their call returns at once; a
 * committer thread (one per store URI, started by the first of them) leads whenever members wait
 * and nobody leads, and so does any synchronous member at the head. The outcome of an asynchronous
 * member goes to its handle (async_pending, async_st, async_snap: under the group's mutex), which
 * es_store_wait_async waits on; the handle takes the catalog at the committed version at its next
 * call (es_store_adopt_async).
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
 *  3. The entry is committed on the snapshot of the member whose snapshot is newest (the
 *     synchronous members are blocked, so their handles are not in use; an asynchronous one
 *     brings its own copy); every other member's handle receives a copy of the snapshot at the
 *     committed version, as after a commit of its own.
 *  4. An asynchronous member is acknowledged (es_store_sync returns ES_OK) only after the
 *     entry holding it was created; a member left out or failed is reported there and is in
 *     no entry. Its handle's later synchronous writes wait for it (table.c), so a handle's
 *     writes commit in the order it made them.
 *  5. Each member passes the alteration check against every entry committed after the
 *     snapshot it wrote its actions on (check_alters): by another process, or by a writer
 *     the entry lost a race to (the log checks those as it absorbs them, and group_rebase
 *     notes it, so that check_alters does not read them again), or by this group for other
 *     members (an entry without an alteration passes unread: gc_known). es_log_check alone
 *     does not see that a column its rows were written for was dropped or retyped meanwhile.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "table/table.h"
#include "table/unique.h"

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
    es_snapshot *snap;        /* for members other than the one whose snapshot committed */
    int async;                /* es_store_group_commit_async: heap-allocated, owns acts and own */
    void (*ctx_free)(void *); /* async: frees ctx */
    es_snapshot *own;         /* async: a copy of the handle's snapshot when it was queued */
    int64_t seen;             /* run_batch: alteration checks done through this version */
    struct gc_member *next;
} gc_member;

/* An entry the group committed (run_batch): its version, its checksum and the one it names as
 * "prev" (the hash chain), and whether it alters a table. check_alters takes the entries
 * between a member's snapshot and the entry's base from here instead of reading them, when
 * the chain from the base's checksum down proves they are these. */
typedef struct gc_known {
    int64_t version; /* 0: none */
    uint32_t crc, prev;
    int has_prev, alters;
} gc_known;

#define GC_KNOWN 64 /* by version modulo: the last entries of the group */

typedef struct gc_group {
    char *uri;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_cond_t gather_cv; /* a gathering leader's alone: a member queuing wakes only it */
    int leading;
    int flushing;  /* a handle of the process is flushing inline rows (es_store_flush_claim) */
    int committer; /* the thread committing asynchronous members runs */
    gc_member *head, *tail;
    /* Gathering (lead): the batch sequence number, how many synchronous members of the last
     * batch have not queued again, whether a leader waits for them, how long the last batch
     * took. */
    uint64_t batch;
    int64_t returning; /* synchronous members of the last batch that have not queued again */
    int64_t last_sync; /* synchronous members of the last batch */
    int gathering;
    int64_t batch_ns;
    gc_known known[GC_KNOWN]; /* the leader's alone (g->leading) */
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
            pthread_cond_init(&g->gather_cv, NULL);
            g->next = groups;
            groups = g;
        }
    }
    pthread_mutex_unlock(&groups_mu);
    return g;
}

/* A commit of run_batch: its members, and the version its entry goes after as far as the
 * entries absorbed so far tell (group_rebase), with that version's checksum. */
typedef struct gc_commit {
    gc_member *batch;
    int64_t base;
    uint32_t crc;
    int has_crc; /* 0: the checksum is unknown */
} gc_commit;

/* es_log_rebase_fn of the group: the entry lost a race to `theirs` (applied to s); every
 * member with a key check runs it, and those that fail are left out (the caller retries).
 * The log calls it after the alteration check of every member's actions against `theirs`
 * passed, and on the entries after the snapshot in order: the members have then passed it
 * through theirs->version (invariant 5), and check_alters need not read `theirs` again. */
static es_status group_rebase(void *ctx, const es_snapshot *s, const es_entry *theirs,
                              es_action *acts, int64_t n, es_error *err)
{
    gc_commit *c = ctx;
    es_status st = ES_OK;
    (void)acts, (void)n;
    c->base = s->version;
    c->crc = s->crc;
    c->has_crc = s->has_crc;
    for (gc_member *m = c->batch; m; m = m->next) {
        if (m->left_out)
            continue;
        if (m->seen == theirs->version - 1)
            m->seen = theirs->version;
        if (!m->rebase)
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

/* The snapshot a member brings: its handle's (blocked while it waits), or for an asynchronous
 * member the copy made when it was queued (its handle goes on meanwhile). */
static es_snapshot *member_snap(const gc_member *m)
{
    return m->async ? m->own : m->s->snap;
}

/* An asynchronous insert checked no key or unique value (table.c): a unique index (or key)
 * its table has now came after it read the table, as es_unique_index_added finds for the
 * others. */
static int unique_added(const es_snapshot *snap, gc_member *m)
{
    for (int64_t k = 0; k < m->n; k++) {
        const es_tabledef *t = es_snapshot_find_id(snap, m->acts[k].table_id);
        if (t && (t->pk >= 0 || es_unique_has_index(t))) {
            es_error_set(&m->err, ES_CONFLICT, 0,
                         "insert into '%s': a unique index was created concurrently", t->name);
            return 1;
        }
    }
    return 0;
}

static int any_alter(const es_action *a, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (a[i].kind == ES_ACT_ALTER_TABLE)
            return 1;
    return 0;
}

/* Invariant 5: leave out each member that an entry committed after the snapshot it wrote its
 * actions on (m->seen), up to snap, conflicts with by the alteration check (es_log_check_alter,
 * FORMAT.md section 7: DROP COLUMN, a new TYPE or SET NOT NULL against rows written for the
 * columns before): entries of other processes, and entries the group lost a race to. Each
 * entry is read once per batch, and only when some member's snapshot is older than snap; not
 * at all when it is one of the group's own entries without an alteration (g->known, the hash
 * chain from snap down proving it) and no member waiting for it alters a table (the check
 * needs an alteration on one side). */
static void check_alters(gc_group *g, gc_member *batch, const es_snapshot *snap, es_objstore *os)
{
    int64_t from = snap->version;
    for (gc_member *m = batch; m; m = m->next)
        if (!m->left_out && m->seen < from)
            from = m->seen;
    int64_t known = snap->version; /* entries (known, snap->version] are in g->known */
    uint32_t crc = snap->crc;
    for (int ok = snap->has_crc; ok && known > from; known--) {
        const gc_known *k = &g->known[known % GC_KNOWN];
        if (k->version != known || k->crc != crc || k->alters)
            break;
        crc = k->prev;
        ok = k->has_prev;
    }
    for (int64_t v = from + 1; v <= snap->version; v++) {
        int read = v <= known;
        for (gc_member *m = batch; m && !read; m = m->next)
            read = !m->left_out && m->seen < v && any_alter(m->acts, m->n);
        if (!read)
            continue; /* no alteration on either side: every member passes */
        es_entry e;
        es_error rerr;
        es_status rst = es_log_read_entry(&e, os, v, 0, &rerr);
        for (gc_member *m = batch; m; m = m->next) {
            if (m->left_out || m->seen >= v)
                continue;
            es_status mst = rst ? rst : es_log_check_alter(&e, m->acts, m->n, &m->err);
            if (rst)
                m->err = rerr;
            if (mst) {
                m->left_out = 1;
                m->st = mst;
            }
        }
        if (!rst)
            es_entry_reset(&e);
    }
    for (gc_member *m = batch; m; m = m->next)
        if (m->seen < snap->version)
            m->seen = snap->version;
}

/* Commit the members of `batch` as one entry (invariants 1-3, 5). */
static void run_batch(gc_group *g, gc_member *batch)
{
    gc_member *base = batch;
    int64_t total = 0, n_members = 0;
    for (gc_member *m = batch; m; m = m->next) {
        if (member_snap(m)->version > member_snap(base)->version)
            base = m;
        total += m->n;
        n_members++;
    }
    es_snapshot *snap = member_snap(base);
    es_action *all = es_calloc((size_t)(total > 0 ? total : 1), sizeof(es_action));
    es_status st = ES_OK;
    es_error err;
    err.code = ES_OK;
    err.msg[0] = 0;
    int64_t version = -1;
    if (!all)
        st = es_error_set(&err, ES_NOMEM, 0, "commit: out of memory");
    int keys = 0, async = 0;
    for (gc_member *m = batch; m; m = m->next) {
        keys |= m->rebase != NULL;
        async |= m->async;
        m->seen = member_snap(m)->version; /* before snap catches up below */
    }
    /* Asynchronous members' handles only refreshed (table.c, sync): the hint check of a
     * writer (log.c, es_log_sync_write), once for the entry, unless the end is known. */
    if (!st && async && !es_log_end_known(snap))
        st = es_log_sync_write(snap, base->s->os, &err);
    for (int attempt = 0; !st; attempt++) {
        check_alters(g, batch, snap, base->s->os);
        /* Leave out the members that conflict with the catalog and the members before them. */
        int64_t n = 0, left = 0;
        es_snapshot *view = NULL; /* snap + the members kept so far, when a key is checked */
        for (gc_member *m = batch; m; m = m->next) {
            if (m->left_out)
                continue;
            memcpy(all + n, m->acts, (size_t)m->n * sizeof(es_action));
            if (m->async && !m->rebase && unique_added(snap, m)) {
                m->left_out = 1;
                m->st = ES_CONFLICT;
                continue;
            }
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
        gc_commit c = {batch, snap->version, snap->crc, snap->has_crc};
        st = es_log_commit_rebase(snap, base->s->os, all, n, group_rebase, &c, &version, &err);
        if (!st && snap->version == version && snap->has_crc && c.base == version - 1) {
            gc_known *k = &g->known[version % GC_KNOWN];
            k->version = version;
            k->crc = snap->crc;
            k->prev = c.crc;
            k->has_prev = c.has_crc;
            k->alters = any_alter(all, n);
        }
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
        else if (m == base && m->async) { /* its copy is the snapshot at the version */
            m->snap = m->own;
            m->own = NULL;
        } else if (m != base && es_snapshot_copy(&m->snap, snap) != ES_OK)
            m->snap = NULL; /* the member refreshes its handle by itself then */
    }
    es_free(all);
}

/* With g->mu held and nobody leading: (after the commit window) take every queued member and
 * commit them as one entry, then hand each its outcome; g->mu held again on return. An
 * asynchronous member's outcome goes to its handle's counters, and the member is freed. */
static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* With g->mu held: wait at most `wait` ns for the synchronous members of the last batch that
 * have not queued again (they run their next statement). Without a commit window the wait is
 * at most the time the last batch took (its put) and GATHER_MAX_NS: without it, 8 sessions
 * split into two groups that take turns (those that queued during a put, then those of the
 * put), about 4 per entry; with it, the group that waits is whole. One session never waits
 * (it is the only returning member, and it is the leader). With a window, when the last batch
 * had several synchronous members, the window is the bound of this wait: the entry goes as
 * soon as they are all back instead of at the window's end. */
#define GATHER_MAX_NS 2000000

static void gather(gc_group *g, int64_t wait)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl); /* the condition variable's clock */
    int64_t ns = (int64_t)dl.tv_nsec + wait;
    dl.tv_sec += (time_t)(ns / 1000000000);
    dl.tv_nsec = (long)(ns % 1000000000);
    g->gathering = 1;
    while (g->returning > 0 && pthread_cond_timedwait(&g->gather_cv, &g->mu, &dl) == 0)
        ;
    g->gathering = 0;
}

/* With g->mu held: member m (synchronous) queued; if it was in the last batch, a leader
 * gathering waits for one fewer. */
static void joined(gc_group *g, es_store *s)
{
    if (s->gc_batch && s->gc_batch == g->batch && g->returning > 0)
        g->returning--;
    s->gc_batch = 0;
    if (g->gathering)
        pthread_cond_signal(&g->gather_cv);
}

static void lead(gc_group *g, int64_t window_us)
{
    g->leading = 1;
    if (window_us > 0 && g->last_sync > 1) {
        /* Several sessions committing in a loop: the window ends when the last batch's
         * synchronous members are all back (nobody else is known to be coming). */
        gather(g, window_us * 1000);
    } else if (window_us > 0) {
        pthread_mutex_unlock(&g->mu);
        struct timespec ts = {(time_t)(window_us / 1000000), (long)(window_us % 1000000) * 1000};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&g->mu);
    } else if (g->returning > 0 && g->batch_ns > 0) {
        gather(g, g->batch_ns < GATHER_MAX_NS ? g->batch_ns : GATHER_MAX_NS);
    }
    gc_member *batch = g->head;
    g->head = g->tail = NULL;
    pthread_mutex_unlock(&g->mu);
    int64_t t0 = mono_ns();
    run_batch(g, batch);
    int64_t t1 = mono_ns();
    pthread_mutex_lock(&g->mu);
    g->batch_ns = t1 - t0;
    g->batch++;
    g->returning = 0;
    g->last_sync = 0;
    for (gc_member *m = batch, *next; m; m = next) {
        next = m->next;
        m->next = NULL;
        m->done = 1;
        if (!m->async) {
            m->s->gc_batch = g->batch;
            g->returning++;
            g->last_sync++;
            continue;
        }
        es_store *s = m->s;
        if (m->st && !s->async_st) {
            s->async_st = m->st;
            s->async_err = m->err;
        }
        if (!m->st && m->version > s->async_version)
            s->async_version = m->version;
        /* The catalog at the version, for the handle to take at its next call (instead of
         * reading back the entry it caused). */
        if (m->snap && (!s->async_snap || s->async_snap->version < m->snap->version)) {
            es_snapshot_free(s->async_snap);
            s->async_snap = m->snap;
            m->snap = NULL;
        }
        es_snapshot_free(m->snap);
        s->async_pending--;
        for (int64_t k = 0; k < m->n; k++)
            es_action_reset(&m->acts[k]);
        es_free(m->acts);
        es_snapshot_free(m->own);
        if (m->ctx_free)
            m->ctx_free(m->ctx);
        es_free(m);
    }
    g->leading = 0;
    pthread_cond_broadcast(&g->cv);
}

/* The committer of a store's asynchronous members (one per store URI and process, started by
 * the first of them, kept for the life of the process like the group). */
static void *committer(void *arg)
{
    gc_group *g = arg;
    pthread_mutex_lock(&g->mu);
    for (;;) {
        while (!g->head || g->leading)
            pthread_cond_wait(&g->cv, &g->mu);
        int64_t window = 0;
        for (gc_member *m = g->head; m; m = m->next)
            if (m->s->opts.commit_window_us > window)
                window = m->s->opts.commit_window_us;
        lead(g, window);
    }
    return NULL;
}

/* With g->mu held: the key check of an asynchronous member m (its rebase hook) against every
 * member queued and not yet committed (their actions applied to a copy of m's snapshot, in
 * queue order), so that a duplicate fails the call itself. Members the leader took are
 * checked at the commit (check_member, group_rebase): a duplicate found there fails
 * es_store_sync. */
static es_status check_queued(gc_group *g, gc_member *m, es_error *err)
{
    es_snapshot *view = NULL;
    if (es_snapshot_copy(&view, m->own))
        return es_error_set(err, ES_NOMEM, 0, "commit: out of memory");
    for (gc_member *q = g->head; q; q = q->next) {
        es_entry e;
        memset(&e, 0, sizeof(e));
        e.version = view->version;
        e.actions = q->acts;
        e.n_actions = q->n;
        es_error ignored; /* a member that does not apply (table dropped) is skipped: an entry
                           * applies whole or not at all */
        (void)es_snapshot_apply(view, &e, "group commit", &ignored);
    }
    es_entry mine;
    memset(&mine, 0, sizeof(mine));
    mine.version = view->version;
    mine.actions = m->acts;
    mine.n_actions = m->n;
    es_status st = m->rebase(m->ctx, view, &mine, m->acts, m->n, err);
    es_snapshot_free(view);
    return st;
}

es_status es_store_group_commit_async(es_store *s, es_action *acts, int64_t n,
                                      es_log_rebase_fn rebase, void *ctx, void (*ctx_free)(void *),
                                      es_error *err)
{
    gc_group *g = s->os->uri ? find_group(s->os->uri) : NULL;
    gc_member *m = g ? es_calloc(1, sizeof(*m)) : NULL;
    es_action *own = m ? es_malloc((size_t)(n > 0 ? n : 1) * sizeof(es_action)) : NULL;
    if (!own || es_snapshot_copy(&m->own, s->snap) != ES_OK) {
        es_free(own);
        es_free(m);
        int64_t v; /* no group (no URI) or no memory: commit now, synchronously */
        es_status st = es_store_group_commit(s, acts, n, rebase, ctx, &v, err);
        if (ctx_free)
            ctx_free(ctx);
        return st;
    }
    memcpy(own, acts, (size_t)n * sizeof(es_action));
    memset(acts, 0, (size_t)n * sizeof(es_action));
    m->s = s;
    m->acts = own;
    m->n = n;
    m->async = 1;
    m->rebase = rebase;
    m->ctx = ctx;
    m->ctx_free = ctx_free;
    s->async_used = 1;
    pthread_mutex_lock(&g->mu);
    es_status kst = rebase ? check_queued(g, m, err) : ES_OK;
    if (kst) {
        pthread_mutex_unlock(&g->mu);
        for (int64_t k = 0; k < n; k++)
            es_action_reset(&own[k]);
        es_free(own);
        es_snapshot_free(m->own);
        if (ctx_free)
            ctx_free(ctx);
        es_free(m);
        return kst;
    }
    if (!g->committer) {
        pthread_t th;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        g->committer = pthread_create(&th, &at, committer, g) == 0;
        pthread_attr_destroy(&at);
    }
    if (!g->committer) {
        pthread_mutex_unlock(&g->mu);
        memcpy(acts, own, (size_t)n * sizeof(es_action)); /* give them back: commit now */
        es_free(own);
        es_snapshot_free(m->own);
        es_free(m);
        int64_t v;
        es_status st = es_store_group_commit(s, acts, n, rebase, ctx, &v, err);
        if (ctx_free)
            ctx_free(ctx);
        return st;
    }
    if (g->tail)
        g->tail->next = m;
    else
        g->head = m;
    g->tail = m;
    s->async_pending++;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    return ES_OK;
}

void es_store_adopt_async(es_store *s)
{
    gc_group *g = s->async_used && s->os->uri ? find_group(s->os->uri) : NULL;
    if (!g)
        return;
    pthread_mutex_lock(&g->mu);
    es_snapshot *snap = s->async_snap;
    s->async_snap = NULL;
    pthread_mutex_unlock(&g->mu);
    if (snap && snap->version > s->snap->version && !s->txn) {
        es_snapshot_free(s->snap);
        s->snap = snap;
    } else {
        es_snapshot_free(snap);
    }
}

es_status es_store_wait_async(es_store *s, int64_t *version, es_error *err, int keep)
{
    if (version)
        *version = -1;
    gc_group *g = s->async_used && s->os->uri ? find_group(s->os->uri) : NULL;
    if (!g)
        return ES_OK; /* never queued anything */
    pthread_mutex_lock(&g->mu);
    while (s->async_pending > 0)
        pthread_cond_wait(&g->cv, &g->mu);
    es_status st = s->async_st;
    if (st && err)
        *err = s->async_err;
    if (!keep)
        s->async_st = ES_OK;
    if (version)
        *version = s->async_version > 0 ? s->async_version : -1;
    pthread_mutex_unlock(&g->mu);
    return st;
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
    joined(g, s);
    while (!me.done) {
        if (g->leading || g->head != &me) {
            pthread_cond_wait(&g->cv, &g->mu);
            continue;
        }
        lead(g, s->opts.commit_window_us);
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
