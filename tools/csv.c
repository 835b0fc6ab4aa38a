/*
 * csv: CSV for the shell's COPY. Reading is an ArrowArrayStream that parses the file in
 * 64k-row record batches built with es_builder, so es_insert streams a file of any size in one
 * atomic insert; writing prints a materialised result.
 *
 * Dialect (RFC 4180): fields separated by the delimiter, records by \n or \r\n, fields may be
 * quoted with '"' ('""' inside is a quote; delimiters and newlines allowed inside). An unquoted
 * empty field is NULL; a quoted empty field is the empty string.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sql.h"

#define CSV_BATCH_ROWS 65536
#define CSV_CHUNK (8 << 20)

typedef struct csv_field {
    char *p;
    int64_t len;
    int quoted;
} csv_field;

typedef struct csv_reader {
    FILE *f;
    char *path;
    char *buf; /* buf[start..end) unread; one spare byte for a NUL sentinel */
    int64_t start, end, cap;
    int eof;
    char delim;
    int64_t line;
    int64_t bytes_read, file_size;
    struct ArrowSchema schema;
    int ncols;
    es_type *types;
    sql_typeinfo *sql;
    es_builder *bld;
    csv_field *fields;
    int nfields_cap;
    char err[512];
    int progress, progress_shown;
    int64_t rows;
    int done;
} csv_reader;

static int64_t last_rows;

int64_t sql_csv_last_rows(void)
{
    return last_rows;
}

static int fill(csv_reader *r)
{
    if (r->eof)
        return 0;
    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, (size_t)(r->end - r->start));
        r->end -= r->start;
        r->start = 0;
    }
    if (r->end + CSV_CHUNK / 2 > r->cap) {
        int64_t cap = r->cap * 2;
        char *nb = es_realloc(r->buf, (size_t)cap + 1);
        if (!nb)
            return -1;
        r->buf = nb;
        r->cap = cap;
    }
    size_t got = fread(r->buf + r->end, 1, (size_t)(r->cap - r->end), r->f);
    if (got == 0) {
        if (ferror(r->f))
            return -1;
        r->eof = 1;
    }
    r->end += (int64_t)got;
    r->bytes_read += (int64_t)got;
    r->buf[r->end] = 0;
    return 0;
}

/* Split the next record into fields. Returns number of fields, 0 at end, -1 on error. */
static int next_record(csv_reader *r)
{
    for (;;) {
        int64_t i = r->start;
        int nf = 0;
        int need_more = 0;
        if (i >= r->end) {
            if (r->eof)
                return 0;
            if (fill(r) < 0)
                return -1;
            continue;
        }
        for (;;) {
            if (nf == r->nfields_cap) {
                int cap = r->nfields_cap ? r->nfields_cap * 2 : 16;
                csv_field *nfld = es_realloc(r->fields, sizeof(csv_field) * (size_t)cap);
                if (!nfld)
                    return -1;
                r->fields = nfld;
                r->nfields_cap = cap;
            }
            csv_field *fl = &r->fields[nf++];
            if (i < r->end && r->buf[i] == '"') {
                int64_t j = i + 1;
                for (;;) {
                    if (j >= r->end) {
                        need_more = 1;
                        break;
                    }
                    if (r->buf[j] == '"') {
                        if (j + 1 >= r->end && !r->eof) {
                            need_more = 1;
                            break;
                        }
                        if (j + 1 < r->end && r->buf[j + 1] == '"') {
                            j += 2;
                            continue;
                        }
                        break;
                    }
                    j++;
                }
                if (need_more)
                    break;
                fl->p = r->buf + i + 1;
                fl->len = j - i - 1;
                fl->quoted = 1;
                i = j + 1;
            } else {
                char *s = r->buf + i, *e = r->buf + r->end;
                char *q = s;
                while (q < e && *q != r->delim && *q != '\n' && *q != '\r')
                    q++;
                fl->p = s;
                fl->len = q - s;
                fl->quoted = 0;
                i = q - r->buf;
            }
            if (i >= r->end) {
                if (!r->eof) {
                    need_more = 1;
                    break;
                }
                r->start = r->end;
                return nf;
            }
            char c = r->buf[i];
            if (c == r->delim) {
                i++;
                continue;
            }
            if (c == '\r') {
                if (i + 1 >= r->end && !r->eof) {
                    need_more = 1;
                    break;
                }
                i++;
                if (i < r->end && r->buf[i] == '\n')
                    i++;
                r->start = i;
                return nf;
            }
            if (c == '\n') {
                r->start = i + 1;
                return nf;
            }
            /* garbage after a closing quote */
            snprintf(r->err, sizeof r->err, "%s:%lld: unexpected character after quoted field",
                     r->path, (long long)r->line);
            return -1;
        }
        /* Record crosses the end of the buffer: read more and parse it again. */
        int64_t before = r->end - r->start;
        if (fill(r) < 0)
            return -1;
        if (r->eof && r->end - r->start == before && need_more && r->end > r->start) {
            /* Unterminated quote at EOF */
            snprintf(r->err, sizeof r->err, "%s:%lld: unterminated quoted field", r->path,
                     (long long)r->line);
            return -1;
        }
    }
}

