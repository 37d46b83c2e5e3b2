// Specifies the v3lock service over the wire (raw gRPC), its interplay with Debian's etcdctl lock (a client-side
// Mutex on the same keys) and the etcd3 npm client's lock helper, against an etcd-ts process. The same suite
// runs against a real etcd 3.4 when installed, so every expectation is etcd's (one deliberate difference noted).
import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { credentials } from "@grpc/grpc-js";
import { Etcd3, EtcdLockFailedError } from "etcd3";
import { KVClient, LeaseClient, LockClient } from "../../proto/index.js";
import { killAllCtl, startCtl } from "../../testing/ctl_process.js";
import { ETCD, etcdctl, hasEtcd, hasEtcdctl } from "../../testing/etcdctl.js";
import { eventually, failure, grant, keys, ok, rpc, stillPending } from "../../testing/recipe_wire.js";
import { type ServerProcess, startServer } from "../../testing/server_process.js";

const targets: { name: string; binary?: string }[] = [{ name: "etcd-ts" }];
if (hasEtcd()) targets.push({ name: "real etcd 3.4", binary: ETCD });
const noCtl = hasEtcdctl() ? false : "etcdctl (Debian etcd-client) is not installed";
const b = (s: string): Buffer => Buffer.from(s);
const hex = (id: bigint): string => id.toString(16);

