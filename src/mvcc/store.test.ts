// Specifies the MVCC store: revisions, puts, deletes, multi-op txns, range conventions and errors,
// compaction (logical and physical, resumed after restart), consistent index, leases, hashes, restart.

import assert from "node:assert/strict";
import { join } from "node:path";
import { afterEach, describe, test } from "node:test";
import { COMPACTION_BATCH_LIMIT, pause } from "./compactor.js";
import { ErrClosed, ErrCompacted, ErrFutureRev } from "./errors.js";
import { HASH_BATCH_LIMIT } from "./hash.js";
import { KVStore } from "./store.js";
import { b, del, putAll, s, TempStore } from "./test_util.js";

let temps: TempStore[] = [];
function fresh(opts?: ConstructorParameters<typeof TempStore>[0]): TempStore {
  const t = new TempStore(opts);
  temps.push(t);
  return t;
}
afterEach(async () => {
  for (const t of temps) await t.cleanup();
  temps = [];
});

const keysAt = (store: KVStore, key: string, end?: string, rev?: bigint) =>
  store
    .range(b(key), end === undefined ? undefined : b(end), { rev })
    .kvs.map((kv) => `${s(kv.key)}=${s(kv.value)}`);

describe("KVStore writes and reads", () => {
  test("an empty store is at revision 1, never compacted", () => {
    const { store } = fresh();
    assert.equal(store.revision, 1n);
    assert.equal(store.compactRevision, -1n);
    assert.deepEqual(store.range(b("a"), undefined), { kvs: [], count: 0, rev: 1n });
  });

  test("put: revision +1 each time; version, create and mod revisions; lease", () => {
    const { store } = fresh();
    putAll(store, [["foo", "v1"]]);
    putAll(store, [["foo", "v2"]], 7n);
    const [kv] = store.range(b("foo"), undefined).kvs;
    assert.deepEqual(kv, {
      key: b("foo"),
      value: b("v2"),
      createRevision: 2n,
      modRevision: 3n,
      version: 2n,
      lease: 7n,
    });
    assert.equal(store.revision, 3n);
  });

  test("delete: tombstone hides the key; missing keys do not bump the revision; recreate starts at version 1", () => {
    const { store } = fresh();
    putAll(store, [
      ["a", "1"],
      ["b", "2"],
      ["c", "3"],
    ]);
    assert.equal(del(store, "zz"), 0);
    assert.equal(store.revision, 4n, "deleting nothing is not a change");
    assert.equal(del(store, "a", "c"), 2);
    assert.equal(store.revision, 5n, "one revision for the whole range");
    assert.deepEqual(keysAt(store, "a", "\0"), ["c=3"]);
    assert.deepEqual(keysAt(store, "a", "\0", 4n), ["a=1", "b=2", "c=3"]);
    putAll(store, [["a", "again"]]);
    const [kv] = store.range(b("a"), undefined).kvs;
    assert.equal(kv!.version, 1n);
    assert.equal(kv!.createRevision, 6n);
  });

  test("a txn: one main revision, increasing subs, read-your-writes, events", () => {
    const { store } = fresh();
    putAll(store, [["x", "old"]]);
    const t = store.write();
    t.put(b("a"), b("1"));
    assert.deepEqual(
      t.range(b("a"), undefined).kvs.map((kv) => s(kv.value)),
      ["1"],
      "a range inside the txn sees its put",
    );
    assert.equal(t.revision, 3n);
    t.put(b("a"), b("2"));
    assert.equal(t.deleteRange(b("x"), undefined), 1);
    assert.equal(t.range(b("x"), undefined).count, 0);
    assert.equal(store.revision, 2n, "not visible outside before end()");
    const res = t.end();
    assert.equal(res.revision, 3n);
    assert.deepEqual(
      res.changes.map((e) => `${e.type} ${s(e.kv.key)} ${e.kv.modRevision} v${e.kv.version}`),
      ["PUT a 3 v1", "PUT a 3 v2", "DELETE x 3 v0"],
    );
    assert.equal(store.revision, 3n);
    assert.deepEqual(keysAt(store, "a", "\0"), ["a=2"]);
    assert.throws(() => t.put(b("z"), b("z")), /after end/);
  });

  test("a txn that changes nothing keeps the revision", () => {
    const { store } = fresh();
    const t = store.write();
    t.range(b("a"), undefined);
    assert.equal(t.deleteRange(b("a"), b("z")), 0);
    assert.deepEqual(t.end(), { revision: 1n, changes: [] });
    assert.equal(store.revision, 1n);
  });

  test("one write txn at a time", () => {
    const { store } = fresh();
    const t = store.write();
    assert.throws(() => store.write(), /already open/);
    t.end();
    store.write().end();
  });

  test("range conventions: single key, [key, end), from-key, whole keyspace, empty when end <= key", () => {
    const { store } = fresh();
    putAll(store, [
      ["\0", "z"],
      ["a", "1"],
      ["ab", "2"],
      ["b", "3"],
      ["\xff", "4"],
    ]);
    const cases: Array<[string, string | undefined, string[]]> = [
      ["a", undefined, ["a=1"]],
      ["a", "", ["a=1"]],
      ["a", "b", ["a=1", "ab=2"]],
      ["a", "\0", ["a=1", "ab=2", "b=3", "\xff=4"]],
      ["\0", "\0", ["\0=z", "a=1", "ab=2", "b=3", "\xff=4"]],
      ["b", "a", []],
      ["b", "b", []],
      ["nope", undefined, []],
    ];
    for (const [key, end, want] of cases) {
      assert.deepEqual(keysAt(store, key, end), want, `[${JSON.stringify(key)}, ${JSON.stringify(end)})`);
    }
  });

  test("limit loads at most `limit` kvs; count is the whole range; count-only loads none", () => {
    const { store } = fresh();
    putAll(store, [
      ["a", "1"],
      ["b", "2"],
      ["c", "3"],
    ]);
    const r = store.range(b("a"), b("\0"), { limit: 2 });
    assert.deepEqual([r.kvs.length, r.count], [2, 3]);
    const c = store.range(b("a"), b("\0"), { count: true });
    assert.deepEqual([c.kvs.length, c.count], [0, 3]);
  });

  test("revision errors: future, compacted; compact revision itself is readable; header is current", () => {
    const { store } = fresh();
    putAll(store, [
      ["a", "1"],
      ["a", "2"],
      ["a", "3"],
    ]); // revs 2, 3, 4
    assert.throws(() => store.range(b("a"), undefined, { rev: 5n }), ErrFutureRev);
    store.compact(3n);
    assert.throws(() => store.range(b("a"), undefined, { rev: 2n }), ErrCompacted);
    const r = store.range(b("a"), undefined, { rev: 3n });
    assert.deepEqual([s(r.kvs[0]!.value), r.rev], ["2", 4n]);
    assert.equal(store.range(b("a"), undefined, { rev: -1n }).kvs[0]!.modRevision, 4n, "rev <= 0 = latest");
  });
});

