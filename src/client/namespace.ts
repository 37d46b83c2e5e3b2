// Owns the namespace view of a client (clientv3/namespace): `kv`, `watch` and `lease` that confine every key to a
// prefix, translating requests on the way out and stripping the prefix from responses and events on the way in.
import type {
  CompactionResponse,
  DeleteRangeResponse,
  LeaseTimeToLiveResponse,
  PutResponse,
  RangeResponse,
} from "../proto/index.js";
import type { CallOptions } from "./call.js";
import { EmptyKeyError, Status } from "./errors.js";
import { type Bytes, resolveRange, toBuffer } from "./keys.js";
import type { CompactOptions, DeleteOptions, GetOptions, OpResponse, PutOptions } from "./kv.js";
import {
  prefixInterval,
  prefixRequestOp,
  prefixTxn,
  stripDelete,
  stripEvent,
  stripKey,
  stripPut,
  stripRange,
  stripTxn,
} from "./namespace_keys.js";
import { Op, type Revision } from "./ops.js";
import type { KVApi, KVClient, LeaseApi, WatchApi } from "./services.js";
import { Txn } from "./txn.js";
import type { EventMapper, Watcher, WatchOptions } from "./watcher.js";

const emptyKey = (): EmptyKeyError =>
  new EmptyKeyError(Status.INVALID_ARGUMENT, "etcdserver: key is not provided");

/**
 * A view of a client in which every key lives under `prefix`: `ns.kv.put("a", …)` writes `<prefix>a`, a range
 * or prefix read covers only keys under the prefix, and every key that comes back (ranges, prevKv, txn results,
 * watch events, a lease's keys) has the prefix removed. It is a `KVClient`, so sessions, locks, elections,
 * STM, recipes and naming work inside it; namespaces nest (`ns.namespace("b/")` is under `<prefix>b/`).
 *
 * @example
 * const app = client.namespace("app1/");
 * await app.kv.put("config", "x");                 // writes "app1/config"
 * (await app.kv.get("", { prefix: true })).kvs;    // keys of app1/, without "app1/"
 */
export class Namespace implements KVClient {
  readonly prefix: Buffer;
  readonly kv: NamespaceKV;
  readonly watch: NamespaceWatch;
  readonly lease: NamespaceLease;

  constructor(inner: KVClient, prefix: Bytes) {
    this.prefix = Buffer.from(toBuffer(prefix));
    this.kv = new NamespaceKV(inner.kv, this.prefix);
    this.watch = new NamespaceWatch(inner.watch, this.prefix);
    this.lease = new NamespaceLease(inner.lease, this.prefix);
  }

  /** A namespace nested in this one: keys live under this prefix followed by `prefix`. */
  namespace(prefix: Bytes): Namespace {
    return new Namespace(this, prefix);
  }
}

/** Wraps any client (or view) so that every key lives under `prefix` (clientv3's namespace.NewKV/NewWatcher/NewLease). */
export function withNamespace(client: KVClient, prefix: Bytes): Namespace {
  return new Namespace(client, prefix);
}

/** `client.kv` confined to a prefix. An empty key is refused (`EmptyKeyError`) unless it is a prefix or from-key range. */
export class NamespaceKV implements KVApi {
  /** @internal */
  constructor(
    private readonly inner: KVApi,
    private readonly pfx: Buffer,
  ) {}

  async get(key: Bytes, options: GetOptions = {}): Promise<RangeResponse> {
    if (toBuffer(key).length === 0 && !options.prefix && !options.fromKey) throw emptyKey();
    const r = await this.inner.do(this.prefixed(Op.get(key, options)), options);
    return stripRange(this.pfx, expect(r, "get"));
  }

  async put(key: Bytes, value: Bytes, options: PutOptions = {}): Promise<PutResponse> {
    if (toBuffer(key).length === 0) throw emptyKey();
    const r = await this.inner.do(this.prefixed(Op.put(key, value, options)), options);
    return stripPut(this.pfx, expect(r, "put"));
  }

  async delete(key: Bytes, options: DeleteOptions = {}): Promise<DeleteRangeResponse> {
    if (toBuffer(key).length === 0 && !options.prefix && !options.fromKey) throw emptyKey();
    const r = await this.inner.do(this.prefixed(Op.delete(key, options)), options);
    return stripDelete(this.pfx, expect(r, "delete"));
  }

