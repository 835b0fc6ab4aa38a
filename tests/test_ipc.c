/*
 * test_ipc: Arrow IPC (src/arrow/ipc_*.c, src/arrow/flatbuf.c). Round trips of every supported type
 * with nulls through both formats and both codecs, slices, empty and many batches, random access,
 * the column-range API of arrow/ipc.h, unsupported types, truncation at every offset, random
 * byte flips, misaligned input and an allocation-failure loop. Values are compared through the
 * canonical JSON of arrow/json.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/ipc.h"
#include "arrow/ipc_format.h"
#include "check.h"
#include "testutil.h"
#include "arrow/flatbuf.h"

static const struct {
    const char *fmt;
    const char *name;
} all_types[] = {
    {"n", "null"},
    {"b", "bool"},
    {"c", "i8"},
    {"C", "u8"},
    {"s", "i16"},
    {"S", "u16"},
    {"i", "i32"},
    {"I", "u32"},
    {"l", "i64"},
    {"L", "u64"},
    {"f", "f32"},
    {"g", "f64"},
    {"u", "utf8"},
    {"U", "large_utf8"},
    {"z", "binary"},
    {"Z", "large_binary"},
    {"w:5", "fsb5"},
    {"tdD", "date32"},
    {"tdm", "date64"},
    {"tts", "time32s"},
    {"ttm", "time32ms"},
    {"ttu", "time64us"},
    {"ttn", "time64ns"},
    {"tss:", "ts_s"},
    {"tsm:UTC", "ts_ms_utc"},
    {"tsu:America/New_York", "ts_us_ny"},
    {"tsn:", "ts_ns"},
    {"tDs", "dur_s"},
    {"tDm", "dur_ms"},
    {"tDu", "dur_us"},
    {"tDn", "dur_ns"},
    {"d:10,2", "dec10_2"},
    {"d:38,10", "dec38_10"},
};
#define N_TYPES ((int64_t)(sizeof all_types / sizeof all_types[0]))

static void make_schema(struct ArrowSchema *s)
{
    es_error err;
    CHECK_OK(es_schema_init_struct(s, N_TYPES, &err));
    for (int64_t i = 0; i < N_TYPES; i++)
        CHECK_OK(es_schema_init(s->children[i], all_types[i].fmt, all_types[i].name,
                                ARROW_FLAG_NULLABLE, &err));
    const char *k[] = {"origin", "empty"}, *v[] = {"test_ipc \xc3\xa9", ""};
    CHECK_OK(es_schema_set_metadata(s, 2, k, v, &err));
    const char *fk[] = {"unit"}, *fv[] = {"kg"};
    CHECK_OK(es_schema_set_metadata(s->children[8], 1, fk, fv, &err));
    s->children[1]->flags = 0; /* one non-nullable field (written without nulls) */
}

static void append_value(es_builder *b, const char *fmt, int nullable)
{
    uint64_t r = rnd();
    if (fmt[0] == 'n' || (nullable && r % 5 == 0)) {
        es_builder_append_null(b, 1);
        return;
    }
    r >>= 8;
    es_status st = ES_OK;
    switch (fmt[0]) {
    case 'b':
        st = es_builder_append_int(b, (int64_t)(r & 1));
        break;
    case 'c':
        st = es_builder_append_int(b, (int8_t)r);
        break;
    case 'C':
        st = es_builder_append_uint(b, (uint8_t)r);
        break;
    case 's':
        st = es_builder_append_int(b, (int16_t)r);
        break;
    case 'S':
        st = es_builder_append_uint(b, (uint16_t)r);
        break;
    case 'i':
        st = es_builder_append_int(b, (int32_t)r);
        break;
    case 'I':
        st = es_builder_append_uint(b, (uint32_t)r);
        break;
    case 'l':
        st = es_builder_append_int(b, (int64_t)(r * 0x9e3779b97f4a7c15ull));
        break;
    case 'L':
        st = es_builder_append_uint(b, r * 0x9e3779b97f4a7c15ull);
        break;
    case 'f':
    case 'g':
        st = es_builder_append_double(b, (double)(int32_t)r / 64.0);
        break;
    case 'u':
    case 'U':
    case 'z':
    case 'Z': {
        char s[32];
        int n = (int)(r % 13);
        for (int i = 0; i < n; i++)
            s[i] = fmt[0] == 'z' || fmt[0] == 'Z' ? (char)rnd() : (char)('a' + rnd() % 26);
        if (n >= 2 && (fmt[0] == 'u' || fmt[0] == 'U') && r % 7 == 0) {
            s[0] = (char)0xc3; /* é */
            s[1] = (char)0xa9;
        }
        st = es_builder_append_bytes(b, s, n);
        break;
    }
    case 'w': {
        uint8_t s[5];
        for (int i = 0; i < 5; i++)
            s[i] = (uint8_t)rnd();
        st = es_builder_append_bytes(b, s, 5);
        break;
    }
    case 't':
        if (fmt[1] == 'd' && fmt[2] == 'D')
            st = es_builder_append_int(b, (int32_t)(r % 40000) - 20000);
        else if (fmt[1] == 'd')
            st = es_builder_append_int(b, ((int64_t)(r % 40000) - 20000) * 86400000);
        else if (fmt[1] == 't' && fmt[2] == 's')
            st = es_builder_append_int(b, (int64_t)(r % 86400));
        else if (fmt[1] == 't' && fmt[2] == 'm')
            st = es_builder_append_int(b, (int64_t)(r % 86400000));
        else if (fmt[1] == 't' && fmt[2] == 'u')
            st = es_builder_append_int(b, (int64_t)(r % 86400000000ull));
        else if (fmt[1] == 't')
            st = es_builder_append_int(b, (int64_t)(r % 86400000000000ull));
        else
            st = es_builder_append_int(b, (int64_t)(r % 4000000000000ull) - 2000000000000);
        break;
    case 'd':
        st = es_builder_append_int(b, (int64_t)(r % 2000000000ull) - 1000000000);
        break;
    default:
        st = ES_INVALID;
        break;
    }
    CHECK_EQ_INT(st, ES_OK);
}

static void make_batch(struct ArrowArray *out, const struct ArrowSchema *s, int64_t rows)
{
    es_builder *b = NULL;
    es_error err;
    CHECK_OK(es_builder_new(&b, s, &err));
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t c = 0; c < s->n_children; c++)
            append_value(es_builder_child(b, c), s->children[c]->format,
                         (s->children[c]->flags & ARROW_FLAG_NULLABLE) != 0);
        CHECK_OK(es_builder_append_struct(b));
    }
    CHECK_OK(es_builder_finish(b, out, &err));
    es_builder_free(b);
}

