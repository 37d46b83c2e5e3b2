// Specifies Maintenance.Snapshot over the wire: etcd 3.4's message layout (32 KiB data messages with
// remaining_bytes, no header, then the SHA-256 of the data), `etcdctl snapshot save`, and that the saved file
// is a consistent copy of this member's backend.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { credentials, makeGenericClientConstructor } from "@grpc/grpc-js";
import { Backend } from "../../backend/index.js";
import { KVStore } from "../../mvcc/index.js";
import { MaintenanceService, type SnapshotResponse } from "../../proto/index.js";
import { ETCD, etcdctl, hasEtcd, hasEtcdctl } from "../../testing/etcdctl.js";
import { type ServerProcess, startServer } from "../../testing/server_process.js";
import { fixedChunks, SNAPSHOT_SEND_BUFFER_SIZE } from "./snapshot.js";

const MaintenanceClient = makeGenericClientConstructor(MaintenanceService, "Maintenance");

/** Every message of one Snapshot call, and the call's final status code. */
function rawSnapshot(endpoint: string): Promise<SnapshotResponse[]> {
  const c = new MaintenanceClient(endpoint, credentials.createInsecure());
  const stream = c.snapshot!({}) as NodeJS.ReadableStream & AsyncIterable<SnapshotResponse>;
  return (async () => {
    const out: SnapshotResponse[] = [];
    try {
      for await (const m of stream) out.push(m);
      return out;
    } finally {
      c.close();
    }
  })();
}

async function putValues(endpoint: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await etcdctl(endpoint, ["put", `snap/${i}`, `${i}:${"v".repeat(3000)}`]);
    assert.equal(r.code, 0, r.stderr);
  }
}

/** The layout etcd 3.4 sends (checked against /usr/bin/etcd below). */
function assertLayout(msgs: SnapshotResponse[]): Buffer {
  assert.ok(msgs.length >= 3, `${msgs.length} messages`);
  const data = msgs.slice(0, -1);
  const total = data.reduce((n, m) => n + m.blob.length, 0);
  let sent = 0;
  for (const [i, m] of data.entries()) {
    assert.equal(m.header, undefined, "no header");
    sent += m.blob.length;
    assert.equal(m.remainingBytes, BigInt(total - sent));
    if (i < data.length - 1) assert.equal(m.blob.length, SNAPSHOT_SEND_BUFFER_SIZE);
  }
  const trailer = msgs.at(-1)!;
  assert.equal(trailer.remainingBytes, 0n);
  assert.equal(trailer.header, undefined);
  const body = Buffer.concat(data.map((m) => m.blob));
  assert.deepEqual(trailer.blob, createHash("sha256").update(body).digest());
  return body;
}

describe("Maintenance.Snapshot", { skip: hasEtcdctl() ? false : "etcdctl is not installed" }, () => {
  let s: ServerProcess;
  let dir: string;
  before(async () => {
    s = await startServer();
    dir = mkdtempSync(join(tmpdir(), "etcd-ts-snapshot-"));
    await putValues(s.endpoint, 40);
  });
  after(async () => {
    await s?.stop();
    s?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test("streams 32 KiB chunks with remaining_bytes, then the SHA-256 of the data", async () => {
    assertLayout(await rawSnapshot(s.endpoint));
  });

  test("etcdctl snapshot save writes data + hash; the data opens as our backend with the keys", async () => {
    const file = join(dir, "saved.db");
    const r = await etcdctl(s.endpoint, ["snapshot", "save", file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `Snapshot saved at ${file}\n`);
    const saved = readFileSync(file);
    const body = saved.subarray(0, saved.length - 32);
    assert.deepEqual(saved.subarray(saved.length - 32), createHash("sha256").update(body).digest());

    const copy = join(dir, "copy.mdb");
    writeFileSync(copy, body);
    const be = Backend.open({ path: copy });
    const kv = KVStore.open(be);
    try {
      const res = kv.range(Buffer.from("snap/"), Buffer.from("snap0"));
      assert.equal(res.count, 40);
      const k7 = res.kvs.find((x) => Buffer.from(x.key).toString() === "snap/7");
      assert.equal(Buffer.from(k7!.value).toString(), `7:${"v".repeat(3000)}`);
    } finally {
      await kv.close();
      await be.close();
    }
  });

  test("etcd 3.4 sends the same layout", { skip: hasEtcd() ? false : "etcd is not installed" }, async () => {
    const etcd = await startServer({ binary: ETCD });
    try {
      await putValues(etcd.endpoint, 40);
      assertLayout(await rawSnapshot(etcd.endpoint));
    } finally {
      await etcd.stop();
      etcd.cleanup();
    }
  });
});

test("fixedChunks regroups any chunking into exact sizes", async () => {
  async function* src(parts: number[]): AsyncGenerator<Uint8Array> {
    let v = 0;
    for (const n of parts) yield Uint8Array.from({ length: n }, () => v++ & 0xff);
  }
  for (const parts of [[10], [3, 3, 3, 1], [4, 4, 4], [1, 7, 2, 9], []]) {
    const out: Buffer[] = [];
    for await (const c of fixedChunks(src(parts), 4)) out.push(c);
    const total = parts.reduce((a, b) => a + b, 0);
    assert.deepEqual(
      out.map((c) => c.length),
      [...Array.from({ length: Math.floor(total / 4) }, () => 4), ...(total % 4 ? [total % 4] : [])],
    );
    assert.deepEqual([...Buffer.concat(out)], [...Array.from({ length: total }, (_, i) => i & 0xff)]);
  }
});
