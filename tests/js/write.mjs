// write.mjs: write Arrow IPC files with Apache Arrow's own JavaScript implementation, for the
// interop tests (tests/ipc.cmake): every type Exp Store supports, with nulls, several batches
// (one of them empty), schema and field metadata, uncompressed and with LZ4_FRAME and ZSTD
// bodies (codecs lz4js and zstd-codec registered through compressionRegistry), in the file and
// stream formats. Buffers are filled from a seeded generator, so runs are reproducible.
//
//   node tests/js/write.mjs OUTDIR     -> OUTDIR/js_{none,lz4,zstd}.{arrow_file,stream},
//                                         OUTDIR/js_sliced_{none,zstd}.{arrow_file,stream}
//                                         (a Table of sliced batches),
//                                         OUTDIR/js_legacy.stream (pre-0.15 message framing)

import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import {
    Binary, Bool, CompressionType, DateDay, DateMillisecond, Decimal, DurationMicrosecond,
    DurationMillisecond, DurationNanosecond, DurationSecond, Field, FixedSizeBinary, Float32,
    Float64, Int16, Int32, Int64, Int8, LargeBinary, LargeUtf8, Null, RecordBatch,
    RecordBatchFileWriter, RecordBatchStreamWriter, Schema, Struct, Table, TimeMicrosecond,
    TimeMillisecond, TimeNanosecond, TimeSecond, TimestampMicrosecond, TimestampMillisecond,
    TimestampNanosecond, TimestampSecond, Uint16, Uint32, Uint64, Uint8, Utf8, compressionRegistry,
    makeData,
} from 'apache-arrow';

const require = createRequire(import.meta.url);

async function registerCodecs() {
    const lz4 = require('lz4js');
    compressionRegistry.set(CompressionType.LZ4_FRAME, {
        encode: (data) => Uint8Array.from(lz4.compress(data)),
        decode: (data) => Uint8Array.from(lz4.decompress(data)),
    });
    const { ZstdCodec } = require('zstd-codec');
    const zstd = await new Promise((resolve) => ZstdCodec.run(resolve));
    const simple = new zstd.Simple();
    compressionRegistry.set(CompressionType.ZSTD, {
        encode: (data) => simple.compress(data, 3),
        decode: (data) => simple.decompress(data),
    });
}

let seed = 0x2545f491;
function rnd() {
    // xorshift32
    seed ^= seed << 13;
    seed >>>= 0;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    seed >>>= 0;
    return seed;
}

const fields = [
    ['null', new Null()], ['bool', new Bool()], ['i8', new Int8()], ['u8', new Uint8()],
    ['i16', new Int16()], ['u16', new Uint16()], ['i32', new Int32()], ['u32', new Uint32()],
    ['i64', new Int64()], ['u64', new Uint64()], ['f32', new Float32()], ['f64', new Float64()],
    ['utf8', new Utf8()], ['large_utf8', new LargeUtf8()], ['binary', new Binary()],
    ['large_binary', new LargeBinary()], ['fsb7', new FixedSizeBinary(7)],
    ['date32', new DateDay()], ['date64', new DateMillisecond()], ['time32s', new TimeSecond()],
    ['time32ms', new TimeMillisecond()], ['time64us', new TimeMicrosecond()],
    ['time64ns', new TimeNanosecond()], ['ts_s', new TimestampSecond()],
    ['ts_ms_utc', new TimestampMillisecond('UTC')],
    ['ts_us_paris', new TimestampMicrosecond('Europe/Paris')], ['ts_ns', new TimestampNanosecond()],
    ['dur_s', new DurationSecond()], ['dur_ms', new DurationMillisecond()],
    ['dur_us', new DurationMicrosecond()], ['dur_ns', new DurationNanosecond()],
    ['dec', new Decimal(3, 12, 128)], ['dec38', new Decimal(0, 38, 128)],
];

function bitmap(n, pNull) {
    const bits = new Uint8Array(((n + 63) >> 6) << 3);
    let nulls = 0;
    for (let i = 0; i < n; i++) {
        if (rnd() % 100 >= pNull) bits[i >> 3] |= 1 << (i & 7);
        else nulls++;
    }
    return { bits, nulls };
}

