// Owns revisions {main, sub} and their bucket-key encoding as etcd stores them in the "key" bucket:
// 8-byte big-endian main, '_', 8-byte big-endian sub, plus a trailing 't' on tombstones (18 bytes).

import { assert } from "../backend/assert.js";

/** One change in the store: `main` is the store revision, `sub` its index inside that revision's txn. */
export interface Revision {
  readonly main: bigint;
  readonly sub: bigint;
}

export const REV_BYTES_LEN = 17;
export const MARKED_REV_BYTES_LEN = 18;
const TOMBSTONE_MARK = 0x74; // 't'
const SEPARATOR = 0x5f; // '_'

export function rev(main: bigint, sub = 0n): Revision {
  return { main, sub };
}

/** Negative, zero or positive as `a` is before, equal to or after `b`. */
export function compareRev(a: Revision, b: Revision): number {
  if (a.main !== b.main) return a.main < b.main ? -1 : 1;
  if (a.sub !== b.sub) return a.sub < b.sub ? -1 : 1;
  return 0;
}

export function revEqual(a: Revision, b: Revision): boolean {
  return a.main === b.main && a.sub === b.sub;
}

/** The bucket key of `r` (18 bytes with the tombstone mark). */
export function revToBytes(r: Revision, tombstone = false): Buffer {
  const buf = Buffer.allocUnsafe(tombstone ? MARKED_REV_BYTES_LEN : REV_BYTES_LEN);
  buf.writeBigInt64BE(r.main, 0);
  buf[8] = SEPARATOR;
  buf.writeBigInt64BE(r.sub, 9);
  if (tombstone) buf[REV_BYTES_LEN] = TOMBSTONE_MARK;
  return buf;
}

export function bytesToRev(b: Uint8Array): Revision {
  assert(
    b.length === REV_BYTES_LEN || b.length === MARKED_REV_BYTES_LEN,
    () => `bad revision key length ${b.length}`,
  );
  const buf = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length);
  return { main: buf.readBigInt64BE(0), sub: buf.readBigInt64BE(9) };
}

/** The main revision of a bucket key, without allocating a Revision. */
export function bytesToMain(b: Buffer): bigint {
  return b.readBigInt64BE(0);
}

export function isTombstone(b: Uint8Array): boolean {
  return b.length === MARKED_REV_BYTES_LEN && b[REV_BYTES_LEN] === TOMBSTONE_MARK;
}