/* Canonical JSON of a schema and/or rows (malloc'd). */
static char *json_rows(const struct ArrowSchema *s, const struct ArrowArray *a)
{
    char *p = NULL;
    size_t n = 0;
    es_error err;
    FILE *f = open_memstream(&p, &n);
    if (!f)
        return NULL;
    es_status st = a ? es_json_write_rows(f, s, a, &err) : es_json_write_schema(f, s, &err);
    fclose(f);
    if (st) {
        fprintf(stderr, "json: %s\n", err.msg);
        free(p);
        return NULL;
    }
    return p;
}

static int same_json(const struct ArrowSchema *s1, const struct ArrowArray *a1,
                     const struct ArrowSchema *s2, const struct ArrowArray *a2)
{
    char *j1 = json_rows(s1, a1), *j2 = json_rows(s2, a2);
    int same = j1 && j2 && strcmp(j1, j2) == 0;
    if (!same && j1 && j2) {
        size_t i = 0;
        while (j1[i] && j1[i] == j2[i])
            i++;
        fprintf(stderr, "json differs at %zu:\n  %.120s\n  %.120s\n", i, j1 + (i > 40 ? i - 40 : 0),
                j2 + (i > 40 ? i - 40 : 0));
    }
    free(j1);
    free(j2);
    return same;
}

/* Write batches; returns the bytes as a blob. */
static es_blob *write_all(const struct ArrowSchema *s, struct ArrowArray *batches, int64_t n,
                          es_ipc_format fmt, es_compression comp, es_ipc_writer **keep)
{
    es_ipc_writer *w = NULL;
    es_ipc_write_options o = ES_IPC_WRITE_OPTIONS_INIT;
    es_error err;
    o.compression = comp;
    uint8_t *data = NULL;
    size_t size = 0;
    es_blob *blob = NULL;
    if (es_ipc_writer_new(&w, s, fmt, &o, &err) != ES_OK) {
        fprintf(stderr, "writer_new: %s\n", err.msg);
        CHECK(0);
        return NULL;
    }
    for (int64_t i = 0; i < n; i++)
        CHECK_OK(es_ipc_writer_write(w, &batches[i], &err));
    CHECK_OK(es_ipc_writer_finish(w, &data, &size, &err));
    CHECK_OK(es_blob_new_owned(&blob, data, size));
    if (keep)
        *keep = w;
    else
        es_ipc_writer_free(w);
    return blob;
}

/* Read back through the stream reader and compare with the batches. */
static void check_stream(es_blob *blob, const struct ArrowSchema *s, struct ArrowArray *batches,
                         int64_t n)
{
    struct ArrowArrayStream st;
    struct ArrowSchema rs;
    es_error err;
    if (es_ipc_reader_open(&st, blob, &err) != ES_OK) {
        fprintf(stderr, "reader_open: %s\n", err.msg);
        CHECK(0);
        return;
    }
    CHECK_EQ_INT(st.get_schema(&st, &rs), 0);
    CHECK(same_json(s, NULL, &rs, NULL));
    int64_t got = 0;
    for (;;) {
        struct ArrowArray a;
        int rc = st.get_next(&st, &a);
        CHECK_EQ_INT(rc, 0);
        if (rc) {
            fprintf(stderr, "get_next: %s\n", st.get_last_error(&st));
            break;
        }
        if (!a.release)
            break;
        if (got < n)
            CHECK(same_json(s, &batches[got], &rs, &a));
        got++;
        a.release(&a);
    }
    CHECK_EQ_INT(got, n);
    es_schema_release(&rs);
    st.release(&st);
}

static void roundtrip(int64_t n_batches, int64_t rows, es_compression comp)
{
    struct ArrowSchema s;
    make_schema(&s);
    struct ArrowArray *b = calloc((size_t)n_batches + 1, sizeof *b);
    for (int64_t i = 0; i < n_batches; i++)
        make_batch(&b[i], &s, rows + i % 3);
    for (int fmt = 0; fmt < 2; fmt++) {
        es_blob *blob = write_all(&s, b, n_batches, (es_ipc_format)fmt, comp, NULL);
        if (!blob)
            continue;
        check_stream(blob, &s, b, n_batches);
        if (fmt == ES_IPC_FILE) {
            es_ipc_file *f = NULL;
            es_error err;
            CHECK_OK(es_ipc_file_open(&f, blob, &err));
            if (f) {
                CHECK_EQ_INT(es_ipc_file_num_batches(f), n_batches);
                CHECK(same_json(&s, NULL, es_ipc_file_schema(f), NULL));
                /* Random access, backwards. */
                for (int64_t i = n_batches - 1; i >= 0; i--) {
                    struct ArrowArray a;
                    CHECK_OK(es_ipc_file_read(f, i, &a, &err));
                    CHECK_EQ_INT(es_ipc_file_block(f, i)->rows, b[i].length);
                    CHECK(same_json(&s, &b[i], es_ipc_file_schema(f), &a));
                    es_array_release(&a);
                }
                es_ipc_file_close(f);
            }
        }
        es_blob_unref(blob);
    }
    for (int64_t i = 0; i < n_batches; i++)
        es_array_release(&b[i]);
    free(b);
    es_schema_release(&s);
}

/* A shallow struct that does not own anything (for slices of a batch). */
static void noop_release(struct ArrowArray *a)
{
    a->release = NULL;
}

static void test_slices(void)
{
    struct ArrowSchema s;
    make_schema(&s);
    struct ArrowArray full;
    make_batch(&full, &s, 203);
    es_error err;
    static const int64_t cuts[][2] = {{0, 203},  {1, 100}, {3, 7}, {8, 64},
                                      {13, 190}, {202, 1}, {50, 0}};
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        /* (a) offset on the struct; (b) offsets on the children. */
        struct ArrowArray top = full;
        top.offset = cuts[k][0];
        top.length = cuts[k][1];
        top.release = noop_release;
        struct ArrowArray kids[N_TYPES], *kp[N_TYPES];
        for (int64_t c = 0; c < N_TYPES; c++) {
            kids[c] = *full.children[c];
            kids[c].offset += cuts[k][0];
            kids[c].length = cuts[k][1];
            kids[c].null_count = -1;
            kids[c].release = noop_release;
            kp[c] = &kids[c];
        }
        struct ArrowArray top2 = full;
        top2.length = cuts[k][1];
        top2.children = kp;
        top2.release = noop_release;
        struct ArrowArray two[2] = {top, top2};
        for (int comp = 0; comp < 3; comp++) {
            es_blob *blob = write_all(&s, two, 2, ES_IPC_FILE, (es_compression)comp, NULL);
            es_ipc_file *f = NULL;
            CHECK_OK(es_ipc_file_open(&f, blob, &err));
            for (int64_t i = 0; f && i < 2; i++) {
                struct ArrowArray a;
                CHECK_OK(es_ipc_file_read(f, i, &a, &err));
                CHECK_EQ_INT(a.length, cuts[k][1]);
                CHECK(same_json(&s, &two[i], &s, &a));
                es_array_release(&a);
            }
            es_ipc_file_close(f);
            es_blob_unref(blob);
        }
    }
    es_array_release(&full);
    es_schema_release(&s);
}

