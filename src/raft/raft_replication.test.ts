// Specifies log replication: MsgApp handling, commit rules, fast backtracking, probe/replicate flow, log overwrite.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ProposalDroppedError } from "./raft.js";
import {
  enc,
  entries,
  entry,
  forceLeader,
  logTerms,
  newTestRaft,
  newTestStorage,
  readMessages,
} from "./testing/fixtures.js";
import { Network } from "./testing/network.js";
import { type Entry, msg, NONE } from "./types.js";

const prop = (data = "somedata") => msg({ type: "MsgProp", from: 1n, to: 1n, entries: [entry(0, 0, data)] });

test("a proposal is replicated, committed by a quorum and applied everywhere", () => {
  const net = Network.create(3);
  net.campaign(1);
  net.stabilize();
  net.propose(1, "a");
  net.propose(2, "b"); // a follower forwards to the leader
  net.stabilize();
  for (const n of net.sortedNodes()) {
    assert.deepEqual(n.valueList(), ["a", "b"], `node ${n.id}`);
    assert.equal(n.raft.raftLog.committed, 3n);
  }
  assert.equal(net.sent("MsgProp", 2n, 1n).length, 1);
});

test("proposals are dropped when there is no leader", () => {
  const net = Network.create(3);
  assert.throws(() => net.propose(1, "a"), ProposalDroppedError, "follower without a leader");
  net.crash(2);
  net.crash(3);
  net.campaign(1);
  net.stabilize();
  assert.equal(net.node(1).raft.state, "Candidate");
  assert.throws(() => net.propose(1, "a"), ProposalDroppedError, "candidate");
  const pre = Network.create(3, { preVote: true });
  pre.campaign(1);
  assert.throws(() => pre.propose(1, "a"), ProposalDroppedError, "pre-candidate");
});

test("disableProposalForwarding: a follower drops proposals instead of forwarding", () => {
  const net = Network.create(3, { disableProposalForwarding: true });
  net.campaign(1);
  net.stabilize();
  assert.throws(() => net.propose(2, "a"), ProposalDroppedError);
  net.propose(1, "b");
  net.stabilize();
  assert.deepEqual(net.node(2).valueList(), ["b"]);
});

test("a leader commits only entries of its own term by counting (Figure 8 rule)", () => {
  const cases: { ack: number; commit: number }[] = [
    { ack: 1, commit: 0 }, // term 1 entry on a quorum: not committed
    { ack: 2, commit: 0 }, // term 2 entry on a quorum: not committed
    { ack: 3, commit: 3 }, // our own empty entry of term 3 commits, and everything before it
  ];
  for (const c of cases) {
    const s = newTestStorage([1, 2]);
    s.append(entries(1, 1, 2));
    s.setHardState({ term: 2n, vote: NONE, commit: 0n });
    const r = newTestRaft(1, s);
    forceLeader(r); // term 3, empty entry at index 3
    r.step(prop());
    readMessages(r);
    r.step(msg({ type: "MsgAppResp", from: 2n, to: 1n, term: 3n, index: BigInt(c.ack) }));
    assert.equal(r.raftLog.committed, BigInt(c.commit), `ack ${c.ack}`);
  }
});

test("a follower handles MsgApp: reject mismatches, append, commit up to min(commit, last new) (TestHandleMsgApp)", () => {
  type Case = {
    index: number;
    logTerm: number;
    commit: number;
    ents?: Entry[];
    last: number;
    committed: number;
    reject: boolean;
  };
  const cases: Case[] = [
    { index: 2, logTerm: 3, commit: 3, last: 2, committed: 0, reject: true }, // previous entry mismatch
    { index: 3, logTerm: 3, commit: 3, last: 2, committed: 0, reject: true }, // previous entry missing
    { index: 1, logTerm: 1, commit: 1, last: 2, committed: 1, reject: false },
    { index: 0, logTerm: 0, commit: 1, ents: [entry(1, 2)], last: 1, committed: 1, reject: false },
    { index: 2, logTerm: 2, commit: 3, ents: entries(3, 2, 2), last: 4, committed: 3, reject: false },
    { index: 2, logTerm: 2, commit: 4, ents: [entry(3, 2)], last: 3, committed: 3, reject: false },
    { index: 1, logTerm: 1, commit: 4, ents: [entry(2, 2)], last: 2, committed: 2, reject: false },
    { index: 1, logTerm: 1, commit: 3, last: 2, committed: 1, reject: false }, // commit up to the last new entry
    { index: 1, logTerm: 1, commit: 3, ents: [entry(2, 2)], last: 2, committed: 2, reject: false },
    { index: 2, logTerm: 2, commit: 3, last: 2, committed: 2, reject: false },
    { index: 2, logTerm: 2, commit: 4, last: 2, committed: 2, reject: false }, // up to the last index
  ];
  for (const [i, c] of cases.entries()) {
    const s = newTestStorage([1]);
    s.append(entries(1, 1, 2));
    const r = newTestRaft(1, s);
    r.becomeFollower(2n, NONE);
    const m = msg({
      type: "MsgApp",
      from: 2n,
      to: 1n,
      term: 2n,
      index: BigInt(c.index),
      logTerm: BigInt(c.logTerm),
    });
    m.commit = BigInt(c.commit);
    m.entries = c.ents ?? [];
    r.step(m);
    assert.equal(r.raftLog.lastIndex(), BigInt(c.last), `case ${i} last`);
    assert.equal(r.raftLog.committed, BigInt(c.committed), `case ${i} commit`);
    const out = readMessages(r);
    assert.equal(out.length, 1);
    assert.equal(out[0]!.type, "MsgAppResp");
    assert.equal(out[0]!.reject, c.reject, `case ${i} reject`);
  }
});

