// Owns mvcc-level reads (etcd's rangeKeys): the keys of a range at a revision, with limit and count,
// the revision checks (future / compacted), and loading KeyValues from the "key" bucket.

import { assert } from "../backend/assert.js";
import type { Bucket } from "../backend/bucket.js";
import { ErrCompacted, ErrFutureRev } from "./errors.js";
import { decodeKeyValue, type Event, type KeyValue } from "./kv.js";
import { bytesToMain, isTombstone, type Revision, revToBytes } from "./revision.js";
import type { TreeIndex } from "./tree_index.js";

export interface RangeOptions {
  /** Revision to read at; <= 0 (or absent) means the latest. */
  rev?: bigint;
  /** Maximum number of KeyValues to load; <= 0 (or absent) means no limit. `count` is never limited. */
  limit?: number;
  /** Only count: load no KeyValues. */
  count?: boolean;
}

export interface RangeResult {
  kvs: KeyValue[];
  /** Number of keys in the range at that revision (before limit). */
  count: number;
  /** The current revision of the view (not the revision read at), as etcd puts in the response header. */
  rev: bigint;
}

/** Anything a Range can be served from: the store (latest committed) or an open write txn (sees its writes). */
export interface ReadView {
  /** The view's current revision. */
  readonly revision: bigint;
  range(key: Uint8Array, end: Uint8Array | undefined, opts?: RangeOptions): RangeResult;
}

export interface ReadSource {
  readonly index: TreeIndex;
  readonly keyBucket: Bucket;
  readonly compactRevision: bigint;
}

/** Reads KeyValues of revisions not yet in the backend (an open txn's own writes). */
export type PendingReader = (r: Revision) => KeyValue | undefined;

export function rangeKeys(
  src: ReadSource,
  key: Uint8Array,
  end: Uint8Array | undefined,
  curRev: bigint,
  opts: RangeOptions | undefined,
  pending?: PendingReader,
): RangeResult {
  let rev = opts?.rev ?? 0n;
  if (rev > curRev) throw new ErrFutureRev();
  if (rev <= 0n) rev = curRev;
  if (rev < src.compactRevision) throw new ErrCompacted();

  const limit = opts?.limit !== undefined && opts.limit > 0 ? opts.limit : Number.POSITIVE_INFINITY;
  const wantKvs = !opts?.count;
  const revs: Revision[] = [];
  let count = 0;
  src.index.range(key, end, rev, (_ki, at) => {
    count++;
    if (wantKvs && revs.length < limit) revs.push(at.modified);
  });
  const kvs = new Array<KeyValue>(revs.length);
  for (let i = 0; i < revs.length; i++) kvs[i] = readKeyValue(src.keyBucket, revs[i]!, pending);
  return { kvs, count, rev: curRev };
}

export function readKeyValue(bucket: Bucket, r: Revision, pending?: PendingReader): KeyValue {
  const p = pending?.(r);
  if (p) return p;
  const buf = bucket.get(revToBytes(r));
  assert(buf !== undefined, () => `revision ${r.main}.${r.sub} is in the index but not in the key bucket`);
  return decodeKeyValue(buf);
}

/**
 * Stored changes with main revision in [fromRev, toRev], in revision order (watch catch-up, etcd's
 * kvsToEvents). Stops after `limit` events but never splits a revision. Entries at or below the compact
 * revision may already be gone: callers check the compact revision first.
 */
export function readEvents(bucket: Bucket, fromRev: bigint, toRev: bigint, limit: number): Event[] {
  const events: Event[] = [];
  if (toRev < fromRev) return events;
  const end = Buffer.allocUnsafe(8);
  end.writeBigInt64BE(toRev + 1n);
  let lastMain = -1n;
  for (const { key, value } of bucket.scan(revToBytes({ main: fromRev, sub: 0n }), { end })) {
    const main = bytesToMain(key);
    if (events.length >= limit && main !== lastMain) break;
    lastMain = main;
    const kv = decodeKeyValue(value);
    if (isTombstone(key)) {
      kv.modRevision = main; // a stored tombstone is just the key
      events.push({ type: "DELETE", kv });
    } else events.push({ type: "PUT", kv });
  }
  return events;
}