for (const target of targets) {
  describe(`Lock over the wire against ${target.name}`, { skip: noCtl, timeout: 120_000 }, () => {
    let s: ServerProcess;
    let lock: LockClient;
    let lease: LeaseClient;
    let kv: KVClient;
    const L = () => lock.lock.bind(lock);
    const U = () => lock.unlock.bind(lock);
    const roundTrip = () => keys(kv, "\u0000");

    before(async () => {
      s = await startServer(target.binary ? { binary: target.binary } : {});
      lock = new LockClient(s.endpoint, credentials.createInsecure());
      lease = new LeaseClient(s.endpoint, credentials.createInsecure());
      kv = new KVClient(s.endpoint, credentials.createInsecure());
    });
    afterEach(killAllCtl);
    after(async () => {
      for (const c of [lock, lease, kv]) c?.close();
      await s?.stop();
      s?.cleanup();
    });

    test("Lock answers the key `<name>/<lease hex>` (held under the lease); Unlock deletes it", async () => {
      const id = await grant(lease);
      const res = await ok(L(), { name: b("plain"), lease: id });
      assert.equal(res.key.toString(), `plain/${hex(id)}`);
      const again = await ok(L(), { name: b("plain"), lease: id });
      assert.equal(
        again.key.toString(),
        res.key.toString(),
        "locking again with the same lease is idempotent",
      );
      const ttl = await ok(lease.leaseTimeToLive.bind(lease), { ID: id, keys: true });
      assert.deepEqual(
        ttl.keys.map((k) => k.toString()),
        [res.key.toString()],
      );
      const un = await ok(U(), { key: res.key });
      assert.ok((un.header?.revision ?? 0n) > (res.header?.revision ?? 0n));
      assert.deepEqual(await keys(kv, "plain/"), []);
      const none = await ok(U(), { key: b("no-such-lock") });
      assert.equal(none.header?.revision, un.header?.revision, "unlocking a missing key changes nothing");
    });

    test("errors are Unknown with clientv3's message", async () => {
      assert.deepEqual(await failure(L(), { name: b("e"), lease: 0x1234n }), {
        code: 2,
        details: "etcdserver: requested lease not found",
      });
      assert.deepEqual(await failure(U(), { key: b("") }), {
        code: 2,
        details: "etcdserver: key is not provided",
      });
    });

    test("lease 0: the server grants a 60 s lease that nobody keeps alive", async () => {
      const res = await ok(L(), { name: b("orphan"), lease: 0n });
      const id = BigInt(`0x${res.key.toString().slice("orphan/".length)}`);
      const ttl = await ok(lease.leaseTimeToLive.bind(lease), { ID: id, keys: false });
      assert.equal(ttl.grantedTTL, 60n);
      await ok(lease.leaseRevoke.bind(lease), { ID: id });
    });

    test("a second Lock waits until the first is unlocked; a revoked holder's lease releases it", async () => {
      const [la, lb, lc] = [await grant(lease), await grant(lease), await grant(lease)];
      const a = await ok(L(), { name: b("q"), lease: la });
      const pb = rpc(L(), { name: b("q"), lease: lb }).outcome;
      await eventually(async () => (await keys(kv, "q/")).length === 2, "the second waiter is queued");
      const pc = rpc(L(), { name: b("q"), lease: lc }).outcome;
      await eventually(async () => (await keys(kv, "q/")).length === 3, "the third waiter is queued");
      assert.ok(await stillPending(pb, roundTrip));
      await ok(U(), { key: a.key });
      const gotB = await pb;
      assert.ok(gotB.ok && gotB.res.key.toString() === `q/${hex(lb)}`);
      assert.ok(await stillPending(pc, roundTrip), "the third still waits for the second");
      await ok(lease.leaseRevoke.bind(lease), { ID: lb });
      const gotC = await pc;
      assert.ok(gotC.ok && gotC.res.key.toString() === `q/${hex(lc)}`);
      await ok(U(), { key: gotC.res.key });
    });

    test("the lock passes on when the holder's lease expires", async () => {
      const [la, lb] = [await grant(lease, 3n), await grant(lease)];
      await ok(L(), { name: b("ttl"), lease: la });
      const got = await rpc(L(), { name: b("ttl"), lease: lb }).outcome;
      assert.ok(got.ok && got.res.key.toString() === `ttl/${hex(lb)}`);
      assert.deepEqual(await keys(kv, "ttl/"), [`ttl/${hex(lb)}=`]);
      await ok(U(), { key: got.res.key });
    });

    test("a client that cancels a waiting Lock leaves no key behind; the queue moves on", async () => {
      const [la, lb, lc] = [await grant(lease), await grant(lease), await grant(lease)];
      const a = await ok(L(), { name: b("c"), lease: la });
      const waiting = rpc(L(), { name: b("c"), lease: lb });
      await eventually(async () => (await keys(kv, "c/")).length === 2, "the waiter is queued");
      const pc = rpc(L(), { name: b("c"), lease: lc }).outcome;
      await eventually(async () => (await keys(kv, "c/")).length === 3, "the third waiter is queued");
      waiting.call.cancel();
      assert.equal(((await waiting.outcome) as { code: number }).code, 1);
      await eventually(
        async () => !(await keys(kv, "c/")).includes(`c/${hex(lb)}=`),
        "the canceled waiter's key is deleted",
      );
      await ok(U(), { key: a.key });
      const got = await pc;
      assert.ok(got.ok && got.res.key.toString() === `c/${hex(lc)}`);
      await ok(U(), { key: got.res.key });
    });

    test("a Lock whose deadline passes while waiting fails and leaves no key behind", async () => {
      const [la, lb] = [await grant(lease), await grant(lease)];
      const a = await ok(L(), { name: b("d"), lease: la });
      const late = await rpc(L(), { name: b("d"), lease: lb }, { deadline: Date.now() + 500 }).outcome;
      assert.ok(!late.ok);
      // The client's own deadline usually wins; otherwise the server's context error arrives first.
      assert.ok(
        late.code === 4 || (late.code === 2 && late.details === "context deadline exceeded"),
        late.details,
      );
      await eventually(async () => (await keys(kv, "d/")).length === 1, "the late waiter's key is deleted");
      await ok(U(), { key: a.key });
    });

    test("a waiter whose lease ends while it waits", async () => {
      const [la, lb] = [await grant(lease), await grant(lease)];
      const a = await ok(L(), { name: b("x"), lease: la });
      const pb = rpc(L(), { name: b("x"), lease: lb }).outcome;
      await eventually(async () => (await keys(kv, "x/")).length === 2, "the waiter is queued");
      await ok(lease.leaseRevoke.bind(lease), { ID: lb });
      await ok(U(), { key: a.key });
      const got = await pb;
      if (target.binary) {
        // etcd 3.4.23 reports the lock as acquired although its key is gone (fixed in 3.4.24+ and 3.5).
        assert.ok(got.ok && got.res.key.toString() === `x/${hex(lb)}`);
      } else {
        assert.deepEqual(got, { ok: false, code: 2, details: "mutex: session is expired" });
      }
      assert.deepEqual(await keys(kv, "x/"), []);
    });

    test("etcdctl lock: prints the key and holds it; a second etcdctl lock waits for the first to exit", async () => {
      const first = startCtl(s.endpoint, ["lock", "ctl"]);
      // etcdctl prints the lock's key and its (empty) value.
      const out = await first.waitFor(/\n\n/);
      assert.match(out, /^ctl\/[0-9a-f]+\n\n$/);
      const second = startCtl(s.endpoint, ["lock", "ctl"]);
      await eventually(async () => (await keys(kv, "ctl/")).length === 2, "the second etcdctl is queued");
      assert.equal(second.stdout(), "");
      await first.stop();
      const out2 = await second.waitFor(/\n\n/);
      assert.match(out2, /^ctl\/[0-9a-f]+\n\n$/);
      assert.notEqual(out2, out);
      await second.stop();
      await eventually(async () => (await keys(kv, "ctl/")).length === 0, "etcdctl unlocked on SIGTERM");
    });

    test("etcdctl lock NAME -- CMD runs the command while holding the lock", async () => {
      const r = await etcdctl(s.endpoint, ["lock", "cmd", "--", "sh", "-c", "echo held $ETCD_LOCK_KEY"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^held cmd\/[0-9a-f]+\n$/);
    });

    test("a gRPC Lock and etcdctl lock share one queue", async () => {
      const ctl = startCtl(s.endpoint, ["lock", "mix"]);
      await ctl.waitFor(/\n\n/);
      const id = await grant(lease);
      const mine = rpc(L(), { name: b("mix"), lease: id }).outcome;
      await eventually(async () => (await keys(kv, "mix/")).length === 2, "the gRPC Lock is queued");
      assert.ok(await stillPending(mine, roundTrip));
      await ctl.stop();
      const got = await mine;
      assert.ok(got.ok && got.res.key.toString() === `mix/${hex(id)}`);

      const r = etcdctl(s.endpoint, ["lock", "mix", "--", "echo", "got it"]);
      await eventually(async () => (await keys(kv, "mix/")).length === 2, "etcdctl is queued");
      assert.ok(await stillPending(r, roundTrip));
      await ok(U(), { key: got.res.key });
      assert.equal((await r).stdout, "got it\n");
    });

    test("the etcd3 client's lock helper", async () => {
      const client = new Etcd3({ hosts: s.clientUrl });
      try {
        const value = await client.lock("etcd3-res").do(async () => {
          assert.equal(await client.get("etcd3-res").string(), "");
          await assert.rejects(client.lock("etcd3-res").acquire(), EtcdLockFailedError);
          return 42;
        });
        assert.equal(value, 42);
        assert.equal(await client.get("etcd3-res").string(), null);
      } finally {
        client.close();
      }
    });
  });
}
