// Owns keeping a local copy of a key prefix current: a Get, then a Watch from the Get's revision + 1, and a fresh
// Get (with the differences reported as changes) whenever the watch ends early (compaction, server restart).
import { Event_EventType, type KeyValue } from "../proto/index.js";
import { ClientClosedError } from "./errors.js";
import type { Revision } from "./ops.js";
import type { KVClient } from "./services.js";
import type { Watcher } from "./watcher.js";

/** Pause before a resync after a failure, so a down server is not hammered. */
export const MIRROR_RETRY_MS = 500;

/** One change to a mirrored key, in revision order. `prev` is the mirror's previous copy, if any. */
export interface MirrorChange {
  type: "put" | "delete";
  key: string;
  kv: KeyValue | undefined;
  prev: KeyValue | undefined;
  revision: Revision;
}

/**
 * A live copy of every key under `prefix` (keys as UTF-8 strings). `onChange` runs synchronously after the copy
 * is updated, so a reader inside or after it sees the new state. `ready` resolves once the first Get is applied.
 */
export class PrefixMirror {
  readonly ready: Promise<void>;
  /** Resolves when the mirror stops (after `close()` or the client closing). */
  readonly stopped: Promise<void>;
  private readonly kvs = new Map<string, KeyValue>();
  private watcher: Watcher | undefined;
  private closed = false;
  private resolveReady!: () => void;
  private rejectReady!: (e: unknown) => void;

  constructor(
    private readonly client: KVClient,
    readonly prefix: string,
    private readonly onChange: (c: MirrorChange) => void,
  ) {
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => {});
    this.stopped = this.run();
  }

  get(key: string): KeyValue | undefined {
    return this.kvs.get(key);
  }

  /** Every mirrored key-value, in key order. */
  entries(): [string, KeyValue][] {
    return [...this.kvs.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Stops watching. Idempotent. */
  close(): void {
    this.closed = true;
    this.watcher?.cancel();
    this.rejectReady(new ClientClosedError());
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      try {
        const res = await this.client.kv.get(this.prefix, { prefix: true });
        const rev = res.header?.revision ?? 0n;
        this.resync(res.kvs, rev);
        this.resolveReady();
        if (this.closed) break;
        this.watcher = this.client.watch.watch(this.prefix, { prefix: true, startRevision: rev + 1n });
        for await (const batch of this.watcher) {
          for (const e of batch.events)
            this.apply(e.type === Event_EventType.DELETE ? "delete" : "put", e.kv!);
        }
      } catch (err) {
        if (err instanceof ClientClosedError) break;
      }
      if (!this.closed) await new Promise((r) => setTimeout(r, MIRROR_RETRY_MS));
    }
    this.closed = true;
    this.rejectReady(new ClientClosedError());
  }

  private apply(type: "put" | "delete", kv: KeyValue): void {
    const key = Buffer.from(kv.key).toString();
    const prev = this.kvs.get(key);
    if (type === "put") this.kvs.set(key, kv);
    else this.kvs.delete(key);
    this.onChange({ type, key, kv: type === "put" ? kv : undefined, prev, revision: kv.modRevision });
  }

  /** Replaces the copy with a Get's result, reporting what differs as changes. */
  private resync(kvs: KeyValue[], rev: Revision): void {
    const seen = new Set<string>();
    for (const kv of kvs) {
      const key = Buffer.from(kv.key).toString();
      seen.add(key);
      if (this.kvs.get(key)?.modRevision !== kv.modRevision) this.apply("put", kv);
    }
    for (const key of [...this.kvs.keys()]) {
      if (seen.has(key)) continue;
      const prev = this.kvs.get(key);
      this.kvs.delete(key);
      this.onChange({ type: "delete", key, kv: undefined, prev, revision: rev });
    }
  }
}
