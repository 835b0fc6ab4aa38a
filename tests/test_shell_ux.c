/*
 * test_shell_ux: what sqlite3 and DuckDB users reach for first, through the real `expstore`
 * binary (the prompt itself is tested through a terminal by tests/shell/tmux_test.sh):
 *
 *  - statements piped on stdin run as soon as they are complete: a producer writes one, waits
 *    for its result, then writes the next;
 *  - Ctrl-C (SIGINT) stops COPY FROM an endless FIFO, COPY TO a FIFO nobody drains (the scan
 *    under it) and the printing of a long result, with "Error: interrupted", exit status 1 and
 *    nothing committed;
 *  - output modes box, markdown, line, list, tabs; .headers, .nullvalue; wide (CJK) characters
 *    aligned in table and box modes;
 *  - .output, .once, .read; .bail and -bail; BEGIN ... ROLLBACK | COMMIT | END, a COMMIT
 *    without BEGIN refused (and a script with -bail stops there); .tables and .schema with
 *    LIKE patterns, quoted identifiers and the primary-key comment in .schema;
 *  - the command line: a second -c is an error; no STORE is a transient in-memory store (no
 *    ./expstore-data appears); .open.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <time.h>

#include "check.h"
#include "shell/run.h"

static char store[1024];

/* Run the binary with args; expect exit status `status` and exactly `out` on stdout (NULL:
 * anything) and `err` within stderr (NULL: anything). */
static void expect_run(const char *input, const char *const *args, int status, const char *out,
                       const char *err, int line)
{
    shell_out o = shell_runv(input, args);
    if (o.status != status || (out && strcmp(o.out, out) != 0) || (err && !strstr(o.err, err)) ||
        strstr(o.err, "Sanitizer")) {
        check_failed++;
        fprintf(stderr,
                "line %d: status %d (expected %d)\n  stdout:\n%s\n  expected:\n%s\n  stderr:\n%s\n"
                "  expected within it: %s\n",
                line, o.status, status, o.out, out ? out : "(anything)", o.err,
                err ? err : "(anything)");
    } else {
        check_passed++;
    }
    shell_out_free(&o);
}

/* expstore STORE MODE -c SQL: status 0 and exactly `out`. */
static void expect_c(const char *mode, const char *sql, const char *out, int line)
{
    const char *args[] = {store, mode ? mode : "-table", "-c", sql, NULL};
    expect_run(NULL, args, 0, out, NULL, line);
}
#define EXPECT(mode, sql, out) expect_c(mode, sql, out, __LINE__)

/* ------------------------------------------------------- child processes */

typedef struct child {
    pid_t pid;
    int in, out; /* pipes to its stdin and from its stdout, or -1 */
    char errp[600];
} child;

/* Start the binary with args; stdin and stdout are pipes when asked, else /dev/null and a
 * file; stderr goes to a file. */
