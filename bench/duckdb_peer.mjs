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

// The CPU seconds (this process, all DuckDB threads) of the last time() or median() call.
export const last = { cpu: 0 };

// Wall seconds of one statement.
export async function time(c, sql) {
    const t0 = performance.now(), u0 = process.cpuUsage();
    await c.run(sql);
    const u = process.cpuUsage(u0);
    last.cpu = (u.user + u.system) / 1e6;
    return (performance.now() - t0) / 1000;
}

const mid = (v) => (v.sort((a, b) => a - b), v.length % 2 ? v[(v.length - 1) / 2]
    : (v[v.length / 2 - 1] + v[v.length / 2]) / 2);

// Median wall seconds of n runs of a statement (last.cpu: the median CPU seconds).
export async function median(c, sql, n = 3) {
    const t = [], cpu = [];
    for (let i = 0; i < n; i++) {
        t.push(await time(c, sql));
        cpu.push(last.cpu);
    }
    last.cpu = mid(cpu);
    return mid(t);
}

// Print the step's wall seconds, and its CPU seconds (default: those of the last timing).
export function step(name, t, cpu = last.cpu) {
    console.log(`step ${name.replaceAll(' ', '_')} ${t.toFixed(6)}`);
    console.log(`cpu ${name.replaceAll(' ', '_')} ${cpu.toFixed(6)}`);
}
