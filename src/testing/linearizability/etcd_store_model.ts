// Owns the whole-store etcd model: every key and the global revision in one state, so multi-key transactions
// and exact revisions (each write that changes something is revision + 1) are checked. One partition: small
// histories only, and every write to the store must be in the history.

import { prepareEtcdHistory } from "./etcd_prepare.js";
import {
  type CasCompare,
  compareHolds,
  describeEtcdOperation,
  type EtcdInput,
  type EtcdOutput,
  type TxnCompare,
  type TxnOp,
  type TxnOpResult,
} from "./etcd_types.js";
import type { Model } from "./model.js";

export interface StoredKv {
  value: string;
  createRevision: bigint;
  modRevision: bigint;
  version: bigint;
}

export interface StoreState {
  revision: bigint;
  kvs: ReadonlyMap<string, StoredKv>;
}

export interface EtcdStoreModelOptions {
  /** The store revision before the history; default 1 (a new etcd). */
  initialRevision?: bigint;
  initial?: Record<string, StoredKv>;
}

function compareKv(kv: StoredKv | undefined, c: TxnCompare): boolean {
  const op = c.op ?? "=";
  if (c.target === "value") return kv !== undefined && compareHolds(kv.value, op, c.value);
  const actual =
    c.target === "mod" ? kv?.modRevision : c.target === "create" ? kv?.createRevision : kv?.version;
  return compareHolds(actual ?? 0n, op, c.number);
}

function casAsTxnCompare(key: string, c: CasCompare): TxnCompare {
  return c.target === "value"
    ? { key, target: "value", value: c.value }
    : { key, target: "mod", number: c.modRevision };
}

/** Runs `ops` as one etcd write transaction at `state.revision + 1`: later ops see earlier ones. */
function runTxn(state: StoreState, ops: TxnOp[]): { next: StoreState; results: TxnOpResult[] } {
  const rev = state.revision + 1n;
  const kvs = new Map(state.kvs);
  let changed = false;
  const results: TxnOpResult[] = [];
  for (const o of ops) {
    const kv = kvs.get(o.key);
    switch (o.op) {
      case "put":
        kvs.set(o.key, {
          value: o.value,
          createRevision: kv ? kv.createRevision : rev,
          modRevision: rev,
          version: (kv?.version ?? 0n) + 1n,
        });
        changed = true;
        results.push({ op: "put" });
        break;
      case "get":
        results.push({ op: "get", value: kv?.value ?? null, modRevision: kv?.modRevision ?? 0n });
        break;
      case "delete":
        if (kv) {
          kvs.delete(o.key);
          changed = true;
        }
        results.push({ op: "delete", deleted: kv ? 1 : 0 });
        break;
      default: {
        const never: never = o;
        throw new Error(`unknown txn op ${JSON.stringify(never)}`);
      }
    }
  }
  // etcd bumps the revision only when the transaction changed something.
  return { next: changed ? { revision: rev, kvs } : state, results };
}

const sameResult = (a: TxnOpResult, b: TxnOpResult): boolean =>
  a.op === b.op &&
  (a.op !== "get" || (b.op === "get" && a.value === b.value && a.modRevision === b.modRevision)) &&
  (a.op !== "delete" || (b.op === "delete" && a.deleted === b.deleted));

function step(s: StoreState, input: EtcdInput, output: EtcdOutput | undefined): StoreState | undefined {
  const matches = (next: StoreState): boolean => output === undefined || output.revision === next.revision;
  switch (input.op) {
    case "put": {
      const { next } = runTxn(s, [input]);
      return output === undefined || (output.op === "put" && matches(next)) ? next : undefined;
    }
    case "get": {
      if (output === undefined) return s;
      const kv = s.kvs.get(input.key);
      const ok =
        output.op === "get" &&
        output.revision === s.revision &&
        output.value === (kv?.value ?? null) &&
        output.modRevision === (kv?.modRevision ?? 0n);
      return ok ? s : undefined;
    }
    case "delete": {
      const { next, results } = runTxn(s, [input]);
      const r = results[0]!;
      if (output === undefined) return next;
      return output.op === "delete" && r.op === "delete" && output.deleted === r.deleted && matches(next)
        ? next
        : undefined;
    }
    case "cas": {
      const holds = compareKv(s.kvs.get(input.key), casAsTxnCompare(input.key, input.compare));
      const { next, results } = runTxn(
        s,
        holds ? [{ op: "put", key: input.key, value: input.value }] : [{ op: "get", key: input.key }],
      );
      if (output === undefined) return next;
      if (output.op !== "cas" || output.succeeded !== holds || !matches(next)) return undefined;
      const r = results[0]!;
      if (!holds && output.value !== undefined && r.op === "get") {
        if (output.value !== r.value || (output.modRevision ?? 0n) !== r.modRevision) return undefined;
      }
      return next;
    }
    case "txn": {
      const holds = input.compares.every((c) => compareKv(s.kvs.get(c.key), c));
      const { next, results } = runTxn(s, holds ? input.success : input.failure);
      if (output === undefined) return next;
      if (output.op !== "txn" || output.succeeded !== holds || !matches(next)) return undefined;
      if (output.results.length !== results.length) return undefined;
      return results.every((r, i) => sameResult(r, output.results[i]!)) ? next : undefined;
    }
    default: {
      const never: never = input;
      throw new Error(`unknown op ${JSON.stringify(never)}`);
    }
  }
}

function stateKey(s: StoreState): string {
  const keys = [...s.kvs.keys()].sort();
  const parts = [`${s.revision}`];
  for (const k of keys) {
    const kv = s.kvs.get(k)!;
    parts.push(
      `${JSON.stringify(k)}=${JSON.stringify(kv.value)}:${kv.createRevision}:${kv.modRevision}:${kv.version}`,
    );
  }
  return parts.join(" ");
}

/**
 * The whole store as one register of maps, with etcd's revisions exactly: a write that changes the store
 * returns revision + 1, a read returns the current revision. Checks multi-key txns (e.g. a lock-guarded
 * write). Needs every write of the run in the history (unrecorded writers, lease expiries break it).
 */
export function etcdStoreModel(
  options: EtcdStoreModelOptions = {},
): Model<StoreState, EtcdInput, EtcdOutput> {
  const initial: StoreState = {
    revision: options.initialRevision ?? 1n,
    kvs: new Map(Object.entries(options.initial ?? {})),
  };
  return {
    init: () => initial,
    prepare: (ops) => prepareEtcdHistory(ops, new Set([...initial.kvs.values()].map((kv) => kv.value))),
    step,
    key: stateKey,
    isReadOnly: (input) =>
      input.op === "get" ||
      (input.op === "txn" && [...input.success, ...input.failure].every((o) => o.op === "get")),
    ignore: (input) => input.op === "get" && input.serializable === true,
    describeOperation: describeEtcdOperation,
    describeState: (s) => `revision ${s.revision}: {${stateKey(s).split(" ").slice(1).join(", ")}}`,
  };
}
