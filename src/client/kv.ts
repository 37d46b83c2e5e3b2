// Owns the KV API of the client: get/put/delete/compact/txn over etcdserverpb.KV, with clientv3's retry classes.
import {
  type CompactionResponse,
  type DeleteRangeResponse,
  KVService,
  type PutResponse,
  type RangeResponse,
  type TxnResponse,
} from "../proto/index.js";
import type { Caller, CallOptions } from "./call.js";
import type { Bytes } from "./keys.js";
import {
  type DeleteRequestOptions,
  deleteRequest,
  type GetRequestOptions,
  type Op,
  type PutRequestOptions,
  putRequest,
  type Revision,
  rangeRequest,
} from "./ops.js";
import { Txn } from "./txn.js";

export type GetOptions = GetRequestOptions & CallOptions;
export type PutOptions = PutRequestOptions & CallOptions;
export type DeleteOptions = DeleteRequestOptions & CallOptions;
export interface CompactOptions extends CallOptions {
  /** Wait until the compaction has been applied to the backend (not only recorded). */
  physical?: boolean;
}

/** The response to any single `Op`, by kind. */
export type OpResponse =
  | { kind: "get"; response: RangeResponse }
  | { kind: "put"; response: PutResponse }
  | { kind: "delete"; response: DeleteRangeResponse }
  | { kind: "txn"; response: TxnResponse };

/** Keys and values (`client.kv`). Reads retry on another endpoint when one is unavailable; writes do not. */
export class KV {
  /** @internal */
  constructor(private readonly caller: Caller) {}

  /** Reads `key`, or a range of keys with `rangeEnd`/`prefix`/`fromKey`. */
  get(key: Bytes, options: GetOptions = {}): Promise<RangeResponse> {
    return this.caller.unary(KVService.range, "repeatable", rangeRequest(key, options), options);
  }

  /** Writes `key` = `value`; creates one revision. */
  put(key: Bytes, value: Bytes, options: PutOptions = {}): Promise<PutResponse> {
    return this.caller.unary(KVService.put, "nonRepeatable", putRequest(key, value, options), options);
  }

  /** Deletes `key`, or a range; `deleted` counts the keys removed. */
  delete(key: Bytes, options: DeleteOptions = {}): Promise<DeleteRangeResponse> {
    return this.caller.unary(KVService.deleteRange, "nonRepeatable", deleteRequest(key, options), options);
  }

  /** Discards the history before `revision` (cluster-wide). */
  compact(revision: Revision, options: CompactOptions = {}): Promise<CompactionResponse> {
    const req = { revision, physical: options.physical ?? false };
    return this.caller.unary(KVService.compact, "nonRepeatable", req, options);
  }

  /** Starts a transaction: `kv.txn().If(...).Then(...).Else(...).commit()`. */
  txn(): Txn {
    return new Txn((req, opts) => this.caller.unary(KVService.txn, "nonRepeatable", req, opts ?? {}));
  }

  /** Runs one `Op` on its own (clientv3's KV.Do). */
  async do(op: Op, options: CallOptions = {}): Promise<OpResponse> {
    const r = op.request.request;
    switch (r?.$case) {
      case "requestRange":
        return {
          kind: "get",
          response: await this.caller.unary(KVService.range, "repeatable", r.value, options),
        };
      case "requestPut":
        return {
          kind: "put",
          response: await this.caller.unary(KVService.put, "nonRepeatable", r.value, options),
        };
      case "requestDeleteRange":
        return {
          kind: "delete",
          response: await this.caller.unary(KVService.deleteRange, "nonRepeatable", r.value, options),
        };
      case "requestTxn":
        return {
          kind: "txn",
          response: await this.caller.unary(KVService.txn, "nonRepeatable", r.value, options),
        };
      case undefined:
        throw new TypeError("etcd client: empty Op");
      default: {
        const never: never = r;
        throw new TypeError(`etcd client: unknown Op ${String(never)}`);
      }
    }
  }
}
