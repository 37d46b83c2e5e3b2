// Owns the lessor (etcd's lessor): leases and their keys, persisted in the "lease" bucket by the apply loop;
// deadlines, the expiry queue and the checkpoint queue, kept only while primary (the raft leader).
// Pure: time comes from the injected clock; proposing revokes and checkpoints is the server's job.

import { assert } from "../backend/assert.js";
import type { Backend } from "../backend/backend.js";
import type { Bucket } from "../backend/bucket.js";
import { decodeLease, encodeLease, LEASE_BUCKET, leaseKey } from "./codec.js";
import { LeaseError } from "./errors.js";
import { DeadlineHeap } from "./heap.js";
import { FOREVER, Lease, NO_LEASE } from "./lease.js";

/** etcd's MaxLeaseTTL in seconds; a larger grant fails with "too large lease TTL". */
export const MAX_LEASE_TTL = 9_000_000_000n;
/** Leases revoked per second at most (etcd's leaseRevokeRate); the server asks for half every 500 ms. */
export const LEASE_REVOKE_RATE = 1000;
/** Checkpoints proposed per second at most (etcd's leaseCheckpointRate). */
export const LEASE_CHECKPOINT_RATE = 1000;
/** Checkpoints per LeaseCheckpoint proposal (etcd's maxLeaseCheckpointBatchSize). */
export const MAX_LEASE_CHECKPOINT_BATCH = 1000;
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 5 * 60_000;
/** An expired lease handed out for revocation is offered again after this long if still there. */
export const DEFAULT_EXPIRED_RETRY_MS = 3000;
/** TimeToLive of a lease without a deadline: Go's MaxInt64 nanoseconds, in whole seconds. */
export const FOREVER_TTL = 9_223_372_036n;

export interface LessorOptions {
  /** Milliseconds, monotonic (e.g. performance.now); tests pass a fake clock. */
  now(): number;
  /** Seconds; smaller grants are raised to it (see minLeaseTTL()). */
  minLeaseTTL: number;
  /** --experimental-enable-lease-checkpoint: the primary schedules checkpoints of long leases. */
  checkpointing?: boolean;
  /** --experimental-enable-lease-checkpoint-persist: applied checkpoints are written to the lease bucket. */
  persistCheckpoints?: boolean;
  checkpointIntervalMs?: number;
  expiredRetryMs?: number;
  /** Revokes per second the promote re-spreading plans for (default LEASE_REVOKE_RATE). */
  revokeRate?: number;
}

/** Renew on a lessor that is not primary: the request belongs to the leader. */
export class ErrNotPrimary extends Error {
  override name = "ErrNotPrimary";
  constructor() {
    super("not a primary lessor");
  }
}

/**
 * etcd's minimum lease TTL: 1.5 election timeouts rounded up to whole seconds, so a lease cannot expire
 * during a leader election (election 1000 ms, heartbeat 100 ms -> 15 ticks * 100 ms -> 2 s: TTL 1 becomes 2).
 */
export function minLeaseTTL(electionTicks: number, heartbeatMs: number): number {
  return Math.ceil((Math.floor((3 * electionTicks) / 2) * heartbeatMs) / 1000);
}

export interface LeaseTimeToLive {
  /** Whole seconds left, truncated (etcd: int64(Remaining().Seconds())). */
  ttl: bigint;
  grantedTTL: bigint;
  keys: Buffer[];
}

export interface Checkpoint {
  ID: bigint;
  remainingTTL: bigint;
}

export class Lessor {
  private readonly leaseMap = new Map<bigint, Lease>();
  private readonly expiryQueue = new DeadlineHeap();
  private readonly checkpointQueue = new DeadlineHeap();
  private readonly bucket: Bucket;
  private readonly now: () => number;
  private readonly checkpointIntervalMs: number;
  private readonly expiredRetryMs: number;
  private readonly revokeRate: number;
  private primary = false;

  private constructor(
    readonly backend: Backend,
    readonly opts: LessorOptions,
  ) {
    assert(opts.minLeaseTTL >= 1, () => `minLeaseTTL ${opts.minLeaseTTL} < 1`);
    this.now = opts.now;
    this.checkpointIntervalMs = opts.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS;
    this.expiredRetryMs = opts.expiredRetryMs ?? DEFAULT_EXPIRED_RETRY_MS;
    this.revokeRate = opts.revokeRate ?? LEASE_REVOKE_RATE;
    assert(this.expiredRetryMs > 0 && this.checkpointIntervalMs > 0, "lessor intervals must be positive");
    this.bucket = backend.bucket(LEASE_BUCKET);
  }

