// Specifies ReadIndex: Safe (heartbeat round), LeaseBased, new-leader postponement, forwarding, stale leaders.
import assert from "node:assert/strict";
import { test } from "node:test";
import { AssertionError } from "./assert.js";
import { dec, enc, forceLeader, newTestRaft, newTestStorage, readMessages } from "./testing/fixtures.js";
import { Network, type NetworkOptions } from "./testing/network.js";
import { msg } from "./types.js";

function elected(size = 3, opts: NetworkOptions = {}): Network {
  const net = Network.create(size, opts);
  net.campaign(1);
  net.stabilize();
  return net;
}

/** Take node id's read states as "ctx@index". */
function reads(net: Network, id: number): string[] {
  const n = net.node(id);
  const out = n.readStates.map((rs) => `${dec(rs.requestCtx)}@${rs.index}`);
  n.readStates = [];
  return out;
}

for (const option of ["Safe", "LeaseBased"] as const) {
  test(`readIndex (${option}) on the leader or a follower returns the leader's commit index`, () => {
    const opts: NetworkOptions = option === "Safe" ? {} : { readOnlyOption: "LeaseBased", checkQuorum: true };
    const net = elected(3, opts);
    const cases: [number, string, number][] = [
      [1, "ctx1", 11],
      [2, "ctx2", 21],
      [3, "ctx3", 31],
      [1, "ctx4", 41],
      [2, "ctx5", 51],
      [3, "ctx6", 61],
    ];
    for (const [id, ctx, want] of cases) {
      for (let j = 0; j < 10; j++) net.propose(1, "");
      net.stabilize();
      net.readIndex(id, ctx);
      net.stabilize();
      assert.deepEqual(reads(net, id), [`${ctx}@${want}`], `read on ${id}`);
    }
  });
}

test("readIndex Safe: no answer until a quorum acks the heartbeat round", () => {
  const net = elected();
  net.isolate(2n);
  net.isolate(3n);
  net.readIndex(1, "r");
  net.stabilize();
  assert.deepEqual(reads(net, 1), []);
  assert.equal(net.node(1).raft.readOnly.pendingCount(), 1);
  net.heal();
  net.tick(1, 1); // the next heartbeat carries the pending ctx
  net.stabilize();
  assert.deepEqual(reads(net, 1), ["r@1"]);
  assert.equal(net.node(1).raft.readOnly.pendingCount(), 0);
});

test("readIndex Safe: an ack for a later request confirms the earlier ones too", () => {
  const net = elected();
  net.isolate(2n);
  net.isolate(3n);
  net.readIndex(1, "a");
  net.readIndex(1, "b");
  net.readIndex(1, "a"); // a duplicate of a pending ctx is ignored
  net.stabilize();
  assert.equal(net.node(1).raft.readOnly.pendingCount(), 2);
  net.heal();
  net.tick(1, 1);
  net.stabilize();
  assert.deepEqual(reads(net, 1), ["a@1", "b@1"]);
});

test("a new leader answers reads only after committing an entry of its term", () => {
  const net = elected();
  net.propose(1, "x");
  net.stabilize();
  net.dropIf((m) => m.type === "MsgApp");
  net.campaign(2);
  net.stabilize();
  const r2 = net.node(2).raft;
  assert.equal(r2.state, "Leader");
  assert.equal(r2.raftLog.committed, 2n, "its empty entry at 3 is not committed");
  net.readIndex(2, "ctx");
  net.stabilize();
  assert.deepEqual(reads(net, 2), [], "postponed");
  net.heal();
  net.tick(2, 1);
  net.stabilize();
  assert.equal(r2.raftLog.committed, 3n);
  assert.deepEqual(reads(net, 2), ["ctx@3"]);
  net.readIndex(2, "ctx");
  net.stabilize();
  assert.deepEqual(reads(net, 2), ["ctx@3"], "answered directly now");
});

test("a single voter answers a read at once", () => {
  const r = newTestRaft(1, newTestStorage([1]));
  r.step(msg({ type: "MsgHup" }));
  r.step(
    msg({ type: "MsgReadIndex", entries: [{ term: 0n, index: 0n, type: "Normal", data: enc("solo") }] }),
  );
  assert.deepEqual(
    r.readStates.map((rs) => [dec(rs.requestCtx), rs.index]),
    [["solo", 1n]],
  );
  assert.equal(readMessages(r).length, 0, "no heartbeat round");
});

test("a follower forwards a read to the leader and gets the answer back", () => {
  const net = elected();
  net.readIndex(3, "fwd");
  net.stabilize();
  assert.equal(net.sent("MsgReadIndex", 3n, 1n).length, 1);
  assert.equal(net.sent("MsgReadIndexResp", 1n, 3n).length, 1);
  assert.deepEqual(reads(net, 3), ["fwd@1"]);
  assert.deepEqual(reads(net, 1), [], "the leader keeps no read state for a forwarded read");
});

test("a learner's read is forwarded and answered like a follower's", () => {
  const net = new Network([1n, 2n], { learners: [3n] });
  net.campaign(1);
  net.stabilize();
  net.readIndex(3, "l");
  net.stabilize();
  assert.deepEqual(reads(net, 3), ["l@1"]);
});

test("a follower without a leader drops the read", () => {
  const net = Network.create(3);
  net.readIndex(2, "lost");
  net.stabilize();
  assert.equal(net.trace.length, 0);
  assert.deepEqual(reads(net, 2), []);
});

test("a partitioned old leader never answers a Safe read; the new leader's reads see new writes", () => {
  const net = elected();
  net.partition([1n], [2n, 3n]);
  net.campaign(2);
  net.stabilize();
  net.propose(2, "new");
  net.stabilize();
  net.readIndex(1, "stale");
  for (let i = 0; i < 5; i++) {
    net.tick(1, 1);
    net.stabilize();
  }
  assert.equal(net.node(1).raft.state, "Leader", "without CheckQuorum it still believes it leads");
  assert.deepEqual(reads(net, 1), []);
  net.readIndex(2, "fresh");
  net.stabilize();
  assert.deepEqual(reads(net, 2), ["fresh@3"]);
  assert.deepEqual(net.node(2).valueList(), ["new"]);
});

test("LeaseBased reads require CheckQuorum", () => {
  assert.throws(
    () => newTestRaft(1, newTestStorage([1, 2]), { readOnlyOption: "LeaseBased" }),
    AssertionError,
  );
});

test("LeaseBased: the leader answers with its commit index without a heartbeat round", () => {
  const r = newTestRaft(1, newTestStorage([1, 2, 3]), { readOnlyOption: "LeaseBased", checkQuorum: true });
  forceLeader(r);
  r.step(msg({ type: "MsgAppResp", from: 2n, to: 1n, term: r.term, index: 1n }));
  readMessages(r);
  r.step(
    msg({ type: "MsgReadIndex", entries: [{ term: 0n, index: 0n, type: "Normal", data: enc("lease") }] }),
  );
  assert.deepEqual(
    r.readStates.map((rs) => [dec(rs.requestCtx), rs.index]),
    [["lease", 1n]],
  );
  assert.equal(readMessages(r).filter((m) => m.type === "MsgHeartbeat").length, 0);
});
