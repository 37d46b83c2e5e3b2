// Specifies the namespace view against a real server (etcd's namespace tests and more): keys written and read
// under the prefix, ranges that never leave it, txn compares and results, watch events and lease keys without
// the prefix, nested namespaces, and locks and STM working inside one.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Event_EventType } from "../proto/index.js";
import { Client } from "./client.js";
import { Mutex, runSTM, Session } from "./concurrency/index.js";
import { EmptyKeyError } from "./errors.js";
import { withNamespace } from "./namespace.js";
import { Op } from "./ops.js";
import { str, TestServer, take, within } from "./test_util.js";
import { Cmp } from "./txn.js";

const keys = (r: { kvs: { key: Buffer }[] }): string[] => r.kvs.map((kv) => kv.key.toString("latin1"));

describe("client namespace", { timeout: 60_000 }, () => {
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

  test("put and get: the key is stored under the prefix and comes back without it", async () => {
    const ns = client.namespace("foo/");
    await ns.kv.put("abc", "bar");
    const r = await ns.kv.get("abc");
    assert.deepEqual(keys(r), ["abc"]);
    assert.equal(str(r.kvs[0]!.value), "bar");
    assert.equal(str((await client.kv.get("foo/abc")).kvs[0]!.value), "bar");
    const p = await ns.kv.put("abc", "baz", { prevKv: true });
    assert.equal(p.prevKv!.key.toString(), "abc");
    await assert.rejects(ns.kv.put("", "x"), EmptyKeyError);
    await assert.rejects(ns.kv.get(""), EmptyKeyError);
    await assert.rejects(ns.kv.delete(""), EmptyKeyError);
  });

  test("prefix, from-key and range reads and deletes stay inside the namespace", async () => {
    // Neighbours of the namespace "rg/" on both sides, which no namespaced range may see.
    for (const k of ["rf", "rg", "rg.", "rg0", "rh", "rg/a", "rg/b", "rg/b/1", "rg/c"])
      await client.kv.put(k, "v");
    const ns = withNamespace(client, "rg/");
    assert.deepEqual(keys(await ns.kv.get("", { prefix: true })), ["a", "b", "b/1", "c"]);
    assert.deepEqual(keys(await ns.kv.get("b", { prefix: true })), ["b", "b/1"]);
    assert.deepEqual(keys(await ns.kv.get("b", { fromKey: true })), ["b", "b/1", "c"]);
    assert.deepEqual(keys(await ns.kv.get("", { fromKey: true, sortOrder: "descend" })), [
      "c",
      "b/1",
      "b",
      "a",
    ]);
    assert.deepEqual(keys(await ns.kv.get("a", { rangeEnd: "c" })), ["a", "b", "b/1"]);
    assert.equal((await ns.kv.get("", { prefix: true, countOnly: true })).count, 4n);
    const d = await ns.kv.delete("b", { prefix: true, prevKv: true });
    assert.equal(d.deleted, 2n);
    assert.deepEqual(keys({ kvs: d.prevKvs }), ["b", "b/1"]);
    const all = await ns.kv.delete("", { fromKey: true });
    assert.equal(all.deleted, 2n);
    assert.deepEqual(keys(await client.kv.get("r", { prefix: true })), ["rf", "rg", "rg.", "rg0", "rh"]);
  });

  test("a namespace ending in 0xff does not reach the key after it", async () => {
    const pfx = Buffer.from([0x61, 0x62, 0xff]); // "ab\xff"
    await client.kv.put(Buffer.concat([pfx, Buffer.from("k")]), "in");
    await client.kv.put("ac", "out"); // etcd's own namespace range ("ac\0") would include this key
    const ns = client.namespace(pfx);
    assert.deepEqual(keys(await ns.kv.get("", { prefix: true })), ["k"]);
    assert.deepEqual(keys(await ns.kv.get("", { fromKey: true })), ["k"]);
  });

  test("txn: compares, ops and nested txns are namespaced and every result key comes back without the prefix", async () => {
    const ns = client.namespace("tx/");
    await ns.kv.put("a", "1");
    await client.kv.put("a", "outside"); // same key outside: compares must not see it
    const r = await ns.kv
      .txn()
      .If(Cmp.value("a", "=", "1"), Cmp.version("", ">", 0).withPrefix(), Cmp.keyMissing("b"))
      .Then(
        Op.put("b", "2", { prevKv: true }),
        Op.get("", { prefix: true }),
        // A nested txn's compares see the state before the outer txn.
        Op.txn([Cmp.keyExists("a")], [Op.delete("a", { prevKv: true })]),
      )
      .commit();
    assert.ok(r.succeeded);
    const [put, get, nested] = r.responses.map((x) => x.response);
    assert.equal(put?.$case, "responsePut");
    assert.ok(get?.$case === "responseRange");
    assert.deepEqual(keys(get.value), ["a", "b"]);
    assert.ok(nested?.$case === "responseTxn" && nested.value.succeeded);
    const del = nested.value.responses[0]!.response;
    assert.ok(del?.$case === "responseDeleteRange");
    assert.deepEqual(keys({ kvs: del.value.prevKvs }), ["a"]);
    assert.equal(str((await client.kv.get("a")).kvs[0]!.value), "outside");
    const failed = await ns.kv.txn().If(Cmp.keyExists("a")).Else(Op.get("b")).commit();
    assert.ok(!failed.succeeded);
    const g = failed.responses[0]!.response;
    assert.ok(g?.$case === "responseRange");
    assert.deepEqual(keys(g.value), ["b"]);
    const done = await ns.kv.do(Op.get("b"));
    assert.ok(done.kind === "get");
    assert.deepEqual(keys(done.response), ["b"]);
  });

  test("watch: events (and prevKv) come back without the prefix; a raw watch sees the full key", async () => {
    const ns = client.namespace("wn/");
    const { header } = await ns.kv.put("abc", "bar");
    const rev = header!.revision;
    const nsw = ns.watch.watch("abc", { startRevision: rev });
    const [first] = await take(nsw[Symbol.asyncIterator](), 1, "namespaced event");
    assert.deepEqual(
      first!.events.map((e) => [e.type, e.kv!.key.toString(), str(e.kv!.value), e.kv!.modRevision]),
      [[Event_EventType.PUT, "abc", "bar", rev]],
    );
    const raw = client.watch.watch("wn/abc", { startRevision: rev });
    const [r] = await take(raw[Symbol.asyncIterator](), 1, "raw event");
    assert.equal(r!.events[0]!.kv!.key.toString(), "wn/abc");
    raw.cancel();
    nsw.cancel();

    const pw = ns.watch.watch("", { prefix: true, prevKv: true });
    await within(pw.created, "created");
    await client.kv.put("wn0", "neighbour"); // just outside the namespace
    await ns.kv.put("x/1", "a");
    await ns.kv.put("x/1", "b");
    await ns.kv.delete("x/1");
    const it = pw[Symbol.asyncIterator]();
    const events = [];
    while (events.length < 3) events.push(...(await take(it, 1, "prefix events"))[0]!.events);
    assert.deepEqual(
      events.map((e) => [
        e.type,
        e.kv!.key.toString(),
        e.prevKv?.key.toString(),
        e.prevKv && str(e.prevKv.value),
      ]),
      [
        [Event_EventType.PUT, "x/1", undefined, undefined],
        [Event_EventType.PUT, "x/1", "x/1", "a"],
        [Event_EventType.DELETE, "x/1", "x/1", "b"],
      ],
    );
    pw.cancel();
  });

  test("lease timeToLive lists only the lease's keys inside the namespace, without the prefix", async () => {
    const ns = client.namespace("ls/");
    const { ID } = await ns.lease.grant(30);
    await ns.kv.put("a", "1", { lease: ID });
    await client.kv.put("elsewhere", "1", { lease: ID });
    const ttl = await ns.lease.timeToLive(ID, { keys: true });
    assert.deepEqual(
      ttl.keys.map((k) => k.toString()),
      ["a"],
    );
    assert.equal((await client.lease.timeToLive(ID, { keys: true })).keys.length, 2);
    await ns.lease.revoke(ID);
  });

  test("namespaces nest, and locks and STM work inside one", async () => {
    const outer = client.namespace("app/");
    const inner = outer.namespace("svc/");
    await inner.kv.put("k", "v");
    assert.deepEqual(keys(await client.kv.get("app/svc/k")), ["app/svc/k"]);
    assert.deepEqual(keys(await outer.kv.get("svc/", { prefix: true })), ["svc/k"]);
    assert.deepEqual(keys(await inner.kv.get("", { prefix: true })), ["k"]);

    const session = await Session.create(inner, { ttl: 30 });
    try {
      const m = new Mutex(session, "lock");
      await m.lock();
      assert.equal(m.key, `lock/${session.lease.toString(16)}`);
      assert.equal((await client.kv.get(`app/svc/${m.key}`)).count, 1n);
      assert.ok((await inner.kv.txn().If(m.isOwner()).Then(Op.put("guarded", "1")).commit()).succeeded);
      await m.unlock();
    } finally {
      await session.close();
    }
    await inner.kv.put("n", "5");
    await runSTM(inner, async (stm) => {
      stm.put("n", String(Number(await stm.get("n")) + 1));
    });
    assert.equal(str((await client.kv.get("app/svc/n")).kvs[0]!.value), "6");
  });
});
