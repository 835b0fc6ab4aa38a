/*
 * history (internal): the versions of a store read from its commit log, newest first, as an
 * Arrow stream (es_history), and the version current at a wall-clock time (es_version_at_time).
 * Reads entries with parallel GETs, never the whole log by default. Sits on log (table layer),
 * below api. docs/FORMAT.md section 6, item 6, says how commit times are defined.
 */
#ifndef ES_HISTORY_H
#define ES_HISTORY_H

#include "table/log.h"

/** How many entries a history lists when not told (es_history_options.limit 0). */
#define ES_HISTORY_DEFAULT_LIMIT 100

/**
 * The history of the store (table NULL) or of one table, newest first, as a stream of one
 * batch (columns: docs/SQL.md, DESCRIBE HISTORY). snap: the catalog at the latest version
 * (names of tables); versions from max_version (-1: snap's) down to min_version (-1 or 0: the
 * oldest retained), at most limit rows (0: ES_HISTORY_DEFAULT_LIMIT, < 0: no limit).
 * ES_NOT_FOUND: max_version past the latest, or a table named nowhere in the entries read.
 */
es_status es_history_read(struct ArrowArrayStream *out, es_objstore *os, const es_snapshot *snap,
                          const char *table, int64_t max_version, int64_t min_version,
                          int64_t limit, es_error *err);

/** The newest version <= latest whose commit time is <= time_ms. ES_NOT_FOUND (naming the
 * oldest retained version and its time) when time_ms is before it. */
es_status es_history_version_at(int64_t *version, es_objstore *os, int64_t latest, int64_t time_ms,
                                es_error *err);

#endif /* ES_HISTORY_H */
