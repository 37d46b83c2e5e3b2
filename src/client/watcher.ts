// Owns one watcher as its user sees it: an async iterable of event batches that remembers the next revision
// it needs, so the stream can re-create it after a reconnect with nothing lost or repeated.
import type { Event, ResponseHeader, WatchCreateRequest } from "../proto/index.js";
import { WatchCreateRequest_FilterType } from "../proto/index.js";
import { type EtcdError, Status, WatchCanceledError } from "./errors.js";
import { type Bytes, type RangeOptions, resolveRange } from "./keys.js";
import type { Revision } from "./ops.js";
import { AsyncQueue } from "./queue.js";

/** Responses buffered per watcher for a slow consumer before the shared stream stops reading (back-pressure). */
export const MAX_WATCHER_BUFFER = 1024;

export interface WatchOptions extends RangeOptions {
  /** First revision to deliver (history is replayed from it); default: the next write. */
  startRevision?: Revision;
  /** Each PUT/DELETE event carries the key-value before it in `prevKv`. */
  prevKv?: boolean;
  /** Server-side filters. */
  noPut?: boolean;
  noDelete?: boolean;
  /** Ask the server for periodic progress notifications while idle. */
  progressNotify?: boolean;
  /** Let the server split very large revisions into fragments (the client joins them again). */
  fragment?: boolean;
  /** Aborting cancels the watcher (the iteration ends normally). */
  signal?: AbortSignal;
}

/** One batch a watcher delivers. */
export interface WatchResponse {
  /** `header.revision`: the store revision when sent; for a progress notification, a revision ≥ every event
   * delivered so far, and below every event to come. */
  header: ResponseHeader;
  /** Events in revision order; empty for a progress notification. */
  events: Event[];
  progressNotify: boolean;
}

/** Rewrites a batch's events before delivery (a namespace strips its prefix from the keys). */
export type EventMapper = (events: Event[]) => Event[];

/** What a watcher needs from the stream that carries it. */
export interface WatcherHost {
  remove(w: Watcher): void;
  drained(): void;
}

/**
 * A watch on a key or range: iterate it with `for await` to get each batch of events. The iteration ends when
 * the watcher is canceled (`cancel()`, `break`, its signal, the client closing) and throws `CompactedError`
 * if the revisions it needs were compacted, or the server's reason if the server canceled it.
 */
export class Watcher implements AsyncIterable<WatchResponse> {
  /** Resolves with the revision the watch was created at (events start after it); rejects if creation failed. */
  readonly created: Promise<Revision>;
  /** @internal The server's watch ID on the current stream. */
  id: bigint | undefined;
  private nextRev: Revision;
  private readonly queue: AsyncQueue<WatchResponse>;
  private readonly base: Omit<WatchCreateRequest, "startRevision" | "watchId">;
  private resolveCreated!: (rev: Revision) => void;
  private rejectCreated!: (err: unknown) => void;
  private isCreated = false;
  private canceled = false;

  /** @internal */
  constructor(
    key: Bytes,
    options: WatchOptions,
    private readonly host: WatcherHost,
    private readonly mapEvents?: EventMapper,
  ) {
    const filters: WatchCreateRequest_FilterType[] = [];
    if (options.noPut) filters.push(WatchCreateRequest_FilterType.NOPUT);
    if (options.noDelete) filters.push(WatchCreateRequest_FilterType.NODELETE);
    this.base = {
      ...resolveRange(key, options),
      progressNotify: options.progressNotify ?? false,
      filters,
      prevKv: options.prevKv ?? false,
      fragment: options.fragment ?? false,
    };
    this.nextRev = options.startRevision ?? 0n;
    this.queue = new AsyncQueue<WatchResponse>(MAX_WATCHER_BUFFER, {
      onTake: () => host.drained(),
      onReturn: () => this.cancel(),
    });
    this.created = new Promise<Revision>((resolve, reject) => {
      this.resolveCreated = resolve;
      this.rejectCreated = reject;
    });
    this.created.catch(() => {}); // a caller that never awaits it must not see an unhandled rejection
    if (options.signal) {
      if (options.signal.aborted) queueMicrotask(() => this.cancel());
      else options.signal.addEventListener("abort", () => this.cancel(), { once: true });
    }
  }

  /** Every matching event up to this revision has been received (delivered or buffered); 0 before creation. */
  get revision(): Revision {
    return this.nextRev > 0n ? this.nextRev - 1n : 0n;
  }

  /** Stops the watcher; the iteration ends after the batches already received. Idempotent. */
  cancel(): void {
    if (this.canceled) return;
    this.canceled = true;
    this.finish(undefined);
    this.host.remove(this);
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchResponse> {
    return this.queue;
  }

  /** @internal The create request: from the next revision it still needs. */
  createRequest(): WatchCreateRequest {
    return { ...this.base, startRevision: this.nextRev, watchId: 0n };
  }

  /** @internal */
  get full(): boolean {
    return this.queue.size >= MAX_WATCHER_BUFFER;
  }

  /** @internal */
  get ended(): boolean {
    return this.queue.isEnded;
  }

  /** @internal The server confirmed the watcher (first time or after a reconnect). */
  onCreated(header: ResponseHeader | undefined): void {
    // etcd starts a watch without start revision at header.revision + 1.
    if (this.nextRev === 0n) this.nextRev = (header?.revision ?? 0n) + 1n;
    if (!this.isCreated) {
      this.isCreated = true;
      this.resolveCreated(this.nextRev - 1n);
    }
  }

  /**
   * @internal Events (or a progress notification) for this watcher. Returns false when the buffer is full.
   * `advance`: a progress notification may move the resume revision (only those sent to this watcher, which
   * etcd sends once it is caught up; a stream-wide progress response can precede pending events in 3.4.23).
   */
  onResponse(header: ResponseHeader | undefined, events: Event[], advance: boolean): boolean {
    const h = header ?? { clusterId: 0n, memberId: 0n, revision: 0n, raftTerm: 0n };
    if (events.length === 0) {
      if (advance && h.revision >= this.nextRev) this.nextRev = h.revision + 1n;
      return this.queue.push({ header: h, events: [], progressNotify: true });
    }
    // Drop what was already delivered (a replay after reconnect starts exactly at nextRev; this is a guard).
    const fresh = events.filter((e) => (e.kv?.modRevision ?? 0n) >= this.nextRev);
    if (fresh.length === 0) return true;
    this.nextRev = fresh[fresh.length - 1]!.kv!.modRevision + 1n;
    const delivered = this.mapEvents ? this.mapEvents(fresh) : fresh;
    return this.queue.push({ header: h, events: delivered, progressNotify: false });
  }

  /** @internal Ends the watcher: normally (undefined) or with an error for the consumer. */
  finish(err: EtcdError | undefined): void {
    if (!this.isCreated) {
      this.isCreated = true;
      this.rejectCreated(err ?? new WatchCanceledError(Status.CANCELLED, "etcd client: watcher canceled"));
    }
    this.queue.end(err);
  }
}
