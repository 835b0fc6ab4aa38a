#include "table/compact.h"
es_status es_fsck_impl(es_store *s, es_fsck_fn fn, void *ctx, es_fsck_info *info, es_error *err)
{
    (void)s;
    (void)fn;
    (void)ctx;
    (void)info;
    return es_error_set(err, ES_UNSUPPORTED, 0, "todo");
}
