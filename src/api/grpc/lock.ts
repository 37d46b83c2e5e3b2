// Owns the v3lockpb.Lock gRPC service (etcd's v3lock): Lock waits for the named lock, Unlock deletes its key.
import type { LockServer } from "../../proto/index.js";
import { lock, unlock } from "../../server/mutex.js";
import { type RecipeBackends, recipeUnary } from "./recipe_call.js";

export function lockService(b: RecipeBackends): LockServer {
  return {
    lock: recipeUnary((req, signal, cred) => lock(b(cred), req.name, req.lease, signal)),
    unlock: recipeUnary(async (req, _signal, cred) => ({ header: await unlock(b(cred), req.key) })),
  };
}
