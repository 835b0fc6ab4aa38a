/*
 * gc (internal): what vacuum.c and fsck.c share: the set of object keys that retained versions
 * reference, and the parsing of the store's keys. Sits beside compact.h in the table layer.
 */
#ifndef ES_TABLE_GC_H
#define ES_TABLE_GC_H

#include "table/log.h"

/** A set of object keys (a hash set: slots of cap, a power of two, n of them used). */
typedef struct es_gc_refs {
    char **slots;
    int64_t n, cap;
} es_gc_refs;

void es_gc_refs_reset(es_gc_refs *r);
es_status es_gc_refs_add(es_gc_refs *r, const char *key, es_error *err);
/** Add the keys the catalog s references: .data, .idx, .delta, the manifests and lists its
 * tables name (as loaded: es_manifest_load_all first for every one) and the .six objects of
 * its indexes' coverage. */
es_status es_gc_refs_snapshot(es_gc_refs *r, const es_snapshot *s, es_error *err);
/** Add the keys the actions of entry e name (add_part, set_dv with an object, create_index
 * and add_index coverage, manifest lines of a checkpoint). */
es_status es_gc_refs_entry(es_gc_refs *r, const es_entry *e, es_error *err);
/** Add what versions from .. to reference: the catalog at `from`, entries from+1 .. to and the
 * checkpoints among them. *pending (nullable) is set when a checkpoint is due at a version
 * committed at or after recent_ms but not written yet: its writer may still put it, naming
 * manifests no version here names (vacuum then deletes no manifest). ES_CORRUPT when one of
 * them cannot be read. */
es_status es_gc_collect(es_gc_refs *r, int *pending, es_objstore *os, int64_t from, int64_t to,
                        int64_t recent_ms, es_error *err);
/** Every key with prefix, all pages of the listing, in byte order (es_obj_list_reset it). */
es_status es_gc_list(es_obj_list *all, es_objstore *os, const char *prefix, es_error *err);
/** 1 when key is in the set. */
int es_gc_refs_has(const es_gc_refs *r, const char *key);
/** Add what checkpoint `version` names (es_gc_refs_entry), and the manifests of each of its
 * lists (each list fetched once per set). ES_NOT_FOUND when there is no such checkpoint. */
es_status es_gc_refs_checkpoint(es_gc_refs *r, es_objstore *os, int64_t version, es_error *err);
/** 1 when key is a table object (table_<t>/table_<t>_part_<p>.data|.idx, a .delta, a .six,
 * or a table_<t>/table_<t>_manifest_<m>.manifest);
 * *time_ms: the creation time its id carries (-1 when not hex). */
int es_gc_parse_key(const char *key, int64_t *time_ms);
/** 1 when key is a log entry (_log/<20 digits>.json) or checkpoint (.checkpoint). */
int es_gc_parse_log_key(const char *key, int64_t *version, int *checkpoint);

#endif /* ES_TABLE_GC_H */
