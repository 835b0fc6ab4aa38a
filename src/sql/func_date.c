/*
 * func_date: the date and time functions of the SQL layer (see sql/sql.h for the files,
 * sql/exec.h for the interfaces; func.c is the dispatch and the other families), with DuckDB's
 * semantics, which the tests compare with:
 *
 *   strftime(t, format)      VARCHAR; t a DATE or TIMESTAMP (the arguments may also come in
 *                            SQLite's order, format first). Specifiers: %Y %y %G %m %d %H %I
 *                            %M %S (and %-m %-d %-H %-I %-M %-S %-j %-y without padding) %p
 *                            %f (microseconds) %g (milliseconds) %j %a %A %b %h %B %w %u %U
 *                            %W %V %z %Z %c %x %X %%; any other is an error.
 *   date_trunc(part, t)      TIMESTAMP (TIMESTAMP WITH TIME ZONE for one), t cut down to the
 *                            start of its microsecond ... millennium; week starts on Monday.
 *   date_part(part, t)       BIGINT (DOUBLE for epoch); EXTRACT(part FROM t) is the same call.
 *                            Parts: year month day hour minute second millisecond microsecond
 *                            quarter week (ISO) isoyear yearweek dow (Sunday 0) isodow (Monday
 *                            1) doy decade century millennium epoch.
 *   now(), current_timestamp TIMESTAMP WITH TIME ZONE, the statement's start (one value for the
 *                            whole statement); current_date, today() its DATE (UTC).
 *
 * Values are microseconds since 1970-01-01 UTC (dates: days, times 86400000000). The part and
 * the format must be constants (string literals), checked when the statement is bound.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sql/exec.h"

enum { FN_STRFTIME = 100, FN_DATE_TRUNC, FN_DATE_PART, FN_NOW, FN_CURRENT_DATE };

enum {
    DP_MICROSECOND = 0,
    DP_MILLISECOND,
    DP_SECOND,
    DP_MINUTE,
    DP_HOUR,
    DP_DAY,
    DP_WEEK,
    DP_MONTH,
    DP_QUARTER,
    DP_YEAR,
    DP_DECADE,
    DP_CENTURY,
    DP_MILLENNIUM,
    DP_TRUNC_LAST = DP_MILLENNIUM, /* the parts date_trunc takes */
    DP_DOW,
    DP_ISODOW,
    DP_DOY,
    DP_ISOYEAR,
    DP_YEARWEEK,
    DP_EPOCH
};

static const struct {
    const char *name;
    int part;
} parts[] = {{"microsecond", DP_MICROSECOND},
             {"microseconds", DP_MICROSECOND},
             {"us", DP_MICROSECOND},
             {"millisecond", DP_MILLISECOND},
             {"milliseconds", DP_MILLISECOND},
             {"ms", DP_MILLISECOND},
             {"second", DP_SECOND},
             {"seconds", DP_SECOND},
             {"s", DP_SECOND},
             {"minute", DP_MINUTE},
             {"minutes", DP_MINUTE},
             {"min", DP_MINUTE},
             {"hour", DP_HOUR},
             {"hours", DP_HOUR},
             {"h", DP_HOUR},
             {"day", DP_DAY},
             {"days", DP_DAY},
             {"d", DP_DAY},
             {"dayofmonth", DP_DAY},
             {"week", DP_WEEK},
             {"weeks", DP_WEEK},
             {"w", DP_WEEK},
             {"weekofyear", DP_WEEK},
             {"month", DP_MONTH},
             {"months", DP_MONTH},
             {"mon", DP_MONTH},
             {"quarter", DP_QUARTER},
             {"quarters", DP_QUARTER},
             {"year", DP_YEAR},
             {"years", DP_YEAR},
             {"y", DP_YEAR},
             {"decade", DP_DECADE},
             {"decades", DP_DECADE},
             {"century", DP_CENTURY},
             {"centuries", DP_CENTURY},
             {"millennium", DP_MILLENNIUM},
             {"millennia", DP_MILLENNIUM},
             {"dow", DP_DOW},
             {"dayofweek", DP_DOW},
             {"isodow", DP_ISODOW},
             {"doy", DP_DOY},
             {"dayofyear", DP_DOY},
             {"isoyear", DP_ISOYEAR},
             {"yearweek", DP_YEARWEEK},
             {"epoch", DP_EPOCH}};

