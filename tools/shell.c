/*
 * shell: the `expstore` SQL shell, `expstore [STORE] [OPTIONS]` (see shell.h for its files).
 *
 * Above the library's public API only (expstore/expstore.h, expstore/arrow.h and the SQL API
 * expstore/sql.h). Statements come from -c, -f, .read, an interactive prompt (libedit: line
 * editing, history in ~/.expstore_history, multi-line statements ended by ';') or piped stdin.
 * Input is read line by line and each statement runs as soon as it is complete
 * (es_sql_complete), as sqlite3 does, so a producer may feed the shell through a pipe and read
 * each result before it writes the next statement. Statements run one at a time with
 * es_sql_exec_next; results are read as Arrow record batches and printed by shell_print.c; a
 * line starting with '.' outside a statement is a dot-command (shell_dot.c).
 *
 * Errors: a script (stdin, -f, .read) goes on after an error and the shell exits with status 1
 * at the end, unless .bail on / -bail stops it there; -c stops at its first error.
 *
 * Ctrl-C (SIGINT): the handler only counts and calls es_sql_interrupt, so the running statement
 * (a scan, COPY in or out) stops at its next check with "Error: interrupted" and commits
 * nothing; printing stops at the next row. At the prompt the shell then asks for a new
 * statement; in a script it stops reading, with status 1 (at once when the script waits for its
 * next line). At the prompt, Ctrl-C clears the line (and a statement begun on earlier lines).
 * Three Ctrl-C that a running command does not answer end the process. The handler is installed
 * with SA_RESTART, so the library's and stdio's system calls go on; only while the prompt waits for
 * a line is it installed without, so that Ctrl-C returns from the read.
 *
 * libedit is loaded with dlopen when the prompt starts, not linked: `expstore -c` and scripts
 * never use it and should not pay for it (and libbsd, libmd, libtinfo) at start-up. Without
 * libedit the prompt still works, with plain line input and no history.
 */
#include <dlfcn.h>
#include <editline/readline.h>
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "shell.h"
#include "tools.h"

/* The default store: a private in-memory bucket, freed when the shell exits. */
#define TRANSIENT_URI "mem://"

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

/* ------------------------------------------------------------- Ctrl-C */

static volatile sig_atomic_t sigint_count; /* Ctrl-C not answered yet */
static volatile sig_atomic_t busy;         /* a command runs (not waiting for input) */
static volatile sig_atomic_t script_wait;  /* a script (no prompt) waits for its input */
static es_sql_session *volatile sigint_session;

int shell_sigint(void)
{
    return sigint_count > 0;
}

static void on_sigint(int sig)
{
    (void)sig;
    if (sigint_count < 100)
        sigint_count++;
    if (script_wait) {
        /* A script waiting for input (a pipe from a producer that lives on): end now. Output
         * is flushed after each command, so nothing is lost. */
        static const char msg[] = "Error: interrupted\n";
        ssize_t w = write(2, msg, sizeof msg - 1);
        (void)w;
        _exit(1);
    }
    if (!busy)
        return;
    es_sql_session *q = sigint_session;
    if (q)
        es_sql_interrupt(q); /* async-signal-safe: sets atomic flags */
    if (sigint_count >= 3) {
        static const char msg[] = "\nexpstore: interrupted 3 times: exiting\n";
        ssize_t w = write(2, msg, sizeof msg - 1);
        (void)w;
        _exit(130);
    }
}

/* restart: system calls interrupted by Ctrl-C go on (SA_RESTART) rather than fail. */
static void set_sigint(int restart)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigaction(SIGINT, &sa, NULL);
}

/* Ctrl-C stopped what ran: say so (unless the error said it) and stop the input. */
static void note_interrupt(shell *sh, int said)
{
    if (!said)
        fprintf(stderr, "Error: interrupted\n");
    if (!sh->interrupted)
        sh->errors++;
    sh->interrupted = 1;
    clearerr(sh->out); /* a write cut short by the signal */
}

/* ------------------------------------------------------------- errors */

