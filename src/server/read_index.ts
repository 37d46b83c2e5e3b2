// Owns linearizable-read batching: every read waiting when a ReadIndex round starts shares that round.
import type { ReadState } from "../raft/types.js";
import type { AppliedWait } from "./applied_wait.js";
import { ServerError } from "./errors.js";

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

export interface ReadIndexDeps {
  /** Send a ReadIndex request with this context (may throw if impossible now). */
  readIndex(ctx: Uint8Array): void;
  applied: AppliedWait;
  /**
   * A cluster-unique id for a round's context (the server's request-id generator, whose high bits are the member
   * id, as etcd uses). The leader ignores a ReadIndex whose context is already pending, so two members counting
   * from 1 would stall each other's reads until the retry. Default: a local counter (tests, one member).
   */
  nextId?: () => bigint;
}

export class ReadIndexBatcher {
  private pending: Waiter[] = [];
  private inflight: { ctx: Buffer; waiters: Waiter[]; timer: NodeJS.Timeout } | undefined;
  private seq = 0n;

  constructor(
    private readonly deps: ReadIndexDeps,
    /** A round with no answer after this long is retried; the caller's own timeout bounds the wait. */
    private readonly retryMs: number,
  ) {}

  /** Resolves once the local state machine is at least as new as the leader's commit at call time. */
  wait(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      if (!this.inflight) this.startRound();
    });
  }

  private startRound(): void {
    if (this.pending.length === 0) return;
    const waiters = this.pending;
    this.pending = [];
    const ctx = Buffer.alloc(8);
    ctx.writeBigUInt64BE(this.deps.nextId ? this.deps.nextId() : ++this.seq);
    const timer = setTimeout(() => {
      // No answer (no leader, or the leader changed): send a fresh round for the same waiters.
      if (this.inflight?.ctx.equals(ctx)) {
        this.inflight = undefined;
        this.pending = waiters.concat(this.pending);
        this.startRound();
      }
    }, this.retryMs);
    this.inflight = { ctx, waiters, timer };
    try {
      this.deps.readIndex(ctx);
    } catch (err) {
      clearTimeout(timer);
      this.inflight = undefined;
      for (const w of waiters) w.reject(err);
    }
  }

  onReadStates(states: ReadState[]): void {
    const cur = this.inflight;
    if (!cur) return;
    for (const rs of states) {
      if (!Buffer.from(rs.requestCtx).equals(cur.ctx)) continue;
      clearTimeout(cur.timer);
      this.inflight = undefined;
      const waiters = cur.waiters;
      this.deps.applied.wait(rs.index).then(() => {
        for (const w of waiters) w.resolve();
      });
      this.startRound();
      return;
    }
  }

  /**
   * A new leader was elected while a round was out: its waiters fail with etcd's retryable "leader changed"
   * (the old leader's answer may never come); reads that queued since start a fresh round.
   */
  leaderChanged(): void {
    const cur = this.inflight;
    if (!cur) return;
    clearTimeout(cur.timer);
    this.inflight = undefined;
    const err = new ServerError("LeaderChanged");
    for (const w of cur.waiters) w.reject(err);
    this.startRound();
  }

  failAll(): void {
    const err = new ServerError("Stopped");
    if (this.inflight) {
      clearTimeout(this.inflight.timer);
      for (const w of this.inflight.waiters) w.reject(err);
      this.inflight = undefined;
    }
    for (const w of this.pending) w.reject(err);
    this.pending = [];
  }
}
