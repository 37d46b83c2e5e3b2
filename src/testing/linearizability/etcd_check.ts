// Owns the one-call check of an etcd history that tests use: the per-key model, the cross-key revision order,
// optionally the whole-store model, and on failure a history file for the post-mortem.
import { type CheckResult, checkOperations, type Verdict } from "./checker.js";
import { type EtcdKeyModelOptions, etcdKeyModel } from "./etcd_key_model.js";
import { type EtcdStoreModelOptions, etcdStoreModel } from "./etcd_store_model.js";
import { type EtcdInput, type EtcdOperation, type EtcdOutput, formatNanos } from "./etcd_types.js";
import type { HistoryRecorder } from "./recorder.js";
import { checkRevisionOrder, type RevisionOrderResult } from "./revision_order.js";

export interface EtcdCheckOptions {
  /** Budget of each model's search; default 30 s. */
  timeoutMs?: number;
  keyModel?: EtcdKeyModelOptions;
  /** Also check against the whole-store model (exact revisions, multi-key txns): small, complete histories. */
  store?: boolean | EtcdStoreModelOptions;
  /** Time format of explanations; default: the recorder's nanoseconds as milliseconds. */
  formatTime?: (t: number) => string;
}

export interface EtcdCheckResult {
  result: Verdict;
  perKey: CheckResult<EtcdInput, EtcdOutput>;
  store?: CheckResult<EtcdInput, EtcdOutput>;
  revisionOrder: RevisionOrderResult;
  /** Everything that failed, as text. */
  explanation?: string;
}

export const DEFAULT_CHECK_TIMEOUT_MS = 30_000;

export function checkEtcdHistory(
  history: readonly EtcdOperation[],
  options: EtcdCheckOptions = {},
): EtcdCheckResult {
  const opts = {
    timeoutMs: options.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS,
    formatTime: options.formatTime ?? formatNanos,
  };
  const hasTxn = history.some((o) => o.input.op === "txn");
  const explanations: string[] = [];
  const verdicts: Verdict[] = [];

  // A multi-key txn breaks per-key partitioning: then only the whole-store model can say anything.
  const perKey: CheckResult<EtcdInput, EtcdOutput> = hasTxn
    ? { result: "ok", partitions: [], elapsedMs: 0 }
    : checkOperations(etcdKeyModel(options.keyModel), history, opts);
  verdicts.push(perKey.result);
  if (perKey.explanation) explanations.push(`per-key model: ${perKey.explanation}`);

  const revisionOrder = checkRevisionOrder(history);
  if (!revisionOrder.ok) {
    verdicts.push("illegal");
    explanations.push(`revision order:\n  ${revisionOrder.violations.join("\n  ")}`);
  }

  const out: EtcdCheckResult = { result: "ok", perKey, revisionOrder };
  if (options.store || hasTxn) {
    const storeOpts = typeof options.store === "object" ? options.store : {};
    out.store = checkOperations(etcdStoreModel(storeOpts), history, opts);
    verdicts.push(out.store.result);
    if (out.store.explanation) explanations.push(`whole-store model: ${out.store.explanation}`);
  }
  out.result = verdicts.includes("illegal") ? "illegal" : verdicts.includes("unknown") ? "unknown" : "ok";
  if (out.result === "unknown") explanations.push("the search ran out of time (verdict unknown)");
  if (explanations.length > 0) out.explanation = explanations.join("\n");
  return out;
}

export class NotLinearizableError extends Error {
  override name = "NotLinearizableError";
  constructor(
    message: string,
    readonly result: EtcdCheckResult,
    /** The history file written for the post-mortem. */
    readonly historyPath: string,
  ) {
    super(message);
  }
}

/**
 * Checks the recorded history; unless "ok" (or "unknown" with `allowUnknown`), writes it to a temp dir,
 * prints the path, and throws a `NotLinearizableError` that explains why. Returns the result otherwise.
 */
export function assertEtcdHistory(
  recorder: HistoryRecorder<EtcdInput, EtcdOutput>,
  options: EtcdCheckOptions & { allowUnknown?: boolean } = {},
): EtcdCheckResult {
  const result = checkEtcdHistory(recorder.operations(), options);
  if (result.result === "ok" || (result.result === "unknown" && options.allowUnknown)) return result;
  const path = recorder.writeFile(undefined, { result: result.result, explanation: result.explanation });
  console.error(`linearizability: ${recorder.name} is ${result.result}; history written to ${path}`);
  throw new NotLinearizableError(
    `${recorder.name}: history is ${result.result} (history: ${path})\n${result.explanation ?? ""}`,
    result,
    path,
  );
}
