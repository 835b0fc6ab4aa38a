/*
 * s3: the S3 backend of the object store layer (objstore dispatch -> this backend -> libcurl).
 * It speaks the S3 REST API to AWS or any S3-compatible server (Ceph RADOS Gateway, MinIO,
 * s3rver). This file holds the operations of the es_objstore_vtable (get, get_many, head, put
 * with multipart uploads, list, delete), open and close; the HTTP exchanges are s3_http.c, the
 * configuration s3_config.c, the XML s3_xml.c (see s3_internal.h).
 *
 * Requests and retries. Every operation is a batch of HTTP requests (es_objstore_s3_run_batch).
 * The dispatch layer (objstore.c) retries whole operations that return ES_TRANSIENT and
 * disambiguates conditional puts after an ambiguous failure (its invariant I3); so the
 * single-request operations here make exactly one attempt. Requests inside a batch that the
 * dispatch layer cannot see (the ranges of get_many, the parts of a multipart upload, the
 * put-if-absent probe) are retried by the batch with the dispatch layer's policy
 * (es_objstore_get_retry): same attempts, same capped exponential backoff with jitter, same
 * classification (es_objstore_s3_retryable).
 *
 * Invariants (S1 and S5, on messages and timeouts, are s3_http.c's):
 *   S2. Conditional puts (IF_ABSENT, IF_MATCH) are single PUT requests, never multipart: RGW
 *       ignores If-None-Match on CompleteMultipartUpload.
 *   S3. A failed multipart upload is aborted (best effort), so no parts linger.
 *   S4. cas_supported is -1 (not known) from open until the store's first put-if-absent,
 *       which first probes the server (two If-None-Match: * PUTs of a fresh key, then a
 *       delete); it is 1 only when the probe saw the server refuse the second PUT with 412 (or
 *       ES_S3_CAS=on), 0 when the second PUT succeeded (or ES_S3_CAS=off). Opening sends no
 *       request, so read-only credentials open a store and read it; only writes need more.
 */
#include "objstore/s3_internal.h"

#include <stdio.h>
#include <string.h>

static const es_objstore_vtable s3_vtable;

/* ------------------------------------------------------------------ get */

/* Build a GET request for [offset, offset+len) of key. */
static es_status get_build(es_s3_store *s, es_s3_req *r, const char *key, uint64_t offset,
                           uint64_t len)
{
    es_objstore_s3_req_init(r, "GET", key);
    if (es_objstore_s3_req_path(s, r, key))
        return ES_NOMEM;
    if (offset > 0 || len != UINT64_MAX) {
        if (len == UINT64_MAX || offset + len < offset)
            snprintf(r->range, sizeof r->range, "bytes=%llu-", (unsigned long long)offset);
        else
            snprintf(r->range, sizeof r->range, "bytes=%llu-%llu", (unsigned long long)offset,
                     (unsigned long long)(offset + len - 1));
        es_objstore_s3_req_header(r, "Range", r->range);
    }
    return ES_OK;
}

static es_status s3_head(es_objstore *base, const char *key, es_obj_info *out, es_error *err);

/* Turn a finished GET into a blob (or the error). 416: a HEAD decides between an empty
 * result (offset == size) and ES_INVALID (offset > size). */
static es_status get_result(es_s3_store *s, es_s3_req *r, uint64_t offset, uint64_t len,
                            es_blob **out, es_error *err)
{
    es_status st;
    *out = NULL;
    if (!r->nomem && r->curl_code == CURLE_OK && r->status == 416) {
        es_obj_info info;
        st = s3_head(&s->base, r->key, &info, err);
        if (st)
            return st;
        if (offset > info.size)
            return es_error_set(err, ES_INVALID, 0, "s3://%s/%s%s: offset %llu past the end (%llu)",
                                s->bucket, s->prefix, r->key, (unsigned long long)offset,
                                (unsigned long long)info.size);
        return es_blob_new_copy(out, "", 0);
    }
    if ((st = es_objstore_s3_req_error(s, r, "get", err)))
        return st;
    size_t n = r->resp.len;
    uint8_t *data = es_buf_detach(&r->resp, &n);
    if (r->status == 200 && r->range[0]) {
        /* The server ignored Range: cut the range out of the whole object. */
        if (offset > n) {
            es_free(data);
            return es_error_set(err, ES_INVALID, 0, "s3://%s/%s%s: offset %llu past the end (%zu)",
                                s->bucket, s->prefix, r->key, (unsigned long long)offset, n);
        }
        size_t take = n - (size_t)offset;
        if (len < take)
            take = (size_t)len;
        st = es_blob_new_copy(out, data + offset, take);
        es_free(data);
        return st;
    }
    if (r->range[0] && len != UINT64_MAX && n > len) {
        es_free(data);
        return es_error_set(err, ES_REMOTE, (int)r->status,
                            "s3://%s/%s%s: server sent %zu bytes for a %llu-byte range", s->bucket,
                            s->prefix, r->key, n, (unsigned long long)len);
    }
    if (!data)
        return es_blob_new_copy(out, "", 0);
    st = es_blob_new_owned(out, data, n);
    if (st)
        es_free(data);
    return st;
}