static child spawn(const char *const *args, int pipe_in, int pipe_out)
{
    child c = {-1, -1, -1, ""};
    int pi[2] = {-1, -1}, po[2] = {-1, -1};
    if ((pipe_in && pipe(pi) != 0) || (pipe_out && pipe(po) != 0))
        return c;
    snprintf(c.errp, sizeof c.errp, "%s/.child_err", shell_tmp);
    c.pid = fork();
    if (c.pid == 0) {
        int fe = open(c.errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        char outp[700];
        snprintf(outp, sizeof outp, "%s/.child_out", shell_tmp);
        int fo = pipe_out ? po[1] : open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fi = pipe_in ? pi[0] : open("/dev/null", O_RDONLY);
        dup2(fi, 0);
        dup2(fo, 1);
        dup2(fe, 2);
        if (pipe_in) {
            close(pi[0]);
            close(pi[1]);
        }
        if (pipe_out) {
            close(po[0]);
            close(po[1]);
        }
        const char *argv[32];
        int n = 0;
        argv[n++] = shell_bin;
        for (int i = 0; args[i] && n < 31; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        execv(shell_bin, (char *const *)argv);
        _exit(127);
    }
    if (pipe_in) {
        close(pi[0]);
        c.in = pi[1];
    }
    if (pipe_out) {
        close(po[1]);
        c.out = po[0];
    }
    return c;
}

/* Wait for the child's exit; its status (or -1), its stderr in *err (malloc'd). */
static int finish(child *c, char **err)
{
    if (c->in >= 0)
        close(c->in);
    if (c->out >= 0)
        close(c->out);
    int st = 0, status = -1;
    if (c->pid > 0 && waitpid(c->pid, &st, 0) == c->pid && WIFEXITED(st))
        status = WEXITSTATUS(st);
    *err = shell_slurp(c->errp);
    CHECK(strstr(*err, "Sanitizer") == NULL); /* the ASan build: no report after Ctrl-C */
    return status;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read from fd into buf (appending at *len) until buf holds `want` or `secs` pass. 1 when it
 * does. */
static int read_until(int fd, char *buf, size_t cap, size_t *len, const char *want, double secs)
{
    double end = now() + secs;
    for (;;) {
        buf[*len] = 0;
        if (strstr(buf, want))
            return 1;
        int ms = (int)((end - now()) * 1000);
        if (ms <= 0)
            return 0;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, ms) <= 0)
            continue;
        ssize_t n = read(fd, buf + *len, cap - 1 - *len);
        if (n <= 0)
            return 0;
        *len += (size_t)n;
    }
}

/* Count the lines read from fd until its end. */
static int64_t drain_lines(int fd)
{
    char buf[65536];
    int64_t lines = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < n; i++)
            lines += buf[i] == '\n';
    return lines;
}

/* ------------------------------------------------------------- tests */

/* A producer that waits for each result before it writes the next statement. */
static void test_streaming_stdin(void)
{
    const char *args[] = {store, "-csv", NULL};
    child c = spawn(args, 1, 1);
    CHECK(c.pid > 0);
    char buf[4096];
    size_t len = 0;
    CHECK(write(c.in, "SELECT 1 AS a;\n", 15) == 15);
    CHECK(read_until(c.out, buf, sizeof buf, &len, "a\n1\n", 10));
    /* A statement over two writes runs when its ';' arrives, not before. */
    CHECK(write(c.in, "SELECT 2\n", 9) == 9);
    CHECK(!read_until(c.out, buf, sizeof buf, &len, "2\n", 0.3));
    CHECK(write(c.in, "  AS b;\n", 8) == 8);
    CHECK(read_until(c.out, buf, sizeof buf, &len, "b\n2\n", 10));
    CHECK(write(c.in, ".mode json\nSELECT 3 AS c;\n", 26) == 26);
    CHECK(read_until(c.out, buf, sizeof buf, &len, "[{\"c\":3}]\n", 10));
    char *err;
    CHECK_EQ_INT(finish(&c, &err), 0);
    CHECK_EQ_STR(err, "");
    free(err);

    /* Ctrl-C while the script waits for its next line ends it at once. */
    c = spawn(args, 1, 1);
    len = 0;
    CHECK(write(c.in, "SELECT 1 AS a;\nSELECT\n", 22) == 22);
    CHECK(read_until(c.out, buf, sizeof buf, &len, "a\n1\n", 10));
    kill(c.pid, SIGINT);
    int st = 0;
    pid_t r;
    double end = now() + 10;
    while ((r = waitpid(c.pid, &st, WNOHANG)) == 0 && now() < end)
        usleep(10000);
    CHECK(r == c.pid && WIFEXITED(st) && WEXITSTATUS(st) == 1); /* stdin is still open */
    if (r != c.pid)
        kill(c.pid, SIGKILL);
    else
        c.pid = -1;
    finish(&c, &err);
    CONTAINS(err, "Error: interrupted");
    free(err);

    /* The last statement may lack its ';'; errors keep their line numbers in the input. */
    const char *csv[] = {store, "-csv", NULL};
    expect_run("SELECT 1 AS a;\n\n-- two\nSELECT\n  nope;\nSELECT 4 AS d", csv, 1, "a\n1\nd\n4\n",
               "5:3: unknown column 'nope'", __LINE__);
}

/* COPY FROM a FIFO that never ends: Ctrl-C stops it and nothing is committed. */
/* kill -9 of a shell in the middle of a transaction (two tables written, a table created,
 * a row deleted) leaves the store as it was before BEGIN: same version, same rows. */
