/*
 * sql_exec: binder/planner and vectorised executor of the shell's SQL (see sql.h).
 *
 * A SELECT runs as: describe the table (schema at the requested version) -> bind names and
 * types -> translate the part of WHERE that es_expr can express (column op literal, BETWEEN, IN,
 * IS NULL and AND/OR/NOT of those; an AND keeps its translatable side, except under NOT) into
 * the scan predicate, which accepts a superset of the rows -> es_scan with the projection of
 * the referenced columns -> for each record batch: load the referenced columns into vectors
 * (es_array_view), evaluate the whole WHERE column at a time (the pushed part is re-checked:
 * cheap on the surviving rows, and it keeps SQL's three-valued logic exact whatever the storage
 * layer skipped), then either evaluate the select list into the result vectors or feed group
 * keys and aggregate arguments to a hash aggregation -> sort (qsort on row indices) ->
 * OFFSET/LIMIT. A pushed literal must convert exactly to the column's type (no 2.5 against an
 * integer column, no 0.1 against a REAL), so the storage layer never drops a row SQL keeps.
 *
 * Every kernel works on whole vectors: one loop per operator per batch, no per-value
 * interpretation of the expression tree.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sql/sql.h"

#define BATCH_ROWS 65536

typedef struct batch {
    int64_t n;
    int ncols;
    sql_vec *cols;
} batch;

typedef struct exec {
    sql_session *s;
    const char *src;
} exec;

static int err(exec *x, int pos, const char *fmt, ...) ES_PRINTF(3, 4);
static int err(exec *x, int pos, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    x->s->errpos = x->src ? pos : -1;
    if (pos >= 0 && x->src) {
        int line, col;
        sql_line_col(x->src, pos, &line, &col);
        snprintf(x->s->err, sizeof x->s->err, "%d:%d: %s", line, col, msg);
    } else {
        snprintf(x->s->err, sizeof x->s->err, "%s", msg);
    }
    return -1;
}

static int oom(exec *x)
{
    return err(x, -1, "out of memory");
}

/* ------------------------------------------------------------- vectors */

static const int64_t pow10_tab[19] = {1LL,
                                      10LL,
                                      100LL,
                                      1000LL,
                                      10000LL,
                                      100000LL,
                                      1000000LL,
                                      10000000LL,
                                      100000000LL,
                                      1000000000LL,
                                      10000000000LL,
                                      100000000000LL,
                                      1000000000000LL,
                                      10000000000000LL,
                                      100000000000000LL,
                                      1000000000000000LL,
                                      10000000000000000LL,
                                      100000000000000000LL,
                                      1000000000000000000LL};

void sql_vec_init(sql_vec *v, sql_typeinfo ty)
{
    memset(v, 0, sizeof *v);
    v->ty = ty;
}

void sql_vec_free(sql_vec *v)
{
    if (v->borrowed) {
        sql_typeinfo t = v->ty;
        memset(v, 0, sizeof *v);
        v->ty = t;
        return;
    }
    es_free(v->nulls);
    es_free(v->i);
    es_free(v->f);
    es_free(v->off);
    es_free(v->data);
    sql_typeinfo ty = v->ty;
    memset(v, 0, sizeof *v);
    v->ty = ty;
}

void sql_result_free(sql_result *r)
{
    for (int i = 0; i < r->ncols; i++) {
        es_free(r->names ? r->names[i] : NULL);
        if (r->cols)
            sql_vec_free(&r->cols[i]);
    }
    es_free(r->names);
    es_free(r->cols);
    memset(r, 0, sizeof *r);
}

static int phys(const sql_vec *v)
{
    return sql_type_phys(v->ty.t);
}

static int vec_reserve(sql_vec *v, int64_t rows)
{
    if (rows <= v->cap)
        return 0;
    int64_t cap = v->cap ? v->cap * 2 : 64;
    if (cap < rows)
        cap = rows;
    uint8_t *nu = es_realloc(v->nulls, (size_t)cap);
    if (!nu)
        return -1;
    v->nulls = nu;
    int ph = phys(v);
    if (ph == SQL_PHYS_INT) {
        int64_t *p = es_realloc(v->i, sizeof(int64_t) * (size_t)cap);
        if (!p)
            return -1;
        v->i = p;
    } else if (ph == SQL_PHYS_DBL) {
        double *p = es_realloc(v->f, sizeof(double) * (size_t)cap);
        if (!p)
            return -1;
        v->f = p;
    } else {
        int64_t *p = es_realloc(v->off, sizeof(int64_t) * (size_t)(cap + 1));
        if (!p)
            return -1;
        if (!v->off)
            p[0] = 0;
        v->off = p;
    }
    v->cap = cap;
    return 0;
}

static int vec_reserve_data(sql_vec *v, int64_t extra)
{
    if (v->dlen + extra <= v->dcap)
        return 0;
    int64_t cap = v->dcap ? v->dcap * 2 : 256;
    while (cap < v->dlen + extra)
        cap *= 2;
    char *d = es_realloc(v->data, (size_t)cap);
    if (!d)
        return -1;
    v->data = d;
    v->dcap = cap;
    return 0;
}

/* Make v an empty vector of n rows (values uninitialised, nulls cleared). */
static int vec_alloc(sql_vec *v, sql_typeinfo ty, int64_t n)
{
    sql_vec_init(v, ty);
    if (vec_reserve(v, n > 0 ? n : 1) < 0)
        return -1;
    memset(v->nulls, 0, (size_t)(n > 0 ? n : 1));
    v->n = n;
    return 0;
}

static int vec_push_str(sql_vec *v, const void *p, int64_t len)
{
    if (vec_reserve(v, v->n + 1) < 0 || vec_reserve_data(v, len) < 0)
        return -1;
    if (len)
        memcpy(v->data + v->dlen, p, (size_t)len);
    v->dlen += len;
    v->nulls[v->n] = 0;
    v->off[++v->n] = v->dlen;
    return 0;
}

static int vec_push_null(sql_vec *v)
{
    if (vec_reserve(v, v->n + 1) < 0)
        return -1;
    int ph = phys(v);
    if (ph == SQL_PHYS_INT)
        v->i[v->n] = 0;
    else if (ph == SQL_PHYS_DBL)
        v->f[v->n] = 0;
    else
        v->off[v->n + 1] = v->dlen;
    v->nulls[v->n++] = 1;
    return 0;
}

static const char *vstr(const sql_vec *v, int64_t r, int64_t *len)
{
    *len = v->off[r + 1] - v->off[r];
    return v->data ? v->data + v->off[r] : "";
}

/* Append rows of src (all when sel is NULL, else sel[0..nsel)) to dst (same phys type). */
static int vec_append(sql_vec *dst, const sql_vec *src, const int64_t *sel, int64_t nsel)
{
    int64_t n = sel ? nsel : src->n;
    if (n == 0)
        return 0;
    if (vec_reserve(dst, dst->n + n) < 0)
        return -1;
    int ph = phys(dst);
    int64_t base = dst->n;
    for (int64_t k = 0; k < n; k++)
        dst->nulls[base + k] = src->nulls[sel ? sel[k] : k];
    if (ph == SQL_PHYS_INT) {
        if (!sel)
            memcpy(dst->i + base, src->i, sizeof(int64_t) * (size_t)n);
        else
            for (int64_t k = 0; k < n; k++)
                dst->i[base + k] = src->i[sel[k]];
    } else if (ph == SQL_PHYS_DBL) {
        if (!sel)
            memcpy(dst->f + base, src->f, sizeof(double) * (size_t)n);
        else
            for (int64_t k = 0; k < n; k++)
                dst->f[base + k] = src->f[sel[k]];
    } else {
        int64_t bytes = 0;
        for (int64_t k = 0; k < n; k++) {
            int64_t r = sel ? sel[k] : k;
            bytes += src->off[r + 1] - src->off[r];
        }
        if (vec_reserve_data(dst, bytes) < 0)
            return -1;
        for (int64_t k = 0; k < n; k++) {
            int64_t r = sel ? sel[k] : k, len;
            const char *p = vstr(src, r, &len);
            if (len)
                memcpy(dst->data + dst->dlen, p, (size_t)len);
            dst->dlen += len;
            dst->off[base + k + 1] = dst->dlen;
        }
    }
    dst->n = base + n;
    return 0;
}

/* ---------------------------------------------------- dates and numbers */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t yy = (int64_t)yoe + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

static int digits(const char *p, int64_t n, int64_t *i, int count, int *out)
{
    int v = 0;
    for (int k = 0; k < count; k++) {
        if (*i >= n || !isdigit((unsigned char)p[*i]))
            return -1;
        v = v * 10 + (p[(*i)++] - '0');
    }
    *out = v;
    return 0;
}

