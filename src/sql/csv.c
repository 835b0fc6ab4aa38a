/*
 * csv: CSV for COPY (see sql/sql.h for the files, sql/exec.h for the interfaces). Reading is an
 * ArrowArrayStream that parses the file in blocks on the store's threads (see "Parallel load"
 * below) into record batches of up to 64k rows, so es_insert streams a file of any size in one
 * atomic insert; the batches' Arrow buffers are filled in place (es_builder is the
 * fallback for column types the direct path does not handle). Writing (es_sql_write_csv) prints the
 * record batches of a result.
 *
 * Dialect (RFC 4180): fields separated by the delimiter, records by \n or \r\n, fields may be
 * quoted with '"' ('""' inside is a quote; delimiters and newlines allowed inside). An unquoted
 * empty field is NULL; a quoted empty field is the empty string (the writer quotes it), and a
 * blank line of a one-column table is a NULL. The last record may end without a newline. A
 * record longer than CSV_MAX_RECORD bytes is refused. Without a HEADER option, the first
 * record is a header when its fields are the table's column names (as COPY TO writes them).
 * A UTF-8 byte order mark at the start of the file is skipped.
 */
#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sql/exec.h"

#define CSV_BATCH_ROWS 65536
#define CSV_CHUNK (8 << 20)
/* The longest record (line, or quoted lines) accepted: past it the input is refused rather
 * than buffered without bound (a file with no line ends, /dev/zero, a FIFO). */
#define CSV_MAX_RECORD (16 << 20)

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
    int direct;        /* every column has a type the direct path handles */
    struct colbuf *cb; /* direct path: one buffer set per column for the current batch */
    csv_field *fields;
    int nfields_cap;
    char err[512];
    es_sql_progress_callback progress;
    void *progress_arg;
    int64_t *rows_out; /* the caller's row count */
    int why;           /* SQL_CONV_* of the last field refused */
    int64_t rows;
    int done;
    /* Parallel load: a parser of one block (owner 0: the config is borrowed from the load). */
    int owner;
    int more;         /* bytes follow the buffer in the file: a record at its end is cut */
    int64_t err_line; /* the record of err, counted in the buffer (-1: none) */
    char *scratch;    /* a quoted field with "" unescaped (the buffer itself stays as read) */
    int64_t scratch_cap;
    int cut; /* parse_next stopped at a record that goes on in the next block */
} csv_reader;

