// Specifies snapshots: when the leader sends one, snapshot progress states, follower restore, slow-node catch-up.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Raft } from "./raft.js";
import {
  entries,
  entry,
  forceLeader,
  ids,
  newTestRaft,
  newTestStorage,
  readMessages,
  snapshotOf,
} from "./testing/fixtures.js";
import { Network } from "./testing/network.js";
import { msg } from "./types.js";

/** A leader at term 12 whose log starts after a snapshot at (11, 11) of voters 1, 2 (etcd's testingSnap). */
function leaderAfterSnapshot(): Raft {
  const r = newTestRaft(1, newTestStorage([1]));
  assert.ok(r.restore(snapshotOf(11, 11, [1, 2])));
  forceLeader(r);
  readMessages(r);
  return r;
}

test("a follower that needs compacted entries is sent a snapshot, and the progress waits for it", () => {
  const r = leaderAfterSnapshot();
  const pr = r.trk.progress.get(2n)!;
  pr.next = r.raftLog.firstIndex();
  r.step(msg({ type: "MsgAppResp", from: 2n, to: 1n, term: r.term, index: pr.next - 1n, reject: true }));
  const out = readMessages(r);
  assert.equal(out.length, 1);
  assert.equal(out[0]!.type, "MsgSnap");
  assert.equal(out[0]!.snapshot?.metadata.index, 11n);
  assert.equal(pr.state, "Snapshot");
  assert.equal(pr.pendingSnapshot, 11n);
});

test("no snapshot is sent to a follower that is not recently active", () => {
  const r = leaderAfterSnapshot();
  const pr = r.trk.progress.get(2n)!;
  pr.next = r.raftLog.firstIndex() - 1n;
  pr.recentActive = false;
  r.step(msg({ type: "MsgProp", from: 1n, entries: [entry(0, 0, "somedata")] }));
  assert.equal(readMessages(r).length, 0);
  assert.equal(pr.state, "Probe");
});

test("replication to a follower in Snapshot state is paused", () => {
  const r = leaderAfterSnapshot();
  r.trk.progress.get(2n)!.becomeSnapshot(11n);
  r.step(msg({ type: "MsgProp", from: 1n, entries: [entry(0, 0, "somedata")] }));
  assert.equal(readMessages(r).length, 0);
});

test("MsgSnapStatus: a failure probes from scratch, a success probes after the snapshot; both wait", () => {
  for (const [reject, next] of [
    [true, 1n],
    [false, 12n],
  ] as const) {
    const r = leaderAfterSnapshot();
    const pr = r.trk.progress.get(2n)!;
    pr.next = 1n;
    pr.becomeSnapshot(11n);
    r.step(msg({ type: "MsgSnapStatus", from: 2n, to: 1n, reject }));
    assert.equal(pr.state, "Probe");
    assert.equal(pr.pendingSnapshot, 0n);
    assert.equal(pr.next, next, reject ? "failure" : "success");
    assert.equal(pr.isPaused(), true, "waits for a heartbeat response or MsgAppResp");
  }
});

test("an ack at or past the pending snapshot aborts it and resumes replication (TestSnapshotAbort)", () => {
  const r = leaderAfterSnapshot();
  const pr = r.trk.progress.get(2n)!;
  pr.next = 1n;
  pr.becomeSnapshot(11n);
  r.step(msg({ type: "MsgAppResp", from: 2n, to: 1n, term: r.term, index: 11n }));
  assert.equal(pr.pendingSnapshot, 0n);
  assert.equal(pr.state, "Replicate");
  assert.equal(pr.next, 13n, "the leader's empty entry at 12 went out optimistically");
  assert.equal(pr.inflights.count(), 1);
});

test("restore: replaces the log and configuration, once; no campaign until the snapshot is applied", () => {
  const r = newTestRaft(1, newTestStorage([1, 2]));
  const s = snapshotOf(11, 11, [1, 2, 3]);
  assert.equal(r.restore(s), true);
  assert.equal(r.raftLog.lastIndex(), 11n);
  assert.equal(r.raftLog.term(11n), 11n);
  assert.deepEqual(r.trk.voters, ids(1, 2, 3));
  assert.equal(r.restore(s), false, "the same snapshot again is ignored");
  assert.equal(r.promotable(), false);
  for (let i = 0; i < 2 * r.electionTimeout; i++) r.tick();
  assert.equal(r.state, "Follower");
});

test("restore: learners come and go with the snapshot's configuration", () => {
  const asLearner = newTestRaft(3, newTestStorage([1, 2], [3]));
  assert.equal(asLearner.isLearner, true);
  assert.ok(asLearner.restore(snapshotOf(11, 11, [1, 2], [3])));
  assert.equal(asLearner.isLearner, true);
  assert.deepEqual(asLearner.trk.learners, ids(3));

  const demoted = newTestRaft(3, newTestStorage([1, 2, 3]));
  assert.ok(demoted.restore(snapshotOf(11, 11, [1, 2], [3])));
  assert.equal(demoted.isLearner, true);

  const promoted = newTestRaft(3, newTestStorage([1, 2], [3]));
  assert.ok(promoted.restore(snapshotOf(11, 11, [1, 2, 3])));
  assert.equal(promoted.isLearner, false);
});

