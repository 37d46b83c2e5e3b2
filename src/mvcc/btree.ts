// Owns an in-memory B+tree keyed by byte strings: get/set/delete in O(log n) and in-order scans over
// [start, end) through linked leaves. Underfull siblings are merged on delete.
// Keys are "binary strings" (latin1: one char per byte, see `bytesKey`): JS compares them in byte order
// natively, an order of magnitude faster than Buffer.compare, and they are compact in memory.

const MAX_FANOUT = 64; // entries per leaf, children per branch
const MIN_FILL = MAX_FANOUT / 4; // below this a node tries to merge with a sibling

interface Leaf<V> {
  leaf: true;
  keys: string[];
  vals: V[];
  next: Leaf<V> | null;
}

interface Branch<V> {
  leaf: false;
  /** keys[i] is the smallest key that may live in children[i + 1]. */
  keys: string[];
  children: Node<V>[];
}

type Node<V> = Leaf<V> | Branch<V>;

interface Split<V> {
  sep: string;
  right: Node<V>;
}

/** The tree key of `bytes`: one char per byte, so string order is byte order. */
export function bytesKey(bytes: Uint8Array): string {
  return (
    Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  ).toString("latin1");
}

/** First index whose key is >= `key`. */
function lowerBound(keys: string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose key is > `key`: the child of a branch that may hold `key`. */
function upperBound(keys: string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function nodeSize<V>(n: Node<V>): number {
  return n.leaf ? n.keys.length : n.children.length;
}

export class BTree<V> {
  private root: Node<V> = { leaf: true, keys: [], vals: [], next: null };
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(key: string): V | undefined {
    let node = this.root;
    while (!node.leaf) node = node.children[upperBound(node.keys, key)]!;
    const i = lowerBound(node.keys, key);
    return i < node.keys.length && node.keys[i] === key ? node.vals[i] : undefined;
  }

  /** Inserts or replaces. */
  set(key: string, val: V): void {
    const split = this.insert(this.root, key, val);
    if (split) this.root = { leaf: false, keys: [split.sep], children: [this.root, split.right] };
  }

  delete(key: string): boolean {
    const removed = this.remove(this.root, key);
    while (!this.root.leaf && this.root.children.length === 1) this.root = this.root.children[0]!;
    return removed;
  }

  /**
   * Visits entries with `start <= key < end` in order (`end` undefined: to the last key). Stops early when
   * `visit` returns false. The tree must not be modified during the scan.
   */
  scan(start: string, end: string | undefined, visit: (key: string, val: V) => unknown): void {
    let node = this.root;
    while (!node.leaf) node = node.children[upperBound(node.keys, start)]!;
    let leaf: Leaf<V> | null = node;
    let i = lowerBound(leaf.keys, start);
    while (leaf) {
      for (; i < leaf.keys.length; i++) {
        const k = leaf.keys[i]!;
        if (end !== undefined && k >= end) return;
        if (visit(k, leaf.vals[i]!) === false) return;
      }
      leaf = leaf.next;
      i = 0;
    }
  }

  private insert(node: Node<V>, key: string, val: V): Split<V> | null {
    if (node.leaf) {
      const i = lowerBound(node.keys, key);
      if (i < node.keys.length && node.keys[i] === key) {
        node.vals[i] = val;
        return null;
      }
      node.keys.splice(i, 0, key);
      node.vals.splice(i, 0, val);
      this.count++;
      if (node.keys.length <= MAX_FANOUT) return null;
      const mid = node.keys.length >>> 1;
      const right: Leaf<V> = {
        leaf: true,
        keys: node.keys.splice(mid),
        vals: node.vals.splice(mid),
        next: node.next,
      };
      node.next = right;
      return { sep: right.keys[0]!, right };
    }
    const ci = upperBound(node.keys, key);
    const split = this.insert(node.children[ci]!, key, val);
    if (!split) return null;
    node.keys.splice(ci, 0, split.sep);
    node.children.splice(ci + 1, 0, split.right);
    if (node.children.length <= MAX_FANOUT) return null;
    const mid = node.children.length >>> 1;
    const rightChildren = node.children.splice(mid);
    const rightKeys = node.keys.splice(mid - 1);
    const sep = rightKeys.shift()!;
    return { sep, right: { leaf: false, keys: rightKeys, children: rightChildren } };
  }

  private remove(node: Node<V>, key: string): boolean {
    if (node.leaf) {
      const i = lowerBound(node.keys, key);
      if (i >= node.keys.length || node.keys[i] !== key) return false;
      node.keys.splice(i, 1);
      node.vals.splice(i, 1);
      this.count--;
      return true;
    }
    const ci = upperBound(node.keys, key);
    const removed = this.remove(node.children[ci]!, key);
    if (removed && nodeSize(node.children[ci]!) < MIN_FILL) this.mergeAround(node, ci);
    return removed;
  }

  /** Merges child `ci` of `parent` with a neighbour if the two fit in one node. */
  private mergeAround(parent: Branch<V>, ci: number): void {
    const li = ci + 1 < parent.children.length ? ci : ci - 1;
    if (li < 0) return;
    const left = parent.children[li]!;
    const right = parent.children[li + 1]!;
    if (nodeSize(left) + nodeSize(right) > MAX_FANOUT) return;
    if (left.leaf && right.leaf) {
      left.keys.push(...right.keys);
      left.vals.push(...right.vals);
      left.next = right.next;
    } else if (!left.leaf && !right.leaf) {
      left.keys.push(parent.keys[li]!, ...right.keys);
      left.children.push(...right.children);
    } else {
      throw new Error("B+tree siblings at different depths");
    }
    parent.keys.splice(li, 1);
    parent.children.splice(li + 1, 1);
  }
}
