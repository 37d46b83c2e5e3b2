// Specifies leader election: timeouts, vote rules, split votes, stale logs, dueling candidates (etcd raft_test.go style).
import assert from "node:assert/strict";
import { test } from "node:test";
import { Rand } from "./rand.js";
import {
  entries,
  forceLeader,
  logTerms,
  newTestRaft,
  newTestStorage,
  readMessages,
} from "./testing/fixtures.js";
import { Network } from "./testing/network.js";
import { type Entry, msg, NONE } from "./types.js";

test("a single voter wins its election at once", () => {
  const r = newTestRaft(1, newTestStorage([1]));
  r.step(msg({ type: "MsgHup" }));
  assert.equal(r.state, "Leader");
  assert.equal(r.term, 1n);
  assert.equal(r.raftLog.committed, 1n, "its empty entry commits with a quorum of one");
});

test("single voter with PreVote also wins at once, at term 1", () => {
  const r = newTestRaft(1, newTestStorage([1]), { preVote: true });
  r.step(msg({ type: "MsgHup" }));
  assert.equal(r.state, "Leader");
  assert.equal(r.term, 1n);
});

test("three voters elect the campaigner; everyone follows it and commits its empty entry", () => {
  const net = Network.create(3);
  net.campaign(1);
  net.stabilize();
  assert.equal(net.node(1).raft.state, "Leader");
  for (const n of net.sortedNodes()) {
    assert.equal(n.raft.term, 1n);
    assert.equal(n.raft.lead, 1n);
    assert.equal(n.raft.raftLog.committed, 1n);
  }
});

test("a candidate without a reachable quorum stays candidate", () => {
  for (const [size, down] of [
    [3, [2, 3]],
    [5, [3, 4, 5]],
  ] as const) {
    const net = Network.create(size);
    for (const id of down) net.crash(id);
    net.campaign(1);
    net.stabilize();
    assert.equal(net.node(1).raft.state, "Candidate", `${size} nodes, ${down.length} down`);
  }
  const net = Network.create(5);
  net.crash(4);
  net.crash(5);
  net.campaign(1);
  net.stabilize();
  assert.equal(net.node(1).raft.state, "Leader", "3 of 5 is a quorum");
});

test("a candidate rejected by a majority becomes follower", () => {
  const r = newTestRaft(1, newTestStorage([1, 2, 3]));
  r.step(msg({ type: "MsgHup" }));
  assert.equal(r.state, "Candidate");
  r.step(msg({ type: "MsgVoteResp", from: 2n, to: 1n, term: 1n, reject: true }));
  assert.equal(r.state, "Candidate");
  r.step(msg({ type: "MsgVoteResp", from: 3n, to: 1n, term: 1n, reject: true }));
  assert.equal(r.state, "Follower");
  assert.equal(r.term, 1n);
});

test("election timeouts are randomized in [electionTick, 2*electionTick)", () => {
  const seen = new Set<number>();
  for (let seed = 1; seed <= 200; seed++) {
    const r = newTestRaft(1, newTestStorage([1, 2, 3]), { rand: new Rand(seed) });
    let ticks = 0;
    while (r.state === "Follower") {
      r.tick();
      ticks++;
      assert.ok(ticks < 100, "never campaigned");
    }
    seen.add(ticks);
  }
  assert.ok(Math.min(...seen) >= 10 && Math.max(...seen) <= 19, `timeouts ${[...seen]}`);
  assert.ok(seen.size >= 8, `timeouts barely vary: ${[...seen]}`);
});

test("split votes: two candidates without a majority, then one wins after a timeout", () => {
  const net = Network.create(4, { seed: 7 });
  net.partition([1n, 2n], [3n, 4n]);
  net.campaign(1);
  net.campaign(3);
  net.stabilize();
  assert.equal(net.node(1).raft.state, "Candidate");
  assert.equal(net.node(3).raft.state, "Candidate");
  assert.equal(net.node(2).raft.vote, 1n);
  assert.equal(net.node(4).raft.vote, 3n);
  net.heal();
  for (let i = 0; i < 100 && !net.leader(); i++) net.tickAll();
  const leader = net.leader();
  assert.ok(leader, "no leader after the split vote");
  assert.ok(leader.raft.term >= 2n);
  net.tickAll(3);
  for (const n of net.sortedNodes()) assert.equal(n.raft.lead, leader.id, net.describe());
});

test("vote rules: grant only to a candidate whose log is at least as up to date (TestVoter)", () => {
  const cases: { ents: Entry[]; logTerm: number; index: number; reject: boolean }[] = [
    // same last term
    { ents: entries(1, 1), logTerm: 1, index: 1, reject: false },
    { ents: entries(1, 1), logTerm: 1, index: 2, reject: false },
    { ents: entries(1, 1, 1), logTerm: 1, index: 1, reject: true },
    // candidate has a higher last term
    { ents: entries(1, 1), logTerm: 2, index: 1, reject: false },
    { ents: entries(1, 1), logTerm: 2, index: 2, reject: false },
    { ents: entries(1, 1, 1), logTerm: 2, index: 1, reject: false },
    // voter has a higher last term
    { ents: entries(1, 2), logTerm: 1, index: 1, reject: true },
    { ents: entries(1, 2), logTerm: 1, index: 2, reject: true },
    { ents: entries(1, 2, 1), logTerm: 1, index: 1, reject: true },
  ];
  for (const [i, c] of cases.entries()) {
    const s = newTestStorage([1, 2]);
    s.append(c.ents);
    const r = newTestRaft(1, s);
    r.step(
      msg({
        type: "MsgVote",
        from: 2n,
        to: 1n,
        term: 3n,
        logTerm: BigInt(c.logTerm),
        index: BigInt(c.index),
      }),
    );
    const out = readMessages(r);
    assert.equal(out.length, 1, `case ${i}`);
    assert.equal(out[0]!.type, "MsgVoteResp");
    assert.equal(out[0]!.reject, c.reject, `case ${i}`);
    assert.equal(r.vote, c.reject ? NONE : 2n, `case ${i} vote recorded`);
  }
});

