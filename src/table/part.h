/*
 * part (internal): one part of a table is an immutable pair of objects,
 *
 *   table_<t>/table_<t>_part_<p>.data   Arrow IPC file, fields named c<column id>
 *   table_<t>/table_<t>_part_<p>.idx    Arrow IPC file, one row per record batch of .data
 *
 * plus, once rows of it are deleted, deletion vectors (dv.h): each change of the part's
 * deleted rows writes a new immutable table_<t>/table_<t>_part_<p>_<random id>.delta (or
 * inlines a small vector in the log); the log names the live one (es_dvref). This layer
 * writes .data and .idx, encodes, decodes and verifies .idx, and decodes one record batch of
 * .data from its metadata plus the bytes of only the columns a scan needs. docs/FORMAT.md
 * describes the objects byte by byte. Sits above arrow and objstore, below log (which records
 * parts) and scan.
 */
#ifndef ES_PART_H
#define ES_PART_H

#include "table/expr.h"
#include "expstore/sys/objstore.h"
#include "util/util.h"

/** Longest min/max value kept in statistics; longer minimums are truncated (still a lower
 * bound), longer maximums are dropped. */
#define ES_STAT_MAX 64
/** Length of a part or table id: 16 lowercase hex digits. */
#define ES_ID_LEN 16

/** Statistics of one column over some rows. Values are binary-encoded (see FORMAT.md):
 * 8-byte little-endian int64 / uint64 / float64 for the integer, unsigned and float domains,
 * the raw bytes for binary and strings, 16 bytes for decimal128. */
typedef struct es_colstat {
    int64_t null_count;
    uint8_t has_min, has_max;
    uint8_t min_len, max_len;
    uint8_t min[ES_STAT_MAX];
    uint8_t max[ES_STAT_MAX];
} es_colstat;

/** Decode a binary-encoded stat value into a scalar (pointers into the colstat). */
void es_colstat_scalar(es_scalar *out, es_domain dom, const uint8_t *v, int len);
/** Fill pruning stats for `rows` rows from a colstat. */
void es_colstat_to_pred(es_pred_stats *out, const es_colstat *cs, es_domain dom, int64_t rows);
/** 0 when v is below the minimum or above the maximum of cs (those es_colstat_to_pred gives),
 * else 1: the bounds check of one value, without building the predicate statistics. */
int es_colstat_may_hold(const es_colstat *cs, es_domain dom, const es_scalar *v);
/** Compute the statistics of a column (a decoded array view) over all its rows. */
void es_colstat_compute(es_colstat *out, const es_array_view *v, es_domain dom);

/** A column as a part knows it: its id and Arrow type. */
typedef struct es_part_col {
    int64_t id;
    es_type type;
    char format[80];
    int nullable;
} es_part_col;

/** Blobs of at most this many bytes are inlined in the log's set_dv action (as hex) instead of
 * being written as a .delta object (writers); about 240 scattered positions or any number of
 * positions in a few runs or dense ranges fit. */
#define ES_DV_INLINE_MAX 512
/** Readers accept inline blobs up to this size. */
#define ES_DV_INLINE_READ_MAX 65536

/** The live deletion vector of a part as the commit log records it (immutable once built;
 * reference-counted): a .delta object (id set) or an inline blob (blob set). */
typedef struct es_dvref {
    long refs;
    char id[ES_ID_LEN + 1]; /* .delta object: table_<t>/table_<t>_part_<p>_<id>.delta; "" inline */
    int64_t deleted;        /* number of deleted positions (cardinality) */
    int64_t bytes;          /* size of the .delta object (inline: of the blob) */
    uint32_t crc;           /* CRC-32C of the .delta object (inline: of the blob) */
    uint8_t *blob;          /* inline: the Delta/Iceberg blob (dv.h), blob_len bytes */
    size_t blob_len;
} es_dvref;

es_status es_dvref_new(es_dvref **out);
es_dvref *es_dvref_ref(es_dvref *r);
void es_dvref_unref(es_dvref *r);
/** 1 when a and b name the same vector (both NULL, the same object, or equal inline bytes). */
int es_dvref_same(const es_dvref *a, const es_dvref *b);

