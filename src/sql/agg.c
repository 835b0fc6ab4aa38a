/*
 * agg: hash aggregation (see sql/sql.h for the files, sql/exec.h for the interfaces). Group
 * keys are hashed a vector at a time into an open-addressing table of group ids (linear
 * probing, grown at half load), except one integer key whose values span at most 2^20: its
 * group ids are found by direct index (assign_direct) until they spread wider; each aggregate keeps
 * per-group state arrays (count, integer and double sums, min/max) updated a vector at a time.
 * Finishing yields one batch: the group keys, then the aggregates' results. GROUP BY, DISTINCT and
 * aggregates without GROUP BY (one group) all run here. Above it: select.c.
 *
 * Numbers: sums of integers and decimals accumulate in 128 bits, so they cannot overflow on any
 * realistic input; the result keeps the argument's family (BIGINT, DECIMAL(18,s)) and only a
 * final sum outside it is an error. avg() divides that exact sum. Doubles follow the NaN rule
 * of eval.c: all NaNs are one group (and -0.0 is 0.0), max() is NaN when any value is NaN,
 * min() only when all are. count, sum and avg(DISTINCT x) keep a second hash table per aggregate
 * of the (group, value) pairs met so far and feed only a pair's first row.
 */
#include <math.h>
#include <string.h>

#include "sql/exec.h"
#include "util/util.h"

/* The hash of a NULL key value. */
#define NULL_HASH 0x9e3779b97f4a7c15ULL

/* A string's hash, eight bytes at a time (mixed again by es_hash_mix in hash_vec). The last bytes
 * are read with whole loads (overlapping the ones before), never byte by byte. */
static uint64_t hash_bytes(const unsigned char *p, int64_t len)
{
    uint64_t x = 1469598103934665603ULL ^ (uint64_t)len, w;
    int64_t n = len;
    for (; n >= 8; p += 8, n -= 8) {
        memcpy(&w, p, 8);
        x = (x ^ w) * 0x9E3779B97F4A7C15ULL;
        x ^= x >> 29;
    }
    if (n == 0)
        return x;
    if (len >= 8) {
        memcpy(&w, p + n - 8, 8);
    } else if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, p, 4);
        memcpy(&b, p + n - 4, 4);
        w = a | (uint64_t)b << 32;
    } else {
        w = p[0] | (uint64_t)p[n / 2] << 8 | (uint64_t)p[n - 1] << 16;
    }
    x = (x ^ w) * 0x9E3779B97F4A7C15ULL;
    return x ^ (x >> 29);
}

static void hash_vec(const sql_vec *v, uint64_t *h, int64_t n)
{
    int ph = sql_vec_phys(v);
    for (int64_t r = 0; r < n; r++) {
        uint64_t x;
        if (v->nulls[r]) {
            x = NULL_HASH;
        } else if (ph == SQL_PHYS_INT) {
            x = (uint64_t)v->i[r];
        } else if (ph == SQL_PHYS_DBL) {
            double d = v->f[r] == 0 ? 0 : isnan(v->f[r]) ? NAN : v->f[r]; /* one -0/0, one NaN */
            memcpy(&x, &d, 8);
        } else {
            int64_t len;
            const unsigned char *p = (const unsigned char *)sql_vec_str(v, r, &len);
            x = hash_bytes(p, len);
        }
        h[r] = es_hash_mix(h[r] * 31 + x);
    }
}

/* Equal strings of equal length len; short ones compared a word at a time. */
static int same_bytes(const char *a, const char *b, int64_t len)
{
    if (len >= 8 && len <= 16) {
        uint64_t x, y, u, v;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        memcpy(&u, a + len - 8, 8);
        memcpy(&v, b + len - 8, 8);
        return x == y && u == v;
    }
    return memcmp(a, b, (size_t)len) == 0;
}

