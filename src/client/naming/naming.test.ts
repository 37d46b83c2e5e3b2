// Specifies service discovery against a real server: a registration lives on a kept-alive lease, vanishes with
// its lease and comes back on a new one; discovery follows adds and deletes; pickers never pick a removed instance.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Client } from "../client.js";
import { TestServer, take, until, within } from "../test_util.js";
import { discover, type InstanceChange } from "./discover.js";
import { random, roundRobin } from "./picker.js";
import { register } from "./register.js";

describe("naming", { timeout: 60_000 }, () => {
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

  test("register writes the endpoint JSON on a lease; close revokes it", async () => {
    const reg = await register(client, "svc-a", { id: "i1", addr: "10.0.0.1:80", metadata: { zone: "z" } });
    const { kvs } = await client.kv.get("svc-a/i1");
    assert.deepEqual(JSON.parse(String(kvs[0]!.value)), {
      Op: 0,
      Addr: "10.0.0.1:80",
      Metadata: { zone: "z" },
    });
    assert.equal(kvs[0]!.lease, reg.leaseId);
    await reg.close();
    assert.equal((await client.kv.get("svc-a/i1")).count, 0n);
  });

  test("a registration vanishes when its lease dies and comes back re-registered", async () => {
    const d = await discover(client, "svc-b");
    const changes = d[Symbol.asyncIterator]();
    const reg = await register(client, "svc-b", { id: "i1", addr: "a:1" }, { ttl: 2 });
    assert.deepEqual((await take(changes, 1))[0], { type: "add", instance: { id: "i1", addr: "a:1" } });
    const first = reg.leaseId!;
    await client.lease.revoke(first); // the owner's lease is killed
    const [gone, back] = await take(changes, 2, "delete then re-add");
    assert.equal(gone!.type, "delete");
    assert.deepEqual(back, { type: "add", instance: { id: "i1", addr: "a:1" } });
    await until(() => reg.registrations === 2, "re-registration counted");
    assert.notEqual(reg.leaseId, first);
    await reg.close();
    assert.equal((await take(changes, 1))[0]!.type, "delete");
    d.close();
  });

  test("a registration vanishes when its owner dies (no more keepalives)", async () => {
    const owner = await Client.connect({ endpoints: [server.endpoint] });
    const d = await discover(client, "svc-e");
    const changes = d[Symbol.asyncIterator]();
    await register(owner, "svc-e", { id: "o", addr: "o:1" }, { ttl: 2 });
    assert.equal((await take(changes, 1))[0]!.type, "add");
    await owner.close(); // the process "dies": its lease expires after its TTL
    assert.deepEqual((await take(changes, 1))[0], { type: "delete", instance: { id: "o", addr: "o:1" } });
    assert.deepEqual(d.instances(), []);
    d.close();
  });

  test("discovery sees the current instances, adds, updates and deletes", async () => {
    await client.kv.put("svc-c/pre", JSON.stringify({ Op: 0, Addr: "p:1", Metadata: null }));
    const d = await discover(client, "svc-c");
    assert.deepEqual(d.instances(), [{ id: "pre", addr: "p:1" }]);
    const changes = d[Symbol.asyncIterator]();
    const r1 = await register(client, "svc-c", { id: "x", addr: "x:1" });
    await client.kv.put("svc-c/pre", JSON.stringify({ Op: 0, Addr: "p:2" }));
    await client.kv.delete("svc-c/pre");
    const got = (await take(changes, 4)).map((c) => `${c.type} ${c.instance.id} ${c.instance.addr}`);
    // The instance registered before the iteration started comes first, as an add.
    assert.deepEqual(got, ["add pre p:1", "add x x:1", "update pre p:2", "delete pre p:2"]);
    assert.deepEqual(d.instances(), [{ id: "x", addr: "x:1" }]);
    await r1.close();
    d.close();
    // Closing ends the iteration (after any change already buffered).
    await within(
      (async () => {
        while (!(await changes.next()).done);
      })(),
      "iteration end",
    );
  });

  test("each iteration first replays the instances registered when it starts, as adds, then live changes", async () => {
    const regs = await Promise.all(
      ["b", "a"].map((id) => register(client, "svc-f", { id, addr: `${id}:1` })),
    );
    const d = await discover(client, "svc-f");
    const show = (c: InstanceChange) => `${c.type} ${c.instance.id}`;
    const first = d[Symbol.asyncIterator]();
    assert.deepEqual((await take(first, 2, "replay")).map(show), ["add a", "add b"]);
    await regs[0]!.close(); // b goes
    assert.deepEqual((await take(first, 1, "live delete")).map(show), ["delete b"]);
    // A later iteration starts from the set as it is then: only a.
    const late = d[Symbol.asyncIterator]();
    const c = await register(client, "svc-f", { id: "c", addr: "c:1" });
    assert.deepEqual((await take(late, 2, "replay then live add")).map(show), ["add a", "add c"]);
    assert.deepEqual((await take(first, 1, "live add")).map(show), ["add c"]);
    // After close, a new iteration replays the last known set and ends.
    d.close();
    const closed: string[] = [];
    for await (const ch of d) closed.push(show(ch));
    assert.deepEqual(closed, ["add a", "add c"]);
    await Promise.all([regs[1]!.close(), c.close()]);
  });

  test("pickers rotate and never return an instance after its delete was processed", async () => {
    const regs = await Promise.all(
      ["a", "b", "c"].map((id) => register(client, "svc-d", { id, addr: `${id}:1` })),
    );
    const d = await discover(client, "svc-d");
    const rr = roundRobin(d);
    assert.deepEqual(
      [1, 2, 3, 4].map(() => rr.pick()?.id),
      ["a", "b", "c", "a"],
    );
    const rnd = random(d, () => 0.99);
    assert.equal(rnd.pick()?.id, "c");
    const changes = d[Symbol.asyncIterator]();
    assert.deepEqual(
      (await take(changes, 3, "the replayed adds")).map((c) => `${c.type} ${c.instance.id}`),
      ["add a", "add b", "add c"],
    );
    const picked = new Set<string>();
    let deleted = false;
    // Pick continuously while "b" is removed: once its delete is processed, it is never picked again.
    const picking = (async () => {
      while (!deleted || picked.size === 0) {
        const seenDelete = !d.has("b");
        const id = rr.pick()?.id;
        if (seenDelete) assert.notEqual(id, "b");
        if (id) picked.add(id);
        await new Promise((r) => setImmediate(r));
      }
    })();
    await regs[1]!.close();
    assert.deepEqual((await take(changes, 1))[0], { type: "delete", instance: { id: "b", addr: "b:1" } });
    deleted = true;
    await within(picking, "picking");
    for (let i = 0; i < 10; i++) assert.notEqual(rr.pick()?.id, "b");
    await until(() => d.instances().length === 2, "two instances");
    await Promise.all([regs[0]!.close(), regs[2]!.close()]);
    await until(() => rr.pick() === undefined, "no instances");
    d.close();
  });
});
