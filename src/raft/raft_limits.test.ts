// Specifies the named limits of replication: MAX_INFLIGHT_MSGS/bytes, maxSizePerMsg, maxUncommittedEntriesSize.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ProposalDroppedError } from "./raft.js";
import { entry, forceLeader, newTestRaft, newTestStorage, readMessages } from "./testing/fixtures.js";
import { Network } from "./testing/network.js";
import { type Message, msg } from "./types.js";

const prop = (data = "somedata") => msg({ type: "MsgProp", from: 1n, to: 1n, entries: [entry(0, 0, data)] });

test("maxInflightMsgs: a full window stops MsgApps until acks free it", () => {
  const r = newTestRaft(1, newTestStorage([1, 2]), { maxInflightMsgs: 4 });
  forceLeader(r);
  readMessages(r);
  const pr = r.trk.progress.get(2n)!;
  pr.becomeReplicate();
  const sent: Message[] = [];
  for (let i = 0; i < 4; i++) {
    r.step(prop());
    sent.push(...readMessages(r));
  }
  assert.equal(sent.length, 4);
  assert.equal(pr.inflights.full(), true, "limit hit");
  for (let i = 0; i < 10; i++) {
    r.step(prop());
    assert.equal(readMessages(r).length, 0, "no MsgApp while the window is full");
  }
  // Acking the first message frees one slot: exactly one more MsgApp goes out, carrying all pending entries.
  const first = sent[0]!;
  r.step(
    msg({
      type: "MsgAppResp",
      from: 2n,
      to: 1n,
      term: r.term,
      index: first.index + BigInt(first.entries.length),
    }),
  );
  const more = readMessages(r).filter((m) => m.type === "MsgApp" && m.entries.length > 0);
  assert.equal(more.length, 1);
  assert.equal(more[0]!.entries.length, 10);
  assert.equal(pr.inflights.full(), true);
});

test("maxInflightBytes: the window also fills by payload bytes", () => {
  const r = newTestRaft(1, newTestStorage([1, 2]), { maxInflightMsgs: 100, maxInflightBytes: 20 });
  forceLeader(r);
  readMessages(r);
  const pr = r.trk.progress.get(2n)!;
  pr.becomeReplicate();
  for (let i = 0; i < 3; i++) {
    r.step(prop("8 bytes!"));
    assert.equal(readMessages(r).length, 1, `proposal ${i}`);
  }
  assert.equal(pr.inflights.full(), true, "24 bytes in flight >= 20");
  r.step(prop("8 bytes!"));
  assert.equal(readMessages(r).length, 0);
});

test("maxInflightMsgs: a heartbeat response with a full window and new entries does not overfill it", () => {
  const r = newTestRaft(1, newTestStorage([1, 2]), { maxInflightMsgs: 2 });
  forceLeader(r);
  readMessages(r);
  const pr = r.trk.progress.get(2n)!;
  pr.becomeReplicate();
  r.step(prop());
  r.step(prop());
  assert.equal(pr.inflights.full(), true);
  r.step(prop()); // queued behind the full window
  readMessages(r);
  // All MsgApps were lost; the follower answers a heartbeat. etcd sends an empty MsgApp to resync.
  r.step(msg({ type: "MsgHeartbeatResp", from: 2n, to: 1n, term: r.term }));
  const out = readMessages(r);
  assert.equal(out.length, 1);
  assert.equal(out[0]!.type, "MsgApp");
  assert.equal(out[0]!.entries.length, 0, "an empty MsgApp: the window is still full");
  assert.equal(pr.inflights.count(), 2);
});

test("maxSizePerMsg: a MsgApp carries at most the limit, but at least one entry", () => {
  const data = "0123456789"; // 26 bytes per entry as counted
  const net = Network.create(2, { maxSizePerMsg: 60 });
  net.campaign(1);
  net.stabilize();
  net.isolate(2n);
  for (let i = 0; i < 10; i++) net.propose(1, data);
  net.propose(1, "x".repeat(100)); // alone over the limit
  net.stabilize();
  net.heal();
  net.trace = [];
  net.tickAll(3);
  const apps = net.sent("MsgApp", 1n, 2n).filter((m) => m.entries.length > 0);
  assert.ok(apps.length >= 6, `${apps.length} MsgApps`);
  for (const m of apps) {
    const size = m.entries.reduce((n, e) => n + e.data.length + 16, 0);
    assert.ok(m.entries.length === 1 || size <= 60, `MsgApp of ${m.entries.length} entries, ${size} bytes`);
  }
  assert.ok(apps.some((m) => m.entries.length === 1 && m.entries[0]!.data.length === 100));
  assert.equal(net.node(2).valueList().length, 11);
});

test("maxUncommittedEntriesSize: proposals beyond the limit are dropped until entries commit", () => {
  const n = 16;
  const data = "testdata";
  const r = newTestRaft(1, newTestStorage([1, 2, 3]), {
    maxUncommittedEntriesSize: n * data.length,
    maxInflightMsgs: 1024,
  });
  forceLeader(r);
  r.trk.progress.get(2n)!.becomeReplicate();
  r.trk.progress.get(3n)!.becomeReplicate();
  assert.equal(r.uncommittedSize, 0, "the leader's empty entry does not count");
  for (let i = 0; i < n; i++) r.step(prop(data));
  assert.throws(() => r.step(prop(data)), ProposalDroppedError, "limit hit");
  assert.equal(readMessages(r).length, n * 2);
  r.reduceUncommittedSize(Array.from({ length: n }, () => entry(0, 0, data)));
  assert.equal(r.uncommittedSize, 0);
  // A large proposal is admitted when nothing is uncommitted, however big.
  const big = msg({
    type: "MsgProp",
    from: 1n,
    to: 1n,
    entries: Array.from({ length: 2 * n }, () => entry(0, 0, data)),
  });
  r.step(big);
  assert.throws(() => r.step(prop(data)), ProposalDroppedError);
  r.step(msg({ type: "MsgProp", from: 1n, to: 1n, entries: [entry(0, 0, "")] }));
  assert.equal(r.uncommittedSize, 2 * n * data.length, "an empty entry is always accepted and costs nothing");
});

test("maxUncommittedEntriesSize end to end: applying committed entries makes room again", () => {
  const net = Network.create(3, { maxUncommittedEntriesSize: 20 });
  net.campaign(1);
  net.stabilize();
  net.isolate(2n);
  net.isolate(3n);
  net.propose(1, "0123456789");
  net.propose(1, "0123456789");
  assert.throws(() => net.propose(1, "0123456789"), ProposalDroppedError);
  net.heal();
  net.stabilize();
  net.propose(1, "0123456789");
  net.stabilize();
  assert.equal(net.node(3).valueList().length, 3);
});
