/*
 * objstore (internal): constructors of the built-in backends. The dispatch layer
 * (objstore.c) parses store URIs and calls these; the vtable and the dispatch functions are
 * public in include/expstore/sys/objstore.h.
 */
#ifndef ES_OBJSTORE_H
#define ES_OBJSTORE_H

#include "expstore/sys/objstore.h"

/** Local directory backend rooted at `path` (created when absent). */
es_status es_objstore_local_open(es_objstore **out, const char *path, es_error *err);
/** In-memory backend; stores opened with the same non-empty name in one process share data. */
es_status es_objstore_mem_open(es_objstore **out, const char *name, es_error *err);
/** S3 backend for "s3://bucket/prefix" (configuration from the standard AWS settings). */
es_status es_objstore_s3_open(es_objstore **out, const char *uri, es_error *err);

#endif /* ES_OBJSTORE_H */
