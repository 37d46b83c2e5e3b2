// Owns the embedded store: one LMDB environment holding named buckets, one write transaction per batch,
// read snapshots, sizes, defragmentation (compacting copy + swap) and consistent copies for snapshots.
//
// Durability model (same as etcd: the WAL is the source of truth, the backend is a materialised view):
// LMDB runs with MDB_NOSYNC, so a commit costs ~40 µs instead of an fsync on the event loop. A process
// crash loses nothing (committed pages are in the page cache). An OS crash may lose the latest commits;
// the applied raft index ("consistentIndex") is written in the same transaction as the data, so on
// restart the server replays the WAL from it. Before the server releases WAL segments it must call
// `flush()` (an fsync in the thread pool) so the backend durably covers everything being released.
// `sync: true` makes every commit fsync (slow; for tools and tests that want it).

import { type ReadStream, statSync } from "node:fs";
import { open as openFile, rename, rm, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { type Database, open, type RootDatabase, type TransactionFlags } from "lmdb";
import { assert } from "./assert.js";
import { Bucket } from "./bucket.js";
import { ReadTxn } from "./read_txn.js";

export interface BackendOptions {
  /** The database file, e.g. `<data-dir>/member/snap/db` (LMDB also creates `<path>-lock`). */
  path: string;
  /** fsync on every commit (default false: see the durability model above). */
  sync?: boolean;
  /** Maximum number of buckets (named databases). */
  maxBuckets?: number;
}

/** How stale the file size used by quota checks may be (etcd also reads a cached size). */
export const SIZE_REFRESH_MS = 100;

/** Upper bound on named buckets: key, meta, lease, auth, authUsers, authRoles, members, … */
export const DEFAULT_MAX_BUCKETS = 32;

// lmdb-js transaction flags: abortable | synchronous commit | no fsync for this commit.
const TXN_FLAGS_NOSYNC = 0x10003;
const TXN_FLAGS_SYNC = 0x3;
let snapshotSeq = 0;

export class Backend {
  readonly path: string;
  private readonly opts: Required<BackendOptions>;
  private root: RootDatabase<Buffer, Buffer>;
  private readonly buckets = new Map<string, Bucket>();
  private batchDepth = 0;
  private openReaders = 0;
  private writeCount = 0;
  private busy: "defrag" | "closed" | null = null;
  private cachedSize = 0;
  private sizeAt = Number.NEGATIVE_INFINITY;

  private constructor(opts: Required<BackendOptions>) {
    this.path = opts.path;
    this.opts = opts;
    this.root = this.openEnv();
    for (const name of this.storedBucketNames()) this.bucket(name);
  }

  /** Names of the buckets present in the file (LMDB keeps them as NUL-terminated keys of the main db). */
  private storedBucketNames(): string[] {
    const names: string[] = [];
    for (const key of this.root.getKeys({})) {
      const k = key as Buffer;
      names.push(k.toString("utf8", 0, k.at(-1) === 0 ? k.length - 1 : k.length));
    }
    return names;
  }

  static open(opts: BackendOptions): Backend {
    return new Backend({ sync: false, maxBuckets: DEFAULT_MAX_BUCKETS, ...opts });
  }

  private openEnv(): RootDatabase<Buffer, Buffer> {
    return open<Buffer, Buffer>(this.path, {
      noSubdir: true,
      noSync: !this.opts.sync,
      overlappingSync: false,
      maxDbs: this.opts.maxBuckets,
      keyEncoding: "binary",
      encoding: "binary",
    });
  }

  /** The bucket (named database) `name`, created on first use. */
  bucket(name: string): Bucket {
    let b = this.buckets.get(name);
    if (!b) {
      this.checkUsable();
      // Creating a named database resets lmdb-js read snapshots, so buckets are made before any reader.
      assert(this.openReaders === 0, () => `bucket ${name} created while read snapshots are open`);
      b = new Bucket(this, name, this.openDb(name));
      this.buckets.set(name, b);
    }
    return b;
  }

  /** Names of all buckets, in byte order (the order etcd's Hash walks them). */
  bucketNames(): string[] {
    return [...this.buckets.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  }

  private openDb(name: string): Database<Buffer, Buffer> {
    return this.root.openDB(name, { keyEncoding: "binary", encoding: "binary" });
  }

  /**
   * Runs `fn` inside one LMDB write transaction and commits it (without fsync unless `sync`).
   * Nested calls join the outer transaction (an inner throw the outer `fn` catches undoes nothing).
   * If `fn` throws, nothing of the batch is committed. `fn` must be synchronous.
   */
  batch<T>(fn: () => T): T {
    if (this.batchDepth > 0) return fn();
    this.checkUsable();
    let result: T | undefined;
    this.batchDepth++;
    try {
      this.root.transactionSync(
        () => {
          result = fn();
          assert(!(result instanceof Promise), "backend batch functions must be synchronous");
        },
        (this.opts.sync ? TXN_FLAGS_SYNC : TXN_FLAGS_NOSYNC) as TransactionFlags,
      );
    } finally {
      this.batchDepth--;
    }
    this.writeCount++;
    return result as T;
  }

  /** Number of write transactions committed since open (for metrics and tests). */
  get commitCount(): number {
    return this.writeCount;
  }

  get inBatch(): boolean {
    return this.batchDepth > 0;
  }

  /** A consistent read snapshot that later commits do not affect; call `done()` when finished. */
  readTxn(): ReadTxn {
    this.checkUsable();
    this.openReaders++;
    return new ReadTxn(this.root.useReadTransaction(), () => {
      this.openReaders--;
    });
  }

  /** Forces everything committed so far to disk (fsync in the thread pool). */
  flush(): Promise<void> {
    this.checkUsable();
    return new Promise((resolve, reject) => {
      (this.root as unknown as { sync(cb: (err?: Error) => void): void }).sync((err) =>
        err ? reject(err) : resolve(),
      );
    });
  }

  /** Size of the database file in bytes (etcd's dbSize). */
  /** The file's size; a stat at most every SIZE_REFRESH_MS, since quota checks ask on every write. */
  size(): number {
    const now = performance.now();
    if (now - this.sizeAt > SIZE_REFRESH_MS) {
      this.cachedSize = statSync(this.path).size;
      this.sizeAt = now;
    }
    return this.cachedSize;
  }

  /** Bytes in pages actually holding data, excluding free pages (etcd's dbSizeInUse). */
  sizeInUse(): number {
    this.checkUsable();
    const st = this.root.getStats() as LmdbStats;
    let pages = 2 + treePages(st.root) + treePages(st.free); // two meta pages, the catalogue, the freelist
    for (const b of this.buckets.values()) pages += treePages(b.db.getStats() as LmdbStats);
    return pages * st.pageSize;
  }

  /** Writes a consistent (point-in-time) copy of the database to `path`, off the event loop. */
  async snapshotTo(path: string, compact = false): Promise<void> {
    this.checkUsable();
    await this.root.backup(path, compact);
  }

  /**
   * A consistent copy of the database as a stream (for snapshot transfer). The copy is made in the thread
   * pool into a temporary file that is unlinked as soon as it is opened, so it vanishes with the stream.
   * `chunkBytes` is the size of the chunks read (the last one may be shorter).
   */
  async openSnapshotStream(chunkBytes = 64 * 1024): Promise<{ size: number; stream: ReadStream }> {
    assert(chunkBytes > 0, () => `snapshot chunk size ${chunkBytes}`);
    const tmp = `${this.path}.snap-${process.pid}-${++snapshotSeq}`;
    await this.snapshotTo(tmp);
    const fh = await openFile(tmp, "r");
    try {
      await rm(tmp, { force: true });
      const size = (await fh.stat()).size;
      return { size, stream: fh.createReadStream({ autoClose: true, highWaterMark: chunkBytes }) };
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /**
   * Compacts the file: a compacting copy (in the thread pool) then a swap. The caller must not read or
   * write through this backend until the promise settles (etcd also blocks the member meanwhile);
   * writes are refused, and a write that slipped in would abort the swap rather than be lost.
   */
  async defragment(): Promise<void> {
    this.checkUsable();
    assert(this.batchDepth === 0, "defragment inside a batch");
    assert(this.openReaders === 0, () => `defragment with ${this.openReaders} open read snapshots`);
    const tmp = this.path + ".defrag";
    const writesBefore = this.writeCount;
    this.busy = "defrag";
    try {
      await rm(tmp, { force: true });
      await this.root.backup(tmp, true);
      assert(this.writeCount === writesBefore, "write during defragment copy");
      await this.swapFile(tmp);
    } finally {
      this.busy = null;
      await rm(tmp, { force: true });
    }
  }

  /**
   * Replaces the whole database with the file at `path` (a received snapshot); `path` is consumed.
   * Bucket handles stay valid; stores built on the old contents must be reopened (etcd's kv.Restore).
   */
  async restoreFrom(path: string): Promise<void> {
    this.checkUsable();
    assert(this.batchDepth === 0 && this.openReaders === 0, "restoreFrom with a batch or reader open");
    assert(dirname(path) === dirname(this.path), "restoreFrom needs a file in the same directory");
    await stat(path);
    this.busy = "defrag";
    try {
      await this.swapFile(path);
    } finally {
      this.busy = null;
    }
  }

  private async swapFile(replacement: string): Promise<void> {
    await this.root.close();
    await rename(replacement, this.path);
    this.root = this.openEnv();
    this.sizeAt = Number.NEGATIVE_INFINITY; // the file was replaced: read its size again
    for (const [name, b] of this.buckets) b.db = this.openDb(name);
    for (const name of this.storedBucketNames()) {
      if (!this.buckets.has(name)) this.buckets.set(name, new Bucket(this, name, this.openDb(name)));
    }
  }

  async close(): Promise<void> {
    if (this.busy === "closed") return;
    assert(this.batchDepth === 0, "close inside a batch");
    this.busy = "closed";
    await this.root.close();
  }

  /** Throws if the backend is closed or in the middle of a defragmentation. */
  checkUsable(): void {
    assert(
      this.busy === null,
      () => `backend ${this.path} is ${this.busy === "closed" ? "closed" : "defragmenting"}`,
    );
  }
}

interface TreeStats {
  treeBranchPageCount: number;
  treeLeafPageCount: number;
  overflowPages: number;
}
interface LmdbStats extends TreeStats {
  pageSize: number;
  root: TreeStats;
  free: TreeStats;
}

function treePages(s: TreeStats): number {
  return s.treeBranchPageCount + s.treeLeafPageCount + s.overflowPages;
}
