// Specifies ConfigCache against a real server: it loads the prefix, follows updates and deletes, and runs
// per-key and per-prefix handlers in revision order, then in the order they were added.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Client } from "./client.js";
import { ConfigCache, type ConfigChange } from "./config.js";
import { TestServer, until, within } from "./test_util.js";

describe("config cache", { timeout: 60_000 }, () => {
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

  test("loads the prefix, then sees updates, deletes and new keys", async () => {
    await client.kv.put("cfg1/a", "1");
    await client.kv.put("other/a", "x");
    const cache = new ConfigCache(client, "cfg1/");
    await within(cache.ready, "ready");
    assert.deepEqual(cache.entries(), [["cfg1/a", "1"]]);
    await client.kv.put("cfg1/a", "2");
    await client.kv.put("cfg1/b", "3");
    await until(() => cache.get("cfg1/b") === "3", "b");
    assert.equal(cache.get("cfg1/a"), "2");
    await client.kv.delete("cfg1/a");
    await until(() => cache.get("cfg1/a") === undefined, "a deleted");
    assert.deepEqual(cache.entries(), [["cfg1/b", "3"]]);
    cache.close();
  });

  test("handlers run per key and per prefix, in revision then registration order", async () => {
    const cache = new ConfigCache(client, "cfg2/");
    await within(cache.ready, "ready");
    const log: string[] = [];
    const fmt = (tag: string) => (c: ConfigChange) => log.push(`${tag} ${c.key}=${c.value ?? "-"}`);
    cache.on("cfg2/db/url", fmt("url"));
    cache.on("cfg2/db/", fmt("db*"), { prefix: true });
    const off = cache.on("cfg2/db/url", fmt("url2"));
    cache.on("cfg2/db/url", () => {
      throw new Error("a broken handler does not stop the others");
    });
    cache.on("cfg2/log", fmt("log"));
    await client.kv.put("cfg2/db/url", "u1");
    await client.kv.put("cfg2/log", "debug");
    await client.kv.put("cfg2/db/pool", "5");
    await until(() => log.length === 5, "5 calls");
    off();
    await client.kv.delete("cfg2/db/url");
    await until(() => log.length === 7, "7 calls");
    assert.deepEqual(log, [
      "url cfg2/db/url=u1",
      "db* cfg2/db/url=u1",
      "url2 cfg2/db/url=u1",
      "log cfg2/log=debug",
      "db* cfg2/db/pool=5",
      "url cfg2/db/url=-",
      "db* cfg2/db/url=-",
    ]);
    cache.close();
  });
});
