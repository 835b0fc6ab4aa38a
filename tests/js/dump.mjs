// dump.mjs: print Arrow IPC files or streams as Exp Store's canonical JSON, using Apache Arrow's
// own JavaScript implementation (apache-arrow from node_modules). The output must be
// byte-identical to `expstore arrow-dump FILE` (the format is defined at the top of
// src/arrow_json.c); the interop tests compare the two.
//
//   node tests/js/dump.mjs FILE...
//
// Values are read from the raw buffers (not through Vector.get) so that every value is exact:
// 64-bit integers as BigInt, decimals from their 128-bit two's complement words, utf8 from its
// bytes. LZ4_FRAME and ZSTD bodies are decompressed with lz4js and zstd-codec.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import {
    RecordBatchReader,
    Type,
    compressionRegistry,
    CompressionType,
} from 'apache-arrow';

const require = createRequire(import.meta.url);

async function registerCodecs() {
    const lz4 = require('lz4js');
    compressionRegistry.set(CompressionType.LZ4_FRAME, {
        decode: (data) => Uint8Array.from(lz4.decompress(data)),
    });
    const { ZstdCodec } = require('zstd-codec');
    const zstd = await new Promise((resolve) => ZstdCodec.run(resolve));
    const simple = new zstd.Simple();
    const streaming = new zstd.Streaming();
    compressionRegistry.set(CompressionType.ZSTD, {
        decode: (data) => {
            let out = simple.decompress(data);
            if (!out) out = streaming.decompress(data); // frames without a content size
            if (!out) throw new Error('zstd: cannot decompress buffer');
            return out;
        },
    });
}

const UNITS = ['s', 'ms', 'us', 'ns'];

class Unsupported extends Error {}

function typeName(field) {
    const t = field.type;
    const fail = (what) => {
        throw new Unsupported(`field '${field.name}': unsupported Arrow type ${what}`);
    };
    switch (t.typeId) {
        case Type.Null:
            return 'null';
        case Type.Bool:
            return 'bool';
        case Type.Int:
            return `${t.isSigned ? 'int' : 'uint'}${t.bitWidth}`;
        case Type.Float:
            if (t.precision === 1) return 'float32';
            if (t.precision === 2) return 'float64';
            return fail('float16');
        case Type.Utf8:
            return 'utf8';
        case Type.LargeUtf8:
            return 'large_utf8';
        case Type.Binary:
            return 'binary';
        case Type.LargeBinary:
            return 'large_binary';
        case Type.FixedSizeBinary:
            return `fixed_size_binary(${t.byteWidth})`;
        case Type.Date:
            return t.unit === 0 ? 'date32' : 'date64';
        case Type.Time:
            return `time${t.bitWidth}[${UNITS[t.unit]}]`;
        case Type.Timestamp:
            return t.timezone
                ? `timestamp[${UNITS[t.unit]}, ${t.timezone}]`
                : `timestamp[${UNITS[t.unit]}]`;
        case Type.Duration:
            return `duration[${UNITS[t.unit]}]`;
        case Type.Decimal:
            if (t.bitWidth !== 128) return fail(`decimal${t.bitWidth}`);
            return `decimal128(${t.precision}, ${t.scale})`;
        case Type.Dictionary:
            // Dictionary-encoded columns are dumped decoded: the value type, the values.
            return typeName({ name: field.name, type: t.dictionary });
        default:
            return fail(String(t));
    }
}

function metadataJson(map) {
    const parts = [];
    if (map) for (const [k, v] of map) parts.push(`${JSON.stringify(k)}:${JSON.stringify(v)}`);
    return `{${parts.join(',')}}`;
}

function schemaJson(schema) {
    const fields = schema.fields.map(
        (f) =>
            `{"name":${JSON.stringify(f.name)},"type":${JSON.stringify(typeName(f))},` +
            `"nullable":${f.nullable ? 'true' : 'false'},"metadata":${metadataJson(f.metadata)}}`
    );
    return `{"fields":[${fields.join(',')}],"metadata":${metadataJson(schema.metadata)}}`;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
function hex(bytes) {
    let s = '';
    for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]];
    return s;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function floatJson(x) {
    if (Number.isNaN(x)) return '"NaN"';
    if (x === Infinity) return '"Infinity"';
    if (x === -Infinity) return '"-Infinity"';
    if (Object.is(x, -0)) return '-0';
    return String(x);
}

function decimalJson(bytes, scale) {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, 16);
    const lo = dv.getBigUint64(0, true);
    const hi = dv.getBigUint64(8, true);
    const v = BigInt.asIntN(128, (hi << 64n) | lo);
    const neg = v < 0n;
    let digits = (neg ? -v : v).toString();
    let s;
    if (scale <= 0) {
        s = digits === '0' ? '0' : digits + '0'.repeat(-scale);
    } else {
        if (digits.length <= scale) digits = '0'.repeat(scale + 1 - digits.length) + digits;
        s = digits.slice(0, digits.length - scale) + '.' + digits.slice(digits.length - scale);
    }
    return JSON.stringify(neg ? '-' + s : s);
}

