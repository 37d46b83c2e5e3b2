// Specifies the client's KV API against a real server: every Range/Put/DeleteRange option, Txn through the
// builder, compaction errors, per-call deadlines and AbortSignal.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { freePort } from "../testing/server_process.js";
import { Client } from "./client.js";
import {
  ClientClosedError,
  CompactedError,
  DeadlineExceededError,
  DuplicateKeyError,
  EmptyKeyError,
  FutureRevisionError,
  KeyNotFoundError,
  LeaseNotFoundError,
  UnavailableError,
} from "./errors.js";
import { Op } from "./ops.js";
import { str, TestServer } from "./test_util.js";
import { Cmp } from "./txn.js";

describe("client kv", () => {
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

  test("put and get: strings and bytes, prevKv, header revision", async () => {
    const p1 = await client.kv.put("kv/a", "1");
    const p2 = await client.kv.put(new Uint8Array([0x6b, 0x76, 0x2f, 0x62]), new Uint8Array([0, 255]), {
      prevKv: true,
    });
    assert.equal(p2.header!.revision, p1.header!.revision + 1n);
    assert.equal(p2.prevKv, undefined);
    const p3 = await client.kv.put("kv/a", "2", { prevKv: true });
    assert.equal(str(p3.prevKv?.value), "1");
    const r = await client.kv.get("kv/a");
    assert.equal(r.kvs.length, 1);
    assert.equal(str(r.kvs[0]!.value), "2");
    assert.equal(r.kvs[0]!.version, 2n);
    assert.equal(r.kvs[0]!.createRevision, p1.header!.revision);
    assert.deepEqual([...(await client.kv.get("kv/b")).kvs[0]!.value], [0, 255]);
  });

  test("range options: prefix, fromKey, rangeEnd, limit, sort, keysOnly, countOnly, revision, filters", async () => {
    const base = (await client.kv.put("r/1", "c")).header!.revision;
    await client.kv.put("r/2", "b");
    await client.kv.put("r/3", "a");
    await client.kv.put("r/2", "bb");
    const keys = (kvs: { key: Buffer }[]) => kvs.map((kv) => str(kv.key));
    assert.deepEqual(keys((await client.kv.get("r/", { prefix: true })).kvs), ["r/1", "r/2", "r/3"]);
    assert.deepEqual(keys((await client.kv.get("r/2", { fromKey: true })).kvs).slice(0, 2), ["r/2", "r/3"]);
    assert.deepEqual(keys((await client.kv.get("r/1", { rangeEnd: "r/3" })).kvs), ["r/1", "r/2"]);
    const limited = await client.kv.get("r/", { prefix: true, limit: 2 });
    assert.deepEqual(keys(limited.kvs), ["r/1", "r/2"]);
    assert.equal(limited.more, true);
    assert.equal(limited.count, 3n);
    const byValue = await client.kv.get("r/", { prefix: true, sortTarget: "value", sortOrder: "descend" });
    assert.deepEqual(keys(byValue.kvs), ["r/1", "r/2", "r/3"]);
    const byMod = await client.kv.get("r/", { prefix: true, sortTarget: "mod", sortOrder: "ascend" });
    assert.deepEqual(keys(byMod.kvs), ["r/1", "r/3", "r/2"]);
    const keysOnly = await client.kv.get("r/", { prefix: true, keysOnly: true });
    assert.ok(keysOnly.kvs.every((kv) => kv.value.length === 0));
    const countOnly = await client.kv.get("r/", { prefix: true, countOnly: true });
    assert.equal(countOnly.kvs.length, 0);
    assert.equal(countOnly.count, 3n);
    const old = await client.kv.get("r/2", { revision: base + 1n });
    assert.equal(str(old.kvs[0]!.value), "b");
    const modded = await client.kv.get("r/", { prefix: true, minModRevision: base + 2n });
    assert.deepEqual(keys(modded.kvs), ["r/2", "r/3"]);
    const created = await client.kv.get("r/", {
      prefix: true,
      maxCreateRevision: base + 1n,
      minCreateRevision: base,
    });
    assert.deepEqual(keys(created.kvs), ["r/1", "r/2"]);
    const maxMod = await client.kv.get("r/", { prefix: true, maxModRevision: base + 2n });
    assert.deepEqual(keys(maxMod.kvs), ["r/1", "r/3"]);
    const ser = await client.kv.get("r/1", { serializable: true });
    assert.equal(str(ser.kvs[0]!.value), "c");
  });

  test("put with lease, ignoreValue, ignoreLease; their errors", async () => {
    const lease = await client.lease.grant(60);
    await client.kv.put("pl/k", "v", { lease: lease.ID });
    assert.equal((await client.kv.get("pl/k")).kvs[0]!.lease, lease.ID);
    await client.kv.put("pl/k", "", { ignoreValue: true, ignoreLease: true });
    const kv = (await client.kv.get("pl/k")).kvs[0]!;
    assert.equal(str(kv.value), "v");
    assert.equal(kv.lease, lease.ID);
    await assert.rejects(client.kv.put("pl/absent", "", { ignoreValue: true }), KeyNotFoundError);
    await assert.rejects(client.kv.put("pl/k", "v", { lease: 123456789n }), LeaseNotFoundError);
    await assert.rejects(client.kv.put("", "v"), EmptyKeyError);
    await client.lease.revoke(lease.ID);
  });

  test("delete: one key, a prefix with prevKv, nothing", async () => {
    await client.kv.put("d/1", "a");
    await client.kv.put("d/2", "b");
    await client.kv.put("d/3", "c");
    assert.equal((await client.kv.delete("d/1")).deleted, 1n);
    const res = await client.kv.delete("d/", { prefix: true, prevKv: true });
    assert.equal(res.deleted, 2n);
    assert.deepEqual(
      res.prevKvs.map((kv) => str(kv.value)),
      ["b", "c"],
    );
    const none = await client.kv.delete("d/", { prefix: true });
    assert.equal(none.deleted, 0n);
  });

  test("txn: If/Then/Else, nested txn, read-your-writes, duplicate key error", async () => {
    const t1 = await client.kv
      .txn()
      .If(Cmp.keyMissing("t/a"))
      .Then(Op.put("t/a", "1"), Op.get("t/a"))
      .Else(Op.get("t/a"))
      .commit();
    assert.equal(t1.succeeded, true);
    const read = t1.responses[1]!.response;
    assert.ok(read?.$case === "responseRange");
    assert.equal(str(read.value.kvs[0]!.value), "1");
    const t2 = await client.kv
      .txn()
      .If(Cmp.keyMissing("t/a"))
      .Then(Op.put("t/a", "2"))
      .Else(Op.txn([Cmp.value("t/a", "=", "1")], [Op.put("t/b", "x")], []))
      .commit();
    assert.equal(t2.succeeded, false);
    const nested = t2.responses[0]!.response;
    assert.ok(nested?.$case === "responseTxn");
    assert.equal(nested.value.succeeded, true);
    assert.equal(str((await client.kv.get("t/b")).kvs[0]!.value), "x");
    const rev = (await client.kv.get("t/a")).kvs[0]!.modRevision;
    const t3 = await client.kv
      .txn()
      .If(Cmp.modRevision("t/a", "=", rev), Cmp.value("t/", ">", "").withPrefix())
      .commit();
    assert.equal(t3.succeeded, true);
    await assert.rejects(
      client.kv.txn().Then(Op.put("t/c", "1"), Op.put("t/c", "2")).commit(),
      DuplicateKeyError,
    );
    const viaDo = await client.kv.do(Op.get("t/", { prefix: true, countOnly: true }));
    assert.ok(viaDo.kind === "get" && viaDo.response.count === 2n);
  });

  test("compact: older reads fail with CompactedError, future ones with FutureRevisionError", async () => {
    const r1 = (await client.kv.put("c/k", "1")).header!.revision;
    const r2 = (await client.kv.put("c/k", "2")).header!.revision;
    await client.kv.compact(r2, { physical: true });
    await assert.rejects(client.kv.get("c/k", { revision: r1 }), (e: unknown) => {
      assert.ok(e instanceof CompactedError);
      assert.equal(e.message, "etcdserver: mvcc: required revision has been compacted");
      return true;
    });
    await assert.rejects(client.kv.compact(r1), CompactedError);
    await assert.rejects(client.kv.get("c/k", { revision: r2 + 1000n }), FutureRevisionError);
  });

  test("AbortSignal rejects with its reason; a deadline with DeadlineExceededError", async () => {
    const ac = new AbortController();
    ac.abort(new Error("stop"));
    await assert.rejects(client.kv.get("x", { signal: ac.signal }), /stop/);
    // A dead endpoint keeps the call waiting for a connection until its deadline.
    const dead = new Client({ endpoints: [`127.0.0.1:${await freePort()}`], dialTimeoutMs: 10_000 });
    try {
      await assert.rejects(dead.kv.get("x", { timeoutMs: 200 }), DeadlineExceededError);
      const ac2 = new AbortController();
      const pending = dead.kv.put("x", "y", { signal: ac2.signal });
      ac2.abort(new Error("user abort"));
      await assert.rejects(pending, /user abort/);
    } finally {
      await dead.close();
    }
    const quick = new Client({ endpoints: [`127.0.0.1:${await freePort()}`], dialTimeoutMs: 200 });
    await assert.rejects(quick.kv.get("x"), (e: unknown) => e instanceof UnavailableError && e.neverSent);
    await quick.close();
    await assert.rejects(quick.kv.get("x"), ClientClosedError);
  });
});
