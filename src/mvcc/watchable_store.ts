// Owns etcd's watchableStore: the watchers of a KVStore in a synced group (fed by notify() with each applied
// write's events) and an unsynced group (catching up from the backend in bounded rounds on a setImmediate
// loop, off the apply path); victims (a watcher whose stream is full parks one response and is retried when
// that stream drains, never blocking apply or other watchers); compaction cancels; prev_kv; progress.

import { assert } from "../backend/assert.js";
import { bytesKey } from "./btree.js";
import type { Event, KeyValue } from "./kv.js";
import type { KVStore } from "./store.js";
import { type SendFn, type WatcherHost, WatchStream } from "./watch_stream.js";
import {
  type KeyRange,
  type WatchCreateOptions,
  type WatchEvent,
  Watcher,
  type WatcherState,
  type WatchResponse,
  watchResponse,
} from "./watcher.js";
import { WatcherGroup } from "./watcher_group.js";

/** Events read from the backend per catch-up round (whole revisions: one huge revision may exceed it). */
export const MAX_WATCH_EVENTS_PER_BATCH = 1000;
/**
 * Bytes of events in one catching-up response, counted in whole revisions (the revision crossing it is kept).
 * etcd 3.4 bounds these only by 1000 revisions, which can exceed a client's 4 MiB default receive limit.
 */
export const MAX_WATCH_RESPONSE_BYTES = 1024 * 1024;
/** etcd's maxWatchersPerSync: unsynced watchers served per catch-up round. */
export const MAX_WATCHERS_PER_SYNC = 512;
/** etcd's default --experimental-watch-progress-notify-interval. */
export const DEFAULT_PROGRESS_NOTIFY_INTERVAL_MS = 10 * 60 * 1000;

export interface WatchableStoreOptions {
  /** Events per catch-up read, and so per catching-up response (default MAX_WATCH_EVENTS_PER_BATCH). */
  maxEventsPerBatch?: number;
  /** Bytes per catching-up response (default MAX_WATCH_RESPONSE_BYTES). */
  maxResponseBytes?: number;
  /** Default MAX_WATCHERS_PER_SYNC. */
  maxWatchersPerSync?: number;
  /** Progress notifications for progress_notify watchers: every interval + 0–10 % jitter (etcd's). */
  progressNotifyIntervalMs?: number;
  /** Source of the jitter, in [0, 1) (default Math.random). */
  random?: () => number;
}

export interface WatchableStats {
  streams: number;
  synced: number;
  unsynced: number;
  victims: number;
  /** Times notify() saw a revision gap (a write the server did not notify) and re-synced from the backend. */
  resyncs: number;
}

