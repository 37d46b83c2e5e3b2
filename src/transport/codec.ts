// Owns the binary encoding of one raft Message on the peer wire (our own format, not etcd's raftpb).
//
// Layout (all integers unsigned LEB128 varints of at most 64 bits unless noted):
//   u8 type code (MESSAGE_TYPE_CODES, wire-stable)   u8 flags (FLAG_*)
//   to, from, term, logTerm, index, commit, rejectHint
//   entry count, then per entry: u8 entry type (0 Normal, 1 ConfChange), term, index, data length, data
//   if FLAG_CONTEXT: context length, context
//   if FLAG_SNAPSHOT: snapshot index, term, voter count, voters…, learner count, learners…
//     and, if FLAG_SNAPSHOT_DATA: data length, data
// Stream messages never inline snapshot data (it travels on the snapshot path); only the snapshot
// path's header inlines it. A decoded message owns its bytes (copied out of the frame).
import { assert } from "../raft/assert.js";
import type { Entry, EntryType, Message, MessageType, NodeId, Snapshot } from "../raft/types.js";

/** Bytes that do not decode as a message: a peer bug or a corrupted stream, never something to step. */
export class CodecError extends Error {
  override name = "CodecError";
}

const U64_MAX = (1n << 64n) - 1n;
const U32_MAX = 0xffffffffn;

/** Wire codes of message types. Never renumber: both ends of a stream must agree. */
export const MESSAGE_TYPE_CODES: Readonly<Record<MessageType, number>> = {
  MsgHup: 0,
  MsgBeat: 1,
  MsgProp: 2,
  MsgApp: 3,
  MsgAppResp: 4,
  MsgVote: 5,
  MsgVoteResp: 6,
  MsgSnap: 7,
  MsgHeartbeat: 8,
  MsgHeartbeatResp: 9,
  MsgUnreachable: 10,
  MsgSnapStatus: 11,
  MsgCheckQuorum: 12,
  MsgTransferLeader: 13,
  MsgTimeoutNow: 14,
  MsgReadIndex: 15,
  MsgReadIndexResp: 16,
  MsgPreVote: 17,
  MsgPreVoteResp: 18,
};
const TYPE_BY_CODE: readonly MessageType[] = (() => {
  const out: MessageType[] = [];
  for (const [t, c] of Object.entries(MESSAGE_TYPE_CODES)) out[c] = t as MessageType;
  return out;
})();
const ENTRY_TYPES: readonly EntryType[] = ["Normal", "ConfChange"];

const FLAG_REJECT = 1;
const FLAG_CONTEXT = 2;
const FLAG_SNAPSHOT = 4;
const FLAG_SNAPSHOT_DATA = 8;
const KNOWN_FLAGS = FLAG_REJECT | FLAG_CONTEXT | FLAG_SNAPSHOT | FLAG_SNAPSHOT_DATA;

export interface EncodeOptions {
  /** Inline snapshot.data (the snapshot path's header only). */
  snapshotData?: boolean;
}

export function uvarintSize(v: bigint): number {
  assert(v >= 0n && v <= U64_MAX, () => `varint ${v} out of u64 range`);
  if (v <= U32_MAX) {
    let x = Number(v);
    let n = 1;
    while (x >= 0x80) {
      x = Math.floor(x / 128);
      n++;
    }
    return n;
  }
  let n = 1;
  for (let x = v; x >= 0x80n; x >>= 7n) n++;
  return n;
}

function putUvarint(buf: Uint8Array, off: number, v: bigint): number {
  if (v <= U32_MAX) {
    let x = Number(v);
    while (x >= 0x80) {
      buf[off++] = (x & 0x7f) | 0x80;
      x >>>= 7;
    }
    buf[off++] = x;
    return off;
  }
  let x = v;
  while (x >= 0x80n) {
    buf[off++] = Number(x & 0x7fn) | 0x80;
    x >>= 7n;
  }
  buf[off++] = Number(x);
  return off;
}

const bytesSize = (b: Uint8Array): number => uvarintSize(BigInt(b.length)) + b.length;
const idsSize = (ids: readonly NodeId[]): number =>
  ids.reduce((n, id) => n + uvarintSize(id), uvarintSize(BigInt(ids.length)));

/** Exact number of bytes encodeMessageInto writes for m. */
export function encodedMessageSize(m: Message, opts: EncodeOptions = {}): number {
  let n = 2;
  for (const v of [m.to, m.from, m.term, m.logTerm, m.index, m.commit, m.rejectHint]) n += uvarintSize(v);
  n += uvarintSize(BigInt(m.entries.length));
  for (const e of m.entries) n += 1 + uvarintSize(e.term) + uvarintSize(e.index) + bytesSize(e.data);
  if (m.context !== undefined) n += bytesSize(m.context);
  const s = m.snapshot;
  if (s !== undefined) {
    const md = s.metadata;
    n += uvarintSize(md.index) + uvarintSize(md.term);
    n += idsSize(md.confState.voters) + idsSize(md.confState.learners);
    if (opts.snapshotData) n += bytesSize(s.data);
  }
  return n;
}