static es_status s3_get(es_objstore *base, const char *key, uint64_t offset, uint64_t len,
                        es_blob **out, es_error *err)
{
    es_s3_store *s = (es_s3_store *)base;
    es_s3_req r;
    es_status st;
    *out = NULL;
    if (len == 0) {
        es_obj_info info;
        if ((st = s3_head(base, key, &info, err)))
            return st;
        if (offset > info.size)
            return es_error_set(err, ES_INVALID, 0, "s3://%s/%s%s: offset %llu past the end (%llu)",
                                s->bucket, s->prefix, key, (unsigned long long)offset,
                                (unsigned long long)info.size);
        return es_blob_new_copy(out, "", 0);
    }
    if ((st = get_build(s, &r, key, offset, len)) == ES_OK &&
        (st = es_objstore_s3_run_one(s, &r, 1)) == ES_OK)
        st = get_result(s, &r, offset, len, out, err);
    es_objstore_s3_req_free(&r);
    return st;
}

static es_status s3_get_many(es_objstore *base, es_range_req *reqs, int64_t n, es_error *err)
{
    es_s3_store *s = (es_s3_store *)base;
    es_status first = ES_OK;
    if (n <= 0)
        return ES_OK;
    if (n > INT32_MAX / 2)
        return es_error_set(err, ES_INVALID, 0, "%s: get_many: too many requests", base->uri);
    es_s3_req *rs = es_calloc((size_t)n, sizeof *rs);
    es_s3_req **ps = es_calloc((size_t)n, sizeof *ps);
    int np = 0;
    if (!rs || !ps) {
        es_free(rs);
        es_free(ps);
        for (int64_t i = 0; i < n; i++) {
            reqs[i].out = NULL;
            reqs[i].status = ES_NOMEM;
        }
        return es_error_set(err, ES_NOMEM, 0, "%s: get_many: out of memory", base->uri);
    }
    for (int64_t i = 0; i < n; i++) {
        reqs[i].out = NULL;
        reqs[i].status = ES_OK;
        if (reqs[i].len == 0)
            continue; /* done below with a HEAD, like get */
        if (get_build(s, &rs[i], reqs[i].key, reqs[i].offset, reqs[i].len) != ES_OK) {
            reqs[i].status = ES_NOMEM;
            continue;
        }
        ps[np++] = &rs[i];
    }
    es_status st = es_objstore_s3_run_batch(s, ps, np, es_objstore_s3_policy_attempts());
    for (int64_t i = 0; i < n; i++) {
        es_error e1 = {0};
        if (reqs[i].status != ES_OK) {
            es_error_set(&e1, reqs[i].status, 0, "%s: get_many: out of memory", reqs[i].key);
        } else if (reqs[i].len == 0) {
            reqs[i].status = s3_get(base, reqs[i].key, reqs[i].offset, 0, &reqs[i].out, &e1);
        } else if (st != ES_OK) {
            reqs[i].status = es_error_set(&e1, st, 0, "s3://%s/%s%s: get: batch failed", s->bucket,
                                          s->prefix, reqs[i].key);
        } else {
            reqs[i].status = get_result(s, &rs[i], reqs[i].offset, reqs[i].len, &reqs[i].out, &e1);
        }
        if (reqs[i].status != ES_OK && first == ES_OK) {
            first = reqs[i].status;
            if (err)
                *err = e1;
        }
        es_objstore_s3_req_free(&rs[i]);
    }
    es_free(rs);
    es_free(ps);
    return first;
}

/* ------------------------------------------------------------------ head */

