#!/bin/sh
# table_interop.sh TEST_BIN WORKDIR NODE [INLINE]: write a small store with `test_table --interop`, then
# read every .data file, and the Arrow IPC streams of the rows its small inserts inlined in the
# log, with apache-arrow JS (tests/js/dump.mjs) and compare the rows (as canonical JSON, sorted)
# with what was inserted. INLINE (default 3): the inline streams expected at least (0: the
# store has none, every row is in a .data file). Exit 77 (skip) without node or node_modules.
set -u
bin=$1 work=$2 node=${3:-} want_inline=${4:-3}
src=${ES_SOURCE_DIR:-$(dirname "$0")/..}
if [ -z "$node" ] || ! command -v "$node" >/dev/null 2>&1; then
    echo "SKIP: node not found"; exit 77
fi
if [ ! -d "$src/node_modules/apache-arrow" ]; then
    echo "SKIP: node_modules/apache-arrow missing"; exit 77
fi
rm -rf "$work" && mkdir -p "$work" || exit 1
"$bin" --interop "$work/store" >"$work/log" 2>&1 || { cat "$work/log"; echo "0 passed, 1 failed"; exit 1; }
# Note: `test_table --interop` writes expected.jsonl inside the store directory.
sort "$work/store/expected.jsonl" >"$work/expected.sorted"
n=0
: >"$work/got"
for f in "$work"/store/table_*/*.data; do
    "$node" "$src/tests/js/dump.mjs" "$f" >"$work/dump.out" 2>"$work/dump.err" || {
        cat "$work/dump.err"; echo "0 passed, 1 failed"; exit 1; }
    tail -n +2 "$work/dump.out" >>"$work/got"   # first line: the schema
    n=$((n + 1))
done
sort "$work/got" >"$work/got.sorted"
# The same rows as the log held them (rows inlined in entries: Arrow IPC streams).
k=0
: >"$work/got_inline"
for f in "$work"/store/inline_*.arrows; do
    [ -e "$f" ] || continue
    "$node" "$src/tests/js/dump.mjs" "$f" >"$work/dump.out" 2>"$work/dump.err" || {
        cat "$work/dump.err"; echo "0 passed, 1 failed"; exit 1; }
    tail -n +2 "$work/dump.out" >>"$work/got_inline"
    k=$((k + 1))
done
sort "$work/got_inline" >"$work/got_inline.sorted"
pass=0 fail=0
if [ "$n" -ge 1 ]; then pass=$((pass + 1)); else echo "expected a .data file, found $n"; fail=$((fail + 1)); fi
if [ "$k" -ge "$want_inline" ]; then pass=$((pass + 1)); else echo "expected $want_inline inline streams, found $k"; fail=$((fail + 1)); fi
if [ "$want_inline" -eq 0 ] || cmp -s "$work/expected.sorted" "$work/got_inline.sorted"; then
    pass=$((pass + 1))
else
    echo "inline rows differ:"; diff "$work/expected.sorted" "$work/got_inline.sorted" | head -20
    fail=$((fail + 1))
fi
if cmp -s "$work/expected.sorted" "$work/got.sorted"; then
    pass=$((pass + 1))
else
    echo "rows differ:"; diff "$work/expected.sorted" "$work/got.sorted" | head -20
    fail=$((fail + 1))
fi
rows=$(wc -l <"$work/got.sorted")
if [ "$rows" -eq 60 ]; then pass=$((pass + 1)); else echo "expected 60 rows, got $rows"; fail=$((fail + 1)); fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