/* Record an error of record `line` of the buffer (the line of the file is added on delivery). */
__attribute__((format(printf, 3, 4))) static int fail_at(csv_reader *r, int64_t line,
                                                         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    r->err_line = line;
    return -1;
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

/* The lowest byte of w equal to a byte of m (each byte of m the same), as a set high bit in
 * that byte (bytes above it may be set too): the word-at-a-time zero-byte test. */
static inline uint64_t byte_eq(uint64_t w, uint64_t m)
{
    uint64_t v = w ^ m;
    return (v - 0x0101010101010101ULL) & ~v & 0x8080808080808080ULL;
}

/* The end of an unquoted field starting at s: the first delimiter, '\n' or '\r' before e, else
 * e; eight bytes at a time. */
static inline char *field_end(char *s, char *e, char delim)
{
    const uint64_t ones = 0x0101010101010101ULL, dm = ones * (uint8_t)delim;
    while (e - s >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        uint64_t x = byte_eq(w, dm) | byte_eq(w, ones * '\n') | byte_eq(w, ones * '\r');
        if (x)
            return s + (__builtin_ctzll(x) >> 3);
        s += 8;
    }
    while (s < e && *s != delim && *s != '\n' && *s != '\r')
        s++;
    return s;
}

/* Split the next record into fields. Returns number of fields, 0 at end, -1 on error. */
static int next_record(csv_reader *r)
{
    for (;;) {
        int64_t i = r->start;
        int nf = 0;
        int need_more = 0, in_quote = 0, was_eof = r->eof;
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
                        need_more = in_quote = 1;
                        break;
                    }
                    if (r->buf[j] == '"') {
                        if (j + 1 >= r->end && (!r->eof || r->more)) {
                            need_more = in_quote = 1;
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
                char *q = field_end(s, e, r->delim);
                fl->p = s;
                fl->len = q - s;
                fl->quoted = 0;
                i = q - r->buf;
            }
            if (i >= r->end) {
                if (!r->eof || r->more) {
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
                if (i + 1 >= r->end && (!r->eof || r->more)) {
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
            return fail_at(r, r->line + 1, "unexpected character after quoted field");
        }
        /* Record crosses the end of the buffer: read more and parse it again. */
        if (r->end - r->start > CSV_MAX_RECORD)
            return fail_at(r, r->line + 1,
                           "record longer than %d MiB (the maximum record size): is this a "
                           "CSV file with line ends?",
                           CSV_MAX_RECORD >> 20);
        if (was_eof && r->more)
            return -3; /* the record goes on in the next block */
        if (was_eof)   /* only a quote left open at the end of the input needs bytes after it */
            return fail_at(r, r->line + 1, "unterminated quoted field");
        if (fill(r) < 0)
            return -1;
    }
}

/* A quoted field's value: '""' becomes '"', in the parser's scratch buffer (the block keeps
 * its bytes as read: a block parsed from a wrong start is parsed again). -1 out of memory. */
static int unescape(csv_reader *r, csv_field *f)
{
    if (!f->quoted || !memchr(f->p, '"', (size_t)f->len))
        return 0;
    if (f->len > r->scratch_cap) {
        char *n = es_realloc(r->scratch, (size_t)f->len);
        if (!n)
            return -1;
        r->scratch = n;
        r->scratch_cap = f->len;
    }
    char *w = r->scratch;
    for (int64_t k = 0; k < f->len; k++) {
        *w++ = f->p[k];
        if (f->p[k] == '"' && k + 1 < f->len && f->p[k + 1] == '"')
            k++;
    }
    f->p = r->scratch;
    f->len = w - r->scratch;
    return 0;
}

/* Parse field f of column c with the conversion rules of CAST and INSERT (sql_conv_text).
 * Returns 0 (with *isnull, or the value in *iv / *dv / the field's bytes), -2 with r->why
 * set (SQL_CONV_*) when the text is not a value of the column's type, -1 out of memory. */
static int parse_field(csv_reader *r, int c, csv_field *f, int *isnull, int64_t *iv, double *dv)
{
    const sql_typeinfo *ti = &r->sql[c];
    *isnull = f->len == 0 && !f->quoted;
    if (*isnull)
        return 0;
    if (unescape(r, f) < 0)
        return -1;
    if (ti->t == SQL_BLOB)
        return 0;
    sql_value v;
    int rc = sql_conv_text(ti, f->p, f->len, &v);
    if (rc) {
        r->why = rc;
        return -2;
    }
    *iv = v.i;
    *dv = v.f;
    switch (ti->t) {
    case SQL_DATE:
        if (r->types[c].id == ES_TYPE_DATE64)
            *iv *= 86400000;
        break;
    case SQL_TIMESTAMP:
    case SQL_TIMESTAMPTZ: {
        es_time_unit u = r->types[c].unit;
        if (u == ES_SECOND)
            *iv = *iv >= 0 ? *iv / 1000000 : -((-*iv + 999999) / 1000000);
        else if (u == ES_MILLI)
            *iv = *iv >= 0 ? *iv / 1000 : -((-*iv + 999) / 1000);
        else if (u == ES_NANO && __builtin_mul_overflow(*iv, 1000, iv))
            return r->why = SQL_CONV_RANGE, -2;
        break;
    }
    default:
        break;
    }
    return 0;
}

static int append_field(csv_reader *r, int c, csv_field *f)
{
    es_builder *b = es_builder_child(r->bld, c);
    int isnull;
    int64_t iv = 0;
    double dv = 0;
    r->why = SQL_CONV_RANGE; /* unless parse_field says otherwise: the value does not fit */
    int prc = parse_field(r, c, f, &isnull, &iv, &dv);
    if (prc < 0)
        return prc;
    if (isnull)
        return es_builder_append_null(b, 1) == ES_OK ? 0 : -1;
    switch (r->sql[c].t) {
    case SQL_VARCHAR:
    case SQL_BLOB:
        return es_builder_append_bytes(b, f->p, f->len) == ES_OK ? 0 : -2;
    case SQL_REAL:
    case SQL_DOUBLE:
        return es_builder_append_double(b, dv) == ES_OK ? 0 : -2;
    default:
        return es_builder_append_int(b, iv) == ES_OK ? 0 : -2;
    }
}

/* ------------------------------------------------------------------------------------------
 * Direct path: the batch's Arrow buffers are filled in place (C Data Interface structs with our
 * own release callbacks), without per-value builder calls or buffer regrowth.
 */

typedef struct colbuf {
    es_type_id id;
    int width;         /* bytes per value; 0 for varlen; -1 for bool (bitmap) */
    uint8_t *validity; /* bitmap, all ones at the start */
    int64_t null_count;
    uint8_t *values; /* fixed-width values or bool bitmap */
    int32_t *offsets;
    uint8_t *data;
    int64_t dlen, dcap, last_dcap;
} colbuf;

typedef struct child_priv {
    void *bufs[3];
    const void *ptrs[3];
} child_priv;

typedef struct parent_priv {
    struct ArrowArray *kids;
    struct ArrowArray **kidp;
    const void *ptrs[1];
    int64_t n;
} parent_priv;

static int direct_width(es_type_id id)
{
    switch (id) {
    case ES_TYPE_BOOL:
        return -1;
    case ES_TYPE_INT16:
        return 2;
    case ES_TYPE_INT32:
    case ES_TYPE_DATE32:
    case ES_TYPE_FLOAT32:
        return 4;
    case ES_TYPE_INT64:
    case ES_TYPE_FLOAT64:
    case ES_TYPE_TIMESTAMP:
    case ES_TYPE_DATE64:
        return 8;
    case ES_TYPE_DECIMAL128:
        return 16;
    case ES_TYPE_UTF8:
    case ES_TYPE_BINARY:
        return 0;
    default:
        return -2; /* not handled */
    }
}

static void colbuf_free(colbuf *b)
{
    es_free(b->validity);
    es_free(b->values);
    es_free(b->offsets);
    es_free(b->data);
    b->validity = b->values = b->data = NULL;
    b->offsets = NULL;
}

static int colbuf_start(colbuf *b)
{
    size_t bits = (CSV_BATCH_ROWS + 7) / 8;
    b->validity = es_malloc(bits);
    if (!b->validity)
        return -1;
    memset(b->validity, 0xFF, bits);
    b->null_count = 0;
    if (b->width == -1) {
        b->values = es_calloc(1, bits);
    } else if (b->width > 0) {
        b->values = es_malloc((size_t)b->width * CSV_BATCH_ROWS);
    } else {
        b->offsets = es_malloc(sizeof(int32_t) * (CSV_BATCH_ROWS + 1));
        b->dcap = b->last_dcap > 4096 ? b->last_dcap : 4096;
        b->data = es_malloc((size_t)b->dcap);
        if (!b->offsets || !b->data)
            return -1;
        b->offsets[0] = 0;
        b->dlen = 0;
        return 0;
    }
    return b->values ? 0 : -1;
}

/* Store row i of column c. Returns 0, -1 out of memory, -2 value out of range. */
static int direct_put(csv_reader *r, int c, int64_t i, csv_field *f)
{
    colbuf *b = &r->cb[c];
    int isnull;
    int64_t iv = 0;
    double dv = 0;
    r->why = SQL_CONV_RANGE; /* unless parse_field says otherwise: the value does not fit */
    int prc = parse_field(r, c, f, &isnull, &iv, &dv);
    if (prc < 0)
        return prc;
    if (isnull) {
        b->validity[i >> 3] &= (uint8_t) ~(1u << (i & 7));
        b->null_count++;
        if (b->width > 0)
            memset(b->values + (size_t)b->width * (size_t)i, 0, (size_t)b->width);
        else if (b->width == 0)
            b->offsets[i + 1] = (int32_t)b->dlen;
        return 0;
    }
    uint8_t *dst = b->width > 0 ? b->values + (size_t)b->width * (size_t)i : NULL;
    switch (b->id) {
    case ES_TYPE_BOOL:
        if (iv)
            b->values[i >> 3] |= (uint8_t)(1u << (i & 7));
        return 0;
    case ES_TYPE_INT16: {
        if (iv < INT16_MIN || iv > INT16_MAX)
            return -2;
        int16_t x = (int16_t)iv;
        memcpy(dst, &x, 2);
        return 0;
    }
    case ES_TYPE_INT32:
    case ES_TYPE_DATE32: {
        if (iv < INT32_MIN || iv > INT32_MAX)
            return -2;
        int32_t x = (int32_t)iv;
        memcpy(dst, &x, 4);
        return 0;
    }
    case ES_TYPE_FLOAT32: {
        float x = (float)dv;
        memcpy(dst, &x, 4);
        return 0;
    }
    case ES_TYPE_FLOAT64:
        memcpy(dst, &dv, 8);
        return 0;
    case ES_TYPE_DECIMAL128: {
        int64_t hi = iv < 0 ? -1 : 0;
        memcpy(dst, &iv, 8);
        memcpy(dst + 8, &hi, 8);
        return 0;
    }
    case ES_TYPE_UTF8:
    case ES_TYPE_BINARY:
        if (b->dlen + f->len > INT32_MAX)
            return -2;
        if (b->dlen + f->len > b->dcap) {
            int64_t cap = b->dcap * 2;
            while (cap < b->dlen + f->len)
                cap *= 2;
            uint8_t *nd = es_realloc(b->data, (size_t)cap);
            if (!nd)
                return -1;
            b->data = nd;
            b->dcap = cap;
        }
        if (f->len)
            memcpy(b->data + b->dlen, f->p, (size_t)f->len);
        b->dlen += f->len;
        b->offsets[i + 1] = (int32_t)b->dlen;
        return 0;
    default: /* int64, timestamp, date64 */
        memcpy(dst, &iv, 8);
        return 0;
    }
}

static void child_release(struct ArrowArray *a)
{
    child_priv *p = a->private_data;
    for (int i = 0; i < 3; i++)
        es_free(p->bufs[i]);
    es_free(p);
    a->release = NULL;
}

static void parent_release(struct ArrowArray *a)
{
    parent_priv *p = a->private_data;
    for (int64_t i = 0; i < p->n; i++)
        if (p->kids[i].release)
            p->kids[i].release(&p->kids[i]);
    es_free(p->kids);
    es_free(p->kidp);
    es_free(p);
    a->release = NULL;
}

/* Move the column buffers of the current batch (n rows) into *out. */
static int direct_finish(csv_reader *r, int64_t n, struct ArrowArray *out)
{
    parent_priv *pp = es_calloc(1, sizeof *pp);
    if (!pp)
        return -1;
    pp->n = r->ncols;
    pp->kids = es_calloc((size_t)(r->ncols ? r->ncols : 1), sizeof(struct ArrowArray));
    pp->kidp = es_calloc((size_t)(r->ncols ? r->ncols : 1), sizeof(struct ArrowArray *));
    if (!pp->kids || !pp->kidp) {
        es_free(pp->kids);
        es_free(pp->kidp);
        es_free(pp);
        return -1;
    }
    for (int c = 0; c < r->ncols; c++) {
        colbuf *b = &r->cb[c];
        struct ArrowArray *k = &pp->kids[c];
        child_priv *cp = es_calloc(1, sizeof *cp);
        if (!cp) {
            parent_release(&(struct ArrowArray){.private_data = pp});
            return -1;
        }
        k->length = n;
        k->null_count = b->null_count;
        k->n_buffers = b->width == 0 ? 3 : 2;
        k->buffers = cp->ptrs;
        k->private_data = cp;
        k->release = child_release;
        if (b->null_count) {
            cp->bufs[0] = b->validity;
        } else {
            es_free(b->validity);
        }
        cp->ptrs[0] = b->null_count ? b->validity : NULL;
        if (b->width == 0) {
            cp->bufs[1] = b->offsets;
            cp->bufs[2] = b->data;
            cp->ptrs[1] = b->offsets;
            cp->ptrs[2] = b->data;
            b->last_dcap = b->dcap;
        } else {
            cp->bufs[1] = b->values;
            cp->ptrs[1] = b->values;
        }
        b->validity = b->values = b->data = NULL;
        b->offsets = NULL;
        pp->kidp[c] = k;
    }
    memset(out, 0, sizeof *out);
    out->length = n;
    out->null_count = 0;
    out->n_buffers = 1;
    pp->ptrs[0] = NULL;
    out->buffers = pp->ptrs;
    out->n_children = r->ncols;
    out->children = pp->kidp;
    out->private_data = pp;
    out->release = parent_release;
    return 0;
}

/* The next record batch of the parser's buffer (release NULL at its end). Errors: EINVAL or
 * EIO with r->err (and r->err_line), ENOMEM. */
static int parse_next(csv_reader *r, struct ArrowArray *out)
{
    memset(out, 0, sizeof *out);
    if (r->done)
        return 0;
    int64_t n = 0;
    for (int c = 0; c < r->ncols; c++) {
        if (r->direct) {
            colbuf_free(&r->cb[c]);
            if (colbuf_start(&r->cb[c]) < 0)
                return ENOMEM;
        } else if (es_builder_reserve(es_builder_child(r->bld, c), CSV_BATCH_ROWS) != ES_OK) {
            return ENOMEM;
        }
    }
    while (n < CSV_BATCH_ROWS) {
        int nf = next_record(r);
        if (nf == -3) { /* the last record goes on in the next block */
            r->cut = 1;
            r->done = 1;
            break;
        }
        if (nf < 0) {
            if (!r->err[0])
                fail_at(r, -1, "read error");
            return EIO;
        }
        if (nf == 0) {
            r->done = 1;
            break;
        }
        r->line++;
        if (nf == 1 && r->fields[0].len == 0 && !r->fields[0].quoted && r->ncols > 1)
            continue; /* blank line (in a one-column table it is a NULL, as written) */
        if (nf != r->ncols) {
            fail_at(r, r->line, "expected %d fields, found %d", r->ncols, nf);
            return EINVAL;
        }
        for (int c = 0; c < r->ncols; c++) {
            int rc =
                r->direct ? direct_put(r, c, n, &r->fields[c]) : append_field(r, c, &r->fields[c]);
            if (rc == -1)
                return ENOMEM;
            if (rc < 0) {
                char m[256];
                csv_field *f = &r->fields[c];
                sql_conv_message(m, sizeof m, r->why, &r->sql[c], f->p, f->len);
                fail_at(r, r->line, "column %s: %s", r->schema.children[c]->name, m);
                return EINVAL;
            }
        }
        if (!r->direct && es_builder_append_struct(r->bld) != ES_OK)
            return ENOMEM;
        n++;
    }
    r->rows += n;
    if (n == 0)
        return 0;
    if (r->direct)
        return direct_finish(r, n, out) < 0 ? ENOMEM : 0;
    es_error e;
    if (es_builder_finish(r->bld, out, &e) != ES_OK) {
        fail_at(r, -1, "%.400s", e.msg);
        return EINVAL;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------
 * Parallel load. The file is read in blocks of about CSV_BLOCK bytes, each cut after its last
 * line end. The store's threads (es_store_set_threads; the consumer counts as one and works
 * too while the block it waits for is not parsed) each take the next block and parse it into
 * record batches with a parser of their own; the consumer hands the batches out in file
 * order, so the rows and their order are those of a sequential read. A cut may fall inside a
 * quoted field holding a line end: then the block's last record does not end in the block,
 * its parser says where that record starts, and the consumer parses it and the next block
 * again as one (blocks keep their bytes as read: unescaping goes to a scratch buffer). A
 * parser counts the records of its block; the consumer adds the records before it, so an
 * error names the line of the file as a sequential read would. At most max_inflight blocks
 * are read and not yet handed out.
 */
#define CSV_BLOCK (4 << 20)

typedef struct csv_block {
    char *raw; /* the block's bytes and a NUL; NULL for a read error */
    int64_t len;
    int more;   /* bytes follow in the file */
    int parsed; /* results below are ready */
    struct ArrowArray *b;
    int64_t nb, cap;
    int64_t lines; /* records parsed, blank lines too */
    int rc;        /* 0, EINVAL, EIO or ENOMEM (err, err_line) */
    int64_t err_line;
    char err[512];
    int cut; /* the last record goes on in the next block; it starts at raw[tail] */
    int64_t tail;
    struct csv_block *next;
} csv_block;

typedef struct csv_load csv_load;

typedef struct csv_thread {
    csv_load *load;
    csv_reader *w;
} csv_thread;

struct csv_load {
    csv_reader main; /* owns the file and the configuration; read the header */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int nth; /* worker threads started */
    pthread_t *th;
    csv_thread *ta;
    csv_reader *tp; /* parsers: one per thread, then the consumer's */
    int ntp;
    int max_inflight, started;
    int64_t block; /* bytes per block read (CSV_BLOCK; ES_CSV_BLOCK in the tests) */
    /* reading, under mu */
    char *pend; /* bytes read after the last cut */
    int64_t pend_len, pend_cap;
    int read_done; /* the last block is read (or reading failed) */
    int read_rc;   /* ENOMEM: a block could not be allocated */
    int inflight;  /* blocks in the list */
    csv_block *head, *last;
    int stop;
    /* delivery, consumer only */
    csv_block *cur, *after; /* being handed out; to hand out next (a cut record, parsed again) */
    int64_t cur_i;
    int64_t line_base; /* records of the file before cur */
    int64_t bytes_done;
    int failed;
    int reported;
};

static void block_free(csv_block *k)
{
    if (!k)
        return;
    for (int64_t i = 0; i < k->nb; i++)
        if (k->b[i].release)
            k->b[i].release(&k->b[i]);
    es_free(k->b);
    es_free(k->raw);
    es_free(k);
}

/* Read the next block (under mu). NULL at the end of the file or when no block can be
 * allocated (read_rc). A read error is a block with rc EIO and no bytes. */
static csv_block *read_block(csv_load *L)
{
    csv_reader *r = &L->main;
    if (L->read_done || (r->eof && L->pend_len == 0)) {
        L->read_done = 1;
        return NULL;
    }
    csv_block *k = es_calloc(1, sizeof *k);
    int64_t cap = L->pend_len + L->block, len = L->pend_len, cut;
    char *raw = k ? es_malloc((size_t)cap + 1) : NULL;
    if (!raw)
        goto oom;
    memcpy(raw, L->pend, (size_t)L->pend_len);
    L->pend_len = 0;
    for (;;) {
        if (!r->eof) {
            size_t want = (size_t)(cap - len), got = fread(raw + len, 1, want, r->f);
            len += (int64_t)got;
            if (got < want) {
                if (ferror(r->f)) {
                    es_free(raw);
                    k->rc = EIO;
                    k->err_line = -1;
                    snprintf(k->err, sizeof k->err, "read error: %s", strerror(errno));
                    k->parsed = 1;
                    L->read_done = 1;
                    return k;
                }
                r->eof = 1;
            }
        }
        char *nl = r->eof ? NULL : memrchr(raw, '\n', (size_t)len);
        if (r->eof || nl || len > CSV_MAX_RECORD) {
            cut = nl ? nl + 1 - raw : len;
            break;
        }
        cap *= 2; /* no line end yet */
        char *nr = es_realloc(raw, (size_t)cap + 1);
        if (!nr)
            goto oom;
        raw = nr;
    }
    if (len > cut) {
        if (len - cut > L->pend_cap) {
            char *np = es_realloc(L->pend, (size_t)(len - cut));
            if (!np)
                goto oom;
            L->pend = np;
            L->pend_cap = len - cut;
        }
        memcpy(L->pend, raw + cut, (size_t)(len - cut));
        L->pend_len = len - cut;
    }
    if (cut == 0) { /* nothing left */
        es_free(raw);
        es_free(k);
        L->read_done = 1;
        return NULL;
    }
    raw[cut] = 0;
    k->raw = raw;
    k->len = cut;
    k->more = !(r->eof && L->pend_len == 0);
    L->read_done = !k->more;
    return k;
oom:
    es_free(raw);
    es_free(k);
    L->read_rc = ENOMEM;
    L->read_done = 1;
    return NULL;
}

static void link_block(csv_load *L, csv_block *k)
{
    if (L->last)
        L->last->next = k;
    else
        L->head = k;
    L->last = k;
    L->inflight++;
}

static csv_block *pop_block(csv_load *L)
{
    csv_block *k = L->head;
    L->head = k->next;
    if (!L->head)
        L->last = NULL;
    k->next = NULL;
    L->inflight--;
    pthread_cond_broadcast(&L->cv);
    return k;
}

/* Parse block k with parser w into k's batches. */
static void parse_block(csv_reader *w, csv_block *k)
{
    w->buf = k->raw;
    w->start = 0;
    w->end = w->cap = k->len;
    w->eof = 1;
    w->more = k->more;
    w->line = w->rows = 0;
    w->done = w->cut = 0;
    w->err[0] = 0;
    w->err_line = -1;
    while (!k->rc) {
        struct ArrowArray a;
        k->rc = parse_next(w, &a);
        if (k->rc || !a.release)
            break;
        if (k->nb == k->cap) {
            int64_t nc = k->cap ? 2 * k->cap : 4;
            struct ArrowArray *nb = es_realloc(k->b, (size_t)nc * sizeof *nb);
            if (!nb) {
                a.release(&a);
                k->rc = ENOMEM;
                break;
            }
            k->b = nb;
            k->cap = nc;
        }
        k->b[k->nb++] = a;
    }
    if (k->rc) {
        memcpy(k->err, w->err, sizeof k->err);
        k->err_line = w->err_line;
    }
    k->lines = w->line;
    k->cut = w->cut;
    k->tail = w->start;
    w->buf = NULL;
}

static void *csv_worker(void *arg)
{
    csv_thread *t = arg;
    csv_load *L = t->load;
    pthread_mutex_lock(&L->mu);
    for (;;) {
        while (!L->stop && !L->read_done && L->inflight >= L->max_inflight)
            pthread_cond_wait(&L->cv, &L->mu);
        csv_block *k = L->stop ? NULL : read_block(L);
        if (!k)
            break;
        link_block(L, k);
        if (!k->parsed) {
            pthread_mutex_unlock(&L->mu);
            parse_block(t->w, k);
            pthread_mutex_lock(&L->mu);
        }
        k->parsed = 1;
        pthread_cond_broadcast(&L->cv);
    }
    pthread_cond_broadcast(&L->cv);
    pthread_mutex_unlock(&L->mu);
    return NULL;
}

/* The next block in file order, parsed (NULL at the end); the consumer parses blocks itself
 * while the one it waits for is not ready and there is room for another. */
static int next_block(csv_load *L, csv_block **out)
{
    int rc = 0;
    *out = NULL;
    pthread_mutex_lock(&L->mu);
    for (;;) {
        if (L->head && L->head->parsed) {
            *out = pop_block(L);
            break;
        }
        if (!L->head && L->read_done) {
            rc = L->read_rc;
            break;
        }
        if (!L->read_done && L->inflight < L->max_inflight) {
            csv_block *k = read_block(L);
            if (k) {
                link_block(L, k);
                if (!k->parsed) {
                    pthread_mutex_unlock(&L->mu);
                    parse_block(&L->tp[L->ntp - 1], k);
                    pthread_mutex_lock(&L->mu);
                }
                k->parsed = 1;
                pthread_cond_broadcast(&L->cv);
            }
            continue;
        }
        pthread_cond_wait(&L->cv, &L->mu);
    }
    pthread_mutex_unlock(&L->mu);
    return rc;
}

/* Block k's last record goes on in the next block: parse it and that block again as one
 * block (*out), in place of the next one. */
static int fix_cut(csv_load *L, const csv_block *k, csv_block **out)
{
    csv_block *n = NULL;
    *out = NULL;
    pthread_mutex_lock(&L->mu);
    for (;;) {
        if (L->head && L->head->parsed) {
            n = pop_block(L);
            break;
        }
        if (!L->head) {
            n = read_block(L); /* NULL at the end of the file */
            break;
        }
        pthread_cond_wait(&L->cv, &L->mu); /* a thread is parsing it */
    }
    int rrc = L->read_rc;
    pthread_mutex_unlock(&L->mu);
    if (rrc)
        return rrc;
    if (n && !n->raw) { /* a read error */
        *out = n;
        return 0;
    }
    int64_t tl = k->len - k->tail, nl = n ? n->len : 0;
    csv_block *m = es_calloc(1, sizeof *m);
    char *raw = es_malloc((size_t)(tl + nl + 1));
    if (!m || !raw) {
        es_free(m);
        es_free(raw);
        block_free(n);
        return ENOMEM;
    }
    memcpy(raw, k->raw + k->tail, (size_t)tl);
    if (n)
        memcpy(raw + tl, n->raw, (size_t)nl);
    raw[tl + nl] = 0;
    m->raw = raw;
    m->len = tl + nl;
    m->more = n ? n->more : 0;
    block_free(n);
    parse_block(&L->tp[L->ntp - 1], m);
    m->parsed = 1;
    *out = m;
    return 0;
}

static void report(csv_load *L, int end)
{
    csv_reader *r = &L->main;
    L->reported = 1;
    if (r->progress)
        r->progress(r->progress_arg, L->bytes_done, r->file_size, r->rows, end);
}

static int csv_get_schema(struct ArrowArrayStream *s, struct ArrowSchema *out)
{
    csv_load *L = s->private_data;
    es_error e;
    return es_schema_copy(out, &L->main.schema, &e) == ES_OK ? 0 : ENOMEM;
}

static void start_threads(csv_load *L)
{
    L->started = 1;
    int want = L->ntp - 1;
    L->th = es_calloc((size_t)(want > 0 ? want : 1), sizeof(pthread_t));
    L->ta = es_calloc((size_t)(want > 0 ? want : 1), sizeof(csv_thread));
    for (int i = 0; L->th && L->ta && i < want; i++) {
        L->ta[i].load = L;
        L->ta[i].w = &L->tp[i];
        if (pthread_create(&L->th[i], NULL, csv_worker, &L->ta[i]) != 0)
            break;
        L->nth++;
    }
}

static int csv_get_next(struct ArrowArrayStream *s, struct ArrowArray *out)
{
    csv_load *L = s->private_data;
    csv_reader *r = &L->main;
    memset(out, 0, sizeof *out);
    if (L->failed)
        return L->failed;
    if (!L->started)
        start_threads(L);
    for (;;) {
        if (L->cur && L->cur_i < L->cur->nb) {
            *out = L->cur->b[L->cur_i];
            memset(&L->cur->b[L->cur_i++], 0, sizeof *out);
            return 0;
        }
        csv_block *k = L->after;
        L->after = NULL;
        if (L->cur) {
            L->line_base += L->cur->lines;
            block_free(L->cur);
            L->cur = NULL;
        }
        int rc = k ? 0 : next_block(L, &k);
        if (!rc && k && k->cut && !k->rc)
            rc = fix_cut(L, k, &L->after);
        if (rc == ENOMEM)
            snprintf(r->err, sizeof r->err, "%s: out of memory", r->path);
        if (!rc && !k) {
            r->done = 1;
            report(L, 1);
            return 0;
        }
        if (!rc && k->rc) {
            rc = k->rc;
            if (k->err_line >= 0)
                snprintf(r->err, sizeof r->err, "%.200s:%lld: %.300s", r->path,
                         (long long)(L->line_base + k->err_line), k->err);
            else
                snprintf(r->err, sizeof r->err, "%.200s: %.300s", r->path, k->err);
        }
        if (rc) {
            block_free(k);
            L->failed = rc;
            return rc;
        }
        L->cur = k;
        L->cur_i = 0;
        for (int64_t i = 0; i < k->nb; i++)
            r->rows += k->b[i].length;
        *r->rows_out = r->rows;
        L->bytes_done += k->cut ? k->tail : k->len;
        report(L, 0);
    }
}

static const char *csv_last_error(struct ArrowArrayStream *s)
{
    csv_load *L = s->private_data;
    return L->main.err[0] ? L->main.err : NULL;
}

/* The parts of a parser that are its own (owner: the configuration and the file too). */
static void parser_free(csv_reader *r)
{
    es_builder_free(r->bld);
    for (int c = 0; r->cb && c < r->ncols; c++)
        colbuf_free(&r->cb[c]);
    es_free(r->cb);
    es_free(r->fields);
    es_free(r->scratch);
    if (!r->owner)
        return;
    if (r->f)
        fclose(r->f);
    es_free(r->path);
    es_free(r->buf);
    es_schema_release(&r->schema);
    es_free(r->types);
    es_free(r->sql);
}

/* A parser with main's configuration. */
static int parser_init(csv_reader *w, const csv_reader *main)
{
    memset(w, 0, sizeof *w);
    w->path = main->path;
    w->delim = main->delim;
    w->schema = main->schema; /* borrowed */
    w->ncols = main->ncols;
    w->types = main->types;
    w->sql = main->sql;
    w->direct = main->direct;
    w->rows_out = main->rows_out;
    es_error e;
    if (es_builder_new(&w->bld, &main->schema, &e) != ES_OK)
        return -1;
    if (w->direct) {
        w->cb = es_calloc((size_t)(w->ncols ? w->ncols : 1), sizeof(colbuf));
        if (!w->cb)
            return -1;
        for (int c = 0; c < w->ncols; c++) {
            w->cb[c].id = main->types[c].id;
            w->cb[c].width = direct_width(main->types[c].id);
        }
    }
    return 0;
}

static void csv_free(csv_load *L)
{
    if (!L)
        return;
    pthread_mutex_lock(&L->mu);
    L->stop = 1;
    pthread_cond_broadcast(&L->cv);
    pthread_mutex_unlock(&L->mu);
    for (int i = 0; i < L->nth; i++)
        pthread_join(L->th[i], NULL);
    es_free(L->th);
    es_free(L->ta);
    while (L->head)
        block_free(pop_block(L));
    block_free(L->cur);
    block_free(L->after);
    es_free(L->pend);
    if (!L->main.done && L->reported)
        report(L, -1);
    for (int i = 0; L->tp && i < L->ntp; i++)
        parser_free(&L->tp[i]);
    es_free(L->tp);
    parser_free(&L->main);
    pthread_mutex_destroy(&L->mu);
    pthread_cond_destroy(&L->cv);
    es_free(L);
}

static void csv_release(struct ArrowArrayStream *s)
{
    csv_free(s->private_data);
    s->release = NULL;
}

es_status sql_csv_stream_open(struct ArrowArrayStream *out, const char *path,
                              const struct ArrowSchema *schema, int header, char delim, int threads,
                              es_sql_progress_callback progress, void *progress_arg, int64_t *rows,
                              char *err, size_t errcap)
{
    memset(out, 0, sizeof *out);
    *rows = 0;
    csv_load *L = es_calloc(1, sizeof *L);
    es_error e;
    if (!L) {
        snprintf(err, errcap, "out of memory");
        return ES_NOMEM;
    }
    pthread_mutex_init(&L->mu, NULL);
    pthread_cond_init(&L->cv, NULL);
    csv_reader *r = &L->main;
    r->owner = 1;
    r->delim = delim;
    r->progress = progress;
    r->progress_arg = progress_arg;
    r->rows_out = rows;
    r->path = es_strdup(path);
    r->f = fopen(path, "rb");
    if (!r->f) {
        snprintf(err, errcap, "%s: %s", path, strerror(errno));
        csv_free(L);
        return ES_IO;
    }
    struct stat stt;
    if (fstat(fileno(r->f), &stt) == 0) {
        if (S_ISDIR(stt.st_mode)) {
            snprintf(err, errcap, "%s: is a directory, not a CSV file", path);
            csv_free(L);
            return -1;
        }
        r->file_size = stt.st_size;
    }
    const char *bs = getenv("ES_CSV_BLOCK");
    L->block = bs && atoll(bs) > 0 ? atoll(bs) : CSV_BLOCK;
    r->cap = L->block; /* the header's read: a block or two */
    r->buf = es_malloc((size_t)r->cap + 1);
    r->ncols = (int)schema->n_children;
    r->types = es_calloc((size_t)(r->ncols ? r->ncols : 1), sizeof(es_type));
    r->sql = es_calloc((size_t)(r->ncols ? r->ncols : 1), sizeof(sql_typeinfo));
    if (!r->path || !r->buf || !r->types || !r->sql ||
        es_schema_copy(&r->schema, schema, &e) != ES_OK) {
        snprintf(err, errcap, "%s: out of memory", path);
        csv_free(L);
        return ES_NOMEM;
    }
    for (int c = 0; c < r->ncols; c++) {
        if (es_type_parse(&r->types[c], schema->children[c]->format, NULL) != ES_OK ||
            sql_type_from_arrow(&r->sql[c], schema->children[c]->format) < 0) {
            snprintf(err, errcap, "column %s: unsupported type for CSV", schema->children[c]->name);
            csv_free(L);
            return ES_UNSUPPORTED;
        }
    }
    r->direct = getenv("ES_CSV_BUILDER") == NULL; /* the builder path, for comparison */
    for (int c = 0; c < r->ncols; c++)
        if (direct_width(r->types[c].id) < -1)
            r->direct = 0;
    /* A UTF-8 byte order mark (Excel and other Windows tools write one first) is not data. */
    if (fill(r) < 0) {
        snprintf(err, errcap, "%.200s: read error", path);
        csv_free(L);
        return ES_IO;
    }
    if (r->end >= 3 && memcmp(r->buf, "\xEF\xBB\xBF", 3) == 0) {
        memmove(r->buf, r->buf + 3, (size_t)(r->end - 3) + 1);
        r->end -= 3;
    }
    if (header) {
        /* header < 0 (not said): the first record is a header when its fields are the
         * column names, as COPY TO writes them. */
        int nf = next_record(r);
        if (nf < 0) {
            if (r->err_line >= 0)
                snprintf(err, errcap, "%.200s:%lld: %.300s", path, (long long)r->err_line, r->err);
            else
                snprintf(err, errcap, "%.200s: read error", path);
            es_status code = r->err[0] ? ES_INVALID : ES_IO;
            csv_free(L);
            return code;
        }
        int is_header = header > 0;
        if (header < 0) {
            is_header = nf == r->ncols;
            for (int c = 0; c < nf && is_header; c++) {
                const char *name = schema->children[c]->name;
                is_header = (int64_t)strlen(name) == r->fields[c].len &&
                            strncasecmp(name, r->fields[c].p, (size_t)r->fields[c].len) == 0;
            }
        }
        if (is_header)
            r->line++;
        else
            r->start = 0; /* the first record is data: the buffer still starts with it */
    }
    /* What the header read left in the buffer comes first; blocks read on from the file. */
    L->line_base = r->line;
    L->pend_len = r->end - r->start;
    memmove(r->buf, r->buf + r->start, (size_t)L->pend_len);
    L->pend = r->buf;
    L->pend_cap = r->cap;
    r->buf = NULL;
    L->bytes_done = r->start;
    L->ntp = threads > 1 && !getenv("ES_CSV_NO_THREAD") ? threads : 1;
    L->max_inflight = 2 * L->ntp + 1;
    L->tp = es_calloc((size_t)L->ntp, sizeof(csv_reader));
    for (int i = 0; L->tp && i < L->ntp; i++)
        if (parser_init(&L->tp[i], r) < 0) {
            L->ntp = i + 1;
            snprintf(err, errcap, "%s: out of memory", path);
            csv_free(L);
            return ES_NOMEM;
        }
    if (!L->tp) {
        L->ntp = 0;
        snprintf(err, errcap, "%s: out of memory", path);
        csv_free(L);
        return ES_NOMEM;
    }
    out->get_schema = csv_get_schema;
    out->get_next = csv_get_next;
    out->get_last_error = csv_last_error;
    out->release = csv_release;
    out->private_data = L;
    return ES_OK;
}

/* Writes the empty string quoted (an unquoted empty field reads back as NULL). */
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

/* One batch as CSV rows (and the header first when asked). exact: doubles with every digit
 * needed to read them back (COPY TO), else as the shell displays them. */
es_status sql_csv_write_batch(FILE *f, const struct ArrowSchema *schema,
                              const struct ArrowArray *batch, char delim, int header, int exact)
{
    if (!f || !schema)
        return ES_INVALID;
    if (header) {
        for (int64_t c = 0; c < schema->n_children; c++) {
            const char *name = schema->children[c]->name ? schema->children[c]->name : "";
            if (c)
                fputc(delim, f);
            write_csv_field(f, name, (int64_t)strlen(name), delim);
        }
        fputc('\n', f);
    }
    if (batch) {
        es_array_view v;
        if (es_array_view_init(&v, schema, batch, NULL) != ES_OK)
            return ES_INVALID;
        char buf[256];
        for (int64_t i = 0; i < v.length; i++) {
            for (int64_t c = 0; c < v.n_children; c++) {
                const es_array_view *col = &v.children[c];
                if (c)
                    fputc(delim, f);
                if (es_view_is_null(col, i))
                    continue;
                int64_t len;
                const char *p = buf;
                if (exact && (col->type.id == ES_TYPE_FLOAT64 || col->type.id == ES_TYPE_FLOAT32)) {
                    /* every digit COPY FROM needs to read the same value back */
                    sql_format_double_exact(buf, sizeof buf, es_view_get_double(col, i),
                                            col->type.id == ES_TYPE_FLOAT32);
                    len = (int64_t)strlen(buf);
                } else {
                    p = es_sql_format_value(col, i, buf, sizeof buf, &len);
                }
                if (es_type_is_varlen(col->type.id) || col->type.id == ES_TYPE_FIXED_BINARY)
                    write_csv_field(f, p, len, delim);
                else
                    fwrite(p, 1, (size_t)len, f);
            }
            fputc('\n', f);
        }
        es_array_view_reset(&v);
    }
    return ferror(f) ? ES_IO : ES_OK;
}

es_status es_sql_write_csv(FILE *f, const struct ArrowSchema *schema,
                           const struct ArrowArray *batch, char delim, int header)
{
    return sql_csv_write_batch(f, schema, batch, delim, header, 0);
}
