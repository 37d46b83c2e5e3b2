// Owns the barrier recipes: Barrier (one key: held while it exists) and DoubleBarrier (`count` participants
// enter together and leave together), as clientv3's experimental recipes.
import type { KeyValue } from "../../proto/index.js";
import { Op } from "../ops.js";
import type { KVClient } from "../services.js";
import { Cmp } from "../txn.js";
import { EphemeralLease, uniqueSuffix, waitEvent } from "./wait.js";

/** A barrier on `key`: `wait()` blocks while some process holds it. */
export class Barrier {
  constructor(
    private readonly client: KVClient,
    readonly key: string,
  ) {}

  /** Raises the barrier; false if it is already held. */
  async hold(): Promise<boolean> {
    const r = await this.client.kv.txn().If(Cmp.keyMissing(this.key)).Then(Op.put(this.key, "")).commit();
    return r.succeeded;
  }

  /** Lowers the barrier, releasing every waiter. */
  async release(): Promise<void> {
    await this.client.kv.delete(this.key);
  }

  /** Resolves when the barrier is not held. */
  async wait(options: { signal?: AbortSignal } = {}): Promise<void> {
    const res = await this.client.kv.get(this.key);
    if (res.kvs.length === 0) return;
    await waitEvent(this.client, this.key, res.header!.revision, "delete", options);
  }
}

/** Thrown by `enter()` when more than `count` participants are inside. */
export class TooManyClientsError extends Error {
  override name = "TooManyClientsError";
}

/**
 * A double barrier: `enter()` returns once `count` participants entered; `leave()` once all of them left.
 * Each participant's key is on a lease of `ttl` seconds, so a dead participant does not block the rest forever.
 */
export class DoubleBarrier {
  private lease: EphemeralLease | undefined;
  private myKey: string | undefined;

  constructor(
    private readonly client: KVClient,
    readonly key: string,
    readonly count: number,
    private readonly options: { ttl?: number } = {},
  ) {}

  async enter(): Promise<void> {
    this.lease = await EphemeralLease.grant(this.client, this.options.ttl ?? 60);
    this.myKey = `${this.key}/waiters/${uniqueSuffix()}`;
    const put = await this.client.kv.put(this.myKey, "", { lease: this.lease.id });
    const myRev = put.header!.revision;
    const waiters = await this.client.kv.get(`${this.key}/waiters/`, { prefix: true, countOnly: true });
    const n = Number(waiters.count);
    if (n > this.count) {
      await this.lease.revoke();
      throw new TooManyClientsError(`etcd recipe: double barrier ${this.key}: ${n} > ${this.count} clients`);
    }
    if (n === this.count) {
      await this.client.kv.put(`${this.key}/ready`, "");
      return;
    }
    const ready = await this.client.kv.get(`${this.key}/ready`);
    if (ready.kvs.length > 0) return;
    await waitEvent(this.client, `${this.key}/ready`, myRev, "put");
  }

  async leave(): Promise<void> {
    if (this.myKey === undefined)
      throw new Error(`etcd recipe: double barrier ${this.key}: leave before enter`);
    for (;;) {
      const res = await this.client.kv.get(`${this.key}/waiters/`, {
        prefix: true,
        sortTarget: "create",
        sortOrder: "ascend",
      });
      const rev = res.header!.revision;
      const kvs = res.kvs;
      const mine = (kv: KeyValue): boolean => Buffer.from(kv.key).toString() === this.myKey;
      if (kvs.length === 0 || (kvs.length === 1 && mine(kvs[0]!))) {
        await this.client.kv
          .txn()
          .Then(Op.delete(this.myKey!), Op.delete(`${this.key}/ready`))
          .commit();
        break;
      }
      const lowest = kvs[0]!;
      if (mine(lowest)) {
        // The lowest leaves last: wait for the newest other participant, then look again.
        await waitEvent(this.client, Buffer.from(kvs[kvs.length - 1]!.key).toString(), rev, "delete");
        continue;
      }
      await this.client.kv.delete(this.myKey!);
      await waitEvent(this.client, Buffer.from(lowest.key).toString(), rev, "delete");
      break;
    }
    await this.lease?.revoke();
    this.lease = undefined;
    this.myKey = undefined;
  }
}
