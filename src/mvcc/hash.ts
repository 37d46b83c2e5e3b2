// Owns the consistency hashes: HashKV (CRC-32C over the "key" bucket up to a revision, as etcd's
// HashByRev) and Hash (CRC-32C over every bucket, as etcd's backend.Hash), both in bounded batches over a
// read snapshot so the event loop stays free.

import { crc32c } from "@node-rs/crc32";
import type { Backend } from "../backend/backend.js";
import type { Bucket } from "../backend/bucket.js";
import type { ReadTxn } from "../backend/read_txn.js";
import { bytesToMain, bytesToRev } from "./revision.js";
import type { TreeIndex } from "./tree_index.js";
import { revString } from "./tree_index.js";

/** Entries hashed (or index keys visited) per batch before yielding the event loop. */
export const HASH_BATCH_LIMIT = 500;

/** meta keys left out of Hash: they legitimately differ between members. */
const HASH_IGNORES = new Set(["meta/consistent_index", "meta/term"]);

export interface HashKVResult {
  hash: number;
  /** The store's revision when the hash was requested. */
  currentRev: bigint;
  compactRev: bigint;
  /** The revision the hash covers (3.6+ HashKVResponse.hash_revision). */
  hashRevision: bigint;
}

const yieldLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Calls `fn` on every entry of `bucket` from `start`, in batches over the snapshot `txn`. */
async function scanBatched(
  bucket: Bucket,
  txn: ReadTxn,
  check: () => void,
  fn: (key: Buffer, value: Buffer) => unknown,
): Promise<void> {
  let start: Buffer = Buffer.alloc(1);
  for (;;) {
    let n = 0;
    let last: Buffer | undefined;
    for (const { key, value } of bucket.scan(start, { limit: HASH_BATCH_LIMIT, txn })) {
      n++;
      last = key;
      if (fn(key, value) === false) return;
    }
    if (n < HASH_BATCH_LIMIT) return;
    start = Buffer.concat([last!, Buffer.alloc(1)]); // the next key in byte order
    await yieldLoop();
    check();
  }
}

/**
 * etcd's HashByRev for revision `rev` (already validated and resolved to > 0): CRC-32C of "key" then of
 * every key-bucket entry with main <= rev, skipping entries at or below the compact revision that
 * compaction will delete (unless nothing would be kept at all — etcd's quirk).
 * Must not run concurrently with a compaction (the caller serializes both through the compactor).
 * `check` runs between batches and throws to abandon the hash (store closed).
 */
export async function hashKV(
  backend: Backend,
  keyBucket: Bucket,
  index: TreeIndex,
  rev: bigint,
  compactRev: bigint,
  check: () => void,
): Promise<number> {
  const keep = new Set<string>();
  let from: string | undefined = "";
  while (from !== undefined) {
    from = index.keepBatch(rev, from, HASH_BATCH_LIMIT, keep);
    if (from !== undefined) await yieldLoop();
    check();
  }
  const txn = backend.readTxn();
  try {
    let h = crc32c(Buffer.from("key"));
    await scanBatched(keyBucket, txn, check, (key, value) => {
      const main = bytesToMain(key);
      if (main > rev) return false; // keys are in revision order: nothing further qualifies
      if (main <= compactRev && keep.size > 0 && !keep.has(revString(bytesToRev(key)))) return;
      h = crc32c(value, crc32c(key, h));
    });
    return h >>> 0;
  } finally {
    txn.done();
  }
}

/** etcd's backend Hash: every bucket (in name order) and its entries, minus HASH_IGNORES. */
export async function hashBackend(backend: Backend, check: () => void): Promise<number> {
  const txn = backend.readTxn();
  try {
    let h = 0;
    for (const name of backend.bucketNames()) {
      h = crc32c(Buffer.from(name), h);
      await scanBatched(backend.bucket(name), txn, check, (key, value) => {
        if (name === "meta" && HASH_IGNORES.has(`meta/${key.toString("latin1")}`)) return;
        h = crc32c(value, crc32c(key, h));
      });
    }
    return h >>> 0;
  } finally {
    txn.done();
  }
}
