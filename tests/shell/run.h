/*
 * run.h: helpers for the shell tests. They drive the real `expstore` binary
 * ($ES_BUILD_DIR/expstore) as a child process and capture its stdout, stderr and exit status.
 */
#ifndef ES_TEST_SHELL_RUN_H
#define ES_TEST_SHELL_RUN_H

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

typedef struct shell_out {
    char *out, *err;
    int status; /* exit status, or -1 */
} shell_out;

static char shell_bin[1024];
static char shell_tmp[256];

static inline char *shell_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return strdup("");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (n > 0 && fread(b, 1, (size_t)n, f) != (size_t)n)
        n = 0;
    b[n > 0 ? n : 0] = 0;
    fclose(f);
    return b;
}

/* Find the binary and make a temp dir. Returns 0, or -1 when the binary is missing. */
static inline int shell_setup(void)
{
    const char *bd = getenv("ES_BUILD_DIR");
    snprintf(shell_bin, sizeof shell_bin, "%s/expstore", bd ? bd : ".");
    if (access(shell_bin, X_OK) != 0)
        return -1;
    snprintf(shell_tmp, sizeof shell_tmp, "/tmp/es_shell_test_XXXXXX");
    if (!mkdtemp(shell_tmp))
        return -1;
    return 0;
}

static inline void shell_cleanup(void)
{
    char cmd[512];
    if (shell_tmp[0] && strncmp(shell_tmp, "/tmp/es_shell_test_", 19) == 0) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", shell_tmp);
        if (system(cmd) != 0)
            fprintf(stderr, "cleanup of %s failed\n", shell_tmp);
    }
}

static inline void shell_out_free(shell_out *o)
{
    free(o->out);
    free(o->err);
    o->out = o->err = NULL;
}

/* Run the binary with argv (NULL-terminated, without argv[0]); stdin from `input` (or
 * /dev/null when NULL). */
static inline shell_out shell_runv(const char *input, const char *const *args)
{
    shell_out o = {NULL, NULL, -1};
    char outp[300], errp[300], inp[300];
    snprintf(outp, sizeof outp, "%s/.out", shell_tmp);
    snprintf(errp, sizeof errp, "%s/.err", shell_tmp);
    snprintf(inp, sizeof inp, "%s/.in", shell_tmp);
    if (input) {
        FILE *f = fopen(inp, "wb");
        fputs(input, f);
        fclose(f);
    }
    pid_t pid = fork();
    if (pid == 0) {
        int fo = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fi = open(input ? inp : "/dev/null", O_RDONLY);
        dup2(fo, 1);
        dup2(fe, 2);
        dup2(fi, 0);
        const char *argv[64];
        int n = 0;
        argv[n++] = shell_bin;
        for (int i = 0; args[i] && n < 63; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        execv(shell_bin, (char *const *)argv);
        _exit(127);
    }
    int st;
    if (pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st))
        o.status = WEXITSTATUS(st);
    o.out = shell_slurp(outp);
    o.err = shell_slurp(errp);
    return o;
}

/* expstore STORE [extra...] -c SQL */
static inline shell_out shell_c(const char *store, const char *mode, const char *sql)
{
    const char *args[8];
    int n = 0;
    args[n++] = store;
    if (mode)
        args[n++] = mode;
    args[n++] = "-c";
    args[n++] = sql;
    args[n] = NULL;
    return shell_runv(NULL, args);
}

/* Write content to shell_tmp/name; returns the path (one of 8 rotating static buffers). */
static inline const char *shell_file(const char *name, const char *content)
{
    static char path[8][600];
    static int k;
    char *p = path[k++ % 8];
    snprintf(p, 600, "%s/%s", shell_tmp, name);
    FILE *f = fopen(p, "wb");
    fputs(content, f);
    fclose(f);
    return p;
}

/* expstore STORE -csv -c SQL: a check that it succeeds with exactly out on stdout (NULL:
 * anything), or, when err is not NULL, that it fails with err within stderr. */
static inline void shell_expect(const char *store, const char *sql, const char *out,
                                const char *err, int line)
{
    shell_out o = shell_c(store, "-csv", sql);
    int ok = (o.status == 0) == (err == NULL);
    if (ok && out && strcmp(o.out, out) != 0)
        ok = 0;
    if (ok && err && !strstr(o.err, err))
        ok = 0;
    if (ok) {
        check_passed++;
    } else {
        check_failed++;
        fprintf(stderr, "line %d: %s\n  status %d\n  out:\n%s  expected:\n%s\n  err: %s\n%s%s\n",
                line, sql, o.status, o.out, out ? out : "(anything)", o.err,
                err ? "  expected within it: " : "", err ? err : "");
    }
    shell_out_free(&o);
}

#endif /* ES_TEST_SHELL_RUN_H */
