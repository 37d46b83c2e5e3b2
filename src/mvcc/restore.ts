// Owns rebuilding the key index from the "key" bucket on open (etcd's store.restore): replay every stored
// revision in order; the first revision seen of a key restores its generation from the stored KeyValue, so
// versions and create revisions survive compaction.

import type { Bucket } from "../backend/bucket.js";
import { bytesKey } from "./btree.js";
import { KeyIndex } from "./key_index.js";
import { decodeKeyValue } from "./kv.js";
import { bytesToRev, isTombstone } from "./revision.js";
import type { TreeIndex } from "./tree_index.js";
import type { LeaseHooks } from "./txn.js";

/** Rebuilds `index` (which must be empty) and returns the highest main revision stored (0n if none). */
export function restoreIndex(keyBucket: Bucket, index: TreeIndex): bigint {
  let lastMain = 0n;
  for (const { key, value } of keyBucket.scan(Buffer.alloc(1))) {
    const r = bytesToRev(key);
    lastMain = r.main;
    const kv = decodeKeyValue(value);
    const ki = index.keyIndex(kv.key);
    if (isTombstone(key)) {
      if (ki?.isLive()) ki.tombstone(r);
      continue;
    }
    if (ki) {
      ki.put(r);
      ki.lease = kv.lease;
    } else {
      const fresh = new KeyIndex(bytesKey(kv.key));
      fresh.restore({ main: kv.createRevision, sub: 0n }, r, kv.version);
      fresh.lease = kv.lease;
      index.insert(fresh);
    }
  }
  return lastMain;
}

/** Tells the lessor which live keys are attached to which lease. */
export function reattachLeases(index: TreeIndex, hooks: LeaseHooks): void {
  index.forEach((ki) => {
    if (ki.isLive() && ki.lease !== 0n) hooks.attach(ki.lease, ki.keyBytes());
  });
}
