/*
 * test_csv_load: COPY FROM a CSV file parsed in blocks on several threads (sql/csv.c, "Parallel
 * load"). Blocks are made tiny (ES_CSV_BLOCK) so that cuts fall everywhere: inside quoted fields
 * holding line ends and '""', on \r\n, on blank lines. What a parallel load stores must be what
 * a sequential one (one thread, one block) stores, row for row in file order, and what the test
 * wrote; errors name the same line of the file either way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "expstore/expstore.h"
#include "expstore/sql.h"
#include "testutil.h"

static char dir[128];

/* Open a session on a fresh store with `threads`; blocks of `block` bytes (0: the default). */
static es_sql_session *session(es_store **s, const char *name, int threads, int block)
{
    static int n;
    char uri[256];
    snprintf(uri, sizeof uri, "mem://%s_%d", name, n++);
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    es_sql_session *q = NULL;
    CHECK_OK(es_store_open(s, uri, &o));
    CHECK_OK(es_store_set_threads(*s, threads));
    CHECK_OK(es_sql_session_open(&q, *s));
    if (block > 0) {
        char b[32];
        snprintf(b, sizeof b, "%d", block);
        setenv("ES_CSV_BLOCK", b, 1);
    } else {
        unsetenv("ES_CSV_BLOCK");
    }
    return q;
}

static void close_session(es_store *s, es_sql_session *q)
{
    es_sql_session_close(q);
    es_store_close(s);
}

