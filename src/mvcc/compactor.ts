// Owns physical compaction and the FIFO of long store jobs (compactions, HashKV): each job runs in bounded
// batches with the event loop free in between, and jobs never overlap (etcd's fifoSched).

import type { Backend } from "../backend/backend.js";
import type { Bucket } from "../backend/bucket.js";
import { ErrClosed } from "./errors.js";
import { decodeKey } from "./kv.js";
import { bytesToRev, type Revision, revToBytes } from "./revision.js";
import type { TreeIndex } from "./tree_index.js";

/**
 * Keys of the index, and revisions of the key bucket, handled per compaction batch. etcd uses 1000; a
 * key-bucket batch costs ~2-3 µs per revision here, so 250 keeps one batch near the 1 ms event-loop budget.
 */
export const COMPACTION_BATCH_LIMIT = 250;
/** Pause between compaction batches so applies and reads get the loop (etcd: 1000 revisions then 10 ms). */
export const COMPACTION_SLEEP_MS = 2;

export const SCHEDULED_COMPACT_KEY = Buffer.from("scheduledCompactRev");
export const FINISHED_COMPACT_KEY = Buffer.from("finishedCompactRev");

export interface CompactorHost {
  readonly backend: Backend;
  readonly index: TreeIndex;
  readonly keyBucket: Bucket;
  readonly metaBucket: Bucket;
}

export interface CompactorOptions {
  batchLimit: number;
  sleepMs: number;
}

/** Yields the event loop (a macrotask), after `ms` if given. */
export function pause(ms = 0): Promise<void> {
  return new Promise((resolve) => (ms > 0 ? setTimeout(resolve, ms) : setImmediate(resolve)));
}

export class Compactor {
  private tail: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly host: CompactorHost,
    readonly opts: CompactorOptions,
  ) {}

  /** Runs `job` after every job enqueued before it. */
  enqueue<T>(job: () => Promise<T>): Promise<T> {
    const run = this.tail.then(() => {
      this.checkRunning();
      return job();
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Compacts the index then the key bucket at `rev`; resolves once both are done and committed. */
  compact(rev: bigint): Promise<void> {
    return this.enqueue(() => this.run(rev));
  }

  /** Resolves when every enqueued job has settled. */
  idle(): Promise<void> {
    return this.tail.then(() => undefined);
  }

  stop(): void {
    this.stopped = true;
  }

  checkRunning(): void {
    if (this.stopped) throw new ErrClosed();
  }

  private async run(rev: bigint): Promise<void> {
    const { index, keyBucket, metaBucket, backend } = this.host;
    const { batchLimit, sleepMs } = this.opts;

    // 1. The index: from here on it references, at or below `rev`, only the revisions to keep.
    let from: string | undefined = "";
    while (from !== undefined) {
      this.checkRunning();
      from = index.compactBatch(rev, from, batchLimit);
      if (from !== undefined) await pause();
    }

    // 2. The key bucket: delete every revision <= rev the index no longer references.
    const end = Buffer.alloc(8);
    end.writeBigInt64BE(rev + 1n);
    let start = revToBytes({ main: 0n, sub: 0n });
    for (;;) {
      this.checkRunning();
      let seen = 0;
      let last: Revision | undefined;
      backend.batch(() => {
        const garbage: Buffer[] = [];
        for (const { key, value } of keyBucket.scan(start, { end, limit: batchLimit })) {
          seen++;
          last = bytesToRev(key);
          if (!index.keyIndex(decodeKey(value))?.hasRevision(last)) garbage.push(key);
        }
        for (const k of garbage) keyBucket.delete(k);
        if (seen < batchLimit) metaBucket.put(FINISHED_COMPACT_KEY, revToBytes({ main: rev, sub: 0n }));
      });
      if (seen < batchLimit) return;
      start = revToBytes({ main: last!.main, sub: last!.sub + 1n });
      await pause(sleepMs);
    }
  }
}
