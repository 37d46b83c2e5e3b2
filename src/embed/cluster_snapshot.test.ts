// Specifies raft snapshots carrying the backend: with a small --snapshot-count and catch-up window, a member that
// was down, and a member added later, get the leader's backend over the transport and continue from it with
// the same keys, leases and membership; watchers on a member that swaps in a snapshot keep their events.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { ClientDuplexStream } from "@grpc/grpc-js";
import {
  LeaseGrantRequest,
  PutRequest,
  RangeRequest,
  type WatchRequest,
  type WatchResponse,
} from "../proto/index.js";
import { call, embedConfigOf, memberSpec, peerUrlOf, TestCluster, waitFor } from "./cluster_test_util.js";
import { startEtcd } from "./etcd.js";

const b = (s: string): Buffer => Buffer.from(s);
const HEALTH_MS = 500;
const SMALL = { snapshotCount: 20, snapshotCatchupEntries: 10, healthIntervalMs: HEALTH_MS };

describe("snapshots to members that fell behind", () => {
  let c: TestCluster;
  before(async () => {
    c = await TestCluster.start(3, SMALL);
  });
  after(async () => {
    await c?.close();
  });

  test("a member down while the log was compacted catches up from a snapshot, leases included", async () => {
    const lead = await c.leaderIndex();
    const down = (lead + 1) % 3;
    const live = (lead + 2) % 3;
    await c.stopMember(down);
    const lease = await call<{ ID: bigint }>((cb) =>
      c.clients[live]!.lease.leaseGrant(LeaseGrantRequest.fromPartial({ TTL: 600n }), cb),
    );
    await call((cb) =>
      c.clients[live]!.kv.put(
        PutRequest.fromPartial({ key: b("leased"), value: b("x"), lease: lease.ID }),
        cb,
      ),
    );
    for (let i = 0; i < 100; i++) {
      await call((cb) =>
        c.clients[live]!.kv.put(PutRequest.fromPartial({ key: b(`snap/${i}`), value: b(`${i}`) }), cb),
      );
    }
    const m = await c.restartMember(down);
    await waitFor(() => m.server.kv.revision === c.member(live).server.kv.revision, "the member to catch up");
    assert.ok(m.server.snapshotsApplied >= 1, "caught up through a snapshot");
    const r = await call<{ count: bigint }>((cb) =>
      c.clients[down]!.kv.range(
        RangeRequest.fromPartial({ key: b("snap/"), rangeEnd: b("snap0"), countOnly: true }),
        cb,
      ),
    );
    assert.equal(r.count, 100n);
    assert.ok(m.server.lessor.lookup(lease.ID), "the lease came with the snapshot");
    const leased = await call<{ kvs: { lease: bigint }[] }>((cb) =>
      c.clients[down]!.kv.range(RangeRequest.fromPartial({ key: b("leased"), serializable: true }), cb),
    );
    assert.equal(leased.kvs[0]?.lease, lease.ID);
    // The restored member keeps applying entries after the snapshot.
    await call((cb) =>
      c.clients[live]!.kv.put(PutRequest.fromPartial({ key: b("after"), value: b("y") }), cb),
    );
    await waitFor(
      () => m.server.kv.revision === c.member(live).server.kv.revision,
      "the member to apply later entries",
    );
  });

  test("a member added after the log was compacted starts from a fresh snapshot that includes it", async () => {
    await c.peersConnectedFor(HEALTH_MS);
    const spec = await memberSpec("m4");
    const idx = c.addSpec(spec);
    const added = await call<{ member?: { ID: bigint } }>((cb) =>
      c.clients[0]!.cluster.memberAdd({ peerURLs: [peerUrlOf(spec)], isLearner: false }, cb),
    );
    const m = await startEtcd(
      embedConfigOf(spec, c.initialCluster, { ...SMALL, initialClusterState: "existing" }),
    );
    c.members[idx] = m;
    assert.equal(m.server.memberId, added.member?.ID);
    await waitFor(
      () => m.server.kv.revision === c.member(0).server.kv.revision,
      "the new member to catch up",
    );
    assert.ok(m.server.snapshotsApplied >= 1);
    assert.equal(m.server.cluster.list().length, 4);
    await call((cb) =>
      c.clients[idx]!.kv.put(PutRequest.fromPartial({ key: b("from-m4"), value: b("z") }), cb),
    );
  });
});

describe("watchers on a member that swaps in a snapshot", () => {
  let c: TestCluster;
  before(async () => {
    c = await TestCluster.start(3, SMALL, true);
  });
  after(async () => {
    await c?.close();
  });

  test("get every event exactly once, in order, across the restore", async () => {
    const lead = await c.leaderIndex();
    const f = (lead + 1) % 3;
    const events: string[] = [];
    const w: ClientDuplexStream<WatchRequest, WatchResponse> = c.clients[f]!.watch.watch();
    const created = new Promise<void>((resolve) =>
      w.on("data", (r: WatchResponse) => {
        if (r.created) resolve();
        for (const e of r.events) events.push(e.kv!.key.toString());
      }),
    );
    w.on("error", () => undefined);
    w.write({
      requestUnion: {
        $case: "createRequest",
        value: {
          key: b("w/"),
          rangeEnd: b("w0"),
          startRevision: 0n,
          progressNotify: false,
          filters: [],
          prevKv: false,
          watchId: 0n,
          fragment: false,
        },
      },
    });
    await created;
    await call((cb) =>
      c.clients[lead]!.kv.put(PutRequest.fromPartial({ key: b("w/000"), value: b("1") }), cb),
    );
    await waitFor(() => events.length === 1, "the first event");
    // Peers can no longer reach f: the leader compacts its log past what f has.
    c.proxies[f]!.cut();
    const want = ["w/000"];
    for (let i = 1; i <= 60; i++) {
      const key = `w/${String(i).padStart(3, "0")}`;
      want.push(key);
      await call((cb) => c.clients[lead]!.kv.put(PutRequest.fromPartial({ key: b(key), value: b("x") }), cb));
    }
    assert.equal(events.length, 1, "f is cut off");
    c.proxies[f]!.heal();
    await waitFor(() => events.length === want.length, `${want.length} events (have ${events.length})`);
    assert.ok(c.member(f).server.snapshotsApplied >= 1, "f caught up through a snapshot");
    assert.deepEqual(events, want);
    await call((cb) =>
      c.clients[lead]!.kv.put(PutRequest.fromPartial({ key: b("w/zzz"), value: b("1") }), cb),
    );
    await waitFor(() => events.length === want.length + 1, "an event after the restore");
    w.end();
  });
});