/** Writes m at buf[off…] and returns the offset after it; buf must have encodedMessageSize(m) bytes free. */
export function encodeMessageInto(
  m: Message,
  buf: Uint8Array,
  off: number,
  opts: EncodeOptions = {},
): number {
  const code = MESSAGE_TYPE_CODES[m.type];
  assert(code !== undefined, () => `unknown message type ${m.type}`);
  let flags = m.reject ? FLAG_REJECT : 0;
  if (m.context !== undefined) flags |= FLAG_CONTEXT;
  if (m.snapshot !== undefined) flags |= FLAG_SNAPSHOT | (opts.snapshotData ? FLAG_SNAPSHOT_DATA : 0);
  buf[off++] = code;
  buf[off++] = flags;
  for (const v of [m.to, m.from, m.term, m.logTerm, m.index, m.commit, m.rejectHint]) {
    off = putUvarint(buf, off, v);
  }
  off = putUvarint(buf, off, BigInt(m.entries.length));
  for (const e of m.entries) {
    const t = ENTRY_TYPES.indexOf(e.type);
    assert(t >= 0, () => `unknown entry type ${e.type}`);
    buf[off++] = t;
    off = putUvarint(buf, off, e.term);
    off = putUvarint(buf, off, e.index);
    off = putBytes(buf, off, e.data);
  }
  if (m.context !== undefined) off = putBytes(buf, off, m.context);
  const s = m.snapshot;
  if (s !== undefined) {
    off = putUvarint(buf, off, s.metadata.index);
    off = putUvarint(buf, off, s.metadata.term);
    off = putIds(buf, off, s.metadata.confState.voters);
    off = putIds(buf, off, s.metadata.confState.learners);
    if (opts.snapshotData) off = putBytes(buf, off, s.data);
  }
  return off;
}

function putBytes(buf: Uint8Array, off: number, b: Uint8Array): number {
  off = putUvarint(buf, off, BigInt(b.length));
  buf.set(b, off);
  return off + b.length;
}

function putIds(buf: Uint8Array, off: number, ids: readonly NodeId[]): number {
  off = putUvarint(buf, off, BigInt(ids.length));
  for (const id of ids) off = putUvarint(buf, off, id);
  return off;
}

export function encodeMessage(m: Message, opts: EncodeOptions = {}): Uint8Array {
  const out = new Uint8Array(encodedMessageSize(m, opts));
  const end = encodeMessageInto(m, out, 0, opts);
  assert(end === out.length, () => `message encoded to ${end} bytes, expected ${out.length}`);
  return out;
}

/** Decodes exactly one message filling all of b; throws CodecError on anything else. */
export function decodeMessage(b: Uint8Array): Message {
  const r = new Reader(b);
  const type = TYPE_BY_CODE[r.u8()];
  if (type === undefined) throw new CodecError(`unknown message type code ${b[0]}`);
  const flags = r.u8();
  if ((flags & ~KNOWN_FLAGS) !== 0) throw new CodecError(`unknown message flags ${flags}`);
  const [to, from, term, logTerm, index, commit, rejectHint] = [
    r.uv(),
    r.uv(),
    r.uv(),
    r.uv(),
    r.uv(),
    r.uv(),
    r.uv(),
  ];
  const count = r.len(3); // every entry takes at least 3 bytes
  const entries: Entry[] = [];
  for (let i = 0; i < count; i++) {
    const et = ENTRY_TYPES[r.u8()];
    if (et === undefined) throw new CodecError(`unknown entry type code ${b[r.off - 1]}`);
    entries.push({ type: et, term: r.uv(), index: r.uv(), data: r.bytes() });
  }
  const m: Message = { type, to, from, term, logTerm, index, entries, commit, reject: false, rejectHint };
  if ((flags & FLAG_REJECT) !== 0) m.reject = true;
  if ((flags & FLAG_CONTEXT) !== 0) m.context = r.bytes();
  if ((flags & FLAG_SNAPSHOT) !== 0) {
    const [sIndex, sTerm, voters, learners] = [r.uv(), r.uv(), r.ids(), r.ids()];
    const data = (flags & FLAG_SNAPSHOT_DATA) !== 0 ? r.bytes() : new Uint8Array(0);
    const snap: Snapshot = {
      data,
      metadata: { index: sIndex, term: sTerm, confState: { voters, learners } },
    };
    m.snapshot = snap;
  } else if ((flags & FLAG_SNAPSHOT_DATA) !== 0) {
    throw new CodecError("snapshot data flag without a snapshot");
  }
  if (r.off !== b.length) throw new CodecError(`${b.length - r.off} trailing bytes after message`);
  return m;
}

class Reader {
  off = 0;
  constructor(private readonly b: Uint8Array) {}

  u8(): number {
    const v = this.b[this.off];
    if (v === undefined) throw new CodecError("message truncated");
    this.off++;
    return v;
  }

  uv(): bigint {
    let lo = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      const byte = this.u8();
      lo |= (byte & 0x7f) << shift;
      if (byte < 0x80) return BigInt(lo);
    }
    let v = BigInt(lo);
    for (let shift = 28n; shift < 70n; shift += 7n) {
      const byte = this.u8();
      v |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) {
        if (v > U64_MAX) throw new CodecError("varint overflows u64");
        return v;
      }
    }
    throw new CodecError("varint longer than 10 bytes");
  }

  /** A count or length, bounded by what the rest of the buffer could hold at minUnit bytes each. */
  len(minUnit: number): number {
    const v = this.uv();
    if (v * BigInt(minUnit) > BigInt(this.b.length - this.off))
      throw new CodecError(`length ${v} overruns message`);
    return Number(v);
  }

  bytes(): Uint8Array {
    const n = this.len(1);
    const out = new Uint8Array(n);
    out.set(this.b.subarray(this.off, this.off + n));
    this.off += n;
    return out;
  }

  ids(): NodeId[] {
    const n = this.len(1);
    const out: NodeId[] = [];
    for (let i = 0; i < n; i++) out.push(this.uv());
    return out;
  }
}
