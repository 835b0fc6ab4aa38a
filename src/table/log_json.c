/*
 * log_json: the JSON reader of log entries (log_json.h).
 */
#include <stdlib.h>
#include <string.h>

#include "table/log_json.h"

void es_jv_reset(es_jv *v)
{
    if (v->t == ES_J_STR)
        es_free(v->s);
    if (v->t == ES_J_ARR || v->t == ES_J_OBJ) {
        for (int64_t i = 0; i < v->n; i++) {
            es_jv_reset(&v->items[i]);
            if (v->keys)
                es_free(v->keys[i]);
        }
        es_free(v->items);
        es_free(v->keys);
    }
    memset(v, 0, sizeof(*v));
}

typedef struct jparser {
    const uint8_t *p, *end;
    int depth;
    es_status st; /* ES_CORRUPT or ES_NOMEM */
} jparser;

static void skip_ws(jparser *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
        j->p++;
}

int es_hexval(uint8_t c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

static int parse_u4(jparser *j, uint32_t *out)
{
    if (j->end - j->p < 4)
        return 0;
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
        int h = es_hexval(j->p[k]);
        if (h < 0)
            return 0;
        v = v << 4 | (uint32_t)h;
    }
    j->p += 4;
    *out = v;
    return 1;
}

static int parse_string(jparser *j, char **out, size_t *len)
{
    es_buf b = {0};
    j->p++; /* opening quote */
    while (j->p < j->end && *j->p != '"') {
        uint8_t c = *j->p++;
        es_status st = ES_OK;
        if (c < 0x20) {
            es_buf_reset(&b);
            return 0;
        }
        if (c != '\\') {
            /* A run of plain characters at once. */
            const uint8_t *run = j->p - 1;
            while (j->p < j->end && *j->p != '"' && *j->p != '\\' && *j->p >= 0x20)
                j->p++;
            st = es_buf_append(&b, run, (size_t)(j->p - run));
        } else {
            if (j->p >= j->end)
                break;
            uint8_t e = *j->p++;
            char o = 0;
            switch (e) {
            case '"':
            case '\\':
            case '/':
                o = (char)e;
                break;
            case 'b':
                o = '\b';
                break;
            case 'f':
                o = '\f';
                break;
            case 'n':
                o = '\n';
                break;
            case 'r':
                o = '\r';
                break;
            case 't':
                o = '\t';
                break;
            case 'u': {
                uint32_t cp;
                if (!parse_u4(j, &cp)) {
                    es_buf_reset(&b);
                    return 0;
                }
                if (cp >= 0xD800 && cp < 0xDC00) {
                    uint32_t lo;
                    if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u') {
                        es_buf_reset(&b);
                        return 0;
                    }
                    j->p += 2;
                    if (!parse_u4(j, &lo) || lo < 0xDC00 || lo >= 0xE000) {
                        es_buf_reset(&b);
                        return 0;
                    }
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                uint8_t u[4];
                size_t n = es_utf8_encode(u, cp);
                st = es_buf_append(&b, u, n);
                break;
            }
            default:
                es_buf_reset(&b);
                return 0;
            }
            if (o)
                st = es_buf_append(&b, &o, 1);
        }
        if (st) {
            es_buf_reset(&b);
            j->st = ES_NOMEM;
            return 0;
        }
    }
    if (j->p >= j->end) {
        es_buf_reset(&b);
        return 0;
    }
    j->p++;
    uint8_t z = 0;
    if (es_buf_append(&b, &z, 1)) {
        es_buf_reset(&b);
        j->st = ES_NOMEM;
        return 0;
    }
    *len = b.len - 1;
    *out = (char *)es_buf_detach(&b, NULL);
    return 1;
}

static int parse_value(jparser *j, es_jv *v);

static int parse_container(jparser *j, es_jv *v, int obj)
{
    char close = obj ? '}' : ']';
    int64_t cap = 0;
    v->t = obj ? ES_J_OBJ : ES_J_ARR;
    j->p++;
    skip_ws(j);
    if (j->p < j->end && *j->p == close) {
        j->p++;
        return 1;
    }
    for (;;) {
        if (v->n == cap) {
            int64_t nc = cap ? cap * 2 : 8;
            es_jv *items = es_realloc(v->items, (size_t)nc * sizeof(es_jv));
            if (!items) {
                j->st = ES_NOMEM;
                return 0;
            }
            v->items = items;
            if (obj) {
                char **keys = es_realloc(v->keys, (size_t)nc * sizeof(char *));
                if (!keys) {
                    j->st = ES_NOMEM;
                    return 0;
                }
                v->keys = keys;
            }
            cap = nc;
        }
        memset(&v->items[v->n], 0, sizeof(es_jv));
        if (obj) {
            size_t kl;
            skip_ws(j);
            v->keys[v->n] = NULL;
            if (j->p >= j->end || *j->p != '"' || !parse_string(j, &v->keys[v->n], &kl))
                return 0;
            v->n++;
            skip_ws(j);
            if (j->p >= j->end || *j->p != ':')
                return 0;
            j->p++;
            if (!parse_value(j, &v->items[v->n - 1]))
                return 0;
        } else {
            v->n++;
            if (!parse_value(j, &v->items[v->n - 1]))
                return 0;
        }
        skip_ws(j);
        if (j->p >= j->end)
            return 0;
        if (*j->p == ',') {
            j->p++;
            continue;
        }
        if (*j->p == close) {
            j->p++;
            return 1;
        }
        return 0;
    }
}

