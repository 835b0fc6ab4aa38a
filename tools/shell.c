/*
 * shell: the `expstore` SQL shell. `expstore [STORE] [-c SQL] [-f FILE]`.
 *
 * Above the library's public API only (expstore/expstore.h, expstore/arrow.h and the SQL API
 * expstore/sql.h). Reads statements from -c, -f, an interactive prompt (libedit: line editing,
 * history in ~/.expstore_history, multi-line statements ended by ';') or piped stdin; runs them
 * one at a time with es_sql_exec_next; handles dot-commands; prints results, read as Arrow
 * record batches, as an aligned table, CSV or JSON.
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

#include "expstore/arrow.h"
#include "expstore/expstore.h"
#include "expstore/sql.h"
#include "tools.h"

enum { MODE_TABLE = 0, MODE_CSV, MODE_JSON };

typedef struct shell {
    es_store *store;
    es_sql_session *q;
    int mode;
    int timer;
    int quit;
    int interactive;
    int progress_shown;
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

/* The rows of a result: its schema, its record batches and their validated views. */
typedef struct result_rows {
    struct ArrowSchema schema;
    es_type *types; /* of the columns */
    int ncols;
    struct ArrowArray *batches;
    es_array_view *views;
    int64_t n, cap;
} result_rows;

static void rows_free(result_rows *r)
{
    for (int64_t b = 0; b < r->n; b++) {
        es_array_view_reset(&r->views[b]);
        es_array_release(&r->batches[b]);
    }
    es_free(r->batches);
    es_free(r->views);
    es_free(r->types);
    es_schema_release(&r->schema);
    memset(r, 0, sizeof *r);
}

/* Read every batch of a result's stream (before printing, so that an error half-way prints
 * nothing but the error). 0, or -1 when the stream failed (the session holds the error). */
static int rows_read(result_rows *r, struct ArrowArrayStream *s)
{
    memset(r, 0, sizeof *r);
    if (s->get_schema(s, &r->schema) != 0)
        return -1;
    r->ncols = (int)r->schema.n_children;
    r->types = es_calloc((size_t)(r->ncols ? r->ncols : 1), sizeof(es_type));
    if (!r->types)
        return -1;
    for (int c = 0; c < r->ncols; c++)
        es_type_parse(&r->types[c], r->schema.children[c]->format, NULL);
    for (;;) {
        if (r->n == r->cap) {
            int64_t cap = r->cap ? r->cap * 2 : 16;
            struct ArrowArray *nb = es_realloc(r->batches, sizeof *nb * (size_t)cap);
            if (nb)
                r->batches = nb;
            es_array_view *nv = es_realloc(r->views, sizeof *nv * (size_t)cap);
            if (nv)
                r->views = nv;
            if (!nb || !nv)
                return -1;
            r->cap = cap;
        }
        struct ArrowArray *a = &r->batches[r->n];
        if (s->get_next(s, a) != 0)
            return -1;
        if (!a->release)
            return 0;
        if (es_array_view_init(&r->views[r->n], &r->schema, a, NULL) != ES_OK) {
            es_array_release(a);
            return -1;
        }
        r->n++;
    }
}

