// Specifies automatic compaction in both modes with a fake clock and store.
import assert from "node:assert/strict";
import { test } from "node:test";
import { AutoCompactor, REVISION_MODE_INTERVAL_MS } from "./auto_compactor.js";

function harness(mode: "periodic" | "revision", retention: number) {
  let now = 0;
  let rev = 1n;
  let leader = true;
  const compacted: bigint[] = [];
  const c = new AutoCompactor(
    {
      revision: () => rev,
      compact: async (r) => {
        compacted.push(r);
      },
      isLeader: () => leader,
      now: () => now,
      setTimer: () => ({ clear() {} }),
      logger: { info() {}, warn() {} },
    },
    mode,
    retention,
  );
  return {
    c,
    compacted,
    advance: async (ms: number, newRev: bigint) => {
      now += ms;
      rev = newRev;
      await c.tick();
    },
    setLeader: (v: boolean) => {
      leader = v;
    },
  };
}

test("periodic mode keeps one retention of history: compacts to the revision sampled a retention ago", async () => {
  const h = harness("periodic", 1000);
  h.c.start(); // samples revision 1 at t=0
  assert.equal(h.c.intervalMs, 100);
  for (let i = 1; i < 10; i++) await h.advance(100, BigInt(1 + i * 10));
  assert.deepEqual(h.compacted, [], "no compaction before a whole retention has passed");
  await h.advance(100, 101n); // t=1000: the sample of t=0 is a retention old
  assert.deepEqual(h.compacted, [1n]);
  await h.advance(100, 111n); // t=1100: compact to the revision sampled at t=100
  assert.deepEqual(h.compacted, [1n, 11n]);
});

test("periodic mode samples at most every hour/10 for long retentions", () => {
  assert.equal(harness("periodic", 5 * 3_600_000).c.intervalMs, 360_000);
});

test("revision mode compacts to current minus retention every 5 minutes, only forward", async () => {
  const h = harness("revision", 100);
  assert.equal(h.c.intervalMs, REVISION_MODE_INTERVAL_MS);
  await h.advance(REVISION_MODE_INTERVAL_MS, 50n);
  assert.deepEqual(h.compacted, [], "nothing to compact below the retention");
  await h.advance(REVISION_MODE_INTERVAL_MS, 1000n);
  await h.advance(REVISION_MODE_INTERVAL_MS, 1000n);
  assert.deepEqual(h.compacted, [900n], "the same target is not compacted twice");
});

test("a follower does not compact", async () => {
  const h = harness("revision", 10);
  h.setLeader(false);
  await h.advance(REVISION_MODE_INTERVAL_MS, 1000n);
  assert.deepEqual(h.compacted, []);
});
