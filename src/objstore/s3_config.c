/*
 * s3_config: the configuration of the S3 backend (objstore layer; see s3_internal.h), resolved
 * once at open from the environment and the ~/.aws files; later changes to the environment are
 * not seen.
 *
 *   URI             s3://bucket[/prefix]  (keys are stored as prefix/key; parsed by s3.c)
 *   credentials     AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, else the
 *                   profile AWS_PROFILE (default "default") of AWS_SHARED_CREDENTIALS_FILE
 *                   (~/.aws/credentials) and AWS_CONFIG_FILE (~/.aws/config); none: unsigned
 *                   requests (public buckets), and a 401/403 then says what was looked at
 *   region          AWS_REGION, AWS_DEFAULT_REGION, the profile's region, else us-east-1
 *   endpoint        AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile's endpoint_url, else
 *                   https://s3.<region>.amazonaws.com
 *   addressing      ES_S3_ADDRESSING or AWS_S3_ADDRESSING_STYLE (or the profile's
 *                   addressing_style) = path | virtual | auto; auto: virtual-hosted for the AWS
 *                   endpoint (path-style when the bucket name has a dot), path-style for custom
 *                   endpoints
 *   TLS             peer verification always on, AWS_CA_BUNDLE for a private CA;
 *                   ES_S3_INSECURE=1 turns verification off (tests against self-signed servers)
 *   multipart       ES_S3_MULTIPART_THRESHOLD (bytes, default 16 MiB), ES_S3_PART_SIZE (default
 *                   8 MiB, at least 5 MiB on real servers)
 *   concurrency     ES_S3_MAX_INFLIGHT requests at once in one batch (default 64)
 *   timeouts        of one attempt (s3_http.c): ES_S3_CONNECT_TIMEOUT_MS (TCP and TLS
 *                   handshake, default 3000), ES_S3_READ_TIMEOUT_S (no byte sent or received
 *                   for that long, default 30), ES_S3_TIMEOUT_MS (the whole attempt, default 0 =
 *                   none, as large objects take long)
 *   conditional     ES_S3_CAS = probe (default) | on | off: whether put-if-absent is honoured
 *                   (s3.c); If-Match carries the bare ETag (RGW answers 412 to the quoted form
 *                   even when it matches; AWS takes both), ES_S3_QUOTE_ETAG=1 quotes it
 */
#include "objstore/s3_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Look key up in section of an INI file (~/.aws style). Indented "key = value" lines of a
 * nested block (s3 =\n  addressing_style = path) count as keys of the section. */
static int ini_get(const char *path, const char *section, const char *key, char *out, size_t cap)
{
    FILE *f = path ? fopen(path, "r") : NULL;
    char line[1024];
    int in = 0, found = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f)) {
        char *s = line, *e;
        while (*s == ' ' || *s == '\t')
            s++;
        e = s + strlen(s);
        while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
            *--e = 0;
        if (*s == '#' || *s == ';' || !*s)
            continue;
        if (*s == '[') {
            char *r = strchr(s, ']');
            if (!r)
                continue;
            *r = 0;
            s++;
            while (*s == ' ')
                s++;
            e = s + strlen(s);
            while (e > s && e[-1] == ' ')
                *--e = 0;
            in = strcmp(s, section) == 0;
            continue;
        }
        if (!in)
            continue;
        char *eq = strchr(s, '=');
        if (!eq)
            continue;
        char *k = s, *ke = eq;
        while (ke > k && (ke[-1] == ' ' || ke[-1] == '\t'))
            ke--;
        *ke = 0;
        char *v = eq + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        if (strcmp(k, key) == 0 && *v) {
            snprintf(out, cap, "%s", v);
            found = 1;
            break;
        }
    }
    fclose(f);
    return found;
}

const char *es_objstore_s3_env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static long env_long(const char *name, long dflt)
{
    const char *v = es_objstore_s3_env(name);
    if (!v)
        return dflt;
    char *endp;
    long long x = strtoll(v, &endp, 10);
    if (*endp == 'k' || *endp == 'K')
        x *= 1024, endp++;
    else if (*endp == 'm' || *endp == 'M')
        x *= 1024 * 1024, endp++;
    return (*endp || x < 0) ? dflt : (long)x;
}

typedef struct s3_files {
    char cred[1024], conf[1024];
    char profile[128];
    char conf_section[160];
} s3_files;

static void files_init(s3_files *f)
{
    const char *home = es_objstore_s3_env("HOME");
    const char *p = es_objstore_s3_env("AWS_PROFILE");
    snprintf(f->profile, sizeof f->profile, "%s", p ? p : "default");
    if (es_objstore_s3_env("AWS_SHARED_CREDENTIALS_FILE"))
        snprintf(f->cred, sizeof f->cred, "%s", es_objstore_s3_env("AWS_SHARED_CREDENTIALS_FILE"));
    else if (home)
        snprintf(f->cred, sizeof f->cred, "%s/.aws/credentials", home);
    else
        f->cred[0] = 0;
    if (es_objstore_s3_env("AWS_CONFIG_FILE"))
        snprintf(f->conf, sizeof f->conf, "%s", es_objstore_s3_env("AWS_CONFIG_FILE"));
    else if (home)
        snprintf(f->conf, sizeof f->conf, "%s/.aws/config", home);
    else
        f->conf[0] = 0;
    if (strcmp(f->profile, "default") == 0)
        snprintf(f->conf_section, sizeof f->conf_section, "default");
    else
        snprintf(f->conf_section, sizeof f->conf_section, "profile %s", f->profile);
}

