// Specifies the Mutex against a real server: mutual exclusion checked by owner-guarded txns, FIFO fairness,
// release on session close and lease expiry, tryLock, and abort while waiting.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Client } from "../client.js";
import { Op } from "../ops.js";
import { TestServer, within } from "../test_util.js";
import { Cmp } from "../txn.js";
import { LockedError, Mutex, Session, SessionExpiredError } from "./index.js";
import { waitKeyCount } from "./test_util.js";

describe("concurrency mutex", () => {
  let server: TestServer;
  let client: Client;
  const sessions: Session[] = [];
  const session = async (ttl = 30): Promise<Session> => {
    const s = await Session.create(client, { ttl });
    sessions.push(s);
    return s;
  };
  before(async () => {
    server = await TestServer.start();
    client = await Client.connect({ endpoints: [server.endpoint] });
  });
  after(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await client?.close();
    await server?.dispose();
  });

  test("key is prefix/lease-hex; owner-guarded writes succeed only for the holder", {
    timeout: 60_000,
  }, async () => {
    const holders = await Promise.all([1, 2, 3, 4, 5].map(() => session()));
    let inside = 0;
    const worker = async (s: Session) => {
      const m = new Mutex(s, "mx");
      for (let i = 0; i < 4; i++) {
        await m.lock();
        assert.equal(m.key, `mx/${s.lease.toString(16)}`);
        inside++;
        assert.equal(inside, 1, "two holders inside the critical section");
        const cur = Number((await client.kv.get("mx-counter")).kvs[0]?.value.toString() ?? "0");
        const r = await client.kv
          .txn()
          .If(m.isOwner())
          .Then(Op.put("mx-counter", String(cur + 1)))
          .commit();
        assert.ok(r.succeeded, "owner compare failed for the holder");
        inside--;
        await m.unlock();
        const stale = await client.kv
          .txn()
          .If(Cmp.createRevision(`mx/${s.lease.toString(16)}`, "=", 0n))
          .commit();
        assert.ok(stale.succeeded, "key remains after unlock");
      }
    };
    await within(Promise.all(holders.map(worker)), "all holders", 50_000);
    assert.equal((await client.kv.get("mx-counter")).kvs[0]?.value.toString(), "20");
  });

  test("waiters acquire in the order they queued (create revision)", async () => {
    const [a, b, c, d] = await Promise.all([1, 2, 3, 4].map(() => session()));
    const first = new Mutex(a!, "fair");
    await first.lock();
    const order: string[] = [];
    const waits: Promise<void>[] = [];
    for (const [name, s] of [
      ["b", b!],
      ["c", c!],
      ["d", d!],
    ] as const) {
      const m = new Mutex(s, "fair");
      waits.push(
        m.lock().then(async () => {
          order.push(name);
          await m.unlock();
        }),
      );
      await waitKeyCount(client, "fair", waits.length + 1);
    }
    await first.unlock();
    await within(Promise.all(waits), "waiters");
    assert.deepEqual(order, ["b", "c", "d"]);
  });

  test("closing the holder's session releases the lock", async () => {
    const [a, b] = [await session(), await session()];
    await new Mutex(a, "close").lock();
    const waiting = new Mutex(b, "close").lock();
    await waitKeyCount(client, "close", 2);
    await a.close();
    await within(waiting, "lock after holder's session closed");
  });

  test("an orphaned session's lock is released when its lease expires", async () => {
    const a = await session(2);
    const b = await session();
    await new Mutex(a, "expire").lock();
    const waiting = new Mutex(b, "expire").lock();
    await waitKeyCount(client, "expire", 2);
    a.orphan();
    assert.equal(await within(a.done, "session done"), undefined);
    await within(waiting, "lock after holder's lease expired");
  });

  test("tryLock fails with LockedError and leaves no key; succeeds once free", async () => {
    const [a, b] = [await session(), await session()];
    const ma = new Mutex(a, "try");
    await ma.tryLock();
    const mb = new Mutex(b, "try");
    await assert.rejects(mb.tryLock(), LockedError);
    await waitKeyCount(client, "try", 1);
    await ma.unlock();
    await mb.tryLock();
    assert.equal(mb.key, `try/${b.lease.toString(16)}`);
    assert.ok(mb.header && mb.header.revision > 0n);
    await mb.unlock();
  });

  test("aborting a waiting lock rejects with the reason and deletes its key", async () => {
    const [a, b] = [await session(), await session()];
    const ma = new Mutex(a, "abort");
    await ma.lock();
    const ac = new AbortController();
    const waiting = new Mutex(b, "abort").lock({ signal: ac.signal });
    await waitKeyCount(client, "abort", 2);
    ac.abort(new Error("gave up"));
    await assert.rejects(within(waiting, "aborted lock"), /gave up/);
    await waitKeyCount(client, "abort", 1);
    await ma.unlock();
  });

  test("a waiter whose lease is revoked meanwhile fails with SessionExpiredError", async () => {
    const [a, b] = [await session(), await session()];
    const ma = new Mutex(a, "expired");
    await ma.lock();
    const waiting = new Mutex(b, "expired").lock();
    await waitKeyCount(client, "expired", 2);
    await client.lease.revoke(b.lease);
    await ma.unlock();
    await assert.rejects(within(waiting, "expired waiter"), SessionExpiredError);
  });
});
