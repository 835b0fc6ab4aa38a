/*
 * log_json: the JSON reader of log entries, checkpoints and manifests (log_entry.c): a strict
 * parser into a tree of es_jv values, the entry trailer's checksum checked first.
 */
#ifndef ES_TABLE_LOG_JSON_H
#define ES_TABLE_LOG_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "table/part.h"
#include "util/util.h"

#define ES_TRAILER_LEN 19 /* ,"crc":"xxxxxxxx"}\n */

typedef enum es_jtype { ES_J_NULL = 0, ES_J_BOOL, ES_J_INT, ES_J_STR, ES_J_ARR, ES_J_OBJ } es_jtype;

typedef struct es_jv {
    es_jtype t;
    int64_t i; /* int, bool */
    char *s;   /* str (NUL-terminated, may contain NUL: slen) */
    size_t slen;
    int64_t n; /* arr, obj */
    struct es_jv *items;
    char **keys; /* obj */
} es_jv;

/* Parse p[0..n) (trailer and checksum first) into *out, an object; name is for errors. */
es_status es_json_parse(es_jv *out, const uint8_t *p, size_t n, const char *name, es_error *err);
void es_jv_reset(es_jv *v);
const es_jv *es_jget(const es_jv *o, const char *key);
int es_jint(const es_jv *o, const char *key, int64_t *out);
const char *es_jstr(const es_jv *o, const char *key);
int es_jid(const es_jv *o, const char *key, char out[ES_ID_LEN + 1]);
int es_jhex(const es_jv *o, const char *key, uint8_t *out, uint8_t *len, int max);
int es_hexval(uint8_t c);

#endif
