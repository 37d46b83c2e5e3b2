// Owns the search's memo: the (linearized operations, state) configurations already explored, keyed by a
// Zobrist hash of the linearized completed operations and a hash of the state key, bounded in memory. A
// configuration is also known to fail when one with the same state, the same completed operations and a
// subset of its pending ones did (pending operations are optional, so fewer of them leaves more choices).

/** Default bound of the memo; when exceeded it is cleared (the search stays correct, only slower). */
export const DEFAULT_MAX_CACHE_BYTES = 256 * 1024 * 1024;
/** Rough per-entry overhead of a Map bucket array slot, an entry object and its references. */
const ENTRY_OVERHEAD_BYTES = 96;

/** A fixed-size set of operation indexes with an incrementally maintained Zobrist hash. */
export class Bitset {
  readonly words: Uint32Array;
  /** XOR of `zobrist[i]` over the set bits. */
  hash = 0;

  constructor(
    readonly size: number,
    private readonly zobrist: Uint32Array,
  ) {
    this.words = new Uint32Array((size + 31) >>> 5);
  }

  set(i: number): void {
    this.words[i >>> 5]! |= 1 << (i & 31);
    this.hash = (this.hash ^ this.zobrist[i]!) >>> 0;
  }

  clear(i: number): void {
    this.words[i >>> 5]! &= ~(1 << (i & 31));
    this.hash = (this.hash ^ this.zobrist[i]!) >>> 0;
  }

  has(i: number): boolean {
    return (this.words[i >>> 5]! & (1 << (i & 31))) !== 0;
  }
}

/**
 * Deterministic per-operation random words (xorshift32), so a run reproduces exactly; 0 for pending
 * operations, which the hash leaves out.
 */
export function zobristTable(pending: readonly boolean[], seed = 0x9e3779b9): Uint32Array {
  const t = new Uint32Array(pending.length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < pending.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    t[i] = pending[i] ? 0 : x;
  }
  return t;
}

/** The words of a bitset with the completed (not pending) operations set. */
export function completedMask(pending: readonly boolean[]): Uint32Array {
  const m = new Uint32Array((pending.length + 31) >>> 5);
  pending.forEach((p, i) => {
    if (!p) m[i >>> 5]! |= 1 << (i & 31);
  });
  return m;
}

/** FNV-1a over the UTF-16 code units of `s`. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

interface Entry {
  words: Uint32Array;
  state: string;
}

export interface CacheStats {
  entries: number;
  /** Times the memo hit its byte bound and was cleared. */
  resets: number;
}

/** The explored configurations of one partition's search. */
export class ConfigCache {
  private readonly buckets = new Map<number, Entry[]>();
  private bytes = 0;
  private count = 0;
  resets = 0;

  constructor(
    /** `completedMask(pending)` of the partition. */
    private readonly completed: Uint32Array,
    private readonly maxBytes: number = DEFAULT_MAX_CACHE_BYTES,
  ) {}

  /** Adds (bits, state) unless it or a configuration that dominates it is present; false if so. */
  add(bits: Bitset, stateKey: string): boolean {
    const h = (bits.hash ^ hashString(stateKey)) >>> 0;
    let bucket = this.buckets.get(h);
    if (bucket) {
      for (const e of bucket) if (e.state === stateKey && this.dominates(e.words, bits.words)) return false;
    }
    const size = bits.words.byteLength + stateKey.length * 2 + ENTRY_OVERHEAD_BYTES;
    if (this.bytes + size > this.maxBytes) {
      this.buckets.clear();
      this.bytes = 0;
      this.count = 0;
      this.resets++;
      bucket = undefined;
    }
    if (!bucket) {
      bucket = [];
      this.buckets.set(h, bucket);
    }
    bucket.push({ words: bits.words.slice(), state: stateKey });
    this.bytes += size;
    this.count++;
    return true;
  }

  /** `seen` ⊆ `cur`, and they differ only in pending operations. */
  private dominates(seen: Uint32Array, cur: Uint32Array): boolean {
    const c = this.completed;
    for (let i = 0; i < cur.length; i++) {
      const s = seen[i]!;
      const k = cur[i]!;
      if ((s & ~k) !== 0 || (k & ~s & c[i]!) !== 0) return false;
    }
    return true;
  }

  stats(): CacheStats {
    return { entries: this.count, resets: this.resets };
  }
}
