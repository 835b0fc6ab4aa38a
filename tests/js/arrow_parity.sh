#!/bin/sh
# arrow_parity.sh TEST_ARROW_JSON NODE DIR [EXPSTORE]: the canonical JSON that Exp Store's builders
# produce (test_arrow_json --parity) must be byte-identical to what tests/js/dump.mjs prints, through
# Apache Arrow's JS implementation, for the same values written by apache-arrow itself; and, when
# EXPSTORE is given, to what `expstore arrow-dump` prints for those apache-arrow files.
test_arrow=$1 node=$2 dir=$3 expstore=$4
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$here/../../node_modules/apache-arrow" ]; then
    echo "SKIP: node_modules/apache-arrow is not installed"
    exit 77
fi
rm -rf "$dir" && mkdir -p "$dir" || exit 1
"$test_arrow" --parity "$dir" || { echo "test_arrow_json --parity failed"; echo "0 passed, 1 failed"; exit 1; }
"$node" "$here/arrow_parity.mjs" "$dir" || { echo "arrow_parity.mjs failed"; echo "0 passed, 1 failed"; exit 1; }
pass=0 fail=0
for what in types floats utf8; do
    if "$node" "$here/dump.mjs" "$dir/js_$what.arrows" > "$dir/js_$what.json" &&
        cmp "$dir/c_$what.json" "$dir/js_$what.json"; then
        pass=$((pass + 1))
    else
        echo "$what: C builders and apache-arrow + dump.mjs disagree (see $dir)"
        fail=$((fail + 1))
    fi
    [ -n "$expstore" ] || continue
    if "$expstore" arrow-dump "$dir/js_$what.arrows" > "$dir/es_$what.json" &&
        cmp "$dir/c_$what.json" "$dir/es_$what.json"; then
        pass=$((pass + 1))
    else
        echo "$what: expstore arrow-dump of the apache-arrow file disagrees (see $dir)"
        fail=$((fail + 1))
    fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
