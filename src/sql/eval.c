/*
 * eval: vectorised evaluation of bound expressions (see sql/sql.h for the files, sql/exec.h for
 * the interfaces). Every kernel works on whole vectors: one loop per operator per batch, no
 * per-value interpretation of the expression tree. Comparisons and arithmetic first bring both
 * operands to a common domain (integers and decimals at a common scale, compared in 128 bits;
 * double; or bytes), then run one loop generated per operator; SQL's three-valued logic is kept
 * exactly (AND, OR, NOT, IN, BETWEEN; an AND/OR chain is one n-ary node evaluated operand by
 * operand). Numbers (docs/SQL.md): integer and decimal arithmetic is exact or an error, never
 * wrapped ("out of range: overflow in addition of BIGINT (...)": +, -, *, unary -, abs(),
 * INT64_MIN / -1, decimal rescaling, DECIMAL results past 18 digits), as is DOUBLE arithmetic
 * that overflows from finite operands; division and modulo by zero are NULL; doubles order NaN
 * above every number and equal to itself. Casts (through the conversions of conv.c), LIKE and
 * the scalar functions (abs, length, lower, upper, coalesce) are here too, and the WHERE filter
 * on a batch. Below it: value.c, bind.c (types). Above it: select.c, agg.c, insert.c.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sql/exec.h"
#include "util/util.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* ------------------------------------------------------------- domains */

/* View a vector in a domain: returns arrays (converted into tmp when needed). */
static int as_int(const sql_vec *v, sql_vec *tmp, const int64_t **out)
{
    if (sql_vec_phys(v) == SQL_PHYS_INT && v->i) {
        *out = v->i;
        return 0;
    }
    sql_typeinfo ti = {SQL_BIGINT, 0, 0};
    if (sql_vec_alloc(tmp, ti, v->n) < 0)
        return -1;
    if (v->ty.t == SQL_NULL || !v->i)
        memset(tmp->i, 0, sizeof(int64_t) * (size_t)(v->n > 0 ? v->n : 1));
    else
        memcpy(tmp->i, v->i, sizeof(int64_t) * (size_t)v->n);
    *out = tmp->i;
    return 0;
}

static int as_dbl(const sql_vec *v, sql_vec *tmp, const double **out)
{
    if (sql_vec_phys(v) == SQL_PHYS_DBL && v->f) {
        *out = v->f;
        return 0;
    }
    sql_typeinfo ti = {SQL_DOUBLE, 0, 0};
    if (sql_vec_alloc(tmp, ti, v->n) < 0)
        return -1;
    if (v->ty.t == SQL_NULL || !v->i) {
        memset(tmp->f, 0, sizeof(double) * (size_t)(v->n > 0 ? v->n : 1));
    } else {
        int scale = sql_scale(&v->ty);
        if (scale == 0)
            for (int64_t r = 0; r < v->n; r++)
                tmp->f[r] = (double)v->i[r];
        else
            for (int64_t r = 0; r < v->n; r++)
                tmp->f[r] = sql_decimal_to_double(v->i[r], scale);
    }
    *out = tmp->f;
    return 0;
}

/* ------------------------------------------------------------- IN lists */

/* The hash set of an IN list's constants, keyed in the domain in which the operand compares
 * with them (sql_common_domain): integers, decimals and temporals as 128-bit integers at the
 * common scale (the operand's values times ma), doubles (NaN equal to NaN, -0 to 0), or bytes.
 * The parser allocates it in the statement's arena, sized for the list; the binder fills it
 * (sql_inset_fill), once per statement, so a batch costs one probe per row however long the
 * list. Used only when every value is a constant of one domain and multiplier (else `ok` is 0
 * and IN compares value by value, as any expression). */
typedef union in_key {
    sql_i128 i;
    double f;
} in_key;

struct sql_inset {
    int ok, dom, has_null;
    sql_typeinfo aty; /* the operand's bound type: a vector of another type compares slowly */
    int64_t ma;
    uint32_t mask;        /* slots - 1 */
    int32_t *slot;        /* index into key and lit, -1 empty */
    in_key *key;          /* per list value */
    const sql_expr **lit; /* per list value: its literal node (bytes: sval, slen) */
};

struct sql_inset *sql_inset_alloc(sql_arena *a, int n)
{
    uint32_t cap = 16;
    while (cap < 2 * (uint32_t)n)
        cap *= 2;
    struct sql_inset *s = sql_arena_alloc(a, sizeof *s);
    if (!s)
        return NULL;
    s->slot = sql_arena_alloc(a, sizeof *s->slot * cap);
    s->key = sql_arena_alloc(a, sizeof *s->key * (size_t)(n ? n : 1));
    s->lit = sql_arena_alloc(a, sizeof *s->lit * (size_t)(n ? n : 1));
    s->mask = cap - 1;
    return s->slot && s->key && s->lit ? s : NULL;
}

static uint64_t in_hash(int dom, const in_key *k, const char *p, int64_t len)
{
    if (dom == SQL_DOM_STR)
        return es_hash_mix(es_hash_fnv(p, (size_t)len));
    if (dom == SQL_DOM_DBL) {
        double f = k->f != k->f ? NAN : k->f == 0 ? 0.0 : k->f;
        uint64_t u;
        memcpy(&u, &f, sizeof u);
        return es_hash_mix(u);
    }
    return es_hash_mix((uint64_t)k->i ^ es_hash_mix((uint64_t)(k->i >> 64)));
}

/* Slot of the key in s: the one holding an equal value, or the empty one where it goes. */
static uint32_t in_find(const struct sql_inset *s, const in_key *k, const char *p, int64_t len)
{
    uint32_t h = (uint32_t)in_hash(s->dom, k, p, len) & s->mask;
    for (;; h = (h + 1) & s->mask) {
        int32_t j = s->slot[h];
        if (j < 0)
            return h;
        const in_key *o = &s->key[j];
        if (s->dom == SQL_DOM_STR
                ? s->lit[j]->slen == len && memcmp(s->lit[j]->sval, p, (size_t)len) == 0
            : s->dom == SQL_DOM_DBL ? o->f == k->f || (o->f != o->f && k->f != k->f)
                                    : o->i == k->i)
            return h;
    }
}

