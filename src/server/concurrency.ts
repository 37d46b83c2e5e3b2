// Owns what etcd's client concurrency package does when the server runs its recipes against itself (v3lock and
// v3election are clientv3/concurrency over an in-process client): the session lease, the waiter keys, "wait until
// every older key under the prefix is deleted" (revision-ordered, no herd) and the one-key watches it rests on.
import {
  ErrCompacted,
  type WatchableStore,
  type WatchCreateOptions,
  type WatchResponse,
} from "../mvcc/index.js";
import {
  type Compare,
  Compare_CompareResult,
  Compare_CompareTarget,
  type DeleteRangeRequest,
  type DeleteRangeResponse,
  type LeaseGrantRequest,
  type LeaseGrantResponse,
  type RangeRequest,
  RangeRequest_SortOrder,
  RangeRequest_SortTarget,
  type RangeResponse,
  type RequestOp,
  type ResponseHeader,
  type TxnRequest,
  type TxnResponse,
} from "../proto/index.js";

/** What the recipes need: the KV API as etcd's in-process client sees it (validated), leases and watches. */
export interface RecipeBackend {
  range(req: RangeRequest): Promise<RangeResponse>;
  txn(req: TxnRequest): Promise<TxnResponse>;
  deleteRange(req: DeleteRangeRequest): Promise<DeleteRangeResponse>;
  leaseGrant(req: LeaseGrantRequest): Promise<LeaseGrantResponse>;
  readonly watchable: WatchableStore;
  /** The full response header (cluster, member, raft term) for a revision. */
  header(revision: bigint): ResponseHeader;
}

/** An error of etcd's concurrency layer; etcd returns these (and every error under them) as gRPC Unknown. */
export class RecipeError extends Error {
  override name = "RecipeError";
}

export const ERR_CONTEXT_CANCELED = "context canceled";
export const ERR_DEADLINE_EXCEEDED = "context deadline exceeded";

/** concurrency.defaultSessionTTL: lease 0 makes the server grant a lease of this TTL that nobody keeps alive. */
export const DEFAULT_SESSION_TTL = 60n;
/** Watch responses a recipe watch holds before its watcher is parked until the recipe takes them. */
export const MAX_PENDING_WATCH_RESPONSES = 16;

/** NewSession(WithLease(lease)): the given lease as is (unchecked), or, for 0, a fresh orphaned 60 s lease. */
export async function sessionLease(b: RecipeBackend, lease: bigint): Promise<bigint> {
  if (lease !== 0n) return lease;
  return (await b.leaseGrant({ ID: 0n, TTL: DEFAULT_SESSION_TTL })).ID;
}

/** `<name>/`: the prefix every waiter key of a lock or an election lives under. */
export function waiterPrefix(name: Uint8Array): Buffer {
  return Buffer.concat([name, Buffer.from("/")]);
}

/** etcd's fmt.Sprintf("%s%x", pfx, lease): the waiter key of one session. */
export function waiterKey(pfx: Uint8Array, lease: bigint): Buffer {
  return Buffer.concat([pfx, Buffer.from(lease.toString(16))]);
}

