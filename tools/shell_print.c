/*
 * shell_print: how the `expstore` shell prints a result (see shell.h for the shell's files).
 * The rows are read a page at a time (SHELL_PAGE_ROWS): a result of one page is read whole
 * before anything is printed (an error half-way prints nothing but the error); a longer one
 * streams, in bounded memory, page after page (an error then follows the rows printed, and
 * the grid modes take the column widths from the first page: a longer value later widens its
 * row only). Rows are printed in the output mode of .mode: grids (table in ASCII, box in Unicode
 * box-drawing characters, markdown), csv (es_sql_write_csv, the dialect of COPY ... TO), json,
 * line, list and tabs. Values come from es_sql_format_value; NULL prints as .nullvalue in the
 * text modes, as an empty field in csv and as null in json.
 *
 * Grids align by display width, not bytes: UTF-8 is decoded here and each character measured
 * with wcwidth (in a UTF-8 LC_CTYPE, which print_locale_init sets up before the prompt starts
 * or at the first non-ASCII text), or, when no UTF-8 locale exists, with a small table of East
 * Asian wide and combining ranges. Printing stops at
 * the next row after Ctrl-C.
 */
#include <langinfo.h>
#include <locale.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <wchar.h>

#include "shell.h"

static const char *const mode_names[MODE_COUNT] = {"table", "box",  "markdown", "csv",
                                                   "json",  "line", "list",     "tabs"};

int mode_from_name(const char *name)
{
    for (int m = 0; m < MODE_COUNT; m++)
        if (strcmp(name, mode_names[m]) == 0)
            return m;
    return -1;
}

const char *mode_name(int mode)
{
    return mode >= 0 && mode < MODE_COUNT ? mode_names[mode] : "?";
}

/* ------------------------------------------------------- display width */

static int locale_ready; /* print_locale_init ran */
static int use_wcwidth;  /* LC_CTYPE is UTF-8: wcwidth knows every character */

static int locale_is_utf8(void)
{
    const char *cs = nl_langinfo(CODESET);
    return cs && (strcasecmp(cs, "UTF-8") == 0 || strcasecmp(cs, "utf8") == 0);
}

void print_locale_init(void)
{
    if (locale_ready)
        return;
    locale_ready = 1;
    /* The user's LC_CTYPE when it is UTF-8 (libedit then edits UTF-8 input too), else C.UTF-8.
     * Only LC_CTYPE: numbers keep the "C" decimal point. */
    if (!setlocale(LC_CTYPE, "") || !locale_is_utf8())
        setlocale(LC_CTYPE, "C.UTF-8");
    use_wcwidth = locale_is_utf8();
}

/* Without a UTF-8 locale: the East Asian Wide and Fullwidth ranges, and combining marks. */
static int table_width(uint32_t c)
{
    static const uint32_t zero[][2] = {
        {0x0300, 0x036F}, {0x0483, 0x0489}, {0x0591, 0x05BD}, {0x0610, 0x061A}, {0x064B, 0x065F},
        {0x0E31, 0x0E31}, {0x0E34, 0x0E3A}, {0x0E47, 0x0E4E}, {0x1AB0, 0x1AFF}, {0x1DC0, 0x1DFF},
        {0x200B, 0x200F}, {0x20D0, 0x20FF}, {0xFE00, 0xFE0F}, {0xFE20, 0xFE2F}, {0xE0100, 0xE01EF}};
    static const uint32_t wide[][2] = {
        {0x1100, 0x115F},   {0x231A, 0x231B},   {0x2329, 0x232A},   {0x23E9, 0x23EC},
        {0x2614, 0x2615},   {0x2648, 0x2653},   {0x26AA, 0x26AB},   {0x26BD, 0x26BE},
        {0x26C4, 0x26C5},   {0x2705, 0x2705},   {0x270A, 0x270B},   {0x2753, 0x2755},
        {0x2E80, 0x303E},   {0x3041, 0x33FF},   {0x3400, 0x4DBF},   {0x4E00, 0x9FFF},
        {0xA000, 0xA4CF},   {0xA960, 0xA97F},   {0xAC00, 0xD7A3},   {0xF900, 0xFAFF},
        {0xFE10, 0xFE19},   {0xFE30, 0xFE6F},   {0xFF00, 0xFF60},   {0xFFE0, 0xFFE6},
        {0x16FE0, 0x18CFF}, {0x1B000, 0x1B2FF}, {0x1F300, 0x1F64F}, {0x1F680, 0x1F6FF},
        {0x1F900, 0x1F9FF}, {0x1FA70, 0x1FAFF}, {0x20000, 0x2FFFD}, {0x30000, 0x3FFFD}};
    for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++)
        if (c >= zero[i][0] && c <= zero[i][1])
            return 0;
    for (size_t i = 0; i < sizeof wide / sizeof wide[0]; i++)
        if (c >= wide[i][0] && c <= wide[i][1])
            return 2;
    return 1;
}

