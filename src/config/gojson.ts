// Owns how a YAML value decodes into a Go field the way etcd's sigs.k8s.io/yaml → encoding/json path does.
import type { FileType } from "./flags.js";
import { parseGoInt, parseGoUint } from "./goparse.js";

/** A decoded value: string, boolean, bigint (integers and nanosecond durations) or string[]. */
export type Decoded = string | boolean | bigint | string[];

/** Go's json error kind for a value: "string", "number", "bool", "array", "object". */
export function jsonKind(v: unknown): string {
  if (typeof v === "string") return "string";
  if (typeof v === "number" || typeof v === "bigint") return "number";
  if (typeof v === "boolean") return "bool";
  if (Array.isArray(v)) return "array";
  return "object";
}

const INT64_MIN = -(1n << 63n);
const UINT64_MAX = (1n << 64n) - 1n;

/** The JSON literal etcd's YAML→JSON conversion writes for a YAML number (ints exact, others as float64). */
export function jsonNumberLiteral(v: number | bigint): string {
  if (typeof v === "bigint" && v >= INT64_MIN && v <= UINT64_MAX) return v.toString();
  // Go's encoding/json float format matches JavaScript's for finite float64 values.
  return String(Number(v));
}

const INT_BITS: Partial<Record<FileType, { signed: boolean; bits: number }>> = {
  uint: { signed: false, bits: 64 },
  uint64: { signed: false, bits: 64 },
  uint32: { signed: false, bits: 32 },
  int: { signed: true, bits: 64 },
  int64: { signed: true, bits: 64 },
  "time.Duration": { signed: true, bits: 64 },
};

/**
 * Decodes `v` into Go type `t`; returns the value, or the error's "cannot unmarshal <what>" part
 * (`{ what: "number 1.5" }`, `{ what: "string" }`, …). `null` never reaches here: Go leaves the field unchanged.
 */
export function decodeAs(v: unknown, t: FileType): Decoded | { what: string; type?: string } {
  const ints = INT_BITS[t];
  if (ints) {
    if (typeof v !== "number" && typeof v !== "bigint") return { what: jsonKind(v) };
    const lit = jsonNumberLiteral(v);
    const r = ints.signed ? parseGoInt(lit, ints.bits) : parseGoUint(lit, ints.bits);
    // Fractions and exponents ("1.5", "1e+21") do not parse as Go integers.
    if (!r.ok || !/^-?(0|[1-9][0-9]*)$/.test(lit)) return { what: `number ${lit}` };
    return r.value;
  }
  switch (t) {
    case "string":
      return typeof v === "string" ? v : { what: jsonKind(v) };
    case "bool":
      return typeof v === "boolean" ? v : { what: jsonKind(v) };
    case "[]string": {
      if (!Array.isArray(v)) return { what: jsonKind(v) };
      const out: string[] = [];
      for (const e of v) {
        if (e === null || e === undefined) out.push("");
        else if (typeof e === "string") out.push(e);
        else return { what: jsonKind(e), type: "string" };
      }
      return out;
    }
    default:
      throw new Error(`unhandled Go type ${t}`);
  }
}
