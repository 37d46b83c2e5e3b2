// Owns the lock check: two holders of a distributed lock never both held it at once, as proven by guarded
// writes (txn If(own lock key unchanged) Then write) that succeeded — in real time and in revision order.
import { PENDING } from "./model.js";

/** A write guarded by the lock (e.g. `If(createRevision(lockKey) = lockRevision) Then put(data)`). */
export interface GuardedWrite {
  call: number;
  /** PENDING when the outcome is unknown: such a write proves nothing and is ignored. */
  return: number;
  succeeded: boolean;
  /** The response header revision of a successful guarded write. */
  revision?: bigint;
}

/** One acquisition of the lock by one holder (a re-acquisition is a new tenure with a new lock key). */
export interface LockTenure {
  holder: string | number;
  /** The create revision of this holder's lock key: its place in the lock's queue. */
  lockRevision: bigint;
  /** When the acquire call returned. */
  acquiredAt: number;
  /** When the release was called (PENDING if never: the holder crashed, or its lease expired). */
  releasedAt: number;
  guarded: GuardedWrite[];
}

export interface LockCheckResult {
  ok: boolean;
  violations: string[];
}

/**
 * A holder owns the lock from (at latest) its acquire's return until its key is deleted; a successful guarded
 * write proves the key still existed. So it certainly owned the lock over [acquiredAt, the call of its last
 * successful guarded write], and two such intervals must not overlap. (Its interval up to the release call
 * is not enough: a holder whose lease expired still thinks it holds the lock, while another rightly does.)
 * Also: guarded writes succeed in lock-queue order, so a holder with a lower lock revision has all its
 * successful guarded writes at lower revisions than those of any later holder.
 */
export function checkLocks(tenures: readonly LockTenure[]): LockCheckResult {
  const violations: string[] = [];
  const name = (t: LockTenure): string => `holder ${t.holder} (lock revision ${t.lockRevision})`;
  const successes = (t: LockTenure): GuardedWrite[] =>
    t.guarded.filter((g) => g.succeeded && g.return !== PENDING && g.call >= t.acquiredAt);

  const seen = new Map<bigint, LockTenure>();
  for (const t of tenures) {
    const other = seen.get(t.lockRevision);
    if (other) violations.push(`${name(other)} and ${name(t)} share a lock revision`);
    seen.set(t.lockRevision, t);
  }

  // Real time: the certainly-owned intervals, swept in order of start.
  const owned = tenures
    .map((t) => {
      const s = successes(t);
      return s.length === 0 ? undefined : { t, start: t.acquiredAt, end: Math.max(...s.map((g) => g.call)) };
    })
    .filter((x) => x !== undefined)
    .sort((a, b) => a.start - b.start);
  let widest: (typeof owned)[number] | undefined;
  for (const o of owned) {
    if (widest && o.start < widest.end) {
      violations.push(
        `${name(widest.t)} owned the lock over [${widest.start}, ${widest.end}] and ${name(o.t)} over ` +
          `[${o.start}, ${o.end}]: both guarded writes succeeded`,
      );
    }
    if (!widest || o.end > widest.end) widest = o;
  }

  // Revision order: in lock-queue order, the successful guarded writes' revisions do not interleave.
  const byQueue = [...tenures].sort((a, b) =>
    a.lockRevision < b.lockRevision ? -1 : a.lockRevision > b.lockRevision ? 1 : 0,
  );
  let before: { t: LockTenure; max: bigint } | undefined;
  for (const t of byQueue) {
    const revs = successes(t)
      .map((g) => g.revision)
      .filter((r) => r !== undefined);
    if (revs.length === 0) continue;
    const min = revs.reduce((a, b) => (a < b ? a : b));
    const max = revs.reduce((a, b) => (a > b ? a : b));
    if (before && min <= before.max) {
      violations.push(
        `${name(t)} wrote under the lock at revision ${min}, but ${name(before.t)}, earlier in the queue, ` +
          `still wrote under it at revision ${before.max}`,
      );
    }
    if (!before || max > before.max) before = { t, max };
  }
  return { ok: violations.length === 0, violations };
}
