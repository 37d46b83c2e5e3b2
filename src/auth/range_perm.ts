// Owns the range-permission check: a user's granted intervals merged per type, and whether a requested key or
// range is covered by them (etcd's auth/range_perm_cache.go over adt.IntervalTree, with its exact edge cases).
import { type Permission, Permission_Type } from "../proto/index.js";

/** [begin, end) with etcd's BytesAffineComparable bounds: an empty bound compares above every other. */
export interface Interval {
  readonly begin: Uint8Array;
  readonly end: Uint8Array;
}

/** etcd's BytesAffineComparable.Compare: the empty slice is +infinity. */
export function affineCompare(a: Uint8Array, b: Uint8Array): number {
  if (a.length === 0) return b.length === 0 ? 0 : 1;
  if (b.length === 0) return -1;
  return Buffer.compare(a, b);
}

/** etcd's NewBytesAffinePoint: [key, key + "\0"). */
export function pointInterval(key: Uint8Array): Interval {
  const end = new Uint8Array(key.length + 1);
  end.set(key);
  return { begin: key, end };
}

/** etcd's Interval.Compare: 0 when `a` overlaps `b`, -1 when it lies left of it, 1 when right. */
function compareInterval(a: Interval, b: Interval): number {
  if (affineCompare(a.begin, b.begin) < 0 && affineCompare(a.end, b.begin) <= 0) return -1;
  if (affineCompare(a.begin, b.end) >= 0) return 1;
  return 0;
}

const isZeroByte = (b: Uint8Array): boolean => b.length === 1 && b[0] === 0;

/** The interval one granted permission covers: a point without range_end, open-ended for range_end "\0". */
export function permissionInterval(p: Pick<Permission, "key" | "rangeEnd">): Interval {
  if (p.rangeEnd.length === 0) return pointInterval(p.key);
  return { begin: p.key, end: isZeroByte(p.rangeEnd) ? new Uint8Array(0) : p.rangeEnd };
}

/** A user's permissions, merged over all of its roles (etcd's unifiedRangePermissions). */
export class MergedPermissions {
  private readonly read: Interval[] = [];
  private readonly write: Interval[] = [];

  constructor(perms: Iterable<Permission>) {
    for (const p of perms) {
      const ivl = permissionInterval(p);
      if (p.permType === Permission_Type.READ || p.permType === Permission_Type.READWRITE)
        this.read.push(ivl);
      if (p.permType === Permission_Type.WRITE || p.permType === Permission_Type.READWRITE)
        this.write.push(ivl);
    }
    // The interval tree visits in order of begin; a stable sort keeps equal begins in insertion order.
    const byBegin = (a: Interval, b: Interval): number => affineCompare(a.begin, b.begin);
    this.read.sort(byBegin);
    this.write.sort(byBegin);
  }

  /**
   * etcd's isRangeOpPermitted: a single key (no range_end) needs one interval containing it; a range needs
   * the union of the intervals it overlaps to cover it without gaps. range_end "\0" means every key ≥ key.
   */
  permits(type: "read" | "write", key: Uint8Array, rangeEnd: Uint8Array): boolean {
    const ivls = type === "read" ? this.read : this.write;
    if (rangeEnd.length === 0) {
      const pt = pointInterval(key);
      return ivls.some((x) => compareInterval(pt, x) === 0);
    }
    return contains(ivls, { begin: key, end: isZeroByte(rangeEnd) ? new Uint8Array(0) : rangeEnd });
  }
}

/** etcd's IntervalTree.Contains: the overlapping intervals, in order, form one run that spans `q`. */
function contains(sorted: readonly Interval[], q: Interval): boolean {
  let minBegin: Uint8Array | undefined;
  let maxEnd: Uint8Array = new Uint8Array(0);
  for (const x of sorted) {
    if (compareInterval(q, x) !== 0) continue;
    if (minBegin === undefined) {
      minBegin = x.begin;
      maxEnd = x.end;
      continue;
    }
    if (affineCompare(maxEnd, x.begin) < 0) return false;
    if (affineCompare(x.end, maxEnd) > 0) maxEnd = x.end;
  }
  return minBegin !== undefined && affineCompare(maxEnd, q.end) >= 0 && affineCompare(minBegin, q.begin) <= 0;
}