/* Zero-copy: uncompressed fixed-width data points into the blob. Misaligned input is copied. */
static void test_zero_copy(void)
{
    struct ArrowSchema s;
    make_schema(&s);
    struct ArrowArray b;
    make_batch(&b, &s, 100);
    es_blob *blob = write_all(&s, &b, 1, ES_IPC_FILE, ES_COMPRESS_NONE, NULL);
    es_ipc_file *f = NULL;
    es_error err;
    struct ArrowArray a;
    CHECK_OK(es_ipc_file_open(&f, blob, &err));
    CHECK_OK(es_ipc_file_read(f, 0, &a, &err));
    es_ipc_file_close(f);
    long refs = blob->refs;
    CHECK(refs > 1); /* the columns hold references */
    const uint8_t *p = a.children[8]->buffers[1];
    CHECK(p >= blob->data && p < blob->data + blob->size);
    /* A child moved out outlives its parent and the blob reference. */
    struct ArrowArray moved = *a.children[12];
    a.children[12]->release = NULL;
    es_array_release(&a);
    es_blob_unref(blob);
    CHECK(moved.length == 100);
    es_array_release(&moved);

    /* Misaligned: the same bytes at an odd address. */
    blob = write_all(&s, &b, 1, ES_IPC_STREAM, ES_COMPRESS_NONE, NULL);
    uint8_t *odd = malloc(blob->size + 1);
    memcpy(odd + 1, blob->data, blob->size);
    es_blob *ob = NULL;
    CHECK_OK(es_blob_new_copy(&ob, odd, blob->size + 1));
    es_blob *slice = NULL;
    CHECK_OK(es_blob_new_slice(&slice, ob, 1, blob->size));
    es_blob_unref(ob);
    check_stream(slice, &s, &b, 1);
    es_blob_unref(slice);
    es_blob_unref(blob);
    free(odd);
    es_array_release(&b);
    es_schema_release(&s);
}

/* es_ipc_writer_column_ranges + es_ipc_decode_batch_columns + es_ipc_batch_column_ranges. */
static void test_columns(es_compression comp)
{
    struct ArrowSchema s;
    make_schema(&s);
    struct ArrowArray b[3];
    for (int i = 0; i < 3; i++)
        make_batch(&b[i], &s, 50 + 30 * i);
    es_ipc_writer *w = NULL;
    es_blob *blob = write_all(&s, b, 3, ES_IPC_FILE, comp, &w);
    es_error err;
    es_ipc_file *f = NULL;
    CHECK_OK(es_ipc_file_open(&f, blob, &err));
    int64_t nb;
    const es_ipc_block *wb = es_ipc_writer_blocks(w, &nb);
    CHECK_EQ_INT(nb, 3);
    static const int64_t sel[] = {12, 0, 8, 31, 16, 1, 26};
    const int64_t n_sel = (int64_t)(sizeof sel / sizeof sel[0]);
    for (int64_t i = 0; f && i < 3; i++) {
        const es_ipc_block *blk = es_ipc_file_block(f, i);
        CHECK_EQ_INT(blk->offset, wb[i].offset);
        CHECK_EQ_INT(blk->metadata_length, wb[i].metadata_length);
        CHECK_EQ_INT(blk->body_length, wb[i].body_length);
        const uint8_t *meta = blob->data + blk->offset;
        int64_t offs[N_TYPES], lens[N_TYPES];
        CHECK_OK(
            es_ipc_batch_column_ranges(offs, lens, &s, meta, (size_t)blk->metadata_length, &err));
        int64_t prev_end = blk->offset + blk->metadata_length;
        for (int64_t c = 0; c < N_TYPES; c++) {
            int64_t o, l;
            CHECK_OK(es_ipc_writer_column_ranges(w, i, c, &o, &l));
            CHECK_EQ_INT(l, lens[c]);
            if (l > 0) {
                CHECK_EQ_INT(o, blk->offset + blk->metadata_length + offs[c]);
                CHECK(o >= prev_end); /* columns in field order, contiguous */
                prev_end = o + l;
            }
        }
        CHECK(prev_end <= blk->offset + blk->metadata_length + blk->body_length);
        /* Fetch only the selected columns (as separate copies, to be sure nothing else is
         * read), then decode. */
        es_blob *cb[sizeof sel / sizeof sel[0]];
        for (int64_t k = 0; k < n_sel; k++) {
            int64_t o, l;
            CHECK_OK(es_ipc_writer_column_ranges(w, i, sel[k], &o, &l));
            cb[k] = NULL;
            CHECK_OK(es_blob_new_copy(&cb[k], blob->data + o, (size_t)l));
        }
        struct ArrowArray a;
        CHECK_OK(es_ipc_decode_batch_columns(&a, &s, meta, (size_t)blk->metadata_length, sel, n_sel,
                                             cb, &err));
        for (int64_t k = 0; k < n_sel; k++)
            es_blob_unref(cb[k]);
        /* Compare against the projection of the original. */
        struct ArrowSchema ps;
        CHECK_OK(es_schema_init_struct(&ps, n_sel, &err));
        struct ArrowArray orig = b[i], *okids[sizeof sel / sizeof sel[0]];
        for (int64_t k = 0; k < n_sel; k++) {
            CHECK_OK(es_schema_copy(ps.children[k], s.children[sel[k]], &err));
            okids[k] = b[i].children[sel[k]];
        }
        orig.n_children = n_sel;
        orig.children = okids;
        if (a.release) {
            CHECK(same_json(&ps, &orig, &ps, &a));
            es_array_release(&a);
        }
        es_schema_release(&ps);
        /* A short column blob is corrupt, a bad index invalid. */
        int64_t o, l;
        CHECK_OK(es_ipc_writer_column_ranges(w, i, 12, &o, &l));
        es_blob *shortb = NULL;
        CHECK_OK(es_blob_new_copy(&shortb, blob->data + o, (size_t)l - 1));
        int64_t one = 12, bad = N_TYPES;
        CHECK_EQ_INT(es_ipc_decode_batch_columns(&a, &s, meta, (size_t)blk->metadata_length, &one,
                                                 1, &shortb, &err),
                     ES_CORRUPT);
        CHECK(a.release == NULL);
        CHECK_EQ_INT(es_ipc_decode_batch_columns(&a, &s, meta, (size_t)blk->metadata_length, &bad,
                                                 1, &shortb, &err),
                     ES_INVALID);
        es_blob_unref(shortb);
    }
    int64_t o, l;
    CHECK_EQ_INT(es_ipc_writer_column_ranges(w, 3, 0, &o, &l), ES_INVALID);
    es_ipc_file_close(f);
    es_ipc_writer_free(w);
    es_blob_unref(blob);
    for (int i = 0; i < 3; i++)
        es_array_release(&b[i]);
    es_schema_release(&s);
}

