// Specifies RawNode: bootstrap, the Ready/advance cycle (hard state, mustSync, paging), restart, status, guards.
import assert from "node:assert/strict";
import { test } from "node:test";
import { AssertionError } from "./assert.js";
import { decodeConfChange } from "./confchange.js";
import { RawNode, type Ready } from "./rawnode.js";
import { MemoryStorage } from "./storage.js";
import {
  dec,
  enc,
  entry,
  ids,
  newTestRawNode,
  newTestStorage,
  snapshotOf,
  testConfig,
} from "./testing/fixtures.js";
import { msg } from "./types.js";

/** Persist and apply a Ready the way an application must, then advance. */
function handle(rn: RawNode, storage: MemoryStorage, rd: Ready): void {
  if (rd.snapshot) storage.applySnapshot(rd.snapshot);
  storage.append(rd.entries);
  if (rd.hardState) storage.setHardState(rd.hardState);
  for (const e of rd.committedEntries)
    if (e.type === "ConfChange") rn.applyConfChange(decodeConfChange(e.data));
  rn.advance(rd);
}

function cycle(rn: RawNode, storage: MemoryStorage): Ready {
  const rd = rn.ready();
  handle(rn, storage, rd);
  return rd;
}

test("bootstrap writes the initial members as committed conf changes at term 1", () => {
  const s = new MemoryStorage();
  const rn = new RawNode(testConfig(1, s));
  rn.bootstrap(ids(1, 2, 3));
  assert.ok(rn.hasReady());
  const rd = rn.ready();
  assert.deepEqual(rd.hardState, { term: 1n, vote: 0n, commit: 3n });
  assert.equal(rd.mustSync, true);
  assert.deepEqual(
    rd.entries.map((e) => [e.index, e.term, e.type, decodeConfChange(e.data).nodeId]),
    [
      [1n, 1n, "ConfChange", 1n],
      [2n, 1n, "ConfChange", 2n],
      [3n, 1n, "ConfChange", 3n],
    ],
  );
  assert.deepEqual(
    rd.committedEntries.map((e) => e.index),
    [1n, 2n, 3n],
  );
  handle(rn, s, rd);
  assert.equal(rn.hasReady(), false);
  assert.deepEqual(rn.status().confState, { voters: ids(1, 2, 3), learners: [] });
  assert.equal(rn.status().applied, 3n);
});

test("bootstrap refuses an empty peer list and a non-empty storage", () => {
  assert.throws(() => new RawNode(testConfig(1, new MemoryStorage())).bootstrap([]), AssertionError);
  const s = newTestStorage([1]);
  s.append([entry(1, 1)]);
  assert.throws(() => new RawNode(testConfig(1, s)).bootstrap(ids(1)), AssertionError);
});

test("a bootstrapped single member campaigns, leads and commits its proposals", () => {
  const s = new MemoryStorage();
  const rn = new RawNode(testConfig(1, s));
  rn.bootstrap(ids(1));
  cycle(rn, s);
  rn.campaign();
  const rd = cycle(rn, s);
  assert.deepEqual(rd.softState, { lead: 1n, raftState: "Leader" });
  assert.deepEqual(rd.hardState, { term: 2n, vote: 1n, commit: 2n });
  assert.equal(rd.mustSync, true);
  rn.propose(enc("foo"));
  const rd2 = cycle(rn, s);
  assert.equal(rd2.softState, undefined, "unchanged soft state is not repeated");
  assert.deepEqual(
    rd2.entries.map((e) => dec(e.data)),
    ["foo"],
  );
  assert.deepEqual(
    rd2.committedEntries.map((e) => dec(e.data)),
    ["foo"],
  );
  assert.deepEqual(rd2.hardState, { term: 2n, vote: 1n, commit: 3n });
  assert.equal(rn.hasReady(), false);
});

test("mustSync only when entries, a snapshot, or term/vote must be durable", () => {
  const s = newTestStorage([1, 2]);
  const rn = newTestRawNode(1, s);
  rn.campaign();
  assert.equal(cycle(rn, s).mustSync, true, "term and vote changed");
  rn.step(msg({ type: "MsgVoteResp", from: 2n, to: 1n, term: 1n }));
  assert.equal(cycle(rn, s).mustSync, true, "the leader's empty entry");
  rn.step(msg({ type: "MsgAppResp", from: 2n, to: 1n, term: 1n, index: 1n }));
  const rd = cycle(rn, s);
  assert.deepEqual(rd.hardState, { term: 1n, vote: 1n, commit: 1n });
  assert.equal(rd.mustSync, false, "a commit index alone need not be synced");
});

test("restart: committed entries after `applied` are handed out again; the hard state is not", () => {
  const s = newTestStorage([1]);
  s.setHardState({ term: 1n, vote: 0n, commit: 1n });
  s.append([entry(1, 1), entry(2, 1, "foo")]);
  const rn = newTestRawNode(1, s);
  const rd = rn.ready();
  assert.equal(rd.hardState, undefined);
  assert.deepEqual(
    rd.committedEntries.map((e) => e.index),
    [1n],
  );
  assert.equal(rd.mustSync, false);
  handle(rn, s, rd);
  assert.equal(rn.hasReady(), false);

  const s2 = newTestStorage([1]);
  s2.setHardState({ term: 1n, vote: 0n, commit: 2n });
  s2.append([entry(1, 1), entry(2, 1, "foo")]);
  const rn2 = newTestRawNode(1, s2, { applied: 1n });
  assert.deepEqual(
    rn2.ready().committedEntries.map((e) => e.index),
    [2n],
    "applied entries are not repeated",
  );
});

