// Owns building KV requests from typed options (every field of Range, Put, DeleteRange) and the `Op` values a
// Txn executes.
import {
  type Compare,
  type DeleteRangeRequest,
  type PutRequest,
  type RangeRequest,
  RangeRequest_SortOrder,
  RangeRequest_SortTarget,
  type RequestOp,
  type TxnRequest,
} from "../proto/index.js";
import { type Bytes, type RangeOptions, resolveRange, toBuffer } from "./keys.js";

/** A revision of the store. */
export type Revision = bigint;
/** A lease ID (0 = no lease). */
export type LeaseId = bigint;

export type SortOrder = "none" | "ascend" | "descend";
export type SortTarget = "key" | "version" | "create" | "mod" | "value";

/** Every option of a Range request. */
export interface GetRequestOptions extends RangeOptions {
  /** At most this many keys (0 = no limit); `more` tells whether some were left out. */
  limit?: number | bigint;
  /** Read at this revision (≤ 0 = latest). */
  revision?: Revision;
  /** With a target other than "key" and order "none", etcd sorts ascending by that target. */
  sortOrder?: SortOrder;
  sortTarget?: SortTarget;
  /** Served by the member from its local state, without a quorum round (may be stale). */
  serializable?: boolean;
  keysOnly?: boolean;
  countOnly?: boolean;
  minModRevision?: Revision;
  maxModRevision?: Revision;
  minCreateRevision?: Revision;
  maxCreateRevision?: Revision;
}

/** Every option of a Put request. */
export interface PutRequestOptions {
  /** Attach the key to this lease; 0/absent detaches it (unless `ignoreLease`). */
  lease?: LeaseId;
  /** Return the key-value before this write in `prevKv`. */
  prevKv?: boolean;
  /** Keep the current value (pass an empty value); fails with KeyNotFoundError if the key is absent. */
  ignoreValue?: boolean;
  /** Keep the current lease; fails with KeyNotFoundError if the key is absent. */
  ignoreLease?: boolean;
}

/** Every option of a DeleteRange request. */
export interface DeleteRequestOptions extends RangeOptions {
  /** Return the deleted key-values in `prevKvs`. */
  prevKv?: boolean;
}

const SORT_ORDER: Record<SortOrder, RangeRequest_SortOrder> = {
  none: RangeRequest_SortOrder.NONE,
  ascend: RangeRequest_SortOrder.ASCEND,
  descend: RangeRequest_SortOrder.DESCEND,
};
const SORT_TARGET: Record<SortTarget, RangeRequest_SortTarget> = {
  key: RangeRequest_SortTarget.KEY,
  version: RangeRequest_SortTarget.VERSION,
  create: RangeRequest_SortTarget.CREATE,
  mod: RangeRequest_SortTarget.MOD,
  value: RangeRequest_SortTarget.VALUE,
};

export function rangeRequest(key: Bytes, o: GetRequestOptions = {}): RangeRequest {
  return {
    ...resolveRange(key, o),
    limit: BigInt(o.limit ?? 0),
    revision: o.revision ?? 0n,
    sortOrder: SORT_ORDER[o.sortOrder ?? "none"],
    sortTarget: SORT_TARGET[o.sortTarget ?? "key"],
    serializable: o.serializable ?? false,
    keysOnly: o.keysOnly ?? false,
    countOnly: o.countOnly ?? false,
    minModRevision: o.minModRevision ?? 0n,
    maxModRevision: o.maxModRevision ?? 0n,
    minCreateRevision: o.minCreateRevision ?? 0n,
    maxCreateRevision: o.maxCreateRevision ?? 0n,
  };
}

export function putRequest(key: Bytes, value: Bytes, o: PutRequestOptions = {}): PutRequest {
  return {
    key: toBuffer(key),
    value: toBuffer(value),
    lease: o.lease ?? 0n,
    prevKv: o.prevKv ?? false,
    ignoreValue: o.ignoreValue ?? false,
    ignoreLease: o.ignoreLease ?? false,
  };
}

export function deleteRequest(key: Bytes, o: DeleteRequestOptions = {}): DeleteRangeRequest {
  return { ...resolveRange(key, o), prevKv: o.prevKv ?? false };
}

/** One operation of a transaction: build with `Op.get`, `Op.put`, `Op.delete`, `Op.txn`. */
export class Op {
  private constructor(
    /** The wire form. */
    readonly request: RequestOp,
  ) {}

  /** @internal An op from its wire form (a namespace rewrites ops this way). */
  static of(request: RequestOp): Op {
    return new Op(request);
  }

  static get(key: Bytes, options?: GetRequestOptions): Op {
    return new Op({ request: { $case: "requestRange", value: rangeRequest(key, options) } });
  }

  static put(key: Bytes, value: Bytes, options?: PutRequestOptions): Op {
    return new Op({ request: { $case: "requestPut", value: putRequest(key, value, options) } });
  }

  static delete(key: Bytes, options?: DeleteRequestOptions): Op {
    return new Op({ request: { $case: "requestDeleteRange", value: deleteRequest(key, options) } });
  }

  /** A nested transaction (etcd 3.3+): its compares see the state before the outer transaction. */
  static txn(
    compares: readonly { readonly compare: Compare }[],
    then: readonly Op[],
    otherwise: readonly Op[] = [],
  ): Op {
    return new Op({ request: { $case: "requestTxn", value: txnRequest(compares, then, otherwise) } });
  }
}

export function txnRequest(
  compares: readonly { readonly compare: Compare }[],
  then: readonly Op[],
  otherwise: readonly Op[],
): TxnRequest {
  return {
    compare: compares.map((c) => c.compare),
    success: then.map((o) => o.request),
    failure: otherwise.map((o) => o.request),
  };
}
