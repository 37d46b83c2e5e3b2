// A tour of etcd-ts/client: put/get, a transaction, a watch, and a lease kept alive.
// Run against any etcd v3 endpoint after `npm run build`:  node examples/client.mjs [127.0.0.1:2379]
import { Client, Cmp, Op } from "etcd-ts/client";

const client = await Client.connect({ endpoints: [process.argv[2] ?? "127.0.0.1:2379"] });
try {
  await client.kv.put("example/greeting", "hello");
  const { kvs } = await client.kv.get("example/", { prefix: true });
  console.log(
    "got",
    kvs.map((kv) => `${kv.key}=${kv.value}`),
  );

  // Create-if-absent: the put runs only if the key has never been written.
  const txn = await client.kv
    .txn()
    .If(Cmp.keyMissing("example/once"))
    .Then(Op.put("example/once", "1"))
    .commit();
  console.log("created example/once:", txn.succeeded);

  const watcher = client.watch.watch("example/", { prefix: true });
  await watcher.created;
  await client.kv.put("example/greeting", "hello again");
  for await (const batch of watcher) {
    for (const e of batch.events) console.log("event", e.type === 0 ? "PUT" : "DELETE", `${e.kv?.key}`);
    break; // ends (cancels) the watcher
  }

  const lease = await client.lease.grant(10);
  const keepAlive = client.lease.keepAlive(lease.ID);
  await client.kv.put("example/ephemeral", "alive while kept", { lease: lease.ID });
  for await (const renewal of keepAlive) {
    console.log("lease renewed, TTL", renewal.TTL);
    break; // stops keeping it alive
  }
  await client.lease.revoke(lease.ID);
  await client.kv.delete("example/", { prefix: true });
} finally {
  await client.close();
}
