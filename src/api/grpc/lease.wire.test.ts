// Specifies the Lease service through the real wire: Debian's etcdctl, raw gRPC and the etcd3 npm client against
// an etcd-ts process. The same suite runs against a real etcd 3.4 when installed, so every expectation is etcd's.
// etcd-ts is skipped, with the reason, while it does not serve etcdserverpb.Lease (LeaseLeases -> UNIMPLEMENTED).
import assert from "node:assert/strict";
import { after, before, describe, type TestContext, test } from "node:test";
import { credentials, type ServiceError, status } from "@grpc/grpc-js";
import { Etcd3, EtcdLeaseInvalidError } from "etcd3";
import {
  KVClient,
  LeaseClient,
  type LeaseGrantResponse,
  type LeaseKeepAliveResponse,
  type LeaseTimeToLiveResponse,
} from "../../proto/index.js";
import { ETCD, etcdctl, hasEtcd, hasEtcdctl } from "../../testing/etcdctl.js";
import { type ServerProcess, startServer } from "../../testing/server_process.js";

/** Generous: etcd revokes expired leases every 500 ms; a loaded CI machine may be much slower. */
const EXPIRY_DEADLINE_MS = 20_000;

const targets: { name: string; binary?: string }[] = [{ name: "etcd-ts" }];
if (hasEtcd()) targets.push({ name: "real etcd 3.4", binary: ETCD });
const noCtl = hasEtcdctl() ? false : "etcdctl (Debian etcd-client) is not installed";

function settle<T>(run: (cb: (err: ServiceError | null, res: T) => void) => unknown): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    run((err, res) => (err ? reject(err) : resolve(res)));
  });
}

/** Whether the server answers etcdserverpb.Lease at all (etcd-ts before the service is wired: UNIMPLEMENTED). */
async function leaseServed(endpoint: string): Promise<boolean> {
  const c = new LeaseClient(endpoint, credentials.createInsecure());
  try {
    await settle((cb) => c.leaseLeases({}, cb));
    return true;
  } catch (err) {
    if ((err as ServiceError).code === status.UNIMPLEMENTED) return false;
    throw err;
  } finally {
    c.close();
  }
}

