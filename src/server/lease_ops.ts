// Owns the server side of leases: LeaseGrant/LeaseRevoke/LeaseCheckpoint proposed through raft and applied
// (lessor + a revoke's key deletions in one write txn), renewals and TimeToLive on the leader, and the
// leader's duty timer that proposes revokes of expired leases and checkpoints of long ones.

import {
  type Checkpoint,
  ErrNotPrimary,
  LEASE_CHECKPOINT_RATE,
  LEASE_REVOKE_RATE,
  type Lessor,
  MAX_LEASE_CHECKPOINT_BATCH,
} from "../lease/index.js";
import type { ConsistentIndex, Event, KVStore } from "../mvcc/index.js";
import type {
  InternalRaftRequest,
  LeaseCheckpointRequest,
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseLeasesResponse,
  LeaseRevokeRequest,
  LeaseRevokeResponse,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
  ResponseHeader,
} from "../proto/index.js";
import type { Credentials } from "./auth_ops.js";
import { ServerError } from "./errors.js";

/** How often the leader looks for expired leases and due checkpoints (etcd's lessor loop). */
export const LEASE_DUTY_INTERVAL_MS = 500;
/** Expired leases taken per duty round: at most LEASE_REVOKE_RATE per second. */
export const REVOKES_PER_ROUND = LEASE_REVOKE_RATE / 2;
/**
 * Revoke proposals in flight at once. etcd caps its revoke goroutines at 16, but each of ours is a cheap
 * promise, and 16 in flight limits the rate to 16 / commit latency (about 600/s): allow a round's worth.
 */
export const MAX_PENDING_REVOKES = REVOKES_PER_ROUND;
/** Checkpoints proposed per duty round: at most LEASE_CHECKPOINT_RATE per second. */
export const CHECKPOINTS_PER_ROUND = Math.min(LEASE_CHECKPOINT_RATE / 2, MAX_LEASE_CHECKPOINT_BATCH);
/** etcd's quota cost of a LeaseGrant (leaseOverhead). */
export const LEASE_GRANT_COST = 64;
/** Lease IDs chosen by the server are positive int64s. */
const MAX_INT64 = (1n << 63n) - 1n;

export interface LeaseOpsHooks {
  /**
   * Proposes `req` through raft as `cred` (absent: the member itself, as for expiry revokes); resolves once
   * applied on this member, rejects with the apply error.
   */
  propose(
    req: Partial<InternalRaftRequest>,
    cred?: Credentials,
  ): Promise<{ revision: bigint; resp?: unknown }>;
  /** Waits until this member has applied everything committed before the call (ReadIndex). */
  linearizableRead(): Promise<void>;
  header(revision: bigint): ResponseHeader;
  /** A fresh request ID: etcd draws server-chosen lease IDs from the member's request ID generator. */
  nextId(): bigint;
  /** The current raft leader, 0n if none. */
  leader(): bigint;
  /** etcd's quota check before a grant: raises NOSPACE and throws if the backend would reach the quota. */
  checkQuota?(cost: number): Promise<void>;
  /** How long a renew waits for this member's lessor to be promoted (etcd's request timeout). */
  requestTimeoutMs: number;
  /** Renew on the leader when it is another member (peer /leases forwarding); absent = single member. */
  forwardRenew?(id: bigint): Promise<bigint>;
  /** TimeToLive from the leader when it is another member (peer /leases/internal); absent = single member. */
  forwardTimeToLive?(req: LeaseTimeToLiveRequest): Promise<LeaseTimeToLiveResponse>;
  /** Whether this member is the raft leader (forwarding happens only when it is not). */
  isLeader?(): boolean;
  logger?: { warn(o: object, msg: string): void; debug(o: object, msg: string): void };
}

/** What an applied lease request produced; `resp` carries no header (the caller adds it). */
export interface LeaseApplyResult {
  resp: Pick<LeaseGrantResponse, "ID" | "TTL"> | undefined;
  /** The store's revision after the apply (the response header's revision). */
  revision: bigint;
  /** The DELETE events of a revoke, for watchers. */
  changes: readonly Event[];
}

