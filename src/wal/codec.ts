// Owns the binary payloads of WAL records: Entry, HardState, snapshot marker and CRC seed (little-endian, bigint as u64).
import type { Entry, EntryType, HardState, SnapshotMetadata } from "../raft/types.js";
import { assert } from "./assert.js";

/** A payload whose CRC matched but whose bytes do not decode: a bug or a collision, never a torn write. */
export class PayloadError extends Error {
  override name = "PayloadError";
}

const U64_MAX = (1n << 64n) - 1n;
const ENTRY_HEADER = 17; // term u64, index u64, type u8
export const HARD_STATE_BYTES = 24; // term, vote, commit
const ENTRY_TYPES: readonly EntryType[] = ["Normal", "ConfChange"];

function putU64(view: DataView, off: number, v: bigint, what: string): void {
  assert(v >= 0n && v <= U64_MAX, () => `${what} ${v} does not fit in u64`);
  view.setBigUint64(off, v, true);
}

function viewOf(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

export function entryPayloadSize(e: Entry): number {
  return ENTRY_HEADER + e.data.length;
}

/** Writes the entry payload into out (exactly entryPayloadSize(e) bytes). */
export function encodeEntryInto(e: Entry, out: Uint8Array): void {
  const v = viewOf(out);
  putU64(v, 0, e.term, "entry term");
  putU64(v, 8, e.index, "entry index");
  const t = ENTRY_TYPES.indexOf(e.type);
  assert(t >= 0, () => `unknown entry type ${e.type}`);
  v.setUint8(16, t);
  out.set(e.data, ENTRY_HEADER);
}

export function encodeEntry(e: Entry): Uint8Array {
  const out = new Uint8Array(entryPayloadSize(e));
  encodeEntryInto(e, out);
  return out;
}

/** Decodes an entry; data is copied into a plain Uint8Array so it does not pin the segment buffer. */
export function decodeEntry(p: Uint8Array): Entry {
  if (p.length < ENTRY_HEADER) throw new PayloadError(`entry payload of ${p.length} bytes is too short`);
  const v = viewOf(p);
  const type = ENTRY_TYPES[v.getUint8(16)];
  if (type === undefined) throw new PayloadError(`unknown entry type byte ${v.getUint8(16)}`);
  return {
    term: v.getBigUint64(0, true),
    index: v.getBigUint64(8, true),
    type,
    data: new Uint8Array(p.subarray(ENTRY_HEADER)), // a copy (Buffer.slice would alias the segment)
  };
}

export function encodeHardState(hs: HardState): Uint8Array {
  const out = new Uint8Array(HARD_STATE_BYTES);
  const v = viewOf(out);
  putU64(v, 0, hs.term, "hardState term");
  putU64(v, 8, hs.vote, "hardState vote");
  putU64(v, 16, hs.commit, "hardState commit");
  return out;
}

export function decodeHardState(p: Uint8Array): HardState {
  if (p.length !== HARD_STATE_BYTES) throw new PayloadError(`hardState payload of ${p.length} bytes`);
  const v = viewOf(p);
  return { term: v.getBigUint64(0, true), vote: v.getBigUint64(8, true), commit: v.getBigUint64(16, true) };
}

/** Snapshot marker: index u64, term u64, voter count u32, voters u64*, learner count u32, learners u64*. */
export function encodeSnapshot(s: SnapshotMetadata): Uint8Array {
  const { voters, learners } = s.confState;
  const out = new Uint8Array(16 + 4 + 8 * voters.length + 4 + 8 * learners.length);
  const v = viewOf(out);
  putU64(v, 0, s.index, "snapshot index");
  putU64(v, 8, s.term, "snapshot term");
  let off = 16;
  for (const ids of [voters, learners]) {
    v.setUint32(off, ids.length, true);
    off += 4;
    for (const id of ids) {
      putU64(v, off, id, "conf state member id");
      off += 8;
    }
  }
  return out;
}

export function decodeSnapshot(p: Uint8Array): SnapshotMetadata {
  const v = viewOf(p);
  let off = 16;
  const ids = (): bigint[] => {
    if (off + 4 > p.length) throw new PayloadError("snapshot payload truncated");
    const n = v.getUint32(off, true);
    off += 4;
    if (off + 8 * n > p.length) throw new PayloadError("snapshot payload truncated");
    const out: bigint[] = [];
    for (let i = 0; i < n; i++, off += 8) out.push(v.getBigUint64(off, true));
    return out;
  };
  if (p.length < 16) throw new PayloadError("snapshot payload truncated");
  const voters = ids();
  const learners = ids();
  if (off !== p.length) throw new PayloadError(`snapshot payload has ${p.length - off} trailing bytes`);
  return { index: v.getBigUint64(0, true), term: v.getBigUint64(8, true), confState: { voters, learners } };
}

export function encodeCrc(crc: number): Uint8Array {
  const out = new Uint8Array(4);
  viewOf(out).setUint32(0, crc >>> 0, true);
  return out;
}

export function decodeCrc(p: Uint8Array): number {
  if (p.length !== 4) throw new PayloadError(`crc payload of ${p.length} bytes`);
  return viewOf(p).getUint32(0, true);
}