/** clientv3.GetPrefixRangeEnd: the prefix with its last byte below 0xff incremented; "\0" when there is none. */
export function prefixRangeEnd(pfx: Uint8Array): Buffer {
  const end = Buffer.from(pfx);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

export function getKey(key: Uint8Array, extra: Partial<RangeRequest> = {}): RangeRequest {
  return {
    key: Buffer.from(key),
    rangeEnd: Buffer.alloc(0),
    limit: 0n,
    revision: 0n,
    sortOrder: RangeRequest_SortOrder.NONE,
    sortTarget: RangeRequest_SortTarget.KEY,
    serializable: false,
    keysOnly: false,
    countOnly: false,
    minModRevision: 0n,
    maxModRevision: 0n,
    minCreateRevision: 0n,
    maxCreateRevision: 0n,
    ...extra,
  };
}

/** clientv3.WithFirstCreate on a prefix: the key with the lowest create revision (the owner / leader). */
export function getFirstCreate(pfx: Uint8Array): RangeRequest {
  return getKey(pfx, {
    rangeEnd: prefixRangeEnd(pfx),
    limit: 1n,
    sortOrder: RangeRequest_SortOrder.ASCEND,
    sortTarget: RangeRequest_SortTarget.CREATE,
  });
}

export const rangeOp = (r: RangeRequest): RequestOp => ({ request: { $case: "requestRange", value: r } });

export function putOp(key: Uint8Array, value: Uint8Array, lease: bigint): RequestOp {
  const put = { key: Buffer.from(key), value: Buffer.from(value), lease, prevKv: false };
  return { request: { $case: "requestPut", value: { ...put, ignoreValue: false, ignoreLease: false } } };
}

export function deleteOp(key: Uint8Array): RequestOp {
  const del = { key: Buffer.from(key), rangeEnd: Buffer.alloc(0), prevKv: false };
  return { request: { $case: "requestDeleteRange", value: del } };
}

/** Compare(CreateRevision(key), "=", rev). */
export function createRevisionIs(key: Uint8Array, rev: bigint): Compare {
  return {
    result: Compare_CompareResult.EQUAL,
    target: Compare_CompareTarget.CREATE,
    key: Buffer.from(key),
    targetUnion: { $case: "createRevision", value: rev },
    rangeEnd: Buffer.alloc(0),
  };
}

/** The kvs of the range response at `index` of a txn response. */
export function txnRange(resp: TxnResponse, index: number): RangeResponse["kvs"] {
  const r = resp.responses[index]?.response;
  if (r?.$case !== "responseRange") throw new Error(`txn response ${index} is not a range`);
  return r.value.kvs;
}

/** The request's context has ended: its reason (a RecipeError with Go's context error) or "context canceled". */
export function throwIfAborted(signal: AbortSignal): void {
  if (!signal.aborted) return;
  throw signal.reason instanceof RecipeError ? signal.reason : new RecipeError(ERR_CONTEXT_CANCELED);
}

/**
 * waitDeletes: until no key under `pfx` has a create revision <= maxCreateRev, wait for the deletion of the
 * youngest such key, so each waiter watches only its predecessor. The header of the last (empty) read.
 */
export async function waitDeletes(
  b: RecipeBackend,
  pfx: Uint8Array,
  maxCreateRev: bigint,
  signal: AbortSignal,
): Promise<ResponseHeader> {
  const lastCreate = getKey(pfx, {
    rangeEnd: prefixRangeEnd(pfx),
    limit: 1n,
    sortOrder: RangeRequest_SortOrder.DESCEND,
    sortTarget: RangeRequest_SortTarget.CREATE,
    maxCreateRevision: maxCreateRev,
  });
  for (;;) {
    throwIfAborted(signal);
    const resp = await b.range(lastCreate);
    const kv = resp.kvs[0];
    if (!kv) return resp.header!;
    await waitDelete(b, kv.key, resp.header!.revision, signal);
  }
}

/** waitDelete: watch `key` from `rev` until a DELETE event. */
async function waitDelete(
  b: RecipeBackend,
  key: Uint8Array,
  rev: bigint,
  signal: AbortSignal,
): Promise<void> {
  const w = new RecipeWatch(b.watchable, { key, startRevision: rev });
  try {
    for (;;) {
      const resp = await w.next(signal);
      if (resp.events.some((ev) => ev.type === "DELETE")) return;
    }
  } finally {
    w.close();
  }
}

/**
 * One watcher on its own watch stream, read as a pull queue. A full queue refuses responses, which parks the
 * watcher in the store until `next()` makes room, so a slow recipe never holds more than the limit.
 */
export class RecipeWatch {
  private readonly queue: WatchResponse[] = [];
  private wake: (() => void) | undefined;
  private refused = false;
  private closed = false;
  private readonly stream;

  constructor(watchable: WatchableStore, opts: WatchCreateOptions) {
    this.stream = watchable.newStream((resp) => {
      // Only events and the end of the watcher (a compaction cancels it) matter here.
      if (resp.events.length === 0 && !resp.canceled) return true;
      if (this.queue.length >= MAX_PENDING_WATCH_RESPONSES) {
        this.refused = true;
        return false;
      }
      this.queue.push(resp);
      this.wake?.();
      return true;
    });
    this.stream.watch(opts);
  }

  /** The next response with events; a canceled watcher (compacted) fails as clientv3's watch does. */
  async next(signal: AbortSignal): Promise<WatchResponse> {
    for (;;) {
      throwIfAborted(signal);
      const resp = this.queue.shift();
      if (resp) {
        if (this.refused && !this.closed) {
          this.refused = false;
          this.stream.resume();
        }
        if (resp.canceled) throw resp.compactRevision > 0n ? new ErrCompacted() : new Error("watch canceled");
        return resp;
      }
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.wake = undefined;
          signal.removeEventListener("abort", done);
          resolve();
        };
        this.wake = done;
        signal.addEventListener("abort", done);
      });
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stream.close();
  }
}
