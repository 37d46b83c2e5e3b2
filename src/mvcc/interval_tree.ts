// Owns the interval tree of watched key ranges (etcd's adt.IntervalTree as the watcher group uses it):
// half-open [start, end) intervals over binary-string keys (end null = unbounded), one value per distinct
// interval, and stabbing queries ("which intervals contain this key?") in O(log n + matches).
//
// A treap augmented with the largest end in each subtree. Priorities come from a fixed-seed xorshift, so the
// shape (and any bug) is reproducible; expected depth is O(log n) whatever the insertion order.

interface Node<V> {
  start: string;
  end: string | null;
  value: V;
  prio: number;
  left: Node<V> | null;
  right: Node<V> | null;
  /** Largest end in this subtree; null = unbounded. */
  maxEnd: string | null;
}

/** Orders intervals by start, then end (unbounded last). */
function compare(aStart: string, aEnd: string | null, bStart: string, bEnd: string | null): number {
  if (aStart !== bStart) return aStart < bStart ? -1 : 1;
  if (aEnd === bEnd) return 0;
  if (aEnd === null) return 1;
  if (bEnd === null) return -1;
  return aEnd < bEnd ? -1 : 1;
}

function maxEnd(a: string | null, b: string | null): string | null {
  if (a === null || b === null) return null;
  return a > b ? a : b;
}

function update<V>(n: Node<V>): void {
  // "" is below every key, so a missing child never raises the maximum (null would mean unbounded).
  const l = n.left ? n.left.maxEnd : "";
  const r = n.right ? n.right.maxEnd : "";
  n.maxEnd = maxEnd(n.end, maxEnd(l, r));
}

export class IntervalTree<V> {
  private root: Node<V> | null = null;
  private count = 0;
  private seed = 0x2545f491;

  get size(): number {
    return this.count;
  }

  get(start: string, end: string | null): V | undefined {
    let n = this.root;
    while (n) {
      const c = compare(start, end, n.start, n.end);
      if (c === 0) return n.value;
      n = c < 0 ? n.left : n.right;
    }
    return undefined;
  }

  /** Inserts [start, end) with `value`, or replaces the value of that interval. */
  set(start: string, end: string | null, value: V): void {
    if (end !== null && end <= start) throw new Error(`empty interval [${start}, ${end})`);
    let n = this.root;
    while (n) {
      const c = compare(start, end, n.start, n.end);
      if (c === 0) {
        n.value = value;
        return;
      }
      n = c < 0 ? n.left : n.right;
    }
    const node: Node<V> = { start, end, value, prio: this.nextPrio(), left: null, right: null, maxEnd: end };
    const [l, r] = split(this.root, start, end, false);
    this.root = merge(merge(l, node), r);
    this.count++;
  }

  /** Removes [start, end); false if it was not there. */
  delete(start: string, end: string | null): boolean {
    const [l, rest] = split(this.root, start, end, false);
    const [mid, r] = split(rest, start, end, true);
    this.root = merge(l, r);
    if (mid === null) return false;
    this.count--;
    return true;
  }

  /** Calls `visit` with the value of every interval containing `point` (start <= point < end). */
  stab(point: string, visit: (value: V) => void): void {
    stab(this.root, point, visit);
  }

  /** Every [start, end, value], in interval order (for tests). */
  entries(): Array<[string, string | null, V]> {
    const out: Array<[string, string | null, V]> = [];
    const walk = (n: Node<V> | null): void => {
      if (!n) return;
      walk(n.left);
      out.push([n.start, n.end, n.value]);
      walk(n.right);
    };
    walk(this.root);
    return out;
  }

  private nextPrio(): number {
    let x = this.seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.seed = x >>> 0;
    return this.seed;
  }
}

/** Splits into (< key, >= key), or (<= key, > key) when `inclusive`. */
function split<V>(
  n: Node<V> | null,
  start: string,
  end: string | null,
  inclusive: boolean,
): [Node<V> | null, Node<V> | null] {
  if (!n) return [null, null];
  const c = compare(n.start, n.end, start, end);
  if (c < 0 || (inclusive && c === 0)) {
    const [l, r] = split(n.right, start, end, inclusive);
    n.right = l;
    update(n);
    return [n, r];
  }
  const [l, r] = split(n.left, start, end, inclusive);
  n.left = r;
  update(n);
  return [l, n];
}

/** Joins two treaps where every interval of `a` orders before every interval of `b`. */
function merge<V>(a: Node<V> | null, b: Node<V> | null): Node<V> | null {
  if (!a) return b;
  if (!b) return a;
  if (a.prio > b.prio) {
    a.right = merge(a.right, b);
    update(a);
    return a;
  }
  b.left = merge(a, b.left);
  update(b);
  return b;
}

function stab<V>(n: Node<V> | null, point: string, visit: (value: V) => void): void {
  while (n) {
    if (n.maxEnd !== null && n.maxEnd <= point) return; // nothing here reaches the point
    stab(n.left, point, visit);
    if (n.start > point) return; // the right subtree starts later still
    if (n.end === null || point < n.end) visit(n.value);
    n = n.right;
  }
}
