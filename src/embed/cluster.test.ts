// Specifies static clusters in one process: bootstrap with etcd's IDs, requests on any member (writes forwarded
// to the leader through raft, linearizable reads by ReadIndex), lease renewals and TimeToLive forwarded to the
// leader over the peer port, etcd's errors without a leader (hasleader), and a member restart catching up.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type ClientDuplexStream, type ServiceError, status } from "@grpc/grpc-js";
import { PutRequest, RangeRequest, type WatchRequest, type WatchResponse } from "../proto/index.js";
import { clusterId as deriveClusterId, memberId as deriveMemberId } from "../server/ids.js";
import { call, requireLeader, TestCluster, waitFor } from "./cluster_test_util.js";

const b = (s: string): Buffer => Buffer.from(s);
const put = (key: Buffer, value: Buffer): PutRequest => PutRequest.fromPartial({ key, value });

describe("a 3-member cluster in one process", () => {
  let c: TestCluster;
  before(async () => {
    c = await TestCluster.start(3);
  });
  after(async () => {
    await c?.close();
  });

  test("members and the cluster get etcd's IDs; every member lists all three, published", async () => {
    const ids = c.specs.map((s) => deriveMemberId([`http://127.0.0.1:${s.peerPort}`], "cluster-test"));
    const cid = deriveClusterId(ids);
    for (const [i, s] of c.specs.entries()) {
      const srv = c.member(i).server;
      assert.equal(srv.memberId, ids[i], s.name);
      assert.equal(srv.clusterId, cid);
    }
    await waitFor(async () => {
      const r = await call<{ members: { name: string }[] }>((cb) =>
        c.clients[0]!.cluster.memberList({ linearizable: false }, cb),
      );
      return r.members.every((m) => m.name !== "");
    }, "every member to publish its name");
    const list = await call<{
      header?: { clusterId: bigint };
      members: { ID: bigint; name: string; peerURLs: string[]; clientURLs: string[]; isLearner: boolean }[];
    }>((cb) => c.clients[1]!.cluster.memberList({ linearizable: true }, cb));
    assert.equal(list.header?.clusterId, cid);
    assert.deepEqual(
      list.members.map((m) => m.ID),
      [...ids].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)),
    );
    for (const m of list.members) {
      const s = c.specs[ids.indexOf(m.ID)]!;
      assert.equal(m.name, s.name);
      assert.deepEqual(m.peerURLs, [`http://127.0.0.1:${s.peerPort}`]);
      assert.deepEqual(m.clientURLs, [`http://127.0.0.1:${s.clientPort}`]);
      assert.equal(m.isLearner, false);
    }
  });

  test("Status agrees on the leader and indexes on every member", async () => {
    const lead = await c.leaderIndex();
    const leaderId = c.member(lead).server.memberId;
    await call((cb) => c.clients[0]!.kv.put(put(b("status"), b("x")), cb));
    await waitFor(async () => {
      const sts = await Promise.all(
        c.clients.map((cl) =>
          call<{ raftAppliedIndex: bigint; raftIndex: bigint }>((cb) => cl.maintenance.status({}, cb)),
        ),
      );
      return sts.every(
        (s) => s.raftAppliedIndex === sts[0]!.raftAppliedIndex && s.raftIndex === sts[0]!.raftIndex,
      );
    }, "every member to apply the put");
    for (const [i, cl] of c.clients.entries()) {
      const st = await call<{
        leader: bigint;
        raftTerm: bigint;
        isLearner: boolean;
        errors: string[];
        header?: { memberId: bigint };
      }>((cb) => cl.maintenance.status({}, cb));
      assert.equal(st.leader, leaderId);
      assert.equal(st.header?.memberId, c.member(i).server.memberId);
      assert.equal(st.isLearner, false);
      assert.deepEqual(st.errors, []);
    }
  });

  test("a put on a follower is read linearizably on another follower; serializable reads are local", async () => {
    const lead = await c.leaderIndex();
    const [f1, f2] = [0, 1, 2].filter((i) => i !== lead) as [number, number];
    for (let i = 0; i < 20; i++) {
      await call((cb) => c.clients[f1]!.kv.put(put(b(`k${i}`), b(`v${i}`)), cb));
      const r = await call<{ kvs: { value: Buffer }[] }>((cb) =>
        c.clients[f2]!.kv.range(RangeRequest.fromPartial({ key: b(`k${i}`), serializable: false }), cb),
      );
      assert.equal(r.kvs[0]?.value.toString(), `v${i}`);
    }
    await waitFor(
      () => c.member(lead).server.kv.revision === c.member(f2).server.kv.revision,
      "the leader to apply",
    );
    const s = await call<{ kvs: { value: Buffer }[] }>((cb) =>
      c.clients[lead]!.kv.range(RangeRequest.fromPartial({ key: b("k19"), serializable: true }), cb),
    );
    assert.equal(s.kvs[0]?.value.toString(), "v19");
  });

  test("leases: a follower's grant, keepalive and TimeToLive reach the leader; unknown leases as etcd", async () => {
    const lead = await c.leaderIndex();
    const f = (lead + 1) % 3;
    const fl = c.clients[f]!.lease;
    const g = await call<{ ID: bigint; TTL: bigint }>((cb) => fl.leaseGrant({ TTL: 30n, ID: 0n }, cb));
    assert.equal(g.TTL, 30n);
    const ttl = await call<{ TTL: bigint; grantedTTL: bigint; header?: { memberId: bigint } }>((cb) =>
      fl.leaseTimeToLive({ ID: g.ID, keys: false }, cb),
    );
    assert.equal(ttl.grantedTTL, 30n);
    assert.ok(ttl.TTL > 0n && ttl.TTL <= 30n, `remaining TTL ${ttl.TTL}`);
    assert.equal(ttl.header?.memberId, c.member(f).server.memberId);
    const missing = await call<{ TTL: bigint }>((cb) => fl.leaseTimeToLive({ ID: 12345n, keys: false }, cb));
    assert.equal(missing.TTL, -1n);
    const ka = fl.leaseKeepAlive();
    const replies: { ID: bigint; TTL: bigint }[] = [];
    const got = new Promise<void>((resolve, reject) => {
      ka.on("data", (r: { ID: bigint; TTL: bigint }) => {
        replies.push(r);
        if (replies.length === 2) resolve();
      });
      ka.on("error", reject);
    });
    ka.write({ ID: g.ID });
    ka.write({ ID: 999n });
    await got;
    ka.end();
    assert.deepEqual(
      replies.map((r) => [r.ID, r.TTL]),
      [
        [g.ID, 30n],
        [999n, 0n],
      ],
    );
    // A renewal on the leader resets the deadline that the follower's TimeToLive reports.
    assert.ok(c.member(lead).server.lessor.lookup(g.ID));
  });

  test("a restarted member rejoins and catches up on what it missed", async () => {
    const lead = await c.leaderIndex();
    const f = (lead + 2) % 3;
    await c.stopMember(f);
    const other = [0, 1, 2].find((i) => i !== f)!;
    for (let i = 0; i < 10; i++) {
      await call((cb) => c.clients[other]!.kv.put(put(b(`missed${i}`), b("x")), cb));
    }
    const m = await c.restartMember(f);
    await waitFor(
      () => m.server.kv.revision === c.member(other).server.kv.revision,
      "the restarted member to catch up",
    );
    const r = await call<{ count: bigint }>((cb) =>
      c.clients[f]!.kv.range(
        RangeRequest.fromPartial({ key: b("missed"), rangeEnd: b("missee"), countOnly: true }),
        cb,
      ),
    );
    assert.equal(r.count, 10n);
  });

  test("without a leader: hasleader calls fail at once, proposals time out, hasleader watches are cancelled", async () => {
    const survivor = 0;
    const watch: ClientDuplexStream<WatchRequest, WatchResponse> = c.clients[survivor]!.watch.watch(
      requireLeader(),
    );
    const watchEnded = new Promise<ServiceError>((resolve) =>
      watch.on("error", (e: ServiceError) => resolve(e)),
    );
    watch.on("data", () => undefined);
    watch.write({
      requestUnion: {
        $case: "createRequest",
        value: {
          key: b("w"),
          rangeEnd: Buffer.alloc(0),
          startRevision: 0n,
          progressNotify: false,
          filters: [],
          prevKv: false,
          watchId: 0n,
          fragment: false,
        },
      },
    });
    await c.stopMember(1);
    await c.stopMember(2);
    await waitFor(() => c.member(survivor).server.leader === 0n, "the survivor to lose its leader");
    const pending = call((cb) => c.clients[survivor]!.kv.put(put(b("lost"), b("x")), cb));
    await assert.rejects(
      call((cb) => c.clients[survivor]!.kv.put(put(b("x"), b("x")), requireLeader(), cb)),
      (e: ServiceError) => e.code === status.UNAVAILABLE && e.details === "etcdserver: no leader",
    );
    await assert.rejects(
      call((cb) => c.clients[survivor]!.maintenance.status({}, requireLeader(), cb)),
      (e: ServiceError) => e.code === status.UNAVAILABLE && e.details === "etcdserver: no leader",
    );
    const noLead = await call<{ leader: bigint; errors: string[] }>((cb) =>
      c.clients[survivor]!.maintenance.status({}, cb),
    );
    assert.equal(noLead.leader, 0n);
    assert.deepEqual(noLead.errors, ["etcdserver: no leader"]);
    const ended = await watchEnded;
    assert.equal(ended.code, status.UNAVAILABLE);
    assert.equal(ended.details, "etcdserver: no leader");
    await assert.rejects(
      pending,
      (e: ServiceError) => e.code === status.UNAVAILABLE && e.details === "etcdserver: request timed out",
    );
  });
});

describe("a 5-member cluster in one process", () => {
  test("bootstraps, elects one leader and replicates to every member", async () => {
    const c = await TestCluster.start(5);
    try {
      await c.leaderIndex();
      await call((cb) => c.clients[4]!.kv.put(put(b("five"), b("5")), cb));
      const rev = c.member(4).server.kv.revision;
      await waitFor(
        () => c.running().every((i) => c.member(i).server.kv.revision === rev),
        "all five to apply",
      );
      const list = await call<{ members: unknown[] }>((cb) =>
        c.clients[2]!.cluster.memberList({ linearizable: false }, cb),
      );
      assert.equal(list.members.length, 5);
    } finally {
      await c.close();
    }
  });
});
