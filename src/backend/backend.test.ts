// Specifies the backend: buckets, atomic batches, scans, snapshots, sizes, defragmentation and copies.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { AssertionError } from "./assert.js";
import { Backend } from "./backend.js";

const b = (s: string) => Buffer.from(s);
let dir: string;
let n = 0;
const freshPath = () => join(dir, `db${++n}`);

before(() => {
  dir = mkdtempSync(join(tmpdir(), "etcd-ts-backend-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe("backend", () => {
  test("buckets are created on demand and persist across reopen", async () => {
    const path = freshPath();
    const be = Backend.open({ path });
    be.batch(() => {
      be.bucket("key").put(b("k1"), b("v1"));
      be.bucket("meta").put(b("consistent_index"), Buffer.alloc(8));
    });
    await be.close();
    const be2 = Backend.open({ path });
    assert.deepEqual(be2.bucket("key").get(b("k1")), b("v1"));
    assert.equal(be2.bucket("meta").count(), 1);
    assert.equal(be2.bucket("lease").count(), 0);
    await be2.close();
  });

  test("a batch is atomic: a throw commits nothing; nested batches join the outer one", async () => {
    const be = Backend.open({ path: freshPath() });
    const key = be.bucket("key");
    assert.throws(
      () =>
        be.batch(() => {
          key.put(b("a"), b("1"));
          be.batch(() => key.put(b("b"), b("2")));
          assert.deepEqual(key.get(b("b")), b("2"), "reads inside a batch see its writes");
          throw new Error("boom");
        }),
      /boom/,
    );
    assert.equal(key.get(b("a")), undefined);
    assert.equal(key.get(b("b")), undefined);
    const r = be.batch(() => {
      key.put(b("a"), b("1"));
      return 42;
    });
    assert.equal(r, 42);
    assert.deepEqual(key.get(b("a")), b("1"));
    await be.flush();
    assert.equal(be.commitCount, 1);
    await be.close();
  });

  test("writes outside a batch are a bug", async () => {
    const be = Backend.open({ path: freshPath() });
    assert.throws(() => be.bucket("key").put(b("a"), b("1")), AssertionError);
    assert.throws(() => be.bucket("key").delete(b("a")), AssertionError);
    await be.close();
  });

  test("scan: byte order, exclusive end, limit, reverse, delete", async () => {
    const be = Backend.open({ path: freshPath() });
    const key = be.bucket("key");
    const keys = [[0], [0, 0], [1], [0x7f], [0xff], [0xff, 0]].map((a) => Buffer.from(a));
    be.batch(() => {
      for (const k of [...keys].reverse()) key.put(k, Buffer.from([k.length]));
    });
    const hex = (it: Iterable<{ key: Buffer }>) => [...it].map((e) => e.key.toString("hex"));
    assert.deepEqual(hex(key.scan(Buffer.from([0]))), ["00", "0000", "01", "7f", "ff", "ff00"]);
    assert.deepEqual(hex(key.scan(Buffer.from([0, 0]), { end: Buffer.from([0xff]) })), ["0000", "01", "7f"]);
    assert.deepEqual(hex(key.scan(Buffer.from([0]), { limit: 2 })), ["00", "0000"]);
    assert.deepEqual(hex(key.scan(Buffer.from([0, 0]), { end: Buffer.from([0xff]), reverse: true })), [
      "7f",
      "01",
      "0000",
    ]);
    assert.deepEqual(hex(key.scan(Buffer.from([1]), { reverse: true, limit: 1 })), ["ff00"]);
    be.batch(() => {
      assert.equal(key.delete(Buffer.from([1])), true);
      assert.equal(key.delete(Buffer.from([1])), false);
    });
    assert.equal(key.count(), 5);
    await be.close();
  });

  test("a read snapshot is not affected by later commits", async () => {
    const be = Backend.open({ path: freshPath() });
    const key = be.bucket("key");
    be.batch(() => key.put(b("a"), b("1")));
    const snap = be.readTxn();
    be.batch(() => {
      key.put(b("a"), b("2"));
      key.put(b("b"), b("3"));
    });
    assert.deepEqual(key.get(b("a"), snap), b("1"));
    assert.equal(key.get(b("b"), snap), undefined);
    assert.equal([...key.scan(b("a"), { txn: snap })].length, 1);
    assert.deepEqual(key.get(b("a")), b("2"));
    assert.throws(() => be.bucket("new-bucket"), AssertionError, "no bucket creation under a reader");
    snap.done();
    snap.done();
    be.bucket("new-bucket");
    await be.close();
  });

  test("size, sizeInUse and defragment", async () => {
    const path = freshPath();
    const be = Backend.open({ path });
    const key = be.bucket("key");
    const val = Buffer.alloc(1000, 7);
    for (let batch = 0; batch < 10; batch++) {
      be.batch(() => {
        for (let i = 0; i < 500; i++) key.put(b(`k${batch}-${i}`), val);
      });
    }
    const full = be.size();
    const inUseFull = be.sizeInUse();
    assert.ok(inUseFull <= full && inUseFull > 5_000_000, `inUse ${inUseFull} size ${full}`);
    be.batch(() => {
      for (let batch = 0; batch < 10; batch++) for (let i = 1; i < 500; i++) key.delete(b(`k${batch}-${i}`));
    });
    assert.ok(be.sizeInUse() < inUseFull / 10, "deleted pages are no longer in use");
    assert.ok(be.size() >= full, "the file does not shrink before defragment");
    await be.defragment();
    assert.ok(be.size() < full / 10, `defragmented ${be.size()} < ${full}`);
    assert.equal(key.count(), 10);
    assert.deepEqual(key.get(b("k3-0")), val);
    be.batch(() => key.put(b("after"), b("defrag")));
    await be.close();
    const be2 = Backend.open({ path });
    assert.equal(be2.bucket("key").count(), 11);
    await be2.close();
  });

  test("defragment refuses writes while copying", async () => {
    const be = Backend.open({ path: freshPath() });
    const key = be.bucket("key");
    be.batch(() => key.put(b("a"), b("1")));
    const p = be.defragment();
    assert.throws(() => be.batch(() => key.put(b("x"), b("y"))), AssertionError);
    await p;
    assert.equal(key.get(b("x")), undefined);
    await be.close();
  });

  test("snapshotTo, openSnapshotStream and restoreFrom give consistent copies", async () => {
    const be = Backend.open({ path: freshPath() });
    be.batch(() => {
      be.bucket("key").put(b("a"), b("1"));
      be.bucket("meta").put(b("m"), b("2"));
    });
    const copy = freshPath();
    await be.snapshotTo(copy);
    const { size, stream } = await be.openSnapshotStream();
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    assert.equal(Buffer.concat(chunks).length, size);
    assert.ok(size > 0 && size === statSync(copy).size);

    const other = Backend.open({ path: copy });
    assert.deepEqual(other.bucket("meta").get(b("m")), b("2"));
    await other.close();

    // restore: the receiving member replaces its whole database with the received copy
    const target = Backend.open({ path: join(dir, "restore-target") });
    target.batch(() => target.bucket("key").put(b("old"), b("x")));
    const received = join(dir, "restore-target.incoming");
    await be.snapshotTo(received);
    await target.restoreFrom(received);
    assert.equal(target.bucket("key").get(b("old")), undefined);
    assert.deepEqual(target.bucket("key").get(b("a")), b("1"));
    assert.deepEqual(target.bucket("meta").get(b("m")), b("2"));
    assert.deepEqual(target.bucketNames(), ["key", "meta"], "buckets of the received file are known");
    await target.close();
    await be.close();
    assert.throws(() => be.bucket("key").get(b("a")), AssertionError, "a closed backend refuses use");
  });
});
