// A tour of etcd-ts/client's concurrency recipes: a Session, a Mutex guarding a write, an Election, and an STM.
// Run against any etcd v3 endpoint after `npm run build`:  node examples/concurrency.mjs [127.0.0.1:2379]
import { Client, Election, Mutex, Op, runSTM, Session } from "etcd-ts/client";

const client = await Client.connect({ endpoints: [process.argv[2] ?? "127.0.0.1:2379"] });
const session = await Session.create(client, { ttl: 10 });
try {
  const mutex = new Mutex(session, "example/lock");
  await mutex.lock();
  // The write happens only while we still own the lock.
  const r = await client.kv.txn().If(mutex.isOwner()).Then(Op.put("example/guarded", "1")).commit();
  console.log("locked as", mutex.key, "guarded write:", r.succeeded);
  await mutex.unlock();

  const election = new Election(session, "example/election");
  await election.campaign("me");
  console.log("leader value:", (await election.leader()).value.toString());
  await election.resign();

  await client.kv.put("example/a", "10");
  await runSTM(client, async (stm) => {
    const a = Number(await stm.get("example/a"));
    stm.put("example/a", String(a - 1));
    stm.put("example/b", "1");
  });
  console.log("a after STM:", (await client.kv.get("example/a")).kvs[0]?.value.toString());
} finally {
  await session.close();
  await client.close();
}