describe("KVStore compaction", () => {
  test("errors: at or below the compact revision, or in the future", () => {
    const { store } = fresh();
    putAll(store, [
      ["a", "1"],
      ["a", "2"],
    ]);
    assert.throws(() => store.compact(4n), ErrFutureRev);
    store.compact(2n);
    assert.throws(() => store.compact(2n), ErrCompacted);
    assert.throws(() => store.compact(1n), ErrCompacted);
    store.compact(3n);
    assert.equal(store.compactRevision, 3n);
  });

  test("physically removes superseded revisions and tombstones, keeps the latest of each live key", async () => {
    const t = fresh();
    const { store } = t;
    putAll(store, [
      ["a", "1"],
      ["a", "2"],
      ["b", "1"],
      ["c", "1"],
    ]); // 2,3,4,5
    del(store, "b"); // 6
    putAll(store, [["a", "3"]]); // 7
    await store.compact(6n).done;
    const stored = [...store.keyBucket.scan(Buffer.alloc(1))].map((e) => e.key.readBigInt64BE(0));
    assert.deepEqual(stored, [3n, 5n, 7n], "a@3 (latest <= 6), c@5; b's history and tombstone gone");
    assert.deepEqual(keysAt(store, "a", "\0", 6n), ["a=2", "c=1"]);
    assert.deepEqual(keysAt(store, "a", "\0"), ["a=3", "c=1"]);
    assert.equal(store.range(b("a"), undefined).kvs[0]!.version, 3n, "versions survive compaction");
    await t.reopen();
    assert.equal(t.store.compactRevision, 6n);
    assert.equal(t.store.revision, 7n);
    assert.equal(t.store.range(b("a"), undefined).kvs[0]!.version, 3n);
    putAll(t.store, [["a", "4"]]);
    assert.equal(t.store.range(b("a"), undefined).kvs[0]!.version, 4n);
  });

  test("compacting everything away keeps the revision at the compact revision after restart", async () => {
    const t = fresh();
    putAll(t.store, [["a", "1"]]);
    del(t.store, "a");
    await t.store.compact(3n).done;
    assert.equal([...t.store.keyBucket.scan(Buffer.alloc(1))].length, 0);
    await t.reopen();
    assert.equal(t.store.revision, 3n);
    assert.equal(t.store.compactRevision, 3n);
  });

  test("runs in bounded batches and lets the event loop in between", async () => {
    const t = fresh({ compactionSleepMs: 0, compactionBatchLimit: 10 });
    for (let i = 0; i < 100; i++) putAll(t.store, [[`k${i % 5}`, `${i}`]]);
    const commitsBefore = t.backend.commitCount;
    const { done } = t.store.compact(t.store.revision);
    let ticks = 0;
    let finished = false;
    void done.then(() => {
      finished = true;
    });
    while (!finished) {
      ticks++;
      await pause();
    }
    // 100 revisions / 10 per batch: at least 10 backend batches, each in its own turn of the loop
    assert.ok(
      t.backend.commitCount - commitsBefore >= 10,
      `${t.backend.commitCount - commitsBefore} batches`,
    );
    assert.ok(ticks >= 10, `${ticks} event-loop turns`);
    assert.equal([...t.store.keyBucket.scan(Buffer.alloc(1))].length, 5);
  });

  test("the default batch limit (COMPACTION_BATCH_LIMIT) bounds each backend batch", async () => {
    const t = fresh({ compactionSleepMs: 0 });
    const n = 3 * COMPACTION_BATCH_LIMIT + 7;
    t.backend.batch(() => {
      for (let i = 0; i < n; i++) putAll(t.store, [["k", `${i}`]]);
    });
    const before = t.backend.commitCount;
    await t.store.compact(t.store.revision).done;
    assert.equal(t.backend.commitCount - before, Math.ceil(n / COMPACTION_BATCH_LIMIT) + 1); // + the schedule record
  });

  test("a compaction interrupted by a restart is finished on open", async () => {
    const t = fresh({ compactionSleepMs: 0, compactionBatchLimit: 2 });
    for (let i = 0; i < 20; i++) putAll(t.store, [["k", `${i}`]]);
    const { done } = t.store.compact(15n);
    await t.reopen(); // closes the store before the job can finish
    await assert.rejects(done, ErrClosed);
    assert.equal(t.store.compactRevision, 15n, "scheduled revision resumed");
    await t.store.compactionsIdle();
    const mains = [...t.store.keyBucket.scan(Buffer.alloc(1))].map((e) => e.key.readBigInt64BE(0));
    assert.deepEqual(mains, [15n, 16n, 17n, 18n, 19n, 20n, 21n]);
    assert.deepEqual(keysAt(t.store, "k", undefined, 15n), ["k=13"]);
  });

  test("writes and reads interleave with a running compaction", async () => {
    const t = fresh({ compactionSleepMs: 0, compactionBatchLimit: 3 });
    for (let i = 0; i < 30; i++) putAll(t.store, [[`k${i % 4}`, `${i}`]]);
    const { done } = t.store.compact(20n);
    for (let i = 0; i < 10; i++) {
      putAll(t.store, [[`k${i % 6}`, `new${i}`]]);
      assert.equal(t.store.range(b("k"), b("l"), { rev: 20n }).count, 4);
      await pause();
    }
    await done;
    assert.deepEqual(keysAt(t.store, "k0", undefined, 20n), ["k0=16"]);
    assert.deepEqual(keysAt(t.store, "k", "l").length, 6);
  });
});

