// Owns the client's one Watch stream: multiplexes watchers (created FIFO, matched by watch ID), joins
// fragments, pauses on slow consumers, and after a reconnect re-creates each watcher from its next revision.
import {
  type Event,
  type WatchRequest,
  WatchService,
  type WatchResponse as WireResponse,
} from "../proto/index.js";
import type { Caller } from "./call.js";
import {
  type EtcdError,
  errorFromMessage,
  EtcdError as PlainError,
  Status,
  WatchCanceledError,
  watchCompactedError,
} from "./errors.js";
import { ReconnectingStream } from "./stream.js";
import type { Watcher, WatcherHost } from "./watcher.js";

/** Reconnect backoff of the watch stream (doubling, with jitter). */
export const WATCH_RECONNECT_BASE_MS = 100;
export const WATCH_RECONNECT_MAX_MS = 2_000;

/** The error a canceled watch response carries: compaction, or the server's reason. */
function canceledError(r: WireResponse): EtcdError {
  if (r.compactRevision > 0n) return watchCompactedError(r.compactRevision);
  if (r.cancelReason === "") return new WatchCanceledError(Status.CANCELLED, "etcdserver: watch canceled");
  // etcd 3.4 puts the Go error's text here: "rpc error: code = PermissionDenied desc = etcdserver: ...".
  const m = GO_STATUS.exec(r.cancelReason);
  const code = m ? (CODE_BY_NAME.get(m[1]!.toLowerCase()) ?? Status.CANCELLED) : Status.CANCELLED;
  const e = errorFromMessage(code, m ? m[2]! : r.cancelReason);
  return e.constructor === PlainError ? new WatchCanceledError(code, r.cancelReason) : e;
}

const GO_STATUS = /^rpc error: code = (\w+) desc = (.*)$/s;
/** grpc-go's code names (codes.Code.String()) → status codes. */
const CODE_BY_NAME = new Map<string, Status>(
  Object.entries(Status)
    .filter((e): e is [string, Status] => typeof e[1] === "number")
    .map(([name, code]) => [name.toLowerCase().replace(/_/g, ""), code] as [string, Status])
    .concat([["canceled", Status.CANCELLED]]),
);

export class WatchStream implements WatcherHost {
  private readonly stream: ReconnectingStream<WatchRequest, WireResponse>;
  /** Every watcher not yet ended, in creation order (the order they are re-created in). */
  private readonly live = new Set<Watcher>();
  /** Watchers whose create request was sent on the current call, awaiting `created` (FIFO, as etcd answers). */
  private pending: Watcher[] = [];
  private readonly byId = new Map<bigint, Watcher>();
  private readonly fragments = new Map<bigint, Event[]>();

  constructor(
    private readonly caller: Caller,
    requireLeader: boolean | undefined,
  ) {
    const opts = { requireLeader, baseMs: WATCH_RECONNECT_BASE_MS, maxMs: WATCH_RECONNECT_MAX_MS };
    this.stream = new ReconnectingStream(caller, WatchService.watch, opts, {
      wanted: () => this.live.size > 0,
      opened: () => {
        for (const w of this.live) this.sendCreate(w);
      },
      message: (r) => this.onResponse(r),
      broken: () => {
        this.pending = [];
        this.byId.clear();
        this.fragments.clear();
        for (const w of this.live) w.id = undefined;
      },
      halted: (err) => this.failAll(err),
    });
  }

  add(w: Watcher): void {
    if (w.ended) return;
    this.live.add(w);
    if (this.stream.isOpen) this.sendCreate(w);
    else this.stream.ensure();
  }

  remove(w: Watcher): void {
    if (!this.live.delete(w)) return;
    if (w.id !== undefined && this.byId.get(w.id) === w) {
      this.byId.delete(w.id);
      this.stream.write({ requestUnion: { $case: "cancelRequest", value: { watchId: w.id } } });
    }
    // A watcher still waiting for `created` is canceled when that arrives.
    this.closeIfIdle();
    this.drained();
  }

  /** Asks the server for a progress notification, delivered to every watcher. False if no stream is open. */
  requestProgress(): boolean {
    if (!this.stream.isOpen) return false;
    this.stream.write({ requestUnion: { $case: "progressRequest", value: {} } });
    return true;
  }

  /** A consumer took a batch: resume reading once no watcher's buffer is full. */
  drained(): void {
    if (!this.stream.isPaused) return;
    for (const w of this.live) if (w.full) return;
    this.stream.resume();
  }

  /** The client is closing: every watcher's iteration ends. */
  close(): void {
    const all = [...this.live];
    this.live.clear();
    for (const w of all) w.finish(undefined);
    this.stream.close();
  }

  private onResponse(r: WireResponse): void {
    if (r.created) {
      const w = this.pending.shift();
      if (!w) return;
      if (r.canceled || r.watchId < 0n) {
        const err = canceledError(r);
        // The stream's token expired or was revoked: reopen it with a new one; every watcher is re-created.
        if (this.live.has(w) && this.caller.tokenRejected(err)) {
          this.stream.restart();
          return;
        }
        this.live.delete(w);
        w.finish(err);
        this.closeIfIdle();
      } else if (!this.live.has(w)) {
        this.stream.write({ requestUnion: { $case: "cancelRequest", value: { watchId: r.watchId } } });
      } else {
        this.stream.healthy();
        w.id = r.watchId;
        this.byId.set(r.watchId, w);
        w.onCreated(r.header);
      }
      return;
    }
    if (r.watchId === -1n) {
      // Answer to a progress request: for every watcher, without moving its resume revision.
      for (const w of this.byId.values()) this.deliver(w, r, [], false);
      return;
    }
    const w = this.byId.get(r.watchId);
    if (!w) return;
    if (r.canceled) {
      this.byId.delete(r.watchId);
      this.live.delete(w);
      w.finish(canceledError(r));
      this.closeIfIdle();
      return;
    }
    if (r.fragment) {
      const acc = this.fragments.get(r.watchId) ?? [];
      acc.push(...r.events);
      this.fragments.set(r.watchId, acc);
      return;
    }
    const head = this.fragments.get(r.watchId);
    if (head) this.fragments.delete(r.watchId);
    this.deliver(w, r, head ? head.concat(r.events) : r.events, true);
  }

  private deliver(w: Watcher, r: WireResponse, events: Event[], advance: boolean): void {
    if (!w.onResponse(r.header, events, advance)) this.stream.pause();
  }

  private sendCreate(w: Watcher): void {
    this.pending.push(w);
    this.stream.write({ requestUnion: { $case: "createRequest", value: w.createRequest() } });
  }

  private closeIfIdle(): void {
    if (this.live.size === 0) this.stream.close();
  }

  private failAll(error: EtcdError): void {
    const all = [...this.live];
    this.live.clear();
    for (const w of all) w.finish(error);
    this.stream.close();
  }
}
