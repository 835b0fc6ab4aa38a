/*
 * test_dict: dictionary-encoded strings and compressed bodies in parts (docs/FORMAT.md,
 * section 1), and dictionary-encoded input, on mem:// through the public API:
 *
 *  - a part's low-cardinality utf8 column is encoded (its .idx is version 2 and carries the
 *    dictionary, the .data has a dictionary batch and int8 indices), a high-cardinality one is
 *    not; scans return the values inserted (utf8 by default), with predicates on both, after
 *    deletes, after OPTIMIZE (compaction rewrites the parts), at an earlier version; with
 *    keep_dictionary the unfiltered batches of encoded parts carry the dictionary (int32
 *    indices, sorted values);
 *  - every query is compared with a store of the same rows written without compression
 *    (ES_COMPRESS_NONE; ZSTD is the default);
 *  - a dictionary-encoded C Data Interface batch (int8 indices, as produced by Arrow
 *    libraries) is decoded on insert; an index outside its dictionary is ES_INVALID naming the
 *    field; an IPC file whose indices point outside the dictionary is ES_CORRUPT naming the
 *    batch; a corrupt ZSTD frame is ES_CORRUPT naming the buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/ipc.h"
#include "check.h"
#include "expstore/expstore.h"
#include "expstore/sql.h"

static const char *const cats[] = {"red", "green", "blue", "", "cyan", "magenta"};

/* Rows [from, from + n): id, cat (6 values, nulls), note (distinct per row). */
static void make_batch(struct ArrowSchema *sc, struct ArrowArray *out, int64_t from, int64_t n)
{
    es_error err;
    CHECK_OK(es_schema_init_struct(sc, 3, &err));
    CHECK_OK(es_schema_init(sc->children[0], "l", "id", 0, &err));
    CHECK_OK(es_schema_init(sc->children[1], "u", "cat", ARROW_FLAG_NULLABLE, &err));
    CHECK_OK(es_schema_init(sc->children[2], "u", "note", ARROW_FLAG_NULLABLE, &err));
    es_builder *b = NULL;
    CHECK_OK(es_builder_new(&b, sc, &err));
    for (int64_t i = from; i < from + n; i++) {
        char note[32];
        snprintf(note, sizeof note, "note-%lld-%llx", (long long)i,
                 (unsigned long long)(i * 2654435761u));
        CHECK_OK(es_builder_append_int(es_builder_child(b, 0), i));
        if (i % 11 == 5)
            CHECK_OK(es_builder_append_null(es_builder_child(b, 1), 1));
        else
            CHECK_OK(es_builder_append_bytes(es_builder_child(b, 1), cats[i % 6],
                                             (int64_t)strlen(cats[i % 6])));
        CHECK_OK(es_builder_append_bytes(es_builder_child(b, 2), note, (int64_t)strlen(note)));
    }
    CHECK_OK(es_builder_finish(b, out, &err));
    es_builder_free(b);
}

/* One SQL statement's result as text (rows joined by '\n', values by '|'). */
static char *query(es_sql_session *q, const char *sql)
{
    es_sql_result r = ES_SQL_RESULT_INIT;
    if (es_sql_exec(q, sql, &r) != ES_OK) {
        fprintf(stderr, "%s: %s\n", sql, es_sql_errmsg(q));
        CHECK(0);
        return strdup("");
    }
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    struct ArrowSchema sc;
    if (r.stream.release && r.stream.get_schema(&r.stream, &sc) == 0) {
        struct ArrowArray a;
        while (r.stream.get_next(&r.stream, &a) == 0 && a.release) {
            es_error err;
            CHECK_OK(es_json_write_rows(f, &sc, &a, &err));
            a.release(&a);
        }
        es_schema_release(&sc);
    }
    es_sql_result_reset(&r);
    fclose(f);
    return text;
}

