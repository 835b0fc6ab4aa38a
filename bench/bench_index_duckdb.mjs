// bench_index_duckdb.mjs: the DuckDB side of bench/bench_index.c (run by it, with node).
//
//   node bench/bench_index_duckdb.mjs DIR
//
// Loads DIR/events.csv (written by bench_index) into DuckDB file databases in DIR, with its
// PRIMARY KEY, and with an index (an ART) on user_id created before a second load; runs the
// lookups of bench_index for the keys in DIR/keys.txt and prints one line "step <name>
// <seconds>" per step (wall time inside this process), one "cpu <name> <seconds>" (CPU of this
// process, all DuckDB threads) and "found <rows>" at the end.
import { DuckDBInstance } from '@duckdb/node-api';
import { readFileSync, rmSync } from 'node:fs';

const dir = process.argv[2];
const keys = readFileSync(`${dir}/keys.txt`, 'utf8').trim().split('\n').map(Number);
const COLS =
    "columns = {'id': 'BIGINT', 'ts': 'TIMESTAMP', 'user_id': 'INTEGER', 'category': 'VARCHAR', " +
    "'amount': 'DOUBLE', 'note': 'VARCHAR'}, header = false, quote = '', escape = ''";
const DDL = `(id BIGINT PRIMARY KEY, ts TIMESTAMP, user_id INTEGER, category VARCHAR,
    amount DOUBLE, note VARCHAR)`;

const path = `${dir}/duckdb_index.db`;
rmSync(path, { force: true });
rmSync(`${path}.wal`, { force: true });
const inst = await DuckDBInstance.create(path);
const c = await inst.connect();

let u0 = process.cpuUsage();
async function time(sql) {
    const t0 = performance.now();
    u0 = process.cpuUsage();
    await c.run(sql);
    return (performance.now() - t0) / 1000;
}
// The step's wall time t, and the CPU since the last time() or start() (divided by n).
function step(name, t, n = 1) {
    const u = process.cpuUsage(u0);
    console.log(`step ${name.replaceAll(' ', '_')} ${t.toFixed(6)}`);
    console.log(`cpu ${name.replaceAll(' ', '_')} ${((u.user + u.system) / 1e6 / n).toFixed(6)}`);
}
function start() {
    u0 = process.cpuUsage();
    return performance.now();
}

await c.run(`CREATE TABLE events ${DDL}`);
step('load (PK)', await time(`INSERT INTO events SELECT * FROM read_csv('${dir}/events.csv', ${COLS})`));
await c.run(`CREATE TABLE events2 ${DDL}`);
await c.run('CREATE INDEX events2_user ON events2 (user_id)');
step('load (PK+index)',
     await time(`INSERT INTO events2 SELECT * FROM read_csv('${dir}/events.csv', ${COLS})`));
await c.run('DROP TABLE events2');
await c.run('CHECKPOINT');

const slow = 5;
let t = [];
for (let i = 0; i < slow; i++)
    t.push(await time(`SELECT count(*) FROM events WHERE user_id = ${keys[i]}`));
step('count no index', t.sort((a, b) => a - b)[Math.floor(slow / 2)]);
let t0 = start();
for (let i = 0; i < slow; i++)
    await c.runAndReadAll(`SELECT * FROM events WHERE user_id = ${keys[i]}`);
step('lookup no index', (performance.now() - t0) / 1000 / slow, slow);
step('CREATE INDEX', await time('CREATE INDEX events_user ON events (user_id)'));
t0 = start();
for (let i = 0; i < 100; i++)
    await c.runAndReadAll(`SELECT count(*) FROM events WHERE user_id = ${keys[i]}`);
step('count index', (performance.now() - t0) / 1000 / 100, 100);
const lookup = await c.prepare('SELECT * FROM events WHERE user_id = $1');
let found = 0;
t0 = start();
for (const k of keys) {
    lookup.bindInteger(1, k);
    const r = await lookup.runAndReadAll();
    found += r.getRows().length;
}
step('lookups', (performance.now() - t0) / 1000);
console.log(`found ${found}`);
c.closeSync?.();
