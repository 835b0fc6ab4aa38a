/*
 * arrow_dump: `expstore arrow-dump FILE...` prints each Arrow IPC file or stream as canonical
 * JSON (see src/arrow_json.c): the schema line, then one line per row. Public API only.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "expstore/arrow.h"
#include "tools.h"

static int read_file(const char *path, es_blob **out)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "arrow-dump: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16, len = 0;
    uint8_t *data = es_malloc(cap);
    while (data) {
        if (len == cap) {
            uint8_t *d = es_realloc(data, cap * 2);
            if (!d) {
                es_free(data);
                data = NULL;
                break;
            }
            data = d;
            cap *= 2;
        }
        size_t n = fread(data + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (!data || bad) {
        fprintf(stderr, "arrow-dump: %s: %s\n", path, data ? "read error" : "out of memory");
        es_free(data);
        return -1;
    }
    if (es_blob_new_owned(out, data, len) != ES_OK) {
        es_free(data);
        fprintf(stderr, "arrow-dump: %s: out of memory\n", path);
        return -1;
    }
    return 0;
}

static int dump_one(const char *path)
{
    es_blob *blob;
    es_error err = {0};
    struct ArrowArrayStream stream;
    struct ArrowSchema schema;
    int rc = 1;
    if (read_file(path, &blob))
        return 1;
    memset(&schema, 0, sizeof schema);
    es_status st = es_ipc_reader_open(&stream, blob, &err);
    es_blob_unref(blob);
    if (st) {
        fprintf(stderr, "arrow-dump: %s: %s\n", path, err.msg);
        return 1;
    }
    int e = stream.get_schema(&stream, &schema);
    if (e) {
        const char *m = stream.get_last_error(&stream);
        fprintf(stderr, "arrow-dump: %s: %s\n", path, m ? m : strerror(e));
        goto out;
    }
    if (es_json_write_schema(stdout, &schema, &err) != ES_OK) {
        fprintf(stderr, "arrow-dump: %s: %s\n", path, err.msg);
        goto out;
    }
    for (;;) {
        struct ArrowArray batch;
        e = stream.get_next(&stream, &batch);
        if (e) {
            const char *m = stream.get_last_error(&stream);
            fprintf(stderr, "arrow-dump: %s: %s\n", path, m ? m : strerror(e));
            goto out;
        }
        if (!batch.release)
            break;
        st = es_json_write_rows(stdout, &schema, &batch, &err);
        es_array_release(&batch);
        if (st) {
            fprintf(stderr, "arrow-dump: %s: %s\n", path, err.msg);
            goto out;
        }
    }
    rc = 0;
out:
    es_schema_release(&schema);
    es_stream_release(&stream);
    if (fflush(stdout) != 0)
        rc = 1;
    return rc;
}

int es_tool_arrow_dump(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: expstore arrow-dump FILE...\n");
        return 2;
    }
    int rc = 0;
    for (int i = 1; i < argc; i++)
        if (dump_one(argv[i]))
            rc = 1;
    return rc;
}
