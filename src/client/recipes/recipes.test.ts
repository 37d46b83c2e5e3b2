// Specifies the recipes against a real server: queue FIFO across concurrent producers and consumers, blocking
// dequeue, priority order, barriers, and RWMutex (readers share, a writer excludes).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Client } from "../client.js";
import { TestServer, within } from "../test_util.js";
import { Barrier, DoubleBarrier } from "./barrier.js";
import { PriorityQueue } from "./priority_queue.js";
import { Queue } from "./queue.js";
import { RWMutex } from "./rwmutex.js";

/** Resolves on the next turn: lets pending I/O that should NOT complete have its chance first. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 200));

describe("recipes", { timeout: 90_000 }, () => {
  let server: TestServer;
  let client: Client;
  before(async () => {
    server = await TestServer.start();
    client = await Client.connect({ endpoints: [server.endpoint] });
  });
  after(async () => {
    await client?.close();
    await server?.dispose();
  });

  test("queue: FIFO per producer, every item to exactly one of several consumers", async () => {
    const q = new Queue(client, "q1");
    const producers = [0, 1, 2].map(async (p) => {
      for (let i = 0; i < 10; i++) await q.enqueue(`p${p}-${String(i).padStart(2, "0")}`);
    });
    const got: string[][] = [[], [], []];
    const consumers = got.map(async (out) => {
      while (got.flat().length < 30) {
        const v = await q.tryDequeue();
        if (v !== undefined) out.push(v);
        else await new Promise((r) => setImmediate(r));
      }
    });
    await within(Promise.all([...producers, ...consumers]), "30 items");
    const all = got.flat();
    assert.equal(all.length, 30);
    assert.equal(new Set(all).size, 30);
    // Each consumer sees each producer's items in order.
    for (const out of got)
      for (const p of [0, 1, 2]) {
        const mine = out.filter((v) => v.startsWith(`p${p}-`));
        assert.deepEqual(mine, [...mine].sort());
      }
    assert.equal(await q.tryDequeue(), undefined);
  });

  test("queue: strict FIFO for one producer; dequeue blocks until an item arrives", async () => {
    const q = new Queue(client, "q2");
    for (const v of ["a", "b", "c"]) await q.enqueue(v);
    assert.deepEqual([await q.dequeue(), await q.dequeue(), await q.dequeue()], ["a", "b", "c"]);
    const waiting = q.dequeue();
    let done = false;
    void waiting.then(() => {
      done = true;
    });
    await settle();
    assert.equal(done, false);
    await q.enqueue("late");
    assert.equal(await within(waiting, "blocking dequeue"), "late");
    const ac = new AbortController();
    const aborted = q.dequeue({ signal: ac.signal });
    ac.abort();
    await assert.rejects(within(aborted, "abort"));
  });

  test("priority queue: lowest priority first, FIFO within a priority", async () => {
    const q = new PriorityQueue(client, "pq");
    await q.enqueue("low-1", 10);
    await q.enqueue("high-1", 1);
    await q.enqueue("low-2", 10);
    await q.enqueue("high-2", 1);
    await q.enqueue("top", 0);
    const out: string[] = [];
    for (let i = 0; i < 5; i++) out.push(await q.dequeue());
    assert.deepEqual(out, ["top", "high-1", "high-2", "low-1", "low-2"]);
    await assert.rejects(q.enqueue("x", 70_000), RangeError);
  });

  test("barrier: hold blocks waiters until release", async () => {
    const b = new Barrier(client, "bar1");
    await within(b.wait(), "free barrier");
    assert.equal(await b.hold(), true);
    assert.equal(await b.hold(), false);
    let passed = false;
    const w = b.wait().then(() => {
      passed = true;
    });
    await settle();
    assert.equal(passed, false);
    await b.release();
    await within(w, "waiter released");
  });

  test("double barrier: nobody enters before all 3 arrive, nobody leaves before all 3 leave", async () => {
    const parts = [0, 1, 2].map(() => new DoubleBarrier(client, "dbar", 3));
    const log: string[] = [];
    const entered = parts.slice(0, 2).map((p, i) => p.enter().then(() => log.push(`in${i}`)));
    await settle();
    assert.equal(log.length, 0);
    await within(Promise.all([...entered, parts[2]!.enter()]), "all entered");
    const left = parts.slice(0, 2).map((p, i) => p.leave().then(() => log.push(`out${i}`)));
    await settle();
    assert.deepEqual(
      log.filter((l) => l.startsWith("out")),
      [],
    );
    await within(Promise.all([...left, parts[2]!.leave()]), "all left");
    assert.equal((await client.kv.get("dbar", { prefix: true })).count, 0n);
  });

  test("rwmutex: readers share; a writer waits for them and excludes later readers", async () => {
    const [r1, r2, w, r3] = [0, 1, 2, 3].map(() => new RWMutex(client, "rw"));
    await within(Promise.all([r1!.rlock(), r2!.rlock()]), "two readers share");
    let writing = false;
    const wl = w!.wlock().then(() => {
      writing = true;
    });
    await settle();
    assert.equal(writing, false);
    let reading3 = false;
    const rl = r3!.rlock().then(() => {
      reading3 = true;
    });
    await r1!.unlock();
    await settle();
    assert.equal(writing, false);
    await r2!.unlock();
    await within(wl, "writer after readers");
    await settle();
    assert.equal(reading3, false, "a reader behind a writer waits");
    await w!.unlock();
    await within(rl, "reader after writer");
    await r3!.unlock();
    assert.equal((await client.kv.get("rw/", { prefix: true })).count, 0n);
  });
});