static void test_kill_in_transaction(void)
{
    expect_c("-csv",
             "CREATE TABLE ka (id BIGINT PRIMARY KEY, v INT); CREATE TABLE kb (id BIGINT, w TEXT);"
             "INSERT INTO ka VALUES (1, 10), (2, 20); INSERT INTO kb VALUES (1, 'x');",
             "", __LINE__);
    const char *vargs[] = {store, "-csv", "-c", ".version", NULL};
    child v0 = spawn(vargs, 0, 1);
    char before[64] = "", after[64] = "";
    size_t len = 0;
    read_until(v0.out, before, sizeof before, &len, "\n", 10);
    char *err;
    finish(&v0, &err);
    free(err);
    const char *args[] = {store, "-csv", NULL};
    child c = spawn(args, 1, 1);
    char buf[4096];
    len = 0;
    const char *txn = "BEGIN; INSERT INTO ka VALUES (3, 30); INSERT INTO kb VALUES (2, 'y');"
                      "CREATE TABLE kc (z INT); INSERT INTO kc VALUES (1); DELETE FROM ka WHERE id "
                      "= 1; UPDATE kb SET w = 'z'; SELECT count(*) AS seen FROM ka;\n";
    CHECK(write(c.in, txn, strlen(txn)) == (ssize_t)strlen(txn));
    CHECK(read_until(c.out, buf, sizeof buf, &len, "seen\n2\n", 20)); /* its own writes */
    kill(c.pid, SIGKILL);
    waitpid(c.pid, NULL, 0);
    c.pid = -1;
    finish(&c, &err);
    free(err);
    expect_c("-csv", "SELECT count(*), sum(v) FROM ka; SELECT w FROM kb; SHOW TABLES;",
             "count(*),sum(v)\n2,30\nw\nx\nname\nka\nkb\n", __LINE__);
    child v1 = spawn(vargs, 0, 1);
    len = 0;
    read_until(v1.out, after, sizeof after, &len, "\n", 10);
    finish(&v1, &err);
    free(err);
    CHECK(before[0] && strcmp(before, after) == 0); /* nothing was committed */

    /* An error inside a transaction aborts it (as in PostgreSQL): the script's COMMIT rolls
     * back, so neither INSERT is kept. */
    const char *script = "BEGIN;\nINSERT INTO ka VALUES (7, 70);\nINSERT INTO nope VALUES (1);\n"
                         "INSERT INTO ka VALUES (8, 80);\nCOMMIT;\n";
    const char *plain[] = {store, "-csv", NULL};
    child p = spawn(plain, 1, 1);
    CHECK(write(p.in, script, strlen(script)) == (ssize_t)strlen(script));
    close(p.in);
    p.in = -1;
    CHECK_EQ_INT(finish(&p, &err), 1);
    CONTAINS(err, "aborted by an earlier error");
    CONTAINS(err, "has been rolled back");
    free(err);
    expect_c("-csv", "SELECT count(*), sum(v) FROM ka;", "count(*),sum(v)\n2,30\n", __LINE__);
}

static void test_interrupt_copy_in(void)
{
    EXPECT(NULL, "CREATE TABLE endless (x INT, s TEXT);", "");
    char fifo[600], sql[800];
    snprintf(fifo, sizeof fifo, "%s/in.fifo", shell_tmp);
    CHECK(mkfifo(fifo, 0600) == 0);
    snprintf(sql, sizeof sql, "COPY endless FROM '%s';", fifo);
    const char *args[] = {store, "-c", sql, NULL};
    child c = spawn(args, 0, 0);
    int fd = open(fifo, O_WRONLY); /* until the COPY opens it */
    CHECK(fd >= 0);
    static char rows[65536];
    for (size_t i = 0; i + 6 <= sizeof rows; i += 6)
        memcpy(rows + i, "1,abc\n", 6);
    size_t chunk = sizeof rows / 6 * 6;
    int64_t written = 0;
    int signalled = 0;
    /* Write 4 MiB (several batches), then Ctrl-C, then go on until the shell closes the FIFO
     * (or 512 MiB: it did not stop). */
    while (written < ((int64_t)512 << 20)) {
        ssize_t n = write(fd, rows, chunk);
        if (n <= 0)
            break;
        written += n;
        if (!signalled && written >= (4 << 20)) {
            kill(c.pid, SIGINT);
            signalled = 1;
        }
    }
    CHECK(written < ((int64_t)512 << 20));
    close(fd);
    char *err;
    CHECK_EQ_INT(finish(&c, &err), 1);
    CONTAINS(err, "Error: interrupted");
    free(err);
    EXPECT("-csv", "SELECT count(*) FROM endless;", "count(*)\n0\n");
    unlink(fifo);
}

