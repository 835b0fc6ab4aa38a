/*
 * shell_dot: the dot-commands of the `expstore` shell (see shell.h for the shell's files).
 * A dot-command is one line: ".name" and arguments separated by spaces, each of which may be
 * quoted with '...' or "..." (".nullvalue ''", ".output 'my file.txt'"). Listings go to the
 * shell's output (.output), errors to stderr.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "shell.h"

#define MAX_ARGS 8

static const char help_text[] =
    ".async on|off          asynchronous commit: an INSERT returns before it is durable\n"
    "                       (default off; .sync or SYNC waits for them)\n"
    ".bail on|off           stop a script at its first error (default off)\n"
    ".exit, .quit           leave the shell\n"
    ".headers on|off        a header line in csv, list and tabs modes (default on)\n"
    ".help                  show this message\n"
    ".indexes [TABLE]       the secondary indexes (of TABLE), with the parts each covers\n"
    ".mode [MODE]           output mode: table (default), box, markdown, csv, json, line, list,\n"
    "                       tabs; without MODE, print the current one\n"
    ".nullvalue TEXT        how NULL prints in text modes (default NULL)\n"
    ".once FILE             the output of the next command goes to FILE\n"
    ".open [STORE]          close this store and open STORE (a directory, s3://bucket/prefix,\n"
    "                       mem://name); without STORE, a new transient in-memory store\n"
    ".memory_limit [SIZE]   memory a sort or aggregation may hold (bytes, or 512MB, 2GB; 0:\n"
    "                       80% of RAM, the default); without SIZE, print it\n"
    ".cache [SIZE]          budget of the cache of decoded columns that makes repeated queries\n"
    "                       skip fetching and decompressing (bytes, or 512MB; off; default: a\n"
    "                       quarter of .memory_limit); without SIZE, print it and what it holds\n"
    ".output [FILE]         results go to FILE (truncated); without FILE, back to stdout\n"
    ".read FILE             run the statements and dot-commands of FILE\n"
    ".schema [PATTERN]      CREATE TABLE statements of the tables whose names match the LIKE\n"
    "                       pattern (all by default)\n"
    ".sync                  wait until every INSERT made asynchronously is durable; print\n"
    "                       the version, or the error of one that failed\n"
    ".tables [PATTERN]      the tables, or those whose names match the LIKE pattern\n"
    ".threads [N]           threads a query decodes, filters and aggregates with (0: the\n"
    "                       processors online, the default); without N, print the count\n"
    ".timer on|off          time each statement\n"
    ".version               latest committed version of the store\n"
    "SQL statements (docs/SQL.md has each one's syntax):\n"
    "  SELECT ... [FROM t [[AS] a] [AS OF VERSION n]] ...   EXPLAIN [ANALYZE] SELECT ...\n"
    "  CREATE TABLE [IF NOT EXISTS] t (col TYPE [NOT NULL] [DEFAULT v] [PRIMARY KEY], ...)\n"
    "  CREATE TABLE t [PRIMARY KEY (col)] AS SELECT ...      DROP TABLE [IF EXISTS] t\n"
    "  ALTER TABLE t ADD|DROP|RENAME [COLUMN] ..., RENAME TO u, ALTER [COLUMN] c TYPE|SET|DROP\n"
    "  INSERT INTO t [(cols)] VALUES (...), ... | SELECT ...  [ON CONFLICT [(key)] DO ...]\n"
    "  INSERT OR REPLACE | INSERT OR IGNORE | REPLACE INTO t ...\n"
    "  UPDATE t SET col = expr, ... [WHERE ...]   DELETE FROM t [WHERE ...]   TRUNCATE t\n"
    "  COPY t [(cols)] FROM 'f.csv'|'f.arrow' [(HEADER, DELIMITER ',')]\n"
    "  COPY t|(SELECT ...) TO 'f.csv'|'f.arrow'|'f.arrows'|'f.json' [(FORMAT ...)]\n"
    "  CREATE [UNIQUE] INDEX [[IF NOT EXISTS] i] ON t (col)  DROP INDEX [IF EXISTS] i\n"
    "  DESCRIBE t [AS OF ...]   DESCRIBE HISTORY [t] [LIMIT n]   SHOW TABLES\n"
    "  SELECT ... FROM t AS OF VERSION n | AS OF TIMESTAMP 'ts'\n"
    "  OPTIMIZE [t]   VACUUM   FLUSH [t]   SYNC\n"
    "  BEGIN [ISOLATION LEVEL SERIALIZABLE]   COMMIT   ROLLBACK\n"
    "Each statement commits on its own, unless BEGIN [ISOLATION LEVEL SERIALIZABLE] opens a\n"
    "transaction (the prompt is then expstore*>): COMMIT commits its statements as one version,\n"
    "ROLLBACK drops them.\n"
    "PRIMARY KEY orders a table's data and is enforced unique (a duplicate key fails the\n"
    "statement); CREATE [UNIQUE] INDEX name ON t (column) and DROP INDEX name manage secondary\n"
    "indexes, which equality and IN predicates use.\n"
    "Ctrl-C stops the running statement (nothing is committed) or clears the line.\n";

/* Split a dot-command line into its words (quotes removed) in buf. Returns the number of
 * words, or -1 for an unterminated quote or too many words. */
