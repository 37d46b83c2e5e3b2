// Owns one watcher (etcd's mvcc watcher) and the watch response shapes: a watcher's key range, the next
// revision it needs, its filters and options, and where it stands in the watchable store.

import type { Event, KeyValue } from "./kv.js";
import type { WatchStream } from "./watch_stream.js";

/** An event as a watcher receives it: mvccpb.Event, with prev_kv when the watcher asked for it. */
export interface WatchEvent {
  type: "PUT" | "DELETE";
  kv: KeyValue;
  prevKv?: KeyValue;
}

/** One response on a watch stream, before the API layer adds the cluster header (etcd's mvcc WatchResponse). */
export interface WatchResponse {
  /** -1n for a progress response to the whole stream and for a refused create. */
  watchId: bigint;
  /** The header's revision: the revision of the events (synced), the store revision (catching up, created,
   * canceled, progress), or 0 for a compaction cancel (as etcd sends it). */
  revision: bigint;
  events: readonly WatchEvent[];
  created: boolean;
  canceled: boolean;
  cancelReason: string;
  compactRevision: bigint;
  /** The watcher asked for fragment=true: the API layer may split this response if it is too large. */
  fragment: boolean;
}

/** What a client asks for when creating a watcher (etcd's WatchCreateRequest, range as in Range). */
export interface WatchCreateOptions {
  /** Empty means "\0", the smallest key. */
  key: Uint8Array;
  /** Empty: the single key; "\0": every key >= key; otherwise [key, rangeEnd), which must not be empty. */
  rangeEnd?: Uint8Array;
  /** 0 (default): from the next revision; past: replay history from there (inclusive); future: wait. */
  startRevision?: bigint;
  /** 0 (default): the stream picks the next free ID. */
  watchId?: bigint;
  noPut?: boolean;
  noDelete?: boolean;
  prevKv?: boolean;
  progressNotify?: boolean;
  fragment?: boolean;
}

/** A watcher's key range as binary strings (see bytesKey). */
export interface KeyRange {
  start: string;
  /** undefined: the single key `start`; null: every key >= start; otherwise the exclusive end. */
  end: string | null | undefined;
}

/**
 * synced: in the synced group, fed by notify. unsynced: catching up from the backend. victim: its stream
 * refused a response, which is parked here until the stream drains. compacted: canceled by a compaction, its
 * ID still reserved on the stream (as etcd). canceled: gone.
 */
export type WatcherState = "synced" | "unsynced" | "victim" | "compacted" | "canceled";

export class Watcher {
  state: WatcherState = "unsynced";
  /** A victim's refused response, sent again when its stream drains. At most one per watcher. */
  parked: WatchResponse | undefined;
  /** No event response since the last progress tick (etcd's progress[id]): the next tick sends progress. */
  progressDue = true;

  constructor(
    readonly id: bigint,
    readonly stream: WatchStream,
    readonly range: KeyRange,
    readonly opts: Readonly<WatchCreateOptions>,
    /** The next revision this watcher needs: everything before it went to the stream (or is parked). */
    public minRev: bigint,
  ) {}

  /** The watcher's filters let `ev` through (NOPUT drops puts, NODELETE drops deletes). */
  accepts(ev: Event): boolean {
    return ev.type === "PUT" ? !this.opts.noPut : !this.opts.noDelete;
  }
}

export function watchResponse(
  watchId: bigint,
  revision: bigint,
  fields: Partial<WatchResponse> = {},
): WatchResponse {
  // Field by field, not a spread: this runs once per watcher per event.
  return {
    watchId,
    revision,
    events: fields.events ?? [],
    created: fields.created ?? false,
    canceled: fields.canceled ?? false,
    cancelReason: fields.cancelReason ?? "",
    compactRevision: fields.compactRevision ?? 0n,
    fragment: fields.fragment ?? false,
  };
}
