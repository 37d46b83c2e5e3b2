// Owns goSort: Go's sort.Sort (go1.19+ pdqsort, src/sort/zsortinterface.go) replayed swap for swap, so that
// ties come out in exactly the order etcd's Range sort gives them. Pure; no clocks, no randomness.
//
// Go's sort.Sort is unstable and its tie order depends on every Less/Swap it makes, so a stable JS sort differs
// from etcd as soon as a Range sorts more than 12 kvs with equal targets (12 and fewer use insertion sort,
// which is stable). Each function below mirrors the Go function of the same name, including its quirks
// (partialInsertionSort shifts down to index 1, not to `a`; breakPatterns seeds xorshift with the length).

import { assert } from "../backend/assert.js";

/** Strict weak order, as Go's Less: true iff `a` must come before `b`. */
export type Less<T> = (a: T, b: T) => boolean;

/** Go's sort.Sort(data) for a slice with this Less; for sort.Reverse(data), pass `(a, b) => less(b, a)`. */
export function goSort<T>(items: T[], less: Less<T>): void {
  const n = items.length;
  if (n <= 1) return;
  pdqsort(new Data(items, less), 0, n, bitsLen(n));
}

/** sort.Interface over an array: Less and Swap by index, as Go's algorithm sees it. */
class Data<T> {
  constructor(
    private readonly items: T[],
    private readonly lessFn: Less<T>,
  ) {}

  less(i: number, j: number): boolean {
    return this.lessFn(this.items[i] as T, this.items[j] as T);
  }

  swap(i: number, j: number): void {
    const t = this.items[i] as T;
    this.items[i] = this.items[j] as T;
    this.items[j] = t;
  }
}

/** Go's sortedHint: what choosePivot's comparisons suggest about data[a:b]. */
const SortedHint = { UNKNOWN: 0, INCREASING: 1, DECREASING: 2 } as const;
type SortedHint = (typeof SortedHint)[keyof typeof SortedHint];

const MAX_INSERTION = 12;
const SHORTEST_NINTHER = 50;
const MAX_SWAPS = 4 * 3;
const PARTIAL_MAX_STEPS = 5;
const PARTIAL_SHORTEST_SHIFTING = 50;

/** Go's integer division of non-negative ints. */
const div = (x: number, y: number) => Math.floor(x / y);

/** math/bits.Len for 0 <= x < 2^32: the number of bits needed to represent x. */
function bitsLen(x: number): number {
  assert(Number.isInteger(x) && x >= 0 && x < 2 ** 32, () => `bitsLen(${x}) out of range`);
  return 32 - Math.clz32(x);
}

function insertionSort<T>(data: Data<T>, a: number, b: number): void {
  for (let i = a + 1; i < b; i++) {
    for (let j = i; j > a && data.less(j, j - 1); j--) data.swap(j, j - 1);
  }
}

/** Heap property on data[lo:hi]; `first` is the offset of the heap's root in the array. */
function siftDown<T>(data: Data<T>, lo: number, hi: number, first: number): void {
  let root = lo;
  for (;;) {
    let child = 2 * root + 1;
    if (child >= hi) return;
    if (child + 1 < hi && data.less(first + child, first + child + 1)) child++;
    if (!data.less(first + root, first + child)) return;
    data.swap(first + root, first + child);
    root = child;
  }
}

function heapSort<T>(data: Data<T>, a: number, b: number): void {
  const first = a;
  const lo = 0;
  const hi = b - a;
  for (let i = div(hi - 1, 2); i >= 0; i--) siftDown(data, i, hi, first);
  for (let i = hi - 1; i >= 0; i--) {
    data.swap(first, first + i);
    siftDown(data, lo, i, first);
  }
}

/** Sorts data[a:b]; `limit` is how many bad pivots are allowed before falling back to heapsort. */
function pdqsort<T>(data: Data<T>, a: number, b: number, limit: number): void {
  let wasBalanced = true;
  let wasPartitioned = true;
  for (;;) {
    const length = b - a;
    if (length <= MAX_INSERTION) {
      insertionSort(data, a, b);
      return;
    }
    if (limit === 0) {
      heapSort(data, a, b);
      return;
    }
    if (!wasBalanced) {
      breakPatterns(data, a, b);
      limit--;
    }

    let [pivot, hint]: [number, SortedHint] = choosePivot(data, a, b);
    if (hint === SortedHint.DECREASING) {
      reverseRange(data, a, b);
      pivot = b - 1 - (pivot - a);
      hint = SortedHint.INCREASING;
    }
    if (wasBalanced && wasPartitioned && hint === SortedHint.INCREASING) {
      if (partialInsertionSort(data, a, b)) return;
    }

    // Everything left of `a` is <= data[a:b]; if the pivot equals its left neighbour, split off the equal run.
    if (a > 0 && !data.less(a - 1, pivot)) {
      a = partitionEqual(data, a, b, pivot);
      continue;
    }

    const [mid, alreadyPartitioned] = partition(data, a, b, pivot);
    wasPartitioned = alreadyPartitioned;
    const leftLen = mid - a;
    const rightLen = b - mid;
    const balanceThreshold = div(length, 8);
    if (leftLen < rightLen) {
      wasBalanced = leftLen >= balanceThreshold;
      pdqsort(data, a, mid, limit);
      a = mid + 1;
    } else {
      wasBalanced = rightLen >= balanceThreshold;
      pdqsort(data, mid + 1, b, limit);
      b = mid;
    }
  }
}

