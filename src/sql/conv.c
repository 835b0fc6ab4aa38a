/*
 * conv: the one conversion path of CAST, INSERT and COPY in the SQL layer (see sql/sql.h for
 * the files and sql/exec.h for the interfaces): text, or a value of one type, to a value of
 * another type, exact, rounded and range-checked; the UTF-8 check of VARCHAR values; and the
 * one-line message of a failed conversion. Depends on nothing else in the SQL layer but value.c
 * (type names, dates and timestamps).
 *
 * The rules (docs/SQL.md states them for users):
 *   - Text is trimmed of blanks. Numbers are read exactly (digits, a point, an exponent) and
 *     rounded half away from zero to the target's scale: '1.5' is 2 as an INTEGER, and so are
 *     the DECIMAL 1.5 and the literal 1.5. A REAL or DOUBLE rounds half to even (2.5 -> 2), as
 *     rint() does in PostgreSQL and DuckDB. 'nan', 'inf', 'infinity' (any case, signed) are REAL
 *     and DOUBLE only.
 *   - A value outside the target's range is refused, never clamped or wrapped: SMALLINT,
 *     INTEGER and BIGINT bounds, the precision of a DECIMAL, the finite range of REAL and DOUBLE
 *     (1e309 is not Infinity; values too small for the type become 0). NaN and the infinities
 *     convert to no integer or decimal.
 *   - Dates and timestamps: YYYY-MM-DD[ HH:MM[:SS[.ffffff]]] with an optional zone (Z, UTC,
 *     +HH, +HH:MM, +HHMM, at most 15:59 either way), converted to UTC.
 *   - BOOLEAN: true/false/t/f/1/0, any case. VARCHAR must be well-formed UTF-8.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sql/exec.h"

/* A number read exactly: (-1)^neg * mant * 10^exp; digits past the 38th are dropped (they can
 * only matter beyond any integer or decimal we store). */
typedef struct exact_num {
    int neg, special; /* special: 1 NaN, 2 infinity */
    sql_u128 mant;
    int exp;
} exact_num;

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void trim(const char **p, int64_t *n)
{
    while (*n > 0 && is_blank(**p))
        (*p)++, (*n)--;
    while (*n > 0 && is_blank((*p)[*n - 1]))
        (*n)--;
}

static int word_is(const char *p, int64_t n, const char *w)
{
    return (int64_t)strlen(w) == n && strncasecmp(p, w, (size_t)n) == 0;
}

/* [sign] digits [. digits] [e [sign] digits], or [sign] nan|inf|infinity. 0 or -1. With
 * `value` 0 only the syntax is checked (and special set). */
static int read_number(const char *p, int64_t n, exact_num *x, int value)
{
    memset(x, 0, sizeof *x);
    int64_t i = 0;
    if (i < n && (p[i] == '-' || p[i] == '+'))
        x->neg = p[i++] == '-';
    if (word_is(p + i, n - i, "nan")) {
        x->special = 1;
        return 0;
    }
    if (word_is(p + i, n - i, "inf") || word_is(p + i, n - i, "infinity")) {
        x->special = 2;
        return 0;
    }
    int nd = 0, kept = value ? 0 : 38;
    for (; i < n && isdigit((unsigned char)p[i]); i++, nd++) {
        if (kept < 38) {
            x->mant = x->mant * 10 + (unsigned)(p[i] - '0');
            kept += x->mant != 0;
        } else {
            x->exp++;
        }
    }
    if (i < n && p[i] == '.') {
        for (i++; i < n && isdigit((unsigned char)p[i]); i++, nd++) {
            if (kept < 38) {
                x->mant = x->mant * 10 + (unsigned)(p[i] - '0');
                kept += x->mant != 0;
                x->exp--;
            }
        }
    }
    if (nd == 0)
        return -1;
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        int eneg = 0, e = 0, ed = 0;
        i++;
        if (i < n && (p[i] == '-' || p[i] == '+'))
            eneg = p[i++] == '-';
        for (; i < n && isdigit((unsigned char)p[i]); i++, ed++)
            if (e < 100000)
                e = e * 10 + (p[i] - '0');
        if (ed == 0)
            return -1;
        x->exp += eneg ? -e : e;
    }
    return i == n ? 0 : -1;
}

static const sql_u128 u128_max = ~(sql_u128)0;

static sql_u128 pow10_u128(int k)
{
    sql_u128 v = 1;
    while (k-- > 0)
        v *= 10;
    return v;
}

