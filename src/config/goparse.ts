// Owns Go's scalar syntaxes as etcd's flag package sees them: strconv ints and bools, time.ParseDuration, %q.

/** Go's strconv.Quote, enough for error messages: printable text as is, the rest escaped. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\r") out += "\\r";
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

/** Go's `%q` of a []string: `["a" "b"]`. */
export const goQuoteList = (ss: readonly string[]): string => `[${ss.map(goQuote).join(" ")}]`;

export type IntResult = { ok: true; value: bigint } | { ok: false; err: "syntax" | "range" };

const lower = (c: string): string => c.toLowerCase();

/** Go's underscoreOK: underscores only between digits, or between a base prefix and a digit. */
function underscoreOK(s0: string): boolean {
  let s = s0;
  let saw = "^";
  let i = 0;
  if (s.length >= 1 && (s[0] === "-" || s[0] === "+")) s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === "0" && "box".includes(lower(s[1]!))) {
    i = 2;
    saw = "0";
    hex = lower(s[1]!) === "x";
  }
  for (; i < s.length; i++) {
    const c = s[i]!;
    if ((c >= "0" && c <= "9") || (hex && lower(c) >= "a" && lower(c) <= "f")) {
      saw = "0";
      continue;
    }
    if (c === "_") {
      if (saw !== "0") return false;
      saw = "_";
      continue;
    }
    if (saw === "_") return false;
    saw = "!";
  }
  return saw !== "_";
}

/** strconv.ParseUint(s, 0, bits). */
export function parseGoUint(s0: string, bits: number): IntResult {
  if (s0 === "") return { ok: false, err: "syntax" };
  let s = s0;
  let base = 10;
  if (s[0] === "0") {
    const p = s.length >= 3 ? lower(s[1]!) : "";
    if (p === "b" || p === "o" || p === "x") {
      base = p === "b" ? 2 : p === "o" ? 8 : 16;
      s = s.slice(2);
    } else {
      base = 8;
      s = s.slice(1);
    }
  }
  const max = (1n << BigInt(bits)) - 1n;
  let n = 0n;
  let underscores = false;
  for (const c of s) {
    let d: number;
    if (c === "_") {
      underscores = true;
      continue;
    } else if (c >= "0" && c <= "9") d = c.charCodeAt(0) - 48;
    else if (lower(c) >= "a" && lower(c) <= "z") d = lower(c).charCodeAt(0) - 97 + 10;
    else return { ok: false, err: "syntax" };
    if (d >= base) return { ok: false, err: "syntax" };
    n = n * BigInt(base) + BigInt(d);
    if (n > max) return { ok: false, err: "range" };
  }
  if (underscores && !underscoreOK(s0)) return { ok: false, err: "syntax" };
  return { ok: true, value: n };
}

/** strconv.ParseInt(s, 0, bits). */
export function parseGoInt(s0: string, bits: number): IntResult {
  if (s0 === "") return { ok: false, err: "syntax" };
  let s = s0;
  const neg = s[0] === "-";
  if (s[0] === "+" || s[0] === "-") s = s.slice(1);
  const u = parseGoUint(s, 64);
  if (!u.ok && u.err === "syntax") return u;
  const cutoff = 1n << BigInt(bits - 1);
  if (!u.ok || (!neg && u.value >= cutoff) || (neg && u.value > cutoff)) return { ok: false, err: "range" };
  return { ok: true, value: neg ? -u.value : u.value };
}

/** strconv.ParseBool. */
export function parseGoBool(s: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(s)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(s)) return false;
  return undefined;
}

const UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  μs: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const MAX_DURATION = (1n << 63n) - 1n;

export class GoDurationError extends Error {}

/** time.ParseDuration, in nanoseconds; throws GoDurationError with Go's exact message. */
export function parseGoDuration(orig: string): bigint {
  const invalid = () => new GoDurationError(`time: invalid duration ${goQuote(orig)}`);
  let s = orig;
  let neg = false;
  if (s !== "" && (s[0] === "-" || s[0] === "+")) {
    neg = s[0] === "-";
    s = s.slice(1);
  }
  if (s === "0") return 0n;
  if (s === "") throw invalid();
  let d = 0n;
  while (s !== "") {
    if (!(s[0] === "." || (s[0]! >= "0" && s[0]! <= "9"))) throw invalid();
    const intPart = /^[0-9]*/.exec(s)![0];
    s = s.slice(intPart.length);
    let frac = "";
    if (s[0] === ".") {
      frac = /^[0-9]*/.exec(s.slice(1))![0];
      s = s.slice(1 + frac.length);
      if (intPart === "" && frac === "") throw invalid();
    } else if (intPart === "") throw invalid();
    const unitLen = s.search(/[.0-9]/);
    const u = unitLen < 0 ? s : s.slice(0, unitLen);
    if (u === "") throw new GoDurationError(`time: missing unit in duration ${goQuote(orig)}`);
    s = s.slice(u.length);
    const unit = UNITS[u];
    if (unit === undefined)
      throw new GoDurationError(`time: unknown unit ${goQuote(u)} in duration ${goQuote(orig)}`);
    const v = BigInt(intPart || "0");
    if (v > (1n << 63n) / unit) throw invalid();
    let total = v * unit;
    // Go adds float64(f) * (float64(unit) / scale) truncated; digits past overflow are dropped like leadingFraction.
    if (frac !== "")
      total += BigInt(
        Math.trunc(Number(frac.slice(0, 18)) * (Number(unit) / 10 ** Math.min(frac.length, 18))),
      );
    d += total;
    if (d > 1n << 63n) throw invalid();
  }
  if (neg) return -d;
  if (d > MAX_DURATION) throw invalid();
  return d;
}

/** Go's time.Duration.String() for whole and fractional values, e.g. 10m0s, 1.5s, 100ms. */
export function formatGoDuration(ns: bigint): string {
  if (ns === 0n) return "0s";
  const neg = ns < 0n;
  const u = neg ? -ns : ns;
  const frac = (v: bigint, digits: number): string => {
    const p = 10n ** BigInt(digits);
    const f = (v % p).toString().padStart(digits, "0").replace(/0+$/, "");
    return `${v / p}${f ? `.${f}` : ""}`;
  };
  let out: string;
  if (u < 1_000n) out = `${u}ns`;
  else if (u < 1_000_000n) out = `${frac(u, 3)}µs`;
  else if (u < 1_000_000_000n) out = `${frac(u, 6)}ms`;
  else {
    const h = u / 3_600_000_000_000n;
    const m = (u / 60_000_000_000n) % 60n;
    const s = frac(u % 60_000_000_000n, 9);
    out = h > 0n ? `${h}h${m}m${s}s` : m > 0n ? `${m}m${s}s` : `${s}s`;
  }
  return neg ? `-${out}` : out;
}