#define US_PER_DAY 86400000000LL

/* ------------------------------------------------------------ calendar */

int64_t sql_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void sql_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const int64_t doe = z - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The broken-down time of us microseconds since 1970. */
typedef struct civil {
    int64_t days, tod; /* days since 1970, microseconds into the day */
    int64_t y;
    int m, d, dow, doy; /* dow: 0 Sunday; doy 1-based */
} civil;

static void to_civil(int64_t us, civil *c)
{
    c->days = floor_div(us, US_PER_DAY);
    c->tod = us - c->days * US_PER_DAY;
    sql_civil_from_days(c->days, &c->y, &c->m, &c->d);
    c->dow = (int)((c->days % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
    c->doy = (int)(c->days - sql_days_from_civil(c->y, 1, 1) + 1);
}

/* ISO 8601 week and its year. */
static void iso_week(const civil *c, int64_t *year, int64_t *week)
{
    int isodow = c->dow == 0 ? 7 : c->dow;
    int64_t thursday = c->days - isodow + 4, y;
    int m, d;
    sql_civil_from_days(thursday, &y, &m, &d);
    *year = y;
    *week = (thursday - sql_days_from_civil(y, 1, 1)) / 7 + 1;
}

/* ------------------------------------------------------------ binding */

static int find_part(const char *s, int64_t n)
{
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
        if ((int64_t)strlen(parts[i].name) == n && strncasecmp(parts[i].name, s, (size_t)n) == 0)
            return parts[i].part;
    return -1;
}

static const char *const fmt_ok = "YymdHIMSpfgjaAbhBwuUWVGzZcxX%";
static const char *const fmt_dash = "mdHIMSjy";

/* Check a strftime format; -1 with the offending specifier in *bad. */
static int check_format(const char *f, int64_t n, char bad[3])
{
    for (int64_t i = 0; i < n; i++) {
        if (f[i] != '%')
            continue;
        if (i + 1 >= n) {
            snprintf(bad, 3, "%%");
            return -1;
        }
        char c = f[++i];
        if (c == '-') {
            if (i + 1 >= n || f[i + 1] == 0 || !strchr(fmt_dash, f[i + 1])) {
                snprintf(bad, 3, "%%-");
                return -1;
            }
            i++;
            continue;
        }
        if (!c || !strchr(fmt_ok, c)) {
            bad[0] = '%';
            bad[1] = c;
            bad[2] = 0;
            return -1;
        }
    }
    return 0;
}

/* The temporal argument of a date function: a string literal becomes a TIMESTAMP. */
static int temporal_arg(sql_exec *x, sql_expr *e, sql_expr *a)
{
    if (a->kind == E_STR && sql_fold_temporal(x, a, SQL_TIMESTAMP) < 0)
        return -1;
    if (a->ty.t == SQL_NULL || sql_is_temporal(a->ty.t))
        return 0;
    char s[128], t[64];
    sql_fmt_expr(s, sizeof s, a);
    sql_typeinfo_name(t, sizeof t, &a->ty);
    return sql_err(x, e->pos, "type error: %s() needs a DATE or TIMESTAMP, got %s (%s)", e->name, s,
                   t);
}

int sql_func_date_bind(sql_exec *x, sql_expr *e)
{
    const char *n = e->name;
    sql_expr **a = e->list;
    sql_typeinfo ts = {SQL_TIMESTAMP, 0, 0}, varchar = {SQL_VARCHAR, 0, 0};
    if (strcmp(n, "now") == 0 || strcmp(n, "current_timestamp") == 0 ||
        strcmp(n, "get_current_timestamp") == 0 || strcmp(n, "current_date") == 0 ||
        strcmp(n, "today") == 0) {
        if (e->nlist != 0 || e->star)
            return sql_unknown_function(x, e);
        int date = strcmp(n, "current_date") == 0 || strcmp(n, "today") == 0;
        e->index = date ? FN_CURRENT_DATE : FN_NOW;
        e->ty.t = date ? SQL_DATE : SQL_TIMESTAMPTZ;
        if (!x->now) {
            struct timespec t;
            clock_gettime(CLOCK_REALTIME, &t);
            x->now = (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
        }
        e->ival = date ? floor_div(x->now, US_PER_DAY) : x->now;
        return 0;
    }
    if (strcmp(n, "strftime") == 0) {
        if (e->nlist != 2 || e->star || e->distinct)
            return sql_unknown_function(x, e);
        /* DuckDB's order is (value, format); SQLite's (format, value) is taken too. */
        int swap = sql_is_str(a[0]->ty.t) && (sql_is_temporal(a[1]->ty.t) || a[0]->kind == E_STR) &&
                   !(a[0]->kind == E_STR && a[1]->kind == E_STR && strchr(a[1]->sval, '%'));
        sql_expr *v = a[swap], *f = a[!swap];
        if (temporal_arg(x, e, v) < 0)
            return -1;
        if (f->ty.t != SQL_VARCHAR && f->ty.t != SQL_NULL)
            return sql_err(x, f->pos, "strftime() needs a format string");
        char bad[3];
        if (f->kind == E_STR && check_format(f->sval, f->slen, bad) < 0)
            return sql_err(x, f->pos, "strftime(): unknown format specifier %s in '%.60s'", bad,
                           f->sval);
        e->index = FN_STRFTIME;
        e->ival = swap;
        e->ty = varchar;
        return 0;
    }
    int trunc = strcmp(n, "date_trunc") == 0 || strcmp(n, "datetrunc") == 0;
    int part = strcmp(n, "date_part") == 0 || strcmp(n, "datepart") == 0;
    if (!trunc && !part)
        return 1; /* not a function of ours */
    if (e->nlist != 2 || e->star || e->distinct)
        return sql_unknown_function(x, e);
    if (a[0]->kind != E_STR)
        return sql_err(x, a[0]->pos,
                       "%s() needs the part as a string literal ('year', 'month', ...)", n);
    int dp = find_part(a[0]->sval, a[0]->slen);
    if (dp < 0 || (trunc && dp > DP_TRUNC_LAST))
        return sql_err(x, a[0]->pos, "%s(): unknown part '%.40s'", n, a[0]->sval);
    if (temporal_arg(x, e, a[1]) < 0)
        return -1;
    e->ival = dp;
    if (trunc) {
        e->index = FN_DATE_TRUNC;
        e->ty = a[1]->ty.t == SQL_TIMESTAMPTZ ? a[1]->ty : ts;
    } else {
        e->index = FN_DATE_PART;
        e->ty.t = dp == DP_EPOCH ? SQL_DOUBLE : SQL_BIGINT;
    }
    return 0;
}

/* ------------------------------------------------------------ kernels */

static int64_t trunc_us(int part, int64_t us)
{
    civil c;
    to_civil(us, &c);
    int64_t day0 = c.days * US_PER_DAY, y = c.y;
    switch (part) {
    case DP_MICROSECOND:
        return us;
    case DP_MILLISECOND:
        return floor_div(us, 1000) * 1000;
    case DP_SECOND:
        return floor_div(us, 1000000) * 1000000;
    case DP_MINUTE:
        return floor_div(us, 60000000) * 60000000;
    case DP_HOUR:
        return floor_div(us, 3600000000LL) * 3600000000LL;
    case DP_DAY:
        return day0;
    case DP_WEEK:
        return (c.days - (c.dow == 0 ? 6 : c.dow - 1)) * US_PER_DAY;
    case DP_MONTH:
        return sql_days_from_civil(y, c.m, 1) * US_PER_DAY;
    case DP_QUARTER:
        return sql_days_from_civil(y, (c.m - 1) / 3 * 3 + 1, 1) * US_PER_DAY;
    case DP_YEAR:
        return sql_days_from_civil(y, 1, 1) * US_PER_DAY;
    case DP_DECADE:
        return sql_days_from_civil(floor_div(y, 10) * 10, 1, 1) * US_PER_DAY;
    case DP_CENTURY:
        return sql_days_from_civil(floor_div(y, 100) * 100, 1, 1) * US_PER_DAY;
    default:
        return sql_days_from_civil(floor_div(y, 1000) * 1000, 1, 1) * US_PER_DAY;
    }
}

static int64_t part_of(int part, int64_t us)
{
    civil c;
    to_civil(us, &c);
    int64_t iy, iw;
    switch (part) {
    case DP_MICROSECOND:
        return c.tod % 60000000;
    case DP_MILLISECOND:
        return c.tod % 60000000 / 1000;
    case DP_SECOND:
        return c.tod / 1000000 % 60;
    case DP_MINUTE:
        return c.tod / 60000000 % 60;
    case DP_HOUR:
        return c.tod / 3600000000LL;
    case DP_DAY:
        return c.d;
    case DP_WEEK:
        iso_week(&c, &iy, &iw);
        return iw;
    case DP_MONTH:
        return c.m;
    case DP_QUARTER:
        return (c.m - 1) / 3 + 1;
    case DP_YEAR:
        return c.y;
    case DP_DECADE:
        return floor_div(c.y, 10);
    case DP_CENTURY:
        return c.y > 0 ? (c.y - 1) / 100 + 1 : -((-c.y) / 100 + 1);
    case DP_MILLENNIUM:
        return c.y > 0 ? (c.y - 1) / 1000 + 1 : -((-c.y) / 1000 + 1);
    case DP_DOW:
        return c.dow;
    case DP_ISODOW:
        return c.dow == 0 ? 7 : c.dow;
    case DP_DOY:
        return c.doy;
    case DP_ISOYEAR:
        iso_week(&c, &iy, &iw);
        return iy;
    default: /* yearweek */
        iso_week(&c, &iy, &iw);
        return iy * 100 + iw;
    }
}

static const char *const day_names[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                        "Thursday", "Friday", "Saturday"};
static const char *const month_names[] = {"January",   "February", "March",    "April",
                                          "May",       "June",     "July",     "August",
                                          "September", "October",  "November", "December"};

/* Format us (tz: a TIMESTAMP WITH TIME ZONE) with f[0..fn) into out (a string vector). 0, or
 * -1 for an unknown specifier (bad set), or -2 out of memory. */
static int format_time(sql_vec *out, int64_t us, int tz, const char *f, int64_t fn, char bad[3])
{
    civil c;
    to_civil(us, &c);
    int64_t h = c.tod / 3600000000LL, mi = c.tod / 60000000 % 60, s = c.tod / 1000000 % 60;
    int64_t frac = c.tod % 1000000, iy, iw;
    for (int64_t i = 0; i < fn; i++) {
        char buf[64];
        const char *piece = buf;
        buf[0] = 0;
        if (f[i] != '%') {
            buf[0] = f[i];
            buf[1] = 0;
        } else {
            if (i + 1 >= fn) {
                snprintf(bad, 3, "%%");
                return -1;
            }
            char k = f[++i];
            int nopad = 0;
            if (k == '-' && i + 1 < fn && f[i + 1] && strchr(fmt_dash, f[i + 1])) {
                nopad = 1;
                k = f[++i];
            }
            int64_t num = -1;
            int width = 2;
            switch (k) {
            case 'Y':
                snprintf(buf, sizeof buf, "%04lld", (long long)c.y);
                break;
            case 'y':
                num = (c.y % 100 + 100) % 100;
                break;
            case 'G':
                iso_week(&c, &iy, &iw);
                snprintf(buf, sizeof buf, "%04lld", (long long)iy);
                break;
            case 'm':
                num = c.m;
                break;
            case 'd':
                num = c.d;
                break;
            case 'H':
                num = h;
                break;
            case 'I':
                num = h % 12 == 0 ? 12 : h % 12;
                break;
            case 'M':
                num = mi;
                break;
            case 'S':
                num = s;
                break;
            case 'p':
                piece = h < 12 ? "AM" : "PM";
                break;
            case 'f':
                num = frac, width = 6;
                break;
            case 'g':
                num = frac / 1000, width = 3;
                break;
            case 'j':
                num = c.doy, width = 3;
                break;
            case 'a':
                snprintf(buf, sizeof buf, "%.3s", day_names[c.dow]);
                break;
            case 'A':
                piece = day_names[c.dow];
                break;
            case 'b':
            case 'h':
                snprintf(buf, sizeof buf, "%.3s", month_names[c.m - 1]);
                break;
            case 'B':
                piece = month_names[c.m - 1];
                break;
            case 'w':
                num = c.dow, width = 1;
                break;
            case 'u':
                num = c.dow == 0 ? 7 : c.dow, width = 1;
                break;
            case 'U':
                num = (c.doy - 1 + 7 - c.dow) / 7;
                break;
            case 'W':
                num = (c.doy - 1 + 7 - (c.dow + 6) % 7) / 7;
                break;
            case 'V':
                iso_week(&c, &iy, &iw);
                num = iw;
                break;
            case 'z':
                piece = "+00";
                break;
            case 'Z':
                piece = tz ? "UTC" : "";
                break;
            case 'c':
                snprintf(buf, sizeof buf, "%04lld-%02d-%02d %02lld:%02lld:%02lld", (long long)c.y,
                         c.m, c.d, (long long)h, (long long)mi, (long long)s);
                break;
            case 'x':
                snprintf(buf, sizeof buf, "%04lld-%02d-%02d", (long long)c.y, c.m, c.d);
                break;
            case 'X':
                snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", (long long)h, (long long)mi,
                         (long long)s);
                break;
            case '%':
                piece = "%";
                break;
            default:
                bad[0] = '%';
                bad[1] = k;
                bad[2] = 0;
                return -1;
            }
            if (num >= 0)
                snprintf(buf, sizeof buf, "%0*lld", nopad ? 1 : width, (long long)num);
        }
        int64_t pl = (int64_t)strlen(piece);
        if (sql_vec_reserve_data(out, pl) < 0)
            return -2;
        memcpy(out->data + out->dlen, piece, (size_t)pl);
        out->dlen += pl;
    }
    if (sql_vec_reserve(out, out->n + 1) < 0)
        return -2;
    out->nulls[out->n] = 0;
    out->off[++out->n] = out->dlen;
    return 0;
}

/* Microseconds of value r of a DATE or TIMESTAMP vector. */
static int64_t us_at(const sql_vec *v, int64_t r)
{
    return v->ty.t == SQL_DATE ? v->i[r] * US_PER_DAY : v->i[r];
}

int sql_func_date_eval(sql_exec *x, const sql_expr *e, const sql_vec *args, int nargs, int64_t n,
                       sql_vec *out)
{
    (void)nargs;
    if (e->index == FN_STRFTIME) {
        const sql_vec *v = &args[e->ival], *f = &args[!e->ival];
        sql_vec_init(out, e->ty);
        if (sql_vec_reserve(out, n > 0 ? n : 1) < 0)
            return sql_oom(x);
        for (int64_t r = 0; r < n; r++) {
            if (v->ty.t == SQL_NULL || f->ty.t == SQL_NULL || v->nulls[r] || f->nulls[r]) {
                if (sql_vec_push_null(out) < 0)
                    return sql_oom(x);
                continue;
            }
            int64_t fl;
            const char *fs = sql_vec_str(f, r, &fl);
            char bad[3];
            int rc = format_time(out, us_at(v, r), v->ty.t == SQL_TIMESTAMPTZ, fs, fl, bad);
            if (rc == -2)
                return sql_oom(x);
            if (rc < 0)
                return sql_err(x, e->pos, "strftime(): unknown format specifier %s in '%.*s'", bad,
                               (int)(fl > 60 ? 60 : fl), fs);
        }
        return 0;
    }
    if (sql_vec_alloc(out, e->ty, n) < 0)
        return sql_oom(x);
    for (int64_t r = 0; r < n; r++) {
        if (e->index == FN_NOW || e->index == FN_CURRENT_DATE) {
            out->i[r] = e->ival;
            continue;
        }
        const sql_vec *v = &args[1];
        int null = v->ty.t == SQL_NULL || v->nulls[r];
        out->nulls[r] = (uint8_t)null;
        if (sql_vec_phys(out) == SQL_PHYS_DBL)
            out->f[r] = null ? 0 : (double)us_at(v, r) / 1e6;
        else
            out->i[r] = null                        ? 0
                        : e->index == FN_DATE_TRUNC ? trunc_us((int)e->ival, us_at(v, r))
                                                    : part_of((int)e->ival, us_at(v, r));
    }
    return 0;
}

/* ------------------------------------------------------- date arithmetic */

static int is_integer(sql_type t)
{
    return t == SQL_SMALLINT || t == SQL_INT || t == SQL_BIGINT || t == SQL_NULL;
}

int sql_date_arith_bind(sql_exec *x, sql_expr *e)
{
    sql_expr *a = e->a, *b = e->b;
    int ia = a->kind == E_INTERVAL, ib = b->kind == E_INTERVAL;
    sql_type ta = a->ty.t, tb = b->ty.t;
    int add = e->op == OP_ADD, sub = e->op == OP_SUB;
    if (ia || ib) {
        sql_expr *iv = ia ? a : b, *v = ia ? b : a;
        iv->ty.t = SQL_BIGINT;
        if (ia && ib)
            return sql_err(x, e->pos, "type error: cannot %s two INTERVALs",
                           add ? "add" : "combine");
        if (!(add || (sub && ib)) || (!sql_is_temporal(v->ty.t) && v->ty.t != SQL_NULL)) {
            char s[128], t[64];
            sql_fmt_expr(s, sizeof s, v);
            sql_typeinfo_name(t, sizeof t, &v->ty);
            return sql_err(x, e->pos,
                           "type error: an INTERVAL can only be added to or subtracted from a "
                           "DATE or TIMESTAMP, not %s (%s)",
                           s, t);
        }
        e->ty.t = v->ty.t == SQL_TIMESTAMPTZ ? SQL_TIMESTAMPTZ : SQL_TIMESTAMP;
        return 1;
    }
    if (!add && !sub)
        return 0;
    if ((ta == SQL_DATE && is_integer(tb)) || (add && tb == SQL_DATE && is_integer(ta))) {
        e->ty.t = SQL_DATE; /* DATE +- days, days + DATE */
        return 1;
    }
    if (sub && ta == SQL_DATE && tb == SQL_DATE) {
        e->ty.t = SQL_BIGINT; /* days between */
        return 1;
    }
    return 0;
}

static int days_in_month(int64_t y, int m)
{
    static const int md[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0) ? 29 : md[m - 1];
}

/* us plus months (the day clamped to the end of the month, as PostgreSQL) plus dus
 * microseconds; -1 when out of range. */
static int add_interval(int64_t us, int64_t months, int64_t dus, int64_t *out)
{
    if (months) {
        int64_t days = floor_div(us, US_PER_DAY), tod = us - days * US_PER_DAY, y;
        int m, d;
        sql_civil_from_days(days, &y, &m, &d);
        if (y > 300000 || y < -300000)
            return -1;
        int64_t t = y * 12 + (m - 1) + months, ny = floor_div(t, 12);
        int nm = (int)(t - ny * 12) + 1;
        if (d > days_in_month(ny, nm))
            d = days_in_month(ny, nm);
        if (__builtin_mul_overflow(sql_days_from_civil(ny, nm, d), US_PER_DAY, &us) ||
            __builtin_add_overflow(us, tod, &us))
            return -1;
    }
    return __builtin_add_overflow(us, dus, out) ? -1 : 0;
}

int sql_date_arith_eval(sql_exec *x, const sql_expr *e, const sql_vec *a, const sql_vec *b,
                        sql_vec *out)
{
    int64_t n = a->n > b->n ? a->n : b->n;
    const sql_expr *iv = e->a->kind == E_INTERVAL ? e->a : e->b->kind == E_INTERVAL ? e->b : NULL;
    const sql_vec *v = iv == e->a ? b : a;
    if (sql_vec_alloc(out, e->ty, n) < 0)
        return sql_oom(x);
    for (int64_t r = 0; r < n; r++) {
        int null = iv ? v->ty.t == SQL_NULL || v->nulls[r]
                      : a->ty.t == SQL_NULL || b->ty.t == SQL_NULL || a->nulls[r] || b->nulls[r];
        out->nulls[r] = (uint8_t)null;
        out->i[r] = 0;
        if (null)
            continue;
        int bad;
        if (iv) {
            int s = e->op == OP_SUB ? -1 : 1;
            int64_t us = v->i[r]; /* a DATE past TIMESTAMP's range is an overflow */
            bad = (v->ty.t == SQL_DATE && __builtin_mul_overflow(v->i[r], US_PER_DAY, &us)) ||
                  add_interval(us, s * iv->months, s * iv->ival, &out->i[r]) < 0;
        } else if (e->ty.t == SQL_BIGINT) {
            bad = __builtin_sub_overflow(a->i[r], b->i[r], &out->i[r]);
        } else {
            const sql_vec *d = a->ty.t == SQL_DATE ? a : b, *k = d == a ? b : a;
            bad = e->op == OP_SUB ? __builtin_sub_overflow(d->i[r], k->i[r], &out->i[r])
                                  : __builtin_add_overflow(d->i[r], k->i[r], &out->i[r]);
            bad |= out->i[r] > INT32_MAX || out->i[r] < INT32_MIN; /* a date32 */
        }
        if (bad) {
            char sa[64], sb[64], tn[64];
            int64_t l;
            const char *pa = iv == e->a ? "INTERVAL" : sql_vec_format(a, r, sa, sizeof sa, &l);
            const char *pb = iv == e->b ? "INTERVAL" : sql_vec_format(b, r, sb, sizeof sb, &l);
            sql_typeinfo_name(tn, sizeof tn, &e->ty);
            sql_vec_free(out);
            return sql_err(x, e->pos, "out of range: overflow in %s of %s (%s %s %s)",
                           e->op == OP_SUB ? "subtraction" : "addition", tn, pa,
                           e->op == OP_SUB ? "-" : "+", pb);
        }
    }
    return 0;
}

void sql_format_interval(char *buf, size_t cap, int64_t months, int64_t us)
{
    size_t k = 0;
    buf[0] = 0;
    int64_t y = months / 12, mo = months % 12, d = us / US_PER_DAY, t = us % US_PER_DAY;
    if (y && k < cap)
        k += (size_t)snprintf(buf + k, cap - k, "%lld year%s ", (long long)y,
                              y == 1 || y == -1 ? "" : "s");
    if (mo && k < cap)
        k += (size_t)snprintf(buf + k, cap - k, "%lld month%s ", (long long)mo,
                              mo == 1 || mo == -1 ? "" : "s");
    if (d && k < cap)
        k += (size_t)snprintf(buf + k, cap - k, "%lld day%s ", (long long)d,
                              d == 1 || d == -1 ? "" : "s");
    if ((t || k == 0) && k < cap) {
        uint64_t at = t < 0 ? (uint64_t)-t : (uint64_t)t;
        k += (size_t)snprintf(buf + k, cap - k, "%s%02llu:%02llu:%02llu", t < 0 ? "-" : "",
                              (unsigned long long)(at / 3600000000ULL),
                              (unsigned long long)(at / 60000000ULL % 60),
                              (unsigned long long)(at / 1000000ULL % 60));
        if (at % 1000000 && k < cap)
            k += (size_t)snprintf(buf + k, cap - k, ".%06llu", (unsigned long long)(at % 1000000));
    } else if (k > 0 && k <= cap) {
        buf[k - 1] = 0; /* the trailing space */
    }
}
