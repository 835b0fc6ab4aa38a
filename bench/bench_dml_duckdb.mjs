// bench_dml_duckdb.mjs: the DuckDB side of bench/bench_dml.c (run by it, with node).
//
//   node bench/bench_dml_duckdb.mjs DIR
//
// Loads DIR/events.csv and DIR/upsert.csv (written by bench_dml) into a DuckDB file database in
// DIR, runs the steps of bench_dml and prints one line "step <name> <seconds>" per step (wall
// time of the statement inside this process) and "check <count> rows, sum <sum>" at the end.
import { COLS, freshDb, median, step, time } from './duckdb_peer.mjs';

const dir = process.argv[2];
const Q_GROUP =
    'SELECT category, count(*), sum(amount) FROM events GROUP BY category ORDER BY category';
const Q_DELETE = 'DELETE FROM events WHERE user_id < 1000';
const Q_UPDATE =
    "UPDATE events SET amount = amount * 2, note = 'updated' WHERE user_id >= 99000";
const c = await freshDb(`${dir}/duckdb.db`);

let t0 = performance.now();
await c.run(`CREATE TABLE events (id BIGINT PRIMARY KEY, ts TIMESTAMP, user_id INTEGER,
    category VARCHAR, amount DOUBLE, note VARCHAR)`);
await c.run(`INSERT INTO events SELECT * FROM read_csv('${dir}/events.csv', ${COLS})`);
await c.run(`CREATE TABLE staging AS SELECT * FROM read_csv('${dir}/upsert.csv', ${COLS})`);
await c.run(`CREATE TABLE events_nopk AS SELECT * FROM events`);
await c.run('CHECKPOINT');
console.log(`loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

step('scan before', await median(c, Q_GROUP));
step('DELETE 1%', await time(c, Q_DELETE));
step('scan after', await median(c, Q_GROUP));
step('UPDATE 1%', await time(c, Q_UPDATE));
// DuckDB's upsert into a table with a primary key is slow (about 12 s for 100k rows into 200k
// at the time of writing); DUCKDB_UPSERT=0 leaves it out.
if (process.env.DUCKDB_UPSERT !== '0')
    step('upsert 100k', await time(c, 'INSERT OR REPLACE INTO events SELECT * FROM staging'));
step('DELETE 1% (no PK)', await time(c, Q_DELETE.replace('events', 'events_nopk')));

const r = await c.runAndReadAll('SELECT count(*), sum(amount) FROM events');
const [n, sum] = r.getRows()[0];
console.log(`check ${n} rows, sum ${Number(sum).toFixed(2)}`);
c.closeSync?.();
