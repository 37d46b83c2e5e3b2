// Owns the leader election etcd's v3election serves (clientv3/concurrency.Election run by the server):
// candidates queue under `<name>/` by create revision; the oldest key is the leader and its value is proclaimed.
import type { KeyValue, LeaderKey, ResponseHeader } from "../proto/index.js";
import {
  createRevisionIs,
  deleteOp,
  getFirstCreate,
  getKey,
  prefixRangeEnd,
  putOp,
  type RecipeBackend,
  RecipeError,
  RecipeWatch,
  rangeOp,
  sessionLease,
  throwIfAborted,
  txnRange,
  waitDeletes,
  waiterKey,
  waiterPrefix,
} from "./concurrency.js";

export const ERR_ELECTION_NOT_LEADER = "election: not leader";
export const ERR_ELECTION_NO_LEADER = "election: no leader";

export interface LeaderState {
  header: ResponseHeader;
  kv: KeyValue;
}

/**
 * Election.Campaign: put `<name>/<lease hex>` = value unless this session already campaigns (then re-proclaim
 * a different value), and wait until every older candidate is gone. The header is that of the first txn. If
 * `signal` aborts while waiting, the candidacy is resigned. Like etcd, a candidate whose lease expired while it
 * waited is still told it leads.
 */
export async function campaign(
  b: RecipeBackend,
  name: Uint8Array,
  lease: bigint,
  value: Uint8Array,
  signal: AbortSignal,
): Promise<{ header: ResponseHeader; leader: LeaderKey }> {
  const id = await sessionLease(b, lease);
  const pfx = waiterPrefix(name);
  const key = waiterKey(pfx, id);
  const resp = await b.txn({
    compare: [createRevisionIs(key, 0n)],
    success: [putOp(key, value, id)],
    failure: [rangeOp(getKey(key))],
  });
  let rev = resp.header!.revision;
  if (!resp.succeeded) {
    const kv = txnRange(resp, 0)[0]!;
    rev = kv.createRevision;
    if (!Buffer.from(kv.value).equals(Buffer.from(value))) {
      try {
        await proclaim(b, key, rev, id, value);
      } catch (err) {
        await resign(b, key, rev).catch(() => undefined);
        throw err;
      }
    }
  }
  try {
    await waitDeletes(b, pfx, rev - 1n, signal);
  } catch (err) {
    if (signal.aborted) await resign(b, key, rev).catch(() => undefined);
    throw err;
  }
  return { header: resp.header!, leader: { name: Buffer.from(name), key, rev, lease: id } };
}

/** Election.Proclaim: a new value for the leader key, put with `lease`, if it still has create revision `rev`. */
export async function proclaim(
  b: RecipeBackend,
  key: Uint8Array,
  rev: bigint,
  lease: bigint,
  value: Uint8Array,
): Promise<ResponseHeader> {
  const resp = await b.txn({
    compare: [createRevisionIs(key, rev)],
    success: [putOp(key, value, lease)],
    failure: [],
  });
  if (!resp.succeeded) throw new RecipeError(ERR_ELECTION_NOT_LEADER);
  return resp.header!;
}

/** Election.Resign: delete the leader key if it still has create revision `rev` (no error if not). */
export async function resign(b: RecipeBackend, key: Uint8Array, rev: bigint): Promise<ResponseHeader> {
  const resp = await b.txn({ compare: [createRevisionIs(key, rev)], success: [deleteOp(key)], failure: [] });
  return resp.header!;
}

/** Election.Leader: the oldest key under `<name>/`. */
export async function leader(b: RecipeBackend, name: Uint8Array): Promise<LeaderState> {
  const resp = await b.range(getFirstCreate(waiterPrefix(name)));
  const kv = resp.kvs[0];
  if (!kv) throw new RecipeError(ERR_ELECTION_NO_LEADER);
  return { header: resp.header!, kv };
}

/**
 * Election.Observe: the current leader, each value it proclaims, then the next leader, in order. With no leader,
 * the first key put under the prefix counts. Ends (without error, as etcd's channel closes) if a read or watch
 * fails; throws only when `signal` aborts.
 */
export async function* observe(
  b: RecipeBackend,
  name: Uint8Array,
  signal: AbortSignal,
): AsyncGenerator<LeaderState, void, undefined> {
  const pfx = waiterPrefix(name);
  for (;;) {
    let current: LeaderState;
    let updates: RecipeWatch;
    try {
      const resp = await b.range(getFirstCreate(pfx));
      current = resp.kvs[0]
        ? { header: resp.header!, kv: resp.kvs[0] }
        : await firstPut(b, pfx, resp, signal);
      updates = new RecipeWatch(b.watchable, {
        key: current.kv.key,
        startRevision: current.header.revision + 1n,
      });
    } catch (err) {
      if (signal.aborted) throw err;
      return;
    }
    try {
      yield current;
      for (;;) {
        const wr = await updates.next(signal);
        const i = wr.events.findIndex((ev) => ev.type === "DELETE");
        for (const ev of i < 0 ? wr.events : wr.events.slice(0, i)) {
          yield { header: b.header(wr.revision), kv: ev.kv };
        }
        if (i >= 0) break;
      }
    } catch (err) {
      if (signal.aborted) throw err;
      return;
    } finally {
      updates.close();
    }
  }
}

/** No leader yet: the first PUT under the prefix after `empty`'s revision, reported at its own revision. */
async function firstPut(
  b: RecipeBackend,
  pfx: Uint8Array,
  empty: { header?: ResponseHeader | undefined },
  signal: AbortSignal,
): Promise<LeaderState> {
  const w = new RecipeWatch(b.watchable, {
    key: pfx,
    rangeEnd: prefixRangeEnd(pfx),
    startRevision: empty.header!.revision,
  });
  try {
    for (;;) {
      throwIfAborted(signal);
      const wr = await w.next(signal);
      const put = wr.events.find((ev) => ev.type === "PUT");
      if (put) return { header: b.header(put.kv.modRevision), kv: put.kv };
    }
  } finally {
    w.close();
  }
}
