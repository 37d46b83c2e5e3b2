// Owns narrowing pending etcd writes before a search: a lost-response write of a value no other operation
// writes, once some completed read returned that value, must have taken effect before that read returned;
// one whose value appears nowhere else writes a placeholder, so such writes become interchangeable.
import { type EtcdInput, type EtcdOperation, type EtcdOutput, UNOBSERVED } from "./etcd_types.js";
import { PENDING } from "./model.js";
import type { WatchEvent } from "./watch_checker.js";

/** The value an operation writes to `key`, if it is a put or a compare-and-swap. */
function writtenValue(o: EtcdOperation): string | undefined {
  return o.input.op === "put" || o.input.op === "cas" ? o.input.value : undefined;
}

/** Values a completed operation proves were present at `key` when it took effect. */
function observedValues(o: EtcdOperation): { key: string; value: string }[] {
  const { input, output } = o;
  if (!output || o.return === PENDING) return [];
  if (input.op === "get" && output.op === "get" && output.value !== null)
    return [{ key: input.key, value: output.value }];
  if (input.op === "cas" && output.op === "cas") {
    if (output.succeeded && input.compare.target === "value")
      return [{ key: input.key, value: input.compare.value }];
    if (!output.succeeded && typeof output.value === "string")
      return [{ key: input.key, value: output.value }];
  }
  if (input.op === "txn" && output.op === "txn") {
    const branch = output.succeeded ? input.success : input.failure;
    const seen: { key: string; value: string }[] = [];
    branch.forEach((t, i) => {
      const r = output.results[i];
      // Only reads before any write of the txn to that key see the state before the txn.
      const earlierWrite = branch.slice(0, i).some((b) => b.op !== "get" && b.key === t.key);
      if (t.op === "get" && r?.op === "get" && r.value !== null && !earlierWrite)
        seen.push({ key: t.key, value: r.value });
    });
    return seen;
  }
  return [];
}

/**
 * Gives each pending put/cas whose value is written by no other operation (nor present initially) and was
 * later read by a completed operation the return instant of the earliest such read: it took effect by then.
 * Sound (it only removes executions that contradict the read) and makes lost responses cheap to check.
 */
export function narrowPendingWrites(
  ops: EtcdOperation[],
  initialValues: ReadonlySet<string>,
): EtcdOperation[] {
  const writers = new Map<string, number>();
  const count = (v: string): void => {
    writers.set(v, (writers.get(v) ?? 0) + 1);
  };
  for (const o of ops) {
    const v = writtenValue(o);
    if (v !== undefined) count(v);
    if (o.input.op === "txn")
      for (const t of [...o.input.success, ...o.input.failure]) if (t.op === "put") count(t.value);
  }
  const firstSeen = new Map<string, number>();
  for (const o of ops) {
    for (const { key, value } of observedValues(o)) {
      const id = `${key}\u0000${value}`;
      firstSeen.set(id, Math.min(firstSeen.get(id) ?? Number.POSITIVE_INFINITY, o.return));
    }
  }
  return ops.map((o) => {
    const v = writtenValue(o);
    if (o.return !== PENDING || v === undefined || o.input.op === "txn") return o;
    if (writers.get(v) !== 1 || initialValues.has(v)) return o;
    const seen = firstSeen.get(`${o.input.key}\u0000${v}`);
    if (seen === undefined || seen < o.call) return o;
    return { ...o, return: seen };
  });
}

/** Every value an operation mentions other than the one it writes: compares and outputs. */
function referencedValues(o: EtcdOperation): string[] {
  const out: string[] = [];
  const { input, output } = o;
  if (input.op === "cas" && input.compare.target === "value") out.push(input.compare.value);
  if (input.op === "txn") {
    for (const c of input.compares) if (c.target === "value") out.push(c.value);
    for (const t of [...input.success, ...input.failure]) if (t.op === "put") out.push(t.value);
  }
  if (output?.op === "get" && output.value !== null) out.push(output.value);
  if (output?.op === "cas" && typeof output.value === "string") out.push(output.value);
  if (output?.op === "txn")
    for (const r of output.results) if (r.op === "get" && r.value !== null) out.push(r.value);
  return out;
}

