// bench_alter_duckdb.mjs: the DuckDB side of bench/bench_alter.c (run by it, with node).
//
//   node bench/bench_alter_duckdb.mjs DIR ROWS
//
// Builds the tables events (ROWS rows) and small (ROWS/10) of bench_alter with range() in a
// DuckDB file database in DIR, runs the same alterations on each and prints one line
// "alter <table> <index> <seconds>" per alteration (wall time of the statement inside this
// process), in bench_alter's order.
import { DuckDBInstance } from '@duckdb/node-api';
import { rmSync } from 'node:fs';

const [dir, rowsArg] = process.argv.slice(2);
const rows = BigInt(rowsArg);
const alters = [
    // DuckDB cannot add a column with a constraint: ADD COLUMN ... DEFAULT 1 (nullable) instead.
    'ALTER TABLE %s ADD COLUMN qty INTEGER DEFAULT 1',
    'ALTER TABLE %s RENAME COLUMN qty TO quantity',
    'ALTER TABLE %s ALTER COLUMN user_id TYPE BIGINT',
    'ALTER TABLE %s ALTER COLUMN note SET NOT NULL',
    'ALTER TABLE %s ALTER COLUMN note DROP NOT NULL',
    'ALTER TABLE %s DROP COLUMN note',
    'ALTER TABLE %s RENAME TO %s_renamed',
];

const path = `${dir}/duckdb.db`;
rmSync(path, { force: true });
rmSync(`${path}.wal`, { force: true });
const inst = await DuckDBInstance.create(path);
const c = await inst.connect();

for (const [table, n] of [['events', rows], ['small', rows / 10n]]) {
    await c.run(`CREATE TABLE ${table} (id BIGINT PRIMARY KEY, ts TIMESTAMP, user_id INTEGER,
        category VARCHAR, amount DOUBLE, note VARCHAR)`);
    await c.run(`INSERT INTO ${table} SELECT i, to_timestamp(1704067200 + i // 4)::TIMESTAMP,
        (i * 48271) % 100000, printf('category_%02d', i % 20), ((i * 31) % 100000) / 100,
        'n' || ((i * 7919) % 100000) FROM range(${n}) t(i)`);
    await c.run('CHECKPOINT');
    for (let k = 0; k < alters.length; k++) {
        const sql = alters[k].replaceAll('%s', table);
        const t0 = performance.now();
        try {
            await c.run(sql);
            console.log(`alter ${table} ${k} ${((performance.now() - t0) / 1000).toFixed(6)}`);
        } catch (e) {
            console.log(`${sql}: ${e.message}`); // printed by bench_alter; its time stays "-"
        }
    }
}
