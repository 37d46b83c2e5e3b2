// Owns recording our client's KV calls into an etcd history (keys and values as UTF-8 strings), and turning
// received watch events into the watch checker's form.
import type { Client, Event, RangeResponse, TxnResponse } from "../../client/index.js";
import { Cmp, EventType, Op } from "../../client/index.js";
import type { CasCompare, EtcdInput, EtcdOutput, TxnCompare, TxnOp, TxnOpResult } from "./etcd_types.js";
import type { HistoryRecorder } from "./recorder.js";
import type { WatchEvent } from "./watch_checker.js";

export interface RecordingKvOptions {
  /**
   * Failed writes whose error proves they never took effect (default: none — a failed write may or may not
   * have been applied). Failed reads are always dropped: a read has no effect either way.
   */
  notApplied?: (err: unknown) => boolean;
}

const text = (b: Buffer | Uint8Array): string => Buffer.from(b).toString("utf8");

function headerRevision(r: { header?: { revision: bigint } | undefined }): bigint {
  if (!r.header) throw new Error("etcd response without a header");
  return r.header.revision;
}

function readOf(r: RangeResponse): { value: string | null; modRevision: bigint } {
  const kv = r.kvs[0];
  return kv ? { value: text(kv.value), modRevision: kv.modRevision } : { value: null, modRevision: 0n };
}

function toCmp(c: TxnCompare): Cmp {
  const op = c.op ?? "=";
  if (c.target === "value") return Cmp.value(c.key, op, c.value);
  if (c.target === "mod") return Cmp.modRevision(c.key, op, c.number);
  if (c.target === "create") return Cmp.createRevision(c.key, op, c.number);
  return Cmp.version(c.key, op, c.number);
}

function toOp(o: TxnOp): Op {
  return o.op === "put" ? Op.put(o.key, o.value) : o.op === "get" ? Op.get(o.key) : Op.delete(o.key);
}

function txnResults(ops: TxnOp[], r: TxnResponse): TxnOpResult[] {
  return ops.map((o, i) => {
    const resp = r.responses[i]?.response;
    if (o.op === "get" && resp?.$case === "responseRange") return { op: "get", ...readOf(resp.value) };
    if (o.op === "delete" && resp?.$case === "responseDeleteRange") {
      return { op: "delete", deleted: Number(resp.value.deleted) };
    }
    if (o.op === "put" && resp?.$case === "responsePut") return { op: "put" };
    throw new Error(`txn response ${i} (${resp?.$case}) does not match its op ${o.op}`);
  });
}

/**
 * One client's KV calls, each recorded as an operation of `recorder`'s history. Every call resolves with
 * what was recorded, or rejects with the client's error after recording the failure.
 */
export class RecordingKv {
  constructor(
    private readonly client: Client,
    private readonly recorder: HistoryRecorder<EtcdInput, EtcdOutput>,
    readonly clientId: number | string,
    private readonly options: RecordingKvOptions = {},
  ) {}

  put(key: string, value: string): Promise<EtcdOutput> {
    return this.write({ op: "put", key, value }, async () => {
      const r = await this.client.kv.put(key, value);
      return { op: "put", revision: headerRevision(r) };
    });
  }

  get(key: string, options: { serializable?: boolean } = {}): Promise<EtcdOutput> {
    const input: EtcdInput = options.serializable
      ? { op: "get", key, serializable: true }
      : { op: "get", key };
    return this.recorder.record(
      this.clientId,
      input,
      async () => {
        const r = await this.client.kv.get(key, { serializable: options.serializable ?? false });
        return { op: "get", ...readOf(r), revision: headerRevision(r) };
      },
      () => true,
    );
  }

  delete(key: string): Promise<EtcdOutput> {
    return this.write({ op: "delete", key }, async () => {
      const r = await this.client.kv.delete(key);
      return { op: "delete", deleted: Number(r.deleted), revision: headerRevision(r) };
    });
  }

  /** `txn If(compare) Then put(key, value) [Else get(key)]`. */
  cas(
    key: string,
    compare: CasCompare,
    value: string,
    options: { elseGet?: boolean } = {},
  ): Promise<EtcdOutput> {
    const input: EtcdInput = { op: "cas", key, compare, value };
    if (options.elseGet) input.elseGet = true;
    return this.write(input, async () => {
      const cmp =
        compare.target === "value"
          ? Cmp.value(key, "=", compare.value)
          : Cmp.modRevision(key, "=", compare.modRevision);
      const r = await this.client.kv
        .txn()
        .If(cmp)
        .Then(Op.put(key, value))
        .Else(...(options.elseGet ? [Op.get(key)] : []))
        .commit();
      const out: EtcdOutput = { op: "cas", succeeded: r.succeeded, revision: headerRevision(r) };
      const resp = r.responses[0]?.response;
      if (!r.succeeded && options.elseGet && resp?.$case === "responseRange")
        Object.assign(out, readOf(resp.value));
      return out;
    });
  }

  /** A general transaction (checked by the whole-store model only). */
  txn(compares: TxnCompare[], success: TxnOp[], failure: TxnOp[]): Promise<EtcdOutput> {
    return this.write({ op: "txn", compares, success, failure }, async () => {
      const r = await this.client.kv
        .txn()
        .If(...compares.map(toCmp))
        .Then(...success.map(toOp))
        .Else(...failure.map(toOp))
        .commit();
      const results = txnResults(r.succeeded ? success : failure, r);
      return { op: "txn", succeeded: r.succeeded, revision: headerRevision(r), results };
    });
  }

  private write(input: EtcdInput, fn: () => Promise<EtcdOutput>): Promise<EtcdOutput> {
    return this.recorder.record(this.clientId, input, fn, this.options.notApplied);
  }
}

/** A received watch event in the watch checker's form. */
export function toWatchEvent(e: Event): WatchEvent {
  if (!e.kv) throw new Error("watch event without a key-value");
  const key = text(e.kv.key);
  return e.type === EventType.DELETE
    ? { revision: e.kv.modRevision, key, type: "delete" }
    : { revision: e.kv.modRevision, key, type: "put", value: text(e.kv.value) };
}
