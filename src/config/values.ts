// Owns the value of every flag while configuration is assembled: defaults, Go flag.Value Set semantics, sources.
import { FLAGS, type FlagSpec, lookupFlag } from "./flags.js";
import {
  GoDurationError,
  goQuote,
  parseGoBool,
  parseGoDuration,
  parseGoInt,
  parseGoUint,
} from "./goparse.js";
import { type EtcdURL, GoURLError, newURLs } from "./gourl.js";

/**
 * A flag's value: string (string, select), boolean (bool), bigint (integers; durations in nanoseconds),
 * EtcdURL[] (urls), string[] (cors, strings, uniqueStrings). Ignored flags hold "".
 */
export type FlagValue = string | boolean | bigint | readonly EtcdURL[] | readonly string[];

/** Where a flag's value came from. */
export type FlagSource = "default" | "flag" | "env" | "file";

/** Parses `text` the way the Go flag.Value etcd registers for `spec` would; returns the value or Go's error text. */
function parseValue(
  spec: FlagSpec,
  text: string,
  prev: FlagValue | undefined,
): FlagValue | { error: string } {
  switch (spec.kind) {
    case "string":
      return text;
    case "bool": {
      const b = parseGoBool(text);
      return b === undefined ? { error: "parse error" } : b;
    }
    case "uint":
    case "uint64":
    case "int":
    case "int64": {
      const r = spec.kind.startsWith("u") ? parseGoUint(text, 64) : parseGoInt(text, 64);
      if (r.ok) return r.value;
      return { error: r.err === "syntax" ? "parse error" : "value out of range" };
    }
    case "uint32": {
      const r = parseGoUint(text, 32);
      if (r.ok) return r.value;
      const why = r.err === "syntax" ? "invalid syntax" : "value out of range";
      return { error: `strconv.ParseUint: parsing ${goQuote(text)}: ${why}` };
    }
    case "duration":
      try {
        return parseGoDuration(text);
      } catch (e) {
        if (e instanceof GoDurationError) return { error: "parse error" };
        throw e;
      }
    case "urls":
      // etcd's UniqueURLs treats "" as an allowed non-URL that leaves the URL list as it was.
      if (text === "") return prev ?? [];
      return urlsOrError(text);
    case "cors": {
      if (text === "*") return [...new Set([...((prev as readonly string[] | undefined) ?? []), "*"])].sort();
      const urls = urlsOrError(text);
      return Array.isArray(urls) ? [...new Set(urls.map((u) => u.goString))].sort() : urls;
    }
    case "strings":
      return text === "" ? [] : text.split(",");
    case "uniqueStrings":
      return [...new Set(text.split(","))].sort();
    case "select":
      return spec.choices?.includes(text) ? text : { error: "invalid value" };
    case "ignored":
      return "";
  }
}

function urlsOrError(text: string): readonly EtcdURL[] | { error: string } {
  try {
    return newURLs(text.split(","));
  } catch (e) {
    if (e instanceof GoURLError) return { error: e.message };
    throw e;
  }
}

export class FlagValues {
  private readonly values = new Map<string, FlagValue>();
  private readonly sources = new Map<string, FlagSource>();
  /** Messages to log at warning level, in the order etcd would log them. */
  readonly warnings: string[] = [];

  constructor() {
    for (const spec of FLAGS) {
      const isList = ["urls", "cors", "strings", "uniqueStrings"].includes(spec.kind);
      const v = isList && spec.def === "" ? [] : parseValue(spec, spec.def, undefined);
      if (typeof v === "object" && "error" in v)
        throw new Error(`bad default for --${spec.name}: ${v.error}`);
      this.values.set(spec.name, v);
      this.sources.set(spec.name, "default");
    }
  }

  /** Sets a flag from text like Go's flag.Value.Set; returns Go's error text on failure. */
  set(name: string, text: string, source: FlagSource): string | undefined {
    const spec = lookupFlag(name);
    if (!spec) throw new Error(`unknown flag ${name}`);
    const v = parseValue(spec, text, this.values.get(name));
    if (typeof v === "object" && "error" in v) return v.error;
    if (spec.kind === "ignored") this.warnings.push(`flag "-${name}" is no longer supported - ignoring.`);
    this.values.set(name, v);
    this.sources.set(name, source);
    return undefined;
  }

  /** Sets an already-typed value (from the config file). */
  setTyped(name: string, value: FlagValue, source: FlagSource): void {
    if (!lookupFlag(name)) throw new Error(`unknown flag ${name}`);
    this.values.set(name, value);
    this.sources.set(name, source);
  }

  get(name: string): FlagValue {
    const v = this.values.get(name);
    if (v === undefined) throw new Error(`unknown flag ${name}`);
    return v;
  }

  str = (name: string): string => this.get(name) as string;
  bool = (name: string): boolean => this.get(name) as boolean;
  big = (name: string): bigint => this.get(name) as bigint;
  urls = (name: string): readonly EtcdURL[] => this.get(name) as readonly EtcdURL[];
  list = (name: string): readonly string[] => this.get(name) as readonly string[];

  source = (name: string): FlagSource => this.sources.get(name) ?? "default";
  isSet = (name: string): boolean => this.source(name) !== "default";

  /** Every flag's value, keyed by flag name. */
  snapshot(): ReadonlyMap<string, FlagValue> {
    return new Map(this.values);
  }
}
