// duckdb_oracle.mjs: the numeric rules of docs/SQL.md checked against DuckDB (npm
// `@duckdb/node-api`), the oracle where SQLite has no opinion: NaN (SQLite stores it as NULL),
// the order of NaN, -0.0 and the infinities, and the rounding and range of casts. Run by
// tests/shell/duckdb_oracle.sh (CTest shell_duckdb_oracle).
//
//   node duckdb_oracle.mjs EXPSTORE WORKDIR
//
// The same table is loaded on both sides (on ours by several COPYs, so that parts and the
// batches of one part have their own min/max statistics to prune with), then every query runs
// on both and the results must be equal: the same rows (numbers within 1e-12 relative), or an
// error on both sides. Prints one line per mismatch and `N passed, N failed`; exit 1 on failure.
import { DuckDBInstance } from '@duckdb/node-api';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';

const [expstore, work] = process.argv.slice(2);
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

// The values, as text ('' is NULL), part by part.
const big = [];
for (let i = 0; i < 8192; i++) big.push('1');
for (let i = 0; i < 8191; i++) big.push('2.5');
big.push('nan');
for (let i = 0; i < 100; i++) big.push('-1');
for (let i = 0; i < 50; i++) big.push('');
big.push('1e300');
const parts = [['1', '1'], ['nan', 'NaN'], ['-0.0', '0'], ['inf', '-Infinity', ''], [''],
  ['nan', '1', '1'], big];

// Queries valid in both dialects.
const lits = ['1', '0', '-0.0', '2.5', '-1', '1e300', "CAST('nan' AS DOUBLE)",
  "CAST('inf' AS DOUBLE)", "CAST('-Infinity' AS DOUBLE)"];
const queries = [];
for (let i = 0; i < lits.length; i++) {
  const l = lits[i], l2 = lits[(i + 3) % lits.length];
  for (const c of ['d', 'd + 0']) {
    for (const op of ['=', '<>', '<', '<=', '>', '>='])
      queries.push(`SELECT count(*) FROM nt WHERE ${c} ${op} ${l}`);
    queries.push(`SELECT count(*) FROM nt WHERE ${c} BETWEEN ${l} AND ${l2}`);
    queries.push(`SELECT count(*) FROM nt WHERE ${c} NOT BETWEEN ${l} AND ${l2}`);
    queries.push(`SELECT count(*) FROM nt WHERE ${c} IN (${l}, ${l2})`);
    queries.push(`SELECT count(*) FROM nt WHERE ${c} NOT IN (${l}, ${l2})`);
    queries.push(`SELECT count(*) FROM nt WHERE NOT (${c} < ${l})`);
  }
}
queries.push(
  'SELECT count(*) FROM nt WHERE d IS NULL',
  'SELECT count(*) FROM nt WHERE d + 0 IS NOT NULL',
  'SELECT d, count(*) FROM nt GROUP BY d ORDER BY d NULLS FIRST',
  'SELECT d + 0, count(*) FROM nt GROUP BY d + 0 ORDER BY d + 0 DESC NULLS LAST',
  'SELECT min(d), max(d), min(d + 0), max(d + 0) FROM nt',
  'SELECT min(d), max(d) FROM nt WHERE d > 1e300',
  'SELECT min(d), max(d) FROM nt WHERE d < 2',
  'SELECT d FROM nt WHERE d > 3 OR d < -2 ORDER BY d',
  'SELECT DISTINCT d FROM nt WHERE d < 3 OR d > 3 ORDER BY d',
  // Casts: text and decimals round half away from zero, doubles half to even.
  "SELECT CAST('1.5' AS INTEGER), CAST(2.5 AS INTEGER), CAST(-2.5 AS INTEGER), CAST(1.7 AS INTEGER)",
  'SELECT CAST(CAST(2.5 AS DOUBLE) AS INTEGER), CAST(CAST(3.5 AS DOUBLE) AS INTEGER), CAST(CAST(-0.5 AS DOUBLE) AS BIGINT)',
  "SELECT CAST('12345678.905' AS DECIMAL(10,2)), CAST('-0.005' AS DECIMAL(10,2)), CAST(0.125 AS DECIMAL(5,2))",
  "SELECT CAST('99999999999' AS INTEGER)",
  'SELECT CAST(70000 AS SMALLINT)',
  'SELECT CAST(-2147483649 AS INTEGER)',
  'SELECT CAST(123456789012 AS DECIMAL(10,2))',
  "SELECT CAST('nan' AS INTEGER)",
  "SELECT CAST(CAST('inf' AS DOUBLE) AS BIGINT)",
  // Arithmetic: exact or an error.
  'SELECT 9223372036854775807 + 1',
  'SELECT -9223372036854775807 - 2',
  'SELECT 4611686018427387904 * 2',
  'SELECT 0.1 + 0.2, CAST(0.1 AS DOUBLE) + CAST(0.2 AS DOUBLE), 123456789012345.678 * 1',
  'SELECT avg(x) FROM (VALUES (9223372036854775807), (9223372036854775807)) t(x)',
);