static int split_args(const char *line, char *buf, size_t cap, char *argv[MAX_ARGS])
{
    int n = 0;
    size_t k = 0;
    const char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (!*p)
            return n;
        if (n == MAX_ARGS || k >= cap)
            return -1;
        argv[n++] = buf + k;
        if (*p == '\'' || *p == '"') {
            char q = *p++;
            while (*p && *p != q && k + 1 < cap)
                buf[k++] = *p++;
            if (*p != q)
                return -1;
            p++;
        } else {
            while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n' && k + 1 < cap)
                buf[k++] = *p++;
        }
        buf[k++] = 0;
    }
}

/* on/off, yes/no, true/false, 1/0: 1 or 0, or -1. */
static int parse_bool(const char *s)
{
    static const char *const on[] = {"on", "yes", "true", "1"}, *const off[] = {"off", "no",
                                                                                "false", "0"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, on[i]) == 0)
            return 1;
        if (strcasecmp(s, off[i]) == 0)
            return 0;
    }
    return -1;
}

/* SQL LIKE, as sqlite3's .tables uses it: '%' any run, '_' one character, ASCII letters
 * without regard to case. */
static int like(const char *pat, const char *s)
{
    for (; *pat; pat++) {
        if (*pat == '%') {
            while (pat[1] == '%')
                pat++;
            if (!pat[1])
                return 1;
            for (const char *t = s; *t; t++)
                if (like(pat + 1, t))
                    return 1;
            return 0;
        }
        if (!*s)
            return 0;
        if (*pat == '_') {
            /* one character: a whole UTF-8 sequence */
            s++;
            while ((*s & 0xC0) == 0x80)
                s++;
            continue;
        }
        if (tolower((unsigned char)*pat) != tolower((unsigned char)*s))
            return 0;
        s++;
    }
    return !*s;
}

/* Words that must be quoted to be read as identifiers: the parser's reserved words and the
 * keywords of statements it knows or is likely to learn. */