/* Decode the UTF-8 character at p[*i] and step past it (an invalid or cut sequence: U+FFFD
 * for its first byte alone). */
static uint32_t utf8_next(const unsigned char *p, int64_t len, int64_t *i)
{
    unsigned char b = p[*i];
    if (b < 0x80) {
        (*i)++;
        return b;
    }
    int n = b >= 0xC2 && b <= 0xDF   ? 1
            : b >= 0xE0 && b <= 0xEF ? 2
            : b >= 0xF0 && b <= 0xF4 ? 3
                                     : -1;
    if (n < 0 || *i + n >= len) {
        (*i)++;
        return 0xFFFD;
    }
    uint32_t c = b & (0x3F >> n);
    for (int k = 1; k <= n; k++) {
        if ((p[*i + k] & 0xC0) != 0x80) {
            (*i)++;
            return 0xFFFD;
        }
        c = (c << 6) | (p[*i + k] & 0x3F);
    }
    *i += n + 1;
    return c;
}

int64_t display_width(const char *text, int64_t len)
{
    const unsigned char *p = (const unsigned char *)text;
    int64_t w = 0;
    for (int64_t i = 0; i < len;) {
        if (p[i] < 0x80) { /* ASCII; control characters print as one space */
            w++;
            i++;
            continue;
        }
        if (!locale_ready)
            print_locale_init(); /* at the first non-ASCII text: ASCII-only runs never load it */
        uint32_t c = utf8_next(p, len, &i);
        int cw = use_wcwidth ? wcwidth((wchar_t)c) : table_width(c);
        w += cw < 0 ? 1 : cw;
    }
    return w;
}

/* ---------------------------------------------------------------- rows */

/* Release the batches of the page read. */
static void rows_drop(result_rows *r)
{
    for (int64_t b = 0; b < r->n; b++) {
        es_array_view_reset(&r->views[b]);
        es_array_release(&r->batches[b]);
    }
    r->n = r->rows = 0;
}

void rows_free(result_rows *r)
{
    rows_drop(r);
    es_free(r->batches);
    es_free(r->views);
    es_free(r->types);
    es_free(r->w);
    es_schema_release(&r->schema);
    memset(r, 0, sizeof *r);
}

/* Read the batches of the next page. */
static int rows_page(result_rows *r, struct ArrowArrayStream *s)
{
    r->more = 0;
    while (r->rows < SHELL_PAGE_ROWS) {
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
        r->rows += a->length;
        r->n++;
    }
    r->more = 1;
    return 0;
}

int rows_read(result_rows *r, struct ArrowArrayStream *s)
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
    return rows_page(r, s);
}

static const char *name_of(const result_rows *r, int c)
{
    const char *name = r->schema.children[c]->name;
    return name ? name : "";
}

static int right_align(es_type_id t)
{
    return t != ES_TYPE_UTF8 && t != ES_TYPE_LARGE_UTF8 && t != ES_TYPE_BINARY &&
           t != ES_TYPE_LARGE_BINARY && t != ES_TYPE_FIXED_BINARY && t != ES_TYPE_DATE32 &&
           t != ES_TYPE_DATE64 && t != ES_TYPE_TIMESTAMP && t != ES_TYPE_BOOL;
}

/* The text of value i of col: .nullvalue for NULL, else es_sql_format_value. */
static const char *cell(const shell *sh, const es_array_view *col, int64_t i, char *buf, size_t cap,
                        int64_t *len)
{
    if (es_view_is_null(col, i)) {
        *len = (int64_t)strlen(sh->nullvalue);
        return sh->nullvalue;
    }
    return es_sql_format_value(col, i, buf, cap, len);
}

/* ---------------------------------------------------------------- grids */