static void unescape(csv_field *f)
{
    if (!f->quoted)
        return;
    char *w = f->p;
    for (int64_t k = 0; k < f->len; k++) {
        *w++ = f->p[k];
        if (f->p[k] == '"' && k + 1 < f->len && f->p[k + 1] == '"')
            k++;
    }
    f->len = w - f->p;
}

static int parse_int(const char *p, int64_t n, int64_t *out)
{
    int64_t i = 0;
    while (i < n && p[i] == ' ')
        i++;
    while (n > i && p[n - 1] == ' ')
        n--;
    int neg = 0;
    if (i < n && (p[i] == '-' || p[i] == '+'))
        neg = p[i++] == '-';
    if (i >= n)
        return -1;
    uint64_t v = 0;
    for (; i < n; i++) {
        unsigned d = (unsigned)(p[i] - '0');
        if (d > 9)
            return -1;
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1)
            return -1;
        *out = (int64_t)(0 - v);
    } else {
        if (v > (uint64_t)INT64_MAX)
            return -1;
        *out = (int64_t)v;
    }
    return 0;
}

static int parse_double(const char *p, int64_t n, double *out)
{
    char tmp[64];
    if (n <= 0 || n >= (int64_t)sizeof tmp)
        return -1;
    memcpy(tmp, p, (size_t)n);
    tmp[n] = 0;
    char *end;
    errno = 0;
    *out = strtod(tmp, &end);
    while (*end == ' ')
        end++;
    return end != tmp && *end == 0 ? 0 : -1;
}

static int append_field(csv_reader *r, int c, csv_field *f)
{
    es_builder *b = es_builder_child(r->bld, c);
    const sql_typeinfo *ti = &r->sql[c];
    if (f->len == 0 && !f->quoted)
        return es_builder_append_null(b, 1) == ES_OK ? 0 : -1;
    unescape(f);
    int64_t iv;
    double dv;
    int ok = 0;
    switch (ti->t) {
    case SQL_VARCHAR:
    case SQL_BLOB:
        return es_builder_append_bytes(b, f->p, f->len) == ES_OK ? 0 : -2;
    case SQL_BOOL:
        if ((f->len == 4 && strncasecmp(f->p, "true", 4) == 0) || (f->len == 1 && f->p[0] == '1') ||
            (f->len == 1 && (f->p[0] == 't' || f->p[0] == 'T')))
            iv = 1, ok = 1;
        else if ((f->len == 5 && strncasecmp(f->p, "false", 5) == 0) ||
                 (f->len == 1 && f->p[0] == '0') ||
                 (f->len == 1 && (f->p[0] == 'f' || f->p[0] == 'F')))
            iv = 0, ok = 1;
        break;
    case SQL_REAL:
    case SQL_DOUBLE:
        if (parse_double(f->p, f->len, &dv) == 0)
            return es_builder_append_double(b, dv) == ES_OK ? 0 : -2;
        break;
    case SQL_DECIMAL:
        ok = sql_parse_decimal(f->p, f->len, ti->scale, &iv) == 0 &&
             (ti->precision >= 18 || llabs(iv) < 1000000000000000000LL);
        break;
    case SQL_DATE:
        ok = sql_parse_date(f->p, f->len, &iv) == 0;
        break;
    case SQL_TIMESTAMP:
    case SQL_TIMESTAMPTZ:
        ok = sql_parse_timestamp(f->p, f->len, &iv) == 0;
        break;
    default:
        ok = parse_int(f->p, f->len, &iv) == 0;
    }
    if (!ok)
        return -2;
    if (r->types[c].id == ES_TYPE_DATE64)
        iv *= 86400000;
    return es_builder_append_int(b, iv) == ES_OK ? 0 : -2;
}

