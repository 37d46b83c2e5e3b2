// Specifies record framing and payload codecs: layout, alignment, the CRC chain, and what counts as damage.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { Entry } from "../raft/types.js";
import {
  decodeCrc,
  decodeEntry,
  decodeHardState,
  decodeSnapshot,
  encodeCrc,
  encodeEntry,
  encodeHardState,
  encodeSnapshot,
  PayloadError,
} from "./codec.js";
import { MAX_RECORD_BYTES, RECORD_ALIGN } from "./limits.js";
import { decodeRecord, frameSize, HEADER_BYTES, RecordType, writeRecord } from "./record.js";

const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });

/** Frames payloads back to back into one buffer, as a segment holds them. */
function frameAll(payloads: Uint8Array[], seed: number, spare = 0): { buf: Buffer; ends: number[] } {
  const buf = Buffer.alloc(frameSize(4) + payloads.reduce((n, p) => n + frameSize(p.length), 0) + spare);
  const ends: number[] = [];
  let off = 0;
  let crc = writeRecord(buf, off, RecordType.Crc, encodeCrc(seed), seed);
  off += frameSize(4);
  for (const p of payloads) {
    crc = writeRecord(buf, off, RecordType.Entry, p, crc);
    off += frameSize(p.length);
    ends.push(off);
  }
  return { buf, ends };
}

/** Decodes records from the start of a segment buffer until the first non-record. */
function decodeAll(buf: Uint8Array): { payloads: Uint8Array[]; stop: string } {
  const payloads: Uint8Array[] = [];
  let seed: number | undefined;
  let off = 0;
  for (;;) {
    const d = decodeRecord(buf, off, seed, MAX_RECORD_BYTES);
    if (d.kind !== "record") return { payloads, stop: d.kind === "end" ? "end" : d.reason };
    if (seed !== undefined) payloads.push(d.payload);
    seed = d.crc;
    off = d.end;
  }
}

describe("record framing", () => {
  it("pads every record to the alignment and keeps the 12-byte header", () => {
    for (let n = 0; n < 40; n++) {
      assert.equal(frameSize(n) % RECORD_ALIGN, 0);
      assert.ok(frameSize(n) >= HEADER_BYTES + n && frameSize(n) < HEADER_BYTES + n + RECORD_ALIGN);
    }
  });

  it("lays out length, crc, type and payload little-endian", () => {
    const buf = Buffer.alloc(frameSize(3));
    const crc = writeRecord(buf, 0, RecordType.HardState, Uint8Array.of(7, 8, 9), 0);
    assert.equal(buf.readUInt32LE(0), 3);
    assert.equal(buf.readUInt32LE(4), crc);
    assert.equal(buf[8], RecordType.HardState);
    assert.deepEqual([...buf.subarray(9, 12)], [0, 0, 0]);
    assert.deepEqual([...buf.subarray(12, 15)], [7, 8, 9]);
    assert.deepEqual([...buf.subarray(15)], [0]);
  });

  it("round-trips any sequence of payloads and stops at zeroed space", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }),
        fc.nat(),
        (payloads, seed) => {
          const { buf } = frameAll(payloads, seed >>> 0, 64);
          const got = decodeAll(buf);
          assert.equal(got.stop, "end");
          assert.deepEqual(
            got.payloads.map((p) => [...p]),
            payloads.map((p) => [...p]),
          );
        },
      ),
    );
  });

  it("chains the CRC: the same record under another seed does not verify", () => {
    const a = frameAll([Uint8Array.of(1, 2, 3)], 1).buf;
    const b = frameAll([Uint8Array.of(1, 2, 3)], 2).buf;
    // Splice b's entry record after a's crc record: each frame is intact, the chain is not.
    const spliced = Buffer.concat([a.subarray(0, frameSize(4)), b.subarray(frameSize(4))]);
    assert.match(decodeAll(spliced).stop, /crc mismatch/);
  });

  it("detects any single damaged byte, and keeps every record before it", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 8 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (payloads, at, flip) => {
          const { buf, ends } = frameAll(payloads, 0);
          const pos = at % buf.length;
          buf[pos]! ^= flip;
          const got = decodeAll(buf);
          const intact = ends.filter((end) => end <= pos).length;
          assert.notEqual(got.stop, "end");
          assert.equal(got.payloads.length, intact);
        },
      ),
    );
  });

  it("treats a partial header or a record past the end as damage, a zero header as the end", () => {
    const { buf } = frameAll([Uint8Array.of(1, 2, 3, 4, 5)], 0);
    assert.match(decodeAll(buf.subarray(0, buf.length - 1)).stop, /past the end/);
    assert.match(decodeAll(buf.subarray(0, frameSize(4) + 5)).stop, /partial record header/);
    assert.equal(decodeAll(Buffer.concat([buf.subarray(0, frameSize(4)), Buffer.alloc(7)])).stop, "end");
  });

  it("rejects a length over the limit without reading it", () => {
    const buf = Buffer.alloc(64);
    writeRecord(buf, 0, RecordType.Entry, Uint8Array.of(1), 0);
    buf.writeUInt32LE(MAX_RECORD_BYTES + 1, 0);
    const d = decodeRecord(buf, 0, 0, MAX_RECORD_BYTES);
    assert.equal(d.kind, "bad");
    assert.match(d.kind === "bad" ? d.reason : "", /exceeds limit/);
  });

  it("requires a segment to start with a crc record", () => {
    const buf = Buffer.alloc(frameSize(1));
    writeRecord(buf, 0, RecordType.Entry, Uint8Array.of(1), 0);
    const d = decodeRecord(buf, 0, undefined, MAX_RECORD_BYTES);
    assert.equal(d.kind, "bad");
  });
});

