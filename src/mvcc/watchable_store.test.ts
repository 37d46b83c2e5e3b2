// Specifies the watchable store: synced and catching-up watchers, ranges, IDs, cancel, filters, prev_kv,
// compaction, victims and back-pressure, progress, and its named limits.

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { TempStore } from "./test_util.js";
import { ERR_DUPLICATE_WATCH_ID, ERR_EMPTY_WATCHER_RANGE, MAX_PENDING_CONTROL } from "./watch_stream.js";
import { apply, Consumer, del, fmt, put, settle, str, turns } from "./watch_test_util.js";
import { WatchableStore } from "./watchable_store.js";

const b = (s: string) => Buffer.from(s);

describe("WatchableStore", () => {
  let ts: TempStore;
  let ws: WatchableStore;
  beforeEach(() => {
    ts = new TempStore();
    ws = new WatchableStore(ts.store);
  });
  afterEach(async () => {
    ws.close();
    await ts.cleanup();
  });
  const put1 = (k: string, v: string) => put(ts.store, ws, k, v);

  describe("synced watchers", () => {
    test("created comes first with the current revision, then one response per revision", () => {
      put1("a", "0"); // rev 2
      const c = new Consumer();
      const s = c.open(ws);
      const id = s.watch({ key: b("a") });
      assert.equal(id, 0n);
      put1("a", "1");
      put1("b", "x");
      put1("a", "2");
      assert.deepEqual(c.received[0], {
        ...c.received[0],
        watchId: 0n,
        created: true,
        revision: 2n,
        events: [],
      });
      assert.deepEqual(
        c.eventsOf(0n).map((r) => [r.revision, fmt(r)]),
        [
          [3n, ["PUT a=1@3"]],
          [5n, ["PUT a=2@5"]],
        ],
      );
      assert.equal(ws.stats().synced, 1);
    });

    test("a txn's events of one revision arrive in one response, in sub-revision order", () => {
      const c = new Consumer();
      c.open(ws).watch({ key: b("a"), rangeEnd: b("c") });
      apply(ts.store, ws, (t) => {
        t.put(b("b"), b("1"));
        t.put(b("a"), b("2"));
        t.put(b("x"), b("3"));
      });
      assert.deepEqual(c.eventsOf(0n).map(fmt), [["PUT b=1@2", "PUT a=2@2"]]);
    });

    test("ranges: single key, [key, end), from-key and the whole keyspace", () => {
      const c = new Consumer();
      const s = c.open(ws);
      const single = s.watch({ key: b("a") });
      const prefix = s.watch({ key: b("a"), rangeEnd: b("b") });
      const fromKey = s.watch({ key: b("b"), rangeEnd: b("\0") });
      const all = s.watch({ key: b(""), rangeEnd: b("\0") });
      for (const k of ["a", "aa", "b", "\0", "zz"]) put1(k, "v");
      const keys = (id: bigint) => c.eventsOf(id).map((r) => str(r.events[0]!.kv.key));
      assert.deepEqual(keys(single), ["a"]);
      assert.deepEqual(keys(prefix), ["a", "aa"]);
      assert.deepEqual(keys(fromKey), ["b", "zz"]);
      assert.deepEqual(keys(all), ["a", "aa", "b", "\0", "zz"]);
    });

    test("start revision 0 means current + 1; a future start revision waits for it", () => {
      put1("a", "1"); // 2
      const c = new Consumer();
      const s = c.open(ws);
      s.watch({ key: b("a") });
      s.watch({ key: b("a"), startRevision: 5n });
      for (let i = 2; i <= 6; i++) put1("a", String(i)); // 3..7
      assert.deepEqual(
        c.eventsOf(0n).map((r) => r.revision),
        [3n, 4n, 5n, 6n, 7n],
      );
      assert.deepEqual(
        c.eventsOf(1n).map((r) => r.revision),
        [5n, 6n, 7n],
      );
    });
  });

  describe("IDs, refusals and cancel", () => {
    test("auto IDs count from 0 per stream, skip IDs in use and never reuse a canceled one", () => {
      const c = new Consumer();
      const s = c.open(ws);
      assert.equal(s.watch({ key: b("k") }), 0n);
      assert.equal(s.watch({ key: b("k"), watchId: 2n }), 2n);
      assert.equal(s.watch({ key: b("k") }), 1n);
      assert.equal(s.watch({ key: b("k") }), 3n); // 2 is taken
      assert.ok(s.cancel(1n));
      assert.equal(s.watch({ key: b("k") }), 4n);
      assert.equal(new Consumer().open(ws).watch({ key: b("k") }), 0n); // per stream
    });

    test("a duplicate ID and an empty range are refused with created+canceled and watch_id -1", () => {
      const c = new Consumer();
      const s = c.open(ws);
      s.watch({ key: b("k"), watchId: 7n });
      assert.equal(s.watch({ key: b("k"), watchId: 7n }), -1n);
      assert.equal(s.watch({ key: b("b"), rangeEnd: b("a") }), -1n);
      assert.equal(s.watch({ key: b("b"), rangeEnd: b("b") }), -1n);
      const refused = c.received.slice(1);
      assert.deepEqual(
        refused.map((r) => [r.watchId, r.created, r.canceled, r.cancelReason, r.revision]),
        [
          [-1n, true, true, ERR_DUPLICATE_WATCH_ID, 1n],
          [-1n, true, true, ERR_EMPTY_WATCHER_RANGE, 1n],
          [-1n, true, true, ERR_EMPTY_WATCHER_RANGE, 1n],
        ],
      );
      assert.equal(s.size, 1);
    });

    test("cancel answers {watch_id, canceled} and stops events; an unknown ID gets no response", () => {
      const c = new Consumer();
      const s = c.open(ws);
      s.watch({ key: b("a") });
      put1("a", "1");
      assert.ok(s.cancel(0n));
      assert.equal(s.cancel(0n), false);
      assert.equal(s.cancel(42n), false);
      put1("a", "2");
      assert.deepEqual(
        c.received.map((r) => [r.watchId, r.created, r.canceled, r.events.length, r.revision]),
        [
          [0n, true, false, 0, 1n],
          [0n, false, false, 1, 2n],
          [0n, false, true, 0, 2n],
        ],
      );
      assert.equal(ws.stats().synced, 0);
    });

    test("closing a stream removes all its watchers, parked ones included", async () => {
      const c = new Consumer(1);
      const s = c.open(ws);
      s.watch({ key: b("a") }); // created fills the buffer
      s.watch({ key: b("b"), startRevision: 1n }); // queued created
      put1("a", "1");
      put1("b", "1");
      await turns();
      assert.ok(ws.stats().victims + ws.stats().unsynced > 0 || ws.stats().synced > 0);
      s.close();
      assert.deepEqual(ws.stats(), { streams: 0, synced: 0, unsynced: 0, victims: 0, resyncs: 0 });
      put1("a", "2");
      assert.equal(s.watch({ key: b("a") }), -1n);
    });
  });

  describe("filters and prev_kv", () => {
    test("NOPUT and NODELETE drop events server-side; a revision with nothing left sends nothing", () => {
      const c = new Consumer();
      const s = c.open(ws);
      const noPut = s.watch({ key: b("a"), noPut: true });
      const noDel = s.watch({ key: b("a"), noDelete: true });
      put1("a", "1");
      del(ts.store, ws, "a");
      assert.deepEqual(c.eventsOf(noPut).map(fmt), [["DELETE a@3"]]);
      assert.deepEqual(c.eventsOf(noDel).map(fmt), [["PUT a=1@2"]]);
    });

    test("prev_kv is the key at mod_revision - 1, for puts and deletes, absent for a create", async () => {
      const c = new Consumer();
      const s = c.open(ws);
      s.watch({ key: b("p"), prevKv: true });
      put1("p", "1");
      put1("p", "2");
      del(ts.store, ws, "p");
      put1("p", "3");
      const prevs = c
        .eventsOf(0n)
        .map(
          (r) =>
            r.events[0]!.prevKv && `${str(r.events[0]!.prevKv.value)}@${r.events[0]!.prevKv.modRevision}`,
        );
      assert.deepEqual(prevs, [undefined, "1@2", "2@3", undefined]);
      // The same through catch-up.
      s.watch({ key: b("p"), prevKv: true, startRevision: 2n });
      await settle(ws);
      const caught = c.eventsOf(1n).flatMap((r) => r.events.map((e) => e.prevKv && str(e.prevKv.value)));
      assert.deepEqual(caught, [undefined, "1", "2", undefined]);
    });

    test("prev_kv is omitted when the previous revision is compacted", async () => {
      put1("p", "1"); // 2
      put1("x", "1"); // 3
      put1("p", "2"); // 4
      ts.store.compact(4n);
      const c = new Consumer();
      c.open(ws).watch({ key: b("p"), prevKv: true, startRevision: 4n });
      await settle(ws);
      const [ev] = c.eventsOf(0n)[0]!.events;
      assert.equal(str(ev!.kv.value), "2");
      assert.equal(ev!.prevKv, undefined);
    });
  });

  describe("catching up", () => {
    test("a past start revision replays history in whole revisions, then continues synced", async () => {
      put1("a", "1"); // 2
      apply(ts.store, ws, (t) => {
        t.put(b("a"), b("2"));
        t.put(b("ab"), b("2"));
      }); // 3
      put1("b", "3"); // 4
      const c = new Consumer();
      c.open(ws).watch({ key: b("a"), rangeEnd: b("b"), startRevision: 2n });
      assert.equal(ws.stats().unsynced, 1);
      await settle(ws);
      put1("a", "5"); // 5
      const rs = c.eventsOf(0n);
      assert.deepEqual(
        rs.map((r) => [r.revision, fmt(r)]),
        [
          [4n, ["PUT a=1@2", "PUT a=2@3", "PUT ab=2@3"]],
          [5n, ["PUT a=5@5"]],
        ],
      );
    });

    test("catch-up reads at most maxEventsPerBatch events per round and never splits a revision", async () => {
      ws.close();
      ws = new WatchableStore(ts.store, { maxEventsPerBatch: 3 });
      for (let i = 0; i < 4; i++) {
        apply(ts.store, ws, (t) => {
          t.put(b(`k${i}a`), b("v"));
          t.put(b(`k${i}b`), b("v"));
        });
      } // revs 2..5, two events each
      const c = new Consumer();
      c.open(ws).watch({ key: b("k"), rangeEnd: b("l"), startRevision: 2n });
      await settle(ws);
      const rs = c.eventsOf(0n);
      assert.ok(rs.length >= 2, `expected several responses, got ${rs.length}`);
      for (const r of rs) {
        assert.ok(
          r.events.length <= 4,
          "a response holds at most the batch limit rounded up to a whole revision",
        );
        assert.equal(r.events.length % 2, 0, "a revision is never split");
      }
      assert.equal(rs.flatMap(fmt).length, 8);
    });

    test("a catching-up response holds about maxResponseBytes, in whole revisions", async () => {
      ws.close();
      ws = new WatchableStore(ts.store, { maxResponseBytes: 2500 });
      const big = "x".repeat(1000);
      for (let i = 0; i < 3; i++) {
        apply(ts.store, ws, (t) => {
          t.put(b(`r${i}a`), b(big));
          t.put(b(`r${i}b`), b(big));
        });
      } // revs 2..4, ~2 KB each
      const c = new Consumer();
      c.open(ws).watch({ key: b("r"), rangeEnd: b("s"), startRevision: 2n });
      await settle(ws);
      assert.deepEqual(
        c.eventsOf(0n).map((r) => r.events.length),
        [4, 2],
        "the revision crossing the limit is kept whole",
      );
    });

    test("one round serves at most maxWatchersPerSync watchers", () => {
      ws.close();
      ws = new WatchableStore(ts.store, { maxWatchersPerSync: 2 });
      put1("a", "1");
      const c = new Consumer();
      const s = c.open(ws);
      for (let i = 0; i < 5; i++) s.watch({ key: b("a"), startRevision: 1n });
      assert.equal(ws.stats().unsynced, 5);
      assert.equal(ws.syncWatchers(), 3);
      assert.equal(ws.syncWatchers(), 1);
      assert.equal(ws.syncWatchers(), 0);
      assert.equal(ws.stats().synced, 5);
    });

    test("a write the server forgot to notify is caught up from the backend (resync)", async () => {
      const c = new Consumer();
      c.open(ws).watch({ key: b("a") });
      const t = ts.store.write();
      t.put(b("a"), b("missed"));
      t.end(); // not notified
      put1("a", "next");
      await settle(ws);
      assert.deepEqual(c.eventsOf(0n).flatMap(fmt), ["PUT a=missed@2", "PUT a=next@3"]);
      assert.equal(ws.stats().resyncs, 1);
    });
  });

  describe("compaction", () => {
    test("a start revision below the compact revision: created, then one compaction cancel (header revision 0)", async () => {
      for (let i = 0; i < 4; i++) put1("c", String(i)); // 2..5
      ts.store.compact(4n);
      const c = new Consumer();
      const s = c.open(ws);
      s.watch({ key: b("c"), startRevision: 3n });
      s.watch({ key: b("c"), startRevision: 4n }); // exactly the compact revision still works
      await settle(ws);
      assert.deepEqual(
        c.received
          .filter((r) => r.watchId === 0n)
          .map((r) => [r.created, r.canceled, r.compactRevision, r.revision]),
        [
          [true, false, 0n, 5n],
          [false, true, 4n, 0n],
        ],
      );
      assert.deepEqual(c.eventsOf(1n).flatMap(fmt), ["PUT c=2@4", "PUT c=3@5"]);
      put1("c", "later");
      assert.equal(c.received.filter((r) => r.watchId === 0n).length, 2, "nothing after the cancel");
      // As in etcd the ID stays taken until the client cancels it.
      assert.equal(s.watch({ key: b("c"), watchId: 0n }), 2n); // 0 = auto, so this is a new ID
      assert.equal(s.watch({ key: b("c"), watchId: 2n }), -1n);
      assert.ok(s.cancel(0n));
    });

    test("negative start revisions: below the compact revision is compacted, otherwise it means current + 1", async () => {
      put1("n", "1");
      const c = new Consumer();
      const s = c.open(ws);
      s.watch({ key: b("n"), startRevision: -1n }); // compact revision is -1 (never compacted)
      s.watch({ key: b("n"), startRevision: -5n });
      await settle(ws);
      put1("n", "2");
      assert.deepEqual(c.eventsOf(0n).flatMap(fmt), ["PUT n=2@3"]);
      const cancel = c.received.find((r) => r.watchId === 1n && r.canceled)!;
      assert.equal(cancel.compactRevision, -1n);
    });
  });

  describe("victims and back-pressure", () => {
    test("a full stream parks its watcher with one response; apply and other streams go on", async () => {
      const slow = new Consumer(2);
      const fast = new Consumer();
      slow.open(ws).watch({ key: b("k") }); // created: 1 unread
      fast.open(ws).watch({ key: b("k") });
      for (let i = 0; i < 50; i++) put1("k", String(i)); // revs 2..51
      assert.equal(fast.eventsOf(0n).length, 50);
      assert.equal(slow.eventsOf(0n).length, 1);
      assert.equal(ws.stats().victims, 1, "one parked watcher, holding one response, however many writes");
      // Drain repeatedly: parked response, then catch-up from the backend.
      for (let i = 0; i < 200 && !(ws.idle() && slow.unread === 0); i++) {
        slow.drain();
        await turns(1);
      }
      assert.deepEqual(
        slow.eventsOf(0n).flatMap((r) => r.events.map((e) => Number(e.kv.modRevision))),
        Array.from({ length: 50 }, (_, i) => i + 2),
        "every event once, in order",
      );
      put1("k", "after");
      assert.equal(ws.stats().synced, 2);
    });

    test("a victim that falls behind a compaction is canceled with compact_revision", async () => {
      const c = new Consumer(1);
      const s = c.open(ws);
      s.watch({ key: b("k") }); // created fills the buffer
      put1("k", "1"); // 2: parked
      put1("k", "2"); // 3
      put1("k", "3"); // 4
      ts.store.compact(4n);
      c.capacity = Number.POSITIVE_INFINITY;
      c.drain(); // parked rev 2 goes out; minRev 3 < 4: compacted
      await settle(ws);
      const last = c.received.at(-1)!;
      assert.deepEqual([last.canceled, last.compactRevision], [true, 4n]);
      assert.deepEqual(c.eventsOf(0n).flatMap(fmt), ["PUT k=1@2"]);
    });

    test("control responses queue behind a full consumer and no event overtakes its created", async () => {
      const c = new Consumer(0);
      const s = c.open(ws);
      for (let i = 0; i < MAX_PENDING_CONTROL - 1; i++) s.watch({ key: b(`w${i}`) });
      assert.ok(s.acceptingRequests);
      s.watch({ key: b("k"), startRevision: 1n });
      assert.equal(s.acceptingRequests, false, "the consumer should stop reading requests");
      put1("k", "1");
      put1("w0", "1");
      await turns();
      assert.equal(c.received.length, 0);
      c.capacity = Number.POSITIVE_INFINITY;
      c.drain();
      await settle(ws);
      const created = c.received.findIndex((r) => r.watchId === 15n && r.created);
      const event = c.received.findIndex((r) => r.watchId === 15n && r.events.length > 0);
      assert.ok(created >= 0 && event > created, "created before events");
      assert.deepEqual(
        c.received.slice(0, 16).map((r) => r.created),
        Array(16).fill(true),
        "created in request order",
      );
      assert.equal(c.eventsOf(0n).length, 1);
    });
  });

  describe("progress", () => {
    test("a progress request with every watcher synced answers watch_id -1 at the current revision", () => {
      const c = new Consumer();
      const s = c.open(ws);
      s.requestProgress(); // no watchers: answered too (etcd 3.4)
      s.watch({ key: b("a") });
      put1("z", "1");
      s.requestProgress();
      assert.deepEqual(
        c.received.filter((r) => r.watchId === -1n).map((r) => [r.revision, r.events.length]),
        [
          [1n, 0],
          [2n, 0],
        ],
      );
    });

    test("a progress request waits until catching-up watchers are synced, and follows their events", async () => {
      for (let i = 0; i < 5; i++) put1("a", String(i));
      const c = new Consumer();
      const s = c.open(ws);
      s.watch({ key: b("a"), startRevision: 2n });
      s.requestProgress();
      s.requestProgress(); // coalesces
      assert.equal(c.received.filter((r) => r.watchId === -1n).length, 0);
      await settle(ws);
      const progress = c.received.findIndex((r) => r.watchId === -1n);
      const events = c.received.findIndex((r) => r.events.length > 0);
      assert.ok(events >= 0 && progress > events);
      assert.equal(c.received[progress]!.revision, 6n);
      assert.equal(c.received.filter((r) => r.watchId === -1n).length, 1);
    });

    test("periodic progress goes to synced progress_notify watchers that sent no events since the last tick", async () => {
      const c = new Consumer();
      const s = c.open(ws);
      const quiet = s.watch({ key: b("q"), progressNotify: true });
      const busy = s.watch({ key: b("b"), progressNotify: true });
      const plain = s.watch({ key: b("p") });
      put1("b", "1");
      ws.progressTick();
      const progressOf = (id: bigint) =>
        c.received.filter((r) => r.watchId === id && !r.created && r.events.length === 0);
      assert.deepEqual(
        progressOf(quiet).map((r) => r.revision),
        [2n],
      );
      assert.equal(progressOf(busy).length, 0);
      assert.equal(progressOf(plain).length, 0);
      ws.progressTick();
      assert.equal(progressOf(busy).length, 1);
    });

    test("the progress timer fires at the configured interval", async () => {
      ws.close();
      ws = new WatchableStore(ts.store, { progressNotifyIntervalMs: 5, random: () => 0 });
      const c = new Consumer();
      c.open(ws).watch({ key: b("q"), progressNotify: true });
      const deadline = Date.now() + 10_000;
      while (c.received.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      assert.ok(c.received.length >= 3, "progress responses arrived");
      assert.ok(
        c.received.slice(1).every((r) => r.watchId === 0n && r.events.length === 0 && r.revision === 1n),
      );
    });
  });

  describe("scale", () => {
    test("10,000 watchers on one key across 100 streams each get every event once", async () => {
      const consumers = Array.from({ length: 100 }, () => new Consumer());
      for (const c of consumers) {
        const s = c.open(ws);
        for (let i = 0; i < 100; i++) s.watch({ key: b("hot") });
      }
      for (let i = 0; i < 10_000; i++)
        consumers[0]!.stream.watch({ key: b(`cold${i}`), rangeEnd: b(`cold${i}~`) });
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < 5; i++) put1("hot", String(i));
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      for (const c of consumers) {
        const evs = c.received.filter((r) => r.events.length > 0 && str(r.events[0]!.kv.key) === "hot");
        assert.equal(evs.length, 500);
      }
      // A key nobody watches costs a lookup, not a walk over 20,000 watchers.
      const t1 = process.hrtime.bigint();
      for (let i = 0; i < 1000; i++) put1("nobody", String(i));
      const quietMs = Number(process.hrtime.bigint() - t1) / 1e6;
      console.log(
        `5 writes to 10,000 watchers: ${ms.toFixed(1)} ms; 1,000 unwatched writes: ${quietMs.toFixed(1)} ms`,
      );
      await settle(ws);
    });
  });
});
