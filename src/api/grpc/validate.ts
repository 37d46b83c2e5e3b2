// Owns the KV requests' pre-raft validation, in etcd 3.4's order and with its errors (nothing is proposed on failure).
import {
  type DeleteRangeRequest,
  type PutRequest,
  type RangeRequest,
  RangeRequest_SortOrder,
  RangeRequest_SortTarget,
  type RequestOp,
  type TxnRequest,
} from "../../proto/index.js";
import { ServerError } from "../../server/errors.js";

/** Also normalizes, in place, what etcd 3.4 accepts but the store would not (see below). */
export function checkRange(r: RangeRequest): void {
  if (r.key.length === 0) throw new ServerError("EmptyKey");
  // etcd 3.4 ignores a sort order outside the enum: it reads the whole range and sorts nothing, which gives
  // exactly the answer of order NONE by KEY. (An unknown sort target with a known order crashes 3.4; the
  // store refuses it with 3.6's "invalid sort option".)
  if (!VALID_SORT_ORDERS.has(r.sortOrder)) {
    r.sortOrder = RangeRequest_SortOrder.NONE;
    r.sortTarget = RangeRequest_SortTarget.KEY;
  }
}

const VALID_SORT_ORDERS: ReadonlySet<number> = new Set([
  RangeRequest_SortOrder.NONE,
  RangeRequest_SortOrder.ASCEND,
  RangeRequest_SortOrder.DESCEND,
]);

export function checkPut(r: PutRequest): void {
  if (r.key.length === 0) throw new ServerError("EmptyKey");
  if (r.ignoreValue && r.value.length !== 0) throw new ServerError("ValueProvided");
  if (r.ignoreLease && r.lease !== 0n) throw new ServerError("LeaseProvided");
}

export function checkDeleteRange(r: DeleteRangeRequest): void {
  if (r.key.length === 0) throw new ServerError("EmptyKey");
}

/** etcd checks ops per level against the remaining --max-txn-ops budget, then the duplicate-key rule. */
export function checkTxn(r: TxnRequest, maxTxnOps: number): void {
  checkTxnOps(r, maxTxnOps);
  // Checked after the op counts, as etcd does, to bound the work.
  checkIntervals(r.success);
  checkIntervals(r.failure);
}

function checkTxnOps(r: TxnRequest, maxTxnOps: number): void {
  const opc = Math.max(r.compare.length, r.success.length, r.failure.length);
  if (opc > maxTxnOps) throw new ServerError("TooManyOps");
  for (const c of r.compare) if (c.key.length === 0) throw new ServerError("EmptyKey");
  for (const op of r.success) checkRequestOp(op, maxTxnOps - opc);
  for (const op of r.failure) checkRequestOp(op, maxTxnOps - opc);
}

function checkRequestOp(op: RequestOp, maxTxnOps: number): void {
  const req = op.request;
  switch (req?.$case) {
    case "requestRange":
      checkRange(req.value);
      return;
    case "requestPut":
      checkPut(req.value);
      return;
    case "requestDeleteRange":
      checkDeleteRange(req.value);
      return;
    case "requestTxn":
      checkTxnOps(req.value, maxTxnOps);
      return;
    case undefined:
      // etcd 3.4 reports an empty RequestOp as a missing key.
      throw new ServerError("KeyNotFound");
  }
}

/** A half-open interval [begin, end) of keys, as etcd's adt.StringAffineInterval (end <= begin holds no key). */
interface Interval {
  begin: Buffer;
  end: Buffer;
}

const ZERO = Buffer.from([0]);

/** etcd's adt.NewStringAffinePoint: [key, key + "\0"). */
const point = (key: Uint8Array): Interval => ({ begin: Buffer.from(key), end: Buffer.concat([key, ZERO]) });

/**
 * Whether any interval holds `key`. Like etcd, a delete's range_end is taken literally: "\0" (from-key) gives
 * [key, "\0"), which holds nothing, so 3.4 lets a txn put a key that its own from-key delete covers.
 */
function intersects(dels: readonly Interval[], key: string): boolean {
  const p = point(Buffer.from(key, "latin1"));
  return dels.some((iv) => Buffer.compare(iv.begin, p.end) < 0 && Buffer.compare(p.begin, iv.end) < 0);
}

/**
 * etcd 3.4's checkIntervals, step for step: within one branch a key may be put once and not inside a range
 * deleted at that level or by an earlier nested txn; a nested txn's success and failure branches may put the
 * same key (they are exclusive).
 */
function checkIntervals(reqs: RequestOp[]): { puts: Set<string>; dels: Interval[] } {
  const dels: Interval[] = [];
  for (const op of reqs) {
    if (op.request?.$case !== "requestDeleteRange") continue;
    const d = op.request.value;
    dels.push(
      d.rangeEnd.length !== 0 ? { begin: Buffer.from(d.key), end: Buffer.from(d.rangeEnd) } : point(d.key),
    );
  }
  const puts = new Set<string>();
  for (const op of reqs) {
    if (op.request?.$case !== "requestTxn") continue;
    const then = checkIntervals(op.request.value.success);
    const otherwise = checkIntervals(op.request.value.failure);
    for (const k of then.puts) {
      if (puts.has(k) || intersects(dels, k)) throw new ServerError("DuplicateKey");
      puts.add(k);
    }
    for (const k of otherwise.puts) {
      if (puts.has(k) && !then.puts.has(k)) throw new ServerError("DuplicateKey");
      if (intersects(dels, k)) throw new ServerError("DuplicateKey");
      puts.add(k);
    }
    dels.push(...then.dels, ...otherwise.dels);
  }
  for (const op of reqs) {
    if (op.request?.$case !== "requestPut") continue;
    const k = Buffer.from(op.request.value.key).toString("latin1");
    if (puts.has(k) || intersects(dels, k)) throw new ServerError("DuplicateKey");
    puts.add(k);
  }
  return { puts, dels };
}