static const char *const keywords[] = {
    "all",        "alter",      "and",       "as",     "asc",         "begin",   "between",
    "by",         "case",       "cast",      "check",  "collate",     "column",  "commit",
    "constraint", "copy",       "create",    "cross",  "current",     "default", "delete",
    "desc",       "distinct",   "drop",      "else",   "end",         "escape",  "except",
    "exists",     "explain",    "false",     "filter", "foreign",     "from",    "full",
    "glob",       "group",      "having",    "if",     "in",          "index",   "inner",
    "insert",     "intersect",  "into",      "is",     "join",        "key",     "left",
    "like",       "limit",      "natural",   "not",    "null",        "nulls",   "of",
    "offset",     "on",         "or",        "order",  "outer",       "over",    "partition",
    "primary",    "references", "returning", "right",  "rollback",    "select",  "set",
    "start",      "table",      "then",      "to",     "transaction", "true",    "union",
    "unique",     "update",     "using",     "values", "version",     "when",    "where",
    "window",     "with",       "work",      NULL};

/* name as an SQL identifier: as it is when it reads back the same unquoted (lower case
 * letters, digits, '_' and '$', not a keyword), else in double quotes (doubling any inside). */
static void quote_ident(char *buf, size_t cap, const char *name)
{
    int plain = (name[0] >= 'a' && name[0] <= 'z') || name[0] == '_';
    for (const char *c = name; *c && plain; c++)
        plain = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '$';
    for (int i = 0; plain && keywords[i]; i++)
        plain = strcmp(name, keywords[i]) != 0;
    if (plain) {
        snprintf(buf, cap, "%s", name);
        return;
    }
    size_t k = 0;
    if (cap < 3) {
        buf[0] = 0;
        return;
    }
    buf[k++] = '"';
    for (const char *c = name; *c && k + 3 < cap; c++) {
        if (*c == '"')
            buf[k++] = '"';
        buf[k++] = *c;
    }
    buf[k++] = '"';
    buf[k] = 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* 1 when the store has table name (0 also when it cannot be listed). */
static int table_exists(shell *sh, const char *name)
{
    char **names = NULL;
    int64_t n = 0, found = 0;
    if (es_table_list(sh->store, &names, &n) != ES_OK)
        return 0;
    for (int64_t i = 0; i < n; i++)
        found |= strcmp(names[i], name) == 0;
    es_strings_free(names, n);
    return (int)found;
}

/* The secondary indexes of `table` (NULL: all) as CREATE INDEX statements (sql) or as lines
 * "name on table (column), covering p of n parts", where n counts the parts inlined in the log
 * as EXPLAIN does, and the line says how many of them (and rows) no index covers. */
static int show_indexes(shell *sh, const char *table, int sql)
{
    es_index_info *ix = NULL;
    int64_t n = 0;
    if (es_index_list(sh->store, &ix, &n) != ES_OK) {
        fprintf(stderr, "Error: %s\n", es_store_errmsg(sh->store));
        return -1;
    }
    char qi[1100], qt[1100], qc[1100];
    for (int64_t i = 0; i < n; i++) {
        if (table && strcmp(ix[i].table, table) != 0)
            continue;
        quote_ident(qi, sizeof qi, ix[i].name);
        quote_ident(qt, sizeof qt, ix[i].table);
        quote_ident(qc, sizeof qc, ix[i].column);
        if (sql)
            fprintf(sh->out, "CREATE %sINDEX %s ON %s (%s);\n", ix[i].unique ? "UNIQUE " : "", qi,
                    qt, qc);
        else if (ix[i].parts_inline == 0)
            fprintf(sh->out, "%s%s on %s (%s), covering %lld of %lld parts\n",
                    ix[i].unique ? "unique " : "", qi, qt, qc, (long long)ix[i].parts_covered,
                    (long long)ix[i].parts_total);
        else
            fprintf(sh->out,
                    "%s%s on %s (%s), covering %lld of %lld parts (%lld inline in the log, "
                    "%lld rows, not indexed until FLUSH)\n",
                    ix[i].unique ? "unique " : "", qi, qt, qc, (long long)ix[i].parts_covered,
                    (long long)(ix[i].parts_total + ix[i].parts_inline),
                    (long long)ix[i].parts_inline, (long long)ix[i].rows_inline);
    }
    es_index_list_free(ix, n);
    return 0;
}

static int show_schema(shell *sh, const char *table)
{
    es_table_info info;
    memset(&info, 0, sizeof info);
    if (es_table_describe(sh->store, table, -1, &info) != ES_OK) {
        fprintf(stderr, "Error: %s\n", es_store_errmsg(sh->store));
        return -1;
    }
    FILE *f = sh->out;
    char q[1100];
    quote_ident(q, sizeof q, table);
    fprintf(f, "CREATE TABLE %s (", q);
    for (int64_t i = 0; i < info.schema.n_children; i++) {
        const struct ArrowSchema *c = info.schema.children[i];
        char tn[64];
        if (es_sql_type_name(tn, sizeof tn, c->format) != ES_OK)
            snprintf(tn, sizeof tn, "/* arrow %s */", c->format);
        quote_ident(q, sizeof q, c->name ? c->name : "");
        int32_t dl = 0;
        const char *def = es_metadata_get(c->metadata, "expstore:default", &dl);
        fprintf(f, "%s%s %s%s%.*s%s", i ? ", " : "", q, tn, def ? " DEFAULT " : "", (int)dl,
                def ? def : "", (c->flags & ARROW_FLAG_NULLABLE) ? "" : " NOT NULL");
    }
    if (info.primary_key) {
        quote_ident(q, sizeof q, info.primary_key);
        fprintf(f, ", PRIMARY KEY (%s));\n", q);
    } else {
        fprintf(f, ");\n");
    }
    es_table_info_reset(&info);
    return show_indexes(sh, table, 1);
}

/* .tables and .schema: the tables whose names match pat (NULL: all), sorted. */
static int list_tables(shell *sh, const char *pat, int schema)
{
    char **names = NULL;
    int64_t cnt = 0;
    if (es_table_list(sh->store, &names, &cnt) != ES_OK) {
        fprintf(stderr, "Error: %s\n", es_store_errmsg(sh->store));
        return -1;
    }
    qsort(names, (size_t)cnt, sizeof(char *), cmp_str);
    int rc = 0, matched = 0;
    for (int64_t i = 0; i < cnt; i++) {
        if (pat && !like(pat, names[i]))
            continue;
        matched++;
        if (!schema)
            fprintf(sh->out, "%s\n", names[i]);
        else if (show_schema(sh, names[i]) < 0)
            rc = -1;
    }
    es_strings_free(names, cnt);
    /* .schema NAME of a table that does not exist: say so (a pattern may match nothing). */
    if (schema && pat && !matched && !strpbrk(pat, "%_")) {
        fprintf(stderr, "Error: no such table: %s\n", pat);
        rc = -1;
    }
    return rc;
}

/* Send the output to path ("w"), or back to stdout when path is NULL. */
static int set_output(shell *sh, const char *path, int once)
{
    if (sh->out && sh->out != stdout)
        fclose(sh->out);
    sh->out = stdout;
    sh->once = 0;
    if (!path || strcmp(path, "stdout") == 0)
        return 0;
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "Error: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    sh->out = f;
    sh->once = once ? 2 : 0;
    return 0;
}

static int usage_error(const char *usage)
{
    fprintf(stderr, "Error: usage: %s\n", usage);
    return -1;
}

/* SIZE of a dot-command: bytes, or a number with KB, MB, GB (powers of 1024); -1 when bad. */
static int64_t parse_size(const char *arg)
{
    char *end = NULL;
    double v = strtod(arg, &end);
    double unit = !*end                        ? 1
                  : strcasecmp(end, "kb") == 0 ? 1024.0
                  : strcasecmp(end, "mb") == 0 ? 1048576.0
                  : strcasecmp(end, "gb") == 0 ? 1073741824.0
                                               : -1;
    if (end == arg || unit < 0 || v < 0 || v * unit > 9e18)
        return -1;
    return (int64_t)(v * unit);
}

/* A dot-command with a setting: on|off into *flag. */
static int set_bool(int argc, char **argv, int *flag, const char *usage)
{
    int v = argc == 2 ? parse_bool(argv[1]) : -1;
    if (v < 0)
        return usage_error(usage);
    *flag = v;
    return 0;
}

int dot_command(shell *sh, const char *line)
{
    char buf[2048];
    char *argv[MAX_ARGS];
    while (*line == ' ' || *line == '\t')
        line++;
    int argc = split_args(line + 1, buf, sizeof buf, argv);
    if (argc < 0) {
        fprintf(stderr,
                "Error: cannot read the arguments of %s (an unterminated quote, or "
                "more than %d)\n",
                line, MAX_ARGS - 1);
        return -1;
    }
    if (argc == 0) {
        fprintf(stderr, "Error: empty dot-command\n");
        return -1;
    }
    const char *cmd = argv[0];
    const char *arg = argc > 1 ? argv[1] : NULL;
    if (strcmp(cmd, "quit") == 0 || strcmp(cmd, "exit") == 0 || strcmp(cmd, "q") == 0) {
        sh->quit = 1;
        return 0;
    }
    if (strcmp(cmd, "help") == 0) {
        fputs(help_text, sh->out);
        return 0;
    }
    if (strcmp(cmd, "mode") == 0) {
        if (argc == 1) {
            fprintf(sh->out, "%s\n", mode_name(sh->mode));
            return 0;
        }
        if (argc > 2) /* not "unknown mode 'csv'" for .mode csv -- a comment */
            return usage_error(".mode [table|box|markdown|csv|json|line|list|tabs]");
        int m = mode_from_name(arg);
        if (m < 0) {
            fprintf(stderr,
                    "Error: unknown mode '%s' (table, box, markdown, csv, json, line, list or "
                    "tabs)\n",
                    arg);
            return -1;
        }
        sh->mode = m;
        return 0;
    }
    if (strcmp(cmd, "headers") == 0 || strcmp(cmd, "header") == 0)
        return set_bool(argc, argv, &sh->headers, ".headers on|off");
    if (strcmp(cmd, "bail") == 0)
        return set_bool(argc, argv, &sh->bail, ".bail on|off");
    if (strcmp(cmd, "timer") == 0)
        return set_bool(argc, argv, &sh->timer, ".timer on|off");
    if (strcmp(cmd, "async") == 0) {
        int on = 0;
        if (set_bool(argc, argv, &on, ".async on|off"))
            return -1;
        es_store_set_async(sh->store, on);
        return 0;
    }
    if (strcmp(cmd, "sync") == 0) {
        int64_t v = -1;
        if (argc != 1)
            return usage_error(".sync");
        if (es_store_sync(sh->store, &v) != ES_OK) {
            fprintf(stderr, "Error: %s\n", es_store_errmsg(sh->store));
            return -1;
        }
        if (v >= 0)
            fprintf(sh->out, "%lld\n", (long long)v);
        return 0;
    }
    if (strcmp(cmd, "memory_limit") == 0) {
        if (argc == 1) {
            int64_t m = es_store_memory_limit(sh->store);
            fprintf(sh->out, "%lld (%.1f MiB)\n", (long long)m, (double)m / 1048576);
            return 0;
        }
        /* SIZE: bytes, or a number with KB, MB, GB (powers of 1024); 0: the default */
        int64_t bytes = argc == 2 ? parse_size(arg) : -1;
        if (bytes < 0 || es_store_set_memory_limit(sh->store, bytes) != ES_OK)
            return usage_error(".memory_limit [SIZE] (bytes, or with KB, MB, GB; 0: 80% of RAM)");
        return 0;
    }
    if (strcmp(cmd, "cache") == 0) {
        if (argc == 1) {
            int64_t b = 0, n = 0, m = es_store_cache_limit(sh->store);
            es_store_cache_usage(sh->store, &b, &n);
            fprintf(sh->out, "%lld (%.1f MiB); holds %.1f MiB in %lld column chunks\n",
                    (long long)m, (double)m / 1048576, (double)b / 1048576, (long long)n);
            return 0;
        }
        int64_t bytes = argc != 2                         ? -2
                        : strcasecmp(arg, "default") == 0 ? -1
                        : strcasecmp(arg, "off") == 0     ? 0
                        : parse_size(arg) < 0             ? -2
                                                          : parse_size(arg);
        if (bytes < -1 || es_store_set_cache_limit(sh->store, bytes) != ES_OK)
            return usage_error(".cache [SIZE|off|default] (bytes, or with KB, MB, GB)");
        return 0;
    }
    if (strcmp(cmd, "threads") == 0) {
        char *end = NULL;
        long n = argc == 2 ? strtol(arg, &end, 10) : 0;
        if (argc == 1) {
            fprintf(sh->out, "%d\n", es_store_threads(sh->store));
            return 0;
        }
        if (argc != 2 || !*arg || *end || n < 0 || n > 256 ||
            es_store_set_threads(sh->store, (int)n) != ES_OK)
            return usage_error(".threads [N] (N from 0 to 256)");
        return 0;
    }
    if (strcmp(cmd, "nullvalue") == 0) {
        if (argc != 2)
            return usage_error(".nullvalue TEXT");
        char *v = es_strdup(arg);
        if (!v)
            return usage_error(".nullvalue TEXT (out of memory)");
        es_free(sh->nullvalue);
        sh->nullvalue = v;
        return 0;
    }
    if (strcmp(cmd, "output") == 0) {
        if (argc > 2)
            return usage_error(".output [FILE]");
        return set_output(sh, arg, 0);
    }
    if (strcmp(cmd, "once") == 0) {
        if (argc != 2)
            return usage_error(".once FILE");
        return set_output(sh, arg, 1);
    }
    if (strcmp(cmd, "read") == 0) {
        if (argc != 2)
            return usage_error(".read FILE");
        return shell_read_file(sh, arg);
    }
    if (strcmp(cmd, "open") == 0) {
        if (argc > 2)
            return usage_error(".open [STORE]");
        return shell_open(sh, arg);
    }
    if (strcmp(cmd, "version") == 0) {
        int64_t v = 0;
        if (es_store_version(sh->store, &v) != ES_OK) {
            fprintf(stderr, "Error: %s\n", es_store_errmsg(sh->store));
            return -1;
        }
        fprintf(sh->out, "%lld\n", (long long)v);
        return 0;
    }
    if (strcmp(cmd, "indexes") == 0 || strcmp(cmd, "indices") == 0) {
        if (argc > 2)
            return usage_error(".indexes [TABLE]");
        if (arg && !table_exists(sh, arg)) {
            fprintf(stderr, "Error: no such table: %s\n", arg);
            return -1;
        }
        return show_indexes(sh, arg, 0);
    }
    if (strcmp(cmd, "tables") == 0 || strcmp(cmd, "schema") == 0) {
        if (argc > 2)
            return usage_error(strcmp(cmd, "tables") == 0 ? ".tables [PATTERN]"
                                                          : ".schema [PATTERN]");
        return list_tables(sh, arg, strcmp(cmd, "schema") == 0);
    }
    /* sqlite3's and duckdb's commands that are statements here. */
    if (strcmp(cmd, "import") == 0)
        fprintf(stderr, "Error: unknown command .import: load a file with COPY TABLE FROM "
                        "'FILE.csv' (HEADER)\n");
    else if (strcmp(cmd, "dump") == 0)
        fprintf(stderr, "Error: unknown command .dump: .schema prints the CREATE statements, "
                        "COPY TABLE TO 'FILE.csv' a table's rows\n");
    else
        fprintf(stderr, "Error: unknown command .%s (try .help)\n", cmd);
    return -1;
}