/* keep_dictionary on the encoded table t (rows 0..20000 of make_batch). */
static void check_encoded_scan(es_store *s)
{
    /* keep_dictionary: unfiltered batches of the encoded parts carry the dictionary. */
    const char *cols[] = {"cat", "id"};
    es_scan_options o = ES_SCAN_OPTIONS_INIT;
    o.columns = cols;
    o.n_columns = 2;
    o.keep_dictionary = 1;
    struct ArrowArrayStream st;
    CHECK_OK(es_scan(s, "t", &o, &st));
    struct ArrowArray a;
    int64_t dict_batches = 0, rows = 0;
    while (st.get_next(&st, &a) == 0 && a.release) {
        struct ArrowArray *cat = a.children[0];
        const int64_t *ids = (const int64_t *)a.children[1]->buffers[1] + a.children[1]->offset;
        if (cat->dictionary) {
            dict_batches++;
            const struct ArrowArray *d = cat->dictionary;
            CHECK_EQ_INT(d->length, 6);
            CHECK_EQ_INT(cat->n_buffers, 2);
            const int32_t *codes = (const int32_t *)cat->buffers[1] + cat->offset;
            const int32_t *off = (const int32_t *)d->buffers[1] + d->offset;
            const char *data = d->buffers[2];
            /* Sorted: "", blue, cyan, green, magenta, red. */
            CHECK(off[1] - off[0] == 0);
            CHECK(memcmp(data + off[1], "blue", 4) == 0);
            for (int64_t i = 0; i < cat->length; i++) {
                int64_t id = ids[i];
                const uint8_t *valid = cat->buffers[0];
                int64_t bit = cat->offset + i;
                int is_valid = !valid || ((valid[bit >> 3] >> (bit & 7)) & 1);
                if (id % 11 == 5) {
                    CHECK(!is_valid);
                    continue;
                }
                CHECK(is_valid);
                int32_t k = codes[i];
                CHECK(k >= 0 && k < 6);
                size_t l = strlen(cats[id % 6]);
                CHECK_EQ_INT(off[k + 1] - off[k], (int64_t)l);
                CHECK(memcmp(data + off[k], cats[id % 6], l) == 0);
            }
        }
        rows += a.length;
        a.release(&a);
    }
    st.release(&st);
    CHECK(dict_batches > 0);
    CHECK_EQ_INT(rows, 20000);
}