/** Polls until `cond` holds (an outcome, not a duration, is asserted; the deadline only bounds a hang). */
async function eventually(cond: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + EXPIRY_DEADLINE_MS;
  while (!(await cond())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const target of targets) {
  describe(`Lease over the wire against ${target.name}`, { skip: noCtl }, () => {
    let s: ServerProcess;
    let unserved: string | false = false;
    let lease: LeaseClient;
    let kv: KVClient;
    let client: Etcd3;
    const ctl = (...args: string[]) => etcdctl(s.endpoint, args);
    /** A test that is skipped, with the reason, while the server does not serve Lease. */
    const it = (name: string, fn: () => Promise<void>) =>
      test(name, async (t: TestContext) => {
        if (unserved) return t.skip(unserved);
        await fn();
      });

    before(async () => {
      s = await startServer(target.binary ? { binary: target.binary } : {});
      if (!(await leaseServed(s.endpoint))) {
        unserved = "the server does not serve etcdserverpb.Lease yet (LeaseLeases answered UNIMPLEMENTED)";
      }
      lease = new LeaseClient(s.endpoint, credentials.createInsecure());
      kv = new KVClient(s.endpoint, credentials.createInsecure());
      client = new Etcd3({ hosts: s.clientUrl });
    });
    after(async () => {
      client?.close();
      lease?.close();
      kv?.close();
      await s?.stop();
      s?.cleanup();
    });

    it("etcdctl: grant raises TTL 1 to the 2 s minimum and prints the ID in hex", async () => {
      assert.match((await ctl("lease", "grant", "1")).stdout, /^lease [0-9a-f]+ granted with TTL\(2s\)\n$/);
      const big = await ctl("lease", "grant", "9000000001");
      assert.notEqual(big.code, 0);
      assert.match(big.stderr, /etcdserver: too large lease TTL/);
    });

    it("etcdctl: put --lease, timetolive --keys, keep-alive --once, list, revoke", async () => {
      const id = /^lease ([0-9a-f]+) granted/.exec((await ctl("lease", "grant", "100")).stdout)?.[1];
      assert.ok(id);
      assert.equal((await ctl("put", `--lease=${id}`, "w/b", "2")).stdout, "OK\n");
      assert.equal((await ctl("put", `--lease=${id}`, "w/a", "1")).stdout, "OK\n");
      const ttl = (await ctl("lease", "timetolive", id, "--keys")).stdout;
      // etcd lists the keys in Go map order (random); etcd-ts in byte order.
      const m =
        /^lease (\w+) granted with TTL\(100s\), remaining\((\d+)s\), attached keys\(\[(.*)\]\)\n$/.exec(ttl);
      assert.ok(m, ttl);
      assert.ok(Number(m[2]) >= 90 && Number(m[2]) <= 100, ttl);
      assert.deepEqual(m[3]?.split(" ").sort(), ["w/a", "w/b"]);
      const j = JSON.parse((await ctl("lease", "timetolive", id, "--keys", "-w", "json")).stdout);
      assert.equal(j["granted-ttl"], 100);
      assert.deepEqual(j.keys.sort(), ["dy9h", "dy9i"]);
      assert.equal(
        (await ctl("lease", "keep-alive", "--once", id)).stdout,
        `lease ${id} keepalived with TTL(100)\n`,
      );
      assert.match((await ctl("lease", "list")).stdout, new RegExp(`^found \\d+ leases\\n(.*\\n)*${id}\\n`));

      const before = JSON.parse((await ctl("get", "w/", "--prefix", "-w", "json")).stdout);
      assert.equal(before.count, 2);
      assert.equal((await ctl("lease", "revoke", id)).stdout, `lease ${id} revoked\n`);
      const afterRevoke = JSON.parse((await ctl("get", "w/", "--prefix", "-w", "json")).stdout);
      assert.equal(afterRevoke.count ?? 0, 0);
      assert.equal(
        afterRevoke.header.revision,
        before.header.revision + 1,
        "both keys deleted at one revision",
      );

      const again = await ctl("lease", "revoke", id);
      assert.notEqual(again.code, 0);
      assert.match(again.stderr, /etcdserver: requested lease not found/);
      assert.equal(
        (await ctl("lease", "timetolive", id)).stdout,
        `lease ${id.padStart(16, "0")} already expired\n`,
      );
      const ka = await ctl("lease", "keep-alive", "--once", id);
      assert.notEqual(ka.code, 0);
      assert.match(ka.stderr, /etcdserver: requested lease not found/);
    });

    it("etcdctl: put with an unknown lease is refused", async () => {
      const r = await ctl("put", "--lease=1234", "x", "1");
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /etcdserver: requested lease not found/);
    });

    it("gRPC: duplicate ID, unknown lease in TimeToLive (-1) and KeepAlive (TTL 0)", async () => {
      const g = await settle<LeaseGrantResponse>((cb) => lease.leaseGrant({ ID: 77n, TTL: 10n }, cb));
      assert.deepEqual([g.ID, g.TTL], [77n, 10n]);
      await assert.rejects(
        settle((cb) => lease.leaseGrant({ ID: 77n, TTL: 10n }, cb)),
        { code: status.FAILED_PRECONDITION, details: "etcdserver: lease already exists" },
      );
      const t = await settle<LeaseTimeToLiveResponse>((cb) =>
        lease.leaseTimeToLive({ ID: 0x1234n, keys: true }, cb),
      );
      assert.deepEqual([t.ID, t.TTL, t.grantedTTL, t.keys], [0x1234n, -1n, 0n, []]);
      const stream = lease.leaseKeepAlive();
      const replies: LeaseKeepAliveResponse[] = [];
      const ended = new Promise<void>((resolve, reject) => {
        stream.on("data", (r: LeaseKeepAliveResponse) => replies.push(r));
        stream.on("end", resolve);
        stream.on("error", reject);
      });
      for (const ID of [0x1234n, 77n, 0n]) stream.write({ ID });
      stream.end();
      await ended;
      assert.deepEqual(
        replies.map((r) => [r.ID, r.TTL]),
        [
          [0x1234n, 0n],
          [77n, 10n],
          [0n, 0n],
        ],
      );
      await assert.rejects(
        settle((cb) => lease.leaseRevoke({ ID: 0n }, cb)),
        {
          code: status.NOT_FOUND,
          details: "etcdserver: requested lease not found",
        },
      );
    });

    it("etcd3: keepalives hold a lease past its TTL; revoke deletes its key", async () => {
      const l = client.lease(2);
      const id = await l.grant();
      await l.put("e3/live").value("v");
      let succeeded = 0;
      await new Promise<void>((resolve, reject) => {
        l.on("keepaliveSucceeded", () => {
          // Clients renew every TTL/3: four renewals span more than the 2 s TTL.
          if (++succeeded === 4) resolve();
        });
        l.on("lost", reject);
      });
      assert.equal(await client.get("e3/live").string(), "v");
      const ttl = await settle<LeaseTimeToLiveResponse>((cb) =>
        lease.leaseTimeToLive({ ID: BigInt(id), keys: false }, cb),
      );
      assert.ok(ttl.TTL > 0n && ttl.grantedTTL === 2n);
      await l.revoke();
      assert.equal(await client.get("e3/live").string(), null);
      const dead = client.lease(2, { autoKeepAlive: false });
      await dead.grant();
      await dead.revoke();
      await assert.rejects(dead.keepaliveOnce(), EtcdLeaseInvalidError);
    });

    it("etcd3: an expired lease deletes all its keys at one revision", async () => {
      const l = client.lease(2, { autoKeepAlive: false });
      await l.grant();
      await l.put("e3/exp/1").value("1");
      await l.put("e3/exp/2").value("2");
      const rev = BigInt((await client.getAll().prefix("e3/exp/").exec()).header.revision);
      await eventually(
        async () => (await client.getAll().prefix("e3/exp/").count()) === 0,
        "the leased keys are gone",
      );
      const after = await client.getAll().prefix("e3/exp/").exec();
      assert.equal(BigInt(after.header.revision), rev + 1n);
      await assert.rejects(l.keepaliveOnce(), EtcdLeaseInvalidError);
    });
  });

  describe(`Lease persistence across restarts against ${target.name}`, { skip: noCtl }, () => {
    itRestart("a lease and its keys survive kill -9", async (s) => {
      const ctl = (...args: string[]) => etcdctl(s.endpoint, args);
      const id = /^lease ([0-9a-f]+) granted/.exec((await ctl("lease", "grant", "100")).stdout)?.[1];
      assert.ok(id);
      assert.equal((await ctl("put", `--lease=${id}`, "r/k", "v")).stdout, "OK\n");
      await s.kill();
      const s2 = await startServer({
        ...(target.binary ? { binary: target.binary } : {}),
        dataDir: s.dataDir,
      });
      try {
        const out = (await etcdctl(s2.endpoint, ["lease", "timetolive", id, "--keys"])).stdout;
        // A restarted leader counts the full TTL again plus an election timeout (etcd 3.4 without checkpoints).
        const m =
          /^lease (\w+) granted with TTL\(100s\), remaining\((\d+)s\), attached keys\(\[r\/k\]\)\n$/.exec(
            out,
          );
        assert.ok(m && m[1] === id && Number(m[2]) >= 90 && Number(m[2]) <= 101, out);
        assert.equal((await etcdctl(s2.endpoint, ["lease", "revoke", id])).code, 0);
        assert.equal((await etcdctl(s2.endpoint, ["get", "r/k", "--print-value-only"])).stdout, "");
      } finally {
        await s2.stop();
      }
    });

    /** Starts a server for one test (skipping while Lease is not served) and always cleans up. */
    function itRestart(name: string, fn: (s: ServerProcess) => Promise<void>): void {
      test(name, async (t: TestContext) => {
        const s = await startServer(target.binary ? { binary: target.binary } : {});
        try {
          if (!(await leaseServed(s.endpoint)))
            return t.skip("the server does not serve etcdserverpb.Lease yet");
          await fn(s);
        } finally {
          await s.kill();
          s.cleanup();
        }
      });
    }
  });
}