/** One quicksort partition around data[pivot]: returns its new index, and whether nothing had to move. */
function partition<T>(data: Data<T>, a: number, b: number, pivot: number): [number, boolean] {
  data.swap(a, pivot);
  let i = a + 1;
  let j = b - 1;
  while (i <= j && data.less(i, a)) i++;
  while (i <= j && !data.less(j, a)) j--;
  if (i > j) {
    data.swap(j, a);
    return [j, true];
  }
  data.swap(i, j);
  i++;
  j--;
  for (;;) {
    while (i <= j && data.less(i, a)) i++;
    while (i <= j && !data.less(j, a)) j--;
    if (i > j) break;
    data.swap(i, j);
    i++;
    j--;
  }
  data.swap(j, a);
  return [j, false];
}

/** Splits data[a:b] (nothing smaller than data[pivot]) into elements equal to the pivot, then greater ones. */
function partitionEqual<T>(data: Data<T>, a: number, b: number, pivot: number): number {
  data.swap(a, pivot);
  let i = a + 1;
  let j = b - 1;
  for (;;) {
    while (i <= j && !data.less(a, i)) i++;
    while (i <= j && data.less(a, j)) j--;
    if (i > j) break;
    data.swap(i, j);
    i++;
    j--;
  }
  return i;
}

/** Fixes up to 5 adjacent inversions in a nearly sorted data[a:b]; true if data[a:b] ends up sorted. */
function partialInsertionSort<T>(data: Data<T>, a: number, b: number): boolean {
  let i = a + 1;
  for (let step = 0; step < PARTIAL_MAX_STEPS; step++) {
    while (i < b && !data.less(i, i - 1)) i++;
    if (i === b) return true;
    if (b - a < PARTIAL_SHORTEST_SHIFTING) return false;
    data.swap(i, i - 1);
    // Shift the smaller one left. Go's loop runs down to index 1, not a+1; kept, since it decides the swaps.
    if (i - a >= 2) {
      for (let j = i - 1; j >= 1; j--) {
        if (!data.less(j, j - 1)) break;
        data.swap(j, j - 1);
      }
    }
    // Shift the greater one right.
    if (b - i >= 2) {
      for (let j = i + 1; j < b; j++) {
        if (!data.less(j, j - 1)) break;
        data.swap(j, j - 1);
      }
    }
  }
  return false;
}

const U64 = (x: bigint) => BigInt.asUintN(64, x);

/** Swaps three middle elements with pseudo-random ones, from an xorshift64 seeded with the length. */
function breakPatterns<T>(data: Data<T>, a: number, b: number): void {
  const length = b - a;
  if (length < 8) return;
  let random = BigInt(length);
  const mask = BigInt(2 ** bitsLen(length) - 1); // nextPowerOfTwo(length) - 1
  const half = div(length, 4) * 2;
  for (let idx = a + half - 1; idx <= a + half + 1; idx++) {
    random = U64(random ^ (random << 13n));
    random ^= random >> 17n;
    random = U64(random ^ (random << 5n));
    let other = Number(random & mask);
    if (other >= length) other -= length;
    data.swap(idx, a + other);
  }
}

/** Median of three (or Tukey's ninther from 50 up); 0 swaps hints sorted, all 12 hints reversed. */
function choosePivot<T>(data: Data<T>, a: number, b: number): [number, SortedHint] {
  const l = b - a;
  const swaps = { n: 0 };
  let i = a + div(l, 4) * 1;
  let j = a + div(l, 4) * 2;
  let k = a + div(l, 4) * 3;
  if (l >= 8) {
    if (l >= SHORTEST_NINTHER) {
      i = median(data, i - 1, i, i + 1, swaps);
      j = median(data, j - 1, j, j + 1, swaps);
      k = median(data, k - 1, k, k + 1, swaps);
    }
    j = median(data, i, j, k, swaps);
  }
  switch (swaps.n) {
    case 0:
      return [j, SortedHint.INCREASING];
    case MAX_SWAPS:
      return [j, SortedHint.DECREASING];
    default:
      return [j, SortedHint.UNKNOWN];
  }
}

/** The index among a, b, c holding the median, by Go's three order2 steps (which count the swaps). */
function median<T>(data: Data<T>, a: number, b: number, c: number, swaps: { n: number }): number {
  if (data.less(b, a)) {
    swaps.n++;
    [a, b] = [b, a];
  }
  if (data.less(c, b)) {
    swaps.n++;
    [b, c] = [c, b];
  }
  if (data.less(b, a)) {
    swaps.n++;
    [a, b] = [b, a];
  }
  return b;
}

function reverseRange<T>(data: Data<T>, a: number, b: number): void {
  for (let i = a, j = b - 1; i < j; i++, j--) data.swap(i, j);
}
