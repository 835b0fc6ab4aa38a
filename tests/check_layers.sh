#!/bin/sh
# check_layers: every file of src/<layer>/ includes internal headers of its own layer or of a
# lower one only (the order is src/LAYERS), and tools/ and examples/ include public headers
# only. Prints each violation as file:line and exits 1 when there is one.
set -eu
root=${1:-$(dirname "$0")/..}
cd "$root"
layers=$(grep -v '^#' src/LAYERS)
rank() { i=0; for l in $layers; do [ "$l" = "$1" ] && { echo $i; return; }; i=$((i + 1)); done; echo -1; }
bad=0
for dir in src/*/; do
    layer=$(basename "$dir")
    r=$(rank "$layer")
    if [ "$r" -lt 0 ]; then echo "$dir: folder not listed in src/LAYERS"; bad=1; continue; fi
    for f in "$dir"*.[ch]; do
        grep -n '^#include "' "$f" | while IFS= read -r line; do
            inc=$(printf '%s\n' "$line" | sed 's/^[0-9]*:#include "\([^"]*\)".*/\1/')
            case "$inc" in expstore/*) continue ;; */*) ;; *) echo "$f:${line%%:*}: include \"$inc\" without its layer folder"; echo x >&3; continue ;; esac
            target=${inc%%/*}
            tr=$(rank "$target")
            if [ "$tr" -lt 0 ] || [ "$tr" -gt "$r" ]; then
                echo "$f:${line%%:*}: layer $layer includes $inc of a higher layer ($target)"
                echo x >&3
            fi
        done 3>>"${TMPDIR:-/tmp}/es_layers.$$"
    done
done
for f in tools/*.[ch] examples/*.c; do
    [ -f "$f" ] || continue
    grep -n '^#include "' "$f" | grep -v '#include "expstore/' | grep -v '#include "[a-z_]*\.h"' |
        while IFS= read -r line; do echo "$f:${line%%:*}: programs use public headers only"; echo x >&3; done 3>>"${TMPDIR:-/tmp}/es_layers.$$"
done
if [ -s "${TMPDIR:-/tmp}/es_layers.$$" ]; then bad=1; fi
rm -f "${TMPDIR:-/tmp}/es_layers.$$"
[ $bad -eq 0 ] && echo "layers: ok ($(echo $layers | tr ' ' '<'))"
exit $bad