export class WatchableStore implements WatcherHost {
  private readonly synced = new WatcherGroup();
  /** Insertion-ordered: a watcher that stays unsynced after a round goes to the back (round robin). */
  private readonly unsynced = new Set<Watcher>();
  private readonly progressWatchers = new Set<Watcher>();
  private readonly streams = new Set<WatchStream>();
  private readonly maxEvents: number;
  private readonly maxResponseBytes: number;
  private readonly maxWatchersPerSync: number;
  private readonly progressIntervalMs: number;
  private readonly random: () => number;
  private rev: bigint;
  private victimCount = 0;
  private resyncs = 0;
  private syncImmediate: NodeJS.Immediate | undefined;
  private progressTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    readonly kv: KVStore,
    opts: WatchableStoreOptions = {},
  ) {
    this.maxEvents = opts.maxEventsPerBatch ?? MAX_WATCH_EVENTS_PER_BATCH;
    this.maxResponseBytes = opts.maxResponseBytes ?? MAX_WATCH_RESPONSE_BYTES;
    this.maxWatchersPerSync = opts.maxWatchersPerSync ?? MAX_WATCHERS_PER_SYNC;
    this.progressIntervalMs = opts.progressNotifyIntervalMs ?? DEFAULT_PROGRESS_NOTIFY_INTERVAL_MS;
    this.random = opts.random ?? Math.random;
    assert(this.maxEvents >= 1 && this.maxWatchersPerSync >= 1, "watch batch limits must be >= 1");
    assert(this.progressIntervalMs >= 1, "progress notify interval must be >= 1 ms");
    this.rev = kv.revision;
  }

  /** The revision watchers have been notified up to (the store's revision once the server notified it). */
  get revision(): bigint {
    return this.rev;
  }

  /** Opens a watch stream whose responses go to `send` (see SendFn for the back-pressure contract). */
  newStream(send: SendFn): WatchStream {
    assert(!this.closed, "newStream on a closed watchable store");
    const s = new WatchStream(this, send);
    this.streams.add(s);
    return s;
  }

  /**
   * Tells watchers about one applied write: `changes` are its events, all of `revision`. The server calls
   * this after every write txn that changed something, in apply order, synchronously after it committed.
   */
  notify(changes: readonly Event[], revision: bigint): void {
    if (this.closed || changes.length === 0) return;
    assert(revision > this.rev, () => `watch notify of revision ${revision} after ${this.rev}`);
    if (revision !== this.rev + 1n) {
      // A write went un-notified: synced watchers catch up from the backend, which has every revision.
      this.resync();
      this.rev = revision;
      this.scheduleSync();
      return;
    }
    this.rev = revision;
    if (this.synced.size === 0) return;
    if (changes.length === 1) {
      this.notifyOne(changes[0]!, revision);
      return;
    }
    const batches = new Map<Watcher, Event[]>();
    for (const ev of changes) {
      assert(ev.kv.modRevision === revision, "a notify batch holds one revision");
      this.synced.forKey(bytesKey(ev.kv.key), (w) => {
        if (revision < w.minRev || !w.accepts(ev)) return;
        const b = batches.get(w);
        if (b) b.push(ev);
        else batches.set(w, [ev]);
      });
    }
    const prev = new PrevKvs(this.kv);
    for (const [w, evs] of batches) this.deliverSynced(w, evs, revision, prev);
  }

  /** notify() of a write with one event (most writes): every watcher shares one events array. */
  private notifyOne(ev: Event, revision: bigint): void {
    assert(ev.kv.modRevision === revision, "a notify batch holds one revision");
    const targets: Watcher[] = [];
    this.synced.forKey(bytesKey(ev.kv.key), (w) => {
      if (revision >= w.minRev && w.accepts(ev)) targets.push(w);
    });
    if (targets.length === 0) return;
    const prev = new PrevKvs(this.kv);
    const plain: Event[] = [ev];
    let withPrev: WatchEvent[] | undefined;
    for (const w of targets) {
      let events: readonly WatchEvent[] = plain;
      if (w.opts.prevKv) {
        withPrev ??= [prev.withPrev(ev)];
        events = withPrev;
      }
      this.deliverSynced(w, events, revision, undefined);
    }
  }

  /** Sends a synced watcher its events of one revision, or parks it when its stream is full. */
  private deliverSynced(
    w: Watcher,
    evs: readonly WatchEvent[],
    revision: bigint,
    prev: PrevKvs | undefined,
  ): void {
    if (w.state !== "synced") return; // canceled by an earlier send's consumer
    w.minRev = revision + 1n;
    const events = prev !== undefined && w.opts.prevKv ? evs.map((e) => prev.withPrev(e as Event)) : evs;
    const resp = watchResponse(w.id, revision, { events, fragment: !!w.opts.fragment });
    if (w.stream.deliver(resp)) {
      w.progressDue = false;
    } else {
      this.synced.delete(w);
      this.park(w, resp);
    }
  }

  /**
   * One catch-up round (etcd's syncWatchers): up to maxWatchersPerSync unsynced watchers, events read from
   * the lowest revision they need, at most maxEventsPerBatch. Returns how many watchers remain unsynced.
   */
  syncWatchers(): number {
    if (this.closed) return 0;
    const curRev = this.rev;
    const compactRev = this.kv.compactRevision;
    const chosen: Watcher[] = [];
    let minRev = curRev + 1n;
    for (const w of this.unsynced) {
      if (chosen.length >= this.maxWatchersPerSync) break;
      this.unsynced.delete(w);
      if (w.minRev < compactRev) {
        // etcd: one response with compact_revision (header revision 0) and the watcher is done.
        const resp = watchResponse(w.id, 0n, { canceled: true, compactRevision: compactRev });
        if (!w.stream.deliver(resp)) this.park(w, resp);
        else if (w.state === "unsynced") this.finish(w, "compacted");
        continue;
      }
      chosen.push(w);
      if (w.minRev < minRev) minRev = w.minRev;
    }
    if (chosen.length === 0) return this.unsynced.size;

    const evs = minRev <= curRev ? this.kv.events(minRev, curRev, this.maxEvents) : [];
    // A full read may stop early (at a revision boundary); a short one covered everything up to curRev.
    const coveredTo = evs.length >= this.maxEvents ? evs[evs.length - 1]!.kv.modRevision : curRev;
    const group = new WatcherGroup();
    for (const w of chosen) group.add(w);
    const batches = new Map<Watcher, CatchUpBatch>();
    for (const ev of evs) {
      group.forKey(bytesKey(ev.kv.key), (w) => {
        if (ev.kv.modRevision < w.minRev || !w.accepts(ev)) return;
        let b = batches.get(w);
        if (!b) {
          b = { evs: [], bytes: 0, moreRev: 0n };
          batches.set(w, b);
        }
        if (b.moreRev !== 0n) return;
        const rev = ev.kv.modRevision;
        if (b.bytes >= this.maxResponseBytes && rev !== b.evs[b.evs.length - 1]!.kv.modRevision) {
          b.moreRev = rev; // full: the rest comes in the next round
          return;
        }
        b.evs.push(ev);
        b.bytes += eventBytes(ev) * (w.opts.prevKv ? 2 : 1);
      });
    }
    const prev = new PrevKvs(this.kv);
    for (const w of chosen) {
      if (w.state !== "unsynced") continue; // canceled by an earlier send's consumer
      const b = batches.get(w);
      const next = b && b.moreRev !== 0n ? b.moreRev : coveredTo + 1n;
      if (w.minRev < next) w.minRev = next;
      if (!b) {
        this.place(w);
        continue;
      }
      // etcd: a catching-up response carries the store revision at send time in its header.
      const resp = this.eventResponse(w, b.evs, curRev, prev);
      if (!w.stream.deliver(resp)) this.park(w, resp);
      else if (w.state === "unsynced") {
        w.progressDue = false;
        this.place(w);
      }
    }
    return this.unsynced.size;
  }

  /** Periodic progress (etcd's progress ticker): synced progress_notify watchers that sent nothing since. */
  progressTick(): void {
    for (const w of this.progressWatchers) {
      // A refused progress response is dropped: a full stream is busy with events anyway (etcd).
      if (w.progressDue && w.state === "synced")
        w.stream.deliver(watchResponse(w.id, this.rev, { fragment: !!w.opts.fragment }));
      w.progressDue = true;
    }
  }

  stats(): WatchableStats {
    return {
      streams: this.streams.size,
      synced: this.synced.size,
      unsynced: this.unsynced.size,
      victims: this.victimCount,
      resyncs: this.resyncs,
    };
  }

  /** True when no watcher is catching up or parked. */
  idle(): boolean {
    return this.unsynced.size === 0 && this.victimCount === 0;
  }

  /** Closes every stream (no responses) and stops the timers. */
  close(): void {
    if (this.closed) return;
    for (const s of [...this.streams]) s.close();
    this.closed = true;
    if (this.syncImmediate) clearImmediate(this.syncImmediate);
    if (this.progressTimer) clearTimeout(this.progressTimer);
    this.syncImmediate = undefined;
    this.progressTimer = undefined;
  }

  // ---- WatcherHost: called by streams ------------------------------------------------------------

  /** @internal */
  addWatcher(stream: WatchStream, id: bigint, range: KeyRange, opts: WatchCreateOptions): Watcher {
    const rev = this.rev;
    const start = opts.startRevision ?? 0n;
    let minRev: bigint;
    if (start === 0n) minRev = rev + 1n;
    else if (start < 0n && start >= this.kv.compactRevision) {
      // etcd reads nothing for such a watcher and syncs it at current + 1 (below the compact revision, it
      // is canceled as compacted like any other).
      minRev = rev + 1n;
    } else minRev = start;
    const w = new Watcher(id, stream, range, { ...opts }, minRev);
    stream.pendingWatchers++; // born unsynced; place() settles it
    this.place(w);
    if (opts.progressNotify) {
      this.progressWatchers.add(w);
      this.armProgress();
    }
    return w;
  }

  /** @internal */
  removeWatcher(w: Watcher): void {
    switch (w.state) {
      case "synced":
        this.synced.delete(w);
        break;
      case "unsynced":
        this.unsynced.delete(w);
        break;
      case "victim":
        w.stream.victims.delete(w);
        w.parked = undefined;
        this.victimCount--;
        break;
      case "compacted":
      case "canceled":
        break;
      default:
        assertNever(w.state);
    }
    this.progressWatchers.delete(w);
    this.setState(w, "canceled");
  }

  /** @internal Resends parked responses of `stream`'s victims, in order, until the stream is full again. */
  retryVictims(stream: WatchStream): void {
    for (const w of stream.victims) {
      const resp = w.parked!;
      if (!stream.deliver(resp)) return;
      if (w.state !== "victim") continue; // canceled by the consumer during the send
      stream.victims.delete(w);
      w.parked = undefined;
      this.victimCount--;
      if (resp.compactRevision !== 0n) {
        this.finish(w, "compacted");
        continue;
      }
      if (resp.events.length > 0) w.progressDue = false;
      this.place(w);
    }
  }

  /** @internal */
  streamClosed(stream: WatchStream): void {
    this.streams.delete(stream);
  }

  // ---- internals -----------------------------------------------------------------------------------

  /** Puts a (chosen, parked or new) watcher where its next revision says: catching up, or synced. */
  private place(w: Watcher): void {
    if (w.minRev <= this.rev) {
      this.unsynced.add(w);
      this.setState(w, "unsynced");
      this.scheduleSync();
    } else {
      this.synced.add(w);
      this.setState(w, "synced");
    }
  }

  private park(w: Watcher, resp: WatchResponse): void {
    w.parked = resp;
    w.stream.victims.add(w);
    this.victimCount++;
    this.setState(w, "victim");
  }

  private finish(w: Watcher, state: "compacted" | "canceled"): void {
    this.progressWatchers.delete(w);
    this.setState(w, state);
  }

  /** Keeps each stream's count of unsynced/victim watchers, which deferred progress requests wait on. */
  private setState(w: Watcher, next: WatcherState): void {
    const was = isPending(w.state);
    w.state = next;
    const now = isPending(next);
    if (was === now) return;
    if (now) {
      w.stream.pendingWatchers++;
      return;
    }
    w.stream.pendingWatchers--;
    assert(w.stream.pendingWatchers >= 0, "negative pending watcher count");
    if (w.stream.pendingWatchers === 0) w.stream.allSynced();
  }

  /** Moves every synced watcher to catch up from the backend from the last notified revision on. */
  private resync(): void {
    this.resyncs++;
    for (const w of [...this.synced]) {
      if (w.minRev > this.rev + 1n) continue; // a future start revision: nothing of the gap concerns it
      this.synced.delete(w);
      w.minRev = this.rev + 1n;
      this.unsynced.add(w);
      this.setState(w, "unsynced");
    }
  }

  private eventResponse(w: Watcher, evs: Event[], revision: bigint, prev: PrevKvs): WatchResponse {
    const events: readonly WatchEvent[] = w.opts.prevKv ? evs.map((e) => prev.withPrev(e)) : evs;
    return watchResponse(w.id, revision, { events, fragment: !!w.opts.fragment });
  }

  private scheduleSync(): void {
    if (this.syncImmediate || this.closed || this.unsynced.size === 0) return;
    this.syncImmediate = setImmediate(() => {
      this.syncImmediate = undefined;
      this.syncWatchers();
      this.scheduleSync();
    });
  }

  private armProgress(): void {
    if (this.progressTimer || this.closed) return;
    const jitter = Math.floor(this.random() * (this.progressIntervalMs / 10));
    this.progressTimer = setTimeout(() => {
      this.progressTimer = undefined;
      this.progressTick();
      if (this.progressWatchers.size > 0) this.armProgress();
    }, this.progressIntervalMs + jitter);
    this.progressTimer.unref();
  }
}