static es_status s3_head(es_objstore *base, const char *key, es_obj_info *out, es_error *err)
{
    es_s3_store *s = (es_s3_store *)base;
    es_s3_req r;
    es_status st;
    memset(out, 0, sizeof *out);
    es_objstore_s3_req_init(&r, "HEAD", key);
    r.nobody = 1;
    if ((st = es_objstore_s3_req_path(s, &r, key)) == ES_OK &&
        (st = es_objstore_s3_run_one(s, &r, 1)) == ES_OK &&
        (st = es_objstore_s3_req_error(s, &r, "head", err)) == ES_OK) {
        if (r.content_length < 0)
            st = es_error_set(err, ES_REMOTE, (int)r.status,
                              "s3://%s/%s%s: head: no Content-Length", s->bucket, s->prefix, key);
        else {
            out->size = (uint64_t)r.content_length;
            memcpy(out->etag, r.etag, sizeof out->etag);
        }
    }
    es_objstore_s3_req_free(&r);
    return st;
}

/* ------------------------------------------------------------------ put */

static es_status put_multipart(es_s3_store *s, const char *key, const uint8_t *data, size_t len,
                               char *etag_out, es_error *err);
static es_status ensure_probed(es_s3_store *s, es_error *err);

static es_status s3_put(es_objstore *base, const char *key, const void *data, size_t len,
                        es_put_mode mode, const char *if_match, char *etag_out, es_error *err)
{
    es_s3_store *s = (es_s3_store *)base;
    es_s3_req r;
    es_status st;
    /* S2: conditional puts are always a single PUT. */
    if (mode == ES_PUT_ALWAYS && len >= s->mp_threshold)
        return put_multipart(s, key, data, len, etag_out, err);
    if (mode == ES_PUT_IF_ABSENT && (st = ensure_probed(s, err)))
        return st;
    es_objstore_s3_req_init(&r, "PUT", key);
    r.has_body = 1;
    r.body = data;
    r.body_len = len;
    if (mode == ES_PUT_IF_ABSENT) {
        es_objstore_s3_req_header(&r, "If-None-Match", "*");
    } else if (mode == ES_PUT_IF_MATCH) {
        /* Unquoted: RGW answers 412 to the quoted form even when it matches (S3-NOTES.md);
         * AWS accepts both. */
        char bare[ES_ETAG_MAX + 4];
        es_objstore_s3_strip_quotes(bare, sizeof bare, if_match);
        snprintf(r.if_match, sizeof r.if_match, s->quote_etag ? "\"%.*s\"" : "%.*s", ES_ETAG_MAX,
                 bare);
        es_objstore_s3_req_header(&r, "If-Match", r.if_match);
    }
    if ((st = es_objstore_s3_req_path(s, &r, key)) == ES_OK &&
        (st = es_objstore_s3_run_one(s, &r, 1)) == ES_OK &&
        (st = es_objstore_s3_req_error(s, &r, "put", err)) == ES_OK && etag_out)
        memcpy(etag_out, r.etag, ES_ETAG_MAX);
    es_objstore_s3_req_free(&r);
    return st;
}

static void multipart_abort(es_s3_store *s, const char *key, const char *upload_id)
{
    es_s3_req r;
    es_objstore_s3_req_init(&r, "DELETE", key);
    es_objstore_s3_req_query(&r, "uploadId", upload_id);
    if (es_objstore_s3_req_path(s, &r, key) == ES_OK)
        es_objstore_s3_run_one(s, &r, es_objstore_s3_policy_attempts());
    es_objstore_s3_req_free(&r);
}

