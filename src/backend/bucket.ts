// Owns one bucket (LMDB named database) of raw byte keys and values: point reads, ordered range scans, and
// writes that must happen inside the backend's current batch.

import type { Database, Transaction } from "lmdb";
import { assert } from "./assert.js";
import type { ReadTxn } from "./read_txn.js";

export interface Entry {
  key: Buffer;
  value: Buffer;
}

export interface ScanOptions {
  /** Exclusive upper bound; absent = to the end of the bucket. */
  end?: Uint8Array;
  limit?: number;
  reverse?: boolean;
  /** Read from this snapshot instead of the latest committed state. */
  txn?: ReadTxn;
}

/** What a bucket needs from its backend. */
export interface BucketOwner {
  readonly inBatch: boolean;
  checkUsable(): void;
}

export class Bucket {
  constructor(
    private readonly backend: BucketOwner,
    readonly name: string,
    /** The current lmdb handle; replaced when the backend swaps its file (defragment, restore). */
    public db: Database<Buffer, Buffer>,
  ) {}

  /** The value at `key` (a fresh copy), or undefined. Inside a batch this sees the batch's own writes. */
  get(key: Uint8Array, txn?: ReadTxn): Buffer | undefined {
    this.backend.checkUsable();
    if (!txn) return this.db.getBinary(key as Buffer);
    // lmdb-js accepts read options on getBinary; its typings omit them.
    const getBinary = this.db.getBinary as (k: Buffer, o: { transaction: Transaction }) => Buffer | undefined;
    return getBinary.call(this.db, key as Buffer, { transaction: txn.txn as Transaction });
  }

  put(key: Uint8Array, value: Uint8Array): void {
    assert(this.backend.inBatch, () => `put to bucket ${this.name} outside a batch`);
    this.db.putSync(key as Buffer, value as Buffer);
  }

  /** Deletes `key`; returns whether it existed. */
  delete(key: Uint8Array): boolean {
    assert(this.backend.inBatch, () => `delete from bucket ${this.name} outside a batch`);
    return this.db.removeSync(key as Buffer);
  }

  /** Entries with `start <= key < end` in byte order (or reverse), lazily; keys and values are copies. */
  scan(start: Uint8Array, opts: ScanOptions = {}): Iterable<Entry> {
    this.backend.checkUsable();
    const range: Record<string, unknown> = { start };
    if (opts.reverse) {
      // lmdb-js walks from `start` downwards when reversed, so swap the bounds (end stays exclusive).
      range.start = opts.end;
      range.end = start;
      range.reverse = true;
      range.inclusiveEnd = true;
      range.exclusiveStart = true;
    } else if (opts.end) range.end = opts.end;
    if (opts.limit !== undefined) range.limit = opts.limit;
    if (opts.txn) range.transaction = opts.txn.txn;
    return this.db.getRange(range) as Iterable<Entry>;
  }

  /** Number of entries in the bucket. */
  count(): number {
    this.backend.checkUsable();
    return (this.db.getStats() as { entryCount: number }).entryCount;
  }
}