function column(name, type, n, nullable) {
    if (type instanceof Null) return makeData({ type, length: n, nullCount: n });
    const { bits, nulls } = nullable ? bitmap(n, 20) : { bits: null, nulls: 0 };
    const base = { type, length: n, nullCount: nulls, nullBitmap: bits };
    if (type instanceof Bool) {
        const data = new Uint8Array(((n + 63) >> 6) << 3);
        for (let i = 0; i < data.length; i++) data[i] = rnd() & 0xff;
        return makeData({ ...base, data });
    }
    if (type instanceof Utf8 || type instanceof LargeUtf8 || type instanceof Binary ||
        type instanceof LargeBinary) {
        const large = type instanceof LargeUtf8 || type instanceof LargeBinary;
        const offs = large ? new BigInt64Array(n + 1) : new Int32Array(n + 1);
        const bytes = [];
        for (let i = 0; i < n; i++) {
            const len = rnd() % 11;
            for (let k = 0; k < len; k++) {
                if (type instanceof Utf8 || type instanceof LargeUtf8) {
                    if (k === 0 && rnd() % 6 === 0) bytes.push(0xc3, 0xa9); // é
                    else bytes.push(0x61 + (rnd() % 26));
                } else {
                    bytes.push(rnd() & 0xff);
                }
            }
            offs[i + 1] = large ? BigInt(bytes.length) : bytes.length;
        }
        return makeData({ ...base, valueOffsets: offs, data: Uint8Array.from(bytes) });
    }
    if (type instanceof FixedSizeBinary) {
        const data = new Uint8Array(n * type.byteWidth);
        for (let i = 0; i < data.length; i++) data[i] = rnd() & 0xff;
        return makeData({ ...base, data });
    }
    if (type instanceof Decimal) {
        const data = new Uint32Array(n * 4);
        for (let i = 0; i < n; i++) {
            const v = BigInt((rnd() % 2000000) - 1000000) * BigInt(rnd() % 100000 + 1);
            const w = BigInt.asUintN(128, v);
            for (let k = 0; k < 4; k++) data[4 * i + k] = Number((w >> BigInt(32 * k)) & 0xffffffffn);
        }
        return makeData({ ...base, data });
    }
    const data = new type.ArrayType(n * (type.stride || 1));
    for (let i = 0; i < data.length; i++) {
        if (data instanceof BigInt64Array) {
            data[i] = BigInt(rnd() % 4000000000) * BigInt(rnd() % 1000) - 2000000000000n;
        } else if (data instanceof BigUint64Array) {
            data[i] = (BigInt(rnd()) << 32n) | BigInt(rnd());
        } else if (data instanceof Float32Array || data instanceof Float64Array) {
            data[i] = ((rnd() | 0) % 100000) / 64;
        } else {
            data[i] = rnd() | 0; // wraps to the array's width
        }
    }
    return makeData({ ...base, data });
}

async function main() {
    const out = process.argv[2];
    if (!out) {
        process.stderr.write('usage: node write.mjs OUTDIR\n');
        process.exit(2);
    }
    mkdirSync(out, { recursive: true });
    await registerCodecs();
    const schemaFields = fields.map(([name, type], i) => new Field(name, type, i !== 1,
        i === 8 ? new Map([['unit', 'kg'], ['note', 'int64 \u00e9']]) : new Map()));
    const schema = new Schema(schemaFields, new Map([['origin', 'write.mjs'], ['empty', '']]));
    const batches = [];
    for (const rows of [17, 0, 130, 1]) {
        const children = schemaFields.map((f) => column(f.name, f.type, rows, f.nullable));
        const data = makeData({ type: new Struct(schemaFields), length: rows, nullCount: 0, children });
        batches.push(new RecordBatch(schema, data));
    }
    const codecs = { none: null, lz4: CompressionType.LZ4_FRAME, zstd: CompressionType.ZSTD };
    for (const [cname, ctype] of Object.entries(codecs)) {
        for (const [ext, Writer] of [['arrow_file', RecordBatchFileWriter], ['stream', RecordBatchStreamWriter]]) {
            const w = new Writer({ compressionType: ctype });
            for (const b of batches) w.write(b);
            w.finish();
            writeFileSync(`${out}/js_${cname}.${ext}`, w.toUint8Array(true));
        }
    }
    // A table whose batches are slices (offset > 0): apache-arrow writes each sliced column
    // rebased, and -1 ("unknown") as the null count of a sliced Null column, which readers must
    // take as the length (a Null column is all nulls by definition).
    const sliced = new Table([batches[2], batches[2].slice(1, 3), batches[0].slice(5, 17),
        batches[2].slice(60, 60)]);
    for (const [cname, ctype] of [['none', null], ['zstd', CompressionType.ZSTD]]) {
        for (const [ext, Writer] of [['arrow_file', RecordBatchFileWriter], ['stream', RecordBatchStreamWriter]]) {
            const w = new Writer({ compressionType: ctype });
            w.write(sliced);
            w.finish();
            writeFileSync(`${out}/js_sliced_${cname}.${ext}`, w.toUint8Array(true));
        }
    }
    // The pre-0.15 framing (no 0xFFFFFFFF continuation marker), which readers must still accept.
    const legacy = new RecordBatchStreamWriter({ writeLegacyIpcFormat: true });
    for (const b of batches) legacy.write(b);
    legacy.finish();
    writeFileSync(`${out}/js_legacy.stream`, legacy.toUint8Array(true));
}

main().catch((e) => {
    process.stderr.write(`write.mjs: ${e.stack}\n`);
    process.exit(1);
});
