/*
 * probe: the read refresh of a scan run in parallel with the scan's first requests (table
 * layer). A read of the newest version refreshes the handle first (es_log_refresh: a GET of
 * the entry after the handle's version, which is absent when nothing is new), and only then
 * reads the table's manifests, the first part's .idx, its deletion vector or index object: a
 * round trip spent before any useful one. Here the scan plans on the handle's snapshot while
 * that GET is in flight on a thread of its own; when the GET finds nothing (the usual case)
 * the snapshot was the newest and the requests made meanwhile stand. When it finds an entry
 * (or fails), the scan is planned again after a normal refresh (the entry is read again; the
 * objects read meanwhile are immutable, and cached ones stay useful).
 *
 * Invariant: a scan through a probe sees exactly the version a scan after es_log_refresh
 * would see, since both conclude "nothing new" from the same absent entry v + 1.
 *
 * A statement can do the same (es_store_speculate_begin/end): the SQL layer binds a SELECT on
 * the handle's snapshot and opens its scan (the .idx, and the first window when the .idx is
 * cached) while the GET is in flight, and runs the statement again, after a refresh, when the
 * GET found an entry. The GET is sent after the statement began, so a version it does not find
 * was not acknowledged before the statement began.
 *
 * A thread costs tens of microseconds to start: on a store that answers a GET faster than
 * that (a local directory, memory) the probe is slower than the refresh it hides. So a handle
 * probes only while its last probe's GET took ES_PROBE_MIN_NS or more (or before its first);
 * otherwise it refreshes first, as without a probe.
 */
#include <pthread.h>
#include <time.h>

#include "table/table.h"

#define ES_PROBE_MIN_NS 250000

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *probe_run(void *arg)
{
    es_store_probe *p = arg;
    es_blob *b = NULL;
    es_error sub;
    int64_t t0 = now_ns();
    p->st = es_objstore_get(p->os, p->key, 0, UINT64_MAX, &b, &sub);
    __atomic_store_n(p->took_ns, now_ns() - t0, __ATOMIC_RELAXED);
    es_blob_unref(b);
    return NULL;
}

/* Start p's GET of the entry after s's version on a thread; 0 when it does not pay or fails. */
static int probe_start(es_store_probe *p, es_store *s)
{
    int64_t took = __atomic_load_n(&s->probe_ns, __ATOMIC_RELAXED);
    if (took > 0 && took < ES_PROBE_MIN_NS)
        return 0;
    es_store_adopt_async(s);
    p->os = s->os;
    p->took_ns = &s->probe_ns;
    es_log_key(p->key, sizeof(p->key), s->snap->version + 1, 0);
    return pthread_create(&p->th, NULL, probe_run, p) == 0;
}

es_status es_store_table_probe(es_tabledef **out, es_store_probe *p, es_store *s, const char *name,
                               es_error *err)
{
    *out = NULL;
    p->running = 0;
    if (s->txn)
        return es_store_table(out, s, name, -1, err);
    p->running = probe_start(p, s);
    es_tabledef *t = es_tabledef_ref(es_snapshot_find(s->snap, name));
    if (!p->running || !t) {
        /* No thread, or a table this snapshot lacks (new, or misspelt): refresh first. */
        es_tabledef_unref(t);
        es_store_probe_join(p);
        return es_store_table(out, s, name, -1, err);
    }
    *out = t;
    return ES_OK;
}

int es_store_probe_join(es_store_probe *p)
{
    if (!p->running)
        return 0;
    pthread_join(p->th, NULL);
    p->running = 0;
    return p->st != ES_NOT_FOUND;
}

int es_store_speculate_begin(es_store *s)
{
    es_store_probe *p = &s->spec;
    if (p->running || s->txn || s->async || s->snap->damage.code != ES_OK ||
        es_snapshot_mf_stale(s->snap))
        return 0;
    p->running = probe_start(p, s);
    return p->running;
}

int es_store_speculate_end(es_store *s)
{
    return es_store_probe_join(&s->spec);
}
