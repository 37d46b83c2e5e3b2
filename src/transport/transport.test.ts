// Specifies peer streams between real transports on 127.0.0.1: order, batching, queue limits, refusals.
import assert from "node:assert/strict";
import http from "node:http";
import { after, describe, it } from "node:test";
import { type Message, msg, type NodeId } from "../raft/types.js";
import { MAX_BATCH_BYTES } from "./frame.js";
import { H_CLUSTER_ID, H_FROM, H_PROTOCOL, H_TO, idHex, PEER_PROTOCOL_VERSION, STREAM_PATH } from "./http.js";
import { MAX_PEER_QUEUE_BYTES, MAX_PEER_QUEUE_MSGS } from "./queue.js";
import { heartbeat, type MemberOptions, nextTurn, startMembers, type TestMember } from "./test_util.js";

const TEST_DEADLINE = { timeout: 60_000 };
const open: TestMember[] = [];

async function members(ids: NodeId[], opts?: (id: NodeId) => MemberOptions): Promise<TestMember[]> {
  const ms = await startMembers(ids, opts);
  open.push(...ms);
  return ms;
}

after(async () => {
  await Promise.all(open.map((m) => m.close()));
});

const indexes = (ms: Message[]): number[] => ms.map((m) => Number(m.index));
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** A raw stream request, for what the transport itself would never send. */
function rawStream(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(STREAM_PATH, url), { method: "POST", headers, agent: false }, (res) => {
      let body = "";
      res.on("data", (c) => {
        body += String(c);
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

const headers = (cluster: bigint, from: bigint, to: bigint): Record<string, string> => ({
  [H_CLUSTER_ID]: idHex(cluster),
  [H_FROM]: idHex(from),
  [H_TO]: idHex(to),
  [H_PROTOCOL]: PEER_PROTOCOL_VERSION,
});

describe("transport streams", TEST_DEADLINE, () => {
  it("delivers in order per peer, both ways, including messages sent while dialling", async () => {
    const [a, b] = await members([1n, 2n]);
    for (let turn = 0; turn < 20; turn++) {
      for (let i = 0; i < 25; i++) {
        a!.transport.send([heartbeat(1n, 2n, turn * 25 + i)]);
        b!.transport.send([heartbeat(2n, 1n, turn * 25 + i)]);
      }
      await nextTurn();
    }
    await b!.waitFor(() => b!.received.length === 500, "500 messages from a");
    await a!.waitFor(() => a!.received.length === 500, "500 messages from b");
    assert.deepStrictEqual(indexes(b!.received), range(500));
    assert.deepStrictEqual(indexes(a!.received), range(500));
    assert.deepStrictEqual([a!.unreachable, b!.unreachable], [[], []]);
  });

  it("keeps every stream of a three-member cluster in order", async () => {
    const ms = await members([11n, 12n, 13n]);
    for (let i = 0; i < 300; i++) {
      for (const m of ms) {
        m.transport.send(ms.filter((p) => p !== m).map((p) => heartbeat(m.id, p.id, i)));
      }
      if (i % 7 === 0) await nextTurn();
    }
    for (const m of ms) {
      await m.waitFor(() => m.received.length === 600, `600 messages at ${m.id}`);
      for (const p of ms.filter((p) => p !== m))
        assert.deepStrictEqual(indexes(m.receivedFrom(p.id)), range(300));
    }
  });

  it("batches one event-loop turn's messages to a peer into one frame", async () => {
    const [a, b] = await members([21n, 22n]);
    await a!.waitActive(22n);
    const before = a!.transport.peerStats(22n);
    for (let i = 0; i < 200; i++) a!.transport.send([heartbeat(21n, 22n, i)]);
    await b!.waitFor(() => b!.received.length === 200, "200 messages");
    const afterStats = a!.transport.peerStats(22n);
    assert.equal(afterStats.framesSent - before.framesSent, 1);
    assert.equal(afterStats.msgsSent - before.msgsSent, 200);
    assert.deepStrictEqual(indexes(b!.received), range(200));
  });

  it("writes at once with `now`: one frame per call", async () => {
    const [a, b] = await members([23n, 24n]);
    await a!.waitActive(24n);
    const before = a!.transport.peerStats(24n);
    a!.transport.send([heartbeat(23n, 24n, 0), heartbeat(23n, 24n, 1)], true);
    assert.equal(
      a!.transport.peerStats(24n).framesSent - before.framesSent,
      1,
      "written before the call returns",
    );
    a!.transport.send([heartbeat(23n, 24n, 2)], true);
    assert.equal(a!.transport.peerStats(24n).framesSent - before.framesSent, 2);
    await b!.waitFor(() => b!.received.length === 3, "3 messages");
    assert.deepStrictEqual(indexes(b!.received), range(3));
  });

  it("splits a turn's messages into frames of at most MAX_BATCH_BYTES", async () => {
    const [a, b] = await members([31n, 32n]);
    await a!.waitActive(32n);
    const data = new Uint8Array(600 * 1024).fill(7);
    const app = (i: number): Message =>
      msg({
        type: "MsgApp",
        from: 31n,
        to: 32n,
        index: BigInt(i),
        entries: [{ term: 1n, index: BigInt(i + 1), type: "Normal", data }],
      });
    assert.ok(2 * data.length > MAX_BATCH_BYTES);
    const before = a!.transport.peerStats(32n).framesSent;
    a!.transport.send(range(5).map(app));
    await b!.waitFor(() => b!.received.length === 5, "5 large messages");
    assert.equal(a!.transport.peerStats(32n).framesSent - before, 5);
    assert.deepStrictEqual(indexes(b!.received), range(5));
    for (const m of b!.received) assert.deepStrictEqual(m.entries[0]!.data, data);
  });

  it("drops messages past MAX_PEER_QUEUE_MSGS and reports the peer unreachable", async () => {
    const [a, b] = await members([41n, 42n]);
    await a!.waitActive(42n);
    a!.transport.send(range(MAX_PEER_QUEUE_MSGS + 10).map((i) => heartbeat(41n, 42n, i)));
    await a!.waitFor(() => a!.unreachable.length > 0, "unreachable report");
    await b!.waitFor(() => b!.received.length === MAX_PEER_QUEUE_MSGS, "a full queue's worth");
    assert.deepStrictEqual(a!.unreachable, [42n]);
    assert.equal(a!.transport.peerStats(42n).msgsDropped, 10);
    assert.deepStrictEqual(indexes(b!.received), range(MAX_PEER_QUEUE_MSGS));
  });

  it("drops messages past MAX_PEER_QUEUE_BYTES", async () => {
    const [a, b] = await members([51n, 52n]);
    await a!.waitActive(52n);
    const data = new Uint8Array(1024 * 1024);
    const apps = range(70).map((i) =>
      msg({
        type: "MsgApp",
        from: 51n,
        to: 52n,
        index: BigInt(i),
        entries: [{ term: 1n, index: 1n, type: "Normal", data }],
      }),
    );
    a!.transport.send(apps);
    await a!.waitFor(() => a!.unreachable.length > 0, "unreachable report");
    const dropped = a!.transport.peerStats(52n).msgsDropped;
    assert.ok(dropped > 0 && (70 - dropped) * data.length <= MAX_PEER_QUEUE_BYTES, `dropped ${dropped}`);
    await b!.waitFor(() => b!.received.length === 70 - dropped, "the queued messages");
    assert.deepStrictEqual(indexes(b!.received), range(70 - dropped));
  });
});

describe("transport refusals", TEST_DEADLINE, () => {
  it("refuses a member of another cluster (cluster ID mismatch)", async () => {
    const [a] = await members([61n], () => ({ clusterId: 1n }));
    const [c] = await members([62n], () => ({ clusterId: 2n }));
    a!.transport.addPeer(62n, [c!.url]);
    c!.transport.addPeer(61n, [a!.url]);
    a!.transport.send([heartbeat(61n, 62n, 0)]);
    await a!.waitFor(() => a!.unreachable.includes(62n), "unreachable report");
    const raw = await rawStream(c!.url, headers(1n, 61n, 62n));
    assert.deepStrictEqual(raw, { status: 412, body: "cluster ID mismatch" });
    const status = await a!.transport.sendSnapshot(
      62n,
      msg({
        type: "MsgSnap",
        from: 61n,
        to: 62n,
        snapshot: {
          data: new Uint8Array(0),
          metadata: { index: 5n, term: 1n, confState: { voters: [61n, 62n], learners: [] } },
        },
      }),
      [new Uint8Array(10)],
    );
    assert.equal(status, "Failure");
    assert.deepStrictEqual(a!.snapshotStatus, [[62n, "Failure"]]);
    assert.equal(a!.transport.activeSince(62n), undefined);
    assert.deepStrictEqual(c!.received, []);
  });

  it("refuses removed and unknown members, a wrong recipient and another protocol", async () => {
    const [a, b] = await members([71n, 72n]);
    await a!.waitActive(72n);
    b!.transport.removePeer(71n);
    await a!.waitFor(() => a!.removedBy.includes(72n), "the removal to be noticed");
    assert.deepStrictEqual(await rawStream(b!.url, headers(0x1000n, 71n, 72n)), {
      status: 410,
      body: "the member has been permanently removed from the cluster",
    });
    assert.deepStrictEqual(await rawStream(b!.url, headers(0x1000n, 79n, 72n)), {
      status: 404,
      body: "error sender not found",
    });
    assert.throws(() => b!.transport.addPeer(71n, [a!.url]), /removed/);
    b!.transport.addPeer(73n, ["http://127.0.0.1:1"]);
    assert.deepStrictEqual(await rawStream(b!.url, headers(0x1000n, 73n, 99n)), {
      status: 412,
      body: "to field mismatch",
    });
    const wrongProto = { ...headers(0x1000n, 73n, 72n), [H_PROTOCOL]: "0" };
    assert.equal((await rawStream(b!.url, wrongProto)).status, 412);
  });

  it("answers MsgSnap handed to send() with a failed snapshot, and asserts on local messages", async () => {
    const [a] = await members([81n, 82n]);
    a!.transport.send([msg({ type: "MsgSnap", from: 81n, to: 82n })]);
    await a!.waitFor(() => a!.snapshotStatus.length === 1, "snapshot status");
    assert.deepStrictEqual(a!.snapshotStatus, [[82n, "Failure"]]);
    assert.throws(() => a!.transport.send([msg({ type: "MsgHup", to: 82n })]), /local message/);
  });
});
