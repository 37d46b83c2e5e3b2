// Owns the lessor's deadline queues: a binary min-heap of (lease ID, time) with an ID index, so a lease is
// queued at most once and its deadline can be moved or dropped in O(log n) (etcd's LeaseExpiredNotifier).

import { assert } from "../backend/assert.js";

export interface Deadline {
  id: bigint;
  /** Milliseconds on the lessor's clock. */
  time: number;
}

export class DeadlineHeap {
  private readonly items: Deadline[] = [];
  private readonly pos = new Map<bigint, number>();

  get size(): number {
    return this.items.length;
  }

  has(id: bigint): boolean {
    return this.pos.has(id);
  }

  /** The earliest deadline, if any. */
  peek(): Deadline | undefined {
    return this.items[0];
  }

  /** Queues `id` at `time`, or moves it there if already queued. */
  upsert(id: bigint, time: number): void {
    const i = this.pos.get(id);
    if (i === undefined) {
      this.items.push({ id, time });
      this.pos.set(id, this.items.length - 1);
      this.up(this.items.length - 1);
      return;
    }
    const item = this.items[i]!;
    const earlier = time < item.time;
    item.time = time;
    if (earlier) this.up(i);
    else this.down(i);
  }

  /** Removes and returns the earliest deadline. */
  pop(): Deadline | undefined {
    const top = this.items[0];
    if (top) this.removeAt(0);
    return top;
  }

  remove(id: bigint): boolean {
    const i = this.pos.get(id);
    if (i === undefined) return false;
    this.removeAt(i);
    return true;
  }

  clear(): void {
    this.items.length = 0;
    this.pos.clear();
  }

  private removeAt(i: number): void {
    const last = this.items.pop()!;
    this.pos.delete(last.id);
    if (i === this.items.length) return;
    this.pos.delete(this.items[i]!.id);
    this.items[i] = last;
    this.pos.set(last.id, i);
    this.up(i);
    this.down(i);
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.items[parent]!.time <= this.items[i]!.time) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const n = this.items.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let min = i;
      if (l < n && this.items[l]!.time < this.items[min]!.time) min = l;
      if (r < n && this.items[r]!.time < this.items[min]!.time) min = r;
      if (min === i) return;
      this.swap(i, min);
      i = min;
    }
  }

  private swap(a: number, b: number): void {
    const x = this.items[a]!;
    const y = this.items[b]!;
    this.items[a] = y;
    this.items[b] = x;
    this.pos.set(y.id, a);
    this.pos.set(x.id, b);
  }

  /** Checks the heap order and the index (for tests). */
  checkInvariants(): void {
    assert(this.pos.size === this.items.length, "heap index size differs from heap size");
    this.items.forEach((it, i) => {
      assert(this.pos.get(it.id) === i, () => `heap index of lease ${it.id} is wrong`);
      if (i > 0) assert(this.items[(i - 1) >> 1]!.time <= it.time, () => `heap order broken at ${i}`);
    });
  }
}
