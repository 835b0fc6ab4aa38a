/*
 * test_txn_faults: a transaction over four tables (insert, delete, update with a new .delta,
 * create and fill a table, drop another) on mem:// under the fault wrapper and under
 * allocation failures (the loops of delete_util.h): fail the Nth request once or from then
 * on, lose the response of the Nth put, crash after the Nth put, fail the Nth allocation;
 * afterwards all of the transaction is visible or none of it, and the store takes writes.
 */
#include "delete_util.h"

/* -------------------------------------------------------------- fault loops */

/* Tables fa (ids 0..99), fb (ids 0..999, every third deleted: a .delta object), fd (10 rows);
 * no fc. */
static void fault_setup(es_store *s)
{
    struct ArrowSchema sc = small_schema();
    CHECK_OK(es_table_create(s, "fa", &sc, "id", 0));
    CHECK_OK(insert_small(s, "fa", 0, 100, 1));
    CHECK_OK(es_table_create(s, "fb", &sc, "id", 0));
    CHECK_OK(insert_small(s, "fb", 0, 1000, 1));
    CHECK_OK(es_table_create(s, "fd", &sc, "id", 0));
    CHECK_OK(insert_small(s, "fd", 0, 10, 1));
    int64_t keys[400], n = 0, d;
    for (int64_t i = 0; i < 1000; i += 3)
        keys[n++] = i;
    CHECK_OK(delete_keys(s, "fb", keys, n, &d));
    sc.release(&sc);
}

static es_expr *fault_pred;

/* The inputs of the transaction, built before allocations are made to fail. */
typedef struct fault_inputs {
    struct ArrowSchema sc;
    struct ArrowArray ins_fa, ins_fc;
    struct ArrowArrayStream del;
} fault_inputs;

static void fault_inputs_init(fault_inputs *in)
{
    int64_t del[10];
    for (int i = 0; i < 10; i++)
        del[i] = i * 7;
    in->sc = small_schema();
    small_batch(&in->ins_fa, &in->sc, 1000, 20, 1);
    small_batch(&in->ins_fc, &in->sc, 0, 10, 1);
    key_stream(&in->del, "key", del, 10);
    if (!fault_pred)
        fault_pred = es_expr_between("id", vint(100), vint(400));
}

static void fault_inputs_reset(fault_inputs *in)
{
    if (in->ins_fa.release)
        in->ins_fa.release(&in->ins_fa);
    if (in->ins_fc.release)
        in->ins_fc.release(&in->ins_fc);
    if (in->del.release)
        in->del.release(&in->del);
    if (in->sc.release)
        in->sc.release(&in->sc);
}

/* The transaction: insert into fa, delete rows of fa, update rows of fb (a new .delta),
 * create fc and fill it, drop fd. Any failing call aborts it. The inputs are consumed. */
static es_status fault_txn_in(es_store *s, fault_inputs *in)
{
    int64_t n;
    small_update u = {1000, "x", 0, ES_OK, 0};
    es_status rc = es_txn_begin(s, NULL);
    if (!rc)
        rc = es_insert_batch(s, "fa", &in->sc, &in->ins_fa);
    if (!rc)
        rc = es_delete_keys(s, "fa", &in->del, &n);
    if (!rc)
        rc = es_update(s, "fb", fault_pred, small_update_fn, &u, &n);
    if (!rc)
        rc = es_table_create(s, "fc", &in->sc, "id", 0);
    if (!rc)
        rc = es_insert_batch(s, "fc", &in->sc, &in->ins_fc);
    if (!rc)
        rc = es_table_drop(s, "fd", 0);
    if (rc) {
        if (es_txn_active(s, NULL))
            es_txn_abort(s);
        return rc;
    }
    return es_txn_commit(s, NULL);
}

/* The whole store as one string. */
static char *fault_state(es_store *s)
{
    char *parts[4];
    const char *names[4] = {"fa", "fb", "fc", "fd"};
    size_t len = 1;
    for (int i = 0; i < 4; i++) {
        parts[i] = has_table(s, names[i]) == 1 ? table_state(s, names[i], -1) : strdup("absent\n");
        if (!parts[i])
            parts[i] = strdup("error\n");
        len += strlen(parts[i]) + 8;
    }
    char *out = malloc(len), *p = out;
    for (int i = 0; i < 4; i++) {
        p += sprintf(p, "%s:\n%s", names[i], parts[i]);
        free(parts[i]);
    }
    return out;
}

/* A fault_case (delete_util.h) over the transaction. */
static void txn_prepare(void *ctx)
{
    fault_inputs *in = ctx;
    memset(in, 0, sizeof(*in));
    fault_inputs_init(in);
}

static es_status txn_run(es_store *s, void *ctx)
{
    return fault_txn_in(s, ctx);
}

static void txn_release(void *ctx)
{
    fault_inputs_reset(ctx);
}

static fault_inputs txn_inputs;
static const fault_case txn_case = {"a four-table transaction",
                                    "fa",
                                    fault_setup,
                                    txn_prepare,
                                    txn_run,
                                    txn_release,
                                    fault_state,
                                    &txn_inputs};

static void test_faults(void)
{
    es_open_options opt = ES_OPEN_OPTIONS_INIT;
    opt.batch_rows = 32;
    char *before = NULL, *after = NULL;
    fault_case_states(&txn_case, "txn_fault", &opt, &before, &after);
    int64_t runs = 0;
    for (int mode = 0; mode < 4; mode++) {
        int64_t seen_before, seen_after;
        runs += fault_loop(&txn_case, "txn_fault", &opt, mode, 500, before, after, &seen_before,
                           &seen_after);
        CHECK(seen_before > 0);
        CHECK(seen_after > 0);
    }
    printf("faults: %lld runs of a four-table transaction x 4 fault modes: all or nothing\n",
           (long long)runs);
    free(before);
    free(after);
}

/* Fail the Nth allocation of the transaction (its calls and its commit), for every N: each
 * run ends with all of it or none of it (ASan: nothing leaks). */
static void test_alloc_failures(void)
{
    es_open_options opt = ES_OPEN_OPTIONS_INIT;
    opt.batch_rows = 32;
    char *before = NULL, *after = NULL;
    fault_case_states(&txn_case, "txn_alloc", &opt, &before, &after);
    int64_t failed = 0;
    int64_t calls = alloc_loop(&txn_case, "txn_alloc", &opt, 300, 16, before, after, &failed);
    printf("allocation failures: %lld runs (%lld failed cleanly), each all or nothing\n",
           (long long)calls, (long long)failed);
    free(before);
    free(after);
}

int main(void)
{
    seed_from_env();
    TIMED(test_faults());
    TIMED(test_alloc_failures());
    es_expr_free(fault_pred);
    return CHECK_DONE();
}
