// Owns the operations an etcd history is made of (inputs, outputs) as the models and the recorder see them,
// and how they print. Keys and values are strings here (UTF-8 text in tests), so histories are plain JSON.
import type { Operation } from "./model.js";

export type CompareOp = "=" | "!=" | ">" | "<";

/** The condition of a compare-and-swap on its own key: value equality, or mod revision equality (0 = absent). */
export type CasCompare = { target: "value"; value: string } | { target: "mod"; modRevision: bigint };

/** One compare of a general transaction (whole-store model only). Absent keys have mod/create/version 0. */
export type TxnCompare =
  | { key: string; target: "value"; op?: CompareOp; value: string }
  | { key: string; target: "mod" | "create" | "version"; op?: CompareOp; number: bigint };

export type TxnOp =
  | { op: "put"; key: string; value: string }
  | { op: "get"; key: string }
  | { op: "delete"; key: string };

export type TxnOpResult =
  | { op: "put" }
  | { op: "get"; value: string | null; modRevision: bigint }
  | { op: "delete"; deleted: number };

export type EtcdInput =
  | { op: "put"; key: string; value: string }
  /** `serializable` reads may be stale by design: the models ignore them. */
  | { op: "get"; key: string; serializable?: boolean }
  | { op: "delete"; key: string }
  /** `txn If(compare) Then put(key, value) Else get(key)` (the Else read only with `elseGet`). */
  | { op: "cas"; key: string; compare: CasCompare; value: string; elseGet?: boolean }
  /** A general multi-key transaction: only the whole-store model checks these. */
  | { op: "txn"; compares: TxnCompare[]; success: TxnOp[]; failure: TxnOp[] };

/** Outputs; `revision` is always the response header's revision. */
export type EtcdOutput =
  | { op: "put"; revision: bigint }
  /** `value` null and `modRevision` 0 when the key is absent. */
  | { op: "get"; value: string | null; modRevision: bigint; revision: bigint }
  | { op: "delete"; deleted: number; revision: bigint }
  /** `value`/`modRevision`: what the Else read returned (absent without `elseGet`). */
  | { op: "cas"; succeeded: boolean; revision: bigint; value?: string | null; modRevision?: bigint }
  | { op: "txn"; succeeded: boolean; revision: bigint; results: TxnOpResult[] };

export type EtcdOperation = Operation<EtcdInput, EtcdOutput>;

/**
 * The value a lost-response write is given before the search when no other operation mentions its value
 * (see `hideUnobservedValues`): such values cannot be told apart.
 */
export const UNOBSERVED = "\u0000<unobserved>";

/** The single key an operation touches; undefined for a general transaction. */
export function keyOf(input: EtcdInput): string | undefined {
  return input.op === "txn" ? undefined : input.key;
}

/** Whether an etcd compare of `actual` against `expected` holds. */
export function compareHolds<T extends bigint | string>(actual: T, op: CompareOp, expected: T): boolean {
  switch (op) {
    case "=":
      return actual === expected;
    case "!=":
      return actual !== expected;
    case ">":
      return actual > expected;
    case "<":
      return actual < expected;
    default: {
      const never: never = op;
      throw new Error(`unknown compare ${String(never)}`);
    }
  }
}

const q = (s: string | null | undefined): string =>
  s === null || s === undefined ? "∅" : s === UNOBSERVED ? "<unobserved value>" : JSON.stringify(s);

function describeCompare(c: CasCompare | TxnCompare): string {
  const key = "key" in c ? `${q(c.key)}.` : "";
  const op = "op" in c && c.op ? c.op : "=";
  if (c.target === "value") return `${key}value ${op} ${q(c.value)}`;
  return `${key}${c.target} ${op} ${"number" in c ? c.number : c.modRevision}`;
}

function describeTxnOp(o: TxnOp): string {
  return o.op === "put" ? `put(${q(o.key)}, ${q(o.value)})` : `${o.op}(${q(o.key)})`;
}

function describeTxnResult(r: TxnOpResult): string {
  if (r.op === "get") return `${q(r.value)} mod ${r.modRevision}`;
  if (r.op === "delete") return `deleted ${r.deleted}`;
  return "ok";
}

/** One line, e.g. `put("k", "v") -> rev 5`; a pending output prints as `?`. */
export function describeEtcdOperation(input: EtcdInput, output: EtcdOutput | undefined): string {
  let call: string;
  switch (input.op) {
    case "put":
      call = `put(${q(input.key)}, ${q(input.value)})`;
      break;
    case "get":
      call = `get(${q(input.key)}${input.serializable ? ", serializable" : ""})`;
      break;
    case "delete":
      call = `delete(${q(input.key)})`;
      break;
    case "cas":
      call = `cas(${q(input.key)}: if ${describeCompare(input.compare)} then put ${q(input.value)})`;
      break;
    case "txn":
      call = `txn(if ${input.compares.map(describeCompare).join(" && ")} then ${input.success
        .map(describeTxnOp)
        .join(", ")} else ${input.failure.map(describeTxnOp).join(", ")})`;
      break;
    default: {
      const never: never = input;
      throw new Error(`unknown op ${JSON.stringify(never)}`);
    }
  }
  if (output === undefined) return `${call} -> ?`;
  switch (output.op) {
    case "put":
      return `${call} -> rev ${output.revision}`;
    case "get":
      return `${call} -> ${q(output.value)} mod ${output.modRevision} @rev ${output.revision}`;
    case "delete":
      return `${call} -> deleted ${output.deleted} @rev ${output.revision}`;
    case "cas": {
      const read =
        output.value !== undefined ? `, else read ${q(output.value)} mod ${output.modRevision}` : "";
      return `${call} -> ${output.succeeded ? "succeeded" : "failed"}${read} @rev ${output.revision}`;
    }
    case "txn":
      return `${call} -> ${output.succeeded ? "succeeded" : "failed"} [${output.results
        .map(describeTxnResult)
        .join(", ")}] @rev ${output.revision}`;
    default: {
      const never: never = output;
      throw new Error(`unknown output ${JSON.stringify(never)}`);
    }
  }
}

/** Nanoseconds (the recorder's clock) as milliseconds with microsecond precision. */
export function formatNanos(t: number): string {
  return `${(t / 1e6).toFixed(3)}ms`;
}
