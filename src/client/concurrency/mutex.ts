// Owns the distributed Mutex (clientv3/concurrency mutex.go): a lease-bound key per session under a prefix;
// holders queue by create revision and each waits only for its predecessor's deletion.
import type { ResponseHeader, TxnResponse } from "../../proto/index.js";
import { Op } from "../ops.js";
import { Cmp } from "../txn.js";
import { LockedError, SessionExpiredError } from "./errors.js";
import type { Session } from "./session.js";
import { revisionOf, waitDeletes } from "./wait.js";

/** The lock/candidate key of a session under `prefix` (etcd: `fmt.Sprintf("%s%x", prefix+"/", lease)`). */
export function sessionKey(prefix: string, session: Session): string {
  return `${prefix}/${session.lease.toString(16)}`;
}

export interface LockOptions {
  /** Aborting stops waiting, removes this session's key, and rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * A fair distributed lock. `key` exists while held (or queued) and can guard writes: `isOwner()` gives the
 * compare `create_revision(key) == rev`. Locking again through the same session is a no-op.
 */
export class Mutex {
  private readonly pfx: string;
  private myKey = "\0";
  private myRev = -1n;
  private hdr: ResponseHeader | undefined;

  constructor(
    readonly session: Session,
    prefix: string,
  ) {
    this.pfx = `${prefix}/`;
  }

  /** This holder's key under the prefix ("\0" when not locked). */
  get key(): string {
    return this.myKey;
  }
  /** The create revision of `key` (-1 when not locked). */
  get rev(): bigint {
    return this.myRev;
  }
  /** The header of the response that acquired the lock. */
  get header(): ResponseHeader | undefined {
    return this.hdr;
  }
  /** A compare that holds only while this mutex owns the lock; put it in a Txn's `If`. */
  isOwner(): Cmp {
    return Cmp.createRevision(this.myKey, "=", this.myRev);
  }

  /** Waits until the lock is held. On abort or error while waiting, the queued key is deleted. */
  async lock(options: LockOptions = {}): Promise<void> {
    const { signal } = options;
    const resp = await this.tryAcquire(signal);
    if (this.ownsFrom(resp)) return;
    try {
      await waitDeletes(this.session.client, this.pfx, this.myRev - 1n, signal);
      // Make sure the session did not expire meanwhile: the key must still exist.
      const g = await this.session.client.kv.get(this.myKey, { signal });
      if (g.kvs.length === 0) throw new SessionExpiredError();
      this.hdr = g.header;
    } catch (err) {
      if (!(err instanceof SessionExpiredError)) await this.unlock().catch(() => {});
      throw err;
    }
  }

  /** Takes the lock if free, else removes its key and throws `LockedError` without waiting. */
  async tryLock(options: LockOptions = {}): Promise<void> {
    const resp = await this.tryAcquire(options.signal);
    if (this.ownsFrom(resp)) return;
    await this.unlock();
    throw new LockedError();
  }

  /** Releases the lock (deletes the key). */
  async unlock(): Promise<void> {
    const key = this.myKey;
    this.myKey = "\0";
    this.myRev = -1n;
    if (key !== "\0") await this.session.client.kv.delete(key);
  }

  /** One txn: create my key if absent (else read it) and read the current owner. */
  private async tryAcquire(signal: AbortSignal | undefined): Promise<TxnResponse> {
    const key = sessionKey(this.pfx.slice(0, -1), this.session);
    const owner = Op.get(this.pfx, { prefix: true, sortTarget: "create", sortOrder: "ascend", limit: 1 });
    const resp = await this.session.client.kv
      .txn()
      .If(Cmp.createRevision(key, "=", 0n))
      .Then(Op.put(key, "", { lease: this.session.lease }), owner)
      .Else(Op.get(key), owner)
      .commit({ signal });
    this.myKey = key;
    this.myRev = resp.succeeded ? revisionOf(resp.header) : firstKv(resp, 0).createRevision;
    return resp;
  }

  private ownsFrom(resp: TxnResponse): boolean {
    const owner = rangeKvs(resp, 1)[0];
    if (owner !== undefined && owner.createRevision !== this.myRev) return false;
    this.hdr = resp.header;
    return true;
  }
}

/** The key-values of the `i`-th (range) response of a txn. */
export function rangeKvs(resp: TxnResponse, i: number) {
  const r = resp.responses[i]?.response;
  if (r?.$case !== "responseRange")
    throw new Error(`concurrency: invariant: txn response ${i} is not a range`);
  return r.value.kvs;
}

function firstKv(resp: TxnResponse, i: number) {
  const kv = rangeKvs(resp, i)[0];
  if (kv === undefined) throw new Error("concurrency: invariant: own key vanished within a txn");
  return kv;
}