/** What the commit log records about a part (immutable once built; reference-counted). */
typedef struct es_part_meta {
    long refs;
    char id[ES_ID_LEN + 1];
    int64_t rows, n_batches, data_bytes, idx_bytes; /* rows: physical rows of .data */
    uint32_t idx_crc;                               /* CRC-32C of the whole .idx object */
    int64_t n_cols;
    int64_t *col_ids;  /* n_cols */
    es_colstat *stats; /* n_cols, over the whole part (deleted rows included: still bounds) */
    es_dvref *dv;      /* the live deletion vector, or NULL (set_dv in the log) */
    /* An inline part (rows inlined in the log, add_inline): no .data or .idx object. The rows
     * are inline_ipc, an Arrow IPC stream whose byte ranges inline_idx describes as an .idx
     * describes a .data file (data_bytes = its size, idx_bytes = 0). Both NULL otherwise. */
    es_blob *inline_ipc;
    struct es_part_idx *inline_idx;
    es_part_col *cols; /* n_cols: the type each column was written with (format "" until the
                          log resolves it from the table when the part is added: alter.c) */
} es_part_meta;

es_status es_part_meta_new(es_part_meta **out, int64_t n_cols);
/** A copy with its own reference count (columns and statistics copied, dv referenced). */
es_status es_part_meta_copy(es_part_meta **out, const es_part_meta *m);
es_part_meta *es_part_meta_ref(es_part_meta *m);
void es_part_meta_unref(es_part_meta *m);
/** Rows of the part that are not deleted. */
static inline int64_t es_part_live_rows(const es_part_meta *m)
{
    return m->rows - (m->dv ? m->dv->deleted : 0);
}

/** Statistics of one column in one batch, as an .idx holds them: an es_colstat whose min and
 * max bytes live in the index's `stat_bytes` (24 bytes where an es_colstat takes 144, so
 * decoding an index touches a sixth of the memory). */
typedef struct es_idx_stat {
    int64_t null_count;
    uint32_t min_off, max_off; /* into stat_bytes */
    uint8_t has_min, has_max;
    uint8_t min_len, max_len;
} es_idx_stat;

/** The decoded .idx of a part. Per-column arrays are indexed [batch * n_cols + col]. */
typedef struct es_part_idx {
    long refs; /* es_part_idx_free drops one reference */
    char part_id[ES_ID_LEN + 1];
    int64_t n_batches, n_cols;
    int64_t *col_ids;   /* n_cols */
    int64_t sort_col;   /* index of the sort key column, or -1 */
    int64_t *rows;      /* n_batches */
    int64_t *offset;    /* message start in .data */
    int64_t *meta_len;  /* marker + length + flatbuffer + padding */
    int64_t *body_len;  /* body follows the metadata */
    uint32_t *meta_crc; /* CRC-32C of the metadata bytes */
    int64_t *col_off;   /* absolute offset of the column's buffers in .data */
    int64_t *col_len;
    uint32_t *col_crc;
    es_idx_stat *col_stats;
    es_buf stat_bytes; /* the min and max values of col_stats */
    /* Dictionary-encoded columns (.idx version 2; docs/FORMAT.md, sections 1 and 2), all NULL
     * when none: per column the index format ('c', 's', 'i'; 0: plain), the dictionary batch
     * message as in .data (metadata and body) and its values. */
    char *dict_fmt;
    uint8_t **dict_msg;
    int64_t *dict_msg_len;
    struct es_array_ref **dicts;
    /* Paged parts (.idx version 3; docs/FORMAT.md sections 1 and 2, page.c): each row is a page
     * of a larger record batch (offset, meta_len, body_len, meta_crc: that batch's). Per
     * batch-column, col_off/col_len is the page's piece (a ZSTD frame, or raw bytes) of the
     * column's last buffer (values, or the data of a varlen column), col_voff/col_vlen of its
     * validity bitmap, col_ooff/col_olen of its offsets (varlen only); col_raw bit j: C Data
     * buffer j is stored raw; col_crc covers the pieces a reader fetches
     * (es_part_idx_ranges). All NULL (paged 0) for versions 1 and 2. */
    int paged;
    int64_t *col_voff, *col_vlen, *col_ooff, *col_olen;
    uint8_t *col_raw;
} es_part_idx;

