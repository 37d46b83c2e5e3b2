// Owns the watchers of a fault run: a watch on a range that records every event it receives and, if the watch
// ends with an error (canceled by the server, a broken stream the client gave up on), opens a new one from the
// revision after the last event it received — so its record must still be exactly the committed history.
import type { Client, Watcher } from "../../client/index.js";
import { toWatchEvent, type WatchEvent, type WatchRecord } from "../linearizability/index.js";

/** Pause before re-opening a watch that ended with an error. */
const RESUME_DELAY_MS = 200;
/** How long `created()` waits for the server to confirm a watch. */
const CREATE_DEADLINE_MS = 20_000;

/** etcd's prefix end for a text key whose last character is below U+007F (enough for the workload's keys). */
export function textPrefixEnd(key: string): string {
  const last = key.charCodeAt(key.length - 1);
  if (!(last < 0x7f)) throw new Error(`textPrefixEnd: ${JSON.stringify(key)} does not end in ASCII`);
  return key.slice(0, -1) + String.fromCharCode(last + 1);
}

export class ResumingWatcher {
  readonly events: WatchEvent[] = [];
  /** Why each watch before the current one ended (each was then resumed). */
  readonly errors: string[] = [];
  /** The next revision this watcher needs. */
  private next: bigint;
  private current: Watcher | undefined;
  private stopped = false;
  private readonly waiters: { rev: bigint; resolve: () => void }[] = [];
  private readonly running: Promise<void>;

  constructor(
    readonly id: string,
    private readonly client: Client,
    /** The watched key or prefix; "" with `wholeStore`. */
    readonly key: string,
    private readonly wholeStore: boolean,
    readonly startRevision: bigint,
  ) {
    this.next = startRevision;
    this.running = this.run();
  }

  /** Resolves once a watch is created on the server; rejects if none is within `timeoutMs`. */
  async created(timeoutMs = CREATE_DEADLINE_MS): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const w = this.current;
      if (
        w &&
        (await w.created.then(
          () => true,
          () => false,
        ))
      )
        return;
      if (this.stopped) throw new Error(`watcher ${this.id} stopped before it was created`);
      if (Date.now() > until)
        throw new Error(`watcher ${this.id} not created within ${timeoutMs} ms: ${this.errors.join("; ")}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Resolves once every event up to `rev` was received. */
  reached(rev: bigint): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push({ rev, resolve });
      this.wake();
    });
  }

  /** The revision received up to (every event at or below it is in `events`). */
  get revision(): bigint {
    return this.next - 1n;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.current?.cancel();
    await this.running;
  }

  /** What the watch checker needs; `untilRevision` drops events after the end of the checked history. */
  record(untilRevision: bigint): WatchRecord {
    const events = this.events.filter((e) => e.revision <= untilRevision);
    return this.wholeStore
      ? { id: this.id, key: "\0", rangeEnd: "\0", startRevision: this.startRevision, events }
      : {
          id: this.id,
          key: this.key,
          rangeEnd: textPrefixEnd(this.key),
          startRevision: this.startRevision,
          events,
        };
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const w = this.client.watch.watch(this.key, { prefix: true, startRevision: this.next });
      this.current = w;
      try {
        for await (const batch of w) {
          for (const e of batch.events) this.events.push(toWatchEvent(e));
          const last = batch.events[batch.events.length - 1]?.kv?.modRevision;
          if (last !== undefined && last >= this.next) this.next = last + 1n;
          this.wake();
        }
        if (this.stopped) return;
        this.errors.push(`watch from ${this.next} ended without an error`);
      } catch (err) {
        if (this.stopped) return;
        this.errors.push(
          `watch from ${this.next}: ${err instanceof Error ? `${err.name}: ${err.message}` : err}`,
        );
      }
      await new Promise((r) => setTimeout(r, RESUME_DELAY_MS));
    }
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) {
      if (this.next > w.rev) w.resolve();
      else this.waiters.push(w);
    }
  }
}
