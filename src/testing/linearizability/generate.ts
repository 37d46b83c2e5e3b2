// Owns generating etcd histories that are linearizable by construction (for the checker's own tests and
// benchmarks): a sequential run of an exact store, each operation's interval widened around its point.
import type { EtcdInput, EtcdOperation, EtcdOutput } from "./etcd_types.js";
import { PENDING } from "./model.js";
import type { WatchEvent } from "./watch_checker.js";

/** mulberry32: a small seeded PRNG returning [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface GenerateOptions {
  operations: number;
  keys: number;
  clients: number;
  /** Share of writes whose response is lost (pending); half of them took effect, half did not. */
  pendingRate?: number;
  /** How far (in linearization slots) an interval may stretch on each side of its point; default 2 × clients. */
  spread?: number;
}

interface Kv {
  value: string;
  mod: bigint;
}

/**
 * A history of put/get/delete/cas on `keys` keys by `clients` sequential clients, linearizable by
 * construction; times are slot numbers (operation i takes effect at 10·i).
 */
export function generateHistory(rand: () => number, o: GenerateOptions): EtcdOperation[] {
  return generateRun(rand, o).ops;
}

/** `generateHistory`, plus every committed write as a watch event (lost responses included). */
export function generateRun(
  rand: () => number,
  o: GenerateOptions,
): { ops: EtcdOperation[]; events: WatchEvent[] } {
  const events: WatchEvent[] = [];
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const store = new Map<string, Kv>();
  const written: string[] = [];
  let rev = 1n;
  const slot = 10;
  const spread = (o.spread ?? 2 * o.clients) * slot;
  const ops: EtcdOperation[] = [];
  const clientOf: number[] = [];

  for (let i = 0; i < o.operations; i++) {
    const key = `k${Math.floor(rand() * o.keys)}`;
    const kv = store.get(key);
    const r = rand();
    let input: EtcdInput;
    if (r < 0.35) input = { op: "get", key };
    else if (r < 0.65) input = { op: "put", key, value: `v${i}` };
    else if (r < 0.75) input = { op: "delete", key };
    else if (r < 0.88) {
      const expected = kv && rand() < 0.6 ? kv.value : written.length > 0 ? pick(written) : "none";
      input = {
        op: "cas",
        key,
        compare: { target: "value", value: expected },
        value: `v${i}`,
        elseGet: rand() < 0.5,
      };
    } else {
      const expected = rand() < 0.6 ? (kv?.mod ?? 0n) : BigInt(Math.floor(rand() * Number(rev + 1n)));
      input = { op: "cas", key, compare: { target: "mod", modRevision: expected }, value: `v${i}` };
    }
    const pending = input.op !== "get" && rand() < (o.pendingRate ?? 0);
    const applied = !pending || rand() < 0.5;
    let output: EtcdOutput | undefined;
    if (applied) {
      output = apply(input, key, store, rev);
      if (output.revision > rev) {
        events.push(
          input.op === "delete"
            ? { revision: output.revision, key, type: "delete" }
            : { revision: output.revision, key, type: "put", value: (input as { value: string }).value },
        );
      }
      rev = output.revision;
      if (input.op === "put" || (input.op === "cas" && output.op === "cas" && output.succeeded)) {
        written.push(input.value);
      }
    }
    clientOf.push(Math.floor(rand() * o.clients));
    ops.push({
      id: i,
      clientId: clientOf[i]!,
      call: 0,
      return: 0,
      input,
      output: pending ? undefined : output,
    });
  }

  // Widen each interval around its point 10·i without overlapping the same client's neighbours.
  const nextOfClient = new Array<number>(ops.length).fill(Number.POSITIVE_INFINITY);
  const lastOfClient = new Map<number, number>();
  for (let i = ops.length - 1; i >= 0; i--) {
    const c = clientOf[i]!;
    const n = lastOfClient.get(c);
    if (n !== undefined) nextOfClient[i] = n * slot;
    lastOfClient.set(c, i);
  }
  const freeFrom = new Map<number, number>();
  ops.forEach((op, i) => {
    const t = i * slot;
    const c = clientOf[i]!;
    const from = Math.max(freeFrom.get(c) ?? Number.NEGATIVE_INFINITY, t - spread);
    op.call = from + rand() * (t - from);
    const until = Math.min(nextOfClient[i]!, t + spread);
    const ret = t + rand() * (until - t) * 0.999;
    freeFrom.set(c, ret);
    op.return = op.output === undefined ? PENDING : ret;
  });
  return { ops, events };
}

function apply(input: EtcdInput, key: string, store: Map<string, Kv>, rev: bigint): EtcdOutput {
  const kv = store.get(key);
  const next = rev + 1n;
  switch (input.op) {
    case "get":
      return { op: "get", value: kv?.value ?? null, modRevision: kv?.mod ?? 0n, revision: rev };
    case "put":
      store.set(key, { value: input.value, mod: next });
      return { op: "put", revision: next };
    case "delete":
      if (!kv) return { op: "delete", deleted: 0, revision: rev };
      store.delete(key);
      return { op: "delete", deleted: 1, revision: next };
    case "cas": {
      const c = input.compare;
      const holds =
        c.target === "value" ? kv !== undefined && kv.value === c.value : (kv?.mod ?? 0n) === c.modRevision;
      if (holds) {
        store.set(key, { value: input.value, mod: next });
        return { op: "cas", succeeded: true, revision: next };
      }
      const out: EtcdOutput = { op: "cas", succeeded: false, revision: rev };
      if (input.elseGet) Object.assign(out, { value: kv?.value ?? null, modRevision: kv?.mod ?? 0n });
      return out;
    }
    case "txn":
      throw new Error("generateHistory does not make txns");
    default: {
      const never: never = input;
      throw new Error(`unknown op ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Changes one completed operation's output so that it no longer matches the run (it may still happen to be
 * linearizable). Returns undefined if no operation can be changed.
 */
export function corruptOne(
  ops: readonly EtcdOperation[],
  rand: () => number,
): { ops: EtcdOperation[]; changed: EtcdOperation } | undefined {
  const candidates = ops.filter((o) => o.output !== undefined);
  if (candidates.length === 0) return undefined;
  const victim = candidates[Math.floor(rand() * candidates.length)]!;
  const out = victim.output!;
  let changed: EtcdOutput;
  switch (out.op) {
    case "get":
      changed =
        rand() < 0.5
          ? {
              ...out,
              value: out.value === null ? "never-written" : null,
              modRevision: out.value === null ? 1n : 0n,
            }
          : { ...out, modRevision: out.modRevision + 1n };
      break;
    case "put":
      changed = {
        ...out,
        revision: out.revision > 2n && rand() < 0.5 ? out.revision - 1n : out.revision + 100n,
      };
      break;
    case "delete":
      changed = { ...out, deleted: 1 - out.deleted };
      break;
    case "cas":
      changed = { op: "cas", succeeded: !out.succeeded, revision: out.revision };
      break;
    case "txn":
      changed = { ...out, succeeded: !out.succeeded };
      break;
    default: {
      const never: never = out;
      throw new Error(`unknown output ${JSON.stringify(never)}`);
    }
  }
  const copy = { ...victim, output: changed };
  return { ops: ops.map((o) => (o === victim ? copy : o)), changed: copy };
}
