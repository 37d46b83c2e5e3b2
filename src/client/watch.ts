// Owns the Watch API of the client (`client.watch`): creating watchers on the client's shared watch stream.
import type { Caller } from "./call.js";
import { ClientClosedError } from "./errors.js";
import type { Bytes } from "./keys.js";
import { WatchStream } from "./watch_stream.js";
import { type EventMapper, Watcher, type WatchOptions } from "./watcher.js";

/**
 * Watches (`client.watch`). All watchers of a client share one gRPC stream; when it fails, the client
 * reconnects (to another endpoint if needed) and resumes every watcher from the revision after the last one
 * it delivered, so no event is lost or repeated.
 *
 * @example
 * const w = client.watch.watch("config/", { prefix: true });
 * for await (const batch of w) for (const e of batch.events) console.log(e.type, e.kv?.key.toString());
 */
export class Watch {
  private readonly stream: WatchStream;

  /** @internal */
  constructor(
    private readonly caller: Caller,
    requireLeader: boolean | undefined,
  ) {
    this.stream = new WatchStream(caller, requireLeader);
  }

  /**
   * Watches `key` (or a range with `rangeEnd`/`prefix`/`fromKey`). `await watcher.created` to know it is
   * live. Throws `ClientClosedError` after `close()`. (`mapEvents` is internal: how a namespace rewrites keys.)
   */
  watch(key: Bytes, options: WatchOptions = {}, mapEvents?: EventMapper): Watcher {
    if (this.caller.closed) throw new ClientClosedError();
    const w = new Watcher(key, options, this.stream, mapEvents);
    this.stream.add(w);
    return w;
  }

  /**
   * Asks the server for a progress notification: every watcher then receives a batch with no events and
   * `progressNotify` set. Returns false (nothing sent) while no stream is open.
   */
  requestProgress(): boolean {
    return this.stream.requestProgress();
  }

  /** @internal */
  close(): void {
    this.stream.close();
  }
}
