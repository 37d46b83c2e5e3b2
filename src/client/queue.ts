// Owns the bounded queue behind the client's async iterables (watchers, lease keepalives): one consumer, items
// delivered in order, then the end (normal or an error).

/**
 * A single-consumer async queue. `push` reports when `limit` is reached so the producer can apply
 * back-pressure (the watch stream pauses) or drop the oldest item (`dropOldest`, for keepalive responses).
 */
export class AsyncQueue<T> implements AsyncIterator<T> {
  private readonly items: T[] = [];
  private waiter: { resolve(r: IteratorResult<T>): void; reject(e: unknown): void } | undefined;
  private ended = false;
  private error: unknown;

  constructor(
    readonly limit: number,
    private readonly opts: { dropOldest?: boolean; onTake?: () => void; onReturn?: () => void } = {},
  ) {}

  get size(): number {
    return this.items.length;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Adds an item; returns false if the queue is now at its limit (with `dropOldest`, the oldest was dropped). */
  push(item: T): boolean {
    if (this.ended) return true;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve({ value: item, done: false });
      return true;
    }
    if (this.opts.dropOldest && this.items.length >= this.limit) this.items.shift();
    this.items.push(item);
    return this.items.length < this.limit;
  }

  /** No more items: the consumer gets the queued ones, then `done` (or `error` thrown). */
  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    if (this.waiter && this.items.length === 0) {
      const w = this.waiter;
      this.waiter = undefined;
      if (error === undefined) w.resolve({ value: undefined, done: true });
      else w.reject(error);
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.items.length > 0) {
      const value = this.items.shift()!;
      this.opts.onTake?.();
      return Promise.resolve({ value, done: false });
    }
    if (this.ended) {
      if (this.error === undefined) return Promise.resolve({ value: undefined, done: true });
      const e = this.error;
      this.error = undefined; // thrown once; later calls see done
      return Promise.reject(e);
    }
    if (this.waiter) return Promise.reject(new Error("etcd client: only one consumer may iterate at a time"));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** `break` out of `for await`: the producer is told to stop. */
  return(): Promise<IteratorResult<T>> {
    this.items.length = 0;
    this.end();
    this.opts.onReturn?.();
    return Promise.resolve({ value: undefined, done: true });
  }
}
