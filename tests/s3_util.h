/*
 * s3_util.h: what the S3 backend's tests share (test_s3_client, without a server; test_s3,
 * against one): object contents, a fast retry policy, and the configuration variables saved
 * and cleared around a test.
 */
#ifndef ES_TEST_S3_UTIL_H
#define ES_TEST_S3_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "objstore/objstore.h"

#pragma GCC diagnostic ignored "-Wunused-function"

static int blob_eq(const es_blob *b, const void *p, size_t n)
{
    return b && b->size == n && (n == 0 || memcmp(b->data, p, n) == 0);
}

static es_retry_policy fast_retry = {3, 1000 * 1000, 5 * 1000 * 1000};

static const char *config_vars[] = {"AWS_ACCESS_KEY_ID",
                                    "AWS_SECRET_ACCESS_KEY",
                                    "AWS_SESSION_TOKEN",
                                    "AWS_REGION",
                                    "AWS_DEFAULT_REGION",
                                    "AWS_ENDPOINT_URL",
                                    "AWS_ENDPOINT_URL_S3",
                                    "AWS_PROFILE",
                                    "AWS_SHARED_CREDENTIALS_FILE",
                                    "AWS_CONFIG_FILE",
                                    "ES_S3_ADDRESSING",
                                    "AWS_S3_ADDRESSING_STYLE",
                                    "ES_S3_CAS"};
#define NVARS (sizeof config_vars / sizeof config_vars[0])

static void save_env(char **saved)
{
    for (size_t i = 0; i < NVARS; i++) {
        const char *v = getenv(config_vars[i]);
        saved[i] = v ? strdup(v) : NULL;
        unsetenv(config_vars[i]);
    }
}

static void restore_env(char **saved)
{
    for (size_t i = 0; i < NVARS; i++) {
        if (saved[i])
            setenv(config_vars[i], saved[i], 1);
        else
            unsetenv(config_vars[i]);
        free(saved[i]);
    }
}

#endif /* ES_TEST_S3_UTIL_H */
