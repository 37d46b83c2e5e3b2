// Specifies what a stream does when its peer goes away: drop and report, back off, redial, carry on.
import assert from "node:assert/strict";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import { Rand } from "../raft/rand.js";
import { msg } from "../raft/types.js";
import { H_CLUSTER_ID, H_FROM, H_PROTOCOL, H_TO, idHex, PEER_PROTOCOL_VERSION, STREAM_PATH } from "./http.js";
import { backoffDelay } from "./options.js";
import { heartbeat, nextTurn, startMembers, TestMember } from "./test_util.js";

const TEST_DEADLINE = { timeout: 60_000 };
const open: TestMember[] = [];
after(async () => {
  await Promise.all(open.map((m) => m.close()));
});

/** A fresh member `id` serving on `port`, knowing `peers`. */
async function restart(id: bigint, port: number, peers: Map<bigint, string[]>): Promise<TestMember> {
  const m = new TestMember(id, { port });
  await m.listen();
  m.init(peers);
  m.transport.start();
  open.push(m);
  return m;
}

describe("backoffDelay", () => {
  const t = { backoffBaseMs: 100, backoffMaxMs: 5_000 };
  it("doubles per attempt, caps at the maximum, and jitters within [half, full]", () => {
    assert.deepStrictEqual(
      [0, 1, 2, 3, 10].map((n) => backoffDelay(n, t, () => 0)),
      [50, 100, 200, 400, 2_500],
    );
    assert.equal(
      backoffDelay(1000, t, () => 0.999999),
      5_000 * (0.5 + 0.999999 / 2),
    );
    const r = new Rand(7);
    for (let n = 0; n < 50; n++) {
      const exp = Math.min(5_000, 100 * 2 ** n);
      const d = backoffDelay(n, t, () => r.float());
      assert.ok(d >= exp / 2 && d < exp, `attempt ${n}: ${d}`);
    }
  });
});

describe("reconnect", TEST_DEADLINE, () => {
  it("drops and reports messages while a peer is down, then redials and delivers later ones", async () => {
    const [a, b] = await startMembers([1n, 2n]);
    open.push(a!, b!);
    a!.transport.send([heartbeat(1n, 2n, 0)]);
    await b!.waitFor(() => b!.received.length === 1, "first message");
    const port = (b!.server.address() as AddressInfo).port;

    await b!.close();
    await a!.waitFor(() => a!.activity.some(([id, up]) => id === 2n && !up), "the stream to go down");
    for (let i = 1; i <= 5; i++) {
      a!.transport.send([heartbeat(1n, 2n, i)]);
      await nextTurn();
    }
    await a!.waitFor(() => a!.unreachable.includes(2n), "an unreachable report");
    const droppedDuringOutage = a!.transport.peerStats(2n).msgsDropped;
    assert.ok(droppedDuringOutage >= 1, "messages sent during the outage are dropped");

    const b2 = await restart(2n, port, new Map([[1n, [a!.url]]]));
    await a!.waitFor(() => a!.transport.activeSince(2n) !== undefined, "the stream to come back");
    a!.transport.send([heartbeat(1n, 2n, 100), heartbeat(1n, 2n, 101)]);
    await b2.waitFor(() => b2.received.length === 2, "messages after the restart");
    assert.deepStrictEqual(
      b2.received.map((m) => m.index),
      [100n, 101n],
    );
    assert.ok(a!.unreachable.every((id) => id === 2n));
  });

  it("redials the new URL after updatePeer", async () => {
    const [a, b] = await startMembers([11n, 12n]);
    open.push(a!, b!);
    await a!.waitActive(12n);
    await b!.close();
    const b2 = await restart(12n, 0, new Map([[11n, [a!.url]]]));
    a!.transport.updatePeer(12n, [b2.url]);
    await a!.waitFor(() => a!.transport.activeSince(12n) !== undefined, "a stream to the new URL");
    a!.transport.send([heartbeat(11n, 12n, 7)]);
    await b2.waitFor(() => b2.received.length === 1, "a message at the new URL");
  });

  it("keeps an idle stream open with heartbeats and closes a silent one", async () => {
    const timing = { heartbeatMs: 20, readTimeoutMs: 150 };
    const [a, b] = await startMembers([21n, 22n], () => ({ timing }));
    open.push(a!, b!);
    await a!.waitActive(22n);
    // A sender that never writes is cut off after readTimeoutMs…
    b!.transport.addPeer(23n, ["http://127.0.0.1:1"]);
    const closed = await new Promise<boolean>((resolve, reject) => {
      const headers = {
        [H_CLUSTER_ID]: idHex(0x1000n),
        [H_FROM]: idHex(23n),
        [H_TO]: idHex(22n),
        [H_PROTOCOL]: PEER_PROTOCOL_VERSION,
      };
      const req = http.request(new URL(STREAM_PATH, b!.url), { method: "POST", headers, agent: false });
      req.on("response", (res) => {
        res.resume();
        res.on("close", () => resolve(true));
      });
      req.on("error", () => resolve(true));
      setTimeout(() => reject(new Error("silent stream was not closed")), 10_000).unref();
      req.flushHeaders();
    });
    assert.ok(closed);
    // …while a's idle stream, carrying only heartbeats, stays up through many read timeouts.
    await new Promise((resolve) => setTimeout(resolve, 10 * timing.readTimeoutMs));
    assert.deepStrictEqual(a!.activity, [[22n, true]], "idle stream stayed up");
    a!.transport.send([heartbeat(21n, 22n, 1)]);
    await b!.waitFor(() => b!.received.length === 1, "a message on the idle stream");
  });

  it("gives up on a peer that accepts but never answers (dialTimeoutMs), and on one that stops reading (writeTimeoutMs)", async () => {
    const sockets: net.Socket[] = [];
    let answer = false;
    const fake = net.createServer((s) => {
      sockets.push(s);
      s.pause(); // never read the request body
      if (answer)
        s.write(
          `HTTP/1.1 200 OK\r\n${H_CLUSTER_ID}: ${idHex(0x1000n)}\r\ntransfer-encoding: chunked\r\n\r\n`,
        );
    });
    await new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
    try {
      const a = new TestMember(31n, {
        timing: { dialTimeoutMs: 100, writeTimeoutMs: 200, backoffBaseMs: 10_000 },
      });
      open.push(a);
      await a.listen();
      a.init(new Map([[32n, [url]]]));
      a.transport.start();
      a.transport.send([heartbeat(31n, 32n, 1)]);
      await a.waitFor(() => a.unreachable.length === 1, "the dial timeout");
      assert.equal(a.transport.activeSince(32n), undefined);

      answer = true;
      a.transport.updatePeer(32n, [`${url}/`]); // a changed URL redials at once
      await a.waitActive(32n);
      const data = new Uint8Array(1024 * 1024);
      const apps = Array.from({ length: 60 }, (_, i) =>
        msg({
          type: "MsgApp",
          from: 31n,
          to: 32n,
          index: BigInt(i),
          entries: [{ term: 1n, index: 1n, type: "Normal", data }],
        }),
      );
      a.transport.send(apps);
      await a.waitFor(() => a.activity.some(([, up]) => !up), "the write timeout");
      assert.ok(a.transport.peerStats(32n).msgsDropped > 0);
      assert.deepStrictEqual(a.unreachable, [32n, 32n]);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => fake.close(resolve));
    }
  });
});