test("restore: ignored when committed already covers it; fast-forwards commit when the entry matches", () => {
  const r = newTestRaft(1, newTestStorage([1, 2]));
  r.raftLog.append(entries(1, 1, 1, 1));
  r.raftLog.commitTo(1n);
  assert.equal(r.restore(snapshotOf(1, 1, [1, 2])), false);
  assert.equal(r.raftLog.committed, 1n);
  assert.equal(r.restore(snapshotOf(2, 1, [1, 2])), false, "we have (2, 1): no need to restore");
  assert.equal(r.raftLog.committed, 2n);
  assert.equal(r.raftLog.lastIndex(), 3n, "the log is kept");
});

test("restore: a snapshot that does not list us is refused", () => {
  const r = newTestRaft(4, newTestStorage([1, 2, 4]));
  assert.equal(r.restore(snapshotOf(11, 11, [1, 2, 3])), false);
  assert.equal(r.raftLog.lastIndex(), 0n);
});

test("restore: only a follower restores; a leader asked to bumps its term and steps down", () => {
  const r = newTestRaft(1, newTestStorage([1, 2]));
  forceLeader(r);
  assert.equal(r.restore(snapshotOf(11, 11, [1, 2])), false);
  assert.equal(r.state, "Follower");
  assert.equal(r.term, 2n);
});

test("a MsgSnap makes its sender the leader and is acked with the snapshot index", () => {
  const r = newTestRaft(2, newTestStorage([1, 2]));
  r.step(msg({ type: "MsgSnap", from: 1n, to: 2n, term: 2n, snapshot: snapshotOf(11, 11, [1, 2]) }));
  assert.equal(r.lead, 1n);
  const out = readMessages(r);
  assert.deepEqual([out[0]!.type, out[0]!.index, out[0]!.reject], ["MsgAppResp", 11n, false]);
});

test("a follower partitioned while the leader compacts is caught up by a snapshot", () => {
  const net = Network.create(3);
  net.campaign(1);
  net.stabilize();
  net.isolate(3n);
  for (let i = 0; i < 20; i++) net.propose(1, `v${i}`);
  net.stabilize();
  net.compact(1);
  assert.equal(net.node(1).raft.raftLog.firstIndex(), 22n);
  net.heal();
  net.tickAll(2);
  assert.equal(net.sent("MsgSnap", 1n, 3n).length, 1);
  const n3 = net.node(3);
  assert.equal(n3.raft.raftLog.committed, 21n);
  assert.equal(n3.storage.snapshot().metadata.index, 21n);
  assert.deepEqual(n3.valueList(), net.node(1).valueList());
  assert.equal(net.node(1).raft.trk.progress.get(3n)!.state, "Replicate");
  net.propose(1, "after");
  net.stabilize();
  assert.equal(n3.valueList().at(-1), "after");
});

test("a lost snapshot is reported, and a new one is sent once the follower answers again", () => {
  const net = Network.create(3);
  net.campaign(1);
  net.stabilize();
  net.isolate(3n);
  for (let i = 0; i < 5; i++) net.propose(1, `v${i}`);
  net.stabilize();
  net.compact(1);
  net.heal();
  let dropped = 0;
  net.dropIf((m) => m.type === "MsgSnap" && dropped++ === 0);
  net.tickAll(1);
  assert.equal(dropped, 1, "the first snapshot was lost");
  assert.notEqual(
    net.node(1).raft.trk.progress.get(3n)!.state,
    "Snapshot",
    "the failure report moved it to Probe",
  );
  net.tickAll(3);
  assert.equal(net.sent("MsgSnap", 1n, 3n).length, 2);
  assert.deepEqual(net.node(3).valueList(), ["v0", "v1", "v2", "v3", "v4"]);
});

test("a restarted node with a snapshot in storage recovers state and log from it", () => {
  const net = Network.create(3);
  net.campaign(1);
  net.stabilize();
  for (let i = 0; i < 3; i++) net.propose(1, `v${i}`);
  net.stabilize();
  net.compact(2);
  net.crash(2);
  net.restart(2);
  const r = net.node(2).raft;
  assert.equal(r.raftLog.firstIndex(), 5n);
  assert.equal(r.raftLog.committed, 4n);
  assert.equal(r.raftLog.applied, 4n);
  assert.equal(r.term, 1n);
  assert.equal(r.vote, 1n, "its vote survived the restart");
  net.propose(1, "v3");
  net.stabilize();
  assert.deepEqual(net.node(2).valueList(), ["v0", "v1", "v2", "v3"]);
});
