// Owns the KV service's Range semantics on top of a ReadView, exactly as etcd 3.4's applier: sort order and
// target (with the limit quirk), min/max revision filters, limit/more, count before limit and filters,
// count_only and keys_only. Request field names match the generated etcdserverpb.RangeRequest.

import { ErrInvalidSortOption } from "./errors.js";
import { goSort, type Less } from "./go_sort.js";
import type { KeyValue } from "./kv.js";
import type { ReadView } from "./read.js";

export const SortOrder = { NONE: 0, ASCEND: 1, DESCEND: 2 } as const;
export const SortTarget = { KEY: 0, VERSION: 1, CREATE: 2, MOD: 3, VALUE: 4 } as const;

export interface RangeRequest {
  key: Uint8Array;
  /** Empty: the single key; "\0": every key >= key; else [key, rangeEnd). */
  rangeEnd?: Uint8Array;
  /** 0 (or negative) = unlimited. */
  limit?: bigint;
  /** <= 0 = latest. */
  revision?: bigint;
  sortOrder?: number;
  sortTarget?: number;
  keysOnly?: boolean;
  countOnly?: boolean;
  /** 0 = no bound, for each of the four. */
  minModRevision?: bigint;
  maxModRevision?: bigint;
  minCreateRevision?: bigint;
  maxCreateRevision?: bigint;
}

export interface RangeResponse {
  kvs: KeyValue[];
  more: boolean;
  count: bigint;
  /** For the response header: the view's current revision, even for a read at an older revision. */
  revision: bigint;
}

const EMPTY = Buffer.alloc(0);

/** etcd's kvSortByX Less functions: bytewise for key and value, numeric for the rest. */
const SORTERS: Record<number, Less<KeyValue>> = {
  [SortTarget.KEY]: (a, b) => Buffer.compare(a.key, b.key) < 0,
  [SortTarget.VERSION]: (a, b) => a.version < b.version,
  [SortTarget.CREATE]: (a, b) => a.createRevision < b.createRevision,
  [SortTarget.MOD]: (a, b) => a.modRevision < b.modRevision,
  [SortTarget.VALUE]: (a, b) => Buffer.compare(a.value, b.value) < 0,
};

/** Throws ErrInvalidSortOption for enum values outside the proto (etcd 3.6+ validation). */
export function checkSortOptions(r: RangeRequest): void {
  const order = r.sortOrder ?? SortOrder.NONE;
  if (!Number.isInteger(order) || order < SortOrder.NONE || order > SortOrder.DESCEND)
    throw new ErrInvalidSortOption();
  if (SORTERS[r.sortTarget ?? SortTarget.KEY] === undefined) throw new ErrInvalidSortOption();
}

/** Serves a RangeRequest from `view` (the store, or an open write txn inside a Txn). */
export function rangeRequest(view: ReadView, r: RangeRequest): RangeResponse {
  checkSortOptions(r);
  const reqLimit = r.limit ?? 0n;
  const minMod = r.minModRevision ?? 0n;
  const maxMod = r.maxModRevision ?? 0n;
  const minCreate = r.minCreateRevision ?? 0n;
  const maxCreate = r.maxCreateRevision ?? 0n;
  const filtered = minMod !== 0n || maxMod !== 0n || minCreate !== 0n || maxCreate !== 0n;
  let sortOrder = r.sortOrder ?? SortOrder.NONE;
  const sortTarget = r.sortTarget ?? SortTarget.KEY;

  // Sorting or filtering needs the whole range; otherwise read one extra key to know `more`.
  // Quirk kept from etcd: a non-KEY target with order NONE still reads only limit+1 keys (in key order).
  let limit = Number(reqLimit);
  if (sortOrder !== SortOrder.NONE || filtered) limit = 0;
  if (limit > 0) limit++;

  const rr = view.range(r.key, r.rangeEnd, { rev: r.revision ?? 0n, limit, count: r.countOnly ?? false });
  let kvs = rr.kvs;
  if (filtered) {
    kvs = kvs.filter(
      (kv) =>
        (maxMod === 0n || kv.modRevision <= maxMod) &&
        (minMod === 0n || kv.modRevision >= minMod) &&
        (maxCreate === 0n || kv.createRevision <= maxCreate) &&
        (minCreate === 0n || kv.createRevision >= minCreate),
    );
  }

  // Results come in ascending key order; a non-KEY target without an order sorts ascending.
  if (sortTarget !== SortTarget.KEY && sortOrder === SortOrder.NONE) sortOrder = SortOrder.ASCEND;
  // etcd also sorts KEY+ASCEND, but keys are unique and already ascending, so that sort cannot move anything.
  if (sortOrder !== SortOrder.NONE && !(sortTarget === SortTarget.KEY && sortOrder === SortOrder.ASCEND)) {
    const less = SORTERS[sortTarget]!;
    // Go's sort.Sort / sort.Sort(sort.Reverse(...)), move for move: ties among more than 12 kvs come out in
    // pdqsort's order, not key order, and clients can see it.
    goSort(kvs, sortOrder === SortOrder.DESCEND ? (a, b) => less(b, a) : less);
  }

  let more = false;
  if (reqLimit > 0n && kvs.length > Number(reqLimit)) {
    kvs = kvs.slice(0, Number(reqLimit));
    more = true;
  }
  if (r.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: EMPTY }));
  return { kvs, more, count: BigInt(rr.count), revision: rr.rev };
}