static int key_equal(const sql_groups *g, int64_t gid, const sql_vec *keys, int64_t r)
{
    for (int k = 0; k < g->nkeys; k++) {
        const sql_vec *a = &g->keys[k], *b = &keys[k];
        if (a->nulls[gid] != b->nulls[r])
            return 0;
        if (a->nulls[gid])
            continue;
        int ph = sql_vec_phys(a);
        if (ph == SQL_PHYS_INT) {
            if (a->i[gid] != b->i[r])
                return 0;
        } else if (ph == SQL_PHYS_DBL) {
            if (a->f[gid] != b->f[r] && !(isnan(a->f[gid]) && isnan(b->f[r])))
                return 0;
        } else {
            int64_t la, lb;
            const char *pa = sql_vec_str(a, gid, &la), *pb = sql_vec_str(b, r, &lb);
            if (la != lb || !same_bytes(pa, pb, la))
                return 0;
        }
    }
    return 1;
}

/* key_equal for one string key (GROUP BY a text column), without the loop over keys. */
static inline int str_equal1(const sql_groups *g, int64_t gid, const sql_vec *keys, int64_t r)
{
    const sql_vec *a = &g->keys[0], *b = &keys[0];
    if (a->nulls[gid] | b->nulls[r])
        return a->nulls[gid] == b->nulls[r];
    int64_t la = a->off[gid + 1] - a->off[gid], lb = b->off[r + 1] - b->off[r];
    return la == lb && (la == 0 || same_bytes(a->data + a->off[gid], b->data + b->off[r], la));
}

