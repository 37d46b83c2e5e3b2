// Owns the final checks of a fault run, on what the run observed (pure: no cluster, no clients): the history is
// linearizable (per key + revision order; whole store, with lost responses settled by a whole-store watch),
// every watcher saw exactly the committed history, no acknowledged write was lost, the replicas agree, no two
// lock holders overlapped and no locked increment was lost, live leases kept their keys and killed ones expired.
import {
  checkEtcdHistory,
  checkLocks,
  checkOperations,
  checkWatches,
  type EtcdCheckResult,
  type EtcdOperation,
  type EtcdOutput,
  etcdStoreModel,
  eventsFromHistory,
  formatNanos,
  type LockTenure,
  PENDING,
  resolvePendingWrites,
  type WatchEvent,
  type WatchRecord,
} from "../linearizability/index.js";
import type { LeaseHolderState } from "./leases.js";

/** Budget of each model's search. */
export const CHECK_TIMEOUT_MS = 60_000;
/**
 * A lease may be reported gone no sooner than TTL minus this after the client saw a renewal answered: the slack
 * covers the renewal's round trip (the server renewed it before the answer arrived).
 */
export const LEASE_EXPIRY_MARGIN_S = 2;

export interface FinalRead {
  value: string | null;
  modRevision: bigint;
  /** The lease the key is attached to (lease keys only). */
  lease?: bigint;
}

/** One member's copy of the workload's keys at the final revision (or why it could not be read). */
export interface ReplicaState {
  member: string;
  kvs?: string;
  error?: string;
}

export interface RunEvidence {
  /** The recorded history (failed-but-not-applied operations left out), final reads and sentinel included. */
  operations: EtcdOperation[];
  kvPrefix: string;
  /** The revision of the sentinel write: the end of the checked history. */
  untilRevision: bigint;
  prefixWatchers: WatchRecord[];
  storeWatchers: WatchRecord[];
  /** The final linearizable read of every KV key the workload used. */
  finalReads: Map<string, FinalRead | { error: string }>;
  replicas: ReplicaState[];
  tenures: LockTenure[];
  counter: { acknowledged: number; unknown: number; final: number | { error: string } };
  leaseHolders: LeaseHolderState[];
  /** The final read of every lease holder's key (after waiting for killed holders' keys to expire). */
  leaseKeys: Map<string, FinalRead | { error: string }>;
}

export interface CheckReport {
  problems: string[];
  /** One line per check, for the test's output. */
  summary: string[];
  linearizability: EtcdCheckResult;
  /** The history the whole-store model checked (lost responses settled, revisions renumbered). */
  storeHistory?: EtcdOperation[];
}

const cmp = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The store's revisions as a store holding only the KV keys would have numbered them. Lease, lock and counter
 * writes (outside the KV prefix, known from a whole-store watch) take revisions too; the whole-store model needs
 * every write, so instead the history's revisions are renumbered: header revision R becomes 1 + the number of KV
 * revisions ≤ R, and a KV mod revision its rank. Exact, given the watch: KV state at R is the state after the
 * last KV revision ≤ R.
 */
export function kvRenumbering(
  storeEvents: readonly WatchEvent[],
  kvPrefix: string,
): { header(r: bigint): bigint; mod(r: bigint): bigint } {
  const revs = [
    ...new Set(storeEvents.filter((e) => e.key.startsWith(kvPrefix)).map((e) => e.revision)),
  ].sort(cmp);
  const rank = new Map(revs.map((r, i) => [r, BigInt(i + 2)]));
  return {
    header(r) {
      let lo = 0;
      let hi = revs.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (revs[mid]! <= r) lo = mid + 1;
        else hi = mid;
      }
      return 1n + BigInt(lo);
    },
    // A mod revision no KV event has cannot be matched by anything (-1 never equals a real one).
    mod: (r) => (r === 0n ? 0n : (rank.get(r) ?? -1n)),
  };
}

/** The history with every revision renumbered by `kvRenumbering`. */
export function renumberHistory(
  ops: readonly EtcdOperation[],
  m: ReturnType<typeof kvRenumbering>,
): EtcdOperation[] {
  return ops.map((o) => {
    let input = o.input;
    if (input.op === "cas" && input.compare.target === "mod")
      input = { ...input, compare: { target: "mod", modRevision: m.mod(input.compare.modRevision) } };
    if (input.op === "txn")
      input = {
        ...input,
        compares: input.compares.map((c) =>
          c.target === "mod" || c.target === "create" ? { ...c, number: m.mod(c.number) } : c,
        ),
      };
    const out = o.output;
    let output: EtcdOutput | undefined = out;
    if (out) {
      switch (out.op) {
        case "put":
        case "delete":
          output = { ...out, revision: m.header(out.revision) };
          break;
        case "get":
          output = { ...out, revision: m.header(out.revision), modRevision: m.mod(out.modRevision) };
          break;
        case "cas":
          output = { ...out, revision: m.header(out.revision) };
          if (out.modRevision !== undefined) output.modRevision = m.mod(out.modRevision);
          break;
        case "txn":
          output = {
            ...out,
            revision: m.header(out.revision),
            results: out.results.map((r) =>
              r.op === "get" ? { ...r, modRevision: m.mod(r.modRevision) } : r,
            ),
          };
          break;
        default: {
          const never: never = out;
          throw new Error(`unknown output ${JSON.stringify(never)}`);
        }
      }
    }
    return { ...o, input, output };
  });
}