/* Read everything in a blob (as file and as stream), validating each batch. Returns the status
 * of the first failure or ES_OK. */
static es_status read_everything(es_blob *blob, int *batches)
{
    es_error err;
    es_status result = ES_OK;
    *batches = 0;
    es_ipc_file *f = NULL;
    es_status st = ES_OK;
    if (blob->size >= 6 && memcmp(blob->data, "ARROW1", 6) == 0)
        st = es_ipc_file_open(&f, blob, &err);
    if (f) {
        for (int64_t i = 0; i < es_ipc_file_num_batches(f); i++) {
            struct ArrowArray a;
            st = es_ipc_file_read(f, i, &a, &err);
            if (st == ES_OK) {
                es_array_view v;
                st = es_array_view_init(&v, es_ipc_file_schema(f), &a, &err);
                if (st == ES_OK)
                    es_array_view_reset(&v);
                else if (st != ES_NOMEM)
                    fprintf(stderr, "view rejected a decoded batch: %s\n", err.msg);
                CHECK(st == ES_OK || st == ES_NOMEM);
                if (st && result == ES_OK)
                    result = st;
                es_array_release(&a);
            } else if (result == ES_OK) {
                result = st;
            }
        }
        es_ipc_file_close(f);
    } else if (st != ES_OK) {
        result = st;
        if (getenv("IPC_DEBUG"))
            fprintf(stderr, "open: %s\n", err.msg);
        CHECK(err.msg[0] != 0 && strchr(err.msg, '\n') == NULL);
    }
    struct ArrowArrayStream s;
    st = es_ipc_reader_open(&s, blob, &err);
    if (st == ES_OK) {
        struct ArrowSchema sch;
        if (s.get_schema(&s, &sch) == 0) {
            for (;;) {
                struct ArrowArray a;
                int rc = s.get_next(&s, &a);
                if (rc) {
                    CHECK(s.get_last_error(&s) != NULL);
                    if (getenv("IPC_DEBUG"))
                        fprintf(stderr, "get_next: %s\n", s.get_last_error(&s));
                    if (result == ES_OK)
                        result = ES_CORRUPT;
                    break;
                }
                if (!a.release)
                    break;
                es_array_view v;
                es_status vs = es_array_view_init(&v, &sch, &a, &err);
                if (vs == ES_OK)
                    es_array_view_reset(&v);
                else if (vs != ES_NOMEM)
                    fprintf(stderr, "view rejected a decoded batch: %s\n", err.msg);
                CHECK(vs == ES_OK || vs == ES_NOMEM);
                if (vs && result == ES_OK)
                    result = vs;
                (*batches)++;
                es_array_release(&a);
            }
            es_schema_release(&sch);
        }
        s.release(&s);
    } else if (result == ES_OK) {
        result = st;
    }
    return result;
}

static void test_damage(es_ipc_format fmt, es_compression comp)
{
    struct ArrowSchema s;
    make_schema(&s);
    struct ArrowArray b[2];
    make_batch(&b[0], &s, 6);
    make_batch(&b[1], &s, 3);
    es_blob *blob = write_all(&s, b, 2, fmt, comp, NULL);
    int nb;
    CHECK_EQ_INT(read_everything(blob, &nb), ES_OK);
    CHECK_EQ_INT(nb, 2);
    /* Every truncation. */
    int rejected = 0;
    for (size_t len = 0; len < blob->size; len++) {
        es_blob *t = NULL;
        CHECK_OK(es_blob_new_copy(&t, blob->data, len));
        es_status st = read_everything(t, &nb);
        if (st != ES_OK)
            rejected++;
        else
            /* A stream cut at a message boundary (or just before its EOS marker). */
            CHECK(fmt == ES_IPC_STREAM && (nb < 2 || len == blob->size - 8));
        es_blob_unref(t);
    }
    CHECK(rejected > (int)blob->size * 9 / 10);
    /* Random byte flips. */
    uint8_t *copy = malloc(blob->size);
    int bad = 0;
    for (int iter = 0; iter < 1000; iter++) {
        memcpy(copy, blob->data, blob->size);
        int flips = 1 + (int)(rnd() % 3);
        for (int k = 0; k < flips; k++) {
            size_t at = rnd() % blob->size;
            if (rnd() & 1)
                copy[at] ^= (uint8_t)(1u << (rnd() % 8));
            else
                copy[at] = (uint8_t)rnd();
        }
        es_blob *t = NULL;
        CHECK_OK(es_blob_new_copy(&t, copy, blob->size));
        if (read_everything(t, &nb) != ES_OK)
            bad++;
        es_blob_unref(t);
    }
    CHECK(bad > 0);
    free(copy);
    es_blob_unref(blob);
    es_array_release(&b[0]);
    es_array_release(&b[1]);
    es_schema_release(&s);
}

static void test_alloc_failures(void)
{
    struct ArrowSchema s;
    make_schema(&s);
    struct ArrowArray b[2];
    make_batch(&b[0], &s, 7);
    make_batch(&b[1], &s, 3);
    for (int comp = 0; comp < 3; comp++) {
        es_blob *blob = write_all(&s, b, 2, ES_IPC_FILE, (es_compression)comp, NULL);
        int done = 0, fails = 0;
        for (int64_t n = 1; n < 100000 && !done; n++) {
            int nb;
            es_util_alloc_fail_at(n, 0);
            es_status st = read_everything(blob, &nb);
            int64_t made = es_util_alloc_fail_at(0, 0);
            if (made < n) {
                done = 1; /* the failure was never reached */
                CHECK_EQ_INT(st, ES_OK);
                CHECK_EQ_INT(nb, 2);
            } else if (st != ES_OK) {
                fails++;
            }
        }
        CHECK(done);
        CHECK(fails > 10);
        /* Writing under allocation failure, too. */
        for (int64_t n = 1; n < 100000; n++) {
            es_ipc_writer *w = NULL;
            es_ipc_write_options o = ES_IPC_WRITE_OPTIONS_INIT;
            o.compression = (es_compression)comp;
            es_util_alloc_fail_at(n, 0);
            es_status st = es_ipc_writer_new(&w, &s, ES_IPC_FILE, &o, NULL);
            for (int i = 0; st == ES_OK && i < 2; i++)
                st = es_ipc_writer_write(w, &b[i], NULL);
            uint8_t *data = NULL;
            size_t size = 0;
            if (st == ES_OK)
                st = es_ipc_writer_finish(w, &data, &size, NULL);
            int64_t made = es_util_alloc_fail_at(0, 0);
            es_ipc_writer_free(w);
            if (st == ES_OK) {
                CHECK(size == blob->size && memcmp(data, blob->data, size) == 0);
                es_free(data);
            }
            if (made < n)
                break;
        }
        es_blob_unref(blob);
    }
    es_array_release(&b[0]);
    es_array_release(&b[1]);
    es_schema_release(&s);
}

