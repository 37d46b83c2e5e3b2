// Owns the ordering view of a client's KV (clientv3/ordering): a read whose revision is older than one already
// seen (a lagging member answered a serializable read after a failover) is a violation; the handler switches
// endpoints and the read is retried, until no endpoint has a fresh enough answer (NoGreaterRevisionError).
import type {
  CompactionResponse,
  DeleteRangeResponse,
  PutResponse,
  RangeResponse,
  RequestOp,
  ResponseHeader,
  TxnResponse,
} from "../proto/index.js";
import type { CallOptions } from "./call.js";
import type { Client } from "./client.js";
import { NoGreaterRevisionError } from "./errors.js";
import type { Bytes } from "./keys.js";
import type { CompactOptions, DeleteOptions, GetOptions, OpResponse, PutOptions } from "./kv.js";
import { Op, type Revision } from "./ops.js";
import type { KVApi } from "./services.js";
import { Txn } from "./txn.js";

/** One out-of-order response: what was asked, what came back, the newest revision seen before, the how-many-th. */
export interface OrderViolation {
  op: Op;
  response: OpResponse;
  prevRevision: Revision;
  /** 1 for the request's first violation, 2 for its second, … */
  attempt: number;
}

/**
 * Called on each violation before the request is retried: switch endpoints, wait, or throw to give up (the
 * error reaches the caller). clientv3's OrderViolationFunc.
 */
export type OrderViolationHandler = (v: OrderViolation) => void | Promise<void>;

/**
 * The default handler (clientv3's NewOrderViolationSwitchEndpointClosure): move the client off the endpoint
 * that answered (for a while), and give up with `NoGreaterRevisionError` once the request has been answered
 * out of order by as many endpoints as the client has.
 */
export function switchEndpointOnViolation(client: Client): OrderViolationHandler {
  return (v) => {
    if (v.attempt > client.endpoints.length) throw new NoGreaterRevisionError(v.prevRevision);
    client.switchEndpoint();
  };
}

/**
 * `client.kv` that never returns a revision older than one it already returned: a Get or Txn answered at an
 * older revision is a violation (see `OrderViolationHandler`); it is retried, unless a Txn's branch that ran
 * wrote something (a write is never replayed). Unlike clientv3's, write responses count as seen too, so a
 * read after your own write never goes back before it.
 *
 * @example
 * const kv = withOrdering(client);
 * await kv.get("k", { serializable: true });   // never older than anything kv returned before
 */
export class OrderingKV implements KVApi {
  private prevRev: Revision = 0n;

  constructor(
    private readonly inner: KVApi,
    private readonly onViolation: OrderViolationHandler,
  ) {}

  /** The newest revision returned so far (0 before the first response). */
  get revision(): Revision {
    return this.prevRev;
  }

  get(key: Bytes, options: GetOptions = {}): Promise<RangeResponse> {
    return this.ordered(
      Op.get(key, options),
      () => this.inner.get(key, options),
      (response) => ({ kind: "get", response }),
      () => true,
    );
  }

  async put(key: Bytes, value: Bytes, options: PutOptions = {}): Promise<PutResponse> {
    return this.saw(await this.inner.put(key, value, options));
  }

  async delete(key: Bytes, options: DeleteOptions = {}): Promise<DeleteRangeResponse> {
    return this.saw(await this.inner.delete(key, options));
  }

  async compact(revision: Revision, options: CompactOptions = {}): Promise<CompactionResponse> {
    return this.saw(await this.inner.compact(revision, options));
  }

  txn(): Txn {
    return new Txn((req, opts) => {
      const op = Op.of({ request: { $case: "requestTxn", value: req } });
      return this.ordered(
        op,
        async () => expectTxn(await this.inner.do(op, opts)),
        (response) => ({ kind: "txn", response }),
        (r) => readOnly(r.succeeded ? req.success : req.failure),
      );
    });
  }

  async do(op: Op, options: CallOptions = {}): Promise<OpResponse> {
    const r = op.request.request;
    if (r?.$case === "requestRange") {
      const response = await this.ordered(
        op,
        async () => expectGet(await this.inner.do(op, options)),
        (res) => ({ kind: "get", response: res }),
        () => true,
      );
      return { kind: "get", response };
    }
    if (r?.$case === "requestTxn") {
      const response = await this.ordered(
        op,
        async () => expectTxn(await this.inner.do(op, options)),
        (res) => ({ kind: "txn", response: res }),
        (res) => readOnly(res.succeeded ? r.value.success : r.value.failure),
      );
      return { kind: "txn", response };
    }
    const res = await this.inner.do(op, options);
    this.saw(res.response);
    return res;
  }

  /**
   * Runs `call` until its revision is at least the newest seen when the request started (clientv3 compares
   * with that, not with revisions concurrent requests return meanwhile). `retryable` says whether a stale
   * response may be asked again (not when it wrote).
   */
  private async ordered<R extends { header?: ResponseHeader | undefined }>(
    op: Op,
    call: () => Promise<R>,
    tag: (r: R) => OpResponse,
    retryable: (r: R) => boolean,
  ): Promise<R> {
    const prevRevision = this.prevRev;
    for (let attempt = 1; ; attempt++) {
      const r = await call();
      const rev = r.header?.revision ?? 0n;
      if (rev >= prevRevision) return this.saw(r);
      await this.onViolation({ op, response: tag(r), prevRevision, attempt });
      if (!retryable(r)) return r;
    }
  }

  private saw<R extends { header?: ResponseHeader | undefined }>(r: R): R {
    const rev = r.header?.revision ?? 0n;
    if (rev > this.prevRev) this.prevRev = rev;
    return r;
  }
}

/** The ordering view of `client.kv` with the default handler, `switchEndpointOnViolation(client)`. */
export function withOrdering(
  client: Client,
  onViolation: OrderViolationHandler = switchEndpointOnViolation(client),
): OrderingKV {
  return new OrderingKV(client.kv, onViolation);
}

/** Whether a txn branch only reads (nested txns included), so running it again changes nothing. */
function readOnly(ops: readonly RequestOp[]): boolean {
  return ops.every((o) => {
    const r = o.request;
    if (r?.$case === "requestPut" || r?.$case === "requestDeleteRange") return false;
    if (r?.$case === "requestTxn") return readOnly(r.value.success) && readOnly(r.value.failure);
    return true;
  });
}

function expectGet(r: OpResponse): RangeResponse {
  if (r.kind !== "get") throw new TypeError(`etcd client: expected a get response, got ${r.kind}`);
  return r.response;
}

function expectTxn(r: OpResponse): TxnResponse {
  if (r.kind !== "txn") throw new TypeError(`etcd client: expected a txn response, got ${r.kind}`);
  return r.response;
}
