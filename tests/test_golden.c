/*
 * test_golden: Apache Arrow's golden integration files (../shared/arrow-golden, versions
 * 1.0.0-littleendian and 2.0.0-compression; never copied into the repository). Every file either
 * reads completely, with every batch validated by es_array_view_init (dictionary-encoded
 * columns after es_dict_decode_batches, as imports see them), or fails with ES_UNSUPPORTED
 * (nested, dictionaries of nested values, union, interval, decimal256 ...) with a message naming
 * the field; nothing else. For readable files, the .arrow_file (random access, read backwards) and
 * the .stream of the same data give the same canonical JSON. The comparison with what
 * apache-arrow JS reads from the same files is the interop test ipc_interop_golden.
 * Skips when the directory is absent.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/ipc.h"
#include "check.h"

static es_blob *load(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *d = es_malloc(n > 0 ? (size_t)n : 1);
    es_blob *b = NULL;
    if (d && fread(d, 1, (size_t)n, f) == (size_t)n && es_blob_new_owned(&b, d, (size_t)n) == 0)
        d = NULL;
    es_free(d);
    fclose(f);
    return b;
}

/* Canonical JSON of everything in the blob through the stream reader; *st gets the status. */
static char *dump_stream(es_blob *blob, es_status *st, es_error *err)
{
    char *p = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&p, &n);
    struct ArrowArrayStream s;
    *st = es_ipc_reader_open(&s, blob, err);
    if (*st == ES_OK) {
        struct ArrowSchema sch;
        int rc = s.get_schema(&s, &sch);
        CHECK_EQ_INT(rc, 0);
        if (rc == 0) {
            /* Dictionary-encoded columns are compared decoded, as an import sees them. */
            struct ArrowSchema dec;
            CHECK_OK(es_dict_decode_batches(&dec, &sch, NULL, 0, err));
            if (dec.release) {
                es_schema_release(&sch);
                sch = dec;
                s.get_schema(&s, &dec);
            }
            CHECK_OK(es_json_write_schema(f, &sch, err));
            for (;;) {
                struct ArrowArray a;
                if (s.get_next(&s, &a) != 0) {
                    *st = ES_CORRUPT;
                    snprintf(err->msg, sizeof err->msg, "%s", s.get_last_error(&s));
                    break;
                }
                if (!a.release)
                    break;
                if (dec.release) {
                    struct ArrowSchema tmp;
                    es_status ds = es_dict_decode_batches(&tmp, &dec, &a, 1, err);
                    es_schema_release(&tmp);
                    if (ds) {
                        *st = ds;
                        es_array_release(&a);
                        break;
                    }
                }
                es_array_view v;
                CHECK_OK(es_array_view_init(&v, &sch, &a, err));
                es_array_view_reset(&v);
                CHECK_OK(es_json_write_rows(f, &sch, &a, err));
                es_array_release(&a);
            }
            es_schema_release(&sch);
            es_schema_release(&dec);
        }
        s.release(&s);
    }
    fclose(f);
    return p;
}

/* The same through es_ipc_file_*, batches read in reverse order and emitted in order. */
static char *dump_file_backwards(es_blob *blob, es_error *err)
{
    es_ipc_file *f = NULL;
    if (es_ipc_file_open(&f, blob, err) != ES_OK)
        return NULL;
    int64_t n = es_ipc_file_num_batches(f);
    char **parts = calloc((size_t)n + 1, sizeof *parts);
    for (int64_t i = n - 1; i >= 0; i--) {
        size_t len = 0;
        FILE *m = open_memstream(&parts[i], &len);
        struct ArrowArray a;
        struct ArrowSchema dec;
        CHECK_OK(es_ipc_file_read(f, i, &a, err));
        CHECK_OK(es_dict_decode_batches(&dec, es_ipc_file_schema(f), &a, 1, err));
        if (a.release) {
            CHECK_OK(es_json_write_rows(m, dec.release ? &dec : es_ipc_file_schema(f), &a, err));
            es_array_release(&a);
        }
        es_schema_release(&dec);
        fclose(m);
    }
    char *p = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&p, &len);
    struct ArrowSchema dec;
    CHECK_OK(es_dict_decode_batches(&dec, es_ipc_file_schema(f), NULL, 0, err));
    CHECK_OK(es_json_write_schema(m, dec.release ? &dec : es_ipc_file_schema(f), err));
    es_schema_release(&dec);
    for (int64_t i = 0; i < n; i++) {
        fputs(parts[i] ? parts[i] : "", m);
        free(parts[i]);
    }
    fclose(m);
    free(parts);
    es_ipc_file_close(f);
    return p;
}

int main(void)
{
    const char *src = getenv("ES_SOURCE_DIR");
    char root[4096];
    snprintf(root, sizeof root, "%s/../shared/arrow-golden", src ? src : "..");
    static const char *const versions[] = {"1.0.0-littleendian", "2.0.0-compression"};
    int files = 0, supported = 0, unsupported = 0;
    for (int v = 0; v < 2; v++) {
        char dir[4200];
        snprintf(dir, sizeof dir, "%s/%s", root, versions[v]);
        DIR *d = opendir(dir);
        if (!d) {
            if (v == 0)
                CHECK_SKIP("../shared/arrow-golden is absent");
            continue;
        }
        struct dirent *e;
        while ((e = readdir(d))) {
            size_t l = strlen(e->d_name);
            if (l < 12 || strcmp(e->d_name + l - 11, ".arrow_file") != 0)
                continue;
            char fpath[8400], spath[8400];
            snprintf(fpath, sizeof fpath, "%s/%s", dir, e->d_name);
            snprintf(spath, sizeof spath, "%s/%.*s.stream", dir, (int)(l - 11), e->d_name);
            es_blob *fb = load(fpath), *sb = load(spath);
            CHECK(fb != NULL && sb != NULL);
            if (!fb || !sb) {
                es_blob_unref(fb);
                es_blob_unref(sb);
                continue;
            }
            files += 2;
            es_error err1 = {0}, err2 = {0};
            es_status st1, st2;
            char *j1 = dump_stream(fb, &st1, &err1);
            char *j2 = dump_stream(sb, &st2, &err2);
            CHECK(st1 == ES_OK || st1 == ES_UNSUPPORTED);
            CHECK_EQ_INT(st1, st2);
            if (st1 != ES_OK && st1 != ES_UNSUPPORTED)
                fprintf(stderr, "%s: %s\n", fpath, err1.msg);
            if (st1 == ES_OK && st2 == ES_OK) {
                supported += 2;
                CHECK(j1 && j2 && strcmp(j1, j2) == 0);
                char *j3 = dump_file_backwards(fb, &err1);
                CHECK(j1 && j3 && strcmp(j1, j3) == 0);
                free(j3);
            } else if (st1 == ES_UNSUPPORTED) {
                unsupported += 2;
                CHECK(strstr(err1.msg, "field '") != NULL || strstr(err1.msg, "dictionar"));
                printf("unsupported: %s: %s\n", e->d_name, err1.msg);
            }
            free(j1);
            free(j2);
            es_blob_unref(fb);
            es_blob_unref(sb);
        }
        closedir(d);
    }
    printf("%d golden files: %d read, %d unsupported\n", files, supported, unsupported);
    CHECK(supported >= 20);
    return CHECK_DONE();
}
