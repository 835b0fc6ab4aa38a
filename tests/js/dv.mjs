// dv.mjs: deletion vectors with CRoaring's official JavaScript port (npm `roaring`), for the
// byte-compatibility test of src/table/dv.c (tests/dv_interop.sh).
//   node dv.mjs read FILE.delta     prints the positions of a .delta file, one per line, after
//                                   checking the version byte, length, magic and CRC-32
//   node dv.mjs write FILE.delta N...  writes a .delta file holding positions N...
// The 64-bit portable layout is a u64 bucket count and per bucket a u32 key (high 32 bits) and
// a 32-bit portable Roaring bitmap, which `roaring` (de)serializes ('portable').
import { readFileSync, writeFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import roaring from 'roaring';
const { RoaringBitmap32 } = roaring;

const MAGIC = Buffer.from([0xd1, 0xd3, 0x39, 0x64]);

function read(path) {
  const f = readFileSync(path);
  if (f[0] !== 1) throw new Error(`${path}: version byte ${f[0]}`);
  const len = f.readUInt32BE(1);
  if (len !== f.length - 9) throw new Error(`${path}: length ${len} vs ${f.length}`);
  const body = f.subarray(5, 5 + len);
  if (!body.subarray(0, 4).equals(MAGIC)) throw new Error(`${path}: bad magic`);
  const crc = f.readUInt32BE(5 + len);
  if (crc !== crc32(body)) throw new Error(`${path}: CRC-32 ${crc} != ${crc32(body)}`);
  let at = 4;
  const buckets = Number(body.readBigUInt64LE(at));
  at += 8;
  const out = [];
  for (let b = 0; b < buckets; b++) {
    const key = body.readUInt32LE(at);
    at += 4;
    const rest = body.subarray(at);
    const bm = RoaringBitmap32.deserialize(rest, 'portable');
    at += bm.getSerializationSizeInBytes('portable');
    for (const v of bm) out.push(BigInt(key) * 4294967296n + BigInt(v));
  }
  if (at !== body.length) throw new Error(`${path}: ${body.length - at} trailing bytes`);
  return out;
}

function write(path, positions) {
  const byKey = new Map();
  for (const p of positions.map(BigInt).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    const key = Number(p >> 32n);
    if (!byKey.has(key)) byKey.set(key, []);
    byKey.get(key).push(Number(p & 0xffffffffn));
  }
  const parts = [MAGIC];
  const n = Buffer.alloc(8);
  n.writeBigUInt64LE(BigInt(byKey.size));
  parts.push(n);
  for (const [key, lows] of [...byKey.entries()].sort((a, b) => a[0] - b[0])) {
    const k = Buffer.alloc(4);
    k.writeUInt32LE(key);
    const bm = new RoaringBitmap32(lows);
    bm.runOptimize(); // run containers (cookie 12347) where they are smaller
    parts.push(k, bm.serialize('portable'));
  }
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(5);
  head[0] = 1;
  head.writeUInt32BE(body.length, 1);
  const tail = Buffer.alloc(4);
  tail.writeUInt32BE(crc32(body));
  writeFileSync(path, Buffer.concat([head, body, tail]));
}

const [cmd, path, ...rest] = process.argv.slice(2);
if (cmd === 'read') process.stdout.write(read(path).map(String).join('\n') + '\n');
else if (cmd === 'write') write(path, rest);
else throw new Error('usage: dv.mjs read FILE | write FILE N...');
