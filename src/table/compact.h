/*
 * compact (internal): compaction (compact.c), vacuum (vacuum.c) and fsck (fsck.c): what keeps a
 * store small as it grows. The public entry points are es_optimize, es_vacuum and es_fsck in
 * expstore.h; docs/FORMAT.md, sections 7b to 7d, describes the protocols. Sits above the
 * store handle (table.h) and the scan.
 */
#ifndef ES_TABLE_COMPACT_H
#define ES_TABLE_COMPACT_H

#include "table/table.h"

/** Called by a compaction after it wrote its outputs and before it commits (tests commit a
 * concurrent delete there). Non-zero: the compaction fails with it. */
typedef es_status (*es_compact_hook)(void *ctx, es_store *s, es_error *err);

/** Compact `table` (es_optimize): one round, or rounds until nothing is left when `all`.
 * hook (nullable) runs before each commit. ES_INVALID inside a transaction. */
es_status es_compact_impl(es_store *s, const char *table, int all, es_compact_hook hook,
                          void *hook_ctx, es_optimize_info *info, es_error *err);
/** After an autocommit of `acts` (committed): compact each table they touched that crosses a
 * threshold of es_open_options (best effort: failures are ignored, the commit stands). */
void es_compact_auto(es_store *s, const es_action *acts, int64_t n);

/** es_vacuum. */
es_status es_vacuum_impl(es_store *s, es_vacuum_info *info, es_error *err);
/** es_fsck. */
es_status es_fsck_impl(es_store *s, es_fsck_fn fn, void *ctx, es_fsck_info *info, es_error *err);

#endif /* ES_TABLE_COMPACT_H */
