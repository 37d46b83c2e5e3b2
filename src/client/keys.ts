// Owns the client's key conventions: strings/Uint8Array to wire bytes, and etcd's range ends (prefix, from-key).

/** A key or value: a string is sent as its UTF-8 bytes. */
export type Bytes = Uint8Array | string;

/** Which keys an operation covers besides `key` itself; at most one of the three may be given. */
export interface RangeOptions {
  /** Covers `[key, rangeEnd)`; `"\0"` means every key ≥ key. */
  rangeEnd?: Bytes;
  /** Covers every key starting with `key` (an empty key with `prefix` covers all keys). */
  prefix?: boolean;
  /** Covers every key ≥ `key`. */
  fromKey?: boolean;
}

const EMPTY = Buffer.alloc(0);
const ZERO = Buffer.from([0]);

/** The wire form of a key or value, without copying a `Uint8Array`. */
export function toBuffer(b: Bytes | undefined): Buffer {
  if (b === undefined) return EMPTY;
  if (typeof b === "string") return Buffer.from(b, "utf8");
  if (Buffer.isBuffer(b)) return b;
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * etcd's prefix end: the key with its last byte below 0xff incremented and the rest dropped; a key of only
 * 0xff bytes (or empty) has no end, so `"\0"` (every key ≥ key) is returned, as clientv3's GetPrefixRangeEnd.
 */
export function prefixEnd(key: Bytes): Buffer {
  const k = toBuffer(key);
  for (let i = k.length - 1; i >= 0; i--) {
    if (k[i]! < 0xff) {
      const end = Buffer.from(k.subarray(0, i + 1));
      end[i]! += 1;
      return end;
    }
  }
  return ZERO;
}

/** `key` and `rangeEnd` on the wire for a key plus range options (clientv3's WithPrefix/WithFromKey/WithRange). */
export function resolveRange(key: Bytes, opts: RangeOptions = {}): { key: Buffer; rangeEnd: Buffer } {
  const given = [opts.rangeEnd !== undefined, opts.prefix === true, opts.fromKey === true].filter(Boolean);
  if (given.length > 1) throw new TypeError("etcd client: give at most one of rangeEnd, prefix, fromKey");
  let k = toBuffer(key);
  if (opts.prefix) {
    // clientv3: an empty prefix means every key, spelled key "\0", range_end "\0".
    if (k.length === 0) return { key: ZERO, rangeEnd: ZERO };
    return { key: k, rangeEnd: prefixEnd(k) };
  }
  if (opts.fromKey) {
    if (k.length === 0) k = ZERO;
    return { key: k, rangeEnd: ZERO };
  }
  return { key: k, rangeEnd: toBuffer(opts.rangeEnd) };
}
