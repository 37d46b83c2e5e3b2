// Owns one client watch stream (etcd's mvcc watchStream plus the ordering half of v3rpc's serverWatchStream):
// watch IDs, the watchers created on it, and the ordered hand-off of responses to its consumer. Control
// responses (created, canceled, progress) are never dropped: while the consumer is full they wait in a short
// queue, and no event goes out until they have, so a watcher's created response always precedes its events.

import { bytesKey } from "./btree.js";
import {
  type KeyRange,
  type WatchCreateOptions,
  type Watcher,
  type WatchResponse,
  watchResponse,
} from "./watcher.js";

/** etcd's ctrlStreamBufLen: control responses a stream queues before its consumer should stop reading requests. */
export const MAX_PENDING_CONTROL = 16;

/** etcd's cancel reasons for a refused create (the response has created and canceled set, watch_id -1). */
export const ERR_EMPTY_WATCHER_RANGE = "mvcc: watcher range is empty";
export const ERR_DUPLICATE_WATCH_ID = "mvcc: duplicate watch ID provided on the WatchStream";

/**
 * Hands one response to the consumer. Returns false when the consumer is full and did NOT take it; the
 * consumer must then call `resume()` once it can take more (grpc-js: on 'drain').
 */
export type SendFn = (resp: WatchResponse) => boolean;

/** What a stream needs from its watchable store. */
export interface WatcherHost {
  /** The revision the store's watchers have been notified up to. */
  readonly revision: bigint;
  addWatcher(stream: WatchStream, id: bigint, range: KeyRange, opts: WatchCreateOptions): Watcher;
  removeWatcher(w: Watcher): void;
  retryVictims(stream: WatchStream): void;
  streamClosed(stream: WatchStream): void;
}

export class WatchStream {
  /** Victims of this stream in the order they were parked (managed by the store). */
  readonly victims = new Set<Watcher>();
  /** Watchers that are unsynced or victims (managed by the store): a progress request waits for them. */
  pendingWatchers = 0;
  private readonly watchers = new Map<bigint, Watcher>();
  private readonly control: WatchResponse[] = [];
  private nextId = 0n;
  private blocked = false;
  private closed = false;
  private progressRequested = false;

  constructor(
    private readonly host: WatcherHost,
    private readonly sendFn: SendFn,
  ) {}

  /** Number of watch IDs in use (compacted watchers keep theirs until canceled, as in etcd). */
  get size(): number {
    return this.watchers.size;
  }

  /** False while too many control responses wait: the consumer should stop reading requests until 'drain'. */
  get acceptingRequests(): boolean {
    return this.control.length < MAX_PENDING_CONTROL;
  }

  /**
   * Creates a watcher and sends its created response (before any of its events). Returns its ID, or -1n if
   * refused (empty range, duplicate ID): the response then has created and canceled set, as etcd's.
   */
  watch(opts: WatchCreateOptions): bigint {
    if (this.closed) return -1n;
    const rev = this.host.revision;
    const range = keyRange(opts.key, opts.rangeEnd);
    const refuse = (reason: string): bigint => {
      this.sendControl(watchResponse(-1n, rev, { created: true, canceled: true, cancelReason: reason }));
      return -1n;
    };
    if (!range) return refuse(ERR_EMPTY_WATCHER_RANGE);
    let id = opts.watchId ?? 0n;
    if (id === 0n) {
      // etcd: auto IDs count up per stream from 0, skipping IDs in use; a canceled ID is not reused.
      while (this.watchers.has(this.nextId)) this.nextId++;
      id = this.nextId++;
    } else if (this.watchers.has(id)) {
      return refuse(ERR_DUPLICATE_WATCH_ID);
    }
    const w = this.host.addWatcher(this, id, range, opts);
    this.watchers.set(id, w);
    this.sendControl(watchResponse(id, rev, { created: true }));
    return id;
  }

  /** Refuses a create for a reason found above the store (auth): created and canceled set, watch_id -1. */
  refuse(reason: string): void {
    if (this.closed) return;
    this.sendControl(
      watchResponse(-1n, this.host.revision, { created: true, canceled: true, cancelReason: reason }),
    );
  }

  /** Cancels watcher `id` and sends {watch_id, canceled}; an unknown ID is ignored (no response, as etcd). */
  cancel(id: bigint): boolean {
    const w = this.watchers.get(id);
    if (!w || this.closed) return false;
    this.watchers.delete(id);
    this.host.removeWatcher(w);
    this.sendControl(watchResponse(id, this.host.revision, { canceled: true }));
    return true;
  }

  /**
   * Asks for a progress response (watch_id -1, header revision = current revision). Sent once every watcher
   * of the stream is synced, so it never overtakes events it claims to cover (etcd 3.4.25+/3.5.8+; 3.4.23
   * could answer before pending events, bug #15220). Repeated requests while one is deferred coalesce.
   */
  requestProgress(): void {
    if (this.closed) return;
    if (this.pendingWatchers === 0) this.sendControl(watchResponse(-1n, this.host.revision));
    else this.progressRequested = true;
  }

  /** The consumer can take responses again: flush control responses, then retry this stream's victims. */
  resume(): void {
    if (this.closed) return;
    this.blocked = false;
    while (this.control.length > 0) {
      if (!this.sendFn(this.control[0]!)) {
        this.blocked = true;
        return;
      }
      this.control.shift();
    }
    this.host.retryVictims(this);
  }

  /** Cancels every watcher without responses (the client went away). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.watchers.values()) this.host.removeWatcher(w);
    this.watchers.clear();
    this.control.length = 0;
    this.host.streamClosed(this);
  }

  /** @internal Event path: false (and nothing sent) while the consumer is full or control responses wait. */
  deliver(resp: WatchResponse): boolean {
    if (this.closed) return true;
    if (this.blocked || this.control.length > 0) return false;
    if (this.sendFn(resp)) return true;
    this.blocked = true;
    return false;
  }

  /** @internal Called by the store when the last pending watcher of this stream became synced or went away. */
  allSynced(): void {
    if (!this.progressRequested || this.closed) return;
    this.progressRequested = false;
    this.sendControl(watchResponse(-1n, this.host.revision));
  }

  private sendControl(resp: WatchResponse): void {
    if (this.closed) return;
    if (!this.blocked && this.control.length === 0) {
      if (this.sendFn(resp)) return;
      this.blocked = true;
    }
    this.control.push(resp);
  }
}

/** etcd's watch range rules; undefined when the range is empty (end <= key). */
export function keyRange(key: Uint8Array, rangeEnd: Uint8Array | undefined): KeyRange | undefined {
  const start = key.length === 0 ? "\0" : bytesKey(key); // etcd: an empty key means "\0", the smallest key
  if (rangeEnd === undefined || rangeEnd.length === 0) return { start, end: undefined };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { start, end: null };
  const end = bytesKey(rangeEnd);
  return end > start ? { start, end } : undefined;
}
