// Owns the lease holders of a fault run: each its own client, one lease kept alive and one key attached to it.
// A holder "killed" mid-run closes its client without revoking (as a crashed process would), so its key must
// expire; a live holder's key must outlive every fault unless its keepalive gave up (then it is one more killed
// holder), and the server must never forget a lease sooner than its TTL after a renewal.
import type { Client, LeaseKeepAlive } from "../../client/index.js";

/** How long a holder keeps trying to grant its lease and write its key. */
const START_DEADLINE_MS = 20_000;
const RETRY_MS = 200;

export interface LeaseHolderState {
  id: string;
  key: string;
  ttl: number;
  leaseId: bigint | undefined;
  /** When the holder was killed (history clock, ns). */
  killedAt?: number;
  /** When the lease was granted or last renewed, as the client saw the answer (history clock, ns). */
  lastRenewedAt?: number;
  renewals: number;
  /** The keepalive reported the lease lost (history clock, ns): the server no longer knew it, or no renewal
   * succeeded for a whole TTL. */
  lost?: { at: number; reason: "not-found" | "timeout" | "error"; message: string };
}

export class LeaseHolder {
  leaseId: bigint | undefined;
  killedAt: number | undefined;
  lost: LeaseHolderState["lost"];
  lastRenewedAt: number | undefined;
  renewals = 0;
  private keepAlive: LeaseKeepAlive | undefined;
  private closed = false;

  constructor(
    readonly id: string,
    private readonly client: Client,
    readonly key: string,
    readonly ttl: number,
    private readonly now: () => number,
  ) {}

  /** Grants the lease, writes the key with it (retrying the same put: it is idempotent) and keeps it alive. */
  async start(): Promise<void> {
    const deadline = Date.now() + START_DEADLINE_MS;
    let last: unknown;
    while (this.leaseId === undefined && Date.now() < deadline) {
      try {
        this.leaseId = (await this.client.lease.grant(this.ttl)).ID;
        this.lastRenewedAt = this.now();
      } catch (err) {
        last = err;
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
    for (;;) {
      if (this.leaseId === undefined || Date.now() >= deadline)
        throw new Error(`lease holder ${this.id} could not start: ${String(last)}`);
      try {
        await this.client.kv.put(this.key, this.id, { lease: this.leaseId });
        break;
      } catch (err) {
        last = err;
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
    const ka = this.client.lease.keepAlive(this.leaseId);
    this.keepAlive = ka;
    void ka.done.then((err) => {
      if (err && !this.closed) this.lost = { at: this.now(), reason: err.reason, message: err.message };
    });
    void (async () => {
      try {
        for await (const r of ka) {
          if (r.TTL <= 0n) continue;
          this.renewals++;
          this.lastRenewedAt = this.now();
        }
      } catch {
        // The loss is reported through `done`.
      }
    })();
  }

  /** Killed, or its keepalive gave up: its key must expire. */
  get gone(): boolean {
    return this.killedAt !== undefined || this.lost !== undefined;
  }

  /** Crashes the holder: the client goes away without revoking, so the lease expires after its TTL. */
  async kill(): Promise<void> {
    this.killedAt = this.now();
    this.closed = true;
    await this.client.close();
  }

  /** Ends the holder at the end of a run (the lease is left to expire with the cluster). */
  async close(): Promise<void> {
    this.closed = true;
    this.keepAlive?.close();
    await this.client.close();
  }

  state(): LeaseHolderState {
    const s: LeaseHolderState = {
      id: this.id,
      key: this.key,
      ttl: this.ttl,
      leaseId: this.leaseId,
      renewals: this.renewals,
    };
    if (this.killedAt !== undefined) s.killedAt = this.killedAt;
    if (this.lastRenewedAt !== undefined) s.lastRenewedAt = this.lastRenewedAt;
    if (this.lost) s.lost = this.lost;
    return s;
  }
}
