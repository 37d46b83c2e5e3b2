// Config publish/subscribe: a subscriber keeps a local cache of `example/config/` current through a watch and
// reacts to changes of single keys; a publisher just puts keys.
// Run after `npm run build` against `npm start`:  node examples/config-pubsub.mjs [127.0.0.1:2379]
import { Client, ConfigCache } from "etcd-ts/client";

const client = await Client.connect({ endpoints: [process.argv[2] ?? "127.0.0.1:2379"] });
try {
  await client.kv.put("example/config/log-level", "info"); // published before the subscriber starts

  const config = new ConfigCache(client, "example/config/");
  await config.ready; // the cache now holds every key under the prefix
  console.log("log-level at start:", config.get("example/config/log-level"));

  // A handler per key; it runs after the cache already holds the new value.
  const seen = new Promise((resolve) => {
    config.on("example/config/log-level", (c) => {
      console.log(`log-level changed: ${c.previous} -> ${c.value}`);
      if (c.value === "debug") resolve();
    });
  });

  // The publisher side: any client putting a key under the prefix.
  await client.kv.put("example/config/log-level", "debug");
  await seen;
  console.log("entries:", JSON.stringify(config.entries()));

  config.close();
  await client.kv.delete("example/config/", { prefix: true });
  console.log("config-pubsub done");
} finally {
  await client.close();
}
