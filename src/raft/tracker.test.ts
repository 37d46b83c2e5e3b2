// Specifies ProgressTracker: quorum commit index, vote tallies, quorum activity and configuration changes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ids } from "./testing/fixtures.js";
import { ProgressTracker } from "./tracker.js";

function tracker(
  voters: number[],
  learners: number[] = [],
  matches: Record<number, number> = {},
): ProgressTracker {
  const t = new ProgressTracker(256, 0);
  t.setConfig({ voters: ids(...voters), learners: ids(...learners) }, 1n);
  for (const [id, m] of Object.entries(matches)) t.progress.get(BigInt(id))!.match = BigInt(m);
  return t;
}

test("committed is the largest index a majority of voters has; learners do not count", () => {
  const cases: { voters: number[]; learners?: number[]; matches: Record<number, number>; want: number }[] = [
    { voters: [1], matches: { 1: 5 }, want: 5 },
    { voters: [1, 2], matches: { 1: 5, 2: 3 }, want: 3 },
    { voters: [1, 2, 3], matches: { 1: 5, 2: 3, 3: 1 }, want: 3 },
    { voters: [1, 2, 3, 4], matches: { 1: 5, 2: 3, 3: 1, 4: 7 }, want: 3 },
    { voters: [1, 2, 3, 4, 5], matches: { 1: 5, 2: 3, 3: 1, 4: 7, 5: 9 }, want: 5 },
    { voters: [1, 2, 3], learners: [4, 5], matches: { 1: 5, 2: 1, 3: 1, 4: 9, 5: 9 }, want: 1 },
    { voters: [], matches: {}, want: 0 },
  ];
  for (const c of cases) {
    assert.equal(tracker(c.voters, c.learners, c.matches).committed(), BigInt(c.want), JSON.stringify(c));
  }
});

test("voteResult: won with a majority of yes, lost once a majority is out of reach", () => {
  const t = tracker([1, 2, 3, 4, 5]);
  const cases: { votes: Record<number, boolean>; want: string }[] = [
    { votes: {}, want: "Pending" },
    { votes: { 1: true, 2: true }, want: "Pending" },
    { votes: { 1: true, 2: true, 3: true }, want: "Won" },
    { votes: { 1: true, 2: false, 3: false }, want: "Pending" },
    { votes: { 1: true, 2: false, 3: false, 4: false }, want: "Lost" },
    { votes: { 1: true, 2: true, 9: true }, want: "Pending" }, // a non-voter's vote does not count
  ];
  for (const c of cases) {
    assert.equal(
      t.voteResult((id) => c.votes[Number(id)]),
      c.want,
      JSON.stringify(c.votes),
    );
  }
  assert.equal(
    tracker([]).voteResult(() => undefined),
    "Won",
    "an empty configuration wins trivially",
  );
});

test("recordVote keeps the first vote of each member", () => {
  const t = tracker([1, 2, 3]);
  t.recordVote(1n, true);
  t.recordVote(2n, false);
  t.recordVote(2n, true);
  assert.deepEqual(t.tallyVotes(), { granted: 1, rejected: 1, result: "Pending" });
  t.recordVote(3n, true);
  assert.equal(t.tallyVotes().result, "Won");
  t.resetVotes();
  assert.equal(t.tallyVotes().granted, 0);
});

test("quorumActive counts the leader itself and recently active voters only", () => {
  const t = tracker([1, 2, 3], [4]);
  for (const pr of t.progress.values()) pr.recentActive = false;
  t.progress.get(4n)!.recentActive = true;
  assert.equal(t.quorumActive(1n), false, "a learner does not make a quorum");
  t.progress.get(3n)!.recentActive = true;
  assert.equal(t.quorumActive(1n), true);
});

test("setConfig keeps progress of members that stay and adds new ones as recently active", () => {
  const t = tracker([1, 2, 3]);
  t.progress.get(2n)!.match = 7n;
  t.progress.get(3n)!.recentActive = false;
  t.setConfig({ voters: ids(1, 2), learners: ids(3, 4) }, 9n);
  assert.deepEqual(t.voters, ids(1, 2));
  assert.deepEqual(t.learners, ids(3, 4));
  assert.equal(t.progress.get(2n)!.match, 7n);
  assert.equal(t.progress.get(3n)!.isLearner, true, "demoted in place");
  assert.equal(t.progress.get(3n)!.recentActive, false);
  assert.equal(t.progress.get(4n)!.next, 9n);
  assert.equal(t.progress.get(4n)!.recentActive, true);
  t.setConfig({ voters: ids(1, 4), learners: [] }, 9n);
  assert.equal(t.progress.has(2n), false);
  assert.equal(t.progress.get(4n)!.isLearner, false, "promoted in place");
  assert.deepEqual(t.ids(), ids(1, 4));
  assert.equal(t.quorum(), 2);
});

test("a member listed as both voter and learner is a voter", () => {
  const t = tracker([1, 2], [2, 3]);
  assert.deepEqual(t.learners, ids(3));
  assert.equal(t.isVoter(2n), true);
});
