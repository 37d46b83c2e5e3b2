// Owns the framing of peer bodies: length-prefixed frames, message batches inside them, and their reassembly.
//
//   frame         := u32 big-endian payload length L, then L payload bytes
//   stream body   := frame*            L = 0 is a keepalive; otherwise payload = (u32 BE msgLen, message)+
//   snapshot body := header frame (one message, snapshot data inlined), data frame*, end frame (L = 0)
import { assert } from "../raft/assert.js";
import type { Message } from "../raft/types.js";
import { CodecError, decodeMessage, encodedMessageSize, encodeMessageInto } from "./codec.js";

/** Largest frame a receiver accepts (one message may exceed MAX_BATCH_BYTES up to this). */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** Senders close a batch once it holds this many bytes (a single larger message travels alone). */
export const MAX_BATCH_BYTES = 1024 * 1024;
/** Senders close a batch once it holds this many messages. */
export const MAX_BATCH_MSGS = 1024;
export const FRAME_HEADER_BYTES = 4;
const MSG_HEADER_BYTES = 4;

/** An empty frame: a keepalive on a stream, the end marker on a snapshot body. */
export const EMPTY_FRAME: Uint8Array = new Uint8Array(FRAME_HEADER_BYTES);

export function frameHeader(payloadLength: number): Uint8Array {
  assert(payloadLength <= MAX_FRAME_BYTES, () => `frame of ${payloadLength} bytes exceeds MAX_FRAME_BYTES`);
  const h = new Uint8Array(FRAME_HEADER_BYTES);
  new DataView(h.buffer).setUint32(0, payloadLength);
  return h;
}

/** The bytes a message adds to a batch payload. */
export const batchedSize = (encodedSize: number): number => MSG_HEADER_BYTES + encodedSize;

/** One whole frame (header included) holding msgs; sizes[i] must be encodedMessageSize(msgs[i]). */
export function encodeBatchFrame(msgs: readonly Message[], sizes: readonly number[]): Uint8Array {
  const payload = sizes.reduce((n, s) => n + batchedSize(s), 0);
  assert(payload <= MAX_FRAME_BYTES, () => `batch of ${payload} bytes exceeds MAX_FRAME_BYTES`);
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload);
  const view = new DataView(out.buffer);
  view.setUint32(0, payload);
  let off = FRAME_HEADER_BYTES;
  msgs.forEach((m, i) => {
    const size = sizes[i]!;
    view.setUint32(off, size);
    const end = encodeMessageInto(m, out, off + MSG_HEADER_BYTES);
    assert(end === off + MSG_HEADER_BYTES + size, () => `message ${m.type} size mismatch`);
    off = end;
  });
  return out;
}

export function encodeBatch(msgs: readonly Message[]): Uint8Array {
  return encodeBatchFrame(
    msgs,
    msgs.map((m) => encodedMessageSize(m)),
  );
}

/** Decodes a non-empty batch payload (without its frame header). */
export function decodeBatch(payload: Uint8Array): Message[] {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const out: Message[] = [];
  let off = 0;
  while (off < payload.length) {
    if (payload.length - off < MSG_HEADER_BYTES) throw new CodecError("batch truncated in a message header");
    const n = view.getUint32(off);
    off += MSG_HEADER_BYTES;
    if (n > payload.length - off) throw new CodecError(`message of ${n} bytes overruns batch`);
    out.push(decodeMessage(payload.subarray(off, off + n)));
    off += n;
  }
  return out;
}

/** Reassembles frames from arbitrarily split chunks, holding at most one frame plus one chunk. */
export class FrameReader {
  private chunks: Uint8Array[] = [];
  private head = 0; // offset of unread bytes in chunks[0]
  private total = 0;

  constructor(private readonly maxFrameBytes = MAX_FRAME_BYTES) {}

  /** Bytes received but not yet returned as a frame. */
  get buffered(): number {
    return this.total;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** The next whole frame's payload (empty for an empty frame), or undefined until more bytes arrive. */
  next(): Uint8Array | undefined {
    if (this.total < FRAME_HEADER_BYTES) return undefined;
    const h = this.peek(FRAME_HEADER_BYTES);
    const len = new DataView(h.buffer, h.byteOffset, FRAME_HEADER_BYTES).getUint32(0);
    if (len > this.maxFrameBytes)
      throw new CodecError(`frame of ${len} bytes exceeds limit ${this.maxFrameBytes}`);
    if (this.total < FRAME_HEADER_BYTES + len) return undefined;
    this.take(FRAME_HEADER_BYTES);
    return this.take(len);
  }

  private peek(n: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.length - this.head >= n) return first.subarray(this.head, this.head + n);
    return this.copy(n, false);
  }

  private take(n: number): Uint8Array {
    if (n === 0) return new Uint8Array(0);
    const first = this.chunks[0]!;
    if (first.length - this.head >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.advance(n);
      return out;
    }
    return this.copy(n, true);
  }

  private copy(n: number, consume: boolean): Uint8Array {
    const out = new Uint8Array(n);
    let got = 0;
    let i = 0;
    let head = this.head;
    while (got < n) {
      const c = this.chunks[i]!;
      const k = Math.min(n - got, c.length - head);
      out.set(c.subarray(head, head + k), got);
      got += k;
      i++;
      head = 0;
    }
    if (consume) this.advance(n);
    return out;
  }

  private advance(n: number): void {
    this.total -= n;
    while (n > 0) {
      const first = this.chunks[0]!;
      const k = Math.min(n, first.length - this.head);
      this.head += k;
      n -= k;
      if (this.head === first.length) {
        this.chunks.shift();
        this.head = 0;
      }
    }
  }
}

/** Frames from a byte stream, pulled on demand; throws if the stream ends inside a frame. */
export async function* readFrames(
  src: AsyncIterable<Uint8Array>,
  maxFrameBytes = MAX_FRAME_BYTES,
): AsyncGenerator<Uint8Array> {
  const r = new FrameReader(maxFrameBytes);
  for await (const chunk of src) {
    r.push(chunk);
    for (let f = r.next(); f !== undefined; f = r.next()) yield f;
  }
  if (r.buffered > 0) throw new CodecError(`stream ended inside a frame (${r.buffered} bytes pending)`);
}
