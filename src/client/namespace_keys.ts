// Owns the key translation of a namespace (clientv3/namespace): requests, compares and range ends moved under a
// prefix, and the prefix stripped from every key of a response or watch event. Pure functions on wire messages.
import type {
  Compare,
  DeleteRangeResponse,
  Event,
  KeyValue,
  PutResponse,
  RangeResponse,
  RequestOp,
  TxnRequest,
  TxnResponse,
} from "../proto/index.js";
import { prefixEnd } from "./keys.js";

const EMPTY = Buffer.alloc(0);

/**
 * `[key, end)` of the caller's keyspace as the same interval under `pfx`. An empty end (one key) stays empty;
 * `"\0"` (every key ≥ key) ends where the namespace ends. etcd computes that end by incrementing the prefix
 * with carry ("ab\xff" → "ac\x00", which lets the key "ac" in); we use the prefix end ("ac"), which does not.
 */
export function prefixInterval(pfx: Buffer, key: Buffer, end: Buffer): { key: Buffer; rangeEnd: Buffer } {
  const k = Buffer.concat([pfx, key]);
  if (end.length === 1 && end[0] === 0) return { key: k, rangeEnd: prefixEnd(pfx) };
  if (end.length > 0) return { key: k, rangeEnd: Buffer.concat([pfx, end]) };
  return { key: k, rangeEnd: EMPTY };
}

/** Strips `pfx` from a key the server returned (it always starts with `pfx`: the request was confined to it). */
export function stripKey(pfx: Buffer, key: Buffer): Buffer {
  return key.subarray(pfx.length);
}

export function prefixCompare(pfx: Buffer, c: Compare): Compare {
  return { ...c, ...prefixInterval(pfx, c.key, c.rangeEnd) };
}

export function prefixTxn(pfx: Buffer, t: TxnRequest): TxnRequest {
  return {
    compare: t.compare.map((c) => prefixCompare(pfx, c)),
    success: t.success.map((o) => prefixRequestOp(pfx, o)),
    failure: t.failure.map((o) => prefixRequestOp(pfx, o)),
  };
}

export function prefixRequestOp(pfx: Buffer, op: RequestOp): RequestOp {
  const r = op.request;
  switch (r?.$case) {
    case "requestRange":
      return {
        request: {
          $case: r.$case,
          value: { ...r.value, ...prefixInterval(pfx, r.value.key, r.value.rangeEnd) },
        },
      };
    case "requestDeleteRange":
      return {
        request: {
          $case: r.$case,
          value: { ...r.value, ...prefixInterval(pfx, r.value.key, r.value.rangeEnd) },
        },
      };
    case "requestPut":
      return { request: { $case: r.$case, value: { ...r.value, key: Buffer.concat([pfx, r.value.key]) } } };
    case "requestTxn":
      return { request: { $case: r.$case, value: prefixTxn(pfx, r.value) } };
    case undefined:
      return op;
    default: {
      const never: never = r;
      throw new TypeError(`etcd client: unknown Op ${String(never)}`);
    }
  }
}

function stripKv(pfx: Buffer, kv: KeyValue): KeyValue {
  return { ...kv, key: stripKey(pfx, kv.key) };
}

export function stripRange(pfx: Buffer, r: RangeResponse): RangeResponse {
  return { ...r, kvs: r.kvs.map((kv) => stripKv(pfx, kv)) };
}

export function stripPut(pfx: Buffer, r: PutResponse): PutResponse {
  return r.prevKv ? { ...r, prevKv: stripKv(pfx, r.prevKv) } : r;
}

export function stripDelete(pfx: Buffer, r: DeleteRangeResponse): DeleteRangeResponse {
  return { ...r, prevKvs: r.prevKvs.map((kv) => stripKv(pfx, kv)) };
}

export function stripTxn(pfx: Buffer, t: TxnResponse): TxnResponse {
  const responses = t.responses.map((op) => {
    const r = op.response;
    switch (r?.$case) {
      case "responseRange":
        return { response: { $case: r.$case, value: stripRange(pfx, r.value) } };
      case "responsePut":
        return { response: { $case: r.$case, value: stripPut(pfx, r.value) } };
      case "responseDeleteRange":
        return { response: { $case: r.$case, value: stripDelete(pfx, r.value) } };
      case "responseTxn":
        return { response: { $case: r.$case, value: stripTxn(pfx, r.value) } };
      default:
        return op;
    }
  });
  return { ...t, responses };
}

/** A watch event with its key (and its previous key-value's key, which is the same key) unprefixed. */
export function stripEvent(pfx: Buffer, e: Event): Event {
  if (!e.kv) return e;
  const kv = stripKv(pfx, e.kv);
  return { ...e, kv, prevKv: e.prevKv && { ...e.prevKv, key: kv.key } };
}
