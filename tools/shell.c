/*
 * shell: the `expstore` SQL shell. `expstore [STORE] [-c SQL] [-f FILE]`.
 *
 * Above the library's public API only (see sql.h for the SQL layers). Reads statements from
 * -c, -f, an interactive prompt (libedit: line editing, history in ~/.expstore_history,
 * multi-line statements ended by ';') or piped stdin; handles dot-commands; prints results
 * as an aligned table, CSV or JSON.
 *
 * libedit is loaded with dlopen when the prompt starts, not linked: `expstore -c` and scripts
 * never use it and should not pay for it (and libbsd, libmd, libtinfo) at start-up. Without
 * libedit the prompt still works, with plain line input and no history.
 */
#include <dlfcn.h>
#include <editline/readline.h>
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "sql/exec.h"
#include "tools.h"

enum { MODE_TABLE = 0, MODE_CSV, MODE_JSON };

typedef struct shell {
    sql_session sess;
    int mode;
    int timer;
    int quit;
    int interactive;
    const char *store_uri;
} shell;

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* User and system CPU seconds of the process so far. */
static void cpu_sec(double *user, double *sys)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
    *sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* ------------------------------------------------------------- output */

static int64_t display_width(const char *p, int64_t len)
{
    int64_t w = 0;
    for (int64_t i = 0; i < len; i++)
        w += ((unsigned char)p[i] & 0xC0) != 0x80;
    return w;
}

static int right_align(sql_type t)
{
    return t != SQL_VARCHAR && t != SQL_BLOB && t != SQL_DATE && t != SQL_TIMESTAMP &&
           t != SQL_TIMESTAMPTZ && t != SQL_BOOL;
}

static void put_cell(FILE *f, const char *p, int64_t len, int64_t width, int right)
{
    /* Control characters (newlines in values) are shown as spaces to keep the grid. */
    int64_t pad = width - display_width(p, len);
    if (right)
        for (int64_t k = 0; k < pad; k++)
            fputc(' ', f);
    for (int64_t i = 0; i < len; i++)
        fputc(((unsigned char)p[i] < 0x20) ? ' ' : p[i], f);
    if (!right)
        for (int64_t k = 0; k < pad; k++)
            fputc(' ', f);
}

static void print_sep(FILE *f, const int64_t *w, int n)
{
    for (int c = 0; c < n; c++) {
        fputc('+', f);
        for (int64_t k = 0; k < w[c] + 2; k++)
            fputc('-', f);
    }
    fputs("+\n", f);
}

static void print_table(FILE *f, const sql_result *r)
{
    int64_t *w = es_calloc((size_t)(r->ncols ? r->ncols : 1), sizeof(int64_t));
    if (!w)
        return;
    char buf[256];
    for (int c = 0; c < r->ncols; c++) {
        w[c] = display_width(r->names[c], (int64_t)strlen(r->names[c]));
        for (int64_t i = 0; i < r->nrows; i++) {
            int64_t len;
            const char *p = sql_vec_format(&r->cols[c], i, buf, sizeof buf, &len);
            int64_t dw = display_width(p, len);
            if (dw > w[c])
                w[c] = dw;
        }
    }
    print_sep(f, w, r->ncols);
    for (int c = 0; c < r->ncols; c++) {
        fputs("| ", f);
        put_cell(f, r->names[c], (int64_t)strlen(r->names[c]), w[c], 0);
        fputc(' ', f);
    }
    fputs("|\n", f);
    print_sep(f, w, r->ncols);
    for (int64_t i = 0; i < r->nrows; i++) {
        for (int c = 0; c < r->ncols; c++) {
            int64_t len;
            const char *p = sql_vec_format(&r->cols[c], i, buf, sizeof buf, &len);
            fputs("| ", f);
            put_cell(f, p, len, w[c], right_align(r->cols[c].ty.t));
            fputc(' ', f);
        }
        fputs("|\n", f);
    }
    print_sep(f, w, r->ncols);
    es_free(w);
}

