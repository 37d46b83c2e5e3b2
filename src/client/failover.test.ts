// Specifies the client across server failures (kill -9, restart on the same port, a dead endpoint): watches
// resume with nothing lost or repeated, keepalives survive or report loss, reads retry and writes do not.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Event_EventType } from "../proto/index.js";
import { freePort } from "../testing/server_process.js";
import { Client } from "./client.js";
import { LeaseLostError, NoLeaderError, UnavailableError } from "./errors.js";
import { str, TARGET, TestServer, take, until, within } from "./test_util.js";
import type { WatchResponse } from "./watcher.js";

/** Long enough to ride out a server restart while a call waits for a connection. */
const DIAL_MS = 20_000;

const puts = (bs: WatchResponse[]) =>
  bs.flatMap((b) => b.events.filter((e) => e.type === Event_EventType.PUT).map((e) => str(e.kv?.key)));

test("a watch resumes after kill -9 and restart: nothing lost, nothing repeated", async () => {
  const s = await TestServer.start();
  const client = new Client({ endpoints: [s.endpoint], dialTimeoutMs: DIAL_MS });
  try {
    const w = client.watch.watch("fw/", { prefix: true });
    await within(w.created, "created");
    const it = w[Symbol.asyncIterator]();
    const got: WatchResponse[] = [];
    const collect = async (n: number) => {
      while (puts(got).length < n) got.push(...(await take(it, 1, `event ${puts(got).length + 1}`)));
    };
    for (let i = 1; i <= 5; i++) await client.kv.put(`fw/${i}`, "v");
    await collect(5);

    await s.kill();
    // Writes the watcher cannot see live: the member runs meanwhile on another port, out of the client's reach.
    const elsewhere = await freePort();
    await s.restart({ clientPort: elsewhere });
    const other = new Client({ endpoints: [`127.0.0.1:${elsewhere}`] });
    for (let i = 6; i <= 8; i++) await other.kv.put(`fw/${i}`, "v");
    await other.close();
    await s.kill();

    await s.restart();
    for (let i = 9; i <= 10; i++) await client.kv.put(`fw/${i}`, "v");
    await collect(10);
    assert.deepEqual(
      puts(got),
      Array.from({ length: 10 }, (_, i) => `fw/${i + 1}`),
    );
    const revs = got.flatMap((b) => b.events.map((e) => e.kv!.modRevision));
    assert.ok(
      revs.every((r, i) => i === 0 || r > revs[i - 1]!),
      `strictly increasing: ${revs}`,
    );
    // Nothing more is pending: the next batch is the progress answer, not a repeated event.
    await until(() => client.watch.requestProgress(), "an open watch stream");
    const [p] = await take(it, 1, "progress");
    assert.ok(p!.progressNotify && p!.events.length === 0, "no event repeated after the resume");
  } finally {
    await client.close();
    await s.dispose();
  }
});

test("keepAlive keeps a lease alive across a restart, then reports it lost when the lease is gone", async () => {
  const s = await TestServer.start();
  const client = new Client({ endpoints: [s.endpoint], dialTimeoutMs: DIAL_MS });
  const fresh = mkdtempSync(join(tmpdir(), "etcd-ts-client-fresh-"));
  try {
    const g = await client.lease.grant(20);
    const ka = client.lease.keepAlive(g.ID);
    const it = ka[Symbol.asyncIterator]();
    await take(it, 1, "first renewal");
    await s.kill();
    await s.restart();
    const restarted = Date.now();
    let renewedAfterRestart = false;
    while (!renewedAfterRestart) {
      await take(it, 1, "a renewal after the restart");
      renewedAfterRestart = Date.now() >= restarted;
    }
    assert.ok((await client.lease.timeToLive(g.ID)).TTL > 0n);

    // The member comes back without the lease (a fresh data dir on the same port): the keepalive says so.
    await s.kill();
    await s.restart({ dataDir: fresh });
    const lost = await within(ka.done, "loss of the lease");
    assert.ok(lost instanceof LeaseLostError);
    assert.equal(lost.reason, "not-found");
  } finally {
    await client.close();
    await s.dispose();
    rmSync(fresh, { recursive: true, force: true });
  }
});

