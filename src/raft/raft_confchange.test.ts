// Specifies membership changes: learners, promotion, one-change-at-a-time, adding and removing members.
import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeConfChange } from "./confchange.js";
import { ProposalDroppedError } from "./raft.js";
import { entry, forceLeader, ids, newTestRaft, newTestStorage, readMessages } from "./testing/fixtures.js";
import { Network } from "./testing/network.js";
import { type ConfChange, type ConfChangeType, type Entry, msg, type NodeId } from "./types.js";

const cc = (type: ConfChangeType, nodeId: NodeId): ConfChange => ({
  type,
  nodeId,
  context: new Uint8Array(0),
});
const ccEntry = (type: ConfChangeType, nodeId: NodeId): Entry => ({
  ...entry(0, 0),
  type: "ConfChange",
  data: encodeConfChange(cc(type, nodeId)),
});

test("a learner receives the log but is never asked to vote and never campaigns", () => {
  const net = new Network(ids(1, 2, 3), { learners: ids(4) });
  net.campaign(1);
  net.stabilize();
  net.propose(1, "a");
  net.stabilize();
  assert.deepEqual(net.node(4).valueList(), ["a"]);
  assert.equal(net.sent("MsgVote", undefined, 4n).length, 0);
  net.crash(1);
  net.tick(4, 100);
  net.campaign(4);
  net.stabilize();
  assert.equal(net.node(4).raft.state, "Follower");
  assert.equal(net.sent("MsgVote", 4n).length + net.sent("MsgPreVote", 4n).length, 0);
});

test("a learner ignores MsgTimeoutNow", () => {
  const r = newTestRaft(2, newTestStorage([1], [2]));
  r.becomeFollower(1n, 1n);
  r.step(msg({ type: "MsgTimeoutNow", from: 1n, to: 2n, term: 1n }));
  assert.equal(r.state, "Follower");
  assert.equal(r.term, 1n);
});

test("a learner's ack does not count toward commit; after AddNode it does", () => {
  const net = new Network(ids(1, 2), { learners: ids(3) });
  net.campaign(1);
  net.stabilize();
  net.crash(2);
  net.propose(1, "a");
  net.stabilize();
  assert.equal(net.node(3).raft.raftLog.lastIndex(), 2n, "the learner has it");
  assert.equal(net.node(1).raft.raftLog.committed, 1n, "but 1 of 2 voters is no quorum");
  net.restart(2);
  net.proposeConfChange(1, { type: "AddNode", nodeId: 3n });
  net.stabilize();
  assert.deepEqual(net.node(1).raft.trk.voters, ids(1, 2, 3));
  assert.equal(net.node(3).raft.isLearner, false);
  net.crash(2);
  net.propose(1, "b");
  net.stabilize();
  assert.deepEqual(net.node(3).valueList(), ["a", "b"], "1 and 3 are a quorum of 3");
});

test("a promoted learner can campaign and win (TestLearnerPromotion)", () => {
  const net = new Network(ids(1), { learners: ids(2) });
  net.campaign(1);
  net.stabilize();
  assert.equal(net.node(1).raft.state, "Leader");
  net.proposeConfChange(1, { type: "AddNode", nodeId: 2n });
  net.stabilize();
  assert.equal(net.node(2).raft.promotable(), true);
  net.campaign(2);
  net.stabilize();
  assert.equal(net.node(2).raft.state, "Leader");
  assert.equal(net.node(1).raft.state, "Follower");
});

test("one conf change at a time: a second one before the first applies becomes an empty entry", () => {
  const r = newTestRaft(1, newTestStorage([1, 2]));
  forceLeader(r);
  r.step(msg({ type: "MsgProp", from: 1n, entries: [ccEntry("AddNode", 3n)] }));
  const index = r.raftLog.lastIndex();
  const pending = r.pendingConfIndex;
  assert.equal(pending, index);
  r.step(msg({ type: "MsgProp", from: 1n, entries: [ccEntry("AddNode", 4n)] }));
  const [second] = r.raftLog.entries(index + 1n, Infinity);
  assert.deepEqual(second, { term: 1n, index: 3n, type: "Normal", data: new Uint8Array(0) });
  assert.equal(r.pendingConfIndex, pending);
});

test("a conf change is accepted again once the pending one is applied", () => {
  const net = Network.create(3);
  net.campaign(1);
  net.stabilize();
  net.proposeConfChange(1, { type: "AddLearnerNode", nodeId: 4n });
  net.proposeConfChange(1, { type: "AddLearnerNode", nodeId: 5n });
  net.stabilize();
  assert.deepEqual(net.node(1).raft.trk.learners, ids(4), "the second was turned into a no-op");
  net.proposeConfChange(1, { type: "AddLearnerNode", nodeId: 5n });
  net.stabilize();
  assert.deepEqual(net.node(1).raft.trk.learners, ids(4, 5));
});

