// Specifies the simulated disk: unsynced writes are lost on a crash (or survive as a prefix), synced ones never are.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Rand } from "../rand.js";
import type { MemoryStorage } from "../storage.js";
import type { Entry, Snapshot } from "../types.js";
import { copyStorage, Disk } from "./disk.js";

const ent = (index: number, term: number): Entry => ({
  index: BigInt(index),
  term: BigInt(term),
  type: "Normal",
  data: new Uint8Array([index]),
});

const ents = (from: number, to: number, term: number): Entry[] => {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(ent(i, term));
  return out;
};

/** [index, term] of every entry in the storage. */
function log(s: MemoryStorage): [number, number][] {
  const out: [number, number][] = [];
  for (let i = s.firstIndex(); i <= s.lastIndex(); i++) out.push([Number(i), Number(s.term(i))]);
  return out;
}

test("writes are visible to raft at once but a crash before sync loses them", () => {
  const d = new Disk();
  d.write({ entries: ents(1, 3, 1), hardState: { term: 1n, vote: 1n, commit: 2n } });
  assert.equal(d.live.lastIndex(), 3n);
  assert.equal(d.unsynced, 2);
  d.crash(new Rand(1), 0);
  assert.equal(d.live.lastIndex(), 0n);
  assert.deepEqual(d.live.initialState().hardState, { term: 0n, vote: 0n, commit: 0n });
  assert.equal(d.isEmpty(), true);
});

test("synced writes survive a crash; later unsynced ones do not", () => {
  const d = new Disk();
  d.write({ entries: ents(1, 3, 1), hardState: { term: 1n, vote: 2n, commit: 3n } });
  d.sync();
  d.write({ entries: ents(4, 6, 2), hardState: { term: 2n, vote: 0n, commit: 3n } });
  d.crash(new Rand(1), 0);
  assert.deepEqual(log(d.live), [
    [1, 1],
    [2, 1],
    [3, 1],
  ]);
  assert.deepEqual(d.live.initialState().hardState, { term: 1n, vote: 2n, commit: 3n });
});

test("a conflicting append truncates the suffix only once synced; a crash restores the old log", () => {
  const d = new Disk();
  d.write({ entries: ents(1, 5, 1) });
  d.sync();
  d.write({ entries: ents(3, 3, 2) });
  assert.deepEqual(log(d.live).at(-1), [3, 2]);
  assert.equal(d.live.lastIndex(), 3n);
  d.crash(new Rand(1), 0);
  assert.deepEqual(log(d.live).at(-1), [5, 1]);
});

test("a torn crash keeps a prefix of the unsynced writes, never a hard state without its entries", () => {
  for (let seed = 1; seed <= 300; seed++) {
    const d = new Disk();
    d.write({ entries: ents(1, 2, 1), hardState: { term: 1n, vote: 1n, commit: 2n } });
    d.sync();
    d.write({ entries: ents(3, 8, 2), hardState: { term: 2n, vote: 1n, commit: 8n } });
    d.crash(new Rand(seed), 1);
    const last = Number(d.live.lastIndex());
    assert.ok(last >= 2 && last <= 8, `seed ${seed}: last ${last}`);
    assert.deepEqual(
      log(d.live),
      [...ents(1, 2, 1), ...ents(3, last, 2)].map((e) => [Number(e.index), Number(e.term)]),
    );
    const hs = d.live.initialState().hardState;
    if (hs.term === 2n) assert.equal(last, 8, `seed ${seed}: hard state survived without all its entries`);
    else assert.deepEqual(hs, { term: 1n, vote: 1n, commit: 2n });
  }
});

test("a received snapshot and its hard state survive a torn crash together or not at all", () => {
  const snap: Snapshot = {
    data: new Uint8Array([9]),
    metadata: { index: 10n, term: 3n, confState: { voters: [1n, 2n], learners: [] } },
  };
  for (let seed = 1; seed <= 100; seed++) {
    const d = new Disk();
    d.write({ snapshot: snap, entries: ents(11, 12, 3), hardState: { term: 3n, vote: 0n, commit: 12n } });
    d.crash(new Rand(seed), 1);
    const got = d.live.snapshot().metadata.index;
    if (got === 10n) assert.equal(d.live.initialState().hardState.commit, 12n, `seed ${seed}`);
    else assert.equal(got, 0n);
  }
});

test("snapshot and compaction apply to both copies and survive a crash", () => {
  const d = new Disk();
  d.write({ entries: ents(1, 10, 1), hardState: { term: 1n, vote: 1n, commit: 10n } });
  d.sync();
  const s = d.snapshotAndCompact(8n, { voters: [1n], learners: [] }, new Uint8Array([42]), 2n);
  assert.equal(s?.metadata.index, 8n);
  assert.equal(d.live.firstIndex(), 7n);
  d.crash(new Rand(1), 0);
  assert.equal(d.live.snapshot().metadata.index, 8n);
  assert.deepEqual(d.live.snapshot().data, new Uint8Array([42]));
  assert.equal(d.live.firstIndex(), 7n);
  assert.equal(d.live.lastIndex(), 10n);
  assert.equal(d.snapshotAndCompact(8n, { voters: [1n], learners: [] }, new Uint8Array(0), 0n), undefined);
});

test("snapshotting with unsynced writes is a simulator bug", () => {
  const d = new Disk();
  d.write({ entries: ents(1, 3, 1) });
  assert.throws(() => d.snapshotAndCompact(2n, { voters: [1n], learners: [] }, new Uint8Array(0), 0n));
});

test("a lagging fsync (sabotage) loses the last synced batch on a crash", () => {
  const d = new Disk({ laggingFsync: true });
  d.write({ entries: ents(1, 2, 1) });
  d.sync();
  d.write({ entries: ents(3, 4, 1) });
  d.sync();
  d.crash(new Rand(1), 0);
  assert.equal(d.live.lastIndex(), 2n);
});

test("copyStorage copies snapshot, entries and hard state", () => {
  const d = new Disk();
  d.write({ entries: ents(1, 6, 2), hardState: { term: 2n, vote: 3n, commit: 6n } });
  d.sync();
  d.snapshotAndCompact(4n, { voters: [1n, 3n], learners: [2n] }, new Uint8Array([1]), 1n);
  const c = copyStorage(d.durable);
  assert.deepEqual(log(c), log(d.durable));
  assert.deepEqual(c.snapshot(), d.durable.snapshot());
  assert.deepEqual(c.initialState(), d.durable.initialState());
});