/* A table of n rows (id, s, t) loaded from a CSV file; t is the id as text but 'x' at 70000. */
static void make_big(const char *name, int n)
{
    char path[600], sql[1400];
    snprintf(path, sizeof path, "%s/%s.csv", shell_tmp, name);
    FILE *f = fopen(path, "w");
    for (int i = 0; i < n; i++)
        fprintf(f, "%d,row number %d,%d\n", i, i, i);
    fclose(f);
    snprintf(sql, sizeof sql,
             "CREATE TABLE %s (id BIGINT, s TEXT, t TEXT); COPY %s FROM '%s';"
             "INSERT INTO %s VALUES (70000, 'x', 'x');",
             name, name, path, name);
    char counts[64]; /* the rows COPY and INSERT added */
    snprintf(counts, sizeof counts, "%d rows\n1 row\n", n);
    EXPECT(NULL, sql, counts);
}

/* COPY (SELECT ...) TO a FIFO that is read slowly: Ctrl-C stops the scan between batches. */
static void test_interrupt_copy_out(void)
{
    char fifo[600], sql[800];
    snprintf(fifo, sizeof fifo, "%s/out.fifo", shell_tmp);
    CHECK(mkfifo(fifo, 0600) == 0);
    snprintf(sql, sizeof sql, "COPY (SELECT id, s FROM big WHERE id >= 0) TO '%s';", fifo);
    const char *args[] = {store, "-c", sql, NULL};
    child c = spawn(args, 0, 0);
    int fd = open(fifo, O_RDONLY); /* until the COPY opens it */
    CHECK(fd >= 0);
    char buf[4096];
    CHECK(read(fd, buf, sizeof buf) > 0); /* the first batch is being written */
    kill(c.pid, SIGINT);
    int64_t lines = drain_lines(fd);
    close(fd);
    char *err;
    CHECK_EQ_INT(finish(&c, &err), 1);
    CONTAINS(err, "Error: interrupted");
    CHECK(lines < 300000); /* stopped after at most a batch or two */
    free(err);
    struct stat sb;
    CHECK(stat(fifo, &sb) == 0 && S_ISFIFO(sb.st_mode)); /* not removed: not a regular file */
    unlink(fifo);
    /* A regular file that an error cuts short is removed. */
    char out[600];
    snprintf(out, sizeof out, "%s/cut.csv", shell_tmp);
    snprintf(sql, sizeof sql, "COPY (SELECT CAST(t AS INT) FROM big) TO '%s';", out);
    const char *args2[] = {store, "-c", sql, NULL};
    expect_run(NULL, args2, 1, "", "cannot cast 'x' to INTEGER", __LINE__);
    CHECK(access(out, F_OK) != 0);
}

/* Printing a long result to a pipe nobody reads yet: Ctrl-C stops it at the next row. */
static void test_interrupt_print(void)
{
    const char *args[] = {store, "-c", "SELECT id, s FROM big;", NULL};
    child c = spawn(args, 0, 1);
    struct pollfd p = {c.out, POLLIN, 0};
    CHECK(poll(&p, 1, 60000) == 1); /* printing has begun */
    usleep(100000);                 /* and fills the pipe */
    kill(c.pid, SIGINT);
    int64_t lines = drain_lines(c.out);
    char *err;
    CHECK_EQ_INT(finish(&c, &err), 1);
    CONTAINS(err, "Error: interrupted");
    CHECK(lines > 0 && lines < 300000);
    free(err);
}