static void test_parts(void)
{
    es_store *s = NULL;
    es_sql_session *q = NULL;
    es_open_options oo = ES_OPEN_OPTIONS_INIT;
    oo.batch_rows = 1000;
    oo.compact_min_parts = 0;
    CHECK_OK(es_store_open(&s, "mem://test_dict_parts", &oo));
    CHECK_OK(es_sql_session_open(&q, s));
    struct ArrowSchema sc;
    struct ArrowArray a;
    make_batch(&sc, &a, 0, 10000);
    CHECK_OK(es_table_create(s, "t", &sc, "id", 0));
    CHECK_OK(es_insert_batch(s, "t", &sc, &a));
    es_schema_release(&sc);
    make_batch(&sc, &a, 10000, 10000);
    CHECK_OK(es_insert_batch(s, "t", &sc, &a));
    es_schema_release(&sc);
    int64_t v1;
    CHECK_OK(es_store_version(s, &v1));

    /* The same rows in a store without compression: the oracle (SQL over plain parts). */
    es_store *p = NULL;
    es_sql_session *pq = NULL;
    oo.compression = ES_COMPRESS_NONE;
    CHECK_OK(es_store_open(&p, "mem://test_dict_plain", &oo));
    CHECK_OK(es_sql_session_open(&pq, p));
    make_batch(&sc, &a, 0, 20000);
    CHECK_OK(es_table_create(p, "t", &sc, "id", 0));
    CHECK_OK(es_insert_batch(p, "t", &sc, &a));
    es_schema_release(&sc);

    static const char *const qs[] = {
        "SELECT count(*), count(cat), count(DISTINCT cat), min(cat), max(cat) FROM t",
        "SELECT cat, count(*), sum(id) FROM t GROUP BY cat ORDER BY cat",
        "SELECT id, cat, note FROM t WHERE cat = 'cyan' AND id % 97 = 3 ORDER BY id",
        "SELECT count(*) FROM t WHERE cat > 'c' AND cat < 'h'",
        "SELECT id, cat FROM t WHERE note LIKE 'note-1234-%' ORDER BY id",
        "SELECT id, cat, note FROM t WHERE id BETWEEN 9990 AND 10010 ORDER BY id",
    };
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        char *x = query(q, qs[i]), *y = query(pq, qs[i]);
        CHECK(strlen(x) > 0);
        if (strcmp(x, y) != 0)
            fprintf(stderr, "%s:\n%s\n--- vs plain ---\n%s\n", qs[i], x, y);
        CHECK_EQ_STR(x, y);
        free(x);
        free(y);
    }
    check_encoded_scan(s);

    /* Deletes, compaction and time travel keep the values. */
    const char *mut[] = {"DELETE FROM t WHERE id % 5 = 0",
                         "UPDATE t SET cat = 'zz' WHERE id % 7 = 1", "OPTIMIZE t"};
    for (size_t i = 0; i < 3; i++) {
        es_sql_result r = ES_SQL_RESULT_INIT;
        CHECK_OK(es_sql_exec(q, mut[i], &r));
        es_sql_result_reset(&r);
        if (i < 2) {
            r = (es_sql_result)ES_SQL_RESULT_INIT;
            CHECK_OK(es_sql_exec(pq, mut[i], &r));
            es_sql_result_reset(&r);
        }
    }
    for (size_t i = 0; i < 2; i++) {
        char *x = query(q, qs[i]), *y = query(pq, qs[i]);
        CHECK_EQ_STR(x, y);
        free(x);
        free(y);
    }
    /* Time travel to before the mutations: the rows as inserted. */
    const char *cols[] = {"cat"};
    es_scan_options o = ES_SCAN_OPTIONS_INIT;
    o.columns = cols;
    o.n_columns = 1;
    o.at_version = v1;
    struct ArrowArrayStream st;
    CHECK_OK(es_scan(s, "t", &o, &st));
    int64_t rows = 0, nulls = 0;
    while (st.get_next(&st, &a) == 0 && a.release) {
        const struct ArrowArray *c = a.children[0];
        const uint8_t *bits = c->null_count ? c->buffers[0] : NULL;
        rows += a.length;
        for (int64_t i = 0; bits && i < a.length; i++) {
            int64_t k = c->offset + a.offset + i;
            nulls += !((bits[k >> 3] >> (k & 7)) & 1);
        }
        a.release(&a);
    }
    st.release(&st);
    CHECK_EQ_INT(rows, 20000);
    CHECK_EQ_INT(nulls, 1818);
    es_sql_session_close(pq);
    es_store_close(p);
    es_sql_session_close(q);
    es_store_close(s);
}