/* |x| * 10^scale rounded half away from zero into *mag. 0, or SQL_CONV_RANGE past 2^127. */
static int scale_exact(const exact_num *x, int scale, sql_u128 *mag)
{
    int k = x->exp + scale;
    sql_u128 m = x->mant;
    if (m == 0) {
        *mag = 0;
        return 0;
    }
    if (k >= 0) {
        for (; k > 0; k--) {
            if (m > u128_max / 20)
                return SQL_CONV_RANGE;
            m *= 10;
        }
    } else if (-k > 38) {
        m = 0; /* below 10^-38 of a unit: rounds to 0 */
    } else {
        sql_u128 d = pow10_u128(-k), q = m / d, r = m % d;
        m = q + (r >= d / 2);
    }
    if (m >> 127)
        return SQL_CONV_RANGE;
    *mag = m;
    return 0;
}

/* The range of an integer or decimal type, as magnitudes of its bounds. */
static void int_bounds(const sql_typeinfo *t, sql_u128 *hi, sql_u128 *lo_mag)
{
    switch (t->t) {
    case SQL_SMALLINT:
        *hi = 32767, *lo_mag = 32768;
        break;
    case SQL_INT:
        *hi = INT32_MAX, *lo_mag = (sql_u128)INT32_MAX + 1;
        break;
    case SQL_DECIMAL:
        *hi = *lo_mag = pow10_u128(t->precision) - 1;
        break;
    default:
        *hi = INT64_MAX, *lo_mag = (sql_u128)INT64_MAX + 1;
    }
}

/* A signed magnitude into an integer or decimal of type t. */
static int fit_int(const sql_typeinfo *t, int neg, sql_u128 mag, int64_t *out)
{
    sql_u128 hi, lo_mag;
    int_bounds(t, &hi, &lo_mag);
    if (neg ? mag > lo_mag : mag > hi)
        return SQL_CONV_RANGE;
    *out = neg ? (int64_t)(0 - (uint64_t)mag) : (int64_t)mag;
    return 0;
}

/* A double into a decimal of scale `scale` (0: an integer), exactly: d = m * 2^e with m an
 * integer of 53 bits, so |d| * 10^scale = m * 10^scale * 2^e is computed in 128 bits and rounded
 * half to even, as PostgreSQL's and DuckDB's casts of floating point do (rint). */
static int double_to_scaled(const sql_typeinfo *t, double d, int scale, int64_t *out)
{
    if (isnan(d) || isinf(d))
        return SQL_CONV_RANGE;
    int e;
    double fr = frexp(fabs(d), &e);
    sql_u128 m = (sql_u128)(uint64_t)ldexp(fr, 53) * (sql_u128)sql_pow10[scale];
    e -= 53;
    if (e >= 0) {
        if (m != 0 && (e > 12 || (m >> (126 - e)) != 0))
            return SQL_CONV_RANGE;
        m <<= e;
    } else if (-e >= 127) {
        m = 0;
    } else {
        sql_u128 q = m >> -e, rem = m & (((sql_u128)1 << -e) - 1), half = (sql_u128)1 << (-e - 1);
        m = q + (rem > half || (rem == half && (q & 1)));
    }
    return fit_int(t, d < 0, m, out);
}

/* A decimal of scale s (0: an integer) as the nearest double. */
double sql_decimal_to_double(int64_t v, int scale)
{
    if (scale == 0)
        return (double)v;
    if (v > -(1LL << 53) && v < (1LL << 53))
        return (double)v / (double)sql_pow10[scale]; /* both exact: one rounding */
    char buf[48];
    sql_format_decimal(buf, sizeof buf, v, scale);
    return strtod(buf, NULL);
}

/* Text of an exact number into a double (strtod needs a terminated copy). */
static int text_to_double(const sql_typeinfo *t, const char *p, int64_t n, const exact_num *x,
                          double *out)
{
    if (x->special) {
        *out = x->special == 1 ? NAN : x->neg ? -INFINITY : INFINITY;
        return 0;
    }
    char small[128], *buf = small;
    if (n >= (int64_t)sizeof small && !(buf = es_malloc((size_t)n + 1)))
        return SQL_CONV_NOMEM;
    memcpy(buf, p, (size_t)n);
    buf[n] = 0;
    double d = strtod(buf, NULL);
    if (buf != small)
        es_free(buf);
    if (isinf(d))
        return SQL_CONV_RANGE;
    if (t->t == SQL_REAL) {
        float f = (float)d;
        if (isinf(f))
            return SQL_CONV_RANGE;
        d = f;
    }
    *out = d;
    return 0;
}

int64_t sql_utf8_check(const char *s, int64_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    int64_t i = 0;
    while (i < n) {
        uint64_t w;
        if (i + 8 <= n && (memcpy(&w, p + i, 8), (w & 0x8080808080808080ULL) == 0)) {
            i += 8; /* eight ASCII bytes */
            continue;
        }
        unsigned c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        int len = c >= 0xC2 && c <= 0xDF   ? 2
                  : c >= 0xE0 && c <= 0xEF ? 3
                  : c >= 0xF0 && c <= 0xF4 ? 4
                                           : 0;
        if (len == 0 || i + len > n)
            return i;
        unsigned c1 = p[i + 1];
        /* the second byte's range excludes overlong forms, surrogates and > U+10FFFF */
        unsigned lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
        unsigned hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
        if (c1 < lo || c1 > hi)
            return i;
        for (int k = 2; k < len; k++)
            if ((p[i + k] & 0xC0) != 0x80)
                return i;
        i += len;
    }
    return -1;
}