/* Run sql; return the status and copy the error message into msg. */
static es_status run(es_sql_session *q, const char *sql, char *msg, size_t cap, int64_t *changes)
{
    es_sql_result r = ES_SQL_RESULT_INIT;
    es_status st = es_sql_exec(q, sql, &r);
    if (msg)
        snprintf(msg, cap, "%s", st ? es_sql_errmsg(q) : "");
    if (changes)
        *changes = r.changes;
    es_sql_result_reset(&r);
    return st;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = calloc(1, (size_t)n + 1);
    if (fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    return p;
}

/* The rows the test writes: id in a shuffled order (the load sorts by it), a note that is
 * NULL, empty, plain, or quoted with delimiters, '""' and line ends, an amount; some records
 * end in \r\n and blank lines come between some. */
#define N_ROWS 3000
typedef struct expect {
    int64_t sum_id, notes, note_bytes, newlines;
    double sum_amount;
} expect;

static void write_csv(const char *path, expect *e, int header)
{
    FILE *f = fopen(path, "w");
    memset(e, 0, sizeof *e);
    int64_t *ids = malloc(N_ROWS * sizeof(int64_t));
    for (int i = 0; i < N_ROWS; i++)
        ids[i] = i * 7 + 1;
    for (int i = N_ROWS - 1; i > 0; i--) {
        int j = (int)(rnd() % (uint64_t)(i + 1));
        int64_t t = ids[i];
        ids[i] = ids[j];
        ids[j] = t;
    }
    if (header)
        fprintf(f, "id,note,amount\n");
    for (int i = 0; i < N_ROWS; i++) {
        int kind = rn(6);
        double amount = (double)(rnd() % 100000) / 100;
        e->sum_id += ids[i];
        e->sum_amount += amount;
        fprintf(f, "%lld,", (long long)ids[i]);
        if (kind == 0) { /* NULL */
        } else if (kind == 1) {
            fprintf(f, "\"\"");
            e->notes++;
        } else if (kind == 2) {
            int len = 1 + rn(20);
            for (int k = 0; k < len; k++)
                fputc('a' + rn(26), f);
            e->notes++;
            e->note_bytes += len;
        } else { /* quoted: "x,""y""<newline>z" and friends */
            int lines = kind - 2;
            fputc('"', f);
            for (int k = 0; k < lines; k++) {
                fprintf(f, "%s\"\"q\"\",%d", k ? "\n" : "", k);
                e->note_bytes += (k ? 1 : 0) + 5;
                e->newlines += k ? 1 : 0;
            }
            fputc('"', f);
            e->notes++;
        }
        fprintf(f, ",%.2f%s", amount, rn(4) == 0 ? "\r\n" : "\n");
        if (rn(50) == 0)
            fputc('\n', f); /* a blank line */
    }
    fclose(f);
    free(ids);
}

/* Load path into a fresh store with threads and block size; the table as COPY TO writes it. */
static char *load(const char *name, const char *path, int threads, int block, int64_t *rows,
                  expect *got)
{
    es_store *s = NULL;
    es_sql_session *q = session(&s, name, threads, block);
    char sql[512], out[256], msg[512];
    CHECK_OK(run(q, "CREATE TABLE t (id BIGINT PRIMARY KEY, note VARCHAR, amount DOUBLE)", NULL, 0,
                 NULL));
    snprintf(sql, sizeof sql, "COPY t FROM '%s'", path);
    es_status st = run(q, sql, msg, sizeof msg, rows);
    if (st)
        fprintf(stderr, "%s: %s\n", sql, msg);
    CHECK_OK(st);
    snprintf(out, sizeof out, "%s/%s.out.csv", dir, name);
    snprintf(sql, sizeof sql, "COPY (SELECT * FROM t ORDER BY id) TO '%s'", out);
    CHECK_OK(run(q, sql, NULL, 0, NULL));
    es_sql_result r = ES_SQL_RESULT_INIT;
    memset(got, 0, sizeof *got);
    if (es_sql_exec(q,
                    "SELECT count(*), sum(id), count(note), sum(length(note)), sum(amount) FROM t",
                    &r) == ES_OK) {
        struct ArrowArray a;
        struct ArrowSchema sc;
        if (r.stream.get_schema(&r.stream, &sc) == 0 && r.stream.get_next(&r.stream, &a) == 0 &&
            a.release) {
            const int64_t *c0 = a.children[0]->buffers[1], *c1 = a.children[1]->buffers[1],
                          *c2 = a.children[2]->buffers[1], *c3 = a.children[3]->buffers[1];
            const double *c4 = a.children[4]->buffers[1];
            *rows = c0[0];
            got->sum_id = c1[0];
            got->notes = c2[0];
            got->note_bytes = c3[0];
            got->sum_amount = c4[0];
            a.release(&a);
            sc.release(&sc);
        }
    }
    es_sql_result_reset(&r);
    close_session(s, q);
    char *text = slurp(out);
    unlink(out);
    return text;
}

/* The same rows whatever the blocks and threads; the values the test wrote. */
static void test_same_rows(void)
{
    char path[256];
    expect e, got;
    snprintf(path, sizeof path, "%s/rows.csv", dir);
    for (int header = 0; header <= 1; header++) {
        write_csv(path, &e, header);
        int64_t rows = 0;
        char *seq = load("seq", path, 1, 0, &rows, &got);
        CHECK_EQ_INT(rows, N_ROWS);
        CHECK_EQ_INT(got.sum_id, e.sum_id);
        CHECK_EQ_INT(got.notes, e.notes);
        CHECK_EQ_INT(got.note_bytes, e.note_bytes);
        CHECK(got.sum_amount > e.sum_amount - 0.01 && got.sum_amount < e.sum_amount + 0.01);
        CHECK(seq && strstr(seq, "\"\"q\"\",1\n\"\"q\"\",2") != NULL); /* newlines kept */
        static const int blocks[] = {1, 7, 64, 333, 4096};
        for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; b++) {
            for (int threads = 1; threads <= 4; threads += 3) {
                char name[64];
                snprintf(name, sizeof name, "par_%d_%d_%d", header, blocks[b], threads);
                char *par = load(name, path, threads, blocks[b], &rows, &got);
                CHECK_EQ_INT(rows, N_ROWS);
                CHECK(seq && par && strcmp(seq, par) == 0);
                if (!par || !seq || strcmp(seq, par) != 0)
                    fprintf(stderr, "block %d, %d threads: the table differs\n", blocks[b],
                            threads);
                free(par);
            }
        }
        free(seq);
    }
    unlink(path);
}

