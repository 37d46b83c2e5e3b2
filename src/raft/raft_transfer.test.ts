// Specifies leadership transfer: TimeoutNow to an up-to-date transferee, catch-up first, abort rules, forwarding.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ProposalDroppedError } from "./raft.js";
import { ids } from "./testing/fixtures.js";
import { Network, type NetworkOptions } from "./testing/network.js";
import { NONE } from "./types.js";

function elected(size = 3, opts: NetworkOptions = {}): Network {
  const net = Network.create(size, opts);
  net.campaign(1);
  net.stabilize();
  return net;
}

const transfer = (net: Network, at: number, to: number) => net.node(at).rn.transferLeader(BigInt(to));

function assertLeader(net: Network, id: number): void {
  const n = net.node(id);
  assert.equal(n.raft.state, "Leader", net.describe());
  assert.equal(n.raft.leadTransferee, NONE);
  for (const m of net.live())
    assert.equal(m.raft.lead, n.id, `node ${m.id} follows ${n.id}\n${net.describe()}`);
}

test("transfer to an up-to-date follower: TimeoutNow, it wins the next term; and back again", () => {
  const net = elected();
  transfer(net, 1, 2);
  net.stabilize();
  assertLeader(net, 2);
  assert.equal(net.node(2).raft.term, 2n);
  assert.equal(net.sent("MsgTimeoutNow", 1n, 2n).length, 1);
  transfer(net, 2, 1);
  net.stabilize();
  assertLeader(net, 1);
  assert.equal(net.node(1).raft.term, 3n);
});

test("transfer to a lagging follower: it is caught up first, then gets TimeoutNow", () => {
  const net = elected();
  net.isolate(3n);
  net.propose(1, "a");
  net.stabilize();
  net.heal();
  assert.equal(net.node(1).raft.trk.progress.get(3n)!.match, 1n);
  transfer(net, 1, 3);
  assert.equal(net.node(1).raft.leadTransferee, 3n);
  assert.equal(net.sent("MsgTimeoutNow").length, 0, "not before 3 has the whole log");
  net.stabilize();
  assertLeader(net, 3);
  assert.deepEqual(net.node(3).valueList(), ["a"]);
});

test("transfer to a follower that needs a snapshot waits for it", () => {
  const net = elected();
  net.isolate(3n);
  net.propose(1, "a");
  net.stabilize();
  net.compact(1);
  net.heal();
  transfer(net, 1, 3);
  net.stabilize();
  assert.equal(net.sent("MsgSnap", 1n, 3n).length, 1);
  assertLeader(net, 3);
});

test("transfer to self or to a non-member does nothing", () => {
  for (const to of [1, 4]) {
    const net = elected();
    transfer(net, 1, to);
    net.stabilize();
    assertLeader(net, 1);
    assert.equal(net.node(1).raft.term, 1n);
  }
});

test("transfer to a learner is ignored", () => {
  const net = new Network(ids(1, 2), { learners: ids(3) });
  net.campaign(1);
  net.stabilize();
  transfer(net, 1, 3);
  assert.equal(net.node(1).raft.leadTransferee, NONE);
  net.stabilize();
  assertLeader(net, 1);
});

test("a transfer that does not finish within an election timeout is aborted", () => {
  const net = elected();
  net.isolate(3n);
  transfer(net, 1, 3);
  const lead = net.node(1).raft;
  assert.equal(lead.leadTransferee, 3n);
  net.tick(1, lead.heartbeatTimeout);
  assert.equal(lead.leadTransferee, 3n);
  net.tick(1, lead.electionTimeout - lead.heartbeatTimeout);
  assert.equal(lead.leadTransferee, NONE);
  assert.equal(lead.state, "Leader");
});

test("proposals are dropped while a transfer is in progress", () => {
  const net = elected();
  net.isolate(3n);
  transfer(net, 1, 3);
  const before = net.node(1).raft.trk.progress.get(1n)!.match;
  assert.throws(() => net.propose(1, "x"), ProposalDroppedError);
  assert.equal(net.node(1).raft.trk.progress.get(1n)!.match, before);
});

test("a second transfer to the same node does not restart the timeout; to another node replaces it", () => {
  const net = elected();
  net.isolate(3n);
  transfer(net, 1, 3);
  const lead = net.node(1).raft;
  net.tick(1, lead.heartbeatTimeout);
  transfer(net, 1, 3);
  net.tick(1, lead.electionTimeout - lead.heartbeatTimeout);
  assert.equal(lead.leadTransferee, NONE, "aborted on the original schedule");

  const net2 = elected();
  net2.isolate(3n);
  transfer(net2, 1, 3);
  transfer(net2, 1, 2);
  net2.stabilize();
  net2.heal();
  net2.tickAll(2);
  assertLeader(net2, 2);
});

test("transferring back to the leader itself cancels a pending transfer", () => {
  const net = elected();
  net.isolate(3n);
  transfer(net, 1, 3);
  transfer(net, 1, 1);
  assert.equal(net.node(1).raft.leadTransferee, NONE);
  assert.doesNotThrow(() => net.propose(1, "x"));
});

test("removing the transferee aborts the transfer", () => {
  const net = elected();
  net.isolate(3n);
  transfer(net, 1, 3);
  net.node(1).rn.applyConfChange({ type: "RemoveNode", nodeId: 3n, context: new Uint8Array(0) });
  assert.equal(net.node(1).raft.leadTransferee, NONE);
});

test("a higher-term election during a transfer ends it (TestLeaderTransferReceiveHigherTermVote)", () => {
  const net = elected();
  net.isolate(3n);
  transfer(net, 1, 3);
  net.campaign(2);
  net.stabilize();
  net.heal();
  net.tickAll(2);
  assertLeader(net, 2);
  assert.equal(net.node(1).raft.term, 2n);
});

test("with checkquorum the transferee's vote bypasses the leader lease", () => {
  const net = elected(3, { checkQuorum: true });
  transfer(net, 1, 2);
  net.stabilize();
  assertLeader(net, 2);
  assert.ok(net.sent("MsgVote", 2n).every((m) => m.context !== undefined && m.context.length > 0));
});

test("transfer via a follower: it forwards the request to the leader", () => {
  const net = elected();
  transfer(net, 2, 2); // 2 asks to become leader
  net.stabilize();
  assertLeader(net, 2);
});

test("transfer via a follower to a third member names that member, not the forwarder", () => {
  const net = elected();
  transfer(net, 2, 3); // asked on follower 2, for 3
  net.stabilize();
  assertLeader(net, 3);
});

test("a follower without a leader drops a transfer request", () => {
  const net = Network.create(3);
  transfer(net, 2, 2);
  net.stabilize();
  assert.equal(net.trace.length, 0);
});