typedef struct grid_style {
    const char *top[3], *mid[3], *bottom[3]; /* left, crossing, right of each rule */
    const char *h, *v;                       /* horizontal and vertical lines */
    int markdown;
} grid_style;

static const grid_style ascii_grid = {
    {"+", "+", "+"}, {"+", "+", "+"}, {"+", "+", "+"}, "-", "|", 0};
static const grid_style box_grid = {{"\u250c", "\u252c", "\u2510"},
                                    {"\u251c", "\u253c", "\u2524"},
                                    {"\u2514", "\u2534", "\u2518"},
                                    "\u2500",
                                    "\u2502",
                                    0};
static const grid_style markdown_grid = {{0}, {"|", "|", "|"}, {0}, "-", "|", 1};

/* The width of a cell as put_cell prints it (markdown escapes '|' as "\|"). */
static int64_t cell_width(const char *p, int64_t len, int markdown)
{
    int64_t w = display_width(p, len);
    for (int64_t i = 0; markdown && i < len; i++)
        w += p[i] == '|';
    return w;
}

static void put_cell(FILE *f, const char *p, int64_t len, int64_t width, int right, int markdown)
{
    /* Control characters (newlines in values) are shown as spaces to keep the grid. */
    int64_t pad = width - cell_width(p, len, markdown);
    if (right)
        for (int64_t k = 0; k < pad; k++)
            fputc(' ', f);
    for (int64_t i = 0; i < len; i++) {
        if (markdown && p[i] == '|')
            fputc('\\', f);
        fputc(((unsigned char)p[i] < 0x20) ? ' ' : p[i], f);
    }
    if (!right)
        for (int64_t k = 0; k < pad; k++)
            fputc(' ', f);
}

static void rule(FILE *f, const grid_style *g, const char *const ends[3], const int64_t *w,
                 const result_rows *r)
{
    for (int c = 0; c < r->ncols; c++) {
        fputs(ends[c ? 1 : 0], f);
        int right = g->markdown && right_align(r->types[c].id);
        for (int64_t k = 0; k < w[c] + 2; k++)
            fputs(right && k == w[c] + 1 ? ":" : g->h, f);
    }
    fputs(ends[2], f);
    fputc('\n', f);
}

static int print_grid(shell *sh, result_rows *r, const grid_style *g)
{
    FILE *f = sh->out;
    if (r->ncols == 0)
        return 0;
    char buf[256];
    if (!r->w) { /* the first page: widths, then the header */
        int64_t *w = r->w = es_calloc((size_t)r->ncols, sizeof(int64_t));
        if (!w)
            return 0;
        for (int c = 0; c < r->ncols; c++)
            w[c] = cell_width(name_of(r, c), (int64_t)strlen(name_of(r, c)), g->markdown);
        for (int64_t b = 0; b < r->n; b++) {
            for (int64_t i = 0; i < r->views[b].length; i++) {
                if (shell_sigint())
                    return -1;
                for (int c = 0; c < r->ncols; c++) {
                    int64_t len;
                    const char *p = cell(sh, &r->views[b].children[c], i, buf, sizeof buf, &len);
                    int64_t cw = cell_width(p, len, g->markdown);
                    if (cw > w[c])
                        w[c] = cw;
                }
            }
        }
        if (g->top[0])
            rule(f, g, g->top, w, r);
        for (int c = 0; c < r->ncols; c++) {
            fputs(g->v, f);
            fputc(' ', f);
            put_cell(f, name_of(r, c), (int64_t)strlen(name_of(r, c)), w[c], 0, g->markdown);
            fputc(' ', f);
        }
        fputs(g->v, f);
        fputc('\n', f);
        rule(f, g, g->mid, w, r);
    }
    const int64_t *w = r->w;
    for (int64_t b = 0; b < r->n; b++) {
        for (int64_t i = 0; i < r->views[b].length; i++) {
            if (shell_sigint())
                return -1;
            for (int c = 0; c < r->ncols; c++) {
                int64_t len;
                const char *p = cell(sh, &r->views[b].children[c], i, buf, sizeof buf, &len);
                fputs(g->v, f);
                fputc(' ', f);
                put_cell(f, p, len, w[c], right_align(r->types[c].id), g->markdown);
                fputc(' ', f);
            }
            fputs(g->v, f);
            fputc('\n', f);
        }
    }
    if (!r->more && g->bottom[0])
        rule(f, g, g->bottom, w, r);
    return 0;
}

