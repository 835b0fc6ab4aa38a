// duckdb_peer.mjs: what the DuckDB peers of the bench programs share (bench_dml_duckdb.mjs,
// bench_scan_duckdb.mjs): a fresh file database, the reference table's CSV columns, timing a
// statement and printing "step <name> <seconds>" lines that bench.h's bench_parse_step reads.
import { DuckDBInstance } from '@duckdb/node-api';
import { rmSync } from 'node:fs';

// read_csv options for the CSV files bench.h writes (no header, no quoting).
export const COLS =
    "columns = {'id': 'BIGINT', 'ts': 'TIMESTAMP', 'user_id': 'INTEGER', 'category': 'VARCHAR', " +
    "'amount': 'DOUBLE', 'note': 'VARCHAR'}, header = false, quote = '', escape = ''";

// A connection to a new, empty database file at path (any old one removed).
export async function freshDb(path) {
    rmSync(path, { force: true });
    rmSync(`${path}.wal`, { force: true });
    const inst = await DuckDBInstance.create(path);
    return inst.connect();
}

// Wall seconds of one statement.
export async function time(c, sql) {
    const t0 = performance.now();
    await c.run(sql);
    return (performance.now() - t0) / 1000;
}

// Median wall seconds of n runs of a statement.
export async function median(c, sql, n = 3) {
    const t = [];
    for (let i = 0; i < n; i++) t.push(await time(c, sql));
    t.sort((a, b) => a - b);
    return n % 2 ? t[(n - 1) / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

export function step(name, t) {
    console.log(`step ${name.replaceAll(' ', '_')} ${t.toFixed(6)}`);
}
