// Service discovery: three instances register themselves on leases, a client discovers them, picks them in
// round-robin, and sees one disappear when it deregisters (or dies: its lease then expires after `ttl`).
// Run after `npm run build` against `npm start`:  node examples/service-discovery.mjs [127.0.0.1:2379]
import { Client, discover, register, roundRobin } from "etcd-ts/client";

const client = await Client.connect({ endpoints: [process.argv[2] ?? "127.0.0.1:2379"] });
try {
  // Each instance writes `<service>/<id>` on its own lease, kept alive in the background.
  const regs = [];
  for (const n of [1, 2, 3]) {
    regs.push(
      await register(client, "example/echo", { id: `echo-${n}`, addr: `10.0.0.${n}:7000` }, { ttl: 5 }),
    );
  }

  // A client loads the current instances and keeps them current with a watch.
  const discovery = await discover(client, "example/echo");
  console.log(
    "instances:",
    discovery
      .instances()
      .map((i) => i.id)
      .join(", "),
  );

  const picker = roundRobin(discovery);
  console.log("round-robin:", [1, 2, 3, 4].map(() => picker.pick()?.addr).join(" "));

  // Following the service: an iteration first replays the current instances as "add" changes, then the live ones.
  const changes = discovery[Symbol.asyncIterator]();
  for (let i = 0; i < 3; i++) {
    const { value: added } = await changes.next();
    console.log(`change: ${added.type} ${added.instance.id}`);
  }

  // Deregister one instance (revokes its lease) and wait for discovery to see the delete.
  await regs[1].close();
  const { value: change } = await changes.next();
  console.log(`change: ${change.type} ${change.instance.id}`);
  console.log("round-robin:", [1, 2, 3].map(() => picker.pick()?.addr).join(" "));

  discovery.close();
  await Promise.all([regs[0].close(), regs[2].close()]);
  console.log("service-discovery done");
} finally {
  await client.close();
}
