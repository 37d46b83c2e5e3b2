// Owns mvccpb.KeyValue: the record stored in the "key" bucket, encoded exactly as etcd's protobuf
// (fields 1 key, 2 create_revision, 3 mod_revision, 4 version, 5 value, 6 lease; zero values omitted),
// so bucket contents, snapshots and HashKV match etcd byte for byte.

import { assert } from "../backend/assert.js";

/** Field names and types match the generated mvccpb.KeyValue (ts-proto, env=node: bytes are Buffers). */
export interface KeyValue {
  key: Buffer;
  createRevision: bigint;
  modRevision: bigint;
  version: bigint;
  value: Buffer;
  lease: bigint;
}

/** mvccpb.Event: a DELETE's kv holds only the key and mod_revision (the revision of the delete). */
export interface Event {
  type: "PUT" | "DELETE";
  kv: KeyValue;
}

const EMPTY = Buffer.alloc(0);

/** A Buffer view of `b` (no copy). */
export function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

export function emptyKeyValue(key: Buffer): KeyValue {
  return { key, createRevision: 0n, modRevision: 0n, version: 0n, value: EMPTY, lease: 0n };
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Bytes of an int64/uint64 as a protobuf varint (negative numbers take 10, as two's complement). */
export function varintSize(v: bigint): number {
  if (v >= 0n && v <= MAX_SAFE) {
    let n = Number(v);
    let size = 1;
    while (n >= 0x80) {
      n = Math.floor(n / 0x80);
      size++;
    }
    return size;
  }
  let u = BigInt.asUintN(64, v);
  let size = 1;
  while (u >= 0x80n) {
    u >>= 7n;
    size++;
  }
  return size;
}

/** Writes v as a protobuf varint at pos; returns the position after it. Small values skip BigInt arithmetic. */
export function writeVarint(buf: Buffer, pos: number, v: bigint): number {
  if (v >= 0n && v <= MAX_SAFE) {
    let n = Number(v);
    while (n >= 0x80) {
      buf[pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    buf[pos++] = n;
    return pos;
  }
  let u = BigInt.asUintN(64, v);
  while (u >= 0x80n) {
    buf[pos++] = Number(u & 0x7fn) | 0x80;
    u >>= 7n;
  }
  buf[pos++] = Number(u);
  return pos;
}

function writeField(buf: Buffer, pos: number, tag: number, v: bigint): number {
  buf[pos] = tag;
  return writeVarint(buf, pos + 1, v);
}

function lenSize(n: number): number {
  return varintSize(BigInt(n));
}

export function encodeKeyValue(kv: KeyValue): Buffer {
  let size = 0;
  if (kv.key.length > 0) size += 1 + lenSize(kv.key.length) + kv.key.length;
  if (kv.createRevision !== 0n) size += 1 + varintSize(kv.createRevision);
  if (kv.modRevision !== 0n) size += 1 + varintSize(kv.modRevision);
  if (kv.version !== 0n) size += 1 + varintSize(kv.version);
  if (kv.value.length > 0) size += 1 + lenSize(kv.value.length) + kv.value.length;
  if (kv.lease !== 0n) size += 1 + varintSize(kv.lease);
  const buf = Buffer.allocUnsafe(size);
  let pos = 0;
  if (kv.key.length > 0) {
    buf[pos++] = 0x0a;
    pos = writeVarint(buf, pos, BigInt(kv.key.length));
    buf.set(kv.key, pos);
    pos += kv.key.length;
  }
  if (kv.createRevision !== 0n) pos = writeField(buf, pos, 0x10, kv.createRevision);
  if (kv.modRevision !== 0n) pos = writeField(buf, pos, 0x18, kv.modRevision);
  if (kv.version !== 0n) pos = writeField(buf, pos, 0x20, kv.version);
  if (kv.value.length > 0) {
    buf[pos++] = 0x2a;
    pos = writeVarint(buf, pos, BigInt(kv.value.length));
    buf.set(kv.value, pos);
    pos += kv.value.length;
  }
  if (kv.lease !== 0n) pos = writeField(buf, pos, 0x30, kv.lease);
  assert(pos === size, () => `KeyValue encoding size ${pos} != ${size}`);
  return buf;
}

// Decoder state: module-level so decoding allocates only the result (the event loop is single-threaded).
let dpos = 0;

function readVarint(buf: Uint8Array): bigint {
  let n = 0;
  let mul = 1;
  for (let i = 0; i < 7; i++) {
    const b = buf[dpos++];
    assert(b !== undefined, "truncated varint");
    n += (b & 0x7f) * mul;
    if (b < 0x80) return BigInt(n);
    mul *= 0x80;
  }
  // Beyond 49 bits: continue in bigint; int64 is two's complement over 64 bits.
  let v = BigInt(n);
  let shift = 49n;
  for (let i = 7; i < 10; i++) {
    const b = buf[dpos++];
    assert(b !== undefined, "truncated varint");
    v |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) return BigInt.asIntN(64, v);
    shift += 7n;
  }
  throw new Error("varint longer than 10 bytes");
}

function readLength(buf: Uint8Array): number {
  const len = Number(readVarint(buf));
  assert(len >= 0 && dpos + len <= buf.length, "truncated length-delimited field");
  return len;
}

/** Decodes a KeyValue. `key` and `value` are views into `buf` (no copies): keep `buf` immutable. */
export function decodeKeyValue(buf: Buffer): KeyValue {
  const kv = emptyKeyValue(EMPTY);
  dpos = 0;
  while (dpos < buf.length) {
    const tag = buf[dpos++]!;
    switch (tag) {
      case 0x0a: {
        const len = readLength(buf);
        kv.key = buf.subarray(dpos, dpos + len);
        dpos += len;
        break;
      }
      case 0x10:
        kv.createRevision = readVarint(buf);
        break;
      case 0x18:
        kv.modRevision = readVarint(buf);
        break;
      case 0x20:
        kv.version = readVarint(buf);
        break;
      case 0x2a: {
        const len = readLength(buf);
        kv.value = buf.subarray(dpos, dpos + len);
        dpos += len;
        break;
      }
      case 0x30:
        kv.lease = readVarint(buf);
        break;
      default:
        skipField(buf, tag);
    }
  }
  return kv;
}

/** The key field of an encoded KeyValue, without decoding the rest (used by compaction). */
export function decodeKey(buf: Buffer): Buffer {
  dpos = 0;
  while (dpos < buf.length) {
    const tag = buf[dpos++]!;
    if (tag === 0x0a) {
      const len = readLength(buf);
      return buf.subarray(dpos, dpos + len);
    }
    skipField(buf, tag);
  }
  return EMPTY;
}

function skipField(buf: Uint8Array, tag: number): void {
  assert(tag < 0x80, "multi-byte field tags do not occur in KeyValue");
  switch (tag & 7) {
    case 0:
      readVarint(buf);
      return;
    case 1:
      dpos += 8;
      return;
    case 2: {
      const len = readLength(buf); // not `dpos += readLength()`: that reads dpos before the call moves it
      dpos += len;
      return;
    }
    case 5:
      dpos += 4;
      return;
    default:
      throw new Error(`unsupported protobuf wire type ${tag & 7}`);
  }
}
