// Owns helpers shared by watch tests: a consumer that can be told to fill up, writes that notify, settling.

import type { KVStore } from "./store.js";
import type { WriteTxn } from "./txn.js";
import type { WatchStream } from "./watch_stream.js";
import type { WatchableStore } from "./watchable_store.js";
import type { WatchResponse } from "./watcher.js";

/** A stream consumer with a bounded buffer: refuses responses while `unread >= capacity`. */
export class Consumer {
  readonly received: WatchResponse[] = [];
  unread = 0;
  refused = 0;
  stream!: WatchStream;

  constructor(public capacity = Number.POSITIVE_INFINITY) {}

  readonly send = (resp: WatchResponse): boolean => {
    if (this.unread >= this.capacity) {
      this.refused++;
      return false;
    }
    this.received.push(resp);
    this.unread++;
    return true;
  };

  /** Reads everything buffered and tells the stream it may send again. */
  drain(): void {
    this.unread = 0;
    this.stream.resume();
  }

  open(ws: WatchableStore): WatchStream {
    this.stream = ws.newStream(this.send);
    return this.stream;
  }

  /** Event responses of watcher `id` (not created/canceled/progress). */
  eventsOf(id: bigint): WatchResponse[] {
    return this.received.filter((r) => r.watchId === id && r.events.length > 0);
  }
}

/** Runs `fn` in one write txn and notifies the watchable store, as the server's apply loop does. */
export function apply(store: KVStore, ws: WatchableStore, fn: (t: WriteTxn) => void): bigint {
  const t = store.write();
  fn(t);
  const r = t.end();
  ws.notify(r.changes, r.revision);
  return r.revision;
}

export function put(store: KVStore, ws: WatchableStore, key: string, value: string): bigint {
  return apply(store, ws, (t) => t.put(Buffer.from(key), Buffer.from(value)));
}

export function del(store: KVStore, ws: WatchableStore, key: string, end?: string): bigint {
  return apply(store, ws, (t) =>
    t.deleteRange(Buffer.from(key), end === undefined ? undefined : Buffer.from(end)),
  );
}

/** Lets the catch-up loop run until no watcher is catching up or parked (a generous bound of turns). */
export async function settle(ws: WatchableStore, maxTurns = 100_000): Promise<void> {
  for (let i = 0; i < maxTurns && !ws.idle(); i++) await new Promise((r) => setImmediate(r));
  if (!ws.idle()) throw new Error(`watchable store did not settle: ${JSON.stringify(ws.stats())}`);
}

/** Lets queued setImmediate work run. */
export async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

export const str = (b: Uint8Array): string => Buffer.from(b).toString();

/** "PUT k=v@rev" / "DELETE k@rev" for compact assertions. */
export function fmt(resp: WatchResponse): string[] {
  return resp.events.map((e) =>
    e.type === "PUT"
      ? `PUT ${str(e.kv.key)}=${str(e.kv.value)}@${e.kv.modRevision}`
      : `DELETE ${str(e.kv.key)}@${e.kv.modRevision}`,
  );
}
