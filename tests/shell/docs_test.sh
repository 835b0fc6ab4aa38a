#!/bin/sh
# The documentation against the real binary, as a newcomer reads it:
#  - every SQL example of README.md's shell section runs as written (no "Error:"), on a small
#    orders.csv, in a fresh store;
#  - every dot-command that .help lists has an item of its own in the manual (docs/expstore.1:
#    a .TP paragraph that starts with it), and the manual renders without warnings.
# Usage: docs_test.sh /path/to/expstore /path/to/source
BIN="$1"
SRC="$2"
[ -x "$BIN" ] || { echo "SKIP: no binary $BIN"; exit 77; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
TMP=$(mktemp -d /tmp/es_docs_XXXXXX)
trap 'rm -rf "$TMP"' EXIT
PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); }
fail() { echo "FAIL: $*"; FAIL=$((FAIL + 1)); }

# ------------------------------------------------ README's SQL examples, pasted as they are
# The indented block that starts with "CREATE TABLE orders" and ends at the first blank line.
awk '/^    CREATE TABLE orders/ { on = 1 } on && /^$/ { exit } on { sub(/^    /, ""); print }' \
    "$SRC/README.md" >"$TMP/readme.sql"
n=$(grep -c ';' "$TMP/readme.sql")
[ "$n" -ge 15 ] && ok || fail "README: found only $n statements in the shell section"
printf 'id,ts,category,amount\n2,2024-01-03 10:00:00,books,150\n3,2024-02-01 00:00:00,toys,95\n' \
    >"$TMP/orders.csv"
(cd "$TMP" && "$BIN" store -bail -f readme.sql >readme.out 2>readme.err)
st=$?
if [ $st -eq 0 ] && [ ! -s "$TMP/readme.err" ]; then
    ok
else
    fail "README examples: status $st"
    cat "$TMP/readme.err"
fi
[ -s "$TMP/big.arrow" ] && ok || fail "README: COPY ... TO 'big.arrow' wrote nothing"

# ------------------------------------------------ each dot-command of .help is in the manual
"$BIN" -c .help | grep -o '^\.[a-z_]*' >"$TMP/dots"
[ "$(wc -l <"$TMP/dots")" -ge 15 ] && ok || fail ".help lists few dot-commands"
awk '/^\.SH DOT-COMMANDS/ { on = 1; next } /^\.SH / { on = 0 }
     on && prev == ".TP" { print } { prev = $0 }' "$SRC/docs/expstore.1" >"$TMP/items"
while read -r d; do
    if grep -q -- "^\.B[RI]* $d\( \|$\)" "$TMP/items" || grep -q -- "\" $d\( \|$\)" "$TMP/items"; then
        ok
    else
        fail "expstore.1: no item (.TP) for $d"
    fi
done <"$TMP/dots"
if command -v man >/dev/null 2>&1; then
    MANPAGER=cat MANWIDTH=100 LC_ALL=C man --warnings -l "$SRC/docs/expstore.1" \
        >"$TMP/man.out" 2>"$TMP/man.err"
    if [ -s "$TMP/man.err" ]; then
        fail "expstore.1: warnings"
        cat "$TMP/man.err"
    else
        ok
    fi
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
