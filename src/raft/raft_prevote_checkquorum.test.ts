// Specifies PreVote (no term inflation by partitioned members) and CheckQuorum (step-down, leader lease).
import assert from "node:assert/strict";
import { test } from "node:test";
import { entries, newTestRaft, newTestStorage, readMessages } from "./testing/fixtures.js";
import { Network } from "./testing/network.js";
import { msg, NONE } from "./types.js";

test("prevote: the election costs no extra term", () => {
  const net = Network.create(3, { preVote: true });
  net.campaign(1);
  assert.equal(net.node(1).raft.state, "PreCandidate");
  assert.equal(net.node(1).raft.term, 0n);
  net.stabilize();
  assert.equal(net.node(1).raft.state, "Leader");
  assert.equal(net.node(1).raft.term, 1n);
  const pre = net.sent("MsgPreVote", 1n);
  assert.equal(pre.length, 2);
  assert.ok(
    pre.every((m) => m.term === 1n),
    "a pre-vote asks for the next term",
  );
  assert.ok(net.sent("MsgPreVoteResp").every((m) => !m.reject));
});

test("prevote: a partitioned node does not bump its term and does not disrupt the leader on return", () => {
  const net = Network.create(3, { preVote: true });
  net.campaign(1);
  net.stabilize();
  net.isolate(3n);
  net.propose(1, "a"); // 3 misses it, so its log is behind
  net.stabilize();
  net.tick(3, 100);
  net.stabilize();
  assert.equal(net.node(3).raft.state, "PreCandidate");
  assert.equal(net.node(3).raft.term, 1n, "pre-elections never change the term");
  net.heal();
  net.tickAll(30);
  assert.equal(net.node(1).raft.state, "Leader");
  for (const n of net.sortedNodes()) {
    assert.equal(n.raft.term, 1n, net.describe());
    assert.equal(n.raft.lead, 1n);
  }
  assert.deepEqual(net.node(3).valueList(), ["a"]);
});

test("without prevote the same partitioned node disrupts the cluster with its higher term", () => {
  const net = Network.create(3);
  net.campaign(1);
  net.stabilize();
  net.isolate(3n);
  net.tick(3, 100);
  net.stabilize();
  const isolatedTerm = net.node(3).raft.term;
  assert.ok(isolatedTerm > 1n);
  net.heal();
  for (let i = 0; i < 100 && net.node(1).raft.term === 1n; i++) net.tickAll();
  assert.ok(net.node(1).raft.term >= isolatedTerm, "the leader had to move to the returning node's term");
});

test("prevote: a pre-candidate with a stale log is rejected and keeps its term", () => {
  const s = newTestStorage([1, 2, 3]);
  s.append(entries(1, 1, 1));
  s.setHardState({ term: 1n, vote: NONE, commit: 0n });
  const r = newTestRaft(1, s, { preVote: true });
  r.step(msg({ type: "MsgPreVote", from: 2n, to: 1n, term: 2n, logTerm: 1n, index: 1n }));
  const resp = readMessages(r)[0]!;
  assert.equal(resp.type, "MsgPreVoteResp");
  assert.equal(resp.reject, true);
  assert.equal(resp.term, 1n, "the rejection carries the voter's term");
  assert.equal(r.term, 1n, "a pre-vote never changes the voter's term");
  r.step(msg({ type: "MsgPreVote", from: 2n, to: 1n, term: 2n, logTerm: 1n, index: 2n }));
  const ok = readMessages(r)[0]!;
  assert.equal(ok.reject, false);
  assert.equal(ok.term, 2n, "a grant carries the requested term");
  assert.equal(r.vote, NONE, "a pre-vote is not a vote");
});

test("prevote: granted for a future term even after voting in the current one", () => {
  const r = newTestRaft(1, newTestStorage([1, 2, 3]), { preVote: true });
  r.step(msg({ type: "MsgVote", from: 2n, to: 1n, term: 1n }));
  assert.equal(readMessages(r)[0]!.reject, false);
  r.step(msg({ type: "MsgPreVote", from: 3n, to: 1n, term: 2n }));
  assert.equal(readMessages(r)[0]!.reject, false);
  assert.equal(r.vote, 2n);
});

