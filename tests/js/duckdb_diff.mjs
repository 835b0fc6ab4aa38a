// duckdb_diff.mjs EXPSTORE WORKDIR: differential test of the SQL that SQLite lacks or spells
// differently (ILIKE, date_trunc, date_part/EXTRACT, strftime, concat, ...) against DuckDB
// (@duckdb/node-api), the oracle for those. The same table is loaded into both; each query
// runs in `expstore -csv` and in DuckDB, and the rows are compared: NULL with an empty field,
// numbers numerically, timestamps without trailing zeros in their fractions. Prints one line per
// mismatch and "N passed, N failed"; exits 1 on a mismatch.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';

const [bin, work] = process.argv.slice(2);
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const store = `${work}/store`;

// Rows: timestamps around year ends, leap days, ISO week edges, before 1970, with fractions.
const names = ['Ann', 'bob', 'ANNA', 'Brian', 'carl', 'Éva', null, 'dan an'];
const stamps = [
  '2024-03-07 01:02:03.5', '2023-12-31 23:59:59', '2021-01-01 00:00:00', '2020-02-29 12:00:00',
  '1969-12-31 23:59:59.999999', '1960-01-01 00:00:00.25', '2000-01-01 00:00:00',
  '2001-12-31 12:30:45.123456', '2018-12-31 06:07:08', '2027-01-03 18:00:00', '1999-06-15 13:14:15',
  '2010-01-04 00:00:01',
];
const rows = [];
for (let i = 0; i < 48; i++) {
  const ts = stamps[i % stamps.length];
  const name = names[i % names.length];
  const amount = ((i * 37) % 2000 - 1000) / 8; // exact at 3 decimals; stored at 2
  const x = i % 5 === 0 ? null : ((i * 13) % 200 - 100) / 4;
  rows.push([i, name, i % 7 === 3 ? null : ts, ts.slice(0, 10), amount, x]);
}
const lit = (v) => (v === null ? 'NULL' : typeof v === 'number' ? String(v) : `'${v}'`);
const create = 'CREATE TABLE ev (id BIGINT, name VARCHAR, ts TIMESTAMP, d DATE, amount DECIMAL(10,2), x DOUBLE)';
const insert = `INSERT INTO ev VALUES ${rows
  .map((r) => `(${r[0]}, ${lit(r[1])}, ${lit(r[2])}, ${lit(r[3])}, ${r[4].toFixed(3)}, ${lit(r[5])})`)
  .join(', ')}`;

const queries = [
  "SELECT id, name ILIKE '%an%', name NOT ILIKE 'a%', name ILIKE 'é_a' FROM ev ORDER BY id",
  "SELECT id FROM ev WHERE name ILIKE 'b%' OR name ILIKE '%AN' ORDER BY id",
  "SELECT id, CASE WHEN name ILIKE 'b%' THEN date_trunc('year', ts) ELSE date_trunc('month', d) END FROM ev ORDER BY id",
  "SELECT date_trunc('year', ts) AS y, count(*), count(DISTINCT name) FROM ev GROUP BY y ORDER BY y NULLS LAST",
  "SELECT id, substring(name, 2, 3), substr(name, -2), concat(name, '-', id, NULL), nullif(name, 'bob'), trim(name, 'A') FROM ev ORDER BY id",
  "SELECT id, round(amount, 1), round(amount), floor(amount), ceil(amount), round(x, 1) FROM ev ORDER BY id",
  "SELECT id, CASE id % 3 WHEN 0 THEN amount WHEN 1 THEN x END FROM ev ORDER BY id",
];
for (const p of ['microsecond', 'millisecond', 'second', 'minute', 'hour', 'day', 'week', 'month',
  'quarter', 'year', 'decade', 'century', 'millennium']) {
  queries.push(`SELECT id, date_trunc('${p}', ts), date_trunc('${p}', d) FROM ev ORDER BY id`);
}
for (const f of ['year', 'month', 'day', 'hour', 'minute', 'second', 'millisecond', 'microsecond',
  'quarter', 'week', 'isoyear', 'yearweek', 'dow', 'isodow', 'doy', 'decade', 'century',
  'millennium', 'epoch']) {
  queries.push(`SELECT id, date_part('${f}', ts), extract(${f} FROM d) FROM ev ORDER BY id`);
}
for (const fmt of ['%Y-%m-%d %H:%M:%S.%f', '%a %A %b %B %j %U %W %V %G %u %w',
  '%I:%M %p %-d/%-m/%y', '%g %-H %-I %-M %-S %-j %c %x %X %h %%']) {
  queries.push(`SELECT id, strftime(ts, '${fmt}'), strftime(d, '${fmt}') FROM ev ORDER BY id`);
}