static int right_align(es_type_id t)
{
    return t != ES_TYPE_UTF8 && t != ES_TYPE_LARGE_UTF8 && t != ES_TYPE_BINARY &&
           t != ES_TYPE_LARGE_BINARY && t != ES_TYPE_FIXED_BINARY && t != ES_TYPE_DATE32 &&
           t != ES_TYPE_DATE64 && t != ES_TYPE_TIMESTAMP && t != ES_TYPE_BOOL;
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

static const char *name_of(const result_rows *r, int c)
{
    const char *name = r->schema.children[c]->name;
    return name ? name : "";
}

static void print_table(FILE *f, const result_rows *r)
{
    int64_t *w = es_calloc((size_t)(r->ncols ? r->ncols : 1), sizeof(int64_t));
    if (!w)
        return;
    char buf[256];
    for (int c = 0; c < r->ncols; c++) {
        w[c] = display_width(name_of(r, c), (int64_t)strlen(name_of(r, c)));
        for (int64_t b = 0; b < r->n; b++) {
            const es_array_view *col = &r->views[b].children[c];
            for (int64_t i = 0; i < col->length; i++) {
                int64_t len;
                const char *p = es_sql_format_value(col, i, buf, sizeof buf, &len);
                int64_t dw = display_width(p, len);
                if (dw > w[c])
                    w[c] = dw;
            }
        }
    }
    print_sep(f, w, r->ncols);
    for (int c = 0; c < r->ncols; c++) {
        fputs("| ", f);
        put_cell(f, name_of(r, c), (int64_t)strlen(name_of(r, c)), w[c], 0);
        fputc(' ', f);
    }
    fputs("|\n", f);
    print_sep(f, w, r->ncols);
    for (int64_t b = 0; b < r->n; b++) {
        for (int64_t i = 0; i < r->views[b].length; i++) {
            for (int c = 0; c < r->ncols; c++) {
                int64_t len;
                const char *p =
                    es_sql_format_value(&r->views[b].children[c], i, buf, sizeof buf, &len);
                fputs("| ", f);
                put_cell(f, p, len, w[c], right_align(r->types[c].id));
                fputc(' ', f);
            }
            fputs("|\n", f);
        }
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

static void print_json(FILE *f, const result_rows *r)
{
    char buf[256];
    int64_t row = 0;
    for (int64_t b = 0; b < r->n; b++) {
        for (int64_t i = 0; i < r->views[b].length; i++, row++) {
            fputs(row ? ",\n{" : "[{", f);
            for (int c = 0; c < r->ncols; c++) {
                const es_array_view *col = &r->views[b].children[c];
                es_type_id t = r->types[c].id;
                if (c)
                    fputc(',', f);
                json_string(f, name_of(r, c), (int64_t)strlen(name_of(r, c)));
                fputc(':', f);
                if (es_view_is_null(col, i)) {
                    fputs("null", f);
                    continue;
                }
                int64_t len;
                const char *p = es_sql_format_value(col, i, buf, sizeof buf, &len);
                int quoted = !right_align(t) && t != ES_TYPE_BOOL;
                if ((t == ES_TYPE_FLOAT32 || t == ES_TYPE_FLOAT64) &&
                    (strcmp(p, "NaN") == 0 || strstr(p, "Inf")))
                    quoted = 1;
                if (quoted)
                    json_string(f, p, len);
                else
                    fwrite(p, 1, (size_t)len, f);
            }
            fputc('}', f);
        }
    }
    fputs(row ? "]\n" : "[]\n", f);
}

static void print_result(shell *sh, const result_rows *r)
{
    switch (sh->mode) {
    case MODE_CSV:
        if (r->n == 0)
            es_sql_write_csv(stdout, &r->schema, NULL, ',', 1);
        for (int64_t b = 0; b < r->n; b++)
            es_sql_write_csv(stdout, &r->schema, &r->batches[b], ',', b == 0);
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

/* Print the session's last error ("LINE:COL: message" with a caret under that position of src
 * when it has one). */
static void print_sql_error(shell *sh, const char *src)
{
    int line = es_sql_errline(sh->q), col = es_sql_errcol(sh->q);
    if (line <= 0) {
        print_error(src, -1, es_sql_errmsg(sh->q));
        return;
    }
    char msg[1100];
    snprintf(msg, sizeof msg, "%d:%d: %s", line, col, es_sql_errmsg(sh->q));
    int pos = 0;
    for (int l = 1; l < line && src[pos]; pos++)
        if (src[pos] == '\n')
            l++;
    print_error(src, pos + col - 1, msg);
}

/* COPY FROM a large CSV file: a progress bar on stderr. */
static void show_progress(void *arg, int64_t done, int64_t total, int64_t nrows, int end)
{
    shell *sh = arg;
    if (end < 0) {
        if (sh->progress_shown)
            fprintf(stderr, "\n");
        sh->progress_shown = 0;
        return;
    }
    if (total < (64 << 20))
        return;
    int pct = (int)(done * 100 / (total ? total : 1));
    if (end)
        pct = 100;
    int w = 40, fillw = pct * w / 100;
    char bar[64];
    for (int i = 0; i < w; i++)
        bar[i] = i < fillw ? '#' : '.';
    bar[w] = 0;
    fprintf(stderr, "\r[%s] %3d%% %lld rows%s", bar, pct, (long long)nrows, end ? "\n" : "");
    fflush(stderr);
    sh->progress_shown = !end;
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
    if (es_table_describe(sh->store, table, -1, &info) != ES_OK) {
        fprintf(stderr, "Error: %s\n", es_store_errmsg(sh->store));
        return -1;
    }
    printf("CREATE TABLE %s (", table);
    for (int64_t i = 0; i < info.schema.n_children; i++) {
        const struct ArrowSchema *c = info.schema.children[i];
        char tn[64];
        if (es_sql_type_name(tn, sizeof tn, c->format) != ES_OK)
            snprintf(tn, sizeof tn, "/* arrow %s */", c->format);
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
        if (es_store_version(sh->store, &v) != ES_OK) {
            fprintf(stderr, "Error: %s\n", es_store_errmsg(sh->store));
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
        if (es_table_list(sh->store, &names, &cnt) != ES_OK) {
            fprintf(stderr, "Error: %s\n", es_store_errmsg(sh->store));
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
    int n = (int)strlen(src), failed = 0;
    size_t pos = 0;
    while ((int)pos < n && !sh->quit) {
        /* A dot-command: a line starting with '.' (outside a statement). */
        int i = (int)pos;
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
            pos = (size_t)e;
            continue;
        }
        double t0 = now_sec(), u0, s0;
        cpu_sec(&u0, &s0);
        es_sql_result res = ES_SQL_RESULT_INIT;
        es_status st = es_sql_exec_next(sh->q, src, (size_t)n, &pos, &res);
        if (st == ES_OK && !res.kind[0])
            break; /* only comments left */
        if (st != ES_OK && !res.kind[0]) {
            /* A syntax error: nothing ran. */
            print_sql_error(sh, src);
            failed++;
            if (stop)
                break;
            continue;
        }
        int rc = st == ES_OK ? 0 : -1;
        if (rc == 0 && res.has_rows) {
            result_rows r;
            rc = rows_read(&r, &res.stream);
            if (rc == 0)
                print_result(sh, &r);
            rows_free(&r);
        }
        if (rc < 0) {
            print_sql_error(sh, src);
            failed++;
        } else if (sh->interactive && !res.has_rows && res.changes >= 0 &&
                   strcmp(res.kind, "COPY") == 0) {
            printf("%lld rows\n", (long long)res.changes);
        }
        es_sql_result_reset(&res);
        if (sh->timer) {
            double u1, s1;
            cpu_sec(&u1, &s1);
            printf("Run Time: real %.6f user %.6f sys %.6f\n", now_sec() - t0, u1 - u0, s1 - s0);
        }
        fflush(stdout);
        if (rc < 0 && stop)
            break;
    }
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
        if (!es_sql_complete(acc))
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
    sh.store = store;
    if (es_sql_session_open(&sh.q, store) != ES_OK) {
        fprintf(stderr, "Error: out of memory\n");
        es_store_close(store);
        return 1;
    }
    if (isatty(2))
        es_sql_session_set_progress(sh.q, show_progress, &sh);
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
    es_sql_session_close(sh.q);
    es_store_close(store);
    return failed ? 1 : 0;
}
