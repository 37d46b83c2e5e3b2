// Owns the invariant check used by the storage layers (backend, mvcc): a violated invariant is a bug, so it throws.

export class AssertionError extends Error {
  override name = "AssertionError";
}

export function assert(cond: unknown, message: string | (() => string)): asserts cond {
  if (!cond) throw new AssertionError(typeof message === "string" ? message : message());
}
