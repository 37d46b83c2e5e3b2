// Specifies ReadIndex batching: waiting reads share a round, a round answered resolves them once applied, and a
// leader change fails the round out with etcd's retryable "leader changed" while later reads get a new round.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AppliedWait } from "./applied_wait.js";
import { ServerError } from "./errors.js";
import { ReadIndexBatcher } from "./read_index.js";

function setup() {
  const sent: Uint8Array[] = [];
  const applied = new AppliedWait(0n);
  const reads = new ReadIndexBatcher({ readIndex: (ctx) => sent.push(ctx), applied }, 60_000);
  return { sent, applied, reads };
}

describe("ReadIndexBatcher", () => {
  test("reads that arrive while a round is out share the next round; each resolves once applied gets there", async () => {
    const { sent, applied, reads } = setup();
    const a = reads.wait();
    const b = reads.wait();
    const c = reads.wait();
    assert.equal(sent.length, 1, "one round out");
    reads.onReadStates([{ index: 5n, requestCtx: sent[0]! }]);
    assert.equal(sent.length, 2, "b and c share the next round");
    reads.onReadStates([{ index: 6n, requestCtx: sent[1]! }]);
    let done = false;
    void Promise.all([a, b, c]).then(() => {
      done = true;
    });
    await new Promise(setImmediate);
    assert.equal(done, false, "not before applied reaches the read index");
    applied.advance(6n);
    await Promise.all([a, b, c]);
  });

  test("a leader change fails the round in flight with LeaderChanged; reads queued behind it get a new round", async () => {
    const { sent, applied, reads } = setup();
    const inFlight = reads.wait();
    const queued = reads.wait(); // a round is out: this one waits for the next
    assert.equal(sent.length, 1);
    reads.leaderChanged();
    await assert.rejects(inFlight, (e: unknown) => e instanceof ServerError && e.kind === "LeaderChanged");
    assert.equal(sent.length, 2, "the queued read started a fresh round");
    reads.onReadStates([{ index: 1n, requestCtx: sent[1]! }]);
    applied.advance(1n);
    await queued;
  });

  test("round contexts come from the cluster-unique id generator when given (members never share one)", async () => {
    const sentA: Uint8Array[] = [];
    const sentB: Uint8Array[] = [];
    let a = 0xaan << 48n;
    let b = 0xbbn << 48n;
    const ra = new ReadIndexBatcher(
      { readIndex: (ctx) => sentA.push(ctx), applied: new AppliedWait(0n), nextId: () => ++a },
      60_000,
    );
    const rb = new ReadIndexBatcher(
      { readIndex: (ctx) => sentB.push(ctx), applied: new AppliedWait(0n), nextId: () => ++b },
      60_000,
    );
    const pa = ra.wait();
    const pb = rb.wait();
    assert.equal(Buffer.from(sentA[0]!).readBigUInt64BE(), (0xaan << 48n) + 1n);
    assert.equal(Buffer.from(sentB[0]!).readBigUInt64BE(), (0xbbn << 48n) + 1n);
    assert.notDeepEqual(sentA[0], sentB[0]);
    // Answer both rounds so no retry timer is left behind.
    ra.onReadStates([{ index: 0n, requestCtx: sentA[0]! }]);
    rb.onReadStates([{ index: 0n, requestCtx: sentB[0]! }]);
    await Promise.all([pa, pb]);
  });
});