test("prevote: a pre-candidate that loses returns to follower at its term", () => {
  const s = newTestStorage([1, 2, 3]);
  s.setHardState({ term: 1n, vote: NONE, commit: 0n });
  const r = newTestRaft(1, s, { preVote: true });
  r.step(msg({ type: "MsgHup" }));
  assert.equal(r.state, "PreCandidate");
  r.step(msg({ type: "MsgPreVoteResp", from: 2n, to: 1n, term: 1n, reject: true }));
  r.step(msg({ type: "MsgPreVoteResp", from: 3n, to: 1n, term: 1n, reject: true }));
  assert.equal(r.state, "Follower");
  assert.equal(r.term, 1n);
});

test("checkquorum: a leader that stops hearing from a quorum steps down", () => {
  const net = Network.create(3, { checkQuorum: true });
  net.campaign(1);
  net.stabilize();
  net.isolate(1n);
  net.tick(1, 10); // first check: everyone was active, flags reset
  assert.equal(net.node(1).raft.state, "Leader");
  net.tick(1, 10);
  assert.equal(net.node(1).raft.state, "Follower");
  assert.equal(net.node(1).raft.lead, NONE);
  assert.equal(net.node(1).raft.term, 1n);
});

test("checkquorum: a leader that hears from a quorum keeps leading", () => {
  const net = Network.create(3, { checkQuorum: true });
  net.campaign(1);
  net.stabilize();
  net.crash(3);
  net.tickAll(50);
  assert.equal(net.node(1).raft.state, "Leader");
  assert.equal(net.node(1).raft.term, 1n);
});

test("checkquorum: the leader lease makes followers ignore a disruptive vote", () => {
  const net = Network.create(3, { checkQuorum: true });
  net.campaign(1);
  net.stabilize();
  net.isolate(3n);
  net.tick(3, 40);
  net.stabilize();
  const term3 = net.node(3).raft.term;
  assert.ok(term3 > 1n && net.node(3).raft.state === "Candidate");
  net.heal();
  net.campaign(3); // its next timeout: MsgVote at term3 + 1
  net.stabilize();
  for (const id of [1, 2])
    assert.equal(net.node(id).raft.term, 1n, `node ${id} ignored the vote inside the lease`);
  assert.equal(net.node(1).raft.state, "Leader");
});

test("without checkquorum the same vote deposes the leader", () => {
  const net = Network.create(3);
  net.campaign(1);
  net.stabilize();
  net.isolate(3n);
  net.tick(3, 40);
  net.stabilize();
  net.heal();
  net.campaign(3);
  net.stabilize();
  assert.notEqual(net.node(1).raft.state, "Leader");
  assert.ok(net.node(1).raft.term > 1n);
});

test("checkquorum: a stuck candidate is freed when the leader learns its higher term", () => {
  const net = Network.create(3, { checkQuorum: true });
  net.campaign(1);
  net.stabilize();
  net.isolate(3n);
  net.tick(3, 40);
  net.stabilize();
  const stuck = net.node(3).raft.term;
  net.heal();
  net.tick(1, 1); // heartbeat at term 1; 3 answers with its higher term
  net.stabilize();
  assert.equal(net.node(1).raft.state, "Follower");
  assert.equal(net.node(1).raft.term, stuck);
  for (let i = 0; i < 100 && !net.leader(); i++) net.tickAll();
  assert.ok(net.leader(), net.describe());
  assert.ok(net.leader()!.raft.term > stuck);
});

test("dueling pre-candidates: with PreVote the stale one does not disturb the leader (TestDuelingPreCandidates)", () => {
  const net = Network.create(3, { preVote: true });
  net.cut(1n, 3n);
  net.campaign(1);
  net.stabilize();
  net.campaign(3);
  net.stabilize();
  net.heal();
  net.campaign(3);
  net.stabilize();
  assert.equal(net.node(1).raft.state, "Leader");
  for (const n of net.sortedNodes()) assert.equal(n.raft.term, 1n, `node ${n.id}`);
});
