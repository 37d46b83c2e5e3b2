// Owns the in-memory key index (etcd's treeIndex): key bytes -> KeyIndex in a B+tree, with etcd's range
// conventions, point-in-time lookups, and compaction in bounded batches.

import { BTree, bytesKey } from "./btree.js";
import { type KeyAt, KeyIndex } from "./key_index.js";
import type { Revision } from "./revision.js";

/**
 * etcd's range conventions: an empty `end` means the single key `key`; `end` = "\0" means every key >= key;
 * otherwise [key, end), which is empty when end <= key.
 */
export interface ScanRange {
  single: boolean;
  /** Exclusive upper bound as a tree key; undefined = unbounded. */
  end: string | undefined;
}

export function toScanRange(key: Uint8Array, end: Uint8Array | undefined): ScanRange | undefined {
  if (end === undefined || end.length === 0) return { single: true, end: undefined };
  if (end.length === 1 && end[0] === 0) return { single: false, end: undefined };
  if (Buffer.compare(end, key) <= 0) return undefined;
  return { single: false, end: bytesKey(end) };
}

export class TreeIndex {
  private readonly tree = new BTree<KeyIndex>();

  /** Number of keys with any retained history (live or not). */
  get size(): number {
    return this.tree.size;
  }

  keyIndex(key: Uint8Array): KeyIndex | undefined {
    return this.tree.get(bytesKey(key));
  }

  get(key: Uint8Array, atRev: bigint): KeyAt | undefined {
    return this.tree.get(bytesKey(key))?.get(atRev);
  }

  /**
   * Visits every key in the range that exists at `atRev`, in key order; stops when `visit` returns false.
   * Returns false if the range is empty by construction (end <= key).
   */
  range(
    key: Uint8Array,
    end: Uint8Array | undefined,
    atRev: bigint,
    visit: (ki: KeyIndex, at: KeyAt) => unknown,
  ): void {
    const r = toScanRange(key, end);
    if (!r) return;
    const start = bytesKey(key);
    if (r.single) {
      const ki = this.tree.get(start);
      const at = ki?.get(atRev);
      if (ki && at) visit(ki, at);
      return;
    }
    this.tree.scan(start, r.end, (_k, ki) => {
      const at = ki.get(atRev);
      return at ? visit(ki, at) : true;
    });
  }

  /** Records a put of `key` at `r`; returns its KeyIndex (created if new). */
  put(key: Uint8Array, r: Revision): KeyIndex {
    const k = bytesKey(key);
    let ki = this.tree.get(k);
    if (!ki) {
      ki = new KeyIndex(k);
      this.tree.set(k, ki);
    }
    ki.put(r);
    return ki;
  }

  /** Records a delete of `key` at `r`; false if the key is not live. */
  tombstone(key: Uint8Array, r: Revision): boolean {
    const ki = this.tree.get(bytesKey(key));
    if (!ki?.isLive()) return false;
    return ki.tombstone(r);
  }

  /** Adds a KeyIndex built elsewhere (restore). */
  insert(ki: KeyIndex): void {
    this.tree.set(ki.key, ki);
  }

  /**
   * Compacts up to `maxKeys` keys starting at tree key `from` (inclusive; "" = the first) at `atRev`, removing keys left empty.
   * Returns the key to continue from, or undefined when the whole index is done.
   */
  compactBatch(atRev: bigint, from: string, maxKeys: number): string | undefined {
    const emptied: string[] = [];
    const next = this.walkBatch(from, maxKeys, (ki) => {
      ki.compact(atRev);
      if (ki.isEmpty()) emptied.push(ki.key);
    });
    for (const k of emptied) this.tree.delete(k);
    return next;
  }

  /** Adds to `out` the revisions compact(atRev) would keep, for up to `maxKeys` keys from `from`. */
  keepBatch(atRev: bigint, from: string, maxKeys: number, out: Set<string>): string | undefined {
    return this.walkBatch(from, maxKeys, (ki) => {
      const r = ki.keep(atRev);
      if (r) out.add(revString(r));
    });
  }

  private walkBatch(from: string, maxKeys: number, fn: (ki: KeyIndex) => void): string | undefined {
    let n = 0;
    let next: string | undefined;
    this.tree.scan(from, undefined, (k, ki) => {
      if (n === maxKeys) {
        next = k;
        return false;
      }
      n++;
      fn(ki);
      return true;
    });
    return next;
  }

  /** Visits every KeyIndex in key order (restore-time work only: not bounded). */
  forEach(fn: (ki: KeyIndex) => void): void {
    this.tree.scan("", undefined, (_k, ki) => {
      fn(ki);
    });
  }
}

/** A compact string form of a revision for set membership. */
export function revString(r: Revision): string {
  return `${r.main}_${r.sub}`;
}
