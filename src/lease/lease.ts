// Owns one lease: its granted TTL, checkpointed remaining TTL, deadline on the lessor's clock and attached keys.

/** etcd's NoLease: a key with lease 0 has no lease, and 0 is never a lease ID. */
export const NO_LEASE = 0n;

/** A deadline that never comes: a lessor that is not primary does not expire leases. */
export const FOREVER = Number.POSITIVE_INFINITY;

export class Lease {
  /** Attached keys as latin1 strings (one char per byte, so string order is byte order). */
  readonly keys = new Set<string>();
  /** When the lease expires, in ms on the lessor's clock; FOREVER unless the lessor is primary. */
  expiry = FOREVER;

  constructor(
    readonly id: bigint,
    /** Granted TTL in seconds (already raised to the minimum TTL). */
    readonly ttl: number,
    /** Remaining TTL in seconds recorded by the last checkpoint; 0 = none. */
    public remainingTTL = 0,
  ) {}

  /** What a refresh counts from: the checkpointed remainder if any, else the granted TTL (etcd's RemainingTTL()). */
  get refreshTTL(): number {
    return this.remainingTTL > 0 ? this.remainingTTL : this.ttl;
  }

  refresh(now: number, extendMs: number): void {
    this.expiry = now + extendMs + this.refreshTTL * 1000;
  }

  /** Milliseconds left (negative once expired; Infinity when FOREVER). */
  remaining(now: number): number {
    return this.expiry - now;
  }

  expired(now: number): boolean {
    return this.expiry <= now;
  }

  /** The attached keys in byte order (the order etcd deletes them on revoke, so every member agrees). */
  sortedKeys(): Buffer[] {
    return [...this.keys].sort().map((k) => Buffer.from(k, "latin1"));
  }
}
