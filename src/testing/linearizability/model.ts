// Owns the vocabulary of the linearizability checker: operations of a history, the sequential model a history
// is checked against, partitions (P-compositionality) and the powerset lift of a nondeterministic model.

/** Never returned: the call timed out, the client crashed, or the outcome is otherwise unknown. */
export const PENDING = Number.POSITIVE_INFINITY;

/**
 * One client call. `call` and `return` are instants on one monotonic clock (any unit); `return` is `PENDING`
 * (Infinity) when the outcome is unknown, and then `output` is undefined: the operation may have taken effect
 * at any instant after `call`, or not at all.
 */
export interface Operation<I, O> {
  /** Stable id within the history (the recorder's sequence number); used in explanations. */
  id: number;
  clientId: number | string;
  call: number;
  return: number;
  input: I;
  output: O | undefined;
}

export function isPending<I, O>(op: Operation<I, O>): boolean {
  return op.return === PENDING;
}

/** An independently checkable part of a history: for a key-value store, the operations on one key. */
export interface Partition<I, O> {
  label: string;
  operations: Operation<I, O>[];
}

/**
 * A sequential specification. `step` must be pure: it returns the next state when `output` is a legal
 * result of `input` in `state`, and undefined otherwise; for a pending operation `output` is undefined and
 * `step` answers for "it took effect, with whatever result".
 */
export interface Model<S, I, O> {
  /** The state before any operation of the partition labelled `partition`. */
  init(partition: string): S;
  step(state: S, input: I, output: O | undefined): S | undefined;
  /** A canonical string for `state`: equal strings ⇔ equal states (the search memoises on it). */
  key(state: S): string;
  /** Splits a history into partitions that can be checked on their own; default: one partition "all". */
  partition?(ops: Operation<I, O>[]): Partition<I, O>[];
  /**
   * Sound rewrites of the history before partitioning, e.g. giving a pending write a return instant when a
   * later completed read proves it took effect by then (a narrower history is checked faster).
   */
  prepare?(ops: Operation<I, O>[]): Operation<I, O>[];
  /** True for an operation with no effect on the state: pending ones are then dropped before the search. */
  isReadOnly?(input: I): boolean;
  /** Operations the model does not check (e.g. serializable reads, which may be stale by design). */
  ignore?(input: I): boolean;
  describeOperation?(input: I, output: O | undefined): string;
  describeState?(state: S): string;
}

/**
 * A model whose `step` may lead to several states (Porcupine's NondeterministicModel): every state a
 * legal execution could be in is kept. Lift it with `powersetModel` before checking.
 */
export interface NondeterministicModel<S, I, O> extends Omit<Model<S, I, O>, "init" | "step"> {
  init(partition: string): S[];
  step(state: S, input: I, output: O | undefined): S[];
}

/** The deterministic model over sets of states: a step is legal when some state allows it. */
export function powersetModel<S, I, O>(m: NondeterministicModel<S, I, O>): Model<S[], I, O> {
  const dedupe = (states: S[]): S[] => {
    const seen = new Map<string, S>();
    for (const s of states) seen.set(m.key(s), s);
    return [...seen.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map((e) => e[1]);
  };
  const lifted: Model<S[], I, O> = {
    init: (p) => dedupe(m.init(p)),
    step(states, input, output) {
      const next: S[] = [];
      for (const s of states) next.push(...m.step(s, input, output));
      return next.length === 0 ? undefined : dedupe(next);
    },
    key: (states) => (states.length === 1 ? m.key(states[0]!) : JSON.stringify(states.map((s) => m.key(s)))),
    describeState: (states) =>
      states.map((s) => (m.describeState ? m.describeState(s) : m.key(s))).join(" or "),
  };
  if (m.prepare) lifted.prepare = m.prepare.bind(m);
  if (m.partition) lifted.partition = m.partition.bind(m);
  if (m.isReadOnly) lifted.isReadOnly = m.isReadOnly.bind(m);
  if (m.ignore) lifted.ignore = m.ignore.bind(m);
  if (m.describeOperation) lifted.describeOperation = m.describeOperation.bind(m);
  return lifted;
}

/** Groups operations by `keyOf` (P-compositionality: sound only when every operation touches one object). */
export function partitionBy<I, O>(ops: Operation<I, O>[], keyOf: (input: I) => string): Partition<I, O>[] {
  const groups = new Map<string, Operation<I, O>[]>();
  for (const op of ops) {
    const k = keyOf(op.input);
    let g = groups.get(k);
    if (!g) {
      g = [];
      groups.set(k, g);
    }
    g.push(op);
  }
  return [...groups.entries()]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([label, operations]) => ({ label, operations }));
}

export class LinearizabilityAssertionError extends Error {
  override name = "LinearizabilityAssertionError";
}

/** An invariant of the checker or a misuse of it (a malformed history): a bug, not a verdict. */
export function assert(cond: unknown, message: string | (() => string)): asserts cond {
  if (!cond) throw new LinearizabilityAssertionError(typeof message === "string" ? message : message());
}