static void test_modes(void)
{
    EXPECT(NULL,
           "CREATE TABLE m (id INT, name TEXT, v DOUBLE);"
           "INSERT INTO m VALUES (1, 'one', 1.5), (2, NULL, NULL), (3, 'a|b', -2.0);",
           "3 rows\n");
    const char *q = "SELECT * FROM m ORDER BY id;";
    EXPECT("-box", q,
           "┌────┬──────┬──────┐\n"
           "│ id │ name │ v    │\n"
           "├────┼──────┼──────┤\n"
           "│  1 │ one  │  1.5 │\n"
           "│  2 │ NULL │ NULL │\n"
           "│  3 │ a|b  │ -2.0 │\n"
           "└────┴──────┴──────┘\n");
    EXPECT("-markdown", q,
           "| id | name | v    |\n"
           "|---:|------|-----:|\n"
           "|  1 | one  |  1.5 |\n"
           "|  2 | NULL | NULL |\n"
           "|  3 | a\\|b | -2.0 |\n");
    EXPECT("-line", q,
           "  id = 1\nname = one\n   v = 1.5\n\n"
           "  id = 2\nname = NULL\n   v = NULL\n\n"
           "  id = 3\nname = a|b\n   v = -2.0\n");
    EXPECT("-list", q, "id|name|v\n1|one|1.5\n2|NULL|NULL\n3|a|b|-2.0\n");
    EXPECT("-tabs", q, "id\tname\tv\n1\tone\t1.5\n2\tNULL\tNULL\n3\ta|b\t-2.0\n");
    /* .headers and .nullvalue (and the options of the same names). */
    EXPECT(NULL, ".mode csv\n.headers off\nSELECT id, name FROM m ORDER BY id;",
           "1,one\n2,\n3,a|b\n");
    EXPECT(NULL, ".mode list\n.nullvalue ''\n.headers off\nSELECT id, name FROM m ORDER BY id;",
           "1|one\n2|\n3|a|b\n");
    const char *args[] = {store, "-list", "-noheader", "-nullvalue", "-", "-c", q, NULL};
    expect_run(NULL, args, 0, "1|one|1.5\n2|-|-\n3|a|b|-2.0\n", NULL, __LINE__);
    EXPECT(NULL, ".nullvalue (null)\nSELECT name FROM m WHERE id = 2;",
           "+--------+\n| name   |\n+--------+\n| (null) |\n+--------+\n");
    EXPECT(NULL, ".mode box\n.mode", "box\n");
    const char *bad[] = {store, "-c", ".mode fancy", NULL};
    expect_run(NULL, bad, 1, "", "unknown mode 'fancy'", __LINE__);
    const char *extra[] = {store, "-c", ".mode csv -- a comment", NULL}; /* not "unknown 'csv'" */
    expect_run(NULL, extra, 1, "", "Error: usage: .mode [table|box|markdown|csv|json|line|list",
               __LINE__);

    /* Wide and combining characters: the grid lines up by terminal columns. */
    EXPECT(NULL,
           "CREATE TABLE w (s TEXT); INSERT INTO w VALUES ('日本'), ('ab'), ('e\xcc\x81t\xc3\xa9'),"
           " ('한국어');",
           "4 rows\n");
    EXPECT(NULL, "SELECT s FROM w;",
           "+--------+\n| s      |\n+--------+\n| 日本   |\n| ab     |\n| e\xcc\x81t\xc3\xa9    |\n"
           "| 한국어 |\n+--------+\n");
    EXPECT("-box", "SELECT s, 1 AS n FROM w WHERE s <> 'ab';",
           "┌────────┬───┐\n│ s      │ n │\n├────────┼───┤\n│ 日本   │ 1 │\n"
           "│ e\xcc\x81t\xc3\xa9    │ 1 │\n│ 한국어 │ 1 │\n└────────┴───┘\n");
}