  /** Compaction is cluster-wide: revisions are not namespaced. */
  compact(revision: Revision, options: CompactOptions = {}): Promise<CompactionResponse> {
    return this.inner.compact(revision, options);
  }

  /** A transaction whose compares and ops are all moved under the prefix. */
  txn(): Txn {
    return new Txn(async (req, opts) => {
      const op = Op.of({ request: { $case: "requestTxn", value: prefixTxn(this.pfx, req) } });
      return stripTxn(this.pfx, expect(await this.inner.do(op, opts), "txn"));
    });
  }

  async do(op: Op, options: CallOptions = {}): Promise<OpResponse> {
    const r = op.request.request;
    if (r !== undefined && r.$case !== "requestTxn" && r.value.key.length === 0) throw emptyKey();
    const res = await this.inner.do(this.prefixed(op), options);
    switch (res.kind) {
      case "get":
        return { kind: "get", response: stripRange(this.pfx, res.response) };
      case "put":
        return { kind: "put", response: stripPut(this.pfx, res.response) };
      case "delete":
        return { kind: "delete", response: stripDelete(this.pfx, res.response) };
      case "txn":
        return { kind: "txn", response: stripTxn(this.pfx, res.response) };
      default: {
        const never: never = res;
        throw new TypeError(`etcd client: unknown response ${String(never)}`);
      }
    }
  }

  private prefixed(op: Op): Op {
    return Op.of(prefixRequestOp(this.pfx, op.request));
  }
}

type ResponseOf<K extends OpResponse["kind"]> = Extract<OpResponse, { kind: K }>["response"];

function expect<K extends OpResponse["kind"]>(r: OpResponse, kind: K): ResponseOf<K> {
  if (r.kind !== kind) throw new TypeError(`etcd client: expected a ${kind} response, got ${r.kind}`);
  return r.response as ResponseOf<K>;
}

/** `client.watch` confined to a prefix: watch keys and ranges are moved under it, event keys come back without it. */
export class NamespaceWatch implements WatchApi {
  /** @internal */
  constructor(
    private readonly inner: WatchApi,
    private readonly pfx: Buffer,
  ) {}

  watch(key: Bytes, options: WatchOptions = {}, mapEvents?: EventMapper): Watcher {
    const range = resolveRange(key, options);
    const inner = prefixInterval(this.pfx, range.key, range.rangeEnd);
    const strip: EventMapper = (events) => {
      const mine = events.map((e) => stripEvent(this.pfx, e));
      return mapEvents ? mapEvents(mine) : mine;
    };
    const { prefix: _p, fromKey: _f, rangeEnd: _r, ...rest } = options;
    const opts: WatchOptions = inner.rangeEnd.length > 0 ? { ...rest, rangeEnd: inner.rangeEnd } : rest;
    return this.inner.watch(inner.key, opts, strip);
  }

  requestProgress(): boolean {
    return this.inner.requestProgress();
  }
}

/** `client.lease` in a namespace: `timeToLive` lists only the lease's keys under the prefix, without it. */
export class NamespaceLease implements LeaseApi {
  readonly grant: LeaseApi["grant"];
  readonly revoke: LeaseApi["revoke"];
  readonly leases: LeaseApi["leases"];
  readonly keepAlive: LeaseApi["keepAlive"];
  readonly keepAliveOnce: LeaseApi["keepAliveOnce"];

  /** @internal */
  constructor(
    private readonly inner: LeaseApi,
    private readonly pfx: Buffer,
  ) {
    this.grant = (ttl, o) => inner.grant(ttl, o);
    this.revoke = (id, o) => inner.revoke(id, o);
    this.leases = (o) => inner.leases(o);
    this.keepAlive = (id, o) => inner.keepAlive(id, o);
    this.keepAliveOnce = (id, o) => inner.keepAliveOnce(id, o);
  }

  async timeToLive(...args: Parameters<LeaseApi["timeToLive"]>): Promise<LeaseTimeToLiveResponse> {
    const r = await this.inner.timeToLive(...args);
    const keys = r.keys.filter(
      (k) => k.length >= this.pfx.length && k.subarray(0, this.pfx.length).equals(this.pfx),
    );
    return { ...r, keys: keys.map((k) => stripKey(this.pfx, k)) };
  }
}