/* A table without a key keeps the file's order. */
static void test_file_order(void)
{
    char path[256], sql[512];
    snprintf(path, sizeof path, "%s/order.csv", dir);
    FILE *f = fopen(path, "w");
    for (int i = 0; i < 2000; i++)
        fprintf(f, "%d,\"%d\n\"\n", 2000 - i, i);
    fclose(f);
    es_store *s = NULL;
    es_sql_session *q = session(&s, "order", 3, 50);
    CHECK_OK(run(q, "CREATE TABLE o (k INT, v VARCHAR)", NULL, 0, NULL));
    snprintf(sql, sizeof sql, "COPY o FROM '%s'", path);
    int64_t n = 0;
    CHECK_OK(run(q, sql, NULL, 0, &n));
    CHECK_EQ_INT(n, 2000);
    es_sql_result r = ES_SQL_RESULT_INIT;
    int64_t seen = 0, in_order = 0;
    CHECK_OK(es_sql_exec(q, "SELECT k FROM o", &r));
    for (;;) {
        struct ArrowArray a;
        if (r.stream.get_next(&r.stream, &a) != 0 || !a.release)
            break;
        const int32_t *k = a.children[0]->buffers[1];
        for (int64_t i = 0; i < a.length; i++, seen++)
            in_order += k[i + a.children[0]->offset] == 2000 - seen;
        a.release(&a);
    }
    es_sql_result_reset(&r);
    CHECK_EQ_INT(seen, 2000);
    CHECK_EQ_INT(in_order, 2000);
    close_session(s, q);
    unlink(path);
}

