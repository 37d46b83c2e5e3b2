// Owns ETCD_* environment variables: etcd's SetFlagsFromEnv, its conflict rule and its unknown-variable warnings.
import { fatalError, verifyError } from "./errors.js";
import { FLAGS } from "./flags.js";
import { goQuote } from "./goparse.js";
import type { FlagValues } from "./values.js";

export type Env = Readonly<Record<string, string | undefined>>;

/** `--foo-bar` ↔ `ETCD_FOO_BAR`. */
export const flagToEnv = (name: string): string => `ETCD_${name.replaceAll("-", "_").toUpperCase()}`;

/**
 * Variables etcd reads outside its flags (ETCD_UNSUPPORTED_ARCH on non-amd64, ETCD_VERIFY in 3.5+, the client's
 * ETCD_CLIENT_DEBUG). etcd 3.4.23 still logs them as unrecognized on amd64; etcd-ts runs everywhere and stays quiet.
 */
const SPECIAL_ENV = new Set(["ETCD_UNSUPPORTED_ARCH", "ETCD_VERIFY", "ETCD_CLIENT_DEBUG"]);

export interface EnvResult {
  /** Info-level lines etcd logs ("recognized and used environment variable ..."). */
  readonly info: string[];
}

/**
 * Sets every flag not given on the command line from its ETCD_* variable, like etcd's flags.SetFlagsFromEnv.
 * A variable shadowed by its command-line flag is fatal; unused ETCD_* variables are warned about
 * (into `values.warnings`); an unparsable value fails verification (the last one in flag-name order, as in Go).
 */
export function applyEnv(env: Env, values: FlagValues): EnvResult {
  const info: string[] = [];
  const used = new Set<string>();
  const alreadySet = new Set(
    FLAGS.filter((f) => values.source(f.name) === "flag").map((f) => flagToEnv(f.name)),
  );
  // etcd 3.5+ refuses ETCD_VERSION (it would mean --version); 3.4 silently accepted and ignored it.
  if (env.ETCD_VERSION) {
    values.warnings.push(`cannot set special environment variable ETCD_VERSION=${env.ETCD_VERSION}`);
    used.add("ETCD_VERSION");
  }
  let err: string | undefined;
  for (const f of [...FLAGS].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const key = flagToEnv(f.name);
    const val = env[key];
    if (alreadySet.has(key) || used.has(key) || !val) continue;
    used.add(key);
    const e = values.set(f.name, val, "env");
    if (e !== undefined) err = `invalid value ${goQuote(val)} for ${key}: ${e}`;
    else info.push(`recognized and used environment variable ${key}=${val}`);
  }
  for (const [key, val] of Object.entries(env)) {
    if (val === undefined || used.has(key)) continue;
    if (alreadySet.has(key)) {
      throw fatalError(
        `conflicting environment variable ${goQuote(key)} is shadowed by corresponding command-line flag (either unset environment variable or disable flag)`,
      );
    }
    if (key.startsWith("ETCD_") && !SPECIAL_ENV.has(key))
      values.warnings.push(`unrecognized environment variable ${key}=${val}`);
  }
  if (err !== undefined) throw verifyError(err);
  return { info };
}
