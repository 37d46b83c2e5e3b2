// Specifies the client against a 3-member cluster (issue 5's failover across members): given one endpoint it
// discovers the others (sync, autoSyncIntervalMs); when the member it is on is killed, reads go on with no error
// and the watch, a lease keepalive and a held lock continue on another member.
// Runs against an etcd-ts cluster (a real etcd one with ETCD_TS_CLIENT_TEST_TARGET=etcd), or the binary named by
// ETCD_TS_CLIENT_CLUSTER_BINARY.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Event_EventType } from "../proto/index.js";
import { Client } from "./client.js";
import { CLUSTER_SKIP, type ClusterMember, TestCluster } from "./cluster_test_util.js";
import { LockedError, Mutex, Session } from "./concurrency/index.js";
import { Op } from "./ops.js";
import { str, take, until, within } from "./test_util.js";
import type { WatchResponse } from "./watcher.js";

/** The first member whose ID satisfies `pick`. */
async function findMember(cluster: TestCluster, pick: (id: bigint) => boolean): Promise<ClusterMember> {
  for (const m of cluster.members) if (pick((await cluster.status(m)).header!.memberId)) return m;
  throw new Error("no such member");
}

const sorted = (xs: string[]): string[] => [...xs].sort();
const puts = (bs: WatchResponse[]): string[] =>
  bs.flatMap((b) => b.events.filter((e) => e.type === Event_EventType.PUT).map((e) => str(e.kv?.key)));

/** Resolves with "pending" if `p` has not settled by the next macrotask. */
const state = (p: Promise<unknown>): Promise<unknown> =>
  Promise.race([p, new Promise((r) => setImmediate(() => r("pending")))]);

describe("client against a 3-member cluster", { skip: CLUSTER_SKIP, timeout: 180_000 }, () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await TestCluster.start(3);
  });
  after(async () => {
    await cluster?.dispose();
  });

  test("sync: a client given one endpoint discovers every member and stays on its endpoint", async () => {
    const first = cluster.members[0]!;
    const client = await Client.connect({ endpoints: [first.clientUrl] });
    try {
      assert.deepEqual(client.endpoints, [first.endpoint]);
      await client.kv.put("sync/k", "v");
      const eps = await client.sync();
      assert.deepEqual(sorted(eps), sorted(cluster.endpoints));
      assert.deepEqual(sorted(client.endpoints), sorted(cluster.endpoints));
      assert.equal(client.activeEndpoint, first.endpoint, "the current connection is kept");
      assert.equal(str((await client.kv.get("sync/k")).kvs[0]!.value), "v");
    } finally {
      await client.close();
    }
  });

  test("autoSyncIntervalMs: the endpoints are synced in the background", async () => {
    const client = new Client({ endpoints: [cluster.members[1]!.endpoint], autoSyncIntervalMs: 100 });
    try {
      await until(() => client.endpoints.length === 3, "three endpoints after an auto sync");
      assert.deepEqual(sorted(client.endpoints), sorted(cluster.endpoints));
    } finally {
      await client.close();
    }
  });
});

/** Which member the client is on when it is killed. */
for (const role of ["leader", "follower"] as const) {
  test(`kill the ${role} the client is on: reads fail over with no error; watch, keepalive and lock go on`, {
    skip: CLUSTER_SKIP,
    timeout: 180_000,
  }, async () => {
    const cluster = await TestCluster.start(3);
    try {
      await failOver(cluster, role);
    } finally {
      await cluster.dispose();
    }
  });
}

async function failOver(cluster: TestCluster, role: "leader" | "follower"): Promise<void> {
  const leaderId = (await cluster.status(cluster.members[0]!)).leader;
  const on = await findMember(cluster, (id) => (role === "leader" ? id === leaderId : id !== leaderId));
  const client = new Client({
    endpoints: [on.endpoint],
    autoSyncIntervalMs: 1_000,
    dialTimeoutMs: 20_000,
  });
  const other = await Client.connect({ endpoints: cluster.endpoints });
  try {
    await client.sync();
    assert.equal(client.endpoints.length, 3);
    // A watcher, a kept-alive lease and a held lock, all made through the member about to die.
    const w = client.watch.watch("fo/", { prefix: true });
    await within(w.created, "watch created");
    const it = w[Symbol.asyncIterator]();
    const got: WatchResponse[] = [];
    const collect = async (n: number): Promise<void> => {
      while (puts(got).length < n) got.push(...(await take(it, 1, `event ${puts(got).length + 1}`)));
    };
    const lease = await client.lease.grant(10);
    const ka = client.lease.keepAlive(lease.ID);
    const renewals = ka[Symbol.asyncIterator]();
    await take(renewals, 1, "first renewal");
    const session = await Session.create(client, { ttl: 10 });
    const mutex = new Mutex(session, "fo-lock");
    await mutex.lock();
    await client.kv.put("fo/1", "before");
    await collect(1);

    const victim = cluster.member(client.activeEndpoint);
    const { members } = await other.cluster.memberList();
    const victimId = members.find((m) => m.clientURLs.includes(victim.clientUrl))!.ID;
    await victim.kill();

    // Reads: no caller-visible error, answered by another member.
    const read = await client.kv.get("fo/1");
    assert.equal(str(read.kvs[0]!.value), "before");
    assert.notEqual(read.header!.memberId, victimId);
    assert.notEqual(client.activeEndpoint, victim.endpoint);
    assert.equal((await client.kv.get("fo/", { prefix: true, serializable: true })).count, 1n);

    // The watch resumes on another member: nothing lost, nothing repeated.
    await client.kv.put("fo/2", "after");
    await other.kv.put("fo/3", "after");
    await collect(3);
    assert.deepEqual(puts(got), ["fo/1", "fo/2", "fo/3"]);

    // The keepalive renews through another member.
    let renewedElsewhere = false;
    while (!renewedElsewhere) {
      const [r] = await take(renewals, 1, "a renewal by another member");
      renewedElsewhere = r!.header!.memberId !== victimId;
    }
    assert.equal(await state(ka.done), "pending", "the lease is not lost");
    assert.ok((await other.lease.timeToLive(lease.ID)).TTL > 0n);

    // The lock is still held: owner-guarded writes succeed, others cannot take it until it is released.
    assert.equal(await state(session.done), "pending", "the session is alive");
    const guarded = await client.kv.txn().If(mutex.isOwner()).Then(Op.put("fo-guarded", "1")).commit();
    assert.ok(guarded.succeeded);
    const rival = await Session.create(other, { ttl: 10 });
    try {
      await assert.rejects(new Mutex(rival, "fo-lock").tryLock(), LockedError);
      await mutex.unlock();
      await within(new Mutex(rival, "fo-lock").lock(), "the rival takes the released lock");
    } finally {
      await rival.close();
    }
    ka.close();
    await session.close();
    await client.lease.revoke(lease.ID);
  } finally {
    await client.close();
    await other.close();
  }
}
