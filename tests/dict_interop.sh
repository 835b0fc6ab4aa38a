#!/bin/sh
# dict_interop.sh EXPSTORE WORKDIR NODE: dictionary-encoded strings both ways with Apache Arrow JS.
#  1. tests/js/dict.mjs writes an IPC file and stream whose string columns Arrow JS encodes as
#     dictionaries (its default) and the same rows as CSV; the shell loads all three (COPY FROM)
#     and the tables must hold the same rows. The same for files whose dictionary grows between
#     batches (delta dictionary batches, in the stream and the file format).
#  2. The .data files the store wrote must be dictionary-encoded (tests/js/dict_check.mjs checks
#     the Arrow JS type of column c1 and that its dump equals the CSV table's).
# Exit 77 (skip) without node or node_modules.
set -eu
expstore=$1 work=$2 node=${3:-node}
src=${ES_SOURCE_DIR:-$(dirname "$0")/..}
command -v "$node" >/dev/null 2>&1 || { echo "SKIP: no node"; exit 77; }
[ -d "$src/node_modules/apache-arrow" ] || { echo "SKIP: no node_modules"; exit 77; }
rm -rf "$work"
mkdir -p "$work"
"$node" "$src/tests/js/dict.mjs" "$work"
"$expstore" "$work/store" >"$work/out.txt" 2>&1 <<SQL
.mode csv
CREATE TABLE f (id INTEGER, cat TEXT, note TEXT);
CREATE TABLE s (id INTEGER, cat TEXT, note TEXT);
CREATE TABLE c (id INTEGER, cat TEXT, note TEXT);
CREATE TABLE df (id INTEGER, cat TEXT, note TEXT);
CREATE TABLE ds (id INTEGER, cat TEXT, note TEXT);
CREATE TABLE dc (id INTEGER, cat TEXT, note TEXT);
COPY f FROM '$work/js_dict.arrow';
COPY s FROM '$work/js_dict.arrows';
COPY c FROM '$work/js_dict.csv';
COPY df FROM '$work/js_delta.arrow';
COPY ds FROM '$work/js_delta.arrows';
COPY dc FROM '$work/js_delta.csv';
SELECT 'f', id, cat, note FROM f ORDER BY id;
SELECT 's', id, cat, note FROM s ORDER BY id;
SELECT 'c', id, cat, note FROM c ORDER BY id;
SELECT 'df', id, cat, note FROM df ORDER BY id;
SELECT 'ds', id, cat, note FROM ds ORDER BY id;
SELECT 'dc', id, cat, note FROM dc ORDER BY id;
SQL
fail=0
for t in f s c df ds dc; do
    grep "^$t," "$work/out.txt" | cut -d, -f2- >"$work/$t.csv"
done
for c in c dc; do
    [ "$(wc -l <"$work/$c.csv")" -eq 1000 ] || { echo "FAIL: CSV table $c has $(wc -l <"$work/$c.csv") rows"; cat "$work/out.txt" | head; fail=1; }
done
for t in f s df ds; do
    c=c; [ "$t" = df ] || [ "$t" = ds ] && c=dc
    cmp -s "$work/$t.csv" "$work/$c.csv" || { echo "FAIL: table $t (from Arrow JS) differs from the CSV"; diff "$work/$t.csv" "$work/$c.csv" | head; fail=1; }
done
# Every .data file (tables f, s, c): c1 (cat) and c2 (note: 13 values) encoded, c0 (id) not.
n=0
for d in "$work"/store/table_*/*.data; do
    n=$((n + 1))
    "$node" "$src/tests/js/dict_check.mjs" "$d" c1,c2 >>"$work/check.txt" 2>&1 || { echo "FAIL: $d"; tail -3 "$work/check.txt"; fail=1; }
done
[ "$n" -ge 3 ] || { echo "FAIL: $n .data files"; fail=1; }
[ "$fail" -eq 0 ] && echo "dict_interop: $n .data files dictionary-encoded, imports equal"
exit "$fail"