// Ours: one run, results separated by a marker row.
execFileSync(bin, [store, '-c', `${create}; ${insert};`]);
const script = `.mode csv\n${queries.map((q) => `${q};\nSELECT 'end-of-result' AS sep;\n`).join('')}`;
let out;
try {
  out = execFileSync(bin, [store], { input: script, maxBuffer: 1 << 28 }).toString();
} catch (e) {
  console.log(`expstore failed: ${e.stderr}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}

// A CSV record parser for the shell's output.
function parseCsvLine(line) {
  const f = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let s = '';
      i++;
      for (;;) {
        if (line[i] === '"' && line[i + 1] === '"') { s += '"'; i += 2; } else if (line[i] === '"') { i++; break; } else { s += line[i++]; }
      }
      f.push({ v: s, quoted: true });
      i++; // the comma
    } else {
      const j = line.indexOf(',', i);
      const end = j < 0 ? line.length : j;
      f.push({ v: line.slice(i, end), quoted: false });
      i = end + 1;
    }
  }
  return f;
}

const tsRe = /^(-?\d{4,}-\d\d-\d\d \d\d:\d\d:\d\d)(\.\d+)?(.*)$/;
function normTs(s) {
  const m = tsRe.exec(s);
  if (!m) return s;
  const frac = (m[2] || '').replace(/0+$/, '');
  return m[1] + (frac === '.' ? '' : frac) + m[3];
}
function same(ours, theirs) {
  if (theirs === null) return ours.v === '' && !ours.quoted;
  const o = ours.v;
  const t = String(theirs);
  if (o === t || normTs(o) === normTs(t)) return true;
  const a = Number(o), b = Number(t);
  if (o !== '' && t !== '' && !Number.isNaN(a) && !Number.isNaN(b))
    return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
  return false;
}

const inst = await DuckDBInstance.create(':memory:');
const con = await inst.connect();
await con.run(create);
await con.run(insert);
let pass = 0, fail = 0;
const parts = out.split('sep\nend-of-result\n');
for (let q = 0; q < queries.length; q++) {
  const lines = (parts[q] || '').split('\n').filter((l) => l !== '');
  const ours = lines.slice(1).map(parseCsvLine);
  let theirs;
  try {
    theirs = (await con.runAndReadAll(queries[q])).getRows().map((r) => r.map((v) => (v === null ? null : String(v))));
  } catch (e) {
    console.log(`duckdb: ${queries[q]}: ${e.message}`);
    fail++;
    continue;
  }
  let bad = ours.length !== theirs.length ? `${ours.length} rows, DuckDB ${theirs.length}` : null;
  for (let r = 0; !bad && r < ours.length; r++) {
    if (ours[r].length !== theirs[r].length) bad = `row ${r}: ${ours[r].length} fields, DuckDB ${theirs[r].length}`;
    for (let c = 0; !bad && c < ours[r].length; c++)
      if (!same(ours[r][c], theirs[r][c])) bad = `row ${r} column ${c}: ours '${ours[r][c].v}', DuckDB '${theirs[r][c]}'`;
  }
  if (bad) {
    fail++;
    console.log(`MISMATCH ${queries[q]}\n  ${bad}`);
  } else {
    pass++;
  }
}
console.log(`${pass} passed, ${fail} failed`);
process.exit(fail ? 1 : 0);
