// Specifies the STM against a real server: concurrent bank transfers keep the total at every conflict-checking
// isolation level; conflicts re-run `apply`; read-committed does not check; snapshot also guards writes.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Client } from "../client.js";
import { TestServer, within } from "../test_util.js";
import { type Isolation, runSTM } from "./index.js";

const ACCOUNTS = 5;
const WORKERS = 4;
const TRANSFERS = 10;

describe("concurrency STM", () => {
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

  const checked: Isolation[] = ["serializableSnapshot", "serializable", "repeatableRead"];
  for (const isolation of checked) {
    test(`${isolation}: concurrent transfers preserve the total`, { timeout: 60_000 }, async () => {
      const acct = (i: number) => `bank-${isolation}/${i}`;
      for (let i = 0; i < ACCOUNTS; i++) await client.kv.put(acct(i), "100");
      let seed = 7;
      const rand = (n: number) => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed % n;
      };
      const worker = async () => {
        for (let t = 0; t < TRANSFERS; t++) {
          const from = rand(ACCOUNTS);
          const to = (from + 1 + rand(ACCOUNTS - 1)) % ACCOUNTS;
          const amount = 1 + rand(20);
          await runSTM(
            client,
            async (stm) => {
              const a = Number(await stm.get(acct(from)));
              const b = Number(await stm.get(acct(to)));
              if (a < amount) return;
              stm.put(acct(from), String(a - amount));
              stm.put(acct(to), String(b + amount));
            },
            { isolation },
          );
        }
      };
      await within(Promise.all(Array.from({ length: WORKERS }, worker)), "transfers", 50_000);
      const r = await client.kv.get(`bank-${isolation}/`, { prefix: true });
      assert.equal(r.kvs.length, ACCOUNTS);
      assert.equal(
        r.kvs.map((kv) => Number(kv.value.toString())).reduce((x, y) => x + y, 0),
        ACCOUNTS * 100,
      );
    });

    test(`${isolation}: a write to a read key during apply re-runs it`, async () => {
      const key = `conflict-${isolation}`;
      await client.kv.put(key, "1");
      let runs = 0;
      await runSTM(
        client,
        async (stm) => {
          runs++;
          const v = await stm.get(key);
          if (runs === 1) await client.kv.put(key, "10");
          stm.put(key, String(Number(v) + 1));
        },
        { isolation, prefetch: [key] },
      );
      assert.equal(runs, 2);
      assert.equal((await client.kv.get(key)).kvs[0]?.value.toString(), "11");
    });
  }

  test("readCommitted: batches writes without conflict checks (a lost update commits)", async () => {
    await client.kv.put("rc", "1");
    let runs = 0;
    await runSTM(
      client,
      async (stm) => {
        runs++;
        const v = await stm.get("rc");
        await client.kv.put("rc", "10");
        stm.put("rc", String(Number(v) + 1));
        stm.put("rc-2", "x");
      },
      { isolation: "readCommitted" },
    );
    assert.equal(runs, 1);
    assert.equal((await client.kv.get("rc")).kvs[0]?.value.toString(), "2");
    assert.equal((await client.kv.get("rc-2")).kvs[0]?.value.toString(), "x");
  });

  test("snapshot isolation also fails on a blind write to a key changed after the first read", async () => {
    const runsOf = async (isolation: Isolation) => {
      await client.kv.put(`skew-${isolation}/read`, "r");
      let runs = 0;
      await runSTM(
        client,
        async (stm) => {
          runs++;
          await stm.get(`skew-${isolation}/read`);
          if (runs === 1) await client.kv.put(`skew-${isolation}/written`, "other");
          stm.put(`skew-${isolation}/written`, "mine");
        },
        { isolation },
      );
      return runs;
    };
    assert.equal(await runsOf("serializableSnapshot"), 2);
    assert.equal(await runsOf("serializable"), 1);
  });

  test("reads are pinned at the first read's revision; rev gives the read mod revision", async () => {
    await client.kv.put("pin/a", "a1");
    const bRev = (await client.kv.put("pin/b", "b1")).header!.revision;
    let runs = 0;
    await runSTM(client, async (stm) => {
      runs++;
      assert.equal(await stm.get("pin/a"), "a1");
      if (runs === 1) await client.kv.put("pin/b", "b2");
      // Serializable snapshot reads b at a's revision: the old value, then a conflict re-runs with the new.
      assert.equal(await stm.get("pin/b"), runs === 1 ? "b1" : "b2");
      if (runs === 1) assert.equal(await stm.rev("pin/b"), bRev);
      assert.equal(await stm.get("pin/missing"), "");
      stm.del("pin/a");
      assert.equal(await stm.get("pin/a"), "");
    });
    assert.equal(runs, 2);
    assert.equal((await client.kv.get("pin/a")).count, 0n);
  });
});