static void test_output_read(void)
{
    char a[600], b[600], sql[2000];
    snprintf(a, sizeof a, "%s/o1.txt", shell_tmp);
    snprintf(b, sizeof b, "%s/o2.txt", shell_tmp);
    /* .output FILE until .output; .once FILE for the next command only. */
    snprintf(sql, sizeof sql,
             ".mode csv\nSELECT 1 AS a;\n.output %s\nSELECT 2 AS b;\n.tables m\nSELECT 3 AS c;\n"
             ".output\nSELECT 4 AS d;\n.once '%s'\nSELECT 5 AS e;\nSELECT 6 AS f;",
             a, b);
    EXPECT(NULL, sql, "a\n1\nd\n4\nf\n6\n");
    char *x = shell_slurp(a), *y = shell_slurp(b);
    CHECK_EQ_STR(x, "b\n2\nm\nc\n3\n");
    CHECK_EQ_STR(y, "e\n5\n");
    free(x);
    free(y);
    const char *args[] = {store, "-c", ".output /nonexistent/dir/x", NULL};
    expect_run(NULL, args, 1, "", "cannot open /nonexistent/dir/x", __LINE__);

    /* .read: statements and dot-commands of a file, nested; errors keep the file's lines. */
    const char *inner = shell_file("inner.sql", "SELECT 'inner' AS w;\n");
    char outer[1000];
    snprintf(outer, sizeof outer, ".mode csv\nSELECT 'outer' AS w;\n.read %s\n\nSELECT\n  nope;\n",
             inner);
    const char *op = shell_file("outer.sql", outer);
    snprintf(sql, sizeof sql, ".read %s\nSELECT 'after' AS w;", op);
    const char *args2[] = {store, "-c", sql, NULL};
    expect_run(NULL, args2, 1, "w\nouter\nw\ninner\n", "6:3: unknown column 'nope'", __LINE__);
    const char *args3[] = {store, "-c", ".read /nonexistent.sql", NULL};
    expect_run(NULL, args3, 1, "", "cannot open /nonexistent.sql", __LINE__);
    /* -f runs the same way. */
    const char *args4[] = {store, "-f", op, NULL};
    expect_run(NULL, args4, 1, "w\nouter\nw\ninner\n", "6:3: unknown column 'nope'", __LINE__);
}

static void test_bail(void)
{
    const char *script = "SELECT 1 AS a;\nSELECT nope;\nSELECT 3 AS c;\n";
    const char *plain[] = {store, "-csv", NULL};
    expect_run(script, plain, 1, "a\n1\nc\n3\n", "2:8: unknown column 'nope'", __LINE__);
    const char *bail[] = {store, "-csv", "-bail", NULL};
    expect_run(script, bail, 1, "a\n1\n", "2:8: unknown column 'nope'", __LINE__);
    expect_run(".bail on\nSELECT 1 AS a;\n.nosuch\nSELECT 3 AS c;\n", plain, 1, "a\n1\n",
               "unknown command .nosuch", __LINE__);
    expect_run(".bail off\nSELECT 1 AS a;\n.nosuch\nSELECT 3 AS c;\n", plain, 1, "a\n1\nc\n3\n",
               "unknown command .nosuch", __LINE__);
    /* sqlite3's .import and .dump: the statements that do their work here. */
    expect_run(".import x.csv t\n", plain, 1, "",
               "Error: unknown command .import: load a file with COPY TABLE FROM 'FILE.csv' "
               "(HEADER)\n",
               __LINE__);
    expect_run(".dump\n", plain, 1, "", "unknown command .dump: .schema prints the CREATE",
               __LINE__);
    const char *file = shell_file("bail.sql", script);
    const char *fbail[] = {store, "-csv", "-bail", "-f", file, NULL};
    expect_run(NULL, fbail, 1, "a\n1\n", "unknown column", __LINE__);
    const char *fplain[] = {store, "-csv", "-f", file, NULL};
    expect_run(NULL, fplain, 1, "a\n1\nc\n3\n", "unknown column", __LINE__);

    /* Transactions: BEGIN ... ROLLBACK leaves nothing, BEGIN ... END commits its statements;
     * COMMIT without BEGIN is an error (and stops a -bail script there). */
    EXPECT(NULL, "CREATE TABLE tx (x INT);", "");
    const char *tx = "BEGIN;\nINSERT INTO tx VALUES (1);\nROLLBACK;\n";
    expect_run(tx, bail, 0, "", "", __LINE__);
    EXPECT("-csv", "SELECT count(*) FROM tx;", "count(*)\n0\n");
    const char *c[] = {store, "-c", "BEGIN TRANSACTION; INSERT INTO tx VALUES (2); END;", NULL};
    expect_run(NULL, c, 0, "1 row\n", "", __LINE__);
    EXPECT("-csv", "SELECT count(*) FROM tx;", "count(*)\n1\n");
    expect_run("BEGIN;\nINSERT INTO tx VALUES (9);\n", bail, 0, "",
               "Warning: the open transaction was rolled back (no COMMIT)", __LINE__);
    EXPECT("-csv", "SELECT count(*) FROM tx;", "count(*)\n1\n");
    const char *lone = "COMMIT;\nINSERT INTO tx VALUES (3);\n";
    expect_run(lone, bail, 1, "", "1:1: no transaction is open (BEGIN opens one)", __LINE__);
    EXPECT("-csv", "SELECT count(*) FROM tx;", "count(*)\n1\n");
}

