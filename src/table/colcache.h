/*
 * colcache (internal, table layer): the handle's cache of DECODED column chunks, shared by its
 * scans (scan.c, on every decoding thread) and its lookups (lookup.c). docs/ARCHITECTURE.md,
 * "The column cache", tells the policy; colcache.c the implementation.
 *
 * A chunk is one column of one unit the scanner reads whole (a record batch of a part today;
 * a page when a layout splits batches into pages) in one decoded form (plain, or with its
 * dictionary kept). Parts are immutable, so an entry is never stale: a vacuumed part's
 * entries simply age out.
 *
 * A cached column is a reference-counted array (es_array_ref, arrow.h): a reader holds a
 * reference from es_colcache_get or es_colcache_put until es_array_ref_unref, and a batch
 * handed out zero-copy holds one through es_array_ref_export, so a chunk evicted (or the cache
 * freed) while a batch still points into its buffers stays alive until that batch is released.
 * Every function is thread-safe.
 */
#ifndef ES_TABLE_COLCACHE_H
#define ES_TABLE_COLCACHE_H

#include "arrow/arrow.h"
#include "table/part.h"

typedef struct es_colcache es_colcache;

/** What identifies a chunk: part id, unit (batch) within the part, part column, decoded form
 * (0: plain; 1: dictionary kept, es_scan_options.keep_dictionary). */
typedef struct es_colkey {
    const char *part; /* ES_ID_LEN characters */
    int64_t unit, col;
    int form;
} es_colkey;

/** Counters of a cache (es_colcache_stats). */
typedef struct es_colcache_stats {
    int64_t bytes, entries, budget;
    int64_t hits, misses, inserts, evictions, refused;
} es_colcache_stats;

/** A cache holding at most `budget` bytes of decoded buffers (0: nothing is kept). ES_NOMEM. */
es_status es_colcache_new(es_colcache **out, int64_t budget, es_error *err);
/** Drop the cache's references (entries still held by readers or batches live on) and free it;
 * NULL is ignored. */
void es_colcache_free(es_colcache *c);
/** Change the budget, evicting least recently used entries down to it. */
void es_colcache_set_budget(es_colcache *c, int64_t budget);
void es_colcache_stats_get(const es_colcache *c, es_colcache_stats *out);
/** The budget (0: off, or c NULL). */
int64_t es_colcache_budget(const es_colcache *c);

/** A new token for one reader (a scan, a lookup): entries it touches or inserts carry it, and
 * its own inserts never evict them (see es_colcache_put). Never 0. */
uint64_t es_colcache_token(es_colcache *c);

/** The column cached under k, referenced, its entry made most recently used (token: the
 * reader's), or NULL. c NULL: NULL. */
es_array_ref *es_colcache_get(es_colcache *c, const es_colkey *k, uint64_t token);
/** 1 when k is cached (no reference taken, no recency change): for fetch planning only. */
int es_colcache_has(es_colcache *c, const es_colkey *k);

/**
 * Cache the decoded column *moved (taken, also on failure) of type `type` (the decoded type:
 * for form 1 the indices) under k: *out a reference to it. The least recently used
 * entries of other readers are evicted to make room; when the budget is still exceeded (the
 * cache holds only entries this reader touched: a scan larger than the cache keeps its first
 * chunks instead of evicting them for nothing) the column is returned uncached. When k is
 * cached already (another thread decoded it meanwhile) that column is returned and *moved
 * released. c NULL: returned uncached. ES_NOMEM.
 */
es_status es_colcache_put(es_array_ref **out, es_colcache *c, const es_colkey *k, uint64_t token,
                          const es_type *type, struct ArrowArray *moved, es_error *err);

#endif /* ES_TABLE_COLCACHE_H */
