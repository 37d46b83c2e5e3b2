// Specifies the client's Lease API against a real server: grant/revoke/timeToLive/leases, keepAliveOnce, and
// keepAlive handles that renew, end on close, and report a revoked lease as lost.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Client } from "./client.js";
import { LeaseExistsError, LeaseLostError, LeaseNotFoundError } from "./errors.js";
import { str, TestServer, take, within } from "./test_util.js";

describe("client lease", () => {
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

  test("grant, timeToLive with keys, leases, revoke deletes the keys", async () => {
    const g = await client.lease.grant(60);
    assert.ok(g.ID > 0n);
    assert.equal(g.TTL, 60n);
    await client.kv.put("l1/a", "1", { lease: g.ID });
    await client.kv.put("l1/b", "2", { lease: g.ID });
    const ttl = await client.lease.timeToLive(g.ID, { keys: true });
    assert.equal(ttl.grantedTTL, 60n);
    assert.ok(ttl.TTL > 0n && ttl.TTL <= 60n);
    assert.deepEqual(ttl.keys.map(str).sort(), ["l1/a", "l1/b"]);
    assert.ok((await client.lease.leases()).leases.some((l) => l.ID === g.ID));
    await client.lease.revoke(g.ID);
    assert.equal((await client.kv.get("l1/", { prefix: true })).count, 0n);
    assert.equal((await client.lease.timeToLive(g.ID)).TTL, -1n);
    await assert.rejects(client.lease.revoke(g.ID), LeaseNotFoundError);
  });

  test("grant with a chosen ID; taking it twice fails", async () => {
    const id = 0x1234_5678n;
    assert.equal((await client.lease.grant(30, { id })).ID, id);
    await assert.rejects(client.lease.grant(30, { id }), LeaseExistsError);
    await client.lease.revoke(id);
  });

  test("keepAliveOnce renews; an unknown lease is LeaseNotFoundError", async () => {
    const g = await client.lease.grant(30);
    const r = await client.lease.keepAliveOnce(g.ID);
    assert.equal(r.ID, g.ID);
    assert.equal(r.TTL, 30n);
    await client.lease.revoke(g.ID);
    await assert.rejects(client.lease.keepAliveOnce(g.ID), LeaseNotFoundError);
  });

  test("keepAlive renews at TTL/3 until closed", async () => {
    const g = await client.lease.grant(3);
    const ka = client.lease.keepAlive(g.ID);
    const second = client.lease.keepAlive(g.ID); // two handles share one schedule
    const got = await take(ka[Symbol.asyncIterator](), 3, "three renewals");
    assert.ok(got.every((r) => r.ID === g.ID && r.TTL === 3n));
    assert.equal(ka.ttl, 3n);
    ka.close();
    assert.equal(await within(ka.done, "done after close"), undefined);
    assert.equal((await ka[Symbol.asyncIterator]().next()).done, true);
    // The other handle still keeps the lease alive.
    await take(second[Symbol.asyncIterator](), 2, "renewals of the second handle");
    second.close();
    await client.lease.revoke(g.ID);
  });

  test("keepAlive reports a revoked lease as lost", async () => {
    const g = await client.lease.grant(3);
    const ka = client.lease.keepAlive(g.ID);
    const it = ka[Symbol.asyncIterator]();
    await take(it, 1, "first renewal");
    await client.lease.revoke(g.ID);
    const lost = await within(ka.done, "loss");
    assert.ok(lost instanceof LeaseLostError);
    assert.equal(lost.reason, "not-found");
    assert.equal(lost.leaseId, g.ID);
    await assert.rejects(
      (async () => {
        for (;;) if ((await it.next()).done) return;
      })(),
      LeaseLostError,
    );
  });

  test("keepAlive of an unknown lease is lost at once; an aborted signal stops it", async () => {
    const ka = client.lease.keepAlive(987654321n);
    const lost = await within(ka.done, "loss");
    assert.equal(lost?.reason, "not-found");
    const ac = new AbortController();
    const g = await client.lease.grant(10);
    const ka2 = client.lease.keepAlive(g.ID, { signal: ac.signal });
    ac.abort();
    assert.equal(await within(ka2.done, "done after abort"), undefined);
    await client.lease.revoke(g.ID);
  });
});
