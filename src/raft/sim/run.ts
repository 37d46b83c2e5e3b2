// Owns running one seed to a plain, serializable result (for the CLI, its workers and the tests).
import { performance } from "node:perf_hooks";
import { runSeed, type SimOptions } from "./sim.js";
import type { Stats } from "./world.js";

export interface SeedResult {
  seed: number;
  ok: boolean;
  ms: number;
  stats?: Stats;
  /** Error class: InvariantViolation, LivenessFailure, AssertionError (raft's own), or another crash. */
  kind?: string;
  error?: string;
}

/**
 * Runs with Error.stackTraceLimit = 0: raft throws (and catches) Compacted/UnavailableError on hot
 * paths, and capturing their stacks costs more than the rest of the run. A failure that needs a stack
 * (not an invariant or liveness report) is run again with stacks: the seed replays exactly.
 */
export function runOne(seed: number, opts: SimOptions = {}, stacks = false): SeedResult {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = stacks ? Math.max(limit, 10) : 0;
  const t0 = performance.now();
  try {
    const stats = runSeed(seed, opts);
    return { seed, ok: true, ms: performance.now() - t0, stats };
  } catch (err) {
    const ms = performance.now() - t0;
    const e = err instanceof Error ? err : new Error(String(err));
    const plain = e.name === "InvariantViolation" || e.name === "LivenessFailure";
    if (!plain && !stacks) return { ...runOne(seed, { ...opts, trace: undefined }, true), ms };
    return { seed, ok: false, ms, kind: e.name, error: plain ? e.message : `${e.message}\n${stackOf(e)}` };
  } finally {
    Error.stackTraceLimit = limit;
  }
}

function stackOf(e: Error): string {
  const inner = e.cause instanceof Error ? e.cause : e;
  return (inner.stack ?? "").split("\n").slice(1, 8).join("\n");
}

export function replayHint(seed: number): string {
  return `SIM_SEED=${seed} npm run sim`;
}