/* Print an error with the source line and a caret under position pos (by display columns:
 * wide and multi-byte characters count as the terminal shows them). Of a long line, only the
 * part around pos, cut at character boundaries and marked with "...". */
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
    int ws = pos - ls > 60 ? pos - 60 : ls, we = le - ws > 120 ? ws + 120 : le;
    while (ws > ls && ws < pos && (src[ws] & 0xC0) == 0x80)
        ws++;
    while (we < le && we > pos && (src[we] & 0xC0) == 0x80)
        we--;
    fprintf(stderr, "  %s%.*s%s\n  %s", ws > ls ? "..." : "", we - ws, src + ws,
            we < le ? "..." : "", ws > ls ? "   " : "");
    for (int i = ws; i < pos;) {
        if (src[i] == '\t') {
            fputc('\t', stderr);
            i++;
            continue;
        }
        int j = i;
        while (j < pos && src[j] != '\t')
            j++;
        int64_t w = display_width(src + i, j - i);
        for (int64_t k = 0; k < w; k++)
            fputc(' ', stderr);
        i = j;
    }
    fputs("^\n", stderr);
}

/* Print the session's last error ("LINE:COL: message" with a caret under that position of src
 * when it has one; LINE counts on from sh->line0 lines before src). An interrupted statement
 * prints "Error: interrupted" and stops the input. */