/* A stream whose schema has a field of type List (built with our flatbuffer builder). */
static es_blob *stream_with_type(int type_tag, const char *name)
{
    es_fb_builder b;
    es_fb_builder_init(&b);
    es_fb_ref nm = es_fb_create_string(&b, name, strlen(name));
    es_fb_table_start(&b);
    es_fb_ref ty = es_fb_table_end(&b);
    es_fb_table_start(&b);
    es_fb_add_ref(&b, 0, nm);
    es_fb_add_scalar(&b, 1, 1, 1);
    es_fb_add_scalar(&b, 2, 1, (uint64_t)type_tag);
    es_fb_add_ref(&b, 3, ty);
    es_fb_ref fld = es_fb_table_end(&b);
    es_fb_ref fv = es_fb_create_ref_vector(&b, &fld, 1);
    es_fb_table_start(&b);
    es_fb_add_ref(&b, 1, fv);
    es_fb_ref sch = es_fb_table_end(&b);
    es_fb_table_start(&b);
    es_fb_add_scalar(&b, 0, 2, 4);
    es_fb_add_scalar(&b, 1, 1, 1);
    es_fb_add_ref(&b, 2, sch);
    es_fb_ref msg = es_fb_table_end(&b);
    uint8_t *fb = NULL;
    size_t len = 0;
    CHECK_OK(es_fb_finish(&b, msg, &fb, &len));
    es_buf out = {0};
    uint8_t hdr[8];
    es_store_u32(hdr, 0xFFFFFFFFu);
    es_store_u32(hdr + 4, (uint32_t)len);
    es_buf_append(&out, hdr, 8);
    es_buf_append(&out, fb, len);
    es_store_u32(hdr + 4, 0);
    es_buf_append(&out, hdr, 8);
    es_free(fb);
    size_t n;
    uint8_t *d = es_buf_detach(&out, &n);
    es_blob *blob = NULL;
    CHECK_OK(es_blob_new_owned(&blob, d, n));
    return blob;
}

static void test_unsupported(void)
{
    es_error err;
    struct ArrowArrayStream st;
    es_blob *blob = stream_with_type(12, "my_list");
    CHECK_EQ_INT(es_ipc_reader_open(&st, blob, &err), ES_UNSUPPORTED);
    CHECK(strstr(err.msg, "my_list") != NULL);
    es_blob_unref(blob);
    blob = stream_with_type(17, "a_map");
    CHECK_EQ_INT(es_ipc_reader_open(&st, blob, &err), ES_UNSUPPORTED);
    CHECK(strstr(err.msg, "a_map") != NULL && strstr(err.msg, "Map") != NULL);
    es_blob_unref(blob);
    blob = stream_with_type(5, "ok_utf8"); /* a valid empty stream */
    CHECK_OK(es_ipc_reader_open(&st, blob, &err));
    struct ArrowArray a;
    CHECK_EQ_INT(st.get_next(&st, &a), 0);
    CHECK(a.release == NULL);
    st.release(&st);
    es_blob_unref(blob);
    blob = stream_with_type(99, "junk");
    CHECK_EQ_INT(es_ipc_reader_open(&st, blob, &err), ES_CORRUPT);
    es_blob_unref(blob);

    /* Writer side. */
    struct ArrowSchema s;
    CHECK_OK(es_schema_init_struct(&s, 1, &err));
    CHECK_OK(es_schema_init(s.children[0], "+l", "lst", ARROW_FLAG_NULLABLE, &err));
    es_ipc_writer *w = NULL;
    CHECK_EQ_INT(es_ipc_writer_new(&w, &s, ES_IPC_FILE, NULL, &err), ES_UNSUPPORTED);
    CHECK(strstr(err.msg, "lst") != NULL);
    CHECK(w == NULL);
    es_schema_release(&s);
}

