/*
 * objstore_cache: read cache in front of a remote object store (being written).
 */
#include "objstore.h"

#include <string.h>

es_status es_objstore_cache_wrap(es_objstore **out, es_objstore *inner, int take_ownership,
                                 const es_cache_options *opts, es_error *err)
{
    (void)inner;
    (void)take_ownership;
    (void)opts;
    *out = NULL;
    return es_error_set(err, ES_UNSUPPORTED, 0, "read cache not built yet");
}

es_status es_objstore_cache_get_stats(es_objstore *s, es_cache_stats *out)
{
    (void)s;
    memset(out, 0, sizeof *out);
    return ES_INVALID;
}