/** The byte ranges of batch-column k (b * n_cols + c) a reader fetches to decode it: one (the
 * column range) for versions 1 and 2; for a page its validity piece (when the page has nulls),
 * offsets piece and values piece, in that order (empty ones left out). Returns how many. */
int es_part_idx_ranges(const es_part_idx *x, int64_t k, int64_t off[3], int64_t len[3]);
/** Their total size. */
int64_t es_part_idx_bytes(const es_part_idx *x, int64_t k);
/** The bytes of batch b's metadata a reader fetches: meta_len, or 0 for a page (decoded from the
 * .idx alone). */
static inline int64_t es_part_idx_meta_fetch(const es_part_idx *x, int64_t b)
{
    return x->paged ? 0 : x->meta_len[b];
}

/** Fill pruning stats for batch-column k (b * n_cols + c) of an index. */
void es_part_idx_stat_to_pred(es_pred_stats *out, const es_part_idx *x, int64_t k, es_domain dom);

void es_part_idx_free(es_part_idx *x);
es_part_idx *es_part_idx_ref(es_part_idx *x);
/** Encode an .idx as an Arrow IPC file (bytes es_malloc'd). */
es_status es_part_idx_encode(uint8_t **out, size_t *len, const es_part_idx *x, es_error *err);
/** Decode and verify an .idx. `name` is used in messages. ES_CORRUPT on any inconsistency.
 * check_content: also verify the content checksum in the schema metadata; a caller that has
 * already matched the CRC-32C of the whole object against the commit log (which covers every
 * byte) passes 0 and saves the work. */
es_status es_part_idx_decode(es_part_idx **out, es_blob *blob, const char *name, int check_content,
                             es_error *err);

/* ------------------------------------------- part_dict.c: dictionary-encoded columns */

/** Limits of a part's dictionary (per column): distinct values and their bytes. */
#define ES_DICT_MAX_VALUES 32767
#define ES_DICT_MAX_BYTES (64 * 1024)

/** The dictionary encoding chosen for the columns of one part being written. */
typedef struct es_part_dict {
    int64_t n_cols, n_batches;
    struct {
        struct es_array_ref *dict; /* NULL: the column stays plain */
        const char *index_format;  /* "c", "s" or "i" */
    } * cols;
    uint8_t **codes; /* [b * n_cols + c]: the indices of batch b, column c */
} es_part_dict;

/** Choose which utf8 columns of a part (the n batches, a struct array of `schema` each) to
 * encode, build their sorted dictionaries and codes (all NULL cols when none). ES_NOMEM. */
es_status es_part_dict_choose(es_part_dict *d, const es_part_col *cols, int64_t n_cols,
                              const struct ArrowSchema *schema, struct ArrowArray *batches,
                              int64_t n, es_error *err);
void es_part_dict_reset(es_part_dict *d);
/** Give the encoded columns of a part schema (from es_part_schema) their index format and a
 * utf8 dictionary (ordered). */
es_status es_part_dict_schema(struct ArrowSchema *schema, const es_part_dict *d, es_error *err);
/** Batch b with its encoded columns replaced by indices carrying the shared dictionary (other
 * columns borrowed from `batch`, which must outlive *out). */
es_status es_part_dict_batch(struct ArrowArray *out, const es_part_dict *d, int64_t b,
                             const struct ArrowArray *batch, es_error *err);

/* The .idx side (part_dict.c): the dictionaries an .idx carries (version 2). */
struct es_ipc_dict_block;
void es_part_idx_dict_free(es_part_idx *x);
/** Record the dictionary batches the writer wrote (`data`: the .data bytes). ES_NOMEM. */
es_status es_part_idx_dict_set(es_part_idx *x, const es_part_dict *d, const uint8_t *data,
                               const struct es_ipc_dict_block *blocks, int64_t n_blocks);