static void test_flatbuf(void)
{
    /* Builder output read back by the reader, with defaults and nesting. */
    es_fb_builder b;
    es_fb_builder_init(&b);
    es_fb_ref str = es_fb_create_string(&b, "hello", 5);
    int64_t pairs[4] = {1, -2, 3, INT64_MIN};
    es_fb_ref vec = es_fb_create_vector(&b, pairs, 2, 16, 8);
    es_fb_table_start(&b);
    es_fb_add_scalar(&b, 0, 1, 7);
    es_fb_ref inner = es_fb_table_end(&b);
    es_fb_ref tv = es_fb_create_ref_vector(&b, &inner, 1);
    es_fb_table_start(&b);
    es_fb_add_scalar(&b, 0, 8, (uint64_t)-5);
    es_fb_add_ref(&b, 1, str);
    es_fb_add_scalar(&b, 2, 2, 0x1234);
    es_fb_add_ref(&b, 3, vec);
    es_fb_add_ref(&b, 5, tv);
    es_fb_add_scalar(&b, 6, 4, 0xdeadbeef);
    es_fb_ref root = es_fb_table_end(&b);
    uint8_t *buf;
    size_t len;
    CHECK_OK(es_fb_finish(&b, root, &buf, &len));
    CHECK(len % 8 == 0);
    es_fb_table t, u;
    es_fb_vec v;
    CHECK_EQ_INT(es_fb_root(&t, buf, len), ES_FB_OK);
    int64_t i64;
    int32_t i32;
    int16_t i16;
    uint8_t u8;
    const char *s;
    uint32_t sl;
    CHECK_EQ_INT(es_fb_get_i64(&t, 0, 0, &i64), ES_FB_OK);
    CHECK_EQ_INT(i64, -5);
    CHECK_EQ_INT(es_fb_get_string(&t, 1, &s, &sl), ES_FB_OK);
    CHECK(sl == 5 && memcmp(s, "hello", 6) == 0);
    CHECK_EQ_INT(es_fb_get_i16(&t, 2, 0, &i16), ES_FB_OK);
    CHECK_EQ_INT(i16, 0x1234);
    CHECK_EQ_INT(es_fb_get_vector(&t, 3, 16, &v), ES_FB_OK);
    CHECK_EQ_INT(v.n, 2);
    CHECK_EQ_INT((int64_t)es_load_u64(es_fb_vec_at(&v, 1) + 8), INT64_MIN);
    CHECK_EQ_INT(((uintptr_t)es_fb_vec_at(&v, 0) - (uintptr_t)buf) % 8, 0);
    CHECK_EQ_INT(es_fb_get_i32(&t, 4, 42, &i32), ES_FB_ABSENT);
    CHECK_EQ_INT(i32, 42);
    CHECK_EQ_INT(es_fb_get_i32(&t, 40, 43, &i32), ES_FB_ABSENT);
    CHECK_EQ_INT(es_fb_get_vector(&t, 5, 4, &v), ES_FB_OK);
    CHECK_EQ_INT(es_fb_vec_table(&v, 0, &u), ES_FB_OK);
    CHECK_EQ_INT(es_fb_get_u8(&u, 0, 0, &u8), ES_FB_OK);
    CHECK_EQ_INT(u8, 7);
    CHECK_EQ_INT(es_fb_vec_table(&v, 1, &u), ES_FB_BAD);
    CHECK_EQ_INT(es_fb_get_i32(&t, 6, 0, &i32), ES_FB_OK);
    CHECK_EQ_INT((uint32_t)i32, 0xdeadbeefu);
    /* Wrong sizes and every truncation are rejected or absent, never out of bounds. */
    CHECK_EQ_INT(es_fb_get_i64(&t, 40, 9, &i64), ES_FB_ABSENT);
    for (size_t n = 0; n < len; n++) {
        uint8_t *c = malloc(n ? n : 1);
        memcpy(c, buf, n);
        if (es_fb_root(&t, c, n) == ES_FB_OK) {
            es_fb_get_string(&t, 1, &s, &sl);
            es_fb_get_vector(&t, 3, 16, &v);
            if (es_fb_get_vector(&t, 5, 4, &v) == ES_FB_OK)
                es_fb_vec_table(&v, 0, &u);
        }
        free(c);
    }
    es_free(buf);
}

static void test_misuse(void)
{
    struct ArrowSchema s;
    make_schema(&s);
    es_error err;
    es_ipc_writer *w = NULL;
    es_ipc_write_options o = ES_IPC_WRITE_OPTIONS_INIT;
    o.compression = (es_compression)7;
    CHECK_EQ_INT(es_ipc_writer_new(&w, &s, ES_IPC_FILE, &o, &err), ES_INVALID);
    CHECK_OK(es_ipc_writer_new(&w, &s, ES_IPC_STREAM, NULL, &err));
    struct ArrowArray b;
    make_batch(&b, &s, 3);
    b.n_children--;
    CHECK_EQ_INT(es_ipc_writer_write(w, &b, &err), ES_INVALID);
    b.n_children++;
    uint8_t *d;
    size_t n;
    CHECK_OK(es_ipc_writer_finish(w, &d, &n, &err));
    CHECK_EQ_INT(es_ipc_writer_write(w, &b, &err), ES_INVALID);
    es_free(d);
    es_ipc_writer_free(w);
    es_ipc_file *f = NULL;
    es_blob *blob = NULL;
    CHECK_OK(es_blob_new_copy(&blob, "ARROW1\0\0garbage-garbage", 23));
    CHECK_EQ_INT(es_ipc_file_open(&f, blob, &err), ES_CORRUPT);
    es_blob_unref(blob);
    es_array_release(&b);
    es_schema_release(&s);
}

/* The uncompressed-length prefix: a wrong value is corrupt, except the apache-arrow JS quirk (the
 * compressed length written there), which is accepted. One int32 column without nulls, so the
 * column's range is exactly one compressed buffer: 8-byte prefix, then the frame. */
static void test_length_prefix(es_compression comp)
{
    struct ArrowSchema s;
    es_error err;
    CHECK_OK(es_schema_init_struct(&s, 1, &err));
    CHECK_OK(es_schema_init(s.children[0], "i", "small", 0, &err));
    es_builder *bld = NULL;
    CHECK_OK(es_builder_new(&bld, &s, &err));
    for (int r = 0; r < 1000; r++) {
        CHECK_OK(es_builder_append_int(es_builder_child(bld, 0), r % 4));
        CHECK_OK(es_builder_append_struct(bld));
    }
    struct ArrowArray b;
    CHECK_OK(es_builder_finish(bld, &b, &err));
    es_builder_free(bld);
    es_ipc_writer *w = NULL;
    es_blob *blob = write_all(&s, &b, 1, ES_IPC_FILE, comp, &w);
    int64_t off, len;
    CHECK_OK(es_ipc_writer_column_ranges(w, 0, 0, &off, &len));
    es_ipc_writer_free(w);
    CHECK_EQ_INT((int64_t)es_load_u64(blob->data + off), 4000);
    int64_t clen = len - 8;
    CHECK(clen > 0 && clen < 4000);
    uint8_t *copy = malloc(blob->size);
    static const int64_t bad[] = {4001, 3999, -2, 0};
    for (int k = 0; k < 5; k++) {
        memcpy(copy, blob->data, blob->size);
        es_store_u64(copy + off, (uint64_t)(k < 4 ? bad[k] : clen));
        es_blob *t = NULL;
        CHECK_OK(es_blob_new_copy(&t, copy, blob->size));
        es_ipc_file *f = NULL;
        struct ArrowArray a;
        CHECK_OK(es_ipc_file_open(&f, t, &err));
        if (k < 4) {
            CHECK_EQ_INT(es_ipc_file_read(f, 0, &a, &err), ES_CORRUPT);
            CHECK(strstr(err.msg, "buffer 1 of field 'small'") != NULL);
        } else {
            CHECK_OK(es_ipc_file_read(f, 0, &a, &err));
            CHECK(same_json(&s, &b, &s, &a));
            es_array_release(&a);
        }
        es_ipc_file_close(f);
        es_blob_unref(t);
    }
    free(copy);
    es_blob_unref(blob);
    es_array_release(&b);
    es_schema_release(&s);
}

/* The raw-or-compressed choice per buffer (es_arrow_compress_cap): values of 17 random bits in
 * an int32 column shrink by about a third under ZSTD, enough for a string buffer (1/8) but not
 * for fixed-width values (2/5), which are stored raw (prefix -1) and read back in place; a
 * column of 4 distinct values is compressed. */
