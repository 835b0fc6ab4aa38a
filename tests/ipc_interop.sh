#!/bin/sh
# ipc_interop.sh: Arrow IPC interoperability with Apache Arrow's JavaScript implementation
# (apache-arrow in node_modules), run by CTest (tests/ipc.cmake, label interop). Both sides print
# canonical JSON (`expstore arrow-dump` and tests/js/dump.mjs) and the outputs must be identical.
#
#   ipc_interop.sh js-writes EXPSTORE TEST_IPC WORKDIR  apache-arrow writes (tests/js/write.mjs),
#                                                      we read
#   ipc_interop.sh js-reads  EXPSTORE TEST_IPC WORKDIR  we write (test_ipc --write), apache-arrow
#                                                      reads
#   ipc_interop.sh golden    EXPSTORE TEST_IPC WORKDIR  Arrow's golden integration files in
#                                                      ../shared/arrow-golden: files of supported
#                                                      types read the same on both sides
# Exit 77 (skipped) when node, node_modules or the golden files are missing.
set -u
mode=$1
expstore=$2
test_ipc=$3
work=$4
src=${ES_SOURCE_DIR:-$(dirname "$0")/..}
pass=0
fail=0

if ! command -v node >/dev/null 2>&1; then
    echo "SKIP: node is not installed"
    exit 77
fi
if [ ! -d "$src/node_modules/apache-arrow" ] || [ ! -d "$src/node_modules/lz4js" ] ||
    [ ! -d "$src/node_modules/zstd-codec" ]; then
    echo "SKIP: $src/node_modules lacks apache-arrow, lz4js or zstd-codec"
    exit 77
fi
rm -rf "$work"
mkdir -p "$work"

# compare FILE...: one node run and one arrow-dump run over the same files, outputs identical.
compare() {
    if ! node "$src/tests/js/dump.mjs" "$@" >"$work/js.json" 2>"$work/js.err"; then
        echo "FAIL: dump.mjs failed:"
        cat "$work/js.err"
        fail=$((fail + 1))
        return
    fi
    if ! "$expstore" arrow-dump "$@" >"$work/c.json" 2>"$work/c.err"; then
        echo "FAIL: arrow-dump failed:"
        cat "$work/c.err"
        fail=$((fail + 1))
        return
    fi
    if cmp -s "$work/js.json" "$work/c.json"; then
        pass=$((pass + 1))
        echo "ok: $# files, $(wc -l <"$work/c.json") lines identical"
    else
        fail=$((fail + 1))
        echo "FAIL: canonical JSON differs (< apache-arrow, > expstore):"
        diff "$work/js.json" "$work/c.json" | head -20
    fi
}

case $mode in
js-writes)
    if ! node "$src/tests/js/write.mjs" "$work"; then
        echo "FAIL: write.mjs failed"
        fail=$((fail + 1))
    fi
    compare "$work"/js_*
    # The codecs are loaded on first use: with a liblz4.so.1 / libzstd.so.1 that lacks their
    # functions first on the library path, a compressed file fails with a clear message and
    # an uncompressed one still reads.
    if command -v cc >/dev/null 2>&1; then
        mkdir -p "$work/badlib"
        echo 'int es_not_a_codec(void) { return 0; }' >"$work/badlib/x.c"
        cc -shared -fPIC -o "$work/badlib/liblz4.so.1" "$work/badlib/x.c" &&
            cp "$work/badlib/liblz4.so.1" "$work/badlib/libzstd.so.1"
        for c in lz4 zstd; do
            if LD_LIBRARY_PATH="$work/badlib" "$expstore" arrow-dump "$work/js_$c.arrow_file" \
                >/dev/null 2>"$work/badlib.err" ||
                ! grep -q "cannot load lib$c.so.1" "$work/badlib.err"; then
                echo "FAIL: $c without its library:"
                cat "$work/badlib.err"
                fail=$((fail + 1))
            else
                pass=$((pass + 1))
                echo "ok: $c without its library: $(head -1 "$work/badlib.err")"
            fi
        done
        if LD_LIBRARY_PATH="$work/badlib" "$expstore" arrow-dump "$work/js_none.arrow_file" \
            >/dev/null; then
            pass=$((pass + 1))
        else
            echo "FAIL: an uncompressed file needs no codec library"
            fail=$((fail + 1))
        fi
    fi
    ;;
js-reads)
    if ! "$test_ipc" --write "$work" >"$work/write.log" 2>&1; then
        cat "$work/write.log"
        echo "FAIL: test_ipc --write failed"
        fail=$((fail + 1))
    fi
    compare "$work"/ours_*
    ;;
golden)
    gold="$src/../shared/arrow-golden"
    if [ ! -d "$gold" ]; then
        echo "SKIP: $gold is absent"
        exit 77
    fi
    set --
    for f in "$gold"/*/*.arrow_file "$gold"/*/*.stream; do
        [ -f "$f" ] || continue
        if "$expstore" arrow-dump "$f" >/dev/null 2>"$work/one.err"; then
            set -- "$@" "$f"
        elif grep -q "not supported" "$work/one.err"; then
            pass=$((pass + 1))
            echo "unsupported (as expected): $(cat "$work/one.err")"
        else
            fail=$((fail + 1))
            echo "FAIL: $(cat "$work/one.err")"
        fi
    done
    if [ $# -eq 0 ]; then
        echo "FAIL: no golden file was readable"
        fail=$((fail + 1))
    else
        compare "$@"
    fi
    ;;
*)
    echo "usage: $0 js-writes|js-reads|golden EXPSTORE TEST_IPC WORKDIR"
    exit 2
    ;;
esac
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