  /**
   * Loads the leases of `backend` (deadlines FOREVER until promoted). Open it before the KV store, whose
   * open re-attaches every leased key through the hooks.
   */
  static open(backend: Backend, opts: LessorOptions): Lessor {
    const le = new Lessor(backend, opts);
    for (const { value } of le.bucket.scan(Buffer.alloc(1))) {
      const r = decodeLease(value);
      const ttl = r.ttl < BigInt(opts.minLeaseTTL) ? opts.minLeaseTTL : Number(r.ttl);
      le.leaseMap.set(r.id, new Lease(r.id, ttl, Number(r.remainingTTL)));
    }
    return le;
  }

  get isPrimary(): boolean {
    return this.primary;
  }

  get size(): number {
    return this.leaseMap.size;
  }

  lookup(id: bigint): Lease | undefined {
    return this.leaseMap.get(id);
  }

  /** Apply of LeaseGrant (inside the apply batch). TTLs below the minimum are raised to it. */
  grant(id: bigint, ttl: bigint): Lease {
    if (id === NO_LEASE) throw new LeaseError("LeaseNotFound");
    if (ttl > MAX_LEASE_TTL) throw new LeaseError("LeaseTTLTooLarge");
    if (this.leaseMap.has(id)) throw new LeaseError("LeaseExist");
    const l = new Lease(id, ttl < BigInt(this.opts.minLeaseTTL) ? this.opts.minLeaseTTL : Number(ttl));
    this.leaseMap.set(id, l);
    this.persist(l);
    if (this.primary) {
      l.refresh(this.now(), 0);
      this.expiryQueue.upsert(id, l.expiry);
      this.scheduleCheckpoint(l);
    }
    return l;
  }

  /**
   * Apply of LeaseRevoke (inside the apply batch): forgets the lease and returns its keys in byte order.
   * The caller deletes them in one write txn of the same batch (one revision, a DELETE event each).
   */
  revoke(id: bigint): Buffer[] {
    const l = this.leaseMap.get(id);
    if (!l) throw new LeaseError("LeaseNotFound");
    this.leaseMap.delete(id);
    this.expiryQueue.remove(id);
    this.checkpointQueue.remove(id);
    this.backend.batch(() => this.bucket.delete(leaseKey(id)));
    return l.sortedKeys();
  }

  /** Apply of one LeaseCheckpoint entry: records the remaining TTL a later promote or restart counts from. */
  checkpoint(id: bigint, remainingTTL: bigint): void {
    const l = this.leaseMap.get(id);
    if (!l) return;
    l.remainingTTL = Number(remainingTTL);
    if (this.opts.persistCheckpoints) this.persist(l);
    if (this.primary) this.scheduleCheckpoint(l);
  }

  /**
   * Renews `id` to its full granted TTL and returns it (primary only). An expired lease is as good as
   * gone: its revocation is already on its way, so renewing it reports not found.
   */
  renew(id: bigint): number {
    if (!this.primary) throw new ErrNotPrimary();
    const l = this.leaseMap.get(id);
    const now = this.now();
    if (!l || l.expired(now)) throw new LeaseError("LeaseNotFound");
    l.expiry = now + l.ttl * 1000;
    this.expiryQueue.upsert(id, l.expiry);
    return l.ttl;
  }

  /** Whether a renew of `id` must first propose a checkpoint clearing its remaining TTL (etcd does so). */
  needsCheckpointClear(id: bigint): boolean {
    return this.opts.checkpointing === true && (this.leaseMap.get(id)?.remainingTTL ?? 0) > 0;
  }

  timeToLive(id: bigint, withKeys: boolean): LeaseTimeToLive | undefined {
    const l = this.leaseMap.get(id);
    if (!l) return undefined;
    const left = l.remaining(this.now());
    return {
      ttl: left === FOREVER ? FOREVER_TTL : BigInt(Math.trunc(left / 1000)),
      grantedTTL: BigInt(l.ttl),
      keys: withKeys ? l.sortedKeys() : [],
    };
  }

  /** Every lease, soonest deadline first (etcd's order for LeaseLeases). */
  leases(): Lease[] {
    return [...this.leaseMap.values()].sort((a, b) => a.expiry - b.expiry || (a.id < b.id ? -1 : 1));
  }

  // ---- mvcc LeaseHooks ------------------------------------------------------------------------------

  /** A key was put with this lease (or found with it on open). Unknown leases are ignored, as etcd logs and goes on. */
  attach(id: bigint, key: Uint8Array): void {
    this.leaseMap
      .get(id)
      ?.keys.add(Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString("latin1"));
  }

