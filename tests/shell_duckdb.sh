#!/bin/sh
# shell_duckdb.sh EXPSTORE WORKDIR NODE: the SQL that SQLite lacks (ILIKE, date_trunc, date_part,
# strftime, ...) compared with DuckDB through @duckdb/node-api (tests/js/duckdb_diff.mjs). Exit 77
# (skip) without node or node_modules/@duckdb/node-api (scripts/setup --test installs it).
set -u
bin=$1 work=$2 node=${3:-}
src=${ES_SOURCE_DIR:-$(dirname "$0")/..}
if [ -z "$node" ] || ! command -v "$node" >/dev/null 2>&1; then
    echo "SKIP: node not found"; exit 77
fi
if [ ! -d "$src/node_modules/@duckdb/node-api" ]; then
    echo "SKIP: node_modules/@duckdb/node-api missing (scripts/setup --test)"; exit 77
fi
exec "$node" "$src/tests/js/duckdb_diff.mjs" "$bin" "$work"