/* The error of the first bad record in the file names its line, whatever the blocks. */
static void test_errors(void)
{
    char path[256], sql[512], msg[512], want[512];
    snprintf(path, sizeof path, "%s/bad.csv", dir);
    static const struct {
        const char *bad; /* the record put at record 1500 */
        const char *msg;
    } cases[] = {
        {"1500,x,abc\n", "column amount"},
        {"1500,x\n", "expected 3 fields, found 2"},
        {"1500,\"x\"y,1\n", "unexpected character after quoted field"},
        /* bytes that are not UTF-8 and control characters are escaped, valid UTF-8 kept */
        {"1500,x,\xff\xfe\x01"
         "\xc3\xa9\xc3\n",
         "column amount: cannot parse '\\xFF\\xFE\\x01\xc3\xa9\\xC3' as DOUBLE"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        FILE *f = fopen(path, "w");
        for (int i = 0; i < 3000; i++) {
            if (i == 1499)
                fputs(cases[c].bad, f);
            else if (i % 3 == 0)
                fprintf(f, "%d,\"a\nb\",%d.5\n", i + 1, i);
            else
                fprintf(f, "%d,n%d,%d\n", i + 1, i, i);
            if (i == 2500) /* a second error, later in the file: not the one reported */
                fputs("x,y,z\n", f);
        }
        fclose(f);
        snprintf(want, sizeof want, "%s:1500: %s", path, cases[c].msg);
        static const int blocks[] = {0, 10, 999};
        for (size_t b = 0; b < 3; b++) {
            es_store *s = NULL;
            es_sql_session *q = session(&s, "bad", b ? 2 : 1, blocks[b]);
            CHECK_OK(run(q, "CREATE TABLE t (id BIGINT PRIMARY KEY, note VARCHAR, amount DOUBLE)",
                         NULL, 0, NULL));
            snprintf(sql, sizeof sql, "COPY t FROM '%s'", path);
            CHECK(run(q, sql, msg, sizeof msg, NULL) != ES_OK);
            CHECK(strstr(msg, want) != NULL);
            if (!strstr(msg, want))
                fprintf(stderr, "block %d: got \"%s\", want \"%s\"\n", blocks[b], msg, want);
            int64_t n = -1;
            es_sql_result r = ES_SQL_RESULT_INIT;
            CHECK_OK(es_sql_exec(q, "SELECT count(*) FROM t", &r)); /* nothing half-loaded */
            struct ArrowArray a;
            if (r.stream.get_next(&r.stream, &a) == 0 && a.release) {
                n = ((const int64_t *)a.children[0]->buffers[1])[0];
                a.release(&a);
            }
            es_sql_result_reset(&r);
            CHECK_EQ_INT(n, 0);
            close_session(s, q);
        }
    }
    /* A quote left open at the end, with a cut just before it. */
    FILE *f = fopen(path, "w");
    for (int i = 0; i < 100; i++)
        fprintf(f, "%d,n,1\n", i);
    fputs("100,\"open\nstill open\n", f);
    fclose(f);
    for (int block = 5; block <= 700; block += 695) {
        es_store *s = NULL;
        es_sql_session *q = session(&s, "open", 2, block);
        CHECK_OK(run(q, "CREATE TABLE t (id BIGINT PRIMARY KEY, note VARCHAR, amount DOUBLE)", NULL,
                     0, NULL));
        snprintf(sql, sizeof sql, "COPY t FROM '%s'", path);
        CHECK(run(q, sql, msg, sizeof msg, NULL) != ES_OK);
        snprintf(want, sizeof want, "%s:101: unterminated quoted field", path);
        CHECK(strstr(msg, want) != NULL);
        if (!strstr(msg, want))
            fprintf(stderr, "block %d: got \"%s\", want \"%s\"\n", block, msg, want);
        close_session(s, q);
    }
    unlink(path);
}

/* DOUBLE fields read exactly as strtod reads them: plain decimals of up to 15 digits take a
 * fast path (value.c fast_double), longer ones and other forms the general one. */
static void test_doubles(void)
{
    enum { N = 5000 };
    static char text[N][48];
    char path[256];
    snprintf(path, sizeof path, "%s/doubles.csv", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    const char *edge[] = {"0",
                          "-0",
                          "-0.0",
                          "+5",
                          "5.5",
                          "007.25",
                          "0.1",
                          "999999999999999",
                          "99999999999999.9",
                          "9999999999999999",
                          "1234567890.123456",
                          "0.000000000000001",
                          "1e5",
                          ".5",
                          "5.",
                          "-1.5E-3",
                          " 2.5",
                          "3.25 "};
    for (int i = 0; i < N; i++) {
        if (i < (int)(sizeof edge / sizeof *edge)) {
            snprintf(text[i], sizeof text[i], "%s", edge[i]);
        } else {
            int ni = 1 + rn(10), nf = rn(10), k = 0;
            if (rn(3) == 0)
                text[i][k++] = rn(2) ? '-' : '+';
            for (int d = 0; d < ni; d++)
                text[i][k++] = (char)('0' + rn(10));
            if (nf) {
                text[i][k++] = '.';
                for (int d = 0; d < nf; d++)
                    text[i][k++] = (char)('0' + rn(10));
            }
            text[i][k] = 0;
        }
        fprintf(f, "%d,%s\n", i, text[i]);
    }
    fclose(f);
    es_store *s = NULL;
    es_sql_session *q = session(&s, "doubles", 2, 0);
    char sql[512], msg[512];
    CHECK_OK(run(q, "CREATE TABLE d (id INT PRIMARY KEY, x DOUBLE)", NULL, 0, NULL));
    snprintf(sql, sizeof sql, "COPY d FROM '%s'", path);
    CHECK_OK(run(q, sql, msg, sizeof msg, NULL));
    es_sql_result r = ES_SQL_RESULT_INIT;
    int64_t seen = 0, bad = 0;
    CHECK_OK(es_sql_exec(q, "SELECT id, x FROM d ORDER BY id", &r));
    for (;;) {
        struct ArrowArray a;
        if (r.stream.get_next(&r.stream, &a) != 0 || !a.release)
            break;
        const int32_t *id = a.children[0]->buffers[1];
        const double *x = a.children[1]->buffers[1];
        for (int64_t i = 0; i < a.length; i++, seen++) {
            double want = strtod(text[id[i]], NULL);
            if (memcmp(&want, &x[i], sizeof want) != 0 && bad++ < 5)
                fprintf(stderr, "'%s': %.17g, strtod %.17g\n", text[id[i]], x[i], want);
        }
        a.release(&a);
    }
    es_sql_result_reset(&r);
    CHECK_EQ_INT(seen, N);
    CHECK_EQ_INT(bad, 0);
    close_session(s, q);
    unlink(path);
}

/* TIMESTAMP fields of the form "YYYY-MM-DD HH:MM:SS" (value.c fast_timestamp) read as the
 * general parser reads the same instant written with a fraction ".0"; invalid dates and times
 * are refused in both forms. */
static void test_timestamps(void)
{
    enum { N = 2000 };
    char path[256], sql[512], msg[512];
    snprintf(path, sizeof path, "%s/ts.csv", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    for (int i = 0; i < N; i++) {
        int y = 1 + rn(9999), m = 1 + rn(12), d = 1 + rn(mdays[m - 1]);
        if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
            d = 28;
        char ts[96];
        snprintf(ts, sizeof ts, "%04d-%02d-%02d%c%02d:%02d:%02d", y, m, d, rn(4) ? ' ' : 'T',
                 rn(24), rn(60), rn(61));
        fprintf(f, "%d,%s,%s.0\n", i, ts, ts);
    }
    fclose(f);
    es_store *s = NULL;
    es_sql_session *q = session(&s, "ts", 2, 0);
    CHECK_OK(
        run(q, "CREATE TABLE ts (id INT PRIMARY KEY, a TIMESTAMP, b TIMESTAMP)", NULL, 0, NULL));
    snprintf(sql, sizeof sql, "COPY ts FROM '%s'", path);
    CHECK_OK(run(q, sql, msg, sizeof msg, NULL));
    es_sql_result r = ES_SQL_RESULT_INIT;
    CHECK_OK(es_sql_exec(q, "SELECT count(*) FROM ts WHERE a = b", &r));
    struct ArrowArray a;
    if (r.stream.get_next(&r.stream, &a) == 0 && a.release) {
        CHECK_EQ_INT(((const int64_t *)a.children[0]->buffers[1])[0], N);
        a.release(&a);
    }
    es_sql_result_reset(&r);
    const char *bad[] = {"2023-02-29 00:00:00", "2024-13-01 00:00:00", "2024-04-31 00:00:00",
                         "2024-01-01 24:00:00", "2024-01-01 00:60:00", "2024-01-01 00:00:61",
                         "2024-00-10 00:00:00", "2024-01-00 00:00:00", "2024-01-0a 00:00:00"};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        snprintf(sql, sizeof sql, "SELECT CAST('%s' AS TIMESTAMP)", bad[k]);
        CHECK(run(q, sql, NULL, 0, NULL) != ES_OK);
        snprintf(sql, sizeof sql, "SELECT CAST('%s.0' AS TIMESTAMP)", bad[k]);
        CHECK(run(q, sql, NULL, 0, NULL) != ES_OK);
    }
    close_session(s, q);
    unlink(path);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/test_csv_load_%d", (int)getpid());
    char cmd[256];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    if (system(cmd) != 0)
        return 1;
    test_same_rows();
    test_file_order();
    test_errors();
    test_doubles();
    test_timestamps();
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    unsetenv("ES_CSV_BLOCK");
    return CHECK_DONE();
}
