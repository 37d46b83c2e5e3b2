// Owns the raft log: stable entries (Storage) + unstable entries, the commit and apply cursors.
import { assert } from "./assert.js";
import { Unstable } from "./log_unstable.js";
import { CompactedError, limitSize, type Storage, UnavailableError } from "./storage.js";
import type { Entry, Snapshot } from "./types.js";

export class RaftLog {
  readonly storage: Storage;
  readonly unstable: Unstable;
  /** Highest index known to be committed on a quorum. */
  committed: bigint;
  /** Highest index handed to the application in a Ready (applied <= applying <= committed). */
  applying: bigint;
  /** Highest index the application has applied. */
  applied: bigint;
  /** Limit on the bytes of committed entries handed out in one Ready. */
  readonly maxApplyingEntsSize: number;

  constructor(storage: Storage, maxApplyingEntsSize: number) {
    this.storage = storage;
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1n);
    this.committed = first - 1n;
    this.applying = first - 1n;
    this.applied = first - 1n;
    this.maxApplyingEntsSize = maxApplyingEntsSize;
  }

  toString(): string {
    return `committed=${this.committed}, applied=${this.applied}, applying=${this.applying}, unstable.offset=${this.unstable.offset}, len(unstable.entries)=${this.unstable.entries.length}`;
  }

  /**
   * Append entries after (index, logTerm) if that entry matches; truncate any conflicting suffix.
   * Returns the index of the last new entry, or undefined if (index, logTerm) does not match.
   */
  maybeAppend(index: bigint, logTerm: bigint, committed: bigint, ents: Entry[]): bigint | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNewIndex = index + BigInt(ents.length);
    const ci = this.findConflict(ents);
    if (ci !== 0n) {
      assert(
        ci > this.committed,
        () => `entry ${ci} conflict with committed entry [committed(${this.committed})]`,
      );
      this.append(ents.slice(Number(ci - (index + 1n))));
    }
    this.commitTo(committed < lastNewIndex ? committed : lastNewIndex);
    return lastNewIndex;
  }

  append(ents: Entry[]): bigint {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0]!.index - 1n;
    assert(after >= this.committed, () => `after(${after}) is out of range [committed(${this.committed})]`);
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /** First index whose term differs from ours (or the first new index); 0 if all already present. */
  findConflict(ents: Entry[]): bigint {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0n;
  }

  /**
   * The largest index <= index whose term is <= term, with that term: the follower's hint so the
   * leader skips a whole term of conflicting entries in one round trip.
   */
  findConflictByTerm(index: bigint, term: bigint): [bigint, bigint] {
    for (; index > 0n; index--) {
      const t = this.maybeTerm(index);
      if (t === undefined) return [index, 0n];
      if (t <= term) return [index, t];
    }
    return [0n, 0n];
  }

  /** Entries to persist that are not already being persisted. */
  nextUnstableEnts(): Entry[] {
    return this.unstable.nextEntries();
  }

  hasNextUnstableEnts(): boolean {
    return this.nextUnstableEnts().length > 0;
  }

  hasNextOrInProgressSnapshot(): boolean {
    return this.unstable.snapshot !== undefined;
  }

  private maxAppliableIndex(): bigint {
    return this.committed;
  }

  /** Committed entries not yet handed to the application, up to the size limit. */
  nextCommittedEnts(): Entry[] {
    if (this.hasNextOrInProgressSnapshot()) return []; // apply the snapshot first
    const lo = this.applying + 1n;
    const hi = this.maxAppliableIndex() + 1n;
    if (lo >= hi) return [];
    return this.slice(lo, hi, this.maxApplyingEntsSize);
  }

  hasNextCommittedEnts(): boolean {
    if (this.hasNextOrInProgressSnapshot()) return false;
    return this.applying < this.maxAppliableIndex();
  }

  nextUnstableSnapshot(): Snapshot | undefined {
    return this.unstable.nextSnapshot();
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  firstIndex(): bigint {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): bigint {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** The last index known persisted (handed to storage and reported by advance()). */
  stableLastIndex(): bigint {
    const last = this.unstable.offset - 1n;
    const stored = this.storage.lastIndex();
    return last < stored ? last : stored;
  }

  commitTo(tocommit: bigint): void {
    if (this.committed < tocommit) {
      assert(
        this.lastIndex() >= tocommit,
        () =>
          `tocommit(${tocommit}) is out of range [lastIndex(${this.lastIndex()})]. Was the raft log corrupted, truncated, or lost?`,
      );
      this.committed = tocommit;
    }
  }

  appliedTo(i: bigint): void {
    if (i === 0n) return;
    assert(
      this.committed >= i && i >= this.applied,
      () => `applied(${i}) is out of range [prevApplied(${this.applied}), committed(${this.committed})]`,
    );
    this.applied = i;
    if (this.applying < i) this.applying = i;
  }

  acceptApplying(i: bigint): void {
    assert(this.committed >= i, () => `applying(${i}) is out of range [committed(${this.committed})]`);
    this.applying = i;
  }

  stableTo(i: bigint, t: bigint): void {
    this.unstable.stableTo(i, t);
  }

  stableSnapTo(i: bigint): void {
    this.unstable.stableSnapTo(i);
  }

  acceptUnstable(): void {
    this.unstable.acceptInProgress();
  }

  lastTerm(): bigint {
    return this.term(this.lastIndex());
  }

  /** Term of entry i; throws CompactedError / UnavailableError outside [firstIndex-1, lastIndex]. */
  term(i: bigint): bigint {
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    if (i + 1n < this.firstIndex()) throw new CompactedError();
    if (i > this.lastIndex()) throw new UnavailableError();
    return this.storage.term(i);
  }

  /** Term of entry i, or undefined if it is compacted or not there; no exceptions on this hot path. */
  maybeTerm(i: bigint): bigint | undefined {
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    if (i + 1n < this.firstIndex() || i > this.lastIndex()) return undefined;
    try {
      return this.storage.term(i);
    } catch (err) {
      if (err instanceof CompactedError || err instanceof UnavailableError) return undefined;
      throw err;
    }
  }

  /** Term of entry i, or 0 if it is compacted or not there. */
  termOrZero(i: bigint): bigint {
    return this.maybeTerm(i) ?? 0n;
  }

  entries(i: bigint, maxSize: number): Entry[] {
    if (i > this.lastIndex()) return [];
    return this.slice(i, this.lastIndex() + 1n, maxSize);
  }

  allEntries(): Entry[] {
    return this.entries(this.firstIndex(), Number.MAX_SAFE_INTEGER);
  }

  /** Is a log ending at (lasti, term) at least as up to date as ours? (Raft §5.4.1) */
  isUpToDate(lasti: bigint, term: bigint): boolean {
    const lt = this.lastTerm();
    return term > lt || (term === lt && lasti >= this.lastIndex());
  }

  matchTerm(i: bigint, term: bigint): boolean {
    return this.maybeTerm(i) === term;
  }

  /** Commit up to maxIndex if the entry there is of the given (current) term. */
  maybeCommit(maxIndex: bigint, term: bigint): boolean {
    if (maxIndex > this.committed && this.termOrZero(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  restore(s: Snapshot): void {
    this.committed = s.metadata.index;
    this.unstable.restore(s);
  }

  /** Entries in [lo, hi), at most maxSize bytes (at least one). Throws CompactedError below firstIndex. */
  slice(lo: bigint, hi: bigint, maxSize: number): Entry[] {
    this.mustCheckOutOfBounds(lo, hi);
    if (lo === hi) return [];
    let ents: Entry[] = [];
    if (lo < this.unstable.offset) {
      const upper = hi < this.unstable.offset ? hi : this.unstable.offset;
      ents = this.storage.entries(lo, upper, maxSize);
      if (ents.length === 0) return ents;
      // Storage returned fewer than asked (size limit): stop here.
      if (BigInt(ents.length) < upper - lo) return ents;
    }
    if (hi > this.unstable.offset) {
      const from = lo > this.unstable.offset ? lo : this.unstable.offset;
      const unstable = this.unstable.slice(from, hi);
      ents = ents.length > 0 ? ents.concat(unstable) : unstable;
    }
    return limitSize(ents, maxSize);
  }

  private mustCheckOutOfBounds(lo: bigint, hi: bigint): void {
    assert(lo <= hi, () => `invalid slice ${lo} > ${hi}`);
    const fi = this.firstIndex();
    if (lo < fi) throw new CompactedError();
    const length = this.lastIndex() + 1n - fi;
    assert(hi <= fi + length, () => `slice[${lo},${hi}) out of bound [${fi},${this.lastIndex()}]`);
  }
}