/* A dictionary-encoded batch as Arrow libraries export it: int8 indices, utf8 dictionary. */
static struct ArrowArray *dict_batch(struct ArrowSchema *sc, struct ArrowArray *out, int8_t bad)
{
    es_error err;
    CHECK_OK(es_schema_init_struct(sc, 2, &err));
    CHECK_OK(es_schema_init(sc->children[0], "l", "id", 0, &err));
    CHECK_OK(es_schema_init(sc->children[1], "c", "cat", ARROW_FLAG_NULLABLE, &err));
    sc->children[1]->dictionary = es_calloc(1, sizeof(struct ArrowSchema));
    CHECK_OK(es_schema_init(sc->children[1]->dictionary, "u", "", ARROW_FLAG_NULLABLE, &err));
    /* Values and indices built as two plain arrays, then joined. */
    struct ArrowSchema vs, is;
    CHECK_OK(es_schema_init_struct(&vs, 1, &err));
    CHECK_OK(es_schema_init(vs.children[0], "u", "v", ARROW_FLAG_NULLABLE, &err));
    CHECK_OK(es_schema_init_struct(&is, 2, &err));
    CHECK_OK(es_schema_init(is.children[0], "l", "id", 0, &err));
    CHECK_OK(es_schema_init(is.children[1], "c", "i", ARROW_FLAG_NULLABLE, &err));
    es_builder *vb = NULL, *ib = NULL;
    CHECK_OK(es_builder_new(&vb, &vs, &err));
    CHECK_OK(es_builder_new(&ib, &is, &err));
    const char *words[] = {"x", "yy", "zzz"};
    for (int i = 0; i < 3; i++)
        CHECK_OK(es_builder_append_bytes(es_builder_child(vb, 0), words[i], i + 1));
    for (int i = 0; i < 10; i++) {
        CHECK_OK(es_builder_append_int(es_builder_child(ib, 0), i));
        if (i == 4)
            CHECK_OK(es_builder_append_null(es_builder_child(ib, 1), 1));
        else
            CHECK_OK(es_builder_append_int(es_builder_child(ib, 1), i == 9 ? bad : (i * 2) % 3));
    }
    struct ArrowArray va, ia;
    CHECK_OK(es_builder_finish(vb, &va, &err));
    CHECK_OK(es_builder_finish(ib, &ia, &err));
    es_builder_free(vb);
    es_builder_free(ib);
    /* Move the values' column into the indices' dictionary (the struct keeps owning it). */
    struct ArrowArray *dict = es_calloc(1, sizeof *dict);
    *dict = *va.children[0];
    va.children[0]->release = NULL;
    va.release(&va);
    ia.children[1]->dictionary = dict;
    *out = ia;
    es_schema_release(&vs);
    es_schema_release(&is);
    return dict; /* the caller frees it (free_dict) once the batch is released */
}

/* The dictionary dict_batch es_calloc'd (the builder's release does not know it). */
static void free_dict(struct ArrowArray *d)
{
    if (d->release)
        d->release(d);
    es_free(d);
}

static void test_import(void)
{
    es_store *s = NULL;
    es_sql_session *q = NULL;
    CHECK_OK(es_store_open(&s, "mem://test_dict_import", NULL));
    CHECK_OK(es_sql_session_open(&q, s));
    es_sql_result r = ES_SQL_RESULT_INIT;
    CHECK_OK(es_sql_exec(q, "CREATE TABLE d (id BIGINT NOT NULL, cat TEXT)", &r));
    es_sql_result_reset(&r);
    struct ArrowSchema sc;
    struct ArrowArray a;
    struct ArrowArray *dict = dict_batch(&sc, &a, 1);
    CHECK_OK(es_insert_batch(s, "d", &sc, &a)); /* takes the batch */
    free_dict(dict);
    es_schema_release(&sc);
    char *x = query(q, "SELECT id, cat FROM d WHERE id IN (0, 1, 4, 9) ORDER BY id");
    CHECK_EQ_STR(x, "{\"id\":\"0\",\"cat\":\"x\"}\n{\"id\":\"1\",\"cat\":\"zzz\"}\n"
                    "{\"id\":\"4\",\"cat\":null}\n{\"id\":\"9\",\"cat\":\"yy\"}\n");
    free(x);
    dict = dict_batch(&sc, &a, 3);
    CHECK_EQ_INT(es_insert_batch(s, "d", &sc, &a), ES_INVALID);
    free_dict(dict);
    CHECK(strstr(es_store_errmsg(s), "field 'cat': dictionary index 3 at row 9") != NULL);
    es_schema_release(&sc);
    x = query(q, "SELECT count(*) FROM d");
    CHECK_EQ_STR(x, "{\"count(*)\":\"10\"}\n");
    free(x);
    es_sql_session_close(q);
    es_store_close(s);
}

