// Owns the Wal: the single writer of a segmented log — create/open, save (one fdatasync per call), snapshot
// markers, cutting segments, releasing old ones, close. Calls run one at a time, in call order.
import { constants } from "node:fs";
import { type FileHandle, mkdir, open, readdir, rename, rm, rmdir, unlink } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { type Entry, type HardState, hardStateEqual, type SnapshotMetadata } from "../raft/types.js";
import { assert } from "./assert.js";
import {
  encodeSave,
  encodeSegmentHeader,
  encodeSnapshotRecord,
  type Framed,
  saveSize,
  snapshotRecordSize,
} from "./encode.js";
import { WalError } from "./errors.js";
import { fsyncDir, writeFully, writeZeros } from "./file_io.js";
import { FilePipeline } from "./file_pipeline.js";
import { resolveLimits, type WalLimits, type WalOptions } from "./limits.js";
import { type Indexed, LiveLog } from "./live_log.js";
import { recover, type Tail } from "./recover.js";
import { emptySnapshotMarker, type WalState } from "./replay.js";
import { listSegments, type SegmentName, segmentFileName } from "./segment_name.js";

/** What Wal.open returns: the writer, and the state it recovered. */
export interface OpenedWal extends WalState {
  wal: Wal;
  /** True when a torn tail was cut off the last segment (or its header rewritten). */
  repaired: boolean;
}

interface TailSegment extends Tail {
  name: SegmentName;
  fh: FileHandle;
  /** The same file opened O_DSYNC: a synced save is one write, not a write and an fdatasync (one thread-pool
   *  round trip instead of two — fewer chances to wait behind other I/O). Opened on the first synced write. */
  dsync?: FileHandle;
}

interface WalInit {
  dir: string;
  limits: WalLimits;
  metadata: Uint8Array;
  segments: SegmentName[];
  tail: TailSegment;
  hardState: HardState;
  snapshot: SnapshotMetadata;
  log: LiveLog<Indexed>;
}

const cloneSnapshot = (s: SnapshotMetadata): SnapshotMetadata => ({
  index: s.index,
  term: s.term,
  confState: { voters: [...s.confState.voters], learners: [...s.confState.learners] },
});

export class Wal {
  readonly dir: string;
  private readonly limits: WalLimits;
  private readonly metadata: Uint8Array;
  private segments: SegmentName[];
  private tail: TailSegment;
  private hardState: HardState;
  private snapshot: SnapshotMetadata;
  /** Indexes and terms of the live entries, as replay will see them: validates appends, names segments. */
  private readonly log: LiveLog<Indexed>;
  private readonly pipeline: FilePipeline;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private failure: unknown;

  private constructor(init: WalInit) {
    this.dir = init.dir;
    this.limits = init.limits;
    this.metadata = init.metadata;
    this.segments = init.segments;
    this.tail = init.tail;
    this.hardState = { ...init.hardState };
    this.snapshot = cloneSnapshot(init.snapshot);
    this.log = init.log;
    this.pipeline = new FilePipeline(this.dir, this.limits.segmentBytes, this.limits.preallocate);
    this.pipeline.start();
  }

  /** True when dir holds at least one segment. */
  static async exists(dir: string): Promise<boolean> {
    try {
      return (await listSegments(dir)).segments.length > 0;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw err;
    }
  }

