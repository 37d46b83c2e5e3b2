// Specifies what survives kill -9 of a member with active watchers and leases: watches resume from their last
// revision with nothing lost or repeated, and lease TTLs continue rather than resetting to full.
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { credentials } from "@grpc/grpc-js";
import { KVClient, LeaseClient, WatchClient } from "../../proto/index.js";
import { LEASE_CHECKPOINT_INTERVAL_MS } from "../../server/server.js";
import { startServer } from "../../testing/server_process.js";
import { RawWatch, until } from "./watch_test_util.js";

type Cb<T> = (err: Error | null, res: T) => void;
const call = <T>(fn: (cb: Cb<T>) => void): Promise<T> =>
  new Promise((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res))));

const put = (kv: KVClient, key: string, value: string, lease = 0n) =>
  call<{ header?: { revision: bigint } }>((cb) =>
    kv.put(
      {
        key: Buffer.from(key),
        value: Buffer.from(value),
        lease,
        prevKv: false,
        ignoreValue: false,
        ignoreLease: false,
      },
      cb,
    ),
  );

/** Every PUT event key a stream delivered, in order, with its revision. */
const events = (w: RawWatch): Array<[string, bigint]> =>
  w.responses.flatMap((r) =>
    r.events.map((e) => [e.kv!.key.toString(), e.kv!.modRevision] as [string, bigint]),
  );

test("kill -9 with active watchers and leases: watches resume exactly, lease TTLs continue", async () => {
  const s = await startServer();
  let s2: Awaited<ReturnType<typeof startServer>> | undefined;
  const clients: Array<{ close(): void }> = [];
  try {
    const kv = new KVClient(s.endpoint, credentials.createInsecure());
    const lease = new LeaseClient(s.endpoint, credentials.createInsecure());
    const watch = new WatchClient(s.endpoint, credentials.createInsecure());
    clients.push(kv, lease, watch);
    const granted = await call<{ ID: bigint; TTL: bigint }>((cb) =>
      lease.leaseGrant({ TTL: 30n, ID: 0n }, cb),
    );
    await put(kv, "svc/instance-1", "10.0.0.1", granted.ID);

    const w = new RawWatch(watch);
    w.create({ key: Buffer.from("w/"), rangeEnd: Buffer.from("w0") });
    await w.waitFor(1, "created");
    for (let i = 1; i <= 5; i++) await put(kv, `w/${i}`, `v${i}`);
    await until(() => events(w).length === 5, "5 events before the kill");
    const lastRev = events(w)[4]![1];

    // Let the leader checkpoint the lease's remaining TTL once, then kill without warning.
    await sleep(LEASE_CHECKPOINT_INTERVAL_MS + 2000);
    w.call.cancel();
    for (const c of clients.splice(0)) c.close();
    await s.kill();

    s2 = await startServer({ dataDir: s.dataDir });
    const kv2 = new KVClient(s2.endpoint, credentials.createInsecure());
    const lease2 = new LeaseClient(s2.endpoint, credentials.createInsecure());
    const watch2 = new WatchClient(s2.endpoint, credentials.createInsecure());
    clients.push(kv2, lease2, watch2);

    // The lease and its key are still there, and its TTL went on from the checkpoint: not back to 30.
    const ttl = await call<{ TTL: bigint; keys: Buffer[] }>((cb) =>
      lease2.leaseTimeToLive({ ID: granted.ID, keys: true }, cb),
    );
    assert.ok(ttl.TTL > 0n, `lease still alive (TTL ${ttl.TTL})`);
    assert.ok(ttl.TTL < 29n, `TTL continued from its checkpoint instead of resetting to 30 (got ${ttl.TTL})`);
    assert.deepEqual(
      ttl.keys.map((k) => k.toString()),
      ["svc/instance-1"],
    );

    // Resume the watch right after the last revision seen: exactly the writes made since, none repeated.
    const w2 = new RawWatch(watch2);
    w2.create({ key: Buffer.from("w/"), rangeEnd: Buffer.from("w0"), startRevision: lastRev + 1n });
    await w2.waitFor(1, "created after restart");
    await put(kv2, "w/6", "v6");
    await until(() => events(w2).length >= 1, "the event written after the restart");
    assert.deepEqual(
      events(w2).map(([k]) => k),
      ["w/6"],
    );
    assert.equal(events(w2)[0]![1], lastRev + 1n, "no revision was lost or reused across the restart");
    w2.call.cancel();
  } finally {
    for (const c of clients) c.close();
    await s.kill();
    await s2?.stop();
    s.cleanup();
  }
});