static es_status put_multipart(es_s3_store *s, const char *key, const uint8_t *data, size_t len,
                               char *etag_out, es_error *err)
{
    es_s3_req r, *parts = NULL, **pp = NULL;
    char upload_id[512], (*numbers)[12] = NULL;
    es_buf xml = {0};
    es_status st;
    size_t np = (len + s->part_size - 1) / s->part_size;
    if (np > 10000)
        return es_error_set(err, ES_INVALID, 0,
                            "s3://%s/%s%s: %zu bytes need more than 10000 parts of %zu bytes",
                            s->bucket, s->prefix, key, len, s->part_size);
    /* Create. */
    es_objstore_s3_req_init(&r, "POST", key);
    r.has_body = 1;
    es_objstore_s3_req_query(&r, "uploads", NULL);
    if ((st = es_objstore_s3_req_path(s, &r, key)) == ES_OK &&
        (st = es_objstore_s3_run_one(s, &r, 1)) == ES_OK)
        st = es_objstore_s3_req_error(s, &r, "create multipart upload", err);
    if (st == ES_OK && !es_objstore_s3_xml_text(upload_id, sizeof upload_id,
                                                (const char *)r.resp.data, r.resp.len, "UploadId"))
        st = es_error_set(err, ES_REMOTE, (int)r.status,
                          "s3://%s/%s%s: create multipart upload: no UploadId", s->bucket,
                          s->prefix, key);
    es_objstore_s3_req_free(&r);
    if (st)
        return st;

    /* Parts, in parallel; each retried under the dispatch policy. */
    parts = es_calloc(np, sizeof *parts);
    pp = es_calloc(np, sizeof *pp);
    numbers = es_calloc(np, sizeof *numbers);
    if (!parts || !pp || !numbers) {
        st = es_error_set(err, ES_NOMEM, 0, "s3://%s/%s%s: multipart: out of memory", s->bucket,
                          s->prefix, key);
        goto done;
    }
    for (size_t i = 0; i < np; i++) {
        es_s3_req *p = &parts[i];
        es_objstore_s3_req_init(p, "PUT", key);
        snprintf(numbers[i], sizeof numbers[i], "%zu", i + 1);
        es_objstore_s3_req_query(p, "partNumber", numbers[i]);
        es_objstore_s3_req_query(p, "uploadId", upload_id);
        p->has_body = 1;
        p->body = data + i * s->part_size;
        p->body_len = i + 1 < np ? s->part_size : len - i * s->part_size;
        if (es_objstore_s3_req_path(s, p, key)) {
            st = es_error_set(err, ES_NOMEM, 0, "s3://%s/%s%s: multipart: out of memory", s->bucket,
                              s->prefix, key);
            goto done;
        }
        pp[i] = p;
    }
    if ((st = es_objstore_s3_run_batch(s, pp, (int)np, es_objstore_s3_policy_attempts()))) {
        es_error_set(err, st, 0, "s3://%s/%s%s: multipart: batch failed", s->bucket, s->prefix,
                     key);
        goto done;
    }
    st = es_buf_printf(&xml, "<CompleteMultipartUpload>");
    for (size_t i = 0; i < np && !st; i++) {
        char what[48];
        snprintf(what, sizeof what, "upload part %zu", i + 1);
        if ((st = es_objstore_s3_req_error(s, &parts[i], what, err)))
            goto done;
        if (!parts[i].etag[0]) {
            st = es_error_set(err, ES_REMOTE, 0, "s3://%s/%s%s: part %zu: no ETag", s->bucket,
                              s->prefix, key, i + 1);
            goto done;
        }
        st = es_buf_printf(&xml, "<Part><PartNumber>%zu</PartNumber><ETag>\"%s\"</ETag></Part>",
                           i + 1, parts[i].etag);
    }
    if (!st)
        st = es_buf_printf(&xml, "</CompleteMultipartUpload>");
    if (st) {
        st = es_error_set(err, ES_NOMEM, 0, "s3://%s/%s%s: multipart: out of memory", s->bucket,
                          s->prefix, key);
        goto done;
    }
    /* Complete. A 200 may still carry an <Error> body. */
    es_objstore_s3_req_init(&r, "POST", key);
    r.has_body = 1;
    r.body = xml.data;
    r.body_len = xml.len;
    es_objstore_s3_req_header(&r, "Content-Type", "application/xml");
    es_objstore_s3_req_query(&r, "uploadId", upload_id);
    if ((st = es_objstore_s3_req_path(s, &r, key)) == ES_OK &&
        (st = es_objstore_s3_run_one(s, &r, es_objstore_s3_policy_attempts())) == ES_OK)
        st = es_objstore_s3_req_error(s, &r, "complete multipart upload", err);
    if (st == ES_OK) {
        char tmp[ES_ETAG_MAX + 8], code[64];
        if (es_objstore_s3_xml_text(code, sizeof code, (const char *)r.resp.data, r.resp.len,
                                    "Code") &&
            r.resp.len && memmem(r.resp.data, r.resp.len, "<Error>", 7)) {
            st = es_error_set(
                err, es_objstore_s3_retryable(0, 200, code) ? ES_TRANSIENT : ES_REMOTE, 200,
                "s3://%s/%s%s: complete multipart upload: %s", s->bucket, s->prefix, key, code);
        } else if (etag_out) {
            etag_out[0] = 0;
            if (es_objstore_s3_xml_text(tmp, sizeof tmp, (const char *)r.resp.data, r.resp.len,
                                        "ETag"))
                es_objstore_s3_strip_quotes(etag_out, ES_ETAG_MAX, tmp);
        }
    }
    es_objstore_s3_req_free(&r);
    if (!st && etag_out && !etag_out[0]) {
        /* RGW 16 leaves <ETag> empty in CompleteMultipartUploadResult: ask for it. */
        es_obj_info info;
        es_error e2 = {0};
        if (s3_head(&s->base, key, &info, &e2) == ES_OK)
            memcpy(etag_out, info.etag, ES_ETAG_MAX);
    }
done:
    if (st)
        multipart_abort(s, key, upload_id); /* S3 */
    for (size_t i = 0; parts && i < np; i++)
        es_objstore_s3_req_free(&parts[i]);
    es_free(parts);
    es_free(pp);
    es_free(numbers);
    es_buf_reset(&xml);
    return st;
}