// DuckDB's side.
const inst = await DuckDBInstance.create(':memory:');
const con = await inst.connect();
const all = parts.flat().map((v) => (v === '' ? '(NULL)' : `(CAST('${v}' AS DOUBLE))`));
await con.run('CREATE TABLE nt (d DOUBLE)');
await con.run(`INSERT INTO nt VALUES ${all.join(', ')}`);
const theirs = [];
for (const q of queries) {
  try {
    const r = await con.runAndReadAll(q);
    theirs.push(r.getRows().map((row) => row.map((v) => (v === null ? null : String(v)))));
  } catch (e) {
    theirs.push(null);
  }
}

// Ours: the queries separated by a marker; a failed query prints nothing before its marker.
// (VALUES ...) is not in our dialect: the avg() query reads a table instead.
const store = `${work}/store`;
const load = ['CREATE TABLE nt (d DOUBLE);',
  'CREATE TABLE t (x BIGINT); INSERT INTO t VALUES (9223372036854775807), (9223372036854775807);'];
parts.forEach((p, k) => {
  writeFileSync(`${work}/p${k}.csv`, p.join('\n') + '\n');
  load.push(`COPY nt FROM '${work}/p${k}.csv';`);
});
let r = spawnSync(expstore, [store, '-c', load.join('\n')], { encoding: 'utf8' });
if (r.status !== 0) {
  console.log(`load failed: ${r.stderr}`);
  process.exit(1);
}
const script = queries
  .map((q) => q.replace('(VALUES (9223372036854775807), (9223372036854775807)) t(x)', 't'))
  .map((q) => `${q};\nSELECT 'end' AS marker_;\n`).join('');
r = spawnSync(expstore, [store, '-csv'], { input: script, encoding: 'utf8' });
const chunks = r.stdout.split('marker_\nend\n');
const ours = queries.map((q, i) => {
  const lines = (chunks[i] || '').split('\n').filter((l) => l !== '');
  if (lines.length === 0) return null; /* an error: no header */
  return lines.slice(1).map((l) => l.split(',').map((v) => (v === '' ? null : v)));
});

function num(v) {
  const t = { Inf: 'Infinity', '-Inf': '-Infinity' }[v] ?? v;
  return /^[-+]?(\d|Infinity|NaN|\.\d)/.test(t) ? Number(t) : NaN;
}
function same(a, b) {
  if (a === null || b === null) return a === b;
  if (a === b || (a === 'true' && b === 'true')) return true;
  const x = num(a), y = num(b);
  if (Number.isNaN(x) || Number.isNaN(y))
    return (a === 'NaN' && b === 'NaN') || false;
  return x === y || Math.abs(x - y) <= 1e-12 * Math.max(1, Math.abs(x), Math.abs(y));
}
let pass = 0, fail = 0;
queries.forEach((q, i) => {
  const a = ours[i], b = theirs[i];
  let ok = (a === null) === (b === null);
  if (ok && a !== null) {
    ok = a.length === b.length &&
      a.every((row, k) => row.length === b[k].length && row.every((v, j) => same(v, b[k][j])));
  }
  if (ok) {
    pass++;
  } else {
    fail++;
    const show = (x) => (x === null ? 'an error' : JSON.stringify(x).slice(0, 300));
    console.log(`MISMATCH ${q}\n  expstore: ${show(a)}\n  duckdb:   ${show(b)}`);
  }
});
console.log(`${pass} passed, ${fail} failed`);
process.exit(fail ? 1 : 0);
