// Specifies the Client itself: connecting (URLs, dial timeout), options that reach the wire (hasleader,
// gRPC keepalive), and a graceful close that ends watchers and keepalives and refuses new calls.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { freePort } from "../testing/server_process.js";
import { Client } from "./client.js";
import { ClientClosedError, UnavailableError } from "./errors.js";
import { TestServer, take, until, within } from "./test_util.js";

describe("client", () => {
  let server: TestServer;
  before(async () => {
    server = await TestServer.start();
  });
  after(async () => {
    await server?.dispose();
  });

  test("connect accepts http:// URLs and fails after the dial timeout when nothing answers", async () => {
    const c = await Client.connect({ endpoints: [`http://${server.endpoint}`] });
    assert.deepEqual(c.endpoints, [server.endpoint]);
    assert.equal(c.activeEndpoint, server.endpoint);
    await c.close();
    const dead = `127.0.0.1:${await freePort()}`;
    await assert.rejects(Client.connect({ endpoints: [dead], dialTimeoutMs: 300 }), UnavailableError);
    assert.throws(() => new Client({ endpoints: [] }), TypeError);
  });

  test("requireLeader and gRPC keepalive options work against a healthy member", async () => {
    const c = new Client({
      endpoints: [server.endpoint],
      requireLeader: true,
      keepAliveTimeMs: 5_000,
      keepAliveTimeoutMs: 2_000,
      keepAliveWithoutCalls: true,
      callTimeoutMs: 10_000,
    });
    try {
      await c.kv.put("cl/k", "v");
      assert.equal((await c.kv.get("cl/k", { requireLeader: false })).count, 1n);
      const w = c.watch.watch("cl/k");
      await within(w.created, "created with hasleader");
      w.cancel();
    } finally {
      await c.close();
    }
  });

  test("close() lets calls on the wire finish, ends watchers and keepalives, refuses new calls", async () => {
    const c = new Client({ endpoints: [server.endpoint] });
    const w = c.watch.watch("close/", { prefix: true });
    await within(w.created, "created");
    const lease = await c.lease.grant(30);
    const ka = c.lease.keepAlive(lease.ID);
    await take(ka[Symbol.asyncIterator](), 1, "first renewal");
    const inflight = (c as unknown as { caller: { inflight: Set<unknown> } }).caller.inflight;
    server.proc.proc.kill("SIGSTOP"); // holds the put on the wire until SIGCONT
    const put = c.kv.put("close/k", "v");
    try {
      await until(() => inflight.size === 1, "the put on the wire").catch((e: Error) => {
        throw new Error(`${e.message} (calls in flight: ${inflight.size}, active: ${c.activeEndpoint})`);
      });
      const closed = c.close();
      await assert.rejects(c.kv.get("close/k"), ClientClosedError);
      server.proc.proc.kill("SIGCONT");
      await within(put, "the in-flight put to finish");
      await within(closed, "close");
    } finally {
      server.proc.proc.kill("SIGCONT");
      // On failure too: an open client keeps its streams reconnecting and the test file from exiting.
      await c.close();
    }
    assert.equal(await ka.done, undefined);
    assert.throws(() => c.watch.watch("close/"), ClientClosedError);
    assert.throws(() => c.lease.keepAlive(lease.ID), ClientClosedError);
    // The watcher ends after what it already received.
    for await (const _ of w) {
    }
    const check = new Client({ endpoints: [server.endpoint] });
    assert.equal((await check.kv.get("close/k")).count, 1n);
    await check.lease.revoke(lease.ID);
    await check.close();
  });
});