/* ------------------------------------------------------------------ list */

static es_status s3_list(es_objstore *base, const char *prefix, const char *start_after,
                         int64_t max_keys, es_obj_list *out, es_error *err)
{
    es_s3_store *s = (es_s3_store *)base;
    es_buf full_prefix = {0}, full_after = {0};
    char token[1024], maxk[24];
    es_status st = ES_OK;
    memset(out, 0, sizeof *out);
    if (max_keys <= 0 || max_keys > 1000)
        max_keys = 1000;
    token[0] = 0;
    if (es_buf_printf(&full_prefix, "%s%s", s->prefix, prefix ? prefix : "") ||
        (start_after && *start_after && es_buf_printf(&full_after, "%s%s", s->prefix, start_after)))
        return es_error_set(err, ES_NOMEM, 0, "%s: list: out of memory", base->uri);
    for (int page = 0;; page++) {
        es_s3_req r;
        int truncated = 0;
        es_objstore_s3_req_init(&r, "GET", prefix);
        snprintf(maxk, sizeof maxk, "%lld", (long long)(max_keys - out->n));
        es_objstore_s3_req_query(&r, "list-type", "2");
        es_objstore_s3_req_query(&r, "prefix", (char *)full_prefix.data);
        es_objstore_s3_req_query(&r, "max-keys", maxk);
        if (full_after.len)
            es_objstore_s3_req_query(&r, "start-after", (char *)full_after.data);
        if (token[0])
            es_objstore_s3_req_query(&r, "continuation-token", token);
        if ((st = es_objstore_s3_req_path(s, &r, NULL)) == ES_OK &&
            (st = es_objstore_s3_run_one(s, &r, 1)) == ES_OK &&
            (st = es_objstore_s3_req_error(s, &r, "list", err)) == ES_OK) {
            int64_t before = out->n;
            st = es_objstore_s3_parse_list(out, &truncated, token, sizeof token,
                                           (const char *)r.resp.data, r.resp.len, s->prefix, err);
            if (st == ES_CORRUPT)
                es_error_prefix(err, "s3://%s/%s%s", s->bucket, s->prefix, prefix);
            /* Guard against a server that repeats a page forever. */
            if (st == ES_OK && truncated && (!token[0] || (out->n == before && page > 100)))
                truncated = 0, out->truncated = 1;
        }
        es_objstore_s3_req_free(&r);
        if (st)
            break;
        if (out->n >= max_keys) {
            out->truncated = truncated;
            break;
        }
        if (!truncated || !token[0])
            break;
    }
    es_buf_reset(&full_prefix);
    es_buf_reset(&full_after);
    if (st)
        es_obj_list_reset(out);
    return st;
}

/* ------------------------------------------------------------------ delete */

