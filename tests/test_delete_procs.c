/*
 * test_delete_procs: deletes and updates from concurrent processes (fork; a local temporary
 * directory and ES_TEST_STORE_URI when set, the loopback Ceph RGW; not mem://, which a child
 * does not share): 4 children, each with its own handle, delete disjoint keys of one part (by
 * key and by predicate; no conflicts), then delete and update random overlapping keys,
 * retrying conflicts; each records its acknowledged calls, with the version each committed,
 * in its own file. Every version they made is checked by time travel against the one before:
 * it is exactly one acknowledged call's change; rows never reappear, counts never grow; each
 * row gone was deleted by exactly one call. A child killed by a signal fails the test.
 * (test_delete_conflicts has the conflict matrix, threads and the fault loops.)
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>

#include "delete_util.h"

/* --------------------------------------------------- concurrent processes */

/*
 * Forked writers: PROC_CHILDREN processes, each with its own handle on the store's URI, that
 * share nothing but the store and the files they write. They start together when the parent
 * closes a pipe, retry ES_CONFLICT (up to PROC_MAX_RETRIES times per call), and each appends
 * one line per acknowledged call to its own file in a temporary directory:
 *
 *   R <kind> <rows> <version> <value> <n> <key>...  kind K: es_delete_keys; I, V, B: es_delete
 *                                                   with id IN, v IN, id BETWEEN (the keys of
 *                                                   the range); U: es_update of id IN (v =
 *                                                   value, s = "u<value>")
 *   E <calls> <conflicts> <interleaved> <errors>    last: the child finished
 *
 * <rows> is the count the call returned and <version> the version it committed (-1 when it
 * changed nothing): the handle's snapshot right after the call is the entry it has just
 * written (es_log_commit_rebase applies it; nothing refreshes after). With that, every version
 * the children made is claimed by exactly one acknowledged call, and the parent checks each
 * one against the table as time travel shows it at that version and the one before.
 * <interleaved> counts the commits of other children between a call's start and its commit:
 * how much the processes really overlapped.
 *
 * A child that is killed by a signal (ES_TEST_ABORT_CHILD=N makes child N abort after two
 * calls, to see the message; a child still running after PROC_ALARM_S seconds gets SIGALRM)
 * or that exits with a non-zero status fails the test, naming the child and the signal.
 */
#define PROC_CHILDREN 4
#define PROC_MAX_RETRIES 200
#define PROC_ALARM_S 90
#define PROC_MAX_KEYS 32

/* What one child of a phase does. */
typedef struct proc_cfg {
    const char *uri, *table, *dir;
    int phase; /* 1: disjoint deletes, 2: overlapping deletes and updates */
    int64_t rows, ops;
    int abort_child; /* ES_TEST_ABORT_CHILD, or -1 */
} proc_cfg;

typedef struct proc_child {
    es_store *s;
    FILE *f;
    int child;
    int64_t calls, conflicts, interleaved, errors, acked;
    const proc_cfg *cfg;
} proc_child;

static void proc_path(char *out, size_t cap, const proc_cfg *cfg, int child)
{
    snprintf(out, cap, "%s/%s_%d.txt", cfg->dir, cfg->table, child);
}

/* One call: keys[0..n) (for B the whole range, lo first and hi last). */
static es_status proc_call(es_store *s, const char *table, char kind, const int64_t *keys,
                           int64_t n, int64_t value, int64_t *rows)
{
    if (kind == 'K')
        return delete_keys(s, table, keys, n, rows);
    es_value vals[PROC_MAX_KEYS];
    es_expr *e;
    if (kind == 'B') {
        e = es_expr_between("id", vint(keys[0]), vint(keys[n - 1]));
    } else {
        for (int64_t k = 0; k < n; k++)
            vals[k] = vint(keys[k]);
        e = es_expr_in(kind == 'V' ? "v" : "id", vals, n);
    }
    if (!e)
        return ES_NOMEM; /* never a NULL predicate: that would delete every row */
    es_status rc;
    if (kind == 'U') {
        char tag[32]; /* v = value, s = "u<value>", the key unchanged */
        snprintf(tag, sizeof(tag), "u%lld", (long long)value);
        set_v u = {value, tag};
        rc = es_update(s, table, e, set_v_fn, &u, rows);
    } else {
        rc = es_delete(s, table, e, rows);
    }
    es_expr_free(e);
    return rc;
}