void sql_inset_fill(sql_expr *e)
{
    struct sql_inset *s = e->inset;
    if (!s)
        return;
    s->ok = 0;
    s->has_null = 0;
    s->aty = e->a->ty;
    memset(s->slot, 0xff, sizeof *s->slot * ((size_t)s->mask + 1));
    if (e->a->ty.t == SQL_NULL)
        return;
    int first = 1;
    for (int k = 0; k < e->nlist; k++) {
        const sql_expr *c = e->list[k];
        if (c->kind == E_NULL || c->ty.t == SQL_NULL) {
            s->has_null = 1;
            continue;
        }
        if (c->kind != E_INT && c->kind != E_DBL && c->kind != E_STR && c->kind != E_BOOL)
            return;
        int64_t ma, mb;
        int dom = sql_common_domain(&e->a->ty, &c->ty, &ma, &mb);
        if (dom < 0 || (!first && (dom != s->dom || ma != s->ma)))
            return;
        first = 0;
        s->dom = dom;
        s->ma = ma;
        /* The constant as sql_eval makes it, viewed in the domain as as_int/as_dbl do. */
        in_key *key = &s->key[k];
        int dbl = sql_type_phys(c->ty.t) == SQL_PHYS_DBL;
        if (dom == SQL_DOM_DBL) {
            int scale = sql_scale(&c->ty);
            key->f = dbl     ? c->dval
                     : scale ? sql_decimal_to_double(c->ival, scale)
                             : (double)c->ival;
        } else if (dom == SQL_DOM_INT) {
            if (dbl)
                return;
            key->i = (sql_i128)c->ival * mb;
        }
        s->lit[k] = c;
        uint32_t h = in_find(s, key, c->sval, c->slen);
        if (s->slot[h] < 0)
            s->slot[h] = k;
    }
    s->ok = !first; /* only NULLs: value by value */
}

/* out = va IN (the set's values): 1 when one is equal; else NULL when va is or a value is NULL;
 * else 0. 0, or 1 when va's type is not the bound one (the caller compares value by value). */
static int eval_inset(sql_exec *x, const struct sql_inset *s, const sql_vec *va, sql_vec *out)
{
    if (va->ty.t != s->aty.t || sql_scale(&va->ty) != sql_scale(&s->aty))
        return 1;
    int64_t n = va->n;
    sql_vec t;
    memset(&t, 0, sizeof t);
    const int64_t *pi = NULL;
    const double *pf = NULL;
    if ((s->dom == SQL_DOM_INT && as_int(va, &t, &pi) < 0) ||
        (s->dom == SQL_DOM_DBL && as_dbl(va, &t, &pf) < 0))
        return sql_oom(x);
    for (int64_t r = 0; r < n; r++) {
        out->nulls[r] = va->nulls[r];
        if (va->nulls[r])
            continue;
        in_key k;
        const char *p = NULL;
        int64_t len = 0;
        if (s->dom == SQL_DOM_STR)
            p = sql_vec_str(va, r, &len);
        else if (s->dom == SQL_DOM_DBL)
            k.f = pf[r];
        else
            k.i = (sql_i128)pi[r] * s->ma;
        out->i[r] = s->slot[in_find(s, &k, p, len)] >= 0;
        out->nulls[r] = !out->i[r] && s->has_null;
    }
    sql_vec_free(&t);
    return 0;
}

/* ------------------------------------------------------------- kernels */

int sql_eval_bool(sql_exec *x, const sql_expr *e, const sql_batch *b, sql_vec *out)
{
    if (sql_eval(x, e, b, out) < 0)
        return -1;
    if (out->ty.t == SQL_BOOL)
        return 0;
    sql_typeinfo bt = {SQL_BOOL, 0, 0};
    sql_vec t;
    if (sql_vec_alloc(&t, bt, out->n) < 0) {
        sql_vec_free(out);
        return sql_oom(x);
    }
    memcpy(t.nulls, out->nulls, (size_t)out->n);
    for (int64_t r = 0; r < out->n; r++) {
        if (out->ty.t == SQL_NULL)
            t.nulls[r] = 1, t.i[r] = 0;
        else if (sql_vec_phys(out) == SQL_PHYS_DBL)
            t.i[r] = out->f[r] != 0;
        else if (sql_vec_phys(out) == SQL_PHYS_INT)
            t.i[r] = out->i[r] != 0;
        else
            t.i[r] = 0;
    }
    sql_vec_free(out);
    *out = t;
    return 0;
}

/* s LIKE p: '%' any run of characters, '_' one (UTF-8) character; esc (elen bytes, one
 * character; 0: none) makes the character after it literal (an escape ending the pattern is
 * itself). Positions in s stay on character boundaries. */
static int like_match(const char *s, int64_t sn, const char *p, int64_t pn, const char *esc,
                      int elen)
{
    /* A pattern without '_' and with '%' only at its ends is a comparison or a memmem. */
    int lead = pn > 0 && p[0] == '%', trail = pn > lead && p[pn - 1] == '%';
    const char *lit = p + lead;
    size_t ln = (size_t)(pn - lead - trail);
    if (!memchr(lit, '%', ln) && !memchr(lit, '_', ln) &&
        (elen == 0 || !memmem(p, (size_t)pn, esc, (size_t)elen))) {
        if ((size_t)sn < ln)
            return 0;
        if (lead && trail) {
            /* Values are short: a scan for the first byte beats memmem's set-up. */
            for (size_t i = 0; ln > 0 && i + ln <= (size_t)sn; i++)
                if (s[i] == lit[0] && memcmp(s + i + 1, lit + 1, ln - 1) == 0)
                    return 1;
            return ln == 0;
        }
        if (lead)
            return memcmp(s + (size_t)sn - ln, lit, ln) == 0;
        return (trail || (size_t)sn == ln) && memcmp(s, lit, ln) == 0;
    }
    int64_t si = 0, pi = 0, star_p = -1, star_s = 0;
    while (si < sn) {
        /* An escaped character, or an escape ending the pattern (itself, not a wildcard). */
        int is_esc = elen && pi + elen <= pn && memcmp(p + pi, esc, (size_t)elen) == 0;
        int lit1 = is_esc && pi + elen < pn;
        if (pi < pn && !is_esc && p[pi] == '_') {
            while (++si < sn && ((unsigned char)s[si] & 0xC0) == 0x80)
                ;
            pi++;
        } else if (pi < pn &&
                   (is_esc ? p[pi + (lit1 ? elen : 0)] == s[si] : p[pi] == s[si] && p[pi] != '%')) {
            si++;
            pi += lit1 ? elen + 1 : 1;
        } else if (pi < pn && !is_esc && p[pi] == '%') {
            star_p = pi++;
            star_s = si;
        } else if (star_p >= 0) {
            pi = star_p + 1;
            while (++star_s < sn && ((unsigned char)s[star_s] & 0xC0) == 0x80)
                ;
            si = star_s;
        } else {
            return 0;
        }
    }
    while (pi < pn && p[pi] == '%' && !(elen == 1 && esc[0] == '%'))
        pi++;
    return pi == pn;
}