static void show_progress(csv_reader *r, int final)
{
    if (!r->progress || r->file_size < (64 << 20))
        return;
    int64_t pos = r->bytes_read - (r->end - r->start);
    int pct = (int)(pos * 100 / (r->file_size ? r->file_size : 1));
    if (final)
        pct = 100;
    int w = 40, fillw = pct * w / 100;
    char bar[64];
    for (int i = 0; i < w; i++)
        bar[i] = i < fillw ? '#' : '.';
    bar[w] = 0;
    fprintf(stderr, "\r[%s] %3d%% %lld rows%s", bar, pct, (long long)r->rows, final ? "\n" : "");
    fflush(stderr);
    r->progress_shown = 1;
}

static int csv_get_schema(struct ArrowArrayStream *s, struct ArrowSchema *out)
{
    csv_reader *r = s->private_data;
    es_error e;
    return es_schema_copy(out, &r->schema, &e) == ES_OK ? 0 : ENOMEM;
}

static int csv_get_next(struct ArrowArrayStream *s, struct ArrowArray *out)
{
    csv_reader *r = s->private_data;
    memset(out, 0, sizeof *out);
    if (r->done)
        return 0;
    int64_t n = 0;
    for (int c = 0; c < r->ncols; c++)
        if (es_builder_reserve(es_builder_child(r->bld, c), CSV_BATCH_ROWS) != ES_OK)
            return ENOMEM;
    while (n < CSV_BATCH_ROWS) {
        int nf = next_record(r);
        if (nf < 0) {
            if (!r->err[0])
                snprintf(r->err, sizeof r->err, "%s: read error", r->path);
            return EIO;
        }
        r->line++;
        if (nf == 0) {
            r->done = 1;
            break;
        }
        if (nf == 1 && r->fields[0].len == 0 && !r->fields[0].quoted)
            continue; /* blank line */
        if (nf != r->ncols) {
            snprintf(r->err, sizeof r->err, "%s:%lld: expected %d fields, found %d", r->path,
                     (long long)r->line, r->ncols, nf);
            return EINVAL;
        }
        for (int c = 0; c < r->ncols; c++) {
            int rc = append_field(r, c, &r->fields[c]);
            if (rc < 0) {
                char tn[64];
                sql_typeinfo_name(tn, sizeof tn, &r->sql[c]);
                csv_field *f = &r->fields[c];
                snprintf(r->err, sizeof r->err, "%s:%lld: column %s: cannot parse '%.*s' as %s",
                         r->path, (long long)r->line, r->schema.children[c]->name,
                         (int)(f->len > 40 ? 40 : f->len), f->p, tn);
                return EINVAL;
            }
        }
        if (es_builder_append_struct(r->bld) != ES_OK)
            return ENOMEM;
        n++;
    }
    r->rows += n;
    last_rows = r->rows;
    show_progress(r, r->done);
    if (n == 0)
        return 0;
    es_error e;
    if (es_builder_finish(r->bld, out, &e) != ES_OK) {
        snprintf(r->err, sizeof r->err, "%.100s: %.400s", r->path, e.msg);
        return EINVAL;
    }
    return 0;
}

static const char *csv_last_error(struct ArrowArrayStream *s)
{
    csv_reader *r = s->private_data;
    return r->err[0] ? r->err : NULL;
}

static void csv_free(csv_reader *r)
{
    if (!r)
        return;
    if (r->progress_shown && !r->done)
        fprintf(stderr, "\n");
    if (r->f)
        fclose(r->f);
    es_free(r->path);
    es_free(r->buf);
    es_schema_release(&r->schema);
    es_free(r->types);
    es_free(r->sql);
    es_builder_free(r->bld);
    es_free(r->fields);
    es_free(r);
}