/* Per-key DELETE, all at once in one batch (servers without multi-delete). */
static es_status delete_each(es_s3_store *s, const char *const *keys, int64_t n, es_error *err)
{
    es_s3_req *rs = es_calloc((size_t)n, sizeof *rs);
    es_s3_req **ps = es_calloc((size_t)n, sizeof *ps);
    es_status st = ES_OK;
    if (!rs || !ps) {
        es_free(rs);
        es_free(ps);
        return es_error_set(err, ES_NOMEM, 0, "%s: delete: out of memory", s->base.uri);
    }
    for (int64_t i = 0; i < n && !st; i++) {
        es_objstore_s3_req_init(&rs[i], "DELETE", keys[i]);
        ps[i] = &rs[i];
        if (es_objstore_s3_req_path(s, &rs[i], keys[i]))
            st = es_error_set(err, ES_NOMEM, 0, "%s: delete: out of memory", s->base.uri);
    }
    if (!st)
        st = es_objstore_s3_run_batch(s, ps, (int)n, 1);
    for (int64_t i = 0; i < n && !st; i++)
        if (!(rs[i].curl_code == CURLE_OK && rs[i].status == 404))
            st = es_objstore_s3_req_error(s, &rs[i], "delete", err);
    for (int64_t i = 0; i < n; i++)
        es_objstore_s3_req_free(&rs[i]);
    es_free(rs);
    es_free(ps);
    return st;
}

static es_status s3_del(es_objstore *base, const char *const *keys, int64_t n, es_error *err)
{
    es_s3_store *s = (es_s3_store *)base;
    es_status st = ES_OK;
    if (n > INT32_MAX / 2)
        return es_error_set(err, ES_INVALID, 0, "%s: delete: too many keys", base->uri);
    if (es_objstore_s3_env("ES_S3_DELETE") && !strcmp(es_objstore_s3_env("ES_S3_DELETE"), "single"))
        return delete_each(s, keys, n, err);
    for (int64_t at = 0; at < n && !st; at += 1000) {
        int64_t m = n - at < 1000 ? n - at : 1000;
        es_buf xml = {0};
        es_s3_req r;
        st = es_buf_printf(&xml, "<Delete><Quiet>true</Quiet>");
        for (int64_t i = 0; i < m && !st; i++) {
            st = es_buf_printf(&xml, "<Object><Key>%s", s->prefix);
            es_objstore_s3_xml_escape(&xml, keys[at + i], &st);
            if (!st)
                st = es_buf_printf(&xml, "</Key></Object>");
        }
        if (!st)
            st = es_buf_printf(&xml, "</Delete>");
        if (st) {
            es_buf_reset(&xml);
            return es_error_set(err, ES_NOMEM, 0, "%s: delete: out of memory", base->uri);
        }
        es_objstore_s3_req_init(&r, "POST", keys[at]);
        r.has_body = 1;
        r.body = xml.data;
        r.body_len = xml.len;
        es_sigv4_md5_base64(r.md5, xml.data, xml.len);
        es_objstore_s3_req_header(&r, "Content-MD5", r.md5);
        es_objstore_s3_req_header(&r, "Content-Type", "application/xml");
        es_objstore_s3_req_query(&r, "delete", NULL);
        if ((st = es_objstore_s3_req_path(s, &r, NULL)) == ES_OK &&
            (st = es_objstore_s3_run_one(s, &r, 1)) == ES_OK) {
            if (r.curl_code == CURLE_OK &&
                (r.status == 501 || r.status == 405 || !strcmp(r.s3_code, "NotImplemented"))) {
                st = delete_each(s, keys + at, m, err);
            } else if ((st = es_objstore_s3_req_error(s, &r, "delete", err)) == ES_OK) {
                /* Quiet mode: the body lists only the keys that failed. */
                const char *p = (const char *)r.resp.data, *end = p + r.resp.len, *cs, *ce, *nx;
                if (p && es_objstore_s3_xml_find(p, end, "Error", &cs, &ce, &nx)) {
                    char k[1100], code[64];
                    es_objstore_s3_xml_text(k, sizeof k, cs, (size_t)(ce - cs), "Key");
                    es_objstore_s3_xml_text(code, sizeof code, cs, (size_t)(ce - cs), "Code");
                    st = es_error_set(
                        err, es_objstore_s3_retryable(0, 200, code) ? ES_TRANSIENT : ES_REMOTE, 0,
                        "s3://%s/%s: delete: %s", s->bucket, k, code);
                }
            }
        }
        es_objstore_s3_req_free(&r);
        es_buf_reset(&xml);
    }
    return st;
}

/* ------------------------------------------------------------------ open */