/* A pattern '%lit%' (lit not empty, without '%' or '_'): its literal's length, else 0. */
static size_t contains_pattern(const char *p, int64_t pn)
{
    if (pn < 3 || p[0] != '%' || p[pn - 1] != '%')
        return 0;
    size_t ln = (size_t)pn - 2;
    return memchr(p + 1, '%', ln) || memchr(p + 1, '_', ln) ? 0 : ln;
}

/* The first occurrence of lit[0..ln) in s[0..n), as memmem: 16 positions at a time, a candidate
 * where both the first and the last byte of the literal match (rare in text), then a memcmp. */
static const char *find_lit(const char *s, size_t n, const char *lit, size_t ln)
{
#ifdef __SSE2__
    size_t i = 0;
    if (ln >= 2) {
        __m128i f = _mm_set1_epi8(lit[0]), l = _mm_set1_epi8(lit[ln - 1]);
        for (; i + ln - 1 + 16 <= n; i += 16) {
            __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
            __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(s + i + ln - 1));
            unsigned m = (unsigned)_mm_movemask_epi8(
                _mm_and_si128(_mm_cmpeq_epi8(a, f), _mm_cmpeq_epi8(b, l)));
            for (; m; m &= m - 1) {
                size_t k = i + (size_t)__builtin_ctz(m);
                if (memcmp(s + k + 1, lit + 1, ln - 2) == 0)
                    return s + k;
            }
        }
    }
    return i < n ? memmem(s + i, n - i, lit, ln) : NULL;
#else
    return memmem(s, n, lit, ln);
#endif
}

/* o[r] = 1 for the rows of the string vector v that contain lit (o zeroed by the caller): one
 * memmem over the whole batch's bytes, each hit mapped to its row by a binary search of the
 * offsets, so a rare literal costs a pass of the fastest substring search and no per-row call. */