static void test_compress_cap(void)
{
    enum { ROWS = 4096 };
    struct ArrowSchema s;
    es_error err;
    CHECK_OK(es_schema_init_struct(&s, 2, &err));
    CHECK_OK(es_schema_init(s.children[0], "i", "random", 0, &err));
    CHECK_OK(es_schema_init(s.children[1], "i", "small", 0, &err));
    es_builder *bld = NULL;
    CHECK_OK(es_builder_new(&bld, &s, &err));
    int32_t *vals = malloc(ROWS * sizeof *vals);
    uint64_t x = 88172645463325252ull;
    for (int r = 0; r < ROWS; r++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        vals[r] = (int32_t)(x % 131072);
        CHECK_OK(es_builder_append_int(es_builder_child(bld, 0), vals[r]));
        CHECK_OK(es_builder_append_int(es_builder_child(bld, 1), r % 4));
        CHECK_OK(es_builder_append_struct(bld));
    }
    struct ArrowArray b;
    CHECK_OK(es_builder_finish(bld, &b, &err));
    es_builder_free(bld);
    es_arrow_codecs cx = {0};
    for (int fixed = 0; fixed < 2; fixed++) {
        uint8_t *out = NULL;
        int64_t n = 0;
        CHECK_OK(es_arrow_compress(&out, &n, &cx, ES_COMPRESS_ZSTD, (const uint8_t *)vals, ROWS * 4,
                                   fixed, &err));
        if (out)
            CHECK_EQ_INT((int64_t)es_load_u64(out), fixed ? -1 : ROWS * 4);
        CHECK(fixed ? n == 8 + ROWS * 4 : n < 8 + ROWS * 4 - ROWS * 4 / 8);
        es_free(out);
    }
    es_arrow_codecs_reset(&cx);
    es_ipc_writer *w = NULL;
    es_blob *blob = write_all(&s, &b, 1, ES_IPC_FILE, ES_COMPRESS_ZSTD, &w);
    int64_t off, len;
    CHECK_OK(es_ipc_writer_column_ranges(w, 0, 0, &off, &len));
    CHECK_EQ_INT((int64_t)es_load_u64(blob->data + off), -1);
    CHECK_EQ_INT(len, 8 + ROWS * 4);
    CHECK_OK(es_ipc_writer_column_ranges(w, 0, 1, &off, &len));
    CHECK_EQ_INT((int64_t)es_load_u64(blob->data + off), ROWS * 4);
    CHECK(len < ROWS);
    es_ipc_writer_free(w);
    es_ipc_file *f = NULL;
    struct ArrowArray a;
    CHECK_OK(es_ipc_file_open(&f, blob, &err));
    CHECK_OK(es_ipc_file_read(f, 0, &a, &err));
    CHECK(same_json(&s, &b, &s, &a));
    es_array_release(&a);
    es_ipc_file_close(f);
    es_blob_unref(blob);
    free(vals);
    es_array_release(&b);
    es_schema_release(&s);
}

/* Where the 32 bytes `pattern` occur in blob (-1 if absent or not unique). */
static int64_t find_once(const es_blob *blob, const uint8_t *pattern, size_t n)
{
    int64_t at = -1;
    for (size_t i = 0; i + n <= blob->size; i++) {
        if (memcmp(blob->data + i, pattern, n) == 0) {
            if (at >= 0)
                return -1;
            at = (int64_t)i;
        }
    }
    return at;
}

/* The null_count of a FieldNode. For a Null column it carries no information (no buffers, all
 * slots null by definition), so any value is read as the length: apache-arrow JS writes -1 for a
 * sliced Null column. For other columns it stays strictly validated. Schema {n: null, i: int32
 * without nulls}, 5 rows; the two FieldNodes {5, 5}, {5, 0} are patched in place. */
static void test_null_count_node(es_ipc_format fmt)
{
    struct ArrowSchema s;
    es_error err;
    CHECK_OK(es_schema_init_struct(&s, 2, &err));
    CHECK_OK(es_schema_init(s.children[0], "n", "n", ARROW_FLAG_NULLABLE, &err));
    CHECK_OK(es_schema_init(s.children[1], "i", "i", 0, &err));
    es_builder *bld = NULL;
    CHECK_OK(es_builder_new(&bld, &s, &err));
    for (int r = 0; r < 5; r++) {
        CHECK_OK(es_builder_append_null(es_builder_child(bld, 0), 1));
        CHECK_OK(es_builder_append_int(es_builder_child(bld, 1), r * 7));
        CHECK_OK(es_builder_append_struct(bld));
    }
    struct ArrowArray b;
    CHECK_OK(es_builder_finish(bld, &b, &err));
    es_builder_free(bld);
    es_blob *blob = write_all(&s, &b, 1, fmt, ES_COMPRESS_NONE, NULL);
    uint8_t nodes[32];
    static const int64_t want[4] = {5, 5, 5, 0};
    for (int k = 0; k < 4; k++)
        es_store_u64(nodes + 8 * k, (uint64_t)want[k]);
    int64_t at = blob ? find_once(blob, nodes, sizeof nodes) : -1;
    CHECK(at >= 0);
    static const struct {
        int node;
        int64_t null_count;
        es_status expect;
        const char *msg;
    } cases[] = {
        {0, 5, ES_OK, NULL},
        {0, -1, ES_OK, NULL},
        {0, 0, ES_OK, NULL},
        {0, 2, ES_OK, NULL},
        {0, 6, ES_OK, NULL},
        {0, INT64_MIN, ES_OK, NULL},
        {1, -1, ES_CORRUPT, "field 'i' has bad null count -1"},
        {1, 6, ES_CORRUPT, "field 'i' has bad null count 6"},
        {1, 1, ES_CORRUPT, "validity buffer of field 'i' too short"},
    };
    uint8_t *copy = at >= 0 ? malloc(blob->size) : NULL;
    for (size_t c = 0; copy && c < sizeof cases / sizeof cases[0]; c++) {
        memcpy(copy, blob->data, blob->size);
        es_store_u64(copy + at + 16 * cases[c].node + 8, (uint64_t)cases[c].null_count);
        es_blob *t = NULL;
        CHECK_OK(es_blob_new_copy(&t, copy, blob->size));
        struct ArrowArray a;
        memset(&a, 0, sizeof a);
        const char *msg = "";
        es_status st;
        es_ipc_file *f = NULL;
        struct ArrowArrayStream rs;
        memset(&rs, 0, sizeof rs);
        if (fmt == ES_IPC_FILE) {
            CHECK_OK(es_ipc_file_open(&f, t, &err));
            st = f ? es_ipc_file_read(f, 0, &a, &err) : ES_INTERNAL;
            msg = err.msg;
        } else {
            CHECK_OK(es_ipc_reader_open(&rs, t, &err));
            st = rs.get_next(&rs, &a) == 0 ? ES_OK : ES_CORRUPT;
            if (st)
                msg = rs.get_last_error(&rs);
        }
        CHECK_EQ_INT(st, cases[c].expect);
        if (st == ES_OK) {
            CHECK(a.release != NULL && a.n_children == 2);
            if (a.release && a.n_children == 2) {
                CHECK_EQ_INT(a.children[0]->null_count, 5);
                CHECK_EQ_INT(a.children[0]->n_buffers, 0);
                CHECK_EQ_INT(a.children[1]->null_count, 0);
                CHECK(same_json(&s, &b, &s, &a));
                es_array_view v;
                CHECK_OK(es_array_view_init(&v, &s, &a, &err));
                es_array_view_reset(&v);
                es_array_release(&a);
            }
        } else {
            CHECK(a.release == NULL);
            CHECK(msg && strstr(msg, cases[c].msg) != NULL);
            if (msg && !strstr(msg, cases[c].msg))
                fprintf(stderr, "unexpected message: %s\n", msg);
        }
        if (rs.release)
            rs.release(&rs);
        es_ipc_file_close(f);
        es_blob_unref(t);
    }
    free(copy);
    es_blob_unref(blob);
    es_array_release(&b);
    es_schema_release(&s);
}