/* Run one call to its acknowledgement, retrying ES_CONFLICT, and record it. 0 or -1. */
static int proc_run(proc_child *pc, char kind, const int64_t *keys, int64_t n, int64_t value)
{
    const char *table = pc->cfg->table;
    for (int attempt = 0;; attempt++) {
        int64_t before = -1, rows = 0;
        es_store_version(pc->s, &before);
        pc->calls++;
        es_status rc = proc_call(pc->s, table, kind, keys, n, value, &rows);
        if (rc == ES_OK) {
            int64_t version = -1;
            if (rows > 0) {
                version = pc->s->snap->version; /* the entry this call wrote */
                pc->interleaved += before >= 0 ? version - before - 1 : 0;
            }
            fprintf(pc->f, "R %c %lld %lld %lld %lld", kind, (long long)rows, (long long)version,
                    (long long)value, (long long)n);
            for (int64_t k = 0; k < n; k++)
                fprintf(pc->f, " %lld", (long long)keys[k]);
            fputc('\n', pc->f);
            pc->acked++;
            if (pc->acked == 2 && pc->child == pc->cfg->abort_child)
                abort(); /* ES_TEST_ABORT_CHILD: shows how a crashed child is reported */
            return 0;
        }
        if (rc == ES_CONFLICT && attempt < PROC_MAX_RETRIES) {
            pc->conflicts++;
            if (!strstr(es_store_errmsg(pc->s), table)) {
                pc->errors++;
                fprintf(stderr, "%s child %d: a conflict that does not name the table: %s\n", table,
                        pc->child, es_store_errmsg(pc->s));
            }
            continue;
        }
        pc->errors++;
        fprintf(stderr, "%s child %d: call %c of %lld keys: %s after %d attempts: %s\n", table,
                pc->child, kind, (long long)n, es_status_name(rc), attempt + 1,
                es_store_errmsg(pc->s));
        return -1;
    }
}

/* n distinct random keys in [lo, hi]. */
static void proc_pick(int64_t *keys, int64_t n, int64_t lo, int64_t hi)
{
    for (int64_t k = 0; k < n; k++) {
        int dup;
        do {
            keys[k] = rnd_in(lo, hi);
            dup = 0;
            for (int64_t j = 0; j < k; j++)
                dup |= keys[j] == keys[k];
        } while (dup);
    }
}

