// Owns record framing: the header layout, alignment, chained CRC32C, and decoding one record from a segment buffer.
//
// A record, little-endian, starting at a multiple of RECORD_ALIGN:
//   0   u32  payload length n
//   4   u32  crc  = crc32c(bytes[0..4) ++ bytes[8..12) ++ payload, seed = previous record's crc)
//   8   u8   type (RecordType; 0 never appears, so a zeroed header marks the end of the written part)
//   9   3B   reserved, zero
//   12  n    payload
//   ..  pad  zeros up to the next multiple of RECORD_ALIGN
// The chain runs per segment: a segment's first record is a crc record whose payload is the last crc of the
// previous segment (0 for the first), and that value is also its own seed. So one flipped bit fails every
// later record of the segment, and a segment lost or swapped in the middle breaks the link between segments.
import { crc32c } from "@node-rs/crc32";
import { RECORD_ALIGN } from "./limits.js";

export const HEADER_BYTES = 12;

export enum RecordType {
  Entry = 1,
  HardState = 2,
  Snapshot = 3,
  Metadata = 4,
  Crc = 5,
}

const MAX_TYPE = RecordType.Crc;

/** Bytes a record with an n-byte payload occupies, header and padding included. */
export function frameSize(n: number): number {
  const raw = HEADER_BYTES + n;
  return raw + ((RECORD_ALIGN - (raw % RECORD_ALIGN)) % RECORD_ALIGN);
}

function recordCrc(buf: Uint8Array, off: number, n: number, seed: number): number {
  let crc = crc32c(buf.subarray(off, off + 4), seed);
  crc = crc32c(buf.subarray(off + 8, off + HEADER_BYTES), crc);
  return crc32c(buf.subarray(off + HEADER_BYTES, off + HEADER_BYTES + n), crc);
}

/**
 * Completes a record whose n-byte payload is already at out[off+12..]: header, padding and crc.
 * out must be zero beyond the payload up to the frame's end. Returns the record's crc (the next seed).
 */
export function sealRecord(out: Uint8Array, off: number, type: RecordType, n: number, seed: number): number {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint32(off, n, true);
  view.setUint32(off + 8, type, true); // type in the low byte, reserved bytes zero
  const crc = recordCrc(out, off, n, seed);
  view.setUint32(off + 4, crc, true);
  return crc;
}

/** Places payload at off and seals it; returns the record's crc. */
export function writeRecord(
  out: Uint8Array,
  off: number,
  type: RecordType,
  payload: Uint8Array,
  seed: number,
): number {
  out.set(payload, off + HEADER_BYTES);
  return sealRecord(out, off, type, payload.length, seed);
}

export type Decoded =
  | { kind: "record"; type: RecordType; payload: Uint8Array; crc: number; end: number }
  /** No more records: end of buffer, or a zeroed header (preallocated space). */
  | { kind: "end" }
  /** Bytes that are neither a valid record nor zeros: a torn write in the tail, corruption elsewhere. */
  | { kind: "bad"; reason: string };

/**
 * Decodes the record at off. seed is the previous record's crc; for the segment's first record pass
 * undefined and it must be a crc record, seeded with its own payload.
 */
export function decodeRecord(
  buf: Uint8Array,
  off: number,
  seed: number | undefined,
  maxRecordBytes: number,
): Decoded {
  if (off >= buf.length) return { kind: "end" };
  if (off + HEADER_BYTES > buf.length) {
    return isZero(buf, off, buf.length) ? { kind: "end" } : { kind: "bad", reason: "partial record header" };
  }
  if (isZero(buf, off, off + HEADER_BYTES)) return { kind: "end" };
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = view.getUint32(off, true);
  const stored = view.getUint32(off + 4, true);
  const type = view.getUint8(off + 8);
  if (type === 0 || type > MAX_TYPE) return { kind: "bad", reason: `unknown record type ${type}` };
  if (view.getUint8(off + 9) !== 0 || view.getUint16(off + 10, true) !== 0) {
    return { kind: "bad", reason: "nonzero reserved header bytes" };
  }
  if (n > maxRecordBytes)
    return { kind: "bad", reason: `record length ${n} exceeds limit ${maxRecordBytes}` };
  const end = off + frameSize(n);
  if (end > buf.length) return { kind: "bad", reason: `record of ${n} bytes runs past the end of the file` };
  const payload = buf.subarray(off + HEADER_BYTES, off + HEADER_BYTES + n);
  if (seed === undefined) {
    if (type !== RecordType.Crc || n !== 4)
      return { kind: "bad", reason: "segment does not start with a crc record" };
    seed = view.getUint32(off + HEADER_BYTES, true);
  }
  const crc = recordCrc(buf, off, n, seed);
  if (crc !== stored)
    return { kind: "bad", reason: `crc mismatch (stored ${hex(stored)}, computed ${hex(crc)})` };
  if (!isZero(buf, off + HEADER_BYTES + n, end)) return { kind: "bad", reason: "nonzero record padding" };
  return { kind: "record", type, payload, crc, end };
}

const ZEROS = new Uint8Array(64 * 1024);

/** True when buf[from, to) is all zero; compares in chunks (memcmp) since tails can be megabytes. */
export function isZero(buf: Uint8Array, from: number, to: number): boolean {
  for (let off = from; off < to; off += ZEROS.length) {
    const len = Math.min(ZEROS.length, to - off);
    if (Buffer.compare(buf.subarray(off, off + len), ZEROS.subarray(0, len)) !== 0) return false;
  }
  return true;
}

const hex = (v: number): string => `0x${(v >>> 0).toString(16).padStart(8, "0")}`;