static int parse_date_prefix(const char *p, int64_t n, int64_t *i, int64_t *days)
{
    int y, m, d, neg = 0;
    while (*i < n && p[*i] == ' ')
        (*i)++;
    if (*i < n && p[*i] == '-')
        neg = 1, (*i)++;
    if (digits(p, n, i, 4, &y) < 0 || *i >= n || p[(*i)++] != '-' || digits(p, n, i, 2, &m) < 0 ||
        *i >= n || p[(*i)++] != '-' || digits(p, n, i, 2, &d) < 0)
        return -1;
    if (m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (d > mdays[m - 1])
        return -1;
    int64_t yy = neg ? -y : y;
    if (m == 2 && d == 29 && !((yy % 4 == 0 && yy % 100 != 0) || yy % 400 == 0))
        return -1;
    *days = days_from_civil(yy, (unsigned)m, (unsigned)d);
    return 0;
}

int sql_parse_date(const char *p, int64_t n, int64_t *days)
{
    int64_t i = 0;
    if (parse_date_prefix(p, n, &i, days) < 0)
        return -1;
    while (i < n && p[i] == ' ')
        i++;
    return i == n ? 0 : -1;
}

int sql_parse_timestamp(const char *p, int64_t n, int64_t *us)
{
    int64_t i = 0, days;
    if (parse_date_prefix(p, n, &i, &days) < 0)
        return -1;
    int64_t t = 0;
    if (i < n && (p[i] == ' ' || p[i] == 'T') && i + 1 < n && isdigit((unsigned char)p[i + 1])) {
        i++;
        int hh, mm, ss = 0;
        if (digits(p, n, &i, 2, &hh) < 0 || i >= n || p[i++] != ':' || digits(p, n, &i, 2, &mm) < 0)
            return -1;
        if (i < n && p[i] == ':') {
            i++;
            if (digits(p, n, &i, 2, &ss) < 0)
                return -1;
        }
        if (hh > 23 || mm > 59 || ss > 60)
            return -1;
        int64_t frac = 0;
        if (i < n && p[i] == '.') {
            i++;
            int k = 0;
            while (i < n && isdigit((unsigned char)p[i])) {
                if (k < 6)
                    frac = frac * 10 + (p[i] - '0'), k++;
                i++;
            }
            while (k++ < 6)
                frac *= 10;
        }
        t = ((int64_t)hh * 3600 + mm * 60 + ss) * 1000000 + frac;
        /* Zone: Z, +HH, +HH:MM, +HHMM (converted to UTC). */
        while (i < n && p[i] == ' ')
            i++;
        if (i < n && (p[i] == 'Z' || p[i] == 'z')) {
            i++;
        } else if (i < n && (p[i] == '+' || p[i] == '-')) {
            int sign = p[i++] == '-' ? -1 : 1, zh, zm = 0;
            if (digits(p, n, &i, 2, &zh) < 0)
                return -1;
            if (i < n && p[i] == ':')
                i++;
            if (i < n && isdigit((unsigned char)p[i]) && digits(p, n, &i, 2, &zm) < 0)
                return -1;
            t -= sign * ((int64_t)zh * 3600 + zm * 60) * 1000000;
        } else if (i + 2 < n && strncasecmp(p + i, "UTC", 3) == 0) {
            i += 3;
        }
    }
    while (i < n && p[i] == ' ')
        i++;
    if (i != n)
        return -1;
    *us = days * 86400000000LL + t;
    return 0;
}

void sql_format_date(char *buf, size_t cap, int64_t days)
{
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    snprintf(buf, cap, "%04lld-%02u-%02u", (long long)y, m, d);
}

void sql_format_timestamp(char *buf, size_t cap, int64_t us, int tz)
{
    int64_t days = us / 86400000000LL, rem = us % 86400000000LL;
    if (rem < 0)
        rem += 86400000000LL, days--;
    char d[32];
    sql_format_date(d, sizeof d, days);
    int64_t secs = rem / 1000000, frac = rem % 1000000;
    int n = snprintf(buf, cap, "%s %02lld:%02lld:%02lld", d, (long long)(secs / 3600),
                     (long long)(secs / 60 % 60), (long long)(secs % 60));
    if (frac && n > 0 && (size_t)n < cap)
        n += snprintf(buf + n, cap - (size_t)n, ".%06lld", (long long)frac);
    if (tz && n > 0 && (size_t)n < cap)
        snprintf(buf + n, cap - (size_t)n, "+00");
}

int sql_parse_decimal(const char *p, int64_t n, int scale, int64_t *out)
{
    int64_t i = 0, v = 0;
    int neg = 0, nd = 0, fd = 0;
    while (i < n && p[i] == ' ')
        i++;
    if (i < n && (p[i] == '-' || p[i] == '+'))
        neg = p[i++] == '-';
    for (; i < n && isdigit((unsigned char)p[i]); i++, nd++) {
        if (v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    if (i < n && p[i] == '.') {
        i++;
        for (; i < n && isdigit((unsigned char)p[i]); i++) {
            if (fd < scale) {
                if (v > (INT64_MAX - 9) / 10)
                    return -1;
                v = v * 10 + (p[i] - '0');
                fd++;
            } else if (fd == scale && p[i] >= '5') { /* round half up on the first cut digit */
                v++;
                fd++;
            } else {
                fd = fd < scale ? fd : scale + 1;
            }
            nd++;
        }
    }
    while (i < n && p[i] == ' ')
        i++;
    if (i != n || nd == 0)
        return -1;
    if (fd > scale)
        fd = scale;
    for (; fd < scale; fd++) {
        if (v > INT64_MAX / 10)
            return -1;
        v *= 10;
    }
    *out = neg ? -v : v;
    return 0;
}

static void format_decimal(char *buf, size_t cap, int64_t v, int scale)
{
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    if (scale == 0) {
        snprintf(buf, cap, "%s%llu", v < 0 ? "-" : "", (unsigned long long)u);
        return;
    }
    uint64_t p = (uint64_t)pow10_tab[scale];
    snprintf(buf, cap, "%s%llu.%0*llu", v < 0 ? "-" : "", (unsigned long long)(u / p), scale,
             (unsigned long long)(u % p));
}

static void format_double(char *buf, size_t cap, double d)
{
    if (isnan(d)) {
        snprintf(buf, cap, "NaN");
        return;
    }
    if (isinf(d)) {
        snprintf(buf, cap, d > 0 ? "Inf" : "-Inf");
        return;
    }
    snprintf(buf, cap, "%.15g", d);
    if (!strpbrk(buf, ".eEn")) {
        size_t l = strlen(buf);
        if (l + 2 < cap)
            memcpy(buf + l, ".0", 3);
    }
}

const char *sql_vec_format(const sql_vec *v, int64_t r, char *buf, size_t cap, int64_t *len)
{
    const char *out = buf;
    if (v->nulls[r]) {
        snprintf(buf, cap, "NULL");
    } else {
        switch (v->ty.t) {
        case SQL_BOOL:
            snprintf(buf, cap, "%s", v->i[r] ? "true" : "false");
            break;
        case SQL_REAL:
        case SQL_DOUBLE:
            format_double(buf, cap, v->f[r]);
            break;
        case SQL_DECIMAL:
            format_decimal(buf, cap, v->i[r], v->ty.scale);
            break;
        case SQL_DATE:
            sql_format_date(buf, cap, v->i[r]);
            break;
        case SQL_TIMESTAMP:
        case SQL_TIMESTAMPTZ:
            sql_format_timestamp(buf, cap, v->i[r], v->ty.t == SQL_TIMESTAMPTZ);
            break;
        case SQL_VARCHAR:
            return vstr(v, r, len);
        case SQL_BLOB: {
            int64_t n;
            const unsigned char *p = (const unsigned char *)vstr(v, r, &n);
            size_t k = 0;
            for (int64_t j = 0; j < n && k + 5 < cap; j++)
                k += (size_t)snprintf(buf + k, cap - k, "\\x%02X", p[j]);
            buf[k] = 0;
            break;
        }
        default:
            snprintf(buf, cap, "%lld", (long long)v->i[r]);
        }
    }
    *len = (int64_t)strlen(out);
    return out;
}

/* -------------------------------------------------------- arrow mapping */

int sql_type_from_arrow(sql_typeinfo *ti, const char *format)
{
    es_type t;
    memset(ti, 0, sizeof *ti);
    if (es_type_parse(&t, format, NULL) != ES_OK)
        return -1;
    switch (t.id) {
    case ES_TYPE_BOOL:
        ti->t = SQL_BOOL;
        break;
    case ES_TYPE_INT8:
    case ES_TYPE_UINT8:
    case ES_TYPE_INT16:
        ti->t = SQL_SMALLINT;
        break;
    case ES_TYPE_UINT16:
    case ES_TYPE_INT32:
        ti->t = SQL_INT;
        break;
    case ES_TYPE_UINT32:
    case ES_TYPE_INT64:
    case ES_TYPE_UINT64:
        ti->t = SQL_BIGINT;
        break;
    case ES_TYPE_FLOAT32:
        ti->t = SQL_REAL;
        break;
    case ES_TYPE_FLOAT64:
        ti->t = SQL_DOUBLE;
        break;
    case ES_TYPE_DECIMAL128:
        if (t.precision > 18)
            return -1;
        ti->t = SQL_DECIMAL;
        ti->precision = t.precision;
        ti->scale = t.scale;
        break;
    case ES_TYPE_UTF8:
    case ES_TYPE_LARGE_UTF8:
        ti->t = SQL_VARCHAR;
        break;
    case ES_TYPE_BINARY:
    case ES_TYPE_LARGE_BINARY:
    case ES_TYPE_FIXED_BINARY:
        ti->t = SQL_BLOB;
        break;
    case ES_TYPE_DATE32:
    case ES_TYPE_DATE64:
        ti->t = SQL_DATE;
        break;
    case ES_TYPE_TIMESTAMP:
        ti->t = t.tz[0] ? SQL_TIMESTAMPTZ : SQL_TIMESTAMP;
        break;
    default:
        return -1;
    }
    return 0;
}

void sql_type_to_arrow(char *buf, size_t cap, const sql_typeinfo *ti)
{
    switch (ti->t) {
    case SQL_BOOL:
        snprintf(buf, cap, "b");
        break;
    case SQL_SMALLINT:
        snprintf(buf, cap, "s");
        break;
    case SQL_INT:
        snprintf(buf, cap, "i");
        break;
    case SQL_REAL:
        snprintf(buf, cap, "f");
        break;
    case SQL_DOUBLE:
        snprintf(buf, cap, "g");
        break;
    case SQL_DECIMAL:
        snprintf(buf, cap, "d:%d,%d", ti->precision, ti->scale);
        break;
    case SQL_VARCHAR:
        snprintf(buf, cap, "u");
        break;
    case SQL_BLOB:
        snprintf(buf, cap, "z");
        break;
    case SQL_DATE:
        snprintf(buf, cap, "tdD");
        break;
    case SQL_TIMESTAMP:
        snprintf(buf, cap, "tsu:");
        break;
    case SQL_TIMESTAMPTZ:
        snprintf(buf, cap, "tsu:UTC");
        break;
    default:
        snprintf(buf, cap, "l");
    }
}

/* Load an Arrow column (validated view) into a vector of type ti. */
static int load_column(sql_vec *v, const es_array_view *av, sql_typeinfo ti)
{
    int64_t n = av->length;
    if (vec_alloc(v, ti, n) < 0)
        return -1;
    if (av->null_count > 0 && av->validity) {
        const uint8_t *bits = av->validity;
        int64_t off = av->offset;
        for (int64_t r = 0; r < n; r++)
            v->nulls[r] = !((bits[(off + r) >> 3] >> ((off + r) & 7)) & 1);
    } else if (av->null_count > 0) {
        for (int64_t r = 0; r < n; r++)
            v->nulls[r] = es_view_is_null(av, r);
    }
    /* Fast paths: fixed-width values (the view's values pointer is already offset). */
    const uint8_t *vals = av->values;
    switch (av->type.id) {
    case ES_TYPE_INT16:
        for (int64_t r = 0; r < n; r++) {
            int16_t x;
            memcpy(&x, vals + 2 * r, 2);
            v->i[r] = x;
        }
        return 0;
    case ES_TYPE_INT32:
    case ES_TYPE_DATE32:
        for (int64_t r = 0; r < n; r++) {
            int32_t x;
            memcpy(&x, vals + 4 * r, 4);
            v->i[r] = x;
        }
        return 0;
    case ES_TYPE_INT64:
        memcpy(v->i, vals, (size_t)n * 8);
        return 0;
    case ES_TYPE_TIMESTAMP:
        if (av->type.unit == ES_MICRO) {
            memcpy(v->i, vals, (size_t)n * 8);
            return 0;
        }
        break;
    case ES_TYPE_FLOAT64:
        memcpy(v->f, vals, (size_t)n * 8);
        return 0;
    case ES_TYPE_FLOAT32:
        for (int64_t r = 0; r < n; r++) {
            float x;
            memcpy(&x, vals + 4 * r, 4);
            v->f[r] = x;
        }
        return 0;
    case ES_TYPE_UTF8:
    case ES_TYPE_BINARY: {
        const int32_t *o = av->offsets32;
        int64_t first = n ? o[0] : 0, total = n ? o[n] - first : 0;
        if (vec_reserve_data(v, total) < 0)
            return -1;
        if (total)
            memcpy(v->data, vals + first, (size_t)total);
        v->dlen = total;
        for (int64_t r = 0; r <= n; r++)
            v->off[r] = o[r] - first;
        return 0;
    }
    default:
        break;
    }
    switch (av->type.id) {
    case ES_TYPE_FLOAT32:
    case ES_TYPE_FLOAT64:
        for (int64_t r = 0; r < n; r++)
            v->f[r] = es_view_get_double(av, r);
        break;
    case ES_TYPE_UINT64:
        for (int64_t r = 0; r < n; r++)
            v->i[r] = (int64_t)es_view_get_uint(av, r);
        break;
    case ES_TYPE_DECIMAL128:
        for (int64_t r = 0; r < n; r++) {
            int64_t len;
            const uint8_t *b = es_view_get_bytes(av, r, &len);
            int64_t x = 0;
            if (b && len >= 8)
                memcpy(&x, b, 8);
            v->i[r] = x;
        }
        break;
    case ES_TYPE_DATE64:
        for (int64_t r = 0; r < n; r++) {
            int64_t ms = es_view_get_int(av, r);
            v->i[r] = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
        }
        break;
    case ES_TYPE_TIMESTAMP: {
        es_time_unit u = av->type.unit;
        for (int64_t r = 0; r < n; r++) {
            int64_t x = es_view_get_int(av, r);
            v->i[r] = u == ES_SECOND  ? x * 1000000
                      : u == ES_MILLI ? x * 1000
                      : u == ES_NANO  ? x / 1000
                                      : x;
        }
        break;
    }
    case ES_TYPE_UTF8:
    case ES_TYPE_LARGE_UTF8:
    case ES_TYPE_BINARY:
    case ES_TYPE_LARGE_BINARY:
    case ES_TYPE_FIXED_BINARY: {
        int64_t total = 0;
        for (int64_t r = 0; r < n; r++) {
            int64_t len = 0;
            if (!v->nulls[r])
                es_view_get_bytes(av, r, &len);
            total += len;
        }
        if (vec_reserve_data(v, total) < 0)
            return -1;
        v->off[0] = 0;
        for (int64_t r = 0; r < n; r++) {
            int64_t len = 0;
            const uint8_t *p = v->nulls[r] ? NULL : es_view_get_bytes(av, r, &len);
            if (len)
                memcpy(v->data + v->dlen, p, (size_t)len);
            v->dlen += len;
            v->off[r + 1] = v->dlen;
        }
        break;
    }
    default:
        for (int64_t r = 0; r < n; r++)
            v->i[r] = es_view_get_int(av, r);
    }
    return 0;
}

/* Append value r of v to an Arrow builder of type `at`. */
static es_status build_value(es_builder *b, const es_type *at, const sql_vec *v, int64_t r)
{
    if (v->nulls[r])
        return es_builder_append_null(b, 1);
    switch (at->id) {
    case ES_TYPE_FLOAT32:
    case ES_TYPE_FLOAT64:
        return es_builder_append_double(b, phys(v) == SQL_PHYS_DBL ? v->f[r] : (double)v->i[r]);
    case ES_TYPE_UTF8:
    case ES_TYPE_LARGE_UTF8:
    case ES_TYPE_BINARY:
    case ES_TYPE_LARGE_BINARY:
    case ES_TYPE_FIXED_BINARY: {
        int64_t len;
        const char *p = vstr(v, r, &len);
        return es_builder_append_bytes(b, p, len);
    }
    default:
        return es_builder_append_int(b, v->i[r]);
    }
}

/* ---------------------------------------------------------- type rules */

static int is_num(sql_type t)
{
    return t == SQL_BOOL || t == SQL_SMALLINT || t == SQL_INT || t == SQL_BIGINT ||
           t == SQL_DECIMAL || t == SQL_REAL || t == SQL_DOUBLE;
}

static int is_temporal(sql_type t)
{
    return t == SQL_DATE || t == SQL_TIMESTAMP || t == SQL_TIMESTAMPTZ;
}

static int is_str(sql_type t)
{
    return t == SQL_VARCHAR || t == SQL_BLOB;
}

static int tscale(const sql_typeinfo *t)
{
    return t->t == SQL_DECIMAL ? t->scale : 0;
}

enum { DOM_INT = 0, DOM_DBL, DOM_STR };

/* Common domain of two types for comparison; multipliers for the int domain. -1: none. */
static int common_domain(const sql_typeinfo *a, const sql_typeinfo *b, int64_t *ma, int64_t *mb)
{
    *ma = *mb = 1;
    sql_typeinfo na = *a, nb = *b;
    if (na.t == SQL_NULL && nb.t == SQL_NULL)
        return DOM_INT;
    if (na.t == SQL_NULL)
        na = nb;
    if (nb.t == SQL_NULL)
        nb = na;
    if (is_num(na.t) && is_num(nb.t)) {
        if (sql_type_phys(na.t) == SQL_PHYS_DBL || sql_type_phys(nb.t) == SQL_PHYS_DBL)
            return DOM_DBL;
        int sa = tscale(&na), sb = tscale(&nb), s = sa > sb ? sa : sb;
        *ma = pow10_tab[s - sa];
        *mb = pow10_tab[s - sb];
        return DOM_INT;
    }
    if (is_temporal(na.t) && is_temporal(nb.t)) {
        if (na.t == SQL_DATE && nb.t != SQL_DATE)
            *ma = 86400000000LL;
        if (nb.t == SQL_DATE && na.t != SQL_DATE)
            *mb = 86400000000LL;
        return DOM_INT;
    }
    if (is_str(na.t) && is_str(nb.t))
        return DOM_STR;
    return -1;
}

/* View a vector in a domain: returns arrays (converted into tmp when needed). */
static int as_int(const sql_vec *v, int64_t mult, sql_vec *tmp, const int64_t **out)
{
    if (phys(v) == SQL_PHYS_INT && v->i && mult == 1) {
        *out = v->i;
        return 0;
    }
    sql_typeinfo ti = {SQL_BIGINT, 0, 0};
    if (vec_alloc(tmp, ti, v->n) < 0)
        return -1;
    if (v->ty.t == SQL_NULL || !v->i)
        memset(tmp->i, 0, sizeof(int64_t) * (size_t)(v->n > 0 ? v->n : 1));
    else
        for (int64_t r = 0; r < v->n; r++)
            tmp->i[r] = (int64_t)((uint64_t)v->i[r] * (uint64_t)mult);
    *out = tmp->i;
    return 0;
}

static int as_dbl(const sql_vec *v, sql_vec *tmp, const double **out)
{
    if (phys(v) == SQL_PHYS_DBL && v->f) {
        *out = v->f;
        return 0;
    }
    sql_typeinfo ti = {SQL_DOUBLE, 0, 0};
    if (vec_alloc(tmp, ti, v->n) < 0)
        return -1;
    if (v->ty.t == SQL_NULL || !v->i) {
        memset(tmp->f, 0, sizeof(double) * (size_t)(v->n > 0 ? v->n : 1));
    } else {
        double div = (double)pow10_tab[tscale(&v->ty)];
        for (int64_t r = 0; r < v->n; r++)
            tmp->f[r] = (double)v->i[r] / div;
    }
    *out = tmp->f;
    return 0;
}

/* ------------------------------------------------------------- binder */

typedef struct col_info {
    char *name;
    sql_typeinfo ty;
    int nullable;
    int used;
} col_info;

typedef struct agg_info {
    int kind; /* AGG_* */
    sql_expr *arg;
    sql_typeinfo ty;
} agg_info;

enum { AGG_COUNT_STAR = 0, AGG_COUNT, AGG_SUM, AGG_AVG, AGG_MIN, AGG_MAX };

typedef struct plan {
    sql_select *sel;
    col_info *cols;
    int ncols;
    int64_t version; /* the store version the table was bound at; the scan reads the same */
    int aggregate;   /* GROUP BY or aggregates present */
    sql_expr **group;
    int ngroup;
    agg_info aggs[256];
    int naggs;
    /* Output: visible items then hidden ORDER BY keys. */
    sql_expr **out;
    char **names;
    int nout, nvisible;
    int *order_col; /* result column of each ORDER BY key */
    int64_t limit, offset;
    es_expr *pushed;
    sql_expr **distinct_group;
    sql_expr *owned[512]; /* nodes allocated by the binder */
    int nowned;
} plan;

static const char *binop_name(int op)
{
    static const char *n[] = {"+", "-",  "*", "/",  "%",   "=",  "<>",
                              "<", "<=", ">", ">=", "AND", "OR", "||"};
    return n[op];
}

/* Render an expression (for column names and EXPLAIN). */
static void fmt_expr(char *buf, size_t cap, const sql_expr *e)
{
    char a[256], b[256], c[256];
    switch (e->kind) {
    case E_COL:
        snprintf(buf, cap, "%s", e->name);
        break;
    case E_INT:
        snprintf(buf, cap, "%lld", (long long)e->ival);
        break;
    case E_DBL:
        format_double(buf, cap, e->dval);
        break;
    case E_STR:
        snprintf(buf, cap, "'%.*s'", (int)(e->slen > 200 ? 200 : e->slen), e->sval);
        break;
    case E_NULL:
        snprintf(buf, cap, "NULL");
        break;
    case E_BOOL:
        snprintf(buf, cap, "%s", e->ival ? "true" : "false");
        break;
    case E_BIN:
        fmt_expr(a, sizeof a, e->a);
        fmt_expr(b, sizeof b, e->b);
        snprintf(buf, cap, "(%s %s %s)", a, binop_name(e->op), b);
        break;
    case E_NOT:
        fmt_expr(a, sizeof a, e->a);
        snprintf(buf, cap, "(NOT %s)", a);
        break;
    case E_NEG:
        fmt_expr(a, sizeof a, e->a);
        snprintf(buf, cap, "(-%s)", a);
        break;
    case E_ISNULL:
        fmt_expr(a, sizeof a, e->a);
        snprintf(buf, cap, "(%s IS %sNULL)", a, e->neg ? "NOT " : "");
        break;
    case E_BETWEEN:
        fmt_expr(a, sizeof a, e->a);
        fmt_expr(b, sizeof b, e->b);
        fmt_expr(c, sizeof c, e->c);
        snprintf(buf, cap, "(%s %sBETWEEN %s AND %s)", a, e->neg ? "NOT " : "", b, c);
        break;
    case E_IN:
        fmt_expr(a, sizeof a, e->a);
        snprintf(buf, cap, "(%s %sIN (%d values))", a, e->neg ? "NOT " : "", e->nlist);
        break;
    case E_LIKE:
        fmt_expr(a, sizeof a, e->a);
        fmt_expr(b, sizeof b, e->b);
        snprintf(buf, cap, "(%s %sLIKE %s)", a, e->neg ? "NOT " : "", b);
        break;
    case E_CAST:
        fmt_expr(a, sizeof a, e->a);
        sql_typeinfo_name(b, sizeof b, &e->cast);
        snprintf(buf, cap, "CAST(%s AS %s)", a, b);
        break;
    case E_FUNC:
        if (e->star) {
            snprintf(buf, cap, "%s(*)", e->name);
        } else {
            size_t k = (size_t)snprintf(buf, cap, "%s(%s", e->name, e->distinct ? "DISTINCT " : "");
            for (int i = 0; i < e->nlist && k < cap; i++) {
                fmt_expr(a, sizeof a, e->list[i]);
                k += (size_t)snprintf(buf + k, cap - k, "%s%s", i ? ", " : "", a);
            }
            if (k < cap)
                snprintf(buf + k, cap - k, ")");
        }
        break;
    default:
        snprintf(buf, cap, "#%d", e->index);
    }
}

static int expr_equal(const sql_expr *a, const sql_expr *b)
{
    if (!a || !b)
        return a == b;
    if (a->kind != b->kind || a->op != b->op || a->neg != b->neg || a->star != b->star ||
        a->nlist != b->nlist)
        return 0;
    switch (a->kind) {
    case E_COL:
        return strcmp(a->name, b->name) == 0;
    case E_INT:
    case E_BOOL:
        return a->ival == b->ival;
    case E_DBL:
        return a->dval == b->dval;
    case E_STR:
        return a->slen == b->slen && memcmp(a->sval, b->sval, (size_t)a->slen) == 0;
    case E_FUNC:
        if (strcmp(a->name, b->name) != 0)
            return 0;
        break;
    case E_CAST:
        if (memcmp(&a->cast, &b->cast, sizeof a->cast) != 0)
            return 0;
        break;
    default:
        break;
    }
    for (int i = 0; i < a->nlist; i++)
        if (!expr_equal(a->list[i], b->list[i]))
            return 0;
    return expr_equal(a->a, b->a) && expr_equal(a->b, b->b) && expr_equal(a->c, b->c);
}

static int agg_kind(const char *name)
{
    if (strcmp(name, "count") == 0)
        return AGG_COUNT;
    if (strcmp(name, "sum") == 0 || strcmp(name, "total") == 0)
        return AGG_SUM;
    if (strcmp(name, "avg") == 0 || strcmp(name, "mean") == 0)
        return AGG_AVG;
    if (strcmp(name, "min") == 0)
        return AGG_MIN;
    if (strcmp(name, "max") == 0)
        return AGG_MAX;
    return -1;
}

static int has_agg(const sql_expr *e)
{
    if (!e)
        return 0;
    if (e->kind == E_FUNC && agg_kind(e->name) >= 0)
        return 1;
    for (int i = 0; i < e->nlist; i++)
        if (has_agg(e->list[i]))
            return 1;
    return has_agg(e->a) || has_agg(e->b) || has_agg(e->c);
}

static void type_str(char *buf, size_t cap, const sql_expr *e)
{
    char t[64], x[128];
    sql_typeinfo_name(t, sizeof t, &e->ty);
    fmt_expr(x, sizeof x, e);
    snprintf(buf, cap, "%s (%s)", x, t);
}

/* Convert a string literal node in place to a date/timestamp literal. */
static int fold_temporal(exec *x, sql_expr *lit, sql_type t)
{
    int64_t v;
    int rc = t == SQL_DATE ? sql_parse_date(lit->sval, lit->slen, &v)
                           : sql_parse_timestamp(lit->sval, lit->slen, &v);
    if (rc < 0)
        return err(x, lit->pos, "invalid %s literal '%s'", sql_type_name(t), lit->sval);
    lit->kind = E_INT;
    lit->ival = v;
    lit->ty.t = t;
    return 0;
}

static int bind_expr(exec *x, plan *p, sql_expr *e, int agg_ok);

static int bind_cmp_operands(exec *x, sql_expr *e, sql_expr *a, sql_expr *b, const char *what)
{
    /* String literals compared with dates/timestamps become temporal literals. */
    if (is_temporal(a->ty.t) && b->kind == E_STR && fold_temporal(x, b, a->ty.t) < 0)
        return -1;
    if (is_temporal(b->ty.t) && a->kind == E_STR && fold_temporal(x, a, b->ty.t) < 0)
        return -1;
    int64_t ma, mb;
    if (common_domain(&a->ty, &b->ty, &ma, &mb) < 0) {
        char sa[256], sb[256];
        type_str(sa, sizeof sa, a);
        type_str(sb, sizeof sb, b);
        return err(x, e->pos, "type error: cannot %s %s with %s", what, sa, sb);
    }
    return 0;
}

static int check_bool(exec *x, sql_expr *e, sql_expr *a)
{
    if (a->ty.t == SQL_NULL || a->ty.t == SQL_BOOL || is_num(a->ty.t))
        return 0;
    char sa[256];
    type_str(sa, sizeof sa, a);
    return err(x, e->pos, "type error: %s is not a boolean", sa);
}

static int bind_expr(exec *x, plan *p, sql_expr *e, int agg_ok)
{
    sql_typeinfo bigint = {SQL_BIGINT, 0, 0}, dbl = {SQL_DOUBLE, 0, 0}, boolean = {SQL_BOOL, 0, 0},
                 varchar = {SQL_VARCHAR, 0, 0};
    /* In an aggregate query, a subtree equal to a GROUP BY expression is a group key. */
    if (p->aggregate && agg_ok >= 0 && e->kind != E_INT && e->kind != E_DBL && e->kind != E_STR &&
        e->kind != E_NULL && e->kind != E_BOOL) {
        for (int g = 0; g < p->ngroup; g++) {
            if (expr_equal(e, p->group[g])) {
                sql_typeinfo ty = p->group[g]->ty;
                e->kind = E_GROUPREF;
                e->index = g;
                e->ty = ty;
                e->a = e->b = e->c = NULL;
                e->nlist = 0;
                return 0;
            }
        }
    }
    switch (e->kind) {
    case E_COL:
        for (int i = 0; i < p->ncols; i++) {
            if (strcmp(p->cols[i].name, e->name) == 0) {
                if (p->aggregate && agg_ok >= 0)
                    return err(x, e->pos,
                               "column %s must appear in GROUP BY or be used in an aggregate",
                               e->name);
                e->index = i;
                e->ty = p->cols[i].ty;
                p->cols[i].used = 1;
                return 0;
            }
        }
        return err(x, e->pos, "no such column: %s", e->name);
    case E_INT:
        if (e->ty.t == SQL_NULL)
            e->ty = bigint;
        return 0;
    case E_DBL:
        e->ty = dbl;
        return 0;
    case E_STR:
        e->ty = varchar;
        return 0;
    case E_NULL:
        e->ty.t = SQL_NULL;
        return 0;
    case E_BOOL:
        e->ty = boolean;
        return 0;
    case E_GROUPREF:
    case E_AGGREF:
        return 0;
    case E_BIN: {
        if (bind_expr(x, p, e->a, agg_ok) < 0 || bind_expr(x, p, e->b, agg_ok) < 0)
            return -1;
        sql_typeinfo ta = e->a->ty, tb = e->b->ty;
        if (e->op == OP_AND || e->op == OP_OR) {
            if (check_bool(x, e, e->a) < 0 || check_bool(x, e, e->b) < 0)
                return -1;
            e->ty = boolean;
            return 0;
        }
        if (e->op >= OP_EQ && e->op <= OP_GE) {
            if (bind_cmp_operands(x, e, e->a, e->b, "compare") < 0)
                return -1;
            e->ty = boolean;
            return 0;
        }
        if (e->op == OP_CONCAT) {
            e->ty = varchar;
            return 0;
        }
        if (ta.t == SQL_NULL)
            ta = tb.t == SQL_NULL ? bigint : tb;
        if (tb.t == SQL_NULL)
            tb = ta;
        if (!is_num(ta.t) || !is_num(tb.t)) {
            char sa[256], sb[256];
            type_str(sa, sizeof sa, e->a);
            type_str(sb, sizeof sb, e->b);
            return err(x, e->pos, "type error: cannot apply %s to %s and %s", binop_name(e->op), sa,
                       sb);
        }
        if (sql_type_phys(ta.t) == SQL_PHYS_DBL || sql_type_phys(tb.t) == SQL_PHYS_DBL) {
            e->ty = dbl;
        } else if (ta.t == SQL_DECIMAL || tb.t == SQL_DECIMAL) {
            int sa = tscale(&ta), sb = tscale(&tb);
            if (e->op == OP_ADD || e->op == OP_SUB) {
                e->ty.t = SQL_DECIMAL;
                e->ty.precision = 18;
                e->ty.scale = sa > sb ? sa : sb;
            } else if (e->op == OP_MUL && sa + sb <= 18) {
                e->ty.t = SQL_DECIMAL;
                e->ty.precision = 18;
                e->ty.scale = sa + sb;
            } else {
                e->ty = dbl;
            }
        } else {
            e->ty = bigint;
        }
        return 0;
    }
    case E_NOT:
        if (bind_expr(x, p, e->a, agg_ok) < 0 || check_bool(x, e, e->a) < 0)
            return -1;
        e->ty = boolean;
        return 0;
    case E_NEG:
        if (bind_expr(x, p, e->a, agg_ok) < 0)
            return -1;
        if (!is_num(e->a->ty.t) && e->a->ty.t != SQL_NULL) {
            char sa[256];
            type_str(sa, sizeof sa, e->a);
            return err(x, e->pos, "type error: cannot negate %s", sa);
        }
        e->ty = e->a->ty.t == SQL_BOOL || e->a->ty.t == SQL_NULL ? bigint : e->a->ty;
        if (e->ty.t == SQL_SMALLINT || e->ty.t == SQL_INT)
            e->ty = bigint;
        if (e->ty.t == SQL_REAL)
            e->ty = dbl;
        return 0;
    case E_ISNULL:
        if (bind_expr(x, p, e->a, agg_ok) < 0)
            return -1;
        e->ty = boolean;
        return 0;
    case E_BETWEEN:
        if (bind_expr(x, p, e->a, agg_ok) < 0 || bind_expr(x, p, e->b, agg_ok) < 0 ||
            bind_expr(x, p, e->c, agg_ok) < 0)
            return -1;
        if (bind_cmp_operands(x, e, e->a, e->b, "compare") < 0 ||
            bind_cmp_operands(x, e, e->a, e->c, "compare") < 0)
            return -1;
        e->ty = boolean;
        return 0;
    case E_IN:
        if (bind_expr(x, p, e->a, agg_ok) < 0)
            return -1;
        for (int i = 0; i < e->nlist; i++)
            if (bind_expr(x, p, e->list[i], agg_ok) < 0 ||
                bind_cmp_operands(x, e, e->a, e->list[i], "compare") < 0)
                return -1;
        e->ty = boolean;
        return 0;
    case E_LIKE:
        if (bind_expr(x, p, e->a, agg_ok) < 0 || bind_expr(x, p, e->b, agg_ok) < 0)
            return -1;
        if ((!is_str(e->a->ty.t) && e->a->ty.t != SQL_NULL) ||
            (!is_str(e->b->ty.t) && e->b->ty.t != SQL_NULL)) {
            char sa[256], sb[256];
            type_str(sa, sizeof sa, e->a);
            type_str(sb, sizeof sb, e->b);
            return err(x, e->pos, "type error: LIKE needs strings, got %s and %s", sa, sb);
        }
        e->ty = boolean;
        return 0;
    case E_CAST:
        if (bind_expr(x, p, e->a, agg_ok) < 0)
            return -1;
        if (e->a->kind == E_STR && is_temporal(e->cast.t)) {
            if (fold_temporal(x, e->a, e->cast.t) < 0)
                return -1;
        }
        e->ty = e->cast;
        return 0;
    case E_FUNC: {
        int ak = agg_kind(e->name);
        if (ak >= 0) {
            if (agg_ok <= 0)
                return err(x, e->pos, "aggregate %s() is not allowed here", e->name);
            if (e->distinct)
                return err(x, e->pos, "DISTINCT aggregates are not supported");
            if (e->star && ak != AGG_COUNT)
                return err(x, e->pos, "%s(*) is not valid", e->name);
            if (!e->star && e->nlist != 1)
                return err(x, e->pos, "%s() takes one argument", e->name);
            agg_info ai;
            memset(&ai, 0, sizeof ai);
            ai.kind = e->star ? AGG_COUNT_STAR : ak;
            if (!e->star) {
                ai.arg = e->list[0];
                if (bind_expr(x, p, ai.arg, -1) < 0) /* -1: raw input columns, no nesting */
                    return -1;
                sql_type at = ai.arg->ty.t;
                if ((ak == AGG_SUM || ak == AGG_AVG) && !is_num(at) && at != SQL_NULL) {
                    char sa[256];
                    type_str(sa, sizeof sa, ai.arg);
                    return err(x, e->pos, "type error: %s() needs a number, got %s", e->name, sa);
                }
            }
            switch (ai.kind) {
            case AGG_COUNT_STAR:
            case AGG_COUNT:
                ai.ty = bigint;
                break;
            case AGG_AVG:
                ai.ty = dbl;
                break;
            case AGG_SUM:
                ai.ty = ai.arg->ty;
                if (sql_type_phys(ai.ty.t) == SQL_PHYS_DBL)
                    ai.ty = dbl;
                else if (ai.ty.t == SQL_DECIMAL)
                    ai.ty.precision = 18;
                else
                    ai.ty = bigint;
                break;
            default:
                ai.ty = ai.arg->ty;
                if (ai.ty.t == SQL_NULL)
                    ai.ty = bigint;
            }
            int slot = -1;
            for (int i = 0; i < p->naggs; i++)
                if (p->aggs[i].kind == ai.kind &&
                    (ai.kind == AGG_COUNT_STAR || expr_equal(p->aggs[i].arg, ai.arg)))
                    slot = i;
            if (slot < 0) {
                if (p->naggs == 256)
                    return err(x, e->pos, "too many aggregates");
                slot = p->naggs++;
                p->aggs[slot] = ai;
            }
            e->kind = E_AGGREF;
            e->index = p->ngroup + slot;
            e->ty = ai.ty;
            return 0;
        }
        for (int i = 0; i < e->nlist; i++)
            if (bind_expr(x, p, e->list[i], agg_ok) < 0)
                return -1;
        if (strcmp(e->name, "abs") == 0 && e->nlist == 1 && is_num(e->list[0]->ty.t)) {
            e->ty = e->list[0]->ty;
            if (e->ty.t == SQL_BOOL || e->ty.t == SQL_SMALLINT || e->ty.t == SQL_INT)
                e->ty = bigint;
            return 0;
        }
        if ((strcmp(e->name, "lower") == 0 || strcmp(e->name, "upper") == 0) && e->nlist == 1) {
            e->ty = varchar;
            return 0;
        }
        if ((strcmp(e->name, "coalesce") == 0 || strcmp(e->name, "ifnull") == 0) && e->nlist >= 1) {
            sql_typeinfo t = {SQL_NULL, 0, 0};
            for (int i = 0; i < e->nlist; i++) {
                sql_typeinfo ai = e->list[i]->ty;
                int64_t ma, mb;
                if (ai.t == SQL_NULL)
                    continue;
                if (t.t == SQL_NULL) {
                    t = ai;
                    continue;
                }
                if (common_domain(&t, &ai, &ma, &mb) < 0) {
                    char sa[256];
                    type_str(sa, sizeof sa, e->list[i]);
                    return err(x, e->pos, "type error: %s() mixes %s with %s", e->name,
                               sql_type_name(t.t), sa);
                }
                if (is_num(t.t) && (sql_type_phys(ai.t) == SQL_PHYS_DBL ||
                                    (ai.t == SQL_DECIMAL && ai.scale != tscale(&t))))
                    t = dbl;
                else if (is_num(t.t) && t.t != ai.t && t.t != SQL_DOUBLE)
                    t = t.t == SQL_DECIMAL ? t : bigint;
            }
            e->ty = t;
            return 0;
        }
        if ((strcmp(e->name, "length") == 0) && e->nlist == 1) {
            e->ty = bigint;
            return 0;
        }
        return err(x, e->pos, "no such function: %s/%d", e->name, e->nlist);
    }
    }
    return err(x, e->pos, "internal: unbound expression");
}

/* ------------------------------------------------------------- kernels */

static int eval(exec *x, const sql_expr *e, const batch *b, sql_vec *out);

/* Evaluate e and convert to boolean 0/1 (numbers: non-zero). */
static int eval_bool(exec *x, const sql_expr *e, const batch *b, sql_vec *out)
{
    if (eval(x, e, b, out) < 0)
        return -1;
    if (out->ty.t == SQL_BOOL)
        return 0;
    sql_typeinfo bt = {SQL_BOOL, 0, 0};
    sql_vec t;
    if (vec_alloc(&t, bt, out->n) < 0) {
        sql_vec_free(out);
        return oom(x);
    }
    memcpy(t.nulls, out->nulls, (size_t)out->n);
    for (int64_t r = 0; r < out->n; r++) {
        if (out->ty.t == SQL_NULL)
            t.nulls[r] = 1, t.i[r] = 0;
        else if (phys(out) == SQL_PHYS_DBL)
            t.i[r] = out->f[r] != 0;
        else if (phys(out) == SQL_PHYS_INT)
            t.i[r] = out->i[r] != 0;
        else
            t.i[r] = 0;
    }
    sql_vec_free(out);
    *out = t;
    return 0;
}

static int like_match(const char *s, int64_t sn, const char *p, int64_t pn)
{
    int64_t si = 0, pi = 0, star_p = -1, star_s = 0;
    while (si < sn) {
        if (pi < pn && (p[pi] == '_' || p[pi] == s[si]) && p[pi] != '%') {
            si++;
            pi++;
        } else if (pi < pn && p[pi] == '%') {
            star_p = pi++;
            star_s = si;
        } else if (star_p >= 0) {
            pi = star_p + 1;
            si = ++star_s;
        } else {
            return 0;
        }
    }
    while (pi < pn && p[pi] == '%')
        pi++;
    return pi == pn;
}

static int cmp_result(int op, int c)
{
    switch (op) {
    case OP_EQ:
        return c == 0;
    case OP_NE:
        return c != 0;
    case OP_LT:
        return c < 0;
    case OP_LE:
        return c <= 0;
    case OP_GT:
        return c > 0;
    default:
        return c >= 0;
    }
}

/* out (bool) = a op b, a/b already evaluated. */
static int compare_vecs(exec *x, int op, const sql_vec *a, const sql_vec *bv, sql_vec *out)
{
    int64_t n = a->n, ma, mb;
    sql_typeinfo bt = {SQL_BOOL, 0, 0};
    int dom = common_domain(&a->ty, &bv->ty, &ma, &mb);
    if (vec_alloc(out, bt, n) < 0)
        return oom(x);
    for (int64_t r = 0; r < n; r++)
        out->nulls[r] = a->nulls[r] | bv->nulls[r];
    int64_t *o = out->i;
    if (dom == DOM_STR) {
        for (int64_t r = 0; r < n; r++) {
            int64_t la, lb;
            const char *pa = vstr(a, r, &la), *pb = vstr(bv, r, &lb);
            int c = memcmp(pa, pb, (size_t)(la < lb ? la : lb));
            if (c == 0)
                c = la < lb ? -1 : la > lb;
            o[r] = cmp_result(op, c);
        }
        return 0;
    }
    sql_vec ta, tb;
    memset(&ta, 0, sizeof ta);
    memset(&tb, 0, sizeof tb);
    int rc = 0;
    if (dom == DOM_DBL) {
        const double *pa, *pb;
        if (as_dbl(a, &ta, &pa) < 0 || as_dbl(bv, &tb, &pb) < 0) {
            rc = oom(x);
        } else {
#define CMPLOOP(OPR)                                                                               \
    for (int64_t r = 0; r < n; r++)                                                                \
        o[r] = pa[r] OPR pb[r];
            switch (op) {
            case OP_EQ:
                CMPLOOP(==) break;
            case OP_NE:
                CMPLOOP(!=) break;
            case OP_LT:
                CMPLOOP(<) break;
            case OP_LE:
                CMPLOOP(<=) break;
            case OP_GT:
                CMPLOOP(>) break;
            default:
                CMPLOOP(>=) break;
            }
        }
    } else {
        const int64_t *pa, *pb;
        if (as_int(a, ma, &ta, &pa) < 0 || as_int(bv, mb, &tb, &pb) < 0) {
            rc = oom(x);
        } else {
            switch (op) {
            case OP_EQ:
                CMPLOOP(==) break;
            case OP_NE:
                CMPLOOP(!=) break;
            case OP_LT:
                CMPLOOP(<) break;
            case OP_LE:
                CMPLOOP(<=) break;
            case OP_GT:
                CMPLOOP(>) break;
            default:
                CMPLOOP(>=) break;
            }
#undef CMPLOOP
        }
    }
    sql_vec_free(&ta);
    sql_vec_free(&tb);
    if (rc < 0)
        sql_vec_free(out);
    return rc;
}

static int arith(exec *x, const sql_expr *e, const sql_vec *a, const sql_vec *bv, sql_vec *out)
{
    int64_t n = a->n;
    if (vec_alloc(out, e->ty, n) < 0)
        return oom(x);
    for (int64_t r = 0; r < n; r++)
        out->nulls[r] = a->nulls[r] | bv->nulls[r];
    sql_vec ta, tb;
    memset(&ta, 0, sizeof ta);
    memset(&tb, 0, sizeof tb);
    int rc = 0;
    if (e->ty.t == SQL_DOUBLE) {
        const double *pa, *pb;
        if (as_dbl(a, &ta, &pa) < 0 || as_dbl(bv, &tb, &pb) < 0) {
            rc = oom(x);
            goto done;
        }
        double *o = out->f;
        switch (e->op) {
        case OP_ADD:
            for (int64_t r = 0; r < n; r++)
                o[r] = pa[r] + pb[r];
            break;
        case OP_SUB:
            for (int64_t r = 0; r < n; r++)
                o[r] = pa[r] - pb[r];
            break;
        case OP_MUL:
            for (int64_t r = 0; r < n; r++)
                o[r] = pa[r] * pb[r];
            break;
        case OP_DIV:
            for (int64_t r = 0; r < n; r++) {
                if (pb[r] == 0)
                    out->nulls[r] = 1, o[r] = 0;
                else
                    o[r] = pa[r] / pb[r];
            }
            break;
        default:
            for (int64_t r = 0; r < n; r++) {
                if (pb[r] == 0)
                    out->nulls[r] = 1, o[r] = 0;
                else
                    o[r] = fmod(pa[r], pb[r]);
            }
        }
    } else {
        /* Integers and decimals: operands rescaled to the result scale (for * the scales add). */
        int s = tscale(&e->ty), sa = tscale(&a->ty), sb = tscale(&bv->ty);
        int64_t ma = 1, mb = 1;
        if (e->op != OP_MUL) {
            ma = pow10_tab[s - sa >= 0 ? s - sa : 0];
            mb = pow10_tab[s - sb >= 0 ? s - sb : 0];
        }
        const int64_t *pa, *pb;
        if (as_int(a, ma, &ta, &pa) < 0 || as_int(bv, mb, &tb, &pb) < 0) {
            rc = oom(x);
            goto done;
        }
        int64_t *o = out->i;
        switch (e->op) {
        case OP_ADD:
            for (int64_t r = 0; r < n; r++)
                o[r] = (int64_t)((uint64_t)pa[r] + (uint64_t)pb[r]);
            break;
        case OP_SUB:
            for (int64_t r = 0; r < n; r++)
                o[r] = (int64_t)((uint64_t)pa[r] - (uint64_t)pb[r]);
            break;
        case OP_MUL:
            for (int64_t r = 0; r < n; r++)
                o[r] = (int64_t)((uint64_t)pa[r] * (uint64_t)pb[r]);
            break;
        case OP_DIV:
            for (int64_t r = 0; r < n; r++) {
                if (pb[r] == 0)
                    out->nulls[r] = 1, o[r] = 0;
                else if (pb[r] == -1)
                    o[r] = (int64_t)((uint64_t)0 - (uint64_t)pa[r]);
                else
                    o[r] = pa[r] / pb[r];
            }
            break;
        default:
            for (int64_t r = 0; r < n; r++) {
                if (pb[r] == 0)
                    out->nulls[r] = 1, o[r] = 0;
                else if (pb[r] == -1)
                    o[r] = 0;
                else
                    o[r] = pa[r] % pb[r];
            }
        }
    }
done:
    sql_vec_free(&ta);
    sql_vec_free(&tb);
    if (rc < 0)
        sql_vec_free(out);
    return rc;
}

/* Cast vector a to type t (into out). */
static int cast_vec(exec *x, int pos, const sql_vec *a, sql_typeinfo t, sql_vec *out)
{
    int64_t n = a->n;
    int pa = phys(a), pt = sql_type_phys(t.t);
    char buf[128], tn[64];
    sql_typeinfo_name(tn, sizeof tn, &t);
    if (t.t == SQL_VARCHAR || t.t == SQL_BLOB) {
        sql_vec_init(out, t);
        if (vec_reserve(out, n) < 0)
            return oom(x);
        for (int64_t r = 0; r < n; r++) {
            int64_t len;
            if (a->ty.t == SQL_NULL || a->nulls[r]) {
                if (vec_push_null(out) < 0)
                    goto nomem;
                continue;
            }
            const char *p = sql_vec_format(a, r, buf, sizeof buf, &len);
            if (vec_push_str(out, p, len) < 0)
                goto nomem;
        }
        return 0;
    }
    if (vec_alloc(out, t, n) < 0)
        return oom(x);
    if (a->ty.t == SQL_NULL) {
        memset(out->nulls, 1, (size_t)n);
        if (pt == SQL_PHYS_INT)
            memset(out->i, 0, sizeof(int64_t) * (size_t)n);
        else
            memset(out->f, 0, sizeof(double) * (size_t)n);
        return 0;
    }
    memcpy(out->nulls, a->nulls, (size_t)n);
    int sa = tscale(&a->ty), st = tscale(&t);
    for (int64_t r = 0; r < n; r++) {
        if (a->nulls[r]) {
            if (pt == SQL_PHYS_INT)
                out->i[r] = 0;
            else
                out->f[r] = 0;
            continue;
        }
        if (pa == SQL_PHYS_STR) {
            int64_t len;
            const char *s = vstr(a, r, &len);
            char tmp[128];
            int ok = 0;
            if (len < (int64_t)sizeof tmp) {
                memcpy(tmp, s, (size_t)len);
                tmp[len] = 0;
                char *end;
                if (t.t == SQL_DATE) {
                    ok = sql_parse_date(s, len, &out->i[r]) == 0;
                } else if (t.t == SQL_TIMESTAMP || t.t == SQL_TIMESTAMPTZ) {
                    ok = sql_parse_timestamp(s, len, &out->i[r]) == 0;
                } else if (t.t == SQL_DECIMAL) {
                    ok = sql_parse_decimal(s, len, st, &out->i[r]) == 0;
                } else if (t.t == SQL_BOOL) {
                    if (strcasecmp(tmp, "true") == 0 || strcmp(tmp, "1") == 0 ||
                        strcasecmp(tmp, "t") == 0)
                        out->i[r] = 1, ok = 1;
                    else if (strcasecmp(tmp, "false") == 0 || strcmp(tmp, "0") == 0 ||
                             strcasecmp(tmp, "f") == 0)
                        out->i[r] = 0, ok = 1;
                } else if (pt == SQL_PHYS_DBL) {
                    errno = 0;
                    out->f[r] = strtod(tmp, &end);
                    ok = end != tmp && *end == 0;
                } else {
                    errno = 0;
                    long long v = strtoll(tmp, &end, 10);
                    ok = end != tmp && *end == 0 && errno == 0;
                    out->i[r] = v;
                }
            }
            if (!ok) {
                sql_vec_free(out);
                return err(x, pos, "cannot cast '%.*s' to %s", (int)(len > 60 ? 60 : len), s, tn);
            }
            continue;
        }
        if (pt == SQL_PHYS_DBL) {
            out->f[r] = pa == SQL_PHYS_DBL ? a->f[r] : (double)a->i[r] / (double)pow10_tab[sa];
            if (t.t == SQL_REAL)
                out->f[r] = (float)out->f[r];
            continue;
        }
        /* int target */
        if (is_temporal(t.t) || is_temporal(a->ty.t)) {
            if (t.t == SQL_DATE && (a->ty.t == SQL_TIMESTAMP || a->ty.t == SQL_TIMESTAMPTZ)) {
                int64_t us = a->i[r];
                out->i[r] = us >= 0 ? us / 86400000000LL : -((-us + 86399999999LL) / 86400000000LL);
            } else if (a->ty.t == SQL_DATE && t.t != SQL_DATE && is_temporal(t.t)) {
                out->i[r] = a->i[r] * 86400000000LL;
            } else if (is_temporal(t.t) && is_temporal(a->ty.t)) {
                out->i[r] = a->i[r];
            } else {
                char an[64];
                sql_typeinfo_name(an, sizeof an, &a->ty);
                sql_vec_free(out);
                return err(x, pos, "type error: cannot cast %s to %s", an, tn);
            }
            continue;
        }
        double d = pa == SQL_PHYS_DBL ? a->f[r] : (double)a->i[r] / (double)pow10_tab[sa];
        if (pa == SQL_PHYS_DBL) {
            if (t.t == SQL_DECIMAL)
                d = round(d * (double)pow10_tab[st]);
            if (!(d > -9.3e18 && d < 9.3e18)) {
                sql_vec_free(out);
                return err(x, pos, "cannot cast %g to %s: out of range", a->f[r], tn);
            }
            out->i[r] = (int64_t)d;
        } else if (t.t == SQL_DECIMAL) {
            out->i[r] = st >= sa ? a->i[r] * pow10_tab[st - sa] : a->i[r] / pow10_tab[sa - st];
        } else {
            out->i[r] = a->i[r] / pow10_tab[sa];
        }
        if (t.t == SQL_BOOL)
            out->i[r] = out->i[r] != 0 || (pa == SQL_PHYS_DBL && a->f[r] != 0);
        int64_t lo = t.t == SQL_SMALLINT ? -32768 : t.t == SQL_INT ? INT32_MIN : INT64_MIN;
        int64_t hi = t.t == SQL_SMALLINT ? 32767 : t.t == SQL_INT ? INT32_MAX : INT64_MAX;
        if (out->i[r] < lo || out->i[r] > hi) {
            sql_vec_free(out);
            return err(x, pos, "cannot cast %lld to %s: out of range", (long long)out->i[r], tn);
        }
    }
    return 0;
nomem:
    sql_vec_free(out);
    return oom(x);
}

static int eval(exec *x, const sql_expr *e, const batch *b, sql_vec *out)
{
    int64_t n = b->n;
    sql_vec va, vb, vc;
    memset(&va, 0, sizeof va);
    memset(&vb, 0, sizeof vb);
    memset(&vc, 0, sizeof vc);
    int rc = 0;
    switch (e->kind) {
    case E_COL:
    case E_GROUPREF:
    case E_AGGREF: {
        *out = b->cols[e->index];
        out->borrowed = 1;
        return 0;
    }
    case E_INT:
    case E_BOOL:
    case E_DBL:
    case E_NULL:
        if (vec_alloc(out, e->ty, n) < 0)
            return oom(x);
        if (e->kind == E_NULL) {
            memset(out->nulls, 1, (size_t)(n ? n : 1));
            if (out->i)
                memset(out->i, 0, sizeof(int64_t) * (size_t)(n ? n : 1));
        } else if (e->kind == E_DBL) {
            for (int64_t r = 0; r < n; r++)
                out->f[r] = e->dval;
        } else {
            for (int64_t r = 0; r < n; r++)
                out->i[r] = e->ival;
        }
        return 0;
    case E_STR:
        sql_vec_init(out, e->ty);
        if (vec_reserve(out, n ? n : 1) < 0 || vec_reserve_data(out, e->slen * n) < 0) {
            sql_vec_free(out);
            return oom(x);
        }
        for (int64_t r = 0; r < n; r++)
            vec_push_str(out, e->sval, e->slen);
        return 0;
    case E_BIN:
        if (e->op == OP_AND || e->op == OP_OR) {
            if (eval_bool(x, e->a, b, &va) < 0)
                return -1;
            if (eval_bool(x, e->b, b, &vb) < 0) {
                sql_vec_free(&va);
                return -1;
            }
            if (vec_alloc(out, e->ty, n) < 0) {
                rc = oom(x);
                break;
            }
            int isand = e->op == OP_AND;
            for (int64_t r = 0; r < n; r++) {
                int an = va.nulls[r], bn = vb.nulls[r];
                int av = (int)va.i[r], bvv = (int)vb.i[r];
                if (isand) {
                    if ((!an && !av) || (!bn && !bvv))
                        out->i[r] = 0, out->nulls[r] = 0;
                    else if (an || bn)
                        out->i[r] = 0, out->nulls[r] = 1;
                    else
                        out->i[r] = 1, out->nulls[r] = 0;
                } else {
                    if ((!an && av) || (!bn && bvv))
                        out->i[r] = 1, out->nulls[r] = 0;
                    else if (an || bn)
                        out->i[r] = 0, out->nulls[r] = 1;
                    else
                        out->i[r] = 0, out->nulls[r] = 0;
                }
            }
            break;
        }
        if (eval(x, e->a, b, &va) < 0)
            return -1;
        if (eval(x, e->b, b, &vb) < 0) {
            sql_vec_free(&va);
            return -1;
        }
        if (e->op >= OP_EQ && e->op <= OP_GE) {
            rc = compare_vecs(x, e->op, &va, &vb, out);
        } else if (e->op == OP_CONCAT) {
            sql_typeinfo vt = {SQL_VARCHAR, 0, 0};
            sql_vec sa, sb;
            if (cast_vec(x, e->pos, &va, vt, &sa) < 0) {
                rc = -1;
                break;
            }
            if (cast_vec(x, e->pos, &vb, vt, &sb) < 0) {
                sql_vec_free(&sa);
                rc = -1;
                break;
            }
            sql_vec_init(out, vt);
            for (int64_t r = 0; r < n && rc == 0; r++) {
                if (sa.nulls[r] || sb.nulls[r]) {
                    if (vec_push_null(out) < 0)
                        rc = oom(x);
                    continue;
                }
                int64_t la, lb;
                const char *pa = vstr(&sa, r, &la), *pb = vstr(&sb, r, &lb);
                if (vec_push_str(out, pa, la) < 0 || vec_reserve_data(out, lb) < 0) {
                    rc = oom(x);
                    continue;
                }
                if (lb)
                    memcpy(out->data + out->dlen, pb, (size_t)lb);
                out->dlen += lb;
                out->off[out->n] = out->dlen;
            }
            if (rc == 0 && vec_reserve(out, 1) < 0)
                rc = oom(x);
            sql_vec_free(&sa);
            sql_vec_free(&sb);
            if (rc < 0)
                sql_vec_free(out);
        } else {
            rc = arith(x, e, &va, &vb, out);
        }
        break;
    case E_NOT:
        if (eval_bool(x, e->a, b, out) < 0)
            return -1;
        if (out->borrowed) {
            sql_vec own;
            sql_vec_init(&own, out->ty);
            if (vec_append(&own, out, NULL, 0) < 0 || vec_reserve(&own, 1) < 0) {
                sql_vec_free(&own);
                return oom(x);
            }
            *out = own;
        }
        for (int64_t r = 0; r < n; r++)
            out->i[r] = !out->i[r];
        return 0;
    case E_NEG: {
        if (eval(x, e->a, b, &va) < 0)
            return -1;
        if (vec_alloc(out, e->ty, n) < 0) {
            rc = oom(x);
            break;
        }
        memcpy(out->nulls, va.nulls, (size_t)n);
        if (va.ty.t == SQL_NULL) {
            memset(out->nulls, 1, (size_t)n);
        } else if (phys(out) == SQL_PHYS_DBL) {
            const double *pa;
            if (as_dbl(&va, &vb, &pa) < 0) {
                rc = oom(x);
                break;
            }
            for (int64_t r = 0; r < n; r++)
                out->f[r] = -pa[r];
        } else {
            for (int64_t r = 0; r < n; r++)
                out->i[r] = (int64_t)((uint64_t)0 - (uint64_t)va.i[r]);
        }
        break;
    }
    case E_ISNULL:
        if (eval(x, e->a, b, &va) < 0)
            return -1;
        if (vec_alloc(out, e->ty, n) < 0) {
            rc = oom(x);
            break;
        }
        for (int64_t r = 0; r < n; r++)
            out->i[r] = (va.ty.t == SQL_NULL || va.nulls[r]) ^ e->neg;
        break;
    case E_BETWEEN:
        if (eval(x, e->a, b, &va) < 0)
            return -1;
        if (eval(x, e->b, b, &vb) < 0 || eval(x, e->c, b, &vc) < 0) {
            rc = -1;
            break;
        }
        {
            sql_vec lo, hi;
            if (compare_vecs(x, OP_GE, &va, &vb, &lo) < 0) {
                rc = -1;
                break;
            }
            if (compare_vecs(x, OP_LE, &va, &vc, &hi) < 0) {
                sql_vec_free(&lo);
                rc = -1;
                break;
            }
            /* lo AND hi, three-valued, then NOT when negated */
            *out = lo;
            for (int64_t r = 0; r < n; r++) {
                int ln = lo.nulls[r], hn = hi.nulls[r], lv = (int)lo.i[r], hv = (int)hi.i[r];
                if ((!ln && !lv) || (!hn && !hv))
                    out->i[r] = 0, out->nulls[r] = 0;
                else if (ln || hn)
                    out->i[r] = 0, out->nulls[r] = 1;
                else
                    out->i[r] = 1;
                if (e->neg)
                    out->i[r] = !out->i[r];
            }
            sql_vec_free(&hi);
        }
        break;
    case E_IN: {
        if (eval(x, e->a, b, &va) < 0)
            return -1;
        if (vec_alloc(out, e->ty, n) < 0) {
            rc = oom(x);
            break;
        }
        /* found: 1 when any equal; null when none equal and some null */
        memset(out->i, 0, sizeof(int64_t) * (size_t)(n ? n : 1));
        for (int64_t r = 0; r < n; r++)
            out->nulls[r] = va.nulls[r];
        for (int k = 0; k < e->nlist && rc == 0; k++) {
            sql_vec c;
            if (eval(x, e->list[k], b, &vb) < 0) {
                rc = -1;
                break;
            }
            if (compare_vecs(x, OP_EQ, &va, &vb, &c) < 0) {
                rc = -1;
                break;
            }
            for (int64_t r = 0; r < n; r++) {
                if (va.nulls[r] || out->i[r])
                    continue;
                if (c.nulls[r])
                    out->nulls[r] = 1;
                else if (c.i[r])
                    out->i[r] = 1, out->nulls[r] = 0;
            }
            sql_vec_free(&c);
            sql_vec_free(&vb);
        }
        if (rc == 0 && e->neg)
            for (int64_t r = 0; r < n; r++)
                out->i[r] = !out->i[r];
        if (rc < 0)
            sql_vec_free(out);
        break;
    }
    case E_LIKE:
        if (eval(x, e->a, b, &va) < 0)
            return -1;
        if (eval(x, e->b, b, &vb) < 0) {
            rc = -1;
            break;
        }
        if (vec_alloc(out, e->ty, n) < 0) {
            rc = oom(x);
            break;
        }
        for (int64_t r = 0; r < n; r++) {
            out->nulls[r] =
                va.ty.t == SQL_NULL || vb.ty.t == SQL_NULL || va.nulls[r] || vb.nulls[r];
            out->i[r] = 0;
            if (!out->nulls[r]) {
                int64_t la, lb;
                const char *pa = vstr(&va, r, &la), *pb = vstr(&vb, r, &lb);
                out->i[r] = like_match(pa, la, pb, lb) ^ e->neg;
            }
        }
        break;
    case E_CAST:
        if (eval(x, e->a, b, &va) < 0)
            return -1;
        rc = cast_vec(x, e->pos, &va, e->cast, out);
        break;
    case E_FUNC: {
        if (strcmp(e->name, "coalesce") == 0 || strcmp(e->name, "ifnull") == 0) {
            /* cast every argument to the result type, then take the first non-NULL per row */
            sql_vec *args = es_calloc((size_t)e->nlist, sizeof(sql_vec));
            int64_t *pick = es_malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
            if (!args || !pick) {
                es_free(args);
                es_free(pick);
                return oom(x);
            }
            int k = 0;
            for (; k < e->nlist && rc == 0; k++) {
                if (eval(x, e->list[k], b, &va) < 0 ||
                    cast_vec(x, e->pos, &va, e->ty, &args[k]) < 0)
                    rc = -1;
                sql_vec_free(&va);
            }
            sql_vec_init(out, e->ty);
            for (int64_t r = 0; rc == 0 && r < n; r++) {
                int a = 0;
                while (a < e->nlist - 1 && args[a].nulls[r])
                    a++;
                pick[0] = r;
                if (vec_append(out, &args[a], pick, 1) < 0)
                    rc = oom(x);
            }
            if (rc == 0 && vec_reserve(out, 1) < 0)
                rc = oom(x);
            for (int i = 0; i < k; i++)
                sql_vec_free(&args[i]);
            es_free(args);
            es_free(pick);
            if (rc < 0)
                sql_vec_free(out);
            return rc;
        }
        if (eval(x, e->list[0], b, &va) < 0)
            return -1;
        if (strcmp(e->name, "abs") == 0) {
            rc = cast_vec(x, e->pos, &va, e->ty, out);
            if (rc == 0) {
                for (int64_t r = 0; r < n; r++) {
                    if (phys(out) == SQL_PHYS_DBL)
                        out->f[r] = fabs(out->f[r]);
                    else if (out->i[r] < 0)
                        out->i[r] = (int64_t)((uint64_t)0 - (uint64_t)out->i[r]);
                }
            }
        } else if (strcmp(e->name, "length") == 0) {
            sql_typeinfo vt = {SQL_VARCHAR, 0, 0};
            if (cast_vec(x, e->pos, &va, vt, &vb) < 0) {
                rc = -1;
                break;
            }
            if (vec_alloc(out, e->ty, n) < 0) {
                rc = oom(x);
                break;
            }
            for (int64_t r = 0; r < n; r++) {
                int64_t len, chars = 0;
                const char *p = vstr(&vb, r, &len);
                for (int64_t k = 0; k < len; k++)
                    chars += ((unsigned char)p[k] & 0xC0) != 0x80;
                out->nulls[r] = vb.nulls[r];
                out->i[r] = chars;
            }
        } else {
            int up = strcmp(e->name, "upper") == 0;
            sql_typeinfo vt = {SQL_VARCHAR, 0, 0};
            rc = cast_vec(x, e->pos, &va, vt, out);
            for (int64_t k = 0; rc == 0 && k < out->dlen; k++)
                out->data[k] = (char)(up ? toupper((unsigned char)out->data[k])
                                         : tolower((unsigned char)out->data[k]));
        }
        break;
    }
    }
    sql_vec_free(&va);
    sql_vec_free(&vb);
    sql_vec_free(&vc);
    return rc;
}

/* Rows of b where the bool vector is true: fills sel (capacity b->n), returns count. */
static int64_t select_true(const sql_vec *m, int64_t *sel)
{
    int64_t k = 0;
    for (int64_t r = 0; r < m->n; r++) {
        sel[k] = r;
        k += !m->nulls[r] && m->i[r];
    }
    return k;
}

/* Keep only rows sel[0..k) of every loaded column. */
static int batch_filter(batch *b, const int64_t *sel, int64_t k)
{
    for (int c = 0; c < b->ncols; c++) {
        sql_vec *v = &b->cols[c];
        if (!v->nulls)
            continue;
        sql_vec nv;
        sql_vec_init(&nv, v->ty);
        if (vec_append(&nv, v, sel, k) < 0 || vec_reserve(&nv, 1) < 0) {
            sql_vec_free(&nv);
            return -1;
        }
        sql_vec_free(v);
        *v = nv;
    }
    b->n = k;
    return 0;
}

static void batch_free(batch *b)
{
    for (int c = 0; c < b->ncols; c++)
        sql_vec_free(&b->cols[c]);
    es_free(b->cols);
    memset(b, 0, sizeof *b);
}

/* ------------------------------------------------------------ pushdown */

static int lit_value(const sql_expr *lit, const sql_typeinfo *col, es_value *v)
{
    memset(v, 0, sizeof *v);
    switch (col->t) {
    case SQL_SMALLINT:
    case SQL_INT:
    case SQL_BIGINT:
        if (lit->kind == E_INT && lit->ty.t == SQL_BIGINT) {
            v->kind = ES_VALUE_INT;
            v->i = lit->ival;
            return 0;
        }
        if (lit->kind == E_DBL && lit->dval == floor(lit->dval) && fabs(lit->dval) < 9e18) {
            v->kind = ES_VALUE_INT;
            v->i = (int64_t)lit->dval;
            return 0;
        }
        return -1;
    case SQL_DOUBLE:
        if (lit->kind == E_INT && lit->ty.t == SQL_BIGINT && llabs(lit->ival) < (1LL << 53)) {
            v->kind = ES_VALUE_DOUBLE;
            v->d = (double)lit->ival;
            return 0;
        }
        if (lit->kind == E_DBL) {
            v->kind = ES_VALUE_DOUBLE;
            v->d = lit->dval;
            return 0;
        }
        return -1;
    case SQL_REAL: {
        double d = lit->kind == E_DBL                                ? lit->dval
                   : (lit->kind == E_INT && lit->ty.t == SQL_BIGINT) ? (double)lit->ival
                                                                     : NAN;
        if (isnan(d) || (double)(float)d != d)
            return -1;
        v->kind = ES_VALUE_DOUBLE;
        v->d = d;
        return 0;
    }
    case SQL_VARCHAR:
        if (lit->kind != E_STR)
            return -1;
        v->kind = ES_VALUE_BYTES;
        v->bytes = (const uint8_t *)lit->sval;
        v->len = lit->slen;
        return 0;
    case SQL_DATE:
    case SQL_TIMESTAMP:
    case SQL_TIMESTAMPTZ:
        if (lit->kind == E_INT && lit->ty.t == col->t) {
            v->kind = ES_VALUE_INT;
            v->i = lit->ival;
            return 0;
        }
        return -1;
    default:
        return -1;
    }
}

static int is_lit(const sql_expr *e)
{
    return e->kind == E_INT || e->kind == E_DBL || e->kind == E_STR;
}

/* Translate e to an es_expr that accepts a superset of the rows e accepts. partial: AND may
 * drop untranslatable operands (not allowed under NOT). NULL when not translatable. */
static es_expr *push(const plan *p, const sql_expr *e, int partial)
{
    es_value v, w;
    switch (e->kind) {
    case E_BIN:
        if (e->op == OP_AND) {
            es_expr *a = push(p, e->a, partial), *b = push(p, e->b, partial);
            if (a && b)
                return es_expr_and(a, b);
            if (!partial) {
                es_expr_free(a);
                es_expr_free(b);
                return NULL;
            }
            return a ? a : b;
        }
        if (e->op == OP_OR) {
            es_expr *a = push(p, e->a, partial), *b = push(p, e->b, partial);
            if (a && b)
                return es_expr_or(a, b);
            es_expr_free(a);
            es_expr_free(b);
            return NULL;
        }
        if (e->op >= OP_EQ && e->op <= OP_GE) {
            const sql_expr *c = e->a, *l = e->b;
            int op = e->op;
            if (c->kind != E_COL) {
                c = e->b;
                l = e->a;
                static const int flip[] = {OP_EQ, OP_NE, OP_GT, OP_GE, OP_LT, OP_LE};
                op = flip[op - OP_EQ];
            }
            if (c->kind != E_COL || !is_lit(l) || lit_value(l, &c->ty, &v) < 0)
                return NULL;
            static const es_cmp_op ops[] = {ES_EQ, ES_NE, ES_LT, ES_LE, ES_GT, ES_GE};
            return es_expr_cmp(p->cols[c->index].name, ops[op - OP_EQ], v);
        }
        return NULL;
    case E_BETWEEN:
        if (e->a->kind != E_COL || !is_lit(e->b) || !is_lit(e->c) ||
            lit_value(e->b, &e->a->ty, &v) < 0 || lit_value(e->c, &e->a->ty, &w) < 0)
            return NULL;
        if (e->neg)
            return es_expr_not(es_expr_between(p->cols[e->a->index].name, v, w));
        return es_expr_between(p->cols[e->a->index].name, v, w);
    case E_IN: {
        if (e->a->kind != E_COL || e->nlist > 1000)
            return NULL;
        es_value vals[1000];
        for (int i = 0; i < e->nlist; i++)
            if (!is_lit(e->list[i]) || lit_value(e->list[i], &e->a->ty, &vals[i]) < 0)
                return NULL;
        es_expr *r = es_expr_in(p->cols[e->a->index].name, vals, e->nlist);
        return e->neg ? es_expr_not(r) : r;
    }
    case E_ISNULL:
        if (e->a->kind != E_COL)
            return NULL;
        return es_expr_is_null(p->cols[e->a->index].name, e->neg);
    case E_NOT: {
        es_expr *a = push(p, e->a, 0);
        return a ? es_expr_not(a) : NULL;
    }
    default:
        return NULL;
    }
}

/* ---------------------------------------------------------- aggregation */

typedef struct agg_state {
    int64_t *cnt;
    int64_t *isum;
    double *dsum;
    sql_vec best; /* min/max (int/dbl phys) */
    char **sbest; /* min/max strings */
    int64_t *slen;
} agg_state;

typedef struct group_table {
    int nkeys;
    sql_vec *keys; /* one vector per key, one row per group */
    int64_t ngroups;
    int64_t *slots; /* -1 empty; else group id */
    uint64_t *hashes;
    int64_t nslots;
    agg_state *st;
    int nst;
    int64_t cap; /* capacity of per-group state arrays */
} group_table;

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static void hash_vec(const sql_vec *v, uint64_t *h, int64_t n)
{
    int ph = phys(v);
    for (int64_t r = 0; r < n; r++) {
        uint64_t x;
        if (v->nulls[r]) {
            x = 0x9e3779b97f4a7c15ULL;
        } else if (ph == SQL_PHYS_INT) {
            x = (uint64_t)v->i[r];
        } else if (ph == SQL_PHYS_DBL) {
            double d = v->f[r] == 0 ? 0 : v->f[r];
            memcpy(&x, &d, 8);
        } else {
            int64_t len;
            const unsigned char *p = (const unsigned char *)vstr(v, r, &len);
            x = 1469598103934665603ULL;
            for (int64_t k = 0; k < len; k++)
                x = (x ^ p[k]) * 1099511628211ULL;
        }
        h[r] = mix(h[r] * 31 + x);
    }
}

static int key_equal(const group_table *g, int64_t gid, const sql_vec *keys, int64_t r)
{
    for (int k = 0; k < g->nkeys; k++) {
        const sql_vec *a = &g->keys[k], *b = &keys[k];
        if (a->nulls[gid] != b->nulls[r])
            return 0;
        if (a->nulls[gid])
            continue;
        int ph = phys(a);
        if (ph == SQL_PHYS_INT) {
            if (a->i[gid] != b->i[r])
                return 0;
        } else if (ph == SQL_PHYS_DBL) {
            if (a->f[gid] != b->f[r])
                return 0;
        } else {
            int64_t la, lb;
            const char *pa = vstr(a, gid, &la), *pb = vstr(b, r, &lb);
            if (la != lb || memcmp(pa, pb, (size_t)la) != 0)
                return 0;
        }
    }
    return 1;
}

static int grow_states(group_table *g, const plan *p, int64_t need)
{
    if (need <= g->cap)
        return 0;
    int64_t cap = g->cap ? g->cap * 2 : 64;
    while (cap < need)
        cap *= 2;
    for (int a = 0; a < g->nst; a++) {
        agg_state *s = &g->st[a];
        int64_t *c = es_realloc(s->cnt, sizeof(int64_t) * (size_t)cap);
        if (!c)
            return -1;
        s->cnt = c;
        int64_t *is = es_realloc(s->isum, sizeof(int64_t) * (size_t)cap);
        if (!is)
            return -1;
        s->isum = is;
        double *ds = es_realloc(s->dsum, sizeof(double) * (size_t)cap);
        if (!ds)
            return -1;
        s->dsum = ds;
        if (p->aggs[a].kind == AGG_MIN || p->aggs[a].kind == AGG_MAX) {
            if (sql_type_phys(p->aggs[a].ty.t) == SQL_PHYS_STR) {
                char **sb = es_realloc(s->sbest, sizeof(char *) * (size_t)cap);
                if (!sb)
                    return -1;
                s->sbest = sb;
                int64_t *sl = es_realloc(s->slen, sizeof(int64_t) * (size_t)cap);
                if (!sl)
                    return -1;
                s->slen = sl;
            } else if (vec_reserve(&s->best, cap) < 0) {
                return -1;
            }
        }
        for (int64_t i = g->cap; i < cap; i++) {
            s->cnt[i] = 0;
            s->isum[i] = 0;
            s->dsum[i] = 0;
            if (s->sbest)
                s->sbest[i] = NULL, s->slen[i] = 0;
        }
    }
    g->cap = cap;
    return 0;
}

static int rehash(group_table *g, int64_t nslots)
{
    int64_t *slots = es_malloc(sizeof(int64_t) * (size_t)nslots);
    if (!slots)
        return -1;
    for (int64_t i = 0; i < nslots; i++)
        slots[i] = -1;
    for (int64_t gid = 0; gid < g->ngroups; gid++) {
        uint64_t s = g->hashes[gid] & (uint64_t)(nslots - 1);
        while (slots[s] >= 0)
            s = (s + 1) & (uint64_t)(nslots - 1);
        slots[s] = gid;
    }
    es_free(g->slots);
    g->slots = slots;
    g->nslots = nslots;
    return 0;
}

/* Map rows of keys to group ids (creating groups). */
static int assign_groups(group_table *g, const plan *p, const sql_vec *keys, int64_t n,
                         int64_t *gids)
{
    if (g->nkeys == 0) {
        if (g->ngroups == 0) {
            if (grow_states(g, p, 1) < 0)
                return -1;
            g->ngroups = 1;
        }
        memset(gids, 0, sizeof(int64_t) * (size_t)n);
        return 0;
    }
    uint64_t *h = es_calloc((size_t)(n ? n : 1), sizeof(uint64_t));
    if (!h)
        return -1;
    for (int k = 0; k < g->nkeys; k++)
        hash_vec(&keys[k], h, n);
    for (int64_t r = 0; r < n; r++) {
        if ((g->ngroups + 1) * 2 > g->nslots) {
            if (rehash(g, g->nslots ? g->nslots * 2 : 1024) < 0)
                goto nomem;
        }
        uint64_t s = h[r] & (uint64_t)(g->nslots - 1);
        int64_t gid;
        for (;;) {
            gid = g->slots[s];
            if (gid < 0 || (g->hashes[gid] == h[r] && key_equal(g, gid, keys, r)))
                break;
            s = (s + 1) & (uint64_t)(g->nslots - 1);
        }
        if (gid < 0) {
            gid = g->ngroups;
            if (grow_states(g, p, gid + 1) < 0)
                goto nomem;
            uint64_t *hh = es_realloc(g->hashes, sizeof(uint64_t) * (size_t)g->cap);
            if (!hh)
                goto nomem;
            g->hashes = hh;
            g->hashes[gid] = h[r];
            for (int k = 0; k < g->nkeys; k++) {
                int64_t one = r;
                if (vec_append(&g->keys[k], &keys[k], &one, 1) < 0)
                    goto nomem;
            }
            g->slots[s] = gid;
            g->ngroups++;
        }
        gids[r] = gid;
    }
    es_free(h);
    return 0;
nomem:
    es_free(h);
    return -1;
}

static int update_agg(group_table *g, const plan *p, int a, const sql_vec *v, const int64_t *gids,
                      int64_t n)
{
    agg_state *s = &g->st[a];
    const agg_info *ai = &p->aggs[a];
    if (ai->kind == AGG_COUNT_STAR) {
        for (int64_t r = 0; r < n; r++)
            s->cnt[gids[r]]++;
        return 0;
    }
    if (v->ty.t == SQL_NULL)
        return 0;
    int ph = phys(v);
    switch (ai->kind) {
    case AGG_COUNT:
        for (int64_t r = 0; r < n; r++)
            s->cnt[gids[r]] += !v->nulls[r];
        break;
    case AGG_SUM:
    case AGG_AVG:
        if (ph == SQL_PHYS_DBL) {
            for (int64_t r = 0; r < n; r++)
                if (!v->nulls[r])
                    s->cnt[gids[r]]++, s->dsum[gids[r]] += v->f[r];
        } else {
            for (int64_t r = 0; r < n; r++)
                if (!v->nulls[r]) {
                    s->cnt[gids[r]]++;
                    s->isum[gids[r]] = (int64_t)((uint64_t)s->isum[gids[r]] + (uint64_t)v->i[r]);
                }
        }
        break;
    default: {
        int mx = ai->kind == AGG_MAX;
        for (int64_t r = 0; r < n; r++) {
            if (v->nulls[r])
                continue;
            int64_t gid = gids[r];
            int first = s->cnt[gid]++ == 0;
            if (ph == SQL_PHYS_INT) {
                if (first || (mx ? v->i[r] > s->best.i[gid] : v->i[r] < s->best.i[gid]))
                    s->best.i[gid] = v->i[r];
            } else if (ph == SQL_PHYS_DBL) {
                if (first || (mx ? v->f[r] > s->best.f[gid] : v->f[r] < s->best.f[gid]))
                    s->best.f[gid] = v->f[r];
            } else {
                int64_t len;
                const char *pv = vstr(v, r, &len);
                int better = first;
                if (!first) {
                    int c = memcmp(pv, s->sbest[gid],
                                   (size_t)(len < s->slen[gid] ? len : s->slen[gid]));
                    if (c == 0)
                        c = len < s->slen[gid] ? -1 : len > s->slen[gid];
                    better = mx ? c > 0 : c < 0;
                }
                if (better) {
                    char *cp = es_malloc((size_t)(len ? len : 1));
                    if (!cp)
                        return -1;
                    memcpy(cp, pv, (size_t)len);
                    es_free(s->sbest[gid]);
                    s->sbest[gid] = cp;
                    s->slen[gid] = len;
                }
            }
        }
    }
    }
    return 0;
}

static void group_table_free(group_table *g)
{
    for (int k = 0; k < g->nkeys; k++)
        sql_vec_free(&g->keys[k]);
    es_free(g->keys);
    for (int a = 0; a < g->nst; a++) {
        agg_state *s = &g->st[a];
        es_free(s->cnt);
        es_free(s->isum);
        es_free(s->dsum);
        sql_vec_free(&s->best);
        if (s->sbest)
            for (int64_t i = 0; i < g->ngroups; i++)
                es_free(s->sbest[i]);
        es_free(s->sbest);
        es_free(s->slen);
    }
    es_free(g->st);
    es_free(g->slots);
    es_free(g->hashes);
    memset(g, 0, sizeof *g);
}

/* The aggregated batch: group keys then aggregate results, one row per group. */
static int finish_groups(group_table *g, const plan *p, batch *out)
{
    int64_t ng = g->ngroups;
    out->n = ng;
    out->ncols = p->ngroup + p->naggs;
    out->cols = es_calloc((size_t)(out->ncols ? out->ncols : 1), sizeof(sql_vec));
    if (!out->cols)
        return -1;
    for (int k = 0; k < p->ngroup; k++) {
        out->cols[k] = g->keys[k];
        sql_vec_init(&g->keys[k], g->keys[k].ty);
        if (vec_reserve(&out->cols[k], 1) < 0)
            return -1;
    }
    for (int a = 0; a < p->naggs; a++) {
        const agg_info *ai = &p->aggs[a];
        agg_state *s = &g->st[a];
        sql_vec *v = &out->cols[p->ngroup + a];
        if (sql_type_phys(ai->ty.t) == SQL_PHYS_STR) {
            sql_vec_init(v, ai->ty);
            for (int64_t i = 0; i < ng; i++) {
                int rc = s->cnt[i] ? vec_push_str(v, s->sbest[i], s->slen[i]) : vec_push_null(v);
                if (rc < 0)
                    return -1;
            }
            if (vec_reserve(v, 1) < 0)
                return -1;
            continue;
        }
        if (vec_alloc(v, ai->ty, ng) < 0)
            return -1;
        for (int64_t i = 0; i < ng; i++) {
            int64_t c = s->cnt[i];
            switch (ai->kind) {
            case AGG_COUNT_STAR:
            case AGG_COUNT:
                v->i[i] = c;
                break;
            case AGG_SUM:
                v->nulls[i] = c == 0;
                if (phys(v) == SQL_PHYS_DBL)
                    v->f[i] = s->dsum[i];
                else
                    v->i[i] = s->isum[i];
                break;
            case AGG_AVG: {
                v->nulls[i] = c == 0;
                double sum = sql_type_phys(ai->arg->ty.t) == SQL_PHYS_DBL
                                 ? s->dsum[i]
                                 : (double)s->isum[i] / (double)pow10_tab[tscale(&ai->arg->ty)];
                v->f[i] = c ? sum / (double)c : 0;
                break;
            }
            default:
                v->nulls[i] = c == 0;
                if (phys(v) == SQL_PHYS_DBL)
                    v->f[i] = c ? s->best.f[i] : 0;
                else
                    v->i[i] = c ? s->best.i[i] : 0;
            }
        }
    }
    return 0;
}

/* --------------------------------------------------------------- sort */

typedef struct sort_ctx {
    const sql_result *r;
    const sql_order_item *order;
    const int *cols;
    int nkeys;
} sort_ctx;

static int sort_cmp(const void *pa, const void *pb, void *arg)
{
    const sort_ctx *c = arg;
    int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
    for (int k = 0; k < c->nkeys; k++) {
        const sql_vec *v = &c->r->cols[c->cols[k]];
        int desc = c->order[k].desc;
        int nulls_first = c->order[k].nulls ? c->order[k].nulls == 1 : !desc;
        int na = v->nulls[a], nb = v->nulls[b], d = 0;
        if (na || nb) {
            if (na && nb)
                continue;
            return na ? (nulls_first ? -1 : 1) : (nulls_first ? 1 : -1);
        }
        int ph = phys(v);
        if (ph == SQL_PHYS_INT) {
            d = v->i[a] < v->i[b] ? -1 : v->i[a] > v->i[b];
        } else if (ph == SQL_PHYS_DBL) {
            d = v->f[a] < v->f[b] ? -1 : v->f[a] > v->f[b];
        } else {
            int64_t la, lb;
            const char *sa = vstr(v, a, &la), *sb = vstr(v, b, &lb);
            d = memcmp(sa, sb, (size_t)(la < lb ? la : lb));
            if (d == 0)
                d = la < lb ? -1 : la > lb;
            d = d < 0 ? -1 : d > 0;
        }
        if (d)
            return desc ? -d : d;
    }
    return a < b ? -1 : a > b;
}

/* ------------------------------------------------------------- SELECT */

static int const_int(exec *x, sql_expr *e, const char *what, int64_t *out)
{
    plan dummy;
    memset(&dummy, 0, sizeof dummy);
    if (bind_expr(x, &dummy, e, 0) < 0)
        return -1;
    if (e->kind != E_INT || e->ival < 0)
        return err(x, e->pos, "%s must be a non-negative integer", what);
    *out = e->ival;
    return 0;
}

static void plan_free(plan *p)
{
    if (p->cols)
        for (int i = 0; i < p->ncols; i++)
            es_free(p->cols[i].name);
    es_free(p->cols);
    es_free(p->out);
    for (int i = 0; p->names && i < p->nout; i++)
        es_free(p->names[i]);
    es_free(p->names);
    es_free(p->order_col);
    es_expr_free(p->pushed);
    for (int i = 0; i < p->nowned; i++)
        es_free(p->owned[i]);
    if (p->distinct_group && p->sel) {
        p->sel->group = NULL;
        p->sel->ngroup = 0;
    }
    es_free(p->distinct_group);
    memset(p, 0, sizeof *p);
}

static int describe(exec *x, const char *table, int64_t version, int pos, col_info **cols,
                    int *ncols, es_table_info *info_out)
{
    es_table_info info;
    memset(&info, 0, sizeof info);
    es_status st = es_table_describe(x->s->store, table, version, &info);
    if (st != ES_OK) {
        if (st == ES_NOT_FOUND && version < 0)
            return err(x, pos, "no such table: %s", table);
        return err(x, pos, "%s", es_store_errmsg(x->s->store));
    }
    int n = (int)info.schema.n_children;
    *cols = es_calloc((size_t)(n ? n : 1), sizeof(col_info));
    if (!*cols) {
        es_table_info_reset(&info);
        return oom(x);
    }
    for (int i = 0; i < n; i++) {
        const struct ArrowSchema *c = info.schema.children[i];
        (*cols)[i].name = es_strdup(c->name ? c->name : "");
        (*cols)[i].nullable = (c->flags & ARROW_FLAG_NULLABLE) != 0;
        if (sql_type_from_arrow(&(*cols)[i].ty, c->format) < 0) {
            (*cols)[i].ty.t = SQL_NULL; /* unsupported: usable only if not referenced */
        }
    }
    *ncols = n;
    if (info_out)
        *info_out = info;
    else
        es_table_info_reset(&info);
    return 0;
}

/* HAVING may name a select item by its alias (when no input column has that name): the
 * reference becomes a copy of the (already bound) item. */
static int resolve_aliases(exec *x, plan *p, sql_expr **ep)
{
    sql_expr *e = *ep;
    if (!e)
        return 0;
    if (e->kind == E_COL) {
        for (int c = 0; c < p->ncols; c++)
            if (strcmp(p->cols[c].name, e->name) == 0)
                return 0;
        for (int i = 0, k = 0; i < p->sel->nitems; i++) {
            int cnt = p->sel->items[i].e ? 1 : p->ncols;
            const char *alias = p->sel->items[i].alias;
            if (alias && strcmp(alias, e->name) == 0) {
                sql_expr *copy = p->nowned < 512 ? es_malloc(sizeof *copy) : NULL;
                if (!copy)
                    return oom(x);
                p->owned[p->nowned++] = copy;
                *copy = *p->out[k];
                *ep = copy;
                return 0;
            }
            k += cnt;
        }
        return 0;
    }
    if (resolve_aliases(x, p, &e->a) < 0 || resolve_aliases(x, p, &e->b) < 0 ||
        resolve_aliases(x, p, &e->c) < 0)
        return -1;
    for (int i = 0; i < e->nlist; i++)
        if (resolve_aliases(x, p, &e->list[i]) < 0)
            return -1;
    return 0;
}

static int bind_select(exec *x, sql_select *sel, plan *p)
{
    memset(p, 0, sizeof *p);
    p->sel = sel;
    p->limit = -1;
    if (sel->table) {
        es_table_info info;
        if (describe(x, sel->table, sel->as_of, sel->table_pos, &p->cols, &p->ncols, &info) < 0)
            return -1;
        p->version = info.version;
        es_table_info_reset(&info);
    }
    /* Expand '*'. */
    int nitems = 0;
    for (int i = 0; i < sel->nitems; i++) {
        if (!sel->items[i].e) {
            if (!sel->table)
                return err(x, -1, "SELECT * needs a FROM clause");
            nitems += p->ncols;
        } else {
            nitems++;
        }
    }
    int cap = nitems + sel->norder + 1;
    p->out = es_calloc((size_t)cap, sizeof(sql_expr *));
    p->names = es_calloc((size_t)cap, sizeof(char *));
    p->order_col = es_calloc((size_t)(sel->norder + 1), sizeof(int));
    if (!p->out || !p->names || !p->order_col)
        return oom(x);
    for (int i = 0; i < sel->nitems; i++) {
        if (!sel->items[i].e) {
            for (int c = 0; c < p->ncols; c++) {
                sql_expr *e = es_calloc(1, sizeof *e); /* freed by free_star_exprs */
                if (!e)
                    return oom(x);
                e->kind = E_COL;
                e->name = p->cols[c].name;
                e->pos = -1;
                p->out[p->nout++] = e;
            }
        } else {
            p->out[p->nout++] = sel->items[i].e;
        }
    }
    /* Names: alias, else the expression's text. */
    int k = 0;
    for (int i = 0; i < sel->nitems; i++) {
        int cnt = sel->items[i].e ? 1 : p->ncols;
        for (int j = 0; j < cnt; j++, k++) {
            char buf[256];
            if (sel->items[i].alias)
                snprintf(buf, sizeof buf, "%s", sel->items[i].alias);
            else
                fmt_expr(buf, sizeof buf, p->out[k]);
            p->names[k] = es_strdup(buf);
        }
    }
    p->nvisible = p->nout;
    p->aggregate = sel->ngroup > 0 || sel->having != NULL;
    for (int i = 0; i < p->nout; i++)
        if (has_agg(p->out[i]))
            p->aggregate = 1;
    for (int i = 0; i < sel->norder; i++)
        if (has_agg(sel->order[i].e))
            p->aggregate = 1;
    if (sel->limit && const_int(x, sel->limit, "LIMIT", &p->limit) < 0)
        return -1;
    if (sel->offset && const_int(x, sel->offset, "OFFSET", &p->offset) < 0)
        return -1;
    if (sel->where) {
        if (has_agg(sel->where))
            return err(x, sel->where->pos, "aggregates are not allowed in WHERE");
        plan tmp = *p;
        tmp.aggregate = 0;
        if (bind_expr(x, &tmp, sel->where, 0) < 0 || check_bool(x, sel->where, sel->where) < 0)
            return -1;
    }
    if (sel->distinct) {
        /* DISTINCT: group by every output column (positions), aggregates are not allowed. */
        if (p->aggregate || sel->ngroup)
            return err(x, -1, "SELECT DISTINCT with GROUP BY or aggregates is not supported");
        if (p->nvisible > 200)
            return err(x, -1, "SELECT DISTINCT: too many columns");
        sql_expr **g = es_calloc((size_t)p->nvisible, sizeof *g);
        if (!g)
            return oom(x);
        p->distinct_group = g;
        for (int i = 0; i < p->nvisible; i++) {
            sql_expr *e = es_calloc(1, sizeof *e);
            if (!e)
                return oom(x);
            p->owned[p->nowned++] = e;
            e->kind = E_INT;
            e->ival = i + 1;
            e->pos = -1;
            g[i] = e;
        }
        sel->group = g;
        sel->ngroup = p->nvisible;
        p->aggregate = 1;
    }
    /* GROUP BY expressions bind against input columns; an integer n is output column n. */
    p->group = sel->group;
    p->ngroup = sel->ngroup;
    for (int g = 0; g < sel->ngroup; g++) {
        sql_expr *e = sel->group[g];
        if (e->kind == E_INT) {
            if (e->ival < 1 || e->ival > p->nvisible)
                return err(x, e->pos, "GROUP BY position %lld is out of range", (long long)e->ival);
            /* The group key is the select item; the item becomes a copy that binds to it. */
            sql_expr *copy = p->nowned < 512 ? es_malloc(sizeof *copy) : NULL;
            if (!copy)
                return oom(x);
            p->owned[p->nowned++] = copy;
            int64_t at = e->ival - 1;
            sel->group[g] = e = p->out[at];
            *copy = *e;
            p->out[at] = copy;
        }
        if (e->kind == E_COL && !sel->table)
            return err(x, e->pos, "no such column: %s", e->name);
        if (has_agg(e))
            return err(x, e->pos, "aggregates are not allowed in GROUP BY");
        plan tmp = *p;
        tmp.aggregate = 0;
        if (e->kind != E_GROUPREF && bind_expr(x, &tmp, e, 0) < 0)
            return -1;
        for (int c = 0; c < p->ncols; c++)
            p->cols[c].used |= tmp.cols[c].used;
    }
    /* ORDER BY: output position, alias or output expression -> that column; else hidden. */
    for (int o = 0; o < sel->norder; o++) {
        sql_expr *e = sel->order[o].e;
        int col = -1;
        if (e->kind == E_INT) {
            if (e->ival < 1 || e->ival > p->nvisible)
                return err(x, e->pos, "ORDER BY position %lld is out of range", (long long)e->ival);
            col = (int)e->ival - 1;
        } else if (e->kind == E_COL) {
            for (int i = 0; i < p->nvisible && col < 0; i++) {
                int aliased = 0;
                for (int it = 0, kk = 0; it < sel->nitems; it++) {
                    int cnt = sel->items[it].e ? 1 : p->ncols;
                    if (i >= kk && i < kk + cnt)
                        aliased = sel->items[it].alias != NULL;
                    kk += cnt;
                }
                if (aliased && strcmp(p->names[i], e->name) == 0)
                    col = i;
            }
        }
        if (col < 0)
            for (int i = 0; i < p->nvisible && col < 0; i++)
                if (expr_equal(e, p->out[i]))
                    col = i;
        if (col < 0) {
            col = p->nout;
            p->names[p->nout] = es_strdup("#order");
            p->out[p->nout++] = e;
        }
        p->order_col[o] = col;
    }
    int agg_ok = p->aggregate ? 1 : 0;
    for (int i = 0; i < p->nout; i++) {
        if (!sel->table && (p->out[i]->kind == E_COL))
            return err(x, p->out[i]->pos, "no such column: %s", p->out[i]->name);
        if (bind_expr(x, p, p->out[i], agg_ok) < 0)
            return -1;
    }
    if (sel->having) {
        if (resolve_aliases(x, p, &sel->having) < 0)
            return -1;
        if (bind_expr(x, p, sel->having, 1) < 0 || check_bool(x, sel->having, sel->having) < 0)
            return -1;
    }
    for (int c = 0; c < p->ncols; c++)
        if (p->cols[c].used && p->cols[c].ty.t == SQL_NULL)
            return err(x, -1, "column %s has an unsupported type", p->cols[c].name);
    if (sel->where)
        p->pushed = push(p, sel->where, 1);
    return 0;
}

static void free_star_exprs(plan *p)
{
    /* '*' expansions were allocated with es_calloc: free those that are not AST nodes. */
    sql_select *sel = p->sel;
    int k = 0;
    for (int i = 0; sel && i < sel->nitems; i++) {
        if (sel->items[i].e) {
            k++;
            continue;
        }
        for (int c = 0; c < p->ncols; c++, k++) {
            int owned = 0;
            for (int o = 0; o < p->nowned; o++)
                owned |= p->owned[o] == p->out[k];
            if (k < p->nout && !owned)
                es_free(p->out[k]);
        }
    }
}

/* Load the used columns of an Arrow batch. */
static int load_batch(exec *x, const plan *p, const struct ArrowSchema *schema,
                      const struct ArrowArray *arr, const int *proj, batch *b)
{
    es_array_view v;
    es_error e;
    memset(&v, 0, sizeof v);
    if (es_array_view_init(&v, schema, arr, &e) != ES_OK)
        return err(x, -1, "%s: bad batch from scan: %s", p->sel->table, e.msg);
    b->n = arr->length;
    b->ncols = p->ncols;
    b->cols = es_calloc((size_t)(p->ncols ? p->ncols : 1), sizeof(sql_vec));
    if (!b->cols) {
        es_array_view_reset(&v);
        return oom(x);
    }
    (void)proj;
    for (int i = 0; i < v.n_children; i++) {
        /* Columns come back by logical name; match them to the table's columns. */
        const char *name = schema->children[i]->name;
        int c = -1;
        for (int k = 0; name && k < p->ncols && c < 0; k++)
            if (p->cols[k].used && strcmp(p->cols[k].name, name) == 0)
                c = k;
        if (c < 0 || b->cols[c].nulls)
            continue;
        if (v.children[i].length != arr->length) {
            es_array_view_reset(&v);
            return err(x, -1, "%s: column %s has %lld rows in a batch of %lld", p->sel->table, name,
                       (long long)v.children[i].length, (long long)arr->length);
        }
        if (load_column(&b->cols[c], &v.children[i], p->cols[c].ty) < 0) {
            es_array_view_reset(&v);
            return oom(x);
        }
    }
    es_array_view_reset(&v);
    for (int c = 0; c < p->ncols; c++)
        if (p->cols[c].used && !b->cols[c].nulls)
            return err(x, -1, "%s: the scan returned no column %s", p->sel->table, p->cols[c].name);
    return 0;
}

static int result_init(exec *x, const plan *p, sql_result *res)
{
    memset(res, 0, sizeof *res);
    res->ncols = p->nout;
    res->cols = es_calloc((size_t)(p->nout ? p->nout : 1), sizeof(sql_vec));
    res->names = es_calloc((size_t)(p->nout ? p->nout : 1), sizeof(char *));
    if (!res->cols || !res->names)
        return oom(x);
    for (int i = 0; i < p->nout; i++) {
        sql_typeinfo ty = p->out[i]->ty;
        if (ty.t == SQL_NULL)
            ty.t = SQL_NULL;
        sql_vec_init(&res->cols[i], ty);
        res->names[i] = es_strdup(p->names[i]);
        if (!res->names[i])
            return oom(x);
    }
    return 0;
}

/* Evaluate the output expressions over b (after filtering) and append to res. */
static int emit(exec *x, const plan *p, const batch *b, sql_result *res)
{
    for (int i = 0; i < p->nout; i++) {
        sql_vec v;
        if (eval(x, p->out[i], b, &v) < 0)
            return -1;
        if (v.ty.t != res->cols[i].ty.t && res->cols[i].ty.t == SQL_NULL && res->nrows == 0)
            res->cols[i].ty = v.ty;
        int rc = vec_append(&res->cols[i], &v, NULL, 0);
        sql_vec_free(&v);
        if (rc < 0)
            return oom(x);
    }
    res->nrows += b->n;
    return 0;
}

static int filter_batch(exec *x, const sql_expr *pred, batch *b)
{
    if (!pred || b->n == 0)
        return 0;
    sql_vec m;
    if (eval_bool(x, pred, b, &m) < 0)
        return -1;
    int64_t *sel = es_malloc(sizeof(int64_t) * (size_t)(b->n ? b->n : 1));
    if (!sel) {
        sql_vec_free(&m);
        return oom(x);
    }
    int64_t k = select_true(&m, sel);
    int rc = 0;
    if (k != b->n && batch_filter(b, sel, k) < 0)
        rc = oom(x);
    es_free(sel);
    sql_vec_free(&m);
    return rc;
}

typedef struct scan_report {
    es_scan_stats stats;
    int ran;
} scan_report;

static int run_select(exec *x, plan *p, sql_result *res, scan_report *rep)
{
    sql_select *sel = p->sel;
    group_table g;
    memset(&g, 0, sizeof g);
    int rc = -1;
    struct ArrowArrayStream stream;
    struct ArrowSchema schema;
    memset(&stream, 0, sizeof stream);
    memset(&schema, 0, sizeof schema);
    const char **colnames = NULL;
    int *proj = NULL;
    batch b;
    memset(&b, 0, sizeof b);
    if (result_init(x, p, res) < 0)
        goto out;
    if (p->aggregate) {
        g.nkeys = p->ngroup;
        g.keys = es_calloc((size_t)(p->ngroup ? p->ngroup : 1), sizeof(sql_vec));
        g.nst = p->naggs;
        g.st = es_calloc((size_t)(p->naggs ? p->naggs : 1), sizeof(agg_state));
        if (!g.keys || !g.st) {
            oom(x);
            goto out;
        }
        for (int k = 0; k < p->ngroup; k++)
            sql_vec_init(&g.keys[k], p->group[k]->ty);
        for (int a = 0; a < p->naggs; a++)
            sql_vec_init(&g.st[a].best, p->aggs[a].ty);
    }
    int64_t want =
        (p->limit >= 0 && sel->norder == 0 && !p->aggregate) ? p->limit + p->offset : INT64_MAX;
    if (!sel->table) {
        b.n = 1;
        b.ncols = 0;
        b.cols = NULL;
        if (filter_batch(x, sel->where, &b) < 0)
            goto out;
        if (p->aggregate) {
            int64_t gid0[1] = {0};
            if (assign_groups(&g, p, NULL, b.n, gid0) < 0) {
                oom(x);
                goto out;
            }
            for (int a = 0; a < p->naggs; a++) {
                sql_vec v;
                memset(&v, 0, sizeof v);
                if (p->aggs[a].arg && eval(x, p->aggs[a].arg, &b, &v) < 0)
                    goto out;
                int urc = update_agg(&g, p, a, &v, gid0, b.n);
                sql_vec_free(&v);
                if (urc < 0) {
                    oom(x);
                    goto out;
                }
            }
        } else if (emit(x, p, &b, res) < 0) {
            goto out;
        }
    } else {
        int nused = 0;
        for (int c = 0; c < p->ncols; c++)
            nused += p->cols[c].used;
        colnames = es_calloc((size_t)(nused ? nused : 1), sizeof(char *));
        proj = es_calloc((size_t)(nused ? nused : 1), sizeof(int));
        if (!colnames || !proj) {
            oom(x);
            goto out;
        }
        int k = 0;
        for (int c = 0; c < p->ncols; c++)
            if (p->cols[c].used) {
                proj[k] = c;
                colnames[k++] = p->cols[c].name;
            }
        es_scan_options so = ES_SCAN_OPTIONS_INIT;
        if (nused == 0) {
            /* count(*) and constants: fetch the narrowest column for the row count */
            int best = 0;
            for (int c = 0; c < p->ncols; c++)
                if (sql_type_phys(p->cols[c].ty.t) == SQL_PHYS_INT &&
                    sql_type_phys(p->cols[best].ty.t) != SQL_PHYS_INT)
                    best = c;
            proj[0] = -1;
            colnames[0] = p->cols[best].name;
            nused = 1;
        }
        so.columns = colnames;
        so.n_columns = nused;
        so.predicate = p->pushed;
        so.at_version = p->version; /* the snapshot the statement was bound at */
        memset(&rep->stats, 0, sizeof rep->stats);
        so.stats = &rep->stats;
        if (es_scan(x->s->store, sel->table, &so, &stream) != ES_OK) {
            err(x, sel->table_pos, "%s", es_store_errmsg(x->s->store));
            goto out;
        }
        rep->ran = 1;
        if (stream.get_schema(&stream, &schema) != 0) {
            const char *m = stream.get_last_error(&stream);
            err(x, -1, "%s: %s", sel->table, m ? m : "scan failed");
            goto out;
        }
        int64_t *gids = NULL;
        for (;;) {
            struct ArrowArray arr;
            memset(&arr, 0, sizeof arr);
            int e = stream.get_next(&stream, &arr);
            if (e != 0) {
                const char *m = stream.get_last_error(&stream);
                err(x, -1, "%s: %s", sel->table, m ? m : strerror(e));
                es_free(gids);
                goto out;
            }
            if (!arr.release)
                break;
            int lrc = load_batch(x, p, &schema, &arr, proj, &b);
            arr.release(&arr);
            if (lrc < 0 || filter_batch(x, sel->where, &b) < 0) {
                es_free(gids);
                goto out;
            }
            if (p->aggregate) {
                sql_vec *keys = es_calloc((size_t)(p->ngroup ? p->ngroup : 1), sizeof(sql_vec));
                es_free(gids);
                gids = es_malloc(sizeof(int64_t) * (size_t)(b.n ? b.n : 1));
                int arc = keys && gids ? 0 : oom(x);
                int nk = 0;
                for (; arc == 0 && nk < p->ngroup; nk++)
                    if (eval(x, p->group[nk], &b, &keys[nk]) < 0)
                        arc = -1;
                if (arc == 0 && assign_groups(&g, p, keys, b.n, gids) < 0)
                    arc = oom(x);
                for (int a = 0; arc == 0 && a < p->naggs; a++) {
                    sql_vec v;
                    memset(&v, 0, sizeof v);
                    if (p->aggs[a].arg && eval(x, p->aggs[a].arg, &b, &v) < 0) {
                        arc = -1;
                        break;
                    }
                    if (update_agg(&g, p, a, &v, gids, b.n) < 0)
                        arc = oom(x);
                    sql_vec_free(&v);
                }
                for (int i = 0; keys && i < p->ngroup; i++)
                    sql_vec_free(&keys[i]);
                es_free(keys);
                if (arc < 0) {
                    es_free(gids);
                    goto out;
                }
            } else if (emit(x, p, &b, res) < 0) {
                es_free(gids);
                goto out;
            }
            batch_free(&b);
            if (res->nrows >= want)
                break;
        }
        es_free(gids);
    }
    if (p->aggregate) {
        batch_free(&b);
        if (p->ngroup == 0 && g.ngroups == 0) {
            /* aggregates over no rows: one row */
            int64_t gid0[1];
            if (assign_groups(&g, p, NULL, 0, gid0) < 0) {
                oom(x);
                goto out;
            }
        }
        if (finish_groups(&g, p, &b) < 0) {
            oom(x);
            goto out;
        }
        if (filter_batch(x, sel->having, &b) < 0 || emit(x, p, &b, res) < 0)
            goto out;
    }
    /* ORDER BY, OFFSET, LIMIT */
    int64_t n = res->nrows;
    int64_t *idx = es_malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    if (!idx) {
        oom(x);
        goto out;
    }
    for (int64_t r = 0; r < n; r++)
        idx[r] = r;
    if (sel->norder > 0) {
        sort_ctx sc = {res, sel->order, p->order_col, sel->norder};
        qsort_r(idx, (size_t)n, sizeof(int64_t), sort_cmp, &sc);
    }
    int64_t start = p->offset < n ? p->offset : n;
    int64_t cnt = n - start;
    if (p->limit >= 0 && p->limit < cnt)
        cnt = p->limit;
    if (sel->norder > 0 || start > 0 || cnt < n || p->nvisible < p->nout) {
        for (int c = 0; c < p->nout; c++) {
            if (c >= p->nvisible) {
                sql_vec_free(&res->cols[c]);
                es_free(res->names[c]);
                continue;
            }
            sql_vec nv;
            sql_vec_init(&nv, res->cols[c].ty);
            if (vec_append(&nv, &res->cols[c], idx + start, cnt) < 0) {
                es_free(idx);
                oom(x);
                goto out;
            }
            sql_vec_free(&res->cols[c]);
            res->cols[c] = nv;
        }
        res->ncols = p->nvisible;
        res->nrows = cnt;
    }
    es_free(idx);
    for (int c = 0; c < res->ncols; c++)
        if (vec_reserve(&res->cols[c], 1) < 0) {
            oom(x);
            goto out;
        }
    rc = 0;
out:
    batch_free(&b);
    group_table_free(&g);
    es_schema_release(&schema);
    es_stream_release(&stream);
    es_free(colnames);
    es_free(proj);
    return rc;
}

static int text_result(exec *x, sql_result *res, const char *name, char **lines, int n)
{
    memset(res, 0, sizeof *res);
    res->ncols = 1;
    res->names = es_calloc(1, sizeof(char *));
    res->cols = es_calloc(1, sizeof(sql_vec));
    if (!res->names || !res->cols)
        return oom(x);
    res->names[0] = es_strdup(name);
    sql_typeinfo vt = {SQL_VARCHAR, 0, 0};
    sql_vec_init(&res->cols[0], vt);
    for (int i = 0; i < n; i++)
        if (vec_push_str(&res->cols[0], lines[i], (int64_t)strlen(lines[i])) < 0)
            return oom(x);
    if (vec_reserve(&res->cols[0], 1) < 0)
        return oom(x);
    res->nrows = n;
    return 0;
}

static int exec_select(exec *x, sql_select *sel, sql_result *res, int explain)
{
    plan p;
    scan_report rep;
    memset(&rep, 0, sizeof rep);
    int rc = bind_select(x, sel, &p);
    if (rc == 0)
        rc = run_select(x, &p, res, &rep);
    if (rc == 0 && explain) {
        char lines[16][1200];
        char *lp[16];
        int n = 0;
        for (int i = 0; i < 16; i++)
            lp[i] = lines[i];
        int64_t rows = res->nrows;
        sql_result_free(res);
        if (sel->table) {
            snprintf(lines[n++], sizeof lines[0], "SCAN %s%s", sel->table,
                     sel->as_of >= 0 ? " (AS OF VERSION)" : "");
            int k = snprintf(lines[n], sizeof lines[0], "  columns: ");
            int first = 1;
            for (int c = 0; c < p.ncols; c++)
                if (p.cols[c].used && k < (int)sizeof lines[0] - 1) {
                    k += snprintf(lines[n] + k, sizeof lines[0] - (size_t)k, "%s%s",
                                  first ? "" : ", ", p.cols[c].name);
                    first = 0;
                }
            if (first)
                snprintf(lines[n] + k, sizeof lines[0] - (size_t)k, "(row count only)");
            n++;
            char buf[1024];
            if (p.pushed)
                es_expr_format(buf, sizeof buf, p.pushed);
            else
                snprintf(buf, sizeof buf, "none");
            snprintf(lines[n++], sizeof lines[0], "  pushed predicate: %s", buf);
        }
        if (sel->where) {
            char buf[1024];
            fmt_expr(buf, sizeof buf, sel->where);
            snprintf(lines[n++], sizeof lines[0], "  FILTER (shell, vectorised): %s", buf);
        }
        if (p.aggregate)
            snprintf(lines[n++], sizeof lines[0], "  HASH AGGREGATE: %d key(s), %d aggregate(s)%s",
                     p.ngroup, p.naggs, sel->having ? ", HAVING" : "");
        if (sel->norder)
            snprintf(lines[n++], sizeof lines[0], "  SORT: %d key(s)", sel->norder);
        if (p.limit >= 0 || p.offset > 0)
            snprintf(lines[n++], sizeof lines[0], "  LIMIT %lld OFFSET %lld", (long long)p.limit,
                     (long long)p.offset);
        if (rep.ran) {
            es_scan_stats *s = &rep.stats;
            snprintf(lines[n++], sizeof lines[0], "  parts: %lld total, %lld skipped",
                     (long long)s->parts_total, (long long)s->parts_skipped);
            snprintf(lines[n++], sizeof lines[0], "  batches: %lld total, %lld skipped",
                     (long long)s->batches_total, (long long)s->batches_skipped);
            snprintf(lines[n++], sizeof lines[0], "  rows: %lld scanned, %lld from storage",
                     (long long)s->rows_scanned, (long long)s->rows_returned);
            snprintf(lines[n++], sizeof lines[0], "  requests: %lld, bytes fetched: %lld",
                     (long long)s->requests, (long long)s->bytes_fetched);
        }
        snprintf(lines[n++], sizeof lines[0], "  result rows: %lld", (long long)rows);
        rc = text_result(x, res, "plan", lp, n);
    }
    free_star_exprs(&p);
    plan_free(&p);
    if (rc < 0)
        sql_result_free(res);
    return rc;
}

/* ------------------------------------------------------------- DDL/DML */

static int exec_create(exec *x, sql_stmt *st)
{
    struct ArrowSchema schema;
    es_error e;
    if (es_schema_init_struct(&schema, st->ncols, &e) != ES_OK)
        return err(x, -1, "%s", e.msg);
    if (st->primary_key) {
        int found = 0;
        for (int i = 0; i < st->ncols; i++)
            if (strcmp(st->cols[i].name, st->primary_key) == 0) {
                found = 1;
                st->cols[i].not_null = 1;
            }
        if (!found) {
            es_schema_release(&schema);
            return err(x, st->pos, "primary key column %s is not in table %s", st->primary_key,
                       st->table);
        }
    }
    for (int i = 0; i < st->ncols; i++) {
        char fmt[32];
        sql_type_to_arrow(fmt, sizeof fmt, &st->cols[i].ty);
        if (es_schema_init(schema.children[i], fmt, st->cols[i].name,
                           st->cols[i].not_null ? 0 : ARROW_FLAG_NULLABLE, &e) != ES_OK) {
            es_schema_release(&schema);
            return err(x, -1, "%s", e.msg);
        }
    }
    es_status s = es_table_create(x->s->store, st->table, &schema, st->primary_key, st->if_exists);
    es_schema_release(&schema);
    if (s != ES_OK) {
        if (s == ES_EXISTS)
            return err(x, st->pos, "table %s already exists", st->table);
        return err(x, st->pos, "%s", es_store_errmsg(x->s->store));
    }
    return 0;
}

static int exec_drop(exec *x, sql_stmt *st)
{
    es_status s = es_table_drop(x->s->store, st->table, st->if_exists);
    if (s == ES_NOT_FOUND)
        return err(x, st->pos, "no such table: %s", st->table);
    if (s != ES_OK)
        return err(x, st->pos, "%s", es_store_errmsg(x->s->store));
    return 0;
}

/* Convert v to column type ty (for INSERT): same rules as CAST, plus a type check that names
 * the column. */
static int coerce(exec *x, int pos, const char *col, const sql_typeinfo *ty, sql_vec *v)
{
    sql_typeinfo vt = v->ty;
    int ok = vt.t == SQL_NULL || vt.t == ty->t || (is_num(vt.t) && is_num(ty->t)) ||
             (vt.t == SQL_VARCHAR) || (is_temporal(vt.t) && is_temporal(ty->t)) ||
             (is_str(ty->t) && is_str(vt.t));
    if (!ok) {
        char a[64], b[64];
        sql_typeinfo_name(a, sizeof a, ty);
        sql_typeinfo_name(b, sizeof b, &vt);
        return err(x, pos, "type error: column %s is %s, value is %s", col, a, b);
    }
    if (vt.t == ty->t && (vt.t != SQL_DECIMAL || vt.scale == ty->scale))
        return 0;
    sql_vec out;
    char sub[700];
    if (cast_vec(x, pos, v, *ty, &out) < 0) {
        snprintf(sub, sizeof sub, "%.600s", x->s->err);
        /* strip the position prefix of the inner error */
        const char *m = strstr(sub, ": ");
        char a[64];
        sql_typeinfo_name(a, sizeof a, ty);
        return err(x, pos, "column %s (%s): %s", col, a, m ? m + 2 : sub);
    }
    sql_vec_free(v);
    *v = out;
    return 0;
}

static int exec_insert(exec *x, sql_stmt *st, int64_t *affected)
{
    col_info *cols = NULL;
    int ncols = 0, rc = -1;
    es_table_info info;
    memset(&info, 0, sizeof info);
    if (describe(x, st->table, -1, st->pos, &cols, &ncols, &info) < 0)
        return -1;
    int *map = es_calloc((size_t)(ncols ? ncols : 1), sizeof(int)); /* column -> value index */
    sql_vec *vals = es_calloc((size_t)(ncols ? ncols : 1), sizeof(sql_vec));
    es_builder *bld = NULL;
    struct ArrowArray arr;
    memset(&arr, 0, sizeof arr);
    if (!map || !vals) {
        oom(x);
        goto out;
    }
    int nv = st->nnames ? st->nnames : ncols;
    for (int c = 0; c < ncols; c++)
        map[c] = st->nnames ? -1 : c;
    for (int i = 0; i < st->nnames; i++) {
        int found = -1;
        for (int c = 0; c < ncols; c++)
            if (strcmp(cols[c].name, st->names[i]) == 0)
                found = c;
        if (found < 0) {
            err(x, st->pos, "table %s has no column %s", st->table, st->names[i]);
            goto out;
        }
        if (map[found] >= 0) {
            err(x, st->pos, "column %s listed twice", st->names[i]);
            goto out;
        }
        map[found] = i;
    }
    for (int c = 0; c < ncols; c++) {
        if (cols[c].ty.t == SQL_NULL) {
            err(x, st->pos, "column %s has an unsupported type", cols[c].name);
            goto out;
        }
        if (map[c] < 0 && !cols[c].nullable) {
            err(x, st->pos, "NOT NULL constraint failed: %s.%s (no value given)", st->table,
                cols[c].name);
            goto out;
        }
    }
    /* Evaluate each VALUES row (constants: a one-row batch) and collect per column. */
    plan dummy;
    memset(&dummy, 0, sizeof dummy);
    batch one = {1, 0, NULL};
    for (int c = 0; c < ncols; c++) {
        sql_vec_init(&vals[c], cols[c].ty);
        if (vec_reserve(&vals[c], st->nrows) < 0) {
            oom(x);
            goto out;
        }
    }
    for (int r = 0; r < st->nrows; r++) {
        if (st->rowlen[r] != nv) {
            err(x, st->rows[r][0]->pos, "%d values for %d columns", st->rowlen[r], nv);
            goto out;
        }
        for (int c = 0; c < ncols; c++) {
            if (map[c] < 0) {
                if (vec_push_null(&vals[c]) < 0) {
                    oom(x);
                    goto out;
                }
                continue;
            }
            sql_expr *e = st->rows[r][map[c]];
            if (bind_expr(x, &dummy, e, 0) < 0)
                goto out;
            if (is_temporal(cols[c].ty.t) && e->kind == E_STR &&
                fold_temporal(x, e, cols[c].ty.t) < 0) {
                char tn[64];
                sql_typeinfo_name(tn, sizeof tn, &cols[c].ty);
                err(x, e->pos, "column %s (%s): invalid value '%.60s'", cols[c].name, tn, e->sval);
                goto out;
            }
            sql_vec v;
            if (eval(x, e, &one, &v) < 0)
                goto out;
            if (coerce(x, e->pos, cols[c].name, &cols[c].ty, &v) < 0) {
                sql_vec_free(&v);
                goto out;
            }
            if (v.nulls[0] && !cols[c].nullable) {
                sql_vec_free(&v);
                err(x, e->pos, "NOT NULL constraint failed: %s.%s", st->table, cols[c].name);
                goto out;
            }
            v.ty = vals[c].ty;
            int arc = vec_append(&vals[c], &v, NULL, 0);
            sql_vec_free(&v);
            if (arc < 0) {
                oom(x);
                goto out;
            }
        }
    }
    /* Build the record batch with the table's schema and insert it atomically. */
    es_error e;
    if (es_builder_new(&bld, &info.schema, &e) != ES_OK) {
        err(x, -1, "%s", e.msg);
        goto out;
    }
    for (int c = 0; c < ncols; c++) {
        es_builder *cb = es_builder_child(bld, c);
        es_type at;
        es_type_parse(&at, info.schema.children[c]->format, NULL);
        if (es_builder_reserve(cb, st->nrows) != ES_OK) {
            oom(x);
            goto out;
        }
        for (int64_t r = 0; r < st->nrows; r++) {
            if (build_value(cb, &at, &vals[c], r) != ES_OK) {
                char b[64];
                int64_t l;
                const char *s = sql_vec_format(&vals[c], r, b, sizeof b, &l);
                err(x, st->pos, "value %.*s does not fit column %s", (int)l, s, cols[c].name);
                goto out;
            }
        }
    }
    for (int64_t r = 0; r < st->nrows; r++)
        if (es_builder_append_struct(bld) != ES_OK) {
            oom(x);
            goto out;
        }
    if (es_builder_finish(bld, &arr, &e) != ES_OK) {
        err(x, -1, "%s", e.msg);
        goto out;
    }
    if (es_insert_batch(x->s->store, st->table, &info.schema, &arr) != ES_OK) {
        err(x, st->pos, "%s", es_store_errmsg(x->s->store));
        goto out;
    }
    *affected = st->nrows;
    rc = 0;
out:
    es_array_release(&arr);
    es_builder_free(bld);
    for (int c = 0; vals && c < ncols; c++)
        sql_vec_free(&vals[c]);
    es_free(vals);
    es_free(map);
    for (int c = 0; c < ncols; c++)
        es_free(cols[c].name);
    es_free(cols);
    es_table_info_reset(&info);
    return rc;
}

/* --------------------------------------------------------------- COPY */

static int is_arrow_file(const sql_stmt *st)
{
    if (st->format)
        return strcmp(st->format, "csv") != 0;
    const char *dot = strrchr(st->file, '.');
    return dot && (strcmp(dot, ".arrow") == 0 || strcmp(dot, ".arrows") == 0 ||
                   strcmp(dot, ".ipc") == 0 || strcmp(dot, ".feather") == 0);
}

static int read_file(exec *x, const char *path, uint8_t **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return err(x, -1, "%s: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return err(x, -1, "%s: cannot seek", path);
    }
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *data = es_malloc((size_t)(n > 0 ? n : 1));
    if (!*data) {
        fclose(f);
        return oom(x);
    }
    if (n > 0 && fread(*data, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        es_free(*data);
        return err(x, -1, "%s: read failed", path);
    }
    fclose(f);
    *size = (size_t)n;
    return 0;
}

static int exec_copy_from(exec *x, sql_stmt *st, int64_t *affected)
{
    es_table_info info;
    memset(&info, 0, sizeof info);
    col_info *cols = NULL;
    int ncols = 0;
    if (describe(x, st->table, -1, st->pos, &cols, &ncols, &info) < 0)
        return -1;
    for (int c = 0; c < ncols; c++)
        es_free(cols[c].name);
    es_free(cols);
    struct ArrowArrayStream stream;
    memset(&stream, 0, sizeof stream);
    int rc = -1;
    int64_t before = -1;
    es_table_info bi;
    if (is_arrow_file(st)) {
        uint8_t *data = NULL;
        size_t size = 0;
        es_blob *blob = NULL;
        es_error e;
        if (read_file(x, st->file, &data, &size) < 0)
            goto out;
        if (es_blob_new_owned(&blob, data, size) != ES_OK) {
            es_free(data);
            oom(x);
            goto out;
        }
        es_status s = es_ipc_reader_open(&stream, blob, &e);
        es_blob_unref(blob);
        if (s != ES_OK) {
            err(x, -1, "%s: %s", st->file, e.msg);
            goto out;
        }
        memset(&bi, 0, sizeof bi);
        if (es_table_describe(x->s->store, st->table, -1, &bi) == ES_OK)
            before = bi.n_rows;
        es_table_info_reset(&bi);
    } else {
        char msg[512];
        if (sql_csv_stream_open(&stream, st->file, &info.schema, st->header,
                                st->delim ? st->delim : ',', x->s->progress, msg, sizeof msg) < 0) {
            err(x, -1, "%s", msg);
            goto out;
        }
    }
    if (es_insert(x->s->store, st->table, &stream) != ES_OK) {
        err(x, -1, "COPY %s: %s", st->table, es_store_errmsg(x->s->store));
        goto out;
    }
    if (before >= 0) {
        memset(&bi, 0, sizeof bi);
        if (es_table_describe(x->s->store, st->table, -1, &bi) == ES_OK)
            *affected = bi.n_rows - before;
        es_table_info_reset(&bi);
    } else {
        *affected = sql_csv_last_rows();
    }
    rc = 0;
out:
    es_stream_release(&stream);
    es_table_info_reset(&info);
    return rc;
}

static int write_arrow(exec *x, const char *path, const sql_result *r)
{
    struct ArrowSchema schema;
    es_error e;
    es_builder *b = NULL;
    es_ipc_writer *w = NULL;
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = -1;
    if (es_schema_init_struct(&schema, r->ncols, &e) != ES_OK)
        return err(x, -1, "%s", e.msg);
    for (int c = 0; c < r->ncols; c++) {
        char fmt[32];
        sql_typeinfo ty = r->cols[c].ty;
        if (ty.t == SQL_NULL)
            ty.t = SQL_BIGINT;
        sql_type_to_arrow(fmt, sizeof fmt, &ty);
        if (es_schema_init(schema.children[c], fmt, r->names[c], ARROW_FLAG_NULLABLE, &e) !=
            ES_OK) {
            err(x, -1, "%s", e.msg);
            goto out;
        }
    }
    if (es_builder_new(&b, &schema, &e) != ES_OK ||
        es_ipc_writer_new(&w, &schema, ES_IPC_FILE, NULL, &e) != ES_OK) {
        err(x, -1, "%s: %s", path, e.msg);
        goto out;
    }
    for (int64_t start = 0; start < r->nrows || start == 0; start += BATCH_ROWS) {
        int64_t end = start + BATCH_ROWS < r->nrows ? start + BATCH_ROWS : r->nrows;
        for (int c = 0; c < r->ncols; c++) {
            es_builder *cb = es_builder_child(b, c);
            es_type at;
            es_type_parse(&at, schema.children[c]->format, NULL);
            for (int64_t i = start; i < end; i++)
                if (build_value(cb, &at, &r->cols[c], i) != ES_OK) {
                    oom(x);
                    goto out;
                }
        }
        for (int64_t i = start; i < end; i++)
            es_builder_append_struct(b);
        struct ArrowArray arr;
        if (es_builder_finish(b, &arr, &e) != ES_OK) {
            err(x, -1, "%s: %s", path, e.msg);
            goto out;
        }
        es_status s = es_ipc_writer_write(w, &arr, &e);
        es_array_release(&arr);
        if (s != ES_OK) {
            err(x, -1, "%s: %s", path, e.msg);
            goto out;
        }
        if (end >= r->nrows)
            break;
    }
    if (es_ipc_writer_finish(w, &data, &size, &e) != ES_OK) {
        err(x, -1, "%s: %s", path, e.msg);
        goto out;
    }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size) {
        if (f)
            fclose(f);
        err(x, -1, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (fclose(f) != 0) {
        err(x, -1, "%s: %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    es_free(data);
    es_ipc_writer_free(w);
    es_builder_free(b);
    es_schema_release(&schema);
    return rc;
}

static int exec_copy_to(exec *x, sql_stmt *st, int64_t *affected)
{
    sql_result r;
    memset(&r, 0, sizeof r);
    if (exec_select(x, st->select, &r, 0) < 0)
        return -1;
    int rc;
    if (is_arrow_file(st)) {
        rc = write_arrow(x, st->file, &r);
    } else {
        FILE *f = fopen(st->file, "w");
        if (!f) {
            sql_result_free(&r);
            return err(x, -1, "%s: %s", st->file, strerror(errno));
        }
        rc = sql_csv_write(f, &r, st->delim ? st->delim : ',', st->header != 0);
        if (fclose(f) != 0 || rc < 0)
            rc = err(x, -1, "%s: write failed", st->file);
    }
    *affected = r.nrows;
    sql_result_free(&r);
    return rc;
}

int sql_execute(sql_session *s, const char *src, sql_stmt *st, sql_result *res)
{
    exec x = {s, src};
    memset(res, 0, sizeof *res);
    res->nrows = -1;
    s->err[0] = 0;
    s->errpos = -1;
    switch (st->kind) {
    case S_SELECT:
        return exec_select(&x, st->select, res, 0);
    case S_EXPLAIN:
        return exec_select(&x, st->select, res, 1);
    case S_CREATE:
        return exec_create(&x, st);
    case S_DROP:
        return exec_drop(&x, st);
    case S_INSERT:
        return exec_insert(&x, st, &res->nrows);
    case S_COPY_FROM:
        return exec_copy_from(&x, st, &res->nrows);
    case S_COPY_TO:
        return exec_copy_to(&x, st, &res->nrows);
    }
    return err(&x, -1, "unknown statement");
}