test("keepAlive reports loss when no renewal succeeds before the TTL runs out", async () => {
  const s = await TestServer.start();
  const client = new Client({ endpoints: [s.endpoint], dialTimeoutMs: 1_000 });
  try {
    const g = await client.lease.grant(2);
    const ka = client.lease.keepAlive(g.ID);
    await take(ka[Symbol.asyncIterator](), 1, "first renewal");
    await s.kill();
    const lost = await within(ka.done, "loss by timeout");
    assert.ok(lost instanceof LeaseLostError);
    assert.equal(lost.reason, "timeout");
  } finally {
    await client.close();
    await s.dispose();
  }
});

test("with one dead endpoint, calls go to the live one; reads and never-sent writes survive a restart", async () => {
  const s = await TestServer.start();
  const dead = `127.0.0.1:${await freePort()}`;
  const client = new Client({ endpoints: [dead, s.endpoint], dialTimeoutMs: DIAL_MS });
  try {
    await client.kv.put("fo/a", "1");
    assert.equal(str((await client.kv.get("fo/a")).kvs[0]!.value), "1");
    assert.equal(client.activeEndpoint, s.endpoint);
    const w = client.watch.watch("fo/", { prefix: true });
    await within(w.created, "created");

    await s.kill();
    // Issued while nothing is up: the read waits and retries; the write is never sent, so it may wait too.
    const read = client.kv.get("fo/a");
    const write = client.kv.put("fo/b", "2").then(
      () => undefined,
      (e: unknown) => e,
    );
    await s.restart();
    assert.equal(str((await within(read, "read after restart")).kvs[0]!.value), "1");
    const err = await within(write, "never-sent write after restart");
    if (err instanceof NoLeaderError && TARGET === "etcd-ts") {
      // etcd-ts accepts client connections before its member has a leader (etcd does not listen until it is
      // ready); the write was refused, not applied, and a write that reached a member is never retried.
      assert.equal((await client.kv.get("fo/b")).count, 0n);
      await client.kv.put("fo/b", "2");
    } else {
      assert.equal(err, undefined);
    }
    assert.deepEqual(puts(await take(w[Symbol.asyncIterator](), 1, "the write, via the resumed watch")), [
      "fo/b",
    ]);
  } finally {
    await client.close();
    await s.dispose();
  }
});

test("a write in flight when the member dies is not retried; a read in flight is", async () => {
  const s = await TestServer.start();
  const client = new Client({ endpoints: [s.endpoint], dialTimeoutMs: DIAL_MS });
  try {
    await client.kv.put("wf/k", "before");
    const inflight = (client as unknown as { caller: { inflight: Set<unknown> } }).caller.inflight;
    s.proc.proc.kill("SIGSTOP"); // the member takes the requests but never answers them
    const write = client.kv.put("wf/k", "lost?").then(
      () => undefined,
      (e: unknown) => e,
    );
    const read = client.kv.get("wf/k");
    await until(() => inflight.size === 2, "both calls on the wire");
    await s.kill();
    const err = await within(write, "the write to fail");
    assert.ok(err instanceof UnavailableError && !err.neverSent, `not retried: ${err}`);
    await s.restart();
    assert.equal(str((await within(read, "the retried read")).kvs[0]!.value), "before");
  } finally {
    await client.close();
    await s.dispose();
  }
});

test("failover: when the pinned endpoint dies, calls move to the next one and stay there", async () => {
  const a = await TestServer.start();
  const b = await TestServer.start();
  const client = new Client({ endpoints: [a.endpoint, b.endpoint], dialTimeoutMs: DIAL_MS });
  try {
    // Two separate single-member clusters, so the answer tells which endpoint served the read.
    for (const s of [a, b]) {
      const c = new Client({ endpoints: [s.endpoint] });
      await c.kv.put("who", s === a ? "a" : "b");
      await c.close();
    }
    // Whichever connected first serves; kill that one.
    const first = str((await client.kv.get("who")).kvs[0]!.value);
    const [dying, other] = first === "a" ? [a, b] : [b, a];
    assert.equal(client.activeEndpoint, dying.endpoint);
    await dying.kill();
    const second = str((await client.kv.get("who")).kvs[0]!.value);
    assert.notEqual(second, first);
    assert.equal(client.activeEndpoint, other.endpoint);
    await dying.restart();
    assert.equal(str((await client.kv.get("who")).kvs[0]!.value), second, "sticks to the working endpoint");
  } finally {
    await client.close();
    await a.dispose();
    await b.dispose();
  }
});