/* ------------------------------------------------------- other modes */

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

static int print_json(shell *sh, result_rows *r)
{
    FILE *f = sh->out;
    char buf[256];
    int64_t row = r->printed;
    for (int64_t b = 0; b < r->n; b++) {
        for (int64_t i = 0; i < r->views[b].length; i++, row = ++r->printed) {
            if (shell_sigint()) {
                if (row)
                    fputs("\n", f);
                return -1;
            }
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
    if (!r->more)
        fputs(row ? "]\n" : "[]\n", f);
    return 0;
}

static int print_csv(shell *sh, const result_rows *r)
{
    if (r->n == 0 && sh->headers && r->page == 0)
        es_sql_write_csv(sh->out, &r->schema, NULL, ',', 1);
    for (int64_t b = 0; b < r->n; b++) {
        if (shell_sigint())
            return -1;
        es_sql_write_csv(sh->out, &r->schema, &r->batches[b], ',',
                         b == 0 && r->page == 0 && sh->headers);
    }
    return 0;
}

/* list and tabs: values as they are, separated by sep. */
static int print_list(shell *sh, const result_rows *r, const char *sep)
{
    FILE *f = sh->out;
    char buf[256];
    if (sh->headers && r->ncols > 0 && r->page == 0) {
        for (int c = 0; c < r->ncols; c++)
            fprintf(f, "%s%s", c ? sep : "", name_of(r, c));
        fputc('\n', f);
    }
    for (int64_t b = 0; b < r->n; b++) {
        for (int64_t i = 0; i < r->views[b].length; i++) {
            if (shell_sigint())
                return -1;
            for (int c = 0; c < r->ncols; c++) {
                int64_t len;
                const char *p = cell(sh, &r->views[b].children[c], i, buf, sizeof buf, &len);
                if (c)
                    fputs(sep, f);
                fwrite(p, 1, (size_t)len, f);
            }
            fputc('\n', f);
        }
    }
    return 0;
}

/* line: "name = value", names right-aligned, a blank line between rows (as sqlite3). */
static int print_line(shell *sh, result_rows *r)
{
    FILE *f = sh->out;
    char buf[256];
    int64_t nw = 0, row = r->printed;
    for (int c = 0; c < r->ncols; c++) {
        int64_t w = display_width(name_of(r, c), (int64_t)strlen(name_of(r, c)));
        nw = w > nw ? w : nw;
    }
    for (int64_t b = 0; b < r->n; b++) {
        for (int64_t i = 0; i < r->views[b].length; i++, row = ++r->printed) {
            if (shell_sigint())
                return -1;
            if (row)
                fputc('\n', f);
            for (int c = 0; c < r->ncols; c++) {
                const char *name = name_of(r, c);
                for (int64_t k = display_width(name, (int64_t)strlen(name)); k < nw; k++)
                    fputc(' ', f);
                fprintf(f, "%s = ", name);
                int64_t len;
                const char *p = cell(sh, &r->views[b].children[c], i, buf, sizeof buf, &len);
                fwrite(p, 1, (size_t)len, f);
                fputc('\n', f);
            }
        }
    }
    return 0;
}

static int print_page(shell *sh, result_rows *r)
{
    switch (sh->mode) {
    case MODE_BOX:
        return print_grid(sh, r, &box_grid);
    case MODE_MARKDOWN:
        return print_grid(sh, r, &markdown_grid);
    case MODE_CSV:
        return print_csv(sh, r);
    case MODE_JSON:
        return print_json(sh, r);
    case MODE_LINE:
        return print_line(sh, r);
    case MODE_LIST:
        return print_list(sh, r, "|");
    case MODE_TABS:
        return print_list(sh, r, "\t");
    default:
        return print_grid(sh, r, &ascii_grid);
    }
}

int print_result(shell *sh, result_rows *r, struct ArrowArrayStream *s)
{
    for (;;) {
        int rc = print_page(sh, r);
        fflush(sh->out);
        if (rc < 0)
            return -1;
        if (!r->more)
            return 0;
        rows_drop(r);
        r->page++;
        if (rows_page(r, s) < 0) {
            r->more = 0;
            return -2;
        }
    }
}