static void json_string(FILE *f, const char *p, int64_t len)
{
    fputc('"', f);
    for (int64_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c == '\r')
            fputs("\\r", f);
        else if (c == '\t')
            fputs("\\t", f);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void print_json(FILE *f, const sql_result *r)
{
    char buf[256];
    if (r->nrows == 0) {
        fputs("[]\n", f);
        return;
    }
    for (int64_t i = 0; i < r->nrows; i++) {
        fputs(i ? ",\n{" : "[{", f);
        for (int c = 0; c < r->ncols; c++) {
            const sql_vec *v = &r->cols[c];
            if (c)
                fputc(',', f);
            json_string(f, r->names[c], (int64_t)strlen(r->names[c]));
            fputc(':', f);
            if (v->nulls[i]) {
                fputs("null", f);
                continue;
            }
            int64_t len;
            const char *p = sql_vec_format(v, i, buf, sizeof buf, &len);
            int quoted = !right_align(v->ty.t) && v->ty.t != SQL_BOOL;
            if ((v->ty.t == SQL_REAL || v->ty.t == SQL_DOUBLE) &&
                (strcmp(p, "NaN") == 0 || strstr(p, "Inf")))
                quoted = 1;
            if (quoted)
                json_string(f, p, len);
            else
                fwrite(p, 1, (size_t)len, f);
        }
        fputc('}', f);
    }
    fputs("]\n", f);
}

static void print_result(shell *sh, const sql_result *r)
{
    if (r->ncols == 0)
        return;
    switch (sh->mode) {
    case MODE_CSV:
        sql_csv_write(stdout, r, ',', 1);
        break;
    case MODE_JSON:
        print_json(stdout, r);
        break;
    default:
        print_table(stdout, r);
    }
    fflush(stdout);
}

/* Print an error with the source line and a caret under position pos. */
static void print_error(const char *src, int pos, const char *msg)
{
    fprintf(stderr, "Error: %s\n", msg);
    if (pos < 0 || !src)
        return;
    int ls = pos, le = pos;
    while (ls > 0 && src[ls - 1] != '\n')
        ls--;
    while (src[le] && src[le] != '\n')
        le++;
    fprintf(stderr, "  %.*s\n  ", le - ls, src + ls);
    for (int i = ls; i < pos; i++)
        fputc(src[i] == '\t' ? '\t' : ' ', stderr);
    fputs("^\n", stderr);
}

/* ------------------------------------------------------- dot-commands */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int show_schema(shell *sh, const char *table)
{
    es_table_info info;
    memset(&info, 0, sizeof info);
    if (es_table_describe(sh->sess.store, table, -1, &info) != ES_OK) {
        fprintf(stderr, "Error: %s\n", es_store_errmsg(sh->sess.store));
        return -1;
    }
    printf("CREATE TABLE %s (", table);
    for (int64_t i = 0; i < info.schema.n_children; i++) {
        const struct ArrowSchema *c = info.schema.children[i];
        sql_typeinfo ti;
        char tn[64];
        if (sql_type_from_arrow(&ti, c->format) < 0)
            snprintf(tn, sizeof tn, "/* arrow %s */", c->format);
        else
            sql_typeinfo_name(tn, sizeof tn, &ti);
        printf("%s%s %s%s", i ? ", " : "", c->name, tn,
               (c->flags & ARROW_FLAG_NULLABLE) ? "" : " NOT NULL");
    }
    if (info.primary_key)
        printf(", PRIMARY KEY (%s)", info.primary_key);
    printf(");\n");
    es_table_info_reset(&info);
    return 0;
}

static int dot_command(shell *sh, const char *line)
{
    char cmd[64] = "", arg[256] = "";
    int n = sscanf(line, " .%63s %255s", cmd, arg);
    if (n < 1) {
        fprintf(stderr, "Error: empty dot-command\n");
        return -1;
    }
    if (strcmp(cmd, "quit") == 0 || strcmp(cmd, "exit") == 0 || strcmp(cmd, "q") == 0) {
        sh->quit = 1;
        return 0;
    }
    if (strcmp(cmd, "help") == 0) {
        printf(".help                  show this message\n"
               ".tables                list tables\n"
               ".schema [TABLE]        show CREATE TABLE statements\n"
               ".mode table|csv|json   output mode\n"
               ".timer on|off          time each statement\n"
               ".version               latest committed version of the store\n"
               ".quit                  exit\n"
               "SQL: CREATE TABLE, DROP TABLE, INSERT INTO ... VALUES, COPY t FROM 'f.csv' "
               "(HEADER, DELIMITER ','),\n"
               "     COPY (SELECT ...) TO 'f.csv'|'f.arrow', SELECT ... [AS OF VERSION n], "
               "EXPLAIN SELECT ...\n");
        return 0;
    }
    if (strcmp(cmd, "mode") == 0) {
        if (n < 2) {
            printf("%s\n", sh->mode == MODE_CSV ? "csv" : sh->mode == MODE_JSON ? "json" : "table");
            return 0;
        }
        if (strcmp(arg, "table") == 0 || strcmp(arg, "box") == 0)
            sh->mode = MODE_TABLE;
        else if (strcmp(arg, "csv") == 0)
            sh->mode = MODE_CSV;
        else if (strcmp(arg, "json") == 0)
            sh->mode = MODE_JSON;
        else {
            fprintf(stderr, "Error: unknown mode '%s' (table, csv or json)\n", arg);
            return -1;
        }
        return 0;
    }
    if (strcmp(cmd, "version") == 0) {
        int64_t v = 0;
        if (es_store_version(sh->sess.store, &v) != ES_OK) {
            fprintf(stderr, "Error: %s\n", es_store_errmsg(sh->sess.store));
            return -1;
        }
        printf("%lld\n", (long long)v);
        return 0;
    }
    if (strcmp(cmd, "timer") == 0) {
        if (strcmp(arg, "on") == 0)
            sh->timer = 1;
        else if (strcmp(arg, "off") == 0)
            sh->timer = 0;
        else {
            fprintf(stderr, "Error: .timer on|off\n");
            return -1;
        }
        return 0;
    }
    if (strcmp(cmd, "tables") == 0 || strcmp(cmd, "schema") == 0) {
        if (strcmp(cmd, "schema") == 0 && n >= 2)
            return show_schema(sh, arg);
        char **names = NULL;
        int64_t cnt = 0;
        if (es_table_list(sh->sess.store, &names, &cnt) != ES_OK) {
            fprintf(stderr, "Error: %s\n", es_store_errmsg(sh->sess.store));
            return -1;
        }
        qsort(names, (size_t)cnt, sizeof(char *), cmp_str);
        int rc = 0;
        for (int64_t i = 0; i < cnt; i++) {
            if (strcmp(cmd, "tables") == 0)
                printf("%s\n", names[i]);
            else if (show_schema(sh, names[i]) < 0)
                rc = -1;
        }
        es_strings_free(names, cnt);
        return rc;
    }
    fprintf(stderr, "Error: unknown command .%s (try .help)\n", cmd);
    return -1;
}

/* ------------------------------------------------------------ scripts */

/* Run all statements and dot-commands of src. stop: stop at the first error. Returns the
 * number of failed statements. */
static int run_script(shell *sh, const char *src, int stop)
{
    int n = (int)strlen(src), pos = 0, failed = 0;
    sql_arena arena = {0};
    while (pos < n && !sh->quit) {
        /* A dot-command: a line starting with '.' (outside a statement). */
        int i = pos;
        for (;;) {
            while (i < n && (src[i] == ' ' || src[i] == '\t' || src[i] == '\n' || src[i] == '\r'))
                i++;
            if (i + 1 < n && src[i] == '-' && src[i + 1] == '-') {
                while (i < n && src[i] != '\n')
                    i++;
                continue;
            }
            break;
        }
        if (i < n && src[i] == '.' && (i + 1 >= n || src[i + 1] < '0' || src[i + 1] > '9')) {
            int e = i;
            while (e < n && src[e] != '\n')
                e++;
            char line[512];
            snprintf(line, sizeof line, "%.*s", e - i, src + i);
            if (dot_command(sh, line) < 0) {
                failed++;
                if (stop)
                    break;
            }
            pos = e;
            continue;
        }
        sql_stmt *st;
        sql_parse_error perr;
        int start = pos;
        int rc = sql_parse_one(&arena, src, n, &pos, &st, &perr);
        (void)start;
        if (rc == 1)
            break;
        if (rc < 0) {
            int line, col;
            char msg[400];
            sql_line_col(src, perr.pos, &line, &col);
            snprintf(msg, sizeof msg, "%d:%d: %s", line, col, perr.msg);
            print_error(src, perr.pos, msg);
            failed++;
            sql_arena_reset(&arena);
            if (stop)
                break;
            continue;
        }
        double t0 = now_sec(), u0, s0;
        cpu_sec(&u0, &s0);
        sql_result res;
        rc = sql_execute(&sh->sess, src, st, &res);
        if (rc < 0) {
            print_error(src, sh->sess.errpos, sh->sess.err);
            failed++;
        } else {
            print_result(sh, &res);
            if (sh->interactive && res.ncols == 0 && res.nrows >= 0 &&
                (st->kind == S_COPY_FROM || st->kind == S_COPY_TO))
                printf("%lld rows\n", (long long)res.nrows);
        }
        sql_result_free(&res);
        if (sh->timer) {
            double u1, s1;
            cpu_sec(&u1, &s1);
            printf("Run Time: real %.6f user %.6f sys %.6f\n", now_sec() - t0, u1 - u0, s1 - s0);
        }
        fflush(stdout);
        sql_arena_reset(&arena);
        if (rc < 0 && stop)
            break;
    }
    sql_arena_reset(&arena);
    return failed;
}

static char *read_all(FILE *f)
{
    size_t cap = 65536, len = 0;
    char *buf = es_malloc(cap);
    if (!buf)
        return NULL;
    for (;;) {
        if (len + 4096 > cap) {
            char *nb = es_realloc(buf, cap * 2);
            if (!nb) {
                es_free(buf);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
    }
    buf[len] = 0;
    return buf;
}

/* --------------------------------------------------------- interactive */

static void history_path(char *buf, size_t cap)
{
    const char *home = getenv("HOME");
    snprintf(buf, cap, "%s/.expstore_history", home && *home ? home : ".");
}

/* The libedit functions the prompt calls, loaded by load_libedit. */
#define EDIT_FUNCS(X)                                                                              \
    X(readline)                                                                                    \
    X(using_history)                                                                               \
    X(stifle_history)                                                                              \
    X(read_history)                                                                                \
    X(write_history)                                                                               \
    X(add_history)
static struct {
#define EDIT_FIELD(f) __typeof__(f) *f;
    EDIT_FUNCS(EDIT_FIELD)
#undef EDIT_FIELD
} ed;

/* 1 when libedit is loaded; otherwise 0 after a warning on stderr. */
static int load_libedit(void)
{
#define EDIT_SLOT(f) {#f, (void *)&ed.f},
    const struct {
        const char *name;
        void *slot;
    } syms[] = {EDIT_FUNCS(EDIT_SLOT)};
#undef EDIT_SLOT
    void *lib = dlopen("libedit.so.2", RTLD_NOW | RTLD_LOCAL);
    for (size_t i = 0; lib && i < sizeof syms / sizeof syms[0]; i++) {
        void *fn = dlsym(lib, syms[i].name);
        if (!fn)
            lib = NULL;
        else
            memcpy(syms[i].slot, &fn, sizeof fn);
    }
    if (!lib)
        fprintf(stderr, "expstore: no line editing or history (cannot load libedit.so.2: %s)\n",
                dlerror());
    return lib != NULL;
}

/* A line from stdin without its newline (malloc'd, NULL at end of input), when libedit is
 * missing. */
static char *plain_readline(const char *prompt)
{
    fputs(prompt, stdout);
    fflush(stdout);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        return NULL;
    }
    if (n > 0 && line[n - 1] == '\n')
        line[n - 1] = 0;
    return line;
}

static int interactive(shell *sh)
{
    char hist[1024];
    history_path(hist, sizeof hist);
    int edit = load_libedit();
    if (edit) {
        ed.using_history();
        ed.stifle_history(1000);
        ed.read_history(hist);
    }
    printf("expstore %s: %s. Enter \".help\" for usage hints.\n", ES_VERSION_STRING, sh->store_uri);
    char *acc = NULL;
    size_t acclen = 0;
    while (!sh->quit) {
        const char *prompt = acc ? "     ...> " : "expstore> ";
        char *line = edit ? ed.readline(prompt) : plain_readline(prompt);
        if (!line) {
            if (!acc)
                printf("\n");
            break;
        }
        if (!acc) {
            const char *p = line;
            while (*p == ' ' || *p == '\t')
                p++;
            if (*p == 0) {
                free(line);
                continue;
            }
            if (*p == '.') {
                if (edit) {
                    ed.add_history(line);
                    ed.write_history(hist);
                }
                dot_command(sh, p);
                free(line);
                continue;
            }
        }
        size_t l = strlen(line);
        char *na = es_realloc(acc, acclen + l + 2);
        if (!na) {
            free(line);
            break;
        }
        acc = na;
        memcpy(acc + acclen, line, l);
        acclen += l;
        acc[acclen++] = '\n';
        acc[acclen] = 0;
        free(line);
        if (!sql_is_complete(acc, (int)acclen))
            continue;
        /* History keeps the statement on one line. */
        char *h = edit ? es_strdup(acc) : NULL;
        if (h) {
            for (char *c = h; *c; c++)
                if (*c == '\n')
                    *c = ' ';
            size_t hl = strlen(h);
            while (hl > 0 && h[hl - 1] == ' ')
                h[--hl] = 0;
            ed.add_history(h);
            ed.write_history(hist);
            es_free(h);
        }
        run_script(sh, acc, 0);
        es_free(acc);
        acc = NULL;
        acclen = 0;
    }
    es_free(acc);
    if (edit)
        ed.write_history(hist);
    return 0;
}

/* ---------------------------------------------------------------- main */

static void usage(FILE *f, const char *prog)
{
    fprintf(f,
            "usage: %s [STORE] [-c SQL] [-f FILE] [-csv|-json|-table]\n"
            "  STORE  a directory (default ./expstore-data, created if missing), file://path,\n"
            "         s3://bucket/prefix or mem://name\n"
            "  -c SQL run the statements in SQL and exit (non-zero status on the first error)\n"
            "  -f F   run the statements in file F and exit\n"
            "With neither, reads statements from the terminal (interactive) or from stdin.\n",
            prog);
}

int es_shell_main(int argc, char **argv)
{
    shell sh;
    memset(&sh, 0, sizeof sh);
    /* Batches allocate and free many large vectors: keep them in the heap rather than
     * mapping fresh (zeroed) pages for each one. */
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    const char *uri = NULL, *cmd = NULL, *file = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-c") == 0 && i + 1 < argc) {
            cmd = argv[++i];
        } else if (strcmp(a, "-f") == 0 && i + 1 < argc) {
            file = argv[++i];
        } else if (strcmp(a, "-csv") == 0 || strcmp(a, "--csv") == 0) {
            sh.mode = MODE_CSV;
        } else if (strcmp(a, "-json") == 0 || strcmp(a, "--json") == 0) {
            sh.mode = MODE_JSON;
        } else if (strcmp(a, "-table") == 0 || strcmp(a, "--table") == 0) {
            sh.mode = MODE_TABLE;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout, argv[0]);
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            printf("expstore %s\n", ES_VERSION_STRING);
            return 0;
        } else if (a[0] == '-' || uri) {
            usage(stderr, argv[0]);
            return 2;
        } else {
            uri = a;
        }
    }
    if (!uri)
        uri = "./expstore-data";
    sh.store_uri = uri;
    es_store *store = NULL;
    es_status st = es_store_open(&store, uri, NULL);
    if (st != ES_OK) {
        fprintf(stderr, "Error: cannot open store %s: %s\n", uri,
                store ? es_store_errmsg(store) : es_status_name(st));
        es_store_close(store);
        return 1;
    }
    /* A warning from opening (a damaged log, no conditional puts): reads still work. */
    if (es_store_errmsg(store)[0])
        fprintf(stderr, "%s\n", es_store_errmsg(store));
    sh.sess.store = store;
    sh.sess.out = stdout;
    sh.sess.progress = isatty(2);
    int failed = 0;
    if (cmd) {
        failed = run_script(&sh, cmd, 1);
    }
    if (file && !failed) {
        FILE *f = fopen(file, "rb");
        if (!f) {
            fprintf(stderr, "Error: cannot open %s: %s\n", file, strerror(errno));
            failed = 1;
        } else {
            char *src = read_all(f);
            fclose(f);
            if (!src) {
                fprintf(stderr, "Error: out of memory reading %s\n", file);
                failed = 1;
            } else {
                failed = run_script(&sh, src, 1);
                es_free(src);
            }
        }
    }
    if (!cmd && !file) {
        if (isatty(0)) {
            sh.interactive = 1;
            interactive(&sh);
        } else {
            char *src = read_all(stdin);
            if (!src) {
                fprintf(stderr, "Error: out of memory reading stdin\n");
                failed = 1;
            } else {
                failed = run_script(&sh, src, 0);
                es_free(src);
            }
        }
    }
    es_store_close(store);
    return failed ? 1 : 0;
}
