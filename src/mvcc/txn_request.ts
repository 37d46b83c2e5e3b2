// Owns the KV service's write semantics as etcd 3.4's applier: Put (prev_kv, ignore_value, ignore_lease),
// DeleteRange (prev_kv), Compare, and Txn (every compare on the chosen path decided first, then the checks,
// then the chosen ops in one write txn). Request shapes match the generated etcdserverpb messages.
// Pre-raft validation (empty keys, max ops, duplicate keys) belongs to the API layer.

import { ErrCompacted, ErrFutureRev, ErrKeyNotFound } from "./errors.js";
import { type Event, emptyKeyValue, type KeyValue } from "./kv.js";
import { checkSortOptions, type RangeRequest, type RangeResponse, rangeRequest } from "./range_request.js";
import type { ReadView } from "./read.js";
import type { KVStore } from "./store.js";
import type { ConsistentIndex, WriteTxn } from "./txn.js";

export interface PutRequest {
  key: Uint8Array;
  value?: Uint8Array;
  /** 0 = no lease (a put without lease detaches the key's previous lease). */
  lease?: bigint;
  prevKv?: boolean;
  ignoreValue?: boolean;
  ignoreLease?: boolean;
}
export interface PutResponse {
  revision: bigint;
  prevKv?: KeyValue;
}

export interface DeleteRangeRequest {
  key: Uint8Array;
  rangeEnd?: Uint8Array;
  prevKv?: boolean;
}
export interface DeleteRangeResponse {
  deleted: bigint;
  prevKvs: KeyValue[];
  revision: bigint;
}

export const CompareResult = { EQUAL: 0, GREATER: 1, LESS: 2, NOT_EQUAL: 3 } as const;
export const CompareTarget = { VERSION: 0, CREATE: 1, MOD: 2, VALUE: 3, LEASE: 4 } as const;

export interface Compare {
  result: number;
  target: number;
  key: Uint8Array;
  rangeEnd?: Uint8Array;
  targetUnion?:
    | { $case: "version" | "createRevision" | "modRevision" | "lease"; value: bigint }
    | { $case: "value"; value: Uint8Array };
}

export interface TxnRequest {
  compare: Compare[];
  success: RequestOp[];
  failure: RequestOp[];
}
export interface RequestOp {
  request?:
    | { $case: "requestRange"; value: RangeRequest }
    | { $case: "requestPut"; value: PutRequest }
    | { $case: "requestDeleteRange"; value: DeleteRangeRequest }
    | { $case: "requestTxn"; value: TxnRequest };
}

export interface TxnResponse {
  succeeded: boolean;
  responses: ResponseOp[];
  /** Outer txn: its revision (begin + 1 if it changed anything). Nested txns: 0n (etcd leaves it unset). */
  revision: bigint;
}
export interface ResponseOp {
  response?:
    | { $case: "responseRange"; value: RangeResponse }
    | { $case: "responsePut"; value: PutResponse }
    | { $case: "responseDeleteRange"; value: DeleteRangeResponse }
    | { $case: "responseTxn"; value: TxnResponse };
}

export interface TxnOptions {
  /** Throws (e.g. the lessor's "requested lease not found") if a Put's non-zero lease does not exist. */
  checkLease?: (lease: bigint) => void;
  /** Saved with the txn in one backend batch. */
  consistentIndex?: ConsistentIndex;
}

/** The apply-time checks of a Put that must pass before any op of its request runs. */
export function checkPut(view: ReadView, p: PutRequest, checkLease?: (lease: bigint) => void): void {
  if ((p.ignoreValue || p.ignoreLease) && view.range(p.key, undefined).count === 0)
    throw new ErrKeyNotFound();
  if ((p.lease ?? 0n) !== 0n) checkLease?.(p.lease!);
}

export function put(txn: WriteTxn, p: PutRequest): PutResponse {
  let value = p.value ?? Buffer.alloc(0);
  let lease = p.lease ?? 0n;
  let prev: KeyValue | undefined;
  if (p.ignoreValue || p.ignoreLease || p.prevKv) prev = txn.range(p.key, undefined).kvs[0];
  if ((p.ignoreValue || p.ignoreLease) && !prev) throw new ErrKeyNotFound();
  if (p.ignoreValue) value = prev!.value;
  if (p.ignoreLease) lease = prev!.lease;
  const revision = txn.put(p.key, value, lease);
  return p.prevKv && prev ? { revision, prevKv: prev } : { revision };
}

export function deleteRange(txn: WriteTxn, d: DeleteRangeRequest): DeleteRangeResponse {
  const prevKvs = d.prevKv ? txn.range(d.key, d.rangeEnd).kvs : [];
  const deleted = txn.deleteRange(d.key, d.rangeEnd);
  return { deleted: BigInt(deleted), prevKvs, revision: txn.revision };
}

/** A whole Put request in its own write txn: checks first, so a failed check changes nothing. */
export function applyPut(
  store: KVStore,
  p: PutRequest,
  opts: TxnOptions = {},
): { response: PutResponse; changes: readonly Event[] } {
  checkPut(store, p, opts.checkLease);
  const w = store.write(opts.consistentIndex);
  const response = put(w, p);
  return { response, changes: w.end().changes };
}

/** A whole DeleteRange request in its own write txn. */
export function applyDeleteRange(
  store: KVStore,
  d: DeleteRangeRequest,
  opts: TxnOptions = {},
): { response: DeleteRangeResponse; changes: readonly Event[] } {
  const w = store.write(opts.consistentIndex);
  const response = deleteRange(w, d);
  return { response, changes: w.end().changes };
}

