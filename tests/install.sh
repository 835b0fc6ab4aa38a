#!/bin/sh
# install.sh: the library as its users get it. Installs the build tree into a temporary prefix
# (cmake --install), then builds examples/hello.c against it three ways and runs each program:
#   1. cc with pkg-config (and with pkg-config --static, linking libexpstore.a);
#   2. a CMake project with find_package(expstore), from a copy of the prefix elsewhere (the
#      CMake package is relocatable), linking expstore::expstore and expstore::expstore_static;
#   3. a CMake project that add_subdirectory()s the source tree (a Release build of the library).
# It also checks the installed files, the soname and the exported symbols of libexpstore.so,
# that the public headers compile on their own, that bin/expstore runs from the moved prefix
# without the build tree or LD_LIBRARY_PATH, and that the man page renders without warnings
# (when man is installed). Writes only under a temporary directory, removed at the end.
#   install.sh SOURCE_DIR BUILD_DIR VERSION SONAME CC
set -eu
src=$1 build=$2 version=$3 soname=$4 cc=$5
unset DESTDIR LD_LIBRARY_PATH
tmp=$(mktemp -d "${TMPDIR:-/tmp}/expstore-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
ok() { echo "ok: $*"; passed=$((passed + 1)); }
# Run a command quietly; on failure show its output and stop.
quiet() {
    log=$tmp/log
    if ! "$@" >"$log" 2>&1; then
        cat "$log"
        echo "FAIL: $*"
        echo "$passed passed, $((failed + 1)) failed"
        exit 1
    fi
}

# Run a hello program on a new store and check what it prints.
check_hello() { # NAME PROGRAM
    out=$tmp/$1.out
    if ! "$2" "$tmp/store-$1" >"$out" 2>&1; then
        cat "$out"
        fail "$1: hello exited with an error"
        return
    fi
    for want in "expstore $version (compiled with $version)" \
        '{"id":"2","name":"world","amount":30.25}' '{"id":"3","name":null,"amount":50}' \
        'scan returned 2 of 3 rows'; do
        grep -qxF "$want" "$out" || { cat "$out"; fail "$1: no line '$want'"; return; }
    done
    grep -qE '^\{"n":"?2"?,"total":80\.25\}$' "$out" || { cat "$out"; fail "$1: SQL result"; return; }
    ok "$1 runs"
}

# ---------------------------------------------------------------- install
prefix=$tmp/prefix
quiet cmake --install "$build" --prefix "$prefix"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig:$prefix/lib64/pkgconfig"
for d in "$prefix"/lib/*/pkgconfig; do [ -d "$d" ] && PKG_CONFIG_PATH="$d:$PKG_CONFIG_PATH"; done
libdir=$(pkg-config --variable=libdir expstore) || { fail "pkg-config finds no expstore.pc"; exit 1; }
incdir=$(pkg-config --variable=includedir expstore)
[ "$(pkg-config --modversion expstore)" = "$version" ] || fail "expstore.pc: version"
for f in "$incdir/expstore/expstore.h" "$incdir/expstore/sql.h" "$incdir/expstore/arrow.h" \
    "$incdir/expstore/arrow_abi.h" "$incdir/expstore/common.h" "$incdir/expstore/sys/objstore.h" \
    "$libdir/libexpstore.a" "$libdir/libexpstore.so" "$libdir/$soname" \
    "$libdir/libexpstore.so.$version" "$libdir/cmake/expstore/expstoreConfig.cmake" \
    "$libdir/cmake/expstore/expstoreConfigVersion.cmake" "$prefix/bin/expstore" \
    "$prefix/share/man/man1/expstore.1"; do
    [ -e "$f" ] || fail "not installed: ${f#"$prefix"/}"
done
ok "installed files"

# The soname, and the exports: the public API (es_*) only.
got=$(readelf -d "$libdir/libexpstore.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$got" = "$soname" ] && ok "soname $got" || fail "soname is '$got', not $soname"
extra=$(nm -D --defined-only "$libdir/libexpstore.so" | awk '$3 !~ /^es_/ {print $3}')
[ -z "$extra" ] && ok "exports es_* only" || fail "exported beyond es_*: $extra"

# Each public header compiles on its own.
for h in expstore.h sql.h arrow.h arrow_abi.h common.h sys/objstore.h; do
    printf '#include "expstore/%s"\nint main(void) { return 0; }\n' "$h" >"$tmp/h.c"
    "$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror -c -o "$tmp/h.o" -I"$incdir" "$tmp/h.c" ||
        fail "expstore/$h does not compile on its own"
done
ok "headers compile on their own"

# ------------------------------------------------- 1. pkg-config, shared and static
quiet "$cc" -o "$tmp/hello_pc" "$src/examples/hello.c" $(pkg-config --cflags --libs expstore) \
    -Wl,-rpath,"$libdir"
readelf -d "$tmp/hello_pc" | grep -qF "[$soname]" || fail "hello_pc does not need $soname"
check_hello pkg-config "$tmp/hello_pc"
# The archive explicitly (-l:libexpstore.a; a plain -lexpstore prefers the .so) with
# Libs.private: what a static link needs must be in expstore.pc.
static_libs=$(pkg-config --static --libs expstore | sed 's/-lexpstore/-l:libexpstore.a/')
quiet "$cc" -o "$tmp/hello_static" "$src/examples/hello.c" $(pkg-config --cflags expstore) \
    $static_libs
readelf -d "$tmp/hello_static" | grep -q 'libexpstore' && fail "hello_static needs libexpstore.so"
check_hello pkg-config-static "$tmp/hello_static"

# ----------------------------------- 2. find_package, from the prefix moved elsewhere
moved=$tmp/moved
mv "$prefix" "$moved"
mlibdir=$moved${libdir#"$prefix"}
quiet cmake -S "$src/examples" -B "$tmp/fp" -DCMAKE_PREFIX_PATH="$moved" \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Release
quiet cmake --build "$tmp/fp" -j2
readelf -d "$tmp/fp/hello" | grep -qF "[$soname]" || fail "find_package hello does not need $soname"
readelf -d "$tmp/fp/hello" | grep -qF "$mlibdir" || fail "find_package hello: not from $moved"
check_hello find_package "$tmp/fp/hello"
check_hello find_package-static "$tmp/fp/hello_static"

# ----------------------------------------------------------- 3. add_subdirectory
mkdir "$tmp/sub"
cat >"$tmp/sub/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.25)
project(consumer LANGUAGES C)
add_subdirectory("$src" expstore)
add_executable(hello "$src/examples/hello.c")
target_link_libraries(hello PRIVATE expstore::expstore)
EOF
quiet cmake -S "$tmp/sub" -B "$tmp/sub/build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Release
quiet cmake --build "$tmp/sub/build" -j2 --target hello
check_hello add_subdirectory "$tmp/sub/build/hello"
# As a subproject, no tests, benches or shell, and no search for their dependencies.
if grep -qE '^(__pkg_config_checked_(SQLITE|EDIT)|ES_BUILD_(TESTS|SHELL):BOOL=ON)' \
    "$tmp/sub/build/CMakeCache.txt"; then
    fail "add_subdirectory: tests or shell configured"
else
    ok "add_subdirectory: library only"
fi

# ------------------------------------------------------------ the installed program
exe=$moved/bin/expstore
readelf -d "$exe" | grep -E 'R(UN)?PATH' | grep -qF "$build" && fail "bin/expstore: rpath into the build tree"
if readelf -d "$exe" | grep -q 'NEEDED.*libexpstore'; then
    readelf -d "$exe" | grep -E 'R(UN)?PATH' | grep -qF '$ORIGIN' || fail "bin/expstore: no \$ORIGIN rpath"
fi
[ "$("$exe" --version)" = "expstore $version" ] || fail "bin/expstore --version"
out=$("$exe" "$tmp/store-shell" -csv -c 'SELECT 1 AS one;' 2>&1) || true
[ "$out" = "one
1" ] && ok "bin/expstore runs from the moved prefix" || fail "bin/expstore: '$out'"

# -------------------------------------------------------------------- the manual
if command -v man >/dev/null 2>&1; then
    page=$moved/share/man/man1/expstore.1
    MANPAGER=cat MANWIDTH=100 LC_ALL=C man --warnings -l "$page" >"$tmp/man.out" 2>"$tmp/man.err" ||
        fail "man -l expstore.1 failed"
    [ -s "$tmp/man.err" ] && { cat "$tmp/man.err"; fail "expstore.1: warnings"; }
    for want in SYNOPSIS "DOT-COMMANDS" ENVIRONMENT "EXIT STATUS" EXAMPLES "Exp Store $version"; do
        grep -q "$want" "$tmp/man.out" || fail "expstore.1: no '$want'"
    done
    ok "man page renders"
else
    echo "skip: man page (man is not installed)"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