static void like_contains(const sql_vec *v, const char *lit, size_t ln, int64_t *o)
{
    const int64_t *off = v->off;
    int64_t n = v->n, r = 0, at = n ? off[0] : 0, end = n ? off[n] : 0;
    while (r < n && at < end) {
        const char *q = find_lit(v->data + at, (size_t)(end - at), lit, ln);
        if (!q)
            return;
        int64_t pos = q - v->data, lo = r, hi = n - 1;
        while (lo < hi) { /* the last row starting at or before pos */
            int64_t mid = lo + (hi - lo + 1) / 2;
            if (off[mid] <= pos)
                lo = mid;
            else
                hi = mid - 1;
        }
        r = lo;
        if (pos + (int64_t)ln <= off[r + 1]) {
            o[r] = 1;
            at = off[++r];
        } else {
            at = pos + 1;
        }
    }
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
static int compare_vecs(sql_exec *x, int op, const sql_vec *a, const sql_vec *bv, sql_vec *out)
{
    int64_t n = a->n, ma, mb;
    sql_typeinfo bt = {SQL_BOOL, 0, 0};
    int dom = sql_common_domain(&a->ty, &bv->ty, &ma, &mb);
    if (sql_vec_alloc(out, bt, n) < 0)
        return sql_oom(x);
    for (int64_t r = 0; r < n; r++)
        out->nulls[r] = a->nulls[r] | bv->nulls[r];
    int64_t *o = out->i;
    if (dom == SQL_DOM_STR) {
        for (int64_t r = 0; r < n; r++) {
            int64_t la, lb;
            const char *pa = sql_vec_str(a, r, &la), *pb = sql_vec_str(bv, r, &lb);
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
    /* One loop per operator, generated for each domain: o[r] = A OP B. Doubles order NaN above
     * every number and equal to itself (as PostgreSQL and DuckDB do): x = NaN is true only for
     * NaN, NaN > +Infinity. Integers and decimals of different scales compare exactly in 128
     * bits (a BIGINT times 10^s does not fit in 64). */
#define CMP_LOOP(EXPR)                                                                             \
    for (int64_t r = 0; r < n; r++)                                                                \
        o[r] = (EXPR);                                                                             \
    break;
#define CMP_KERNELS(A, B)                                                                          \
    switch (op) {                                                                                  \
    case OP_EQ:                                                                                    \
        CMP_LOOP((A) == (B))                                                                       \
    case OP_NE:                                                                                    \
        CMP_LOOP((A) != (B))                                                                       \
    case OP_LT:                                                                                    \
        CMP_LOOP((A) < (B))                                                                        \
    case OP_LE:                                                                                    \
        CMP_LOOP((A) <= (B))                                                                       \
    case OP_GT:                                                                                    \
        CMP_LOOP((A) > (B))                                                                        \
    default:                                                                                       \
        CMP_LOOP((A) >= (B))                                                                       \
    }
    if (dom == SQL_DOM_DBL) {
        const double *pa, *pb;
        if (as_dbl(a, &ta, &pa) < 0 || as_dbl(bv, &tb, &pb) < 0) {
            rc = sql_oom(x);
        } else {
            switch (op) {
            case OP_EQ:
                CMP_LOOP((pa[r] == pb[r]) | ((pa[r] != pa[r]) & (pb[r] != pb[r])))
            case OP_NE:
                CMP_LOOP(!((pa[r] == pb[r]) | ((pa[r] != pa[r]) & (pb[r] != pb[r]))))
            case OP_LT:
                CMP_LOOP((pa[r] < pb[r]) | ((pa[r] == pa[r]) & (pb[r] != pb[r])))
            case OP_LE:
                CMP_LOOP((pa[r] <= pb[r]) | (pb[r] != pb[r]))
            case OP_GT:
                CMP_LOOP((pa[r] > pb[r]) | ((pa[r] != pa[r]) & (pb[r] == pb[r])))
            default:
                CMP_LOOP((pa[r] >= pb[r]) | (pa[r] != pa[r]))
            }
        }
    } else {
        const int64_t *pa, *pb;
        if (as_int(a, &ta, &pa) < 0 || as_int(bv, &tb, &pb) < 0)
            rc = sql_oom(x);
        else if (ma == 1 && mb == 1)
            CMP_KERNELS(pa[r], pb[r])
        else
            CMP_KERNELS((sql_i128)pa[r] * ma, (sql_i128)pb[r] * mb)
    }
#undef CMP_KERNELS
#undef CMP_LOOP
    sql_vec_free(&ta);
    sql_vec_free(&tb);
    if (rc < 0)
        sql_vec_free(out);
    return rc;
}

/* ------------------------------------------------------- arithmetic */

/* The largest unscaled value of a DECIMAL result (precision 18). */
#define DEC_MAX 999999999999999999LL

static const char *arith_name(int op)
{
    static const char *n[] = {"addition", "subtraction", "multiplication", "division", "modulo"};
    return op >= OP_ADD && op <= OP_MOD ? n[op] : "arithmetic";
}

static void fmt_operand(char *buf, size_t cap, int64_t v, int scale)
{
    if (scale > 0)
        sql_format_decimal(buf, cap, v, scale);
    else
        snprintf(buf, cap, "%lld", (long long)v);
}

/* The overflow error of row r: "out of range: overflow in addition of BIGINT (x + y)". */
static int overflow_err(sql_exec *x, const sql_expr *e, const char *sym, const char *a,
                        const char *b)
{
    char tn[64];
    sql_typeinfo_name(tn, sizeof tn, &e->ty);
    if (!b)
        return sql_err(x, e->pos, "out of range: overflow in %s of %s (%s%s)", sym, tn, a, "");
    return sql_err(x, e->pos, "out of range: overflow in %s of %s (%s %s %s)", arith_name(e->op),
                   tn, a, sym, b);
}

/* Integer and decimal operands rescaled to the result's scale: a decimal of scale 2 added to
 * one of scale 4 is multiplied by 100 first, which may itself overflow. */
static int rescale(sql_exec *x, const sql_expr *e, const sql_vec *v, int64_t mult, sql_vec *tmp,
                   const int64_t **out)
{
    if (as_int(v, tmp, out) < 0)
        return sql_oom(x);
    if (mult == 1)
        return 0;
    if (!tmp->i && sql_vec_alloc(tmp, (sql_typeinfo){SQL_BIGINT, 0, 0}, v->n) < 0)
        return sql_oom(x);
    for (int64_t r = 0; r < v->n; r++) {
        int64_t y = 0;
        if (!v->nulls[r] &&
            (__builtin_mul_overflow((*out)[r], mult, &y) || y > DEC_MAX || y < -DEC_MAX)) {
            char a[64], tn[64];
            fmt_operand(a, sizeof a, (*out)[r], sql_scale(&v->ty));
            sql_typeinfo_name(tn, sizeof tn, &e->ty);
            return sql_err(x, e->pos, "out of range: overflow in decimal scaling of %s to %s", a,
                           tn);
        }
        tmp->i[r] = y;
    }
    *out = tmp->i;
    return 0;
}

/* out = a op b. Integers and decimals: an exact result or an error (overflow of BIGINT, or of
 * the 18 digits of a DECIMAL result), never a wrapped value; x / 0 and x % 0 are NULL. Doubles:
 * IEEE arithmetic, except that finite operands giving an infinite result are an overflow. */
static int arith(sql_exec *x, const sql_expr *e, const sql_vec *a, const sql_vec *bv, sql_vec *out)
{
    int64_t n = a->n;
    if (sql_vec_alloc(out, e->ty, n) < 0)
        return sql_oom(x);
    uint8_t *nl = out->nulls;
    for (int64_t r = 0; r < n; r++)
        nl[r] = a->nulls[r] | bv->nulls[r];
    sql_vec ta, tb;
    memset(&ta, 0, sizeof ta);
    memset(&tb, 0, sizeof tb);
    int rc = 0;
    int64_t bad = -1; /* first row that overflowed */
    static const char *sym[] = {"+", "-", "*", "/", "%"};
    if (e->ty.t == SQL_DOUBLE) {
        const double *pa, *pb;
        if (as_dbl(a, &ta, &pa) < 0 || as_dbl(bv, &tb, &pb) < 0) {
            rc = sql_oom(x);
            goto done;
        }
        double *o = out->f;
        for (int64_t r = 0; r < n; r++) {
            double y = pa[r], z = pb[r];
            switch (e->op) {
            case OP_ADD:
                o[r] = y + z;
                break;
            case OP_SUB:
                o[r] = y - z;
                break;
            case OP_MUL:
                o[r] = y * z;
                break;
            case OP_DIV:
                o[r] = z == 0 ? 0 : y / z;
                nl[r] |= z == 0;
                break;
            default:
                o[r] = z == 0 ? 0 : fmod(y, z);
                nl[r] |= z == 0;
            }
            if (bad < 0 && !nl[r] && isinf(o[r]) && isfinite(y) && isfinite(z))
                bad = r;
        }
        if (bad >= 0) {
            char sa[64], sb[64];
            sql_format_double(sa, sizeof sa, pa[bad]);
            sql_format_double(sb, sizeof sb, pb[bad]);
            rc = overflow_err(x, e, sym[e->op], sa, sb);
        }
        goto done;
    }
    /* Integers and decimals: for + - % the operands are rescaled to the result's scale; for * the
     * scales add; / of decimals is DOUBLE (bind.c), so / here is integer division. */
    int s = sql_scale(&e->ty), sa = sql_scale(&a->ty), sb = sql_scale(&bv->ty);
    int64_t ma = 1, mb = 1;
    if (e->op != OP_MUL) {
        ma = sql_pow10[s - sa >= 0 ? s - sa : 0];
        mb = sql_pow10[s - sb >= 0 ? s - sb : 0];
    }
    const int64_t *pa, *pb;
    if (rescale(x, e, a, ma, &ta, &pa) < 0 || rescale(x, e, bv, mb, &tb, &pb) < 0) {
        rc = -1;
        goto done;
    }
    int64_t *o = out->i;
    int64_t hi = e->ty.t == SQL_DECIMAL ? DEC_MAX : INT64_MAX,
            lo = e->ty.t == SQL_DECIMAL ? -DEC_MAX : INT64_MIN;
    int ovf = 0;
    /* One loop per operator; the overflow flags of non-NULL rows are or-ed together and the
     * first offending row is found again only for the message. */
#define OVF_LOOP(BUILTIN)                                                                          \
    for (int64_t r = 0; r < n; r++) {                                                              \
        int f = BUILTIN(pa[r], pb[r], &o[r]);                                                      \
        ovf |= (f | (o[r] > hi) | (o[r] < lo)) & !nl[r];                                           \
    }                                                                                              \
    break
    switch (e->op) {
    case OP_ADD:
        OVF_LOOP(__builtin_add_overflow);
    case OP_SUB:
        OVF_LOOP(__builtin_sub_overflow);
    case OP_MUL:
        OVF_LOOP(__builtin_mul_overflow);
    case OP_DIV:
        for (int64_t r = 0; r < n; r++) {
            if (pb[r] == 0) {
                nl[r] = 1, o[r] = 0;
            } else if (pb[r] == -1) {
                o[r] = pa[r] == INT64_MIN ? 0 : -pa[r];
                ovf |= (pa[r] == INT64_MIN) & !nl[r];
            } else {
                o[r] = pa[r] / pb[r];
            }
        }
        break;
    default:
        for (int64_t r = 0; r < n; r++) {
            if (pb[r] == 0)
                nl[r] = 1, o[r] = 0;
            else
                o[r] = pb[r] == -1 ? 0 : pa[r] % pb[r];
        }
    }
#undef OVF_LOOP
    if (ovf) {
        for (int64_t r = 0; r < n && bad < 0; r++) {
            if (nl[r])
                continue;
            int64_t y;
            int f = e->op == OP_ADD   ? __builtin_add_overflow(pa[r], pb[r], &y)
                    : e->op == OP_SUB ? __builtin_sub_overflow(pa[r], pb[r], &y)
                    : e->op == OP_MUL ? __builtin_mul_overflow(pa[r], pb[r], &y)
                                      : (y = 0, pa[r] == INT64_MIN && pb[r] == -1);
            if (f || y > hi || y < lo)
                bad = r;
        }
        char xa[64], xb[64];
        fmt_operand(xa, sizeof xa, pa[bad], e->op == OP_MUL ? sa : s);
        fmt_operand(xb, sizeof xb, pb[bad], e->op == OP_MUL ? sb : s);
        rc = overflow_err(x, e, sym[e->op], xa, xb);
    }
done:
    sql_vec_free(&ta);
    sql_vec_free(&tb);
    if (rc < 0)
        sql_vec_free(out);
    return rc;
}

/* The error of a failed conversion of row r of a to t. */
static int cast_err(sql_exec *x, int pos, int rc, const sql_vec *a, int64_t r, sql_typeinfo t)
{
    char tn[64], an[64], vb[128];
    sql_typeinfo_name(tn, sizeof tn, &t);
    sql_typeinfo_name(an, sizeof an, &a->ty);
    int64_t len;
    const char *s = sql_vec_format(a, r, vb, sizeof vb, &len);
    int shown = (int)(len > 60 ? 60 : len);
    const char *q = sql_vec_phys(a) == SQL_PHYS_STR ? "'" : "";
    switch (rc) {
    case SQL_CONV_TYPE:
        return sql_err(x, pos, "type error: cannot cast %s to %s", an, tn);
    case SQL_CONV_NOMEM:
        return sql_oom(x);
    case SQL_CONV_RANGE:
        return sql_err(x, pos, "cannot cast %s%.*s%s%s to %s: out of range", q, shown, s,
                       len > 60 ? "..." : "", q, tn);
    case SQL_CONV_UTF8: {
        char m[160];
        sql_conv_message(m, sizeof m, rc, &t, s, len);
        return sql_err(x, pos, "cannot cast to %s: %s", tn, m);
    }
    default:
        return sql_err(x, pos, "cannot cast %s%.*s%s%s to %s", q, shown, s, len > 60 ? "..." : "",
                       q, tn);
    }
}

int sql_cast_vec(sql_exec *x, int pos, const sql_vec *a, sql_typeinfo t, sql_vec *out)
{
    int64_t n = a->n;
    int pa = sql_vec_phys(a), pt = sql_type_phys(t.t);
    char buf[128];
    if (t.t == SQL_VARCHAR || t.t == SQL_BLOB) {
        sql_vec_init(out, t);
        if (sql_vec_reserve(out, n) < 0)
            goto nomem;
        for (int64_t r = 0; r < n; r++) {
            int64_t len;
            if (a->ty.t == SQL_NULL || a->nulls[r]) {
                if (sql_vec_push_null(out) < 0)
                    goto nomem;
                continue;
            }
            const char *p = sql_vec_format(a, r, buf, sizeof buf, &len);
            if (t.t == SQL_VARCHAR && a->ty.t == SQL_VARCHAR && sql_utf8_check(p, len) >= 0) {
                int rc = cast_err(x, pos, SQL_CONV_UTF8, a, r, t);
                sql_vec_free(out);
                return rc;
            }
            if (sql_vec_push_str(out, p, len) < 0)
                goto nomem;
        }
        return 0;
    }
    if (sql_vec_alloc(out, t, n) < 0)
        return sql_oom(x);
    if (a->ty.t == SQL_NULL) {
        memset(out->nulls, 1, (size_t)n);
        if (pt == SQL_PHYS_INT)
            memset(out->i, 0, sizeof(int64_t) * (size_t)n);
        else
            memset(out->f, 0, sizeof(double) * (size_t)n);
        return 0;
    }
    memcpy(out->nulls, a->nulls, (size_t)n);
    for (int64_t r = 0; r < n; r++) {
        sql_value in, v;
        int rc = 0;
        memset(&v, 0, sizeof v);
        if (!a->nulls[r]) {
            if (pa == SQL_PHYS_STR) {
                int64_t len;
                const char *s = sql_vec_str(a, r, &len);
                rc = sql_conv_text(&t, s, len, &v);
            } else {
                in.i = pa == SQL_PHYS_INT ? a->i[r] : 0;
                in.f = pa == SQL_PHYS_DBL ? a->f[r] : 0;
                rc = sql_conv_value(&t, &a->ty, &in, &v);
            }
        }
        if (rc) {
            rc = cast_err(x, pos, rc, a, r, t);
            sql_vec_free(out);
            return rc;
        }
        if (pt == SQL_PHYS_INT)
            out->i[r] = v.i;
        else
            out->f[r] = v.f;
    }
    return 0;
nomem:
    sql_vec_free(out);
    return sql_oom(x);
}

/* Three-valued AND (is_and = 1) or OR of (an ? NULL : av) and (bn ? NULL : bv). */
static void logic3(int is_and, int an, int av, int bn, int bv, uint8_t *null, int64_t *v)
{
    if (is_and ? (!an && !av) || (!bn && !bv) : (!an && av) || (!bn && bv))
        *v = !is_and, *null = 0;
    else if (an || bn)
        *v = 0, *null = 1;
    else
        *v = is_and, *null = 0;
}

/* AND or OR of e->list, three-valued, operand by operand; stops when every row is decided
 * (FALSE for AND, TRUE for OR), as a long generated OR chain is mostly decided early. */
static int eval_logic(sql_exec *x, const sql_expr *e, const sql_batch *b, sql_vec *out)
{
    int64_t n = b->n, open = n;
    int is_and = e->op == OP_AND;
    if (sql_vec_alloc(out, e->ty, n) < 0)
        return sql_oom(x);
    for (int64_t r = 0; r < n; r++)
        out->i[r] = is_and;
    for (int k = 0; k < e->nlist && open > 0; k++) {
        sql_vec v;
        if (sql_eval_bool(x, e->list[k], b, &v) < 0) {
            sql_vec_free(out);
            return -1;
        }
        open = 0;
        for (int64_t r = 0; r < n; r++) {
            logic3(is_and, out->nulls[r], (int)out->i[r], v.nulls[r], (int)v.i[r], &out->nulls[r],
                   &out->i[r]);
            open += out->nulls[r] || out->i[r] == is_and;
        }
        sql_vec_free(&v);
    }
    return 0;
}

int sql_eval(sql_exec *x, const sql_expr *e, const sql_batch *b, sql_vec *out)
{
    int64_t n = b->n;
    sql_vec va, vb, vc;
    memset(&va, 0, sizeof va);
    memset(&vb, 0, sizeof vb);
    memset(&vc, 0, sizeof vc);
    int rc = 0;
    /* A column of dictionary codes: once per dictionary entry, or as strings (vec_arrow.c). */
    for (int c = 0; b->cols && c < b->ncols; c++)
        if (b->cols[c].dict) {
            if ((rc = sql_dict_eval(x, e, b, out)) != 0)
                return rc < 0 ? -1 : 0;
            break;
        }
    switch (e->kind) {
    case E_COL:
    case E_GROUPREF:
    case E_AGGREF: {
        *out = b->cols[e->index];
        out->borrowed = 1;
        return 0;
    }
    case E_INT:
    case E_INTERVAL: /* its microseconds; only read by sql_date_arith_eval, which ignores them */
    case E_BOOL:
    case E_DBL:
    case E_NULL:
        if (sql_vec_alloc(out, e->ty, n) < 0)
            return sql_oom(x);
        if (e->kind == E_NULL) {
            memset(out->nulls, 1, (size_t)(n ? n : 1));
            if (out->i)
                memset(out->i, 0, sizeof(int64_t) * (size_t)(n ? n : 1));
        } else if (sql_vec_phys(out) == SQL_PHYS_DBL) {
            for (int64_t r = 0; r < n; r++)
                out->f[r] = e->dval;
        } else {
            for (int64_t r = 0; r < n; r++)
                out->i[r] = e->ival;
        }
        return 0;
    case E_STR:
        sql_vec_init(out, e->ty);
        if (sql_vec_reserve(out, n ? n : 1) < 0 || sql_vec_reserve_data(out, e->slen * n) < 0) {
            sql_vec_free(out);
            return sql_oom(x);
        }
        for (int64_t r = 0; r < n; r++)
            sql_vec_push_str(out, e->sval, e->slen);
        return 0;
    case E_BIN:
        if (e->op == OP_AND || e->op == OP_OR)
            return eval_logic(x, e, b, out);
        if (sql_eval(x, e->a, b, &va) < 0)
            return -1;
        if (sql_eval(x, e->b, b, &vb) < 0) {
            sql_vec_free(&va);
            return -1;
        }
        if (e->op >= OP_EQ && e->op <= OP_GE) {
            rc = compare_vecs(x, e->op, &va, &vb, out);
        } else if (sql_is_temporal(e->ty.t) || sql_is_temporal(e->a->ty.t)) {
            rc = sql_date_arith_eval(x, e, &va, &vb, out); /* DATE +- days, +- INTERVAL */
        } else if (e->op == OP_CONCAT) {
            sql_typeinfo vt = {SQL_VARCHAR, 0, 0};
            sql_vec sa, sb;
            if (sql_cast_vec(x, e->pos, &va, vt, &sa) < 0) {
                rc = -1;
                break;
            }
            if (sql_cast_vec(x, e->pos, &vb, vt, &sb) < 0) {
                sql_vec_free(&sa);
                rc = -1;
                break;
            }
            sql_vec_init(out, vt);
            for (int64_t r = 0; r < n && rc == 0; r++) {
                if (sa.nulls[r] || sb.nulls[r]) {
                    if (sql_vec_push_null(out) < 0)
                        rc = sql_oom(x);
                    continue;
                }
                int64_t la, lb;
                const char *pa = sql_vec_str(&sa, r, &la), *pb = sql_vec_str(&sb, r, &lb);
                if (sql_vec_push_str(out, pa, la) < 0 || sql_vec_reserve_data(out, lb) < 0) {
                    rc = sql_oom(x);
                    continue;
                }
                if (lb)
                    memcpy(out->data + out->dlen, pb, (size_t)lb);
                out->dlen += lb;
                out->off[out->n] = out->dlen;
            }
            if (rc == 0 && sql_vec_reserve(out, 1) < 0)
                rc = sql_oom(x);
            sql_vec_free(&sa);
            sql_vec_free(&sb);
            if (rc < 0)
                sql_vec_free(out);
        } else {
            rc = arith(x, e, &va, &vb, out);
        }
        break;
    case E_NOT:
        if (sql_eval_bool(x, e->a, b, out) < 0)
            return -1;
        if (out->borrowed) {
            sql_vec own;
            sql_vec_init(&own, out->ty);
            if (sql_vec_append(&own, out, NULL, 0) < 0 || sql_vec_reserve(&own, 1) < 0) {
                sql_vec_free(&own);
                return sql_oom(x);
            }
            *out = own;
        }
        for (int64_t r = 0; r < n; r++)
            out->i[r] = !out->i[r];
        return 0;
    case E_NEG: {
        if (sql_eval(x, e->a, b, &va) < 0)
            return -1;
        if (sql_vec_alloc(out, e->ty, n) < 0) {
            rc = sql_oom(x);
            break;
        }
        memcpy(out->nulls, va.nulls, (size_t)n);
        if (va.ty.t == SQL_NULL) {
            memset(out->nulls, 1, (size_t)n);
        } else if (sql_vec_phys(out) == SQL_PHYS_DBL) {
            const double *pa;
            if (as_dbl(&va, &vb, &pa) < 0) {
                rc = sql_oom(x);
                break;
            }
            for (int64_t r = 0; r < n; r++)
                out->f[r] = -pa[r];
        } else {
            for (int64_t r = 0; r < n; r++) {
                if (va.i[r] == INT64_MIN && !va.nulls[r]) {
                    rc = overflow_err(x, e, "negation", "-9223372036854775808", NULL);
                    sql_vec_free(out);
                    break;
                }
                out->i[r] = -va.i[r];
            }
        }
        break;
    }
    case E_ISNULL:
        if (sql_eval(x, e->a, b, &va) < 0)
            return -1;
        if (sql_vec_alloc(out, e->ty, n) < 0) {
            rc = sql_oom(x);
            break;
        }
        for (int64_t r = 0; r < n; r++)
            out->i[r] = (va.ty.t == SQL_NULL || va.nulls[r]) ^ e->neg;
        break;
    case E_BETWEEN:
        if (sql_eval(x, e->a, b, &va) < 0)
            return -1;
        if (sql_eval(x, e->b, b, &vb) < 0 || sql_eval(x, e->c, b, &vc) < 0) {
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
                logic3(1, lo.nulls[r], (int)lo.i[r], hi.nulls[r], (int)hi.i[r], &out->nulls[r],
                       &out->i[r]);
                if (e->neg)
                    out->i[r] = !out->i[r];
            }
            sql_vec_free(&hi);
        }
        break;
    case E_IN: {
        if (sql_eval(x, e->a, b, &va) < 0)
            return -1;
        if (sql_vec_alloc(out, e->ty, n) < 0) {
            rc = sql_oom(x);
            break;
        }
        if (e->inset && e->inset->ok && (rc = eval_inset(x, e->inset, &va, out)) <= 0) {
            for (int64_t r = 0; rc == 0 && e->neg && r < n; r++)
                out->i[r] = !out->i[r];
            if (rc < 0)
                sql_vec_free(out);
            break;
        }
        rc = 0;
        /* found: 1 when any equal; null when none equal and some null */
        memset(out->i, 0, sizeof(int64_t) * (size_t)(n ? n : 1));
        for (int64_t r = 0; r < n; r++)
            out->nulls[r] = va.nulls[r];
        for (int k = 0; k < e->nlist && rc == 0; k++) {
            sql_vec c;
            if (sql_eval(x, e->list[k], b, &vb) < 0) {
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
    case E_LIKE: {
        /* A literal pattern (the usual case) is read as it is, not repeated into a vector. */
        int lit = e->b->kind == E_STR && e->b->sval;
        if (sql_eval(x, e->a, b, &va) < 0)
            return -1;
        if (!lit && sql_eval(x, e->b, b, &vb) < 0) {
            rc = -1;
            break;
        }
        if (sql_vec_alloc(out, e->ty, n) < 0) {
            rc = sql_oom(x);
            break;
        }
        const char *esc = e->c ? e->c->sval : NULL;
        int elen = e->c ? (int)e->c->slen : 0;
        size_t ln = lit && !e->op && elen == 0 && va.ty.t != SQL_NULL && va.off
                        ? contains_pattern(e->b->sval, e->b->slen)
                        : 0;
        if (ln) {
            memcpy(out->nulls, va.nulls, (size_t)n);
            memset(out->i, 0, sizeof(int64_t) * (size_t)n);
            like_contains(&va, e->b->sval + 1, ln, out->i);
            for (int64_t r = 0; e->neg && r < n; r++)
                out->i[r] ^= 1;
            break;
        }
        for (int64_t r = 0; r < n; r++) {
            out->nulls[r] = va.ty.t == SQL_NULL || va.nulls[r] ||
                            (!lit && (vb.ty.t == SQL_NULL || vb.nulls[r]));
            out->i[r] = 0;
            if (!out->nulls[r]) {
                int64_t la, lb = lit ? e->b->slen : 0;
                const char *pa = sql_vec_str(&va, r, &la),
                           *pb = lit ? e->b->sval : sql_vec_str(&vb, r, &lb);
                out->i[r] = (e->op ? sql_ilike_match(pa, la, pb, lb, esc, elen)
                                   : like_match(pa, la, pb, lb, esc, elen)) ^
                            e->neg;
            }
        }
        break;
    }
    case E_CAST:
        if (e->a->kind == E_DBL && e->a->sval && sql_is_num(e->cast.t) && e->cast.t != SQL_BOOL) {
            /* A numeric literal converts from its exact text, as a string would. */
            sql_typeinfo vt = {SQL_VARCHAR, 0, 0};
            sql_vec_init(&va, vt);
            if (sql_vec_push_str(&va, e->a->sval, e->a->slen) < 0)
                return sql_oom(x);
            if (sql_cast_vec(x, e->pos, &va, e->cast, &vb) < 0) {
                rc = -1;
                break;
            }
            if (sql_vec_alloc(out, e->cast, n) < 0) {
                rc = sql_oom(x);
                break;
            }
            for (int64_t r = 0; r < n; r++) {
                if (sql_vec_phys(out) == SQL_PHYS_DBL)
                    out->f[r] = vb.f[0];
                else
                    out->i[r] = vb.i[0];
            }
            break;
        }
        if (sql_eval(x, e->a, b, &va) < 0)
            return -1;
        rc = sql_cast_vec(x, e->pos, &va, e->cast, out);
        break;
    case E_CASE:
        return sql_eval_case(x, e, b, out);
    case E_FUNC: {
        if (e->index > 0)
            return sql_func_eval(x, e, b, out); /* func.c */
        if (strcmp(e->name, "coalesce") == 0 || strcmp(e->name, "ifnull") == 0) {
            /* cast every argument to the result type, then take the first non-NULL per row */
            sql_vec *args = es_calloc((size_t)e->nlist, sizeof(sql_vec));
            int64_t *pick = es_malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
            if (!args || !pick) {
                es_free(args);
                es_free(pick);
                return sql_oom(x);
            }
            int k = 0;
            for (; k < e->nlist && rc == 0; k++) {
                if (sql_eval(x, e->list[k], b, &va) < 0 ||
                    sql_cast_vec(x, e->pos, &va, e->ty, &args[k]) < 0)
                    rc = -1;
                sql_vec_free(&va);
            }
            sql_vec_init(out, e->ty);
            for (int64_t r = 0; rc == 0 && r < n; r++) {
                int a = 0;
                while (a < e->nlist - 1 && args[a].nulls[r])
                    a++;
                pick[0] = r;
                if (sql_vec_append(out, &args[a], pick, 1) < 0)
                    rc = sql_oom(x);
            }
            if (rc == 0 && sql_vec_reserve(out, 1) < 0)
                rc = sql_oom(x);
            for (int i = 0; i < k; i++)
                sql_vec_free(&args[i]);
            es_free(args);
            es_free(pick);
            if (rc < 0)
                sql_vec_free(out);
            return rc;
        }
        if (sql_eval(x, e->list[0], b, &va) < 0)
            return -1;
        if (strcmp(e->name, "abs") == 0) {
            rc = sql_cast_vec(x, e->pos, &va, e->ty, out);
            for (int64_t r = 0; rc == 0 && r < n; r++) {
                if (sql_vec_phys(out) == SQL_PHYS_DBL) {
                    out->f[r] = fabs(out->f[r]);
                } else if (out->i[r] == INT64_MIN && !out->nulls[r]) {
                    rc = overflow_err(x, e, "abs()", "-9223372036854775808", NULL);
                    sql_vec_free(out);
                } else if (out->i[r] < 0) {
                    out->i[r] = -out->i[r];
                }
            }
        } else if (strcmp(e->name, "length") == 0) {
            sql_typeinfo vt = {SQL_VARCHAR, 0, 0};
            if (sql_cast_vec(x, e->pos, &va, vt, &vb) < 0) {
                rc = -1;
                break;
            }
            if (sql_vec_alloc(out, e->ty, n) < 0) {
                rc = sql_oom(x);
                break;
            }
            for (int64_t r = 0; r < n; r++) {
                int64_t len, chars = 0;
                const char *p = sql_vec_str(&vb, r, &len);
                for (int64_t k = 0; k < len; k++)
                    chars += ((unsigned char)p[k] & 0xC0) != 0x80;
                out->nulls[r] = vb.nulls[r];
                out->i[r] = chars;
            }
        } else {
            int up = strcmp(e->name, "upper") == 0;
            sql_typeinfo vt = {SQL_VARCHAR, 0, 0};
            rc = sql_cast_vec(x, e->pos, &va, vt, out);
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

/* ------------------------------------------------------------- filters */

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
static int batch_filter(sql_batch *b, const int64_t *sel, int64_t k)
{
    for (int c = 0; c < b->ncols; c++) {
        sql_vec *v = &b->cols[c];
        if (!v->nulls)
            continue;
        sql_vec nv;
        sql_vec_init(&nv, v->ty);
        if (sql_vec_append(&nv, v, sel, k) < 0 || sql_vec_reserve(&nv, 1) < 0) {
            sql_vec_free(&nv);
            return -1;
        }
        sql_vec_free(v);
        *v = nv;
    }
    b->n = k;
    return 0;
}

void sql_batch_free(sql_batch *b)
{
    for (int c = 0; b->cols && c < b->ncols; c++)
        sql_vec_free(&b->cols[c]);
    es_free(b->cols);
    if (b->src.release) /* after the vectors that point into it */
        b->src.release(&b->src);
    memset(b, 0, sizeof *b);
}

int sql_filter_batch(sql_exec *x, const sql_expr *pred, sql_batch *b)
{
    if (!pred || b->n == 0)
        return 0;
    sql_vec m;
    if (sql_eval_bool(x, pred, b, &m) < 0)
        return -1;
    int64_t *sel = es_malloc(sizeof(int64_t) * (size_t)(b->n ? b->n : 1));
    if (!sel) {
        sql_vec_free(&m);
        return sql_oom(x);
    }
    int64_t k = select_true(&m, sel);
    int rc = 0;
    if (k != b->n && batch_filter(b, sel, k) < 0)
        rc = sql_oom(x);
    es_free(sel);
    sql_vec_free(&m);
    return rc;
}

int sql_compare(sql_exec *x, int op, const sql_vec *a, const sql_vec *b, sql_vec *out)
{
    return compare_vecs(x, op, a, b, out);
}
