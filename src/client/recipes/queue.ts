// Owns the FIFO queue recipe: items are keys `<prefix>/<unique>` in create-revision order; a consumer claims the
// oldest with a delete guarded by its mod revision, so each item goes to exactly one consumer.
import type { KeyValue } from "../../proto/index.js";
import { Op } from "../ops.js";
import type { KVClient } from "../services.js";
import { Cmp } from "../txn.js";
import { uniqueSuffix, waitEvent } from "./wait.js";

/** Claim attempts lost to other consumers before `tryDequeue` gives up with an error (contention bound). */
export const MAX_CLAIM_ATTEMPTS = 1_000;

/**
 * A distributed FIFO queue under `prefix` (clientv3 recipes `Queue`). Values are UTF-8 strings.
 *
 * @example
 * const q = new Queue(client, "jobs");
 * await q.enqueue("job-1");
 * const job = await q.dequeue(); // waits while the queue is empty
 */
export class Queue {
  constructor(
    protected readonly client: KVClient,
    readonly prefix: string,
  ) {}

  /** Adds `value` at the tail (a create-if-absent put of a fresh key). */
  async enqueue(value: string): Promise<void> {
    for (;;) {
      const key = `${this.prefix}/${uniqueSuffix()}`;
      const r = await this.client.kv
        .txn()
        .If(Cmp.createRevision(key, "=", 0n))
        .Then(Op.put(key, value))
        .commit();
      if (r.succeeded) return;
    }
  }

  /** Takes the head, or undefined if the queue is empty. */
  async tryDequeue(): Promise<string | undefined> {
    return (await this.claim()).value;
  }

  /** Takes the head, waiting for an item while the queue is empty. Aborting `signal` rejects. */
  async dequeue(options: { signal?: AbortSignal } = {}): Promise<string> {
    for (;;) {
      options.signal?.throwIfAborted();
      const r = await this.claim();
      if (r.value !== undefined) return r.value;
      await waitEvent(this.client, `${this.prefix}/`, r.revision, "put", { prefix: true, ...options });
    }
  }

  /** Claims the head; when empty, `value` is undefined and `revision` is the empty read's revision. */
  protected async claim(): Promise<{ value?: string; revision: bigint }> {
    for (let i = 0; i < MAX_CLAIM_ATTEMPTS; i++) {
      const res = await this.head();
      if (!res.kv) return { revision: res.revision };
      if (await claimKey(this.client, res.kv))
        return { value: Buffer.from(res.kv.value).toString(), revision: 0n };
    }
    throw new Error(`etcd recipe: queue ${this.prefix}: lost ${MAX_CLAIM_ATTEMPTS} claims in a row`);
  }

  /** The item to take next (oldest create revision), and the revision of the read. */
  protected async head(): Promise<{ kv?: KeyValue; revision: bigint }> {
    const res = await this.client.kv.get(`${this.prefix}/`, {
      prefix: true,
      sortTarget: "create",
      sortOrder: "ascend",
      limit: 1,
    });
    return { kv: res.kvs[0], revision: res.header?.revision ?? 0n };
  }
}

/** Deletes `kv` if nobody changed or took it since it was read. */
export async function claimKey(client: KVClient, kv: KeyValue): Promise<boolean> {
  const r = await client.kv
    .txn()
    .If(Cmp.modRevision(kv.key, "=", kv.modRevision))
    .Then(Op.delete(kv.key))
    .commit();
  return r.succeeded;
}
