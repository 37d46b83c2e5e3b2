// Owns the benchmarks' Watch streams: open raw streams, create many watchers on them, count `created`
// responses, and hand every event to a callback stamped with its arrival time.
import type { ClientDuplexStream } from "@grpc/grpc-js";
import type {
  Event,
  WatchClient,
  WatchCreateRequest_FilterType,
  WatchRequest,
  WatchResponse,
} from "../proto/index.js";
import { errText } from "./conns.js";
import { Countdown } from "./countdown.js";

export type OnEvents = (events: Event[], now: number) => void;

export interface CreateOptions {
  rangeEnd?: Buffer;
  filters?: WatchCreateRequest_FilterType[];
}

export class WatchStreams {
  private readonly calls: ClientDuplexStream<WatchRequest, WatchResponse>[];
  /** Counts `created` responses; reset by each createAll. */
  created = new Countdown(0);
  errors: string[] = [];

  constructor(clients: WatchClient[], onEvents: OnEvents) {
    this.calls = clients.map((c) => {
      const call = c.watch();
      call.on("data", (r: WatchResponse) => {
        const now = performance.now();
        if (r.created) this.created.tick(now);
        if (r.canceled) this.errors.push(`watch canceled: ${r.cancelReason}`);
        if (r.events.length > 0) onEvents(r.events, now);
      });
      call.on("error", (e) => {
        if (this.errors.length < 10) this.errors.push(errText(e));
      });
      return call;
    });
  }

  get streams(): number {
    return this.calls.length;
  }

  /** Creates `total` watchers on `key`, spread evenly over the streams; await `created.wait()` for them. */
  createAll(key: Buffer, total: number, opts: CreateOptions = {}): Countdown {
    this.created = new Countdown(total);
    for (let i = 0; i < total; i++) {
      const call = this.calls[i % this.calls.length]!;
      call.write({
        requestUnion: {
          $case: "createRequest",
          value: {
            key,
            rangeEnd: opts.rangeEnd ?? Buffer.alloc(0),
            startRevision: 0n,
            progressNotify: false,
            filters: opts.filters ?? [],
            prevKv: false,
            watchId: 0n,
            fragment: false,
          },
        },
      });
    }
    return this.created;
  }

  close(): void {
    for (const c of this.calls) {
      c.removeAllListeners("error");
      c.on("error", () => {});
      c.cancel();
    }
  }
}