static void print_sql_error(shell *sh, const char *src)
{
    if (es_sql_errcode(sh->q) == ES_INTERRUPTED) {
        note_interrupt(sh, 0);
        return;
    }
    int line = es_sql_errline(sh->q), col = es_sql_errcol(sh->q);
    if (line <= 0) {
        print_error(src, -1, es_sql_errmsg(sh->q));
        return;
    }
    char msg[1100];
    snprintf(msg, sizeof msg, "%d:%d: %s", line + sh->line0, col, es_sql_errmsg(sh->q));
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

/* ------------------------------------------------------------- stores */

/* Before a store is closed: inserts made with .async on that failed are said (closing waits
 * for them but cannot report). */
static void shell_sync(shell *sh)
{
    if (sh->store && es_store_sync(sh->store, NULL) != ES_OK)
        fprintf(stderr, "Error: %s\n", es_store_errmsg(sh->store));
}

int shell_open(shell *sh, const char *uri)
{
    const char *target = uri ? uri : TRANSIENT_URI;
    es_store *store = NULL;
    es_status st = es_store_open(&store, target, NULL);
    if (st != ES_OK) {
        fprintf(stderr, "Error: cannot open store %s: %s\n", target,
                store ? es_store_errmsg(store) : es_status_name(st));
        es_store_close(store);
        return -1;
    }
    /* A warning from opening (a damaged log, no conditional puts): reads still work. */
    if (es_store_errmsg(store)[0])
        fprintf(stderr, "%s\n", es_store_errmsg(store));
    es_sql_session *q = NULL;
    char *u = es_strdup(target);
    if (!u || es_sql_session_open(&q, store) != ES_OK) {
        fprintf(stderr, "Error: out of memory\n");
        es_free(u);
        es_store_close(store);
        return -1;
    }
    if (isatty(2))
        es_sql_session_set_progress(q, show_progress, sh);
    sigint_session = q;
    if (sh->store && es_txn_active(sh->store, NULL))
        fprintf(stderr, "Warning: the open transaction was rolled back (no COMMIT)\n");
    shell_sync(sh);
    es_sql_session_close(sh->q);
    es_store_close(sh->store);
    es_free(sh->store_uri);
    sh->q = q;
    sh->store = store;
    sh->store_uri = u;
    sh->transient = uri == NULL;
    return 0;
}

/* ---------------------------------------------------------- statements */

/* .once: after the command that follows it, output goes back to stdout. */
static void output_step(shell *sh)
{
    if (sh->once > 0 && --sh->once == 0) {
        if (sh->out != stdout)
            fclose(sh->out);
        sh->out = stdout;
    }
}

/* 1 when the statement text s (up to end) is COPY ... TO: COPY, then a query in parentheses or
 * a table name, then TO (read loosely: comments between the words are not looked for). */
static int is_copy_to(const char *s, const char *end)
{
    for (;;) { /* blanks and -- comments before the statement */
        while (s < end && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
            s++;
        if (end - s < 2 || s[0] != '-' || s[1] != '-')
            break;
        while (s < end && *s != '\n')
            s++;
    }
    if (end - s < 5 || strncasecmp(s, "copy", 4) != 0 || !strchr(" \t\n\r", s[4]))
        return 0;
    for (s += 4; s < end && strchr(" \t\n\r", *s); s++)
        ;
    if (s < end && *s == '(')
        return 1;               /* COPY (SELECT ...) TO */
    if (s < end && *s == '"') { /* a quoted table name; "" inside it is a quote */
        for (s++; s < end && (*s != '"' || (s + 1 < end && s[1] == '"' && s++)); s++)
            ;
        s++;
    } else {
        while (s < end && !strchr(" \t\n\r(;", *s))
            s++;
    }
    while (s < end && strchr(" \t\n\r", *s))
        s++;
    return end - s >= 3 && strncasecmp(s, "to", 2) == 0 && strchr(" \t\n\r'", s[2]);
}

/* Whether to print the rows a statement changed ("3 rows"): after INSERT (and upserts),
 * UPDATE, DELETE, TRUNCATE, COPY and CREATE TABLE AS, from any input (prompt, -c, -f, a
 * pipe), in the modes meant to be read (table, box, markdown, line); in csv, json, list and
 * tabs, whose output other programs read, only at the prompt. COPY ... TO, whose file may be
 * this shell's stdout (COPY t TO '/dev/stdout' in a pipeline), prints it only at the prompt.
 * text: the statement (up to end). */
static int shows_changes(const shell *sh, const es_sql_result *res, const char *text,
                         const char *end)
{
    static const char *const kinds[] = {"INSERT", "UPDATE",       "DELETE", "TRUNCATE",
                                        "COPY",   "CREATE TABLE", NULL};
    if (res->has_rows || res->changes < 0)
        return 0;
    if (!sh->interactive && sh->mode != MODE_TABLE && sh->mode != MODE_BOX &&
        sh->mode != MODE_MARKDOWN && sh->mode != MODE_LINE)
        return 0;
    for (int i = 0; kinds[i]; i++)
        if (strcmp(res->kind, kinds[i]) == 0)
            return sh->interactive || i != 4 || !is_copy_to(text, end);
    return 0;
}

/* Run all statements and dot-commands of src (a -c argument, or a complete statement read
 * from an input). stop: stop at the first error. Failures are counted in sh->errors; returns
 * how many there were. Ctrl-C stops it (sh->interrupted). */
static int run_script(shell *sh, const char *src, int stop)
{
    int n = (int)strlen(src), failed = 0;
    size_t pos = 0;
    while ((int)pos < n && !sh->quit && !sh->interrupted) {
        if (sigint_count) {
            note_interrupt(sh, 0);
            break;
        }
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
            char line[2048];
            snprintf(line, sizeof line, "%.*s", e - i, src + i);
            int rc = dot_command(sh, line);
            output_step(sh);
            fflush(sh->out);
            pos = (size_t)e;
            if (rc < 0) {
                failed++;
                if (stop)
                    break;
            }
            continue;
        }
        double t0 = now_sec(), u0 = 0, s0 = 0;
        if (sh->timer)
            cpu_sec(&u0, &s0); /* a system call: only for .timer on */
        es_sql_result res = ES_SQL_RESULT_INIT;
        size_t start = pos;
        es_status st = es_sql_exec_next(sh->q, src, (size_t)n, &pos, &res);
        if (st == ES_OK && !res.kind[0])
            break; /* only comments left */
        if (st != ES_OK && !res.kind[0]) {
            /* A syntax error: nothing ran. */
            print_sql_error(sh, src);
            failed++;
            output_step(sh);
            if (stop)
                break;
            continue;
        }
        int rc = st == ES_OK ? 0 : -1;
        if (rc == 0 && res.has_rows) {
            result_rows r;
            rc = rows_read(&r, &res.stream);
            int pr = rc == 0 ? print_result(sh, &r, &res.stream) : 0;
            if (pr == -1)
                note_interrupt(sh, 0); /* Ctrl-C while printing */
            else if (pr == -2)
                rc = -1; /* a later page failed */
            rows_free(&r);
        }
        if (rc < 0) {
            print_sql_error(sh, src);
            failed++;
        } else if (shows_changes(sh, &res, src + start, src + pos)) {
            fprintf(sh->out, "%lld row%s\n", (long long)res.changes, res.changes == 1 ? "" : "s");
        }
        es_sql_result_reset(&res);
        if (sh->timer) {
            double u1, s1;
            cpu_sec(&u1, &s1);
            fprintf(sh->out, "Run Time: real %.6f user %.6f sys %.6f\n", now_sec() - t0, u1 - u0,
                    s1 - s0);
        }
        output_step(sh);
        fflush(sh->out);
        if (rc < 0 && stop)
            break;
    }
    if (sigint_count && !sh->interrupted)
        note_interrupt(sh, 0); /* during the last statement, which finished anyway */
    sh->errors += failed;
    return failed;
}

/* ---------------------------------------------------------------- input */

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
static int edit;              /* libedit is loaded */
static int interactive_shell; /* the shell has a prompt (a .read under it must not exit) */
static char hist[1024];       /* the history file */

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

/* A line from f without its newline (malloc'd; NULL at the end of input, or when Ctrl-C
 * interrupted the read). With a prompt, from the terminal: libedit when loaded. */
static char *read_line(FILE *f, const char *prompt)
{
    char *line = NULL;
    busy = 0;
    if (prompt) {
        set_sigint(0); /* Ctrl-C returns from the read */
        if (edit) {
            line = ed.readline(prompt);
            set_sigint(1);
            busy = 1;
            return line;
        }
        fputs(prompt, stdout);
        fflush(stdout);
    }
    size_t cap = 0;
    script_wait = !prompt && !interactive_shell;
    ssize_t n = getline(&line, &cap, f);
    script_wait = 0;
    if (prompt)
        set_sigint(1);
    busy = 1;
    if (n < 0) {
        free(line);
        clearerr(f);
        return NULL;
    }
    if (n > 0 && line[n - 1] == '\n')
        line[--n] = 0;
    if (n > 0 && line[n - 1] == '\r')
        line[--n] = 0;
    return line;
}

/* 1 when a line holds nothing but spaces and comments (-- and complete block comments). */
static int all_whitespace(const char *p)
{
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == '\f')
            p++;
        if (!*p || (p[0] == '-' && p[1] == '-'))
            return 1;
        if (p[0] != '/' || p[1] != '*')
            return 0;
        const char *e = strstr(p + 2, "*/");
        if (!e)
            return 0;
        p = e + 2;
    }
}

