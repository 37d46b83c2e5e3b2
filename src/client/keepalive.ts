// Owns lease keepalive: one LeaseKeepAlive stream per client renewing every kept lease at TTL/3 (as clientv3's
// lessor), across reconnects, and the `LeaseKeepAlive` handles that report renewals and the loss of a lease.
import { type LeaseKeepAliveRequest, type LeaseKeepAliveResponse, LeaseService } from "../proto/index.js";
import type { Caller } from "./call.js";
import { type EtcdError, LeaseLostError } from "./errors.js";
import type { LeaseId } from "./ops.js";
import { AsyncQueue } from "./queue.js";
import { ReconnectingStream } from "./stream.js";

/** How often due keepalives are sent and deadlines checked (clientv3: 500 ms). */
export const KEEPALIVE_TICK_MS = 500;
/** A keepalive without answer is sent again after this long. */
export const KEEPALIVE_RESEND_MS = 1_000;
/** Responses kept for a consumer that does not read them; older ones are dropped (only the latest matters). */
export const MAX_KEEPALIVE_BUFFER = 16;
export const KEEPALIVE_RECONNECT_BASE_MS = 100;
export const KEEPALIVE_RECONNECT_MAX_MS = 2_000;

/**
 * Keeps one lease alive until `close()`; iterate it for each renewal (`TTL` is the renewed TTL). When the
 * lease is lost — the server answers it no longer exists, or no renewal succeeds before its TTL runs out —
 * `done` resolves with a `LeaseLostError` and the iteration throws it. Survives reconnects and failover.
 */
export class LeaseKeepAlive implements AsyncIterable<LeaseKeepAliveResponse> {
  /** Resolves when keeping alive stops: `undefined` after `close()`, the error if the lease was lost. */
  readonly done: Promise<LeaseLostError | undefined>;
  private last: LeaseKeepAliveResponse | undefined;
  private readonly queue: AsyncQueue<LeaseKeepAliveResponse>;
  private resolveDone!: (v: LeaseLostError | undefined) => void;
  private finished = false;

  /** @internal */
  constructor(
    readonly id: LeaseId,
    private readonly host: KeepAliveStream,
  ) {
    this.queue = new AsyncQueue(MAX_KEEPALIVE_BUFFER, { dropOldest: true, onReturn: () => this.close() });
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
  }

  /** The TTL of the last renewal, if any yet. */
  get ttl(): bigint | undefined {
    return this.last?.TTL;
  }

  /** Stops keeping the lease alive (it is not revoked: it expires after its TTL). Idempotent. */
  close(): void {
    if (this.finished) return;
    this.end(undefined);
    this.host.remove(this);
  }

  [Symbol.asyncIterator](): AsyncIterator<LeaseKeepAliveResponse> {
    return this.queue;
  }

  /** @internal */
  onResponse(r: LeaseKeepAliveResponse): void {
    this.last = r;
    this.queue.push(r);
  }

  /** @internal */
  end(err: LeaseLostError | undefined): void {
    if (this.finished) return;
    this.finished = true;
    this.queue.end(err);
    this.resolveDone(err);
  }
}

interface Entry {
  handles: Set<LeaseKeepAlive>;
  /** When to send the next keepalive (ms since epoch). */
  nextAt: number;
  /** When the lease is presumed expired without a renewal (ms since epoch). */
  deadline: number;
}

export class KeepAliveStream {
  private readonly stream: ReconnectingStream<LeaseKeepAliveRequest, LeaseKeepAliveResponse>;
  private readonly entries = new Map<LeaseId, Entry>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    caller: Caller,
    /** Deadline for the first renewal of a newly kept lease (clientv3: dial timeout + 1 s). */
    private readonly firstTimeoutMs: number,
  ) {
    // clientv3's lessor sends hasleader: a member that lost its leader cannot renew, so fail over.
    const opts = {
      requireLeader: true,
      baseMs: KEEPALIVE_RECONNECT_BASE_MS,
      maxMs: KEEPALIVE_RECONNECT_MAX_MS,
    };
    this.stream = new ReconnectingStream(caller, LeaseService.leaseKeepAlive, opts, {
      wanted: () => this.entries.size > 0,
      opened: () => {
        for (const e of this.entries.values()) e.nextAt = 0;
        this.tick();
      },
      message: (r) => this.onResponse(r),
      broken: () => {},
      halted: (err) => this.failAll(err),
    });
  }

  add(h: LeaseKeepAlive): void {
    let e = this.entries.get(h.id);
    if (!e) {
      e = { handles: new Set(), nextAt: 0, deadline: Date.now() + this.firstTimeoutMs };
      this.entries.set(h.id, e);
    }
    e.handles.add(h);
    this.timer ??= setInterval(() => this.tick(), KEEPALIVE_TICK_MS);
    if (this.stream.isOpen) this.tick();
    else this.stream.ensure();
  }

  remove(h: LeaseKeepAlive): void {
    const e = this.entries.get(h.id);
    if (!e?.handles.delete(h)) return;
    if (e.handles.size === 0) this.entries.delete(h.id);
    this.stopIfIdle();
  }

  /** The client is closing: every handle ends without error. */
  close(): void {
    const handles = [...this.entries.values()].flatMap((e) => [...e.handles]);
    this.entries.clear();
    for (const h of handles) h.end(undefined);
    this.stopIfIdle();
  }

  private tick(): void {
    const now = Date.now();
    for (const [id, e] of this.entries) {
      if (now >= e.deadline) {
        this.lose(
          id,
          new LeaseLostError(id, "timeout", `etcd client: lease ${id} not renewed before its TTL ran out`),
        );
      } else if (this.stream.isOpen && now >= e.nextAt) {
        this.stream.write({ ID: id });
        e.nextAt = now + KEEPALIVE_RESEND_MS;
      }
    }
  }

  private onResponse(r: LeaseKeepAliveResponse): void {
    this.stream.healthy();
    const e = this.entries.get(r.ID);
    if (!e) return;
    if (r.TTL <= 0n) {
      // etcd answers TTL 0 for a lease it does not know (expired or revoked).
      this.lose(r.ID, new LeaseLostError(r.ID, "not-found", "etcdserver: requested lease not found"));
      return;
    }
    const now = Date.now();
    const ttlMs = Number(r.TTL) * 1000;
    e.nextAt = now + ttlMs / 3;
    e.deadline = now + ttlMs;
    for (const h of e.handles) h.onResponse(r);
  }

  private lose(id: LeaseId, err: LeaseLostError): void {
    const e = this.entries.get(id);
    if (!e) return;
    this.entries.delete(id);
    for (const h of e.handles) h.end(err);
    this.stopIfIdle();
  }

  private failAll(cause: EtcdError): void {
    for (const id of [...this.entries.keys()]) {
      this.lose(id, new LeaseLostError(id, "error", cause.message, { cause }));
    }
  }

  private stopIfIdle(): void {
    if (this.entries.size > 0) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.stream.close();
  }
}
