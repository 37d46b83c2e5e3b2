// Owns the choice of token provider from --auth-token ("simple" or "jwt,pub-key=…,priv-key=…,sign-method=…,ttl=…")
// as etcd's NewTokenProvider parses it.
import { DEFAULT_JWT_TTL_MS, JwtConfigError, JwtTokenProvider, readKeyFile } from "./token_jwt.js";
import { SimpleTokenProvider } from "./token_simple.js";

export type TokenProvider =
  | { readonly type: "simple"; readonly simple: SimpleTokenProvider }
  | { readonly type: "jwt"; readonly jwt: JwtTokenProvider };

/** etcd's ErrInvalidAuthOpts. */
export const INVALID_AUTH_OPTS = "auth: invalid auth options";

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Go's time.ParseDuration, in milliseconds. */
export function parseDurationMs(s: string): number {
  const re = /([0-9]*\.?[0-9]+)(ns|us|µs|μs|ms|s|m|h)/y;
  let rest = s;
  let sign = 1;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    sign = rest.startsWith("-") ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === "0") return 0;
  if (rest === "") throw new JwtConfigError(`time: invalid duration "${s}"`);
  let ms = 0;
  re.lastIndex = 0;
  while (re.lastIndex < rest.length) {
    const m = re.exec(rest);
    if (!m) throw new JwtConfigError(`time: invalid duration "${s}"`);
    ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  }
  return sign * ms;
}

/** The provider --auth-token asks for; throws etcd's errors for malformed options. */
export function newTokenProvider(
  authToken: string,
  simpleTtlMs: number,
  now: () => number = Date.now,
): TokenProvider {
  const parts = authToken.split(",");
  const type = parts[0]!;
  const opts = new Map<string, string>();
  for (const p of parts.slice(1)) {
    const kv = p.split("=");
    if (kv.length !== 2 || opts.has(kv[0]!)) throw new JwtConfigError(INVALID_AUTH_OPTS);
    opts.set(kv[0]!, kv[1]!);
  }
  switch (type) {
    case "simple":
      return { type: "simple", simple: new SimpleTokenProvider(simpleTtlMs, now) };
    case "jwt": {
      let ttlMs = DEFAULT_JWT_TTL_MS;
      let publicKey: Buffer | undefined;
      let privateKey: Buffer | undefined;
      try {
        const ttl = opts.get("ttl") ?? "";
        if (ttl !== "") ttlMs = parseDurationMs(ttl);
        if (opts.get("pub-key")) publicKey = readKeyFile(opts.get("pub-key")!);
        if (opts.get("priv-key")) privateKey = readKeyFile(opts.get("priv-key")!);
      } catch {
        throw new JwtConfigError(INVALID_AUTH_OPTS);
      }
      const jwt = new JwtTokenProvider(
        { signMethod: opts.get("sign-method") ?? "", publicKey, privateKey, ttlMs },
        now,
      );
      return { type: "jwt", jwt };
    }
    default:
      throw new JwtConfigError(INVALID_AUTH_OPTS);
  }
}