/** One Compare: every key of the range must satisfy it; a missing key compares as a zero KeyValue, except VALUE (false). */
export function applyCompare(view: ReadView, c: Compare): boolean {
  let kvs: KeyValue[];
  try {
    kvs = view.range(c.key, c.rangeEnd).kvs;
  } catch {
    return false;
  }
  if (kvs.length === 0) {
    if (c.target === CompareTarget.VALUE) return false;
    return compareKv(c, emptyKeyValue(Buffer.alloc(0)));
  }
  return kvs.every((kv) => compareKv(c, kv));
}

function compareKv(c: Compare, kv: KeyValue): boolean {
  const u = c.targetUnion;
  let result: number;
  if (c.target === CompareTarget.VALUE) {
    result = Buffer.compare(kv.value, u?.$case === "value" ? u.value : Buffer.alloc(0));
  } else {
    const operand = (name: string) => (u && u.$case === name ? (u.value as bigint) : 0n);
    let actual: bigint;
    let want: bigint;
    switch (c.target) {
      case CompareTarget.CREATE:
        [actual, want] = [kv.createRevision, operand("createRevision")];
        break;
      case CompareTarget.MOD:
        [actual, want] = [kv.modRevision, operand("modRevision")];
        break;
      case CompareTarget.VERSION:
        [actual, want] = [kv.version, operand("version")];
        break;
      case CompareTarget.LEASE:
        [actual, want] = [kv.lease, operand("lease")];
        break;
      default:
        [actual, want] = [0n, 0n]; // unknown target: etcd compares nothing (result 0)
    }
    result = actual < want ? -1 : actual > want ? 1 : 0;
  }
  switch (c.result) {
    case CompareResult.EQUAL:
      return result === 0;
    case CompareResult.NOT_EQUAL:
      return result !== 0;
    case CompareResult.GREATER:
      return result > 0;
    case CompareResult.LESS:
      return result < 0;
    default:
      return true;
  }
}

/** The ops a txn runs given its compare outcome. */
const branch = (rt: TxnRequest, ok: boolean) => (ok ? rt.success : rt.failure);

/** Compare outcomes of `rt` and of every nested txn on the chosen path, in execution order. */
function decidePath(view: ReadView, rt: TxnRequest, path: boolean[]): void {
  const ok = rt.compare.every((c) => applyCompare(view, c));
  path.push(ok);
  for (const op of branch(rt, ok))
    if (op.request?.$case === "requestTxn") decidePath(view, op.request.value, path);
}

function isWrite(rt: TxnRequest): boolean {
  return [rt.success, rt.failure].some((ops) =>
    ops.some((op) => {
      const c = op.request?.$case;
      return (
        c === "requestPut" ||
        c === "requestDeleteRange" ||
        (c === "requestTxn" && isWrite(op.request!.value as TxnRequest))
      );
    }),
  );
}

/** Visits the ops on the decided path (nested txns flattened); returns the path entries consumed. */
function walkPath(rt: TxnRequest, path: boolean[], at: number, fn: (op: RequestOp) => void): number {
  let next = at + 1;
  for (const op of branch(rt, path[at]!)) {
    if (op.request?.$case === "requestTxn") next = walkPath(op.request.value, path, next, fn);
    else fn(op);
  }
  return next;
}

/**
 * Applies a TxnRequest. Compares and checks (ignore_* on absent keys, unknown leases, range revisions) run
 * first against the current state; any failure throws before anything changes.
 */
export function txn(
  store: KVStore,
  rt: TxnRequest,
  opts: TxnOptions = {},
): { response: TxnResponse; changes: readonly Event[] } {
  const path: boolean[] = [];
  decidePath(store, rt, path);
  const write = isWrite(rt);
  if (write) {
    walkPath(rt, path, 0, (op) => {
      if (op.request?.$case === "requestPut") checkPut(store, op.request.value, opts.checkLease);
    });
  }
  walkPath(rt, path, 0, (op) => {
    if (op.request?.$case !== "requestRange") return;
    const r = op.request.value;
    checkSortOptions(r);
    const rev = r.revision ?? 0n;
    if (rev === 0n) return;
    if (rev > store.revision) throw new ErrFutureRev();
    if (rev < store.compactRevision) throw new ErrCompacted();
  });

  if (!write && !opts.consistentIndex) {
    const response = applyOps(store, undefined, rt, path, { i: 0 });
    response.revision = store.revision;
    return { response, changes: [] };
  }
  const wtxn = store.write(opts.consistentIndex);
  const response = applyOps(wtxn, wtxn, rt, path, { i: 0 });
  const result = wtxn.end();
  response.revision = result.revision;
  return { response, changes: result.changes };
}

function applyOps(
  view: ReadView,
  wtxn: WriteTxn | undefined,
  rt: TxnRequest,
  path: boolean[],
  cursor: { i: number },
): TxnResponse {
  const ok = path[cursor.i++]!;
  const responses: ResponseOp[] = [];
  for (const op of branch(rt, ok)) {
    const req = op.request;
    switch (req?.$case) {
      case "requestRange":
        responses.push({ response: { $case: "responseRange", value: rangeRequest(view, req.value) } });
        break;
      case "requestPut":
        responses.push({ response: { $case: "responsePut", value: put(wtxn!, req.value) } });
        break;
      case "requestDeleteRange":
        responses.push({ response: { $case: "responseDeleteRange", value: deleteRange(wtxn!, req.value) } });
        break;
      case "requestTxn":
        responses.push({
          response: { $case: "responseTxn", value: applyOps(view, wtxn, req.value, path, cursor) },
        });
        break;
      case undefined:
        responses.push({}); // an empty RequestOp (the API layer rejects these before raft)
        break;
      default: {
        const never: never = req;
        throw new Error(`unknown request op ${(never as { $case: string }).$case}`);
      }
    }
  }
  return { succeeded: ok, responses, revision: 0n };
}