static int parse_value(jparser *j, es_jv *v)
{
    skip_ws(j);
    if (j->p >= j->end)
        return 0;
    uint8_t c = *j->p;
    if (c == '{' || c == '[') {
        if (++j->depth > 16)
            return 0;
        int ok = parse_container(j, v, c == '{');
        j->depth--;
        return ok;
    }
    if (c == '"') {
        v->t = ES_J_STR;
        return parse_string(j, &v->s, &v->slen);
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        int neg = c == '-';
        if (neg)
            j->p++;
        if (j->p >= j->end || *j->p < '0' || *j->p > '9')
            return 0;
        uint64_t x = 0;
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
            uint64_t d = (uint64_t)(*j->p - '0');
            if (x > (UINT64_MAX - d) / 10)
                return 0;
            x = x * 10 + d;
            j->p++;
        }
        if (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E'))
            return 0; /* only integers appear in the log */
        if ((!neg && x > (uint64_t)INT64_MAX) || (neg && x > (uint64_t)INT64_MAX + 1))
            return 0;
        v->t = ES_J_INT;
        v->i = neg ? (int64_t)(0 - x) : (int64_t)x;
        return 1;
    }
    static const struct {
        const char *w;
        es_jtype t;
        int64_t i;
    } lits[] = {{"true", ES_J_BOOL, 1}, {"false", ES_J_BOOL, 0}, {"null", ES_J_NULL, 0}};
    for (size_t k = 0; k < 3; k++) {
        size_t n = strlen(lits[k].w);
        if ((size_t)(j->end - j->p) >= n && memcmp(j->p, lits[k].w, n) == 0) {
            j->p += n;
            v->t = lits[k].t;
            v->i = lits[k].i;
            return 1;
        }
    }
    return 0;
}

const es_jv *es_jget(const es_jv *o, const char *key)
{
    if (!o || o->t != ES_J_OBJ)
        return NULL;
    for (int64_t i = 0; i < o->n; i++)
        if (strcmp(o->keys[i], key) == 0)
            return &o->items[i];
    return NULL;
}

int es_jint(const es_jv *o, const char *key, int64_t *out)
{
    const es_jv *v = es_jget(o, key);
    if (!v || v->t != ES_J_INT)
        return 0;
    *out = v->i;
    return 1;
}

const char *es_jstr(const es_jv *o, const char *key)
{
    const es_jv *v = es_jget(o, key);
    if (!v || v->t != ES_J_STR || strlen(v->s) != v->slen)
        return NULL;
    return v->s;
}

int es_jid(const es_jv *o, const char *key, char out[ES_ID_LEN + 1])
{
    const char *s = es_jstr(o, key);
    if (!s || strlen(s) != ES_ID_LEN)
        return 0;
    for (int i = 0; i < ES_ID_LEN; i++)
        if (es_hexval((uint8_t)s[i]) < 0 || (s[i] >= 'A' && s[i] <= 'F'))
            return 0;
    memcpy(out, s, ES_ID_LEN + 1);
    return 1;
}

int es_jhex(const es_jv *o, const char *key, uint8_t *out, uint8_t *len, int max)
{
    const char *s = es_jstr(o, key);
    if (!s)
        return 0;
    size_t n = strlen(s);
    if (n % 2 || n / 2 > (size_t)max)
        return 0;
    for (size_t i = 0; i < n / 2; i++) {
        int a = es_hexval((uint8_t)s[2 * i]), b = es_hexval((uint8_t)s[2 * i + 1]);
        if (a < 0 || b < 0)
            return 0;
        out[i] = (uint8_t)(a << 4 | b);
    }
    *len = (uint8_t)(n / 2);
    return 1;
}

/* Check the trailer and checksum; returns the length of the checksummed prefix or 0. */
static size_t check_trailer(const uint8_t *p, size_t n)
{
    static const char pre[] = ",\"crc\":\"";
    if (n < ES_TRAILER_LEN + 1)
        return 0;
    const uint8_t *t = p + n - ES_TRAILER_LEN;
    if (memcmp(t, pre, 8) != 0 || t[16] != '"' || t[17] != '}' || t[18] != '\n')
        return 0;
    uint32_t v = 0;
    for (int k = 0; k < 8; k++) {
        int h = es_hexval(t[8 + k]);
        if (h < 0 || (t[8 + k] >= 'A' && t[8 + k] <= 'F'))
            return 0;
        v = v << 4 | (uint32_t)h;
    }
    if (es_crc32c(0, p, n - ES_TRAILER_LEN) != v)
        return 0;
    return n - ES_TRAILER_LEN;
}

es_status es_json_parse(es_jv *out, const uint8_t *p, size_t n, const char *name, es_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!check_trailer(p, n))
        return es_error_set(err, ES_CORRUPT, 0, "%s: checksum mismatch or truncated object", name);
    jparser j = {p, p + n, 0, ES_OK};
    int ok = parse_value(&j, out);
    skip_ws(&j);
    if (!ok || j.p != j.end || out->t != ES_J_OBJ) {
        es_status st = j.st == ES_NOMEM ? ES_NOMEM : ES_CORRUPT;
        es_jv_reset(out);
        return es_error_set(err, st, 0, "%s: %s", name,
                            st == ES_NOMEM ? "out of memory" : "malformed JSON");
    }
    return ES_OK;
}