static void csv_release(struct ArrowArrayStream *s)
{
    csv_free(s->private_data);
    s->release = NULL;
}

int sql_csv_stream_open(struct ArrowArrayStream *out, const char *path,
                        const struct ArrowSchema *schema, int header, char delim, int progress,
                        char *err, size_t errcap)
{
    memset(out, 0, sizeof *out);
    last_rows = 0;
    csv_reader *r = es_calloc(1, sizeof *r);
    es_error e;
    if (!r) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    r->delim = delim;
    r->progress = progress;
    r->path = es_strdup(path);
    r->f = fopen(path, "rb");
    if (!r->f) {
        snprintf(err, errcap, "%s: %s", path, strerror(errno));
        csv_free(r);
        return -1;
    }
    struct stat stt;
    if (fstat(fileno(r->f), &stt) == 0)
        r->file_size = stt.st_size;
    r->cap = CSV_CHUNK;
    r->buf = es_malloc((size_t)r->cap + 1);
    r->ncols = (int)schema->n_children;
    r->types = es_calloc((size_t)(r->ncols ? r->ncols : 1), sizeof(es_type));
    r->sql = es_calloc((size_t)(r->ncols ? r->ncols : 1), sizeof(sql_typeinfo));
    if (!r->path || !r->buf || !r->types || !r->sql ||
        es_schema_copy(&r->schema, schema, &e) != ES_OK ||
        es_builder_new(&r->bld, schema, &e) != ES_OK) {
        snprintf(err, errcap, "%s: out of memory", path);
        csv_free(r);
        return -1;
    }
    for (int c = 0; c < r->ncols; c++) {
        if (es_type_parse(&r->types[c], schema->children[c]->format, NULL) != ES_OK ||
            sql_type_from_arrow(&r->sql[c], schema->children[c]->format) < 0) {
            snprintf(err, errcap, "column %s: unsupported type for CSV",
                     schema->children[c]->name);
            csv_free(r);
            return -1;
        }
    }
    if (header) {
        int nf = next_record(r);
        if (nf < 0) {
            snprintf(err, errcap, "%.400s", r->err[0] ? r->err : "read error");
            csv_free(r);
            return -1;
        }
        r->line++;
    }
    out->get_schema = csv_get_schema;
    out->get_next = csv_get_next;
    out->get_last_error = csv_last_error;
    out->release = csv_release;
    out->private_data = r;
    return 0;
}

static void write_csv_field(FILE *f, const char *p, int64_t len, char delim)
{
    int quote = len == 0;
    for (int64_t i = 0; i < len && !quote; i++)
        if (p[i] == delim || p[i] == '"' || p[i] == '\n' || p[i] == '\r')
            quote = 1;
    if (len > 0 && (p[0] == ' ' || p[len - 1] == ' '))
        quote = 1;
    if (!quote) {
        fwrite(p, 1, (size_t)len, f);
        return;
    }
    fputc('"', f);
    for (int64_t i = 0; i < len; i++) {
        if (p[i] == '"')
            fputc('"', f);
        fputc(p[i], f);
    }
    fputc('"', f);
}

int sql_csv_write(FILE *f, const sql_result *r, char delim, int header)
{
    if (header) {
        for (int c = 0; c < r->ncols; c++) {
            if (c)
                fputc(delim, f);
            write_csv_field(f, r->names[c], (int64_t)strlen(r->names[c]), delim);
        }
        fputc('\n', f);
    }
    char buf[256];
    for (int64_t i = 0; i < r->nrows; i++) {
        for (int c = 0; c < r->ncols; c++) {
            if (c)
                fputc(delim, f);
            const sql_vec *v = &r->cols[c];
            if (v->nulls[i])
                continue;
            int64_t len;
            const char *p = sql_vec_format(v, i, buf, sizeof buf, &len);
            if (v->ty.t == SQL_VARCHAR || v->ty.t == SQL_BLOB)
                write_csv_field(f, p, len, delim);
            else
                fwrite(p, 1, (size_t)len, f);
        }
        fputc('\n', f);
    }
    return ferror(f) ? -1 : 0;
}