/**
 * Replaces the value of each pending put/cas that no other operation mentions (no read returned it, no
 * compare tests it, no other write writes it, not present initially) by `UNOBSERVED`. Nothing can tell such
 * values apart, so the verdict is unchanged; the search then treats these writes as interchangeable.
 */
export function hideUnobservedValues(
  ops: EtcdOperation[],
  initialValues: ReadonlySet<string>,
): EtcdOperation[] {
  const mentions = new Map<string, number>();
  const mention = (v: string): void => {
    mentions.set(v, (mentions.get(v) ?? 0) + 1);
  };
  for (const o of ops) {
    const v = writtenValue(o);
    if (v !== undefined) mention(v);
    referencedValues(o).forEach(mention);
  }
  return ops.map((o) => {
    const v = writtenValue(o);
    if (o.return !== PENDING || v === undefined || mentions.get(v) !== 1 || initialValues.has(v)) return o;
    const input: EtcdInput =
      o.input.op === "put" || o.input.op === "cas" ? { ...o.input, value: UNOBSERVED } : o.input;
    return { ...o, input };
  });
}

/** `narrowPendingWrites` then `hideUnobservedValues`: what the etcd models run before a search. */
export function prepareEtcdHistory(
  ops: EtcdOperation[],
  initialValues: ReadonlySet<string>,
): EtcdOperation[] {
  return hideUnobservedValues(narrowPendingWrites(ops, initialValues), initialValues);
}

export interface ResolveOptions {
  /** Values present before the history (they are not unique to a write). */
  initialValues?: ReadonlySet<string>;
  /** `events` hold every write of the run (e.g. a watch on all keys from the first revision to the end). */
  complete?: boolean;
}

/**
 * Uses the committed events (from a watch, checked on its own with `checkWatches`) to settle lost responses:
 * a pending put/cas whose unique value was committed at revision r gets that output, and must have taken
 * effect before the history ended; with `complete` events, one whose value never appears took no effect and
 * is dropped. Pending deletes stay pending. This is how etcd's robustness tests keep lost responses cheap.
 */
export function resolvePendingWrites(
  ops: readonly EtcdOperation[],
  events: readonly WatchEvent[],
  options: ResolveOptions = {},
): EtcdOperation[] {
  const initial = options.initialValues ?? new Set<string>();
  const writers = new Map<string, number>();
  for (const o of ops) {
    const v = writtenValue(o);
    if (v !== undefined) writers.set(v, (writers.get(v) ?? 0) + 1);
    if (o.input.op === "txn") {
      for (const t of [...o.input.success, ...o.input.failure]) {
        if (t.op === "put") writers.set(t.value, (writers.get(t.value) ?? 0) + 1);
      }
    }
  }
  const committed = new Map<string, bigint[]>();
  for (const e of events) {
    if (e.type !== "put" || e.value === undefined) continue;
    const id = `${e.key}\u0000${e.value}`;
    committed.set(id, [...(committed.get(id) ?? []), e.revision]);
  }
  let end = 0;
  for (const o of ops) end = Math.max(end, o.call, o.return === PENDING ? 0 : o.return);
  const out: EtcdOperation[] = [];
  for (const o of ops) {
    const v = writtenValue(o);
    const { input } = o;
    if (o.return !== PENDING || o.output !== undefined || v === undefined || input.op === "txn") {
      out.push(o);
      continue;
    }
    if (writers.get(v) !== 1 || initial.has(v)) {
      out.push(o);
      continue;
    }
    const revs = committed.get(`${input.key}\u0000${v}`) ?? [];
    if (revs.length === 1) {
      const revision = revs[0]!;
      const output: EtcdOutput =
        input.op === "put" ? { op: "put", revision } : { op: "cas", succeeded: true, revision };
      out.push({ ...o, return: Math.max(end, o.call) + 1, output });
    } else if (revs.length === 0 && options.complete) {
      // Never committed: it had no effect (a cas that failed has none either).
    } else {
      out.push(o);
    }
  }
  return out;
}
