// Owns the readers-writer lock recipe: readers `<prefix>/read/<unique>`, writers `<prefix>/write/<unique>` on
// an ephemeral lease; a reader waits for older writers, a writer for every older key (clientv3 recipes RWMutex).
import type { Revision } from "../ops.js";
import type { KVClient } from "../services.js";
import { EphemeralLease, uniqueSuffix, waitEvent } from "./wait.js";

/**
 * A distributed readers-writer lock: many readers or one writer. One instance holds at most one lock at a time;
 * its key is on a lease of `ttl` seconds, so a dead holder releases the lock when its lease expires.
 */
export class RWMutex {
  private held: { key: string; lease: EphemeralLease } | undefined;

  constructor(
    private readonly client: KVClient,
    readonly prefix: string,
    private readonly options: { ttl?: number } = {},
  ) {}

  /** Takes a read lock: waits until no writer that asked earlier holds or waits for the lock. */
  rlock(options: { signal?: AbortSignal } = {}): Promise<void> {
    return this.lock("read", `${this.prefix}/write/`, options);
  }

  /** Takes the write lock: waits until every reader and writer that asked earlier has released. */
  wlock(options: { signal?: AbortSignal } = {}): Promise<void> {
    return this.lock("write", `${this.prefix}/`, options);
  }

  /** Releases the lock held by this instance. */
  async unlock(): Promise<void> {
    const h = this.held;
    if (!h) throw new Error(`etcd recipe: RWMutex ${this.prefix} is not locked`);
    this.held = undefined;
    await this.client.kv.delete(h.key);
    await h.lease.revoke();
  }

  private async lock(
    kind: "read" | "write",
    blockers: string,
    options: { signal?: AbortSignal },
  ): Promise<void> {
    if (this.held) throw new Error(`etcd recipe: RWMutex ${this.prefix} is already locked by this instance`);
    const lease = await EphemeralLease.grant(this.client, this.options.ttl ?? 60);
    const key = `${this.prefix}/${kind}/${uniqueSuffix()}`;
    try {
      const myRev = (await this.client.kv.put(key, "", { lease: lease.id })).header!.revision;
      await this.waitOlder(blockers, myRev, options);
      this.held = { key, lease };
    } catch (err) {
      await lease.revoke();
      throw err;
    }
  }

  /** Waits until no key under `blockers` created before `myRev` exists (one newest blocker per round). */
  private async waitOlder(
    blockers: string,
    myRev: Revision,
    options: { signal?: AbortSignal },
  ): Promise<void> {
    for (;;) {
      options.signal?.throwIfAborted();
      const res = await this.client.kv.get(blockers, {
        prefix: true,
        maxCreateRevision: myRev - 1n,
        sortTarget: "create",
        sortOrder: "descend",
        limit: 1,
      });
      const kv = res.kvs[0];
      if (!kv) return;
      await waitEvent(this.client, Buffer.from(kv.key).toString(), res.header!.revision, "delete", options);
    }
  }
}