test("a MsgApp below the follower's commit index is answered with the commit index", () => {
  const s = newTestStorage([1, 2]);
  s.append(entries(1, 1, 1, 1));
  s.setHardState({ term: 1n, vote: NONE, commit: 3n });
  const r = newTestRaft(1, s);
  r.step(msg({ type: "MsgApp", from: 2n, to: 1n, term: 1n, index: 1n, logTerm: 1n }));
  const out = readMessages(r)[0]!;
  assert.equal(out.reject, false);
  assert.equal(out.index, 3n);
});

test("heartbeats move the follower's commit forward only (TestHandleHeartbeat)", () => {
  for (const [commit, want] of [
    [3n, 3n],
    [1n, 2n],
  ]) {
    const s = newTestStorage([1, 2]);
    s.append(entries(1, 1, 2, 3));
    const r = newTestRaft(1, s);
    r.becomeFollower(2n, 2n);
    r.raftLog.commitTo(2n);
    r.step(msg({ type: "MsgHeartbeat", from: 2n, to: 1n, term: 2n, commit }));
    assert.equal(r.raftLog.committed, want);
    assert.equal(readMessages(r)[0]!.type, "MsgHeartbeatResp");
  }
});

test("a heartbeat never tells a follower to commit past its match (TestBcastBeat)", () => {
  const s = newTestStorage([1, 2, 3]);
  s.append(entries(1, 1, 1, 1, 1, 1));
  s.setHardState({ term: 1n, vote: NONE, commit: 5n });
  const r = newTestRaft(1, s);
  forceLeader(r);
  r.trk.progress.get(2n)!.match = 5n;
  r.trk.progress.get(3n)!.match = 2n;
  readMessages(r);
  r.step(msg({ type: "MsgBeat" }));
  const beats = readMessages(r);
  assert.deepEqual(
    beats.map((m) => [m.type, m.to, m.commit]),
    [
      ["MsgHeartbeat", 2n, 5n],
      ["MsgHeartbeat", 3n, 2n],
    ],
  );
  assert.ok(beats.every((m) => m.entries.length === 0));
});

test("rejectHint lets the leader skip a whole conflicting term in one round trip (TestFastLogRejection)", () => {
  type Case = {
    leader: number[];
    follower: number[];
    compact?: number;
    hintTerm: number;
    hint: number;
    nextTerm: number;
    next: number;
  };
  const cases: Case[] = [
    {
      leader: [1, 2, 2, 4, 4, 4, 4],
      follower: [1, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3],
      hintTerm: 3,
      hint: 7,
      nextTerm: 2,
      next: 3,
    },
    {
      leader: [1, 2, 2, 3, 4, 4, 4, 5],
      follower: [1, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3],
      hintTerm: 3,
      hint: 8,
      nextTerm: 3,
      next: 4,
    },
    { leader: [1, 1, 1, 1], follower: [1, 2, 2, 4], hintTerm: 1, hint: 1, nextTerm: 1, next: 1 },
    { leader: [1, 1, 1, 1, 1, 1], follower: [1, 2, 2, 4], hintTerm: 1, hint: 1, nextTerm: 1, next: 1 },
    { leader: [1, 1, 1, 1], follower: [1, 2, 2, 4, 4, 4], hintTerm: 1, hint: 1, nextTerm: 1, next: 1 },
    { leader: [1, 1, 1, 4, 5], follower: [1, 1, 1, 4], hintTerm: 4, hint: 4, nextTerm: 4, next: 4 },
    {
      leader: [2, 5, 5, 5, 5, 5, 5, 5, 5],
      follower: [2, 4, 4, 4, 4, 4],
      hintTerm: 4,
      hint: 6,
      nextTerm: 2,
      next: 1,
    },
    {
      leader: [2, 2, 2, 2, 2],
      follower: [2, 4, 4, 4, 4, 4, 4, 4],
      hintTerm: 2,
      hint: 1,
      nextTerm: 2,
      next: 1,
    },
    // a stale MsgApp reaching a follower that compacted past it: hint index 3 with unknown term 0
    { leader: [1, 1, 3], follower: [1, 1, 3, 3, 3], compact: 5, hintTerm: 0, hint: 3, nextTerm: 1, next: 2 },
  ];
  for (const [i, c] of cases.entries()) {
    const lastTerm = BigInt(c.leader[c.leader.length - 1]!);
    const s1 = newTestStorage([1, 2, 3]);
    s1.append(entries(1, ...c.leader));
    s1.setHardState({ term: lastTerm - 1n, vote: NONE, commit: BigInt(c.leader.length) });
    const n1 = newTestRaft(1, s1);
    forceLeader(n1); // bumps the term to lastTerm
    const s2 = newTestStorage([1, 2, 3]);
    s2.append(entries(1, ...c.follower));
    s2.setHardState({ term: lastTerm, vote: 1n, commit: 0n });
    const n2 = newTestRaft(2, s2);
    if (c.compact) s2.compact(BigInt(c.compact));

    n2.step(msg({ type: "MsgHeartbeat", from: 1n, to: 2n }));
    let out = readMessages(n2);
    assert.equal(out.length, 1);
    n1.step(out[0]!);
    out = readMessages(n1);
    assert.equal(out.length, 1, `case ${i}`);
    assert.equal(out[0]!.type, "MsgApp");
    n2.step(out[0]!);
    out = readMessages(n2);
    assert.equal(out[0]!.reject, true, `case ${i}`);
    assert.equal(out[0]!.logTerm, BigInt(c.hintTerm), `case ${i} hint term`);
    assert.equal(out[0]!.rejectHint, BigInt(c.hint), `case ${i} hint index`);
    n1.step(out[0]!);
    out = readMessages(n1);
    assert.equal(out[0]!.logTerm, BigInt(c.nextTerm), `case ${i} next append term`);
    assert.equal(out[0]!.index, BigInt(c.next), `case ${i} next append index`);
  }
});

