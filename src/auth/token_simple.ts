// Owns etcd's "simple" tokens: `<16 random letters>.<raft index>`, minted when an Authenticate entry applies (so
// every member knows every token), valid for a sliding TTL and lost on restart. Not signed.
import { randomInt } from "node:crypto";

/** etcd's defaultSimpleTokenLength. */
export const SIMPLE_TOKEN_PREFIX_LENGTH = 16;
/** etcd's default --auth-token-ttl: 300 s. */
export const DEFAULT_SIMPLE_TOKEN_TTL_MS = 300_000;
/** Upper bound on live simple tokens; past it the oldest is dropped (each Authenticate adds one). */
export const MAX_SIMPLE_TOKENS = 1_000_000;

const LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/** The raft index a simple token names, or undefined if `token` does not have a simple token's shape. */
export function simpleTokenIndex(token: string): bigint | undefined {
  const parts = token.split(".");
  if (parts.length !== 2) return undefined;
  // Go's strconv.Atoi: an optional sign and decimal digits.
  if (!/^[+-]?[0-9]+$/.test(parts[1]!)) return undefined;
  const n = BigInt(parts[1]!);
  return n < 0n ? BigInt.asUintN(64, n) : n;
}

interface Entry {
  username: string;
  expiresAt: number;
}

export class SimpleTokenProvider {
  /** Token → user; Map iteration order is insertion order, so the first entries are the oldest. */
  private readonly tokens = new Map<string, Entry>();
  private enabled = false;
  private lastSweep = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  enable(): void {
    this.enabled = true;
  }

  /** Disabling auth forgets every token. */
  disable(): void {
    this.enabled = false;
    this.tokens.clear();
  }

  /** 16 random letters not yet used as a prefix (etcd's genTokenPrefix). */
  genTokenPrefix(): string {
    for (;;) {
      let s = "";
      for (let i = 0; i < SIMPLE_TOKEN_PREFIX_LENGTH; i++) s += LETTERS[randomInt(LETTERS.length)];
      if (!this.tokens.has(s)) return s;
    }
  }

  /** Registers the token an Authenticate entry at `index` issues (on every member, at apply). */
  assign(prefix: string, index: bigint, username: string): string {
    const token = `${prefix}.${index}`;
    if (!this.enabled) return token;
    this.sweep();
    if (this.tokens.size >= MAX_SIMPLE_TOKENS) {
      const oldest = this.tokens.keys().next().value;
      if (oldest !== undefined) this.tokens.delete(oldest);
    }
    this.tokens.set(token, { username, expiresAt: this.now() + this.ttlMs });
    return token;
  }

  /** The token's user, renewing its TTL (etcd resets the keeper on every use); undefined if unknown or expired. */
  info(token: string): string | undefined {
    const e = this.tokens.get(token);
    if (!e) return undefined;
    const now = this.now();
    if (e.expiresAt <= now) {
      this.tokens.delete(token);
      return undefined;
    }
    e.expiresAt = now + this.ttlMs;
    return e.username;
  }

  /** Drops every token of `username` (user deleted or password changed). */
  invalidateUser(username: string): void {
    for (const [t, e] of this.tokens) if (e.username === username) this.tokens.delete(t);
  }

  get size(): number {
    return this.tokens.size;
  }

  /** Drops expired tokens, at most once a second (expiry is otherwise checked lazily on use). */
  private sweep(): void {
    const now = this.now();
    if (now - this.lastSweep < 1000) return;
    this.lastSweep = now;
    for (const [t, e] of this.tokens) if (e.expiresAt <= now) this.tokens.delete(t);
  }
}
