// Owns the linearizability search (Wing & Gong with Lowe's memo, as in Porcupine): per partition, a doubly
// linked list of call/return events, depth-first linearization with backtracking, and explanations.
import { Bitset, ConfigCache, completedMask, DEFAULT_MAX_CACHE_BYTES, zobristTable } from "./cache.js";
import { assert, type Model, type Operation, type Partition, PENDING } from "./model.js";

export type Verdict = "ok" | "illegal" | "unknown";

export interface CheckOptions {
  /** Give up (verdict "unknown") after this long over all partitions; default: no limit. */
  timeoutMs?: number;
  /** Bound of each partition's memo (default 256 MiB); when exceeded it is cleared. */
  maxCacheBytes?: number;
  /** How explanations print an instant (default: the number as is). */
  formatTime?: (t: number) => string;
}

/** Why a partition is not linearizable, as far as the search got. */
export interface Explanation<I, O> {
  /** The longest sequence of operations found that linearizes legally (in linearization order). */
  prefix: Operation<I, O>[];
  /** The model state after `prefix`. */
  stateAfterPrefix: string;
  /** The operation that had to be placed next (its return precedes every remaining call) but could not be. */
  blocked: Operation<I, O>;
  /** The other operations that could have gone before it at that point, none of which made it legal. */
  candidates: Operation<I, O>[];
  text: string;
}

export interface PartitionResult<I, O> {
  label: string;
  result: Verdict;
  /** Operations searched (ignored ones and pending read-only ones are dropped first). */
  operations: number;
  pending: number;
  elapsedMs: number;
  cacheEntries: number;
  cacheResets: number;
  explanation?: Explanation<I, O>;
}

export interface CheckResult<I, O> {
  result: Verdict;
  partitions: PartitionResult<I, O>[];
  /** The explanation of the first illegal partition, as text. */
  explanation?: string;
  elapsedMs: number;
}

/** How often (in search steps) the deadline is looked at. */
const DEADLINE_CHECK_STEPS = 1024;
/** Explanations list at most this many of the last prefix operations and candidates. */
const EXPLAIN_PREFIX_OPS = 12;
const EXPLAIN_CANDIDATES = 6;

/**
 * Checks that `history` is linearizable with respect to `model`: "ok", "illegal" (with an explanation of
 * the first illegal partition), or "unknown" when `timeoutMs` ran out first.
 */
export function checkOperations<S, I, O>(
  model: Model<S, I, O>,
  history: readonly Operation<I, O>[],
  options: CheckOptions = {},
): CheckResult<I, O> {
  const started = performance.now();
  const deadline = started + (options.timeoutMs ?? Number.POSITIVE_INFINITY);
  let ops: Operation<I, O>[] = [];
  for (const op of history) {
    assert(Number.isFinite(op.call), () => `operation ${op.id}: call time must be finite, got ${op.call}`);
    assert(
      op.return >= op.call,
      () => `operation ${op.id}: returns (${op.return}) before its call (${op.call})`,
    );
    if (model.ignore?.(op.input)) continue;
    if (op.return === PENDING && model.isReadOnly?.(op.input)) continue;
    ops.push(op);
  }
  if (model.prepare) ops = model.prepare(ops);
  const partitions: Partition<I, O>[] = model.partition
    ? model.partition(ops)
    : [{ label: "all", operations: ops }];
  const results: PartitionResult<I, O>[] = [];
  let timedOut = false;
  for (const p of partitions) {
    if (timedOut) {
      results.push(emptyResult(p, "unknown"));
      continue;
    }
    const r = checkPartition(model, p, deadline, options);
    if (r.result === "unknown") timedOut = true;
    results.push(r);
  }
  const illegal = results.find((r) => r.result === "illegal");
  const result: Verdict = illegal ? "illegal" : timedOut ? "unknown" : "ok";
  const out: CheckResult<I, O> = { result, partitions: results, elapsedMs: performance.now() - started };
  if (illegal?.explanation) out.explanation = illegal.explanation.text;
  return out;
}

function emptyResult<I, O>(p: Partition<I, O>, result: Verdict): PartitionResult<I, O> {
  return {
    label: p.label,
    result,
    operations: p.operations.length,
    pending: p.operations.filter((o) => o.return === PENDING).length,
    elapsedMs: 0,
    cacheEntries: 0,
    cacheResets: 0,
  };
}

