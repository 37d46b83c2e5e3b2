// Owns discovering a service's instances: a live snapshot from a mirror of `<service>/`, and a stream of
// add/update/delete changes for each consumer.
import type { Client } from "../client.js";
import { type MirrorChange, PrefixMirror } from "../mirror.js";
import { AsyncQueue } from "../queue.js";
import { decodeInstance, type Instance } from "./instance.js";

/** Changes buffered per consumer; a consumer that falls further behind gets `DiscoveryOverflowError`. */
export const MAX_DISCOVERY_BUFFER = 1024;

export interface InstanceChange {
  type: "add" | "update" | "delete";
  /** The instance as it is now (for "delete": as it was). */
  instance: Instance;
}

/** A consumer did not read changes fast enough; `instances()` is still current. */
export class DiscoveryOverflowError extends Error {
  override name = "DiscoveryOverflowError";
}

/**
 * The instances of one service, kept current by a watch. `instances()` is updated before a change is delivered
 * to any consumer. Iterate it (`for await`) for the changes after the iteration starts.
 */
export class Discovery implements AsyncIterable<InstanceChange> {
  private readonly byId = new Map<string, Instance>();
  private readonly consumers = new Set<AsyncQueue<InstanceChange>>();
  private readonly mirror: PrefixMirror;

  /** @internal */
  constructor(
    client: Client,
    readonly service: string,
  ) {
    this.mirror = new PrefixMirror(client, `${service}/`, (c) => this.onChange(c));
    void this.mirror.stopped.then(() => this.endAll());
  }

  /** @internal */
  get ready(): Promise<void> {
    return this.mirror.ready;
  }

  /** The current instances, by id. */
  instances(): Instance[] {
    return [...this.byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Whether `id` is currently registered. */
  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** Stops watching; every iteration ends. Idempotent. */
  close(): void {
    this.mirror.close();
    this.endAll();
  }

  [Symbol.asyncIterator](): AsyncIterator<InstanceChange> {
    const q: AsyncQueue<InstanceChange> = new AsyncQueue(MAX_DISCOVERY_BUFFER, {
      onReturn: () => this.consumers.delete(q),
    });
    this.consumers.add(q);
    return q;
  }

  private onChange(c: MirrorChange): void {
    const id = c.key.slice(this.service.length + 1);
    const before = this.byId.get(id);
    const after = c.kv && decodeInstance(this.service, c.key, c.kv.value);
    if (after) this.byId.set(id, after);
    else this.byId.delete(id);
    const change: InstanceChange | undefined = after
      ? { type: before ? "update" : "add", instance: after }
      : before && { type: "delete", instance: before };
    if (!change) return;
    for (const q of this.consumers) {
      if (!q.push(change)) {
        q.end(new DiscoveryOverflowError(`discovery of ${this.service}: consumer fell behind`));
        this.consumers.delete(q);
      }
    }
  }

  private endAll(): void {
    for (const q of this.consumers) q.end();
    this.consumers.clear();
  }
}

/** Discovers `service`: resolves once the current instances are loaded, then follows them. */
export async function discover(client: Client, service: string): Promise<Discovery> {
  const d = new Discovery(client, service);
  await d.ready;
  return d;
}
