// Heartbeat / liveness notification with a lease: a worker announces itself with a key on a short lease and keeps
// it alive; a monitor watches the key and is notified when the worker stops (its lease runs out).
// Run after `npm run build` against `npm start`:  node examples/heartbeat.mjs [127.0.0.1:2379]
import { Client, EventType } from "etcd-ts/client";

const endpoint = process.argv[2] ?? "127.0.0.1:2379";
const monitor = await Client.connect({ endpoints: [endpoint] });
const worker = await Client.connect({ endpoints: [endpoint] });
try {
  // The monitor watches the worker's heartbeat key first, so it misses nothing.
  const watcher = monitor.watch.watch("example/heartbeat/worker-1");
  await watcher.created;

  // The worker: a 2 s lease (etcd's minimum TTL is about 2 s), renewed every ~TTL/3 by keepAlive.
  const { ID } = await worker.lease.grant(2);
  await worker.kv.put("example/heartbeat/worker-1", "alive", { lease: ID });
  const keepAlive = worker.lease.keepAlive(ID);
  let beats = 0;
  for await (const r of keepAlive) {
    console.log(`heartbeat ${++beats} (ttl ${r.TTL}s)`);
    if (beats === 2) break; // the worker "dies": renewals stop, and the lease expires on its own
  }

  for await (const batch of watcher) {
    for (const e of batch.events) {
      console.log(`monitor: worker-1 ${e.type === EventType.PUT ? "is up" : "is gone (lease expired)"}`);
    }
    if (batch.events.some((e) => e.type === EventType.DELETE)) break;
  }
  console.log("heartbeat done");
} finally {
  await worker.close();
  await monitor.close();
}
