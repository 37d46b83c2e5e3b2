// Owns the lock contenders of a fault run: each takes a Mutex (on its own Session) in a loop and, while holding
// it, increments a shared counter with a guarded txn (read it, then If(own lock key's create revision) Then put
// counter+1). Tenures are recorded for the lock checker; with mutual exclusion no increment is ever lost, so
// the final counter lies between the acknowledged increments and those plus the ones whose outcome is unknown.
import { type Client, Mutex, Op, Session } from "../../client/index.js";
import { type GuardedWrite, type LockTenure, PENDING } from "../linearizability/index.js";

export interface LockContenderOptions {
  lockPrefix: string;
  counterKey: string;
  /** Session (lease) TTL, seconds. */
  sessionTtl: number;
  /** A lock not acquired by then is given up (the session is dropped, and a new one made). */
  lockTimeoutMs: number;
  /** Guarded increments per tenure. */
  writesPerTenure: number;
}

export interface LockStats {
  acquisitions: number;
  lockFailures: number;
  /** Guarded txns answered "compare failed": the holder had lost the lock. */
  guardFailures: number;
  sessionsDropped: number;
}

const RETRY_MS = 200;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class LockContender {
  readonly tenures: LockTenure[] = [];
  readonly stats: LockStats = { acquisitions: 0, lockFailures: 0, guardFailures: 0, sessionsDropped: 0 };
  private session: Session | undefined;

  constructor(
    readonly id: string,
    private readonly client: Client,
    private readonly options: LockContenderOptions,
    private readonly now: () => number,
    private readonly rand: () => number,
  ) {}

  async run(stop: AbortSignal): Promise<void> {
    while (!stop.aborted) {
      try {
        this.session ??= await Session.create(this.client, { ttl: this.options.sessionTtl });
      } catch {
        await sleep(RETRY_MS);
        continue;
      }
      const mutex = new Mutex(this.session, this.options.lockPrefix);
      try {
        await mutex.lock({
          signal: AbortSignal.any([stop, AbortSignal.timeout(this.options.lockTimeoutMs)]),
        });
      } catch {
        // Lock's own cleanup may have failed too: only a new session surely leaves no key of ours queued.
        this.stats.lockFailures++;
        await this.dropSession();
        continue;
      }
      this.stats.acquisitions++;
      const held = await this.hold(mutex);
      if (held) {
        try {
          await mutex.unlock();
        } catch {
          await this.dropSession();
        }
      } else await this.dropSession();
    }
    await this.dropSession();
  }

  /** The guarded increments of one tenure; false if the holder lost (or may have lost) the lock. */
  private async hold(mutex: Mutex): Promise<boolean> {
    const tenure: LockTenure = {
      holder: this.id,
      lockRevision: mutex.rev,
      acquiredAt: this.now(),
      releasedAt: PENDING,
      guarded: [],
    };
    this.tenures.push(tenure);
    let ok = true;
    for (let i = 0; i < this.options.writesPerTenure && ok; i++) {
      try {
        const cur = await this.client.kv.get(this.options.counterKey);
        const kv = cur.kvs[0];
        const n = kv ? Number(Buffer.from(kv.value).toString()) : 0;
        const g: GuardedWrite = { call: this.now(), return: PENDING, succeeded: false };
        tenure.guarded.push(g);
        const r = await this.client.kv
          .txn()
          .If(mutex.isOwner())
          .Then(Op.put(this.options.counterKey, String(n + 1)))
          .commit();
        g.return = this.now();
        g.succeeded = r.succeeded;
        if (r.header) g.revision = r.header.revision;
        if (!r.succeeded) {
          this.stats.guardFailures++;
          ok = false;
        }
      } catch {
        ok = false;
      }
      await sleep(5 + this.rand() * 20);
    }
    tenure.releasedAt = this.now();
    return ok;
  }

  private async dropSession(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    if (!s) return;
    this.stats.sessionsDropped++;
    // Revoke, bounded: if it cannot be revoked now, the lease expires after its TTL and takes the lock key.
    s.orphan();
    await this.client.lease.revoke(s.lease, { timeoutMs: 2_000 }).catch(() => {});
  }

  /** Successful guarded increments (acknowledged) and those whose outcome is unknown. */
  increments(): { acknowledged: number; unknown: number } {
    let acknowledged = 0;
    let unknown = 0;
    for (const t of this.tenures) {
      for (const g of t.guarded) {
        if (g.return === PENDING) unknown++;
        else if (g.succeeded) acknowledged++;
      }
    }
    return { acknowledged, unknown };
  }
}
