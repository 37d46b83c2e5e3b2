// Owns config publish/subscribe: a local cache of a key prefix kept current by a watch, with per-key and
// per-prefix change handlers. Publishers simply put keys under the prefix.
import { type MirrorChange, PrefixMirror } from "./mirror.js";
import type { Revision } from "./ops.js";
import type { KVClient } from "./services.js";

/** A change to one config key; `value` is undefined when the key was deleted. */
export interface ConfigChange {
  key: string;
  value: string | undefined;
  previous: string | undefined;
  revision: Revision;
}

export type ConfigHandler = (change: ConfigChange) => void;

/**
 * A cache of every key under `prefix` (full keys, UTF-8 values). Handlers run in revision order, and for one
 * change in the order they were added; the cache already holds the new value when they run. A handler that
 * throws does not stop the others (its error becomes a process warning).
 *
 * @example
 * const config = new ConfigCache(client, "app/config/");
 * await config.ready;
 * config.on("app/config/log-level", (c) => setLevel(c.value));
 */
export class ConfigCache {
  private readonly handlers: { match: string; prefix: boolean; fn: ConfigHandler }[] = [];
  private readonly mirror: PrefixMirror;

  constructor(client: KVClient, prefix: string) {
    this.mirror = new PrefixMirror(client, prefix, (c) => this.dispatch(c));
  }

  /** Resolves once the cache holds the prefix's contents (rejects if closed first). */
  get ready(): Promise<void> {
    return this.mirror.ready;
  }

  get(key: string): string | undefined {
    const kv = this.mirror.get(key);
    return kv && Buffer.from(kv.value).toString();
  }

  /** Every cached key and value, in key order. */
  entries(): [string, string][] {
    return this.mirror.entries().map(([k, kv]) => [k, Buffer.from(kv.value).toString()]);
  }

  /**
   * Calls `handler` for each later change of `key` — or, with `{ prefix: true }`, of every key starting with
   * it. Returns a function that removes the handler.
   */
  on(key: string, handler: ConfigHandler, options: { prefix?: boolean } = {}): () => void {
    const entry = { match: key, prefix: options.prefix ?? false, fn: handler };
    this.handlers.push(entry);
    return () => {
      const i = this.handlers.indexOf(entry);
      if (i >= 0) this.handlers.splice(i, 1);
    };
  }

  /** Stops watching. Idempotent. */
  close(): void {
    this.mirror.close();
  }

  private dispatch(c: MirrorChange): void {
    const change: ConfigChange = {
      key: c.key,
      value: c.kv && Buffer.from(c.kv.value).toString(),
      previous: c.prev && Buffer.from(c.prev.value).toString(),
      revision: c.revision,
    };
    for (const h of [...this.handlers]) {
      if (h.prefix ? !c.key.startsWith(h.match) : c.key !== h.match) continue;
      try {
        h.fn(change);
      } catch (err) {
        process.emitWarning(`config handler for ${h.match} threw: ${String(err)}`);
      }
    }
  }
}
