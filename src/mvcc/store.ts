// Owns the MVCC key-value store (etcd's mvcc store): current and compact revisions, the consistent index,
// reads, write txns, compaction scheduling, hashes, and restart from the backend.

import { assert } from "../backend/assert.js";
import type { Backend } from "../backend/backend.js";
import type { Bucket } from "../backend/bucket.js";
import {
  COMPACTION_BATCH_LIMIT,
  COMPACTION_SLEEP_MS,
  Compactor,
  FINISHED_COMPACT_KEY,
  SCHEDULED_COMPACT_KEY,
} from "./compactor.js";
import { ErrClosed, ErrCompacted, ErrFutureRev } from "./errors.js";
import { type HashKVResult, hashBackend, hashKV } from "./hash.js";
import type { Event } from "./kv.js";
import { type RangeOptions, type RangeResult, type ReadView, rangeKeys, readEvents } from "./read.js";
import { reattachLeases, restoreIndex } from "./restore.js";
import { bytesToRev, revToBytes } from "./revision.js";
import { TreeIndex } from "./tree_index.js";
import { type ConsistentIndex, type LeaseHooks, type TxnHost, type TxnResult, WriteTxn } from "./txn.js";

export const KEY_BUCKET = "key";
export const META_BUCKET = "meta";
const CONSISTENT_INDEX_KEY = Buffer.from("consistent_index");
const TERM_KEY = Buffer.from("term");

export interface StoreOptions {
  /** Index keys / key-bucket revisions per compaction batch (default COMPACTION_BATCH_LIMIT). */
  compactionBatchLimit?: number;
  /** Pause between compaction batches in ms (default COMPACTION_SLEEP_MS; 0 = just yield). */
  compactionSleepMs?: number;
  /** The lessor's view of key attachments; also told about every leased key on open. */
  leaseHooks?: LeaseHooks;
}

export interface CompactionHandle {
  revision: bigint;
  /** Settles when the compaction is physically done and committed (CompactionRequest.physical waits). */
  done: Promise<void>;
}

export class KVStore implements ReadView, TxnHost {
  readonly index = new TreeIndex();
  readonly keyBucket: Bucket;
  readonly metaBucket: Bucket;
  readonly leaseHooks: LeaseHooks | undefined;
  private currentRev = 1n;
  private compactMainRev = -1n;
  private ci = 0n;
  private ciTerm = 0n;
  private activeTxn: WriteTxn | null = null;
  private readonly compactor: Compactor;
  private closed = false;

  private constructor(
    readonly backend: Backend,
    opts: StoreOptions,
  ) {
    this.leaseHooks = opts.leaseHooks;
    this.keyBucket = backend.bucket(KEY_BUCKET);
    this.metaBucket = backend.bucket(META_BUCKET);
    this.compactor = new Compactor(this, {
      batchLimit: opts.compactionBatchLimit ?? COMPACTION_BATCH_LIMIT,
      sleepMs: opts.compactionSleepMs ?? COMPACTION_SLEEP_MS,
    });
  }

  /** Opens the store on `backend`: rebuilds the index and resumes an unfinished compaction. */
  static open(backend: Backend, opts: StoreOptions = {}): KVStore {
    const s = new KVStore(backend, opts);
    s.restore();
    return s;
  }

  private restore(): void {
    const finished = this.metaBucket.get(FINISHED_COMPACT_KEY);
    if (finished) this.compactMainRev = bytesToRev(finished).main;
    const scheduledBytes = this.metaBucket.get(SCHEDULED_COMPACT_KEY);
    const scheduled = scheduledBytes ? bytesToRev(scheduledBytes).main : 0n;
    const ci = this.metaBucket.get(CONSISTENT_INDEX_KEY);
    if (ci) this.ci = ci.readBigUInt64BE(0);
    const term = this.metaBucket.get(TERM_KEY);
    if (term) this.ciTerm = term.readBigUInt64BE(0);

    const last = restoreIndex(this.keyBucket, this.index);
    if (last > this.currentRev) this.currentRev = last;
    // Compaction may have removed every revision up to the compact revision: the store is at least there.
    if (this.currentRev < this.compactMainRev) this.currentRev = this.compactMainRev;
    if (this.leaseHooks) reattachLeases(this.index, this.leaseHooks);
    if (scheduled !== 0n && scheduled > this.compactMainRev) this.compact(scheduled);
  }

  /** The revision of the last committed change (1 on an empty store). */
  get revision(): bigint {
    return this.currentRev;
  }

  /** The last compaction's revision, -1n if never compacted (as etcd reports it). */
  get compactRevision(): bigint {
    return this.compactMainRev;
  }

  /** The raft index of the last entry applied to this store (0n if none). */
  get consistentIndex(): bigint {
    return this.ci;
  }

  get consistentTerm(): bigint {
    return this.ciTerm;
  }

  /** Reads at the latest committed revision, or at `opts.rev`. */
  range(key: Uint8Array, end: Uint8Array | undefined, opts?: RangeOptions): RangeResult {
    this.checkOpen();
    return rangeKeys(this, key, end, this.currentRev, opts);
  }