static void test_tables_schema(void)
{
    EXPECT(NULL,
           "CREATE TABLE \"Order\" (\"select\" BIGINT NOT NULL, \"my col\" TEXT DEFAULT 'a''b',"
           " \"q\"\"t\" INT NOT NULL DEFAULT -3, plain_1 DATE, PRIMARY KEY (\"select\"));"
           "CREATE TABLE sales_2024 (id INT, PRIMARY KEY (id)); CREATE TABLE salesx (id INT);",
           "");
    EXPECT(NULL, ".tables sales%", "sales_2024\nsalesx\n");
    EXPECT(NULL, ".tables SALES_2024", "sales_2024\n");
    EXPECT(NULL, ".tables %rder", "Order\n");
    EXPECT(NULL, ".tables nothing%", "");
    const char *want = "CREATE TABLE \"Order\" (\"select\" BIGINT NOT NULL, \"my col\" VARCHAR "
                       "DEFAULT 'a''b', \"q\"\"t\" INTEGER DEFAULT -3 NOT NULL, plain_1 DATE, "
                       "PRIMARY KEY (\"select\"));\n";
    EXPECT(NULL, ".schema Order", want);
    EXPECT(NULL, ".schema salesx", "CREATE TABLE salesx (id INTEGER);\n");
    const char *args[] = {store, "-c", ".schema nosuch", NULL};
    expect_run(NULL, args, 1, "", "no such table: nosuch", __LINE__);
    /* The statement .schema prints creates the same table. */
    char other[700], sql[2000];
    snprintf(other, sizeof other, "%s/other", shell_tmp);
    snprintf(sql, sizeof sql, "%s.schema Order", want);
    const char *args2[] = {other, "-c", sql, NULL};
    expect_run(NULL, args2, 0, want, NULL, __LINE__);
}

