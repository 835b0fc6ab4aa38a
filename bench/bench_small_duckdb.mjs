// bench_small_duckdb.mjs: the DuckDB side of bench/bench_small.c (run by it, with node).
//
//   node bench/bench_small_duckdb.mjs DIR N
//
// Single-row autocommit INSERTs into a DuckDB file database in DIR: N from one connection, then
// N spread over 8 connections of the same instance running at once. Prints
// "rate <connections> <inserts per second>" (wall time inside this process).
import { DuckDBInstance } from '@duckdb/node-api';
import { rmSync } from 'node:fs';

const dir = process.argv[2];
const n = Number(process.argv[3] || 2000);
const path = `${dir}/small.duckdb`;
rmSync(path, { force: true });
rmSync(`${path}.wal`, { force: true });
const inst = await DuckDBInstance.create(path);
const setup = await inst.connect();
await setup.run('CREATE TABLE t (id BIGINT PRIMARY KEY, v VARCHAR)');

async function session(c, first, count) {
    for (let i = 0; i < count; i++) {
        const id = first + i;
        await c.run(`INSERT INTO t VALUES (${id}, 'value ${id}')`);
    }
}

let t0 = performance.now();
await session(setup, 0, n);
console.log(`rate 1 ${(n / ((performance.now() - t0) / 1000)).toFixed(0)}`);

const conns = [];
for (let k = 0; k < 8; k++)
    conns.push(await inst.connect());
const per = Math.floor(n / 8);
t0 = performance.now();
await Promise.all(conns.map((c, k) => session(c, (k + 1) * 100000000, per)));
console.log(`rate 8 ${((per * 8) / ((performance.now() - t0) / 1000)).toFixed(0)}`);