test("vote rules: one vote per term; a repeat to the same candidate is granted", () => {
  const r = newTestRaft(1, newTestStorage([1, 2, 3]));
  const vote = (from: bigint) => {
    r.step(msg({ type: "MsgVote", from, to: 1n, term: 1n }));
    return readMessages(r)[0]!;
  };
  assert.equal(vote(2n).reject, false);
  assert.equal(vote(3n).reject, true, "already voted for 2 in term 1");
  assert.equal(vote(2n).reject, false, "a repeat is fine");
  assert.equal(r.vote, 2n);
});

test("vote rules: leaders and candidates reject a same-term vote; a known leader blocks a vote", () => {
  const leader = newTestRaft(1, newTestStorage([1, 2, 3]));
  forceLeader(leader);
  readMessages(leader);
  leader.step(msg({ type: "MsgVote", from: 2n, to: 1n, term: 1n, logTerm: 1n, index: 9n }));
  assert.equal(readMessages(leader)[0]!.reject, true);

  const cand = newTestRaft(1, newTestStorage([1, 2, 3]));
  cand.becomeCandidate();
  cand.step(msg({ type: "MsgVote", from: 2n, to: 1n, term: 1n, logTerm: 1n, index: 9n }));
  assert.equal(readMessages(cand)[0]!.reject, true);

  const follower = newTestRaft(1, newTestStorage([1, 2, 3]));
  follower.becomeFollower(1n, 3n);
  follower.step(msg({ type: "MsgVote", from: 2n, to: 1n, term: 1n, logTerm: 1n, index: 9n }));
  assert.equal(readMessages(follower)[0]!.reject, true, "it follows 3 in this term");
});

test("a candidate falls back to follower on a MsgApp of its term or higher", () => {
  for (const term of [1n, 2n]) {
    const r = newTestRaft(1, newTestStorage([1, 2, 3]));
    r.step(msg({ type: "MsgHup" }));
    assert.equal(r.state, "Candidate");
    r.step(msg({ type: "MsgApp", from: 2n, to: 1n, term }));
    assert.equal(r.state, "Follower");
    assert.equal(r.term, term);
    assert.equal(r.lead, 2n);
  }
});

test("a leader steps down on any message of a higher term and ignores older terms", () => {
  const r = newTestRaft(1, newTestStorage([1, 2, 3]));
  r.becomeFollower(1n, NONE);
  forceLeader(r); // term 2
  r.step(msg({ type: "MsgApp", from: 2n, to: 1n, term: 1n }));
  assert.equal(r.state, "Leader");
  assert.equal(readMessages(r).length, 0, "without CheckQuorum/PreVote an old-term message gets no answer");
  r.step(msg({ type: "MsgHeartbeat", from: 3n, to: 1n, term: 5n }));
  assert.equal(r.state, "Follower");
  assert.equal(r.term, 5n);
  assert.equal(r.lead, 3n);
});

test("a node with a stale log cannot win; an up-to-date one can", () => {
  const net = Network.create(3);
  net.campaign(1);
  net.stabilize();
  net.crash(3);
  net.propose(1, "a");
  net.stabilize();
  net.restart(3);
  net.crash(1);
  net.campaign(3);
  net.stabilize();
  assert.notEqual(net.node(3).raft.state, "Leader", "2 has entry 2, 3 does not");
  net.campaign(2);
  net.stabilize();
  assert.equal(net.node(2).raft.state, "Leader");
  assert.deepEqual(net.node(3).valueList(), ["a"]);
});

test("dueling candidates: the one with the shorter log disrupts the term but cannot win (TestDuelingCandidates)", () => {
  const net = Network.create(3);
  net.cut(1n, 3n);
  net.campaign(1);
  net.stabilize();
  net.campaign(3);
  net.stabilize();
  assert.equal(net.node(1).raft.state, "Leader");
  assert.equal(net.node(3).raft.state, "Candidate", "2 already voted for 1");
  net.heal();
  net.campaign(3); // term 2: 1 and 2 step down but refuse 3, whose log lacks entry 1
  net.stabilize();
  for (const n of net.sortedNodes()) {
    assert.equal(n.raft.state, "Follower", `node ${n.id}`);
    assert.equal(n.raft.term, 2n);
  }
  assert.deepEqual(logTerms(net.node(1).raft), [1n]);
  assert.deepEqual(logTerms(net.node(3).raft), []);
});

test("an isolated candidate concedes to a leader of its term (TestCandidateConcede)", () => {
  const net = Network.create(3);
  net.isolate(1n);
  net.campaign(1);
  net.campaign(3);
  net.stabilize();
  net.heal();
  net.tick(3, 1); // heartbeat
  net.propose(3, "force follower");
  net.stabilize();
  const a = net.node(1);
  assert.equal(a.raft.state, "Follower");
  assert.equal(a.raft.term, 1n);
  assert.equal(a.raft.lead, 3n);
  assert.deepEqual(a.valueList(), ["force follower"]);
});
