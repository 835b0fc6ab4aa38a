/*
 * test_shell_stream: the shell prints a long result page by page (tools/shell_print.c,
 * SHELL_PAGE_ROWS) through the real `expstore` binary: every row once, in order, in every
 * mode (the json array and the grid closed once, headers once); an error in a later page
 * follows the rows already printed; a short result still prints nothing but the error.
 */
#include "check.h"
#include "shell/run.h"

#define N 250000
#define BAD 200000 /* the row whose t is not a number */

static char store[1024];

static int64_t count(const char *hay, const char *needle)
{
    int64_t n = 0;
    for (const char *p = hay; p && (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static shell_out run(const char *mode, const char *sql)
{
    const char *args[] = {store, mode, "-c", sql, NULL};
    return shell_runv(NULL, args);
}

int main(void)
{
    if (shell_setup() < 0)
        CHECK_SKIP("expstore binary not found (set ES_BUILD_DIR)");
    snprintf(store, sizeof store, "%s/store", shell_tmp);
    char path[600], sql[1400];
    snprintf(path, sizeof path, "%s/big.csv", shell_tmp);
    FILE *f = fopen(path, "w");
    size_t cap = (size_t)N * 32;
    char *want = malloc(cap), *w = want;
    for (int i = 0; i < N; i++) {
        if (i == BAD)
            fprintf(f, "%d,r%d,oops\n", i, i);
        else
            fprintf(f, "%d,r%d,%d\n", i, i, i);
        w += snprintf(w, cap - (size_t)(w - want), "%d|r%d\n", i, i);
    }
    fclose(f);
    snprintf(sql, sizeof sql, "CREATE TABLE big (id BIGINT, s TEXT, t TEXT); COPY big FROM '%s';",
             path);
    shell_out o = run("-list", sql);
    CHECK_EQ_INT(o.status, 0);
    shell_out_free(&o);

    /* list: every row once, in order, the header once. */
    o = run("-list", "SELECT id, s FROM big");
    CHECK_EQ_INT(o.status, 0);
    CHECK(strncmp(o.out, "id|s\n", 5) == 0);
    CHECK(strcmp(o.out + 5, want) == 0);
    CHECK_EQ_INT(count(o.out, "id|s"), 1);
    shell_out_free(&o);

    /* json: one array. */
    o = run("-json", "SELECT id FROM big");
    CHECK_EQ_INT(o.status, 0);
    CHECK(strncmp(o.out, "[{\"id\":0}", 9) == 0);
    CHECK_EQ_INT(count(o.out, "{\"id\":"), N);
    CHECK_EQ_INT(count(o.out, "["), 1);
    CHECK_EQ_INT(count(o.out, "]"), 1);
    CHECK(strlen(o.out) > 3 && strcmp(o.out + strlen(o.out) - 3, "}]\n") == 0);
    shell_out_free(&o);

    /* table: the header once, the bottom rule once at the end. */
    o = run("-table", "SELECT id, s FROM big");
    CHECK_EQ_INT(o.status, 0);
    CHECK_EQ_INT(count(o.out, "\n"), N + 4);
    CHECK_EQ_INT(count(o.out, "| id "), 1);
    CHECK_EQ_INT(count(o.out, "+-"), 6); /* three rules of two columns */
    CHECK(strstr(o.out, "| 249999 | r249999 |\n+--------+---------+\n") != NULL);
    shell_out_free(&o);

    /* csv: the header once. */
    o = run("-csv", "SELECT id, s FROM big");
    CHECK_EQ_INT(o.status, 0);
    CHECK_EQ_INT(count(o.out, "\n"), N + 1);
    CHECK_EQ_INT(count(o.out, "id,s"), 1);
    shell_out_free(&o);

    /* An error in a later page: the rows before it, then the error. */
    o = run("-list", "SELECT id, CAST(t AS INT) FROM big");
    CHECK_EQ_INT(o.status, 1);
    CHECK(strstr(o.err, "oops") != NULL);
    int64_t printed = count(o.out, "\n") - 1;
    CHECK(printed >= 100000 && printed <= BAD); /* a page: SHELL_PAGE_ROWS, tools/shell.h */
    CHECK(strstr(o.out, "99999|99999\n") != NULL);
    shell_out_free(&o);
    /* Within the first page: nothing but the error. */
    o = run("-list", "SELECT id, CAST(t AS INT) FROM big WHERE id >= 150000");
    CHECK_EQ_INT(o.status, 1);
    CHECK(strstr(o.err, "oops") != NULL);
    CHECK_EQ_STR(o.out, "");
    shell_out_free(&o);

    free(want);
    shell_cleanup();
    return CHECK_DONE();
}
