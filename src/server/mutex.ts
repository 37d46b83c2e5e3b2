// Owns the distributed lock etcd's v3lock serves (clientv3/concurrency.Mutex run by the server): waiters queue
// under `<name>/` by create revision, each waiting only for its predecessor's key to be deleted.
import type { ResponseHeader } from "../proto/index.js";
import {
  createRevisionIs,
  getFirstCreate,
  getKey,
  putOp,
  type RecipeBackend,
  RecipeError,
  rangeOp,
  sessionLease,
  throwIfAborted,
  txnRange,
  waitDeletes,
  waiterKey,
  waiterPrefix,
} from "./concurrency.js";

export const ERR_SESSION_EXPIRED = "mutex: session is expired";

export interface LockResult {
  header: ResponseHeader;
  /** `<name>/<lease hex>`: exists while the lock is held. */
  key: Buffer;
}

/**
 * Mutex.Lock: resolves once this session's key is the oldest under the prefix. If `signal` aborts while
 * waiting, the key is deleted so the waiter does not hold up the queue (as etcd does on a canceled request).
 */
export async function lock(
  b: RecipeBackend,
  name: Uint8Array,
  lease: bigint,
  signal: AbortSignal,
): Promise<LockResult> {
  const id = await sessionLease(b, lease);
  const pfx = waiterPrefix(name);
  const key = waiterKey(pfx, id);
  // Put self in the queue unless this session already is (then reuse the key), and fetch the owner.
  const resp = await b.txn({
    compare: [createRevisionIs(key, 0n)],
    success: [putOp(key, Buffer.alloc(0), id), rangeOp(getFirstCreate(pfx))],
    failure: [rangeOp(getKey(key)), rangeOp(getFirstCreate(pfx))],
  });
  const myRev = resp.succeeded ? resp.header!.revision : txnRange(resp, 0)[0]!.createRevision;
  const owner = txnRange(resp, 1)[0];
  if (!owner || owner.createRevision === myRev) {
    // A lock taken for a client that already went away would be held by nobody until its lease ends (etcd
    // leaves it so); the key this call created is deleted instead.
    if (signal.aborted && resp.succeeded) {
      await unlock(b, key).catch(() => undefined);
      throwIfAborted(signal);
    }
    return { header: resp.header!, key };
  }
  try {
    await waitDeletes(b, pfx, myRev - 1n, signal);
    throwIfAborted(signal);
  } catch (err) {
    await unlock(b, key).catch(() => undefined);
    throw err;
  }
  // The waiter's lease may have expired while it waited. etcd 3.4.23 then reports the lock as acquired with a
  // key that no longer exists; 3.4.24+/3.5 check, as here, and answer "mutex: session is expired".
  const mine = await b.range(getKey(key));
  if (mine.kvs.length === 0) throw new RecipeError(ERR_SESSION_EXPIRED);
  return { header: mine.header!, key };
}

/** Unlock: a plain delete of the lock's key (any key: etcd does not check it is one). */
export async function unlock(b: RecipeBackend, key: Uint8Array): Promise<ResponseHeader> {
  const resp = await b.deleteRange({ key: Buffer.from(key), rangeEnd: Buffer.alloc(0), prevKv: false });
  return resp.header!;
}