describe("payload codecs", () => {
  const plain = { noNullPrototype: true };
  const entryArb = fc.record(
    {
      term: u64,
      index: u64,
      type: fc.constantFrom<Entry["type"]>("Normal", "ConfChange"),
      data: fc.uint8Array({ maxLength: 100 }),
    },
    plain,
  );

  it("round-trips entries, hard states, snapshot markers and crc seeds", () => {
    fc.assert(fc.property(entryArb, (e) => assert.deepStrictEqual(decodeEntry(encodeEntry(e)), e)));
    fc.assert(
      fc.property(fc.record({ term: u64, vote: u64, commit: u64 }, plain), (hs) =>
        assert.deepStrictEqual(decodeHardState(encodeHardState(hs)), hs),
      ),
    );
    fc.assert(
      fc.property(
        fc.record(
          {
            index: u64,
            term: u64,
            confState: fc.record(
              { voters: fc.array(u64, { maxLength: 7 }), learners: fc.array(u64, { maxLength: 3 }) },
              plain,
            ),
          },
          plain,
        ),
        (m) => assert.deepStrictEqual(decodeSnapshot(encodeSnapshot(m)), m),
      ),
    );
    fc.assert(fc.property(fc.nat(), (c) => assert.equal(decodeCrc(encodeCrc(c >>> 0)), c >>> 0)));
  });

  it("rejects payloads of the wrong shape", () => {
    assert.throws(() => decodeEntry(new Uint8Array(16)), PayloadError);
    const badType = encodeEntry({ term: 1n, index: 1n, type: "Normal", data: new Uint8Array() });
    badType[16] = 9;
    assert.throws(() => decodeEntry(badType), PayloadError);
    assert.throws(() => decodeHardState(new Uint8Array(23)), PayloadError);
    const snap = encodeSnapshot({ index: 1n, term: 1n, confState: { voters: [1n], learners: [] } });
    assert.throws(() => decodeSnapshot(snap.subarray(0, snap.length - 1)), PayloadError);
    assert.throws(() => decodeSnapshot(Buffer.concat([snap, Uint8Array.of(0)])), PayloadError);
  });

  it("refuses to encode numbers that do not fit in u64", () => {
    assert.throws(() => encodeHardState({ term: -1n, vote: 0n, commit: 0n }));
    assert.throws(() => encodeHardState({ term: 1n << 64n, vote: 0n, commit: 0n }));
  });
});
