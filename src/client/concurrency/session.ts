// Owns the concurrency Session: one lease kept alive in the background, which every lock key and election
// candidacy made through it is attached to, so a crashed client's keys vanish after the TTL.
import type { LeaseLostError } from "../errors.js";
import type { LeaseKeepAlive } from "../keepalive.js";
import type { LeaseId } from "../ops.js";
import type { KVClient } from "../services.js";

/** clientv3/concurrency's default session TTL, in seconds. */
export const DEFAULT_SESSION_TTL = 60;

export interface SessionOptions {
  /** Lease TTL in seconds when a lease is granted (default 60). */
  ttl?: number;
  /** Adopt this existing lease instead of granting one. */
  lease?: LeaseId;
}

/**
 * A lease kept alive until `close()` (revokes it) or `orphan()` (lets it expire). `done` resolves when
 * keeping alive stops: with the `LeaseLostError` if the lease was lost, `undefined` if closed/orphaned.
 *
 * ```ts
 * const s = await Session.create(client, { ttl: 10 });
 * try { ... } finally { await s.close(); }
 * ```
 */
export class Session {
  private constructor(
    readonly client: KVClient,
    /** The session's lease. */
    readonly lease: LeaseId,
    readonly ttl: number,
    private readonly keepAlive: LeaseKeepAlive,
  ) {}

  /** Resolves when the session ends: the `LeaseLostError` if the lease was lost, else `undefined`. */
  get done(): Promise<LeaseLostError | undefined> {
    return this.keepAlive.done;
  }

  /** Grants a lease (or adopts `options.lease`) and starts keeping it alive. */
  static async create(client: KVClient, options: SessionOptions = {}): Promise<Session> {
    const ttl = options.ttl ?? DEFAULT_SESSION_TTL;
    if (!(ttl > 0)) throw new RangeError(`concurrency: session ttl must be positive, got ${ttl}`);
    const lease = options.lease ?? (await client.lease.grant(ttl)).ID;
    return new Session(client, lease, ttl, client.lease.keepAlive(lease));
  }

  /** Stops keeping the lease alive without revoking it: its keys vanish after the TTL. */
  orphan(): void {
    this.keepAlive.close();
  }

  /** Stops keeping the lease alive and revokes it (deleting its keys); an already-gone lease is fine. */
  async close(): Promise<void> {
    this.orphan();
    // clientv3 bounds the revoke by the TTL: past it, the lease has expired anyway.
    await this.client.lease.revoke(this.lease, { timeoutMs: this.ttl * 1000 }).catch(() => {});
  }
}
