// Owns password hashing: bcrypt as etcd does it (Go's x/crypto/bcrypt), computed in libuv's thread pool so the
// event loop never runs a hash (one costs ~50 ms at cost 10).
import { hash, verify } from "@node-rs/bcrypt";

/** etcd's default --bcrypt-cost (bcrypt.DefaultCost) and the range it accepts. */
export const DEFAULT_BCRYPT_COST = 10;
export const MIN_BCRYPT_COST = 4;
export const MAX_BCRYPT_COST = 31;

/**
 * A bcrypt hash of `password`. Labelled `$2a$` like Go's bcrypt: for passwords bcrypt accepts, 2a and 2b hash
 * identically, and both Go and this library verify either label.
 */
export async function hashPassword(password: string, cost: number): Promise<string> {
  const h = await hash(Buffer.from(password, "utf8"), cost);
  return h.startsWith("$2b$") ? `$2a$${h.slice(4)}` : h;
}

/** Whether `password` matches the bcrypt `hashed` (false for a malformed hash, as Go's CompareHashAndPassword). */
export async function checkPassword(password: string, hashed: Uint8Array): Promise<boolean> {
  if (hashed.length === 0) return false;
  try {
    return await verify(Buffer.from(password, "utf8"), Buffer.from(hashed));
  } catch {
    return false;
  }
}
