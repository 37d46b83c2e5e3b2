// Owns the priority queue recipe: keys `<prefix>/<priority, 5 digits>/<unique>`; the lowest priority number is
// taken first, FIFO (create revision) within one priority.
import type { KeyValue } from "../../proto/index.js";
import { Op } from "../ops.js";
import type { KVClient } from "../services.js";
import { Cmp } from "../txn.js";
import { Queue } from "./queue.js";
import { uniqueSuffix } from "./wait.js";

/** Priorities are 0..MAX_PRIORITY (uint16, as clientv3's PriorityQueue); 0 is served first. */
export const MAX_PRIORITY = 65_535;

/** A distributed priority queue (clientv3 recipes `PriorityQueue`); `dequeue` waits while it is empty. */
export class PriorityQueue extends Queue {
  /** Adds `value` with `priority` (lower is served first). */
  override async enqueue(value: string, priority = 0): Promise<void> {
    if (!Number.isInteger(priority) || priority < 0 || priority > MAX_PRIORITY)
      throw new RangeError(`etcd recipe: priority must be an integer in 0..${MAX_PRIORITY}, got ${priority}`);
    for (;;) {
      const key = `${this.prefix}/${String(priority).padStart(5, "0")}/${uniqueSuffix()}`;
      const r = await this.kv
        .txn()
        .If(Cmp.createRevision(key, "=", 0n))
        .Then(Op.put(key, value))
        .commit();
      if (r.succeeded) return;
    }
  }

  /** The lowest priority present (smallest key), then the oldest item of that priority. */
  protected override async head(): Promise<{ kv?: KeyValue; revision: bigint }> {
    const first = await this.kv.get(`${this.prefix}/`, { prefix: true, limit: 1, keysOnly: true });
    const k = first.kvs[0];
    if (!k) return { revision: first.header?.revision ?? 0n };
    const level = Buffer.from(k.key)
      .toString()
      .slice(0, this.prefix.length + 7);
    const res = await this.kv.get(level, {
      prefix: true,
      sortTarget: "create",
      sortOrder: "ascend",
      limit: 1,
    });
    // The level may have emptied meanwhile: report "not found" as a lost claim by retrying via the base loop.
    return res.kvs[0] ? { kv: res.kvs[0], revision: 0n } : this.head();
  }

  private get kv(): KVClient["kv"] {
    return this.client.kv;
  }
}
