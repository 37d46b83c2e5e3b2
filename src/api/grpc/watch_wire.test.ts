// Specifies that the Watch stream's shared-encoding serializer gives exactly the generated encoder's bytes.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { Event_EventType, WatchResponse } from "../../proto/index.js";
import { serializeWatchResponse, toPbEvent } from "./watch_wire.js";

const kv = fc.record({
  key: fc.uint8Array({ minLength: 1, maxLength: 40 }).map((a) => Buffer.from(a)),
  createRevision: fc.bigInt({ min: 0n, max: 1n << 40n }),
  modRevision: fc.bigInt({ min: 0n, max: 1n << 40n }),
  version: fc.bigInt({ min: 0n, max: 1000n }),
  value: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  lease: fc.bigInt({ min: -(1n << 62n), max: 1n << 62n }),
});
const event = fc.record({
  type: fc.constantFrom<"PUT" | "DELETE">("PUT", "DELETE"),
  kv,
  prevKv: fc.option(kv, { nil: undefined }),
});

test("serializeWatchResponse is byte-identical to WatchResponse.encode, with every field", () => {
  fc.assert(
    fc.property(
      fc.array(event, { maxLength: 8 }),
      fc.bigInt({ min: -1n, max: 1n << 40n }),
      fc.boolean(),
      fc.bigInt({ min: 0n, max: 1n << 40n }),
      fc.record({
        term: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        canceled: fc.boolean(),
        compactRevision: fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
        cancelReason: fc.string({ maxLength: 200, unit: "grapheme" }),
        fragment: fc.boolean(),
        noHeader: fc.boolean(),
        memberId: fc.constantFrom(0n, 2n, (1n << 64n) - 1n),
      }),
      (events, watchId, created, revision, o) => {
        const msg: WatchResponse = {
          header: o.noHeader
            ? undefined
            : { clusterId: 1n, memberId: o.memberId, revision, raftTerm: o.term },
          watchId,
          created,
          canceled: o.canceled,
          compactRevision: o.compactRevision,
          cancelReason: o.cancelReason,
          fragment: o.fragment,
          events: events.map(toPbEvent),
        };
        // Encode twice: the second time the events come from the cache.
        const expected = Buffer.from(WatchResponse.encode(msg).finish());
        assert.deepEqual(serializeWatchResponse(msg), expected);
        assert.deepEqual(serializeWatchResponse(msg), expected);
      },
    ),
  );
});

test("one mvcc event maps to one shared wire event", () => {
  const ev = {
    type: "PUT" as const,
    kv: {
      key: Buffer.from("k"),
      createRevision: 2n,
      modRevision: 2n,
      version: 1n,
      value: Buffer.from("v"),
      lease: 0n,
    },
  };
  assert.equal(toPbEvent(ev), toPbEvent(ev));
  assert.equal(toPbEvent(ev).type, Event_EventType.PUT);
});
