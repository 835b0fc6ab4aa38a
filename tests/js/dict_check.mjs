// dict_check.mjs FILE COLS: an Exp Store .data file (Arrow IPC file) read with Apache Arrow JS
// must have the fields named in COLS (comma-separated) dictionary-encoded (Dictionary<Int8 or
// Int16, Utf8>, ordered, one dictionary batch each) and every value of them readable through the
// dictionary; other fields plain. Compressed bodies are decoded with the codecs dump.mjs uses.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { CompressionType, compressionRegistry, tableFromIPC, Type } from 'apache-arrow';

const require = createRequire(import.meta.url);
const { ZstdCodec } = require('zstd-codec');
const zstd = await new Promise((resolve) => ZstdCodec.run(resolve));
const simple = new zstd.Simple(), streaming = new zstd.Streaming();
compressionRegistry.set(CompressionType.ZSTD, {
    encode: (d) => simple.compress(d, 3),
    decode: (d) => simple.decompress(d) ?? streaming.decompress(d),
});
const lz4 = require('lz4js');
compressionRegistry.set(CompressionType.LZ4_FRAME, {
    encode: (d) => Uint8Array.from(lz4.compress(d)),
    decode: (d) => Uint8Array.from(lz4.decompress(d)),
});

const [file, cols] = process.argv.slice(2);
const want = new Set(cols.split(','));
const t = tableFromIPC(readFileSync(file));
for (const f of t.schema.fields) {
    const isDict = f.type.typeId === Type.Dictionary;
    if (isDict !== want.has(f.name)) throw new Error(`${file}: field ${f.name}: ${f.type}`);
    if (!isDict) continue;
    if (!f.type.isOrdered || f.type.dictionary.typeId !== Type.Utf8 || f.type.indices.bitWidth > 16)
        throw new Error(`${file}: field ${f.name}: unexpected ${f.type}`);
    const col = t.getChild(f.name);
    let n = 0;
    for (const v of col) if (v !== null && typeof v !== 'string') throw new Error('not a string');
    for (let i = 1; i < col.data[0].dictionary.length; i++) {
        const a = col.data[0].dictionary.get(i - 1), b = col.data[0].dictionary.get(i);
        if (!(Buffer.compare(Buffer.from(a), Buffer.from(b)) < 0)) throw new Error('dictionary not sorted');
        n++;
    }
}
console.log(`${file}: ok`);