/** Extend the content checksum with the dictionaries (nothing when none). */
uint32_t es_part_idx_dict_crc(uint32_t crc, const es_part_idx *x);
int64_t es_part_idx_dict_count(const es_part_idx *x);
/** The schema metadata entries "expstore:dict.c<k>" = "<index format>:<hex of the message>"
 * (es_part_idx_dict_count of them, es_malloc'd strings). */
es_status es_part_idx_dict_metadata(char **keys, char **vals, const es_part_idx *x);
/** Read those entries of an .idx's metadata (messages only; es_part_idx_dict_load decodes). */
es_status es_part_idx_dict_decode(es_part_idx *x, const char *md, const char *name, es_error *err);
es_status es_part_idx_dict_load(es_part_idx *x, const char *name, es_error *err);
/** Give the encoded columns of a part schema their index format (and utf8 dictionary). */
es_status es_part_dict_decode_schema(struct ArrowSchema *schema, const es_part_idx *x,
                                     es_error *err);
/** After decoding columns `which` of a batch: attach each encoded one's dictionary (indices
 * checked) and, unless `keep`, materialise it as utf8. */
es_status es_part_dict_decode_columns(struct ArrowArray *out, const struct ArrowSchema *schema,
                                      const es_part_idx *x, const int64_t *which, int64_t n_want,
                                      int keep, const char *what, es_error *err);

/** Object keys: "table_<t>/table_<t>_part_<p>.<ext>". */
void es_part_key(char *buf, size_t cap, const char *table_id, const char *part_id, const char *ext);
/** Key of a deletion vector object: "table_<t>/table_<t>_part_<p>_<dv id>.delta". */
void es_part_dv_key(char *buf, size_t cap, const char *table_id, const char *part_id,
                    const char *dv_id);
/** A fresh random id (16 hex digits). */
void es_part_new_id(char out[ES_ID_LEN + 1]);
/** A fresh id for an object (a part, a .delta): 8 hex digits of the Unix time in seconds, then
 * 8 random ones, so that vacuum can tell an object's age from its key (docs/FORMAT.md, 7b). */
void es_part_new_object_id(char out[ES_ID_LEN + 1]);
/** Seconds added to the clock of es_part_new_object_id: 0, except in tests that need objects
 * that look older than they are (the fault loops over vacuum). */
extern int64_t es_part_id_clock_offset_s;
/** The creation time (ms) an object id carries; -1 when it is not hex. Ids written before
 * time-ordered ids are random: their "time" is meaningless (vacuum treats them as any other). */
int64_t es_part_id_time_ms(const char *id);

/**
 * Write one part: `batches` are n struct arrays whose children match `cols` (in order),
 * already sorted and chunked. Writes .data then .idx (ES_PUT_IF_ABSENT) and returns what the
 * log needs in *meta. sort_col: index of the sort key column or -1.
 */
es_status es_part_write(es_part_meta **meta, es_objstore *os, const char *table_id,
                        const es_part_col *cols, int64_t n_cols, int64_t sort_col,
                        struct ArrowArray *batches, int64_t n, es_compression compression,
                        int64_t batch_pages, es_error *err);

/* ------------------------------------------------ page.c: paged parts (.idx version 3) */

/** Pages per record batch when writing: batch_pages (> 1: a paged part of record batches of up
 * to that many of the given batches, each a page), or 1 (the classic layout) when the batches
 * cannot be pages (LZ4, or a batch other than the last whose rows are not a multiple of 8). */
int64_t es_page_count(const struct ArrowArray *batches, int64_t n, es_compression compression,
                      int64_t batch_pages);
/** Allocate the page arrays of an index of x->n_batches rows (paged set). ES_NOMEM. */
es_status es_page_idx_alloc(es_part_idx *x);
void es_page_idx_free(es_part_idx *x);
/** Write pages [first, first + np) (arrays `pages`, already dictionary-encoded) as one record
 * batch, number g, and record where each page's pieces lie in x (x->offset[b] holds g until
 * es_page_idx_finish). */
es_status es_page_write(es_part_idx *x, es_ipc_writer *w, const struct ArrowArray *pages,
                        int64_t first, int64_t np, int64_t g, const char *key, es_error *err);
/** After the writer finished (data: the .data bytes, its record batch blocks): the batch fields
 * and the CRCs of every page. ES_INTERNAL. */