/* IPC files: indices outside the dictionary, and a corrupt ZSTD frame. */
static void test_ipc_corrupt(void)
{
    es_error err;
    struct ArrowSchema sc;
    struct ArrowArray a;
    struct ArrowArray *dict = dict_batch(&sc, &a, 2);
    for (int codec = 0; codec < 2; codec++) {
        es_ipc_write_options wo = ES_IPC_WRITE_OPTIONS_INIT;
        wo.compression = codec ? ES_COMPRESS_ZSTD : ES_COMPRESS_NONE;
        es_ipc_writer *w = NULL;
        uint8_t *data = NULL;
        size_t len = 0;
        int64_t off = 0, clen = 0;
        CHECK_OK(es_ipc_writer_new(&w, &sc, ES_IPC_FILE, &wo, &err));
        CHECK_OK(es_ipc_writer_write(w, &a, &err));
        CHECK_OK(es_ipc_writer_column_ranges(w, 0, 1, &off, &clen));
        int64_t nd = 0;
        CHECK(es_ipc_writer_dictionaries(w, &nd) != NULL && nd == 1);
        CHECK_OK(es_ipc_writer_finish(w, &data, &len, &err));
        es_ipc_writer_free(w);
        /* Read back intact: the dictionary is attached. */
        es_blob *blob = NULL;
        CHECK_OK(es_blob_new_owned(&blob, data, len));
        es_ipc_file *f = NULL;
        struct ArrowArray got;
        CHECK_OK(es_ipc_file_open(&f, blob, &err));
        CHECK_OK(es_ipc_file_read(f, 0, &got, &err));
        CHECK(got.children[1]->dictionary && got.children[1]->dictionary->length == 3);
        got.release(&got);
        es_ipc_file_close(f);
        if (!codec) {
            /* The int8 indices: row 3 (code 0) becomes 7. */
            data[off + 8 + 3] = 7; /* after the validity bitmap and its padding */
            CHECK_OK(es_ipc_file_open(&f, blob, &err));
            CHECK_EQ_INT(es_ipc_file_read(f, 0, &got, &err), ES_CORRUPT);
            CHECK(strstr(err.msg, "record batch 0") && strstr(err.msg, "dictionary index 7"));
            es_ipc_file_close(f);
        }
        es_blob_unref(blob);
    }
    /* A compressed buffer whose ZSTD frame is damaged (the ids of make_batch compress). */
    struct ArrowSchema ps;
    struct ArrowArray pb;
    make_batch(&ps, &pb, 0, 5000);
    es_ipc_write_options wo = ES_IPC_WRITE_OPTIONS_INIT;
    wo.compression = ES_COMPRESS_ZSTD;
    es_ipc_writer *w = NULL;
    uint8_t *data = NULL;
    size_t len = 0;
    int64_t off = 0, clen = 0;
    CHECK_OK(es_ipc_writer_new(&w, &ps, ES_IPC_FILE, &wo, &err));
    CHECK_OK(es_ipc_writer_write(w, &pb, &err));
    CHECK_OK(es_ipc_writer_column_ranges(w, 0, 0, &off, &clen));
    CHECK_OK(es_ipc_writer_finish(w, &data, &len, &err));
    es_ipc_writer_free(w);
    CHECK((int64_t)es_load_u64(data + off) == 5000 * 8 && clen < 5000 * 8);
    for (int64_t i = 8 + 6; i < clen; i++) /* keep the frame's magic: break its blocks */
        data[off + i] ^= 0x5a;
    es_blob *blob = NULL;
    CHECK_OK(es_blob_new_owned(&blob, data, len));
    es_ipc_file *f = NULL;
    struct ArrowArray got;
    CHECK_OK(es_ipc_file_open(&f, blob, &err));
    CHECK_EQ_INT(es_ipc_file_read(f, 0, &got, &err), ES_CORRUPT);
    CHECK(strstr(err.msg, "buffer 1 of field 'id'") && strstr(err.msg, "ZSTD"));
    es_ipc_file_close(f);
    es_blob_unref(blob);
    pb.release(&pb);
    es_schema_release(&ps);
    a.release(&a);
    free_dict(dict);
    es_schema_release(&sc);
}

int main(void)
{
    test_parts();
    test_import();
    test_ipc_corrupt();
    return CHECK_DONE();
}
