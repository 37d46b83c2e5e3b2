// Owns a group of watchers indexed by what they watch (etcd's watcherGroup): single keys in a map, ranges in
// an interval tree, so finding the watchers of a changed key costs O(log ranges + matches), not O(watchers).

import { IntervalTree } from "./interval_tree.js";
import type { Watcher } from "./watcher.js";

export class WatcherGroup {
  private readonly keys = new Map<string, Set<Watcher>>();
  private readonly ranges = new IntervalTree<Set<Watcher>>();
  private readonly all = new Set<Watcher>();

  get size(): number {
    return this.all.size;
  }

  has(w: Watcher): boolean {
    return this.all.has(w);
  }

  add(w: Watcher): void {
    if (this.all.has(w)) return;
    this.all.add(w);
    const { start, end } = w.range;
    let set = end === undefined ? this.keys.get(start) : this.ranges.get(start, end);
    if (!set) {
      set = new Set();
      if (end === undefined) this.keys.set(start, set);
      else this.ranges.set(start, end, set);
    }
    set.add(w);
  }

  delete(w: Watcher): boolean {
    if (!this.all.delete(w)) return false;
    const { start, end } = w.range;
    const set = end === undefined ? this.keys.get(start) : this.ranges.get(start, end);
    set?.delete(w);
    if (set?.size === 0) {
      if (end === undefined) this.keys.delete(start);
      else this.ranges.delete(start, end);
    }
    return true;
  }

  /** Calls `visit` for every watcher whose range contains `key` (a binary string). */
  forKey(key: string, visit: (w: Watcher) => void): void {
    const set = this.keys.get(key);
    if (set) for (const w of set) visit(w);
    if (this.ranges.size > 0) {
      this.ranges.stab(key, (ws) => {
        for (const w of ws) visit(w);
      });
    }
  }

  [Symbol.iterator](): IterableIterator<Watcher> {
    return this.all.values();
  }
}