static void remember(const char *text)
{
    if (!edit)
        return;
    /* History keeps a statement on one line. */
    char *h = es_strdup(text);
    if (!h)
        return;
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

/* After a command of a script: stop when Ctrl-C stopped it, or when it failed under .bail
 * (errors: the count before it). */
static int script_stops(shell *sh, int errors)
{
    if (sh->interrupted || (sh->bail && sh->errors > errors))
        sh->stop = 1;
    return sh->stop;
}

/* Read statements and dot-commands from f (prompt: from the terminal, interactively) and run
 * each as soon as it is complete. A script stops at a failure when .bail is on, and at Ctrl-C;
 * the prompt goes on after both. */
static void process_input(shell *sh, FILE *f, int prompt)
{
    char *acc = NULL;
    size_t acclen = 0, acccap = 0;
    int lineno = 0, startline = 0;
    while (!sh->quit && !sh->stop) {
        if (prompt) {
            /* A new command: forget what the last one left behind (Ctrl-C, a .read that
             * stopped). */
            sigint_count = 0;
            sh->interrupted = 0;
            sh->stop = 0;
        }
        /* expstore*> while a transaction is open (BEGIN ... COMMIT), as psql marks it. */
        int in_txn = prompt && es_txn_active(sh->store, NULL);
        const char *ps = acclen ? (in_txn ? "      ...> " : "     ...> ")
                                : (in_txn ? "expstore*> " : "expstore> ");
        char *line = read_line(f, prompt ? ps : NULL);
        if (sigint_count) {
            free(line);
            if (prompt) {
                /* Ctrl-C at the prompt: drop the line and the statement begun. */
                fputs("^C\n", stdout);
                fflush(stdout);
                acclen = 0;
                continue;
            }
            note_interrupt(sh, 0);
            sh->stop = 1;
            break;
        }
        if (!line) {
            if (prompt && !acclen)
                printf("\n");
            break;
        }
        lineno++;
        int errors = sh->errors;
        if (!acclen) {
            if (all_whitespace(line)) {
                free(line);
                continue;
            }
            const char *p = line;
            while (*p == ' ' || *p == '\t')
                p++;
            if (*p == '.') {
                if (prompt)
                    remember(line);
                if (dot_command(sh, p) < 0)
                    sh->errors++;
                output_step(sh);
                fflush(sh->out);
                free(line);
                if (sigint_count && !sh->interrupted)
                    note_interrupt(sh, 0);
                if (!prompt && script_stops(sh, errors))
                    break;
                continue;
            }
            startline = lineno;
        }
        size_t l = strlen(line);
        if (acclen + l + 2 > acccap) {
            size_t cap = (acclen + l + 2) * 2;
            char *na = es_realloc(acc, cap);
            if (!na) {
                free(line);
                fprintf(stderr, "Error: out of memory\n");
                sh->errors++;
                sh->stop = 1;
                break;
            }
            acc = na;
            acccap = cap;
        }
        memcpy(acc + acclen, line, l);
        acclen += l;
        acc[acclen++] = '\n';
        acc[acclen] = 0;
        int may_end = strchr(line, ';') != NULL;
        free(line);
        if (!may_end || !es_sql_complete(acc))
            continue;
        if (prompt)
            remember(acc);
        sh->line0 = prompt ? 0 : startline - 1;
        run_script(sh, acc, sh->bail && !prompt);
        acclen = 0;
        if (!prompt && script_stops(sh, errors))
            break;
    }
    /* A script's last statement may lack its ';' (at the prompt, end of input drops it). */
    if (acclen && !prompt && !sh->quit && !sh->stop) {
        int errors = sh->errors;
        sh->line0 = startline - 1;
        run_script(sh, acc, sh->bail);
        script_stops(sh, errors);
    }
    es_free(acc);
}

int shell_read_file(shell *sh, const char *path)
{
    if (sh->depth >= 16) {
        fprintf(stderr, "Error: .read %s: nested too deeply (16 files)\n", path);
        return -1;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "Error: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    int line0 = sh->line0, errors = sh->errors;
    sh->depth++;
    process_input(sh, f, 0);
    sh->depth--;
    sh->line0 = line0;
    fclose(f);
    return sh->errors > errors ? -1 : 0;
}

static void interactive(shell *sh)
{
    print_locale_init(); /* libedit edits UTF-8 in a UTF-8 locale */
    history_path(hist, sizeof hist);
    edit = load_libedit();
    if (edit) {
        ed.using_history();
        ed.stifle_history(1000);
        ed.read_history(hist);
    }
    if (sh->transient)
        printf("expstore %s. Enter \".help\" for usage hints.\n"
               "Connected to a transient in-memory store; use `expstore DIR` or `.open DIR` for a "
               "persistent one.\n",
               ES_VERSION_STRING);
    else
        printf("expstore %s: %s. Enter \".help\" for usage hints.\n", ES_VERSION_STRING,
               sh->store_uri);
    process_input(sh, stdin, 1);
    if (edit)
        ed.write_history(hist);
}

/* ---------------------------------------------------------------- main */

static void usage(FILE *f, const char *prog)
{
    fprintf(f,
            "usage: %s [STORE] [OPTIONS]\n"
            "  STORE  a directory (created if missing), file://path, s3://bucket/prefix or\n"
            "         mem://name; without it, a transient in-memory store\n"
            "  -c SQL          run the statements and dot-commands in SQL and exit (non-zero\n"
            "                  status and no more statements after the first error)\n"
            "  -f FILE         run the statements and dot-commands in FILE and exit\n"
            "  -bail           stop a script (-f, stdin, .read) at its first error\n"
            "  -table, -box, -markdown, -csv, -json, -line, -list, -tabs\n"
            "                  the output mode (default table)\n"
            "  -header, -noheader  a header line in csv, list and tabs modes (default on)\n"
            "  -nullvalue TEXT how NULL prints in text modes (default NULL)\n"
            "  -h, --help      this message; --version: the version\n"
            "With neither -c nor -f, reads statements from the terminal (interactive) or from\n"
            "stdin, running each as soon as its ';' arrives. Other commands:\n"
            "  %s vacuum [--retain-versions N] [--retain-hours H] [--min-age-seconds S] STORE\n"
            "                  delete what no retained version needs\n"
            "  %s fsck [-q] STORE  verify every retained version and the objects it names\n"
            "  %s arrow-dump FILE  print an Arrow IPC file or stream as canonical JSON\n",
            prog, prog, prog, prog);
}

static void shell_close(shell *sh)
{
    shell_sync(sh);
    sigint_session = NULL;
    if (sh->out && sh->out != stdout)
        fclose(sh->out);
    if (sh->store && es_txn_active(sh->store, NULL))
        fprintf(stderr, "Warning: the open transaction was rolled back (no COMMIT)\n");
    es_sql_session_close(sh->q);
    es_store_close(sh->store);
    es_free(sh->store_uri);
    es_free(sh->nullvalue);
}

int es_shell_main(int argc, char **argv)
{
    shell sh;
    memset(&sh, 0, sizeof sh);
    sh.out = stdout;
    sh.headers = 1;
    /* Batches allocate and free many large vectors: keep them in the heap rather than
     * mapping fresh (zeroed) pages for each one. */
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    const char *uri = NULL, *cmd = NULL, *file = NULL, *nullvalue = "NULL";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] == '-' && a[1] == '-' && a[2])
            a++; /* --csv as -csv */
        int m = a[0] == '-' ? mode_from_name(a + 1) : -1;
        if (strcmp(a, "-c") == 0 && i + 1 < argc) {
            if (cmd) {
                fprintf(stderr,
                        "%s: -c given twice: put every statement in one -c, separated "
                        "by ';'\n",
                        argv[0]);
                return 2;
            }
            cmd = argv[++i];
        } else if (strcmp(a, "-f") == 0 && i + 1 < argc) {
            if (file) {
                fprintf(stderr, "%s: -f given twice: use .read FILE in the first file\n", argv[0]);
                return 2;
            }
            file = argv[++i];
        } else if (m >= 0) {
            sh.mode = m;
        } else if (strcmp(a, "-bail") == 0) {
            sh.bail = 1;
        } else if (strcmp(a, "-header") == 0 || strcmp(a, "-headers") == 0) {
            sh.headers = 1;
        } else if (strcmp(a, "-noheader") == 0 || strcmp(a, "-noheaders") == 0) {
            sh.headers = 0;
        } else if (strcmp(a, "-nullvalue") == 0 && i + 1 < argc) {
            nullvalue = argv[++i];
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "-help") == 0) {
            usage(stdout, argv[0]);
            return 0;
        } else if (strcmp(a, "-version") == 0) {
            printf("expstore %s\n", ES_VERSION_STRING);
            return 0;
        } else if (a[0] == '-' || uri) {
            if (a[0] == '-')
                fprintf(stderr, "%s: unknown option %s (or it needs an argument)\n", argv[0],
                        argv[i]);
            else
                fprintf(stderr, "%s: a second store %s (one store at a time)\n", argv[0], a);
            usage(stderr, argv[0]);
            return 2;
        } else {
            uri = a;
        }
    }
    sh.nullvalue = es_strdup(nullvalue);
    if (!sh.nullvalue) {
        fprintf(stderr, "Error: out of memory\n");
        return 1;
    }
    if (shell_open(&sh, uri) < 0) {
        es_free(sh.nullvalue);
        return 1;
    }
    busy = 1;
    set_sigint(1);
    if (cmd)
        run_script(&sh, cmd, 1);
    if (file && !sh.errors && !sh.quit && shell_read_file(&sh, file) < 0)
        sh.errors++;
    if (!cmd && !file) {
        if (isatty(0)) {
            sh.interactive = interactive_shell = 1;
            interactive(&sh);
        } else {
            process_input(&sh, stdin, 0);
        }
    }
    int failed = sh.errors > 0 && !sh.interactive;
    if (fflush(sh.out) != 0)
        failed = 1;
    shell_close(&sh);
    return failed ? 1 : 0;
}