/* The common case, without 128-bit arithmetic: [-]digits[.digits] of at most 18 digits with no
 * more fraction digits than the scale, so nothing rounds. 1 when it applied (and fits). */
static int fast_scaled(const sql_typeinfo *to, const char *p, int64_t n, int64_t *out)
{
    int64_t i = 0, v = 0;
    int neg = 0, nd = 0, frac = 0, scale = sql_scale(to);
    if (i < n && (p[i] == '-' || p[i] == '+'))
        neg = p[i++] == '-';
    int64_t start = i;
    for (; i < n; i++) {
        unsigned d = (unsigned)(p[i] - '0');
        if (d > 9)
            break;
        if (i - start == 18)
            return 0; /* 19 digits or more: the general path */
        v = v * 10 + d;
    }
    nd = (int)(i - start);
    if (i < n) {
        if (p[i++] != '.')
            return 0;
        for (; i < n; i++, frac++) {
            unsigned d = (unsigned)(p[i] - '0');
            if (d > 9 || frac == scale || nd + frac == 18)
                return 0;
            v = v * 10 + d;
        }
        nd += frac;
    }
    int up = scale - frac;
    if (nd == 0 || nd + up > 18)
        return 0;
    v *= sql_pow10[up];
    v = neg ? -v : v;
    int64_t lo = INT64_MIN, hi = INT64_MAX;
    if (to->t == SQL_SMALLINT)
        lo = -32768, hi = 32767;
    else if (to->t == SQL_INT)
        lo = INT32_MIN, hi = INT32_MAX;
    else if (to->t == SQL_DECIMAL)
        hi = sql_pow10[to->precision] - 1, lo = -hi;
    if (v < lo || v > hi)
        return 0; /* the general path says why */
    *out = v;
    return 1;
}

/* Plain decimal text ([+-]digits[.digits], at most 15 digits in all) as a double, exactly as
 * strtod reads it: the digits are an exact double below 2^53 and 10^k (k <= 15) is exact, so
 * the one division rounds correctly (Clinger's fast path). 0: not such text. */
static int fast_double(const char *p, int64_t n, double *out)
{
    static const double pow10d[16] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                      1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    int64_t i = 0, v = 0;
    int neg = 0, nd = 0, frac = 0;
    if (i < n && (p[i] == '-' || p[i] == '+'))
        neg = p[i++] == '-';
    for (; i < n && nd < 16 && (unsigned)(p[i] - '0') <= 9; i++, nd++)
        v = v * 10 + (p[i] - '0');
    if (nd == 0)
        return 0; /* (".5" and the like: the general path decides) */
    if (i < n && p[i] == '.') {
        for (i++; i < n && nd < 16 && (unsigned)(p[i] - '0') <= 9; i++, nd++, frac++)
            v = v * 10 + (p[i] - '0');
        if (frac == 0)
            return 0;
    }
    if (i != n || nd > 15)
        return 0;
    double d = (double)v / pow10d[frac];
    *out = neg ? -d : d;
    return 1;
}

int sql_conv_text(const sql_typeinfo *to, const char *p, int64_t n, sql_value *out)
{
    memset(out, 0, sizeof *out);
    if (to->t == SQL_VARCHAR || to->t == SQL_BLOB) {
        out->s = p;
        out->len = n;
        return to->t == SQL_VARCHAR && sql_utf8_check(p, n) >= 0 ? SQL_CONV_UTF8 : 0;
    }
    trim(&p, &n);
    switch (to->t) {
    case SQL_BOOL:
        if (word_is(p, n, "true") || word_is(p, n, "t") || word_is(p, n, "1"))
            out->i = 1;
        else if (word_is(p, n, "false") || word_is(p, n, "f") || word_is(p, n, "0"))
            out->i = 0;
        else
            return SQL_CONV_SYNTAX;
        return 0;
    case SQL_DATE:
        return sql_parse_date(p, n, &out->i) == 0 ? 0 : SQL_CONV_SYNTAX;
    case SQL_TIMESTAMP:
    case SQL_TIMESTAMPTZ:
        return sql_parse_timestamp(p, n, &out->i) == 0 ? 0 : SQL_CONV_SYNTAX;
    default:
        break;
    }
    if (sql_type_phys(to->t) == SQL_PHYS_INT && fast_scaled(to, p, n, &out->i))
        return 0;
    if (sql_type_phys(to->t) == SQL_PHYS_DBL && fast_double(p, n, &out->f)) {
        if (to->t == SQL_REAL)
            out->f = (float)out->f;
        return 0;
    }
    exact_num x;
    if (read_number(p, n, &x, sql_type_phys(to->t) == SQL_PHYS_INT) < 0)
        return SQL_CONV_SYNTAX;
    if (sql_type_phys(to->t) == SQL_PHYS_DBL)
        return text_to_double(to, p, n, &x, &out->f);
    if (x.special)
        return SQL_CONV_RANGE;
    sql_u128 mag;
    int rc = scale_exact(&x, sql_scale(to), &mag);
    return rc ? rc : fit_int(to, x.neg, mag, &out->i);
}

