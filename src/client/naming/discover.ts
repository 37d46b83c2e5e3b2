// Owns discovering a service's instances: a live snapshot from a mirror of `<service>/`, and a stream of
// add/update/delete changes for each consumer.
import { type MirrorChange, PrefixMirror } from "../mirror.js";
import { AsyncQueue } from "../queue.js";
import type { KVClient } from "../services.js";
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
 * to any consumer. Iterate it (`for await`) to follow the service: each iteration first gets an "add" for every
 * instance registered when it starts (in id order, as etcd's endpoints manager sends its initial updates), then
 * every change after that, so the adds and changes seen so far always add up to `instances()`.
 */
export class Discovery implements AsyncIterable<InstanceChange> {
  private readonly byId = new Map<string, Instance>();
  private readonly consumers = new Set<AsyncQueue<InstanceChange>>();
  private readonly mirror: PrefixMirror;
  private closed = false;

  /** @internal */
  constructor(
    client: KVClient,
    readonly service: string,
  ) {
    this.mirror = new PrefixMirror(client, `${service}/`, (c) => this.onChange(c));
    void this.mirror.stopped.then(() => {
      this.closed = true;
      this.endAll();
    });
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
    this.closed = true;
    this.mirror.close();
    this.endAll();
  }

  [Symbol.asyncIterator](): AsyncIterator<InstanceChange> {
    const current = this.instances();
    // Room for the replay on top of the usual buffer: a large service must not overflow a new consumer.
    const q: AsyncQueue<InstanceChange> = new AsyncQueue(MAX_DISCOVERY_BUFFER + current.length, {
      onReturn: () => this.consumers.delete(q),
    });
    for (const instance of current) q.push({ type: "add", instance });
    if (this.closed) q.end();
    else this.consumers.add(q);
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

/**
 * Discovers `service`: resolves once the current instances are loaded, then follows them. `instances()` is the
 * snapshot; iterating replays the snapshot as "add" changes, then the live changes.
 */
export async function discover(client: KVClient, service: string): Promise<Discovery> {
  const d = new Discovery(client, service);
  await d.ready;
  return d;
}