interface CatchUpBatch {
  evs: Event[];
  bytes: number;
  /** First revision left out because the response is full (0n: none). */
  moreRev: bigint;
}

/** Roughly what an event costs on the wire: its key and value plus the fixed fields. */
function eventBytes(ev: Event): number {
  return ev.kv.key.length + ev.kv.value.length + 32;
}

function isPending(s: WatcherState): boolean {
  return s === "unsynced" || s === "victim";
}

function assertNever(x: never): never {
  throw new Error(`unexpected watcher state ${String(x)}`);
}

/**
 * prev_kv lookups for one notify or catch-up round, each done once however many watchers want it: the key
 * at mod_revision - 1 (etcd's sendLoop). Omitted when that revision is compacted or the key did not exist.
 */
class PrevKvs {
  private readonly memo = new Map<Event, WatchEvent>();

  constructor(private readonly kv: KVStore) {}

  withPrev(ev: Event): WatchEvent {
    let out = this.memo.get(ev);
    if (out) return out;
    const prevKv = this.lookup(ev);
    out = prevKv ? { type: ev.type, kv: ev.kv, prevKv } : ev;
    this.memo.set(ev, out);
    return out;
  }

  private lookup(ev: Event): KeyValue | undefined {
    if (ev.type === "PUT" && ev.kv.version === 1n) return undefined; // a create has no previous version
    const at = ev.kv.modRevision - 1n;
    if (at < 1n || at < this.kv.compactRevision) return undefined;
    try {
      return this.kv.range(ev.kv.key, undefined, { rev: at }).kvs[0];
    } catch {
      return undefined; // compacted or closed meanwhile: etcd sends what it can
    }
  }
}
