// Specifies the KV service through the `etcd3` npm client (1.1.2), the most used Node.js etcd client. The same
// suite also runs against a real etcd (when /usr/bin/etcd exists), so every expectation is etcd's.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  Etcd3,
  EtcdLeaseInvalidError,
  GRPCInvalidArgumentError,
  GRPCOutOfRangeError,
  type IKeyValue,
} from "etcd3";
import { ETCD, hasEtcd } from "../../testing/etcdctl.js";
import { type ServerProcess, startServer } from "../../testing/server_process.js";

const targets: { name: string; binary?: string }[] = [{ name: "etcd-ts" }];
if (hasEtcd()) targets.push({ name: "real etcd 3.4", binary: ETCD });

for (const target of targets) {
  describe(`etcd3 npm client against ${target.name}`, () => {
    let s: ServerProcess;
    let client: Etcd3;
    before(async () => {
      s = await startServer(target.binary ? { binary: target.binary } : {});
      client = new Etcd3({ hosts: s.clientUrl });
    });
    after(async () => {
      client?.close();
      await s?.stop();
      s?.cleanup();
    });

    test("put and get as string, number, JSON and bytes", async () => {
      const r = await client.put("e/str").value("hello");
      assert.equal(r.header.revision, "2");
      await client.put("e/num").value(42);
      await client.put("e/json").value(JSON.stringify({ a: [1, 2] }));
      await client.put("e/bytes").value(Buffer.from([0, 1, 255]));
      assert.equal(await client.get("e/str").string(), "hello");
      assert.equal(await client.get("e/num").number(), 42);
      assert.deepEqual(await client.get("e/json").json(), { a: [1, 2] });
      assert.deepEqual(await client.get("e/bytes").buffer(), Buffer.from([0, 1, 255]));
      assert.equal(await client.get("e/missing").string(), null);
      assert.equal(await client.get("e/str").exists(), true);
    });

    test("getAll: prefix, limit, sort, count, keys", async () => {
      assert.deepEqual(await client.getAll().prefix("e/").keys(), ["e/bytes", "e/json", "e/num", "e/str"]);
      assert.equal(await client.getAll().prefix("e/").count(), 4);
      assert.deepEqual(await client.getAll().prefix("e/").sort("Key", "Descend").limit(2).keys(), [
        "e/str",
        "e/num",
      ]);
      assert.deepEqual(await client.getAll().prefix("e/").sort("Create", "Ascend").keys(), [
        "e/str",
        "e/num",
        "e/json",
        "e/bytes",
      ]);
      const res = await client.getAll().prefix("e/").limit(1).exec();
      assert.deepEqual([res.count, res.more, res.kvs.length], ["4", true, 1]);
      assert.deepEqual(await client.getAll().prefix("e/n").strings(), { "e/num": "42" });
    });

    test("put with previous value, then a range read at an older revision", async () => {
      const prev = await client.put("e/str").value("world").getPrevious();
      assert.equal(prev.value.toString(), "hello");
      const old = await client.get("e/str").revision(2).string();
      assert.equal(old, "hello");
    });

    test("delete: a key with its previous value, a prefix, a missing key", async () => {
      const prevs: IKeyValue[] = await client.delete().key("e/num").getPrevious();
      assert.deepEqual(
        prevs.map((kv) => [kv.key.toString(), kv.value.toString()]),
        [["e/num", "42"]],
      );
      const r = await client.delete().prefix("e/j").exec();
      assert.equal(r.deleted, "1");
      assert.equal((await client.delete().key("e/none").exec()).deleted, "0");
      assert.deepEqual(await client.getAll().prefix("e/").keys(), ["e/bytes", "e/str"]);
    });

    test("transactions: if/then/else on value, version, create revision", async () => {
      const yes = await client
        .if("e/str", "Value", "==", "world")
        .then(client.put("e/t").value("then"))
        .else(client.put("e/t").value("else"))
        .commit();
      assert.equal(yes.succeeded, true);
      assert.equal(await client.get("e/t").string(), "then");
      const no = await client
        .if("e/str", "Version", ">", 5)
        .then(client.put("e/t").value("then2"))
        .else(client.get("e/str"), client.put("e/t").value("else2"))
        .commit();
      assert.equal(no.succeeded, false);
      assert.equal(no.responses[0]?.response_range?.kvs[0]?.value.toString(), "world");
      assert.equal(await client.get("e/t").string(), "else2");
      const create = await client
        .if("e/new", "Create", "==", 0)
        .then(client.put("e/new").value("created"))
        .commit();
      assert.equal(create.succeeded, true);
      const again = await client
        .if("e/new", "Create", "==", 0)
        .then(client.put("e/new").value("twice"))
        .commit();
      assert.equal(again.succeeded, false);
      assert.equal(await client.get("e/new").string(), "created");
    });

    test("software transactional memory (STM) commits through compares on mod revisions", async () => {
      await client.put("e/counter").value(0);
      await Promise.all(
        Array.from({ length: 5 }, () =>
          client.stm({ retries: 20 }).transact(async (tx) => {
            const n = Number(await tx.get("e/counter").string());
            await tx.put("e/counter").value(n + 1);
          }),
        ),
      );
      assert.equal(await client.get("e/counter").number(), 5);
    });

    test("errors come back as etcd's typed errors", async () => {
      await assert.rejects(client.put("").value("x").exec(), (err: Error) => {
        assert.ok(err instanceof GRPCInvalidArgumentError);
        assert.equal(err.message, "3 INVALID_ARGUMENT: etcdserver: key is not provided");
        return true;
      });
      await assert.rejects(client.put("e/l").value("x").lease("1234").exec(), EtcdLeaseInvalidError);
      await assert.rejects(client.get("e/str").revision(1_000_000).string(), (err: Error) => {
        assert.ok(err instanceof GRPCOutOfRangeError);
        assert.equal(
          err.message,
          "11 OUT_OF_RANGE: etcdserver: mvcc: required revision is a future revision",
        );
        return true;
      });
    });
  });
}