static void s3_close(es_objstore *base)
{
    es_s3_store *s = (es_s3_store *)base;
    if (!s)
        return;
    es_objstore_s3_pool_free(s);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->probe_lock);
    if (s->secret)
        memset(s->secret, 0, strlen(s->secret));
    if (s->token)
        memset(s->token, 0, strlen(s->token));
    es_free(s->secret);
    es_free(s->token);
    es_free(s->access_key);
    es_free(s->bucket);
    es_free(s->prefix);
    es_free(s->url_base);
    es_free(s->host);
    es_free(s->endpoint);
    es_free(s->ca_bundle);
    es_free(s->base.uri);
    es_free(s);
}

/* S4: does the server refuse a second If-None-Match: * PUT? Sets cas_supported. */
static es_status probe_cas(es_s3_store *s, es_error *err)
{
    char key[64];
    es_s3_req r;
    es_status st;
    int attempts = es_objstore_s3_policy_attempts();
    snprintf(key, sizeof key, ".expstore-cas-probe-%016llx", (unsigned long long)es_random_u64());
    for (int round = 0; round < 2; round++) {
        es_objstore_s3_req_init(&r, "PUT", key);
        r.has_body = 1;
        r.body = (const uint8_t *)"probe";
        r.body_len = 5;
        es_objstore_s3_req_header(&r, "If-None-Match", "*");
        if ((st = es_objstore_s3_req_path(s, &r, key)) == ES_OK &&
            (st = es_objstore_s3_run_one(s, &r, attempts)) == ES_OK) {
            if (round == 1 && r.curl_code == CURLE_OK && r.status == 412)
                s->base.cas_supported = 1;
            else if (round == 1 && r.curl_code == CURLE_OK && r.status >= 200 && r.status < 300)
                s->base.cas_supported = 0;
            else
                st = es_objstore_s3_req_error(s, &r, "probing conditional writes", err);
            if (st == ES_EXISTS) /* 412 on the first PUT: a leftover key; try again later */
                st = es_error_set(err, ES_TRANSIENT, 412, "s3://%s/%s%s: probe key exists",
                                  s->bucket, s->prefix, key);
        }
        es_objstore_s3_req_free(&r);
        if (st)
            break;
    }
    const char *keys[1] = {key};
    es_error e2 = {0};
    s3_del(&s->base, keys, 1, &e2);
    return st;
}

/* S4: probe once, before the store's first put-if-absent (under probe_lock: concurrent puts
 * wait for one probe). A failed probe is reported as the put's failure and tried again by the
 * next put-if-absent. */
static es_status ensure_probed(es_s3_store *s, es_error *err)
{
    es_status st = ES_OK;
    if (__atomic_load_n(&s->cas_probed, __ATOMIC_ACQUIRE))
        return ES_OK;
    pthread_mutex_lock(&s->probe_lock);
    if (!s->cas_probed && (st = probe_cas(s, err)) == ES_OK) {
        if (!s->base.cas_supported) {
            /* A warning: to stderr, and in err with ES_OK (a successful put leaves it). */
            es_error w;
            es_error_set(&w, ES_OK, 0,
                         "s3://%s/%s: the server ignores If-None-Match on PUT (no put-if-absent): "
                         "this store is safe for a single writer only",
                         s->bucket, s->prefix);
            if (!es_objstore_s3_env("ES_S3_QUIET"))
                fprintf(stderr, "expstore: warning: %s\n", w.msg);
            if (err)
                *err = w;
        }
        __atomic_store_n(&s->cas_probed, 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&s->probe_lock);
    return st;
}

es_status es_objstore_s3_open(es_objstore **out, const char *uri, es_error *err)
{
    es_status st;
    *out = NULL;
    if (strncmp(uri, "s3://", 5) != 0)
        return es_error_set(err, ES_INVALID, 0, "%s: not an s3:// URI", uri);
    if ((st = es_objstore_s3_load(uri, err)))
        return st;
    const char *b = uri + 5, *slash = strchr(b, '/');
    size_t bl = slash ? (size_t)(slash - b) : strlen(b);
    if (bl == 0 || bl > 63)
        return es_error_set(err, ES_INVALID, 0, "%s: bad bucket name (1 to 63 characters)", uri);
    for (size_t i = 0; i < bl; i++) {
        char c = b[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
              c == '_' || (c >= 'A' && c <= 'Z')))
            return es_error_set(err, ES_INVALID, 0, "%s: bad character in bucket name", uri);
    }
    const char *pfx = slash ? slash + 1 : "";
    size_t pl = strlen(pfx);
    while (pl > 0 && pfx[pl - 1] == '/')
        pl--;
    for (size_t i = 0; i < pl; i++)
        if ((unsigned char)pfx[i] < 0x20 || pfx[i] == 0x7f || pfx[i] == '?' || pfx[i] == '#')
            return es_error_set(err, ES_INVALID, 0, "%s: bad character in prefix", uri);

    es_s3_store *s = es_calloc(1, sizeof *s);
    if (!s)
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", uri);
    if (es_objstore_init_base(&s->base, &s3_vtable, uri)) {
        es_free(s);
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", uri);
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->probe_lock, NULL);
    s->bucket = es_malloc(bl + 1);
    s->prefix = es_malloc(pl + 2);
    if (!s->bucket || !s->prefix) {
        s3_close(&s->base);
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", uri);
    }
    memcpy(s->bucket, b, bl);
    s->bucket[bl] = 0;
    memcpy(s->prefix, pfx, pl);
    if (pl)
        s->prefix[pl++] = '/';
    s->prefix[pl] = 0;

    if ((st = es_objstore_s3_configure(s, err))) {
        if (st == ES_NOMEM)
            es_error_set(err, ES_NOMEM, 0, "%s: out of memory", uri);
        s3_close(&s->base);
        return st;
    }
    /* S4: known now only when configured; else probed at the first put-if-absent. Opening
     * sends no request, so read-only credentials can open a store and read it. */
    const char *cas = es_objstore_s3_env("ES_S3_CAS");
    s->base.cas_supported = cas && !strcmp(cas, "on") ? 1 : cas && !strcmp(cas, "off") ? 0 : -1;
    s->cas_probed = s->base.cas_supported >= 0;
    *out = &s->base;
    return ES_OK;
}

