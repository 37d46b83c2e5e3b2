// Specifies the Wal's behaviour case by case: create/open, save and truncation, snapshot markers, segment
// rollover and release, leftovers, typed errors, and call serialization.
import assert from "node:assert/strict";
import { type FileHandle, mkdir, readdir, readFile, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { HARD_STATE_BYTES } from "./codec.js";
import { WalCorruptError, type WalError } from "./errors.js";
import { frameSize } from "./record.js";
import { parseSegmentName } from "./segment_name.js";
import { entry, META, marker, withTempDir } from "./test_support.js";
import { Wal } from "./wal.js";

const SMALL = { segmentBytes: 4096 };
const hs = (term: bigint, vote: bigint, commit: bigint) => ({ term, vote, commit });
const payload = (n: number) => "x".repeat(n);

describe("Wal create/open", () => {
  it("creates an empty WAL that reopens to the empty state", async () => {
    await withTempDir(async (root) => {
      const dir = join(root, "member", "wal");
      assert.equal(await Wal.exists(dir), false);
      const wal = await Wal.create(dir, META, SMALL);
      assert.deepEqual(wal.segmentFiles(), ["0000000000000000-0000000000000000.wal"]);
      assert.equal((await stat(join(dir, wal.segmentFiles()[0]!))).size, 4096, "preallocated");
      await wal.close();
      assert.equal(await Wal.exists(dir), true);
      const o = await Wal.open(dir, SMALL);
      assert.deepEqual(o.metadata, META);
      assert.deepEqual(o.hardState, hs(0n, 0n, 0n));
      assert.deepEqual(o.snapshot, marker(0n, 0n, []));
      assert.deepEqual(o.entries, []);
      assert.equal(o.repaired, false);
      await o.wal.close();
      assert.deepEqual(await readdir(root), ["member"], "no <dir>.tmp left behind");
    });
  });

  it("refuses to create over an existing WAL or a non-empty directory, and to open nothing", async () => {
    await withTempDir(async (root) => {
      const dir = join(root, "wal");
      await (await Wal.create(dir, META, SMALL)).close();
      await assert.rejects(Wal.create(dir, META, SMALL), (e: WalError) => e.code === "WAL_EXISTS");
      const other = join(root, "other");
      await mkdir(other);
      await writeFile(join(other, "keep-me"), "data");
      await assert.rejects(Wal.create(other, META, SMALL), (e: WalError) => e.code === "WAL_EXISTS");
      await assert.rejects(Wal.open(join(root, "empty"), SMALL), (e: Error) => "code" in e);
      await mkdir(join(root, "empty"));
      await assert.rejects(Wal.open(join(root, "empty"), SMALL), (e: WalError) => e.code === "WAL_NOT_FOUND");
    });
  });

  it("creates into an existing empty directory", async () => {
    await withTempDir(async (root) => {
      await (await Wal.create(root, META, SMALL)).close();
      assert.equal(await Wal.exists(root), true);
    });
  });
});

describe("Wal save", () => {
  it("returns entries and the latest hard state after reopen", async () => {
    await withTempDir(async (dir) => {
      const wal = await Wal.create(dir, META, SMALL);
      await wal.save(hs(1n, 1n, 0n), [entry(1n, 1n), entry(2n, 1n)]);
      await wal.save(hs(1n, 1n, 2n), [entry(3n, 1n)]);
      await wal.save(undefined, []); // nothing to write
      await wal.close();
      const o = await Wal.open(dir, SMALL);
      assert.deepEqual(o.hardState, hs(1n, 1n, 2n));
      assert.deepEqual(o.entries, [entry(1n, 1n), entry(2n, 1n), entry(3n, 1n)]);
      await o.wal.close();
    });
  });

  it("lets a later write of an index override it and drop everything after (raft truncation)", async () => {
    await withTempDir(async (dir) => {
      const wal = await Wal.create(dir, META, SMALL);
      await wal.save(hs(1n, 1n, 1n), [entry(1n, 1n), entry(2n, 1n), entry(3n, 1n), entry(4n, 1n)]);
      await wal.save(hs(2n, 2n, 1n), [entry(3n, 2n, "new3")]);
      await wal.close();
      const o = await Wal.open(dir, SMALL);
      assert.deepEqual(o.entries, [entry(1n, 1n), entry(2n, 1n), entry(3n, 2n, "new3")]);
      // Appends continue from the truncated end.
      await o.wal.save(undefined, [entry(4n, 2n, "new4")]);
      await o.wal.close();
      const o2 = await Wal.open(dir, SMALL);
      assert.deepEqual(o2.entries.at(-1), entry(4n, 2n, "new4"));
      await o2.wal.close();
    });
  });

  it("rejects batches raft would never produce, without failing the WAL", async () => {
    await withTempDir(async (dir) => {
      const wal = await Wal.create(dir, META, SMALL);
      await wal.save(undefined, [entry(1n, 1n)]);
      await assert.rejects(wal.save(undefined, [entry(3n, 1n)]), /gap/);
      await assert.rejects(wal.save(undefined, [entry(2n, 1n), entry(4n, 1n)]), /not contiguous/);
      await wal.saveSnapshot(marker(1n, 1n));
      await assert.rejects(wal.save(undefined, [entry(1n, 1n)]), /not after the snapshot/);
      await assert.rejects(wal.saveSnapshot(marker(0n, 0n)), /older/);
      const big = { ...entry(1n, 1n), data: new Uint8Array(2000) };
      const small = await Wal.create(join(dir, "small"), META, { ...SMALL, maxRecordBytes: 1024 });
      await assert.rejects(small.save(undefined, [big]), (e: WalError) => e.code === "WAL_RECORD_TOO_LARGE");
      await small.save(undefined, [entry(1n, 1n)]);
      await small.close();
      await wal.save(undefined, [entry(2n, 1n)]);
      await wal.close();
      await assert.rejects(wal.save(undefined, []), (e: WalError) => e.code === "WAL_CLOSED");
      await wal.close(); // idempotent
    });
  });

  it("fails for good after a write error: the file's state is unknown until reopened", async () => {
    await withTempDir(async (dir) => {
      const wal = await Wal.create(dir, META, SMALL);
      await wal.save(hs(1n, 1n, 0n), [entry(1n, 1n)]);
      // Pull the file out from under the writer, as a dying disk would.
      const tail = (wal as unknown as { tail: { fh: FileHandle; dsync?: FileHandle } }).tail;
      await tail.fh.close();
      await tail.dsync?.close();
      await assert.rejects(wal.save(undefined, [entry(2n, 1n)]), (e: WalError) => e.code === "WAL_FAILED");
      await assert.rejects(wal.saveSnapshot(marker(1n, 1n)), (e: WalError) => e.code === "WAL_FAILED");
      await wal.close();
      const o = await Wal.open(dir, SMALL);
      assert.deepEqual(o.entries, [entry(1n, 1n)]);
      await o.wal.close();
    });
  });

  it("serializes calls made without waiting, in call order", async () => {
    await withTempDir(async (dir) => {
      const wal = await Wal.create(dir, META, SMALL);
      const calls: Promise<void>[] = [];
      for (let i = 1n; i <= 50n; i++) calls.push(wal.save(hs(1n, 1n, i - 1n), [entry(i, 1n, payload(100))]));
      calls.push(wal.saveSnapshot(marker(20n, 1n)));
      calls.push(wal.close());
      await Promise.all(calls);
      const o = await Wal.open(dir, SMALL);
      assert.equal(o.snapshot.index, 20n);
      assert.deepEqual(
        o.entries.map((e) => e.index),
        Array.from({ length: 30 }, (_, i) => BigInt(i + 21)),
      );
      assert.deepEqual(o.hardState, hs(1n, 1n, 49n));
      await o.wal.close();
    });
  });
});

describe("Wal snapshot markers", () => {
  it("returns only entries after the latest marker", async () => {
    await withTempDir(async (dir) => {
      const wal = await Wal.create(dir, META, SMALL);
      await wal.save(
        hs(1n, 1n, 5n),
        [1n, 2n, 3n, 4n, 5n].map((i) => entry(i, 1n)),
      );
      await wal.saveSnapshot(marker(3n, 1n, [1n, 2n, 3n]));
      await wal.close();
      const o = await Wal.open(dir, SMALL);
      assert.deepEqual(o.snapshot, marker(3n, 1n, [1n, 2n, 3n]));
      assert.deepEqual(o.entries, [entry(4n, 1n), entry(5n, 1n)]);
      await o.wal.close();
    });
  });

  it("drops the whole log for a marker whose term does not match it (a leader's snapshot)", async () => {
    await withTempDir(async (dir) => {
      const wal = await Wal.create(dir, META, SMALL);
      await wal.save(hs(1n, 1n, 1n), [entry(1n, 1n), entry(2n, 1n), entry(3n, 1n)]);
      await wal.saveSnapshot(marker(2n, 3n));
      await assert.rejects(wal.save(undefined, [entry(4n, 3n)]), /gap after last index 2/);
      await wal.save(hs(3n, 2n, 2n), [entry(3n, 3n, "from leader")]);
      await wal.close();
      const o = await Wal.open(dir, SMALL);
      assert.deepEqual(o.entries, [entry(3n, 3n, "from leader")]);
      await o.wal.close();
    });
  });

  it("accepts a marker beyond the last entry; the log then continues after it", async () => {
    await withTempDir(async (dir) => {
      const wal = await Wal.create(dir, META, SMALL);
      await wal.save(undefined, [entry(1n, 1n)]);
      await wal.saveSnapshot(marker(100n, 4n));
      await wal.save(undefined, [entry(101n, 4n)]);
      await wal.close();
      const o = await Wal.open(dir, SMALL);
      assert.deepEqual(o.entries, [entry(101n, 4n)]);
      await o.wal.close();
    });
  });
});

describe("Wal segments", () => {
  it("cuts a new segment when a batch would not fit, named by sequence and first index", async () => {
    await withTempDir(async (dir) => {
      const wal = await Wal.create(dir, META, SMALL);
      for (let i = 1n; i <= 40n; i++) await wal.save(hs(1n, 1n, i), [entry(i, 1n, payload(300))]);
      const files = wal.segmentFiles();
      assert.ok(files.length >= 3, `expected rollover, got ${files.join(",")}`);
      const names = files.map((f) => parseSegmentName(f)!);
      assert.deepEqual(
        names.map((n) => n.seq),
        names.map((_, i) => BigInt(i)),
      );
      assert.ok(names.slice(1).every((n, i) => n.index > names[i]!.index));
      for (const f of files.slice(0, -1))
        assert.ok((await stat(join(dir, f))).size <= 4096, "sealed at used size");
      await wal.close();
      assert.deepEqual(
        (await readdir(dir)).sort(),
        [...files].sort(),
        "the .tmp next segment is removed on close",
      );
      const o = await Wal.open(dir, SMALL);
      assert.deepEqual(
        o.entries.map((e) => e.index),
        Array.from({ length: 40 }, (_, i) => BigInt(i + 1)),
      );
      assert.deepEqual(o.hardState, hs(1n, 1n, 40n));
      await o.wal.close();
    });
  });

  it("writes a batch larger than a segment into a fresh segment of its own", async () => {
    await withTempDir(async (dir) => {
      const wal = await Wal.create(dir, META, SMALL);
      await wal.save(undefined, [entry(1n, 1n)]);
      await wal.save(undefined, [entry(2n, 1n, payload(9000))]);
      await wal.save(undefined, [entry(3n, 1n)]);
      assert.equal(wal.segmentFiles().length, 3);
      await wal.close();
      const o = await Wal.open(dir, SMALL);
      assert.deepEqual(
        o.entries.map((e) => e.data.length),
        [2, 9000, 2],
      );
      await o.wal.close();
    });
  });

  it("releases segments wholly before the one holding the snapshot index, keeping the state", async () => {
    await withTempDir(async (dir) => {
      const wal = await Wal.create(dir, META, SMALL);
      for (let i = 1n; i <= 60n; i++) await wal.save(hs(2n, 1n, i), [entry(i, 2n, payload(300))]);
      const before = wal.segmentFiles();
      assert.equal(await wal.releaseLockTo(60n), 0, "nothing before a snapshot is released");
      await wal.saveSnapshot(marker(45n, 2n));
      const released = await wal.releaseLockTo(1000n); // capped at the snapshot
      const after = wal.segmentFiles();
      assert.ok(released > 0 && released === before.length - after.length);
      assert.deepEqual(after, before.slice(released));
      const first = parseSegmentName(after[0]!)!;
      const second = parseSegmentName(after[1]!)!;
      assert.ok(first.index <= 45n && second.index > 45n, "keeps the segment containing index 45");
      assert.equal(await wal.purge(), 0, "purge is idempotent");
      await wal.close();
      assert.deepEqual((await readdir(dir)).sort(), after);
      const o = await Wal.open(dir, SMALL);
      assert.deepEqual(o.snapshot, marker(45n, 2n));
      assert.deepEqual(
        o.entries.map((e) => e.index),
        Array.from({ length: 15 }, (_, i) => BigInt(i + 46)),
      );
      assert.deepEqual(o.hardState, hs(2n, 1n, 60n));
      assert.deepEqual(o.metadata, META);
      await o.wal.close();
    });
  });

  it("deletes preallocated .tmp leftovers on open", async () => {
    await withTempDir(async (dir) => {
      await (await Wal.create(dir, META, SMALL)).close();
      await writeFile(join(dir, "0.tmp"), Buffer.alloc(4096));
      const o = await Wal.open(dir, SMALL);
      await o.wal.close();
      assert.deepEqual(await readdir(dir), ["0000000000000000-0000000000000000.wal"]);
    });
  });
});

describe("Wal corruption", () => {
  async function threeSegments(dir: string): Promise<string[]> {
    const wal = await Wal.create(dir, META, SMALL);
    for (let i = 1n; i <= 30n; i++) await wal.save(hs(1n, 1n, i), [entry(i, 1n, payload(300))]);
    const files = wal.segmentFiles();
    await wal.close();
    assert.ok(files.length >= 3);
    return files;
  }

  it("reports a damaged byte in an earlier segment as WalCorruptError naming the segment", async () => {
    await withTempDir(async (dir) => {
      const files = await threeSegments(dir);
      const path = join(dir, files[0]!);
      const buf = await readFile(path);
      buf[Math.floor(buf.length / 2)]! ^= 0x40;
      await writeFile(path, buf);
      await assert.rejects(Wal.open(dir, SMALL), (e: unknown) => {
        assert.ok(e instanceof WalCorruptError);
        assert.equal(e.code, "WAL_CORRUPT");
        assert.equal(e.segment, files[0]);
        assert.match(e.message, /corrupt segment 0000000000000000-0000000000000000\.wal at offset \d+/);
        return true;
      });
    });
  });

  it("detects a missing or truncated segment in the middle", async () => {
    await withTempDir(async (dir) => {
      const files = await threeSegments(dir);
      const path = join(dir, files[1]!);
      const buf = await readFile(path);
      // Drop the last record (a hard state): every remaining byte is valid, but the next segment's link breaks.
      await writeFile(path, buf.subarray(0, buf.length - frameSize(HARD_STATE_BYTES)));
      await assert.rejects(Wal.open(dir, SMALL), /crc chain/);
      await writeFile(path, buf);
      await unlink(path);
      await assert.rejects(Wal.open(dir, SMALL), /sequence jumps/);
    });
  });

  it("refuses a WAL whose only segment lost its header", async () => {
    await withTempDir(async (dir) => {
      await (await Wal.create(dir, META, SMALL)).close();
      const path = join(dir, "0000000000000000-0000000000000000.wal");
      const buf = await readFile(path);
      buf[20]! ^= 1; // inside the metadata record
      await writeFile(path, buf);
      await assert.rejects(Wal.open(dir, SMALL), WalCorruptError);
    });
  });
});

describe("unsafeNoFsync (--unsafe-no-fsync)", () => {
  it("still writes every record, so a process restart recovers it", async () => {
    await withTempDir(async (root) => {
      const dir = join(root, "wal");
      const w = await Wal.create(dir, META, { unsafeNoFsync: true });
      await w.save({ term: 1n, vote: 1n, commit: 2n }, [entry(1n, 1n), entry(2n, 1n)]);
      await w.close();
      const opened = await Wal.open(dir);
      assert.deepEqual(
        opened.entries.map((e) => e.index),
        [1n, 2n],
      );
      assert.equal(opened.hardState.commit, 2n);
      await opened.wal.close();
    });
  });
});
