// Specifies the server-side Mutex (v3lock) in-process, on a real single member: key format, FIFO queueing by
// create revision without a herd, release on unlock and on lease revoke, cleanup of canceled waiters, session
// expiry while waiting, and the orphan lease for lease 0.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type RecipeBackend, RecipeError } from "./concurrency.js";
import { isLeaseNotFound } from "./errors.js";
import { ERR_SESSION_EXPIRED, lock, unlock } from "./mutex.js";
import { b, peek, startMember, type TestMember } from "./recipe_test_util.js";

const never = new AbortController().signal;
const hex = (id: bigint): string => id.toString(16);

/** The backend, counting the reads made through it (a waiter that wakes up reads the queue again). */
function counting(backend: RecipeBackend): { backend: RecipeBackend; reads: () => number } {
  let n = 0;
  return {
    backend: {
      ...backend,
      range: (r) => {
        n++;
        return backend.range(r);
      },
    },
    reads: () => n,
  };
}

describe("server-side Mutex (v3lock)", { timeout: 60_000 }, () => {
  let m: TestMember;
  before(async () => {
    m = await startMember();
  });
  after(async () => {
    await m?.stop();
  });

  test("an uncontended lock is `<name>/<lease hex>`, created at the header's revision; relocking reuses it", async () => {
    const l = await m.grant();
    const first = await lock(m.backend, b("solo"), l, never);
    assert.equal(first.key.toString(), `solo/${hex(l)}`);
    assert.deepEqual(await m.keys("solo/"), [`solo/${hex(l)}=`]);
    const again = await lock(m.backend, b("solo"), l, never);
    assert.equal(again.key.toString(), first.key.toString());
    assert.equal(again.header.revision, first.header.revision, "the relock wrote nothing");
    await unlock(m.backend, first.key);
    assert.deepEqual(await m.keys("solo/"), []);
  });

  test("waiters acquire in create-revision order, each woken only by its predecessor's release", async () => {
    const [la, lb, lc] = [await m.grant(), await m.grant(), await m.grant()];
    const a = await lock(m.backend, b("fifo"), la, never);
    const pb = lock(m.backend, b("fifo"), lb, never);
    await m.barrier();
    const c = counting(m.backend);
    const pc = lock(c.backend, b("fifo"), lc, never);
    await m.barrier();
    assert.equal(await peek(pb), "pending");
    assert.equal(await peek(pc), "pending");
    const readsWhileQueued = c.reads();

    await unlock(m.backend, a.key);
    const got = await pb;
    assert.equal(got.key.toString(), `fifo/${hex(lb)}`);
    await m.barrier();
    assert.equal(await peek(pc), "pending", "the third waiter still waits for the second");
    assert.equal(c.reads(), readsWhileQueued, "the first release did not wake the third waiter (no herd)");

    await unlock(m.backend, got.key);
    assert.equal((await pc).key.toString(), `fifo/${hex(lc)}`);
    await unlock(m.backend, b(`fifo/${hex(lc)}`));
  });

  test("revoking the holder's lease releases the lock to the next waiter", async () => {
    const [la, lb] = [await m.grant(), await m.grant()];
    await lock(m.backend, b("revoke"), la, never);
    const pb = lock(m.backend, b("revoke"), lb, never);
    await m.barrier();
    assert.equal(await peek(pb), "pending");
    await m.revoke(la);
    assert.equal((await pb).key.toString(), `revoke/${hex(lb)}`);
    await m.revoke(lb);
  });

  test("a canceled waiter deletes its key and fails with context canceled; the queue moves on", async () => {
    const [la, lb, lc] = [await m.grant(), await m.grant(), await m.grant()];
    const a = await lock(m.backend, b("cancel"), la, never);
    const ac = new AbortController();
    const pb = lock(m.backend, b("cancel"), lb, ac.signal);
    await m.barrier();
    const pc = lock(m.backend, b("cancel"), lc, never);
    await m.barrier();
    assert.equal((await m.keys("cancel/")).length, 3);
    ac.abort();
    await assert.rejects(pb, (err) => err instanceof RecipeError && err.message === "context canceled");
    assert.deepEqual(await m.keys("cancel/"), [`cancel/${hex(la)}=`, `cancel/${hex(lc)}=`]);
    await unlock(m.backend, a.key);
    assert.equal((await pc).key.toString(), `cancel/${hex(lc)}`);
    await m.revoke(lc);
  });

  test("a lock taken for a call already canceled is given back; a lock the session already held is kept", async () => {
    const l = await m.grant();
    const gone = new AbortController();
    gone.abort();
    await assert.rejects(lock(m.backend, b("late"), l, gone.signal), { message: "context canceled" });
    assert.deepEqual(await m.keys("late/"), []);
    await lock(m.backend, b("late"), l, never);
    const again = await lock(m.backend, b("late"), l, gone.signal);
    assert.equal(again.key.toString(), `late/${hex(l)}`);
    assert.deepEqual(await m.keys("late/"), [`late/${hex(l)}=`]);
    await m.revoke(l);
  });

  test("an abort reason of context deadline exceeded is the error", async () => {
    const [la, lb] = [await m.grant(), await m.grant()];
    await lock(m.backend, b("deadline"), la, never);
    const ac = new AbortController();
    const pb = lock(m.backend, b("deadline"), lb, ac.signal);
    await m.barrier();
    ac.abort(new RecipeError("context deadline exceeded"));
    await assert.rejects(pb, { message: "context deadline exceeded" });
    assert.deepEqual(await m.keys("deadline/"), [`deadline/${hex(la)}=`]);
    await m.revoke(la);
  });

  test("a waiter whose lease ends while waiting fails with session expired once its turn comes", async () => {
    const [la, lb, lc] = [await m.grant(), await m.grant(), await m.grant()];
    const a = await lock(m.backend, b("expire"), la, never);
    const pb = lock(m.backend, b("expire"), lb, never);
    await m.barrier();
    const pc = lock(m.backend, b("expire"), lc, never);
    await m.barrier();
    await m.revoke(lb);
    await m.barrier();
    assert.equal(await peek(pb), "pending", "it still waits for its predecessor, as etcd");
    await unlock(m.backend, a.key);
    await assert.rejects(pb, (err) => err instanceof RecipeError && err.message === ERR_SESSION_EXPIRED);
    assert.equal((await pc).key.toString(), `expire/${hex(lc)}`);
    await m.revoke(lc);
  });

  test("lease 0 gets a fresh 60 s lease nobody keeps alive; an unknown lease is refused", async () => {
    const got = await lock(m.backend, b("orphan"), 0n, never);
    const id = BigInt(`0x${got.key.toString().slice("orphan/".length)}`);
    const ttl = await m.server.lease.leaseTimeToLive({ ID: id, keys: true });
    assert.equal(ttl.grantedTTL, 60n);
    assert.deepEqual(
      ttl.keys.map((k) => k.toString()),
      [got.key.toString()],
    );
    await m.revoke(id);
    await assert.rejects(lock(m.backend, b("orphan"), 0x7777n, never), (err) => isLeaseNotFound(err));
    assert.deepEqual(await m.keys("orphan/"), []);
  });
});