/**
 * The search over one partition. Nodes: 0 is the list head; operation i has its call at 1+2i and its return
 * at 2+2i (a pending operation has no return node: it may stay unlinearized, i.e. never take effect).
 */
function checkPartition<S, I, O>(
  model: Model<S, I, O>,
  partition: Partition<I, O>,
  deadline: number,
  options: CheckOptions,
): PartitionResult<I, O> {
  const started = performance.now();
  const ops = partition.operations;
  const n = ops.length;
  const result = emptyResult(partition, "ok");

  // Events in time order; at equal instants calls go first, so touching intervals count as concurrent.
  const events: number[] = [];
  for (let i = 0; i < n; i++) {
    events.push(1 + 2 * i);
    if (ops[i]!.return !== PENDING) events.push(2 + 2 * i);
  }
  const timeOf = (node: number): number => {
    const op = ops[(node - 1) >>> 1]!;
    return node & 1 ? op.call : op.return;
  };
  events.sort((a, b) => timeOf(a) - timeOf(b) || (b & 1) - (a & 1) || a - b);
  const next = new Int32Array(1 + 2 * n).fill(-1);
  const prev = new Int32Array(1 + 2 * n).fill(-1);
  let last = 0;
  for (const e of events) {
    next[last] = e;
    prev[e] = last;
    last = e;
  }
  const pending = ops.map((o) => o.return === PENDING);
  const before = samePendingBefore(ops);
  const unlink = (x: number): void => {
    next[prev[x]!] = next[x]!;
    if (next[x]! !== -1) prev[next[x]!] = prev[x]!;
  };
  const relink = (x: number): void => {
    next[prev[x]!] = x;
    if (next[x]! !== -1) prev[next[x]!] = x;
  };

  const bits = new Bitset(n, zobristTable(pending));
  const cache = new ConfigCache(completedMask(pending), options.maxCacheBytes ?? DEFAULT_MAX_CACHE_BYTES);
  const stackNodes: number[] = [];
  const stackStates: S[] = [];
  let state = model.init(partition.label);
  let remaining = 0;
  let pendingLeft = 0;
  for (let i = 0; i < n; i++) pending[i] ? pendingLeft++ : remaining++;
  // The deepest point a backtrack started from: the longest linearizable prefix, for the explanation.
  let deepest: { nodes: number[]; state: S; returnNode: number; candidates: number[] } | undefined;
  let steps = 0;
  let entry = next[0]!;
  // Candidates are the calls before the first return. Completed operations are tried first (phase 1), pending
  // ones only after (phase 2): a pending operation is optional, so it goes in as late as it can.
  let phase: 1 | 2 = 1;

  while (remaining > 0) {
    if (++steps % DEADLINE_CHECK_STEPS === 0 && performance.now() > deadline) {
      result.result = "unknown";
      break;
    }
    // A completed operation not yet linearized has its return node ahead, so the walk cannot fall off the end.
    assert(entry !== -1, () => `partition ${partition.label}: walked past the last event`);
    const i = (entry - 1) >>> 1;
    if (entry & 1) {
      if (pending[i] !== (phase === 2) || (before[i]! >= 0 && !bits.has(before[i]!))) {
        entry = next[entry]!;
        continue;
      }
      const op = ops[i]!;
      const nextState = model.step(state, op.input, op.output);
      if (nextState !== undefined) {
        bits.set(i);
        if (cache.add(bits, model.key(nextState))) {
          stackNodes.push(entry);
          stackStates.push(state);
          state = nextState;
          unlink(entry);
          if (pending[i]) pendingLeft--;
          else {
            unlink(entry + 1);
            remaining--;
          }
          entry = next[0]!;
          phase = 1;
          continue;
        }
        bits.clear(i);
      }
      entry = next[entry]!;
      continue;
    }
    // A return: its operation had to be linearized by now.
    if (phase === 1 && pendingLeft > 0) {
      phase = 2;
      entry = next[0]!;
      continue;
    }
    // Every candidate failed here: undo the last choice and try the one after it.
    if (!deepest || stackNodes.length > deepest.nodes.length) {
      const candidates: number[] = [];
      for (let e = next[0]!; e !== entry; e = next[e]!) if (e & 1 && e !== entry - 1) candidates.push(e);
      deepest = { nodes: stackNodes.slice(), state, returnNode: entry, candidates };
    }
    if (stackNodes.length === 0) {
      result.result = "illegal";
      break;
    }
    entry = stackNodes.pop()!;
    state = stackStates.pop()!;
    const j = (entry - 1) >>> 1;
    bits.clear(j);
    if (pending[j]) pendingLeft++;
    else {
      relink(entry + 1);
      remaining++;
    }
    relink(entry);
    phase = pending[j] ? 2 : 1;
    entry = next[entry]!;
  }

  const stats = cache.stats();
  result.cacheEntries = stats.entries;
  result.cacheResets = stats.resets;
  result.elapsedMs = performance.now() - started;
  if (result.result === "illegal") {
    assert(deepest, "an illegal verdict comes from a backtrack");
    const opOf = (node: number): Operation<I, O> => ops[(node - 1) >>> 1]!;
    result.explanation = explain(
      model,
      partition,
      deepest.nodes.map(opOf),
      deepest.state,
      opOf(deepest.returnNode),
      deepest.candidates.map(opOf),
      options,
    );
  }
  return result;
}

