// Specifies the multi-member harness against a 3-member cluster whose peers talk through the proxies: it forms,
// replicates, survives the leader's isolation, heals, honours one-way blackholes, and a kill -9'd follower
// catches up after a restart (from the log, or from a snapshot sent through the proxy when far behind).
// The members are etcd-ts unless ETCD_TS_CLUSTER_TEST_BINARY=etcd (the harness was validated against real etcd).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { KVClient, type PutResponse, type RangeResponse } from "../proto/index.js";
import { type Cluster, type ClusterBinary, startCluster } from "./cluster_process.js";

const BINARY = (process.env.ETCD_TS_CLUSTER_TEST_BINARY ?? "etcd-ts") as ClusterBinary;
/** Generous bounds for a loaded 2-core machine; etcd's election timeout is 1 s. */
const ELECTION_DEADLINE_MS = 15_000;
const CATCH_UP_DEADLINE_MS = 20_000;
const RPC_DEADLINE_MS = 5_000;
/** With --snapshot-count 1000 the leader keeps 5000 entries after a snapshot (etcd's catch-up entries). */
const SNAPSHOT_COUNT = 1000;
const BEHIND_WRITES = 6_000;
const WRITERS = 50;

describe(`a 3-member ${BINARY} cluster through peer proxies`, { timeout: 90_000 }, () => {
  let c: Cluster;
  const kvs = new Map<string, KVClient>();
  const kv = (name: string): KVClient => {
    let k = kvs.get(name);
    if (!k) {
      k = new KVClient(c.member(name).endpoint, credentials.createInsecure(), {
        "grpc.initial_reconnect_backoff_ms": 100,
        "grpc.max_reconnect_backoff_ms": 1_000,
      });
      kvs.set(name, k);
    }
    return k;
  };
  const put = (name: string, key: string, value: string, deadlineMs = RPC_DEADLINE_MS) =>
    new Promise<PutResponse>((resolve, reject) =>
      kv(name).put(
        {
          key: Buffer.from(key),
          value: Buffer.from(value),
          lease: 0n,
          prevKv: false,
          ignoreValue: false,
          ignoreLease: false,
        },
        new Metadata(),
        { deadline: Date.now() + deadlineMs },
        (err: ServiceError | null, res) => (err ? reject(err) : resolve(res)),
      ),
    );
  /** The value of `key` on member `name` ("" if absent); serializable reads what that member has applied. */
  const get = (name: string, key: string, serializable = false) =>
    new Promise<string>((resolve, reject) =>
      kv(name).range(
        {
          key: Buffer.from(key),
          rangeEnd: Buffer.alloc(0),
          limit: 0n,
          revision: 0n,
          sortOrder: 0,
          sortTarget: 0,
          serializable,
          keysOnly: false,
          countOnly: false,
          minModRevision: 0n,
          maxModRevision: 0n,
          minCreateRevision: 0n,
          maxCreateRevision: 0n,
        },
        new Metadata(),
        { deadline: Date.now() + RPC_DEADLINE_MS },
        (err: ServiceError | null, res: RangeResponse) =>
          err ? reject(err) : resolve(res.kvs[0] ? Buffer.from(res.kvs[0].value).toString() : ""),
      ),
    );
  /** Runs a step; on failure, adds what the members logged to the error. */
  const step = async (fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      if (err instanceof Error) err.message += `\n${c.report()}`;
      throw err;
    }
  };

  before(async () => {
    c = await startCluster({ size: 3, binary: BINARY, proxies: true, snapshotCount: SNAPSHOT_COUNT });
  });
  after(async () => {
    for (const k of kvs.values()) k.close();
    await c?.stop();
  });

  it("forms: a leader, and a put on one member is read on another", () =>
    step(async () => {
      const leader = await c.waitForLeader(ELECTION_DEADLINE_MS);
      assert.ok(c.members.some((m) => m.name === leader.name));
      assert.ok(c.members.every((m) => /^[0-9a-f]+$/.test(m.id) && m.pid !== undefined));
      await put("m0", "formed", "yes");
      assert.equal(await get("m2", "formed"), "yes");
      assert.equal(await get("m1", "formed"), "yes");
    }));

  let oldLeader = "";
  let newLeader = "";
  it("the leader isolated: the others elect a new leader and take writes; the old one cannot", () =>
    step(async () => {
      oldLeader = (await c.waitForLeader(ELECTION_DEADLINE_MS)).name;
      c.network!.isolate(oldLeader);
      newLeader = (await c.waitForLeader(ELECTION_DEADLINE_MS, { exclude: [oldLeader] })).name;
      const other = c.members.find((m) => m.name !== oldLeader && m.name !== newLeader)!.name;
      await put(other, "during-partition", "majority");
      assert.equal(await get(newLeader, "during-partition"), "majority");
      await assert.rejects(put(oldLeader, "isolated", "lost", 2_000), "a write to the isolated member");
    }));

  it("healed: the old leader follows the new one and has the writes it missed", () =>
    step(async () => {
      c.network!.heal();
      const leader = await c.waitForLeader(ELECTION_DEADLINE_MS);
      assert.notEqual(leader.name, oldLeader, "its log is behind, so it cannot win");
      await c.waitFor(
        async () => {
          const s = await c.status(oldLeader);
          const l = await c.leader();
          return l !== undefined && s.leader.toString(16) === l.id && l.name !== oldLeader;
        },
        CATCH_UP_DEADLINE_MS,
        () => `${oldLeader} to follow the leader`,
      );
      await c.waitFor(
        async () => (await get(oldLeader, "during-partition", true)) === "majority",
        CATCH_UP_DEADLINE_MS,
        () => `${oldLeader} to apply the write it missed`,
      );
      assert.equal(await get(oldLeader, "isolated", true), "", "the write it took alone was never committed");
    }));

  it("one-way blackholes block exactly one direction, whichever connection carries it", () =>
    step(async () => {
      const leader = await c.waitForLeader(ELECTION_DEADLINE_MS);
      const f = c.members.find((m) => m.name !== leader.name)!.name;
      // F → leader lost: the leader's appends still reach F, which applies a new write and keeps its leader.
      c.network!.blackhole(f, leader.name);
      await put(leader.name, "one-way", "1");
      await c.waitFor(
        async () => (await get(f, "one-way", true)) === "1",
        CATCH_UP_DEADLINE_MS,
        () => `${f} to apply a write while only its own messages are lost`,
      );
      assert.equal((await c.status(f)).leader.toString(16), leader.id);
      c.network!.heal();
      // leader → F lost: F stops hearing heartbeats (carried on the stream F dialed) and loses its leader.
      c.network!.blackhole(leader.name, f);
      await c.waitFor(
        async () => (await c.status(f)).leader.toString(16) !== leader.id,
        ELECTION_DEADLINE_MS,
        () => `${f} to lose its leader`,
      );
      c.network!.heal();
      await c.waitFor(
        async () => (await c.status(f)).leader !== 0n,
        ELECTION_DEADLINE_MS,
        () => `${f} to follow a leader again`,
      );
    }));

  it("a follower kill -9'd and restarted catches up", () =>
    step(async () => {
      const leader = (await c.waitForLeader(ELECTION_DEADLINE_MS)).name;
      const follower = c.members.find((m) => m.name !== leader)!.name;
      const pid = c.member(follower).pid;
      await c.kill(follower, "SIGKILL");
      assert.equal(c.member(follower).state, "stopped");
      for (let i = 0; i < 20; i++) await put(leader, `while-down/${i}`, String(i));
      await c.restart(follower);
      assert.notEqual(c.member(follower).pid, pid);
      await c.waitFor(
        async () => (await get(follower, "while-down/19", true)) === "19",
        CATCH_UP_DEADLINE_MS,
        () => `${follower} to catch up`,
      );
      assert.equal(await get(follower, "formed", true), "yes", "and it kept what it had");
    }));

  it("a follower down for more writes than the leader keeps after a snapshot catches up from a snapshot", () =>
    step(async () => {
      const leader = (await c.waitForLeader(ELECTION_DEADLINE_MS)).name;
      const follower = c.members.find((m) => m.name !== leader)!.name;
      await c.kill(follower, "SIGKILL");
      let next = 0;
      await Promise.all(
        Array.from({ length: WRITERS }, async () => {
          while (next < BEHIND_WRITES) {
            const i = next++;
            await put(leader, `behind/${i}`, "v");
          }
        }),
      );
      await c.restart(follower);
      await c.waitFor(
        async () => (await get(follower, `behind/${BEHIND_WRITES - 1}`, true)) === "v",
        CATCH_UP_DEADLINE_MS,
        () => `${follower} to catch up ${BEHIND_WRITES} writes`,
      );
      // etcd says so in its log; etcd-ts may catch up either way.
      if (BINARY === "etcd") assert.match(c.logs(follower, 1 << 24), /received and saved database snapshot/);
    }));

  it("a paused follower (SIGSTOP) does not stop writes; after SIGCONT it catches up", () =>
    step(async () => {
      const leader = (await c.waitForLeader(ELECTION_DEADLINE_MS)).name;
      const follower = c.members.find((m) => m.name !== leader)!.name;
      await c.kill(follower, "SIGSTOP");
      assert.equal(c.member(follower).state, "paused");
      await put(leader, "while-paused", "ok");
      await c.kill(follower, "SIGCONT");
      await c.waitFor(
        async () => (await get(follower, "while-paused", true)) === "ok",
        CATCH_UP_DEADLINE_MS,
        () => `${follower} to catch up after SIGCONT`,
      );
    }));
});
