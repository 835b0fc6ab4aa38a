/*
 * shell.h: what the files of the `expstore` SQL shell share. Above the library's public API
 * only (tests/check_layers.sh checks it):
 *   shell.c        the command line, reading statements (arguments, files, pipes, the prompt
 *                  with libedit), running them one at a time, Ctrl-C;
 *   shell_dot.c    the dot-commands;
 *   shell_print.c  reading a result's Arrow batches and printing them in each output mode.
 */
#ifndef ES_TOOLS_SHELL_H
#define ES_TOOLS_SHELL_H

#include <stdio.h>

#include "expstore/arrow.h"
#include "expstore/expstore.h"
#include "expstore/sql.h"

/* Output modes (.mode); shell_print.c has their names. */
enum {
    MODE_TABLE = 0, /* an ASCII grid, the default */
    MODE_BOX,       /* the same grid in Unicode box-drawing characters */
    MODE_MARKDOWN,  /* a GitHub-flavoured Markdown table */
    MODE_CSV,       /* the CSV dialect of COPY ... TO */
    MODE_JSON,      /* an array of objects */
    MODE_LINE,      /* one "name = value" line per column, a blank line between rows */
    MODE_LIST,      /* values separated by '|' */
    MODE_TABS,      /* values separated by tabs */
    MODE_COUNT
};

typedef struct shell {
    es_store *store;
    es_sql_session *q;
    char *store_uri; /* es_strdup'd */
    int transient;   /* the default in-memory store (no STORE argument, or .open alone) */
    /* Output settings. */
    int mode;
    int headers;     /* .headers: a header line in csv, list and tabs modes (default on) */
    char *nullvalue; /* .nullvalue: how NULL prints in text modes (default "NULL") */
    FILE *out;       /* stdout, or the file of .output / .once */
    int once;        /* .once: commands left before output returns to stdout */
    int timer;
    /* Control. */
    int bail;        /* .bail / -bail: scripts stop at the first error */
    int quit;        /* .quit */
    int stop;        /* stop reading every input: bail after an error, or Ctrl-C in a script */
    int interrupted; /* Ctrl-C stopped the command that was running */
    int interactive; /* statements come from the prompt */
    int errors;      /* statements and dot-commands that failed */
    int depth;       /* nesting of .read */
    int line0;       /* lines of the input before the text being run (error positions) */
    int progress_shown;
} shell;

/* The rows of a result: its schema, its record batches and their validated views. A result
 * is read a page (SHELL_PAGE_ROWS rows) at a time: the first page whole before printing starts,
 * the next ones while printing (bounded memory); `more` says that the stream may go on. */
#define SHELL_PAGE_ROWS 100000
typedef struct result_rows {
    struct ArrowSchema schema;
    es_type *types; /* of the columns */
    int ncols;
    struct ArrowArray *batches;
    es_array_view *views;
    int64_t n, cap;
    int64_t rows;    /* in the page */
    int more;        /* the stream was not read to its end */
    int64_t page;    /* pages read before this one */
    int64_t printed; /* rows printed so far */
    int64_t *w;      /* grid modes: the column widths, from the first page */
} result_rows;

/* shell.c */
/* 1 once Ctrl-C was pressed during the command that runs (printing checks it per row). */
int shell_sigint(void);
/* Open the store at uri (NULL: a new transient in-memory store) in place of the current one,
 * which stays open when this fails. 0, or -1 after an error message. */
int shell_open(shell *sh, const char *uri);
/* Run the statements and dot-commands of a file (.read, -f). 0, or -1 when it cannot be read
 * or something in it failed (counted in sh->errors). */
int shell_read_file(shell *sh, const char *path);

/* shell_dot.c */
/* Run a dot-command line (".mode csv"). 0, or -1 after an error message. */
int dot_command(shell *sh, const char *line);

/* shell_print.c */
/* The mode called name, or -1. */
int mode_from_name(const char *name);
const char *mode_name(int mode);
/* Set LC_CTYPE to a UTF-8 locale (the user's, else C.UTF-8) for wcwidth and libedit (once;
 * display_width calls it at the first non-ASCII text). */
void print_locale_init(void);
/* The terminal columns the UTF-8 text p[0..len) takes (wide and combining characters). */
int64_t display_width(const char *p, int64_t len);
/* Read the first page of a result's stream (its first SHELL_PAGE_ROWS rows or more, to the
 * end of a batch). 0, or -1 when it failed (the session has the error). */
int rows_read(result_rows *r, struct ArrowArrayStream *s);
void rows_free(result_rows *r);
/* Print the rows in the shell's mode to sh->out, page after page to the end of s. 0, -1 when
 * Ctrl-C stopped it, -2 when reading a later page failed (the rows before are printed). */
int print_result(shell *sh, result_rows *r, struct ArrowArrayStream *s);

#endif /* ES_TOOLS_SHELL_H */
