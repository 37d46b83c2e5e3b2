// Owns the per-key etcd model: one partition per key (sound for single-key operations only), with the key's
// value, its mod revision, and a lower bound of the store revision, abstracting what other keys do.

import { prepareEtcdHistory } from "./etcd_prepare.js";
import type { CasCompare, EtcdInput, EtcdOutput } from "./etcd_types.js";
import { describeEtcdOperation, keyOf } from "./etcd_types.js";
import {
  assert,
  type Model,
  type NondeterministicModel,
  type Operation,
  partitionBy,
  powersetModel,
} from "./model.js";

/**
 * What one key's operations can know. The store revision moves with writes to other keys too, so only a
 * lower bound `rev` is kept. A write whose response was lost has an unknown revision: its mod revision is
 * then only known to lie in [modLo, modHi] (modHi null = unbounded) until a read reveals it.
 */
export interface KeyState {
  value: string | null;
  modLo: bigint;
  modHi: bigint | null;
  rev: bigint;
}

export interface EtcdKeyModelOptions {
  /** Keys that exist before the history starts (others start absent). */
  initial?: Record<string, { value: string; modRevision: bigint }>;
  /** The store revision before the history (a lower bound is enough); default 0. */
  initialRevision?: bigint;
}

const modKnown = (s: KeyState): boolean => s.modHi !== null && s.modLo === s.modHi;
const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);

/** The key after a write whose revision is `revision` (or unknown, when the response was lost). */
function written(s: KeyState, value: string | null, revision: bigint | undefined): KeyState[] {
  if (revision === undefined) {
    const r = s.rev + 1n;
    return [
      value === null ? { value, modLo: 0n, modHi: 0n, rev: r } : { value, modLo: r, modHi: null, rev: r },
    ];
  }
  if (revision <= s.rev) return [];
  return [
    { value, modLo: value === null ? 0n : revision, modHi: value === null ? 0n : revision, rev: revision },
  ];
}

/** The key as a read at header revision `header` returning (`value`, `mod`) saw it; [] if it cannot have. */
function observed(s: KeyState, header: bigint, value: string | null, mod: bigint): KeyState[] {
  if (header < s.rev || value !== s.value || mod > header) return [];
  if (value === null) return mod === 0n ? [{ ...s, rev: header }] : [];
  if (mod < s.modLo || (s.modHi !== null && mod > s.modHi)) return [];
  return [{ value, modLo: mod, modHi: mod, rev: header }];
}

/** The key after a read at `header` that did not report the mod revision. */
function seenAt(s: KeyState, header: bigint): KeyState[] {
  if (header < s.rev) return [];
  // A write of unknown revision that is already linearized cannot have a revision above this read's.
  const modHi = s.value !== null && !modKnown(s) && (s.modHi === null || header < s.modHi) ? header : s.modHi;
  return [{ ...s, modHi, rev: header }];
}

/** The states in which `compare` holds / fails (a mod revision not known exactly may go either way). */
function split(s: KeyState, c: CasCompare): { holds: KeyState[]; fails: KeyState[] } {
  if (c.target === "value") {
    return s.value !== null && s.value === c.value ? { holds: [s], fails: [] } : { holds: [], fails: [s] };
  }
  const m = c.modRevision;
  if (modKnown(s)) return s.modLo === m ? { holds: [s], fails: [] } : { holds: [], fails: [s] };
  const possible = m >= s.modLo && (s.modHi === null || m <= s.modHi);
  return possible ? { holds: [{ ...s, modLo: m, modHi: m }], fails: [s] } : { holds: [], fails: [s] };
}

function step(s: KeyState, input: EtcdInput, output: EtcdOutput | undefined): KeyState[] {
  switch (input.op) {
    case "put":
      if (output === undefined) return written(s, input.value, undefined);
      return output.op === "put" ? written(s, input.value, output.revision) : [];
    case "get":
      if (output === undefined) return [s];
      return output.op === "get" ? observed(s, output.revision, output.value, output.modRevision) : [];
    case "delete": {
      const present = s.value !== null;
      if (output === undefined) return present ? written(s, null, undefined) : [s];
      if (output.op !== "delete" || output.deleted !== (present ? 1 : 0)) return [];
      return present ? written(s, null, output.revision) : seenAt(s, output.revision);
    }
    case "cas": {
      const { holds, fails } = split(s, input.compare);
      if (output === undefined)
        return [...holds.flatMap((h) => written(h, input.value, undefined)), ...fails];
      if (output.op !== "cas") return [];
      if (output.succeeded) return holds.flatMap((h) => written(h, input.value, output.revision));
      return fails.flatMap((f) =>
        output.value !== undefined
          ? observed(f, output.revision, output.value, output.modRevision ?? 0n)
          : seenAt(f, output.revision),
      );
    }
    case "txn":
      throw new Error("the per-key model cannot check a multi-key txn: use etcdStoreModel()");
    default: {
      const never: never = input;
      throw new Error(`unknown op ${JSON.stringify(never)}`);
    }
  }
}

function describeState(s: KeyState): string {
  const revs = `store revision >= ${s.rev}`;
  if (s.value === null) return `absent (${revs})`;
  const mod = modKnown(s) ? `${s.modLo}` : `in [${s.modLo}, ${s.modHi ?? "∞"}]`;
  return `${JSON.stringify(s.value)} mod ${mod} (${revs})`;
}

/**
 * The etcd model partitioned per key (P-compositionality): each key's put/get/delete/cas operations form an
 * independent register with mod revisions. Sound only for single-key operations; a multi-key `txn` throws.
 * Cross-key revision order is not seen here: pair it with `checkRevisionOrder`, or use `etcdStoreModel`.
 */
export function etcdKeyModel(options: EtcdKeyModelOptions = {}): Model<KeyState[], EtcdInput, EtcdOutput> {
  const base = options.initialRevision ?? 0n;
  const m: NondeterministicModel<KeyState, EtcdInput, EtcdOutput> = {
    init(key) {
      const kv = options.initial?.[key];
      if (!kv) return [{ value: null, modLo: 0n, modHi: 0n, rev: base }];
      return [
        { value: kv.value, modLo: kv.modRevision, modHi: kv.modRevision, rev: max(base, kv.modRevision) },
      ];
    },
    step,
    key: (s) => `${s.value === null ? "-" : `=${s.value}`}\u0000${s.modLo}:${s.modHi ?? "*"}:${s.rev}`,
    prepare: (ops) =>
      prepareEtcdHistory(ops, new Set(Object.values(options.initial ?? {}).map((kv) => kv.value))),
    partition(ops: Operation<EtcdInput, EtcdOutput>[]) {
      return partitionBy(ops, (input) => {
        const k = keyOf(input);
        assert(k !== undefined, "the per-key model cannot check a multi-key txn: use etcdStoreModel()");
        return k;
      });
    },
    isReadOnly: (input) => input.op === "get",
    ignore: (input) => input.op === "get" && input.serializable === true,
    describeOperation: describeEtcdOperation,
    describeState,
  };
  return powersetModel(m);
}
