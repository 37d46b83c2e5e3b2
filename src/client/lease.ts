// Owns the Lease API of the client (`client.lease`): grant, revoke, timeToLive, leases, keepAlive(Once).
import {
  type LeaseGrantResponse,
  type LeaseKeepAliveResponse,
  type LeaseLeasesResponse,
  type LeaseRevokeResponse,
  LeaseService,
  type LeaseTimeToLiveResponse,
} from "../proto/index.js";
import type { Caller, CallOptions } from "./call.js";
import {
  ClientClosedError,
  DeadlineExceededError,
  LeaseNotFoundError,
  Status,
  toEtcdError,
} from "./errors.js";
import { type KeepAliveStream, LeaseKeepAlive } from "./keepalive.js";
import type { LeaseId } from "./ops.js";

export interface GrantOptions extends CallOptions {
  /** Ask for this ID (fails with LeaseExistsError if taken); default: the server picks one. */
  id?: LeaseId;
}

export interface TimeToLiveOptions extends CallOptions {
  /** List the keys attached to the lease. */
  keys?: boolean;
}

export interface KeepAliveOptions {
  /** Aborting stops keeping alive, as `close()`. */
  signal?: AbortSignal;
}

/** Leases (`client.lease`). IDs are `bigint`; TTLs are seconds. */
export class Lease {
  /** @internal */
  constructor(
    private readonly caller: Caller,
    private readonly keepAlives: KeepAliveStream,
  ) {}

  /** Grants a lease of `ttl` seconds (etcd raises a TTL below its minimum; the response has the effective one). */
  grant(ttl: number | bigint, options: GrantOptions = {}): Promise<LeaseGrantResponse> {
    const req = { TTL: BigInt(ttl), ID: options.id ?? 0n };
    return this.caller.unary(LeaseService.leaseGrant, "repeatable", req, options);
  }

  /** Revokes a lease, deleting every key attached to it. */
  revoke(id: LeaseId, options: CallOptions = {}): Promise<LeaseRevokeResponse> {
    return this.caller.unary(LeaseService.leaseRevoke, "repeatable", { ID: id }, options);
  }

  /** Remaining TTL (`-1` if the lease does not exist), granted TTL, and optionally the attached keys. */
  timeToLive(id: LeaseId, options: TimeToLiveOptions = {}): Promise<LeaseTimeToLiveResponse> {
    const req = { ID: id, keys: options.keys ?? false };
    return this.caller.unary(LeaseService.leaseTimeToLive, "repeatable", req, options);
  }

  /** IDs of every lease. */
  leases(options: CallOptions = {}): Promise<LeaseLeasesResponse> {
    return this.caller.unary(LeaseService.leaseLeases, "repeatable", {}, options);
  }

  /**
   * Keeps `id` alive until the handle is closed or the lease is lost; see `LeaseKeepAlive`. Throws
   * `ClientClosedError` after `close()`.
   */
  keepAlive(id: LeaseId, options: KeepAliveOptions = {}): LeaseKeepAlive {
    if (this.caller.closed) throw new ClientClosedError();
    const h = new LeaseKeepAlive(id, this.keepAlives);
    if (options.signal?.aborted) {
      h.end(undefined);
      return h;
    }
    options.signal?.addEventListener("abort", () => h.close(), { once: true });
    this.keepAlives.add(h);
    return h;
  }

  /** Renews `id` once, on a stream of its own; `LeaseNotFoundError` if the lease does not exist. */
  async keepAliveOnce(id: LeaseId, options: CallOptions = {}): Promise<LeaseKeepAliveResponse> {
    const { call } = await this.caller.openStream(LeaseService.leaseKeepAlive, options);
    const timeout = options.timeoutMs;
    try {
      const res = await new Promise<LeaseKeepAliveResponse>((resolve, reject) => {
        let timedOut = false;
        const t =
          timeout === undefined
            ? undefined
            : setTimeout(() => {
                timedOut = true;
                call.cancel();
              }, timeout);
        const onAbort = (): void => call.cancel();
        options.signal?.addEventListener("abort", onAbort, { once: true });
        const settle = (): void => {
          clearTimeout(t);
          options.signal?.removeEventListener("abort", onAbort);
        };
        call.once("data", (r: LeaseKeepAliveResponse) => {
          settle();
          resolve(r);
        });
        call.once("error", (e) => {
          settle();
          if (options.signal?.aborted) reject(options.signal.reason);
          else if (timedOut)
            reject(new DeadlineExceededError(Status.DEADLINE_EXCEEDED, "context deadline exceeded"));
          else reject(toEtcdError(e));
        });
        call.write({ ID: id });
      });
      if (res.TTL <= 0n)
        throw new LeaseNotFoundError(Status.NOT_FOUND, "etcdserver: requested lease not found");
      return res;
    } finally {
      call.on("error", () => {}); // the cancel below reports CANCELLED; nobody needs it
      call.cancel();
    }
  }
}
