// Specifies snapshot transfer: a large body streams with bounded memory; every failure reports Failure.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { after, describe, it } from "node:test";
import { type Message, msg, type NodeId } from "../raft/types.js";
import { type MemberOptions, startMembers, type TestMember } from "./test_util.js";

const TEST_DEADLINE = { timeout: 120_000 };
const MiB = 1024 * 1024;
const open: TestMember[] = [];
after(async () => {
  await Promise.all(open.map((m) => m.close()));
});

async function members(ids: NodeId[], opts?: (id: NodeId) => MemberOptions): Promise<TestMember[]> {
  const ms = await startMembers(ids, opts);
  open.push(...ms);
  return ms;
}

const snapMsg = (from: NodeId, to: NodeId, index: bigint): Message =>
  msg({
    type: "MsgSnap",
    from,
    to,
    term: 3n,
    snapshot: {
      data: new TextEncoder().encode('{"members":[1,2]}'),
      metadata: { index, term: 2n, confState: { voters: [from, to], learners: [] } },
    },
  });

/** `total` bytes of a deterministic pattern, generated on demand in `chunk`-byte pieces. */
async function* generated(total: number, chunk = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let off = 0, n = 0; off < total; off += chunk, n++) {
    const b = Buffer.allocUnsafe(Math.min(chunk, total - off));
    b.fill(n & 0xff);
    b.writeUInt32BE(n, 0);
    yield b;
  }
}

async function sha256(src: AsyncIterable<Uint8Array>): Promise<{ hex: string; bytes: number }> {
  const h = createHash("sha256");
  let bytes = 0;
  for await (const c of src) {
    h.update(c);
    bytes += c.length;
  }
  return { hex: h.digest("hex"), bytes };
}

describe("snapshot transfer", TEST_DEADLINE, () => {
  it("streams a 50 MiB body with back-pressure and bounded memory", async () => {
    const SIZE = 50 * MiB;
    const expected = await sha256(generated(SIZE));
    const got: { m?: Message; from?: NodeId; hex?: string; bytes?: number } = {};
    const [a, b] = await members([1n, 2n], () => ({
      onSnapshot: async (m, body, from) => {
        Object.assign(got, { m, from }, await sha256(body));
      },
    }));
    const base = process.memoryUsage().rss;
    let peak = base;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 5);
    const status = await a!.transport.sendSnapshot(2n, snapMsg(1n, 2n, 1000n), generated(SIZE));
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    assert.equal(status, "Finish");
    assert.deepStrictEqual(a!.snapshotStatus, [[2n, "Finish"]]);
    assert.deepStrictEqual({ hex: got.hex, bytes: got.bytes }, expected);
    assert.equal(got.from, 1n);
    assert.deepStrictEqual(got.m, snapMsg(1n, 2n, 1000n));
    if (process.env.TRANSPORT_TEST_LOG) console.log("rss growth MiB", (peak - base) / MiB);
    assert.ok(peak - base < SIZE / 2, `rss grew by ${((peak - base) / MiB).toFixed(1)} MiB`);
    assert.equal(b!.transport.peerStats(1n).snapshotsReceived, 1);
    assert.equal(a!.transport.peerStats(2n).bytesSent >= SIZE, true);
  });

  it("takes a Readable body and reports Finish", async () => {
    const [a] = await members([11n, 12n]);
    const status = await a!.transport.sendSnapshot(12n, snapMsg(11n, 12n, 5n), Readable.from(generated(MiB)));
    assert.equal(status, "Finish");
  });

  it("reports Failure when the receiver's handler rejects or leaves the body unread", async () => {
    let mode: "reject" | "unread" = "reject";
    const [a] = await members([21n, 22n], () => ({
      onSnapshot: async (_m, body) => {
        if (mode === "unread") return;
        for await (const _ of body) throw new Error("disk full");
      },
    }));
    assert.equal(await a!.transport.sendSnapshot(22n, snapMsg(21n, 22n, 5n), generated(4 * MiB)), "Failure");
    mode = "unread";
    assert.equal(await a!.transport.sendSnapshot(22n, snapMsg(21n, 22n, 6n), generated(4 * MiB)), "Failure");
    assert.deepStrictEqual(a!.snapshotStatus, [
      [22n, "Failure"],
      [22n, "Failure"],
    ]);
  });

  it("reports Failure for a peer that is down and for a second concurrent send", async () => {
    const [a, b] = await members([31n, 32n]);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    async function* slow(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(1024);
      await gate;
      yield new Uint8Array(1024);
    }
    const first = a!.transport.sendSnapshot(32n, snapMsg(31n, 32n, 5n), slow());
    assert.equal(await a!.transport.sendSnapshot(32n, snapMsg(31n, 32n, 6n), generated(1024)), "Failure");
    release();
    assert.equal(await first, "Finish");
    await b!.close();
    assert.equal(await a!.transport.sendSnapshot(32n, snapMsg(31n, 32n, 7n), generated(1024)), "Failure");
  });

  it("fails the receiver's body when the sender stops mid-transfer", async () => {
    let started: () => void = () => {};
    const receiving = new Promise<void>((resolve) => {
      started = resolve;
    });
    let bodyFailed: (err: unknown) => void = () => {};
    const failed = new Promise<unknown>((resolve) => {
      bodyFailed = resolve;
    });
    const [a, b] = await members([41n, 42n], () => ({
      onSnapshot: async (_m, body) => {
        try {
          for await (const _ of body) started();
        } catch (err) {
          bodyFailed(err);
          throw err;
        }
      },
    }));
    const sending = a!.transport.sendSnapshot(42n, snapMsg(41n, 42n, 5n), generated(1024 * MiB));
    await receiving;
    await a!.transport.stop();
    assert.equal(await sending, "Failure");
    assert.ok((await failed) instanceof Error);
    assert.equal(b!.transport.peerStats(41n).snapshotsReceived, 0);
  });
});
