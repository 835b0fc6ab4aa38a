/*
 * maint: `expstore vacuum` and `expstore fsck` (public API only: es_vacuum, es_fsck).
 *
 *   expstore vacuum [--retain-versions N] [--retain-hours H] [--min-age-seconds S] STORE
 *   expstore fsck [-q] STORE
 *
 * vacuum prints what it deleted; fsck prints one line per problem (and, without -q, per
 * unreferenced object), then a summary, and exits 0 when the store is consistent, 1 when it is
 * not, 2 when it could not be checked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expstore/expstore.h"
#include "tools.h"

static int num_arg(int argc, char **argv, int *i, int64_t *out)
{
    char *end = NULL;
    if (*i + 1 >= argc)
        return 0;
    long long v = strtoll(argv[++*i], &end, 10);
    if (!*argv[*i] || *end || v < 0)
        return 0;
    *out = v;
    return 1;
}

static es_store *open_existing(const char *uri, const es_open_options *o)
{
    es_store *s = NULL;
    if (es_store_open(&s, uri, o) != ES_OK) {
        const char *msg = es_store_errmsg(s); /* most name the store already */
        if (strncmp(msg, uri, strlen(uri)) == 0)
            fprintf(stderr, "expstore: %s\n", msg);
        else
            fprintf(stderr, "expstore: %s: %s\n", uri, msg);
        es_store_close(s);
        return NULL;
    }
    return s;
}

int es_tool_vacuum(int argc, char **argv)
{
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.create = 0;
    const char *uri = NULL;
    for (int i = 1; i < argc; i++) {
        int64_t v = 0;
        if (strcmp(argv[i], "--retain-versions") == 0 && num_arg(argc, argv, &i, &v)) {
            o.retain_versions = v;
        } else if (strcmp(argv[i], "--retain-hours") == 0 && num_arg(argc, argv, &i, &v)) {
            o.retain_ms = v * 3600000;
        } else if (strcmp(argv[i], "--min-age-seconds") == 0 && num_arg(argc, argv, &i, &v)) {
            o.vacuum_min_age_ms = v * 1000;
        } else if (argv[i][0] != '-' && !uri) {
            uri = argv[i];
        } else {
            uri = NULL;
            break;
        }
    }
    if (!uri) {
        fprintf(stderr, "usage: expstore vacuum [--retain-versions N] [--retain-hours H] "
                        "[--min-age-seconds S] STORE\n");
        return 2;
    }
    es_store *s = open_existing(uri, &o);
    if (!s)
        return 1;
    es_vacuum_info info;
    int rc = 0;
    if (es_vacuum(s, &info) != ES_OK) {
        fprintf(stderr, "expstore vacuum: %s\n", es_store_errmsg(s));
        rc = 1;
    } else {
        printf("vacuum at version %lld: kept versions from %lld; deleted %lld objects (%lld "
               "bytes), %lld log objects, %lld temporary files\n",
               (long long)info.version, (long long)info.retain_from,
               (long long)info.objects_deleted, (long long)info.bytes_deleted,
               (long long)info.log_deleted, (long long)info.temp_deleted);
    }
    es_store_close(s);
    return rc;
}

static void print_line(void *ctx, int problem, const char *line)
{
    int quiet = *(int *)ctx;
    if (problem || !quiet)
        printf("%s%s\n", problem ? "problem: " : "", line);
}

int es_tool_fsck(int argc, char **argv)
{
    int quiet = 0;
    const char *uri = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-q") == 0)
            quiet = 1;
        else if (argv[i][0] != '-' && !uri)
            uri = argv[i];
        else
            uri = NULL;
    }
    if (!uri) {
        fprintf(stderr, "usage: expstore fsck [-q] STORE\n");
        return 2;
    }
    es_open_options o = ES_OPEN_OPTIONS_INIT;
    o.create = 0;
    es_store *s = open_existing(uri, &o);
    if (!s)
        return 2;
    es_fsck_info info;
    es_status st = es_fsck(s, print_line, &quiet, &info);
    int rc = st == ES_OK ? 0 : st == ES_CORRUPT ? 1 : 2;
    if (rc == 2 || (rc == 1 && info.problems == 0)) /* a failure no problem line named */
        fprintf(stderr, "expstore fsck: %s\n", es_store_errmsg(s));
    if (rc != 2)
        printf("%s: %lld versions, %lld objects checked, %lld problems, %lld unreferenced objects "
               "(%lld bytes)\n",
               rc ? "inconsistent" : "consistent", (long long)info.versions,
               (long long)info.objects, (long long)info.problems, (long long)info.unreferenced,
               (long long)info.unreferenced_bytes);
    es_store_close(s);
    return rc;
}
