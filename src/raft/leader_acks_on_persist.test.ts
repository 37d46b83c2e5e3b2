// Specifies leaderAcksOnPersist: a leader counts its own new entries only once advance() reports them durable, so its
// appends may leave before its fsync without letting a quorum "commit" an entry that exists only in its memory.
import assert from "node:assert/strict";
import { test } from "node:test";
import { RawNode, type Ready } from "./rawnode.js";
import { MemoryStorage } from "./storage.js";
import { dec, enc, ids, testConfig } from "./testing/fixtures.js";
import { type Message, msg } from "./types.js";

function persist(s: MemoryStorage, rd: Ready): void {
  if (rd.snapshot) s.applySnapshot(rd.snapshot);
  s.append(rd.entries);
  if (rd.hardState) s.setHardState(rd.hardState);
}

/** Member 1 bootstrapped alone (its first Ready persisted), then campaigning; the next Ready is its leadership. */
function campaignAlone(leaderAcksOnPersist: boolean): { rn: RawNode; s: MemoryStorage } {
  const s = new MemoryStorage();
  const rn = new RawNode(testConfig(1, s, { leaderAcksOnPersist }));
  rn.bootstrap(ids(1));
  const boot = rn.ready();
  persist(s, boot);
  rn.advance(boot);
  rn.campaign();
  return { rn, s };
}

test("a member alone counts its entries at append: nothing can leave before its write, so waiting would only add a Ready", () => {
  const { rn, s } = campaignAlone(true);
  const rd = rn.ready();
  assert.equal(rd.softState?.raftState, "Leader");
  assert.deepEqual(
    rd.committedEntries.map((e) => e.index),
    [2n],
    "committed in the Ready that persists it (the application applies only after the write)",
  );
  persist(s, rd);
  rn.advance(rd);
  rn.propose(enc("foo"));
  const rd2 = rn.ready();
  assert.deepEqual(
    rd2.committedEntries.map((e) => dec(e.data)),
    ["foo"],
  );
  assert.deepEqual(
    rd2.entries.map((e) => dec(e.data)),
    ["foo"],
  );
});

test("a voter alone with a learner waits for its write: the learner must not hear of a commit only in memory", () => {
  const { rn, s } = campaignAlone(true);
  const rd = rn.ready();
  persist(s, rd);
  rn.advance(rd);
  while (rn.hasReady()) {
    const more = rn.ready();
    persist(s, more);
    rn.advance(more);
  }
  rn.applyConfChange({ type: "AddLearnerNode", nodeId: 2n, context: new Uint8Array(0) });
  rn.propose(enc("bar"));
  const rd2 = rn.ready();
  assert.deepEqual(
    rd2.entries.map((e) => dec(e.data)),
    ["bar"],
  );
  assert.equal(rd2.committedEntries.length, 0, "not committed before the leader's write");
  persist(s, rd2);
  rn.advance(rd2);
  assert.deepEqual(
    rn.ready().committedEntries.map((e) => dec(e.data)),
    ["bar"],
  );
});

/** A 3-member leader (id 1) at term 2 with followers 2 and 3 caught up to `last`. */
function threeMemberLeader(): { rn: RawNode; s: MemoryStorage; last: bigint } {
  const s = new MemoryStorage();
  const rn = new RawNode(testConfig(1, s, { leaderAcksOnPersist: true }));
  rn.bootstrap(ids(1, 2, 3));
  const boot = rn.ready();
  persist(s, boot);
  rn.advance(boot);
  rn.campaign();
  const votes = rn.ready();
  persist(s, votes);
  rn.advance(votes);
  const term = rn.status().term;
  rn.step(msg({ type: "MsgVoteResp", from: 2n, to: 1n, term }));
  assert.equal(rn.status().raftState, "Leader");
  const rd = rn.ready();
  persist(s, rd);
  rn.advance(rd);
  const last = rn.status().lastIndex;
  for (const f of [2n, 3n]) rn.step(msg({ type: "MsgAppResp", from: f, to: 1n, term, index: last }));
  let more = rn.ready();
  while (more.entries.length > 0 || more.committedEntries.length > 0 || more.messages.length > 0) {
    persist(s, more);
    rn.advance(more);
    if (!rn.hasReady()) break;
    more = rn.ready();
  }
  assert.equal(rn.status().commit, last);
  return { rn, s, last };
}

const apps = (ms: Message[]): Message[] => ms.filter((m) => m.type === "MsgApp");

test("one follower's ack does not commit while the leader's own copy is not yet durable", () => {
  const { rn, s, last } = threeMemberLeader();
  const term = rn.status().term;
  rn.propose(enc("x"));
  const rd = rn.ready();
  const x = last + 1n;
  assert.deepEqual(
    apps(rd.messages).map((m) => [m.to, m.entries.at(-1)?.index]),
    [
      [2n, x],
      [3n, x],
    ],
  );
  // Follower 2 is faster than the leader's fsync: with the leader not yet counted, 1 of 3 is no quorum.
  rn.step(msg({ type: "MsgAppResp", from: 2n, to: 1n, term, index: x }));
  assert.equal(rn.status().commit, last);
  // The leader's write completes: now 2 of 3, committed, and the followers hear of it at once.
  persist(s, rd);
  rn.advance(rd);
  assert.equal(rn.status().commit, x);
  const rd2 = rn.ready();
  assert.deepEqual(
    rd2.committedEntries.map((e) => dec(e.data)),
    ["x"],
  );
  assert.ok(apps(rd2.messages).every((m) => m.commit === x));
});

test("two followers' acks commit an entry the leader is still writing (a quorum of durable copies)", () => {
  const { rn, last } = threeMemberLeader();
  const term = rn.status().term;
  rn.propose(enc("y"));
  rn.ready(); // handed to persistence, not yet advanced
  const y = last + 1n;
  rn.step(msg({ type: "MsgAppResp", from: 2n, to: 1n, term, index: y }));
  rn.step(msg({ type: "MsgAppResp", from: 3n, to: 1n, term, index: y }));
  assert.equal(rn.status().commit, y);
});

test("without the option the leader counts its entry at append (etcd raft's default)", () => {
  const { rn } = campaignAlone(false);
  const rd = rn.ready();
  assert.deepEqual(
    rd.committedEntries.map((e) => e.index),
    [2n],
  );
});