/**
 * For each pending operation, the previous pending one (by call) with the same input, or -1. Pending
 * operations with equal inputs (and no output) have equal effects, so the search takes them in call order only: any
 * linearization using some of them can use the earliest-called ones instead (each was called by then).
 */
function samePendingBefore<I, O>(ops: Operation<I, O>[]): Int32Array {
  const before = new Int32Array(ops.length).fill(-1);
  const last = new Map<string, number>();
  const order = ops.map((_, i) => i).sort((a, b) => ops[a]!.call - ops[b]!.call || a - b);
  for (const i of order) {
    if (ops[i]!.return !== PENDING || ops[i]!.output !== undefined) continue;
    const k = JSON.stringify(ops[i]!.input, (_k, v: unknown) => (typeof v === "bigint" ? `\u0000${v}n` : v));
    const p = last.get(k);
    if (p !== undefined) before[i] = p;
    last.set(k, i);
  }
  return before;
}

function explain<S, I, O>(
  model: Model<S, I, O>,
  partition: Partition<I, O>,
  prefix: Operation<I, O>[],
  state: S,
  blocked: Operation<I, O>,
  candidates: Operation<I, O>[],
  options: CheckOptions,
): Explanation<I, O> {
  const fmt = options.formatTime ?? String;
  const describe = (op: Operation<I, O>): string => {
    const what = model.describeOperation
      ? model.describeOperation(op.input, op.output)
      : `${JSON.stringify(op.input, bigintReplacer)} -> ${JSON.stringify(op.output, bigintReplacer)}`;
    const until = op.return === PENDING ? "pending" : fmt(op.return);
    return `#${op.id} client ${op.clientId} [${fmt(op.call)} .. ${until}] ${what}`;
  };
  const stateText = model.describeState ? model.describeState(state) : model.key(state);
  const lines: string[] = [];
  lines.push(`partition ${JSON.stringify(partition.label)}: not linearizable`);
  lines.push(`longest linearizable prefix: ${prefix.length} of ${partition.operations.length} operations`);
  if (prefix.length > EXPLAIN_PREFIX_OPS) lines.push(`  ... ${prefix.length - EXPLAIN_PREFIX_OPS} earlier`);
  for (const op of prefix.slice(-EXPLAIN_PREFIX_OPS)) lines.push(`  ${describe(op)}`);
  lines.push(`state after it: ${stateText}`);
  lines.push(`cannot linearize next: ${describe(blocked)}`);
  if (candidates.length > 0) {
    lines.push(`  (nor any of the ${candidates.length} concurrent operations before it:`);
    for (const op of candidates.slice(0, EXPLAIN_CANDIDATES)) lines.push(`    ${describe(op)}`);
    if (candidates.length > EXPLAIN_CANDIDATES) lines.push(`    ...`);
    lines.push("  )");
  }
  return { prefix, stateAfterPrefix: stateText, blocked, candidates, text: lines.join("\n") };
}

/** JSON.stringify replacer for bigint fields (as `"123n"`, for display only). */
export function bigintReplacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? `${value}n` : value;
}
