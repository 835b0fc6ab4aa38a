#!/bin/sh
# duckdb_oracle.sh EXPSTORE WORKDIR: the numeric rules of docs/SQL.md (NaN ordering through
# pushed-down and evaluated predicates, statistics, ORDER BY, GROUP BY, min/max; rounding and
# range of casts; overflow) compared with DuckDB by tests/js/duckdb_oracle.mjs. Run by CTest
# (shell_duckdb_oracle). Exit 77 (skipped) when node or node_modules/@duckdb/node-api is missing.
set -u
src=${ES_SOURCE_DIR:-$(dirname "$0")/../..}
if ! command -v node >/dev/null 2>&1; then
    echo "SKIP: node is not installed"
    exit 77
fi
if [ ! -d "$src/node_modules/@duckdb/node-api" ]; then
    echo "SKIP: $src/node_modules lacks @duckdb/node-api (scripts/setup --test installs it)"
    exit 77
fi
exec node "$src/tests/js/duckdb_oracle.mjs" "$1" "$2"
