// dict.mjs: Arrow IPC files whose string columns are dictionary-encoded the way Apache Arrow JS
// encodes strings by default (tableFromArrays / vectorFromArray: Dictionary<Utf8, Int32>), for
// tests/dict_interop.sh: two record batches sharing one dictionary, nulls, an empty string, in
// the file and the stream formats, uncompressed.
//
//   node tests/js/dict.mjs OUTDIR   -> OUTDIR/js_dict.arrow, OUTDIR/js_dict.arrows and
//                                      OUTDIR/js_dict.csv (the same rows as CSV, the oracle)

import { writeFileSync } from 'node:fs';
import { tableFromArrays, tableToIPC, vectorFromArray, Table } from 'apache-arrow';

const out = process.argv[2];
const words = ['alpha', 'beta', '', 'gamma', 'delta'];
const n = 1000;
const cat = [], note = [], id = [];
for (let i = 0; i < n; i++) {
    id.push(i);
    cat.push(i % 7 === 3 ? null : words[(i * 31) % words.length]);
    note.push(`n${i % 13}`);
}
const t = tableFromArrays({ id: Int32Array.from(id), cat, note });
const type = t.schema.fields[1].type.toString();
if (!type.startsWith('Dictionary')) throw new Error(`expected a dictionary column, got ${type}`);
// Two record batches (the second re-uses the first's dictionary).
const half = new Table([...t.slice(0, n / 2).batches, ...t.slice(n / 2).batches]);
writeFileSync(`${out}/js_dict.arrow`, tableToIPC(half, 'file'));
writeFileSync(`${out}/js_dict.arrows`, tableToIPC(half, 'stream'));
const csv = ['id,cat,note'];
for (let i = 0; i < n; i++) csv.push(`${id[i]},${cat[i] === null ? '' : `"${cat[i]}"`},${note[i]}`);
writeFileSync(`${out}/js_dict.csv`, csv.join('\n') + '\n');
console.log(`dict.mjs: ${type}, ${half.batches.length} batches`);