es_status es_objstore_s3_describe(es_objstore *base, char *buf, size_t cap)
{
    if (!base || base->vt != &s3_vtable)
        return ES_INVALID;
    es_s3_store *s = (es_s3_store *)base;
    snprintf(buf, cap,
             "endpoint=%s url=%s region=%s addressing=%s bucket=%s prefix=%s access_key=%s "
             "secret=%s token=%s cas=%d tls_verify=%d multipart_threshold=%zu part_size=%zu",
             s->endpoint, s->url_base, s->region, s->path_style ? "path" : "virtual", s->bucket,
             s->prefix, s->access_key ? s->access_key : "(none)", s->secret ? "(set)" : "(none)",
             s->token ? "(set)" : "(none)", s->base.cas_supported, !s->insecure, s->mp_threshold,
             s->part_size);
    return ES_OK;
}

es_status es_objstore_s3_counters(es_objstore *base, int64_t *http_requests, int64_t *connects)
{
    if (!base || base->vt != &s3_vtable)
        return ES_INVALID;
    es_s3_store *s = (es_s3_store *)base;
    *http_requests = __atomic_load_n(&s->http_requests, __ATOMIC_RELAXED);
    *connects = __atomic_load_n(&s->connects, __ATOMIC_RELAXED);
    return ES_OK;
}

es_status es_objstore_s3_pending_uploads(es_objstore *base, int64_t *n, es_error *err)
{
    if (!base || base->vt != &s3_vtable)
        return es_error_set(err, ES_INVALID, 0, "not an S3 store");
    es_s3_store *s = (es_s3_store *)base;
    es_s3_req r;
    es_status st;
    *n = 0;
    es_objstore_s3_req_init(&r, "GET", "");
    es_objstore_s3_req_query(&r, "uploads", NULL);
    es_objstore_s3_req_query(&r, "prefix", s->prefix);
    if ((st = es_objstore_s3_req_path(s, &r, NULL)) == ES_OK &&
        (st = es_objstore_s3_run_one(s, &r, 1)) == ES_OK &&
        (st = es_objstore_s3_req_error(s, &r, "list multipart uploads", err)) == ES_OK) {
        const char *p = (const char *)r.resp.data, *end = p + r.resp.len, *cs, *ce, *nx;
        while (p && es_objstore_s3_xml_find(p, end, "Upload", &cs, &ce, &nx)) {
            (*n)++;
            p = nx;
        }
    }
    es_objstore_s3_req_free(&r);
    return st;
}

static const es_objstore_vtable s3_vtable = {
    ES_OBJSTORE_VTABLE_VERSION,
    s3_get,
    s3_get_many,
    s3_head,
    s3_put,
    s3_list,
    s3_del,
    s3_close,
    NULL, /* a PUT is durable when it returns */
};
