// Owns the request registry: a proposal's ID maps to the waiter resolved when its entry is applied.

interface Waiter<T> {
  resolve(value: T): void;
  reject(err: unknown): void;
}

export class WaitRegistry<T> {
  private readonly waiters = new Map<bigint, Waiter<T>>();

  /** Register before proposing; the promise settles when trigger/fail is called with the same ID. */
  register(id: bigint): Promise<T> {
    if (this.waiters.has(id)) throw new Error(`duplicate request id ${id.toString(16)}`);
    return new Promise<T>((resolve, reject) => {
      this.waiters.set(id, { resolve, reject });
    });
  }

  isRegistered(id: bigint): boolean {
    return this.waiters.has(id);
  }

  trigger(id: bigint, value: T): void {
    const w = this.waiters.get(id);
    if (!w) return; // proposed by another member, or the caller gave up
    this.waiters.delete(id);
    w.resolve(value);
  }

  fail(id: bigint, err: unknown): void {
    const w = this.waiters.get(id);
    if (!w) return;
    this.waiters.delete(id);
    w.reject(err);
  }

  failAll(err: unknown): void {
    for (const [id, w] of this.waiters) {
      this.waiters.delete(id);
      w.reject(err);
    }
  }

  get size(): number {
    return this.waiters.size;
  }
}