test("restart from a snapshot hands out only the entries after it", () => {
  const s = new MemoryStorage();
  s.setHardState({ term: 1n, vote: 0n, commit: 3n });
  s.applySnapshot(snapshotOf(2, 1, [1, 2]));
  s.append([entry(3, 1, "foo")]);
  const rn = newTestRawNode(1, s);
  const rd = rn.ready();
  assert.deepEqual(
    rd.committedEntries.map((e) => dec(e.data)),
    ["foo"],
  );
  assert.equal(rd.hardState, undefined);
  assert.deepEqual(rn.status().confState.voters, ids(1, 2));
});

test("maxCommittedSizePerReady pages committed entries over several Readies", () => {
  const s = newTestStorage([1]);
  s.setHardState({ term: 1n, vote: 0n, commit: 3n });
  s.append([entry(1, 1, "aaaa"), entry(2, 1, "bbbb"), entry(3, 1, "cccc")]);
  const rn = newTestRawNode(1, s, { maxCommittedSizePerReady: 40 });
  const pages: bigint[][] = [];
  while (rn.hasReady()) pages.push(cycle(rn, s).committedEntries.map((e) => e.index));
  assert.deepEqual(pages, [[1n, 2n], [3n]]);
});

test("a Ready carries a received snapshot; applying it moves applied to its index", () => {
  const s = newTestStorage([1, 2]);
  const rn = newTestRawNode(2, s);
  rn.step(msg({ type: "MsgSnap", from: 1n, to: 2n, term: 1n, snapshot: snapshotOf(10, 1, [1, 2]) }));
  const rd = rn.ready();
  assert.equal(rd.snapshot?.metadata.index, 10n);
  assert.deepEqual(rd.committedEntries, []);
  assert.equal(rd.mustSync, true);
  assert.deepEqual(
    rd.messages.map((m) => [m.type, m.index]),
    [["MsgAppResp", 10n]],
  );
  handle(rn, s, rd);
  assert.equal(rn.status().applied, 10n);
  assert.equal(s.firstIndex(), 11n);
  assert.equal(rn.hasReady(), false);
});

test("read states come out in a Ready", () => {
  const s = newTestStorage([1]);
  const rn = newTestRawNode(1, s);
  rn.campaign();
  cycle(rn, s);
  rn.readIndex(enc("r1"));
  assert.ok(rn.hasReady());
  const rd = cycle(rn, s);
  assert.deepEqual(
    rd.readStates.map((rs) => [dec(rs.requestCtx), rs.index]),
    [["r1", 1n]],
  );
  assert.equal(rn.hasReady(), false);
});

test("step refuses local message types and ignores responses from unknown members", () => {
  const s = newTestStorage([1, 2]);
  const rn = newTestRawNode(1, s);
  for (const type of ["MsgHup", "MsgBeat", "MsgUnreachable", "MsgSnapStatus", "MsgCheckQuorum"] as const) {
    assert.throws(() => rn.step(msg({ type, from: 2n })), Error, type);
  }
  rn.campaign();
  rn.step(msg({ type: "MsgVoteResp", from: 2n, to: 1n, term: 1n }));
  assert.equal(rn.status().raftState, "Leader");
  assert.doesNotThrow(() => rn.step(msg({ type: "MsgAppResp", from: 9n, to: 1n, term: 1n, index: 5n })));
});

test("a proposal from a peer that cannot be placed is dropped quietly (its client retries)", () => {
  const s = newTestStorage([1, 2]);
  const rn = newTestRawNode(1, s);
  assert.doesNotThrow(() =>
    rn.step(msg({ type: "MsgProp", from: 2n, to: 1n, entries: [{ ...entry(0, 0, "x") }] })),
  );
});

test("status: leaders report progress; reportUnreachable sends a replicating follower back to probing", () => {
  const s = newTestStorage([1, 2]);
  const rn = newTestRawNode(1, s);
  assert.equal(rn.status().progress, undefined);
  rn.campaign();
  rn.step(msg({ type: "MsgVoteResp", from: 2n, to: 1n, term: 1n }));
  rn.step(msg({ type: "MsgAppResp", from: 2n, to: 1n, term: 1n, index: 1n }));
  const st = rn.status();
  assert.equal(st.raftState, "Leader");
  assert.equal(st.progress?.get(2n)?.state, "Replicate");
  assert.equal(st.progress?.get(2n)?.match, 1n);
  rn.reportUnreachable(2n);
  assert.equal(rn.status().progress?.get(2n)?.state, "Probe");
});

test("proposeConfChange then applyConfChange returns the new configuration", () => {
  const s = newTestStorage([1]);
  const rn = newTestRawNode(1, s);
  rn.campaign();
  cycle(rn, s);
  rn.proposeConfChange({ type: "AddLearnerNode", nodeId: 2n, context: enc("ctx") });
  const rd = rn.ready();
  const ccEntry = rd.committedEntries.find((e) => e.type === "ConfChange");
  assert.ok(ccEntry);
  const cc = decodeConfChange(ccEntry.data);
  assert.deepEqual(cc, { type: "AddLearnerNode", nodeId: 2n, context: enc("ctx") });
  assert.deepEqual(rn.applyConfChange(cc), { voters: ids(1), learners: ids(2) });
  rn.advance(rd);
});
