// Endpoint sync, a namespace and ordered reads: the client learns the cluster's members from one endpoint,
// an application keeps its keys under its own prefix (locks included), and a reader never goes back in time.
// Run after `npm run build` against `npm start`:  node examples/namespace.mjs [127.0.0.1:2379]
import { Client, Mutex, Session, withOrdering } from "etcd-ts/client";

const client = await Client.connect({ endpoints: [process.argv[2] ?? "127.0.0.1:2379"] });
try {
  // Every member's client URLs become the endpoints (one member here; three in a 3-member cluster).
  console.log("endpoints after sync:", (await client.sync()).join(", "));

  // The application sees its own keys only, without the prefix; etcd stores them under it.
  const app = client.namespace("example/app1/");
  await app.kv.put("config", "on");
  const stored = await client.kv.get("example/app1/", { prefix: true, keysOnly: true });
  console.log("stored as:", stored.kvs.map((kv) => kv.key.toString()).join(", "));
  const { kvs } = await app.kv.get("", { prefix: true });
  console.log("seen in the namespace:", kvs.map((kv) => `${kv.key}=${kv.value}`).join(", "));

  // Watch events come back without the prefix too.
  const watcher = app.watch.watch("jobs/", { prefix: true });
  await watcher.created;
  await app.kv.put("jobs/1", "run");
  for await (const batch of watcher) {
    console.log("watched:", batch.events.map((e) => e.kv.key.toString()).join(", "));
    break;
  }

  // Locks (and elections, STM, recipes) work inside the namespace.
  const session = await Session.create(app, { ttl: 5 });
  const mutex = new Mutex(session, "lock");
  await mutex.lock();
  const lockKeys = await client.kv.get("example/app1/lock/", { prefix: true, keysOnly: true });
  console.log("lock held as:", lockKeys.kvs[0].key.toString().replace(/[0-9a-f]+$/, "<lease>"));
  await mutex.unlock();
  await session.close();

  // An ordered reader never returns a revision older than one it returned before.
  const ordered = withOrdering(client);
  const r = await ordered.get("example/app1/config", { serializable: true });
  console.log("ordered read at the newest revision seen:", r.header.revision === ordered.revision);

  await client.kv.delete("example/app1/", { prefix: true });
  console.log("namespace done");
} finally {
  await client.close();
}