/* A setting from the config file's profile section (or the credentials file for keys). */
static int profile_get(const s3_files *f, const char *key, char *out, size_t cap)
{
    if (f->cred[0] && ini_get(f->cred, f->profile, key, out, cap))
        return 1;
    if (f->conf[0] && ini_get(f->conf, f->conf_section, key, out, cap))
        return 1;
    return 0;
}

static int readable(const char *path)
{
    FILE *f = path[0] ? fopen(path, "r") : NULL;
    if (f)
        fclose(f);
    return f != NULL;
}

/* No credentials anywhere: requests go unsigned (public buckets). Record what was looked at,
 * for the message of a 401 or 403 (es_objstore_s3_req_error). */
static void no_credentials(es_s3_store *s, const s3_files *f)
{
    const char *id = es_objstore_s3_env("AWS_ACCESS_KEY_ID");
    const char *key = es_objstore_s3_env("AWS_SECRET_ACCESS_KEY");
    int n =
        snprintf(s->cred_hint, sizeof s->cred_hint,
                 "no credentials: %s, AWS_PROFILE not set, no aws_access_key_id for profile \"%s\" "
                 "in %s%s or %s%s; the request was sent unsigned",
                 id    ? "AWS_ACCESS_KEY_ID set without AWS_SECRET_ACCESS_KEY"
                 : key ? "AWS_SECRET_ACCESS_KEY set without AWS_ACCESS_KEY_ID"
                       : "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY not set",
                 f->profile, f->cred[0] ? f->cred : "~/.aws/credentials",
                 readable(f->cred) ? "" : " (no such file)", f->conf[0] ? f->conf : "~/.aws/config",
                 readable(f->conf) ? "" : " (no such file)");
    if (n >= (int)sizeof s->cred_hint) /* long paths */
        memcpy(s->cred_hint + sizeof s->cred_hint - 4, "...", 4);
}

static char *dup_or_null(const char *s)
{
    return s ? es_strdup(s) : NULL;
}

