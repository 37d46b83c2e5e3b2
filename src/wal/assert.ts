// Owns the WAL's invariant check: a violated invariant (a caller's or our own bug) throws with context.

export class WalAssertionError extends Error {
  override name = "WalAssertionError";
}

export function assert(cond: unknown, message: string | (() => string)): asserts cond {
  if (!cond) throw new WalAssertionError(typeof message === "string" ? message : message());
}
