// Owns the structural types of the key-value services (KV, Watch, Lease) that views of a client implement: a
// Client, a namespace view and an ordering view all offer `kv`, `watch` and `lease` of these shapes.
import type { KV } from "./kv.js";
import type { Lease } from "./lease.js";
import type { Watch } from "./watch.js";

/** The methods of `client.kv`; a namespace's or an ordering view's `kv` has the same. */
export type KVApi = Pick<KV, "get" | "put" | "delete" | "compact" | "txn" | "do">;
/** The methods of `client.watch`. */
export type WatchApi = Pick<Watch, "watch" | "requestProgress">;
/** The methods of `client.lease`. */
export type LeaseApi = Pick<
  Lease,
  "grant" | "revoke" | "timeToLive" | "leases" | "keepAlive" | "keepAliveOnce"
>;

/**
 * Anything with `kv`, `watch` and `lease`: a `Client` or a `Namespace`. Sessions, mutexes, elections, STM,
 * recipes, naming and the config cache take one, so they work inside a namespace too.
 */
export interface KVClient {
  readonly kv: KVApi;
  readonly watch: WatchApi;
  readonly lease: LeaseApi;
}
