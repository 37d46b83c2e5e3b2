// Owns the v3lockpb.Lock gRPC service (etcd's v3lock): Lock waits for the named lock, Unlock deletes its key.
import type { LockServer } from "../../proto/index.js";
import type { RecipeBackend } from "../../server/concurrency.js";
import { lock, unlock } from "../../server/mutex.js";
import { recipeUnary } from "./recipe_call.js";

export function lockService(b: RecipeBackend): LockServer {
  return {
    lock: recipeUnary((req, signal) => lock(b, req.name, req.lease, signal)),
    unlock: recipeUnary(async (req) => ({ header: await unlock(b, req.key) })),
  };
}