export class LeaseOps {
  private timer: NodeJS.Timeout | undefined;
  private readonly revokeQueue: bigint[] = [];
  private inflightRevokes = 0;
  private promoted: Array<() => void> = [];
  private stopped = false;

  constructor(
    readonly lessor: Lessor,
    private readonly kv: KVStore,
    private readonly hooks: LeaseOpsHooks,
  ) {}

  // ---- apply (inside the apply loop's backend batch) ---------------------------------------------

  applyGrant(req: LeaseGrantRequest, ci: ConsistentIndex): LeaseApplyResult {
    const l = this.lessor.grant(req.ID, req.TTL);
    this.kv.saveConsistentIndex(ci);
    return { resp: { ID: l.id, TTL: BigInt(l.ttl) }, revision: this.kv.revision, changes: [] };
  }

  /** Deletes the lease's keys in one write txn: one revision, one DELETE event per key (none: no revision). */
  applyRevoke(req: LeaseRevokeRequest, ci: ConsistentIndex): LeaseApplyResult {
    const keys = this.lessor.revoke(req.ID);
    const w = this.kv.write(ci);
    let changes: readonly Event[] = [];
    try {
      for (const k of keys) w.deleteRange(k, undefined);
    } finally {
      changes = w.end().changes;
    }
    return { resp: undefined, revision: this.kv.revision, changes };
  }

  applyCheckpoint(req: LeaseCheckpointRequest, ci: ConsistentIndex): LeaseApplyResult {
    for (const cp of req.checkpoints) this.lessor.checkpoint(cp.ID, cp.remainingTTL);
    this.kv.saveConsistentIndex(ci);
    return { resp: undefined, revision: this.kv.revision, changes: [] };
  }

  // ---- requests (what api/grpc/lease.ts calls) --------------------------------------------------

  async leaseGrant(req: LeaseGrantRequest, cred?: Credentials): Promise<LeaseGrantResponse> {
    await this.hooks.checkQuota?.(LEASE_GRANT_COST);
    let id = req.ID;
    while (id === 0n) id = this.hooks.nextId() & MAX_INT64;
    const res = await this.hooks.propose({ leaseGrant: { ID: id, TTL: req.TTL } }, cred);
    const g = res.resp as LeaseApplyResult["resp"];
    return { header: this.hooks.header(res.revision), ID: g?.ID ?? id, TTL: g?.TTL ?? 0n, error: "" };
  }

  async leaseRevoke(req: LeaseRevokeRequest, cred?: Credentials): Promise<LeaseRevokeResponse> {
    const res = await this.hooks.propose({ leaseRevoke: { ID: req.ID } }, cred);
    return { header: this.hooks.header(res.revision) };
  }

  /** Renews on the leader and returns the new TTL; LeaseNotFound (ServerError) for unknown or expired leases. */
  async leaseRenew(id: bigint): Promise<bigint> {
    if (!this.lessor.isPrimary) {
      if (this.hooks.forwardRenew && !(this.hooks.isLeader?.() ?? false)) return this.hooks.forwardRenew(id);
      await this.waitPromoted();
    }
    // A renew discards a checkpointed remainder; all members must learn that through raft first.
    if (this.lessor.needsCheckpointClear(id)) {
      await this.hooks.propose({ leaseCheckpoint: { checkpoints: [{ ID: id, remainingTTL: 0n }] } });
    }
    try {
      return BigInt(this.lessor.renew(id));
    } catch (err) {
      if (err instanceof ErrNotPrimary) throw new ServerError("NoLeader");
      throw err;
    }
  }