/* The body of a child; returns its exit status. */
static int proc_child_main(const proc_cfg *cfg, int child, int go_fd)
{
    alarm(PROC_ALARM_S);
    rng ^= 0x9E3779B97F4A7C15ull * (uint64_t)(child + 1) * (uint64_t)cfg->phase;
    rnd();
    char path[512];
    proc_path(path, sizeof(path), cfg, child);
    proc_child pc;
    memset(&pc, 0, sizeof(pc));
    pc.child = child;
    pc.cfg = cfg;
    pc.f = fopen(path, "w");
    if (!pc.f) {
        fprintf(stderr, "child %d: cannot create %s: %s\n", child, path, strerror(errno));
        return 2;
    }
    es_open_options opt = ES_OPEN_OPTIONS_INIT;
    opt.batch_rows = 64;
    if (es_store_open(&pc.s, cfg->uri, &opt) != ES_OK) {
        fprintf(stderr, "%s child %d: open %s: %s\n", cfg->table, child, cfg->uri,
                pc.s ? es_store_errmsg(pc.s) : "out of memory");
        pc.errors++;
    }
    char byte;
    while (read(go_fd, &byte, 1) < 0 && errno == EINTR)
        ; /* EOF: the parent has started every child */
    close(go_fd);
    int64_t keys[512];
    if (pc.errors == 0 && cfg->phase == 1) {
        /* My own keys, id % (children + 1) == child, in calls of 8 to 16 keys, the three
         * ways of deleting in turn; the last residue is nobody's. */
        int64_t n = 0;
        for (int64_t id = child; id < cfg->rows && n < 512; id += PROC_CHILDREN + 1)
            keys[n++] = id;
        shuffle(keys, n);
        for (int64_t i = 0, call = 0; i < n && pc.errors == 0; call++) {
            int64_t m = rnd_in(8, 16);
            m = m < n - i ? m : n - i;
            proc_run(&pc, "KIV"[call % 3], keys + i, m, 0);
            i += m;
        }
    } else if (pc.errors == 0) {
        /* Random keys, half of the calls among the first 40 (hot) ones: deletes of 2 to 6 keys
         * or of a range of 2 to 5, and updates of 2 to 5 keys to a value of this call. */
        for (int64_t op = 0; op < cfg->ops && pc.errors == 0; op++) {
            int64_t hi = (rnd() & 1) ? 39 : cfg->rows - 1, r = rnd_in(0, 9), m;
            int64_t value = 100000 * (child + 1) + op;
            if (r < 3) {
                m = rnd_in(2, 5);
                proc_pick(keys, m, 0, hi);
                proc_run(&pc, 'U', keys, m, value);
            } else if (r < 5) {
                m = rnd_in(2, 5);
                int64_t lo = rnd_in(0, hi - m + 1);
                for (int64_t k = 0; k < m; k++)
                    keys[k] = lo + k;
                proc_run(&pc, 'B', keys, m, 0);
            } else {
                m = rnd_in(2, 6);
                proc_pick(keys, m, 0, hi);
                proc_run(&pc, r % 2 ? 'K' : 'I', keys, m, 0);
            }
        }
    }
    fprintf(pc.f, "E %lld %lld %lld %lld\n", (long long)pc.calls, (long long)pc.conflicts,
            (long long)pc.interleaved, (long long)pc.errors);
    int ok = fclose(pc.f) == 0 && pc.errors == 0;
    es_store_close(pc.s);
    return ok ? 0 : 1;
}

/* The records of all children of a phase. */
typedef struct proc_rec {
    int child;
    char kind;
    int64_t rows, version, value, n;
    int64_t keys[PROC_MAX_KEYS];
} proc_rec;

typedef struct proc_log {
    proc_rec *r;
    int64_t n, cap;
    int64_t calls, conflicts, interleaved;
    int all_ok; /* every child exited 0 and finished its file */
} proc_log;

static int proc_has_key(const proc_rec *r, int64_t id)
{
    for (int64_t k = 0; k < r->n; k++)
        if (r->keys[k] == id)
            return 1;
    return 0;
}

/* Read child's file into log; 0 when it is incomplete or malformed. */
static int proc_read(proc_log *log, const proc_cfg *cfg, int child)
{
    char path[512], line[2048];
    proc_path(path, sizeof(path), cfg, child);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "%s child %d: no results file %s\n", cfg->table, child, path);
        return 0;
    }
    int finished = 0, bad = 0;
    while (fgets(line, sizeof(line), f)) {
        long long a, b, c, d;
        if (line[0] == 'E' && sscanf(line, "E %lld %lld %lld %lld", &a, &b, &c, &d) == 4) {
            log->calls += a;
            log->conflicts += b;
            log->interleaved += c;
            finished = 1;
            continue;
        }
        proc_rec r;
        memset(&r, 0, sizeof(r));
        r.child = child;
        if (line[0] != 'R' || strlen(line) < 4) {
            bad++;
            continue;
        }
        r.kind = line[2];
        char *p = line + 3, *end;
        int64_t f4[4];
        for (int i = 0; i < 4; i++, p = end)
            f4[i] = strtoll(p, &end, 10);
        r.rows = f4[0];
        r.version = f4[1];
        r.value = f4[2];
        r.n = f4[3];
        if (r.n < 1 || r.n > PROC_MAX_KEYS) {
            bad++;
            continue;
        }
        for (int64_t k = 0; k < r.n; k++, p = end)
            r.keys[k] = strtoll(p, &end, 10);
        if (log->n == log->cap) {
            log->cap = log->cap ? log->cap * 2 : 64;
            log->r = realloc(log->r, (size_t)log->cap * sizeof(proc_rec));
        }
        log->r[log->n++] = r;
    }
    fclose(f);
    unlink(path);
    if (bad || !finished)
        fprintf(stderr, "%s child %d: results file %s: %d malformed lines%s\n", cfg->table, child,
                path, bad, finished ? "" : ", no final line (the child did not finish)");
    return !bad && finished;
}

