// Owns one key's revision history as etcd's keyIndex: generations of revisions, each ended by a tombstone.
//
// put(1.0); put(2.0); tombstone(3.0); put(4.0); tombstone(5.0) on "foo" gives
//   generations: {1.0, 2.0, 3.0(t)}, {4.0, 5.0(t)}, {empty}
// compact(n) drops revisions <= n except the latest one (dropped too if it is a tombstone); a keyIndex whose
// only generation is empty is removed from the tree.

import { assert } from "../backend/assert.js";
import { compareRev, type Revision } from "./revision.js";

export interface Generation {
  /** Version of the key at the last revision of this generation (tombstone included). */
  ver: bigint;
  /** Revision of the put that created this generation. */
  created: Revision;
  revs: Revision[];
}

/** A key as seen at some revision. */
export interface KeyAt {
  modified: Revision;
  created: Revision;
  version: bigint;
}

const ZERO: Revision = { main: 0n, sub: 0n };

export class KeyIndex {
  modified: Revision = ZERO;
  generations: Generation[] = [];
  /** Lease of the live version (0n if none or if the key is deleted); kept for lease detach on overwrite. */
  lease = 0n;

  /** `key` is the key as a binary string (see bytesKey). */
  constructor(readonly key: string) {}

  /** The key as bytes (a fresh Buffer). */
  keyBytes(): Buffer {
    return Buffer.from(this.key, "latin1");
  }

  put(r: Revision): void {
    assert(
      compareRev(r, this.modified) > 0,
      () => `put ${r.main}.${r.sub} not after ${this.modified.main}.${this.modified.sub}`,
    );
    if (this.generations.length === 0) this.generations.push(emptyGeneration());
    const g = this.generations[this.generations.length - 1]!;
    if (g.revs.length === 0) g.created = r;
    g.revs.push(r);
    g.ver++;
    this.modified = r;
  }

  /** Rebuilds the first generation from a stored KeyValue (on restore, after compaction removed history). */
  restore(created: Revision, modified: Revision, ver: bigint): void {
    assert(this.generations.length === 0, "restore on a non-empty keyIndex");
    this.modified = modified;
    this.generations.push({ created, ver, revs: [modified] });
  }

  /** Ends the current generation with a tombstone at `r`; false if the key is not live. */
  tombstone(r: Revision): boolean {
    assert(!this.isEmpty(), "tombstone on an empty keyIndex");
    if (this.generations[this.generations.length - 1]!.revs.length === 0) return false;
    this.put(r);
    this.generations.push(emptyGeneration());
    this.lease = 0n;
    return true;
  }

  /** True if the key exists at the latest revision. */
  isLive(): boolean {
    const last = this.generations[this.generations.length - 1];
    return last !== undefined && last.revs.length > 0;
  }

  isEmpty(): boolean {
    return this.generations.length === 1 && this.generations[0]!.revs.length === 0;
  }

  /** The key at revision `atRev`, or undefined if it did not exist then. */
  get(atRev: bigint): KeyAt | undefined {
    const g = this.findGeneration(atRev);
    if (!g) return undefined;
    for (let n = g.revs.length - 1; n >= 0; n--) {
      const r = g.revs[n]!;
      if (r.main <= atRev)
        return { modified: r, created: g.created, version: g.ver - BigInt(g.revs.length - n - 1) };
    }
    return undefined;
  }

  /** The generation `rev` falls in, or undefined if the key was absent (deleted or not yet created). */
  private findGeneration(rev: bigint): Generation | undefined {
    const lastg = this.generations.length - 1;
    for (let cg = lastg; cg >= 0; cg--) {
      const g = this.generations[cg]!;
      if (g.revs.length === 0) continue;
      if (cg !== lastg && g.revs[g.revs.length - 1]!.main <= rev) return undefined; // tombstoned by then
      if (g.revs[0]!.main <= rev) return g;
    }
    return undefined;
  }

  /** Revisions with main >= `rev`, keeping only the largest sub per main (etcd's since, for watch catch-up). */
  since(rev: bigint): Revision[] {
    let gi = this.generations.length - 1;
    for (; gi > 0; gi--) {
      const g = this.generations[gi]!;
      if (g.revs.length === 0) continue;
      if (rev > g.created.main) break;
    }
    const out: Revision[] = [];
    let last = -1n;
    for (; gi < this.generations.length; gi++) {
      for (const r of this.generations[gi]!.revs) {
        if (r.main < rev) continue;
        if (r.main === last) out[out.length - 1] = r;
        else out.push(r);
        last = r.main;
      }
    }
    return out;
  }

  /**
   * Removes revisions <= atRev except the latest one (which goes too if it is a tombstone); generations
   * emptied this way are dropped. Returns the kept revision <= atRev, if any.
   */
  compact(atRev: bigint): Revision | undefined {
    assert(!this.isEmpty(), "compact on an empty keyIndex");
    let { genIdx, revIdx } = this.doCompact(atRev);
    let kept = revIdx >= 0 ? this.generations[genIdx]!.revs[revIdx] : undefined;
    const g = this.generations[genIdx]!;
    if (g.revs.length > 0) {
      if (revIdx !== -1) g.revs = g.revs.slice(revIdx);
      if (g.revs.length === 1 && genIdx !== this.generations.length - 1) {
        kept = undefined; // only the tombstone is left: drop the generation
        genIdx++;
      }
    }
    if (genIdx > 0) this.generations = this.generations.slice(genIdx);
    return kept;
  }

  /** The revision compact(atRev) would keep, without changing anything (for HashKV). */
  keep(atRev: bigint): Revision | undefined {
    if (this.isEmpty()) return undefined;
    const { genIdx, revIdx } = this.doCompact(atRev);
    if (revIdx < 0) return undefined;
    const g = this.generations[genIdx]!;
    if (revIdx === g.revs.length - 1 && genIdx !== this.generations.length - 1) return undefined; // tombstone
    return g.revs[revIdx];
  }

  /** First generation that includes atRev or was created after it, and the latest revision <= atRev in it. */
  private doCompact(atRev: bigint): { genIdx: number; revIdx: number } {
    let genIdx = 0;
    while (genIdx < this.generations.length - 1) {
      const g = this.generations[genIdx]!;
      if (g.revs[g.revs.length - 1]!.main > atRev) break;
      genIdx++;
    }
    const revs = this.generations[genIdx]!.revs;
    let revIdx = revs.length - 1;
    while (revIdx >= 0 && revs[revIdx]!.main > atRev) revIdx--;
    return { genIdx, revIdx };
  }

  /** Whether `r` is still referenced by this key's history (compaction deletes unreferenced entries). */
  hasRevision(r: Revision): boolean {
    for (const g of this.generations) {
      const revs = g.revs;
      if (revs.length === 0 || compareRev(r, revs[0]!) < 0 || compareRev(r, revs[revs.length - 1]!) > 0)
        continue;
      let lo = 0;
      let hi = revs.length - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const c = compareRev(revs[mid]!, r);
        if (c === 0) return true;
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
      }
    }
    return false;
  }
}

function emptyGeneration(): Generation {
  return { ver: 0n, created: ZERO, revs: [] };
}
