/*
 * log_check: the checks a list of actions passes before it is committed on top of a snapshot
 * (log.c, FORMAT.md section 7): tables and parts live as the earlier actions of the list leave
 * them, names not taken, and a vacuum's horizon against a write's new objects.
 */
#include <stdio.h>
#include <string.h>

#include "table/log.h"

/* The table with id `id` as the actions before k leave it: 1 live (in s or created by an
 * earlier action, and not dropped by one since), 0 gone. ddl: the list creates or drops a
 * table (else only s decides, without looking back). */
static int live_before(const es_snapshot *s, const es_action *actions, int64_t k, const char *id,
                       int ddl)
{
    for (int64_t j = k - 1; ddl && j >= 0; j--) {
        if (strcmp(actions[j].table_id, id) != 0)
            continue;
        if (actions[j].kind == ES_ACT_DROP_TABLE)
            return 0;
        if (actions[j].kind == ES_ACT_CREATE_TABLE)
            return 1;
    }
    return es_snapshot_find_id(s, id) != NULL;
}

/* Part `part` of live table `id` before action k: in s (a list never removes a part and then
 * acts on it), or added by an earlier action of the list. *hint: where the search of t's parts
 * starts, and where the part was found: a flush removes a table's inline parts in the table's
 * order, so each search is one comparison instead of a pass over the parts. */
static int part_live_before(const es_snapshot *s, const es_action *actions, int64_t k,
                            const char *id, const char *part, int64_t *hint)
{
    const es_tabledef *t = es_snapshot_find_id(s, id);
    int64_t from = t && *hint < t->n_parts ? *hint : 0;
    for (int64_t i = 0; t && i < t->n_parts; i++) {
        int64_t p = from + i < t->n_parts ? from + i : from + i - t->n_parts;
        if (strcmp(t->parts[p]->id, part) == 0) {
            *hint = p + 1;
            return 1;
        }
    }
    for (int64_t m = 0; t && m < t->n_mf; m++)
        if (!t->mf[m].loaded)
            return 1; /* may be there: applying the entry loads the manifests and finds out */
    for (int64_t j = k - 1; j >= 0; j--) {
        const es_action *a = &actions[j];
        if (a->kind == ES_ACT_ADD_PART && strcmp(a->table_id, id) == 0 &&
            strcmp(a->part->id, part) == 0)
            return 1;
    }
    return 0;
}

/* Is the name taken by a live table after the actions before k? */
static int name_taken_before(const es_snapshot *s, const es_action *actions, int64_t k,
                             const char *name)
{
    for (int64_t j = k - 1; j >= 0; j--) {
        const es_action *a = &actions[j];
        if (a->kind == ES_ACT_CREATE_TABLE && strcmp(a->table->name, name) == 0 &&
            live_before(s, actions, k, a->table_id, 1))
            return 1;
    }
    const es_tabledef *t = es_snapshot_find(s, name);
    return t && live_before(s, actions, k, t->id, 1);
}

es_status es_log_check(const es_snapshot *s, const es_action *actions, int64_t n, es_status code,
                       es_error *err)
{
    /* Most lists act on tables and parts of s only; the look-backs over earlier actions of the
     * list are for transactions (a table created and filled, a part added and then given a
     * vector, a table dropped and re-created under its name). */
    int ddl = 0;
    int64_t hint = 0;
    for (int64_t k = 0; k < n; k++)
        ddl |= actions[k].kind == ES_ACT_CREATE_TABLE || actions[k].kind == ES_ACT_DROP_TABLE;
    for (int64_t k = 0; k < n; k++) {
        const es_action *a = &actions[k];
        const char *tname = a->table_name ? a->table_name : a->table_id;
        switch (a->kind) {
        case ES_ACT_CREATE_TABLE:
            if (name_taken_before(s, actions, k, a->table->name))
                return es_error_set(err, code, 0, "table '%s' was created concurrently",
                                    a->table->name);
            break;
        case ES_ACT_DROP_TABLE:
        case ES_ACT_ADD_PART:
        case ES_ACT_ALTER_TABLE:
            if (!live_before(s, actions, k, a->table_id, ddl))
                return es_error_set(err, code, 0, "table '%s' was dropped concurrently", tname);
            if (a->kind == ES_ACT_ALTER_TABLE && a->change == ES_CHANGE_RENAME_TABLE &&
                name_taken_before(s, actions, k, a->table->name))
                return es_error_set(err, code, 0, "table '%s' was created concurrently",
                                    a->table->name);
            break;
        case ES_ACT_REMOVE_PART:
        case ES_ACT_SET_DV:
            if (!live_before(s, actions, k, a->table_id, ddl))
                return es_error_set(err, code, 0, "table '%s' was dropped concurrently", tname);
            if (!part_live_before(s, actions, k, a->table_id, a->part_id, &hint))
                return es_error_set(err, code, 0, "table '%s': part %s was removed concurrently",
                                    tname, a->part_id);
            break;
        case ES_ACT_CREATE_INDEX:
        case ES_ACT_DROP_INDEX:
        case ES_ACT_ADD_INDEX: {
            if (!live_before(s, actions, k, a->table_id, ddl))
                return es_error_set(err, code, 0, "table '%s' was dropped concurrently", tname);
            es_status st = es_index_check(s, actions, k, code, err);
            if (st)
                return st;
            break;
        }
        case ES_ACT_VACUUM:
            break;
        case ES_ACT_MANIFEST:
            return es_error_set(err, ES_INTERNAL, 0, "a commit cannot name a manifest");
        }
    }
    return ES_OK;
}

/* ---------------------------------------------------------------- storage */

es_status es_log_check_horizon(const es_entry *theirs, const es_action *mine, int64_t n,
                               es_error *err)
{
    int horizon = 0, objects = 0;
    for (int64_t i = 0; i < theirs->n_actions; i++)
        horizon |= theirs->actions[i].kind == ES_ACT_VACUUM;
    for (int64_t i = 0; i < n && horizon; i++)
        objects |= mine[i].kind == ES_ACT_ADD_PART || mine[i].kind == ES_ACT_ADD_INDEX ||
                   (mine[i].kind == ES_ACT_SET_DV && mine[i].dv && !mine[i].dv->blob);
    if (!objects)
        return ES_OK;
    return es_error_set(err, ES_CONFLICT, 0,
                        "a vacuum committed a horizon at version %lld while this write was running "
                        "(its new objects may have been collected): nothing was committed; retry",
                        (long long)theirs->version);
}