/* Fork the children of a phase, start them together, wait for them and read their files.
 * Every child must exit with status 0; a signal is reported by name. */
static void proc_spawn(proc_log *log, const proc_cfg *cfg)
{
    memset(log, 0, sizeof(*log));
    int go[2];
    if (pipe(go) != 0) {
        CHECK(!"pipe");
        return;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pids[PROC_CHILDREN];
    for (int c = 0; c < PROC_CHILDREN; c++) {
        pids[c] = fork();
        if (pids[c] == 0) {
            close(go[1]);
            _exit(proc_child_main(cfg, c, go[0]));
        }
        if (pids[c] < 0)
            fprintf(stderr, "%s: fork of child %d: %s\n", cfg->table, c, strerror(errno));
    }
    close(go[0]);
    close(go[1]); /* start */
    log->all_ok = 1;
    for (int c = 0; c < PROC_CHILDREN; c++) {
        int status = 0, ok = 0;
        pid_t r = -1;
        if (pids[c] > 0)
            while ((r = waitpid(pids[c], &status, 0)) < 0 && errno == EINTR)
                ;
        if (pids[c] <= 0) {
            ; /* fork failed, said above */
        } else if (r != pids[c]) {
            fprintf(stderr, "%s: waitpid of child %d: %s\n", cfg->table, c, strerror(errno));
        } else if (WIFSIGNALED(status)) {
            int sig = WTERMSIG(status);
            fprintf(stderr, "%s: child %d (pid %d) was killed by signal %d (%s)%s\n", cfg->table, c,
                    (int)pids[c], sig, strsignal(sig),
                    sig == SIGALRM ? ": it was still running after its alarm" : "");
        } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr,
                    "%s: child %d (pid %d) exited with status %d (its messages are above)\n",
                    cfg->table, c, (int)pids[c], WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        } else {
            ok = 1;
        }
        if (ok)
            check_passed++;
        else
            check_failed++;
        ok = proc_read(log, cfg, c) && ok;
        log->all_ok &= ok;
    }
}

/* Messages of the checks of one phase: the first PROC_MAX_MSGS are printed, then one line says
 * the rest were left out. */
#define PROC_MAX_MSGS 12
static int proc_msgs;