/* `test_ipc --write DIR`: write sample files for the interop tests (tests/ipc.cmake), which read
 * them back with apache-arrow JS: every type with nulls, four batches (one empty, one a slice
 * with non-zero offsets), uncompressed, LZ4 and ZSTD, file and stream formats. */
static int write_samples(const char *dir)
{
    struct ArrowSchema s;
    make_schema(&s);
    struct ArrowArray b[4], full;
    make_batch(&b[0], &s, 40);
    make_batch(&b[1], &s, 0);
    make_batch(&b[2], &s, 1);
    make_batch(&full, &s, 300);
    b[3] = full;
    b[3].offset = 13;
    b[3].length = 250;
    b[3].release = noop_release;
    static const char *cn[] = {"none", "lz4", "zstd"};
    int rc = 0;
    for (int comp = 0; comp < 3; comp++) {
        for (int fmt = 0; fmt < 2; fmt++) {
            es_blob *blob = write_all(&s, b, 4, (es_ipc_format)fmt, (es_compression)comp, NULL);
            char path[4096];
            snprintf(path, sizeof path, "%s/ours_%s.%s", dir, cn[comp],
                     fmt == ES_IPC_FILE ? "arrow_file" : "stream");
            FILE *f = fopen(path, "wb");
            if (!f || !blob || fwrite(blob->data, 1, blob->size, f) != blob->size) {
                fprintf(stderr, "test_ipc: cannot write %s\n", path);
                rc = 1;
            }
            if (f)
                fclose(f);
            es_blob_unref(blob);
        }
    }
    for (int i = 0; i < 3; i++)
        es_array_release(&b[i]);
    es_array_release(&full);
    es_schema_release(&s);
    return rc || check_failed;
}

/* `test_ipc --corpus DIR`: small seed files for fuzz/corpus/ipc: groups of three types, 0 to 4
 * rows over two batches, alternating formats and codecs. */
static int write_corpus(const char *dir)
{
    int rc = 0, k = 0;
    for (int64_t g = 0; g < N_TYPES; g += 3, k++) {
        int64_t n = N_TYPES - g < 3 ? N_TYPES - g : 3;
        struct ArrowSchema s;
        es_error err;
        CHECK_OK(es_schema_init_struct(&s, n, &err));
        for (int64_t i = 0; i < n; i++)
            CHECK_OK(es_schema_init(s.children[i], all_types[g + i].fmt, all_types[g + i].name,
                                    ARROW_FLAG_NULLABLE, &err));
        struct ArrowArray b[2];
        make_batch(&b[0], &s, k % 5);
        make_batch(&b[1], &s, 2);
        for (int fmt = 0; fmt < 2; fmt++) {
            es_compression comp = (es_compression)((k + fmt) % 3);
            es_blob *blob = write_all(&s, b, 2, (es_ipc_format)fmt, comp, NULL);
            char path[4096];
            snprintf(path, sizeof path, "%s/seed_%02d_%s_%d", dir, k, fmt ? "stream" : "file",
                     (int)comp);
            FILE *f = fopen(path, "wb");
            if (!f || !blob || fwrite(blob->data, 1, blob->size, f) != blob->size)
                rc = 1;
            if (f)
                fclose(f);
            es_blob_unref(blob);
        }
        es_array_release(&b[0]);
        es_array_release(&b[1]);
        es_schema_release(&s);
    }
    return rc || check_failed;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write") == 0)
        return write_samples(argv[2]);
    if (argc == 3 && strcmp(argv[1], "--corpus") == 0)
        return write_corpus(argv[2]);
    test_flatbuf();
    roundtrip(1, 100, ES_COMPRESS_NONE);
    roundtrip(3, 37, ES_COMPRESS_LZ4);
    roundtrip(3, 37, ES_COMPRESS_ZSTD);
    roundtrip(0, 0, ES_COMPRESS_NONE); /* no batches */
    roundtrip(2, 0, ES_COMPRESS_NONE); /* zero-length batches (0, 1 rows) */
    roundtrip(2, 0, ES_COMPRESS_ZSTD);
    roundtrip(120, 3, ES_COMPRESS_NONE); /* many batches */
    roundtrip(1, 5000, ES_COMPRESS_LZ4);
    test_slices();
    test_zero_copy();
    test_columns(ES_COMPRESS_NONE);
    test_columns(ES_COMPRESS_LZ4);
    test_length_prefix(ES_COMPRESS_LZ4);
    test_length_prefix(ES_COMPRESS_ZSTD);
    test_compress_cap();
    test_null_count_node(ES_IPC_FILE);
    test_null_count_node(ES_IPC_STREAM);
    test_unsupported();
    test_misuse();
    test_damage(ES_IPC_FILE, ES_COMPRESS_NONE);
    test_damage(ES_IPC_STREAM, ES_COMPRESS_NONE);
    test_damage(ES_IPC_FILE, ES_COMPRESS_ZSTD);
    test_damage(ES_IPC_STREAM, ES_COMPRESS_LZ4);
    test_alloc_failures();
    return CHECK_DONE();
}
