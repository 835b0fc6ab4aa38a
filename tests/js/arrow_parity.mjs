// arrow_parity.mjs DIR: write, with Apache Arrow's JS implementation, the three record batches
// that `test_arrow_json --parity DIR` builds with Exp Store's builders (see tests/test_arrow_json.c):
// DIR/js_types.arrows (every supported type), DIR/js_floats.arrows and DIR/js_utf8.arrows
// (pseudo-random values from the same xorshift64 generator). arrow_parity.sh then checks that
// dump.mjs prints exactly the canonical JSON the C side wrote.
import * as A from 'apache-arrow';
import { writeFileSync } from 'node:fs';

const dir = process.argv[2];
const enc = new TextEncoder();

function bitmap(n, isNull) {
    const b = new Uint8Array(((n + 63) >> 6) << 3);
    let nulls = 0;
    for (let r = 0; r < n; r++) {
        if (isNull(r)) nulls++;
        else b[r >> 3] |= 1 << (r & 7);
    }
    return [b, nulls];
}

function varlen(vals, large) {
    const bytes = vals.map((v) => (typeof v === 'string' ? enc.encode(v) : Uint8Array.from(v)));
    const offs = large ? new BigInt64Array(vals.length + 1) : new Int32Array(vals.length + 1);
    let total = 0;
    bytes.forEach((b, i) => {
        total += b.length;
        offs[i + 1] = large ? BigInt(total) : total;
    });
    const data = new Uint8Array(total);
    let p = 0;
    for (const b of bytes) {
        data.set(b, p);
        p += b.length;
    }
    return { valueOffsets: offs, data };
}

function write(name, fields, datas, metadata) {
    const schema = new A.Schema(fields, metadata);
    const length = datas.length ? datas[0].length : 0;
    const sdata = A.makeData({ type: new A.Struct(fields), length, nullCount: 0, children: datas });
    const table = new A.Table(schema, [new A.RecordBatch(schema, sdata)]);
    writeFileSync(`${dir}/${name}`, A.tableToIPC(table, 'stream'));
}