describe("KVStore events (watch catch-up)", () => {
  test("stored changes by revision range, whole revisions only, deletes carry their revision", () => {
    const { store } = fresh();
    putAll(store, [["a", "1"]]); // 2
    const w = store.write();
    w.put(b("b"), b("2"));
    w.put(b("c"), b("3"));
    w.end(); // 3
    del(store, "a"); // 4
    const show = (from: bigint, to: bigint, limit: number) =>
      store.events(from, to, limit).map((e) => `${e.type} ${s(e.kv.key)}@${e.kv.modRevision}`);
    assert.deepEqual(show(2n, 4n, 100), ["PUT a@2", "PUT b@3", "PUT c@3", "DELETE a@4"]);
    assert.deepEqual(show(3n, 3n, 1), ["PUT b@3", "PUT c@3"], "a revision is never split");
    assert.deepEqual(show(2n, 4n, 2), ["PUT a@2", "PUT b@3", "PUT c@3"]);
    assert.deepEqual(show(5n, 9n, 10), []);
    store.compact(3n);
    assert.throws(() => store.events(2n, 4n, 10), ErrCompacted);
  });
});

describe("KVStore consistent index, leases, restart, hashes", () => {
  test("the consistent index is saved atomically with the txn, even when nothing changes", async () => {
    const t = fresh();
    const w = t.store.write({ index: 10n, term: 2n });
    w.put(b("a"), b("1"));
    w.end();
    t.store.write({ index: 11n }).end();
    assert.equal(t.store.consistentIndex, 11n);
    assert.throws(() =>
      t.backend.batch(() => {
        t.store.saveConsistentIndex({ index: 12n });
        throw new Error("apply failed");
      }),
    );
    await t.reopen();
    assert.equal(t.store.consistentIndex, 11n, "the aborted batch did not persist 12");
    assert.equal(t.store.consistentTerm, 2n);
    assert.equal(t.store.revision, 2n);
  });

  test("lease hooks: attach on put, detach on overwrite and delete, reattach on open", async () => {
    const log: string[] = [];
    const leaseHooks = {
      attach: (l: bigint, k: Uint8Array) => log.push(`+${l} ${s(k)}`),
      detach: (l: bigint, k: Uint8Array) => log.push(`-${l} ${s(k)}`),
    };
    const t = fresh({ compactionSleepMs: 0, leaseHooks });
    putAll(t.store, [["a", "1"]], 5n);
    putAll(t.store, [["a", "2"]], 6n);
    putAll(t.store, [["b", "1"]], 6n);
    putAll(t.store, [["a", "3"]]);
    putAll(t.store, [["c", "1"]], 7n);
    del(t.store, "b");
    assert.deepEqual(log, ["+5 a", "-5 a", "+6 a", "+6 b", "-6 a", "+7 c", "-6 b"]);
    log.length = 0;
    await t.reopen();
    assert.deepEqual(log, ["+7 c"]);
  });

  test("restart: same revision, same contents at every revision", async () => {
    const t = fresh();
    putAll(t.store, [
      ["a", "1"],
      ["b", "2"],
      ["a", "3"],
    ]);
    del(t.store, "b");
    const w = t.store.write();
    w.put(b("c"), b("4"));
    w.put(b("b"), b("5"));
    w.end();
    const snapshot = (st: KVStore) =>
      [1n, 2n, 3n, 4n, 5n, 6n].map((rev) => keysAt(st, "\0", "\0", rev).join(","));
    const before = snapshot(t.store);
    await t.reopen();
    assert.equal(t.store.revision, 6n);
    assert.deepEqual(snapshot(t.store), before);
  });

  test("hashKV: deterministic, independent of later writes and of physical compaction", async () => {
    const a = fresh();
    const c = fresh();
    for (const st of [a.store, c.store]) {
      putAll(st, [
        ["a", "1"],
        ["b", "2"],
        ["a", "3"],
      ]);
      del(st, "b");
    }
    const h5 = await a.store.hashKV(0n);
    assert.deepEqual(h5, await c.store.hashKV(5n));
    assert.equal(h5.hashRevision, 5n);
    assert.equal(h5.compactRev, -1n);
    putAll(c.store, [["z", "9"]]);
    assert.equal((await c.store.hashKV(5n)).hash, h5.hash, "later writes do not change hashKV(5)");
    assert.notEqual((await c.store.hashKV(0n)).hash, h5.hash);

    await a.store.compact(4n).done;
    const afterCompact = await a.store.hashKV(5n);
    c.store.compact(4n); // not awaited: the hash is serialized after it anyway
    assert.equal((await c.store.hashKV(5n)).hash, afterCompact.hash);
    await assert.rejects(a.store.hashKV(4n), ErrCompacted);
    await assert.rejects(a.store.hashKV(9n), ErrFutureRev);
  });

  test("hashKV spans batches (HASH_BATCH_LIMIT) over a snapshot: writes during the hash do not leak in", async () => {
    const t = fresh();
    t.backend.batch(() => {
      for (let i = 0; i < 3 * HASH_BATCH_LIMIT; i++) putAll(t.store, [[`k${i % 700}`, `${i}`]]);
    });
    const rev = t.store.revision;
    const pending = t.store.hashKV(rev);
    for (let i = 0; i < 50; i++) {
      putAll(t.store, [[`k${i}`, "later"]]);
      await pause();
    }
    const first = await pending;
    assert.deepEqual(await t.store.hashKV(rev), { ...first, currentRev: t.store.revision });
    await t.reopen();
    assert.equal((await t.store.hashKV(rev)).hash, first.hash);
  });

  test("hash: every bucket except the consistent index", async () => {
    const a = fresh();
    const c = fresh();
    putAll(a.store, [["a", "1"]]);
    putAll(c.store, [["a", "1"]]);
    a.store.saveConsistentIndex({ index: 99n });
    assert.equal((await a.store.hash()).hash, (await c.store.hash()).hash);
    a.backend.batch(() => a.backend.bucket("lease").put(b("l"), b("x")));
    assert.notEqual((await a.store.hash()).hash, (await c.store.hash()).hash);
  });

  test("snapshot transfer: a member restores another's backend copy and reopens its store", async () => {
    const leader = fresh();
    putAll(leader.store, [
      ["a", "1"],
      ["b", "2"],
      ["a", "3"],
    ]);
    leader.store.saveConsistentIndex({ index: 42n, term: 3n });
    const follower = fresh();
    putAll(follower.store, [["stale", "x"]]);
    const received = join(follower.dir, "db.incoming");
    await leader.backend.snapshotTo(received);
    await follower.store.close();
    await follower.backend.restoreFrom(received);
    follower.store = KVStore.open(follower.backend, follower.opts);
    assert.deepEqual(keysAt(follower.store, "\0", "\0"), ["a=3", "b=2"]);
    assert.deepEqual(
      [follower.store.revision, follower.store.consistentIndex, follower.store.consistentTerm],
      [4n, 42n, 3n],
    );
    assert.equal((await follower.store.hashKV(0n)).hash, (await leader.store.hashKV(0n)).hash);
  });

  test("defragment under a store keeps it working", async () => {
    const t = fresh();
    for (let i = 0; i < 50; i++) putAll(t.store, [[`k${i}`, "x".repeat(500)]]);
    del(t.store, "k", "l");
    const sizeBefore = t.backend.size();
    t.store.compact(t.store.revision); // not awaited: defragment queues behind it
    await t.store.defragment();
    assert.ok(t.backend.size() < sizeBefore);
    putAll(t.store, [["after", "1"]]);
    assert.deepEqual(keysAt(t.store, "\0", "\0"), ["after=1"]);
  });
});
