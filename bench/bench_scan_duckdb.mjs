// bench_scan_duckdb.mjs: the DuckDB side of bench/bench_scan.c (run by it, with node).
//
//   node bench/bench_scan_duckdb.mjs DIR
//
// Loads DIR/events.csv (written by bench_scan) into a DuckDB file database in DIR (table
// without a primary key, the closest design to Exp Store's) and runs each query of
// DIR/queries.tsv (lines "<name>\t<reps>\t<sql>"). Prints "step <name> <wall s>",
// "cpu <name> <cpu s>" (medians; CPU of this process, all DuckDB threads), "result <name>
// <values>" (rows joined by ';', values by '|') and "size <bytes of the database file>".
import { readFileSync, statSync } from 'node:fs';
import { COLS, freshDb, step } from './duckdb_peer.mjs';

const dir = process.argv[2];
const c = await freshDb(`${dir}/duckdb.db`);
const med = (v) => v.sort((a, b) => a - b)[(v.length - 1) >> 1];

await c.run(`CREATE TABLE events (id BIGINT, ts TIMESTAMP, user_id INTEGER, category VARCHAR,
    amount DOUBLE, note VARCHAR)`);
let t0 = performance.now(), u0 = process.cpuUsage();
await c.run(`INSERT INTO events SELECT * FROM read_csv('${dir}/events.csv', ${COLS})`);
await c.run('CHECKPOINT');
let u = process.cpuUsage(u0);
step('load', (performance.now() - t0) / 1000, (u.user + u.system) / 1e6);
console.log(`size ${statSync(`${dir}/duckdb.db`).size}`);

for (const line of readFileSync(`${dir}/queries.tsv`, 'utf8').split('\n')) {
    if (!line) continue;
    const [name, reps, sql] = line.split('\t');
    const wall = [], cpu = [];
    let rows;
    for (let i = 0; i < Number(reps); i++) {
        t0 = performance.now();
        u0 = process.cpuUsage();
        const r = await c.runAndReadAll(sql);
        rows = r.getRows();
        u = process.cpuUsage(u0);
        wall.push((performance.now() - t0) / 1000);
        cpu.push((u.user + u.system) / 1e6);
    }
    step(name, med(wall), med(cpu));
    const text = rows.map((r) => r.map((v) => (v === null ? '' : String(v))).join('|')).join(';');
    console.log(`result ${name.replaceAll(' ', '_')} ${text}`);
}
c.closeSync?.();