  detach(id: bigint, key: Uint8Array): void {
    this.leaseMap
      .get(id)
      ?.keys.delete(Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString("latin1"));
  }

  // ---- leadership ----------------------------------------------------------------------------------

  /**
   * This member became leader and applied everything of earlier terms: every deadline restarts from now +
   * remaining-or-granted TTL + `extendMs` (the election timeout), and pile-ups are spread out so that at
   * most 3/4 of the revoke rate expires in any second.
   */
  promote(extendMs: number): void {
    this.primary = true;
    const now = this.now();
    for (const l of this.leaseMap.values()) {
      l.refresh(now, extendMs);
      this.expiryQueue.upsert(l.id, l.expiry);
      this.scheduleCheckpoint(l);
    }
    if (this.leaseMap.size < this.revokeRate) return;
    const leases = this.leases();
    const target = Math.floor((3 * this.revokeRate) / 4);
    let baseWindow = leases[0]!.remaining(now);
    let nextWindow = baseWindow + 1000;
    let expires = 0;
    for (const l of leases) {
      const remaining = l.remaining(now);
      if (remaining > nextWindow) {
        baseWindow = remaining;
        nextWindow = baseWindow + 1000;
        expires = 1;
        continue;
      }
      expires++;
      if (expires <= target) continue;
      // Leases already n ms past the base window need n ms less delay.
      const delay = 1000 * (expires / target) - (remaining - baseWindow);
      nextWindow = baseWindow + delay;
      l.refresh(now, delay + extendMs);
      this.expiryQueue.upsert(l.id, l.expiry);
      this.scheduleCheckpoint(l);
    }
  }

  /** No longer leader: deadlines become FOREVER and the queues empty. */
  demote(): void {
    this.primary = false;
    for (const l of this.leaseMap.values()) l.expiry = FOREVER;
    this.expiryQueue.clear();
    this.checkpointQueue.clear();
  }

  // ---- primary duties ---------------------------------------------------------------------------------

  /**
   * Up to `limit` expired leases for the server to revoke through raft. Each is offered again after the
   * retry interval if its revocation has not been applied by then (the proposal may have been lost).
   */
  expired(limit: number): bigint[] {
    const out: bigint[] = [];
    if (!this.primary) return out;
    const now = this.now();
    while (out.length < limit) {
      const top = this.expiryQueue.peek();
      if (!top || top.time > now) break;
      const l = this.leaseMap.get(top.id);
      assert(l, () => `expiry queue holds unknown lease ${top.id}`);
      if (l.expired(now)) {
        out.push(l.id);
        this.expiryQueue.upsert(l.id, now + this.expiredRetryMs);
      } else this.expiryQueue.upsert(l.id, l.expiry);
    }
    return out;
  }

  /** Up to `limit` checkpoints that are due: leases whose remaining TTL dropped below their granted TTL. */
  dueCheckpoints(limit: number): Checkpoint[] {
    const out: Checkpoint[] = [];
    if (!this.primary) return out;
    const now = this.now();
    while (out.length < limit) {
      const top = this.checkpointQueue.peek();
      if (!top || top.time > now) break;
      this.checkpointQueue.pop();
      const l = this.leaseMap.get(top.id);
      if (!l || l.expired(now)) continue;
      const remainingTTL = Math.ceil(l.remaining(now) / 1000);
      if (remainingTTL >= l.ttl) continue;
      out.push({ ID: l.id, remainingTTL: BigInt(remainingTTL) });
    }
    return out;
  }

  private scheduleCheckpoint(l: Lease): void {
    if (!this.opts.checkpointing || !this.primary) return;
    if (l.refreshTTL * 1000 > this.checkpointIntervalMs) {
      this.checkpointQueue.upsert(l.id, this.now() + this.checkpointIntervalMs);
    }
  }

  private persist(l: Lease): void {
    const rec = { id: l.id, ttl: BigInt(l.ttl), remainingTTL: BigInt(l.remainingTTL) };
    this.backend.batch(() => this.bucket.put(leaseKey(l.id), encodeLease(rec)));
  }

  /** Checks the queues against the leases (for tests). */
  checkInvariants(): void {
    this.expiryQueue.checkInvariants();
    this.checkpointQueue.checkInvariants();
    if (!this.primary) assert(this.expiryQueue.size === 0, "expiry queue not empty while not primary");
    else
      for (const l of this.leaseMap.values())
        assert(this.expiryQueue.has(l.id), () => `lease ${l.id} not queued`);
  }
}