static int grow_states(sql_groups *g, const sql_plan *p, int64_t need)
{
    if (need <= g->cap)
        return 0;
    int64_t cap = g->cap ? g->cap * 2 : 64;
    while (cap < need)
        cap *= 2;
    for (int a = 0; a < g->nst; a++) {
        sql_agg_state *s = &g->st[a];
        int64_t *c = es_realloc(s->cnt, sizeof(int64_t) * (size_t)cap);
        if (!c)
            return -1;
        s->cnt = c;
        sql_i128 *is = es_realloc(s->isum, sizeof(sql_i128) * (size_t)cap);
        if (!is)
            return -1;
        s->isum = is;
        double *ds = es_realloc(s->dsum, sizeof(double) * (size_t)cap);
        if (!ds)
            return -1;
        s->dsum = ds;
        if (p->aggs[a].kind == SQL_AGG_MIN || p->aggs[a].kind == SQL_AGG_MAX) {
            if (sql_type_phys(p->aggs[a].ty.t) == SQL_PHYS_STR) {
                char **sb = es_realloc(s->sbest, sizeof(char *) * (size_t)cap);
                if (!sb)
                    return -1;
                s->sbest = sb;
                int64_t *sl = es_realloc(s->slen, sizeof(int64_t) * (size_t)cap);
                if (!sl)
                    return -1;
                s->slen = sl;
            } else if (sql_vec_reserve(&s->best, cap) < 0) {
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

/* A slot holds -1 (empty) or a group id in its low 32 bits and the top 31 bits of the group's
 * hash above them, so a probe compares hashes without reading the group's arrays. */
static int64_t slot_of(uint64_t h, int64_t gid)
{
    return (int64_t)((h >> 33) << 32) | gid;
}

static int rehash(sql_groups *g, int64_t nslots)
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
        slots[s] = slot_of(g->hashes[gid], gid);
    }
    es_free(g->slots);
    g->slots = slots;
    g->nslots = nslots;
    return 0;
}

/* Group ngroups, new, for row r of keys (hash h). Its id, or -1 (out of memory). */
static int64_t new_group(sql_groups *g, const sql_plan *p, const sql_vec *keys, int64_t r,
                         uint64_t h)
{
    int64_t gid = g->ngroups;
    if (gid > 0xffffffff || grow_states(g, p, gid + 1) < 0)
        return -1;
    if (g->hashes_cap < g->cap) { /* grown with the states, not per group */
        uint64_t *hh = es_realloc(g->hashes, sizeof(uint64_t) * (size_t)g->cap);
        if (!hh)
            return -1;
        g->hashes = hh;
        g->hashes_cap = g->cap;
    }
    g->hashes[gid] = h;
    for (int k = 0; k < g->nkeys; k++)
        if (sql_vec_append(&g->keys[k], &keys[k], &r, 1) < 0)
            return -1;
    g->ngroups++;
    return gid;
}

/* Values one direct map may span (4 MB of group ids). */
#define DMAP_MAX ((int64_t)1 << 20)

/* One integer key (user_id, a year, a small code): group ids by direct index into dmap while
 * every value seen spans at most DMAP_MAX, no hashing or probing. 1 when done; 0 when the
 * values spread wider: the map is given up, the groups so far are hashed into slots and the
 * caller goes on with the hash table; -1 out of memory. Hashes are kept as hash_vec makes
 * them, so the switch and sql_groups_merge find the same groups. */
static int assign_direct(sql_groups *g, const sql_plan *p, const sql_vec *keys, int64_t n,
                         int64_t *gids)
{
    const sql_vec *v = &keys[0];
    const int64_t *x = v->i;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (int64_t r = 0; r < n; r++) {
        if (v->nulls[r])
            continue;
        lo = x[r] < lo ? x[r] : lo;
        hi = x[r] > hi ? x[r] : hi;
    }
    if (g->dmap) {
        lo = g->dlo < lo ? g->dlo : lo;
        hi = g->dlo + g->dn - 1 > hi ? g->dlo + g->dn - 1 : hi;
    }
    if (lo <= hi && (uint64_t)hi - (uint64_t)lo >= (uint64_t)DMAP_MAX) {
        es_free(g->dmap);
        g->dmap = NULL;
        g->dmode = 2;
        int64_t ns = 1024;
        while (ns < (g->ngroups + 1) * 2)
            ns *= 2;
        return rehash(g, ns) < 0 ? -1 : 0;
    }
    if (lo <= hi && (!g->dmap || lo < g->dlo || hi >= g->dlo + g->dn)) {
        if (g->dmap) {
            /* Room for as much again in the direction of growth (keys that grow batch by
             * batch, such as a sorted id, do not copy the map at every batch). */
            int64_t slack = g->dn < DMAP_MAX - (hi - lo + 1) ? g->dn : DMAP_MAX - (hi - lo + 1);
            if (hi >= g->dlo + g->dn && hi <= INT64_MAX - slack)
                hi += slack;
            else if (lo < g->dlo && lo >= INT64_MIN + slack)
                lo -= slack;
        }
        int32_t *m = es_calloc((size_t)(hi - lo + 1), sizeof(int32_t));
        if (!m)
            return -1;
        if (g->dmap)
            memcpy(m + (g->dlo - lo), g->dmap, sizeof(int32_t) * (size_t)g->dn);
        es_free(g->dmap);
        g->dmap = m;
        g->dlo = lo;
        g->dn = hi - lo + 1;
    }
    for (int64_t r = 0; r < n; r++) {
        int32_t *slot = v->nulls[r] ? NULL : &g->dmap[x[r] - g->dlo];
        int64_t gid = slot ? *slot - 1 : g->dnull - 1;
        if (gid < 0) {
            gid = new_group(g, p, keys, r, es_hash_mix(slot ? (uint64_t)x[r] : NULL_HASH));
            if (gid < 0)
                return -1;
            if (slot)
                *slot = (int32_t)(gid + 1);
            else
                g->dnull = gid + 1;
        }
        gids[r] = gid;
    }
    return 1;
}

int sql_groups_assign(sql_groups *g, const sql_plan *p, const sql_vec *keys, int64_t n,
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
    if (g->dmode == 0)
        g->dmode = g->nkeys == 1 && keys[0].ty.t != SQL_NULL && keys[0].i &&
                           sql_vec_phys(&keys[0]) == SQL_PHYS_INT
                       ? 1
                       : 2;
    if (g->dmode == 1) {
        int rc = assign_direct(g, p, keys, n, gids);
        if (rc != 0)
            return rc < 0 ? -1 : 0;
    }
    uint64_t *h = es_calloc((size_t)(n ? n : 1), sizeof(uint64_t));
    if (!h)
        return -1;
    for (int k = 0; k < g->nkeys; k++)
        hash_vec(&keys[k], h, n);
    int str1 = g->nkeys == 1 && sql_vec_phys(&keys[0]) == SQL_PHYS_STR && keys[0].ty.t != SQL_NULL;
    for (int64_t r = 0; r < n; r++) {
        if ((g->ngroups + 1) * 2 > g->nslots) {
            if (rehash(g, g->nslots ? g->nslots * 2 : 1024) < 0)
                goto nomem;
        }
        uint64_t mask = (uint64_t)(g->nslots - 1);
        if (r + 16 < n) /* tables larger than the caches: fetch ahead */
            __builtin_prefetch(&g->slots[h[r + 16] & mask]);
        uint64_t s = h[r] & mask;
        int64_t tag = (int64_t)(h[r] >> 33), gid;
        for (;;) {
            int64_t e = g->slots[s];
            if (e < 0) {
                gid = -1;
                break;
            }
            gid = e & 0xffffffff;
            if ((e >> 32) == tag &&
                (str1 ? str_equal1(g, gid, keys, r) : key_equal(g, gid, keys, r)))
                break;
            s = (s + 1) & mask;
        }
        if (gid < 0) {
            gid = new_group(g, p, keys, r, h[r]);
            if (gid < 0)
                goto nomem;
            g->slots[s] = slot_of(h[r], gid);
        }
        gids[r] = gid;
    }
    es_free(h);
    return 0;
nomem:
    es_free(h);
    return -1;
}

static int update(sql_groups *g, const sql_plan *p, int a, const sql_vec *v, const int64_t *gids,
                  int64_t n);

/* DISTINCT: feed the rows whose (group, value) pair was not met before. */
static int update_distinct(sql_groups *g, const sql_plan *p, int a, const sql_vec *v,
                           const int64_t *gids, int64_t n)
{
    sql_agg_state *s = &g->st[a];
    sql_typeinfo bigint = {SQL_BIGINT, 0, 0};
    if (!s->seen) {
        sql_groups *t = es_calloc(1, sizeof *t);
        if (!t)
            return -1;
        s->seen = t;
        t->keys = es_calloc(2, sizeof(sql_vec));
        t->st = es_calloc(1, sizeof(sql_agg_state));
        if (!t->keys || !t->st)
            return -1;
        t->nkeys = 2; /* no aggregate states: nst 0 */
        sql_vec_init(&t->keys[0], bigint);
        sql_vec_init(&t->keys[1], v->ty);
    }
    sql_vec keys[2];
    sql_vec_init(&keys[0], bigint);
    keys[0].n = n;
    keys[0].i = (int64_t *)gids;
    keys[0].nulls = v->nulls; /* rows whose value is NULL are not fed anyway */
    keys[1] = *v;
    int64_t before = s->seen->ngroups, k = 0;
    int64_t *sg = es_malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    int64_t *sel = es_malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    int64_t *g2 = es_malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    uint8_t *fresh = es_calloc((size_t)(n ? n : 1), 1);
    int rc = -1;
    sql_vec fv;
    sql_vec_init(&fv, v->ty);
    if (!sg || !sel || !g2 || !fresh || sql_groups_assign(s->seen, p, keys, n, sg) < 0)
        goto out;
    for (int64_t r = 0; r < n; r++) {
        if (v->nulls[r] || sg[r] < before || fresh[sg[r] - before])
            continue;
        fresh[sg[r] - before] = 1;
        sel[k] = r;
        g2[k++] = gids[r];
    }
    if (sql_vec_append(&fv, v, sel, k) < 0 || sql_vec_reserve(&fv, 1) < 0)
        goto out;
    rc = update(g, p, a, &fv, g2, k);
out:
    sql_vec_free(&fv);
    es_free(sg);
    es_free(sel);
    es_free(g2);
    es_free(fresh);
    return rc;
}

int sql_groups_update(sql_groups *g, const sql_plan *p, int a, const sql_vec *v,
                      const int64_t *gids, int64_t n)
{
    if (p->aggs[a].distinct && v->ty.t != SQL_NULL)
        return update_distinct(g, p, a, v, gids, n);
    return update(g, p, a, v, gids, n);
}

static int update(sql_groups *g, const sql_plan *p, int a, const sql_vec *v, const int64_t *gids,
                  int64_t n)
{
    sql_agg_state *s = &g->st[a];
    const sql_agg *ai = &p->aggs[a];
    if (ai->kind == SQL_AGG_COUNT_STAR) {
        for (int64_t r = 0; r < n; r++)
            s->cnt[gids[r]]++;
        return 0;
    }
    if (v->ty.t == SQL_NULL)
        return 0;
    int ph = sql_vec_phys(v);
    switch (ai->kind) {
    case SQL_AGG_COUNT:
        for (int64_t r = 0; r < n; r++)
            s->cnt[gids[r]] += !v->nulls[r];
        break;
    case SQL_AGG_SUM:
    case SQL_AGG_AVG:
        if (ph == SQL_PHYS_DBL && !memchr(v->nulls, 1, (size_t)n)) {
            for (int64_t r = 0; r < n; r++) /* no NULL: no test per row */
                s->cnt[gids[r]]++, s->dsum[gids[r]] += v->f[r];
        } else if (ph == SQL_PHYS_DBL) {
            for (int64_t r = 0; r < n; r++)
                if (!v->nulls[r])
                    s->cnt[gids[r]]++, s->dsum[gids[r]] += v->f[r];
        } else {
            for (int64_t r = 0; r < n; r++)
                if (!v->nulls[r]) {
                    s->cnt[gids[r]]++;
                    s->isum[gids[r]] += v->i[r];
                }
        }
        break;
    default: {
        int mx = ai->kind == SQL_AGG_MAX;
        for (int64_t r = 0; r < n; r++) {
            if (v->nulls[r])
                continue;
            int64_t gid = gids[r];
            int first = s->cnt[gid]++ == 0;
            if (ph == SQL_PHYS_INT) {
                if (first || (mx ? v->i[r] > s->best.i[gid] : v->i[r] < s->best.i[gid]))
                    s->best.i[gid] = v->i[r];
            } else if (ph == SQL_PHYS_DBL) {
                /* NaN is above every number */
                double y = v->f[r], b = s->best.f[gid];
                if (first ||
                    (mx ? y > b || (isnan(y) && !isnan(b)) : y < b || (isnan(b) && !isnan(y))))
                    s->best.f[gid] = y;
            } else {
                int64_t len;
                const char *pv = sql_vec_str(v, r, &len);
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

void sql_groups_free(sql_groups *g)
{
    for (int k = 0; k < g->nkeys; k++)
        sql_vec_free(&g->keys[k]);
    es_free(g->keys);
    for (int a = 0; a < g->nst; a++) {
        sql_agg_state *s = &g->st[a];
        es_free(s->cnt);
        es_free(s->isum);
        es_free(s->dsum);
        sql_vec_free(&s->best);
        if (s->sbest)
            for (int64_t i = 0; i < g->ngroups; i++)
                es_free(s->sbest[i]);
        es_free(s->sbest);
        es_free(s->slen);
        if (s->seen)
            sql_groups_free(s->seen);
        es_free(s->seen);
    }
    es_free(g->st);
    sql_dict_unref(g->gdict);
    es_free(g->gmap);
    es_free(g->dmap);
    es_free(g->slots);
    es_free(g->hashes);
    memset(g, 0, sizeof *g);
}

/* Decimal digits of a 128-bit integer with `scale` of them after the point. */
static void fmt_i128(char *buf, size_t cap, sql_i128 v, int scale)
{
    char tmp[64];
    int k = (int)sizeof tmp, d = 0;
    sql_u128 u = v < 0 ? -(sql_u128)v : (sql_u128)v;
    tmp[--k] = 0;
    do {
        if (scale > 0 && d == scale)
            tmp[--k] = '.';
        tmp[--k] = (char)('0' + (int)(u % 10));
        u /= 10;
        d++;
    } while (u || d <= scale);
    if (v < 0)
        tmp[--k] = '-';
    snprintf(buf, cap, "%s", tmp + k);
}

/* The average of count values summing to sum (unscaled): the integer quotient and the
 * remainder's fraction, so that a sum beyond 2^63 keeps its precision. */
static double exact_avg(sql_i128 sum, int64_t count, int scale)
{
    sql_i128 q = sum / count, r = sum % count;
    double v = (double)q + (double)r / (double)count;
    return scale ? v / (double)sql_pow10[scale] : v;
}

int sql_groups_finish(sql_exec *x, sql_groups *g, const sql_plan *p, sql_batch *out)
{
    int64_t ng = g->ngroups;
    int ncols = p->ngroup + p->naggs;
    out->cols = es_calloc((size_t)(ncols ? ncols : 1), sizeof(sql_vec));
    if (!out->cols)
        return sql_oom(x);
    out->n = ng;
    out->ncols = ncols;
    for (int k = 0; k < p->ngroup; k++) {
        out->cols[k] = g->keys[k];
        sql_vec_init(&g->keys[k], g->keys[k].ty);
        if (sql_vec_reserve(&out->cols[k], 1) < 0)
            return sql_oom(x);
    }
    for (int a = 0; a < p->naggs; a++) {
        const sql_agg *ai = &p->aggs[a];
        sql_agg_state *s = &g->st[a];
        sql_vec *v = &out->cols[p->ngroup + a];
        if (sql_type_phys(ai->ty.t) == SQL_PHYS_STR) {
            sql_vec_init(v, ai->ty);
            for (int64_t i = 0; i < ng; i++) {
                int rc =
                    s->cnt[i] ? sql_vec_push_str(v, s->sbest[i], s->slen[i]) : sql_vec_push_null(v);
                if (rc < 0)
                    return sql_oom(x);
            }
            if (sql_vec_reserve(v, 1) < 0)
                return sql_oom(x);
            continue;
        }
        if (sql_vec_alloc(v, ai->ty, ng) < 0)
            return sql_oom(x);
        for (int64_t i = 0; i < ng; i++) {
            int64_t c = s->cnt[i];
            switch (ai->kind) {
            case SQL_AGG_COUNT_STAR:
            case SQL_AGG_COUNT:
                v->i[i] = c;
                break;
            case SQL_AGG_SUM: {
                v->nulls[i] = c == 0;
                if (sql_vec_phys(v) == SQL_PHYS_DBL) {
                    v->f[i] = s->dsum[i];
                    break;
                }
                sql_i128 sum = s->isum[i];
                sql_i128 lim = ai->ty.t == SQL_DECIMAL ? sql_pow10[18] - 1 : INT64_MAX;
                if (sum > lim || sum < (ai->ty.t == SQL_DECIMAL ? -lim : INT64_MIN)) {
                    char tn[64], num[48];
                    sql_typeinfo_name(tn, sizeof tn, &ai->ty);
                    fmt_i128(num, sizeof num, sum, sql_scale(&ai->ty));
                    return sql_err(x, ai->arg ? ai->arg->pos : -1,
                                   "out of range: overflow in sum() of %s (the sum is %s)", tn,
                                   num);
                }
                v->i[i] = (int64_t)sum;
                break;
            }
            case SQL_AGG_AVG:
                v->nulls[i] = c == 0;
                if (c == 0)
                    v->f[i] = 0;
                else if (sql_type_phys(ai->arg->ty.t) == SQL_PHYS_DBL)
                    v->f[i] = s->dsum[i] / (double)c;
                else
                    v->f[i] = exact_avg(s->isum[i], c, sql_scale(&ai->arg->ty));
                break;
            default:
                v->nulls[i] = c == 0;
                if (sql_vec_phys(v) == SQL_PHYS_DBL)
                    v->f[i] = c ? s->best.f[i] : 0;
                else
                    v->i[i] = c ? s->best.i[i] : 0;
            }
        }
    }
    return 0;
}

int sql_groups_merge(sql_groups *g, const sql_plan *p, sql_groups *from)
{
    int64_t n = from->ngroups;
    if (n == 0)
        return 0;
    int64_t *gids = es_malloc(sizeof(int64_t) * (size_t)n);
    if (!gids || sql_groups_assign(g, p, from->keys, n, gids) < 0) {
        es_free(gids);
        return -1;
    }
    for (int a = 0; a < p->naggs; a++) {
        sql_agg_state *s = &g->st[a], *t = &from->st[a];
        int kind = p->aggs[a].kind, ph = sql_type_phys(p->aggs[a].ty.t);
        int minmax = kind == SQL_AGG_MIN || kind == SQL_AGG_MAX, mx = kind == SQL_AGG_MAX;
        for (int64_t i = 0; i < n; i++) {
            int64_t gid = gids[i];
            if (minmax && t->cnt[i] > 0) {
                int first = s->cnt[gid] == 0;
                if (ph == SQL_PHYS_INT) {
                    int64_t y = t->best.i[i], b = s->best.i[gid];
                    if (first || (mx ? y > b : y < b))
                        s->best.i[gid] = y;
                } else if (ph == SQL_PHYS_DBL) {
                    double y = t->best.f[i], b = s->best.f[gid];
                    if (first ||
                        (mx ? y > b || (isnan(y) && !isnan(b)) : y < b || (isnan(b) && !isnan(y))))
                        s->best.f[gid] = y;
                } else {
                    int better = first;
                    if (!first) {
                        int64_t la = t->slen[i], lb = s->slen[gid];
                        int c = memcmp(t->sbest[i], s->sbest[gid], (size_t)(la < lb ? la : lb));
                        if (c == 0)
                            c = la < lb ? -1 : la > lb;
                        better = mx ? c > 0 : c < 0;
                    }
                    if (better) {
                        es_free(s->sbest[gid]);
                        s->sbest[gid] = t->sbest[i];
                        s->slen[gid] = t->slen[i];
                        t->sbest[i] = NULL;
                    }
                }
            }
            s->cnt[gid] += t->cnt[i];
            s->isum[gid] += t->isum[i];
            s->dsum[gid] += t->dsum[i];
        }
    }
    es_free(gids);
    return 0;
}

int sql_groups_init(sql_groups *g, const sql_plan *p)
{
    memset(g, 0, sizeof *g);
    g->keys = es_calloc((size_t)(p->ngroup ? p->ngroup : 1), sizeof(sql_vec));
    g->st = es_calloc((size_t)(p->naggs ? p->naggs : 1), sizeof(sql_agg_state));
    if (!g->keys || !g->st)
        return -1;
    g->nkeys = p->ngroup;
    g->nst = p->naggs;
    for (int k = 0; k < p->ngroup; k++)
        sql_vec_init(&g->keys[k], p->group[k]->ty);
    for (int a = 0; a < p->naggs; a++)
        sql_vec_init(&g->st[a].best, p->aggs[a].ty);
    return 0;
}

int sql_groups_add(sql_exec *x, sql_groups *g, const sql_plan *p, const sql_batch *b)
{
    sql_vec *keys = es_calloc((size_t)(p->ngroup ? p->ngroup : 1), sizeof(sql_vec));
    int64_t *gids = es_malloc(sizeof(int64_t) * (size_t)(b->n ? b->n : 1));
    int arc = keys && gids ? 0 : sql_oom(x);
    int nk = 0;
    const sql_expr *k0 = p->ngroup == 1 ? p->group[0] : NULL;
    if (arc == 0 && k0 && k0->kind == E_COL && b->cols[k0->index].dict) {
        /* One dictionary-encoded column: grouped on its codes (vec_arrow.c). */
        if (sql_dict_assign(g, p, &b->cols[k0->index], b->n, gids) < 0)
            arc = sql_oom(x);
    } else {
        for (; arc == 0 && nk < p->ngroup; nk++)
            if (sql_eval(x, p->group[nk], b, &keys[nk]) < 0)
                arc = -1;
        if (arc == 0 && sql_groups_assign(g, p, keys, b->n, gids) < 0)
            arc = sql_oom(x);
    }
    for (int a = 0; arc == 0 && a < p->naggs; a++) {
        sql_vec v;
        memset(&v, 0, sizeof v);
        if (p->aggs[a].arg && sql_eval(x, p->aggs[a].arg, b, &v) < 0) {
            arc = -1;
            break;
        }
        if (sql_groups_update(g, p, a, &v, gids, b->n) < 0)
            arc = sql_oom(x);
        sql_vec_free(&v);
    }
    for (int i = 0; keys && i < p->ngroup; i++)
        sql_vec_free(&keys[i]);
    es_free(keys);
    es_free(gids);
    return arc;
}
