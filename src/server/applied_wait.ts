// Owns waiting for the applied index to reach a point (linearizable reads wait on it).

export class AppliedWait {
  private applied: bigint;
  /** Sorted by index; small in practice (one entry per batched read). */
  private waiters: Array<{ index: bigint; resolve: () => void }> = [];

  constructor(applied: bigint) {
    this.applied = applied;
  }

  get index(): bigint {
    return this.applied;
  }

  wait(index: bigint): Promise<void> {
    if (index <= this.applied) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push({ index, resolve });
      this.waiters.sort((a, b) => (a.index < b.index ? -1 : a.index > b.index ? 1 : 0));
    });
  }

  advance(index: bigint): void {
    if (index <= this.applied) return;
    this.applied = index;
    let n = 0;
    while (n < this.waiters.length && this.waiters[n]!.index <= index) n++;
    if (n === 0) return;
    const done = this.waiters.splice(0, n);
    for (const w of done) w.resolve();
  }
}