test("a probing leader sends one MsgApp until the follower answers (TestSendAppendForProgressProbe)", () => {
  const r = newTestRaft(1, newTestStorage([1, 2]));
  forceLeader(r);
  readMessages(r);
  const pr = r.trk.progress.get(2n)!;
  assert.equal(pr.state, "Probe");
  r.step(prop());
  let out = readMessages(r);
  assert.equal(out.length, 1);
  assert.equal(out[0]!.index, 0n, "probes from the start of the log");
  assert.equal(pr.isPaused(), true);
  for (let i = 0; i < 3; i++) r.step(prop());
  assert.equal(readMessages(r).length, 0, "paused: nothing more while the probe is unanswered");
  r.step(msg({ type: "MsgHeartbeatResp", from: 2n, to: 1n, term: r.term }));
  out = readMessages(r);
  assert.equal(out.length, 1, "a heartbeat response unpauses the probe");
  assert.equal(out[0]!.type, "MsgApp");
});

test("a replicating leader streams MsgApps without waiting (TestSendAppendForProgressReplicate)", () => {
  const r = newTestRaft(1, newTestStorage([1, 2]));
  forceLeader(r);
  readMessages(r);
  r.trk.progress.get(2n)!.becomeReplicate();
  for (let i = 0; i < 10; i++) {
    r.step(prop());
    assert.equal(readMessages(r).length, 1);
  }
});

test("a returning old leader's uncommitted entries are overwritten by the new leader's log", () => {
  const net = Network.create(3);
  net.campaign(1);
  net.stabilize();
  net.isolate(1n);
  net.propose(1, "lost1");
  net.propose(1, "lost2");
  net.stabilize();
  net.campaign(2);
  net.stabilize();
  net.propose(2, "kept");
  net.stabilize();
  net.heal();
  net.tick(2, 1); // heartbeat: 1 steps down and is caught up
  net.stabilize();
  assert.equal(net.node(1).raft.state, "Follower");
  for (const n of net.sortedNodes()) {
    assert.deepEqual(logTerms(n.raft), [1n, 2n, 2n], `node ${n.id}`);
    assert.deepEqual(n.valueList(), ["kept"]);
  }
});

test("with checkquorum or prevote, a stale leader's MsgApp is answered so it learns the new term", () => {
  for (const opt of [{ checkQuorum: true }, { preVote: true }, {}]) {
    const s = newTestStorage([1, 2]);
    s.setHardState({ term: 3n, vote: NONE, commit: 0n });
    const r = newTestRaft(1, s, opt);
    r.step(msg({ type: "MsgApp", from: 2n, to: 1n, term: 2n }));
    const out = readMessages(r);
    if (Object.keys(opt).length === 0) assert.equal(out.length, 0, "ignored");
    else assert.deepEqual([out[0]!.type, out[0]!.term], ["MsgAppResp", 3n], JSON.stringify(opt));
  }
});

test("the leader appends its proposals at the end of its log in its term", () => {
  const r = newTestRaft(1, newTestStorage([1]));
  r.step(msg({ type: "MsgHup" }));
  r.step(prop("a"));
  r.step(msg({ type: "MsgProp", from: 1n, entries: [entry(0, 0, "b"), entry(0, 0, "c")] }));
  const ents = r.raftLog.allEntries();
  assert.deepEqual(
    ents.map((e) => [e.index, e.term]),
    [
      [1n, 1n],
      [2n, 1n],
      [3n, 1n],
      [4n, 1n],
    ],
  );
  assert.deepEqual(ents[3]!.data, enc("c"));
  assert.equal(r.raftLog.committed, 4n, "a single voter commits at once");
});