test("a new leader forbids conf changes until its whole log is applied (TestNewLeaderPendingConfig)", () => {
  for (const [addEntry, want] of [
    [false, 0n],
    [true, 1n],
  ] as const) {
    const r = newTestRaft(1, newTestStorage([1, 2]));
    if (addEntry) r.raftLog.append([entry(1, 0)]);
    forceLeader(r);
    assert.equal(r.pendingConfIndex, want);
  }
});

test("removing a member lowers the quorum, so pending entries can commit (TestCommitAfterRemoveNode)", () => {
  const r = newTestRaft(1, newTestStorage([1, 2]));
  forceLeader(r);
  r.step(msg({ type: "MsgProp", from: 1n, entries: [ccEntry("RemoveNode", 2n)] }));
  const ccIndex = r.raftLog.lastIndex();
  r.step(msg({ type: "MsgProp", from: 1n, entries: [entry(0, 0, "hello")] }));
  r.step(msg({ type: "MsgAppResp", from: 2n, to: 1n, term: r.term, index: ccIndex }));
  assert.equal(r.raftLog.committed, ccIndex);
  r.applyConfChange(cc("RemoveNode", 2n));
  assert.equal(r.raftLog.committed, ccIndex + 1n, "hello commits with a quorum of one");
});

test("a new member joining with an empty log is caught up from the start of the leader's log", () => {
  const net = Network.create(3);
  net.campaign(1);
  net.stabilize();
  net.propose(1, "a");
  net.stabilize();
  net.addNode(4n);
  net.proposeConfChange(1, { type: "AddNode", nodeId: 4n });
  net.stabilize();
  const n4 = net.node(4);
  assert.deepEqual(n4.valueList(), ["a"]);
  assert.deepEqual(n4.raft.trk.voters, ids(1, 2, 3, 4));
  assert.equal(n4.raft.lead, 1n);
});

test("a removed follower stops getting messages and never campaigns", () => {
  const net = Network.create(3);
  net.campaign(1);
  net.stabilize();
  net.proposeConfChange(1, { type: "RemoveNode", nodeId: 3n });
  net.stabilize();
  assert.deepEqual(net.node(1).raft.trk.voters, ids(1, 2));
  assert.equal(net.node(3).raft.promotable(), false);
  net.trace = [];
  net.tickAll(30);
  assert.equal(net.trace.filter((m) => m.to === 3n || m.from === 3n).length, 0);
  assert.equal(net.node(1).raft.state, "Leader");
});

test("stepDownOnRemoval: a leader that removes itself steps down and the rest elect a leader", () => {
  const net = Network.create(3, { stepDownOnRemoval: true });
  net.campaign(1);
  net.stabilize();
  net.proposeConfChange(1, { type: "RemoveNode", nodeId: 1n });
  net.stabilize();
  assert.equal(net.node(1).raft.state, "Follower");
  for (let i = 0; i < 100 && !net.leader(); i++) net.tickAll();
  const leader = net.leader();
  assert.ok(leader && leader.id !== 1n, net.describe());
  assert.deepEqual(leader.raft.trk.voters, ids(2, 3));
});

test("without stepDownOnRemoval a removed leader stays leader but drops proposals", () => {
  const net = Network.create(3);
  net.campaign(1);
  net.stabilize();
  net.proposeConfChange(1, { type: "RemoveNode", nodeId: 1n });
  net.stabilize();
  assert.equal(net.node(1).raft.state, "Leader");
  assert.throws(() => net.propose(1, "x"), ProposalDroppedError);
});

test("a node does not campaign while a committed conf change is unapplied", () => {
  const s = newTestStorage([1, 2]);
  s.append([{ ...ccEntry("AddNode", 3n), index: 1n, term: 1n }]);
  s.setHardState({ term: 1n, vote: 0n, commit: 1n });
  const r = newTestRaft(1, s);
  r.step(msg({ type: "MsgHup" }));
  assert.equal(r.state, "Follower");
  r.raftLog.appliedTo(1n);
  r.step(msg({ type: "MsgHup" }));
  assert.equal(r.state, "Candidate");
  assert.equal(readMessages(r).length, 1);
});

test("UpdateNode leaves the configuration as it is; removing the last voter is refused", () => {
  const r = newTestRaft(1, newTestStorage([1, 2]));
  assert.deepEqual(r.applyConfChange(cc("UpdateNode", 2n)), { voters: ids(1, 2), learners: [] });
  r.applyConfChange(cc("RemoveNode", 2n));
  assert.deepEqual(r.applyConfChange(cc("RemoveNode", 1n)).voters, ids(1));
});

test("demoting a voter to learner (AddLearnerNode on a voter)", () => {
  const net = Network.create(3);
  net.campaign(1);
  net.stabilize();
  net.proposeConfChange(1, { type: "AddLearnerNode", nodeId: 3n });
  net.stabilize();
  assert.deepEqual(net.node(1).raft.trk.voters, ids(1, 2));
  assert.deepEqual(net.node(1).raft.trk.learners, ids(3));
  assert.equal(net.node(3).raft.isLearner, true);
  net.crash(1);
  net.campaign(3);
  net.stabilize();
  assert.equal(net.node(3).raft.state, "Follower", "a learner cannot campaign");
});