// ---- every type, 5 rows; cell (r, c) is null when (r + c) % 4 == 3
function types() {
    const N = 5;
    const cols = [];
    const add = (name, type, fill) => {
        const c = cols.length;
        const [nullBitmap, nullCount] = bitmap(N, (r) => (r + c) % 4 === 3);
        cols.push([name, type, A.makeData({ type, length: N, nullCount, nullBitmap, ...fill() })]);
    };
    const big = (f) => ({ data: BigInt64Array.from({ length: N }, (_, r) => f(BigInt(r))) });
    const strs = ['a', 'é\n"\\', '', '\u{1F600}', 'x\u0000y\u2028'];
    const bins = [[0, 255, 16], [], [1], [2, 3], [171, 205]];
    add('i8', new A.Int8(), () => ({ data: Int8Array.from({ length: N }, (_, r) => r * 37 - 50) }));
    add('i16', new A.Int16(), () => ({ data: Int16Array.from({ length: N }, (_, r) => r * 9999 - 20000) }));
    add('i32', new A.Int32(), () => ({ data: Int32Array.from([-2147483648, 2147483647, 0, -1, 7]) }));
    add('i64', new A.Int64(), () => big((r) => (r - 2n) * 1234567890123456789n));
    add('u8', new A.Uint8(), () => ({ data: Uint8Array.from([0, 255, 1, 2, 3]) }));
    add('u16', new A.Uint16(), () => ({ data: Uint16Array.from([0, 65535, 1, 2, 3]) }));
    add('u32', new A.Uint32(), () => ({ data: Uint32Array.from([0, 4294967295, 1, 2, 3]) }));
    add('u64', new A.Uint64(), () => ({
        data: BigUint64Array.from([0n, 18446744073709551615n, 1n, 9007199254740993n, 3n]),
    }));
    add('f32', new A.Float32(), () => ({ data: Float32Array.from([0.1, -0, 3.4028234663852886e38, NaN, -1.5]) }));
    add('f64', new A.Float64(), () => ({ data: Float64Array.from([0.1, -0, 1e21, 5e-324, 1.5e-7]) }));
    add('s', new A.Utf8(), () => varlen(strs, false));
    add('ls', new A.LargeUtf8(), () => varlen(strs, true));
    add('b', new A.Binary(), () => varlen(bins, false));
    add('lb', new A.LargeBinary(), () => varlen(bins, true));
    add('fsb', new A.FixedSizeBinary(3), () => ({ data: enc.encode('abcdefghijklmno') }));
    add('d32', new A.DateDay(), () => ({ data: Int32Array.from({ length: N }, (_, r) => r * 1000 - 2000) }));
    add('d64', new A.DateMillisecond(), () => big((r) => r * 86400000n - 5n));
    add('t32s', new A.TimeSecond(), () => ({ data: Int32Array.from({ length: N }, (_, r) => r * 100) }));
    add('t32ms', new A.TimeMillisecond(), () => ({ data: Int32Array.from({ length: N }, (_, r) => r * 1000 + 1) }));
    add('t64us', new A.TimeMicrosecond(), () => big((r) => r * 1000000n + 2n));
    add('t64ns', new A.TimeNanosecond(), () => big((r) => r * 1000000000n + 3n));
    add('tss', new A.TimestampSecond(), () => big((r) => r * 1700000000n - 5n));
    add('tsms', new A.TimestampMillisecond('UTC'), () => big((r) => r * 1700000000000n - 5n));
    add('tsus', new A.TimestampMicrosecond(), () => big((r) => -r * 1700000000000000n));
    add('tsns', new A.TimestampNanosecond('Asia/Tokyo'), () => big((r) => r * 1700000000000000000n));
    const units = [A.TimeUnit.SECOND, A.TimeUnit.MILLISECOND, A.TimeUnit.MICROSECOND, A.TimeUnit.NANOSECOND];
    ['ds', 'dms', 'dus', 'dns'].forEach((nm, i) => add(nm, new A.Duration(units[i]), () => big((r) => (r - 1n) * 999n)));
    const decs = [12345n, -5n, 0n, 99999999n, -(2n ** 100n)];
    add('dec', new A.Decimal(2, 38, 128), () => {
        const d = new Uint32Array(N * 4);
        decs.forEach((v, i) => {
            const u = BigInt.asUintN(128, v);
            for (let k = 0; k < 4; k++) d[i * 4 + k] = Number((u >> BigInt(32 * k)) & 0xffffffffn);
        });
        return { data: d };
    });
    add('flag', new A.Bool(), () => ({ data: Uint8Array.from([0b01010, 0, 0, 0, 0, 0, 0, 0]) }));
    cols.push(['nul', new A.Null(), A.makeData({ type: new A.Null(), length: N })]);
    const fields = cols.map(
        ([name, type], i) => new A.Field(name, type, true, i === 3 ? new Map([['k', 'v é'], ['e', '']]) : null)
    );
    write('js_types.arrows', fields, cols.map((c) => c[2]), new Map([['origin', 'apache-arrow js'], ['n', '5']]));
}

// ---- pseudo-random values, the same sequence as xs_next() in tests/test_arrow_json.c
let xs = 0x9e3779b97f4a7c15n;
function next() {
    let x = xs;
    x ^= BigInt.asUintN(64, x << 13n);
    x ^= x >> 7n;
    x ^= BigInt.asUintN(64, x << 17n);
    xs = x;
    return x;
}

function random() {
    const N = 20000;
    const pool = [0x00, 0x01, 0x1f, 0x22, 0x5c, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2,
        0xdf, 0xe0, 0xe1, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf4, 0xf5, 0xff, 0xbb, 0xbd, 0x0a, 0x09];
    const d = new Float64Array(N);
    const f = new Float32Array(N);
    const du = new BigUint64Array(d.buffer);
    const fu = new Uint32Array(f.buffer);
    const strs = [];
    for (let i = 0; i < N; i++) {
        du[i] = next();
        if (i % 2) d[i] = Number(next() % 100000n) / 1000.0;
        fu[i] = Number(next() >> 32n);
        const n = Number(next() % 12n);
        const s = [];
        for (let j = 0; j < n; j++) {
            const r = next();
            s.push(r % 4n === 0n ? Number((r >> 8n) & 0xffn) : pool[Number((r >> 8n) % BigInt(pool.length))]);
        }
        strs.push(s);
    }
    const fd = new A.Field('d', new A.Float64(), true);
    const ff = new A.Field('f', new A.Float32(), true);
    write('js_floats.arrows', [fd, ff], [
        A.makeData({ type: fd.type, length: N, nullCount: 0, data: d }),
        A.makeData({ type: ff.type, length: N, nullCount: 0, data: f }),
    ]);
    const fs = new A.Field('s', new A.Utf8(), true);
    write('js_utf8.arrows', [fs], [A.makeData({ type: fs.type, length: N, nullCount: 0, ...varlen(strs, false) })]);
}

types();
random();