static void test_command_line(void)
{
    const char *twice[] = {store, "-c", "SELECT 1;", "-c", "SELECT 2;", NULL};
    expect_run(NULL, twice, 2, "", "-c given twice", __LINE__);
    const char *f2[] = {store, "-f", "a", "-f", "b", NULL};
    expect_run(NULL, f2, 2, "", "-f given twice", __LINE__);
    shell_out o = shell_c(store, NULL, ".help");
    CHECK_EQ_INT(o.status, 0);
    CONTAINS(o.out, ".mode [MODE]");
    CONTAINS(o.out, ".once FILE");
    CONTAINS(o.out, "enforced unique");
    CONTAINS(o.out, ".indexes [TABLE]");
    /* Every statement is listed (docs/SQL.md has the same list). */
    static const char *const stmts[] = {"SELECT",
                                        "EXPLAIN [ANALYZE]",
                                        "CREATE TABLE",
                                        "AS SELECT",
                                        "DROP TABLE",
                                        "ALTER TABLE",
                                        "INSERT INTO",
                                        "ON CONFLICT",
                                        "INSERT OR REPLACE",
                                        "UPDATE",
                                        "DELETE FROM",
                                        "TRUNCATE",
                                        "COPY t [(cols)] FROM",
                                        "COPY t|(SELECT",
                                        "CREATE [UNIQUE] INDEX",
                                        "DROP INDEX",
                                        "DESCRIBE",
                                        "SHOW TABLES",
                                        "OPTIMIZE",
                                        "VACUUM",
                                        "FLUSH",
                                        "BEGIN",
                                        "COMMIT",
                                        "ROLLBACK",
                                        "DEFAULT"};
    for (size_t i = 0; i < sizeof stmts / sizeof *stmts; i++)
        CONTAINS(o.out, stmts[i]);
    shell_out_free(&o);
    /* The maintenance commands without a store: their usage, not a store named "vacuum". */
    const char *vac[] = {"vacuum", NULL}, *fsck[] = {"fsck", NULL};
    expect_run(NULL, vac, 2, "", "usage: expstore vacuum", __LINE__);
    expect_run(NULL, fsck, 2, "", "usage: expstore fsck", __LINE__);
    /* A store that is not there: named once. */
    char nostore[400], want[500];
    snprintf(nostore, sizeof nostore, "%s/no-store-here", shell_tmp);
    snprintf(want, sizeof want, "expstore: %s: no store here", nostore);
    const char *fsck_missing[] = {"fsck", nostore, NULL};
    expect_run(NULL, fsck_missing, 2, "", want, __LINE__);
    const char *vacuum_missing[] = {"vacuum", nostore, NULL};
    expect_run(NULL, vacuum_missing, 1, "", want, __LINE__);
    struct stat nst; /* and neither made the directory */
    CHECK(stat(nostore, &nst) != 0 && errno == ENOENT);
    const char *help_arg[] = {"--help", NULL};
    o = shell_runv(NULL, help_arg);
    CONTAINS(o.out, "fsck [-q] STORE");
    shell_out_free(&o);
    const char *help[] = {"--help", NULL};
    expect_run(NULL, help, 0, NULL, NULL, __LINE__);
    o = shell_runv(NULL, help);
    CONTAINS(o.out, "-bail");
    CONTAINS(o.out, "transient in-memory store");
    shell_out_free(&o);
    const char *unknown[] = {store, "-frobnicate", NULL};
    expect_run(NULL, unknown, 2, "", "unknown option -frobnicate", __LINE__);

    /* No STORE: a transient in-memory store, nothing written where it runs. */
    char cwd[1024], dir[700];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    snprintf(dir, sizeof dir, "%s/cwd", shell_tmp);
    mkdir(dir, 0755);
    CHECK(chdir(dir) == 0);
    const char *mem[] = {"-csv", "-c",
                         "CREATE TABLE t (x INT); INSERT INTO t VALUES (7);"
                         " SELECT x FROM t;",
                         NULL};
    expect_run(NULL, mem, 0, "x\n7\n", NULL, __LINE__);
    CHECK(access("expstore-data", F_OK) != 0);
    const char *mem2[] = {"-c", ".tables", NULL};
    expect_run(NULL, mem2, 0, "", NULL, __LINE__);
    /* .open DIR: a persistent store; .open alone: back to a new transient one. */
    const char *open[] = {"-csv", "-c",
                          ".open kept\nCREATE TABLE k (x INT); INSERT INTO k VALUES (1);\n"
                          ".open\n.tables\n.open kept\n.tables",
                          NULL};
    expect_run(NULL, open, 0, "k\n", NULL, __LINE__);
    CHECK(access("kept/_log", F_OK) == 0);
    const char *bad[] = {"-c", ".open /proc/version\nSELECT 1 AS still;", NULL};
    expect_run(NULL, bad, 1, "", "cannot open store /proc/version", __LINE__);
    CHECK(chdir(cwd) == 0);
}

int main(void)
{
    if (shell_setup() < 0)
        CHECK_SKIP("expstore binary not found (set ES_BUILD_DIR)");
    signal(SIGPIPE, SIG_IGN);
    snprintf(store, sizeof store, "%s/store", shell_tmp);
    test_streaming_stdin();
    test_kill_in_transaction();
    test_interrupt_copy_in();
    make_big("big", 300000);
    test_interrupt_copy_out();
    test_interrupt_print();
    test_modes();
    test_output_read();
    test_bail();
    test_tables_schema();
    test_command_line();
    shell_cleanup();
    return CHECK_DONE();
}
