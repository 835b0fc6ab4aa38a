// dict.mjs: Arrow IPC files whose string columns are dictionary-encoded the way Apache Arrow JS
// encodes strings by default (tableFromArrays / vectorFromArray: Dictionary<Utf8, Int32>), for
// tests/dict_interop.sh: two record batches sharing one dictionary, nulls, an empty string, in
// the file and the stream formats, uncompressed. Then the same with a dictionary that grows
// between batches, which Arrow JS writes as delta dictionary batches (isDelta).
//
//   node tests/js/dict.mjs OUTDIR   -> OUTDIR/js_dict.arrow, OUTDIR/js_dict.arrows and
//                                      OUTDIR/js_dict.csv (the same rows as CSV, the oracle);
//                                      OUTDIR/js_delta.{arrow,arrows,csv} likewise

import { writeFileSync } from 'node:fs';
import {
    tableFromArrays, tableToIPC, vectorFromArray, Table, makeBuilder, makeVector, Dictionary, Utf8,
    Int32, MessageReader,
} from 'apache-arrow';

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

// Delta dictionaries: a dictionary builder flushed every 250 rows, each chunk bringing new
// words (and repeating old ones), so the writer sends the first chunk's dictionary and then one
// delta per batch, in the stream and in the file format.
const chunk = 250;
const builder = makeBuilder({ type: new Dictionary(new Utf8(), new Int32()), nullValues: [null] });
const cats = [], ids = [], notes = [], dcat = [];
for (let i = 0; i < n; i++) {
    const k = Math.floor(i / chunk);
    const w = i % 9 === 4 ? null : `w${(i * 7) % (4 * (k + 1))}`;
    builder.append(w);
    dcat.push(w);
    if ((i + 1) % chunk === 0) {
        cats.push(builder.flush());
        ids.push(vectorFromArray(Int32Array.from(id.slice(i + 1 - chunk, i + 1))).data[0]);
        notes.push(vectorFromArray(note.slice(i + 1 - chunk, i + 1), new Utf8()).data[0]);
    }
}
builder.finish();
const grown = new Table({ id: makeVector(ids), cat: makeVector(cats), note: makeVector(notes) });
const stream = tableToIPC(grown, 'stream');
let deltas = 0;
const mr = new MessageReader(stream);
for (let r = mr.next(); !r.done; r = mr.next()) {
    if (r.value.isDictionaryBatch() && r.value.header().isDelta) deltas++;
    mr.readMessageBody(r.value.bodyLength);
}
if (deltas < n / chunk - 1) throw new Error(`expected delta dictionary batches, got ${deltas}`);
writeFileSync(`${out}/js_delta.arrows`, stream);
writeFileSync(`${out}/js_delta.arrow`, tableToIPC(grown, 'file'));
const dcsv = ['id,cat,note'];
for (let i = 0; i < n; i++) dcsv.push(`${id[i]},${dcat[i] === null ? '' : `"${dcat[i]}"`},${note[i]}`);
writeFileSync(`${out}/js_delta.csv`, dcsv.join('\n') + '\n');
console.log(`dict.mjs: ${grown.batches.length} batches, ${deltas} delta dictionary batches`);
