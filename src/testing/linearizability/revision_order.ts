// Owns the cross-key revision check that per-key partitioning cannot see: header revisions never go back in
// real time, a write after another operation gets a higher revision, and no two writes share one.
import { describeEtcdOperation, type EtcdOperation, type EtcdOutput } from "./etcd_types.js";
import { PENDING } from "./model.js";

/** At most this many violations are described. */
const MAX_REPORTED = 10;

export interface RevisionOrderResult {
  ok: boolean;
  violations: string[];
}

/** True when the operation certainly created a new revision. */
function createdRevision(out: EtcdOutput): boolean {
  switch (out.op) {
    case "put":
      return true;
    case "delete":
      return out.deleted > 0;
    case "cas":
      return out.succeeded;
    case "get":
    case "txn": // a txn changes the store only if its branch wrote something: not known from here
      return false;
    default: {
      const never: never = out;
      throw new Error(`unknown output ${JSON.stringify(never)}`);
    }
  }
}

/**
 * For completed operations A and B with A returned before B was called: B's header revision ≥ A's, and > if
 * B wrote; two writes never share a revision. Serializable reads (stale by design) are skipped. O(n log n).
 */
export function checkRevisionOrder(history: readonly EtcdOperation[]): RevisionOrderResult {
  const done = history.filter(
    (o): o is EtcdOperation & { output: EtcdOutput } =>
      o.return !== PENDING &&
      o.output !== undefined &&
      !(o.input.op === "get" && o.input.serializable === true),
  );
  const violations: string[] = [];
  const describe = (o: EtcdOperation): string =>
    `#${o.id} client ${o.clientId} ${describeEtcdOperation(o.input, o.output)}`;

  const writers = new Map<bigint, EtcdOperation>();
  for (const o of done) {
    if (!createdRevision(o.output)) continue;
    const other = writers.get(o.output.revision);
    if (other)
      violations.push(`two writes at revision ${o.output.revision}: ${describe(other)} and ${describe(o)}`);
    else writers.set(o.output.revision, o);
  }

  const byCall = [...done].sort((a, b) => a.call - b.call);
  const byReturn = [...done].sort((a, b) => a.return - b.return);
  let j = 0;
  let latest: (EtcdOperation & { output: EtcdOutput }) | undefined;
  for (const b of byCall) {
    while (j < byReturn.length && byReturn[j]!.return < b.call) {
      const a = byReturn[j++]!;
      if (!latest || a.output.revision > latest.output.revision) latest = a;
    }
    if (!latest) continue;
    const strict = createdRevision(b.output);
    const bad = strict
      ? b.output.revision <= latest.output.revision
      : b.output.revision < latest.output.revision;
    if (bad)
      violations.push(`revision went back: ${describe(latest)} returned before ${describe(b)} was called`);
  }
  const ok = violations.length === 0;
  if (violations.length > MAX_REPORTED) {
    const more = violations.length - MAX_REPORTED;
    violations.length = MAX_REPORTED;
    violations.push(`... and ${more} more`);
  }
  return { ok, violations };
}