int sql_conv_value(const sql_typeinfo *to, const sql_typeinfo *from, const sql_value *v,
                   sql_value *out)
{
    memset(out, 0, sizeof *out);
    int pf = sql_type_phys(from->t), pt = sql_type_phys(to->t);
    if (pf == SQL_PHYS_STR || pt == SQL_PHYS_STR)
        return SQL_CONV_TYPE; /* text: sql_conv_text; to text: formatting */
    if (sql_is_temporal(to->t) || sql_is_temporal(from->t)) {
        if (!sql_is_temporal(to->t) || !sql_is_temporal(from->t))
            return SQL_CONV_TYPE;
        if (to->t == SQL_DATE && from->t != SQL_DATE) {
            int64_t us = v->i;
            out->i = us >= 0 ? us / 86400000000LL : -((-us + 86399999999LL) / 86400000000LL);
        } else if (from->t == SQL_DATE && to->t != SQL_DATE) {
            if (__builtin_mul_overflow(v->i, 86400000000LL, &out->i))
                return SQL_CONV_RANGE; /* a date32 of some 300,000 years */
        } else {
            out->i = v->i;
        }
        return 0;
    }
    if (to->t == SQL_BOOL) {
        out->i = pf == SQL_PHYS_DBL ? v->f != 0 : v->i != 0;
        return 0;
    }
    if (pt == SQL_PHYS_DBL) {
        double d = pf == SQL_PHYS_DBL ? v->f : sql_decimal_to_double(v->i, sql_scale(from));
        if (to->t == SQL_REAL) {
            float f = (float)d;
            if (isinf(f) && !isinf(d))
                return SQL_CONV_RANGE;
            d = f;
        }
        out->f = d;
        return 0;
    }
    int st = sql_scale(to), sf = sql_scale(from);
    if (pf == SQL_PHYS_DBL)
        return double_to_scaled(to, v->f, st, &out->i);
    sql_u128 mag = v->i < 0 ? 0 - (uint64_t)v->i : (uint64_t)v->i;
    if (st >= sf) {
        mag *= (sql_u128)sql_pow10[st - sf]; /* < 2^64 * 10^18 < 2^124 */
    } else {
        sql_u128 d = (sql_u128)sql_pow10[sf - st];
        mag = mag / d + (mag % d >= d / 2);
    }
    return fit_int(to, v->i < 0, mag, &out->i);
}

/* The first 60 bytes of an input value for a one-line message: valid UTF-8 as it is, control
 * characters and bytes that are not UTF-8 as \xHH, "..." when cut. */
static void shown_text(char *out, size_t cap, const char *text, int64_t n)
{
    const unsigned char *p = (const unsigned char *)text;
    int64_t i = 0, m = n > 60 ? 60 : n;
    size_t k = 0;
    while (i < m && k + 8 < cap) {
        unsigned c = p[i];
        int len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        if (c < 0x20 || c == 0x7f ||
            (c >= 0x80 && (i + len > n || sql_utf8_check(text + i, len) >= 0))) {
            k += (size_t)snprintf(out + k, cap - k, "\\x%02X", c);
            i++;
        } else {
            memcpy(out + k, p + i, (size_t)len);
            k += (size_t)len;
            i += len;
        }
    }
    snprintf(out + k, cap - k, "%s", i < n ? "..." : "");
}

void sql_conv_message(char *buf, size_t cap, int rc, const sql_typeinfo *to, const char *text,
                      int64_t n)
{
    char tn[64], shown[256];
    sql_typeinfo_name(tn, sizeof tn, to);
    shown_text(shown, sizeof shown, text, n);
    switch (rc) {
    case SQL_CONV_RANGE:
        snprintf(buf, cap, "'%s' is out of range for %s", shown, tn);
        break;
    case SQL_CONV_UTF8:
        snprintf(buf, cap, "invalid UTF-8 at byte %lld of a %s value",
                 (long long)sql_utf8_check(text, n) + 1, tn);
        break;
    case SQL_CONV_NOMEM:
        snprintf(buf, cap, "out of memory");
        break;
    default:
        snprintf(buf, cap, "cannot parse '%s' as %s", shown, tn);
    }
}
