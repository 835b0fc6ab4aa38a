/*
 * value: the values of the SQL layer (see sql/sql.h for the files and sql/exec.h for the
 * interfaces). Type names and physical classes, vectors (sql_vec: growth, appends, formatting
 * for display), dates, timestamps and decimals (parsing and formatting), the mapping between SQL
 * and Arrow types, and conversions between Arrow arrays (validated views) and vectors. The
 * conversion path of CAST, INSERT and COPY (text or a value of one type to another) is conv.c.
 * Depends on nothing else in the SQL layer but sql/sql.h.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sql/exec.h"

/* ---------------------------------------------------------------- types */

const char *sql_type_name(sql_type t)
{
    static const char *names[] = {"NULL",
                                  "BOOLEAN",
                                  "SMALLINT",
                                  "INTEGER",
                                  "BIGINT",
                                  "REAL",
                                  "DOUBLE",
                                  "DECIMAL",
                                  "VARCHAR",
                                  "BLOB",
                                  "DATE",
                                  "TIMESTAMP",
                                  "TIMESTAMP WITH TIME ZONE"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

void sql_typeinfo_name(char *buf, size_t cap, const sql_typeinfo *ti)
{
    if (ti->t == SQL_DECIMAL)
        snprintf(buf, cap, "DECIMAL(%d,%d)", ti->precision, ti->scale);
    else
        snprintf(buf, cap, "%s", sql_type_name(ti->t));
}

/* ------------------------------------------------------------- vectors */

const int64_t sql_pow10[19] = {1LL,
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
    if (!v->vals_borrowed) {
        es_free(v->i);
        es_free(v->f);
    }
    sql_dict_unref(v->dict);
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

int sql_vec_reserve(sql_vec *v, int64_t rows)
{
    if (rows <= v->cap)
        return 0;
    if (v->vals_borrowed) { /* values in a scan batch (vec_arrow.c): our own copy to grow */
        void *own = es_malloc(sizeof(int64_t) * (size_t)(v->n > 0 ? v->n : 1));
        if (!own)
            return -1;
        memcpy(own, v->f ? (void *)v->f : (void *)v->i, sizeof(int64_t) * (size_t)v->n);
        if (v->f)
            v->f = own;
        else
            v->i = own;
        v->vals_borrowed = 0;
    }
    int64_t cap = v->cap ? v->cap * 2 : 64;
    if (cap < rows)
        cap = rows;
    uint8_t *nu = es_realloc(v->nulls, (size_t)cap);
    if (!nu)
        return -1;
    v->nulls = nu;
    int ph = v->dict ? SQL_PHYS_INT : sql_vec_phys(v); /* codes: vec_arrow.c */
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

int sql_vec_reserve_data(sql_vec *v, int64_t extra)
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

int sql_vec_alloc(sql_vec *v, sql_typeinfo ty, int64_t n)
{
    sql_vec_init(v, ty);
    if (sql_vec_reserve(v, n > 0 ? n : 1) < 0) {
        sql_vec_free(v); /* what reserve got before it failed */
        return -1;
    }
    memset(v->nulls, 0, (size_t)(n > 0 ? n : 1));
    v->n = n;
    return 0;
}

int sql_vec_push_str(sql_vec *v, const void *p, int64_t len)
{
    if (sql_vec_reserve(v, v->n + 1) < 0 || sql_vec_reserve_data(v, len) < 0)
        return -1;
    if (len)
        memcpy(v->data + v->dlen, p, (size_t)len);
    v->dlen += len;
    v->nulls[v->n] = 0;
    v->off[++v->n] = v->dlen;
    return 0;
}

int sql_vec_push_null(sql_vec *v)
{
    if (sql_vec_reserve(v, v->n + 1) < 0)
        return -1;
    int ph = sql_vec_phys(v);
    if (ph == SQL_PHYS_INT)
        v->i[v->n] = 0;
    else if (ph == SQL_PHYS_DBL)
        v->f[v->n] = 0;
    else
        v->off[v->n + 1] = v->dlen;
    v->nulls[v->n++] = 1;
    return 0;
}

int sql_vec_append(sql_vec *dst, const sql_vec *src, const int64_t *sel, int64_t nsel)
{
    int64_t n = sel ? nsel : src->n;
    if (n == 0)
        return 0;
    if (src->dict || dst->dict)
        return sql_dict_append(dst, src, sel, nsel);
    if (sql_vec_reserve(dst, dst->n + n) < 0)
        return -1;
    int ph = sql_vec_phys(dst);
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
        if (sql_vec_reserve_data(dst, bytes) < 0)
            return -1;
        for (int64_t k = 0; k < n; k++) {
            int64_t r = sel ? sel[k] : k, len;
            const char *p = sql_vec_str(src, r, &len);
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
        if (*i >= n || (unsigned)(p[*i] - '0') > 9) /* (isdigit, without the locale table) */
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

/* ------------------------------------------------------------ intervals */

/* The unit of an INTERVAL, as PostgreSQL and DuckDB spell them (singular, plural, short):
 * months per unit in *months, else microseconds per unit in *us. 0 when unknown. */
static int interval_unit(const char *u, size_t n, int64_t *months, int64_t *us)
{
    static const struct {
        const char *name;
        int64_t months, us;
    } units[] = {{"year", 12, 0},
                 {"years", 12, 0},
                 {"y", 12, 0},
                 {"month", 1, 0},
                 {"months", 1, 0},
                 {"mon", 1, 0},
                 {"mons", 1, 0},
                 {"week", 0, 604800000000},
                 {"weeks", 0, 604800000000},
                 {"w", 0, 604800000000},
                 {"day", 0, 86400000000},
                 {"days", 0, 86400000000},
                 {"d", 0, 86400000000},
                 {"hour", 0, 3600000000},
                 {"hours", 0, 3600000000},
                 {"h", 0, 3600000000},
                 {"minute", 0, 60000000},
                 {"minutes", 0, 60000000},
                 {"min", 0, 60000000},
                 {"mins", 0, 60000000},
                 {"m", 0, 60000000},
                 {"second", 0, 1000000},
                 {"seconds", 0, 1000000},
                 {"sec", 0, 1000000},
                 {"secs", 0, 1000000},
                 {"s", 0, 1000000},
                 {"millisecond", 0, 1000},
                 {"milliseconds", 0, 1000},
                 {"ms", 0, 1000},
                 {"microsecond", 0, 1},
                 {"microseconds", 0, 1},
                 {"us", 0, 1}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strlen(units[i].name) == n && strncasecmp(units[i].name, u, n) == 0) {
            *months = units[i].months;
            *us = units[i].us;
            return 1;
        }
    return 0;
}

/* Add n (a decimal number, fractions only for units of time) of unit u to *months and *usum.
 * 0, -2 for an unknown unit, or -1 when the number or the sum is out of range. */
static int interval_add(int64_t *months, int64_t *usum, const char *num, size_t nlen, const char *u,
                        size_t ulen)
{
    int64_t um, uus;
    if (!interval_unit(u, ulen, &um, &uus))
        return -2;
    size_t i = 0;
    int neg = 0;
    if (i < nlen && (num[i] == '-' || num[i] == '+'))
        neg = num[i++] == '-';
    int64_t whole = 0, frac = 0, fscale = 1;
    size_t digits = 0;
    for (; i < nlen && num[i] >= '0' && num[i] <= '9'; i++, digits++)
        if (__builtin_mul_overflow(whole, 10, &whole) ||
            __builtin_add_overflow(whole, num[i] - '0', &whole))
            return -1;
    if (i < nlen && num[i] == '.') {
        for (i++; i < nlen && num[i] >= '0' && num[i] <= '9'; i++, digits++)
            if (fscale < 1000000)
                frac = frac * 10 + (num[i] - '0'), fscale *= 10;
        if (um)
            return -1; /* fractional months and years: not supported */
    }
    if (i != nlen || digits == 0)
        return -1;
    int64_t m = 0, us = 0;
    if (__builtin_mul_overflow(whole, um, &m) || __builtin_mul_overflow(whole, uus, &us) ||
        __builtin_add_overflow(us, frac * uus / fscale, &us))
        return -1;
    if (neg)
        m = -m, us = -us;
    if (__builtin_add_overflow(*months, m, months) || __builtin_add_overflow(*usum, us, usum) ||
        *months > 12000000 || *months < -12000000)
        return -1;
    return 0;
}

int sql_parse_interval(const char *s, int64_t n, const char *unit, size_t ulen, int64_t *months,
                       int64_t *us)
{
    *months = *us = 0;
    if (unit)
        return interval_add(months, us, s, (size_t)n, unit, ulen);
    int64_t i = 0, k = 0;
    while (i < n) {
        while (i < n && s[i] == ' ')
            i++;
        if (i == n)
            break;
        int64_t ns = i;
        while (i < n && s[i] != ' ')
            i++;
        int64_t ne = i;
        while (i < n && s[i] == ' ')
            i++;
        int64_t u0 = i;
        while (i < n && s[i] != ' ')
            i++;
        if (i == u0 ||
            interval_add(months, us, s + ns, (size_t)(ne - ns), s + u0, (size_t)(i - u0)) < 0)
            return -1;
        k++;
    }
    return k ? 0 : -1;
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

/* "YYYY-MM-DD HH:MM:SS" exactly (what COPY TO and most dumps write): the value the general
 * parser below gives, read in one pass; 0 when the text has another form. */
static int fast_timestamp(const char *p, int64_t n, int64_t *us)
{
    if (n != 19 || p[4] != '-' || p[7] != '-' || (p[10] != ' ' && p[10] != 'T') || p[13] != ':' ||
        p[16] != ':')
        return 0;
    static const int8_t at[14] = {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18};
    int dg[14];
    for (int k = 0; k < 14; k++)
        if ((unsigned)(dg[k] = p[at[k]] - '0') > 9)
            return 0;
    int y = dg[0] * 1000 + dg[1] * 100 + dg[2] * 10 + dg[3], m = dg[4] * 10 + dg[5],
        d = dg[6] * 10 + dg[7], hh = dg[8] * 10 + dg[9], mm = dg[10] * 10 + dg[11],
        ss = dg[12] * 10 + dg[13];
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1] || hh > 23 || mm > 59 || ss > 60 ||
        (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)))
        return 0; /* (the general parser says why) */
    *us = days_from_civil(y, (unsigned)m, (unsigned)d) * 86400000000LL +
          ((int64_t)hh * 3600 + mm * 60 + ss) * 1000000;
    return 1;
}

int sql_parse_timestamp(const char *p, int64_t n, int64_t *us)
{
    if (fast_timestamp(p, n, us))
        return 0;
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
            if (zh > 15 || zm > 59)
                return -1; /* UTC offsets are within -15:59..+15:59, as in PostgreSQL */
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

void sql_format_decimal(char *buf, size_t cap, int64_t v, int scale)
{
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    if (scale == 0) {
        snprintf(buf, cap, "%s%llu", v < 0 ? "-" : "", (unsigned long long)u);
        return;
    }
    uint64_t p = (uint64_t)sql_pow10[scale];
    snprintf(buf, cap, "%s%llu.%0*llu", v < 0 ? "-" : "", (unsigned long long)(u / p), scale,
             (unsigned long long)(u % p));
}

void sql_format_double(char *buf, size_t cap, double d)
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

/* Doubles (real = 0) or REAL values (real = 1) as the shortest text that reads back as the same
 * value: REAL displays so (0.1, not 0.100000001490116), and COPY TO writes both so. */
void sql_format_double_exact(char *buf, size_t cap, double d, int real)
{
    if (isnan(d) || isinf(d)) {
        sql_format_double(buf, cap, d);
        return;
    }
    for (int prec = real ? 6 : 15; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, d);
        double back = strtod(buf, NULL);
        if (real ? (float)back == (float)d : back == d)
            break;
    }
    if (!strpbrk(buf, ".eEn")) {
        size_t l = strlen(buf);
        if (l + 2 < cap)
            memcpy(buf + l, ".0", 3);
    }
}

static void format_float(char *buf, size_t cap, float f)
{
    sql_format_double_exact(buf, cap, f, 1);
}

/* Binary as \xHH per byte, cut at a whole group when buf is full. */
static void format_hex(char *buf, size_t cap, const char *data, int64_t n)
{
    const unsigned char *p = (const unsigned char *)data;
    size_t k = 0;
    for (int64_t j = 0; j < n && k + 5 < cap; j++)
        k += (size_t)snprintf(buf + k, cap - k, "\\x%02X", p[j]);
    buf[k] = 0;
}

/* A decimal128 (16 little-endian bytes, two's complement) with its scale. */
static void format_decimal128(char *buf, size_t cap, const uint8_t *bytes, int scale)
{
    uint64_t lo, hi;
    memcpy(&lo, bytes, 8);
    memcpy(&hi, bytes + 8, 8);
    int neg = (int64_t)hi < 0;
    if (neg) {
        lo = ~lo + 1;
        hi = ~hi + (lo == 0);
    }
    /* Digits, least significant first: divide the 128-bit magnitude by 10 in 32-bit limbs. */
    uint32_t w[4] = {(uint32_t)(hi >> 32), (uint32_t)hi, (uint32_t)(lo >> 32), (uint32_t)lo};
    char d[48];
    int nd = 0;
    do {
        uint64_t rem = 0;
        for (int k = 0; k < 4; k++) {
            uint64_t cur = rem << 32 | w[k];
            w[k] = (uint32_t)(cur / 10);
            rem = cur % 10;
        }
        d[nd++] = (char)('0' + rem);
    } while (w[0] | w[1] | w[2] | w[3]);
    if (scale < 0 || scale > 38)
        scale = 0;
    while (nd <= scale)
        d[nd++] = '0'; /* a digit before the point */
    char out[64];
    size_t k = 0;
    if (neg)
        out[k++] = '-';
    for (int i = nd - 1; i >= 0; i--) {
        out[k++] = d[i];
        if (i == scale && scale > 0)
            out[k++] = '.';
    }
    out[k] = 0;
    snprintf(buf, cap, "%s", out);
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
            sql_format_double(buf, cap, v->f[r]);
            break;
        case SQL_DECIMAL:
            sql_format_decimal(buf, cap, v->i[r], v->ty.scale);
            break;
        case SQL_DATE:
            sql_format_date(buf, cap, v->i[r]);
            break;
        case SQL_TIMESTAMP:
        case SQL_TIMESTAMPTZ:
            sql_format_timestamp(buf, cap, v->i[r], v->ty.t == SQL_TIMESTAMPTZ);
            break;
        case SQL_VARCHAR:
            return sql_vec_str(v, r, len);
        case SQL_BLOB: {
            int64_t n;
            const char *p = sql_vec_str(v, r, &n);
            format_hex(buf, cap, p, n);
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

int sql_vec_load(sql_vec *v, const es_array_view *av, sql_typeinfo ti)
{
    int64_t n = av->length;
    if (sql_vec_alloc(v, ti, n) < 0)
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
        if (sql_vec_reserve_data(v, total) < 0)
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
        if (sql_vec_reserve_data(v, total) < 0)
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

/* Rows [s, e) of a fixed-width or 32-bit-offset string column into rows j.. of v (allocated
 * for them; string bytes reserved): one memcpy of the run's values where no conversion is
 * needed. */
static void load_run(sql_vec *v, const es_array_view *av, int64_t s, int64_t e, int64_t j)
{
    const uint8_t *vals = av->values;
    int64_t n = e - s;
    if (av->null_count != 0 && av->validity)
        for (int64_t r = s; r < e; r++) {
            int64_t b = av->offset + r;
            v->nulls[j + r - s] = !((av->validity[b >> 3] >> (b & 7)) & 1);
        }
    switch (av->type.id) {
    case ES_TYPE_INT32:
    case ES_TYPE_DATE32:
        for (int64_t r = 0; r < n; r++) {
            int32_t x;
            memcpy(&x, vals + 4 * (s + r), 4);
            v->i[j + r] = x;
        }
        return;
    case ES_TYPE_FLOAT64:
        memcpy(v->f + j, vals + 8 * s, (size_t)n * 8);
        return;
    case ES_TYPE_UTF8:
    case ES_TYPE_BINARY: {
        const int32_t *o = av->offsets32;
        int64_t at = v->dlen - o[s];
        for (int64_t r = 0; r < n; r++)
            v->off[j + r + 1] = at + o[s + r + 1];
        if (o[e] > o[s]) /* an empty run may have no data buffer (NULL) */
            memcpy(v->data + v->dlen, vals + o[s], (size_t)(o[e] - o[s]));
        v->dlen += o[e] - o[s];
        return;
    }
    default: /* INT64, TIMESTAMP in microseconds */
        memcpy(v->i + j, vals + 8 * s, (size_t)n * 8);
        return;
    }
}

int sql_vec_load_mask(sql_vec *v, const es_array_view *av, sql_typeinfo ti, const uint8_t *mask,
                      int64_t k)
{
    if (!mask)
        return sql_vec_load(v, av, ti);
    int64_t n = av->length;
    es_type_id id = av->type.id;
    int fast = id == ES_TYPE_INT32 || id == ES_TYPE_DATE32 || id == ES_TYPE_INT64 ||
               id == ES_TYPE_FLOAT64 ||
               ((id == ES_TYPE_UTF8 || id == ES_TYPE_BINARY) && av->offsets32) ||
               (id == ES_TYPE_TIMESTAMP && av->type.unit == ES_MICRO);
    if (!fast) {
        /* Other types: the whole column, then the rows. */
        sql_vec all;
        memset(&all, 0, sizeof all);
        int64_t *idx = es_malloc(sizeof(int64_t) * (size_t)(n + 1)), m = 0;
        int rc = idx ? sql_vec_load(&all, av, ti) : -1;
        if (rc == 0) {
            for (int64_t r = 0; r < n; r++) {
                idx[m] = r;
                m += mask[r] != 0;
            }
            sql_vec_init(v, ti);
            rc = sql_vec_append(v, &all, idx, m) < 0 || sql_vec_reserve(v, 1) < 0 ? -1 : 0;
        }
        sql_vec_free(&all);
        es_free(idx);
        return rc;
    }
    if (sql_vec_alloc(v, ti, k) < 0)
        return -1;
    if (av->offsets32) {
        int64_t total = 0;
        for (int64_t r = 0; r < n; r++)
            total += mask[r] ? av->offsets32[r + 1] - av->offsets32[r] : 0;
        if (sql_vec_reserve_data(v, total) < 0)
            return -1;
        v->off[0] = 0;
        v->dlen = 0;
    }
    /* Runs of kept rows (a few deleted rows leave long ones): each loaded at once. */
    int64_t j = 0;
    for (int64_t r = 0; r < n && j < k;) {
        while (r < n && !mask[r])
            r++;
        const uint8_t *z = memchr(mask + r, 0, (size_t)(n - r));
        int64_t e = z ? z - mask : n;
        load_run(v, av, r, e, j);
        j += e - r;
        r = e;
    }
    return 0;
}

es_status sql_build_value(es_builder *b, const es_type *at, const sql_vec *v, int64_t r)
{
    if (v->nulls[r])
        return es_builder_append_null(b, 1);
    switch (at->id) {
    case ES_TYPE_FLOAT32:
    case ES_TYPE_FLOAT64:
        return es_builder_append_double(b, sql_vec_phys(v) == SQL_PHYS_DBL ? v->f[r]
                                                                           : (double)v->i[r]);
    case ES_TYPE_UTF8:
    case ES_TYPE_LARGE_UTF8:
    case ES_TYPE_BINARY:
    case ES_TYPE_LARGE_BINARY:
    case ES_TYPE_FIXED_BINARY: {
        int64_t len;
        const char *p = sql_vec_str(v, r, &len);
        return es_builder_append_bytes(b, p, len);
    }
    default:
        return es_builder_append_int(b, v->i[r]);
    }
}

es_status sql_vec_build(es_builder *b, const es_type *at, const sql_vec *v, int64_t start,
                        int64_t n)
{
    es_status st = es_builder_reserve(b, n);
    if (st != ES_OK || n == 0)
        return st;
    if (at->id == ES_TYPE_NA || v->ty.t == SQL_NULL)
        return es_builder_append_null(b, n);
    for (int64_t r = start; r < start + n && st == ES_OK; r++) {
        if (v->nulls[r]) {
            st = es_builder_append_null(b, 1);
            continue;
        }
        switch (at->id) {
        case ES_TYPE_BOOL:
            st = es_builder_append_int(b, v->i[r] != 0);
            break;
        case ES_TYPE_FLOAT32:
        case ES_TYPE_FLOAT64:
            st = es_builder_append_double(b, sql_vec_phys(v) == SQL_PHYS_DBL ? v->f[r]
                                                                             : (double)v->i[r]);
            break;
        case ES_TYPE_UTF8:
        case ES_TYPE_BINARY: {
            int64_t len;
            const char *p = sql_vec_str(v, r, &len);
            st = es_builder_append_bytes(b, p, len);
            break;
        }
        case ES_TYPE_DECIMAL128: {
            /* Unchecked against the precision: arithmetic may exceed it. */
            uint8_t d[16];
            int64_t hi = v->i[r] < 0 ? -1 : 0;
            memcpy(d, &v->i[r], 8);
            memcpy(d + 8, &hi, 8);
            st = es_builder_append_decimal128(b, d);
            break;
        }
        default:
            st = es_builder_append_int(b, v->i[r]);
        }
    }
    return st;
}

/* ------------------------------------------------------------ public API */

const char *es_sql_format_value(const es_array_view *col, int64_t i, char *buf, size_t cap,
                                int64_t *len)
{
    int64_t dummy;
    if (!len)
        len = &dummy;
    *len = 0;
    if (!col || !buf || cap == 0 || i < 0 || i >= col->length)
        return "";
    const es_type *t = &col->type;
    if (es_view_is_null(col, i)) {
        snprintf(buf, cap, "NULL");
    } else {
        switch (t->id) {
        case ES_TYPE_BOOL:
            snprintf(buf, cap, "%s", es_view_get_int(col, i) ? "true" : "false");
            break;
        case ES_TYPE_UINT64:
            snprintf(buf, cap, "%llu", (unsigned long long)es_view_get_uint(col, i));
            break;
        case ES_TYPE_FLOAT32:
            format_float(buf, cap, (float)es_view_get_double(col, i));
            break;
        case ES_TYPE_FLOAT64:
            sql_format_double(buf, cap, es_view_get_double(col, i));
            break;
        case ES_TYPE_DECIMAL128: {
            int64_t n;
            format_decimal128(buf, cap, es_view_get_bytes(col, i, &n), t->scale);
            break;
        }
        case ES_TYPE_UTF8:
        case ES_TYPE_LARGE_UTF8: {
            const uint8_t *p = es_view_get_bytes(col, i, len);
            return (const char *)p;
        }
        case ES_TYPE_BINARY:
        case ES_TYPE_LARGE_BINARY:
        case ES_TYPE_FIXED_BINARY: {
            int64_t n;
            const uint8_t *p = es_view_get_bytes(col, i, &n);
            format_hex(buf, cap, (const char *)p, n);
            break;
        }
        case ES_TYPE_DATE32:
            sql_format_date(buf, cap, es_view_get_int(col, i));
            break;
        case ES_TYPE_DATE64: {
            int64_t ms = es_view_get_int(col, i);
            sql_format_date(buf, cap, ms >= 0 ? ms / 86400000 : -((-(ms + 1)) / 86400000) - 1);
            break;
        }
        case ES_TYPE_TIMESTAMP: {
            uint64_t x = (uint64_t)es_view_get_int(col, i);
            int64_t us = t->unit == ES_SECOND  ? (int64_t)(x * 1000000u)
                         : t->unit == ES_MILLI ? (int64_t)(x * 1000u)
                         : t->unit == ES_NANO  ? (int64_t)x / 1000
                                               : (int64_t)x;
            sql_format_timestamp(buf, cap, us, t->tz[0] != 0);
            break;
        }
        default:
            snprintf(buf, cap, "%lld", (long long)es_view_get_int(col, i));
        }
    }
    *len = (int64_t)strlen(buf);
    return buf;
}

es_status es_sql_type_name(char *buf, size_t cap, const char *arrow_format)
{
    if (!buf || cap == 0 || !arrow_format)
        return ES_INVALID;
    sql_typeinfo ti;
    if (sql_type_from_arrow(&ti, arrow_format) < 0) {
        buf[0] = 0;
        return ES_UNSUPPORTED;
    }
    sql_typeinfo_name(buf, cap, &ti);
    return ES_OK;
}