  /** etcd answers an unknown lease with TTL -1 and no error. */
  async leaseTimeToLive(req: LeaseTimeToLiveRequest): Promise<LeaseTimeToLiveResponse> {
    // Only the leader knows remaining TTLs: a follower asks it (etcd forwards over the peer port).
    if (this.hooks.forwardTimeToLive && !(this.hooks.isLeader?.() ?? false)) {
      const r = await this.hooks.forwardTimeToLive(req);
      return { ...r, header: this.hooks.header(this.kv.revision) };
    }
    await this.hooks.linearizableRead();
    const t = this.lessor.timeToLive(req.ID, req.keys);
    const header = this.hooks.header(this.kv.revision);
    if (!t) return { header, ID: req.ID, TTL: -1n, grantedTTL: 0n, keys: [] };
    return { header, ID: req.ID, TTL: t.ttl, grantedTTL: t.grantedTTL, keys: t.keys };
  }

  async leaseLeases(): Promise<LeaseLeasesResponse> {
    return {
      header: this.hooks.header(this.kv.revision),
      leases: this.lessor.leases().map((l) => ({ ID: l.id })),
    };
  }

  /** The header at the current revision (a keepalive's header is taken before its renew, as etcd does). */
  currentHeader(): ResponseHeader {
    return this.hooks.header(this.kv.revision);
  }

  // ---- leadership and duties --------------------------------------------------------------------

  /** Call when this member is leader and has applied its term's first (empty) entry. */
  promote(extendMs: number): void {
    this.lessor.promote(extendMs);
    if (!this.timer && !this.stopped) {
      this.timer = setInterval(() => this.runDuties(), LEASE_DUTY_INTERVAL_MS);
      this.timer.unref();
    }
    const waiters = this.promoted;
    this.promoted = [];
    for (const w of waiters) w();
  }

  /** Call when this member stops being leader. */
  demote(): void {
    this.lessor.demote();
    clearInterval(this.timer);
    this.timer = undefined;
    this.revokeQueue.length = 0;
  }

  stop(): void {
    this.stopped = true;
    this.demote();
    const waiters = this.promoted;
    this.promoted = [];
    for (const w of waiters) w();
  }

  /** One round of leader duties: revoke expired leases (rate-limited) and propose due checkpoints. */
  runDuties(): void {
    if (!this.lessor.isPrimary || this.stopped) return;
    // Take new expired leases only once the last round's are all proposed; the lessor offers them again later.
    if (this.revokeQueue.length === 0) this.revokeQueue.push(...this.lessor.expired(REVOKES_PER_ROUND));
    this.pumpRevokes();
    const cps = this.lessor.dueCheckpoints(CHECKPOINTS_PER_ROUND);
    if (cps.length > 0) this.proposeCheckpoints(cps);
  }

  private pumpRevokes(): void {
    while (this.inflightRevokes < MAX_PENDING_REVOKES && this.revokeQueue.length > 0 && !this.stopped) {
      const id = this.revokeQueue.shift()!;
      this.inflightRevokes++;
      this.hooks
        .propose({ leaseRevoke: { ID: id } })
        .then(
          () => this.hooks.logger?.debug({ "lease-id": id.toString(16) }, "revoked expired lease"),
          (err: unknown) =>
            this.hooks.logger?.warn(
              { "lease-id": id.toString(16), error: String(err) },
              "failed to revoke lease",
            ),
        )
        .finally(() => {
          this.inflightRevokes--;
          this.pumpRevokes();
        });
    }
  }

  private proposeCheckpoints(cps: Checkpoint[]): void {
    this.hooks.propose({ leaseCheckpoint: { checkpoints: cps } }).catch((err: unknown) => {
      this.hooks.logger?.warn({ count: cps.length, error: String(err) }, "failed to checkpoint leases");
    });
  }

  /** Waits (up to the request timeout) until this member's lessor is primary. */
  private waitPromoted(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.promoted = this.promoted.filter((w) => w !== done);
        reject(new ServerError(this.hooks.leader() === 0n ? "NoLeader" : "Timeout"));
      }, this.hooks.requestTimeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        if (this.stopped) reject(new ServerError("Stopped"));
        else resolve();
      };
      this.promoted.push(done);
    });
  }
}