/** The last acknowledged write of each key (a put, or a delete that deleted it). */
function lastAcknowledgedWrites(ops: readonly EtcdOperation[]): Map<string, WatchEvent> {
  const last = new Map<string, WatchEvent>();
  for (const e of eventsFromHistory(ops)) last.set(e.key, e);
  return last;
}

const show = (r: FinalRead): string =>
  r.value === null ? "absent" : `${JSON.stringify(r.value)} mod ${r.modRevision}`;
const isError = <T>(r: T | { error: string } | undefined): r is { error: string } =>
  typeof r === "object" && r !== null && "error" in r;

export function checkRun(e: RunEvidence): CheckReport {
  const problems: string[] = [];
  const summary: string[] = [];
  const ops = e.operations;
  const pending = ops.filter((o) => o.return === PENDING).length;

  // 1. Linearizable, per key and in revision order, on the raw history.
  const lin = checkEtcdHistory(ops, { timeoutMs: CHECK_TIMEOUT_MS });
  summary.push(
    `linearizable (per key + revision order): ${lin.result} — ${ops.length} operations, ${pending} pending, ` +
      `${lin.perKey.partitions.length} keys, ${lin.perKey.elapsedMs.toFixed(0)} ms`,
  );
  if (lin.result !== "ok") problems.push(`history is ${lin.result}:\n${lin.explanation ?? ""}`);

  // 2. Every watcher saw exactly the committed events of its range.
  const watchers = [...e.prefixWatchers, ...e.storeWatchers];
  const watches = checkWatches(eventsFromHistory(ops), watchers, { untilRevision: e.untilRevision });
  summary.push(
    `watchers: ${watches.ok ? "ok" : "FAILED"} — ${watchers.map((w) => `${w.id} ${w.events.length} events`).join(", ")}`,
  );
  problems.push(...watches.problems.map((p) => `watch: ${p}`));

  // 3. The whole store, with lost responses settled by a whole-store watch (trusted only if the watches agree).
  let storeHistory: EtcdOperation[] | undefined;
  const evidence = e.storeWatchers[0];
  if (!evidence) summary.push("whole-store model: skipped (no whole-store watcher)");
  else if (!watches.ok) summary.push("whole-store model: skipped (the watches, its evidence, failed)");
  else {
    // Every revision is one change, so the whole-store watch has an event at each (renumbering would hide a gap).
    const seen = new Set(evidence.events.map((x) => x.revision));
    const gaps: bigint[] = [];
    for (let r = evidence.startRevision; r <= e.untilRevision; r++) if (!seen.has(r)) gaps.push(r);
    if (gaps.length > 0)
      problems.push(
        `revisions without any event in the whole-store watch (etcd's revisions are dense): ${gaps.slice(0, 10).join(", ")}` +
          `${gaps.length > 10 ? ` and ${gaps.length - 10} more` : ""}`,
      );
    const kvEvents = evidence.events.filter((x) => x.key.startsWith(e.kvPrefix));
    const resolved = resolvePendingWrites(ops, kvEvents, { complete: true });
    storeHistory = renumberHistory(resolved, kvRenumbering(evidence.events, e.kvPrefix));
    const store = checkOperations(etcdStoreModel({ initialRevision: 1n }), storeHistory, {
      timeoutMs: CHECK_TIMEOUT_MS,
      formatTime: formatNanos,
    });
    const left = resolved.filter((o) => o.return === PENDING).length;
    summary.push(
      `whole-store model: ${store.result} — ${resolved.length} operations (${pending - left} lost responses settled ` +
        `by the watch, ${left} still pending), ${store.elapsedMs.toFixed(0)} ms`,
    );
    if (store.result !== "ok")
      problems.push(
        `whole-store model (revisions renumbered to KV-only revisions, see kvRenumbering): ${store.result}\n` +
          `${store.explanation ?? ""}`,
      );
  }

  // 4. No acknowledged write lost: the final read of every key is its last committed event, which is at or
  // after its last acknowledged write.
  const lastEvent = new Map<string, WatchEvent>();
  for (const x of evidence?.events ?? []) if (x.key.startsWith(e.kvPrefix)) lastEvent.set(x.key, x);
  const acked = lastAcknowledgedWrites(ops);
  let lost = 0;
  for (const [key, read] of e.finalReads) {
    if (isError(read)) {
      problems.push(`final read of ${key} failed: ${read.error}`);
      continue;
    }
    const ack = acked.get(key);
    const last = lastEvent.get(key);
    // A key read absent may have been deleted at or after its last acknowledged write.
    const deletedSince =
      read.value === null &&
      (ack?.type === "delete" || (last?.type === "delete" && last.revision >= (ack?.revision ?? 0n)));
    if (ack !== undefined && read.modRevision < ack.revision && !deletedSince) {
      lost++;
      problems.push(
        `acknowledged write lost: ${key} was written at revision ${ack.revision}, the final read says ${show(read)}`,
      );
    }
    if (evidence) {
      const expected: FinalRead =
        last?.type === "put"
          ? { value: last.value ?? "", modRevision: last.revision }
          : { value: null, modRevision: 0n };
      if (expected.value !== read.value || expected.modRevision !== read.modRevision)
        problems.push(
          `final read of ${key} says ${show(read)}, but the last event the watch saw was ${show(expected)}`,
        );
    }
  }
  summary.push(`final reads: ${e.finalReads.size} keys, ${lost} acknowledged writes lost`);

  // 5. Every member holds the same keys at the final revision.
  const base = e.replicas.find((r) => r.kvs !== undefined);
  const diverged = e.replicas.filter((r) => r.kvs === undefined || r.kvs !== base?.kvs);
  summary.push(
    `replicas at revision ${e.untilRevision}: ${diverged.length === 0 ? "identical" : "DIFFER"} (${e.replicas.length} members)`,
  );
  for (const r of diverged)
    problems.push(
      r.error !== undefined
        ? `member ${r.member} could not be read at revision ${e.untilRevision}: ${r.error}`
        : `member ${r.member} differs from ${base?.member} at revision ${e.untilRevision}:\n  ${r.kvs}\n  vs\n  ${base?.kvs}`,
    );

  // 6. Locks: no two holders at once, and no locked increment lost or doubled.
  const locks = checkLocks(e.tenures);
  const { acknowledged, unknown, final } = e.counter;
  summary.push(
    `locks: ${locks.ok ? "ok" : "FAILED"} — ${e.tenures.length} tenures, counter ${
      typeof final === "number" ? final : "?"
    } for ${acknowledged} acknowledged + ${unknown} unknown increments`,
  );
  problems.push(...locks.violations.map((v) => `lock: ${v}`));
  if (isError(final)) problems.push(`final read of the lock counter failed: ${final.error}`);
  else if (final < acknowledged || final > acknowledged + unknown)
    problems.push(
      `lock counter is ${final}, but ${acknowledged} increments were acknowledged and ${unknown} more may have ` +
        "happened: an increment made under the lock was lost or doubled",
    );

  // 7. Leases: a live holder's key exists on its lease and was never deleted; a killed holder's key expired, and
  // so did that of a holder whose keepalive gave up (no renewal answered for a TTL: e.g. its stream was stuck on
  // a partitioned member). The server must not forget a lease sooner than its TTL after answering a renewal.
  const gone: string[] = [];
  for (const h of e.leaseHolders) {
    const read = e.leaseKeys.get(h.key);
    const deletes = (evidence?.events ?? []).filter((x) => x.key === h.key && x.type === "delete");
    if (h.lost?.reason === "not-found" && h.lastRenewedAt !== undefined) {
      const early = h.lastRenewedAt + (h.ttl - LEASE_EXPIRY_MARGIN_S) * 1e9 - h.lost.at;
      if (early > 0)
        problems.push(
          `lease holder ${h.id}'s lease ${h.leaseId} was gone at ${formatNanos(h.lost.at)}, ${(early / 1e6).toFixed(0)} ms ` +
            `sooner than ${h.ttl - LEASE_EXPIRY_MARGIN_S} s after the renewal answered at ${formatNanos(h.lastRenewedAt)} (TTL ${h.ttl} s)`,
        );
    }
    if (isError(read) || read === undefined) {
      problems.push(`final read of lease key ${h.key} failed: ${read?.error ?? "not read"}`);
    } else if (h.killedAt === undefined && h.lost === undefined) {
      if (read.value === null || read.lease !== h.leaseId)
        problems.push(
          `live lease holder ${h.id}'s key ${h.key} is ${show(read)} (lease ${read.lease}), not on lease ${h.leaseId}`,
        );
      if (evidence && deletes.length > 0)
        problems.push(
          `live lease holder ${h.id}'s key ${h.key} was deleted at revision ${deletes[0]!.revision}`,
        );
    } else {
      const why = h.killedAt !== undefined ? "killed" : `whose keepalive gave up (${h.lost!.reason})`;
      gone.push(`${h.id} ${h.killedAt !== undefined ? "killed" : `lost (${h.lost!.reason})`}`);
      if (read.value !== null)
        problems.push(`lease holder ${h.id} ${why}: its key ${h.key} never expired (${show(read)})`);
      else if (evidence && deletes.length === 0)
        problems.push(`lease holder ${h.id} ${why}: its key ${h.key} is gone but the watch saw no delete`);
    }
  }
  summary.push(
    `leases: ${e.leaseHolders.length - gone.length} live kept; expired: ${gone.length > 0 ? gone.join(", ") : "none"}`,
  );

  const out: CheckReport = { problems, summary, linearizability: lin };
  if (storeHistory) out.storeHistory = storeHistory;
  return out;
}
