// Specifies the peer wire encoding: message round trips, batches, frame reassembly, and refusal of bad bytes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { Entry, Message, MessageType } from "../raft/types.js";
import { msg } from "../raft/types.js";
import { CodecError, decodeMessage, encodedMessageSize, encodeMessage, MESSAGE_TYPE_CODES } from "./codec.js";
import { decodeBatch, EMPTY_FRAME, encodeBatch, FrameReader, frameHeader, readFrames } from "./frame.js";

const u64 = fc.oneof(
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  fc.constantFrom(0n, 127n, 128n, 16383n, 16384n, (1n << 28n) - 1n, 1n << 28n, 0xffffffffn, 1n << 32n),
);
const bytes = fc.uint8Array({ maxLength: 64 });
const types = Object.keys(MESSAGE_TYPE_CODES) as MessageType[];

const plain = { noNullPrototype: true };
const entry: fc.Arbitrary<Entry> = fc.record(
  {
    term: u64,
    index: u64,
    type: fc.constantFrom("Normal" as const, "ConfChange" as const),
    data: bytes,
  },
  plain,
);

const message: fc.Arbitrary<Message> = fc
  .record(
    {
      type: fc.constantFrom(...types),
      to: u64,
      from: u64,
      term: u64,
      logTerm: u64,
      index: u64,
      entries: fc.array(entry, { maxLength: 5 }),
      commit: u64,
      reject: fc.boolean(),
      rejectHint: u64,
      context: bytes,
      snapshot: fc.record(
        {
          data: bytes,
          metadata: fc.record(
            {
              index: u64,
              term: u64,
              confState: fc.record(
                { voters: fc.array(u64, { maxLength: 5 }), learners: fc.array(u64, { maxLength: 3 }) },
                plain,
              ),
            },
            plain,
          ),
        },
        plain,
      ),
    },
    {
      noNullPrototype: true,
      requiredKeys: [
        "type",
        "to",
        "from",
        "term",
        "logTerm",
        "index",
        "entries",
        "commit",
        "reject",
        "rejectHint",
      ],
    },
  )
  .map((m) => m as Message);

/** What a stream delivers: the message with its snapshot data left behind. */
function withoutSnapshotData(m: Message): Message {
  if (m.snapshot === undefined) return m;
  return { ...m, snapshot: { ...m.snapshot, data: new Uint8Array(0) } };
}

/** Splits b at the given cut points (sorted, deduplicated). */
function split(b: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (b.length + 1)))].sort((x, y) => x - y);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, b.length]) {
    out.push(b.subarray(prev, p));
    prev = p;
  }
  return out;
}

describe("message codec", () => {
  it("round-trips every field; snapshot data only when asked", () => {
    fc.assert(
      fc.property(message, (m) => {
        const enc = encodeMessage(m);
        assert.equal(enc.length, encodedMessageSize(m));
        assert.deepStrictEqual(decodeMessage(enc), withoutSnapshotData(m));
        assert.deepStrictEqual(decodeMessage(encodeMessage(m, { snapshotData: true })), m);
      }),
      { numRuns: 500 },
    );
  });

  it("keeps a heartbeat small", () => {
    const hb = msg({ type: "MsgHeartbeat", to: 2n, from: 1n, term: 5n, commit: 1000n });
    assert.ok(encodeMessage(hb).length <= 12, `heartbeat took ${encodeMessage(hb).length} bytes`);
  });

  it("refuses out-of-range integers when encoding (a bug, not a wire error)", () => {
    assert.throws(() => encodeMessage(msg({ type: "MsgApp", term: 1n << 64n })), /u64/);
    assert.throws(() => encodeMessage(msg({ type: "MsgApp", term: -1n })), /u64/);
  });

  it("decodes random bytes to a message or a CodecError, nothing else", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        try {
          const m = decodeMessage(b);
          assert.deepStrictEqual(decodeMessage(encodeMessage(m, { snapshotData: true })), m);
        } catch (err) {
          assert.ok(err instanceof CodecError, `unexpected ${err}`);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("decodes corrupted encodings to a message or a CodecError, nothing else", () => {
    fc.assert(
      fc.property(
        message,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        (m, flips) => {
          const enc = encodeMessage(m, { snapshotData: true });
          for (const [at, v] of flips) enc[at % enc.length] = v;
          try {
            decodeMessage(enc);
          } catch (err) {
            assert.ok(err instanceof CodecError, `unexpected ${err}`);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("refuses truncated and padded encodings", () => {
    fc.assert(
      fc.property(message, fc.nat(), (m, cut) => {
        const enc = encodeMessage(m);
        assert.throws(() => decodeMessage(enc.subarray(0, cut % enc.length)), CodecError);
        const padded = new Uint8Array(enc.length + 1);
        padded.set(enc);
        assert.throws(() => decodeMessage(padded), CodecError);
      }),
      { numRuns: 300 },
    );
  });

  it("refuses a varint past 64 bits and an unknown type code", () => {
    const enc = encodeMessage(msg({ type: "MsgApp" }));
    const bad = new Uint8Array([enc[0]!, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
    assert.throws(() => decodeMessage(bad), /overflows u64|longer than 10/);
    assert.throws(() => decodeMessage(new Uint8Array([200, 0])), /unknown message type code/);
  });
});

describe("batch frames", () => {
  it("round-trip batches through arbitrarily split chunks, keepalives included", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(message, { minLength: 1, maxLength: 4 }), { maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (batches, cuts) => {
          const frames = batches.flatMap((b) => [encodeBatch(b), EMPTY_FRAME]);
          const wire = Buffer.concat(frames);
          const r = new FrameReader();
          const got: Message[][] = [];
          for (const chunk of split(wire, cuts)) {
            r.push(chunk);
            for (let f = r.next(); f !== undefined; f = r.next()) if (f.length > 0) got.push(decodeBatch(f));
          }
          assert.equal(r.buffered, 0);
          assert.deepStrictEqual(
            got,
            batches.map((b) => b.map(withoutSnapshotData)),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it("refuses a frame over the reader's limit before buffering it", () => {
    const r = new FrameReader(1024);
    r.push(frameHeader(1025));
    assert.throws(() => r.next(), /exceeds limit/);
  });

  it("reports a stream that ends inside a frame", async () => {
    async function* src() {
      yield frameHeader(10);
      yield new Uint8Array(3);
    }
    await assert.rejects(async () => {
      for await (const _ of readFrames(src())) {
        // nothing: the only frame is cut short
      }
    }, /ended inside a frame/);
  });

  it("refuses a batch whose message length overruns it", () => {
    const frame = encodeBatch([msg({ type: "MsgHeartbeat", to: 2n, from: 1n })]);
    const payload = frame.slice(4);
    new DataView(payload.buffer).setUint32(0, 1000);
    assert.throws(() => decodeBatch(payload), CodecError);
  });
});