// A reader for one column (an apache-arrow Data): returns a function row -> JSON text.
function columnReader(field, data) {
    const t = data.type;
    const off = data.offset;
    const nb = data.nullBitmap;
    const hasNulls = t.typeId !== Type.Null && nb && nb.length > 0 && data.nullCount > 0;
    const isNull = (i) =>
        t.typeId === Type.Null || (hasNulls && ((nb[(off + i) >> 3] >> ((off + i) & 7)) & 1) === 0);
    const vals = data.values;
    const bytes = vals ? new Uint8Array(vals.buffer, vals.byteOffset, vals.byteLength) : null;
    const dv = vals ? new DataView(vals.buffer, vals.byteOffset, vals.byteLength) : null;
    let get;
    switch (t.typeId) {
        case Type.Null:
            get = () => 'null';
            break;
        case Type.Bool:
            // apache-arrow does not slice bool bitmaps: index with the data offset.
            get = (i) => (((bytes[(off + i) >> 3] >> ((off + i) & 7)) & 1) ? 'true' : 'false');
            break;
        case Type.Int: {
            const w = t.bitWidth / 8;
            const signed = t.isSigned;
            get = (i) => {
                const p = i * w;
                switch (w) {
                    case 1:
                        return String(signed ? dv.getInt8(p) : dv.getUint8(p));
                    case 2:
                        return String(signed ? dv.getInt16(p, true) : dv.getUint16(p, true));
                    case 4:
                        return String(signed ? dv.getInt32(p, true) : dv.getUint32(p, true));
                    default:
                        return `"${signed ? dv.getBigInt64(p, true) : dv.getBigUint64(p, true)}"`;
                }
            };
            break;
        }
        case Type.Float:
            get =
                t.precision === 1
                    ? (i) => floatJson(dv.getFloat32(i * 4, true))
                    : (i) => floatJson(dv.getFloat64(i * 8, true));
            break;
        case Type.Date:
            get =
                t.unit === 0
                    ? (i) => String(dv.getInt32(i * 4, true))
                    : (i) => `"${dv.getBigInt64(i * 8, true)}"`;
            break;
        case Type.Time:
            get =
                t.bitWidth === 32
                    ? (i) => String(dv.getInt32(i * 4, true))
                    : (i) => `"${dv.getBigInt64(i * 8, true)}"`;
            break;
        case Type.Timestamp:
        case Type.Duration:
            get = (i) => `"${dv.getBigInt64(i * 8, true)}"`;
            break;
        case Type.Decimal:
            get = (i) => decimalJson(bytes.subarray(i * 16, i * 16 + 16), t.scale);
            break;
        case Type.FixedSizeBinary: {
            const w = t.byteWidth;
            get = (i) => `"${hex(bytes.subarray(i * w, i * w + w))}"`;
            break;
        }
        case Type.Dictionary: {
            const vfield = { name: field.name, type: t.dictionary };
            const chunks = data.dictionary.data;
            const readers = chunks.map((d) => columnReader(vfield, d));
            get = (i) => {
                let k = Number(vals[i]);
                for (let c = 0; c < chunks.length; c++) {
                    if (k < chunks[c].length) return readers[c](k);
                    k -= chunks[c].length;
                }
                throw new Error(`field '${field.name}': dictionary index out of range`);
            };
            break;
        }
        case Type.Utf8:
        case Type.LargeUtf8:
        case Type.Binary:
        case Type.LargeBinary: {
            const vo = data.valueOffsets;
            const at = (i) => Number(vo[i]);
            const text = t.typeId === Type.Utf8 || t.typeId === Type.LargeUtf8;
            get = (i) => {
                const b = bytes ? bytes.subarray(at(i), at(i + 1)) : new Uint8Array(0);
                if (!text) return `"${hex(b)}"`;
                try {
                    return JSON.stringify(strictUtf8.decode(b));
                } catch {
                    return `{"invalid_utf8":"${hex(b)}"}`;
                }
            };
            break;
        }
        default:
            typeName(field); // throws Unsupported
    }
    return (i) => (isNull(i) ? 'null' : get(i));
}

function rowsJson(schema, batch, out) {
    const sd = batch.data;
    const names = schema.fields.map((f) => JSON.stringify(f.name) + ':');
    const cols = schema.fields.map((f, c) => columnReader(f, sd.children[c]));
    const snb = sd.nullBitmap;
    const structNulls = snb && snb.length > 0 && sd.nullCount > 0;
    for (let r = 0; r < batch.numRows; r++) {
        const rowNull =
            structNulls && ((snb[(sd.offset + r) >> 3] >> ((sd.offset + r) & 7)) & 1) === 0;
        const parts = new Array(cols.length);
        for (let c = 0; c < cols.length; c++) parts[c] = names[c] + (rowNull ? 'null' : cols[c](r));
        out.push(`{${parts.join(',')}}\n`);
        if (out.length >= 4096) flush(out);
    }
}

function flush(out) {
    if (out.length) process.stdout.write(out.join(''));
    out.length = 0;
}

async function main() {
    const files = process.argv.slice(2);
    if (files.length === 0) {
        process.stderr.write('usage: node dump.mjs FILE...\n');
        process.exit(2);
    }
    await registerCodecs();
    let rc = 0;
    for (const file of files) {
        const out = [];
        try {
            const reader = RecordBatchReader.from(readFileSync(file));
            reader.open();
            const schema = reader.schema;
            out.push(schemaJson(schema) + '\n');
            for (const batch of reader) rowsJson(schema, batch, out);
            flush(out);
        } catch (e) {
            flush(out);
            process.stderr.write(`dump.mjs: ${file}: ${e.message}\n`);
            rc = 1;
        }
    }
    process.exitCode = rc;
}

main();
