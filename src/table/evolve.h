/*
 * evolve (internal): reading parts written under an older definition of their table (schema
 * evolution, the read side of table alterations; alter.c is the write side). A part's columns
 * are known by id with the type each was written with (es_part_meta.cols); a scan maps them to
 * the table's current columns: a column the part lacks (added later) reads as its initial
 * default or NULL, a widened column is cast on read and its statistics are converted from the
 * part's type, a dropped column is never read. Sits in the table layer beside scan.c.
 */
#ifndef ES_EVOLVE_H
#define ES_EVOLVE_H

#include "table/log.h"

/** 1 when a column of type `from` may become `to` without rewriting data: integers to wider
 * integers (unsigned to a wider signed one too), 8- to 32-bit integers and float32 to float64,
 * decimal128 to a larger precision at the same scale, date32/date64 to a timestamp without
 * time zone. Else 0 with the reason in why. */
int es_type_widens(const es_type *from, const es_type *to, char *why, size_t cap);

/** Convert the min/max of pruning statistics decoded in the domain of `from` (the type a part
 * was written with) to the domain and units of `to` (the column's current, wider type). */
void es_pred_stats_widen(es_pred_stats *ps, const es_type *from, const es_type *to);

/** Statistics of `rows` values of a column a part lacks: all its initial default (all NULL
 * when it has none). */
void es_default_to_pred(es_pred_stats *out, const es_column *c, int64_t rows);

/** Pruning statistics of part m for the columns of table t (ps: t->n_cols entries; need,
 * nullable: only where need[c]): the log's statistics decoded with the type the part was
 * written with and widened to the column's type; a column the part lacks, those of its
 * default. */
void es_part_stats_to_pred(es_pred_stats *ps, const es_tabledef *t, const es_part_meta *m,
                           const uint8_t *need);

/** Append n copies of column c's initial default (NULL when none) to builder b. */
es_status es_column_append_default(es_builder *b, const es_column *c, int64_t n);

/** Encode row 0 of view v (a value of type t) as a column default: *def NULL when it is NULL.
 * ES_INVALID when longer than ES_DEFAULT_MAX bytes. *def is es_malloc'd. */
es_status es_default_encode(uint8_t **def, int64_t *len, const es_array_view *v, const es_type *t,
                            es_error *err);

/** Re-encode column c's default for its new type `to` (a widening of c->type). */
es_status es_default_widen(es_column *c, const es_type *to, es_error *err);

/** 1 when column c has no default or one its type's values are encoded in (es_default_encode):
 * 8 bytes for integer, date/time and floating-point types, holding a value of the type (0 or 1
 * for bool, within the range of a narrower integer), 16 for decimal128, the width of a
 * fixed_size_binary, at most ES_DEFAULT_MAX bytes for utf8 and binary. A reader checks the
 * defaults it decodes with it: a wrong length would read as 0. */
int es_default_fits(const es_column *c);

/**
 * Bring a batch decoded from a part to the table's current columns, in place: dec has n_src
 * children of the part's types src[k]; on return it has n_src + n_add children, child k of
 * type dst[k]->type (cast when src[k] differs) and children n_src.. the defaults of dst[n_src..]
 * (columns the part lacks), each as long as the batch. On failure dec is released.
 */
es_status es_evolve_batch(struct ArrowArray *dec, const es_part_col *const *src,
                          const es_column *const *dst, int64_t n_src, int64_t n_add, es_error *err);

#endif /* ES_EVOLVE_H */