  /**
   * Committed changes with revisions in [fromRev, toRev] (at most about `limit`, whole revisions only), for
   * watchers catching up. ErrCompacted if fromRev < the compact revision.
   */
  events(fromRev: bigint, toRev: bigint, limit: number): Event[] {
    this.checkOpen();
    if (fromRev < this.compactMainRev) throw new ErrCompacted();
    return readEvents(this.keyBucket, fromRev, toRev, limit);
  }

  /**
   * Starts the write txn (one at a time). `ci`, if given, is saved in the same backend batch as the
   * txn's changes, even when the txn changes nothing.
   */
  write(ci?: ConsistentIndex): WriteTxn {
    this.checkOpen();
    assert(this.activeTxn === null, "a write txn is already open");
    this.activeTxn = new WriteTxn(this, this.currentRev, ci);
    return this.activeTxn;
  }

  /** Set by the server: every txn that changed the store, in commit order (feeds watchers). */
  commitListener: ((result: TxnResult) => void) | undefined;

  onCommitted(result: TxnResult): void {
    this.commitListener?.(result);
  }

  /** @internal Called by WriteTxn.end(). */
  commitTxn(
    txn: WriteTxn,
    pending: ReadonlyArray<readonly [Buffer, Buffer]>,
    ci: ConsistentIndex | undefined,
  ): void {
    assert(this.activeTxn === txn, "ending a txn that is not the open one");
    this.activeTxn = null;
    if (pending.length > 0 || ci) {
      this.backend.batch(() => {
        for (const [k, v] of pending) this.keyBucket.put(k, v);
        if (ci) this.saveConsistentIndex(ci);
      });
    }
    if (pending.length > 0) this.currentRev = txn.beginRevision + 1n;
  }

  /** Saves the applied raft position into meta; joins the caller's batch (or runs its own). */
  saveConsistentIndex(ci: ConsistentIndex): void {
    this.checkOpen();
    const idx = Buffer.allocUnsafe(8);
    idx.writeBigUInt64BE(ci.index);
    this.backend.batch(() => {
      this.metaBucket.put(CONSISTENT_INDEX_KEY, idx);
      if (ci.term !== undefined) {
        const term = Buffer.allocUnsafe(8);
        term.writeBigUInt64BE(ci.term);
        this.metaBucket.put(TERM_KEY, term);
      }
    });
    this.ci = ci.index;
    if (ci.term !== undefined) this.ciTerm = ci.term;
  }

  /**
   * Compacts at `rev`: reads below `rev` fail from now on; the index and key bucket are cleaned in batches
   * afterwards (persisted as scheduledCompactRev, so a restart finishes the job).
   * Throws ErrCompacted if `rev` <= the compact revision, ErrFutureRev if `rev` > the current revision.
   */
  compact(rev: bigint): CompactionHandle {
    this.checkOpen();
    if (rev <= this.compactMainRev) throw new ErrCompacted();
    if (rev > this.currentRev) throw new ErrFutureRev();
    this.compactMainRev = rev;
    this.backend.batch(() => this.metaBucket.put(SCHEDULED_COMPACT_KEY, revToBytes({ main: rev, sub: 0n })));
    const done = this.compactor.compact(rev);
    done.catch(() => undefined); // a caller that does not wait must not cause an unhandled rejection
    return { revision: rev, done };
  }

  /** Resolves when every scheduled compaction (and hash) has finished, e.g. one resumed on open. */
  compactionsIdle(): Promise<void> {
    return this.compactor.idle();
  }

  /** etcd's HashKV(rev): rev 0 = current; rev <= compact revision -> ErrCompacted; > current -> ErrFutureRev. */
  hashKV(rev: bigint): Promise<HashKVResult> {
    this.checkOpen();
    const currentRev = this.currentRev;
    const compactRev = this.compactMainRev;
    if (rev > 0n && rev <= compactRev) return Promise.reject(new ErrCompacted());
    if (rev > 0n && rev > currentRev) return Promise.reject(new ErrFutureRev());
    const at = rev === 0n ? currentRev : rev;
    const check = () => this.compactor.checkRunning();
    return this.compactor.enqueue(async () => ({
      hash: await hashKV(this.backend, this.keyBucket, this.index, at, compactRev, check),
      currentRev,
      compactRev,
      hashRevision: at,
    }));
  }

  /** etcd's Hash: every bucket except the consistent index; returns the revision it was taken at. */
  hash(): Promise<{ hash: number; revision: bigint }> {
    this.checkOpen();
    const check = () => this.compactor.checkRunning();
    return this.compactor.enqueue(async () => {
      const revision = this.currentRev;
      return { hash: await hashBackend(this.backend, check), revision };
    });
  }

  /**
   * Defragments the backend between background jobs (never in the middle of a compaction or hash).
   * The caller must not apply or read until it settles: the backend refuses writes meanwhile.
   */
  defragment(): Promise<void> {
    this.checkOpen();
    return this.compactor.enqueue(() => this.backend.defragment());
  }

  /**
   * Stops background jobs: pending ones reject with ErrClosed, a running one stops at its next batch.
   * Resolves when nothing runs any more. The backend stays open: its owner closes it afterwards.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.compactor.stop();
    await this.compactor.idle();
  }

  private checkOpen(): void {
    if (this.closed) throw new ErrClosed();
  }
}