static void proc_bad(int64_t *bad, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void proc_bad(int64_t *bad, const char *fmt, ...)
{
    (*bad)++;
    if (proc_msgs++ >= PROC_MAX_MSGS) {
        if (proc_msgs == PROC_MAX_MSGS + 1)
            fprintf(stderr, "(further messages left out)\n");
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* A table of ids 0..n_ids-1 at one version: live flag, v and s of each id. */
typedef struct proc_state {
    int64_t n_ids, count, bad;
    char *live;
    int64_t *v;
    char (*s)[24];
} proc_state;

static void proc_state_reset(proc_state *st)
{
    free(st->live);
    free(st->v);
    free(st->s);
    memset(st, 0, sizeof(*st));
}

/* Read `table` at version `at` (-1: latest). Rows outside 0..n_ids-1, two rows with one id or
 * a failed scan count in st->bad (with a message). */
static void proc_state_read(proc_state *st, es_store *s, const char *table, int64_t at,
                            int64_t n_ids)
{
    memset(st, 0, sizeof(*st));
    st->n_ids = n_ids;
    st->live = calloc((size_t)n_ids, 1);
    st->v = calloc((size_t)n_ids, sizeof(int64_t));
    st->s = calloc((size_t)n_ids, sizeof(*st->s));
    strlist l;
    char msg[512];
    es_status rc = table_rows(s, table, at, &l, msg, sizeof(msg));
    if (rc) {
        fprintf(stderr, "%s at version %lld: %s %s\n", table, (long long)at, es_status_name(rc),
                msg);
        st->bad++;
    }
    for (int64_t i = 0; i < l.n; i++) {
        long long id, v;
        char str[24];
        st->count++;
        if (sscanf(l.s[i], "%lld|%lld|%23s", &id, &v, str) != 3 || id < 0 || id >= n_ids ||
            st->live[id]) {
            proc_bad(&st->bad, "%s at version %lld: unexpected or repeated row %s", table,
                     (long long)at, l.s[i]);
            continue;
        }
        st->live[id] = 1;
        st->v[id] = v;
        snprintf(st->s[id], sizeof(st->s[id]), "%s", str);
    }
    sl_free(&l);
}

/* Live rows of `table` at version `at` as the log counts them. */
static int64_t live_rows_at(es_store *s, const char *table, int64_t at)
{
    es_table_info info;
    if (es_table_describe(s, table, at, &info) != ES_OK)
        return -1;
    int64_t n = info.n_rows;
    es_table_info_reset(&info);
    return n;
}

static int proc_is_delete(const proc_rec *r)
{
    return r->kind != 'U';
}

/* Check versions from+1..to of `table` by time travel (es_scan with at_version), each against
 * the one before. Always: no version adds a row or holds an id twice; a row once deleted
 * never reappears; the row count never increases across a deletes-only version, and equals
 * the count the log records for that version. When `attributed` (every child finished): each
 * version is claimed by exactly one acknowledged call of log; a delete's version removes
 * exactly the rows it returned, all among its keys, and changes no other row; an update's
 * rewrites exactly the rows it returned, among its keys, to its value, and removes none.
 * gone_by[id] counts the calls whose version removed id. Returns the versions checked. */
static int64_t proc_check_history(es_store *s, const char *table, int64_t from, int64_t to,
                                  int64_t n_ids, const proc_log *log, int attributed,
                                  int64_t *gone_by)
{
    int64_t span = to - from, bad = 0, checked = 0;
    int64_t *claim = malloc((size_t)(span > 0 ? span : 1) * sizeof(int64_t));
    int64_t *deleted_at = malloc((size_t)n_ids * sizeof(int64_t));
    for (int64_t i = 0; i < span; i++)
        claim[i] = -1;
    for (int64_t id = 0; id < n_ids; id++)
        deleted_at[id] = -1;
    for (int64_t i = 0; attributed && i < log->n; i++) {
        const proc_rec *r = &log->r[i];
        if (r->rows == 0 && r->version == -1)
            continue;
        if (r->rows <= 0 || r->version <= from || r->version > to) {
            proc_bad(&bad,
                     "%s: child %d's call %c returned %lld rows at version %lld, "
                     "outside %lld..%lld",
                     table, r->child, r->kind, (long long)r->rows, (long long)r->version,
                     (long long)from + 1, (long long)to);
        } else if (claim[r->version - from - 1] >= 0) {
            proc_bad(&bad, "%s: version %lld claimed by the calls of children %d and %d", table,
                     (long long)r->version, log->r[claim[r->version - from - 1]].child, r->child);
        } else {
            claim[r->version - from - 1] = i;
        }
    }
    proc_state prev, cur;
    proc_state_read(&prev, s, table, from, n_ids);
    bad += prev.bad;
    for (int64_t v = from + 1; v <= to; v++) {
        const proc_rec *r = NULL;
        if (attributed && claim[v - from - 1] < 0) {
            proc_bad(&bad, "%s: version %lld was committed by no acknowledged call", table,
                     (long long)v);
        } else if (attributed) {
            r = &log->r[claim[v - from - 1]];
        }
        proc_state_read(&cur, s, table, v, n_ids);
        bad += cur.bad;
        int64_t removed = 0, changed = 0, outside = 0, wrong = 0;
        for (int64_t id = 0; id < n_ids; id++) {
            if (cur.live[id] && !prev.live[id] && deleted_at[id] >= 0) {
                proc_bad(&bad, "%s: row %lld, deleted at version %lld, reappears at version %lld",
                         table, (long long)id, (long long)deleted_at[id], (long long)v);
            } else if (cur.live[id] && !prev.live[id]) {
                proc_bad(&bad, "%s: row %lld appears at version %lld", table, (long long)id,
                         (long long)v);
            } else if (!cur.live[id] && prev.live[id]) {
                removed++;
                deleted_at[id] = v;
                gone_by[id] += r != NULL && proc_is_delete(r);
                outside += r && !proc_has_key(r, id);
            } else if (cur.live[id] &&
                       (cur.v[id] != prev.v[id] || strcmp(cur.s[id], prev.s[id]) != 0)) {
                changed++;
                outside += r && !proc_has_key(r, id);
                if (r) {
                    char tag[32];
                    snprintf(tag, sizeof(tag), "u%lld", (long long)r->value);
                    wrong += cur.v[id] != r->value || strcmp(cur.s[id], tag) != 0;
                }
            }
        }
        int deletes_only = r ? proc_is_delete(r) : changed == 0;
        int ok = !deletes_only || cur.count <= prev.count;
        ok = ok && cur.count == prev.count - removed;
        if (r && proc_is_delete(r))
            ok = ok && removed == r->rows && changed == 0;
        if (r && !proc_is_delete(r))
            ok = ok && changed == r->rows && removed == 0;
        ok = ok && outside == 0 && wrong == 0 && live_rows_at(s, table, v) == cur.count;
        if (!ok)
            proc_bad(&bad,
                     "%s: version %lld (%s%c of %lld rows by child %d): %lld -> %lld rows, "
                     "%lld removed, %lld changed, %lld not among its keys, %lld with a wrong "
                     "value, the log counts %lld",
                     table, (long long)v, r ? "" : "unclaimed ", r ? r->kind : '?',
                     r ? (long long)r->rows : -1LL, r ? r->child : -1, (long long)prev.count,
                     (long long)cur.count, (long long)removed, (long long)changed,
                     (long long)outside, (long long)wrong, (long long)live_rows_at(s, table, v));
        proc_state_reset(&prev);
        prev = cur;
        checked++;
    }
    proc_state_reset(&prev);
    free(claim);
    free(deleted_at);
    CHECK_EQ_INT(bad, 0);
    return checked;
}

/* A table of ids 0..rows-1 in one part (v = id, s = "r<id>"); returns the version after the
 * insert, or -1. */
static int64_t proc_table(es_store *s, const char *table, int64_t rows)
{
    struct ArrowSchema sc = small_schema();
    es_table_drop(s, table, 1);
    CHECK_OK(es_table_create(s, table, &sc, "id", 0));
    sc.release(&sc);
    CHECK_OK(insert_small(s, table, 0, rows, 1));
    CHECK_EQ_INT(n_parts(s, table), 1);
    return version_of(s);
}

static void proc_log_reset(proc_log *log)
{
    free(log->r);
    memset(log, 0, sizeof(*log));
}

static int proc_abort_child(void)
{
    const char *e = getenv("ES_TEST_ABORT_CHILD");
    return e && *e ? atoi(e) : -1;
}

/* 1. Disjoint deletes in one part: child c deletes the ids with id % 5 == c in calls of 8 to
 * 16 keys (es_delete_keys, es_delete of id IN and of v IN, in turn); ids with id % 5 == 4 are
 * nobody's. No call conflicts; every call deletes all its keys in one version of its own;
 * afterwards exactly the ids nobody deleted are left, unchanged. */
static void proc_disjoint(es_store *s, const char *uri, const char *dir)
{
    const int64_t rows = 400;
    proc_cfg cfg = {uri, "pd", dir, 1, rows, 0, proc_abort_child()};
    proc_msgs = 0;
    double t0 = now_s();
    int64_t v0 = proc_table(s, "pd", rows);
    proc_log log;
    proc_spawn(&log, &cfg);
    int64_t v1 = version_of(s);
    int64_t *gone_by = calloc((size_t)rows, sizeof(int64_t));
    int64_t *acked = calloc((size_t)rows, sizeof(int64_t));
    int64_t short_calls = 0, deleted = 0, kinds[3] = {0, 0, 0};
    for (int64_t i = 0; i < log.n; i++) {
        const proc_rec *r = &log.r[i];
        short_calls += r->rows != r->n;
        deleted += r->rows;
        kinds[r->kind == 'K' ? 0 : r->kind == 'I' ? 1 : 2]++;
        for (int64_t k = 0; k < r->n; k++)
            if (r->keys[k] >= 0 && r->keys[k] < rows)
                acked[r->keys[k]]++;
    }
    CHECK_EQ_INT(log.conflicts, 0);
    if (log.conflicts)
        fprintf(stderr, "pd: %lld conflicts between deletes of disjoint rows\n",
                (long long)log.conflicts);
    CHECK_EQ_INT(short_calls, 0);
    if (!log.all_ok)
        fprintf(stderr, "pd: a child failed (above): only the checks that need no child's "
                        "records follow\n");
    if (log.all_ok)
        CHECK_EQ_INT(v1 - v0, log.n); /* one version per call */
    int64_t checked = proc_check_history(s, "pd", v0, v1, rows, &log, log.all_ok, gone_by);
    /* Now: the ids of every acknowledged call are gone, each removed by that call's version;
     * all others are there with their values. */
    proc_state st;
    proc_state_read(&st, s, "pd", -1, rows);
    int64_t bad = st.bad;
    for (int64_t id = 0; id < rows && log.all_ok; id++) {
        int mine = id % (PROC_CHILDREN + 1) != PROC_CHILDREN;
        if (mine)
            bad += acked[id] != 1 || gone_by[id] != 1;
        if (acked[id])
            bad += st.live[id];
        else
            bad += !st.live[id] || st.v[id] != id % 1000;
    }
    CHECK_EQ_INT(bad, 0);
    if (log.all_ok)
        CHECK_EQ_INT(st.count, rows - deleted);
    CHECK_EQ_INT(live_rows(s, "pd"), st.count);
    printf("processes, disjoint deletes in one part (%d children): %lld calls (%lld "
           "es_delete_keys, %lld id IN, %lld v IN), %lld conflicts, %lld rows deleted, %lld "
           "commits of others during a call, %lld versions checked, %.2f s\n",
           PROC_CHILDREN, (long long)log.calls, (long long)kinds[0], (long long)kinds[1],
           (long long)kinds[2], (long long)log.conflicts, (long long)deleted,
           (long long)log.interleaved, (long long)checked, now_s() - t0);
    proc_state_reset(&st);
    free(gone_by);
    free(acked);
    proc_log_reset(&log);
    es_table_drop(s, "pd", 1);
}

/* 2. Overlapping deletes and updates: each child makes `ops` calls on random keys (half of
 * them among the first 40), retrying conflicts. Each row gone was removed by exactly one
 * acknowledged delete, which listed it; the counts the deletes returned add up to the rows
 * gone; every key of an acknowledged delete is gone; a row left holds its first value or the
 * value of the last acknowledged update that listed it. */
static void proc_overlapping(es_store *s, const char *uri, const char *dir, int64_t ops)
{
    const int64_t rows = 200;
    proc_cfg cfg = {uri, "po", dir, 2, rows, ops, proc_abort_child()};
    proc_msgs = 0;
    double t0 = now_s();
    int64_t v0 = proc_table(s, "po", rows);
    proc_log log;
    proc_spawn(&log, &cfg);
    int64_t v1 = version_of(s);
    int64_t *gone_by = calloc((size_t)rows, sizeof(int64_t));
    int64_t deletes = 0, empty = 0, updates = 0, sum = 0, commits = 0;
    for (int64_t i = 0; i < log.n; i++) {
        const proc_rec *r = &log.r[i];
        commits += r->rows > 0;
        if (proc_is_delete(r)) {
            deletes++;
            empty += r->rows == 0;
            sum += r->rows;
        } else {
            updates++;
        }
    }
    if (!log.all_ok)
        fprintf(stderr, "po: a child failed (above): only the checks that need no child's "
                        "records follow\n");
    if (log.all_ok)
        CHECK_EQ_INT(v1 - v0, commits);
    int64_t checked = proc_check_history(s, "po", v0, v1, rows, &log, log.all_ok, gone_by);
    proc_state st;
    proc_state_read(&st, s, "po", -1, rows);
    int64_t bad = st.bad, gone = 0;
    for (int64_t id = 0; id < rows; id++)
        gone += !st.live[id];
    for (int64_t id = 0; id < rows && log.all_ok; id++) {
        if (!st.live[id] && gone_by[id] != 1)
            proc_bad(&bad, "po: row %lld is gone, removed by %lld acknowledged deletes",
                     (long long)id, (long long)gone_by[id]);
        if (!st.live[id])
            continue;
        /* Its value: the first one, or the last update (by version) that listed it. */
        const proc_rec *last = NULL;
        for (int64_t i = 0; i < log.n; i++) {
            const proc_rec *r = &log.r[i];
            if (proc_is_delete(r) && proc_has_key(r, id))
                proc_bad(&bad, "po: row %lld survives child %d's acknowledged delete %c",
                         (long long)id, r->child, r->kind);
            if (!proc_is_delete(r) && r->rows > 0 && proc_has_key(r, id) &&
                (!last || r->version > last->version))
                last = r;
        }
        char tag[32];
        if (last)
            snprintf(tag, sizeof(tag), "u%lld", (long long)last->value);
        else
            snprintf(tag, sizeof(tag), "r%lld", (long long)id);
        int64_t want = last ? last->value : id % 1000;
        if (st.v[id] != want || strcmp(st.s[id], tag) != 0)
            proc_bad(&bad, "po: row %lld holds %lld|%s, not %lld|%s", (long long)id,
                     (long long)st.v[id], st.s[id], (long long)want, tag);
    }
    CHECK_EQ_INT(bad, 0);
    if (log.all_ok)
        CHECK_EQ_INT(sum, gone); /* none lost, none counted twice */
    CHECK_EQ_INT(st.count, rows - gone);
    CHECK_EQ_INT(live_rows(s, "po"), rows - gone);
    printf("processes, overlapping deletes and updates (%d children x %lld calls): %lld calls "
           "made, %lld conflicts (retried), %lld deletes acknowledged (%lld found nothing left), "
           "%lld updates, %lld rows deleted each by one call, %lld commits of others during a "
           "call, %lld versions checked, %.2f s\n",
           PROC_CHILDREN, (long long)ops, (long long)log.calls, (long long)log.conflicts,
           (long long)deletes, (long long)empty, (long long)updates, (long long)gone,
           (long long)log.interleaved, (long long)checked, now_s() - t0);
    proc_state_reset(&st);
    free(gone_by);
    proc_log_reset(&log);
    es_table_drop(s, "po", 1);
}

/* The tests with forked writers on uri (a local directory or an S3 prefix: never mem://, which
 * lives in one process). */
static void test_processes(const char *uri, int64_t ops)
{
    es_store *s = NULL;
    es_open_options opt = ES_OPEN_OPTIONS_INIT;
    opt.batch_rows = 64;
    CHECK_OK(es_store_open(&s, uri, &opt));
    char dir[] = "/tmp/es_test_proc_XXXXXX";
    if (!s || !mkdtemp(dir)) {
        CHECK(!"store or results directory");
        es_store_close(s);
        return;
    }
    proc_disjoint(s, uri, dir);
    proc_overlapping(s, uri, dir, ops);
    if (rmdir(dir) != 0)
        fprintf(stderr, "cannot remove %s: %s\n", dir, strerror(errno));
    es_store_close(s);
}

/* ------------------------------------------------------------------- main */

int main(void)
{
    seed_from_env();
    const char *env = getenv("ES_TEST_STORE_URI");
    if (env && *env) {
        printf("== %s\n", env);
        TIMED(test_processes(env, 10));
        return CHECK_DONE();
    }
    char dir[] = "/tmp/es_test_delete_procs_XXXXXX";
    if (mkdtemp(dir)) {
        printf("== %s\n", dir);
        TIMED(test_processes(dir, 12));
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", dir);
    }
    return CHECK_DONE();
}