  /**
   * Creates a WAL in dir (which must not exist or be empty) holding metadata. The first segment is written
   * in "<dir>.tmp" and renamed into place, so a crash leaves either no WAL or a complete one.
   */
  static async create(dir: string, metadata: Uint8Array, opts?: WalOptions): Promise<Wal> {
    const limits = resolveLimits(opts);
    dir = resolve(dir);
    if (metadata.length > limits.maxRecordBytes) {
      throw new WalError(
        "WAL_RECORD_TOO_LARGE",
        `wal: metadata of ${metadata.length} bytes is over the limit`,
      );
    }
    const existing = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return undefined;
      throw err;
    });
    if (existing !== undefined && existing.length > 0) {
      throw new WalError("WAL_EXISTS", `wal: ${dir} already exists and is not empty`);
    }
    const tmpDir = `${dir}.tmp`;
    await rm(tmpDir, { recursive: true, force: true });
    await mkdir(tmpDir, { recursive: true });
    const name: SegmentName = { seq: 0n, index: 0n, file: segmentFileName(0n, 0n) };
    const fh = await open(join(tmpDir, name.file), "w+");
    try {
      if (limits.preallocate) await writeZeros(fh, 0, limits.segmentBytes);
      const snapshot = emptySnapshotMarker();
      const hardState: HardState = { term: 0n, vote: 0n, commit: 0n };
      const h = encodeSegmentHeader(0, metadata, hardState, snapshot);
      await writeFully(fh, h.bytes, 0);
      await fh.datasync();
      await fsyncDir(tmpDir);
      if (existing !== undefined) await rmdir(dir);
      await rename(tmpDir, dir);
      await fsyncDir(dirname(dir));
      const tail = { name, fh, offset: h.bytes.length, crc: h.crc, headerEnd: h.bytes.length };
      return new Wal({
        dir,
        limits,
        metadata: new Uint8Array(metadata),
        segments: [name],
        tail,
        hardState,
        snapshot,
        log: new LiveLog(),
      });
    } catch (err) {
      await fh.close().catch(() => {});
      throw err;
    }
  }

  /**
   * Opens the WAL in dir: verifies every record, cuts a torn tail off the last segment, and returns the
   * writer with the recovered state. Damage anywhere else throws WalCorruptError.
   */
  static async open(dir: string, opts?: WalOptions): Promise<OpenedWal> {
    const limits = resolveLimits(opts);
    dir = resolve(dir);
    const r = await recover(dir, limits);
    const name = r.segments.at(-1)!;
    const fh = await open(join(dir, name.file), "r+");
    const wal = new Wal({
      dir,
      limits,
      metadata: r.state.metadata,
      segments: r.segments,
      tail: { ...r.tail, name, fh },
      hardState: r.state.hardState,
      snapshot: r.state.snapshot,
      log: liveLogOf(r.state),
    });
    return { wal, repaired: r.repaired, ...r.state };
  }

  /**
   * Appends entries, then the hard state (skipped when undefined or unchanged), with one fdatasync — unless only
   * the commit index changed: like etcd's MustSync, a lost commit index is recomputed by raft, so that write is
   * not synced (it becomes durable with the next synced write).
   * Entries must be contiguous, start after the snapshot and at most one past the last index; starting at or
   * below the last index truncates the log there (raft semantics). Do not mutate the arguments until it resolves.
   */
  save(hardState: HardState | undefined, entries: readonly Entry[]): Promise<void> {
    return this.run(async () => {
      const first = entries[0];
      if (first !== undefined) this.checkAppend(first.index, entries);
      const hs =
        hardState !== undefined && !hardStateEqual(hardState, this.hardState) ? { ...hardState } : undefined;
      if (hs === undefined && first === undefined) return;
      const size = saveSize(hs, entries, this.limits.maxRecordBytes);
      const sync =
        first !== undefined ||
        (hs !== undefined && (hs.term !== this.hardState.term || hs.vote !== this.hardState.vote));
      await this.write(size, (seed) => encodeSave(hs, entries, seed, size), sync);
      if (hs !== undefined) this.hardState = hs;
      for (const e of entries) this.log.append({ index: e.index, term: e.term });
    });
  }

  /** Records that a snapshot up to marker.index exists (etcd's SaveSnapshot), with one fdatasync. */
  saveSnapshot(marker: SnapshotMetadata): Promise<void> {
    return this.run(async () => {
      const cur = this.snapshot;
      assert(
        marker.index > cur.index || (marker.index === cur.index && marker.term === cur.term),
        () =>
          `snapshot marker (index ${marker.index}, term ${marker.term}) is older than (${cur.index}, ${cur.term})`,
      );
      const m = cloneSnapshot(marker);
      await this.write(snapshotRecordSize(m), (seed) => encodeSnapshotRecord(m, seed));
      this.snapshot = m;
      this.log.marker(m.index, m.term);
    });
  }

  /**
   * Deletes the segments wholly before the one that holds index (capped at the latest snapshot), oldest first,
   * so what is left is always a contiguous run. Returns how many were deleted.
   */
  releaseLockTo(index: bigint): Promise<number> {
    return this.run(() => this.release(index));
  }

  /** Deletes every segment the latest snapshot (as of when the call runs) makes unnecessary. */
  purge(): Promise<number> {
    return this.run(() => this.release(this.snapshot.index));
  }

  /** The segment file names, oldest first (for tools and tests). */
  segmentFiles(): string[] {
    return this.segments.map((s) => s.file);
  }

  /** Where the next record goes: the tail segment and the offset after its last record (for tools and tests). */
  position(): { file: string; offset: number } {
    return { file: this.tail.name.file, offset: this.tail.offset };
  }

  /** Waits for pending calls, then closes the files. Later calls fail with WAL_CLOSED. */
  close(): Promise<void> {
    const p = this.queue.then(async () => {
      if (this.closed) return;
      this.closed = true;
      await this.tail.dsync?.close().catch(() => {});
      await this.tail.fh.close().catch(() => {});
      await this.pipeline.close();
    });
    this.queue = p.catch(() => {});
    return p;
  }

  private async release(index: bigint): Promise<number> {
    const limit = index < this.snapshot.index ? index : this.snapshot.index;
    // Every live entry at or above a segment's name is in that segment or a later one (see cut()).
    let keep = 0;
    for (let j = this.segments.length - 1; j > 0; j--) {
      if (this.segments[j]!.index <= limit) {
        keep = j;
        break;
      }
    }
    for (let j = 0; j < keep; j++) {
      await unlink(join(this.dir, this.segments[0]!.file));
      this.segments.shift();
    }
    if (keep > 0) await fsyncDir(this.dir);
    return keep;
  }

  private checkAppend(first: bigint, entries: readonly Entry[]): void {
    entries.forEach((e, i) => {
      assert(
        e.index === first + BigInt(i),
        () => `entries are not contiguous at ${e.index} (batch from ${first})`,
      );
    });
    assert(
      first > this.snapshot.index,
      () => `entry ${first} is not after the snapshot at ${this.snapshot.index}`,
    );
    assert(
      first <= this.log.lastIndex + 1n,
      () => `entry ${first} leaves a gap after last index ${this.log.lastIndex}`,
    );
  }

  /** Cuts first if the batch does not fit, then writes and syncs it. Any I/O failure fails the WAL for good. */
  private async write(size: number, frame: (seed: number) => Framed, sync = true): Promise<void> {
    try {
      if (this.tail.offset + size > this.limits.segmentBytes && this.tail.offset > this.tail.headerEnd)
        await this.cut();
      const t = this.tail;
      const f = frame(t.crc);
      assert(f.bytes.length === size, () => `framed ${f.bytes.length} bytes, expected ${size}`);
      const durable = sync && !this.limits.unsafeNoFsync;
      if (durable && t.dsync === undefined) {
        t.dsync = await open(join(this.dir, t.name.file), constants.O_WRONLY | constants.O_DSYNC);
      }
      await writeFully(durable ? t.dsync! : t.fh, f.bytes, t.offset);
      t.offset += f.bytes.length;
      t.crc = f.crc;
    } catch (err) {
      // After a failed write or fsync the file's contents are unknown (and a retried fsync can lie).
      this.failure = err;
      throw new WalError("WAL_FAILED", `wal: write failed: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * Seals the tail (truncated to its records, synced) and starts the next segment from the prepared file,
   * named one past the end of the live log: every live entry at or above that index will be written in the
   * new segment or later (releaseLockTo relies on this), and every entry below it is live now (open relies on
   * this to notice entries that only released segments hold).
   */
  private async cut(): Promise<void> {
    const index = this.log.lastIndex + 1n;
    const old = this.tail;
    await old.fh.truncate(old.offset);
    await old.fh.datasync();
    await old.dsync?.close();
    await old.fh.close();
    const tmp = await this.pipeline.take();
    const h = encodeSegmentHeader(old.crc, this.metadata, this.hardState, this.snapshot);
    await writeFully(tmp.fh, h.bytes, 0);
    await tmp.fh.datasync();
    const seq = old.name.seq + 1n;
    const name: SegmentName = { seq, index, file: segmentFileName(seq, index) };
    await rename(tmp.path, join(this.dir, name.file));
    await fsyncDir(this.dir);
    this.segments.push(name);
    this.tail = { name, fh: tmp.fh, offset: h.bytes.length, crc: h.crc, headerEnd: h.bytes.length };
  }

  /** Runs fn after every earlier call, in call order; refuses once closed or failed. */
  private run<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(() => {
      if (this.closed) throw new WalError("WAL_CLOSED", "wal: closed");
      if (this.failure !== undefined) {
        throw new WalError("WAL_FAILED", "wal: an earlier write failed; reopen to recover", {
          cause: this.failure,
        });
      }
      return fn();
    });
    this.queue = p.catch(() => {});
    return p;
  }
}

function liveLogOf(state: WalState): LiveLog<Indexed> {
  const log = new LiveLog<Indexed>(state.snapshot.index);
  log.marker(state.snapshot.index, state.snapshot.term);
  for (const e of state.entries) log.append({ index: e.index, term: e.term });
  return log;
}