es_status es_page_idx_finish(es_part_idx *x, const uint8_t *data, size_t data_len,
                             const es_ipc_block *blocks, int64_t n_blocks, const char *key,
                             es_error *err);
/** The .idx fields of version 3 beyond version 1's per column, and their content checksum. */
#define ES_PAGE_IDX_EXTRA 5
extern const char *const es_page_idx_suffix[ES_PAGE_IDX_EXTRA];
extern const char *const es_page_idx_formats[ES_PAGE_IDX_EXTRA];
uint32_t es_page_idx_crc(uint32_t crc, const es_part_idx *x);
/** Append batch-column k's extra fields to builder children ch[0..ES_PAGE_IDX_EXTRA). */
es_status es_page_idx_append(es_builder *const *ch, const es_part_idx *x, int64_t k);
/** Read them from the decoded .idx (views v[0..ES_PAGE_IDX_EXTRA) of column c). */
void es_page_idx_read(es_part_idx *x, int64_t c, const es_array_view *v);
/** Check that every page's pieces lie in its batch's body (ES_CORRUPT naming `name`). */
es_status es_page_idx_check(const es_part_idx *x, const char *name, es_error *err);

/** Build an inline part (no object written): the rows of `batches` (as for es_part_write;
 * borrowed) as an Arrow IPC stream with its index, in *meta (inline_ipc, inline_idx set).
 * part_id: the id to give it, or NULL for a fresh one. */
es_status es_part_build_inline(es_part_meta **meta, const char *part_id, const es_part_col *cols,
                               int64_t n_cols, struct ArrowArray *batches, int64_t n,
                               es_error *err);
/** Rebuild inline parts from the Arrow IPC stream the log holds (fields c<id>): decoded,
 * validated and indexed; statistics computed. The stream holds the rows of n_parts parts in
 * turn (rows[p] each; their sum is the stream's rows), meta[p] receives part part_ids[p].
 * ES_CORRUPT naming `name` when malformed. */
es_status es_part_decode_inline(es_part_meta **meta, const char *const *part_ids,
                                const int64_t *rows, int64_t n_parts, es_blob *ipc,
                                const char *name, es_error *err);
/** 1 when two inline parts have the same columns (the same schema message). */
int es_part_inline_same_schema(const es_part_meta *a, const es_part_meta *b);
/** The rows of inline parts parts[0..n) (of the same schema), in turn, as one IPC stream of
 * one record batch (a checkpoint's add_inline of several parts). */
es_status es_part_inline_merge(es_blob **out, es_part_meta *const *parts, int64_t n, es_error *err);
/** Append value i of view v (NULL: a null) to builder b. */
es_status es_part_append_value(es_builder *b, const es_array_view *v, int64_t i);

/** Build the struct schema of .data files for these columns (fields "c<id>"). */
es_status es_part_schema(struct ArrowSchema *out, const es_part_col *cols, int64_t n_cols,
                         es_error *err);

/**
 * Decode record batch b of a part from its metadata bytes and the bytes of some columns.
 * which[k] (k < n_want) are column indexes in x (ascending); col_bytes[k] holds exactly
 * [col_off, col_off + col_len) of that column and meta the batch's metadata bytes. Checksums
 * are verified. *out is a struct array whose children are the wanted columns in order.
 * flags: ES_PART_KEEP_DICT: dictionary-encoded columns come out as dictionary arrays (int32
 * indices, the part's dictionary attached: es_scan_options.keep_dictionary), else as utf8;
 * ES_PART_IN_PLACE: the buffers of a page stored raw point into col_bytes (holding a reference)
 * instead of being copied, which a scan without the column cache asks for (a copy is what the
 * cache keeps, so that a warm query on S3 fetches nothing).
 */
enum { ES_PART_KEEP_DICT = 1, ES_PART_IN_PLACE = 2 };
es_status es_part_decode_batch(struct ArrowArray *out, const es_part_idx *x, int64_t b,
                               const es_part_col *cols, const int64_t *which, int64_t n_want,
                               es_blob *meta, es_blob *const *col_bytes, int flags,
                               const char *name, es_error *err);

#endif /* ES_PART_H */