/* Resolve everything but the bucket and prefix. */
es_status es_objstore_s3_configure(es_s3_store *s, es_error *err)
{
    s3_files f;
    char buf[1024], endpoint[1024], style[32];
    files_init(&f);

    /* Credentials: the environment as a set, else the profile. */
    if (es_objstore_s3_env("AWS_ACCESS_KEY_ID") && es_objstore_s3_env("AWS_SECRET_ACCESS_KEY")) {
        s->access_key = es_strdup(es_objstore_s3_env("AWS_ACCESS_KEY_ID"));
        s->secret = es_strdup(es_objstore_s3_env("AWS_SECRET_ACCESS_KEY"));
        s->token = dup_or_null(es_objstore_s3_env("AWS_SESSION_TOKEN"));
        if (!s->access_key || !s->secret || (es_objstore_s3_env("AWS_SESSION_TOKEN") && !s->token))
            return ES_NOMEM;
    } else {
        if (profile_get(&f, "aws_access_key_id", buf, sizeof buf) &&
            !(s->access_key = es_strdup(buf)))
            return ES_NOMEM;
        if (profile_get(&f, "aws_secret_access_key", buf, sizeof buf) &&
            !(s->secret = es_strdup(buf)))
            return ES_NOMEM;
        if (profile_get(&f, "aws_session_token", buf, sizeof buf) && !(s->token = es_strdup(buf)))
            return ES_NOMEM;
        memset(buf, 0, sizeof buf); /* it held the secret */
        if (es_objstore_s3_env("AWS_PROFILE") && !s->access_key)
            return es_error_set(err, ES_INVALID, 0,
                                "%s: profile \"%s\" has no aws_access_key_id (in %s)", s->base.uri,
                                f.profile, f.cred[0] ? f.cred : "~/.aws/credentials");
        if ((s->access_key != NULL) != (s->secret != NULL))
            return es_error_set(err, ES_INVALID, 0,
                                "%s: profile \"%s\" has an access key id without a secret or "
                                "the reverse",
                                s->base.uri, f.profile);
        if (!s->access_key)
            no_credentials(s, &f);
    }

    /* Region. */
    if (es_objstore_s3_env("AWS_REGION"))
        snprintf(s->region, sizeof s->region, "%s", es_objstore_s3_env("AWS_REGION"));
    else if (es_objstore_s3_env("AWS_DEFAULT_REGION"))
        snprintf(s->region, sizeof s->region, "%s", es_objstore_s3_env("AWS_DEFAULT_REGION"));
    else if (!profile_get(&f, "region", s->region, sizeof s->region))
        snprintf(s->region, sizeof s->region, "us-east-1");

    /* Endpoint and addressing style. */
    int custom = 1;
    if (es_objstore_s3_env("AWS_ENDPOINT_URL_S3"))
        snprintf(endpoint, sizeof endpoint, "%s", es_objstore_s3_env("AWS_ENDPOINT_URL_S3"));
    else if (es_objstore_s3_env("AWS_ENDPOINT_URL"))
        snprintf(endpoint, sizeof endpoint, "%s", es_objstore_s3_env("AWS_ENDPOINT_URL"));
    else if (!profile_get(&f, "endpoint_url", endpoint, sizeof endpoint)) {
        snprintf(endpoint, sizeof endpoint, "https://s3.%s.amazonaws.com", s->region);
        custom = 0;
    }
    size_t el = strlen(endpoint);
    while (el > 0 && endpoint[el - 1] == '/')
        endpoint[--el] = 0;
    if (!(s->endpoint = es_strdup(endpoint)))
        return ES_NOMEM;
    style[0] = 0;
    if (es_objstore_s3_env("ES_S3_ADDRESSING"))
        snprintf(style, sizeof style, "%s", es_objstore_s3_env("ES_S3_ADDRESSING"));
    else if (es_objstore_s3_env("AWS_S3_ADDRESSING_STYLE"))
        snprintf(style, sizeof style, "%s", es_objstore_s3_env("AWS_S3_ADDRESSING_STYLE"));
    else
        profile_get(&f, "addressing_style", style, sizeof style);
    if (!style[0] || !strcmp(style, "auto"))
        s->path_style = custom || strchr(s->bucket, '.') != NULL;
    else if (!strcmp(style, "path"))
        s->path_style = 1;
    else if (!strcmp(style, "virtual"))
        s->path_style = 0;
    else
        return es_error_set(err, ES_INVALID, 0,
                            "%s: addressing style \"%s\" (use path, virtual or auto)", s->base.uri,
                            style);

    const char *scheme_end = strstr(endpoint, "://");
    const char *authority = scheme_end ? scheme_end + 3 : endpoint;
    if (!scheme_end && !(endpoint[0]))
        return es_error_set(err, ES_INVALID, 0, "%s: empty endpoint", s->base.uri);
    if (strchr(authority, '/') || strchr(authority, '?') || !*authority)
        return es_error_set(err, ES_INVALID, 0,
                            "%s: endpoint \"%s\" must be scheme://host[:port] without a path",
                            s->base.uri, endpoint);
    char scheme[16];
    snprintf(scheme, sizeof scheme, "%.*s", scheme_end ? (int)(scheme_end - endpoint) : 5,
             scheme_end ? endpoint : "https");
    if (strcmp(scheme, "http") && strcmp(scheme, "https"))
        return es_error_set(err, ES_INVALID, 0, "%s: endpoint scheme \"%s\" (use http or https)",
                            s->base.uri, scheme);
    es_buf h = {0}, u = {0};
    es_status st;
    if (s->path_style)
        st = es_buf_printf(&h, "%s", authority);
    else
        st = es_buf_printf(&h, "%s.%s", s->bucket, authority);
    if (!st)
        st = es_buf_printf(&u, "%s://%s", scheme, (char *)h.data);
    if (st) {
        es_buf_reset(&h);
        es_buf_reset(&u);
        return ES_NOMEM;
    }
    s->host = (char *)h.data;
    s->url_base = (char *)u.data;

    if (es_objstore_s3_env("AWS_CA_BUNDLE") &&
        !(s->ca_bundle = es_strdup(es_objstore_s3_env("AWS_CA_BUNDLE"))))
        return ES_NOMEM;
    s->insecure = env_long("ES_S3_INSECURE", 0) != 0;
    s->quote_etag = env_long("ES_S3_QUOTE_ETAG", 0) != 0;
    s->mp_threshold = (size_t)env_long("ES_S3_MULTIPART_THRESHOLD", 16L << 20);
    s->part_size = (size_t)env_long("ES_S3_PART_SIZE", 8L << 20);
    if (s->part_size < 1024)
        s->part_size = 1024;
    if (s->mp_threshold < s->part_size)
        s->mp_threshold = s->part_size;
    s->max_inflight = (int)env_long("ES_S3_MAX_INFLIGHT", 64);
    if (s->max_inflight < 1)
        s->max_inflight = 1;
    if (s->max_inflight > 1024)
        s->max_inflight = 1024;
    s->connect_timeout_ms = env_long("ES_S3_CONNECT_TIMEOUT_MS", 3000);
    s->read_timeout_s = env_long("ES_S3_READ_TIMEOUT_S", 30);
    s->timeout_ms = env_long("ES_S3_TIMEOUT_MS", 0);
    return ES_OK;
}
