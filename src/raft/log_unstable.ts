// Owns the unstable part of the raft log: entries and a snapshot not yet handed to Storage.
import { assert } from "./assert.js";
import type { Entry, Snapshot } from "./types.js";

export class Unstable {
  /** An incoming snapshot, if any, not yet persisted. */
  snapshot: Snapshot | undefined;
  /** Entries not yet persisted; entries[i] has index offset + i. */
  entries: Entry[] = [];
  offset: bigint;
  /** Entries [offset, offset + offsetInProgress) are being persisted (handed out in a Ready). */
  offsetInProgress: bigint;
  snapshotInProgress = false;

  constructor(offset: bigint) {
    this.offset = offset;
    this.offsetInProgress = offset;
  }

  maybeFirstIndex(): bigint | undefined {
    return this.snapshot ? this.snapshot.metadata.index + 1n : undefined;
  }

  maybeLastIndex(): bigint | undefined {
    if (this.entries.length > 0) return this.offset + BigInt(this.entries.length) - 1n;
    return this.snapshot ? this.snapshot.metadata.index : undefined;
  }

  maybeTerm(i: bigint): bigint | undefined {
    if (i < this.offset) {
      if (this.snapshot && this.snapshot.metadata.index === i) return this.snapshot.metadata.term;
      return undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || i > last) return undefined;
    return this.entries[Number(i - this.offset)]!.term;
  }

  /** Entries ready to be handed to storage (not already in progress). */
  nextEntries(): Entry[] {
    const inProgress = Number(this.offsetInProgress - this.offset);
    return inProgress >= this.entries.length ? [] : this.entries.slice(inProgress);
  }

  nextSnapshot(): Snapshot | undefined {
    return this.snapshot && !this.snapshotInProgress ? this.snapshot : undefined;
  }

  acceptInProgress(): void {
    if (this.entries.length > 0) this.offsetInProgress = this.entries[this.entries.length - 1]!.index + 1n;
    if (this.snapshot) this.snapshotInProgress = true;
  }

  /** Entries up to (index, term) are now in stable storage. */
  stableTo(index: bigint, term: bigint): void {
    const t = this.maybeTerm(index);
    // Stale or replaced by a newer write at the same index: ignore.
    if (t === undefined || t !== term || index < this.offset) return;
    const num = Number(index + 1n - this.offset);
    this.entries = this.entries.slice(num);
    this.offset = index + 1n;
    if (this.offsetInProgress < this.offset) this.offsetInProgress = this.offset;
  }

  stableSnapTo(i: bigint): void {
    if (this.snapshot && this.snapshot.metadata.index === i) {
      this.snapshot = undefined;
      this.snapshotInProgress = false;
    }
  }

  restore(s: Snapshot): void {
    this.offset = s.metadata.index + 1n;
    this.offsetInProgress = this.offset;
    this.entries = [];
    this.snapshot = s;
    this.snapshotInProgress = false;
  }

  truncateAndAppend(ents: Entry[]): void {
    const fromIndex = ents[0]!.index;
    const after = this.offset + BigInt(this.entries.length);
    if (fromIndex === after) {
      // Append in place: Ready hands out copies (nextEntries slices), so nothing aliases this array.
      for (const e of ents) this.entries.push(e);
    } else if (fromIndex <= this.offset) {
      // Replace everything unstable; the log is being rewritten from before our offset.
      this.entries = ents.slice();
      this.offset = fromIndex;
      this.offsetInProgress = this.offset;
    } else {
      this.entries = this.slice(this.offset, fromIndex).concat(ents);
      if (this.offsetInProgress > fromIndex) this.offsetInProgress = fromIndex;
    }
  }

  slice(lo: bigint, hi: bigint): Entry[] {
    assert(lo <= hi, () => `invalid unstable.slice ${lo} > ${hi}`);
    const upper = this.offset + BigInt(this.entries.length);
    assert(
      lo >= this.offset && hi <= upper,
      () => `unstable.slice[${lo},${hi}) out of bound [${this.offset},${upper}]`,
    );
    return this.entries.slice(Number(lo - this.offset), Number(hi - this.offset));
  }
}
